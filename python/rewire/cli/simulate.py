"""``rewire simulate``: a simulated two-group pre/post study laid out like fMRIPrep derivatives."""
from __future__ import annotations

import sys

from . import Progress
from ..simulate import SimulationOptions, simulate_study


def run(args) -> int:
    options = SimulationOptions(subjects=args.subjects, timepoints=args.timepoints, tr=args.tr,
                                resolution=args.resolution, effect=args.effect, seed=args.seed, atlas=args.atlas)
    simulate_study(args.out_dir, options, progress=None if args.quiet else Progress("simulate"))
    if not args.quiet:
        print(f"wrote a simulated study to {args.out_dir}", file=sys.stderr)
    return 0
