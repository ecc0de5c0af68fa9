"""The WebSocket pool's connection pipeline and send path, driven by ws-probe
against the reference speech server: the upgrade it sends, the frames, the
calls threshold, and each way the upgrade can fail."""

import json

import harness
from harness import LOOPBACK, free_port
from speech_server import SpeechServer
from ws_probe import WsProbe, profile_config


class PipelineTest(harness.Harness):
    def probe(self, config=None, name="probe"):
        return WsProbe(self, profile_config() if config is None else config, name=name)

    def test_upgrade_headers_and_frames(self):
        server = SpeechServer(self, token="e2238f3a-e43c-3f54-a05a-dd2e4bd4631f").start()
        p = self.probe().run(LOOPBACK, server.port, token="e2238f3a-e43c-3f54-a05a-dd2e4bd4631f",
                             profile=1, calls=1, frames=25, interval_ms=5, linger_ms=500)
        [a] = p.attaches()
        self.assertTrue(a["ok"], a)
        self.assertNotEqual(a["caller"], 0)
        self.assertNotEqual(a["callee"], a["caller"])
        [opened] = server.connections()
        self.assertEqual(opened["path"], "/v1/fork")
        self.assertEqual(opened["subprotocols"], "voxfork.v1")
        self.assertEqual(opened["token"], "e2238f3a-e43c-3f54-a05a-dd2e4bd4631f")
        self.assertTrue(opened["user_agent"].startswith("voxforkd/"), opened["user_agent"])
        self.assertEqual(opened["host"], f"{LOOPBACK}:{server.port}")
        frames = server.wait_events("frame", 50)
        caller = [f for f in frames if f["channel"] == a["caller"]]
        self.assertEqual([f["seq"] for f in caller], list(range(25)))
        self.assertEqual([f["position"] for f in caller], [160 * i for i in range(25)])
        self.assertTrue(all(f["length"] == 160 for f in frames))
        server.wait_events("control", 4)
        self.assertEqual([m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"])
        self.assertEqual(server.violations(), [])
        stats = p.stats()
        self.assertEqual(stats["Frames sent"], 50)
        self.assertEqual(stats["Bytes sent"], 50 * 172)
        self.assertEqual(stats["WebSocket connections created"], 1)
        self.assertIn("FORK_ET: TYPE = GLOBAL : WebSocket Connection creation successful for "
                      f"ws://{LOOPBACK}:{server.port}", p.log())
        raw = server.raw(a["caller"])
        self.assertEqual(len(raw), 25 * 160)
        self.assertEqual(raw[160 * 3], 0xff - 3)

    def test_no_token_no_authorization_header(self):
        server = SpeechServer(self).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1)
        self.assertTrue(p.attaches()[0]["ok"])
        self.assertIsNone(server.connections()[0]["authorization"])

    def test_seven_calls_threshold_three_give_three_three_one(self):
        server = SpeechServer(self).start()
        by_server = f"show voip stream-service server {LOOPBACK}:{server.port}"
        as_json = "show voip stream-service connection | json"
        p = self.probe().run(LOOPBACK, server.port, profile=1, calls=7, frames=5, interval_ms=2,
                             shows=["show voip stream-service connection", by_server, as_json], keep=True)
        attaches = p.attaches()
        self.assertTrue(all(a["ok"] for a in attaches), attaches)
        per_conn = {}
        for a in attaches:
            per_conn[a["connection"]] = per_conn.get(a["connection"], 0) + 1
        self.assertEqual(sorted(per_conn.values(), reverse=True), [3, 3, 1])
        channels = [c for a in attaches for c in (a["caller"], a["callee"])]
        self.assertEqual(len(set(channels)), 14)
        self.assertEqual(len(server.wait_events("open", 3)), 3)
        table = p.command_text("show voip stream-service connection")
        self.assertEqual(len(table.splitlines()), 4, table)
        self.assertIn("3/3", table)
        self.assertIn("1/1", table)
        self.assertEqual(p.command_text(by_server), table)
        data = json.loads(p.command_text(as_json))
        self.assertEqual(sorted(c["active_sessions"] for c in data["connections"]), [1, 3, 3])
        self.assertTrue(all(c["state"] == "Active" and c["auth_token"] == "none" for c in data["connections"]))
        self.assertEqual(server.violations(), [])

    def test_401_is_authentication_token_invalid(self):
        server = SpeechServer(self, token="right").start()
        p = self.probe().run(LOOPBACK, server.port, token="wrong", profile=1)
        self.assertEqual(p.reasons(), ["Authentication token invalid"])
        self.assertEqual(p.stats()["HTTP connection failures"], 1)
        self.assertEqual(p.stats()["TCP connection failures"], 0)
        log = p.log()
        self.assertIn(f"WebSocket Connection creation failed for ws://{LOOPBACK}:{server.port}", log)
        self.assertIn("FORK_ET: TYPE = GLOBAL : WebSocket Connection : 1 HTTP connection failures", log)
        self.assertIn("%SIP-3-STREAM_SERVICE: 1 HTTP connection failures", log)

    def test_403_is_authentication_token_invalid(self):
        server = SpeechServer(self, args=("--refuse-upgrade", 403)).start()
        self.assertEqual(self.probe().run(LOOPBACK, server.port, profile=1).reasons(),
                         ["Authentication token invalid"])

    def test_bad_upgrade_answers_are_connection_failed(self):
        for fault in (("--refuse-upgrade", 200), ("--refuse-upgrade", 500), ("--garbage-response",),
                      ("--bad-accept",)):
            with self.subTest(fault=fault):
                server = SpeechServer(self, args=fault, name="s" + str(abs(hash(fault)))).start()
                p = self.probe(name="p" + str(abs(hash(fault)))).run(LOOPBACK, server.port, profile=1)
                self.assertEqual(p.reasons(), ["Connection failed"])
                self.assertEqual(p.stats()["HTTP connection failures"], 1)
                self.assertEqual(p.stats()["WebSocket connections created"], 0)
                server.stop()

    def test_refused_port_is_a_tcp_failure(self):
        p = self.probe().run(LOOPBACK, free_port(), profile=1)
        self.assertEqual(p.reasons(), ["Connection failed"])
        self.assertEqual(p.stats()["TCP connection failures"], 1)
        self.assertEqual(p.stats()["HTTP connection failures"], 0)
        self.assertIn("%SIP-3-STREAM_SERVICE: 1 TCP connection failures", p.log())

    def test_ip_host_and_source_ip(self):
        server = SpeechServer(self).start()
        config = profile_config(extra=" source-ip 127.0.0.1\n", globals_="ip host speech.lab.example 127.0.0.1\n")
        p = self.probe(config).run("speech.lab.example", server.port, profile=1, keep=True,
                                   shows=["show voip stream-service connection id 1"])
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(server.connections()[0]["host"], f"speech.lab.example:{server.port}")
        detail = p.command_text("show voip stream-service connection id 1")
        self.assertIn(f"Server Address: {LOOPBACK}:{server.port}\n", detail)
        self.assertIn("Local Address: 127.0.0.1:", detail)
        self.assertIn("Secure: No\nTLS Version: none\nCipher Suite: none\nAuth Token: none\n", detail)


if __name__ == "__main__":
    harness.main()
