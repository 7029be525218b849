//! Click-free parameter changes: every control the engine takes moves along a linear ramp.

/// A value that glides linearly to a new target over a fixed time.
///
/// Linear (not exponential) so that a ramp ends exactly after `ramp_samples`: tests and the
/// host can rely on the new value being reached at a known sample.
#[derive(Debug, Clone)]
pub struct LinearRamp {
    /// The value of the most recent sample produced.
    current: f32,
    /// Where the ramp is heading.
    target: f32,
    /// Increment per sample while `remaining_samples > 0`.
    step: f32,
    /// Samples left until `current == target`.
    remaining_samples: u32,
    /// Length of every ramp, set from the smoothing time and the sample rate in `prepare`.
    ramp_samples: u32,
}

impl LinearRamp {
    pub fn new(value: f32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining_samples: 0,
            ramp_samples: 1,
        }
    }

    /// Sets how long a ramp takes. Called from `prepare`, when the sample rate is known.
    pub fn set_ramp_time(&mut self, ramp_time_s: f32, sample_rate_hz: f32) {
        self.ramp_samples = ((ramp_time_s * sample_rate_hz).round() as u32).max(1);
    }

    /// Starts a ramp from the current value towards `target` (no-op if already heading there).
    pub fn set_target(&mut self, target: f32) {
        if target == self.target {
            return;
        }
        self.target = target;
        self.remaining_samples = self.ramp_samples;
        self.step = (target - self.current) / self.ramp_samples as f32;
    }

    /// Where the ramp is heading (or has arrived).
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Jumps to `value` with no ramp: used on reset, where there is no previous sound to join.
    pub fn snap_to(&mut self, value: f32) {
        self.current = value;
        self.target = value;
        self.remaining_samples = 0;
        self.step = 0.0;
    }

    /// Writes the next `out.len()` values of the ramp.
    pub fn fill(&mut self, out: &mut [f32]) {
        let ramping = (self.remaining_samples as usize).min(out.len());
        for value in &mut out[..ramping] {
            self.current += self.step;
            *value = self.current;
        }
        self.remaining_samples -= ramping as u32;
        if self.remaining_samples == 0 {
            // Land exactly on the target so rounding in the steps never leaves a residue.
            self.current = self.target;
            if let Some(last) = out[..ramping].last_mut() {
                *last = self.target;
            }
        }
        out[ramping..].fill(self.current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_target_exactly_after_ramp_time() {
        let mut ramp = LinearRamp::new(0.0);
        ramp.set_ramp_time(0.001, 48_000.0); // 48 samples
        ramp.set_target(1.0);
        let mut out = [0.0; 100];
        ramp.fill(&mut out);
        assert!(
            (out[0] - 1.0 / 48.0).abs() < 1e-6,
            "first sample already moves"
        );
        assert!(out[46] < 1.0);
        assert_eq!(out[47], 1.0);
        assert!(out[47..].iter().all(|&v| v == 1.0));
    }

    #[test]
    fn ramp_spanning_blocks_is_the_same_as_one_block() {
        let mut whole = LinearRamp::new(0.25);
        let mut split = whole.clone();
        whole.set_ramp_time(0.01, 44_100.0);
        split.set_ramp_time(0.01, 44_100.0);
        whole.set_target(-0.5);
        split.set_target(-0.5);
        let mut a = vec![0.0; 1000];
        let mut b = vec![0.0; 1000];
        whole.fill(&mut a);
        for chunk in b.chunks_mut(7) {
            split.fill(chunk);
        }
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-6);
        }
    }

    #[test]
    fn retarget_mid_ramp_starts_from_where_it_is() {
        let mut ramp = LinearRamp::new(0.0);
        ramp.set_ramp_time(0.001, 10_000.0); // 10 samples
        ramp.set_target(1.0);
        let mut out = [0.0; 5];
        ramp.fill(&mut out);
        ramp.set_target(0.0);
        let mut next = [0.0; 1];
        ramp.fill(&mut next);
        // From 0.5 heading to 0 in 10 steps: no jump.
        assert!((next[0] - 0.45).abs() < 1e-6);
    }
}
