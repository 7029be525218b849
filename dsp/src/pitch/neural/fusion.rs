//! How a neural answer joins the DSP tracker's view of a frame, before the Viterbi decoder.
//!
//! The DSP side knows cents (YIN's dips are exact to a fraction of a sample); the network knows
//! which dip is the period and whether there is one at all. So the network reweights the
//! candidates rather than replacing them, adds its own pitch only when YIN has no dip near it,
//! and the two voicing probabilities are combined by a logistic model over both logits.
//! `cargo xtask pitch-eval` scores DSP-only, neural-only and fused tracks side by side.

use super::super::yin::{Candidate, FrameCandidates, MAX_CANDIDATES};
use super::NeuralEstimate;

/// Logistic weights over `[1, logit p_dsp, logit p_neural]` for the fused voicing probability,
/// fitted by `cargo xtask train` on training voices after the network (see its report).
pub const FUSION_WEIGHTS: [f32; 3] = [-0.008, -0.117, 1.109];

/// Share a candidate keeps however little the network believes it: the network is sometimes
/// wrong, and the decoder's continuity should still be able to prefer it. A higher floor (0.15)
/// lost in both noisy rooms and on breathy singing (fused GPE 5.65 / 7.58 / 0.31 %).
const CANDIDATE_FLOOR: f32 = 0.05;

/// The network's pitch becomes a candidate of its own when YIN has none within 50 cents of it
/// and the network gives it at least this much posterior mass. YIN keeps a later, longer-period
/// dip only if it is deeper than every earlier one, so where a strong 2nd harmonic makes the
/// half period look as periodic as the period, the period is no candidate at all and only this
/// can bring it back. `cargo xtask pitch-eval`, fused GPE at 0.5 / 0.3 / 0.2: breathy singing
/// 0.45 / 0.35 / 0.24 % (DSP alone 0.27), 10 dB pink + RT60 0.5 s 5.42 / 5.54 / 5.64 % (DSP
/// 5.50); the clean sets are unchanged.
const NEURAL_CANDIDATE_MASS: f32 = 0.2;

pub fn fused_voicing_probability(dsp: f32, neural: f32) -> f32 {
    let logit = |p: f32| {
        let p = p.clamp(1e-4, 1.0 - 1e-4);
        (p / (1.0 - p)).ln()
    };
    let [bias, w_dsp, w_neural] = FUSION_WEIGHTS;
    let z = bias + w_dsp * logit(dsp) + w_neural * logit(neural);
    1.0 / (1.0 + (-z).exp())
}

/// Rewrites `frame`'s candidates and voicing probability with `estimate`; an estimate that is
/// not finite throughout (a model gone wrong) leaves the frame as DSP made it.
pub fn fuse(frame: &mut FrameCandidates, estimate: &NeuralEstimate) {
    let posterior_total: f32 = estimate.posterior.iter().sum();
    if !(estimate.voicing_probability.is_finite() && posterior_total.is_finite()) {
        return;
    }
    let voicing =
        fused_voicing_probability(frame.voicing_probability, estimate.voicing_probability);
    let neural_f0_hz = estimate.f0_hz();
    let mut covered = false;
    for candidate in &mut frame.candidates[..frame.count] {
        candidate.probability *= CANDIDATE_FLOOR + estimate.mass_near(candidate.f0_hz);
        covered |= (1200.0 * (candidate.f0_hz / neural_f0_hz).log2()).abs() <= 50.0;
    }
    let neural_mass = estimate.mass_near(neural_f0_hz);
    if !covered && neural_mass >= NEURAL_CANDIDATE_MASS && frame.count < MAX_CANDIDATES {
        frame.candidates[frame.count] = Candidate {
            f0_hz: neural_f0_hz,
            probability: neural_mass,
        };
        frame.count += 1;
    }
    frame.set_voicing_probability(voicing);
}

#[cfg(test)]
mod tests {
    use super::super::{PITCH_BINS, hz_to_bin};
    use super::*;

    fn estimate_at(f0_hz: f32, voicing_probability: f32) -> NeuralEstimate {
        let mut posterior = [0.0; PITCH_BINS];
        posterior[hz_to_bin(f0_hz).round() as usize] = 1.0;
        NeuralEstimate {
            voicing_probability,
            posterior,
        }
    }

    #[test]
    fn the_network_picks_the_octave_and_yin_keeps_the_cents() {
        // YIN prefers the octave above; the network says the lower one.
        let mut f = FrameCandidates::of(&[(440.0, 0.6), (221.3, 0.3)]);
        fuse(&mut f, &estimate_at(220.0, 0.95));
        let best = f
            .voiced()
            .iter()
            .max_by(|a, b| a.probability.total_cmp(&b.probability));
        assert_eq!(best.unwrap().f0_hz, 221.3);
        let total: f32 = f.voiced().iter().map(|c| c.probability).sum();
        assert!((total - f.voicing_probability).abs() < 1e-5);
    }

    #[test]
    fn a_confident_network_adds_the_pitch_yin_missed() {
        let mut f = FrameCandidates::of(&[]);
        f.voicing_probability = 0.2;
        fuse(&mut f, &estimate_at(180.0, 0.99));
        assert_eq!(f.count, 1);
        assert!((f.candidates[0].f0_hz / 180.0 - 1.0).abs() < 0.03);
        assert!(f.voicing_probability > 0.5);
    }

    #[test]
    fn a_non_finite_answer_is_ignored() {
        let before = FrameCandidates::of(&[(220.0, 0.7)]);
        let mut f = before;
        let mut broken = estimate_at(440.0, 0.9);
        broken.posterior[3] = f32::NAN;
        fuse(&mut f, &broken);
        assert_eq!(f.voiced(), before.voiced());
        assert_eq!(f.voicing_probability, before.voicing_probability);
    }

    #[test]
    fn voicing_combines_both_opinions() {
        let agree = fused_voicing_probability(0.9, 0.9);
        let disagree = fused_voicing_probability(0.9, 0.1);
        assert!(agree > disagree);
        assert!(fused_voicing_probability(0.01, 0.01) < 0.1);
    }
}
