//! Vowel and pause durations, changed inside a fixed delay budget.
//!
//! The resynthesiser lays grains at output positions `o` and cuts them from input positions
//! `o − lag`. With the lag held, timing is untouched; letting it grow while a vowel sounds
//! repeats periods (the vowel lengthens), letting it shrink skips them. The lag is bounded on
//! both sides, so the output never runs more than a fixed delay behind the input (nor ahead of
//! what the analysis has seen): when the bound is reached the vowel simply keeps its length, and
//! unvoiced stretches and pauses, where no period can be repeated, are played a little faster
//! or slower to bring the lag back to where the next vowel has room.

/// Unvoiced sounds are played this much faster (or slower) while the lag returns home: a
/// fricative or a breath at 1.5× keeps its character, and 100 ms of it gives back 33 ms.
const UNVOICED_CATCH_UP_RATE: f64 = 1.5;
/// Silence has no character to keep: 3× gives back 67 ms per 100 ms of pause.
const SILENCE_CATCH_UP_RATE: f64 = 3.0;

/// What a grain step holds, as far as timing is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stretch {
    /// A period of a vowel (or any voiced sound): repeated or skipped to follow the stretch.
    Vowel,
    /// Breath, fricative, plosive: may be played a little faster or slower. `voice_ahead`: the
    /// analysis sees a vowel coming.
    Unvoiced { voice_ahead: bool },
    /// A pause: may be played much faster or slower.
    Silence { voice_ahead: bool },
}

/// The time map between output and input, one grain step at a time.
pub struct ElasticBuffer {
    /// Output position minus the input position grains are cut from, in samples: > 0 behind
    /// the nominal delay, < 0 ahead of it.
    lag_samples: f64,
    /// `(ahead, behind)` bounds of the lag: ahead is limited by the analysis look-ahead (the
    /// input and its F0 must be known), behind by the latency budget.
    range_samples: (f64, f64),
}

impl ElasticBuffer {
    /// A buffer whose lag stays within `-ahead_samples ..= behind_samples` (both ≥ 0; zero
    /// for both gives fixed timing).
    pub fn new(ahead_samples: f64, behind_samples: f64) -> Self {
        Self {
            lag_samples: 0.0,
            range_samples: (-ahead_samples.max(0.0), behind_samples.max(0.0)),
        }
    }

    pub fn reset(&mut self) {
        self.lag_samples = 0.0;
    }

    pub fn lag_samples(&self) -> f64 {
        self.lag_samples
    }

    /// `(ahead, behind)`: how far the lag may go either way, in samples (both ≥ 0).
    pub fn room_samples(&self) -> (f64, f64) {
        (-self.range_samples.0, self.range_samples.1)
    }

    /// Whether timing can change at all (Studio) or is fixed (Live).
    pub fn is_elastic(&self) -> bool {
        self.range_samples != (0.0, 0.0)
    }

    /// Moves on by one grain of `spacing_samples` output samples. Vowel grains are stretched by
    /// `vowel_stretch` (> 1 longer) while the bounds allow; unvoiced and silent ones move the lag
    /// towards its home at their catch-up rate. With a vowel ahead, home is the end of the range
    /// that leaves that vowel the most room; otherwise it is 0, so a phrase ends, and a long
    /// pause sits, in step with the input.
    pub fn advance(&mut self, spacing_samples: f64, stretch: Stretch, vowel_stretch: f64) {
        let (ahead, behind) = self.range_samples;
        let (voice_ahead, rate) = match stretch {
            Stretch::Vowel => {
                let wanted = self.lag_samples + spacing_samples * (1.0 - 1.0 / vowel_stretch);
                self.lag_samples = wanted.clamp(ahead, behind);
                return;
            }
            Stretch::Unvoiced { voice_ahead } => (voice_ahead, UNVOICED_CATCH_UP_RATE),
            Stretch::Silence { voice_ahead } => (voice_ahead, SILENCE_CATCH_UP_RATE),
        };
        let home = if !voice_ahead {
            0.0
        } else if vowel_stretch > 1.0 {
            ahead
        } else if vowel_stretch < 1.0 {
            behind
        } else {
            0.0
        };
        let step = spacing_samples * (1.0 - 1.0 / rate);
        let wanted = if self.lag_samples > home {
            (self.lag_samples - step).max(home)
        } else {
            (self.lag_samples + step).min(home)
        };
        self.lag_samples = wanted.clamp(ahead, behind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengthens_vowels_within_the_bounds_and_gives_time_back_in_pauses() {
        let mut buffer = ElasticBuffer::new(100.0, 200.0);
        // A pause with nothing ahead stays in step.
        for _ in 0..100 {
            buffer.advance(10.0, Stretch::Silence { voice_ahead: false }, 1.25);
        }
        assert_eq!(buffer.lag_samples(), 0.0);
        // Before a vowel it banks time: the lag goes to the ahead bound and no further.
        for _ in 0..100 {
            buffer.advance(10.0, Stretch::Unvoiced { voice_ahead: true }, 1.25);
        }
        assert_eq!(buffer.lag_samples(), -100.0);
        // A vowel then grows the lag by 1 − 1/1.25 = 20 % of its length, up to the behind bound.
        for _ in 0..50 {
            buffer.advance(10.0, Stretch::Vowel, 1.25);
        }
        assert!((buffer.lag_samples() - 0.0).abs() < 1e-9);
        for _ in 0..1000 {
            buffer.advance(10.0, Stretch::Vowel, 1.25);
        }
        assert_eq!(buffer.lag_samples(), 200.0);
        // Neutral timing brings the lag home (0) in the next pause, then holds it.
        for _ in 0..1000 {
            buffer.advance(10.0, Stretch::Silence { voice_ahead: true }, 1.0);
        }
        assert_eq!(buffer.lag_samples(), 0.0);
        for _ in 0..100 {
            buffer.advance(10.0, Stretch::Vowel, 1.0);
        }
        assert_eq!(buffer.lag_samples(), 0.0);
    }

    #[test]
    fn fixed_timing_never_moves() {
        let mut buffer = ElasticBuffer::new(0.0, 0.0);
        for i in 0..100 {
            let stretch = if i % 3 == 0 {
                Stretch::Vowel
            } else {
                Stretch::Silence { voice_ahead: true }
            };
            buffer.advance(10.0, stretch, 2.0);
            assert_eq!(buffer.lag_samples(), 0.0);
        }
        assert!(!buffer.is_elastic());
    }
}
