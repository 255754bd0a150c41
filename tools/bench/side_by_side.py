#!/usr/bin/python3
"""side_by_side.py CSV — the table at the end of `make bench`: for each
subscriber count of the live scenario, each server's forwarded packets per
second, the CPU of its whole process, microseconds of CPU per forwarded
packet, loss, and the ratio of forwarded packets per CPU-second against
irtcd's (irtcd's packets per CPU-second / the other's).  Rows come from
irtc-loadgen --csv (label, scenario, subs, fwd_pps, rcv_pps, worker%, user%,
sys%, us/pkt worker, proc%, us/pkt proc, loss%, dwell50, dwell99, short: the
subscribers that got under 90 % of what the best-served one got)."""

import csv
import sys


def main(path):
    rows = {}
    for r in csv.reader(open(path)):
        if len(r) < 14 or r[1] != "live":
            continue
        label, subs = r[0], int(r[2])
        if float(r[3]) < 100:  # the server had stopped forwarding (its transport failed): not a measurement
            continue
        rows.setdefault(label, {})[subs] = {
            "fwd": float(r[3]), "proc": float(r[9]), "us": float(r[10]), "us_worker": float(r[8]),
            "loss": float(r[11]), "d99": float(r[13]), "short": r[14] if len(r) > 14 else "-",
        }
    if not rows:
        print("(no live rows)")
        return
    base = "irtcd-ns" if "irtcd-ns" in rows else "irtcd"
    labels = [base] + [l for l in sorted(rows) if l != base]
    subs_all = sorted({s for l in labels for s in rows.get(l, {})})
    print("%-14s %6s %10s %7s %8s %8s %6s %7s %9s" % ("server", "subs", "fwd pkt/s", "CPU%", "us/pkt", "loss%",
                                                       "short", "dwell99", "vs " + base))
    for s in subs_all:
        for l in labels:
            x = rows.get(l, {}).get(s)
            if x is None:
                continue
            b = rows.get(base, {}).get(s)
            ratio = "%.2fx" % (x["us"] / b["us"]) if b and b["us"] > 0 and l != base else ""
            d99 = "%.0f" % x["d99"] if x["d99"] >= 0 else "-"
            print("%-14s %6d %10.0f %7.1f %8.2f %8.3f %6s %7s %9s" % (l, s, x["fwd"], x["proc"], x["us"], x["loss"],
                                                                      x["short"], d99, ratio))
    print("(ratio: the other server's CPU per forwarded packet / %s's, i.e. how many times more packets %s "
          "forwards per CPU-second)" % (base, base))


if __name__ == "__main__":
    main(sys.argv[1])
