#!/usr/bin/python3
"""Plays relay-bench's traffic through rtpengine's userspace relay, to compare
voxfork's relay with the reference on the same host and the same load.

    tools/relay-bench/compare-rtpengine.py BUILD_DIR SESSIONS [SECONDS] [THREADS]

Needs Debian's rtpengine-daemon (not a voxfork dependency: this is a benchmark
helper). rtpengine runs without its kernel module (--table=-1), on 127.0.0.1,
with THREADS worker threads (default 1, like voxfork's one packet thread).
Calls are set up with its ng control protocol (offer, then answer), the far
ends being relay-bench's generator sockets; relay-bench then charges the whole
rtpengine process's CPU to the packets that came back.
"""
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

NG_PORT = 22299
CALLER_PORT, CALLEE_PORT = 38000, 38002
PORT_MIN = 50000


def bencode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(value.items())) + b"e"
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    raise TypeError(type(value))


def bdecode(data, at=0):
    """Returns (value, next offset)."""
    kind = data[at:at + 1]
    if kind == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1:end]), end + 1
    if kind in (b"d", b"l"):
        at += 1
        items = []
        while data[at:at + 1] != b"e":
            item, at = bdecode(data, at)
            items.append(item)
        if kind == b"l":
            return items, at + 1
        return {items[i].decode(): items[i + 1] for i in range(0, len(items), 2)}, at + 1
    colon = data.index(b":", at)
    length = int(data[at:colon])
    return data[colon + 1:colon + 1 + length], colon + 1 + length


class Ng:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2)

    def call(self, command):
        cookie = b"%08x" % random.getrandbits(32)
        self.sock.sendto(cookie + b" " + bencode(command), ("127.0.0.1", NG_PORT))
        while True:
            reply = self.sock.recv(65536)
            if reply.startswith(cookie + b" "):
                result, _ = bdecode(reply, len(cookie) + 1)
                if result.get("result") != b"ok":
                    raise RuntimeError(f"rtpengine refused {command['command']}: {result}")
                return result


def sdp(port):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")


def audio_port(answer_sdp):
    for line in answer_sdp.decode().splitlines():
        if line.startswith("m=audio "):
            return int(line.split()[1])
    raise RuntimeError("no m=audio in rtpengine's SDP")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, sessions = sys.argv[1], int(sys.argv[2])
    seconds = sys.argv[3] if len(sys.argv) > 3 else "10"
    threads = sys.argv[4] if len(sys.argv) > 4 else "1"
    with tempfile.TemporaryDirectory() as scratch:
        engine = subprocess.Popen(
            ["rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--log-level=4", "--table=-1",
             "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{NG_PORT}", f"--port-min={PORT_MIN}",
             f"--port-max={PORT_MIN + 4 * sessions + 100}", f"--num-threads={threads}"],
            stderr=open(os.path.join(scratch, "rtpengine.log"), "w"))
        try:
            time.sleep(1)
            ng = Ng()
            lines = []
            for i in range(sessions):
                call = {"call-id": f"bench-{i}", "from-tag": f"a{i}"}
                offered = ng.call({"command": "offer", "sdp": sdp(CALLER_PORT), **call})
                answered = ng.call({"command": "answer", "to-tag": f"b{i}", "sdp": sdp(CALLEE_PORT), **call})
                # The answer's SDP goes to the caller: where callers send.
                lines.append(f"{audio_port(answered['sdp'])} {audio_port(offered['sdp'])}\n")
            ports = os.path.join(scratch, "ports")
            with open(ports, "w") as f:
                f.writelines(lines)
            bench = subprocess.run(
                [os.path.join(build, "bin", "relay-bench"), "--external", str(engine.pid), ports,
                 "--generator-ports", str(CALLER_PORT), str(CALLEE_PORT), "--seconds", seconds])
            return bench.returncode
        finally:
            engine.terminate()
            engine.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
