//! YIN's difference function of every analysis frame, each lag worked out as soon as the samples
//! it reads have arrived, rather than all lags in the block that completes the frame.
//!
//! Computed whole, a frame's difference function is `window × lags` products (≈ 72 000 at the
//! 16 kHz analysis rate) landing in one host block every 5 ms: that block took several times as
//! long as its neighbours, and a host's real-time thread must budget for the slowest block. With
//! the integration window centred (see [`DifferenceKernel`]), lag `τ` reads up to
//! `(L + τ) / 2 + window` samples into the frame, so the lags become computable one after another
//! over the frame's last `L / 2` samples (≈ 1.7 hops). Computing them then spreads the same work,
//! to the same values, evenly over the stream. The tracker catches up at the end of every host
//! block and whenever a frame is due, so a block does the lags its own samples made ready.

use super::kernels::{DifferenceKernel, samples_needed};

/// Where the tracker's frames lie in the decimated stream.
#[derive(Debug, Clone, Copy)]
pub struct FrameSchedule {
    /// Analysis-rate samples per hop (not always whole: frames are placed at the nearest sample).
    pub hop_samples: f64,
    /// Samples of a frame after its centre sample.
    pub after_centre: usize,
    pub frame_len: usize,
}

impl FrameSchedule {
    /// The sample a frame describes.
    fn centre(&self, frame: u64) -> u64 {
        (frame as f64 * self.hop_samples).round() as u64
    }

    /// The frame's last sample: the frame can be analysed once it has arrived.
    pub fn last_sample(&self, frame: u64) -> u64 {
        self.centre(frame) + self.after_centre as u64
    }

    /// The frame's first sample; negative for the first frames, which start in the silence
    /// before the stream.
    fn first_sample(&self, frame: u64) -> i64 {
        self.last_sample(frame) as i64 + 1 - self.frame_len as i64
    }
}

/// A frame whose lags `0..done` are computed.
#[derive(Debug, Clone)]
struct FrameInProgress {
    frame: u64,
    first_sample: i64,
    done: usize,
    difference: Vec<f32>,
}

/// The streamed difference function (see the module doc). `new` allocates; `catch_up` and
/// `reset` do not.
pub struct DifferenceStream {
    schedule: FrameSchedule,
    /// Integration window of `d(τ)`, samples.
    window: usize,
    /// Lags 0..lags.
    lags: usize,
    /// Frame `f` in slot `f % len`.
    frames: Vec<FrameInProgress>,
    /// Oldest frame with lags still to compute.
    unfinished: u64,
    kernel: DifferenceKernel,
}

impl DifferenceStream {
    /// `window` and `lags` as the YIN estimator's; frames where `schedule` puts them.
    pub fn new(
        schedule: FrameSchedule,
        window: usize,
        lags: usize,
        kernel: DifferenceKernel,
    ) -> Self {
        assert!(lags >= 1 && window >= 1 && window + lags - 1 <= schedule.frame_len);
        // A frame's lags are computed over `(lags − 1) / 2 + 1` samples; frames start at least
        // every `floor(hop)` samples; one more slot keeps the completed frame readable.
        let computing_samples = (lags - 1) / 2 + 1;
        let shortest_hop = schedule.hop_samples.floor().max(1.0) as usize;
        let slots = computing_samples.div_ceil(shortest_hop) + 2;
        let frame = FrameInProgress {
            frame: u64::MAX,
            first_sample: 0,
            done: 0,
            difference: vec![0.0; lags],
        };
        Self {
            schedule,
            window,
            lags,
            frames: vec![frame; slots],
            unfinished: 0,
            kernel,
        }
    }

    pub fn reset(&mut self) {
        self.frames.iter_mut().for_each(|f| f.frame = u64::MAX);
        self.unfinished = 0;
    }

    fn slot(&self, frame: u64) -> usize {
        (frame % self.frames.len() as u64) as usize
    }

    /// How many lags (from lag 0) the first `available` samples of a frame allow:
    /// [`samples_needed`] inverted.
    fn lags_ready(&self, available: i64) -> usize {
        let last_lag = (self.lags - 1) as i64;
        (2 * (available - self.window as i64) + 2 - last_lag).clamp(0, self.lags as i64) as usize
    }

    /// Computes every lag that the first `received` samples of the stream make ready. `recent`
    /// holds the latest of them, older ones first, at least a frame's length (zeros before the
    /// stream began), and must not have skipped any sample an unfinished frame reads.
    pub fn catch_up(&mut self, received: u64, recent: &[f32]) {
        let newest = received as i64 - 1;
        let oldest_in_recent = newest + 1 - recent.len() as i64;
        let mut frame = self.unfinished;
        loop {
            let first_sample = self.schedule.first_sample(frame);
            let ready = self.lags_ready(newest + 1 - first_sample);
            if ready == 0 {
                return;
            }
            let slot = self.slot(frame);
            if self.frames[slot].frame != frame {
                debug_assert!(frame - self.unfinished < self.frames.len() as u64 - 1);
                let opening = &mut self.frames[slot];
                opening.frame = frame;
                opening.first_sample = first_sample;
                opening.done = 0;
            }
            let in_progress = &mut self.frames[slot];
            if ready > in_progress.done {
                let start = (first_sample - oldest_in_recent) as usize;
                let samples = samples_needed(self.window, self.lags, ready);
                (self.kernel)(
                    &recent[start..start + samples],
                    self.window,
                    in_progress.done..ready,
                    &mut in_progress.difference,
                );
                in_progress.done = ready;
            }
            if ready == self.lags && frame == self.unfinished {
                self.unfinished += 1;
            }
            frame += 1;
        }
    }

    /// `d(τ)` for τ in `0..lags` of `frame`, once caught up past its last sample (until a few
    /// frames later, when its slot is reused).
    pub fn completed(&self, frame: u64) -> Option<&[f32]> {
        let slot = &self.frames[self.slot(frame)];
        (slot.frame == frame && slot.done == self.lags).then_some(&slot.difference[..])
    }
}

#[cfg(test)]
mod tests {
    use super::super::kernels::best_difference_kernel;
    use super::*;

    fn voice_like(len: usize, rate_hz: f32) -> Vec<f32> {
        let mut state = 7u32;
        (0..len)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let t = i as f32 / rate_hz;
                let level = if (t * 3.0).fract() < 0.7 { 0.8 } else { 0.001 };
                level * ((std::f32::consts::TAU * 180.0 * t).sin() + 0.05 * noise)
            })
            .collect()
    }

    /// Streams `signal` the tracker's way and checks every frame against its whole-frame
    /// difference function.
    fn streamed_equals_whole(
        stream: &mut DifferenceStream,
        schedule: FrameSchedule,
        signal: &[f32],
    ) {
        let (window, lags, frame_len) = (stream.window, stream.lags, schedule.frame_len);
        let kernel = best_difference_kernel();
        let padded: Vec<f32> = std::iter::repeat_n(0.0, frame_len + 1)
            .chain(signal.iter().copied())
            .collect();
        let mut next = 0u64;
        for p in 0..signal.len() {
            let newest = frame_len + 1 + p;
            // Catching up at every sample is the finest the tracker does; every 7th, coarser.
            if p % 7 == 0 || schedule.last_sample(next) == p as u64 {
                stream.catch_up(p as u64 + 1, &padded[newest - frame_len..=newest]);
            }
            while schedule.last_sample(next) <= p as u64 {
                let start = (schedule.first_sample(next) + frame_len as i64 + 1) as usize;
                let mut whole = vec![0.0; lags];
                kernel(
                    &padded[start..start + frame_len],
                    window,
                    0..lags,
                    &mut whole,
                );
                assert_eq!(stream.completed(next), Some(&whole[..]), "frame {next}");
                next += 1;
            }
        }
        assert!(next > 100, "only {next} frames checked");
    }

    #[test]
    fn every_frame_equals_its_whole_frame_difference_function() {
        // 16 kHz (48 kHz hosts): a whole hop; 14.7 kHz (44.1 kHz hosts): a hop of 73.5 samples.
        for (rate_hz, window, lags) in [(16_000.0f32, 269, 270), (14_700.0, 247, 248)] {
            let frame_len = window + lags - 1;
            let schedule = FrameSchedule {
                hop_samples: 0.005 * rate_hz as f64,
                after_centre: frame_len / 2,
                frame_len,
            };
            let signal = voice_like(rate_hz as usize, rate_hz);
            let mut stream =
                DifferenceStream::new(schedule, window, lags, best_difference_kernel());
            streamed_equals_whole(&mut stream, schedule, &signal);
            stream.reset();
            streamed_equals_whole(&mut stream, schedule, &signal);
        }
    }
}
