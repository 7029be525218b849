//! `cargo xtask fit-vibrato`: fits the vibrato presence model's logistic weights
//! (`affetto_dsp::vibrato::PRESENCE_WEIGHTS`) on generated singing, clean and at 10 dB SNR, in
//! both modes, from seeds the evaluation never uses, and prints them with their accuracy.
//! Deterministic: the same command prints the same weights.

use affetto_dsp::pitch::AnalysisMode;
use affetto_dsp::vibrato::{PRESENCE_INPUTS, PRESENCE_WEIGHTS, VibratoFeatures};
use anyhow::Result;

use crate::logistic::{fit_logistic, sigmoid};
use crate::pitch_eval::render_set;
use crate::vibrato_eval::{TruthRuns, analyse, decompose, singing_conditions};

/// Training pieces per condition (30 s each).
const PIECES_PER_CONDITION: u64 = 4;
/// First set index used for training; the evaluation uses 40–50.
const TRAINING_SET_BASE: u64 = 95;

pub fn run() -> Result<()> {
    let mut examples: Vec<(VibratoFeatures, bool)> = Vec::new();
    for (index, condition) in singing_conditions().iter().enumerate() {
        let voice = render_set(
            condition,
            TRAINING_SET_BASE + index as u64,
            PIECES_PER_CONDITION,
        );
        let truth = TruthRuns::new(&voice.frames);
        for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
            let contour = decompose(&analyse(&voice, mode), mode);
            examples.extend(
                truth
                    .presence_frames()
                    .into_iter()
                    .filter(|(i, _)| contour[*i].pitch.voiced())
                    .map(|(i, present)| (contour[i].vibrato_features, present)),
            );
        }
    }
    let inputs: Vec<([f64; PRESENCE_INPUTS], bool)> = examples
        .iter()
        .map(|(f, present)| (f.inputs().map(f64::from), *present))
        .collect();
    let w = fit_logistic(&inputs);
    println!("{} frames", inputs.len());
    let weights: Vec<String> = w.iter().map(|v| format!("{v:.3}")).collect();
    println!(
        "\npub const PRESENCE_WEIGHTS: [f32; PRESENCE_INPUTS] = [{}];",
        weights.join(", ")
    );
    println!("(in the source now: {PRESENCE_WEIGHTS:?})");
    let correct = inputs
        .iter()
        .filter(|(x, present)| {
            (sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum()) >= 0.5) == *present
        })
        .count();
    println!(
        "frame accuracy at 0.5: {:.1} %",
        100.0 * correct as f64 / inputs.len().max(1) as f64
    );
    Ok(())
}
