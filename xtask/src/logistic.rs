//! Logistic regression for the small calibrated models (voicing, vibrato presence) the xtasks
//! fit on the test voice.

const NEWTON_ITERATIONS: usize = 30;
/// A little ridge regularisation keeps the Newton steps well-posed.
const RIDGE: f64 = 1e-3;

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Weights `w` maximising the likelihood of `P(label) = sigmoid(w · inputs)` over `examples`,
/// by Newton's method (iteratively reweighted least squares). Deterministic.
pub fn fit_logistic<const N: usize>(examples: &[([f64; N], bool)]) -> [f64; N] {
    let mut w = [0.0f64; N];
    for _ in 0..NEWTON_ITERATIONS {
        let mut gradient = [0.0f64; N];
        let mut hessian = [[0.0f64; N]; N];
        for (x, label) in examples {
            let p = sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum());
            let error = p - if *label { 1.0 } else { 0.0 };
            for i in 0..N {
                gradient[i] += error * x[i];
                for j in 0..N {
                    hessian[i][j] += p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        for (i, row) in hessian.iter_mut().enumerate() {
            row[i] += RIDGE * examples.len() as f64;
            gradient[i] += RIDGE * examples.len() as f64 * w[i];
        }
        let step = solve(hessian, gradient);
        for i in 0..N {
            w[i] -= step[i];
        }
    }
    w
}

/// Solves `a x = b` for a small system by Gaussian elimination with partial pivoting.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for col in 0..N {
        let pivot = (col..N)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (pivot_row, pivot_b) = (a[col], b[col]);
        for (row, b_row) in a.iter_mut().zip(b.iter_mut()).skip(col + 1) {
            let factor = row[col] / pivot_row[col];
            for (value, pivot_value) in row.iter_mut().zip(&pivot_row).skip(col) {
                *value -= factor * pivot_value;
            }
            *b_row -= factor * pivot_b;
        }
    }
    let mut x = [0.0f64; N];
    for row in (0..N).rev() {
        let rest: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}
