"""systemd's notify protocol without systemd: the test binds its own datagram
socket, hands it to voxforkd as NOTIFY_SOCKET with a short WATCHDOG_USEC,
and reads what arrives. A running daemon says READY=1 and then WATCHDOG=1
twice per interval; a stopped one (kill -STOP) says nothing, which is what
makes systemd kill and restart it."""

import os
import signal
import socket
import time

from harness import Harness, free_port, relay_port_base

WATCHDOG_USEC = 400_000  # 0.4 s: WATCHDOG=1 expected every 0.2 s


def minimal_config():
    rtp = relay_port_base(12)
    return (f"voice service voip\n rtp-port range {rtp} {rtp + 10}\n sip\n"
            f"  listen-port non-secure {free_port(pair=True)}\n!\ncontrol-socket @SOCKET@\n")


class WatchdogTest(Harness):

    def setUp(self):
        super().setUp()
        self.notify_path = os.path.join(self.tmpdir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.addCleanup(self.notify.close)

    def messages_during(self, seconds):
        """(arrival time, message) for every datagram within `seconds`."""
        received = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.notify.settimeout(left)
            try:
                received.append((time.monotonic(), self.notify.recv(4096).decode()))
            except socket.timeout:
                break
        return received

    def start_daemon(self, name="voxforkd", **environment):
        old = {k: os.environ.get(k) for k in environment}
        os.environ.update(environment)
        try:
            return self.daemon(minimal_config(), name=name).start()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def test_ready_then_watchdog_twice_per_interval_and_silence_when_stopped(self):
        d = self.start_daemon(NOTIFY_SOCKET=self.notify_path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        first = self.messages_during(1.0)
        texts = [m for _, m in first]
        self.assertEqual(texts[0], "READY=1", texts)
        pets = [t for t, m in first if m == "WATCHDOG=1"]
        self.assertEqual(set(texts[1:]), {"WATCHDOG=1"}, texts)
        # 1 s at 0.2 s intervals: about 5; never as slow as one per interval.
        self.assertGreaterEqual(len(pets), 3, texts)
        gaps = [b - a for a, b in zip(pets, pets[1:])]
        self.assertLess(max(gaps), WATCHDOG_USEC / 1e6, gaps)

        # A stopped daemon is a wedged daemon: nothing for three intervals.
        d.signal(signal.SIGSTOP)
        self.messages_during(0.1)  # what was already on its way
        self.assertEqual(self.messages_during(3 * WATCHDOG_USEC / 1e6), [])

        # Let go, it speaks again.
        d.signal(signal.SIGCONT)
        again = [m for _, m in self.messages_during(1.0)]
        self.assertIn("WATCHDOG=1", again)

        self.assertEqual(d.stop(), 0)
        self.assertIn("STOPPING=1", [m for _, m in self.messages_during(0.5)])

    def test_no_watchdog_messages_without_watchdog_usec_or_for_another_pid(self):
        self.start_daemon("plain", NOTIFY_SOCKET=self.notify_path).stop()
        self.assertEqual([m for _, m in self.messages_during(0.5)], ["READY=1", "STOPPING=1"])

        self.start_daemon("other-pid", NOTIFY_SOCKET=self.notify_path, WATCHDOG_USEC=str(WATCHDOG_USEC),
                          WATCHDOG_PID=str(os.getpid()))
        self.assertEqual([m for _, m in self.messages_during(1.0)], ["READY=1"])


if __name__ == "__main__":
    import harness
    harness.main()
