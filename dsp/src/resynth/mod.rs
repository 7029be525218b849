//! Formant-preserving pitch resynthesis: TD-PSOLA on pitch marks from the analysis.
//!
//! Each glottal period of the input (between [`marks`]) is cut out as a Hann grain two periods
//! long (narrower for upward shifts, see [`GRAIN_NARROWING`]) and the grains are laid down again
//! one *target* period apart. A grain carries the vocal
//! tract's response to one excitation, so moving grains changes the pitch and leaves the
//! formants where they were; reading a grain faster or slower than it was recorded moves the
//! formants on their own (the formant shift). Voiced grains are cut from the input with half of
//! its envelope whitened away and the laid grains are coloured with it again (LP-PSOLA, see
//! `vocal_tract.rs`): a new harmonic that falls between two of the input's then takes the
//! envelope's level there instead of its strong neighbour's. Unvoiced grains are put back exactly where they
//! were cut, so consonants, breath and silence come out as they went in; the voicing decision
//! crossfades between the grains and the untouched input, so voicing edges never switch hard.
//!
//! The resynthesiser renders the input delayed by the engine's analysis latency: at that point
//! the F0 of the output sample is decided, and the input runs ahead by the same latency, which
//! is the look-ahead the grains and the mark search need. In Studio mode an [`ElasticBuffer`]
//! also lets grains be cut a little behind or ahead of that point, which lengthens or shortens
//! vowels (see `elastic.rs`).

mod elastic;
mod f0_track;
mod history;
mod marks;
mod shift_track;
mod vocal_tract;

use elastic::{ElasticBuffer, Stretch};
use f0_track::F0Track;
use history::SignalHistory;
use marks::{MeasuredPeriod, PitchMark, PitchMarks, UNVOICED_SPACING_S};
use shift_track::ShiftTrack;
use vocal_tract::{AllpassChain, TractAnalyser, TractFilters, WarpedPolynomial};

use crate::pitch::{HOP_S, MAX_F0_HZ, MIN_F0_HZ, PitchFrame};
use crate::vibrato::{VibratoForecast, VibratoTrack};

/// Most grains sounding at once: +24 st (ratio 4, grains narrowed to half a period either side)
/// with the formants 12 st down (grains read at half speed, so twice as long) overlaps
/// 2 × 0.5 × 4 × 2 = 8; four times that leaves room for period changes.
const MAX_GRAINS: usize = 32;

/// Crossfade between grains and untouched input at voicing edges: long enough not to click,
/// short against a consonant.
const VOICING_FADE_S: f32 = 0.010;

/// Crossfade in and out of resynthesis when a shift starts or ends, so that a neutral setting
/// is the untouched input, bit for bit.
const ENGAGE_FADE_S: f32 = 0.020;

/// Frames of F0 kept: the Studio look-ahead between the newest decided frame and the output
/// point (20 frames) plus a margin for grains reaching back.
const F0_TRACK_FRAMES: usize = 64;

/// Most a measured period is carried by the F0 track's change (see `carried_to`): a semitone,
/// beyond the steepest vibrato over a low voice's period and short of an octave error's jump.
const MAX_CARRIED_RATIO: f64 = 1.059_463_094_359_295_3;

/// Grains shorter than this either side (≈ 0.1 ms) are not laid: too short to carry a period,
/// long enough to be a click.
const MIN_HALF_LEN_SAMPLES: f64 = 4.0;

/// Upward shifts narrow grains to period / ratio^this. Two-period grains hold each harmonic as a
/// line too narrow to reach the new harmonic positions, so a voice with little above its
/// fundamental (a nasal, a soft onset) fades out when raised by an octave and the tracker hears
/// the residue an octave low (real speech +12 st: p95 1190 cents); a full period / ratio smears
/// the envelope (speech +12 st: 3.26 dB). The square root measured best on both
/// (`cargo xtask resynth-eval`: p95 25 cents; envelope 2.55 dB, from 2.68 with no narrowing).
const GRAIN_NARROWING: f64 = 0.5;

/// The vocal tract's filters are blended anew every this many samples (a third of a millisecond
/// at 48 kHz). At 32 (7 % less CPU) each step left a one-sample kink in a quiet voice's tail
/// that the click detector flagged (emotion evaluation, speech happy 25 %: one block at
/// −75 dBFS).
const TRACT_STEP_SAMPLES: usize = 16;

/// Share of each voiced frame's own vocal tract in the filters used for it, the rest the
/// frame before's: the colouring runs on the sum of grains cut up to a period apart, each
/// whitened by the filters where it was cut, so where the envelope moves within a period (a
/// vowel's onset after a consonant) the colouring cannot match them all. Unsmoothed, quiet
/// voiced onsets kept sharp pulses that the click detector flagged (emotion evaluation: 16
/// preset runs with clicks on speech against TD-PSOLA's 3; smoothed, and with the colouring
/// following where the grains read, the same 3).
const TRACT_FOLLOW: f64 = 0.5;

/// Hann window table over −1..1 (odd length, so 0 sits on an entry).
const HANN_TABLE_LEN: usize = 1025;

/// One grain being laid down.
#[derive(Debug, Clone, Copy, Default)]
struct Grain {
    /// Where the grain is centred in the output, as an input position (the output is the input
    /// delayed; this is the synthesis mark).
    synthesis_centre: f64,
    /// Where it was cut from (the analysis mark).
    analysis_centre: f64,
    /// Half the window length, in input samples.
    half_len_samples: f64,
    /// Input samples read per output sample: > 1 moves formants up.
    formant_ratio: f64,
    /// Keeps the harmonics at the level of the envelope they sample: the inverse of how much
    /// more densely the laid grains overlap than one-period windows of the input would.
    gain: f32,
    /// Last output position the grain reaches.
    synthesis_end: f64,
    /// Cut at a pitch mark (one period of a voice), not in place from an unvoiced stretch.
    voiced: bool,
}

/// The shifts asked for at one sample, as the controls give them.
#[derive(Clone, Copy)]
struct WantedShifts {
    pitch_shift_st: f32,
    formant_shift_st: f32,
    vowel_stretch: f64,
}

impl WantedShifts {
    fn ratios(&self) -> GrainShifts {
        GrainShifts {
            pitch_ratio: 2f64.powf(self.pitch_shift_st as f64 / 12.0),
            formant_ratio: 2f64.powf(self.formant_shift_st as f64 / 12.0),
            vowel_stretch: self.vowel_stretch,
        }
    }
}

/// The shifts in force where a grain is cut.
#[derive(Clone, Copy)]
struct GrainShifts {
    pitch_ratio: f64,
    formant_ratio: f64,
    vowel_stretch: f64,
}

/// What the resynthesiser is asked to do for each sample of a chunk.
pub struct ResynthCurves<'a> {
    /// Pitch shift in semitones per sample (read where a grain is placed).
    pub pitch_shift_st: &'a [f32],
    /// Formant shift in semitones per sample.
    pub formant_shift_st: &'a [f32],
    /// Requested vowel duration ratio per sample (> 1 longer); ignored where timing is fixed.
    pub vowel_stretch: &'a [f32],
}

/// Streaming TD-PSOLA for one voice on up to two channels. `new` allocates; `process`, `push_frame`
/// and `reset` never do.
pub struct Resynthesizer {
    /// Output delay behind the input, in samples: the analysis latency.
    delay_samples: usize,
    /// `[channel]`: each channel's input, grains are cut from here; sized for the delay plus
    /// the longest grain reaching back from the output point.
    channels: Vec<SignalHistory>,
    /// The analysis voice (channels summed), which the marks are placed on.
    voice: SignalHistory,
    f0: F0Track,
    /// Per-frame pitch changes pushed by the emotion transform, on top of the curves' shift.
    frame_shifts: ShiftTrack,
    marks: PitchMarks,
    /// Where grains are cut relative to where they are laid: the vowel-duration time map.
    elastic: ElasticBuffer,
    /// Grains sounding; `grain_count` of them are live.
    grains: [Grain; MAX_GRAINS],
    grain_count: usize,
    /// Synthesis position of the next grain.
    next_grain_centre: f64,
    /// The last grain laid was cut at a pitch mark: a voiced run is under way.
    in_voiced_run: bool,
    /// Synthesis position of the last grain laid: a voiced run's first grain may move back
    /// towards it, never to it.
    last_grain_centre: f64,
    /// The last formant shift asked (semitones) and its ratio, which the vocal tract's
    /// colouring filters are computed for; it changes only while the control glides.
    formant_ratio_of_st: (f32, f64),
    /// The last pitch shift asked (semitones, before the emotion's own track): the vocal
    /// tract's colouring is kept from rising far below the output's F0.
    wanted_pitch_shift_st: f32,
    /// Voiced grains are cut from the excitation (the input whitened by its frame's vocal
    /// tract) and the laid grains coloured by the tract again, shifted by the formant ratio (see
    /// `vocal_tract.rs`): `[channel]`, computed up to where grains have read.
    excitation: Vec<SignalHistory>,
    /// Position up to which the grains laid so far read the excitation.
    excitation_needed: i64,
    tract: TractAnalyser,
    /// `[frame % len]`: the filters of a frame, once fixed, with its index.
    tract_frames: Vec<Option<(u64, TractFilters)>>,
    /// The filters of the last voiced frame analysed, which frames without their own take.
    last_voiced_tract: TractFilters,
    /// The analysis voice around a frame, for the tract analysis.
    tract_samples: Vec<f32>,
    /// The frames around the input being whitened, the filter in force there, and each
    /// channel's memory of it.
    whitening: (TractPair, WarpedPolynomial),
    whitening_chains: [AllpassChain; crate::MAX_CHANNELS],
    /// The frames around where the output is cut from, the filter colouring it and its gain,
    /// and each channel's memory of it.
    colouring: (TractPair, WarpedPolynomial, f64),
    colouring_chains: [AllpassChain; crate::MAX_CHANNELS],
    /// Output samples until the colouring filters move on.
    colouring_countdown: usize,
    /// The colouring chains hold nothing (the output has been the untouched input since they
    /// last ran).
    colouring_idle: bool,
    /// 0 = untouched input, 1 = grains; follows voicing with [`VOICING_FADE_S`] ramps.
    voiced_weight: f32,
    voicing_step: f32,
    /// 0 = bypassed (no shift asked), 1 = engaged; [`ENGAGE_FADE_S`] ramps.
    engaged_weight: f32,
    engage_step: f32,
    unvoiced_spacing_samples: f64,
    sample_rate_hz: f64,
    /// Valid grain periods, from the tracker's F0 range with some slack.
    period_range_samples: (f64, f64),
    hann: Vec<f32>,
}

impl Resynthesizer {
    /// A resynthesiser whose output is `delay_samples` behind its input. `timing_room_samples`
    /// = `(ahead, behind)`: how far from that point the elastic timing may cut grains (0, 0 for
    /// fixed timing); ahead must stay within the analysis look-ahead, behind within the latency
    /// budget. Allocates.
    pub fn new(
        channels: usize,
        sample_rate_hz: f32,
        delay_samples: usize,
        timing_room_samples: (usize, usize),
    ) -> Self {
        let rate = sample_rate_hz as f64;
        let longest_period = 1.2 * rate / MIN_F0_HZ as f64;
        // A grain reads up to one period beside its mark, a mark is up to half a period from the
        // synthesis point, and at half-speed formant reading a grain lasts two periods; the
        // elastic timing may cut grains further back still.
        let reach_back = (4.0 * longest_period) as usize + 8 + timing_room_samples.1;
        let tract = TractAnalyser::new(sample_rate_hz);
        Self {
            delay_samples,
            channels: (0..channels)
                .map(|_| SignalHistory::new(delay_samples + reach_back))
                .collect(),
            voice: SignalHistory::new(delay_samples + reach_back),
            f0: F0Track::new(F0_TRACK_FRAMES, HOP_S * rate, rate),
            // Grains are cut up to the timing room behind the output point, and reach a
            // couple of periods around their marks.
            frame_shifts: ShiftTrack::new(
                F0_TRACK_FRAMES,
                ((timing_room_samples.1 as f64 + 2.0 * longest_period) / (HOP_S * rate)).ceil()
                    as usize
                    + 1,
                HOP_S * rate,
            ),
            marks: PitchMarks::new(rate, longest_period),
            elastic: ElasticBuffer::new(timing_room_samples.0 as f64, timing_room_samples.1 as f64),
            grains: [Grain::default(); MAX_GRAINS],
            grain_count: 0,
            next_grain_centre: -(delay_samples as f64),
            in_voiced_run: false,
            last_grain_centre: f64::NEG_INFINITY,
            formant_ratio_of_st: (0.0, 1.0),
            wanted_pitch_shift_st: 0.0,
            excitation: (0..channels)
                .map(|_| SignalHistory::new(delay_samples + reach_back))
                .collect(),
            excitation_needed: 0,
            tract_samples: vec![0.0; tract.frame_len()],
            whitening: (TractPair::new(), tract.transparent()),
            whitening_chains: std::array::from_fn(|_| AllpassChain::new()),
            colouring: (TractPair::new(), tract.transparent(), 1.0),
            colouring_chains: std::array::from_fn(|_| AllpassChain::new()),
            colouring_countdown: 0,
            colouring_idle: true,
            tract,
            // From the newest input, which the whitening reaches, back to where the output is
            // coloured (the delay, the timing's lag and a grain's reach): a frame dropped in
            // between would be analysed again for the colouring, and its smoothing would then
            // start from a newer frame's filters.
            tract_frames: vec![
                None;
                ((delay_samples + reach_back) as f64 / (HOP_S * rate)).ceil()
                    as usize
                    + 2
            ],
            last_voiced_tract: TractFilters::transparent(),
            voiced_weight: 0.0,
            voicing_step: 1.0 / (VOICING_FADE_S * sample_rate_hz).max(1.0),
            engaged_weight: 0.0,
            engage_step: 1.0 / (ENGAGE_FADE_S * sample_rate_hz).max(1.0),
            unvoiced_spacing_samples: UNVOICED_SPACING_S * rate,
            sample_rate_hz: rate,
            period_range_samples: (0.9 * rate / MAX_F0_HZ as f64, longest_period),
            hann: (0..HANN_TABLE_LEN)
                .map(|i| {
                    let s = 2.0 * i as f64 / (HANN_TABLE_LEN - 1) as f64 - 1.0;
                    (0.5 * (1.0 + (std::f64::consts::PI * s).cos())) as f32
                })
                .collect(),
        }
    }

    pub fn reset(&mut self) {
        self.channels.iter_mut().for_each(SignalHistory::reset);
        self.excitation.iter_mut().for_each(SignalHistory::reset);
        self.excitation_needed = 0;
        self.tract_frames.fill(None);
        self.last_voiced_tract = TractFilters::transparent();
        self.whitening = (TractPair::new(), self.tract.transparent());
        self.whitening_chains
            .iter_mut()
            .for_each(AllpassChain::reset);
        self.colouring = (TractPair::new(), self.tract.transparent(), 1.0);
        self.colouring_chains
            .iter_mut()
            .for_each(AllpassChain::reset);
        self.colouring_idle = true;
        self.colouring_countdown = 0;
        self.voice.reset();
        self.f0.reset();
        self.frame_shifts.reset();
        self.marks.reset();
        self.elastic.reset();
        self.grain_count = 0;
        self.next_grain_centre = -(self.delay_samples as f64);
        self.in_voiced_run = false;
        self.last_grain_centre = f64::NEG_INFINITY;
        self.voiced_weight = 0.0;
        self.engaged_weight = 0.0;
    }

    /// Delay from input to output with timing untouched, in samples.
    pub fn latency_samples(&self) -> usize {
        self.delay_samples
    }

    /// `(ahead, behind)`: how far from the nominal delay vowel timing may take the output, in
    /// samples.
    pub fn timing_room_samples(&self) -> (f64, f64) {
        self.elastic.room_samples()
    }

    /// How far behind (> 0) or ahead of the nominal delay the output currently is, in samples,
    /// because vowels were lengthened or shortened.
    pub fn timing_offset_samples(&self) -> f64 {
        self.elastic.lag_samples()
    }

    /// Takes the tracker's decision for one frame; frames must arrive in order.
    pub fn push_frame(&mut self, frame: &PitchFrame) {
        self.f0.push(frame.index, frame.f0_hz, frame.energy_db);
    }

    /// The input's vibrato at analysis frame `index`, as decomposed: past the newest frame (Live
    /// mode) the input's F0 is carried on with it.
    pub fn push_frame_vibrato(&mut self, index: u64, vibrato: &VibratoTrack) {
        self.f0.push_vibrato(
            index,
            vibrato.extent_cents * vibrato.presence_probability,
            vibrato.phase_rad,
            vibrato.rate_hz,
        );
    }

    /// The pitch change, semitones, that analysis frame `index` asks for on top of the curves'
    /// shift; applied to the grains cut from that frame's input, wherever they are laid.
    /// `vibrato` carries its vibrato part past the frame until the next one arrives.
    pub fn push_frame_shift(&mut self, index: u64, shift_st: f32, vibrato: &VibratoForecast) {
        self.frame_shifts.push(index, shift_st, vibrato);
    }

    /// Renders one chunk in place: `channels[channel][sample]` holds the input and receives the
    /// output (the input `delay_samples` earlier, pitch- and formant-shifted); `voice` is the
    /// chunk's analysis voice. `curves` must be as long as the chunk.
    pub fn process(&mut self, channels: &mut [&mut [f32]], voice: &[f32], curves: &ResynthCurves) {
        let shifting = self.frame_shifts.is_shifting()
            || [curves.pitch_shift_st, curves.formant_shift_st]
                .iter()
                .any(|curve| curve.iter().any(|st| st.abs() > 1e-4));
        // Timing changes need grains everywhere (the untouched input is not where the grains are
        // cut from), until the lag is back at zero.
        let retiming = self.elastic.is_elastic()
            && (self.elastic.lag_samples() != 0.0
                || curves.vowel_stretch.iter().any(|r| (r - 1.0).abs() > 1e-4));
        let engaged = shifting || retiming;
        if !engaged && self.engaged_weight == 0.0 {
            self.pass_through(channels, voice);
            return;
        }
        let channel_count = channels.len().min(self.channels.len());
        for i in 0..voice.len() {
            for (history, channel) in self.channels.iter_mut().zip(channels.iter()) {
                history.push(channel[i]);
            }
            self.voice.push(voice[i]);
            let output_at = self.voice.written() as f64 - 1.0 - self.delay_samples as f64;

            let wanted = WantedShifts {
                pitch_shift_st: curves.pitch_shift_st[i],
                formant_shift_st: curves.formant_shift_st[i],
                // Timing moves only once the grains are fully in: during the crossfade from the
                // untouched input both must be cut from the same place.
                vowel_stretch: if self.engaged_weight * self.voiced_weight == 1.0 {
                    curves.vowel_stretch[i] as f64
                } else {
                    1.0
                },
            };
            self.start_grains(output_at, &wanted);

            let voiced = retiming || self.f0.voiced_at(output_at - self.elastic.lag_samples());
            self.engaged_weight = step_towards(self.engaged_weight, engaged, self.engage_step);
            self.voiced_weight = step_towards(self.voiced_weight, voiced, self.voicing_step);
            let weight = self.engaged_weight * self.voiced_weight;

            let dry_at = output_at as i64;
            if weight == 0.0 {
                for (history, channel) in self.channels.iter().zip(channels.iter_mut()) {
                    channel[i] = history.at(dry_at);
                }
                if !self.colouring_idle {
                    self.colouring_chains
                        .iter_mut()
                        .for_each(AllpassChain::reset);
                    self.colouring_idle = true;
                    self.colouring_countdown = 0;
                }
            } else {
                // In Live mode a grain may reach past the newest input; its excitation follows
                // as the input arrives.
                self.extend_excitation(self.excitation_needed);
                let mut voiced = [0.0f32; crate::MAX_CHANNELS];
                let mut unvoiced = [0.0f32; crate::MAX_CHANNELS];
                let excitation_read_at = self.sum_grains(
                    output_at,
                    &mut voiced[..channel_count],
                    &mut unvoiced[..channel_count],
                );
                if self.colouring_countdown == 0 {
                    // The colouring follows where the grains read the excitation, so each is
                    // coloured by the filters that whitened it: a grain is cut up to half a
                    // period from its output point, and across a vowel's onset or end the
                    // envelope moves that fast; coloured by the output point's filters instead,
                    // a quiet voice kept sharp pulses the emotion evaluation flagged as clicks.
                    let read_at =
                        excitation_read_at.unwrap_or(output_at - self.elastic.lag_samples());
                    let source = read_at / (HOP_S * self.sample_rate_hz);
                    let mut pair = self.colouring.0;
                    let filters = self.tract_between(&mut pair, source);
                    self.colouring = (
                        pair,
                        WarpedPolynomial::from_reflection(&filters.colouring, self.tract.lambda()),
                        filters.gain,
                    );
                    self.colouring_chains
                        .iter_mut()
                        .for_each(AllpassChain::settle);
                    self.colouring_countdown = TRACT_STEP_SAMPLES;
                }
                self.colouring_countdown -= 1;
                self.colouring_idle = false;
                for (((history, channel), chain), (voiced, unvoiced)) in self
                    .channels
                    .iter()
                    .zip(channels.iter_mut())
                    .zip(self.colouring_chains.iter_mut())
                    .zip(voiced.into_iter().zip(unvoiced))
                {
                    let wet = chain.colour(voiced, self.colouring.2, &self.colouring.1) + unvoiced;
                    let dry = history.at(dry_at);
                    channel[i] = dry + weight * (wet - dry);
                }
            }
            self.retire_grains(output_at);
        }
    }

    /// Nothing asked and the last crossfade done: the output is the delayed input, and no grain
    /// or mark is kept, so an idle instance costs little; grains and marks start afresh from
    /// the output point when a shift is asked again (under a fade-in).
    fn pass_through(&mut self, channels: &mut [&mut [f32]], voice: &[f32]) {
        for i in 0..voice.len() {
            for (history, channel) in self.channels.iter_mut().zip(channels.iter_mut()) {
                history.push(channel[i]);
                channel[i] = history.at(history.written() as i64 - 1 - self.delay_samples as i64);
            }
            self.voice.push(voice[i]);
        }
        let output_at = self.voice.written() as f64 - 1.0 - self.delay_samples as f64;
        let voiced = self.f0.voiced_at(output_at);
        self.voiced_weight = if voiced { 1.0 } else { 0.0 };
        self.grain_count = 0;
        self.next_grain_centre = output_at + 1.0;
        self.in_voiced_run = false;
        self.last_grain_centre = f64::NEG_INFINITY;
        self.marks.reset();
    }

    /// Starts every grain whose window reaches `output_at`.
    fn start_grains(&mut self, output_at: f64, wanted: &WantedShifts) {
        self.wanted_pitch_shift_st = wanted.pitch_shift_st;
        if self.formant_ratio_of_st.0 != wanted.formant_shift_st {
            self.formant_ratio_of_st = (
                wanted.formant_shift_st,
                2f64.powf(wanted.formant_shift_st as f64 / 12.0),
            );
        }
        // The grain's ratios (which read the emotion's shift track) are computed once it is due,
        // not for every sample.
        let mut shifts: Option<GrainShifts> = None;
        loop {
            let centre = self.next_grain_centre;
            let cut_at = centre - self.elastic.lag_samples();
            let lead = match self.f0.period_at(cut_at) {
                Some(period) => {
                    1.25 * period.min(self.period_range_samples.1) / self.formant_ratio_of_st.1
                }
                None => self.unvoiced_spacing_samples,
            };
            if centre - lead > output_at {
                return;
            }
            if !self.in_voiced_run {
                // A voiced run's first grain is laid where its mark is, not up to half a period
                // off it: with the nearest mark laid at the grain clock's next tick, every note
                // and syllable would start up to half a period early or late, and at a shift
                // that keeps that offset (−12 st lays every other period) it would stay so to
                // the note's end. Laid earlier than the tick, the grain may be shortened (see
                // below); later, its window opens while the last unvoiced grain's closes.
                if let Some(mark) = self.onset_mark(cut_at) {
                    let offset = mark.position - cut_at;
                    if offset.abs() > 0.5 && centre + offset > self.last_grain_centre {
                        self.next_grain_centre += offset;
                        continue;
                    }
                }
            }
            let wanted_here = || WantedShifts {
                pitch_shift_st: wanted.pitch_shift_st + self.frame_shifts.at(cut_at),
                ..*wanted
            };
            let shifts = *shifts.get_or_insert_with(|| wanted_here().ratios());
            let (grain, spacing) = self.cut_grain(centre, cut_at, &shifts);
            // A grain must begin where its window is zero: one whose window would already be open
            // (its mark's period is longer than the lead, as across an octave leap, or it is due
            // late) is shortened to start here, and dropped if that leaves too little of it.
            let room_samples = (centre - output_at) * grain.formant_ratio;
            let grain = Grain {
                half_len_samples: grain.half_len_samples.min(room_samples),
                synthesis_end: centre
                    + grain.half_len_samples.min(room_samples) / grain.formant_ratio,
                ..grain
            };
            self.in_voiced_run = grain.voiced;
            self.last_grain_centre = centre;
            if grain.half_len_samples >= MIN_HALF_LEN_SAMPLES && self.grain_count < MAX_GRAINS {
                self.grains[self.grain_count] = grain;
                self.grain_count += 1;
            }
            let stretch = if grain.voiced {
                Stretch::Vowel
            } else if self.f0.silent_at(cut_at) {
                Stretch::Silence {
                    voice_ahead: self.f0.voiced_after(cut_at),
                }
            } else {
                Stretch::Unvoiced {
                    voice_ahead: self.f0.voiced_after(cut_at),
                }
            };
            self.elastic.advance(spacing, stretch, shifts.vowel_stretch);
            self.next_grain_centre += spacing;
        }
    }

    /// The mark a voiced run starting at input position `cut_at` begins on, if the voice is
    /// there and at the mark (a grain is cut at a mark only where the F0 track is voiced).
    fn onset_mark(&mut self, cut_at: f64) -> Option<PitchMark> {
        self.f0.period_at(cut_at)?;
        self.marks.extend_beyond(cut_at, &self.voice, &self.f0);
        self.marks
            .nearest(cut_at)
            .filter(|mark| mark.voiced && self.f0.period_at(mark.position).is_some())
    }

    /// The grain to lay at output position `centre`, cut near input position `cut_at`, and the
    /// distance to the next one.
    fn cut_grain(&mut self, centre: f64, cut_at: f64, shifts: &GrainShifts) -> (Grain, f64) {
        let in_place = |half_len_samples: f64| Grain {
            synthesis_centre: centre,
            analysis_centre: cut_at,
            half_len_samples,
            formant_ratio: 1.0,
            gain: 1.0,
            synthesis_end: centre + half_len_samples,
            voiced: false,
        };
        let unvoiced = (
            in_place(self.unvoiced_spacing_samples),
            self.unvoiced_spacing_samples,
        );
        if self.f0.period_at(cut_at).is_none() {
            return unvoiced;
        }
        self.marks.extend_beyond(cut_at, &self.voice, &self.f0);
        let Some(mark) = self.marks.nearest(cut_at).filter(|mark| mark.voiced) else {
            return unvoiced;
        };
        let (shortest, longest) = self.period_range_samples;
        let period = mark.period_samples.clamp(shortest, longest);
        let (pitch_ratio, formant_ratio) = (shifts.pitch_ratio, shifts.formant_ratio);
        let half_len = period / pitch_ratio.max(1.0).powf(GRAIN_NARROWING);
        let grain = Grain {
            synthesis_centre: centre,
            analysis_centre: mark.position,
            half_len_samples: half_len,
            formant_ratio,
            // Grains overlap (half length / φ) / (period / ratio) deep: this keeps harmonics at
            // the level of the envelope they sample.
            gain: (formant_ratio * period / (pitch_ratio * half_len)) as f32,
            synthesis_end: centre + half_len / formant_ratio,
            voiced: true,
        };
        self.excitation_needed = self
            .excitation_needed
            .max((mark.position + half_len).ceil() as i64 + 2);
        self.extend_excitation(self.excitation_needed);
        // The next grain follows one target period later: the input's period half-way there,
        // over the ratio. The spacing of the marks there, which the cycle matching measured on
        // the input itself, beats the tracker's F0, which is smoothed over a 30 ms window and, in
        // Live mode, extrapolated (resynth-eval, p95 error against the truth: Studio singing
        // 13.0-19.5 -> 9.3-17.6 cents, Studio speech 23.6-27.4 -> 17.7-24.6, Live speech
        // 21-37 -> 17.5-23.5). The F0 stands in where no mark can be measured yet.
        let half_way = cut_at + 0.5 * period / pitch_ratio;
        self.marks
            .extend_while_measurable(half_way, &self.voice, &self.f0);
        let input_period = match self.marks.spacing_around(half_way) {
            Some(measured) => Some(self.carried_to(measured, half_way)),
            None => self.f0.period_at(half_way),
        }
        .unwrap_or(period)
        .clamp(shortest, longest);
        (grain, input_period / pitch_ratio)
    }

    /// The period at input `position` from one the marks measured around `measured.at`, up to a
    /// period or more away: changed by as much as the F0 track changes between the two. In Live
    /// mode the cycles after the output point have mostly not arrived (for a low voice none of
    /// the next grain's cycle has), and the newest measure, taken as it was, lags a vibrato by
    /// half a period or more; between two marks the spacing describes their middle, not the
    /// point asked. FM tone (5.5 Hz, ±80 cents) shifted −1 st, rms error of the output's pitch:
    /// 120 Hz Live 10.5 → 4.4 cents (the output had been 4.5 ms late), Studio 5.2 → 3.1.
    /// The change is held within [`MAX_CARRIED_RATIO`], so one odd frame of the track cannot
    /// throw a grain far off what the marks measured.
    fn carried_to(&self, measured: MeasuredPeriod, position: f64) -> f64 {
        let change = match (self.f0.period_at(position), self.f0.period_at(measured.at)) {
            (Some(there), Some(measured_there)) => {
                (there / measured_there).clamp(1.0 / MAX_CARRIED_RATIO, MAX_CARRIED_RATIO)
            }
            _ => 1.0,
        };
        measured.period_samples * change
    }

    /// Adds every live grain's contribution at `output_at`: voiced grains' excitation into
    /// `voiced[channel]`, unvoiced grains' input into `unvoiced[channel]`. Returns where the
    /// voiced grains read the excitation (their read positions weighted by their windows), if
    /// any is open.
    fn sum_grains(&self, output_at: f64, voiced: &mut [f32], unvoiced: &mut [f32]) -> Option<f64> {
        let table_scale = 0.5 * (HANN_TABLE_LEN - 1) as f64;
        let (mut read_weight, mut read_moment) = (0.0f64, 0.0f64);
        for grain in &self.grains[..self.grain_count] {
            let offset = (output_at - grain.synthesis_centre) * grain.formant_ratio;
            let s = offset / grain.half_len_samples;
            if s.abs() >= 1.0 {
                continue;
            }
            let table_at = (s + 1.0) * table_scale;
            let index = table_at as usize;
            let frac = (table_at - index as f64) as f32;
            let next = self.hann[(index + 1).min(HANN_TABLE_LEN - 1)];
            let window = self.hann[index] + frac * (next - self.hann[index]);
            let weight = grain.gain * window;
            let read_at = grain.analysis_centre + offset;
            if grain.voiced {
                read_weight += window as f64;
                read_moment += window as f64 * read_at;
            }
            let (source, wet) = if grain.voiced {
                (&self.excitation, &mut *voiced)
            } else {
                (&self.channels, &mut *unvoiced)
            };
            for (history, wet) in source.iter().zip(wet.iter_mut()) {
                *wet += weight * history.interpolate(read_at);
            }
        }
        (read_weight > 1e-3).then(|| read_moment / read_weight)
    }

    /// Whitens the input into the excitation up to (not including) position `until`, each
    /// sample by its frame's vocal tract (the last known one where a frame has none yet).
    fn extend_excitation(&mut self, until: i64) {
        let until = until.min(self.voice.written() as i64);
        let Some(written) = self.excitation.first().map(|e| e.written() as i64) else {
            return;
        };
        if until <= written {
            return;
        }
        // After a pass-through stretch only the span grains can reach is worth whitening.
        let capacity = self.excitation[0].capacity() as i64;
        if until - written > capacity {
            self.excitation
                .iter_mut()
                .for_each(|e| e.restart_at((until - capacity) as u64));
            self.whitening_chains
                .iter_mut()
                .for_each(AllpassChain::reset);
        }
        let hop = HOP_S * self.sample_rate_hz;
        let mut n = self.excitation[0].written() as i64;
        while n < until {
            // The filters move every few samples, not every sample: between frames 5 ms apart
            // that is smooth, at a fraction of the cost.
            let step = (until - n).min(TRACT_STEP_SAMPLES as i64);
            let mut pair = self.whitening.0;
            let filters = self.tract_between(&mut pair, n as f64 / hop);
            self.whitening = (
                pair,
                WarpedPolynomial::from_reflection(&filters.whitening, self.tract.lambda()),
            );
            self.whitening_chains
                .iter_mut()
                .for_each(AllpassChain::settle);
            for ((input, excitation), chain) in self
                .channels
                .iter()
                .zip(self.excitation.iter_mut())
                .zip(self.whitening_chains.iter_mut())
            {
                for at in n..n + step {
                    excitation.push(chain.whiten(input.at(at), &self.whitening.1));
                }
            }
            n += step;
        }
    }

    /// The filters at `frame_position` (in frames), blended linearly between the frames either
    /// side: stepping them at each frame put a 200 Hz flutter into the voice wherever the
    /// whitening and the colouring stepped at different samples (a grain is cut up to half a
    /// period from where it is laid), which the tracker then heard an octave off. `pair` keeps
    /// the two frames' filters.
    fn tract_between(&mut self, pair: &mut TractPair, frame_position: f64) -> TractFilters {
        let position = frame_position.max(0.0);
        let floor = position.floor() as u64;
        if pair.floor != Some(floor) {
            let before = if pair.floor == floor.checked_sub(1) {
                pair.filters[1]
            } else {
                self.tract_of(floor)
            };
            pair.filters = [before, self.tract_of(floor + 1)];
            pair.floor = Some(floor);
        }
        pair.blend(position - floor as f64)
    }

    /// The vocal-tract filters of analysis frame `frame`, fixed the first time they are asked
    /// for, so the excitation is coloured by the very filters that whitened it. A voiced frame
    /// gets its own, from the input that has arrived around it; an unvoiced one gets the last
    /// voiced frame's. In Live mode the input is whitened as it arrives, before its frame is
    /// decided, so a frame past the newest decided one is analysed at the F0 extrapolated
    /// there: given the last voiced frame's filters instead, as it was, nearly every frame of a
    /// Live take kept the filters of the first voiced frame asked (27 analyses in 30 s of high
    /// singing, against 5453 in Studio mode), so Live mode was TD-PSOLA with a fixed filter.
    fn tract_of(&mut self, frame: u64) -> TractFilters {
        let slot = (frame % self.tract_frames.len() as u64) as usize;
        if let Some((index, filters)) = self.tract_frames[slot]
            && index == frame
        {
            return filters;
        }
        let filters = match self.f0.frame_f0_or_extrapolated_hz(frame) {
            Some(f0_hz) => {
                let len = self.tract_samples.len() as i64;
                let centre = (frame as f64 * HOP_S * self.sample_rate_hz).round() as i64;
                let end = (centre + len / 2).min(self.voice.written() as i64);
                self.voice.copy_into(end - len, &mut self.tract_samples);
                let shift_st = self.wanted_pitch_shift_st + self.frame_shifts.at(centre as f64);
                let output_f0_hz = f0_hz * 2f64.powf(shift_st as f64 / 12.0);
                let analysed = self.tract.analyse(
                    &self.tract_samples,
                    f0_hz,
                    self.formant_ratio_of_st.1,
                    output_f0_hz,
                );
                self.last_voiced_tract = self.last_voiced_tract.blend(&analysed, TRACT_FOLLOW);
                self.last_voiced_tract
            }
            None => self.last_voiced_tract,
        };
        self.tract_frames[slot] = Some((frame, filters));
        filters
    }

    fn retire_grains(&mut self, output_at: f64) {
        let mut i = 0;
        while i < self.grain_count {
            if self.grains[i].synthesis_end <= output_at {
                self.grain_count -= 1;
                self.grains[i] = self.grains[self.grain_count];
            } else {
                i += 1;
            }
        }
    }
}

/// The vocal-tract filters of two neighbouring analysis frames, for blending between them.
#[derive(Clone, Copy)]
struct TractPair {
    /// The earlier frame, `None` before the first use.
    floor: Option<u64>,
    filters: [TractFilters; 2],
}

impl TractPair {
    fn new() -> Self {
        Self {
            floor: None,
            filters: [TractFilters::transparent(); 2],
        }
    }

    /// The filters `fraction` (0…1) of the way from the earlier frame to the later one.
    fn blend(&self, fraction: f64) -> TractFilters {
        self.filters[0].blend(&self.filters[1], fraction)
    }
}

/// One ramp step of a 0..1 weight towards 1 (`up`) or 0.
#[inline]
fn step_towards(weight: f32, up: bool, step: f32) -> f32 {
    if up {
        (weight + step).min(1.0)
    } else {
        (weight - step).max(0.0)
    }
}
