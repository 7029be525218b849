//! Pitch marks: one position per glottal period of the input, placed as the input streams in.
//!
//! TD-PSOLA cuts one grain per mark and moves the grains to the target period, so the marks must
//! sit at the same point of every cycle (else the moved grains carry the misplacement as jitter)
//! and, for downward shifts, near the cycle's main excitation: a two-period grain centred between
//! two excitations carries both at half weight, and spreading such grains apart puts the
//! original period back into the output.

use super::f0_track::F0Track;
use super::history::SignalHistory;
use crate::lanes::dot;

/// Spacing of marks (and grains) in unvoiced stretches: short enough that a fricative's
/// envelope is followed, long enough to cost little.
pub const UNVOICED_SPACING_S: f64 = 0.004;

/// A mark is searched within this share of a period around where the previous mark and the
/// period predict it: wide enough to follow vibrato and tracker error (a 20 % window allows
/// ±3 semitones of error), narrow enough that a formant peak of the neighbouring cycle is not
/// taken instead.
const SEARCH_SHARE: f64 = 0.2;

/// Marks kept: enough for the grains around the output point at the highest pitch (1 kHz)
/// across the longest look-ahead the marks run ahead.
const MARK_CAPACITY: usize = 256;

/// One analysis mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchMark {
    /// Absolute input position, in samples since the reset.
    pub position: f64,
    /// Local period in samples (the spacing a grain cut here is made for).
    pub period_samples: f64,
    pub voiced: bool,
}

/// Streams analysis marks ahead of the output point, as far as input and F0 allow.
pub struct PitchMarks {
    /// Ring of the newest [`MARK_CAPACITY`] marks; mark `i` at `i % MARK_CAPACITY`.
    ring: Vec<PitchMark>,
    /// Marks placed since the reset.
    count: u64,
    unvoiced_spacing_samples: f64,
    /// Longest stretch either side of a mark compared with the previous cycle (2.5 ms): enough
    /// to hold a glottal pulse and its first formant ringing, short enough to stay cheap for
    /// low voices.
    max_half_span_samples: f64,
    /// Scratch for the cycle comparison, sized in `new` for the longest period: the previous
    /// cycle around its mark, the stretch searched, its running energy, and a score per lag.
    reference: Vec<f32>,
    region: Vec<f32>,
    region_energy: Vec<f64>,
    scores: Vec<f32>,
}

impl PitchMarks {
    /// Marks for input at `sample_rate_hz` with periods up to `longest_period_samples`. Allocates.
    pub fn new(sample_rate_hz: f64, longest_period_samples: f64) -> Self {
        let max_half_span = (0.0025 * sample_rate_hz).floor();
        let max_lags = (2.0 * SEARCH_SHARE * longest_period_samples).ceil() as usize + 3;
        let max_span = 2 * max_half_span as usize + 1;
        Self {
            ring: vec![
                PitchMark {
                    position: 0.0,
                    period_samples: 1.0,
                    voiced: false,
                };
                MARK_CAPACITY
            ],
            count: 0,
            unvoiced_spacing_samples: UNVOICED_SPACING_S * sample_rate_hz,
            max_half_span_samples: max_half_span,
            reference: vec![0.0; max_span],
            region: vec![0.0; max_lags + max_span],
            region_energy: vec![0.0; max_lags + max_span + 1],
            scores: vec![0.0; max_lags],
        }
    }

    pub fn reset(&mut self) {
        self.count = 0;
    }

    fn last(&self) -> Option<&PitchMark> {
        self.count
            .checked_sub(1)
            .map(|i| &self.ring[(i % MARK_CAPACITY as u64) as usize])
    }

    /// Places marks until one lies beyond `position`. Marks are refined on the input where it
    /// has arrived; a mark whose search window reaches past the newest input is placed at its
    /// predicted position instead (never waiting), which keeps the spacing right.
    pub fn extend_beyond(&mut self, position: f64, input: &SignalHistory, f0: &F0Track) {
        if self.count == 0 {
            self.append(PitchMark {
                position: position.floor() - self.unvoiced_spacing_samples,
                period_samples: self.unvoiced_spacing_samples,
                voiced: false,
            });
        }
        while let Some(&last) = self.last() {
            if last.position > position {
                break;
            }
            let next = self.next_mark(&last, input, f0);
            self.append(next);
        }
    }

    /// Places further voiced marks, up to one beyond `position`, as long as each can be refined on
    /// input that has arrived: the cycles measured ahead tell the coming period better than the
    /// tracker's F0 (smoothed, and extrapolated past its newest frame in Live mode).
    pub fn extend_while_measurable(&mut self, position: f64, input: &SignalHistory, f0: &F0Track) {
        let newest = input.written() as f64 - 1.0;
        while let Some(&last) = self.last() {
            if !last.voiced || last.position > position {
                return;
            }
            let Some(period) = period_after(&last, f0) else {
                return;
            };
            let reach = SEARCH_SHARE * period;
            let half_span = (0.5 * period).min(self.max_half_span_samples).floor();
            if last.position + period + reach + half_span + 2.0 > newest {
                return;
            }
            let next = self.next_mark(&last, input, f0);
            self.append(next);
        }
    }

    fn append(&mut self, mark: PitchMark) {
        self.ring[(self.count % MARK_CAPACITY as u64) as usize] = mark;
        self.count += 1;
    }

    fn next_mark(&mut self, last: &PitchMark, input: &SignalHistory, f0: &F0Track) -> PitchMark {
        let newest = input.written() as f64 - 1.0;
        let Some(period) = period_after(last, f0) else {
            return PitchMark {
                position: last.position + self.unvoiced_spacing_samples,
                period_samples: self.unvoiced_spacing_samples,
                voiced: false,
            };
        };
        if !last.voiced {
            // A voiced run starts: its first mark goes on the strongest peak of the next period,
            // the cycle's main excitation; the run's later marks follow it cycle by cycle.
            let (start, end) = (last.position + 1.0, last.position + period);
            let position = if end + 1.0 <= newest {
                peak_position(start, end, |n| input.at(n).abs())
            } else {
                last.position + 0.5 * period
            };
            return PitchMark {
                position,
                period_samples: period,
                voiced: true,
            };
        }
        let predicted = last.position + period;
        let reach = SEARCH_SHARE * period;
        let half_span = (0.5 * period).min(self.max_half_span_samples).floor();
        let anchor = last.position.round();
        let first_lag = (predicted - reach - anchor).ceil() as i64;
        let lags = ((predicted + reach - anchor).floor() as i64 - first_lag + 1).max(1) as usize;
        let fits = lags <= self.scores.len();
        let position = if fits && predicted + reach + half_span + 2.0 <= newest {
            // The offset at which this cycle best matches the previous one: marks then sit on the
            // same point of every cycle even where two peaks of a cycle are nearly equal (a peak
            // picker hops between them, and each hop is a jolt in the shifted pitch).
            anchor
                + self.best_match_lag(input, anchor as i64, half_span as usize, first_lag, lags)
                + (last.position - anchor)
        } else {
            predicted
        };
        PitchMark {
            position,
            period_samples: position - last.position,
            voiced: true,
        }
    }

    /// The lag (from `first_lag`, `lags` of them, refined between samples) at which the input
    /// around `anchor + lag` best matches the input around `anchor`, ±`half_span` samples, by
    /// cross-correlation over the candidate's energy.
    fn best_match_lag(
        &mut self,
        input: &SignalHistory,
        anchor: i64,
        half_span: usize,
        first_lag: i64,
        lags: usize,
    ) -> f64 {
        let span = 2 * half_span + 1;
        let reference = &mut self.reference[..span];
        input.copy_into(anchor - half_span as i64, reference);
        let region = &mut self.region[..lags + span - 1];
        input.copy_into(anchor + first_lag - half_span as i64, region);
        let energy = &mut self.region_energy[..=region.len()];
        energy[0] = 0.0;
        for (i, x) in region.iter().enumerate() {
            energy[i + 1] = energy[i] + (*x as f64) * (*x as f64);
        }
        let scores = &mut self.scores[..lags];
        for (lag, score) in scores.iter_mut().enumerate() {
            let candidate_energy = energy[lag + span] - energy[lag];
            *score =
                dot(reference, &region[lag..lag + span]) / (candidate_energy + 1e-12).sqrt() as f32;
        }
        let best = (0..lags)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap_or(0);
        let offset = if best > 0 && best + 1 < lags {
            parabolic_vertex(scores[best - 1], scores[best], scores[best + 1])
        } else {
            0.0
        };
        (first_lag + best as i64) as f64 + offset
    }

    /// The spacing of the two voiced marks around `position` (past the newest mark, its spacing
    /// from the one before): the period the input actually had there, as the cycle matching
    /// measured it.
    pub fn spacing_around(&self, position: f64) -> Option<f64> {
        let kept = self.count.min(MARK_CAPACITY as u64);
        let mut later: Option<PitchMark> = None;
        for i in (self.count - kept..self.count).rev() {
            let mark = self.ring[(i % MARK_CAPACITY as u64) as usize];
            if mark.position <= position {
                // Past the newest mark, the newest spacing is the latest measure there is.
                let next = later.unwrap_or(mark);
                let spacing = if later.is_some() {
                    next.position - mark.position
                } else {
                    mark.period_samples
                };
                return (next.voiced && mark.voiced).then_some(spacing);
            }
            later = Some(mark);
        }
        None
    }

    /// The mark nearest to `position`, if any has been placed.
    pub fn nearest(&self, position: f64) -> Option<PitchMark> {
        let kept = self.count.min(MARK_CAPACITY as u64);
        (self.count - kept..self.count)
            .map(|i| self.ring[(i % MARK_CAPACITY as u64) as usize])
            .min_by(|a, b| {
                (a.position - position)
                    .abs()
                    .total_cmp(&(b.position - position).abs())
            })
    }
}

/// Position of the sample in `[start, end]` that maximises `score`, refined between samples by
/// the parabola through it and its neighbours.
fn peak_position(start: f64, end: f64, score: impl Fn(i64) -> f32) -> f64 {
    let (first, last) = (start.ceil() as i64, end.floor() as i64);
    let mut best = (first, f32::NEG_INFINITY);
    for n in first..=last {
        let s = score(n);
        if s > best.1 {
            best = (n, s);
        }
    }
    let n = best.0;
    n as f64 + parabolic_vertex(score(n - 1), score(n), score(n + 1))
}

/// The tracker's period between `last` and the mark after it, read half-way between them; `None`
/// where the voice stops.
fn period_after(last: &PitchMark, f0: &F0Track) -> Option<f64> {
    f0.period_at(last.position + 0.5 * last.period_samples)
        .and_then(|guess| f0.period_at(last.position + 0.5 * guess))
}

/// Offset (−0.5..0.5) of the vertex of the parabola through three equally spaced values.
fn parabolic_vertex(left: f32, centre: f32, right: f32) -> f64 {
    let curvature = left - 2.0 * centre + right;
    if curvature >= -1e-12 {
        0.0
    } else {
        (0.5 * (left - right) / curvature).clamp(-0.5, 0.5) as f64
    }
}
