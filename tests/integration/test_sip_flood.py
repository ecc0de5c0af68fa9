"""Floods of SIP over UDP from loopback, as issue 16 measured them: large
OPTIONS and large INVITEs (60 KB of header), small INVITEs to a number no
dial-peer routes. Requests outside a dialog are screened as sofia parses
them: over 32 KiB answered 513, from an untrusted source 403, OPTIONS 200,
each without a transaction, so the flood leaves nothing behind; the memory
a trusted source's unrouted INVITEs take for their transactions' 32 s comes
back (docs/reliability.md). A call made after a flood connects and ends as
usual. Over TCP, a request over 32 KiB is answered 513 at the end of its
headers; a message whose headers alone pass 128 KiB is refused by sofia."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from sipp import SipTest, part, wait_all  # noqa: E402

PADDING = 60_000
# Where the flood comes from: the configuration trusts 127.0.0.1 only.
TRUSTED = harness.LOOPBACK
UNTRUSTED = "127.0.0.2"
SDP = ("v=0\r\no=flood 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 6000 RTP/AVP 0\r\n")


def request(method, user, sip_port, source, own_port, n, padding=0, body=""):
    return (f"{method} sip:{user}@{harness.LOOPBACK}:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {source}:{own_port};branch=z9hG4bKflood{n}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:flood@{source}>;tag=f{n}\r\n"
            f"To: <sip:{user}@{harness.LOOPBACK}>\r\n"
            f"Call-ID: flood-{n}@{source}\r\n"
            f"CSeq: 1 {method}\r\n"
            f"Contact: <sip:flood@{source}:{own_port}>\r\n"
            + (f"X-Padding: {'p' * padding}\r\n" if padding else "")
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


class Sender:
    """A UDP socket on `source` that sends requests and counts the requests
    answered, by final status (a retransmitted answer once), reading as it
    goes (the answers would overflow its buffer otherwise)."""

    def __init__(self, test, source):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        test.addCleanup(self.sock.close)
        self.sock.bind((source, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.answered = {}  # status -> Call-IDs

    def send(self, message, sip_port):
        self.sock.sendto(message, (harness.LOOPBACK, sip_port))
        self.drain()

    def drain(self, wait_s=0.0):
        self.sock.settimeout(wait_s) if wait_s else self.sock.setblocking(False)
        try:
            while True:
                answer = self.sock.recv(65536)
                status = int(answer[8:11])
                call_id = answer.split(b"\r\nCall-ID: ", 1)[1].split(b"\r\n", 1)[0]
                if status >= 200:
                    self.answered.setdefault(status, set()).add(call_id)
        except (BlockingIOError, socket.timeout):
            pass

    @property
    def finals(self):
        return {status: len(calls) for status, calls in self.answered.items()}


class Flood(SipTest):
    def test_message_over_128_kib_is_refused_as_it_arrives(self):
        """sip.md: a message over 128 KiB is refused by the stack as it
        arrives, without a transaction: over TCP (over UDP none can be that
        large) the connection is closed, or answered 413 first. Without the
        limit it was read whole (sofia's default is 2 MB) and answered 200."""
        self.start_daemon()
        with socket.create_connection((harness.LOOPBACK, self.sip_port), timeout=5) as conn:
            message = request("OPTIONS", "probe", self.sip_port, TRUSTED, conn.getsockname()[1], 0,
                              padding=200 * 1024).replace(b"UDP", b"TCP")
            conn.sendall(message)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        self.assertTrue(answer == b"" or answer.startswith(b"SIP/2.0 413 "), answer[:200])
        self.call_works()

    def test_large_body_over_tcp_is_answered_513_before_it_is_read(self):
        """Over TCP a request outside a dialog whose Content-Length takes it
        over 32 KiB (or over sofia's 128 KiB) is answered 513 at the end of
        its headers, before its body is read, and the connection closed, as
        sofia closes it after a message it refuses."""
        self.start_daemon()
        for body_bytes in (40_000, 200 * 1024):
            with socket.create_connection((harness.LOOPBACK, self.sip_port), timeout=5) as conn:
                body = "v" * body_bytes
                conn.sendall(request("INVITE", "6777", self.sip_port, TRUSTED, conn.getsockname()[1], body_bytes,
                                     body=body).replace(b"UDP", b"TCP").replace(b"application/sdp", b"text/plain"))
                answer = b""
                try:
                    while True:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        answer += chunk
                except ConnectionResetError:
                    pass  # closed with our body unread
            self.assertTrue(answer.startswith(b"SIP/2.0 513 Message Too Large\r\n"), answer[:200])
            self.assertNotIn(b"SIP/2.0 413", answer)
        self.assertEqual(self.sip_counter("Rejected message too large (513)"), 2)
        self.call_works()

    def call_works(self):
        uas = self.callee(END=part("uas_recv_bye"))
        self.caller(MIDCALL=part("pause", MS=200)).assert_ok(self)
        wait_all(self, uas)
        self.assert_no_calls()

    def flood(self, count, kinds):
        """Sends `count` requests, taking turns among `kinds` (sender, make
        request n); returns the RSS before and right after."""
        pid = self.daemon_.process.pid
        before = harness.rss_kib(pid)
        started = time.monotonic()
        for n in range(count):
            sender, make = kinds[n % len(kinds)]
            sender.send(make(sender, n), self.sip_port)
            time.sleep(0.0005)  # about what loopback's socket buffers take without loss
        for sender, _ in kinds:
            sender.drain(wait_s=2)
        peak = harness.rss_kib(pid)
        print(f"RSS {before} KiB before, {peak} KiB after {count} requests in {time.monotonic() - started:.1f} s",
              flush=True)
        return before, peak

    def test_flood_is_answered_without_keeping_anything(self):
        """10,000 requests: large OPTIONS and large INVITEs from the trusted
        source, small INVITEs to an unrouted number from an untrusted one.
        Before the screening, sofia kept each with its transaction for 32 s
        (RSS +69 KB per large message, 9 -> 216 MB for 3,000 OPTIONS)."""
        self.start_daemon()
        trusted, untrusted = Sender(self, TRUSTED), Sender(self, UNTRUSTED)
        kinds = [
            (trusted, lambda s, n: request("OPTIONS", "probe", self.sip_port, TRUSTED, s.port, n, PADDING)),
            (trusted, lambda s, n: request("INVITE", "6777", self.sip_port, TRUSTED, s.port, n, PADDING, SDP)),
            (untrusted, lambda s, n: request("INVITE", "5550100", self.sip_port, UNTRUSTED, s.port, n, body=SDP)),
        ]
        pid = self.daemon_.process.pid
        sanitized = harness.sanitized(pid)
        count = 3_000 if sanitized else 10_000  # the sanitizers' daemon is slower: CI's run stays short
        started = time.monotonic()
        before, peak = self.flood(count, kinds)
        seconds = time.monotonic() - started
        print(f"answers: trusted {trusted.finals}, untrusted {untrusted.finals}", flush=True)
        # Most arrive and are answered (loopback UDP drops some when the
        # daemon falls behind, more so under the sanitizers); only so.
        least = count // 3 // (10 if sanitized else 2)
        self.assertGreater(trusted.finals.get(513, 0), 2 * least, trusted.finals)
        self.assertGreater(untrusted.finals.get(403, 0), least, untrusted.finals)
        self.assertEqual(set(trusted.finals) | set(untrusted.finals), {403, 513})
        # Each refused is counted (an answer lost on its way back included).
        sent = count // 3
        self.assertTrue(trusted.finals[513] <= self.sip_counter("Rejected message too large (513)") <= 2 * sent + 1)
        self.assertTrue(untrusted.finals[403] <= self.sip_counter("Rejected untrusted source (403)") <= sent + 1)
        self.assertEqual(self.sip_counter("Dialogs open"), 0)
        # The refusals are counted one by one but logged at most 20 a
        # second, each line written saying how many were left out.
        log = self.daemon_.log()
        lines = log.count("without a transaction")
        print(f"{lines} refusal lines logged in {seconds:.1f} s", flush=True)
        self.assertLessEqual(lines, 20 * (int(seconds) + 2))
        self.assertIn("similar lines not logged)", log)
        if not sanitized:
            # Nothing was kept: the peak is the allocator's, given back at
            # the next check (every 10 s).
            bound = before + before // 10
            harness.wait_for(lambda: harness.rss_kib(pid) <= bound, timeout=25, interval=1.0,
                             what=f"RSS back within 10 % of {before} KiB")
            print(f"RSS {harness.rss_kib(pid)} KiB once given back", flush=True)
        self.call_works()

    def test_unrouted_invites_from_a_trusted_source_give_their_memory_back(self):
        """A trusted source's INVITEs are taken as always (each its handle
        and transaction, the 404 retransmitted until the ACK that never
        comes, for 32 s); a minute later RSS is within 10 % of where it was
        (issue 16: 3,000 of them, 9 -> 40 MB, never back)."""
        self.start_daemon()
        trusted = Sender(self, TRUSTED)
        kinds = [(trusted, lambda s, n: request("INVITE", "5550100", self.sip_port, TRUSTED, s.port, n, body=SDP))]
        # 3,000 keep CI's run short; VOXFORK_FLOOD_TRUSTED=10000 is issue 16's measure.
        pid = self.daemon_.process.pid
        count = int(os.environ.get("VOXFORK_FLOOD_TRUSTED", "1000" if harness.sanitized(pid) else "3000"))
        before, peak = self.flood(count, kinds)
        print(f"answers: {trusted.finals}", flush=True)
        # 404, or 503 once the control plane lags behind the flood (docs/sip.md, "Overload").
        self.assertLessEqual(set(trusted.finals), {404, 503})
        answered = sum(trusted.finals.values())
        self.assertGreater(answered, count // (10 if harness.sanitized(pid) else 2), trusted.finals)
        if not harness.sanitized(pid):
            bound = before + before // 10
            harness.wait_for(lambda: harness.rss_kib(pid) <= bound, timeout=60, interval=1.0,
                             what=f"RSS back within 10 % of {before} KiB")
            print(f"RSS {harness.rss_kib(pid)} KiB once the transactions are gone", flush=True)
        self.call_works()


if __name__ == "__main__":
    harness.main()
