#!/usr/bin/env python3
"""Group-statistics benchmark: rewire's NBS against bctpy's nbs_bct and MRtrix3's connectomestats.

    python benchmarks/stats.py [--quick] [--skip-bctpy] [--skip-mrtrix] [--mrtrix-limit 240]
                               [--sections main,bctpy,mrtrix,scaling,calibration] [--pythonpath DIR]

The study: 400 regions (79,800 edges), 100 subjects, 5000 shuffles, a planted 10-node effect, NBS at
t = 3.0, in three designs:

* ``paired``      one-sample test of per-subject deltas (post − pre), sign flips
* ``two-sample``  therapy (50) vs control (50) on the deltas: [1, group], contrast group, permutations
* ``FL 3``        brain–behaviour with nuisance: [1, score, age, mean FD] (3 regressors and an
                  intercept), contrast score, Freedman–Lane permutations

Every measurement runs in a fresh process (peak memory = its ru_maxrss) and records how much CPU other
processes used meanwhile; runs disturbed by more than --max-contention of the machine are repeated
after waiting for the load to drop (all attempts are kept in the JSON). bctpy is timed on 1 and 3
permutations and extrapolated to 5000 (its cost is linear in permutations; said so in the table).
connectomestats runs under a time limit and is recorded as not finished when it hits it; it is also
timed on smaller problems where it does finish, next to rewire on the same problem. Also: scaling
with subjects, edges and threads, and null calibration / power on small simulations.

Data go to benchmarks/data/stats/ (git-ignored); results to benchmarks/results/stats.json and
stats.md (``--quick``: a small smoke run, stats-quick.*).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data" / "stats"
RESULTS = HERE / "results"
PYTHON_PATH = str(ROOT / "python")  # --pythonpath: e.g. a snapshot of the package while others rebuild
PYTHON_ENV = dict(os.environ, PYTHONPATH=PYTHON_PATH)

sys.path.insert(0, str(HERE))
import extraction  # noqa: E402  (the launcher and the quiet-machine wait)

# Runs one rewire test and prints its time (inside the process, around the call).
REWIRE_CHILD = r"""
import json, sys, time
import numpy as np
import rewire.stats as rs
spec = json.loads(sys.argv[1])
data = np.load(spec["data"], mmap_mode="r")[: spec.get("subjects")]
data = np.ascontiguousarray(data[:, : spec.get("edges", data.shape[1])])
design = np.load(spec["design"])[: data.shape[0]] if spec.get("design") else None
kwargs = dict(shuffles=spec["shuffles"], seed=1, threads=spec.get("threads", 0))
t0 = time.perf_counter()
if spec["method"] == "nbs":
    r = rs.nbs(data, design, spec.get("contrast"), threshold=spec["threshold"], **kwargs)
    extra = {"components": len(r.components), "p_min": min([c.p for c in r.components], default=1.0)}
elif spec["method"] == "tfnbs":
    r = rs.tfnbs(data, design, spec.get("contrast"), **kwargs)
    extra = {"significant_edges": int((r.p_fwe <= 0.05).sum())}
else:
    r = rs.maxt(data, design, spec.get("contrast"), **kwargs)
    extra = {"significant_edges": int((r.p_fwe <= 0.05).sum())}
seconds = time.perf_counter() - t0
print(json.dumps(dict(seconds=seconds, shuffles=int(r.shuffles), **extra)))
"""

# Times bctpy's nbs_bct on k permutations.
BCTPY_CHILD = r"""
import contextlib, io, json, sys, time, warnings
import numpy as np
import bct
spec = json.loads(sys.argv[1])
data = np.load(spec["data"])
n = spec["nodes"]
i, j = np.triu_indices(n, 1)
def matrices(rows):
    m = np.zeros((n, n, rows.shape[0]))
    m[i, j, :] = rows.T
    m[j, i, :] = rows.T
    return m
if spec["paired"]:
    x, y = matrices(data), matrices(np.zeros_like(data))   # deltas against zero: post − pre with pre = 0
else:
    x, y = matrices(data[:50]), matrices(data[50:])
warnings.simplefilter("ignore")
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    bct.nbs_bct(x, y, spec["threshold"], k=spec["k"], paired=spec["paired"], seed=1)
print(json.dumps({"seconds": time.perf_counter() - t0, "k": spec["k"]}))
"""


def measure(argv, *, timeout=0.0, cwd=None, label=""):
    """extraction.measure with this benchmark's environment; a program that prints no JSON line
    (connectomestats) is timed by its wall time."""
    row = extraction.measure(argv, env=PYTHON_ENV, timeout=timeout, cwd=cwd, label=label)
    row.setdefault("seconds", row["wall_s"])
    return row


def measure_quietly(argv, args, **kwargs):
    attempts = []
    label = kwargs.pop("label", "")
    for attempt in range(1 + args.retries):
        extraction.machine_quiet(args.max_load, args.max_wait)
        row = measure(argv, label=label + (" (again: machine was busy)" if attempt else ""), **kwargs)
        attempts.append(row)
        if row["contention"] <= args.max_contention or "error" in row:
            break
    best = min((a for a in attempts if "error" not in a), key=lambda a: a["contention"], default=attempts[-1])
    if len(attempts) > 1:
        best = dict(best, attempts=[{k: a.get(k) for k in ("seconds", "contention", "peak_mb")} for a in attempts])
    return best


# ------------------------------------------------------------------------------------------- data


def make_study(nodes: int, subjects: int, seed: int = 20240611):
    """Deltas (subjects × edges) with a shared subject effect, a 10-node planted change in the therapy
    half, and a score that tracks it; designs for the three tests."""
    folder = DATA / f"n{nodes}_s{subjects}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.npy" for name in ("deltas", "two_sample", "fl3")}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    edges = nodes * (nodes - 1) // 2
    deltas = rng.normal(size=(subjects, edges)) + 0.3 * rng.normal(size=(subjects, 1))
    group = (np.arange(subjects) < subjects // 2).astype(float)
    change = 0.8 * group * rng.uniform(0.5, 1.5, subjects)
    i, j = np.triu_indices(nodes, 1)
    planted = np.flatnonzero((i < 10) & (j < 10))
    deltas[:, planted] += change[:, None]
    age = rng.normal(40, 10, subjects)
    fd = rng.gamma(2.0, 0.08, subjects)
    score = change + rng.normal(0, 0.3, subjects)
    np.save(paths["deltas"], deltas)
    np.save(paths["two_sample"], np.column_stack([np.ones(subjects), group]))
    np.save(paths["fl3"], np.column_stack([np.ones(subjects), score, age, fd]))
    return paths


def write_mrtrix_inputs(paths, nodes: int, folder: Path, design: str):
    """Per-subject connectome CSVs (rewire's deltas as symmetric matrices), design and contrast."""
    folder.mkdir(parents=True, exist_ok=True)
    deltas = np.load(paths["deltas"])
    listing = folder / "subjects.txt"
    if not listing.exists():
        i, j = np.triu_indices(nodes, 1)
        for s, row in enumerate(deltas):
            m = np.zeros((nodes, nodes))
            m[i, j] = row
            m[j, i] = row
            np.savetxt(folder / f"sub{s:03d}.csv", m, delimiter=",", fmt="%.9g")
        listing.write_text("".join(f"sub{s:03d}.csv\n" for s in range(deltas.shape[0])))
    if design == "paired":
        matrix, contrast = np.ones((deltas.shape[0], 1)), [[1.0]]
    elif design == "two-sample":
        matrix, contrast = np.load(paths["two_sample"]), [[0.0, 1.0]]
    else:
        matrix, contrast = np.load(paths["fl3"]), [[0.0, 1.0, 0.0, 0.0]]
    np.savetxt(folder / f"design_{design}.txt", matrix, fmt="%.17g")
    np.savetxt(folder / f"contrast_{design}.txt", contrast, fmt="%g")
    return folder


DESIGNS = {
    "paired": dict(design=None, contrast=None),
    "two-sample": dict(design="two_sample", contrast=[0, 1]),
    "FL 3": dict(design="fl3", contrast=[0, 1, 0, 0]),
}


def rewire_spec(paths, design, method="nbs", shuffles=5000, threads=0, subjects=None, edges=None):
    spec = dict(data=str(paths["deltas"]), method=method, shuffles=shuffles, threshold=3.0, threads=threads)
    d = DESIGNS[design]
    if d["design"]:
        spec.update(design=str(paths[d["design"]]), contrast=d["contrast"])
    if subjects:
        spec["subjects"] = subjects
    if edges:
        spec["edges"] = edges
    return spec


def run_rewire(spec, args, label):
    return measure_quietly([sys.executable, "-c", REWIRE_CHILD, json.dumps(spec)], args, label=label)


def run_mrtrix(paths, nodes, design, shuffles, limit, label, args):
    folder = write_mrtrix_inputs(paths, nodes, DATA / f"mrtrix_n{nodes}_s{np.load(paths['deltas'], mmap_mode='r').shape[0]}",
                                 design)
    argv = ["connectomestats", "subjects.txt", "nbs", f"design_{design}.txt", f"contrast_{design}.txt", "out_",
            "-threshold", "3.0", "-nshuffles", str(shuffles), "-nthreads", "2", "-force", "-quiet"]
    if design == "paired":
        argv += ["-errors", "ise"]
    row = measure_quietly(argv, args, timeout=limit, cwd=folder, label=label)
    row["command"] = " ".join(argv)
    row["limit_s"] = limit
    return row


# ------------------------------------------------------------------------------------ calibration


def calibration(studies: int, seed: int = 5):
    """Null FWE rejection rate (and power on planted effects) of rewire's NBS (extent and intensity)
    and max-T on small simulations: 20 nodes, 16 + 16 subjects, 199 shuffles, t = 2.0. (At a higher
    threshold the few supra-threshold edges make component extents so discrete that ties make NBS
    conservative: 6 rejections in 400 null studies at t = 3.0.)"""
    sys.path.insert(0, PYTHON_PATH)
    import rewire.stats as rs

    nodes, per_group, shuffles, threshold = 20, 16, 199, 2.0
    edges = nodes * (nodes - 1) // 2
    i, j = np.triu_indices(nodes, 1)
    planted = np.flatnonzero((i < 6) & (j < 6))
    design = np.column_stack([np.ones(2 * per_group), np.r_[np.ones(per_group), np.zeros(per_group)]])
    rows = []
    methods = ("NBS extent", "NBS intensity", "max-T")
    for effect in (0.0, 0.6, 0.9, 1.2):
        hits = dict.fromkeys(methods, 0)
        for study in range(studies):
            rng = np.random.default_rng([seed, study, int(effect * 10)])
            data = rng.normal(size=(2 * per_group, edges)) + 0.3 * rng.normal(size=(2 * per_group, 1))
            data[:per_group, planted] += effect
            common = dict(shuffles=shuffles, seed=study, threads=1)
            results = {"NBS extent": rs.nbs(data, design, [0, 1], threshold=threshold, **common),
                       "NBS intensity": rs.nbs(data, design, [0, 1], threshold=threshold, measure="intensity",
                                               **common)}
            maxt = rs.maxt(data, design, [0, 1], **common)
            for method, result in results.items():
                if effect == 0.0:
                    hits[method] += any(c.p <= 0.05 for c in result.components)
                else:  # power: a significant component on the planted edges
                    hits[method] += any(c.p <= 0.05 and np.isin(c.edges, planted).any() for c in result.components)
            hits["max-T"] += bool((maxt.p_fwe <= 0.05).any() if effect == 0.0 else (maxt.p_fwe[planted] <= 0.05).any())
        for method, count in hits.items():
            rows.append(dict(effect=effect, method=method, studies=studies, rejections=count, rate=count / studies))
    from scipy.stats import binom

    interval = [int(binom.ppf(0.025, studies, 0.05)), int(binom.ppf(0.975, studies, 0.05))]
    return {"rows": rows, "null_interval_95": interval, "nodes": nodes, "subjects": 2 * per_group,
            "shuffles": shuffles, "threshold_t": threshold, "planted_edges": int(planted.size)}


# ----------------------------------------------------------------------------------------- report


def machine():
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    try:
        import bct  # noqa: F401
        from importlib.metadata import version

        versions["bctpy"] = version("bctpy")
    except Exception:  # noqa: BLE001
        pass
    if shutil.which("connectomestats"):
        first = subprocess.run(["connectomestats", "-version"], capture_output=True, text=True).stdout.splitlines()
        versions["connectomestats"] = first[0].strip("= ").replace("connectomestats ", "") if first else "?"
    sys.path.insert(0, PYTHON_PATH)
    import rewire

    versions["rewire"] = rewire.__version__
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1), "platform": platform.platform(),
            "versions": versions}


def duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def fmt_s(row):
    if row is None:
        return "—"
    if "error" in row:
        return f"did not finish ({row['error']}, {row.get('limit_s', row['wall_s']):.0f} s)"
    return f"{row['seconds']:.2f} s" if row["seconds"] >= 0.1 else f"{row['seconds'] * 1e3:.1f} ms"


def write_markdown(report, path: Path):
    m = report["machine"]
    lines = [f"# rewire stats benchmark{' (quick)' if report['quick'] else ''}", "",
             f"- date: {report['date']}", f"- command: `{report['command']}`",
             f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['platform']}",
             f"- versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items())}",
             f"- load average before the run: {report['load_before']}"]
    if report.get("sections_rerun"):
        earlier = report["earlier_run"]
        lines.append(f"- this run: {', '.join(report['sections_rerun'])}; the other sections are from the run of "
                     f"{earlier['date']} (`{earlier['command']}`)")
    lines += ["",
             f"## {report['nodes']} regions ({report['edges']} edges), {report['subjects']} subjects, "
             f"{report['shuffles']} shuffles, NBS at t = 3.0", "",
             "| test | rewire | peak memory | bctpy nbs_bct | connectomestats | vs bctpy | vs connectomestats |",
             "|---|---|---|---|---|---|---|"]
    for name, row in report["main"].items():
        r = row["rewire"]
        b = row.get("bctpy")
        c = row.get("mrtrix")
        bct_text = "n/a (no covariates)" if b is None else (
            f"{duration(b['extrapolated_s'])} (extrapolated from {b['per_permutation_s']:.2f} s/permutation)")
        speed_b = "—" if b is None else f"{b['extrapolated_s'] / r['seconds']:,.0f}×"
        if c is None:
            mr_text, speed_c = "not run", "—"
        elif "error" in c:
            mr_text = f"did not finish {c['shuffles_asked']} shuffles in {c['limit_s']:.0f} s"
            speed_c = (f"> {c['limit_s'] / (r['seconds'] * c['shuffles_asked'] / report['shuffles']):,.0f}× "
                       "(lower bound, per shuffle)")
        else:
            mr_text = f"{c['seconds']:.1f} s for {c['shuffles_asked']} shuffles"
            speed_c = f"{c['seconds'] / (r['seconds'] * c['shuffles_asked'] / report['shuffles']):,.0f}× (per shuffle)"
        lines.append(f"| {name} | {r['seconds']:.2f} s | {r['peak_mb']:.0f} MB | {bct_text} | {mr_text} | {speed_b} | "
                     f"{speed_c} |")
    if report.get("extra"):
        lines += ["", "Other enhancers on the paired design (same data, same shuffles):", "",
                  "| test | rewire | peak memory |", "|---|---|---|"]
        for name, r in report["extra"].items():
            lines.append(f"| {name} | {fmt_s(r)} | {r['peak_mb']:.0f} MB |")
    if report.get("mrtrix_small"):
        lines += ["", "Where connectomestats finishes (two-sample NBS, t = 3.0, its own shuffles; rewire with as many):",
                  "", "| regions | subjects | shuffles | connectomestats | rewire | speed-up |", "|---|---|---|---|---|---|"]
        for row in report["mrtrix_small"]:
            c, r = row["mrtrix"], row["rewire"]
            speed = "—" if "error" in c else f"{c['seconds'] / r['seconds']:,.0f}×"
            lines.append(f"| {row['nodes']} | {row['subjects']} | {row['shuffles']} | {fmt_s(c)} | {fmt_s(r)} | {speed} |")
    lines += ["", "## Scaling (rewire, paired NBS, "
              f"{report['scaling_shuffles']} shuffles)", "", "| regions | edges | subjects | threads | time | per shuffle | peak memory |",
              "|---|---|---|---|---|---|---|"]
    for row in report["scaling"]:
        r = row["result"]
        lines.append(f"| {row['nodes']} | {row['edges']} | {row['subjects']} | {row['threads']} | {fmt_s(r)} | "
                     f"{r['seconds'] / report['scaling_shuffles'] * 1e3:.2f} ms | {r['peak_mb']:.0f} MB |")
    cal = report.get("calibration")
    if cal:
        lines += ["", f"## Calibration and power ({cal['rows'][0]['studies']} simulated studies per row: {cal['nodes']} "
                  f"nodes, {cal['subjects']} subjects in two groups, {cal['shuffles']} shuffles, t = {cal['threshold_t']}, effect on "
                  f"{cal['planted_edges']} edges)", "",
                  f"Family-wise rejection rate at α = 0.05 with no effect; the binomial 95% interval for "
                  f"{cal['rows'][0]['studies']} studies is {cal['null_interval_95'][0]}–{cal['null_interval_95'][1]} "
                  "rejections. With an effect (Cohen's d on the planted edges): the rate at which a significant "
                  "component (NBS) or edge (max-T) lies on the planted edges.", "",
                  "| effect d | method | rejections | rate |", "|---|---|---|---|"]
        for row in cal["rows"]:
            lines.append(f"| {row['effect']} | {row['method']} | {row['rejections']} / {row['studies']} | {row['rate']:.3f} |")
    lines += ["", "Notes: times are measured inside each process around the test (data already loaded); bctpy is "
              "timed on 1 and 3 permutations and extrapolated linearly to the full count; connectomestats is "
              "timed as a whole command (reading the connectome files included) under a time limit. "
              "'others' in the log is the CPU share other processes used during a run; runs over the limit "
              "were repeated and every attempt is in stats.json.", ""]
    path.write_text("\n".join(lines))


def main(argv=None):
    global PYTHON_PATH
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run (100 regions, 500 shuffles)")
    parser.add_argument("--skip-bctpy", action="store_true")
    parser.add_argument("--skip-mrtrix", action="store_true")
    parser.add_argument("--mrtrix-limit", type=float, default=240.0, help="time limit per connectomestats run (s)")
    parser.add_argument("--mrtrix-shuffles", type=int, default=10, help="shuffles asked of connectomestats at full size")
    parser.add_argument("--calibration-studies", type=int, default=400)
    parser.add_argument("--max-load", type=float, default=0.7, help="wait for a 1-minute load below this")
    parser.add_argument("--max-wait", type=float, default=900.0, help="longest wait for a quiet machine (s)")
    parser.add_argument("--max-contention", type=float, default=0.10)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from the .json and stop")
    parser.add_argument("--pythonpath", default=PYTHON_PATH, help="where the rewire package is (default python/)")
    parser.add_argument("--sections", default="main,bctpy,mrtrix,scaling,calibration",
                        help="what to run; the other sections are kept from the previous results file")
    args = parser.parse_args(argv)
    PYTHON_PATH = args.pythonpath
    PYTHON_ENV["PYTHONPATH"] = PYTHON_PATH

    if args.report_only:
        stem = "stats-quick" if args.quick else "stats"
        write_markdown(json.loads((RESULTS / f"{stem}.json").read_text()), RESULTS / f"{stem}.md")
        return 0
    nodes, subjects, shuffles = (100, 100, 500) if args.quick else (400, 100, 5000)
    edges = nodes * (nodes - 1) // 2
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join(["python", "benchmarks/stats.py"] + [shlex.quote(a) for a in (argv or sys.argv[1:])]),
              "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
              "load_before": round(os.getloadavg()[0], 2), "machine": machine(), "quick": args.quick,
              "nodes": nodes, "edges": edges, "subjects": subjects, "shuffles": shuffles}
    print(report["uptime"], flush=True)
    paths = make_study(nodes, subjects)
    sections = set(args.sections.split(","))
    sections -= {name for name, skip in (("bctpy", args.skip_bctpy), ("mrtrix", args.skip_mrtrix)) if skip}
    stem = "stats-quick" if args.quick else "stats"
    previous = {}
    if (RESULTS / f"{stem}.json").exists():
        previous = json.loads((RESULTS / f"{stem}.json").read_text())
    if sections != {"main", "bctpy", "mrtrix", "scaling", "calibration"}:
        report["sections_rerun"] = sorted(sections)
        report["earlier_run"] = {"date": previous.get("date"), "command": previous.get("command")}

    if "main" in sections:
        print(f"rewire, {nodes} regions, {subjects} subjects, {shuffles} shuffles", flush=True)
        report["main"] = {}
        for name in DESIGNS:
            report["main"][name] = {"rewire": run_rewire(rewire_spec(paths, name, shuffles=shuffles), args,
                                                         f"rewire NBS {name}")}
        report["extra"] = {
            "TFNBS (dh 0.1, E 0.4, H 3)": run_rewire(rewire_spec(paths, "paired", "tfnbs", shuffles), args,
                                                     "rewire TFNBS paired"),
            "max-T": run_rewire(rewire_spec(paths, "paired", "maxt", shuffles), args, "rewire max-T paired"),
        }
    else:
        report["main"] = {name: {"rewire": row["rewire"]} for name, row in previous["main"].items()}
        report["extra"] = previous.get("extra", {})

    if "bctpy" in sections:
        print("bctpy nbs_bct (1 and 3 permutations, extrapolated)", flush=True)
        for name, paired in (("paired", True), ("two-sample", False)):
            rows = [measure_quietly([sys.executable, "-c", BCTPY_CHILD,
                                     json.dumps(dict(data=str(paths["deltas"]), nodes=nodes, threshold=3.0, k=k,
                                                     paired=paired))], args, label=f"bctpy {name} k={k}")
                    for k in (1, 3)]
            per = (rows[1]["seconds"] - rows[0]["seconds"]) / 2
            report["main"][name]["bctpy"] = {"runs": rows, "per_permutation_s": per,
                                             "extrapolated_s": rows[0]["seconds"] + (shuffles - 1) * per}
    else:
        for name, row in previous.get("main", {}).items():
            if "bctpy" in row:
                report["main"][name]["bctpy"] = row["bctpy"]

    if "mrtrix" in sections and shutil.which("connectomestats"):
        print(f"connectomestats ({args.mrtrix_shuffles} shuffles, limit {args.mrtrix_limit:.0f} s)", flush=True)
        for name, design in (("paired", "paired"), ("two-sample", "two-sample"), ("FL 3", "fl3")):
            row = run_mrtrix(paths, nodes, design, args.mrtrix_shuffles, args.mrtrix_limit,
                             f"connectomestats {name}", args)
            row["shuffles_asked"] = args.mrtrix_shuffles
            report["main"][name]["mrtrix"] = row
        report["mrtrix_small"] = []
        for small_nodes, small_subjects, small_shuffles in ((30, 100, 100), (100, 20, 1000)):
            small = make_study(small_nodes, small_subjects)
            c = run_mrtrix(small, small_nodes, "two-sample", small_shuffles, args.mrtrix_limit,
                           f"connectomestats {small_nodes} regions {small_subjects} subjects", args)
            r = run_rewire(rewire_spec(small, "two-sample", shuffles=small_shuffles), args,
                           f"rewire {small_nodes} regions {small_subjects} subjects")
            report["mrtrix_small"].append(dict(nodes=small_nodes, subjects=small_subjects, shuffles=small_shuffles,
                                               mrtrix=c, rewire=r))
    elif "mrtrix" not in sections:
        for name, row in previous.get("main", {}).items():
            if "mrtrix" in row:
                report["main"][name]["mrtrix"] = row["mrtrix"]
        report["mrtrix_small"] = previous.get("mrtrix_small", [])

    scaling_shuffles = 500 if args.quick else shuffles
    report["scaling_shuffles"] = scaling_shuffles
    if "scaling" in sections:
        report["scaling"] = []
        print(f"scaling ({scaling_shuffles} shuffles)", flush=True)
        big = make_study(nodes, 200) if not args.quick else paths
        grid = [(nodes, s, 2) for s in ((50, 100, 200) if not args.quick else (50, 100))]
        grid += [(n, subjects, 2) for n in ((100, 200) if not args.quick else (50,))]
        grid += [(nodes, subjects, 1)]
        for n, s, threads in grid:
            source = big if s > subjects else paths
            # Fewer regions: the first n regions' edges are not a prefix of the edge vector, so each size
            # has its own study.
            if n != nodes:
                source = make_study(n, subjects)
            spec = rewire_spec(source, "paired", shuffles=scaling_shuffles, threads=threads, subjects=s)
            r = run_rewire(spec, args, f"scaling {n} regions {s} subjects {threads} thread(s)")
            report["scaling"].append(dict(nodes=n, edges=n * (n - 1) // 2, subjects=s, threads=threads, result=r))
    else:
        report["scaling"] = previous.get("scaling", [])
        report["scaling_shuffles"] = previous.get("scaling_shuffles", scaling_shuffles)

    if "calibration" in sections and args.calibration_studies > 0:
        print(f"calibration ({args.calibration_studies} studies per row)", flush=True)
        t0 = time.perf_counter()
        report["calibration"] = calibration(args.calibration_studies if not args.quick else 50)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    elif "calibration" not in sections:
        report["calibration"] = previous.get("calibration")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1, default=float))
    write_markdown(report, RESULTS / f"{stem}.md")
    print((RESULTS / f"{stem}.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
