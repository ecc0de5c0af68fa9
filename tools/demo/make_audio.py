"""Writes the demo's two audio files, raw G.711 mu-law at 8000 Hz (what SIPp's
rtp_stream plays as payload type 0):

  caller.ulaw  a tune on A (440 Hz and up), one note every 0.4 s
  callee.ulaw  a 660 Hz tone, 0.6 s on and 0.2 s off

They differ so each channel's WAV on the speech server is recognisable.

    /usr/bin/python3 make_audio.py DIR [SECONDS]
"""

import math
import os
import sys

RATE = 8000
BIAS, CLIP = 0x84, 32635


def ulaw(sample):
    """One 16-bit linear sample to its G.711 mu-law byte."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), CLIP) + BIAS
    exponent = magnitude.bit_length() - 8  # magnitude >= 0x84: 0..7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone(frequencies, note_s, gap_s, seconds, amplitude=9000):
    """Notes of `note_s` seconds cycling through `frequencies`, each followed by
    `gap_s` of silence, faded in and out over 5 ms so they do not click."""
    out = bytearray()
    period = note_s + gap_s
    fade = int(0.005 * RATE)
    note_len = int(note_s * RATE)
    for n in range(int(seconds * RATE)):
        t = n / RATE
        index = int(t / period)
        k = n - int(index * period * RATE)  # sample within this note's period
        value = 0
        if k < note_len:
            envelope = min(1.0, k / fade, (note_len - k) / fade)
            f = frequencies[index % len(frequencies)]
            value = int(amplitude * envelope * math.sin(2 * math.pi * f * t))
        out.append(ulaw(value))
    return bytes(out)


def main():
    directory = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 9.0
    files = {
        "caller.ulaw": tone([440.0, 554.37, 659.25, 880.0, 659.25, 554.37], 0.36, 0.04, seconds),
        "callee.ulaw": tone([660.0], 0.6, 0.2, seconds),
    }
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
