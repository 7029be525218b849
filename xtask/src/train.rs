//! `cargo xtask train`: trains the neural F0/voicing model (`affetto_dsp::pitch::neural`) on
//! the test voice and writes `dsp/models/pitch_net.safetensors`, its report
//! (`dsp/models/pitch_net_report.md`) and loss curve (`dsp/models/pitch_net_loss.png`).
//!
//! Data: 10-second pieces of random singing and speech from seeds no evaluation uses (500 000+
//! for training, 600 000+ held out), each with its own voice, breathiness, noise (pink or
//! babble, 0–30 dB SNR), room (RT60 0.2–1 s) and rate (44.1 or 48 kHz), cut into windows by the
//! tracker itself so the model sees exactly what the worker is sent. Deterministic: one seed
//! drives the pieces, the initial weights and the batches; the same command writes the same
//! file. CPU only, a few minutes on two cores.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use affetto_dsp::pitch::neural::features::{FeatureExtractor, FrameFeatures};
use affetto_dsp::pitch::neural::fusion::FUSION_WEIGHTS;
use affetto_dsp::pitch::neural::model::{
    FORMAT_VERSION, FORMAT_VERSION_KEY, PitchNet, batch_tensors,
};
use affetto_dsp::pitch::neural::{NeuralEstimate, PITCH_BINS, hz_to_bin};
use affetto_dsp::pitch::{AnalysisMode, PitchTracker, voicing_probability};
use affetto_dsp::synth::{self, Degradation, NoiseKind};
use anyhow::{Context, Result, anyhow};
use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

use crate::logistic::{fit_logistic, sigmoid};

const SEED: u64 = 20_261_128;
const TRAIN_PIECES: u64 = 160;
const HELD_OUT_PIECES: u64 = 24;
const PIECE_S: f64 = 10.0;
const TRAIN_SEED_BASE: u64 = 500_000;
const HELD_OUT_SEED_BASE: u64 = 600_000;
/// Every second frame: neighbours 5 ms apart teach little that the first did not.
const FRAME_STRIDE: u64 = 2;
const STEPS: usize = 3000;
const BATCH: usize = 256;
const LEARNING_RATE: f64 = 3e-3;
/// Width of the soft pitch label, in bins (50 cents each): CREPE's Gaussian target, so that a
/// near miss costs less than an octave error.
const LABEL_SIGMA_BINS: f32 = 1.0;
/// Steps between loss-curve points.
const LOG_EVERY: usize = 50;

struct Example {
    features: FrameFeatures,
    voiced: bool,
    /// Fractional pitch bin of the truth when voiced and on the grid.
    truth_bin: Option<f32>,
    truth_f0_hz: f32,
    /// The DSP tracker's calibrated voicing probability of the same window.
    dsp_voicing: f32,
}

/// What piece `seed` is: the voice, the degradation and the rate are all drawn from the seed.
fn render_piece(seed: u64) -> synth::VoiceRender {
    let mut rng = Pcg32::seed_from_u64(seed);
    let singing = rng.random_bool(0.5);
    let mut phrase = if singing {
        synth::random_singing(&mut rng, PIECE_S)
    } else {
        synth::random_speech(&mut rng, PIECE_S)
    };
    let breathy = rng.random_bool(0.25);
    if breathy {
        phrase.open_quotient = rng.random_range(0.6..0.85);
        phrase.breathiness = rng.random_range(0.05..0.15);
        phrase.tilt_db_per_octave = rng.random_range(-8.0..-3.0);
    }
    let mut degradation = Degradation::default();
    match rng.random_range(0..4) {
        0 => {}
        1 => degradation.noise = Some((NoiseKind::Pink, rng.random_range(0.0..30.0))),
        2 => {
            degradation.noise = Some((NoiseKind::Pink, rng.random_range(3.0..25.0)));
            degradation.reverb_rt60_s = Some(rng.random_range(0.2..1.0));
        }
        _ => {
            degradation.noise = Some((NoiseKind::Babble, rng.random_range(5.0..25.0)));
            degradation.reverb_rt60_s = Some(rng.random_range(0.2..1.0));
        }
    }
    let sample_rate_hz = if rng.random_bool(0.5) { 48_000 } else { 44_100 };
    let mut voice = synth::render(&phrase, sample_rate_hz, seed);
    synth::degrade(&mut voice, &degradation, seed);
    voice
}

/// The tracker's windows of one piece with their truth, every `FRAME_STRIDE`th frame.
fn examples_of(voice: &synth::VoiceRender, extractor: &mut FeatureExtractor) -> Vec<Example> {
    let mut tracker = PitchTracker::new(voice.sample_rate_hz as f32, AnalysisMode::Live);
    let mut examples = Vec::new();
    let mut on_window = |window: &affetto_dsp::pitch::AnalysisWindow| {
        if !window.index.is_multiple_of(FRAME_STRIDE) {
            return;
        }
        let Some(truth) = voice.frames.get(window.index as usize) else {
            return;
        };
        let mut features = FrameFeatures::default();
        extractor.compute(
            window.samples,
            window.sample_rate_hz,
            &window.voicing,
            &mut features,
        );
        let bin = hz_to_bin(truth.f0_hz);
        examples.push(Example {
            features,
            voiced: truth.voiced,
            truth_bin: (truth.voiced && (0.0..=(PITCH_BINS - 1) as f32).contains(&bin))
                .then_some(bin),
            truth_f0_hz: truth.f0_hz,
            dsp_voicing: voicing_probability(&window.voicing),
        });
    };
    for block in voice.samples.chunks(1024) {
        tracker.process_tapped(block, |_| {}, &mut on_window);
    }
    examples
}

/// Examples of pieces `base..base + count`, rendered on two threads.
fn examples(base: u64, count: u64) -> Vec<Example> {
    let halves: Vec<Vec<Example>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2u64)
            .map(|half| {
                scope.spawn(move || {
                    let mut extractor = FeatureExtractor::new();
                    (0..count)
                        .filter(|piece| piece % 2 == half)
                        .flat_map(|piece| {
                            let voice = render_piece(base + piece);
                            examples_of(&voice, &mut extractor)
                        })
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    halves.into_iter().flatten().collect()
}

/// Kaiming-normal weights and zero biases from our own generator, in name order, so the start
/// point does not depend on candle's RNG or on hash-map order.
fn initialise(varmap: &VarMap, rng: &mut Pcg32) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| anyhow!("poisoned var map"))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let count: usize = dims.iter().product();
        let values: Vec<f32> = if name.ends_with("bias") {
            vec![0.0; count]
        } else {
            let fan_in: usize = dims[1..].iter().product();
            let std = (2.0 / fan_in as f32).sqrt();
            (0..count).map(|_| std * standard_normal(rng)).collect()
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?)?;
    }
    Ok(())
}

fn standard_normal(rng: &mut Pcg32) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Loss of a batch: voicing cross-entropy over all frames plus soft-label pitch cross-entropy
/// over the voiced ones.
fn batch_loss(net: &PitchNet, batch: &[&Example]) -> Result<(Tensor, f32, f32)> {
    let device = Device::Cpu;
    let features: Vec<FrameFeatures> = batch.iter().map(|e| e.features.clone()).collect();
    let (channels, scalars) = batch_tensors(&features, &device)?;
    let output = net.forward(&channels, &scalars)?;
    let voiced: Vec<f32> = batch
        .iter()
        .map(|e| f32::from(u8::from(e.voiced)))
        .collect();
    let voiced = Tensor::from_vec(voiced, batch.len(), &device)?;
    let voicing_loss = guarded_binary_cross_entropy(&output.voicing_logits, &voiced)?;
    let mut labels = vec![0.0f32; batch.len() * PITCH_BINS];
    let mut mask = vec![0.0f32; batch.len()];
    for (i, example) in batch.iter().enumerate() {
        let Some(bin) = example.truth_bin else {
            continue;
        };
        mask[i] = 1.0;
        let row = &mut labels[i * PITCH_BINS..(i + 1) * PITCH_BINS];
        for (k, label) in row.iter_mut().enumerate() {
            let distance = (k as f32 - bin) / LABEL_SIGMA_BINS;
            *label = (-0.5 * distance * distance).exp();
        }
        let total: f32 = row.iter().sum();
        row.iter_mut().for_each(|l| *l /= total);
    }
    let voiced_count = mask.iter().sum::<f32>().max(1.0);
    let labels = Tensor::from_vec(labels, (batch.len(), PITCH_BINS), &device)?;
    let mask = Tensor::from_vec(mask, batch.len(), &device)?;
    let log_posterior = candle_nn::ops::log_softmax(&output.pitch_logits, D::Minus1)?;
    let pitch_loss = ((log_posterior * labels)?.sum(D::Minus1)? * mask)?
        .sum_all()?
        .affine(-1.0 / voiced_count as f64, 0.0)?;
    let loss = (&voicing_loss + &pitch_loss)?;
    Ok((
        loss,
        voicing_loss.to_scalar::<f32>()?,
        pitch_loss.to_scalar::<f32>()?,
    ))
}

/// Mean binary cross-entropy of `logits` against `targets`, through the sigmoid as candle's
/// `binary_cross_entropy_with_logit` does, but with the probability kept off exactly 0 and 1:
/// once a confident voicing head's sigmoid rounds to 1, candle's version takes ln 0 and the loss
/// turns NaN (it did, with a larger input). The softplus form `max(x, 0) − x·t + ln(1 + e^−|x|)`
/// avoids that too but trained measurably worse here (held-out RPA 74.8 % against 78.5 %).
fn guarded_binary_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let p = candle_nn::ops::sigmoid(logits)?.clamp(1e-7f32, 1.0f32 - 1e-7)?;
    let voiced = (targets * p.log()?)?;
    let unvoiced = (targets.affine(-1.0, 1.0)? * p.affine(-1.0, 1.0)?.log()?)?;
    Ok((voiced + unvoiced)?.neg()?.mean_all()?)
}

fn mean_loss(net: &PitchNet, examples: &[Example]) -> Result<f32> {
    let mut total = 0.0;
    let chunks = examples.chunks(1024);
    let count = chunks.len();
    for chunk in chunks {
        let refs: Vec<&Example> = chunk.iter().collect();
        total += batch_loss(net, &refs)?.0.to_scalar::<f32>()?;
    }
    Ok(total / count.max(1) as f32)
}

fn estimates(net: &PitchNet, examples: &[Example]) -> Result<Vec<NeuralEstimate>> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(1024) {
        let features: Vec<FrameFeatures> = chunk.iter().map(|e| e.features.clone()).collect();
        out.extend(net.estimate(&features)?);
    }
    Ok(out)
}

fn logit(p: f32) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4) as f64;
    (p / (1.0 - p)).ln()
}

/// Frame-level scores of voicing probabilities `voicing` and pitches `f0_hz` (0 = none).
struct FrameScores {
    rpa: f64,
    gpe: f64,
    voicing_f1: f64,
}

fn score(examples: &[Example], voicing: &[f32], f0_hz: &[f32]) -> FrameScores {
    let (mut voiced_truth, mut correct, mut both, mut gross) = (0, 0, 0, 0);
    let (mut true_positive, mut said_voiced) = (0, 0);
    for ((example, &p), &f0) in examples.iter().zip(voicing).zip(f0_hz) {
        let says_voiced = p > 0.5 && f0 > 0.0;
        said_voiced += usize::from(says_voiced);
        if !example.voiced {
            continue;
        }
        voiced_truth += 1;
        if !says_voiced {
            continue;
        }
        true_positive += 1;
        both += 1;
        let cents = 1200.0 * (f0 / example.truth_f0_hz).log2();
        correct += usize::from(cents.abs() <= 50.0);
        gross += usize::from((f0 / example.truth_f0_hz - 1.0).abs() > 0.2);
    }
    let precision = true_positive as f64 / said_voiced.max(1) as f64;
    let recall = true_positive as f64 / voiced_truth.max(1) as f64;
    FrameScores {
        rpa: correct as f64 / voiced_truth.max(1) as f64,
        gpe: gross as f64 / both.max(1) as f64,
        voicing_f1: 2.0 * precision * recall / (precision + recall).max(1e-9),
    }
}

fn plot_losses(path: &Path, train: &[(usize, f32)], held_out: &[(usize, f32)]) -> Result<()> {
    let draw_error = |e| anyhow!("drawing {}: {e:?}", path.display());
    let root = BitMapBackend::new(path, (900, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let top = train
        .iter()
        .chain(held_out)
        .map(|p| p.1)
        .fold(0.0f32, f32::max);
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .build_cartesian_2d(0.0..STEPS as f64, 0.0..top as f64 * 1.05)
        .map_err(draw_error)?;
    let grey = RGBColor(225, 225, 225);
    for step in (0..=STEPS).step_by(500) {
        let x = step as f64;
        chart
            .draw_series(LineSeries::new([(x, 0.0), (x, top as f64)], grey))
            .map_err(draw_error)?;
    }
    for level in 0..=(top.ceil() as i32) {
        let y = level as f64;
        chart
            .draw_series(LineSeries::new([(0.0, y), (STEPS as f64, y)], grey))
            .map_err(draw_error)?;
    }
    chart
        .draw_series(LineSeries::new(
            train.iter().map(|&(s, l)| (s as f64, l as f64)),
            RGBColor(30, 90, 200),
        ))
        .map_err(draw_error)?;
    chart
        .draw_series(LineSeries::new(
            held_out.iter().map(|&(s, l)| (s as f64, l as f64)),
            RGBColor(220, 80, 30).stroke_width(3),
        ))
        .map_err(draw_error)?;
    root.present().map_err(draw_error)?;
    Ok(())
}

pub fn run() -> Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let started = Instant::now();
    let train = examples(TRAIN_SEED_BASE, TRAIN_PIECES);
    let held_out = examples(HELD_OUT_SEED_BASE, HELD_OUT_PIECES);
    let data_s = started.elapsed().as_secs_f64();
    println!(
        "{} training and {} held-out frames in {data_s:.0} s",
        train.len(),
        held_out.len()
    );

    let mut rng = Pcg32::seed_from_u64(SEED);
    let varmap = VarMap::new();
    let net = PitchNet::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    initialise(&varmap, &mut rng)?;
    let params = ParamsAdamW {
        lr: LEARNING_RATE,
        weight_decay: 1e-4,
        ..Default::default()
    };
    let mut optimiser = AdamW::new(varmap.all_vars(), params)?;
    let (mut train_curve, mut held_out_curve) = (Vec::new(), Vec::new());
    let (mut running, mut running_count) = (0.0f32, 0);
    let training_started = Instant::now();
    for step in 0..STEPS {
        // Cosine decay to a tenth of the rate.
        let progress = step as f64 / STEPS as f64;
        optimiser.set_learning_rate(
            LEARNING_RATE * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())),
        );
        let batch: Vec<&Example> = (0..BATCH)
            .map(|_| &train[rng.random_range(0..train.len())])
            .collect();
        let (loss, _, _) = batch_loss(&net, &batch)?;
        optimiser.backward_step(&loss)?;
        running += loss.to_scalar::<f32>()?;
        running_count += 1;
        if (step + 1) % LOG_EVERY == 0 {
            train_curve.push((step + 1, running / running_count as f32));
            (running, running_count) = (0.0, 0);
        }
        if (step + 1) % 500 == 0 {
            let held = mean_loss(&net, &held_out)?;
            held_out_curve.push((step + 1, held));
            println!(
                "step {:>5}: training loss {:.3}, held-out loss {held:.3} ({:.0} s)",
                step + 1,
                train_curve.last().map_or(0.0, |p| p.1),
                training_started.elapsed().as_secs_f64()
            );
        }
    }
    let training_s = training_started.elapsed().as_secs_f64();

    // Fusion weights: logistic over both voicing logits, fitted on training frames.
    let train_estimates = estimates(&net, &train)?;
    let fusion_examples: Vec<([f64; 3], bool)> = train
        .iter()
        .zip(&train_estimates)
        .step_by(4)
        .map(|(e, n)| {
            (
                [1.0, logit(e.dsp_voicing), logit(n.voicing_probability)],
                e.voiced,
            )
        })
        .collect();
    let fusion = fit_logistic(&fusion_examples);

    // Held-out figures, frame by frame (no decoder): DSP voicing alone, the network alone.
    let held_estimates = estimates(&net, &held_out)?;
    let neural_voicing: Vec<f32> = held_estimates
        .iter()
        .map(|e| e.voicing_probability)
        .collect();
    let neural_f0: Vec<f32> = held_estimates.iter().map(NeuralEstimate::f0_hz).collect();
    let dsp_voicing: Vec<f32> = held_out.iter().map(|e| e.dsp_voicing).collect();
    let fused_voicing: Vec<f32> = held_out
        .iter()
        .zip(&held_estimates)
        .map(|(e, n)| {
            let z = fusion[0]
                + fusion[1] * logit(e.dsp_voicing)
                + fusion[2] * logit(n.voicing_probability);
            sigmoid(z) as f32
        })
        .collect();
    let neural = score(&held_out, &neural_voicing, &neural_f0);
    let voicing_only = |voicing: &[f32]| {
        let truth_f0: Vec<f32> = held_out.iter().map(|e| e.truth_f0_hz.max(1.0)).collect();
        score(&held_out, voicing, &truth_f0).voicing_f1
    };

    let dir = Path::new("dsp/models");
    std::fs::create_dir_all(dir)?;
    let weights_path = dir.join("pitch_net.safetensors");
    let mut tensors: std::collections::HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .map_err(|_| anyhow!("poisoned var map"))?
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
        .collect();
    tensors.insert(
        FORMAT_VERSION_KEY.to_string(),
        Tensor::new(&[FORMAT_VERSION], &Device::Cpu)?,
    );
    candle_core::safetensors::save(&tensors, &weights_path)
        .with_context(|| format!("cannot write {}", weights_path.display()))?;
    // The written file must load through the same checks the plugin applies.
    PitchNet::from_safetensors(&std::fs::read(&weights_path)?)
        .map_err(|e| anyhow!("the file just written does not load: {e}"))?;
    plot_losses(
        &dir.join("pitch_net_loss.png"),
        &train_curve,
        &held_out_curve,
    )?;

    let mut report = String::new();
    writeln!(report, "# Neural F0/voicing model: training report\n")?;
    writeln!(
        report,
        "Written by `cargo xtask train` (seed {SEED}); do not edit by hand.\n"
    )?;
    writeln!(
        report,
        "- Model: {} parameters, {} multiply-adds per frame.",
        PitchNet::parameter_count(),
        PitchNet::multiply_adds_per_frame()
    )?;
    writeln!(
        report,
        "- Data: {TRAIN_PIECES} training pieces (seeds {TRAIN_SEED_BASE}+) and {HELD_OUT_PIECES} held-out pieces (seeds {HELD_OUT_SEED_BASE}+) of {PIECE_S} s; every {FRAME_STRIDE}nd frame: {} training and {} held-out frames, made in {data_s:.0} s.",
        train.len(),
        held_out.len()
    )?;
    writeln!(
        report,
        "- Training: {STEPS} AdamW steps of {BATCH} frames, learning rate {LEARNING_RATE} with cosine decay, in {training_s:.0} s (total with data {:.0} s).",
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        report,
        "- Loss curve: `pitch_net_loss.png` (blue: training, every {LOG_EVERY} steps; orange: held out, every 500; grid: 500 steps, 1 nat).\n"
    )?;
    writeln!(
        report,
        "## Held-out frames (each frame alone, no decoder)\n"
    )?;
    writeln!(report, "| figure | value |\n|---|---|")?;
    writeln!(
        report,
        "| network RPA (within 50 cents, of truly voiced frames) | {:.2} % |",
        100.0 * neural.rpa
    )?;
    writeln!(
        report,
        "| network GPE (> 20 % off, of frames both call voiced) | {:.2} % |",
        100.0 * neural.gpe
    )?;
    writeln!(report, "| network voicing F1 | {:.3} |", neural.voicing_f1)?;
    writeln!(
        report,
        "| DSP voicing F1 (calibrated logistic) | {:.3} |",
        voicing_only(&dsp_voicing)
    )?;
    writeln!(
        report,
        "| fused voicing F1 | {:.3} |",
        voicing_only(&fused_voicing)
    )?;
    writeln!(
        report,
        "| final held-out loss | {:.3} |",
        held_out_curve.last().map_or(f32::NAN, |p| p.1)
    )?;
    writeln!(
        report,
        "\nFusion weights fitted on training frames (`FUSION_WEIGHTS` in `dsp/src/pitch/neural/fusion.rs`): [{:.3}, {:.3}, {:.3}] (in the source now: {FUSION_WEIGHTS:?}).",
        fusion[0], fusion[1], fusion[2]
    )?;
    std::fs::write(dir.join("pitch_net_report.md"), &report)?;
    println!("\n{report}");
    println!(
        "pub const FUSION_WEIGHTS: [f32; 3] = [{:.3}, {:.3}, {:.3}];",
        fusion[0], fusion[1], fusion[2]
    );
    Ok(())
}
