//! The parameters hosts see, automate and save, and their mapping to the engine's controls.

use affetto_dsp::{AnalysisMode, Controls, FORMANT_SHIFT_RANGE_ST, PITCH_SHIFT_RANGE_ST};
use nice_plug::prelude::*;

/// The analysis mode as the host shows it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Causal analysis, ≈ 17 ms latency: for monitoring while singing.
    #[id = "live"]
    Live,
    /// Look-ahead analysis, ≈ 100 ms latency (hosts compensate it): for mixing.
    #[id = "studio"]
    Studio,
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
            // Vowel timing is driven by the emotion transform's articulation control, which is
            // not a parameter yet; until then timing is left as sung.
            vowel_stretch: 1.0,
        }
    }

    /// The analysis mode to prepare the engine with.
    pub fn analysis_mode(&self) -> AnalysisMode {
        match self.mode.value() {
            Mode::Live => AnalysisMode::Live,
            Mode::Studio => AnalysisMode::Studio,
        }
    }
}
