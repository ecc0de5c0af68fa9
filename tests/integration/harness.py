"""Shared pieces of the integration tests: temporary directories, free
loopback ports, starting and stopping voxforkd, running the voxfork client.

Every process a test starts is registered with a Harness and stopped by it,
whatever the outcome. Only 127.0.0.1 is ever used."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD_DIR = os.environ.get("VOXFORK_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SOURCE_DIR = os.environ.get("VOXFORK_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
BIN = os.path.join(BUILD_DIR, "bin")
LOOPBACK = "127.0.0.1"


def binary(name):
    path = os.path.join(BIN, name)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} not built")
    return path


def free_port(kind=socket.SOCK_STREAM, even=False, pair=False):
    """A port free on 127.0.0.1 right now (UDP and TCP both when pair)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        if even and port % 2:
            continue
        if pair:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    u.bind((LOOPBACK, port))
                    t.bind((LOOPBACK, port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def sanitized(pid):
    """True when the process runs with AddressSanitizer: its quarantine holds
    freed memory, so resident-size checks say nothing there (its own leak
    check runs at exit instead)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class Daemon:
    """A running voxforkd; its stderr goes to a log file the test can read."""

    def __init__(self, harness, config_text, name="voxforkd"):
        self.harness = harness
        self.dir = harness.tmpdir
        self.config_path = os.path.join(self.dir, f"{name}.conf")
        self.log_path = os.path.join(self.dir, f"{name}.log")
        self.socket_path = os.path.join(self.dir, f"{name}.sock")
        self.write_config(config_text)
        self.process = None

    def write_config(self, text):
        text = text.replace("@SOCKET@", self.socket_path)
        if "control-socket" not in text:
            text = text.rstrip("\n") + f"\ncontrol-socket {self.socket_path}\n"
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self, wait=True, extra_args=()):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [binary("voxforkd"), "-c", self.config_path, "--foreground", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.harness.on_cleanup(self.kill)
        if wait:
            wait_for(lambda: os.path.exists(self.socket_path) or self.process.poll() is not None,
                     what="control socket")
            if self.process.poll() is not None:
                raise AssertionError(f"voxforkd exited {self.process.returncode}:\n{self.log()}")
        return self

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=10.0):
        return wait_for(lambda: text in self.log(), timeout, what=f"log line {text!r}")

    def cli(self, *args, input_text=None, timeout=10.0):
        """Runs the real voxfork client; returns (exit code, stdout, stderr)."""
        r = subprocess.run([binary("voxfork"), "-s", self.socket_path, *args],
                           input=input_text, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout, r.stderr

    def show(self, command):
        code, out, err = self.cli(*command.split())
        if code != 0:
            raise AssertionError(f"{command!r} exited {code}: {out}{err}")
        return out

    def signal(self, sig):
        self.process.send_signal(sig)

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit status."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("voxforkd did not stop on SIGTERM")
        return self.process.returncode

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Harness(unittest.TestCase):
    """Base class: a temporary directory per test and cleanup of everything started."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="voxfork-it-")
        self.tmpdir = self._tmp.name
        self._harness_cleanups = []
        self.addCleanup(self._run_cleanups)

    def on_cleanup(self, fn):
        self._harness_cleanups.append(fn)

    def _run_cleanups(self):
        for fn in reversed(self._harness_cleanups):
            try:
                fn()
            except Exception as e:  # keep stopping the rest
                print(f"cleanup failed: {e}", file=sys.stderr)
        self._tmp.cleanup()

    def spawn(self, args, **kwargs):
        """Starts a helper process that is killed at cleanup."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args, **kwargs)

        def stop():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.on_cleanup(stop)
        return p

    def daemon(self, config_text, **kwargs):
        return Daemon(self, config_text, **kwargs)


def main():
    unittest.main(verbosity=2)
