"""A forked call end to end: a SIPp controller asks voxforkd for forking (INFO
or re-INVITE), a SIPp agent answers, the reference speech server records.
Checked: the status INFOs, every control message and audio byte the speech
server got, and the operator's show commands."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import (GUID, ForkTest, Steps, multipart, pattern, received_requests, rtp_pcap, sdp,  # noqa: E402
                          sent_call_id, start, statuses, stop, update)
from harness import LOOPBACK, wait_for  # noqa: E402
from sipp import wait_all  # noqa: E402

METADATA = {"agent": "1001", "queue": "billing"}


class StartStop(ForkTest):
    def forked_call(self, carrier):
        """START, both sides stream their own pattern, STOP; by INFO or re-INVITE."""
        d = self.start_fork_daemon()
        server = self.speech()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 1)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 2)
        c = Steps()
        if carrier == "info":
            c.info(start(server.port, metadata=METADATA), "STARTED")
        else:
            c.reinvite(multipart(sdp(version=2), start(server.port, metadata=METADATA))).pause(500)
        c.sync().stream(caller_file, ms=0).wait_sync()  # the test releases the STOP (below)
        if carrier == "info":
            c.info(stop(), "STOPPED")
        else:
            c.reinvite(multipart(sdp(version=3), stop()))
        c.pause(1000)
        a = Steps()
        if carrier == "reinvite":
            a.accept_reinvite("a=sendrecv")
        a.wait_sync().stream(callee_file, ms=100)
        if carrier == "reinvite":
            a.accept_reinvite("a=sendrecv")
        agent = self.agent(a)
        ctl = self.controller(c)

        # While forking: the operator's views.
        starts = server.wait_events("control", 2, type="START")
        caller_ch, callee_ch = starts[0]["channel"], starts[1]["channel"]
        anchor = self.anchor()
        wait_for(lambda: self.fork_column() == ["active", "active"], what="Fork column active")
        view = d.show(f"show voip stream-service callid {anchor}")
        for text in (GUID, "active", "g711ulaw", f"{caller_ch} (caller)", f"{callee_ch} (callee)", '"agent"'):
            self.assertIn(text, view)
        [row] = self.open_connections()
        conn_id = int(row[0])
        detail = d.show(f"show voip stream-service connection id {conn_id}")
        for line in (f"Id: {conn_id}", "Active session count: 1", "Secure: No", "TLS Version: none",
                     "Auth Token: none", f"Server Address: {server.host_port}", "State: Active"):
            self.assertIn(line, detail.splitlines())
        self.assertRegex(detail, rf"\n\s*{anchor}\s+\d+\s*(\n|$)")
        self.assertEqual(self.statistics()["Forks active"], 1)
        # Every frame of both sides is at the speech server: now the STOP.
        self.assert_channel_audio(server, caller_ch, caller_bytes)
        self.assert_channel_audio(server, callee_ch, callee_bytes)
        # Both legs' callids give one view; read once the audio is all sent, so its counters hold still.
        self.assertEqual(d.show(f"show voip stream-service callid {anchor + 1}"),
                         d.show(f"show voip stream-service callid {anchor}"), "either leg's callid")
        self.release(agent)
        wait_for(lambda: self.fork_column() == ["stopped", "stopped"], timeout=15, what="Fork column stopped")

        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [
            {"call-guid": GUID, "status": "STARTED", "connection-id": conn_id,
             "channels": {"caller": caller_ch, "callee": callee_ch}},
            {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}], ctl.report())
        call_id = sent_call_id(ctl)
        self.assert_arrives(lambda: server.messages("START"), [
            {"type": "START", "channel": caller_ch, "call-guid": GUID, "call-id": call_id, "leg": "caller",
             "codec": "PCMU", "rate": 8000, "metadata": METADATA},
            {"type": "START", "channel": callee_ch, "call-guid": GUID, "call-id": call_id, "leg": "callee",
             "codec": "PCMU", "rate": 8000, "metadata": METADATA}])
        self.assert_arrives(lambda: server.messages("STOP"), [
            {"type": "STOP", "channel": caller_ch, "reason": "Forking stopped"},
            {"type": "STOP", "channel": callee_ch, "reason": "Forking stopped"}])
        self.assertEqual(server.connections()[0]["path"], "/v1/fork")
        self.assert_channel_audio(server, caller_ch, caller_bytes)
        self.assert_channel_audio(server, callee_ch, callee_bytes)
        for ch in (caller_ch, callee_ch):
            positions = [f["position"] for f in server.frames(ch)]
            self.assertEqual({b - a for a, b in zip(positions, positions[1:])}, {160}, "20 ms apart, no gap")
        self.assertEqual(server.violations(), [])
        stats = self.statistics()
        self.assertEqual((stats["Forks started"], stats["Forks active"], stats["Frames dropped"]), (1, 0, 0))
        self.assertGreaterEqual(stats["Frames sent"], 2 * 25)
        self.assert_no_calls()
        return ctl, agent

    def test_info_start_stop_forks_every_byte_both_ways(self):
        self.forked_call("info")

    def test_reinvite_start_stop_relays_only_the_sdp(self):
        ctl, agent = self.forked_call("reinvite")
        reinvites = received_requests(agent, "INVITE")[1:]
        self.assertEqual(len(reinvites), 2)
        for headers, payload in reinvites:
            self.assertEqual(headers["content-type"], "application/sdp")
            self.assertTrue(payload.startswith("v=0"), payload)
            for absent in ("x-cisco-record", "call-guid", "voxforkboundary", '"action"'):
                self.assertNotIn(absent, payload)


class Midcall(ForkTest):
    def test_update_sends_new_metadata(self):
        self.start_fork_daemon()
        server = self.speech()
        c = (Steps().info(start(server.port, metadata=METADATA), "STARTED")
             .info(update({"agent": "1002"}, host=LOOPBACK, port=server.port), "UPDATED")
             .info(stop(), "STOPPED"))
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([s["status"] for s in got], ["STARTED", "UPDATED", "STOPPED"], ctl.report())
        self.assertEqual(got[1], {"call-guid": GUID, "status": "UPDATED"})
        channels = got[0]["channels"]
        self.assert_arrives(lambda: server.messages("UPDATE"), [
            {"type": "UPDATE", "channel": channels["caller"], "metadata": {"agent": "1002"}},
            {"type": "UPDATE", "channel": channels["callee"], "metadata": {"agent": "1002"}}])
        self.assertEqual(server.violations(), [])

    def test_request_from_the_callee_leg_is_answered_there(self):
        self.start_fork_daemon()
        server = self.speech()
        a = (Steps().pause(300).info(start(server.port), "STARTED", agent=True)
             .info(stop(), "STOPPED", agent=True))
        agent = self.agent(a)
        ctl = self.controller(Steps().pause(2500))
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [], "no status INFO on the other leg")
        got = statuses(agent)
        self.assertEqual([g["status"] for g in got], ["STARTED", "STOPPED"], agent.report())
        callee_call_id = received_requests(agent, "INVITE")[0][0]["call-id"]
        self.assert_arrives(lambda: [m["call-id"] for m in server.messages("START")], [callee_call_id] * 2)
        self.assertNotEqual(callee_call_id, sent_call_id(ctl))

    def test_bye_while_forking_stops_with_call_ended_and_no_info(self):
        self.start_fork_daemon()
        server = self.speech()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 3, packets=10)
        agent = self.agent()
        ctl = self.controller(Steps().info(start(server.port), "STARTED").stream(caller_file, ms=0).wait_sync())
        # The BYE waits until the speech server has every frame.
        self.assert_channel_audio(server, server.wait_event("control", type="START")["channel"], caller_bytes)
        self.release(agent)
        wait_all(self, ctl, agent)
        stops = server.wait_events("control", 2, type="STOP")
        got = statuses(ctl)
        self.assertEqual([s["status"] for s in got], ["STARTED"], "no status INFO after the BYE")
        ch = got[0]["channels"]
        self.assertEqual([s["msg"] for s in stops], [
            {"type": "STOP", "channel": ch["caller"], "reason": "Call ended"},
            {"type": "STOP", "channel": ch["callee"], "reason": "Call ended"}])
        self.assert_channel_audio(server, ch["caller"], caller_bytes)
        self.assertEqual(received_requests(agent, "INFO"), [])
        self.assert_no_calls()
        self.assertEqual(self.statistics()["Forks active"], 0)

    def test_dtmf_reaches_the_speech_server_once(self):
        self.start_fork_daemon()
        server = self.speech()
        ctl = self.controller(Steps().info(start(server.port), "STARTED")
                              .pcap("/usr/share/sip-tester/dtmf_2833_5.pcap").info(stop(), "STOPPED"))
        agent = self.agent()
        wait_all(self, ctl, agent)
        ch = statuses(ctl)[0]["channels"]
        # The pcap's event: digit 5, three end packets of duration 2240.
        self.assert_arrives(lambda: server.messages("DTMF"), [{"type": "DTMF", "channel": ch["caller"], "digit": "5",
                                                               "duration": 2240}])
        self.assertEqual(server.frames(ch["caller"]), [], "telephone-event is not audio")
        self.assertEqual(server.violations(), [])

    def test_hold_and_unhold_pause_and_resume(self):
        self.start_fork_daemon()
        server = self.speech()
        # 8 s of audio: it runs well past the last unhold however slowly the
        # re-INVITEs go through (the call ends sooner, with the STOP).
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 4, packets=400)
        c = (Steps().info(start(server.port), "STARTED").stream(caller_file, ms=600)
             .reinvite(sdp(direction="sendonly", version=2), content_type="application/sdp", expect="a=recvonly")
             .pause(700)
             .reinvite(sdp(version=3), content_type="application/sdp", expect="a=sendrecv")
             .pause(500)
             .reinvite(sdp(version=4, address="0.0.0.0"), content_type="application/sdp")
             .pause(500)
             .reinvite(sdp(version=5), content_type="application/sdp", expect="a=sendrecv")
             .pause(1000)
             .info(stop(), "STOPPED"))
        a = (Steps().accept_reinvite("a=sendonly", direction="recvonly").accept_reinvite("a=sendrecv")
             .accept_reinvite("m=audio").accept_reinvite("a=sendrecv"))
        agent = self.agent(a)
        ctl = self.controller(c)
        wait_all(self, ctl, agent, timeout=60)
        got = statuses(ctl)
        ch = got[0]["channels"]
        paused = {"call-guid": GUID, "status": "PAUSED", "reason": "hold"}
        resumed = {"call-guid": GUID, "status": "RESUMED", "codec": "g711ulaw"}
        self.assertEqual(got[1:], [paused, resumed, paused, resumed,
                                   {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}],
                         ctl.report())
        server.wait_events("control", 2, type="STOP")  # the last it is sent, so every message before is logged
        msgs = [m for m in server.messages() if m["type"] in ("PAUSE", "RESUME")]
        pause_pair = [{"type": "PAUSE", "channel": ch[leg], "reason": "hold"} for leg in ("caller", "callee")]
        resume_pair = [{"type": "RESUME", "channel": ch[leg], "codec": "PCMU"} for leg in ("caller", "callee")]
        self.assertEqual(msgs, pause_pair + resume_pair + pause_pair + resume_pair)
        self.assertEqual(server.violations(), [], "no frame while paused")
        # The caller's frames are pieces of its stream in order, with the held
        # stretch missing and shown as a position gap.
        raw = server.raw(ch["caller"])
        frames = [raw[i:i + 160] for i in range(0, len(raw), 160)]
        offsets = [caller_bytes.find(f) for f in frames]
        self.assertEqual([o % 160 for o in offsets], [0] * len(frames), "every frame is one the caller sent")
        index = [o // 160 for o in offsets]
        self.assertEqual(index, sorted(set(index)))
        gaps = [b - a for a, b in zip(index, index[1:]) if b - a > 1]
        self.assertEqual(len(gaps), 2, f"one gap per hold: {gaps}")
        self.assertTrue(all(g > 10 for g in gaps), gaps)
        # Audio flowed again after the last RESUME (the second unhold).
        events = server.events()
        last_resume = max(i for i, e in enumerate(events) if e["event"] == "control"
                          and e["msg"]["type"] == "RESUME" and e["channel"] == ch["caller"])
        after = [e for e in events[last_resume:] if e["event"] == "frame" and e["channel"] == ch["caller"]]
        self.assertGreater(len(after), 10, "frames after the last unhold")
        steps = server.events("position-step", channel=ch["caller"])
        self.assertTrue(any(s["step"] >= 8 * 300 for s in steps), steps)
        self.assertEqual([f["seq"] for f in server.frames(ch["caller"])], list(range(len(frames))))


class CodecChange(ForkTest):
    def codec_call(self, codec):
        self.start_fork_daemon()
        server = self.speech()
        extra = {"codec": codec} if codec else {}
        c = (Steps().info(start(server.port, **extra), "STARTED")
             .reinvite(sdp(pt=8, encoding="PCMA", version=2), content_type="application/sdp",
                       expect="RTP/AVP 8 101").pause(800)
             .reinvite(sdp(version=3), content_type="application/sdp", expect="RTP/AVP 0 101").pause(800)
             .info(stop(), "STOPPED"))
        a = Steps().accept_reinvite("RTP/AVP 8", pt=8, encoding="PCMA").accept_reinvite("RTP/AVP 0")
        agent = self.agent(a)
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        ch = got[0]["channels"]
        server.wait_events("control", 2, type="STOP")  # the last it is sent, so every message before is logged
        msgs = [m for m in server.messages() if m["type"] in ("PAUSE", "RESUME")]
        self.assertEqual(server.violations(), [])
        return got[1:], msgs, ch

    def test_pinned_codec_pauses_while_the_call_differs(self):
        got, msgs, ch = self.codec_call("g711ulaw")
        self.assertEqual(got, [{"call-guid": GUID, "status": "PAUSED", "reason": "codec-change"},
                               {"call-guid": GUID, "status": "RESUMED", "codec": "g711ulaw"},
                               {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}])
        self.assertEqual(msgs, [{"type": "PAUSE", "channel": ch["caller"], "reason": "codec-change"},
                                {"type": "PAUSE", "channel": ch["callee"], "reason": "codec-change"},
                                {"type": "RESUME", "channel": ch["caller"], "codec": "PCMU"},
                                {"type": "RESUME", "channel": ch["callee"], "codec": "PCMU"}])

    def test_g711_on_dynamic_payload_types_is_forked(self):
        # The caller offers PCMU as 96, the callee answers it as 97; each side
        # sends with the type of the SDP it got (the caller 97, the callee 96),
        # and every byte of both reaches its channel.
        self.start_fork_daemon()
        server = self.speech()
        _, caller_bytes = pattern(self, "caller.ulaw", 1)
        _, callee_bytes = pattern(self, "callee.ulaw", 2)
        caller_pcap = rtp_pcap(self, "caller.pcap", caller_bytes, 97)
        callee_pcap = rtp_pcap(self, "callee.pcap", callee_bytes, 96)
        c = Steps().info(start(server.port), "STARTED").sync().pcap(caller_pcap, ms=1500).info(stop(), "STOPPED")
        agent = self.agent(Steps().wait_sync().pcap(callee_pcap, ms=100), pt=97)
        ctl = self.controller(c, offer="96 101")
        wait_all(self, ctl, agent)
        channel = {ev["msg"]["leg"]: ev["msg"]["channel"] for ev in server.wait_events("control", 2, type="START")}
        self.assert_channel_audio(server, channel["caller"], caller_bytes)
        self.assert_channel_audio(server, channel["callee"], callee_bytes)
        self.assertEqual(server.violations(), [])

    def test_unpinned_fork_follows_the_call(self):
        got, msgs, ch = self.codec_call(None)
        pause = {"call-guid": GUID, "status": "PAUSED", "reason": "codec-change"}
        self.assertEqual(got, [pause, {"call-guid": GUID, "status": "RESUMED", "codec": "g711alaw"},
                               pause, {"call-guid": GUID, "status": "RESUMED", "codec": "g711ulaw"},
                               {"call-guid": GUID, "status": "STOPPED", "reason": "Forking stopped"}])
        expected = []
        for codec in ("PCMA", "PCMU"):
            expected += [{"type": "PAUSE", "channel": ch[leg], "reason": "codec-change"} for leg in ("caller", "callee")]
            expected += [{"type": "RESUME", "channel": ch[leg], "codec": codec} for leg in ("caller", "callee")]
        self.assertEqual(msgs, expected)

    def test_start_pinned_to_the_other_law_starts_paused(self):
        self.start_fork_daemon()
        server = self.speech()
        ctl = self.controller(Steps().info(start(server.port, codec="g711alaw"), "STARTED", "PAUSED")
                              .info(stop(), "STOPPED"))
        agent = self.agent()
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[1], {"call-guid": GUID, "status": "PAUSED", "reason": "codec-change"})
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "PAUSE", "PAUSE", "STOP", "STOP"])
        self.assertEqual(server.messages("PAUSE")[0]["reason"], "codec-change")


if __name__ == "__main__":
    harness.main()
