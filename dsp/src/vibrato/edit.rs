//! The hooks the emotion transform drives: rescale or re-time existing vibrato, give held notes a
//! vibrato they lack, smooth or amplify jitter. The result is a target pitch contour; the
//! resynthesiser makes the voice follow it.

use std::f32::consts::TAU;

use super::{ContourFrame, vibrato_weight};
use crate::pitch::HOP_S;

/// How long an added vibrato takes to grow to its full extent after its onset, as a singer's
/// does over its first cycles.
pub const ADDED_VIBRATO_FADE_IN_S: f32 = 0.3;
/// How fast an added vibrato stops when the note moves on: quick, so a glide stays a glide.
const ADDED_VIBRATO_RELEASE_S: f32 = 0.05;
/// A note counts as held while its intonation moves slower than this (a portamento moves
/// 1000 cents/s and more, a held note drifts a few tens)...
const HELD_SLOPE_CENTS_PER_S: f32 = 300.0;
/// ...measured over this many frames (25 ms), so frame-to-frame noise does not break a note.
const SLOPE_SPAN_FRAMES: usize = 5;
/// A delayed vibrato onset lets the vibrato in over this long once the delay has passed: about
/// one cycle, as a singer's vibrato starts. (Fading in over 0.3 s from the note's start, on top
/// of the singer's own later onset, stretched the onset so that sad's ×0.9 extent read ×0.69.)
const DELAYED_ONSET_FADE_S: f32 = 0.15;
/// Presence at which a note's vibrato counts as begun, for its delayed onset.
const BEGUN_PRESENCE: f32 = 0.5;
/// Time constant of the smoothing of the vibrato weight the edits use.
const WEIGHT_SMOOTHING_S: f32 = 0.025;
/// Below this presence the existing vibrato contributes nothing, so its phase may be re-aligned.
const ABSENT_PRESENCE: f32 = 0.05;

/// A vibrato to give held notes that have none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddedVibrato {
    pub rate_hz: f32,
    /// Half peak-to-peak, like [`super::VibratoTrack::extent_cents`].
    pub extent_cents: f32,
    /// Delay from the moment a note is held to the vibrato's start; it then fades in over
    /// [`ADDED_VIBRATO_FADE_IN_S`], so it reaches half its extent `onset_s + 0.15 s` in.
    pub onset_s: f32,
}

/// What to change. [`VibratoEdit::default`] changes nothing: the target is the input contour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VibratoEdit {
    /// Multiplies the extent of the vibrato already there (0 removes it, 3 triples it).
    pub extent_ratio: f32,
    /// When set, the vibrato already there runs at this rate.
    pub rate_hz: Option<f32>,
    /// Added to the rate (the original, or `rate_hz` when set).
    pub rate_shift_hz: f32,
    pub added: Option<AddedVibrato>,
    /// Multiplies jitter: 0 smooths it away, 2 doubles it.
    pub jitter_ratio: f32,
    /// Holds the vibrato already there back for this long after it begins on each held note,
    /// then lets it in over [`DELAYED_ONSET_FADE_S`]: the later onset of sad and tender singing.
    /// Counted from the vibrato's own start, not the note's, so the singer's onset moves later
    /// by this much and keeps its shape.
    pub onset_delay_s: f32,
}

/// Ranges an edit is held to: the 0–300 % extent, rates singers use and a little beyond.
const EXTENT_RATIO_RANGE: (f32, f32) = (0.0, 3.0);
const RATE_RANGE_HZ: (f32, f32) = (2.0, 12.0);
const JITTER_RATIO_RANGE: (f32, f32) = (0.0, 3.0);
const MAX_ADDED_EXTENT_CENTS: f32 = 300.0;
const MAX_ONSET_S: f32 = 10.0;

impl VibratoEdit {
    /// The edit with every value finite and in range; a value no control should produce (NaN,
    /// ±Inf) falls back to the neutral one.
    pub fn sanitized(&self) -> Self {
        let neutral = Self::default();
        let within = |x: f32, fallback: f32, (low, high): (f32, f32)| {
            if x.is_finite() {
                x.clamp(low, high)
            } else {
                fallback
            }
        };
        let rate_span = RATE_RANGE_HZ.1 - RATE_RANGE_HZ.0;
        Self {
            extent_ratio: within(self.extent_ratio, neutral.extent_ratio, EXTENT_RATIO_RANGE),
            rate_hz: self
                .rate_hz
                .filter(|r| r.is_finite())
                .map(|r| r.clamp(RATE_RANGE_HZ.0, RATE_RANGE_HZ.1)),
            rate_shift_hz: within(self.rate_shift_hz, 0.0, (-rate_span, rate_span)),
            added: self
                .added
                .filter(|a| {
                    a.rate_hz.is_finite() && a.extent_cents.is_finite() && a.onset_s.is_finite()
                })
                .map(|a| AddedVibrato {
                    rate_hz: a.rate_hz.clamp(RATE_RANGE_HZ.0, RATE_RANGE_HZ.1),
                    extent_cents: a.extent_cents.clamp(0.0, MAX_ADDED_EXTENT_CENTS),
                    onset_s: a.onset_s.clamp(0.0, MAX_ONSET_S),
                }),
            jitter_ratio: within(self.jitter_ratio, neutral.jitter_ratio, JITTER_RATIO_RANGE),
            onset_delay_s: within(self.onset_delay_s, 0.0, (0.0, MAX_ONSET_S)),
        }
    }
}

impl Default for VibratoEdit {
    fn default() -> Self {
        Self {
            extent_ratio: 1.0,
            rate_hz: None,
            rate_shift_hz: 0.0,
            added: None,
            jitter_ratio: 1.0,
            onset_delay_s: 0.0,
        }
    }
}

/// The vibrato change of the newest frame as two sinusoids (the vibrato taken out, the one put
/// in), so the change can be carried a few frames past the newest decomposed frame: Studio
/// timing cuts grains up to 60 ms ahead of it when vowels are shortened, and holding the change
/// there beat the two vibratos against each other.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VibratoForecast {
    /// The vibrato component as decomposed: `removed_cents · sin(removed_phase_rad)`, moving at
    /// `removed_rate_hz`.
    pub removed_cents: f32,
    pub removed_phase_rad: f32,
    pub removed_rate_hz: f32,
    /// The vibrato that replaces it.
    pub added_cents: f32,
    pub added_phase_rad: f32,
    pub added_rate_hz: f32,
}

impl VibratoForecast {
    /// The change (added − removed), cents, `ahead_s` after the frame.
    pub fn change_cents(&self, ahead_s: f32) -> f32 {
        let at = |amplitude: f32, phase: f32, rate: f32| {
            amplitude * (phase + TAU * rate * ahead_s).sin()
        };
        at(self.added_cents, self.added_phase_rad, self.added_rate_hz)
            - at(
                self.removed_cents,
                self.removed_phase_rad,
                self.removed_rate_hz,
            )
    }
}

/// Applies a [`VibratoEdit`] to a stream of [`ContourFrame`]s. Keeps the phase of every vibrato
/// continuous while its rate changes. Allocation-free.
#[derive(Debug, Clone, Default)]
pub struct ContourEditor {
    /// The vibrato's weight in the decomposition, smoothed.
    weight: f32,
    /// Phase added to the existing vibrato by rate changes so far.
    phase_offset_rad: f32,
    /// Phase of the added vibrato, from 0 (rising through the note's pitch) at its onset.
    added_phase_rad: f32,
    /// Current share of the added vibrato's extent, 0…1 (fading in or out).
    added_level: f32,
    /// Consecutive frames the current note has been held.
    held_frames: u32,
    /// Frames of the current held note that had vibrato (for its delayed onset).
    vibrato_frames: u32,
    /// The last `SLOPE_SPAN_FRAMES` intonation values of the current voiced run, newest last.
    recent_intonation_cents: [f32; SLOPE_SPAN_FRAMES],
    voiced_frames: usize,
    forecast: VibratoForecast,
}

impl ContourEditor {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The newest voiced frame's vibrato change as sinusoids (no change after an unvoiced one).
    /// An added vibrato is not in it: it only starts on notes held for a while.
    pub fn forecast(&self) -> VibratoForecast {
        self.forecast
    }

    /// How long the current note has been held, seconds (0 while gliding or unvoiced).
    pub fn note_held_s(&self) -> f32 {
        self.held_frames as f32 * HOP_S as f32
    }

    /// The target pitch for `frame`, cents above MIDI note 0. Unvoiced frames keep their pitch.
    /// `edit` is [sanitized](VibratoEdit::sanitized) first.
    pub fn target_cents(&mut self, frame: &ContourFrame, edit: &VibratoEdit) -> f32 {
        let edit = edit.sanitized();
        if !frame.pitch.voiced() {
            self.reset();
            return frame.pitch_cents;
        }
        self.follow_note(frame.intonation_cents);

        let vibrato = &frame.vibrato;
        let presence = vibrato.presence_probability;
        let rate_edited = edit.rate_hz.is_some() || edit.rate_shift_hz != 0.0;
        let target_rate_hz = if rate_edited {
            (edit.rate_hz.unwrap_or(vibrato.rate_hz) + edit.rate_shift_hz)
                .clamp(RATE_RANGE_HZ.0, RATE_RANGE_HZ.1)
        } else {
            vibrato.rate_hz
        };
        if presence < ABSENT_PRESENCE {
            self.phase_offset_rad = 0.0;
        } else {
            // Running the phase at the target rate instead of the measured one.
            self.phase_offset_rad = (self.phase_offset_rad
                + TAU * (target_rate_hz - vibrato.rate_hz) * HOP_S as f32)
                % TAU;
        }
        // The decomposition's weight, smoothed: where a vibrato ends, its weight can fall within a
        // few frames, and the re-timed part below must not jump with it.
        let a = (-(HOP_S as f32) / WEIGHT_SMOOTHING_S).exp();
        self.weight = a * self.weight + (1.0 - a) * vibrato_weight(presence);
        let weight = self.weight;
        // The vibrato component, re-timed by the phase the rate change has added so far. The
        // component is exactly `w · extent · sin(phase)` with the decomposition's own weight `w`,
        // so re-timing with that same weight replaces it exactly; the smoothed weight here left
        // a remainder at the old rate that beat against the new one (measured: a −1 Hz change
        // read as ×1.27 extent and only −0.71 Hz).
        let retimed = vibrato_weight(presence)
            * vibrato.extent_cents
            * (vibrato.phase_rad + self.phase_offset_rad).sin();
        if self.held_frames == 0 {
            self.vibrato_frames = 0;
        } else if presence >= BEGUN_PRESENCE {
            self.vibrato_frames += 1;
        }
        let kept = edit.extent_ratio * self.onset_gate(edit.onset_delay_s);
        let existing = kept * retimed;
        let weighted_extent = vibrato_weight(presence) * vibrato.extent_cents;
        self.forecast = VibratoForecast {
            removed_cents: weighted_extent,
            removed_phase_rad: vibrato.phase_rad,
            removed_rate_hz: vibrato.rate_hz,
            added_cents: kept * weighted_extent,
            added_phase_rad: vibrato.phase_rad + self.phase_offset_rad,
            added_rate_hz: target_rate_hz,
        };

        let added = match edit.added {
            Some(add) => (1.0 - weight) * add.extent_cents * self.advance_added(&add),
            None => 0.0,
        };
        frame.intonation_cents + edit.jitter_ratio * frame.jitter_cents + existing + added
    }

    /// Updates the held-note clock from the intonation's recent slope.
    fn follow_note(&mut self, intonation_cents: f32) {
        let span = self.voiced_frames.min(SLOPE_SPAN_FRAMES - 1);
        self.recent_intonation_cents.rotate_left(1);
        self.recent_intonation_cents[SLOPE_SPAN_FRAMES - 1] = intonation_cents;
        self.voiced_frames += 1;
        let oldest = self.recent_intonation_cents[SLOPE_SPAN_FRAMES - 1 - span];
        let slope_cents_per_s = if span == 0 {
            0.0
        } else {
            (intonation_cents - oldest).abs() / (span as f32 * HOP_S as f32)
        };
        if slope_cents_per_s < HELD_SLOPE_CENTS_PER_S {
            self.held_frames += 1;
        } else {
            self.held_frames = 0;
        }
    }

    /// 0 until the note's vibrato has lasted `onset_delay_s`, then rising smoothly to 1 over
    /// [`DELAYED_ONSET_FADE_S`]; always 1 without a delay.
    fn onset_gate(&self, onset_delay_s: f32) -> f32 {
        if onset_delay_s <= 0.0 {
            return 1.0;
        }
        let vibrato_s = self.vibrato_frames as f32 * HOP_S as f32;
        let x = ((vibrato_s - onset_delay_s) / DELAYED_ONSET_FADE_S).clamp(0.0, 1.0);
        x * x * (3.0 - 2.0 * x)
    }

    /// Advances the added vibrato by one frame; returns its value for an extent of 1.
    fn advance_added(&mut self, add: &AddedVibrato) -> f32 {
        let since_onset_s = self.note_held_s() - add.onset_s.max(0.0);
        let hop_s = HOP_S as f32;
        if since_onset_s <= 0.0 {
            // Not started on this note yet: fade out what a previous note left, then start the
            // next vibrato from its rising zero crossing.
            self.added_level = (self.added_level - hop_s / ADDED_VIBRATO_RELEASE_S).max(0.0);
            if self.added_level == 0.0 {
                self.added_phase_rad = 0.0;
            }
        } else {
            self.added_level = (since_onset_s / ADDED_VIBRATO_FADE_IN_S)
                .min(1.0)
                .max(self.added_level.min(1.0));
        }
        let value = self.added_level * self.added_phase_rad.sin();
        self.added_phase_rad = (self.added_phase_rad + TAU * add.rate_hz * hop_s) % TAU;
        value
    }
}
