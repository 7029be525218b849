//! The finishing mix: latency-aligned dry signal, wet signal, output gain and bypass.

/// Delays the input to keep it in step with the wet chain, with a tap that can move (when the
/// analysis mode changes the latency) without a click: old and new taps are crossfaded.
#[derive(Debug, Clone)]
struct AlignmentDelay {
    /// Ring of the last `buffer.len()` input samples: the largest delay any mode needs, plus one.
    buffer: Vec<f32>,
    /// Where the next input sample goes.
    write_pos: usize,
}

impl AlignmentDelay {
    fn new(max_delay_samples: usize) -> Self {
        Self { buffer: vec![0.0; max_delay_samples + 1], write_pos: 0 }
    }

    fn clear(&mut self) {
        self.buffer.fill(0.0);
        self.write_pos = 0;
    }

    /// The sample written `delay` samples before the most recent one.
    #[inline]
    fn tap(&self, delay: usize) -> f32 {
        let len = self.buffer.len();
        self.buffer[(self.write_pos + len - 1 - delay) % len]
    }

    /// Writes `input` and reads it back `delay` samples later, crossfading from `previous_delay`
    /// while `fade` (1 → 0, per sample) is non-zero.
    fn process(&mut self, input: &[f32], output: &mut [f32], delay: usize, previous_delay: usize, fade: &[f32]) {
        let len = self.buffer.len();
        for ((x, y), &f) in input.iter().zip(output.iter_mut()).zip(fade) {
            self.buffer[self.write_pos] = *x;
            self.write_pos = (self.write_pos + 1) % len;
            *y = if f > 0.0 { f * self.tap(previous_delay) + (1.0 - f) * self.tap(delay) } else { self.tap(delay) };
        }
    }
}

/// Per-sample control curves for one block, produced by the engine's ramps.
pub struct MixCurves<'a> {
    /// Wet share, 0 (all dry) to 1 (all wet).
    pub mix_fraction: &'a [f32],
    /// Linear output gain applied to the mixed signal.
    pub output_gain: &'a [f32],
    /// 0 = effect engaged, 1 = fully bypassed (aligned dry only, no output gain).
    pub bypass_fraction: &'a [f32],
}

/// Holds the input back by the engine's latency so the dry/wet mix and bypass never comb-filter
/// and switching bypass does not jump in time.
pub struct DryWetMixer {
    /// One delay per channel, each able to hold `max_latency_samples`.
    delays: Vec<AlignmentDelay>,
    /// The aligned dry signal of the current block, `[channel][sample]`, `max_block_samples` long.
    dry: Vec<Vec<f32>>,
}

impl DryWetMixer {
    /// Allocates delays for up to `max_latency_samples` and block scratch for `max_block_samples`.
    pub fn new(channels: usize, max_block_samples: usize, max_latency_samples: usize) -> Self {
        Self {
            delays: (0..channels).map(|_| AlignmentDelay::new(max_latency_samples)).collect(),
            dry: (0..channels).map(|_| vec![0.0; max_block_samples]).collect(),
        }
    }

    pub fn reset(&mut self) {
        self.delays.iter_mut().for_each(AlignmentDelay::clear);
    }

    /// Takes the block's input, delayed by `latency` (crossfading from `previous_latency` while
    /// `fade` is non-zero), before the wet chain overwrites it.
    ///
    /// # Panics
    /// If a channel is longer than the `max_block_samples` given to [`Self::new`] (the engine
    /// splits host blocks so that never happens), or a latency exceeds the maximum.
    pub fn capture_dry(&mut self, channels: &[&mut [f32]], latency: usize, previous_latency: usize, fade: &[f32]) {
        for ((input, delay), dry) in channels.iter().zip(&mut self.delays).zip(&mut self.dry) {
            delay.process(input, &mut dry[..input.len()], latency, previous_latency, fade);
        }
    }

    /// The aligned input of the last captured block: the wet chain's input until resynthesis
    /// replaces it.
    pub fn copy_dry_into(&self, channels: &mut [&mut [f32]]) {
        for (channel, dry) in channels.iter_mut().zip(&self.dry) {
            let n = channel.len();
            channel.copy_from_slice(&dry[..n]);
        }
    }

    /// Replaces the wet signal in `channels` with the finished output.
    pub fn mix_into(&self, channels: &mut [&mut [f32]], curves: &MixCurves) {
        for (wet, dry) in channels.iter_mut().zip(&self.dry) {
            let n = wet.len();
            let samples = wet.iter_mut().zip(&dry[..n]);
            let controls = curves.mix_fraction.iter().zip(curves.output_gain).zip(curves.bypass_fraction);
            for ((y, &d), ((&m, &g), &b)) in samples.zip(controls) {
                let engaged = g * (m * *y + (1.0 - m) * d);
                *y = b * d + (1.0 - b) * engaged;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_is_delayed_by_the_latency_across_blocks() {
        let mut mixer = DryWetMixer::new(1, 16, 9);
        let input: Vec<f32> = (1..=40).map(|i| i as f32).collect();
        let mut dry_out = Vec::new();
        for chunk in input.chunks(7) {
            let mut block = chunk.to_vec();
            mixer.capture_dry(&[&mut block[..]], 5, 5, &[0.0; 7]);
            dry_out.extend_from_slice(&mixer.dry[0][..chunk.len()]);
        }
        assert_eq!(&dry_out[..5], &[0.0; 5]);
        assert_eq!(&dry_out[5..], &input[..35]);
    }

    #[test]
    fn a_latency_change_crossfades_between_the_taps() {
        let mut mixer = DryWetMixer::new(1, 8, 8);
        let mut block: Vec<f32> = (1..=8).map(|i| i as f32).collect();
        let fade = [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0];
        mixer.capture_dry(&[&mut block[..]], 2, 0, &fade);
        // Sample k of the input is k + 1: tap 0 reads k + 1, tap 2 reads k - 1 (0 before the start).
        let expected = [1.0, 0.75 * 2.0, 0.5 * 3.0 + 0.5 * 1.0, 0.25 * 4.0 + 0.75 * 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(&mixer.dry[0][..8], &expected);
    }

    #[test]
    fn mix_gain_and_bypass_weight_the_right_signals() {
        let mut mixer = DryWetMixer::new(1, 4, 0);
        let mut block = [1.0f32; 4];
        mixer.capture_dry(&[&mut block[..]], 0, 0, &[0.0; 4]);
        // The wet chain would have changed the signal: pretend it produced 3.0 everywhere.
        let mut wet = [3.0f32; 4];
        let curves = MixCurves {
            mix_fraction: &[1.0, 0.5, 0.0, 1.0],
            output_gain: &[1.0, 2.0, 2.0, 2.0],
            bypass_fraction: &[0.0, 0.0, 0.0, 1.0],
        };
        mixer.mix_into(&mut [&mut wet[..]], &curves);
        // wet only; half/half at gain 2; dry only at gain 2; bypass ignores gain and wet.
        assert_eq!(wet, [3.0, 4.0, 2.0, 1.0]);
    }
}
