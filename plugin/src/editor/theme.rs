//! The editor's colours, in one place so every panel agrees.

use egui::{Color32, CornerRadius, Painter, Rect, Stroke, StrokeKind};

pub const PANEL_DARK: Color32 = Color32::from_rgb(24, 26, 31);
pub const GRID: Color32 = Color32::from_rgb(44, 48, 56);
pub const GRID_STRONG: Color32 = Color32::from_rgb(74, 80, 92);
pub const TEXT: Color32 = Color32::from_rgb(205, 208, 214);
pub const TEXT_DIM: Color32 = Color32::from_rgb(128, 134, 146);
/// The emotion's colour: the pad's point and the output's pitch.
pub const ACCENT: Color32 = Color32::from_rgb(86, 170, 255);
pub const INPUT_PITCH: Color32 = Color32::from_rgb(170, 174, 182);
pub const VIBRATO_BAND: Color32 = Color32::from_rgba_premultiplied(40, 80, 120, 90);
pub const VOICED: Color32 = Color32::from_rgb(96, 180, 120);
pub const WARNING: Color32 = Color32::from_rgb(235, 170, 70);
pub const METER_HOT: Color32 = Color32::from_rgb(230, 80, 70);

/// The dark rounded ground the pad and the pitch view are drawn on.
pub fn fill_panel(painter: &Painter, rect: Rect) {
    painter.rect_filled(rect, CornerRadius::same(4), PANEL_DARK);
}

/// The outline drawn over a panel's contents.
pub fn outline_panel(painter: &Painter, rect: Rect) {
    painter.rect_stroke(
        rect,
        CornerRadius::same(4),
        Stroke::new(1.0, GRID),
        StrokeKind::Inside,
    );
}
