"""Forking under numbers and abuse: connection sharing by calls-threshold,
license counts and reports, a hundred forked calls that leave nothing behind,
and bad input (deep or huge JSON, broken multipart, a START storm, a speech
server that stops reading) that gets the right reason while the call's
relayed audio keeps flowing."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import (GUID, ForkTest, Steps, dialog, multipart, pattern, raw_info, sdp, start, statuses,
                          stop)  # noqa: E402
from harness import wait_for  # noqa: E402
from sipp import RtpRecorder, Sipp, part, scenario, wait_all  # noqa: E402


# A call-guid of each SIPp call's own ([call_number] is SIPp's keyword).
PER_CALL = "CALL-[call_number]"


class Sharing(ForkTest):
    def license_rows(self):
        """The rows of `show voice sip license stats table` (its header checked, left out)."""
        lines = self.daemon_.show("show voice sip license stats table").splitlines()
        self.assertEqual(lines[0].split(), ["Index", "Report", "time", "(UTC)", "Interval(s)", "Standard", "Enhanced",
                                            "Aggregate"])
        return lines[1:]

    def test_threshold_3_spreads_7_calls_3_3_1_and_licenses_count_them(self):
        d = self.start_fork_daemon(threshold=3, license_interval=10)
        server = self.speech()
        # The calls last long enough for a loaded host to look at them all up.
        c = Steps().info(start(server.port, guid=PER_CALL), "STARTED").pause(8000).info(stop(PER_CALL), "STOPPED")
        agent = self.agent(calls=8)
        ctl = self.controller(c, calls=7, rate=20, limit=7)
        # One more call that never forks: a standard trunk call.
        plain = Sipp(self, scenario(self, "fork_uac", OFFER_PTS="0 101", ANSWER="m=audio",
                                    OFFER_MAPS="      a=rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000",
                                    STEPS='  <pause milliseconds="8500"/>', END=part("fork_uac_bye")),
                     harness.free_port(pair=True), target=self.sip_port)
        wait_for(lambda: len(server.controls("START")) >= 14, timeout=15, what="7 forks started")
        rows = self.open_connections()
        sessions = sorted(int(r[5].split("/")[0]) for r in rows)
        self.assertEqual(sessions, [1, 3, 3], d.show("show voip stream-service connection"))
        self.assertEqual(len(server.connections()), 3)
        wait_for(lambda: "Enhanced Trunk call count: 7, Aggregate Trunk call count: " in d.log(),
                 what="license log line of the 7th fork")
        self.assertRegex(d.log(), r"Enhanced Trunk call count: 7, Aggregate Trunk call count: [78] after WS_Fork_START")
        # The report of the interval in which all 8 calls and 7 forks were up
        # at once (peaks: 7 enhanced of 8), whichever interval that was: the
        # rows are counted around the observation, and it is taken again if a
        # report was made meanwhile.
        def up_in_interval():
            before = len(self.license_rows())
            stats = self.statistics()
            calls = d.show("show call active voice brief")
            if (stats["Forks active"], stats["WebSocket connections active"]) != (7, 3) \
                    or "Total calls: 8" not in calls:
                raise AssertionError(f"not all up: {stats}\n{calls}")
            return before + 1 if len(self.license_rows()) == before else None
        row = wait_for(up_in_interval, timeout=5, what="a moment inside one license interval")
        rows = wait_for(lambda: (lambda r: r if len(r) >= row else None)(self.license_rows()), timeout=30,
                        what=f"license report {row}")
        self.assertEqual(rows[row - 1].split()[0], str(row))
        self.assertEqual(rows[row - 1].split()[3:], ["10", "1", "7", "8"], "\n".join(rows))
        wait_all(self, ctl, agent, plain)
        self.assertEqual(sorted(s["status"] for s in statuses(ctl)), ["STARTED"] * 7 + ["STOPPED"] * 7)
        self.assertEqual(server.violations(), [])


class BadInput(ForkTest):
    def test_deep_and_broken_requests(self):
        self.start_fork_daemon()
        server = self.speech()
        # 10,000 levels of objects (SIPp reads [...] as its own keywords).
        deep = '{"action":"START","call-guid":"' + GUID + '","x":' + '{"":' * 10000 + "1" + "}" * 10000 + "}"
        two = multipart(sdp(version=3), start(server.port), stop())
        # After the first step, status INFOs are left to -aa: the test reads
        # them all at the end, whatever came.
        c = (Steps().info(deep, "ERROR")
             .reinvite(multipart(sdp(version=2)), expect="a=sendrecv").pause(300)
             .reinvite(two).pause(800)
             .info(start(server.port)).pause(800).info(stop()).pause(800))
        agent = self.agent(Steps().accept_reinvite("a=sendrecv").accept_reinvite("a=sendrecv"))
        ctl = self.controller(c, tcp=True)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        # Too deep: not parsed, so no call-guid to echo. Multipart without
        # JSON: a plain re-INVITE, no status. Two JSON parts: ambiguous, refused
        # (docs/controller.md's carrier is one SDP part and one JSON part).
        self.assertEqual(got[0], {"status": "ERROR", "reason": "JSON parse failure"}, ctl.report())
        self.assertEqual([(g["status"], g.get("reason")) for g in got[1:]],
                         [("ERROR", "Unexpected format or content in JSON"), ("STARTED", None),
                          ("STOPPED", "Forking stopped")])
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"])

    def test_megabyte_body(self):
        """1 MB is more than a SIPp scenario holds: the INFO goes in the
        controller's dialog over a TCP connection of the test's own."""
        self.start_fork_daemon()
        server = self.speech()
        # CSeq: the big INFO takes 5, the scenario's requests follow from 10.
        c = Steps(first_cseq=10).pause(1500).info(start(server.port), "STARTED").info(stop(), "STOPPED")
        agent = self.agent()
        ctl = self.controller(c)
        dlg = wait_for(lambda: dialog(ctl), what="the controller's dialog")
        big = start(server.port, metadata={"blob": "x" * (1 << 20)})
        code = raw_info(self.sip_port, dlg, big, cseq=5)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        if code == 200:
            self.assertEqual(got[0], {"status": "ERROR", "reason": "JSON parse failure"},
                             ctl.report())
            got = got[1:]
        else:
            self.assertIn(code, (413, 513), "refused as too large, or taken and answered ERROR")
        self.assertEqual([g["status"] for g in got], ["STARTED", "STOPPED"], ctl.report())
        self.assert_arrives(lambda: len(server.messages("START")), 2)

    def test_depth_32_is_taken_and_33_is_json_parse_failure(self):
        """docs/forking.md: JSON nested deeper than 32 levels is `JSON parse
        failure` unparsed (no call-guid to echo); 32 levels is a request."""
        def nested(levels):
            # The request object is level 1; "x" (an unknown field) holds the rest.
            text = start(self.server.port)[:-1] + ',"x":' + '{"a":' * (levels - 2) + "{}" + "}" * (levels - 2) + "}"
            depth = max(text[:i].count("{") - text[:i].count("}") for i in range(len(text) + 1))
            self.assertEqual(depth, levels)
            return text
        self.start_fork_daemon()
        self.server = self.speech()
        c = (Steps().info(nested(32), "STARTED").info(stop(), "STOPPED")
             .info(nested(33), "ERROR"))
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([g["status"] for g in got[:2]], ["STARTED", "STOPPED"], ctl.report())
        self.assertEqual(got[2:], [{"status": "ERROR", "reason": "JSON parse failure"}])
        self.assert_arrives(lambda: [m["type"] for m in self.server.messages()], ["START", "START", "STOP", "STOP"])

    def test_64_kib_body_is_taken_and_one_byte_more_is_json_parse_failure(self):
        """docs/forking.md: a body over 64 KiB is `JSON parse failure` unparsed;
        65,536 bytes is a request. Too big for a SIPp scenario: the INFOs go
        in the controller's dialog over a TCP connection of the test's own."""
        def padded(size):
            text = start(server.port)[:-1] + ',"x":""}'
            text = text[:-2] + "p" * (size - len(text)) + '"}'
            self.assertEqual(len(text.encode()), size)
            return text
        self.start_fork_daemon()
        server = self.speech()
        # CSeq: the big INFOs take 5 and 6, the scenario's requests follow from 10.
        c = Steps(first_cseq=10).status("STARTED").status("ERROR").info(stop(), "STOPPED")
        agent = self.agent()
        ctl = self.controller(c)
        dlg = wait_for(lambda: dialog(ctl), what="the controller's dialog")
        self.assertEqual(raw_info(self.sip_port, dlg, padded(64 * 1024), cseq=5), 200)
        server.wait_events("control", 2, type="START")  # and so STARTED went out first
        self.assertEqual(raw_info(self.sip_port, dlg, padded(64 * 1024 + 1), cseq=6), 200)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([g["status"] for g in got], ["STARTED", "ERROR", "STOPPED"], ctl.report())
        self.assertEqual(got[1], {"status": "ERROR", "reason": "JSON parse failure"})
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"])

    def test_start_storm_on_one_call(self):
        self.start_fork_daemon()
        server = self.speech()
        c = Steps().info(start(server.port), "STARTED")
        for _ in range(30):
            c.info(start(server.port), "ERROR", timeout_ms=5000)
        c.info(stop(), "STOPPED")
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[1:31], [{"call-guid": GUID, "status": "ERROR", "reason": "Invalid Start Fork Request"}] * 30)
        self.assertEqual(len(server.connections()), 1)
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"])

    def test_stalled_speech_server_does_not_hold_the_call_audio(self):
        """A server that stops reading (and so never answers pings) is dead
        after its (scaled) 60 s: TCP Connection closed; the call's audio goes on."""
        self.start_fork_daemon(threshold=1, env={"VOXFORK_TEST_TIME_SCALE": "60"})
        server = self.speech(args=("--stop-reading-after-frames", 1, "--rcvbuf", 4096))
        to_callee = RtpRecorder(self)
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 7, packets=125)
        c = Steps().info(start(server.port), "STARTED").stream(caller_file, ms=3000)
        agent = self.agent(rtp_rx_port=to_callee.port)
        ctl = self.controller(c)
        wait_all(self, ctl, agent, timeout=60)
        got = statuses(ctl)
        self.assertEqual(got[1:], [{"call-guid": GUID, "status": "STOPPED", "reason": "TCP Connection closed"}],
                         ctl.report())
        self.assertEqual(to_callee.payload(0), caller_bytes, "the relayed audio did not wait for the server")
        self.assertEqual(self.statistics()["Forks active"], 0)


if __name__ == "__main__":
    harness.main()
