"""A `raw` speech service on a bare socket, for what TCP acknowledged at a
loss: its first connection reads `stall_after` binary frames, then stops
reading for `stall` seconds (its receive buffer is a few kB, so the client's
TCP soon holds frames this server never acknowledged), takes what its kernel
buffer holds (peeked: reading would open the window again) and resets the
connection. Every other connection is read to its end. Each connection's
binary frames are recorded, in order.

    server = StallingRawServer(self, stall_after=40).start()
    ... fork to server.port ...
    server.conns[i].path, .frames, .reset
"""

import base64
import hashlib
import socket
import struct
import threading

from harness import LOOPBACK, wait_for

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Conn:
    def __init__(self, path):
        self.path = path
        self.frames = []
        self.reset = False  # the stalled one, reset by the server
        self.closed = False

    def audio(self):
        return b"".join(self.frames)


def parse_frames(buf):
    """Complete client frames at the start of `buf`: ([(opcode, payload)], bytes used)."""
    out, at = [], 0
    while len(buf) - at >= 2:
        b0, b1 = buf[at], buf[at + 1]
        n, head = b1 & 0x7F, 2
        if n == 126:
            if len(buf) - at < 4:
                break
            n, head = struct.unpack(">H", buf[at + 2:at + 4])[0], 4
        elif n == 127:
            if len(buf) - at < 10:
                break
            n, head = struct.unpack(">Q", buf[at + 2:at + 10])[0], 10
        masked = b1 & 0x80
        end = at + head + (4 if masked else 0) + n
        if end > len(buf):
            break
        payload = buf[end - n:end]
        if masked:
            key = buf[at + head:at + head + 4]
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        out.append((b0 & 0x0F, payload))
        at = end
    return out, at


class StallingRawServer:
    def __init__(self, h, stall_after, stall=0.8):
        self.h = h
        self.stall_after = stall_after
        self.stall = stall
        self.conns = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by the accepted sockets: a small window that fills fast.
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        self._sock.bind((LOOPBACK, 0))
        self.port = self._sock.getsockname()[1]

    def start(self):
        self._sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        self.h.addCleanup(self._sock.close)
        return self

    def _accept(self):
        while True:
            try:
                s, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s):
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = s.recv(4096)
            if not data:
                return s.close()
            buf += data
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + WS_GUID).digest())
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        conn = Conn(lines[0].split()[1])
        first = not self.conns
        self.conns.append(conn)
        while True:
            frames, used = parse_frames(buf)
            buf = buf[used:]
            for i, (opcode, payload) in enumerate(frames):
                if opcode == 2:
                    conn.frames.append(payload)
                elif opcode == 8:
                    s.sendall(b"\x88" + bytes([len(payload)]) + payload)
                    conn.closed = True
                    return s.close()
                elif opcode == 9:
                    s.sendall(b"\x8a" + bytes([len(payload)]) + payload)
                if first and len(conn.frames) == self.stall_after:
                    return self._stall_and_reset(s, conn, buf, frames[i + 1:])
            data = s.recv(65536)
            if not data:
                conn.closed = True
                return s.close()
            buf += data

    def _stall_and_reset(self, s, conn, buf, parsed_after):
        # What was parsed already, and what the kernel acknowledged, was
        # received; what the client's TCP still holds was not.
        for opcode, payload in parsed_after:
            if opcode == 2:
                conn.frames.append(payload)
        threading.Event().wait(self.stall)
        try:
            buf += s.recv(1 << 20, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            pass
        for opcode, payload in parse_frames(buf)[0]:
            if opcode == 2:
                conn.frames.append(payload)
        conn.reset = True
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()

    def wait_connections(self, n, timeout=10):
        return wait_for(lambda: self.conns[:n] if len(self.conns) >= n else None, timeout,
                        what=f"{n} raw connection(s)")
