#!/usr/bin/env python3
"""Write one scenario's results as OUT.json and OUT.md (called by bench/run.sh).

usage: report.py SCENARIO RUNS.jsonl MACHINE.json EXTRA_JSON OUT_PREFIX

RUNS.jsonl holds one JSON object per run (loadgen/querybench output plus what run.sh
measured on the daemon); the report lists every run and the median, and compares the
medians with the targets of issue 2."""
import json
import statistics
import sys
import time

TARGET_INGEST_EPS = 300000
TARGET_QUERY_P50_MS = 50.0
TARGET_IDLE_RSS_MIB = 20.0
QUIET_PRESSURE_PCT = 20.0


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def mib(kib):
    return None if kib is None else kib / 1024.0


def fmt(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}" if nd else f"{v:,.0f}"
    return f"{v:,}"


def header(scen, machine, extra):
    lines = [f"# eventd benchmark: {scen}", ""]
    lines.append(f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}")
    lines.append(f"- commit: {machine['commit']} at report time (build {machine['build_type']}, "
                 f"{machine['build_dir']}, eventd built {machine.get('eventd_built', '?')})")
    lines.append(f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['mem_mib']} MiB RAM, "
                 f"kernel {machine['kernel']}, disk free {machine['disk_free_gib']} GiB of "
                 f"{machine['disk_total_gib']} GiB, load average at the end {' '.join(machine['loadavg'])}")
    for k, v in extra.items():
        if k in ("dataset",):
            continue
        lines.append(f"- {k}: {v if not isinstance(v, (dict, list)) else json.dumps(v)}")
    lines.append("")
    return lines


def ingest(runs, extra):
    rows = []
    for r in runs:
        el = r.get("elapsed_s", 0) or 0
        dur = extra.get("duration_s", el) or el
        rows.append({
            "run": r["run"],
            "events_per_s": r["events_per_s"],
            "mib_per_s": r["mib_per_s"],
            "requests_per_s": r["requests_per_s"],
            "p50_ms": r["latency_ms"]["p50"],
            "p90_ms": r["latency_ms"]["p90"],
            "p99_ms": r["latency_ms"]["p99"],
            "max_ms": r["latency_ms"]["max"],
            "retries_503": r["retries_503"],
            "errors": r["errors"]["total"],
            "daemon_cpu_pct": 100.0 * r["daemon_cpu_s"] / dur if dur else None,
            "client_cpu_pct": r["client_cpu_pct"],
            "busiest_thread_cpu_pct": (100.0 * r["daemon_threads_cpu_s"][0] / dur
                                       if r.get("daemon_threads_cpu_s") and dur else None),
            "rss_start_mib": mib(r["daemon_rss_start_kib"]),
            "rss_max_mib": mib(r["daemon_rss_max_kib"]),
            "rss_anon_max_mib": mib(r.get("daemon_rss_anon_max_kib")),
            "hwm_mib": mib(r["daemon_hwm_kib"]),
            "cpu_pressure_pct": r.get("cpu_pressure_pct"),
            "disk_bytes_per_event": r["disk_bytes"] / r["events"] if r["events"] else None,
        })
    keys = [k for k in rows[0] if k != "run"] if rows else []
    median = {k: med([row[k] for row in rows]) for k in keys}
    cols = [("run", "run", 0), ("events/s", "events_per_s", 0), ("MiB/s", "mib_per_s", 1),
            ("req/s", "requests_per_s", 0), ("p50 ms", "p50_ms", 2), ("p90 ms", "p90_ms", 2),
            ("p99 ms", "p99_ms", 2), ("max ms", "max_ms", 2), ("503s", "retries_503", 0),
            ("errors", "errors", 0), ("eventd CPU %", "daemon_cpu_pct", 0),
            ("busiest eventd thread CPU %", "busiest_thread_cpu_pct", 0),
            ("loadgen CPU %", "client_cpu_pct", 0), ("RSS start MiB", "rss_start_mib", 1),
            ("RSS max MiB", "rss_max_mib", 1), ("anon RSS max MiB", "rss_anon_max_mib", 1), ("VmHWM MiB", "hwm_mib", 1),
            ("disk B/event", "disk_bytes_per_event", 0),
            ("CPU pressure %", "cpu_pressure_pct", 0)]
    md = ["| " + " | ".join(c[0] for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in rows + [dict(median, run="**median**")]:
        cells = []
        for _, key, nd in cols:
            v = row.get(key)
            cells.append(v if isinstance(v, str) else fmt(v, nd))
        md.append("| " + " | ".join(cells) + " |")
    md.append("")
    quiet = [row for row in rows
             if row.get("cpu_pressure_pct") is not None and row["cpu_pressure_pct"] < QUIET_PRESSURE_PCT]
    median["quiet_runs"] = len(quiet)
    median["quiet_events_per_s"] = med([row["events_per_s"] for row in quiet])
    if quiet and len(quiet) < len(rows):
        md.append(f"Median of the {len(quiet)} quiet runs (CPU pressure < {QUIET_PRESSURE_PCT:.0f} %): "
                  f"{median['quiet_events_per_s']:,.0f} events/s.")
        md.append("")
    eps = median.get("events_per_s")
    if extra.get("sync") == "batch" and extra.get("batch") == 1000 and eps is not None:
        ok = eps >= TARGET_INGEST_EPS
        md.append(f"Target (sync batch, batch 1000): >= {TARGET_INGEST_EPS:,} events/s — median "
                  f"{eps:,.0f} events/s: **{'met' if ok else 'MISSED'}**.")
        md.append("")
    md.append("eventd CPU % is of one core (the machine has two); CPU pressure % is the share of "
              "the run during which some task on the machine waited for a CPU "
              "(/proc/pressure/cpu): high values mean other work competed with the benchmark.")
    md.append("")
    errs = sum(row["errors"] for row in rows)
    if errs:
        md.append(f"**{errs} errors** across the runs (see the JSON file for the kinds; "
                  f"last error of a run is in its `last_error`).")
        md.append("")
    return rows, median, md


def idle_rss(runs, extra):
    md = ["| phase | events stored | VmRSS MiB | of it anon MiB | VmHWM MiB |", "|---|---|---|---|---|"]
    for r in runs:
        md.append(f"| {r['phase']} | {r['events_stored']:,} | {mib(r['rss_kib']):.1f} | "
                  f"{fmt(mib(r.get('anon_kib')))} | {mib(r['hwm_kib']):.1f} |")
    md.append("")
    fresh = mib(runs[0]["rss_kib"])
    ok = fresh < TARGET_IDLE_RSS_MIB
    md.append(f"Target: idle RSS < {TARGET_IDLE_RSS_MIB:.0f} MiB — fresh idle {fresh:.1f} MiB: "
              f"**{'met' if ok else 'MISSED'}**.")
    loads = [mib(r.get("anon_kib") or r["rss_kib"]) for r in runs if r["phase"].startswith("load phase")]
    if len(loads) >= 2:
        growth = loads[-1] - loads[0]
        md.append(f"Anonymous RSS under load, phase 1 -> phase {len(loads)} (input x{len(loads)}): "
                  f"{loads[0]:.1f} -> {loads[-1]:.1f} MiB ({growth:+.1f} MiB): "
                  f"{'bounded (no growth with input)' if growth < 0.1 * loads[0] + 2 else 'GROWS with input'}.")
    for r in runs:
        if "startup_ms" in r:
            md.append(f"Restart on {r['events_stored']:,} stored events took {r['startup_ms']} ms to listen.")
    md.append("")
    median = {"fresh_idle_rss_mib": fresh, "load_rss_mib": loads}
    return runs, median, md


def query(runs, extra):
    names = list(runs[0]["scenarios"].keys()) if runs else []
    md = []
    median = {}
    for n in names:
        md.append(f"### {n}")
        md.append("")
        md.append("| run | requests | p50 ms | p90 ms | p99 ms | max ms | mean ms | avg results | zero results | avg body bytes | errors |")
        md.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in runs:
            s = r["scenarios"][n]
            md.append(f"| {r['run']} | {s['requests']} | {s['p50_ms']:.2f} | {s['p90_ms']:.2f} | "
                      f"{s['p99_ms']:.2f} | {s['max_ms']:.2f} | {s['mean_ms']:.2f} | "
                      f"{s['avg_results']:.1f} | {s['zero_results']} | {s['avg_body_bytes']:,} | "
                      f"{s['errors']} |")
        m = {k: med([r["scenarios"][n][k] for r in runs])
             for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "avg_results")}
        median[n] = m
        md.append(f"| **median** | | {m['p50_ms']:.2f} | {m['p90_ms']:.2f} | {m['p99_ms']:.2f} | "
                  f"{m['max_ms']:.2f} | | {m['avg_results']:.1f} | | | |")
        md.append("")
        errs = [r["scenarios"][n]["first_error"] for r in runs if r["scenarios"][n]["errors"]]
        if errs:
            md.append(f"**errors**: {errs[0]}")
            md.append("")
    md.append("| query | target | median p50 | verdict |")
    md.append("|---|---|---|---|")
    for n in ("page", "tag", "count"):
        if n in median:
            p = median[n]["p50_ms"]
            md.append(f"| {n} | p50 < {TARGET_QUERY_P50_MS:.0f} ms | {p:.2f} ms | "
                      f"**{'met' if p < TARGET_QUERY_P50_MS else 'MISSED'}** |")
    md.append("")
    ds = extra.get("dataset")
    if ds:
        md.append(f"Dataset: {ds['events']:,} events, {ds['types']} types, {ds['tags']:,} tags, "
                  f"times spread over 24 h; {extra.get('disk_bytes', 0) / 2**30:.2f} GiB on disk.")
        if ds.get("load"):
            ld = ds["load"]
            md.append(f"Loading it ran at {ld['events_per_s']:,.0f} events/s ({ld['elapsed_s']:.0f} s, "
                      f"{ld['errors']['total']} errors).")
        md.append(f"eventd started on it in {extra.get('startup_ms')} ms; RSS after open "
                  f"{mib(extra.get('rss_after_open_kib', 0)):.1f} MiB, max during queries "
                  f"{mib(extra.get('rss_max_kib', 0)):.1f} MiB (anonymous "
                  f"{mib(extra.get('rss_anon_max_kib', 0)):.1f} MiB, mapped files "
                  f"{mib(extra.get('rss_file_max_kib', 0)):.1f} MiB).")
        md.append("")
    return runs, median, md


def main():
    scen, runs_path, machine_path, extra_json, out = sys.argv[1:6]
    runs = [json.loads(l) for l in open(runs_path) if l.strip()]
    machine = json.load(open(machine_path))
    extra = json.loads(extra_json)
    if scen.startswith("ingest"):
        rows, median, body = ingest(runs, extra)
    elif scen == "idle-rss":
        rows, median, body = idle_rss(runs, extra)
    elif scen == "query":
        rows, median, body = query(runs, extra)
    else:
        sys.exit(f"report.py: unknown scenario {scen}")
    md = header(scen, machine, extra)
    md += body
    cmds = [r["command"] for r in runs if "command" in r]
    if cmds:
        md.append("Commands:")
        md.append("")
        md.append("```")
        md += cmds
        md.append("```")
        md.append("")
    with open(out + ".md", "w") as f:
        f.write("\n".join(md))
    with open(out + ".json", "w") as f:
        json.dump({"scenario": scen, "machine": machine, "params": extra, "runs": runs,
                   "rows": rows, "median": median}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
