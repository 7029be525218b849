//! The emotion transform: what the user asks for (a preset or an arousal/valence point, an
//! intensity, trims, a reference style) becomes an [`EmotionDirection`], and the
//! [`EmotionStage`] makes the voice follow it frame by frame.

mod brightness_match;
mod direction;
mod fading_mean;
mod loudness_match;
mod pitch_histogram;
mod preset;
mod reference_learner;
mod stage;
mod style;
mod transform;
mod voice_colour;
mod white_noise;

pub use direction::EmotionDirection;
pub use pitch_histogram::PitchHistogram;
pub use preset::{EmotionPreset, arousal_valence_direction};
pub use reference_learner::{LEARN_S, MIN_LEARN_S, ReferenceLearner};
pub use stage::EmotionStage;
pub use style::{FIELD_COUNT, StyleAnalyzer, StyleProfile};
pub use transform::{ADDED_JITTER_CENTS, EmotionTransform, FrameTargets};

/// Where the emotion comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EmotionSource {
    Preset(EmotionPreset),
    /// A point of the arousal/valence plane (each −1…1), blending the presets.
    ArousalValence {
        arousal: f32,
        valence: f32,
    },
}

/// Range of the intensity control (0 = neutral, 1 = the preset as defined).
pub const INTENSITY_RANGE: (f32, f32) = (0.0, 1.5);
/// Range of the reference-style amount.
pub const STYLE_AMOUNT_RANGE: (f32, f32) = (0.0, 1.5);

/// The user's emotion controls, as the engine takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmotionControls {
    pub source: EmotionSource,
    /// Scales the source's direction.
    pub intensity: f32,
    /// Added to the scaled direction (offsets add, ratios multiply).
    pub trims: EmotionDirection,
    /// Scales the direction towards the reference style, when one is loaded.
    pub style_amount: f32,
}

impl Default for EmotionControls {
    fn default() -> Self {
        Self {
            source: EmotionSource::Preset(EmotionPreset::Happy),
            intensity: 0.0,
            trims: EmotionDirection::NEUTRAL,
            style_amount: 1.0,
        }
    }
}

impl EmotionControls {
    /// The direction these controls ask for, given the direction towards the reference style
    /// (if a reference is loaded and the input has been heard).
    pub fn direction(&self, style: Option<&EmotionDirection>) -> EmotionDirection {
        let clean = |x: f32, (low, high): (f32, f32)| {
            if x.is_finite() {
                x.clamp(low, high)
            } else {
                0.0
            }
        };
        let source = match self.source {
            EmotionSource::Preset(preset) => preset.direction(),
            EmotionSource::ArousalValence { arousal, valence } => {
                arousal_valence_direction(arousal, valence)
            }
        };
        let mut direction = source
            .scaled(clean(self.intensity, INTENSITY_RANGE))
            .combined(&self.trims);
        if let Some(style) = style {
            direction =
                direction.combined(&style.scaled(clean(self.style_amount, STYLE_AMOUNT_RANGE)));
        }
        direction.sanitized()
    }
}
