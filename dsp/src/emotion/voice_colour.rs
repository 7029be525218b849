//! The emotion transform's changes of timbre on the rendered voice: spectral tilt (brighter for
//! high arousal, darker for low) and breathiness (aspiration noise that follows the voice).

use super::brightness_match::BrightnessMatch;
use super::white_noise::WhiteNoise;
use crate::engine::MAX_CHANNELS;

/// Where the tilt pivots: the usual split of "alpha ratio" measures of vocal effort (energy
/// above vs below 1 kHz).
const TILT_PIVOT_HZ: f32 = 1_000.0;
/// A first-order split turns over gently, so the balance of energy above vs below 1 kHz moves
/// by less than the upper band's gain; this scales the gain so the measured balance moves by
/// about the asked dB on its own (`cargo xtask emotion-eval`, one control at a time on the singing
/// test voice: ±4 dB asked read +3.03/−2.77 at 1.6), and the brightness loop (see
/// `brightness_match`) makes up the rest.
const TILT_EFFECT_SCALE: f32 = 2.2;
/// Aspiration noise band: where a breathy voice's noise is heard, above the first formant and
/// below sibilance.
const BREATH_BAND_HZ: (f32, f32) = (800.0, 4_000.0);
/// Breath at amount 1 relative to the voice's envelope (≈ −20 dB). Louder noise (−12 dB) added
/// +7.6 dB of high-frequency balance at amount 0.5, turning "sad, darker" into brighter.
const BREATH_LEVEL_AT_FULL: f32 = 0.1;
/// The voice envelope the breath follows, time constant: a syllable's shape, not its cycles.
const BREATH_FOLLOW_S: f32 = 0.010;

/// Splits the voice at the pivot and weighs the band above it: the band below, where a voice's
/// loudness lies, is left alone. (Splitting the change half and half boosted a dark voice's
/// fundamental region by up to +10 dB: louder, clipping, and a larger loudness spread.) So
/// brighter is also a little louder and darker a little softer, as the presets want anyway.
pub struct VoiceColour {
    lowpass_coefficient: f32,
    lowpass_state: [f32; MAX_CHANNELS],
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
            lowpass_coefficient: one_pole(TILT_PIVOT_HZ),
            lowpass_state: [0.0; MAX_CHANNELS],
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
        self.lowpass_state = [0.0; MAX_CHANNELS];
        self.noise_highpass_lowpassed = 0.0;
        self.noise_band = 0.0;
        self.envelope = 0.0;
        self.brightness.reset();
    }

    /// See [`BrightnessMatch::correction_db`].
    pub fn brightness_correction_db(&self) -> f32 {
        self.brightness.correction_db()
    }

    /// Linear gain of the band above the pivot for a `tilt_db` change.
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
        let a = self.lowpass_coefficient;
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
            let mut voice = 0.0;
            for (channel, state) in channels.iter_mut().zip(self.lowpass_state.iter_mut()) {
                let x = channel[i] + add;
                *state = a * *state + (1.0 - a) * x;
                channel[i] = *state + g_high * (x - *state);
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
}
