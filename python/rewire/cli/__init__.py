"""The ``rewire`` command line. Every verb has ``--help``; progress goes to stderr."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional

import numpy as np

from .. import __version__
from ..images import Atlas, extract
from ..connectivity import correlation


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, a few plain lines otherwise."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self.last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        finished = done >= total
        if not finished and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        text = f"{self.label}: {done}/{total} ({rate:.0f}/s, ETA {eta:.0f} s)"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if finished else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _atlas_from_args(args) -> Atlas:
    if getattr(args, "maps", False):
        return Atlas.from_maps(args.atlas)
    return Atlas.from_file(args.atlas, args.labels)


def write_tsv(path: str, signals: np.ndarray, names: List[str]) -> None:
    """Writes a (T, N) array with a header of region names; appears only when complete."""
    temporary = path + ".part"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write("\t".join(names) + "\n")
        np.savetxt(out, signals, delimiter="\t", fmt="%.10g")
    os.replace(temporary, path)


def cmd_extract(args) -> int:
    atlas = _atlas_from_args(args)
    progress = None if args.quiet else Progress(f"extract {os.path.basename(args.bold)}")
    if args.fd_threshold is not None and args.strategy is None:
        raise ValueError("--fd-threshold needs --strategy (e.g. scrubbing)")
    confounds = sample_mask = None
    if args.strategy is not None:  # before the extraction: a missing confounds file fails fast
        from ..confounds import find_confounds_file, load_confounds

        try:
            find_confounds_file(args.bold)
        except (ValueError, OSError) as error:
            raise type(error)(f"--strategy needs the fMRIPrep confounds file beside the BOLD "
                              f"(*_desc-confounds_timeseries.tsv): {error}") from error
        options = {} if args.fd_threshold is None else {"fd_threshold": args.fd_threshold}
        confounds, sample_mask = load_confounds(args.bold, strategy=args.strategy, **options)
    signals, coverage = extract(args.bold, atlas, args.mask, return_coverage=True, threads=args.threads,
                                progress=progress)
    standardize = None if args.standardize == "none" else args.standardize
    if (args.strategy is not None or args.detrend or standardize is not None or args.low_pass is not None
            or args.high_pass is not None):
        from ..images import read_header
        from ..signal import clean

        t_r = args.t_r if args.t_r is not None else float(read_header(args.bold)["tr"])
        data = np.isfinite(signals).all(axis=0)  # regions without data stay NaN columns
        cleaned = clean(signals[:, data], detrend=args.detrend, standardize=standardize,
                        confounds=None if confounds is None else np.asarray(confounds, dtype=np.float64),
                        sample_mask=sample_mask, low_pass=args.low_pass, high_pass=args.high_pass, t_r=t_r,
                        threads=args.threads)
        signals = np.full((cleaned.shape[0], signals.shape[1]), np.nan)
        signals[:, data] = cleaned
    write_tsv(args.output, signals, atlas.names)
    low = [f"{name} ({c:.0%})" for name, c in zip(atlas.names, coverage) if c < 1.0]
    if low and not args.quiet:
        print(f"{len(low)} region(s) with incomplete coverage: " + ", ".join(low[:10])
              + (" ..." if len(low) > 10 else ""), file=sys.stderr)
    if not args.quiet:
        print(f"wrote {args.output}: {signals.shape[0]} volumes x {signals.shape[1]} regions", file=sys.stderr)
    return 0


def cmd_connectivity(args) -> int:
    from ..connectivity import connectivity

    with open(args.timeseries, encoding="utf-8") as tsv:
        names = tsv.readline().rstrip("\n").split("\t")
    signals = np.loadtxt(args.timeseries, delimiter="\t", skiprows=1, ndmin=2)
    if signals.shape[1] != len(names):
        raise ValueError(f"{args.timeseries}: {len(names)} names in the header but {signals.shape[1]} columns")
    if not np.isfinite(signals).all():
        bad = [name for name, ok in zip(names, np.isfinite(signals).all(axis=0)) if not ok]
        raise ValueError(f"{args.timeseries}: non-finite values in column(s) {', '.join(bad[:5])}"
                         + (" ..." if len(bad) > 5 else ""))
    matrix = connectivity(signals, kind=args.kind.replace("_", " "), estimator=args.estimator)
    if args.fisher_z:
        if args.kind not in ("correlation", "partial_correlation"):
            raise ValueError("--fisher-z applies to correlation and partial_correlation only")
        from ..connectivity import fisher_z

        matrix = fisher_z(matrix)
    temporary = args.output + ".part"
    with open(temporary, "w", encoding="utf-8") as out:
        out.write("\t".join([""] + names) + "\n")
        for name, row in zip(names, matrix):
            out.write(name + "\t" + "\t".join(f"{v:.10g}" for v in row) + "\n")
    os.replace(temporary, args.output)
    print(f"wrote {args.output}: {len(names)} x {len(names)} {args.kind}", file=sys.stderr)
    return 0


def cmd_simulate(args) -> int:
    from ..simulate import SimulationOptions, simulate_study

    options = SimulationOptions(subjects=args.subjects, timepoints=args.timepoints, tr=args.tr,
                                resolution=args.resolution, effect=args.effect, seed=args.seed,
                                atlas=args.atlas)
    simulate_study(args.out_dir, options, progress=None if args.quiet else Progress("simulate"))
    if not args.quiet:
        print(f"wrote a simulated study to {args.out_dir}", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from ..demo import run_demo

    return run_demo(args.out_dir, quiet=args.quiet)


def _kinds(text: str):
    return tuple(kind.strip().replace("_", " ") for kind in text.split(",") if kind.strip())


def cmd_run(args) -> int:
    from ..study.run import run_study

    options = dict(labels=args.labels, strategy=args.strategy, kinds=_kinds(args.kind), estimator=args.estimator,
                   detrend=not args.no_detrend, standardize=False if args.standardize == "none" else args.standardize,
                   low_pass=args.low_pass, high_pass=args.high_pass, use_mask=not args.no_mask, task=args.task,
                   space=args.space, res=args.res, max_mean_fd=args.max_mean_fd, min_frames=args.min_frames,
                   tangent_reference=args.tangent_reference)
    if args.fd_threshold is not None:
        options["strategy_options"] = {"fd_threshold": args.fd_threshold}
    log = (lambda message: None) if args.quiet else (lambda message: print(message, file=sys.stderr))
    summary = run_study(args.derivatives, args.output, args.atlas, workers=args.workers, subjects=args.subjects,
                        participants=args.participants, progress=None if args.quiet else Progress("runs"),
                        log=log, command_line=" ".join(["rewire"] + sys.argv[1:]), bids_outputs=args.bids_outputs,
                        **options)
    print(summary.table())
    return 0 if summary.ok else 1


def write_delta(path: str, subjects: List[str], deltas: np.ndarray, names: List[str], attributes: dict) -> None:
    """Writes a subjects × edges table: ``.tsv`` (participant_id, then one ``<name i>--<name j>`` column per
    edge, 10 significant digits) or ``.h5`` (see docs/cohort-store.md); appears only when complete."""
    if path.endswith(".tsv"):
        upper = np.triu_indices(len(names), 1)
        header = ["participant_id"] + [f"{names[i]}--{names[j]}" for i, j in zip(*upper)]
        temporary = path + ".part"
        with open(temporary, "w", encoding="utf-8") as out:
            out.write("\t".join(header) + "\n")
            for subject, row in zip(subjects, deltas):
                out.write(subject + "\t" + "\t".join(f"{v:.10g}" for v in row) + "\n")
        os.replace(temporary, path)
    elif path.endswith((".h5", ".hdf5")):
        from .. import _core

        _core.write_edge_file(path, list(subjects), np.asarray(deltas, dtype=np.float64), list(names),
                              {key: str(value) for key, value in attributes.items()})
    else:
        raise ValueError(f"{path}: output must end in .tsv or .h5")


def cmd_delta(args) -> int:
    from ..cohort import Cohort, delta

    if not args.output.endswith((".tsv", ".h5", ".hdf5")):
        raise ValueError(f"{args.output}: output must end in .tsv or .h5")
    with Cohort.open(args.store) as cohort:
        deltas, participants = delta(cohort, post=args.post, pre=args.pre, kind=args.kind.replace("_", " "),
                                     fisher_z=not args.no_fisher_z)
        names = cohort.names
    subjects = list(participants.index)
    write_delta(args.output, subjects, deltas, names,
                {"kind": args.kind, "pre": args.pre, "post": args.post,
                 "fisher_z": str(not args.no_fisher_z).lower(), "source": args.store})
    unpaired = participants.attrs.get("unpaired", [])
    if unpaired:
        print(f"left out (missing {args.pre} or {args.post}): {', '.join(unpaired)}", file=sys.stderr)
    print(f"wrote {args.output}: {len(subjects)} subjects x {deltas.shape[1]} edges", file=sys.stderr)
    return 0


def cmd_stats(args) -> int:
    from .stats import run

    return run(args, Progress)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewire",
        description="Resting-state fMRI functional connectivity: BOLD volumes to parcel time series, "
                    "connectivity, pre/post change and cohort statistics.")
    parser.add_argument("--version", action="version", version=f"rewire {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    p = verbs.add_parser("extract", help="region time series of one BOLD run",
                         description="Streams a 4D BOLD image once and writes region means as a TSV with one "
                                     "column per region, named from the label table: raw means unless cleaning "
                                     "options are given (confounds of --strategy, censoring, detrending, "
                                     "Butterworth filtering, standardizing: rewire.clean, nilearn's order).")
    p.add_argument("bold", help="4D BOLD image (.nii or .nii.gz)")
    p.add_argument("--atlas", required=True, help="label image (3D integers) or, with --maps, a 4D map image")
    p.add_argument("--labels", default=None, help="label table (mricron .txt or BIDS dseg.tsv)")
    p.add_argument("--maps", action="store_true", help="the atlas is a 4D probabilistic map image")
    p.add_argument("--mask", default=None, help="brain mask (3D); regions are restricted to it")
    p.add_argument("-o", "--output", required=True, help="output TSV")
    p.add_argument("--threads", type=int, default=0, help="reduction threads (0: automatic)")
    p.add_argument("--strategy", default=None,
                   help="confound strategy (nilearn preset or XCP-D model: simple, scrubbing, compcor, ica_aroma, "
                        "24P, 27P, 36P, acompcor, acompcor_gsr); needs the fMRIPrep confounds file beside the BOLD")
    p.add_argument("--fd-threshold", type=float, default=None,
                   help="scrubbing threshold on framewise displacement in mm (with --strategy)")
    p.add_argument("--low-pass", type=float, default=None, help="low-pass cut-off in Hz (Butterworth)")
    p.add_argument("--high-pass", type=float, default=None, help="high-pass cut-off in Hz (Butterworth)")
    p.add_argument("--detrend", action=argparse.BooleanOptionalAction, default=False,
                   help="remove mean and linear trend (default: no)")
    p.add_argument("--standardize", default="none", choices=("zscore_sample", "zscore", "psc", "none"),
                   help="standardize each column (default none)")
    p.add_argument("--t-r", type=float, default=None, help="repetition time in s (default: from the header)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(run=cmd_extract)

    p = verbs.add_parser("connectivity", help="connectivity matrix of a region time-series TSV",
                         description="Reads a TSV written by `rewire extract` (header = region names) and writes "
                                     "the N x N matrix as a TSV with the names as header and first column.")
    p.add_argument("timeseries", help="TSV of region time series (T rows, one column per region)")
    p.add_argument("--kind", default="correlation",
                   choices=("correlation", "covariance", "partial_correlation", "precision"))
    p.add_argument("--estimator", default="empirical", choices=("empirical", "ledoit_wolf", "oas"))
    p.add_argument("--fisher-z", action="store_true", help="arctanh of the correlations, zero diagonal")
    p.add_argument("-o", "--output", required=True, help="output TSV")
    p.set_defaults(run=cmd_connectivity)

    p = verbs.add_parser("simulate", help="write a simulated two-group pre/post study",
                         description="Writes a small study laid out like fMRIPrep derivatives, with a planted "
                                     "post - pre connectivity increase in the therapy group; the truth goes "
                                     "to OUT_DIR/ground_truth.json. Same seed, same bytes.")
    p.add_argument("out_dir")
    p.add_argument("--subjects", type=int, default=4, help="participants per group (default 4)")
    p.add_argument("--timepoints", type=int, default=120, help="volumes per run (default 120)")
    p.add_argument("--tr", type=float, default=2.0, help="repetition time in seconds (default 2.0)")
    p.add_argument("--resolution", type=int, default=4, choices=(2, 3, 4),
                   help="voxel size in mm: 2 gives the 91x109x91 MNI grid, 4 a smaller one (default 4)")
    p.add_argument("--effect", type=float, default=0.5,
                   help="planted post - pre correlation increase in the therapy group (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--atlas", default=None, help="label atlas driving the networks (default: mricron AAL)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(run=cmd_simulate)

    p = verbs.add_parser("run", help="a whole study: fMRIPrep derivatives to an HDF5 cohort store",
                         description="Finds preprocessed BOLD runs (sub/ses/task/run/space/res entities), extracts, "
                                     "cleans and estimates connectivity for each run in parallel, and commits each "
                                     "finished run to the store. Re-running skips runs whose inputs and options "
                                     "are unchanged. Exit status 1 if any run failed.")
    p.add_argument("derivatives", help="fMRIPrep derivatives folder")
    p.add_argument("-o", "--output", required=True, help="cohort store (.h5) to create or update")
    p.add_argument("--atlas", required=True, help="label atlas image")
    p.add_argument("--labels", default=None, help="label table (mricron .txt or BIDS dseg.tsv)")
    p.add_argument("--strategy", default=None,
                   help="confound strategy: simple, scrubbing, compcor, ica_aroma, 24P, 27P, 36P, acompcor, "
                        "acompcor_gsr (default: none)")
    p.add_argument("--fd-threshold", type=float, default=None, help="scrubbing threshold on FD in mm")
    p.add_argument("--kind", default="correlation",
                   help="comma-separated measures: covariance, correlation, partial_correlation, precision, tangent")
    p.add_argument("--estimator", default="empirical", choices=("empirical", "ledoit_wolf", "oas"))
    p.add_argument("--low-pass", type=float, default=None, help="low-pass cut-off in Hz")
    p.add_argument("--high-pass", type=float, default=None, help="high-pass cut-off in Hz")
    p.add_argument("--no-detrend", action="store_true", help="do not remove linear trends")
    p.add_argument("--standardize", default="zscore_sample", choices=("zscore_sample", "zscore", "psc", "none"))
    p.add_argument("--no-mask", action="store_true", help="ignore the fMRIPrep brain masks")
    p.add_argument("--task", default="rest", help="BIDS task (default rest)")
    p.add_argument("--space", default=None, help="BIDS space, e.g. MNI152NLin2009cAsym")
    p.add_argument("--res", default=None, help="BIDS res entity")
    p.add_argument("--subjects", nargs="+", default=None, help="only these subjects")
    p.add_argument("--participants", default=None, help="participants.tsv (default: found in the derivatives)")
    p.add_argument("--max-mean-fd", type=float, default=None, help="exclude runs with a larger mean FD (mm)")
    p.add_argument("--min-frames", type=int, default=None, help="exclude runs with fewer frames left")
    p.add_argument("--tangent-reference", default="pre", help="session that defines the tangent reference")
    p.add_argument("--workers", type=int, default=1, help="runs processed at once (default 1)")
    p.add_argument("--bids-outputs", default=None, metavar="DIR",
                   help="also write each run's time series and matrices as BIDS-style TSV files with JSON "
                        "sidecars under DIR (BEP017 names: *_seg-<atlas>_desc-denoised_timeseries.tsv, "
                        "*_meas-<measure>_desc-denoised_relmat.tsv)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(run=cmd_run)

    p = verbs.add_parser("delta", help="each subject's post - pre change in connectivity",
                         description="Reads a cohort store and writes every subject's change (post - pre) as a "
                                     "subjects x edges table in rewire's edge order; subjects lacking a session "
                                     "are listed and left out.")
    from .stats import add_arguments as add_stats_arguments, add_change_arguments

    p.add_argument("store", help="cohort store (.h5)")
    add_change_arguments(p)
    p.add_argument("-o", "--output", required=True, help="output .tsv or .h5")
    p.set_defaults(run=cmd_delta)

    p = verbs.add_parser("stats", help="group statistics on edges: GLM, FDR, max-T, NBS, TFNBS",
                         description="Tests a contrast of a GLM on every edge: each subject's post - pre change (or "
                                     "one --session) read from a cohort store, or a subjects x edges table such as "
                                     "`rewire delta` writes, with --method nbs|tfnbs|maxt "
                                     "(permutation, FWE-corrected) or fdr (parametric, Benjamini-Hochberg). Writes "
                                     "the results (.h5 or .npz) and a TSV of the significant edges with region "
                                     "names.")
    add_stats_arguments(p)
    p.set_defaults(run=cmd_stats)

    p = verbs.add_parser("demo", help="simulate a small pre/post study and run the whole pipeline on it",
                         description="Simulates a two-group pre/post study (4 per group, 4 mm, 150 volumes, seed 0) "
                                     "with a planted connectivity increase in the therapy group, runs it through "
                                     "`rewire run` (simple confounds, correlation) into an HDF5 cohort store, "
                                     "computes each subject's post - pre change and prints the planted edges' "
                                     "change next to the truth, and where the outputs went.")
    p.add_argument("out_dir", nargs="?", default="rewire-demo", help="output folder (default ./rewire-demo)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except (ValueError, OSError, FloatingPointError) as error:
        print(f"rewire {args.verb}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rewire {args.verb}: interrupted", file=sys.stderr)
        return 130


