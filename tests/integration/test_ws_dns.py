"""Name resolution of the WebSocket pool through c-ares and the configured
`ip name-server` (a dnsmasq on loopback): a name that resolves connects, an
unknown name fails the START with `DNS lookup failed`, and a proxy name that
does not resolve gives `Proxy DNS lookup failed`."""


import dns_server
import harness
from harness import LOOPBACK, free_port
from speech_server import SpeechServer
from ws_probe import WsProbe, profile_config


class DnsTest(harness.Harness):
    def setUp(self):
        super().setUp()
        self.dns = dns_server.Dnsmasq(self, ["asr.voxfork.test"])

    def config(self, extra=""):
        return profile_config(extra=extra, globals_=self.dns.config_line())

    def test_name_resolves_through_the_name_server(self):
        server = SpeechServer(self).start()
        p = WsProbe(self, self.config()).run("asr.voxfork.test", server.port, profile=1)
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(server.connections()[0]["host"], f"asr.voxfork.test:{server.port}")

    def test_unknown_name_is_dns_lookup_failed(self):
        p = WsProbe(self, self.config()).run("nosuch.voxfork.test", free_port(), profile=1)
        self.assertEqual(p.reasons(), ["DNS lookup failed"])
        self.assertIn("WebSocket Connection creation failed for ws://nosuch.voxfork.test:", p.log())

    def test_unknown_proxy_name_is_proxy_dns_lookup_failed(self):
        p = WsProbe(self, self.config(" proxy host noproxy.voxfork.test port 3128\n")).run(
            LOOPBACK, free_port(), profile=1)
        self.assertEqual(p.reasons(), ["Proxy DNS lookup failed"])


if __name__ == "__main__":
    harness.main()
