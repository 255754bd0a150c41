#!/usr/bin/python3
"""test_abuse_tcp.py — the ICE-TCP listeners (RFC 6544, issue 14) under abuse,
against the built irtcd on loopback, with plain sockets: what any peer on
the network can send to media.tcp_port before (or without) a valid ICE check.

Checked: a frame length over the largest packet closes the connection at
once; a connection that never sends a check passing MESSAGE-INTEGRITY is
closed after 5 s, whatever it sends meanwhile (nothing, a partial frame,
garbage frames in random cuts, STUN checks for unknown ufrags, which get no
answer); limits.max_connections_per_source caps connections per address
per worker, the next one being closed at once; 300 connect/close cycles
leave nothing open (irtc_media_tcp_connections back to 0, descriptors back
where they were); /metrics counts each kind; /healthz answers throughout and
the daemon stops cleanly.  Standard library only; loopback only; every
loop bounded in count and time.
"""

import os
import random
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import abuse  # noqa: E402
import irtctest  # noqa: E402

T = irtctest.Tap()
ok = T.ok
PER_SOURCE = 8


def connect(port, src="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(src, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_within(s, seconds):
    """True when the server closes s within seconds (EOF or reset); what it
    sent before is ignored.  False when still open at the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


def frame(payload):
    return struct.pack(">H", len(payload)) + payload


def stun_check(ufrag):
    """A binding request naming ufrag, no integrity (the server does not know it)."""
    user = (ufrag + ":client").encode()
    attr = struct.pack(">HH", 0x0006, len(user)) + user + b"\0" * (-len(user) % 4)
    return struct.pack(">HHI", 0x0001, len(attr), 0x2112A442) + os.urandom(12) + attr


def main():
    d = irtctest.Daemon("abuse-tcp", extra_yaml="limits:\n  max_connections_per_source: %d\n" % PER_SOURCE)
    ok(d.start(), "daemon starts")
    port = d.media_port  # worker 0's TCP port: media.tcp_port follows media.port
    fds0 = abuse.fd_count(d.proc.pid)
    prober = abuse.Prober(d.https_port)
    prober.start()
    try:
        s = connect(port)
        s.sendall(b"\xff\xff" + os.urandom(64))
        t0 = time.monotonic()
        ok(closed_within(s, 2), "a 65535-byte length prefix closes the connection at once (%.0f ms)"
           % ((time.monotonic() - t0) * 1000))
        s.close()
        s = connect(port)
        s.sendall(frame(b"\x00" * 2049)[:200])
        ok(closed_within(s, 2), "so does 2049, the first length over the largest packet, before its body arrives")
        s.close()

        quiet, partial, noisy = connect(port), connect(port), connect(port)
        t0 = time.monotonic()
        partial.sendall(struct.pack(">H", 1000) + os.urandom(300))  # and never the rest
        rnd = random.Random(14)
        stream = b"".join(frame(os.urandom(rnd.randrange(0, 1500))) for _ in range(400))
        stream += b"".join(frame(stun_check("nosuchufrag%d" % i)) for i in range(50))
        pos = 0
        while pos < len(stream):  # random cuts: frames split across writes
            n = rnd.randrange(1, 3000)
            noisy.sendall(stream[pos:pos + n])
            pos += n
        answered = False
        noisy.settimeout(0.5)
        try:
            answered = len(noisy.recv(65536)) > 0
        except (socket.timeout, OSError):
            pass
        ok(not answered, "garbage frames and checks for unknown ufrags get no answer")
        results = [closed_within(c, 8) for c in (quiet, partial, noisy)]
        took = time.monotonic() - t0
        ok(all(results) and 4.5 <= took <= 8,
           "silent, partial-frame and garbage connections without a valid check are closed after ~5 s (%s, %.1f s)"
           % (results, took))
        for c in (quiet, partial, noisy):
            c.close()

        held = [connect(port) for _ in range(PER_SOURCE)]
        time.sleep(0.2)
        extra = connect(port)
        ok(closed_within(extra, 1), "connection %d from one address is closed at once" % (PER_SOURCE + 1))
        extra.close()
        other = connect(port, "127.0.0.2")
        ok(not closed_within(other, 0.5), "another address still gets in")
        other.close()
        for c in held:
            c.close()

        cycles = 0
        deadline = time.monotonic() + 30
        while cycles < 300 and time.monotonic() < deadline:
            c = connect(port, "127.0.0.%d" % (3 + cycles % 50))
            if cycles % 3 == 0:
                c.sendall(frame(os.urandom(100)))
            c.close()
            cycles += 1
        gone = False
        for _ in range(50):
            if abuse.metric(d, "irtc_media_tcp_connections") == 0:
                gone = True
                break
            time.sleep(0.1)
        ok(cycles == 300 and gone, "%d connect/close cycles leave no connection open" % cycles)
        fds = abuse.fd_count(d.proc.pid)
        ok(fds <= fds0 + 2, "descriptors back where they were (%d, %d before)" % (fds, fds0))

        m = lambda name, labels=None: abuse.metric(d, name, labels) or 0  # noqa: E731
        ok(m("irtc_media_tcp_closed_total", 'reason="bad_frame"') >= 2, "counted: bad frames (%d)"
           % m("irtc_media_tcp_closed_total", 'reason="bad_frame"'))
        ok(m("irtc_media_tcp_closed_total", 'reason="unverified"') >= 3, "counted: unverified (%d)"
           % m("irtc_media_tcp_closed_total", 'reason="unverified"'))
        ok(m("irtc_media_tcp_refused_total") >= 1, "counted: refused over the per-source cap (%d)"
           % m("irtc_media_tcp_refused_total"))
        ok(m("irtc_media_drop_stun_unknown_total") >= 50, "the unknown-ufrag checks counted as for UDP (%d)"
           % m("irtc_media_drop_stun_unknown_total"))
    finally:
        prober.stop()
    ok(prober.bad == 0, "/healthz answered every probe meanwhile (%d probes, %d failed)"
       % (len(prober.lat), prober.bad))
    ok(d.alive(), "daemon still running")
    ok(d.stop() == 0, "clean stop")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
