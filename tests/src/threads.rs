//! Counting this process's threads, for the tests that prove the plugin leaks none.

/// Threads of this process now.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

/// Names of this process's threads, for a failure message that says which one stayed.
pub fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|name| name.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the thread count comes back to `count` within a second: a thread that has been
/// joined, or a helper thread told to stop when its instance was dropped, can stay listed for a
/// moment; a leaked one stays for good.
pub fn threads_settle_to(count: usize) -> bool {
    (0..100).any(|_| {
        if thread_count() == count {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        false
    })
}
