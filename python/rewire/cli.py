"""The ``rewire`` command line. Every verb has ``--help``; progress goes to stderr."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional

import numpy as np

from . import __version__
from .api import Atlas, correlation, extract


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
    signals, coverage = extract(args.bold, atlas, args.mask, return_coverage=True, threads=args.threads,
                                progress=progress)
    write_tsv(args.output, signals, atlas.names)
    low = [f"{name} ({c:.0%})" for name, c in zip(atlas.names, coverage) if c < 1.0]
    if low and not args.quiet:
        print(f"{len(low)} region(s) with incomplete coverage: " + ", ".join(low[:10])
              + (" ..." if len(low) > 10 else ""), file=sys.stderr)
    if not args.quiet:
        print(f"wrote {args.output}: {signals.shape[0]} volumes x {signals.shape[1]} regions", file=sys.stderr)
    return 0


def cmd_simulate(args) -> int:
    from .simulate import SimulationOptions, simulate_study

    options = SimulationOptions(subjects=args.subjects, timepoints=args.timepoints, tr=args.tr,
                                resolution=args.resolution, effect=args.effect, seed=args.seed,
                                atlas=args.atlas)
    simulate_study(args.out_dir, options, progress=None if args.quiet else Progress("simulate"))
    if not args.quiet:
        print(f"wrote a simulated study to {args.out_dir}", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.out_dir, quiet=args.quiet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewire",
        description="Resting-state fMRI functional connectivity: BOLD volumes to parcel time series, "
                    "connectivity, pre/post change and cohort statistics.")
    parser.add_argument("--version", action="version", version=f"rewire {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    p = verbs.add_parser("extract", help="region time series of one BOLD run",
                         description="Streams a 4D BOLD image once and writes raw region means (no cleaning) "
                                     "as a TSV with one column per region, named from the label table.")
    p.add_argument("bold", help="4D BOLD image (.nii or .nii.gz)")
    p.add_argument("--atlas", required=True, help="label image (3D integers) or, with --maps, a 4D map image")
    p.add_argument("--labels", default=None, help="label table (mricron .txt or BIDS dseg.tsv)")
    p.add_argument("--maps", action="store_true", help="the atlas is a 4D probabilistic map image")
    p.add_argument("--mask", default=None, help="brain mask (3D); regions are restricted to it")
    p.add_argument("-o", "--output", required=True, help="output TSV")
    p.add_argument("--threads", type=int, default=0, help="reduction threads (0: automatic)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(run=cmd_extract)

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

    p = verbs.add_parser("demo", help="simulate a small study, extract, correlate and summarise",
                         description="Runs rewire end to end on built-in simulated data and prints where the "
                                     "outputs went.")
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


if __name__ == "__main__":
    sys.exit(main())
