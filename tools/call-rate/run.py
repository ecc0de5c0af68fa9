#!/usr/bin/env python3
"""Sustained call rate through voxforkd, with or without forking.

SIPp calls voxforkd at RATE calls/s for SECONDS; voxforkd relays each call to
a SIPp callee. Each call is INVITE/200/ACK, HOLD ms, BYE; with --fork the
controller sends an INFO START after the ACK (to the reference speech server,
calls-threshold calls per WebSocket connection) and waits for the STARTED
status INFO, and before its BYE an INFO STOP and the STOPPED status INFO.
No RTP flows: this measures the control plane.

    tools/call-rate/run.py 1000 10 --fork
    VOXFORK_BUILD_DIR=build NICE=5 tools/call-rate/run.py 1200 10
    tools/call-rate/run.py 1200 10 --against kamailio

--against kamailio puts Kamailio (kamailio-rtpengine.cfg here: a stateful
record-routing proxy, 4 worker processes, 1 GiB of shared memory) and
rtpengine (userspace relay, one thread per core) where voxforkd was, for the same calls without forking:
the comparison the SBC is judged against. Needs Debian's kamailio and
rtpengine-daemon (benchmark helpers, not voxfork dependencies).

Prints one line:

    call-rate rate=R seconds=S fork=F calls=N ok=N failed=N torn_down=N
        refused_503=N lag_ms_max=N queue_pct_max=N cpu_s=N cpu_us_per_call=N sip_drops=N

ok/failed are the caller's (SIPp's) count (a call fails when any of its
messages is missing or late: an INVITE not answered, a status INFO not
received, a BYE not answered); torn_down is voxforkd's "Calls
ended, 200 not ACKed" (an established call it ended); refused_503 its
overload refusals; sip_drops the datagrams the kernel dropped on voxforkd's
SIP socket; cpu_s the daemon's user+system CPU over the run (Kamailio's
processes and rtpengine's together with --against kamailio). The run's files
(configuration, logs, SIPp's statistics) stay in the directory printed on
stderr. Needs sipp; runs SIPp and voxforkd at `nice NICE` (default 5) so that
an interactive shell stays usable.
"""

import argparse
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
os.environ.setdefault("VOXFORK_BUILD_DIR", os.path.join(root, "build"))
sys.path.insert(0, os.path.join(root, "tests", "integration"))

import harness  # noqa: E402
import sipp  # noqa: E402
from fork_support import Steps, fork_config, part, start, stop  # noqa: E402


def cpu_seconds(*pids):
    """User + system CPU of the processes and all their descendants."""
    total, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        todo += [int(c) for c in children]
    return total / os.sysconf("SC_CLK_TCK")


def socket_drops(port):
    for line in open("/proc/net/udp").read().splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port:
            return int(f[-1])
    return 0


def counter(text, label):
    m = re.search(re.escape(label) + r"[ .:]*?(\d+)\s*$", text, re.M)
    return int(m.group(1)) if m else -1


class Files:
    """sipp.scenario() writes into `tmpdir`."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rate", type=int)
    p.add_argument("seconds", type=int)
    p.add_argument("--fork", action="store_true", help="INFO START after the ACK, INFO STOP before the BYE")
    p.add_argument("--hold", type=int, default=2000, help="ms between the ACK and the BYE (default 2000)")
    p.add_argument("--threshold", type=int, default=20, help="calls per WebSocket connection (default 20)")
    p.add_argument("--against", choices=("voxforkd", "kamailio"), default="voxforkd",
                   help="what the calls go through (default voxforkd)")
    args = p.parse_args()
    if args.fork and args.against != "voxforkd":
        p.error("--fork needs voxforkd")
    nice = ["nice", "-n", os.environ.get("NICE", "5")]
    # Six sockets per call for voxforkd (the packaged service's LimitNOFILE),
    # SIPp's and rtpengine's own: raised for the children where root may.
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        print("call-rate: could not raise the open-file limit to 65536", file=sys.stderr)

    d = tempfile.mkdtemp(prefix="call-rate.")
    print(f"call-rate: run files in {d}", file=sys.stderr)
    files = Files(d)
    sip_port, uas_port, uac_port = (harness.free_port(pair=True) for _ in range(3))
    concurrent = args.rate * (args.hold + 2000) // 1000
    # Relay ports: 2 legs x (RTP + RTCP) per call up. The test suite's port
    # map is not in use here (a benchmark runs alone): the whole range below
    # the kernel's ephemeral ports, room for 5,600 calls.
    relay_first, span = 10000, 22766

    speech = None
    steps = Steps().pause(args.hold)
    if args.fork:
        speech_port = harness.free_port()
        speech = subprocess.Popen([*nice, harness.binary("speech-server"), "--listen", f"127.0.0.1:{speech_port}",
                                   "--out", os.path.join(d, "speech")],
                                  stdout=open(os.path.join(d, "speech.log"), "wb"), stderr=subprocess.STDOUT)
        harness.wait_for(lambda: sipp._listening(speech_port, tcp=True), what="speech server")
        config = fork_config(sip_port, uas_port, threshold=args.threshold)
        guid = "CR[call_number]"  # one fork per call
        steps = (Steps().info(start(speech_port, guid=guid), "STARTED").pause(args.hold)
                 .info(stop(guid), "STOPPED"))
    else:
        config = sipp.daemon_config(sip_port, uas_port, relay_first)
    # The same scenarios whatever the calls go through: the answer must offer
    # PCMU, nothing more is checked of the SDP.
    uac_sf = sipp.scenario(files, "fork_uac", OFFER_PTS="0 101",
                           OFFER_MAPS="      a=rtpmap:0 PCMU/8000\n      a=rtpmap:101 telephone-event/8000",
                           ANSWER="m=audio [0-9]+ RTP/AVP 0", STEPS=steps.text(), END=part("fork_uac_bye"))
    uas_sf = sipp.scenario(files, "fork_uas", PT=0, ENCODING="PCMU", END=part("uas_recv_bye"))
    config = re.sub(r"(?m)^ rtp-port range .*$", f" rtp-port range {relay_first} {relay_first + span}", config)
    config += f"control-socket {d}/v.sock\n"
    with open(os.path.join(d, "v.conf"), "w") as f:
        f.write(config)

    relay = None
    if args.against == "kamailio":
        ng_port = harness.free_port(socket.SOCK_DGRAM)
        relay = subprocess.Popen([*nice, "rtpengine", "--config-file=none", "--foreground", "--log-stderr",
                                  "--log-level=3", "--table=-1", "--delete-delay=0", "--interface=127.0.0.1",
                                  f"--listen-ng=127.0.0.1:{ng_port}", f"--port-min={relay_first}",
                                  f"--port-max={relay_first + span}", f"--num-threads={os.cpu_count()}"],
                                 stdout=open(os.path.join(d, "rtpengine.log"), "wb"), stderr=subprocess.STDOUT)
        harness.wait_for(lambda: sipp._listening(ng_port, tcp=False), what="rtpengine")
        daemon = subprocess.Popen([*nice, "kamailio", "-DD", "-E", "-m", "1024", "-M", "16", "-f", os.path.join(here, "kamailio-rtpengine.cfg"),
                                   "-P", os.path.join(d, "kamailio.pid"), "-Y", d,
                                   "-A", f"LISTEN=udp:127.0.0.1:{sip_port}",
                                   "-A", f'TARGET="sip:127.0.0.1:{uas_port}"',
                                   "-A", f'RTPENGINE="udp:127.0.0.1:{ng_port}"'],
                                  stdout=open(os.path.join(d, "kamailio.log"), "wb"), stderr=subprocess.STDOUT)
        harness.wait_for(lambda: sipp._listening(sip_port, tcp=False), what="Kamailio")
        time.sleep(1)  # its workers
    else:
        daemon = subprocess.Popen([*nice, harness.binary("voxforkd"), "-c", f"{d}/v.conf", "--foreground"],
                                  stdout=open(os.path.join(d, "voxforkd.log"), "wb"), stderr=subprocess.STDOUT)
        harness.wait_for(lambda: os.path.exists(f"{d}/v.sock"), what="control socket")
    measured = [daemon.pid] + ([relay.pid] if relay else [])  # nice execs the program

    calls = args.rate * args.seconds
    common = ["-key", "rtp_rx_port", "6000", "-key", "sdp_ip", "127.0.0.1", "-key", "sdp_ip_type", "4",
              "-mi", "127.0.0.1", "-nostdin", "-trace_err", "-trace_stat", "-fd", "1", "-aa",
              "-timeout", f"{args.seconds + 60}s", "-max_socket", "10000", "-buff_size", "4194304"]
    uas = subprocess.Popen([*nice, "sipp", "-sf", uas_sf, "-i", "127.0.0.1", "-p", str(uas_port),
                            "-mp", str(harness.free_port(socket.SOCK_DGRAM, even=True, span=4)),
                            "-error_file", f"{d}/uas.err", "-stf", f"{d}/uas.csv", *common],
                           cwd=d, stdout=open(os.path.join(d, "uas.out"), "wb"), stderr=subprocess.STDOUT)
    harness.wait_for(lambda: sipp._listening(uas_port, tcp=False), what="SIPp callee")
    cpu0 = cpu_seconds(*measured)
    uac = subprocess.Popen([*nice, "sipp", "-sf", uac_sf, "-i", "127.0.0.1", "-p", str(uac_port),
                            "-mp", str(harness.free_port(socket.SOCK_DGRAM, even=True, span=4)), "-m", str(calls),
                            "-r", str(args.rate), "-l", str(concurrent * 2), "-s", "6777", f"127.0.0.1:{sip_port}",
                            "-error_file", f"{d}/uac.err", "-stf", f"{d}/uac.csv", *common],
                           cwd=d, stdout=open(os.path.join(d, "uac.out"), "wb"), stderr=subprocess.STDOUT)
    try:
        uac.wait(args.seconds + 120)
    except subprocess.TimeoutExpired:
        uac.kill()
        uac.wait()
    cpu = cpu_seconds(*measured) - cpu0
    drops = socket_drops(sip_port)
    time.sleep(1)

    def show(command):
        return subprocess.run([harness.binary("voxfork"), "-s", f"{d}/v.sock", *command.split()],
                              capture_output=True, text=True).stdout

    sip_stats = show("show sip-ua statistics") if args.against == "voxforkd" else ""
    fork_stats = show("show voip stream-service statistics") if args.fork else ""
    with open(os.path.join(d, "stats.txt"), "w") as f:
        f.write(sip_stats + fork_stats)
    uas.terminate()
    uas.wait()
    daemon.terminate()
    daemon.wait(30)
    if relay:
        relay.terminate()
        relay.wait(10)
    if speech:
        speech.terminate()
        speech.wait(10)

    # SIPp's last statistics line: SuccessfulCall(C) is the 16th field... read by name.
    ok = failed = -1
    with open(os.path.join(d, "uac.csv")) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    if len(rows) >= 2:
        head, last = rows[0], rows[-1]
        ok = int(last[head.index("SuccessfulCall(C)")])
        failed = int(last[head.index("FailedCall(C)")])
    print(f"call-rate against={args.against} rate={args.rate} seconds={args.seconds} fork={int(args.fork)} calls={calls} ok={ok} "
          f"failed={failed} torn_down={counter(sip_stats, 'Calls ended, 200 not ACKed')} "
          f"refused_503={counter(sip_stats, 'Rejected overload (503)')} "
          f"lag_ms_max={counter(sip_stats, 'Control-plane lag ms (max)')} "
          f"queue_pct_max={counter(sip_stats, 'SIP receive queue % full (max)')} cpu_s={cpu:.1f} "
          f"cpu_us_per_call={cpu * 1e6 / max(ok, 1):.0f} sip_drops={drops} uac_exit={uac.returncode}")


if __name__ == "__main__":
    main()
