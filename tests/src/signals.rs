//! Test material and the check every host test leans on: Affetto, engaged at neutral settings,
//! is its input delayed by exactly the latency it reports.

/// Deterministic test material: an impulse per channel (at different places, so swapped
/// channels are caught) over quiet noise, so both the delay and every sample can be checked.
pub fn impulse_over_noise(channels: usize, frames: usize, seed: u32) -> Vec<Vec<f32>> {
    let mut state = seed.max(1);
    (0..channels)
        .map(|channel| {
            let mut samples: Vec<f32> = (0..frames)
                .map(|_| {
                    // xorshift32: good enough for a noise floor, and needs no dependency.
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    (state as f32 / u32::MAX as f32 - 0.5) * 0.1
                })
                .collect();
            samples[impulse_position(channel)] = 1.0;
            samples
        })
        .collect()
}

fn impulse_position(channel: usize) -> usize {
    100 + 50 * channel
}

/// Delay of the output's impulse relative to the input's.
fn measured_delay_samples(output: &[f32], channel: usize) -> usize {
    let peak = output
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap()
        .0;
    peak - impulse_position(channel)
}

/// At 100 % mix, 0 dB and no effect engaged, Affetto must be a pure delay of exactly the latency
/// it reports: anything else would misalign the track after the host's delay compensation.
pub fn assert_pure_delay(input: &[Vec<f32>], output: &[Vec<f32>], latency: usize, context: &str) {
    for (channel, (x, y)) in input.iter().zip(output).enumerate() {
        assert_eq!(
            measured_delay_samples(y, channel),
            latency,
            "{context}: channel {channel} delay"
        );
        assert!(
            y[..latency].iter().all(|&v| v == 0.0),
            "{context}: silence before the latency"
        );
        for i in latency..x.len() {
            assert_eq!(
                y[i],
                x[i - latency],
                "{context}: channel {channel} sample {i}"
            );
        }
    }
}
