//! The parameters hosts see, automate and save, and their mapping to the engine's controls.

use std::sync::{Arc, Mutex};

use affetto_dsp::emotion::{
    EmotionControls, EmotionDirection, EmotionPreset, EmotionSource, INTENSITY_RANGE,
    STYLE_AMOUNT_RANGE,
};
use affetto_dsp::{AnalysisMode, Controls, FORMANT_SHIFT_RANGE_ST, PITCH_SHIFT_RANGE_ST};
use nice_plug::prelude::*;

use crate::editor::EditorSize;
use crate::reference::SharedReference;

/// The analysis mode as the host shows it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Causal analysis, ≈ 17 ms latency: for monitoring while singing.
    #[id = "live"]
    Live,
    /// Look-ahead analysis, ≈ 200 ms latency (hosts compensate it): for mixing.
    #[id = "studio"]
    Studio,
}

/// Where the emotion comes from: one preset, or the arousal/valence point blending all six.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emotion {
    #[id = "happy"]
    Happy,
    #[id = "sad"]
    Sad,
    #[id = "angry"]
    Angry,
    #[id = "fearful"]
    Fearful,
    #[id = "tender"]
    Tender,
    #[id = "surprised"]
    Surprised,
    /// The `arousal` and `valence` parameters place the emotion between the presets.
    #[id = "arousal_valence"]
    #[name = "Arousal/Valence"]
    ArousalValence,
}

impl Emotion {
    /// The preset this choice names (`None` for the arousal/valence blend).
    pub fn preset(self) -> Option<EmotionPreset> {
        match self {
            Self::Happy => Some(EmotionPreset::Happy),
            Self::Sad => Some(EmotionPreset::Sad),
            Self::Angry => Some(EmotionPreset::Angry),
            Self::Fearful => Some(EmotionPreset::Fearful),
            Self::Tender => Some(EmotionPreset::Tender),
            Self::Surprised => Some(EmotionPreset::Surprised),
            Self::ArousalValence => None,
        }
    }

    pub fn of_preset(preset: EmotionPreset) -> Self {
        match preset {
            EmotionPreset::Happy => Self::Happy,
            EmotionPreset::Sad => Self::Sad,
            EmotionPreset::Angry => Self::Angry,
            EmotionPreset::Fearful => Self::Fearful,
            EmotionPreset::Tender => Self::Tender,
            EmotionPreset::Surprised => Self::Surprised,
        }
    }
}

/// Every automatable control of Affetto. Parameter ids are part of saved projects and automation
/// lanes: never rename one.
#[derive(Params)]
pub struct AffettoParams {
    /// Wet share of the output, 0–100 %.
    #[id = "mix"]
    pub mix_percent: FloatParam,

    /// Gain after the mix, −24 … +24 dB.
    #[id = "output_gain_db"]
    pub output_gain_db: FloatParam,

    /// Host-visible bypass: the output becomes the latency-aligned input, crossfaded.
    #[id = "bypass"]
    pub bypass: BoolParam,

    /// Live or Studio analysis. It sets the latency, which CLAP allows to change only while the
    /// plugin activates, so a new value takes effect at the next activation (not automatable).
    #[id = "mode"]
    pub mode: EnumParam<Mode>,

    /// Transposition with the formants kept in place, −24 … +24 semitones (fractional).
    #[id = "pitch_shift_st"]
    pub pitch_shift_st: FloatParam,

    /// Formants moved on their own, −12 … +12 semitones.
    #[id = "formant_shift_st"]
    pub formant_shift_st: FloatParam,

    /// The emotion preset, or the arousal/valence blend.
    #[id = "emotion"]
    pub emotion: EnumParam<Emotion>,

    /// How much of the emotion: 0 % is the voice as sung, 100 % the preset as defined, up to
    /// 150 %.
    #[id = "intensity"]
    pub intensity: FloatParam,

    /// Calm (−1) to excited (+1); used when the emotion is Arousal/Valence.
    #[id = "arousal"]
    pub arousal: FloatParam,

    /// Negative (−1) to positive (+1); used when the emotion is Arousal/Valence.
    #[id = "valence"]
    pub valence: FloatParam,

    /// Trims added to whatever the emotion does.
    #[id = "trim_pitch_st"]
    pub trim_pitch_st: FloatParam,
    #[id = "trim_range"]
    pub trim_range: FloatParam,
    #[id = "trim_vibrato_depth"]
    pub trim_vibrato_depth: FloatParam,
    #[id = "trim_vibrato_rate_hz"]
    pub trim_vibrato_rate_hz: FloatParam,
    #[id = "trim_vibrato_onset_ms"]
    pub trim_vibrato_onset_ms: FloatParam,
    #[id = "trim_articulation"]
    pub trim_articulation: FloatParam,
    #[id = "trim_dynamics"]
    pub trim_dynamics: FloatParam,
    #[id = "trim_tilt_db"]
    pub trim_tilt_db: FloatParam,
    #[id = "trim_breath"]
    pub trim_breath: FloatParam,

    /// How far the voice moves towards the captured reference style (when one is captured).
    #[id = "style_amount"]
    pub style_amount: FloatParam,

    /// While on, the sidechain's voice is learned as the reference style; it freezes after
    /// 20 s of sidechain, or when switched off after at least 2 s.
    #[id = "learn_reference"]
    pub learn_reference: BoolParam,

    /// The captured reference style, saved with the project.
    #[persist = "reference_style"]
    pub reference_style: SharedReference,

    /// The editor's size, saved with the project. Only editor threads touch it.
    #[persist = "editor_size"]
    editor_size: Mutex<EditorSize>,
}

/// A ratio parameter, 0.5× … 2× around 1× with 1× in the middle of its travel.
fn ratio_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        1.0,
        FloatRange::Skewed {
            min: 0.5,
            max: 2.0,
            factor: FloatRange::skew_factor(-1.0),
        },
    )
    .with_value_to_string(Arc::new(|value| format!("×{value:.2}")))
    .with_string_to_value(Arc::new(|text| {
        text.trim()
            .trim_start_matches(['×', 'x'])
            .trim()
            .parse()
            .ok()
    }))
}

/// A 0 … `max` amount shown as a percentage (the CLI takes the plain fraction: 0.8 = 80 %).
fn fraction_param(name: &str, default: f32, (min, max): (f32, f32)) -> FloatParam {
    FloatParam::new(name, default, FloatRange::Linear { min, max })
        .with_unit(" %")
        .with_value_to_string(formatters::v2s_f32_percentage(0))
        .with_string_to_value(formatters::s2v_f32_percentage())
}

impl Default for AffettoParams {
    fn default() -> Self {
        Self {
            mix_percent: FloatParam::new(
                "Mix",
                100.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 100.0,
                },
            )
            .with_unit(" %")
            .with_step_size(0.1),
            output_gain_db: FloatParam::new(
                "Output Gain",
                0.0,
                FloatRange::Linear {
                    min: -24.0,
                    max: 24.0,
                },
            )
            .with_unit(" dB")
            .with_step_size(0.01),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            mode: EnumParam::new("Mode", Mode::Live).non_automatable(),
            pitch_shift_st: FloatParam::new(
                "Pitch Shift",
                0.0,
                FloatRange::Linear {
                    min: PITCH_SHIFT_RANGE_ST.0,
                    max: PITCH_SHIFT_RANGE_ST.1,
                },
            )
            .with_unit(" st")
            .with_step_size(0.01),
            formant_shift_st: FloatParam::new(
                "Formant Shift",
                0.0,
                FloatRange::Linear {
                    min: FORMANT_SHIFT_RANGE_ST.0,
                    max: FORMANT_SHIFT_RANGE_ST.1,
                },
            )
            .with_unit(" st")
            .with_step_size(0.01),
            emotion: EnumParam::new("Emotion", Emotion::Happy),
            intensity: fraction_param("Intensity", 0.0, INTENSITY_RANGE),
            arousal: FloatParam::new(
                "Arousal",
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.01),
            valence: FloatParam::new(
                "Valence",
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_step_size(0.01),
            trim_pitch_st: FloatParam::new(
                "Pitch Offset",
                0.0,
                FloatRange::Linear {
                    min: -6.0,
                    max: 6.0,
                },
            )
            .with_unit(" st")
            .with_step_size(0.01),
            trim_range: ratio_param("Pitch Range"),
            trim_vibrato_depth: FloatParam::new(
                "Vibrato Depth",
                1.0,
                FloatRange::Linear { min: 0.0, max: 3.0 },
            )
            .with_unit(" %")
            .with_value_to_string(formatters::v2s_f32_percentage(0))
            .with_string_to_value(formatters::s2v_f32_percentage()),
            trim_vibrato_rate_hz: FloatParam::new(
                "Vibrato Rate",
                0.0,
                FloatRange::Linear {
                    min: -2.0,
                    max: 2.0,
                },
            )
            .with_unit(" Hz")
            .with_step_size(0.01),
            trim_vibrato_onset_ms: FloatParam::new(
                "Vibrato Onset Delay",
                0.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 1000.0,
                },
            )
            .with_unit(" ms")
            .with_step_size(1.0),
            trim_articulation: ratio_param("Vowel Length"),
            trim_dynamics: ratio_param("Dynamics"),
            trim_tilt_db: FloatParam::new(
                "Brightness",
                0.0,
                FloatRange::Linear {
                    min: -12.0,
                    max: 12.0,
                },
            )
            .with_unit(" dB")
            .with_step_size(0.1),
            trim_breath: fraction_param("Breath", 0.0, (0.0, 1.0)),
            style_amount: fraction_param("Style Amount", 1.0, STYLE_AMOUNT_RANGE),
            learn_reference: BoolParam::new("Learn Reference", false).non_automatable(),
            reference_style: SharedReference::default(),
            editor_size: Mutex::new(EditorSize::DEFAULT),
        }
    }
}

impl AffettoParams {
    /// The engine's view of the current parameter values. The engine smooths them itself, so
    /// the plugin and the offline renderer share one smoothing behaviour.
    pub fn controls(&self) -> Controls {
        Controls {
            mix_fraction: self.mix_percent.value() / 100.0,
            output_gain_db: self.output_gain_db.value(),
            bypass: self.bypass.value(),
            pitch_shift_st: self.pitch_shift_st.value(),
            formant_shift_st: self.formant_shift_st.value(),
            // Vowel timing is the emotion's articulation (and its trim), not a control of its own.
            vowel_stretch: 1.0,
            emotion: self.emotion_controls(),
        }
    }

    fn emotion_controls(&self) -> EmotionControls {
        let source = match self.emotion.value().preset() {
            Some(preset) => EmotionSource::Preset(preset),
            None => EmotionSource::ArousalValence {
                arousal: self.arousal.value(),
                valence: self.valence.value(),
            },
        };
        EmotionControls {
            source,
            intensity: self.intensity.value(),
            trims: EmotionDirection {
                f0_level_st: self.trim_pitch_st.value(),
                f0_range_ratio: self.trim_range.value(),
                vibrato_extent_ratio: self.trim_vibrato_depth.value(),
                vibrato_rate_offset_hz: self.trim_vibrato_rate_hz.value(),
                vibrato_onset_delay_s: self.trim_vibrato_onset_ms.value() / 1000.0,
                articulation_ratio: self.trim_articulation.value(),
                dynamics_ratio: self.trim_dynamics.value(),
                tilt_db: self.trim_tilt_db.value(),
                breath_amount: self.trim_breath.value(),
                ..EmotionDirection::NEUTRAL
            },
            style_amount: self.style_amount.value(),
        }
    }

    /// The size the editor opens at (a saved size outside the supported range is held to it).
    pub fn editor_size(&self) -> EditorSize {
        self.editor_size
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .sanitized()
    }

    pub fn set_editor_size(&self, size: EditorSize) {
        *self
            .editor_size
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = size.sanitized();
    }

    /// The analysis mode to prepare the engine with.
    pub fn analysis_mode(&self) -> AnalysisMode {
        match self.mode.value() {
            Mode::Live => AnalysisMode::Live,
            Mode::Studio => AnalysisMode::Studio,
        }
    }
}
