//! A small but real CLAP host around `clack-host`, for tests that load the built `Affetto.clap`.
//!
//! [`plugin_bundle`] builds the bundle the way users get it (nice-plug's bundler through
//! `xtask`), in debug with nice-plug's `assert_process_allocs`: any allocation inside the host's
//! process call aborts the test process.

mod bundle;
mod display;
mod host;
mod signals;
mod threads;

pub use bundle::plugin_bundle;
pub use display::{HostWindow, VirtualDisplay};
pub use host::{Activation, AffettoInstance, BackgroundAudio, ParamIds};
pub use signals::{assert_pure_delay, impulse_over_noise};
pub use threads::{thread_count, thread_names, threads_settle_to};
