//! The streaming processor that the plugin and the offline renderer both drive.

use crate::db_to_gain;
use crate::dry_wet::{DryWetMixer, MixCurves};
use crate::emotion::{
    EmotionControls, EmotionDirection, EmotionStage, ReferenceLearner, StyleAnalyzer, StyleProfile,
};
use crate::frame_view::{FrameView, FrameViewQueue};
use crate::pitch::neural::{NeuralCounts, NeuralLink};
use crate::pitch::{AnalysisMode, HOP_S, PitchTracker};
use crate::ramp::LinearRamp;
use crate::resynth::{ResynthCurves, Resynthesizer};
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
/// Pitch and formant glides: fast enough to follow a melody, slow enough that a jump in the
/// automation is heard as a very short portamento rather than a step.
const SHIFT_RAMP_S: f32 = 0.030;

/// Ranges of the shift controls, in semitones.
pub const PITCH_SHIFT_RANGE_ST: (f32, f32) = (-24.0, 24.0);
pub const FORMANT_SHIFT_RANGE_ST: (f32, f32) = (-12.0, 12.0);
/// Range of the vowel-duration ratio.
pub const VOWEL_STRETCH_RANGE: (f32, f32) = (0.5, 2.0);

/// Studio mode's whole delay budget: the analysis latency plus the room vowels may be lengthened
/// into stays below it (the design's 250 ms, with a margin).
const STUDIO_DELAY_BUDGET_S: f64 = 0.245;
/// How far ahead of the nominal delay Studio timing may cut grains (shortening a pause before a
/// vowel to give it room): within the decomposer's 100 ms look-ahead, which is how far the
/// tracker's frames run ahead of the output, less the longest grain's reach (≈ 20 ms).
const STUDIO_TIMING_AHEAD_S: f64 = 0.060;

/// Frame views kept for a display between two drains: over a second of frames, more than any
/// host block holds.
const FRAME_VIEW_CAPACITY: usize = 256;

/// The running profile of the input that a reference style is compared with forgets with this
/// time constant: a few phrases.
const INPUT_STYLE_MEMORY_S: f32 = 10.0;
/// Voice the running input profile must have heard before a reference style is applied.
const MIN_STYLE_EVIDENCE_S: f32 = 3.0;

/// What the user controls, as targets: the engine glides to them without clicks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controls {
    /// Wet share of the output, 0 (dry) to 1 (wet).
    pub mix_fraction: f32,
    /// Gain applied to the mixed output, in dB.
    pub output_gain_db: f32,
    /// When set, the output is the latency-aligned input and nothing else.
    pub bypass: bool,
    /// Transposition of the voice, semitones (fractional), formants kept in place.
    pub pitch_shift_st: f32,
    /// Shift of the formants alone, semitones: up sounds smaller/younger, down larger/darker.
    pub formant_shift_st: f32,
    /// Vowel durations relative to the input (> 1 longer), within the Studio delay budget;
    /// Live mode keeps timing fixed.
    pub vowel_stretch: f32,
    /// The emotion to give the voice.
    pub emotion: EmotionControls,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            mix_fraction: 1.0,
            output_gain_db: 0.0,
            bypass: false,
            pitch_shift_st: 0.0,
            formant_shift_st: 0.0,
            vowel_stretch: 1.0,
            emotion: EmotionControls::default(),
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
            pitch_shift_st: finite_or(self.pitch_shift_st, 0.0)
                .clamp(PITCH_SHIFT_RANGE_ST.0, PITCH_SHIFT_RANGE_ST.1),
            formant_shift_st: finite_or(self.formant_shift_st, 0.0)
                .clamp(FORMANT_SHIFT_RANGE_ST.0, FORMANT_SHIFT_RANGE_ST.1),
            vowel_stretch: finite_or(self.vowel_stretch, 1.0)
                .clamp(VOWEL_STRETCH_RANGE.0, VOWEL_STRETCH_RANGE.1),
            // Sanitized where it becomes a direction.
            emotion: self.emotion,
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
    /// Every decomposed frame's view since the caller last drained them.
    frame_views: FrameViewQueue,
    /// Renders the voice at the analysis latency, shifted as asked.
    resynth: Resynthesizer,
    /// Turns decomposed frames into the pitch, timing, loudness and timbre changes of the
    /// emotion asked for.
    emotion: EmotionStage,
    /// The direction asked for by the current controls.
    emotion_direction: EmotionDirection,
    /// A reference take's style, when one is loaded, and the input's running style it is
    /// compared with.
    reference_style: Option<StyleProfile>,
    input_style: StyleAnalyzer,
    /// The input's style given from outside (a whole file's), used instead of the running one.
    fixed_input_style: Option<StyleProfile>,
    /// The direction towards the reference in force (see `update_style_direction`).
    style_direction: Option<EmotionDirection>,
    /// Captures a reference style from the sidechain when asked.
    reference_learner: ReferenceLearner,
    /// Input samples processed since the last reset: places each frame's targets at the output
    /// sample it describes.
    samples_processed: u64,
    /// Input aligned to the analysis (the latency the host compensates), and the final mix.
    dry_wet: DryWetMixer,
    mix_fraction: LinearRamp,
    /// Linear gain, ramped in the linear domain so a ramp never overshoots.
    output_gain: LinearRamp,
    /// 0 = engaged, 1 = bypassed; a crossfade between the two, never a hard switch.
    bypass_fraction: LinearRamp,
    pitch_shift_st: LinearRamp,
    formant_shift_st: LinearRamp,
    vowel_stretch: LinearRamp,
    /// Per-sample curves of the three ramps for the current chunk, `max_block_samples` long.
    mix_curve: Vec<f32>,
    gain_curve: Vec<f32>,
    bypass_curve: Vec<f32>,
    pitch_shift_curve: Vec<f32>,
    formant_shift_curve: Vec<f32>,
    vowel_stretch_curve: Vec<f32>,
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
            frame_views: FrameViewQueue::new(FRAME_VIEW_CAPACITY),
            resynth: Resynthesizer::new(1, 48_000.0, 0, (0, 0)),
            emotion: EmotionStage::new(48_000.0, 1, AnalysisMode::Live),
            emotion_direction: EmotionDirection::NEUTRAL,
            reference_style: None,
            input_style: StyleAnalyzer::new(INPUT_STYLE_MEMORY_S),
            fixed_input_style: None,
            style_direction: None,
            reference_learner: ReferenceLearner::new(48_000.0, 1),
            samples_processed: 0,
            dry_wet: DryWetMixer::new(0, 0, 0),
            mix_fraction: LinearRamp::new(defaults.mix_fraction),
            output_gain: LinearRamp::new(db_to_gain(defaults.output_gain_db)),
            bypass_fraction: LinearRamp::new(0.0),
            pitch_shift_st: LinearRamp::new(defaults.pitch_shift_st),
            formant_shift_st: LinearRamp::new(defaults.formant_shift_st),
            vowel_stretch: LinearRamp::new(defaults.vowel_stretch),
            mix_curve: Vec::new(),
            gain_curve: Vec::new(),
            bypass_curve: Vec::new(),
            pitch_shift_curve: Vec::new(),
            formant_shift_curve: Vec::new(),
            vowel_stretch_curve: Vec::new(),
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
        self.emotion = EmotionStage::new(self.sample_rate_hz, self.max_block_samples, mode);
        self.emotion.reset(&self.emotion_direction);
        self.emotion
            .set_range_centre(self.fixed_input_style.map(|p| 100.0 * p.f0_median_st));
        self.input_style.reset();
        self.reference_learner = ReferenceLearner::new(self.sample_rate_hz, self.max_block_samples);
        self.samples_processed = 0;
        let latency = self.analysis_latency_samples();
        let timing_room_samples = match mode {
            AnalysisMode::Live => (0, 0),
            AnalysisMode::Studio => {
                let rate = self.sample_rate_hz as f64;
                let budget = (STUDIO_DELAY_BUDGET_S * rate) as usize;
                (
                    (STUDIO_TIMING_AHEAD_S * rate) as usize,
                    budget.saturating_sub(latency),
                )
            }
        };
        self.resynth = Resynthesizer::new(
            self.channels,
            self.sample_rate_hz,
            latency,
            timing_room_samples,
        );
        self.mix_fraction
            .set_ramp_time(MIX_RAMP_S, self.sample_rate_hz);
        self.output_gain
            .set_ramp_time(GAIN_RAMP_S, self.sample_rate_hz);
        self.bypass_fraction
            .set_ramp_time(BYPASS_RAMP_S, self.sample_rate_hz);
        self.pitch_shift_st
            .set_ramp_time(SHIFT_RAMP_S, self.sample_rate_hz);
        self.formant_shift_st
            .set_ramp_time(SHIFT_RAMP_S, self.sample_rate_hz);
        self.vowel_stretch
            .set_ramp_time(SHIFT_RAMP_S, self.sample_rate_hz);
        self.mix_curve = vec![0.0; self.max_block_samples];
        self.gain_curve = vec![0.0; self.max_block_samples];
        self.bypass_curve = vec![0.0; self.max_block_samples];
        self.pitch_shift_curve = vec![0.0; self.max_block_samples];
        self.formant_shift_curve = vec![0.0; self.max_block_samples];
        self.vowel_stretch_curve = vec![0.0; self.max_block_samples];
    }

    /// Forgets all signal history and jumps (without ramps) to `controls`, as after a transport
    /// jump or a preset load. Real-time safe.
    pub fn reset(&mut self, controls: &Controls) {
        let controls = controls.sanitized();
        self.dry_wet.reset();
        self.tracker.reset();
        self.decomposer.reset();
        self.resynth.reset();
        self.latest_frame = None;
        self.frame_views.clear();
        self.emotion_direction = controls.emotion.direction(None);
        self.emotion.reset(&self.emotion_direction);
        self.input_style.reset();
        self.style_direction = None;
        self.samples_processed = 0;
        self.mix_fraction.snap_to(controls.mix_fraction);
        self.output_gain
            .snap_to(db_to_gain(controls.output_gain_db));
        self.bypass_fraction
            .snap_to(if controls.bypass { 1.0 } else { 0.0 });
        self.pitch_shift_st.snap_to(controls.pitch_shift_st);
        self.formant_shift_st.snap_to(controls.formant_shift_st);
        self.vowel_stretch.snap_to(controls.vowel_stretch);
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

    /// `(ahead, behind)`: how far from the reported latency vowel timing may take the output, in
    /// samples ((0, 0) in Live mode).
    pub fn timing_room_samples(&self) -> (f64, f64) {
        self.resynth.timing_room_samples()
    }

    /// How far the output currently runs behind (> 0) or ahead of the reported latency because
    /// vowels were lengthened or shortened (Studio mode; always 0 in Live mode), in samples.
    pub fn timing_offset_samples(&self) -> f64 {
        self.resynth.timing_offset_samples()
    }

    /// The most recent decomposed analysis frame (F0, voicing, energy, intonation, vibrato,
    /// jitter) decided by the current mode.
    pub fn latest_contour_frame(&self) -> Option<ContourFrame> {
        self.latest_frame
    }

    /// Hands the views of the frames decomposed since the last call to `sink`, oldest first (for
    /// a display; at most the last [`FRAME_VIEW_CAPACITY`]). Real-time safe.
    pub fn drain_frame_views(&mut self, sink: impl FnMut(FrameView)) {
        self.frame_views.drain(sink);
    }

    /// Loads (or with `None` clears) the reference style the input is moved towards, scaled by
    /// `EmotionControls::style_amount`. Real-time safe: the profile is a handful of numbers.
    pub fn set_reference_style(&mut self, profile: Option<StyleProfile>) {
        self.reference_style = profile;
        self.style_direction = None;
    }

    /// Learns a reference style from `sidechain` (`[channel][sample]`) while `learning` is on;
    /// on the block where the style freezes, loads it as the reference and returns it (for the
    /// plugin to save). Real-time safe; costs nothing while not learning. Blocks longer than the
    /// prepared size are taken in parts.
    pub fn learn_reference(
        &mut self,
        sidechain: &[&[f32]],
        learning: bool,
    ) -> Option<StyleProfile> {
        let len = sidechain.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut learned = None;
        let mut start = 0;
        loop {
            let end = (start + self.max_block_samples).min(len);
            let mut part: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
            for (slot, channel) in part.iter_mut().zip(sidechain) {
                *slot = &channel[start..end];
            }
            let channels = sidechain.len().min(MAX_CHANNELS);
            if let Some(profile) = self.reference_learner.process(&part[..channels], learning) {
                learned = Some(profile);
            }
            start = end;
            if start >= len {
                break;
            }
        }
        if learned.is_some() {
            self.set_reference_style(learned);
        }
        learned
    }

    /// Reference learning's progress, 0…1, and whether it is under way.
    pub fn reference_learning(&self) -> (f32, bool) {
        (
            self.reference_learner.progress(),
            self.reference_learner.is_learning(),
        )
    }

    /// Connects the neural pitch worker's rings to the tracker (after [`Self::prepare`], which
    /// starts a fresh tracker). Studio mode then waits up to 20 ms for each frame's answer
    /// inside its existing latency; Live mode never waits and sends nothing.
    pub fn attach_neural(&mut self, link: NeuralLink) {
        self.tracker.attach_neural(link);
    }

    /// The neural worker's counters, when one is attached.
    pub fn neural_counts(&self) -> Option<NeuralCounts> {
        self.tracker.neural().map(|link| link.counters().snapshot())
    }

    /// The loaded reference style, if any.
    pub fn reference_style(&self) -> Option<StyleProfile> {
        self.reference_style
    }

    /// Fixes the input's style profile (for a file, analysed whole beforehand) instead of the
    /// running one: the direction towards a reference is the same from the first note, and the
    /// F0 range turns around the take's own median. `None` goes back to the running profile.
    pub fn set_input_style(&mut self, profile: Option<StyleProfile>) {
        self.fixed_input_style = profile;
        self.style_direction = None;
        self.emotion
            .set_range_centre(profile.map(|p| 100.0 * p.f0_median_st));
    }

    /// The direction towards the reference style. From the running profile it is taken only once
    /// [`MIN_STYLE_EVIDENCE_S`] of voice has been heard, and moved only while the voice is
    /// silent or unvoiced: a profile still learning the melody shifted notes as they were held
    /// (the first phrase of the reference demo slid by semitones).
    fn update_style_direction(&mut self) {
        let Some(reference) = self.reference_style else {
            self.style_direction = None;
            return;
        };
        if let Some(input) = self.fixed_input_style {
            self.style_direction = Some(input.direction_towards(&reference));
            return;
        }
        let between_runs = self.latest_frame.is_none_or(|frame| !frame.pitch.voiced());
        if self.input_style.voiced_s() < MIN_STYLE_EVIDENCE_S {
            self.style_direction = None;
        } else if between_runs || self.style_direction.is_none() {
            self.style_direction = self
                .input_style
                .profile()
                .map(|input| input.direction_towards(&reference));
        }
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
        self.pitch_shift_st.set_target(controls.pitch_shift_st);
        self.formant_shift_st.set_target(controls.formant_shift_st);
        self.vowel_stretch.set_target(controls.vowel_stretch);
        self.update_style_direction();
        self.emotion_direction = controls.emotion.direction(self.style_direction.as_ref());

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
        let hop_samples = HOP_S * self.sample_rate_hz as f64;
        let latency = self.analysis_latency_samples() as f64;

        let mono = &mut self.mono[..n];
        mono.copy_from_slice(channels[0]);
        for channel in channels.iter().skip(1) {
            mono.iter_mut()
                .zip(channel.iter())
                .for_each(|(m, x)| *m += x);
        }
        let scale = 1.0 / channels.len() as f32;
        mono.iter_mut().for_each(|m| *m *= scale);
        let chunk_start = self.samples_processed as f64;
        let user_shift_st = self.pitch_shift_st.target();
        let (decomposer, latest, views, resynth, emotion, direction, input_style) = (
            &mut self.decomposer,
            &mut self.latest_frame,
            &mut self.frame_views,
            &mut self.resynth,
            &mut self.emotion,
            &self.emotion_direction,
            &mut self.input_style,
        );
        self.tracker.process(mono, |frame| {
            resynth.push_frame(frame);
            if let Some(decomposed) = decomposer.push(frame) {
                *latest = Some(decomposed);
                resynth.push_frame_vibrato(decomposed.pitch.index, &decomposed.vibrato);
                // Always kept, so a reference loaded or learned later applies at once.
                input_style.push(&decomposed);
                // The output sample this frame describes, in this chunk.
                let output_sample = decomposed.pitch.index as f64 * hop_samples + latency;
                let in_chunk = (output_sample - chunk_start).max(0.0) as usize;
                let targets = emotion.push_frame(&decomposed, direction, in_chunk);
                views.push(FrameView::of(
                    &decomposed,
                    targets.pitch_shift_st + user_shift_st,
                ));
                resynth.push_frame_shift(
                    decomposed.pitch.index,
                    targets.pitch_shift_st,
                    &targets.vibrato_forecast,
                );
            }
        });
        self.samples_processed += n as u64;
        self.emotion.render_curves(n);

        self.dry_wet.capture_dry(channels);
        self.pitch_shift_st.fill(&mut self.pitch_shift_curve[..n]);
        self.formant_shift_st
            .fill(&mut self.formant_shift_curve[..n]);
        self.vowel_stretch.fill(&mut self.vowel_stretch_curve[..n]);
        self.vowel_stretch_curve[..n]
            .iter_mut()
            .zip(self.emotion.vowel_stretch_curve(n))
            .for_each(|(stretch, emotion)| *stretch *= emotion);
        let shifts = ResynthCurves {
            pitch_shift_st: &self.pitch_shift_curve[..n],
            formant_shift_st: &self.formant_shift_curve[..n],
            vowel_stretch: &self.vowel_stretch_curve[..n],
        };
        self.resynth.process(channels, &self.mono[..n], &shifts);
        self.emotion
            .apply_voice(channels, self.dry_wet.aligned_dry(n));

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
