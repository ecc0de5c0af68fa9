"""Real SIP user agents through voxforkd: Debian's baresip (headless: a WAV
file as microphone, the `sndfile` module recording what it hears, calls
auto-answered) as caller and callee. Each side plays its own tone; the
test checks the other side heard that tone (after a hold and resume too),
that DTMF keyed on either side reached the other as RFC 4733 telephone
events, that a callee whose SDP names 127.0.0.2 while it sends from
127.0.0.1 is latched and heard, that the call ended with the BYE of the side that hung up, and over
TCP that every SIP message of both agents crossed TCP (baresip's own SIP
trace) — an agent told by a Contact to use UDP would have sent its ACK and
BYE there. And a fork of a call between the two, asked for mid-call by a
controller in the caller's path (sip_controller.py): the speech server gets
each agent's audio frame for frame. Loopback only; skipped when baresip is
not installed (a failure under CI=true)."""

import errno
import glob
import json
import math
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import GUID, fork_config, start, stop  # noqa: E402
from g711 import ulaw_to_pcm16  # noqa: E402
from sip_controller import Controller  # noqa: E402
from sipp import SipTest  # noqa: E402
from speech_server import SpeechServer  # noqa: E402



def tone_samples(hertz, seconds, seed=0):
    """A tone as 16-bit samples; with a seed, each 20 ms frame at its own
    level (2,000-12,000), so a frame can be told from its neighbours."""
    def level(frame):
        return 2000 + (frame * 7919 + seed) % 10000 if seed else 8000
    return [int(level(i // 160) * math.sin(2 * math.pi * hertz * i / 8000)) for i in range(8000 * seconds)]


def tone_file(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def find_run(heard, sent):
    """Where `heard` (samples decoded from G.711) lies in `sent` frame for
    frame, within G.711's quantization (a step is 1/16 of the level at
    most, and decoders round zero differently); None when nowhere."""
    def close(a, b):
        return abs(a - b) <= abs(b) // 16 + 8
    for at in range(0, len(sent) - len(heard) + 1, 160):
        if all(close(a, b) for a, b in zip(heard, sent[at:at + len(heard)])):
            return at
    return None


def pitch(paths):
    """The frequency of the tone in recordings, from the zero crossings of its
    loud 20 ms frames (silence on hold, set-up and hang-up left out)."""
    crossings = frames = 0
    for path in paths:
        with wave.open(path) as w:
            samples = struct.unpack(f"<{w.getnframes()}h", w.readframes(w.getnframes()))
        for start in range(0, len(samples) - 160, 160):
            frame = samples[start:start + 160]
            if sum(abs(x) for x in frame) / 160 < 1000:
                continue
            frames += 1
            crossings += sum(1 for a, b in zip(frame, frame[1:]) if (a < 0) != (b < 0))
    # At least half a second of tone; 8000 samples/s, two crossings a period.
    return crossings * 8000 / (2 * 160 * frames) if frames >= 25 else 0.0


class Baresip:
    """One baresip process with its own configuration directory."""

    def __init__(self, h, name, user, hertz, seconds, dial=None, control=False, sdp_address=harness.LOOPBACK,
                 seed=0):
        self.sdp_address = sdp_address
        self.dir = os.path.join(h.tmpdir, name)
        self.recordings = os.path.join(self.dir, "recordings")
        os.makedirs(self.recordings)
        self.source = os.path.join(self.dir, "source.wav")
        self.samples = tone_samples(hertz, seconds, seed)
        tone_file(self.source, self.samples)
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(f"<sip:{user}@{harness.LOOPBACK}>;regint=0;answermode=auto;audio_codecs=PCMU\n")
        self.log_path = os.path.join(self.dir, "baresip.log")
        # Its ports are picked free but taken a moment later, and a test
        # running alongside may take one first: baresip then exits with
        # EADDRINUSE before it is ready, and starts again on other ports.
        for _ in range(5):
            self.start(h, dial, control)
            harness.wait_for(lambda: self.ready() or self.process.poll() is not None, what=f"{name} ready")
            if self.ready() or self.process.returncode != errno.EADDRINUSE:
                break
            self.process.status_checked = True
        if control:
            self.listen()

    def start(self, h, dial, control):
        # sip_listen takes the port for UDP and TCP, and the next one for TLS.
        self.port = harness.free_port(pair=True, span=2)
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join([
                "poll_method epoll",
                f"sip_listen {harness.LOOPBACK}:{self.port}",
                # Else its SDP names the host's LAN address. Its RTP socket is
                # bound to the wildcard address: another loopback address here
                # is a UA whose SDP names one address while it sends from another.
                f"net_interface {self.sdp_address}",
                "audio_player aubridge,nil",
                f"audio_source aufile,{self.source}",  # the call ends when the file does
                "audio_alert aubridge,nil",
                "module_path /usr/lib/baresip/modules",
                "module g711.so", "module aufile.so", "module aubridge.so", "module sndfile.so",
                "module_app account.so", "module_app menu.so",
                f"snd_path {self.recordings}", ""]))
            if control:  # commands while it runs, as netstrings of JSON over TCP
                self.control_port = harness.free_port()
                f.write(f"module_app ctrl_tcp.so\nctrl_tcp_listen {harness.LOOPBACK}:{self.control_port}\n")
        args = [harness.need_tool("baresip", "/usr/bin/baresip"), "-s", "-f", self.dir, "-t", "15"] + (["-e", f"/dial {dial}"] if dial else [])
        log = open(self.log_path, "wb")
        self.process = h.spawn(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def listen(self):
        """Opens its control connection (baresip keeps one: a newer one
        replaces it) and collects what arrives on it from now on: command
        responses and UA events, as netstrings of JSON."""
        self.events = []
        self.control = socket.create_connection((harness.LOOPBACK, self.control_port), timeout=5)
        connection = self.control

        def read():
            data = b""
            with connection:
                while chunk := connection.recv(4096):
                    data += chunk
                    while b":" in data:
                        size, _, rest = data.partition(b":")
                        if len(rest) < int(size) + 1:
                            break
                        self.events.append(json.loads(rest[:int(size)]))
                        data = rest[int(size) + 1:]
        threading.Thread(target=read, daemon=True).start()

    def digits(self):
        """The DTMF digits it received, in order."""
        return "".join(e.get("param", "") for e in list(self.events) if e.get("type") == "CALL_DTMF_START")

    def command(self, name, params=""):
        """Runs one of its menu commands (hold, resume, ...); True when it says ok."""
        self.commands = getattr(self, "commands", 0) + 1
        token = f"{name}-{self.commands}"
        body = json.dumps({"command": name, "params": params, "token": token}).encode()
        self.control.sendall(str(len(body)).encode() + b":" + body + b",")
        harness.wait_for(lambda: any(e.get("token") == token for e in list(self.events)), what=f"{name} answered")
        return next(e for e in self.events if e.get("token") == token).get("ok") is True

    def ready(self):
        return "baresip is ready" in self.log()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def heard(self):
        """The pitch of what it received (sndfile's decoded stream)."""
        return pitch(glob.glob(os.path.join(self.recordings, "*-dec.wav")))

    def transports(self):
        """The transports its SIP trace names ("TCP 127.0.0.1:a -> 127.0.0.1:b")."""
        return {line.split()[0] for line in self.log().splitlines()
                if line[:4] in ("TCP ", "UDP ") and "->" in line}

    def ended(self):
        return "terminated (duration" in self.log()


class RealAgents(SipTest):
    def call(self, transport, caller_seconds, callee_seconds, during=None, callee_events=False,
             callee_sdp_address=harness.LOOPBACK):
        callee = self.callee = Baresip(self, "callee", "6777", 400, callee_seconds, control=callee_events,
                                       sdp_address=callee_sdp_address)
        self.uas_port = callee.port
        d = self.start_daemon(transport=transport, uas_port=callee.port)
        suffix = ";transport=tcp" if transport == "tcp" else ""
        caller = Baresip(self, "caller", "1000", 1000, caller_seconds,
                         dial=f"sip:6777@{harness.LOOPBACK}:{self.sip_port}{suffix}", control=during is not None)
        if during:
            self.wait_state(d, "active")
            during(d, caller)
        harness.wait_for(lambda: caller.ended() and callee.ended(), timeout=15, what="the call over")
        self.assert_no_calls()
        self.assertAlmostEqual(callee.heard(), 1000, delta=50, msg="the callee did not hear the caller's tone")
        self.assertAlmostEqual(caller.heard(), 400, delta=30, msg="the caller did not hear the callee's tone")
        return d, caller, callee

    def wait_state(self, d, state):
        harness.wait_for(lambda: d.show("show call active voice brief").count(f" {state} ") == 2,
                         what=f"the call {state}")

    # sndfile names its recordings by the second and starts new ones at each
    # re-INVITE: a second apart, none overwrites another.
    def hold_and_resume(self, d, caller):
        time.sleep(1.1)
        self.assertTrue(caller.command("hold"))
        self.wait_state(d, "hold")
        time.sleep(1.1)
        self.assertTrue(caller.command("resume"))
        self.wait_state(d, "active")

    def test_hold_and_resume_from_the_caller(self):
        self.call("udp", caller_seconds=5, callee_seconds=7, during=self.hold_and_resume)
        self.assertEqual(self.sip_counter("re-INVITEs relayed"), 2)

    def test_hold_and_resume_over_tcp_stays_on_tcp(self):
        _, caller, callee = self.call("tcp", caller_seconds=5, callee_seconds=7, during=self.hold_and_resume)
        self.assertEqual(self.sip_counter("re-INVITEs relayed"), 2)
        self.assertEqual(caller.transports() | callee.transports(), {"TCP"})

    def test_dtmf_both_ways_as_telephone_events(self):
        heard = {}

        def press(d, caller):
            time.sleep(0.5)
            for digit in "159#":
                self.assertTrue(caller.command("sndcode", digit))
                time.sleep(0.3)
            for digit in "*07":
                self.assertTrue(self.callee.command("sndcode", digit))
                time.sleep(0.3)
            harness.wait_for(lambda: len(self.callee.digits()) == 4 and len(caller.digits()) == 3,
                             what="every digit")
            heard["callee"], heard["caller"] = self.callee.digits(), caller.digits()
        self.call("udp", caller_seconds=5, callee_seconds=7, during=press, callee_events=True)
        self.assertEqual(heard, {"callee": "159#", "caller": "*07"})

    def test_a_callee_whose_sdp_names_another_address_than_its_rtp_source(self):
        d, _, callee = self.call("udp", caller_seconds=2, callee_seconds=4, callee_sdp_address="127.0.0.2")
        self.assertIn("c=IN IP4 127.0.0.2", callee.log())
        latched = re.search(r"RTP latched to 127\.0\.0\.1:(\d+) \(SDP 127\.0\.0\.2:(\d+)\)", d.log())
        self.assertTrue(latched, d.log()[-3000:])
        self.assertEqual(latched[1], latched[2])

    def test_udp_call_with_audio_both_ways_caller_hangs_up(self):
        d, caller, callee = self.call("udp", caller_seconds=2, callee_seconds=5)
        self.assertIn("BYE on callid 1", d.log())
        self.assertEqual(callee.transports() | caller.transports(), {"UDP"})

    def test_tcp_call_stays_on_tcp_callee_hangs_up(self):
        d, caller, callee = self.call("tcp", caller_seconds=5, callee_seconds=2)
        self.assertIn("BYE on callid 2", d.log())
        self.assertEqual(caller.transports(), {"TCP"}, caller.log()[-3000:])
        self.assertEqual(callee.transports(), {"TCP"}, callee.log()[-3000:])
        self.assertIn(";transport=tcp SIP/2.0", [l for l in caller.log().splitlines() if l.startswith("BYE ")][0])

    def test_a_fork_of_a_call_between_two_agents(self):
        """The controller in the caller's path asks for the fork mid-call and
        stops it; the speech server gets what each agent heard of the other."""
        server = SpeechServer(self).start()
        callee = self.callee = Baresip(self, "callee", "6777", 400, 7, seed=2)
        self.uas_port = callee.port
        self.sip_port = harness.free_port(pair=True)
        self.daemon_ = self.daemon(fork_config(self.sip_port, callee.port)).start()
        ctl = Controller(self, self.sip_port)
        caller = Baresip(self, "caller", "1000", 1000, 5, dial=f"sip:6777@{harness.LOOPBACK}:{ctl.port}", seed=1)
        harness.wait_for(ctl.confirmed, what="the call up through the controller")
        self.assertEqual(ctl.info(start(server.port)), 200)
        [caller_start, callee_start] = server.wait_events("control", 2, type="START")
        caller_ch, callee_ch = caller_start["channel"], callee_start["channel"]
        harness.wait_for(lambda: len(server.frames(caller_ch)) >= 50 and len(server.frames(callee_ch)) >= 50,
                         what="a second of each party at the speech server")
        self.assertEqual(ctl.info(stop()), 200)
        harness.wait_for(lambda: len(ctl.statuses) == 2, what="STARTED and STOPPED")
        harness.wait_for(lambda: caller.ended() and callee.ended(), timeout=15, what="the call over")
        self.assert_no_calls()
        [conn] = server.connections()
        self.assertEqual(ctl.statuses, [
            {"call-guid": GUID, "status": "STARTED", "connection-id": ctl.statuses[0].get("connection-id"),
             "channels": {"caller": caller_ch, "callee": callee_ch}},
            {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}])
        self.assertIsInstance(ctl.statuses[0]["connection-id"], int)
        # Each channel is a run of what that agent sent, frame for frame
        # (every frame at its own level): none missing, none out of order.
        for channel, agent in ((caller_ch, caller), (callee_ch, callee)):
            raw = server.raw(channel)
            forked = struct.unpack(f"<{len(raw)}h", ulaw_to_pcm16(raw))
            self.assertGreaterEqual(len(forked), 8000, f"channel {channel}: a second at least")
            self.assertIsNotNone(find_run(forked, agent.samples),
                                 f"channel {channel}: its {len(forked)} samples are not a run of what was sent")
            seqs = [f["seq"] for f in server.frames(channel)]
            self.assertEqual(seqs, list(range(len(seqs))), f"channel {channel}: a frame missing")
        self.assertAlmostEqual(callee.heard(), 1000, delta=50)
        self.assertAlmostEqual(caller.heard(), 400, delta=30)


if __name__ == "__main__":
    harness.main()
