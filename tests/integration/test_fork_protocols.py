"""Forks in every protocol to the reference speech server (tools/speech-server),
end to end: a SIPp controller asks voxforkd to fork its call, the agent
answers, and speech-server, run with --protocol voxfork-v1|audiohook|raw,
checks and records what arrives. Checked per protocol: the status INFOs,
every audio byte of each party in its channel's recording (clock-paced
protocols: whole and surrounded by silence only), the protocol's own end
(STOP, close/closed, the stop message and close 1000) and no violation.

And isolation: one server misbehaving (garbage text, then a close) in one
protocol leaves the forks of other calls, in other protocols, untouched:
their audio arrives byte for byte and they stay active until stopped."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import GUID, ForkTest, Steps, pattern, start, statuses, stop  # noqa: E402
from harness import wait_for  # noqa: E402
from sipp import wait_all  # noqa: E402
from speech_server import SpeechServer  # noqa: E402

ORG = "d7934305-0972-4844-938e-9060eef73d05"
SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xIQ=="
TOKEN = "tok-1"
STOP_MESSAGE = '{"type":"end"}'

PROFILE_LINES = {
    "voxfork-v1": [],
    "audiohook": [" protocol audiohook", f" audiohook organization-id {ORG}", f" audiohook client-secret {SECRET}"],
    "raw": [" protocol raw", " raw layout separate", " raw auth-scheme Token", f" raw stop-message {STOP_MESSAGE}"],
}
SERVER_ARGS = {
    "voxfork-v1": [],
    "audiohook": ["--audiohook-secret", SECRET],
    "raw": ["--auth-scheme", "Token", "--reply-every-frames", "10"],
}


class ForkProtocols(ForkTest):
    def forked_call(self, protocol):
        self.start_fork_daemon(profile_lines=PROFILE_LINES[protocol])
        server = SpeechServer(self, protocol=protocol, token=TOKEN, args=SERVER_ARGS[protocol]).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2)
        c = (Steps().info(start(server.port, path="/v1/listen", token=TOKEN), "STARTED")
             .sync().stream(caller_file, ms=1500).info(stop(), "STOPPED").pause(300))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        [started, stopped] = statuses(ctl)
        self.assertEqual((started["status"], started["call-guid"]), ("STARTED", GUID))
        self.assertEqual(stopped, {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"})
        if protocol != "voxfork-v1":  # a voxfork-v1 connection stays open for other calls
            expected_closes = 2 if protocol == "raw" else 1
            closes = server.wait_events("close", expected_closes)
            self.assertEqual({c["by"] for c in closes}, {"client"}, closes)
            self.assertEqual({c["code"] for c in closes}, {1000}, closes)
            self.assertEqual([c["open_channels"] for c in closes], [[]] * expected_closes)
        self.assert_no_calls()
        server.stop()
        self.assertEqual(server.violations(), [])
        return server, caller_bytes, callee_bytes

    def recordings(self, server):
        """{leg: the channel's recorded bytes} (one connection per leg at most)."""
        out = {}
        for ev in server.recorded_channels():
            self.assertNotIn(ev["leg"], out, "one recording per leg")
            out[ev["leg"]] = server.raw(ev["channel"], ev["conn"])
        return out

    def test_voxfork_v1_every_byte_in_its_channel(self):
        server, caller_bytes, callee_bytes = self.forked_call("voxfork-v1")
        got = self.recordings(server)
        self.assertEqual(got, {"caller": caller_bytes, "callee": callee_bytes})
        self.assert_arrives(lambda: [m["reason"] for m in server.messages("STOP")], ["Forking stopped"] * 2)

    def test_audiohook_every_byte_in_its_channel(self):
        server, caller_bytes, callee_bytes = self.forked_call("audiohook")
        [conn] = server.connections()
        self.assertEqual(conn["headers"]["x-api-key"], TOKEN)
        self.assertIn("signature-input", conn["headers"])
        types = [ev["type"] for ev in server.controls()]
        self.assertEqual((types[0], types[-1]), ("open", "close"))
        sent = [ev["type"] for ev in server.events("server-message")]
        self.assertEqual((sent[0], sent[-1]), ("opened", "closed"))
        got = self.recordings(server)
        self.assertEqual(set(got), {"caller", "callee"})
        self.assertEqual(len(got["caller"]), len(got["callee"]), "stereo frames: both channels equally long")
        self.assert_paced_audio(got["caller"], caller_bytes, "external (caller)")
        self.assert_paced_audio(got["callee"], callee_bytes, "internal (callee)")
        summary = server.summary()
        self.assertEqual({(c["leg"], c["stopped"], c["stop_reason"]) for c in summary["channels"]},
                         {("caller", True, "end"), ("callee", True, "end")})

    def test_audiohook_server_pause_and_resume(self):
        """The server's `pause`, then `resume` 0.6 s later: PAUSED (server) and
        RESUMED to the controller, `paused` and `resumed` to the server, the
        discarded audio a gap in the channel's time line, no violation."""
        self.start_fork_daemon(profile_lines=PROFILE_LINES["audiohook"])
        server = SpeechServer(self, protocol="audiohook", token=TOKEN,
                              args=SERVER_ARGS["audiohook"] + ["--pause-after-frames", "10", "--pause-seconds", "0.6"]
                              ).start()
        caller_file, _ = pattern(self, "caller.ulaw", 1, packets=150)
        c = (Steps().info(start(server.port, path="/v1/listen", token=TOKEN), "STARTED")
             .stream(caller_file, ms=0).status("PAUSED").status("RESUMED").pause(1500).info(stop(), "STOPPED"))
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([s["status"] for s in got], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        self.assertEqual(got[1]["reason"], "server")
        server.wait_event("close")
        types = [ev["type"] for ev in server.controls() if ev["type"] != "ping"]
        self.assertEqual(types, ["open", "paused", "resumed", "close"])
        self.assertEqual([ev["type"] for ev in server.events("server-message")],
                         ["opened", "pause", "resume", "closed"])
        resumed = server.messages("resumed")[0]["parameters"]
        positions = [f["position"] for f in server.frames(1)]
        steps = [b - a for a, b in zip(positions, positions[1:]) if b - a != 160]
        self.assertEqual(len(steps), 1, "one gap: the pause")
        self.assertAlmostEqual(steps[0] - 160, float(resumed["discarded"][2:-1]) * 8000, delta=1)
        self.assertGreater(steps[0], 0.4 * 8000)
        server.stop()
        self.assertEqual(server.violations(), [])

    def test_raw_every_byte_in_its_channel(self):
        server, caller_bytes, callee_bytes = self.forked_call("raw")
        paths = sorted(c["path"] for c in server.connections())
        self.assertEqual(paths, ["/v1/listen?channel=callee", "/v1/listen?channel=caller"])
        self.assertEqual({c["authorization"] for c in server.connections()}, {f"Token {TOKEN}"})
        self.assertEqual([ev["text"] for ev in server.controls()], [STOP_MESSAGE] * 2)
        self.assertTrue(server.events("send-text") == [] and server.frames())
        got = self.recordings(server)
        self.assert_paced_audio(got["caller"], caller_bytes, "caller")
        self.assert_paced_audio(got["callee"], callee_bytes, "callee")


NUMBERS = {"voxfork-v1": "6777", "audiohook": "6778", "raw": "6779"}
GUIDS = {"voxfork-v1": GUID, "audiohook": "8F3B2C1A0E7D11EF9A2B00505688C0D1", "raw": "8F3B2C1A0E7D11EF9A2B00505688C0D2"}
# Garbage, then a close that is no normal end: what a broken server does.
MISBEHAVE = ["--send-text-after-frames", "5", "--send-text", "}{ this is not a message",
             "--close-after-frames", "10", "--close-code", "1011", "--close-reason", "misbehaving"]


def route(protocol, index, agent_port):
    """A number of its own (NUMBERS) whose calls go to `agent_port` and fork
    with a profile speaking `protocol`: configuration lines."""
    profile, media_class, peer = 100 + index, 10 + index, 910 + 2 * index
    return "\n".join([
        f"media profile stream-service {profile}", " connection calls-threshold 3", " connection idle-timeout 30",
        *PROFILE_LINES[protocol], "!",
        f"media class {media_class}", f" stream-service profile {profile}", "!",
        f"dial-peer voice {peer} voip", " session protocol sipv2", f" incoming called-number {NUMBERS[protocol]}", "!",
        f"dial-peer voice {peer + 1} voip", f" destination-pattern {NUMBERS[protocol]}", " session protocol sipv2",
        f" session target ipv4:127.0.0.1:{agent_port}", " session transport udp", f" media-class {media_class}",
        "!"])


class Isolation(ForkTest):
    """Three calls at once, each forked in another protocol to a server of its
    own; `bad`'s server sends garbage and closes with 1011 after 10 frames."""

    def three_calls(self, bad):
        others = [p for p in NUMBERS if p != "voxfork-v1"]
        agent_ports = {p: harness.free_port(pair=True) for p in others}
        extra = "\n".join(route(p, i, agent_ports[p]) for i, p in enumerate(others))
        self.start_fork_daemon(profile_lines=PROFILE_LINES["voxfork-v1"], extra=extra)
        agent_ports["voxfork-v1"] = self.uas_port
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2)
        runs = {}
        for seed, protocol in enumerate(NUMBERS, start=3):
            args = SERVER_ARGS[protocol] + (MISBEHAVE if protocol == bad else [])
            server = SpeechServer(self, protocol=protocol, token=TOKEN, args=args, name=protocol).start()
            caller_file, caller_bytes = pattern(self, f"caller-{protocol}.ulaw", seed)
            guid = GUIDS[protocol]
            c = (Steps().info(start(server.port, guid=guid, path="/v1/listen", token=TOKEN), "STARTED").sync())
            if protocol == bad:
                # Its status comes while the caller streams; the call goes on after it.
                c.stream(caller_file, ms=0).status(".status.: *.(STOPPED|ERROR).").pause(300)
            else:
                # Held until the test has looked at them after the bad fork ended.
                c.stream(caller_file, ms=0).wait_sync().info(stop(guid), "STOPPED").pause(300)
            agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100), port=agent_ports[protocol])
            port = self.uac_port if protocol == "voxfork-v1" else harness.free_port(pair=True)
            ctl = self.controller(c, port=port, service=NUMBERS[protocol])
            runs[protocol] = (server, ctl, agent, caller_bytes)

        server, ctl, agent, _ = runs[bad]
        wait_all(self, ctl, agent)
        server.wait_event("server-close")
        [started, ended] = statuses(ctl)
        self.assertEqual(started["status"], "STARTED")
        self.assertIn(ended["status"], ("STOPPED", "ERROR"), ended)
        # The bad call is gone; the other two forks are still up, untouched.
        # Two rows (legs) per call.
        wait_for(lambda: self.fork_column() == ["active"] * 4, 10, what="the other two forks active")
        good = [p for p in NUMBERS if p != bad]
        for protocol in good:
            server, _, agent, caller_bytes = runs[protocol]
            wait_for(lambda: self.arrived(server, caller_bytes, callee_bytes), 15, what=f"{protocol}: all audio")
            self.release(agent)
        wait_all(self, *[r for p in good for r in runs[p][1:3]])
        for protocol in good:
            server, ctl, _, caller_bytes = runs[protocol]
            self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "STOPPED"], protocol)
            self.assertEqual(statuses(ctl)[1]["reason"], "Forking stopped", protocol)
            if protocol != "voxfork-v1":
                server.wait_events("close", 2 if protocol == "raw" else 1)
            server.stop()
            self.assertEqual(server.violations(), [], protocol)
            got = self.recorded(server)
            if protocol == "voxfork-v1":
                self.assertEqual(got, {"caller": caller_bytes, "callee": callee_bytes})
            else:
                self.assert_paced_audio(got["caller"], caller_bytes, f"{protocol} caller")
                self.assert_paced_audio(got["callee"], callee_bytes, f"{protocol} callee")
        stats = self.statistics()
        self.assertEqual((stats["Forks started"], stats["Forks active"]), (3, 0))
        self.assert_no_calls()

    def recorded(self, server):
        """{leg: the bytes recorded so far}."""
        return {ev["leg"]: server.raw(ev["channel"], ev["conn"]) for ev in server.recorded_channels()}

    def arrived(self, server, caller_bytes, callee_bytes):
        got = self.recorded(server)
        return caller_bytes in got.get("caller", b"") and callee_bytes in got.get("callee", b"")

    def test_a_misbehaving_voxfork_v1_server_leaves_audiohook_and_raw_forks_untouched(self):
        self.three_calls("voxfork-v1")

    def test_a_misbehaving_audiohook_server_leaves_voxfork_v1_and_raw_forks_untouched(self):
        self.three_calls("audiohook")

    def test_a_misbehaving_raw_server_leaves_voxfork_v1_and_audiohook_forks_untouched(self):
        self.three_calls("raw")


if __name__ == "__main__":
    harness.main()
