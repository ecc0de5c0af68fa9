"""Shared pieces of the integration tests: temporary directories, free
loopback ports, starting and stopping voxforkd, running the voxfork client.

Every process a test starts is registered with a Harness and stopped by it,
whatever the outcome, and what it left behind is checked there:

- every voxforkd is stopped with SIGTERM first; it must exit with the status
  the test expects (0 unless it said otherwise), its log must hold no
  sanitizer report and, after a SIGTERM, end with the orderly `voxforkd
  stopped`;
- every helper process (spawn()) must have exited 0 on its own, or stop on
  SIGTERM when still running; a helper's own check (see on_cleanup) runs too;
- any of these failing fails the test: each cleanup runs, then the failures
  are raised together.

Tools a test needs (dnsmasq, tinyproxy...) are looked up with need_tool():
missing, the test is skipped with the reason, or fails under CI=true. A
script whose tests were all skipped exits with SKIP_EXIT, which ctest
reports as skipped. Only 127.0.0.1 is ever used."""

import fcntl
import os
import re
import shutil
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


# The suite's port map, so that tests running side by side (ctest -j) do not
# take each other's ports: the media unit tests claim relay blocks in
# 10000-15887 (tests/unit/media/udp_peer.hpp), single ports come from
# 16000-19999 (free_port), daemons' relay ranges from 20000-32767
# (relay_port_base). All of it is below the kernel's ephemeral range
# (32768-60999), where any socket that asks for a port may be given one: a
# relay range there once took the port a SIPp had just been given, and a
# single port picked there went, between the pick and SIPp's bind, to a
# socket of a test running beside it.
SERVICE_PORTS_FIRST, SERVICE_PORTS_END = 16000, 20000
RELAY_PORTS_FIRST, RELAY_PORTS_END = 20000, 32768


def relay_port_base(span=400):
    """An even port where `span` ports above are likely free (the relay skips busy ones)."""
    import random
    return random.randrange(RELAY_PORTS_FIRST, RELAY_PORTS_END - span, 2)


# Ports a test process took from the service range: each holds an exclusive
# lock on a file named for it, kept for the process's life, so that two tests
# never take the same one. The kernel lets go of a lock when its process ends,
# however it ends (a timeout's kill too), so no claim outlives its test.
PORT_CLAIMS = os.path.join(tempfile.gettempdir(), f"voxfork-test-ports-{os.getuid()}")
_claims = {}  # port -> the open file holding its lock


def _claim(port):
    os.makedirs(PORT_CLAIMS, exist_ok=True)
    f = open(os.path.join(PORT_CLAIMS, str(port)), "a")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return False  # another test's
    _claims[port] = f
    return True


def _unclaim(port):
    f = _claims.pop(port, None)
    if f:
        f.close()


def _bindable(port, kind):
    try:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((LOOPBACK, port))
        return True
    except OSError:
        return False


def free_port(kind=socket.SOCK_STREAM, even=False, pair=False, span=1):
    """A port free on 127.0.0.1 right now and taken by no other test (UDP and
    TCP both when pair, and the `span - 1` ports above it too, for programs
    that take neighbours)."""
    import random
    kinds = (socket.SOCK_DGRAM, socket.SOCK_STREAM) if pair or span > 1 else (kind,)
    for _ in range(500):
        port = random.randrange(SERVICE_PORTS_FIRST, SERVICE_PORTS_END - span + 1)
        if even and port % 2:
            continue
        ports = range(port, port + span)
        if not all(_bindable(p, k) for p in ports for k in kinds):
            continue
        claimed = []
        for p in ports:
            if not _claim(p):
                break
            claimed.append(p)
        if len(claimed) == span:
            return port
        for p in claimed:
            _unclaim(p)
    raise RuntimeError("no free port")


def sanitized(pid):
    """True when the process runs with AddressSanitizer: its quarantine holds
    freed memory, so resident-size checks say nothing there (its own leak
    check runs at exit instead)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def rss_kib(pid):
    """The process's resident size in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# Exit code of a script whose every test was skipped (SKIP_RETURN_CODE in
# CMakeLists.txt): ctest reports it as skipped, not passed.
SKIP_EXIT = 77

# What AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer print.
SANITIZER_REPORT = re.compile(r"runtime error:|ERROR: [A-Za-z]*Sanitizer|[A-Za-z]+Sanitizer:")


# What voxforkd logs when VOXFORK_TEST_TIME_SCALE shrinks its timers.
TIME_SCALE_WARNING = "VOXFORK_TEST_TIME_SCALE is set"


def time_scale(environment):
    """The time scale voxforkd takes from VOXFORK_TEST_TIME_SCALE in that
    environment (as ws::Settings::from_environment reads it: 1 to 100000,
    else 1)."""
    try:
        scale = float(environment.get("VOXFORK_TEST_TIME_SCALE", ""))
    except ValueError:
        return 1.0
    return scale if 1.0 <= scale <= 100000.0 else 1.0


def under_ci():
    return os.environ.get("CI", "").lower() == "true"


def need_tool(name, *fallbacks):
    """The path of the program `name` (PATH, then each fallback path). When it is
    missing the test is skipped, saying which program, or fails under CI=true,
    where every tool must be installed (tools/install-deps.sh)."""
    path = shutil.which(name) or next((f for f in fallbacks if os.path.exists(f)), None)
    if path:
        return path
    if under_ci():
        raise AssertionError(f"{name} is not installed (CI=true: every test tool must be; see tools/install-deps.sh)")
    raise unittest.SkipTest(f"{name} not installed")


def sanitizer_report(text):
    """The sanitizer report in a process's output (from its first line), or None."""
    m = SANITIZER_REPORT.search(text)
    if not m:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    return text[start:start + 4000]


def check_output(what, text):
    """Raises when `text` (a process's log or stderr) holds a sanitizer report."""
    report = sanitizer_report(text)
    if report:
        raise AssertionError(f"{what}: sanitizer report:\n{report}")


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

    def start(self, wait=True, extra_args=(), env=None, expect_exit=0, wrapper=()):
        """Starts it; `env`: extra environment variables; `expect_exit`: the
        exit status the test expects (checked at cleanup: 0 after the SIGTERM
        the harness sends, unless the daemon ended on its own as the test
        meant, e.g. 1 for a bad file); `wrapper`: a command that execs it
        (e.g. setpriv with fewer capabilities)."""
        log = open(self.log_path, "ab")
        self.expect_exit = expect_exit
        self.terminated = False
        self.environment = {**os.environ, **(env or {})}
        self.process = subprocess.Popen(
            [*wrapper, binary("voxforkd"), "-c", self.config_path, "--foreground", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.environment)
        log.close()
        self.harness.register_daemon(self)
        if wait:
            wait_for(lambda: os.path.exists(self.socket_path) or self.process.poll() is not None,
                     what="control socket")
            if self.process.poll() is not None:
                raise AssertionError(f"voxforkd exited {self.process.returncode}:\n{self.log()}")
        return self

    def finish(self):
        """The harness's check of a daemon at cleanup: SIGTERM when still
        running, then the exit status, the sanitizer reports and the log.
        Raises AssertionError with the log's end on any failure."""
        if self.process is None:
            return
        try:
            code = self.stop()
        finally:
            log = self.log()
            keep = os.environ.get("VOXFORK_TEST_KEEP_LOG")
            if keep:
                name = f"{self.harness.id()}.{os.path.basename(self.log_path)}"
                with open(os.path.join(keep, name), "w") as f:
                    f.write(log)
        check_output(f"voxforkd ({self.log_path})", log)
        if code != self.expect_exit:
            raise AssertionError(f"voxforkd exited {code}, expected {self.expect_exit}:\n{log[-3000:]}")
        if self.terminated and code == 0 and not log.rstrip().endswith("voxforkd stopped"):
            raise AssertionError(f"voxforkd's log does not end with its orderly stop:\n{log[-3000:]}")
        # The test-only time scale must never change timers unannounced.
        scaled = time_scale(self.environment) != 1.0
        if scaled != (TIME_SCALE_WARNING in log):
            raise AssertionError(f"VOXFORK_TEST_TIME_SCALE={self.environment.get('VOXFORK_TEST_TIME_SCALE')!r} "
                                 f"but the log {'lacks' if scaled else 'has'} {TIME_SCALE_WARNING!r}")

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
        check_output(f"voxfork {' '.join(args)}", r.stderr)
        return r.returncode, r.stdout, r.stderr

    def show(self, command):
        code, out, err = self.cli(*command.split())
        if code != 0:
            raise AssertionError(f"{command!r} exited {code}: {out}{err}")
        return out

    def signal(self, sig):
        self.process.send_signal(sig)

    def kill(self):
        """Ends it with SIGKILL, as a crash would (a cluster test's dead
        instance); the check at cleanup then expects just that."""
        self.expect_exit = -signal.SIGKILL
        self.process.kill()
        self.process.wait()

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit status."""
        if self.process and self.process.poll() is None:
            self.terminated = True
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"voxforkd did not stop on SIGTERM:\n{self.log()[-3000:]}")
        return self.process.returncode


class Harness(unittest.TestCase):
    """Base class: a temporary directory per test and cleanup of everything
    started, with the checks of the module's docstring."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="voxfork-it-")
        self.tmpdir = self._tmp.name
        self._harness_cleanups = []
        self._daemons = []
        self.addCleanup(self._run_cleanups)

    def on_cleanup(self, fn):
        """Runs `fn` at cleanup (last registered first), after the daemons were
        stopped; an exception from it fails the test."""
        self._harness_cleanups.append(fn)

    def register_daemon(self, daemon):
        self._daemons.append(daemon)

    def assert_arrives(self, read, expected, msg=None, timeout=10.0):
        """Asserts read() == expected, allowing up to `timeout` for it. A
        test's last checks run once its scenario is over, which can be a few
        milliseconds after voxforkd sent its last message, and a server in
        another process (slower under the sanitizers, with other tests on the
        host) may not have logged that message yet. On failure the message
        shows what read() gave last."""
        deadline = time.monotonic() + timeout
        got = read()
        while got != expected and time.monotonic() < deadline:
            time.sleep(0.05)
            got = read()
        self.assertEqual(got, expected, msg)

    def _run_cleanups(self):
        # Daemons first, while the helpers they talk to still run: a daemon
        # that hangs or crashes on the way out is its own failure, not a
        # consequence of its peers going away.
        failures = []
        for fn in [d.finish for d in self._daemons] + list(reversed(self._harness_cleanups)):
            try:
                fn()
            except Exception as e:  # keep stopping the rest, then fail
                failures.append(f"{getattr(fn, '__qualname__', fn)}: {type(e).__name__}: {e}")
        self._tmp.cleanup()
        if failures:
            raise AssertionError("cleanup found:\n" + "\n".join(failures))

    def spawn(self, args, ok_codes=(0,), **kwargs):
        """Starts a helper process. At cleanup it must have exited with one of
        `ok_codes` on its own (unless the test checked its status itself and
        set `status_checked` on it), or still be running and then stop on
        SIGTERM within 5 s."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(args, **kwargs)
        name = os.path.basename(args[0]) if args[0] != "/usr/bin/python3" else os.path.basename(args[1])

        def stop():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    raise AssertionError(f"{name} did not stop on SIGTERM")
                if p.returncode not in (0, -signal.SIGTERM, *ok_codes):
                    raise AssertionError(f"{name} exited {p.returncode} on SIGTERM")
            elif p.returncode not in ok_codes and not getattr(p, "status_checked", False):
                raise AssertionError(f"{name} exited {p.returncode} on its own")
        self.on_cleanup(stop)
        return p

    def check_config(self, text):
        """`voxforkd --check` of a configuration: (exit code, stdout, the
        error lines without the file's path); its stderr holds no sanitizer
        report."""
        path = os.path.join(self.tmpdir, "voxforkd.conf")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([binary("voxforkd"), "-c", path, "--check"], capture_output=True, text=True, timeout=10)
        check_output("voxforkd --check", r.stderr)
        return r.returncode, r.stdout, [line.removeprefix(f"{path}:") for line in r.stderr.splitlines()]

    def daemon(self, config_text, **kwargs):
        return Daemon(self, config_text, **kwargs)


def main():
    """Runs the script's tests; exits SKIP_EXIT when every test that ran was
    skipped (ctest then reports the script as skipped), 1 on a failure."""
    program = unittest.main(verbosity=2, exit=False)
    result = program.result
    for test, reason in result.skipped:
        print(f"SKIPPED {test.id()}: {reason}", file=sys.stderr)
    for test, _ in result.expectedFailures:
        print(f"EXPECTED FAILURE {test.id()}: a known defect, see the test", file=sys.stderr)
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(SKIP_EXIT)
    sys.exit(0)
