//! The emotion transform's changes of timbre on the rendered voice: spectral tilt (brighter for
//! high arousal, darker for low) and breathiness (aspiration noise that follows the voice).

use super::white_noise::WhiteNoise;
use crate::engine::MAX_CHANNELS;

/// Where the tilt pivots: the usual split of "alpha ratio" measures of vocal effort (energy
/// above vs below 1 kHz).
const TILT_PIVOT_HZ: f32 = 1_000.0;
/// A first-order split turns over gently, so the balance of energy above vs below 1 kHz moves
/// by less than the upper band's gain; this scales the gain so the measured balance moves by the
/// asked dB (`cargo xtask emotion-eval`, one control at a time on the singing test voice, mean
/// per-frame balance of voiced frames: ±4 dB asked read +3.03/−2.77 at 1.6).
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
#[derive(Debug, Clone)]
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
        }
    }

    pub fn reset(&mut self) {
        self.lowpass_state = [0.0; MAX_CHANNELS];
        self.noise_highpass_lowpassed = 0.0;
        self.noise_band = 0.0;
        self.envelope = 0.0;
    }

    /// Linear gain of the band above the pivot for a `tilt_db` change.
    pub fn high_band_gain(tilt_db: f32) -> f32 {
        10f32.powf(TILT_EFFECT_SCALE * tilt_db / 20.0)
    }

    /// Applies, sample by sample, the tilt whose high-band gain is `high_gain[i]` and breath
    /// `breath_amount[i]` to `channels` (all as long as the curves).
    pub fn process(
        &mut self,
        channels: &mut [&mut [f32]],
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
            for (channel, state) in channels.iter_mut().zip(self.lowpass_state.iter_mut()) {
                let x = channel[i] + add;
                *state = a * *state + (1.0 - a) * x;
                channel[i] = *state + g_high * (x - *state);
            }
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
