//! The vibrato scales of the decomposition: one complex atom per candidate rate, fitted to the
//! pitch contour around a frame by weighted least squares.
//!
//! Each atom is a windowed sinusoid at its rate with a linearly varying complex amplitude,
//! `Im[(C0 + C1·t)·e^{iωt}]`, fitted jointly with a local quadratic trend. The trend terms give the
//! atom three vanishing moments, so intonation (level, glides, curvature) does not read as
//! vibrato; the `C1` term lets the amplitude and phase drift inside the window, so a vibrato that
//! fades in or runs slightly off the rate grid is still fitted, and `Im(C1/C0)` is the frequency
//! offset that refines the rate between grid points. The window spans a fixed number of periods
//! of its rate (constant Q, as a wavelet's does) and is cut at the look-ahead the mode allows.

use crate::lanes::{LANES, dot};

/// Basis columns: quadratic trend, then sin, cos, t·sin, t·cos at the atom's rate. The first
/// `STEADY_TERMS` are the model with a steady sinusoid, the first `TREND_TERMS` the trend alone.
const TERMS: usize = 7;
const STEADY_TERMS: usize = 5;
const TREND_TERMS: usize = 3;

/// Floor of the noise estimate, cents²: a synthetic contour can be noiseless.
const MIN_NOISE_VARIANCE: f32 = 0.01;

/// Frames per second of the contour.
const FRAME_RATE_HZ: f64 = 1.0 / crate::pitch::HOP_S;

/// What the best atom says about the contour around one frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AtomFit {
    /// Instantaneous rate: the atom's rate plus the frequency offset the fit found.
    pub rate_hz: f32,
    /// Amplitude at the frame, cents (half the peak-to-peak excursion).
    pub extent_cents: f32,
    /// Phase at the frame, radians in −π..π; the vibrato is `extent · sin(phase)`.
    pub phase_rad: f32,
    /// Share of the detrended contour's energy in the window that the sinusoid explains (0…1):
    /// near 1 for vibrato, low for noise, steps and glides.
    pub periodic_share: f32,
    /// Residual of the fit over the noise the contour's roughness predicts: near 1 when
    /// trend + sinusoid is the whole story, large when it is not (a glide, a step).
    pub misfit_ratio: f32,
    /// Index of the atom, for [`RateAtoms::sinusoid_at`].
    atom: usize,
    /// Sinusoid coefficients: sin, cos, t·sin, t·cos.
    coefficients: [f32; 4],
}

/// One atom: its window and the precomputed parts of its least-squares solution.
struct Atom {
    rate_hz: f32,
    /// Frames before the fitted frame.
    past: usize,
    /// `weights[j]` for window position j (frame offset `j − past`); peaks at the fitted frame.
    weights: Vec<f32>,
    /// `[term][j]`: the basis, and the basis times the weights.
    basis: Vec<[f32; TERMS]>,
    weighted_basis: [Vec<f32>; TERMS],
    /// Inverse Gram matrices of the full model, the steady model and the trend alone.
    gram_inverse: [[f32; TERMS]; TERMS],
    steady_gram_inverse: [[f32; STEADY_TERMS]; STEADY_TERMS],
    trend_gram_inverse: [[f32; TREND_TERMS]; TREND_TERMS],
    /// Σw over the window.
    weight_sum: f32,
    /// Length of the window, seconds: the unit of `t` in the basis.
    span_s: f32,
}

/// The bank of atoms, one per candidate rate.
pub struct RateAtoms {
    atoms: Vec<Atom>,
    /// Longest past any atom reads, frames.
    max_past: usize,
    /// Frames after the fitted frame that every atom reads.
    future: usize,
}

impl RateAtoms {
    /// Atoms at `rates_hz`, each spanning `past_periods` of its rate before the fitted frame and
    /// `future_frames` after it.
    pub fn new(rates_hz: &[f32], past_periods: f32, future_frames: usize) -> Self {
        let atoms: Vec<Atom> = rates_hz
            .iter()
            .map(|&rate| Atom::new(rate, past_periods, future_frames))
            .collect();
        let max_past = atoms.iter().map(|a| a.past).max().unwrap_or(0);
        Self {
            atoms,
            max_past,
            future: future_frames,
        }
    }

    pub fn max_past(&self) -> usize {
        self.max_past
    }

    /// Shortest past any atom reads, frames.
    pub fn min_past(&self) -> usize {
        self.atoms.iter().map(|a| a.past).min().unwrap_or(0)
    }

    /// Fits every atom to `window`, the contour from `max_past` frames before the fitted frame to
    /// `future` frames after it, relative to the fitted frame's value; returns the fit of the
    /// atom whose sinusoid explains the largest share of it.
    pub fn best_fit(&self, window: &[f32]) -> AtomFit {
        debug_assert_eq!(window.len(), self.max_past + self.future + 1);
        let window_of = |atom: &Atom| &window[self.max_past - atom.past..];
        // The ridge: the rate whose steady sinusoid explains the most. The full model, whose
        // drifting amplitude can bend any nearby rate to fit, then refines it; if the refined
        // rate is nearer another atom, that atom fits again. The share varies slowly across
        // rates (a window of a few periods cannot resolve 0.25 Hz), so every other atom is tried
        // first and then the best one's neighbours.
        let share_of = |index: usize| {
            let atom = &self.atoms[index];
            atom.steady_periodic_share(window_of(atom))
        };
        let best_of = |candidates: &mut dyn Iterator<Item = usize>| {
            candidates.map(|index| (index, share_of(index))).fold(
                (0, f32::NEG_INFINITY),
                |best, next| {
                    if next.1 > best.1 { next } else { best }
                },
            )
        };
        let coarse = best_of(&mut (0..self.atoms.len()).step_by(2));
        let neighbours = [coarse.0.wrapping_sub(1), coarse.0 + 1];
        let fine = best_of(&mut neighbours.into_iter().filter(|&i| i < self.atoms.len()));
        let ridge = if fine.1 > coarse.1 { fine.0 } else { coarse.0 };
        let mut fit = self.atoms[ridge].fit(ridge, window_of(&self.atoms[ridge]));
        let nearest = self.nearest_atom(fit.rate_hz);
        if nearest != ridge {
            fit = self.atoms[nearest].fit(nearest, window_of(&self.atoms[nearest]));
        }
        fit
    }

    fn nearest_atom(&self, rate_hz: f32) -> usize {
        let distance = |atom: &Atom| (atom.rate_hz - rate_hz).abs();
        (0..self.atoms.len())
            .min_by(|&a, &b| distance(&self.atoms[a]).total_cmp(&distance(&self.atoms[b])))
            .unwrap_or(0)
    }

    /// The fitted sinusoid `offset` frames from the fitted frame (inside the atom's window).
    pub fn sinusoid_at(&self, fit: &AtomFit, offset: isize) -> f32 {
        let atom = &self.atoms[fit.atom];
        let j = (atom.past as isize + offset) as usize;
        let b = &atom.basis[j];
        fit.coefficients
            .iter()
            .zip(&b[TREND_TERMS..])
            .map(|(c, v)| c * v)
            .sum()
    }
}

impl Atom {
    fn new(rate_hz: f32, past_periods: f32, future: usize) -> Self {
        let past = (past_periods as f64 * FRAME_RATE_HZ / rate_hz as f64).round() as usize;
        let len = past + future + 1;
        let omega = std::f64::consts::TAU * rate_hz as f64;
        // Two half-Hann slopes meeting at the fitted frame: the estimate describes that frame
        // even when the look-ahead is shorter than the past.
        let weight = |j: usize| -> f64 {
            let offset = j as f64 - past as f64;
            let half = if offset < 0.0 { past } else { future } as f64 + 1.0;
            0.5 * (1.0 + (std::f64::consts::PI * offset / half).cos())
        };
        let mut basis64 = vec![[0.0f64; TERMS]; len];
        let mut weights = vec![0.0f64; len];
        // Time in units of the window's span keeps every column near 1, so the f32 solution
        // stays accurate.
        let span_s = len as f64 / FRAME_RATE_HZ;
        for (j, row) in basis64.iter_mut().enumerate() {
            let t_s = (j as f64 - past as f64) / FRAME_RATE_HZ;
            let (s, c) = (omega * t_s).sin_cos();
            let t = t_s / span_s;
            *row = [1.0, t, t * t, s, c, t * s, t * c];
            weights[j] = weight(j);
        }
        let mut gram = [[0.0f64; TERMS]; TERMS];
        for (row, &w) in basis64.iter().zip(&weights) {
            for a in 0..TERMS {
                for b in 0..TERMS {
                    gram[a][b] += w * row[a] * row[b];
                }
            }
        }
        let steady_gram: [[f64; STEADY_TERMS]; STEADY_TERMS] =
            std::array::from_fn(|a| std::array::from_fn(|b| gram[a][b]));
        let trend_gram: [[f64; TREND_TERMS]; TREND_TERMS] =
            std::array::from_fn(|a| std::array::from_fn(|b| gram[a][b]));
        let weighted_basis = std::array::from_fn(|term| {
            basis64
                .iter()
                .zip(&weights)
                .map(|(row, w)| (w * row[term]) as f32)
                .collect()
        });
        Self {
            rate_hz,
            past,
            weights: weights.iter().map(|&w| w as f32).collect(),
            basis: basis64.iter().map(|row| row.map(|v| v as f32)).collect(),
            weighted_basis,
            gram_inverse: to_f32(&invert(gram)),
            steady_gram_inverse: to_f32(&invert(steady_gram)),
            trend_gram_inverse: to_f32(&invert(trend_gram)),
            span_s: span_s as f32,
            weight_sum: weights.iter().sum::<f64>() as f32,
        }
    }

    /// Xᵀ·W·x: the contour projected on each weighted basis column.
    fn project(&self, x: &[f32]) -> [f32; TERMS] {
        std::array::from_fn(|term| dot(&self.weighted_basis[term], x))
    }

    /// The projections of the steady model only.
    fn project_steady(&self, x: &[f32]) -> [f32; STEADY_TERMS] {
        std::array::from_fn(|term| dot(&self.weighted_basis[term], x))
    }

    /// Σ w·x², the window's weighted energy.
    fn weighted_energy(&self, x: &[f32]) -> f32 {
        let mut lanes = [0.0f32; LANES];
        let (w_chunks, x_chunks) = (self.weights.chunks_exact(LANES), x.chunks_exact(LANES));
        let tail: f32 = w_chunks
            .remainder()
            .iter()
            .zip(x_chunks.remainder())
            .map(|(w, v)| w * v * v)
            .sum();
        for (w, v) in w_chunks.zip(x_chunks) {
            for lane in 0..LANES {
                lanes[lane] += w[lane] * v[lane] * v[lane];
            }
        }
        lanes.iter().sum::<f32>() + tail
    }

    /// Share of the detrended window's energy a steady sinusoid at this rate explains. The share,
    /// not the energy, compares atoms fairly: their windows differ in length, and over a short
    /// window the trend absorbs more of any sinusoid. With least squares the residual energy is
    /// `xᵀWx − βᵀ·XᵀWx`, so no further pass over the window is needed.
    fn steady_periodic_share(&self, x: &[f32]) -> f32 {
        let steady = self.project_steady(x);
        let trend: [f32; TREND_TERMS] = std::array::from_fn(|term| steady[term]);
        let energy = self.weighted_energy(x);
        let trend_residual = energy - dot(&mat_vec(&self.trend_gram_inverse, &trend), &trend);
        let steady_residual = energy - dot(&mat_vec(&self.steady_gram_inverse, &steady), &steady);
        if trend_residual > 1e-6 {
            (trend_residual - steady_residual) / trend_residual
        } else {
            0.0
        }
    }

    /// Fits the full model to `x`, the window from this atom's past onwards.
    fn fit(&self, atom: usize, x: &[f32]) -> AtomFit {
        let projections = self.project(x);
        let beta = mat_vec(&self.gram_inverse, &projections);
        self.describe(atom, x, &beta, &projections)
    }

    fn describe(
        &self,
        atom: usize,
        x: &[f32],
        beta: &[f32; TERMS],
        projections: &[f32; TERMS],
    ) -> AtomFit {
        let (a, b, c, d) = (beta[3], beta[4], beta[5], beta[6]);
        // C0 = a + ib, C1 = c + id; Im(C1/C0) = (a·d − b·c)/|C0|².
        let magnitude_squared = a * a + b * b;
        let offset_rad_per_s = if magnitude_squared > 0.0 {
            (a * d - b * c) / magnitude_squared / self.span_s
        } else {
            0.0
        };
        let energy = self.weighted_energy(x);
        let full_residual = energy - dot(beta, projections);
        let trend = first_terms::<TREND_TERMS>(projections);
        let trend_residual = energy - dot(&mat_vec(&self.trend_gram_inverse, &trend), &trend);
        let periodic_share = if trend_residual > 1e-6 {
            ((trend_residual - full_residual) / trend_residual).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // White noise of variance σ² has second differences of variance 6σ²; a smooth contour has
        // almost none, so this estimates the tracker's frame-to-frame noise.
        let noise_variance = x
            .windows(3)
            .zip(&self.weights[1..])
            .map(|(v, w)| w * (v[2] - 2.0 * v[1] + v[0]).powi(2))
            .sum::<f32>()
            / (6.0 * self.weight_sum);
        let misfit_ratio =
            full_residual.max(0.0) / self.weight_sum / noise_variance.max(MIN_NOISE_VARIANCE);
        AtomFit {
            rate_hz: self.rate_hz + offset_rad_per_s / std::f32::consts::TAU,
            extent_cents: magnitude_squared.sqrt(),
            phase_rad: b.atan2(a),
            periodic_share,
            misfit_ratio,
            atom,
            coefficients: [a, b, c, d],
        }
    }
}

fn first_terms<const N: usize>(projections: &[f32; TERMS]) -> [f32; N] {
    std::array::from_fn(|term| projections[term])
}

fn mat_vec<const N: usize>(m: &[[f32; N]; N], v: &[f32; N]) -> [f32; N] {
    std::array::from_fn(|row| dot(&m[row], v))
}

fn to_f32<const N: usize>(m: &[[f64; N]; N]) -> [[f32; N]; N] {
    m.map(|row| row.map(|v| v as f32))
}

/// Gauss–Jordan inverse with partial pivoting of a small symmetric positive-definite matrix.
fn invert<const N: usize>(mut m: [[f64; N]; N]) -> [[f64; N]; N] {
    let mut inverse = [[0.0f64; N]; N];
    for (i, row) in inverse.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..N {
        let pivot = (col..N)
            .max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
            .unwrap_or(col);
        m.swap(col, pivot);
        inverse.swap(col, pivot);
        let p = m[col][col];
        for k in 0..N {
            m[col][k] /= p;
            inverse[col][k] /= p;
        }
        for row in 0..N {
            if row != col {
                let f = m[row][col];
                for k in 0..N {
                    m[row][k] -= f * m[col][k];
                    inverse[row][k] -= f * inverse[col][k];
                }
            }
        }
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<f32> {
        (0..=24).map(|k| 3.0 + 0.25 * k as f32).collect()
    }

    /// A window of `f(t)` around t = 0 for the bank's layout.
    fn window(bank: &RateAtoms, f: impl Fn(f64) -> f64) -> Vec<f32> {
        let centre = f(0.0);
        (0..bank.max_past() + bank.future + 1)
            .map(|j| {
                let t = (j as f64 - bank.max_past() as f64) / FRAME_RATE_HZ;
                (f(t) - centre) as f32
            })
            .collect()
    }

    #[test]
    fn a_vibrato_on_a_glide_is_measured_between_grid_rates() {
        let bank = RateAtoms::new(&grid(), 1.25, 20);
        // 5.9 Hz, 40 cents, phase 1 rad at t = 0, on a 300 cents/s glide with curvature.
        let fit = bank.best_fit(&window(&bank, |t| {
            300.0 * t + 200.0 * t * t + 40.0 * (std::f64::consts::TAU * 5.9 * t + 1.0).sin()
        }));
        assert!((fit.rate_hz - 5.9).abs() < 0.02, "{fit:?}");
        assert!((fit.extent_cents - 40.0).abs() < 0.5, "{fit:?}");
        assert!((fit.phase_rad - 1.0).abs() < 0.02, "{fit:?}");
        assert!(fit.periodic_share > 0.99, "{fit:?}");
    }

    #[test]
    fn a_glide_alone_is_not_periodic() {
        let bank = RateAtoms::new(&grid(), 1.25, 20);
        let fit = bank.best_fit(&window(&bank, |t| 400.0 * t - 300.0 * t * t));
        assert!(fit.extent_cents < 0.5, "{fit:?}");
    }

    #[test]
    fn the_fitted_sinusoid_matches_the_signal_across_the_window() {
        let bank = RateAtoms::new(&grid(), 1.25, 0);
        let vibrato = |t: f64| 25.0 * (std::f64::consts::TAU * 7.0 * t).sin();
        let fit = bank.best_fit(&window(&bank, vibrato));
        for offset in [-20isize, -7, 0] {
            let expected = vibrato(offset as f64 / FRAME_RATE_HZ) as f32;
            assert!(
                (bank.sinusoid_at(&fit, offset) - expected).abs() < 0.2,
                "offset {offset}: {} vs {expected}, {fit:?}",
                bank.sinusoid_at(&fit, offset)
            );
        }
    }
}
