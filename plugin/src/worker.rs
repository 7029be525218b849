//! The neural pitch worker: a plugin-owned thread running the model for the Studio tracker.
//!
//! Started in `activate` (Studio mode only: Live mode never waits for it), stopped and joined
//! on deactivate, on the next activation and on drop, so no thread outlives its activation. The
//! thread polls its ring every 2 ms (`WORKER_POLL`) rather than being woken (waking it would put a
//! system call on the audio thread) and answers in threes, when they are due. candle hands its matrix
//! products to rayon; the worker runs on a rayon pool of one thread of its own, since handing a
//! product this small to other threads costs more than computing it (`cargo xtask bench`: 247 µs
//! a frame through the global pool, 101 µs confined) and a plugin should not start a pool across
//! the host's cores behind its back. A panic or a model error ends the thread's work and
//! sets the `failed` counter; the audio thread, which never waits for it, carries on with the DSP
//! estimate, and the next activation starts a new worker.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use affetto_dsp::pitch::neural::link::WORKER_POLL;
use affetto_dsp::pitch::neural::{NeuralCounters, NeuralLink, PitchNet, neural_channel};
use nice_plug::prelude::*;

/// Environment variable that makes the worker misbehave, for the robustness tests: `panic`
/// panics on its first frame, `stall` sleeps [`STALL`] before every batch so its answers are
/// late.
pub const FAULT_VARIABLE: &str = "AFFETTO_TEST_WORKER_FAULT";
const STALL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Panic,
    Stall,
}

/// The committed model, loaded and checked (its probe pass runs candle) on a pool of one
/// thread that ends with the call: run on the caller, candle would start rayon's global pool,
/// threads that then live as long as the host.
pub fn load_model() -> Result<PitchNet, String> {
    let pool = compute_pool().map_err(|e| format!("cannot load the pitch model: {e}"))?;
    pool.install(PitchNet::embedded).map_err(|e| e.to_string())
}

/// A rayon pool of one thread for candle's work.
fn compute_pool() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "affetto-neural-compute".into())
        .build()
}

pub struct NeuralWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NeuralWorker {
    /// Starts a worker running `model`; returns it with the link to give the engine, or `None`
    /// (logged) if the thread cannot be started.
    pub fn start(model: PitchNet) -> Option<(Self, NeuralLink)> {
        let fault = match std::env::var(FAULT_VARIABLE).as_deref() {
            Ok("panic") => Some(Fault::Panic),
            Ok("stall") => Some(Fault::Stall),
            _ => None,
        };
        let (link, mut service) = neural_channel(model);
        let counters = service.counters().clone();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("affetto-neural-pitch".into())
            .spawn(move || {
                let pool = match compute_pool() {
                    Ok(pool) => pool,
                    Err(error) => {
                        nice_error!(
                            "cannot start the neural pitch worker, DSP tracking only: {error}"
                        );
                        counters.failed.store(true, Ordering::Relaxed);
                        return;
                    }
                };
                // The whole loop runs on the pool's thread, so candle's rayon calls stay on it.
                let run = pool.install(|| std::panic::catch_unwind(AssertUnwindSafe(|| {
                    while !thread_stop.load(Ordering::Acquire) {
                        if fault == Some(Fault::Panic) && service.pending() > 0 {
                            panic!("injected worker panic ({FAULT_VARIABLE}=panic)");
                        }
                        if fault == Some(Fault::Stall) && service.pending() > 0 {
                            std::thread::sleep(STALL);
                        }
                        match service.serve_due() {
                            Ok(0) => std::thread::sleep(WORKER_POLL),
                            Ok(_) => {}
                            Err(error) => {
                                nice_error!(
                                    "neural pitch worker stopped, DSP tracking carries on: {error}"
                                );
                                break;
                            }
                        }
                    }
                })));
                if run.is_err() {
                    mark_failed(&counters);
                }
            });
        match spawned {
            Ok(thread) => Some((
                Self {
                    stop,
                    thread: Some(thread),
                },
                link,
            )),
            Err(error) => {
                nice_error!("cannot start the neural pitch worker, DSP tracking only: {error}");
                None
            }
        }
    }

    /// Stops the thread and waits for it (it finishes its batch, a few milliseconds at most).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            nice_error!("the neural pitch worker had panicked");
        }
    }
}

impl Drop for NeuralWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn mark_failed(counters: &NeuralCounters) {
    nice_error!(
        "the neural pitch worker panicked; DSP tracking carries on until the next activation"
    );
    counters.failed.store(true, Ordering::Relaxed);
}
