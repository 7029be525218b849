//! The finishing mix: latency-aligned dry signal, wet signal, output gain and bypass.

/// A fixed delay that keeps the input in step with the analysis.
#[derive(Debug, Clone)]
struct AlignmentDelay {
    /// Ring of the last `buffer.len()` input samples; its length *is* the delay.
    buffer: Vec<f32>,
    /// Index of the oldest sample, the next one to come out.
    read_pos: usize,
}

impl AlignmentDelay {
    fn new(delay_samples: usize) -> Self {
        Self {
            buffer: vec![0.0; delay_samples],
            read_pos: 0,
        }
    }

    fn clear(&mut self) {
        self.buffer.fill(0.0);
        self.read_pos = 0;
    }

    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        if self.buffer.is_empty() {
            output.copy_from_slice(input);
            return;
        }
        for (x, y) in input.iter().zip(output.iter_mut()) {
            *y = self.buffer[self.read_pos];
            self.buffer[self.read_pos] = *x;
            self.read_pos += 1;
            if self.read_pos == self.buffer.len() {
                self.read_pos = 0;
            }
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
    /// One delay per channel, each `latency_samples` long.
    delays: Vec<AlignmentDelay>,
    /// The aligned dry signal of the current block, `[channel][sample]`, `max_block_samples` long.
    dry: Vec<Vec<f32>>,
}

impl DryWetMixer {
    /// Allocates delays of `latency_samples` and block scratch for `max_block_samples`.
    pub fn new(channels: usize, max_block_samples: usize, latency_samples: usize) -> Self {
        Self {
            delays: (0..channels)
                .map(|_| AlignmentDelay::new(latency_samples))
                .collect(),
            dry: (0..channels)
                .map(|_| vec![0.0; max_block_samples])
                .collect(),
        }
    }

    pub fn reset(&mut self) {
        self.delays.iter_mut().for_each(AlignmentDelay::clear);
    }

    /// Takes the block's input, delayed by the latency, before the wet chain overwrites it.
    ///
    /// # Panics
    /// If a channel is longer than the `max_block_samples` given to [`Self::new`]; the engine
    /// splits host blocks so that never happens.
    pub fn capture_dry(&mut self, channels: &[&mut [f32]]) {
        for ((input, delay), dry) in channels.iter().zip(&mut self.delays).zip(&mut self.dry) {
            delay.process(input, &mut dry[..input.len()]);
        }
    }

    /// The block's input delayed by the latency (what [`Self::capture_dry`] took), one slice of
    /// `n` samples per channel.
    pub fn aligned_dry(&self, n: usize) -> impl Iterator<Item = &[f32]> {
        self.dry.iter().map(move |channel| &channel[..n])
    }

    /// Replaces the wet signal in `channels` with the finished output.
    pub fn mix_into(&self, channels: &mut [&mut [f32]], curves: &MixCurves) {
        for (wet, dry) in channels.iter_mut().zip(&self.dry) {
            let n = wet.len();
            let samples = wet.iter_mut().zip(&dry[..n]);
            let controls = curves
                .mix_fraction
                .iter()
                .zip(curves.output_gain)
                .zip(curves.bypass_fraction);
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
        let mut mixer = DryWetMixer::new(1, 16, 5);
        let input: Vec<f32> = (1..=40).map(|i| i as f32).collect();
        let mut dry_out = Vec::new();
        for chunk in input.chunks(7) {
            let mut block = chunk.to_vec();
            mixer.capture_dry(&[&mut block[..]]);
            dry_out.extend_from_slice(&mixer.dry[0][..chunk.len()]);
        }
        assert_eq!(&dry_out[..5], &[0.0; 5]);
        assert_eq!(&dry_out[5..], &input[..35]);
    }

    #[test]
    fn mix_gain_and_bypass_weight_the_right_signals() {
        let mut mixer = DryWetMixer::new(1, 4, 0);
        let mut block = [1.0f32; 4];
        mixer.capture_dry(&[&mut block[..]]);
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
