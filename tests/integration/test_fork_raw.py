"""Forks in the `raw` protocol (bare G.711 for streaming speech-to-text), end to
end through SIP: a SIPp controller asks for the fork, the agent answers, a raw
speech server records every WebSocket. Checked: the status INFOs, the upgrade
(path with channel=, Authorization with the profile's scheme, no
subprotocol), every audio byte of each channel in 20 ms frames with silence
where a party sent nothing, interleaving, the stop message and close 1000."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import GUID, ForkTest, Steps, pattern, start, statuses, stop  # noqa: E402
from raw_server import RawServer  # noqa: E402
from harness import wait_for  # noqa: E402
from sipp import wait_all  # noqa: E402

STOP_MESSAGE = '{"type":"end"}'


class RawFork(ForkTest):
    def raw_call(self, layout):
        """START with a token, both parties stream their own pattern, STOP."""
        self.start_fork_daemon(profile_lines=[" protocol raw", f" raw layout {layout}", " raw auth-scheme Token",
                                              f" raw stop-message {STOP_MESSAGE}"])
        server = RawServer(self, reply=True).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2)
        c = (Steps().info(start(server.port, path="/v2/listen?lang=en", token="tok-1"), "STARTED")
             .sync().stream(caller_file, ms=1500).info(stop(), "STOPPED").pause(300))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        # While it runs: the call's fork names its protocol, its connections
        # and the server's latest transcript.
        wait_for(lambda: self.fork_column() == ["active", "active"], what="the fork active")
        anchor = self.anchor()
        view = wait_for(lambda: (lambda v: v if "Latest from the server: " in v else None)(
            self.daemon_.cli("show", "voip", "stream-service", "callid", str(anchor))[1]), 10,
            what="the server's text in the callid view")
        self.assertIn("Protocol: raw\n", view)
        self.assertRegex(view, r"Connections: \d+( \d+)?\n")
        self.assertIn('{"transcript": "frame ', view)
        wait_all(self, ctl, agent)
        [started, stopped] = statuses(ctl)
        self.assertEqual((started["status"], started["call-guid"]), ("STARTED", GUID))
        self.assertEqual(set(started["channels"]), {"caller", "callee"})
        self.assertEqual(stopped, {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"})
        conns = server.wait_closed(1 if layout == "interleaved" else 2)
        for conn in conns:
            self.assertEqual(conn.headers.get("authorization"), "Token tok-1")
            self.assertNotIn("sec-websocket-protocol", conn.headers)
            self.assertEqual(conn.texts, [STOP_MESSAGE], "the stop message, then the close")
            self.assertEqual(conn.close_code, 1000)
        stats = self.statistics()
        self.assertEqual((stats["Forks started"], stats["Forks active"], stats["Frames dropped"]), (1, 0, 0))
        self.assert_no_calls()
        return conns, caller_bytes, callee_bytes

    def test_separate_layout_one_websocket_per_channel(self):
        conns, caller_bytes, callee_bytes = self.raw_call("separate")
        by_path = {c.path: c for c in conns}
        self.assertEqual(set(by_path), {"/v2/listen?lang=en&channel=caller", "/v2/listen?lang=en&channel=callee"})
        for path, sent in (("/v2/listen?lang=en&channel=caller", caller_bytes),
                           ("/v2/listen?lang=en&channel=callee", callee_bytes)):
            conn = by_path[path]
            self.assertEqual({len(f) for f in conn.frames}, {160}, "20 ms of G.711 a frame")
            self.assert_paced_audio(conn.audio(), sent, path)

    def test_separate_layout_shows_the_newest_text_of_either_channel(self):
        """Each channel's server talks on its own WebSocket: the callid view
        shows whichever text came last, not one channel's over the other's."""
        self.start_fork_daemon(profile_lines=[" protocol raw", " raw layout separate"])

        def reply(conn):
            # The callee's connection answers early, the caller's a second later.
            n = len(conn.frames)
            if conn.path.endswith("channel=callee") and n == 10:
                return "callee at 10"
            if conn.path.endswith("channel=caller") and n == 60:
                return "caller at 60"
            return None

        server = RawServer(self, reply=reply).start()
        caller_file, _ = pattern(self, "caller.ulaw", 1)
        callee_file, _ = pattern(self, "callee.ulaw", 2)
        c = (Steps().info(start(server.port, path="/listen"), "STARTED")
             .sync().stream(caller_file, ms=3000).info(stop(), "STOPPED").pause(300))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=3000))
        ctl = self.controller(c)
        wait_for(lambda: self.fork_column() == ["active", "active"], what="the fork active")
        anchor = self.anchor()

        def view_with(text):
            view = self.daemon_.cli("show", "voip", "stream-service", "callid", str(anchor))[1]
            return view if f"Latest from the server: {text}\n" in view else None

        wait_for(lambda: view_with("callee at 10"), 10, what="the callee channel's text")
        view = wait_for(lambda: view_with("caller at 60"), 10, what="the caller channel's later text")
        self.assertIn("Messages from the server: 2\n", view)
        wait_all(self, ctl, agent)
        server.wait_closed(2)
        self.assert_no_calls()

    def test_interleaved_layout_one_websocket_sample_by_sample(self):
        [conn], caller_bytes, callee_bytes = self.raw_call("interleaved")
        self.assertEqual(conn.path, "/v2/listen?lang=en")
        self.assertEqual({len(f) for f in conn.frames}, {320}, "20 ms of both parties a frame")
        audio = conn.audio()
        self.assert_paced_audio(audio[0::2], caller_bytes, "caller samples")
        self.assert_paced_audio(audio[1::2], callee_bytes, "callee samples")


if __name__ == "__main__":
    harness.main()
