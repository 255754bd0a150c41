#!/usr/bin/python3
"""test_callbacks.py — recording callbacks end to end: the built irtcd sends
what `irtcd callback test URL` queues to local HTTP and HTTPS receivers run
by this test, and the X-HW-SIGN header is checked here with hmac/hashlib
independently of the C code.  Covered: one delivery with the right body and
signature and never a second, a 500-answering endpoint retried with growing
gaps until it recovers, HTTPS trusted through recording.callback_ca_file
(by name and by address) and refused without it (the verify error is
recorded), a restart in the middle of the backoff, an unreachable endpoint
whose row stays pending and is delivered once the endpoint appears, a
shutdown that does not wait for a hanging receiver, the /metrics counters
and the command's errors.  Needs the openssl command for the test CA.
Prints TAP; every wait is bounded.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from irtctest import IRTCD, Daemon, Tap, free_port  # noqa: E402

t = Tap()

# Small backoff so that retries happen within the test (docs/CALLBACKS.md).
RECORDING_KEYS = ("  callback_retry_min: 300ms\n  callback_retry_max: 3s\n"
                  "  callback_give_up: 1h\n  callback_timeout: 3s\n")


class Receiver:
    """A callback endpoint: records every POST; answers per path from a
    script of statuses (the last one repeats); "/hang" never answers."""

    def __init__(self, port, tls_ctx=None):
        self.lock = threading.Lock()
        self.posts = []
        self.script = {}
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with recv.lock:
                    recv.posts.append({"path": self.path, "version": self.request_version,
                                       "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": body, "at": time.monotonic()})
                    codes = recv.script.get(self.path, [200])
                    code = codes.pop(0) if len(codes) > 1 else codes[0]
                if self.path == "/hang":
                    time.sleep(30)
                    return
                reply = b'{"errorCode":"0","errorMessage":null,"data":null}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        if tls_ctx is not None:
            self.httpd.socket = tls_ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def set(self, path, codes):
        with self.lock:
            self.script[path] = list(codes)

    def got(self, path):
        with self.lock:
            return [p for p in self.posts if p["path"] == path]

    def wait(self, path, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.got(path)) >= n:
                return True
            time.sleep(0.05)
        return len(self.got(path)) >= n

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def make_ca(d):
    """A test CA and a server certificate for localhost and 127.0.0.1."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d, timeout=30)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=irtc callback test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "srv.key",
        "-out", "srv.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-out", "srv.pem", "-extfile", "ext.cnf")
    return os.path.join(d, "ca.pem"), os.path.join(d, "srv.pem"), os.path.join(d, "srv.key")


def daemon(name, ca_file=None):
    d = Daemon(name)
    with open(d.config) as f:
        text = f.read()
    keys = RECORDING_KEYS + ("  callback_ca_file: %s\n" % ca_file if ca_file else "")
    with open(d.config, "w") as f:
        f.write(text.replace("recording:\n", "recording:\n" + keys, 1))
    return d


def sign(access_key, body):
    """X-HW-SIGN as docs/CALLBACKS.md states it, from the body's own fields."""
    msg = (body["appId"] + access_key + body["channelId"] + body["userId"] + body["extraData"]
           + body["authTimestamp"])
    return base64.b64encode(hmac.new(access_key.encode(), msg.encode(), hashlib.sha256).digest()).decode()


def queue(d, url, *extra):
    """irtcd callback test URL: (exit code, parsed output or text)."""
    rc, out = d.cli("callback", "test", url, *extra)
    try:
        return rc, json.loads(out)
    except ValueError:
        return rc, out


def cli_stderr(d, *args):
    p = subprocess.run([IRTCD, "--config", d.config] + list(args), capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def rows(d):
    rc, out = d.cli("callback", "list", "--limit", "100")
    return {r["id"]: r for r in json.loads(out)} if rc == 0 else {}


def wait_row(d, rid, cond, timeout):
    deadline = time.monotonic() + timeout
    while True:
        r = rows(d).get(rid, {})
        if cond(r) or time.monotonic() >= deadline:
            return r
        time.sleep(0.1)


def metric(d, name):
    r = d.request("GET", "/metrics")
    for line in r.body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def wait_metric(d, name, want, timeout=3):
    """The metric once it equals want (it is refreshed after each pass)."""
    deadline = time.monotonic() + timeout
    while metric(d, name) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    return metric(d, name)


def test_delivery(d, key, plain, tls):
    base = "http://127.0.0.1:%d" % plain.port
    rc, q = queue(d, base + "/ok?from=irtc")
    if not t.ok(rc == 0 and isinstance(q, dict) and q.get("id", 0) > 0, "callback test queues a row", q):
        return
    t.ok(plain.wait("/ok?from=irtc", 1, 5), "delivered within seconds of being queued")
    got = plain.got("/ok?from=irtc")
    p = got[0] if got else {"headers": {}, "body": b"{}", "version": ""}
    body = json.loads(p["body"].decode())
    t.eq(list(body), ["channelId", "appId", "recordingId", "userId", "extraData", "authTimestamp", "fileId",
                      "filePath", "fileName"], "video body: the guide's fields in its order")
    t.eq(body, q["body"], "the body sent is the one queued")
    t.ok(body["appId"] == d.demo_app and body["authTimestamp"].isdigit()
         and abs(int(body["authTimestamp"]) - time.time()) < 60, "appId of the demo app, authTimestamp in seconds")
    t.eq(p["headers"].get("x-hw-sign"), sign(key, body), "X-HW-SIGN verifies with the accessKey (computed here)")
    t.eq(p["headers"].get("content-type"), "application/json", "Content-Type: application/json")
    t.ok(p["version"] == "HTTP/1.1" and p["headers"].get("connection") == "close", "HTTP/1.1, Connection: close")
    r = wait_row(d, q["id"], lambda r: r.get("status") == "delivered", 3)
    t.ok(r.get("status") == "delivered" and r.get("attempts") == 0 and r.get("deliveredAt"),
         "callback list: delivered at the first attempt", r)
    time.sleep(1.5)
    t.eq(len(plain.got("/ok?from=irtc")), 1, "never sent again after the 2xx")

    # A receiver that fails twice, then recovers.
    plain.set("/flaky", [500, 500, 200])
    rc, q = queue(d, base + "/flaky")
    t.ok(plain.wait("/flaky", 3, 8), "a 500-answering endpoint is retried until it answers 200")
    at = [p["at"] for p in plain.got("/flaky")]
    if len(at) >= 3:
        g1, g2 = at[1] - at[0], at[2] - at[1]
        t.ok(g1 >= 0.25 and g2 >= 1.6 * g1, "the gaps grow (%.2f s, then %.2f s)" % (g1, g2))
    r = wait_row(d, q["id"], lambda r: r.get("status") == "delivered", 3)
    t.ok(r.get("status") == "delivered" and r.get("attempts") == 2 and "HTTP 500" in (r.get("lastError") or ""),
         "delivered after 2 failed attempts; the last error kept", r)
    time.sleep(1)
    t.eq(len(plain.got("/flaky")), 3, "and not sent again")
    t.eq(len({p["headers"].get("x-hw-sign") for p in plain.got("/flaky")}), 1, "retries resend the same signature")

    # HTTPS, verified through recording.callback_ca_file, by name and by address.
    for host in ("localhost", "127.0.0.1"):
        url = "https://%s:%d/tls-%s" % (host, tls.port, host)
        rc, q = queue(d, url)
        t.ok(tls.wait("/tls-" + host, 1, 5), "HTTPS to %s with the CA file: delivered" % host)
        got = tls.got("/tls-" + host)
        if got:
            b = json.loads(got[0]["body"].decode())
            t.eq(got[0]["headers"].get("x-hw-sign"), sign(key, b), "HTTPS to %s: signature verifies" % host)


def test_restart_and_outage(d, plain):
    base = "http://127.0.0.1:%d" % plain.port
    plain.set("/later", [503])
    rc, later = queue(d, base + "/later")
    down_port = free_port(1)
    rc, down = queue(d, "http://127.0.0.1:%d/down" % down_port)
    r = wait_row(d, down["id"], lambda r: r.get("attempts", 0) >= 1, 5)
    t.ok(r.get("status") == "pending" and "Connection refused" in (r.get("lastError") or ""),
         "an unreachable endpoint: the row stays pending with the error", r)
    t.ok(plain.wait("/later", 1, 5), "an endpoint answering 503 got its first attempt")
    t0 = time.monotonic()
    t.eq(d.stop(), 0, "daemon stops in the middle of the backoff")
    t.ok(time.monotonic() - t0 < 3, "and promptly (%.1f s)" % (time.monotonic() - t0))
    n_later = len(plain.got("/later"))
    plain.set("/later", [200])
    rx = Receiver(down_port)  # the unreachable endpoint appears
    t.ok(d.start(), "daemon restarts")
    t.ok(plain.wait("/later", n_later + 1, 8), "the row queued before the restart is delivered after it")
    r = wait_row(d, later["id"], lambda r: r.get("status") == "delivered", 3)
    t.ok(r.get("status") == "delivered" and r.get("attempts", 0) >= 1, "its earlier attempts were kept", r)
    t.ok(rx.wait("/down", 1, 10), "the endpoint that was unreachable gets its callback once it listens")
    r = wait_row(d, down["id"], lambda r: r.get("status") == "delivered", 3)
    t.eq(r.get("status"), "delivered", "nothing was lost")
    rx.close()


def test_shutdown_mid_request(d, plain):
    rc, q = queue(d, "http://127.0.0.1:%d/hang" % plain.port)
    t.ok(plain.wait("/hang", 1, 5), "a receiver that never answers has the request")
    t0 = time.monotonic()
    t.eq(d.stop(), 0, "daemon stops while the request hangs")
    t.ok(time.monotonic() - t0 < 3, "without waiting for the receiver (%.1f s)" % (time.monotonic() - t0))


def main():
    if shutil.which("openssl") is None:
        print("1..0 # SKIP the openssl command is not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="irtc-it-cb-")
    try:
        ca, cert, key_file = make_ca(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key_file)
        plain = Receiver(free_port(1))
        tls = Receiver(free_port(1), ctx)

        d = daemon("cb", ca)
        if not t.ok(d.start(), "daemon with callback_ca_file starts"):
            d.dump_log()
            return t.done()
        rc, out = d.cli("app", "list", "--show-secrets")
        demo = [a for a in json.loads(out) if a.get("name") == "demo"] if rc == 0 else []
        if not t.ok(len(demo) == 1 and demo[0].get("accessKey"), "the demo app and its accessKey"):
            return t.done()
        d.demo_app, key = demo[0]["appId"], demo[0]["accessKey"]

        rc, err = cli_stderr(d, "callback", "test", "ftp://example.com/")
        t.ok(rc == 2 and "must start with http:// or https://" in err, "callback test refuses a bad URL", err)
        rc, err = cli_stderr(d, "callback", "test", "http://127.0.0.1:1/", "--app", "NoSuchApp")
        t.ok(rc == 1 and "no app NoSuchApp" in err, "callback test refuses an unknown app", err)
        rc, err = cli_stderr(d, "callback", "list", "--limit", "0")
        t.ok(rc == 2 and "--limit" in err, "callback list refuses a bad --limit", err)

        test_delivery(d, key, plain, tls)
        test_restart_and_outage(d, plain)
        t.ok((metric(d, "irtc_callbacks_delivered_total") or 0) >= 2, "metrics: delivered counted since start")
        t.ok(metric(d, "irtc_callback_attempts_failed_total") is not None
             and metric(d, "irtc_callbacks_given_up_total") == 0, "metrics: failed attempts and given up exported")
        t.eq(wait_metric(d, "irtc_callback_queue_depth", 0), 0, "metrics: queue depth 0 once all are delivered")
        test_shutdown_mid_request(d, plain)

        # Without the CA file, the same HTTPS receiver is not trusted.
        e = daemon("cb-noca")
        if t.ok(e.start(), "daemon without callback_ca_file starts"):
            rc, q = queue(e, "https://localhost:%d/untrusted" % tls.port)
            r = wait_row(e, q["id"], lambda r: r.get("attempts", 0) >= 1, 5)
            t.ok(r.get("status") == "pending" and "certificate verify failed" in (r.get("lastError") or ""),
                 "HTTPS without the CA file: refused, verify error recorded, still pending", r)
            t.eq(len(tls.got("/untrusted")), 0, "nothing reached the untrusted receiver")
            t.eq(wait_metric(e, "irtc_callback_queue_depth", 1), 1, "metrics: the row counts in the queue depth")
            t.eq(e.stop(), 0, "daemon without the CA file stops")
        plain.close()
        tls.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
