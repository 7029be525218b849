//! One frame of YIN (de Cheveigné & Kawahara 2002) with pYIN-style candidate probabilities
//! (Mauch & Dixon 2014): every dip of the normalised difference function that some plausible
//! threshold would pick becomes a candidate, weighted by how likely that threshold is.

/// Most pitch candidates kept per frame; real frames rarely have more than three.
pub const MAX_CANDIDATES: usize = 6;

/// A dip at twice another dip's lag takes over that dip's share when it is at least this much
/// deeper (ratio of raw differences `d`): the shorter lag was a strong second harmonic (a vowel
/// with F1 near 2·F0), not the period. Measured on the test voice: such false periods are 25–200×
/// shallower than the true one, while a true period can look up to ≈ 3× shallower than its double
/// when it falls between two lags at 16 kHz (high, bright voices); 10× separates the two.
const OCTAVE_DEPTH_RATIO: f32 = 0.1;
/// ...and only when the shorter lag is itself a weak period (normalised `d'` above this): the
/// false periods measured 0.10–0.20, true periods of clean voices below 0.07 (a sawtooth that
/// falls between lags can otherwise look 10× shallower than its double).
const OCTAVE_MIN_SHALLOWNESS: f32 = 0.07;
/// How close to exactly double a lag must be to count as the octave below.
const OCTAVE_LAG_TOLERANCE: f32 = 0.04;

/// Frames quieter than this (mean square, dBFS) are silence: no candidates at all.
const SILENCE_FLOOR_DB: f32 = -70.0;

/// Threshold grid of the candidate model: 0.01, 0.02, … 1.00.
const THRESHOLD_STEPS: usize = 100;

/// Shape of the Beta prior over YIN thresholds: mean α/(α+β) = 0.15, the middle of pYIN's
/// published choices (0.1–0.2); the lower 0.1 left glides between legato notes, whose period
/// changes within the window, unvoiced.
const THRESHOLD_PRIOR_ALPHA: f32 = 2.0;
const THRESHOLD_PRIOR_BETA: f32 = 11.33;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Candidate {
    pub f0_hz: f32,
    /// Share of the threshold prior that picks this candidate; the shares of a frame sum to
    /// its voicing probability.
    pub probability: f32,
}

/// Dips shallower than this (normalised difference) are not periods worth considering.
const MAX_CANDIDATE_DEPTH: f32 = 0.8;

/// What one analysis frame offers the decoder.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameCandidates {
    pub candidates: [Candidate; MAX_CANDIDATES],
    pub count: usize,
    /// Probability that the frame is voiced; the candidates' probabilities sum to it. As
    /// estimated here it is the threshold prior's mass (pYIN's voicing); the tracker replaces it
    /// with its calibrated model ([`Self::set_voicing_probability`]).
    pub voicing_probability: f32,
    /// Mean square of the integration window, in dBFS.
    pub energy_db: f32,
    /// 1 − the deepest dip's normalised difference: how periodic the frame is at best.
    pub periodicity: f32,
    /// Mass of the threshold prior that picks any candidate.
    pub prior_mass: f32,
}

impl FrameCandidates {
    pub fn voiced(&self) -> &[Candidate] {
        &self.candidates[..self.count]
    }

    /// A frame with these `(f0_hz, probability)` candidates and their summed voicing, for tests.
    #[cfg(test)]
    pub fn of(candidates: &[(f32, f32)]) -> Self {
        let mut frame = Self::default();
        for (i, &(f0_hz, probability)) in candidates.iter().enumerate() {
            frame.candidates[i] = Candidate { f0_hz, probability };
            frame.voicing_probability += probability;
        }
        frame.count = candidates.len();
        frame
    }

    /// Rescales the candidates so their probabilities sum to `probability`, keeping their shares.
    pub fn set_voicing_probability(&mut self, probability: f32) {
        let total: f32 = self.voiced().iter().map(|c| c.probability).sum();
        if total > 0.0 {
            let scale = probability / total;
            self.candidates[..self.count]
                .iter_mut()
                .for_each(|c| c.probability *= scale);
            self.voicing_probability = probability;
        } else {
            self.voicing_probability = 0.0;
        }
    }
}

pub struct YinEstimator {
    /// Rate of the frames given to `estimate` (the decimated analysis rate).
    sample_rate_hz: f32,
    /// Integration window `W` of the difference function.
    window: usize,
    /// Smallest and largest lag searched: the periods of the highest and lowest F0.
    min_lag: usize,
    max_lag: usize,
    /// Cumulative-mean-normalised `d'(τ)`.
    normalized: Vec<f32>,
    /// `cumulative_prior[i]`: prior mass of thresholds ≤ (i + 1) / 100.
    cumulative_prior: [f32; THRESHOLD_STEPS],
}

impl YinEstimator {
    /// Frames must be [`Self::frame_len`] samples long.
    pub fn new(sample_rate_hz: f32, min_f0_hz: f32, max_f0_hz: f32) -> Self {
        // 5 % below the highest F0's period, so that a dip at `max_f0_hz` is an interior minimum
        // and a d' that merely rises from the range's start (step responses, clicks) is not.
        let min_lag = ((sample_rate_hz / (1.05 * max_f0_hz)).floor() as usize).max(2);
        let max_lag = (sample_rate_hz / min_f0_hz).ceil() as usize + 1;
        // One period of the lowest F0: the shortest window that still sees a whole cycle.
        let window = max_lag;
        Self {
            sample_rate_hz,
            window,
            min_lag,
            max_lag,
            normalized: vec![0.0; max_lag + 2],
            cumulative_prior: cumulative_beta_prior(),
        }
    }

    /// Samples each frame spans: the window plus the largest lag (+1 for the refinement).
    pub fn frame_len(&self) -> usize {
        self.window + self.max_lag + 1
    }

    /// Integration window of the difference function, samples.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Lags the difference function is needed at: 0 to one past the largest searched.
    pub fn lags(&self) -> usize {
        self.max_lag + 2
    }

    /// Candidates of `frame`, given its difference function `difference` (`d(τ)` for τ in
    /// `0..lags()`, with the window centred as [`super::kernels::DifferenceKernel`] places it).
    pub fn estimate(&mut self, frame: &[f32], difference: &[f32]) -> FrameCandidates {
        debug_assert_eq!(difference.len(), self.lags());
        let mut result = FrameCandidates::default();
        let window = &frame[..self.window];
        let window_energy = window.iter().map(|x| x * x).sum::<f32>();
        let mean_square = window_energy / self.window as f32;
        result.energy_db = 10.0 * (mean_square + 1e-12).log10();
        if result.energy_db < SILENCE_FLOOR_DB {
            return result;
        }

        // Differences below a millionth of the window's energy are rounding noise of a constant
        // signal (DC, held clipping), not a period.
        let noise_floor = 1e-6 * window_energy;
        cumulative_mean_normalized_difference(difference, noise_floor, &mut self.normalized);

        // Dips in increasing lag; a dip is taken by every threshold between its own depth and the
        // depth of the deepest earlier dip (those thresholds stop at the earlier dip instead).
        let mut deepest_earlier = 1.0f32;
        // Period (in samples) and depth of each candidate, for the octave check below.
        let mut periods = [0.0f32; MAX_CANDIDATES];
        let mut depths = [0.0f32; MAX_CANDIDATES];
        let mut shallowness = [0.0f32; MAX_CANDIDATES];
        let mut tau = self.min_lag + 1;
        while tau < self.max_lag && result.count < MAX_CANDIDATES {
            let d = self.normalized[tau];
            let is_dip = d < self.normalized[tau - 1] && d <= self.normalized[tau + 1];
            if is_dip && d < deepest_earlier && d < MAX_CANDIDATE_DEPTH {
                // Deep dips the prior barely reaches (noisy, reverberant frames) stay candidates
                // with a token share: whether the frame is voiced is the calibrated model's call.
                let probability = self.prior_mass(d, deepest_earlier).max(1e-3);
                deepest_earlier = d;
                {
                    let period = tau as f32 + parabolic_offset(&difference[tau - 1..=tau + 1]);
                    periods[result.count] = period;
                    // Raw, not normalised: the cumulative mean grows with the lag, so d' alone
                    // would always favour the longer lag.
                    depths[result.count] = parabolic_minimum(&difference[tau - 1..=tau + 1]);
                    shallowness[result.count] = d;
                    result.candidates[result.count] = Candidate {
                        f0_hz: self.sample_rate_hz / period,
                        probability,
                    };
                    result.count += 1;
                    result.voicing_probability += probability;
                }
            }
            tau += 1;
        }
        move_octave_errors_down(&mut result, &periods, &depths, &shallowness);
        result.periodicity = 1.0 - deepest_earlier.min(1.0);
        result.prior_mass = self.prior_mass(deepest_earlier, 1.0);
        result
    }

    /// Prior mass of thresholds in `(low, high]`.
    fn prior_mass(&self, low: f32, high: f32) -> f32 {
        let cumulative = |x: f32| {
            let steps = (x * THRESHOLD_STEPS as f32).floor() as usize;
            if steps == 0 {
                0.0
            } else {
                self.cumulative_prior[steps.min(THRESHOLD_STEPS) - 1]
            }
        };
        (cumulative(high) - cumulative(low)).max(0.0)
    }
}

/// Gives a weak candidate's share to the candidate at twice its period when that one is much
/// deeper (see [`OCTAVE_DEPTH_RATIO`] and [`OCTAVE_MIN_SHALLOWNESS`]), shortest periods first so
/// chains (¼ → ½ → 1) resolve; candidates left with no share are removed. `depths` are raw
/// differences at the dips, `shallowness` their normalised values.
fn move_octave_errors_down(
    result: &mut FrameCandidates,
    periods: &[f32],
    depths: &[f32],
    shallowness: &[f32],
) {
    for i in 0..result.count {
        if shallowness[i] <= OCTAVE_MIN_SHALLOWNESS {
            continue;
        }
        let double = (i + 1..result.count).find(|&j| {
            (periods[j] / (2.0 * periods[i]) - 1.0).abs() < OCTAVE_LAG_TOLERANCE
                && depths[j] < OCTAVE_DEPTH_RATIO * depths[i]
        });
        if let Some(j) = double {
            result.candidates[j].probability += result.candidates[i].probability;
            result.candidates[i].probability = 0.0;
        }
    }
    let mut kept = 0;
    for i in 0..result.count {
        if result.candidates[i].probability > 0.0 {
            result.candidates[kept] = result.candidates[i];
            kept += 1;
        }
    }
    result.count = kept;
}

/// `d'(τ) = d(τ) · τ / Σ_{j=1..τ} d(j)`, `d'(0) = 1` (YIN eq. 8). Where the mean difference so far
/// is below `noise_floor` the frame has no variation to speak of (silence, DC) and `d'` reads 1:
/// no dips, unvoiced.
pub fn cumulative_mean_normalized_difference(
    difference: &[f32],
    noise_floor: f32,
    normalized: &mut [f32],
) {
    normalized[0] = 1.0;
    let mut running_sum = 0.0f32;
    for tau in 1..difference.len() {
        running_sum += difference[tau];
        let varies = running_sum > noise_floor * tau as f32 && running_sum > 0.0;
        normalized[tau] = if varies {
            difference[tau] * tau as f32 / running_sum
        } else {
            1.0
        };
    }
}

/// Value at the vertex of the parabola through three equally spaced points around a dip: the
/// dip's depth between integer lags, so a period that falls between two lags is not judged
/// shallower than its double, which happens to fall nearer one.
pub fn parabolic_minimum(points: &[f32]) -> f32 {
    let (left, centre, right) = (points[0], points[1], points[2]);
    let curvature = left - 2.0 * centre + right;
    if curvature <= 1e-20 {
        centre
    } else {
        (centre - (left - right).powi(2) / (8.0 * curvature)).max(0.0)
    }
}

/// Offset of the vertex of the parabola through three equally spaced points, in −1..1.
pub fn parabolic_offset(points: &[f32]) -> f32 {
    let (left, centre, right) = (points[0], points[1], points[2]);
    let curvature = left - 2.0 * centre + right;
    if curvature <= 1e-20 {
        0.0
    } else {
        (0.5 * (left - right) / curvature).clamp(-1.0, 1.0)
    }
}

fn cumulative_beta_prior() -> [f32; THRESHOLD_STEPS] {
    let mut weights = [0.0f32; THRESHOLD_STEPS];
    for (i, w) in weights.iter_mut().enumerate() {
        let s = (i + 1) as f32 / THRESHOLD_STEPS as f32 - 0.5 / THRESHOLD_STEPS as f32;
        *w = s.powf(THRESHOLD_PRIOR_ALPHA - 1.0) * (1.0 - s).powf(THRESHOLD_PRIOR_BETA - 1.0);
    }
    let total: f32 = weights.iter().sum();
    let mut cumulative = [0.0f32; THRESHOLD_STEPS];
    let mut running = 0.0;
    for (c, w) in cumulative.iter_mut().zip(weights) {
        running += w / total;
        *c = running;
    }
    cumulative
}

#[cfg(test)]
mod tests {
    use super::super::kernels::difference_scalar;
    use super::*;

    /// Candidates of `frame` with its difference function computed whole.
    fn estimate(yin: &mut YinEstimator, frame: &[f32]) -> FrameCandidates {
        let mut difference = vec![0.0; yin.lags()];
        difference_scalar(frame, yin.window(), 0..yin.lags(), &mut difference);
        yin.estimate(frame, &difference)
    }

    fn sawtooth(f0_hz: f32, sample_rate_hz: f32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| 0.5 * ((f0_hz * i as f32 / sample_rate_hz).fract() - 0.5))
            .collect()
    }

    #[test]
    fn finds_the_period_of_harmonic_tones_across_the_range() {
        let rate = 16_000.0;
        let mut yin = YinEstimator::new(rate, 60.0, 1000.0);
        for f0 in [62.0, 98.0, 147.5, 220.0, 440.0, 700.0, 990.0] {
            let frame = sawtooth(f0, rate, yin.frame_len());
            let result = estimate(&mut yin, &frame);
            let best = result
                .voiced()
                .iter()
                .max_by(|a, b| a.probability.total_cmp(&b.probability))
                .unwrap();
            let cents = 1200.0 * (best.f0_hz / f0).log2();
            assert!(cents.abs() < 10.0, "{f0} Hz read as {} Hz", best.f0_hz);
            assert!(
                result.voicing_probability > 0.9,
                "{f0} Hz voicing {}",
                result.voicing_probability
            );
        }
    }

    #[test]
    fn a_second_harmonic_on_the_first_formant_is_not_taken_for_the_period() {
        // /o/ and /u/ around 280–310 Hz put the 2nd harmonic on F1 (≈ 570 Hz): the first dip of
        // the difference function is then at half the period.
        use crate::synth::{Note, Phrase, Vowel, render};
        let mut yin = YinEstimator::new(16_000.0, 60.0, 1000.0);
        for vowel in [Vowel::O, Vowel::U, Vowel::I, Vowel::A] {
            for midi in [61.0, 62.0, 63.0, 68.0, 69.0, 71.0] {
                let voice = render(&Phrase::sung(vec![Note::new(midi, 1.0, vowel)]), 16_000, 1);
                let frame = &voice.samples[8000..8000 + yin.frame_len()];
                let result = estimate(&mut yin, frame);
                let best = result
                    .voiced()
                    .iter()
                    .max_by(|a, b| a.probability.total_cmp(&b.probability))
                    .unwrap();
                let truth = 440.0 * 2f32.powf((midi as f32 - 69.0) / 12.0);
                let cents = 1200.0 * (best.f0_hz / truth).log2();
                assert!(
                    cents.abs() < 30.0,
                    "{vowel:?} at {truth} Hz read as {} Hz",
                    best.f0_hz
                );
            }
        }
    }

    #[test]
    fn silence_dc_and_noise_are_unvoiced() {
        let mut yin = YinEstimator::new(16_000.0, 60.0, 1000.0);
        let n = yin.frame_len();
        assert_eq!(estimate(&mut yin, &vec![0.0; n]).voicing_probability, 0.0);
        assert_eq!(estimate(&mut yin, &vec![0.9; n]).voicing_probability, 0.0);
        let mut state = 99u32;
        let noise: Vec<f32> = (0..n)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        assert!(estimate(&mut yin, &noise).voicing_probability < 0.2);
    }
}
