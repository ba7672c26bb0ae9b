"""``rewire extract``: region time series of one BOLD run, cleaned as ``rewire run`` cleans each run."""
from __future__ import annotations

import os
import sys

import numpy as np

from . import Progress
from .._files import check_output_file, write_table
from ..images import Atlas, extract
from ..study.options import StudyOptions
from ..study.run import clean_run, repetition_time, run_confounds


def study_options(args) -> StudyOptions:
    """The cleaning flags of `rewire extract` / `rewire run` as StudyOptions (the one place they are read)."""
    return StudyOptions(strategy=args.strategy, detrend=args.detrend,
                        standardize=False if args.standardize == "none" else args.standardize,
                        low_pass=args.low_pass, high_pass=args.high_pass,
                        strategy_options={} if args.fd_threshold is None else {"fd_threshold": args.fd_threshold})


def run(args) -> int:
    check_output_file(args.output)  # before the extraction, which is the long part
    atlas = Atlas.from_maps(args.atlas) if args.maps else Atlas.from_file(args.atlas, args.labels)
    if args.fd_threshold is not None and args.strategy is None:
        raise ValueError("--fd-threshold needs --strategy (e.g. scrubbing)")
    given = [flag for flag, value in (("--strategy", args.strategy), ("--low-pass", args.low_pass),
                                      ("--high-pass", args.high_pass), ("--t-r", args.t_r)) if value is not None]
    if not args.clean and given:
        raise ValueError(f"--no-clean writes the raw region means; drop {', '.join(given)}")
    options = study_options(args)
    t_r = repetition_time(args.bold, options, args.t_r) if args.clean else None  # a bad header fails at once
    confounds = sample_mask = None
    if args.clean and options.strategy is not None:  # before the extraction: a missing confounds file fails fast
        from ..confounds import find_confounds_file

        try:
            find_confounds_file(args.bold)
        except (ValueError, OSError) as error:
            raise type(error)(f"--strategy needs the fMRIPrep confounds file beside the BOLD "
                              f"(*_desc-confounds_timeseries.tsv): {error}") from error
        confounds, sample_mask = run_confounds(args.bold, options)
    progress = None if args.quiet else Progress(f"extract {os.path.basename(args.bold)}")
    signals, coverage = extract(args.bold, atlas, args.mask, return_coverage=True, threads=args.threads,
                                progress=progress)
    if args.clean:
        data = np.isfinite(signals).all(axis=0)  # regions without data stay NaN columns
        cleaned = clean_run(signals[:, data], confounds, sample_mask, t_r, options, args.threads, source=args.bold)
        signals = np.full((cleaned.shape[0], signals.shape[1]), np.nan)
        signals[:, data] = cleaned
    write_table(args.output, signals, atlas.names)
    low = [f"{name} ({c:.0%})" for name, c in zip(atlas.names, coverage) if c < 1.0]
    if low and not args.quiet:
        print(f"{len(low)} region(s) with incomplete coverage: " + ", ".join(low[:10])
              + (" ..." if len(low) > 10 else ""), file=sys.stderr)
    if not args.quiet:
        print(f"wrote {args.output}: {signals.shape[0]} volumes x {signals.shape[1]} regions", file=sys.stderr)
    return 0
