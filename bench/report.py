"""Summaries and tables for bench/side_by_side.py: the per-round samples in,
medians, ratios, targets and GFLOP/s out, as plain text or README markdown."""

import statistics


def median_of(samples, key):
    values = [s[key] for s in samples if s.get(key) is not None]
    return statistics.median(values) if values else None


def gflops(macs_per_sample, batch, ms):
    if not ms or ms <= 0 or not macs_per_sample:
        return None
    return 2.0 * macs_per_sample * batch / (ms * 1e6)


def ratio(a, b):
    return a / b if a is not None and b is not None and b > 0 else None


def present(values):
    return [v for v in values if v is not None]


def summarize(rows, fold_rows, identity_rows):
    """Per row: times = median over rounds of each process's median; ratio =
    median over rounds of the ratio within the round, against ORT's median
    minus its per-call cost. That cost is each ORT sample's own `call_ms` (an
    Identity model timed in the same process, interleaved); a sample without
    it falls back to the separate Identity process of its round, then to that
    process's median over rounds."""
    overhead, call_by_round = {}, {}
    for row in identity_rows:
        overhead[row["threads"]] = {
            "ort_ms": median_of(row.get("ort", []), "median_ms"),
            "bnfold_ms": median_of(row.get("bnfold", []), "median_ms"),
            "ort_rss_mb": median_of(row.get("ort", []), "rss_mb"),
            "bnfold_rss_mb": median_of(row.get("bnfold", []), "rss_mb"),
            "iters": row["iters"],
        }
        call_by_round[row["threads"]] = {s["round"]: s["median_ms"] for s in row.get("ort", [])}
    table = []
    for row in rows:
        ours, theirs = row.get("bnfold", []), row.get("ort", [])
        # ORT minus the call cost measured in the same process; without it,
        # the separate Identity process of the same round, then its median.
        fallback_ms = overhead.get(row["threads"], {}).get("ort_ms") or 0.0
        calls = call_by_round.get(row["threads"], {})
        subtracted = [s["call_ms"] if s.get("call_ms") is not None
                      else calls.get(s["round"], fallback_ms) for s in theirs]
        net = [dict(s, median_ms=s["median_ms"] - c) for s, c in zip(theirs, subtracted)]
        ours_ms, theirs_ms = median_of(ours, "median_ms"), median_of(theirs, "median_ms")
        theirs_net = median_of(net, "median_ms")
        # The ratio is the median over rounds of each round's ratio: the two
        # runs of a round are adjacent in time, while a shared machine's speed
        # can change twofold between rounds.
        mine = {s["round"]: s["median_ms"] for s in ours}
        paired = present(ratio(mine.get(s["round"]), s["median_ms"]) for s in net)
        paired_raw = present(ratio(mine.get(s["round"]), s["median_ms"]) for s in theirs)
        r = statistics.median(paired) if paired else None
        macs = row["facts"]["macs_per_sample"]
        table.append({
            "model": row["model"], "batch": row["batch"], "threads": row["threads"],
            "iters": row["iters"], "rounds": min(len(ours), len(theirs)),
            "bnfold_ms": ours_ms, "bnfold_p90_ms": median_of(ours, "p90_ms"),
            "ort_ms": theirs_ms, "ort_p90_ms": median_of(theirs, "p90_ms"),
            # The median of what was subtracted, and how many samples had to
            # fall back to the separate Identity process.
            "ort_call_overhead_ms": statistics.median(subtracted) if subtracted else fallback_ms,
            "ort_call_fallbacks": sum(s.get("call_ms") is None for s in theirs),
            "ort_net_ms": theirs_net,
            "ratio": r, "ratio_raw": statistics.median(paired_raw) if paired_raw else None,
            "ratio_of_medians": ratio(ours_ms, theirs_net),
            "ratio_rounds_min": min(paired) if paired else None,
            "ratio_rounds_max": max(paired) if paired else None,
            "target": row["target"], "met": r is not None and r <= row["target"],
            "macs_per_sample": macs,
            "bnfold_gflops": gflops(macs, row["batch"], ours_ms),
            "ort_gflops": gflops(macs, row["batch"], theirs_net),
            "bnfold_load_ms": median_of(ours, "load_ms"),
            "bnfold_first_run_ms": median_of(ours, "first_run_ms"),
            "ort_load_ms": median_of(theirs, "load_ms"),
            "ort_first_run_ms": median_of(theirs, "first_run_ms"),
            "bnfold_rss_mb": median_of(ours, "rss_mb"),
            "ort_rss_mb": median_of(theirs, "rss_mb"),
            # Time to the first result: ORT prepares everything in create,
            # bnfold compiles its plan on the first run; only the sum compares.
            "bnfold_ready_ms": median_of(ours, "ready_ms"),
            "ort_ready_ms": median_of(theirs, "ready_ms"),
            "bnfold_rss_wait4_mb": median_of(ours, "time_rss_mb"),
            "ort_rss_wait4_mb": median_of(theirs, "time_rss_mb"),
            "errors": row.get("errors", []),
            "samples": {"bnfold": ours, "ort": theirs},
        })
    for t, o in overhead.items():
        o["ort_in_process_ms"] = median_of(
            [s for r in table if r["threads"] == t for s in r["samples"]["ort"]], "call_ms")
    folds = []
    for row in fold_rows:
        folded, unfolded = row.get("folded", []), row.get("unfolded", [])
        f_ms, u_ms = median_of(folded, "median_ms"), median_of(unfolded, "median_ms")
        by_round = {s["round"]: s["median_ms"] for s in folded}
        paired = present(ratio(u["median_ms"], by_round.get(u["round"])) for u in unfolded)
        speedup = statistics.median(paired) if paired else None
        folds.append({
            "model": row["model"], "batch": row["batch"], "threads": row["threads"],
            "iters": row["iters"], "rounds": min(len(folded), len(unfolded)),
            "folded_ms": f_ms, "unfolded_ms": u_ms, "speedup": speedup,
            "speedup_of_medians": ratio(u_ms, f_ms),
            "speedup_rounds_min": min(paired) if paired else None,
            "speedup_rounds_max": max(paired) if paired else None,
            "target": row["target"], "met": speedup is not None and speedup >= row["target"],
            "folded_load_ms": median_of(folded, "load_ms"),
            "unfolded_load_ms": median_of(unfolded, "load_ms"),
            "errors": row.get("errors", []),
            "samples": {"folded": folded, "unfolded": unfolded},
        })
    return {"overhead": overhead, "table": table, "fold": folds}


def fmt(value, digits=3):
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def fmt_ratio(value):
    return "n/a" if value is None else f"{value:.2f}"


def at_most(ours, theirs):
    if ours is None or theirs is None:
        return "n/a"
    return "met" if ours <= theirs else "missed"


def verdict(row):
    if row["errors"] and not row["rounds"]:
        return "failed"
    return "met" if row["met"] else "missed"


def markdown_tables(summary):
    """Rows shared by the text and markdown output: (title, header, rows)."""
    main = []
    for r in summary["table"]:
        fell_back = " †" if r.get("ort_call_fallbacks") else ""
        main.append([r["model"], str(r["batch"]), str(r["threads"]), fmt(r["bnfold_ms"]),
                     fmt(r["ort_ms"]), fmt(r["ort_call_overhead_ms"]) + fell_back,
                     fmt(r["ort_net_ms"]), fmt_ratio(r["ratio"]),
                     f"{fmt_ratio(r['ratio_rounds_min'])}–{fmt_ratio(r['ratio_rounds_max'])}",
                     fmt_ratio(r["ratio_raw"]), f"≤ {r['target']:.2f}", verdict(r),
                     fmt(r["bnfold_gflops"]), fmt(r["ort_gflops"])])
    fold = []
    for r in summary["fold"]:
        fold.append([r["model"], str(r["batch"]), str(r["threads"]), fmt(r["folded_ms"]),
                     fmt(r["unfolded_ms"]), f"{fmt_ratio(r['speedup'])}×",
                     f"{fmt_ratio(r['speedup_rounds_min'])}–{fmt_ratio(r['speedup_rounds_max'])}",
                     f"≥ {r['target']}×", verdict(r)])
    cost = []
    for r in summary["table"]:
        cost.append([r["model"], str(r["batch"]), str(r["threads"]), fmt(r["bnfold_load_ms"]),
                     fmt(r["bnfold_first_run_ms"]), fmt(r["ort_load_ms"]),
                     fmt(r["ort_first_run_ms"]), fmt(r.get("bnfold_ready_ms")),
                     fmt(r.get("ort_ready_ms")), at_most(r.get("bnfold_ready_ms"), r.get("ort_ready_ms")),
                     fmt(r["bnfold_rss_mb"]), fmt(r["ort_rss_mb"]),
                     at_most(r["bnfold_rss_mb"], r["ort_rss_mb"])])
    return [
        ("bnfold vs ONNX Runtime (median ms per run)",
         ["model", "batch", "threads", "bnfold", "ORT raw", "ORT call", "ORT − call", "ratio",
          "ratio per round", "raw ratio", "target", "result", "bnfold GFLOP/s", "ORT GFLOP/s"], main),
        ("BatchNormalization folded vs not (bnfold, median ms per run)",
         ["model", "batch", "threads", "folded", "unfolded", "speedup", "per round",
          "target", "result"], fold),
        ("Session cost (medians): load = open/create incl. graph passes; first run = "
         "compile + one run for bnfold, one run for ORT; ready = load + first run, the time "
         "to the first result (target: bnfold's ≤ ORT's); peak RSS of the whole process "
         "(ORT's includes Node)",
         ["model", "batch", "threads", "bnfold load ms", "bnfold first run ms", "ORT load ms",
          "ORT first run ms", "bnfold ready ms", "ORT ready ms", "ready", "bnfold RSS MiB",
          "ORT RSS MiB", "memory"], cost),
    ]


def overhead_line(summary):
    us = lambda ms: fmt(ms * 1000.0 if ms is not None else None)  # noqa: E731
    threads = lambda t: f"{t} thread{'s' if t != 1 else ''}"  # noqa: E731
    overhead = sorted(summary["overhead"].items())
    separate = "; ".join(
        f"{threads(t)}: ORT via Node {us(o['ort_ms'])} µs, bnfold {us(o['bnfold_ms'])} µs; "
        f"RSS ORT+Node {fmt(o['ort_rss_mb'])} MiB, bnfold {fmt(o['bnfold_rss_mb'])} MiB"
        for t, o in overhead)
    in_process = [(t, o["ort_in_process_ms"]) for t, o in overhead
                  if o.get("ort_in_process_ms") is not None]
    if not in_process:  # files written before the in-process measurement
        return ("Per-call cost (one-op Identity model): " + separate +
                ". The ratio uses ORT's median minus the ORT figure (conservative for bnfold: "
                "it also removes ORT's own fixed per-run cost); the raw ratio does not.")
    fell_back = ""
    if any(r.get("ort_call_fallbacks") for r in summary["table"]):
        fell_back = (" † some samples lacked it and used the separate Identity process "
                     "of their round.")
    return ("Per-call cost of ORT's Node binding: \"ORT call\" is a one-op Identity model "
            "timed in the same process as each ORT measurement, interleaved with the model "
            f"in blocks of up to 25 runs (median over rounds; all rows: "
            + ", ".join(f"{threads(t)} {us(ms)} µs" for t, ms in in_process) +
            "). \"ORT − call\" subtracts each sample's own figure from that sample's median, "
            "and the ratio is bnfold over it within each round (conservative for bnfold: the "
            "Identity run also contains ORT's own fixed per-run cost); the raw ratio subtracts "
            "nothing." + fell_back + " Separate Identity processes, for comparison: " +
            separate + ".")


def from_json(saved):
    """(summary, machine) of a file written by side_by_side.py --json."""
    summary = {k: saved[k] for k in ("overhead", "table", "fold")}
    summary["overhead"] = {int(t): o for t, o in summary["overhead"].items()}
    return summary, saved["machine"]


def text(summary, env):
    import machine
    out = [f"Machine: {machine.one_line(env)}", f"Rounds: {env['rounds']}, "
           f"{env['minutes']} min", overhead_line(summary), ""]
    for title, header, rows in markdown_tables(summary):
        if not rows:
            continue
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        out.append(title)
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for row in rows:
            out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)))
        out.append("")
    for r in summary["table"] + summary["fold"]:
        for e in r["errors"]:
            out.append(f"error: {r['model']} b{r['batch']} t{r['threads']}: {e}")
    return "\n".join(out)


def markdown(summary, env):
    import machine
    out = [f"Machine: {machine.one_line(env)}. {env['rounds']} interleaved rounds, "
           f"{env['minutes']} min.", "", overhead_line(summary), ""]
    for title, header, rows in markdown_tables(summary):
        if not rows:
            continue
        out.append(f"{title}:")
        out.append("")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            out.append("| " + " | ".join(row) + " |")
        out.append("")
    return "\n".join(out)
