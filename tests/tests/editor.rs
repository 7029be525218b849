//! The editor in a real host window on a virtual X server (Xvfb), with audio playing: it opens
//! embedded at the size it asks for, draws the pitch of the voice that is playing (a screenshot
//! is saved to `target/editor/affetto-editor.png`), and opening and closing it a hundred times
//! while the audio thread runs leaks no thread and never holds the audio thread up.
//!
//! Its own test binary with one test, so no other test's threads come or go while threads are
//! counted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use affetto_dsp::synth;
use affetto_host_tests::{
    AffettoInstance, HostWindow, VirtualDisplay, thread_count, thread_names, threads_settle_to,
};

const SAMPLE_RATE_HZ: f64 = 48_000.0;
const BLOCK: usize = 256;
const OPEN_CLOSE_CYCLES: usize = 100;
/// The output's pitch line in the editor's accent colour (see `plugin/src/editor/theme.rs`).
const ACCENT_RGB: [u8; 3] = [86, 170, 255];
/// A process call this long means the audio thread waited on something: a stall, not a speed,
/// limit (a block here takes well under a millisecond).
const STALL: Duration = Duration::from_millis(250);

/// Descriptors the cycles may add: none is kept per editor (a leak would add 100 or more).
const FILES_KEPT_OPEN: usize = 2;

fn open_file_count() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |fds| fds.count())
}

fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("editor/affetto-editor.png")
}

/// Keeps the host's main thread serving the plugin for `duration`, as a DAW's event loop does.
fn run_host_for(plugin: &mut AffettoInstance, duration: Duration) {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        plugin.pump_main_thread();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_editor_shows_the_voice_and_opens_and_closes_while_audio_runs() {
    // The windowing library keeps its GL (EGL) display in the thread-locals of the thread the
    // host drives the editor from, and tears it down (Mesa unloading its driver) only when that
    // thread ends. On libtest's own test thread that came after the result was reported and
    // raced the process's exit: a SIGSEGV in `__cxa_finalize` once in 14 runs (gdb). A DAW's GUI
    // thread lives as long as the DAW; here the host's is a thread the test joins, so the
    // teardown is over before the test is.
    let host_gui_thread = std::thread::Builder::new()
        .name("host-gui".into())
        .spawn(editor_session)
        .expect("the host's GUI thread starts");
    if let Err(panic) = host_gui_thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// The whole editor session, run on the host's GUI thread.
fn editor_session() {
    let display = VirtualDisplay::start();
    let mut plugin = AffettoInstance::new();
    plugin.select_layout(1);
    let ids = plugin.param_ids();
    let sad = plugin.text_to_value(ids.emotion, "Sad");
    let full = plugin.text_to_value(ids.intensity, "100");
    let studio = plugin.text_to_value(ids.mode, "Studio");
    plugin.set_params_inactive(&[
        (ids.emotion, sad),
        (ids.intensity, full),
        (ids.mode, studio),
    ]);
    plugin.activate(SAMPLE_RATE_HZ, BLOCK);
    let voice = synth::render(&synth::demo_phrase(), SAMPLE_RATE_HZ as u32, 11);

    let audio = plugin.start_background_audio(vec![voice.samples], BLOCK, SAMPLE_RATE_HZ);
    let threads_before = thread_count();

    // First look: the editor at its own size, after two seconds of singing.
    let probe = HostWindow::open(&display, 64, 64);
    let asked = plugin.open_editor(probe.id);
    plugin.close_editor();
    drop(probe);
    let window = HostWindow::open(&display, asked.width as u16, asked.height as u16);
    plugin.open_editor(window.id);
    run_host_for(&mut plugin, Duration::from_secs(3));
    let path = screenshot_path();
    window.save_png(&path);
    let pixels = window.capture_rgb();
    plugin.close_editor();
    // The pitch view: right of the pad, in the upper part of the window.
    let (width, height) = (asked.width as usize, asked.height as usize);
    let accent = pixels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % width > width * 3 / 10 && i / width < height * 4 / 10)
        .filter(|(_, p)| **p == ACCENT_RGB)
        .count();
    let distinct: std::collections::HashSet<_> = pixels.iter().collect();
    println!(
        "editor {}×{}: {} colours, {accent} accent pixels; screenshot {}",
        asked.width,
        asked.height,
        distinct.len(),
        path.display()
    );
    assert!(
        (800..=4000).contains(&asked.width) && (560..=2600).contains(&asked.height),
        "a sensible default size: {asked:?}"
    );
    assert!(
        distinct.len() > 50,
        "the editor drew something ({} colours)",
        distinct.len()
    );
    // The output's pitch line, drawn across the view over seconds of singing, is hundreds of
    // pixels of the accent colour: frames flowed from the audio thread to the view.
    assert!(
        accent > 300,
        "the output's pitch is drawn ({accent} accent pixels in the pitch view)"
    );
    assert!(
        threads_settle_to(threads_before),
        "the first editor left threads behind: {} -> {} ({:?})",
        threads_before,
        thread_count(),
        thread_names()
    );

    // A hundred open/close cycles with the audio running. The first editor has opened what
    // the X and GL libraries keep for the process; from here on nothing may pile up.
    let files_before = open_file_count();
    let mut stalled_cycles = Vec::new();
    for cycle in 0..OPEN_CLOSE_CYCLES {
        let blocks_before = audio.blocks();
        plugin.open_editor(window.id);
        run_host_for(&mut plugin, Duration::from_millis(40));
        plugin.close_editor();
        run_host_for(&mut plugin, Duration::from_millis(10));
        if audio.blocks() == blocks_before {
            stalled_cycles.push(cycle);
        }
    }
    let longest = audio.longest_block();
    let blocks = audio.blocks();
    plugin.stop_background_audio(audio);
    // The last window's thread may still be closing its X connection: both counts are given a
    // moment to come back, as a leak never does.
    let threads_settled = threads_settle_to(threads_before - 1);
    let files_after = (0..100)
        .map(|_| {
            let files = open_file_count();
            if files > files_before + FILES_KEPT_OPEN {
                std::thread::sleep(Duration::from_millis(20));
            }
            files
        })
        .find(|files| *files <= files_before + FILES_KEPT_OPEN)
        .unwrap_or_else(open_file_count);
    println!(
        "{OPEN_CLOSE_CYCLES} open/close cycles: {blocks} blocks processed, longest {longest:?}, threads {threads_before} -> {} (audio thread joined), open files {files_before} -> {files_after}",
        thread_count()
    );
    assert!(
        files_after <= files_before + FILES_KEPT_OPEN,
        "file descriptors leaked: {files_before} -> {files_after}"
    );
    assert!(
        stalled_cycles.is_empty(),
        "audio made no progress during cycles {stalled_cycles:?}"
    );
    assert!(longest < STALL, "a process call took {longest:?}");
    assert!(
        threads_settled,
        "threads leaked: {} before (with the audio thread) -> {} after ({:?})",
        threads_before,
        thread_count(),
        thread_names()
    );
    drop(window);
    plugin.deactivate();
    the_size_follows_the_host_scale_and_is_saved_with_the_project(&display, &mut plugin);
    drop(display);
}

/// Polls `size` for up to two seconds until it gives `wanted` (the window thread applies a
/// resize or a scale change asynchronously); returns the last size seen.
fn size_settles(plugin: &mut AffettoInstance, wanted: (u32, u32)) -> (u32, u32) {
    let mut seen = (0, 0);
    for _ in 0..200 {
        let size = plugin.editor_size();
        seen = (size.width, size.height);
        if seen == wanted {
            break;
        }
        run_host_for(plugin, Duration::from_millis(10));
    }
    seen
}

fn the_size_follows_the_host_scale_and_is_saved_with_the_project(
    display: &VirtualDisplay,
    plugin: &mut AffettoInstance,
) {
    let window = HostWindow::open(display, 1600, 1200);
    plugin.open_editor(window.id);
    let logical = plugin.editor_size();
    assert!(plugin.set_editor_scale(2.0), "the host's scale is taken");
    let doubled = (2 * logical.width, 2 * logical.height);
    assert_eq!(
        size_settles(plugin, doubled),
        doubled,
        "at scale 2 the editor is twice as many pixels"
    );
    assert!(plugin.set_editor_scale(1.0));
    assert!(plugin.set_editor_size(1100, 760), "the editor resizes");
    assert_eq!(size_settles(plugin, (1100, 760)), (1100, 760));
    plugin.close_editor();
    let state = plugin.save_state();

    let mut reopened = AffettoInstance::new();
    assert!(reopened.load_state(&state));
    reopened.open_editor(window.id);
    let size = reopened.editor_size();
    reopened.close_editor();
    assert_eq!(
        (size.width, size.height),
        (1100, 760),
        "the project remembers the editor's size"
    );
}
