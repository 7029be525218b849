//! Soak: generated singing through the engine in 64-sample blocks at 48 kHz, both modes, with
//! every control automated all the time. No sample may be NaN or out of bounds, the latency may
//! not move, and afterwards the engine must still be an exact delay of the reported latency.
//! Per-block processing times are printed (the mean over the first and the last tenth of the run,
//! which a denormal slow-down would pull apart, and median and p99.9), not asserted: speed
//! belongs to the benchmarks.
//!
//! `AFFETTO_SOAK_S` sets the length in seconds (default 30; the long run is 600).

use std::time::Instant;

use affetto_dsp::emotion::{EmotionControls, EmotionDirection, EmotionPreset, EmotionSource};
use affetto_dsp::{AnalysisMode, Controls, Engine, OUTPUT_CEILING, synth};
use rand::SeedableRng;
use rand_pcg::Pcg32;

const SAMPLE_RATE_HZ: u32 = 48_000;
const BLOCK: usize = 64;
const DEFAULT_SOAK_S: f64 = 30.0;

/// Controls at time `t_s`: every continuous control swept by a slow sine at a rate unrelated to
/// the others, bypass on for a quarter of every 7 s.
fn automation(t_s: f64) -> Controls {
    Controls {
        mix_fraction: (0.5 + 0.5 * (t_s * 0.37).sin()) as f32,
        output_gain_db: (-12.0 + 10.0 * (t_s * 0.23).sin()) as f32,
        bypass: t_s % 7.0 > 5.25,
        pitch_shift_st: (24.0 * (t_s * 0.19).sin()) as f32,
        formant_shift_st: (12.0 * (t_s * 0.29).sin()) as f32,
        vowel_stretch: (1.0 + 0.5 * (t_s * 0.13).sin()) as f32,
        emotion: EmotionControls {
            // A preset for 3 s, then the arousal/valence point for 3 s, in turn.
            source: if ((t_s / 3.0) as u64).is_multiple_of(2) {
                EmotionSource::Preset(EmotionPreset::ALL[(t_s / 6.0) as usize % 6])
            } else {
                EmotionSource::ArousalValence {
                    arousal: (t_s * 0.41).sin() as f32,
                    valence: (t_s * 0.31).cos() as f32,
                }
            },
            intensity: (0.75 + 0.75 * (t_s * 0.17).sin()) as f32,
            trims: EmotionDirection {
                f0_level_st: (2.0 * (t_s * 0.11).sin()) as f32,
                tilt_db: (6.0 * (t_s * 0.07).sin()) as f32,
                breath_amount: (0.5 + 0.5 * (t_s * 0.09).sin()) as f32,
                vibrato_onset_delay_s: (0.3 + 0.3 * (t_s * 0.05).sin()) as f32,
                ..EmotionDirection::NEUTRAL
            },
            style_amount: 1.0,
        },
    }
}

#[test]
fn automated_singing_stays_finite_bounded_and_aligned() {
    let soak_s = std::env::var("AFFETTO_SOAK_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SOAK_S);
    let mut rng = Pcg32::seed_from_u64(77);
    let singing = synth::render(&synth::random_singing(&mut rng, 60.0), SAMPLE_RATE_HZ, 77).samples;
    let total = (soak_s * SAMPLE_RATE_HZ as f64) as usize;
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let mut engine = Engine::new(2);
        engine.prepare(SAMPLE_RATE_HZ as f32, BLOCK, mode);
        engine.reset(&automation(0.0));
        let latency = engine.latency_samples();
        let mut block_ns = Vec::with_capacity(total / BLOCK + 1);
        let (mut left, mut right) = (vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]);
        let mut position = 0;
        while position < total {
            for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
                let x = singing[(position + i) % singing.len()];
                (*l, *r) = (x, 0.8 * x);
            }
            let controls = automation(position as f64 / SAMPLE_RATE_HZ as f64);
            let started = Instant::now();
            engine.process(&mut [&mut left, &mut right], &controls);
            block_ns.push(started.elapsed().as_nanos() as u64);
            for &y in left.iter().chain(&right) {
                assert!(
                    y.is_finite() && y.abs() <= OUTPUT_CEILING,
                    "{mode:?} at sample {position}: {y}"
                );
            }
            assert_eq!(engine.latency_samples(), latency, "{mode:?}: latency moved");
            position += BLOCK;
        }

        // Still an exact delay: neutral controls, 200 ms to settle (the emotion glides to neutral
        // in 60 ms, its last pitch change stays reachable by the grains for up to 90 ms, then
        // the grains fade out in 20 ms), then sample for sample.
        let latency = latency as usize;
        let probe: Vec<f32> = singing[..latency + SAMPLE_RATE_HZ as usize / 2].to_vec();
        let mut output = probe.clone();
        let mut second = probe.clone();
        for (l, r) in output.chunks_mut(BLOCK).zip(second.chunks_mut(BLOCK)) {
            engine.process(&mut [l, r], &Controls::default());
        }
        for i in latency + SAMPLE_RATE_HZ as usize / 5..probe.len() {
            assert!(
                (output[i] - probe[i - latency]).abs() < 1e-6,
                "{mode:?}: misaligned at {i}"
            );
        }

        // Flat over time: the mean block time of the first and the last tenth of the run.
        let tenth = block_ns.len() / 10;
        let mean_us =
            |blocks: &[u64]| blocks.iter().sum::<u64>() as f64 / blocks.len() as f64 / 1000.0;
        let (first_us, last_us) = (
            mean_us(&block_ns[..tenth]),
            mean_us(&block_ns[block_ns.len() - tenth..]),
        );
        block_ns.sort_unstable();
        let at = |q: f64| block_ns[((block_ns.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "{mode:?}: {soak_s} s in {} blocks of {BLOCK}: mean {first_us:.2} µs per block in the first tenth, \
             {last_us:.2} µs in the last; median {:.1} µs, p99.9 {:.1} µs",
            block_ns.len(),
            at(0.5),
            at(0.999)
        );
    }
}
