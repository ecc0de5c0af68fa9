"""Mid-call requests through voxforkd: hold and unhold from either side, a
codec change, INFO passed through, forking requests taken out of INFO and
re-INVITE and handed to the fork part (which answers with status INFOs the
caller takes with SIPp's -aa)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import SipTest, part, wait_all  # noqa: E402

FORK_JSON = '{"action":"START","call-guid":"8F3B2C1A0E7D11EF9A2B00505688C0DE","host":"127.0.0.1","port":9}'


def offer(cseq, direction, expect, pt=0, encoding="PCMU", who="uac_reinvite"):
    return part(who, CSEQ=cseq, VERSION=cseq, DIRECTION=direction, EXPECT=expect, PT=pt, ENCODING=encoding)


def answer(cseq, expect, direction, pt=0, encoding="PCMU"):
    return part("accept_reinvite", CSEQ=cseq, VERSION=cseq, DIRECTION=direction, EXPECT=expect, PT=pt,
                ENCODING=encoding)


class Reinvite(SipTest):
    def test_hold_and_unhold_from_the_caller(self):
        self.start_daemon()
        uas = self.callee(MIDCALL=answer(2, "o=voxfork [0-9]+ 2 .*a=sendonly", "recvonly") +
                          answer(3, "o=voxfork [0-9]+ 3 .*a=sendrecv", "sendrecv"),
                          END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=offer(2, "sendonly", "a=recvonly") + offer(3, "sendrecv", "a=sendrecv"))
        wait_all(self, uac, uas)
        self.assertEqual(self.sip_counter("re-INVITEs relayed"), 2)
        self.assert_no_calls()

    def test_hold_from_the_callee_shows_in_the_call_list(self):
        d = self.start_daemon()
        uas = self.callee(MIDCALL=offer(1, "sendonly", "a=recvonly", who="uas_reinvite") + part("pause", MS=1500) +
                          offer(2, "sendrecv", "a=sendrecv", who="uas_reinvite"),
                          END=part("uas_recv_bye"))
        uac = self.caller(name="uac_call", MIDCALL=answer(2, "a=sendonly", "recvonly") +
                          answer(3, "a=sendrecv", "sendrecv"))
        harness.wait_for(lambda: " hold " in d.show("show call active voice brief"), timeout=10,
                         what="the call on hold")
        wait_all(self, uac, uas)
        self.assert_no_calls()

    def test_codec_change(self):
        self.start_daemon()
        uas = self.callee(MIDCALL=answer(2, "RTP/AVP 8 101", "sendrecv", pt=8, encoding="PCMA"),
                          END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=offer(2, "sendrecv", "RTP/AVP 8 101", pt=8, encoding="PCMA"))
        wait_all(self, uac, uas)
        self.assert_no_calls()

    def test_forking_reinvite_relays_only_the_sdp(self):
        d = self.start_daemon()
        uas = self.callee(MIDCALL=answer(2, "a=sendrecv", "sendrecv"), END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=part("uac_reinvite_fork", CSEQ=2, VERSION=2) + part("pause", MS=300),
                          extra=("-aa",))
        wait_all(self, uac, uas)
        relayed = uas.messages()
        self.assertNotIn("x-cisco-record", relayed, "the JSON part is never forwarded")
        self.assertNotIn("multipart", relayed)
        self.assertEqual(self.sip_counter("Forking requests"), 1)
        self.assertEqual(self.sip_counter("re-INVITEs relayed"), 1)


class Info(SipTest):
    def test_other_info_passes_through_with_the_far_answer(self):
        self.start_daemon()
        uas = self.callee(MIDCALL=part("recv_info", CSEQ=2, EXPECT="Signal=5", STATUS=200) +
                          part("recv_info", CSEQ=3, EXPECT="Signal=6", STATUS=415),
                          END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=part("uac_info", CSEQ=2, CONTENT_TYPE="application/dtmf-relay",
                                       BODY="Signal=5\nDuration=160", STATUS=200) +
                          part("uac_info", CSEQ=3, CONTENT_TYPE="application/dtmf-relay",
                               BODY="Signal=6\nDuration=160", STATUS=415))
        wait_all(self, uac, uas)
        self.assertEqual(self.sip_counter("INFOs relayed"), 2)

    def test_forking_info_is_answered_at_once_and_not_forwarded(self):
        d = self.start_daemon()
        uas = self.callee(END=part("uas_recv_bye"))
        uac = self.caller(MIDCALL=part("uac_info", CSEQ=2, CONTENT_TYPE="application/x-cisco-record+json",
                                       BODY=FORK_JSON, STATUS=200) + part("pause", MS=1000),
                          extra=("-aa",))
        wait_all(self, uac, uas)
        self.assertNotIn("INFO sip:", uas.messages())
        self.assertEqual(self.sip_counter("Forking requests"), 1)
        self.assertEqual(self.sip_counter("INFOs relayed"), 0)


if __name__ == "__main__":
    harness.main()
