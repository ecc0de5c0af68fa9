"""Drives the reference speech server (build/bin/speech-server) from integration
tests: start it on a free loopback port with a temporary output directory,
then read what it recorded (events.jsonl, each channel's .raw and .wav).

    server = SpeechServer(self, token="t0k").start()       # self: a harness.Harness
    ... point voxforkd at server.host_port / server.url ...
    server.wait_event("control", type="STOP", channel=17)
    self.assertEqual(server.violations(), [])
    audio = server.raw(17)

See docs/speech-server.md for the flags, the event lines and the file names.
"""

import collections
import json
import os
import re
import signal
import subprocess
import wave

from harness import LOOPBACK, binary, check_output, wait_for

TlsFiles = collections.namedtuple("TlsFiles", "ca cert key ca_key")
Wav = collections.namedtuple("Wav", "rate channels width pcm")  # pcm: little-endian 16-bit bytes


def make_tls_files(directory, names=("localhost",), ips=(LOOPBACK,), prefix="speech", days=2):
    """A throw-away CA and a server certificate it signed, made with the openssl
    command. The certificate's subjectAltName holds DNS:<names> and IP:<ips>; its
    CN is the first name (or IP). Returns TlsFiles (paths, PEM)."""
    def path(suffix):
        return os.path.join(directory, f"{prefix}-{suffix}")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca, key, csr, cert = path("ca.key"), path("ca.pem"), path("key.pem"), path("csr.pem"), path("cert.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
            "-days", str(days), "-subj", f"/CN={prefix} test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    cn = (list(names) + list(ips))[0]
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    ext = path("ext.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", str(days), "-extfile", ext)
    return TlsFiles(ca, cert, key, ca_key)


class SpeechServer:
    """One speech-server process owned by a harness.Harness test.

    tls: a TlsFiles (or any object with .cert and .key) to serve wss.
    token: require `Authorization: Bearer <token>` (audiohook: `X-API-KEY`).
    protocol: "voxfork-v1" (default), "audiohook" or "raw".
    args: further flags, e.g. ("--close-after-frames", "10").
    """

    def __init__(self, harness, tls=None, token=None, args=(), name="speech", listen=f"{LOOPBACK}:0",
                 protocol=None):
        self.harness = harness
        self.name = name
        self.tls = tls
        self.token = token
        self.protocol = protocol
        self.args = [str(a) for a in args]
        self.listen = listen
        self.out_dir = os.path.join(harness.tmpdir, f"{name}-out")
        self.events_path = os.path.join(self.out_dir, "events.jsonl")
        self.log_path = os.path.join(harness.tmpdir, f"{name}.log")
        self.stdout_path = os.path.join(harness.tmpdir, f"{name}.stdout")
        self.process = None
        self.port = None

    # -- life ---------------------------------------------------------------

    def command(self):
        cmd = [binary("speech-server"), "--listen", self.listen, "--out", self.out_dir]
        if self.tls:
            cmd += ["--cert", self.tls.cert, "--key", self.tls.key]
        if self.token is not None:
            cmd += ["--token", self.token]
        if self.protocol is not None:
            cmd += ["--protocol", self.protocol]
        return cmd + self.args

    def start(self, timeout=10.0):
        with open(self.stdout_path, "wb") as out, open(self.log_path, "ab") as err:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.harness.on_cleanup(self._cleanup)

        def listening():
            if self.process.poll() is not None:
                raise AssertionError(f"speech-server exited {self.process.returncode}:\n{self.log()}")
            with open(self.stdout_path) as f:
                m = re.search(r"listening on wss?://(?:\[[^\]]+\]|[^:]+):(\d+)", f.read())
            return m and int(m.group(1))
        self.port = wait_for(listening, timeout, what="speech-server listening")
        return self

    def stop(self, timeout=10.0):
        """SIGTERM and wait: every .wav is complete and summary.json written after it.
        Returns the exit status; raises when the server did not stop or a
        sanitizer reported an error (ASan/UBSan builds)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("speech-server did not stop on SIGTERM")
        self.check_sanitizers()
        return self.process.returncode

    def check_sanitizers(self):
        check_output(f"speech-server {self.name}", self.log())

    def _cleanup(self):
        # Stopped the orderly way, so a sanitizer build also checks the exit
        # path, and it must exit 0 (a test that stopped it already is checked
        # again here: the status does not change).
        code = self.stop()
        if code != 0:
            raise AssertionError(f"speech-server {self.name} exited {code}:\n{self.log()[-3000:]}")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def host_port(self):
        """ADDR:PORT as voxforkd's shows print it (an IPv6 address in brackets)."""
        host = self.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    @property
    def url(self):
        return f"{'wss' if self.tls else 'ws'}://{self.host_port}"

    def log(self):
        """What the server wrote to stderr (connections, rejections, violations)."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- events.jsonl ------------------------------------------------------

    def events(self, kind=None, **match):
        """Every complete line of events.jsonl as a dict, in order; `kind` filters
        on "event", keyword arguments on other fields (e.g. channel=17, conn=1)."""
        try:
            with open(self.events_path) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        lines = text.split("\n")[:-1]  # the last piece may be a line still being written
        out = []
        for line in lines:
            ev = json.loads(line)
            if kind is not None and ev.get("event") != kind:
                continue
            if all(ev.get(k) == v for k, v in match.items()):
                out.append(ev)
        return out

    def wait_events(self, kind, count=1, timeout=10.0, **match):
        """Waits until at least `count` matching events exist; returns them all."""
        return wait_for(lambda: (lambda evs: evs if len(evs) >= count else None)(self.events(kind, **match)),
                        timeout, what=f"{count} {kind} event(s) {match}")

    def wait_event(self, kind, timeout=10.0, **match):
        """The first event matching, waiting for it."""
        return self.wait_events(kind, 1, timeout, **match)[0]

    def connections(self):
        """The "open" events: one per accepted WebSocket (path, headers, token, tls...)."""
        return self.events("open")

    def closes(self):
        return self.events("close")

    def rejections(self):
        return self.events("rejected")

    def controls(self, type=None, **match):
        """The "control" events (every JSON text message), optionally of one type."""
        if type is not None:
            match["type"] = type
        return self.events("control", **match)

    def messages(self, type=None, **match):
        """The JSON messages themselves, as the client sent them."""
        return [ev["msg"] for ev in self.controls(type, **match)]

    def frames(self, channel=None, **match):
        """The "frame" events (conn, channel, seq, position, length) in arrival order."""
        if channel is not None:
            match["channel"] = channel
        return self.events("frame", **match)

    def violations(self, kind=None, **match):
        """The "violation" events; `kind` filters on the violation string."""
        if kind is not None:
            match["violation"] = kind
        return self.events("violation", **match)

    def violation_kinds(self, **match):
        return [v["violation"] for v in self.violations(**match)]

    def channels(self):
        """{channel id: its START control event} for every channel started (the
        event has conn, msg, wav and raw). A channel id started on several
        connections maps to the last."""
        return {ev["channel"]: ev for ev in self.controls("START") if "wav" in ev}

    def recorded_channels(self):
        """The "channel" events, one per channel recorded (any protocol): conn,
        channel, leg, wav, raw. AudioHook and raw number a connection's
        channels 1 (caller / external) and 2 (callee / internal)."""
        return self.events("channel")

    # -- audio files ---------------------------------------------------------

    def _channel_event(self, channel, conn, timeout=5.0):
        # The server writes a START's control line just before its channel line:
        # a test that saw the first may read the file between the two.
        def opened():
            return [ev for ev in self.events("channel", channel=channel) if conn is None or ev["conn"] == conn]
        try:
            return wait_for(opened, timeout, what=f"channel {channel}")[-1]
        except AssertionError:
            raise AssertionError(f"channel {channel} was never started") from None

    def raw_path(self, channel, conn=None):
        return os.path.join(self.out_dir, self._channel_event(channel, conn)["raw"])

    def wav_path(self, channel, conn=None):
        return os.path.join(self.out_dir, self._channel_event(channel, conn)["wav"])

    def raw(self, channel, conn=None):
        """The G.711 payload bytes received for the channel, in order (complete once
        the channel stopped, its connection closed or the server stopped; else up
        to 50 ms behind)."""
        with open(self.raw_path(channel, conn), "rb") as f:
            return f.read()

    def wav(self, channel, conn=None):
        """The channel's decoded audio: Wav(rate, channels, width, pcm)."""
        with wave.open(self.wav_path(channel, conn), "rb") as w:
            return Wav(w.getframerate(), w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes()))

    def summary(self):
        """summary.json, written when the server stopped."""
        with open(os.path.join(self.out_dir, "summary.json")) as f:
            return json.load(f)
