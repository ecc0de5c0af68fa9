"""Dialogs over TCP stay on TCP: every Contact voxforkd sends names
`;transport=tcp` (its 200 to the caller, its INVITE and re-INVITEs to the
callee, its answers to re-INVITEs), and its in-dialog requests (BYE,
re-INVITE, INFO) go to the peer's Contact, through its Record-Route, on both
legs. SIPp runs over TCP (`-t t1`); the checks read what crossed the wire."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import SipTest, header_lines, part, wait_all  # noqa: E402
from test_sip_midcall import answer, offer  # noqa: E402


class TcpDialogs(SipTest):
    def start(self):
        self.start_daemon(transport="tcp")
        self.caller_uri = f"sip:1000@{harness.LOOPBACK}:{self.uac_port};transport=tcp"
        self.callee_uri = f"sip:{harness.LOOPBACK}:{self.uas_port};transport=tcp"

    def assert_contacts_name_tcp(self, run, at_least):
        """Every Contact in what voxforkd sent this SIPp names TCP."""
        contacts = [c for text in run.received() for c in header_lines(text, "Contact")]
        self.assertGreaterEqual(len(contacts), at_least, f"too few Contacts\n{run.report()}")
        for contact in contacts:
            self.assertIn(";transport=tcp", contact, f"a Contact without TCP\n{run.report()}")

    def assert_request_to(self, run, method, uri):
        """voxforkd sent `run` a `method` addressed to `uri` (the peer's Contact)."""
        # SIPp writes its own transport in capitals; URI parameters are case-insensitive.
        lines = [text.splitlines()[0].lower() for text in run.received(method + " ")]
        self.assertIn(f"{method} {uri} SIP/2.0".lower(), lines, run.report())

    def test_bye_from_the_caller_follows_the_callees_record_route(self):
        self.start()
        record_route = f"<sip:{harness.LOOPBACK}:{self.uas_port};transport=tcp;lr>"
        uas = self.callee(END=part("uas_recv_bye"), RECORD_ROUTE=f"\n      Record-Route: {record_route}", tcp=True)
        uac = self.caller(MIDCALL=part("pause", MS=300), tcp=True)
        wait_all(self, uac, uas)
        self.assert_contacts_name_tcp(uac, 1)  # the 200 to the INVITE
        self.assert_contacts_name_tcp(uas, 1)  # the INVITE
        self.assert_request_to(uas, "BYE", self.callee_uri)
        bye = uas.received("BYE ")[0]
        self.assertEqual(header_lines(bye, "Route"), [record_route], bye)
        self.assert_no_calls()

    def test_bye_from_the_callee(self):
        self.start()
        uas = self.callee(MIDCALL=part("pause", MS=300), END=part("uas_send_bye", CSEQ=1), tcp=True)
        uac = self.caller(name="uac_answered_bye", tcp=True)
        wait_all(self, uac, uas)
        self.assert_contacts_name_tcp(uac, 1)
        self.assert_contacts_name_tcp(uas, 1)
        self.assert_request_to(uac, "BYE", self.caller_uri)
        self.assert_no_calls()

    def test_reinvite_from_the_caller(self):
        self.start()
        uas = self.callee(MIDCALL=answer(2, "a=sendonly", "recvonly"), END=part("uas_recv_bye"), tcp=True)
        uac = self.caller(MIDCALL=offer(2, "sendonly", "a=recvonly"), tcp=True)
        wait_all(self, uac, uas)
        self.assert_contacts_name_tcp(uac, 2)  # the 200s to the INVITE and the re-INVITE
        self.assert_contacts_name_tcp(uas, 2)  # the INVITE and the re-INVITE
        self.assert_request_to(uas, "INVITE", self.callee_uri)
        self.assert_no_calls()

    def test_reinvite_from_the_callee(self):
        self.start()
        # The pause lets the caller's ACK go first: SIPp aborts a call whose
        # next message arrives while it is still sending (a loaded host).
        uas = self.callee(MIDCALL=part("pause", MS=300) + offer(1, "sendonly", "a=recvonly", who="uas_reinvite"),
                          END=part("uas_recv_bye"), tcp=True)
        # And the callee's ACK goes before the caller's BYE: the stack ACKs the
        # caller's 200 at once, and a BYE relayed right behind the callee's 200
        # arrived while SIPp was still to send that ACK.
        uac = self.caller(MIDCALL=answer(2, "a=sendonly", "recvonly") + part("pause", MS=300), tcp=True)
        wait_all(self, uac, uas)
        self.assert_contacts_name_tcp(uac, 2)  # the 200 to the INVITE, the re-INVITE
        self.assert_contacts_name_tcp(uas, 2)  # the INVITE, the 200 to the re-INVITE
        self.assert_request_to(uac, "INVITE", self.caller_uri)
        self.assert_no_calls()

    def test_info_from_the_caller(self):
        self.start()
        uas = self.callee(MIDCALL=part("recv_info", CSEQ=2, EXPECT="Signal=5", STATUS=200), END=part("uas_recv_bye"),
                          tcp=True)
        uac = self.caller(MIDCALL=part("uac_info", CSEQ=2, CONTENT_TYPE="application/dtmf-relay",
                                       BODY="Signal=5\nDuration=160", STATUS=200), tcp=True)
        wait_all(self, uac, uas)
        self.assert_request_to(uas, "INFO", self.callee_uri)
        self.assert_contacts_name_tcp(uac, 1)
        self.assert_no_calls()

    def test_info_from_the_callee(self):
        self.start()
        # As for the callee's re-INVITE: the caller's ACK goes first.
        uas = self.callee(MIDCALL=part("pause", MS=300) + part("fork_uas_send_info", CSEQ=1,
                                                               CONTENT_TYPE="application/dtmf-relay",
                                                               BODY="Signal=7", STATUS=200),
                          END=part("uas_recv_bye"), tcp=True)
        uac = self.caller(MIDCALL=part("recv_info", CSEQ=2, EXPECT="Signal=7", STATUS=200), tcp=True)
        wait_all(self, uac, uas)
        self.assert_request_to(uac, "INFO", self.caller_uri)
        self.assert_contacts_name_tcp(uas, 1)
        self.assert_no_calls()


if __name__ == "__main__":
    harness.main()
