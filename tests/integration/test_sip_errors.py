"""Requests voxforkd refuses, each with its SIP answer and its counter:
untrusted source 403, no route 404, bad or unusable SDP 400/488, no common
codec 488, relay pool exhausted 503, a forking INFO outside a dialog 481;
and OPTIONS answered 200."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import SipTest, daemon_config, part, rtp_base, wait_all  # noqa: E402

GOOD_SDP = ("v=0\no=caller 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            "m=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000")


class Refusals(SipTest):
    def reject(self, status, body=GOOD_SDP, content_type="application/sdp", **opts):
        run = self.caller(name="uac_reject", STATUS=status, CONTENT_TYPE=content_type, BODY=body, **opts)
        run.assert_ok(self)
        return run

    def test_untrusted_source_403(self):
        # Only 127.0.0.2 is trusted; SIPp sends from 127.0.0.1.
        self.start_daemon(trusted="ipv4 127.0.0.2")
        self.reject(403)
        self.assertEqual(self.sip_counter("Rejected untrusted source (403)"), 1)
        self.assert_no_calls()

    def test_default_trusted_list_is_the_session_targets(self):
        self.start_daemon(trusted=None)  # the target 127.0.0.1 is trusted by default
        uas = self.callee(name="uas_ring", STATUS=486)
        self.reject(486)
        wait_all(self, uas)

    def test_no_route_404(self):
        self.start_daemon()
        self.reject(404, service="1234")
        self.assertEqual(self.sip_counter("Rejected no route (404)"), 1)
        self.assert_no_calls()

    def test_malformed_sdp_400(self):
        self.start_daemon()
        self.reject(400, body="this is not SDP")
        self.assertEqual(self.sip_counter("Rejected malformed (400)"), 1)

    def test_sdp_without_audio_or_known_codec_488(self):
        self.start_daemon()
        self.reject(488, body="v=0\no=a 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                              "m=video 6000 RTP/AVP 96\na=rtpmap:96 H264/90000")
        self.reject(488, body="v=0\no=a 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                              "m=audio 6000 RTP/AVP 97")
        self.assertEqual(self.sip_counter("Rejected no common codec (488)"), 2)
        self.assert_no_calls()

    def test_no_common_codec_488(self):
        self.start_daemon(out_codec="g729")
        self.reject(488)
        self.assert_no_calls()

    def test_exhausted_relay_pool_503(self):
        # Two port pairs: the first call takes both, the second finds none.
        d = self.start_daemon(rtp_span=6)
        uas = self.callee(MIDCALL=part("pause", MS=100), END=part("uas_recv_bye"))
        first = self.caller(MIDCALL=part("pause", MS=2000))
        harness.wait_for(lambda: "Total calls: 1" in d.show("show call active voice brief"), what="first call")
        self.uac_port = harness.free_port(pair=True)
        self.reject(503)
        wait_all(self, first, uas)
        self.assertEqual(self.sip_counter("Rejected no media ports (503)"), 1)
        self.assert_no_calls()


    def test_reload_changes_routing(self):
        d = self.start_daemon()
        text = daemon_config(self.sip_port, self.uas_port, rtp_base()).replace(
            "destination-pattern 6777", "destination-pattern 7777")
        d.write_config(text)
        d.signal(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        self.reject(404)
        self.assertEqual(self.sip_counter("Rejected no route (404)"), 1)


class OutOfDialog(SipTest):
    def test_options_200(self):
        self.start_daemon()
        self.caller(name="uac_request", METHOD="OPTIONS", CONTENT_TYPE="application/sdp", BODY="",
                    STATUS=200).assert_ok(self)

    def test_forking_info_outside_a_dialog_481(self):
        d = self.start_daemon()
        self.caller(name="uac_request", METHOD="INFO", CONTENT_TYPE="application/x-cisco-record+json",
                    BODY='{"action":"START","call-guid":"1"}', STATUS=481).assert_ok(self)
        self.assertEqual(self.sip_counter("Rejected no dialog (481)"), 1)
        self.assertEqual(self.sip_counter("Forking requests"), 0)
        self.assertNotIn("forking request", d.log())


if __name__ == "__main__":
    harness.main()
