//! `affetto analyze`: the plugin's analysis on a WAV file (pitch, voicing, energy and the
//! contour's intonation, vibrato and jitter), one CSV row per 5 ms frame.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use affetto_dsp::pitch::{AnalysisMode, HOP_S, PitchFrame, PitchTracker};
use affetto_dsp::vibrato::{ContourDecomposer, ContourFrame};
use anyhow::{Context, Result};

use crate::neural::{hop_samples, offline_neural, serve, summary};
use affetto::wav::WavInput;

const CSV_HEADER: &str = "time_s,f0_hz,voicing_probability,energy_db,intonation_cents,vibrato_cents,jitter_cents,\
vibrato_presence,vibrato_rate_hz,vibrato_extent_cents,vibrato_phase_rad";

/// Frames read from the file at a time; any size gives the same frames.
const READ_BLOCK_FRAMES: usize = 4096;

pub struct AnalyzeJob {
    pub input: PathBuf,
    pub mode: AnalysisMode,
    /// `None` writes the CSV to stdout.
    pub csv: Option<PathBuf>,
}

pub struct AnalyzeReport {
    /// The neural worker's counters (Studio mode).
    pub neural: Option<affetto_dsp::pitch::neural::NeuralCounts>,
    pub frames: usize,
    pub voiced_frames: usize,
    pub median_f0_hz: Option<f32>,
}

impl AnalyzeReport {
    pub fn summary(&self) -> String {
        let voiced_percent = 100.0 * self.voiced_frames as f64 / self.frames.max(1) as f64;
        let median = self
            .median_f0_hz
            .map_or("-".to_owned(), |f| format!("{f:.1} Hz"));
        let neural = self
            .neural
            .map_or(String::new(), |counts| format!("; {}", summary(&counts)));
        format!(
            "{} frames, {voiced_percent:.1} % voiced, median F0 {median}{neural}",
            self.frames
        )
    }
}

pub fn analyze(job: &AnalyzeJob) -> Result<AnalyzeReport> {
    let mut input = WavInput::open(&job.input)?;
    let sample_rate_hz = input.spec.sample_rate as f32;
    let mut out: Box<dyn Write> = match &job.csv {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    writeln!(out, "{CSV_HEADER}")?;

    let mut tracker = PitchTracker::new(sample_rate_hz, job.mode);
    let mut service = offline_neural(job.mode).map(|(link, service)| {
        tracker.attach_neural(link);
        service
    });
    let hop = hop_samples(input.spec.sample_rate);
    let mut decomposer = ContourDecomposer::new(job.mode);
    let lookahead_s = decomposer.lookahead_frames() as f64 * HOP_S;
    let duration_s = input.frames as f64 / sample_rate_hz as f64;
    let channels = input.spec.channels as usize;
    let mut block = vec![vec![0.0f32; READ_BLOCK_FRAMES]; channels];
    let mut mono = vec![0.0f32; READ_BLOCK_FRAMES];
    let mut frames: Vec<ContourFrame> = Vec::new();
    let mut decompose = |frame: &PitchFrame| frames.extend(decomposer.push(frame));
    loop {
        let read = input.read_block(&mut block, READ_BLOCK_FRAMES)?;
        if read == 0 {
            break;
        }
        for (i, m) in mono[..read].iter_mut().enumerate() {
            *m = block.iter().map(|channel| channel[i]).sum::<f32>() / channels as f32;
        }
        for piece in mono[..read].chunks(hop) {
            tracker.process(piece, &mut decompose);
            serve(&mut service)?;
        }
    }
    // Silence after the end lets the analysis decide the file's last frames.
    let flush_samples =
        tracker.latency_samples() + (lookahead_s * sample_rate_hz as f64).ceil() as usize;
    for piece in vec![0.0f32; flush_samples + READ_BLOCK_FRAMES].chunks(hop) {
        tracker.process(piece, &mut decompose);
        serve(&mut service)?;
    }
    let neural = tracker.neural().map(|link| link.counters().snapshot());
    frames.retain(|frame| frame.pitch.time_s() <= duration_s);

    for frame in &frames {
        let (pitch, vibrato) = (&frame.pitch, &frame.vibrato);
        writeln!(
            out,
            "{:.3},{:.2},{:.4},{:.2},{:.2},{:.2},{:.2},{:.3},{:.3},{:.2},{:.3}",
            pitch.time_s(),
            pitch.f0_hz,
            pitch.voicing_probability,
            pitch.energy_db,
            frame.intonation_cents,
            frame.vibrato_cents,
            frame.jitter_cents,
            vibrato.presence_probability,
            vibrato.rate_hz,
            vibrato.extent_cents,
            vibrato.phase_rad,
        )?;
    }
    out.flush().context("cannot finish writing the CSV")?;

    let mut voiced: Vec<f32> = frames
        .iter()
        .filter(|f| f.pitch.voiced())
        .map(|f| f.pitch.f0_hz)
        .collect();
    voiced.sort_by(f32::total_cmp);
    Ok(AnalyzeReport {
        neural,
        frames: frames.len(),
        voiced_frames: voiced.len(),
        median_f0_hz: voiced.get(voiced.len() / 2).copied(),
    })
}
