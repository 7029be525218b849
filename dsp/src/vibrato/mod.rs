//! The pitch contour split into intonation, vibrato and jitter, streamed frame by frame (the
//! VibE-SVC idea: a wavelet view of F0 separates the melody from the vibrato band and the fast
//! irregularities).
//!
//! The contour, in cents, is bridged across unvoiced gaps and analysed by a bank of complex atoms
//! at vibrato rates 3–9 Hz ([`atoms`]). The strongest atom is the vibrato: its amplitude, phase
//! and instantaneous rate form the [`VibratoTrack`], and its sinusoid, weighted by how sure we are
//! that it is vibrato, is the vibrato component. Intonation is the contour without that sinusoid,
//! smoothed by a local-linear fit whose cut-off (≈ 3 Hz) is set in Hz; jitter is what is left.
//! The three components sum to the contour exactly.
//!
//! Dyadic wavelet levels were not used: at the 200 Hz frame rate their band edges fall at
//! 3.1, 6.25 and 12.5 Hz, so the 4–8 Hz range of real vibrato would straddle two levels, and a
//! real-valued detail signal still needs another step to give rate and phase. The complex
//! atoms give rate, extent and phase directly, with band edges where the issue puts them.
//!
//! Studio mode looks [`STUDIO_LOOKAHEAD_FRAMES`] ahead (adding that to the plugin's latency) so
//! every estimate is centred on its frame; Live mode fits the past only and adds no latency; its
//! rate and extent describe the vibrato [`LIVE_ESTIMATE_DELAY_FRAMES`] earlier, and a change (an
//! onset, a new rate) shows later still, by the figures `cargo xtask vibrato-eval` prints.

mod atoms;
mod edit;

pub use edit::{
    ADDED_VIBRATO_FADE_IN_S, AddedVibrato, ContourEditor, VibratoEdit, VibratoForecast,
};

use atoms::{AtomFit, RateAtoms};

use crate::pitch::{AnalysisMode, HOP_S, PitchFrame};

/// Vibrato rates the atoms cover, Hz: the band between intonation and jitter.
pub const VIBRATO_BAND_HZ: (f32, f32) = (3.0, 9.0);
/// Spacing of the atoms' rates; the fit refines the rate between them.
const RATE_STEP_HZ: f32 = 0.25;

/// Studio look-ahead: 100 ms, which lets the intonation smoother be symmetric with a ≈ 3 Hz
/// cut-off and every atom see both sides of its frame.
pub const STUDIO_LOOKAHEAD_FRAMES: usize = 20;

/// Periods of its rate each atom reaches into the past. More periods mean steadier estimates and
/// slower reactions; Live has no look-ahead, so it needs more past to be as steady.
const STUDIO_PAST_PERIODS: f32 = 1.5;
const LIVE_PAST_PERIODS: f32 = 2.0;

/// Live fits only the past, so what it says about the vibrato's rate and extent describes the
/// vibrato about this long ago (50 ms): the delay at which `cargo xtask vibrato-eval` finds its
/// errors against the truth smallest, shorter than its windows' centre of mass (75–100 ms) because
/// the drifting-amplitude term extrapolates towards the newest frame.
pub const LIVE_ESTIMATE_DELAY_FRAMES: usize = 10;

/// Frames of past the intonation fit reads (100 ms): with the Studio look-ahead it is a
/// triangular window of ±100 ms, whose response falls 3 dB at ≈ 3.2 Hz.
const INTONATION_PAST_FRAMES: usize = 20;

/// Unvoiced gaps up to this long (150 ms: a consonant inside a phrase) are bridged by a straight
/// line between the pitches on either side, with the vibrato carried on over it; longer gaps
/// start a new phrase, which is extended backwards flat so that nothing from the previous phrase
/// leaks into it.
const MAX_BRIDGED_GAP_FRAMES: u64 = 30;

/// Presence probabilities where the vibrato component starts to take the fitted sinusoid and
/// where it takes all of it.
const FULL_WEIGHT_PRESENCE: (f32, f32) = (0.25, 0.75);

/// Time constants of the smoothing of the fit across frames, (vibrato phasor, rate): Live fits at
/// the edge of its window, where least squares is noisiest, and its rate needs more smoothing;
/// its phasor not, as any lag there puts the vibrato component out of phase with the voice.
const LIVE_SMOOTHING_S: (f32, f32) = (0.02, 0.06);
const STUDIO_SMOOTHING_S: (f32, f32) = (0.02, 0.02);

/// Frames over which the rate is measured as the slope of the fitted phase (50 ms). The phase
/// progresses at the true rate even where the fit's own instantaneous-frequency estimate is
/// biased (a vibrato's amplitude rising or levelling off inside the window).
const RATE_SPAN_FRAMES: usize = 10;
/// Largest correction one frame's phase may make to the fit's rate: 2 Hz over one hop.
const MAX_PHASE_DEVIATION_RAD: f32 = std::f32::consts::TAU * 2.0 * HOP_S as f32;

/// A fit cannot be better than the noise: below this, a smaller misfit says nothing more (and a
/// noiseless flat contour, whose misfit is 0, must not read as vibrato).
const MIN_MISFIT_RATIO: f32 = 0.5;

/// A voiced frame more than this away from the previous one is a suspected tracker error (an
/// octave is 1200 cents; the fastest portamento moves ≈ 60 cents per 5 ms frame)...
const OUTLIER_JUMP_CENTS: f32 = 200.0;
/// ...with the tolerance widening by this per frame held (the voice moves on meanwhile), up to
/// a limit below a fifth (702 cents, the next most common error)...
const OUTLIER_DRIFT_CENTS_PER_FRAME: f32 = 40.0;
const MAX_OUTLIER_TOLERANCE_CENTS: f32 = 600.0;
/// ...and a jump that lasts this long (100 ms) is taken as real.
const MAX_OUTLIER_FRAMES: u64 = 20;

/// Half-extents below the first are not vibrato, above the second fully can be (the test voice's
/// and singers' smallest vibratos are ≈ 10 cents).
const AUDIBLE_EXTENT_CENTS: (f32, f32) = (3.0, 6.0);

/// Logistic weights of vibrato presence over [`VibratoFeatures::inputs`], one set per mode (a
/// fit at the edge of its window, as in Live, is noisier and reads differently), from
/// `cargo xtask fit-vibrato`.
pub const LIVE_PRESENCE_WEIGHTS: [f32; PRESENCE_INPUTS] = [-2.208, 5.226, 0.600, -1.123, -4.884];
pub const STUDIO_PRESENCE_WEIGHTS: [f32; PRESENCE_INPUTS] = [-1.699, 4.567, 1.065, -1.586, -4.879];

/// Inputs of the presence model, the constant included.
pub const PRESENCE_INPUTS: usize = 5;

/// The presence weights `mode` uses.
pub fn presence_weights(mode: AnalysisMode) -> [f32; PRESENCE_INPUTS] {
    match mode {
        AnalysisMode::Live => LIVE_PRESENCE_WEIGHTS,
        AnalysisMode::Studio => STUDIO_PRESENCE_WEIGHTS,
    }
}

/// What the presence probability is computed from: the best atom's fit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VibratoFeatures {
    /// Share of the detrended contour the sinusoid explains (0…1).
    pub periodic_share: f32,
    /// The sinusoid's amplitude, cents.
    pub extent_cents: f32,
    /// What the fit leaves unexplained over the contour's noise: near 1 for vibrato, large for a
    /// glide between notes, which a sinusoid can imitate over part of a period.
    pub misfit_ratio: f32,
    /// Net change over total movement of the contour across the last vibrato period around the
    /// frame (0…1): near 0 for vibrato, which comes back to where it was each period, near 1 for
    /// a glide, which a sinusoid's first half-period imitates until the glide ends.
    pub monotony: f32,
}

impl VibratoFeatures {
    /// The model's inputs: a constant, the share, the logarithms of extent (over 5 cents) and
    /// misfit, and the monotony.
    pub fn inputs(&self) -> [f32; PRESENCE_INPUTS] {
        [
            1.0,
            self.periodic_share,
            (self.extent_cents.max(1e-3) / 5.0).ln(),
            self.misfit_ratio.max(MIN_MISFIT_RATIO).ln(),
            self.monotony,
        ]
    }

    /// The logistic model's answer with `weights`, times an audibility gate on the extent: a
    /// sinusoid of a few cents is no vibrato a listener hears, however periodic.
    pub fn presence_probability(&self, weights: &[f32; PRESENCE_INPUTS]) -> f32 {
        let z: f32 = self.inputs().iter().zip(weights).map(|(x, w)| x * w).sum();
        let (quiet, audible) = AUDIBLE_EXTENT_CENTS;
        let gate = ((self.extent_cents - quiet) / (audible - quiet)).clamp(0.0, 1.0);
        gate * gate * (3.0 - 2.0 * gate) / (1.0 + (-z).exp())
    }
}

/// Converts F0 to cents above MIDI note 0 (8.18 Hz), so 6900 is A4 = 440 Hz.
pub fn hz_to_cents(f0_hz: f32) -> f32 {
    1200.0 * (f0_hz / 440.0).log2() + 6900.0
}

/// Converts cents above MIDI note 0 back to Hz.
pub fn cents_to_hz(cents: f32) -> f32 {
    440.0 * ((cents - 6900.0) / 1200.0).exp2()
}

/// The vibrato at one frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VibratoTrack {
    /// Probability that the contour is vibrato here rather than a straight note, glide or noise.
    pub presence_probability: f32,
    /// Instantaneous rate.
    pub rate_hz: f32,
    /// Half the peak-to-peak excursion (the sine's amplitude), the convention used throughout
    /// Affetto: 50 cents is a vibrato swinging a semitone from top to bottom.
    pub extent_cents: f32,
    /// Phase, radians in −π..π: the vibrato is `extent_cents · sin(phase_rad)`.
    pub phase_rad: f32,
}

/// One frame of the decomposed contour. `intonation + vibrato + jitter == pitch`, all in cents
/// above MIDI note 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContourFrame {
    pub pitch: PitchFrame,
    /// The analysed pitch, or across an unvoiced frame the bridge the decomposition used.
    pub pitch_cents: f32,
    pub intonation_cents: f32,
    pub vibrato_cents: f32,
    pub jitter_cents: f32,
    pub vibrato: VibratoTrack,
    /// What `vibrato.presence_probability` was computed from.
    pub vibrato_features: VibratoFeatures,
}

/// Streams [`PitchFrame`]s in and [`ContourFrame`]s out, `lookahead_frames` later.
/// `new` allocates; `push` and `reset` do not.
pub struct ContourDecomposer {
    atoms: RateAtoms,
    lookahead_frames: usize,
    /// Bridged contour in cents, by frame number modulo `capacity`, written twice (at `i` and
    /// `i + capacity`) so any window of `capacity` frames is one slice. `capacity` is the longest
    /// atom window.
    contour: Vec<f32>,
    capacity: usize,
    /// The analysed pitch by frame number modulo `capacity` (held across unvoiced frames): what
    /// the contour above replaced while it held or bridged.
    analysed: Vec<f32>,
    /// First frame of the current run of suspected tracker errors, held in `contour`.
    outlier_since: Option<u64>,
    /// The newest decomposed frame's number, vibrato weight and vibrato, from which a bridge
    /// across a short gap carries the vibrato on.
    latest_vibrato: Option<(u64, f32, VibratoTrack)>,
    /// Frames awaiting their look-ahead, by frame number modulo `lookahead_frames + 1`.
    pending: Vec<Option<PitchFrame>>,
    /// Frames pushed since the reset.
    received: u64,
    /// The newest voiced frame's number and pitch.
    last_voiced: Option<(u64, f32)>,
    /// Local-linear fit of the intonation at the frame, as weights over the frames from
    /// `INTONATION_PAST_FRAMES` before it to `lookahead_frames` after it.
    intonation_weights: Vec<f32>,
    /// The mode's presence model.
    presence_weights: [f32; PRESENCE_INPUTS],
    /// The window being fitted, relative to its frame's pitch; `capacity` long.
    window: Vec<f32>,
    /// Per-frame factors of the fit's smoothing (phasor, rate), and its state: the rate, and
    /// the vibrato's phasor (extent·cos phase, extent·sin phase).
    smoothing: f32,
    rate_smoothing: f32,
    rate_hz: f32,
    phasor: (f32, f32),
    /// The fit's phase, unwrapped across voiced frames, for the last `RATE_SPAN_FRAMES`
    /// frames by frame count modulo that; the rate is its slope.
    phase_history: [f64; RATE_SPAN_FRAMES],
    phase_frames: u64,
    unwrapped_phase_rad: f64,
    last_phase_rad: f32,
}

impl ContourDecomposer {
    /// # Panics
    ///
    /// Only if the constants above are changed so that an atom reaches less far back than the
    /// intonation fit; no input can make it panic.
    pub fn new(mode: AnalysisMode) -> Self {
        let (past_periods, lookahead_frames, smoothing_s) = match mode {
            AnalysisMode::Live => (LIVE_PAST_PERIODS, 0, LIVE_SMOOTHING_S),
            AnalysisMode::Studio => (
                STUDIO_PAST_PERIODS,
                STUDIO_LOOKAHEAD_FRAMES,
                STUDIO_SMOOTHING_S,
            ),
        };
        let steps = ((VIBRATO_BAND_HZ.1 - VIBRATO_BAND_HZ.0) / RATE_STEP_HZ).round() as usize;
        let rates: Vec<f32> = (0..=steps)
            .map(|k| VIBRATO_BAND_HZ.0 + RATE_STEP_HZ * k as f32)
            .collect();
        let atoms = RateAtoms::new(&rates, past_periods, lookahead_frames);
        // The intonation fit subtracts the chosen atom's sinusoid over its own window.
        assert!(
            atoms.min_past() >= INTONATION_PAST_FRAMES,
            "atoms too short for the intonation fit"
        );
        let capacity = atoms.max_past() + lookahead_frames + 1;
        Self {
            atoms,
            lookahead_frames,
            contour: vec![0.0; 2 * capacity],
            capacity,
            pending: vec![None; lookahead_frames + 1],
            analysed: vec![0.0; capacity],
            outlier_since: None,
            latest_vibrato: None,
            received: 0,
            last_voiced: None,
            intonation_weights: local_linear_weights(INTONATION_PAST_FRAMES, lookahead_frames),
            window: vec![0.0; capacity],
            presence_weights: presence_weights(mode),
            smoothing: (-(HOP_S as f32) / smoothing_s.0).exp(),
            rate_smoothing: (-(HOP_S as f32) / smoothing_s.1).exp(),
            rate_hz: 0.0,
            phasor: (0.0, 0.0),
            phase_history: [0.0; RATE_SPAN_FRAMES],
            phase_frames: 0,
            unwrapped_phase_rad: 0.0,
            last_phase_rad: 0.0,
        }
    }

    /// Frames between a pitch frame going in and its decomposition coming out.
    pub fn lookahead_frames(&self) -> usize {
        self.lookahead_frames
    }

    /// How far back the rate, extent and presence of a frame's [`VibratoTrack`] are centred:
    /// 0 in Studio mode, [`LIVE_ESTIMATE_DELAY_FRAMES`] in Live mode. (The vibrato component and
    /// phase are the fit's extrapolation to the frame itself.)
    pub fn estimate_delay_frames(&self) -> usize {
        if self.lookahead_frames == 0 {
            LIVE_ESTIMATE_DELAY_FRAMES
        } else {
            0
        }
    }

    pub fn reset(&mut self) {
        self.contour.fill(0.0);
        self.pending.fill(None);
        self.analysed.fill(0.0);
        self.outlier_since = None;
        self.latest_vibrato = None;
        self.received = 0;
        self.rate_hz = 0.0;
        self.phasor = (0.0, 0.0);
        self.phase_frames = 0;
        self.last_voiced = None;
    }

    /// Adds the next decided pitch frame; returns the decomposition of the frame
    /// `lookahead_frames` earlier once there is one.
    pub fn push(&mut self, frame: &PitchFrame) -> Option<ContourFrame> {
        let newest = self.received;
        self.received += 1;
        let pending_slot = (newest % self.pending.len() as u64) as usize;
        self.pending[pending_slot] = Some(*frame);
        if frame.voiced() {
            let cents = hz_to_cents(frame.f0_hz);
            let slot = self.slot(newest);
            self.analysed[slot] = cents;
            self.push_voiced(newest, cents);
        } else {
            // Held until the voice returns, when the gap is redrawn.
            let held = self.last_voiced.map_or(0.0, |(_, cents)| cents);
            let slot = self.slot(newest);
            self.analysed[slot] = held;
            self.write(newest, held);
        }
        let decided = newest.checked_sub(self.lookahead_frames as u64)?;
        let pitch = self.pending[(decided % self.pending.len() as u64) as usize]?;
        Some(self.decompose(decided, pitch))
    }

    /// Adds a voiced frame to the contour the atoms fit, holding the last good pitch across
    /// sudden jumps (a tracker's octave error lasting a few frames) and redrawing them as a gap
    /// when the pitch comes back; a jump that lasts is a real one, and its frames are restored.
    fn push_voiced(&mut self, frame: u64, cents: f32) {
        // Within a phrase (after a short gap too: a tracker often comes back from a dropout an
        // octave off) a sudden jump is suspect.
        let jump = self.last_voiced.is_some_and(|(last, last_cents)| {
            let tolerance = (OUTLIER_JUMP_CENTS
                + OUTLIER_DRIFT_CENTS_PER_FRAME * (frame - last - 1) as f32)
                .min(MAX_OUTLIER_TOLERANCE_CENTS);
            frame - last <= MAX_BRIDGED_GAP_FRAMES && (cents - last_cents).abs() > tolerance
        });
        let since = self.outlier_since;
        if jump && since.is_none_or(|since| frame - since < MAX_OUTLIER_FRAMES) {
            self.outlier_since = Some(since.unwrap_or(frame));
            let held = self.last_voiced.map_or(cents, |(_, held)| held);
            self.write(frame, held);
            return;
        }
        match self.outlier_since.take() {
            Some(since) if jump => {
                let oldest_kept = (frame + 1).saturating_sub(self.capacity as u64);
                for restored in since.max(oldest_kept)..frame {
                    let value = self.analysed[self.slot(restored)];
                    self.write(restored, value);
                }
            }
            _ => self.bridge_gap_before(frame, cents),
        }
        self.last_voiced = Some((frame, cents));
        self.write(frame, cents);
    }

    fn slot(&self, frame: u64) -> usize {
        (frame % self.capacity as u64) as usize
    }

    fn write(&mut self, frame: u64, cents: f32) {
        let slot = self.slot(frame);
        self.contour[slot] = cents;
        self.contour[slot + self.capacity] = cents;
    }

    /// Redraws the unvoiced frames before `frame`, still in the ring, now that the voice is back
    /// at `cents`.
    fn bridge_gap_before(&mut self, frame: u64, cents: f32) {
        let oldest_kept = (frame + 1).saturating_sub(self.capacity as u64);
        match self.last_voiced {
            Some((last, last_cents)) if frame - last <= MAX_BRIDGED_GAP_FRAMES => {
                // A straight line under the vibrato, which carries on through the gap.
                let latest_vibrato = self.latest_vibrato;
                let vibrato_at = |f: u64| match latest_vibrato {
                    Some((decomposed, weight, v)) => {
                        let elapsed_s = (f as f32 - decomposed as f32) * HOP_S as f32;
                        weight
                            * v.extent_cents
                            * (v.phase_rad + std::f32::consts::TAU * v.rate_hz * elapsed_s).sin()
                    }
                    None => 0.0,
                };
                let (from, to) = (last_cents - vibrato_at(last), cents - vibrato_at(frame));
                let span = (frame - last) as f32;
                for gap_frame in (last + 1).max(oldest_kept)..frame {
                    let progress = (gap_frame - last) as f32 / span;
                    self.write(
                        gap_frame,
                        from + progress * (to - from) + vibrato_at(gap_frame),
                    );
                }
            }
            // A new phrase: everything in the ring is gap or the previous phrase, already
            // decomposed; the slots not yet written stand for the time before the first frame.
            _ => self.contour.fill(cents),
        }
    }

    fn decompose(&mut self, frame: u64, pitch: PitchFrame) -> ContourFrame {
        // The window runs from the longest atom's past to the newest frame; before the first
        // frame the ring holds the flat extension `bridge_gap_before` drew.
        let start =
            (frame as i64 - self.atoms.max_past() as i64).rem_euclid(self.capacity as i64) as usize;
        let centre = self.contour[self.slot(frame)];
        let pitch_cents = if pitch.voiced() {
            self.analysed[self.slot(frame)]
        } else {
            centre
        };
        for (w, &c) in self
            .window
            .iter_mut()
            .zip(&self.contour[start..start + self.capacity])
        {
            *w = c - centre;
        }
        let fit = self.atoms.best_fit(&self.window);
        let features = VibratoFeatures {
            periodic_share: fit.periodic_share,
            extent_cents: fit.extent_cents,
            misfit_ratio: fit.misfit_ratio,
            monotony: self.monotony(fit.rate_hz),
        };
        let presence = if pitch.voiced() {
            features.presence_probability(&self.presence_weights)
        } else {
            0.0
        };
        let weight = vibrato_weight(presence);
        let vibrato = self.smooth(&fit, pitch.voiced());

        // Intonation: the contour minus the weighted sinusoid, smoothed.
        let first = self.atoms.max_past() - INTONATION_PAST_FRAMES;
        let intonation_offset: f32 = self
            .intonation_weights
            .iter()
            .enumerate()
            .map(|(k, weight_k)| {
                let offset = k as isize - INTONATION_PAST_FRAMES as isize;
                weight_k * (self.window[first + k] - weight * self.atoms.sinusoid_at(&fit, offset))
            })
            .sum();
        let intonation_cents = centre + intonation_offset;
        let vibrato_cents = weight * vibrato.extent_cents * vibrato.phase_rad.sin();
        if pitch.voiced() {
            self.latest_vibrato = Some((frame, weight, vibrato));
        }
        ContourFrame {
            pitch,
            pitch_cents,
            intonation_cents,
            vibrato_cents,
            jitter_cents: pitch_cents - intonation_cents - vibrato_cents,
            vibrato: VibratoTrack {
                presence_probability: presence,
                ..vibrato
            },
            vibrato_features: features,
        }
    }

    /// Net over total movement of the window across one period of `rate_hz`, centred on the
    /// fitted frame as far as the look-ahead allows.
    fn monotony(&self, rate_hz: f32) -> f32 {
        let (low, high) = VIBRATO_BAND_HZ;
        let period = (1.0 / (rate_hz.clamp(low, high) * HOP_S as f32)).round() as usize;
        let ahead = (period / 2).min(self.lookahead_frames);
        let end = self.atoms.max_past() + ahead;
        let span = &self.window[end.saturating_sub(period)..=end];
        let movement: f32 = span.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
        if movement > 0.0 {
            (span[span.len() - 1] - span[0]).abs() / movement
        } else {
            0.0
        }
    }

    /// Smooths the fit's rate, and its amplitude and phase together as one phasor that turns at
    /// the rate between frames, so a steady vibrato passes unchanged while frame-to-frame noise
    /// in the fit is averaged away.
    fn smooth(&mut self, fit: &AtomFit, voiced: bool) -> VibratoTrack {
        let measured = (
            fit.extent_cents * fit.phase_rad.cos(),
            fit.extent_cents * fit.phase_rad.sin(),
        );
        // The phase step from the previous frame, taken relative to what the fit's own rate
        // predicts and limited, so noise near a phase wrap cannot slip a whole cycle.
        let expected_step = std::f32::consts::TAU * fit.rate_hz * HOP_S as f32;
        let deviation = wrap_phase(fit.phase_rad - self.last_phase_rad - expected_step);
        let step =
            expected_step + deviation.clamp(-MAX_PHASE_DEVIATION_RAD, MAX_PHASE_DEVIATION_RAD);
        self.last_phase_rad = fit.phase_rad;
        let (re, im) = if voiced {
            self.unwrapped_phase_rad += step as f64;
            let slot = (self.phase_frames % self.phase_history.len() as u64) as usize;
            let span_start = self.phase_history[slot];
            self.phase_history[slot] = self.unwrapped_phase_rad;
            self.phase_frames += 1;
            let measured_rate_hz = if self.phase_frames > RATE_SPAN_FRAMES as u64 {
                ((self.unwrapped_phase_rad - span_start)
                    / (std::f64::consts::TAU * RATE_SPAN_FRAMES as f64 * HOP_S))
                    as f32
            } else {
                fit.rate_hz
            };
            let r = self.rate_smoothing;
            self.rate_hz = r * self.rate_hz + (1.0 - r) * measured_rate_hz;
            let a = self.smoothing;
            let (sin, cos) = (std::f32::consts::TAU * self.rate_hz * HOP_S as f32).sin_cos();
            let (pre, pim) = self.phasor;
            let turned = (pre * cos - pim * sin, pre * sin + pim * cos);
            (
                a * turned.0 + (1.0 - a) * measured.0,
                a * turned.1 + (1.0 - a) * measured.1,
            )
        } else {
            self.rate_hz = fit.rate_hz;
            self.phase_frames = 0;
            measured
        };
        self.phasor = (re, im);
        VibratoTrack {
            presence_probability: 0.0,
            rate_hz: self.rate_hz,
            extent_cents: re.hypot(im),
            phase_rad: im.atan2(re),
        }
    }
}

/// `phase` wrapped into −π..π.
fn wrap_phase(phase: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    phase - TAU * ((phase + PI) / TAU).floor()
}

/// How much of the fitted sinusoid the vibrato component takes, from the presence probability:
/// all of it once vibrato is likely (so scaling the vibrato scales all of it), none when it is
/// unlikely, and a smooth blend between.
pub(crate) fn vibrato_weight(presence_probability: f32) -> f32 {
    let x = ((presence_probability - FULL_WEIGHT_PRESENCE.0)
        / (FULL_WEIGHT_PRESENCE.1 - FULL_WEIGHT_PRESENCE.0))
        .clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Weights whose dot product with a window (`past` frames before a frame to `future` after it)
/// is the value at the frame of a straight line fitted with triangular weights peaking there.
/// With `future == past` that is a triangular moving average; with no future it extrapolates the
/// recent slope, so a causal intonation follows glides without lagging.
fn local_linear_weights(past: usize, future: usize) -> Vec<f32> {
    let weight = |offset: isize| -> f64 {
        let half = if offset < 0 { past } else { future } as f64 + 1.0;
        1.0 - offset.unsigned_abs() as f64 / half
    };
    let offsets = -(past as isize)..=future as isize;
    let (mut s0, mut s1, mut s2) = (0.0, 0.0, 0.0);
    for offset in offsets.clone() {
        let (w, t) = (weight(offset), offset as f64);
        s0 += w;
        s1 += w * t;
        s2 += w * t * t;
    }
    // Intercept of weighted least squares: Σ w (s2 − s1 t) x / (s0 s2 − s1²).
    let determinant = s0 * s2 - s1 * s1;
    offsets
        .map(|offset| (weight(offset) * (s2 - s1 * offset as f64) / determinant) as f32)
        .collect()
}
