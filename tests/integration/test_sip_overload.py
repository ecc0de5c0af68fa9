"""Overload control through voxforkd: while a call is up, the daemon is
stopped (SIGSTOP) for a second and a burst of new INVITEs queues up, as when
the control plane falls behind. When it runs again, its loop is far behind:
every queued INVITE is refused at once with 503 and Retry-After, the call
that was up carries on and ends with its BYE, and once the loop has kept up
for a while new calls are accepted again. Counted in `show sip-ua
statistics`, logged when it starts and ends."""

import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import GOOD_SDP, SipTest, part, wait_all  # noqa: E402

BURST = 8


def invite(sip_port, own_port, n):
    body = GOOD_SDP.replace("\n", "\r\n") + "\r\n"
    return (f"INVITE sip:6777@127.0.0.1:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{own_port};branch=z9hG4bK-overload-{n}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:burst@127.0.0.1>;tag=burst{n}\r\n"
            "To: <sip:6777@127.0.0.1>\r\n"
            f"Call-ID: overload-{n}@127.0.0.1\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:burst@127.0.0.1:{own_port}>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def ack(response):
    """The ACK of a non-2xx final answer: its Via (same branch), From and To."""
    head = response.split("\r\n\r\n", 1)[0].split("\r\n")
    fields = {line.split(":", 1)[0].lower(): line for line in head[1:] if ":" in line}
    return ("ACK sip:6777@127.0.0.1 SIP/2.0\r\n" + fields["via"] + "\r\nMax-Forwards: 70\r\n" +
            fields["from"] + "\r\n" + fields["to"] + "\r\n" + fields["call-id"] +
            "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n").encode()


class Overload(SipTest):
    def test_a_stalled_loop_refuses_new_calls_and_keeps_the_one_up(self):
        d = self.start_daemon()
        uas = self.callee(MIDCALL=part("pause", MS=100), END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=part("pause", MS=4000))
        harness.wait_for(lambda: d.show("show call active voice brief").count(" active ") == 2,
                         what="the call up")

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as burst:
            burst.bind((harness.LOOPBACK, 0))
            own_port = burst.getsockname()[1]
            os.kill(d.process.pid, signal.SIGSTOP)
            try:
                for n in range(BURST):
                    burst.sendto(invite(self.sip_port, own_port, n), (harness.LOOPBACK, self.sip_port))
                time.sleep(1.0)
            finally:
                os.kill(d.process.pid, signal.SIGCONT)
            finals = {}
            burst.settimeout(5)
            while len(finals) < BURST:
                text = burst.recv(65536).decode()
                status = int(text.split(" ", 2)[1])
                if status < 200:
                    continue
                call_id = re.search(r"(?mi)^Call-ID: *(\S+)", text)[1]
                finals[call_id] = (status, re.search(r"(?mi)^Retry-After: *(\d+)", text))
                burst.sendto(ack(text), (harness.LOOPBACK, self.sip_port))
        self.assertEqual({status for status, _ in finals.values()}, {503}, finals)
        self.assertTrue(all(retry and int(retry[1]) > 0 for _, retry in finals.values()), "no Retry-After")
        self.assertEqual(self.sip_counter("Rejected overload (503)"), BURST)
        self.assertEqual(self.sip_counter("Overload episodes"), 1)
        self.assertGreaterEqual(self.sip_counter("Control-plane lag ms (max)"), 500)
        d.wait_log("new calls are refused (503)")

        # The call that was up goes on to its BYE, answered.
        wait_all(self, uac, uas)
        self.assertEqual(self.sip_counter("Calls connected"), 1)

        # Kept up for a while: new calls are taken again.
        d.wait_log("new calls are accepted", timeout=10)
        uas = self.callee(END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=part("pause", MS=100))
        wait_all(self, uac, uas)
        self.assertEqual(self.sip_counter("Calls connected"), 2)
        self.assertEqual(self.sip_counter("Rejected overload (503)"), BURST)
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
