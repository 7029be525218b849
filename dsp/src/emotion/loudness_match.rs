//! Holds the emotion's dynamics to what it asks *relative to the input*: "×1.5 dynamics" means
//! the output's loudness varies 1.5 times as much as the input's. The expander acts on the
//! input's frame loudness around a running mean, but what comes out also depends on everything
//! else the transform does (brighter is louder, a wider pitch range moves loudness with it) and
//! on the expander's own limits and glides; open loop, the presets read 10–30 % off their asked
//! spread, some over and some under (`cargo xtask emotion-eval`).
//!
//! The meter keeps running statistics of the frame loudness of the aligned dry input and of the
//! finished voice over active frames, and slowly integrates the log of (spread asked / spread
//! measured) into a factor on the ratio the expander applies. The statistics remember
//! [`MEMORY_S`] of voice and the loop moves over [`LOOP_TIME_S`], longer, so the delay of the
//! measurement does not make it overshoot and ring.

use super::fading_mean::FadingMean;

/// Length of one loudness frame: a few pitch cycles, short enough to follow syllables.
const FRAME_S: f32 = 0.020;
/// Frames quieter than this are pauses, as in the style profile, and each signal's statistics
/// take its own active frames. (Studio's timing moves pauses, so the wet frame beside an active
/// dry one can be silent: counted at −120 dB, such frames inflated the wet spread and the loop
/// compressed what it should have expanded. Counting only frames active in both read 4–5 %
/// higher ratios than the style profile's own-frames measure.)
const ACTIVE_FLOOR_DB: f32 = -50.0;
/// Memory of the loudness statistics, in active time: a few phrases. The first seconds of a take
/// can read far off (surprised on the sung take: ×1.4–1.6 of the input's spread over the first
/// 4–8 s while the range settles), and with 10 s the statistics held that reading so long that
/// the loop, wound down to ×0.77, was still climbing back at the end of 30 s (×1.13 for ×1.2;
/// now ×1.17, sung spreads at 100 % all within ±20 %: `cargo xtask emotion-eval`). A shorter
/// memory also lags less behind the loop, which did not ring more (sad's factor peaks at ×1.21,
/// ×1.23 with 10 s).
const MEMORY_S: f32 = 5.0;
/// Time constant of the loop, in active time.
const LOOP_TIME_S: f32 = 6.0;
/// The statistics must have seen this much voice before the loop moves.
const MIN_MEASURED_S: f32 = 1.0;
/// The factor's range: beyond it something other than dynamics differs.
const FACTOR_RANGE: (f32, f32) = (0.6, 1.6);

/// Running mean and spread of one signal's frame loudness.
#[derive(Debug, Clone, Copy)]
struct LoudnessSpread {
    mean_db: FadingMean,
    mean_square_db: FadingMean,
}

impl LoudnessSpread {
    fn new(memory_frames: f32) -> Self {
        Self {
            mean_db: FadingMean::new(memory_frames),
            mean_square_db: FadingMean::new(memory_frames),
        }
    }

    fn clear(&mut self) {
        self.mean_db.clear();
        self.mean_square_db.clear();
    }

    fn push(&mut self, loudness_db: f32) {
        self.mean_db.push(loudness_db);
        self.mean_square_db.push(loudness_db * loudness_db);
    }

    /// Frames taken so far.
    fn count(&self) -> f32 {
        self.mean_db.count()
    }

    fn spread_db(&self) -> f32 {
        let mean = self.mean_db.get().unwrap_or(0.0);
        let mean_square = self.mean_square_db.get().unwrap_or(0.0);
        (mean_square - mean * mean).max(0.0).sqrt()
    }
}

/// The factor on the dynamics ratio that makes the finished voice's loudness spread the asked
/// multiple of the input's.
#[derive(Debug, Clone)]
pub struct LoudnessSpreadMatch {
    frame_samples: usize,
    filled: usize,
    dry_energy: f32,
    wet_energy: f32,
    dry: LoudnessSpread,
    wet: LoudnessSpread,
    loop_gain: f32,
    min_frames: f32,
    log_factor: f32,
}

impl LoudnessSpreadMatch {
    pub fn new(sample_rate_hz: f32) -> Self {
        let frame_samples = ((FRAME_S * sample_rate_hz) as usize).max(1);
        let frames_per_s = sample_rate_hz / frame_samples as f32;
        Self {
            frame_samples,
            filled: 0,
            dry_energy: 0.0,
            wet_energy: 0.0,
            dry: LoudnessSpread::new(MEMORY_S * frames_per_s),
            wet: LoudnessSpread::new(MEMORY_S * frames_per_s),
            loop_gain: 1.0 / (LOOP_TIME_S * frames_per_s),
            min_frames: MIN_MEASURED_S * frames_per_s,
            log_factor: 0.0,
        }
    }

    /// Forgets the voice: the factor starts again from 1.
    pub fn reset(&mut self) {
        self.filled = 0;
        self.dry_energy = 0.0;
        self.wet_energy = 0.0;
        self.dry.clear();
        self.wet.clear();
        self.log_factor = 0.0;
    }

    /// Multiplies the dynamics ratio the expander applies.
    pub fn factor(&self) -> f32 {
        self.log_factor.exp()
    }

    /// One sample of the aligned dry input and the finished voice, with the dynamics ratio
    /// asked.
    #[inline]
    pub fn push(&mut self, dry: f32, wet: f32, asked_ratio: f32) {
        self.dry_energy += dry * dry;
        self.wet_energy += wet * wet;
        self.filled += 1;
        if self.filled == self.frame_samples {
            self.close_frame(asked_ratio);
        }
    }

    fn close_frame(&mut self, asked_ratio: f32) {
        let samples = self.filled as f32;
        let to_db = |energy: f32| 10.0 * (energy / samples).max(1e-12).log10();
        let (dry_db, wet_db) = (to_db(self.dry_energy), to_db(self.wet_energy));
        self.filled = 0;
        self.dry_energy = 0.0;
        self.wet_energy = 0.0;
        if dry_db >= ACTIVE_FLOOR_DB {
            self.dry.push(dry_db);
        }
        if wet_db >= ACTIVE_FLOOR_DB {
            self.wet.push(wet_db);
        }
        if dry_db < ACTIVE_FLOOR_DB || !asked_ratio.is_finite() || asked_ratio <= 0.0 {
            return;
        }
        let (dry_spread, wet_spread) = (self.dry.spread_db(), self.wet.spread_db());
        let measured = self.dry.count().min(self.wet.count());
        if measured < self.min_frames || dry_spread <= 0.0 || wet_spread <= 0.0 {
            return;
        }
        let error = (asked_ratio * dry_spread / wet_spread).ln();
        let (low, high) = FACTOR_RANGE;
        self.log_factor = (self.log_factor + self.loop_gain * error).clamp(low.ln(), high.ln());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f32 = 48_000.0;

    /// A tone whose level steps between syllables, `spread_db` around −20 dBFS.
    fn syllables(spread_db: f32, seconds: f32) -> Vec<f32> {
        (0..(seconds * RATE) as usize)
            .map(|i| {
                let syllable = i / (RATE as usize / 5);
                let level_db = -20.0
                    + spread_db
                        * if syllable.is_multiple_of(2) {
                            1.0
                        } else {
                            -1.0
                        };
                10f32.powf(level_db / 20.0) * (i as f32 * 0.05).sin()
            })
            .collect()
    }

    #[test]
    fn a_flatter_rendering_raises_the_factor_and_the_same_one_keeps_it() {
        let dry = syllables(6.0, 20.0);
        let flatter = syllables(4.0, 20.0);
        let mut meter = LoudnessSpreadMatch::new(RATE);
        dry.iter()
            .zip(&flatter)
            .for_each(|(&d, &w)| meter.push(d, w, 1.0));
        assert!(meter.factor() > 1.3, "{}", meter.factor());
        let mut same = LoudnessSpreadMatch::new(RATE);
        dry.iter().for_each(|&d| same.push(d, d, 1.0));
        assert!((same.factor() - 1.0).abs() < 1e-3, "{}", same.factor());
    }
}
