//! `affetto render`: a WAV file through the same `Engine` the plugin runs, in host-sized blocks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use affetto_dsp::emotion::{EmotionDirection, StyleProfile};
use affetto_dsp::pitch::neural::NeuralCounts;
use affetto_dsp::{AnalysisMode, Controls, Engine};
use anyhow::{Result, bail};
use hound::{SampleFormat, WavSpec};
use indicatif::{ProgressBar, ProgressStyle};

use crate::neural::{hop_samples, offline_neural, serve, summary};
use affetto::reference::{reference_style_of_wav, style_of_wav};
use affetto::wav::{WavInput, WavOutput, format_name};

/// Files longer than this get a progress bar (shorter ones finish before it would be read).
const PROGRESS_BAR_MIN_S: f64 = 20.0;

pub struct RenderJob {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Host block size to emulate, 1..=8192.
    pub block_frames: usize,
    /// Output encoding; `None` keeps the input's.
    pub output_format: Option<(SampleFormat, u16)>,
    pub show_progress: bool,
    /// A recording whose prosodic style the input is moved towards.
    pub reference: Option<PathBuf>,
}

pub struct RenderReport {
    pub spec: WavSpec,
    pub frames: u64,
    pub latency_samples: u32,
    pub elapsed: Duration,
    pub reference_style: Option<StyleProfile>,
    /// The neural worker's counters (Studio mode).
    pub neural: Option<NeuralCounts>,
}

impl RenderReport {
    pub fn summary(&self, job: &RenderJob) -> String {
        let seconds = self.frames as f64 / self.spec.sample_rate as f64;
        let speed = seconds / self.elapsed.as_secs_f64().max(1e-9);
        let reference = match &self.reference_style {
            Some(style) => format!(
                "; reference style: median {:.1} st (MIDI), IQR {:.1} st, vibrato {:.0} % of voice \
                 ({:.1} Hz, {:.0} cents), voiced runs {:.2} s, loudness spread {:.1} dB, tilt {:.1} dB",
                style.f0_median_st,
                style.f0_iqr_st,
                100.0 * style.vibrato_presence,
                style.vibrato_rate_hz,
                style.vibrato_extent_cents,
                style.voiced_run_s,
                style.loudness_spread_db,
                style.tilt_db,
            ),
            None => String::new(),
        };
        let neural = self
            .neural
            .map_or(String::new(), |counts| format!("; {}", summary(&counts)));
        format!(
            "wrote {} ({seconds:.2} s, {} Hz, {} ch, {}-bit {}) in {:.2} s ({speed:.0}× real time); \
             plugin latency {} samples, compensated{neural}{reference}",
            job.output.display(),
            self.spec.sample_rate,
            self.spec.channels,
            self.spec.bits_per_sample,
            format_name(self.spec.sample_format),
            self.elapsed.as_secs_f64(),
            self.latency_samples,
        )
    }
}

/// Renders `job` with the engine set to `controls`. The output is as long as the input and
/// time-aligned with it: the engine's latency is trimmed from the start and flushed at the end.
pub fn render(job: &RenderJob, controls: &Controls, mode: AnalysisMode) -> Result<RenderReport> {
    let started = Instant::now();
    // A render can analyse the whole input first, as a plugin cannot: the direction towards a
    // reference is then the same from the first note, and the F0 range turns around the take's
    // own median. Only worth the extra pass when the voice is to be changed.
    let reference_style = match &job.reference {
        Some(path) => Some(reference_style_of_wav(path)?),
        None => None,
    };
    let emotion_asked = controls.emotion.direction(None) != EmotionDirection::NEUTRAL;
    let input_style = if reference_style.is_some() || emotion_asked {
        style_of_wav(&job.input)?
    } else {
        None
    };
    let input = WavInput::open(&job.input)?;
    let input_frames = input.frames;
    if same_file(&job.input, &job.output) {
        bail!(
            "{} is the input; choose another output file",
            job.output.display()
        );
    }
    let mut spec = input.spec;
    if let Some((format, bits)) = job.output_format {
        spec.sample_format = format;
        spec.bits_per_sample = bits;
    }
    let output = WavOutput::create(&job.output, spec)?;
    let result = stream(
        job,
        input,
        output,
        spec,
        controls,
        mode,
        (reference_style, input_style),
    );
    if result.is_err() {
        // A half-written file would look like a finished render in a file browser.
        let _ = std::fs::remove_file(&job.output);
    }
    let (latency_samples, neural) = result?;
    Ok(RenderReport {
        neural,
        spec,
        frames: input_frames,
        latency_samples,
        elapsed: started.elapsed(),
        reference_style,
    })
}

/// Streams the whole input through a new engine into `output`; returns the compensated latency
/// and the neural worker's counters.
fn stream(
    job: &RenderJob,
    mut input: WavInput,
    mut output: WavOutput,
    spec: WavSpec,
    controls: &Controls,
    mode: AnalysisMode,
    (reference_style, input_style): (Option<StyleProfile>, Option<StyleProfile>),
) -> Result<(u32, Option<NeuralCounts>)> {
    let channels = spec.channels as usize;
    let mut engine = Engine::new(channels);
    engine.prepare(spec.sample_rate as f32, job.block_frames, mode);
    engine.reset(controls);
    engine.set_reference_style(reference_style);
    engine.set_input_style(input_style);
    let mut service = offline_neural(mode).map(|(link, service)| {
        engine.attach_neural(link);
        service
    });
    // With the network, each block is processed a hop at a time and the network answers in
    // between (the output does not depend on the block size).
    let piece_frames = if service.is_some() {
        hop_samples(spec.sample_rate)
    } else {
        job.block_frames
    };
    let latency = engine.latency_samples() as u64;

    let progress = progress_bar(job, input.frames, spec.sample_rate);
    let mut block = vec![vec![0.0f32; job.block_frames]; channels];
    let mut processed: u64 = 0;
    let end = input.frames + latency;
    while processed < end {
        let len = (end - processed).min(job.block_frames as u64) as usize;
        let read = input.read_block(&mut block, len)?;
        if read < len && processed + (read as u64) < input.frames {
            bail!(
                "{} ended early: the header promises more samples than it holds",
                job.input.display()
            );
        }
        block
            .iter_mut()
            .for_each(|channel| channel[read..len].fill(0.0));
        for start in (0..len).step_by(piece_frames) {
            let end = (start + piece_frames).min(len);
            let mut slices: Vec<&mut [f32]> = block
                .iter_mut()
                .map(|channel| &mut channel[start..end])
                .collect();
            engine.process(&mut slices, controls);
            serve(&mut service)?;
        }

        // Output sample k of the engine belongs to input sample k - latency.
        let skip = latency.saturating_sub(processed).min(len as u64) as usize;
        output.write_block(&block, skip, len - skip)?;
        processed += len as u64;
        progress.set_position(processed.min(input.frames));
    }
    progress.finish_and_clear();
    output.finalize()?;
    Ok((latency as u32, engine.neural_counts()))
}

fn progress_bar(job: &RenderJob, frames: u64, sample_rate: u32) -> ProgressBar {
    if !job.show_progress || (frames as f64) < PROGRESS_BAR_MIN_S * sample_rate as f64 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(frames);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {percent:>3}% {elapsed_precise} (eta {eta})",
        )
        .expect("the template is a constant")
        .progress_chars("=> "),
    );
    bar.set_message(format!("rendering {}", job.input.display()));
    bar
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
