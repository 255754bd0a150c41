#!/usr/bin/python3
"""netlab — impaired networks for tests: a client behind a link the test
shapes, drops packets on or blocks, the way ../shared/docs/TESTING.md
describes it, with nothing left behind.

A Lab is one network namespace joined to the host by a veth pair, on a
private /24 of its own: 10.211.N.1 on the host side (where irtcd listens,
HTTPS and media.ips), 10.211.N.2 inside.  N is a slot 1..200 held with an
flock on /tmp/irtc-netlab/slot-N for the lab's lifetime, so two tests (or two
engineers' runs of one test) never share names or addresses; the kernel
drops the flock when its holder dies, however it dies, and the next holder of
the slot first removes whatever a crashed run left (namespace irtc-nlN-*,
link irnlNh).  Slot 0 is never used (the TESTING.md recipe's 10.211.0.0/24).

  down = host -> namespace (the client's downlink): tc on the host-side veth,
         random loss by nftables on input inside the namespace;
  up   = namespace -> host (its uplink): tc on the inner veth, loss on output.
Rates and queueing use tc tbf; delay and loss use netem where the kernel has
sch_netem, else loss uses nftables "numgen random" and delay is refused.
By default the namespace has no default route: it reaches its own /24 only,
so a server address announced for another lab is unreachable from it (irtcd
answers from the address the kernel's routing picks, not the one a check was
sent to: see route=True).

Three ways in:
  from Python:   with netlab.Lab("sub-a") as lab: lab.shape("down", rate_kbit=500,
                 loss_pct=3); lab.popen([...])            (removed at exit too)
  from node:     tests/e2e/netlab.js runs `netlab.py serve`: JSON lines on
                 stdin/stdout; stdin closing (the test died) removes the labs
  from a shell:  netlab.py run --label x --down 500 --loss 3 -- CMD ARGS
                 (CMD runs inside with NETLAB_HOST_IP / NETLAB_NS_IP / NETLAB_NS)
                 netlab.py gc  removes what crashed runs left in free slots
Needs root, iproute2 and nftables.  Traffic stays on the veth pairs."""

import atexit
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

LOCK_DIR = os.environ.get("NETLAB_LOCK_DIR", "/tmp/irtc-netlab")
SLOTS = range(1, 201)
PREFIX = "10.211"
_labs = []


def available():
    """None when labs can be made here, else why not (for a SKIP line)."""
    if os.geteuid() != 0:
        return "netlab needs root (network namespaces, tc, nftables)"
    for tool in ("ip", "tc", "nft"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
            return "netlab needs %s (apt-get install %s)" % (tool, "nftables" if tool == "nft" else "iproute2")
    return None


def _sh(argv, check=True, input=None):
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    p = subprocess.run(argv, capture_output=True, text=True, timeout=20, input=input, env=env)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), (p.stderr or p.stdout).strip()))
    return p


def _netns_list():
    out = _sh(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _kill_netns_pids(ns):
    """Ends every process still inside ns (SIGTERM, then SIGKILL after 2 s)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in _sh(["ip", "netns", "pids", ns], check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        for _ in range(20):
            if not _sh(["ip", "netns", "pids", ns], check=False).stdout.split():
                return
            time.sleep(0.1)


def _reap_slot(n):
    """Removes what a run that held slot n left behind (we hold its lock)."""
    # The veth first: deleting one end removes both at once, whereas a
    # namespace's devices go when the kernel's cleanup worker gets to them,
    # after `ip netns del` has returned.
    _sh(["ip", "link", "del", "irnl%dh" % n], check=False)
    for ns in _netns_list():
        if ns.startswith("irtc-nl%d-" % n):
            _kill_netns_pids(ns)
            _sh(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(os.path.join(LOCK_DIR, "slot-%d.wrap" % n), ignore_errors=True)


def _foreign_subnet(n):
    """True when some interface not of ours already has 10.211.n.x."""
    for link in json.loads(_sh(["ip", "-j", "-4", "addr", "show"]).stdout or "[]"):
        for a in link.get("addr_info", []):
            if a.get("local", "").startswith("%s.%d." % (PREFIX, n)) and link.get("ifname") != "irnl%dh" % n:
                return True
    return False


def _lock_slot(n):
    """An fd holding slot n's flock, or None when a live process holds it."""
    fd = os.open(os.path.join(LOCK_DIR, "slot-%d" % n), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def gc():
    """Removes the namespaces and links of every slot nobody holds (crashed
    runs); returns the slots cleaned."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    seen = {int(m.group(1)) for ns in _netns_list() for m in [re.match(r"irtc-nl(\d+)-", ns)] if m}
    links = _sh(["ip", "-br", "link"], check=False).stdout
    seen |= {int(n) for n in re.findall(r"^irnl(\d+)h", links, re.M)}
    cleaned = []
    for n in sorted(seen):
        fd = _lock_slot(n)
        if fd is not None:
            _reap_slot(n)
            os.close(fd)
            cleaned.append(n)
    return cleaned


def _take_slot():
    gc()
    start = os.getpid() % len(SLOTS)
    for i in range(len(SLOTS)):
        n = SLOTS[(start + i) % len(SLOTS)]
        fd = _lock_slot(n)
        if fd is None:
            continue
        _reap_slot(n)
        if _foreign_subnet(n):
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, ("%d\n" % os.getpid()).encode())
        return n, fd
    raise RuntimeError("netlab: all %d slots are in use" % len(SLOTS))


_netem = None


def netem_available(lab=None):
    """Whether the kernel has sch_netem (tried once, on a lab's inner veth)."""
    global _netem
    if _netem is None and lab is not None:
        tc = ["tc", "-n", lab.ns, "qdisc"]
        _netem = _sh(tc + ["add", "dev", lab.ns_if, "root", "netem", "delay", "1ms"], check=False).returncode == 0
        if _netem:
            _sh(tc + ["del", "dev", lab.ns_if, "root"], check=False)
    return bool(_netem)


class Lab:
    """One namespace + veth pair on slot n's /24 (see the module comment)."""

    def __init__(self, label="lab", route=False):
        label = re.sub(r"[^a-z0-9-]", "-", label.lower())[:20] or "lab"
        why = available()
        if why:
            raise RuntimeError(why)
        self.slot, self._lock = _take_slot()
        n = self.slot
        self.label = label
        self.ns = "irtc-nl%d-%s" % (n, label)
        self.host_if, self.ns_if = "irnl%dh" % n, "irnl%dn" % n
        self.host_ip, self.ns_ip = "%s.%d.1" % (PREFIX, n), "%s.%d.2" % (PREFIX, n)
        self.shaping = {"down": {}, "up": {}}
        self.blocks = []
        self._procs = []
        self._wrappers = []
        _labs.append(self)
        try:
            self._create(route)
        except Exception:
            self.close()
            raise

    def _create(self, route):
        ns = ["ip", "-n", self.ns]
        _sh(["ip", "netns", "add", self.ns])
        _sh(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if, "netns", self.ns])
        _sh(["ip", "addr", "add", self.host_ip + "/24", "dev", self.host_if])
        _sh(["ip", "link", "set", self.host_if, "up"])
        _sh(ns + ["addr", "add", self.ns_ip + "/24", "dev", self.ns_if])
        _sh(ns + ["link", "set", self.ns_if, "up"])
        _sh(ns + ["link", "set", "lo", "up"])
        if route:
            _sh(ns + ["route", "add", "default", "via", self.host_ip])
        # One nftables table inside the namespace: loss on input (down) and
        # output (up), blocks on output.  Flushed and refilled as the test asks.
        _sh(["ip", "netns", "exec", self.ns, "nft", "-f", "-"], input=(
            "table inet netlab {\n"
            "  chain loss_down { type filter hook input priority -10; }\n"
            "  chain loss_up { type filter hook output priority -10; }\n"
            "  chain block_out { type filter hook output priority 0; }\n"
            "}\n"))
        netem_available(self)

    def info(self):
        return {"slot": self.slot, "ns": self.ns, "hostIf": self.host_if, "nsIf": self.ns_if,
                "hostIp": self.host_ip, "nsIp": self.ns_ip, "netem": netem_available()}

    def _tc(self, direction):
        if direction == "down":
            return ["tc"], self.host_if
        if direction == "up":
            return ["tc", "-n", self.ns], self.ns_if
        raise ValueError("direction must be 'down' or 'up'")

    def shape(self, direction="down", rate_kbit=None, burst_kb=None, latency_ms=None, loss_pct=0.0, delay_ms=0):
        """Sets (replaces) the impairment of one direction: a tbf of rate_kbit
        (burst_kb, queue of latency_ms), random loss of loss_pct %, one-way
        delay_ms (netem only).  Returns what is in force."""
        tc, dev = self._tc(direction)
        loss_pct, delay_ms = float(loss_pct or 0), int(delay_ms or 0)
        if not 0 <= loss_pct <= 100:
            raise ValueError("loss_pct must be 0..100")
        netem = netem_available()
        if delay_ms and not netem:
            raise RuntimeError("netlab: delay needs sch_netem, which this kernel lacks")
        _sh(tc + ["qdisc", "del", "dev", dev, "root"], check=False)
        parent = ["root"]
        if netem and (delay_ms or loss_pct):
            args = ["delay", "%dms" % delay_ms] + (["loss", "%g%%" % loss_pct] if loss_pct else [])
            _sh(tc + ["qdisc", "add", "dev", dev, "root", "handle", "1:", "netem"] + args)
            parent = ["parent", "1:1"]
        if rate_kbit:
            burst_kb = burst_kb or max(16, int(rate_kbit) // 64)
            latency_ms = latency_ms or 150
            _sh(tc + ["qdisc", "add", "dev", dev] + parent + ["handle", "2:", "tbf", "rate", "%dkbit" % int(rate_kbit),
                                                             "burst", "%dkb" % int(burst_kb), "latency",
                                                             "%dms" % int(latency_ms)])
        self._nft_loss(direction, 0 if netem else loss_pct)
        self.shaping[direction] = {k: v for k, v in (("rate_kbit", rate_kbit), ("burst_kb", burst_kb),
                                                     ("latency_ms", latency_ms), ("loss_pct", loss_pct),
                                                     ("delay_ms", delay_ms)) if v}
        self.shaping[direction]["loss_by"] = ("netem" if netem else "nftables") if loss_pct else None
        return self.shaping[direction]

    def unshape(self, direction="down"):
        tc, dev = self._tc(direction)
        _sh(tc + ["qdisc", "del", "dev", dev, "root"], check=False)
        self._nft_loss(direction, 0)
        self.shaping[direction] = {}

    def _nft(self, script):
        _sh(["ip", "netns", "exec", self.ns, "nft", "-f", "-"], input=script)

    def _nft_loss(self, direction, loss_pct):
        chain = "loss_" + direction
        rule = ""
        if loss_pct:
            match = ("iifname %s" if direction == "down" else "oifname %s") % self.ns_if
            rule = "add rule inet netlab %s %s numgen random mod 10000 < %d counter drop\n" % (
                chain, match, round(loss_pct * 100))
        self._nft("flush chain inet netlab %s\n%s" % (chain, rule))

    def block(self, proto="udp", dports=None):
        """Drops proto ('udp', 'tcp' or 'all') sent from inside the namespace
        (to dports only, when given): a firewall in front of the client."""
        if proto not in ("udp", "tcp", "all"):
            raise ValueError("proto must be udp, tcp or all")
        match = "oifname %s" % self.ns_if
        if proto != "all":
            match += " meta l4proto %s" % proto
            if dports:
                match += " %s dport { %s }" % (proto, ", ".join(str(int(p)) for p in dports))
        self._nft("add rule inet netlab block_out %s counter drop\n" % match)
        self.blocks.append({"proto": proto, "dports": list(dports or [])})

    def unblock(self):
        self._nft("flush chain inet netlab block_out\n")
        self.blocks = []

    def stats(self):
        """What the link did: per direction the qdiscs' sent/dropped packets,
        and the packets nftables dropped at random or by a block."""
        out = {}
        for d in ("down", "up"):
            tc, dev = self._tc(d)
            qd = json.loads(_sh(tc + ["-s", "-j", "qdisc", "show", "dev", dev]).stdout or "[]")
            out[d] = {"qdiscs": [{k: q.get(k) for k in ("kind", "packets", "bytes", "drops", "overlimits")}
                                 for q in qd if q.get("kind") not in ("noqueue",)]}
        rules = json.loads(_sh(["ip", "netns", "exec", self.ns, "nft", "-j", "list", "table", "inet", "netlab"])
                           .stdout)
        for item in rules.get("nftables", []):
            r = item.get("rule")
            if not r:
                continue
            pk = sum(e["counter"]["packets"] for e in r.get("expr", []) if "counter" in e)
            key = {"loss_down": ("down", "random_drops"), "loss_up": ("up", "random_drops"),
                   "block_out": ("up", "blocked")}[r["chain"]]
            out[key[0]][key[1]] = out[key[0]].get(key[1], 0) + pk
        return out

    def argv(self, argv):
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.ns] + list(argv)

    def popen(self, argv, **kw):
        """A process inside the namespace; ended by close() if still running."""
        p = subprocess.Popen(self.argv(argv), **kw)
        self._procs.append(p)
        return p

    def run(self, argv, timeout=60, **kw):
        return subprocess.run(self.argv(argv), timeout=timeout, **kw)

    def wrapper(self, executable):
        """The path of a script that runs executable inside the namespace with
        the arguments it gets: for launchers that want one executable path
        (Playwright's executablePath; the pipes it talks over are kept)."""
        d = os.path.join(LOCK_DIR, "slot-%d.wrap" % self.slot)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(executable)))
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (self.ns, executable))
        os.chmod(path, 0o755)
        self._wrappers.append(d)
        return path

    def close(self):
        """Removes the lab (processes inside, namespace, veth, wrappers); idempotent."""
        if self._lock is None:
            return
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(3)
        _reap_slot(self.slot)
        os.close(self._lock)
        self._lock = None
        if self in _labs:
            _labs.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def close_all():
    for lab in list(_labs):
        try:
            lab.close()
        except Exception as e:  # keep cleaning the others
            print("netlab: cleanup of %s: %s" % (lab.ns, e), file=sys.stderr)


def _on_signal(signum, _frame):
    close_all()
    sys.exit(128 + signum)


atexit.register(close_all)


def install_signal_handlers():
    """SIGTERM/SIGINT/SIGHUP remove the labs before exiting (atexit alone
    does not run on a signal)."""
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)


# ---- node's way in: JSON lines on stdin, answers on stdout -------------------
def serve():
    """One request per line {"id", "op", "lab"?, ...}; one answer per line
    {"id", "ok", "data"|"error"}.  End of stdin removes every lab and exits."""
    install_signal_handlers()
    labs = {}
    ops = {
        "create": lambda a: _created(labs, Lab(a.get("label", "lab"), bool(a.get("route")))),
        "shape": lambda a: labs[a["lab"]].shape(a.get("direction", "down"), a.get("rateKbit"), a.get("burstKb"),
                                                a.get("latencyMs"), a.get("lossPct", 0), a.get("delayMs", 0)),
        "unshape": lambda a: labs[a["lab"]].unshape(a.get("direction", "down")),
        "block": lambda a: labs[a["lab"]].block(a.get("proto", "udp"), a.get("dports")),
        "unblock": lambda a: labs[a["lab"]].unblock(),
        "stats": lambda a: labs[a["lab"]].stats(),
        "wrapper": lambda a: labs[a["lab"]].wrapper(a["executable"]),
        "destroy": lambda a: labs.pop(a["lab"]).close(),
    }
    print(json.dumps({"id": 0, "ok": True, "data": {"ready": True}}), flush=True)
    for line in sys.stdin:
        req = {}
        try:
            req = json.loads(line)
            ans = {"id": req.get("id"), "ok": True, "data": ops[req["op"]](req)}
        except Exception as e:
            ans = {"id": req.get("id") if isinstance(req, dict) else None, "ok": False,
                   "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(ans), flush=True)
    close_all()


def _created(labs, lab):
    labs[lab.slot] = lab
    return lab.info()


# ---- a shell's way in ---------------------------------------------------------
def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="netlab.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve", help="JSON lines on stdin (tests/e2e/netlab.js)")
    sub.add_parser("gc", help="remove what crashed runs left in free slots")
    r = sub.add_parser("run", help="run a command inside a new lab, then remove it")
    r.add_argument("--label", default="run")
    r.add_argument("--route", action="store_true", help="default route via the host side")
    for d in ("down", "up"):
        r.add_argument("--" + d, type=int, metavar="KBIT", help="tbf rate of the %slink" % d)
        r.add_argument("--%s-loss" % d, type=float, default=0, metavar="PCT")
    r.add_argument("--block", choices=("udp", "tcp", "all"), action="append", default=[])
    r.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    why = available()
    if why:
        print(why, file=sys.stderr)
        return 77
    if a.cmd == "serve":
        serve()
        return 0
    if a.cmd == "gc":
        print("netlab: cleaned slots %s" % (gc() or "none"))
        return 0
    install_signal_handlers()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("run needs a command after --")
    with Lab(a.label, a.route) as lab:
        for d in ("down", "up"):
            rate, loss = getattr(a, d), getattr(a, d + "_loss")
            if rate or loss:
                lab.shape(d, rate_kbit=rate, loss_pct=loss)
        for proto in a.block:
            lab.block(proto)
        env = dict(os.environ, NETLAB_NS=lab.ns, NETLAB_HOST_IP=lab.host_ip, NETLAB_NS_IP=lab.ns_ip)
        return lab.popen(cmd, env=env).wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
