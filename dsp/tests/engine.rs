//! The engine's real-time contract, checked from outside: no allocation on the process path,
//! defined output for hostile input, exact latency alignment, block-size independence.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use affetto_dsp::emotion::{
    EmotionControls, EmotionDirection, EmotionPreset, EmotionSource, StyleProfile,
};
use affetto_dsp::{AnalysisMode, Controls, Engine, OUTPUT_CEILING, synth};

/// Counts allocations made by a thread while it is inside [`allocations_during`].
struct GuardedAllocator;

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}
static GUARDED_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for GuardedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_allocation();
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note_allocation() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    if GUARDED.try_with(Cell::get).unwrap_or(false) {
        GUARDED_ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: GuardedAllocator = GuardedAllocator;

/// Runs `f` and returns how many (de)allocations this thread made meanwhile.
fn allocations_during(f: impl FnOnce()) -> usize {
    // Only one guarded region at a time, so the global counter belongs to it.
    static REGION: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _region = REGION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = GUARDED_ALLOCATIONS.load(Ordering::SeqCst);
    GUARDED.with(|g| g.set(true));
    f();
    GUARDED.with(|g| g.set(false));
    GUARDED_ALLOCATIONS.load(Ordering::SeqCst) - before
}

const SAMPLE_RATES_HZ: [f32; 6] = [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0];

/// A deterministic pseudo-random stream (xorshift64*), so the tests need no RNG dependency.
struct Noise(u64);

impl Noise {
    fn next_unit(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    }

    fn controls(&mut self) -> Controls {
        Controls {
            mix_fraction: self.next_unit(),
            output_gain_db: self.next_unit() * 48.0 - 24.0,
            bypass: self.next_unit() < 0.2,
            pitch_shift_st: self.next_unit() * 48.0 - 24.0,
            formant_shift_st: self.next_unit() * 24.0 - 12.0,
            vowel_stretch: 0.5 + 1.5 * self.next_unit(),
            emotion: EmotionControls {
                source: if self.next_unit() < 0.5 {
                    EmotionSource::Preset(EmotionPreset::ALL[(self.next_unit() * 5.99) as usize])
                } else {
                    EmotionSource::ArousalValence {
                        arousal: self.next_unit() * 2.0 - 1.0,
                        valence: self.next_unit() * 2.0 - 1.0,
                    }
                },
                intensity: self.next_unit() * 1.5,
                trims: EmotionDirection {
                    f0_level_st: self.next_unit() * 12.0 - 6.0,
                    f0_range_ratio: 0.5 + 1.5 * self.next_unit(),
                    jitter_amount: self.next_unit() * 2.0 - 1.0,
                    dynamics_ratio: 0.5 + 1.5 * self.next_unit(),
                    tilt_db: self.next_unit() * 24.0 - 12.0,
                    breath_amount: self.next_unit(),
                    ..EmotionDirection::NEUTRAL
                },
                style_amount: self.next_unit() * 1.5,
            },
        }
    }
}

/// A reference voice's style: low, narrow, slow, dark.
const REFERENCE_STYLE: StyleProfile = StyleProfile {
    f0_median_st: 50.0,
    f0_iqr_st: 1.5,
    intonation_slope_st_per_s: 4.0,
    ending_slope_st_per_s: -3.0,
    vibrato_presence: 0.4,
    vibrato_rate_hz: 5.0,
    vibrato_extent_cents: 40.0,
    voiced_share: 0.7,
    voiced_run_s: 0.6,
    pause_s: 0.3,
    loudness_spread_db: 4.0,
    tilt_db: -20.0,
};

/// A test signal: sample value by sample index.
type SampleAt = fn(usize) -> f32;

#[test]
fn the_guard_counts_an_injected_allocation() {
    let count = allocations_during(|| {
        std::hint::black_box(Vec::<f32>::with_capacity(16));
    });
    assert!(count >= 1, "the guard saw {count} allocations");
    assert_eq!(
        allocations_during(|| assert_eq!(std::hint::black_box(1 + 1), 2)),
        0
    );
}

#[test]
fn process_and_reset_never_allocate() {
    let mut noise = Noise(0x5eed);
    for sample_rate_hz in SAMPLE_RATES_HZ {
        for (channels, mode) in [(1, AnalysisMode::Live), (2, AnalysisMode::Studio)] {
            let mut engine = Engine::new(channels);
            engine.prepare(sample_rate_hz, 4096, mode);
            // Longer than prepared (split internally) and the largest a host may send.
            let mut buffers = vec![vec![0.0f32; 10_000]; channels];
            let allocations = allocations_during(|| {
                for (i, block) in [1usize, 2, 63, 64, 511, 4096, 8192, 10_000]
                    .into_iter()
                    .enumerate()
                {
                    for channel in buffers.iter_mut() {
                        channel[..block]
                            .iter_mut()
                            .for_each(|x| *x = noise.next_unit() - 0.5);
                    }
                    // The first channel doubles as a sidechain, learned during the first blocks.
                    engine.learn_reference(&[&buffers[0][..block]], i < 5);
                    let mut slices: [&mut [f32]; 2] = Default::default();
                    for (slot, channel) in slices.iter_mut().zip(buffers.iter_mut()) {
                        *slot = &mut channel[..block];
                    }
                    engine.process(&mut slices[..channels], &noise.controls());
                    let mut views = 0usize;
                    engine.drain_frame_views(|_| views += 1);
                    if i == 3 {
                        engine.reset(&noise.controls());
                    }
                    if i == 1 {
                        // From here on the input's running style is compared with a reference.
                        engine.set_reference_style(Some(REFERENCE_STYLE));
                    }
                }
            });
            assert_eq!(
                allocations, 0,
                "{sample_rate_hz} Hz, {channels} channels, {mode:?}"
            );
        }
    }
}

#[test]
fn process_never_allocates_while_the_neural_worker_answers_on_its_thread() {
    use affetto_dsp::pitch::neural::{PitchNet, neural_channel};
    use std::sync::atomic::AtomicBool;

    let mut noise = Noise(0xfeed);
    let voice = synth::render(&synth::demo_phrase(), 48_000, 3).samples;
    for sample_rate_hz in [44_100.0, 48_000.0, 96_000.0] {
        let mut engine = Engine::new(2);
        engine.prepare(sample_rate_hz, 1024, AnalysisMode::Studio);
        let (link, mut service) = neural_channel(PitchNet::embedded().unwrap());
        engine.attach_neural(link);
        let stop = AtomicBool::new(false);
        let mut left = voice[..(2.0 * 48_000.0) as usize].to_vec();
        let mut right = left.clone();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Acquire) {
                    if service.serve_pending().unwrap() == 0 {
                        std::thread::sleep(std::time::Duration::from_micros(200));
                    }
                }
            });
            let allocations = allocations_during(|| {
                let mut start = 0;
                for (i, block) in [64usize, 1, 333, 1024, 64].into_iter().cycle().enumerate() {
                    if start >= left.len() {
                        break;
                    }
                    let end = (start + block).min(left.len());
                    engine.process(
                        &mut [&mut left[start..end], &mut right[start..end]],
                        &noise.controls(),
                    );
                    if i == 500 {
                        engine.reset(&noise.controls());
                    }
                    start = end;
                    // Give the worker time to answer, as real time would.
                    std::thread::yield_now();
                }
            });
            stop.store(true, Ordering::Release);
            assert_eq!(allocations, 0, "{sample_rate_hz} Hz");
        });
        let counts = engine.neural_counts().unwrap();
        assert!(
            counts.sent > 0 && counts.served > 0,
            "{sample_rate_hz} Hz: {counts:?}"
        );
    }
}

/// Processes `signal` (mono) in blocks of `block`, with `controls` for every block.
fn run(engine: &mut Engine, signal: &[f32], block: usize, controls: &Controls) -> Vec<f32> {
    let mut output = signal.to_vec();
    for chunk in output.chunks_mut(block) {
        engine.process(&mut [chunk], controls);
    }
    output
}

#[test]
fn default_controls_give_the_input_delayed_by_the_reported_latency() {
    for sample_rate_hz in SAMPLE_RATES_HZ {
        let mut noise = Noise(7);
        let signal: Vec<f32> = (0..(0.4 * sample_rate_hz) as usize)
            .map(|_| noise.next_unit() - 0.5)
            .collect();
        for (mode, budget_s) in [(AnalysisMode::Live, 0.020), (AnalysisMode::Studio, 0.250)] {
            let mut engine = Engine::new(1);
            engine.prepare(sample_rate_hz, 512, mode);
            engine.reset(&Controls::default());
            let latency = engine.latency_samples() as usize;
            assert!(
                latency > 0 && latency as f32 <= budget_s * sample_rate_hz,
                "{mode:?}: {latency}"
            );
            let output = run(&mut engine, &signal, 512, &Controls::default());
            assert_eq!(
                &output[latency..],
                &signal[..signal.len() - latency],
                "{sample_rate_hz} Hz {mode:?}"
            );
        }
    }
}

#[test]
fn output_does_not_depend_on_the_block_size() {
    let mut noise = Noise(11);
    let signal: Vec<f32> = (0..30_000).map(|_| noise.next_unit() - 0.5).collect();
    let controls = Controls {
        mix_fraction: 0.3,
        output_gain_db: -4.0,
        ..Controls::default()
    };
    let reference = {
        let mut engine = Engine::new(1);
        engine.prepare(48_000.0, 8192, AnalysisMode::Live);
        engine.reset(&Controls::default());
        run(&mut engine, &signal, 8192, &controls)
    };
    for block in [1, 7, 64, 1000] {
        let mut engine = Engine::new(1);
        engine.prepare(48_000.0, block, AnalysisMode::Live);
        engine.reset(&Controls::default());
        let output = run(&mut engine, &signal, block, &controls);
        for (i, (a, b)) in output.iter().zip(&reference).enumerate() {
            assert!(
                (a - b).abs() < 1e-5,
                "block {block}, sample {i}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn hostile_input_gives_finite_bounded_output_and_recovers_within_100_ms() {
    let hostile: [(&str, SampleAt); 8] = [
        ("NaN", |_| f32::NAN),
        ("+Inf", |_| f32::INFINITY),
        ("-Inf", |_| f32::NEG_INFINITY),
        ("denormals", |i| if i % 2 == 0 { 1e-40 } else { -1e-39 }),
        ("±1e6", |i| if i % 3 == 0 { 1e6 } else { -1e6 }),
        ("full-scale square", |i| {
            if (i / 50) % 2 == 0 { 1.0 } else { -1.0 }
        }),
        ("DC", |_| 0.9),
        ("silence", |_| 0.0),
    ];
    for sample_rate_hz in SAMPLE_RATES_HZ {
        for (name, generator) in hostile {
            let mut engine = Engine::new(2);
            engine.prepare(sample_rate_hz, 256, AnalysisMode::Studio);
            engine.reset(&Controls::default());
            let loud = Controls {
                output_gain_db: 24.0,
                ..Controls::default()
            };
            let mut left: Vec<f32> = (0..4096).map(generator).collect();
            let mut right = left.clone();
            for (l, r) in left.chunks_mut(256).zip(right.chunks_mut(256)) {
                engine.process(&mut [l, r], &loud);
            }
            for x in left.iter().chain(&right) {
                assert!(
                    x.is_finite() && x.abs() <= OUTPUT_CEILING,
                    "{name} at {sample_rate_hz} Hz gave {x}"
                );
            }

            // Clean input again: output from 100 ms of clean input on is the delayed input at
            // unity gain.
            let latency = engine.latency_samples() as usize;
            let mut noise = Noise(3);
            let clean: Vec<f32> = (0..latency + (sample_rate_hz * 0.2) as usize)
                .map(|_| noise.next_unit() - 0.5)
                .collect();
            let output = run(&mut engine, &clean, 256, &Controls::default());
            let recovered_from = latency + (sample_rate_hz * 0.1) as usize;
            for i in recovered_from..clean.len() {
                assert!(
                    (output[i] - clean[i - latency]).abs() < 1e-6,
                    "{name} at {sample_rate_hz} Hz: not recovered at sample {i}"
                );
            }
        }
    }
}

#[test]
fn bypass_and_gain_changes_never_click() {
    // A 220 Hz sine: the largest natural step between samples bounds what a click would add.
    let sample_rate_hz = 48_000.0;
    let signal: Vec<f32> = (0..48_000)
        .map(|i| 0.8 * (std::f32::consts::TAU * 220.0 * i as f32 / sample_rate_hz).sin())
        .collect();
    let natural_step = 0.8 * std::f32::consts::TAU * 220.0 / sample_rate_hz;
    let mut engine = Engine::new(1);
    engine.prepare(sample_rate_hz, 64, AnalysisMode::Live);
    engine.reset(&Controls::default());
    let mut output = signal.clone();
    for (i, chunk) in output.chunks_mut(64).enumerate() {
        let controls = Controls {
            bypass: (i / 40) % 2 == 1,
            output_gain_db: if (i / 55) % 2 == 1 { -24.0 } else { 6.0 },
            ..Controls::default()
        };
        engine.process(&mut [chunk], &controls);
    }
    let largest_step = output
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max);
    // +6 dB doubles the sine's own slope; a hard switch would jump by up to 0.8 × 2.
    assert!(
        largest_step < 2.0 * natural_step * 1.1,
        "largest step {largest_step}, natural {natural_step}"
    );
}

#[test]
fn the_engine_analyses_what_it_plays() {
    let voice = synth::render(
        &synth::Phrase::sung(vec![synth::Note::new(57.0, 1.0, synth::Vowel::A)]),
        44_100,
        2,
    );
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let mut engine = Engine::new(2);
        engine.prepare(44_100.0, 512, mode);
        let controls = Controls::default();
        engine.reset(&controls);
        let mut left = voice.samples[..30_000].to_vec();
        let mut right = left.clone();
        for (l, r) in left.chunks_mut(512).zip(right.chunks_mut(512)) {
            engine.process(&mut [l, r], &controls);
        }
        let frame = engine
            .latest_contour_frame()
            .expect("frames were decided")
            .pitch;
        let truth = voice.frames[frame.index as usize];
        assert!(
            (1200.0 * (frame.f0_hz / truth.f0_hz).log2()).abs() < 10.0,
            "{mode:?}: {frame:?} vs {truth:?}"
        );
    }
}

#[test]
fn frame_views_show_each_frame_once_with_its_shifted_target() {
    let voice = synth::render(
        &synth::Phrase::sung(vec![synth::Note::new(57.0, 1.0, synth::Vowel::A)]),
        48_000,
        4,
    );
    let mut engine = Engine::new(1);
    engine.prepare(48_000.0, 256, AnalysisMode::Live);
    let controls = Controls {
        pitch_shift_st: 3.0,
        ..Controls::default()
    };
    engine.reset(&controls);
    let mut signal = voice.samples[..40_000].to_vec();
    let mut views = Vec::new();
    for block in signal.chunks_mut(256) {
        engine.process(&mut [block], &controls);
        engine.drain_frame_views(|view| views.push(view));
    }
    assert!(
        views.windows(2).all(|w| w[1].index == w[0].index + 1),
        "every frame once, in order"
    );
    let held: Vec<_> = views[views.len() / 2..]
        .iter()
        .filter(|view| view.voiced)
        .collect();
    assert!(held.len() > 50, "the held note is voiced");
    for view in held {
        assert!(
            (view.input_cents - 5700.0).abs() < 30.0,
            "A3 is analysed: {view:?}"
        );
        assert!(
            (view.target_cents - view.input_cents - 300.0).abs() < 1.0,
            "the target is 3 st up: {view:?}"
        );
    }
}
