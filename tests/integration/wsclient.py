"""wsclient.py — a minimal RFC 6455 WebSocket client over TLS, standard
library only, for the integration tests: the opening handshake (checking
Sec-WebSocket-Accept), masked frames, fragmented messages, ping/pong and the
closing handshake.  It also sends malformed frames on purpose (send_frame,
send_raw), which a browser never would.  Not for production use: the server
certificate is not verified (the test daemon's is self-signed)."""

import base64
import hashlib
import os
import socket
import ssl
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


class WSClosed(Exception):
    """The server closed the connection: code and reason of its close frame
    (code None when the TCP connection ended without one)."""

    def __init__(self, code, reason):
        super().__init__("closed: %s %r" % (code, reason))
        self.code, self.reason = code, reason


_CTX = None


def _context():
    """One TLS context for every client: making one loads the system's CA
    store (~30 ms on a busy machine), for a test that verifies nothing."""
    global _CTX
    if _CTX is None:
        _CTX = ssl.create_default_context()
        _CTX.check_hostname = False
        _CTX.verify_mode = ssl.CERT_NONE
        _CTX.set_alpn_protocols(["http/1.1"])
    return _CTX


class WSClient:
    def __init__(self, host, port, path="/v1/signal", timeout=5.0):
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = _context().wrap_socket(raw, server_hostname=host)
        self.buf = b""
        self.closed = None
        self.close_sent = False
        self.frags, self.frag_kind = [], None
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % (path, host, port, key)).encode())
        head = self._read_until(b"\r\n\r\n", time.monotonic() + timeout).decode("latin-1")
        lines = head.split("\r\n")
        self.status = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        if self.status != 101:
            raise ConnectionError("handshake refused: " + lines[0])
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise ConnectionError("bad Sec-WebSocket-Accept")

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the server in time")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data from the server in time")
        if not chunk:
            raise WSClosed(None, "connection ended")
        self.buf += chunk

    def _read_until(self, sep, deadline):
        while sep not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(sep, 1)
        return head

    def send_frame(self, opcode, payload=b"", fin=True, masked=True, rsv=0):
        """One frame exactly as asked (clients must mask; masked=False breaks that on purpose)."""
        if isinstance(payload, str):
            payload = payload.encode()
        self.close_sent = self.close_sent or opcode == CLOSE
        head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
        n = len(payload)
        mbit = 0x80 if masked else 0
        if n < 126:
            head += bytes([mbit | n])
        elif n < 65536:
            head += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mbit | 127]) + struct.pack("!Q", n)
        if masked:
            mask = os.urandom(4)
            head += mask
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + payload)

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_text(self, text):
        self.send_frame(TEXT, text)

    def ping(self, payload=b"p"):
        self.send_frame(PING, payload)

    def _parse_frame(self):
        """(fin, opcode, payload, frame length) of the frame at the start of
        the buffer, or None while it is incomplete (nothing is consumed, so a
        timeout never loses part of a frame)."""
        b = self.buf
        if len(b) < 2:
            return None
        n, at = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, at = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, at = struct.unpack("!Q", b[2:10])[0], 10
        if b[1] & 0x80:
            raise ConnectionError("the server masked a frame (RFC 6455 5.1 forbids it)")
        if len(b) < at + n:
            return None
        return b[0] & 0x80 != 0, b[0] & 0x0F, b[at:at + n], at + n

    def recv_frame(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        frame = self._parse_frame()
        while frame is None:
            self._fill(deadline)
            frame = self._parse_frame()
        self.buf = self.buf[frame[3]:]
        return frame[:3]

    def recv(self, timeout=5.0):
        """The next text or binary message (str or bytes); answers pings and
        raises WSClosed on a close frame (after answering it)."""
        if self.closed:
            raise self.closed
        deadline = time.monotonic() + timeout
        while True:
            fin, op, payload = self.recv_frame(max(0.001, deadline - time.monotonic()))
            if op == PING:
                self.send_frame(PONG, payload)
            elif op == PONG:
                pass
            elif op == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = WSClosed(code, payload[2:].decode("utf-8", "replace"))
                if not self.close_sent:
                    try:
                        self.send_frame(CLOSE, payload[:2])
                    except OSError:
                        pass
                raise self.closed
            else:
                # Fragments are kept across calls, so a timeout loses nothing.
                self.frag_kind = op if op != CONT else self.frag_kind
                self.frags.append(payload)
                if fin:
                    data, kind, self.frags = b"".join(self.frags), self.frag_kind, []
                    return data.decode("utf-8") if kind == TEXT else data

    def close(self, code=1000, reason="", timeout=2.0):
        """The closing handshake (RFC 6455 7.1.2): send a close frame, wait for
        the server's, then end the TCP connection."""
        try:
            if not self.closed:
                self.send_frame(CLOSE, struct.pack("!H", code) + reason.encode())
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    self.recv(deadline - time.monotonic())
        except (WSClosed, TimeoutError, OSError):
            pass
        self.sock.close()

    def abort(self):
        """Drops the TCP connection without a closing handshake."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
