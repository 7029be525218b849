//! The contour decomposition and its editing hooks on contours with known vibrato, and on the
//! test voice analysed from audio.

use std::f64::consts::TAU;

use affetto_dsp::pitch::{
    AnalysisMode, PitchFrame, PitchTracker, SpectralEnvelope, VoicingFeatures,
};
use affetto_dsp::synth;
use affetto_dsp::vibrato::{
    AddedVibrato, ContourDecomposer, ContourEditor, ContourFrame, VibratoEdit, cents_to_hz,
};

const HOP_S: f64 = 0.005;
const MODES: [AnalysisMode; 2] = [AnalysisMode::Live, AnalysisMode::Studio];

fn frame(index: usize, cents: Option<f64>) -> PitchFrame {
    PitchFrame {
        index: index as u64,
        f0_hz: cents.map_or(0.0, |c| cents_to_hz(c as f32)),
        voicing_probability: if cents.is_some() { 1.0 } else { 0.0 },
        energy_db: -20.0,
        envelope: SpectralEnvelope::flat(16_000.0),
        voicing_features: VoicingFeatures::default(),
    }
}

/// Decomposes a contour given in cents per frame (`None` = unvoiced), flushing the look-ahead.
fn decompose(contour: &[Option<f64>], mode: AnalysisMode) -> Vec<ContourFrame> {
    let frames: Vec<PitchFrame> = contour
        .iter()
        .enumerate()
        .map(|(i, &c)| frame(i, c))
        .collect();
    decompose_frames(&frames, mode)
}

fn decompose_frames(frames: &[PitchFrame], mode: AnalysisMode) -> Vec<ContourFrame> {
    let mut decomposer = ContourDecomposer::new(mode);
    let mut out: Vec<ContourFrame> = frames.iter().filter_map(|f| decomposer.push(f)).collect();
    for _ in 0..decomposer.lookahead_frames() {
        out.extend(decomposer.push(&frame(frames.len(), None)));
    }
    out.truncate(frames.len());
    out
}

/// A held A3 with vibrato from `onset_s` (fading in over 0.3 s like the test voice's), plus a
/// small deterministic wobble standing in for tracker noise.
fn held_note(duration_s: f64, vibrato: Option<(f64, f64, f64)>) -> Vec<Option<f64>> {
    (0..(duration_s / HOP_S) as usize)
        .map(|i| {
            let t = i as f64 * HOP_S;
            let mut cents = 5700.0 + 0.8 * (i as f64 * 2.3).sin();
            if let Some((rate_hz, extent_cents, onset_s)) = vibrato.filter(|v| t > v.2) {
                let fade = ((t - onset_s) / 0.3).min(1.0);
                cents += extent_cents * fade * (TAU * rate_hz * (t - onset_s)).sin();
            }
            Some(cents)
        })
        .collect()
}

/// Median of `f` over frames `range` of `contour`.
fn median(
    contour: &[ContourFrame],
    range: std::ops::Range<usize>,
    f: impl Fn(&ContourFrame) -> f32,
) -> f32 {
    let mut values: Vec<f32> = contour[range].iter().map(f).collect();
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

#[test]
fn a_steady_vibrato_is_measured_and_the_bands_sum_to_the_contour() {
    for mode in MODES {
        let contour = decompose(&held_note(2.0, Some((5.8, 60.0, 0.2))), mode);
        let steady = 200..380;
        assert!(
            (median(&contour, steady.clone(), |c| c.vibrato.rate_hz) - 5.8).abs() < 0.05,
            "{mode:?}"
        );
        assert!(
            (median(&contour, steady.clone(), |c| c.vibrato.extent_cents) - 60.0).abs() < 2.0,
            "{mode:?}"
        );
        assert!(
            contour[steady.clone()]
                .iter()
                .all(|c| c.vibrato.presence_probability > 0.9),
            "{mode:?}"
        );
        // The phase is that of the sine: the vibrato component follows the contour's swing.
        for c in &contour[steady] {
            let swing = c.pitch_cents - c.intonation_cents;
            assert!(
                (c.vibrato_cents - swing).abs() < 6.0,
                "{mode:?} at {}: {c:?}",
                c.pitch.index
            );
            assert!((c.intonation_cents - 5700.0).abs() < 6.0, "{mode:?}: {c:?}");
        }
        for c in &contour {
            let sum = c.intonation_cents as f64 + c.vibrato_cents as f64 + c.jitter_cents as f64;
            assert!((sum - c.pitch_cents as f64).abs() < 0.01, "{mode:?}: {c:?}");
        }
    }
}

#[test]
fn straight_notes_glides_and_flat_contours_are_not_vibrato() {
    let glide: Vec<Option<f64>> = (0..300)
        .map(|i| {
            // Straight notes a fourth apart joined by 120 ms glides, every 0.5 s.
            let t = i as f64 * HOP_S % 0.5;
            let step = (i as f64 * HOP_S / 0.5).floor() * 500.0;
            let glide = if t < 0.12 {
                500.0 * (1.0 - (std::f64::consts::PI * t / 0.12).cos()) / 2.0
            } else {
                500.0
            };
            Some(5000.0 + step + glide)
        })
        .collect();
    let flat = vec![Some(6000.0); 300];
    for mode in MODES {
        for (name, contour) in [
            ("straight", held_note(1.5, None)),
            ("glides", glide.clone()),
            ("flat", flat.clone()),
        ] {
            let decomposed = decompose(&contour, mode);
            let present = decomposed
                .iter()
                .filter(|c| c.vibrato.presence_probability >= 0.5)
                .count();
            assert!(
                present * 20 < decomposed.len(),
                "{mode:?} {name}: {present} of {} frames read as vibrato",
                decomposed.len()
            );
        }
    }
}

#[test]
fn a_short_octave_error_does_not_disturb_the_vibrato() {
    let mut contour = held_note(2.0, Some((6.0, 40.0, 0.1)));
    for cents in contour[250..256].iter_mut().flatten() {
        *cents += 1200.0;
    }
    let decomposed = decompose(&contour, AnalysisMode::Studio);
    for c in &decomposed[150..380] {
        assert!((c.vibrato.extent_cents - 40.0).abs() < 6.0, "{c:?}");
        assert!((c.vibrato.rate_hz - 6.0).abs() < 0.3, "{c:?}");
    }
    // The error itself is kept in the jitter: the bands still sum to what was analysed.
    let c = &decomposed[252];
    assert!((c.intonation_cents + c.vibrato_cents + c.jitter_cents - c.pitch_cents).abs() < 0.01);
    assert!(c.jitter_cents > 1000.0, "{c:?}");
}

#[test]
fn unvoiced_gaps_are_bridged_without_ringing() {
    // A vibrato-free note, a 60 ms consonant, then the same note again.
    let mut contour = held_note(1.5, None);
    contour[150..162].fill(None);
    for mode in MODES {
        let decomposed = decompose(&contour, mode);
        for c in decomposed.iter().filter(|c| c.pitch.voiced()) {
            assert!(
                c.vibrato_cents.abs() < 2.0 && (c.intonation_cents - 5700.0).abs() < 3.0,
                "{mode:?}: {c:?}"
            );
        }
    }
}

/// Applies `edit` to `contour` and decomposes the result again.
fn edit_and_reanalyse(
    contour: &[ContourFrame],
    edit: &VibratoEdit,
    mode: AnalysisMode,
) -> Vec<ContourFrame> {
    let mut editor = ContourEditor::new();
    let frames: Vec<PitchFrame> = contour
        .iter()
        .map(|c| {
            let target = editor.target_cents(c, edit);
            PitchFrame {
                f0_hz: if c.pitch.voiced() {
                    cents_to_hz(target)
                } else {
                    0.0
                },
                ..c.pitch
            }
        })
        .collect();
    decompose_frames(&frames, mode)
}

/// The demo phrase analysed from audio: glides, breaths, straight notes and vibrato.
fn demo_contour(mode: AnalysisMode) -> (synth::VoiceRender, Vec<ContourFrame>) {
    let voice = synth::render(&synth::demo_phrase(), 48_000, 1);
    let mut tracker = PitchTracker::new(48_000.0, mode);
    let mut frames = Vec::new();
    for block in voice.samples.chunks(512) {
        tracker.process(block, |f| frames.push(*f));
    }
    let contour = decompose_frames(&frames, mode);
    (voice, contour)
}

#[test]
fn the_neutral_edit_gives_back_the_contour() {
    for mode in MODES {
        let synthetic = decompose(&held_note(2.0, Some((5.5, 50.0, 0.4))), mode);
        for contour in [synthetic, demo_contour(mode).1] {
            let mut editor = ContourEditor::new();
            for c in &contour {
                let target = editor.target_cents(c, &VibratoEdit::default());
                assert!(
                    (target - c.pitch_cents).abs() < 0.01,
                    "{mode:?}: {target} vs {c:?}"
                );
            }
        }
    }
}

#[test]
fn edits_no_control_should_produce_give_finite_targets() {
    let contour = decompose(&held_note(1.0, Some((5.5, 50.0, 0.1))), AnalysisMode::Live);
    let hostile = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1e9, 1e9];
    for &x in &hostile {
        let edit = VibratoEdit {
            extent_ratio: x,
            rate_hz: Some(x),
            rate_shift_hz: x,
            added: Some(AddedVibrato {
                rate_hz: x,
                extent_cents: x,
                onset_s: x,
            }),
            jitter_ratio: x,
            onset_delay_s: x,
        };
        let mut editor = ContourEditor::new();
        for c in &contour {
            let target = editor.target_cents(c, &edit);
            // Within the ranges an edit is held to: three times the vibrato and jitter, plus an
            // added vibrato of at most 300 cents.
            assert!(
                target.is_finite() && (target - c.intonation_cents).abs() < 700.0,
                "{x}: {target}"
            );
        }
    }
}

#[test]
fn edits_are_heard_back_as_asked() {
    for mode in MODES {
        let contour = decompose(&held_note(2.5, Some((5.0, 80.0, 0.1))), mode);
        let steady = 200..440;
        let original_extent = median(&contour, steady.clone(), |c| c.vibrato.extent_cents);

        let halved = edit_and_reanalyse(
            &contour,
            &VibratoEdit {
                extent_ratio: 0.5,
                ..Default::default()
            },
            mode,
        );
        let extent = median(&halved, steady.clone(), |c| c.vibrato.extent_cents);
        assert!(
            (extent / original_extent - 0.5).abs() < 0.03,
            "{mode:?}: {extent} vs {original_extent}"
        );

        let faster = edit_and_reanalyse(
            &contour,
            &VibratoEdit {
                rate_hz: Some(6.5),
                ..Default::default()
            },
            mode,
        );
        assert!(
            (median(&faster, steady.clone(), |c| c.vibrato.rate_hz) - 6.5).abs() < 0.1,
            "{mode:?}"
        );
        // Phase stays continuous while the rate changes: no frame-to-frame jump beyond what a
        // 6.5 Hz, 80-cent vibrato moves in 5 ms (up to 100 ms before the note ends, where the
        // vibrato and its re-timing fade out together).
        let largest_step = faster[..440]
            .windows(2)
            .map(|w| (w[1].pitch_cents - w[0].pitch_cents).abs())
            .fold(0.0, f32::max);
        assert!(
            largest_step < 20.0,
            "{mode:?}: step of {largest_step} cents"
        );

        let smooth = edit_and_reanalyse(
            &contour,
            &VibratoEdit {
                jitter_ratio: 0.0,
                ..Default::default()
            },
            mode,
        );
        let jitter = median(&smooth, steady.clone(), |c| c.jitter_cents.abs());
        let before = median(&contour, steady, |c| c.jitter_cents.abs());
        assert!(
            jitter < 0.5 * before,
            "{mode:?}: jitter {jitter} vs {before}"
        );
    }
}

#[test]
fn vibrato_is_added_to_held_notes_after_the_onset() {
    let add = AddedVibrato {
        rate_hz: 5.5,
        extent_cents: 60.0,
        onset_s: 0.3,
    };
    for mode in MODES {
        let contour = decompose(&held_note(2.0, None), mode);
        let added = edit_and_reanalyse(
            &contour,
            &VibratoEdit {
                added: Some(add),
                ..Default::default()
            },
            mode,
        );
        let full = 160..360;
        assert!(
            (median(&added, full.clone(), |c| c.vibrato.rate_hz) - 5.5).abs() < 0.1,
            "{mode:?}"
        );
        assert!(
            (median(&added, full, |c| c.vibrato.extent_cents) - 60.0).abs() < 4.0,
            "{mode:?}"
        );
        // Nothing before the onset.
        assert!(
            added[..55]
                .iter()
                .all(|c| c.vibrato.presence_probability < 0.5),
            "{mode:?}"
        );
    }
}

#[test]
fn the_demo_phrase_vibrato_is_found_from_audio() {
    for mode in MODES {
        let (voice, contour) = demo_contour(mode);
        let mut checked = 0;
        for (i, (c, truth)) in contour.iter().zip(&voice.frames).enumerate() {
            // Full vibrato, 100 ms or more before the note ends.
            let Some(vibrato) = truth.vibrato.filter(|v| v.extent_cents > 0.95 * 50.0) else {
                continue;
            };
            if voice.frames[i..(i + 20).min(voice.frames.len())]
                .iter()
                .any(|t| t.vibrato.is_none())
            {
                continue;
            }
            assert!(c.vibrato.presence_probability > 0.5, "{mode:?}: {c:?}");
            assert!(
                (c.vibrato.rate_hz - vibrato.rate_hz).abs() < 0.4,
                "{mode:?}: {c:?} vs {vibrato:?}"
            );
            checked += 1;
        }
        assert!(checked > 100, "{mode:?}: {checked}");
    }
}

#[test]
fn a_delayed_onset_moves_the_singers_own_onset_later_and_keeps_the_vibrato_after_it() {
    // The singer's vibrato begins 0.5 s into the note and grows over 0.3 s.
    let contour = decompose(
        &held_note(3.0, Some((5.5, 60.0, 0.5))),
        AnalysisMode::Studio,
    );
    let edit = VibratoEdit {
        onset_delay_s: 0.3,
        ..Default::default()
    };
    let mut editor = ContourEditor::new();
    let vibrato_left: Vec<f32> = contour
        .iter()
        .map(|c| editor.target_cents(c, &edit) - c.intonation_cents - c.jitter_cents)
        .collect();
    let largest = |from_s: f64, to_s: f64| {
        vibrato_left[(from_s / HOP_S) as usize..(to_s / HOP_S) as usize]
            .iter()
            .fold(0.0f32, |m, v| m.max(v.abs()))
    };
    // Held back for 0.3 s after the singer's vibrato begins (where the input already swings
    // by tens of cents)...
    let input_there = contour[(0.6 / HOP_S) as usize..(0.85 / HOP_S) as usize]
        .iter()
        .fold(0.0f32, |m, c| m.max(c.vibrato_cents.abs()));
    assert!(input_there > 20.0, "{input_there}");
    assert!(largest(0.6, 0.85) < 5.0, "{}", largest(0.6, 0.85));
    // ...then all of it, not a second slow fade on top of the singer's.
    let full = largest(1.5, 2.5);
    assert!((full - 60.0).abs() < 6.0, "{full}");
}
