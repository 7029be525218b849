//! Capturing a reference style from the sidechain while the session plays: the user switches
//! learning on, the reference take plays into the sidechain, and after [`LEARN_S`] of it (or
//! when learning is switched off after at least [`MIN_LEARN_S`]) the profile freezes.

use super::style::{StyleAnalyzer, StyleProfile};
use crate::engine::MAX_CHANNELS;
use crate::pitch::{AnalysisMode, PitchTracker};
use crate::vibrato::ContourDecomposer;

/// Sidechain audio heard before the profile freezes by itself: several phrases.
pub const LEARN_S: f32 = 20.0;
/// Least sidechain audio a profile is frozen from when learning is switched off early.
pub const MIN_LEARN_S: f32 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not learning.
    Idle,
    Learning,
    /// A profile was frozen; learning must be switched off and on again to start anew.
    Frozen,
}

/// Analyses the sidechain while asked to and freezes its style. `new` allocates; `process` does
/// not.
pub struct ReferenceLearner {
    tracker: PitchTracker,
    decomposer: ContourDecomposer,
    analyzer: StyleAnalyzer,
    mono: Vec<f32>,
    heard_samples: u64,
    limit_samples: u64,
    minimum_samples: u64,
    phase: Phase,
}

impl ReferenceLearner {
    pub fn new(sample_rate_hz: f32, max_block_samples: usize) -> Self {
        Self {
            // Look-ahead analysis: the profile is not needed at once, and Studio's estimates are
            // the better ones.
            tracker: PitchTracker::new(sample_rate_hz, AnalysisMode::Studio),
            decomposer: ContourDecomposer::new(AnalysisMode::Studio),
            analyzer: StyleAnalyzer::new(f32::INFINITY),
            mono: vec![0.0; max_block_samples],
            heard_samples: 0,
            limit_samples: (LEARN_S * sample_rate_hz) as u64,
            minimum_samples: (MIN_LEARN_S * sample_rate_hz) as u64,
            phase: Phase::Idle,
        }
    }

    /// How far learning has got, 0…1 (1 once frozen).
    pub fn progress(&self) -> f32 {
        match self.phase {
            Phase::Frozen => 1.0,
            _ => (self.heard_samples as f32 / self.limit_samples.max(1) as f32).min(1.0),
        }
    }

    pub fn is_learning(&self) -> bool {
        self.phase == Phase::Learning
    }

    /// Feeds one block of sidechain (`channels[channel][sample]`, at most the prepared block
    /// length; extra channels are ignored) while `learning` is on. Returns the profile on the
    /// block it freezes; `None` otherwise (also when switched off before enough was heard, or
    /// when the sidechain held no voice).
    pub fn process(&mut self, channels: &[&[f32]], learning: bool) -> Option<StyleProfile> {
        match (self.phase, learning) {
            (Phase::Idle, true) => self.start(),
            (Phase::Learning, false) => {
                return if self.heard_samples >= self.minimum_samples {
                    self.freeze()
                } else {
                    self.phase = Phase::Idle;
                    None
                };
            }
            (Phase::Frozen, false) => self.phase = Phase::Idle,
            _ => {}
        }
        if self.phase != Phase::Learning {
            return None;
        }
        let used = &channels[..channels.len().min(MAX_CHANNELS)];
        let n = used
            .iter()
            .map(|c| c.len())
            .min()
            .unwrap_or(0)
            .min(self.mono.len());
        if n == 0 {
            return None;
        }
        let scale = 1.0 / used.len() as f32;
        for (i, m) in self.mono[..n].iter_mut().enumerate() {
            let sum: f32 = used.iter().map(|c| c[i]).sum::<f32>() * scale;
            *m = if sum.is_finite() {
                sum.clamp(-4.0, 4.0)
            } else {
                0.0
            };
        }
        let (decomposer, analyzer) = (&mut self.decomposer, &mut self.analyzer);
        self.tracker.process(&self.mono[..n], |frame| {
            if let Some(decomposed) = decomposer.push(frame) {
                analyzer.push(&decomposed);
            }
        });
        self.heard_samples += n as u64;
        if self.heard_samples >= self.limit_samples {
            self.freeze()
        } else {
            None
        }
    }

    fn start(&mut self) {
        self.tracker.reset();
        self.decomposer.reset();
        self.analyzer.reset();
        self.heard_samples = 0;
        self.phase = Phase::Learning;
    }

    fn freeze(&mut self) -> Option<StyleProfile> {
        self.phase = Phase::Frozen;
        self.analyzer.profile()
    }
}
