"""abuse — shared by the abuse tests (tests/integration/test_abuse_*.py):
raw HTTP/2 frames over TLS (no library: floods must be written as fast and
as wrong as an attacker writes them), a keep-alive /healthz prober that
reports latencies, and /proc readings of the daemon (RSS, descriptors).
Standard library only; loopback only (any 127.0.0.0/8 source address);
every loop bounded in count and time.
"""

import http.client
import os
import re
import socket
import ssl
import struct
import threading
import time

# A request for /healthz in HPACK without the dynamic table: :method GET (2),
# :scheme https (7), then :path and :authority as literals with an indexed name.
HEALTHZ_BLOCK = b"\x82\x87\x04\x08/healthz\x01\x09127.0.0.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 2, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, flags, stream) + payload


_contexts = {}


def tls_context(alpn):
    """A client context that verifies nothing, one per ALPN list (making one
    loads the system's CA store, ~30 ms on a busy machine)."""
    key = tuple(alpn)
    if key not in _contexts:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(list(alpn))
        _contexts[key] = ctx
    return _contexts[key]


def connect(port, alpn=("h2",), source="127.0.0.1", timeout=10):
    """A TLS socket to irtcd from source (any 127.x address), ALPN alpn."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return tls_context(list(alpn)).wrap_socket(raw, server_hostname="127.0.0.1")


class H2:
    """A bare HTTP/2 client connection: preface and SETTINGS sent."""

    def __init__(self, port, source="127.0.0.1"):
        self.sock = connect(port, ("h2",), source)
        self.alpn = self.sock.selected_alpn_protocol()
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
        self.next_stream = 1

    def request_block(self, block=HEALTHZ_BLOCK, reset=False):
        """Bytes of one GET (and its RST_STREAM when reset) on a new stream."""
        sid = self.next_stream
        self.next_stream += 2
        out = frame(HEADERS, END_STREAM | END_HEADERS, sid, block)
        if reset:
            out += frame(RST_STREAM, 0, sid, struct.pack(">I", 8))  # CANCEL
        return out

    def flood(self, chunk_fn, seconds, max_bytes):
        """Writes chunk_fn() until the server closes the connection, seconds
        pass or max_bytes went out.  Returns (bytes sent, closed by server,
        seconds taken)."""
        sent, t0 = 0, time.monotonic()
        self.sock.settimeout(1.0)
        while time.monotonic() - t0 < seconds and sent < max_bytes:
            try:
                data = chunk_fn()
                self.sock.sendall(data)
                sent += len(data)
            except (OSError, ssl.SSLError):
                return sent, True, time.monotonic() - t0
        return sent, self.closed(max(0.5, seconds - (time.monotonic() - t0))), time.monotonic() - t0

    def closed(self, wait):
        """Whether the server closes the connection within wait seconds (what
        it sends meanwhile is read and dropped)."""
        deadline = time.monotonic() + wait
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                if self.sock.recv(65536) == b"":
                    return True
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                return True
        return False

    def get_healthz(self, timeout=5):
        """One GET /healthz; the :status of the answer, or None."""
        sid = self.next_stream
        self.sock.sendall(self.request_block())
        buf, deadline = b"", time.monotonic() + timeout
        self.sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not d:
                return None
            buf += d
            while len(buf) >= 9:
                n = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + n:
                    break
                ftype, sid_got, payload = buf[3], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]
                buf = buf[9 + n:]
                if ftype == HEADERS and sid_got == sid:
                    # :status 200 is static entry 8 (0x88); others 9..14, or a literal.
                    return 200 if payload[:1] == b"\x88" else -1
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Prober(threading.Thread):
    """GET /healthz every interval on one keep-alive HTTP/1.1 connection (from
    source) while running; records each latency (seconds) and status.  A new
    connection is opened only if the old one fails (and counted)."""

    def __init__(self, port, interval=0.05, source="127.0.0.9"):
        super().__init__(daemon=True)
        self.port, self.interval, self.source = port, interval, source
        self.lat, self.bad, self.reconnects = [], 0, 0
        self.stop_at = None
        self._halt = threading.Event()

    def _conn(self):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=tls_context(["http/1.1"]), timeout=5,
                                        source_address=(self.source, 0))
        c.connect()
        return c

    def run(self):
        c = self._conn()
        while not self._halt.is_set():
            t0 = time.monotonic()
            try:
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                self.reconnects += 1
                try:
                    c.close()
                    c = self._conn()
                except OSError:
                    pass
            dt = time.monotonic() - t0
            self.lat.append(dt)
            self.bad += not ok
            self._halt.wait(max(0.0, self.interval - dt))
        c.close()

    def stop(self):
        self._halt.set()
        self.join(10)

    def p99(self):
        s = sorted(self.lat)
        return s[min(len(s) - 1, int(len(s) * 0.99))] if s else float("inf")


def metric(d, name, labels=None):
    """A sample of /metrics (sum over label sets matching labels), or None."""
    r = d.request("GET", "/metrics")
    total, found = 0.0, False
    for line in r.body.decode("utf-8", "replace").splitlines():
        m = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        if labels and labels not in (m.group(2) or ""):
            continue
        total += float(m.group(3))
        found = True
    return total if found else None


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def log_lines(path, needle):
    with open(path, "rb") as f:
        return sum(1 for line in f if needle.encode() in line)
