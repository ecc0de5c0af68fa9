"""Calls over IPv6 and across families, through the real daemon, real SIPp
and the relay, on loopback only (127.0.0.1 and ::1): IPv6 to IPv6, an IPv4
caller to an IPv6 callee and the reverse. SIP listens on both control
addresses; each leg's SDP names the relay's address of its own family; RTP
is relayed byte for byte both ways. The trusted list takes IPv6 sources by
their `ipv6` entry only."""

import os
import re
import signal
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dns_server  # noqa: E402
import harness  # noqa: E402
from sipp import RtpRecorder, SipTest, daemon_config, part, rtp_base, wait_all  # noqa: E402

V4, V6 = "127.0.0.1", "::1"


def rtp(sequence, payload, ssrc):
    return struct.pack("!BBHII", 0x80, 0, sequence, 160 * sequence, ssrc) + payload


def frames(seed, count=25):
    """`count` 160-byte frames of a pattern of their own."""
    return [bytes((seed * 31 + n * 7 + i * (seed | 1)) % 256 for i in range(160)) for n in range(count)]


class Ipv6Calls(SipTest):

    # ::1 is trusted by a prefix, not as a single address.
    def start_dual(self, callee_ip, trusted="ipv4 127.0.0.1\n  ipv6 ::/120", target=None, globals_=""):
        """voxforkd signalling and relaying on 127.0.0.1 and ::1; 6777 goes to
        the callee at callee_ip (an ipv6: target for ::1), or to `target`."""
        self.sip_port = harness.free_port(pair=True)
        self.uas_port = harness.free_port(pair=True)
        self.uac_port = harness.free_port(pair=True)
        target = target or ("ipv6:[::1]" if callee_ip == V6 else "ipv4:127.0.0.1")
        text = daemon_config(self.sip_port, self.uas_port, rtp_base(), trusted=trusted, target_host=target,
                             globals_=globals_)
        bind = "  bind control source-address 127.0.0.1\n"
        self.assertIn(bind, text)
        text = text.replace(bind, bind + "  bind control source-address ::1\n")
        self.daemon_ = self.daemon(text).start()
        return self.daemon_

    def relay_ports(self, d):
        """Leg a's and leg b's relay RTP ports, once the call is up."""
        details = harness.wait_for(
            lambda: (lambda out: out if out.count("Relay RTP port:") == 2 and "state active" in out else None)(
                d.show("show call active voice")), what="the call up in show call active voice")
        ports = [int(p) for p in re.findall(r"Relay RTP port: (\d+)", details)]
        return ports[0], ports[1], details

    def call(self, caller_ip, callee_ip, **start):
        d = self.start_dual(callee_ip, **start)
        to_caller = RtpRecorder(self, caller_ip)  # where the caller's SDP says its media goes
        to_callee = RtpRecorder(self, callee_ip)
        uas = self.callee(END=part("uas_recv_bye"), rtp_rx_port=to_callee.port, local_ip=callee_ip, sdp_ip=callee_ip)
        uac = self.caller(STREAM=part("pause", MS=3000), rtp_rx_port=to_caller.port, local_ip=caller_ip,
                          remote_ip=caller_ip, sdp_ip=caller_ip)
        port_a, port_b, details = self.relay_ports(d)
        family = {V4: "127.0.0.1:", V6: "[::1]:"}
        self.assertIn(f"RTP signalled: {family[caller_ip]}{to_caller.port},", details)
        self.assertIn(f"RTP signalled: {family[callee_ip]}{to_callee.port},", details)

        caller_frames, callee_frames = frames(1), frames(2)
        to_callee_packets = [rtp(n, f, 0x1111) for n, f in enumerate(caller_frames)]
        to_caller_packets = [rtp(n, f, 0x2222) for n, f in enumerate(callee_frames)]
        # The caller's audio leaves from where its SDP said it is, the callee's likewise.
        to_caller.send(port_a, to_callee_packets)
        to_callee.send(port_b, to_caller_packets)
        want_at_callee, want_at_caller = b"".join(caller_frames), b"".join(callee_frames)
        harness.wait_for(lambda: len(to_callee.payload(0)) >= len(want_at_callee), timeout=5,
                         what="caller RTP at the callee")
        harness.wait_for(lambda: len(to_caller.payload(0)) >= len(want_at_caller), timeout=5,
                         what="callee RTP at the caller")
        self.assertEqual(to_callee.payload(0), want_at_callee, "caller audio reached the callee whole and in order")
        self.assertEqual(to_caller.payload(0), want_at_caller, "callee audio reached the caller whole and in order")
        # Each side hears the relay, on the loopback address of its own family.
        self.assertEqual({p[3][0] for p in to_callee.packets}, {callee_ip})
        self.assertEqual({p[3][1] for p in to_callee.packets}, {port_b})
        self.assertEqual({p[3][0] for p in to_caller.packets}, {caller_ip})
        self.assertEqual({p[3][1] for p in to_caller.packets}, {port_a})
        wait_all(self, uac, uas)

        # Signalling: each side's SDP names the relay in its own family.
        connection = {V4: "c=IN IP4 127.0.0.1", V6: "c=IN IP6 ::1"}
        answer = uac.received("SIP/2.0 200")[0]
        self.assertIn(connection[caller_ip], answer)
        self.assertIn(f"m=audio {port_a} ", answer)
        offer = uas.received("INVITE ")[0]
        self.assertIn(connection[callee_ip], offer)
        self.assertIn(f"m=audio {port_b} ", offer)
        other = {V4: "IP6", V6: "IP4"}
        self.assertNotIn(other[caller_ip], answer.split("\n\n", 1)[-1])
        self.assertNotIn(other[callee_ip], offer.split("\n\n", 1)[-1])
        if callee_ip == V6:
            self.assertTrue(offer.startswith(f"INVITE sip:6777@[::1]:{self.uas_port} SIP/2.0"), offer[:120])
            self.assertRegex(offer, r"(?m)^Via: SIP/2.0/UDP \[::1\]:%d" % self.sip_port)
            self.assertRegex(offer, r"(?m)^Contact: <sip:\[::1\]:%d>" % self.sip_port)
        else:
            self.assertRegex(offer, r"(?m)^Via: SIP/2.0/UDP 127.0.0.1:%d" % self.sip_port)
        contact = {V4: f"<sip:127.0.0.1:{self.sip_port}>", V6: f"<sip:[::1]:{self.sip_port}>"}
        self.assertIn(f"Contact: {contact[caller_ip]}", answer)
        self.assert_no_calls()
        self.assertEqual(self.sip_counter("Calls connected"), 1)

    def test_ipv6_caller_to_ipv6_callee(self):
        self.call(V6, V6)

    def test_ipv4_caller_to_ipv6_callee(self):
        self.call(V4, V6)

    def test_ipv6_caller_to_ipv4_callee(self):
        self.call(V6, V4)

    def test_an_ipv6_source_outside_the_trusted_list_is_refused(self):
        self.start_dual(V4, trusted="ipv4 127.0.0.1\n  ipv6 2001:db8::/32")
        run = self.caller(name="uac_reject", STATUS=403, local_ip=V6, remote_ip=V6, sdp_ip=V6,
                          CONTENT_TYPE="application/sdp",
                          BODY="v=0\no=a 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\nm=audio 6000 RTP/AVP 0")
        run.assert_ok(self)
        self.assertEqual(self.sip_counter("Rejected untrusted source (403)"), 1)
        self.assert_no_calls()


    def test_ipv4_caller_to_a_name_with_an_ipv6_ip_host(self):
        # `ip host` of IPv6 serves a SIP dns: target as it serves speech servers.
        self.call(V4, V6, target="dns:callee.v6.lab", globals_="ip host callee.v6.lab ::1")

    def test_a_name_whose_ipv6_address_refuses_falls_back_to_ipv4(self):
        # AAAA ::1 and A 127.0.0.1, from a name server on ::1. Nothing listens
        # on [::1]:PORT, so leg B's INVITE there fails at once; the same offer
        # goes to 127.0.0.1:PORT, and the caller sees only that call.
        dns = dns_server.Dnsmasq(self, ["callee.voxfork.test"], addresses=(V6, V4), listen=V6)
        d = self.start_dual(V4, target="dns:callee.voxfork.test", globals_=dns.config_line())
        self.assertTrue(dns_server.udp6_port_free(self.uas_port))
        uas = self.callee(END=part("uas_recv_bye"))
        uac = self.caller(STREAM=part("pause", MS=500))
        wait_all(self, uac, uas)
        d.wait_log(f"sip: call 1: [::1]:{self.uas_port} answered 503, trying 127.0.0.1")
        offer = uas.received("INVITE ")[0]
        self.assertTrue(offer.startswith(f"INVITE sip:6777@127.0.0.1:{self.uas_port} SIP/2.0"), offer[:120])
        self.assertIn("c=IN IP4 127.0.0.1", offer)
        self.assertNotIn("IP6", offer.split("\n\n", 1)[-1])
        self.assertEqual([m.split("\n", 1)[0] for m in uac.received("SIP/2.0 ")
                          if not m.startswith(("SIP/2.0 1", "SIP/2.0 2"))], [], "the caller saw no failure")
        self.assertEqual(self.sip_counter("Calls connected"), 1)
        self.assertEqual(self.sip_counter("Calls failed"), 0)
        self.assert_no_calls()

    def test_a_names_ipv6_address_routes_and_is_trusted_by_default(self):
        # No trusted list: the AAAA answer is the dial-peer's address, so the
        # callee may call in from ::1 as well; leg B goes out on IPv6.
        dns = dns_server.Dnsmasq(self, ["callee.voxfork.test"], addresses=(V6,), listen=V6)
        d = self.start_dual(V6, trusted=None, target="dns:callee.voxfork.test", globals_=dns.config_line())
        d.wait_log("session target callee.voxfork.test is ::1: trusted by default")
        uas = self.callee(END=part("uas_recv_bye"), local_ip=V6, sdp_ip=V6)
        uac = self.caller(STREAM=part("pause", MS=500), local_ip=V6, remote_ip=V6, sdp_ip=V6)
        wait_all(self, uac, uas)
        offer = uas.received("INVITE ")[0]
        self.assertTrue(offer.startswith(f"INVITE sip:6777@[::1]:{self.uas_port} SIP/2.0"), offer[:120])
        self.assertIn("c=IN IP6 ::1", offer)
        self.assertEqual(self.sip_counter("Rejected untrusted source (403)"), 0)
        self.assert_no_calls()

    def test_a_reloaded_ipv6_media_address_anchors_the_next_ipv6_offer(self):
        # SIP and RTP on IPv4 only: an offer in IPv6 finds no relay address of
        # its family (488, Warning 301). A reload that adds `bind media source-address ::1`
        # reaches the relay: the same offer is anchored on [::1].
        self.sip_port = harness.free_port(pair=True)
        self.uas_port = harness.free_port(pair=True)
        self.uac_port = harness.free_port(pair=True)
        text = daemon_config(self.sip_port, self.uas_port, rtp_base())
        d = self.daemon_ = self.daemon(text).start()
        offer6 = "v=0\no=a 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\nm=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000"
        run = self.reject(488, body=offer6)
        self.assertIn('301 sip-test "Incompatible network address format: IPv4 only"', run.received("SIP/2.0 488")[0])
        bind = "  bind control source-address 127.0.0.1\n"
        d.write_config(text.replace(bind, bind + "  bind media source-address ::1\n"))
        d.signal(signal.SIGHUP)
        d.wait_log("media: new calls' RTP on IPv4 127.0.0.1, IPv6 ::1 (calls up keep theirs)")
        self.assertNotIn("take effect at the next start", d.log())
        uas = self.callee(END=part("uas_recv_bye"))
        uac = self.caller(STREAM=part("pause", MS=500), sdp_ip=V6)
        wait_all(self, uac, uas)
        answer = uac.received("SIP/2.0 200")[0]
        self.assertIn("c=IN IP6 ::1", answer)
        self.assertIn("c=IN IP4 127.0.0.1", uas.received("INVITE ")[0])
        self.assert_no_calls()

        # An address this host does not have is refused; RTP stays where it was.
        d.write_config(text.replace(bind, bind + "  bind media source-address 2001:db8::7\n"))
        d.signal(signal.SIGHUP)
        d.wait_log("bind media source-address 2001:db8::7: not an address of this host: "
                   "RTP stays on IPv4 127.0.0.1, IPv6 ::1")


if __name__ == "__main__":
    harness.main()
