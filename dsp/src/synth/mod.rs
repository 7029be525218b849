//! The test voice: a source–filter singer whose every pitch and voicing decision is known.
//!
//! It is the ground truth for accuracy figures, the material of the demo, and (later) the
//! training data of the neural tracker. Everything is deterministic from the score and a seed.

mod formant;
mod glottal;
mod score;

pub use formant::Vowel;
pub use score::{Note, Phrase, Vibrato, demo_phrase};

use formant::FormantFilter;
use glottal::GlottalSource;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

/// Hop of the per-frame truth, the same 5 ms hop the analysis will use.
pub const TRUTH_HOP_S: f64 = 0.005;

/// What the voice really did during one 5 ms frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTruth {
    /// Frame centre.
    pub time_s: f64,
    /// Fundamental at the frame centre; 0 when unvoiced.
    pub f0_hz: f32,
    pub voiced: bool,
}

/// Rendered audio with its truth.
#[derive(Debug, Clone)]
pub struct VoiceRender {
    /// Mono samples, peak-normalised to `Phrase::peak_level`.
    pub samples: Vec<f32>,
    pub sample_rate_hz: u32,
    /// One entry per [`TRUTH_HOP_S`] from time 0.
    pub frames: Vec<FrameTruth>,
}

/// Sample-rate independent rate of formant coefficient updates; vowel transitions take tens of
/// milliseconds, so 1 ms steps are smooth while keeping coefficient maths off the sample loop.
const FORMANT_UPDATE_S: f64 = 0.001;

/// Renders `phrase` at `sample_rate_hz`; `seed` fixes the aspiration noise and pitch drift.
pub fn render(phrase: &Phrase, sample_rate_hz: u32, seed: u64) -> VoiceRender {
    let sr = sample_rate_hz as f64;
    let total_samples = (phrase.duration_s() * sr).ceil() as usize;
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut source = GlottalSource::new(phrase.open_quotient);
    let mut filter = FormantFilter::new(sample_rate_hz as f32);
    let update_every = ((FORMANT_UPDATE_S * sr).round() as usize).max(1);
    let drift = score::PitchDrift::new(&mut rng, phrase.drift_cents);

    let mut samples = Vec::with_capacity(total_samples);
    for n in 0..total_samples {
        let t = n as f64 / sr;
        let state = phrase.state_at(t, &drift);
        if n % update_every == 0 {
            filter.set_vowel_blend(state.vowel_from, state.vowel_to, state.vowel_blend);
        }
        let voiced = if state.f0_hz > 0.0 { source.next(state.f0_hz / sr) } else { 0.0 };
        let noise: f32 = rng.random_range(-1.0..1.0);
        let excitation = state.voiced_amp * voiced + state.breath_amp * noise;
        samples.push(filter.process(excitation));
    }

    let peak = samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if peak > 0.0 {
        let scale = phrase.peak_level / peak;
        samples.iter_mut().for_each(|x| *x *= scale);
    }

    let frame_count = (phrase.duration_s() / TRUTH_HOP_S).floor() as usize;
    let frames = (0..frame_count)
        .map(|i| {
            let time_s = i as f64 * TRUTH_HOP_S;
            let state = phrase.state_at(time_s, &drift);
            let voiced = state.f0_hz > 0.0 && state.voiced_amp > 0.05;
            FrameTruth { time_s, f0_hz: if voiced { state.f0_hz as f32 } else { 0.0 }, voiced }
        })
        .collect();
    VoiceRender { samples, sample_rate_hz, frames }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_phrase_is_deterministic_bounded_and_has_voiced_truth() {
        let a = render(&demo_phrase(), 22_050, 7);
        let b = render(&demo_phrase(), 22_050, 7);
        assert_eq!(a.samples, b.samples);
        assert!(a.samples.iter().all(|x| x.is_finite() && x.abs() <= 0.71));
        let voiced = a.frames.iter().filter(|f| f.voiced).count();
        assert!(voiced > a.frames.len() / 2, "a sung phrase is mostly voiced");
        assert!(a.frames.iter().any(|f| !f.voiced), "and has breaths");
    }

    #[test]
    fn rendered_period_matches_the_truth() {
        // A straight note: count zero crossings of the strongly low-passed signal? Simpler and
        // independent of the filter: autocorrelation peak of the voiced middle.
        let phrase = Phrase::sung(vec![Note::new(57.0, 1.0, Vowel::A)]); // A3 = 220 Hz
        let r = render(&phrase, 48_000, 1);
        let mid = &r.samples[20_000..26_000];
        let lag_range = 150..300; // 160..320 Hz
        let best_lag = lag_range
            .max_by(|&a, &b| {
                let ca: f32 = mid[..4000].iter().zip(&mid[a..]).map(|(x, y)| x * y).sum();
                let cb: f32 = mid[..4000].iter().zip(&mid[b..]).map(|(x, y)| x * y).sum();
                ca.total_cmp(&cb)
            })
            .unwrap();
        let f0 = 48_000.0 / best_lag as f32;
        let truth = r.frames[(0.5 / TRUTH_HOP_S) as usize].f0_hz;
        assert!((f0 - truth).abs() < 2.0, "measured {f0} Hz, truth {truth} Hz");
    }
}
