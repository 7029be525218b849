//! Processing fuzz: the engine fed random block sizes (1–8192), random controls changing at random
//! offsets, every supported sample rate, both modes, mono and stereo, and input that alternates
//! between a voice, noise and everything hostile a host can send. Every output sample must be
//! finite and within [`OUTPUT_CEILING`], nothing may panic, and after each episode the engine must
//! be back to the delayed input within 100 ms of clean input.
//!
//! `AFFETTO_FUZZ_BLOCKS` sets how many blocks to run (default 100 000; the long run is 10⁷).

use affetto_dsp::emotion::{
    EmotionControls, EmotionDirection, EmotionPreset, EmotionSource, StyleProfile,
};
use affetto_dsp::pitch::neural::{PitchNet, neural_channel};
use affetto_dsp::{AnalysisMode, Controls, Engine, OUTPUT_CEILING, synth};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

const SAMPLE_RATES_HZ: [f32; 6] = [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0];
const MAX_BLOCK: usize = 8192;
const DEFAULT_BLOCKS: u64 = 100_000;

/// What a stretch of input is made of.
#[derive(Debug, Clone, Copy)]
enum Stretch {
    Voice,
    WhiteNoise,
    Nan,
    PositiveInfinity,
    NegativeInfinity,
    Denormal,
    Huge,
    FullScaleSquare,
    Dc,
    Silence,
}

const STRETCHES: [Stretch; 10] = [
    Stretch::Voice,
    Stretch::WhiteNoise,
    Stretch::Nan,
    Stretch::PositiveInfinity,
    Stretch::NegativeInfinity,
    Stretch::Denormal,
    Stretch::Huge,
    Stretch::FullScaleSquare,
    Stretch::Dc,
    Stretch::Silence,
];

/// Log-uniform in 1..=max: small blocks as often as large ones, per octave.
fn log_uniform(rng: &mut impl Rng, max: usize) -> usize {
    let octaves = (max as f64).log2();
    (2f64.powf(rng.random_range(0.0..=octaves)) as usize).clamp(1, max)
}

/// Controls as a host might send them, now and then out of range or not a number.
fn random_controls(rng: &mut impl Rng) -> Controls {
    let mut controls = Controls {
        mix_fraction: rng.random_range(0.0..=1.0),
        output_gain_db: rng.random_range(-60.0..=30.0),
        bypass: rng.random_bool(0.2),
        pitch_shift_st: rng.random_range(-24.0..=24.0),
        formant_shift_st: rng.random_range(-12.0..=12.0),
        vowel_stretch: rng.random_range(0.5..=2.0),
        emotion: EmotionControls {
            source: if rng.random_bool(0.5) {
                EmotionSource::Preset(EmotionPreset::ALL[rng.random_range(0..6)])
            } else {
                EmotionSource::ArousalValence {
                    arousal: rng.random_range(-1.0..=1.0),
                    valence: rng.random_range(-1.0..=1.0),
                }
            },
            intensity: rng.random_range(0.0..=1.5),
            trims: EmotionDirection {
                f0_level_st: rng.random_range(-6.0..=6.0),
                f0_range_ratio: rng.random_range(0.5..=2.0),
                vibrato_extent_ratio: rng.random_range(0.0..=3.0),
                vibrato_rate_offset_hz: rng.random_range(-2.0..=2.0),
                vibrato_onset_delay_s: rng.random_range(0.0..=1.0),
                jitter_amount: rng.random_range(-1.0..=1.0),
                articulation_ratio: rng.random_range(0.5..=2.0),
                dynamics_ratio: rng.random_range(0.5..=2.0),
                tilt_db: rng.random_range(-12.0..=12.0),
                breath_amount: rng.random_range(0.0..=1.0),
            },
            style_amount: rng.random_range(0.0..=1.5),
        },
    };
    if rng.random_bool(0.02) {
        controls.emotion.intensity = [f32::NAN, -1.0, 1e9][rng.random_range(0..3)];
    }
    if rng.random_bool(0.02) {
        controls.emotion.trims.f0_level_st =
            [f32::NAN, f32::INFINITY, -1e9][rng.random_range(0..3)];
    }
    if rng.random_bool(0.02) {
        controls.pitch_shift_st = [f32::NAN, -1e9, 1e9][rng.random_range(0..3)];
    }
    if rng.random_bool(0.02) {
        controls.vowel_stretch = [f32::NAN, 0.0, -1.0, 1e9][rng.random_range(0..4)];
    }
    if rng.random_bool(0.02) {
        controls.mix_fraction = [f32::NAN, -3.0, 7.0][rng.random_range(0..3)];
    }
    if rng.random_bool(0.02) {
        controls.output_gain_db = [f32::NAN, f32::INFINITY, -1e9, 1e9][rng.random_range(0..4)];
    }
    controls
}

/// A plausible reference voice's style, different each time.
fn reference_style(rng: &mut impl Rng) -> StyleProfile {
    StyleProfile {
        f0_median_st: rng.random_range(40.0..=80.0),
        f0_iqr_st: rng.random_range(0.5..=8.0),
        intonation_slope_st_per_s: rng.random_range(0.0..=20.0),
        ending_slope_st_per_s: rng.random_range(-10.0..=10.0),
        vibrato_presence: rng.random_range(0.0..=1.0),
        vibrato_rate_hz: rng.random_range(4.0..=8.0),
        vibrato_extent_cents: rng.random_range(10.0..=120.0),
        voiced_share: rng.random_range(0.1..=0.9),
        voiced_run_s: rng.random_range(0.1..=2.0),
        pause_s: rng.random_range(0.05..=1.0),
        loudness_spread_db: rng.random_range(2.0..=15.0),
        tilt_db: rng.random_range(-30.0..=0.0),
    }
}

fn fill(stretch: Stretch, out: &mut [f32], position: usize, voice: &[f32], rng: &mut impl Rng) {
    for (i, x) in out.iter_mut().enumerate() {
        let n = position + i;
        *x = match stretch {
            Stretch::Voice => voice[n % voice.len()],
            Stretch::WhiteNoise => rng.random_range(-1.0..1.0),
            Stretch::Nan => f32::NAN,
            Stretch::PositiveInfinity => f32::INFINITY,
            Stretch::NegativeInfinity => f32::NEG_INFINITY,
            Stretch::Denormal => 1e-40 * if n.is_multiple_of(2) { 1.0 } else { -1.0 },
            Stretch::Huge => {
                1e6 * if (n / 50).is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                }
            }
            Stretch::FullScaleSquare => {
                if (n / 100).is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                }
            }
            Stretch::Dc => 0.9,
            Stretch::Silence => 0.0,
        };
    }
}

#[test]
fn random_blocks_controls_rates_and_hostile_input_give_bounded_output_and_recovery() {
    let target_blocks = std::env::var("AFFETTO_FUZZ_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BLOCKS);
    let voice = synth::render(&synth::demo_phrase(), 48_000, 3).samples;
    let model = PitchNet::embedded().expect("committed weights");
    let mut rng = Pcg64::seed_from_u64(2026);
    let mut block = vec![vec![0.0f32; MAX_BLOCK]; 2];
    let (mut blocks, mut episodes, mut samples, mut neural_episodes) = (0u64, 0u64, 0u64, 0u64);
    while blocks < target_blocks {
        let sample_rate_hz = SAMPLE_RATES_HZ[rng.random_range(0..SAMPLE_RATES_HZ.len())];
        let mode = if rng.random_bool(0.5) {
            AnalysisMode::Live
        } else {
            AnalysisMode::Studio
        };
        let channels = rng.random_range(1..=2);
        let mut engine = Engine::new(channels);
        engine.prepare(sample_rate_hz, log_uniform(&mut rng, MAX_BLOCK), mode);
        engine.reset(&random_controls(&mut rng));
        if rng.random_bool(0.5) {
            engine.set_reference_style(Some(reference_style(&mut rng)));
        }
        // Half the Studio episodes with the neural worker, answering after every host block
        // (inline, so the run is repeatable): hostile windows go through the network and its
        // answers, on time or late, through the fusion.
        let mut worker = None;
        if mode == AnalysisMode::Studio && rng.random_bool(0.5) {
            let (link, service) = neural_channel(model.clone());
            engine.attach_neural(link);
            worker = Some(service);
        }
        let context = format!(
            "episode {episodes}: {sample_rate_hz} Hz, {mode:?}, {channels} ch, worker {}",
            worker.is_some()
        );

        // Stretches of random kinds and lengths (up to 0.5 s each), in random blocks.
        for _ in 0..rng.random_range(5..40) {
            let stretch = STRETCHES[rng.random_range(0..STRETCHES.len())];
            let length = log_uniform(&mut rng, (0.5 * sample_rate_hz) as usize);
            let mut done = 0;
            while done < length {
                let n = log_uniform(&mut rng, MAX_BLOCK).min(length - done);
                for channel in block.iter_mut().take(channels) {
                    fill(stretch, &mut channel[..n], done, &voice, &mut rng);
                }
                // Automation: the block in up to three parts with their own controls.
                let mut start = 0;
                while start < n {
                    let end = if rng.random_bool(0.7) {
                        n
                    } else {
                        rng.random_range(start + 1..=n)
                    };
                    let controls = random_controls(&mut rng);
                    let [left, right] = &mut block[..] else {
                        unreachable!()
                    };
                    let (left, right) = (&mut left[start..end], &mut right[start..end]);
                    if channels == 1 {
                        engine.process(&mut [left], &controls);
                    } else {
                        engine.process(&mut [left, right], &controls);
                    }
                    start = end;
                }
                if let Some(service) = &mut worker {
                    service
                        .serve_pending()
                        .expect("the model runs on any window");
                }
                for channel in block.iter().take(channels) {
                    for &y in &channel[..n] {
                        assert!(
                            y.is_finite() && y.abs() <= OUTPUT_CEILING,
                            "{context}, {stretch:?}: {y}"
                        );
                    }
                }
                done += n;
                blocks += 1;
                samples += n as u64;
            }
        }

        // A reference style is part of the controls' neutral only when none is loaded.
        engine.set_reference_style(None);

        // Lengthened or shortened vowels leave the output off its nominal delay; neutral controls
        // bring it back in the next unvoiced stretch at the catch-up rate (1.5×, so three times
        // the offset), within 0.4 s for the largest Studio offset. The emotion's articulation
        // glides to neutral meanwhile (60 ms) and may lengthen a voiced-looking noise frame on
        // the way, so at least 0.1 s of neutral controls come first.
        let unwind_limit = (0.5 * sample_rate_hz) as usize;
        let settle = (0.1 * sample_rate_hz) as usize;
        let mut unwound = 0;
        while unwound < settle || engine.timing_offset_samples() != 0.0 {
            assert!(
                unwound < unwind_limit,
                "{context}: timing offset not unwound"
            );
            let mut left: Vec<f32> = (0..256).map(|_| rng.random_range(-0.5..0.5)).collect();
            let mut right = left.clone();
            if channels == 1 {
                engine.process(&mut [&mut left], &Controls::default());
            } else {
                engine.process(&mut [&mut left, &mut right], &Controls::default());
            }
            unwound += 256;
        }

        // Clean input and neutral controls: from 100 ms of clean input on, the output is the
        // input delayed by the reported latency.
        let latency = engine.latency_samples() as usize;
        let clean: Vec<f32> = (0..latency + (0.2 * sample_rate_hz) as usize)
            .map(|_| rng.random_range(-0.5..0.5))
            .collect();
        let mut output = clean.clone();
        let mut second = clean.clone();
        for (left, right) in output.chunks_mut(512).zip(second.chunks_mut(512)) {
            if channels == 1 {
                engine.process(&mut [left], &Controls::default());
            } else {
                engine.process(&mut [left, right], &Controls::default());
            }
        }
        let recovered_from = latency + (0.1 * sample_rate_hz) as usize;
        for i in recovered_from..clean.len() {
            assert!(
                (output[i] - clean[i - latency]).abs() < 1e-6,
                "{context}: not recovered at sample {i}"
            );
        }
        episodes += 1;
        neural_episodes += u64::from(worker.is_some());
    }
    println!(
        "fuzzed {blocks} blocks ({samples} samples) in {episodes} episodes, {neural_episodes} with the neural worker"
    );
}
