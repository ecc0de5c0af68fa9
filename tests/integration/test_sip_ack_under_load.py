"""Established calls survive the load that once tore them down (docs/sip.md,
"Overload"): calls from SIPp, each INVITE/200, ACK 400 ms later, 1 s, BYE,
while a burst of INVITEs every half second goes to a far end that never
answers, so that voxforkd retransmits many of its own INVITEs at once.

That is what set sofia-sip 1.12.11 off: after every 5th client
retransmission in one timer run it handled received packets, which zeroed
its clock, and the server transactions' timers then ran against 0. While the
millisecond counter is past 2^31 (half of each 49.7-day cycle; the test says
which half it runs in) every 200 waiting for its ACK met Timer H at once:
"ACK Timeout", a BYE from voxforkd, a "strange" ACK. Here every call that got
a 200 must have been ACKed and ended by the caller's own BYE, and none may be
counted as never acknowledged."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import GOOD_SDP, SipTest, daemon_config, part  # noqa: E402

CALLS = 150
RATE = 30
BURST = 10

SILENT_ROUTE = """dial-peer voice 902 voip
 destination-pattern 6888
 session protocol sipv2
 session target ipv4:127.0.0.1:{port}
 session transport udp
!
"""


def invite(sip_port, own_port, n):
    body = GOOD_SDP.replace("\n", "\r\n") + "\r\n"
    return (f"INVITE sip:6888@127.0.0.1:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{own_port};branch=z9hG4bK-silent-{n}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:burst@127.0.0.1>;tag=silent{n}\r\n"
            "To: <sip:6888@127.0.0.1>\r\n"
            f"Call-ID: silent-{n}@127.0.0.1\r\n"
            "CSeq: 1 INVITE\r\n"
            f"Contact: <sip:burst@127.0.0.1:{own_port}>\r\n"
            "Content-Type: application/sdp\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def sofia_clock_past_half():
    """Whether sofia's millisecond counter (NTP seconds * 1000, 32 bits) is
    past 2^31 now: only then did the zeroed clock fire Timer H."""
    return ((int(time.time()) + 2208988800) * 1000) % 2**32 >= 2**31


class AckUnderLoad(SipTest):
    def test_every_answered_call_is_acked_and_ended_by_its_caller(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind((harness.LOOPBACK, 0))  # bound, never read: INVITEs to it go unanswered
        self.on_cleanup(silent.close)
        self.sip_port = harness.free_port(pair=True)
        self.uas_port = harness.free_port(pair=True)
        self.uac_port = harness.free_port(pair=True)
        span = 1600
        config = daemon_config(self.sip_port, self.uas_port, harness.relay_port_base(span), rtp_span=span)
        config += SILENT_ROUTE.format(port=silent.getsockname()[1])
        # It stops with the unanswered INVITEs' transactions still open: what
        # sofia holds for them is left to the process's end, by design.
        supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sofia-left-standing.supp")
        self.daemon_ = d = self.daemon(config).start(env={"LSAN_OPTIONS": f"suppressions={supp}:print_suppressions=0"})

        uas = self.callee(MIDCALL=part("pause", MS=100), END=part("uas_recv_bye"), calls=CALLS, timeout=60)
        uac = self.caller(BEFORE_ACK=part("pause", MS=400), MIDCALL=part("pause", MS=1000), calls=CALLS,
                          rate=RATE, limit=CALLS, timeout=60)

        done = threading.Event()
        sent = [0]

        def bursts():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((harness.LOOPBACK, 0))
                own_port = s.getsockname()[1]
                while not done.wait(0.5):
                    for _ in range(BURST):
                        s.sendto(invite(self.sip_port, own_port, sent[0]), (harness.LOOPBACK, self.sip_port))
                        sent[0] += 1

        sender = threading.Thread(target=bursts, daemon=True)
        sender.start()
        try:
            uac.assert_ok(self, timeout=90)
        finally:
            done.set()
            sender.join(5)
        uas.assert_ok(self, timeout=30)

        print(f"sofia's millisecond clock is {'past' if sofia_clock_past_half() else 'below'} 2^31; "
              f"{sent[0]} INVITEs went unanswered", file=sys.stderr)
        # Each call's 200 was ACKed (the caller sent it 400 ms later) and its
        # BYE came from the caller: voxforkd sent the caller none of its own.
        self.assertEqual(uac.received("BYE "), [], "voxforkd ended calls of its own")
        self.assertEqual(len(uas.received("ACK ")), CALLS)
        self.assertEqual(len(uas.received("BYE ")), CALLS)
        self.assertEqual(self.sip_counter("Calls connected"), CALLS)
        self.assertEqual(self.sip_counter("Calls ended, 200 not ACKed"), 0)
        log = d.log()
        for text in ("was never acknowledged", "strange ACK", "su_root_yield is not replaced"):
            self.assertNotIn(text, log)


if __name__ == "__main__":
    harness.main()
