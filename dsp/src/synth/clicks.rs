//! A click detector for judging rendered voices: a discontinuity shows as a lone spike of the
//! second difference, where a voice's glottal pulses spread evenly over their surroundings. The
//! resynthesis and emotion evaluations and their tests share it, so "no clicks" means the same
//! everywhere.

/// Blocks of 2 ms at 48 kHz; the context is ±10 blocks (±20 ms).
const BLOCK_SAMPLES: usize = 96;
const CONTEXT_BLOCKS: usize = 10;
/// A block's peak second difference must exceed its context's RMS this many times to count.
const CLICK_FLOOR: f32 = 8.0;
/// ...and the input's own statistic within ±3 blocks by this factor.
const OVER_INPUT: f32 = 1.5;

/// Per block: the largest second difference over the RMS second difference of the blocks around.
pub fn click_statistic(signal: &[f32]) -> Vec<f32> {
    let second: Vec<f32> = signal
        .windows(3)
        .map(|w| w[2] - 2.0 * w[1] + w[0])
        .collect();
    let blocks: Vec<(f32, f32)> = second
        .chunks(BLOCK_SAMPLES)
        .map(|c| {
            let peak = c.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            (peak, c.iter().map(|v| v * v).sum())
        })
        .collect();
    (0..blocks.len())
        .map(|i| {
            let from = i.saturating_sub(CONTEXT_BLOCKS);
            let to = (i + CONTEXT_BLOCKS + 1).min(blocks.len());
            let energy: f32 = blocks[from..to].iter().map(|b| b.1).sum();
            blocks[i].0
                / (energy / ((to - from) * BLOCK_SAMPLES) as f32)
                    .sqrt()
                    .max(1e-5)
        })
        .collect()
}

/// The blocks of `output` with a click that `input` (time-aligned) does not have: the statistic
/// stands out absolutely and against the input around the same time. Judging against the input's
/// global maximum instead would let one plosive in near-silence hide every click of a take.
pub fn click_blocks(input: &[f32], output: &[f32]) -> Vec<usize> {
    click_blocks_retimed(input, output, 0)
}

/// [`click_blocks`] for an output whose timing may be up to `max_offset_samples` off the
/// input's (Studio vowel timing): a consonant burst that moved is not a click, so the input is
/// searched that much further either side.
pub fn click_blocks_retimed(
    input: &[f32],
    output: &[f32],
    max_offset_samples: usize,
) -> Vec<usize> {
    let reference = click_statistic(input);
    let statistic = click_statistic(output);
    let reach = 3 + max_offset_samples.div_ceil(BLOCK_SAMPLES);
    (0..statistic.len().min(reference.len()))
        .filter(|&b| {
            let around = &reference[b.saturating_sub(reach)..(b + reach + 1).min(reference.len())];
            let input_peak = around.iter().cloned().fold(0.0f32, f32::max);
            statistic[b] > CLICK_FLOOR && statistic[b] > OVER_INPUT * input_peak
        })
        .collect()
}
