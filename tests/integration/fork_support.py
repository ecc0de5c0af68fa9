"""Shared pieces of the test_fork_* integration tests: a voxforkd whose calls
can be forked, the controller (a SIPp caller that sends forking requests and
takes voxforkd's status INFOs), the agent side (a SIPp callee), forking JSON,
and reading what crossed the wire (status INFO bodies from SIPp's message log,
the speech server's events and channel files).

    d = self.start_fork_daemon()
    server = self.speech()
    c = Steps()
    c.info(start(server.port), "STARTED")          # INFO, its 200, then STARTED
    c.sync()                                        # tells the agent to stream
    c.stream(caller_file, ms=1200)
    c.info(stop(), "STOPPED")
    agent = self.agent(Steps().wait_sync().stream(callee_file))
    ctl = self.controller(c)
    wait_all(self, ctl, agent)
    statuses(ctl)        # [{"call-guid": ..., "status": "STARTED", ...}, {...}]

Each test's voxforkd is stopped with SIGTERM at the end and must exit 0 with
no sanitizer report (harness.py does it for every daemon);
VOXFORK_TEST_KEEP_LOG=DIR keeps its log there.
"""

import json
import os
import re
import socket
import struct

import harness
from harness import LOOPBACK, wait_for
from sipp import Sipp, SipTest, daemon_config, part, scenario
from speech_server import SpeechServer

GUID = "8F3B2C1A0E7D11EF9A2B00505688C0DE"
JSON_TYPE = "application/x-cisco-record+json"
SYNC_TYPE = "text/plain"  # a pass-through INFO: relayed to the agent
PROFILE, MEDIA_CLASS = 99, 9
BOUNDARY = "voxforkboundary"

# -- forking request bodies ----------------------------------------------------


def body(fields):
    return json.dumps(fields, separators=(",", ":"))


def start(port, host=LOOPBACK, guid=GUID, secure=False, path="/v1/fork", **extra):
    """A START to a speech server (ws:// unless secure); `extra` adds fields
    (token, codec, metadata...)."""
    fields = {"action": "START", "call-guid": guid, "host": host, "port": port, "secure": secure, "path": path}
    fields.update(extra)
    return body(fields)


def stop(guid=GUID):
    return body({"action": "STOP", "call-guid": guid})


def update(metadata, guid=GUID, **extra):
    fields = {"action": "UPDATE", "call-guid": guid, "metadata": metadata}
    fields.update(extra)
    return body(fields)


def multipart(sdp, *json_parts):
    """A multipart/mixed body: the SDP part (None: left out) and the JSON parts."""
    lines = []
    if sdp is not None:
        lines += [f"--{BOUNDARY}", "Content-Type: application/sdp", "", sdp, ""]
    for text in json_parts:
        lines += [f"--{BOUNDARY}", f"Content-Type: {JSON_TYPE}", "", text]
    lines.append(f"--{BOUNDARY}--")
    return "\n".join(lines)


def sdp(pt=0, encoding="PCMU", direction="sendrecv", version=2, address="[media_ip]"):
    """The controller's SDP for a re-INVITE (SIPp fills the [keywords])."""
    return "\n".join([
        "v=0", f"o=caller 53655765 {version} IN IP4 [local_ip]", "s=-", f"c=IN IP4 {address}", "t=0 0",
        f"m=audio [rtp_rx_port] RTP/AVP {pt} 101", f"a=rtpmap:{pt} {encoding}/8000",
        "a=rtpmap:101 telephone-event/8000", f"a={direction}"])


# -- SIPp steps ----------------------------------------------------------------


class Steps:
    """Mid-call steps of a fork_uac / fork_uas scenario, in order. Each method
    returns self so steps chain."""

    def __init__(self, first_cseq=2):
        self.cseq = first_cseq
        self.version = 2  # the agent's next SDP version
        self.parts = []
        self.expected = 0  # status INFOs taken explicitly

    def _next(self):
        self.cseq += 1
        return self.cseq - 1

    def text(self):
        return "\n".join(self.parts)

    # controller side

    def info(self, text, *statuses, content_type=JSON_TYPE, answer=200, timeout_ms=10000, agent=False):
        """An INFO carrying `text`, answered `answer`, then a status INFO per
        regex of `statuses` (voxforkd sends them after its 200). `agent`: sent
        by the callee (fork_uas) instead of the controller."""
        self.parts.append(part("fork_uas_send_info" if agent else "fork_send_info", CSEQ=self._next(),
                               CONTENT_TYPE=content_type, BODY=text, STATUS=answer))
        for regex in statuses:
            self.status(regex, timeout_ms)
        return self

    def status(self, status, timeout_ms=10000):
        """Waits for one status INFO whose `status` is `status` (a word, else a
        regex on the body) and answers it."""
        self.expected += 1
        regex = f".status.: *.{status}." if status.isalpha() else status
        self.parts.append(part("fork_recv_status", N=self.expected, EXPECT=regex, TIMEOUT=timeout_ms))
        return self

    def reinvite(self, text, content_type=f"multipart/mixed;boundary={BOUNDARY}", expect="m=audio [0-9]+ RTP/AVP"):
        """A re-INVITE with `text` as its body; its status INFOs may come before
        or after its 200 and are answered by SIPp's -aa."""
        self.parts.append(part("fork_reinvite", CSEQ=self._next(), CONTENT_TYPE=content_type, BODY=text,
                               EXPECT=expect))
        return self

    def sync(self):
        """A pass-through INFO the agent waits for (wait_sync) before its steps go on."""
        return self.info("go", content_type=SYNC_TYPE)

    # both sides

    def stream(self, path, pt=0, ms=1200):
        """RTP of a raw G.711 file from the -mp port, then `ms` of waiting
        (0: none). A status INFO that arrives while the scenario is not at a
        status() step is answered by -aa: use status() only right after the
        request that causes it."""
        if ms:
            self.parts.append(part("stream", FILE=path, PT=pt, MS=ms))
        else:
            self.parts.append(f'  <nop><action><exec rtp_stream="{path},1,{pt}"/></action></nop>')
        return self

    def pcap(self, path, ms=800):
        """Replays the RTP of a pcap (e.g. SIPp's RFC 2833 digits) to the far end."""
        self.parts.append(f'  <nop><action><exec play_pcap_audio="{path}"/></action></nop>')
        return self.pause(ms)

    def pause(self, ms):
        self.parts.append(part("pause", MS=ms))
        return self

    def raw(self, xml):
        self.parts.append(xml)
        return self

    # agent side

    def wait_sync(self):
        """Waits for a relayed text/plain `go`: the other side's sync(), or the
        test's ForkTest.release()."""
        self.parts.append(part("recv_info", CSEQ=self._next(), EXPECT="go", STATUS=200))
        return self

    def accept_reinvite(self, expect, pt=0, encoding="PCMU", direction="sendrecv"):
        """Takes a relayed re-INVITE whose SDP matches `expect` and answers it."""
        self.parts.append(part("accept_reinvite", CSEQ=self._next(), VERSION=self.version, DIRECTION=direction,
                               EXPECT=expect, PT=pt, ENCODING=encoding))
        self.version += 1
        return self


# -- reading SIPp's message log --------------------------------------------------

_BLOCK = re.compile(r"^-{40,} [0-9-]+ [0-9:.]+\n(\w+) message (sent|received)[^\n]*\n", re.M)


def sip_messages(log_text):
    """[(direction 'sent'/'received', message text)] from a -trace_msg file."""
    text = log_text.replace("\r\n", "\n")
    marks = list(_BLOCK.finditer(text))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.append((m.group(2), text[m.end():end].strip("\n")))
    return out


def split_message(message):
    """(start line, {lower-case header: value}, body) of one SIP message."""
    head, _, payload = message.partition("\n\n")
    lines = head.split("\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return lines[0], headers, payload.strip()


def sent_call_id(sipp_run):
    """The SIP Call-ID of the call that SIPp endpoint placed (its INVITE)."""
    for direction, message in sip_messages(sipp_run.messages()):
        first, headers, _ = split_message(message)
        if direction == "sent" and first.startswith("INVITE "):
            return headers["call-id"]
    raise AssertionError("no INVITE sent")


def received_requests(sipp_run, method):
    """Every request of `method` the SIPp endpoint received: (headers, body)."""
    out = []
    for direction, message in sip_messages(sipp_run.messages()):
        first, headers, payload = split_message(message)
        if direction == "received" and first.startswith(method + " "):
            out.append((headers, payload))
    return out


def dialog(sipp_run):
    """The dialog as that SIPp endpoint set it up, seen from its side:
    {call-id, from, to, target} (target: the far end's Contact). The
    controller sent the INVITE; the agent received it and sent the 200."""
    out = {}
    for direction, message in sip_messages(sipp_run.messages()):
        first, headers, _ = split_message(message)
        invite = "INVITE" in headers.get("cseq", "")
        if first.startswith("INVITE ") and "call-id" not in out:
            out["call-id"] = headers["call-id"]
            if direction == "sent":
                out["from"] = headers["from"]
            else:
                out.update({"to": headers["from"], "target": headers["contact"].strip("<>").split(">")[0]})
        elif first.startswith("SIP/2.0 200") and invite and "call-id" in out:
            if direction == "received" and "target" not in out:
                out.update({"to": headers["to"], "target": headers["contact"].strip("<>").split(">")[0]})
            elif direction == "sent" and "from" not in out:
                out["from"] = headers["to"]
    return out if len(out) == 4 else None


def raw_info(sip_port, dialog_, text, cseq=50, content_type=JSON_TYPE):
    """Sends an INFO in that dialog over a TCP connection of its own (for bodies
    too big for a SIPp scenario, or a step only the test knows when to take:
    a SYNC_TYPE INFO is relayed to the agent's wait_sync()); returns the
    final status code. `cseq` must lie between the dialog's requests."""
    payload = text.encode()
    head = (f"INFO {dialog_['target']} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP {LOOPBACK}:{{port}};branch=z9hG4bK-big-{cseq};rport\r\n"
            f"From: {dialog_['from']}\r\nTo: {dialog_['to']}\r\nCall-ID: {dialog_['call-id']}\r\n"
            f"CSeq: {cseq} INFO\r\nMax-Forwards: 70\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n")
    with socket.create_connection((LOOPBACK, sip_port), timeout=10) as s:
        s.sendall(head.replace("{port}", str(s.getsockname()[1])).encode() + payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            for line in data.split(b"\r\n"):
                m = re.match(rb"SIP/2.0 (\d{3})", line)
                if m and int(m.group(1)) >= 200:
                    return int(m.group(1))
    raise AssertionError(f"no final answer to the INFO: {data[:500]!r}")


def statuses(sipp_run):
    """The status INFOs voxforkd sent to that endpoint, as JSON objects, in
    order (a retransmission, same Call-ID and CSeq, counts once)."""
    seen, out = set(), []
    for headers, payload in received_requests(sipp_run, "INFO"):
        if headers.get("content-type") != JSON_TYPE:
            continue
        key = (headers.get("call-id"), headers.get("cseq"))
        if key in seen:
            continue
        seen.add(key)
        out.append(json.loads(payload))
    return out


# -- test data -------------------------------------------------------------------


def pattern(h, name, seed, packets=25):
    """A raw G.711 file whose every 160-byte frame differs from every other, and
    from the other seed's: (path, bytes)."""
    data = bytearray()
    for i in range(packets * 160):
        data.append((seed * 53 + i * (2 * seed + 1) + (i // 160) * 29) % 256)
    path = os.path.join(h.tmpdir, name)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path, bytes(data)


def rtp_pcap(h, name, data, pt):
    """A pcap of `data` as 20 ms RTP packets of payload type `pt`, for SIPp's
    play_pcap_audio (its rtp_stream knows only static types): the path.
    Addresses and ports are placeholders; SIPp sends to the far end's."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
    for n in range(len(data) // 160):
        rtp = struct.pack("!BBHII", 0x80, pt, n, 160 * n, 0x5EED) + data[n * 160:(n + 1) * 160]
        udp = struct.pack("!HHHH", 40000, 40002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                         socket.inet_aton(LOOPBACK), socket.inet_aton(LOOPBACK)) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        out += struct.pack("<IIII", 1000 + n // 50, (n % 50) * 20000, len(frame), len(frame)) + frame
    path = os.path.join(h.tmpdir, name)
    with open(path, "wb") as f:
        f.write(bytes(out))
    return path


def fork_config(sip_port, uas_port, threshold=3, idle=30, fork_on="out", proxy=None, name_server=None,
                license_interval=None, extra="", profile_lines=(), **kwargs):
    """daemon_config's 6777 route with a stream-service profile; `fork_on` names
    the dial-peer with the media-class ('in', 'out', 'both' or None);
    `profile_lines`: more lines of the profile (` protocol raw`...); `extra`:
    further global lines (ip host, trustpoints...)."""
    text = daemon_config(sip_port, uas_port, harness.relay_port_base(kwargs.get("rtp_span", 400)), **kwargs)
    peers = {"in": [" incoming called-number 6777\n"], "out": [" destination-pattern 6777\n"],
             "both": [" incoming called-number 6777\n", " destination-pattern 6777\n"], None: []}[fork_on]
    for anchor in peers:
        text = text.replace(anchor, anchor + f" media-class {MEDIA_CLASS}\n")
    profile = [f"media profile stream-service {PROFILE}", f" connection calls-threshold {threshold}",
               f" connection idle-timeout {idle}"]
    if proxy:
        profile.append(f" proxy {proxy}")
    profile += list(profile_lines)
    text += "\n".join(profile + ["!", f"media class {MEDIA_CLASS}", f" stream-service profile {PROFILE}", "!"])
    if name_server:
        text += f"\nip name-server {name_server}"
    if license_interval:
        text += f"\nlicense usage interval {license_interval}"
    if extra:
        text += "\n" + extra.rstrip("\n")
    return text + "\n"


# -- the test base ---------------------------------------------------------------


class ForkTest(SipTest):
    """A forking voxforkd, SIPp controller and agent, reference speech servers."""

    def start_fork_daemon(self, env=None, **kwargs):
        """Starts voxforkd with fork_config(**kwargs) and `env` added to its
        environment; the harness stops and checks it at cleanup."""
        self.sip_port = harness.free_port(pair=True)
        self.uas_port = harness.free_port(pair=True)
        self.uac_port = harness.free_port(pair=True)
        self.daemon_ = self.daemon(fork_config(self.sip_port, self.uas_port, **kwargs)).start(env=env)
        return self.daemon_

    def speech(self, **kwargs):
        return SpeechServer(self, **kwargs).start()

    def controller(self, steps=None, end=None, offer="0 8 101", answer="m=audio [0-9]+ RTP/AVP", port=None,
                   **opts):
        """The SIPp caller: INVITE offering `offer`, the steps, then `end` (its BYE by default);
        from `port` (default the test's controller port); `service="6778"` calls another number."""
        maps = {"0": "PCMU", "8": "PCMA", "18": "G729", "96": "PCMU", "101": "telephone-event"}
        offer_maps = "\n".join(f"      a=rtpmap:{pt} {maps[pt]}/8000" for pt in offer.split())
        path = scenario(self, "fork_uac", OFFER_PTS=offer, OFFER_MAPS=offer_maps, ANSWER=answer,
                        STEPS=steps.text() if steps else "", END=part("fork_uac_bye") if end is None else end)
        opts.setdefault("extra", ("-aa",))
        return Sipp(self, path, port or self.uac_port, target=self.sip_port, **opts)

    def agent(self, steps=None, end=None, pt=0, encoding="PCMU", port=None, **opts):
        """The SIPp callee: answers with `pt`, the steps, then `end` (takes the BYE by default);
        on `port` (default the test's agent port, the one fork_config routes 6777 to)."""
        path = scenario(self, "fork_uas", PT=pt, ENCODING=encoding, STEPS=steps.text() if steps else "",
                        END=part("uas_recv_bye") if end is None else end)
        opts.setdefault("extra", ("-aa",))
        return Sipp(self, path, port or self.uas_port, **opts)  # listening once it returns

    # -- what crossed -----------------------------------------------------------

    def assert_statuses(self, run, expected):
        """The status INFOs `run` received equal `expected` (a list of dicts)."""
        got = statuses(run)
        self.assertEqual(got, expected, f"status INFOs\n{run.report()}")
        return got

    def anchor(self):
        """The callid of the only call's inbound leg (show call active voice brief)."""
        out = self.daemon_.show("show call active voice brief")
        rows = [line.split() for line in out.splitlines()[1:] if line[:1].isdigit()]
        self.assertTrue(rows, out)
        return int(rows[0][0])

    def fork_column(self):
        out = self.daemon_.show("show call active voice brief")
        return [line.split()[6] for line in out.splitlines()[1:] if line[:1].isdigit()]

    def statistics(self):
        out = self.daemon_.show("show voip stream-service statistics")
        return {k.strip(): int(v) for k, v in (line.rsplit(":", 1) for line in out.splitlines() if ":" in line)}

    def drop_warnings(self):
        """The daemon's warnings about dropped forked frames, one dict a line:
        total, queue_full, handler (media ring or outage buffer full), unsent."""
        pattern = re.compile(r"ws: connection \d+ to \S+: (\d+) forked frames dropped \((\d+) send queue full, "
                             r"(\d+) media ring or outage buffer full, (\d+) unsent at a loss\)")
        return [dict(zip(("total", "queue_full", "handler", "unsent"), map(int, m.groups())))
                for m in pattern.finditer(self.daemon_.log())]

    def open_connections(self):
        """Rows of `show voip stream-service connection` (header left out) as lists of columns."""
        out = self.daemon_.show("show voip stream-service connection")
        return [line.split() for line in out.splitlines() if line[:1].isdigit()]

    def release(self, through, cseq=5):
        """Lets the other endpoint's scenario go on past its wait_sync(): a
        text/plain INFO sent in the dialog of `through` (the controller or the
        agent SIPp run), as if from it, that voxforkd relays to the other side.
        For steps that must wait for something only the test sees (e.g. every
        frame at the speech server) instead of a fixed pause. `cseq` must lie
        between the CSeqs of the requests `through` sends itself."""
        dlg = wait_for(lambda: dialog(through), what=f"the dialog of {through.name}")
        self.assertEqual(raw_info(self.sip_port, dlg, "go", cseq=cseq, content_type=SYNC_TYPE), 200)

    def assert_channel_audio(self, server, channel, sent, conn=None):
        """The channel's raw file holds exactly `sent`, its frames have seq 0, 1, 2..."""
        wait_for(lambda: len(server.raw(channel, conn)) >= len(sent), 15, what=f"audio of channel {channel}")
        self.assertEqual(server.raw(channel, conn), sent, f"audio bytes of channel {channel}")
        frames = server.frames(channel) if conn is None else server.frames(channel, conn=conn)
        self.assertEqual([f["seq"] for f in frames], list(range(len(frames))))
        self.assertEqual({f["length"] for f in frames}, {160})

    def assert_paced_audio(self, audio, sent, what, silence=0xFF):
        """A channel sent on the clock (AudioHook, raw): `sent` arrived whole
        and in order, and everything around it is silence (µ-law by default)."""
        at = audio.find(sent)
        self.assertGreaterEqual(at, 0, f"{what}: the party's audio is not in its channel whole")
        rest = audio[:at] + audio[at + len(sent):]
        self.assertEqual(set(rest) - {silence}, set(), f"{what}: only silence around it")

    def assert_clean(self):
        """No call, relay port or dialog left."""
        self.assert_no_calls()

