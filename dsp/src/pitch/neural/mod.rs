//! The neural F0/voicing estimate that a background worker adds to the DSP tracker.
//!
//! YIN-class trackers lose the period in noise, reverb and breathy voices, where a learned
//! salience map over harmonics still finds it (the reason CREPE, RMVPE and PESTO carry
//! voice-conversion systems). Affetto's model is small enough for a worker thread to keep up with
//! every 5 ms frame: the audio thread sends each analysis window through a lock-free ring
//! ([`link`]), the worker turns it into harmonic-stacked spectral and periodicity features
//! ([`features`]) and runs the network ([`model`]) with candle, and the answer comes back through
//! another ring. The tracker fuses it ([`fusion`]) into the frame's candidates only if it is back
//! before the decoder takes the frame; otherwise the DSP estimate stands.

pub mod features;
pub mod fusion;
pub mod link;
pub mod model;
mod product;

pub use features::{FeatureExtractor, FrameFeatures};
pub use link::{NeuralCounters, NeuralCounts, NeuralLink, NeuralService, neural_channel};
pub use model::{ModelError, PitchNet};

/// Pitch bins of the model's posterior: semitone halves (50 cents) from [`LOWEST_BIN_HZ`].
pub const PITCH_BINS: usize = 100;
pub const BINS_PER_OCTAVE: f32 = 24.0;
/// Centre of bin 0; bin 99 is ≈ 1045 Hz, so 60–1000 Hz voices sit inside the grid.
pub const LOWEST_BIN_HZ: f32 = 60.0;

/// Longest analysis window the tracker sends (its frame at the highest analysis rate, just under
/// 32 kHz: twice the 60 Hz period plus one).
pub const MAX_WINDOW_SAMPLES: usize = 1072;

/// Frames the Studio tracker waits for the worker before a frame enters the decoder: 20 ms,
/// taken out of the decoder's own look-ahead so the latency does not change with the worker.
pub const NEURAL_WAIT_FRAMES: usize = 4;

/// Centre frequency of pitch bin `bin` (fractional bins allowed).
pub fn bin_hz(bin: f32) -> f32 {
    LOWEST_BIN_HZ * (bin / BINS_PER_OCTAVE).exp2()
}

/// Fractional pitch bin of `f0_hz`.
pub fn hz_to_bin(f0_hz: f32) -> f32 {
    BINS_PER_OCTAVE * (f0_hz / LOWEST_BIN_HZ).log2()
}

/// The model's answer for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeuralEstimate {
    /// Probability that the frame is voiced.
    pub voicing_probability: f32,
    /// Probability of each pitch bin given that the frame is voiced; sums to 1.
    pub posterior: [f32; PITCH_BINS],
}

impl NeuralEstimate {
    /// The F0 the posterior points at: the mean of the bins within one bin of the most likely
    /// one, weighted by their probability (finer than the 50-cent grid).
    pub fn f0_hz(&self) -> f32 {
        let peak = argmax(&self.posterior);
        let low = peak.saturating_sub(1);
        let high = (peak + 1).min(PITCH_BINS - 1);
        let (mut weight, mut sum) = (0.0f32, 0.0f32);
        for bin in low..=high {
            weight += self.posterior[bin];
            sum += self.posterior[bin] * bin as f32;
        }
        bin_hz(if weight > 0.0 {
            sum / weight
        } else {
            peak as f32
        })
    }

    /// Posterior mass of the bins within 50 cents (one bin) of `f0_hz`: how much the model
    /// believes a candidate at that pitch.
    pub fn mass_near(&self, f0_hz: f32) -> f32 {
        let centre = hz_to_bin(f0_hz);
        if !centre.is_finite() {
            return 0.0;
        }
        let low = (centre - 1.0).ceil().max(0.0) as usize;
        let high = ((centre + 1.0).floor().min(PITCH_BINS as f32 - 1.0)).max(-1.0);
        if high < low as f32 {
            return 0.0;
        }
        self.posterior[low..=high as usize].iter().sum()
    }
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_and_hertz_invert_each_other() {
        for f0_hz in [60.0, 110.0, 440.0, 1000.0] {
            assert!((bin_hz(hz_to_bin(f0_hz)) - f0_hz).abs() < 1e-3 * f0_hz);
        }
        assert!(bin_hz(PITCH_BINS as f32 - 1.0) > 1000.0);
    }

    #[test]
    fn the_estimate_reads_between_bins_and_weighs_candidates() {
        let mut posterior = [0.0; PITCH_BINS];
        posterior[40] = 0.5;
        posterior[41] = 0.5;
        let estimate = NeuralEstimate {
            voicing_probability: 0.9,
            posterior,
        };
        let expected = bin_hz(40.5);
        assert!((estimate.f0_hz() - expected).abs() < 1e-3 * expected);
        assert!((estimate.mass_near(bin_hz(40.5)) - 1.0).abs() < 1e-6);
        assert_eq!(
            estimate.mass_near(bin_hz(64.0)),
            0.0,
            "an octave above has no mass"
        );
        assert_eq!(estimate.mass_near(f32::NAN), 0.0);
    }
}
