//! The neural pitch worker offline: the CLI answers the tracker's windows itself, one analysis
//! hop at a time, so every answer is back in time and a render is the same on every run (a
//! plugin's worker thread races the audio thread; a file has no deadline).

use affetto_dsp::pitch::neural::{
    NeuralCounts, NeuralLink, NeuralService, PitchNet, neural_channel,
};
use affetto_dsp::pitch::{AnalysisMode, HOP_S};
use anyhow::{Result, anyhow};

/// Both ends of the worker's rings in Studio mode (Live mode does not wait for the network);
/// `None`, with a warning, if the committed weights do not load.
pub fn offline_neural(mode: AnalysisMode) -> Option<(NeuralLink, NeuralService)> {
    if mode != AnalysisMode::Studio {
        return None;
    }
    match PitchNet::embedded() {
        Ok(model) => Some(neural_channel(model)),
        Err(error) => {
            eprintln!("affetto: {error}; pitch tracking runs on DSP alone");
            None
        }
    }
}

/// Host samples per analysis hop: the longest piece to process before answering.
pub fn hop_samples(sample_rate_hz: u32) -> usize {
    ((sample_rate_hz as f64 * HOP_S) as usize).max(1)
}

/// Answers what the tracker has sent so far.
pub fn serve(service: &mut Option<NeuralService>) -> Result<()> {
    if let Some(service) = service {
        service
            .serve_pending()
            .map_err(|e| anyhow!("the neural pitch model failed: {e}"))?;
    }
    Ok(())
}

pub fn summary(counts: &NeuralCounts) -> String {
    format!(
        "neural pitch: {} frames sent, {} on time, {} late, {} dropped{}",
        counts.sent,
        counts.on_time,
        counts.late,
        counts.dropped,
        if counts.failed { ", worker failed" } else { "" }
    )
}
