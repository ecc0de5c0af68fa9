"""A call whose caller never acknowledges the 200: voxforkd retransmits the
200 for 64*T1 (32 s), then ends the call as RFC 3261 13.3.1.4 asks, with a
BYE on both legs, and counts it. Before, the call stayed in `show call
active` for good, holding its relay ports and a license: a caller that sent
only INVITEs (a scanner, a broken phone, a flood) left calls behind."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import GOOD_SDP, SipTest, part, wait_all  # noqa: E402

ACK_TIMEOUT_S = 32


def first_line(data):
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


class Unconfirmed(SipTest):
    def test_a_200_never_acked_ends_the_call_with_bye_on_both_legs(self):
        self.start_daemon()
        callee = self.callee(END=part("uas_recv_bye"), timeout=ACK_TIMEOUT_S + 30)
        caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(caller.close)
        caller.bind((harness.LOOPBACK, 0))
        own = caller.getsockname()[1]
        sdp = GOOD_SDP.replace("\n", "\r\n") + "\r\n"
        caller.sendto((f"INVITE sip:6777@{harness.LOOPBACK}:{self.sip_port} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {harness.LOOPBACK}:{own};branch=z9hG4bK-noack-1\r\n"
                       "Max-Forwards: 70\r\n"
                       f"From: <sip:1000@{harness.LOOPBACK}>;tag=noack\r\n"
                       f"To: <sip:6777@{harness.LOOPBACK}>\r\n"
                       "Call-ID: noack-1@test\r\nCSeq: 1 INVITE\r\n"
                       f"Contact: <sip:1000@{harness.LOOPBACK}:{own}>\r\n"
                       f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}").encode(),
                      (harness.LOOPBACK, self.sip_port))
        answered = time.monotonic()
        caller.settimeout(ACK_TIMEOUT_S + 15)
        seen = []
        while True:  # the 200 and its retransmissions, never acknowledged, then the BYE
            data = caller.recv(65536)
            seen.append(first_line(data))
            if data.startswith(b"BYE "):
                break
        waited = time.monotonic() - answered
        self.assertIn("SIP/2.0 200 OK", seen)
        self.assertGreater(seen.count("SIP/2.0 200 OK"), 3, "the 200 is retransmitted until the timeout")
        self.assertGreater(waited, ACK_TIMEOUT_S - 2, "the BYE comes only after the 200's retransmissions")
        # The BYE is answered, as a caller would.
        head, _, _ = data.partition(b"\r\n\r\n")
        keep = [line for line in head.split(b"\r\n")[1:]
                if line.split(b":")[0].lower() in (b"via", b"from", b"to", b"call-id", b"cseq")]
        caller.sendto(b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n",
                      (harness.LOOPBACK, self.sip_port))
        wait_all(self, callee)  # the callee got its BYE too
        self.assert_no_calls()
        self.assertEqual(self.sip_counter("Calls ended, 200 not ACKed"), 1)
        self.assertIn("its 200 was never acknowledged, ending it : call-id noack-1@test", self.daemon_.log())


if __name__ == "__main__":
    harness.main()
