//! Pitch analysis cost per second of 48 kHz audio, Live and Studio, with the scalar and the SIMD
//! difference kernel. Real-time factor = time per iteration / 1 s.
//! `cargo bench -p affetto-dsp --bench analysis`.

use affetto_dsp::pitch::kernels::{best_difference_kernel, difference_scalar};
use affetto_dsp::pitch::{AnalysisMode, PitchTracker};
use affetto_dsp::synth;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn one_second(c: &mut Criterion) {
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
        group.finish();
    }
}

criterion_group!(benches, one_second);
criterion_main!(benches);
