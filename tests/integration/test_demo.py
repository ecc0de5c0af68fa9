"""The demo you can hear and see: tools/demo.sh runs its forked call with
spoken audio (espeak-ng), holds and resumes it, and draws both channels with
START, PAUSE, RESUME and STOP marked. Checked: the demo passes, the picture
is a PNG, and each channel's recording correlates with what that party sent
(and not with what the other party sent)."""

import json
import os
import struct
import subprocess
import sys
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from g711 import ulaw_to_pcm16  # noqa: E402

SOURCE = os.environ.get("VOXFORK_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def pearson(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / ((va * vb) ** 0.5) if va and vb else 0.0


def decode(ulaw):
    return list(struct.unpack(f"<{len(ulaw)}h", ulaw_to_pcm16(ulaw)))


def wav_samples(path):
    with wave.open(path, "rb") as w:
        frames = w.readframes(w.getnframes())
    return list(struct.unpack(f"<{len(frames) // 2}h", frames))


class Demo(harness.Harness):
    def run_demo(self, *args):
        """tools/demo.sh with `args` in a run directory of the test's: (run directory, its result)."""
        self.need_demo_tools()
        run = os.path.join(self.tmpdir, "demo")
        env = dict(os.environ, DEMO_DIR=run, BUILD_DIR=os.environ.get("VOXFORK_BUILD_DIR", "build"), JOBS="2")
        r = subprocess.run([os.path.join(SOURCE, "tools", "demo.sh"), *args], cwd=SOURCE, env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        return run, r

    def need_demo_tools(self):
        for tool in ("espeak-ng", "sox", "sipp"):
            harness.need_tool(tool)
        r = subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"], capture_output=True)
        if r.returncode != 0:
            harness.need_tool("python3-matplotlib (import matplotlib)")
        # The demo installs what is missing first; without root that only works
        # when nothing is.
        deps = subprocess.run([os.path.join(SOURCE, "tools", "install-deps.sh")], capture_output=True, text=True)
        if deps.returncode != 0:
            if harness.under_ci():
                self.fail(f"tools/install-deps.sh: {deps.stderr.strip()}")
            self.skipTest(f"the demo's packages are not all installed: {deps.stderr.strip()}")

    def test_the_demo_speaks_draws_and_each_channel_carries_its_party(self):
        run, r = self.run_demo()
        self.assertIn("the caller and the agent speak (speech", r.stdout)
        self.assertIn("demo: OK (voxfork-v1)", r.stdout)

        # The picture: printed, a PNG of a real size.
        png = os.path.join(run, "fork.png")
        self.assertIn(f"(START, PAUSE, RESUME, STOP marked): {png}", r.stdout)
        with open(png, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", data[16:24])
        self.assertGreaterEqual((width, height), (800, 300))
        self.assertGreater(len(data), 20000, "a drawing, not an empty canvas")
        for wav in ("conn1-ch1-caller.wav", "conn1-ch2-callee.wav"):
            self.assertIn(f"aplay {os.path.join(run, 'speech', wav)}", r.stdout)

        # Each channel against both parties' audio: the recording from START
        # to PAUSE, aligned where its first sounding bytes lie in the sender's
        # file, correlates with the sender's audio and not with the other's.
        with open(os.path.join(run, "speech", "summary.json")) as f:
            channels = {c["leg"]: c for c in json.load(f)["channels"]}
        pauses = {}
        with open(os.path.join(run, "speech", "events.jsonl")) as f:
            events = [json.loads(line) for line in f]
        for leg, c in channels.items():
            times = {e["type"]: e["time"] for e in events
                     if e.get("event") == "control" and e.get("channel") == c["channel"]}
            self.assertLess(times["START"], times["PAUSE"])
            self.assertLess(times["PAUSE"], times["RESUME"])
            self.assertLess(times["RESUME"], times["STOP"])
            pauses[leg] = times["PAUSE"] - times["START"]
        sent = {}
        for leg in ("caller", "callee"):
            with open(os.path.join(run, f"{leg}.ulaw"), "rb") as f:
                sent[leg] = f.read()
        for leg, c in channels.items():
            other = "callee" if leg == "caller" else "caller"
            with open(os.path.join(run, "speech", c["raw"]), "rb") as f:
                raw = f.read()
            # Speech has silences, which would match anywhere: align on the
            # first window that sounds.
            at = next(i for i in range(0, len(raw) - 1600, 160) if len(set(raw[i:i + 1600])) >= 48)
            found = sent[leg].find(raw[at:at + 1600])
            self.assertGreaterEqual(found, 0, f"the {leg} channel's audio is in {leg}.ulaw")
            offset = found - at  # where the first forked byte lies in the sender's file
            # WAV sample index = frame position: the first frame's is where raw byte 0 is.
            first = next(e["position"] for e in events if e.get("event") == "frame" and e["channel"] == c["channel"])
            recorded = wav_samples(os.path.join(run, "speech", c["wav"]))[first:int(pauses[leg] * 8000) - 400]
            self.assertGreater(len(recorded), 4 * 8000, "seconds of audio before the PAUSE")
            own = decode(sent[leg][offset:offset + len(recorded)])
            theirs = decode(sent[other][offset:offset + len(recorded)])
            self.assertGreater(pearson(recorded, own), 0.95, f"{leg} channel against {leg}.ulaw")
            self.assertLess(abs(pearson(recorded, theirs)), 0.3, f"{leg} channel against {other}.ulaw")
            # Paused: silence in the WAV between PAUSE and RESUME.
            gap = wav_samples(os.path.join(run, "speech", c["wav"]))[int(pauses[leg] * 8000) + 800:
                                                                       int(pauses[leg] * 8000) + 8000]
            self.assertLess(max(abs(s) for s in gap), 64, "nothing recorded while paused")


    def test_the_demo_in_audiohook(self):
        run, r = self.run_demo("--protocol", "audiohook")
        self.assertIn("demo: OK (audiohook)", r.stdout)
        self.assertIn("speech server (audiohook)", r.stdout)
        with open(os.path.join(run, "voxforkd.conf")) as f:
            self.assertIn(" protocol audiohook\n", f.read())
        with open(os.path.join(run, "speech", "events.jsonl")) as f:
            events = [json.loads(line) for line in f]
        [opened] = [e for e in events if e.get("event") == "open"]
        self.assertIn("signature", opened["headers"], "the upgrade was signed (and verified: not refused)")
        types = [e["type"] for e in events if e.get("event") == "control"]
        self.assertEqual([t for t in types if t != "ping"], ["open", "update", "paused", "resumed", "close"])
        times = {e["type"]: e["time"] for e in events if e.get("event") == "control"}
        with open(os.path.join(run, "speech", "summary.json")) as f:
            channels = {c["leg"]: c for c in json.load(f)["channels"]}
        self.assertEqual({(leg, c["stop_reason"]) for leg, c in channels.items()}, {("caller", "end"), ("callee", "end")})
        for c in channels.values():
            # The pause is silence in the WAV (AudioHook's discarded), where the call's time line has it.
            samples = wav_samples(os.path.join(run, "speech", c["wav"]))
            paused = int((times["paused"] - times["open"]) * 8000)
            self.assertLess(max(abs(s) for s in samples[paused + 800:paused + 8000]), 64, "silence while paused")
            self.assertGreater(max(abs(s) for s in samples[:paused]), 1000, "speech before the pause")

    def test_the_demo_in_raw(self):
        run, r = self.run_demo("--protocol", "raw")
        self.assertIn("demo: OK (raw)", r.stdout)
        self.assertIn("Latest from the server: {\"transcript\":\"frame ", r.stdout)
        with open(os.path.join(run, "speech", "events.jsonl")) as f:
            events = [json.loads(line) for line in f]
        self.assertEqual(sorted(e["path"] for e in events if e.get("event") == "open"),
                         ["/v1/listen?channel=callee", "/v1/listen?channel=caller"])
        self.assertEqual([e["text"] for e in events if e.get("event") == "control"], ['{"type":"end"}'] * 2)


if __name__ == "__main__":
    harness.main()
