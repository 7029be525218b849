//! Pitch changes decided per analysis frame (the emotion transform's), read where each grain is
//! cut from rather than where it is laid: when vowel timing moves the output off its nominal
//! delay, a change computed for one moment of a vibrato must still meet that moment's cycle,
//! or the two vibratos' phases beat (a 6 Hz vibrato is 40 ms out of phase after a 40 ms lag;
//! measured: ×2 extent where ×1.2 was asked).

use crate::pitch::HOP_S;
use crate::vibrato::VibratoForecast;

/// Changes smaller than this are no change (the resynthesiser may idle).
const SILENT_SHIFT_ST: f32 = 1e-4;

/// Furthest a vibrato change is carried past the newest frame: the Studio timing's reach ahead.
const MAX_FORECAST_S: f64 = 0.08;

pub struct ShiftTrack {
    /// Shift of frame `k`, semitones, at `k % len`.
    shift_st: Vec<f32>,
    latest: Option<u64>,
    /// Newest frame with a shift that is not silent.
    last_shifted: Option<u64>,
    /// How many frames behind the newest a grain may still be cut from: a shift older than
    /// that can no longer be heard, and the resynthesiser may go idle.
    reach_frames: u64,
    /// The newest frame's vibrato change, carried on past it.
    forecast: VibratoForecast,
    hop_samples: f64,
}

impl ShiftTrack {
    /// Keeps `frames` frames: enough for the output's furthest lag behind the newest frame,
    /// which is `reach_frames`. Allocates.
    pub fn new(frames: usize, reach_frames: usize, hop_samples: f64) -> Self {
        Self {
            reach_frames: reach_frames as u64,
            shift_st: vec![0.0; frames.max(2)],
            latest: None,
            last_shifted: None,
            forecast: VibratoForecast::default(),
            hop_samples,
        }
    }

    pub fn reset(&mut self) {
        self.shift_st.fill(0.0);
        self.latest = None;
        self.last_shifted = None;
        self.forecast = VibratoForecast::default();
    }

    pub fn push(&mut self, index: u64, shift_st: f32, vibrato: &VibratoForecast) {
        self.forecast = if [
            vibrato.removed_cents,
            vibrato.removed_phase_rad,
            vibrato.removed_rate_hz,
            vibrato.added_cents,
            vibrato.added_phase_rad,
            vibrato.added_rate_hz,
        ]
        .iter()
        .all(|x| x.is_finite())
        {
            *vibrato
        } else {
            VibratoForecast::default()
        };
        let shift_st = if shift_st.is_finite() { shift_st } else { 0.0 };
        let len = self.shift_st.len() as u64;
        // Frames skipped since the last push (never by the engine) hold the last value.
        if let Some(latest) = self.latest {
            let held = self.value(latest);
            for frame in (latest + 1..index).rev().take(len as usize) {
                self.shift_st[(frame % len) as usize] = held;
            }
        }
        self.shift_st[(index % len) as usize] = shift_st;
        self.latest = Some(index);
        if shift_st.abs() > SILENT_SHIFT_ST {
            self.last_shifted = Some(index);
        }
    }

    /// Whether any frame a grain may still be cut from asks for a change.
    pub fn is_shifting(&self) -> bool {
        match (self.latest, self.last_shifted) {
            (Some(latest), Some(shifted)) => latest - shifted <= self.reach_frames,
            _ => false,
        }
    }

    /// The shift at input `position`, interpolated between frames; past the newest frame its
    /// smooth part is held and its vibrato part carried on (at most [`MAX_FORECAST_S`]), before
    /// the oldest kept frame the oldest one's value.
    pub fn at(&self, position: f64) -> f32 {
        let Some(latest) = self.latest else {
            return 0.0;
        };
        let past_newest_s = (position / self.hop_samples - latest as f64) * HOP_S;
        if past_newest_s > 0.0 {
            let ahead_s = past_newest_s.min(MAX_FORECAST_S) as f32;
            let vibrato_cents =
                self.forecast.change_cents(ahead_s) - self.forecast.change_cents(0.0);
            return self.value(latest) + vibrato_cents / 100.0;
        }
        let oldest = latest.saturating_sub(self.shift_st.len() as u64 - 1);
        let frame_at = (position / self.hop_samples).clamp(oldest as f64, latest as f64);
        let before = frame_at.floor() as u64;
        let after = (before + 1).min(latest);
        let t = (frame_at - before as f64) as f32;
        let (a, b) = (self.value(before), self.value(after));
        a + t * (b - a)
    }

    fn value(&self, frame: u64) -> f32 {
        self.shift_st[(frame % self.shift_st.len() as u64) as usize]
    }
}
