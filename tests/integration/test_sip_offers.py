"""Offer/answer corners of the B2BUA, each checked on the wire: re-INVITE
glare (491 from voxforkd, the far end's 491 relayed back) with the call
surviving and a later retry going through, an old-style hold (c=0.0.0.0)
relayed as such, a delayed-offer INVITE (no SDP) refused with 488, ICE and
RTCP attributes left out of rewritten SDP, and a re-INVITE without SDP
answered with the last SDP sent on that leg."""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import received_requests, sip_messages, split_message  # noqa: E402
from sipp import RtpRecorder, SipTest, part, pattern_file, wait_all  # noqa: E402


def offer(cseq, direction, expect, who="uac_reinvite"):
    return part(who, CSEQ=cseq, VERSION=cseq, DIRECTION=direction, EXPECT=expect, PT=0, ENCODING="PCMU")


def answer(cseq, expect, direction):
    return part("accept_reinvite", CSEQ=cseq, VERSION=cseq, DIRECTION=direction, EXPECT=expect, PT=0,
                ENCODING="PCMU")


def media_port(sdp_text):
    return int(sdp_text.split("m=audio ")[1].split()[0])


def responses(run, direction, cseq_method):
    """Status codes of the responses `run` sent/received whose CSeq names `cseq_method` ("2 INVITE")."""
    out = []
    for d, message in sip_messages(run.messages()):
        first, headers, _ = split_message(message)
        if d == direction and first[:9] in ("SIP/2.0 2", "SIP/2.0 3", "SIP/2.0 4", "SIP/2.0 5", "SIP/2.0 6") \
                and headers.get("cseq") == cseq_method:
            out.append(int(first.split()[1]))
    return out


class OfferTest(SipTest):
    """SipTest for the offer/answer tests (the harness stops every voxforkd
    with SIGTERM and checks it)."""


class Glare(OfferTest):
    def test_crossing_reinvites_one_gets_491_and_the_retry_goes_through(self):
        """The caller's re-INVITE (hold) is relayed; while the callee holds it
        unanswered its own re-INVITE crosses it and is refused 491; the
        caller's then completes, the callee's retry completes, BYE ends it."""
        self.start_daemon()
        uas = self.callee(MIDCALL=part("uas_glare", CSEQ=1, VERSION=2, EXPECT="a=sendonly", ANSWER_DIR="recvonly") +
                          part("pause", MS=300) +
                          offer(2, "sendrecv", "o=voxfork [0-9]+ 3 .*a=sendrecv", who="uas_reinvite"),
                          END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=offer(2, "sendonly", "a=recvonly") +
                          answer(3, "o=voxfork [0-9]+ 3 .*a=sendrecv", "sendrecv") + part("pause", MS=200))
        wait_all(self, uac, uas)
        # The callee's crossing re-INVITE got 491 and never reached the caller:
        # the caller saw exactly one re-INVITE, the callee's retry.
        self.assertEqual(responses(uas, "received", "1 INVITE"), [491], uas.report())
        self.assertEqual(responses(uas, "received", "2 INVITE"), [200])
        self.assertEqual(responses(uac, "received", "2 INVITE"), [200])
        caller_got = received_requests(uac, "INVITE")
        self.assertEqual(len(caller_got), 1, uac.report())
        self.assertIn("a=sendrecv", caller_got[0][1])
        # The two offers that went through were relayed; the crossing one was
        # answered by the SIP stack itself (docs/sip.md, Mid-call), so it is
        # neither relayed nor in the B2BUA's Glare counter.
        self.assertEqual(self.sip_counter("re-INVITEs relayed"), 2)
        self.assert_no_calls()

    def test_far_end_491_is_relayed_and_the_media_stays_where_it_was(self):
        """The callee refuses the caller's re-INVITE (a new media port) with
        491: the caller gets the 491, the relay keeps sending to the old port,
        and the caller's retry later goes through."""
        self.start_daemon()
        old, new = RtpRecorder(self), RtpRecorder(self)
        tone, tone_bytes = pattern_file(self, "callee.ulaw", 7, packets=15)
        uas = self.callee(MIDCALL=part("refuse_reinvite", CSEQ=2, EXPECT="m=audio [0-9]+ RTP/AVP 0 101", STATUS=491) +
                          part("stream", FILE=tone, PT=0, MS=700) +
                          answer(3, "o=voxfork [0-9]+ 3 .*a=sendrecv", "sendrecv"),
                          END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=part("uac_reinvite_refused", CSEQ=2, VERSION=2, PORT=new.port, STATUS=491) +
                          part("pause", MS=900) + offer(3, "sendrecv", "a=sendrecv") + part("pause", MS=200),
                          rtp_rx_port=old.port)
        wait_all(self, uac, uas)
        self.assertEqual(responses(uac, "received", "2 INVITE"), [491], uac.report())
        self.assertEqual(responses(uac, "received", "3 INVITE"), [200])
        harness.wait_for(lambda: len(old.payload(0)) >= len(tone_bytes), 3, what="the callee's RTP at the old port")
        self.assertEqual(old.payload(0), tone_bytes, "every packet went to the port still in force")
        self.assertEqual(new.packets, [], "nothing went to the refused offer's port")
        self.assertEqual(self.sip_counter("re-INVITEs relayed"), 2)
        self.assert_no_calls()


class OldStyleHold(OfferTest):
    def test_zero_address_hold_is_relayed_as_such_and_unhold_restores_media(self):
        d = self.start_daemon()
        recorder = RtpRecorder(self)
        tone, tone_bytes = pattern_file(self, "callee.ulaw", 9, packets=10)
        uas = self.callee(MIDCALL=answer(2, "c=IN IP4 0.0.0.0", "sendrecv") +
                          answer(3, "c=IN IP4 127.0.0.1", "sendrecv") + part("stream", FILE=tone, PT=0, MS=600),
                          END=part("uas_recv_bye"))
        hold = part("uac_reinvite", CSEQ=2, VERSION=2, DIRECTION="sendrecv", EXPECT="c=IN IP4 127.0.0.1", PT=0,
                    ENCODING="PCMU")
        # The same re-INVITE with its c= line set to 0.0.0.0.
        hold = hold.replace("c=IN IP4 [media_ip]", "c=IN IP4 0.0.0.0")
        self.assertIn("c=IN IP4 0.0.0.0", hold)
        uac = self.caller(MIDCALL=hold + part("pause", MS=800) + offer(3, "sendrecv", "a=sendrecv") +
                          part("pause", MS=900), rtp_rx_port=recorder.port)
        harness.wait_for(lambda: " hold " in d.show("show call active voice brief"), 10, what="the call on hold")
        wait_all(self, uac, uas)
        relayed = received_requests(uas, "INVITE")
        self.assertEqual(len(relayed), 3)
        hold_sdp, unhold_sdp = relayed[1][1], relayed[2][1]
        # The relayed hold keeps 0.0.0.0 (the callee must know), but every other
        # line is voxforkd's: its origin with the next version, its relay port.
        self.assertIn("c=IN IP4 0.0.0.0", hold_sdp)
        self.assertNotIn("127.0.0.1", hold_sdp.split("o=voxfork")[1].split("\n", 1)[1], hold_sdp)
        self.assertRegex(hold_sdp, r"o=voxfork [0-9]+ 2 IN IP4 127\.0\.0\.1")
        self.assertEqual(media_port(hold_sdp), media_port(relayed[0][1]), "the relay port of leg B")
        self.assertIn("c=IN IP4 127.0.0.1", unhold_sdp)
        self.assertRegex(unhold_sdp, r"o=voxfork [0-9]+ 3 IN IP4")
        # After the unhold the relay sends to the caller again.
        harness.wait_for(lambda: len(recorder.payload(0)) >= len(tone_bytes), 3, what="RTP after unhold")
        self.assertEqual(recorder.payload(0), tone_bytes)
        self.assert_no_calls()


class DelayedOffer(OfferTest):
    def test_invite_without_sdp_is_refused_488_and_nothing_goes_out(self):
        self.start_daemon()
        # Whatever voxforkd sent towards the callee would land here.
        callee = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        callee.bind((harness.LOOPBACK, self.uas_port))
        callee.settimeout(0.5)
        self.on_cleanup(callee.close)
        run = self.caller(name="uac_no_body", STATUS=488)
        run.assert_ok(self)
        self.assertEqual(responses(run, "received", "1 INVITE")[-1], 488, run.report())
        with self.assertRaises(socket.timeout):
            callee.recvfrom(2048)
        self.assertEqual(self.sip_counter("Rejected no common codec (488)"), 1)
        self.assertEqual(self.sip_counter("INVITEs received"), 1)
        self.assert_no_calls()


# ICE and RTCP attributes a WebRTC-style endpoint puts in its SDP: voxforkd
# anchors the media itself, so none may be relayed (sip.md).
ICE_LINES = ["a=ice-ufrag:F7gI", "a=ice-pwd:x9cml/YzichV2+XlhiMu8g", "a=ice-options:trickle",
             "a=candidate:1 1 UDP 2130706431 127.0.0.1 6000 typ host", "a=remote-candidates:1 127.0.0.1 6000",
             "a=rtcp:6001"]
END_OF_CANDIDATES = "a=end-of-candidates"  # trickle ICE (RFC 8840)


def with_ice(part_text, direction, lines=ICE_LINES):
    """The SIPp part with `lines` added after its `a=DIRECTION` line."""
    out, n = re.subn(rf"^(\s*)a={direction}$", lambda m: "\n".join([m.group(0)] + [m.group(1) + l for l in lines]),
                     part_text, count=1, flags=re.M)
    assert n == 1, part_text
    return out


def sdp_of_answers(run, cseq_method):
    """Bodies of the 2xx responses `run` received whose CSeq is `cseq_method`."""
    out = []
    for d, message in sip_messages(run.messages()):
        first, headers, body = split_message(message)
        if d == "received" and first.startswith("SIP/2.0 200") and headers.get("cseq") == cseq_method:
            out.append(body)
    return out


class Rewrites(OfferTest):
    def relay_with(self, lines):
        """A re-INVITE whose offer and answer both carry `lines`: the two SDPs
        as voxforkd relayed them (the offer to the callee, the answer to the caller)."""
        self.start_daemon()
        uas = self.callee(MIDCALL=with_ice(answer(2, "a=sendrecv", "sendrecv"), "sendrecv", lines),
                          END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=with_ice(offer(2, "sendrecv", "a=sendrecv"), "sendrecv", lines))
        wait_all(self, uac, uas)
        offers = received_requests(uas, "INVITE")
        self.assertEqual(len(offers), 2, uas.report())
        answers = sdp_of_answers(uac, "2 INVITE")
        self.assertEqual(len(answers), 1, uac.report())
        # The test's own scenarios did carry them.
        sent = [m for d, m in sip_messages(uac.messages()) if d == "sent" and "CSeq: 2 INVITE" in m]
        self.assertTrue(sent and all(l in sent[0] for l in lines), sent)
        self.assert_no_calls()
        for relayed in (offers[1][1], answers[0]):
            self.assertIn("a=rtpmap:0 PCMU/8000", relayed)
            self.assertIn("a=sendrecv", relayed)
        return offers[1][1], answers[0]

    def test_ice_and_rtcp_attributes_are_not_relayed(self):
        """sip.md: ICE attributes and a=rtcp are dropped from rewritten SDP."""
        for relayed in self.relay_with(ICE_LINES):
            for line in ICE_LINES:
                self.assertNotIn(line.split(":")[0] + ":", relayed, f"{line} relayed:\n{relayed}")

    def test_end_of_candidates_is_not_relayed(self):
        for relayed in self.relay_with([ICE_LINES[0], END_OF_CANDIDATES]):
            self.assertNotIn(END_OF_CANDIDATES, relayed)


NO_SDP_REINVITE = """  <send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: "caller" <sip:1000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: <sip:1000@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: "caller" <sip:1000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687638 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [rtp_rx_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=sendrecv
    ]]>
  </send>
"""


class NoSdpReinvite(OfferTest):
    def test_reinvite_without_sdp_is_answered_with_the_last_sdp_sent(self):
        """sip.md: a re-INVITE without SDP gets, in its 200, the last SDP
        voxforkd sent on that leg (here: the answer to the first INVITE)."""
        self.start_daemon()
        uas = self.callee(END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=NO_SDP_REINVITE + part("pause", MS=300))
        wait_all(self, uac, uas)
        first, again = sdp_of_answers(uac, "1 INVITE"), sdp_of_answers(uac, "2 INVITE")
        self.assertEqual(len(first), 1, uac.report())
        self.assertEqual(len(again), 1, uac.report())
        self.assertIn("m=audio ", first[0])
        self.assertEqual(again[0], first[0], "the 200 to the re-INVITE without SDP")
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
