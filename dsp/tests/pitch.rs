//! The streaming pitch tracker against the test voice's truth, at several rates and both modes,
//! and its behaviour on hostile input.

use affetto_dsp::pitch::{AnalysisMode, PitchFrame, PitchTracker};
use affetto_dsp::synth::{self, FrameTruth};

fn track(
    samples: &[f32],
    sample_rate_hz: f32,
    mode: AnalysisMode,
    block: usize,
) -> Vec<PitchFrame> {
    let mut tracker = PitchTracker::new(sample_rate_hz, mode);
    let mut frames = Vec::new();
    for chunk in samples.chunks(block) {
        tracker.process(chunk, |frame| frames.push(*frame));
    }
    frames
}

struct Scores {
    raw_pitch_accuracy: f64,
    voicing_f1: f64,
    median_abs_cents: f64,
}

/// MIREX-style scores over the frames both sides have. Frames within 20 ms of a voicing change
/// in the truth are left out: there the truth itself is a matter of envelope thresholds.
fn score(truth: &[FrameTruth], frames: &[PitchFrame]) -> Scores {
    let mut hits = 0usize;
    let mut truth_voiced = 0usize;
    let (mut true_positive, mut false_positive, mut false_negative) = (0usize, 0usize, 0usize);
    let mut errors = Vec::new();
    for frame in frames {
        let i = frame.index as usize;
        if i < 4
            || i + 4 >= truth.len()
            || truth[i - 4..=i + 4]
                .iter()
                .any(|t| t.voiced != truth[i].voiced)
        {
            continue;
        }
        let t = &truth[i];
        match (t.voiced, frame.voiced()) {
            (true, true) => true_positive += 1,
            (false, true) => false_positive += 1,
            (true, false) => {
                false_negative += 1;
                if std::env::var_os("AFFETTO_SHOW_MISSES").is_some() {
                    println!(
                        "unvoiced at {:.3} s: truth {:.1} Hz",
                        frame.time_s(),
                        t.f0_hz
                    );
                }
            }
            (false, false) => {}
        }
        if t.voiced {
            truth_voiced += 1;
            if frame.voiced() {
                let cents = 1200.0 * (frame.f0_hz as f64 / t.f0_hz as f64).log2();
                errors.push(cents.abs());
                if cents.abs() < 50.0 {
                    hits += 1;
                } else if std::env::var_os("AFFETTO_SHOW_MISSES").is_some() {
                    println!(
                        "miss at {:.3} s: truth {:.1} Hz, read {:.1} Hz",
                        frame.time_s(),
                        t.f0_hz,
                        frame.f0_hz
                    );
                }
            }
        }
    }
    errors.sort_by(f64::total_cmp);
    let precision = true_positive as f64 / (true_positive + false_positive).max(1) as f64;
    let recall = true_positive as f64 / (true_positive + false_negative).max(1) as f64;
    Scores {
        raw_pitch_accuracy: hits as f64 / truth_voiced.max(1) as f64,
        voicing_f1: 2.0 * precision * recall / (precision + recall).max(1e-9),
        median_abs_cents: errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
    }
}

/// A test signal: sample value by sample index.
type SampleAt = fn(usize) -> f32;

#[test]
fn tracks_the_sung_demo_phrase_at_every_rate_in_both_modes() {
    for sample_rate in [22_050u32, 44_100, 48_000, 96_000, 192_000] {
        let voice = synth::render(&synth::demo_phrase(), sample_rate, 1);
        for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
            let frames = track(&voice.samples, sample_rate as f32, mode, 256);
            let s = score(&voice.frames, &frames);
            println!(
                "{sample_rate} Hz {mode:?}: RPA {:.4}, voicing F1 {:.4}, median |error| {:.2} cents",
                s.raw_pitch_accuracy, s.voicing_f1, s.median_abs_cents
            );
            assert!(
                s.raw_pitch_accuracy >= 0.99,
                "{sample_rate} Hz {mode:?}: RPA {}",
                s.raw_pitch_accuracy
            );
            assert!(
                s.voicing_f1 >= 0.97,
                "{sample_rate} Hz {mode:?}: voicing F1 {}",
                s.voicing_f1
            );
            assert!(
                s.median_abs_cents < 5.0,
                "{sample_rate} Hz {mode:?}: median {}",
                s.median_abs_cents
            );
        }
    }
}

#[test]
fn frames_arrive_in_order_every_5_ms_whatever_the_block_size() {
    let voice = synth::render(&synth::demo_phrase(), 48_000, 3);
    let reference = track(&voice.samples, 48_000.0, AnalysisMode::Studio, 4096);
    for block in [1, 63, 512] {
        let frames = track(&voice.samples, 48_000.0, AnalysisMode::Studio, block);
        assert_eq!(frames, reference, "block {block}");
    }
    assert!(
        reference
            .iter()
            .enumerate()
            .all(|(i, f)| f.index == i as u64)
    );
}

#[test]
fn hostile_input_reads_unvoiced_and_the_tracker_recovers_within_2_frames() {
    let sample_rate = 48_000u32;
    let voice = synth::render(
        &synth::Phrase::sung(vec![synth::Note::new(57.0, 2.0, synth::Vowel::A)]),
        sample_rate,
        5,
    );
    let hostile: [(&str, SampleAt); 6] = [
        ("NaN", |_| f32::NAN),
        ("+Inf", |_| f32::INFINITY),
        ("denormals", |i| if i % 2 == 0 { 1e-40 } else { -1e-39 }),
        ("±1e6", |i| if i % 3 == 0 { 1e6 } else { -1e6 }),
        ("DC", |_| 0.9),
        ("-Inf", |_| f32::NEG_INFINITY),
    ];
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        for (name, generator) in hostile {
            let mut tracker = PitchTracker::new(sample_rate as f32, mode);
            let mut frames = Vec::new();
            let bad: Vec<f32> = (0..24_000).map(generator).collect();
            tracker.process(&bad, |f| frames.push(*f));
            for f in &frames {
                assert!(
                    f.f0_hz.is_finite()
                        && f.voicing_probability.is_finite()
                        && f.energy_db.is_finite(),
                    "{name}: {f:?}"
                );
                assert!(
                    f.envelope.magnitude_db(1000.0).is_finite()
                        && f.envelope.lpc.iter().all(|a| a.is_finite())
                );
                assert!(
                    !f.voiced() || name == "±1e6",
                    "{name} reads unvoiced: {f:?}"
                );
            }
            // Clean voice from 0.5 s on (the note starts 0.2 s into the render).
            tracker.process(&voice.samples, |f| frames.push(*f));
            let clean_from_s = 0.5 + 0.2 + 0.04; // note onset + attack
            // The window reaches ±17 ms around the frame; 2 frames after it is clean, all is right.
            let window_clean_s = clean_from_s + 0.017 + 2.0 * 0.005;
            let mut checked = 0;
            for f in frames
                .iter()
                .filter(|f| f.time_s() >= window_clean_s && f.time_s() < 0.5 + 2.0)
            {
                let truth = voice.frames[((f.time_s() - 0.5) / 0.005).round() as usize];
                assert!(
                    f.voiced(),
                    "{name} {mode:?}: frame at {:.3} s unvoiced",
                    f.time_s()
                );
                let cents = 1200.0 * (f.f0_hz / truth.f0_hz).log2();
                assert!(
                    cents.abs() < 50.0,
                    "{name} {mode:?}: {:.3} s off by {cents} cents",
                    f.time_s()
                );
                checked += 1;
            }
            assert!(checked > 200);
        }
    }
}

#[test]
fn each_frame_carries_the_envelope_of_its_vowel() {
    // /a/ has F1 near 730 Hz and F2 near 1090 Hz; /i/ has F1 near 270 Hz and F2 near 2290 Hz.
    let phrase = synth::Phrase::sung(vec![
        synth::Note::new(50.0, 0.8, synth::Vowel::A).with_rest_after(0.2),
        synth::Note::new(50.0, 0.8, synth::Vowel::I),
    ]);
    let voice = synth::render(&phrase, 48_000, 8);
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let frames = track(&voice.samples, 48_000.0, mode, 512);
        let at = |t: f64| {
            frames
                .iter()
                .find(|f| (f.time_s() - t).abs() < 1e-6)
                .unwrap()
                .envelope
        };
        let (a, i) = (at(0.6), at(1.6));
        let tilt_free = |e: &affetto_dsp::pitch::SpectralEnvelope, f: f32| {
            e.magnitude_db(f) - e.magnitude_db(3300.0)
        };
        assert!(
            tilt_free(&a, 800.0) > tilt_free(&i, 800.0) + 6.0,
            "{mode:?}: /a/ is stronger around F1 of /a/"
        );
        assert!(
            tilt_free(&i, 2300.0) > tilt_free(&a, 2300.0) + 6.0,
            "{mode:?}: /i/ is stronger around its F2"
        );
    }
}

#[test]
fn clipped_singing_is_still_tracked() {
    // Hard clipping at 40 % of the peak: a driven preamp. The period survives; the tracker must too.
    let voice = synth::render(&synth::demo_phrase(), 44_100, 4);
    let ceiling = 0.4 * 0.7;
    let clipped: Vec<f32> = voice
        .samples
        .iter()
        .map(|x| (x * 3.0).clamp(-ceiling, ceiling))
        .collect();
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let s = score(&voice.frames, &track(&clipped, 44_100.0, mode, 128));
        assert!(
            s.raw_pitch_accuracy >= 0.98,
            "{mode:?}: RPA {}",
            s.raw_pitch_accuracy
        );
        assert!(s.voicing_f1 >= 0.97, "{mode:?}: F1 {}", s.voicing_f1);
    }
}

#[test]
fn octave_leaps_are_followed_without_dropouts() {
    use synth::{Note, Phrase, Vowel};
    // Legato leaps of an octave and of a fifth, up and down: the path search must not hold the
    // old octave, nor drop to unvoiced to get across.
    let notes = [52.0, 64.0, 52.0, 59.0, 71.0, 59.0, 76.0, 64.0]
        .iter()
        .map(|&midi| Note::new(midi, 0.4, Vowel::A))
        .collect();
    let voice = synth::render(&Phrase::sung(notes), 48_000, 9);
    for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
        let frames = track(&voice.samples, 48_000.0, mode, 64);
        let (mut worst_run, mut run) = (0usize, 0usize);
        for (truth, frame) in voice.frames.iter().zip(&frames) {
            let wrong = truth.voiced
                && (frame.f0_hz <= 0.0 || (frame.f0_hz / truth.f0_hz - 1.0).abs() > 0.2);
            run = if wrong { run + 1 } else { 0 };
            worst_run = worst_run.max(run);
        }
        println!("{mode:?}: longest run of unvoiced or gross frames {worst_run}");
        assert!(
            worst_run <= 4,
            "{mode:?}: {worst_run} frames lost at a leap"
        );
    }
}
