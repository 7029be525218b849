//! The neural worker's connection to the tracker: answers in time are fused and counted, late
//! or missing ones leave the DSP track exactly as it would be alone, and a reset never lets an
//! old answer land on a new frame.

use affetto_dsp::pitch::neural::{NeuralService, PitchNet, neural_channel};
use affetto_dsp::pitch::{AnalysisMode, PitchFrame, PitchTracker};
use affetto_dsp::synth::{self, Degradation, NoiseKind};

const SAMPLE_RATE_HZ: u32 = 48_000;
/// One analysis hop of host samples.
const HOP: usize = 240;

fn sung_phrase(seconds: usize) -> Vec<f32> {
    let mut voice = synth::render(&synth::demo_phrase(), SAMPLE_RATE_HZ, 7);
    voice.samples.truncate(seconds * SAMPLE_RATE_HZ as usize);
    voice.samples
}

fn noisy_room_phrase() -> Vec<f32> {
    let mut voice = synth::render(&synth::demo_phrase(), SAMPLE_RATE_HZ, 11);
    let degradation = Degradation {
        noise: Some((NoiseKind::Pink, 10.0)),
        reverb_rt60_s: Some(0.5),
        ..Default::default()
    };
    synth::degrade(&mut voice, &degradation, 11);
    voice.samples.truncate(4 * SAMPLE_RATE_HZ as usize);
    voice.samples
}

fn studio_tracker() -> PitchTracker {
    PitchTracker::new(SAMPLE_RATE_HZ as f32, AnalysisMode::Studio)
}

fn with_worker() -> (PitchTracker, NeuralService) {
    let mut tracker = studio_tracker();
    let (link, service) = neural_channel(PitchNet::embedded().expect("committed weights"));
    tracker.attach_neural(link);
    (tracker, service)
}

/// Runs `samples` a hop at a time; after hop `h`, the worker answers if `serve_after(h)`.
fn track(
    tracker: &mut PitchTracker,
    service: Option<&mut NeuralService>,
    samples: &[f32],
    serve_after: impl Fn(usize) -> bool,
) -> Vec<PitchFrame> {
    let mut frames = Vec::new();
    let mut service = service;
    for (hop, piece) in samples.chunks(HOP).enumerate() {
        tracker.process(piece, |f| frames.push(*f));
        if serve_after(hop)
            && let Some(service) = service.as_deref_mut()
        {
            service.serve_pending().expect("model runs");
        }
    }
    frames
}

#[test]
fn a_starved_worker_leaves_the_dsp_track_exactly_as_it_is_alone() {
    let samples = noisy_room_phrase();
    let alone = track(&mut studio_tracker(), None, &samples, |_| false);
    let (mut tracker, mut service) = with_worker();
    let starved = track(&mut tracker, Some(&mut service), &samples, |_| false);
    assert_eq!(alone, starved);
    let counts = tracker.neural().unwrap().counters().snapshot();
    assert_eq!(counts.on_time, 0);
    assert!(counts.late > 0 && counts.dropped > 0, "{counts:?}");
    assert_eq!(
        counts.sent, 32,
        "the ring holds 32 windows; the rest are dropped: {counts:?}"
    );
}

#[test]
fn answers_back_in_time_are_all_used_and_change_the_noisy_track() {
    let samples = noisy_room_phrase();
    let alone = track(&mut studio_tracker(), None, &samples, |_| false);
    let (mut tracker, mut service) = with_worker();
    let fused = track(&mut tracker, Some(&mut service), &samples, |_| true);
    assert_eq!(
        alone.len(),
        fused.len(),
        "the worker never changes when frames come out"
    );
    let counts = tracker.neural().unwrap().counters().snapshot();
    assert_eq!((counts.late, counts.dropped), (0, 0), "{counts:?}");
    // Every frame that has entered the decoder was answered in time.
    assert!(counts.on_time as usize >= fused.len(), "{counts:?}");
    assert!(counts.served >= counts.on_time);
    assert!(
        alone.iter().zip(&fused).any(|(a, b)| a != b),
        "in noise and reverb the network should change some decision"
    );
    assert!(
        fused
            .iter()
            .all(|f| f.f0_hz.is_finite() && (0.0..=1.0).contains(&f.voicing_probability))
    );
}

#[test]
fn a_slow_worker_is_counted_late_and_never_delays_a_frame() {
    let samples = sung_phrase(2);
    let alone = track(&mut studio_tracker(), None, &samples, |_| false);
    let (mut tracker, mut service) = with_worker();
    // Answers every 40 ms: frames waiting 20 ms are sometimes answered, sometimes not.
    let slow = track(&mut tracker, Some(&mut service), &samples, |hop| {
        hop % 8 == 7
    });
    assert_eq!(
        alone.iter().map(|f| f.index).collect::<Vec<_>>(),
        slow.iter().map(|f| f.index).collect::<Vec<_>>()
    );
    let counts = tracker.neural().unwrap().counters().snapshot();
    assert!(counts.on_time > 0 && counts.late > 0, "{counts:?}");
    assert_eq!(counts.dropped, 0);
}

#[test]
fn answers_about_frames_before_a_reset_never_land_on_new_frames() {
    let samples = sung_phrase(1);
    let (mut tracker, mut service) = with_worker();
    let quarter = samples.len() / 4;
    // Windows are sent but not answered, then the tracker is reset, then the worker answers
    // them: the answers carry the old generation and must be ignored by the new frames.
    track(&mut tracker, None, &samples[..quarter], |_| false);
    tracker.reset();
    service.serve_pending().unwrap();
    let after = track(&mut tracker, None, &samples[..quarter], |_| false);
    assert!(!after.is_empty());
    let counts = tracker.neural().unwrap().counters().snapshot();
    assert_eq!(counts.on_time, 0, "{counts:?}");
    assert!(counts.served > 0);
}

#[test]
fn fusion_leaves_clean_singing_where_dsp_put_it() {
    let samples = sung_phrase(4);
    let alone = track(&mut studio_tracker(), None, &samples, |_| false);
    let (mut tracker, mut service) = with_worker();
    let fused = track(&mut tracker, Some(&mut service), &samples, |_| true);
    let both: Vec<(f32, f32)> = alone
        .iter()
        .zip(&fused)
        .filter(|(a, b)| a.voiced() && b.voiced())
        .map(|(a, b)| (a.f0_hz, b.f0_hz))
        .collect();
    let voiced_alone = alone.iter().filter(|f| f.voiced()).count();
    assert!(both.len() as f64 >= 0.99 * voiced_alone as f64);
    let moved = both
        .iter()
        .filter(|(a, b)| (1200.0 * (b / a).log2()).abs() > 5.0)
        .count();
    assert!(
        moved * 200 <= both.len(),
        "{moved} of {} frames moved",
        both.len()
    );
}
