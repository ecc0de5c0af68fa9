"""A dnsmasq on loopback that answers A (and AAAA) queries for a few test
names, for tests of `ip name-server` (WebSocket and SIP lookups go through
c-ares)."""

import os
import signal
import socket

from harness import LOOPBACK, free_port, need_tool, wait_for


class Dnsmasq:
    """Answers every name of `names` with `addresses` (127.0.0.1 by default;
    "::1" among them adds an AAAA record) and nothing else (no upstream, no
    /etc/hosts); `port` is where it listens on `listen` (127.0.0.1, or ::1).
    Without dnsmasq the test is skipped (fails under CI=true)."""

    def __init__(self, h, names, addresses=(LOOPBACK,), listen=LOOPBACK):
        self.listen = listen
        dnsmasq = need_tool("dnsmasq", "/usr/sbin/dnsmasq")
        self.names = list(names)
        hosts = self.hosts = os.path.join(h.tmpdir, "dns-hosts")
        with open(hosts, "w") as f:
            for name in self.names:
                for address in addresses:
                    f.write(f"{address} {name}\n")
        self.port = free_port(kind=socket.SOCK_DGRAM)
        if ":" in listen:
            while not udp6_port_free(self.port):
                self.port = free_port(kind=socket.SOCK_DGRAM)
        log = open(os.path.join(h.tmpdir, "dnsmasq.log"), "wb")
        self.process = h.spawn([dnsmasq, "-k", "-p", str(self.port), f"--listen-address={listen}",
                                "--bind-interfaces", "--no-resolv", "--no-hosts", f"--addn-hosts={hosts}",
                                "--local=/test/", "--user=", "--pid-file=", "--log-facility=-"],
                               stdout=log, stderr=log)
        log.close()
        wait_for(lambda: self.process.poll() is not None or self._answers(self.names[0]), 10, what="dnsmasq")
        if self.process.poll() is not None:
            raise AssertionError("dnsmasq exited")

    def point(self, address):
        """From now on every name answers `address` (the hosts file is read
        again on SIGHUP)."""
        with open(self.hosts, "w") as f:
            for name in self.names:
                f.write(f"{address} {name}\n")
        self.process.send_signal(signal.SIGHUP)

    def config_line(self):
        server = f"[{self.listen}]" if ":" in self.listen else self.listen
        return f"ip name-server {server}:{self.port}\n"

    def _answers(self, name):
        # A minimal A query; any answer with our id means it is serving.
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        for label in name.encode().split(b"."):
            q += bytes([len(label)]) + label
        q += b"\x00\x00\x01\x00\x01"
        family = socket.AF_INET6 if ":" in self.listen else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(q, (self.listen, self.port))
                return s.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False


def udp6_port_free(port):
    """Whether a UDP port on ::1 can be bound (nothing listens there)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("::1", port))
            return True
        except OSError:
            return False
