//! Octave-error protection across frames: a Viterbi search over each frame's candidates plus an
//! unvoiced state, with a fixed look-ahead (0 frames in Live mode, a bounded lag in Studio mode).

use super::yin::{FrameCandidates, MAX_CANDIDATES};

/// States per frame: the voiced candidates, then the unvoiced state.
const STATES: usize = MAX_CANDIDATES + 1;

/// Cost, in nats per cent, of moving between voiced states: a fast vibrato step (≈ 40 cents per
/// 5 ms frame) costs 0.13 nats.
const NATS_PER_CENT: f32 = 1.0 / 300.0;

/// Steps wider than this within one 5 ms frame cost [`LEAP_NATS_PER_CENT`] more for each cent
/// beyond: a voice leaps that far between notes, once, but an octave error is a step there and
/// one back, often. An octave costs 12 nats instead of 4; `cargo xtask pitch-eval --no-peers`:
/// gross errors in the pink-noise room 5.50 → 5.04 % (Studio), 6.36 → 5.89 % (Live), in the
/// babble room 9.95 → 9.18 %, breathy singing 0.27 → 0.22 %, the clean sets unchanged; three
/// times the cost gave the same. Legato octave leaps are still followed at once (a test).
const LEAP_CENTS: f32 = 400.0;
const LEAP_NATS_PER_CENT: f32 = 1.0 / 100.0;

/// Cost of switching between voiced and unvoiced, so single-frame flickers do not win.
const VOICING_SWITCH_NATS: f32 = 2.0;

/// Floor for probabilities before the logarithm.
const MIN_PROBABILITY: f32 = 1e-4;

/// One frame of the trellis.
#[derive(Debug, Clone, Copy, Default)]
struct TrellisFrame {
    /// F0 of each state; 0 for the unvoiced state.
    f0_hz: [f32; STATES],
    /// Best log-probability of a path ending in each state.
    score: [f32; STATES],
    /// Index of the best predecessor state in the previous frame.
    back: [u8; STATES],
    count: usize,
    voicing_probability: f32,
    energy_db: f32,
}

/// The decoded value of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodedFrame {
    /// 0 when unvoiced.
    pub f0_hz: f32,
    pub voicing_probability: f32,
    pub energy_db: f32,
}

pub struct PitchPathDecoder {
    /// Frames of look-ahead before a frame is decided.
    lookahead: usize,
    /// Ring of the last `lookahead + 1` frames.
    ring: Vec<TrellisFrame>,
    /// Frames pushed since the last reset.
    pushed: u64,
}

impl PitchPathDecoder {
    pub fn new(lookahead: usize) -> Self {
        Self {
            lookahead,
            ring: vec![TrellisFrame::default(); lookahead + 1],
            pushed: 0,
        }
    }

    pub fn reset(&mut self) {
        self.pushed = 0;
    }

    /// Adds a frame; returns the decision for the frame `lookahead` frames back, once there is one.
    pub fn push(&mut self, frame: &FrameCandidates) -> Option<DecodedFrame> {
        let slot = (self.pushed % self.ring.len() as u64) as usize;
        let previous = if self.pushed == 0 {
            None
        } else {
            Some(self.ring[((self.pushed - 1) % self.ring.len() as u64) as usize])
        };
        let current = &mut self.ring[slot];
        *current = TrellisFrame {
            voicing_probability: frame.voicing_probability,
            energy_db: frame.energy_db,
            ..Default::default()
        };
        let voiced = frame.voiced();
        for (i, candidate) in voiced.iter().enumerate() {
            current.f0_hz[i] = candidate.f0_hz;
            current.score[i] = candidate.probability.max(MIN_PROBABILITY).ln();
        }
        let unvoiced = voiced.len();
        current.f0_hz[unvoiced] = 0.0;
        current.score[unvoiced] = (1.0 - frame.voicing_probability).max(MIN_PROBABILITY).ln();
        current.count = voiced.len() + 1;

        if let Some(previous) = previous {
            for state in 0..current.count {
                let (best_back, best_score) = (0..previous.count)
                    .map(|p| {
                        (
                            p,
                            previous.score[p]
                                - transition_cost(previous.f0_hz[p], current.f0_hz[state]),
                        )
                    })
                    .fold((0, f32::NEG_INFINITY), |best, next| {
                        if next.1 > best.1 { next } else { best }
                    });
                current.score[state] += best_score;
                current.back[state] = best_back as u8;
            }
        }
        // Keep scores near zero: only differences matter, and long runs would lose precision.
        let top = current.score[..current.count]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        current.score[..current.count]
            .iter_mut()
            .for_each(|s| *s -= top);
        self.pushed += 1;

        if self.pushed <= self.lookahead as u64 {
            return None;
        }
        // Backtrack from the best state of the newest frame to the frame being decided.
        let newest = *current;
        let mut state = (0..newest.count)
            .max_by(|&a, &b| newest.score[a].total_cmp(&newest.score[b]))
            .unwrap_or(0);
        let mut index = self.pushed - 1;
        for _ in 0..self.lookahead {
            state = self.ring[(index % self.ring.len() as u64) as usize].back[state] as usize;
            index -= 1;
        }
        let decided = &self.ring[(index % self.ring.len() as u64) as usize];
        Some(DecodedFrame {
            f0_hz: decided.f0_hz[state],
            voicing_probability: decided.voicing_probability,
            energy_db: decided.energy_db,
        })
    }
}

fn transition_cost(from_hz: f32, to_hz: f32) -> f32 {
    match (from_hz > 0.0, to_hz > 0.0) {
        (true, true) => {
            let cents = (1200.0 * (to_hz / from_hz).log2()).abs();
            cents * NATS_PER_CENT + (cents - LEAP_CENTS).max(0.0) * LEAP_NATS_PER_CENT
        }
        (false, false) => 0.0,
        _ => VOICING_SWITCH_NATS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_octave_error_is_outvoted_by_its_neighbours_with_lookahead() {
        let mut decoder = PitchPathDecoder::new(4);
        let mut decided = Vec::new();
        for i in 0..12 {
            // Frame 6 prefers the octave above, by a little.
            let f = if i == 6 {
                FrameCandidates::of(&[(440.0, 0.5), (220.0, 0.4)])
            } else {
                FrameCandidates::of(&[(220.0, 0.9), (440.0, 0.05)])
            };
            decided.extend(decoder.push(&f));
        }
        assert_eq!(decided.len(), 8);
        assert!(decided.iter().all(|d| d.f0_hz == 220.0), "{decided:?}");
    }

    #[test]
    fn live_mode_decides_every_frame_at_once() {
        let mut decoder = PitchPathDecoder::new(0);
        assert_eq!(
            decoder
                .push(&FrameCandidates::of(&[(150.0, 0.95)]))
                .unwrap()
                .f0_hz,
            150.0
        );
        // A weakly voiced frame between voiced ones stays voiced: switching costs more.
        assert_eq!(
            decoder
                .push(&FrameCandidates::of(&[(151.0, 0.3)]))
                .unwrap()
                .f0_hz,
            151.0
        );
        assert_eq!(
            decoder.push(&FrameCandidates::of(&[])).unwrap().f0_hz,
            0.0,
            "no candidates at all is unvoiced"
        );
    }
}
