//! `cargo xtask fit-voicing`: fits the voicing model's logistic weights
//! (`affetto_dsp::pitch::VOICING_WEIGHTS`) on the test voice under every evaluation condition,
//! from seeds the evaluation never uses (sets 90+), and prints them with their fit. Deterministic:
//! the same command prints the same weights.

use affetto_dsp::pitch::{AnalysisMode, PitchTracker, VOICING_WEIGHTS, VoicingFeatures};
use anyhow::Result;

use crate::logistic::{fit_logistic, sigmoid};
use crate::pitch_eval::{SAMPLE_RATE_HZ, conditions, render_set, voicing_calibration_error};

/// Training pieces per condition (30 s each).
const PIECES_PER_CONDITION: u64 = 4;
/// First set index used for training; the evaluation uses 0–5.
const TRAINING_SET_BASE: u64 = 90;
/// Per-frame features and truth of one rendered set.
fn frames_of(set: &affetto_dsp::synth::VoiceRender) -> Vec<(VoicingFeatures, bool)> {
    let mut tracker = PitchTracker::new(SAMPLE_RATE_HZ as f32, AnalysisMode::Live);
    let mut features = vec![None; set.frames.len()];
    let mut store = |f: &affetto_dsp::PitchFrame| {
        if let Some(slot) = features.get_mut(f.index as usize) {
            *slot = Some(f.voicing_features);
        }
    };
    for block in set.samples.chunks(512) {
        tracker.process(block, &mut store);
    }
    tracker.process(&vec![0.0; tracker.latency_samples() + 512], &mut store);
    features
        .into_iter()
        .zip(&set.frames)
        .filter_map(|(f, t)| f.map(|f| (f, t.voiced)))
        .collect()
}

pub fn run() -> Result<()> {
    let mut all = Vec::new();
    let mut per_condition = Vec::new();
    for (index, condition) in conditions().iter().enumerate() {
        let set = render_set(
            condition,
            TRAINING_SET_BASE + index as u64,
            PIECES_PER_CONDITION,
        );
        let data = frames_of(&set);
        println!("{}: {} frames", condition.name, data.len());
        all.extend_from_slice(&data);
        per_condition.push((condition.name, set, data));
    }
    let examples: Vec<([f64; 4], bool)> = all
        .iter()
        .map(|(f, voiced)| (f.inputs().map(f64::from), *voiced))
        .collect();
    let w = fit_logistic(&examples);
    println!(
        "\npub const VOICING_WEIGHTS: [f32; 4] = [{:.3}, {:.3}, {:.3}, {:.3}];",
        w[0], w[1], w[2], w[3]
    );
    println!("(in the source now: {VOICING_WEIGHTS:?})\n");
    for (name, set, data) in &per_condition {
        let probabilities: Vec<f32> = data
            .iter()
            .map(|(f, _)| {
                sigmoid(f.inputs().iter().zip(&w).map(|(a, b)| *a as f64 * b).sum()) as f32
            })
            .collect();
        let truth: Vec<_> = set
            .frames
            .iter()
            .take(probabilities.len())
            .copied()
            .collect();
        let accuracy = data
            .iter()
            .zip(&probabilities)
            .filter(|((_, v), p)| (**p > 0.5) == *v)
            .count() as f64
            / data.len().max(1) as f64;
        println!(
            "{name}: calibration error {:.3}, frame accuracy at 0.5 {:.1} %",
            voicing_calibration_error(&truth, &probabilities),
            100.0 * accuracy
        );
    }
    Ok(())
}
