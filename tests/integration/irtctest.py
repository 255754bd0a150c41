"""irtctest — shared by the Python integration tests (standard library only).

TAP output for Automake's tap-driver, free ports on 127.0.0.1, the built
irtcd started for real on a temporary data directory (like lib.sh does for
the shell tests), and an HTTPS client that does not verify the self-signed
certificate.  Every wait is bounded; daemons are killed at exit.
"""

import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

TOP_BUILDDIR = os.environ.get("top_builddir", os.getcwd())
TOP_SRCDIR = os.environ.get("top_srcdir", os.getcwd())
IRTCD = os.path.join(TOP_BUILDDIR, "irtcd")
# How many times slower than a plain build on an idle machine this run may
# be: `make check-sanitize` sets IRTC_TEST_SLOW=3 (ASan + UBSan).  Tests that
# configure short server timeouts (idle sockets, resume windows) scale them
# and their slack by it, so a slower daemon or client is not a failure.
SLOW = max(1, int(os.environ.get("IRTC_TEST_SLOW", "1") or "1"))


class Tap:
    """Numbered ok / not ok lines; done() prints the plan and returns the exit code."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines()[:20]:
                    print("#   " + line)
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "got  %r\nwant %r" % (got, want))

    def diag(self, msg):
        print("# " + msg)

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def port_range(span):
    """Where test daemons' ports are picked: below the kernel's ephemeral
    range, so that an outgoing connection of another test cannot take a port
    between the check here and the daemon's bind (media workers listen on
    TCP too: ICE-TCP)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            top = int(f.read().split()[0]) - span
    except (OSError, ValueError, IndexError):
        top = 0
    return (10000, top) if top > 12000 else (20000, 60000 - span)


def free_port(span=1):
    """A port p such that p .. p+span-1 are free for TCP and UDP on 127.0.0.1."""
    lo, hi = port_range(span)
    for _ in range(200):
        p = random.randint(lo, hi)
        socks = []
        try:
            for i in range(span):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p + i))
            return p
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8"))
        except ValueError:
            self.json = None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:400])


def room_media_port(base_port, workers, app_id, channel_id):
    """The media port getMediaEndpoint answers for a channel (src/sfu/sfu.h
    sfu_worker_for_channel): FNV-1a 64 over app, its NUL, channel, modulo
    the worker count.  Join tokens must name it (the server checks)."""
    h = 0xcbf29ce484222325
    for b in app_id.encode() + b"\0" + channel_id.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return base_port + (h % workers if workers else 0)


class Daemon:
    """One irtcd with its own ports, data directory and config file."""

    def __init__(self, name, server_yaml="", extra_yaml=""):
        """server_yaml: lines under server: (indented); extra_yaml: more top-level sections."""
        self.dir = tempfile.mkdtemp(prefix="irtc-it-%s-" % name)
        atexit.register(self.cleanup)
        self.https_port = free_port(1)
        self.media_workers = 2
        self.media_port = free_port(self.media_workers)
        self.nas = os.path.join(self.dir, "nas")
        self.db = os.path.join(self.dir, "var", "irtc.db")
        self.config = os.path.join(self.dir, "irtc.yaml")
        with open(self.config, "w") as f:
            f.write(
                "server:\n  listen: [\"127.0.0.1:%d\"]\n" % self.https_port + server_yaml
                + "media:\n  ips: [\"127.0.0.1\"]\n  port: %d\n  workers: %d\n" % (self.media_port, self.media_workers)
                + "storage:\n  db: %s\n  data_dir: %s/var\n" % (self.db, self.dir)
                + "recording:\n  nas_base_path: %s\n" % self.nas
                + "log:\n  level: info\n"
                + extra_yaml
            )
        self.proc = None
        self.log = os.path.join(self.dir, "daemon.log")

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([IRTCD, "--config", self.config], stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + 20 * SLOW
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.request("GET", "/healthz").status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self):
        """SIGTERM and wait (SIGKILL after 10 s); returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        self.proc = None
        if rc != 0:
            self.dump_log(80)
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        elif self.proc is not None:
            print("# irtcd exited by itself with %s" % self.proc.returncode)
            self.dump_log()
        shutil.rmtree(self.dir, ignore_errors=True)

    def dump_log(self, lines=40):
        """Prints the end of the daemon's log as TAP comments."""
        try:
            with open(self.log, "rb") as f:
                tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
        except OSError:
            return
        for line in tail:
            print("# log: " + line)

    def cli(self, *args):
        """Runs `irtcd --config CFG args...`; returns (exit code, stdout)."""
        p = subprocess.run([IRTCD, "--config", self.config] + list(args), capture_output=True, timeout=30)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def create_app(self, name):
        rc, out = self.cli("app", "create", name)
        if rc != 0:
            raise RuntimeError("app create %s failed" % name)
        return json.loads(out)

    _ctx = None

    def request(self, method, path, body=None, headers=None, timeout=10):
        if Daemon._ctx is None:  # made once: it loads the system's CA store (~30 ms)
            Daemon._ctx = ssl.create_default_context()
            Daemon._ctx.check_hostname = False
            Daemon._ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=Daemon._ctx, timeout=timeout)
        try:
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def post(self, path, obj, token=None, content_type="application/json", headers=None):
        """POSTs obj (a dict is sent as JSON; str/bytes as they are)."""
        h = dict(headers or {})
        if content_type is not None:
            h["Content-Type"] = content_type
        if token is not None:
            h["Authorization"] = "bearer " + token
        body = json.dumps(obj) if isinstance(obj, (dict, list)) else obj
        return self.request("POST", path, body, h)

    def room_media_port(self, channel_id, app_id=None):
        return room_media_port(self.media_port, self.media_workers, app_id or self.app_id, channel_id)

    def rest_token(self, app_id, app_token, **override):
        body = {"client_id": "isdp-saas-openapi", "client_secret": "isdp-saas-openapi",
                "grant_type": "password", "username": app_id, "password": app_token}
        body.update(override)
        return self.post("/oauth2/oauth/rest_token", body)

    def api(self, name, obj, token):
        return self.post("/openapi/v1/rtcLive/" + name, obj, token)
