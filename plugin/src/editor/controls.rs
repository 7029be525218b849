//! Every automatable parameter, grouped as a user looks for them: Emotion, Vibrato, Pitch,
//! Timing, Voice, Output. Sliders show values with their units and take typed values (click the
//! value), double-click resets; choices are drop-downs.

use egui::{self, RichText, Ui};
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;

use super::theme;
use crate::params::{AffettoParams, Mode};

/// Width of a slider's track.
const SLIDER_WIDTH: f32 = 100.0;

/// A labelled slider row in a two-column grid.
fn slider_row<P: Param>(ui: &mut Ui, param: &P, setter: &ParamSetter) {
    ui.label(param.name());
    ui.add(ParamSlider::for_param(param, setter).with_width(SLIDER_WIDTH));
    ui.end_row();
}

/// A drop-down for an enum parameter, set as one host gesture. Returns whether it changed.
pub fn enum_row<T: Enum + PartialEq + Copy + 'static>(
    ui: &mut Ui,
    param: &EnumParam<T>,
    setter: &ParamSetter,
) -> bool {
    ui.label(param.name());
    let current = param.value();
    let mut chosen = current.to_index();
    egui::ComboBox::from_id_salt(param.name())
        .width(SLIDER_WIDTH)
        .selected_text(T::variants()[chosen])
        .show_ui(ui, |ui| {
            for (index, name) in T::variants().iter().enumerate() {
                ui.selectable_value(&mut chosen, index, *name);
            }
        });
    ui.end_row();
    let changed = chosen != current.to_index();
    if changed {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, T::from_index(chosen));
        setter.end_set_parameter(param);
    }
    changed
}

/// A toggle for a boolean parameter, set as one host gesture.
pub fn bool_row(ui: &mut Ui, param: &BoolParam, setter: &ParamSetter) {
    ui.label(param.name());
    let mut on = param.value();
    if ui.checkbox(&mut on, "").changed() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, on);
        setter.end_set_parameter(param);
    }
    ui.end_row();
}

/// A titled box of rows.
fn group(ui: &mut Ui, title: &str, rows: impl FnOnce(&mut Ui)) {
    ui.group(|ui| {
        ui.vertical(|ui| {
            ui.label(RichText::new(title).strong().color(theme::ACCENT));
            egui::Grid::new(title)
                .num_columns(2)
                .spacing([8.0, 4.0])
                .show(ui, rows);
        });
    });
}

/// The parameter groups, laid out in columns. `restart` asks the host to re-activate the
/// plugin (a mode change takes effect then, since it changes the latency).
pub fn show(ui: &mut Ui, params: &AffettoParams, setter: &ParamSetter, restart: impl FnOnce()) {
    ui.horizontal_top(|ui| {
        group(ui, "Emotion", |ui| {
            slider_row(ui, &params.intensity, setter);
            enum_row(ui, &params.emotion, setter);
            slider_row(ui, &params.arousal, setter);
            slider_row(ui, &params.valence, setter);
            slider_row(ui, &params.style_amount, setter);
        });
        group(ui, "Pitch", |ui| {
            slider_row(ui, &params.pitch_shift_st, setter);
            slider_row(ui, &params.trim_pitch_st, setter);
            slider_row(ui, &params.trim_range, setter);
            slider_row(ui, &params.formant_shift_st, setter);
        });
        group(ui, "Vibrato", |ui| {
            slider_row(ui, &params.trim_vibrato_depth, setter);
            slider_row(ui, &params.trim_vibrato_rate_hz, setter);
            slider_row(ui, &params.trim_vibrato_onset_ms, setter);
        });
    });
    ui.add_space(6.0);
    ui.horizontal_top(|ui| {
        group(ui, "Timing", |ui| {
            slider_row(ui, &params.trim_articulation, setter);
            let mode_changed = enum_row(ui, &params.mode, setter);
            if mode_changed {
                restart();
            }
            ui.label("");
            ui.label(
                RichText::new(match params.mode.value() {
                    Mode::Live => "Live: ≈17 ms, no vowel timing",
                    Mode::Studio => "Studio: ≈200 ms, vowel timing too",
                })
                .small()
                .color(theme::TEXT_DIM),
            );
            ui.end_row();
        });
        group(ui, "Voice", |ui| {
            slider_row(ui, &params.trim_tilt_db, setter);
            slider_row(ui, &params.trim_breath, setter);
            slider_row(ui, &params.trim_dynamics, setter);
        });
        group(ui, "Output", |ui| {
            slider_row(ui, &params.mix_percent, setter);
            slider_row(ui, &params.output_gain_db, setter);
            bool_row(ui, &params.bypass, setter);
        });
    });
}
