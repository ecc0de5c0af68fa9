"""`session target dns:` through c-ares and the configured `ip name-server`
(a dnsmasq on loopback), as the WebSocket pool resolves: a name the server
knows routes the call, and with no trusted list its address is trusted; a
name it does not know fails the call with 500 (not 503: a broken route is
no overload, see docs/sip.md)."""


import dns_server
import harness
from sipp import SipTest, wait_all


class SipDnsTest(SipTest):
    def setUp(self):
        super().setUp()
        self.dns = dns_server.Dnsmasq(self, ["callee.voxfork.test"])

    def test_dns_target_resolves_through_the_name_server(self):
        # Not in /etc/hosts nor any system resolver: only the name server knows it.
        self.start_daemon(target_host="dns:callee.voxfork.test", globals_=self.dns.config_line())
        uas = self.callee()
        uac = self.caller()
        wait_all(self, uac, uas)
        self.assertIn("INVITE sip:6777@127.0.0.1", uas.messages())

    def test_dns_target_is_trusted_by_default(self):
        # No trusted list: the target's address, as the name server gives it,
        # may send INVITEs (SIPp's caller is on 127.0.0.1 too).
        daemon = self.start_daemon(target_host="dns:callee.voxfork.test", globals_=self.dns.config_line(),
                                   trusted=None)
        daemon.wait_log("session target callee.voxfork.test is 127.0.0.1: trusted by default")
        uas = self.callee()
        uac = self.caller()
        wait_all(self, uac, uas)
        self.assertEqual(self.sip_counter("Rejected untrusted source (403)"), 0)

    def test_unknown_dns_target_is_500(self):
        self.start_daemon(target_host="dns:nosuch.voxfork.test", globals_=self.dns.config_line())
        self.reject(500)
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
