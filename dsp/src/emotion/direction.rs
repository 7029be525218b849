//! What an emotion does to a voice, as a point in a space of prosodic controls whose origin is
//! "as sung".

/// A change of prosody relative to the input. [`EmotionDirection::NEUTRAL`] (the origin) changes
/// nothing. Ratios are multiplicative (1 = unchanged) and combine in the log domain, so half an
/// intensity of a ×1.44 range is ×1.2 and a ×0.8 trim on top of a ×1.25 preset is ×1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmotionDirection {
    /// Shift of the whole F0 contour, semitones.
    pub f0_level_st: f32,
    /// Expansion (> 1) or compression of the intonation around the input's running median F0.
    pub f0_range_ratio: f32,
    /// Multiplies the extent of the vibrato that is there (held notes only, by construction of
    /// the decomposition: glides carry no vibrato component).
    pub vibrato_extent_ratio: f32,
    /// Added to the vibrato's rate, Hz.
    pub vibrato_rate_offset_hz: f32,
    /// How much later into a held note the vibrato reaches its full extent, seconds (≥ 0 once
    /// combined).
    pub vibrato_onset_delay_s: f32,
    /// −1 smooths the pitch's cycle-to-cycle irregularity away, 0 keeps it, +1 doubles it and
    /// adds a random tremor of [`super::transform::ADDED_JITTER_CENTS`] RMS.
    pub jitter_amount: f32,
    /// Vowel durations relative to the input (> 1 slower); Studio mode only.
    pub articulation_ratio: f32,
    /// Expansion (> 1) or compression of the phrase's loudness envelope around its running mean.
    pub dynamics_ratio: f32,
    /// Change of the balance of high (above ≈ 1 kHz) to low frequencies, dB: > 0 brighter.
    pub tilt_db: f32,
    /// Aspiration noise mixed into voiced sound, 0 (none) … 1 (≈ −12 dB under the voice).
    pub breath_amount: f32,
}

/// Bounds every combined direction is held to: beyond them the voice stops sounding like the
/// same singer (an octave of level, ranges that invert or triple the melody).
const F0_LEVEL_RANGE_ST: (f32, f32) = (-12.0, 12.0);
const F0_RANGE_RATIO_RANGE: (f32, f32) = (0.25, 3.0);
const VIBRATO_EXTENT_RATIO_RANGE: (f32, f32) = (0.0, 3.0);
const VIBRATO_RATE_OFFSET_RANGE_HZ: (f32, f32) = (-3.0, 3.0);
const VIBRATO_ONSET_DELAY_RANGE_S: (f32, f32) = (0.0, 2.0);
const JITTER_AMOUNT_RANGE: (f32, f32) = (-1.0, 2.0);
const ARTICULATION_RATIO_RANGE: (f32, f32) = (0.5, 2.0);
const DYNAMICS_RATIO_RANGE: (f32, f32) = (0.25, 3.0);
const TILT_RANGE_DB: (f32, f32) = (-18.0, 18.0);
const BREATH_AMOUNT_RANGE: (f32, f32) = (0.0, 1.0);

impl EmotionDirection {
    pub const NEUTRAL: Self = Self {
        f0_level_st: 0.0,
        f0_range_ratio: 1.0,
        vibrato_extent_ratio: 1.0,
        vibrato_rate_offset_hz: 0.0,
        vibrato_onset_delay_s: 0.0,
        jitter_amount: 0.0,
        articulation_ratio: 1.0,
        dynamics_ratio: 1.0,
        tilt_db: 0.0,
        breath_amount: 0.0,
    };

    /// The direction at `intensity` (0 = neutral, 1 = as defined, 1.5 = half as much again):
    /// offsets scale linearly, ratios as powers.
    pub fn scaled(&self, intensity: f32) -> Self {
        let k = if intensity.is_finite() {
            intensity
        } else {
            0.0
        };
        let ratio = |r: f32| r.max(1e-3).powf(k);
        Self {
            f0_level_st: self.f0_level_st * k,
            f0_range_ratio: ratio(self.f0_range_ratio),
            vibrato_extent_ratio: ratio(self.vibrato_extent_ratio),
            vibrato_rate_offset_hz: self.vibrato_rate_offset_hz * k,
            vibrato_onset_delay_s: self.vibrato_onset_delay_s * k,
            jitter_amount: self.jitter_amount * k,
            articulation_ratio: ratio(self.articulation_ratio),
            dynamics_ratio: ratio(self.dynamics_ratio),
            tilt_db: self.tilt_db * k,
            breath_amount: self.breath_amount * k,
        }
    }

    /// Both changes at once: offsets add, ratios multiply.
    pub fn combined(&self, other: &Self) -> Self {
        Self {
            f0_level_st: self.f0_level_st + other.f0_level_st,
            f0_range_ratio: self.f0_range_ratio * other.f0_range_ratio,
            vibrato_extent_ratio: self.vibrato_extent_ratio * other.vibrato_extent_ratio,
            vibrato_rate_offset_hz: self.vibrato_rate_offset_hz + other.vibrato_rate_offset_hz,
            vibrato_onset_delay_s: self.vibrato_onset_delay_s + other.vibrato_onset_delay_s,
            jitter_amount: self.jitter_amount + other.jitter_amount,
            articulation_ratio: self.articulation_ratio * other.articulation_ratio,
            dynamics_ratio: self.dynamics_ratio * other.dynamics_ratio,
            tilt_db: self.tilt_db + other.tilt_db,
            breath_amount: self.breath_amount + other.breath_amount,
        }
    }

    /// The weighted mean of `directions` (weights summing to 1): the arithmetic mean of offsets,
    /// the geometric mean of ratios, so blending ×2 and ×0.5 equally gives ×1.
    pub fn blend(directions: &[(f32, Self)]) -> Self {
        let mut log_sum = Self::NEUTRAL.scaled(0.0);
        for (weight, direction) in directions {
            log_sum = log_sum.combined(&direction.scaled(*weight));
        }
        log_sum
    }

    /// Every value finite and within the bounds above; a non-finite value becomes neutral.
    pub fn sanitized(&self) -> Self {
        let n = Self::NEUTRAL;
        let within = |x: f32, fallback: f32, (low, high): (f32, f32)| {
            if x.is_finite() {
                x.clamp(low, high)
            } else {
                fallback
            }
        };
        Self {
            f0_level_st: within(self.f0_level_st, n.f0_level_st, F0_LEVEL_RANGE_ST),
            f0_range_ratio: within(self.f0_range_ratio, n.f0_range_ratio, F0_RANGE_RATIO_RANGE),
            vibrato_extent_ratio: within(
                self.vibrato_extent_ratio,
                n.vibrato_extent_ratio,
                VIBRATO_EXTENT_RATIO_RANGE,
            ),
            vibrato_rate_offset_hz: within(
                self.vibrato_rate_offset_hz,
                n.vibrato_rate_offset_hz,
                VIBRATO_RATE_OFFSET_RANGE_HZ,
            ),
            vibrato_onset_delay_s: within(
                self.vibrato_onset_delay_s,
                n.vibrato_onset_delay_s,
                VIBRATO_ONSET_DELAY_RANGE_S,
            ),
            jitter_amount: within(self.jitter_amount, n.jitter_amount, JITTER_AMOUNT_RANGE),
            articulation_ratio: within(
                self.articulation_ratio,
                n.articulation_ratio,
                ARTICULATION_RATIO_RANGE,
            ),
            dynamics_ratio: within(self.dynamics_ratio, n.dynamics_ratio, DYNAMICS_RATIO_RANGE),
            tilt_db: within(self.tilt_db, n.tilt_db, TILT_RANGE_DB),
            breath_amount: within(self.breath_amount, n.breath_amount, BREATH_AMOUNT_RANGE),
        }
    }
}

impl Default for EmotionDirection {
    fn default() -> Self {
        Self::NEUTRAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intensity_scales_offsets_linearly_and_ratios_as_powers() {
        let d = EmotionDirection {
            f0_level_st: 2.0,
            f0_range_ratio: 1.44,
            ..EmotionDirection::NEUTRAL
        };
        let half = d.scaled(0.5);
        assert!((half.f0_level_st - 1.0).abs() < 1e-6);
        assert!((half.f0_range_ratio - 1.2).abs() < 1e-5);
        assert_eq!(d.scaled(0.0), EmotionDirection::NEUTRAL);
    }

    #[test]
    fn blending_opposite_ratios_equally_is_neutral() {
        let up = EmotionDirection {
            dynamics_ratio: 2.0,
            tilt_db: 4.0,
            ..EmotionDirection::NEUTRAL
        };
        let down = EmotionDirection {
            dynamics_ratio: 0.5,
            tilt_db: -4.0,
            ..EmotionDirection::NEUTRAL
        };
        let mid = EmotionDirection::blend(&[(0.5, up), (0.5, down)]);
        assert!((mid.dynamics_ratio - 1.0).abs() < 1e-5);
        assert!(mid.tilt_db.abs() < 1e-6);
    }

    #[test]
    fn non_finite_values_become_neutral() {
        let bad = EmotionDirection {
            f0_level_st: f32::NAN,
            f0_range_ratio: f32::INFINITY,
            tilt_db: 100.0,
            ..EmotionDirection::NEUTRAL
        }
        .sanitized();
        assert_eq!(bad.f0_level_st, 0.0);
        assert_eq!(bad.f0_range_ratio, 1.0);
        assert_eq!(bad.tilt_db, TILT_RANGE_DB.1);
    }
}
