//! The voice source: Rosenberg glottal flow, differentiated for lip radiation.

/// Glottal pulse generator with a continuous phase, so F0 can glide without discontinuities.
pub struct GlottalSource {
    /// Position in the current period, 0..1.
    phase: f64,
    /// Fraction of the period the glottis is open (0.4 pressed … 0.8 breathy).
    open_quotient: f64,
    /// Previous flow sample, for the derivative.
    last_flow: f64,
}

impl GlottalSource {
    pub fn new(open_quotient: f64) -> Self {
        Self {
            phase: 0.0,
            open_quotient: open_quotient.clamp(0.2, 0.95),
            last_flow: 0.0,
        }
    }

    /// Next sample of the flow derivative at `cycles_per_sample` = F0 / sample rate. The output
    /// is scaled by the period so its level does not grow with F0.
    pub fn next(&mut self, cycles_per_sample: f64) -> f32 {
        self.phase += cycles_per_sample;
        if self.phase >= 1.0 {
            self.phase -= self.phase.floor();
        }
        let flow = rosenberg_flow(self.phase, self.open_quotient);
        let derivative = (flow - self.last_flow) / cycles_per_sample.max(1e-9);
        self.last_flow = flow;
        (derivative * 0.05) as f32
    }
}

/// Rosenberg (1971) type C pulse: raised-cosine opening over two thirds of the open phase, quarter
/// cosine closing over the last third, closed for the rest of the period.
fn rosenberg_flow(phase: f64, open_quotient: f64) -> f64 {
    use std::f64::consts::PI;
    let opening = open_quotient * 2.0 / 3.0;
    let closing = open_quotient - opening;
    if phase < opening {
        0.5 * (1.0 - (PI * phase / opening).cos())
    } else if phase < open_quotient {
        (0.5 * PI * (phase - opening) / closing).cos()
    } else {
        0.0
    }
}
