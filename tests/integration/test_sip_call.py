"""Calls through voxforkd between a SIPp caller and a SIPp callee: setup,
RTP relayed both ways byte for byte, BYE from either side, CANCEL, a busy
callee, TCP."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import RtpRecorder, SipTest, part, pattern_file, wait_all  # noqa: E402


class BasicCall(SipTest):
    def test_call_relays_rtp_both_ways_in_order(self):
        d = self.start_daemon()
        to_caller = RtpRecorder(self)   # where the caller's SDP says its media goes
        to_callee = RtpRecorder(self)
        caller_file, caller_bytes = pattern_file(self, "caller.ulaw", 1)
        callee_file, callee_bytes = pattern_file(self, "callee.ulaw", 2)
        self.assertNotEqual(caller_bytes, callee_bytes)
        uas = self.callee(STREAM=part("stream", FILE=callee_file, PT=0, MS=2500), END=part("uas_recv_bye"),
                          rtp_rx_port=to_callee.port)
        uac = self.caller(STREAM=part("stream", FILE=caller_file, PT=0, MS=3000), rtp_rx_port=to_caller.port)

        brief = harness.wait_for(
            lambda: (lambda out: out if "Total calls: 1" in out and " active " in out else None)(
                d.show("show call active voice brief")), what="the call in show call active")
        lines = brief.splitlines()
        self.assertEqual(lines[0], "Callid  Peer-leg  Dial-peer  Remote            Codec     State   Fork")
        a, b = lines[1].split(), lines[2].split()
        self.assertEqual((a[1], b[1]), (b[0], a[0]), "each leg names the other as its peer")
        self.assertEqual(int(b[0]), int(a[0]) + 1)
        self.assertEqual(a[2], "900")
        self.assertEqual(b[2], "901")
        self.assertEqual(a[3], f"127.0.0.1:{self.uac_port}")
        self.assertEqual(b[3], f"127.0.0.1:{self.uas_port}")
        self.assertEqual(a[4], "g711ulaw")
        self.assertEqual(a[6], "none")
        free, total = self.relay_pool()
        self.assertEqual(free, total - 2, "one call holds two port pairs")

        wait_all(self, uac, uas)
        harness.wait_for(lambda: len(to_callee.payload(0)) >= len(caller_bytes), timeout=3,
                         what="caller RTP at the callee")
        self.assertEqual(to_callee.payload(0), caller_bytes, "caller audio reached the callee whole and in order")
        harness.wait_for(lambda: len(to_caller.payload(0)) >= len(callee_bytes), timeout=3,
                         what="callee RTP at the caller")
        self.assertEqual(to_caller.payload(0), callee_bytes, "callee audio reached the caller whole and in order")
        # The SDP each side got names voxforkd's relay, never the other side.
        self.assertNotIn(f"m=audio {to_callee.port}", uac.messages())
        self.assertNotIn(f"m=audio {to_caller.port}", uas.messages())
        # Every packet came from the relay port the receiver's SDP named
        # (symmetric RTP: what the far end latches onto is where it sends).
        port_a = int(re.search(r"m=audio (\d+)", uac.received("SIP/2.0 200")[0])[1])
        port_b = int(re.search(r"m=audio (\d+)", uas.received("INVITE ")[0])[1])
        self.assertEqual({p[3] for p in to_callee.packets}, {("127.0.0.1", port_b)})
        self.assertEqual({p[3] for p in to_caller.packets}, {("127.0.0.1", port_a)})
        fork_global = d.show("show platform hardware qfp active feature sbc fork global")
        self.assertIn(" Direction caller\n  RTP packets relayed: 50\n", fork_global)
        self.assertIn(" Direction callee\n  RTP packets relayed: 50\n", fork_global)
        self.assert_no_calls()
        self.assertEqual(self.sip_counter("Calls connected"), 1)

    def test_bye_from_callee(self):
        self.start_daemon()
        uas = self.callee(MIDCALL=part("pause", MS=300), END=part("uas_send_bye", CSEQ=1))
        uac = self.caller(name="uac_answered_bye")
        wait_all(self, uac, uas)
        self.assert_no_calls()

    def test_tcp_on_both_legs(self):
        self.start_daemon(transport="tcp")
        uas = self.callee(END=part("uas_recv_bye"), tcp=True)
        uac = self.caller(MIDCALL=part("pause", MS=300), tcp=True)
        wait_all(self, uac, uas)
        self.assertIn("SIP/2.0/TCP", uas.messages())
        self.assert_no_calls()


class Failures(SipTest):
    def test_cancel_while_ringing(self):
        self.start_daemon()
        uas = self.callee(name="uas_ring", WAIT_CANCEL=part("wait_cancel"), STATUS=487)
        uac = self.caller(name="uac_cancel")
        wait_all(self, uac, uas)
        self.assert_no_calls()

    def test_busy_callee_486(self):
        self.start_daemon()
        uas = self.callee(name="uas_ring", STATUS=486)
        uac = self.caller(name="uac_reject", STATUS=486, CONTENT_TYPE="application/sdp", BODY=sdp_body())
        wait_all(self, uac, uas)
        self.assert_no_calls()
        self.assertEqual(self.sip_counter("Calls failed"), 1)

    def test_sigterm_releases_calls_with_bye(self):
        d = self.start_daemon()
        uas = self.callee(END=part("uas_recv_bye"))
        uac = self.caller(name="uac_answered_bye")
        # Answered, not only begun: a call still ringing at SIGTERM is
        # rightly refused with 503, not released with BYE.
        harness.wait_for(lambda: re.search(r"\n\d+ +\d+ +\d+ +\S+ +\S+ +active ", d.show("show call active voice brief")),
                         what="call answered")
        self.assertEqual(d.stop(), 0)
        wait_all(self, uac, uas)


def sdp_body():
    return ("v=0\no=caller 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            "m=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000")


if __name__ == "__main__":
    harness.main()
