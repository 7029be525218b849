//! The streaming processor that the plugin and the offline renderer both drive.

use crate::db_to_gain;
use crate::dry_wet::{DryWetMixer, MixCurves};
use crate::pitch::{AnalysisMode, HOP_S, PitchTracker};
use crate::ramp::LinearRamp;
use crate::safety::{clamp_output, sanitize_input};
use crate::vibrato::{ContourDecomposer, ContourFrame};

/// Most channels the engine processes (stereo). Analysis later sums them to one voice.
pub const MAX_CHANNELS: usize = 2;

/// Largest block the engine processes in one pass; longer host blocks are split, so `prepare`
/// never has to allocate more than this per buffer whatever the host asks for.
pub const MAX_BLOCK_SAMPLES_LIMIT: usize = 8192;

/// Sample rates outside this range are clamped before any time constant is derived from them,
/// so a host bug (0 Hz, NaN) cannot produce zero-length ramps or divisions by zero.
const SAMPLE_RATE_RANGE_HZ: (f32, f32) = (8_000.0, 768_000.0);

/// Ramp times: long enough to make a jump inaudible, short enough to feel immediate.
const MIX_RAMP_S: f32 = 0.020;
const GAIN_RAMP_S: f32 = 0.020;
const BYPASS_RAMP_S: f32 = 0.010;

/// What the user controls, as targets: the engine glides to them without clicks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controls {
    /// Wet share of the output, 0 (dry) to 1 (wet).
    pub mix_fraction: f32,
    /// Gain applied to the mixed output, in dB.
    pub output_gain_db: f32,
    /// When set, the output is the latency-aligned input and nothing else.
    pub bypass: bool,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            mix_fraction: 1.0,
            output_gain_db: 0.0,
            bypass: false,
        }
    }
}

impl Controls {
    /// Replaces values no UI should produce (NaN, out of range) with the nearest sane one.
    fn sanitized(&self) -> Self {
        let default = Self::default();
        let finite_or = |x: f32, fallback: f32| if x.is_finite() { x } else { fallback };
        Self {
            mix_fraction: finite_or(self.mix_fraction, default.mix_fraction).clamp(0.0, 1.0),
            output_gain_db: finite_or(self.output_gain_db, default.output_gain_db)
                .clamp(-60.0, 30.0),
            bypass: self.bypass,
        }
    }
}

/// Affetto's whole signal path for one voice on up to [`MAX_CHANNELS`] channels.
///
/// Life cycle: [`Engine::new`] and [`Engine::prepare`] allocate; [`Engine::process`] and
/// [`Engine::reset`] never do, never lock and never panic on any input.
pub struct Engine {
    /// Channels the buffers were sized for (1..=MAX_CHANNELS).
    channels: usize,
    /// Rate the time constants were derived for.
    sample_rate_hz: f32,
    /// Longest chunk processed in one pass; `process` splits longer calls.
    max_block_samples: usize,
    /// Live or Studio analysis, chosen in `prepare` because the mode sets the latency, which
    /// hosts only take up when they (re)activate a plugin.
    tracker: PitchTracker,
    /// Splits the tracker's F0 track into intonation, vibrato and jitter; in Studio mode it
    /// looks ahead, which the reported latency includes.
    decomposer: ContourDecomposer,
    /// Summed channels, the voice the tracker hears; `max_block_samples` long.
    mono: Vec<f32>,
    /// The most recent decomposed frame.
    latest_frame: Option<ContourFrame>,
    /// Input aligned to the analysis (the latency the host compensates), and the final mix.
    dry_wet: DryWetMixer,
    mix_fraction: LinearRamp,
    /// Linear gain, ramped in the linear domain so a ramp never overshoots.
    output_gain: LinearRamp,
    /// 0 = engaged, 1 = bypassed; a crossfade between the two, never a hard switch.
    bypass_fraction: LinearRamp,
    /// Per-sample curves of the three ramps for the current chunk, `max_block_samples` long.
    mix_curve: Vec<f32>,
    gain_curve: Vec<f32>,
    bypass_curve: Vec<f32>,
}

impl Engine {
    /// Creates an engine for `channels` channels (clamped to 1..=[`MAX_CHANNELS`]), already
    /// prepared for 48 kHz, 1024-sample blocks and Live analysis so that it is usable before
    /// `prepare`.
    pub fn new(channels: usize) -> Self {
        let defaults = Controls::default();
        let mut engine = Self {
            channels: channels.clamp(1, MAX_CHANNELS),
            sample_rate_hz: 0.0,
            max_block_samples: 0,
            tracker: PitchTracker::new(48_000.0, AnalysisMode::Live),
            decomposer: ContourDecomposer::new(AnalysisMode::Live),
            mono: Vec::new(),
            latest_frame: None,
            dry_wet: DryWetMixer::new(0, 0, 0),
            mix_fraction: LinearRamp::new(defaults.mix_fraction),
            output_gain: LinearRamp::new(db_to_gain(defaults.output_gain_db)),
            bypass_fraction: LinearRamp::new(0.0),
            mix_curve: Vec::new(),
            gain_curve: Vec::new(),
            bypass_curve: Vec::new(),
        };
        engine.prepare(48_000.0, 1024, AnalysisMode::Live);
        engine
    }

    /// Sizes every buffer for `sample_rate_hz` and blocks up to `max_block_samples` (clamped to
    /// 1..=[`MAX_BLOCK_SAMPLES_LIMIT`]; longer blocks are still accepted by `process`), with
    /// `mode` analysis. Allocates.
    pub fn prepare(&mut self, sample_rate_hz: f32, max_block_samples: usize, mode: AnalysisMode) {
        let (min_rate, max_rate) = SAMPLE_RATE_RANGE_HZ;
        self.sample_rate_hz = if sample_rate_hz.is_finite() {
            sample_rate_hz.clamp(min_rate, max_rate)
        } else {
            48_000.0
        };
        self.max_block_samples = max_block_samples.clamp(1, MAX_BLOCK_SAMPLES_LIMIT);
        self.tracker = PitchTracker::new(self.sample_rate_hz, mode);
        self.decomposer = ContourDecomposer::new(mode);
        self.dry_wet = DryWetMixer::new(
            self.channels,
            self.max_block_samples,
            self.analysis_latency_samples(),
        );
        self.mono = vec![0.0; self.max_block_samples];
        self.latest_frame = None;
        self.mix_fraction
            .set_ramp_time(MIX_RAMP_S, self.sample_rate_hz);
        self.output_gain
            .set_ramp_time(GAIN_RAMP_S, self.sample_rate_hz);
        self.bypass_fraction
            .set_ramp_time(BYPASS_RAMP_S, self.sample_rate_hz);
        self.mix_curve = vec![0.0; self.max_block_samples];
        self.gain_curve = vec![0.0; self.max_block_samples];
        self.bypass_curve = vec![0.0; self.max_block_samples];
    }

    /// Forgets all signal history and jumps (without ramps) to `controls`, as after a transport
    /// jump or a preset load. Real-time safe.
    pub fn reset(&mut self, controls: &Controls) {
        let controls = controls.sanitized();
        self.dry_wet.reset();
        self.tracker.reset();
        self.decomposer.reset();
        self.latest_frame = None;
        self.mix_fraction.snap_to(controls.mix_fraction);
        self.output_gain
            .snap_to(db_to_gain(controls.output_gain_db));
        self.bypass_fraction
            .snap_to(if controls.bypass { 1.0 } else { 0.0 });
    }

    /// Delay from input to output in samples, to be reported to the host: the current mode's
    /// analysis latency, to which the audio is aligned.
    pub fn latency_samples(&self) -> u32 {
        self.analysis_latency_samples() as u32
    }

    /// From an input sample to the decomposed frame describing it: the tracker's decision, then
    /// the decomposer's look-ahead (0 in Live mode, 100 ms in Studio mode).
    fn analysis_latency_samples(&self) -> usize {
        let lookahead_s = self.decomposer.lookahead_frames() as f64 * HOP_S;
        self.tracker.latency_samples() + (lookahead_s * self.sample_rate_hz as f64).ceil() as usize
    }

    /// The most recent decomposed analysis frame (F0, voicing, energy, intonation, vibrato,
    /// jitter) decided by the current mode.
    pub fn latest_contour_frame(&self) -> Option<ContourFrame> {
        self.latest_frame
    }

    /// Processes one host block in place, `channels[channel][sample]`, gliding towards
    /// `controls` from the block's first sample (call it per sub-block for sample-accurate
    /// automation). Channels beyond the prepared count are silenced; blocks of any length are
    /// accepted, and if the channels differ in length all are processed up to the shortest.
    pub fn process(&mut self, channels: &mut [&mut [f32]], controls: &Controls) {
        let controls = controls.sanitized();
        self.mix_fraction.set_target(controls.mix_fraction);
        self.output_gain
            .set_target(db_to_gain(controls.output_gain_db));
        self.bypass_fraction
            .set_target(if controls.bypass { 1.0 } else { 0.0 });

        let prepared = self.channels.min(channels.len());
        let (ours, extra) = channels.split_at_mut(prepared);
        extra.iter_mut().for_each(|channel| channel.fill(0.0));
        let Some(block_len) = ours.iter().map(|channel| channel.len()).min() else {
            return;
        };

        let mut start = 0;
        while start < block_len {
            let end = (start + self.max_block_samples).min(block_len);
            let mut chunk: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (slot, channel) in chunk.iter_mut().zip(ours.iter_mut()) {
                *slot = &mut channel[start..end];
            }
            self.process_chunk(&mut chunk[..prepared]);
            start = end;
        }
    }

    /// One pass over at most `max_block_samples` samples.
    fn process_chunk(&mut self, channels: &mut [&mut [f32]]) {
        let n = channels[0].len();
        for channel in channels.iter_mut() {
            sanitize_input(channel);
        }

        let mono = &mut self.mono[..n];
        mono.copy_from_slice(channels[0]);
        for channel in channels.iter().skip(1) {
            mono.iter_mut()
                .zip(channel.iter())
                .for_each(|(m, x)| *m += x);
        }
        let scale = 1.0 / channels.len() as f32;
        mono.iter_mut().for_each(|m| *m *= scale);
        let (decomposer, latest) = (&mut self.decomposer, &mut self.latest_frame);
        self.tracker.process(mono, |frame| {
            if let Some(decomposed) = decomposer.push(frame) {
                *latest = Some(decomposed);
            }
        });

        self.dry_wet.capture_dry(channels);
        // The wet chain starts from the input aligned with its analysis; resynthesis will replace
        // this copy with the transformed voice.
        self.dry_wet.copy_dry_into(channels);

        self.mix_fraction.fill(&mut self.mix_curve[..n]);
        self.output_gain.fill(&mut self.gain_curve[..n]);
        self.bypass_fraction.fill(&mut self.bypass_curve[..n]);
        let curves = MixCurves {
            mix_fraction: &self.mix_curve[..n],
            output_gain: &self.gain_curve[..n],
            bypass_fraction: &self.bypass_curve[..n],
        };
        self.dry_wet.mix_into(channels, &curves);

        for channel in channels.iter_mut() {
            clamp_output(channel);
        }
    }
}
