//! The arousal/valence pad: the six presets where they sit on the plane, and a point the user
//! drags to blend them.
//!
//! Valence runs left (negative) to right (positive), arousal bottom (calm) to top (excited), as
//! in the circumplex model the presets' coordinates come from. Every change goes to the host as
//! a begin/set/end gesture, so a host in automation-write mode records a drag as one move.

use affetto_dsp::emotion::EmotionPreset;
use egui::{self, Align2, FontId, Pos2, Rect, Response, Sense, Stroke, Ui, Vec2, pos2};
use nice_plug::prelude::*;

use super::theme;
use crate::params::{AffettoParams, Emotion};

/// How near (points) a click must land to a preset's marker to pick that preset.
const MARKER_PICK_RADIUS: f32 = 12.0;

/// The pad's square, placed and sized by the caller.
pub struct EmotionPad<'a> {
    params: &'a AffettoParams,
    setter: &'a ParamSetter<'a>,
    side: f32,
}

/// The plane point (valence, arousal), each −1…1, shown at `pos` inside `rect`.
pub fn plane_of(rect: Rect, pos: Pos2) -> (f32, f32) {
    let valence: f32 = 2.0 * (pos.x - rect.left()) / rect.width() - 1.0;
    let arousal: f32 = 1.0 - 2.0 * (pos.y - rect.top()) / rect.height();
    (valence.clamp(-1.0, 1.0), arousal.clamp(-1.0, 1.0))
}

/// Where the plane point (valence, arousal) is drawn inside `rect`.
pub fn screen_of(rect: Rect, (valence, arousal): (f32, f32)) -> Pos2 {
    pos2(
        rect.left() + 0.5 * (valence + 1.0) * rect.width(),
        rect.top() + 0.5 * (1.0 - arousal) * rect.height(),
    )
}

/// The preset whose marker is within the pick radius of `pos`, the nearest if several.
fn preset_at(rect: Rect, pos: Pos2) -> Option<EmotionPreset> {
    EmotionPreset::ALL
        .into_iter()
        .map(|preset| {
            let (arousal, valence) = preset.arousal_valence();
            (preset, screen_of(rect, (valence, arousal)).distance(pos))
        })
        .filter(|(_, distance)| *distance <= MARKER_PICK_RADIUS)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(preset, _)| preset)
}

/// Where a preset's name goes beside its marker: angry and fearful sit close together near the
/// pad's edge, so one name goes above and the other below.
fn label_place(preset: EmotionPreset) -> (Vec2, Align2) {
    match preset {
        EmotionPreset::Angry | EmotionPreset::Sad | EmotionPreset::Tender => {
            (Vec2::new(0.0, -7.0), Align2::CENTER_BOTTOM)
        }
        EmotionPreset::Fearful | EmotionPreset::Happy | EmotionPreset::Surprised => {
            (Vec2::new(0.0, 7.0), Align2::CENTER_TOP)
        }
    }
}

impl<'a> EmotionPad<'a> {
    pub fn new(params: &'a AffettoParams, setter: &'a ParamSetter<'a>, side: f32) -> Self {
        Self {
            params,
            setter,
            side,
        }
    }

    /// The point the transform is at: the arousal/valence parameters when blending, else the
    /// chosen preset's place.
    fn point(&self) -> (f32, f32) {
        match self.params.emotion.value().preset() {
            Some(preset) => {
                let (arousal, valence) = preset.arousal_valence();
                (valence, arousal)
            }
            None => (self.params.valence.value(), self.params.arousal.value()),
        }
    }

    fn choose(&self, emotion: Emotion) {
        if self.params.emotion.value() != emotion {
            self.setter.begin_set_parameter(&self.params.emotion);
            self.setter.set_parameter(&self.params.emotion, emotion);
            self.setter.end_set_parameter(&self.params.emotion);
        }
    }

    pub fn show(self, ui: &mut Ui) -> Response {
        let (rect, response) =
            ui.allocate_exact_size(Vec2::splat(self.side), Sense::click_and_drag());
        let (arousal, valence) = (&self.params.arousal, &self.params.valence);

        if response.drag_started()
            && let Some(pos) = response.interact_pointer_pos()
            && preset_at(rect, pos).is_none()
        {
            // Dragging the point means blending: start from wherever the point is now, so the
            // sound does not jump from a preset to the old blend before the drag moves it.
            if let Some(preset) = self.params.emotion.value().preset() {
                let (a, v) = preset.arousal_valence();
                self.setter.begin_set_parameter(arousal);
                self.setter.set_parameter(arousal, a);
                self.setter.end_set_parameter(arousal);
                self.setter.begin_set_parameter(valence);
                self.setter.set_parameter(valence, v);
                self.setter.end_set_parameter(valence);
            }
            self.choose(Emotion::ArousalValence);
            self.setter.begin_set_parameter(arousal);
            self.setter.begin_set_parameter(valence);
            ui.memory_mut(|memory| memory.data.insert_temp(response.id, true));
        }
        let dragging_point =
            ui.memory(|memory| memory.data.get_temp::<bool>(response.id)) == Some(true);
        if dragging_point
            && response.dragged()
            && let Some(pos) = response.interact_pointer_pos()
        {
            let (v, a) = plane_of(rect, pos);
            self.setter.set_parameter(valence, v);
            self.setter.set_parameter(arousal, a);
        }
        if dragging_point && response.drag_stopped() {
            self.setter.end_set_parameter(arousal);
            self.setter.end_set_parameter(valence);
            ui.memory_mut(|memory| memory.data.remove::<bool>(response.id));
        }
        if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            match preset_at(rect, pos) {
                Some(preset) => self.choose(Emotion::of_preset(preset)),
                None => {
                    let (v, a) = plane_of(rect, pos);
                    self.choose(Emotion::ArousalValence);
                    for (param, value) in [(arousal, a), (valence, v)] {
                        self.setter.begin_set_parameter(param);
                        self.setter.set_parameter(param, value);
                        self.setter.end_set_parameter(param);
                    }
                }
            }
        }

        self.paint(ui, rect);
        response.on_hover_text(
            "Drag to blend the emotions (arousal up, valence right); click a name to pick it",
        )
    }

    fn paint(&self, ui: &Ui, rect: Rect) {
        let painter = ui.painter_at(rect);
        theme::fill_panel(&painter, rect);
        let grid = Stroke::new(1.0, theme::GRID);
        painter.line_segment(
            [
                pos2(rect.center().x, rect.top()),
                pos2(rect.center().x, rect.bottom()),
            ],
            grid,
        );
        painter.line_segment(
            [
                pos2(rect.left(), rect.center().y),
                pos2(rect.right(), rect.center().y),
            ],
            grid,
        );
        let small = FontId::proportional(10.0);
        let axis = theme::TEXT_DIM;
        painter.text(
            rect.center_top() + Vec2::new(0.0, 3.0),
            Align2::CENTER_TOP,
            "excited",
            small.clone(),
            axis,
        );
        painter.text(
            rect.center_bottom() - Vec2::new(0.0, 3.0),
            Align2::CENTER_BOTTOM,
            "calm",
            small.clone(),
            axis,
        );
        painter.text(
            rect.left_center() + Vec2::new(3.0, 0.0),
            Align2::LEFT_CENTER,
            "negative",
            small.clone(),
            axis,
        );
        painter.text(
            rect.right_center() - Vec2::new(3.0, 0.0),
            Align2::RIGHT_CENTER,
            "positive",
            small,
            axis,
        );

        let chosen = self.params.emotion.value().preset();
        for preset in EmotionPreset::ALL {
            let (arousal, valence) = preset.arousal_valence();
            let at = screen_of(rect, (valence, arousal));
            let colour = if chosen == Some(preset) {
                theme::ACCENT
            } else {
                theme::TEXT
            };
            painter.circle_filled(at, 4.0, colour);
            let (offset, align) = label_place(preset);
            painter.text(
                at + offset,
                align,
                preset.name(),
                FontId::proportional(12.0),
                colour,
            );
        }

        let point = screen_of(rect, self.point());
        // The ring's radius shows the intensity: how far towards the emotion the voice goes.
        let intensity = self.params.intensity.value();
        let ring_radius = 8.0 + 0.12 * self.side * intensity / 1.5;
        painter.circle_stroke(
            point,
            ring_radius,
            Stroke::new(2.0, theme::ACCENT.gamma_multiply(0.6)),
        );
        painter.circle_filled(point, 6.0, theme::ACCENT);
        theme::outline_panel(&painter, rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_and_screen_coordinates_are_inverse() {
        let rect = Rect::from_min_size(pos2(10.0, 20.0), Vec2::splat(200.0));
        for point in [(-1.0, -1.0), (0.0, 0.0), (0.8, -0.6), (1.0, 1.0)] {
            let back = plane_of(rect, screen_of(rect, point));
            assert!((back.0 - point.0).abs() < 1e-5 && (back.1 - point.1).abs() < 1e-5);
        }
        // Excited is up, positive is right.
        assert_eq!(screen_of(rect, (1.0, 1.0)), rect.right_top());
        // Outside the pad clamps to its edge.
        assert_eq!(plane_of(rect, pos2(-50.0, 500.0)), (-1.0, -1.0));
    }

    #[test]
    fn a_click_on_a_marker_picks_its_preset() {
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::splat(240.0));
        for preset in EmotionPreset::ALL {
            let (arousal, valence) = preset.arousal_valence();
            let at = screen_of(rect, (valence, arousal));
            assert_eq!(preset_at(rect, at + Vec2::new(2.0, -2.0)), Some(preset));
        }
        assert_eq!(preset_at(rect, rect.center()), None);
    }
}
