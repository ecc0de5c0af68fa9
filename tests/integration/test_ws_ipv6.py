"""Speech servers over IPv6, through the real daemon, SIPp and the reference
speech server on ::1: a START to `[::1]` and to a bare `::1` forks the call's
audio byte-exact, the upgrade names the server `[::1]:PORT`, and the shows
(and `| json`) print it in brackets; a name with AAAA and A records (dnsmasq)
is tried IPv6 first, and when the IPv6 address refuses the IPv4 one carries
the fork; when both listen, IPv6 wins. `ip host` and `source-ip` take ::1
(shown back canonical in running-config and its json), and `--check` names
each bad IPv6 value with its line."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dns_server  # noqa: E402
import harness  # noqa: E402
from fork_support import GUID, ForkTest, Steps, pattern, start, statuses, stop  # noqa: E402
from harness import LOOPBACK  # noqa: E402
from sipp import wait_all  # noqa: E402

NAME = "asr6.voxfork.test"


class Ipv6Fork(ForkTest):
    def fork_call(self, host, port):
        """One call forked to host:port; returns the caller's and callee's
        bytes, the channels of the STARTED status and the daemon's shows
        taken while the connection was open."""
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 21, packets=15)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 22, packets=15)
        # SIPp reads [..] in a scenario as a keyword: the brackets travel as
        # JSON escapes, which voxforkd's parser turns back into "[::1]".
        body = start(port, host=host).replace("[", "\\u005b").replace("]", "\\u005d")
        c = (Steps().info(body, "STARTED").sync()
             .stream(caller_file, ms=0).wait_sync().info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        starts = self.server.wait_events("control", 2, type="START")
        # The STOP waits until the speech server has every frame of both sides.
        for start_event, sent in zip(starts, (caller_bytes, callee_bytes)):
            self.assert_channel_audio(self.server, start_event["channel"], sent)
        shows = {
            "table": self.daemon_.show("show voip stream-service connection"),
            "json": json.loads(self.daemon_.show("show voip stream-service connection | json")),
        }
        [row] = self.open_connections()
        shows["detail"] = self.daemon_.show(f"show voip stream-service connection id {row[0]}")
        shows["server"] = self.daemon_.show(f"show voip stream-service server {self.server.host_port}")
        self.release(agent)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([g["status"] for g in got], ["STARTED", "STOPPED"], ctl.report())
        self.assertEqual(got[0]["call-guid"], GUID)
        ch = got[0]["channels"]
        self.assertEqual([s["channel"] for s in starts], [ch["caller"], ch["callee"]])
        self.assertEqual(self.server.violations(), [])
        self.assert_no_calls()
        return shows

    def assert_shows_name(self, shows, server_address):
        self.assertIn(server_address, shows["table"].split(), shows["table"])
        self.assertIn(f"Server Address: {server_address}", shows["detail"].splitlines())
        local = [line for line in shows["detail"].splitlines() if line.startswith("Local Address: ")]
        self.assertTrue(local and local[0].startswith("Local Address: [::1]:"), shows["detail"])
        data = shows["json"]
        rows = data if isinstance(data, list) else data.get("connections", data)
        self.assertEqual([r["server"] for r in rows], [server_address], data)
        self.assertTrue(rows[0]["local"].startswith("[::1]:"), data)
        self.assertIn(server_address, shows["server"], "show ... server finds it")

    def test_fork_to_a_bracketed_literal(self):
        d = self.start_fork_daemon()
        self.server = self.speech(listen="[::1]:0")
        shows = self.fork_call("[::1]", self.server.port)
        address = f"[::1]:{self.server.port}"
        self.assert_shows_name(shows, address)
        [opened] = self.server.connections()
        self.assertEqual(opened["host"], address, "Host header of the upgrade")
        self.assertIn(f"WebSocket Connection creation successful for ws://{address}", d.log())

    def test_fork_to_a_bare_literal(self):
        self.start_fork_daemon()
        self.server = self.speech(listen="[::1]:0")
        shows = self.fork_call("::1", self.server.port)
        address = f"[::1]:{self.server.port}"
        self.assert_shows_name(shows, address)
        self.assertEqual(self.server.connections()[0]["host"], address)

    def test_name_whose_ipv6_address_refuses_falls_back_to_ipv4(self):
        dns = dns_server.Dnsmasq(self, [NAME], addresses=("::1", LOOPBACK))
        d = self.start_fork_daemon(extra=dns.config_line())
        # Only 127.0.0.1 listens on the port: [::1] refuses, and is tried first.
        self.server = self.speech(listen=f"{LOOPBACK}:0")
        port = self.server.port
        shows = self.fork_call(NAME, port)
        self.assertIn(f"Server Address: {LOOPBACK}:{port}", shows["detail"].splitlines())
        self.assertEqual(self.server.connections()[0]["host"], f"{NAME}:{port}")
        log = d.log()
        self.assertIn(f"ws: connecting to [::1]:{port} failed", log)
        self.assertIn(f"ws: {LOOPBACK}:{port} connected after 1 address(es) failed", log)
        self.assertEqual(self.statistics()["TCP connection failures"], 0, "the fork did not fail")

    def test_name_with_both_families_listening_prefers_ipv6(self):
        dns = dns_server.Dnsmasq(self, [NAME], addresses=(LOOPBACK, "::1"))
        self.start_fork_daemon(extra=dns.config_line())
        self.server = self.speech(listen="[::1]:0")
        # The same port on 127.0.0.1, recording elsewhere: it must stay unused.
        v4 = self.speech(name="v4", listen=f"{LOOPBACK}:{self.server.port}")
        shows = self.fork_call(NAME, self.server.port)
        self.assertIn(f"Server Address: [::1]:{self.server.port}", shows["detail"].splitlines())
        self.assertEqual(v4.connections(), [], "IPv4 was not needed")

    def test_ipv6_source_ip_and_ip_host(self):
        """`ip host` to ::1 and `source-ip ::1`: the fork goes out from ::1;
        running-config and its json give the IPv6 values back canonical."""
        d = self.start_fork_daemon(extra=f"ip host {NAME} 0:0::1\n", profile_lines=(" source-ip 0::1",))
        self.server = self.speech(listen="[::1]:0")
        shows = self.fork_call(NAME, self.server.port)
        self.assertIn(f"Server Address: [::1]:{self.server.port}", shows["detail"].splitlines())
        self.assertEqual(self.server.connections()[0]["host"], f"{NAME}:{self.server.port}")
        running = d.show("show running-config").splitlines()
        self.assertIn(f"ip host {NAME} ::1", running)
        self.assertIn(" source-ip ::1", running)
        data = json.loads(d.show("show running-config | json"))
        self.assertEqual(data["ip_hosts"], {NAME: "::1"})
        self.assertEqual([p["source_ip"] for p in data["media_profiles"]], ["::1"])


class Ipv6ConfigCheck(ForkTest):
    def test_ipv6_values_pass_and_bad_ones_are_named_with_their_lines(self):
        good = ("ip host a.test ::1\nip host b.test 2001:DB8::1\n"
                "media profile stream-service 1\n proxy ip ::1 port 3128\n source-ip ::1\n")
        self.assertEqual(self.check_config(good), (0, "configuration OK\n", []))
        code, out, errors = self.check_config("ip host a.test [::1]\nmedia profile stream-service 1\n"
                                       " proxy ip fe80::1%lo port 3128\n source-ip 1::2::3\n")
        self.assertEqual((code, out), (1, ""))
        expected = " (expected an IPv4 or IPv6 address like 127.0.0.1 or ::1)"
        self.assertEqual(errors, [
            '1: invalid ADDR "[::1]" for "ip host"' + expected,
            '3: invalid ADDR "fe80::1%lo" for "proxy"' + expected,
            '4: invalid ADDR "1::2::3" for "source-ip"' + expected,
        ])


if __name__ == "__main__":
    harness.main()
