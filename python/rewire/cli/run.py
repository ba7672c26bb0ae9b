"""``rewire run``: a whole study, fMRIPrep derivatives to an HDF5 cohort store."""
from __future__ import annotations

import sys

from . import Progress
from ..study.run import run_study
from .extract import study_options


def run(args) -> int:
    cleaning = study_options(args)
    kinds = tuple(kind.strip().replace("_", " ") for kind in args.kind.split(",") if kind.strip())
    options = dict(labels=args.labels, strategy=cleaning.strategy, strategy_options=cleaning.strategy_options,
                   kinds=kinds, estimator=args.estimator, detrend=cleaning.detrend, standardize=cleaning.standardize,
                   low_pass=cleaning.low_pass, high_pass=cleaning.high_pass, use_mask=args.use_mask, task=args.task,
                   space=args.space, res=args.res, max_mean_fd=args.max_mean_fd, min_frames=args.min_frames,
                   tangent_reference=args.tangent_reference, threads=args.threads)
    log = (lambda message: None) if args.quiet else (lambda message: print(message, file=sys.stderr))
    summary = run_study(args.derivatives, args.output, args.atlas, workers=args.workers, subjects=args.subjects,
                        participants=args.participants, progress=None if args.quiet else Progress("runs"),
                        log=log, command_line=" ".join(["rewire"] + sys.argv[1:]), bids_outputs=args.bids_outputs,
                        **options)
    print(summary.table())
    return 0 if summary.ok else 1
