//! The network: three 1-D convolutions across the pitch grid and two small heads.
//!
//! Convolving along the grid makes the model pitch-equivariant (a pattern means the same at any
//! F0), so a few thousand weights suffice; the third layer is dilated by one octave so every bin
//! sees the bins an octave either side, which is where octave errors come from. The pitch head is
//! a 1×1 convolution giving one logit per bin; the voicing head reads the strongest and the mean
//! activation across the grid plus the DSP tracker's voicing features.
//!
//! Size (see [`PitchNet::parameter_count`] and [`PitchNet::multiply_adds_per_frame`]): about 3.3 k
//! parameters and 0.26 M multiply-adds per frame, far inside the 200 k / 5 M budget,
//! because the worker must keep up with 200 frames a second within 5 % of a core.

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, Linear, VarBuilder, conv1d, linear};

use super::features::{CHANNELS, FrameFeatures, SCALARS};
use super::{NeuralEstimate, PITCH_BINS};

/// Bumped whenever the layers change; a weights file of another version is refused.
pub const FORMAT_VERSION: f32 = 1.0;
/// Name of the tensor holding [`FORMAT_VERSION`] in the weights file.
pub const FORMAT_VERSION_KEY: &str = "format_version";

/// Hidden channels of the convolutions.
const HIDDEN: usize = 16;
const HIDDEN_VOICING: usize = 16;
/// Bins per octave: the dilation of the octave layer.
const OCTAVE_BINS: usize = 24;

/// The weights committed with the project, made by `cargo xtask train`.
pub static EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../../models/pitch_net.safetensors");

#[derive(Debug)]
pub enum ModelError {
    /// Not a safetensors file, or a tensor is missing or has the wrong shape.
    Unreadable(candle_core::Error),
    /// A weights file made for other layers.
    WrongVersion { found: f32 },
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreadable(error) => {
                write!(f, "the pitch model's weights are unreadable: {error}")
            }
            Self::WrongVersion { found } => write!(
                f,
                "the pitch model's weights are format {found}, this build needs {FORMAT_VERSION}"
            ),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<candle_core::Error> for ModelError {
    fn from(error: candle_core::Error) -> Self {
        Self::Unreadable(error)
    }
}

#[derive(Clone)]
pub struct PitchNet {
    spectral: Conv1d,
    local: Conv1d,
    octave: Conv1d,
    pitch_head: Conv1d,
    voicing_hidden: Linear,
    voicing_out: Linear,
    device: Device,
}

/// Raw outputs of a batch: pitch logits `(batch, PITCH_BINS)` and voicing logits `(batch,)`.
pub struct PitchNetOutput {
    pub pitch_logits: Tensor,
    pub voicing_logits: Tensor,
}

impl PitchNet {
    /// Builds the layers from `vb` (a fresh `VarMap` for training, or a weights file).
    pub fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        let same = |kernel: usize, dilation: usize| Conv1dConfig {
            padding: dilation * (kernel - 1) / 2,
            dilation,
            ..Default::default()
        };
        Ok(Self {
            spectral: conv1d(CHANNELS, HIDDEN, 5, same(5, 1), vb.pp("spectral"))?,
            local: conv1d(HIDDEN, HIDDEN, 5, same(5, 1), vb.pp("local"))?,
            octave: conv1d(HIDDEN, HIDDEN, 3, same(3, OCTAVE_BINS), vb.pp("octave"))?,
            pitch_head: conv1d(HIDDEN, 1, 1, same(1, 1), vb.pp("pitch_head"))?,
            voicing_hidden: linear(
                2 * HIDDEN + SCALARS,
                HIDDEN_VOICING,
                vb.pp("voicing_hidden"),
            )?,
            voicing_out: linear(HIDDEN_VOICING, 1, vb.pp("voicing_out"))?,
            device: vb.device().clone(),
        })
    }

    /// The committed weights, checked.
    pub fn embedded() -> Result<Self, ModelError> {
        Self::from_safetensors(EMBEDDED_WEIGHTS)
    }

    /// Weights from a safetensors file's bytes; refuses a corrupt file or another version.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelError> {
        let device = Device::Cpu;
        let vb = VarBuilder::from_slice_safetensors(bytes, DType::F32, &device)?;
        let found = vb
            .get(1, FORMAT_VERSION_KEY)?
            .to_vec1::<f32>()?
            .first()
            .copied()
            .unwrap_or(f32::NAN);
        if found != FORMAT_VERSION {
            return Err(ModelError::WrongVersion { found });
        }
        let net = Self::new(vb)?;
        // A file can parse and still hold garbage; one forward pass on silence must be finite.
        let probe = net.estimate(&[FrameFeatures::default()])?;
        if !probe[0].voicing_probability.is_finite() {
            return Err(ModelError::Unreadable(candle_core::Error::Msg(
                "non-finite output".into(),
            )));
        }
        Ok(net)
    }

    /// Logits for a batch: `channels` is `(batch, CHANNELS, PITCH_BINS)`, `scalars`
    /// `(batch, SCALARS)`.
    pub fn forward(
        &self,
        channels: &Tensor,
        scalars: &Tensor,
    ) -> candle_core::Result<PitchNetOutput> {
        let hidden = self.spectral.forward(channels)?.relu()?;
        let hidden = self.local.forward(&hidden)?.relu()?;
        let hidden = (self.octave.forward(&hidden)? + &hidden)?.relu()?;
        let pitch_logits = self.pitch_head.forward(&hidden)?.squeeze(1)?;
        let pooled = Tensor::cat(
            &[
                hidden.max(D::Minus1)?,
                hidden.mean(D::Minus1)?,
                scalars.clone(),
            ],
            1,
        )?;
        let voicing = self.voicing_hidden.forward(&pooled)?.relu()?;
        let voicing_logits = self.voicing_out.forward(&voicing)?.squeeze(1)?;
        Ok(PitchNetOutput {
            pitch_logits,
            voicing_logits,
        })
    }

    /// Estimates for a batch of frames.
    pub fn estimate(&self, frames: &[FrameFeatures]) -> candle_core::Result<Vec<NeuralEstimate>> {
        let (channels, scalars) = batch_tensors(frames, &self.device)?;
        let output = self.forward(&channels, &scalars)?;
        let posterior = candle_nn::ops::softmax_last_dim(&output.pitch_logits)?.to_vec2::<f32>()?;
        let voicing = candle_nn::ops::sigmoid(&output.voicing_logits)?.to_vec1::<f32>()?;
        Ok(posterior
            .iter()
            .zip(voicing)
            .map(|(row, voicing_probability)| {
                let mut estimate = NeuralEstimate {
                    voicing_probability,
                    posterior: [0.0; PITCH_BINS],
                };
                estimate.posterior.copy_from_slice(row);
                estimate
            })
            .collect())
    }

    pub fn parameter_count() -> usize {
        let conv =
            |inputs: usize, outputs: usize, kernel: usize| inputs * outputs * kernel + outputs;
        conv(CHANNELS, HIDDEN, 5)
            + conv(HIDDEN, HIDDEN, 5)
            + conv(HIDDEN, HIDDEN, 3)
            + conv(HIDDEN, 1, 1)
            + conv(2 * HIDDEN + SCALARS, HIDDEN_VOICING, 1)
            + conv(HIDDEN_VOICING, 1, 1)
    }

    pub fn multiply_adds_per_frame() -> usize {
        PITCH_BINS * (CHANNELS * HIDDEN * 5 + HIDDEN * HIDDEN * 5 + HIDDEN * HIDDEN * 3 + HIDDEN)
            + (2 * HIDDEN + SCALARS) * HIDDEN_VOICING
            + HIDDEN_VOICING
    }
}

/// `(batch, CHANNELS, PITCH_BINS)` and `(batch, SCALARS)` tensors of `frames`.
pub fn batch_tensors(
    frames: &[FrameFeatures],
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let channels: Vec<f32> = frames.iter().flat_map(|f| f.channels).collect();
    let scalars: Vec<f32> = frames.iter().flat_map(|f| f.scalars).collect();
    Ok((
        Tensor::from_vec(channels, (frames.len(), CHANNELS, PITCH_BINS), device)?,
        Tensor::from_vec(scalars, (frames.len(), SCALARS), device)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_weights_load_and_the_budget_holds() {
        let net = PitchNet::embedded().expect("committed weights load");
        let estimates = net
            .estimate(&[FrameFeatures::default(), FrameFeatures::default()])
            .unwrap();
        assert_eq!(estimates.len(), 2);
        let total: f32 = estimates[0].posterior.iter().sum();
        assert!((total - 1.0).abs() < 1e-4);
        assert!(PitchNet::parameter_count() <= 200_000);
        assert!(PitchNet::multiply_adds_per_frame() <= 5_000_000);
    }

    #[test]
    fn corrupt_and_mismatched_weights_are_refused() {
        assert!(matches!(
            PitchNet::from_safetensors(b"not a weights file"),
            Err(ModelError::Unreadable(_))
        ));
        let truncated = &EMBEDDED_WEIGHTS[..EMBEDDED_WEIGHTS.len() / 2];
        assert!(PitchNet::from_safetensors(truncated).is_err());
        let device = Device::Cpu;
        let wrong_version: std::collections::HashMap<String, Tensor> = [(
            FORMAT_VERSION_KEY.to_string(),
            Tensor::new(&[FORMAT_VERSION + 1.0], &device).unwrap(),
        )]
        .into();
        let path = std::env::temp_dir().join(format!(
            "affetto-wrong-version-{}.safetensors",
            std::process::id()
        ));
        candle_core::safetensors::save(&wrong_version, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            PitchNet::from_safetensors(&bytes),
            Err(ModelError::WrongVersion { .. })
        ));
    }
}
