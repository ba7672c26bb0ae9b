"""``rewire demo``: simulate a small two-group pre/post study, run the whole pipeline on it into a cohort
store, compute every subject's post − pre change and compare the planted change with the truth."""
from __future__ import annotations

import os
import sys
import time
from typing import Dict, List

import numpy as np

from .connectivity import edge_index
from .cohort import Cohort, delta
from .simulate import GROUPS, SESSIONS, SimulationOptions, simulate_study
from .study.run import run_study

#: The demo study: small enough to finish in seconds, large enough for the planted change to show.
DEMO_OPTIONS = {"subjects": 4, "timepoints": 150, "resolution": 4, "effect": 0.5, "seed": 0}
#: What the pipeline does to each run (fMRIPrep's "simple" confounds: motion, white matter / CSF, cosines).
DEMO_PIPELINE = {"strategy": "simple", "kinds": ("correlation",)}
WORKERS = 2


def _group_changes(truth: dict, participants, changes: np.ndarray, planted: List[int]) -> Dict[str, dict]:
    """Per group: mean change over the planted edges and over every other edge, and the planted truth."""
    others = np.setdiff1d(np.arange(changes.shape[1]), planted)
    rows: Dict[str, dict] = {}
    for group in GROUPS:
        members = [s for s, info in truth["subjects"].items() if info["group"] == group]
        index = [list(participants.index).index(s) for s in members if s in participants.index]
        edge = {s: truth["subjects"][s]["edge_correlation"] for s in members}
        rows[group] = {
            "n": len(index),
            "planted": float(changes[np.ix_(index, planted)].mean()),
            "others": float(changes[np.ix_(index, others)].mean()),
            "truth_r": float(np.mean([e["post"] - e["pre"] for e in edge.values()])),
            "truth_z": float(np.mean([np.arctanh(e["post"]) - np.arctanh(e["pre"]) for e in edge.values()])),
        }
    return rows


def run_demo(out_dir: str = "rewire-demo", quiet: bool = False) -> int:
    """Writes OUT_DIR/study (simulated fMRIPrep-style derivatives), OUT_DIR/cohort.h5 (the cohort store)
    and OUT_DIR/delta.tsv (post − pre change in Fisher z); prints a summary on stdout and returns the
    exit status (0). ``quiet`` silences progress on stderr."""
    from .cli import Progress
    from .cli.delta import write_delta

    out_dir = os.fspath(out_dir)
    study_dir = os.path.join(out_dir, "study")
    store = os.path.join(out_dir, "cohort.h5")
    delta_path = os.path.join(out_dir, "delta.tsv")
    options = SimulationOptions(**DEMO_OPTIONS)
    os.makedirs(out_dir, exist_ok=True)
    for stale in (store, delta_path):  # a demo starts from scratch
        if os.path.exists(stale):
            os.remove(stale)
    start = time.perf_counter()
    truth = simulate_study(study_dir, options, progress=None if quiet else Progress("simulate runs"))
    simulated = time.perf_counter()

    atlas = os.path.join(study_dir, truth["atlas"]["image"])  # the synthetic atlas, written into the study
    summary = run_study(study_dir, store, atlas, workers=WORKERS,
                        progress=None if quiet else Progress("pipeline runs"), command_line="rewire demo",
                        **DEMO_PIPELINE)
    if not summary.ok:
        print(summary.table(), file=sys.stderr)
        return 1
    processed = time.perf_counter()

    with Cohort.open(store) as cohort:
        names = cohort.names
        z, participants = delta(cohort, fisher_z=True)
        r, _ = delta(cohort, fisher_z=False)
    write_delta(delta_path, list(participants.index), z, names,
                {"kind": "correlation", "pre": "pre", "post": "post", "fisher_z": "true", "source": store})
    finished = time.perf_counter()

    n = len(names)
    planted = [edge_index(min(a, m), max(a, m), n) for a, m in (e["columns"] for e in truth["planted_edges"])]
    in_z = _group_changes(truth, participants, z, planted)
    in_r = _group_changes(truth, participants, r, planted)

    def step(name: str, text: str, elapsed: float) -> str:
        return f"  {name:<10}{text:<68}{elapsed:5.1f} s"

    grid = "x".join(str(k) for k in truth["grid"]["shape"])
    regions = [region["name"] for region in truth["planted_regions"]]
    lines = [
        "rewire demo: simulated study -> rewire run -> cohort store -> post - pre change",
        "",
        step("simulate", f"{len(summary.processed)} runs: {options.subjects} therapy + {options.subjects} control "
                         f"x {len(SESSIONS)} sessions, {options.timepoints} volumes", simulated - start),
        f"  {'':<10}{options.resolution} mm MNI grid {grid}, TR {options.tr:g} s, seed {options.seed}",
        step("run", f"extract {n} regions, clean ({DEMO_PIPELINE['strategy']} confounds), correlate; "
                    f"{WORKERS} workers", processed - simulated),
        step("delta", f"arctanh(r post) - arctanh(r pre), {len(participants)} subjects x {z.shape[1]} edges",
             finished - processed),
        "",
        f"Planted edges {regions[0]}, {regions[1]} <-> {regions[2]}, {regions[3]}: mean post - pre change",
        f"  {'group':<9}{'n':>3}{'z found':>10}{'z planted':>11}{'r found':>10}{'r planted':>11}"
        f"{'other edges z':>15}",
    ]
    for group in GROUPS:
        a, b = in_z[group], in_r[group]
        lines.append(f"  {group:<9}{a['n']:>3}{a['planted']:>+10.2f}{a['truth_z']:>+11.2f}{b['planted']:>+10.2f}"
                     f"{b['truth_r']:>+11.2f}{a['others']:>+15.2f}")
    width = max(len(p) for p in (study_dir + os.sep, store, delta_path)) + 2
    lines += [
        "  found: from the cleaned parcel signals in the store; planted: ground_truth.json (latent signals);",
        f"  other edges: mean change over the {z.shape[1] - len(planted)} edges where nothing was planted",
        "",
        f"Outputs ({finished - start:.1f} s in all):",
        f"  {study_dir + os.sep:<{width}}simulated fMRIPrep-style derivatives, participants.tsv, ground_truth.json",
        f"  {store:<{width}}cohort store: time series and correlations of every run (docs/cohort-store.md)",
        f"  {delta_path:<{width}}post - pre change in Fisher z, one row per subject, one column per edge",
    ]
    print("\n".join(lines), file=sys.stdout)
    return 0
