"""An AudioHook v2 server for the tests, on loopback, checking what a client
sends as strictly as a real one: the upgrade's headers and (with a secret) its
HTTP message signature, every message's version, id, seq (each one more than
the last), serverseq (never ahead of ours) and position format, audio only
while the session is open and not paused, in whole samples of the chosen
channels. Anything else is a violation, recorded.

    server = AudiohookServer(self, secret=None).start()
    ... fork to server.port with a token ...
    [s] = server.wait_sessions(1)
    s.wait_closed()
    s.channel("external")   # the bytes of one channel, de-interleaved
    server.violations()     # [] for a well-behaved client
"""

import asyncio
import base64
import hashlib
import hmac
import http
import json
import re
import time

import websockets

from harness import wait_for
from ws_test_server import LoopbackWsServer

DURATION = re.compile(r"^PT(?:\d*\.)?\d+S$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Session:
    def __init__(self, path, headers):
        self.path = path
        self.headers = headers
        self.id = headers.get("audiohook-session-id")
        self.messages = []  # every client message, in order
        self.frames = []    # bytes of each binary frame
        self.media = None   # the entry chosen in `opened`
        self.paused = False
        self.closed = False  # the WebSocket ended
        self.close_code = None
        self.aborted = False    # reset by abort_after
        self.continued = None   # `open`'s continuedSessions
        self.opened = False     # `opened` sent
        self.ws = None

    def types(self):
        return [m.get("type") for m in self.messages]

    def channel(self, name):
        """One channel's bytes, from the interleaved frames; none while the
        session has not chosen it (before `opened`, or not among its media),
        so that a test polling a session that has just arrived waits."""
        data = b"".join(self.frames)
        channels = self.media["channels"] if self.media else []
        return data[channels.index(name)::len(channels)] if name in channels else b""


class AudiohookServer(LoopbackWsServer):
    """`opened`: "first" (the first offer), "empty" (no media), "none" (never
    answers), "unoffered" (media the client did not offer), "disconnect" (a
    `disconnect` instead); `reject`: an HTTP status for the upgrade; `secret`:
    base64, the signature is then required; `disconnect_after`: frames, then
    `disconnect`; `pause_after`: frames, then `pause`, and `resume` 500 ms
    later; `abort_after`: frames of the first session, then its TCP
    connection is reset (no close frame); `reconnect_after`: frames of the
    first session, then `reconnect`; `reopened`: how a session that
    continues another is answered (as `opened`, default "first"; a number:
    "first" after that many seconds); `closed_after`: seconds before a
    `close` is answered with `closed`; `misbehave`: (frames, [what...]) sends
    each `what` after that many frames: "seq-back" (a `pong` whose seq goes
    back), "unknown" (a message of no known type), "error" (an `error`), else
    as it is (str: a text frame, bytes: a binary one)."""

    def __init__(self, h, opened="first", reject=None, secret=None, disconnect_after=None, pause_after=None,
                 abort_after=None, reconnect_after=None, misbehave=None, reopened="first",
                 closed_after=0):
        super().__init__(h)
        self.misbehave = misbehave
        self.opened = opened
        self.reopened = reopened
        self.closed_after = closed_after
        self.reject = reject
        self.secret = base64.b64decode(secret) if secret else None
        self.disconnect_after = disconnect_after
        self.pause_after = pause_after
        self.abort_after = abort_after
        self.reconnect_after = reconnect_after
        self.sessions = []
        self.problems = []

    def violations(self):
        return list(self.problems)

    def wait_sessions(self, n, timeout=10):
        return wait_for(lambda: self.sessions[:n] if len(self.sessions) >= n else None, timeout,
                        what=f"{n} AudioHook session(s)")

    def _violation(self, what):
        self.problems.append(what)

    # -- the upgrade ----------------------------------------------------------

    async def _check_upgrade(self, path, headers):
        h = {k.lower(): v for k, v in headers.raw_items()}
        for name in ("audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id", "x-api-key"):
            if not h.get(name):
                self._violation(f"upgrade without {name}")
        if h.get("audiohook-session-id") and not UUID.match(h["audiohook-session-id"]):
            self._violation("session id is not a lower-case UUID")
        if self.secret is not None:
            problem = self._check_signature(path, h)
            if problem:
                self._violation(f"signature: {problem}")
                return (http.HTTPStatus.UNAUTHORIZED, [], b"Signature verification failed")
        if self.reject:
            return (http.HTTPStatus(self.reject), [], b"refused")
        return None

    def _check_signature(self, path, h):
        inp, sig = h.get("signature-input", ""), h.get("signature", "")
        m = re.match(r'^sig1=\(([^)]*)\);(.*)$', inp)
        s = re.match(r"^sig1=:([A-Za-z0-9+/=]+):$", sig)
        if not m or not s:
            return "malformed"
        names = [n.strip('"') for n in m.group(1).split(" ")]
        params = dict(p.split("=", 1) for p in m.group(2).split(";"))
        required = {"@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id",
                    "audiohook-correlation-id", "x-api-key"}
        if set(names) != required:
            return f"covers {names}"
        if params.get("keyid", "").strip('"') != h.get("x-api-key"):
            return "keyid is not the API key"
        if len(params.get("nonce", "").strip('"')) < 22:
            return "nonce too short"
        if params.get("alg") != '"hmac-sha256"':
            return "alg"
        if abs(int(params.get("created", "0")) - time.time()) > 10:
            return "created is not now"
        values = {"@request-target": path, "@authority": h.get("host", "")}
        lines = [f'"{n}": {values.get(n, h.get(n, ""))}' for n in names]
        lines.append(f'"@signature-params": ({m.group(1)});{m.group(2)}')
        mac = hmac.new(self.secret, "\n".join(lines).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, base64.b64decode(s.group(1))):
            return "signatures do not match"
        return None

    # -- the session ------------------------------------------------------------

    async def _handle(self, ws, path):
        s = Session(path, {k.lower(): v for k, v in ws.request_headers.raw_items()})
        s.ws = ws
        self.sessions.append(s)
        state = {"seq": 0, "client": 0, "opened": False}

        async def send(type_, parameters=None):
            state["seq"] += 1
            await ws.send(json.dumps({"version": "2", "type": type_, "id": s.id, "seq": state["seq"],
                                      "clientseq": state["client"], "parameters": parameters or {}}))

        try:
            async for data in ws:
                if isinstance(data, bytes):
                    await self._audio(s, state, data, send, ws)
                else:
                    await self._message(s, state, data, send)
        except websockets.ConnectionClosed:
            pass
        s.close_code = ws.close_code
        s.closed = True

    async def _audio(self, s, state, data, send, ws):
        if not state["opened"] or s.media is None:
            return self._violation("audio before `opened` or with no media")
        if s.paused:
            return self._violation("audio while paused")
        if len(data) % len(s.media["channels"]) != 0:
            return self._violation("audio frame not whole samples")
        s.frames.append(data)
        if self.abort_after and s is self.sessions[0] and len(s.frames) == self.abort_after:
            s.aborted = True
            s.ws.transport.abort()
            return
        if self.reconnect_after and s is self.sessions[0] and len(s.frames) == self.reconnect_after:
            await send("reconnect")
        if self.disconnect_after and len(s.frames) == self.disconnect_after:
            await send("disconnect", {"reason": "completed", "info": "test over"})
        if self.misbehave and len(s.frames) == self.misbehave[0]:
            for what in self.misbehave[1]:
                if what == "seq-back":
                    state["seq"] -= 2
                    await send("pong")
                    state["seq"] += 1
                elif what == "unknown":
                    await send("gossip", {"about": "the weather"})
                elif what == "error":
                    await send("error", {"code": 500, "message": "something broke"})
                else:
                    await ws.send(what)
        if self.pause_after and len(s.frames) == self.pause_after:
            await send("pause")
            await asyncio.sleep(0.5)
            await send("resume")

    async def _message(self, s, state, text, send):
        try:
            m = json.loads(text)
        except ValueError:
            return self._violation(f"not JSON: {text[:80]}")
        s.messages.append(m)
        if m.get("version") != "2" or m.get("id") != s.id:
            self._violation(f"envelope: {text[:200]}")
        if m.get("seq") != state["client"] + 1:
            self._violation(f"seq {m.get('seq')} after {state['client']}")
        state["client"] = m.get("seq", state["client"])
        if not isinstance(m.get("serverseq"), int) or m["serverseq"] > state["seq"]:
            self._violation(f"serverseq {m.get('serverseq')} ahead of {state['seq']}")
        if not DURATION.match(str(m.get("position", ""))):
            self._violation(f"position {m.get('position')}")
        kind = m.get("type")
        p = m.get("parameters", {})
        if kind == "open":
            await self._open(s, state, p, send)
        elif kind == "ping":
            await send("pong")
        elif kind == "close":
            await asyncio.sleep(self.closed_after)
            await send("closed")
        elif kind == "paused":
            s.paused = True
        elif kind == "resumed":
            if not (DURATION.match(str(p.get("start", ""))) and DURATION.match(str(p.get("discarded", "")))):
                self._violation(f"resumed without start/discarded: {p}")
            s.paused = False
        elif kind == "update":
            await send("updated")
        elif kind not in ("discarded", "error"):
            self._violation(f"unknown client message {kind}")

    async def _open(self, s, state, p, send):
        for field in ("organizationId", "conversationId"):
            if not UUID.match(str(p.get(field, ""))):
                self._violation(f"open {field} {p.get(field)}")
        participant = p.get("participant", {})
        if not UUID.match(str(participant.get("id", ""))) or not all(
                isinstance(participant.get(k), str) for k in ("ani", "aniName", "dnis")):
            self._violation(f"open participant {participant}")
        if p.get("organizationId") != s.headers.get("audiohook-organization-id"):
            self._violation("open organizationId differs from the header")
        continued = p.get("continuedSessions")
        if continued is not None:
            if not isinstance(continued, list) or not all(
                    isinstance(c, dict) and UUID.match(str(c.get("id", ""))) and isinstance(c.get("serverseq"), int)
                    and isinstance(c.get("clientseq"), int) for c in continued):
                self._violation(f"open continuedSessions {continued}")
            s.continued = continued
        how = self.opened if continued is None else self.reopened
        if isinstance(how, (int, float)):
            await asyncio.sleep(how)
            how = "first"
        if how == "none":
            return
        if how == "disconnect":
            return await send("disconnect", {"reason": "unauthorized", "info": "not today"})
        if how == "unoffered":
            state["opened"] = True
            return await send("opened", {"media": [{"type": "audio", "format": "L16", "channels": ["external"],
                                                    "rate": 16000}], "startPaused": False})
        media = p.get("media", [])
        s.media = media[0] if media and how == "first" else None
        state["opened"] = True
        await send("opened", {"media": [s.media] if s.media else [], "startPaused": False})
        s.opened = True
