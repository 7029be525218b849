//! Project tooling: `cargo xtask bundle affetto [--release]` (nice-plug's bundler),
//! `cargo xtask demo` (bundles, then renders the built-in demo phrase through the CLI) and
//! `cargo xtask pitch-eval` (the pitch tracker against its peers on generated voices),
//! `cargo xtask fit-voicing` and `cargo xtask fit-vibrato` (fit the voicing and vibrato-presence
//! models' weights on generated voices) and
//! `cargo xtask vibrato-eval` (the vibrato decomposition and its edits against the truth),
//! `cargo xtask resynth-eval` (pitch shifting against Rubber Band and sox) and
//! `cargo xtask bench` (what the engine costs per mode, channel count and block size, and the
//! same shift's cost in Rubber Band and sox).

mod bench;
mod demo;
mod fit_vibrato;
mod fit_voicing;
mod logistic;
mod pitch_eval;
mod resynth_eval;
mod vibrato_eval;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => bench::run(),
        Some("pitch-eval") => pitch_eval::run(!args.iter().any(|a| a == "--no-peers")),
        Some("fit-voicing") => fit_voicing::run(),
        Some("vibrato-eval") => vibrato_eval::run(),
        Some("fit-vibrato") => fit_vibrato::run(),
        Some("resynth-eval") => resynth_eval::run(!args.iter().any(|a| a == "--no-peers")),
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
