//! WAV in and out for the renderer and the editor's reference loading: any rate, mono or
//! stereo, 8/16/24/32-bit int or 32-bit float.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg32;

/// A WAV file opened for block-wise reading.
pub struct WavInput {
    reader: WavReader<BufReader<File>>,
    /// For error messages.
    path: PathBuf,
    pub spec: WavSpec,
    /// Length in frames (samples per channel).
    pub frames: u64,
}

impl WavInput {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let reader = WavReader::new(BufReader::new(file)).map_err(|e| match e {
            hound::Error::FormatError(why) => {
                anyhow::anyhow!("{} is not a WAV file ({why})", path.display())
            }
            hound::Error::Unsupported => {
                anyhow::anyhow!("{}: unsupported WAV encoding", path.display())
            }
            other => anyhow::anyhow!("cannot read {}: {other}", path.display()),
        })?;
        let spec = reader.spec();
        match (spec.sample_format, spec.bits_per_sample) {
            (SampleFormat::Int, 8 | 16 | 24 | 32) | (SampleFormat::Float, 32) => {}
            (format, bits) => bail!(
                "{}: unsupported sample format {bits}-bit {} (Affetto reads 8/16/24/32-bit int and 32-bit float)",
                path.display(),
                format_name(format)
            ),
        }
        if !(1..=2).contains(&spec.channels) {
            bail!(
                "{}: {} channels; Affetto takes mono or stereo",
                path.display(),
                spec.channels
            );
        }
        let frames = reader.duration() as u64;
        Ok(Self {
            reader,
            path: path.to_owned(),
            spec,
            frames,
        })
    }

    /// Reads up to `max_frames` frames into `channels[channel][frame]`; returns how many it read
    /// (0 at the end of the file).
    pub fn read_block(&mut self, channels: &mut [Vec<f32>], max_frames: usize) -> Result<usize> {
        let channel_count = self.spec.channels as usize;
        let wanted = max_frames * channel_count;
        let corrupt = || format!("{}: truncated or corrupt WAV data", self.path.display());
        let mut index = 0;
        let mut store = |value: f32| {
            channels[index % channel_count][index / channel_count] = value;
            index += 1;
        };
        match self.spec.sample_format {
            SampleFormat::Float => {
                for sample in self.reader.samples::<f32>().take(wanted) {
                    store(sample.with_context(corrupt)?);
                }
            }
            SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (self.spec.bits_per_sample - 1)) as f32;
                for sample in self.reader.samples::<i32>().take(wanted) {
                    store(sample.with_context(corrupt)? as f32 * scale);
                }
            }
        }
        Ok(index / channel_count)
    }
}

/// A WAV file being written block by block.
pub struct WavOutput {
    writer: WavWriter<BufWriter<File>>,
    spec: WavSpec,
    /// TPDF dither source for 8- and 16-bit output, seeded so renders are reproducible.
    dither: Pcg32,
}

impl WavOutput {
    /// Creates (or truncates) `path`. Done before any processing, so an unwritable output fails
    /// at once rather than after a long render.
    pub fn create(path: &Path, spec: WavSpec) -> Result<Self> {
        let writer = WavWriter::create(path, spec).map_err(|e| match e {
            hound::Error::IoError(io) => anyhow::anyhow!("cannot write {}: {io}", path.display()),
            other => anyhow::anyhow!("cannot write {}: {other}", path.display()),
        })?;
        Ok(Self {
            writer,
            spec,
            dither: Pcg32::seed_from_u64(0x0af3_e770),
        })
    }

    /// Writes `frames` frames from `channels[channel][frame]`, interleaved.
    pub fn write_block(
        &mut self,
        channels: &[Vec<f32>],
        start: usize,
        frames: usize,
    ) -> Result<()> {
        for frame in start..start + frames {
            for channel in channels {
                let x = channel[frame];
                match self.spec.sample_format {
                    SampleFormat::Float => self.writer.write_sample(x)?,
                    SampleFormat::Int => {
                        let value = self.quantize(x);
                        self.writer.write_sample(value)?
                    }
                }
            }
        }
        Ok(())
    }

    /// Float to integer with rounding and clipping; 8/16-bit output is TPDF-dithered (±1 LSB)
    /// so quiet fades do not turn into distortion.
    fn quantize(&mut self, x: f32) -> i32 {
        let full_scale = (1u64 << (self.spec.bits_per_sample - 1)) as f64;
        let mut scaled = x as f64 * full_scale;
        if self.spec.bits_per_sample <= 16 {
            scaled += self.dither.random::<f64>() - self.dither.random::<f64>();
        }
        scaled.round().clamp(-full_scale, full_scale - 1.0) as i32
    }

    pub fn finalize(self) -> Result<()> {
        self.writer
            .finalize()
            .context("cannot finish writing the output file")
    }
}

pub fn format_name(format: SampleFormat) -> &'static str {
    match format {
        SampleFormat::Int => "int",
        SampleFormat::Float => "float",
    }
}
