//! The emotion transform's changes of timbre on the rendered voice: spectral tilt (brighter for
//! high arousal, darker for low) and breathiness (aspiration noise that follows the voice).

use super::brightness_match::BrightnessMatch;
use super::white_noise::WhiteNoise;
use crate::engine::MAX_CHANNELS;

/// Where the tilt pivots: the usual split of "alpha ratio" measures of vocal effort (energy
/// above vs below 1 kHz). The shelf's gain there is half its high-frequency gain in dB.
const TILT_PIVOT_HZ: f32 = 1_000.0;
/// The balance of energy above vs below 1 kHz moves by less than the shelf's high-frequency
/// gain (the transition spans the pivot); this scales the gain so the measured balance moves by
/// about the asked dB on its own, and the brightness loop (see `brightness_match`) makes up the
/// rest: ±4 dB of balance took ±7.7 dB of shelf on the emotion evaluation's sung voice and ±6.2
/// on its speech (offline, per-frame balance over voiced frames).
const TILT_EFFECT_SCALE: f32 = 1.7;
/// Aspiration noise band: where a breathy voice's noise is heard, above the first formant and
/// below sibilance.
const BREATH_BAND_HZ: (f32, f32) = (800.0, 4_000.0);
/// Breath at amount 1 relative to the voice's envelope (≈ −20 dB). Louder noise (−12 dB) added
/// +7.6 dB of high-frequency balance at amount 0.5, turning "sad, darker" into brighter.
const BREATH_LEVEL_AT_FULL: f32 = 0.1;
/// The voice envelope the breath follows, time constant: a syllable's shape, not its cycles.
const BREATH_FOLLOW_S: f32 = 0.010;
/// How much a shelf changes a moment's level depends on that moment's colour: −22 dB above the
/// pivot (sad at 150 % with its brightness correction) took 1.2 dB from the loudest fifth of the
/// sung test voice's frames and 2.6 dB from the rest, and widened the loudness spread that sad
/// narrows (×0.96 where 100 % read ×0.80). So the tilt keeps its average effect on the level
/// (darker is softer, brighter louder, as the presets want) but not the differences between
/// moments: a make-up gain brings each moment's change (followed over a syllable, so the gain
/// follows the vowels' colours, not the cycles) to the average change (over a few phrases).
/// Making up the whole change instead (tried) took brightness out of loudness altogether, and
/// angry's sung loudness spread at 150 % fell below 100 %'s (×1.43 against ×1.55).
const LEVEL_FOLLOW_S: f32 = 0.020;
const LEVEL_MEMORY_S: f32 = 2.0;
/// Below this power the change is not followed (silence says nothing about colour).
const MIN_FOLLOWED_POWER: f32 = 1e-10;
/// The make-up gain's limits (±12 dB), reached only by a shelf at the end of its range.
const MAKEUP_RANGE: (f32, f32) = (0.25, 4.0);

/// The tilt is a first-order high shelf whose gain is 1 at DC and `G` above, with the
/// transition centred (geometrically) on the pivot, the band below, where a voice's loudness
/// and its fundamental lie, left alone (a fixed cut or boost there, tried earlier, boosted a dark
/// voice's fundamental region by up to +10 dB), and a make-up gain that evens out how the shelf
/// changes the level from one vowel to the next (see [`LEVEL_FOLLOW_S`]).
/// The transition moves with the gain, so the shelf reaches any depth: a low-pass at the pivot
/// plus `G` times the rest, which it replaced, came no lower than the low-pass's own −10 dB at
/// 3 kHz however small `G` was, and a reference twice as dark as the input could not be matched.
pub struct VoiceColour {
    /// tan(π · pivot / rate): the bilinear transform's frequency prewarp.
    pivot_tan: f32,
    shelf_state: [f32; MAX_CHANNELS],
    /// The gain the coefficients `[b0, b1, a1]` are for: it glides only when the tilt changes.
    shelf_gain: f32,
    shelf: [f32; 3],
    /// The shelf's input and output power, followed over [`LEVEL_FOLLOW_S`].
    level_follow_coefficient: f32,
    power_in: f32,
    power_out: f32,
    /// The shelf's output over input power, followed over [`LEVEL_MEMORY_S`] of voice.
    mean_follow: f32,
    mean_power_ratio: f32,
    /// Breath noise and its band-pass filters' states.
    noise: WhiteNoise,
    noise_highpass_coefficient: f32,
    noise_lowpass_coefficient: f32,
    noise_highpass_lowpassed: f32,
    noise_band: f32,
    follow_coefficient: f32,
    envelope: f32,
    /// How the voice's brightness compares with the input's before the tilt.
    brightness: BrightnessMatch,
}

impl VoiceColour {
    pub fn new(sample_rate_hz: f32) -> Self {
        let one_pole = |hz: f32| (-std::f32::consts::TAU * hz / sample_rate_hz).exp();
        Self {
            pivot_tan: (std::f32::consts::PI * TILT_PIVOT_HZ.min(0.4 * sample_rate_hz)
                / sample_rate_hz)
                .tan(),
            shelf_state: [0.0; MAX_CHANNELS],
            shelf_gain: 1.0,
            shelf: [1.0, 0.0, 0.0],
            level_follow_coefficient: (-1.0 / (LEVEL_FOLLOW_S * sample_rate_hz)).exp(),
            power_in: 0.0,
            power_out: 0.0,
            mean_follow: 1.0 - (-1.0 / (LEVEL_MEMORY_S * sample_rate_hz)).exp(),
            mean_power_ratio: 1.0,
            noise: WhiteNoise::new(0x2545_F491),
            noise_highpass_coefficient: one_pole(BREATH_BAND_HZ.0),
            noise_lowpass_coefficient: one_pole(BREATH_BAND_HZ.1.min(0.45 * sample_rate_hz)),
            noise_highpass_lowpassed: 0.0,
            noise_band: 0.0,
            follow_coefficient: (-1.0 / (BREATH_FOLLOW_S * sample_rate_hz)).exp(),
            envelope: 0.0,
            brightness: BrightnessMatch::new(sample_rate_hz),
        }
    }

    pub fn reset(&mut self) {
        self.shelf_state = [0.0; MAX_CHANNELS];
        self.power_in = 0.0;
        self.power_out = 0.0;
        self.mean_power_ratio = 1.0;
        self.noise_highpass_lowpassed = 0.0;
        self.noise_band = 0.0;
        self.envelope = 0.0;
        self.brightness.reset();
    }

    /// See [`BrightnessMatch::correction_db`].
    pub fn brightness_correction_db(&self) -> f32 {
        self.brightness.correction_db()
    }

    /// High-frequency gain of the shelf for a `tilt_db` change.
    pub fn high_band_gain(tilt_db: f32) -> f32 {
        10f32.powf(TILT_EFFECT_SCALE * tilt_db / 20.0)
    }

    /// Applies, sample by sample, the tilt whose high-band gain is `high_gain[i]` and breath
    /// `breath_amount[i]` to `channels` (all as long as the curves), and measures the result
    /// against `dry` (the input, aligned, mono) where `voicing` says it is voiced, for
    /// [`Self::brightness_correction_db`] to hold it `asked_tilt_db` brighter.
    pub fn process(
        &mut self,
        channels: &mut [&mut [f32]],
        dry: &[f32],
        voicing: &[f32],
        asked_tilt_db: &[f32],
        high_gain: &[f32],
        breath_amount: &[f32],
    ) {
        let n = high_gain.len();
        let follow = self.follow_coefficient;
        let scale = 1.0 / channels.len().max(1) as f32;
        for i in 0..n {
            let g_high = high_gain[i];
            let breath = breath_amount[i];
            let noise = if breath > 0.0 {
                self.next_breath_noise()
            } else {
                0.0
            };
            let level: f32 = channels.iter().map(|c| c[i].abs()).sum::<f32>() * scale;
            self.envelope = follow * self.envelope + (1.0 - follow) * level;
            // Breath goes in before the tilt, so a darker voice has darker breath too.
            let add = BREATH_LEVEL_AT_FULL * breath * self.envelope * noise;
            if g_high != self.shelf_gain {
                self.shelf_gain = g_high;
                self.shelf = shelf_coefficients(g_high, self.pivot_tan);
            }
            let [b0, b1, a1] = self.shelf;
            let (mut power_in, mut power_out) = (0.0, 0.0);
            for (channel, state) in channels.iter_mut().zip(self.shelf_state.iter_mut()) {
                let x = channel[i] + add;
                let y = b0 * x + *state;
                *state = b1 * x - a1 * y;
                channel[i] = y;
                power_in += x * x;
                power_out += y * y;
            }
            let keep = self.level_follow_coefficient;
            self.power_in = keep * self.power_in + (1.0 - keep) * power_in;
            self.power_out = keep * self.power_out + (1.0 - keep) * power_out;
            if self.power_in > MIN_FOLLOWED_POWER {
                let ratio = self.power_out / self.power_in;
                self.mean_power_ratio += self.mean_follow * (ratio - self.mean_power_ratio);
            }
            let makeup = (self.mean_power_ratio * (self.power_in + MIN_FOLLOWED_POWER)
                / (self.power_out + MIN_FOLLOWED_POWER))
                .sqrt()
                .clamp(MAKEUP_RANGE.0, MAKEUP_RANGE.1);
            let mut voice = 0.0;
            for channel in channels.iter_mut() {
                channel[i] *= makeup;
                voice += channel[i];
            }
            self.brightness
                .push(dry[i], voice * scale, voicing[i], asked_tilt_db[i]);
        }
    }

    /// White noise band-passed to the breath band, ≈ unit RMS.
    fn next_breath_noise(&mut self) -> f32 {
        let white = self.noise.next();
        let h = self.noise_highpass_coefficient;
        self.noise_highpass_lowpassed = h * self.noise_highpass_lowpassed + (1.0 - h) * white;
        let highpassed = white - self.noise_highpass_lowpassed;
        let l = self.noise_lowpass_coefficient;
        self.noise_band = l * self.noise_band + (1.0 - l) * highpassed;
        // Uniform white noise has RMS 1/√3 and the band keeps roughly a third of it.
        3.0 * self.noise_band
    }
}

/// The shelf H(s) = (G·s + ω·√G) / (s + ω·√G) — 1 at DC, G above, √G at the pivot ω — by the
/// bilinear transform (`pivot_tan` = tan(ω / 2 / rate)), as `[b0, b1, a1]` of
/// y[n] = b0·x[n] + b1·x[n−1] − a1·y[n−1].
fn shelf_coefficients(gain: f32, pivot_tan: f32) -> [f32; 3] {
    let r = gain.sqrt() * pivot_tan;
    let norm = 1.0 / (1.0 + r);
    [(gain + r) * norm, (r - gain) * norm, (r - 1.0) * norm]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emotion::brightness_match::tests::buzz;
    use realfft::RealFftPlanner;

    const RATE: f32 = 48_000.0;

    /// Energy in 1–5 kHz over 50 Hz–1 kHz, dB, of the whole of `x` (one long spectrum).
    fn alpha_db(x: &[f32]) -> f32 {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(x.len());
        let mut input = x.to_vec();
        let mut spectrum = fft.make_output_vec();
        fft.process(&mut input, &mut spectrum).unwrap();
        let bin_hz = RATE / x.len() as f32;
        let band = |low: f32, high: f32| -> f32 {
            spectrum
                .iter()
                .enumerate()
                .filter(|(k, _)| (low..high).contains(&(*k as f32 * bin_hz)))
                .map(|(_, c)| c.norm_sqr())
                .sum()
        };
        10.0 * (band(1_000.0, 5_000.0) / band(50.0, 1_000.0)).log10()
    }

    #[test]
    fn the_finished_voice_is_as_much_brighter_than_the_input_as_asked() {
        // The rendering came out 1 dB/octave darker than the input; 1 dB brighter is asked.
        let dry = buzz(-6.0, 4.0);
        let mut voice = buzz(-7.0, 4.0);
        let asked_db = 1.0;
        let mut colour = VoiceColour::new(RATE);
        const CHUNK: usize = 256;
        let (voicing, asked, breath) = ([1.0; CHUNK], [asked_db; CHUNK], [0.0; CHUNK]);
        for (wet, dry) in voice.chunks_mut(CHUNK).zip(dry.chunks(CHUNK)) {
            // As the emotion stage does: the correction found so far on top of the asked tilt.
            let gain = VoiceColour::high_band_gain(asked_db + colour.brightness_correction_db());
            let n = wet.len();
            let mut channels = [wet];
            colour.process(
                &mut channels,
                dry,
                &voicing[..n],
                &asked[..n],
                &[gain; CHUNK][..n],
                &breath[..n],
            );
        }
        let last_s = RATE as usize;
        let tail = |x: &[f32]| x[x.len() - last_s..].to_vec();
        let before = alpha_db(&tail(&buzz(-7.0, 4.0))) - alpha_db(&tail(&dry));
        let after = alpha_db(&tail(&voice)) - alpha_db(&tail(&dry));
        assert!(before < -2.0, "the rendering was {before} dB darker");
        assert!(
            (after - asked_db).abs() < 0.5,
            "{after} dB brighter, {asked_db} asked"
        );
    }

    /// Level in dB of the part of `x` within `band_hz` (one long spectrum).
    fn band_db(x: &[f32], band_hz: (f32, f32)) -> f32 {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(x.len());
        let mut input = x.to_vec();
        let mut spectrum = fft.make_output_vec();
        fft.process(&mut input, &mut spectrum).unwrap();
        let bin_hz = RATE / x.len() as f32;
        let power: f32 = spectrum
            .iter()
            .enumerate()
            .filter(|(k, _)| (band_hz.0..band_hz.1).contains(&(*k as f32 * bin_hz)))
            .map(|(_, c)| c.norm_sqr())
            .sum();
        10.0 * power.log10()
    }

    #[test]
    fn a_deep_tilt_darkens_beyond_a_low_pass_and_evens_its_level_changes() {
        // A style transfer towards a much darker reference asks for this much.
        let tilt_db = -12.0;
        // Bright and dark "vowels" at equal power, a quarter second each.
        let segment = RATE as usize / 4;
        let power = |x: &[f32]| x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32;
        let (mut bright, mut dark) = (buzz(-3.0, 0.25), buzz(-12.0, 0.25));
        let scale = (power(&bright) / power(&dark)).sqrt();
        dark.iter_mut().for_each(|s| *s *= scale);
        bright.truncate(segment);
        dark.truncate(segment);
        let dry: Vec<f32> = (0..16)
            .flat_map(|k| {
                if k % 2 == 0 {
                    bright.clone()
                } else {
                    dark.clone()
                }
            })
            .collect();
        let mut voice = dry.clone();
        let mut colour = VoiceColour::new(RATE);
        let n = voice.len();
        let gain = vec![VoiceColour::high_band_gain(tilt_db); n];
        let (voicing, asked, breath) = (vec![1.0; n], vec![tilt_db; n], vec![0.0; n]);
        colour.process(
            &mut [&mut voice[..]],
            &dry,
            &voicing,
            &asked,
            &gain,
            &breath,
        );
        // The last bright and dark segments, past each one's first 50 ms.
        let settled = |k: usize| k * segment + segment / 5..(k + 1) * segment;
        let change_db = |k: usize, band: (f32, f32)| {
            band_db(&voice[settled(k)], band) - band_db(&dry[settled(k)], band)
        };
        let darkening_db = change_db(14, (2_500.0, 3_500.0)) - change_db(14, (100.0, 400.0));
        // A first-order low-pass at the pivot, the old shelf's floor, takes 10 dB at 3 kHz.
        assert!(
            darkening_db < -13.0,
            "3 kHz moved {darkening_db} dB against 100–400 Hz"
        );
        let whole = (0.0, RATE / 2.0);
        let (bright_db, dark_db) = (change_db(14, whole), change_db(15, whole));
        assert!(
            (bright_db - dark_db).abs() < 1.0,
            "the bright vowel moved {bright_db} dB, the dark one {dark_db} dB"
        );
        assert!(
            dark_db < 0.0,
            "darker must stay softer on average: {dark_db} dB"
        );
    }
}
