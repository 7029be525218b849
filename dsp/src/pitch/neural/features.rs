//! What the network sees of one analysis window: a harmonic-stacked log spectrum and YIN's
//! periodicity, both sampled on the model's pitch grid.
//!
//! Channel `h` at pitch bin `k` holds the spectrum at `h × f_k` (h = ½, 1, 2, 3, 4, 5), so a
//! voice at `f_k` lines its harmonics up in one column and a small convolution across the grid
//! reads a harmonic pattern wherever it sits (the harmonic CQT idea of Bittner et al. 2017, on
//! an FFT). The ½ channel is there to tell a true F0 from its octave above: energy halfway
//! below means the period is longer. The periodicity channel is `1 − d'` at the lag of `f_k`,
//! which pins the period where the spectrum's resolution is coarse (low voices). Sampling in
//! hertz makes the features the same at every analysis rate.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex, num_complex::Complex};

use super::super::kernels::{DifferenceKernel, best_difference_kernel};
use super::super::voicing::VoicingFeatures;
use super::super::yin::cumulative_mean_normalized_difference;
use super::{PITCH_BINS, bin_hz};

/// Multiples of each bin's frequency read by the spectral channels.
pub const HARMONICS: [f32; 6] = [0.5, 1.0, 2.0, 3.0, 4.0, 5.0];
/// Spectral channels plus the periodicity channel.
pub const CHANNELS: usize = HARMONICS.len() + 1;
/// Per-frame scalars given to the voicing head: the DSP tracker's voicing features.
pub const SCALARS: usize = 3;

/// Zero-padded FFT length: at least twice the longest window, for a smooth spectrum to sample.
const FFT_LEN: usize = 2048;
/// Log spectrum floor below the frame's peak; the channels are scaled to 0 (floor)…1 (peak).
const SPECTRUM_RANGE_DB: f32 = 80.0;

/// One frame's inputs, channel-major (`channels[c * PITCH_BINS + k]`).
#[derive(Debug, Clone)]
pub struct FrameFeatures {
    pub channels: [f32; CHANNELS * PITCH_BINS],
    pub scalars: [f32; SCALARS],
}

impl Default for FrameFeatures {
    fn default() -> Self {
        Self {
            channels: [0.0; CHANNELS * PITCH_BINS],
            scalars: [0.0; SCALARS],
        }
    }
}

/// Computes [`FrameFeatures`]; owns the FFT plan and scratch (runs on the worker, allocates
/// only when it meets a new window length).
pub struct FeatureExtractor {
    fft: Arc<dyn RealToComplex<f32>>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    log_spectrum: Vec<f32>,
    window: Vec<f32>,
    centred: Vec<f32>,
    difference: Vec<f32>,
    normalized: Vec<f32>,
    kernel: DifferenceKernel,
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureExtractor {
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_LEN);
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            log_spectrum: vec![0.0; FFT_LEN / 2 + 1],
            window: Vec::new(),
            centred: Vec::new(),
            difference: Vec::new(),
            normalized: Vec::new(),
            kernel: best_difference_kernel(),
        }
    }

    /// Features of `samples` (one tracker frame at `sample_rate_hz`, at most half the FFT
    /// length) with the DSP tracker's voicing features of the same frame.
    pub fn compute(
        &mut self,
        samples: &[f32],
        sample_rate_hz: f32,
        voicing: &VoicingFeatures,
        out: &mut FrameFeatures,
    ) {
        out.scalars = [
            voicing.periodicity,
            voicing.relative_level_db / 20.0,
            voicing.prior_mass,
        ];
        let out = &mut out.channels;
        let len = samples.len().min(FFT_LEN / 2);
        let samples = &samples[..len];
        self.prepare(len);
        let mean = samples.iter().sum::<f32>() / len.max(1) as f32;
        self.centred.clear();
        self.centred.extend(samples.iter().map(|x| x - mean));

        // Spectral channels.
        self.input.fill(0.0);
        for ((slot, x), w) in self.input.iter_mut().zip(&self.centred).zip(&self.window) {
            *slot = x * w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .is_err()
        {
            out.fill(0.0);
            return;
        }
        let mut peak_db = f32::NEG_INFINITY;
        for (db, bin) in self.log_spectrum.iter_mut().zip(&self.spectrum) {
            *db = 10.0 * (bin.norm_sqr() + 1e-20).log10();
            peak_db = peak_db.max(*db);
        }
        let floor_db = peak_db - SPECTRUM_RANGE_DB;
        let hz_per_bin = sample_rate_hz / FFT_LEN as f32;
        for (c, harmonic) in HARMONICS.iter().enumerate() {
            for k in 0..PITCH_BINS {
                let position = harmonic * bin_hz(k as f32) / hz_per_bin;
                let db = interpolate(&self.log_spectrum, position).unwrap_or(floor_db);
                out[c * PITCH_BINS + k] = ((db - floor_db) / SPECTRUM_RANGE_DB).max(0.0);
            }
        }

        // Periodicity channel: YIN's d' over half the window, read at each bin's period.
        let window = len / 2;
        let lags = len - window;
        self.difference.resize(lags, 0.0);
        self.normalized.resize(lags, 0.0);
        (self.kernel)(&self.centred, window, 0..lags, &mut self.difference);
        let energy: f32 = self.centred[..window].iter().map(|x| x * x).sum();
        cumulative_mean_normalized_difference(
            &self.difference,
            1e-6 * energy,
            &mut self.normalized,
        );
        let periodicity = HARMONICS.len() * PITCH_BINS;
        for k in 0..PITCH_BINS {
            let lag = sample_rate_hz / bin_hz(k as f32);
            let d = interpolate(&self.normalized, lag).unwrap_or(1.0);
            out[periodicity + k] = (1.0 - d).clamp(-1.0, 1.0);
        }
    }

    /// Sizes the window and scratch for `len`-sample frames.
    fn prepare(&mut self, len: usize) {
        if self.window.len() != len {
            self.window = (0..len)
                .map(|i| {
                    let phase = std::f32::consts::TAU * (i as f32 + 0.5) / len as f32;
                    0.5 - 0.5 * phase.cos()
                })
                .collect();
        }
    }
}

/// `values` at fractional index `position` by linear interpolation; `None` outside.
fn interpolate(values: &[f32], position: f32) -> Option<f32> {
    // NaN falls outside too.
    if !(0.0..=(values.len() - 1) as f32).contains(&position) {
        return None;
    }
    let i = position.floor() as usize;
    let frac = position - i as f32;
    let next = values.get(i + 1).copied().unwrap_or(values[i]);
    Some(values[i] + frac * (next - values[i]))
}

#[cfg(test)]
mod tests {
    use super::super::hz_to_bin;
    use super::*;

    fn harmonic_tone(f0_hz: f32, rate_hz: f32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let t = i as f32 / rate_hz;
                (1..=8)
                    .map(|h| (std::f32::consts::TAU * h as f32 * f0_hz * t).sin() / h as f32)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn a_harmonic_tone_lines_up_on_its_own_bin_at_any_analysis_rate() {
        let mut extractor = FeatureExtractor::new();
        let mut features = FrameFeatures::default();
        for rate_hz in [16_000.0, 22_050.0, 31_999.0] {
            let len = 2 * ((rate_hz / 60.0f32).ceil() as usize + 1) + 1;
            extractor.compute(
                &harmonic_tone(220.0, rate_hz, len),
                rate_hz,
                &VoicingFeatures::default(),
                &mut features,
            );
            let bin = hz_to_bin(220.0).round() as usize;
            // Fundamental channel and periodicity channel both peak at the tone's bin.
            let fundamental = &features.channels[PITCH_BINS..2 * PITCH_BINS];
            assert!(fundamental[bin] > 0.9, "{rate_hz}: {}", fundamental[bin]);
            let periodicity = &features.channels[HARMONICS.len() * PITCH_BINS..];
            assert!(periodicity[bin] > 0.9, "{rate_hz}: {}", periodicity[bin]);
            assert!(
                periodicity[bin - 6] < 0.5,
                "{rate_hz}: a fourth off is not periodic"
            );
            assert!(features.channels.iter().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn silence_gives_finite_features() {
        let mut extractor = FeatureExtractor::new();
        let mut features = FrameFeatures::default();
        extractor.compute(
            &[0.0; 535],
            16_000.0,
            &VoicingFeatures::default(),
            &mut features,
        );
        assert!(features.channels.iter().all(|x| x.is_finite()));
    }
}
