//! Builds the plugin bundle the host tests load.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Separate from the workspace's `target/` so the guarded debug build never replaces the
/// release bundles users install, and so cargo's lock on `target/` is never contended.
const HOST_TEST_TARGET_DIR: &str = "target/host-tests";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Path of a freshly built `Affetto.clap` (debug, allocation guard on). Builds once per test
/// process; cargo makes the build a no-op when nothing changed, so the bundle is never stale.
///
/// # Panics
/// If the build fails: every host test depends on it.
pub fn plugin_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let root = workspace_root();
        let target_dir = root.join(HOST_TEST_TARGET_DIR);
        let status = Command::new(env!("CARGO"))
            .current_dir(&root)
            .env("CARGO_TARGET_DIR", &target_dir)
            .args([
                "run",
                "--quiet",
                "--package",
                "xtask",
                "--",
                "bundle",
                "affetto",
                "--features",
                "assert_process_allocs",
            ])
            .status()
            .expect("cargo can be run");
        assert!(
            status.success(),
            "building the Affetto.clap bundle for the host tests failed"
        );
        let bundle = target_dir.join("bundled").join("Affetto.clap");
        assert!(bundle.exists(), "{} was not written", bundle.display());
        bundle
    })
}
