//! Prosodic style of a voice, for zero-shot style transfer (the A2A-ZEST idea, on prosody
//! statistics instead of learned embeddings): a reference take is summarised as a
//! [`StyleProfile`], the live input is summarised the same way as it plays, and the difference is
//! an [`EmotionDirection`] that moves the input towards the reference.

use super::direction::EmotionDirection;
use super::fading_mean::FadingMean;
use super::pitch_histogram::PitchHistogram;
use crate::pitch::{AnalysisMode, HOP_S, PitchTracker};
use crate::vibrato::{ContourDecomposer, ContourFrame};

/// Frames quieter than this are pauses.
const ACTIVE_FLOOR_DB: f32 = -50.0;
/// A vibrato frame for the statistics: the decomposition is fairly sure it is vibrato.
const VIBRATO_PRESENT: f32 = 0.5;
/// Below this share of voiced frames with vibrato, a voice "has no vibrato" and its vibrato
/// figures are not compared.
const MIN_VIBRATO_SHARE: f32 = 0.1;
/// Voiced runs shorter than this are tracker blips, not syllables or notes.
const MIN_RUN_S: f32 = 0.04;
/// Frames at each end of a voiced run whose slope counts as the phrase ending (150 ms).
const RUN_END_FRAMES: usize = 30;
/// Where the tilt is read on each frame's envelope: the mean level of the upper band minus the
/// lower one, so the pre-emphasis of the analysis cancels between two voices.
const TILT_LOW_HZ: [f32; 3] = [300.0, 500.0, 800.0];
const TILT_HIGH_HZ: [f32; 3] = [2_000.0, 3_000.0, 4_000.0];
const TILT_EVERY_FRAMES: u64 = 4;

/// The prosodic style of a voice. Saved in the plugin state; every field plain `f32` so it
/// serialises as-is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StyleProfile {
    /// Median F0 of voiced frames, semitones above MIDI note 0 (A4 = 69).
    pub f0_median_st: f32,
    /// Interquartile range of F0, semitones.
    pub f0_iqr_st: f32,
    /// Mean absolute slope of the intonation, semitones per second.
    pub intonation_slope_st_per_s: f32,
    /// Mean slope over the last 150 ms of voiced runs (< 0: falling ends), semitones per second.
    pub ending_slope_st_per_s: f32,
    /// Share of voiced frames with vibrato, 0…1.
    pub vibrato_presence: f32,
    /// Mean rate and extent (half peak-to-peak) where there is vibrato.
    pub vibrato_rate_hz: f32,
    pub vibrato_extent_cents: f32,
    /// Share of all frames that are voiced: grows when vowels are drawn out and pauses cut.
    pub voiced_share: f32,
    /// Mean length of voiced runs and of the pauses (silences) between them, seconds. Tracker
    /// blips split runs, so these describe rather than drive.
    pub voiced_run_s: f32,
    pub pause_s: f32,
    /// Standard deviation of the frame loudness over active frames, dB.
    pub loudness_spread_db: f32,
    /// Upper-band minus lower-band envelope level on voiced frames, dB.
    pub tilt_db: f32,
}

/// The profile reads tilt off each frame's all-pole envelope (2–4 kHz against 300–800 Hz), the
/// tilt control works on the alpha ratio (1–5 kHz against 50 Hz–1 kHz), and the shelf moves the
/// first by about 1.25 times the second at any depth (offline, on the emotion evaluation's sung
/// voice, the shelf's response at the profile's points against the measured alpha ratio: −2.6
/// for −2.1 … −14.5 for −11.4); the direction asks for this much alpha ratio per dB of profile
/// tilt.
const PROFILE_TILT_TO_BRIGHTNESS: f32 = 0.8;

/// Numbers in a profile (see [`StyleProfile::fields`]).
pub const FIELD_COUNT: usize = 12;
/// Their names, which saved projects use: never rename one.
const FIELD_NAMES: [&str; FIELD_COUNT] = [
    "f0_median_st",
    "f0_iqr_st",
    "intonation_slope_st_per_s",
    "ending_slope_st_per_s",
    "vibrato_presence",
    "vibrato_rate_hz",
    "vibrato_extent_cents",
    "voiced_share",
    "voiced_run_s",
    "pause_s",
    "loudness_spread_db",
    "tilt_db",
];

/// Scales that put each statistic's difference on a common footing for [`StyleProfile::distance`]:
/// about one "just clearly different" step each.
const DISTANCE_SCALES: StyleScales = StyleScales {
    f0_median_st: 1.0,
    f0_iqr_log: 0.2,
    vibrato_extent_log: 0.2,
    vibrato_rate_hz: 0.3,
    voiced_share_log: 0.1,
    loudness_spread_log: 0.2,
    tilt_db: 1.5,
};

struct StyleScales {
    f0_median_st: f32,
    f0_iqr_log: f32,
    vibrato_extent_log: f32,
    vibrato_rate_hz: f32,
    voiced_share_log: f32,
    loudness_spread_log: f32,
    tilt_db: f32,
}

/// Ratio of two positive statistics, held to what a direction can apply.
fn ratio(to: f32, from: f32) -> f32 {
    if to > 0.0 && from > 0.0 && to.is_finite() && from.is_finite() {
        (to / from).clamp(0.25, 4.0)
    } else {
        1.0
    }
}

impl StyleProfile {
    /// Whether both voices have enough vibrato for their vibratos to be compared.
    fn both_vibrato(&self, other: &Self) -> bool {
        self.vibrato_presence >= MIN_VIBRATO_SHARE && other.vibrato_presence >= MIN_VIBRATO_SHARE
    }

    /// The direction that moves a voice with profile `self` towards `reference`.
    pub fn direction_towards(&self, reference: &Self) -> EmotionDirection {
        let vibrato = self.both_vibrato(reference);
        EmotionDirection {
            f0_level_st: reference.f0_median_st - self.f0_median_st,
            f0_range_ratio: ratio(reference.f0_iqr_st, self.f0_iqr_st),
            vibrato_extent_ratio: if vibrato {
                ratio(reference.vibrato_extent_cents, self.vibrato_extent_cents)
            } else {
                1.0
            },
            vibrato_rate_offset_hz: if vibrato {
                reference.vibrato_rate_hz - self.vibrato_rate_hz
            } else {
                0.0
            },
            articulation_ratio: ratio(reference.voiced_share, self.voiced_share),
            dynamics_ratio: ratio(reference.loudness_spread_db, self.loudness_spread_db),
            tilt_db: PROFILE_TILT_TO_BRIGHTNESS * (reference.tilt_db - self.tilt_db),
            ..EmotionDirection::NEUTRAL
        }
        .sanitized()
    }

    /// How different two styles are: the root-sum-square of the differences of the statistics
    /// the transfer moves, each over its [`DISTANCE_SCALES`] step (ratios as logarithms).
    pub fn distance(&self, other: &Self) -> f32 {
        let s = &DISTANCE_SCALES;
        let log_ratio = |a: f32, b: f32| ratio(a, b).ln();
        let vibrato = if self.both_vibrato(other) { 1.0 } else { 0.0 };
        let terms = [
            (self.f0_median_st - other.f0_median_st) / s.f0_median_st,
            log_ratio(self.f0_iqr_st, other.f0_iqr_st) / s.f0_iqr_log,
            log_ratio(self.voiced_share, other.voiced_share) / s.voiced_share_log,
            log_ratio(self.loudness_spread_db, other.loudness_spread_db) / s.loudness_spread_log,
            (self.tilt_db - other.tilt_db) / s.tilt_db,
            vibrato * log_ratio(self.vibrato_extent_cents, other.vibrato_extent_cents)
                / s.vibrato_extent_log,
            vibrato * (self.vibrato_rate_hz - other.vibrato_rate_hz) / s.vibrato_rate_hz,
        ];
        terms.iter().map(|t| t * t).sum::<f32>().sqrt()
    }

    /// The style of a whole recording (`mono`, at `sample_rate_hz`), analysed with look-ahead;
    /// `None` if it holds no voice. Allocates: for files, not for the audio thread.
    pub fn of_recording(mono: &[f32], sample_rate_hz: f32) -> Option<Self> {
        let mut tracker = PitchTracker::new(sample_rate_hz, AnalysisMode::Studio);
        let mut decomposer = ContourDecomposer::new(AnalysisMode::Studio);
        let mut analyzer = StyleAnalyzer::new(f32::INFINITY);
        // Silence after the end flushes the tracker's and the decomposer's look-ahead.
        let flush_s = 2.0 * (decomposer.lookahead_frames() as f64 * HOP_S + 0.1);
        let tail = vec![0.0; (flush_s * sample_rate_hz as f64) as usize];
        for part in [mono, &tail[..]] {
            tracker.process(part, |frame| {
                if let Some(decomposed) = decomposer.push(frame) {
                    analyzer.push(&decomposed);
                }
            });
        }
        analyzer.profile()
    }

    /// The names of [`Self::fields`], in order.
    pub fn field_names() -> [&'static str; FIELD_COUNT] {
        FIELD_NAMES
    }

    /// The profile as named numbers, in a fixed order (for state and reports).
    pub fn fields(&self) -> [(&'static str, f32); FIELD_COUNT] {
        let values = [
            self.f0_median_st,
            self.f0_iqr_st,
            self.intonation_slope_st_per_s,
            self.ending_slope_st_per_s,
            self.vibrato_presence,
            self.vibrato_rate_hz,
            self.vibrato_extent_cents,
            self.voiced_share,
            self.voiced_run_s,
            self.pause_s,
            self.loudness_spread_db,
            self.tilt_db,
        ];
        std::array::from_fn(|i| (FIELD_NAMES[i], values[i]))
    }

    /// The inverse of [`Self::fields`]: `None` if a value is missing or not finite.
    pub fn from_fields(values: &[f32]) -> Option<Self> {
        if values.len() != FIELD_COUNT || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(Self {
            f0_median_st: values[0],
            f0_iqr_st: values[1],
            intonation_slope_st_per_s: values[2],
            ending_slope_st_per_s: values[3],
            vibrato_presence: values[4],
            vibrato_rate_hz: values[5],
            vibrato_extent_cents: values[6],
            voiced_share: values[7],
            voiced_run_s: values[8],
            pause_s: values[9],
            loudness_spread_db: values[10],
            tilt_db: values[11],
        })
    }
}

/// Summarises a stream of [`ContourFrame`]s as a [`StyleProfile`]. `new` allocates; `push` and
/// `reset` do not.
#[derive(Debug, Clone)]
pub struct StyleAnalyzer {
    pitch: PitchHistogram,
    voiced: FadingMean,
    slope: FadingMean,
    ending_slope: FadingMean,
    vibrato_share: FadingMean,
    vibrato_rate: FadingMean,
    vibrato_extent: FadingMean,
    voiced_run: FadingMean,
    pause: FadingMean,
    loudness: FadingMean,
    loudness_square: FadingMean,
    tilt: FadingMean,
    previous_intonation_cents: Option<f32>,
    /// The current voiced run's last `RUN_END_FRAMES` intonation values (ring) and its length.
    run_tail_cents: [f32; RUN_END_FRAMES],
    run_frames: usize,
    silent_frames: usize,
    voiced_frames: u64,
}

impl StyleAnalyzer {
    /// An analyser that forgets with time constant `memory_s` (`f32::INFINITY` for a whole file).
    pub fn new(memory_s: f32) -> Self {
        let memory_frames = memory_s / HOP_S as f32;
        // Runs and pauses come a few per second, not one per frame.
        let event_memory = memory_s / 0.3;
        Self {
            pitch: PitchHistogram::new(memory_frames),
            voiced: FadingMean::new(memory_frames),
            slope: FadingMean::new(memory_frames),
            ending_slope: FadingMean::new(event_memory),
            vibrato_share: FadingMean::new(memory_frames),
            vibrato_rate: FadingMean::new(memory_frames),
            vibrato_extent: FadingMean::new(memory_frames),
            voiced_run: FadingMean::new(event_memory),
            pause: FadingMean::new(event_memory),
            loudness: FadingMean::new(memory_frames),
            loudness_square: FadingMean::new(memory_frames),
            tilt: FadingMean::new(memory_frames),
            previous_intonation_cents: None,
            run_tail_cents: [0.0; RUN_END_FRAMES],
            run_frames: 0,
            silent_frames: 0,
            voiced_frames: 0,
        }
    }

    /// Forgets everything heard. Real-time safe (the histogram is cleared in place).
    pub fn reset(&mut self) {
        self.pitch.reset();
        for mean in [
            &mut self.voiced,
            &mut self.slope,
            &mut self.ending_slope,
            &mut self.vibrato_share,
            &mut self.vibrato_rate,
            &mut self.vibrato_extent,
            &mut self.voiced_run,
            &mut self.pause,
            &mut self.loudness,
            &mut self.loudness_square,
            &mut self.tilt,
        ] {
            mean.clear();
        }
        self.previous_intonation_cents = None;
        self.run_frames = 0;
        self.silent_frames = 0;
        self.voiced_frames = 0;
    }

    pub fn push(&mut self, frame: &ContourFrame) {
        let energy_db = frame.pitch.energy_db;
        if energy_db.is_finite() && energy_db >= ACTIVE_FLOOR_DB {
            self.loudness.push(energy_db);
            self.loudness_square.push(energy_db * energy_db);
        }
        self.voiced
            .push(if frame.pitch.voiced() { 1.0 } else { 0.0 });
        if frame.pitch.voiced() {
            self.push_voiced(frame);
        } else {
            self.end_run();
            if energy_db.is_nan() || energy_db < ACTIVE_FLOOR_DB {
                self.silent_frames += 1;
            }
        }
    }

    fn push_voiced(&mut self, frame: &ContourFrame) {
        if self.silent_frames > 0 {
            self.pause.push(self.silent_frames as f32 * HOP_S as f32);
            self.silent_frames = 0;
        }
        self.voiced_frames += 1;
        self.pitch.push_cents(frame.pitch_cents);
        if let Some(previous) = self.previous_intonation_cents {
            self.slope
                .push((frame.intonation_cents - previous).abs() / 100.0 / HOP_S as f32);
        }
        self.previous_intonation_cents = Some(frame.intonation_cents);
        self.run_tail_cents[self.run_frames % RUN_END_FRAMES] = frame.intonation_cents;
        self.run_frames += 1;

        let has_vibrato = frame.vibrato.presence_probability >= VIBRATO_PRESENT;
        self.vibrato_share.push(if has_vibrato { 1.0 } else { 0.0 });
        if has_vibrato {
            self.vibrato_rate.push(frame.vibrato.rate_hz);
            self.vibrato_extent.push(frame.vibrato.extent_cents);
        }
        // The envelope's tilt changes slowly; reading it on every fourth voiced frame is as good
        // and saves three quarters of the trigonometry on the audio thread.
        if self.voiced_frames.is_multiple_of(TILT_EVERY_FRAMES) {
            let envelope = &frame.pitch.envelope;
            let band =
                |hz: &[f32; 3]| hz.iter().map(|&f| envelope.magnitude_db(f)).sum::<f32>() / 3.0;
            self.tilt.push(band(&TILT_HIGH_HZ) - band(&TILT_LOW_HZ));
        }
    }

    /// Closes the voiced run in progress, if any.
    fn end_run(&mut self) {
        self.previous_intonation_cents = None;
        let frames = self.run_frames;
        self.run_frames = 0;
        if (frames as f32) * (HOP_S as f32) < MIN_RUN_S {
            return;
        }
        self.voiced_run.push(frames as f32 * HOP_S as f32);
        let tail = frames.min(RUN_END_FRAMES);
        if tail >= 2 {
            let newest = self.run_tail_cents[(frames - 1) % RUN_END_FRAMES];
            let oldest = self.run_tail_cents[(frames - tail) % RUN_END_FRAMES];
            self.ending_slope
                .push((newest - oldest) / 100.0 / ((tail - 1) as f32 * HOP_S as f32));
        }
    }

    /// Voiced time heard since the last reset, seconds (not faded).
    pub fn voiced_s(&self) -> f32 {
        self.voiced_frames as f32 * HOP_S as f32
    }

    /// The profile so far; `None` until there has been voice (a voiced run, F0 and loudness).
    pub fn profile(&self) -> Option<StyleProfile> {
        let median_cents = self.pitch.median_cents()?;
        let loudness = self.loudness.get()?;
        let loudness_square = self.loudness_square.get()?;
        // A run in progress counts as long as it has lasted so far, so a profile mid-note is
        // not empty.
        let voiced_run_s = self
            .voiced_run
            .get()
            .unwrap_or(self.run_frames as f32 * HOP_S as f32);
        Some(StyleProfile {
            f0_median_st: median_cents / 100.0,
            f0_iqr_st: self.pitch.iqr_st()?,
            intonation_slope_st_per_s: self.slope.get().unwrap_or(0.0),
            ending_slope_st_per_s: self.ending_slope.get().unwrap_or(0.0),
            vibrato_presence: self.vibrato_share.get().unwrap_or(0.0),
            vibrato_rate_hz: self.vibrato_rate.get().unwrap_or(0.0),
            vibrato_extent_cents: self.vibrato_extent.get().unwrap_or(0.0),
            voiced_share: self.voiced.get().unwrap_or(0.0),
            voiced_run_s,
            pause_s: self.pause.get().unwrap_or(0.0),
            loudness_spread_db: (loudness_square - loudness * loudness).max(0.0).sqrt(),
            tilt_db: self.tilt.get().unwrap_or(0.0),
        })
    }
}
