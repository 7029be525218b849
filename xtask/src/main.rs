//! Project tooling: `cargo xtask bundle affetto [--release]` (nice-plug's bundler),
//! `cargo xtask demo` (bundles, then renders the built-in demo phrase through the CLI) and
//! `cargo xtask pitch-eval` (the pitch tracker against its peers on generated voices),
//! `cargo xtask fit-voicing` and `cargo xtask fit-vibrato` (fit the voicing and vibrato-presence
//! models' weights on generated voices) and
//! `cargo xtask vibrato-eval` (the vibrato decomposition and its edits against the truth),
//! `cargo xtask resynth-eval` (pitch shifting against Rubber Band and sox),
//! `cargo xtask emotion-eval` (each emotion preset's measured effect against its contract),
//! `cargo xtask train` (trains the neural F0/voicing model and writes its weights and report) and
//! `cargo xtask bench` (what the engine costs per mode, channel count and block size, and the
//! same shift's cost in Rubber Band and sox).

mod bench;
mod contour_plot;
mod demo;
mod emotion_eval;
mod fit_vibrato;
mod fit_voicing;
mod logistic;
mod pitch_eval;
mod resynth_eval;
mod train;
mod vibrato_eval;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// `target/NAME/` (or under `CARGO_TARGET_DIR`), created, as an absolute path: where a report
/// command writes its files. Absolute because peers such as Praat resolve relative paths against
/// their own script's folder. Moves into the workspace root first.
fn report_dir(name: &str) -> Result<PathBuf> {
    nice_plug_xtask::chdir_workspace_root()?;
    let dir = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir.canonicalize()?)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => bench::run(),
        Some("pitch-eval") => pitch_eval::run(!args.iter().any(|a| a == "--no-peers")),
        Some("fit-voicing") => fit_voicing::run(),
        Some("vibrato-eval") => vibrato_eval::run(),
        Some("fit-vibrato") => fit_vibrato::run(),
        Some("emotion-eval") => emotion_eval::run(),
        Some("train") => train::run(),
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
