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
inside the process around the work itself (no interpreter start-up). Each run also records its own
CPU time over its wall time and how much CPU other processes used meanwhile; a run that got less
than ``--min-cpu-share`` of its wall time on a CPU, or during which other processes used more than
``--max-others`` of the machine, is retried (after waiting for the load average to drop), keeping
the least disturbed attempt.

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
# The simulated regions come from mricron's AAL (the simulator's default before it had its own synthetic
# atlas), so that the data stay those of the committed results.
SIMULATION_ATLAS = "/usr/share/mricron/templates/aal.nii.gz"
GENERATOR = "rewire.simulate.simulate_run (atlas: mricron AAL)"

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
        os.setpgid(0, 0)  # its own process group: a time limit kills whatever it started too
        if limit > 0:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            with open("/proc/self/oom_score_adj", "w") as f:  # if memory runs out anyway, this one goes
                f.write("1000")
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
timed_out = []
def kill(*_):
    timed_out.append(1)
    os.killpg(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, kill)
if timeout > 0:
    signal.setitimer(signal.ITIMER_REAL, timeout)
_, status, ru = os.wait4(pid, 0)
signal.setitimer(signal.ITIMER_REAL, 0)
wall = time.perf_counter() - t0; b1 = busy()
child_cpu = ru.ru_utime + ru.ru_stime
with open(out, "w") as f:
    json.dump({"exit": os.waitstatus_to_exitcode(status), "timed_out": bool(timed_out), "wall_s": wall,
               "maxrss_kib": ru.ru_maxrss, "cpu_s": child_cpu, "involuntary_switches": ru.ru_nivcsw,
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


def measure(argv, *, env=None, timeout=0.0, memory_limit=0, cwd=None, label=""):
    """Runs argv in a fresh process (in `cwd`); returns its JSON output line merged with time and peak
    memory (and an "error" when it failed or ran past `timeout` seconds)."""
    with tempfile.TemporaryDirectory(prefix="rewire-bench-") as tmp:
        result_path = Path(tmp) / "launcher.json"
        stdout_path, stderr_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            subprocess.run([sys.executable, "-S", "-I", "-c", LAUNCHER, str(result_path), str(timeout),
                            str(int(memory_limit)), *map(str, argv)], stdout=out, stderr=err, env=env, cwd=cwd,
                           check=True)
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
    row["cpu_share"] = launcher["cpu_s"] / wall
    row["load_after"] = os.getloadavg()[0]
    if launcher["exit"] != 0 and "error" not in row:
        row["error"] = "timeout" if launcher["timed_out"] else f"exit status {launcher['exit']}"
        row["stderr_tail"] = stderr[-2000:]
    if label:
        status = row.get("error") or f"{row.get('seconds', float('nan')):.3f} s"
        print(f"  {label:<44} {status:>12}  peak {row['peak_mb']:8.1f} MB  cpu/wall {row['cpu_share']:.2f}  "
              f"others {row['contention']:.0%}",
              flush=True)
        if "stderr_tail" in row:
            print("    " + row["stderr_tail"][-800:].replace("\n", "\n    "), flush=True)
    return row


def measure_quietly(argv, args, **kwargs):
    """measure(), retried (up to --retries times) while the measured process got less than
    --min-cpu-share of its wall time on a CPU (other processes held the core it wanted: every
    measured program keeps at least one core busy all along) or other processes used more than
    --max-others of the machine (the reducer thread wants the second core); the least disturbed
    attempt is kept, and every attempt is listed in it."""
    attempts = []
    label = kwargs.pop("label", "")
    for attempt in range(1 + args.retries):
        row = measure(argv, label=label + (" (again: machine busy)" if attempt else ""), **kwargs)
        attempts.append(row)
        if (row["cpu_share"] >= args.min_cpu_share and row["contention"] <= args.max_others) or "error" in row:
            break
        machine_quiet(args.max_load, args.max_wait)
    best = min(attempts, key=lambda a: (a["cpu_share"] < args.min_cpu_share, a["contention"]))
    if len(attempts) > 1:
        best = dict(best, attempts=[{k: a.get(k) for k in ("seconds", "cpu_share", "contention", "peak_mb")}
                                    for a in attempts])
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
                 atlas=SIMULATION_ATLAS, gzip_level=GZIP_LEVEL, mask_path=os.fspath(mask_path) if mask_path else None)


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


PYTHON_PACKAGE_DIR = ROOT / "python"  # replaced by a snapshot in main()


def snapshot_package(into: Path) -> Path:
    """Copies python/rewire (with the extension module the dev build links there) into `into`, so that
    a rebuild of the dev tree during the benchmark cannot break or change the Python rows."""
    import shutil

    package = into / "rewire"
    shutil.copytree(ROOT / "python" / "rewire", package, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    check = subprocess.run([sys.executable, "-c", "import rewire, sys; sys.stdout.write(rewire.__file__)"],
                           env=dict(os.environ, PYTHONPATH=str(into)), capture_output=True, text=True)
    if check.returncode != 0 or not check.stdout.startswith(str(into)):
        raise RuntimeError(f"the rewire package in {ROOT / 'python'} does not import (dev build not finished?):\n"
                           f"{check.stderr[-1500:]}")
    return into


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PYTHON_PACKAGE_DIR), env.get("PYTHONPATH")]))
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
    timed = [r for rows in runs.values() for r in rows]
    record["contention_median"] = statistics.median(r["contention"] for r in timed) if timed else 0.0
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
            entry["nilearn_all"] = [run_nilearn(bold, atlas, tag, args, python) for python in args.nilearn_python]
            entry["nilearn"] = entry["nilearn_all"][0]
        entry["agreement"] = agreement(out_dir, stem, tag, bold, entry)
        record["atlases"].append(entry)
    return record


_NILEARN_VERSIONS: dict = {}


def nilearn_version(python: str) -> str:
    if python not in _NILEARN_VERSIONS:
        _NILEARN_VERSIONS[python] = subprocess.run(
            [python, "-c", "import nilearn; print(nilearn.__version__)"], env=nilearn_env(), check=True,
            capture_output=True, text=True).stdout.strip()
    return _NILEARN_VERSIONS[python]


def nilearn_cache(bold, tag: str, version: str):
    """Where nilearn's row and signals for one file, atlas and nilearn version are kept."""
    stem = bold["path"].name.split(".")[0]
    cache = bold["path"].parent / "nilearn"
    cache.mkdir(exist_ok=True)
    return cache / f"{stem}_{tag}_nilearn-{version}.json", cache / f"{stem}_{tag}_nilearn-{version}.npy"


def run_nilearn(bold, atlas, tag: str, args, python: str):
    """nilearn's row (nilearn of the interpreter `python`) for one file and atlas. Rows and signals are
    kept in data/nilearn/; with --reuse-nilearn a kept row for the same file parameters, atlas and
    nilearn version is used again."""
    version = nilearn_version(python)
    row_path, signals_path = nilearn_cache(bold, tag, version)
    key = {"params": bold["params"], "atlas": str(atlas["path"]), "nilearn": version,
           "memory_limit_gib": args.nilearn_memory_gb, "timeout_s": args.nilearn_timeout}
    if args.reuse_nilearn and row_path.exists():
        kept = json.loads(row_path.read_text())
        if kept.get("key") == key and ("error" in kept["row"] or signals_path.exists()):
            row = dict(kept["row"], reused_from=kept["date"])
            result = row.get("error") or format(row["seconds"], ".1f") + " s"
            print(f"  nilearn {version} {tag:<28} {result:>12}  (kept from {kept['date']})", flush=True)
            return row
    free = available_memory_gb()
    print(f"  (MemAvailable {free:.1f} GB before nilearn)", flush=True)
    signals_path.unlink(missing_ok=True)
    row = measure([python, "-c", NILEARN_CHILD, bold["path"], atlas["path"], signals_path],
                  env=nilearn_env(), timeout=args.nilearn_timeout, memory_limit=int(args.nilearn_memory_gb * 2**30),
                  label=f"nilearn {version} {tag}")
    row["nilearn"] = version
    row["python"] = python
    row["mem_available_gb_before"] = free
    row["date"] = now()
    row_path.write_text(json.dumps({"key": key, "date": row["date"], "row": row}, indent=1) + "\n")
    return row


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def available_memory_gb() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def compare(ours, theirs) -> dict:
    """Element-wise max |a − b| / max(|a|, |b|) (and absolute) between two T × N signal arrays."""
    import numpy as np

    result = {"shapes": [list(ours.shape), list(theirs.shape)]}
    if ours.shape != theirs.shape:
        result["agree_1e-6"] = False
        return result
    diff = np.abs(ours - theirs)
    scale = np.maximum(np.abs(ours), np.abs(theirs))
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(scale > 0, diff / scale, 0.0)
    result["max_abs_diff"] = float(np.nanmax(diff))
    result["max_rel_diff"] = float(np.nanmax(relative))
    result["nan_mismatch"] = int(np.sum(np.isnan(ours) != np.isnan(theirs)))
    result["agree_1e-6"] = bool(result["max_rel_diff"] <= 1e-6 and result["nan_mismatch"] == 0)
    return result


def agreement(out_dir: Path, stem: str, tag: str, bold, entry: dict):
    """Compares the C++ binary's signals with the Python API's, and the Python API's with those of
    every nilearn that finished (the first one's figures at the top level)."""
    import numpy as np

    result = {}
    python_path = out_dir / f"{stem}_{tag}_python.npy"
    cpp_path = out_dir / f"{stem}_{tag}_rewire.f64"
    if not python_path.exists():
        return result
    ours = np.load(python_path)
    if cpp_path.exists():
        cpp = np.fromfile(cpp_path, dtype=np.float64).reshape(ours.shape)
        result["cpp_equals_python"] = bool(np.array_equal(cpp, ours, equal_nan=True))
    for i, row in enumerate(entry.get("nilearn_all", [])):
        signals_path = nilearn_cache(bold, tag, row["nilearn"])[1]
        if "error" in row or not signals_path.exists():
            continue
        figures = compare(ours, np.load(signals_path))
        if i == 0:
            result.update(figures)
        result.setdefault("by_nilearn", {})[row["nilearn"]] = figures
    for p in (python_path, cpp_path):
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
    main_nilearn = next((e["nilearn"].get("nilearn") for rec in report["files"] for e in rec["atlases"]
                         if e.get("nilearn")), None)
    lines = [
        "# Extraction benchmark",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']:.0f} GB RAM, {m['os']}.  ",
        f"Date: {report['date']}.  ",
        f"Command: `{report['command']}`  ",
        f"Data: {report['generator']}, {report['grid']} grid, TR {TR} s, seed {SEED}; int16 files gzip level 1.  ",
        f"Versions: rewire {report['versions'].get('rewire')}, nilearn {main_nilearn} (main table), "
        f"numpy {report['versions'].get('numpy')}, nibabel {report['versions'].get('nibabel')}.",
        "",
        "Times are seconds, best of "
        f"{report['repeats']} runs (median in parentheses) for inflate-only and rewire, one run for nilearn. "
        "*inflate-only*: the file streamed through rewire's reader (ISA-L) and discarded, the faster of a "
        "256 KiB and a one-volume buffer. *rewire*: `rewire_bench_io extract` (C++, atlas loading included); "
        "*Python*: `rewire.extract` in a fresh interpreter. *ratio*: rewire ÷ inflate-only. Peak memory is the "
        "peak resident set size of the process (MB = 10⁶ bytes, GB = 10⁹ bytes). *speed-up*: nilearn ÷ rewire.",
        "",
        "| file | volumes | atlas | inflate-only s | rewire s | ratio to inflate | rewire peak MB | "
        f"Python s | Python peak MB | nilearn {main_nilearn} s | nilearn peak GB | speed-up |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def nilearn_cells(nl, rw):
        if nl is None:
            return "not run", "–", "–"
        if "error" in nl:
            return (f"**{nl['error']}** after {nl.get('seconds', nl['wall_s']):.0f} s",
                    f"{nl['peak_mb'] / 1000:.1f}", "–")
        speed = f"{nl['seconds'] / rw['best_s']:.0f}×" if "best_s" in rw else "–"
        return f"{nl['seconds']:.1f}", f"{nl['peak_mb'] / 1000:.2f}", speed

    for rec in report["files"]:
        inflate = rec["inflate_best_s"]
        inflate_median = min(v["median_s"] for v in rec["inflate"].values() if "median_s" in v)
        for entry in rec["atlases"]:
            rw, py = entry["rewire"], entry["python"]
            nl_s, nl_gb, speed = nilearn_cells(entry.get("nilearn"), rw)
            ratio = f"{rw['best_s'] / inflate:.3f}" if "best_s" in rw else "–"
            lines.append(
                f"| {rec['file']} | {rec['volumes']} | {entry['atlas']} | {inflate:.2f} ({inflate_median:.2f}) | "
                f"{fmt(rw.get('best_s'), '.2f')} ({fmt(rw.get('median_s'), '.2f')}) | {ratio} | "
                f"{fmt(rw.get('peak_mb'), '.1f')} | {fmt(py.get('best_s'), '.2f')} ({fmt(py.get('median_s'), '.2f')}) | "
                f"{fmt(py.get('peak_mb'), '.1f')} | {nl_s} | {nl_gb} | {speed} |")
    baseline = report.get("python_baseline", {})
    if "peak_mb" in baseline:
        lines += ["", f"The Python process' peak includes {baseline['peak_mb']:.0f} MB that a fresh interpreter "
                      "holds after `import rewire` alone, before any extraction."]

    rows = [(rec, e, nl) for rec in report["files"] for e in rec["atlases"] for nl in e.get("nilearn_all", [])]
    if rows:
        lines += ["", "Every nilearn run (`NiftiLabelsMasker(labels_img=atlas).fit_transform(bold)`, one fresh process "
                      "each; *others*: share of the machine's CPU that other processes used during the run):", "",
                  "| file | atlas | nilearn | s | peak GB | speed-up over rewire | others | measured |",
                  "|---|---|---|---:|---:|---:|---:|---|"]
        for rec, entry, nl in rows:
            nl_s, nl_gb, speed = nilearn_cells(nl, entry["rewire"])
            lines.append(f"| {rec['file']} | {entry['atlas']} | {nl.get('nilearn')} | {nl_s} | {nl_gb} | {speed} | "
                         f"{nl['contention']:.0%} | {nl.get('date', '')} |")

    lines += ["", "Inflate-only passes (best of the runs; throughput in uncompressed bytes) and how busy the machine "
                  "was (median share of the CPU used by other processes during this file's timed runs):", "",
              "| file | on disk GB | uncompressed GB | rewire reader, 256 KiB buffer | one-volume buffer | zlib gzread "
              "| others |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for rec in report["files"]:
        size = rec["uncompressed_bytes"] or 0

        def rate(summary):
            if not summary or "best_s" not in summary:
                return "–"
            return f"{summary['best_s']:.2f} s ({size / summary['best_s'] / 1e9:.2f} GB/s)"

        lines.append(f"| {rec['file']} | {rec['bytes_on_disk'] / 1e9:.2f} | {size / 1e9:.2f} | "
                     f"{rate(rec['inflate']['inflate_256k'])} | {rate(rec['inflate']['inflate_volume'])} | "
                     f"{rate(rec['zlib'])} | {rec.get('contention_median', 0):.0%} |")
    lines += ["", "Agreement of the signals (rewire's Python API against each nilearn; C++ binary against Python API; "
                  "relative difference |a − b| / max(|a|, |b|), element-wise):",
              "", "| file | atlas | nilearn | max relative difference | max absolute difference | within 1e-6 | "
                  "C++ = Python |",
              "|---|---|---|---:|---:|---|---|"]
    for rec in report["files"]:
        for entry in rec["atlases"]:
            a = entry["agreement"]
            by = a.get("by_nilearn") or {"–": {}}
            for version, figures in by.items():
                lines.append(f"| {rec['file']} | {entry['atlas']} | {version} | "
                             f"{fmt(figures.get('max_rel_diff'), '.2e')} | {fmt(figures.get('max_abs_diff'), '.2e')} | "
                             f"{fmt(figures.get('agree_1e-6'), '')} | {fmt(a.get('cpp_equals_python'), '')} |")
    lines += ["", "Targets (this 2-core machine):", ""]
    if report.get("quick"):
        lines += ["(A `--quick` smoke test: on a 4 mm grid with 40 volumes start-up dominates every time, so the "
                  "targets below mean nothing here; they are judged on the full run.)", ""]
    lines += [f"- {t['target']}: {t['measured']} — **{'met' if t['met'] else 'missed'}**" for t in report["targets"]]
    limits = report.get("nilearn_limits")
    if rows and limits:
        failed = [f"{rec['file']} / {entry['atlas']} / nilearn {nl.get('nilearn')}: {nl['error']}"
                  for rec, entry, nl in rows if "error" in nl]
        lines += ["", (f"nilearn failures: {'; '.join(failed)}" if failed else "No nilearn run failed") +
                  f" (each ran under RLIMIT_AS = {limits['memory_gib']:g} GiB and a {limits['timeout_s']:g} s time limit)."]
    return "\n".join(lines) + "\n"


def targets(report):
    out = []
    ratios, speedups, peaks = [], {}, {}
    for rec in report["files"]:
        for entry in rec["atlases"]:
            rw = entry["rewire"]
            if "best_s" not in rw:
                continue
            if rec["file"].endswith(".gz"):
                ratios.append((rw["best_s"] / rec["inflate_best_s"], rec["file"], entry["atlas"]))
            peaks.setdefault(rec["volumes"], []).append(rw["peak_mb"])
            for nl in entry.get("nilearn_all", []):
                if "error" not in nl:
                    speedups.setdefault(nl["nilearn"], {}).setdefault(rec["file"], []).append(nl["seconds"] / rw["best_s"])
    if ratios:
        worst = max(ratios)
        out.append({"target": "rewire's extraction of the .nii.gz ≤ 1.15 × the fastest inflate-only pass",
                    "measured": f"worst ratio {worst[0]:.3f} ({worst[1]}, {worst[2]}); best "
                                f"{min(ratios)[0]:.3f}", "met": worst[0] <= 1.15})
    for version, by_file in speedups.items():
        values = [v for vs in by_file.values() for v in vs]
        def span(vs):
            low, high = f"{min(vs):.0f}×", f"{max(vs):.0f}×"
            return low if low == high else f"{low}–{high}"

        text = "; ".join(f"{name}: {span(vs)}" for name, vs in by_file.items())
        out.append({"target": f"≥ 20× faster than nilearn {version}", "measured": text, "met": min(values) >= 20})
    if peaks:
        worst = max(max(v) for v in peaks.values())
        text = ", ".join(f"at most {max(v):.0f} MB at {k} volumes" for k, v in sorted(peaks.items()))
        out.append({"target": "rewire's extraction (C++ process) peaks under 100 MB whatever the number of volumes",
                    "measured": text, "met": worst < 100})
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
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the Markdown (and targets) from the JSON of the last run, measuring nothing")
    parser.add_argument("--skip-nilearn", action="store_true", help="leave nilearn out")
    parser.add_argument("--nilearn-only", action="store_true",
                        help="only run nilearn (rows kept in benchmarks/data/nilearn/ for --reuse-nilearn)")
    parser.add_argument("--reuse-nilearn", action="store_true",
                        help="use nilearn rows kept from an earlier run on the same files, when there are")
    parser.add_argument("--nilearn-volumes", type=int, nargs="*", default=None,
                        help="files (by volumes) on which nilearn runs (default: all)")
    parser.add_argument("--nilearn-python", nargs="+", default=[sys.executable],
                        help="interpreters whose nilearn is measured (the first is the main comparison)")
    parser.add_argument("--nilearn-memory-gb", type=float, default=20.0, help="RLIMIT_AS of the nilearn process (GiB)")
    parser.add_argument("--nilearn-timeout", type=float, default=900.0, help="time limit of the nilearn process (s)")
    parser.add_argument("--min-cpu-share", type=float, default=0.9,
                        help="retry a run whose CPU time was less than this share of its wall time (starved)")
    parser.add_argument("--max-others", type=float, default=0.25,
                        help="retry a run while other processes used more than this share of all CPUs")
    parser.add_argument("--retries", type=int, default=3, help="retries of a disturbed run")
    parser.add_argument("--max-load", type=float, default=1.5, help="before a retry, wait for a load average below this")
    parser.add_argument("--max-wait", type=float, default=60.0, help="longest such wait (s)")
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

    results_dir = HERE / "results"
    stem = "extraction-quick" if args.quick else "extraction"
    if args.report_only:
        report = json.loads((results_dir / f"{stem}.json").read_text())
        report.setdefault("nilearn_limits", {"memory_gib": args.nilearn_memory_gb, "timeout_s": args.nilearn_timeout})
        report["targets"] = targets(report)
        (results_dir / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
        (results_dir / f"{stem}.md").write_text(markdown(report))
        return 0
    bench_io = args.build_dir / "benchmarks" / "rewire_bench_io"
    if not bench_io.exists():
        print(f"{bench_io} not found; build it first:\n  cmake -S {ROOT} -B {args.build_dir} -G Ninja "
              "-DCMAKE_BUILD_TYPE=Release -DREWIRE_BUILD_BENCHMARKS=ON -DREWIRE_BUILD_TESTS=OFF\n"
              f"  cmake --build {args.build_dir} -j2", file=sys.stderr)
        return 2
    data_dir = HERE / "data" / ("quick" if args.quick else "")
    results_dir.mkdir(exist_ok=True)
    sys.path.insert(0, str(ROOT / "python"))
    bolds, atlases = prepare_data(args, data_dir)
    if args.prepare_only:
        return 0
    if args.nilearn_only:
        for bold in bolds:
            if bold["volumes"] in args.nilearn_volumes:
                print(f"\n{bold['path'].name}", flush=True)
                for atlas in atlases:
                    for python in args.nilearn_python:
                        run_nilearn(bold, atlas, "aicha" if atlas["path"] == AICHA else "kmeans", args, python)
        return 0

    report = {
        "command": " ".join(["python", "benchmarks/extraction.py"] + [shlex.quote(a) for a in (argv or sys.argv[1:])]),
        "date": now(),
        "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "os": platform.platform(),
                    "memory_gb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9},
        "generator": GENERATOR,
        "grid": "×".join(map(str, grid_for(args.resolution)[0])) + f" ({args.resolution} mm)",
        "repeats": args.repeats,
        "quick": args.quick,
        "nilearn_limits": {"memory_gib": args.nilearn_memory_gb, "timeout_s": args.nilearn_timeout},
        "versions": versions(),
        "files": [],
    }
    global PYTHON_PACKAGE_DIR
    snapshot = tempfile.TemporaryDirectory(prefix="rewire-package-")
    PYTHON_PACKAGE_DIR = snapshot_package(Path(snapshot.name))
    core = next((ROOT / "python" / "rewire").glob("_core*.so")).resolve()
    report["python_core"] = {"path": str(core), "modified": datetime.datetime.fromtimestamp(
        core.stat().st_mtime).astimezone().isoformat(timespec="seconds")}
    report["python_baseline"] = measure([sys.executable, "-c", "import rewire"], env=python_env(),
                                        label="python -c 'import rewire' (baseline)")
    with tempfile.TemporaryDirectory(prefix="rewire-signals-", dir=data_dir) as tmp:
        for bold in bolds:
            report["files"].append(bench_file(bold, atlases, args, bench_io, Path(tmp)))
    report["targets"] = targets(report)
    (results_dir / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (results_dir / f"{stem}.md").write_text(markdown(report))
    print("\n" + markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
