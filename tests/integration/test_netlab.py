#!/usr/bin/python3
"""test_netlab.py — the impaired-network lab itself (netlab.py), which the
weak-link, ICE-TCP/TURN and cluster tests stand on: addresses and
reachability, the rate and loss a shaped link really gives, changing it
mid-test, UDP and TCP blocks from inside, two labs side by side, and that a
lab whose owner was killed with SIGKILL is removed by the next one.  Prints
TAP; skips without root, iproute2 or nftables.  Bounded: ~15-30 s."""

import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import irtctest  # noqa: E402
import netlab  # noqa: E402

T = irtctest.Tap()
ok = T.ok
PY = "/usr/bin/python3"

# Inside the namespace: count UDP datagrams (and their bytes) on port 5555 for
# `secs` seconds, print "n bytes".
RECEIVER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5555)); s.settimeout(0.2)
print("ready", flush=True)
n = b = 0; end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        d = s.recv(2048); n += 1; b += len(d)
    except socket.timeout:
        pass
print(n, b, flush=True)
"""


def blast(lab, count, size, spacing_s, secs):
    """Sends count datagrams of size bytes host -> namespace; returns (got, bytes, seconds)."""
    rx = lab.popen([PY, "-c", RECEIVER, lab.ns_ip, str(secs)], stdout=subprocess.PIPE, text=True)
    rx.stdout.readline()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    for i in range(count):
        s.sendto(b"x" * size, (lab.ns_ip, 5555))
        if spacing_s:
            time.sleep(spacing_s)
    sent_s = time.monotonic() - t0
    n, b = (int(x) for x in rx.communicate(timeout=secs + 10)[0].split())
    s.close()
    return n, b, sent_s


def probe_from_inside(lab, proto, port, host=None):
    """Whether the namespace can send proto to host (default: its host side) at port."""
    code = ("import socket,sys\nk=socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM\n"
            "s=socket.socket(socket.AF_INET,k); s.settimeout(1)\n"
            "try:\n  s.connect((sys.argv[2],int(sys.argv[3]))); s.send(b'ping'); print('sent')\n"
            "except OSError as e: print('blocked', e)")
    out = lab.run([PY, "-c", code, proto, host or lab.host_ip, str(port)], capture_output=True, text=True,
                  timeout=10).stdout
    return out.startswith("sent")


def udp_arrives(sock):
    sock.settimeout(0.5)
    try:
        sock.recv(100)
        return True
    except socket.timeout:
        return False


def main():
    why = netlab.available()
    if why:
        print("1..0 # SKIP " + why)
        return 0
    with netlab.Lab("selftest") as a, netlab.Lab("selftest-b") as b:
        ok(a.slot != b.slot and a.host_ip != b.host_ip and a.ns != b.ns, "two labs get distinct slots (%s, %s)"
           % (a.host_ip, b.host_ip))
        ok(a.ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout,
           "the namespace exists")
        got, _, _ = blast(a, 200, 100, 0.001, 1.5)
        ok(got == 200, "unshaped: host -> namespace delivers all 200 datagrams (%d)" % got)

        # 500 kbit/s: 1000 B datagrams sent at ~4 Mbit/s for 1.5 s; ~62 kB/s get through.
        a.shape("down", rate_kbit=500)
        got, nbytes, sent_s = blast(a, 750, 1000, 0.002, 4.0)
        # What left the queue while sending, plus the 150 ms it held, beyond the 16 KiB burst.
        kbit = (nbytes - 16 * 1024) * 8 / 1000 / (sent_s + 0.15)
        st = a.stats()
        ok(350 <= kbit <= 650 and st["down"]["qdiscs"][0]["drops"] > 0,
           "shaped to 500 kbit/s: ~%d kbit/s got through, tbf dropped %d" % (kbit, st["down"]["qdiscs"][0]["drops"]))

        a.shape("down", loss_pct=10)
        got, _, _ = blast(a, 2000, 100, 0.0002, 2.0)
        loss = 100 * (2000 - got) / 2000
        ok(5 <= loss <= 15, "10 %% random loss (by %s): %.1f %% of 2000 lost" % (a.shaping["down"]["loss_by"], loss))
        a.unshape("down")
        got, _, _ = blast(a, 300, 100, 0.0005, 1.0)
        ok(got == 300, "unshape: everything gets through again (%d of 300)" % got)
        try:
            a.shape("down", delay_ms=20)
            ok(netlab.netem_available(), "delay applied with netem")
        except RuntimeError as e:
            ok(not netlab.netem_available() and "netem" in str(e), "delay refused without sch_netem (%s)" % e)

        # Blocks from inside, against a UDP socket and a TCP listener on the host side.
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((a.host_ip, 0))
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind((a.host_ip, 0))
        srv.listen(4)
        uport, tport = u.getsockname()[1], srv.getsockname()[1]
        ok(probe_from_inside(a, "udp", uport) and udp_arrives(u) and probe_from_inside(a, "tcp", tport),
           "from inside: UDP and TCP reach the host side")
        a.block("udp")
        ok(not probe_from_inside(a, "udp", uport) and not udp_arrives(u) and probe_from_inside(a, "tcp", tport),
           "block('udp'): UDP dropped, TCP still connects")
        a.unblock()
        a.block("tcp", [tport])
        ok(not probe_from_inside(a, "tcp", tport) and probe_from_inside(a, "udp", uport),
           "block('tcp', [port]): that TCP port refused, UDP flows")
        a.unblock()
        ok(probe_from_inside(a, "tcp", tport), "unblock: TCP connects again")
        u.close()
        srv.close()
        ok(not probe_from_inside(b, "udp", uport, a.host_ip) and not probe_from_inside(b, "tcp", tport, a.host_ip),
           "without a default route, lab B cannot reach lab A's address")

    # This run's own names, exactly: another checkout's suite may have a lab
    # called "selftest" open at the same moment.
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    links = [l.split()[0].split("@")[0] for l in subprocess.run(
        ["ip", "-br", "link"], capture_output=True, text=True).stdout.splitlines() if l.strip()]
    ok(a.ns not in left and b.ns not in left and a.host_if not in links and b.host_if not in links,
       "close() removes namespaces and veths")

    # A lab whose owner dies by SIGKILL (a process inside included) is gone
    # after the next gc (every new lab runs one).
    code = ("import sys,time; sys.path.insert(0, %r); import netlab\n"
            "l = netlab.Lab('killed'); l.popen(['sleep', '60']); print(l.ns, flush=True); time.sleep(60)" % HERE)
    victim = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, text=True)
    ns = victim.stdout.readline().strip()
    victim.send_signal(signal.SIGKILL)
    victim.wait(5)
    ok(ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout,
       "a SIGKILLed owner leaves its namespace behind (%s)" % ns)
    with netlab.Lab("after-crash"):
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        ok(ns not in left, "the next lab removes it first")
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
