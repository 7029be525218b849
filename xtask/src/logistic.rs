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
pub fn fit_logistic(examples: &[([f64; 4], bool)]) -> [f64; 4] {
    let mut w = [0.0f64; 4];
    for _ in 0..NEWTON_ITERATIONS {
        let mut gradient = [0.0f64; 4];
        let mut hessian = [[0.0f64; 4]; 4];
        for (x, label) in examples {
            let p = sigmoid(x.iter().zip(&w).map(|(a, b)| a * b).sum());
            let error = p - if *label { 1.0 } else { 0.0 };
            for i in 0..4 {
                gradient[i] += error * x[i];
                for j in 0..4 {
                    hessian[i][j] += p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        for (i, row) in hessian.iter_mut().enumerate() {
            row[i] += RIDGE * examples.len() as f64;
            gradient[i] += RIDGE * examples.len() as f64 * w[i];
        }
        let step = solve(hessian, gradient);
        for i in 0..4 {
            w[i] -= step[i];
        }
    }
    w
}

/// Solves `a x = b` for a 4×4 system by Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> [f64; 4] {
    for col in 0..4 {
        let pivot = (col..4)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..4 {
            let factor = a[row][col] / a[col][col];
            for k in col..4 {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0f64; 4];
    for row in (0..4).rev() {
        let rest: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    x
}
