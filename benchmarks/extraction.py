#!/usr/bin/env python3
"""End-to-end extraction benchmark: rewire against inflate-only passes and nilearn.

    python benchmarks/extraction.py [--volumes 600 1200] [--quick] [--skip-nilearn]

For every simulated BOLD file (int16 ``.nii.gz`` and float32 ``.nii``, 91×109×91 at 2 mm, one per
``--volumes``) and every atlas (AICHA, 192 regions; a 400-parcel k-means partition of the MNI152
brain mask that this script generates), each measurement runs in a fresh process:

* ``inflate``  the file streamed through rewire's own reader (ISA-L for ``.gz``) and discarded;
               run with a 256 KiB and a one-volume buffer, the faster is the baseline
* ``zlib``     the same pass with zlib's gzread, for context (``.gz`` only)
* ``rewire``   ``rewire_bench_io extract`` (C++: Atlas::from_labels + rewire::extract)
* ``python``   ``rewire.extract`` through the Python API
* ``nilearn``  ``NiftiLabelsMasker(labels_img=atlas).fit_transform(bold)``, once, under an address
               space limit (RLIMIT_AS) and a time limit, so that running out of memory is recorded
               as a MemoryError instead of waking the OOM killer

The fast measurements (inflate, rewire, python) are repeated (``--repeats``, default 3) and the best
and median are kept. Peak memory is ru_maxrss of the measured process, read with ``os.wait4`` by a
minimal launcher (a fork of this script would report this script's own size). Times are measured
inside the process around the work itself (no interpreter start-up). Each run also records how
much CPU other processes used while it ran; runs disturbed by more than ``--max-contention`` of the
machine are retried after waiting for the machine to calm down.

Data go to benchmarks/data/ (git-ignored) and are reused when their parameters match; results to
benchmarks/results/extraction.json and extraction.md. ``--quick`` is a smoke test on a coarse grid
with a few volumes (seconds) and writes extraction-quick.* instead.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AICHA = Path("/usr/share/mricron/templates/AICHAmc.nii.gz")
MNI_2MM_AFFINE = [[-2.0, 0.0, 0.0, 90.0], [0.0, 2.0, 0.0, -126.0], [0.0, 0.0, 2.0, -72.0], [0.0, 0.0, 0.0, 1.0]]
TR = 0.72
SEED = 20240601
PARCELS = 400
GZIP_LEVEL = 1
GENERATOR = "rewire.simulate.simulate_run (default atlas)"

# The launcher runs as `python -S -I -c LAUNCHER result.json timeout_s as_limit_bytes argv...`. It is tiny
# on purpose: ru_maxrss of a child includes the size of the process it was forked from, so the measured
# program must be forked from something small.
LAUNCHER = r"""
import json, os, resource, signal, sys, time
out, timeout, limit, argv = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
def busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
hz = os.sysconf("SC_CLK_TCK")
b0 = busy(); t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        if limit > 0:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
timed_out = []
def kill(*_):
    timed_out.append(1)
    os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, kill)
if timeout > 0:
    signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, ru = os.wait4(pid, 0)
signal.setitimer(signal.ITIMER_REAL, 0)
wall = time.perf_counter() - t0; b1 = busy()
child_cpu = ru.ru_utime + ru.ru_stime
with open(out, "w") as f:
    json.dump({"exit": os.waitstatus_to_exitcode(status), "timed_out": bool(timed_out), "wall_s": wall,
               "maxrss_kib": ru.ru_maxrss, "cpu_s": child_cpu,
               "others_cpu_s": max(0.0, (b1 - b0) / hz - child_cpu)}, f)
"""

PYTHON_API_CHILD = r"""
import json, sys, time
import numpy as np
import rewire
bold, atlas, save = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
signals = rewire.extract(bold, atlas)
elapsed = time.perf_counter() - t0
if save:
    np.save(save, signals)
print(json.dumps({"seconds": elapsed, "T": signals.shape[0], "N": signals.shape[1]}))
"""

NILEARN_CHILD = r"""
import json, sys, time, warnings
bold, atlas, save = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
try:
    import numpy as np
    import nilearn
    from nilearn.maskers import NiftiLabelsMasker
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    signals = NiftiLabelsMasker(labels_img=atlas).fit_transform(bold)
    elapsed = time.perf_counter() - t0
except MemoryError as e:
    print(json.dumps({"error": "MemoryError", "message": str(e)[:300], "seconds": time.perf_counter() - t0}))
    sys.exit(3)
np.save(save, signals)
print(json.dumps({"seconds": elapsed, "T": signals.shape[0], "N": signals.shape[1],
                  "nilearn": nilearn.__version__}))
"""


# ------------------------------------------------------------------------------------------ running


def machine_quiet(max_load: float, max_wait: float) -> float:
    """Waits (up to max_wait s) until the 1-minute load average is below max_load; returns it."""
    deadline = time.monotonic() + max_wait
    load = os.getloadavg()[0]
    while load >= max_load and time.monotonic() < deadline:
        time.sleep(10)
        load = os.getloadavg()[0]
    return load


def measure(argv, *, env=None, timeout=0.0, memory_limit=0, label=""):
    """Runs argv in a fresh process; returns its JSON output line merged with time and peak memory."""
    with tempfile.TemporaryDirectory(prefix="rewire-bench-") as tmp:
        result_path = Path(tmp) / "launcher.json"
        stdout_path, stderr_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            subprocess.run([sys.executable, "-S", "-I", "-c", LAUNCHER, str(result_path), str(timeout),
                            str(int(memory_limit)), *map(str, argv)], stdout=out, stderr=err, env=env, check=True)
        launcher = json.loads(result_path.read_text())
        stdout = stdout_path.read_text(errors="replace")
        stderr = stderr_path.read_text(errors="replace")
    row = {}
    for line in stdout.splitlines()[::-1]:
        if line.startswith("{"):
            row = json.loads(line)
            break
    row.update(launcher)
    row["peak_mb"] = launcher["maxrss_kib"] * 1024 / 1e6
    wall = max(launcher["wall_s"], 1e-9)
    row["contention"] = launcher["others_cpu_s"] / (wall * (os.cpu_count() or 1))
    row["load_after"] = os.getloadavg()[0]
    if launcher["exit"] != 0 and "error" not in row:
        row["error"] = "timeout" if launcher["timed_out"] else f"exit status {launcher['exit']}"
        row["stderr_tail"] = stderr[-2000:]
    if label:
        status = row.get("error") or f"{row.get('seconds', float('nan')):.3f} s"
        print(f"  {label:<44} {status:>12}  peak {row['peak_mb']:8.1f} MB  others {row['contention']:.0%}",
              flush=True)
        if "stderr_tail" in row:
            print("    " + row["stderr_tail"][-800:].replace("\n", "\n    "), flush=True)
    return row


def measure_quietly(argv, args, **kwargs):
    """measure(), retried (up to --retries times) while other processes took more than
    --max-contention of the machine during the run; every attempt is kept."""
    attempts = []
    label = kwargs.pop("label", "")
    for attempt in range(1 + args.retries):
        row = measure(argv, label=label + (" (again: machine was busy)" if attempt else ""), **kwargs)
        attempts.append(row)
        if row["contention"] <= args.max_contention or "error" in row:
            break
        machine_quiet(args.max_load, args.max_wait)
    best = attempts[-1]
    if len(attempts) > 1:
        best = dict(best, attempts=[{k: a.get(k) for k in ("seconds", "contention", "peak_mb")} for a in attempts])
    return best


def summarise(rows):
    ok = [r for r in rows if "error" not in r]
    if not ok:
        return {"error": rows[0].get("error") if rows else "not run", "runs": rows}
    seconds = [r["seconds"] for r in ok]
    return {"best_s": min(seconds), "median_s": statistics.median(seconds),
            "peak_mb": max(r["peak_mb"] for r in ok), "runs": rows}


# ------------------------------------------------------------------------------------------- data


def grid_for(resolution: int):
    """Shape and affine of the simulator's MNI grid (91×109×91 at 2 mm)."""
    from rewire.simulate import mni_grid

    shape, affine = mni_grid(resolution)
    return tuple(int(n) for n in shape), affine


def simulate(path: Path, *, volumes: int, dtype: str, resolution: int, mask_path=None):
    from rewire.simulate import simulate_run

    simulate_run(os.fspath(path), timepoints=volumes, tr=TR, resolution=resolution, seed=SEED, dtype=dtype,
                 gzip_level=GZIP_LEVEL, mask_path=os.fspath(mask_path) if mask_path else None)


def ensure_file(path: Path, params: dict, make) -> Path:
    """Builds path with make(path) unless it exists with the same parameters (in path.params.json)."""
    sidecar = path.with_name(path.name + ".params.json")
    if path.exists() and sidecar.exists() and json.loads(sidecar.read_text()) == params:
        return path
    print(f"generating {path.name} ...", flush=True)
    start = time.perf_counter()
    path.unlink(missing_ok=True)
    make(path)
    sidecar.write_text(json.dumps(params, indent=1))
    print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def make_mask(path: Path, resolution: int):
    """The simulator's brain mask (it does not depend on the seed or the number of volumes)."""
    with tempfile.TemporaryDirectory(prefix="rewire-mask-", dir=path.parent) as tmp:
        simulate(Path(tmp) / "short.nii.gz", volumes=20, dtype="int16", resolution=resolution, mask_path=path)


def make_parcels(path: Path, mask_path: Path, resolution: int):
    """A 400-parcel partition of the brain mask: k-means (fixed seed) of the mask voxels' coordinates,
    labels 1..400 numbered by the order of their centres along z, then y, then x."""
    import nibabel as nib
    import numpy as np
    from sklearn.cluster import KMeans

    mask = nib.load(mask_path)
    inside = np.asarray(mask.dataobj) > 0
    coords = np.argwhere(inside).astype(np.float64) * resolution
    kmeans = KMeans(n_clusters=PARCELS, n_init=1, random_state=0).fit(coords)
    order = np.lexsort(kmeans.cluster_centers_.T)
    rank = np.empty(PARCELS, dtype=np.int64)
    rank[order] = np.arange(1, PARCELS + 1)
    labels = np.zeros(inside.shape, dtype=np.int16)
    labels[inside] = rank[kmeans.labels_]
    image = nib.Nifti1Image(labels, mask.affine)
    image.header.set_xyzt_units("mm")
    nib.save(image, path)


def prepare_data(args, data_dir: Path):
    data_dir.mkdir(parents=True, exist_ok=True)
    r = args.resolution
    mask = ensure_file(data_dir / f"brain_mask_{r}mm.nii.gz", {"generator": GENERATOR, "resolution": r},
                       lambda p: make_mask(p, r))
    parcels = ensure_file(data_dir / f"kmeans{PARCELS}_{r}mm.nii.gz",
                          {"kind": "kmeans", "parcels": PARCELS, "resolution": r, "random_state": 0,
                           "mask": mask.name}, lambda p: make_parcels(p, mask, r))
    bolds = []
    for volumes in args.volumes:
        for dtype, suffix in (("int16", ".nii.gz"), ("float32", ".nii")):
            if dtype not in args.dtypes:
                continue
            path = data_dir / f"bold_{r}mm_{volumes}_{dtype}{suffix}"
            params = {"generator": GENERATOR, "timepoints": volumes, "tr": TR, "resolution": r, "seed": SEED,
                      "dtype": dtype, "gzip_level": GZIP_LEVEL}
            ensure_file(path, params, lambda p, v=volumes, d=dtype: simulate(p, volumes=v, dtype=d, resolution=r))
            bolds.append({"path": path, "volumes": volumes, "dtype": dtype, "params": params})
    atlases = [{"name": "AICHA (192)", "path": AICHA}, {"name": f"k-means ({PARCELS})", "path": parcels}]
    return bolds, atlases


# ---------------------------------------------------------------------------------------- benchmark


def nilearn_env():
    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # they slow numpy down on this machine
        env.pop(name, None)
    return env


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "python"), env.get("PYTHONPATH")]))
    return env


def bench_file(bold, atlases, args, bench_io: Path, out_dir: Path):
    path = bold["path"]
    gz = path.name.endswith(".gz")
    print(f"\n{path.name}  ({path.stat().st_size / 1e9:.2f} GB on disk)", flush=True)
    # Untimed pass so that every timed run starts from the page cache.
    measure([bench_io, "inflate", path])
    shape, _ = grid_for(args.resolution)
    volume_bytes = shape[0] * shape[1] * shape[2] * (2 if bold["dtype"] == "int16" else 4)
    record = {"file": path.name, "bytes_on_disk": path.stat().st_size, "volumes": bold["volumes"],
              "dtype": bold["dtype"], "params": bold["params"], "load_before": machine_quiet(args.max_load, args.max_wait)}
    runs = {"inflate_256k": [], "inflate_volume": [], "zlib": []}
    for atlas in atlases:
        runs[("rewire", atlas["name"])] = []
        runs[("python", atlas["name"])] = []
    stem = path.name.split(".")[0]
    # Round robin, so that a disturbance hits every kind of run alike.
    for rep in range(args.repeats):
        runs["inflate_256k"].append(measure_quietly([bench_io, "inflate", path, "--buffer", 262144], args,
                                                    label=f"inflate (256 KiB buffer) #{rep + 1}"))
        runs["inflate_volume"].append(measure_quietly([bench_io, "inflate", path, "--buffer", volume_bytes], args,
                                                      label=f"inflate (one-volume buffer) #{rep + 1}"))
        for atlas in atlases:
            tag = "aicha" if atlas["path"] == AICHA else "kmeans"
            signals = out_dir / f"{stem}_{tag}_rewire.f64" if rep == 0 else ""
            argv = [bench_io, "extract", path, atlas["path"]] + (["--signals", signals] if signals else [])
            runs[("rewire", atlas["name"])].append(measure_quietly(argv, args, label=f"rewire C++ {tag} #{rep + 1}"))
            save = out_dir / f"{stem}_{tag}_python.npy" if rep == 0 else ""
            runs[("python", atlas["name"])].append(measure_quietly(
                [sys.executable, "-c", PYTHON_API_CHILD, path, atlas["path"], save], args,
                env=python_env(), label=f"rewire Python {tag} #{rep + 1}"))
    if gz:
        runs["zlib"].append(measure_quietly([bench_io, "zlib", path, "--buffer", 262144], args,
                                            label="zlib inflate (256 KiB buffer)"))
    record["load_after"] = os.getloadavg()[0]
    record["uncompressed_bytes"] = runs["inflate_256k"][0].get("bytes")
    inflate = {k: summarise(runs[k]) for k in ("inflate_256k", "inflate_volume")}
    record["inflate"] = inflate
    record["inflate_best_s"] = min(v["best_s"] for v in inflate.values() if "best_s" in v)
    record["zlib"] = summarise(runs["zlib"]) if gz else None
    record["atlases"] = []
    for atlas in atlases:
        tag = "aicha" if atlas["path"] == AICHA else "kmeans"
        entry = {"atlas": atlas["name"], "atlas_path": str(atlas["path"]),
                 "rewire": summarise(runs[("rewire", atlas["name"])]),
                 "python": summarise(runs[("python", atlas["name"])])}
        first = entry["rewire"]["runs"][0]
        entry["N"] = first.get("N")
        if not args.skip_nilearn and bold["volumes"] in args.nilearn_volumes:
            free = available_memory_gb()
            print(f"  (MemAvailable {free:.1f} GB before nilearn)", flush=True)
            row = measure([sys.executable, "-c", NILEARN_CHILD, path, atlas["path"], out_dir / f"{stem}_{tag}_nilearn.npy"],
                          env=nilearn_env(), timeout=args.nilearn_timeout,
                          memory_limit=int(args.nilearn_memory_gb * 2**30), label=f"nilearn {tag}")
            row["mem_available_gb_before"] = free
            entry["nilearn"] = row
        entry["agreement"] = agreement(out_dir, stem, tag, entry)
        record["atlases"].append(entry)
    return record


def available_memory_gb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def agreement(out_dir: Path, stem: str, tag: str, entry: dict):
    """Compares the C++ binary's, the Python API's and nilearn's signals of one file and atlas."""
    import numpy as np

    result = {}
    python_path = out_dir / f"{stem}_{tag}_python.npy"
    cpp_path = out_dir / f"{stem}_{tag}_rewire.f64"
    nilearn_path = out_dir / f"{stem}_{tag}_nilearn.npy"
    if not python_path.exists():
        return result
    ours = np.load(python_path)
    if cpp_path.exists():
        cpp = np.fromfile(cpp_path, dtype=np.float64).reshape(ours.shape)
        result["cpp_equals_python"] = bool(np.array_equal(cpp, ours, equal_nan=True))
    nilearn_row = entry.get("nilearn")
    if nilearn_row and "error" not in nilearn_row and nilearn_path.exists():
        theirs = np.load(nilearn_path)
        result["shapes"] = [list(ours.shape), list(theirs.shape)]
        if ours.shape == theirs.shape:
            diff = np.abs(ours - theirs)
            scale = np.maximum(np.abs(ours), np.abs(theirs))
            with np.errstate(invalid="ignore", divide="ignore"):
                relative = np.where(scale > 0, diff / scale, 0.0)
            result["max_abs_diff"] = float(np.nanmax(diff))
            result["max_rel_diff"] = float(np.nanmax(relative))
            result["nan_mismatch"] = int(np.sum(np.isnan(ours) != np.isnan(theirs)))
            result["agree_1e-6"] = bool(result["max_rel_diff"] <= 1e-6 and result["nan_mismatch"] == 0)
    for p in (python_path, cpp_path, nilearn_path):
        p.unlink(missing_ok=True)
    return result


# ------------------------------------------------------------------------------------------ report


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(value, spec, missing="–"):
    return missing if value is None else format(value, spec)


def markdown(report) -> str:
    m = report["machine"]
    lines = [
        "# Extraction benchmark",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']:.0f} GB RAM, {m['os']}.  ",
        f"Date: {report['date']}.  ",
        f"Command: `{report['command']}`  ",
        f"Data: {report['generator']}, {report['grid']} grid, TR {TR} s, seed {SEED}; int16 files gzip level 1.  ",
        f"Versions: rewire {report['versions'].get('rewire')}, nilearn {report['versions'].get('nilearn')}, "
        f"numpy {report['versions'].get('numpy')}, nibabel {report['versions'].get('nibabel')}.",
        "",
        "Times are seconds, best of "
        f"{report['repeats']} runs (median in parentheses) for inflate-only and rewire, one run for nilearn. "
        "*inflate-only*: the file streamed through rewire's reader (ISA-L) and discarded, the faster of a "
        "256 KiB and a one-volume buffer. *rewire*: `rewire_bench_io extract` (C++, atlas loading included); "
        "*Python*: `rewire.extract`. *ratio*: rewire ÷ inflate-only. Peak memory is the peak resident set "
        "size of the process (MB = 10⁶ bytes, GB = 10⁹ bytes). *speed-up*: nilearn ÷ rewire.",
        "",
        "| file | volumes | atlas | inflate-only s | rewire s | ratio to inflate | rewire peak MB | "
        "Python s | Python peak MB | nilearn s | nilearn peak GB | speed-up |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rec in report["files"]:
        inflate = rec["inflate_best_s"]
        inflate_median = min(v["median_s"] for v in rec["inflate"].values() if "median_s" in v)
        for entry in rec["atlases"]:
            rw, py = entry["rewire"], entry["python"]
            nl = entry.get("nilearn")
            if nl is None:
                nl_s, nl_gb, speed = "not run", "–", "–"
            elif "error" in nl:
                nl_s = f"**{nl['error']}** after {nl.get('seconds', nl['wall_s']):.0f} s"
                nl_gb = f"{nl['peak_mb'] / 1000:.1f}"
                speed = "–"
            else:
                nl_s = f"{nl['seconds']:.1f}"
                nl_gb = f"{nl['peak_mb'] / 1000:.2f}"
                speed = f"{nl['seconds'] / rw['best_s']:.0f}×" if "best_s" in rw else "–"
            ratio = f"{rw['best_s'] / inflate:.3f}" if "best_s" in rw else "–"
            lines.append(
                f"| {rec['file']} | {rec['volumes']} | {entry['atlas']} | {inflate:.2f} ({inflate_median:.2f}) | "
                f"{fmt(rw.get('best_s'), '.2f')} ({fmt(rw.get('median_s'), '.2f')}) | {ratio} | "
                f"{fmt(rw.get('peak_mb'), '.1f')} | {fmt(py.get('best_s'), '.2f')} ({fmt(py.get('median_s'), '.2f')}) | "
                f"{fmt(py.get('peak_mb'), '.1f')} | {nl_s} | {nl_gb} | {speed} |")
    lines += ["", "Inflate-only passes (best of the runs, seconds; throughput of uncompressed bytes):", "",
              "| file | on disk GB | uncompressed GB | rewire reader, 256 KiB buffer | one-volume buffer | zlib gzread |",
              "|---|---:|---:|---:|---:|---:|"]
    for rec in report["files"]:
        size = rec["uncompressed_bytes"] or 0

        def rate(summary):
            if not summary or "best_s" not in summary:
                return "–"
            return f"{summary['best_s']:.2f} s ({size / summary['best_s'] / 1e9:.2f} GB/s)"

        lines.append(f"| {rec['file']} | {rec['bytes_on_disk'] / 1e9:.2f} | {size / 1e9:.2f} | "
                     f"{rate(rec['inflate']['inflate_256k'])} | {rate(rec['inflate']['inflate_volume'])} | "
                     f"{rate(rec['zlib'])} |")
    lines += ["", "Agreement of the signals (rewire's Python API against nilearn; C++ binary against Python API):",
              "", "| file | atlas | max relative difference | max absolute difference | within 1e-6 | C++ = Python |",
              "|---|---|---:|---:|---|---|"]
    for rec in report["files"]:
        for entry in rec["atlases"]:
            a = entry["agreement"]
            lines.append(f"| {rec['file']} | {entry['atlas']} | {fmt(a.get('max_rel_diff'), '.2e')} | "
                         f"{fmt(a.get('max_abs_diff'), '.2e')} | {fmt(a.get('agree_1e-6'), '')} | "
                         f"{fmt(a.get('cpp_equals_python'), '')} |")
    lines += ["", "Targets (2-core machine): " + "; ".join(f"{t['target']}: {t['measured']} — "
                                                          f"**{'met' if t['met'] else 'missed'}**"
                                                          for t in report["targets"]), ""]
    return "\n".join(lines)


def targets(report):
    out = []
    ratios, speedups, peaks = [], [], {}
    for rec in report["files"]:
        for entry in rec["atlases"]:
            rw = entry["rewire"]
            if "best_s" not in rw:
                continue
            if rec["file"].endswith(".gz"):
                ratios.append(rw["best_s"] / rec["inflate_best_s"])
            peaks.setdefault(rec["volumes"], []).append(max(rw["peak_mb"], entry["python"].get("peak_mb", 0)))
            nl = entry.get("nilearn")
            if nl and "error" not in nl:
                speedups.append(nl["seconds"] / rw["best_s"])
    if ratios:
        out.append({"target": "rewire ≤ 1.15 × inflate-only (.nii.gz)", "measured": f"worst {max(ratios):.3f}",
                    "met": max(ratios) <= 1.15})
    if speedups:
        out.append({"target": "≥ 20× faster than nilearn", "measured": f"least {min(speedups):.0f}×",
                    "met": min(speedups) >= 20})
    if peaks:
        worst = max(max(v) for v in peaks.values())
        text = ", ".join(f"{max(v):.0f} MB at {k} volumes" for k, v in sorted(peaks.items()))
        out.append({"target": "peak < 100 MB whatever the volumes", "measured": text, "met": worst < 100})
    return out


def versions():
    result = {}
    for name in ("numpy", "nibabel", "nilearn", "sklearn"):
        try:
            module = __import__(name)
            result[name] = module.__version__
        except ImportError:
            result[name] = None
    try:
        import rewire

        result["rewire"] = rewire.__version__
    except ImportError:
        result["rewire"] = None
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volumes", type=int, nargs="+", default=[600, 1200], help="volumes per file")
    parser.add_argument("--dtypes", nargs="+", default=["int16", "float32"], choices=["int16", "float32"],
                        help="int16 → .nii.gz, float32 → .nii")
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 mm grid, 40 volumes, one run each")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each fast measurement")
    parser.add_argument("--prepare-only", action="store_true", help="generate the data and stop")
    parser.add_argument("--skip-nilearn", action="store_true", help="leave nilearn out")
    parser.add_argument("--nilearn-volumes", type=int, nargs="*", default=None,
                        help="files (by volumes) on which nilearn runs (default: all)")
    parser.add_argument("--nilearn-memory-gb", type=float, default=20.0, help="RLIMIT_AS of the nilearn process (GiB)")
    parser.add_argument("--nilearn-timeout", type=float, default=900.0, help="time limit of the nilearn process (s)")
    parser.add_argument("--max-contention", type=float, default=0.10,
                        help="retry a run when other processes used more than this share of the CPUs")
    parser.add_argument("--retries", type=int, default=3, help="retries of a disturbed run")
    parser.add_argument("--max-load", type=float, default=0.7, help="wait for a load average below this")
    parser.add_argument("--max-wait", type=float, default=300.0, help="longest wait for a quiet machine (s)")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "bench",
                        help="build folder with REWIRE_BUILD_BENCHMARKS=ON (Release)")
    args = parser.parse_args(argv)
    if args.quick:
        args.volumes = [40]
        args.resolution = 4
        args.repeats = 1
        args.max_wait = 0.0
        args.retries = 0
    else:
        args.resolution = 2
    if args.nilearn_volumes is None:
        args.nilearn_volumes = args.volumes

    bench_io = args.build_dir / "benchmarks" / "rewire_bench_io"
    if not bench_io.exists():
        print(f"{bench_io} not found; build it first:\n  cmake -S {ROOT} -B {args.build_dir} -G Ninja "
              "-DCMAKE_BUILD_TYPE=Release -DREWIRE_BUILD_BENCHMARKS=ON -DREWIRE_BUILD_TESTS=OFF\n"
              f"  cmake --build {args.build_dir} -j2", file=sys.stderr)
        return 2
    data_dir = HERE / "data" / ("quick" if args.quick else "")
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    sys.path.insert(0, str(ROOT / "python"))
    bolds, atlases = prepare_data(args, data_dir)
    if args.prepare_only:
        return 0

    report = {
        "command": " ".join(["python", "benchmarks/extraction.py"] + [shlex.quote(a) for a in (argv or sys.argv[1:])]),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "os": platform.platform(),
                    "memory_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9},
        "generator": GENERATOR,
        "grid": "×".join(map(str, grid_for(args.resolution)[0])) + f" ({args.resolution} mm)",
        "repeats": args.repeats,
        "versions": versions(),
        "files": [],
    }
    with tempfile.TemporaryDirectory(prefix="rewire-signals-", dir=data_dir) as tmp:
        for bold in bolds:
            report["files"].append(bench_file(bold, atlases, args, bench_io, Path(tmp)))
    report["targets"] = targets(report)
    stem = "extraction-quick" if args.quick else "extraction"
    (results_dir / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (results_dir / f"{stem}.md").write_text(markdown(report))
    print("\n" + markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
