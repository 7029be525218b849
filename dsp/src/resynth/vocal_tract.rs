//! The vocal tract of one analysis frame, as a pair of filters: one that whitens the input (the
//! grains are cut from what is left, the excitation) and one that colours the laid grains with
//! the envelope again, moved by the formant shift.
//!
//! Why: a grain two periods long has the voice's harmonics smeared one F0 either side in its
//! spectrum, so when the grains are laid at a new period, a harmonic that lands between two of
//! the input's picks up its strong neighbour. On a sung 414 Hz note with a narrow first formant
//! on the 2nd harmonic, −2.6 st put the 3rd harmonic 8 dB under the 2nd where the envelope has it
//! 14 dB under (+13.5 dB of alpha ratio, README "Emotion transform"). The excitation's harmonics
//! are closer to a level, so smearing them changes less, and the envelope comes back from the
//! filter (the same shift on the fully whitened excitation read +1 dB). Only a share of the
//! envelope is taken out (see [`ENVELOPE_SHARE`]).
//!
//! The envelope is the line through the frame's harmonic peaks (dB, interpolated linearly in
//! frequency): the vocal tract is only ever sampled at the harmonics, and an all-pole fit to the
//! signal itself spends its poles on those peaks on a high voice (an order-32 LPC of that note
//! put the 2nd harmonic 14 dB under the 1st after the shift).
//!
//! The all-pole model is fitted on a warped frequency axis (each unit delay replaced by a
//! first-order allpass of coefficient λ): it spends its poles where the voice's harmonics are
//! dense in level changes, below a few kilohertz. An unwarped fit of order 64 at 48 kHz still put
//! a 257 Hz voice's 1st harmonic 6.7 dB under its 2nd where the voice has it 12 dB under, and the
//! excitation kept that dip; lowered 7 st, the dip and the fit's own error added up, and a 3rd
//! harmonic on a narrow first formant came out 17 dB over the 1st, which the tracker took for the
//! fundamental. Warped (λ 0.6, order 32) the fit puts it 10.5 dB under (offline, numpy, orders
//! 24–48 land within 1.2 dB).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::linear_prediction::levinson_durbin;

/// Order of the warped all-pole model, at every sample rate (the warping, not the order, follows
/// the rate; see [`warp_for_rate`]).
pub const ORDER: usize = 32;
/// The analysis window: long enough to resolve the harmonics of a 60 Hz voice (2.5 periods).
const WINDOW_S: f32 = 0.040;
/// Harmonics are read up to here (or 0.45 × the rate): above it a voice has little energy and the
/// line is held flat.
const TOP_HZ: f32 = 16_000.0;
/// The line is floored this far below its highest point: the all-pole fit of a spectrum spanning
/// 100 dB is ill-conditioned, and nothing that far down is heard next to the peak.
const RANGE_DB: f64 = 70.0;
/// Points of the warped frequency axis the peak line is read at (over the whole circle): the
/// autocorrelation needs [`ORDER`] + 1 lags of it, and the line is smooth between harmonics.
const WARPED_GRID_LEN: usize = 512;
/// The warping puts half of the model's resolution below this frequency.
const WARP_HALF_BAND_HZ: f64 = 7_000.0;
/// Most warping: above it the allpass chain's low-frequency group delay grows long (at 0.9,
/// 19 samples a stage) for little gain.
const MAX_WARP: f64 = 0.9;
/// Below the output's F0 the colouring envelope rises at most this far over its level there
/// (see [`TractAnalyser::analyse`]): a voice's envelope usually rises a few decibels towards its
/// first harmonic, and cutting all of that took the output's low end under the input's
/// (envelope distance +7 st: real speech 1.84 → 2.14 dB, against 2.17 for Rubber Band).
const BELOW_F0_RISE_DB: f64 = 6.0;
/// Share of the envelope (in dB) the whitening takes out of the grains and the colouring puts
/// back: the rest stays in the grains, as in plain TD-PSOLA. Grains of a flat excitation lay a
/// new harmonic that falls between two of the input's from both neighbours' leaks, which add or
/// cancel by the neighbours' phases; with all of the envelope taken out, lowering speech 7 st
/// laid the excitation's new 2nd harmonic 9 dB under its 3rd where the two should be level,
/// and the tracker heard the 3rd as the fundamental (Studio pitch p95 54 cents against
/// TD-PSOLA's 19). Half keeps the tracker's reading (19.6) and most of the gain on high
/// voices: their envelope distance at F0 ≥ 300 Hz is 7–26 % under TD-PSOLA's, where the whole
/// envelope gave 10–30 % in an earlier state of this code (`cargo xtask resynth-eval`).
const ENVELOPE_SHARE: f64 = 0.5;
/// `10^(dB / 10) = exp(dB × this)`.
const DB_TO_POWER_LN: f64 = std::f64::consts::LN_10 / 10.0;

/// The allpass coefficient λ at `sample_rate_hz`: the warped axis puts its half-band
/// (π/2) at [`WARP_HALF_BAND_HZ`] — λ = cos(2π · 7 kHz / rate), 0.6 at 48 kHz — and does not
/// warp at rates too low for that.
pub fn warp_for_rate(sample_rate_hz: f32) -> f64 {
    (std::f64::consts::TAU * WARP_HALF_BAND_HZ / sample_rate_hz as f64)
        .cos()
        .clamp(0.0, MAX_WARP)
}

/// Warped frequency (radians, 0…π) of `omega` under allpass coefficient `lambda`; −`lambda`
/// maps back.
fn warped(omega: f64, lambda: f64) -> f64 {
    omega + 2.0 * (lambda * omega.sin()).atan2(1.0 - lambda * omega.cos())
}

/// One frame's vocal tract, as the reflection coefficients of two warped all-pole models: the
/// input's envelope and the one the output is coloured with. Reflection coefficients blend
/// between frames with the models staying stable (any blend of coefficients below 1 in
/// magnitude is).
#[derive(Debug, Clone, Copy)]
pub struct TractFilters {
    pub whitening: [f64; ORDER],
    pub colouring: [f64; ORDER],
    /// Gain of the colouring filter, so that whitening then colouring at ratio 1 is unity.
    pub gain: f64,
}

impl TractFilters {
    /// Filters that change nothing: whitening by 1, colouring by 1.
    pub fn transparent() -> Self {
        Self {
            whitening: [0.0; ORDER],
            colouring: [0.0; ORDER],
            gain: 1.0,
        }
    }

    /// These filters `fraction` (0…1) of the way to `other`.
    pub fn blend(&self, other: &Self, fraction: f64) -> Self {
        let mut out = *self;
        for (k, target) in out.whitening.iter_mut().zip(&other.whitening) {
            *k += fraction * (target - *k);
        }
        for (k, target) in out.colouring.iter_mut().zip(&other.colouring) {
            *k += fraction * (target - *k);
        }
        out.gain += fraction * (other.gain - out.gain);
        out
    }
}

/// Computes [`TractFilters`] from a frame of voice. `new` allocates; `analyse` does not.
pub struct TractAnalyser {
    sample_rate_hz: f32,
    lambda: f64,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    window: Vec<f64>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    forward_scratch: Vec<Complex<f64>>,
    inverse_scratch: Vec<Complex<f64>>,
    /// Harmonic peaks of the frame: `(frequency Hz, level dB)`.
    peaks: Vec<(f64, f64)>,
    /// `[bin]`: the frequency (Hz) each bin of the warped axis reads the peak line at.
    warped_bin_hz: Vec<f64>,
    power: Vec<Complex<f64>>,
    autocorrelation: Vec<f64>,
}

impl TractAnalyser {
    pub fn new(sample_rate_hz: f32) -> Self {
        let len = ((WINDOW_S * sample_rate_hz).ceil() as usize).next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(len);
        let inverse = planner.plan_fft_inverse(WARPED_GRID_LEN);
        let lambda = warp_for_rate(sample_rate_hz);
        let most_peaks = (TOP_HZ / crate::pitch::MIN_F0_HZ).ceil() as usize + 2;
        let power = inverse.make_input_vec();
        let bins = power.len();
        Self {
            sample_rate_hz,
            lambda,
            window: (0..len)
                .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / len as f64).cos())
                .collect(),
            frame: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            forward_scratch: forward.make_scratch_vec(),
            inverse_scratch: inverse.make_scratch_vec(),
            peaks: Vec::with_capacity(most_peaks),
            warped_bin_hz: (0..bins)
                .map(|k| {
                    let omega = std::f64::consts::PI * k as f64 / (bins - 1) as f64;
                    warped(omega, -lambda) * sample_rate_hz as f64 / std::f64::consts::TAU
                })
                .collect(),
            power,
            autocorrelation: inverse.make_output_vec(),
            forward,
            inverse,
        }
    }

    /// The allpass coefficient the filters are warped by.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The polynomial of transparent filters: 1.
    pub fn transparent(&self) -> WarpedPolynomial {
        WarpedPolynomial::from_reflection(&[0.0; ORDER], self.lambda)
    }

    /// Samples the analysis wants: `frame_len()` samples centred on the frame (fewer are
    /// zero-padded).
    pub fn frame_len(&self) -> usize {
        self.window.len()
    }

    /// The filters of the voice in `samples` (at most [`Self::frame_len`]) whose F0 is `f0_hz`,
    /// with the colouring envelope moved up by `formant_ratio` and kept below `output_f0_hz`
    /// from rising more than [`BELOW_F0_RISE_DB`] over its level there. Transparent filters for
    /// a frame with no usable F0 or no signal.
    ///
    /// Below the output's F0 there is no harmonic to colour, only what the grains leak there,
    /// and the envelope can stand far above the level at the output's first harmonic: on a
    /// recorded voice whose 1st harmonic is 34 dB over its 2nd, +12 st coloured the grains'
    /// leak at the old F0 by those 34 dB, and the tracker heard the octave below.
    pub fn analyse(
        &mut self,
        samples: &[f32],
        f0_hz: f64,
        formant_ratio: f64,
        output_f0_hz: f64,
    ) -> TractFilters {
        let len = self.window.len();
        let usable = |x: f64| x.is_finite() && x > 0.0;
        if !usable(f0_hz) || !usable(formant_ratio) {
            return TractFilters::transparent();
        }
        for (i, slot) in self.frame.iter_mut().enumerate() {
            *slot = samples.get(i).map_or(0.0, |&x| x as f64 * self.window[i]);
        }
        if self
            .forward
            .process_with_scratch(
                &mut self.frame,
                &mut self.spectrum,
                &mut self.forward_scratch,
            )
            .is_err()
        {
            return TractFilters::transparent();
        }
        // The harmonic peaks: the strongest bin within half an F0 of each multiple.
        let bin_hz = self.sample_rate_hz as f64 / len as f64;
        let top_hz = (TOP_HZ as f64).min(0.45 * self.sample_rate_hz as f64);
        let reach_bins = (0.5 * f0_hz / bin_hz).max(1.0);
        self.peaks.clear();
        let mut harmonic = 1.0;
        while harmonic * f0_hz <= top_hz && self.peaks.len() < self.peaks.capacity() {
            let centre = harmonic * f0_hz / bin_hz;
            let first = (centre - reach_bins).round().max(0.0) as usize;
            let last = ((centre + reach_bins).round() as usize).min(self.spectrum.len() - 1);
            let peak = self.spectrum[first..=last]
                .iter()
                .map(|c| c.norm_sqr())
                .fold(0.0f64, f64::max);
            self.peaks
                .push((harmonic * f0_hz, 10.0 * (peak + 1e-30).log10()));
            harmonic += 1.0;
        }
        let Some(highest_db) = self.peaks.iter().map(|p| p.1).reduce(f64::max) else {
            return TractFilters::transparent();
        };
        if highest_db < -250.0 {
            return TractFilters::transparent();
        }
        let floor_db = highest_db - RANGE_DB;
        let Some((whitening, whitening_error)) = self.all_pole(1.0, 0.0, floor_db) else {
            return TractFilters::transparent();
        };
        let lowest_hz = if output_f0_hz.is_finite() {
            output_f0_hz
        } else {
            0.0
        };
        let (colouring, colouring_error) = if formant_ratio == 1.0 && lowest_hz <= f0_hz {
            (whitening, whitening_error)
        } else {
            match self.all_pole(formant_ratio, lowest_hz, floor_db) {
                Some(model) => model,
                None => return TractFilters::transparent(),
            }
        };
        TractFilters {
            whitening,
            colouring,
            gain: (colouring_error / whitening_error).sqrt(),
        }
    }

    /// The warped all-pole model (reflection coefficients, prediction error power) of the peak
    /// line read at `f / ratio`, below `lowest_hz` at most [`BELOW_F0_RISE_DB`] over its value
    /// there; `None` if the fit fails.
    fn all_pole(
        &mut self,
        ratio: f64,
        lowest_hz: f64,
        floor_db: f64,
    ) -> Option<([f64; ORDER], f64)> {
        let peaks = &self.peaks;
        let mut next = 0;
        let ceiling_db = peak_line_db(peaks, &mut 0, lowest_hz / ratio) + BELOW_F0_RISE_DB;
        // The warped bins' frequencies rise with the bin, so one pass finds each one's peaks.
        for (slot, bin_hz) in self.power.iter_mut().zip(&self.warped_bin_hz) {
            let mut db = peak_line_db(peaks, &mut next, bin_hz / ratio);
            if *bin_hz < lowest_hz {
                db = db.min(ceiling_db);
            }
            let db_over_floor = db.max(floor_db) - floor_db;
            *slot = Complex::new((DB_TO_POWER_LN * ENVELOPE_SHARE * db_over_floor).exp(), 0.0);
        }
        // A real, even power spectrum: its inverse transform is the (warped) autocorrelation.
        self.inverse
            .process_with_scratch(
                &mut self.power,
                &mut self.autocorrelation,
                &mut self.inverse_scratch,
            )
            .ok()?;
        let (mut polynomial, mut reflection) = ([0.0f64; ORDER + 1], [0.0f64; ORDER]);
        levinson_durbin(
            &self.autocorrelation[..=ORDER],
            &mut polynomial,
            &mut reflection,
        )
        .map(|error| (reflection, error))
    }
}

/// The line through `peaks` (dB) at `hz`, held flat beyond its ends. `next` is the index of the
/// first peak at or above `hz`, searched onwards from its value, so that rising frequencies are
/// read in one pass.
fn peak_line_db(peaks: &[(f64, f64)], next: &mut usize, hz: f64) -> f64 {
    while *next < peaks.len() && peaks[*next].0 < hz {
        *next += 1;
    }
    match *next {
        0 => peaks[0].1,
        n if n == peaks.len() => peaks[n - 1].1,
        n => {
            let ((f0, d0), (f1, d1)) = (peaks[n - 1], peaks[n]);
            d0 + (d1 - d0) * (hz - f0) / (f1 - f0)
        }
    }
}

/// A warped polynomial `A(D(z)) = Σ a[k] D(z)^k`, `a[0] = 1`, `D(z) = (z⁻¹ − λ) / (1 − λz⁻¹)`,
/// ready to run as a whitening (FIR over an allpass chain) or colouring (its inverse) filter.
///
/// Each stage of the chain outputs (−λ)^k times the chain's input plus what the stages' memory
/// adds, so `Σ a[k] × stage k` is `direct_path × input + Σ memory[j] × memory_weights[j]`: one
/// dot product, and for the colouring an output solved from it with no delay-free loop.
#[derive(Debug, Clone, Copy)]
pub struct WarpedPolynomial {
    lambda: f64,
    /// `Σ a[k] (−λ)^k`.
    direct_path: f64,
    /// `1 / direct_path`.
    direct_path_inverse: f64,
    /// `[j]`: `Σ_{k > j} a[k] (−λ)^(k−1−j)`, the weight of stage `j`'s memory.
    memory_weights: [f64; ORDER],
}

impl WarpedPolynomial {
    /// From reflection coefficients (the step-up recursion).
    pub fn from_reflection(reflection: &[f64; ORDER], lambda: f64) -> Self {
        let mut a = [0.0f64; ORDER + 1];
        a[0] = 1.0;
        for (i, &k) in reflection.iter().enumerate() {
            let i = i + 1;
            for j in 1..=i / 2 {
                let (low, high) = (a[j], a[i - j]);
                a[j] = low + k * high;
                a[i - j] = high + k * low;
            }
            a[i] = k;
        }
        let mut memory_weights = [0.0f64; ORDER];
        let mut weight = 0.0;
        for j in (0..ORDER).rev() {
            weight = a[j + 1] - lambda * weight;
            memory_weights[j] = weight;
        }
        let direct_path = 1.0 - lambda * weight;
        Self {
            lambda,
            direct_path,
            direct_path_inverse: 1.0 / direct_path,
            memory_weights,
        }
    }
}

/// A chain of [`ORDER`] first-order allpasses: the memory of one channel's warped filter.
///
/// Each sample runs the chain's stages one after another, each waiting on the one before: the
/// chain costs its latency, not its arithmetic, so on processors that have fused multiply-adds
/// it runs with them (one rounding and half the latency of a multiply then an add per stage).
pub struct AllpassChain {
    /// `memory[k]`: stage k's input delayed one sample plus λ × its output delayed one sample.
    memory: [f64; ORDER],
    fused: bool,
}

impl AllpassChain {
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        let fused = std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fused = false;
        Self {
            memory: [0.0; ORDER],
            fused,
        }
    }

    pub fn reset(&mut self) {
        self.memory = [0.0; ORDER];
    }

    /// Clears memory that has decayed below hearing (a chain left ringing into silence would
    /// fall into denormals, slow on x86) and forgets a non-finite one. Called between runs of
    /// samples rather than in every stage of every sample, where it cost a fifth of the time.
    pub fn settle(&mut self) {
        if self.memory.iter().any(|m| !m.is_finite()) {
            self.reset();
        }
        for m in self.memory.iter_mut() {
            if m.abs() < 1e-30 {
                *m = 0.0;
            }
        }
    }

    /// Whitening: one sample of voice in, one sample of excitation out.
    #[inline]
    pub fn whiten(&mut self, x: f32, polynomial: &WarpedPolynomial) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.fused {
            // SAFETY: `fused` is set only where the processor has FMA.
            return unsafe { self.whiten_fused(x, polynomial) };
        }
        self.whiten_with::<Separate>(x, polynomial)
    }

    /// Colouring by `gain / A(D(z))`: one sample of excitation in, one sample of voice out.
    #[inline]
    pub fn colour(&mut self, excitation: f32, gain: f64, polynomial: &WarpedPolynomial) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if self.fused {
            // SAFETY: `fused` is set only where the processor has FMA.
            return unsafe { self.colour_fused(excitation, gain, polynomial) };
        }
        self.colour_with::<Separate>(excitation, gain, polynomial)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn whiten_fused(&mut self, x: f32, polynomial: &WarpedPolynomial) -> f32 {
        self.whiten_with::<Fused>(x, polynomial)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn colour_fused(
        &mut self,
        excitation: f32,
        gain: f64,
        polynomial: &WarpedPolynomial,
    ) -> f32 {
        self.colour_with::<Fused>(excitation, gain, polynomial)
    }

    #[inline(always)]
    fn whiten_with<M: MulAdd>(&mut self, x: f32, polynomial: &WarpedPolynomial) -> f32 {
        let x = x as f64;
        let out = M::mul_add(polynomial.direct_path, x, self.memory_part::<M>(polynomial));
        self.advance::<M>(x, polynomial.lambda);
        out as f32
    }

    /// The output is solved from the memory's part before the stages run: each stage's output
    /// holds (−λ)^k of it through the allpasses' direct paths.
    #[inline(always)]
    fn colour_with<M: MulAdd>(
        &mut self,
        excitation: f32,
        gain: f64,
        polynomial: &WarpedPolynomial,
    ) -> f32 {
        let y = (gain * excitation as f64 - self.memory_part::<M>(polynomial))
            * polynomial.direct_path_inverse;
        self.advance::<M>(y, polynomial.lambda);
        y as f32
    }

    /// What the stages' memory adds to `Σ a[k] × stage k`, summed in four independent lanes
    /// so that the compiler may vectorise it.
    #[inline(always)]
    fn memory_part<M: MulAdd>(&self, polynomial: &WarpedPolynomial) -> f64 {
        let mut lanes = [0.0f64; 4];
        for (m, w) in self
            .memory
            .chunks_exact(4)
            .zip(polynomial.memory_weights.chunks_exact(4))
        {
            for lane in 0..4 {
                lanes[lane] = M::mul_add(m[lane], w[lane], lanes[lane]);
            }
        }
        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    }

    /// Runs the stages on one input sample, updating their memory.
    #[inline(always)]
    fn advance<M: MulAdd>(&mut self, x: f64, lambda: f64) {
        let mut stage_in = x;
        for memory in self.memory.iter_mut() {
            let stage_out = M::mul_add(-lambda, stage_in, *memory);
            *memory = M::mul_add(lambda, stage_out, stage_in);
            stage_in = stage_out;
        }
    }
}

/// `a × b + c`, fused into one instruction or as a multiply then an add.
trait MulAdd {
    fn mul_add(a: f64, b: f64, c: f64) -> f64;
}

struct Separate;
impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

#[cfg(target_arch = "x86_64")]
struct Fused;
#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f32 = 48_000.0;

    /// A steady voice at `f0_hz` whose harmonics follow `envelope_db(f)`.
    fn voice(f0_hz: f64, envelope_db: impl Fn(f64) -> f64, len: usize) -> Vec<f32> {
        let harmonics = (20_000.0 / f0_hz) as usize;
        (0..len)
            .map(|n| {
                let t = n as f64 / RATE as f64;
                (1..=harmonics)
                    .map(|h| {
                        let f = h as f64 * f0_hz;
                        10f64.powf(envelope_db(f) / 20.0) * (std::f64::consts::TAU * f * t).sin()
                    })
                    .sum::<f64>() as f32
                    * 0.05
            })
            .collect()
    }

    /// A formant at 800 Hz (narrow) and one at 2.5 kHz, over a −12 dB/octave slope.
    fn tract_db(f: f64) -> f64 {
        let resonance = |centre: f64, width: f64| -> f64 {
            let x = (f - centre) / width;
            -10.0 * (1.0 + x * x).log10()
        };
        -12.0 * (f / 200.0).max(1.0).log2()
            + 20.0
            + 1.2 * resonance(800.0, 60.0).max(-20.0)
            + 0.8 * resonance(2_500.0, 150.0).max(-15.0)
    }

    /// Sample `n` of `filter`'s impulse response, its memory settled every 32 samples as the
    /// resynthesiser does.
    fn run_settled(
        chain: &mut AllpassChain,
        n: usize,
        filter: impl Fn(&mut AllpassChain, f32) -> f32,
    ) -> f32 {
        if n.is_multiple_of(32) {
            chain.settle();
        }
        filter(chain, if n == 0 { 1.0 } else { 0.0 })
    }

    /// Levels (dB) at `hz` of the whitening filter and of the colouring filter (times its gain),
    /// from their impulse responses.
    fn response_db(filters: &TractFilters, hz: f64) -> (f64, f64) {
        let lambda = warp_for_rate(RATE);
        let whitening = WarpedPolynomial::from_reflection(&filters.whitening, lambda);
        let colouring = WarpedPolynomial::from_reflection(&filters.colouring, lambda);
        let w = std::f64::consts::TAU * hz / RATE as f64;
        let level_db = |run: &mut dyn FnMut(usize) -> f32| {
            let (mut re, mut im) = (0.0, 0.0);
            for n in 0..16_384 {
                let y = run(n) as f64;
                re += y * (w * n as f64).cos();
                im -= y * (w * n as f64).sin();
            }
            10.0 * (re * re + im * im).log10()
        };
        let mut chain = AllpassChain::new();
        let whitening_db =
            level_db(&mut |n| run_settled(&mut chain, n, |c, x| c.whiten(x, &whitening)));
        let mut chain = AllpassChain::new();
        let colouring_db = level_db(&mut |n| {
            run_settled(&mut chain, n, |c, x| c.colour(x, filters.gain, &colouring))
        });
        (whitening_db, colouring_db)
    }

    #[test]
    fn whitening_then_colouring_is_unity_at_ratio_one() {
        let input = voice(414.0, tract_db, 2048);
        let mut analyser = TractAnalyser::new(RATE);
        let filters = analyser.analyse(&input, 414.0, 1.0, 414.0);
        for hz in [300.0, 830.0, 1_050.0, 2_500.0, 6_000.0] {
            let (whitening_db, colouring_db) = response_db(&filters, hz);
            assert!(
                (whitening_db + colouring_db).abs() < 0.01,
                "{hz} Hz: {whitening_db} + {colouring_db}"
            );
        }
    }

    #[test]
    fn the_colouring_follows_the_envelope_between_harmonics() {
        // The 414 Hz voice samples the 800 Hz formant at 828 Hz; a harmonic moved to 1054 Hz
        // (−2.6 st × 3) must come out about as far down as the line between 828 and 1242 Hz puts
        // it, not near the 828 Hz peak (in the colouring's share of the envelope).
        let input = voice(414.0, tract_db, 2048);
        let mut analyser = TractAnalyser::new(RATE);
        let filters = analyser.analyse(&input, 414.0, 1.0, 414.0);
        let level = |hz: f64| response_db(&filters, hz).1;
        let peak = level(828.0);
        let line = {
            let (d0, d1) = (tract_db(828.0), tract_db(1242.0));
            ENVELOPE_SHARE * (d1 - d0) * (1054.0 - 828.0) / (1242.0 - 828.0)
        };
        let between = level(1054.0) - peak;
        assert!(
            (between - line).abs() < 4.0 * ENVELOPE_SHARE,
            "1054 Hz at {between:.1} dB under the peak, the line says {line:.1}"
        );
        // And at the harmonics themselves the envelope is the voice's.
        for h in [1.0, 3.0, 6.0, 10.0] {
            let hz = 414.0 * h;
            let measured = level(hz) - peak;
            let truth = ENVELOPE_SHARE * (tract_db(hz) - tract_db(828.0));
            assert!(
                (measured - truth).abs() < 3.0 * ENVELOPE_SHARE,
                "harmonic {h}: {measured:.1} dB, truth {truth:.1}"
            );
        }
    }

    #[test]
    fn a_formant_shift_moves_the_colouring_envelope() {
        let input = voice(150.0, tract_db, 2048);
        let mut analyser = TractAnalyser::new(RATE);
        let ratio = 2f64.powf(3.0 / 12.0);
        let filters = analyser.analyse(&input, 150.0, ratio, 150.0);
        let peak_of = |lo: f64, hi: f64| {
            (0..=200)
                .map(|i| lo + (hi - lo) * i as f64 / 200.0)
                .map(|hz| (hz, response_db(&filters, hz).1))
                .fold(
                    (0.0, f64::MIN),
                    |best, x| if x.1 > best.1 { x } else { best },
                )
                .0
        };
        let second = peak_of(2_200.0, 3_600.0);
        assert!(
            (second / 2_500.0 - ratio).abs() < 0.04,
            "second formant at {second:.0} Hz, asked {:.0}",
            2_500.0 * ratio
        );
    }

    #[test]
    fn no_pitch_or_no_signal_gives_transparent_filters() {
        let mut analyser = TractAnalyser::new(RATE);
        let silent = vec![0.0f32; analyser.frame_len()];
        for (samples, f0) in [
            (&silent[..], 200.0),
            (&silent[..], 0.0),
            (&[][..], f64::NAN),
        ] {
            let filters = analyser.analyse(samples, f0, 1.0, f0);
            assert_eq!(filters.gain, 1.0);
            assert!(filters.colouring.iter().all(|k| *k == 0.0));
            assert!(filters.whitening.iter().all(|k| *k == 0.0));
        }
    }

    #[test]
    fn every_supported_rate_gives_a_stable_colouring() {
        for rate in [22_050.0f32, 44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            let mut analyser = TractAnalyser::new(rate);
            let len = analyser.frame_len();
            let input: Vec<f32> = (0..len)
                .map(|n| {
                    let t = n as f32 / rate;
                    (1..20)
                        .map(|h| (std::f32::consts::TAU * 220.0 * h as f32 * t).sin() / h as f32)
                        .sum()
                })
                .collect();
            let filters = analyser.analyse(&input, 220.0, 0.8, 180.0);
            assert!(filters.colouring.iter().all(|k| k.abs() < 1.0), "{rate}");
            assert!(
                filters.colouring.iter().any(|k| *k != 0.0),
                "{rate}: no fit"
            );
            assert!(filters.gain.is_finite() && filters.gain > 0.0, "{rate}");
            // Its impulse response dies away.
            let colouring =
                WarpedPolynomial::from_reflection(&filters.colouring, analyser.lambda());
            let mut chain = AllpassChain::new();
            let tail: f32 = (0..(rate as usize))
                .map(|n| run_settled(&mut chain, n, |c, x| c.colour(x, filters.gain, &colouring)))
                .skip(rate as usize / 2)
                .map(f32::abs)
                .fold(0.0, f32::max);
            assert!(tail < 1e-6, "{rate}: still {tail} after half a second");
        }
    }
}
