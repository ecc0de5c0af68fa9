"""Frames a reference server does not send, from a small python websockets
server: a fragmented STOP (reassembled and obeyed), an oversized message (the
connection is closed, its calls get `Connection closed`), and a 101 answer
without the right accept key."""

import json
import os
import socket
import subprocess
import textwrap

import harness
from harness import LOOPBACK, free_port, wait_for
from ws_probe import WsProbe, profile_config

SERVER = textwrap.dedent("""
    import asyncio, json, sys
    import websockets

    mode, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w")

    async def handler(ws, path=None):
        # The client may close while a send is still under way (it refuses
        # the huge message): a send can end the connection as well as the loop.
        try:
            start_text = await ws.recv()
            start = json.loads(start_text)
            print(json.dumps({"start_text": start_text}), file=log, flush=True)
            if mode == "badtypes":
                # Fields of unexpected types: each frame is ignored, none may
                # end the client; the STOP after them is still obeyed.
                for bad in ({"type": 5}, {"type": True}, {"type": {}}, {"type": None}, {"type": [1]},
                            {"type": "STOP", "channel": "x"}, {"type": "STOP", "channel": -1},
                            {"type": "STOP", "channel": 1.5}, {"type": "STOP", "channel": 1 << 40},
                            [1, 2], "text", 5):
                    await ws.send(json.dumps(bad))
                await ws.send(json.dumps({"type": "STOP", "channel": start["channel"], "reason": 7}))
            elif mode == "fragmented":
                stop = json.dumps({"type": "STOP", "channel": start["channel"], "reason": "bye"})
                await ws.send([stop[:5], stop[5:12], stop[12:]])
            elif mode == "huge":
                await ws.send("x" * (1 << 20))
            async for _ in ws:
                pass
        except websockets.ConnectionClosed:
            pass
        print(json.dumps({"close_code": ws.close_code}), file=log, flush=True)

    async def main():
        async with websockets.serve(handler, "127.0.0.1", port, max_size=None,
                                    subprotocols=["voxfork.v1"]):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())
""")


class FramesTest(harness.Harness):
    def start_server(self, mode):
        port = free_port()
        script = os.path.join(self.tmpdir, "server.py")
        with open(script, "w") as f:
            f.write(SERVER)
        self.server_log = os.path.join(self.tmpdir, f"{mode}.log")
        proc = self.spawn(["/usr/bin/python3", script, mode, str(port), self.server_log],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.assertEqual(proc.stdout.readline().strip(), b"ready")
        return port

    def raw_server(self, answer):
        """Answers any request with `answer` (bytes) and closes."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen()
        self.on_cleanup(listener.close)
        import threading

        def serve():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(answer)
        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    def test_fragmented_stop_is_reassembled(self):
        port = self.start_server("fragmented")
        p = WsProbe(self, profile_config()).start(LOOPBACK, port, profile=1, frames=20, interval_ms=5, keep=True)
        p.wait_for("server_stop")
        p.finish()
        [event] = p.events("server_stop")
        self.assertEqual((event["reason"], event["server_reason"]), ("Connection closed", "bye"))

    def test_text_frames_with_fields_of_other_types_are_ignored(self):
        """docs/speech-server-protocol.md: any other text frame is ignored; a STOP whose reason is no
        string still stops (with no reason)."""
        port = self.start_server("badtypes")
        p = WsProbe(self, profile_config()).start(LOOPBACK, port, profile=1, frames=20, interval_ms=5, keep=True)
        p.wait_for("server_stop")
        [event] = p.events("server_stop")
        self.assertEqual((event["reason"], event["server_reason"]), ("Connection closed", ""))
        self.assertEqual(p.events("connection_lost"), [])
        p.finish()  # the kept call's connection closes now
        # The START came with its keys in docs/speech-server-protocol.md's order.
        def first_line():
            with open(self.server_log) as f:
                return f.readline()
        first = json.loads(wait_for(first_line, 10, what="server log"))
        self.assertTrue(first["start_text"].startswith('{"type":"START","channel":'), first)
        self.assertEqual(list(json.loads(first["start_text"])),
                         ["type", "channel", "call-guid", "call-id", "leg", "codec", "rate", "metadata"])

    def test_oversized_message_closes_the_connection(self):
        port = self.start_server("huge")
        p = WsProbe(self, profile_config()).run(LOOPBACK, port, profile=1, frames=20, interval_ms=5,
                                                shows=["show voip stream-service connection history"])
        self.assertEqual([e["reason"] for e in p.events("connection_lost")], ["Connection closed"])
        code = wait_for(lambda: (lambda log: log if '"close_code"' in log else None)(open(self.server_log).read()), 10,
                        what="server close")
        self.assertIn('"close_code": 1009', code)

    def test_wrong_accept_key_fails(self):
        port = self.raw_server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n")
        p = WsProbe(self, profile_config()).run(LOOPBACK, port, profile=1)
        self.assertEqual(p.reasons(), ["Connection failed"])
        self.assertEqual(p.stats()["HTTP connection failures"], 1)

    def test_garbage_instead_of_http_fails(self):
        port = self.raw_server(b"\x00\x01garbage\r\n\r\n")
        p = WsProbe(self, profile_config()).run(LOOPBACK, port, profile=1)
        self.assertEqual(p.reasons(), ["Connection failed"])
        self.assertEqual(p.stats()["HTTP connection failures"], 1)


if __name__ == "__main__":
    harness.main()
