//! The six emotion presets and their places on the arousal/valence plane.
//!
//! Signs follow `shared/EMOTION.md` (Murray & Arnott 1993; Juslin & Laukka 2003; Banse &
//! Scherer 1996; Dromey et al. for sung vibrato). Magnitudes sit inside that table's ranges for
//! "typical acted emotion"; where a range spans both sides of neutral (sad's vibrato extent
//! ×0.8…1.2, fearful's F0 range ×0.9…1.1) the value stays near its middle so the sign is honest.
//! Each choice, and why, is next to its number.

use super::direction::EmotionDirection;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmotionPreset {
    Happy,
    Sad,
    Angry,
    Fearful,
    Tender,
    Surprised,
}

impl EmotionPreset {
    pub const ALL: [Self; 6] = [
        Self::Happy,
        Self::Sad,
        Self::Angry,
        Self::Fearful,
        Self::Tender,
        Self::Surprised,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Happy => "happy",
            Self::Sad => "sad",
            Self::Angry => "angry",
            Self::Fearful => "fearful",
            Self::Tender => "tender",
            Self::Surprised => "surprised",
        }
    }

    /// `(arousal, valence)`, each −1…1: approximate circumplex positions, for blending only.
    pub fn arousal_valence(self) -> (f32, f32) {
        match self {
            Self::Happy => (0.6, 0.8),
            Self::Sad => (-0.5, -0.7),
            Self::Angry => (0.8, -0.6),
            Self::Fearful => (0.7, -0.7),
            Self::Tender => (-0.4, 0.6),
            Self::Surprised => (0.7, 0.3),
        }
    }

    /// The preset at intensity 1.
    pub fn direction(self) -> EmotionDirection {
        match self {
            // Mid-range lift and expansion: +3 st and ×1.4 read clearly as happy on speech
            // without pushing sung melodies out of the singer's register.
            Self::Happy => EmotionDirection {
                f0_level_st: 3.0,
                f0_range_ratio: 1.4,
                vibrato_extent_ratio: 1.2,
                vibrato_rate_offset_hz: 0.5,
                vibrato_onset_delay_s: 0.0,
                // "Regular": smoother than the input.
                jitter_amount: -0.3,
                articulation_ratio: 0.94,
                dynamics_ratio: 1.3,
                tilt_db: 3.0,
                breath_amount: 0.0,
            },
            // Darker and breathier with later vibrato; −2 st keeps low voices above the
            // tracker's 60 Hz floor.
            Self::Sad => EmotionDirection {
                f0_level_st: -2.0,
                f0_range_ratio: 0.7,
                // The table allows ×0.8…1.2; slightly less vibrato reads as subdued.
                vibrato_extent_ratio: 0.9,
                vibrato_rate_offset_hz: -0.5,
                vibrato_onset_delay_s: 0.25,
                jitter_amount: 0.0,
                articulation_ratio: 1.2,
                dynamics_ratio: 0.7,
                tilt_db: -3.5,
                breath_amount: 0.3,
            },
            // The brightest preset: high-frequency energy is anger's strongest cue.
            Self::Angry => EmotionDirection {
                f0_level_st: 3.5,
                f0_range_ratio: 1.5,
                vibrato_extent_ratio: 1.2,
                vibrato_rate_offset_hz: 0.6,
                vibrato_onset_delay_s: 0.0,
                jitter_amount: 0.5,
                articulation_ratio: 0.9,
                dynamics_ratio: 1.5,
                tilt_db: 5.5,
                breath_amount: 0.0,
            },
            // High, fast and unsteady; range and dynamics left as they are (sources disagree /
            // "about neutral").
            Self::Fearful => EmotionDirection {
                f0_level_st: 4.0,
                f0_range_ratio: 1.0,
                vibrato_extent_ratio: 0.95,
                vibrato_rate_offset_hz: 1.0,
                vibrato_onset_delay_s: 0.0,
                jitter_amount: 0.7,
                articulation_ratio: 0.85,
                dynamics_ratio: 1.0,
                tilt_db: 2.0,
                breath_amount: 0.0,
            },
            Self::Tender => EmotionDirection {
                f0_level_st: -1.0,
                f0_range_ratio: 0.8,
                vibrato_extent_ratio: 0.85,
                vibrato_rate_offset_hz: -0.35,
                vibrato_onset_delay_s: 0.2,
                jitter_amount: -0.3,
                articulation_ratio: 1.12,
                dynamics_ratio: 0.75,
                tilt_db: -3.0,
                breath_amount: 0.35,
            },
            // The widest range of all, a little louder and brighter.
            Self::Surprised => EmotionDirection {
                f0_level_st: 4.0,
                f0_range_ratio: 1.7,
                vibrato_extent_ratio: 1.0,
                vibrato_rate_offset_hz: 0.4,
                vibrato_onset_delay_s: 0.0,
                jitter_amount: -0.2,
                articulation_ratio: 0.93,
                dynamics_ratio: 1.2,
                tilt_db: 2.0,
                breath_amount: 0.0,
            },
        }
    }
}

/// Inverse-distance weights need a floor on the distance so a point on a preset is that preset.
const MIN_BLEND_DISTANCE: f32 = 1e-4;

/// The direction at a point of the arousal/valence plane (each clamped to −1…1): an
/// inverse-distance blend (power 4) of the six presets and of neutral at the origin, so the
/// origin is neutral, each preset's point is that preset, and moving the point never jumps. The
/// fourth power keeps the blend local: with squares, the four high-arousal presets outweighed
/// sad and tender at (−0.9, 0) and low arousal came out higher-pitched.
pub fn arousal_valence_direction(arousal: f32, valence: f32) -> EmotionDirection {
    let clean = |x: f32| {
        if x.is_finite() {
            x.clamp(-1.0, 1.0)
        } else {
            0.0
        }
    };
    let (a, v) = (clean(arousal), clean(valence));
    let weight = |(pa, pv): (f32, f32)| {
        let d2 = (a - pa).powi(2) + (v - pv).powi(2);
        1.0 / d2.max(MIN_BLEND_DISTANCE * MIN_BLEND_DISTANCE).powi(2)
    };
    let neutral_weight = weight((0.0, 0.0));
    let preset_weights = EmotionPreset::ALL.map(|p| weight(p.arousal_valence()));
    let total = neutral_weight + preset_weights.iter().sum::<f32>();
    let mut parts = [(0.0, EmotionDirection::NEUTRAL); 6];
    for (part, (preset, w)) in parts
        .iter_mut()
        .zip(EmotionPreset::ALL.iter().zip(preset_weights))
    {
        *part = (w / total, preset.direction());
    }
    EmotionDirection::blend(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_neutral_and_each_preset_point_is_its_preset() {
        let origin = arousal_valence_direction(0.0, 0.0);
        assert!(origin.f0_level_st.abs() < 1e-3);
        assert!((origin.f0_range_ratio - 1.0).abs() < 1e-3);
        for preset in EmotionPreset::ALL {
            let (a, v) = preset.arousal_valence();
            let at = arousal_valence_direction(a, v);
            let want = preset.direction();
            assert!(
                (at.f0_level_st - want.f0_level_st).abs() < 1e-3,
                "{preset:?}"
            );
            assert!((at.tilt_db - want.tilt_db).abs() < 1e-3, "{preset:?}");
            assert!(
                (at.f0_range_ratio / want.f0_range_ratio - 1.0).abs() < 1e-3,
                "{preset:?}"
            );
        }
    }

    #[test]
    fn high_arousal_is_brighter_and_higher_than_low_arousal() {
        let high = arousal_valence_direction(0.9, 0.0);
        let low = arousal_valence_direction(-0.9, 0.0);
        assert!(high.tilt_db > 0.0 && low.tilt_db < 0.0);
        assert!(high.f0_level_st > 0.0 && low.f0_level_st < 0.0);
    }
}
