//! Holds the emotion's brightness to what it asks *relative to the input*: "+3 dB brighter"
//! means the output's balance of energy above vs below 1 kHz sits 3 dB over the input's, whatever
//! else the transform did to it. Other changes move that balance by themselves, and by amounts
//! that depend on the voice: shifting a sung voice up 3 st brightened its voiced frames by 1.7 dB,
//! narrowing its range by 0.8 dB, and sad's breath noise cancelled sad's whole −3.5 dB on singing
//! while on speech none of these moved it by more than a few tenths (`cargo xtask
//! emotion-eval`). A fixed allowance per semitone could not be right for both; measuring is.
//!
//! The meter measures what the contract names: the alpha ratio, energy in 1–5 kHz over
//! 50 Hz–1 kHz, of the aligned dry input and of the finished voice, frame by frame over voiced
//! frames, and compares their difference with the tilt asked. The
//! bands are cut from a spectrum, not by filters: a resynthesised high note's third harmonic can
//! sit in the 1–1.5 kHz valley under a strong second harmonic just below 1 kHz, and a
//! second-order (or fourth-order) split let that harmonic dominate its "high" band, so the filter
//! meter read −0.5 dB where the spectrum read +2.3 dB (a −2 st shift of the singing test voice).
//! The tilt applied is the asked one plus a correction that integrates the error, slowly (a
//! running mean's time constant), since one frame's error swings by ±5 dB with the vowel. A
//! loop, not a one-off estimate, because the tilt is a broad shelf and what it does to the ratio
//! depends on where a voice's energy sits: corrected open-loop by the measured difference, a
//! −2 st, −4 dB sung voice still read only −1.3 dB.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// The alpha ratio's bands.
const LOW_BAND_HZ: (f32, f32) = (50.0, 1_000.0);
const HIGH_BAND_HZ: (f32, f32) = (1_000.0, 5_000.0);
/// Shortest measurement frame: resolves harmonics 50 Hz apart and holds two cycles of a 100 Hz
/// voice; the frame is the next power of two at the rate.
const MIN_FRAME_S: f32 = 0.020;
/// Time constant of the running mean, in voiced time: a few syllables, so the correction follows
/// the voice's register and the controls, not each vowel's own colour.
const MEMORY_S: f32 = 1.5;
/// Frames whose mean voicing weight (the transform's 20 ms follower) is below this are left out:
/// consonants and the edges of vowels, where Studio's moved timing puts unlike sounds side by
/// side in dry and wet.
const MIN_VOICING: f32 = 0.9;
/// One frame's error counts at most this much, so a frame that lines up a vowel against a
/// consonant cannot swing the mean.
const MAX_FRAME_DIFFERENCE_DB: f32 = 6.0;
/// The correction never exceeds this: beyond it something other than brightness differs. At ±4
/// dB the loop was pinned on sung sad (alpha −2.47 dB for −3.5; ±6: −2.69; ±8: −2.85; ±12:
/// −2.90, `cargo xtask emotion-eval`) and a +3 st level alone left +0.56 dB of drift (+0.08 at ±8).
const MAX_CORRECTION_DB: f32 = 8.0;
/// Below this low-band energy per sample a frame is silence.
const MIN_LOW_BAND_POWER: f32 = 1e-10;

/// The extra tilt that makes the finished voice as much brighter than the input as asked.
pub struct BrightnessMatch {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// The frame being collected, dry and wet.
    dry_frame: Vec<f32>,
    wet_frame: Vec<f32>,
    filled: usize,
    voicing_sum: f32,
    /// FFT input, output and scratch.
    windowed: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Bins of each band.
    low_bins: (usize, usize),
    high_bins: (usize, usize),
    /// Sum over the frame of the tilt asked, dB.
    asked_sum_db: f32,
    /// Frames measured so far: the loop's gain is 1/frames (a running average of the errors)
    /// until it reaches the memory's.
    frames_taken: u32,
    memory_frames: f32,
    correction_db: f32,
}

impl BrightnessMatch {
    pub fn new(sample_rate_hz: f32) -> Self {
        let frame_len = ((MIN_FRAME_S * sample_rate_hz).ceil() as usize).next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(frame_len);
        let bin_hz = sample_rate_hz / frame_len as f32;
        let nyquist_bin = frame_len / 2;
        let bins = |(low_hz, high_hz): (f32, f32)| {
            let first = ((low_hz / bin_hz).ceil() as usize).min(nyquist_bin);
            let end = ((high_hz / bin_hz).ceil() as usize).min(nyquist_bin + 1);
            (first, end.max(first))
        };
        let window = (0..frame_len)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / frame_len as f32).cos())
            .collect();
        Self {
            window,
            dry_frame: vec![0.0; frame_len],
            wet_frame: vec![0.0; frame_len],
            filled: 0,
            voicing_sum: 0.0,
            asked_sum_db: 0.0,
            windowed: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            low_bins: bins(LOW_BAND_HZ),
            high_bins: bins(HIGH_BAND_HZ),
            frames_taken: 0,
            memory_frames: MEMORY_S * sample_rate_hz / frame_len as f32,
            correction_db: 0.0,
        }
    }

    /// Forgets the voice: the correction starts again from none.
    pub fn reset(&mut self) {
        self.filled = 0;
        self.voicing_sum = 0.0;
        self.asked_sum_db = 0.0;
        self.frames_taken = 0;
        self.correction_db = 0.0;
    }

    /// The tilt (dB of alpha ratio) to apply on top of the asked one.
    pub fn correction_db(&self) -> f32 {
        self.correction_db
    }

    /// One sample of the aligned dry input, the finished voice, the voicing weight there and
    /// the tilt asked (dB, relative to the input).
    #[inline]
    pub fn push(&mut self, dry: f32, wet: f32, voicing: f32, asked_tilt_db: f32) {
        self.dry_frame[self.filled] = dry;
        self.wet_frame[self.filled] = wet;
        self.voicing_sum += voicing;
        self.asked_sum_db += asked_tilt_db;
        self.filled += 1;
        if self.filled == self.dry_frame.len() {
            self.close_frame();
        }
    }

    fn close_frame(&mut self) {
        let samples = self.filled;
        let voiced = self.voicing_sum >= MIN_VOICING * samples as f32;
        let asked_db = self.asked_sum_db / samples as f32;
        self.filled = 0;
        self.voicing_sum = 0.0;
        self.asked_sum_db = 0.0;
        if !voiced {
            return;
        }
        let (Some(dry), Some(wet)) = (self.alpha_db(true), self.alpha_db(false)) else {
            return;
        };
        let error_db =
            (wet - dry - asked_db).clamp(-MAX_FRAME_DIFFERENCE_DB, MAX_FRAME_DIFFERENCE_DB);
        self.frames_taken = self.frames_taken.saturating_add(1);
        let gain = (1.0 / self.frames_taken as f32).max(1.0 / self.memory_frames);
        self.correction_db =
            (self.correction_db - gain * error_db).clamp(-MAX_CORRECTION_DB, MAX_CORRECTION_DB);
    }

    /// The alpha ratio (dB) of the dry or the wet frame; None for silence.
    fn alpha_db(&mut self, dry: bool) -> Option<f32> {
        let frame = if dry {
            &self.dry_frame
        } else {
            &self.wet_frame
        };
        for ((slot, x), w) in self.windowed.iter_mut().zip(frame).zip(&self.window) {
            *slot = x * w;
        }
        self.fft
            .process_with_scratch(&mut self.windowed, &mut self.spectrum, &mut self.scratch)
            .ok()?;
        let energy = |(first, end): (usize, usize)| -> f32 {
            self.spectrum[first..end].iter().map(|c| c.norm_sqr()).sum()
        };
        let (low, high) = (energy(self.low_bins), energy(self.high_bins));
        let per_sample = low / (self.window.len() as f32).powi(2);
        (per_sample >= MIN_LOW_BAND_POWER && high > 0.0 && high.is_finite())
            .then(|| 10.0 * (high / low).log10())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const RATE: f32 = 48_000.0;

    /// A vowel-like buzz: harmonics of 150 Hz falling at `slope_db_per_octave`, at 48 kHz.
    pub(in crate::emotion) fn buzz(slope_db_per_octave: f32, seconds: f32) -> Vec<f32> {
        let n = (seconds * RATE) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE;
                (1..=40)
                    .map(|k| {
                        let gain = 10f32.powf(slope_db_per_octave * (k as f32).log2() / 20.0);
                        0.1 * gain * (std::f32::consts::TAU * 150.0 * k as f32 * t).sin()
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn the_same_voice_both_sides_needs_no_correction() {
        let voice = buzz(-6.0, 2.0);
        let mut meter = BrightnessMatch::new(RATE);
        voice.iter().for_each(|&x| meter.push(x, x, 1.0, 0.0));
        assert!(meter.correction_db().abs() < 1e-3);
    }

    #[test]
    fn unvoiced_and_silent_frames_are_not_measured() {
        let dry = buzz(-6.0, 1.0);
        let wet = buzz(-12.0, 1.0);
        let mut meter = BrightnessMatch::new(RATE);
        dry.iter()
            .zip(&wet)
            .for_each(|(&d, &w)| meter.push(d, w, 0.5, 0.0));
        (0..48_000).for_each(|_| meter.push(0.0, 0.0, 1.0, 0.0));
        assert_eq!(meter.correction_db(), 0.0);
    }
}
