# Praat's autocorrelation pitch tracker on one file, printed as "time f0" lines (0 = unvoiced).
# Used by `cargo xtask pitch-eval`; run as: praat --run praat_pitch.praat IN.wav OUT.txt
form Pitch
    sentence input
    sentence output
endform
sound = Read from file: input$
# time step 5 ms, floor 60 Hz, ceiling 1000 Hz (the range Affetto covers); other settings default.
pitch = To Pitch (ac): 0.005, 60, 15, "no", 0.03, 0.45, 0.01, 0.35, 0.14, 1000
frames = Get number of frames
deleteFile: output$
for i to frames
    t = Get time from frame number: i
    f = Get value in frame: i, "Hertz"
    if f = undefined
        f = 0
    endif
    appendFileLine: output$, fixed$(t, 4), " ", fixed$(f, 3)
endfor
