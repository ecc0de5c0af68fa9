"""Fork paths the other fork tests leave out, each through real SIP: a START
in the early dialog (before the call is answered) is ERROR `Internal error`,
delivered once the dialog is confirmed; an old-style hold (c=0.0.0.0) from
the agent's side pauses and resumes the fork; a wss:// fork through a
trustpoint, and a certificate for another name giving `Connection failed`."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import (GUID, ForkTest, Steps, pattern, received_requests, sdp, start, statuses,  # noqa: E402
                          stop)
from harness import LOOPBACK  # noqa: E402
from sipp import Sipp, part, scenario, wait_all  # noqa: E402
from speech_server import make_tls_files  # noqa: E402

NAME = "asr.voxfork.test"
MAPS = "      a=rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000"


def status(state, **fields):
    return {"call-guid": GUID, "status": state, **fields}


def agent_reinvite(cseq, body, expect):
    """The agent re-INVITEs with an SDP body; the answer must match `expect`."""
    return part("uas_reinvite_body", CSEQ=cseq, CONTENT_TYPE="application/sdp", BODY=body, EXPECT=expect)


class EarlyDialog(ForkTest):
    def test_start_before_the_answer_is_internal_error_once_confirmed(self):
        """An INFO START after the 180 (to-tag: an early dialog) and before the
        200 is answered 200 at once; the call is not confirmed, so the fork
        part refuses it with `Internal error`, and that status goes out after
        the ACK. Nothing reaches the speech server; a START after that works."""
        self.start_fork_daemon()
        server = self.speech()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 11, packets=10)
        early = Steps().info(start(server.port))
        after = (Steps(first_cseq=3).status("ERROR").info(start(server.port), "STARTED")
                 .stream(caller_file, ms=0).wait_sync().info(stop(), "STOPPED"))
        path = scenario(self, "fork_uac_early", OFFER_PTS="0 101", OFFER_MAPS=MAPS, ANSWER="m=audio [0-9]+ RTP/AVP 0",
                        EARLY=early.text(), STEPS=after.text(), END=part("fork_uac_bye"))
        agent = self.ringing_agent(ring_ms=1500)
        ctl = Sipp(self, path, self.uac_port, target=self.sip_port, extra=("-aa",))
        # The STOP waits until the speech server has every frame.
        self.assert_channel_audio(server, server.wait_event("control", type="START")["channel"], caller_bytes)
        self.release(agent)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[0], status("ERROR", reason="Internal error"), ctl.report())
        self.assertEqual([g["status"] for g in got[1:]], ["STARTED", "STOPPED"])
        # The ERROR went out only once the call was answered and ACKed.
        log = ctl.messages()
        self.assertLess(log.index("CSeq: 1 ACK"), log.index('"Internal error"'), "status INFO before the ACK")
        self.assertEqual(len(server.connections()), 1, "only the second START connected")
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"])
        self.assert_channel_audio(server, got[1]["channels"]["caller"], caller_bytes)
        self.assertEqual(self.statistics()["Forks started"], 1)
        self.assert_no_calls()

    def test_start_in_an_early_dialog_that_never_answers_sends_nothing(self):
        """The call fails after the early START: the held ERROR is dropped with
        the dialog, and the caller gets the failure and nothing else."""
        self.start_fork_daemon()
        server = self.speech()
        early = part("fork_send_info", CSEQ=2, CONTENT_TYPE="application/x-cisco-record+json",
                     BODY=start(server.port), STATUS=200)
        path = scenario(self, "uac_reject", STATUS=486, CONTENT_TYPE="application/sdp",
                        BODY="v=0\n      o=caller 1 1 IN IP4 127.0.0.1\n      s=-\n      c=IN IP4 127.0.0.1\n"
                             "      t=0 0\n      m=audio 6000 RTP/AVP 0\n      a=rtpmap:0 PCMU/8000")
        # uac_reject takes an optional 180 and then the failure: the early INFO
        # goes right after a 180 made mandatory, which records the dialog's route.
        with open(path) as f:
            text = f.read()
        optional_180 = '<recv response="180" optional="true"/>'
        self.assertIn(optional_180, text)
        with open(path, "w") as f:
            f.write(text.replace(optional_180, '<recv response="180" rrs="true"/>\n' + early))
        agent = Sipp(self, scenario(self, "uas_ring", STATUS=486, WAIT_CANCEL=part("pause", MS=1000)), self.uas_port)
        ctl = Sipp(self, path, self.uac_port, target=self.sip_port, extra=("-aa",))
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [], ctl.report())
        self.assertEqual(server.connections(), [])
        self.assert_no_calls()

    def ringing_agent(self, ring_ms):
        path = scenario(self, "fork_uas_ring", RING_MS=ring_ms, STEPS="", END=part("uas_recv_bye"))
        return Sipp(self, path, self.uas_port, extra=("-aa",))


class OldStyleHold(ForkTest):
    def test_zero_address_hold_from_the_agent_pauses_and_resumes(self):
        """The agent holds with c=0.0.0.0 (RFC 2543 style, direction left
        sendrecv): the controller gets the re-INVITE with 0.0.0.0 kept and the
        PAUSED status (it sent the START), the speech server PAUSE `hold` on
        both channels; the agent's unhold gives RESUME and RESUMED."""
        self.start_fork_daemon()
        server = self.speech()
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 12, packets=10)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 13, packets=10)
        # The agent holds only once the speech server has every frame of both
        # sides: the test tells it, by an INFO of its own relayed to it, so a
        # loaded host can't push audio into the held stretch.
        c = (Steps().info(start(server.port), "STARTED").sync().stream(caller_file, ms=0)
             .accept_reinvite("c=IN IP4 0.0.0.0").pause(300)
             .accept_reinvite("c=IN IP4 127.0.0.1").pause(800))
        c.cseq = 10  # after the test's INFO (CSeq 5)
        c.info(stop(), "STOPPED")
        a = (Steps().wait_sync().stream(callee_file, ms=0).wait_sync()
             .raw(agent_reinvite(10, sdp(version=2, address="0.0.0.0"), "m=audio [0-9]+ RTP/AVP 0")).pause(500)
             .raw(agent_reinvite(11, sdp(version=3), "c=IN IP4 127.0.0.1")))
        agent = self.agent(a)
        ctl = self.controller(c)
        starts = server.wait_events("control", 2, type="START")
        for start_event, sent in zip(starts, (caller_bytes, callee_bytes)):
            self.assert_channel_audio(server, start_event["channel"], sent)
        self.release(ctl)
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual(got[1:], [status("PAUSED", reason="hold"), status("RESUMED", codec="g711ulaw"),
                                   status("STOPPED", reason="Forking stopped")], ctl.report())
        self.assertEqual(statuses(agent), [], "status INFOs go to the leg of the START")
        relayed = [body for _, body in received_requests(ctl, "INVITE")]
        self.assertEqual(len(relayed), 2)
        self.assertIn("c=IN IP4 0.0.0.0", relayed[0])
        self.assertIn("a=sendrecv", relayed[0])
        ch = got[0]["channels"]
        server.wait_events("control", 2, type="STOP")  # the last it is sent, so every message before is logged
        msgs = [m for m in server.messages() if m["type"] in ("PAUSE", "RESUME")]
        self.assertEqual(msgs, [{"type": "PAUSE", "channel": ch["caller"], "reason": "hold"},
                                {"type": "PAUSE", "channel": ch["callee"], "reason": "hold"},
                                {"type": "RESUME", "channel": ch["caller"], "codec": "PCMU"},
                                {"type": "RESUME", "channel": ch["callee"], "codec": "PCMU"}])
        self.assert_channel_audio(server, ch["caller"], caller_bytes)
        self.assert_channel_audio(server, ch["callee"], callee_bytes)
        self.assertEqual(server.violations(), [], "no frame while paused")
        self.assert_no_calls()


class Secure(ForkTest):
    def tls_daemon(self, ca):
        return self.start_fork_daemon(extra=(f"ip host {NAME} {LOOPBACK}\n"
                                             f"crypto pki trustpoint ws\n enrollment terminal\n ca-file {ca}\n"
                                             "http client secure-trustpoint ws\n"))

    def test_wss_fork_through_the_trustpoint(self):
        tls = make_tls_files(self.tmpdir, names=(NAME,), ips=())
        d = self.tls_daemon(tls.ca)
        server = self.speech(tls=tls)
        caller_file, caller_bytes = pattern(self, "caller.ulaw", 14, packets=15)
        callee_file, callee_bytes = pattern(self, "callee.ulaw", 15, packets=15)
        c = (Steps().info(start(server.port, host=NAME, secure=True), "STARTED").sync()
             .stream(caller_file, ms=0).wait_sync().info(stop(), "STOPPED"))
        agent = self.agent(Steps().wait_sync().stream(callee_file, ms=100))
        ctl = self.controller(c)
        starts = server.wait_events("control", 2, type="START")
        # The STOP waits until the speech server has every frame of both sides.
        for start_event, sent in zip(starts, (caller_bytes, callee_bytes)):
            self.assert_channel_audio(server, start_event["channel"], sent)
        self.release(agent)
        [row] = self.open_connections()
        detail = d.show(f"show voip stream-service connection id {row[0]}")
        self.assertIn("Secure: Yes", detail.splitlines())
        self.assertIn(f"Server Address: {server.host_port}", detail.splitlines())
        wait_all(self, ctl, agent)
        got = statuses(ctl)
        self.assertEqual([g["status"] for g in got], ["STARTED", "STOPPED"], ctl.report())
        ch = got[0]["channels"]
        self.assertEqual([s["channel"] for s in starts], [ch["caller"], ch["callee"]])
        opened = server.connections()[0]
        self.assertEqual(opened["sni"], NAME)
        self.assertTrue(opened["tls_version"].startswith("TLSv1."), opened)
        self.assertIn(f"Cipher Suite: {opened['cipher']}", detail.splitlines())
        self.assert_channel_audio(server, ch["caller"], caller_bytes)
        self.assert_channel_audio(server, ch["callee"], callee_bytes)
        self.assert_arrives(lambda: [m["type"] for m in server.messages()], ["START", "START", "STOP", "STOP"])
        self.assertEqual(server.violations(), [])
        self.assert_no_calls()

    def test_certificate_for_another_name_is_connection_failed(self):
        ours = make_tls_files(self.tmpdir, names=(NAME,), ips=())
        self.tls_daemon(ours.ca)
        # Same CA, same key: only the name is wrong.
        wrong = ours._replace(cert=self.sign_for(ours, "other.voxfork.test"))
        server = self.speech(tls=wrong)
        agent = self.agent()
        ctl = self.controller(Steps().info(start(server.port, host=NAME, secure=True), "ERROR"))
        wait_all(self, ctl, agent)
        self.assertEqual(statuses(ctl), [status("ERROR", reason="Connection failed")], ctl.report())
        self.assertEqual(server.connections(), [], "no WebSocket opened")
        self.assertEqual(self.statistics()["Forks active"], 0)
        self.assert_no_calls()

    def sign_for(self, tls, name):
        """A certificate for `name` (and nothing else) on tls's key, signed by its CA."""
        csr, cert = os.path.join(self.tmpdir, "wrong.csr"), os.path.join(self.tmpdir, "wrong.pem")
        ext = os.path.join(self.tmpdir, "wrong.cnf")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        subprocess.run(["openssl", "req", "-new", "-key", tls.key, "-out", csr, "-subj", f"/CN={name}"],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", tls.ca, "-CAkey", tls.ca_key,
                        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
                       check=True, capture_output=True)
        return cert


if __name__ == "__main__":
    harness.main()
