"""Name resolution of the WebSocket pool through c-ares and the configured
`ip name-server` (a dnsmasq on loopback): a name that resolves connects, an
unknown name fails the START with `DNS lookup failed`, and a proxy name that
does not resolve gives `Proxy DNS lookup failed`."""

import os
import shutil
import unittest

import harness
from harness import LOOPBACK, free_port, wait_for
from speech_server import SpeechServer
from ws_probe import WsProbe, profile_config

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


@unittest.skipUnless(os.path.exists(DNSMASQ), "dnsmasq not installed")
class DnsTest(harness.Harness):
    def setUp(self):
        super().setUp()
        hosts = os.path.join(self.tmpdir, "hosts")
        with open(hosts, "w") as f:
            f.write(f"{LOOPBACK} asr.voxfork.test\n")
        self.dns_port = free_port(kind=__import__("socket").SOCK_DGRAM)
        log = open(os.path.join(self.tmpdir, "dnsmasq.log"), "wb")
        self.dns = self.spawn([DNSMASQ, "-k", "-p", str(self.dns_port), f"--listen-address={LOOPBACK}",
                               "--bind-interfaces", "--no-resolv", "--no-hosts", f"--addn-hosts={hosts}",
                               "--local=/test/", "--user=", "--pid-file=", "--log-facility=-"],
                              stdout=log, stderr=log)
        log.close()
        wait_for(lambda: self.dns.poll() is not None or self._answers(), 10, what="dnsmasq")
        self.assertIsNone(self.dns.poll(), "dnsmasq exited")

    def _answers(self):
        import socket
        # A minimal A query for asr.voxfork.test.
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        for label in b"asr.voxfork.test".split(b"."):
            q += bytes([len(label)]) + label
        q += b"\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(q, (LOOPBACK, self.dns_port))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False

    def config(self, extra=""):
        return profile_config(extra=extra, globals_=f"ip name-server {LOOPBACK}:{self.dns_port}\n")

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
