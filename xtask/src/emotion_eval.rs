//! `cargo xtask emotion-eval`: what each emotion preset does to the test voice, measured on the
//! output against the contract in `shared/EMOTION.md`, plus reference-style transfer and
//! automation (intensity sweeps, preset switches) checked for clicks.
//!
//! Every statistic is measured the same way on input and output, by `StyleProfile::of_recording`
//! (the project's own tracker and decomposition with look-ahead): F0 median (semitones), F0
//! interquartile range, vibrato extent and rate where there is vibrato, the share of voiced
//! frames and the standard deviation of the frame loudness; and, on the spectrum of the voiced
//! frames, the long-term balance of 1–5 kHz over 50 Hz–1 kHz (the alpha ratio). A row passes when the measured change has the contract's sign (a change the
//! intensity makes smaller than twice a statistic's noise may also read as none), and at
//! intensity 1 lies within ±20 % of the preset's own target; a column passes when it grows
//! monotonically with the intensity.

use std::fmt::Write as _;

use affetto_dsp::emotion::{
    EmotionControls, EmotionDirection, EmotionPreset, EmotionSource, StyleProfile,
};
use affetto_dsp::pitch::{AnalysisMode, HOP_S, PitchTracker};
use affetto_dsp::synth::clicks::click_blocks_retimed;
use affetto_dsp::synth::{self, SingingStyle};
use affetto_dsp::{Controls, Engine};
use anyhow::{Result, bail};
use rand::SeedableRng;
use rand_pcg::Pcg32;
use realfft::RealFftPlanner;

use crate::pitch_eval::write_wav;
use crate::report_dir;

const SAMPLE_RATE_HZ: u32 = 48_000;
const BLOCK: usize = 64;
const VOICE_S: f64 = 30.0;
/// How far Studio vowel timing may move the output off the input (60 ms ahead, 48 ms behind).
const STUDIO_TIMING_REACH_SAMPLES: usize = 60 * SAMPLE_RATE_HZ as usize / 1000;
pub const INTENSITIES: [f32; 4] = [0.25, 0.5, 1.0, 1.5];

/// Renders `input` through a new engine in `mode`, with the controls `controls_at(sample)` for
/// each block and `reference` loaded (with `fixed_input` as the input's style, else the running
/// one); returns the output aligned to the input.
pub fn render_styled(
    input: &[f32],
    mode: AnalysisMode,
    (reference, fixed_input): (Option<StyleProfile>, Option<StyleProfile>),
    mut controls_at: impl FnMut(usize) -> Controls,
) -> Vec<f32> {
    let mut engine = Engine::new(1);
    engine.prepare(SAMPLE_RATE_HZ as f32, BLOCK, mode);
    engine.reset(&controls_at(0));
    engine.set_reference_style(reference);
    engine.set_input_style(fixed_input);
    let latency = engine.latency_samples() as usize;
    let mut samples = input.to_vec();
    samples.resize(input.len() + latency, 0.0);
    for (i, block) in samples.chunks_mut(BLOCK).enumerate() {
        engine.process(
            &mut [block],
            &controls_at((i * BLOCK).saturating_sub(latency)),
        );
    }
    samples.drain(..latency);
    samples
}

/// [`render_styled`] without a reference.
pub fn render(
    input: &[f32],
    mode: AnalysisMode,
    controls_at: impl FnMut(usize) -> Controls,
) -> Vec<f32> {
    render_styled(input, mode, (None, None), controls_at)
}

/// Controls asking for `preset` at `intensity`, nothing else.
pub fn preset_controls(preset: EmotionPreset, intensity: f32) -> Controls {
    Controls {
        emotion: EmotionControls {
            source: EmotionSource::Preset(preset),
            intensity,
            ..EmotionControls::default()
        },
        ..Controls::default()
    }
}

/// One measured statistic: how it is read off a profile pair, and the preset's target for it.
#[derive(Clone, Copy)]
pub struct Statistic {
    pub name: &'static str,
    /// Change from input to output (difference or ratio).
    pub change: fn(&Measured, &Measured) -> f32,
    /// What the direction asks for, on the same scale.
    pub target: fn(&EmotionDirection) -> f32,
    /// Ratios are judged around 1, offsets around 0.
    pub is_ratio: bool,
    /// Changes smaller than this count as "no change" (measurement noise).
    pub tolerance: f32,
    /// Only meaningful on singing (vibrato) or only in Studio mode (timing).
    pub singing_only: bool,
}

pub const STATISTICS: [Statistic; 7] = [
    Statistic {
        name: "F0 median Δst",
        change: |i, o| o.profile.f0_median_st - i.profile.f0_median_st,
        target: |d| d.f0_level_st,
        is_ratio: false,
        tolerance: 0.15,
        singing_only: false,
    },
    Statistic {
        name: "F0 IQR ×",
        change: |i, o| o.profile.f0_iqr_st / i.profile.f0_iqr_st,
        target: |d| d.f0_range_ratio,
        is_ratio: true,
        tolerance: 0.05,
        singing_only: false,
    },
    Statistic {
        name: "vib extent ×",
        change: |i, o| o.profile.vibrato_extent_cents / i.profile.vibrato_extent_cents,
        target: |d| d.vibrato_extent_ratio,
        is_ratio: true,
        tolerance: 0.06,
        singing_only: true,
    },
    Statistic {
        name: "vib rate ΔHz",
        change: |i, o| o.profile.vibrato_rate_hz - i.profile.vibrato_rate_hz,
        target: |d| d.vibrato_rate_offset_hz,
        is_ratio: false,
        tolerance: 0.1,
        singing_only: true,
    },
    Statistic {
        name: "voiced dur ×",
        change: |i, o| o.profile.voiced_share / i.profile.voiced_share,
        target: |d| d.articulation_ratio,
        is_ratio: true,
        // Pitch changes alone move the voiced share by up to 1 % (the one-control table).
        tolerance: 0.01,
        singing_only: false,
    },
    Statistic {
        name: "loudness SD ×",
        change: |i, o| o.profile.loudness_spread_db / i.profile.loudness_spread_db,
        target: |d| d.dynamics_ratio,
        is_ratio: true,
        tolerance: 0.05,
        singing_only: false,
    },
    Statistic {
        name: "alpha ΔdB",
        change: |i, o| {
            let (before, after) = shared_voiced_alpha_db(i, o);
            after - before
        },
        target: |d| d.tilt_db,
        is_ratio: false,
        tolerance: 0.5,
        singing_only: false,
    },
];

impl Statistic {
    /// The change as a signed amount away from "unchanged".
    pub fn deviation(&self, value: f32) -> f32 {
        if self.is_ratio { value - 1.0 } else { value }
    }

    /// -1, 0 or +1: the direction the contract (the target) asks for; 0 = "about neutral".
    pub fn contract_sign(&self, direction: &EmotionDirection) -> i32 {
        let t = self.deviation((self.target)(direction));
        if t.abs() <= self.tolerance {
            0
        } else {
            t.signum() as i32
        }
    }

    /// Whether `value`, measured at `intensity`, goes the contract's way. A change the intensity
    /// makes smaller than twice the measurement's noise may also read as none.
    pub fn sign_ok(&self, value: f32, direction: &EmotionDirection, intensity: f32) -> bool {
        let measured = self.measured_sign(value);
        let asked = self.deviation((self.target)(&direction.scaled(intensity)));
        measured == self.contract_sign(direction)
            || (measured == 0 && asked.abs() <= 2.0 * self.tolerance)
    }

    pub fn measured_sign(&self, value: f32) -> i32 {
        let d = self.deviation(value);
        if d.abs() <= self.tolerance {
            0
        } else {
            d.signum() as i32
        }
    }

    /// At intensity 1: within ±20 % of the target's change (or within tolerance of neutral).
    pub fn magnitude_ok(&self, value: f32, direction: &EmotionDirection) -> bool {
        let t = self.deviation((self.target)(direction));
        let m = self.deviation(value);
        (m - t).abs() <= (0.2 * t.abs()).max(self.tolerance)
    }
}

/// The two test voices: random singing (with vibrato) and random speech.
pub fn test_voices(duration_s: f64) -> [(&'static str, Vec<f32>); 2] {
    let singing = singing_voice(duration_s);
    let mut rng = Pcg32::seed_from_u64(62);
    let speech = synth::render(
        &synth::random_speech(&mut rng, duration_s),
        SAMPLE_RATE_HZ,
        62,
    );
    [("singing", singing.samples), ("speech", speech.samples)]
}

/// The sung test voice: a high voice (notes around 400 Hz), whose sparse harmonics show what the
/// grains do to an envelope; the resynthesis evaluation scores it too.
pub fn singing_voice(duration_s: f64) -> synth::VoiceRender {
    let mut rng = Pcg32::seed_from_u64(61);
    synth::render(
        &synth::random_singing(&mut rng, duration_s),
        SAMPLE_RATE_HZ,
        61,
    )
}

/// The reference-transfer check's voices: a dark, low, narrow, slow-vibrato reference and a
/// brighter, higher, wider, faster-vibrato input (different melodies and seeds).
pub fn transfer_voices(duration_s: f64) -> (Vec<f32>, Vec<f32>) {
    let (reference, input) = synth::transfer_test_styles();
    let sing = |seed: u64, style: &SingingStyle| {
        let mut rng = Pcg32::seed_from_u64(seed);
        synth::render(
            &synth::styled_singing(&mut rng, style, duration_s),
            SAMPLE_RATE_HZ,
            seed,
        )
        .samples
    };
    (sing(71, &reference), sing(72, &input))
}

/// `(name, trims, plain pitch shift)`: a resynthesis-only baseline, then each control alone.
fn single_controls() -> Vec<(&'static str, EmotionDirection, f32)> {
    let n = EmotionDirection::NEUTRAL;
    vec![
        ("pitch shift +0.01 st (resynthesis only)", n, 0.01),
        (
            "level +3 st",
            EmotionDirection {
                f0_level_st: 3.0,
                ..n
            },
            0.0,
        ),
        (
            "range ×1.4",
            EmotionDirection {
                f0_range_ratio: 1.4,
                ..n
            },
            0.0,
        ),
        (
            "range ×0.7",
            EmotionDirection {
                f0_range_ratio: 0.7,
                ..n
            },
            0.0,
        ),
        (
            "vibrato extent ×1.5",
            EmotionDirection {
                vibrato_extent_ratio: 1.5,
                ..n
            },
            0.0,
        ),
        (
            "vibrato extent ×0.6",
            EmotionDirection {
                vibrato_extent_ratio: 0.6,
                ..n
            },
            0.0,
        ),
        (
            "vibrato rate +1 Hz",
            EmotionDirection {
                vibrato_rate_offset_hz: 1.0,
                ..n
            },
            0.0,
        ),
        (
            "vibrato rate −1 Hz",
            EmotionDirection {
                vibrato_rate_offset_hz: -1.0,
                ..n
            },
            0.0,
        ),
        (
            "vibrato onset +0.3 s",
            EmotionDirection {
                vibrato_onset_delay_s: 0.3,
                ..n
            },
            0.0,
        ),
        (
            "jitter +1",
            EmotionDirection {
                jitter_amount: 1.0,
                ..n
            },
            0.0,
        ),
        (
            "jitter −1",
            EmotionDirection {
                jitter_amount: -1.0,
                ..n
            },
            0.0,
        ),
        (
            "articulation ×1.2",
            EmotionDirection {
                articulation_ratio: 1.2,
                ..n
            },
            0.0,
        ),
        (
            "articulation ×0.85",
            EmotionDirection {
                articulation_ratio: 0.85,
                ..n
            },
            0.0,
        ),
        (
            "dynamics ×1.5",
            EmotionDirection {
                dynamics_ratio: 1.5,
                ..n
            },
            0.0,
        ),
        (
            "dynamics ×0.7",
            EmotionDirection {
                dynamics_ratio: 0.7,
                ..n
            },
            0.0,
        ),
        ("tilt +4 dB", EmotionDirection { tilt_db: 4.0, ..n }, 0.0),
        ("tilt −4 dB", EmotionDirection { tilt_db: -4.0, ..n }, 0.0),
        (
            "breath 0.5",
            EmotionDirection {
                breath_amount: 0.5,
                ..n
            },
            0.0,
        ),
    ]
}

/// What is measured on a voice.
pub struct Measured {
    pub profile: StyleProfile,
    /// Per 2048-sample frame (hop 1024): power in 50 Hz–1 kHz and in 1–5 kHz, and whether the
    /// tracker found the frame mostly voiced. The alpha ratio (1–5 kHz over 50 Hz–1 kHz, the
    /// vocal-effort measure) is averaged per frame over the frames voiced in *both* input and
    /// output: it is a quality of phonation, and frames voiced in only one of them (a consonant
    /// the timing moved, a voicing decision that flipped) swung a voiced-only long-term figure
    /// by up to 17 dB. On the spectrum itself rather than the profile's LPC envelope, which moves
    /// with F0.
    pub bands: Vec<(f64, f64, bool)>,
}

fn profile(samples: &[f32]) -> Result<StyleProfile> {
    match StyleProfile::of_recording(samples, SAMPLE_RATE_HZ as f32) {
        Some(p) => Ok(p),
        None => bail!("no voice found in a render"),
    }
}

pub fn measure(samples: &[f32]) -> Result<Measured> {
    Ok(Measured {
        profile: profile(samples)?,
        bands: spectral_bands(samples),
    })
}

/// The mean per-frame alpha ratio, dB, of `input` and of `output` over the frames voiced in
/// both. Per frame and in dB, so a loudness change of whole frames (the dynamics) does not read
/// as a change of tilt, as it did in a long-term spectrum (×1.5 dynamics moved that by −1.5 dB).
fn shared_voiced_alpha_db(input: &Measured, output: &Measured) -> (f32, f32) {
    let alpha =
        |(low, high, _): &(f64, f64, bool)| 10.0 * (high.max(1e-20) / low.max(1e-20)).log10();
    let (mut sums, mut count) = ([0.0f64; 2], 0usize);
    for (a, b) in input.bands.iter().zip(&output.bands) {
        if a.2 && b.2 {
            sums[0] += alpha(a);
            sums[1] += alpha(b);
            count += 1;
        }
    }
    let count = count.max(1) as f64;
    ((sums[0] / count) as f32, (sums[1] / count) as f32)
}

fn spectral_bands(samples: &[f32]) -> Vec<(f64, f64, bool)> {
    const FRAME: usize = 2048;
    // Voicing per 5 ms frame, by the project's tracker on this very signal (look-ahead mode).
    let mut tracker = PitchTracker::new(SAMPLE_RATE_HZ as f32, AnalysisMode::Studio);
    let mut voiced = Vec::new();
    let tail = vec![0.0f32; SAMPLE_RATE_HZ as usize / 2];
    for part in [samples, &tail[..]] {
        tracker.process(part, |f| voiced.push(f.voiced()));
    }
    let hop_samples = HOP_S * SAMPLE_RATE_HZ as f64;
    let mostly_voiced = |start: usize| {
        let first = (start as f64 / hop_samples).ceil() as usize;
        let last = ((start + FRAME) as f64 / hop_samples) as usize;
        let frames = &voiced[first.min(voiced.len())..last.min(voiced.len())];
        !frames.is_empty() && 4 * frames.iter().filter(|v| **v).count() >= 3 * frames.len()
    };
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FRAME);
    let window: Vec<f32> = (0..FRAME)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / FRAME as f32).cos())
        .collect();
    let mut input = vec![0.0f32; FRAME];
    let mut spectrum = fft.make_output_vec();
    let bin_hz = SAMPLE_RATE_HZ as f32 / FRAME as f32;
    (0..samples.len().saturating_sub(FRAME))
        .step_by(FRAME / 2)
        .map(|start| {
            let frame = &samples[start..start + FRAME];
            for ((x, s), w) in input.iter_mut().zip(frame).zip(&window) {
                *x = s * w;
            }
            fft.process(&mut input, &mut spectrum).expect("sizes match");
            let (mut low, mut high) = (0.0f64, 0.0f64);
            for (k, c) in spectrum.iter().enumerate() {
                let hz = k as f32 * bin_hz;
                let power = c.norm_sqr() as f64;
                if (50.0..1_000.0).contains(&hz) {
                    low += power;
                } else if (1_000.0..5_000.0).contains(&hz) {
                    high += power;
                }
            }
            (low, high, mostly_voiced(start))
        })
        .collect()
}

pub fn run() -> Result<()> {
    let dir = report_dir("emotion-eval")?;
    let mut report = String::new();
    let mut failures = Vec::new();
    let (mut sign_checks, mut sign_passes) = (0, 0);
    let (mut magnitude_checks, mut magnitude_passes) = (0, 0);
    let (mut monotonic_checks, mut monotonic_passes) = (0, 0);

    for (voice_name, voice) in test_voices(VOICE_S) {
        let input = measure(&voice)?;
        write_wav(&dir.join(format!("{voice_name}-input.wav")), &voice)?;
        writeln!(
            report,
            "\n## {voice_name} ({VOICE_S:.0} s, Studio mode): change of each statistic, output vs input\n"
        )?;
        let columns: Vec<&Statistic> = STATISTICS
            .iter()
            .filter(|s| !s.singing_only || voice_name == "singing")
            .collect();
        write!(report, "| preset | intensity |")?;
        for s in &columns {
            write!(report, " {} |", s.name)?;
        }
        writeln!(report, " clicks |")?;
        writeln!(report, "|{}", " --- |".repeat(columns.len() + 3))?;
        for preset in EmotionPreset::ALL {
            let direction = preset.direction();
            write!(report, "| {} | target 1.0 |", preset.name())?;
            for s in &columns {
                write!(report, " {:.2} |", (s.target)(&direction))?;
            }
            writeln!(report, " 0 |")?;
            let mut values = vec![Vec::new(); columns.len()];
            for intensity in INTENSITIES {
                let output = render(&voice, AnalysisMode::Studio, |_| {
                    preset_controls(preset, intensity)
                });
                let measured = measure(&output)?;
                if intensity == 1.0 {
                    write_wav(
                        &dir.join(format!("{voice_name}-{}.wav", preset.name())),
                        &output,
                    )?;
                }
                write!(report, "| {} | {intensity:.2} |", preset.name())?;
                for (c, s) in columns.iter().enumerate() {
                    let value = (s.change)(&input, &measured);
                    values[c].push(value);
                    let sign_ok = s.sign_ok(value, &direction, intensity);
                    sign_checks += 1;
                    sign_passes += sign_ok as usize;
                    let mut mark = if sign_ok { "" } else { " ✘sign" };
                    if intensity == 1.0 {
                        magnitude_checks += 1;
                        if s.magnitude_ok(value, &direction) {
                            magnitude_passes += 1;
                        } else {
                            mark = if sign_ok {
                                " ✘size"
                            } else {
                                " ✘sign ✘size"
                            };
                        }
                    }
                    if !mark.is_empty() {
                        failures.push(format!(
                            "{voice_name} {} {intensity} {}: {value:.3}{mark}",
                            preset.name(),
                            s.name
                        ));
                    }
                    write!(report, " {value:.2}{mark} |")?;
                }
                let clicks = click_blocks_retimed(&voice, &output, STUDIO_TIMING_REACH_SAMPLES);
                if !clicks.is_empty() {
                    failures.push(format!(
                        "{voice_name} {} {intensity}: clicks at 2 ms blocks {:?}",
                        preset.name(),
                        &clicks[..clicks.len().min(8)]
                    ));
                }
                writeln!(report, " {} |", clicks.len())?;
            }
            for (c, s) in columns.iter().enumerate() {
                if s.contract_sign(&direction) == 0 {
                    continue;
                }
                monotonic_checks += 1;
                let deviations: Vec<f32> =
                    values[c].iter().map(|&v| s.deviation(v).abs()).collect();
                if deviations
                    .windows(2)
                    .all(|w| w[1] >= w[0] - 0.5 * s.tolerance)
                {
                    monotonic_passes += 1;
                } else {
                    failures.push(format!(
                        "{voice_name} {} {}: not monotonic {:?}",
                        preset.name(),
                        s.name,
                        values[c]
                    ));
                }
            }
        }
    }

    // Each control alone on the singing voice: which control moves which statistic.
    let (_, singing) = &test_voices(VOICE_S)[0];
    let input = measure(singing)?;
    writeln!(report, "\n## singing, one control at a time (Studio)\n")?;
    write!(report, "| control |")?;
    for s in &STATISTICS {
        write!(report, " {} |", s.name)?;
    }
    writeln!(report, "\n|{}", " --- |".repeat(STATISTICS.len() + 1))?;
    for (name, trims, shift_st) in single_controls() {
        let output = render(singing, AnalysisMode::Studio, |_| Controls {
            pitch_shift_st: shift_st,
            emotion: EmotionControls {
                intensity: 0.0,
                trims,
                ..EmotionControls::default()
            },
            ..Controls::default()
        });
        let measured = measure(&output)?;
        write!(report, "| {name} |")?;
        for s in &STATISTICS {
            write!(report, " {:.2} |", (s.change)(&input, &measured))?;
        }
        writeln!(report)?;
    }

    // Reference transfer.
    let (reference_voice, input_voice) = transfer_voices(VOICE_S);
    let reference = profile(&reference_voice)?;
    let input = profile(&input_voice)?;
    let mut outputs = Vec::new();
    for fixed_input in [None, Some(input)] {
        let transferred = render_styled(
            &input_voice,
            AnalysisMode::Studio,
            (Some(reference), fixed_input),
            |_| Controls::default(),
        );
        outputs.push(profile(&transferred)?);
    }
    writeln!(
        report,
        "\n## Reference style transfer (Studio, style amount 100 %)\n\n\
         | statistic | reference | input | output (running input profile, plugin) | output (whole-file input profile, CLI) |\n\
         | --- | --- | --- | --- | --- |"
    )?;
    for (((name, r), (_, i)), ((_, running), (_, fixed))) in reference
        .fields()
        .iter()
        .zip(input.fields().iter())
        .zip(outputs[0].fields().iter().zip(outputs[1].fields().iter()))
    {
        writeln!(
            report,
            "| {name} | {r:.2} | {i:.2} | {running:.2} | {fixed:.2} |"
        )?;
    }
    let before = input.distance(&reference);
    let mut transfer_percent = Vec::new();
    for (name, output) in [
        "running input profile (plugin)",
        "whole-file input profile (CLI)",
    ]
    .iter()
    .zip(&outputs)
    {
        let after = output.distance(&reference);
        transfer_percent.push(100.0 * after / before);
        writeln!(
            report,
            "\ndistance to the reference, {name}: input {before:.2}, output {after:.2} ({:.0} % of the input's; target ≤ 30 %)",
            100.0 * after / before
        )?;
        if after > 0.3 * before {
            failures.push(format!(
                "transfer, {name}: {after:.2} > 30 % of {before:.2}"
            ));
        }
    }

    // Automation: an intensity sweep 0 → 150 % over 2 s and back, and preset switches every
    // 250 ms, in both modes.
    writeln!(
        report,
        "\n## Automation (clicks: the resynthesis detector, output vs input)\n"
    )?;
    writeln!(
        report,
        "| voice | mode | automation | clicks | non-finite |\n| --- | --- | --- | --- | --- |"
    )?;
    for (voice_name, voice) in test_voices(10.0) {
        for mode in [AnalysisMode::Live, AnalysisMode::Studio] {
            let sweep_s = 2.0;
            let sweep = |sample: usize| {
                let t = sample as f64 / SAMPLE_RATE_HZ as f64;
                let phase = (t / sweep_s) % 2.0;
                let up = if phase < 1.0 { phase } else { 2.0 - phase };
                preset_controls(EmotionPreset::Happy, (1.5 * up) as f32)
            };
            let switches = |sample: usize| {
                let step = sample / (SAMPLE_RATE_HZ as usize / 4);
                preset_controls(EmotionPreset::ALL[step % 6], 1.0)
            };
            for (name, output) in [
                (
                    "intensity 0→150 % over 2 s (happy)",
                    render(&voice, mode, sweep),
                ),
                (
                    "preset every 250 ms at 100 %",
                    render(&voice, mode, switches),
                ),
            ] {
                let reach = match mode {
                    AnalysisMode::Live => 0,
                    AnalysisMode::Studio => STUDIO_TIMING_REACH_SAMPLES,
                };
                let clicks = click_blocks_retimed(&voice, &output, reach).len();
                let non_finite = output.iter().filter(|x| !x.is_finite()).count();
                writeln!(
                    report,
                    "| {voice_name} | {mode:?} | {name} | {clicks} | {non_finite} |"
                )?;
                if clicks > 0 || non_finite > 0 {
                    failures.push(format!("{voice_name} {mode:?} {name}: {clicks} clicks"));
                }
            }
        }
    }

    let summary = format!(
        "signs {sign_passes}/{sign_checks}, magnitudes at 100 % {magnitude_passes}/{magnitude_checks}, \
         monotonic {monotonic_passes}/{monotonic_checks}, transfer {:.0} % (plugin) and {:.0} % (CLI) \
         of the input's distance",
        transfer_percent[0], transfer_percent[1]
    );
    let text = format!(
        "# Emotion evaluation\n\n{summary}\n{report}\n## Misses\n\n{}\n",
        failures.join("\n")
    );
    std::fs::write(dir.join("report.md"), &text)?;
    println!("{text}");
    println!("report: {}", dir.join("report.md").display());
    Ok(())
}
