//! Where a processed voice sits in time against its input: the one measurement every test and
//! evaluation that checks a reported latency on shifted (not sample-identical) output uses.

/// The lag, in whole milliseconds within ±`max_lag_ms`, at which the energy envelope of `output`
/// best matches that of `input` (positive: the output is later). Envelopes are the level per
/// millisecond in dB, floored at −80 dB and with their means removed, so that what lines up is
/// where the voice starts and stops, not how much silence two files share.
pub fn envelope_lag_ms(input: &[f32], output: &[f32], sample_rate_hz: u32, max_lag_ms: i64) -> i64 {
    let step = (sample_rate_hz / 1000).max(1) as usize;
    let envelope = |x: &[f32]| -> Vec<f64> {
        let levels: Vec<f64> = x
            .chunks(step)
            .map(|c| {
                let mean_square =
                    c.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / c.len() as f64;
                (10.0 * (mean_square + 1e-12).log10()).max(-80.0)
            })
            .collect();
        let mean = levels.iter().sum::<f64>() / levels.len().max(1) as f64;
        levels.into_iter().map(|l| l - mean).collect()
    };
    let (a, b) = (envelope(input), envelope(output));
    let margin = max_lag_ms.unsigned_abs() as usize;
    let n = a.len().min(b.len());
    let score = |lag: i64| -> f64 {
        (margin..n.saturating_sub(margin))
            .map(|i| a[i] * b[(i as i64 + lag) as usize])
            .sum()
    };
    (-max_lag_ms..=max_lag_ms)
        .max_by(|&p, &q| score(p).total_cmp(&score(q)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_known_delay_of_a_bursty_signal() {
        let input: Vec<f32> = (0..48_000)
            .map(|i| {
                if (i / 4_000) % 2 == 0 {
                    ((i as f32) * 0.3).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let mut output = vec![0.0; 480];
        output.extend_from_slice(&input[..input.len() - 480]);
        assert_eq!(envelope_lag_ms(&input, &output, 48_000, 20), 10);
        assert_eq!(envelope_lag_ms(&output, &input, 48_000, 20), -10);
    }
}
