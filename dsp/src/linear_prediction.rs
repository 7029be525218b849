//! The Levinson–Durbin recursion: the all-pole (linear prediction) model whose autocorrelation
//! matches a given one. The tracker's spectral envelope and the resynthesiser's vocal tract both
//! fit one.

/// Fits the predictor of order `reflection.len()` to the autocorrelation `r` (`order + 1`
/// lags): fills `polynomial` (`order + 1` long, `polynomial[0] = 1`: the inverse filter
/// `A(z) = Σ polynomial[k] z^-k`) and `reflection`, and returns the prediction error power.
/// `None` when `r` is not positive definite (a reflection coefficient reaches ±1 or the error
/// vanishes): the model would be unstable, so callers fall back to a flat one. In place, without
/// allocating.
pub fn levinson_durbin(r: &[f64], polynomial: &mut [f64], reflection: &mut [f64]) -> Option<f64> {
    let order = reflection.len();
    debug_assert!(r.len() > order && polynomial.len() > order);
    polynomial[..=order].fill(0.0);
    polynomial[0] = 1.0;
    let mut error = r[0];
    if !(error.is_finite() && error > 0.0) {
        return None;
    }
    for i in 1..=order {
        let acc: f64 = (0..i).map(|j| polynomial[j] * r[i - j]).sum();
        let k = -acc / error;
        if !(k.is_finite() && k.abs() < 1.0) {
            return None;
        }
        // a[j] += k·a[i − j] for 0 < j < i, from the old values: the pairs (j, i − j) are
        // updated together.
        for j in 1..=(i - 1) / 2 {
            let (low, high) = (polynomial[j], polynomial[i - j]);
            polynomial[j] = low + k * high;
            polynomial[i - j] = high + k * low;
        }
        if i % 2 == 0 {
            polynomial[i / 2] *= 1.0 + k;
        }
        polynomial[i] = k;
        reflection[i - 1] = k;
        error *= 1.0 - k * k;
    }
    (error > 0.0).then_some(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_second_order_predictor() {
        // x[n] = 1.2 x[n−1] − 0.5 x[n−2] + e[n], unit-variance e: its autocorrelation, solved by
        // the Yule–Walker equations.
        let (a1, a2) = (1.2f64, -0.5f64);
        let rho1 = a1 / (1.0 - a2);
        let rho2 = a1 * rho1 + a2;
        let r0 = 1.0 / (1.0 - a1 * rho1 - a2 * rho2);
        let r = [r0, rho1 * r0, rho2 * r0];
        let (mut polynomial, mut reflection) = ([0.0; 3], [0.0; 2]);
        let error = levinson_durbin(&r, &mut polynomial, &mut reflection).expect("stable");
        assert!((polynomial[1] + a1).abs() < 1e-12 && (polynomial[2] + a2).abs() < 1e-12);
        assert!((error - 1.0).abs() < 1e-12, "the innovation's variance");
        assert!(
            (reflection[1] + a2).abs() < 1e-12,
            "the last reflection is −a2"
        );
    }

    #[test]
    fn degenerate_autocorrelation_has_no_model() {
        let (mut polynomial, mut reflection) = ([0.0; 3], [0.0; 2]);
        for r in [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [f64::NAN, 0.0, 0.0]] {
            assert!(levinson_durbin(&r, &mut polynomial, &mut reflection).is_none());
        }
    }
}
