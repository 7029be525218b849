//! An X server of the test's own (Xvfb) with a host window on it, for the editor tests: a
//! Linux DAW hands a plugin's editor an X11 window to live in, and so does this.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConnectionExt, CreateWindowAux, EventMask, ImageFormat, WindowClass,
};
use x11rb::rust_connection::RustConnection;

/// A private Xvfb server. It ends by itself once its last client has gone (`-terminate`), so it
/// outlives any X connection a library keeps open until the test process exits: killing it
/// under such a connection makes Xlib end the process from its I/O error handler.
pub struct VirtualDisplay {
    server: Child,
    pub name: String,
    /// Held open so the server does not terminate between the test's own windows.
    _keep_alive: Option<RustConnection>,
}

impl VirtualDisplay {
    /// Starts Xvfb on the first free display number from 70 and points `DISPLAY` at it.
    ///
    /// # Panics
    /// If Xvfb is not installed (Debian package `xvfb`; `.ci/install-test-deps` installs it) or
    /// does not come up within 10 s.
    pub fn start() -> Self {
        for number in 70..120 {
            if Path::new(&format!("/tmp/.X{number}-lock")).exists() {
                continue;
            }
            let name = format!(":{number}");
            let server = Command::new("Xvfb")
                .args([
                    &name,
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                    "-terminate",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb runs (Debian package xvfb; .ci/install-test-deps installs it)");
            let started = Instant::now();
            let mut display = Self {
                server,
                name,
                _keep_alive: None,
            };
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok((connection, _)) = RustConnection::connect(Some(&display.name)) {
                    display._keep_alive = Some(connection);
                    // SAFETY: set once, before this test process opens any window; nothing
                    // reads the environment concurrently.
                    unsafe { std::env::set_var("DISPLAY", &display.name) };
                    return display;
                }
                if let Ok(Some(_)) = display.server.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = display.server.kill();
            let _ = display.server.wait();
        }
        panic!("no Xvfb display could be started on :70..:119");
    }
}

impl Drop for VirtualDisplay {
    /// Lets go of the test's connection; the server exits when the last client does.
    fn drop(&mut self) {
        self._keep_alive = None;
        let _ = self.server.try_wait();
    }
}

/// A top-level window on the virtual display, the host's frame for an editor.
pub struct HostWindow {
    connection: RustConnection,
    pub id: u32,
    pub width: u16,
    pub height: u16,
}

impl HostWindow {
    pub fn open(display: &VirtualDisplay, width: u16, height: u16) -> Self {
        let (connection, screen) =
            RustConnection::connect(Some(&display.name)).expect("the display accepts clients");
        let root = connection.setup().roots[screen].clone();
        let id = connection.generate_id().unwrap();
        connection
            .create_window(
                root.root_depth,
                id,
                root.root,
                0,
                0,
                width,
                height,
                0,
                WindowClass::INPUT_OUTPUT,
                root.root_visual,
                &CreateWindowAux::new()
                    .background_pixel(root.black_pixel)
                    .event_mask(EventMask::STRUCTURE_NOTIFY),
            )
            .unwrap();
        connection.map_window(id).unwrap();
        connection.flush().unwrap();
        x11rb::wrapper::ConnectionExt::sync(&connection).unwrap();
        Self {
            connection,
            id,
            width,
            height,
        }
    }

    /// What the window shows now, as RGB rows.
    pub fn capture_rgb(&self) -> Vec<[u8; 3]> {
        let image = self
            .connection
            .get_image(
                ImageFormat::Z_PIXMAP,
                self.id,
                0,
                0,
                self.width,
                self.height,
                !0,
            )
            .unwrap()
            .reply()
            .expect("the window's contents can be read");
        // 24-bit depth on a little-endian server: 4 bytes a pixel, blue first.
        image
            .data
            .chunks_exact(4)
            .map(|bgrx| [bgrx[2], bgrx[1], bgrx[0]])
            .collect()
    }

    /// Saves what the window shows as a PNG.
    pub fn save_png(&self, path: &Path) {
        let pixels = self.capture_rgb();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        let file = std::fs::File::create(path).unwrap();
        let mut encoder = png::Encoder::new(
            std::io::BufWriter::new(file),
            self.width.into(),
            self.height.into(),
        );
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&pixels.concat())
            .expect("the PNG is written");
    }
}

impl Drop for HostWindow {
    fn drop(&mut self) {
        let _ = self.connection.destroy_window(self.id);
        let _ = self.connection.flush();
    }
}
