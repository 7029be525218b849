//! The scrolling pitch view: the last few seconds of the input's F0 on a note grid, its vibrato
//! band, and the contour the output is taken to.

use affetto_dsp::frame_view::FrameView;
use affetto_dsp::pitch::HOP_S;
use egui::{Align2, CornerRadius, FontId, Mesh, Pos2, Rect, Sense, Shape, Stroke, Ui, Vec2, pos2};

use super::feed::{HISTORY_S, PitchHistory};
use super::theme;

/// The narrowest pitch span shown: an octave, so a monotone does not fill the view with one
/// semitone.
const MIN_SPAN_CENTS: f32 = 1200.0;
/// Room above and below the highest and lowest pitch shown.
const MARGIN_CENTS: f32 = 200.0;
/// What the view shows before any voice: A2 to A4.
const IDLE_RANGE_CENTS: (f32, f32) = (4500.0, 6900.0);
/// How fast the pitch range follows the voice, per repaint: slow enough not to jitter.
const RANGE_EASING: f32 = 0.08;
/// Vibrato is shaded where the decomposition is at least this sure it is vibrato.
const VIBRATO_SHOWN_PRESENCE: f32 = 0.5;

/// Sharps as "#": egui's built-in fonts have no "♯".
const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// The name of MIDI note `note` (60 = C4).
pub fn note_name(note: i32) -> String {
    format!(
        "{}{}",
        NOTE_NAMES[note.rem_euclid(12) as usize],
        note.div_euclid(12) - 1
    )
}

/// The pitch range (cents) that shows every voiced frame of `frames` with a margin, at least
/// [`MIN_SPAN_CENTS`] wide; `None` when nothing is voiced.
pub fn range_for<'a>(frames: impl Iterator<Item = &'a FrameView>) -> Option<(f32, f32)> {
    let (low, high) = frames
        .filter(|view| view.voiced)
        .flat_map(|view| [view.input_cents, view.target_cents])
        .filter(|cents| cents.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), c| {
            (lo.min(c), hi.max(c))
        });
    if low > high {
        return None;
    }
    let (low, high) = (low - MARGIN_CENTS, high + MARGIN_CENTS);
    let widen = (MIN_SPAN_CENTS - (high - low)).max(0.0) / 2.0;
    Some((low - widen, high + widen))
}

/// What the view remembers between repaints: the range it eased towards.
pub struct PitchView {
    range_cents: (f32, f32),
}

impl Default for PitchView {
    fn default() -> Self {
        Self {
            range_cents: IDLE_RANGE_CENTS,
        }
    }
}

/// The read-out holds the last vibrato this long, so it can be read after the note ends.
const VIBRATO_HOLD_S: f64 = 1.0;

/// The newest vibrato of the last [`VIBRATO_HOLD_S`]: `(rate Hz, extent cents)`.
pub fn recent_vibrato(history: &PitchHistory) -> Option<(f32, f32)> {
    history
        .frames()
        .rev()
        .take((VIBRATO_HOLD_S / HOP_S) as usize)
        .find(|view| view.voiced && view.vibrato_presence >= VIBRATO_SHOWN_PRESENCE)
        .map(|view| (view.vibrato_rate_hz, view.vibrato_extent_cents))
}

impl PitchView {
    pub fn show(&mut self, ui: &mut Ui, history: &PitchHistory, size: Vec2) {
        let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
        if let Some(wanted) = range_for(history.frames()) {
            let (low, high) = &mut self.range_cents;
            *low += RANGE_EASING * (wanted.0 - *low);
            *high += RANGE_EASING * (wanted.1 - *high);
        }
        let painter = ui.painter_at(rect);
        theme::fill_panel(&painter, rect);
        let (low, high) = self.range_cents;
        let y_of = |cents: f32| rect.bottom() - (cents - low) / (high - low) * rect.height();

        // Note grid: a line per semitone, C darker and named.
        let first = (low / 100.0).ceil() as i32;
        let last = (high / 100.0).floor() as i32;
        for note in first..=last {
            let y = y_of(note as f32 * 100.0);
            let is_c = note.rem_euclid(12) == 0;
            let colour = if is_c {
                theme::GRID_STRONG
            } else {
                theme::GRID
            };
            painter.line_segment(
                [pos2(rect.left(), y), pos2(rect.right(), y)],
                Stroke::new(1.0, colour),
            );
            if is_c || (last - first) <= 18 {
                painter.text(
                    pos2(rect.left() + 3.0, y - 1.0),
                    Align2::LEFT_BOTTOM,
                    note_name(note),
                    FontId::proportional(10.0),
                    theme::TEXT_DIM,
                );
            }
        }

        let Some(newest) = history.frames().last().map(|view| view.index) else {
            painter.text(
                rect.center(),
                Align2::CENTER_CENTER,
                "waiting for audio…",
                FontId::proportional(13.0),
                theme::TEXT_DIM,
            );
            return;
        };
        let frames_shown = HISTORY_S / HOP_S;
        let x_of = |index: u64| {
            rect.right()
                - ((newest - index.min(newest)) as f64 / frames_shown) as f32 * rect.width()
        };
        // A line a second, so timing reads at a glance.
        let per_second = (1.0 / HOP_S).round() as u64;
        let mut second = newest - newest % per_second;
        while second + (frames_shown as u64) > newest {
            let x = x_of(second);
            painter.line_segment(
                [pos2(x, rect.top()), pos2(x, rect.bottom())],
                Stroke::new(1.0, theme::GRID),
            );
            if second < per_second {
                break;
            }
            second -= per_second;
        }

        let frames: Vec<&FrameView> = history.frames().collect();
        // The vibrato band: intonation ± extent, where there is vibrato. One mesh of two
        // triangles a frame, so neighbouring frames join without seams.
        let mut band = Mesh::default();
        for pair in frames.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let vibrato = |v: &FrameView| v.voiced && v.vibrato_presence >= VIBRATO_SHOWN_PRESENCE;
            if b.index == a.index + 1 && vibrato(a) && vibrato(b) {
                let first = band.vertices.len() as u32;
                let (xa, xb) = (x_of(a.index), x_of(b.index));
                for (x, cents) in [
                    (xa, a.intonation_cents + a.vibrato_extent_cents),
                    (xb, b.intonation_cents + b.vibrato_extent_cents),
                    (xb, b.intonation_cents - b.vibrato_extent_cents),
                    (xa, a.intonation_cents - a.vibrato_extent_cents),
                ] {
                    band.colored_vertex(pos2(x, y_of(cents)), theme::VIBRATO_BAND);
                }
                band.add_triangle(first, first + 1, first + 2);
                band.add_triangle(first, first + 2, first + 3);
            }
        }
        painter.add(Shape::mesh(band));
        // The input's F0 and the output's target, broken where the voice is unvoiced.
        for (cents_of, stroke) in [
            (
                (|v: &FrameView| v.input_cents) as fn(&FrameView) -> f32,
                Stroke::new(1.5, theme::INPUT_PITCH),
            ),
            (
                |v: &FrameView| v.target_cents,
                Stroke::new(2.0, theme::ACCENT),
            ),
        ] {
            let mut run: Vec<Pos2> = Vec::new();
            for pair in frames.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                if a.voiced && b.voiced && b.index == a.index + 1 {
                    if run.is_empty() {
                        run.push(pos2(x_of(a.index), y_of(cents_of(a))));
                    }
                    run.push(pos2(x_of(b.index), y_of(cents_of(b))));
                } else if !run.is_empty() {
                    painter.add(Shape::line(std::mem::take(&mut run), stroke));
                }
            }
            if !run.is_empty() {
                painter.add(Shape::line(run, stroke));
            }
        }
        // Voiced frames as a strip along the bottom edge.
        let strip = 3.0;
        for view in frames.iter().filter(|view| view.voiced) {
            let x = x_of(view.index);
            painter.rect_filled(
                Rect::from_min_max(
                    pos2(x - 0.5, rect.bottom() - strip),
                    pos2(x + 0.5, rect.bottom()),
                ),
                CornerRadius::ZERO,
                theme::VOICED,
            );
        }
        theme::outline_panel(&painter, rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voiced(cents: f32, target: f32) -> FrameView {
        super::super::held_frame(0, cents, target)
    }

    #[test]
    fn notes_are_named_with_c4_at_60() {
        assert_eq!(note_name(60), "C4");
        assert_eq!(note_name(57), "A3");
        assert_eq!(note_name(61), "C#4");
        assert_eq!(note_name(11), "B-1");
    }

    #[test]
    fn the_range_covers_input_and_target_and_is_at_least_an_octave() {
        let frames = [voiced(5700.0, 6000.0), voiced(5800.0, 6100.0)];
        let (low, high) = range_for(frames.iter()).unwrap();
        assert!(low <= 5700.0 - MARGIN_CENTS && high >= 6100.0 + MARGIN_CENTS);
        let (low, high) = range_for(frames[..1].iter()).unwrap();
        assert!(high - low >= MIN_SPAN_CENTS);
        let unvoiced = FrameView {
            voiced: false,
            ..voiced(5700.0, 5700.0)
        };
        assert_eq!(range_for([unvoiced].iter()), None);
    }
}
