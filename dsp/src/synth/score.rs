//! What the test voice sings: notes, vowels, vibrato, breaths, and how they join.

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

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// Pitch as a (fractional) MIDI note number; 69 = A4 = 440 Hz.
    pub midi: f64,
    pub duration_s: f64,
    pub vowel: Vowel,
    pub vibrato: Option<Vibrato>,
    /// A breath after the note; 0 means the next note follows legato, with portamento.
    pub rest_after_s: f64,
}

impl Note {
    pub fn new(midi: f64, duration_s: f64, vowel: Vowel) -> Self {
        Self { midi, duration_s, vowel, vibrato: None, rest_after_s: 0.0 }
    }

    pub fn with_vibrato(self, rate_hz: f64, extent_cents: f64, onset_s: f64) -> Self {
        Self { vibrato: Some(Vibrato { rate_hz, extent_cents, onset_s }), ..self }
    }

    pub fn with_rest_after(self, rest_after_s: f64) -> Self {
        Self { rest_after_s, ..self }
    }
}

/// A sung phrase and the singer's constant traits.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    pub notes: Vec<Note>,
    /// Silence before the first note.
    pub lead_in_s: f64,
    /// Silence after the last note (lets the release and the resonators ring out).
    pub tail_s: f64,
    /// Duration of the glide between legato notes.
    pub portamento_s: f64,
    /// Glottal open quotient: 0.4 pressed, 0.6 modal, 0.8 breathy.
    pub open_quotient: f64,
    /// Aspiration noise level relative to the voiced source while singing.
    pub breathiness: f32,
    /// Peak amplitude of slow random pitch wander.
    pub drift_cents: f64,
    /// The rendered audio is scaled so its peak has this magnitude.
    pub peak_level: f32,
}

const ATTACK_S: f64 = 0.04;
const RELEASE_S: f64 = 0.08;
const VOWEL_TRANSITION_S: f64 = 0.06;
/// Level of the audible inhalation in rests, relative to the voiced source.
const BREATH_LEVEL: f32 = 0.04;

impl Phrase {
    /// A phrase with modal-voice defaults.
    pub fn sung(notes: Vec<Note>) -> Self {
        Self {
            notes,
            lead_in_s: 0.2,
            tail_s: 0.3,
            portamento_s: 0.07,
            open_quotient: 0.6,
            breathiness: 0.015,
            drift_cents: 6.0,
            peak_level: 0.7,
        }
    }

    pub fn duration_s(&self) -> f64 {
        self.lead_in_s + self.notes.iter().map(|n| n.duration_s + n.rest_after_s).sum::<f64>() + self.tail_s
    }

    /// The voice's state at time `t`.
    pub(super) fn state_at(&self, t: f64, drift: &PitchDrift) -> VoiceState {
        let mut silent = VoiceState::silent(self.notes.first().map_or(Vowel::A, |n| n.vowel));
        let mut note_start = self.lead_in_s;
        // Start of the legato run the current note belongs to (for the attack envelope).
        let mut run_start = note_start;
        let mut previous: Option<&Note> = None;
        for (i, note) in self.notes.iter().enumerate() {
            let note_end = note_start + note.duration_s;
            if t < note_start {
                break;
            }
            if t < note_end {
                return self.sung_state(t, drift, note, previous, (run_start, note_start, note_end));
            }
            let rest_end = note_end + note.rest_after_s;
            if t < rest_end {
                let next_vowel = self.notes.get(i + 1).map_or(note.vowel, |n| n.vowel);
                silent = VoiceState::silent(next_vowel);
                silent.breath_amp = BREATH_LEVEL * breath_envelope(t - note_end, note.rest_after_s);
                return silent;
            }
            previous = if note.rest_after_s > 0.0 { None } else { Some(note) };
            note_start = rest_end;
            if note.rest_after_s > 0.0 {
                run_start = rest_end;
            }
        }
        silent.vowel_from = self.notes.last().map_or(Vowel::A, |n| n.vowel);
        silent.vowel_to = silent.vowel_from;
        silent
    }

    fn sung_state(
        &self,
        t: f64,
        drift: &PitchDrift,
        note: &Note,
        previous: Option<&Note>,
        (run_start, note_start, note_end): (f64, f64, f64),
    ) -> VoiceState {
        let into_note = t - note_start;
        let glide = previous.map_or(1.0, |_| smoothstep(into_note / self.portamento_s));
        let mut midi = previous.map_or(note.midi, |p| p.midi + glide * (note.midi - p.midi));
        if let Some(v) = note.vibrato {
            let since_onset = into_note - v.onset_s;
            if since_onset > 0.0 {
                let fade = (since_onset / VIBRATO_FADE_IN_S).min(1.0);
                let cents = v.extent_cents * fade * (std::f64::consts::TAU * v.rate_hz * since_onset).sin();
                midi += cents / 100.0;
            }
        }
        midi += drift.cents_at(t) / 100.0;

        // The run ends at a rest, or at the phrase's end.
        let run_end = if note.rest_after_s > 0.0 { note_end } else { self.run_end_after(note_end) };
        let attack = ((t - run_start) / ATTACK_S).min(1.0);
        let release = ((run_end - t) / RELEASE_S).min(1.0);
        let envelope = (attack.min(release)).max(0.0) as f32;

        let (vowel_from, vowel_blend) = match previous {
            Some(p) => (p.vowel, smoothstep(into_note / VOWEL_TRANSITION_S) as f32),
            None => (note.vowel, 1.0),
        };
        VoiceState {
            f0_hz: 440.0 * 2f64.powf((midi - 69.0) / 12.0),
            voiced_amp: envelope,
            breath_amp: envelope * self.breathiness,
            vowel_from,
            vowel_to: note.vowel,
            vowel_blend,
        }
    }

    /// End of the legato run that continues at `t` (a note boundary).
    fn run_end_after(&self, t: f64) -> f64 {
        let mut start = self.lead_in_s;
        let mut run_end = t;
        for note in &self.notes {
            let end = start + note.duration_s;
            if end >= t - 1e-9 {
                run_end = end;
                if note.rest_after_s > 0.0 {
                    break;
                }
            }
            start = end + note.rest_after_s;
        }
        run_end
    }
}

/// The demo: five notes around A3 with two held, vibrato-carrying notes and a breath.
pub fn demo_phrase() -> Phrase {
    Phrase::sung(vec![
        Note::new(57.0, 0.6, Vowel::A),
        Note::new(59.0, 0.4, Vowel::E),
        Note::new(61.0, 1.2, Vowel::I).with_vibrato(5.5, 50.0, 0.3).with_rest_after(0.35),
        Note::new(64.0, 0.5, Vowel::O),
        Note::new(62.0, 1.4, Vowel::A).with_vibrato(5.8, 60.0, 0.4),
    ])
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
}

impl VoiceState {
    fn silent(vowel: Vowel) -> Self {
        Self { f0_hz: 0.0, voiced_amp: 0.0, breath_amp: 0.0, vowel_from: vowel, vowel_to: vowel, vowel_blend: 1.0 }
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
            (rng.random_range(0.15..0.9), rng.random_range(0.0..std::f64::consts::TAU), peak_cents * amp_share)
        };
        Self { components: [component(0.5), component(0.3), component(0.2)] }
    }

    fn cents_at(&self, t: f64) -> f64 {
        self.components.iter().map(|(f, p, a)| a * (std::f64::consts::TAU * f * t + p).sin()).sum()
    }
}

/// Rise and fall of an inhalation over a rest.
fn breath_envelope(into_rest: f64, rest_s: f64) -> f32 {
    (std::f64::consts::PI * (into_rest / rest_s).clamp(0.0, 1.0)).sin() as f32
}

fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}
