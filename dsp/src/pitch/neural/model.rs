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
use super::product::kernel_product;
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
    /// `(batch, SCALARS)`. candle's own layers, as `cargo xtask train` trained them (so the
    /// committed weights stay what that command makes, to the bit).
    pub fn forward(
        &self,
        channels: &Tensor,
        scalars: &Tensor,
    ) -> candle_core::Result<PitchNetOutput> {
        self.forward_with(channels, scalars, Conv1d::forward, Linear::forward)
    }

    /// [`Self::forward`] computed the way the worker runs it ([`same_length_conv`],
    /// [`linear_layer`]): equal to rounding, at a fraction of the time.
    fn infer(&self, channels: &Tensor, scalars: &Tensor) -> candle_core::Result<PitchNetOutput> {
        self.forward_with(channels, scalars, same_length_conv, linear_layer)
    }

    /// The network, with the layers computed by `conv` and `linear`.
    fn forward_with(
        &self,
        channels: &Tensor,
        scalars: &Tensor,
        conv: impl Fn(&Conv1d, &Tensor) -> candle_core::Result<Tensor>,
        linear: impl Fn(&Linear, &Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<PitchNetOutput> {
        let hidden = conv(&self.spectral, channels)?.relu()?;
        let hidden = conv(&self.local, &hidden)?.relu()?;
        let hidden = (conv(&self.octave, &hidden)? + &hidden)?.relu()?;
        let pitch_logits = conv(&self.pitch_head, &hidden)?.squeeze(1)?;
        let pooled = Tensor::cat(
            &[
                hidden.max(D::Minus1)?,
                hidden.mean(D::Minus1)?,
                scalars.clone(),
            ],
            1,
        )?;
        let voicing = linear(&self.voicing_hidden, &pooled)?.relu()?;
        let voicing_logits = linear(&self.voicing_out, &voicing)?.squeeze(1)?;
        Ok(PitchNetOutput {
            pitch_logits,
            voicing_logits,
        })
    }

    /// Estimates for a batch of frames.
    pub fn estimate(&self, frames: &[FrameFeatures]) -> candle_core::Result<Vec<NeuralEstimate>> {
        let (channels, scalars) = batch_tensors(frames, &self.device)?;
        let output = self.infer(&channels, &scalars)?;
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

/// `conv.forward(x)` for a convolution padded to keep the length, computed as one
/// [`kernel_product`]: the input's shifted copies, one per tap, stacked under each channel (whole
/// rows copied), times the kernel flattened to `(out, in × taps)`. candle's own CPU conv1d builds
/// that matrix element by element in a zeroed buffer, transposes its result and goes through
/// candle's matmul (see `product.rs`): callgrind counted 2.3 M instructions for the network on a
/// batch of three that way, 0.8 M with the columns stacked like this.
fn same_length_conv(conv: &Conv1d, x: &Tensor) -> candle_core::Result<Tensor> {
    let (out_channels, in_channels, taps) = conv.weight().dims3()?;
    let (batch, _, len) = x.dims3()?;
    let Conv1dConfig {
        padding, dilation, ..
    } = *conv.config();
    let columns = if taps == 1 {
        x.clone()
    } else {
        let padded = x.pad_with_zeros(2, padding, padding)?;
        let shifted = (0..taps)
            .map(|tap| padded.narrow(2, tap * dilation, len))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Tensor::stack(&shifted, 2)?.reshape((batch, in_channels * taps, len))?
    };
    let kernel = conv.weight().reshape((out_channels, in_channels * taps))?;
    let y = kernel_product(&kernel, &columns)?;
    match conv.bias() {
        Some(bias) => y.broadcast_add(&bias.reshape((1, out_channels, 1))?),
        None => Ok(y),
    }
}

/// `layer.forward(x)` for `x` of shape `(batch, in)`, through [`kernel_product`].
fn linear_layer(layer: &Linear, x: &Tensor) -> candle_core::Result<Tensor> {
    let y = kernel_product(layer.weight(), &x.t()?.unsqueeze(0)?)?
        .squeeze(0)?
        .t()?;
    match layer.bias() {
        Some(bias) => y.broadcast_add(bias),
        None => Ok(y),
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
    fn the_worker_computes_what_training_computed() {
        let net = PitchNet::embedded().expect("committed weights load");
        let device = Device::Cpu;
        let channels = Tensor::rand(0.0f32, 1.0, (3, CHANNELS, PITCH_BINS), &device).unwrap();
        let scalars = Tensor::rand(-1.0f32, 1.0, (3, SCALARS), &device).unwrap();
        let trained = net.forward(&channels, &scalars).unwrap();
        let inferred = net.infer(&channels, &scalars).unwrap();
        for (a, b) in [
            (&trained.pitch_logits, &inferred.pitch_logits),
            (&trained.voicing_logits, &inferred.voicing_logits),
        ] {
            let largest = (a - b).unwrap().abs().unwrap().max_all().unwrap();
            assert!(largest.to_scalar::<f32>().unwrap() < 1e-4);
        }
    }

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
