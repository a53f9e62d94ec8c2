#!/usr/bin/env python3
"""Checks for libeventd's integration tests (used by test_client*.sh; not a test itself).

test_client_check.py URL RUN exact N   -- the events labelled run=RUN have data.seq 0..N-1,
                                         each exactly once, acknowledged in order
test_client_check.py URL RUN prefix M  -- they are exactly seq 0..K-1 for some K >= M (a
                                         contiguous prefix, nothing twice); prints K
test_client_check.py URL RUN suffix N  -- they are exactly seq N-K..N-1 for some K (the
                                         newest, contiguous, nothing twice); prints K
test_client_check.py URL RUN subset N  -- K events of seq 0..N-1, nothing twice, in order
                                         (gaps allowed: drops); prints K
"""
import json
import sys
import urllib.request


def fetch(url, run):
    events, cursor = [], None
    while True:
        q = f"{url}/v1/events?label=run:{run}&order=asc&limit=5000"
        if cursor:
            q += f"&cursor={cursor}"
        d = json.load(urllib.request.urlopen(q))
        events += d["events"]
        cursor = d.get("next")
        if not cursor:
            return events


def check_order(events):
    # one request = one observed_time; requests acknowledged later carry later seqs
    groups = {}
    for e in events:
        groups.setdefault(e["observed_time"], []).append(e["data"]["seq"])
    prev_max = -1
    for t in sorted(groups):
        g = groups[t]
        if min(g) <= prev_max:
            sys.exit(f"out of order: request acknowledged at {t} has seq {min(g)} <= {prev_max}")
        prev_max = max(g)
    return len(groups)


def main():
    url, run, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    events = fetch(url, run)
    seqs = [e["data"]["seq"] for e in events]
    ids = [e["id"] for e in events]
    if len(set(ids)) != len(ids):
        sys.exit("the same id stored twice")
    if len(set(seqs)) != len(seqs):
        sys.exit(f"{len(seqs) - len(set(seqs))} events stored twice (different ids)")
    k = len(seqs)
    if mode == "subset":
        if any(x < 0 or x >= n for x in seqs):
            sys.exit("a seq out of range")
        check_order(events)
        print(k)
        return
    if mode == "suffix":
        if sorted(seqs) != list(range(n - k, n)):
            sys.exit(f"not the newest {k} events of {n}: first {sorted(seqs)[:3]}")
        check_order(events)
        print(k)
        return
    if sorted(seqs) != list(range(k)):
        missing = sorted(set(range(max(seqs) + 1)) - set(seqs))[:10] if seqs else []
        sys.exit(f"not a contiguous run from seq 0: {k} events, missing e.g. {missing}")
    if mode == "exact" and k != n:
        sys.exit(f"expected {n} events, found {k}")
    if mode == "prefix" and k < n:
        sys.exit(f"expected at least {n} events (acknowledged or spooled before the kill), found {k}")
    reqs = check_order(events)
    for e in events:
        # over forward:// the resource arrives in data._record (eventd's forward mapping)
        r = e.get("resource") or e.get("data", {}).get("_record", {}).get("resource", {})
        if "host.name" not in r or "process.pid" not in r:
            sys.exit(f"automatic resource fields missing: {r}")
    print(k if mode == "prefix" else f"run {run}: {k} events, once each, {reqs} requests in order")


main()
