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
//! estimates of a change (an onset, a new rate) arrive later, by the figures `cargo xtask
//! vibrato-eval` prints.

mod atoms;
mod edit;

pub use edit::{ADDED_VIBRATO_FADE_IN_S, AddedVibrato, ContourEditor, VibratoEdit};

use atoms::{AtomFit, RateAtoms};

use crate::pitch::{AnalysisMode, HOP_S, PitchFrame};

/// Vibrato rates the atoms cover, Hz: the band between intonation and jitter.
pub const VIBRATO_BAND_HZ: (f32, f32) = (3.0, 9.0);
/// Spacing of the atoms' rates; the fit refines the rate between them.
const RATE_STEP_HZ: f32 = 0.25;

/// Studio look-ahead: 100 ms, which lets the intonation smoother be symmetric with a ≈ 3 Hz
/// cut-off and centres every atom on its frame.
pub const STUDIO_LOOKAHEAD_FRAMES: usize = 20;

/// Periods of its rate each atom reaches into the past. More periods mean steadier estimates and
/// slower reactions; Live has no look-ahead, so it needs more past to be as steady.
const STUDIO_PAST_PERIODS: f32 = 1.25;
const LIVE_PAST_PERIODS: f32 = 2.0;

/// Frames of past the intonation fit reads (100 ms): with the Studio look-ahead it is a
/// triangular window of ±100 ms, whose response falls 3 dB at ≈ 3.2 Hz.
const INTONATION_PAST_FRAMES: usize = 20;

/// Unvoiced gaps up to this long (150 ms: a consonant inside a phrase) are bridged by a straight
/// line between the pitches on either side; longer gaps start a new phrase, which is extended
/// backwards flat so that nothing from the previous phrase leaks into it.
const MAX_BRIDGED_GAP_FRAMES: u64 = 30;

/// Presence probabilities where the vibrato component starts to take the fitted sinusoid and
/// where it takes all of it.
const FULL_WEIGHT_PRESENCE: (f32, f32) = (0.25, 0.75);

/// Time constants of the smoothing of the fit across frames: Live fits at the edge of its
/// window, where least squares is noisiest, and needs more.
const LIVE_SMOOTHING_S: f32 = 0.04;
const STUDIO_SMOOTHING_S: f32 = 0.02;

/// Logistic weights of vibrato presence over [`VibratoFeatures::inputs`], from
/// `cargo xtask fit-vibrato`.
pub const PRESENCE_WEIGHTS: [f32; 4] = [-2.109, 4.552, 0.582, -1.865];

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
}

impl VibratoFeatures {
    /// The model's inputs: a constant, the share, and the logarithms of extent (over 5 cents)
    /// and misfit.
    pub fn inputs(&self) -> [f32; 4] {
        [
            1.0,
            self.periodic_share,
            (self.extent_cents.max(1e-3) / 5.0).ln(),
            self.misfit_ratio.max(1e-3).ln(),
        ]
    }

    pub fn presence_probability(&self) -> f32 {
        let z: f32 = self
            .inputs()
            .iter()
            .zip(PRESENCE_WEIGHTS)
            .map(|(x, w)| x * w)
            .sum();
        1.0 / (1.0 + (-z).exp())
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
    /// Frames awaiting their look-ahead, by frame number modulo `lookahead_frames + 1`.
    pending: Vec<Option<PitchFrame>>,
    /// Frames pushed since the reset.
    received: u64,
    /// The newest voiced frame's number and pitch.
    last_voiced: Option<(u64, f32)>,
    /// Local-linear fit of the intonation at the frame, as weights over the frames from
    /// `INTONATION_PAST_FRAMES` before it to `lookahead_frames` after it.
    intonation_weights: Vec<f32>,
    /// The window being fitted, relative to its frame's pitch; `capacity` long.
    window: Vec<f32>,
    /// Per-frame factor of the fit's smoothing, and its state: rate, and the vibrato's phasor
    /// (extent·cos phase, extent·sin phase).
    smoothing: f32,
    rate_hz: f32,
    phasor: (f32, f32),
}

impl ContourDecomposer {
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
        let capacity = atoms.max_past() + lookahead_frames + 1;
        Self {
            atoms,
            lookahead_frames,
            contour: vec![0.0; 2 * capacity],
            capacity,
            pending: vec![None; lookahead_frames + 1],
            received: 0,
            last_voiced: None,
            intonation_weights: local_linear_weights(INTONATION_PAST_FRAMES, lookahead_frames),
            window: vec![0.0; capacity],
            smoothing: (-(HOP_S as f32) / smoothing_s).exp(),
            rate_hz: 0.0,
            phasor: (0.0, 0.0),
        }
    }

    /// Frames between a pitch frame going in and its decomposition coming out.
    pub fn lookahead_frames(&self) -> usize {
        self.lookahead_frames
    }

    pub fn reset(&mut self) {
        self.contour.fill(0.0);
        self.pending.fill(None);
        self.received = 0;
        self.rate_hz = 0.0;
        self.phasor = (0.0, 0.0);
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
            self.bridge_gap_before(newest, cents);
            self.last_voiced = Some((newest, cents));
            self.write(newest, cents);
        } else {
            // Held until the voice returns, when the gap is redrawn.
            let held = self.last_voiced.map_or(0.0, |(_, cents)| cents);
            self.write(newest, held);
        }
        let decided = newest.checked_sub(self.lookahead_frames as u64)?;
        let pitch = self.pending[(decided % self.pending.len() as u64) as usize]?;
        Some(self.decompose(decided, pitch))
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
                let span = (frame - last) as f32;
                for gap_frame in (last + 1).max(oldest_kept)..frame {
                    let progress = (gap_frame - last) as f32 / span;
                    self.write(gap_frame, last_cents + progress * (cents - last_cents));
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
        };
        let presence = if pitch.voiced() {
            features.presence_probability()
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
        ContourFrame {
            pitch,
            pitch_cents: centre,
            intonation_cents,
            vibrato_cents,
            jitter_cents: centre - intonation_cents - vibrato_cents,
            vibrato: VibratoTrack {
                presence_probability: presence,
                ..vibrato
            },
            vibrato_features: features,
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
        let (re, im) = if voiced {
            let a = self.smoothing;
            self.rate_hz = a * self.rate_hz + (1.0 - a) * fit.rate_hz;
            let (sin, cos) = (std::f32::consts::TAU * self.rate_hz * HOP_S as f32).sin_cos();
            let (pre, pim) = self.phasor;
            let turned = (pre * cos - pim * sin, pre * sin + pim * cos);
            (
                a * turned.0 + (1.0 - a) * measured.0,
                a * turned.1 + (1.0 - a) * measured.1,
            )
        } else {
            self.rate_hz = fit.rate_hz;
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
