//! What a display needs of each analysed frame, kept by the engine for its host to collect.
//!
//! The engine knows nothing of editors or threads: it keeps the newest frames in a fixed queue
//! that the caller drains after each block, on the same thread, and sends on however it likes
//! (the plugin pushes them into a lock-free ring for its editor).

use crate::vibrato::ContourFrame;

/// One analysed frame, as a pitch display draws it. Pitches are cents above MIDI note 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameView {
    /// Frame number since the last reset (one per `HOP_S`).
    pub index: u64,
    pub voiced: bool,
    /// The analysed pitch (meaningful when `voiced`).
    pub input_cents: f32,
    /// The slow part of the contour, the centre of the vibrato band.
    pub intonation_cents: f32,
    /// The vibrato's amplitude (half its peak-to-peak swing) and rate, and how likely it is that
    /// the contour is vibrato here at all.
    pub vibrato_extent_cents: f32,
    pub vibrato_rate_hz: f32,
    pub vibrato_presence: f32,
    /// Where the output's pitch is taken: the input moved by the emotion and the pitch shift.
    pub target_cents: f32,
    pub energy_db: f32,
}

impl FrameView {
    /// The view of `frame` rendered `shift_st` semitones away from its input.
    pub fn of(frame: &ContourFrame, shift_st: f32) -> Self {
        Self {
            index: frame.pitch.index,
            voiced: frame.pitch.voiced(),
            input_cents: frame.pitch_cents,
            intonation_cents: frame.intonation_cents,
            vibrato_extent_cents: frame.vibrato.extent_cents,
            vibrato_rate_hz: frame.vibrato.rate_hz,
            vibrato_presence: frame.vibrato.presence_probability,
            target_cents: frame.pitch_cents + 100.0 * shift_st,
            energy_db: frame.pitch.energy_db,
        }
    }
}

/// The newest frame views, oldest first; when full, the oldest give way. Allocates only in
/// `new`.
pub struct FrameViewQueue {
    slots: Vec<Option<FrameView>>,
    /// Slot of the oldest view.
    head: usize,
    len: usize,
}

impl FrameViewQueue {
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: vec![None; capacity.max(1)],
            head: 0,
            len: 0,
        }
    }

    pub fn push(&mut self, view: FrameView) {
        let capacity = self.slots.len();
        let tail = (self.head + self.len) % capacity;
        self.slots[tail] = Some(view);
        if self.len == capacity {
            self.head = (self.head + 1) % capacity;
        } else {
            self.len += 1;
        }
    }

    /// Hands every queued view to `sink`, oldest first, and empties the queue.
    pub fn drain(&mut self, mut sink: impl FnMut(FrameView)) {
        let capacity = self.slots.len();
        for offset in 0..self.len {
            if let Some(view) = self.slots[(self.head + offset) % capacity].take() {
                sink(view);
            }
        }
        self.head = 0;
        self.len = 0;
    }

    pub fn clear(&mut self) {
        self.drain(|_| {});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(index: u64) -> FrameView {
        FrameView {
            index,
            voiced: true,
            input_cents: 5700.0,
            intonation_cents: 5700.0,
            vibrato_extent_cents: 0.0,
            vibrato_rate_hz: 0.0,
            vibrato_presence: 0.0,
            target_cents: 5700.0,
            energy_db: -20.0,
        }
    }

    #[test]
    fn drains_in_order_and_keeps_the_newest_when_full() {
        let mut queue = FrameViewQueue::new(3);
        for index in 0..5 {
            queue.push(view(index));
        }
        let mut seen = Vec::new();
        queue.drain(|v| seen.push(v.index));
        assert_eq!(seen, [2, 3, 4]);
        queue.drain(|v| seen.push(v.index));
        assert_eq!(seen.len(), 3, "a drained queue is empty");
        queue.push(view(9));
        queue.drain(|v| seen.push(v.index));
        assert_eq!(seen, [2, 3, 4, 9]);
    }
}
