"""Every reason string of docs/controller.md from a real scenario: requests that fail
validation or state checks, calls that cannot be forked, and speech servers
that cannot be reached, refuse, close or drop the connection."""

import json
import os
import signal
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dns_server  # noqa: E402
import harness  # noqa: E402
from fork_support import (GUID, ForkTest, Steps, body, dialog, fork_config, multipart, pattern, raw_info,  # noqa: E402
                          received_requests, sdp, start, statuses, stop, update)
from harness import LOOPBACK, free_port  # noqa: E402
from sipp import wait_all  # noqa: E402

OTHER = "0000000000000000000000000000FFFF"


def error(reason, guid=GUID):
    status = {"status": "ERROR", "reason": reason}
    if guid:
        status["call-guid"] = guid
    return status


class Validation(ForkTest):
    def test_every_validation_and_state_reason_on_one_call(self):
        """docs/controller.md's steps 1-5 in turn; rejected requests leave the fork as it was."""
        self.start_fork_daemon()
        server = self.speech()
        port = server.port
        s = {"action": "START", "call-guid": GUID, "host": LOOPBACK, "port": port, "secure": False}
        cases = [
            ("not json at all", error("JSON parse failure", None)),
            ('"a string"', error("JSON parse failure", None)),
            (body({"action": "START", "host": LOOPBACK, "port": port}), error("Mandatory parameter missing in JSON", None)),
            (body({"call-guid": GUID}), error("Mandatory parameter missing in JSON")),
            (body({"action": "START", "call-guid": GUID, "port": port}), error("Mandatory parameter missing in JSON")),
            (body({"action": "START", "call-guid": GUID, "host": LOOPBACK}), error("Mandatory parameter missing in JSON")),
            (body({"action": "UPDATE", "call-guid": GUID}), error("Mandatory parameter missing in JSON")),
            (body({"action": "PAUSE", "call-guid": GUID}), error("Method not supported")),
            (body({**s, "action": "start"}), error("Method not supported")),
            (body({**s, "port": "8080"}), error("Unexpected format or content in JSON")),
            (body({**s, "port": 0}), error("Unexpected format or content in JSON")),
            (body({**s, "port": 65536}), error("Unexpected format or content in JSON")),
            (body({**s, "codec": "g729"}), error("Unexpected format or content in JSON")),
            (body({**s, "secure": "yes"}), error("Unexpected format or content in JSON")),
            (body({**s, "path": "v1/fork"}), error("Unexpected format or content in JSON")),
            (body({**s, "metadata": "agent=1001"}), error("Unexpected format or content in JSON")),
            (stop(), error("Invalid Stop Fork Request")),
            (update({"a": "b"}), error("Invalid Update Fork Request")),
            (body({**s, "unknown-field": 1}), {"call-guid": GUID, "status": "STARTED"}),  # unknown fields ignored
            (body(s), error("Invalid Start Fork Request")),
            (stop(OTHER), error("GUID Mismatch", OTHER)),
            (update({"a": "b"}, OTHER), error("GUID Mismatch", OTHER)),
            (update({"a": "b"}, port=port + 1), error("Unexpected format or content in JSON")),
        ]
        c = Steps()
        for text, expected in cases:
            c.info(text, expected["status"])
        # The carrier is INFO now: a STOP by re-INVITE is refused.
        c.reinvite(multipart(sdp(version=2), stop())).pause(800)
        c.info(stop(), "STOPPED").info(body(s), "STARTED").info(stop(), "STOPPED")
        agent = self.agent(Steps().accept_reinvite("a=sendrecv"))
        ctl = self.controller(c)
        wait_all(self, ctl, agent, timeout=60)
        got = statuses(ctl)
        expected = [e for _, e in cases]
        at = [e["status"] for e in expected].index("STARTED")
        started = got[at] if len(got) > at else {}
        self.assertEqual(set(started), {"call-guid", "status", "connection-id", "channels"}, ctl.report())
        expected[at] = started
        expected += [error("Method not supported"),
                     {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}]
        self.assertEqual(got[:len(expected)], expected, ctl.report())
        self.assertEqual([g["status"] for g in got[len(expected):]], ["STARTED", "STOPPED"])
        # The server saw two forks, nothing from the rejected requests.
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"] * 2)
        self.assertEqual(server.violations(), [])
        self.assert_no_calls()

    def test_empty_json_bodies_are_json_parse_failure(self):
        """A forking content type with no content is a forking request all the
        same: answered 200 (INFO), status ERROR `JSON parse failure`, and
        nothing is relayed to the agent; likewise an empty JSON part."""
        self.start_fork_daemon()
        server = self.speech()
        c = (Steps().info("", "ERROR")
             .reinvite(multipart(sdp(version=2), "")).pause(800))
        agent = self.agent(Steps().accept_reinvite("a=sendrecv"))
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [error("JSON parse failure", None)] * 2, ctl.report())
        self.assertEqual([h.get("content-type") for h, _ in received_requests(agent, "INFO")], [])
        self.assertEqual(server.connections(), [])

    def test_reinvite_carrier_refuses_info(self):
        self.start_fork_daemon()
        server = self.speech()
        c = (Steps().reinvite(multipart(sdp(version=2), start(server.port))).pause(800)
             .info(stop(), "ERROR")
             .reinvite(multipart(sdp(version=3), stop())).pause(800))
        agent = self.agent(Steps().accept_reinvite("a=sendrecv").accept_reinvite("a=sendrecv"))
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([g["status"] for g in got], ["STARTED", "ERROR", "STOPPED"], ctl.report())
        self.assertEqual(got[1], error("Method not supported"))

    def test_unsupported_flow_without_media_class(self):
        self.start_fork_daemon(fork_on=None)
        server = self.speech()
        agent = self.agent()
        ctl = self.controller(Steps().info(start(server.port), "ERROR"))
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [error("Unsupported flow")])
        self.assertEqual(server.connections(), [])

    def test_fork_enabled_by_the_inbound_dial_peer(self):
        self.start_fork_daemon(fork_on="in")
        server = self.speech()
        agent = self.agent()
        ctl = self.controller(Steps().info(start(server.port), "STARTED").info(stop(), "STOPPED"))
        wait_all(self, ctl, agent)
        self.assertEqual([g["status"] for g in statuses(ctl)], ["STARTED", "STOPPED"])

    def test_codec_not_supported_on_a_g729_call(self):
        self.start_fork_daemon()
        server = self.speech()
        agent = self.agent(pt=18, encoding="G729")
        ctl = self.controller(Steps().info(start(server.port), "ERROR"), offer="18 101", answer="RTP/AVP 18")
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [error("Codec is not supported")])
        self.assertEqual(server.connections(), [])


class Connecting(ForkTest):
    def one_start(self, json_text, **daemon):
        self.start_fork_daemon(**daemon)
        agent = self.agent()
        ctl = self.controller(Steps().info(json_text, "ERROR"))
        wait_all(self, ctl, agent)
        return statuses(ctl)

    def test_connection_failed_when_nothing_listens(self):
        self.assertEqual(self.one_start(start(free_port())), [error("Connection failed")])
        stats = self.statistics()
        self.assertEqual((stats["Forks failed"], stats["Forks active"], stats["TCP connection failures"]), (1, 0, 1))

    def test_stop_while_connecting_abandons_the_attempt(self):
        server = self.speech(args=("--upgrade-delay", 1500))
        self.start_fork_daemon()
        c = Steps().info(start(server.port)).info(stop(), "STOPPED").pause(2500)
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [{"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}])
        self.assertEqual(server.controls(), [], "nothing sent for an abandoned START")

    def test_reload_reaches_the_pool(self):
        """SIGHUP: connections opened after the reload follow the new file.
        The profile first goes through a proxy where nothing listens
        (`Connection failed`); the reloaded one connects directly."""
        server = self.speech()
        dead_proxy = free_port()
        d = self.start_fork_daemon(proxy=f"ip {LOOPBACK} port {dead_proxy}")
        # CSeq: the scenario's first INFO is 2, the test's own 5, the rest from 10.
        c = Steps().info(start(server.port), "ERROR").status("STARTED", timeout_ms=20000)
        c.cseq = 10
        c.info(stop(), "STOPPED")
        agent = self.agent()
        ctl = self.controller(c)
        harness.wait_for(lambda: self.statistics()["Forks failed"] == 1, what="the START through the dead proxy failed")
        d.write_config(fork_config(self.sip_port, self.uas_port))
        d.signal(signal.SIGHUP)
        d.wait_log("configuration reloaded")
        self.assertEqual(raw_info(self.sip_port, dialog(ctl), start(server.port), cseq=5), 200)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[0], error("Connection failed"), ctl.report())
        self.assertEqual([g["status"] for g in got[1:]], ["STARTED", "STOPPED"])
        self.assertEqual(self.statistics()["TCP connection failures"], 1)
        self.assertEqual(len(server.connections()), 1)

    def test_wrong_token_is_authentication_token_invalid(self):
        server = self.speech(token="right-token")
        self.start_fork_daemon()
        c = (Steps().info(start(server.port, token="wrong-token"), "ERROR")
             .info(start(server.port, token="right-token"), "STARTED").info(stop(), "STOPPED"))
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[0], error("Authentication token invalid"))
        self.assertEqual([g["status"] for g in got[1:]], ["STARTED", "STOPPED"])
        self.assertEqual([r["status"] for r in server.rejections()], [401])
        self.assertEqual(server.connections()[0]["token"], "right-token")

    def lost(self, server_args, reason, clear=False):
        server = self.speech(args=server_args)
        self.start_fork_daemon()
        caller_file, _ = pattern(self, "caller.ulaw", 5, packets=50)
        # The STOPPED comes at a moment the scenario does not know: SIPp's -aa answers it.
        c = Steps().info(start(server.port), "STARTED").stream(caller_file, ms=2000)
        agent = self.agent()
        ctl = self.controller(c)
        if clear:
            server.wait_events("control", 2, type="START")
            [row] = self.open_connections()
            self.daemon_.show(f"clear voip stream-service connection id {row[0]} forced")
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[1], {"call-guid": GUID, "status": "STOPPED", "reason": reason}, ctl.report())
        self.assertEqual(len(got), 2)
        self.assertEqual(self.statistics()["Forks active"], 0)
        self.assert_no_calls()
        return server

    def test_server_close_is_connection_closed(self):
        self.lost(("--close-after-frames", 10), "Connection closed")

    def test_clear_command_is_connection_closed(self):
        server = self.lost((), "Connection closed", clear=True)
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"]), ("client", 1000))

    def test_tcp_reset_is_tcp_connection_closed(self):
        self.lost(("--reset-after-frames", 10), "TCP Connection closed")

    def test_server_stop_is_connection_closed(self):
        server = self.lost(("--stop-channel-after-frames", 5), "Connection closed")
        stopped = server.wait_event("server-stop")["channel"]
        self.assert_arrives(lambda: [m["reason"] for m in server.messages("STOP")], ["Stopped by server"])
        stops = server.messages("STOP")
        self.assertNotEqual(stops[0]["channel"], stopped)


# A speech server that STOPs both channels of the first call back to back, in
# one TCP write, and logs every text message it gets and every connection's
# end (one JSON line each: {"conn": N, "msg": ...} or {"conn": N, "closed": code}).
STOP_BOTH_SERVER = textwrap.dedent("""
    import asyncio, itertools, json, sys
    import websockets

    port, log = int(sys.argv[1]), open(sys.argv[2], "w")
    ids = itertools.count(1)
    stopped = []

    def frame(text):
        data = text.encode()
        return bytes([0x81, len(data)]) + data  # unmasked, FIN, text; under 126 bytes

    def record(**fields):
        print(json.dumps(fields), file=log, flush=True)

    async def handler(ws, path=None):
        conn, starts = next(ids), []
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    continue
                record(conn=conn, msg=json.loads(message))
                m = json.loads(message)
                if m["type"] == "START":
                    starts.append(m["channel"])
                    if len(starts) == 2 and not stopped:
                        stopped.extend(starts)
                        ws.transport.write(b"".join(frame(json.dumps({"type": "STOP", "channel": c, "reason": "done"}))
                                                    for c in starts))
        except websockets.ConnectionClosed:
            pass
        record(conn=conn, closed=ws.close_code)

    async def main():
        async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["voxfork.v1"]):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())
""")


class ServerStop(ForkTest):
    def test_server_stopping_both_channels_gets_no_stop_back(self):
        """docs/speech-server-protocol.md: voxforkd answers STOP `Stopped by server` only for the
        channels the server did not stop itself. Handled STOPs leave the
        connection open: the next fork of the call goes over it and is
        stopped the usual way (a crashed handler would have closed it)."""
        port = free_port()
        script = os.path.join(self.tmpdir, "stop_both.py")
        with open(script, "w") as f:
            f.write(STOP_BOTH_SERVER)
        log = os.path.join(self.tmpdir, "stop_both.log")
        proc = self.spawn(["/usr/bin/python3", script, str(port), log], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, cwd=self.tmpdir)
        self.assertEqual(proc.stdout.readline().strip(), b"ready")
        self.start_fork_daemon()
        caller_file, _ = pattern(self, "caller.ulaw", 5, packets=50)
        c = (Steps().info(start(port), "STARTED").status("STOPPED")
             .info(start(port), "STARTED").stream(caller_file, ms=600).info(stop(), "STOPPED"))
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([g["status"] for g in got], ["STARTED", "STOPPED", "STARTED", "STOPPED"], ctl.report())
        self.assertEqual(got[1], {"call-guid": GUID, "status": "STOPPED", "reason": "Connection closed"})
        self.assertEqual(got[3], {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"})
        self.assertEqual(got[2]["connection-id"], got[0]["connection-id"], "the second fork reused the connection")
        with open(log) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        first, second = got[0]["channels"], got[2]["channels"]
        self.assertEqual([(l["conn"], l["msg"]["type"], l["msg"]["channel"]) for l in lines if "msg" in l],
                         [(1, "START", first["caller"]), (1, "START", first["callee"]),
                          (1, "START", second["caller"]), (1, "START", second["callee"]),
                          (1, "STOP", second["caller"]), (1, "STOP", second["callee"])],
                         "no STOP back for the channels the server stopped; the connection carried on")
        self.assertEqual([l for l in lines if "closed" in l], [], "the connection stayed open")
        self.assertEqual(len(self.open_connections()), 1)
        self.assertNotIn("remote close", self.daemon_.show("show voip stream-service connection history"))
        self.assertEqual(self.statistics()["Forks active"], 0)


class Names(ForkTest):
    def setUp(self):
        super().setUp()
        self.dns = dns_server.Dnsmasq(self, ["asr.voxfork.test"])
        self.dns_port = self.dns.port

    def test_name_resolves_then_unknown_name_is_dns_lookup_failed(self):
        server = self.speech()
        self.start_fork_daemon(name_server=f"{LOOPBACK}:{self.dns_port}")
        c = (Steps().info(start(free_port(), host="nosuch.voxfork.test"), "ERROR")
             .info(start(server.port, host="asr.voxfork.test"), "STARTED").info(stop(), "STOPPED"))
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[0], error("DNS lookup failed"))
        self.assertEqual([g["status"] for g in got[1:]], ["STARTED", "STOPPED"])
        self.assertEqual(server.connections()[0]["host"], f"asr.voxfork.test:{server.port}")

    def test_unknown_proxy_name_is_proxy_dns_lookup_failed(self):
        self.start_fork_daemon(name_server=f"{LOOPBACK}:{self.dns_port}",
                               proxy="host noproxy.voxfork.test port 3128")
        agent = self.agent()
        ctl = self.controller(Steps().info(start(free_port()), "ERROR"))
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [error("Proxy DNS lookup failed")])


if __name__ == "__main__":
    harness.main()
