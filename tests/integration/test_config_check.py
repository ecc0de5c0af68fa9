"""`voxforkd --check` looks past the syntax: the CA file a trustpoint names
must exist, be a readable file and hold a certificate; the SIP port must not
lie in the RTP port range; references to profiles, classes and trustpoints
must resolve. Every problem comes with its line, and nothing is started."""

import os

from harness import Harness

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class ConfigCheckTest(Harness):

    def file(self, name, content):
        path = os.path.join(self.tmpdir, name)
        with open(path, "w") as f:
            f.write(content)
        return path

    def trustpoints(self, **ca_files):
        return "".join(f"crypto pki trustpoint {name}\n enrollment terminal\n ca-file {path}\n!\n"
                       for name, path in ca_files.items())

    def test_a_good_file_with_a_readable_ca_passes(self):
        ca = self.file("ca.pem", PEM)
        code, out, errors = self.check_config(self.trustpoints(ws=ca) + "http client secure-trustpoint ws\n")
        self.assertEqual((code, out, errors), (0, "configuration OK\n", []))

    def test_each_bad_ca_file_is_named_with_its_line(self):
        missing = os.path.join(self.tmpdir, "missing.pem")
        empty = self.file("empty.pem", "not a certificate\n")
        text = ("hostname lab\n!\n" + self.trustpoints(gone=missing, folder=self.tmpdir, blank=empty))
        code, out, errors = self.check_config(text)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertEqual(errors, [
            f"5: trustpoint gone: ca-file {missing}: No such file or directory",
            f"9: trustpoint folder: ca-file {self.tmpdir}: not a regular file",
            f"13: trustpoint blank: ca-file {empty}: holds no PEM certificate",
        ])

    def test_the_sip_port_inside_the_rtp_range_is_refused_at_its_line(self):
        code, _, errors = self.check_config("voice service voip\n rtp-port range 20000 29999\n sip\n"
                                     "  bind control source-address 127.0.0.1\n  listen-port non-secure 20010\n")
        self.assertEqual(code, 1)
        self.assertEqual(errors, ["5: SIP port 20010 lies in the RTP and RTCP ports 20000-29999 on 127.0.0.1"])
        # The default SIP port; RTCP uses the odd port above the top of the range.
        code, _, errors = self.check_config("voice service voip\n rtp-port range 4000 5060\n")
        self.assertEqual(errors, ["2: SIP port 5060 lies in the RTP and RTCP ports 4000-5061 on 127.0.0.1"])
        self.assertEqual(code, 1)
        code, _, errors = self.check_config("voice service voip\n rtp-port range 4000 5059\n")
        self.assertEqual((code, errors), (0, []))
        # Different addresses share no ports.
        code, _, errors = self.check_config("voice service voip\n rtp-port range 20000 29999\n sip\n"
                                     "  bind media source-address 127.0.0.2\n  listen-port non-secure 20010\n")
        self.assertEqual((code, errors), (0, []))

    def test_each_family_is_checked_on_its_own_addresses(self):
        base = "voice service voip\n rtp-port range 20000 29999\n sip\n  bind media source-address 127.0.0.2\n"
        # IPv4: different addresses; IPv6: the media address is the control one (::1).
        code, _, errors = self.check_config(base + "  bind control source-address ::1\n  listen-port non-secure 20010\n")
        self.assertEqual((code, errors), (1, ["6: SIP port 20010 lies in the RTP and RTCP ports 20000-29999 on ::1"]))
        code, _, errors = self.check_config(base + "  bind control source-address ::1\n  bind media source-address ::2\n"
                                     "  listen-port non-secure 20010\n")
        self.assertEqual((code, errors), (0, []))

    def test_bad_ipv6_addresses_and_targets_are_named_with_their_lines(self):
        code, out, errors = self.check_config("voice service voip\n sip\n  bind control source-address [::1]\n"
                                       "  bind media source-address ::1\n!\n"
                                       "dial-peer voice 1 voip\n session target ipv6:::1\n"
                                       " session target ipv6:[::1]:99999\n session target ipv6:[::1]:7060\n")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(errors, [
            '3: invalid ADDR "[::1]" for "bind control source-address" (expected an IPv4 or IPv6 address like '
            '127.0.0.1 or ::1)',
            '7: invalid target "ipv6:::1" for "session target": expected ipv6:[ADDR][:PORT], the address in brackets',
            '8: invalid target "ipv6:[::1]:99999" for "session target": PORT must be 1-65535',
        ])

    def test_ipv6_name_servers_pass_and_bad_ones_are_named_with_their_lines(self):
        code, _, errors = self.check_config("ip name-server ::1 [::1]:5353 127.0.0.1:53\n")
        self.assertEqual((code, errors), (0, []))
        code, _, errors = self.check_config("hostname a\nip name-server [::1]5353\nip name-server [::1]:0 [::1\n")
        self.assertEqual(code, 1)
        expected = "(expected ADDR or ADDR:PORT, an IPv6 ADDR in brackets when a PORT follows, PORT 1-65535)"
        self.assertEqual(errors, [
            f'2: invalid name server "[::1]5353" for "ip name-server" {expected}',
            f'3: invalid name server "[::1]:0" for "ip name-server" {expected}',
            f'3: invalid name server "[::1" for "ip name-server" {expected}',
        ])

    def test_an_ipv6_target_needs_an_ipv6_media_address(self):
        peer = "dial-peer voice 5 voip\n destination-pattern 6000\n session target ipv6:[::1]:7060\n"
        code, _, errors = self.check_config(peer)
        self.assertEqual((code, errors), (1, [
            "3: dial-peer 5: session target ipv6:[::1]:7060 needs an IPv6 media address (bind media "
            "source-address or bind control source-address with an IPv6 address)"]))
        code, _, errors = self.check_config("voice service voip\n sip\n  bind media source-address ::1\n!\n" + peer)
        self.assertEqual((code, errors), (0, []))

    def test_a_metrics_port_on_the_sip_port_or_in_the_rtp_range_is_refused(self):
        code, _, errors = self.check_config("voice service voip\n rtp-port range 20000 29999\n!\nmetrics listen 127.0.0.1:5060\n")
        self.assertEqual((code, errors), (1, ["4: metrics port 5060 is the SIP port on 127.0.0.1"]))
        code, _, errors = self.check_config("voice service voip\n rtp-port range 20000 29999\n!\nmetrics listen 0.0.0.0:20001\n")
        self.assertEqual((code, errors), (1, ["4: metrics port 20001 lies in the RTP and RTCP ports 20000-29999 on 127.0.0.1"]))
        code, _, errors = self.check_config("metrics listen 127.0.0.2:5060\n")
        self.assertEqual((code, errors), (0, []))

    def test_references_to_missing_blocks_are_errors_with_their_lines(self):
        code, _, errors = self.check_config("media class 9\n stream-service profile 99\n!\n"
                                     "dial-peer voice 1 voip\n media-class 7\n!\n"
                                     "http client secure-trustpoint nowhere\n")
        self.assertEqual(code, 1)
        self.assertEqual([e.split(":")[0] for e in errors], ["2", "5", "7"], errors)

    def test_the_shipped_configurations_pass(self):
        for sample in ("config/voxforkd.conf", "config/host/voxforkd.conf"):
            with open(os.path.join(os.environ.get("VOXFORK_SOURCE_DIR", "."), sample)) as f:
                code, out, errors = self.check_config(f.read())
            self.assertEqual((code, out, errors), (0, "configuration OK\n", []), sample)


if __name__ == "__main__":
    import harness
    harness.main()
