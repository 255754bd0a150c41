#!/usr/bin/python3
"""per_worker.py -- each media worker's share of a live run (bench.sh's
live_spread scenario): every second, each irtc-media-* thread's CPU time
(/proc/PID/task) and each worker's sent datagrams (/metrics,
irtc_media_tx_packets_total{worker=...}), until STOP-FILE exists or
MAX-SECONDS pass; then the WINDOW seconds in which the workers together
forwarded the most (the steady state of the last step) are printed as one
line per worker: forwarded pkt/s and CPU %.

    per_worker.py PID METRICS-URL STOP-FILE [WINDOW] [MAX-SECONDS]
"""
import os
import re
import ssl
import sys
import time
import urllib.request


def thread_cpu(pid):
    """{thread name: CPU seconds} of the process's irtc-media-* threads."""
    out = {}
    hz = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        if name.startswith("irtc-media-"):
            fields = st[st.rindex(")") + 2:].split()
            out[name] = (int(fields[11]) + int(fields[12])) / hz  # utime, stime
    return out


def worker_tx(url, ctx):
    with urllib.request.urlopen(url, context=ctx, timeout=2) as r:
        text = r.read().decode()
    return {f"irtc-media-{m.group(1)}": int(float(m.group(2)))
            for m in re.finditer(r'^irtc_media_tx_packets_total\{worker="(\d+)"\} (\S+)', text, re.M)}


def main():
    pid, url, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    window = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    limit = float(sys.argv[5]) if len(sys.argv) > 5 else 900
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    samples = []
    t0 = time.monotonic()
    while not os.path.exists(stop) and time.monotonic() - t0 < limit:
        try:
            samples.append((time.monotonic(), thread_cpu(pid), worker_tx(url, ctx)))
        except (OSError, ValueError):
            pass
        time.sleep(1)
    best = None
    for i in range(len(samples)):
        j = next((k for k in range(i, len(samples)) if samples[k][0] - samples[i][0] >= window), None)
        if j is None:
            break
        a, b = samples[i], samples[j]
        total = sum(b[2].get(w, 0) - a[2].get(w, 0) for w in b[2]) / (b[0] - a[0])
        if best is None or total > best[0]:
            best = (total, a, b)
    if best is None:
        print("per-worker: no steady window")
        return
    _, a, b = best
    secs = b[0] - a[0]
    for w in sorted(b[2]):
        pps = (b[2][w] - a[2].get(w, 0)) / secs
        cpu = (b[1].get(w, 0) - a[1].get(w, 0)) / secs * 100
        print(f"per-worker {w}: {pps:.0f} forwarded pkt/s, CPU {cpu:.1f} %")


if __name__ == "__main__":
    main()
