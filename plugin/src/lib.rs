//! Affetto as a CLAP and VST3 plugin: the plugin struct, its life cycle and the exports.
//!
//! The signal path is `affetto_dsp::Engine`; this crate is glue. The `affetto` binary next to
//! this library drives the same engine and analysis offline (`affetto render`, `affetto analyze`).

use std::sync::Arc;

use affetto_dsp::Engine;
use affetto_dsp::emotion::StyleProfile;
use affetto_dsp::pitch::AnalysisMode;
use affetto_dsp::pitch::neural::PitchNet;
use nice_plug::prelude::*;

pub mod editor;
pub mod params;
pub mod reference;
pub mod wav;
pub mod worker;

use editor::{AffettoEditor, DisplayFeed, DisplayWriter, EditorTask, display_feed, peak_of};
use reference::ReferenceLoadStatus;
use worker::NeuralWorker;

pub use params::AffettoParams;

pub struct Affetto {
    params: Arc<AffettoParams>,
    /// Rebuilt for the channel layout, sample rate and buffer size in `activate`.
    engine: Engine,
    /// Version of the shared reference style the engine has (`None`: never loaded).
    reference_version: Option<u64>,
    /// A learned style the shared store was busy for; stored on a later block.
    pending_reference: Option<StyleProfile>,
    /// The committed neural pitch model, loaded and checked on the first Studio activation; `None`
    /// (after one logged error) if it does not load, and the DSP tracker works alone.
    model: Option<Option<PitchNet>>,
    /// The running worker, in Studio mode.
    worker: Option<NeuralWorker>,
    /// What the editor shows: the audio thread writes, the editor reads.
    display: DisplayWriter,
    display_feed: Arc<DisplayFeed>,
    /// The editor's last reference-file load, shared with the background task doing it.
    reference_load: Arc<ReferenceLoadStatus>,
}

impl Default for Affetto {
    fn default() -> Self {
        let (display_feed, display) = display_feed();
        Self {
            params: Arc::new(AffettoParams::default()),
            engine: Engine::new(2),
            reference_version: None,
            pending_reference: None,
            model: None,
            worker: None,
            display,
            display_feed,
            reference_load: Arc::new(ReferenceLoadStatus::default()),
        }
    }
}

impl Plugin for Affetto {
    const NAME: &'static str = "Affetto";
    const VENDOR: &'static str = "Affetto";
    const URL: &'static str = "";
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    /// Mono and stereo voices, each with an optional stereo sidechain that will carry a reference
    /// voice for style capture.
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            aux_input_ports: &[new_nonzero_u32(2)],
            names: PortNames {
                aux_inputs: &["Reference"],
                ..PortNames::const_default()
            },
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            aux_input_ports: &[new_nonzero_u32(2)],
            names: PortNames {
                aux_inputs: &["Reference"],
                ..PortNames::const_default()
            },
            ..AudioIOLayout::const_default()
        },
    ];

    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = AffettoEditor;
    type SysExMessage = ();
    /// Reading a reference WAV file for the editor, off the GUI thread.
    type BackgroundTask = EditorTask;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        Some(AffettoEditor::new(
            self.params.clone(),
            self.display_feed.clone(),
            self.reference_load.clone(),
            async_executor,
        ))
    }

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        let params = self.params.clone();
        let status = self.reference_load.clone();
        Box::new(move |task| editor::run_task(task, &params, &status))
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = audio_io_layout
            .main_output_channels
            .map_or(1, NonZeroU32::get) as usize;
        self.engine = Engine::new(channels);
        // The mode sets the latency, so it is read here: CLAP lets the latency change only during
        // activation. (Reporting a change from `process` instead makes nice-plug 0.4.2 call
        // `latency.changed()` outside activation when the host deactivates before servicing the
        // callback: clap-validator's parameter fuzzing catches exactly that.)
        self.engine.prepare(
            buffer_config.sample_rate,
            buffer_config.max_buffer_size as usize,
            self.params.analysis_mode(),
        );
        context.set_latency_samples(self.engine.latency_samples());
        self.reference_version = None;
        self.start_worker();
        self.display.activated(
            self.params.analysis_mode() == AnalysisMode::Live,
            buffer_config.sample_rate,
            self.engine.latency_samples(),
        );
        true
    }

    fn deactivate(&mut self) {
        self.worker = None;
    }

    fn reset(&mut self) {
        self.engine.reset(&self.params.controls());
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        self.follow_reference_style(aux);
        let channels = buffer.as_slice();
        let input_peak = peak_of(channels);
        // With sample-accurate automation the wrapper splits the host block at every parameter
        // event, so reading the values here starts each glide on the event's own sample.
        self.engine.process(channels, &self.params.controls());
        let output_peak = peak_of(channels);
        self.display
            .block_done(&mut self.engine, input_peak, output_peak);
        ProcessStatus::Normal
    }
}

impl Affetto {
    /// Replaces any running worker with a new one in Studio mode (Live mode does not wait for
    /// the network, so it runs none).
    fn start_worker(&mut self) {
        self.worker = None;
        if self.params.analysis_mode() != AnalysisMode::Studio {
            return;
        }
        let model = self
            .model
            .get_or_insert_with(|| match worker::load_model() {
                Ok(model) => Some(model),
                Err(error) => {
                    nice_error!("{error}; pitch tracking runs on DSP alone");
                    None
                }
            });
        if let Some((worker, link)) = model.clone().and_then(NeuralWorker::start) {
            self.engine.attach_neural(link);
            self.worker = Some(worker);
        }
    }

    /// Keeps the engine's reference style in step with the saved one (a project load or the
    /// editor may change it) and learns a new one from the sidechain when asked. Never waits: a
    /// store that is busy is tried again on the next block.
    fn follow_reference_style(&mut self, aux: &mut AuxiliaryBuffers) {
        let shared = &self.params.reference_style;
        if let Some(pending) = self.pending_reference
            && shared.try_store(Some(&pending))
        {
            self.pending_reference = None;
        }
        if let Some((version, profile)) = shared.try_load()
            && self.reference_version != Some(version)
            && self.pending_reference.is_none()
        {
            self.engine.set_reference_style(profile);
            self.reference_version = Some(version);
        }
        let learning = self.params.learn_reference.value();
        let mut sidechain: [&[f32]; 2] = [&[], &[]];
        let mut channels = 0;
        if let Some(input) = aux.inputs.first_mut() {
            for (slot, channel) in sidechain.iter_mut().zip(input.as_slice_immutable()) {
                *slot = channel;
                channels += 1;
            }
        }
        if let Some(learned) = self
            .engine
            .learn_reference(&sidechain[..channels], learning)
            && !shared.try_store(Some(&learned))
        {
            self.pending_reference = Some(learned);
        }
    }
}

impl ClapPlugin for Affetto {
    const CLAP_ID: &'static str = "org.affetto.affetto";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Changes the emotion of a voice in real time: same words, same singer, new feeling");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::PitchCorrection,
        ClapFeature::Mono,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for Affetto {
    /// Fixed forever: hosts identify saved instances by it.
    const VST3_CLASS_ID: [u8; 16] = *b"AffettoVoiceEmo1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::PitchShift,
        Vst3SubCategory::Mono,
        Vst3SubCategory::Stereo,
    ];
}

nice_export_clap!(Affetto);
nice_export_vst3!(Affetto);
