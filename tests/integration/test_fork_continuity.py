"""Forks that survive a speech-server outage (docs/stream.md, Continuity), end to
end through SIP: a SIPp controller forks a call, both sides stream a pattern in
which every 20 ms frame differs, the reference speech server fails in one of
its ways, and what it received is checked byte by byte across its connections
(a resumed channel writes one file per connection; their concatenation is the
channel's audio)."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dns_server  # noqa: E402
from audiohook_server import AudiohookServer  # noqa: E402
import harness  # noqa: E402
from fork_support import GUID, ForkTest, Steps, pattern, start, statuses, stop  # noqa: E402
from harness import wait_for  # noqa: E402
from raw_server import RawServer  # noqa: E402
from stalling_raw_server import StallingRawServer  # noqa: E402
from sipp import wait_all  # noqa: E402

PACKETS = 300  # 6 s a side


def channel_audio(server, channel):
    """The channel's bytes over every connection that started it, in order."""
    starts = [ev for ev in server.controls("START", channel=channel) if "raw" in ev]
    return b"".join(server.raw(channel, conn=ev["conn"]) for ev in starts)


def assert_one_small_gap(test, heard, sent, at_most_frames=3):
    """`sent` arrived in order within `heard`, whole but for one gap of at
    most `at_most_frames` 20 ms frames. What the dead connection's TCP never
    acknowledged is replayed; a server that aborts its connection loses what
    its TCP acknowledged but it never read (the test servers' abort_after:
    frames already in their buffers), which no client can know of. The gap
    is whole frames of the clock's, which need not begin where the pattern's
    packets do, so it is looked for byte by byte."""
    start_at = heard.find(sent[:160])
    end = heard.find(sent[-160:], start_at) + 160
    test.assertTrue(0 <= start_at < end, "the pattern's first and last frames arrived")
    got = heard[start_at:end]
    missing = len(sent) - len(got)
    if missing:
        head = next(i for i in range(len(got)) if got[i] != sent[i])
        test.assertEqual(got, sent[:head] + sent[head + missing:], "one gap at the loss, nothing else")
    test.assertTrue(0 <= missing <= at_most_frames * 160, f"{missing} bytes lost: at most what was in flight")


class Continuity(ForkTest):
    def forked_call(self, window, server_args, expect=("PAUSED", "RESUMED"), stop_it=True, packets=PACKETS):
        """A forked call streaming `packets` frames each way to a speech server
        with `server_args`; the controller takes the status INFOs `expect`
        (in order), then sends STOP once the test releases it (stop_it), else
        the call ends when released. Returns (daemon, server, controller,
        agent, (caller_bytes, callee_bytes))."""
        d = self.start_fork_daemon(profile_lines=(f" connection reconnect window {window}",))
        server = self.speech(args=server_args)
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, packets)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, packets)
        c = Steps()
        c.info(start(server.port), "STARTED")
        c.sync().stream(caller_file, ms=0)
        for status in expect:
            c.status(status, timeout_ms=20000)
        c.wait_sync()
        if stop_it:
            c.info(stop(), "STOPPED")
        a = Steps().wait_sync().stream(callee_file, ms=100)
        agent = self.agent(a)
        ctl = self.controller(c)
        return d, server, ctl, agent, (caller_bytes, callee_bytes)

    def channels(self, server):
        starts = server.wait_events("control", 2, type="START")
        return starts[0]["channel"], starts[1]["channel"]

    def test_server_restarted_two_seconds_later_loses_no_audio(self):
        d, server, ctl, agent, sent = self.forked_call(
            10, ("--restart-after-frames", "50", "--restart-seconds", "2", "--fault-limit", "1"))
        caller_ch, callee_ch = self.channels(server)
        resumed = server.wait_events("resumed", 2, timeout=15)
        self.assertEqual([(r["channel"], r["from_conn"]) for r in resumed], [(caller_ch, 1), (callee_ch, 1)])
        for ch, data in ((caller_ch, sent[0]), (callee_ch, sent[1])):
            wait_for(lambda: len(channel_audio(server, ch)) >= len(data), 20, what=f"all audio of {ch}")
            self.assertEqual(channel_audio(server, ch), data, f"every byte of channel {ch}, once, in order")
        self.release(agent)
        wait_all(self, ctl, agent)

        self.assertEqual(statuses(ctl), [
            {"call-guid": GUID, "status": "STARTED", "connection-id": 1,
             "channels": {"caller": caller_ch, "callee": callee_ch}},
            {"call-guid": GUID, "status": "PAUSED", "reason": "connection-lost"},
            {"call-guid": GUID, "status": "RESUMED", "codec": "g711ulaw"},
            {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}], ctl.report())
        # The resumed STARTs: same channel ids, "resumed": true.
        second = [m for m in server.messages("START") if m.get("resumed")]
        self.assertEqual([(m["channel"], m["leg"]) for m in second], [(caller_ch, "caller"), (callee_ch, "callee")])
        # seq contiguous across the outage: no gap, every repeat dropped by the server.
        self.assertEqual(server.events("drop-gap"), [])
        self.assertEqual(server.violations(), [])
        stats = self.statistics()
        self.assertEqual(stats["Reconnects succeeded"], 1)
        self.assertGreaterEqual(stats["Reconnect attempts"], 2, "refused while the server was down")
        self.assertEqual(stats["Forks resumed after reconnect"], 1)
        self.assertGreater(stats["Audio frames replayed"], 100, "2 s of two channels at least")
        self.assertIn("FORK_ET: TYPE = GLOBAL : WebSocket Connection re-established for "
                      f"ws://{server.host_port}", d.log())
        self.assert_no_calls()

    def test_close_1011_is_retried(self):
        d, server, ctl, agent, sent = self.forked_call(
            5, ("--close-after-frames", "40", "--close-code", "1011", "--fault-limit", "1"), packets=150)
        caller_ch, callee_ch = self.channels(server)
        server.wait_events("resumed", 2, timeout=15)
        for ch, data in ((caller_ch, sent[0]), (callee_ch, sent[1])):
            wait_for(lambda: len(channel_audio(server, ch)) >= len(data), 20, what=f"all audio of {ch}")
            self.assertEqual(channel_audio(server, ch), data)
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        self.assertEqual(server.violations(), [])
        self.assertEqual(self.statistics()["Remote WebSocket closures"], 1)

    def test_close_1000_is_not_retried(self):
        d, server, ctl, agent, sent = self.forked_call(10, ("--close-after-frames", "40"), expect=("STOPPED",),
                                                       stop_it=False, packets=100)
        server.wait_event("close", timeout=15)
        wait_for(lambda: len(statuses(ctl)) >= 2, 10, what="STOPPED")
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [
            statuses(ctl)[0],
            {"call-guid": GUID, "status": "STOPPED", "reason": "Connection closed"}])
        self.assertEqual(len(server.connections()), 1, "no reconnect after a deliberate close")
        stats = self.statistics()
        self.assertEqual((stats["Reconnect attempts"], stats["Forks resumed after reconnect"]), (0, 0))

    def test_outage_longer_than_the_window_stops_with_the_losses_reason(self):
        d, server, ctl, agent, sent = self.forked_call(
            2, ("--restart-after-frames", "50", "--restart-seconds", "8", "--fault-limit", "1"),
            expect=("PAUSED", "STOPPED"), stop_it=False, packets=250)
        wait_for(lambda: len(statuses(ctl)) >= 3, 15, what="STOPPED after the window")
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([(s["status"], s.get("reason")) for s in statuses(ctl)], [
            ("STARTED", None), ("PAUSED", "connection-lost"), ("STOPPED", "TCP Connection closed")])
        stats = self.statistics()
        # 0.2, 0.6, 1.4 s and the window's end (2 s): all refused.
        self.assertEqual((stats["Reconnect attempts"], stats["Reconnects succeeded"]), (4, 0))
        self.assertEqual(stats["Forks active"], 0)
        self.assert_no_calls()

    def test_an_attempt_that_hangs_is_cut_off_when_the_window_ends(self):
        """The address now leads to a host that takes the TCP connection and
        never answers the upgrade: the attempt under way ends with the
        window or 5 s after it, not a connect timeout (10 s) later."""
        d, server, ctl, agent, sent = self.forked_call(
            2, ("--restart-after-frames", "50", "--restart-seconds", "60", "--fault-limit", "1"),
            expect=("PAUSED", "STOPPED"), stop_it=False, packets=500)

        def black_hole():
            # Listening, never accepting: the kernel completes the handshakes
            # and nobody reads the upgrade. Bound the moment the server's
            # port is free, so the first attempts already meet it.
            try:
                return socket.create_server(("127.0.0.1", server.port), backlog=16)
            except OSError:
                return None

        listener = wait_for(black_hole, 15, interval=0.01, what="the server's port free")
        self.addCleanup(listener.close)
        lost_at = time.monotonic()
        wait_for(lambda: len(statuses(ctl)) >= 2, 15, what="PAUSED")
        self.assertEqual(self.fork_column(), ["paused", "paused"], "as the controller was told")
        wait_for(lambda: len(statuses(ctl)) >= 3, 15, what="STOPPED after the window")
        # The attempt at 0.2 s is given 5 s (what is left of the window, and
        # at least 5 s): STOPPED about 5.2 s after the loss, against 10.2 s.
        self.assertLess(time.monotonic() - lost_at, 8, "an attempt hangs 5 s at most")
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([(s["status"], s.get("reason")) for s in statuses(ctl)], [
            ("STARTED", None), ("PAUSED", "connection-lost"), ("STOPPED", "TCP Connection closed")])
        # An attempt did meet the black hole (its connection waits in the backlog).
        listener.setblocking(False)
        met, _ = listener.accept()
        met.close()
        self.assert_no_calls()

    def test_outage_longer_than_the_buffer_shows_exactly_the_gap(self):
        # Window 2 s: a buffer of 2 s a channel (the last second before the loss
        # included). Down 1.5 s, then every upgrade answered 2 s late: the
        # attempt made at the window's end succeeds about 4 s after the loss.
        d, server, ctl, agent, sent = self.forked_call(
            2, ("--restart-after-frames", "50", "--restart-seconds", "1.5", "--fault-limit", "1",
                "--upgrade-delay", "2000"), packets=350)
        caller_ch, callee_ch = self.channels(server)
        server.wait_events("resumed", 2, timeout=20)
        for ch, data in ((caller_ch, sent[0]), (callee_ch, sent[1])):
            # The end of the pattern arrives: the stream went on after the gap.
            wait_for(lambda: channel_audio(server, ch).endswith(data[-160:]), 20, what=f"the end of {ch}")
            got = channel_audio(server, ch)
            missing = len(data) - len(got)
            self.assertGreater(missing, 0, "the outage overflowed the buffer")
            self.assertEqual(missing % 160, 0)
            # One gap: what arrived is the start of the pattern and its end.
            head = next(i for i in range(0, len(got) + 1, 160) if got[:i + 160] != data[:i + 160])
            self.assertEqual(got, data[:head] + data[head + missing:], f"one contiguous gap in channel {ch}")
            # The server measured the same gap in seq and in position.
            [gap] = server.events("drop-gap", channel=ch)
            self.assertEqual(gap["dropped"] * 160, missing)
            [step] = server.events("position-step", channel=ch)
            self.assertEqual(step["step"], missing)
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        self.assertEqual(server.violations(), [])
        dropped = self.statistics()["Frames dropped"]
        self.assertGreater(dropped, 0)
        # The log says why: the outage buffer, and nothing else (the rest of
        # the count is logged within 10 s, or when the connection closes).
        warnings = self.drop_warnings()
        self.assertTrue(warnings, "a warning about the dropped frames")
        self.assertEqual({(w["queue_full"], w["unsent"]) for w in warnings}, {(0, 0)}, warnings)
        self.assertTrue(all(w["total"] == w["handler"] for w in warnings), warnings)
        self.assertLessEqual(sum(w["total"] for w in warnings), dropped)


    def test_a_server_that_drops_every_connection_at_once_meets_the_backoff_and_the_window(self):
        d = self.start_fork_daemon(profile_lines=(" connection reconnect window 3",))
        server = self.speech(args=("--close-after-frames", "0", "--close-code", "1011"))
        caller_file, _ = pattern(self, "caller.ulaw", 1, 300)
        # Status INFOs come and go on their own here: answered by -aa, read from the log.
        c = Steps().info(start(server.port), "STARTED").stream(caller_file, ms=6000)
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[-1], {"call-guid": GUID, "status": "STOPPED", "reason": "Connection closed"})
        stats = self.statistics()
        # Attempts at 0.2, 0.6, 1.4 and 3 s at most (each reconnect that is
        # dropped at once goes on counting the same window and backoff).
        self.assertLessEqual(stats["Reconnect attempts"], 4)
        self.assertLessEqual(len(server.connections()), 5)
        self.assertEqual(stats["Forks active"], 0)
        self.assert_no_calls()


    def test_a_reconnect_follows_the_name_to_another_server_that_knows_nothing_of_the_fork(self):
        dns = dns_server.Dnsmasq(self, ["asr.voxfork.test"])
        first = self.speech(args=("--restart-after-frames", "50", "--restart-seconds", "60", "--fault-limit", "1"))
        # The same port on another loopback address: where the name points after the loss.
        second = self.speech(name="second", listen=f"127.0.0.2:{first.port}")
        self.start_fork_daemon(profile_lines=(" connection reconnect window 10",), extra=dns.config_line())
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, 250)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, 250)
        c = (Steps().info(start(first.port, host="asr.voxfork.test"), "STARTED").sync().stream(caller_file, ms=0)
             .status("PAUSED").status("RESUMED").wait_sync().info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        first.wait_event("down", timeout=15)
        dns.point("127.0.0.2")
        starts = second.wait_events("control", 2, type="START", timeout=15)
        caller_ch, callee_ch = starts[0]["channel"], starts[1]["channel"]
        self.assertEqual([s["msg"].get("resumed") for s in starts], [True, True])
        for ch, data in ((caller_ch, caller_bytes), (callee_ch, callee_bytes)):
            wait_for(lambda: second.raw(ch).endswith(data[-160:]), 20, what=f"the end of {ch} at the second server")
            # The first server's audio, then the second's from the replayed
            # second before the loss: together every byte, the overlap once.
            before, after = first.raw(ch), second.raw(ch)
            self.assertTrue(data.startswith(before) and data.endswith(after) and len(before) + len(after) >= len(data),
                            f"channel {ch}: {len(before)} + {len(after)} bytes of {len(data)}")
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        self.assertEqual(second.violations(), [])
        self.assertEqual(second.messages("STOP")[0]["reason"], "Forking stopped")


class RawContinuity(ForkTest):
    def test_raw_reconnects_to_the_same_url_and_sends_the_outage_first(self):
        self.start_fork_daemon(profile_lines=(" protocol raw", " raw layout separate",
                                              " connection reconnect window 5"))
        server = RawServer(self, abort_after=40).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, 200)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, 200)
        c = (Steps().info(start(server.port, path="/listen"), "STARTED").sync().stream(caller_file, ms=0)
             .status("PAUSED").status("RESUMED").wait_sync().info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        server.wait_connections(3, timeout=15)
        [aborted] = [x for x in server.conns if x.aborted]
        lost_path = aborted.path
        self.assertEqual(len([x for x in server.conns if x.path == lost_path]), 2, "the same URL again")
        sent = caller_bytes if lost_path.endswith("caller") else callee_bytes

        def audio():
            return b"".join(x.audio() for x in server.conns if x.path == lost_path)
        wait_for(lambda: sent[-160:] in audio(), 15, what="the end of the audio after the reconnect")
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        server.wait_closed(3)
        heard = audio()
        # The outage's audio arrived after the reconnect, in order: what the
        # dead connection swallowed (read by nobody) is lost, nothing else.
        assert_one_small_gap(self, heard, sent)
        stats = self.statistics()
        self.assertEqual((stats["Reconnects succeeded"], stats["Forks resumed after reconnect"]), (1, 1))
        self.assertGreater(stats["Audio frames replayed"], 0)
        self.assert_no_calls()

    def test_frames_the_lost_connection_never_delivered_are_replayed_once(self):
        """The server stops reading with a small receive buffer, so frames
        pile up unacknowledged in voxforkd's TCP, then resets: those frames
        go first on the new connection, and nothing the server had comes
        again (a raw service cannot tell a repeat)."""
        self.start_fork_daemon(profile_lines=(" protocol raw", " raw layout separate",
                                              " connection reconnect window 5"))
        server = StallingRawServer(self, stall_after=40).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, 250)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, 250)
        c = (Steps().info(start(server.port, path="/listen"), "STARTED").sync().stream(caller_file, ms=0)
             .status("PAUSED").status("RESUMED").wait_sync().info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        server.wait_connections(3, timeout=15)
        [reset] = [x for x in server.conns if x.reset]
        sent = caller_bytes if reset.path.endswith("caller") else callee_bytes

        def audio():
            return b"".join(x.audio() for x in server.conns if x.path == reset.path)
        wait_for(lambda: sent[-160:] in audio(), 15, what="the end of the audio after the reconnect")
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        wait_for(lambda: sum(x.closed for x in server.conns) >= 2, 10, what="both connections closed")
        assert_one_small_gap(self, audio(), sent, at_most_frames=0)  # every byte, once, in order
        stats = self.statistics()
        self.assertEqual(stats["Frames dropped"], 0)
        self.assertGreater(stats["Audio frames replayed"], 0)
        self.assert_no_calls()


class AudiohookContinuity(ForkTest):
    def test_audiohook_opens_a_new_session_that_continues_the_lost_one(self):
        secret = "c2VjcmV0LWZvci10aGUtdGVzdA=="
        self.start_fork_daemon(profile_lines=(" protocol audiohook", f" audiohook client-secret {secret}",
                                              " audiohook organization-id d7934305-0972-4844-938e-9060eef73d05",
                                              " connection reconnect window 5"))
        server = AudiohookServer(self, secret=secret, abort_after=40).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, 200)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, 200)
        c = (Steps().info(start(server.port, path="/api/v1/audiohook/ws", token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=0).status("PAUSED").status("RESUMED").wait_sync()
             .info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        first, second = server.wait_sessions(2, timeout=15)

        def external():
            return first.channel("external") + second.channel("external")
        wait_for(lambda: caller_bytes[-160:] in external(), 15, what="the caller's audio after the reconnect")
        # The callee's stream ends on its own clock: the STOP waits for its
        # last frame at the server (a slow host, AddressSanitizer, is later).
        wait_for(lambda: callee_bytes[-160:] in first.channel("internal") + second.channel("internal"), 15,
                 what="the callee's audio after the reconnect")
        self.release(agent)
        wait_all(self, ctl, agent)
        wait_for(lambda: second.closed, 10, what="the second session closed")
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        self.assertTrue(first.aborted)
        self.assertNotEqual(second.id, first.id, "a new session")
        self.assertIn("signature-input", second.headers, "signed again for the new attempt")
        [continued] = second.continued
        self.assertEqual(continued["id"], first.id)
        self.assertEqual(continued["clientseq"], first.messages[-1]["seq"])
        self.assertEqual([m["seq"] for m in second.messages], list(range(1, len(second.messages) + 1)))
        # position goes on from the lost session's.
        self.assertGreaterEqual(float(second.messages[0]["position"][2:-1]),
                                float(first.messages[-1]["position"][2:-1]))
        assert_one_small_gap(self, external(), caller_bytes)
        assert_one_small_gap(self, first.channel("internal") + second.channel("internal"), callee_bytes)
        self.assertEqual(server.violations(), [])
        stats = self.statistics()
        self.assertEqual((stats["Reconnects succeeded"], stats["Forks resumed after reconnect"]), (1, 1))


    def test_the_fork_is_resumed_when_the_new_session_is_opened_not_before(self):
        """The new connection's upgrade is not the fork's return: the server
        may still refuse the session. RESUMED waits for its `opened`."""
        self.start_fork_daemon(profile_lines=(" protocol audiohook",
                                              " audiohook organization-id d7934305-0972-4844-938e-9060eef73d05",
                                              " connection reconnect window 5"))
        server = AudiohookServer(self, abort_after=40, reopened=2).start()
        caller_file, _ = pattern(self, "caller.ulaw", 1, 250)
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=0).status("PAUSED").status("RESUMED").wait_sync()
             .info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync())
        ctl = self.controller(c)
        first, second = server.wait_sessions(2, timeout=15)
        wait_for(lambda: second.messages, 5, what="the new session's open")
        self.assertFalse(second.opened)
        self.assertEqual(self.statistics()["Forks resumed after reconnect"], 0, "upgraded, not yet opened")
        self.assertEqual(self.fork_column(), ["paused", "paused"], "as the controller was told")
        wait_for(lambda: second.opened, 5, what="the new session opened")
        wait_for(lambda: self.statistics()["Forks resumed after reconnect"] == 1, 5, what="the fork resumed")
        self.assertEqual(self.fork_column(), ["active", "active"])
        self.release(agent)
        wait_all(self, ctl, agent)
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "PAUSED", "RESUMED", "STOPPED"])
        self.assertEqual(server.violations(), [])
        stats = self.statistics()
        self.assertEqual((stats["Reconnects succeeded"], stats["Forks resumed after reconnect"]), (1, 1))

    def test_a_reconnect_the_server_asked_for_that_never_opens_stops_with_connection_closed(self):
        self.start_fork_daemon(profile_lines=(" protocol audiohook",
                                              " audiohook organization-id d7934305-0972-4844-938e-9060eef73d05"))
        server = AudiohookServer(self, reconnect_after=40, reopened="none").start()
        caller_file, _ = pattern(self, "caller.ulaw", 1, 500)
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=0).status("STOPPED", timeout_ms=15000))
        agent = self.agent(Steps().wait_sync())
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl)[-1], {"call-guid": GUID, "status": "STOPPED", "reason": "Connection closed"})
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "STOPPED"])
        self.assertEqual(len(server.sessions), 2)
        self.assertEqual(server.violations(), [])

    def test_a_fork_stopped_while_closing_for_the_servers_reconnect_opens_no_new_session(self):
        """STOP comes after the server's `reconnect`, before its `closed`: the
        session already closing ends there; nothing reconnects for a fork
        that is gone."""
        self.start_fork_daemon(profile_lines=(" protocol audiohook",
                                              " audiohook organization-id d7934305-0972-4844-938e-9060eef73d05"))
        server = AudiohookServer(self, reconnect_after=40, closed_after=2).start()
        caller_file, _ = pattern(self, "caller.ulaw", 1, 150)
        c = (Steps().info(start(server.port, token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=1500).info(stop(), "STOPPED").pause(300))
        agent = self.agent(Steps().wait_sync().stream(caller_file, ms=100))
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        [first] = server.wait_sessions(1)
        wait_for(lambda: first.closed, 10, what="the session closed")
        time.sleep(1)  # a reconnect would come at once
        self.assertEqual(len(server.sessions), 1)
        self.assertEqual(first.messages[-1]["type"], "close")
        self.assertEqual(first.messages[-1]["parameters"], {"reason": "reconnect"})
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "STOPPED"])
        self.assertEqual(server.violations(), [])
        self.assertEqual(self.statistics()["Reconnect attempts"], 0)
        self.assert_no_calls()

    def test_the_servers_reconnect_request_is_honoured_without_a_window_and_without_a_status(self):
        self.start_fork_daemon(profile_lines=(" protocol audiohook",
                                              " audiohook organization-id d7934305-0972-4844-938e-9060eef73d05"))
        server = AudiohookServer(self, reconnect_after=40).start()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1, 150)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2, 150)
        c = (Steps().info(start(server.port, path="/api/v1/audiohook/ws", token="api-key-1"), "STARTED")
             .sync().stream(caller_file, ms=4000).info(stop(), "STOPPED").pause(300))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        first, second = server.wait_sessions(2, timeout=15)
        wait_for(lambda: second.closed, 10, what="the second session closed")
        self.assertEqual([s["status"] for s in statuses(ctl)], ["STARTED", "STOPPED"], "no status for it")
        self.assertEqual(first.messages[-1]["type"], "close")
        self.assertEqual(first.messages[-1]["parameters"], {"reason": "reconnect"})
        self.assertEqual(first.close_code, 1000)
        self.assertEqual(second.continued[0]["id"], first.id)
        # Nothing lost: the audio of both sessions is the pattern, whole, with silence around.
        self.assert_paced_audio(first.channel("external") + second.channel("external"), caller_bytes, "external")
        self.assert_paced_audio(first.channel("internal") + second.channel("internal"), callee_bytes, "internal")
        self.assertEqual(server.violations(), [])
        self.assertEqual(self.statistics()["Reconnects succeeded"], 1)


if __name__ == "__main__":
    harness.main()
