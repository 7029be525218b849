//! From a decomposed frame and an [`EmotionDirection`] to what the frame's output should be:
//! how far to shift its pitch, how loud to make it, how long its vowel should last and how
//! bright and breathy it should sound.

use super::direction::EmotionDirection;
use super::fading_mean::FadingMean;
use super::pitch_histogram::PitchHistogram;
use super::white_noise::WhiteNoise;
use crate::pitch::{AnalysisMode, HOP_S};
use crate::vibrato::{ContourEditor, ContourFrame, VibratoEdit, VibratoForecast};

/// The running median the range expands around forgets with this time constant (in voiced
/// frames, a minute of voice): a song's or a speaker's register, not a phrase's. With 4 s the
/// median followed the melody, so expanding around it moved the take's median (×1.4 range:
/// −0.75 st) and expanded less than asked (×1.28); with 12 s it still sat above a 30 s sung
/// melody's median, and angry and surprised moved that median by +2.6 st for +3.5 and +2.8 for
/// +4 (now +3.0 and +3.25, the range ×1.46 and ×1.68; `cargo xtask emotion-eval`). An offline
/// render, which knows the whole take's median, turns the range around that.
const MEDIAN_MEMORY_S: f32 = 60.0;
/// The running loudness mean the dynamics expand around, time constant over active frames:
/// long enough that phrase-to-phrase loudness is expanded too, not only syllables. Until that
/// much voice was heard it is the plain mean of all of it: started from the first frame (a soft
/// onset) and forgetting it at this rate, it sat low for the first 10–20 s, and sad's ×0.7 read
/// ×0.76 on the 30 s sung take (now ×0.67; "dynamics ×0.7" alone ×0.76 → ×0.69).
const LOUDNESS_MEMORY_S: f32 = 10.0;
/// Frames quieter than this are pauses: they neither move the loudness mean nor get expanded.
const ACTIVE_FLOOR_DB: f32 = -50.0;
/// Loudness deviations beyond this are not expanded further, so a breath or a shout does not
/// swing the gain to its limits.
const MAX_LOUDNESS_DEVIATION_DB: f32 = 20.0;
/// The frame loudness the gain follows is the tracker's, over a window longer than the gain's
/// steps, and the gain glides, so the output's loudness spread moves less than the ratio asks;
/// this scales the applied expansion so it moves about as asked (`cargo xtask emotion-eval`, one
/// control at a time on singing: ×1.5 read ×1.39 and ×0.7 read ×0.80 at 1.0, ×1.41/×0.78 at
/// 1.35; the presets, with brightness and pitch changes alongside, fell 25–35 % short at 1.35).
/// The loudness loop (see `loudness_match`) makes up what is left.
const DYNAMICS_EFFECT_SCALE: f32 = 1.6;
/// Compression never takes away more than this share of a frame's deviation from the mean: at 1
/// it would flatten the phrase, beyond it the loud parts would come out softer than the soft
/// ones. (Sad at 150 % with the loudness loop's factor at its floor asked for 104 %.)
const MAX_FLATTENING: f32 = 0.8;
/// Time constant at which the level the dynamics follow falls with the voice.
const LEVEL_RELEASE_S: f32 = 0.06;
/// Time constant of the dynamics gain's glide: a syllable's rise, not a cycle's.
const DYNAMICS_GLIDE_S: f32 = 0.015;
/// The dynamics gain's limits: cutting deeper than −12 dB sounds gated; boosting the loud parts
/// is what "louder, more variable" asks for, but more than +6 dB (a sustained angry note comes out
/// ≈ 5 dB over the input) is for the output gain to decide. Capping at +3 dB cut the measured
/// expansion by a third.
const DYNAMICS_GAIN_RANGE_DB: (f32, f32) = (-12.0, 6.0);
/// Brightness and breath follow the voicing with this time constant: they are qualities of
/// phonation, and brightening breaths and fricatives too (+9 dB above 1 kHz for angry) turned
/// them into hiss the tracker even heard as pitch.
const VOICE_QUALITY_FOLLOW_S: f32 = 0.02;
/// A new direction (preset switch, A/V move) is reached along a straight line over this time:
/// fast enough to follow automation, slow enough that a preset switch glides instead of
/// stepping, and linear so that it arrives exactly (neutral is bit-exact again).
const DIRECTION_GLIDE_S: f32 = 0.06;
/// Random pitch irregularity at `jitter_amount` 1, cents RMS: audible unsteadiness, below what
/// reads as out of tune.
pub const ADDED_JITTER_CENTS: f32 = 12.0;
/// Its band: above the vibrato band (a 12 Hz low-pass read as ×1.3 vibrato extent) up to what
/// the frame rate carries.
const ADDED_JITTER_BAND_HZ: (f32, f32) = (10.0, 40.0);

/// What one frame's output should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTargets {
    /// Pitch change for the frame, semitones.
    pub pitch_shift_st: f32,
    /// Its vibrato part as sinusoids, to carry it past this frame (zero when the vibrato is
    /// left alone).
    pub vibrato_forecast: VibratoForecast,
    /// Loudness change for the frame, dB.
    pub gain_db: f32,
    /// Vowel duration ratio (1 in Live mode).
    pub vowel_stretch: f32,
    /// High-to-low balance change asked, dB, relative to the input.
    pub tilt_db: f32,
    /// How much of the measured brightness correction applies, 0…1: the voicing weight while
    /// any emotion is engaged, 0 when none is (see `brightness_match`).
    pub brightness_match: f32,
    /// Aspiration mix, 0…1 (0 on unvoiced frames, which already are noise).
    pub breath_amount: f32,
}

/// Streams [`ContourFrame`]s and turns each into [`FrameTargets`]. Allocates in `new` only.
pub struct EmotionTransform {
    mode: AnalysisMode,
    /// The direction in force, gliding from `glide_from` to `glide_to`, `glide_progress` (0…1)
    /// of the way.
    direction: EmotionDirection,
    glide_from: EmotionDirection,
    glide_to: EmotionDirection,
    glide_progress: f32,
    editor: ContourEditor,
    median: PitchHistogram,
    /// The median as it was when the current voiced run began.
    range_centre_cents: Option<f32>,
    /// The whole take's median F0, cents, when it is known beforehand (an offline render).
    fixed_range_centre_cents: Option<f32>,
    /// The running loudness mean, dB, over active frames.
    loudness_mean_db: FadingMean,
    /// The level the dynamics follow, dB: each active frame's, falling with [`LEVEL_RELEASE_S`].
    detector_db: Option<f32>,
    /// The dynamics gain in force, gliding towards each frame's.
    dynamics_gain_db: f32,
    /// Multiplies the asked dynamics ratio so that the output's loudness spread comes out as
    /// asked (see `loudness_match`); 1 until the stage measures otherwise.
    dynamics_factor: f32,
    /// 1 in voice, 0 out of it, following at [`VOICE_QUALITY_FOLLOW_S`].
    voicing: f32,
    /// 1 while the direction is anything but neutral, 0 when it is, moving between them over
    /// [`DIRECTION_GLIDE_S`] so the brightness and loudness loops' corrections fade in and out
    /// with the emotion.
    engagement: f32,
    last_pitch_shift_st: f32,
    /// Two low-passes of the noise behind added jitter (their difference is the band), and the
    /// noise.
    jitter_state: [f32; 2],
    noise: WhiteNoise,
}

impl EmotionTransform {
    pub fn new(mode: AnalysisMode) -> Self {
        Self {
            mode,
            direction: EmotionDirection::NEUTRAL,
            glide_from: EmotionDirection::NEUTRAL,
            glide_to: EmotionDirection::NEUTRAL,
            glide_progress: 1.0,
            editor: ContourEditor::new(),
            median: PitchHistogram::new(MEDIAN_MEMORY_S / HOP_S as f32),
            range_centre_cents: None,
            fixed_range_centre_cents: None,
            loudness_mean_db: FadingMean::new(LOUDNESS_MEMORY_S / HOP_S as f32),
            detector_db: None,
            dynamics_gain_db: 0.0,
            dynamics_factor: 1.0,
            voicing: 0.0,
            engagement: 0.0,
            last_pitch_shift_st: 0.0,
            jitter_state: [0.0; 2],
            noise: WhiteNoise::new(0x9E37_79B9),
        }
    }

    /// Forgets the voice; the direction snaps to `direction`.
    pub fn reset(&mut self, direction: &EmotionDirection) {
        self.direction = self.causal_part(&direction.sanitized());
        self.glide_from = self.direction;
        self.glide_to = self.direction;
        self.glide_progress = 1.0;
        self.editor.reset();
        self.median.reset();
        self.range_centre_cents = None;
        self.loudness_mean_db.clear();
        self.detector_db = None;
        self.dynamics_gain_db = 0.0;
        self.dynamics_factor = 1.0;
        self.voicing = 0.0;
        self.engagement = if self.direction == EmotionDirection::NEUTRAL {
            0.0
        } else {
            1.0
        };
        self.last_pitch_shift_st = self.direction.f0_level_st;
        self.jitter_state = [0.0; 2];
    }

    /// Turns the range around `centre_cents` (a whole take's median F0, known to an offline
    /// render) instead of the running median, which on a 30 s melody sat up to 2 st off and
    /// moved the take's median when the range widened (angry on singing: +2.6 st for +3.5);
    /// `None` goes back to the running median. Kept across resets.
    pub fn set_range_centre(&mut self, centre_cents: Option<f32>) {
        self.fixed_range_centre_cents = centre_cents.filter(|c| c.is_finite());
    }

    /// Whether any emotion is in force or fading out: while it is, the voice's brightness is
    /// measured against the input's even through pauses.
    pub fn is_engaged(&self) -> bool {
        self.engagement > 0.0
    }

    /// Sets the factor on the dynamics ratio (see `loudness_match`); non-finite or non-positive
    /// values are ignored.
    pub fn set_dynamics_factor(&mut self, factor: f32) {
        if factor.is_finite() && factor > 0.0 {
            self.dynamics_factor = factor;
        }
    }

    /// The direction in force (after smoothing and the mode's limits).
    pub fn direction(&self) -> &EmotionDirection {
        &self.direction
    }

    /// Live mode cannot look ahead, so it applies only what needs no future: pitch level and
    /// range, scaling of the vibrato as it comes, tilt and dynamics. Re-timing the vibrato,
    /// delaying its onset, jitter, breath and vowel timing are Studio's.
    fn causal_part(&self, direction: &EmotionDirection) -> EmotionDirection {
        match self.mode {
            AnalysisMode::Studio => *direction,
            AnalysisMode::Live => EmotionDirection {
                vibrato_rate_offset_hz: 0.0,
                vibrato_onset_delay_s: 0.0,
                jitter_amount: 0.0,
                articulation_ratio: 1.0,
                breath_amount: 0.0,
                ..*direction
            },
        }
    }

    /// The targets for `frame` under `direction` (sanitized here).
    pub fn push(&mut self, frame: &ContourFrame, direction: &EmotionDirection) -> FrameTargets {
        self.glide_towards(&self.causal_part(&direction.sanitized()));
        let d = self.direction;

        let voiced = frame.pitch.voiced();
        if voiced {
            self.median.push_cents(frame.intonation_cents);
        }
        // The centre the range turns around moves only between voiced runs: moving it under a
        // held note (as the running median learns the melody) made the note slide. A whole
        // take's median, when known, is the centre throughout.
        if let Some(centre) = self.fixed_range_centre_cents {
            self.range_centre_cents = Some(centre);
        } else if !voiced || self.range_centre_cents.is_none() {
            self.range_centre_cents = self.median.median_cents();
        }
        let range_term_cents = match self.range_centre_cents {
            Some(centre) => (d.f0_range_ratio - 1.0) * (frame.intonation_cents - centre),
            None => 0.0,
        };
        let added_jitter_cents = self.next_jitter_cents() * d.jitter_amount.max(0.0);
        let edit = VibratoEdit {
            extent_ratio: d.vibrato_extent_ratio,
            rate_shift_hz: d.vibrato_rate_offset_hz,
            jitter_ratio: 1.0 + d.jitter_amount,
            onset_delay_s: d.vibrato_onset_delay_s,
            ..VibratoEdit::default()
        };
        // The editor keeps its note clock only over voiced frames; unvoiced ones reset it. A
        // neutral edit is taken as exactly no change (its sum of components differs from the
        // pitch by rounding), so that neutral controls stay bit-exact.
        let edited_cents = self.editor.target_cents(frame, &edit);
        let (vibrato_change_cents, vibrato_forecast) = if edit == VibratoEdit::default() {
            (0.0, VibratoForecast::default())
        } else {
            (edited_cents - frame.pitch_cents, self.editor.forecast())
        };
        let pitch_shift_st = if voiced {
            (vibrato_change_cents + range_term_cents + added_jitter_cents) / 100.0 + d.f0_level_st
        } else {
            // Consonants and pauses are not resynthesised, but the grains either side of them
            // are: keep the shift where the bridged intonation puts it so a vowel after a
            // consonant starts where the one before it ended.
            d.f0_level_st + range_term_cents / 100.0
        };
        let pitch_shift_st = if pitch_shift_st.is_finite() {
            pitch_shift_st
        } else {
            self.last_pitch_shift_st
        };
        self.last_pitch_shift_st = pitch_shift_st;

        let follow = 1.0 - (-(HOP_S as f32) / VOICE_QUALITY_FOLLOW_S).exp();
        self.voicing += follow * (if voiced { 1.0 } else { 0.0 } - self.voicing);
        // Settle exactly, so a neutral or fully voiced stretch is exact.
        if (self.voicing - voiced as u8 as f32).abs() < 1e-4 {
            self.voicing = voiced as u8 as f32;
        }
        let voicing = self.voicing;
        let engaged = if d == EmotionDirection::NEUTRAL {
            0.0
        } else {
            1.0
        };
        let step = HOP_S as f32 / DIRECTION_GLIDE_S;
        self.engagement =
            (self.engagement + (engaged - self.engagement).clamp(-step, step)).clamp(0.0, 1.0);
        // The loudness loop's factor fades with the emotion, to exactly none, so that neutral
        // is exact again once the emotion is gone.
        let factor = if self.engagement == 0.0 {
            1.0
        } else {
            self.dynamics_factor.powf(self.engagement)
        };
        FrameTargets {
            pitch_shift_st,
            vibrato_forecast,
            gain_db: self.dynamics_gain_db(frame.pitch.energy_db, d.dynamics_ratio * factor),
            vowel_stretch: d.articulation_ratio,
            tilt_db: voicing * d.tilt_db,
            brightness_match: voicing * self.engagement,
            breath_amount: voicing * d.breath_amount,
        }
    }

    /// Advances the direction one frame along its glide, restarting the glide from where it is
    /// when the asked direction changes.
    fn glide_towards(&mut self, wanted: &EmotionDirection) {
        if *wanted != self.glide_to {
            self.glide_from = self.direction;
            self.glide_to = *wanted;
            self.glide_progress = 0.0;
        }
        if self.glide_progress < 1.0 {
            self.glide_progress = (self.glide_progress + HOP_S as f32 / DIRECTION_GLIDE_S).min(1.0);
            let p = self.glide_progress;
            self.direction = if p >= 1.0 {
                self.glide_to
            } else {
                EmotionDirection::blend(&[(1.0 - p, self.glide_from), (p, self.glide_to)])
            };
        }
    }

    /// Expands (ratio > 1) or compresses the loudness around its running mean, gliding like an
    /// expander's gain: a phrase's first frames after a pause are far below the mean, and
    /// jumping there within one 5 ms frame put a kink into the onset that the click detector
    /// caught. Pauses hold a cut, so no gain step falls on a consonant either, but not a boost.
    fn dynamics_gain_db(&mut self, energy_db: f32, ratio: f32) -> f32 {
        let active = energy_db.is_finite() && energy_db >= ACTIVE_FLOOR_DB;
        if active {
            // Kept up to date even while unused, so engaging the dynamics starts from the
            // voice's real level.
            self.loudness_mean_db.push(energy_db);
            // The level the gain follows rises with the voice at once and falls with a release,
            // as a compressor's detector does: following a fading tail frame by frame,
            // compression lifted it by 5 dB within 30 ms, and the tail's last sample stood out of
            // the pause after it (the click test, speech with presets switched every 250 ms).
            let release = 1.0 - (-(HOP_S as f32) / LEVEL_RELEASE_S).exp();
            self.detector_db = Some(match self.detector_db {
                Some(level) if energy_db < level => level + release * (energy_db - level),
                _ => energy_db,
            });
        }
        if ratio == 1.0 {
            // Neutral is exact (and forgets any gain left from before).
            self.dynamics_gain_db = 0.0;
            return 0.0;
        }
        let glide = 1.0 - (-(HOP_S as f32) / DYNAMICS_GLIDE_S).exp();
        let Some(mean) = self.loudness_mean_db.get().filter(|_| active) else {
            // A pause keeps a cut (no gain step on the consonant that follows) but lets a boost
            // go: held over a breath, the boost of the note before it lifted the breath by 6 dB.
            let wanted = self.dynamics_gain_db.min(0.0);
            self.dynamics_gain_db += glide * (wanted - self.dynamics_gain_db);
            return self.dynamics_gain_db;
        };
        let level_db = self.detector_db.unwrap_or(energy_db);
        let deviation =
            (level_db - mean).clamp(-MAX_LOUDNESS_DEVIATION_DB, MAX_LOUDNESS_DEVIATION_DB);
        let slope = (DYNAMICS_EFFECT_SCALE * (ratio - 1.0)).max(-MAX_FLATTENING);
        let wanted = (slope * deviation).clamp(DYNAMICS_GAIN_RANGE_DB.0, DYNAMICS_GAIN_RANGE_DB.1);
        self.dynamics_gain_db += glide * (wanted - self.dynamics_gain_db);
        self.dynamics_gain_db
    }

    /// The next value of the band-passed noise behind added jitter, cents at unit amount.
    fn next_jitter_cents(&mut self) -> f32 {
        let white = self.noise.next();
        let hop_s = HOP_S as f32;
        let coefficient = |hz: f32| (-std::f32::consts::TAU * hz * hop_s).exp();
        let (low, high) = ADDED_JITTER_BAND_HZ;
        for (state, hz) in self.jitter_state.iter_mut().zip([low, high]) {
            let a = coefficient(hz);
            *state = a * *state + (1.0 - a) * white;
        }
        // White noise of RMS 1/√3 keeps about (high − low)/(frame rate / 2) of its power in the
        // band; this scales the band to unit RMS.
        let band_share = (high - low) / (0.5 / hop_s);
        let band_rms = (band_share / 3.0).sqrt();
        ADDED_JITTER_CENTS * (self.jitter_state[1] - self.jitter_state[0]) / band_rms
    }
}
