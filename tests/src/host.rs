//! The test host: loads the bundle, selects a layout, activates, processes and saves state the
//! way a DAW does, and records every call the plugin makes back into the host.

use std::cell::Cell;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window,
};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;

use crate::plugin_bundle;

const AFFETTO_CLAP_ID: &str = "org.affetto.affetto";

/// The plugin's extensions, queried once while it initialises.
#[derive(Clone, Copy)]
struct PluginExtensions {
    latency: Option<PluginLatency>,
    params: Option<PluginParams>,
    state: Option<PluginState>,
    ports_config: Option<PluginAudioPortsConfig>,
    gui: Option<PluginGui>,
}

/// Host callbacks that may come from any thread.
#[derive(Default)]
pub struct HostShared {
    extensions: OnceLock<PluginExtensions>,
    restart_requests: AtomicU32,
    callback_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for HostShared {
    fn initializing(&self, instance: InitializingPluginHandle<'a>) {
        let _ = self.extensions.set(PluginExtensions {
            latency: instance.get_extension(),
            params: instance.get_extension(),
            state: instance.get_extension(),
            ports_config: instance.get_extension(),
            gui: instance.get_extension(),
        });
    }

    fn request_restart(&self) {
        self.restart_requests.fetch_add(1, Ordering::SeqCst);
    }

    fn request_process(&self) {}

    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// The host's window accepts whatever size the editor asks for, and is there until the host
/// destroys the editor.
impl HostGuiImpl for HostShared {
    fn resize_hints_changed(&self) {}

    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }

    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }

    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }

    fn closed(&self, _was_destroyed: bool) {}
}

impl HostParamsImplShared for HostShared {
    fn request_flush(&self) {}
}

/// Host callbacks that only come on the main thread.
pub struct HostMainThread {
    latency_changed_calls: Cell<u32>,
    dirty_marks: Cell<u32>,
}

impl MainThreadHandler<'_> for HostMainThread {}

impl HostLatencyImpl for HostMainThread {
    fn changed(&self) {
        self.latency_changed_calls
            .set(self.latency_changed_calls.get() + 1);
    }
}

impl HostParamsImplMainThread for HostMainThread {
    fn rescan(&self, _flags: ParamRescanFlags) {}
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostStateImpl for HostMainThread {
    fn mark_dirty(&self) {
        self.dirty_marks.set(self.dirty_marks.get() + 1);
    }
}

pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLatency>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostGui>();
    }
}

/// Ids of Affetto's parameters, looked up by their names as the host shows them.
#[derive(Debug, Clone, Copy)]
pub struct ParamIds {
    pub mix: ClapId,
    pub output_gain: ClapId,
    pub bypass: ClapId,
    pub mode: ClapId,
    pub pitch_shift: ClapId,
    pub formant_shift: ClapId,
    pub emotion: ClapId,
    pub intensity: ClapId,
}

/// What activation told the host.
#[derive(Debug, Clone, Copy)]
pub struct Activation {
    pub sample_rate_hz: f64,
    pub max_block: usize,
    /// `clap_plugin_latency.get()` right after activation, as a host reads it.
    pub reported_latency_samples: u32,
}

/// Buffers the host owns while the plugin is active: sized at activation, reused every block.
struct ProcessBuffers {
    /// `[channel][frame]` main input (also the in-place buffer).
    main_in: Vec<Vec<f32>>,
    /// `[channel][frame]` main output for out-of-place processing.
    main_out: Vec<Vec<f32>>,
    /// The stereo sidechain ("Reference") input, silent.
    sidechain: Vec<Vec<f32>>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    events: EventBuffer,
    output_events: EventBuffer,
}

/// The loaded bundle, shared by every instance of the test process and never unloaded: a DAW
/// loads a plugin library once too, and unloading it under a live instance on another thread
/// would pull the code out from under it.
fn plugin_entry() -> &'static PluginEntry {
    static ENTRY: OnceLock<PluginEntry> = OnceLock::new();
    ENTRY.get_or_init(|| {
        unsafe { PluginEntry::load(plugin_bundle()) }.expect("the bundle loads as a CLAP entry")
    })
}

/// What an active instance processes with: the audio processor and the host's buffers. It can
/// move to a thread of its own, as a DAW's audio thread holds it (see [`BackgroundAudio`]).
pub struct AudioSide {
    processor: StartedPluginAudioProcessor<TestHost>,
    buffers: ProcessBuffers,
    steady_time: u64,
}

/// One Affetto instance in the test host.
pub struct AffettoInstance {
    audio: Option<AudioSide>,
    /// Main channels of the selected layout.
    channels: usize,
    instance: PluginInstance<TestHost>,
}

impl Default for AffettoInstance {
    fn default() -> Self {
        Self::new()
    }
}

impl AffettoInstance {
    /// Loads the bundle and instantiates Affetto (stereo layout, the plugin's default).
    pub fn new() -> Self {
        let entry = plugin_entry();
        let factory = entry
            .get_plugin_factory()
            .expect("the bundle has a plugin factory");
        let id = CString::new(AFFETTO_CLAP_ID).unwrap();
        assert!(
            factory
                .plugin_descriptors()
                .any(|d| d.id() == Some(id.as_c_str())),
            "the factory lists {AFFETTO_CLAP_ID}"
        );
        let host_info = HostInfo::new(
            "Affetto host tests",
            "Affetto",
            "https://localhost",
            "1.0.0",
        )
        .unwrap();
        let instance = PluginInstance::<TestHost>::new(
            |_| HostShared::default(),
            |_| HostMainThread {
                latency_changed_calls: Cell::new(0),
                dirty_marks: Cell::new(0),
            },
            entry,
            &id,
            &host_info,
        )
        .expect("Affetto instantiates");
        Self {
            audio: None,
            channels: 2,
            instance,
        }
    }

    fn extensions(&mut self) -> PluginExtensions {
        *self
            .instance
            .access_shared_handler(|shared| shared.extensions.get())
            .expect("queried at init")
    }

    /// Selects the audio-ports configuration whose main input has `channels` channels.
    pub fn select_layout(&mut self, channels: usize) {
        assert!(self.audio.is_none(), "layouts change only while inactive");
        let config = self
            .extensions()
            .ports_config
            .expect("Affetto offers audio-ports configurations");
        let handle = self.instance.plugin_handle();
        let mut buffer = AudioPortsConfigBuffer::new();
        let mut id = None;
        for index in 0..config.count(&handle) {
            if let Some(c) = config.get(&handle, index, &mut buffer)
                && c.main_input.as_ref().map(|p| p.channel_count as usize) == Some(channels)
            {
                id = Some(c.id);
                break;
            }
        }
        let id = id.unwrap_or_else(|| panic!("no {channels}-channel configuration"));
        config
            .select(&handle, id)
            .expect("the configuration is accepted");
        self.channels = channels;
    }

    pub fn activate(&mut self, sample_rate_hz: f64, max_block: usize) -> Activation {
        let configuration = PluginAudioConfiguration {
            sample_rate: sample_rate_hz,
            min_frames_count: 1,
            max_frames_count: max_block as u32,
        };
        let stopped = self
            .instance
            .activate(|_, _| (), configuration)
            .expect("activation succeeds");
        let processor = stopped.start_processing().expect("processing starts");
        let silent = || vec![0.0f32; max_block];
        let buffers = ProcessBuffers {
            main_in: (0..self.channels).map(|_| silent()).collect(),
            main_out: (0..self.channels).map(|_| silent()).collect(),
            sidechain: (0..2).map(|_| silent()).collect(),
            input_ports: AudioPorts::with_capacity(self.channels + 2, 2),
            output_ports: AudioPorts::with_capacity(self.channels, 1),
            events: EventBuffer::with_capacity(64),
            output_events: EventBuffer::with_capacity(64),
        };
        self.audio = Some(AudioSide {
            processor,
            buffers,
            steady_time: 0,
        });
        self.pump_main_thread();
        Activation {
            sample_rate_hz,
            max_block,
            reported_latency_samples: self.latency_samples(),
        }
    }

    pub fn deactivate(&mut self) {
        if let Some(audio) = self.audio.take() {
            self.instance.deactivate(audio.processor.stop_processing());
        }
        self.pump_main_thread();
    }

    /// `clap_plugin.reset()`: what a host calls after a transport jump.
    pub fn reset(&mut self) {
        self.audio.as_mut().expect("active").processor.reset();
    }

    pub fn latency_samples(&mut self) -> u32 {
        let latency = self
            .extensions()
            .latency
            .expect("Affetto implements the latency extension");
        latency.get(&self.instance.plugin_handle())
    }

    /// How often the plugin called `clap_host_latency.changed()`.
    pub fn latency_changed_calls(&mut self) -> u32 {
        self.instance
            .access_handler(|main| main.latency_changed_calls.get())
    }

    pub fn restart_requests(&mut self) -> u32 {
        self.instance
            .access_shared_handler(|shared| shared.restart_requests.load(Ordering::SeqCst))
    }

    /// Runs the main-thread callback the plugin asked for, as a host's event loop would.
    pub fn pump_main_thread(&mut self) {
        let requested = self
            .instance
            .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst));
        if requested {
            self.instance.call_on_main_thread_callback();
        }
    }

    pub fn param_ids(&mut self) -> ParamIds {
        let params = self
            .extensions()
            .params
            .expect("Affetto implements the params extension");
        let handle = self.instance.plugin_handle();
        let mut buffer = ParamInfoBuffer::new();
        let mut find = |name: &str| {
            (0..params.count(&handle))
                .filter_map(|index| {
                    params
                        .get_info(&handle, index, &mut buffer)
                        .map(|info| (info.id, info.name.to_vec()))
                })
                .find(|(_, n)| n.as_slice() == name.as_bytes())
                .map(|(id, _)| id)
                .unwrap_or_else(|| panic!("no parameter named {name}"))
        };
        ParamIds {
            mix: find("Mix"),
            output_gain: find("Output Gain"),
            bypass: find("Bypass"),
            mode: find("Mode"),
            pitch_shift: find("Pitch Shift"),
            formant_shift: find("Formant Shift"),
            emotion: find("Emotion"),
            intensity: find("Intensity"),
        }
    }

    pub fn param_value(&mut self, id: ClapId) -> f64 {
        let params = self.extensions().params.unwrap();
        params
            .get_value(&self.instance.plugin_handle(), id)
            .expect("the parameter has a value")
    }

    /// The CLAP value for what a user would type, e.g. "-6" for the gain.
    pub fn text_to_value(&mut self, id: ClapId, text: &str) -> f64 {
        let params = self.extensions().params.unwrap();
        let text = CString::new(text).unwrap();
        params
            .text_to_value(&self.instance.plugin_handle(), id, &text)
            .expect("the text parses")
    }

    /// Sets parameters while inactive, through `clap_plugin_params.flush()`.
    pub fn set_params_inactive(&mut self, values: &[(ClapId, f64)]) {
        let params = self.extensions().params.unwrap();
        let mut events = EventBuffer::with_capacity(values.len());
        for &(id, value) in values {
            events.push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
        }
        let mut output = EventBuffer::new();
        let mut handle = self.instance.inactive_plugin_handle().expect("inactive");
        params.flush(
            &mut handle,
            &InputEvents::from_buffer(&events),
            &mut OutputEvents::from_buffer(&mut output),
        );
    }

    pub fn save_state(&mut self) -> Vec<u8> {
        let state = self
            .extensions()
            .state
            .expect("Affetto implements the state extension");
        let mut bytes = Vec::new();
        state
            .save(&self.instance.plugin_handle(), &mut bytes)
            .expect("state saves");
        bytes
    }

    /// Loads state; `false` if the plugin refused it.
    pub fn load_state(&mut self, bytes: &[u8]) -> bool {
        let state = self.extensions().state.unwrap();
        let ok = state
            .load(&self.instance.plugin_handle(), &mut &bytes[..])
            .is_ok();
        self.pump_main_thread();
        ok
    }

    /// Processes `audio[channel][..frames]` through the plugin and writes the output back into
    /// `audio`. `param_events` are (sample offset, parameter, CLAP value). With `in_place` the
    /// output buffers are the input buffers, as most DAWs do it.
    ///
    /// # Panics
    /// If not active, or if `frames` exceeds the activation's maximum block.
    pub fn process(
        &mut self,
        audio: &mut [Vec<f32>],
        frames: usize,
        param_events: &[(u32, ClapId, f64)],
        in_place: bool,
    ) {
        self.audio
            .as_mut()
            .expect("active")
            .process(audio, frames, param_events, in_place);
        self.pump_main_thread();
    }

    /// Runs a whole signal through in blocks of `block` frames; events are given in absolute
    /// sample positions and are delivered in the block that contains them.
    pub fn process_signal(
        &mut self,
        signal: &[Vec<f32>],
        block: usize,
        param_events: &[(usize, ClapId, f64)],
        in_place: bool,
    ) -> Vec<Vec<f32>> {
        let total = signal[0].len();
        let mut output: Vec<Vec<f32>> = signal.iter().map(|c| vec![0.0; c.len()]).collect();
        let mut chunk: Vec<Vec<f32>> = signal.iter().map(|_| vec![0.0; block]).collect();
        let mut start = 0;
        while start < total {
            let frames = block.min(total - start);
            for (c, s) in chunk.iter_mut().zip(signal) {
                c[..frames].copy_from_slice(&s[start..start + frames]);
            }
            let events: Vec<(u32, ClapId, f64)> = param_events
                .iter()
                .filter(|(at, _, _)| (start..start + frames).contains(at))
                .map(|&(at, id, value)| ((at - start) as u32, id, value))
                .collect();
            self.process(&mut chunk, frames, &events, in_place);
            for (o, c) in output.iter_mut().zip(&chunk) {
                o[start..start + frames].copy_from_slice(&c[..frames]);
            }
            start += frames;
        }
        output
    }
}

/// The audio side on a thread of its own, processing a signal over and over in blocks at the
/// pace of real time, as a DAW plays a track while the user works in the editor.
pub struct BackgroundAudio {
    stop: Arc<AtomicBool>,
    blocks: Arc<AtomicU64>,
    longest_block_ns: Arc<AtomicU64>,
    thread: JoinHandle<AudioSide>,
}

impl BackgroundAudio {
    /// Blocks processed so far.
    pub fn blocks(&self) -> u64 {
        self.blocks.load(Ordering::SeqCst)
    }

    /// The longest single process call so far.
    pub fn longest_block(&self) -> Duration {
        Duration::from_nanos(self.longest_block_ns.load(Ordering::SeqCst))
    }
}

impl AffettoInstance {
    /// Moves the active audio side to its own thread, which plays `signal` (`[channel][frame]`)
    /// in a loop, `block` frames at a time, one block per `block / sample_rate_hz` seconds.
    pub fn start_background_audio(
        &mut self,
        signal: Vec<Vec<f32>>,
        block: usize,
        sample_rate_hz: f64,
    ) -> BackgroundAudio {
        let mut side = self.audio.take().expect("active");
        let stop = Arc::new(AtomicBool::new(false));
        let blocks = Arc::new(AtomicU64::new(0));
        let longest_block_ns = Arc::new(AtomicU64::new(0));
        let (stop_flag, block_count, longest) =
            (stop.clone(), blocks.clone(), longest_block_ns.clone());
        let thread = std::thread::Builder::new()
            .name("test-host-audio".into())
            .spawn(move || {
                let block_time = Duration::from_secs_f64(block as f64 / sample_rate_hz);
                let total = signal[0].len();
                let mut chunk: Vec<Vec<f32>> = signal.iter().map(|_| vec![0.0; block]).collect();
                let started = Instant::now();
                let mut position = 0;
                let mut count = 0u32;
                while !stop_flag.load(Ordering::SeqCst) {
                    for (c, s) in chunk.iter_mut().zip(&signal) {
                        for (i, x) in c.iter_mut().enumerate() {
                            *x = s[(position + i) % total];
                        }
                    }
                    position = (position + block) % total;
                    let before = Instant::now();
                    side.process(&mut chunk, block, &[], true);
                    longest.fetch_max(before.elapsed().as_nanos() as u64, Ordering::SeqCst);
                    block_count.fetch_add(1, Ordering::SeqCst);
                    count += 1;
                    if let Some(wait) = (block_time * count).checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
                side
            })
            .expect("the audio thread starts");
        BackgroundAudio {
            stop,
            blocks,
            longest_block_ns,
            thread,
        }
    }

    /// Stops the audio thread and takes its audio side back.
    pub fn stop_background_audio(&mut self, audio: BackgroundAudio) {
        audio.stop.store(true, Ordering::SeqCst);
        let side = audio
            .thread
            .join()
            .expect("the audio thread ran without panicking");
        self.audio = Some(side);
        self.pump_main_thread();
    }

    fn gui(&mut self) -> PluginGui {
        self.extensions()
            .gui
            .expect("Affetto implements the GUI extension")
    }

    /// Opens the editor embedded in the X11 window `parent`, as a Linux DAW does; returns the
    /// size the editor asked for.
    pub fn open_editor(&mut self, parent: u32) -> GuiSize {
        let gui = self.gui();
        let handle = &mut self.instance.plugin_handle();
        let x11 = GuiConfiguration {
            api_type: GuiApiType::X11,
            is_floating: false,
        };
        assert!(
            gui.is_api_supported(handle, x11),
            "embedded X11 is supported"
        );
        gui.create(handle, x11).expect("the editor is created");
        let size = gui.get_size(handle).expect("the editor has a size");
        // SAFETY: the parent window stays open until after `close_editor`.
        unsafe { gui.set_parent(handle, Window::from_x11_handle(parent.into())) }
            .expect("the editor takes the parent window");
        gui.show(handle).expect("the editor shows");
        self.pump_main_thread();
        size
    }

    /// `clap_plugin_gui.get_size()` of the open editor, in physical pixels.
    pub fn editor_size(&mut self) -> GuiSize {
        let gui = self.gui();
        gui.get_size(&self.instance.plugin_handle())
            .expect("the editor has a size")
    }

    /// The host's scale for the open editor (a HiDPI screen); `false` if refused.
    pub fn set_editor_scale(&mut self, scale: f64) -> bool {
        let gui = self.gui();
        let accepted = gui.set_scale(&self.instance.plugin_handle(), scale).is_ok();
        self.pump_main_thread();
        accepted
    }

    /// Resizes the open editor as a host does when the user drags its frame; `false` if refused.
    pub fn set_editor_size(&mut self, width: u32, height: u32) -> bool {
        let gui = self.gui();
        let accepted = gui
            .set_size(&self.instance.plugin_handle(), GuiSize { width, height })
            .is_ok();
        self.pump_main_thread();
        accepted
    }

    pub fn close_editor(&mut self) {
        let gui = self.gui();
        gui.destroy(&self.instance.plugin_handle());
        self.pump_main_thread();
    }
}

impl AudioSide {
    /// One block, as [`AffettoInstance::process`] describes it, on whichever thread holds this
    /// side (the main-thread callbacks are the instance's to serve).
    pub fn process(
        &mut self,
        audio: &mut [Vec<f32>],
        frames: usize,
        param_events: &[(u32, ClapId, f64)],
        in_place: bool,
    ) {
        let (processor, buffers) = (&mut self.processor, &mut self.buffers);
        assert!(
            frames <= buffers.main_in[0].len(),
            "block longer than the activation allows"
        );
        for (host, ours) in audio.iter().zip(&mut buffers.main_in) {
            ours[..frames].copy_from_slice(&host[..frames]);
        }
        buffers.events.clear();
        for &(time, id, value) in param_events {
            buffers
                .events
                .push(&ParamValueEvent::new(time, id, Pckn::match_all(), value));
        }

        let ProcessBuffers {
            main_in,
            main_out,
            sidechain,
            input_ports,
            output_ports,
            events,
            output_events,
        } = buffers;
        let inputs = input_ports.with_input_buffers([
            AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(input_channels(main_in, frames)),
            },
            AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(input_channels(sidechain, frames)),
            },
        ]);
        let mut outputs = output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                main_out.iter_mut().map(|c| &mut c[..frames]),
            ),
        }]);
        if in_place {
            // CLAP signals in-place processing by identical input and output channel pointers.
            // The safe buffer types cannot alias, so point the output channels at the inputs.
            let raw_inputs = inputs.as_raw_buffers();
            let raw_outputs = outputs.as_raw_buffers();
            for channel in 0..raw_outputs[0].channel_count as usize {
                unsafe { *raw_outputs[0].data32.add(channel) = *raw_inputs[0].data32.add(channel) };
            }
        }
        processor
            .process(
                &inputs,
                &mut outputs,
                &InputEvents::from_buffer(events),
                &mut OutputEvents::from_buffer(output_events),
                Some(self.steady_time),
                None,
            )
            .expect("process succeeds");
        self.steady_time += frames as u64;

        let result = if in_place {
            &buffers.main_in
        } else {
            &buffers.main_out
        };
        for (host, ours) in audio.iter_mut().zip(result) {
            host[..frames].copy_from_slice(&ours[..frames]);
        }
    }
}

/// The first `frames` of each channel as CLAP input channels (one function, so both input ports
/// have the same iterator type).
fn input_channels(
    channels: &mut [Vec<f32>],
    frames: usize,
) -> impl Iterator<Item = InputChannel<'_, f32>> {
    channels
        .iter_mut()
        .map(move |c| InputChannel::variable(&mut c[..frames]))
}

impl Drop for AffettoInstance {
    fn drop(&mut self) {
        self.deactivate();
    }
}
