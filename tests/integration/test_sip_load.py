"""200 calls in a row through voxforkd: every one connects and ends, and
afterwards the relay pool is whole and the daemon holds no more descriptors
and hardly more memory than after a warm-up of as many calls.

sofia keeps each finished transaction for 64*T1 = 32 s (to absorb
retransmissions), so memory is compared once the warm-up's transactions
have expired: the second batch then reuses what the first one left. The
test knows they have by asking: a copy of the warm-up's last BYE is
answered 200 again while its transaction lives, 481 once it is gone (the
dialog went long before)."""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import sip_messages  # noqa: E402
from sipp import SipTest, part, wait_all  # noqa: E402


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def bye_answer(sock, bye, sip_port):
    """Sends `bye` to voxforkd; the status code of its answer (None: none in 2 s)."""
    sock.sendto(bye, (harness.LOOPBACK, sip_port))
    sock.settimeout(2)
    try:
        data, _ = sock.recvfrom(65536)
    except socket.timeout:
        return None
    m = re.match(rb"SIP/2.0 (\d{3}) ", data)
    return int(m.group(1)) if m else None


class ManyCalls(SipTest):
    def wait_transactions_expired(self, uac):
        """Until a copy of `uac`'s last BYE (from its message log, sent again
        from its port, where the answers go) gets 481: its transaction, the
        batch's last, has expired."""
        byes = [m for d, m in sip_messages(uac.messages()) if d == "sent" and m.startswith("BYE ")]
        self.assertTrue(byes, uac.report())
        bye = byes[-1].replace("\n", "\r\n").encode() + b"\r\n\r\n"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((harness.LOOPBACK, self.uac_port))
            answers = [bye_answer(sock, bye, self.sip_port)]
            self.assertEqual(answers, [200], "the BYE's transaction was gone at once")
            harness.wait_for(lambda: answers.append(bye_answer(sock, bye, self.sip_port)) or answers[-1] == 481,
                             timeout=90, interval=1, what="the warm-up's transactions to expire")

    def run_calls(self, count):
        uas = self.callee(END=part("uas_recv_bye"), calls=count, timeout=90)
        uac = self.caller(calls=count, rate=50, limit=10, timeout=90)
        wait_all(self, uac, uas, timeout=100)
        self.assert_no_calls()
        self.warm_up = uac

    def test_200_calls_leave_nothing_behind(self):
        d = self.start_daemon()
        pid = d.process.pid
        self.run_calls(200)  # warm-up: allocator and stack caches settle
        self.wait_transactions_expired(self.warm_up)
        fds, rss = open_fds(pid), harness.rss_kib(pid)
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
            grown = harness.rss_kib(pid) - rss
            self.assertLess(grown, 2048, f"resident memory grew by {grown} KiB over 200 calls")


if __name__ == "__main__":
    harness.main()
