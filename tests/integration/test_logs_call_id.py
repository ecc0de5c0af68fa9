"""Every call and fork log line names the call's SIP Call-ID (and the
call-guid once a request gave one), so an operator can join voxforkd's log
with the SIP peers' and the controller's traces. The FORK_ET lines keep the
layout the replaced SBCs used (docs/logs.md); the two fields trail it."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import GUID, ForkTest, Steps, sent_call_id, start, stop  # noqa: E402
from sipp import wait_all  # noqa: E402


class CallIdInLogs(ForkTest):
    def test_call_and_fork_lines_carry_the_call_id_and_guid(self):
        d = self.start_fork_daemon()
        server = self.speech()
        c = Steps().info(start(server.port), "STARTED").pause(300).info(stop(), "STOPPED").pause(200)
        agent = self.agent()
        ctl = self.controller(c)
        wait_all(self, ctl, agent)
        self.assert_no_calls()
        call_id = sent_call_id(ctl)
        log = d.log()

        trace = [line for line in log.splitlines() if "FORK_ET: TYPE = CALL" in line]
        texts = [re.search(r"FORK_ET: TYPE = CALL : callid \d+ : (.*?) : call-id ", line)[1] for line in trace]
        self.assertEqual(texts, ["Forking request START", "Forking initiated", "Forking request STOP",
                                 "Forking stopped (Forking stopped)"], log)
        for line in trace:
            self.assertTrue(line.endswith(f" : call-id {call_id} : call-guid {GUID}"), line)

        calls = [line for line in log.splitlines() if re.search(r"\bsip: call \d+", line)]
        self.assertGreaterEqual(len(calls), 3, log)  # routed, BYE, ended
        for line in calls:
            self.assertIn(f" : call-id {call_id}", line)
        # The call-guid joins once the fork has one: the BYE and the end after the STOP carry it.
        self.assertIn(f"ended : call-id {call_id} : call-guid {GUID}", log)

    def test_a_call_that_never_forked_names_only_its_call_id(self):
        d = self.start_fork_daemon()
        agent = self.agent()
        ctl = self.controller(Steps().pause(200))
        wait_all(self, ctl, agent)
        call_id = sent_call_id(ctl)
        ended = [line for line in d.log().splitlines() if re.search(r"sip: call \d+ ended", line)]
        self.assertEqual(len(ended), 1)
        self.assertTrue(ended[0].endswith(f"ended : call-id {call_id}"), ended[0])


if __name__ == "__main__":
    harness.main()
