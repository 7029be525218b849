//! Recording conditions for the test voice: background noise at a given SNR, a room with a given
//! RT60, and level changes. The truth is left as it was: it describes the voice, not the room.

use super::{VoiceRender, random_speech, render};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseKind {
    White,
    /// −3 dB/octave, like most room and traffic noise.
    Pink,
    /// Several other speakers at once.
    Babble,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Degradation {
    /// Noise and its level below the voice (mean power over the voiced frames), in dB.
    pub noise: Option<(NoiseKind, f32)>,
    /// Room reverberation time (60 dB decay).
    pub reverb_rt60_s: Option<f32>,
    /// Slow level changes of ± this many dB (a singer moving off the microphone).
    pub level_swing_db: Option<f32>,
}

/// Applies `degradation` to `voice` in place; `seed` fixes the noise.
pub fn degrade(voice: &mut VoiceRender, degradation: &Degradation, seed: u64) {
    let sr = voice.sample_rate_hz as f32;
    if let Some(rt60) = degradation.reverb_rt60_s {
        apply_room(&mut voice.samples, rt60, sr);
    }
    if let Some(swing_db) = degradation.level_swing_db {
        for (n, x) in voice.samples.iter_mut().enumerate() {
            let t = n as f32 / sr;
            *x *= 10f32.powf(swing_db * (std::f32::consts::TAU * 0.13 * t).sin() / 20.0);
        }
    }
    if let Some((kind, snr_db)) = degradation.noise {
        let mut noise = make_noise(kind, voice.samples.len(), voice.sample_rate_hz, seed);
        let voice_power = voiced_power(voice);
        let noise_power = noise.iter().map(|x| x * x).sum::<f32>() / noise.len().max(1) as f32;
        if voice_power > 0.0 && noise_power > 0.0 {
            let gain = (voice_power / noise_power / 10f32.powf(snr_db / 10.0)).sqrt();
            noise.iter_mut().for_each(|x| *x *= gain);
            voice
                .samples
                .iter_mut()
                .zip(&noise)
                .for_each(|(x, n)| *x += n);
        }
    }
    // Keep the result in range so it can be written to a file unchanged.
    let peak = voice.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if peak > 0.99 {
        voice.samples.iter_mut().for_each(|x| *x *= 0.99 / peak);
    }
}

/// Mean power of the samples in frames the truth calls voiced.
fn voiced_power(voice: &VoiceRender) -> f32 {
    let hop = (super::TRUTH_HOP_S * voice.sample_rate_hz as f64) as usize;
    let (mut sum, mut count) = (0.0f64, 0usize);
    for (i, _) in voice.frames.iter().enumerate().filter(|(_, f)| f.voiced) {
        for x in voice.samples.iter().skip(i * hop).take(hop) {
            sum += (*x as f64).powi(2);
            count += 1;
        }
    }
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}

fn make_noise(kind: NoiseKind, len: usize, sample_rate_hz: u32, seed: u64) -> Vec<f32> {
    let mut rng = Pcg32::seed_from_u64(seed ^ 0x006e_015e);
    match kind {
        NoiseKind::White => (0..len).map(|_| rng.random_range(-1.0..1.0)).collect(),
        NoiseKind::Pink => pink_noise(&mut rng, len),
        NoiseKind::Babble => {
            // Six other speakers, each its own random voice, summed.
            let duration_s = len as f64 / sample_rate_hz as f64;
            let mut sum = vec![0.0f32; len];
            for talker in 0..6u64 {
                let mut talker_rng = Pcg32::seed_from_u64(seed.wrapping_add(1000 + talker));
                let speech = render(
                    &random_speech(&mut talker_rng, duration_s),
                    sample_rate_hz,
                    seed + talker,
                );
                let offset = talker_rng.random_range(0..len.max(1));
                for (i, s) in sum.iter_mut().enumerate() {
                    *s += speech
                        .samples
                        .get((i + offset) % speech.samples.len().max(1))
                        .copied()
                        .unwrap_or(0.0);
                }
            }
            sum
        }
    }
}

/// Voss–McCartney pink noise: rows of held random values, row `k` refreshed every 2^k samples;
/// their sum has a −3 dB/octave spectrum.
fn pink_noise(rng: &mut impl Rng, len: usize) -> Vec<f32> {
    const ROWS: usize = 16;
    let mut rows = [0.0f32; ROWS];
    (0..len)
        .map(|n| {
            // The row whose bit flips at this count changes (n = 0 refreshes them all).
            let row = if n == 0 {
                None
            } else {
                Some((n.trailing_zeros() as usize).min(ROWS - 1))
            };
            match row {
                None => rows
                    .iter_mut()
                    .for_each(|r| *r = rng.random_range(-1.0..1.0)),
                Some(k) => rows[k] = rng.random_range(-1.0..1.0),
            }
            rows.iter().sum::<f32>() / ROWS as f32 + rng.random_range(-1.0..1.0) / ROWS as f32
        })
        .collect()
}

/// A Schroeder room: four parallel damped combs whose feedback gives the RT60, then two
/// all-passes for density; mixed with the direct sound.
fn apply_room(samples: &mut [f32], rt60_s: f32, sample_rate_hz: f32) {
    const COMB_DELAYS_S: [f32; 4] = [0.0297, 0.0371, 0.0411, 0.0437];
    const ALLPASS: [(f32, f32); 2] = [(0.005, 0.7), (0.0017, 0.7)];
    const WET: f32 = 0.6;
    const DAMPING: f32 = 0.3;
    let mut wet = vec![0.0f32; samples.len()];
    for delay_s in COMB_DELAYS_S {
        let delay = (delay_s * sample_rate_hz) as usize;
        // Each pass through the loop loses 60 dB × delay / RT60.
        let feedback = 10f32.powf(-3.0 * delay_s / rt60_s);
        let mut line = vec![0.0f32; delay];
        let (mut pos, mut low) = (0usize, 0.0f32);
        for (x, w) in samples.iter().zip(wet.iter_mut()) {
            let out = line[pos];
            low = (1.0 - DAMPING) * out + DAMPING * low;
            line[pos] = x + feedback * low;
            pos = (pos + 1) % delay;
            *w += out / COMB_DELAYS_S.len() as f32;
        }
    }
    for (delay_s, gain) in ALLPASS {
        let delay = (delay_s * sample_rate_hz) as usize;
        let mut line = vec![0.0f32; delay];
        let mut pos = 0usize;
        for w in wet.iter_mut() {
            let delayed = line[pos];
            let input = *w;
            let out = -gain * input + delayed;
            line[pos] = input + gain * out;
            pos = (pos + 1) % delay;
            *w = out;
        }
    }
    samples
        .iter_mut()
        .zip(&wet)
        .for_each(|(x, w)| *x = (1.0 - WET) * *x + WET * w);
}

#[cfg(test)]
mod tests {
    use super::super::{Note, Phrase, Vowel};
    use super::*;

    #[test]
    fn noise_is_added_at_the_requested_snr() {
        let clean = render(
            &Phrase::sung(vec![Note::new(55.0, 1.5, Vowel::A)]),
            16_000,
            1,
        );
        for kind in [NoiseKind::White, NoiseKind::Pink, NoiseKind::Babble] {
            let mut noisy = clean.clone();
            degrade(
                &mut noisy,
                &Degradation {
                    noise: Some((kind, 10.0)),
                    ..Default::default()
                },
                9,
            );
            let noise: Vec<f32> = noisy
                .samples
                .iter()
                .zip(&clean.samples)
                .map(|(a, b)| a - b)
                .collect();
            let noise_power = noise.iter().map(|x| x * x).sum::<f32>() / noise.len() as f32;
            let snr_db = 10.0 * (voiced_power(&clean) / noise_power).log10();
            assert!((snr_db - 10.0).abs() < 0.5, "{kind:?}: {snr_db} dB");
        }
    }

    #[test]
    fn the_room_decays_by_its_rt60() {
        let mut impulse = vec![0.0f32; 32_000];
        impulse[0] = 1.0;
        apply_room(&mut impulse, 0.5, 16_000.0);
        let energy = |from: f32, to: f32| {
            impulse[(from * 16_000.0) as usize..(to * 16_000.0) as usize]
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
        };
        // Energy per 100 ms falls by 60 dB per RT60: 12 dB per 100 ms at 0.5 s (±4 dB).
        let decay_db = 10.0 * (energy(0.1, 0.2) / energy(0.3, 0.4)).log10();
        assert!(
            (decay_db - 24.0).abs() < 4.0,
            "decay over 200 ms: {decay_db} dB"
        );
    }
}
