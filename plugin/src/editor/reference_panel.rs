//! Reference style capture: learn from the sidechain, load a WAV file, clear, and what the
//! captured style is.

use std::path::PathBuf;

use affetto_dsp::emotion::LEARN_S;
use egui::{self, RichText, Ui};
use nice_plug::prelude::*;

use super::feed::DisplayFeed;
use super::theme;
use crate::params::AffettoParams;
use crate::reference::{ReferenceLoad, ReferenceLoadStatus, describe};

/// What the panel needs besides the parameters.
pub struct ReferencePanel<'a> {
    pub params: &'a AffettoParams,
    pub setter: &'a ParamSetter<'a>,
    pub feed: &'a DisplayFeed,
    pub load_status: &'a ReferenceLoadStatus,
    /// The path typed in the file field (kept by the editor between repaints).
    pub path: &'a mut String,
    /// Starts reading a reference file in the background.
    pub load: &'a dyn Fn(PathBuf),
}

impl ReferencePanel<'_> {
    pub fn show(self, ui: &mut Ui) {
        let params = self.params;
        ui.label(
            RichText::new("Reference style")
                .strong()
                .color(theme::ACCENT),
        );
        ui.horizontal(|ui| {
            let (progress, learning) = self.feed.learning();
            let learn = &params.learn_reference;
            if learn.value() {
                if ui
                    .button("Stop")
                    .on_hover_text("Freeze the style learned so far (at least 2 s of voice)")
                    .clicked()
                {
                    self.setter.begin_set_parameter(learn);
                    self.setter.set_parameter(learn, false);
                    self.setter.end_set_parameter(learn);
                }
                ui.add(
                    egui::ProgressBar::new(progress)
                        .desired_width(140.0)
                        .text(if learning {
                            format!("learning {:.0} s", progress * LEARN_S)
                        } else {
                            "waiting for sidechain".to_string()
                        }),
                );
            } else if ui
                .button("Learn")
                .on_hover_text(format!(
                    "Learn the style of the voice on the sidechain (\"Reference\" input), up to {LEARN_S:.0} s"
                ))
                .clicked()
            {
                self.setter.begin_set_parameter(learn);
                self.setter.set_parameter(learn, true);
                self.setter.end_set_parameter(learn);
            }
            if ui.button("Clear").clicked() {
                while !params.reference_style.try_store(None) {
                    std::thread::yield_now();
                }
                self.load_status.set(ReferenceLoad::Idle);
            }
            ui.separator();
            ui.add(
                egui::TextEdit::singleline(self.path)
                    .hint_text("/path/to/reference.wav")
                    .desired_width(220.0),
            );
            let loading = matches!(self.load_status.get(), ReferenceLoad::Loading(_));
            if ui
                .add_enabled(!loading && !self.path.trim().is_empty(), egui::Button::new("Load WAV"))
                .clicked()
            {
                (self.load)(PathBuf::from(self.path.trim()));
            }
        });
        let captured = params
            .reference_style
            .try_load()
            .and_then(|(_, profile)| profile);
        let (text, colour) = match (self.load_status.get(), captured) {
            (ReferenceLoad::Loading(name), _) => (format!("reading {name}…"), theme::TEXT_DIM),
            (ReferenceLoad::Failed(why), _) => (format!("not loaded: {why}"), theme::WARNING),
            (_, Some(profile)) => (format!("Captured: {}", describe(&profile)), theme::TEXT),
            (_, None) => (
                "No reference: learn one from the sidechain or load a WAV file".to_string(),
                theme::TEXT_DIM,
            ),
        };
        ui.label(RichText::new(text).color(colour));
    }
}
