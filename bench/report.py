#!/usr/bin/env python3
"""Turns one bench/run.sh run directory (raw wrk / ttfb-client outputs, process stats) into Markdown.

    python3 bench/report.py bench/results/<timestamp> > bench/results/<timestamp>.md

One table of absolute figures, each Broker figure against "direct" measured in the same run, and the
targets with PASS/MISS; then the raw outputs.
"""
import pathlib
import re
import sys

TARGETS = ("direct", "embedded", "distributed", "keyed", "keyed-distributed")
PROCS = {
    "direct": ("fake-0ms", "fake-50ms"),
    "embedded": ("embedded",),
    "distributed": ("dist-ingress", "dist-workers", "dist-billing"),
    "keyed": ("keyed",),
    "keyed-distributed": ("keyed-ingress", "keyed-workers", "keyed-billing"),
}
# the two tables: each pair is measured against the same targets (embedded / distributed)
TABLES = (
    (("embedded", "distributed"), "Open gateway (`bench/config.yaml`)",
     "No master key, no rpm/tpm: the gateway at its lightest."),
    (("keyed", "keyed-distributed"), "As users run it: a virtual key and rpm/tpm (`bench/config-keyed.yaml`)",
     "The same groups behind a master key, every request carrying a virtual key from `/key/generate` (kept in "
     "PostgreSQL, cached by the Ingress; its spend written by Billing), rpm and tpm on every deployment set far above "
     "the load, so both are counted on every request (in Redis when distributed) and never refuse one."),
)
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
RSS_LIMIT_MIB = 120  # issue 19: peak RSS per process after the c=64 run
CPU_LIMIT_US = {"embedded": 150, "distributed": 400}  # issue 19: CPU per request, all Broker processes together


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * UNITS_MS[m.group(2)] if m else None


def parse_wrk(path):
    if not path.exists():
        return None
    text = path.read_text()
    out = {"raw": text, "errors": 0}
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M):
        out["p" + pct] = to_ms(value)
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    out["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^\s+(\d+) requests in", text, re.M)
    out["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["errors"] += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["errors"] += sum(int(g) for g in m.groups()) if m else 0
    return out


def parse_ttfb(path):
    if not path.exists():
        return None
    text = path.read_text()
    m = re.search(r"p50=([\d.]+) p90=([\d.]+)", text)
    return {"raw": text, "p50": float(m.group(1)), "p90": float(m.group(2))} if m else {"raw": text}


def parse_stats(path):
    stats = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, *pairs = line.split()
            stats[name] = {k: float(v) for k, v in (p.split("=") for p in pairs)}
    return stats


def fmt(v, digits=2):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def cpu_per_request(start, end, requests):
    """µs of CPU per request between two samples of one process (parse_stats), or None without both or any request."""
    if not start or not end or not requests:
        return None
    return (end["cpu_s"] - start["cpu_s"]) * 1e6 / requests


def cache_section(raw, direct):
    """Response cache hits (embedded broker, bench/config-cache.yaml): latency at c=1 and req/s at c=64."""
    c1, c64 = parse_wrk(raw / "cache-c1-hit.txt"), parse_wrk(raw / "cache-c64-hit.txt")
    if not c1 and not c64:
        return
    d1, d64 = direct.get("c1-0ms"), direct.get("c64-0ms")
    stats = parse_stats(raw / "cache-stats.txt").get("cache", {})
    print("## Response cache hits (embedded, `bench/config-cache.yaml`)\n")
    print("Every measured request is answered from the Ingress's cache (type local): no queue, no provider. "
          "Direct = the fake provider (0 ms) called directly in this run.\n")
    print("| scenario | cache hit | direct (0 ms provider) |\n|---|---:|---:|")
    for label, r, d, key in (("c=1: p50 latency (ms)", c1, d1, "p50"), ("c=1: p99 latency (ms)", c1, d1, "p99"),
                             ("c=64: **req/s**", c64, d64, "rps"), ("c=64: p99 latency (ms)", c64, d64, "p99")):
        print(f"| {label} | {fmt(r.get(key) if r else None)} | {fmt(d.get(key) if d else None)} |")
    errors = sum(r["errors"] for r in (c1, c64) if r)
    print(f"| failed requests | {errors} | |")
    if stats:
        print(f"| peak RSS, VmHWM (MiB) | {stats['hwm_kb'] / 1024:.0f} | |")
    print()


KIND = {"embedded": "embedded", "distributed": "distributed", "keyed": "embedded", "keyed-distributed": "distributed"}
PEER_RPS_TARGET = {"embedded": 3.0, "distributed": 1.0}  # issue 19: c=64, 0 ms req/s against Portkey in the same run


def peer_section(raw, wrk):
    """Portkey's gateway (npm, Node) measured in the same run: issue 19's c=64/0 ms target and the other figures beside it."""
    pk = {s: parse_wrk(raw / f"portkey-{s}.txt") for s in ("c1-0ms", "c64-0ms", "c64-50ms")}
    if not any(pk.values()):
        return
    pk_start = parse_stats(raw / "portkey-stats-start.txt").get("portkey", {})
    pk_end = parse_stats(raw / "portkey-stats.txt").get("portkey", {})

    def get(t, s, key):
        r = pk.get(s) if t == "portkey" else wrk.get(t, {}).get(s)
        return r.get(key) if r else None

    cols = [t for t in ("portkey", "embedded", "distributed", "keyed", "keyed-distributed", "direct") if t == "portkey" or t in wrk]
    print("## Beside a peer gateway (Portkey, `@portkey-ai/gateway` from npm)\n")
    print("Portkey's open-source gateway as its users run it (`node build/start-server.js --headless`), told per request "
          "to call the same fake provider; measured in this run with the same wrk load (no streamed TTFB, no fallback).\n")
    print("| scenario | " + " | ".join(cols) + " |\n|---|" + "---:|" * len(cols))
    for label, s, key in (("c=1, 0 ms: p50 latency (ms)", "c1-0ms", "p50"), ("c=64, 0 ms: **req/s**", "c64-0ms", "rps"),
                          ("c=64, 0 ms: p99 latency (ms)", "c64-0ms", "p99"), ("c=64, 50 ms: req/s", "c64-50ms", "rps")):
        print(f"| {label} | " + " | ".join(fmt(get(t, s, key)) for t in cols) + " |")
    d1 = get("direct", "c1-0ms", "p50")
    if d1 is not None:
        print("| c=1, 0 ms: added p50 (ms) | " + " | ".join(
            fmt(get(t, "c1-0ms", "p50") - d1) if t != "direct" and get(t, "c1-0ms", "p50") is not None else "–" for t in cols) + " |")
    requests = sum(r["requests"] for r in pk.values() if r)
    pk64 = [parse_stats(raw / f"portkey-stats-c64-0ms{suffix}.txt").get("portkey", {}) for suffix in ("-start", "")]
    if (cpu := cpu_per_request(*pk64, get("portkey", "c64-0ms", "requests"))) is not None:
        print(f"| CPU per request at c=64, 0 ms (µs), the gateway's process | {cpu:.0f} | "
              + " | ".join("in the table above" for t in cols[1:]) + " |")
    if (cpu := cpu_per_request(pk_start, pk_end, requests)) is not None:
        print(f"| CPU over the whole measurement per request (µs), the gateway's process | {cpu:.0f} | "
              + " | ".join("in the table above" for t in cols[1:]) + " |")
        print(f"| peak RSS, VmHWM (MiB) | {pk_end['hwm_kb'] / 1024:.0f} | " + " | ".join("in the table above" for t in cols[1:]) + " |")
    errors = sum(r["errors"] for r in pk.values() if r)
    print(f"| failed requests, Portkey | {errors} | " + " | ".join("" for t in cols[1:]) + " |")
    peer = get("portkey", "c64-0ms", "rps")
    verdicts = []
    for t, goal in ((t, PEER_RPS_TARGET[KIND[t]]) for t in cols if t in KIND):
        mine = get(t, "c64-0ms", "rps")
        if peer and mine is not None:
            ratio = mine / peer
            verdicts.append(f"{t} {ratio:.2f}× Portkey at c=64/0 ms (target ≥ {goal:g}×): {'PASS' if ratio >= goal else 'MISS'}")
    if verdicts:
        print("\n" + "; ".join(verdicts) + ".")
    print()


def scenario_table(pair, present, wrk, ttfb, start, end, start64, end64, peer_ran):
    """The rows of one table: direct, then the pair's embedded-kind and distributed-kind targets against direct and
    against issue 19's targets (PASS/MISS)."""
    emb, dist = pair

    def w(t, s, key):
        r = wrk.get(t, {}).get(s)
        return r.get(key) if r else None

    def tt(t):
        r = ttfb.get(t)
        return r.get("p50") if r else None

    rows = []

    def add(label, getter, kind, targets=None):
        """kind: 'lat' (ms, shows +Δ vs direct), 'rps' (shows × direct), 'added' (Δ already), 'info'."""
        values = {t: getter(t) for t in present}
        d = values.get("direct")
        cells = [label, fmt(d)]
        verdicts = []
        for t in pair:
            v = values.get(t)
            cells.append(fmt(v))
            if v is None or d is None or kind in ("added", "info"):
                cells.append("")
            elif kind == "rps":
                cells.append(f"{v / d:.2f}×" if d else "–")
            else:
                cells.append(f"+{v - d:.2f} ms" if v >= d else f"{v - d:.2f} ms")
            if targets:
                goal = targets[KIND[t]]
                if v is None or (kind == "rps" and d is None):
                    verdicts.append("–")
                else:
                    actual = v / d if kind == "rps" else v
                    ok = actual >= goal if kind == "rps" else actual <= goal
                    verdicts.append("PASS" if ok else "MISS")
        if targets:
            unit = "× direct" if kind == "rps" else "ms"
            op = "≥" if kind == "rps" else "≤"
            cells.append(f"{op} {targets['embedded']} / {op} {targets['distributed']} {unit}")
        else:
            cells.append("")
        cells += verdicts if verdicts else ["", ""]
        rows.append(cells)

    def added(t, value):
        v, d = value(t), value("direct")
        return None if t == "direct" or v is None or d is None else v - d

    add("c=1, 0 ms: p50 latency (ms)", lambda t: w(t, "c1-0ms", "p50"), "lat")
    add("c=1, 0 ms: p99 latency (ms)", lambda t: w(t, "c1-0ms", "p99"), "lat")
    add("c=1, 0 ms: **added p50** (ms)", lambda t: added(t, lambda x: w(x, "c1-0ms", "p50")), "added",
        {"embedded": 0.3, "distributed": 1.5})
    add("c=1, 50 ms: p50 latency (ms)", lambda t: w(t, "c1-50ms", "p50"), "lat")
    add("c=1, 50 ms: p99 latency (ms)", lambda t: w(t, "c1-50ms", "p99"), "lat")
    add("c=1, 50 ms: added p50 (ms)", lambda t: added(t, lambda x: w(x, "c1-50ms", "p50")), "added")
    # issue 19 sets this one against a peer gateway (≥ 3× / ≥ 1× Portkey in the same run): the portkey target's section
    peer = "see the Portkey section below" if peer_ran else "vs a peer gateway, not run here"
    add(f"c=64, 0 ms: **req/s** (target: {peer})", lambda t: w(t, "c64-0ms", "rps"), "rps")
    add("c=64, 0 ms: p99 latency (ms)", lambda t: w(t, "c64-0ms", "p99"), "lat")
    add("c=64, 50 ms: **req/s**", lambda t: w(t, "c64-50ms", "rps"), "rps", {"embedded": 0.95, "distributed": 0.9})
    add("c=64, 50 ms: p99 latency (ms)", lambda t: w(t, "c64-50ms", "p99"), "lat")
    add("c=1, 0 ms, falls back once: p50 latency (ms)", lambda t: w(t, "c1-fallback", "p50"), "info")
    add("c=1, 0 ms: **added by one fallback**, p50 (ms)",
        lambda t: None if w(t, "c1-fallback", "p50") is None or w(t, "c1-0ms", "p50") is None
        else w(t, "c1-fallback", "p50") - w(t, "c1-0ms", "p50"), "added")
    add("stream: time to first data line p50 (ms)", tt, "lat")
    add("stream: **added TTFB p50** (ms)", lambda t: added(t, tt), "added", {"embedded": 1, "distributed": 3})

    # peak RSS and CPU per process
    def rss_cell(t):
        if t not in present:
            return "–"
        return ", ".join(f"{n} {end[t][n]['hwm_kb'] / 1024:.0f}" for n in PROCS[t] if n in end.get(t, {})) or "–"

    def rss_ok(t):
        procs = [end[t][n]["hwm_kb"] / 1024 for n in PROCS[t] if n in end.get(t, {})] if t in present else []
        return ("PASS" if max(procs) <= RSS_LIMIT_MIB else "MISS") if procs else "–"

    # two windows: the c=64, 0 ms run alone (a saturated gateway: issue 19's figure) and the whole measurement, whose
    # CPU also pays for the c=1 phases (threads spinning between hops, batches of one event) and for the fallback and
    # streamed requests, while only the non-streaming requests of the four wrk runs are counted
    windows = {
        "c64": (start64, end64, {t: w(t, "c64-0ms", "requests") for t in present}),
        "run": (start, end, {t: sum(w(t, s, "requests") or 0 for s in ("c1-0ms", "c1-50ms", "c64-0ms", "c64-50ms"))
                             for t in present}),
    }

    def cpu_us(t, n, window):
        """CPU of process n per non-streaming request of target t in the window, or None without both samples."""
        first, last, requests = windows[window]
        return cpu_per_request(first.get(t, {}).get(n), last.get(t, {}).get(n), requests[t])

    def cpu_total(t, window):
        """Summed over every process of t; None when one of them has no figure (a partial sum could pass wrongly)."""
        if t not in present:
            return None
        parts = [cpu_us(t, n, window) for n in PROCS[t]]
        return None if any(p is None for p in parts) else sum(parts)

    def cpu_ok(t):
        total = cpu_total(t, "c64")
        return "–" if total is None else ("PASS" if total <= CPU_LIMIT_US[KIND[t]] else "MISS")

    def cpu_cell(t, window):
        if t not in present:
            return "–"
        return ", ".join(f"{n} {us:.0f}" for n in PROCS[t] if (us := cpu_us(t, n, window)) is not None) or "–"

    def errors(t):
        return str(sum(wrk[t][s]["errors"] for s in wrk[t] if wrk[t][s])) if t in present else "–"

    rows.append(["peak RSS, VmHWM (MiB) per process", rss_cell("direct"), rss_cell(emb), "", rss_cell(dist), "",
                 f"≤ {RSS_LIMIT_MIB} MiB each", rss_ok(emb), rss_ok(dist)])
    rows.append(["CPU per request at c=64, 0 ms (µs) per process", cpu_cell("direct", "c64"), cpu_cell(emb, "c64"), "",
                 cpu_cell(dist, "c64"), "", "", "", ""])
    rows.append(["**CPU per request at c=64, 0 ms, all Broker processes** (µs)", "",
                 fmt(cpu_total(emb, "c64"), 0), "", fmt(cpu_total(dist, "c64"), 0), "",
                 f"≤ {CPU_LIMIT_US['embedded']} / ≤ {CPU_LIMIT_US['distributed']} µs", cpu_ok(emb), cpu_ok(dist)])
    rows.append(["CPU over the whole measurement per non-streaming request (µs) per process", cpu_cell("direct", "run"),
                 cpu_cell(emb, "run"), "", cpu_cell(dist, "run"), "", "", "", ""])
    rows.append(["CPU over the whole measurement per non-streaming request, all Broker processes (µs)", "",
                 fmt(cpu_total(emb, "run"), 0), "", fmt(cpu_total(dist, "run"), 0), "", "", "", ""])
    rows.append(["failed requests (non-2xx + socket errors)", errors("direct"), errors(emb), "", errors(dist), "", "", "", ""])
    return rows


def main(run_dir):
    run = pathlib.Path(run_dir)
    raw = run / "raw"
    present = [t for t in TARGETS if (raw / f"{t}-c1-0ms.txt").exists()]
    if not present and not (raw / "cache-c1-hit.txt").exists() and not (raw / "portkey-c1-0ms.txt").exists():
        sys.exit(f"no measurements in {raw}")
    wrk = {t: {s: parse_wrk(raw / f"{t}-{s}.txt") for s in ("c1-0ms", "c1-50ms", "c64-0ms", "c64-50ms", "c1-fallback")} for t in present}
    ttfb = {t: parse_ttfb(raw / f"{t}-ttfb.txt") for t in present}
    start = {t: parse_stats(raw / f"{t}-stats-start.txt") for t in present}
    start64 = {t: parse_stats(raw / f"{t}-stats-c64-0ms-start.txt") for t in present}
    end64 = {t: parse_stats(raw / f"{t}-stats-c64-0ms.txt") for t in present}
    end = {t: parse_stats(raw / f"{t}-stats.txt") for t in present}
    peer_ran = (raw / "portkey-c64-0ms.txt").exists()

    meta = (raw / "meta.txt").read_text() if (raw / "meta.txt").exists() else ""
    m = re.search(r"duration_s=(\S+)", meta)
    duration = m.group(1) if m else "?"
    print(f"# Broker benchmark — {run.name}\n")
    print("Produced by `bench/run.sh`. Each measurement is "
          f"{duration} s of `wrk` after a warm-up; "
          "the targets ran one after another on the same machine, so compare each Broker figure with "
          "**direct** from this same run, not with another run. c = concurrent connections; 0 ms / 50 ms = "
          "the fake provider's fixed delay. Added = Broker minus direct. TTFB = time from sending a "
          "`stream: true` request to the first `data:` line (median of sequential requests on one connection). "
          "Differences of about 1 ms, including negative ones, are noise: the 50 ms delay is a timer with "
          "millisecond jitter, and the machine is shared (load average in Run below).\n")
    for pair, title, about in TABLES:
        if not any(t in present for t in pair):
            continue
        emb, dist = pair
        print(f"## {title}\n\n{about}\n")
        print(f"| scenario | direct | {emb} | vs direct | {dist} | vs direct | target (embedded / distributed) | {emb} | {dist} |")
        print("|---|---:|---:|---:|---:|---:|---|---|---|")
        rows = scenario_table(pair, present, wrk, ttfb, start, end, start64, end64, peer_ran)
        for r in rows:
            print("| " + " | ".join(r) + " |")
        verdicts = [c for r in rows for c in r[7:9] if c in ("PASS", "MISS")]
        print(f"\n**{verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS.**\n")

    peer_section(raw, wrk)
    cache_section(raw, wrk.get("direct", {}))

    print("## Run\n\n```\n" + meta.strip() + "\n```\n")
    print("## Logs written by Broker during the run\n")
    print("| process | lines | of which per-request `Usage` lines |\n|---|---:|---:|")
    for log in sorted((run / "logs").glob("*.log")):
        if log.stem in ("build", "services") or log.stem.startswith("fake"):
            continue
        lines = log.read_text(errors="replace").splitlines()
        usage = sum(1 for line in lines if "Billing.Usage" in line or ": Usage " in line)
        print(f"| {log.stem} | {len(lines)} | {usage} |")
    print()
    print("## Raw outputs\n")
    for t in present:
        for s in ("c1-0ms", "c1-50ms", "c64-0ms", "c64-50ms"):
            r = wrk[t][s]
            if r:
                print(f"### {t} {s}\n\n```\n{r['raw'].strip()}\n```\n")
        if ttfb[t]:
            print(f"### {t} stream TTFB\n\n```\n{ttfb[t]['raw'].strip()}\n```\n")
        for label, path in (("process stats after warm-up", raw / f"{t}-stats-start.txt"),
                            ("process stats at the end", raw / f"{t}-stats.txt")):
            if path.exists():
                print(f"### {t} {label}\n\n```\n{path.read_text().strip()}\n```\n")


if __name__ == "__main__":
    main(sys.argv[1])
