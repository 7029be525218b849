//! Affetto.vst3 in a real VST3 host: pedalboard (JUCE's VST3 hosting), driven by
//! `tests/vst3/check_affetto_vst3.py`. The bundle is the same guarded debug build the CLAP
//! tests use, so the VST3 process path runs under the allocation guard as well.

use std::path::Path;
use std::process::Command;

use affetto_host_tests::plugin_bundle;

#[test]
fn affetto_vst3_loads_processes_and_restores_state_in_pedalboard() {
    let probe = Command::new("python3")
        .args(["-c", "import pedalboard, numpy"])
        .output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "this test needs python3 with pedalboard and numpy: run .ci/install-test-deps (pip install pedalboard)"
    );
    let vst3 = plugin_bundle().with_extension("vst3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vst3")
        .join("check_affetto_vst3.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&vst3)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "VST3 checks failed:\n{stdout}\n{stderr}"
    );
}
