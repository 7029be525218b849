//! The test voice: a source–filter singer or speaker whose every pitch, voicing and vibrato
//! decision is known.
//!
//! It is the ground truth for accuracy figures, the material of the demo, and the training data
//! of the neural tracker. Everything is deterministic from the performance and a seed.

pub mod alignment;
pub mod clicks;
mod degrade;
mod formant;
mod glottal;
mod score;

pub use degrade::{Degradation, NoiseKind, degrade};
pub use formant::Vowel;
pub use score::{
    Consonant, Note, Phrase, PitchCurve, Segment, SegmentKind, SingingStyle, Vibrato, demo_phrase,
    random_singing, random_speech, styled_singing, transfer_test_styles,
};

use formant::{FormantFilter, Resonator};
use glottal::GlottalSource;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

/// Hop of the per-frame truth, the same 5 ms hop the analysis uses.
pub const TRUTH_HOP_S: f64 = 0.005;

/// The vibrato sounding during a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VibratoTruth {
    pub rate_hz: f32,
    /// Current half peak-to-peak extent (ramps up over the fade-in).
    pub extent_cents: f32,
    /// Phase of the vibrato sine at the frame centre, radians in 0..2π (0 = rising through the
    /// note's centre pitch).
    pub phase_rad: f32,
}

/// What the voice really did during one 5 ms frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTruth {
    /// Frame centre.
    pub time_s: f64,
    /// Fundamental at the frame centre; 0 when unvoiced.
    pub f0_hz: f32,
    pub voiced: bool,
    pub vibrato: Option<VibratoTruth>,
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

/// Corner of the one-pole low-pass that gives the source its tilt.
const TILT_CORNER_HZ: f64 = 200.0;

/// Frames whose voiced envelope is below this share of full level count as unvoiced in the truth.
const VOICED_ENVELOPE_THRESHOLD: f32 = 0.05;

/// Renders `phrase` at `sample_rate_hz`; `seed` fixes the aspiration and consonant noise and the
/// pitch drift.
pub fn render(phrase: &Phrase, sample_rate_hz: u32, seed: u64) -> VoiceRender {
    let sr = sample_rate_hz as f64;
    let total_samples = (phrase.duration_s() * sr).ceil() as usize;
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut source = GlottalSource::new(phrase.open_quotient);
    let mut filter = FormantFilter::new(sample_rate_hz as f32);
    let mut frication = Resonator::default();
    let mut frication_set: Option<Consonant> = None;
    let update_every = ((FORMANT_UPDATE_S * sr).round() as usize).max(1);
    let drift = score::PitchDrift::new(&mut rng, phrase.drift_cents);
    // Tilt: blend towards a one-pole low-pass (−6 dB/octave above its corner) in proportion.
    let tilt_blend = (-phrase.tilt_db_per_octave / 6.0).clamp(0.0, 1.0);
    let tilt_pole = (-std::f64::consts::TAU * TILT_CORNER_HZ / sr).exp() as f32;
    let mut tilt_state = 0.0f32;

    let mut samples = Vec::with_capacity(total_samples);
    for n in 0..total_samples {
        let t = n as f64 / sr;
        let state = phrase.state_at(t, &drift);
        if n % update_every == 0 {
            filter.set_vowel_blend(state.vowel_from, state.vowel_to, state.vowel_blend);
        }
        let pulse = if state.f0_hz > 0.0 {
            source.next(state.f0_hz / sr)
        } else {
            0.0
        };
        tilt_state = (1.0 - tilt_pole) * pulse + tilt_pole * tilt_state;
        // The low-pass loses level at the harmonics; 4× brings a typical voice back near 0 dB.
        let voiced = (1.0 - tilt_blend) * pulse + tilt_blend * 4.0 * tilt_state;
        let noise: f32 = rng.random_range(-1.0..1.0);
        let excitation = state.voiced_amp * voiced + state.breath_amp * noise;
        let mut sample = filter.process(excitation);
        if let Some(consonant) = state.frication {
            if frication_set != Some(consonant) {
                frication.set(
                    consonant.centre_hz,
                    consonant.bandwidth_hz,
                    sample_rate_hz as f32,
                );
                frication_set = Some(consonant);
            }
            let hiss: f32 = rng.random_range(-1.0..1.0);
            // The resonator has unity gain at DC; its peak gain is ≈ centre / bandwidth.
            sample += state.frication_amp * frication.process(hiss) * consonant.bandwidth_hz
                / consonant.centre_hz;
        }
        samples.push(sample);
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
            let voiced = state.f0_hz > 0.0 && state.voiced_amp > VOICED_ENVELOPE_THRESHOLD;
            let vibrato =
                phrase
                    .vibrato_at(time_s)
                    .filter(|_| voiced)
                    .map(|(rate, extent, phase)| VibratoTruth {
                        rate_hz: rate as f32,
                        extent_cents: extent as f32,
                        phase_rad: phase as f32,
                    });
            FrameTruth {
                time_s,
                f0_hz: if voiced { state.f0_hz as f32 } else { 0.0 },
                voiced,
                vibrato,
            }
        })
        .collect();
    VoiceRender {
        samples,
        sample_rate_hz,
        frames,
    }
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
        assert!(
            voiced > a.frames.len() / 2,
            "a sung phrase is mostly voiced"
        );
        assert!(a.frames.iter().any(|f| !f.voiced), "and has breaths");
    }

    #[test]
    fn rendered_period_matches_the_truth() {
        // The autocorrelation peak of a held note's middle gives its period, independently of
        // how the voice was made.
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
        assert!(
            (f0 - truth).abs() < 2.0,
            "measured {f0} Hz, truth {truth} Hz"
        );
    }

    #[test]
    fn vibrato_truth_follows_the_score() {
        let phrase = Phrase::sung(vec![
            Note::new(60.0, 2.0, Vowel::O).with_vibrato(5.0, 80.0, 0.4),
        ]);
        let r = render(&phrase, 22_050, 3);
        // 0.2 s lead-in + 0.4 s onset: no vibrato before 0.6 s, full extent after 0.9 s.
        assert!(r.frames[(0.55 / TRUTH_HOP_S) as usize].vibrato.is_none());
        let held = r.frames[(1.5 / TRUTH_HOP_S) as usize]
            .vibrato
            .expect("vibrato at 1.5 s");
        assert_eq!((held.rate_hz, held.extent_cents), (5.0, 80.0));
        // 0.9 s after the onset at 5 Hz: 4.5 cycles, so half way round.
        assert!(
            (held.phase_rad - std::f32::consts::PI).abs() < 1e-3,
            "phase {}",
            held.phase_rad
        );
        let cents = 1200.0 * (r.frames[(1.55 / TRUTH_HOP_S) as usize].f0_hz / 261.6256).log2();
        assert!(
            (cents + 80.0).abs() < 8.0,
            "past π the sine falls: a quarter cycle later, the bottom: {cents}"
        );
    }

    #[test]
    fn random_performances_cover_their_ranges_and_are_deterministic() {
        let mut rng = Pcg32::seed_from_u64(11);
        let singing = random_singing(&mut rng, 30.0);
        let speech = random_speech(&mut rng, 30.0);
        assert!(singing.duration_s() >= 30.0 && speech.duration_s() >= 30.0);
        let a = render(&speech, 16_000, 4);
        let b = render(&speech, 16_000, 4);
        assert_eq!(a.samples, b.samples);
        let voiced: Vec<f32> = a
            .frames
            .iter()
            .filter(|f| f.voiced)
            .map(|f| f.f0_hz)
            .collect();
        assert!(voiced.len() > a.frames.len() / 4, "speech is partly voiced");
        assert!(
            voiced.iter().all(|&f| (69.0..=410.0).contains(&f)),
            "speech F0 within 70–400 Hz"
        );
        let sung = render(&singing, 16_000, 4);
        assert!(
            sung.frames.iter().any(|f| f.vibrato.is_some()),
            "long notes carry vibrato"
        );
        assert!(sung.samples.iter().all(|x| x.is_finite()));
    }
}
