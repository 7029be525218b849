//! Analysis cost per second of 48 kHz audio, Live and Studio: the pitch tracker with the scalar
//! and the SIMD difference kernel, and the contour decomposition that follows it (fed the
//! tracker's frames of the same second). Real-time factor = time per iteration / 1 s.
//! `cargo bench -p affetto-dsp --bench analysis`.

use affetto_dsp::pitch::kernels::{best_difference_kernel, difference_scalar};
use affetto_dsp::pitch::{AnalysisMode, PitchFrame, PitchTracker};
use affetto_dsp::synth;
use affetto_dsp::vibrato::ContourDecomposer;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn one_second(c: &mut Criterion) {
    // The demo's second second: a held note with vibrato and the start of the next.
    let voice = synth::render(&synth::demo_phrase(), 48_000, 1);
    let second = &voice.samples[48_000..96_000];
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let mut group = c.benchmark_group(format!("analysis_1s_48k_{mode:?}"));
        for (name, kernel) in [
            ("scalar", difference_scalar as _),
            ("simd", best_difference_kernel()),
        ] {
            let mut tracker = PitchTracker::with_difference_kernel(48_000.0, mode, kernel);
            group.bench_function(name, |b| {
                b.iter(|| {
                    let mut voiced = 0;
                    for block in second.chunks(64) {
                        tracker.process(black_box(block), |f| voiced += f.voiced() as usize);
                    }
                    voiced
                })
            });
        }

        let mut tracker = PitchTracker::new(48_000.0, mode);
        let mut frames: Vec<PitchFrame> = Vec::new();
        tracker.process(&voice.samples[..96_000], |f| frames.push(*f));
        let frames = &frames[frames.len() - 200..];
        let mut decomposer = ContourDecomposer::new(mode);
        group.bench_function("decomposition", |b| {
            b.iter(|| {
                let mut vibrato = 0.0;
                for frame in frames {
                    if let Some(c) = decomposer.push(black_box(frame)) {
                        vibrato += c.vibrato_cents;
                    }
                }
                vibrato
            })
        });
        group.finish();
    }
}

criterion_group!(benches, one_second);
criterion_main!(benches);
