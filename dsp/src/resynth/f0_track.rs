//! The tracker's decisions, frame by frame, as the resynthesiser reads them between frames.

use std::cell::Cell;

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
    /// unvoiced; kept at each push, since Live mode extrapolates for every grain.
    trend: Option<f64>,
    /// The input's vibrato at the newest frame, when the decomposition has it that early (Live
    /// mode): carried ahead as a sinusoid on top of the trend.
    vibrato: Option<VibratoAhead>,
    /// The last `period_at` asked and its answer: the resynthesiser asks for the same position
    /// (the next grain's) every sample until the grain is laid; cleared by every push. Live
    /// mode, where that position lies past the newest frame and is extrapolated, went from
    /// 8.0–8.5 to 7.2–7.4 ms per second of audio (`profile_engine live 10`, alternating builds).
    last_period: Cell<(f64, Option<f64>)>,
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
            vibrato: None,
            last_period: Cell::new(NO_PERIOD_ASKED),
            hop_samples,
            sample_rate_hz,
        }
    }

    pub fn reset(&mut self) {
        self.f0_hz.fill(0.0);
        self.silent.fill(true);
        self.latest = None;
        self.trend = None;
        self.vibrato = None;
        self.last_period.set(NO_PERIOD_ASKED);
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
        self.last_period.set(NO_PERIOD_ASKED);
    }

    /// The input's vibrato at frame `index` (extent, phase and rate as decomposed, extent
    /// already weighted by how sure the decomposition is that this is vibrato). Used past the
    /// newest frame only while `index` is the newest frame.
    pub fn push_vibrato(&mut self, index: u64, extent_cents: f32, phase_rad: f32, rate_hz: f32) {
        let radians_per_frame =
            std::f64::consts::TAU * rate_hz as f64 * self.hop_samples / self.sample_rate_hz;
        self.last_period.set(NO_PERIOD_ASKED);
        let extent = (extent_cents as f64).clamp(0.0, MAX_VIBRATO_EXTENT_CENTS);
        let phase = phase_rad as f64;
        let back = phase - radians_per_frame * TREND_FRAMES as f64;
        self.vibrato =
            (extent > 0.0 && radians_per_frame.is_finite() && phase.is_finite()).then(|| {
                VibratoAhead {
                    index,
                    extent_cents: extent,
                    sin_phase: phase.sin(),
                    cos_phase: phase.cos(),
                    radians_per_frame,
                    cents_per_frame: extent * (phase.sin() - back.sin()) / TREND_FRAMES as f64,
                }
            });
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
        let (asked, answer) = self.last_period.get();
        if asked == position {
            return answer;
        }
        let answer = self.compute_period_at(position);
        self.last_period.set((position, answer));
        answer
    }

    fn compute_period_at(&self, position: f64) -> Option<f64> {
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

    /// The F0 decided for `frame`, if it is voiced and still in the track.
    fn decided_f0_hz(&self, frame: u64) -> Option<f32> {
        let latest = self.latest?;
        (frame <= latest && latest - frame < self.f0_hz.len() as u64)
            .then(|| self.f0(frame))
            .filter(|f0| *f0 > 0.0)
    }

    /// The F0 at `frame`: as decided, or past the newest decided frame (Live mode) as
    /// extrapolated there; `None` where unvoiced or out of the track.
    pub fn frame_f0_or_extrapolated_hz(&self, frame: u64) -> Option<f64> {
        match self.latest {
            Some(latest) if frame > latest => self
                .period_at(frame as f64 * self.hop_samples)
                .map(|period| self.sample_rate_hz / period),
            _ => self.decided_f0_hz(frame).map(f64::from),
        }
    }

    fn f0(&self, frame: u64) -> f32 {
        self.f0_hz[(frame % self.f0_hz.len() as u64) as usize]
    }

    /// Beyond the newest frame (Live mode renders right at the analysis edge): the trend of the
    /// last [`TREND_FRAMES`] voiced frames carried on, at most [`MAX_EXTRAPOLATION_CENTS`] away
    /// from the newest value, so a vibrato is followed instead of lagged by the look-ahead.
    /// Where the newest frame's vibrato is known, the trend is its intonation's and the vibrato
    /// goes on as the sinusoid it is: a straight line overshoots every vibrato peak (generated
    /// singing, Live track, error against Studio's track 10 ms ahead: p95 23.9 cents from the
    /// line, 15.5 from line plus sinusoid).
    fn extrapolated_period(&self, frame_at: f64, latest: u64) -> Option<f64> {
        let cents_per_frame = self.trend?;
        let frames_ahead = frame_at - latest as f64;
        let (cents_per_frame, vibrato_cents) = match self.vibrato.filter(|v| v.index == latest) {
            Some(vibrato) => (
                cents_per_frame - vibrato.cents_per_frame,
                vibrato.change_cents(frames_ahead),
            ),
            None => (cents_per_frame, 0.0),
        };
        let ahead = (cents_per_frame * frames_ahead)
            .clamp(-MAX_EXTRAPOLATION_CENTS, MAX_EXTRAPOLATION_CENTS)
            + vibrato_cents;
        let newest_f0 = self.f0(latest) as f64;
        Some(self.sample_rate_hz / (newest_f0 * exp2_small(ahead / 1200.0)))
    }
}

/// 2^x for |x| ≤ 0.4 (the extrapolation's 60 cents plus a vibrato's full swing, 400 cents at
/// most) by its Taylor series to the fifth order: a relative error below 3e-6, 0.005 cents (the
/// test checks it), for far less than `powf`, which Live mode would otherwise call for every
/// grain and mark.
fn exp2_small(x: f64) -> f64 {
    let y = x * std::f64::consts::LN_2;
    1.0 + y * (1.0 + y * (0.5 + y * (1.0 / 6.0 + y * (1.0 / 24.0 + y * (1.0 / 120.0)))))
}

/// The newest frame's vibrato, ready to be carried ahead without a `sin` per grain.
#[derive(Debug, Clone, Copy)]
struct VibratoAhead {
    index: u64,
    extent_cents: f64,
    sin_phase: f64,
    cos_phase: f64,
    radians_per_frame: f64,
    /// Its slope over the trend's frames, cents per frame: the part of the trend it explains.
    cents_per_frame: f64,
}

impl VibratoAhead {
    /// How far the vibrato moves, cents, `frames_ahead` after its frame (at most a quarter
    /// cycle ahead: further out, a rate or extent change is as likely as the sinusoid).
    fn change_cents(&self, frames_ahead: f64) -> f64 {
        let x = (self.radians_per_frame * frames_ahead).clamp(0.0, std::f64::consts::FRAC_PI_2);
        // sin(φ + x) − sin φ, by angle addition with sin x and cos x to the x⁹ and x⁸ terms
        // (error below 2e-4 of the extent over 0..π/2).
        let x2 = x * x;
        let term = |k: f64| x2 * (1.0 / k);
        let sin_x =
            x * (1.0 - term(6.0) * (1.0 - term(20.0) * (1.0 - term(42.0) * (1.0 - term(72.0)))));
        let cos_x = 1.0 - term(2.0) * (1.0 - term(12.0) * (1.0 - term(30.0) * (1.0 - term(56.0))));
        self.extent_cents * (self.sin_phase * (cos_x - 1.0) + self.cos_phase * sin_x)
    }
}

/// `last_period` before anything is asked: NaN equals no position.
const NO_PERIOD_ASKED: (f64, Option<f64>) = (f64::NAN, None);

/// Frames whose slope is carried past the newest frame: 10 ms, a sixth of a 6 Hz vibrato cycle.
const TREND_FRAMES: usize = 2;

/// Furthest the trend may carry the extrapolation away from the newest F0: about a vibrato's
/// extent.
const MAX_EXTRAPOLATION_CENTS: f64 = 60.0;

/// Widest vibrato carried ahead: beyond the widest a singer uses (150 cents), a decomposition
/// error.
const MAX_VIBRATO_EXTENT_CENTS: f64 = 170.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp2_small_matches_powf_over_the_extrapolation_range() {
        for cents in -400..=400 {
            let x = cents as f64 / 1200.0;
            let exact = 2f64.powf(x);
            assert!((exp2_small(x) / exact - 1.0).abs() < 3e-6, "{cents} cents");
        }
    }

    #[test]
    fn a_known_vibrato_is_carried_past_the_newest_frame() {
        // 220 Hz with a 5.5 Hz, 80-cent vibrato; at every frame, the F0 15 ms past it as the
        // line alone and as line plus sinusoid would have it.
        let (rate_hz, hop_s, extent_cents, vibrato_hz) = (48_000.0, 0.005, 80.0, 5.5);
        let cents_at = |t: f64| extent_cents * (std::f64::consts::TAU * vibrato_hz * t).sin();
        let mut line = F0Track::new(64, hop_s * rate_hz, rate_hz);
        let mut with_vibrato = F0Track::new(64, hop_s * rate_hz, rate_hz);
        let (mut worst_line, mut worst_vibrato) = (0.0f64, 0.0f64);
        for index in 0..200u64 {
            let t = index as f64 * hop_s;
            let f0_hz = (220.0 * 2f64.powf(cents_at(t) / 1200.0)) as f32;
            line.push(index, f0_hz, -20.0);
            with_vibrato.push(index, f0_hz, -20.0);
            let phase = (std::f64::consts::TAU * vibrato_hz * t).rem_euclid(std::f64::consts::TAU);
            with_vibrato.push_vibrato(index, extent_cents as f32, phase as f32, vibrato_hz as f32);
            if index < 10 {
                continue;
            }
            let ahead = (index + 3) as f64 * hop_s * rate_hz;
            let expected = cents_at(t + 3.0 * hop_s);
            let error = |track: &F0Track| {
                let f0 = rate_hz / track.period_at(ahead).unwrap();
                (1200.0 * (f0 / 220.0).log2() - expected).abs()
            };
            worst_line = worst_line.max(error(&line));
            worst_vibrato = worst_vibrato.max(error(&with_vibrato));
        }
        // The line overshoots every peak (by 17.6 cents here); the sinusoid lands within a cent.
        assert!(worst_line > 15.0, "line alone: {worst_line:.1} cents");
        assert!(
            worst_vibrato < 1.0,
            "with the vibrato: {worst_vibrato:.2} cents"
        );
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
