"""Forks in Genesys AudioHook v2, end to end through SIP: a SIPp controller asks
for the fork, the agent answers, an AudioHook server (audiohook_server.py,
strict about what a client sends) takes the session. Checked: the status
INFOs, the upgrade's headers and signature, `open`'s parameters, every audio
byte of each party in its channel of the stereo PCMU frames (A-law calls
converted), close/closed, and the failures: 401, no `opened`, the server's
`disconnect`; and a server that misbehaves (unreadable or unknown messages,
a seq that goes back, audio or a 10 MB message to the client, `opened` with
media never offered, `disconnect` before `opened`): logged, the fork ended
or failed with its reason where it must be, the call's relayed audio whole."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from audiohook_server import AudiohookServer  # noqa: E402
from fork_support import GUID, ForkTest, Steps, pattern, start, statuses, stop, update  # noqa: E402
from harness import wait_for  # noqa: E402
from sipp import wait_all  # noqa: E402

ORG = "d7934305-0972-4844-938e-9060eef73d05"
SECRET = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xIQ=="
METADATA = {"agent": "1001"}


def alaw_to_ulaw(data):
    """G.711 A-law bytes as µ-law bytes (through the linear sample)."""
    def linear(a):
        a ^= 0x55
        exponent, mantissa = (a >> 4) & 7, a & 0x0F
        magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
        return magnitude if a & 0x80 else -magnitude

    def ulaw(sample):
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = 7
        while exponent > 0 and not magnitude & (0x4000 >> (7 - exponent)):
            exponent -= 1
        return ~(sign | exponent << 4 | (magnitude >> (exponent + 3)) & 0x0F) & 0xFF

    return bytes(ulaw(linear(b)) for b in data)


class AudiohookFork(ForkTest):
    def audiohook_daemon(self, secret=None):
        lines = [" protocol audiohook", f" audiohook organization-id {ORG}"]
        if secret:
            lines.append(f" audiohook client-secret {secret}")
        return self.start_fork_daemon(profile_lines=lines)

    def forked_call(self, server, pt=0, token="api-key-1", stop_after_ms=1500):
        """START (with metadata), both parties stream their pattern, STOP."""
        ext = ".alaw" if pt == 8 else ".ulaw"
        caller_file, caller_bytes = pattern(self, "caller" + ext, 1)
        callee_file, callee_bytes = pattern(self, "callee" + ext, 2)
        c = (Steps().info(start(server.port, path="/api/v1/audiohook/ws", token=token, metadata=METADATA), "STARTED")
             .sync().stream(caller_file, pt=pt, ms=stop_after_ms).info(stop(), "STOPPED").pause(300))
        agent = self.agent(Steps().wait_sync().stream(callee_file, pt=pt, ms=100), pt=pt,
                           encoding="PCMA" if pt == 8 else "PCMU")
        ctl = self.controller(c, offer=str(pt) + " 101")
        wait_all(self, ctl, agent)
        return ctl, caller_bytes, callee_bytes

    def test_a_forked_call_in_stereo_with_every_byte_in_its_channel(self):
        self.audiohook_daemon()
        server = AudiohookServer(self).start()
        ctl, caller_bytes, callee_bytes = self.forked_call(server)
        [started, stopped] = statuses(ctl)
        self.assertEqual(started["status"], "STARTED")
        self.assertEqual(stopped, {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"})
        [s] = server.wait_sessions(1)
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        self.assertEqual(s.headers["x-api-key"], "api-key-1")
        self.assertEqual(s.headers["audiohook-organization-id"], ORG)
        self.assertEqual(s.types()[0], "open")
        self.assertEqual(s.types()[-1], "close")
        self.assertEqual(s.messages[-1]["parameters"], {"reason": "end"})
        self.assertEqual(s.close_code, 1000)
        opened = s.messages[0]["parameters"]
        self.assertEqual(opened["conversationId"], str(uuid.UUID(GUID)))
        self.assertEqual(opened["customConfig"], METADATA)
        # The caller's From (fork_uac.xml: "caller" <sip:1000@...>) and the called number.
        participant = opened["participant"]
        self.assertEqual((participant["ani"], participant["aniName"], participant["dnis"]), ("1000", "caller", "6777"))
        self.assertEqual([m["channels"] for m in opened["media"]], [["external", "internal"], ["external"], ["internal"]])
        self.assertEqual({len(f) for f in s.frames}, {320}, "20 ms of both channels a frame")
        self.assert_paced_audio(s.channel("external"), caller_bytes, "external (caller)")
        self.assert_paced_audio(s.channel("internal"), callee_bytes, "internal (callee)")
        # The close's position is the audio sent: every frame's 20 ms.
        self.assertEqual(s.messages[-1]["position"], f"PT{len(s.frames) * 0.02:.2f}".rstrip("0").rstrip(".") + "S")
        self.assertEqual(server.violations(), [])
        self.assert_no_calls()

    def test_the_participant_id_is_one_per_call(self):
        """A call forked twice names the same participant in both sessions;
        the next call names another."""
        self.audiohook_daemon()
        server = AudiohookServer(self).start()
        twice = (Steps().info(start(server.port, token="api-key-1"), "STARTED").info(stop(), "STOPPED")
                 .info(start(server.port, token="api-key-1"), "STARTED").info(stop(), "STOPPED"))
        ctl = self.controller(twice)
        agent = self.agent()
        wait_all(self, ctl, agent)
        self.forked_call(server, stop_after_ms=300)
        sessions = server.wait_sessions(3)
        ids = [s.messages[0]["parameters"]["participant"]["id"] for s in sessions]
        self.assertEqual(len({s.messages[0]["id"] for s in sessions}), 3, "a session id each")
        self.assertEqual(ids[0], ids[1], "one call, one participant")
        self.assertNotEqual(ids[2], ids[0], "another call, another participant")
        self.assertEqual(server.violations(), [])
        self.assert_no_calls()

    def test_an_alaw_call_reaches_the_server_as_ulaw(self):
        self.audiohook_daemon()
        server = AudiohookServer(self).start()
        _, caller_bytes, callee_bytes = self.forked_call(server, pt=8)
        [s] = server.wait_sessions(1)
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        self.assert_paced_audio(s.channel("external"), alaw_to_ulaw(caller_bytes), "external (caller)")
        self.assert_paced_audio(s.channel("internal"), alaw_to_ulaw(callee_bytes), "internal (callee)")
        self.assertEqual(server.violations(), [])

    def test_a_signed_upgrade_is_verified_and_a_wrong_secret_refused(self):
        self.audiohook_daemon(secret=SECRET)
        server = AudiohookServer(self, secret=SECRET).start()
        self.forked_call(server, stop_after_ms=300)
        self.assertEqual(server.violations(), [])
        self.assertIn("signature-input", server.sessions[0].headers)

        other = AudiohookServer(self, secret="b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==").start()
        ctl = self.controller(Steps().info(start(other.port, token="api-key-1"), "ERROR"))
        self.agent()
        wait_all(self, ctl)
        self.assertEqual(statuses(ctl)[-1], {"call-guid": GUID, "status": "ERROR",
                                             "reason": "Authentication token invalid"})

    def start_fails(self, server, why, token="api-key-1", timeout_ms=10000):
        ctl = self.controller(Steps().info(start(server.port, token=token), "ERROR", timeout_ms=timeout_ms))
        self.agent()
        wait_all(self, ctl)
        self.assertEqual(statuses(ctl), [{"call-guid": GUID, "status": "ERROR", "reason": why}])

    def test_upgrade_answered_401_is_authentication_token_invalid(self):
        self.audiohook_daemon()
        self.start_fails(AudiohookServer(self, reject=401).start(), "Authentication token invalid")

    def test_no_token_is_authentication_token_invalid_without_connecting(self):
        self.audiohook_daemon()
        server = AudiohookServer(self).start()
        self.start_fails(server, "Authentication token invalid", token="")
        self.assertEqual(server.sessions, [])

    def test_no_opened_within_5s_is_connection_failed(self):
        self.audiohook_daemon()
        server = AudiohookServer(self, opened="none").start()
        self.start_fails(server, "Connection failed", timeout_ms=15000)
        [s] = server.sessions
        self.assertEqual(s.types(), ["open", "close"])

    def test_the_servers_disconnect_stops_the_fork(self):
        self.audiohook_daemon()
        server = AudiohookServer(self, disconnect_after=10).start()
        caller_file, _ = pattern(self, "caller.ulaw", 1)
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=0).status("STOPPED", 10000))
        agent = self.agent(Steps().wait_sync())
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl)[-1], {"call-guid": GUID, "status": "STOPPED", "reason": "Connection closed"})
        [s] = server.sessions
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        self.assertEqual(s.messages[-1]["type"], "close")
        self.assertEqual(s.messages[-1]["parameters"], {"reason": "disconnect"})
        self.assertEqual(server.violations(), [])

    def test_the_servers_pause_and_resume_reach_the_controller(self):
        self.audiohook_daemon()
        server = AudiohookServer(self, pause_after=10).start()
        caller_file, _ = pattern(self, "caller.ulaw", 1, packets=100)
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=0).status("PAUSED", 10000).status("RESUMED", 10000)
             .pause(300).info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync())
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl)[1:3], [{"call-guid": GUID, "status": "PAUSED", "reason": "server"},
                                              {"call-guid": GUID, "status": "RESUMED", "codec": "g711ulaw"}])
        [s] = server.sessions
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        types = s.types()
        self.assertLess(types.index("paused"), types.index("resumed"), types)
        self.assertEqual(server.violations(), [])  # no audio while paused

    # -- a server that misbehaves ------------------------------------------------

    def relayed(self, direction):
        out = self.daemon_.show("show platform hardware qfp active feature sbc fork global")
        section = out[out.index(f"Direction {direction}"):]
        return int(section.split("RTP packets relayed:", 1)[1].split()[0])

    def test_nonsense_from_the_server_is_logged_and_the_fork_goes_on(self):
        """Unreadable JSON, a message of no known type, a seq that goes back and
        an `error`, all mid-stream: each is logged, the audio goes on whole,
        the call's relayed audio never stops and STOP ends the fork cleanly."""
        self.audiohook_daemon()
        nonsense = ["{not json", '{"version":"2","type":"opened"}', "unknown", "seq-back", "error"]
        server = AudiohookServer(self, misbehave=(10, nonsense)).start()
        ctl, caller_bytes, callee_bytes = self.forked_call(server)
        self.assertEqual([m["status"] for m in statuses(ctl)], ["STARTED", "STOPPED"])
        self.assertEqual(statuses(ctl)[-1]["reason"], "Forking stopped")
        [s] = server.wait_sessions(1)
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        self.assertEqual(s.close_code, 1000)
        self.assert_paced_audio(s.channel("external"), caller_bytes, "external (caller)")
        self.assert_paced_audio(s.channel("internal"), callee_bytes, "internal (callee)")
        self.assertEqual(server.violations(), [])
        log = self.daemon_.log()
        self.assertIn("unreadable message from the server: {not json", log)
        self.assertIn("error from the server:", log)
        self.assertRegex(log, r"server seq \d+ after \d+")
        self.assertEqual(self.relayed("caller"), len(caller_bytes) // 160)
        self.assertEqual(self.relayed("callee"), len(callee_bytes) // 160)

    def fork_ended_by(self, what):
        """The server sends `what` after 10 frames: the fork ends with a
        reason, the call and its relayed audio go on to the end."""
        self.audiohook_daemon()
        server = AudiohookServer(self, misbehave=(10, [what])).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, packets=100)
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=0).status("STOPPED", 10000).pause(2500))
        agent = self.agent(Steps().wait_sync())
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assertEqual(self.relayed("caller"), len(caller_bytes) // 160)
        self.assert_no_calls()
        self.assertEqual(statuses(ctl)[-1], {"call-guid": GUID, "status": "STOPPED", "reason": "Connection closed"})
        [s] = server.sessions
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        return s.close_code

    def test_audio_from_the_server_ends_its_fork_not_the_call(self):
        self.assertEqual(self.fork_ended_by(b"\x01" * 320), 1003)  # unsupported data
        self.assertIn("binary frame from the server", self.daemon_.log())

    def test_a_10_mb_message_from_the_server_ends_its_fork_not_the_call(self):
        self.assertEqual(self.fork_ended_by("x" * (10 * 1024 * 1024)), 1009)  # message too big

    def start_failed_by(self, opened):
        self.audiohook_daemon()
        server = AudiohookServer(self, opened=opened).start()
        self.start_fails(server, "Connection failed")
        [s] = server.sessions
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        self.assertEqual(s.types(), ["open", "close"])
        self.assertEqual(s.messages[-1]["parameters"], {"reason": "error"})
        self.assertEqual(s.frames, [])

    def test_opened_with_media_not_offered_fails_the_start(self):
        self.start_failed_by("unoffered")

    def test_disconnect_before_opened_fails_the_start(self):
        self.start_failed_by("disconnect")

    def test_an_update_with_a_language_is_updated_when_the_server_says_so(self):
        self.audiohook_daemon()
        server = AudiohookServer(self).start()
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .info(update({"language": "es-ES"}), "UPDATED")
             .info(update({"agent": "1002"}), "UPDATED").info(stop(), "STOPPED"))
        ctl = self.controller(c)
        self.agent()
        wait_all(self, ctl)
        [s] = server.sessions
        wait_for(lambda: s.closed, 10, what="the WebSocket closed")
        updates = [m["parameters"] for m in s.messages if m["type"] == "update"]
        self.assertEqual(updates, [{"language": "es-ES"}], "only a language is sent")
        self.assertEqual(server.violations(), [])


if __name__ == "__main__":
    harness.main()
