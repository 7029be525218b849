//! `cargo xtask resynth-eval`: Affetto's pitch shift against Rubber Band and sox on the same
//! generated voices, in the same run.
//!
//! For 30 s of sung test voice (a low and a high voice) and 30 s of spoken test voice and shifts
//! of −12 … +12 semitones, each method renders the shift; every output is then scored by one set
//! of functions:
//! - pitch: re-analysed with Affetto's Studio tracker and with aubio's yinfft, against the
//!   known truth × the shift ratio, on frames voiced in the truth away from voicing edges;
//! - formants: median log-spectral distance (dB) between cepstrally smoothed envelopes of
//!   input and output frames, level removed (loudness is not formant placement);
//! - clicks: 2 ms blocks whose high-frequency peak stands out from its surroundings more than
//!   anything in the input does;
//! - CPU: seconds of processing per second of audio, Affetto in 64-sample blocks in this
//!   process, each peer timed as a process run right after Affetto's run of the same shift.
//!
//! Rubber Band R3 is `rubberband --fine -F` (formants preserved), R2 `rubberband -F`; sox is
//! `sox pitch`, which has no formant preservation. A fourth input, real speech, is the spoken
//! channel names Debian's alsa-utils ships (installed if missing); having no truth, it is scored
//! against Affetto's track of it. Files go to `target/resynth-eval/`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use affetto_dsp::pitch::AnalysisMode;
use affetto_dsp::synth::clicks::click_blocks;
use affetto_dsp::synth::{self, FrameTruth, VoiceRender};
use affetto_dsp::{Controls, Engine};
use anyhow::{Context, Result, bail};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::pitch_eval::{
    SAMPLE_RATE_HZ, affetto_track, conditions, grid_track, parse_time_f0, peers, read_wav,
    render_set, succeeds, write_wav,
};
use crate::vibrato_eval::median_p95;

const SHIFTS_ST: [f32; 8] = [-12.0, -7.0, -3.0, -1.0, 1.0, 3.0, 7.0, 12.0];
const BLOCK: usize = 64;
/// Frames this close to a voicing change in the truth are not scored for pitch.
const VOICING_EDGE_FRAMES: usize = 4;

/// Envelope analysis: 1024-sample (21 ms) Hann frames every 10 ms; the cepstrum is liftered at
/// 1 ms, below the shortest period of any output here (≈ 900 Hz), so harmonics do not leak into
/// the envelope; distances are taken over 200 Hz – 5 kHz, where the formants that identify a
/// voice and a vowel lie.
const ENVELOPE_FRAME: usize = 1024;
const ENVELOPE_HOP: usize = 480;
const LIFTER_SAMPLES: usize = 48;
const ENVELOPE_BAND_HZ: (f64, f64) = (200.0, 5_000.0);
/// The envelope is also scored on its own over frames at or above this F0: a grain two periods
/// long smears each harmonic one F0 either side, which a voice's formants hide at speech pitch
/// but not on sung notes, where harmonics are sparse and a shifted one can land in a valley
/// between two of the input's (README, "Emotion transform").
const HIGH_VOICE_F0_HZ: f32 = 300.0;
/// Fewer frames than this at that height give no figure (spoken inputs rarely get there).
const MIN_HIGH_VOICE_FRAMES: usize = 50;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Method {
    Affetto(AnalysisMode),
    RubberBandR3,
    RubberBandR2,
    SoxPitch,
}

impl Method {
    pub(crate) fn name(self) -> String {
        match self {
            Method::Affetto(mode) => format!("Affetto {mode:?}"),
            Method::RubberBandR3 => "Rubber Band R3 --fine -F".into(),
            Method::RubberBandR2 => "Rubber Band R2 -F".into(),
            Method::SoxPitch => "sox pitch".into(),
        }
    }
}

/// Where Debian's alsa-utils puts its spoken channel names ("Front Center", …): a real voice,
/// recorded at 48 kHz, shipped under the GPL-2.
const REAL_SPEECH_DIR: &str = "/usr/share/sounds/alsa";
const REAL_SPEECH_FILES: [&str; 8] = [
    "Front_Center",
    "Front_Left",
    "Front_Right",
    "Rear_Center",
    "Rear_Left",
    "Rear_Right",
    "Side_Left",
    "Side_Right",
];

/// The alsa-utils recordings joined by 0.3 s pauses (installing the package if allowed and
/// missing), with Affetto's Studio track of them standing in for a truth no one has: scores
/// against it say how faithfully a method carries the voice's own contour.
pub(crate) fn real_speech(may_install: bool) -> Option<VoiceRender> {
    let dir = Path::new(REAL_SPEECH_DIR);
    if !dir.exists() && may_install {
        succeeds(Command::new("apt-get").args(["install", "-y", "-q", "alsa-utils"]));
    }
    let mut samples = Vec::new();
    for name in REAL_SPEECH_FILES {
        let mut reader = hound::WavReader::open(dir.join(format!("{name}.wav"))).ok()?;
        let spec = reader.spec();
        if spec.sample_rate != SAMPLE_RATE_HZ || spec.channels != 1 || spec.bits_per_sample != 16 {
            return None;
        }
        samples.extend(
            reader
                .samples::<i16>()
                .map(|s| s.map_or(0.0, |v| v as f32 / 32768.0)),
        );
        samples.extend(std::iter::repeat_n(0.0, 3 * SAMPLE_RATE_HZ as usize / 10));
    }
    samples.resize(samples.len().div_ceil(240) * 240, 0.0);
    let frames = samples.len() / 240;
    let (track, _) = affetto_track(&samples, AnalysisMode::Studio, frames);
    let frames = track
        .iter()
        .enumerate()
        .map(|(i, &f0_hz)| FrameTruth {
            time_s: i as f64 * 0.005,
            f0_hz,
            voiced: f0_hz > 0.0,
            vibrato: None,
        })
        .collect();
    Some(VoiceRender {
        samples,
        sample_rate_hz: SAMPLE_RATE_HZ,
        frames,
    })
}

/// Vowel lengthening asked for in the timing measurement.
const VOWEL_STRETCH: f32 = 1.25;

/// Voiced runs shorter than this are not vowels (flicker at consonant edges) and gaps shorter
/// than this do not split a vowel.
const MIN_RUN_S: f64 = 0.04;

/// Voiced runs `(start_s, end_s)` of a per-frame F0 track, gaps < [`MIN_RUN_S`] bridged.
fn voiced_runs(track: &[f32]) -> Vec<(f64, f64)> {
    let hop_s = 0.005;
    let mut runs: Vec<(f64, f64)> = Vec::new();
    let mut start = None;
    for (i, &f0) in track.iter().chain(std::iter::once(&0.0)).enumerate() {
        match (start, f0 > 0.0) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                let run = (s as f64 * hop_s, i as f64 * hop_s);
                match runs.last_mut() {
                    Some(last) if run.0 - last.1 < MIN_RUN_S => last.1 = run.1,
                    _ => runs.push(run),
                }
                start = None;
            }
            _ => {}
        }
    }
    runs.retain(|(s, e)| e - s >= MIN_RUN_S);
    runs
}

/// What lengthening vowels did.
struct Stretched {
    /// The output, latency removed.
    samples: Vec<f32>,
    /// Largest timing offsets behind and ahead of the nominal delay, in samples.
    behind_samples: f64,
    ahead_samples: f64,
    /// The offset once the input (with its trailing pause) is through: 0 when the output ends in
    /// step with the input, i.e. total duration is kept.
    final_offset_samples: f64,
    latency_samples: usize,
    /// The timing offset after every block, and how far behind it may go.
    offset_per_block: Vec<f64>,
    behind_room_samples: f64,
}

/// Renders `input` in Studio mode with vowels lengthened by [`VOWEL_STRETCH`].
fn affetto_stretch(input: &[f32]) -> Stretched {
    let mut engine = Engine::new(1);
    engine.prepare(SAMPLE_RATE_HZ as f32, BLOCK, AnalysisMode::Studio);
    let controls = Controls {
        vowel_stretch: VOWEL_STRETCH,
        ..Controls::default()
    };
    engine.reset(&controls);
    let latency = engine.latency_samples() as usize;
    let mut samples = input.to_vec();
    samples.resize(input.len() + latency, 0.0);
    let (mut behind, mut ahead) = (0.0f64, 0.0f64);
    let mut offset_per_block = Vec::with_capacity(samples.len() / BLOCK + 1);
    for block in samples.chunks_mut(BLOCK) {
        engine.process(&mut [block], &controls);
        behind = behind.max(engine.timing_offset_samples());
        ahead = ahead.min(engine.timing_offset_samples());
        offset_per_block.push(engine.timing_offset_samples());
    }
    samples.drain(..latency);
    Stretched {
        samples,
        behind_samples: behind,
        ahead_samples: -ahead,
        final_offset_samples: engine.timing_offset_samples(),
        latency_samples: latency,
        // The trace is in output blocks from the first input sample; drop the latency's worth.
        offset_per_block: offset_per_block.split_off(latency / BLOCK),
        behind_room_samples: engine.timing_room_samples().1,
    }
}

/// One method's render of one shift: the output aligned to the input, and the seconds spent.
struct Render {
    samples: Vec<f32>,
    seconds: f64,
}

fn affetto_shift(input: &[f32], mode: AnalysisMode, shift_st: f32) -> Render {
    let mut engine = Engine::new(1);
    engine.prepare(SAMPLE_RATE_HZ as f32, BLOCK, mode);
    let controls = Controls {
        pitch_shift_st: shift_st,
        ..Controls::default()
    };
    engine.reset(&controls);
    let latency = engine.latency_samples() as usize;
    let mut samples = input.to_vec();
    samples.resize(input.len() + latency, 0.0);
    let started = Instant::now();
    for block in samples.chunks_mut(BLOCK) {
        engine.process(&mut [block], &controls);
    }
    let seconds = started.elapsed().as_secs_f64();
    samples.drain(..latency);
    Render { samples, seconds }
}

pub(crate) fn run_peer(method: Method, input: &Path, output: &Path, shift_st: f32) -> Result<f64> {
    let mut command = match method {
        Method::RubberBandR3 | Method::RubberBandR2 => {
            let mut command = Command::new("rubberband");
            if method == Method::RubberBandR3 {
                command.arg("--fine");
            }
            command.args(["-q", "-F", "-p", &shift_st.to_string()]);
            command.arg(input).arg(output);
            command
        }
        Method::SoxPitch => {
            let mut command = Command::new("sox");
            command.arg(input).arg(output);
            command.args(["pitch", &(100.0 * shift_st).to_string()]);
            command
        }
        Method::Affetto(_) => unreachable!("Affetto runs in process"),
    };
    let started = Instant::now();
    let out = command
        .output()
        .with_context(|| format!("cannot run {}", method.name()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            method.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Offset (samples, output later than input is positive) within ±50 ms that best lines up the
/// 1 ms energy envelopes of `output` and `input`: peers have their own small delays.
fn alignment_offset(input: &[f32], output: &[f32]) -> i64 {
    const STEP: usize = 48;
    let best = (
        synth::alignment::envelope_lag_ms(input, output, SAMPLE_RATE_HZ, 50),
        (),
    );
    // Refine to the sample on the raw signals around the coarse lag.
    let coarse = best.0 * STEP as i64;
    let mut fine = (coarse, f64::NEG_INFINITY);
    let span = input.len().min(output.len()).saturating_sub(4 * STEP);
    for lag in coarse - STEP as i64..=coarse + STEP as i64 {
        let mut sum = 0.0;
        for i in (2 * STEP..span).step_by(7) {
            let j = i as i64 + lag;
            if j >= 0 && (j as usize) < output.len() {
                sum += input[i] as f64 * output[j as usize] as f64;
            }
        }
        if sum > fine.1 {
            fine = (lag, sum);
        }
    }
    fine.0
}

fn shifted(output: &[f32], offset: i64, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let j = i as i64 + offset;
            if j >= 0 && (j as usize) < output.len() {
                output[j as usize]
            } else {
                0.0
            }
        })
        .collect()
}

/// Median and 95th percentile of absolute pitch errors (cents) of `track` against the truth
/// scaled by `ratio`, and the share of scored truth-voiced frames the track calls voiced.
fn pitch_errors(truth: &[FrameTruth], track: &[f32], ratio: f64) -> (f64, f64, f64) {
    let mut errors = Vec::new();
    let mut scored = 0usize;
    for i in VOICING_EDGE_FRAMES..truth.len().saturating_sub(VOICING_EDGE_FRAMES) {
        let window = &truth[i - VOICING_EDGE_FRAMES..=i + VOICING_EDGE_FRAMES];
        if !window.iter().all(|t| t.voiced) {
            continue;
        }
        scored += 1;
        if let Some(&f0) = track.get(i).filter(|f| **f > 0.0) {
            let expected = truth[i].f0_hz as f64 * ratio;
            errors.push((1200.0 * (f0 as f64 / expected).log2()).abs());
        }
    }
    let voiced_share = errors.len() as f64 / scored.max(1) as f64;
    let (median, p95) = median_p95(&mut errors);
    (median, p95, voiced_share)
}

/// Median and 95th percentile of |cents| between `output_track` and `input_track` × `ratio`,
/// both from the same tracker, on the frames [`pitch_errors`] scores: how faithfully the shift
/// carries the input's own contour, with the tracker's error against the truth taken out.
fn transfer_errors(
    truth: &[FrameTruth],
    input_track: &[f32],
    output_track: &[f32],
    ratio: f64,
) -> (f64, f64) {
    let mut errors = Vec::new();
    for i in VOICING_EDGE_FRAMES..truth.len().saturating_sub(VOICING_EDGE_FRAMES) {
        if !truth[i - VOICING_EDGE_FRAMES..=i + VOICING_EDGE_FRAMES]
            .iter()
            .all(|t| t.voiced)
        {
            continue;
        }
        let (a, b) = (input_track[i] as f64, output_track[i] as f64);
        if a > 0.0 && b > 0.0 {
            errors.push((1200.0 * (b / (a * ratio)).log2()).abs());
        }
    }
    median_p95(&mut errors)
}

/// Cepstrally smoothed log-power envelopes (dB) of every frame, over the band's bins.
struct EnvelopeAnalyser {
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    window: Vec<f64>,
    band: std::ops::Range<usize>,
}

impl EnvelopeAnalyser {
    fn new() -> Self {
        let mut planner = RealFftPlanner::<f64>::new();
        let bin_hz = SAMPLE_RATE_HZ as f64 / ENVELOPE_FRAME as f64;
        Self {
            forward: planner.plan_fft_forward(ENVELOPE_FRAME),
            inverse: planner.plan_fft_inverse(ENVELOPE_FRAME),
            window: (0..ENVELOPE_FRAME)
                .map(|i| {
                    0.5 - 0.5
                        * (2.0 * std::f64::consts::PI * i as f64 / ENVELOPE_FRAME as f64).cos()
                })
                .collect(),
            band: (ENVELOPE_BAND_HZ.0 / bin_hz).round() as usize
                ..(ENVELOPE_BAND_HZ.1 / bin_hz).round() as usize,
        }
    }

    /// The level-removed envelope of the frame starting at `start`.
    fn envelope_db(&self, signal: &[f32], start: usize) -> Vec<f64> {
        let mut frame: Vec<f64> = (0..ENVELOPE_FRAME)
            .map(|i| signal.get(start + i).copied().unwrap_or(0.0) as f64 * self.window[i])
            .collect();
        let mut spectrum = self.forward.make_output_vec();
        self.forward.process(&mut frame, &mut spectrum).unwrap();
        let mut log_power: Vec<realfft::num_complex::Complex<f64>> = spectrum
            .iter()
            .map(|c| (c.norm_sqr() + 1e-12).ln().into())
            .collect();
        let mut cepstrum = self.inverse.make_output_vec();
        self.inverse.process(&mut log_power, &mut cepstrum).unwrap();
        for (q, c) in cepstrum.iter_mut().enumerate() {
            let quefrency = q.min(ENVELOPE_FRAME - q);
            if quefrency > LIFTER_SAMPLES {
                *c = 0.0;
            }
            *c /= ENVELOPE_FRAME as f64;
        }
        let mut smoothed = self.forward.make_output_vec();
        self.forward.process(&mut cepstrum, &mut smoothed).unwrap();
        let envelope: Vec<f64> = smoothed[self.band.clone()]
            .iter()
            .map(|c| c.re * 10.0 / std::f64::consts::LN_10)
            .collect();
        let mean = envelope.iter().sum::<f64>() / envelope.len() as f64;
        envelope.into_iter().map(|e| e - mean).collect()
    }

    /// Medians over frames voiced in the truth of the RMS difference (dB) between envelopes:
    /// over all of them, and over those whose F0 stays at or above [`HIGH_VOICE_F0_HZ`] (`None`
    /// where there are fewer than [`MIN_HIGH_VOICE_FRAMES`]).
    fn median_distances_db(
        &self,
        truth: &[FrameTruth],
        input: &[f32],
        output: &[f32],
    ) -> (f64, Option<f64>) {
        let (mut all, mut high) = (Vec::new(), Vec::new());
        let mut start = 0;
        while start + ENVELOPE_FRAME <= input.len() {
            let centre_frame = (start + ENVELOPE_FRAME / 2) / 240;
            let around =
                truth.get(centre_frame.saturating_sub(4)..(centre_frame + 5).min(truth.len()));
            if around.is_some_and(|w| w.iter().all(|t| t.voiced)) {
                let (a, b) = (
                    self.envelope_db(input, start),
                    self.envelope_db(output, start),
                );
                let squared: f64 =
                    a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
                all.push(squared.sqrt());
                if around.is_some_and(|w| w.iter().all(|t| t.f0_hz >= HIGH_VOICE_F0_HZ)) {
                    high.push(squared.sqrt());
                }
            }
            start += ENVELOPE_HOP;
        }
        let high = (high.len() >= MIN_HIGH_VOICE_FRAMES).then(|| median_p95(&mut high).0);
        (median_p95(&mut all).0, high)
    }
}

/// Clicks in `output` that `input` does not have (the shared detector).
fn count_clicks(input: &[f32], output: &[f32]) -> usize {
    click_blocks(input, output).len()
}

struct Row {
    input: &'static str,
    shift_st: f32,
    method: String,
    tracker: (f64, f64, f64),
    /// Against the input's own track × ratio.
    transfer: (f64, f64),
    aubio: Option<(f64, f64)>,
    envelope_db: f64,
    /// The same over voices at or above [`HIGH_VOICE_F0_HZ`].
    high_voice_envelope_db: Option<f64>,
    clicks: usize,
    cpu_per_s: f64,
    /// Affetto Studio's CPU time over this method's, same shift, same input.
    affetto_ratio: f64,
}

/// The peer methods whose programs are here, installing Debian's `rubberband-cli` and `sox` if
/// they are missing and apt-get may; says which are left out.
pub(crate) fn installed_peers() -> Vec<Method> {
    let found_or_installed = |program: &str, package: &str| {
        succeeds(Command::new(program).arg("--version"))
            || (succeeds(Command::new("apt-get").args(["install", "-y", "-q", package]))
                && succeeds(Command::new(program).arg("--version")))
    };
    let mut peers = Vec::new();
    if found_or_installed("rubberband", "rubberband-cli") {
        peers.extend([Method::RubberBandR3, Method::RubberBandR2]);
    } else {
        println!("peer missing, left out: rubberband (could not be found or installed)");
    }
    if found_or_installed("sox", "sox") {
        peers.push(Method::SoxPitch);
    } else {
        println!("peer missing, left out: sox (could not be found or installed)");
    }
    peers
}

/// `with_peers`: false renders and scores Affetto alone.
pub fn run(with_peers: bool) -> Result<()> {
    let out_dir = crate::report_dir("resynth-eval")?;

    let mut methods = vec![
        Method::Affetto(AnalysisMode::Live),
        Method::Affetto(AnalysisMode::Studio),
    ];
    if with_peers {
        methods.extend(installed_peers());
    }
    let aubio = peers()
        .into_iter()
        .find(|p| with_peers && p.name.starts_with("aubio"))
        .filter(|p| (p.probe)() || ((p.install)() && (p.probe)()));

    let envelopes = EnvelopeAnalyser::new();
    let all_conditions = conditions();
    let mut inputs: Vec<(&'static str, VoiceRender)> = [("singing", 0usize), ("speech", 1usize)]
        .into_iter()
        .map(|(name, index)| (name, render_set(&all_conditions[index], index as u64, 1)))
        .collect();
    inputs.push((
        "high singing",
        crate::emotion_eval::singing_voice(crate::pitch_eval::PIECE_S),
    ));
    match real_speech(with_peers) {
        Some(voice) => inputs.push(("real speech", voice)),
        None => {
            println!("real speech left out: alsa-utils' recordings could not be found or installed")
        }
    }
    let mut rows = Vec::new();
    let mut detector_checks = Vec::new();
    for (input_name, voice) in &inputs {
        let input_name = *input_name;
        let input_wav = out_dir.join(format!("{input_name}.wav"));
        write_wav(&input_wav, &voice.samples)?;
        let input = read_wav(&input_wav)?;
        let frames = voice.frames.len();
        // aubio's own frame offset, fitted once on the unshifted input.
        let aubio_offset = match &aubio {
            Some(peer) => {
                let lines = parse_time_f0(&(peer.run)(&input_wav, &out_dir.join("aubio-input"))?);
                (-10..=10)
                    .min_by(|&a, &b| {
                        let ea = pitch_errors(&voice.frames, &grid_track(&lines, frames, a), 1.0).0;
                        let eb = pitch_errors(&voice.frames, &grid_track(&lines, frames, b), 1.0).0;
                        ea.total_cmp(&eb)
                    })
                    .unwrap_or(0)
            }
            None => 0,
        };
        // The measuring floor: the scorer on the untouched input.
        let (input_track, _) = affetto_track(&input, AnalysisMode::Studio, frames);
        let floor = pitch_errors(&voice.frames, &input_track, 1.0);
        println!(
            "{input_name} unshifted input: pitch {:.1}/{:.1} cents (the scorer's floor)",
            floor.0, floor.1
        );
        rows.push(Row {
            input: input_name,
            shift_st: 0.0,
            method: "input (scorer's floor)".into(),
            tracker: floor,
            transfer: (0.0, 0.0),
            aubio: None,
            envelope_db: 0.0,
            high_voice_envelope_db: None,
            clicks: 0,
            cpu_per_s: 0.0,
            affetto_ratio: f64::NAN,
        });
        // The click detector's own check: steps of 0.02 (−34 dBFS) added at 20 places in the
        // input should be found.
        let mut clicked = input.clone();
        for k in 0..20 {
            let at = (k + 1) * input.len() / 21;
            clicked[at..].iter_mut().for_each(|x| *x += 0.02);
        }
        println!(
            "{input_name}: click detector finds {} of 20 injected steps",
            count_clicks(&input, &clicked)
        );
        detector_checks.push((input_name, count_clicks(&input, &clicked)));
        for shift_st in SHIFTS_ST {
            let ratio = 2f64.powf(shift_st as f64 / 12.0);
            let mut affetto_studio_seconds = f64::NAN;
            for &method in &methods {
                let output_wav = out_dir.join(format!(
                    "{input_name}{shift_st:+}-{}.wav",
                    method
                        .name()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join("-")
                ));
                let render = match method {
                    Method::Affetto(mode) => {
                        let render = affetto_shift(&input, mode, shift_st);
                        write_wav(&output_wav, &render.samples)?;
                        if mode == AnalysisMode::Studio {
                            affetto_studio_seconds = render.seconds;
                        }
                        render
                    }
                    _ => {
                        let seconds = run_peer(method, &input_wav, &output_wav, shift_st)?;
                        Render {
                            samples: read_wav(&output_wav)?,
                            seconds,
                        }
                    }
                };
                // Affetto's output is already trimmed by the latency it reports (the host and dsp
                // tests hold that to the millisecond); the peers' own delays are found here.
                let offset = match method {
                    Method::Affetto(_) => 0,
                    _ => alignment_offset(&input, &render.samples),
                };
                let output = shifted(&render.samples, offset, input.len());
                if offset != 0 {
                    write_wav(&output_wav, &output)?;
                }
                let (track, _) = affetto_track(&output, AnalysisMode::Studio, frames);
                let aubio_errors = match &aubio {
                    Some(peer) => {
                        let lines = parse_time_f0(&(peer.run)(&output_wav, &output_wav)?);
                        let track = grid_track(&lines, frames, aubio_offset);
                        let (median, p95, _) = pitch_errors(&voice.frames, &track, ratio);
                        Some((median, p95))
                    }
                    None => None,
                };
                let audio_s = input.len() as f64 / SAMPLE_RATE_HZ as f64;
                let (envelope_db, high_voice_envelope_db) =
                    envelopes.median_distances_db(&voice.frames, &input, &output);
                let row = Row {
                    input: input_name,
                    shift_st,
                    method: method.name(),
                    tracker: pitch_errors(&voice.frames, &track, ratio),
                    transfer: transfer_errors(&voice.frames, &input_track, &track, ratio),
                    aubio: aubio_errors,
                    envelope_db,
                    high_voice_envelope_db,
                    clicks: count_clicks(&input, &output),
                    cpu_per_s: render.seconds / audio_s,
                    affetto_ratio: affetto_studio_seconds / render.seconds,
                };
                println!(
                    "{input_name} {shift_st:+} st {}: pitch {:.1}/{:.1} cents, envelope {:.2} dB, \
                     clicks {}, {:.2} ms/s (offset {offset})",
                    row.method,
                    row.tracker.0,
                    row.tracker.1,
                    row.envelope_db,
                    row.clicks,
                    1000.0 * row.cpu_per_s
                );
                rows.push(row);
            }
        }
    }

    let mut report = String::new();
    writeln!(
        report,
        "Pitch errors are median / p95 of |cents| against truth × ratio (voiced share of scored \
         frames in brackets), and against the input's own track × ratio (the shift's fidelity with \
         the tracker's error against the truth taken out); envelope = median level-removed log-spectral distance of cepstral \
         envelopes, 200 Hz – 5 kHz, over all voiced frames and over those at F0 ≥ 300 Hz; clicks = 2 ms blocks whose high-frequency peak stands out \
         from its ±20 ms and from the input at the same time; CPU = ms per second of 48 kHz audio; ratio = Affetto Studio's CPU time / the \
         method's, same input and shift.\n"
    )?;
    writeln!(
        report,
        "| input | shift st | method | pitch (Affetto tracker) | pitch vs input's track | pitch (aubio) | envelope dB | envelope dB, F0 ≥ 300 Hz | clicks | CPU ms/s | Affetto/method CPU |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    for row in &rows {
        let aubio = row
            .aubio
            .map_or("–".into(), |(m, p)| format!("{m:.1} / {p:.1}"));
        let high_voice = row
            .high_voice_envelope_db
            .map_or("–".into(), |d| format!("{d:.2}"));
        writeln!(
            report,
            "| {} | {:+} | {} | {:.1} / {:.1} ({:.1} %) | {:.1} / {:.1} | {aubio} | {:.2} | {high_voice} | {} | {:.1} | {:.2} |",
            row.input,
            row.shift_st,
            row.method,
            row.tracker.0,
            row.tracker.1,
            100.0 * row.tracker.2,
            row.transfer.0,
            row.transfer.1,
            row.envelope_db,
            row.clicks,
            1000.0 * row.cpu_per_s,
            row.affetto_ratio
        )?;
    }
    for (input_name, found) in &detector_checks {
        writeln!(
            report,
            "\nClick detector check ({input_name}): {found} of 20 steps of 0.02 added to the input found."
        )?;
    }
    writeln!(
        report,
        "\nVowel timing (Affetto Studio, vowel stretch {VOWEL_STRETCH}): voiced runs (≥ 40 ms) of \
         the input matched to the output's (first run starting within ±80 ms), both found by \
         Affetto's Studio tracker.\n"
    )?;
    writeln!(
        report,
        "| input | runs | matched | median growth | runs grown ≥ 20 % | of those whose room allowed it | their total growth | longest delay ms (budget 250) | furthest ahead ms | offset at the end ms |"
    )?;
    writeln!(report, "|---|---|---|---|---|---|---|---|---|---|")?;
    for (input_name, voice) in &inputs {
        let frames = voice.frames.len();
        let stretched = affetto_stretch(&voice.samples);
        let output = &stretched.samples;
        write_wav(
            &out_dir.join(format!("{input_name}-vowels-x1.25.wav")),
            output,
        )?;
        let ms = |samples: f64| 1000.0 * samples / SAMPLE_RATE_HZ as f64;
        // A run can grow by 20 % only if the lag it starts with leaves that much room behind:
        // what the pauses before it gave back (or banked) is what it has.
        let room_at_s = |start_s: f64| -> f64 {
            let block = (start_s * SAMPLE_RATE_HZ as f64) as usize / BLOCK;
            let lag = stretched
                .offset_per_block
                .get(block)
                .copied()
                .unwrap_or(0.0);
            (stretched.behind_room_samples - lag) / SAMPLE_RATE_HZ as f64
        };
        let input_runs =
            voiced_runs(&affetto_track(&voice.samples, AnalysisMode::Studio, frames).0);
        let output_runs = voiced_runs(&affetto_track(output, AnalysisMode::Studio, frames).0);
        let matched: Vec<(f64, f64, f64)> = input_runs
            .iter()
            .filter_map(|&(start, end)| {
                output_runs
                    .iter()
                    .find(|(s, _)| (s - start).abs() <= 0.08)
                    .map(|(s, e)| (end - start, (e - s) / (end - start) - 1.0, room_at_s(*s)))
            })
            .collect();
        let grown = matched.iter().filter(|(_, g, _)| *g >= 0.2).count();
        let fitting: Vec<_> = matched
            .iter()
            .filter(|(len, _, room_s)| 0.2 * len <= *room_s)
            .collect();
        let fitting_grown = fitting.iter().filter(|(_, g, _)| *g >= 0.2).count();
        // Their growth taken together: a run's ends are found to a 5 ms frame each, which on the
        // 55–130 ms runs of speech is as much as the 5 % between the 25 % asked and the 20 %
        // each is judged by.
        let fitting_in_s: f64 = fitting.iter().map(|(len, _, _)| len).sum();
        let fitting_out_s: f64 = fitting.iter().map(|(len, g, _)| len * (1.0 + g)).sum();
        let fitting_growth = fitting_out_s / fitting_in_s.max(1e-9) - 1.0;
        let mut growth: Vec<f64> = matched.iter().map(|(_, g, _)| *g).collect();
        let (median_growth, _) = median_p95(&mut growth);
        let line = format!(
            "| {input_name} | {} | {} | {:+.1} % | {grown} ({:.0} %) | {fitting_grown} of {} | {:+.1} % | {:.1} | {:.1} | {:.1} |",
            input_runs.len(),
            matched.len(),
            100.0 * median_growth,
            100.0 * grown as f64 / matched.len().max(1) as f64,
            fitting.len(),
            100.0 * fitting_growth,
            ms(stretched.latency_samples as f64 + stretched.behind_samples),
            ms(stretched.ahead_samples),
            ms(stretched.final_offset_samples)
        );
        println!("{line}");
        writeln!(report, "{line}")?;
    }
    let report_path = out_dir.join("report.md");
    std::fs::write(&report_path, &report)?;
    println!("\n{report}\nwritten to {}", report_path.display());
    Ok(())
}
