//! Affetto's editor (egui): the emotion pad, the live pitch view, every parameter, reference
//! capture and the engine's status.
//!
//! Threads: the editor runs on the host's GUI thread and baseview's window thread. It reads the
//! audio thread's state only through [`DisplayFeed`] (atomics and a lock-free ring) and writes
//! only through parameter gestures; nothing it locks is ever locked by the audio thread.

mod controls;
mod emotion_pad;
mod feed;
mod pitch_view;
mod reference_panel;
mod theme;

use std::error::Error;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use egui::{self, Color32, CornerRadius, RichText, Stroke, StrokeKind, Ui, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::{
    Editor, HostMethods, ParentWindowHandle, ResizeHint, SpawnedEditor,
    dpi::{LogicalSize, NativeSize, Size},
};
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    EguiEditor, EguiEditorHandle, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
    create_egui_editor,
};
use serde::{Deserialize, Serialize};

pub use feed::{DisplayFeed, DisplayWriter, WorkerStatus, display_feed, peak_of};
pub use pitch_view::note_name;

use crate::Affetto;
use crate::params::AffettoParams;
use crate::reference::{ReferenceLoadStatus, load_reference_file};
use emotion_pad::EmotionPad;
use feed::ActiveMode;
use pitch_view::PitchView;
use reference_panel::ReferencePanel;

/// The editor's size in logical points (before the host's scale factor), saved with the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorSize {
    pub width: u32,
    pub height: u32,
}

impl EditorSize {
    pub const DEFAULT: Self = Self {
        width: 980,
        height: 720,
    };
    const MIN: Self = Self {
        width: 820,
        height: 600,
    };
    const MAX: Self = Self {
        width: 3840,
        height: 2400,
    };

    /// Within the sizes the layout supports (a saved state may hold anything).
    pub fn sanitized(self) -> Self {
        Self {
            width: self.width.clamp(Self::MIN.width, Self::MAX.width),
            height: self.height.clamp(Self::MIN.height, Self::MAX.height),
        }
    }

    fn logical(self) -> LogicalSize<f64> {
        LogicalSize::new(self.width as f64, self.height as f64)
    }
}

impl Default for EditorSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The plugin's editor. Each time the host opens it a fresh egui window is built at the saved
/// size; the pitch history and the reference load outlive the window.
pub struct AffettoEditor {
    params: Arc<AffettoParams>,
    feed: Arc<DisplayFeed>,
    load_status: Arc<ReferenceLoadStatus>,
    executor: AsyncExecutor<Affetto>,
    /// The open window's state: its scale factor answers the host's size queries.
    open_state: Mutex<Option<Arc<EguiEditorState>>>,
}

/// A task the editor hands to the plugin's background thread.
pub enum EditorTask {
    LoadReference(PathBuf),
}

impl AffettoEditor {
    pub fn new(
        params: Arc<AffettoParams>,
        feed: Arc<DisplayFeed>,
        load_status: Arc<ReferenceLoadStatus>,
        executor: AsyncExecutor<Affetto>,
    ) -> Self {
        Self {
            params,
            feed,
            load_status,
            executor,
            open_state: Mutex::new(None),
        }
    }

    fn resize_hint() -> ResizeHint {
        ResizeHint::resizable().with_min_max_logical_size(
            Some(LogicalSize::new(
                EditorSize::MIN.width as f32,
                EditorSize::MIN.height as f32,
            )),
            Some(LogicalSize::new(
                EditorSize::MAX.width as f32,
                EditorSize::MAX.height as f32,
            )),
        )
    }
}

/// Runs an [`EditorTask`] on the plugin's background thread.
pub fn run_task(task: EditorTask, params: &AffettoParams, load_status: &ReferenceLoadStatus) {
    match task {
        EditorTask::LoadReference(path) => {
            load_reference_file(&path, &params.reference_style, load_status)
        }
    }
}

impl Editor for AffettoEditor {
    type Handle = EguiEditorHandle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: GuiContext,
        host: Option<HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        let size = self.params.editor_size();
        let state = EguiEditorState::from_size(Size::Logical(size.logical()), 1.0);
        let executor = self.executor.clone();
        let app = EditorApp {
            params: self.params.clone(),
            feed: self.feed.clone(),
            load_status: self.load_status.clone(),
            load: Box::new(move |path| {
                executor.execute_background(EditorTask::LoadReference(path))
            }),
            gui: Some(gui_context.clone()),
            pitch_view: PitchView::default(),
            meters: LevelMeters::default(),
            reference_path: String::new(),
            blocks_seen: 0,
        };
        let settings = EguiNiceSettings::new()
            .with_tile("Affetto")
            .with_resize_hint(Self::resize_hint());
        let editor: EguiEditor<EditorApp> =
            create_egui_editor(state.clone(), RepaintNotifier::new(), settings, app)
                .ok_or("the egui editor could not be created")?;
        let spawned = editor.spawn(
            parent,
            wait_for_parent,
            fallback_scale_factor,
            gui_context,
            host,
        )?;
        *self
            .open_state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(state);
        Ok(spawned)
    }

    fn size(&self) -> NativeSize<u32> {
        let open = self
            .open_state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match open {
            Some(state) if state.is_open() => {
                let physical = state.physical_size();
                NativeSize::new(physical.width, physical.height)
            }
            _ => {
                let size = self.params.editor_size();
                NativeSize::new(size.width, size.height)
            }
        }
    }

    fn resize_hint(&self) -> ResizeHint {
        Self::resize_hint()
    }
}

/// Peak meters that fall at a steady rate, as a DAW's do.
struct LevelMeters {
    input_db: f32,
    output_db: f32,
    last: Option<std::time::Instant>,
}

impl Default for LevelMeters {
    fn default() -> Self {
        Self {
            input_db: METER_FLOOR_DB,
            output_db: METER_FLOOR_DB,
            last: None,
        }
    }
}

/// Meters show −60…0 dBFS.
const METER_FLOOR_DB: f32 = -60.0;
const METER_FALL_DB_PER_S: f32 = 24.0;

impl LevelMeters {
    /// Both meters at the floor: nothing left to animate.
    fn at_rest(&self) -> bool {
        self.input_db <= METER_FLOOR_DB && self.output_db <= METER_FLOOR_DB
    }

    fn update(&mut self, (input_peak, output_peak): (f32, f32)) {
        let now = std::time::Instant::now();
        let elapsed_s = self.last.map_or(0.0, |last| (now - last).as_secs_f32());
        self.last = Some(now);
        let fall = METER_FALL_DB_PER_S * elapsed_s;
        let db = |peak: f32| (20.0 * peak.max(1e-6).log10()).max(METER_FLOOR_DB);
        self.input_db = (self.input_db - fall)
            .max(db(input_peak))
            .max(METER_FLOOR_DB);
        self.output_db = (self.output_db - fall)
            .max(db(output_peak))
            .max(METER_FLOOR_DB);
    }
}

/// A labelled level meter: name, bar and peak in dB, painted as one widget.
fn meter(ui: &mut Ui, label: &str, level_db: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(200.0, 14.0), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let font = egui::FontId::proportional(11.0);
    painter.text(
        rect.left_center(),
        egui::Align2::LEFT_CENTER,
        label,
        font.clone(),
        theme::TEXT_DIM,
    );
    let bar = egui::Rect::from_min_size(
        rect.left_top() + Vec2::new(28.0, 2.0),
        Vec2::new(110.0, 10.0),
    );
    painter.rect_filled(bar, CornerRadius::same(2), theme::PANEL_DARK);
    let fraction = (level_db - METER_FLOOR_DB) / -METER_FLOOR_DB;
    let mut filled = bar;
    filled.set_width(bar.width() * fraction.clamp(0.0, 1.0));
    let colour = if level_db > -1.0 {
        theme::METER_HOT
    } else {
        theme::VOICED
    };
    painter.rect_filled(filled, CornerRadius::same(2), colour);
    painter.rect_stroke(
        bar,
        CornerRadius::same(2),
        Stroke::new(1.0, theme::GRID),
        StrokeKind::Inside,
    );
    let text = if level_db <= METER_FLOOR_DB {
        "< −60 dB".to_string()
    } else {
        format!("{level_db:.0} dB")
    };
    painter.text(
        rect.right_center(),
        egui::Align2::RIGHT_CENTER,
        text,
        font,
        theme::TEXT,
    );
}

/// One open editor window's app.
struct EditorApp {
    params: Arc<AffettoParams>,
    feed: Arc<DisplayFeed>,
    load_status: Arc<ReferenceLoadStatus>,
    load: Box<dyn Fn(PathBuf) + Send>,
    gui: Option<GuiContext>,
    pitch_view: PitchView,
    meters: LevelMeters,
    reference_path: String,
    /// Blocks the audio thread had processed at the last repaint.
    blocks_seen: u64,
}

impl EditorApp {
    fn status_line(&mut self, ui: &mut Ui) {
        let feed = &self.feed;
        ui.horizontal(|ui| {
            ui.label(RichText::new("Affetto").heading().strong().color(theme::ACCENT));
            ui.separator();
            let mode = match feed.mode() {
                ActiveMode::Inactive => "inactive".to_string(),
                ActiveMode::Live => "Live".to_string(),
                ActiveMode::Studio => "Studio".to_string(),
            };
            let latency = feed
                .latency_ms()
                .map_or("—".to_string(), |ms| format!("{ms:.1} ms"));
            ui.label(format!("{mode} · latency {latency}"));
            ui.separator();
            let worker = feed.worker();
            let (text, colour) = worker_text(&worker, feed.mode());
            ui.label(RichText::new(text).color(colour))
                .on_hover_text("The neural pitch model's answers: used when back in time, else the DSP tracker's estimate stands");
            // Right to left: the output meter is the rightmost.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                meter(ui, "Out", self.meters.output_db);
                meter(ui, "In", self.meters.input_db);
            });
        });
    }
}

impl EditorApp {
    /// The emotion pad with its intensity, beside the pitch view with its read-outs.
    fn pad_and_pitch(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        const PAD_SIDE: f32 = 240.0;
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                EmotionPad::new(&self.params, setter, PAD_SIDE).show(ui);
                ui.add_space(4.0);
                ui.horizontal(|ui| {
                    ui.label("Intensity");
                    ui.add(
                        ParamSlider::for_param(&self.params.intensity, setter)
                            .with_width(PAD_SIDE - 110.0),
                    );
                });
            });
            ui.vertical(|ui| {
                let size = Vec2::new(ui.available_width(), PAD_SIDE);
                let (view, feed) = (&mut self.pitch_view, &self.feed);
                let vibrato = feed.with_history(|history| {
                    view.show(ui, history, size);
                    pitch_view::recent_vibrato(history)
                });
                ui.horizontal(|ui| {
                    let legend = |text: &str, colour| RichText::new(text).color(colour).small();
                    ui.label(legend("input", theme::INPUT_PITCH));
                    ui.label(legend("output", theme::ACCENT));
                    ui.label(legend("vibrato band", theme::ACCENT.gamma_multiply(0.6)));
                    ui.separator();
                    ui.label(match vibrato {
                        Some((rate_hz, extent_cents)) => {
                            format!("vibrato {rate_hz:.1} Hz · ±{extent_cents:.0} cents")
                        }
                        None => "vibrato —".to_string(),
                    });
                });
            });
        });
    }
}

/// The worker's status line and its colour.
fn worker_text(worker: &WorkerStatus, mode: ActiveMode) -> (String, Color32) {
    if worker.failed {
        return ("neural pitch: failed, DSP only".to_string(), theme::WARNING);
    }
    if !worker.running {
        let why = if mode == ActiveMode::Studio {
            "neural pitch: off (no model), DSP only"
        } else {
            "neural pitch: Studio mode only"
        };
        return (why.to_string(), theme::TEXT_DIM);
    }
    (
        format!(
            "neural pitch: {} on time · {} late · {} dropped",
            worker.on_time, worker.late, worker.dropped
        ),
        if worker.late + worker.dropped > worker.sent / 100 {
            theme::WARNING
        } else {
            theme::TEXT
        },
    )
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        self.meters.update(self.feed.take_peaks());
        ui.painter()
            .rect_filled(ui.max_rect(), CornerRadius::ZERO, ui.visuals().panel_fill);
        // At the smallest sizes the lower panels scroll rather than fall off the window.
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                egui::Frame::new().inner_margin(10.0).show(ui, |ui| {
                    self.status_line(ui);
                    ui.add_space(6.0);
                    self.pad_and_pitch(ui, &setter);
                    ui.add_space(8.0);
                    ui.separator();
                    controls::show(ui, &self.params, &setter, || gui.request_restart());
                    ui.add_space(6.0);
                    ui.separator();
                    ReferencePanel {
                        params: &self.params,
                        setter: &setter,
                        feed: &self.feed,
                        load_status: &self.load_status,
                        path: &mut self.reference_path,
                        load: &*self.load,
                    }
                    .show(ui);
                });
            });
        // The pitch view scrolls and the meters fall while audio runs; with the transport
        // stopped (no blocks) and the meters at rest the editor waits for input, and costs
        // nothing.
        let blocks = self.feed.blocks_processed();
        if blocks != self.blocks_seen || !self.meters.at_rest() {
            self.blocks_seen = blocks;
            ui.ctx().request_repaint();
        }
    }

    fn resized(&mut self, new_size: nice_plug_egui::baseview::WindowSize) {
        self.params.set_editor_size(EditorSize {
            width: new_size.logical.width.round() as u32,
            height: new_size.logical.height.round() as u32,
        });
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

/// A voiced frame without vibrato at `input_cents`, taken to `target_cents`: what the editor's
/// tests feed their views.
#[cfg(test)]
fn held_frame(
    index: u64,
    input_cents: f32,
    target_cents: f32,
) -> affetto_dsp::frame_view::FrameView {
    affetto_dsp::frame_view::FrameView {
        index,
        voiced: true,
        input_cents,
        intonation_cents: input_cents,
        vibrato_extent_cents: 0.0,
        vibrato_rate_hz: 0.0,
        vibrato_presence: 0.0,
        target_cents,
        energy_db: -20.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_size_out_of_range_is_held_to_what_the_layout_supports() {
        let tiny = EditorSize {
            width: 10,
            height: 0,
        };
        assert_eq!(tiny.sanitized(), EditorSize::MIN);
        let huge = EditorSize {
            width: u32::MAX,
            height: 99_999,
        };
        assert_eq!(huge.sanitized(), EditorSize::MAX);
        assert_eq!(EditorSize::DEFAULT.sanitized(), EditorSize::DEFAULT);
    }

    #[test]
    fn meters_fall_to_rest_and_rise_at_once() {
        let mut meters = LevelMeters::default();
        assert!(meters.at_rest(), "a new editor has nothing to animate");
        meters.update((0.5, 0.25));
        assert!((meters.input_db - 20.0 * 0.5f32.log10()).abs() < 1e-4);
        assert!(!meters.at_rest());
        meters.last = Some(std::time::Instant::now() - std::time::Duration::from_secs(5));
        meters.update((0.0, 0.0));
        assert!(meters.at_rest(), "5 s at 24 dB/s bring −6 dB below −60 dB");
    }

    #[test]
    fn the_worker_line_says_when_the_dsp_path_works_alone() {
        let failed = WorkerStatus {
            failed: true,
            running: true,
            ..WorkerStatus::default()
        };
        assert!(
            worker_text(&failed, ActiveMode::Studio)
                .0
                .contains("DSP only")
        );
        let live = WorkerStatus::default();
        assert!(
            worker_text(&live, ActiveMode::Live)
                .0
                .contains("Studio mode only")
        );
        let busy = WorkerStatus {
            running: true,
            sent: 1000,
            on_time: 950,
            late: 50,
            ..WorkerStatus::default()
        };
        let (text, colour) = worker_text(&busy, ActiveMode::Studio);
        assert!(text.contains("950 on time") && text.contains("50 late"));
        assert_eq!(colour, theme::WARNING);
    }
}
