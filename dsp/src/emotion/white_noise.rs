//! The noise behind added jitter and breath: xorshift32, deterministic from its seed,
//! allocation-free and far cheaper than a general-purpose generator on the audio thread.

#[derive(Debug, Clone)]
pub struct WhiteNoise {
    state: u32,
}

impl WhiteNoise {
    /// `seed` must not be 0 (xorshift's one fixed point); 0 is replaced.
    pub fn new(seed: u32) -> Self {
        Self {
            state: if seed == 0 { 0x9E37_79B9 } else { seed },
        }
    }

    /// Uniform in −1…1 (RMS 1/√3).
    pub fn next(&mut self) -> f32 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        (x as f32 / u32::MAX as f32) * 2.0 - 1.0
    }
}
