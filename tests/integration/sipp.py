"""Running SIPp against voxforkd: scenario files from tests/integration/sipp/
filled in per test, SIPp processes owned by the Harness, and an RTP recorder
that stands where a SIPp endpoint's SDP says its media goes.

Scenario files use SIPp's own keywords, plus @NAME@ placeholders that
scenario() replaces (a placeholder left unset becomes empty). Parts under
sipp/parts/ are blocks to put into the @STREAM@, @MIDCALL@ and @END@ places."""

import os
import socket
import struct
import subprocess
import threading
import time

import harness

SIPP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sipp")
_counter = [0]


def _fill(text, subs):
    for key, value in subs.items():
        text = text.replace(f"@{key}@", str(value))
    # Whatever is left unset becomes empty.
    out, i = [], 0
    while True:
        j = text.find("@", i)
        if j < 0:
            out.append(text[i:])
            break
        k = text.find("@", j + 1)
        name = text[j + 1:k] if k > 0 else ""
        if k > 0 and name and name.replace("_", "").isalnum() and name.upper() == name:
            out.append(text[i:j])
            i = k + 1
        else:
            out.append(text[i:j + 1])
            i = j + 1
    return "".join(out)


def part(name, **subs):
    with open(os.path.join(SIPP_DIR, "parts", name + ".xml")) as f:
        return _fill(f.read(), subs)


def scenario(h, name, **subs):
    """Writes sipp/NAME.xml with SUBS filled in to the test's directory."""
    with open(os.path.join(SIPP_DIR, name + ".xml")) as f:
        text = _fill(f.read(), subs)
    _counter[0] += 1
    path = os.path.join(h.tmpdir, f"{name}-{_counter[0]}.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


def _listening(port, tcp, ipv6=False):
    """Whether 127.0.0.1:port (or [::1]:port) is bound (UDP) or listening (TCP),
    from the kernel's socket tables: probing by binding the port could itself take it."""
    table, state = ("/proc/net/tcp", "0A") if tcp else ("/proc/net/udp", None)
    if ipv6:
        table += "6"
    local = f"{'00000000000000000000000001000000' if ipv6 else '0100007F'}:{port:04X}"
    with open(table) as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == local and (state is None or fields[3] == state):
                return True
    return False


class Sipp:
    """One SIPp process: a UAC when `target` (voxforkd's port) is given, else a UAS.
    `local_ip` is where it signals from (127.0.0.1 or ::1), `remote_ip` where
    voxforkd is for a UAC; `sdp_ip` the media address its SDP names."""

    def __init__(self, h, scenario_path, port, target=None, service="6777", tcp=False, media_port=None,
                 rtp_rx_port=None, sdp_ip=harness.LOOPBACK, calls=1, rate=None, limit=None, timeout=30, extra=(),
                 local_ip=harness.LOOPBACK, remote_ip=harness.LOOPBACK):
        self.name = os.path.splitext(os.path.basename(scenario_path))[0]
        self.dir = h.tmpdir
        self.err_path = os.path.join(self.dir, f"{self.name}.errors")
        self.msg_path = os.path.join(self.dir, f"{self.name}.messages")
        self.out_path = os.path.join(self.dir, f"{self.name}.out")
        # SIPp binds its audio port, the one above, and two more for video.
        media_port = media_port or harness.free_port(socket.SOCK_DGRAM, even=True, span=4)
        args = ["sipp", "-sf", scenario_path, "-i", local_ip, "-p", str(port),
                "-m", str(calls), "-t", "t1" if tcp else "u1", "-nostdin",
                "-timeout", f"{timeout}s", "-timeout_error",
                "-mi", local_ip, "-mp", str(media_port),
                "-key", "rtp_rx_port", str(rtp_rx_port or media_port),
                # The address its SDP names for its media (uac_call, uas_answer):
                # another than the one it sends from, to test latching.
                "-key", "sdp_ip", sdp_ip, "-key", "sdp_ip_type", "6" if ":" in sdp_ip else "4",
                "-trace_err", "-error_file", self.err_path,
                "-trace_msg", "-message_file", self.msg_path, *extra]
        if rate:
            args += ["-r", str(rate)]
        if limit:
            args += ["-l", str(limit)]
        if target:
            args += ["-s", service, f"[{remote_ip}]:{target}" if ":" in remote_ip else f"{remote_ip}:{target}"]
        out = open(self.out_path, "wb")
        self.process = h.spawn(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        out.close()
        if not target:
            # A UAS must be listening before a caller starts, or voxforkd's
            # forwarded INVITE meets a closed port and the call fails with 503.
            harness.wait_for(lambda: self.process.poll() is not None or _listening(port, tcp, ":" in local_ip),
                             what=f"sipp {self.name} listening on port {port}")

    def _read(self, path):
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def messages(self):
        return self._read(self.msg_path)

    def wire(self):
        """What crossed this SIPp's sockets, from its message trace: a list of
        (transport, "sent" or "received", message text), in order."""
        out = []
        for block in self.messages().split("-----------------------------------------------")[1:]:
            lines = block.split("\n", 2)
            if len(lines) < 3:
                continue
            words = lines[1].split()
            if len(words) >= 3 and words[1] == "message" and words[2] in ("sent", "received"):
                out.append((words[0], words[2], lines[2].strip("\n")))
        return out

    def received(self, start=""):
        """The messages this SIPp received whose first line starts with `start`."""
        return [text for _, way, text in self.wire() if way == "received" and text.startswith(start)]

    def wait(self, timeout=40):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"sipp {self.name} did not finish\n{self.report()}")

    def report(self):
        return (f"--- sipp {self.name} errors:\n{self._read(self.err_path)[-4000:]}\n"
                f"--- messages:\n{self.messages()[-6000:]}\n--- output:\n{self._read(self.out_path)[-2000:]}")

    def assert_ok(self, test, timeout=40):
        code = self.wait(timeout)
        self.process.status_checked = True  # reported here, not again at cleanup
        test.assertEqual(code, 0, f"sipp {self.name} exited {code}\n{self.report()}")


def header_lines(message, name):
    """The values of header `name` (or its compact form) in one SIP message."""
    names = {name.lower()} | ({"m"} if name.lower() == "contact" else set())
    head = message.split("\n\n", 1)[0]
    out = []
    for line in head.splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in names:
            out.append(value.strip())
    return out


def wait_all(test, *runs, timeout=40):
    for run in runs:
        run.assert_ok(test, timeout)


class RtpRecorder:
    """A UDP socket on 127.0.0.1 (or another loopback address, or ::1) that
    keeps every RTP packet it receives."""

    def __init__(self, h, address=harness.LOOPBACK):
        self.address = address
        self.sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.packets = []  # (payload type, sequence, payload, source)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        h.on_cleanup(self.close)

    def _run(self):
        while not self._stop:
            try:
                data, source = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            csrc = data[0] & 0x0F
            offset = 12 + 4 * csrc
            if data[0] & 0x10 and len(data) >= offset + 4:
                offset += 4 + 4 * struct.unpack("!H", data[offset + 2:offset + 4])[0]
            self.packets.append((data[1] & 0x7F, struct.unpack("!H", data[2:4])[0], data[offset:], source))

    def payload(self, payload_type=None):
        return b"".join(p[2] for p in self.packets if payload_type is None or p[0] == payload_type)

    def send(self, port, packets, interval=0.02):
        """Sends each packet (bytes) from this socket to port on the loopback
        address of its family (127.0.0.1 or ::1), one per interval."""
        to = "::1" if ":" in self.address else harness.LOOPBACK
        for packet in packets:
            self.sock.sendto(packet, (to, port))
            time.sleep(interval)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def pattern_file(h, name, seed, packets=50):
    """A raw G.711 file of `packets` 20 ms frames whose bytes follow a pattern of
    their own (no frame repeats another), for checking what crossed in order."""
    data = bytearray()
    for i in range(packets * 160):
        data.append((seed * 37 + i * (seed | 1) + (i // 160) * 11) % 256)
    path = os.path.join(h.tmpdir, name)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path, bytes(data)


def daemon_config(sip_port, target_port, rtp_min, transport="udp", trusted="ipv4 127.0.0.1",
                  in_codec=None, out_codec=None, rtp_span=400, target_host="ipv4:127.0.0.1", globals_="",
                  out_latching=None):
    """A voxforkd configuration: calls to 6777 arriving on `sip_port` go to a
    callee on `target_port` of `target_host` (`ipv4:ADDR` or `dns:NAME`);
    `globals_` are extra global lines."""
    lines = [
        "hostname sip-test",
        *globals_.splitlines(),
        "voice service voip",
        f" rtp-port range {rtp_min} {rtp_min + rtp_span - 2}",
    ]
    if trusted:
        lines += [" ip address trusted list", f"  {trusted}"]
    lines += [
        " sip",
        "  bind control source-address 127.0.0.1",
        f"  listen-port non-secure {sip_port}",
        "!",
        "dial-peer voice 900 voip",
        " session protocol sipv2",
        " incoming called-number 6777",
    ]
    if in_codec:
        lines.append(f" codec {in_codec}")
    lines += [
        "!",
        "dial-peer voice 901 voip",
        " destination-pattern 6777",
        " session protocol sipv2",
        f" session target {target_host}:{target_port}",
        f" session transport {transport}",
    ]
    if out_codec:
        lines.append(f" codec {out_codec}")
    if out_latching:
        lines.append(f" rtp latching {out_latching}")
    lines.append("!")
    return "\n".join(lines) + "\n"


def rtp_base():
    """The first port of a daemon's relay range (daemon_config's default span)."""
    return harness.relay_port_base(400)


GOOD_SDP = ("v=0\no=caller 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"
            "m=audio 6000 RTP/AVP 0\na=rtpmap:0 PCMU/8000")


class SipTest(harness.Harness):
    """A voxforkd with the 6777 route, SIPp caller and callee ports."""

    def reject(self, status, body=GOOD_SDP, content_type="application/sdp", **opts):
        """An INVITE that voxforkd must answer with `status`, from SIPp."""
        run = self.caller(name="uac_reject", STATUS=status, CONTENT_TYPE=content_type, BODY=body, **opts)
        run.assert_ok(self)
        return run

    def start_daemon(self, **kwargs):
        self.sip_port = harness.free_port(pair=True)
        self.uas_port = kwargs.pop("uas_port", None) or harness.free_port(pair=True)
        self.uac_port = harness.free_port(pair=True)
        self.daemon_ = self.daemon(daemon_config(self.sip_port, self.uas_port, rtp_base(), **kwargs)).start()
        return self.daemon_

    def callee(self, name="uas_answer", **kwargs):
        subs = {k: v for k, v in kwargs.items() if k.isupper()}
        opts = {k: v for k, v in kwargs.items() if not k.isupper()}
        return Sipp(self, scenario(self, name, **subs), self.uas_port, **opts)

    def caller(self, name="uac_call", **kwargs):
        subs = {k: v for k, v in kwargs.items() if k.isupper()}
        opts = {k: v for k, v in kwargs.items() if not k.isupper()}
        return Sipp(self, scenario(self, name, **subs), self.uac_port, target=self.sip_port, **opts)

    def relay_pool(self):
        """(free, total) port pairs of the relay, from the show command."""
        out = self.daemon_.show("show platform hardware qfp active feature sbc fork global")
        values = {}
        for line in out.splitlines():
            if ":" in line:
                key, _, value = line.strip().partition(":")
                values[key] = value.strip()
        return int(values["Relay port pairs free"]), int(values["Relay port pairs total"])

    def sip_counter(self, label):
        out = self.daemon_.show("show sip-ua statistics")
        for line in out.splitlines():
            if line.strip().startswith(label + ":"):
                return int(line.rsplit(":", 1)[1])
        raise AssertionError(f"no counter {label!r} in\n{out}")

    def assert_no_calls(self):
        harness.wait_for(lambda: "Total calls: 0" in self.daemon_.show("show call active voice brief"),
                         what="no active calls")
        free, total = self.relay_pool()
        self.assertEqual(free, total, "relay ports left allocated")
        harness.wait_for(lambda: self.sip_counter("Dialogs open") == 0, what="every dialog let go")
