"""wss:// through the pool: the trustpoint's CA, SNI and the name check for
names, none for IP literals, TLS 1.2 unless the profile allows 1.3, and the
profile's cipher suites. Only a good certificate connects; a wrong name, a
wrong CA or an expired certificate fail with `Connection failed` (an HTTP
connection failure: TCP was established)."""

import os
import subprocess

import harness
from harness import LOOPBACK
from speech_server import SpeechServer, make_tls_files
from ws_probe import WsProbe, profile_config

NAME = "asr.voxfork.test"


def expired_copy(tls, directory):
    """The same key re-signed by the same CA with a validity that has ended."""
    csr, cert = os.path.join(directory, "expired.csr"), os.path.join(directory, "expired.pem")
    subprocess.run(["openssl", "req", "-new", "-key", tls.key, "-out", csr, "-subj", f"/CN={NAME}"],
                   check=True, capture_output=True)
    ext = os.path.join(directory, "expired.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{NAME},IP:{LOOPBACK}\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", tls.ca, "-CAkey", tls.ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "-1", "-extfile", ext], check=True, capture_output=True)
    return tls._replace(cert=cert)


class TlsTest(harness.Harness):
    def setUp(self):
        super().setUp()
        self.tls = make_tls_files(self.tmpdir, names=(NAME,), ips=(LOOPBACK,))

    def config(self, ca, extra="", threshold=3):
        return profile_config(
            threshold=threshold,
            extra=extra,
            globals_=(f"ip host {NAME} {LOOPBACK}\nip host wrong.voxfork.test {LOOPBACK}\n"
                      f"crypto pki trustpoint ws\n enrollment terminal\n ca-file {ca}\n"
                      "http client secure-trustpoint ws\n"))

    def run_probe(self, server, host, ca=None, extra="", name="probe", threshold=3, **kwargs):
        return WsProbe(self, self.config(ca or self.tls.ca, extra, threshold), name=name).run(
            host, server.port, secure=True, profile=1, **kwargs)

    def test_good_certificate_by_name(self):
        server = SpeechServer(self, tls=self.tls).start()
        p = self.run_probe(server, NAME, frames=5, interval_ms=2, keep=True, token="abcdefghijkl",
                           shows=["show voip stream-service connection id 1"])
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        opened = server.connections()[0]
        self.assertEqual(opened["sni"], NAME)
        self.assertEqual(opened["tls_version"], "TLSv1.2")
        detail = p.command_text("show voip stream-service connection id 1")
        self.assertIn("Secure: Yes\nTLS Version: TLS1.2\n", detail)
        self.assertIn(f"Cipher Suite: {opened['cipher']}\n", detail)
        self.assertIn("Auth Token: abcdefgh****\n", detail)
        self.assertIn(f"creation successful for wss://{NAME}:{server.port}", p.log())
        self.assertEqual(len(server.wait_events("frame", 10)), 10)

    def test_ip_literal_gets_no_sni_and_no_name_check(self):
        server = SpeechServer(self, tls=self.tls).start()
        p = self.run_probe(server, LOOPBACK)
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertIsNone(server.connections()[0]["sni"])

    def test_wrong_name_wrong_ca_and_expired_fail(self):
        other = make_tls_files(self.tmpdir, names=(NAME,), prefix="other")
        expired = expired_copy(self.tls, self.tmpdir)
        cases = {
            "wrong name": (self.tls, "wrong.voxfork.test", self.tls.ca),
            "wrong CA": (self.tls, NAME, other.ca),
            "expired": (expired, NAME, self.tls.ca),
        }
        for label, (files, host, ca) in cases.items():
            with self.subTest(label):
                server = SpeechServer(self, tls=files, name=label.replace(" ", "-")).start()
                p = self.run_probe(server, host, ca=ca, name=label.replace(" ", "-"))
                self.assertEqual(p.reasons(), ["Connection failed"])
                self.assertEqual(p.stats()["HTTP connection failures"], 1)
                self.assertEqual(p.stats()["TCP connection failures"], 0)
                self.assertEqual(server.connections(), [])
                server.stop()

    def test_tls13_only_when_the_profile_allows_it(self):
        server = SpeechServer(self, tls=self.tls, args=("--tls-min", "1.3")).start()
        p = self.run_probe(server, NAME, name="p12")
        self.assertEqual(p.reasons(), ["Connection failed"])
        p = self.run_probe(server, NAME, extra=" tls-version 1.2 1.3\n", name="p13")
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(server.connections()[0]["tls_version"], "TLSv1.3")

    def test_profile_cipher_suites(self):
        server = SpeechServer(self, tls=self.tls, args=("--ciphers", "ECDHE-RSA-AES128-SHA256")).start()
        p = self.run_probe(server, NAME, extra=" secure-ciphersuite ecdhe-rsa-aes-gcm-sha2\n", name="gcm")
        self.assertEqual(p.reasons(), ["Connection failed"])
        p = self.run_probe(server, NAME, extra=" secure-ciphersuite ecdhe-rsa-aes-cbc-sha2\n", name="cbc")
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(server.connections()[0]["cipher"], "ECDHE-RSA-AES128-SHA256")

    def test_server_that_stops_reading_is_dropped_with_a_write_in_flight(self):
        # The batch's TLS write to a server that stopped reading stays pending
        # until the dead-connection timer (60 s, here 1 s) drops the connection:
        # the connection must outlive that write (the sanitizer build checks).
        server = SpeechServer(self, tls=self.tls, args=("--stop-reading-after-frames", 1, "--rcvbuf", 4096)).start()
        # 20 calls on one connection at 1 ms: 7 MB/s, which fills the socket's
        # buffers (4 MiB at most) and the write batch before the timer fires.
        p = self.run_probe(server, NAME, threshold=20, calls=20, frames=3000, interval_ms=1, time_scale=30,
                           linger_ms=1000, timeout=90)
        self.assertTrue(all(a["ok"] for a in p.attaches()), p.log())
        lost = p.events("connection_lost")
        self.assertEqual(len(lost), 20, p.log())
        self.assertEqual({e["reason"] for e in lost}, {"TCP Connection closed"})
        stats = p.stats()
        self.assertEqual(stats["TCP closures"], 1)
        self.assertGreater(stats["Frames dropped"], 0, stats)  # so the write was stuck


if __name__ == "__main__":
    harness.main()
