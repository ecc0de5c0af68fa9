"""The daemon shell end to end: configuration check, the control socket
driven by the real `voxfork` client (one-shot and interactive), reload by
SIGHUP with a good and a bad file, SIGTERM, and misbehaving clients."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading

import harness
from harness import Harness, binary, free_port, relay_port_base


def lab_config(hostname="lab-sbc", interval=600):
    sip_port = free_port(pair=True)
    rtp_min = relay_port_base(22)
    return f"""hostname {hostname}
!
voice service voip
 rtp-port range {rtp_min} {rtp_min + 20}
 sip
  bind control source-address 127.0.0.1
  listen-port non-secure {sip_port}
!
media profile stream-service 99
 description lab speech server
 connection calls-threshold 3
!
media class 9
 stream-service profile 99
!
dial-peer voice 900 voip
 session protocol sipv2
 incoming called-number 6777
!
dial-peer voice 901 voip
 destination-pattern 6777
 session target ipv4:127.0.0.1:7052
 media-class 9
!
license usage interval {interval}
control-socket @SOCKET@
end
"""


class DaemonShellTest(Harness):

    def test_check_accepts_a_good_file_and_lists_every_error_of_a_bad_one(self):
        good = self.daemon(lab_config())
        r = subprocess.run([binary("voxforkd"), "-c", good.config_path, "--check"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual((r.returncode, r.stdout), (0, "configuration OK\n"), r.stderr)
        harness.check_output("voxforkd --check", r.stderr)

        bad_path = os.path.join(self.tmpdir, "bad.conf")
        with open(bad_path, "w") as f:
            f.write("hostname ok\nfrobnicate now\nmedia class 9\n stream-service profile 42\n"
                    "license usage interval 5\n")
        r = subprocess.run([binary("voxforkd"), "-c", bad_path, "--check"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        harness.check_output("voxforkd --check", r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 3, r.stderr)
        self.assertTrue(lines[0].startswith(f"{bad_path}:2: "), lines)
        self.assertTrue(lines[1].startswith(f"{bad_path}:4: "), lines)
        self.assertTrue(lines[2].startswith(f"{bad_path}:5: "), lines)

    def test_a_bad_file_opens_no_socket(self):
        d = self.daemon("hostname x\nno-such-command\ncontrol-socket @SOCKET@\n")
        d.start(wait=False, expect_exit=1)
        self.assertEqual(d.process.wait(10), 1)
        self.assertIn(f"{d.config_path}:2: ", d.log())
        self.assertFalse(os.path.exists(d.socket_path))

    def test_one_shot_commands_filters_and_exit_codes(self):
        d = self.daemon(lab_config()).start()
        code, out, _ = d.cli("show", "running-config")
        self.assertEqual(code, 0)
        self.assertIn("hostname lab-sbc\n", out)
        self.assertIn("media class 9\n stream-service profile 99\n", out)

        code, out, _ = d.cli("show running-config | section media")
        self.assertEqual(code, 0)
        self.assertIn("media profile stream-service 99\n description lab speech server\n", out)
        self.assertIn("media class 9\n stream-service profile 99\n", out)
        # A section is printed whole when any of its lines matches (media-class 9).
        self.assertIn("dial-peer voice 901 voip\n destination-pattern 6777\n", out)
        self.assertNotIn("dial-peer voice 900", out)
        self.assertNotIn("hostname", out)

        code, out, _ = d.cli("show", "running-config", "|", "include", "^dial-peer")
        self.assertEqual((code, out), (0, "dial-peer voice 900 voip\ndial-peer voice 901 voip\n"))

        code, out, _ = d.cli("show", "nonsense")
        self.assertEqual(code, 1)
        self.assertTrue(out.startswith("% Invalid input detected"), out)

        code, out, _ = d.cli("show running-config | include ([")
        self.assertEqual(code, 1)
        self.assertIn("% Invalid input detected", out)

        # A call with no fork is said plainly, not as bad input.
        code, out, _ = d.cli("show", "voip", "stream-service", "callid", "999")
        self.assertEqual((code, out), (1, "% No fork for callid 999\n"))

        code, out, err = subprocess.run(
            [binary("voxfork"), "-s", os.path.join(self.tmpdir, "nobody.sock"), "show", "version"],
            capture_output=True, text=True, timeout=10).returncode, "", ""
        self.assertEqual(code, 2)

    def test_interactive_prompt_through_a_pipe(self):
        d = self.daemon(lab_config(hostname="sbc-7")).start()
        code, out, _ = d.cli(input_text="show hostname\nshow bogus\n\nshow running-config | include ^hostname\nexit\n")
        self.assertEqual(code, 0)
        self.assertEqual(out.count("sbc-7#"), 5, out)  # one prompt per line read, the empty one too
        self.assertIn("sbc-7#sbc-7\n", out)
        self.assertIn("% Invalid input detected", out)
        self.assertIn("hostname sbc-7\n", out)

    def test_reload_good_file_applies_bad_file_keeps_running_config(self):
        d = self.daemon(lab_config(interval=600)).start()
        self.assertIn("license usage interval 600", d.show("show running-config"))

        d.write_config(lab_config(interval=900))
        d.signal(signal.SIGHUP)
        harness.wait_for(lambda: "license usage interval 900" in d.show("show running-config"),
                         what="reloaded configuration")

        with open(d.config_path, "a") as f:
            f.write("bogus command here\n")
        d.signal(signal.SIGHUP)
        d.wait_log("keeping the running configuration")
        self.assertIn(f"{d.config_path}:", d.log())
        self.assertIn("license usage interval 900", d.show("show running-config"))
        self.assertIsNone(d.process.poll())

    def test_reloaded_hostname_is_the_new_log_tag(self):
        d = self.daemon(lab_config(hostname="sbc-before")).start()
        d.wait_log(" sbc-before: voxforkd ")
        d.write_config(lab_config(hostname="sbc-after"))
        d.signal(signal.SIGHUP)
        d.wait_log(" sbc-after: configuration reloaded from ")
        self.assertEqual(d.show("show hostname"), "sbc-after\n")
        self.assertNotIn(" sbc-before: configuration reloaded", d.log())

    def test_running_config_json_is_structured(self):
        d = self.daemon(lab_config(interval=600)).start()
        data = json.loads(d.show("show running-config | json"))
        self.assertEqual(data["hostname"], "lab-sbc")
        self.assertEqual(data["license_usage_interval_seconds"], 600)
        self.assertEqual(data["voice_service_voip"]["sip"]["control_address"], "127.0.0.1")
        self.assertIsInstance(data["voice_service_voip"]["sip"]["listen_port"], int)
        peers = {p["tag"]: p for p in data["dial_peers"]}
        self.assertEqual(peers[900]["incoming_called_number"], "6777")
        self.assertEqual(peers[901]["session_target"], {"kind": "ipv4", "host": "127.0.0.1", "port": 7052})
        self.assertEqual(peers[901]["media_class"], 9)
        self.assertEqual(data["media_profiles"][0]["calls_threshold"], 3)

    def test_sigterm_stops_cleanly_and_removes_the_socket(self):
        d = self.daemon(lab_config()).start()
        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(d.socket_path))

    @staticmethod
    def scheduling_policy(pid, thread_name):
        """The policy field of /proc/PID/task/TID/stat (0 other, 1 FIFO) of the named thread."""
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != thread_name:
                    continue
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[38]), int(fields[37])  # policy, rt_priority (fields 41 and 40)
        return None

    @staticmethod
    def realtime_refused(priority):
        """Why this host refuses SCHED_FIFO `priority` to a process of ours (a
        child tries it), or None when it grants it. Root in a container
        without CAP_SYS_NICE is refused too."""
        r = subprocess.run(["/usr/bin/python3", "-c",
                            f"import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param({priority}))"],
                           capture_output=True, text=True, timeout=10)
        if r.returncode == 0:
            return None
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
        return (f"SCHED_FIFO priority {priority} is refused here (euid {os.geteuid()}, RLIMIT_RTPRIO {soft}, "
                f"no CAP_SYS_NICE?): {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")

    def test_rtp_priority_puts_the_packet_thread_alone_at_sched_fifo(self):
        refused = self.realtime_refused(7)
        if refused:
            self.skipTest(refused)
        d = self.daemon(lab_config()).start(extra_args=("--rtp-priority", "7"))
        relay = harness.wait_for(lambda: self.scheduling_policy(d.process.pid, "vf-rtp-relay"),
                                 what="packet thread")
        self.assertEqual(relay, (1, 7))  # SCHED_FIFO, priority 7
        self.assertIn("RTP packet thread at SCHED_FIFO priority 7", d.log())
        self.assertEqual(self.scheduling_policy(d.process.pid, "voxforkd"), (0, 0))  # the io thread: ordinary

    def test_a_refused_rtp_priority_is_reported_as_refused(self):
        """Without CAP_SYS_NICE (dropped from the bounding set, so not even
        root gets it back) the thread stays ordinary, and the log says so
        rather than claiming SCHED_FIFO."""
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to drop CAP_SYS_NICE")
        d = self.daemon(lab_config()).start(extra_args=("--rtp-priority", "7"),
                                             wrapper=("setpriv", "--bounding-set", "-sys_nice"))
        relay = harness.wait_for(lambda: self.scheduling_policy(d.process.pid, "vf-rtp-relay"),
                                 what="packet thread")
        self.assertEqual(relay, (0, 0))  # ordinary
        self.assertIn("RTP packet thread refused SCHED_FIFO priority 7, it runs at ordinary priority", d.log())
        self.assertNotIn("RTP packet thread at SCHED_FIFO", d.log())

    def test_rtp_priority_leaves_the_io_thread_ordinary_and_checks_its_range(self):
        d = self.daemon(lab_config()).start(extra_args=("--rtp-priority", "7"))
        harness.wait_for(lambda: self.scheduling_policy(d.process.pid, "vf-rtp-relay"), what="packet thread")
        self.assertEqual(self.scheduling_policy(d.process.pid, "voxforkd"), (0, 0))
        self.assertEqual(d.stop(), 0)
        for bad in ("0", "100", "x"):
            r = subprocess.run([binary("voxforkd"), "-c", d.config_path, "--rtp-priority", bad],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("--rtp-priority wants a number from 1 to 99", r.stderr)
            harness.check_output(f"voxforkd --rtp-priority {bad}", r.stderr)

    def test_without_rtp_priority_every_thread_is_ordinary(self):
        d = self.daemon(lab_config()).start()
        self.assertEqual(harness.wait_for(lambda: self.scheduling_policy(d.process.pid, "vf-rtp-relay"),
                                          what="packet thread"), (0, 0))

    def test_misbehaving_clients_do_not_hurt_the_others(self):
        d = self.daemon(lab_config()).start()

        def raw(payload, read=True):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(d.socket_path)
            s.sendall(payload)
            data = s.recv(4096) if read else b""
            s.close()
            return data

        self.assertTrue(raw(b"\x00\xff\xfe garbage\n").startswith(b"1 "))
        self.assertIn(b"Invalid input detected", raw(b"x" * (1024 * 1024) + b"\n"))
        raw(b"show runn", read=False)  # hangs up mid-command

        # A client that connects and says nothing must not block the others.
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(d.socket_path)
        self.on_cleanup(idle.close)

        results = []

        def client():
            results.append(d.cli("show", "hostname"))
        threads = [threading.Thread(target=client) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 50)
        self.assertTrue(all(r[0] == 0 and r[1] == "lab-sbc\n" for r in results), results[:3])
        self.assertIsNone(d.process.poll())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    harness.main()
