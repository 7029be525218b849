//! A fading histogram of pitch, for the running median and spread of a voice's F0.
//!
//! A histogram rather than a sorted window: its quantiles cost one scan of a fixed array, it
//! needs no allocation after construction, and fading it (newer frames weigh more) gives a
//! median that follows a singer into a new register within seconds without forgetting the
//! phrase's shape note by note.

/// Cents covered: 50 Hz … ≈ 1.4 kHz, beyond any voice the tracker reports (60–1000 Hz).
const LOW_CENTS: f32 = 3_150.0;
const BIN_CENTS: f32 = 10.0;
const BINS: usize = 580;
/// Renormalise before the growing increment could overflow `f32`.
const RESCALE_ABOVE: f32 = 1e30;

#[derive(Debug, Clone)]
pub struct PitchHistogram {
    bins: Box<[f32; BINS]>,
    /// Weight of the next observation: grows by `growth` per observation instead of every bin
    /// decaying, which is the same fading for one multiply instead of `BINS`.
    increment: f32,
    growth: f32,
    total: f32,
}

impl PitchHistogram {
    /// A histogram whose observations fade with time constant `memory_frames` (observations);
    /// `f32::INFINITY` keeps them all equally.
    pub fn new(memory_frames: f32) -> Self {
        Self {
            bins: Box::new([0.0; BINS]),
            increment: 1.0,
            growth: (1.0 / memory_frames.max(1.0)).exp(),
            total: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.bins.fill(0.0);
        self.increment = 1.0;
        self.total = 0.0;
    }

    /// Whether anything has been observed since the last reset.
    pub fn is_empty(&self) -> bool {
        self.total <= 0.0
    }

    /// Observes one voiced frame's pitch, in cents above MIDI note 0.
    pub fn push_cents(&mut self, cents: f32) {
        if !cents.is_finite() {
            return;
        }
        let bin = ((cents - LOW_CENTS) / BIN_CENTS).clamp(0.0, (BINS - 1) as f32) as usize;
        self.bins[bin] += self.increment;
        self.total += self.increment;
        self.increment *= self.growth;
        if self.increment > RESCALE_ABOVE {
            let scale = 1.0 / self.increment;
            self.bins.iter_mut().for_each(|b| *b *= scale);
            self.total *= scale;
            self.increment = 1.0;
        }
    }

    /// The pitch below which a `fraction` (0…1) of the weight lies, cents, interpolated inside
    /// its bin; `None` while empty.
    pub fn quantile_cents(&self, fraction: f32) -> Option<f32> {
        if self.is_empty() {
            return None;
        }
        let wanted = fraction.clamp(0.0, 1.0) * self.total;
        let mut below = 0.0;
        for (i, &weight) in self.bins.iter().enumerate() {
            if weight > 0.0 && below + weight >= wanted {
                let inside = ((wanted - below) / weight).clamp(0.0, 1.0);
                return Some(LOW_CENTS + (i as f32 + inside) * BIN_CENTS);
            }
            below += weight;
        }
        Some(LOW_CENTS + BINS as f32 * BIN_CENTS)
    }

    pub fn median_cents(&self) -> Option<f32> {
        self.quantile_cents(0.5)
    }

    /// Interquartile range, semitones.
    pub fn iqr_st(&self) -> Option<f32> {
        Some((self.quantile_cents(0.75)? - self.quantile_cents(0.25)?) / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_iqr_of_a_uniform_spread() {
        let mut h = PitchHistogram::new(f32::INFINITY);
        for i in 0..=1200 {
            h.push_cents(6000.0 + i as f32);
        }
        assert!((h.median_cents().unwrap() - 6600.0).abs() < 10.0);
        assert!((h.iqr_st().unwrap() - 6.0).abs() < 0.2);
    }

    #[test]
    fn fading_follows_a_new_register() {
        let mut h = PitchHistogram::new(200.0);
        for _ in 0..2000 {
            h.push_cents(5000.0);
        }
        for _ in 0..1000 {
            h.push_cents(6000.0);
        }
        assert!((h.median_cents().unwrap() - 6000.0).abs() < 20.0);
    }
}
