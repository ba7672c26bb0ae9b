"""``rewire demo``: simulate a small pre/post study and run the whole pipeline on it."""
from __future__ import annotations

from ..demo import run_demo


def run(args) -> int:
    return run_demo(args.out_dir, quiet=args.quiet)
