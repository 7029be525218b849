//! Affetto's signal processing, free of any plugin framework.
//!
//! The streaming [`Engine`] is what the plugin and the offline renderer both drive; the
//! [`synth`] module is the test voice with known truth that tests, benchmarks and the demo use.

mod dry_wet;
pub mod emotion;
mod engine;
pub mod frame_view;
mod lanes;
mod linear_prediction;
pub mod pitch;
mod ramp;
pub mod resynth;
mod safety;
pub mod synth;
pub mod vibrato;

pub use engine::{
    Controls, Engine, FORMANT_SHIFT_RANGE_ST, MAX_BLOCK_SAMPLES_LIMIT, MAX_CHANNELS,
    PITCH_SHIFT_RANGE_ST, VOWEL_STRETCH_RANGE,
};
pub use pitch::{AnalysisMode, PitchFrame};
pub use safety::{INPUT_CEILING, OUTPUT_CEILING};

/// Converts decibels to a linear amplitude factor.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}
