//! Streaming F0 and voicing analysis at a 5 ms hop, for voices from 60 to 1000 Hz.
//!
//! Host audio is band-limited and decimated ([`decimator`]), framed every 5 ms, analysed with
//! YIN plus pYIN-style candidate probabilities ([`yin`]; its difference function, the SIMD hot
//! loop in [`kernels`], is worked out lag by lag as samples arrive, [`difference_stream`]), and
//! decoded across frames by a Viterbi search ([`decoder`]) that removes octave errors. Live mode
//! decides each frame as soon as its window is complete; Studio mode waits a fixed number of
//! frames for the decoder's look-ahead, the first few of them for the background worker's neural
//! estimate ([`neural`]), which is fused into the frame's candidates if it is back in time.

mod decimator;
mod decoder;
mod difference_stream;
mod envelope;
pub mod kernels;
pub mod neural;
mod voicing;
mod yin;

pub use envelope::{LPC_ORDER, SpectralEnvelope};
use voicing::LevelReference;
pub use voicing::{VOICING_WEIGHTS, VoicingFeatures, voicing_probability};

use decimator::Decimator;
use decoder::PitchPathDecoder;
use difference_stream::{DifferenceStream, FrameSchedule};
use neural::{NEURAL_WAIT_FRAMES, NeuralLink, fusion};
use yin::{FrameCandidates, YinEstimator};

use crate::safety::sanitize_sample;

/// Analysis hop: one frame every 5 ms.
pub const HOP_S: f64 = 0.005;
pub const MIN_F0_HZ: f32 = 60.0;
pub const MAX_F0_HZ: f32 = 1000.0;

/// Frames Studio mode holds before deciding (80 ms): the first [`NEURAL_WAIT_FRAMES`] wait for
/// the worker's estimate, the rest are the decoder's look-ahead, long enough to outvote an
/// octave error lasting a few frames; all of it short enough for the 250 ms Studio budget.
const STUDIO_LOOKAHEAD_FRAMES: usize = 16;

/// Decimated samples smaller than this (−200 dBFS) are analysed as zero. The difference function
/// squares differences of samples; in a decaying tail those would be denormals, each costing up
/// to 100× on x86 (hosts set flush-to-zero, the CLI and tests do not). Two samples at least this
/// large differ by zero or by at least 2⁻⁵⁷, whose square is a normal float.
const ANALYSIS_FLOOR: f32 = 1e-10;

/// How far to look ahead, traded against latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisMode {
    /// Causal: each frame is decided when its window is complete (for monitoring while singing).
    Live,
    /// Decided with [`STUDIO_LOOKAHEAD_FRAMES`] of look-ahead (for mixing; the host compensates).
    Studio,
}

/// The analysis of one 5 ms frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchFrame {
    /// Frame number since the last reset; the frame describes the input around
    /// `index × HOP_S` seconds.
    pub index: u64,
    /// 0 when the frame is decided unvoiced.
    pub f0_hz: f32,
    /// Calibrated probability that the frame is voiced (see `voicing.rs`), before decoding: the
    /// decoder may still call a likely-voiced frame unvoiced, or the reverse.
    pub voicing_probability: f32,
    /// Mean square of the analysis window, dBFS.
    pub energy_db: f32,
    /// All-pole model of the frame's spectrum (at the analysis rate, up to ≈ 8–11 kHz).
    pub envelope: SpectralEnvelope,
    /// What `voicing_probability` was computed from.
    pub voicing_features: VoicingFeatures,
}

impl PitchFrame {
    pub fn time_s(&self) -> f64 {
        self.index as f64 * HOP_S
    }

    pub fn voiced(&self) -> bool {
        self.f0_hz > 0.0
    }
}

/// One analysis window as the tracker cut it, before any decision about it.
pub struct AnalysisWindow<'a> {
    /// Frame number (as [`PitchFrame::index`]).
    pub index: u64,
    /// Rate of `samples`, the decimated analysis rate.
    pub sample_rate_hz: f32,
    pub samples: &'a [f32],
    pub voicing: VoicingFeatures,
}

/// Streaming pitch tracker. `new` allocates; `process` and `reset` do not.
pub struct PitchTracker {
    decimator: Decimator,
    /// Rate of the decimated signal the frames are cut from.
    analysis_rate_hz: f64,
    /// Where each frame lies in the decimated signal.
    schedule: FrameSchedule,
    yin: YinEstimator,
    difference: DifferenceStream,
    decoder: PitchPathDecoder,
    /// Decimated history, written twice (at `i` and `i + capacity`) so the latest
    /// `capacity` samples are always one contiguous slice.
    history: Vec<f32>,
    capacity: usize,
    /// Decimated samples received since the reset.
    received: u64,
    /// Next frame to analyse.
    next_frame: u64,
    /// Frames held from analysis to decision: the wait for the worker plus the decoder's
    /// look-ahead.
    lookahead: usize,
    /// Analysed frames waiting for the worker's answer before they enter the decoder
    /// (`NEURAL_WAIT_FRAMES + 1` in Studio mode, 1 in Live mode, which does not wait).
    waiting: Vec<FrameCandidates>,
    /// The audio thread's end of the neural worker's rings, when a worker runs.
    neural: Option<NeuralLink>,
    /// Envelopes and voicing features of the last `lookahead + 1` frames, by frame number, so
    /// each decided frame gets its own.
    envelopes: Vec<SpectralEnvelope>,
    features: Vec<VoicingFeatures>,
    /// The recent peak level that voicing judges each frame's level against.
    level: LevelReference,
    /// Hann window and windowed copy of a frame for the envelope fit, `frame_len` long each.
    envelope_window: Vec<f32>,
    envelope_scratch: Vec<f32>,
    /// Host-rate delay from an input sample to the decision of the frame centred on it.
    latency_samples: usize,
}

impl PitchTracker {
    pub fn new(sample_rate_hz: f32, mode: AnalysisMode) -> Self {
        Self::with_difference_kernel(sample_rate_hz, mode, kernels::best_difference_kernel())
    }

    /// A tracker using `kernel` for the difference function; benchmarks compare kernels this way.
    pub fn with_difference_kernel(
        sample_rate_hz: f32,
        mode: AnalysisMode,
        kernel: kernels::DifferenceKernel,
    ) -> Self {
        let decimator = Decimator::new(sample_rate_hz);
        let analysis_rate_hz = sample_rate_hz as f64 / decimator.factor() as f64;
        let yin = YinEstimator::new(analysis_rate_hz as f32, MIN_F0_HZ, MAX_F0_HZ);
        let frame_len = yin.frame_len();
        let after_centre = frame_len / 2;
        let schedule = FrameSchedule {
            hop_samples: HOP_S * analysis_rate_hz,
            after_centre,
            frame_len,
        };
        let (lookahead, neural_wait) = match mode {
            AnalysisMode::Live => (0, 0),
            AnalysisMode::Studio => (STUDIO_LOOKAHEAD_FRAMES, NEURAL_WAIT_FRAMES),
        };
        // The last sample of a frame arrives `after_centre` analysis samples after its centre, plus
        // one decimation period in the worst case; the decoder then holds it `lookahead` hops.
        let latency_s = (after_centre + 1) as f64 / analysis_rate_hz + lookahead as f64 * HOP_S;
        let capacity = frame_len + 1;
        Self {
            decimator,
            analysis_rate_hz,
            schedule,
            difference: DifferenceStream::new(schedule, yin.window(), yin.lags(), kernel),
            yin,
            decoder: PitchPathDecoder::new(lookahead - neural_wait),
            history: vec![0.0; 2 * capacity],
            capacity,
            received: 0,
            next_frame: 0,
            lookahead,
            waiting: vec![FrameCandidates::default(); neural_wait + 1],
            neural: None,
            envelopes: vec![SpectralEnvelope::flat(analysis_rate_hz as f32); lookahead + 1],
            features: vec![VoicingFeatures::default(); lookahead + 1],
            level: LevelReference::new(),
            envelope_window: envelope::hann_window(frame_len),
            envelope_scratch: vec![0.0; frame_len],
            latency_samples: (latency_s * sample_rate_hz as f64).ceil() as usize,
        }
    }

    /// Delay, in host samples, from the input to the frame decision describing it.
    pub fn latency_samples(&self) -> usize {
        self.latency_samples
    }

    /// Connects the neural worker (Studio mode sends it every frame; Live mode never waits for
    /// it, so sends nothing).
    pub fn attach_neural(&mut self, link: NeuralLink) {
        self.neural = Some(link);
    }

    pub fn neural(&self) -> Option<&NeuralLink> {
        self.neural.as_ref()
    }

    pub fn reset(&mut self) {
        if let Some(link) = &mut self.neural {
            link.reset();
        }
        self.decimator.reset();
        self.difference.reset();
        self.decoder.reset();
        self.level = LevelReference::new();
        self.history.fill(0.0);
        self.received = 0;
        self.next_frame = 0;
    }

    /// Feeds mono host-rate samples; calls `on_frame` for every frame decided meanwhile, in order.
    pub fn process(&mut self, samples: &[f32], on_frame: impl FnMut(&PitchFrame)) {
        self.process_tapped(samples, on_frame, |_| {});
    }

    /// [`Self::process`], also showing `on_window` every analysis window as it is analysed (what
    /// the neural worker is sent): model training and evaluation read the windows this way.
    pub fn process_tapped(
        &mut self,
        samples: &[f32],
        mut on_frame: impl FnMut(&PitchFrame),
        mut on_window: impl FnMut(&AnalysisWindow),
    ) {
        for &x in samples {
            let Some(y) = self.decimator.push(sanitize_sample(x)) else {
                continue;
            };
            let y = if y.abs() < ANALYSIS_FLOOR { 0.0 } else { y };
            let slot = (self.received % self.capacity as u64) as usize;
            self.history[slot] = y;
            self.history[slot + self.capacity] = y;
            self.received += 1;
            if let Some(frame) = self.analyse_ready_frame(&mut on_window) {
                on_frame(&frame);
            }
        }
        self.catch_up_difference();
    }

    /// Computes the lags of the difference function the samples received so far make ready
    /// (see [`difference_stream`]).
    fn catch_up_difference(&mut self) {
        let newest = (self.received % self.capacity as u64) as usize + self.capacity - 1;
        self.difference.catch_up(
            self.received,
            &self.history[newest + 1 - self.capacity..=newest],
        );
    }

    /// Analyses the next frame if the sample just received completes its window; returns the
    /// decision that releases (in Studio mode, the frame `lookahead` hops earlier).
    fn analyse_ready_frame(
        &mut self,
        on_window: &mut impl FnMut(&AnalysisWindow),
    ) -> Option<PitchFrame> {
        if self.schedule.last_sample(self.next_frame) >= self.received {
            return None;
        }
        self.catch_up_difference();
        // The frame is the newest `frame_len` samples; before time 0 the history holds the
        // silence it was reset to, so the first frames see leading zeros.
        let frame_len = self.yin.frame_len();
        let frame_start =
            (self.received % self.capacity as u64) as usize + self.capacity - frame_len;
        let frame = &self.history[frame_start..frame_start + frame_len];
        // Complete: the stream follows the same schedule and has had the frame's last sample.
        let difference = self.difference.completed(self.next_frame)?;
        let mut candidates = self.yin.estimate(frame, difference);
        let features = VoicingFeatures {
            periodicity: candidates.periodicity,
            relative_level_db: self.level.relative_db(candidates.energy_db),
            prior_mass: candidates.prior_mass,
        };
        candidates.set_voicing_probability(voicing_probability(&features));
        let ring = self.envelopes.len() as u64;
        let slot = (self.next_frame % ring) as usize;
        self.features[slot] = features;
        self.envelopes[slot] = envelope::lpc_envelope(
            frame,
            self.analysis_rate_hz as f32,
            &self.envelope_window,
            &mut self.envelope_scratch,
        );
        let index = self.next_frame;
        self.next_frame += 1;
        on_window(&AnalysisWindow {
            index,
            sample_rate_hz: self.analysis_rate_hz as f32,
            samples: frame,
            voicing: features,
        });
        let wait = self.waiting.len() as u64 - 1;
        if wait > 0
            && let Some(link) = &mut self.neural
        {
            link.send(index, self.analysis_rate_hz as f32, frame, features);
        }
        self.waiting[(index % (wait + 1)) as usize] = candidates;
        // The frame `wait` hops back enters the decoder now, with the worker's answer if it is in.
        let entering = index.checked_sub(wait)?;
        let mut ready = self.waiting[(entering % (wait + 1)) as usize];
        if wait > 0
            && let Some(estimate) = self.neural.as_mut().and_then(|link| link.take(entering))
        {
            fusion::fuse(&mut ready, &estimate);
        }
        let decided = self.decoder.push(&ready)?;
        let index = self.next_frame - 1 - self.lookahead as u64;
        Some(PitchFrame {
            index,
            f0_hz: decided.f0_hz,
            voicing_probability: decided.voicing_probability,
            energy_db: decided.energy_db,
            envelope: self.envelopes[(index % ring) as usize],
            voicing_features: self.features[(index % ring) as usize],
        })
    }
}
