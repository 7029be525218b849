//! `affetto render` end to end: formats round-trip, parameters apply, and every bad input is
//! one clear line on stderr with a non-zero exit, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hound::{SampleFormat, WavSpec};

fn affetto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_affetto"))
        .args(args)
        .output()
        .expect("the CLI runs")
}

/// A fresh directory per test under the target dir (no temp-dir dependency, easy to inspect).
fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A 0.3 s two-tone test signal, interleaved, in [-0.8, 0.8].
fn test_samples(spec: &WavSpec) -> Vec<f32> {
    let frames = (spec.sample_rate as f32 * 0.3) as usize;
    let channels = spec.channels as usize;
    (0..frames * channels)
        .map(|i| {
            let (frame, channel) = (i / channels, i % channels);
            let t = frame as f32 / spec.sample_rate as f32;
            0.5 * (std::f32::consts::TAU * 220.0 * t).sin()
                + 0.3 * (std::f32::consts::TAU * (330.0 + 110.0 * channel as f32) * t).sin()
        })
        .collect()
}

fn write_wav(path: &Path, spec: WavSpec, samples: &[f32]) {
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &x in samples {
        match spec.sample_format {
            SampleFormat::Float => writer.write_sample(x).unwrap(),
            SampleFormat::Int => {
                let full_scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
                writer
                    .write_sample((x * full_scale).round() as i32)
                    .unwrap()
            }
        }
    }
    writer.finalize().unwrap();
}

/// Reads any WAV back as floats in [-1, 1].
fn read_wav(path: &Path) -> (WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples = match spec.sample_format {
        SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        SampleFormat::Int => {
            let full_scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / full_scale)
                .collect()
        }
    };
    (spec, samples)
}

/// A failure is exactly one line on stderr, prefixed with the program's name, without a panic.
fn assert_one_line_error(output: &Output, exit_code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(exit_code),
        "exit code; stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("affetto: "), "{stderr}");
    assert!(stderr.contains(needle), "'{needle}' in: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

#[test]
fn every_supported_format_round_trips_unchanged_at_default_settings() {
    let dir = scratch_dir("round_trip");
    let formats = [
        (SampleFormat::Int, 16),
        (SampleFormat::Int, 24),
        (SampleFormat::Int, 32),
        (SampleFormat::Float, 32),
    ];
    for (format, bits) in formats {
        for channels in [1, 2] {
            for sample_rate in [22_050, 44_100, 96_000, 192_000] {
                let spec = WavSpec {
                    channels,
                    sample_rate,
                    bits_per_sample: bits,
                    sample_format: format,
                };
                let input = dir.join(format!("in-{bits}-{channels}-{sample_rate}.wav"));
                let output = dir.join(format!("out-{bits}-{channels}-{sample_rate}.wav"));
                write_wav(&input, spec, &test_samples(&spec));
                let run = affetto(&["render", path_str(&input), path_str(&output), "--quiet"]);
                assert!(
                    run.status.success(),
                    "{}",
                    String::from_utf8_lossy(&run.stderr)
                );

                let (in_spec, x) = read_wav(&input);
                let (out_spec, y) = read_wav(&output);
                assert_eq!(out_spec, in_spec, "the output keeps the input's format");
                assert_eq!(y.len(), x.len(), "same length: latency is compensated");
                // 16-bit output is TPDF-dithered: ±1 LSB plus rounding. Wider formats are exact.
                let tolerance = if bits == 16 { 2.0 / 32768.0 } else { 1e-7 };
                let worst = x
                    .iter()
                    .zip(&y)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(
                    worst <= tolerance,
                    "{bits}-bit {channels} ch {sample_rate} Hz: off by {worst}"
                );
            }
        }
    }
}

#[test]
fn studio_renders_report_the_neural_worker_with_every_answer_on_time() {
    let dir = scratch_dir("neural");
    let spec = WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    let input = dir.join("in.wav");
    write_wav(&input, spec, &test_samples(&spec));
    let output = dir.join("out.wav");
    let mut outputs = Vec::new();
    for block in ["64", "4096"] {
        let run = affetto(&[
            "render",
            path_str(&input),
            path_str(&output),
            "--mode",
            "studio",
            "--pitch-shift",
            "3",
            "--block",
            block,
        ]);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{stdout}");
        assert!(
            stdout.contains("neural pitch:") && stdout.contains(" 0 late, 0 dropped"),
            "{stdout}"
        );
        outputs.push(read_wav(&output).1);
    }
    assert_eq!(
        outputs[0], outputs[1],
        "deterministic whatever the block size"
    );
    let live = affetto(&[
        "render",
        path_str(&input),
        path_str(&output),
        "--mode",
        "live",
    ]);
    assert!(!String::from_utf8_lossy(&live.stdout).contains("neural pitch:"));
}

#[test]
fn parameters_apply_and_block_size_does_not_change_the_result() {
    let dir = scratch_dir("parameters");
    let spec = WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    let input = dir.join("in.wav");
    write_wav(&input, spec, &test_samples(&spec));
    let (_, x) = read_wav(&input);
    let gain = 10f32.powf(-6.0 / 20.0);

    let mut outputs = Vec::new();
    for (block, flag) in [
        ("1", "--output-gain-db"),
        ("64", "--output-gain"),
        ("8192", "--output-gain-db"),
    ] {
        let output = dir.join(format!("out-{block}.wav"));
        let run = affetto(&[
            "render",
            path_str(&input),
            path_str(&output),
            "--block",
            block,
            flag,
            "-6",
            "--quiet",
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (_, y) = read_wav(&output);
        for (a, b) in x.iter().zip(&y) {
            assert!(
                (a * gain - b).abs() < 1e-6,
                "-6 dB applied from the first sample"
            );
        }
        outputs.push(y);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[1], outputs[2]);

    // Studio mode has ≈ 100 ms more latency; the render compensates it, so the file is unchanged.
    let studio = dir.join("studio.wav");
    let run = affetto(&[
        "render",
        path_str(&input),
        path_str(&studio),
        "--mode",
        "studio",
        "-q",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(read_wav(&studio).1, x);

    let bypassed = dir.join("bypassed.wav");
    let run = affetto(&[
        "render",
        path_str(&input),
        path_str(&bypassed),
        "--output-gain-db",
        "-6",
        "--bypass",
        "on",
        "-q",
    ]);
    assert!(run.status.success());
    assert_eq!(read_wav(&bypassed).1, x, "bypass ignores the output gain");
}

#[test]
fn a_successful_render_prints_a_one_line_summary() {
    let dir = scratch_dir("summary");
    let spec = WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 24,
        sample_format: SampleFormat::Int,
    };
    let input = dir.join("in.wav");
    write_wav(&input, spec, &test_samples(&spec));
    let output = dir.join("out.wav");
    let run = affetto(&["render", path_str(&input), path_str(&output)]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.contains("44100 Hz, 1 ch, 24-bit int") && stdout.contains("latency"),
        "{stdout}"
    );
}

#[test]
fn bad_files_are_one_line_errors_with_exit_code_1() {
    let dir = scratch_dir("bad_files");
    let good = dir.join("good.wav");
    let spec = WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    write_wav(&good, spec, &test_samples(&spec));
    let out = dir.join("out.wav");

    let missing = dir.join("missing.wav");
    assert_one_line_error(
        &affetto(&["render", path_str(&missing), path_str(&out)]),
        1,
        "cannot open",
    );

    let text = dir.join("notes.wav");
    std::fs::write(&text, "these are lyrics, not audio\n").unwrap();
    assert_one_line_error(
        &affetto(&["render", path_str(&text), path_str(&out)]),
        1,
        "not a WAV file",
    );

    let surround = dir.join("surround.wav");
    let spec6 = WavSpec {
        channels: 6,
        ..spec
    };
    write_wav(&surround, spec6, &vec![0.0; 6 * 100]);
    assert_one_line_error(
        &affetto(&["render", path_str(&surround), path_str(&out)]),
        1,
        "mono or stereo",
    );

    // A-law (format tag 6): a valid WAV that Affetto does not decode.
    let alaw = dir.join("alaw.wav");
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[20] = 6;
    bytes[34] = 8;
    std::fs::write(&alaw, &bytes).unwrap();
    let run = affetto(&["render", path_str(&alaw), path_str(&out)]);
    assert_one_line_error(&run, 1, "unsupported");

    let truncated = dir.join("truncated.wav");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(
        &affetto(&["render", path_str(&truncated), path_str(&out), "-q"]),
        1,
        "truncated.wav: truncated",
    );
    assert!(
        !out.exists(),
        "a failed render leaves no half-written output"
    );

    let unwritable = dir.join("no-such-dir").join("out.wav");
    assert_one_line_error(
        &affetto(&["render", path_str(&good), path_str(&unwritable)]),
        1,
        "cannot write",
    );

    assert_one_line_error(
        &affetto(&["render", path_str(&good), path_str(&good)]),
        1,
        "is the input",
    );
    assert!(
        !read_wav(&good).1.is_empty(),
        "and the input was not touched"
    );
}

#[test]
fn bad_command_lines_are_one_line_errors_with_exit_code_2() {
    let dir = scratch_dir("bad_args");
    let input = dir.join("in.wav");
    let spec = WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    write_wav(&input, spec, &test_samples(&spec));
    let (i, o) = (
        path_str(&input).to_owned(),
        path_str(&dir.join("out.wav")).to_owned(),
    );
    let render = |extra: &[&str]| {
        let mut args = vec!["render", &i, &o];
        args.extend_from_slice(extra);
        affetto(&args)
    };

    assert_one_line_error(
        &render(&["--warmth", "3"]),
        2,
        "unknown parameter or option '--warmth'",
    );
    assert_one_line_error(
        &render(&["--mix", "150"]),
        2,
        "--mix 150 is out of range (0 … 100 %)",
    );
    assert_one_line_error(&render(&["--output-gain-db", "-40"]), 2, "out of range");
    assert_one_line_error(&render(&["--mix", "loud"]), 2, "takes a number");
    assert_one_line_error(&render(&["--mix", "NaN"]), 2, "out of range");
    assert_one_line_error(&render(&["--bypass", "maybe"]), 2, "takes on or off");
    assert_one_line_error(
        &render(&["--mode", "turbo"]),
        2,
        "--mode takes one of live, studio, not 'turbo'",
    );
    assert_one_line_error(&render(&["--block", "0"]), 2, "block");
    assert_one_line_error(&render(&["--block", "9000"]), 2, "block");
    assert_one_line_error(&affetto(&["render", &i]), 2, "required");
    assert_one_line_error(&affetto(&["transmogrify"]), 2, "transmogrify");
    assert!(
        !dir.join("out.wav").exists(),
        "nothing is written for a bad command line"
    );
}

#[test]
fn analyze_writes_a_row_per_5_ms_frame_with_the_f0() {
    let dir = scratch_dir("analyze");
    let spec = WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 24,
        sample_format: SampleFormat::Int,
    };
    let input = dir.join("in.wav");
    // A 196 Hz sawtooth (G3): rich in harmonics, like a voice, with one unambiguous period.
    let frames = (spec.sample_rate as f32 * 0.5) as usize;
    let tone: Vec<f32> = (0..frames * 2)
        .map(|i| {
            let t = (i / 2) as f32 / spec.sample_rate as f32;
            0.4 * ((196.0 * t).fract() - 0.5)
        })
        .collect();
    write_wav(&input, spec, &tone);
    for mode in ["live", "studio"] {
        let csv = dir.join(format!("{mode}.csv"));
        let run = affetto(&[
            "analyze",
            path_str(&input),
            "--mode",
            mode,
            "--csv",
            path_str(&csv),
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("voiced"),
            "a summary on stderr"
        );
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "time_s,f0_hz,voicing_probability,energy_db,intonation_cents,vibrato_cents,\
                 jitter_cents,vibrato_presence,vibrato_rate_hz,vibrato_extent_cents,vibrato_phase_rad"
            )
        );
        let rows: Vec<Vec<f64>> = lines
            .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
            .collect();
        assert_eq!(rows.len(), 101, "0 … 0.5 s every 5 ms");
        for (i, row) in rows.iter().enumerate() {
            assert!((row[0] - i as f64 * 0.005).abs() < 1e-6);
            // Away from the edges of the file the tone is read within 5 cents.
            if (10..90).contains(&i) {
                assert!(
                    (1200.0 * (row[1] / 196.0).log2()).abs() < 5.0,
                    "{mode}: row {i}: {row:?}"
                );
                assert!(row[2] > 0.9);
                // A steady tone: intonation on the tone, no vibrato, and the bands sum to it.
                let cents = 1200.0 * (row[1] / 440.0).log2() + 6900.0;
                assert!((row[4] - cents).abs() < 5.0, "{mode}: row {i}: {row:?}");
                assert!(row[7] < 0.5, "{mode}: row {i}: {row:?}");
                assert!(
                    (row[4] + row[5] + row[6] - cents).abs() < 0.05,
                    "{mode}: row {i}: {row:?}"
                );
            }
        }
    }
    let stdout = affetto(&["analyze", path_str(&input), "-q"]);
    assert_eq!(
        String::from_utf8_lossy(&stdout.stdout).lines().count(),
        102,
        "CSV on stdout by default"
    );
}

#[test]
fn analyze_answers_bad_input_like_render() {
    let dir = scratch_dir("analyze_bad");
    let text = dir.join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    assert_one_line_error(&affetto(&["analyze", path_str(&text)]), 1, "not a WAV file");
    assert_one_line_error(
        &affetto(&["analyze", path_str(&dir.join("missing.wav"))]),
        1,
        "cannot open",
    );
    let spec = WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: SampleFormat::Int,
    };
    let good = dir.join("good.wav");
    write_wav(&good, spec, &test_samples(&spec));
    let unwritable = dir.join("no-such-dir").join("out.csv");
    assert_one_line_error(
        &affetto(&["analyze", path_str(&good), "--csv", path_str(&unwritable)]),
        1,
        "cannot write",
    );
    assert_one_line_error(
        &affetto(&["analyze", path_str(&good), "--mode", "psychic"]),
        2,
        "psychic",
    );
}

#[test]
fn emotion_and_reference_flags_render_and_bad_ones_are_clear_errors() {
    use affetto_dsp::synth::{self, Note, Phrase, Vowel};
    let dir = scratch_dir("emotion");
    let spec = WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    let sing = |base: f64, seed: u64| {
        let notes = (0..6)
            .map(|i| Note::new(base + (i % 3) as f64, 0.5, Vowel::A).with_vibrato(5.5, 40.0, 0.1))
            .collect();
        synth::render(&Phrase::sung(notes), 48_000, seed).samples
    };
    let (input, reference, silence) = (
        dir.join("in.wav"),
        dir.join("ref.wav"),
        dir.join("quiet.wav"),
    );
    write_wav(&input, spec, &sing(60.0, 1));
    write_wav(&reference, spec, &sing(53.0, 2));
    write_wav(&silence, spec, &vec![0.0; 48_000]);
    let (i, r, q) = (path_str(&input), path_str(&reference), path_str(&silence));
    let out = |name: &str| dir.join(name).to_str().unwrap().to_owned();

    let sad = out("sad.wav");
    let run = affetto(&[
        "render",
        i,
        &sad,
        "--mode",
        "studio",
        "--emotion",
        "sad",
        "--intensity",
        "0.8",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let percent = out("sad-percent.wav");
    let run = affetto(&[
        "render",
        i,
        &percent,
        "--mode",
        "studio",
        "--emotion",
        "Sad",
        "--intensity",
        "80%",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let ((_, original), (_, sad_samples), (_, percent_samples)) = (
        read_wav(&input),
        read_wav(Path::new(&sad)),
        read_wav(Path::new(&percent)),
    );
    assert_ne!(sad_samples, original, "the emotion changes the voice");
    assert_eq!(
        sad_samples, percent_samples,
        "0.8 and 80% are the same intensity"
    );

    let styled = out("styled.wav");
    let run = affetto(&[
        "render",
        i,
        &styled,
        "--mode",
        "studio",
        "--reference",
        r,
        "--style-amount",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("reference style: median"), "{stdout}");
    assert_ne!(
        read_wav(Path::new(&styled)).1,
        original,
        "the reference changes the voice"
    );

    let nowhere = out("nowhere.wav");
    assert_one_line_error(
        &affetto(&["render", i, &nowhere, "--emotion", "bored"]),
        2,
        "--emotion takes one of happy, sad, angry, fearful, tender, surprised, arousal/valence",
    );
    assert_one_line_error(
        &affetto(&["render", i, &nowhere, "--intensity", "2"]),
        2,
        "out of range",
    );
    assert_one_line_error(
        &affetto(&["render", i, &nowhere, "--learn-reference", "on"]),
        2,
        "unknown",
    );
    assert_one_line_error(
        &affetto(&["render", i, &nowhere, "--reference", &out("missing.wav")]),
        1,
        "missing.wav",
    );
    assert_one_line_error(
        &affetto(&["render", i, &nowhere, "--reference", q]),
        1,
        "no voice found to take a style from",
    );
    assert!(
        !Path::new(&nowhere).exists(),
        "a failed render writes nothing"
    );
}
