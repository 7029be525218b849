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

/// Each matched mark moves this share of the way to its cycle's excitation centre
/// ([`excitation_centre`]). Matching cycle to cycle keeps marks on the same point of the
/// waveform's shape, but a real voice's cycles change shape from one to the next while its
/// excitation keeps its own (jittered) time, so matched marks sit a little off the excitation,
/// differently in every cycle (alsa-utils' recorded speech: ±0.1 period, 0.03–0.05 period
/// standard deviation within a voiced run), and grains centred off it lay their pulses unevenly.
/// Half the way follows the excitation while passing on only half of the centre's own
/// cycle-to-cycle noise (`cargo xtask resynth-eval --no-peers`, envelope distance against the
/// input at −1/+1/+3 st: real speech Studio 1.91/1.84/1.83 → 1.47/1.46/1.51 dB, Live
/// 1.52/1.69/1.63 → 1.48/1.47/1.52; generated singing Live +3 st 1.69 → 1.24; pitch medians
/// move by 0.1–0.7 cents; a full pull costs 4 cents more p95 on average for no better envelope).
const EXCITATION_PULL: f64 = 0.5;

/// The excitation centre is sought within this share of a period either side of the matched
/// mark: most of the cycle, short of the neighbouring cycles' pulses.
const EXCITATION_SHARE: f64 = 0.35;

/// Pre-emphasis before the excitation centre is weighed: the glottal pulse is the cycle's
/// broadband event, and a first difference lifts it over the first formant's ringing.
const PRE_EMPHASIS: f32 = 0.95;

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
            let matched = anchor
                + self.best_match_lag(input, anchor as i64, half_span as usize, first_lag, lags)
                + (last.position - anchor);
            let excitation_reach = (EXCITATION_SHARE * period).floor();
            if matched + excitation_reach + 1.0 <= newest {
                let centre = excitation_centre(input, matched, excitation_reach).unwrap_or(matched);
                matched + EXCITATION_PULL * (centre - matched)
            } else {
                matched
            }
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
    /// measured it, and the input position that period describes (the middle of the cycle).
    pub fn spacing_around(&self, position: f64) -> Option<MeasuredPeriod> {
        let kept = self.count.min(MARK_CAPACITY as u64);
        let mut later: Option<PitchMark> = None;
        for i in (self.count - kept..self.count).rev() {
            let mark = self.ring[(i % MARK_CAPACITY as u64) as usize];
            if mark.position <= position {
                // Past the newest mark, the newest spacing is the latest measure there is.
                let measured = match later {
                    Some(next) => MeasuredPeriod {
                        period_samples: next.position - mark.position,
                        at: 0.5 * (mark.position + next.position),
                    },
                    None => MeasuredPeriod {
                        period_samples: mark.period_samples,
                        at: mark.position - 0.5 * mark.period_samples,
                    },
                };
                let next = later.unwrap_or(mark);
                return (next.voiced && mark.voiced).then_some(measured);
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

/// The energy centroid of the pre-emphasised input within `reach` samples of `around`: where
/// the cycle's excitation sits, moving smoothly where two peaks of a cycle trade places (a peak
/// picker would jump). `None` in digital silence.
fn excitation_centre(input: &SignalHistory, around: f64, reach: f64) -> Option<f64> {
    let (first, last) = (
        (around - reach).ceil() as i64,
        (around + reach).floor() as i64,
    );
    let (mut energy, mut moment) = (0.0f64, 0.0f64);
    let mut previous = input.at(first - 1);
    for n in first..=last {
        let x = input.at(n);
        let emphasised = (x - PRE_EMPHASIS * previous) as f64;
        previous = x;
        energy += emphasised * emphasised;
        moment += emphasised * emphasised * (n - first) as f64;
    }
    (energy > 1e-20).then(|| first as f64 + moment / energy)
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

/// A period the marks measured, and the input position it describes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredPeriod {
    pub period_samples: f64,
    pub at: f64,
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

#[cfg(test)]
mod tests {
    use super::*;

    const RATE_HZ: f64 = 48_000.0;
    const HOP_SAMPLES: usize = 240;

    /// A voice whose excitations are known: a pulse every ≈ 400 samples (120 Hz, ±1.5 % jitter
    /// from a fixed sequence) exciting two decaying resonances, the lower gliding 500 → 900 Hz
    /// and the upper 2.4 → 1.6 kHz, so the cycle's shape changes along the way. Returns the
    /// signal and the pulse positions.
    fn gliding_voice(seconds: f64) -> (Vec<f32>, Vec<usize>) {
        let len = (seconds * RATE_HZ) as usize;
        let mut pulses = Vec::new();
        let mut at = 200.0;
        let mut seed = 0x2545_f491_u32;
        while (at as usize) < len {
            pulses.push(at as usize);
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let jitter = (seed as f64 / u32::MAX as f64 - 0.5) * 0.03;
            at += 400.0 * (1.0 + jitter);
        }
        let mut signal = vec![0.0f32; len];
        for &pulse in &pulses {
            let progress = pulse as f64 / len as f64;
            let (low_hz, high_hz) = (500.0 + 400.0 * progress, 2_400.0 - 800.0 * progress);
            for (k, sample) in signal[pulse..].iter_mut().take(1_200).enumerate() {
                let t = k as f64 / RATE_HZ;
                let tau = std::f64::consts::TAU;
                *sample += ((-t * 400.0).exp() * (tau * low_hz * t).sin()
                    + 0.5 * (-t * 900.0).exp() * (tau * high_hz * t).sin())
                    as f32;
            }
        }
        (signal, pulses)
    }

    #[test]
    fn excitation_centre_sits_on_the_pulse_and_is_none_in_silence() {
        let (signal, pulses) = gliding_voice(0.1);
        let mut input = SignalHistory::new(8_192);
        signal.iter().for_each(|&x| input.push(x));
        let pulse = pulses[5] as f64;
        // Sought from either side, the centre is found just after the pulse, where the
        // resonances ring loudest (their energy decays with a 60-sample time constant).
        for from in [pulse - 60.0, pulse + 60.0] {
            let centre = excitation_centre(&input, from, 140.0).unwrap();
            assert!(
                (pulse..pulse + 50.0).contains(&centre),
                "pulse {pulse}, sought from {from}: centre {centre:.1}"
            );
        }
        let mut silence = SignalHistory::new(1_024);
        (0..1_000).for_each(|_| silence.push(0.0));
        assert_eq!(excitation_centre(&silence, 500.0, 100.0), None);
    }

    #[test]
    fn marks_stay_on_the_excitations_while_the_cycle_changes_shape() {
        let (signal, pulses) = gliding_voice(3.0);
        let mut input = SignalHistory::new(8_192);
        let mut f0 = F0Track::new(64, HOP_SAMPLES as f64, RATE_HZ);
        let mut marks = PitchMarks::new(RATE_HZ, 1.2 * RATE_HZ / 60.0);
        let mut offsets = Vec::new();
        for (frame, block) in signal.chunks(HOP_SAMPLES).enumerate() {
            block.iter().for_each(|&x| input.push(x));
            f0.push(frame as u64, 120.0, -20.0);
            let behind = input.written() as f64 - 1_000.0;
            if behind < 0.0 {
                continue;
            }
            let before = marks.count;
            marks.extend_beyond(behind, &input, &f0);
            for i in before..marks.count {
                let mark = marks.ring[(i % MARK_CAPACITY as u64) as usize];
                if mark.voiced {
                    let nearest = pulses
                        .iter()
                        .map(|&p| mark.position - p as f64)
                        .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                        .unwrap();
                    offsets.push(nearest);
                }
            }
        }
        assert!(offsets.len() > 300, "{} marks", offsets.len());
        let worst = offsets.iter().fold(0.0f64, |m, o| m.max(o.abs()));
        // Every mark within 0.15 period of its pulse all the way (they settle just after it,
        // where the resonances' energy is), although each is matched to the cycle before and
        // the cycles keep changing shape.
        assert!(worst < 60.0, "a mark {worst:.1} samples from its pulse");
    }
}
