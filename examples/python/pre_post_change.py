"""From fMRIPrep-like derivatives to each participant's pre/post change in amygdala–prefrontal connectivity.

    python examples/python/pre_post_change.py [WORK_DIR]

Simulates a small two-group study (rewire simulate), then for every run: extracts AAL parcel signals
(streamed), regresses the 36P confounds and band-passes (nilearn's signal.clean numbers), correlates,
and prints the change of the planted edges per group next to the planted truth.
"""
import json
import os
import sys
import tempfile

import numpy as np

import rewire
from rewire.simulate import SimulationOptions, simulate_study

AAL = "/usr/share/mricron/templates/aal.nii.gz"


def main(work_dir: str) -> int:
    study = os.path.join(work_dir, "study")
    truth = simulate_study(study, SimulationOptions(subjects=3, timepoints=200, resolution=4, effect=0.5, seed=1))
    atlas = rewire.Atlas.from_file(AAL)
    edges = [(atlas.names.index(a), atlas.names.index(b)) for a, b in
             [("Amygdala_L", "Frontal_Med_Orb_L"), ("Amygdala_R", "Frontal_Med_Orb_R")]]
    groups = {}
    with open(os.path.join(study, "participants.tsv"), encoding="utf-8") as table:
        next(table)
        for line in table:
            fields = line.rstrip("\n").split("\t")
            groups[fields[0]] = fields[1]
    change = {"therapy": [], "control": []}
    for subject, group in sorted(groups.items()):
        z = {}
        for session in ("pre", "post"):
            func = os.path.join(study, subject, f"ses-{session}", "func")
            bold = next(os.path.join(func, f) for f in sorted(os.listdir(func)) if f.endswith("preproc_bold.nii.gz"))
            mask = bold.replace("desc-preproc_bold", "desc-brain_mask")
            signals = rewire.extract(bold, atlas, mask)                        # (T, 116) raw parcel means
            confounds, sample_mask = rewire.load_confounds(bold, strategy=("motion", "wm_csf", "global_signal"),
                                                           motion="full", wm_csf="full", global_signal="full")
            cleaned = rewire.clean(signals, confounds=confounds, sample_mask=sample_mask, t_r=2.0,
                                   low_pass=0.1, high_pass=0.01, standardize="zscore_sample")
            z[session] = rewire.fisher_z(rewire.correlation(cleaned))
        change[group].append(np.mean([z["post"][i, j] - z["pre"][i, j] for i, j in edges]))
    print("mean post - pre change in Fisher z of the amygdala–medial orbitofrontal edges")
    for group, values in change.items():
        print(f"  {group:8s} {np.mean(values):+.3f}   (subjects: {', '.join(f'{v:+.2f}' for v in values)})")
    print(f"planted correlation increase: therapy {truth['effect']['therapy']:+.2f}, "
          f"control {truth['effect']['control']:+.2f}")
    return 0 if np.mean(change["therapy"]) > np.mean(change["control"]) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(sys.argv[1]))
    with tempfile.TemporaryDirectory() as folder:
        sys.exit(main(folder))
