//! What the test voice performs, as a timeline of segments: sung notes, spoken syllables,
//! consonants, breaths and silences. Singing and speech builders and seeded random performances
//! live here; [`super::render`] turns a timeline into sound.

use super::formant::Vowel;
use rand::Rng;

/// Periodic pitch modulation of a held note.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vibrato {
    pub rate_hz: f64,
    /// Half the peak-to-peak excursion (the sine's amplitude), the convention used throughout
    /// Affetto.
    pub extent_cents: f64,
    /// Delay from the note's start to the vibrato's start; it then fades in over
    /// [`VIBRATO_FADE_IN_S`].
    pub onset_s: f64,
}

/// How long a starting vibrato takes to reach its full extent.
pub const VIBRATO_FADE_IN_S: f64 = 0.3;

/// A sung note, as a score gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// Pitch as a (fractional) MIDI note number; 69 = A4 = 440 Hz.
    pub midi: f64,
    pub duration_s: f64,
    pub vowel: Vowel,
    pub vibrato: Option<Vibrato>,
    /// Approach from below at the note's start (a "scoop"), in cents; 0 for none.
    pub scoop_cents: f64,
    /// A breath after the note; 0 means the next note follows legato, with portamento.
    pub rest_after_s: f64,
}

impl Note {
    pub fn new(midi: f64, duration_s: f64, vowel: Vowel) -> Self {
        Self {
            midi,
            duration_s,
            vowel,
            vibrato: None,
            scoop_cents: 0.0,
            rest_after_s: 0.0,
        }
    }

    pub fn with_vibrato(self, rate_hz: f64, extent_cents: f64, onset_s: f64) -> Self {
        Self {
            vibrato: Some(Vibrato {
                rate_hz,
                extent_cents,
                onset_s,
            }),
            ..self
        }
    }

    pub fn with_rest_after(self, rest_after_s: f64) -> Self {
        Self {
            rest_after_s,
            ..self
        }
    }
}

/// How the pitch moves during a voiced segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PitchCurve {
    /// A sung note: glides from `from_midi` (legato) or scoops up, then holds `midi` with vibrato.
    Note {
        midi: f64,
        from_midi: Option<f64>,
        scoop_cents: f64,
        vibrato: Option<Vibrato>,
    },
    /// A spoken syllable: a line from `start_midi` to `end_midi` with a raised-cosine accent of
    /// `accent_semitones` peaking in the middle.
    Syllable {
        start_midi: f64,
        end_midi: f64,
        accent_semitones: f64,
    },
}

/// Noise shaped by one resonance: fricatives ("s", "f", "sh") and stop bursts ("t", "k").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consonant {
    pub centre_hz: f32,
    pub bandwidth_hz: f32,
    /// Level relative to a vowel's voiced source.
    pub level: f32,
    /// A stop: a short burst that decays, rather than a steady hiss.
    pub burst: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentKind {
    Voiced {
        pitch: PitchCurve,
        vowel: Vowel,
        /// The vowel this one glides from, if it follows another without a break.
        previous_vowel: Option<Vowel>,
        /// Start and end of the uninterrupted voiced run this segment belongs to (attack and
        /// release are shaped over the run, not per segment).
        run_s: (f64, f64),
    },
    Consonant(Consonant),
    /// An audible inhalation, with the formants of the next vowel.
    Breath {
        next_vowel: Vowel,
    },
    Silence,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start_s: f64,
    pub end_s: f64,
    pub kind: SegmentKind,
}

/// A whole performance and the performer's constant traits.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    /// Back to back, sorted, covering 0..duration.
    pub segments: Vec<Segment>,
    /// Glottal open quotient: 0.4 pressed, 0.6 modal, 0.8 breathy.
    pub open_quotient: f64,
    /// Source spectral tilt in dB per octave (0 = the bare Rosenberg pulse; negative is darker).
    pub tilt_db_per_octave: f32,
    /// Aspiration noise level relative to the voiced source while voicing.
    pub breathiness: f32,
    /// Peak amplitude of slow random pitch wander.
    pub drift_cents: f64,
    /// The rendered audio is scaled so its peak has this magnitude.
    pub peak_level: f32,
}

const LEAD_IN_S: f64 = 0.2;
const TAIL_S: f64 = 0.3;
/// Legato glide time: singers take longer over wider intervals (≈ 40 ms plus 10 ms per
/// semitone, at most 200 ms).
fn portamento_s(interval_semitones: f64) -> f64 {
    (0.04 + 0.01 * interval_semitones.abs()).min(0.2)
}
const SCOOP_S: f64 = 0.08;
const ATTACK_S: f64 = 0.04;
const RELEASE_S: f64 = 0.08;
const VOWEL_TRANSITION_S: f64 = 0.06;
/// Level of the audible inhalation in rests, relative to the voiced source.
const BREATH_LEVEL: f32 = 0.04;

/// Appends segments to a timeline, tracking time and the current voiced run.
struct TimelineBuilder {
    segments: Vec<Segment>,
    now_s: f64,
}

impl TimelineBuilder {
    fn new() -> Self {
        Self {
            segments: vec![Segment {
                start_s: 0.0,
                end_s: LEAD_IN_S,
                kind: SegmentKind::Silence,
            }],
            now_s: LEAD_IN_S,
        }
    }

    fn push(&mut self, duration_s: f64, kind: SegmentKind) {
        let end_s = self.now_s + duration_s;
        self.segments.push(Segment {
            start_s: self.now_s,
            end_s,
            kind,
        });
        self.now_s = end_s;
    }

    /// Fills in each voiced segment's run bounds, then closes the timeline with silence.
    fn finish(mut self) -> Vec<Segment> {
        self.push(TAIL_S, SegmentKind::Silence);
        let mut i = 0;
        while i < self.segments.len() {
            if !matches!(self.segments[i].kind, SegmentKind::Voiced { .. }) {
                i += 1;
                continue;
            }
            let start = self.segments[i].start_s;
            let mut j = i;
            while j + 1 < self.segments.len()
                && matches!(self.segments[j + 1].kind, SegmentKind::Voiced { .. })
            {
                j += 1;
            }
            let end = self.segments[j].end_s;
            for segment in &mut self.segments[i..=j] {
                if let SegmentKind::Voiced { run_s, .. } = &mut segment.kind {
                    *run_s = (start, end);
                }
            }
            i = j + 1;
        }
        self.segments
    }
}

impl Phrase {
    fn with_segments(segments: Vec<Segment>) -> Self {
        Self {
            segments,
            open_quotient: 0.6,
            tilt_db_per_octave: 0.0,
            breathiness: 0.015,
            drift_cents: 6.0,
            peak_level: 0.7,
        }
    }

    /// A sung phrase with modal-voice defaults.
    pub fn sung(notes: Vec<Note>) -> Self {
        let mut timeline = TimelineBuilder::new();
        let mut previous: Option<&Note> = None;
        for note in &notes {
            let legato_from = previous.filter(|p| p.rest_after_s == 0.0);
            timeline.push(
                note.duration_s,
                SegmentKind::Voiced {
                    pitch: PitchCurve::Note {
                        midi: note.midi,
                        from_midi: legato_from.map(|p| p.midi),
                        scoop_cents: note.scoop_cents,
                        vibrato: note.vibrato,
                    },
                    vowel: note.vowel,
                    previous_vowel: legato_from.map(|p| p.vowel),
                    run_s: (0.0, 0.0),
                },
            );
            if note.rest_after_s > 0.0 {
                timeline.push(
                    note.rest_after_s,
                    SegmentKind::Breath {
                        next_vowel: note.vowel,
                    },
                );
            }
            previous = Some(note);
        }
        Self::with_segments(timeline.finish())
    }

    pub fn duration_s(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.end_s)
    }

    /// The segment sounding at `t` (the last one past the end).
    fn segment_at(&self, t: f64) -> &Segment {
        let index = self
            .segments
            .partition_point(|s| s.end_s <= t)
            .min(self.segments.len() - 1);
        &self.segments[index]
    }

    /// The voice's state at time `t`.
    pub(super) fn state_at(&self, t: f64, drift: &PitchDrift) -> VoiceState {
        let segment = self.segment_at(t);
        match segment.kind {
            SegmentKind::Silence => VoiceState::silent(Vowel::A),
            SegmentKind::Breath { next_vowel } => {
                let mut state = VoiceState::silent(next_vowel);
                let progress = (t - segment.start_s) / (segment.end_s - segment.start_s);
                state.breath_amp =
                    BREATH_LEVEL * (std::f64::consts::PI * progress.clamp(0.0, 1.0)).sin() as f32;
                state
            }
            SegmentKind::Consonant(consonant) => {
                let mut state = VoiceState::silent(Vowel::A);
                let into = t - segment.start_s;
                let length = segment.end_s - segment.start_s;
                let envelope = if consonant.burst {
                    (-into / (0.25 * length)).exp()
                } else {
                    (std::f64::consts::PI * (into / length).clamp(0.0, 1.0))
                        .sin()
                        .sqrt()
                };
                state.frication = Some(consonant);
                state.frication_amp = consonant.level * envelope as f32;
                state
            }
            SegmentKind::Voiced {
                pitch,
                vowel,
                previous_vowel,
                run_s,
            } => {
                let into = t - segment.start_s;
                let midi = pitch_at(pitch, into, segment.end_s - segment.start_s)
                    + drift.cents_at(t) / 100.0;
                let attack = ((t - run_s.0) / ATTACK_S).min(1.0);
                let release = ((run_s.1 - t) / RELEASE_S).min(1.0);
                let envelope = attack.min(release).max(0.0) as f32;
                let (vowel_from, vowel_blend) = match previous_vowel {
                    Some(p) => (p, smoothstep(into / VOWEL_TRANSITION_S) as f32),
                    None => (vowel, 1.0),
                };
                VoiceState {
                    f0_hz: 440.0 * 2f64.powf((midi - 69.0) / 12.0),
                    voiced_amp: envelope,
                    breath_amp: envelope * self.breathiness,
                    vowel_from,
                    vowel_to: vowel,
                    vowel_blend,
                    frication: None,
                    frication_amp: 0.0,
                }
            }
        }
    }

    /// The vibrato sounding at `t`: (rate Hz, current extent cents, phase rad), if any.
    pub(super) fn vibrato_at(&self, t: f64) -> Option<(f64, f64, f64)> {
        let segment = self.segment_at(t);
        let SegmentKind::Voiced {
            pitch: PitchCurve::Note {
                vibrato: Some(v), ..
            },
            ..
        } = segment.kind
        else {
            return None;
        };
        let since_onset = t - segment.start_s - v.onset_s;
        if since_onset <= 0.0 {
            return None;
        }
        let fade = (since_onset / VIBRATO_FADE_IN_S).min(1.0);
        let phase =
            (std::f64::consts::TAU * v.rate_hz * since_onset).rem_euclid(std::f64::consts::TAU);
        Some((v.rate_hz, v.extent_cents * fade, phase))
    }
}

/// Pitch (MIDI) `into` seconds into a voiced segment of `length` seconds.
fn pitch_at(pitch: PitchCurve, into: f64, length: f64) -> f64 {
    match pitch {
        PitchCurve::Note {
            midi,
            from_midi,
            scoop_cents,
            vibrato,
        } => {
            let mut value = match from_midi {
                Some(from) => from + smoothstep(into / portamento_s(midi - from)) * (midi - from),
                None => midi - scoop_cents / 100.0 * (1.0 - smoothstep(into / SCOOP_S)),
            };
            if let Some(v) = vibrato {
                let since_onset = into - v.onset_s;
                if since_onset > 0.0 {
                    let fade = (since_onset / VIBRATO_FADE_IN_S).min(1.0);
                    value += v.extent_cents
                        * fade
                        * (std::f64::consts::TAU * v.rate_hz * since_onset).sin()
                        / 100.0;
                }
            }
            value
        }
        PitchCurve::Syllable {
            start_midi,
            end_midi,
            accent_semitones,
        } => {
            let progress = (into / length).clamp(0.0, 1.0);
            let accent = accent_semitones * 0.5 * (1.0 - (std::f64::consts::TAU * progress).cos());
            start_midi + progress * (end_midi - start_midi) + accent
        }
    }
}

/// The demo: five notes around A3 with two held, vibrato-carrying notes and a breath.
pub fn demo_phrase() -> Phrase {
    Phrase::sung(vec![
        Note::new(57.0, 0.6, Vowel::A),
        Note::new(59.0, 0.4, Vowel::E),
        Note::new(61.0, 1.2, Vowel::I)
            .with_vibrato(5.5, 50.0, 0.3)
            .with_rest_after(0.35),
        Note::new(64.0, 0.5, Vowel::O),
        Note::new(62.0, 1.4, Vowel::A).with_vibrato(5.8, 60.0, 0.4),
    ])
}

const VOWELS: [Vowel; 5] = [Vowel::A, Vowel::E, Vowel::I, Vowel::O, Vowel::U];

/// Voiceless consonants of the speech and singing generators: (centre Hz, bandwidth Hz, burst).
const CONSONANTS: [(f32, f32, bool); 5] = [
    (6500.0, 3000.0, false),
    (3500.0, 1500.0, false),
    (1800.0, 2500.0, false),
    (4000.0, 3000.0, true),
    (1500.0, 1200.0, true),
];

fn random_consonant(rng: &mut impl Rng) -> (f64, SegmentKind) {
    let (centre_hz, bandwidth_hz, burst) = CONSONANTS[rng.random_range(0..CONSONANTS.len())];
    let duration = if burst {
        rng.random_range(0.02..0.05)
    } else {
        rng.random_range(0.05..0.12)
    };
    let level = if burst {
        rng.random_range(0.15..0.4)
    } else {
        rng.random_range(0.05..0.2)
    };
    (
        duration,
        SegmentKind::Consonant(Consonant {
            centre_hz,
            bandwidth_hz,
            level,
            burst,
        }),
    )
}

/// A voice type: comfortable pitch range as MIDI notes.
fn random_range_midi(rng: &mut impl Rng) -> (f64, f64) {
    // Bass, baritone, tenor, alto, mezzo, soprano; together they span ≈ 80 Hz – 1 kHz.
    const RANGES: [(f64, f64); 6] = [
        (40.0, 62.0),
        (43.0, 65.0),
        (48.0, 70.0),
        (53.0, 75.0),
        (57.0, 79.0),
        (60.0, 83.0),
    ];
    RANGES[rng.random_range(0..RANGES.len())]
}

/// About `duration_s` of random singing: a melody walking a major scale in one voice type's range
/// (mostly steps, sometimes leaps up to an octave), legato runs and breaths, scoops, vibrato
/// (4–8 Hz, 10–150 cents, 0.1–0.5 s onset) on held notes, and consonants starting some phrases.
/// Deterministic from `rng`.
pub fn random_singing(rng: &mut impl Rng, duration_s: f64) -> Phrase {
    const MAJOR_SCALE: [f64; 7] = [0.0, 2.0, 4.0, 5.0, 7.0, 9.0, 11.0];
    /// Melodic moves in scale degrees, steps far likelier than leaps (as in most melodies).
    const MOVES: [i32; 12] = [-7, -4, -2, -1, -1, 0, 1, 1, 1, 2, 4, 7];
    let (low, high) = random_range_midi(rng);
    let tonic = rng.random_range(low..low + 12.0).round();
    let degree_midi = |degree: i32| {
        tonic + 12.0 * degree.div_euclid(7) as f64 + MAJOR_SCALE[degree.rem_euclid(7) as usize]
    };
    let mut degree = rng.random_range(0..7);
    let mut timeline = TimelineBuilder::new();
    let mut previous: Option<(f64, Vowel)> = None;
    while timeline.now_s < duration_s {
        let mut next = degree + MOVES[rng.random_range(0..MOVES.len())];
        if !(low..=high).contains(&degree_midi(next)) {
            next = degree - (next - degree); // turn back into the range
        }
        if (low..=high).contains(&degree_midi(next)) {
            degree = next;
        }
        let midi = degree_midi(degree).clamp(low, high);
        let duration = rng.random_range(0.2..1.5);
        let vowel = VOWELS[rng.random_range(0..5)];
        let vibrato = (duration > 0.6).then(|| Vibrato {
            rate_hz: rng.random_range(4.0..8.0),
            extent_cents: rng.random_range(10.0..150.0),
            onset_s: rng.random_range(0.1..0.5),
        });
        let scoop_cents = if previous.is_none() && rng.random_bool(0.3) {
            rng.random_range(50.0..200.0)
        } else {
            0.0
        };
        timeline.push(
            duration,
            SegmentKind::Voiced {
                pitch: PitchCurve::Note {
                    midi,
                    from_midi: previous.map(|p| p.0),
                    scoop_cents,
                    vibrato,
                },
                vowel,
                previous_vowel: previous.map(|p| p.1),
                run_s: (0.0, 0.0),
            },
        );
        previous = Some((midi, vowel));
        if rng.random_bool(0.3) {
            timeline.push(
                rng.random_range(0.2..0.6),
                SegmentKind::Breath { next_vowel: vowel },
            );
            if rng.random_bool(0.5) {
                let (length, consonant) = random_consonant(rng);
                timeline.push(length, consonant);
            }
            previous = None;
        }
    }
    let mut phrase = Phrase::with_segments(timeline.finish());
    phrase.open_quotient = rng.random_range(0.45..0.7);
    phrase.tilt_db_per_octave = rng.random_range(-4.0..0.0);
    phrase
}

/// A singer's manner, for style-transfer tests: where the melody sits and how far it moves, how
/// long the notes are, the vibrato and the voice's brightness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SingingStyle {
    /// Notes are drawn around this MIDI note...
    pub centre_midi: f64,
    /// ...up to this many semitones either side.
    pub spread_st: f64,
    /// Note lengths are drawn from this range, seconds.
    pub note_s: (f64, f64),
    /// Vibrato on every note: rate (Hz) and extent (cents, half peak-to-peak).
    pub vibrato: (f64, f64),
    pub tilt_db_per_octave: f32,
}

/// Two contrasting manners for reference-transfer checks: `(reference, input)` — a dark, low,
/// narrow reference with long notes and a slow, shallow vibrato, and a brighter, higher, wider
/// input with shorter notes and a faster, deeper vibrato.
pub fn transfer_test_styles() -> (SingingStyle, SingingStyle) {
    (
        SingingStyle {
            centre_midi: 55.0,
            spread_st: 2.0,
            note_s: (0.8, 1.4),
            vibrato: (5.0, 35.0),
            tilt_db_per_octave: -5.0,
        },
        SingingStyle {
            centre_midi: 60.0,
            spread_st: 5.0,
            note_s: (0.4, 0.8),
            vibrato: (6.5, 70.0),
            tilt_db_per_octave: -1.0,
        },
    )
}

/// About `duration_s` of singing in `style`, a breath after about every third note.
/// Deterministic from `rng`.
pub fn styled_singing(rng: &mut impl Rng, style: &SingingStyle, duration_s: f64) -> Phrase {
    let mut notes = Vec::new();
    let mut total_s = 0.0;
    while total_s < duration_s {
        let midi = style.centre_midi + rng.random_range(-style.spread_st..=style.spread_st).round();
        let length_s = rng.random_range(style.note_s.0..style.note_s.1);
        let mut note = Note::new(midi, length_s, VOWELS[rng.random_range(0..VOWELS.len())])
            .with_vibrato(style.vibrato.0, style.vibrato.1, 0.2);
        total_s += length_s;
        if rng.random_bool(0.3) {
            note = note.with_rest_after(0.3);
            total_s += 0.3;
        }
        notes.push(note);
    }
    let mut phrase = Phrase::sung(notes);
    phrase.tilt_db_per_octave = style.tilt_db_per_octave;
    phrase
}

/// About `duration_s` of random speech: syllables (consonant + vowel) with declining pitch
/// across each phrase, pitch accents, final falls or rises, and pauses between phrases. F0
/// stays within 70–400 Hz. Deterministic from `rng`.
pub fn random_speech(rng: &mut impl Rng, duration_s: f64) -> Phrase {
    // A speaker's baseline: 80–250 Hz as MIDI (≈ 39.5 … 59).
    let baseline = rng.random_range(39.5..59.0);
    let mut timeline = TimelineBuilder::new();
    while timeline.now_s < duration_s {
        let syllables = rng.random_range(3..12);
        let phrase_start = baseline + rng.random_range(0.0..4.0);
        // Declination: about two semitones per second of phrase.
        let declination_per_syllable = rng.random_range(0.15..0.5);
        let mut previous_vowel = None;
        for i in 0..syllables {
            if rng.random_bool(0.6) {
                let (length, consonant) = random_consonant(rng);
                timeline.push(length, consonant);
                previous_vowel = None;
            }
            let start = phrase_start - i as f64 * declination_per_syllable;
            let last = i + 1 == syllables;
            let end = if last {
                start
                    + if rng.random_bool(0.3) {
                        rng.random_range(2.0..6.0)
                    } else {
                        -rng.random_range(1.0..4.0)
                    }
            } else {
                start - declination_per_syllable
            };
            let accent_semitones = if rng.random_bool(0.25) {
                rng.random_range(2.0..5.0)
            } else {
                0.0
            };
            let vowel = VOWELS[rng.random_range(0..5)];
            let clamp = |m: f64| m.clamp(37.5, 67.0); // 70–400 Hz
            timeline.push(
                rng.random_range(0.1..0.28),
                SegmentKind::Voiced {
                    pitch: PitchCurve::Syllable {
                        start_midi: clamp(start),
                        end_midi: clamp(end),
                        accent_semitones,
                    },
                    vowel,
                    previous_vowel,
                    run_s: (0.0, 0.0),
                },
            );
            previous_vowel = Some(vowel);
        }
        timeline.push(rng.random_range(0.2..0.7), SegmentKind::Silence);
    }
    let mut phrase = Phrase::with_segments(timeline.finish());
    phrase.open_quotient = rng.random_range(0.5..0.75);
    phrase.tilt_db_per_octave = rng.random_range(-6.0..-1.0);
    phrase.drift_cents = 0.0;
    phrase
}

pub(super) struct VoiceState {
    /// 0 when the folds are not vibrating.
    pub f0_hz: f64,
    pub voiced_amp: f32,
    pub breath_amp: f32,
    pub vowel_from: Vowel,
    pub vowel_to: Vowel,
    /// 0..1 from `vowel_from` to `vowel_to`.
    pub vowel_blend: f32,
    /// The consonant being articulated, if any, and its current level.
    pub frication: Option<Consonant>,
    pub frication_amp: f32,
}

impl VoiceState {
    fn silent(vowel: Vowel) -> Self {
        Self {
            f0_hz: 0.0,
            voiced_amp: 0.0,
            breath_amp: 0.0,
            vowel_from: vowel,
            vowel_to: vowel,
            vowel_blend: 1.0,
            frication: None,
            frication_amp: 0.0,
        }
    }
}

/// Slow, seeded pitch wander: three incommensurate sines below 1 Hz.
pub(super) struct PitchDrift {
    /// (frequency Hz, phase rad, amplitude cents)
    components: [(f64, f64, f64); 3],
}

impl PitchDrift {
    pub fn new(rng: &mut impl Rng, peak_cents: f64) -> Self {
        let mut component = |amp_share: f64| {
            (
                rng.random_range(0.15..0.9),
                rng.random_range(0.0..std::f64::consts::TAU),
                peak_cents * amp_share,
            )
        };
        Self {
            components: [component(0.5), component(0.3), component(0.2)],
        }
    }

    fn cents_at(&self, t: f64) -> f64 {
        self.components
            .iter()
            .map(|(f, p, a)| a * (std::f64::consts::TAU * f * t + p).sin())
            .sum()
    }
}

fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}
