"""Writes the demo's two audio files, raw G.711 mu-law at 8000 Hz (what SIPp's
rtp_stream plays as payload type 0):

  caller.ulaw  the caller's sentence, spoken by espeak-ng (a male voice)
  callee.ulaw  the agent's answer, spoken by espeak-ng (a female voice)

each repeated to fill SECONDS, so the forked WAVs hold words a person can
listen to. Without espeak-ng and sox (Debian packages; tools/install-deps.sh
installs them), or with --tones, tones instead: a tune on A for the caller,
a 660 Hz beep for the agent. Either way the two files differ, so each
channel's recording is recognisable.

    /usr/bin/python3 make_audio.py DIR [SECONDS] [--tones]
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile

CALLER_SENTENCE = "Hello, I would like to check the balance of my account, please."
AGENT_SENTENCE = "Certainly. Your balance is one hundred and twenty dollars. Anything else today?"

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


def speech(sentence, voice, seconds, gap_s=0.3):
    """`sentence` as 8 kHz mu-law, repeated with `gap_s` of silence in
    between until `seconds` are filled; None without espeak-ng or sox."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav, ulaw_path = os.path.join(tmp, "s.wav"), os.path.join(tmp, "s.ul")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", wav, sentence], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Telephone band, 8 kHz, mu-law: what a G.711 call carries.
        subprocess.run(["sox", wav, "-r", "8000", "-c", "1", "-e", "u-law", "-t", "ul", ulaw_path,
                        "highpass", "300", "lowpass", "3400", "norm", "-3"], check=True)
        with open(ulaw_path, "rb") as f:
            once = f.read() + bytes([0xFF]) * int(gap_s * RATE)
    total = int(seconds * RATE)
    return (once * (total // len(once) + 1))[:total]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    directory = args[0]
    seconds = float(args[1]) if len(args) > 1 else 9.0
    caller = agent = None
    if "--tones" not in sys.argv:
        caller = speech(CALLER_SENTENCE, "en-us+m3", seconds)
        agent = speech(AGENT_SENTENCE, "en-us+f3", seconds)
    files = {
        "caller.ulaw": caller or tone([440.0, 554.37, 659.25, 880.0, 659.25, 554.37], 0.36, 0.04, seconds),
        "callee.ulaw": agent or tone([660.0], 0.6, 0.2, seconds),
    }
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print("speech" if caller and agent else "tones")


if __name__ == "__main__":
    main()
