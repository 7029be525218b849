//! Project tooling: `cargo xtask bundle affetto [--release]` (nice-plug's bundler),
//! `cargo xtask demo` (bundles, then renders the built-in demo phrase through the CLI) and
//! `cargo xtask pitch-eval` (the pitch tracker against its peers on generated voices) and
//! `cargo xtask fit-voicing` (fits the voicing model's weights on generated voices).

mod demo;
mod fit_voicing;
mod pitch_eval;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("pitch-eval") => pitch_eval::run(!args.iter().any(|a| a == "--no-peers")),
        Some("fit-voicing") => fit_voicing::run(),
        _ => nice_plug_xtask::main_with_args("cargo xtask", args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
