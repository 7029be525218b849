//! Band-limits and decimates the host signal by an integer factor for pitch analysis.
//!
//! F0 analysis needs nothing above ≈ 7 kHz, and the difference function costs grow with the
//! square of the rate, so analysis runs at `host rate / factor`, the factor being the largest
//! that keeps the analysis rate at or above 16 kHz (22.05 kHz from 44.1 kHz, 16 kHz from 48 or
//! 96 kHz). An integer factor keeps it allocation-free and adds only the filter's group delay
//! (< 0.1 ms); a general resampler would add a block of latency the Live budget cannot spare.

/// Lowest analysis rate: above twice the highest harmonic YIN benefits from (≈ 7 kHz).
pub const MIN_ANALYSIS_RATE_HZ: f32 = 16_000.0;

/// A biquad section in transposed direct form II.
#[derive(Debug, Clone, Copy, Default)]
struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    z1: f32,
    z2: f32,
}

impl Biquad {
    /// RBJ cookbook low-pass at `cutoff_hz` with quality `q`.
    fn lowpass(cutoff_hz: f32, q: f32, sample_rate_hz: f32) -> Self {
        let w0 = std::f32::consts::TAU * cutoff_hz / sample_rate_hz;
        let alpha = w0.sin() / (2.0 * q);
        let cos_w0 = w0.cos();
        let a0 = 1.0 + alpha;
        Self {
            b0: (1.0 - cos_w0) / 2.0 / a0,
            b1: (1.0 - cos_w0) / a0,
            b2: (1.0 - cos_w0) / 2.0 / a0,
            a1: -2.0 * cos_w0 / a0,
            a2: (1.0 - alpha) / a0,
            z1: 0.0,
            z2: 0.0,
        }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let y = self.b0 * x + self.z1;
        self.z1 = flush_denormal(self.b1 * x - self.a1 * y + self.z2);
        self.z2 = flush_denormal(self.b2 * x - self.a2 * y);
        y
    }
}

/// The filter's state decays towards zero after the input stops; left alone it passes through
/// the denormal range, where every operation costs up to 100× (hosts set flush-to-zero, the CLI
/// and tests do not).
#[inline]
fn flush_denormal(x: f32) -> f32 {
    if x.abs() < 1e-25 { 0.0 } else { x }
}

/// Fourth-order Butterworth low-pass (two biquads) followed by keeping every `factor`-th sample.
#[derive(Debug, Clone)]
pub struct Decimator {
    factor: usize,
    sections: [Biquad; 2],
    /// Input samples since the last kept one.
    phase: usize,
}

impl Decimator {
    pub fn new(sample_rate_hz: f32) -> Self {
        let factor = ((sample_rate_hz / MIN_ANALYSIS_RATE_HZ).floor() as usize).max(1);
        let output_rate_hz = sample_rate_hz / factor as f32;
        // Butterworth pole pairs have Q = 1 / (2 cos(π/8)) and 1 / (2 cos(3π/8)).
        let cutoff_hz = 0.42 * output_rate_hz;
        let sections = [
            Biquad::lowpass(cutoff_hz, 0.541_196_1, sample_rate_hz),
            Biquad::lowpass(cutoff_hz, 1.306_563, sample_rate_hz),
        ];
        Self {
            factor,
            sections,
            phase: 0,
        }
    }

    pub fn factor(&self) -> usize {
        self.factor
    }

    pub fn reset(&mut self) {
        for section in &mut self.sections {
            section.z1 = 0.0;
            section.z2 = 0.0;
        }
        self.phase = 0;
    }

    /// Filters one input sample; returns the decimated sample when this one is kept.
    #[inline]
    pub fn push(&mut self, x: f32) -> Option<f32> {
        if self.factor == 1 {
            return Some(x);
        }
        let low = self.sections[0].process(x);
        let y = self.sections[1].process(low);
        self.phase += 1;
        if self.phase == self.factor {
            self.phase = 0;
            Some(y)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain_at(frequency_hz: f32, sample_rate_hz: f32) -> f32 {
        let mut decimator = Decimator::new(sample_rate_hz);
        let n = (sample_rate_hz * 0.5) as usize;
        let out: Vec<f32> = (0..n)
            .filter_map(|i| {
                decimator
                    .push((std::f32::consts::TAU * frequency_hz * i as f32 / sample_rate_hz).sin())
            })
            .collect();
        let tail = &out[out.len() / 2..];
        (2.0 * tail.iter().map(|x| x * x).sum::<f32>() / tail.len() as f32).sqrt()
    }

    #[test]
    fn factors_keep_the_analysis_rate_at_or_above_16_khz() {
        for (rate, factor) in [
            (22_050.0, 1),
            (44_100.0, 2),
            (48_000.0, 3),
            (88_200.0, 5),
            (96_000.0, 6),
            (192_000.0, 12),
        ] {
            assert_eq!(Decimator::new(rate).factor(), factor, "{rate} Hz");
        }
    }

    #[test]
    fn passes_the_voice_band_and_rejects_what_would_alias() {
        for rate in [44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            let output_rate = rate / Decimator::new(rate).factor() as f32;
            assert!(
                (gain_at(1000.0, rate) - 1.0).abs() < 0.02,
                "1 kHz passes at {rate} Hz"
            );
            // Content just above the new Nyquist would fold into the F0 range: it must be low.
            assert!(
                gain_at(0.75 * output_rate, rate) < 0.1,
                "{rate} Hz: alias band attenuated"
            );
        }
    }
}
