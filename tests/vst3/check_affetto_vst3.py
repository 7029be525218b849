"""Affetto.vst3 in a real VST3 host (Spotify's pedalboard, which wraps JUCE's VST3 hosting).

Run by the Rust test `tests/tests/vst3_host.rs` with the bundle path as the only argument.
Prints one line per check and exits non-zero on the first failure.
"""

import sys

import numpy as np
import pedalboard

BUNDLE = sys.argv[1]


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name} {detail}")
        sys.exit(1)
    print(f"ok {name}")


def noise(channels, frames, seed):
    return ((np.random.RandomState(seed).rand(channels, frames) - 0.5) * 0.5).astype(np.float32)


plugin = pedalboard.load_plugin(BUNDLE)
check("loads as an effect named Affetto", plugin.name == "Affetto" and plugin.is_effect)
check("exposes its parameters", set(plugin.parameters.keys())
      == {"mix", "output_gain_db", "bypass", "mode", "pitch_shift_st", "formant_shift_st",
          "emotion", "intensity", "arousal", "valence", "pitch_offset_st", "pitch_range",
          "vibrato_depth", "vibrato_rate_hz", "vibrato_onset_delay_ms", "vowel_length", "dynamics",
          "brightness_db", "breath", "style_amount", "learn_reference"},
      str(plugin.parameters.keys()))

# pedalboard compensates the latency the plugin reports, so an exact match of input and output
# proves the reported latency equals the real one. The mode takes effect when the host next
# activates the plugin: a short block delivers the parameter change, and pedalboard reactivates
# the plugin whenever the sample rate changes.
live_latency = {}
for mode, budget_s in (("Live", 0.020), ("Studio", 0.250)):
    plugin.mode = mode
    plugin(noise(2, 512, 1), 22_050)
    for sample_rate in (44_100, 48_000, 96_000):
        for buffer_size in (64, 512, 4096):
            x = noise(2, sample_rate // 2, buffer_size)
            y = plugin(x, sample_rate, buffer_size=buffer_size, reset=True)
            latency = plugin.reported_latency_samples
            error = np.abs(y - x).max()
            if mode == "Live":
                live_latency[sample_rate] = latency
            in_budget = 0 < latency <= budget_s * sample_rate and (mode == "Live" or latency > live_latency[sample_rate])
            check(f"{mode} at {sample_rate} Hz, block {buffer_size}: reported latency {latency} is the real one",
                  error == 0.0 and in_budget, f"max error {error}")
plugin.mode = "Live"

plugin.output_gain_db = -6.0
x = noise(2, 48_000, 7)
y = plugin(x, 48_000, reset=True)
ratio = y[:, 1000:] / np.where(np.abs(x[:, 1000:]) > 1e-3, x[:, 1000:], np.nan)
check("output gain -6 dB applies", abs(np.nanmedian(ratio) - 10 ** (-6 / 20)) < 1e-5, str(np.nanmedian(ratio)))

plugin.mix = 40.0
plugin.pitch_shift_st = 3.5
plugin.formant_shift_st = -3.0
plugin.emotion = "Tender"
plugin.intensity = 80.0
plugin.valence = 0.25
plugin.pitch_range = "×1.20"
plugin.brightness_db = -2.0
plugin.bypass = True
plugin(x[:, :512], 48_000)  # as in a DAW, changes reach the processor with the next block
state = plugin.raw_state
fresh = pedalboard.load_plugin(BUNDLE)
fresh.raw_state = state
restored = (fresh.mix, fresh.output_gain_db, fresh.bypass, fresh.pitch_shift_st, fresh.formant_shift_st,
            fresh.emotion, fresh.intensity, fresh.valence, fresh.pitch_range, fresh.brightness_db)
check("state restores every parameter",
      restored == (40.0, -6.0, True, 3.5, -3.0, "Tender", 80.0, 0.25, "×1.20", -2.0), str(restored))
y = fresh(x, 48_000, reset=True)
check("bypass gives the aligned input, ignoring the output gain", np.abs(y - x).max() == 0.0)

print("all VST3 checks passed")
