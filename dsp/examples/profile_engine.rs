//! The engine alone on 10 s of generated singing, +3 st, mono, 64-sample blocks: the workload
//! to profile, without the test voice's synthesis mixed into the counts.
//!
//! ```sh
//! cargo build --release -p affetto-dsp --example profile_engine
//! valgrind --tool=callgrind target/release/examples/profile_engine live   # or studio
//! target/release/examples/profile_engine live 10   # fastest of 10 timed runs, ms per second
//! ```
//! Timed runs also print block times, split by whether the block decided an analysis frame, to
//! show where the slowest blocks come from: each block's fastest time over the runs (the runs are
//! identical, so this removes interrupts and preemption, which land on random blocks).
//! (For symbols in the profile, build with `CARGO_PROFILE_RELEASE_STRIP=none
//! CARGO_PROFILE_RELEASE_DEBUG=line-tables-only`.)

use affetto_dsp::{AnalysisMode, Controls, Engine, synth};
use rand::SeedableRng;

const SAMPLE_RATE_HZ: u32 = 48_000;
const BLOCK: usize = 64;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("studio") => AnalysisMode::Studio,
        _ => AnalysisMode::Live,
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let mut rng = rand_pcg::Pcg32::seed_from_u64(60);
    let voice = synth::render(&synth::random_singing(&mut rng, 10.0), SAMPLE_RATE_HZ, 60);
    let controls = Controls {
        pitch_shift_st: 3.0,
        ..Controls::default()
    };
    let audio_s = voice.samples.len() as f64 / SAMPLE_RATE_HZ as f64;
    let mut fastest_ms_per_s = f64::MAX;
    // (fastest µs, frames decided) per block.
    let mut fastest_blocks: Vec<(f64, usize)> = Vec::new();
    for _ in 0..runs.max(1) {
        let mut engine = Engine::new(1);
        engine.prepare(SAMPLE_RATE_HZ as f32, BLOCK, mode);
        engine.reset(&controls);
        let mut signal = voice.samples.clone();
        let mut blocks = Vec::with_capacity(signal.len() / BLOCK + 1);
        let started = std::time::Instant::now();
        for block in signal.chunks_mut(BLOCK) {
            let block_started = std::time::Instant::now();
            engine.process(&mut [block], &controls);
            let block_us = block_started.elapsed().as_secs_f64() * 1e6;
            let mut frames = 0;
            engine.drain_frame_views(|_| frames += 1);
            blocks.push((block_us, frames));
        }
        let ms_per_s = 1000.0 * started.elapsed().as_secs_f64() / audio_s;
        fastest_ms_per_s = fastest_ms_per_s.min(ms_per_s);
        if fastest_blocks.is_empty() {
            fastest_blocks = blocks;
        } else {
            for (fastest, block) in fastest_blocks.iter_mut().zip(blocks) {
                fastest.0 = fastest.0.min(block.0);
            }
        }
        std::hint::black_box(&signal);
    }
    println!("{mode:?}: {fastest_ms_per_s:.2} ms per second of audio (fastest of {runs})");
    if runs > 1 {
        print_block_times(&fastest_blocks);
    }
}

/// Median, p99, p99.9 and longest block of all blocks and of those with and without a frame.
fn print_block_times(blocks: &[(f64, usize)]) {
    let percentiles = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        format!(
            "{:5} blocks: median {:5.1} µs, p99 {:5.1}, p99.9 {:5.1}, longest {:5.1}",
            times.len(),
            at(0.5),
            at(0.99),
            at(0.999),
            at(1.0)
        )
    };
    let select = |keep: &dyn Fn(usize) -> bool| -> Vec<f64> {
        blocks.iter().filter(|b| keep(b.1)).map(|b| b.0).collect()
    };
    println!("all:         {}", percentiles(&mut select(&|_| true)));
    println!("no frame:    {}", percentiles(&mut select(&|n| n == 0)));
    println!("with frames: {}", percentiles(&mut select(&|n| n > 0)));
}
