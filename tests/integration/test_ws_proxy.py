"""The pool through an HTTP CONNECT proxy (tinyproxy on loopback): plain and
TLS (end to end inside the tunnel, SNI = the speech server's name), and a
proxy that refuses the CONNECT (an HTTP connection failure)."""

import os
import socket
import subprocess

import harness
from harness import LOOPBACK, free_port, wait_for
from speech_server import SpeechServer, make_tls_files
from ws_probe import WsProbe, profile_config

class ProxyTest(harness.Harness):
    def start_proxy(self, connect_port, listen=LOOPBACK):
        """tinyproxy on `listen` (127.0.0.1 or ::1) allowing CONNECT to
        `connect_port` only (the test is skipped without it, fails under
        CI=true)."""
        tinyproxy = harness.need_tool("tinyproxy", "/usr/bin/tinyproxy", "/usr/sbin/tinyproxy")
        port = free_port()
        conf = os.path.join(self.tmpdir, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write(f"Port {port}\nListen {listen}\nAllow {listen}\nConnectPort {connect_port}\n"
                    f"LogFile \"{self.tmpdir}/tinyproxy.log\"\nPidFile \"{self.tmpdir}/tinyproxy.pid\"\n"
                    "LogLevel Info\nMaxClients 20\nTimeout 60\n")
        os.chmod(self.tmpdir, 0o777)
        cmd = [tinyproxy, "-d", "-c", conf]
        if os.geteuid() == 0:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
        proc = self.spawn(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            if proc.poll() is not None:
                raise AssertionError("tinyproxy exited")
            with socket.socket(socket.AF_INET6 if ":" in listen else socket.AF_INET) as s:
                return s.connect_ex((listen, port)) == 0
        wait_for(listening, 10, what="tinyproxy")
        return port

    def test_plain_through_proxy(self):
        server = SpeechServer(self).start()
        proxy = self.start_proxy(server.port)
        config = profile_config(extra=f" proxy ip {LOOPBACK} port {proxy}\n")
        p = WsProbe(self, config).run(LOOPBACK, server.port, profile=1, frames=5, interval_ms=2, keep=True,
                                      shows=["show voip stream-service connection id 1"])
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(len(server.wait_events("frame", 10)), 10)
        # The server sees the proxy's connection, the pool shows the server as asked.
        self.assertIn(f"Server Address: {LOOPBACK}:{server.port}\n",
                      p.command_text("show voip stream-service connection id 1"))

    def test_plain_through_a_proxy_on_ipv6(self):
        # `proxy ip` of IPv6: the pool reaches the proxy on [::1]; the proxy
        # opens the tunnel to the IPv4 server.
        server = SpeechServer(self).start()
        proxy = self.start_proxy(server.port, listen="::1")
        config = profile_config(extra=f" proxy ip 0::1 port {proxy}\n")
        p = WsProbe(self, config).run(LOOPBACK, server.port, profile=1, frames=5, interval_ms=2, keep=True,
                                      shows=["show voip stream-service connection id 1"])
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(len(server.wait_events("frame", 10)), 10)
        detail = p.command_text("show voip stream-service connection id 1")
        self.assertIn(f"Server Address: {LOOPBACK}:{server.port}\n", detail)
        self.assertIn("Local Address: [::1]:", detail, "the pool's socket is the one to the proxy")
        with open(os.path.join(self.tmpdir, "tinyproxy.log")) as f:
            self.assertIn(f"CONNECT {LOOPBACK}:{server.port}", f.read())

    def test_tls_through_proxy_uses_the_server_name(self):
        # The proxy resolves the server's name itself (tinyproxy: the system
        # resolver, so `localhost`); voxforkd resolves only the proxy's name.
        tls = make_tls_files(self.tmpdir, names=("localhost",), ips=())
        server = SpeechServer(self, tls=tls).start()
        proxy = self.start_proxy(server.port)
        config = profile_config(
            extra=f" proxy host proxy.voxfork.test port {proxy}\n",
            globals_=(f"ip host proxy.voxfork.test {LOOPBACK}\ncrypto pki trustpoint ws\n ca-file {tls.ca}\n"
                      "http client secure-trustpoint ws\n"))
        p = WsProbe(self, config).run("localhost", server.port, secure=True, profile=1)
        self.assertTrue(p.attaches()[0]["ok"], p.log())
        self.assertEqual(server.connections()[0]["sni"], "localhost")

    def test_proxy_refusing_connect_is_an_http_failure(self):
        server = SpeechServer(self).start()
        proxy = self.start_proxy(server.port + 1 if server.port < 65535 else server.port - 1)
        config = profile_config(extra=f" proxy ip {LOOPBACK} port {proxy}\n")
        p = WsProbe(self, config).run(LOOPBACK, server.port, profile=1)
        self.assertEqual(p.reasons(), ["Connection failed"])
        self.assertEqual(p.stats()["HTTP connection failures"], 1)
        self.assertEqual(p.stats()["TCP connection failures"], 0)
        self.assertEqual(server.connections(), [])

    def test_proxy_not_listening_is_a_tcp_failure(self):
        config = profile_config(extra=f" proxy ip {LOOPBACK} port {free_port()}\n")
        p = WsProbe(self, config).run(LOOPBACK, free_port(), profile=1)
        self.assertEqual(p.reasons(), ["Connection failed"])
        self.assertEqual(p.stats()["TCP connection failures"], 1)


if __name__ == "__main__":
    harness.main()
