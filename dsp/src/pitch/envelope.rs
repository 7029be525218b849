//! The spectral envelope of each analysis frame, by linear prediction (autocorrelation method,
//! Levinson–Durbin). Resynthesis and the voice-quality stages read formant positions and tilt
//! from it; it is the frame's all-pole model `gain / |A(e^{jω})|`.

use crate::lanes::dot;
use crate::linear_prediction::levinson_durbin;

/// Predictor order: two poles per formant up to the analysis Nyquist (≈ 5 formants below
/// 8–11 kHz) plus a few for the source and the radiation tilt.
pub const LPC_ORDER: usize = 16;

/// Pre-emphasis before the analysis, so the predictor spends its poles on formants rather than
/// on the voice's −12 dB/octave source slope.
const PRE_EMPHASIS: f32 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectralEnvelope {
    /// `a[0] = 1, a[1..]`: the inverse filter `A(z) = Σ a[k] z^-k`.
    pub lpc: [f32; LPC_ORDER + 1],
    /// Prediction-error gain (RMS of the residual).
    pub gain: f32,
    /// Rate the coefficients refer to.
    pub sample_rate_hz: f32,
}

impl SpectralEnvelope {
    /// A flat envelope, for silent frames.
    pub fn flat(sample_rate_hz: f32) -> Self {
        let mut lpc = [0.0; LPC_ORDER + 1];
        lpc[0] = 1.0;
        Self {
            lpc,
            gain: 0.0,
            sample_rate_hz,
        }
    }

    /// Envelope level at `frequency_hz`, in dB (of the pre-emphasised signal).
    pub fn magnitude_db(&self, frequency_hz: f32) -> f32 {
        let w = std::f32::consts::TAU * frequency_hz / self.sample_rate_hz;
        let (mut re, mut im) = (0.0f32, 0.0f32);
        for (k, a) in self.lpc.iter().enumerate() {
            re += a * (w * k as f32).cos();
            im -= a * (w * k as f32).sin();
        }
        20.0 * (self.gain.max(1e-9) / (re * re + im * im).sqrt().max(1e-9)).log10()
    }
}

/// A Hann window of `len` samples, for [`lpc_envelope`].
pub fn hann_window(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / (len.max(2) - 1) as f32).cos())
        .collect()
}

/// Fits the envelope of `frame` (at `sample_rate_hz`) under `window` (as long as the frame),
/// using `scratch` (at least as long).
pub fn lpc_envelope(
    frame: &[f32],
    sample_rate_hz: f32,
    window: &[f32],
    scratch: &mut [f32],
) -> SpectralEnvelope {
    let n = frame.len();
    let windowed = &mut scratch[..n];
    let mut previous = 0.0f32;
    for ((w, &x), &h) in windowed.iter_mut().zip(frame).zip(window) {
        *w = (x - PRE_EMPHASIS * previous) * h;
        previous = x;
    }
    let mut autocorrelation = [0.0f64; LPC_ORDER + 1];
    for (lag, r) in autocorrelation.iter_mut().enumerate() {
        *r = dot(&windowed[..n - lag], &windowed[lag..]) as f64;
    }
    if autocorrelation[0] <= 1e-12 {
        return SpectralEnvelope::flat(sample_rate_hz);
    }
    // A touch of white-noise correction keeps the recursion stable on near-sinusoidal frames.
    autocorrelation[0] *= 1.0 + 1e-6;
    let (mut polynomial, mut reflection) = ([0.0f64; LPC_ORDER + 1], [0.0f64; LPC_ORDER]);
    let Some(error) = levinson_durbin(&autocorrelation, &mut polynomial, &mut reflection) else {
        return SpectralEnvelope::flat(sample_rate_hz);
    };
    SpectralEnvelope {
        lpc: polynomial.map(|a| a as f32),
        gain: (error / n as f64).sqrt() as f32,
        sample_rate_hz,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_resonance_of_a_filtered_pulse_train() {
        // A 150 Hz pulse train through one resonance at 1200 Hz: the envelope peaks there.
        let rate = 16_000.0;
        let (r, theta) = (0.97f32, std::f32::consts::TAU * 1200.0 / rate);
        let (mut y1, mut y2) = (0.0f32, 0.0f32);
        let frame: Vec<f32> = (0..640)
            .map(|i| {
                let x = if i % 107 == 0 { 1.0 } else { 0.0 };
                let y = x + 2.0 * r * theta.cos() * y1 - r * r * y2;
                y2 = y1;
                y1 = y;
                y
            })
            .collect();
        let mut scratch = vec![0.0; 640];
        let envelope = lpc_envelope(&frame, rate, &hann_window(640), &mut scratch);
        let peak = (200..4000)
            .step_by(10)
            .max_by(|&a, &b| {
                envelope
                    .magnitude_db(a as f32)
                    .total_cmp(&envelope.magnitude_db(b as f32))
            })
            .unwrap();
        assert!((peak as f32 - 1200.0).abs() < 80.0, "peak at {peak} Hz");
        assert!(envelope.magnitude_db(1200.0) - envelope.magnitude_db(3500.0) > 15.0);
    }

    #[test]
    fn silence_is_flat_and_finite() {
        let mut scratch = vec![0.0; 100];
        let envelope = lpc_envelope(&[0.0; 100], 16_000.0, &hann_window(100), &mut scratch);
        assert_eq!(envelope, SpectralEnvelope::flat(16_000.0));
        assert!(envelope.magnitude_db(1000.0).is_finite());
    }
}
