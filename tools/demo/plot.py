"""Draws the demo's picture: both forked channels' waveforms, one above the
other, on the time of the call's fork, with the START, PAUSE, RESUME and STOP
moments marked (from the speech server's events.jsonl). Writes RUN/fork.png
and prints its path.

    /usr/bin/python3 plot.py RUN_DIR

Needs python3-matplotlib (a Debian package; tools/install-deps.sh installs it).
"""

import json
import os
import struct
import sys
import wave

MARKS = ("START", "PAUSE", "RESUME", "STOP")
COLOURS = {"START": "tab:green", "PAUSE": "tab:orange", "RESUME": "tab:blue", "STOP": "tab:red"}


def wav_samples(path):
    with wave.open(path, "rb") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    return rate, struct.unpack(f"<{len(frames) // 2}h", frames)


# AudioHook's messages of the same moments; they are about every channel of
# their connection.
AUDIOHOOK = {"open": "START", "paused": "PAUSE", "resumed": "RESUME", "close": "STOP"}


def control_times(events_path, channels):
    """{(conn, channel): [(type, unix time)]} of the control messages. Raw
    has none: a connection's channels start when it opens and stop when it
    closes."""
    marks = {}
    per_conn = {}
    for ch in channels:
        per_conn.setdefault(ch["conn"], []).append(ch["channel"])
    with open(events_path) as f:
        for line in f:
            event = json.loads(line)
            kind, conn = event.get("event"), event.get("conn")
            if kind == "control" and event.get("type") in MARKS:
                marks.setdefault((conn, event["channel"]), []).append((event["type"], event["time"]))
            elif kind == "control" and event.get("type") in AUDIOHOOK:
                for channel in per_conn.get(conn, []):
                    marks.setdefault((conn, channel), []).append((AUDIOHOOK[event["type"]], event["time"]))
            elif kind == "layout" or (kind == "close" and (conn, "raw") in marks):
                for channel in per_conn.get(conn, []):
                    marks.setdefault((conn, channel), []).append(("START" if kind == "layout" else "STOP",
                                                                  event["time"]))
                marks[(conn, "raw")] = []
    return marks


def main():
    run = sys.argv[1]
    speech = os.path.join(run, "speech")
    import matplotlib
    matplotlib.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    with open(os.path.join(speech, "summary.json")) as f:
        channels = sorted(json.load(f)["channels"], key=lambda c: c["leg"] != "caller")
    marks = control_times(os.path.join(speech, "events.jsonl"), channels)
    figure, axes = plt.subplots(len(channels), 1, figsize=(12, 2.6 * len(channels)), sharex=True, squeeze=False)
    for ax, ch in zip(axes[:, 0], channels):
        rate, samples = wav_samples(os.path.join(speech, ch["wav"]))
        ax.plot([i / rate for i in range(len(samples))], samples, linewidth=0.4, color="0.25")
        ax.set_ylabel(f"{ch['leg']}\n(channel {ch['channel']})")
        ax.set_ylim(-33000, 33000)
        ax.set_yticks([])
        events = marks.get((ch["conn"], ch["channel"]), [])
        start = next((t for kind, t in events if kind == "START"), None)
        for kind, t in events:
            if start is None:
                break
            x = t - start  # WAV sample 0 is the START instant
            ax.axvline(x, color=COLOURS[kind], linewidth=1.5)
            ax.text(x, 30000, f" {kind}", color=COLOURS[kind], va="top", fontsize=9)
    axes[-1, 0].set_xlabel("seconds since START")
    figure.suptitle("voxfork demo: the forked audio of both parties as the speech server recorded it")
    figure.tight_layout()
    out = os.path.join(run, "fork.png")
    figure.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main()
