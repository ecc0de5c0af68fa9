"""The reference speech server in its other protocols (--protocol audiohook,
--protocol raw; docs/speech-server.md), driven by a client of the test's own (Debian's
python3-websockets): what it answers, what it records per channel, and the
violations it reports for a client that breaks the protocol."""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import time
import uuid
import warnings

import websockets

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from speech_server import SpeechServer  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
ORG = "d7934305-0972-4844-938e-9060eef73d05"
CONVERSATION = "8f3b2c1a-0e7d-41ef-9a2b-00505688c0de"
SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xIQ=="
PATH = "/api/v1/audiohook/ws"
OFFERS = [{"type": "audio", "format": "PCMU", "channels": ch, "rate": 8000}
          for ch in (["external", "internal"], ["external"], ["internal"])]


def signed(headers, host, path, secret, created=None):
    """The AudioHook HTTP message signature headers for `headers` (RFC 9421 as AudioHook profiles it)."""
    names = ["@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id",
             "audiohook-correlation-id", "x-api-key"]
    params = (f'keyid="{headers["X-API-KEY"]}";nonce="{base64.b64encode(os.urandom(18)).decode()}";'
              f'alg="hmac-sha256";created={int(created if created is not None else time.time())}')
    inner = "(" + " ".join(f'"{n}"' for n in names) + ")"
    values = {"@request-target": path, "@authority": host}
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [f'"{n}": {values[n] if n in values else lower[n]}' for n in names]
    lines.append(f'"@signature-params": {inner};{params}')
    mac = hmac.new(base64.b64decode(secret), "\n".join(lines).encode(), hashlib.sha256).digest()
    return {"Signature-Input": f"sig1={inner};{params}", "Signature": f"sig1=:{base64.b64encode(mac).decode()}:"}


def audiohook_headers(session_id, key="key-1"):
    return {"Audiohook-Organization-Id": ORG, "Audiohook-Session-Id": session_id,
            "Audiohook-Correlation-Id": str(uuid.uuid4()), "X-API-KEY": key}


class Client:
    """An AudioHook client session: each message with the envelope, seq
    counting, serverseq the last server seq seen, position the audio sent."""

    def __init__(self, ws, session_id):
        self.ws, self.id, self.seq, self.serverseq, self.samples = ws, session_id, 0, 0, 0

    def position(self):
        hundredths = self.samples // 80
        return f"PT{hundredths // 100}.{hundredths % 100:02d}S"

    async def send(self, type_, parameters=None, **override):
        self.seq += 1
        msg = {"version": "2", "type": type_, "seq": self.seq, "serverseq": self.serverseq, "id": self.id,
               "position": self.position(), "parameters": parameters if parameters is not None else {}}
        msg.update(override)
        await self.ws.send(json.dumps(msg))

    async def receive(self):
        msg = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
        self.serverseq = msg["seq"]
        return msg

    async def audio(self, data, channels=2):
        await self.ws.send(data)
        self.samples += len(data) // channels

    async def open(self, media=None):
        await self.send("open", {"organizationId": ORG, "conversationId": CONVERSATION,
                                 "participant": {"id": str(uuid.uuid4()), "ani": "1000", "aniName": "caller",
                                                 "dnis": "6777"},
                                 "media": OFFERS if media is None else media, "customConfig": {"agent": "1001"}})
        return await self.receive()


class AudiohookServer(harness.Harness):
    def server(self, *args, token=None):
        return SpeechServer(self, protocol="audiohook", token=token, args=args).start()

    def connect(self, server, headers):
        return websockets.connect(server.url + PATH, extra_headers=headers, open_timeout=5)

    def session(self, server, body, headers=None, session_id=None):
        """Runs `body(client)` on a fresh session; returns its result."""
        session_id = session_id or str(uuid.uuid4())

        async def go():
            async with self.connect(server, headers or audiohook_headers(session_id)) as ws:
                return await body(Client(ws, session_id))
        return asyncio.run(go())

    def test_a_session_answered_and_recorded_per_channel(self):
        server = self.server("--audiohook-secret", SECRET, token="key-1")
        rnd = random.Random(7)
        external = bytes(rnd.randrange(256) for _ in range(1600))
        internal = bytes(rnd.randrange(256) for _ in range(1600))
        stereo = bytes(b for pair in zip(external, internal) for b in pair)
        session_id = str(uuid.uuid4())
        headers = audiohook_headers(session_id)
        headers.update(signed(headers, server.host_port, PATH, SECRET))

        async def body(c):
            answers = [await c.open()]
            for i in range(0, len(stereo) // 2, 320):  # the first half, 20 ms frames
                await c.audio(stereo[i:i + 320])
            await c.send("ping")
            answers.append(await c.receive())
            await c.send("paused")
            await c.send("resumed", {"start": c.position(), "discarded": "PT1.5S"})
            await c.send("update", {"language": "de-DE"})
            answers.append(await c.receive())
            await c.send("dtmf", {"digit": "5"})
            for i in range(len(stereo) // 2, len(stereo), 320):
                await c.audio(stereo[i:i + 320])
            await c.send("close", {"reason": "end"})
            answers.append(await c.receive())
            return answers
        opened, pong, updated, closed = self.session(server, body, headers, session_id)

        self.assertEqual([m["type"] for m in (opened, pong, updated, closed)], ["opened", "pong", "updated", "closed"])
        self.assertEqual(opened["parameters"], {"media": [OFFERS[0]], "startPaused": False})
        self.assertEqual([m["seq"] for m in (opened, pong, updated, closed)], [1, 2, 3, 4])
        self.assertEqual((opened["id"], opened["version"], opened["clientseq"]), (session_id, "2", 1))
        self.assertEqual(closed["clientseq"], 7)
        server.wait_event("close")
        self.assertEqual(server.violations(), [])
        conn = server.connections()[0]
        self.assertEqual((conn["path"], conn["subprotocol"]), (PATH, None))
        self.assertEqual(server.raw(1), external)
        self.assertEqual(server.raw(2), internal)
        self.assertEqual([(c["channel"], c["leg"]) for c in server.recorded_channels()], [(1, "caller"), (2, "callee")])
        self.assertEqual([f["seq"] for f in server.frames(1)], list(range(10)))
        # The pause's 1.5 s discarded is silence in the channel's time line.
        self.assertEqual([f["position"] for f in server.frames(2)],
                         [160 * i for i in range(5)] + [160 * i + 12000 for i in range(5, 10)])
        self.assertEqual(server.wav(2).pcm[5 * 320:5 * 320 + 24000], b"\0" * 24000)
        self.assertEqual(server.stop(), 0)
        summary = server.summary()
        self.assertEqual({(c["leg"], c["bytes"], c["stopped"], c["stop_reason"], c["dtmf"]) for c in summary["channels"]},
                         {("caller", 1600, True, "end", 1), ("callee", 1600, True, "end", 0)})

    def test_the_upgrade_is_refused_without_a_valid_signature_or_key(self):
        server = self.server("--audiohook-secret", SECRET, token="key-1")

        def status(headers):
            async def go():
                try:
                    async with self.connect(server, headers):
                        return 101
                except websockets.InvalidStatusCode as e:
                    return e.status_code
            return asyncio.run(go())

        unsigned = audiohook_headers(str(uuid.uuid4()))
        self.assertEqual(status(unsigned), 401)
        wrong = audiohook_headers(str(uuid.uuid4()))
        wrong.update(signed(wrong, server.host_port, PATH, "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="))
        self.assertEqual(status(wrong), 401)
        stale = audiohook_headers(str(uuid.uuid4()))
        stale.update(signed(stale, server.host_port, PATH, SECRET, created=time.time() - 60))
        self.assertEqual(status(stale), 401)
        other_key = audiohook_headers(str(uuid.uuid4()), key="key-2")
        other_key.update(signed(other_key, server.host_port, PATH, SECRET))
        self.assertEqual(status(other_key), 401)
        bad_id = audiohook_headers("NOT-A-UUID")
        self.assertEqual(status(bad_id), 400)
        good = audiohook_headers(str(uuid.uuid4()))
        good.update(signed(good, server.host_port, PATH, SECRET))
        self.assertEqual(status(good), 101)
        reasons = [r["reason"] for r in server.rejections()]
        self.assertEqual(reasons, ["Signature verification failed"] * 3 + ["wrong token",
                                                                           "missing or invalid audiohook-session-id"])
        details = [v["detail"] for v in server.violations("signature")]
        self.assertEqual(len(details), 3, details)
        self.assertIn("malformed", details[0])
        self.assertIn("signatures do not match", details[1])
        self.assertIn("created is not now", details[2])

    def test_a_client_breaking_the_protocol_gets_violations(self):
        server = self.server()

        async def body(c):
            await c.ws.send(b"\xff" * 320)  # before open (and so not in the position)
            await c.open()
            await c.audio(b"\xff" * 321)  # not whole samples
            c.seq += 5  # seq skips
            await c.send("ping")
            await c.receive()
            await c.send("ping", serverseq=99)  # ahead of the server
            await c.receive()
            await c.send("ping", position="12 seconds")
            await c.receive()
            await c.send("ping", position="PT9S")  # not the audio sent
            await c.receive()
            await c.send("paused")
            await c.audio(b"\xff" * 320)
            await c.send("gossip")
            await c.ws.send("not json")
            await c.send("close", {"reason": "end"})
            await c.receive()
            await c.audio(b"\xff" * 320)
            await asyncio.sleep(0.2)
        self.session(server, body)
        server.wait_event("close")
        kinds = server.violation_kinds()
        self.assertEqual(kinds, ["audio-before-opened", "partial-sample", "bad-seq", "bad-serverseq", "bad-position",
                                 "position-mismatch", "paused-frame", "unknown-type", "not-json", "after-close"])

    def test_media_choices_and_a_server_disconnect(self):
        server = self.server("--audiohook-media", "internal", "--stop-channel-after-frames", "3")

        async def body(c):
            opened = await c.open()
            for _ in range(5):
                await c.audio(b"\x11" * 160, channels=1)
            disconnect = await c.receive()
            await c.send("close", {"reason": "disconnect"})
            return opened, disconnect, await c.receive()
        opened, disconnect, closed = self.session(server, body)
        self.assertEqual(opened["parameters"]["media"], [OFFERS[2]])
        self.assertEqual((disconnect["type"], disconnect["parameters"]["reason"]), ("disconnect", "completed"))
        self.assertEqual(closed["type"], "closed")
        server.wait_event("close")
        self.assertEqual(server.violations(), [])
        self.assertEqual([(c["channel"], c["leg"]) for c in server.recorded_channels()], [(2, "callee")])
        self.assertEqual(server.raw(2), b"\x11" * 480, "frames after the disconnect are late, not recorded")

        none = self.server("--audiohook-media", "none")

        async def probe(c):
            opened = await c.open()
            await c.ws.send(b"\xff" * 320)  # no media: not in the position
            await c.send("close", {"reason": "end"})
            await c.receive()
            return opened
        self.assertEqual(self.session(none, probe)["parameters"]["media"], [])
        none.wait_event("close")
        self.assertEqual(none.violation_kinds(), ["unexpected-audio"])

    def test_the_servers_pause_and_resume(self):
        server = self.server("--pause-after-frames", "2", "--pause-seconds", "0.3")

        async def body(c):
            await c.open()
            for _ in range(3):  # the third is in flight when `pause` comes: no violation
                await c.audio(b"\xff" * 320)
            pause = await c.receive()
            await c.send("paused")
            started = time.monotonic()
            resume = await c.receive()
            waited = time.monotonic() - started
            await c.send("resumed", {"start": c.position(), "discarded": "PT0.3S"})
            await c.send("close", {"reason": "end"})
            await c.receive()
            return pause, resume, waited
        pause, resume, waited = self.session(server, body)
        self.assertEqual((pause["type"], resume["type"]), ("pause", "resume"))
        self.assertGreater(waited, 0.2)
        server.wait_event("close")
        self.assertEqual(server.violations(), [])
        self.assertEqual([e["event"] for e in server.events() if e["event"] in ("server-pause", "server-resume")],
                         ["server-pause", "server-resume"])


class RawServer(harness.Harness):
    def server(self, *args, token=None):
        return SpeechServer(self, protocol="raw", token=token, args=args).start()

    def send(self, server, path, frames, texts=(), headers=None, replies=0):
        async def go():
            async with websockets.connect(server.url + path, extra_headers=headers or {}, open_timeout=5) as ws:
                got = []
                for f in frames:
                    await ws.send(f)
                for t in texts:
                    await ws.send(t)
                for _ in range(replies):
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
                return got
        before = len(server.closes())
        got = asyncio.run(go())
        server.wait_events("close", before + 1)
        return got

    def test_separate_and_interleaved_layouts_recorded_exactly(self):
        server = self.server("--auth-scheme", "Token", "--reply-every-frames", "5", token="tok")
        auth = {"Authorization": "Token tok"}
        rnd = random.Random(3)
        caller = [bytes(rnd.randrange(256) for _ in range(160)) for _ in range(10)]
        callee = [bytes(rnd.randrange(256) for _ in range(160)) for _ in range(10)]
        replies = self.send(server, "/listen?lang=en&channel=caller", caller, ['{"type":"end"}'], auth, replies=2)
        self.assertEqual(replies, [{"transcript": "frame 5"}, {"transcript": "frame 10"}])
        self.send(server, "/listen?channel=callee", callee, [], auth)
        stereo = [bytes(b for pair in zip(a, b) for b in pair) for a, b in zip(caller, callee)]
        self.send(server, "/listen", stereo, [], auth)
        self.assertEqual(server.violations(), [])
        layouts = [(e["conn"], e["layout"], e["channels"]) for e in server.events("layout")]
        self.assertEqual(layouts, [(1, "separate", ["caller"]), (2, "separate", ["callee"]),
                                   (3, "interleaved", ["caller", "callee"])])
        self.assertEqual(server.raw(1, conn=1), b"".join(caller))
        self.assertEqual(server.raw(2, conn=2), b"".join(callee))
        self.assertEqual(server.raw(1, conn=3), b"".join(caller))
        self.assertEqual(server.raw(2, conn=3), b"".join(callee))
        self.assertEqual([e["text"] for e in server.controls()], ['{"type":"end"}'])

    def test_token_scheme_and_partial_samples(self):
        server = self.server(token="tok")  # scheme Bearer
        with self.assertRaises(websockets.InvalidStatusCode):
            self.send(server, "/listen", [], headers={"Authorization": "Token tok"})
        self.send(server, "/listen", [b"\xff" * 321], headers={"Authorization": "Bearer tok",
                                                                "Sec-WebSocket-Protocol": "voxfork.v1"})
        self.assertEqual([r["reason"] for r in server.rejections()], ["wrong token"])
        self.assertEqual(server.violation_kinds(), ["subprotocol", "partial-sample"])


if __name__ == "__main__":
    harness.main()
