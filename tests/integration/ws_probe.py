"""Runs build/bin/ws-probe (the WebSocket pool driven from the command line)
for the test_ws_* integration tests, and reads its JSON lines.

    probe = WsProbe(self, config_text).run(host, port, calls=7, frames=10)
    probe.attaches()            # [{"call": 0, "ok": true, "connection": 1, ...}, ...]
    probe.stats()["TCP closures"]
"""

import json
import os
import subprocess
import time

from harness import LOOPBACK, binary, check_output, wait_for


class WsProbe:
    def __init__(self, harness, config_text="", name="probe"):
        self.harness = harness
        self.config_path = os.path.join(harness.tmpdir, f"{name}.conf")
        self.err_path = os.path.join(harness.tmpdir, f"{name}.log")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.lines = []
        self.process = None

    def command(self, host, port, secure=False, path="/v1/fork", token=None, profile=None, calls=1, frames=0,
                interval_ms=20, keep=False, linger_ms=0, interactive=False, time_scale=None, shows=()):
        cmd = [binary("ws-probe"), "--config", self.config_path, "--host", host, "--port", str(port),
               "--path", path, "--calls", str(calls), "--frames", str(frames), "--interval-ms", str(interval_ms),
               "--linger-ms", str(linger_ms)]
        if secure:
            cmd.append("--secure")
        if token:
            cmd += ["--token", token]
        if profile is not None:
            cmd += ["--profile", str(profile)]
        if keep:
            cmd.append("--keep")
        if interactive:
            cmd.append("--interactive")
        if time_scale:
            cmd += ["--time-scale", str(time_scale)]
        for s in shows:
            cmd += ["--show", s]
        return cmd

    def run(self, host, port, timeout=60, **kwargs):
        """Runs to completion and keeps its JSON lines."""
        with open(self.err_path, "ab") as err:
            r = subprocess.run(self.command(host, port, **kwargs), stdout=subprocess.PIPE, stderr=err,
                               timeout=timeout, stdin=subprocess.DEVNULL)
        self.lines = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
        self.check(r.returncode)
        return self

    def check(self, code):
        """Exit status 0 and no sanitizer report in its log."""
        check_output(f"ws-probe ({self.err_path})", self.log())
        if code != 0:
            raise AssertionError(f"ws-probe exited {code}:\n{self.log()[-3000:]}")

    def start(self, host, port, **kwargs):
        """Starts it interactive: send() commands, then finish()."""
        self.out_path = self.err_path + ".out"
        self._out = open(self.out_path, "wb")
        # Registered first, so it runs after the process was stopped.
        self.harness.on_cleanup(lambda: check_output(f"ws-probe ({self.err_path})", self.log()))
        with open(self.err_path, "ab") as err:
            self.process = self.harness.spawn(self.command(host, port, interactive=True, **kwargs),
                                              stdin=subprocess.PIPE, stdout=self._out, stderr=err)
        self.harness.on_cleanup(self._out.close)
        self.wait_for("ready")
        return self

    def read(self):
        if self.process is not None:
            with open(self.out_path) as f:
                text = f.read()
            # Whole lines only: the probe may be writing the last one right now.
            complete = text[:text.rfind("\n") + 1]
            self.lines = [json.loads(l) for l in complete.splitlines() if l.strip()]
        return self.lines

    def send(self, command):
        """Runs one command line (a show/clear, or `stats`) and returns its result line."""
        before = len(self.events("command")) + len(self.events("stats"))
        self.process.stdin.write((command + "\n").encode())
        self.process.stdin.flush()
        wait_for(lambda: len(self.events("command")) + len(self.events("stats")) > before, 10,
                 what=f"answer to {command!r}")
        return [e for e in self.read() if e["event"] in ("command", "stats")][-1]

    def finish(self, timeout=15):
        """`quit`, then its exit status and log are checked (check())."""
        self.process.stdin.write(b"quit\n")
        self.process.stdin.flush()
        code = self.process.wait(timeout)
        self.read()
        self.check(code)
        return self

    def wait_for(self, event, timeout=15, **match):
        return wait_for(lambda: self.events(event, **match), timeout, what=f"probe event {event} {match}")[0]

    # -- results --------------------------------------------------------------

    def events(self, kind=None, **match):
        return [e for e in self.read() if (kind is None or e["event"] == kind)
                and all(e.get(k) == v for k, v in match.items())]

    def attaches(self):
        return sorted(self.events("attach"), key=lambda e: e["call"])

    def reasons(self):
        return [a["reason"] for a in self.attaches()]

    def stats(self):
        """The last statistics block as {label: number}."""
        text = self.events("stats")[-1]["text"]
        return {k: int(v) for k, v in (line.rsplit(": ", 1) for line in text.splitlines())}

    def command_text(self, command):
        for e in self.events("command", command=command):
            return e["text"]
        raise AssertionError(f"no output of {command!r}")

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()


def profile_config(tag=1, threshold=3, idle=30, extra="", globals_=""):
    """A configuration file with one stream-service profile."""
    return (f"{globals_}\nmedia profile stream-service {tag}\n connection calls-threshold {threshold}\n"
            f" connection idle-timeout {idle}\n{extra}")
