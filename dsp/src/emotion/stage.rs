//! The emotion transform inside the streaming engine: frame targets become per-sample curves at
//! the samples their frames describe, and the voice-colour changes are applied to the rendered
//! voice. The pitch change is not a curve here: the resynthesiser takes it per frame and applies
//! it where each grain is cut from (see `resynth::shift_track`).

use super::direction::EmotionDirection;
use super::loudness_match::LoudnessSpreadMatch;
use super::transform::{EmotionTransform, FrameTargets};
use super::voice_colour::VoiceColour;
use crate::db_to_gain;
use crate::pitch::{AnalysisMode, HOP_S};
use crate::ramp::LinearRamp;
use crate::vibrato::ContourFrame;

/// Frames that can land in one chunk: one per hop at the lowest supported rate, plus slack.
fn anchor_capacity(sample_rate_hz: f32, max_block_samples: usize) -> usize {
    (max_block_samples as f64 / (HOP_S * sample_rate_hz as f64)).ceil() as usize + 4
}

/// Turns decomposed frames into pitch changes per frame, the vowel timing curve the
/// resynthesiser follows and the gain, tilt and breath applied after it. `new` allocates; everything else does not.
pub struct EmotionStage {
    transform: EmotionTransform,
    colour: VoiceColour,
    loudness: LoudnessSpreadMatch,
    /// `(sample in the current chunk, targets)` of the frames decided during this chunk.
    anchors: Vec<(usize, FrameTargets)>,
    gain: LinearRamp,
    vowel_stretch: LinearRamp,
    high_band_gain: LinearRamp,
    breath_amount: LinearRamp,
    brightness_match: LinearRamp,
    asked_tilt_db: LinearRamp,
    gain_curve: Vec<f32>,
    vowel_stretch_curve: Vec<f32>,
    high_band_gain_curve: Vec<f32>,
    breath_amount_curve: Vec<f32>,
    brightness_match_curve: Vec<f32>,
    asked_tilt_db_curve: Vec<f32>,
    /// The aligned dry input of the chunk, mono, for the brightness and loudness loops.
    dry_mono: Vec<f32>,
    /// Whether the last chunk changed anything: when not, `apply_voice` is skipped, which keeps
    /// the neutral path bit-exact.
    active: bool,
}

impl EmotionStage {
    pub fn new(sample_rate_hz: f32, max_block_samples: usize, mode: AnalysisMode) -> Self {
        let ramp = |value: f32| {
            let mut ramp = LinearRamp::new(value);
            // Each frame's value is reached one hop later: linear interpolation between frames.
            ramp.set_ramp_time(HOP_S as f32, sample_rate_hz);
            ramp
        };
        Self {
            transform: EmotionTransform::new(mode),
            colour: VoiceColour::new(sample_rate_hz),
            loudness: LoudnessSpreadMatch::new(sample_rate_hz),
            anchors: Vec::with_capacity(anchor_capacity(sample_rate_hz, max_block_samples)),
            gain: ramp(1.0),
            vowel_stretch: ramp(1.0),
            high_band_gain: ramp(1.0),
            breath_amount: ramp(0.0),
            brightness_match: ramp(0.0),
            asked_tilt_db: ramp(0.0),
            gain_curve: vec![1.0; max_block_samples],
            vowel_stretch_curve: vec![1.0; max_block_samples],
            high_band_gain_curve: vec![1.0; max_block_samples],
            breath_amount_curve: vec![0.0; max_block_samples],
            brightness_match_curve: vec![0.0; max_block_samples],
            asked_tilt_db_curve: vec![0.0; max_block_samples],
            dry_mono: vec![0.0; max_block_samples],
            active: false,
        }
    }

    /// Forgets the voice and jumps to `direction` without gliding.
    pub fn reset(&mut self, direction: &EmotionDirection) {
        self.transform.reset(direction);
        self.colour.reset();
        self.loudness.reset();
        self.anchors.clear();
        let d = *self.transform.direction();
        self.gain.snap_to(1.0);
        self.vowel_stretch.snap_to(d.articulation_ratio);
        self.high_band_gain
            .snap_to(VoiceColour::high_band_gain(d.tilt_db));
        self.breath_amount.snap_to(0.0);
        self.brightness_match.snap_to(0.0);
        self.asked_tilt_db.snap_to(0.0);
    }

    /// See [`EmotionTransform::set_range_centre`].
    pub fn set_range_centre(&mut self, centre_cents: Option<f32>) {
        self.transform.set_range_centre(centre_cents);
    }

    /// Takes the frame that describes the output at `sample` of the current chunk (clamped into
    /// it) under `direction`; returns the frame's targets (the resynthesiser takes the pitch
    /// change and its vibrato forecast).
    pub fn push_frame(
        &mut self,
        frame: &ContourFrame,
        direction: &EmotionDirection,
        sample: usize,
    ) -> FrameTargets {
        let targets = self.transform.push(frame, direction);
        if self.anchors.len() == self.anchors.capacity() {
            // Cannot happen with the capacity from `new`; keep the newest rather than allocate.
            self.anchors.pop();
        }
        let sample = sample.min(self.gain_curve.len().saturating_sub(1));
        self.anchors.push((sample, targets));
        targets
    }

    /// Fills the curves for a chunk of `n` samples from the frames pushed since the last call.
    pub fn render_curves(&mut self, n: usize) {
        let mut cursor = 0;
        for index in 0..self.anchors.len() {
            let (sample, targets) = self.anchors[index];
            let sample = sample.clamp(cursor, n);
            self.fill(cursor, sample);
            self.gain.set_target(db_to_gain(targets.gain_db));
            self.vowel_stretch.set_target(targets.vowel_stretch);
            // The correction found so far (up to the chunk before) makes the voice as much
            // brighter than the input as asked.
            let tilt_db =
                targets.tilt_db + targets.brightness_match * self.colour.brightness_correction_db();
            self.high_band_gain
                .set_target(VoiceColour::high_band_gain(tilt_db));
            self.breath_amount.set_target(targets.breath_amount);
            self.brightness_match.set_target(targets.brightness_match);
            self.asked_tilt_db.set_target(targets.tilt_db);
            cursor = sample;
        }
        self.fill(cursor, n);
        self.anchors.clear();
        let moved = |curve: &[f32], neutral: f32| curve[..n].iter().any(|&x| x != neutral);
        self.active = self.transform.is_engaged()
            || moved(&self.gain_curve, 1.0)
            || moved(&self.high_band_gain_curve, 1.0)
            || moved(&self.breath_amount_curve, 0.0);
    }

    fn fill(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.gain.fill(&mut self.gain_curve[from..to]);
        self.vowel_stretch
            .fill(&mut self.vowel_stretch_curve[from..to]);
        self.high_band_gain
            .fill(&mut self.high_band_gain_curve[from..to]);
        self.breath_amount
            .fill(&mut self.breath_amount_curve[from..to]);
        self.brightness_match
            .fill(&mut self.brightness_match_curve[from..to]);
        self.asked_tilt_db
            .fill(&mut self.asked_tilt_db_curve[from..to]);
    }

    /// Vowel duration ratio per sample (multiplies the user's).
    pub fn vowel_stretch_curve(&self, n: usize) -> &[f32] {
        &self.vowel_stretch_curve[..n]
    }

    /// Applies the chunk's dynamics gain, tilt and breath to the rendered voice; `dry` is the
    /// input aligned with it, one slice per channel, which the brightness and loudness loops
    /// measure the finished voice against.
    pub fn apply_voice<'a>(
        &mut self,
        channels: &mut [&mut [f32]],
        dry: impl Iterator<Item = &'a [f32]>,
    ) {
        let n = channels.first().map_or(0, |c| c.len());
        if !self.active {
            // Nothing to colour; keep the filter's state following the signal so that a later
            // change starts from the right place. The loops start again from no correction.
            self.colour.reset();
            self.loudness.reset();
            self.transform.set_dynamics_factor(1.0);
            return;
        }
        for channel in channels.iter_mut() {
            channel
                .iter_mut()
                .zip(&self.gain_curve[..n])
                .for_each(|(x, g)| *x *= g);
        }
        let dry_mono = &mut self.dry_mono[..n];
        dry_mono.fill(0.0);
        let mut dry_channels = 0;
        for channel in dry {
            dry_mono.iter_mut().zip(channel).for_each(|(m, &x)| *m += x);
            dry_channels += 1;
        }
        let scale = 1.0 / dry_channels.max(1) as f32;
        dry_mono.iter_mut().for_each(|m| *m *= scale);
        self.colour.process(
            channels,
            dry_mono,
            &self.brightness_match_curve[..n],
            &self.asked_tilt_db_curve[..n],
            &self.high_band_gain_curve[..n],
            &self.breath_amount_curve[..n],
        );
        let asked_ratio = self.transform.direction().dynamics_ratio;
        let channel_count = channels.len().max(1) as f32;
        for (i, &dry) in dry_mono.iter().enumerate() {
            let wet = channels.iter().map(|c| c[i]).sum::<f32>() / channel_count;
            self.loudness.push(dry, wet, asked_ratio);
        }
        self.transform.set_dynamics_factor(self.loudness.factor());
    }
}
