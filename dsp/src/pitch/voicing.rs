//! Is this frame voiced? A calibrated answer from three measurements, so that "70 %" means
//! voiced seven times in ten, in clean studio takes and in noisy, reverberant rooms alike.
//!
//! The threshold prior alone (pYIN's voicing) is near certain for clean voices but collapses in
//! noise and reverberation, where even clearly voiced frames have shallow dips. A logistic model
//! over the frame's periodicity, its level relative to the recent peak, and the prior mass is
//! fitted on the test voice under the degradations of the evaluation (other seeds than the
//! evaluation's) by `cargo xtask fit-voicing`, which prints the weights below.

/// Frames quieter than the recent peak by more than this are treated as this quiet.
const LEVEL_FLOOR_DB: f32 = -60.0;
/// How fast the level reference falls after a loud passage: 60 dB per second, 0.3 per 5 ms frame.
const PEAK_RELEASE_DB_PER_FRAME: f32 = 0.3;

/// What the voicing probability is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VoicingFeatures {
    /// 1 − the deepest normalised-difference dip (0 = no periodicity, 1 = perfectly periodic).
    pub periodicity: f32,
    /// Frame energy relative to the recent peak, dB, in −60…0.
    pub relative_level_db: f32,
    /// Mass of the Beta threshold prior that picks any candidate.
    pub prior_mass: f32,
}

impl VoicingFeatures {
    /// The model's inputs: a constant, then the features scaled to similar ranges.
    pub fn inputs(&self) -> [f32; 4] {
        [
            1.0,
            self.periodicity,
            self.relative_level_db / 20.0,
            self.prior_mass,
        ]
    }
}

/// Logistic weights over [`VoicingFeatures::inputs`], from `cargo xtask fit-voicing`.
pub const VOICING_WEIGHTS: [f32; 4] = [-1.627, 4.350, 1.284, 2.662];

pub fn voicing_probability(features: &VoicingFeatures) -> f32 {
    let z: f32 = features
        .inputs()
        .iter()
        .zip(VOICING_WEIGHTS)
        .map(|(x, w)| x * w)
        .sum();
    1.0 / (1.0 + (-z).exp())
}

/// Follows the loudest recent frame, so a frame's level can be judged against the voice's own.
#[derive(Debug, Clone, Copy)]
pub struct LevelReference {
    peak_db: f32,
}

impl LevelReference {
    pub fn new() -> Self {
        Self {
            peak_db: LEVEL_FLOOR_DB * 2.0,
        }
    }

    /// Takes a frame's energy; returns it relative to the (updated) reference, clamped to −60…0.
    pub fn relative_db(&mut self, energy_db: f32) -> f32 {
        self.peak_db = energy_db.max(self.peak_db - PEAK_RELEASE_DB_PER_FRAME);
        (energy_db - self.peak_db).clamp(LEVEL_FLOOR_DB, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_periodic_and_louder_frames_are_likelier_voiced() {
        let base = VoicingFeatures {
            periodicity: 0.6,
            relative_level_db: -20.0,
            prior_mass: 0.3,
        };
        let p = voicing_probability(&base);
        assert!(
            voicing_probability(&VoicingFeatures {
                periodicity: 0.95,
                ..base
            }) > p
        );
        assert!(
            voicing_probability(&VoicingFeatures {
                relative_level_db: -3.0,
                ..base
            }) > p
        );
        assert!(
            voicing_probability(&VoicingFeatures {
                prior_mass: 0.9,
                ..base
            }) > p
        );
        let clean_vowel = VoicingFeatures {
            periodicity: 0.99,
            relative_level_db: -2.0,
            prior_mass: 1.0,
        };
        assert!(voicing_probability(&clean_vowel) > 0.95);
        let hiss = VoicingFeatures {
            periodicity: 0.2,
            relative_level_db: -40.0,
            prior_mass: 0.0,
        };
        assert!(voicing_probability(&hiss) < 0.05);
    }

    #[test]
    fn the_level_reference_holds_peaks_and_releases_at_60_db_per_second() {
        let mut level = LevelReference::new();
        assert_eq!(level.relative_db(-10.0), 0.0);
        // 100 frames (0.5 s) later, the reference has fallen 30 dB.
        let mut relative = 0.0;
        for _ in 0..100 {
            relative = level.relative_db(-70.0);
        }
        assert!((relative - (-70.0 + 40.0)).abs() < 1e-3, "{relative}");
    }
}
