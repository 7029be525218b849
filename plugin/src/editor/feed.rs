//! What the audio thread shows the editor, without either ever waiting for the other.
//!
//! Scalars (levels, latency, worker counters, learning progress) are atomics the audio thread
//! stores once per block. Analysed frames go through a fixed-capacity SPSC ring: the audio thread
//! pushes, and drops a frame when the ring is full (the editor is closed, or slow); the editor
//! drains it on each repaint. The editor's side of the ring sits behind a mutex that only editor
//! threads take: the audio thread never touches it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use affetto_dsp::Engine;
use affetto_dsp::frame_view::FrameView;
use affetto_dsp::pitch::HOP_S;
use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// How much pitch the view keeps: its scrolling window.
pub const HISTORY_S: f64 = 4.0;
/// Frames the ring holds while the editor is not draining it: a little over the history.
const RING_FRAMES: usize = 1024;

/// The analysis mode the engine runs in, as the editor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveMode {
    /// Not activated by the host yet.
    Inactive,
    Live,
    Studio,
}

/// The neural pitch worker as the editor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerStatus {
    /// A worker is attached (Studio mode with a model that loaded).
    pub running: bool,
    /// It panicked or its model failed: the DSP tracker works alone until the next activation.
    pub failed: bool,
    pub sent: u64,
    pub on_time: u64,
    pub late: u64,
    pub dropped: u64,
}

/// Everything the editor reads, shared by the audio thread's [`DisplayWriter`] and the editor.
pub struct DisplayFeed {
    /// Peak magnitudes since the editor last read them, as `f32` bits (non-negative floats order
    /// like their bits, so `fetch_max` keeps the larger).
    input_peak: AtomicU32,
    output_peak: AtomicU32,
    latency_samples: AtomicU32,
    sample_rate_hz: AtomicU32,
    /// 0 inactive, 1 Live, 2 Studio.
    mode: AtomicU32,
    worker_running: AtomicBool,
    worker_failed: AtomicBool,
    worker_sent: AtomicU64,
    worker_on_time: AtomicU64,
    worker_late: AtomicU64,
    worker_dropped: AtomicU64,
    /// Reference learning: progress 0…1 as `f32` bits, and whether it is under way.
    learning_progress: AtomicU32,
    learning: AtomicBool,
    /// Blocks processed since the plugin was created: the editor (and tests) see audio flowing.
    blocks: AtomicU64,
    /// The newest frame the audio thread has analysed, so the editor can tell stale frames (left
    /// in the ring while it was closed) from current ones.
    newest_frame: AtomicU64,
    /// The editor's side of the frame ring and what it keeps of it. Editor threads only.
    history: Mutex<PitchHistory>,
}

/// The audio thread's side: pushes frames and stores the scalars.
pub struct DisplayWriter {
    feed: Arc<DisplayFeed>,
    frames: HeapProd<FrameView>,
}

/// Creates the shared feed and the audio thread's writer for it. Allocates.
pub fn display_feed() -> (Arc<DisplayFeed>, DisplayWriter) {
    let (frames, consumer) = HeapRb::new(RING_FRAMES).split();
    let feed = Arc::new(DisplayFeed {
        input_peak: AtomicU32::new(0),
        output_peak: AtomicU32::new(0),
        latency_samples: AtomicU32::new(0),
        sample_rate_hz: AtomicU32::new(0),
        mode: AtomicU32::new(0),
        worker_running: AtomicBool::new(false),
        worker_failed: AtomicBool::new(false),
        worker_sent: AtomicU64::new(0),
        worker_on_time: AtomicU64::new(0),
        worker_late: AtomicU64::new(0),
        worker_dropped: AtomicU64::new(0),
        learning_progress: AtomicU32::new(0),
        learning: AtomicBool::new(false),
        blocks: AtomicU64::new(0),
        newest_frame: AtomicU64::new(0),
        history: Mutex::new(PitchHistory::new(consumer)),
    });
    let writer = DisplayWriter {
        feed: feed.clone(),
        frames,
    };
    (feed, writer)
}

/// Peak magnitude of a block's channels (non-finite samples count as silence: the engine
/// silences them too).
pub fn peak_of(channels: &[&mut [f32]]) -> f32 {
    channels
        .iter()
        .flat_map(|channel| channel.iter())
        .map(|x| if x.is_finite() { x.abs() } else { 0.0 })
        .fold(0.0, f32::max)
}

impl DisplayWriter {
    /// After activation: the mode, rate and latency the engine now runs with.
    pub fn activated(&self, live: bool, sample_rate_hz: f32, latency_samples: u32) {
        let feed = &self.feed;
        feed.mode.store(if live { 1 } else { 2 }, Ordering::Relaxed);
        feed.sample_rate_hz
            .store(sample_rate_hz.to_bits(), Ordering::Relaxed);
        feed.latency_samples
            .store(latency_samples, Ordering::Relaxed);
        feed.worker_running.store(false, Ordering::Relaxed);
        feed.worker_failed.store(false, Ordering::Relaxed);
    }

    /// After each block: the engine's new frames and state, and the block's peaks. Real-time
    /// safe: atomics and a ring push that gives up when the ring is full.
    pub fn block_done(&mut self, engine: &mut Engine, input_peak: f32, output_peak: f32) {
        let feed = &self.feed;
        feed.input_peak
            .fetch_max(input_peak.to_bits(), Ordering::Relaxed);
        feed.output_peak
            .fetch_max(output_peak.to_bits(), Ordering::Relaxed);
        let frames = &mut self.frames;
        engine.drain_frame_views(|view| {
            feed.newest_frame.store(view.index, Ordering::Relaxed);
            let _ = frames.try_push(view);
        });
        if let Some(counts) = engine.neural_counts() {
            feed.worker_running.store(true, Ordering::Relaxed);
            feed.worker_failed.store(counts.failed, Ordering::Relaxed);
            feed.worker_sent.store(counts.sent, Ordering::Relaxed);
            feed.worker_on_time.store(counts.on_time, Ordering::Relaxed);
            feed.worker_late.store(counts.late, Ordering::Relaxed);
            feed.worker_dropped.store(counts.dropped, Ordering::Relaxed);
        }
        let (progress, learning) = engine.reference_learning();
        feed.learning_progress
            .store(progress.to_bits(), Ordering::Relaxed);
        feed.learning.store(learning, Ordering::Relaxed);
        feed.blocks.fetch_add(1, Ordering::Release);
    }
}

impl DisplayFeed {
    /// Peak input and output levels since the last call, linear.
    pub fn take_peaks(&self) -> (f32, f32) {
        (
            f32::from_bits(self.input_peak.swap(0, Ordering::Relaxed)),
            f32::from_bits(self.output_peak.swap(0, Ordering::Relaxed)),
        )
    }

    pub fn mode(&self) -> ActiveMode {
        match self.mode.load(Ordering::Relaxed) {
            1 => ActiveMode::Live,
            2 => ActiveMode::Studio,
            _ => ActiveMode::Inactive,
        }
    }

    /// The latency reported to the host, in milliseconds (`None` before activation).
    pub fn latency_ms(&self) -> Option<f32> {
        let rate = f32::from_bits(self.sample_rate_hz.load(Ordering::Relaxed));
        (rate > 0.0).then(|| 1000.0 * self.latency_samples.load(Ordering::Relaxed) as f32 / rate)
    }

    pub fn worker(&self) -> WorkerStatus {
        WorkerStatus {
            running: self.worker_running.load(Ordering::Relaxed),
            failed: self.worker_failed.load(Ordering::Relaxed),
            sent: self.worker_sent.load(Ordering::Relaxed),
            on_time: self.worker_on_time.load(Ordering::Relaxed),
            late: self.worker_late.load(Ordering::Relaxed),
            dropped: self.worker_dropped.load(Ordering::Relaxed),
        }
    }

    /// `(progress 0…1, under way)` of reference learning from the sidechain.
    pub fn learning(&self) -> (f32, bool) {
        (
            f32::from_bits(self.learning_progress.load(Ordering::Relaxed)),
            self.learning.load(Ordering::Relaxed),
        )
    }

    pub fn blocks_processed(&self) -> u64 {
        self.blocks.load(Ordering::Acquire)
    }

    /// Brings the pitch history up to date with the ring and lends it to `f`. Editor threads
    /// only (the audio thread never takes this lock).
    pub fn with_history<R>(&self, f: impl FnOnce(&PitchHistory) -> R) -> R {
        let mut history = self
            .history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        history.update(self.newest_frame.load(Ordering::Relaxed));
        f(&history)
    }
}

/// The last [`HISTORY_S`] of analysed frames, oldest first, as the pitch view draws them.
pub struct PitchHistory {
    frames: HeapCons<FrameView>,
    kept: VecDeque<FrameView>,
}

impl PitchHistory {
    fn new(frames: HeapCons<FrameView>) -> Self {
        Self {
            frames,
            kept: VecDeque::with_capacity(RING_FRAMES),
        }
    }

    fn capacity_frames() -> u64 {
        (HISTORY_S / HOP_S).round() as u64
    }

    /// Takes in what the ring holds. Frames older than the history window behind `newest` are
    /// stale (queued while the editor was closed) and skipped; a frame number going backwards
    /// means the engine was reset, and the history starts again.
    fn update(&mut self, newest: u64) {
        let oldest_wanted = newest.saturating_sub(Self::capacity_frames());
        while let Some(view) = self.frames.try_pop() {
            if self
                .kept
                .back()
                .is_some_and(|last| view.index <= last.index)
            {
                self.kept.clear();
            }
            if view.index >= oldest_wanted {
                self.kept.push_back(view);
            }
        }
        let newest_kept = self.kept.back().map_or(0, |last| last.index);
        let oldest_kept = newest_kept.saturating_sub(Self::capacity_frames());
        while self
            .kept
            .front()
            .is_some_and(|first| first.index < oldest_kept)
        {
            self.kept.pop_front();
        }
    }

    /// The kept frames, oldest first.
    pub fn frames(&self) -> impl DoubleEndedIterator<Item = &FrameView> + ExactSizeIterator {
        self.kept.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(index: u64, cents: f32) -> FrameView {
        super::super::held_frame(index, cents, cents)
    }

    #[test]
    fn history_keeps_the_last_window_and_restarts_after_a_reset() {
        let (feed, mut writer) = display_feed();
        let window = PitchHistory::capacity_frames();
        for index in 0..window + 100 {
            writer.frames.try_push(view(index, 5700.0)).unwrap();
            feed.newest_frame.store(index, Ordering::Relaxed);
            if index % 300 == 0 {
                feed.with_history(|_| {});
            }
        }
        feed.with_history(|history| {
            assert_eq!(history.frames().len() as u64, window + 1);
            assert_eq!(history.frames().last().unwrap().index, window + 99);
        });
        // The engine was reset: frame numbers start again.
        writer.frames.try_push(view(0, 6000.0)).unwrap();
        feed.newest_frame.store(0, Ordering::Relaxed);
        feed.with_history(|history| {
            let frames: Vec<_> = history.frames().collect();
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].input_cents, 6000.0);
        });
    }

    #[test]
    fn frames_left_while_the_editor_was_closed_are_not_shown() {
        let (feed, mut writer) = display_feed();
        // The ring fills while nobody drains it; then the audio runs on far past it.
        let mut pushed = 0;
        while writer.frames.try_push(view(pushed, 5700.0)).is_ok() {
            pushed += 1;
        }
        assert_eq!(
            pushed as usize, RING_FRAMES,
            "a full ring refuses, never grows"
        );
        feed.newest_frame.store(
            pushed + 10 * PitchHistory::capacity_frames(),
            Ordering::Relaxed,
        );
        feed.with_history(|history| assert_eq!(history.frames().len(), 0));
    }

    #[test]
    fn peaks_keep_the_largest_until_read() {
        let (feed, writer) = display_feed();
        for peak in [0.25f32, 0.5, 0.125] {
            writer
                .feed
                .input_peak
                .fetch_max(peak.to_bits(), Ordering::Relaxed);
        }
        assert_eq!(feed.take_peaks(), (0.5, 0.0));
        assert_eq!(feed.take_peaks(), (0.0, 0.0));
    }
}
