//! The two ends of the audio-thread ↔ worker connection: fixed-capacity SPSC rings (ringbuf)
//! and shared atomic counters, so neither side ever waits for the other.
//!
//! The audio thread's [`NeuralLink`] sends each analysis window and, when the tracker is about
//! to decode that frame, looks for the answer; the worker's [`NeuralService`] answers what is
//! queued. A full request ring drops the newest window (counted as dropped); an answer that is
//! not back in time is counted late and ignored. A generation number, bumped on every reset,
//! keeps answers about frames from before a reset from landing on the new frames of the same
//! number.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::super::voicing::VoicingFeatures;
use super::features::{FeatureExtractor, FrameFeatures};
use super::model::PitchNet;
use super::{MAX_WINDOW_SAMPLES, NeuralEstimate};

/// Windows in flight at most: 160 ms of frames, far more than the 20 ms the tracker waits.
pub const RING_FRAMES: usize = 32;
/// Most frames the worker runs through the network at once.
const MAX_BATCH: usize = 8;
/// A worker thread serves once this many windows are queued, or once the oldest has waited
/// [`DUE_WAIT`]: the network's cost is mostly per call, so answering frames in threes costs
/// far less than one by one. Frames come every 5 ms, so the third comes 10 ms after the first,
/// give or take a host block; at 10 ms the wait ran out first and most batches were of two.
/// 12 ms, plus a [`WORKER_POLL`] to notice the first and a batch's compute (≈ 0.4 ms), still
/// answers within 15 ms of the 20 ms the tracker waits.
pub const DUE_BATCH: usize = 3;
pub const DUE_WAIT: Duration = Duration::from_millis(12);
/// How often a worker thread looks at the ring when there is nothing to do: each look is a
/// wake-up (the audio thread makes no system call to signal one), so not more than needed.
pub const WORKER_POLL: Duration = Duration::from_millis(2);

/// One analysis window, as the tracker cut it.
#[derive(Clone)]
pub struct WindowRequest {
    generation: u32,
    pub index: u64,
    pub sample_rate_hz: f32,
    pub len: usize,
    pub samples: [f32; MAX_WINDOW_SAMPLES],
    pub voicing: VoicingFeatures,
}

impl WindowRequest {
    pub fn window(&self) -> &[f32] {
        &self.samples[..self.len]
    }
}

struct NeuralReply {
    generation: u32,
    index: u64,
    estimate: NeuralEstimate,
}

/// What both sides count; read by the editor and the CLI.
#[derive(Debug, Default)]
pub struct NeuralCounters {
    /// Windows queued for the worker.
    pub sent: AtomicU64,
    /// Answers used because they were back before their frame was decoded.
    pub on_time: AtomicU64,
    /// Queued windows whose answer was not back in time (or never came).
    pub late: AtomicU64,
    /// Windows not queued because the ring was full.
    pub dropped: AtomicU64,
    /// Frames the worker ran through the network, and the wall time it spent doing so.
    pub served: AtomicU64,
    pub busy_ns: AtomicU64,
    /// Set when the worker's model failed or its thread panicked: the DSP path carries on alone.
    pub failed: AtomicBool,
}

/// A plain copy of [`NeuralCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NeuralCounts {
    pub sent: u64,
    pub on_time: u64,
    pub late: u64,
    pub dropped: u64,
    pub served: u64,
    pub busy_ns: u64,
    pub failed: bool,
}

impl NeuralCounters {
    pub fn snapshot(&self) -> NeuralCounts {
        NeuralCounts {
            sent: self.sent.load(Ordering::Relaxed),
            on_time: self.on_time.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            served: self.served.load(Ordering::Relaxed),
            busy_ns: self.busy_ns.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// A connected pair: give the link to the engine and the service to a worker thread.
pub fn neural_channel(model: PitchNet) -> (NeuralLink, NeuralService) {
    let (requests, request_queue) = HeapRb::new(RING_FRAMES).split();
    let (reply_queue, replies) = HeapRb::new(RING_FRAMES).split();
    let counters = Arc::new(NeuralCounters::default());
    (
        NeuralLink {
            requests,
            replies,
            counters: counters.clone(),
            generation: 0,
            answers: vec![None; 2 * RING_FRAMES],
            sent: vec![None; 2 * RING_FRAMES],
        },
        NeuralService {
            requests: request_queue,
            replies: reply_queue,
            counters,
            extractor: FeatureExtractor::new(),
            model,
            batch: Vec::with_capacity(MAX_BATCH),
            features: vec![FrameFeatures::default(); MAX_BATCH],
            waiting_since: None,
        },
    )
}

/// The audio thread's end. Allocation-free after construction.
pub struct NeuralLink {
    requests: HeapProd<WindowRequest>,
    replies: HeapCons<NeuralReply>,
    counters: Arc<NeuralCounters>,
    generation: u32,
    /// Answers received, by frame number modulo the table length.
    answers: Vec<Option<(u64, NeuralEstimate)>>,
    /// Frames sent and not yet taken, by frame number modulo the table length.
    sent: Vec<Option<u64>>,
}

impl NeuralLink {
    pub fn counters(&self) -> &Arc<NeuralCounters> {
        &self.counters
    }

    /// Queues frame `index`'s window for the worker; drops it (counted) if the ring is full.
    pub fn send(
        &mut self,
        index: u64,
        sample_rate_hz: f32,
        window: &[f32],
        voicing: VoicingFeatures,
    ) {
        let len = window.len().min(MAX_WINDOW_SAMPLES);
        let mut request = WindowRequest {
            generation: self.generation,
            index,
            sample_rate_hz,
            len,
            samples: [0.0; MAX_WINDOW_SAMPLES],
            voicing,
        };
        request.samples[..len].copy_from_slice(&window[..len]);
        let slot = self.slot(index);
        if self.requests.try_push(request).is_ok() {
            self.counters.sent.fetch_add(1, Ordering::Relaxed);
            self.sent[slot] = Some(index);
        } else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            self.sent[slot] = None;
        }
    }

    /// The answer for frame `index` if it is back; counts it on time, or late if it was sent and
    /// is not back. Either way the frame is forgotten: a later answer is ignored.
    pub fn take(&mut self, index: u64) -> Option<NeuralEstimate> {
        while let Some(reply) = self.replies.try_pop() {
            if reply.generation == self.generation {
                let slot = self.slot(reply.index);
                self.answers[slot] = Some((reply.index, reply.estimate));
            }
        }
        let slot = self.slot(index);
        let answer = match self.answers[slot].take() {
            Some((answered, estimate)) if answered == index => Some(estimate),
            _ => None,
        };
        if self.sent[slot].take() == Some(index) {
            let counter = match answer {
                Some(_) => &self.counters.on_time,
                None => &self.counters.late,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    /// Forgets everything in flight: frame numbers restart after a reset.
    pub fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.answers.iter_mut().for_each(|a| *a = None);
        self.sent.iter_mut().for_each(|s| *s = None);
    }

    fn slot(&self, index: u64) -> usize {
        (index % self.answers.len() as u64) as usize
    }
}

/// The worker's end: owns the model and the feature scratch. Allocates (candle does).
pub struct NeuralService {
    requests: HeapCons<WindowRequest>,
    replies: HeapProd<NeuralReply>,
    counters: Arc<NeuralCounters>,
    extractor: FeatureExtractor,
    model: PitchNet,
    batch: Vec<(u32, u64)>,
    features: Vec<FrameFeatures>,
    /// When the worker first saw the queue non-empty since it last served.
    waiting_since: Option<Instant>,
}

impl NeuralService {
    pub fn counters(&self) -> &Arc<NeuralCounters> {
        &self.counters
    }

    /// For a worker thread: serves what is queued once [`DUE_BATCH`] windows are waiting or the
    /// oldest has waited [`DUE_WAIT`] (as far as this polling can tell); otherwise returns 0.
    pub fn serve_due(&mut self) -> candle_core::Result<usize> {
        let pending = self.pending();
        if pending == 0 {
            self.waiting_since = None;
            return Ok(0);
        }
        let since = *self.waiting_since.get_or_insert_with(Instant::now);
        if pending < DUE_BATCH && since.elapsed() < DUE_WAIT {
            return Ok(0);
        }
        self.waiting_since = None;
        self.serve_pending()
    }

    /// Windows queued and not yet answered.
    pub fn pending(&self) -> usize {
        self.requests.occupied_len()
    }

    /// Answers the windows queued now, up to a batch at a time; returns how many. On a model
    /// error the service marks itself failed, answers nothing more and returns the error once.
    pub fn serve_pending(&mut self) -> candle_core::Result<usize> {
        if self.counters.failed.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let started = Instant::now();
        let mut served = 0;
        loop {
            self.batch.clear();
            while self.batch.len() < MAX_BATCH {
                let Some(request) = self.requests.try_pop() else {
                    break;
                };
                let n = self.batch.len();
                self.extractor.compute(
                    request.window(),
                    request.sample_rate_hz,
                    &request.voicing,
                    &mut self.features[n],
                );
                self.batch.push((request.generation, request.index));
            }
            if self.batch.is_empty() {
                break;
            }
            match self.model.estimate(&self.features[..self.batch.len()]) {
                Ok(estimates) => {
                    for (&(generation, index), estimate) in self.batch.iter().zip(estimates) {
                        // A full reply ring means the audio thread is not reading: the frame
                        // will count as late there.
                        let _ = self.replies.try_push(NeuralReply {
                            generation,
                            index,
                            estimate,
                        });
                    }
                    served += self.batch.len();
                }
                Err(error) => {
                    self.counters.failed.store(true, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        if served > 0 {
            self.counters
                .served
                .fetch_add(served as u64, Ordering::Relaxed);
            let busy_ns = started.elapsed().as_nanos() as u64;
            self.counters.busy_ns.fetch_add(busy_ns, Ordering::Relaxed);
        }
        Ok(served)
    }
}
