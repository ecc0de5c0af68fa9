"""Media latching through voxforkd: a callee whose SDP says 127.0.0.2 while
its RTP comes from 127.0.0.1 (as a phone behind NAT, or one that announces
another interface) gets its audio relayed both ways; RTP from a third
address during the call is dropped and counted; with `rtp latching strict`
on the dial-peer nothing from the unannounced address passes. The callee's
media is a socket of the test (its SDP comes from SIPp), so what reaches it
is seen."""

import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import RtpRecorder, SipTest, part, pattern_file, wait_all  # noqa: E402

ANNOUNCED = "127.0.0.2"  # where the callee's SDP says its media is; nothing listens there


def rtp(seq, payload, ssrc=0x5EED):
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


class Latching(SipTest):
    def call_with_announced_callee(self, **daemon):
        """A call whose callee announces ANNOUNCED:P in SDP while its media
        socket is 127.0.0.1:P; the caller streams once the call is up."""
        d = self.start_daemon(**daemon)
        self.callee_media = RtpRecorder(self)
        self.caller_media = RtpRecorder(self)
        self.caller_file, self.caller_bytes = pattern_file(self, "caller.ulaw", 3)
        uas = self.callee(MIDCALL=part("pause", MS=2000), END=part("uas_recv_bye"),
                          rtp_rx_port=self.callee_media.port, sdp_ip=ANNOUNCED)
        # The caller's stream starts after the callee's first packets, which latch leg B.
        uac = self.caller(MIDCALL=part("pause", MS=1500) + part("stream", FILE=self.caller_file, PT=0, MS=1500),
                          rtp_rx_port=self.caller_media.port)
        # Answered: leg B takes nothing before the callee's SDP is in.
        details = harness.wait_for(lambda: (lambda out: out if out.count("state active") == 2 else None)(
            d.show("show call active voice")), what="the call answered")
        self.relay_port_b = int(re.findall(r"Relay RTP port: (\d+)", details)[1])
        return d, uac, uas

    def leg_b_details(self, d):
        out = d.show("show call active voice")
        return out[out.index(" Callid", out.index(" Callid") + 1):]

    def test_rtp_from_another_address_than_the_sdp_is_learned_both_ways(self):
        d, uac, uas = self.call_with_announced_callee()
        callee_bytes = bytes(range(160)) * 2
        self.callee_media.send(self.relay_port_b, [rtp(i, callee_bytes[:160]) for i in range(20)])
        # A third address while latched: dropped, counted, never relayed.
        stranger = RtpRecorder(self, address="127.0.0.3")
        stranger.send(self.relay_port_b, [rtp(100 + i, b"\x55" * 160, ssrc=0xBAD) for i in range(5)])
        self.callee_media.send(self.relay_port_b, [rtp(20 + i, callee_bytes[:160]) for i in range(5)])

        details = self.leg_b_details(d)
        self.assertIn("RTP latching: learn", details)
        self.assertIn(f"RTP signalled: {ANNOUNCED}:{self.callee_media.port}, "
                      f"latched: 127.0.0.1:{self.callee_media.port}", details)
        wait_all(self, uac, uas)

        harness.wait_for(lambda: len(self.caller_media.payload(0)) >= 25 * 160, timeout=3,
                         what="the callee's RTP at the caller")
        self.assertNotIn(b"\x55" * 160, self.caller_media.payload(0), "the stranger's RTP was relayed")
        # The caller's audio went where the callee's RTP came from, not to its SDP's address.
        harness.wait_for(lambda: len(self.callee_media.payload(0)) >= len(self.caller_bytes), timeout=3,
                         what="the caller's RTP at the callee's real address")
        self.assertEqual(self.callee_media.payload(0), self.caller_bytes)

        fork_global = d.show("show platform hardware qfp active feature sbc fork global")
        callee_direction = fork_global[fork_global.index(" Direction callee"):]
        self.assertGreaterEqual(int(re.search(r"Dropped unexpected source: (\d+)", callee_direction)[1]), 5)
        self.assertEqual(int(re.search(r"Latches: (\d+)", callee_direction)[1]), 1)
        self.assertEqual(int(re.search(r"Latch moves: (\d+)", callee_direction)[1]), 0)
        d.wait_log(f"RTP latched to 127.0.0.1:{self.callee_media.port} (SDP {ANNOUNCED}:{self.callee_media.port})")
        self.assert_no_calls()

    def test_strict_dial_peer_takes_only_the_sdp_address(self):
        d, uac, uas = self.call_with_announced_callee(out_latching="strict")
        self.callee_media.send(self.relay_port_b, [rtp(i, b"\x11" * 160) for i in range(20)])
        self.assertIn("RTP latching: strict", self.leg_b_details(d))
        wait_all(self, uac, uas)
        self.assertEqual(self.caller_media.payload(0), b"", "RTP from an unannounced address passed")
        self.assertFalse(self.callee_media.packets, "strict sent to where the RTP came from")
        fork_global = d.show("show platform hardware qfp active feature sbc fork global")
        callee_direction = fork_global[fork_global.index(" Direction callee"):]
        self.assertEqual(int(re.search(r"Dropped unexpected source: (\d+)", callee_direction)[1]), 20)
        self.assertEqual(int(re.search(r"Latches: (\d+)", callee_direction)[1]), 0)
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
