"""An open connection's life, driven by ws-probe against the reference speech
server's fault modes: idle timeout (with a shortened minute), pings and a dead
server, server close, TCP reset, server STOP, a binary frame from the server,
unknown text, a slow consumer, the clear command and shutdown; the 10 s
connect timeout and the 2 s guard on a close that cannot complete
(websocket.md)."""

import time

import harness
from harness import LOOPBACK, wait_for
from speech_server import SpeechServer
from ws_probe import WsProbe, profile_config

SCALE = 60  # a minute lasts one second


class LifecycleTest(harness.Harness):
    def probe(self, threshold=3, idle=30, name="probe"):
        return WsProbe(self, profile_config(threshold=threshold, idle=idle), name=name)

    def history(self, p):
        text = p.command_text("show voip stream-service connection history")
        return [line.split("  ")[-1].strip() for line in text.splitlines()[1:]]

    def test_idle_timeout_closes_with_1000(self):
        server = SpeechServer(self).start()
        started = time.monotonic()
        p = self.probe(idle=1).run(LOOPBACK, server.port, profile=1, frames=3, interval_ms=1, linger_ms=2500,
                                   time_scale=SCALE, shows=["show voip stream-service connection history"])
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"], close["reason"]), ("client", 1000, "idle timeout"))
        self.assertEqual(self.history(p), ["idle timeout"])
        self.assertIn(f"WebSocket Connection closed locally due to idle-timeout expiry for ws://{LOOPBACK}:"
                      f"{server.port}", p.log())
        self.assertEqual(p.stats()["WebSocket connections closed"], 1)
        self.assertEqual(p.stats()["WebSocket connections active"], 0)
        # Not before a (scaled) minute without calls.
        stops = server.controls("STOP")
        self.assertGreaterEqual(close["time"] - stops[-1]["time"], 0.9)
        self.assertLess(time.monotonic() - started, 30)

    def test_pings_keep_a_quiet_connection(self):
        server = SpeechServer(self).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1, keep=True, linger_ms=1500, time_scale=SCALE)
        self.assertTrue(p.attaches()[0]["ok"])
        # A ping every 20 s (1/3 s scaled) once nothing came from the server.
        self.assertGreaterEqual(len(server.events("ping")), 2)
        # It lived until the probe's shutdown closed it.
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"]), ("client", 1001))
        self.assertEqual([e["reason"] for e in p.events("connection_lost")], ["Connection closed"])

    def test_server_that_never_answers_is_dead_after_60s(self):
        server = SpeechServer(self, args=("--stop-reading-after-frames", 0)).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1, keep=True, linger_ms=2500, time_scale=SCALE,
                             shows=["show voip stream-service connection history"])
        self.assertEqual([e["reason"] for e in p.events("connection_lost")], ["TCP Connection closed"])
        self.assertEqual(self.history(p), ["TCP closed"])
        self.assertEqual(p.stats()["TCP closures"], 1)

    def test_server_close_frame(self):
        server = SpeechServer(self, args=("--close-after-frames", 5)).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1, frames=20, interval_ms=5, linger_ms=200,
                             shows=["show voip stream-service connection history"])
        self.assertEqual([e["reason"] for e in p.events("connection_lost")], ["Connection closed"])
        self.assertEqual(self.history(p), ["remote close"])
        self.assertEqual(p.stats()["Remote WebSocket closures"], 1)
        self.assertEqual(p.stats()["TCP closures"], 0)
        self.assertIn(f"WebSocket Connection was remotely closed for ws://{LOOPBACK}:{server.port}", p.log())
        self.assertIn("%SIP-3-STREAM_SERVICE: 1 Remote WebSocket closures", p.log())

    def test_tcp_reset(self):
        server = SpeechServer(self, args=("--reset-after-frames", 5)).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1, frames=20, interval_ms=5, linger_ms=200,
                             shows=["show voip stream-service connection history"])
        self.assertEqual([e["reason"] for e in p.events("connection_lost")], ["TCP Connection closed"])
        self.assertEqual(self.history(p), ["TCP closed"])
        self.assertEqual(p.stats()["TCP closures"], 1)
        self.assertIn(f"WebSocket Connection was closed over TCP for ws://{LOOPBACK}:{server.port}", p.log())
        self.assertIn("%SIP-3-STREAM_SERVICE: 1 TCP closures", p.log())

    def test_server_stop_for_a_channel(self):
        """docs/speech-server-protocol.md: a server STOP for one channel ends the call's fork; its
        other channel gets STOP `Stopped by server`; the connection stays."""
        server = SpeechServer(self, args=("--stop-channel-after-frames", 3)).start()
        p = self.probe().start(LOOPBACK, server.port, profile=1, frames=10, interval_ms=5, keep=True)
        p.wait_for("server_stop")
        stopped = server.wait_event("server-stop")
        [event] = p.events("server_stop")
        self.assertEqual((event["reason"], event["server_reason"]), ("Connection closed", "Stopped by server"))
        a = p.attaches()[0]
        other = a["callee"] if stopped["channel"] == a["caller"] else a["caller"]
        answer = wait_for(lambda: server.messages("STOP", channel=other), 10, what="STOP back")
        self.assertEqual(answer, [{"type": "STOP", "channel": other, "reason": "Stopped by server"}])
        # That channel's audio ended at its STOP.
        self.assertLess(len(server.frames(channel=stopped["channel"])), 10)
        self.assertEqual(p.events("connection_lost"), [])
        p.finish()  # the kept call's connection closes now

    def test_binary_frame_from_server_closes_with_1003(self):
        server = SpeechServer(self, args=("--send-binary-after-frames", 2)).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1, frames=10, interval_ms=10, linger_ms=300)
        self.assertEqual([e["reason"] for e in p.events("connection_lost")], ["Connection closed"])
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"]), ("client", 1003))

    def test_unknown_text_is_ignored(self):
        server = SpeechServer(self, args=("--send-text-after-frames", 2)).start()
        p = self.probe().run(LOOPBACK, server.port, profile=1, frames=10, interval_ms=5)
        self.assertEqual(p.events("connection_lost"), [])
        self.assertEqual(len(server.wait_events("frame", 20)), 20)
        self.assertEqual(server.violations(), [])

    def test_slow_consumer_drops_oldest_audio_and_counts_it(self):
        server = SpeechServer(self, args=("--stop-reading-after-frames", 1, "--rcvbuf", 4096)).start()
        # 20 calls at 1 ms: 7 MB/s, more than the socket buffers take in a second.
        calls, frames = 20, 2000
        p = self.probe(threshold=20).run(LOOPBACK, server.port, profile=1, calls=calls, frames=frames,
                                         interval_ms=1)
        stats = p.stats()
        produced = 2 * calls * frames
        self.assertGreater(stats["Frames dropped"], produced / 4)
        # Whatever was not sent was dropped, except what still sits in the
        # bounded queue (2 s at the threshold: 4000 frames) or the ring.
        self.assertLessEqual(stats["Frames sent"] + stats["Frames dropped"], produced)
        self.assertGreaterEqual(stats["Frames sent"] + stats["Frames dropped"], produced - 4000 - 4096)
        channels = p.events("channel")
        self.assertGreater(sum(c["frames_dropped"] for c in channels), 0)
        self.assertLessEqual(sum(c["frames_sent"] for c in channels), stats["Frames sent"])

    def test_clear_command_closes_and_is_in_history(self):
        server = SpeechServer(self).start()
        p = self.probe().start(LOOPBACK, server.port, profile=1, keep=True)
        self.assertTrue(p.wait_for("attach")["ok"])
        bad = p.send("clear voip stream-service connection id 99 forced")
        self.assertFalse(bad["ok"])
        done = p.send("clear voip stream-service connection id 1 forced")
        self.assertTrue(done["ok"], done)
        self.assertEqual(p.wait_for("connection_lost")["reason"], "Connection closed")
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"]), ("client", 1000))
        history = p.send("show voip stream-service connection history")["text"]
        self.assertIn("clear command", history)
        p.finish()
        self.assertIn(f"WebSocket Connection closed locally using clear command for ws://{LOOPBACK}:{server.port}",
                      p.log())

    def test_statistics_clear_zeroes_only_the_event_counters(self):
        server = SpeechServer(self, args=("--reset-after-frames", 1)).start()
        p = self.probe().start(LOOPBACK, server.port, profile=1, frames=3, interval_ms=5)
        p.wait_for("connection_lost")
        before = p.send("stats")["text"]
        self.assertIn("TCP closures: 1\n", before)
        self.assertTrue(p.send("clear voip stream-service statistics")["ok"])
        after = p.send("stats")["text"]
        self.assertIn("TCP closures: 0\n", after)
        self.assertIn("WebSocket connections closed: 1\n", after)
        p.finish()

    def test_connect_timeout_is_10_s(self):
        """websocket.md: one 10 s timer covers the whole attempt (not scaled).
        An upgrade answered after 8 s connects; one never answered fails
        with `Connection failed` after 10 s."""
        slow = SpeechServer(self, args=("--upgrade-delay", 8000), name="slow").start()
        began = time.monotonic()
        p = self.probe(name="slow").run(LOOPBACK, slow.port, profile=1, time_scale=SCALE)
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertGreaterEqual(time.monotonic() - began, 8)

        hung = SpeechServer(self, args=("--hang-upgrade",), name="hung").start()
        began = time.monotonic()
        p = self.probe(name="hung").run(LOOPBACK, hung.port, profile=1, time_scale=SCALE)
        took = time.monotonic() - began
        self.assertEqual(p.reasons(), ["Connection failed"])
        self.assertEqual(p.stats()["HTTP connection failures"], 1)
        self.assertGreaterEqual(took, 10, "gave up before the connect timeout")
        self.assertLess(took, 25, "the connect timeout did not fire")

    def test_close_that_cannot_complete_drops_tcp_after_2_s(self):
        """websocket.md: a local close held behind a write (the server stopped
        reading) drops the TCP connection after 2 s."""
        server = SpeechServer(self, args=("--stop-reading-after-frames", 1, "--rcvbuf", 4096)).start()
        p = self.probe(threshold=20).start(LOOPBACK, server.port, profile=1, calls=20, frames=2000, interval_ms=1,
                                           keep=True)
        self.assertGreater(int(p.send("stats")["text"].split("Frames dropped: ")[1].split()[0]), 0,
                           "the socket is not backed up")
        began = time.monotonic()
        self.assertTrue(p.send("clear voip stream-service connection id 1 forced")["ok"])
        state = p.send("show voip stream-service connection id 1")
        self.assertIn("Closing", state["text"], state)

        def gone():
            answer = p.send("show voip stream-service connection id 1")
            return not answer["ok"] or "Closing" not in answer["text"]
        harness.wait_for(gone, timeout=15, interval=0.1, what="the held close given up")
        took = time.monotonic() - began
        self.assertGreaterEqual(took, 2, "the close was not held")
        self.assertLess(took, 10)
        self.assertIn("clear command", p.send("show voip stream-service connection history")["text"])
        p.finish()

    def test_shutdown_closes_with_reason_shutdown(self):
        server = SpeechServer(self).start()
        self.probe().run(LOOPBACK, server.port, profile=1, keep=True)
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"], close["reason"]), ("client", 1001, "shutdown"))


if __name__ == "__main__":
    harness.main()
