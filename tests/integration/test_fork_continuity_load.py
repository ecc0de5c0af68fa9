"""A speech-server restart under load (docs/stream.md, Continuity): 100 forked
calls share 5 voxfork-v1 connections (calls-threshold 20); the reference
speech server restarts (every connection reset, the port closed for 1 s, then
open again). Every fork is paused and resumed, every call's audio arrives at
the server byte for byte across the restart (each channel's files of both
connections, the repeated seq of the replay dropped by the server), and the
calls never notice: SIPp sees every call through.

Event-driven: the restart is triggered by a connection of the test's own, the
server's first (the only faulty one: --fault-limit 1), which sends its frames
once every call's caller audio reached the server (then every controller
waits for its PAUSED). Runs under the sanitizers too: a channel that came up
one frame short there was the reference server's doing (a frame read before
its reset was counted, not written), not the daemon's; docs/stream.md."""

import base64
import json
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import ForkTest, Steps, pattern, start, statuses, stop  # noqa: E402
from harness import LOOPBACK, wait_for  # noqa: E402
from sipp import wait_all  # noqa: E402

CALLS = 100
THRESHOLD = 20
PACKETS = 400  # 8 s a side: the restart comes well inside
RESTART_AFTER = 5  # frames of the trigger connection
PER_CALL = "CALL-[call_number]"  # a call-guid per SIPp call
TRIGGER_CHANNEL = 4000000000


class TriggerClient:
    """A bare voxfork.v1 client: one channel, frames sent when the test says."""

    def __init__(self, h, port):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=10)
        h.addCleanup(self.sock.close)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /trigger HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: voxfork.v1\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(4096)
        h.assertTrue(answer.startswith(b"HTTP/1.1 101"), answer)

    def send(self, opcode, payload):
        mask = os.urandom(4)
        head = bytes([0x80 | opcode]) + (bytes([0x80 | len(payload)]) if len(payload) < 126
                                         else bytes([0x80 | 126]) + struct.pack(">H", len(payload)))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def channel_audio(server, channel):
    """The channel's bytes over every connection that started it, in order."""
    starts = [ev for ev in server.controls("START", channel=channel) if "raw" in ev]
    return b"".join(server.raw(channel, conn=ev["conn"]) for ev in starts)


def describe(server, channel, got, sent):
    """Where `got` first differs from `sent` (20 ms frames) and what each
    connection of the channel recorded: says which frames a short channel
    lacks (at the loss, at the end)."""
    counts = [f"conn {ev['conn']}: {len(server.raw(channel, conn=ev['conn'])) // 160} frames"
              for ev in server.controls("START", channel=channel) if "raw" in ev]
    first = next((i for i in range(0, min(len(got), len(sent)), 160) if got[i:i + 160] != sent[i:i + 160]),
                 min(len(got), len(sent)))
    return f"{len(got) // 160} of {len(sent) // 160} frames, the first differing is frame {first // 160}; " + \
        "; ".join(counts)


class SharedConnectionsThroughARestart(ForkTest):
    def test_100_calls_on_5_connections_keep_every_byte_through_a_restart(self):
        # Relay ports for 100 calls (4 a call) and some taken by others.
        self.start_fork_daemon(threshold=THRESHOLD, profile_lines=(" connection reconnect window 10",),
                               rtp_span=1000)
        server = self.speech(args=("--restart-after-frames", str(RESTART_AFTER), "--restart-seconds", "1",
                                   "--fault-limit", "1", "--no-frame-events"))
        # The trigger: the server's first connection, a channel of its own.
        trigger = TriggerClient(self, server.port)
        trigger.send(1, json.dumps({"type": "START", "channel": TRIGGER_CHANNEL, "call-guid": "TRIGGER", "call-id": "t",
                                    "leg": "caller", "codec": "PCMU", "rate": 8000, "metadata": {}}).encode())
        server.wait_events("control", 1, type="START")

        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, PACKETS)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, PACKETS)
        # Each call streams 8 s each way; the STOP comes once both streams
        # are out (SIPp paces them on its own clock).
        c = (Steps().info(start(server.port, guid=PER_CALL), "STARTED").sync().stream(caller_file, ms=0)
             .status("PAUSED", timeout_ms=30000).status("RESUMED", timeout_ms=30000).pause(PACKETS * 20 + 500)
             .info(stop(PER_CALL), "STOPPED"))
        a = Steps().wait_sync().stream(callee_file, ms=0)
        agent = self.agent(a, calls=CALLS, timeout=90)
        ctl = self.controller(c, calls=CALLS, rate=50, limit=CALLS, timeout=90)

        # Restart the server once every call's controller waits for its
        # PAUSED: its caller audio, sent in the step before, reached the
        # server (a status INFO that comes earlier is answered by -aa and
        # missed). A channel's STARTED alone is too early on a slow host.
        started = server.wait_events("channel", 1 + 2 * CALLS, timeout=30)
        files = [os.path.join(server.out_dir, ev["raw"]) for ev in started
                 if ev["leg"] == "caller" and ev["channel"] != TRIGGER_CHANNEL]
        wait_for(lambda: all(os.path.getsize(f) > 0 for f in files), 30, what="every caller's audio at the server")
        for seq in range(RESTART_AFTER):
            trigger.send(2, struct.pack(">III", TRIGGER_CHANNEL, seq, seq * 160) + b"\xff" * 160)
        server.wait_events("restart", 1, timeout=10)

        wait_all(self, ctl, agent, timeout=90)
        for status in ("PAUSED", "RESUMED"):
            self.assertEqual(len([s for s in statuses(ctl) if s["status"] == status]), CALLS, status)
        self.assertEqual(len([s for s in statuses(ctl) if s["status"] == "STOPPED"]), CALLS)

        starts = [ev for ev in server.controls("START") if ev["msg"].get("call-guid", "").startswith("CALL-")]
        firsts = [ev for ev in starts if not ev["msg"].get("resumed")]
        self.assertEqual(len(firsts), 2 * CALLS)
        self.assertEqual(len({ev["conn"] for ev in firsts}), CALLS // THRESHOLD, "the calls shared 5 connections")
        self.assertEqual(len([ev for ev in starts if ev["msg"].get("resumed")]), 2 * CALLS, "every channel resumed")
        for ev in firsts:
            sent = caller_bytes if ev["msg"]["leg"] == "caller" else callee_bytes
            try:
                wait_for(lambda: len(channel_audio(server, ev["channel"])) >= len(sent), 20,
                         what=f"all audio of channel {ev['channel']}")
            except AssertionError:
                pass  # the comparison below says what is missing
            got = channel_audio(server, ev["channel"])
            self.assertEqual(got, sent, f"every byte of {ev['msg']['call-guid']} {ev['msg']['leg']}, once, in order: "
                             + describe(server, ev["channel"], got, sent))

        stats = self.statistics()
        self.assertEqual(stats["Reconnects succeeded"], CALLS // THRESHOLD)
        self.assertEqual(stats["Forks resumed after reconnect"], CALLS)
        self.assertEqual(stats["Frames dropped"], 0, self.drop_warnings())
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
