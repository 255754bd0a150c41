#!/usr/bin/python3
"""check-layers.py: the dependency graph of src/ points down, without circles.

Reads every #include "..." of src/ and, when the objects are built, the
symbols each object defines and uses (nm), then checks:

  1. every folder of src/ has a place in LAYERS (a new folder must be placed);
  2. no include and no symbol reference points to a higher layer, nor crosses
     a seam listed in SEAMS;
  3. no circle between modules, neither in the include graph nor in the link
     graph (a module is a .c file and the .h of the same name: src/x/y.c and
     src/x/y.h are one node, with y_internal.h, y's private header).

The include graph shows what a file says it needs; the link graph shows what
it really calls, so a header that declares another file's functions cannot
hide a circle.  docs/ARCHITECTURE.md ("Layers") explains the order.

Usage: check-layers.py [--srcdir DIR] [--builddir DIR] [--tap] [--verbose]
Prints a table of includes by folder, then TAP lines with --tap (make check
runs it so); exits 1 when a check fails.  Python 3 standard library and nm.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

# Top to bottom.  A file may use its own folder and any folder below it.
# "main" is the files directly in src/ (daemon start-up, command line).
LAYERS = [
    "main",      # main.c, daemon.c, cli*.c, tlscert.c: start-up, shutdown, command line
    "cluster",   # cluster mode: Redis heartbeat, placements, node-to-node calls, the shared tables' log
    "signal",    # WebSocket signaling protocol
    "record",    # capture glue (rooms, rules → recordings) and the recorder core
    "callback",  # recording callbacks: bodies, signature, outbox, sender thread
    "http",      # h2o server, REST API, /healthz, /metrics
    "apps",      # tenant apps: credentials, join tokens
    "room",      # room registry
    "sfu",       # control-thread seam to the media plane
    "jni",       # the Android SDK's native engine and JNI layer, over the client core
    "client",    # the C client core (libirtcclient.a): sdp, media packet modules and core only
    "sdp",       # SDP parse / negotiate / write (control thread)
    "media",     # media workers, packet modules, codecs/
    "store",     # SQLite
    "core",      # errors, log, buffers, JSON, crypto, config, clocks, metrics, ring, hash
]

# Downward edges that are still forbidden: the layer in between is the seam.
SEAMS = {
    ("room", "media"): "the room registry reaches the media plane only through sfu",
}

# Circles that are known and owned by an open issue.  Each must match exactly:
# a new member, or a new circle, still fails.
KNOWN_CIRCLES = {}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(rel):
    """src-relative path → its layer folder ("main" for files in src/)."""
    parts = rel.split("/")
    return parts[0] if len(parts) > 1 else "main"


def module_of(rel):
    """The graph's node: a .c and the .h of the same name are one module, and
    so is a module's private header, x_internal.h (shared by x's own files)."""
    stem = os.path.splitext(rel)[0]
    if rel.endswith("_internal.h"):
        stem = stem[: -len("_internal")]
    return stem


def strip_comments(text):
    """Removes /* */ and // comments, keeping line breaks (so line numbers hold)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def source_files(src):
    files = []
    for root, _dirs, names in os.walk(src):
        for name in names:
            if name.endswith((".c", ".h")):
                files.append(os.path.relpath(os.path.join(root, name), src))
    return sorted(files)


def include_edges(src, files):
    """[(from_rel, to_rel, line)] for includes that resolve inside src/."""
    known = set(files)
    edges = []
    for rel in files:
        with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
            text = strip_comments(f.read())
        for lineno, line in enumerate(text.splitlines(), 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            target = m.group(1)
            here = os.path.normpath(os.path.join(os.path.dirname(rel), target))
            if target in known:  # -I src
                edges.append((rel, target, lineno))
            elif here in known:
                edges.append((rel, here, lineno))
            # else: generated (config.h) or outside src/ (tests): not ours to order
    return edges


def link_edges(src, builddir, files):
    """[(from_rel, to_rel, symbol)] from nm of the built objects, or None."""
    objs = {}
    for rel in files:
        if rel.endswith(".c"):
            o = os.path.join(builddir, "src", os.path.splitext(rel)[0] + ".o")
            if os.path.exists(o):
                objs[rel] = o
    if not objs or len(objs) < sum(1 for r in files if r.endswith(".c")):
        return None
    defined, used = {}, {}
    for rel, o in objs.items():
        try:
            out = subprocess.run(["nm", "-P", o], check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        for line in out.splitlines():
            parts = line.split()
            if len(parts) < 2:
                continue
            sym, kind = parts[0], parts[1]
            if kind == "U":
                used.setdefault(rel, set()).add(sym)
            elif kind in "TDBRCVW" and kind.isupper():
                defined.setdefault(sym, rel)
    edges = []
    for rel, syms in used.items():
        for sym in sorted(syms):
            owner = defined.get(sym)
            if owner is not None and owner != rel:
                edges.append((rel, owner, sym))
    return edges


def cycles(nodes, adj):
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(adj.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(adj.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def one_circle(comp, adj):
    """A concrete path a → … → a inside a component, for the message."""
    members = set(comp)
    start = comp[0]
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(adj.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def check_graph(name, edges, what, known):
    """Layer and circle findings for one graph: (upward, circles) message
    lists; circles listed in KNOWN_CIRCLES go to known instead."""
    rank = {f: i for i, f in enumerate(LAYERS)}
    upward, adj, nodes = [], {}, set()
    for a, b, detail in edges:
        fa, fb = folder_of(a), folder_of(b)
        if fa != fb and fa in rank and fb in rank:
            if rank[fb] < rank[fa]:
                upward.append(f"{a} {what} {b} ({detail}): {fa} is below {fb}")
            elif (fa, fb) in SEAMS:
                upward.append(f"{a} {what} {b} ({detail}): {SEAMS[(fa, fb)]}")
        ma, mb = module_of(a), module_of(b)
        nodes.update((ma, mb))
        if ma != mb:
            adj.setdefault(ma, set()).add(mb)
    circles = []
    for c in cycles(nodes, adj):
        text = " → ".join(one_circle(c, adj)) + f"  ({name} graph: {', '.join(c)})"
        if frozenset(c) in KNOWN_CIRCLES:
            known.append(f"{text}: known, {KNOWN_CIRCLES[frozenset(c)]}")
        else:
            circles.append(text)
    return upward, circles


def run_checks(srcdir, builddir):
    """(table lines, known-circle notes, [(ok or None, name, messages)]) for a tree."""
    src = os.path.join(srcdir, "src")
    files = source_files(src)
    inc = include_edges(src, files)
    links = link_edges(src, builddir or srcdir, files)

    # The table: includes by folder (what a reader wants to see at a glance).
    table = {}
    for a, b, _ in inc:
        key = (folder_of(a), folder_of(b))
        table[key] = table.get(key, 0) + 1
    lines = ["includes by folder (from → to: count):"]
    for fa in LAYERS:
        row = [f"{fb} {table[(fa, fb)]}" for fb in LAYERS if (fa, fb) in table and fb != fa]
        if row or (fa, fa) in table:
            lines.append(f"  {fa:9} → " + (", ".join(row) if row else "(own folder only)"))

    results = []
    unplaced = sorted({folder_of(f) for f in files} - set(LAYERS))
    results.append((not unplaced, "every folder of src/ has a layer",
                    [f"src/{u}/ is in no layer: add it to LAYERS in tools/check-layers.py and "
                     "docs/ARCHITECTURE.md" for u in unplaced]))
    known = []
    up, circ = check_graph("include", [(a, b, f"line {l}") for a, b, l in inc], "includes", known)
    results.append((not up, "no include points up or across a seam", up))
    results.append((not circ, "no circle between modules' includes", circ))
    if links is None:
        results.append((None, "link graph (objects not built)", []))
    else:
        up, circ = check_graph("link", links, "uses", known)
        results.append((not up, "no symbol reference points up or across a seam", up))
        results.append((not circ, "no circle between modules' symbols", circ))
    return lines, known, results, inc


def self_test():
    """The checks must be able to fail: on a small tree with one of each
    defect, every include check fails and names the defect."""
    tree = {
        "src/core/low.h": '#include "http/high.h"\n',          # upward
        "src/http/high.h": "",
        "src/http/high.c": '#include "http/high.h"\n',
        "src/room/r.c": '#include "media/m.h"\n',             # across the sfu seam
        "src/media/m.h": "",
        "src/core/x.h": "", "src/core/x.c": '#include "core/y.h"\n',
        "src/core/y.h": "", "src/core/y.c": '/* #include "core/q.h" */\n#include "core/x.h"\n',  # circle
        "src/zzz/z.h": "",                                     # no layer
    }
    with tempfile.TemporaryDirectory() as d:
        for rel, text in tree.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        _, _, results, inc = run_checks(d, d)
    got = {name: (ok, " ".join(msgs)) for ok, name, msgs in results}
    want = {
        "every folder of src/ has a layer": "src/zzz/",
        "no include points up or across a seam": "core/low.h includes http/high.h",
        "no circle between modules' includes": "core/x → core/y → core/x",
    }
    bad = [f"{name}: did not fail naming {text!r}" for name, text in want.items()
           if got.get(name, (True, ""))[0] is not False or text not in got[name][1]]
    if "only through sfu" not in got["no include points up or across a seam"][1]:
        bad.append("the room → media seam was not reported")
    if any(b == "src/core/q.h" or b == "core/q.h" for _, b, _ in inc):
        bad.append("an include inside a comment was counted")
    return bad


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srcdir", default=os.environ.get("top_srcdir", os.path.dirname(here)))
    ap.add_argument("--builddir", default=os.environ.get("top_builddir"))
    ap.add_argument("--tap", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    lines, known, results, inc = run_checks(args.srcdir, args.builddir)
    if args.verbose:
        for a, b, line in inc:
            lines.append(f"    {a}:{line} → {b}")
    bad = self_test()
    results.insert(0, (not bad, "the checks fail on a tree with an upward include, a seam crossing, a circle and "
                       "an unplaced folder", bad))

    out = sys.stdout
    lines += [f"TODO {k}" for k in known]
    if args.tap:
        out.write(f"1..{len(results)}\n")
        for line in lines:
            out.write(f"# {line}\n")
    else:
        out.write("\n".join(lines) + "\n")
    failed = False
    for n, (ok, name, msgs) in enumerate(results, 1):
        if ok is None:
            out.write(f"ok {n} - {name} # SKIP\n" if args.tap else f"SKIP {name}\n")
            continue
        failed |= not ok
        if args.tap:
            out.write(f"{'ok' if ok else 'not ok'} {n} - {name}\n")
            for m in msgs:
                out.write(f"#   {m}\n")
        else:
            out.write(f"{'PASS' if ok else 'FAIL'} {name}\n")
            for m in msgs:
                out.write(f"  {m}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
