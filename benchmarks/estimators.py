#!/usr/bin/env python3
"""Connectivity estimators: rewire against nilearn's ConnectivityMeasure on the same arrays, in one run.

    python benchmarks/estimators.py [--repeats 3] [--subjects 50] [--quick]

Rows (T = 1200 time points, N ∈ {116, 400, 1000}; signals with a shared network structure and AR(1)
autocorrelation from a fixed seed; the same arrays go to both libraries):

* ``correlation (defaults)``  ``rewire.connectivity(ts)`` (exact Pearson) against
  ``ConnectivityMeasure(kind="correlation").fit_transform([ts])`` (nilearn's default: Ledoit–Wolf) —
  what each library does when asked for "the correlation matrix"
* ``correlation (ledoit_wolf)``  ``rewire.connectivity(ts, estimator="ledoit_wolf")``: the same numbers
  as nilearn's default
* ``partial correlation (ledoit_wolf)``  both with Ledoit–Wolf (nilearn's default)
* ``tangent``  ``rewire.Tangent().fit_transform(group)`` against
  ``ConnectivityMeasure(kind="tangent").fit_transform(group)`` for ``--subjects`` subjects at N = 400

Each time is the best of ``--repeats`` calls, measured in this process around the call alone.
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's environment before numpy loads
OpenBLAS; every other thread setting is left as it is (numpy/scipy use OpenBLAS's threads, rewire
OpenMP's; both default to all cores). Each row records the load average and how much of the machine
other processes used while it ran, because the numbers mean little on a busy machine.
For the rows where both compute the same thing, ``max_rel_diff`` is max |rewire − nilearn| / max |nilearn|.

Results: benchmarks/results/estimators.json and estimators.md (``--quick``: a smoke test on small
arrays, written to estimators-quick.*).
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # before numpy loads OpenBLAS
    os.environ.pop(_var, None)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

import nilearn  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from nilearn.connectome import ConnectivityMeasure  # noqa: E402

import rewire  # noqa: E402

SEED = 20251125


def signals(rng, t, n, common):
    """(T, N) signals: AR(1) (φ = 0.5) innovations mixed by a shared and an individual matrix."""
    e = rng.standard_normal((t, n))
    for i in range(1, t):
        e[i] += 0.5 * e[i - 1]
    mix = common + 0.15 * rng.standard_normal((n, n)) / np.sqrt(n)
    return e @ mix + 100.0


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def others_busy(seconds=0.5):
    """Share of the machine (0: idle, 1: every core busy) that other processes use, sampled while this
    process sleeps."""
    hz = os.sysconf("SC_CLK_TCK")
    j0 = busy_jiffies()
    time.sleep(seconds)
    return min(1.0, max(0.0, (busy_jiffies() - j0) / hz / (seconds * (os.cpu_count() or 1))))


def wait_until_quiet(max_busy, max_wait):
    """Waits (up to max_wait s) until other processes use at most max_busy of the machine; returns the
    last sample."""
    deadline = time.monotonic() + max_wait
    busy = others_busy()
    while busy > max_busy and time.monotonic() < deadline:
        time.sleep(5.0)
        busy = others_busy()
    return busy


class Contention:
    """Share of the machine that other processes used between start and stop: all CPUs' busy time minus
    this process's own CPU time (meaningful for windows of a second or more: /proc/stat counts in ticks)."""

    def __init__(self):
        self.jiffies, self.own, self.wall = busy_jiffies(), sum(os.times()[:2]), time.perf_counter()

    def stop(self):
        hz, cores = os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
        wall = time.perf_counter() - self.wall
        others = (busy_jiffies() - self.jiffies) / hz - (sum(os.times()[:2]) - self.own)
        return wall, min(1.0, max(0.0, others / (wall * cores)))


def timed(fn, repeats):
    """Best wall time of `repeats` calls and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def max_rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / np.abs(b).max())


def nilearn_call(kind, estimator=None):
    def run(x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ConnectivityMeasure(kind=kind, cov_estimator=estimator).fit_transform(x)
    return run


def eigendecompositions(tangent, group, repeats):
    """What the tangent row is made of: subjects × (iterations + 1) whitenings W C W (W = mean^-1/2) each
    followed by a symmetric eigendecomposition (for its log), one per subject per geometric-mean step and
    one per subject for the embedding. One whitened covariance of the group is decomposed on one thread by
    rewire's solver (rewire._core.eigh) and by LAPACK through scipy (dsyevr, scipy's default, and dsyevd);
    `eigensolver_share_s` is the count × rewire's time spread over all cores."""
    import scipy.linalg
    from threadpoolctl import threadpool_limits

    w = tangent.whitening_
    whitened = w @ np.cov(np.asarray(group[0]), rowvar=False) @ w
    whitened = (whitened + whitened.T) / 2
    count = len(group) * (tangent.n_iter_ + 1)
    with threadpool_limits(1):
        ours, _ = timed(lambda: rewire._core.eigh(whitened), repeats)
        evr, _ = timed(lambda: scipy.linalg.eigh(whitened), repeats)
        evd, _ = timed(lambda: scipy.linalg.eigh(whitened, driver="evd"), repeats)
    cores = os.cpu_count() or 1
    return {"eigendecompositions": count, "rewire_eigh_s": ours, "dsyevr_s": evr, "dsyevd_s": evd, "cores": cores,
            "eigensolver_share_s": count * ours / cores}


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = None
    try:
        with open("/proc/meminfo") as f:
            memory = round(int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": memory, "platform": platform.platform(),
            "python": platform.python_version()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="calls per measurement; the best is kept")
    parser.add_argument("--subjects", type=int, default=50, help="subjects of the tangent row")
    parser.add_argument("--quick", action="store_true", help="small arrays, results to estimators-quick.*")
    parser.add_argument("--max-busy", type=float, default=0.25,
                        help="wait before a row (and rerun it) while other processes use more of the machine")
    parser.add_argument("--max-wait", type=float, default=300.0, help="seconds to wait for a quiet machine")
    parser.add_argument("--retries", type=int, default=2, help="reruns of a disturbed row")
    args = parser.parse_args(argv)

    t = 300 if args.quick else 1200
    sizes = (30, 60) if args.quick else (116, 400, 1000)
    tangent_n = 40 if args.quick else 400
    subjects = min(args.subjects, 8) if args.quick else args.subjects
    rng = np.random.default_rng(SEED)
    rows = []
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()

    def row(kind, n, rewire_fn, nilearn_fn, data, compare, note="", flops=None):
        for attempt in range(1, args.retries + 2):
            busy = wait_until_quiet(args.max_busy, args.max_wait)
            window = Contention()
            r_s, r_out = timed(lambda: rewire_fn(data), args.repeats)
            n_s, n_out = timed(lambda: nilearn_fn(data), args.repeats)
            wall, during = window.stop()
            # Short rows are judged by the sample before them; long ones by what happened meanwhile.
            disturbed = during if wall >= 2.0 else busy
            if disturbed <= args.max_busy:
                break
        entry = {"kind": kind, "T": t, "N": n, "subjects": len(data) if isinstance(data, list) else 1,
                 "rewire_s": r_s, "nilearn_s": n_s, "ratio": n_s / r_s,
                 "max_rel_diff": max_rel(r_out, n_out) if compare else None,
                 "others_busy_before": round(busy, 3), "others_busy_during": round(during, 3) if wall >= 2.0 else None,
                 "attempts": attempt, "load_avg_1min_after": os.getloadavg()[0],
                 "rewire_gflops": None if flops is None else flops / r_s / 1e9, "note": note}
        rows.append(entry)
        diff = "" if entry["max_rel_diff"] is None else f"  diff {entry['max_rel_diff']:.1e}"
        print(f"{kind:34s} N={n:5d}  rewire {r_s:10.3g} s  nilearn {n_s:10.3g} s  ×{entry['ratio']:6.1f}{diff}"
              f"  (others busy {busy:.0%}, attempt {attempt}, load {entry['load_avg_1min_after']:.2f})", flush=True)

    for n in sizes:
        common = np.eye(n) + 0.4 * rng.standard_normal((n, n)) / np.sqrt(n)
        x = signals(rng, t, n, common)
        _, info = rewire.connectivity(x, return_info=True)
        gram = float(t) * n * (n + 1)  # the one product Xc'Xc (half of it: SYRK), 2 flops per multiply-add
        row("correlation (defaults)", n, lambda d: rewire.connectivity(d), lambda d: nilearn_call("correlation")([d])[0],
            x, False, "rewire: exact Pearson; nilearn: Ledoit–Wolf shrunk (different numbers by design)", gram)
        row("correlation (ledoit_wolf)", n, lambda d: rewire.connectivity(d, estimator="ledoit_wolf"),
            lambda d: nilearn_call("correlation")([d])[0], x, True, "", gram)
        row("partial correlation (ledoit_wolf)", n,
            lambda d: rewire.connectivity(d, "partial correlation", "ledoit_wolf"),
            lambda d: nilearn_call("partial correlation")([d])[0], x, True)

    common = np.eye(tangent_n) + 0.4 * rng.standard_normal((tangent_n, tangent_n)) / np.sqrt(tangent_n)
    group = [signals(rng, t, tangent_n, common) for _ in range(subjects)]
    tangent = rewire.Tangent()
    row("tangent (ledoit_wolf)", tangent_n, lambda d: tangent.fit_transform(d), nilearn_call("tangent"), group, True,
        "fit_transform of the whole group (covariances, geometric mean, embedding)")
    rows[-1]["geometric_mean_iterations"] = tangent.n_iter_
    rows[-1]["eigendecompositions"] = eigendecompositions(tangent, group, args.repeats)

    result = {
        "benchmark": "estimators",
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
        "machine": machine(),
        "load_avg_at_start": load_start,
        "versions": {"rewire": rewire.__version__, "nilearn": nilearn.__version__, "scikit-learn": sklearn.__version__,
                     "numpy": np.__version__, "scipy": scipy.__version__},
        "rewire_kernels": rewire._core.kernel_variant(),
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "REWIRE_NUM_THREADS")},
        "repeats": args.repeats,
        "max_busy": args.max_busy,
        "seed": SEED,
        "rows": rows,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stem = "estimators-quick" if args.quick else "estimators"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(markdown(result))
    print(f"wrote {out / stem}.json and .md")


def markdown(r):
    m = r["machine"]
    lines = [
        "# Connectivity estimators: rewire vs nilearn",
        "",
        f"- date: {r['date']}",
        f"- command: `{r['command']}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['platform']}",
        f"- load average at start: {', '.join(f'{v:.2f}' for v in r['load_avg_at_start'])}",
        f"- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
        f"- rewire kernels: {r['rewire_kernels']}; thread settings: "
        + ", ".join(f"{k}={v}" for k, v in r["threads"].items()),
        f"- each time: best of {r['repeats']} calls in one process; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset; "
        f"rows wait for and are rerun unless other processes use at most {r['max_busy']:.0%} of the machine",
        "",
        "| kind | T | N | subjects | rewire s | nilearn s | nilearn / rewire | max rel diff | rewire GFLOP/s | others busy "
        "| attempts | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        diff = "—" if row["max_rel_diff"] is None else f"{row['max_rel_diff']:.1e}"
        busy = f"{row['others_busy_before']:.0%}"
        if row["others_busy_during"] is not None:
            busy += f" / {row['others_busy_during']:.0%}"
        gflops = "—" if row["rewire_gflops"] is None else f"{row['rewire_gflops']:.0f}"
        lines.append(f"| {row['kind']} | {row['T']} | {row['N']} | {row['subjects']} | {row['rewire_s']:.3g} | "
                     f"{row['nilearn_s']:.3g} | {row['ratio']:.1f} | {diff} | {gflops} | {busy} | {row['attempts']} | "
                     f"{row['note']} |")
    for row in (row for row in r["rows"] if row.get("eigendecompositions")):
        e = row["eigendecompositions"]
        lines += ["", f"Tangent: {row['subjects']} subjects × ({row['geometric_mean_iterations']} geometric-mean "
                  f"iterations + 1 embedding) = {e['eigendecompositions']} whitenings and symmetric "
                  f"eigendecompositions of {row['N']} × {row['N']} matrices. One eigendecomposition on one core: "
                  f"rewire {e['rewire_eigh_s'] * 1e3:.1f} ms, LAPACK dsyevd {e['dsyevd_s'] * 1e3:.1f} ms, dsyevr "
                  f"(scipy's default) {e['dsyevr_s'] * 1e3:.1f} ms; rewire's {e['eigendecompositions']} take "
                  f"{e['eigensolver_share_s']:.2f} s of its {row['rewire_s']:.2f} s on {e['cores']} cores. 10× nilearn "
                  f"would need {row['nilearn_s'] / 10:.2f} s."]
    lines += ["", "`others busy`: share of the machine other processes used in the half second before the row "
              "(0% = idle) / during it (rows of 2 s or more); a row is rerun (`attempts`) when that share "
              "exceeds --max-busy. `rewire GFLOP/s`: T·N(N+1) flops of the one product Xc'Xc (SYRK) a "
              "correlation needs, over rewire's time — how close it runs to the cores' peak.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
