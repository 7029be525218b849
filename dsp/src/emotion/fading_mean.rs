//! The running mean the style profile and the loudness loop keep their statistics in.

/// A mean that weighs every observation equally until `memory` observations, then forgets with
/// that time constant: exact for a reference file, running for the live input.
#[derive(Debug, Clone, Copy)]
pub(super) struct FadingMean {
    value: f32,
    count: f32,
    memory: f32,
}

impl FadingMean {
    pub(super) fn new(memory: f32) -> Self {
        Self {
            value: 0.0,
            count: 0.0,
            memory,
        }
    }

    pub(super) fn push(&mut self, x: f32) {
        if !x.is_finite() {
            return;
        }
        self.count += 1.0;
        let weight = (1.0 / self.count).max(1.0 / self.memory);
        self.value += weight * (x - self.value);
    }

    pub(super) fn clear(&mut self) {
        self.value = 0.0;
        self.count = 0.0;
    }

    pub(super) fn get(&self) -> Option<f32> {
        (self.count > 0.0).then_some(self.value)
    }

    /// Observations taken so far.
    pub(super) fn count(&self) -> f32 {
        self.count
    }
}
