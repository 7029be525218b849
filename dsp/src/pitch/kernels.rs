//! The analysis hot loop, the YIN difference function, in a scalar reference and an AVX2+FMA
//! version chosen at run time. It computes any range of lags, so the tracker can work out each
//! lag as soon as the samples it needs have arrived ([`super::difference_stream`]).
//!
//! Why `std::arch` with runtime detection rather than a portable SIMD crate: the loop is a float
//! reduction, which the compiler never vectorises on its own (it may not reorder the sum), so
//! explicit lanes are needed; x86-64 is the only target built and shipped today, and runtime
//! detection lets one binary use AVX2+FMA where present and fall back safely elsewhere. The
//! speed-up is measured by `cargo bench -p affetto-dsp --bench kernels`.

use std::ops::Range;

/// `out[τ] = Σ_{j<window} (x[o+j] − x[o+j+τ])²` for `τ` in `taus` (YIN eq. 6), with the
/// integration window placed at `o = (L − τ) / 2`, `L = out.len() − 1`, so that every lag measures
/// the signal around the same instant, the centre of the frame `x[..window + L]`. Plain YIN
/// (`o = 0`) measures short periods up to `L / 2` samples earlier than long ones, which biases
/// gliding pitch. `x` may be the start of the frame, as long as it holds every sample the lags
/// in `taus` read ([`samples_needed`]).
pub type DifferenceKernel = fn(x: &[f32], window: usize, taus: Range<usize>, out: &mut [f32]);

/// Samples from the frame's start that lags `0..taus_end` of a difference function over `lags`
/// lags read: lag `τ` reads up to `o + τ + window`, which grows with `τ`.
pub fn samples_needed(window: usize, lags: usize, taus_end: usize) -> usize {
    match taus_end {
        0 => 0,
        end => centred_offset(end - 1, lags) + end - 1 + window,
    }
}

/// Start of the integration window for lag `tau` (see [`DifferenceKernel`]).
#[inline]
fn centred_offset(tau: usize, lags: usize) -> usize {
    (lags - 1 - tau) / 2
}

/// Scalar reference of [`DifferenceKernel`].
///
/// # Panics
/// If `x` is shorter than [`samples_needed`] or `taus` reaches past `out`.
pub fn difference_scalar(x: &[f32], window: usize, taus: Range<usize>, out: &mut [f32]) {
    let lags = out.len();
    assert!(taus.end <= lags && x.len() >= samples_needed(window, lags, taus.end));
    for (tau, d) in out.iter_mut().enumerate().take(taus.end).skip(taus.start) {
        let x = &x[centred_offset(tau, lags)..];
        let mut sum = 0.0f32;
        for j in 0..window {
            let delta = x[j] - x[j + tau];
            sum += delta * delta;
        }
        *d = sum;
    }
}

/// The fastest kernel this CPU supports.
pub fn best_difference_kernel() -> DifferenceKernel {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return difference_avx2_fma;
    }
    difference_scalar
}

/// AVX2+FMA version of [`difference_scalar`]: eight lags' worth of products per instruction.
///
/// # Panics
/// As [`difference_scalar`]; also if called on a CPU without AVX2 and FMA (only
/// [`best_difference_kernel`] hands it out).
#[cfg(target_arch = "x86_64")]
pub fn difference_avx2_fma(x: &[f32], window: usize, taus: Range<usize>, out: &mut [f32]) {
    let lags = out.len();
    assert!(taus.end <= lags && x.len() >= samples_needed(window, lags, taus.end));
    assert!(
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    );
    // SAFETY: the features were just checked; every load below stays inside `x` because
    // `j + 8 <= window` and `offset + tau + window <= samples_needed(..) <= x.len()`.
    unsafe { difference_avx2_fma_unchecked(x, window, taus, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn difference_avx2_fma_unchecked(
    x: &[f32],
    window: usize,
    taus: Range<usize>,
    out: &mut [f32],
) {
    use std::arch::x86_64::*;
    let vector_end = window - window % 8;
    let lags = out.len();
    for (tau, d) in out.iter_mut().enumerate().take(taus.end).skip(taus.start) {
        let x = &x[centred_offset(tau, lags)..];
        let ptr = x.as_ptr();
        let mut acc = _mm256_setzero_ps();
        let mut j = 0;
        while j < vector_end {
            unsafe {
                let a = _mm256_loadu_ps(ptr.add(j));
                let b = _mm256_loadu_ps(ptr.add(j + tau));
                let delta = _mm256_sub_ps(a, b);
                acc = _mm256_fmadd_ps(delta, delta, acc);
            }
            j += 8;
        }
        // Horizontal sum of the eight lanes.
        let high = _mm256_extractf128_ps(acc, 1);
        let low = _mm256_castps256_ps128(acc);
        let sum4 = _mm_add_ps(high, low);
        let sum2 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
        let sum1 = _mm_add_ss(sum2, _mm_shuffle_ps(sum2, sum2, 1));
        let mut sum = _mm_cvtss_f32(sum1);
        for j in vector_end..window {
            let delta = x[j] - x[j + tau];
            sum += delta * delta;
        }
        *d = sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_kernel_equals_the_scalar_reference() {
        let mut state = 0x1234_5678u32;
        let x: Vec<f32> = (0..1000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let kernel = best_difference_kernel();
        for (window, lags) in [(1, 1), (7, 30), (8, 8), (267, 268), (369, 370), (500, 499)] {
            let mut reference = vec![0.0; lags];
            let mut fast = vec![0.0; lags];
            difference_scalar(&x, window, 0..lags, &mut reference);
            kernel(&x, window, 0..lags, &mut fast);
            for (tau, (a, b)) in reference.iter().zip(&fast).enumerate() {
                // Different summation order: relative error of a few float epsilons × sqrt(n).
                assert!(
                    (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                    "window {window}, τ {tau}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn a_range_of_lags_reads_only_the_samples_it_needs() {
        let (window, lags) = (269, 270);
        let x: Vec<f32> = (0..window + lags - 1)
            .map(|i| (i as f32 * 0.31).sin() + (i as f32 * 0.017).cos())
            .collect();
        let kernel = best_difference_kernel();
        let mut whole = vec![0.0; lags];
        kernel(&x, window, 0..lags, &mut whole);
        let mut pieces = vec![f32::NAN; lags];
        for (start, end) in [(0, 1), (1, 7), (7, 100), (100, 269), (269, 270)] {
            let needed = samples_needed(window, lags, end);
            kernel(&x[..needed], window, start..end, &mut pieces);
            assert!(pieces[start..end].iter().all(|d| d.is_finite()));
        }
        assert_eq!(pieces, whole);
    }
}
