"""A call controller placed in the call path, for tests whose caller is a real
user agent that cannot send forking requests itself (baresip): a small
record-routing SIP proxy over UDP between the caller and voxforkd.

It relays every message of the call both ways (its own Via on requests,
popped from responses; Record-Route on the INVITE so the dialog's later
requests pass it too), and sends the forking INFOs the test asks for into the
caller's dialog, as a contact-center controller in the path does. Those INFOs
take CSeq numbers in the caller's sequence, so it shifts the CSeq of every
later request of the caller (and back in the answers) to keep the dialog's
numbering increasing. voxforkd's status INFOs are answered here and kept;
anything else goes on to the caller.

    ctl = Controller(test, daemon_port)         # the caller dials ctl.port
    harness.wait_for(ctl.confirmed)             # the ACK has passed
    ctl.info(start_json)                        # its final status code
    ctl.statuses                                # status INFO bodies, as dicts
"""

import json
import re
import socket
import threading

from harness import LOOPBACK, wait_for

STATUS_TYPE = "application/x-cisco-record+json"


def parse(data):
    """(start line, [(name, value)], body) of one SIP message."""
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
    return lines[0], headers, body


def build(first, headers, body):
    """The message with Content-Length set to the body's."""
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "l")]
    headers.append(("Content-Length", str(len(body.encode()))))
    return (first + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n" + body).encode()


def header(headers, name):
    return next((v for n, v in headers if n.lower() == name.lower()), None)


def replace(headers, name, value):
    return [(n, value if n.lower() == name.lower() else v) for n, v in headers]


class Controller:
    def __init__(self, test, daemon_port):
        self.daemon = (LOOPBACK, daemon_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.2)  # so close() ends the loop
        self.port = self.sock.getsockname()[1]
        self.me = f"{LOOPBACK}:{self.port}"
        self.caller = None         # the caller's address (where its INVITE came from)
        self.dialog = None         # {call-id, from, to, target}: the caller's dialog, seen as the caller
        self.caller_cseq = 0       # the caller's last CSeq, as voxforkd sees it
        self.shift = 0             # CSeqs this controller took in the caller's sequence
        self.acked = False
        self.status_infos = {}     # CSeq of a status INFO -> its body as a dict (a retransmission counts once)
        self.answers = {}          # branch of an INFO of ours -> its final status (0 until then)
        self.caller_requests = {}  # branch this controller gave a request of the caller -> its own CSeq
        self.branches = 0
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        test.on_cleanup(self.close)

    def close(self):
        self.running = False
        self.sock.close()
        self.thread.join(5)

    @property
    def statuses(self):
        with self.lock:
            return list(self.status_infos.values())

    def confirmed(self):
        return self.acked

    def info(self, text, timeout=10):
        """Sends a forking request in the caller's dialog; returns the final status code."""
        with self.lock:
            self.branches += 1
            branch = f"z9hG4bK-ctl-info-{self.branches}"
            self.answers[branch] = 0
            self.shift += 1
            self.caller_cseq += 1
            d = self.dialog
            headers = [("Via", f"SIP/2.0/UDP {self.me};branch={branch}"), ("Max-Forwards", "70"),
                       ("From", d["from"]), ("To", d["to"]), ("Call-ID", d["call-id"]),
                       ("CSeq", f"{self.caller_cseq} INFO"), ("Content-Type", STATUS_TYPE)]
            self.sock.sendto(build(f"INFO {d['target']} SIP/2.0", headers, text), self.daemon)
        return wait_for(lambda: self.answers[branch], timeout, what="the answer to the controller's INFO")

    # -- relaying -----------------------------------------------------------------

    def _run(self):
        while self.running:
            try:
                data, source = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data.strip():
                continue  # keep-alive
            first, headers, body = parse(data)
            with self.lock:
                if first.startswith("SIP/2.0 "):
                    self._response(first, headers, body)
                elif source == self.daemon:
                    self._request_from_daemon(first, headers, body)
                else:
                    self._request_from_caller(first, headers, body, source)

    def _request_from_caller(self, first, headers, body, source):
        method = first.split()[0]
        if method == "INVITE" and self.caller is None:
            self.caller = source
            self.dialog = {"call-id": header(headers, "Call-ID"), "from": header(headers, "From")}
            headers.insert(0, ("Record-Route", f"<sip:{self.me};lr>"))
        cseq = header(headers, "CSeq")
        number, cseq_method = cseq.split()
        shifted = int(number) + self.shift
        self.caller_cseq = max(self.caller_cseq, shifted)
        headers = replace(headers, "CSeq", f"{shifted} {cseq_method}")
        if method == "ACK" and "to" in self.dialog:
            self.acked = True
        branch = self._forward_request(first, headers, body, self.daemon)
        self.caller_requests[branch] = cseq

    def _request_from_daemon(self, first, headers, body):
        if first.startswith("INFO ") and header(headers, "Content-Type") == STATUS_TYPE:
            # A status INFO: the controller's to answer.
            try:
                status = json.loads(body)
            except ValueError:
                status = {"unreadable": body}
            self.status_infos.setdefault(header(headers, "CSeq"), status)
            answer = [(n, v) for n, v in headers if n.lower() in ("via", "from", "to", "call-id", "cseq")]
            self.sock.sendto(build("SIP/2.0 200 OK", answer, ""), self.daemon)
            return
        self._forward_request(first, headers, body, self.caller)

    def _forward_request(self, first, headers, body, to):
        routes = [i for i, (n, v) in enumerate(headers) if n.lower() in ("route",)]
        if routes and self.me in headers[routes[0]][1]:
            del headers[routes[0]]  # the loose route to this controller
        # Named after the branch it relays, so a retransmission stays in its transaction.
        theirs = re.search(r"branch=([^;,\s]+)", header(headers, "Via") or header(headers, "v"))[1]
        branch = f"z9hG4bK-ctl-{theirs[7:] if theirs.startswith('z9hG4bK') else theirs}"
        headers.insert(0, ("Via", f"SIP/2.0/UDP {self.me};branch={branch}"))
        headers = replace(headers, "Max-Forwards", str(int(header(headers, "Max-Forwards") or 70) - 1))
        self.sock.sendto(build(first, headers, body), to)
        return branch

    def _response(self, first, headers, body):
        vias = [i for i, (n, v) in enumerate(headers) if n.lower() in ("via", "v")]
        branch = re.search(r"branch=([^;,\s]+)", headers[vias[0]][1])[1]
        del headers[vias[0]]
        if branch in self.answers:  # the answer to an INFO of ours
            code = int(first.split()[1])
            if code >= 200:
                self.answers[branch] = code
            return
        cseq = self.caller_requests.get(branch)
        if cseq is None:  # the caller's answer to a request of voxforkd's
            self.sock.sendto(build(first, headers, body), self.daemon)
            return
        if cseq.endswith(" INVITE") and first.split()[1].startswith("2") and "to" not in self.dialog:
            contact = header(headers, "Contact") or header(headers, "m")
            self.dialog.update(to=header(headers, "To"), target=contact.strip("<>").split(">")[0])
        self.sock.sendto(build(first, replace(headers, "CSeq", cseq), body), self.caller)
