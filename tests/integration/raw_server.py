"""A streaming speech-to-text server of the kind the `raw` protocol is for, on
loopback: it takes bare G.711 binary frames and records, per WebSocket, the
upgrade's path and headers, every binary and text frame, and the close. It can
answer every tenth binary frame with a text transcript, as such services do,
or answer as a function of the connection says.

    server = RawServer(self, reply=True).start()
    ... fork to server.port ...
    [conn] = server.wait_connections(1)
    server.wait_closed(1)
    conn.audio()          # the bytes of every binary frame, in order
"""

import json

import websockets

from harness import wait_for
from ws_test_server import LoopbackWsServer


class Connection:
    def __init__(self, path, headers):
        self.path = path
        self.headers = headers
        self.frames = []  # bytes of each binary frame
        self.texts = []
        self.close_code = None
        self.closed = False
        self.aborted = False

    def audio(self):
        return b"".join(self.frames)


class RawServer(LoopbackWsServer):
    def __init__(self, h, reply=False, abort_after=None):
        """reply: True for a transcript every tenth binary frame, or a function
        of the Connection (called at each binary frame) that returns the text
        to answer or None. abort_after: the first connection is dropped (TCP
        reset, no close frame) once it brought that many binary frames."""
        super().__init__(h)
        self.reply = reply
        self.abort_after = abort_after
        self.conns = []

    async def _handle(self, ws, path):
        conn = Connection(path, {k.lower(): v for k, v in ws.request_headers.raw_items()})
        self.conns.append(conn)
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    conn.frames.append(message)
                    if self.abort_after and conn is self.conns[0] and len(conn.frames) == self.abort_after:
                        conn.aborted = True
                        ws.transport.abort()
                        break
                    answer = self._answer(conn)
                    if answer is not None:
                        try:
                            await ws.send(answer)
                        except websockets.ConnectionClosed:
                            pass  # the client closed meanwhile: what it sent before the close is still to be read
                else:
                    conn.texts.append(message)
        except websockets.ConnectionClosed:
            pass
        conn.close_code = ws.close_code
        conn.closed = True

    def _answer(self, conn):
        if callable(self.reply):
            return self.reply(conn)
        if self.reply and len(conn.frames) % 10 == 0:
            return json.dumps({"transcript": f"frame {len(conn.frames)}"})
        return None

    def wait_connections(self, n, timeout=10):
        return wait_for(lambda: self.conns[:n] if len(self.conns) >= n else None, timeout,
                        what=f"{n} raw connection(s)")

    def wait_closed(self, n, timeout=10):
        return wait_for(lambda: [c for c in self.conns if c.closed] if sum(c.closed for c in self.conns) >= n
                        else None, timeout, what=f"{n} raw connection(s) closed")
