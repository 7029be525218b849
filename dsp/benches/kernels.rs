//! The difference-function kernel at the analysis sizes, scalar reference vs the SIMD kernel
//! this CPU gets. `cargo bench -p affetto-dsp --bench kernels`.

use affetto_dsp::pitch::kernels::{best_difference_kernel, difference_scalar};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn difference(c: &mut Criterion) {
    // Window and lag count at 16 kHz (48/96/192 kHz hosts) and 22.05 kHz (44.1 kHz hosts).
    for (rate, window, lags) in [("16k", 269, 270), ("22k", 369, 370)] {
        let x: Vec<f32> = (0..window + lags)
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let mut out = vec![0.0f32; lags];
        let mut group = c.benchmark_group(format!("difference_{rate}"));
        group.bench_function("scalar", |b| {
            b.iter(|| difference_scalar(black_box(&x), window, 0..lags, &mut out))
        });
        let best = best_difference_kernel();
        group.bench_function("simd", |b| {
            b.iter(|| best(black_box(&x), window, 0..lags, &mut out))
        });
        group.finish();
    }
}

criterion_group!(benches, difference);
criterion_main!(benches);
