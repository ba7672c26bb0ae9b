"""The ``rewire`` command line's parser: every verb, its flags and their defaults.

Defaults come from the bound C++ options structs (``rewire._core``) and :class:`StudyOptions`, so the
command line, the Python keywords and C++ agree by construction. Building the parser imports neither
numpy nor pandas nor any verb's module: ``rewire --help`` and ``rewire --version`` start fast, and a
verb's module is imported only when that verb runs (:func:`rewire.cli.main`).
"""
from __future__ import annotations

import argparse

from .. import _core
from ..study.options import DEFAULT_WORKERS, ESTIMATORS, KINDS, StudyOptions

_CLEAN = _core.CleanOptions()
_CONFOUNDS = _core.ConfoundsOptions()
_DELTA = _core.DeltaOptions()
_ESTIMATE = _core.EstimateOptions()
_EXTRACT = _core.ExtractOptions()
_NBS = _core.NbsOptions()
_PERMUTATION = _core.PermutationOptions()
_SHUFFLE = _core.ShuffleOptions()
_STUDY = StudyOptions()
_WARP = _core.WarpOptions()

#: The values of --standardize: rewire.clean's, "none" for no scaling.
STANDARDIZE = tuple(str(value) for value in _core.Standardize.__members__.values())
#: Confound strategies a verb accepts by name.
PRESETS = tuple(_core.confounds_presets())


def _labels(values) -> str:
    return ", ".join(values)


def add_cleaning_arguments(p: argparse.ArgumentParser) -> None:
    """The cleaning flags `rewire extract` and `rewire run` share (one set, one help text, the defaults of
    rewire.clean = nilearn.signal.clean: C++ CleanOptions)."""
    g = p.add_argument_group(
        "cleaning", "rewire.clean in nilearn's order: confounds of --strategy and censoring, detrending, Butterworth "
                    "filtering when a cut-off is given, confound regression, standardizing. Defaults are "
                    "nilearn.signal.clean's.")
    g.add_argument("--strategy", default=_STUDY.strategy,
                   help=f"confound strategy: {_labels(PRESETS)}; needs the fMRIPrep confounds file beside the BOLD "
                        "(default: no confound regression)")
    g.add_argument("--fd-threshold", type=float, default=None,
                   help="scrubbing threshold on framewise displacement in mm (with --strategy; default: the "
                        f"strategy's own, {_CONFOUNDS.fd_threshold:g} mm for scrubbing)")
    g.add_argument("--low-pass", type=float, default=_CLEAN.low_pass, help="low-pass cut-off in Hz (default: none)")
    g.add_argument("--high-pass", type=float, default=_CLEAN.high_pass, help="high-pass cut-off in Hz (default: none)")
    g.add_argument("--detrend", action=argparse.BooleanOptionalAction, default=_CLEAN.detrend,
                   help=f"remove each region's mean and linear trend (default: {'yes' if _CLEAN.detrend else 'no'})")
    g.add_argument("--standardize", default=str(_CLEAN.standardize), choices=STANDARDIZE,
                   help=f"scale each region's cleaned signal (default {_CLEAN.standardize})")


def add_change_arguments(p) -> None:
    """The options that select a change in a cohort store (`rewire delta`, `rewire stats`): DeltaOptions."""
    p.add_argument("--post", default=_DELTA.post, help=f"session after (default {_DELTA.post})")
    p.add_argument("--pre", default=_DELTA.pre, help=f"session before (default {_DELTA.pre})")
    p.add_argument("--kind", default=_DELTA.kind, help=f"measure (default {_DELTA.kind})")
    p.add_argument("--fisher-z", action=argparse.BooleanOptionalAction, default=_DELTA.fisher_z,
                   help="subtract the Fisher z of correlations rather than the correlations (default: "
                        f"{'yes' if _DELTA.fisher_z else 'no'})")


def add_stats_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", help="a cohort store (study.h5 from `rewire run`), or subjects x edges data: .h5 or .tsv "
                                 "as written by `rewire delta`, or .npy")
    store = p.add_argument_group("from a cohort store")
    add_change_arguments(store)
    store.add_argument("--session", default=None,
                       help="test one session's edges; without it, each subject's change --post minus --pre")
    p.add_argument("--design", default="one-sample",
                   help="design TSV (numeric columns, optional participant_id), a formula such as '~ group + age' "
                        "over --participants columns, or one-sample (default: one-sample / paired deltas)")
    p.add_argument("--participants", default=None,
                   help="participants.tsv for a formula design (default: the one a cohort store holds)")
    p.add_argument("--contrast", default=None,
                   help="weights per design column (0,1,0), rows for an F test (0,1,0;0,0,1), or a column name")
    p.add_argument("--ftest", action="store_true", help="F test of the contrast rows")
    p.add_argument("--method", default="nbs", choices=("nbs", "tfnbs", "maxt", "fdr"), help="default nbs")
    p.add_argument("--threshold", type=float, default=None, help="NBS primary threshold (required for nbs)")
    p.add_argument("--threshold-kind", default="t", choices=("t", "z"),
                   help="units of --threshold: the test statistic (t, or F) or Z (default t)")
    p.add_argument("--measure", default=str(_NBS.measure),
                   choices=tuple(str(m) for m in _core.NbsMeasure.__members__.values()),
                   help=f"NBS component measure (default {_NBS.measure})")
    p.add_argument("--tail", default=str(_NBS.tail), choices=tuple(str(t) for t in _core.Tail.__members__.values()),
                   help=f"default {_NBS.tail}")
    p.add_argument("--shuffles", type=int, default=_SHUFFLE.count,
                   help=f"number of shuffles (default {_SHUFFLE.count})")
    p.add_argument("--seed", type=int, default=_SHUFFLE.seed, help=f"seed of the shuffles (default {_SHUFFLE.seed})")
    p.add_argument("--shuffle", default="auto",
                   choices=("auto",) + tuple(str(k) for k in _core.ShuffleKind.__members__.values()),
                   help="auto: sign flips without a nuisance intercept (one-sample), else Freedman-Lane permutations")
    p.add_argument("--blocks", default=None,
                   help="exchangeability blocks: a participants/design column name or a file with one label per row")
    p.add_argument("--whole-blocks", action="store_true", default=_SHUFFLE.whole_blocks,
                   help="exchange blocks as wholes")
    p.add_argument("--compat", default=None, choices=("bctpy", "mrtrix"), help="p-value and NBS conventions")
    p.add_argument("--alpha", type=float, default=0.05, help="significance for the edge table (default 0.05)")
    p.add_argument("--names", default=None, help="node names: one per line, or a TSV with a 'name' column")
    p.add_argument("--threads", type=int, default=_PERMUTATION.threads, help="threads (0: automatic)")
    p.add_argument("-o", "--output", required=True,
                   help="results: .h5 (HDF5, readable with h5py or MATLAB) or .npz (numpy)")
    p.add_argument("--tsv", default=None, help="significant edges (default: OUTPUT with _edges.tsv)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


class _AddTransform(argparse.Action):
    """--transform XFM: appends [XFM, False] to the chain (ANTs' [XFM,1] is read later, by the verb)."""

    def __call__(self, parser, namespace, values, option_string=None):
        chain = list(getattr(namespace, self.dest) or [])
        chain.append([values, False])
        setattr(namespace, self.dest, chain)


class _InvertLast(argparse.Action):
    """--invert: the --transform just before it is used inverted (antsApplyTransforms' [XFM,1])."""

    def __call__(self, parser, namespace, values, option_string=None):
        chain = getattr(namespace, "transforms", None)
        if not chain:
            parser.error("--invert must follow the --transform it inverts")
        chain[-1][1] = True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewire",
        description="Resting-state fMRI functional connectivity: BOLD volumes to parcel time series, "
                    "connectivity, pre/post change and cohort statistics.")
    parser.add_argument("--version", action="version", version=f"rewire {_core.__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")

    p = verbs.add_parser(
        "extract", help="region time series of one BOLD run",
        description="Streams a 4D BOLD image once and writes one column per region (named from the label table) "
                    "as a TSV. The signals are cleaned exactly as `rewire run` cleans each run, with the same "
                    "defaults (those of rewire.clean = nilearn.signal.clean: detrended and z-scored, no filter, no "
                    "confounds unless --strategy); --no-clean writes the raw region means.")
    p.add_argument("bold", help="4D BOLD image (.nii or .nii.gz)")
    p.add_argument("--atlas", required=True, help="label image (3D integers) or, with --maps, a 4D map image")
    p.add_argument("--labels", default=None, help="label table (mricron .txt or BIDS dseg.tsv)")
    p.add_argument("--maps", action="store_true", help="the atlas is a 4D probabilistic map image")
    p.add_argument("--mask", default=None, help="brain mask (3D); regions are restricted to it")
    p.add_argument("-o", "--output", required=True, help="output TSV")
    p.add_argument("--threads", type=int, default=_EXTRACT.threads, help="threads (0: automatic)")
    p.add_argument("--clean", action=argparse.BooleanOptionalAction, default=True,
                   help="clean the region signals (default: yes; --no-clean: the raw region means)")
    add_cleaning_arguments(p)
    p.add_argument("--t-r", type=float, default=None, help="repetition time in s (default: from the header)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(module="extract")

    p = verbs.add_parser(
        "warp-atlas", help="carry a label atlas into another space (a participant's native space)",
        description="Warps a label atlas onto the grid of a reference image through ANTs / ITK / fMRIPrep transform "
                    "files, as antsApplyTransforms -n NearestNeighbor does: transforms are listed last-applied-first "
                    "(the first --transform is the one the atlas meets first, e.g. fMRIPrep's "
                    "from-MNI152NLin2009cAsym_to-T1w_mode-image_xfm.h5), --invert (or [XFM,1]) uses the inverse of "
                    "the --transform before it. Reads HDF5 composites (.h5), ITK text (.txt, .tfm) and ANTs .mat "
                    "files. The spaces the file names state (tpl-/space-, from-/to-) must connect.")
    p.add_argument("atlas", help="label atlas image (3D integers; NIfTI, NRRD, MetaImage, Analyze)")
    p.add_argument("--reference", required=True,
                   help="image whose grid the labels are written on: a BOLD series (its volumes' grid), a boldref, a T1w")
    p.add_argument("--transform", dest="transforms", action=_AddTransform, required=True, metavar="XFM",
                   help="transform file (repeat for a chain, last-applied-first); ANTs' [XFM,1] inverts it")
    p.add_argument("--invert", nargs=0, action=_InvertLast, help="use the inverse of the --transform just before")
    p.add_argument("--interpolation", default=str(_WARP.interpolation),
                   choices=tuple(str(v) for v in _core.LabelInterpolation.__members__.values()),
                   help=f"nearest (antsApplyTransforms' NearestNeighbor) or label_gaussian (its MultiLabel) "
                        f"(default {_WARP.interpolation})")
    p.add_argument("--sigma", type=float, default=_WARP.sigma,
                   help="label_gaussian: sigma in mm (default: the atlas' voxel size)")
    p.add_argument("--alpha", type=float, default=_WARP.alpha,
                   help=f"label_gaussian: cut-off in sigmas (default {_WARP.alpha:g}, as ANTs' MultiLabel)")
    p.add_argument("--threads", type=int, default=_WARP.threads, help="threads (0: automatic)")
    p.add_argument("-o", "--output", required=True, help="warped labels (.nii or .nii.gz)")
    p.set_defaults(module="warp_atlas")

    kinds = tuple(kind.replace(" ", "_") for kind in KINDS if kind != "tangent")
    p = verbs.add_parser("connectivity", help="connectivity matrix of a region time-series TSV",
                         description="Reads a TSV written by `rewire extract` (header = region names) and writes "
                                     "the N x N matrix as a TSV with the names as header and first column.")
    p.add_argument("timeseries", help="TSV of region time series (T rows, one column per region)")
    p.add_argument("--kind", default=str(_ESTIMATE.kind).replace(" ", "_"), choices=kinds,
                   help=f"default {_ESTIMATE.kind}")
    p.add_argument("--estimator", default=str(_ESTIMATE.estimator), choices=ESTIMATORS,
                   help=f"default {_ESTIMATE.estimator}")
    p.add_argument("--fisher-z", action="store_true", help="arctanh of the correlations, zero diagonal")
    p.add_argument("-o", "--output", required=True, help="output TSV")
    p.set_defaults(module="connectivity")

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
    p.add_argument("--atlas", default=None, help="label atlas driving the networks (default: the simulator's own synthetic atlas; Debian's AAL etc. also work)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(module="simulate")

    p = verbs.add_parser("run", help="a whole study: fMRIPrep derivatives to an HDF5 cohort store",
                         description="Finds preprocessed BOLD runs (sub/ses/task/run/space/res entities), extracts, "
                                     "cleans and estimates connectivity for each run in parallel, and commits each "
                                     "finished run to the store. Re-running skips runs whose inputs and options "
                                     "are unchanged. Exit status 1 if any run failed.")
    p.add_argument("derivatives", help="fMRIPrep derivatives folder")
    p.add_argument("-o", "--output", required=True, help="cohort store (.h5) to create or update")
    p.add_argument("--atlas", required=True, help="label atlas image")
    p.add_argument("--labels", default=_STUDY.labels, help="label table (mricron .txt or BIDS dseg.tsv)")
    add_cleaning_arguments(p)
    p.add_argument("--kind", default=",".join(_STUDY.kinds),
                   help="comma-separated measures: covariance, correlation, partial_correlation, precision, tangent "
                        f"(default {','.join(_STUDY.kinds)})")
    p.add_argument("--estimator", default=_STUDY.estimator, choices=ESTIMATORS, help=f"default {_STUDY.estimator}")
    p.add_argument("--no-mask", dest="use_mask", action="store_false", default=_STUDY.use_mask,
                   help="ignore the fMRIPrep brain masks")
    p.add_argument("--task", default=_STUDY.task, help=f"BIDS task (default {_STUDY.task})")
    p.add_argument("--space", default=_STUDY.space, help="BIDS space, e.g. MNI152NLin2009cAsym")
    p.add_argument("--res", default=_STUDY.res, help="BIDS res entity")
    p.add_argument("--subjects", nargs="+", default=None, help="only these subjects")
    p.add_argument("--participants", default=None, help="participants.tsv (default: found in the derivatives)")
    p.add_argument("--max-mean-fd", type=float, default=_STUDY.max_mean_fd,
                   help="exclude runs with a larger mean FD (mm)")
    p.add_argument("--min-frames", type=int, default=_STUDY.min_frames, help="exclude runs with fewer frames left")
    p.add_argument("--tangent-reference", default=_STUDY.tangent_reference,
                   help=f"session that defines the tangent reference (default {_STUDY.tangent_reference})")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"runs processed at once (default {DEFAULT_WORKERS})")
    p.add_argument("--threads", type=int, default=_STUDY.threads,
                   help="thread budget of the whole study, shared out between the workers (0: automatic)")
    p.add_argument("--bids-outputs", default=None, metavar="DIR",
                   help="also write each run's time series and matrices as BIDS-style TSV files with JSON "
                        "sidecars under DIR (BEP017 names: *_seg-<atlas>_desc-denoised_timeseries.tsv, "
                        "*_meas-<measure>_desc-denoised_relmat.tsv)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(module="run")

    p = verbs.add_parser("delta", help="each subject's post - pre change in connectivity",
                         description="Reads a cohort store and writes every subject's change (post - pre) as a "
                                     "subjects x edges table in rewire's edge order; subjects lacking a session "
                                     "are listed and left out.")
    p.add_argument("store", help="cohort store (.h5)")
    add_change_arguments(p)
    p.add_argument("-o", "--output", required=True, help="output .tsv or .h5")
    p.set_defaults(module="delta")

    p = verbs.add_parser("check", help="list the intact and damaged runs of a cohort store",
                         description="Reads every run of a cohort store in full, verifying each array's checksum "
                                     "(stores of format 2) and that each run's edge rows equal its matrices, and "
                                     "lists every run as intact, damaged (with the damaged object) or unfinished "
                                     "(an interrupted write that the next `rewire run` redoes). Exit status 0 when "
                                     "nothing is damaged, 1 otherwise.")
    p.add_argument("store", help="cohort store (.h5)")
    p.set_defaults(module="check")

    p = verbs.add_parser("stats", help="group statistics on edges: GLM, FDR, max-T, NBS, TFNBS",
                         description="Tests a contrast of a GLM on every edge: each subject's post - pre change (or "
                                     "one --session) read from a cohort store, or a subjects x edges table such as "
                                     "`rewire delta` writes, with --method nbs|tfnbs|maxt "
                                     "(permutation, FWE-corrected) or fdr (parametric, Benjamini-Hochberg). Writes "
                                     "the results (.h5 or .npz) and a TSV of the significant edges with region "
                                     "names.")
    add_stats_arguments(p)
    p.set_defaults(module="stats")

    p = verbs.add_parser("demo", help="simulate a small pre/post study and run the whole pipeline on it",
                         description="Simulates a two-group pre/post study (4 per group, 4 mm, 150 volumes, seed 0) "
                                     "with a planted connectivity increase in the therapy group, runs it through "
                                     "`rewire run` (simple confounds, correlation) into an HDF5 cohort store, "
                                     "computes each subject's post - pre change and prints the planted edges' "
                                     "change next to the truth, and where the outputs went.")
    p.add_argument("out_dir", nargs="?", default="rewire-demo", help="output folder (default ./rewire-demo)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(module="demo")
    return parser
