#!/usr/bin/env python3
"""Warping benchmark (issue 13): mricron's 1 mm AAL atlas through an fMRIPrep-sized composite transform
(an affine and a 1 mm displacement field over the MNI152NLin2009cAsym 1 mm grid, 193 x 229 x 193, float32:
an .h5 of about 100 MB) onto a 2 mm BOLD grid, by rewire.warp_atlas and by SimpleITK (ReadTransform +
Resample, nearest neighbour), side by side.

    python benchmarks/warp.py [--repeats 3] [--threads 2]

Each measurement is a fresh process (reading the atlas and the transform file included), timed from
outside; its peak memory is the child's ru_maxrss. The labels of both are compared (identical except
voxels whose sampling point lies on a voxel boundary). Results: benchmarks/results/warp.json and warp.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AAL = "/usr/share/mricron/templates/aal.nii.gz"
#: Targets (issue 13): seconds and bytes on 2 cores.
TARGET_SECONDS = 2.0
TARGET_BYTES = 1 << 30

REWIRE = """
import sys, numpy as np, rewire
labels, _ = rewire.warp_atlas(sys.argv[1], sys.argv[2], sys.argv[3], threads=int(sys.argv[5]))
np.save(sys.argv[4], labels)
"""
SIMPLEITK = """
import sys, numpy as np, SimpleITK as sitk
sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(sys.argv[5]))
out = sitk.Resample(sitk.ReadImage(sys.argv[1]), sitk.ReadImage(sys.argv[2]), sitk.ReadTransform(sys.argv[3]),
                    sitk.sitkNearestNeighbor, 0)
np.save(sys.argv[4], np.transpose(sitk.GetArrayFromImage(out), (2, 1, 0)).astype(np.int32))
"""


def make_inputs(folder: Path):
    import nibabel as nib
    from rewire.transforms import write_transform

    shape = (193, 229, 193)  # MNI152NLin2009cAsym, 1 mm
    field_affine = np.diag([1.0, 1.0, 1.0, 1.0])
    field_affine[:3, 3] = [-96.0, -132.0, -78.0]
    x, y, z = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in shape), indexing="ij", sparse=True)
    field = np.empty(shape + (3,), np.float32)
    field[..., 0] = 3.0 * np.sin(x / 9.0) * np.cos(z / 13.0)
    field[..., 1] = 2.5 * np.cos(y / 11.0) + 0 * x
    field[..., 2] = 2.0 * np.sin((x + z) / 15.0) + 0 * y
    affine = np.eye(4)
    affine[:3, :3] = [[1.03, 0.04, -0.02], [-0.03, 0.98, 0.05], [0.02, -0.04, 1.01]]
    affine[:3, 3] = [1.5, -4.0, 6.0]
    xfm = folder / "sub-01_from-MNI152NLin2009cAsym_to-T1w_mode-image_xfm.h5"
    write_transform(xfm, affine, field, field_affine, single_precision=True)
    bold_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    bold_affine[:3, 3] = [-90.0, -126.0, -72.0]
    reference = folder / "sub-01_space-T1w_boldref.nii.gz"
    image = nib.Nifti1Image(np.zeros((91, 109, 91), np.float32), bold_affine)
    image.set_sform(bold_affine, 1)
    image.set_qform(bold_affine, 1)
    nib.save(image, reference)
    return xfm, reference


def measure(code: str, args, threads: int):
    """Seconds and peak resident memory (bytes) of one fresh process (its own rusage, from wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *map(str, args), str(threads)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT / "python")))
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(child.stderr.read().decode())
    return seconds, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--make-inputs", default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.make_inputs:
        make_inputs(Path(options.make_inputs))
        return
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # In a process of its own: a child's peak memory (ru_maxrss) starts from its parent's at fork.
        subprocess.run([sys.executable, __file__, "--make-inputs", tmp], check=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT / "python")))
        xfm = folder / "sub-01_from-MNI152NLin2009cAsym_to-T1w_mode-image_xfm.h5"
        reference = folder / "sub-01_space-T1w_boldref.nii.gz"
        size = xfm.stat().st_size
        outputs = {}
        for name, code in (("rewire", REWIRE), ("SimpleITK", SIMPLEITK)):
            out = folder / f"{name}.npy"
            times, peaks = [], []
            for _ in range(options.repeats):
                seconds, peak = measure(code, [AAL, reference, xfm, out], options.threads)
                times.append(seconds)
                peaks.append(peak)
            outputs[name] = np.load(out)
            rows[name] = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
                          "peak_bytes": max(peaks)}
        differ = int(np.count_nonzero(outputs["rewire"] != outputs["SimpleITK"]))
        labelled = int(np.count_nonzero(outputs["rewire"]))
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "python benchmarks/warp.py " + " ".join(sys.argv[1:]),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {platform.platform()}",
              "transform_bytes": size, "labelled_voxels": labelled, "voxels_differing": differ, "rows": rows,
              "targets": {"seconds": TARGET_SECONDS, "bytes": TARGET_BYTES}}
    results = HERE / "results"
    (results / "warp.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# Warping an atlas into native space: rewire.warp_atlas vs SimpleITK", "",
             f"- date: {report['date']}", f"- command: `{report['command']}`", f"- machine: {report['machine']}",
             f"- input: mricron AAL 1 mm (181 x 217 x 181) through an affine + 1 mm displacement field "
             f"(193 x 229 x 193, float32; .h5 of {size / 1e6:.0f} MB, written by rewire, read by both) onto a 2 mm "
             f"grid (91 x 109 x 91); {options.threads} threads; fresh process each time, reading included",
             f"- labels: {labelled} labelled voxels; {differ} differ between the two", "",
             "| tool | median s | min s | max s | peak memory MB |", "|---|---:|---:|---:|---:|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['median_s']:.2f} | {row['min_s']:.2f} | {row['max_s']:.2f} | "
                     f"{row['peak_bytes'] / 1e6:.0f} |")
    ours = rows["rewire"]
    lines += ["", f"Targets: {ours['median_s']:.2f} s <= {TARGET_SECONDS} s "
                  f"**{'met' if ours['median_s'] <= TARGET_SECONDS else 'missed'}**; "
                  f"{ours['peak_bytes'] / 1e6:.0f} MB <= {TARGET_BYTES / 1e6:.0f} MB "
                  f"**{'met' if ours['peak_bytes'] <= TARGET_BYTES else 'missed'}**."]
    (results / "warp.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
