//! Hostile-input and runaway-output protection at the edges of the engine.
//!
//! Hosts can feed NaN, infinities, denormals or absurd levels (a broken plugin upstream, a
//! feedback loop). Everything the engine computes starts from sanitised input, and everything it
//! returns is finite and bounded, so one bad sample can never poison the state or a mix bus.

/// Largest magnitude accepted from the host (+24 dBFS). Louder input is clamped to it.
pub const INPUT_CEILING: f32 = 16.0;

/// Largest magnitude the engine ever outputs (+30 dBFS = input ceiling plus headroom for gain).
/// A plain clamp: it is a guard against blow-ups, not a mastering limiter, and normal material
/// (within ±1 at 0 dB output gain) never reaches it.
pub const OUTPUT_CEILING: f32 = 31.6;

/// Magnitudes below this are flushed to zero: denormals cost up to 100× per operation on x86
/// and carry no audible signal (−600 dBFS).
const DENORMAL_FLOOR: f32 = 1e-30;

/// Replaces NaN with 0, clamps to ±[`INPUT_CEILING`] and flushes denormals, in place.
pub fn sanitize_input(samples: &mut [f32]) {
    for sample in samples {
        *sample = sanitize_sample(*sample);
    }
}

/// [`sanitize_input`] for one sample.
#[inline]
pub fn sanitize_sample(x: f32) -> f32 {
    if x.is_nan() || x.abs() < DENORMAL_FLOOR {
        0.0
    } else {
        x.clamp(-INPUT_CEILING, INPUT_CEILING)
    }
}

/// Clamps to ±[`OUTPUT_CEILING`] and maps any NaN to 0, in place.
pub fn clamp_output(samples: &mut [f32]) {
    for sample in samples {
        let x = *sample;
        *sample = if x.is_nan() {
            0.0
        } else {
            x.clamp(-OUTPUT_CEILING, OUTPUT_CEILING)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_become_finite_and_bounded() {
        let mut samples = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-38,
            -1e-35,
            1e6,
            0.5,
            -0.25,
        ];
        sanitize_input(&mut samples);
        assert_eq!(
            samples,
            [
                0.0,
                INPUT_CEILING,
                -INPUT_CEILING,
                0.0,
                0.0,
                INPUT_CEILING,
                0.5,
                -0.25
            ]
        );
        let mut out = [f32::NAN, 1e9, -1e9, 0.75];
        clamp_output(&mut out);
        assert_eq!(out, [0.0, OUTPUT_CEILING, -OUTPUT_CEILING, 0.75]);
    }
}
