//! `affetto`: the offline renderer. `affetto render IN.wav OUT.wav [--param value ...]` runs a
//! file through the plugin's engine with the plugin's parameters.
//!
//! Every failure is one line on stderr and a non-zero exit: 2 for a wrong command line, 1 for a
//! file or processing error.

mod param_args;
mod render;
mod wav;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Command, value_parser};
use hound::SampleFormat;

use param_args::ParamArgs;
use render::RenderJob;

fn command(params: &ParamArgs) -> Command {
    let render = Command::new("render")
        .about("Render a WAV file through Affetto")
        .arg(Arg::new("input").value_name("IN.wav").required(true).value_parser(value_parser!(PathBuf)))
        .arg(Arg::new("output").value_name("OUT.wav").required(true).value_parser(value_parser!(PathBuf)))
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
        .arg(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("No progress bar or summary"))
        .args(params.args());
    Command::new("affetto")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Affetto offline renderer: the plugin's engine on WAV files")
        .subcommand_required(true)
        .subcommand(render)
}

fn main() -> ExitCode {
    let mut params = ParamArgs::new();
    let matches = match command(&params).try_get_matches() {
        Ok(matches) => matches,
        Err(error) => return usage_error(error),
    };
    let Some(("render", matches)) = matches.subcommand() else {
        unreachable!("clap enforces the subcommand");
    };

    let controls = match params.apply(matches) {
        Ok(values) => values.controls(),
        Err(error) => {
            eprintln!("affetto: {error:#}");
            return ExitCode::from(2);
        }
    };
    let output_format = match matches.get_one::<String>("output-format").map(String::as_str) {
        Some("int16") => Some((SampleFormat::Int, 16)),
        Some("int24") => Some((SampleFormat::Int, 24)),
        Some("int32") => Some((SampleFormat::Int, 32)),
        Some("float32") => Some((SampleFormat::Float, 32)),
        _ => None,
    };
    let quiet = matches.get_flag("quiet");
    let job = RenderJob {
        input: matches.get_one::<PathBuf>("input").expect("required").clone(),
        output: matches.get_one::<PathBuf>("output").expect("required").clone(),
        block_frames: *matches.get_one::<u32>("block").expect("has a default") as usize,
        output_format,
        show_progress: !quiet,
    };
    match render::render(&job, &controls) {
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
            let arg = error.get(ContextKind::InvalidArg).map(|a| a.to_string()).unwrap_or_default();
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
