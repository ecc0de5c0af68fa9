"""200 calls in a row through voxforkd: every one connects and ends, and
afterwards the relay pool is whole and the daemon holds no more descriptors
and hardly more memory than after a warm-up of as many calls.

sofia keeps each finished transaction for 64*T1 = 32 s (to absorb
retransmissions), so memory is compared once the warm-up's transactions
have expired: the second batch then reuses what the first one left."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import SipTest, part, wait_all  # noqa: E402


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class ManyCalls(SipTest):
    def run_calls(self, count):
        uas = self.callee(END=part("uas_recv_bye"), calls=count, timeout=90)
        uac = self.caller(calls=count, rate=50, limit=10, timeout=90)
        wait_all(self, uac, uas, timeout=100)
        self.assert_no_calls()

    def test_200_calls_leave_nothing_behind(self):
        d = self.start_daemon()
        pid = d.process.pid
        self.run_calls(200)  # warm-up: allocator and stack caches settle
        time.sleep(34)
        fds, rss = open_fds(pid), rss_kib(pid)
        self.run_calls(200)
        self.assertEqual(self.sip_counter("Calls connected"), 400)
        free, total = self.relay_pool()
        self.assertEqual(free, total)
        # A control-socket client may still be closing: give it a moment.
        try:
            harness.wait_for(lambda: open_fds(pid) == fds, timeout=3, what="descriptors back")
        except AssertionError:
            listing = {n: os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")}
            self.fail(f"descriptors leaked: {fds} before, now {listing}")
        if not harness.sanitized(pid):
            grown = rss_kib(pid) - rss
            self.assertLess(grown, 2048, f"resident memory grew by {grown} KiB over 200 calls")


if __name__ == "__main__":
    harness.main()
