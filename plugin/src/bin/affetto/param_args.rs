//! Plugin parameters as command-line options: every parameter the host sees is a `--flag` of
//! `affetto render`, with the same id, range and default, so a render matches a DAW session.

use affetto::AffettoParams;
use anyhow::{Result, bail};
use clap::{Arg, ArgMatches};
use nice_plug::prelude::{ParamPtr, Params};

/// Unit suffixes a flag may leave out: `--output-gain` is `--output-gain-db`.
const UNIT_SUFFIXES: &[&str] = &["_db", "_st", "_hz", "_cents", "_ms", "_pct"];

/// Parameters that only mean something in a running session: learning from the sidechain
/// (a render takes `--reference REF.wav` instead).
const LIVE_ONLY: &[&str] = &["learn_reference"];

/// One parameter as the CLI sees it.
struct CliParam {
    id: String,
    ptr: ParamPtr,
}

impl CliParam {
    fn flag(&self) -> String {
        self.id.replace('_', "-")
    }

    fn short_flag(&self) -> Option<String> {
        UNIT_SUFFIXES
            .iter()
            .find_map(|suffix| self.id.strip_suffix(suffix))
            .map(|stem| stem.replace('_', "-"))
    }

    /// Choices of a stepped (bool or enum) parameter as the plugin names them; empty for
    /// continuous ones.
    fn choices(&self) -> Vec<String> {
        // SAFETY (here and below): `ptr` points into the `AffettoParams` that `ParamArgs` owns.
        match unsafe { self.ptr.step_count() } {
            Some(steps) => (0..=steps)
                .map(|i| unsafe {
                    self.ptr
                        .normalized_value_to_string(i as f32 / steps as f32, false)
                })
                .collect(),
            None => Vec::new(),
        }
    }

    fn is_bool(&self) -> bool {
        matches!(self.ptr, ParamPtr::BoolParam(_))
    }

    /// A fraction shown to hosts as a percentage (intensity 0…1.5 shown as 0…150 %): the CLI
    /// takes the fraction, as the plain value, or a percentage written with its sign.
    fn is_fraction(&self) -> bool {
        let unit = unsafe { self.ptr.unit() };
        unit.trim() == "%" && self.plain_range().1 <= 10.0
    }

    fn plain_range(&self) -> (f32, f32) {
        unsafe { (self.ptr.preview_plain(0.0), self.ptr.preview_plain(1.0)) }
    }

    fn help(&self) -> String {
        let (name, unit) = unsafe { (self.ptr.name().to_owned(), self.ptr.unit()) };
        let default = unsafe { self.ptr.default_plain_value() };
        if self.is_bool() {
            let default = if default > 0.5 { "on" } else { "off" };
            format!("{name}: on/off [default: {default}]")
        } else if !self.choices().is_empty() {
            let choices = self.choices().join(", ").to_lowercase();
            let default = unsafe {
                self.ptr
                    .normalized_value_to_string(self.ptr.default_normalized_value(), false)
            };
            format!("{name}: {choices} [default: {}]", default.to_lowercase())
        } else if self.is_fraction() {
            let (min, max) = self.plain_range();
            format!("{name}: {min} … {max} (1 = 100 %, or write 80%) [default: {default}]")
        } else {
            let (min, max) = self.plain_range();
            format!("{name}: {min} … {max}{unit} [default: {default}{unit}]")
        }
    }

    /// Parses and range-checks `text`, returning the normalized value to set.
    fn parse(&self, text: &str) -> Result<f32> {
        let flag = self.flag();
        if self.is_bool() {
            return match text.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => Ok(1.0),
                "off" | "false" | "0" | "no" => Ok(0.0),
                _ => bail!("--{flag} takes on or off, not '{text}'"),
            };
        }
        let choices = self.choices();
        if !choices.is_empty() {
            let steps = (choices.len() - 1) as f32;
            return match choices
                .iter()
                .position(|c| c.eq_ignore_ascii_case(text.trim()))
            {
                Some(index) => Ok(index as f32 / steps),
                None => bail!(
                    "--{flag} takes one of {}, not '{text}'",
                    choices.join(", ").to_lowercase()
                ),
            };
        }
        let unit = unsafe { self.ptr.unit() };
        let fraction_text;
        let text = match text.trim().strip_suffix('%') {
            Some(percent) if self.is_fraction() => {
                let Ok(percent) = percent.trim().parse::<f32>() else {
                    bail!("--{flag} takes a number, not '{text}'");
                };
                fraction_text = (percent / 100.0).to_string();
                fraction_text.as_str()
            }
            _ => text,
        };
        let Ok(value) = text
            .trim()
            .trim_end_matches(unit.trim())
            .trim()
            .parse::<f32>()
        else {
            bail!("--{flag} takes a number, not '{text}'");
        };
        let (min, max) = self.plain_range();
        if !value.is_finite() || value < min || value > max {
            bail!("--{flag} {text} is out of range ({min} … {max}{unit})");
        }
        Ok(unsafe { self.ptr.preview_normalized(value) })
    }
}

/// The renderer's parameters: built from the plugin's own parameter set.
pub struct ParamArgs {
    /// Owns the values that the `ParamPtr`s in `params` point into. Boxed: the pointers must
    /// stay valid when `ParamArgs` moves.
    values: Box<AffettoParams>,
    params: Vec<CliParam>,
}

impl ParamArgs {
    pub fn new() -> Self {
        let values = Box::new(AffettoParams::default());
        let params = values
            .param_map()
            .into_iter()
            .filter(|(id, _, _)| !LIVE_ONLY.contains(&id.as_str()))
            .map(|(id, ptr, _group)| CliParam { id, ptr })
            .collect();
        Self { values, params }
    }

    /// One `--flag VALUE` per parameter.
    pub fn args(&self) -> Vec<Arg> {
        self.params
            .iter()
            .map(|param| {
                let mut arg = Arg::new(param.id.clone())
                    .long(param.flag())
                    .value_name(if param.is_bool() {
                        "on|off".to_owned()
                    } else if param.choices().is_empty() {
                        "VALUE".to_owned()
                    } else {
                        param.choices().join("|").to_lowercase()
                    })
                    .allow_negative_numbers(true)
                    .help(param.help())
                    .help_heading("Parameters");
                if let Some(short) = param.short_flag() {
                    arg = arg.visible_alias(short);
                }
                arg
            })
            .collect()
    }

    /// Applies the values given on the command line; the rest keep their defaults.
    pub fn apply(&mut self, matches: &ArgMatches) -> Result<&AffettoParams> {
        for param in &self.params {
            if let Some(text) = matches.get_one::<String>(&param.id) {
                let normalized = param.parse(text)?;
                // The wrappers set parameters the same way when a host or a preset does.
                unsafe { param.ptr._internal_set_normalized_value(normalized) };
            }
        }
        Ok(&self.values)
    }
}
