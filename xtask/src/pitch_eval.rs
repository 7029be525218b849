//! `cargo xtask pitch-eval`: Affetto's pitch tracker against its peers on generated voices with
//! known truth. Six sets of five minutes each (clean singing, clean speech, 20 dB SNR pink noise,
//! 10 dB SNR pink noise in a 0.5 s RT60 room, breathy singing, and 10 dB SNR babble in the same
//! room) are written to `target/pitch-eval/` as
//! 16-bit 48 kHz WAV; Affetto (Live and Studio), aubio's yinfft, Praat's autocorrelation tracker
//! and librosa's pYIN analyse the same files, and one metric function scores them all.
//! `cargo xtask pitch-eval --no-peers` scores Affetto alone.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use affetto_dsp::pitch::neural::{FeatureExtractor, FrameFeatures, PitchNet, neural_channel};
use affetto_dsp::pitch::{AnalysisMode, PitchTracker};
use affetto_dsp::synth::{
    self, Degradation, FrameTruth, NoiseKind, Phrase, PitchCurve, SegmentKind, VoiceRender,
};
use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_pcg::Pcg32;

pub(crate) const SAMPLE_RATE_HZ: u32 = 48_000;
const HOP_S: f64 = synth::TRUTH_HOP_S;
const HOP_SAMPLES: usize = 240;
/// Each set is this many pieces of `PIECE_S` seconds, each from its own seed and voice.
const PIECES: u64 = 10;
pub(crate) const PIECE_S: f64 = 30.0;
/// Frames this close to a change of voicing in the truth are not scored: there the truth is a
/// matter of where an envelope crosses a threshold.
const VOICING_EDGE_FRAMES: usize = 4;

#[derive(Clone, Copy)]
pub(crate) enum Material {
    Singing,
    Speech,
    /// Alternating pieces of singing and speech.
    Mixed,
    BreathySinging,
    /// Singing with every note held straight (no vibrato), for adding vibrato to.
    StraightSinging,
}

pub(crate) struct Condition {
    pub name: &'static str,
    pub material: Material,
    pub degradation: Degradation,
}

pub(crate) fn conditions() -> Vec<Condition> {
    vec![
        Condition {
            name: "clean singing",
            material: Material::Singing,
            degradation: Degradation::default(),
        },
        Condition {
            name: "clean speech",
            material: Material::Speech,
            degradation: Degradation::default(),
        },
        Condition {
            name: "20 dB SNR (pink)",
            material: Material::Mixed,
            degradation: Degradation {
                noise: Some((NoiseKind::Pink, 20.0)),
                ..Default::default()
            },
        },
        Condition {
            name: "10 dB SNR (pink) + RT60 0.5 s",
            material: Material::Mixed,
            degradation: Degradation {
                noise: Some((NoiseKind::Pink, 10.0)),
                reverb_rt60_s: Some(0.5),
                ..Default::default()
            },
        },
        Condition {
            name: "breathy singing",
            material: Material::BreathySinging,
            degradation: Degradation::default(),
        },
        // Beyond the list: competing talkers, the hardest case for any pitch tracker (the
        // babble is itself voiced speech, which the truth calls unvoiced).
        Condition {
            name: "10 dB SNR babble + RT60 0.5 s",
            material: Material::Mixed,
            degradation: Degradation {
                noise: Some((NoiseKind::Babble, 10.0)),
                reverb_rt60_s: Some(0.5),
                ..Default::default()
            },
        },
    ]
}

/// One set of `pieces` pieces: audio whose length is exactly `frames × HOP_SAMPLES`, and its
/// truth. Piece `p` of set `s` is made from seed `1000 s + p`.
pub(crate) fn render_set(condition: &Condition, set_index: u64, pieces: u64) -> VoiceRender {
    let mut samples = Vec::new();
    let mut frames = Vec::new();
    for piece in 0..pieces {
        let seed = 1_000 * set_index + piece;
        let mut rng = Pcg32::seed_from_u64(seed);
        let singing = match condition.material {
            Material::Singing | Material::BreathySinging | Material::StraightSinging => true,
            Material::Speech => false,
            Material::Mixed => piece % 2 == 0,
        };
        let mut phrase: Phrase = if singing {
            synth::random_singing(&mut rng, PIECE_S)
        } else {
            synth::random_speech(&mut rng, PIECE_S)
        };
        match condition.material {
            Material::BreathySinging => {
                phrase.open_quotient = 0.8;
                phrase.breathiness = 0.12;
                phrase.tilt_db_per_octave = -6.0;
            }
            Material::StraightSinging => {
                for segment in &mut phrase.segments {
                    if let SegmentKind::Voiced {
                        pitch: PitchCurve::Note { vibrato, .. },
                        ..
                    } = &mut segment.kind
                    {
                        *vibrato = None;
                    }
                }
            }
            _ => {}
        }
        let mut voice = synth::render(&phrase, SAMPLE_RATE_HZ, seed);
        synth::degrade(&mut voice, &condition.degradation, seed);
        voice.samples.resize(voice.frames.len() * HOP_SAMPLES, 0.0);
        let offset_s = frames.len() as f64 * HOP_S;
        frames.extend(voice.frames.iter().map(|f| FrameTruth {
            time_s: f.time_s + offset_s,
            ..*f
        }));
        samples.extend_from_slice(&voice.samples);
    }
    VoiceRender {
        samples,
        sample_rate_hz: SAMPLE_RATE_HZ,
        frames,
    }
}

pub(crate) fn write_wav(path: &Path, samples: &[f32]) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &x in samples {
        writer.write_sample((x.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    writer.finalize()?;
    Ok(())
}

pub(crate) fn read_wav(path: &Path) -> Result<Vec<f32>> {
    let mut reader = hound::WavReader::open(path)?;
    Ok(reader
        .samples::<i16>()
        .map(|s| s.map(|v| v as f32 / 32768.0))
        .collect::<Result<_, _>>()?)
}

/// F0 per 5 ms frame (0 = unvoiced), `frames` long.
type Track = Vec<f32>;

/// Affetto's track and its voicing probabilities, per frame.
pub(crate) fn affetto_track(
    samples: &[f32],
    mode: AnalysisMode,
    frames: usize,
) -> (Track, Vec<f32>) {
    let mut tracker = PitchTracker::new(SAMPLE_RATE_HZ as f32, mode);
    let mut track = vec![0.0f32; frames];
    let mut voicing = vec![0.0f32; frames];
    let mut store = |f: &affetto_dsp::PitchFrame| {
        if let Some(slot) = track.get_mut(f.index as usize) {
            *slot = f.f0_hz;
            voicing[f.index as usize] = f.voicing_probability;
        }
    };
    for block in samples.chunks(256) {
        tracker.process(block, &mut store);
    }
    tracker.process(&vec![0.0; tracker.latency_samples() + 256], &mut store);
    (track, voicing)
}

/// Studio mode with the neural worker, answered after every analysis hop (all answers on time,
/// as a worker with time to spare gives them), and the network's own frame-by-frame answers:
/// `(fused track, fused voicing, neural-only track)`.
pub(crate) fn neural_tracks(samples: &[f32], frames: usize) -> Result<(Track, Vec<f32>, Track)> {
    let model = PitchNet::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tracker = PitchTracker::new(SAMPLE_RATE_HZ as f32, AnalysisMode::Studio);
    let (link, mut service) = neural_channel(model.clone());
    tracker.attach_neural(link);
    let mut track = vec![0.0f32; frames];
    let mut voicing = vec![0.0f32; frames];
    let mut neural_features = vec![None; frames];
    let mut extractor = FeatureExtractor::new();
    let mut store = |f: &affetto_dsp::PitchFrame| {
        if let Some(slot) = track.get_mut(f.index as usize) {
            *slot = f.f0_hz;
            voicing[f.index as usize] = f.voicing_probability;
        }
    };
    let mut tap = |w: &affetto_dsp::pitch::AnalysisWindow| {
        if let Some(slot) = neural_features.get_mut(w.index as usize) {
            let mut features = FrameFeatures::default();
            extractor.compute(w.samples, w.sample_rate_hz, &w.voicing, &mut features);
            *slot = Some(features);
        }
    };
    let tail = vec![0.0; tracker.latency_samples() + 256];
    for piece in samples.chunks(HOP_SAMPLES).chain(tail.chunks(HOP_SAMPLES)) {
        tracker.process_tapped(piece, &mut store, &mut tap);
        service.serve_pending()?;
    }
    let counts = tracker
        .neural()
        .map(|l| l.counters().snapshot())
        .unwrap_or_default();
    if counts.late + counts.dropped > 0 {
        anyhow::bail!("offline neural answers missed their frames: {counts:?}");
    }
    let mut neural_track = vec![0.0f32; frames];
    let analysed: Vec<(usize, FrameFeatures)> = neural_features
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| f.map(|f| (i, f)))
        .collect();
    for chunk in analysed.chunks(1024) {
        let features: Vec<FrameFeatures> = chunk.iter().map(|(_, f)| f.clone()).collect();
        for ((index, _), estimate) in chunk.iter().zip(model.estimate(&features)?) {
            if estimate.voicing_probability > 0.5 {
                neural_track[*index] = estimate.f0_hz();
            }
        }
    }
    Ok((track, voicing, neural_track))
}

/// Expected calibration error of the voicing probability: frames binned by predicted
/// probability (tenths), |mean prediction − share truly voiced| averaged with the bins' weights.
/// 0 means "70 %" is voiced 70 % of the time.
pub(crate) fn voicing_calibration_error(truth: &[FrameTruth], voicing: &[f32]) -> f64 {
    let mut bins = [(0usize, 0.0f64, 0usize); 10];
    for (t, &p) in truth.iter().zip(voicing) {
        let bin = &mut bins[((p * 10.0) as usize).min(9)];
        bin.0 += 1;
        bin.1 += p as f64;
        bin.2 += t.voiced as usize;
    }
    let total = truth.len().max(1) as f64;
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|&(n, predicted, voiced)| {
            n as f64 / total * (predicted / n as f64 - voiced as f64 / n as f64).abs()
        })
        .sum()
}

/// A peer's "time f0" lines placed on the frame grid, shifted by `shift_frames`.
pub(crate) fn grid_track(lines: &[(f64, f32)], frames: usize, shift_frames: i64) -> Track {
    let mut track = vec![0.0f32; frames];
    for &(time_s, f0) in lines {
        let index = (time_s / HOP_S).round() as i64 + shift_frames;
        if (0..frames as i64).contains(&index) {
            track[index as usize] = f0.max(0.0);
        }
    }
    track
}

pub(crate) fn parse_time_f0(text: &str) -> Vec<(f64, f32)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let time = fields.next()?.parse().ok()?;
            let f0 = fields.next()?.parse().ok()?;
            Some((time, f0))
        })
        .collect()
}

struct Scores {
    rpa: f64,
    rca: f64,
    gpe: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    median_cents: f64,
}

/// One row per frame: the truth and each track (0 = unvoiced), for looking at where the errors
/// are (`set{N}-frames.csv` beside the set's WAV).
fn write_frames_csv(path: &Path, truth: &[FrameTruth], tracks: &[(&str, &Track)]) -> Result<()> {
    let mut text = String::from("time_s,truth_f0_hz,truth_voiced");
    for (name, _) in tracks {
        write!(text, ",{name}")?;
    }
    text.push('\n');
    for (i, t) in truth.iter().enumerate() {
        write!(
            text,
            "{:.3},{:.2},{}",
            t.time_s,
            t.f0_hz,
            u8::from(t.voiced)
        )?;
        for (_, track) in tracks {
            write!(text, ",{:.2}", track.get(i).copied().unwrap_or(0.0))?;
        }
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The one metric function every method goes through.
fn score(truth: &[FrameTruth], track: &[f32]) -> Scores {
    let (mut voiced_ref, mut rpa_hits, mut rca_hits) = (0usize, 0usize, 0usize);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let (mut both, mut gross) = (0usize, 0usize);
    let mut errors = Vec::new();
    for i in VOICING_EDGE_FRAMES..truth.len().saturating_sub(VOICING_EDGE_FRAMES) {
        let window = &truth[i - VOICING_EDGE_FRAMES..=i + VOICING_EDGE_FRAMES];
        if window.iter().any(|t| t.voiced != truth[i].voiced) {
            continue;
        }
        let (reference, estimate) = (truth[i], track[i]);
        match (reference.voiced, estimate > 0.0) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => {}
        }
        if !reference.voiced {
            continue;
        }
        voiced_ref += 1;
        if estimate <= 0.0 {
            continue;
        }
        let cents = 1200.0 * (estimate as f64 / reference.f0_hz as f64).log2();
        if cents.abs() < 50.0 {
            rpa_hits += 1;
        }
        if ((cents + 600.0).rem_euclid(1200.0) - 600.0).abs() < 50.0 {
            rca_hits += 1;
        }
        both += 1;
        if (estimate as f64 / reference.f0_hz as f64 - 1.0).abs() > 0.2 {
            gross += 1;
        }
        errors.push(cents.abs());
    }
    errors.sort_by(f64::total_cmp);
    let ratio = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    Scores {
        rpa: ratio(rpa_hits, voiced_ref),
        rca: ratio(rca_hits, voiced_ref),
        gpe: ratio(gross, both),
        precision,
        recall,
        f1: 2.0 * precision * recall / (precision + recall).max(1e-12),
        median_cents: errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
    }
}

/// A peer program: how to check for it, install it, and run it on one file.
pub(crate) struct Peer {
    pub name: &'static str,
    pub probe: fn() -> bool,
    pub install: fn() -> bool,
    pub run: fn(&Path, &Path) -> Result<String>,
}

pub(crate) fn succeeds(command: &mut Command) -> bool {
    command.output().is_ok_and(|o| o.status.success())
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

pub(crate) fn peers() -> Vec<Peer> {
    vec![
        Peer {
            name: "aubio yinfft",
            probe: || succeeds(Command::new("aubiopitch").arg("--help")),
            install: || {
                succeeds(Command::new("apt-get").args(["install", "-y", "-q", "aubio-tools"]))
            },
            run: |wav, _| {
                let out = Command::new("aubiopitch")
                    .args(["-i"])
                    .arg(wav)
                    .args([
                        "-p",
                        "yinfft",
                        "-H",
                        &HOP_SAMPLES.to_string(),
                        "-B",
                        "2048",
                        "-u",
                        "Hz",
                        "-s",
                        "-70",
                    ])
                    .output()?;
                if !out.status.success() {
                    bail!(
                        "aubiopitch failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                Ok(String::from_utf8_lossy(&out.stdout).into_owned())
            },
        },
        Peer {
            name: "Praat ac",
            probe: || Path::new("/usr/bin/praat").exists(),
            install: || succeeds(Command::new("apt-get").args(["install", "-y", "-q", "praat"])),
            run: |wav, scratch| {
                let out_path = scratch.with_extension("praat.txt");
                let status = Command::new("praat")
                    .arg("--run")
                    .arg(peers_dir().join("praat_pitch.praat"))
                    .arg(wav)
                    .arg(&out_path)
                    .status()?;
                if !status.success() {
                    bail!("praat failed");
                }
                Ok(std::fs::read_to_string(out_path)?)
            },
        },
        Peer {
            name: "librosa pYIN",
            probe: || succeeds(Command::new("python3").args(["-c", "import librosa"])),
            install: || {
                succeeds(Command::new("python3").args(["-m", "pip", "install", "-q", "librosa"]))
            },
            run: |wav, scratch| {
                let out_path = scratch.with_extension("pyin.txt");
                let status = Command::new("python3")
                    .arg(peers_dir().join("pyin_pitch.py"))
                    .arg(wav)
                    .arg(&out_path)
                    .status()?;
                if !status.success() {
                    bail!("pyin failed");
                }
                Ok(std::fs::read_to_string(out_path)?)
            },
        },
    ]
}

/// `with_peers`: false scores Affetto alone (seconds instead of the better part of an hour).
pub fn run(with_peers: bool) -> Result<()> {
    let out_dir = crate::report_dir("pitch-eval")?;

    let mut available = Vec::new();
    for peer in peers().into_iter().filter(|_| with_peers) {
        if (peer.probe)() || ((peer.install)() && (peer.probe)()) {
            available.push(peer);
        } else {
            println!(
                "peer missing, left out: {} (could not be found or installed)",
                peer.name
            );
        }
    }

    let mut report = String::new();
    writeln!(
        report,
        "| condition | method | RPA | RCA | GPE | voicing P | voicing R | voicing F1 | median cents | time s |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|")?;
    // Each peer's constant time offset, fitted once on clean singing (the shift in ±50 ms that
    // maximises its RPA) and then used for every condition.
    let mut shifts: Vec<i64> = vec![0; available.len()];
    let mut calibration = Vec::new();
    let mut fused_calibration = Vec::new();
    for (set_index, condition) in conditions().iter().enumerate() {
        let started = Instant::now();
        let voice = render_set(condition, set_index as u64, PIECES);
        let wav = out_dir.join(format!("set{set_index}.wav"));
        write_wav(&wav, &voice.samples)?;
        let samples = read_wav(&wav)?;
        let frames = voice.frames.len();
        println!(
            "{}: {:.0} s of audio rendered in {:.1} s -> {}",
            condition.name,
            samples.len() as f64 / SAMPLE_RATE_HZ as f64,
            started.elapsed().as_secs_f64(),
            wav.display()
        );

        let mut rows: Vec<(String, Scores, f64)> = Vec::new();
        let mut studio = Track::new();
        for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
            let started = Instant::now();
            let (track, voicing) = affetto_track(&samples, mode, frames);
            rows.push((
                format!("Affetto {mode:?}"),
                score(&voice.frames, &track),
                started.elapsed().as_secs_f64(),
            ));
            if mode == AnalysisMode::Studio {
                calibration.push((
                    condition.name,
                    voicing_calibration_error(&voice.frames, &voicing),
                ));
                studio = track;
            }
        }
        let started = Instant::now();
        let (fused, fused_voicing, neural_only) = neural_tracks(&samples, frames)?;
        let elapsed = started.elapsed().as_secs_f64();
        rows.push((
            "Affetto Studio + neural".to_owned(),
            score(&voice.frames, &fused),
            elapsed,
        ));
        rows.push((
            "neural alone (per frame)".to_owned(),
            score(&voice.frames, &neural_only),
            elapsed,
        ));
        fused_calibration.push((
            condition.name,
            voicing_calibration_error(&voice.frames, &fused_voicing),
        ));
        write_frames_csv(
            &out_dir.join(format!("set{set_index}-frames.csv")),
            &voice.frames,
            &[
                ("studio_f0_hz", &studio),
                ("fused_f0_hz", &fused),
                ("neural_f0_hz", &neural_only),
            ],
        )?;
        for (peer, shift) in available.iter().zip(shifts.iter_mut()) {
            let started = Instant::now();
            let output = match (peer.run)(&wav, &out_dir.join(format!("set{set_index}"))) {
                Ok(output) => output,
                Err(error) => {
                    println!("  {} failed: {error:#}", peer.name);
                    continue;
                }
            };
            let elapsed = started.elapsed().as_secs_f64();
            let lines = parse_time_f0(&output);
            if set_index == 0 {
                *shift = (-10..=10)
                    .max_by(|&a, &b| {
                        let ra = score(&voice.frames, &grid_track(&lines, frames, a)).rpa;
                        let rb = score(&voice.frames, &grid_track(&lines, frames, b)).rpa;
                        ra.total_cmp(&rb)
                    })
                    .unwrap_or(0);
                println!("  {} aligned by {} frames", peer.name, *shift);
            }
            rows.push((
                peer.name.to_owned(),
                score(&voice.frames, &grid_track(&lines, frames, *shift)),
                elapsed,
            ));
        }
        for (method, s, seconds) in rows {
            let line = format!(
                "| {} | {method} | {:.2} % | {:.2} % | {:.2} % | {:.3} | {:.3} | {:.3} | {:.2} | {seconds:.1} |",
                condition.name,
                100.0 * s.rpa,
                100.0 * s.rca,
                100.0 * s.gpe,
                s.precision,
                s.recall,
                s.f1,
                s.median_cents
            );
            println!("{line}");
            writeln!(report, "{line}")?;
        }
    }
    writeln!(
        report,
        "\nVoicing probability calibration (Affetto Studio, expected calibration error over tenths):\n"
    )?;
    for ((condition, error), (_, fused)) in calibration.iter().zip(&fused_calibration) {
        writeln!(
            report,
            "- {condition}: {error:.3} (with the network: {fused:.3})"
        )?;
    }
    let report_path = out_dir.join("report.md");
    std::fs::write(&report_path, &report)?;
    println!("\n{report}\nwritten to {}", report_path.display());
    Ok(())
}
