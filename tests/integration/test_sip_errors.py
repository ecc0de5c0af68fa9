"""Requests voxforkd refuses, each with its SIP answer and its counter:
untrusted source 403, no route 404, bad or unusable SDP 400/488 (a non-IPv4
`c=` included), no common codec 488 (each 488 with a Warning saying why),
relay pool exhausted 503 with Retry-After, a callee's 503 passed on as 500
with a Reason, a forking INFO or a BYE outside a dialog 481; and OPTIONS
answered 200."""

import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import GOOD_SDP, Sipp, SipTest, daemon_config, header_lines, part, rtp_base, scenario, wait_all  # noqa: E402

class Refusals(SipTest):
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

    def test_contact_with_an_unknown_transport_400_and_calls_go_on(self):
        # Nothing could reach that Contact: the INVITE is refused, the next call is not.
        self.start_daemon()
        path = scenario(self, "uac_reject", STATUS=400, CONTENT_TYPE="application/sdp", BODY=GOOD_SDP)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace(";transport=[transport]>", ";transport=sctp>"))
        Sipp(self, path, self.uac_port, target=self.sip_port).assert_ok(self)
        self.assertEqual(self.sip_counter("Rejected malformed (400)"), 1)
        uas = self.callee(END=part("uas_recv_bye"))
        self.caller(MIDCALL=part("pause", MS=100)).assert_ok(self)
        wait_all(self, uas)
        self.assert_no_calls()

    def test_multipart_without_parts_400(self):
        # A multipart body that is empty, or has no part between boundaries,
        # is malformed, like one that does not parse.
        self.start_daemon()
        self.reject(400, body="", content_type="multipart/mixed;boundary=b1")
        self.reject(400, body="no boundary here", content_type="multipart/mixed;boundary=b1")
        self.assertEqual(self.sip_counter("Rejected malformed (400)"), 2)
        self.assert_no_calls()

    def test_sdp_without_audio_or_known_codec_488(self):
        self.start_daemon()
        self.reject(488, body="v=0\no=a 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                              "m=video 6000 RTP/AVP 96\na=rtpmap:96 H264/90000")
        self.reject(488, body="v=0\no=a 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
                              "m=audio 6000 RTP/AVP 97")
        self.assertEqual(self.sip_counter("Rejected no common codec (488)"), 2)
        self.assert_no_calls()

    def test_non_ipv4_connection_address_488(self):
        """sip.md: a non-IPv4 `c=` is refused 488 before routing: the callee
        gets nothing. The same offer with an IPv4 address goes through."""
        self.start_daemon()
        uas = self.callee(name="uas_ring", STATUS=486)
        ipv6 = GOOD_SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP6 ::1")
        self.assertNotEqual(ipv6, GOOD_SDP)
        self.reject(488, body=ipv6)
        self.assertEqual(self.sip_counter("Rejected no common codec (488)"), 1)
        self.assertNotIn("INVITE sip:", uas.messages(), "a refused offer reached the callee")
        self.reject(486)  # the control: same offer over IPv4 is routed to the callee (which refuses it)
        wait_all(self, uas)
        self.assert_no_calls()

    def test_no_common_codec_488(self):
        self.start_daemon(out_codec="g729")
        run = self.reject(488)
        self.assertEqual(self.warnings(run, "488"), ['305 sip-test "Incompatible media format: no common codec"'])
        self.assert_no_calls()

    def test_ipv6_offer_488_names_the_address_family(self):
        self.start_daemon()
        run = self.reject(488, body="v=0\no=a 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\n"
                                    "m=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000")
        self.assertEqual(self.warnings(run, "488"),
                         ['301 sip-test "Incompatible network address format: IPv4 only"'])
        self.assertEqual(self.sip_counter("Rejected no common codec (488)"), 1)
        self.assert_no_calls()

    def warnings(self, run, status):
        answers = run.received(f"SIP/2.0 {status} ")
        self.assertTrue(answers, run.report())
        return header_lines(answers[-1], "Warning")

    def test_callee_503_goes_to_the_caller_as_500_with_the_reason(self):
        # A proxy in front would take voxforkd's 503 for an overload and send
        # it no more calls: the far end's 503 travels in a Reason header.
        self.start_daemon()
        uas = self.callee(name="uas_ring", STATUS=503)
        run = self.reject(500)
        wait_all(self, uas)
        answer = run.received("SIP/2.0 500 ")[-1]
        self.assertEqual(header_lines(answer, "Reason"), ['SIP;cause=503;text="Final"'], answer)
        self.assertEqual(run.received("SIP/2.0 503"), [])
        self.assertEqual(self.sip_counter("Downstream 503 sent as 500"), 1)
        self.assert_no_calls()

    def test_exhausted_relay_pool_503(self):
        # Two port pairs: the first call takes both, the second finds none.
        d = self.start_daemon(rtp_span=6)
        uas = self.callee(MIDCALL=part("pause", MS=100), END=part("uas_recv_bye"))
        first = self.caller(MIDCALL=part("pause", MS=2000))
        harness.wait_for(lambda: "Total calls: 1" in d.show("show call active voice brief"), what="first call")
        self.uac_port = harness.free_port(pair=True)
        refused = self.reject(503)
        self.assertEqual(header_lines(refused.received("SIP/2.0 503 ")[-1], "Retry-After"), ["5"])
        wait_all(self, first, uas)
        self.assertEqual(self.sip_counter("Rejected no media ports (503)"), 1)
        self.assert_no_calls()

    def test_an_open_file_limit_below_the_port_range_is_said_at_start(self):
        # 2,000 relay ports (999 pairs) are room for 499 calls of six sockets;
        # 1,200 open files hold (1,200 - 1,024) / 6 = 29 of them. Calls past
        # the limit would be refused as if the ports were gone: the operator
        # is told at start, and calls go on.
        self.sip_port, self.uas_port, self.uac_port = (harness.free_port(pair=True) for _ in range(3))
        text = daemon_config(self.sip_port, self.uas_port, harness.relay_port_base(2000), rtp_span=2000)
        d = self.daemon_ = self.daemon(text).start(wrapper=("prlimit", "--nofile=1200:1200", "--"))
        d.wait_log("media: the open-file limit (1200) holds about 29 calls, the rtp-port range 499")
        uas = self.callee(END=part("uas_recv_bye"))
        wait_all(self, self.caller(), uas)
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

    def start_edited(self, edit, **kwargs):
        """A daemon whose configuration is daemon_config() passed through `edit`."""
        self.sip_port = harness.free_port(pair=True)
        self.uas_port = harness.free_port(pair=True)
        self.uac_port = harness.free_port(pair=True)
        text = edit(daemon_config(self.sip_port, self.uas_port, rtp_base(), **kwargs))
        self.daemon_ = self.daemon(text).start()
        return self.daemon_

    def test_destination_pattern_without_dollar_is_a_prefix(self):
        # docs/configuration.md "Patterns": `6777` routes 67771 (IOS variable-length match).
        self.start_daemon()
        uas = self.callee(name="uas_ring", STATUS=486)
        self.reject(486, service="67771")
        wait_all(self, uas)

    def test_destination_pattern_with_dollar_is_exact(self):
        self.start_edited(lambda t: t.replace("destination-pattern 6777", "destination-pattern 6777$"))
        self.reject(404, service="67771")
        self.assertEqual(self.sip_counter("Rejected no route (404)"), 1)

    def test_trusted_entry_with_host_bits_is_its_network(self):
        # `ipv4 127.0.0.1 255.0.0.0` is 127.0.0.0/8, as on IOS: the file loads and SIPp is trusted.
        self.start_daemon(trusted="ipv4 127.0.0.1 255.0.0.0")
        uas = self.callee(name="uas_ring", STATUS=486)
        self.reject(486)
        wait_all(self, uas)

    def test_default_trust_ignores_shut_down_dial_peers(self):
        # The only dial-peer whose target is 127.0.0.1 is shut down; 902 routes elsewhere.
        def edit(text):
            return text.replace("dial-peer voice 901 voip\n", "dial-peer voice 901 voip\n shutdown\n") + (
                "dial-peer voice 902 voip\n destination-pattern 6777\n"
                f" session target ipv4:127.0.0.2:{self.uas_port}\n")
        self.start_edited(edit, trusted=None)
        self.reject(403)
        self.assertEqual(self.sip_counter("Rejected untrusted source (403)"), 1)

    def test_from_user_the_stack_cannot_reuse_400_and_calls_go_on(self):
        # sofia takes this From, but leg B's From could not be built from its
        # user part: the call used to stay in setup for good, unanswered.
        self.start_daemon()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
            caller.bind((harness.LOOPBACK, 0))
            caller.settimeout(10)
            own = caller.getsockname()[1]
            sdp = GOOD_SDP.replace("\n", "\r\n") + "\r\n"
            caller.sendto(f"INVITE sip:6777@{harness.LOOPBACK}:{self.sip_port} SIP/2.0\r\n"
                          f"Via: SIP/2.0/UDP {harness.LOOPBACK}:{own};branch=z9hG4bK-badfrom\r\n"
                          "Max-Forwards: 70\r\n".encode()
                          + b"From: \xff\xfe<sip:1000@127.0.0.1>;tag=bad\r\n"
                          + f"To: <sip:6777@{harness.LOOPBACK}>\r\nCall-ID: badfrom@test\r\nCSeq: 1 INVITE\r\n"
                          f"Contact: <sip:1000@{harness.LOOPBACK}:{own}>\r\nContent-Type: application/sdp\r\n"
                          f"Content-Length: {len(sdp)}\r\n\r\n{sdp}".encode(), (harness.LOOPBACK, self.sip_port))
            answers = []
            while not answers or answers[-1] < 200:
                answers.append(int(caller.recv(65536).split(b" ", 2)[1]))
        self.assertEqual(answers[-1], 400)
        self.assertEqual(self.sip_counter("Rejected malformed (400)"), 1)
        self.assert_no_calls()
        uas = self.callee(END=part("uas_recv_bye"))
        self.caller(MIDCALL=part("pause", MS=100)).assert_ok(self)
        wait_all(self, uas)


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

    def test_bye_outside_a_dialog_481(self):
        self.start_daemon()
        self.caller(name="uac_request", METHOD="BYE", CONTENT_TYPE="application/sdp", BODY="",
                    STATUS=481).assert_ok(self)
        # The SIP stack answers it before the B2BUA sees it, so (unlike the
        # INFO above) it is not in `Rejected no dialog (481)`.
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
