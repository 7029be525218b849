//! The vocal tract: a cascade of formant resonators, interpolated between vowels.

/// Vowels of the test voice, with adult-male formants (Peterson & Barney 1952 averages, F4/F5
/// from Klatt 1980's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vowel {
    A,
    E,
    I,
    O,
    U,
}

/// Five formants: centre frequencies and bandwidths in Hz.
struct FormantSet {
    freqs_hz: [f32; 5],
    bandwidths_hz: [f32; 5],
}

impl Vowel {
    fn formants(self) -> FormantSet {
        let freqs_hz = match self {
            Vowel::A => [730.0, 1090.0, 2440.0, 3300.0, 3750.0],
            Vowel::E => [530.0, 1840.0, 2480.0, 3300.0, 3750.0],
            Vowel::I => [270.0, 2290.0, 3010.0, 3300.0, 3750.0],
            Vowel::O => [570.0, 840.0, 2410.0, 3300.0, 3750.0],
            Vowel::U => [300.0, 870.0, 2240.0, 3300.0, 3750.0],
        };
        FormantSet {
            freqs_hz,
            bandwidths_hz: [80.0, 100.0, 120.0, 250.0, 200.0],
        }
    }
}

/// Klatt (1980) digital resonator with unity gain at DC.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Resonator {
    a: f32,
    b: f32,
    c: f32,
    y1: f32,
    y2: f32,
}

impl Resonator {
    pub(super) fn set(&mut self, freq_hz: f32, bandwidth_hz: f32, sample_rate_hz: f32) {
        use std::f32::consts::PI;
        let t = 1.0 / sample_rate_hz;
        // A formant at or above Nyquist (low sample rates) is left out rather than aliased.
        if freq_hz >= 0.45 * sample_rate_hz {
            *self = Self {
                a: 1.0,
                ..Self::default()
            };
            return;
        }
        self.c = -(-2.0 * PI * bandwidth_hz * t).exp();
        self.b = 2.0 * (-PI * bandwidth_hz * t).exp() * (2.0 * PI * freq_hz * t).cos();
        self.a = 1.0 - self.b - self.c;
    }

    pub(super) fn process(&mut self, x: f32) -> f32 {
        let y = self.a * x + self.b * self.y1 + self.c * self.y2;
        self.y2 = self.y1;
        self.y1 = y;
        y
    }
}

/// Parallel formant bank (Klatt 1980's parallel branch). A cascade of five resonators would roll
/// off at −60 dB/octave above F5 and leave nothing above 4 kHz; in parallel the top resonators
/// keep the natural −12 dB/octave slope that real voices show up to 10 kHz.
pub struct FormantFilter {
    sample_rate_hz: f32,
    resonators: [Resonator; 5],
    /// Per-formant gains: a falling level per formant, divided by each resonator's peak gain
    /// (≈ F/B) and with alternating signs so the sum has no deep notches between formants.
    gains: [f32; 5],
    /// Previous input, for the radiation pre-emphasis.
    last_input: f32,
}

/// Peak level of each formant relative to F1, in dB.
const FORMANT_LEVELS_DB: [f32; 5] = [0.0, -6.0, -12.0, -20.0, -26.0];
/// First-order pre-emphasis `1 - k z⁻¹`: lip radiation's +6 dB/octave.
const RADIATION: f32 = 0.9;

impl FormantFilter {
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz,
            resonators: [Resonator::default(); 5],
            gains: [0.0; 5],
            last_input: 0.0,
        }
    }

    /// Sets formants `blend` of the way from vowel `from` to vowel `to` (linear in Hz).
    pub fn set_vowel_blend(&mut self, from: Vowel, to: Vowel, blend: f32) {
        let (a, b) = (from.formants(), to.formants());
        for (i, resonator) in self.resonators.iter_mut().enumerate() {
            let freq = a.freqs_hz[i] + blend * (b.freqs_hz[i] - a.freqs_hz[i]);
            let bandwidth = a.bandwidths_hz[i] + blend * (b.bandwidths_hz[i] - a.bandwidths_hz[i]);
            // Keep the filter state so the change is click-free; only coefficients move.
            let (y1, y2) = (resonator.y1, resonator.y2);
            resonator.set(freq, bandwidth, self.sample_rate_hz);
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            self.gains[i] = sign * 10f32.powf(FORMANT_LEVELS_DB[i] / 20.0) * bandwidth / freq;
            resonator.y1 = y1;
            resonator.y2 = y2;
        }
    }

    pub fn process(&mut self, x: f32) -> f32 {
        let emphasized = x - RADIATION * self.last_input;
        self.last_input = x;
        self.resonators
            .iter_mut()
            .zip(&self.gains)
            .map(|(resonator, gain)| gain * resonator.process(emphasized))
            .sum()
    }
}
