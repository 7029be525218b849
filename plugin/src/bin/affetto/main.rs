//! `affetto`: the plugin's engine offline. `affetto render IN.wav OUT.wav [--param value ...]` runs
//! a file through it with the plugin's parameters; `affetto analyze IN.wav` prints its pitch
//! analysis as CSV.
//!
//! Every failure is one line on stderr and a non-zero exit: 2 for a wrong command line, 1 for a
//! file or processing error.

mod analyze;
mod neural;
mod param_args;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use affetto_dsp::pitch::AnalysisMode;
use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Command, value_parser};
use hound::SampleFormat;

use analyze::AnalyzeJob;
use param_args::ParamArgs;
use render::RenderJob;

/// The WAV file both subcommands read.
fn input_wav_arg() -> Arg {
    Arg::new("input")
        .value_name("IN.wav")
        .required(true)
        .value_parser(value_parser!(PathBuf))
}

fn command(params: &ParamArgs) -> Command {
    let render = Command::new("render")
        .about("Render a WAV file through Affetto")
        .arg(input_wav_arg())
        .arg(
            Arg::new("output")
                .value_name("OUT.wav")
                .required(true)
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            Arg::new("block")
                .long("block")
                .value_name("FRAMES")
                .default_value("512")
                .value_parser(value_parser!(u32).range(1..=8192))
                .help("Host block size to process in (1 … 8192)"),
        )
        .arg(
            Arg::new("output-format")
                .long("output-format")
                .value_name("FORMAT")
                .value_parser(["same", "int16", "int24", "int32", "float32"])
                .default_value("same")
                .help("Output encoding"),
        )
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .help("No progress bar or summary"),
        )
        .arg(
            Arg::new("reference")
                .long("reference")
                .value_name("REF.wav")
                .value_parser(value_parser!(PathBuf))
                .help("A voice whose prosodic style the input takes on (scaled by --style-amount)"),
        )
        .args(params.args());
    let analyze = Command::new("analyze")
        .about("Print Affetto's pitch analysis of a WAV file: one CSV row per 5 ms frame")
        .arg(input_wav_arg())
        .arg(
            Arg::new("mode")
                .long("mode")
                .value_parser(["live", "studio"])
                .default_value("studio")
                .help("Analysis mode: live (causal) or studio (look-ahead)"),
        )
        .arg(
            Arg::new("csv")
                .long("csv")
                .value_name("OUT.csv")
                .value_parser(value_parser!(PathBuf))
                .help("Write the CSV here instead of to stdout"),
        )
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .help("No summary on stderr"),
        );
    Command::new("affetto")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Affetto offline: the plugin's engine and analysis on WAV files")
        .subcommand_required(true)
        .subcommand(render)
        .subcommand(analyze)
}

fn main() -> ExitCode {
    let mut params = ParamArgs::new();
    let matches = match command(&params).try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return usage_error(error),
    };
    match matches.subcommand() {
        Some(("render", matches)) => run_render(&mut params, matches),
        Some(("analyze", matches)) => run_analyze(matches),
        _ => unreachable!("clap enforces the subcommand"),
    }
}

fn run_analyze(matches: &clap::ArgMatches) -> ExitCode {
    let job = AnalyzeJob {
        input: matches
            .get_one::<PathBuf>("input")
            .expect("required")
            .clone(),
        mode: match matches.get_one::<String>("mode").map(String::as_str) {
            Some("live") => AnalysisMode::Live,
            _ => AnalysisMode::Studio,
        },
        csv: matches.get_one::<PathBuf>("csv").cloned(),
    };
    match analyze::analyze(&job) {
        Ok(report) => {
            if !matches.get_flag("quiet") {
                eprintln!("affetto: {}", report.summary());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("affetto: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_render(params: &mut ParamArgs, matches: &clap::ArgMatches) -> ExitCode {
    let (controls, mode) = match params.apply(matches) {
        Ok(values) => (values.controls(), values.analysis_mode()),
        Err(error) => {
            eprintln!("affetto: {error:#}");
            return ExitCode::from(2);
        }
    };
    let output_format = match matches
        .get_one::<String>("output-format")
        .map(String::as_str)
    {
        Some("int16") => Some((SampleFormat::Int, 16)),
        Some("int24") => Some((SampleFormat::Int, 24)),
        Some("int32") => Some((SampleFormat::Int, 32)),
        Some("float32") => Some((SampleFormat::Float, 32)),
        _ => None,
    };
    let quiet = matches.get_flag("quiet");
    let job = RenderJob {
        input: matches
            .get_one::<PathBuf>("input")
            .expect("required")
            .clone(),
        output: matches
            .get_one::<PathBuf>("output")
            .expect("required")
            .clone(),
        block_frames: *matches.get_one::<u32>("block").expect("has a default") as usize,
        output_format,
        show_progress: !quiet,
        reference: matches.get_one::<PathBuf>("reference").cloned(),
    };
    match render::render(&job, &controls, mode) {
        Ok(report) => {
            if !quiet {
                println!("{}", report.summary(&job));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("affetto: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout with success; anything else is one line and exit code 2.
fn usage_error(error: clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::UnknownArgument => {
            let arg = error
                .get(ContextKind::InvalidArg)
                .map(|a| a.to_string())
                .unwrap_or_default();
            eprintln!("affetto: unknown parameter or option '{arg}' (see 'affetto render --help')");
            ExitCode::from(2)
        }
        _ => {
            let rendered = error.render().to_string();
            let first_line = rendered.lines().next().unwrap_or("invalid command line");
            eprintln!("affetto: {}", first_line.trim_start_matches("error: "));
            ExitCode::from(2)
        }
    }
}
