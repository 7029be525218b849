//! A picture of what an emotion did to a melody, to look at before listening: the input's and
//! the output's F0 over time on a semitone grid, with the output's vibrato band.
//!
//! Drawn without text (no system font is needed on a fresh machine), so the legend is fixed:
//! grey = input F0, blue = output F0, light blue = the output's vibrato band (intonation ± vibrato
//! extent where the decomposition is sure there is vibrato), thin grey lines = semitones, darker
//! ones = each C, vertical lines = seconds.

use std::path::Path;

use affetto_dsp::pitch::{AnalysisMode, HOP_S, PitchTracker};
use affetto_dsp::vibrato::{ContourDecomposer, ContourFrame};
use anyhow::{Result, anyhow};
use plotters::prelude::*;

pub const LEGEND: &str = "grey: input F0; blue: output F0; light blue: output vibrato band; \
                          grid: semitones (C darker), seconds";

const SIZE_PX: (u32, u32) = (1400, 500);
const INPUT_COLOUR: RGBColor = RGBColor(130, 130, 130);
const OUTPUT_COLOUR: RGBColor = RGBColor(30, 90, 200);
const BAND_COLOUR: RGBColor = RGBColor(170, 200, 245);
const SEMITONE_COLOUR: RGBColor = RGBColor(235, 235, 235);
const OCTAVE_COLOUR: RGBColor = RGBColor(190, 190, 190);
/// A band frame needs this much certainty that the contour is vibrato.
const BAND_PRESENCE: f32 = 0.5;

/// Every decomposed frame of `samples`, with look-ahead.
fn contour(samples: &[f32], sample_rate_hz: f32) -> Vec<ContourFrame> {
    let mut tracker = PitchTracker::new(sample_rate_hz, AnalysisMode::Studio);
    let mut decomposer = ContourDecomposer::new(AnalysisMode::Studio);
    let mut frames = Vec::new();
    let tail = vec![0.0; (0.4 * sample_rate_hz) as usize];
    for part in [samples, &tail[..]] {
        tracker.process(part, |f| frames.extend(decomposer.push(f)));
    }
    frames
}

/// The voiced stretches of `frames` as `(seconds, semitones)` polylines.
fn voiced_runs(frames: &[ContourFrame]) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for frame in frames {
        if frame.pitch.voiced() {
            current.push((frame.pitch.time_s(), frame.pitch_cents as f64 / 100.0));
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Writes the PNG for `input` and its rendering `output` (both at `sample_rate_hz`, aligned).
pub fn plot(path: &Path, input: &[f32], output: &[f32], sample_rate_hz: f32) -> Result<()> {
    let (before, after) = (
        contour(input, sample_rate_hz),
        contour(output, sample_rate_hz),
    );
    let voiced_st = before
        .iter()
        .chain(&after)
        .filter(|f| f.pitch.voiced())
        .map(|f| f.pitch_cents / 100.0);
    let (low, high) = voiced_st.fold((f32::MAX, f32::MIN), |(l, h), st| (l.min(st), h.max(st)));
    if low > high {
        return Err(anyhow!("no voiced frames to plot in {}", path.display()));
    }
    let (low, high) = ((low - 2.0).floor() as f64, (high + 2.0).ceil() as f64);
    let duration_s = input.len().max(output.len()) as f64 / sample_rate_hz as f64;

    let root = BitMapBackend::new(path, SIZE_PX).into_drawing_area();
    let draw_error = |e| anyhow!("drawing {}: {e:?}", path.display());
    root.fill(&WHITE).map_err(draw_error)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .build_cartesian_2d(0.0..duration_s, low..high)
        .map_err(draw_error)?;

    for semitone in (low as i32)..=(high as i32) {
        let colour = if semitone % 12 == 0 {
            OCTAVE_COLOUR
        } else {
            SEMITONE_COLOUR
        };
        let y = semitone as f64;
        chart
            .draw_series(LineSeries::new([(0.0, y), (duration_s, y)], colour))
            .map_err(draw_error)?;
    }
    for second in 0..=(duration_s as i32) {
        let x = second as f64;
        chart
            .draw_series(LineSeries::new([(x, low), (x, high)], OCTAVE_COLOUR))
            .map_err(draw_error)?;
    }

    let band = after
        .iter()
        .filter(|f| f.pitch.voiced() && f.vibrato.presence_probability >= BAND_PRESENCE)
        .map(|f| {
            let (t, centre) = (f.pitch.time_s(), f.intonation_cents as f64 / 100.0);
            let extent = f.vibrato.extent_cents as f64 / 100.0;
            Rectangle::new(
                [(t, centre - extent), (t + HOP_S, centre + extent)],
                BAND_COLOUR.filled(),
            )
        });
    chart.draw_series(band).map_err(draw_error)?;

    for (frames, colour) in [(&before, INPUT_COLOUR), (&after, OUTPUT_COLOUR)] {
        for run in voiced_runs(frames) {
            chart
                .draw_series(LineSeries::new(run, colour.stroke_width(2)))
                .map_err(draw_error)?;
        }
    }
    root.present().map_err(draw_error)?;
    Ok(())
}
