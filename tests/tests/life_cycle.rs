//! Affetto.clap through long and parallel life cycles in clack-host: a thousand
//! activate/process/deactivate cycles leak no thread and no memory, and eight instances
//! processing at once on their own threads each stay a pure delay.
//!
//! This file is its own test binary with one test (the two checks run one after the other), so
//! no other test's thread comes or goes while threads are counted.

use affetto_host_tests::{
    AffettoInstance, assert_pure_delay, impulse_over_noise, thread_count, threads_settle_to,
};

/// Resident set size, kB.
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

const CYCLES: usize = 1000;
/// Memory a thousand cycles may add once the first ones have warmed the allocator up: a leak of
/// even one engine per cycle (hundreds of kB) would exceed it many times over.
const RSS_GROWTH_LIMIT_KB: u64 = 4096;

#[test]
fn long_and_parallel_life_cycles_leak_nothing_and_stay_exact() {
    a_thousand_activation_cycles_leak_no_thread_and_no_memory();
    eight_instances_processing_at_once_each_stay_a_pure_delay();
}

fn a_thousand_activation_cycles_leak_no_thread_and_no_memory() {
    let mut plugin = AffettoInstance::new();
    let ids = plugin.param_ids();
    let modes = [
        plugin.text_to_value(ids.mode, "Live"),
        plugin.text_to_value(ids.mode, "Studio"),
    ];
    let rates_hz = [44_100.0, 48_000.0, 96_000.0];
    let input = impulse_over_noise(2, 1024, 1);
    let threads_before = thread_count();
    let mut rss_after_warm_up = 0;
    for cycle in 0..CYCLES {
        // The mode and rate change between activations, so every cycle rebuilds the engine.
        plugin.set_params_inactive(&[(ids.mode, modes[cycle % 2])]);
        plugin.activate(rates_hz[cycle % 3], 256);
        plugin.process_signal(&input, 256, &[], cycle % 2 == 0);
        if cycle % 7 == 0 {
            plugin.reset();
        }
        plugin.deactivate();
        if cycle == 50 {
            rss_after_warm_up = rss_kb();
        }
    }
    let (threads_after, rss_after) = (thread_count(), rss_kb());
    println!(
        "{CYCLES} cycles: threads {threads_before} -> {threads_after}, RSS {rss_after_warm_up} kB after 50 -> {rss_after} kB"
    );
    assert!(
        threads_settle_to(threads_before),
        "threads before {threads_before}, after {threads_after}"
    );
    assert!(
        rss_after <= rss_after_warm_up + RSS_GROWTH_LIMIT_KB,
        "RSS grew from {rss_after_warm_up} kB to {rss_after} kB"
    );
}

fn eight_instances_processing_at_once_each_stay_a_pure_delay() {
    let threads_before = thread_count();
    std::thread::scope(|scope| {
        for instance in 0..8u32 {
            scope.spawn(move || {
                let mut plugin = AffettoInstance::new();
                let sample_rate_hz = [44_100.0, 48_000.0, 96_000.0][instance as usize % 3];
                let block = [64, 256, 512, 1024][instance as usize % 4];
                let latency = plugin
                    .activate(sample_rate_hz, block)
                    .reported_latency_samples as usize;
                // Two seconds of signal each, so the eight really overlap.
                let input = impulse_over_noise(2, (2.0 * sample_rate_hz) as usize, instance + 10);
                let output = plugin.process_signal(&input, block, &[], instance % 2 == 0);
                assert_pure_delay(&input, &output, latency, &format!("instance {instance}"));
                plugin.deactivate();
            });
        }
    });
    assert!(
        threads_settle_to(threads_before),
        "threads before {threads_before}, after {}",
        thread_count()
    );
}
