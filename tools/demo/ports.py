"""Prints free loopback ports for the demo, one per line in this order:
voxforkd's SIP port (free on UDP and TCP), the callee's and the controller's
SIP ports (UDP), the callee's and the controller's RTP ports (even, with the
three ports above free too: SIPp takes its video ports there), and the first
port of a 400-port RTP range for voxforkd's relay (its relay skips ports that
are busy).

The ports follow the test suite's map, so a demo run beside the tests does
not take their ports: single ports from the kernel's ephemeral range
(32768-60999), relay ranges from 16000-32767 (tests/integration/harness.py).

    /usr/bin/python3 ports.py
"""

import random
import socket

HOST = "127.0.0.1"


def is_free(port, kinds):
    sockets = []
    try:
        for kind in kinds:
            s = socket.socket(socket.AF_INET, kind)
            sockets.append(s)
            s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        for s in sockets:
            s.close()


def pick(taken, kinds, even=False):
    while True:
        port = random.randrange(32768, 60990)
        if even:
            port &= ~1
        span = range(port, port + 4) if even else (port,)
        if not taken.intersection(span) and all(is_free(p, kinds) for p in span):
            taken.update(span)
            return port


def main():
    taken = set()
    udp, both = [socket.SOCK_DGRAM], [socket.SOCK_DGRAM, socket.SOCK_STREAM]
    ports = [pick(taken, both), pick(taken, udp), pick(taken, udp),
             pick(taken, udp, even=True), pick(taken, udp, even=True),
             random.randrange(16000, 32768 - 400, 2)]
    print("\n".join(str(p) for p in ports))


if __name__ == "__main__":
    main()
