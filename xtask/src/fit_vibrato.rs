//! `cargo xtask fit-vibrato`: fits the vibrato presence model's logistic weights for each mode
//! (`affetto_dsp::vibrato::{LIVE,STUDIO}_PRESENCE_WEIGHTS`) on generated singing, clean and at
//! 10 dB SNR, from seeds the evaluation never uses, and prints them with their accuracy.
//! Deterministic: the same command prints the same weights.

use affetto_dsp::pitch::AnalysisMode;
use affetto_dsp::vibrato::{PRESENCE_INPUTS, presence_weights};
use anyhow::Result;

use crate::logistic::{fit_logistic, sigmoid};
use crate::pitch_eval::render_set;
use crate::vibrato_eval::{TruthRuns, analyse, decompose, singing_conditions};

/// Training pieces per condition (30 s each).
const PIECES_PER_CONDITION: u64 = 4;
/// First set index used for training; the evaluation uses 40–50.
const TRAINING_SET_BASE: u64 = 95;

pub fn run() -> Result<()> {
    let voices: Vec<_> = singing_conditions()
        .iter()
        .enumerate()
        .map(|(index, condition)| {
            render_set(
                condition,
                TRAINING_SET_BASE + index as u64,
                PIECES_PER_CONDITION,
            )
        })
        .collect();
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let mut inputs: Vec<([f64; PRESENCE_INPUTS], bool)> = Vec::new();
        for voice in &voices {
            let truth = TruthRuns::new(&voice.frames);
            let contour = decompose(&analyse(voice, mode), mode);
            inputs.extend(
                truth
                    .presence_frames()
                    .into_iter()
                    .filter(|(i, _)| contour[*i].pitch.voiced())
                    .map(|(i, present)| {
                        (contour[i].vibrato_features.inputs().map(f64::from), present)
                    }),
            );
        }
        let w = fit_logistic(&inputs);
        let weights: Vec<String> = w.iter().map(|v| format!("{v:.3}")).collect();
        let name = format!("{mode:?}").to_uppercase();
        println!("\n{mode:?}: {} frames", inputs.len());
        println!(
            "pub const {name}_PRESENCE_WEIGHTS: [f32; PRESENCE_INPUTS] = [{}];",
            weights.join(", ")
        );
        println!("(in the source now: {:?})", presence_weights(mode));
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
    }
    Ok(())
}
