"""A streaming speech-to-text server of the kind the `raw` protocol is for, on
loopback: it takes bare G.711 binary frames and records, per WebSocket, the
upgrade's path and headers, every binary and text frame, and the close. It can
answer each binary frame with a text transcript, as such services do.

    server = RawServer(self, reply=True).start()
    ... fork to server.port ...
    [conn] = server.wait_connections(1)
    server.wait_closed(1)
    conn.audio()          # the bytes of every binary frame, in order
"""

import asyncio
import json
import threading

import websockets

from harness import LOOPBACK, wait_for


class Connection:
    def __init__(self, path, headers):
        self.path = path
        self.headers = headers
        self.frames = []  # bytes of each binary frame
        self.texts = []
        self.close_code = None
        self.closed = False

    def audio(self):
        return b"".join(self.frames)


class RawServer:
    def __init__(self, h, reply=False):
        self.h = h
        self.reply = reply
        self.port = None
        self.conns = []
        self._loop = None
        self._ready = threading.Event()

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()
        if not self._ready.wait(10):
            raise AssertionError("raw server did not start")
        self.h.addCleanup(self.stop)
        return self

    def stop(self):
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)

    def _run(self):
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())

    async def _serve(self):
        self._stop = self._loop.create_future()
        async with websockets.serve(self._handle, LOOPBACK, 0, max_size=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    async def _handle(self, ws, path):
        conn = Connection(path, {k.lower(): v for k, v in ws.request_headers.raw_items()})
        self.conns.append(conn)
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    conn.frames.append(message)
                    if self.reply and len(conn.frames) % 10 == 0:
                        await ws.send(json.dumps({"transcript": f"frame {len(conn.frames)}"}))
                else:
                    conn.texts.append(message)
        except websockets.ConnectionClosed:
            pass
        conn.close_code = ws.close_code
        conn.closed = True

    def wait_connections(self, n, timeout=10):
        return wait_for(lambda: self.conns[:n] if len(self.conns) >= n else None, timeout,
                        what=f"{n} raw connection(s)")

    def wait_closed(self, n, timeout=10):
        return wait_for(lambda: [c for c in self.conns if c.closed] if sum(c.closed for c in self.conns) >= n
                        else None, timeout, what=f"{n} raw connection(s) closed")
