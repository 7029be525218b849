//! The engine alone on 10 s of generated singing, +3 st, mono, 64-sample blocks: the workload
//! to profile, without the test voice's synthesis mixed into the counts.
//!
//! ```sh
//! cargo build --release -p affetto-dsp --example profile_engine
//! valgrind --tool=callgrind target/release/examples/profile_engine live   # or studio
//! target/release/examples/profile_engine live 10   # fastest of 10 timed runs, ms per second
//! ```
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
    for _ in 0..runs.max(1) {
        let mut engine = Engine::new(1);
        engine.prepare(SAMPLE_RATE_HZ as f32, BLOCK, mode);
        engine.reset(&controls);
        let mut signal = voice.samples.clone();
        let started = std::time::Instant::now();
        for block in signal.chunks_mut(BLOCK) {
            engine.process(&mut [block], &controls);
        }
        let ms_per_s = 1000.0 * started.elapsed().as_secs_f64() / audio_s;
        fastest_ms_per_s = fastest_ms_per_s.min(ms_per_s);
        std::hint::black_box(&signal);
    }
    println!("{mode:?}: {fastest_ms_per_s:.2} ms per second of audio (fastest of {runs})");
}
