//! `cargo xtask fit-voicing`: fits the voicing model's logistic weights
//! (`affetto_dsp::pitch::VOICING_WEIGHTS`) on the test voice under every evaluation condition,
//! from seeds the evaluation never uses (sets 90+), and prints them with their fit. Deterministic:
//! the same command prints the same weights.

use affetto_dsp::pitch::{AnalysisMode, PitchTracker, VOICING_WEIGHTS, VoicingFeatures};
use anyhow::Result;

use crate::pitch_eval::{SAMPLE_RATE_HZ, conditions, render_set, voicing_calibration_error};

/// Training pieces per condition (30 s each).
const PIECES_PER_CONDITION: u64 = 4;
/// First set index used for training; the evaluation uses 0–5.
const TRAINING_SET_BASE: u64 = 90;
const NEWTON_ITERATIONS: usize = 30;
/// A little ridge regularisation keeps the Newton steps well-posed.
const RIDGE: f64 = 1e-3;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

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
    features.into_iter().zip(&set.frames).filter_map(|(f, t)| f.map(|f| (f, t.voiced))).collect()
}

/// Logistic regression by Newton's method (iteratively reweighted least squares).
fn fit(data: &[(VoicingFeatures, bool)]) -> [f64; 4] {
    let mut w = [0.0f64; 4];
    for _ in 0..NEWTON_ITERATIONS {
        let mut gradient = [0.0f64; 4];
        let mut hessian = [[0.0f64; 4]; 4];
        for (features, voiced) in data {
            let x = features.inputs().map(|v| v as f64);
            let p = sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum());
            let error = p - if *voiced { 1.0 } else { 0.0 };
            for i in 0..4 {
                gradient[i] += error * x[i];
                for j in 0..4 {
                    hessian[i][j] += p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        for (i, row) in hessian.iter_mut().enumerate() {
            row[i] += RIDGE * data.len() as f64;
            gradient[i] += RIDGE * data.len() as f64 * w[i];
        }
        let step = solve(hessian, gradient);
        for i in 0..4 {
            w[i] -= step[i];
        }
    }
    w
}

/// Solves `a x = b` for a 4×4 system by Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> [f64; 4] {
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs())).unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..4 {
            let factor = a[row][col] / a[col][col];
            for k in col..4 {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0f64; 4];
    for row in (0..4).rev() {
        let rest: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}

pub fn run() -> Result<()> {
    let mut all = Vec::new();
    let mut per_condition = Vec::new();
    for (index, condition) in conditions().iter().enumerate() {
        let set = render_set(condition, TRAINING_SET_BASE + index as u64, PIECES_PER_CONDITION);
        let data = frames_of(&set);
        println!("{}: {} frames", condition.name, data.len());
        all.extend_from_slice(&data);
        per_condition.push((condition.name, set, data));
    }
    let w = fit(&all);
    println!("\npub const VOICING_WEIGHTS: [f32; 4] = [{:.3}, {:.3}, {:.3}, {:.3}];", w[0], w[1], w[2], w[3]);
    println!("(in the source now: {VOICING_WEIGHTS:?})\n");
    for (name, set, data) in &per_condition {
        let probabilities: Vec<f32> = data
            .iter()
            .map(|(f, _)| sigmoid(f.inputs().iter().zip(&w).map(|(a, b)| *a as f64 * b).sum()) as f32)
            .collect();
        let truth: Vec<_> = set.frames.iter().take(probabilities.len()).copied().collect();
        let accuracy = data.iter().zip(&probabilities).filter(|((_, v), p)| (**p > 0.5) == *v).count() as f64
            / data.len().max(1) as f64;
        println!(
            "{name}: calibration error {:.3}, frame accuracy at 0.5 {:.1} %",
            voicing_calibration_error(&truth, &probabilities),
            100.0 * accuracy
        );
    }
    Ok(())
}
