//! The allocation guard the host tests rely on really fires.
//!
//! The plugin bundle under test is built with nice-plug's `assert_process_allocs`, which installs
//! `nice_assert_no_alloc::AllocDisabler` as the global allocator and runs the host's whole process
//! call inside `assert_no_alloc`. This test sets up the same guard, injects an allocation inside it
//! in a child process, and checks that the child aborts.

use std::process::Command;

use nice_assert_no_alloc::{AllocDisabler, assert_no_alloc};

#[global_allocator]
static GUARD: AllocDisabler = AllocDisabler;

const CHILD_ENV: &str = "AFFETTO_INJECT_ALLOCATION";

#[test]
fn process_guard_aborts_on_an_injected_allocation() {
    if std::env::var_os(CHILD_ENV).is_some() {
        assert_no_alloc(|| std::hint::black_box(Vec::<u8>::with_capacity(64)));
        println!("the guard let an allocation through");
        return;
    }

    // The guard lets allocation-free work through...
    assert_eq!(assert_no_alloc(|| std::hint::black_box(20) + 22), 42);

    // ...and aborts the process on an allocation.
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process_guard_aborts_on_an_injected_allocation",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("the test binary can run itself");
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        !child.status.success(),
        "the child survived an allocation:\n{stdout}"
    );
    assert!(!stdout.contains("let an allocation through"));
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.status.signal(), Some(6), "aborted with SIGABRT");
    }
}
