"""The Prometheus endpoint (`metrics listen`): scraped during a forked call
and after it, parsed by the text format's rules (a strict parser below), its
values held against the show commands that read the same counters; and the
endpoint's bounds: clients that misbehave are cut off while calls go on."""

import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fork_support import GUID, ForkTest, Steps, pattern, start, stop  # noqa: E402
from harness import LOOPBACK, wait_for  # noqa: E402
from sipp import wait_all  # noqa: E402

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
SNAKE_KEY = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")


class ExpositionError(AssertionError):
    pass


def _label_value(text, i):
    """The quoted value starting at text[i] ('"'): (value, index after it)."""
    if text[i:i + 1] != '"':
        raise ExpositionError(f"label value not quoted in {text!r}")
    i += 1
    out = []
    while True:
        if i >= len(text):
            raise ExpositionError(f"unterminated label value in {text!r}")
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1:i + 2]
            if nxt not in ("\\", '"', "n"):
                raise ExpositionError(f"bad escape \\{nxt} in {text!r}")
            out.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
            i += 2
            continue
        if ch == "\n":
            raise ExpositionError("raw line feed in a label value")
        out.append(ch)
        i += 1


def _sample(line):
    """name{labels} value [timestamp] -> (name, frozenset of label pairs, float)."""
    m = METRIC_NAME.match(line)
    if not m:
        raise ExpositionError(f"no metric name: {line!r}")
    name, i = m.group(0), m.end()
    labels = {}
    if i < len(line) and line[i] == "{":
        i += 1
        while line[i] != "}":
            lm = LABEL_NAME.match(line, i)
            if not lm or line[lm.end():lm.end() + 1] != "=":
                raise ExpositionError(f"bad label in {line!r}")
            key = lm.group(0)
            value, i = _label_value(line, lm.end() + 1)
            if key in labels or key.startswith("__"):
                raise ExpositionError(f"label {key} repeated or reserved in {line!r}")
            labels[key] = value
            if line[i] == ",":
                i += 1
            elif line[i] != "}":
                raise ExpositionError(f"expected , or }} in {line!r}")
        i += 1
    rest = line[i:]
    if not rest.startswith(" "):
        raise ExpositionError(f"no blank before the value: {line!r}")
    fields = rest.split()
    if len(fields) not in (1, 2):
        raise ExpositionError(f"value [timestamp] expected: {line!r}")
    value = float(fields[0])  # also +Inf, NaN: the format allows them
    if len(fields) == 2:
        int(fields[1])
    return name, frozenset(labels.items()), value


def parse_exposition(text):
    """Parses the Prometheus text format 0.0.4 strictly: HELP and TYPE at most
    once per family and before its samples, a family's samples together, no
    series twice, counters named *_total with values >= 0, a final line feed.
    Returns {family: {"type", "help", "samples": {labels: value}}}."""
    if text and not text.endswith("\n"):
        raise ExpositionError("the last line has no line feed")
    families, current, done = {}, None, set()

    def family(name):
        nonlocal current
        if name != current:
            if name in done:
                raise ExpositionError(f"family {name} is not contiguous")
            if current is not None:
                done.add(current)
            current = name
        return families.setdefault(name, {"type": None, "help": None, "samples": {}})

    for line in text.split("\n")[:-1]:
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ExpositionError(f"bad name in {line!r}")
                f = family(name)
                key = parts[1].lower()
                if f[key] is not None:
                    raise ExpositionError(f"second {parts[1]} for {name}")
                if key == "type":
                    if f["samples"]:
                        raise ExpositionError(f"TYPE after samples of {name}")
                    if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                        raise ExpositionError(f"bad TYPE line {line!r}")
                    f["type"] = parts[3]
                else:
                    f["help"] = parts[3] if len(parts) == 4 else ""
            continue
        name, labels, value = _sample(line)
        f = family(name)
        if labels in f["samples"]:
            raise ExpositionError(f"series {name}{dict(labels)} twice")
        f["samples"][labels] = value
    for name, f in families.items():
        if f["type"] == "counter":
            if not name.endswith("_total"):
                raise ExpositionError(f"counter {name} is not named *_total")
            if any(v < 0 for v in f["samples"].values()):
                raise ExpositionError(f"negative counter {name}")
    return families


def value(families, name, **labels):
    f = families.get(name)
    if f is None:
        raise AssertionError(f"no family {name}")
    key = frozenset((k, str(v)) for k, v in labels.items())
    if key not in f["samples"]:
        raise AssertionError(f"no series {name}{labels} in {f['samples']}")
    return f["samples"][key]


class ParserRejects(harness.Harness):
    """The parser is strict: each rule it enforces, broken once."""

    def test_bad_expositions_are_refused(self):
        good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
        self.assertEqual(value(parse_exposition(good), "a_total", x=1), 3)
        for bad in ("a_total 1",                                        # no final line feed
                    "# TYPE a counter\na 1\n",                          # counter without _total
                    "a 1\nb 2\na 3\n",                                  # family split
                    "a{x=\"1\"} 1\na{x=\"1\"} 2\n",                     # series twice
                    "a{x=\"\\q\"} 1\n",                                 # bad escape
                    "a 1\n# TYPE a gauge\n",                            # TYPE after samples
                    "a{x=1} 1\n",                                       # unquoted value
                    "a{__x=\"1\"} 1\n",                                 # reserved label
                    "a one\n"):                                         # not a number
            with self.assertRaises((ExpositionError, ValueError), msg=bad):
                parse_exposition(bad)


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=5) as r:
        assert r.status == 200, r.status
        ctype = r.headers["Content-Type"]
        assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
        return parse_exposition(r.read().decode("utf-8"))


def show_json(d, command):
    return json.loads(d.show(command + " | json"))


class Metrics(ForkTest):
    def metrics_daemon(self):
        self.metrics_port = harness.free_port()
        return self.start_fork_daemon(extra=f"metrics listen {LOOPBACK}:{self.metrics_port}")

    def assert_keys_snake_case(self, data, where):
        if isinstance(data, dict):
            for k, v in data.items():
                self.assertRegex(k, SNAKE_KEY, f"a | json key of {where}")
                self.assert_keys_snake_case(v, where)
        elif isinstance(data, list):
            for v in data:
                self.assert_keys_snake_case(v, where)

    def test_values_match_the_show_commands_during_and_after_a_fork(self):
        d = self.metrics_daemon()
        self.assertIn(f"metrics listen {LOOPBACK}:{self.metrics_port}", d.show("show running-config"))
        server = self.speech()
        caller_file, _ = pattern(self, "caller.ulaw", 1, packets=50)
        callee_file, _ = pattern(self, "callee.ulaw", 2, packets=50)
        c = Steps().info(start(server.port), "STARTED").sync().stream(caller_file, ms=0).wait_sync()
        c.info(stop(), "STOPPED").pause(300)
        a = Steps().wait_sync().stream(callee_file, ms=100)
        agent = self.agent(a)
        ctl = self.controller(c)

        wait_for(lambda: self.fork_column() == ["active", "active"], what="fork active")
        wait_for(lambda: self.statistics()["Frames sent"] >= 2 * 50, timeout=15, what="all frames sent")

        # During the fork: gauges equal the shows; moving counters lie
        # between two scrapes taken around the show.
        before = scrape(self.metrics_port)
        stats = show_json(d, "show voip stream-service statistics")
        sip = show_json(d, "show sip-ua statistics")
        relay = show_json(d, "show platform hardware qfp active feature sbc fork global")
        calls = show_json(d, "show call active voice brief")
        after = scrape(self.metrics_port)
        for data, where in ((stats, "statistics"), (sip, "sip-ua"), (relay, "fork global"), (calls, "brief")):
            self.assert_keys_snake_case(data, where)
        self.assertIn("glare_491", sip)
        for m in (before, after):
            self.assertEqual(value(m, "voxfork_calls_active"), calls["total_calls"])
            self.assertEqual(value(m, "voxfork_forks", state="active"), 1)
            self.assertEqual(value(m, "voxfork_forks", state="connecting"), 0)
            self.assertEqual(value(m, "voxfork_websocket_connections", state="active"), stats["connections_active"])
            self.assertEqual(value(m, "voxfork_forks_started_total"), stats["forks_started"])
            self.assertEqual(value(m, "voxfork_sip_invites_received_total"), sip["invites_received"])
            self.assertEqual(value(m, "voxfork_sip_calls_connected_total"), sip["calls_connected"])
            self.assertEqual(value(m, "voxfork_sip_fork_requests_total"), sip["forking_requests"])
            self.assertEqual(value(m, "voxfork_license_calls", kind="enhanced"), 1)
            self.assertEqual(value(m, "voxfork_license_calls", kind="aggregate"), 1)
        self.assertEqual(value(after, "voxfork_websocket_frames_sent_total", protocol="voxfork-v1"),
                         stats["frames_sent"])
        for direction in ("caller", "callee"):
            lo = value(before, "voxfork_relay_rtp_packets_total", direction=direction)
            hi = value(after, "voxfork_relay_rtp_packets_total", direction=direction)
            self.assertTrue(lo <= relay[direction]["rtp_packets_relayed"] <= hi, (lo, relay[direction], hi))
            self.assertGreaterEqual(lo, 50)
            lo = value(before, "voxfork_fork_packets_total", direction=direction)
            hi = value(after, "voxfork_fork_packets_total", direction=direction)
            self.assertTrue(lo <= relay[direction]["packets_forked"] <= hi, (lo, relay[direction], hi))

        self.release(agent)
        wait_all(self, ctl, agent)
        self.assert_no_calls()

        # After the call everything stands still: exact equality.
        m = scrape(self.metrics_port)
        stats = show_json(d, "show voip stream-service statistics")
        sip = show_json(d, "show sip-ua statistics")
        relay = show_json(d, "show platform hardware qfp active feature sbc fork global")
        self.assertEqual(value(m, "voxfork_calls_active"), 0)
        self.assertEqual({v for v in m["voxfork_forks"]["samples"].values()}, {0})
        self.assertEqual(value(m, "voxfork_websocket_frames_sent_total", protocol="voxfork-v1"), stats["frames_sent"])
        self.assertEqual(value(m, "voxfork_websocket_bytes_sent_total", protocol="voxfork-v1"), stats["bytes_sent"])
        self.assertEqual(value(m, "voxfork_websocket_frames_dropped_total", protocol="voxfork-v1"),
                         stats["frames_dropped"])
        self.assertEqual(value(m, "voxfork_websocket_connections_created_total"), stats["connections_created"])
        self.assertEqual(value(m, "voxfork_websocket_tcp_closures_total"), stats["tcp_closures"])
        self.assertEqual(value(m, "voxfork_websocket_http_connection_failures_total"),
                         stats["http_connection_failures"])
        for key, code in (("rejected_untrusted_source_403", 403), ("glare_491", 491)):
            self.assertEqual(value(m, "voxfork_sip_responses_sent_total", code=code,
                                   cause={403: "untrusted_source", 491: "glare"}[code]), sip[key])
        for direction in ("caller", "callee"):
            self.assertEqual(value(m, "voxfork_relay_rtp_packets_total", direction=direction),
                             relay[direction]["rtp_packets_relayed"])
            self.assertEqual(value(m, "voxfork_relay_packets_dropped_total", direction=direction,
                                   reason="malformed"), relay[direction]["dropped_malformed"])
        self.assertEqual(value(m, "voxfork_license_calls", kind="aggregate"), 0)
        self.assertEqual(value(m, "voxfork_relay_port_pairs", state="in_use"), 0)
        for f in m.values():
            self.assertTrue(f["help"], "every family has a HELP line")
        # The Grafana dashboard plots only families the endpoint serves.
        source = os.environ.get("VOXFORK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        with open(os.path.join(source, "tools", "grafana-dashboard.json")) as f:
            dashboard = json.load(f)
        plotted = {name for panel in dashboard["panels"] for target in panel["targets"]
                   for name in re.findall(r"voxfork_[a-z0-9_]+", target["expr"])}
        self.assertGreaterEqual(len(plotted), 15)
        self.assertEqual(plotted - set(m), set(), "dashboard names no family that is not served")

    def test_bad_clients_are_cut_off_and_calls_go_on(self):
        d = self.metrics_daemon()
        port = self.metrics_port
        # Other paths and methods.
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://{LOOPBACK}:{port}/other", timeout=5)
        self.assertEqual(e.exception.code, 404)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(f"http://{LOOPBACK}:{port}/metrics", data=b"x"), timeout=5)
        self.assertIn(e.exception.code, (400, 405))
        # One kept-alive connection that asks in a loop is paced to ten
        # answers a second; HEAD answers the headers only.
        conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
        t0 = time.monotonic()
        for _ in range(11):
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            parse_exposition(r.read().decode())
        self.assertGreaterEqual(time.monotonic() - t0, 0.95, "at most one answer per 100 ms")
        conn.request("HEAD", "/metrics")
        r = conn.getresponse()
        self.assertEqual((r.status, r.read()), (200, b""))
        self.assertGreater(int(r.headers["Content-Length"]), 1000)
        conn.close()
        # A request header beyond the limit is answered 431 and closed (the
        # unread rest of it may turn the close into a reset before the
        # answer is read: either way the client is gone).
        with socket.create_connection((LOOPBACK, port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            try:
                answer = s.recv(4096)
                self.assertTrue(answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer[:80])
            except ConnectionResetError:
                pass
        time.sleep(0.3)
        # Clients that connect and say nothing fill the slots: newcomers
        # beyond the cap are closed at once, the daemon goes on answering
        # its operator, and a call goes through meanwhile.
        silent = [socket.create_connection((LOOPBACK, port), timeout=5) for _ in range(30)]
        self.addCleanup(lambda: [s.close() for s in silent])
        refused = 0
        for s in silent:
            s.settimeout(0.5)
            try:
                refused += s.recv(1) == b""
            except socket.timeout:
                pass
        self.assertEqual(refused, 30 - 8, "the cap is 8 clients")
        self.assertIn("Total calls: 0", d.show("show call active voice brief"))
        run = self.controller(Steps().pause(200))
        callee = self.agent()
        wait_all(self, run, callee)
        # The silent ones are closed at the idle timeout (10 s); then scrapes work again.
        wait_for(lambda: _can_connect(port), timeout=20, what="a scrape after the idle timeout")
        self.assertEqual(value(scrape(port), "voxfork_sip_calls_connected_total"), 1)

    def test_off_by_default_and_a_reload_opens_it(self):
        d = self.start_fork_daemon()
        self.assertNotIn("metrics", d.show("show running-config"))
        port = harness.free_port()
        self.assertFalse(_can_connect(port))
        with open(d.config_path) as f:
            text = f.read()
        d.write_config(text + f"metrics listen {port}\n")
        d.signal(1)  # SIGHUP
        wait_for(lambda: _can_connect(port), what="the endpoint after the reload")
        self.assertIn(f"metrics listen 127.0.0.1:{port}", d.show("show running-config"))
        self.assertEqual(value(scrape(port), "voxfork_calls_active"), 0)


def _can_connect(port):
    """A scrape would be answered: connect and get a reply to a request."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=1) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


if __name__ == "__main__":
    harness.main()
