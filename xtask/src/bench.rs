//! `cargo xtask bench`: what Affetto costs on this machine, and what its peers cost for the same
//! shift, from one run.
//!
//! - Affetto's whole engine, Live and Studio, mono and stereo, in host blocks of 32/64/256/1024 at
//!   48 kHz on 60 s of generated singing, shifting it +3 st (so resynthesis is engaged), with the
//!   whole sad preset at 100 % and, for reference, idle at neutral settings: CPU time per second
//!   of audio, per-block median and 99.9th percentile (each block's fastest over the runs), and
//!   the allocations counted on the process path (must be 0).
//! - The same +3 st shift by `rubberband --fine -F` (R3), `rubberband -F` (R2) and `sox pitch` on the
//!   same file, each run right after Affetto runs of it (the shift, and the sad preset), so the
//!   ratios are pairwise; and on the real speech resynth-eval uses, where available.
//! - Peak RSS of this process (Affetto's side).
//!
//! Kernel micro-benchmarks are criterion's: `cargo bench -p affetto-dsp --bench kernels`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use affetto_dsp::emotion::{EmotionControls, EmotionPreset, EmotionSource};
use affetto_dsp::pitch::AnalysisMode;
use affetto_dsp::synth;
use affetto_dsp::{Controls, Engine};
use anyhow::Result;
use rand::SeedableRng;
use rand_pcg::Pcg32;

use crate::pitch_eval::{SAMPLE_RATE_HZ, write_wav};
use crate::resynth_eval::{installed_peers, real_speech, run_peer};

/// Counts allocations while `COUNTING` is set: the process path's allocation count, measured in
/// the same run as its time.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const BLOCKS: [usize; 4] = [32, 64, 256, 1024];
const SHIFT_ST: f32 = 3.0;
const VOCAL_S: f64 = 60.0;
/// Runs per engine configuration, the fastest kept: this machine's speed drifts by up to 1.6×
/// within minutes, and the fastest of a few runs is the engine's own cost most nearly.
/// Allocations shown are the most any run of the configuration made.
const RUNS_PER_CONFIGURATION: usize = 3;

/// One engine configuration's run over a signal.
struct EngineRun {
    seconds: f64,
    /// Time of each block, in order.
    block_ns: Vec<u64>,
    allocations: u64,
}

/// Block-time percentiles, µs.
struct BlockTimes {
    median_us: f64,
    p999_us: f64,
}

impl BlockTimes {
    fn of(block_ns: &[u64]) -> Self {
        let mut sorted = block_ns.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        Self {
            median_us: at(0.5),
            p999_us: at(0.999),
        }
    }
}

/// Runs the engine over `signal` (copied to every channel) in blocks of `block`, timing each block.
fn run_engine(
    signal: &[f32],
    mode: AnalysisMode,
    channels: usize,
    block: usize,
    controls: &Controls,
) -> EngineRun {
    let mut engine = Engine::new(channels);
    engine.prepare(SAMPLE_RATE_HZ as f32, block, mode);
    engine.reset(controls);
    let mut buffers = vec![vec![0.0f32; block]; channels];
    let mut block_ns = Vec::with_capacity(signal.len() / block + 1);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    let started = Instant::now();
    for chunk in signal.chunks(block) {
        for buffer in buffers.iter_mut() {
            buffer[..chunk.len()].copy_from_slice(chunk);
        }
        let mut slices: [&mut [f32]; 2] = Default::default();
        for (slot, buffer) in slices.iter_mut().zip(buffers.iter_mut()) {
            *slot = &mut buffer[..chunk.len()];
        }
        let block_started = Instant::now();
        COUNTING.store(true, Ordering::Relaxed);
        engine.process(&mut slices[..channels], controls);
        COUNTING.store(false, Ordering::Relaxed);
        block_ns.push(block_started.elapsed().as_nanos() as u64);
    }
    EngineRun {
        seconds: started.elapsed().as_secs_f64(),
        block_ns,
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
    }
}

/// Frames per batch when the worker waits to gather them (see `NeuralService::serve_due`).
const SERVED_BATCH: usize = affetto_dsp::pitch::neural::link::DUE_BATCH;

/// Seconds of audio the neural worker is timed on, in real time.
const WORKER_RUN_S: usize = 20;

/// CPU time this thread has used, in seconds (from /proc; 0 where there is none).
fn thread_cpu_s() -> f64 {
    cpu_s("/proc/thread-self/stat")
}

/// CPU time the whole process has used, in seconds.
fn process_cpu_s() -> f64 {
    cpu_s("/proc/self/stat")
}

fn cpu_s(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Studio mode with the neural worker on its own thread, the audio thread paced in real time
/// (64-sample blocks at 48 kHz, as a host would call it): audio-thread cost, the worker's CPU
/// share, the share of answers back in time; then the model's own time per frame.
fn neural_worker(samples: &[f32], controls: &Controls, report: &mut String) -> Result<()> {
    let mut section = String::new();
    use affetto_dsp::pitch::neural::{FeatureExtractor, FrameFeatures, PitchNet, neural_channel};
    use std::time::Duration;

    let model = PitchNet::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut engine = Engine::new(1);
    engine.prepare(SAMPLE_RATE_HZ as f32, 64, AnalysisMode::Studio);
    engine.reset(controls);
    let (link, mut service) = neural_channel(model.clone());
    engine.attach_neural(link);
    let stop = AtomicBool::new(false);
    let samples = &samples[..WORKER_RUN_S * SAMPLE_RATE_HZ as usize];
    let block_period = Duration::from_secs_f64(64.0 / SAMPLE_RATE_HZ as f64);
    let mut block_ns = Vec::with_capacity(samples.len() / 64 + 1);
    // The worker's own thread and the compute pool candle hands work to: the whole process's
    // CPU time during the run less the audio thread's.
    // As the plugin's worker: candle confined to a pool of one thread.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (process_before, audio_before) = (process_cpu_s(), thread_cpu_s());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.install(|| {
                while !stop.load(Ordering::Acquire) {
                    if service.serve_due().unwrap_or(0) == 0 {
                        std::thread::sleep(affetto_dsp::pitch::neural::link::WORKER_POLL);
                    }
                }
            })
        });
        let started = Instant::now();
        let mut buffer = [0.0f32; 64];
        for (i, chunk) in samples.chunks(64).enumerate() {
            let deadline = started + block_period * i as u32;
            if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            buffer[..chunk.len()].copy_from_slice(chunk);
            let block_started = Instant::now();
            engine.process(&mut [&mut buffer[..chunk.len()]], controls);
            block_ns.push(block_started.elapsed().as_nanos() as u64);
        }
        stop.store(true, Ordering::Release);
    });
    let audio_cpu_s = thread_cpu_s() - audio_before;
    let worker_cpu_s = (process_cpu_s() - process_before - audio_cpu_s).max(0.0);
    let counts = engine.neural_counts().unwrap_or_default();
    let audio_ms_per_s = block_ns.iter().sum::<u64>() as f64 / 1e6 / WORKER_RUN_S as f64;
    let decided = counts.on_time + counts.late;
    writeln!(
        section,
        "Studio with the neural worker, {WORKER_RUN_S} s of the same singing (+3 st) in real time, \
         mono, 64-sample blocks: audio thread {audio_ms_per_s:.2} ms/s; worker (its thread and \
         candle's pool) CPU {:.1} ms/s ({:.1} % of a core; {:.1} ms/s of wall time serving); \
         answers on time \
         {} of {decided} ({:.2} %), late {}, dropped {}.\n",
        1000.0 * worker_cpu_s / WORKER_RUN_S as f64,
        100.0 * worker_cpu_s / WORKER_RUN_S as f64,
        counts.busy_ns as f64 / 1e6 / WORKER_RUN_S as f64,
        counts.on_time,
        100.0 * counts.on_time as f64 / decided.max(1) as f64,
        counts.late,
        counts.dropped,
    )?;

    let mut tracker =
        affetto_dsp::pitch::PitchTracker::new(SAMPLE_RATE_HZ as f32, AnalysisMode::Studio);
    let mut extractor = FeatureExtractor::new();
    let (mut feature_ns, mut model_ns, mut batch_ns) = (Vec::new(), Vec::new(), Vec::new());
    let mut features = FrameFeatures::default();
    let mut batch: Vec<FrameFeatures> = Vec::with_capacity(SERVED_BATCH);
    // The model alone, on the worker's one-thread pool.
    pool.install(|| {
        for chunk in samples[..5 * SAMPLE_RATE_HZ as usize].chunks(1024) {
            tracker.process_tapped(
                chunk,
                |_| {},
                |w| {
                    let started = Instant::now();
                    extractor.compute(w.samples, w.sample_rate_hz, &w.voicing, &mut features);
                    feature_ns.push(started.elapsed().as_nanos() as u64);
                    let started = Instant::now();
                    let _ = model.estimate(std::slice::from_ref(&features));
                    model_ns.push(started.elapsed().as_nanos() as u64);
                    batch.push(features.clone());
                    if batch.len() == SERVED_BATCH {
                        let started = Instant::now();
                        let _ = model.estimate(&batch);
                        batch_ns.push(started.elapsed().as_nanos() as u64 / SERVED_BATCH as u64);
                        batch.clear();
                    }
                },
            );
        }
    });
    let quantile = |times: &mut Vec<u64>, q: f64| {
        times.sort_unstable();
        times[((times.len() - 1) as f64 * q) as usize] as f64 / 1000.0
    };
    writeln!(
        section,
        "Per frame ({} frames): features median {:.0} µs, p99 {:.0} µs; network one frame at a \
         time median {:.0} µs, p99 {:.0} µs, in batches of {SERVED_BATCH} median {:.0} µs, p99 {:.0} µs \
         per frame ({} parameters, {} multiply-adds per frame).\n",
        feature_ns.len(),
        quantile(&mut feature_ns, 0.5),
        quantile(&mut feature_ns, 0.99),
        quantile(&mut model_ns, 0.5),
        quantile(&mut model_ns, 0.99),
        quantile(&mut batch_ns, 0.5),
        quantile(&mut batch_ns, 0.99),
        PitchNet::parameter_count(),
        PitchNet::multiply_adds_per_frame(),
    )?;
    print!("{section}");
    report.push_str(&section);
    Ok(())
}

/// Peak resident set of this process, in MB, from /proc (0 where there is none).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run() -> Result<()> {
    let out_dir = crate::report_dir("bench")?;

    let mut rng = Pcg32::seed_from_u64(60);
    let vocal = synth::render(
        &synth::random_singing(&mut rng, VOCAL_S),
        SAMPLE_RATE_HZ,
        60,
    );
    let audio_s = vocal.samples.len() as f64 / SAMPLE_RATE_HZ as f64;
    let shifted = Controls {
        pitch_shift_st: SHIFT_ST,
        ..Controls::default()
    };
    let sad = Controls {
        emotion: EmotionControls {
            source: EmotionSource::Preset(EmotionPreset::Sad),
            intensity: 1.0,
            ..EmotionControls::default()
        },
        ..Controls::default()
    };

    let mut report = String::new();
    writeln!(
        report,
        "Affetto's engine at 48 kHz on {audio_s:.0} s of generated singing. CPU = ms per second of \
         audio on the audio thread (1 % of a core = 10 ms/s), the fastest of \
         {RUNS_PER_CONFIGURATION} runs. Block times in µs, each block's fastest over the runs: \
         the runs are identical, so this is the engine's own cost per block, while interrupts and \
         preemption, which land on random blocks, fall away (the last column keeps them: the \
         fastest run's own p99.9). Allocations counted inside `Engine::process`.\n"
    )?;
    writeln!(
        report,
        "| mode | settings | channels | block | CPU ms/s | median block µs | p99.9 block µs | p99.9 / median | allocations | p99.9 of one run µs |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|")?;
    let neutral = Controls::default();
    let mut configurations = Vec::new();
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        for (settings, controls) in [
            ("+3 st", &shifted),
            ("sad 100 %", &sad),
            ("neutral", &neutral),
        ] {
            for channels in [1, 2] {
                for block in BLOCKS {
                    if settings == "+3 st" || (channels == 1 && block == 64) {
                        configurations.push((mode, settings, controls, channels, block));
                    }
                }
            }
        }
    }
    // Round by round over all configurations, so a slow spell of the machine touches each of
    // them once rather than all runs of a few.
    // Per configuration: the fastest run, and each block's fastest time over all runs.
    let mut fastest: Vec<Option<(EngineRun, Vec<u64>)>> =
        configurations.iter().map(|_| None).collect();
    for round in 0..RUNS_PER_CONFIGURATION {
        println!("round {} of {RUNS_PER_CONFIGURATION}", round + 1);
        for (best, &(mode, _, controls, channels, block)) in fastest.iter_mut().zip(&configurations)
        {
            let run = run_engine(&vocal.samples, mode, channels, block, controls);
            if let Some((kept, block_ns)) = best.as_mut() {
                block_ns
                    .iter_mut()
                    .zip(&run.block_ns)
                    .for_each(|(fastest, &ns)| *fastest = (*fastest).min(ns));
                let allocations = kept.allocations.max(run.allocations);
                if run.seconds < kept.seconds {
                    *kept = run;
                }
                kept.allocations = allocations;
            } else {
                let block_ns = run.block_ns.clone();
                *best = Some((run, block_ns));
            }
        }
    }
    for (kept, (mode, settings, _, channels, block)) in fastest.iter().zip(&configurations) {
        let (run, block_ns) = kept.as_ref().expect("every configuration ran");
        let blocks = BlockTimes::of(block_ns);
        let line = format!(
            "| {mode:?} | {settings} | {channels} | {block} | {:.2} | {:.1} | {:.1} | {:.1} | {} | {:.1} |",
            1000.0 * run.seconds / audio_s,
            blocks.median_us,
            blocks.p999_us,
            blocks.p999_us / blocks.median_us.max(1e-3),
            run.allocations,
            BlockTimes::of(&run.block_ns).p999_us,
        );
        println!("{line}");
        writeln!(report, "{line}")?;
    }
    writeln!(
        report,
        "\nPeak RSS of the benchmark process (all engines above, one at a time): {:.1} MB.\n",
        peak_rss_mb()
    )?;
    neural_worker(&vocal.samples, &shifted, &mut report)?;

    // Peers, each timed right after Affetto (Studio, mono, 64-sample blocks, whole engine) on the
    // same file, so drift of the machine cancels in the ratio.
    writeln!(
        report,
        "The same +{SHIFT_ST} st shift, pair by pair: Affetto Studio (mono, 64-sample blocks, \
         analysis included) then the peer as a process on a 16-bit WAV of the same audio.\n"
    )?;
    writeln!(
        report,
        "| input | peer | peer CPU ms/s | Affetto +3 st CPU ms/s | Affetto / peer | Affetto sad 100 % CPU ms/s | sad / peer |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|")?;
    let mut inputs = vec![("generated singing", vocal.samples.clone())];
    if let Some(speech) = real_speech(true) {
        inputs.push(("real speech (alsa-utils)", speech.samples));
    }
    let peers = installed_peers();
    for (name, samples) in &inputs {
        let wav = out_dir.join(format!(
            "{}.wav",
            name.split_whitespace().next().unwrap_or("in")
        ));
        write_wav(&wav, samples)?;
        let seconds = samples.len() as f64 / SAMPLE_RATE_HZ as f64;
        for &peer in &peers {
            let affetto = run_engine(samples, AnalysisMode::Studio, 1, 64, &shifted);
            let affetto_sad = run_engine(samples, AnalysisMode::Studio, 1, 64, &sad);
            let out = out_dir.join("peer-out.wav");
            let line = match run_peer(peer, &wav, &out, SHIFT_ST) {
                Ok(peer_seconds) => format!(
                    "| {name} | {} | {:.1} | {:.1} | {:.3} | {:.1} | {:.3} |",
                    peer.name(),
                    1000.0 * peer_seconds / seconds,
                    1000.0 * affetto.seconds / seconds,
                    affetto.seconds / peer_seconds,
                    1000.0 * affetto_sad.seconds / seconds,
                    affetto_sad.seconds / peer_seconds
                ),
                Err(error) => format!("| {name} | {} | failed: {error:#} | | | | |", peer.name()),
            };
            println!("{line}");
            writeln!(report, "{line}")?;
        }
    }
    let report_path = out_dir.join("report.md");
    std::fs::write(&report_path, &report)?;
    println!("\n{report}\nwritten to {}", report_path.display());
    Ok(())
}
