"""librosa's pYIN on one file, printed as "time f0" lines (0 = unvoiced).

Used by `cargo xtask pitch-eval`: python3 pyin_pitch.py IN.wav OUT.txt
Range 60-1000 Hz and a 5 ms hop, like Affetto; other settings are librosa's defaults.
"""

import sys

import librosa
import numpy as np

y, sr = librosa.load(sys.argv[1], sr=None, mono=True)
hop = int(round(sr * 0.005))
f0, voiced, _ = librosa.pyin(y, fmin=60.0, fmax=1000.0, sr=sr, frame_length=4096, hop_length=hop)
times = librosa.times_like(f0, sr=sr, hop_length=hop)
with open(sys.argv[2], "w") as out:
    for t, f, v in zip(times, f0, voiced):
        out.write(f"{t:.4f} {f if v and np.isfinite(f) else 0.0:.3f}\n")
