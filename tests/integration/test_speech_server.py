"""The reference speech server itself: it records exactly what a client sent,
reports every violation of the voxfork.v1 protocol, and its fault modes do what they say.
The client is the `websockets` library (Debian's python3-websockets)."""

import asyncio
import json
import os
import random
import socket
import ssl
import struct
import sys
import unittest
import warnings

import websockets

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from g711 import alaw_to_pcm16, ulaw_to_pcm16  # noqa: E402
from speech_server import SpeechServer, make_tls_files  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
SUBPROTOCOL = "voxfork.v1"


def frame(channel, seq, position, payload=b"\xff" * 160):
    return struct.pack(">III", channel, seq, position) + payload


def start(channel, leg, guid="CALL1", codec="PCMU", **extra):
    msg = {"type": "START", "channel": channel, "call-guid": guid, "call-id": f"{guid}@127.0.0.1",
           "leg": leg, "codec": codec, "rate": 8000, "metadata": {}}
    msg.update(extra)
    return json.dumps(msg)


def control(type_, channel, **fields):
    return json.dumps({"type": type_, "channel": channel, **fields})


def connect(url, path="/v1/fork", **kwargs):
    kwargs.setdefault("subprotocols", [SUBPROTOCOL])
    kwargs.setdefault("extra_headers", {"User-Agent": "voxforkd/test"})
    kwargs.setdefault("open_timeout", 5)
    return websockets.connect(url + path, **kwargs)


async def send_all(ws, messages, pause=0.0):
    for m in messages:
        await ws.send(m)
        if pause:
            await asyncio.sleep(pause)


def run(coro):
    return asyncio.run(coro)


async def attempt(url, **kwargs):
    """Opens a connection and closes it: for upgrades expected to fail."""
    async with connect(url, **kwargs):
        pass


class SpeechServerTest(harness.Harness):

    def setUp(self):
        super().setUp()
        self.servers = []
        # Runs before the harness's cleanup: a server that fails to stop, or
        # whose sanitizer reported anything, fails the test.
        self.addCleanup(lambda: [s.stop() for s in self.servers])

    def server(self, *args, **kwargs):
        return self.track(SpeechServer(self, args=args, **kwargs).start())

    def track(self, server):
        self.servers.append(server)
        return server

    def session(self, server, messages, **kwargs):
        """One connection that sends `messages` and closes 1000; returns its conn id."""
        async def go():
            async with connect(server.url, **kwargs) as ws:
                await send_all(ws, messages)
        before = len(server.closes())
        run(go())
        return server.wait_events("close", before + 1)[-1]["conn"]

    # -- a good session ------------------------------------------------------

    def test_good_session_is_recorded_exactly_and_without_violations(self):
        server = self.server()
        rnd = random.Random(4)
        caller = [bytes(rnd.randrange(256) for _ in range(160)) for _ in range(30)]
        callee = [bytes(rnd.randrange(256) for _ in range(160)) for _ in range(30)]
        msgs = [start(17, "caller", metadata={"agent": "1001"}), start(18, "callee", codec="PCMA")]
        for i in range(20):  # 20 frames each, interleaved as they come off RTP
            msgs += [frame(17, i, 160 * i, caller[i]), frame(18, i, 160 * i, callee[i])]
        msgs += [control("PAUSE", 17, reason="hold"), control("PAUSE", 18, reason="hold"),
                 control("RESUME", 17, codec="PCMA"), control("RESUME", 18, codec="PCMA")]
        for i in range(20, 30):  # the pause lasted 800 samples: position jumps, seq does not
            msgs += [frame(17, i, 160 * i + 800, caller[i]), frame(18, i, 160 * i + 800, callee[i])]
        msgs += [control("UPDATE", 17, metadata={"agent": "1002"}), control("DTMF", 17, digit="5", duration=160),
                 control("STOP", 17, reason="Call ended"), control("STOP", 18, reason="Call ended")]
        conn = self.session(server, msgs)

        self.assertEqual(server.violations(), [])
        opened = server.connections()[0]
        self.assertEqual((opened["path"], opened["subprotocol"], opened["user_agent"], opened["tls"]),
                         ("/v1/fork", SUBPROTOCOL, "voxforkd/test", False))
        close = server.closes()[0]
        self.assertEqual((close["conn"], close["by"], close["code"], close["open_channels"]),
                         (conn, "client", 1000, []))
        self.assertEqual([m["type"] for m in server.messages()],
                         ["START", "START", "PAUSE", "PAUSE", "RESUME", "RESUME", "UPDATE", "DTMF", "STOP", "STOP"])
        self.assertEqual(server.messages("UPDATE")[0]["metadata"], {"agent": "1002"})

        self.assertEqual(server.raw(17), b"".join(caller))
        self.assertEqual(server.raw(18), b"".join(callee))
        self.assertEqual([f["seq"] for f in server.frames(17)], list(range(30)))
        steps = server.events("position-step", channel=17)
        self.assertEqual([(s["seq"], s["step"]) for s in steps], [(20, 800)])

        silence = b"\x00\x00" * 800
        wav17 = server.wav(17)
        self.assertEqual((wav17.rate, wav17.channels, wav17.width), (8000, 1, 2))
        self.assertEqual(wav17.pcm, ulaw_to_pcm16(b"".join(caller[:20])) + silence +
                         alaw_to_pcm16(b"".join(caller[20:])))
        self.assertEqual(server.wav(18).pcm, alaw_to_pcm16(b"".join(callee[:20])) + silence +
                         alaw_to_pcm16(b"".join(callee[20:])))

        self.assertEqual(server.stop(), 0)
        summary = server.summary()
        self.assertEqual((summary["frames"], summary["violations"], summary["connections"]), (60, 0, 1))
        ch17 = [c for c in summary["channels"] if c["channel"] == 17][0]
        self.assertEqual((ch17["frames"], ch17["bytes"], ch17["dtmf"], ch17["stop_reason"]),
                         (30, 4800, 1, "Call ended"))

    def test_a_seq_jump_is_a_drop_gap_not_a_violation(self):
        server = self.server()
        msgs = [start(5, "caller"), start(6, "callee"), frame(5, 0, 0), frame(5, 1, 160),
                frame(5, 4, 640), frame(5, 5, 800, b"\x00" * 80), frame(5, 6, 880)]
        self.session(server, msgs)
        self.assertEqual(server.violations(), [])
        gap = server.events("drop-gap")
        self.assertEqual([(g["channel"], g["expected_seq"], g["seq"], g["dropped"]) for g in gap], [(5, 2, 4, 2)])
        # The dropped frames' 320 samples are silence in the WAV; the 80-byte frame is exact.
        pcm = server.wav(5).pcm
        self.assertEqual(len(pcm), 2 * 1040)
        self.assertEqual(pcm[2 * 320:2 * 640], b"\x00\x00" * 320)
        self.assertEqual(len(server.raw(5)), 4 * 160 + 80)

    def test_many_connections_and_channels_at_once(self):
        server = self.server()

        async def one(n):
            base = 1000 * (n + 1)
            async with connect(server.url, path=f"/conn{n}") as ws:
                for c in range(0, 6, 2):
                    await send_all(ws, [start(base + c, "caller", guid=f"G{n}-{c}"),
                                        start(base + c + 1, "callee", guid=f"G{n}-{c}")])
                for i in range(50):
                    for c in range(6):
                        await ws.send(frame(base + c, i, 160 * i, bytes([(n + c + i) % 256]) * 160))
                    await asyncio.sleep(0)
                for c in range(6):
                    await ws.send(control("STOP", base + c, reason="Forking stopped"))

        async def all_of_them():
            await asyncio.gather(*(one(n) for n in range(4)))
        run(all_of_them())
        server.wait_events("close", 4)
        self.assertEqual(server.violations(), [])
        self.assertEqual(sorted(c["path"] for c in server.connections()), ["/conn0", "/conn1", "/conn2", "/conn3"])
        self.assertEqual(len(server.channels()), 24)
        for n in range(4):
            for c in range(6):
                expected = b"".join(bytes([(n + c + i) % 256]) * 160 for i in range(50))
                self.assertEqual(server.raw(1000 * (n + 1) + c), expected)

    def test_pings_are_logged(self):
        server = self.server()

        async def go():
            async with connect(server.url) as ws:
                await (await ws.ping(b"keepalive"))
        run(go())
        self.assertEqual(server.wait_event("ping")["payload"], "keepalive")

    # -- TLS and authentication ------------------------------------------------

    def tls_client(self, tls):
        ctx = ssl.create_default_context(cafile=tls.ca)
        return ctx

    def test_wss_with_sni_and_both_tls_versions(self):
        tls = make_tls_files(self.tmpdir, names=("asr.lab.example",))
        for extra, version in (((), "TLSv1.3"), (("--tls-max", "1.2"), "TLSv1.2")):
            server = self.track(SpeechServer(self, tls=tls, args=extra, name=f"tls{version}").start())
            self.assertTrue(server.url.startswith("wss://"))
            self.session(server, [start(7, "caller"), start(8, "callee"), frame(7, 0, 0, b"\x01" * 160),
                                  control("STOP", 7, reason="Forking stopped"),
                                  control("STOP", 8, reason="Forking stopped")],
                         ssl=self.tls_client(tls), server_hostname="asr.lab.example")
            opened = server.connections()[0]
            self.assertEqual((opened["tls"], opened["tls_version"], opened["sni"]), (True, version, "asr.lab.example"))
            self.assertEqual(server.raw(7), b"\x01" * 160)
            self.assertEqual(server.violations(), [])
            server.stop()

    def test_tls_handshake_failure_is_recorded(self):
        tls = make_tls_files(self.tmpdir)
        server = self.track(SpeechServer(self, tls=tls).start())
        with self.assertRaises(ssl.SSLError):  # the client does not trust a system CA for it
            run(attempt(server.url, ssl=ssl.create_default_context(), server_hostname="localhost"))
        self.assertIn("error", server.wait_event("tls-error"))

    def test_token_missing_or_wrong_gets_401(self):
        server = self.server(token="e2238f3a")
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "e2238f3a"}):
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                run(attempt(server.url, extra_headers=headers))
            self.assertEqual(cm.exception.status_code, 401)
        self.session(server, [], extra_headers={"Authorization": "Bearer e2238f3a"})
        self.assertEqual([(r["status"], r["reason"]) for r in server.rejections()],
                         [(401, "missing token"), (401, "wrong token"), (401, "wrong token")])
        opened = server.connections()
        self.assertEqual([(o["token"], o["authorization"]) for o in opened], [("e2238f3a", "Bearer e2238f3a")])

    # -- violations ------------------------------------------------------------

    def test_each_kind_of_violation_is_detected(self):
        server = self.server("--max-gap", "1")
        big_guid = "G" * 65
        # Each case runs on a connection of its own whose calls are (a caller, b callee).
        cases = [
            ("not-json", lambda a, b: ["{nope"]),
            ("not-object", lambda a, b: ["[1, 2]"]),
            ("unknown-type", lambda a, b: [control("HELLO", a)]),
            ("unknown-type", lambda a, b: ['{"channel": 5}']),
            ("missing-field", lambda a, b: [json.dumps({"type": "PAUSE", "channel": a})]),
            ("missing-field", lambda a, b: [json.dumps({"type": "DTMF", "digit": "1", "duration": 80})]),
            ("bad-type", lambda a, b: [control("DTMF", a, digit="1", duration="80")]),
            ("bad-type", lambda a, b: [control("UPDATE", a, metadata="agent=1")]),
            ("bad-type", lambda a, b: [json.dumps({"type": "PAUSE", "channel": str(a), "reason": "hold"})]),
            ("bad-value", lambda a, b: [control("PAUSE", a, reason="lunch")]),
            ("bad-value", lambda a, b: [control("PAUSE", a, reason="hold"), control("RESUME", a, codec="G729")]),
            ("bad-value", lambda a, b: [control("STOP", a, reason="bye")]),
            ("bad-value", lambda a, b: [control("DTMF", a, digit="E", duration=80)]),
            ("bad-value", lambda a, b: [control("DTMF", a, digit="1", duration=70000)]),
            ("bad-value", lambda a, b: [control("STOP", 1 << 32, reason="Call ended")]),
            ("unknown-field", lambda a, b: [control("UPDATE", a, metadata={}, extra=1)]),
            ("channel-zero", lambda a, b: [control("UPDATE", 0, metadata={})]),
            ("channel-zero", lambda a, b: [frame(0, 0, 0)]),
            (["duplicate-start"] * 2, lambda a, b: [start(a, "caller", guid="X"), start(b, "callee", guid="X")]),
            ("unknown-channel", lambda a, b: [control("PAUSE", a + 50, reason="hold")]),
            ("unknown-channel", lambda a, b: [frame(a + 50, 0, 0)]),
            ("after-stop", lambda a, b: [control("STOP", a, reason="Call ended"), frame(a, 0, 0)]),
            ("after-stop", lambda a, b: [control("STOP", a, reason="Call ended"), control("PAUSE", a, reason="hold")]),
            ("paused-frame", lambda a, b: [control("PAUSE", a, reason="hold"), frame(a, 0, 0)]),
            ("already-paused", lambda a, b: [control("PAUSE", a, reason="hold"),
                                             control("PAUSE", a, reason="codec-change")]),
            ("not-paused", lambda a, b: [control("RESUME", a, codec="PCMU")]),
            ("seq-not-increasing", lambda a, b: [frame(a, 0, 0), frame(a, 0, 160)]),
            ("seq-not-increasing", lambda a, b: [frame(a, 0, 0), frame(a, 1, 160), frame(a, 0, 320)]),
            ("position-backwards", lambda a, b: [frame(a, 0, 1600), frame(a, 1, 800)]),
            ("position-jump", lambda a, b: [frame(a, 0, 0), frame(a, 1, 160 + 8001)]),
            ("short-frame", lambda a, b: [b"\x00\x00\x00\x01\x00\x00\x00\x00"]),
            ("empty-payload", lambda a, b: [frame(a, 0, 0, b"")]),
            ("start-order", lambda a, b: [start(a + 50, "callee", guid="Y")]),
            ("start-order", lambda a, b: [start(a + 50, "caller", guid="Z"), control("PAUSE", a, reason="hold")]),
            (["bad-value"] * 2, lambda a, b: [start(a + 50, "caller", guid=big_guid),
                                              start(a + 51, "callee", guid=big_guid)]),
            ("bad-value", lambda a, b: [start(a + 50, "caller", guid="R", rate=16000)]),
            ("bad-value", lambda a, b: [start(a + 50, "agent", guid="L")]),
        ]
        for n, (kind, messages) in enumerate(cases):
            a = 100 * (n + 1)
            good_start = [start(a, "caller", guid="X"), start(a + 1, "callee", guid="X")]
            conn = self.session(server, good_start + messages(a, a + 1))
            with self.subTest(case=n, kind=kind):
                self.assertEqual(server.violation_kinds(conn=conn), kind if isinstance(kind, list) else [kind])
        # A violation line names what it is about and follows the message.
        last = server.violations()[-1]
        self.assertEqual((last["violation"], last["channel"]), ("bad-value", 100 * len(cases) + 50))
        self.assertIn("detail", last)

    def test_reusing_a_channel_id_on_another_connection_is_a_violation(self):
        server = self.server()
        self.session(server, [start(9, "caller"), start(10, "callee")])
        self.assertEqual(server.violations(), [])
        conn = self.session(server, [start(9, "caller", guid="NEW"), start(11, "callee", guid="NEW")])
        self.assertEqual(server.violation_kinds(conn=conn), ["channel-reused"])

    def test_upgrade_without_the_subprotocol_is_a_violation(self):
        server = self.server()

        async def go():
            async with connect(server.url, subprotocols=None):
                pass
        run(go())
        self.assertIsNone(server.wait_event("open")["subprotocols"], "the upgrade asked for no subprotocol")
        self.assertEqual(server.wait_event("violation")["violation"], "subprotocol")

    def test_data_before_the_101_is_a_violation(self):
        server = self.server()
        upgrade = ("GET /v1/fork HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: voxfork.v1\r\n\r\n").encode()
        payload = frame(1, 0, 0)
        mask = b"\x01\x02\x03\x04"
        ws_frame = bytes([0x82, 0x80 | 126]) + struct.pack(">H", len(payload)) + mask + \
            bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with socket.create_connection((harness.LOOPBACK, server.port), timeout=5) as s:
            s.sendall(upgrade + ws_frame)
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 101"))
        self.assertEqual(server.wait_event("violation")["violation"], "early-data")

    # -- fault modes -------------------------------------------------------------

    def test_no_subprotocol_answer(self):
        server = self.server("--no-subprotocol")

        async def go():
            async with connect(server.url) as ws:
                return ws.subprotocol
        self.assertIsNone(run(go()))
        self.assertIsNone(server.wait_event("open")["subprotocol"])

    def test_close_after_frames(self):
        server = self.server("--close-after-frames", "5", "--close-reason", "enough")

        async def go():
            async with connect(server.url) as ws:
                await send_all(ws, [start(1, "caller"), start(2, "callee")])
                try:
                    for i in range(200):
                        await ws.send(frame(1, i, 160 * i))
                        await asyncio.sleep(0.01)
                except websockets.exceptions.ConnectionClosed:
                    pass
                await ws.wait_closed()
                return ws.close_code, ws.close_reason
        self.assertEqual(run(go()), (1000, "enough"))
        self.assertEqual(server.wait_event("server-close")["frames"], 5)
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["open_channels"]), ("server", [1, 2]))

    def test_reset_after_frames(self):
        server = self.server("--reset-after-frames", "3")

        async def go():
            async with connect(server.url) as ws:
                await send_all(ws, [start(1, "caller"), start(2, "callee")])
                with self.assertRaises(websockets.exceptions.ConnectionClosedError):
                    for i in range(500):
                        await ws.send(frame(1, i, 160 * i))
                        await asyncio.sleep(0.01)
                    await ws.recv()
                return ws.close_code
        self.assertEqual(run(go()), 1006)  # no close frame arrived
        self.assertEqual(server.wait_event("close")["by"], "server-reset")
        self.assertEqual(len(server.frames()), 3)

    def test_stop_reading_after_frames(self):
        server = self.server("--stop-reading-after-frames", "3", "--rcvbuf", "4096")

        async def go():
            ws = await connect(server.url, write_limit=4096)
            await send_all(ws, [start(1, "caller"), start(2, "callee")])
            sent = 0
            try:
                for i in range(100000):
                    await asyncio.wait_for(ws.send(frame(1, i, 160 * i, b"\x55" * 1000)), 1.0)
                    sent += 1
            except asyncio.TimeoutError:
                pass
            ws.transport.abort()
            return sent
        sent = run(go())
        self.assertGreater(sent, 3)
        self.assertLess(sent, 100000)  # the sender got stuck: nobody reads
        server.wait_event("stop-reading")
        self.assertEqual(len(server.frames()), 3)
        self.assertEqual(server.closes(), [])  # no read: the server never saw the client go

    def test_stop_channel_after_frames(self):
        server = self.server("--stop-channel-after-frames", "4")

        async def go():
            async with connect(server.url) as ws:
                await send_all(ws, [start(31, "caller"), start(32, "callee")])
                for i in range(2):
                    await send_all(ws, [frame(31, i, 160 * i), frame(32, i, 160 * i)])
                stop = json.loads(await asyncio.wait_for(ws.recv(), 5))
                await ws.send(frame(32, 2, 320))  # was in flight: tolerated
                await ws.send(control("STOP", 31, reason="Stopped by server"))  # as voxforkd answers
                return stop
        self.assertEqual(run(go()), {"type": "STOP", "channel": 32, "reason": "Stopped by server"})
        server.wait_event("close")
        self.assertEqual(server.violations(), [])
        self.assertEqual(server.wait_event("server-stop")["channel"], 32)
        # voxforkd must not STOP a channel the server stopped itself.
        conn = self.session(server, [start(41, "caller"), start(42, "callee"), frame(41, 0, 0), frame(42, 0, 0),
                                     frame(41, 1, 160), frame(42, 1, 160),
                                     control("STOP", 42, reason="Stopped by server")])
        self.assertEqual(server.violation_kinds(conn=conn), ["stop-after-server-stop"])

    def test_send_binary_and_text(self):
        server = self.server("--send-binary-after-frames", "0", "--send-text-after-frames", "2",
                             "--send-text", '{"type":"NOTE"}')

        async def go():
            async with connect(server.url) as ws:
                first = await asyncio.wait_for(ws.recv(), 5)
                await send_all(ws, [start(1, "caller"), start(2, "callee"), frame(1, 0, 0), frame(2, 0, 0)])
                second = await asyncio.wait_for(ws.recv(), 5)
                await ws.close(1003, "binary from server")
                return first, second
        first, second = run(go())
        self.assertIsInstance(first, bytes)
        self.assertEqual(second, '{"type":"NOTE"}')
        close = server.wait_event("close")
        self.assertEqual((close["by"], close["code"], close["reason"]), ("client", 1003, "binary from server"))

    def test_refused_upgrades(self):
        for status in (403, 500, 200):
            server = self.track(SpeechServer(self, args=("--refuse-upgrade", status), name=f"refuse{status}").start())
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as cm:
                run(attempt(server.url))
            self.assertEqual(cm.exception.status_code, status)
            self.assertEqual(server.rejections()[0]["status"], status)
            server.stop()

    def test_fault_limit_lets_later_connections_through(self):
        server = self.server("--refuse-upgrade", "503", "--fault-limit", "1")
        with self.assertRaises(websockets.exceptions.InvalidStatusCode):
            run(attempt(server.url))
        self.session(server, [])
        self.assertEqual(len(server.connections()), 1)

    def test_garbage_bad_accept_and_hang(self):
        garbage = self.server("--garbage-response")
        with self.assertRaises(websockets.exceptions.InvalidMessage):
            run(attempt(garbage.url))
        bad_accept = self.track(SpeechServer(self, args=("--bad-accept",), name="bad-accept").start())
        with self.assertRaises(websockets.exceptions.InvalidHeaderValue):
            run(attempt(bad_accept.url))
        hang = self.track(SpeechServer(self, args=("--hang-upgrade",), name="hang").start())
        with self.assertRaises(asyncio.TimeoutError):
            run(attempt(hang.url, open_timeout=0.5))
        self.assertEqual([r["reason"] for r in hang.rejections()], ["hang-upgrade"])

    # -- exit ------------------------------------------------------------------

    def test_sigterm_completes_open_channels(self):
        server = self.server()

        async def go():
            ws = await connect(server.url)
            await send_all(ws, [start(3, "caller"), start(4, "callee")] +
                           [frame(3, i, 160 * i, b"\x80" * 160) for i in range(10)])
            await asyncio.sleep(0.2)
            self.assertEqual(server.stop(), 0)
            ws.transport.abort()
        run(go())
        wav = server.wav(3)
        self.assertEqual(len(wav.pcm), 2 * 1600)
        self.assertEqual(wav.pcm, ulaw_to_pcm16(b"\x80" * 1600))
        summary = server.summary()
        self.assertEqual([(c["channel"], c["frames"], c["stopped"]) for c in summary["channels"]],
                         [(3, 10, False), (4, 0, False)])
        self.assertEqual(server.events("exit")[0]["frames"], 10)


if __name__ == "__main__":
    harness.main()
