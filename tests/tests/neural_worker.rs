//! Affetto.clap's neural pitch worker in clack-host: when it panics or stalls, Studio audio goes
//! on with the DSP tracker, without a click or a leaked thread, and the next activation starts a
//! healthy worker again.
//!
//! Its own test binary with one test: the fault is injected through an environment variable
//! the plugin reads on activation, which no other test may see.

use affetto_dsp::synth::{self, clicks::click_blocks};
use affetto_host_tests::{AffettoInstance, thread_count, thread_names, threads_settle_to};

const FAULT_VARIABLE: &str = "AFFETTO_TEST_WORKER_FAULT";

/// Three seconds of the demo phrase shifted +3 st in Studio mode with the worker behaving as
/// `fault` says; returns the output aligned to the input.
fn studio_shift(plugin: &mut AffettoInstance, voice: &[f32], fault: Option<&str>) -> Vec<f32> {
    // SAFETY: this binary runs one test on one thread; nothing reads the environment meanwhile.
    unsafe {
        match fault {
            Some(fault) => std::env::set_var(FAULT_VARIABLE, fault),
            None => std::env::remove_var(FAULT_VARIABLE),
        }
    }
    let ids = plugin.param_ids();
    let values = [
        (ids.mode, plugin.text_to_value(ids.mode, "Studio")),
        (ids.pitch_shift, plugin.text_to_value(ids.pitch_shift, "3")),
    ];
    plugin.set_params_inactive(&values);
    let latency = plugin.activate(48_000.0, 64).reported_latency_samples as usize;
    let mut input = vec![voice.to_vec(); 2];
    input
        .iter_mut()
        .for_each(|c| c.resize(voice.len() + latency, 0.0));
    let output = plugin.process_signal(&input, 64, &[], false);
    plugin.deactivate();
    output[0][latency..].to_vec()
}

#[test]
fn a_panicking_or_stalled_worker_leaves_studio_audio_running_and_the_next_activation_recovers() {
    let mut voice = synth::render(&synth::demo_phrase(), 48_000, 5).samples;
    voice.truncate(3 * 48_000);
    let mut plugin = AffettoInstance::new();
    // After loading: the host and the plugin's library have threads of their own.
    let threads_before = thread_count();
    for fault in [Some("panic"), Some("stall"), None] {
        let output = studio_shift(&mut plugin, &voice, fault);
        assert!(
            output.iter().all(|x| x.is_finite() && x.abs() <= 2.0),
            "{fault:?}: output finite and bounded"
        );
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
        assert!(
            rms(&output) > 0.3 * rms(&voice),
            "{fault:?}: the voice comes through"
        );
        let clicks = click_blocks(&voice, &output);
        assert!(clicks.is_empty(), "{fault:?}: clicks in blocks {clicks:?}");
        // Deactivation joined the worker, however it ended.
        assert!(
            threads_settle_to(threads_before),
            "{fault:?}: threads before {threads_before}, now {:?}",
            thread_names()
        );
    }
}
