//! `affetto analyze`: the plugin's pitch analysis on a WAV file, one CSV row per 5 ms frame.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use affetto_dsp::pitch::{AnalysisMode, PitchFrame, PitchTracker};
use anyhow::{Context, Result};

use crate::wav::WavInput;

/// Frames read from the file at a time; any size gives the same frames.
const READ_BLOCK_FRAMES: usize = 4096;

pub struct AnalyzeJob {
    pub input: PathBuf,
    pub mode: AnalysisMode,
    /// `None` writes the CSV to stdout.
    pub csv: Option<PathBuf>,
}

pub struct AnalyzeReport {
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
        format!(
            "{} frames, {voiced_percent:.1} % voiced, median F0 {median}",
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
    writeln!(out, "time_s,f0_hz,voicing_probability,energy_db")?;

    let mut tracker = PitchTracker::new(sample_rate_hz, job.mode);
    let duration_s = input.frames as f64 / sample_rate_hz as f64;
    let channels = input.spec.channels as usize;
    let mut block = vec![vec![0.0f32; READ_BLOCK_FRAMES]; channels];
    let mut mono = vec![0.0f32; READ_BLOCK_FRAMES];
    let mut frames: Vec<PitchFrame> = Vec::new();
    loop {
        let read = input.read_block(&mut block, READ_BLOCK_FRAMES)?;
        if read == 0 {
            break;
        }
        for (i, m) in mono[..read].iter_mut().enumerate() {
            *m = block.iter().map(|channel| channel[i]).sum::<f32>() / channels as f32;
        }
        tracker.process(&mono[..read], |frame| frames.push(*frame));
    }
    // Silence after the end lets the analysis decide the file's last frames.
    let flush = vec![0.0f32; tracker.latency_samples() + READ_BLOCK_FRAMES];
    tracker.process(&flush, |frame| frames.push(*frame));
    frames.retain(|frame| frame.time_s() <= duration_s);

    for frame in &frames {
        writeln!(
            out,
            "{:.3},{:.2},{:.4},{:.2}",
            frame.time_s(),
            frame.f0_hz,
            frame.voicing_probability,
            frame.energy_db
        )?;
    }
    out.flush().context("cannot finish writing the CSV")?;

    let mut voiced: Vec<f32> = frames
        .iter()
        .filter(|f| f.voiced())
        .map(|f| f.f0_hz)
        .collect();
    voiced.sort_by(f32::total_cmp);
    Ok(AnalyzeReport {
        frames: frames.len(),
        voiced_frames: voiced.len(),
        median_f0_hz: voiced.get(voiced.len() / 2).copied(),
    })
}
