//! The captured reference style, shared between the host's state (main thread), the editor and
//! the audio thread without a lock or a panic.
//!
//! nice-plug restores persisted fields from the main thread while the audio thread may be
//! processing. An `AtomicRefCell` would panic there if the audio thread held its borrow at that
//! moment, and a mutex would make one thread wait for the other. The profile is a dozen numbers,
//! so it lives in atomics behind a sequence counter: writers claim the counter (odd while
//! writing), readers retry later if it moved under them. Nobody waits.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use affetto_dsp::emotion::{FIELD_COUNT, StyleProfile};
use anyhow::{Result, bail};
use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use serde::{Deserialize, Serialize};

use crate::wav::WavInput;

/// How the profile is written into a saved project: named numbers, so a later version that adds
/// or renames a statistic can still read what it knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedReference {
    /// `None` when no reference was captured.
    pub profile: Option<Vec<(String, f32)>>,
}

impl SavedReference {
    pub fn from_profile(profile: Option<&StyleProfile>) -> Self {
        Self {
            profile: profile.map(|p| {
                p.fields()
                    .iter()
                    .map(|(name, value)| (name.to_string(), *value))
                    .collect()
            }),
        }
    }

    /// The profile, or `None` with a logged error if the saved numbers are incomplete or not
    /// finite (a corrupt or foreign state).
    pub fn to_profile(&self) -> Option<StyleProfile> {
        let saved = self.profile.as_ref()?;
        let names = StyleProfile::field_names();
        let values: Option<Vec<f32>> = names
            .iter()
            .map(|name| saved.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
            .collect();
        let profile = values.as_deref().and_then(StyleProfile::from_fields);
        if profile.is_none() {
            nice_error!("the saved reference style is incomplete or corrupt; it was not loaded");
        }
        profile
    }
}

/// The current reference style, readable and writable from any thread without waiting.
pub struct SharedReference {
    /// Even when stable, odd while a writer is writing; every write adds 2.
    sequence: AtomicU64,
    present: AtomicU32,
    values: [AtomicU32; FIELD_COUNT],
}

impl Default for SharedReference {
    fn default() -> Self {
        Self {
            sequence: AtomicU64::new(0),
            present: AtomicU32::new(0),
            values: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

impl SharedReference {
    /// Stores `profile` unless another write is under way (then `false`: try again later).
    pub fn try_store(&self, profile: Option<&StyleProfile>) -> bool {
        let before = self.sequence.load(Ordering::Acquire);
        if before % 2 == 1
            || self
                .sequence
                .compare_exchange(before, before + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        self.present
            .store(profile.is_some() as u32, Ordering::Relaxed);
        if let Some(profile) = profile {
            for (slot, (_, value)) in self.values.iter().zip(profile.fields()) {
                slot.store(value.to_bits(), Ordering::Relaxed);
            }
        }
        self.sequence.store(before + 2, Ordering::Release);
        true
    }

    /// `(version, profile)` if no write was under way; the version changes with every write,
    /// so a reader can tell whether anything changed since it last looked.
    pub fn try_load(&self) -> Option<(u64, Option<StyleProfile>)> {
        let before = self.sequence.load(Ordering::Acquire);
        if before % 2 == 1 {
            return None;
        }
        let present = self.present.load(Ordering::Relaxed) == 1;
        let mut values = [0.0f32; FIELD_COUNT];
        for (value, slot) in values.iter_mut().zip(&self.values) {
            *value = f32::from_bits(slot.load(Ordering::Relaxed));
        }
        std::sync::atomic::fence(Ordering::Acquire);
        if self.sequence.load(Ordering::Relaxed) != before {
            return None;
        }
        let profile = if present {
            StyleProfile::from_fields(&values)
        } else {
            None
        };
        Some((before, profile))
    }
}

impl<'a> PersistentField<'a, SavedReference> for SharedReference {
    /// A state being loaded (main thread). A write racing with the audio thread's own (a profile
    /// freezing at that very block) is retried until it lands: only the main thread may spin,
    /// and only for as long as the audio thread takes to store a dozen numbers.
    fn set(&self, new_value: SavedReference) {
        let profile = new_value.to_profile();
        while !self.try_store(profile.as_ref()) {
            std::hint::spin_loop();
        }
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&SavedReference) -> R,
    {
        let profile = loop {
            if let Some((_, profile)) = self.try_load() {
                break profile;
            }
            std::hint::spin_loop();
        };
        f(&SavedReference::from_profile(profile.as_ref()))
    }
}

/// What became of the last reference file the editor asked for. Shared by the editor and the
/// background task that reads the file; the audio thread never touches it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ReferenceLoad {
    #[default]
    Idle,
    Loading(String),
    Loaded(String),
    Failed(String),
}

/// The load's status, behind a lock only the editor and the background task take.
#[derive(Default)]
pub struct ReferenceLoadStatus(Mutex<ReferenceLoad>);

impl ReferenceLoadStatus {
    pub fn get(&self) -> ReferenceLoad {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn set(&self, load: ReferenceLoad) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = load;
    }
}

/// Reads the WAV file at `path`, captures its style and stores it as the reference (a
/// background task: the file may take a second to analyse). Failures are logged and shown.
pub fn load_reference_file(path: &Path, shared: &SharedReference, status: &ReferenceLoadStatus) {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    status.set(ReferenceLoad::Loading(name.clone()));
    match reference_style_of_wav(path) {
        Ok(profile) => {
            // Only a writer racing on the audio thread (a sidechain capture freezing at this
            // very block) can make a store fail, and only for a moment.
            while !shared.try_store(Some(&profile)) {
                std::thread::yield_now();
            }
            status.set(ReferenceLoad::Loaded(name));
        }
        Err(error) => {
            nice_error!("reference style not loaded: {error:#}");
            status.set(ReferenceLoad::Failed(format!("{error:#}")));
        }
    }
}

/// A one-line summary of a captured style, for the editor.
pub fn describe(profile: &StyleProfile) -> String {
    let note = profile.f0_median_st.round() as i32;
    let vibrato = if profile.vibrato_presence >= 0.1 {
        format!(
            "vibrato {:.1} Hz ±{:.0} cents on {:.0} % of notes",
            profile.vibrato_rate_hz,
            profile.vibrato_extent_cents,
            100.0 * profile.vibrato_presence
        )
    } else {
        "no vibrato".to_string()
    };
    format!(
        "around {} (spread {:.1} st), {vibrato}, voiced {:.0} %, loudness spread {:.1} dB, tilt {:.1} dB",
        crate::editor::note_name(note),
        profile.f0_iqr_st,
        100.0 * profile.voiced_share,
        profile.loudness_spread_db,
        profile.tilt_db,
    )
}

/// The prosodic style of the voice in the WAV file at `path`.
pub fn reference_style_of_wav(path: &Path) -> Result<StyleProfile> {
    match style_of_wav(path)? {
        Some(style) => Ok(style),
        None => bail!(
            "{}: no voice found to take a style from (it needs voiced, pitched sound)",
            path.display()
        ),
    }
}

/// The style of the whole WAV file at `path` (`None` if it holds no voice).
pub fn style_of_wav(path: &Path) -> Result<Option<StyleProfile>> {
    let mut input = WavInput::open(path)?;
    let channels = input.spec.channels as usize;
    let mut mono = Vec::with_capacity(input.frames as usize);
    let mut block = vec![vec![0.0f32; 8192]; channels];
    loop {
        let read = input.read_block(&mut block, 8192)?;
        if read == 0 {
            break;
        }
        mono.extend((0..read).map(|i| block.iter().map(|c| c[i]).sum::<f32>() / channels as f32));
    }
    let finite: Vec<f32> = mono
        .into_iter()
        .map(|x| if x.is_finite() { x } else { 0.0 })
        .collect();
    Ok(StyleProfile::of_recording(
        &finite,
        input.spec.sample_rate as f32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> StyleProfile {
        StyleProfile::from_fields(&[
            52.0, 2.5, 4.0, -1.0, 0.4, 5.5, 40.0, 0.8, 0.6, 0.2, 6.0, -18.0,
        ])
        .unwrap()
    }

    #[test]
    fn a_stored_profile_loads_back_and_bumps_the_version() {
        let shared = SharedReference::default();
        let (v0, empty) = shared.try_load().unwrap();
        assert_eq!(empty, None);
        assert!(shared.try_store(Some(&profile())));
        let (v1, loaded) = shared.try_load().unwrap();
        assert_ne!(v0, v1);
        assert_eq!(loaded, Some(profile()));
    }

    #[test]
    fn a_bad_reference_file_is_reported_and_a_good_one_stored() {
        let shared = SharedReference::default();
        let status = ReferenceLoadStatus::default();
        let dir = std::env::temp_dir().join(format!("affetto-ref-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("not-a-wav.wav");
        std::fs::write(&bad, b"RIFF....garbage").unwrap();
        load_reference_file(&bad, &shared, &status);
        assert!(matches!(status.get(), ReferenceLoad::Failed(why) if why.contains("not a WAV")));
        assert_eq!(shared.try_load().unwrap().1, None, "nothing stored");

        let voice = affetto_dsp::synth::render(
            &affetto_dsp::synth::Phrase::sung(vec![
                affetto_dsp::synth::Note::new(57.0, 1.5, affetto_dsp::synth::Vowel::A),
                affetto_dsp::synth::Note::new(60.0, 1.5, affetto_dsp::synth::Vowel::O),
            ]),
            22_050,
            7,
        );
        let good = dir.join("voice.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22_050,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut writer = hound::WavWriter::create(&good, spec).unwrap();
        voice
            .samples
            .iter()
            .for_each(|x| writer.write_sample(*x).unwrap());
        writer.finalize().unwrap();
        load_reference_file(&good, &shared, &status);
        assert_eq!(status.get(), ReferenceLoad::Loaded("voice.wav".into()));
        let profile = shared.try_load().unwrap().1.expect("a style was stored");
        assert!((profile.f0_median_st - 58.5).abs() < 2.0, "{profile:?}");
        assert!(describe(&profile).starts_with("around "));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn saved_state_round_trips_and_corrupt_state_loads_nothing() {
        let saved = SavedReference::from_profile(Some(&profile()));
        let json = serde_json::to_string(&saved).unwrap();
        let back: SavedReference = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_profile(), Some(profile()));

        let mut missing = saved.clone();
        missing.profile.as_mut().unwrap().pop();
        assert_eq!(missing.to_profile(), None);
        let mut not_finite = saved;
        not_finite.profile.as_mut().unwrap()[0].1 = f32::NAN;
        assert_eq!(not_finite.to_profile(), None);
    }
}
