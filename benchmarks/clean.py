#!/usr/bin/env python3
"""Signal cleaning benchmark: rewire.clean against nilearn.signal.clean on the same arrays, alone and
followed by the connectivity estimate (clean + estimate).

    python benchmarks/clean.py [--frames 1200] [--regions 116 400 1000] [--repeats 3] [--quick]

For every N, one simulated run of T frames (random-walk drifts, band-limited fluctuations and a
shared motion component; seed fixed) and 36 confounds (fMRIPrep's 36P layout: 6 motion parameters,
white matter, CSF and global signal, with derivatives, squares and squared derivatives) are
cleaned with a realistic option set: detrend, Butterworth band-pass 0.01–0.1 Hz at TR 0.72 s,
confound regression, z-scoring (nilearn's defaults otherwise). Each call is timed in this process
around the call itself; the best of ``--repeats`` is kept. rewire runs with its default threads and
with one thread. The max relative difference between the two outputs is recorded with each row.
*clean + estimate* times the whole chain to a connectivity matrix: nilearn's ``signal.clean`` then
``ConnectivityMeasure(kind="correlation")`` (its default Ledoit–Wolf estimator) against
``rewire.clean`` then ``rewire.connectivity(kind="correlation", estimator="ledoit_wolf")`` (the same
numbers).

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from the environment before numpy loads (they slow
OpenBLAS down on this machine). Results: benchmarks/results/clean.json and clean.md (``--quick``:
clean-quick.*).
"""
from __future__ import annotations

import os

for _name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_name, None)

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
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "python"))

import nilearn  # noqa: E402
import nilearn.signal  # noqa: E402
from nilearn.connectome import ConnectivityMeasure  # noqa: E402
import scipy  # noqa: E402

import rewire  # noqa: E402

SEED = 20240615
TR = 0.72
OPTIONS = dict(detrend=True, standardize="zscore_sample", standardize_confounds=True, filter="butterworth",
               low_pass=0.1, high_pass=0.01, t_r=TR)


def simulate(frames: int, regions: int, seed: int):
    """(signals T × N, confounds T × 36) with drifts, band-limited signal and motion."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] * TR
    motion = rng.standard_normal((frames, 6)).cumsum(0) * 0.02
    tissue = rng.standard_normal((frames, 3)).cumsum(0) * 0.5 + np.array([800.0, 900.0, 1000.0])
    base = np.hstack([motion, tissue])
    derivative = np.vstack([np.zeros((1, 9)), np.diff(base, axis=0)])
    confounds = np.hstack([base, derivative, base ** 2, derivative ** 2])
    freqs = rng.uniform(0.01, 0.1, regions)
    signals = (rng.uniform(500, 1500, regions) + rng.standard_normal((frames, regions)).cumsum(0) * 0.3
               + 5.0 * np.sin(2 * np.pi * freqs * t + rng.uniform(0, 2 * np.pi, regions))
               + motion @ rng.standard_normal((6, regions)) * 20 + rng.standard_normal((frames, regions)))
    return signals, confounds


def best_of(repeats: int, call):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def settle(seconds: float = 0.5) -> None:
    """Lets idle worker threads (OpenBLAS, OpenMP) stop spinning before the next timed call."""
    time.sleep(seconds)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return f"{cpu}, {os.cpu_count()} cores, {memory:.1f} GiB; {platform.platform()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1200)
    parser.add_argument("--regions", type=int, nargs="+", default=[116, 400, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="T = 300, N = 50 and 116, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.regions, args.repeats = 300, [50, 116], 2

    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_start = os.getloadavg()
    rows = []
    for regions in args.regions:
        signals, confounds = simulate(args.frames, regions, SEED + regions)

        def nilearn_chain():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cleaned = nilearn.signal.clean(signals, confounds=confounds, **OPTIONS)
                return ConnectivityMeasure(kind="correlation").fit_transform([cleaned])[0]

        def rewire_chain():
            cleaned = rewire.clean(signals, confounds=confounds, **OPTIONS)
            return rewire.connectivity(cleaned, kind="correlation", estimator="ledoit_wolf")

        # rewire first, then nilearn, with a pause between: OpenBLAS's threads spin for a while after each
        # numpy/scipy call, and would take the second core from whatever runs right after nilearn.
        settle()
        rewire_s, got = best_of(args.repeats, lambda: rewire.clean(signals, confounds=confounds, **OPTIONS))
        single_s, single = best_of(args.repeats, lambda: rewire.clean(
            signals, confounds=confounds, threads=1, **OPTIONS))
        rewire_chain_s, matrix = best_of(args.repeats, rewire_chain)
        settle()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nilearn_s, reference = best_of(args.repeats, lambda: nilearn.signal.clean(
                signals, confounds=confounds, **OPTIONS))
        nilearn_chain_s, reference_matrix = best_of(args.repeats, nilearn_chain)
        assert np.array_equal(got, single), "results depend on the thread count"
        difference = float(np.abs(got - reference).max() / np.abs(reference).max())
        chain_difference = float(np.abs(matrix - reference_matrix).max())
        row = dict(T=args.frames, N=regions, confounds=confounds.shape[1], nilearn_s=nilearn_s, rewire_s=rewire_s,
                   rewire_1thread_s=single_s, ratio=nilearn_s / rewire_s, ratio_1thread=nilearn_s / single_s,
                   max_rel_diff=difference, nilearn_chain_s=nilearn_chain_s, rewire_chain_s=rewire_chain_s,
                   chain_ratio=nilearn_chain_s / rewire_chain_s, chain_max_abs_diff=chain_difference,
                   load_after=os.getloadavg()[0])
        rows.append(row)
        print(f"T={args.frames} N={regions}: nilearn {nilearn_s * 1e3:.1f} ms, rewire {rewire_s * 1e3:.1f} ms "
              f"({row['ratio']:.1f}×), 1 thread {single_s * 1e3:.1f} ms ({row['ratio_1thread']:.1f}×), "
              f"max rel diff {difference:.1e}; clean + estimate: nilearn {nilearn_chain_s * 1e3:.1f} ms, rewire "
              f"{rewire_chain_s * 1e3:.1f} ms ({row['chain_ratio']:.1f}×), max abs diff {chain_difference:.1e}",
              flush=True)

    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT)] + sys.argv[1:])
    threads = {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                         "REWIRE_NUM_THREADS")}
    report = dict(
        benchmark="clean", date=started, command=command, machine=machine(), load_average_start=load_start,
        versions=dict(rewire=rewire.__version__, nilearn=nilearn.__version__, numpy=np.__version__,
                      scipy=scipy.__version__),
        thread_settings=threads, options=OPTIONS, repeats=args.repeats, seed=SEED, target_ratio=10.0, rows=rows)
    stem = "clean-quick" if args.quick else "clean"
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")

    lines = [
        "# Signal cleaning: rewire.clean vs nilearn.signal.clean",
        "",
        f"- date: {started}",
        f"- command: `{command}`",
        f"- machine: {machine()}",
        f"- load average at start: {', '.join(f'{v:.2f}' for v in load_start)}",
        f"- versions: rewire {rewire.__version__}, nilearn {nilearn.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}",
        f"- thread settings: {', '.join(f'{k}={v}' for k, v in threads.items())}; "
        "OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset",
        "- options: detrend, 36 confounds (36P layout), Butterworth band-pass 0.01–0.1 Hz (order 5), "
        f"TR {TR} s, standardize='zscore_sample', standardize_confounds",
        f"- each time: best of {args.repeats} calls in one process, same arrays for both; rewire's calls "
        "first, then nilearn's, after a 0.5 s pause each (idle BLAS threads stop spinning)",
        "",
        "| T | N | nilearn s | rewire s | nilearn / rewire | rewire 1 thread s | nilearn / rewire 1 thread "
        "| max rel diff | load after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['T']} | {r['N']} | {r['nilearn_s']:.4f} | {r['rewire_s']:.4f} | {r['ratio']:.1f} | "
                     f"{r['rewire_1thread_s']:.4f} | {r['ratio_1thread']:.1f} | {r['max_rel_diff']:.1e} | "
                     f"{r['load_after']:.2f} |")
    lines += ["", "Clean + estimate (nilearn: `signal.clean` + `ConnectivityMeasure(kind=\"correlation\")`, "
              "Ledoit–Wolf; rewire: `clean` + `connectivity(kind=\"correlation\", estimator=\"ledoit_wolf\")`):", "",
              "| T | N | nilearn s | rewire s | nilearn / rewire | max abs diff of the matrices |",
              "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['T']} | {r['N']} | {r['nilearn_chain_s']:.4f} | {r['rewire_chain_s']:.4f} | "
                     f"{r['chain_ratio']:.1f} | {r['chain_max_abs_diff']:.1e} |")
    lowest = min(min(r["ratio"], r["chain_ratio"]) for r in rows)
    lines += ["", f"Target: ≥ 10× nilearn for every N, cleaning alone and clean + estimate — "
              f"**{'met' if lowest >= 10.0 else 'missed'}** (lowest {lowest:.1f}×)."]
    (out_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out_dir / (stem + '.json')} and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
