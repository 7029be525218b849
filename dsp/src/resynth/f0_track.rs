//! The tracker's decisions, frame by frame, as the resynthesiser reads them between frames.

/// Frames quieter than this (mean square, dBFS) are silence: a pause, not a consonant.
const SILENCE_DB: f32 = -50.0;

/// The F0 the tracker decided per 5 ms frame, as the marks and the grains need it, and whether
/// the frame was silent, which the elastic timing needs.
pub struct F0Track {
    /// `f0_hz` of frame `k` at `k % len`; 0 = unvoiced.
    f0_hz: Vec<f32>,
    /// Frame `k` quieter than [`SILENCE_DB`], at `k % len`.
    silent: Vec<bool>,
    /// Newest frame pushed, if any since the reset.
    latest: Option<u64>,
    /// The trend of the last [`TREND_FRAMES`] in cents per frame, `None` if the newest frame is
    /// unvoiced; kept at each push, since Live mode extrapolates every sample.
    trend: Option<f64>,
    hop_samples: f64,
    sample_rate_hz: f64,
}

impl F0Track {
    /// Keeps `frames` frames; must cover the span from the output point to the newest decided
    /// frame (the Studio look-ahead) plus a margin. Allocates.
    pub fn new(frames: usize, hop_samples: f64, sample_rate_hz: f64) -> Self {
        Self {
            f0_hz: vec![0.0; frames.max(1)],
            silent: vec![true; frames.max(1)],
            latest: None,
            trend: None,
            hop_samples,
            sample_rate_hz,
        }
    }

    pub fn reset(&mut self) {
        self.f0_hz.fill(0.0);
        self.silent.fill(true);
        self.latest = None;
        self.trend = None;
    }

    pub fn push(&mut self, index: u64, f0_hz: f32, energy_db: f32) {
        let len = self.f0_hz.len() as u64;
        // NaN energy (never produced, but cheap to guard) counts as silence.
        self.silent[(index % len) as usize] = energy_db.is_nan() || energy_db < SILENCE_DB;
        self.f0_hz[(index % len) as usize] = if f0_hz.is_finite() {
            f0_hz.max(0.0)
        } else {
            0.0
        };
        self.latest = Some(index);
        self.trend = self.trend_at(index);
    }

    /// The trend behind the newest frame (see `trend`).
    fn trend_at(&self, latest: u64) -> Option<f64> {
        let newest = self.f0(latest);
        if newest <= 0.0 {
            return None;
        }
        let newest_cents = 1200.0 * (newest as f64).log2();
        let mut cents_per_frame = 0.0;
        if latest >= TREND_FRAMES as u64 && self.f0_hz.len() > TREND_FRAMES {
            let oldest = self.f0(latest - TREND_FRAMES as u64);
            if (0..TREND_FRAMES as u64).all(|k| self.f0(latest - k) > 0.0) && oldest > 0.0 {
                cents_per_frame =
                    (newest_cents - 1200.0 * (oldest as f64).log2()) / TREND_FRAMES as f64;
            }
        }
        Some(cents_per_frame)
    }

    /// Period in samples at input `position`, or `None` if unvoiced there. F0 is interpolated
    /// linearly between frames (a 5 ms staircase would put a vibrato's slope × 2.5 ms of error
    /// into every grain) and extrapolated past the newest; frames older than the track read as
    /// unvoiced.
    pub fn period_at(&self, position: f64) -> Option<f64> {
        let latest = self.latest?;
        let frame_at = (position / self.hop_samples).max(0.0);
        if frame_at > latest as f64 {
            return self.extrapolated_period(frame_at, latest);
        }
        let before = frame_at.floor() as u64;
        let after = (before + 1).min(latest);
        let len = self.f0_hz.len() as u64;
        if latest - before >= len {
            return None;
        }
        let (f0_before, f0_after) = (self.f0(before), self.f0(after));
        let t = frame_at - before as f64;
        let nearest = if t <= 0.5 { f0_before } else { f0_after };
        if nearest <= 0.0 {
            return None;
        }
        let f0 = if f0_before > 0.0 && f0_after > 0.0 {
            f0_before as f64 + t * (f0_after as f64 - f0_before as f64)
        } else {
            nearest as f64
        };
        Some(self.sample_rate_hz / f0)
    }

    /// Whether input `position` is voiced: `period_at(position).is_some()` without computing
    /// the period (the resynthesiser asks every sample).
    pub fn voiced_at(&self, position: f64) -> bool {
        let Some(latest) = self.latest else {
            return false;
        };
        let frame_at = (position / self.hop_samples).max(0.0);
        if frame_at > latest as f64 {
            return self.trend.is_some();
        }
        let before = frame_at.floor() as u64;
        if latest - before >= self.f0_hz.len() as u64 {
            return false;
        }
        let nearest = if frame_at - before as f64 <= 0.5 {
            before
        } else {
            (before + 1).min(latest)
        };
        self.f0(nearest) > 0.0
    }

    /// Whether any decided frame after input `position` is voiced: in Studio mode the frames run
    /// 100 ms ahead of the output, so this sees the next vowel coming.
    pub fn voiced_after(&self, position: f64) -> bool {
        let Some(latest) = self.latest else {
            return false;
        };
        let first = ((position / self.hop_samples).max(0.0).ceil() as u64)
            .max(latest.saturating_sub(self.f0_hz.len() as u64 - 1));
        (first..=latest).any(|frame| self.f0(frame) > 0.0)
    }

    /// Whether the frame at input `position` was silent (frames not yet decided count as
    /// sounding: nothing is skipped on a guess).
    pub fn silent_at(&self, position: f64) -> bool {
        let Some(latest) = self.latest else {
            return false;
        };
        let frame = (position / self.hop_samples).round().max(0.0) as u64;
        let len = self.f0_hz.len() as u64;
        frame <= latest && latest - frame < len && self.silent[(frame % len) as usize]
    }

    fn f0(&self, frame: u64) -> f32 {
        self.f0_hz[(frame % self.f0_hz.len() as u64) as usize]
    }

    /// Beyond the newest frame (Live mode renders right at the analysis edge): the trend of the
    /// last [`TREND_FRAMES`] voiced frames carried on, at most [`MAX_EXTRAPOLATION_CENTS`] away
    /// from the newest value, so a vibrato is followed instead of lagged by the look-ahead.
    fn extrapolated_period(&self, frame_at: f64, latest: u64) -> Option<f64> {
        let cents_per_frame = self.trend?;
        let ahead = (cents_per_frame * (frame_at - latest as f64))
            .clamp(-MAX_EXTRAPOLATION_CENTS, MAX_EXTRAPOLATION_CENTS);
        let newest_f0 = self.f0(latest) as f64;
        Some(self.sample_rate_hz / (newest_f0 * exp2_small(ahead / 1200.0)))
    }
}

/// 2^x for |x| ≤ 0.05 (a 60-cent extrapolation) by its Taylor series to the fourth order: a
/// relative error below 1e-9 (the test checks it) for far less than `powf`, which Live mode
/// would otherwise call every sample.
fn exp2_small(x: f64) -> f64 {
    let y = x * std::f64::consts::LN_2;
    1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0))))
}

/// Frames whose slope is carried past the newest frame: 10 ms, a sixth of a 6 Hz vibrato cycle.
const TREND_FRAMES: usize = 2;

/// Furthest the extrapolation may move away from the newest F0: about a vibrato's extent.
const MAX_EXTRAPOLATION_CENTS: f64 = 60.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_small_matches_powf_over_the_extrapolation_range() {
        for cents in -60..=60 {
            let x = cents as f64 / 1200.0;
            let exact = 2f64.powf(x);
            assert!((exp2_small(x) / exact - 1.0).abs() < 1e-9, "{cents} cents");
        }
    }

    #[test]
    fn voiced_at_agrees_with_period_at_everywhere() {
        let mut track = F0Track::new(64, 240.0, 48_000.0);
        let f0s = [0.0, 220.0, 0.0, 0.0, 230.0, 240.0, 250.0, 0.0, 200.0, 210.0];
        for (index, f0) in f0s.iter().enumerate() {
            track.push(index as u64, *f0, -20.0);
            for step in 0..(240 * (index + 3)) {
                let position = step as f64 * 0.5;
                assert_eq!(
                    track.voiced_at(position),
                    track.period_at(position).is_some(),
                    "frame {index}, position {position}"
                );
            }
        }
    }
}
