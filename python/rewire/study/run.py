"""The study pipeline: fMRIPrep derivatives → cleaned parcel signals and connectivity in a cohort store.

Workers (threads; every heavy call releases the GIL) compute one run each; the calling thread is the
single writer that commits finished runs to the HDF5 store, so the same pipeline can hand runs to
workers elsewhere (Dask) without changing the store. At most ``2 × workers`` runs are in flight, so
memory does not depend on the number of subjects.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._files import check_output_file, check_output_folder
from ..images import Atlas, extract, load_image3d, read_header
from .bids import BoldRun, discover
from .options import DEFAULT_WORKERS, KINDS, StudyOptions

__all__ = ["KINDS", "StudyOptions", "StudySummary", "process_run", "run_study"]


def file_checksum(path: str) -> str:
    """A content checksum. For gzip files the CRC-32 and size of the uncompressed data stored in the
    gzip trailer (free to read); otherwise the CRC-32 of the file's bytes."""
    with open(path, "rb") as handle:
        magic = handle.read(2)
        if magic == b"\x1f\x8b":
            handle.seek(-8, os.SEEK_END)
            trailer = handle.read(8)
            crc = int.from_bytes(trailer[:4], "little")
            size = int.from_bytes(trailer[4:], "little")
            return f"gzip-crc32:{crc:08x}:isize:{size}"
        handle.seek(0)
        crc = 0
        for block in iter(lambda: handle.read(1 << 22), b""):
            crc = zlib.crc32(block, crc)
        return f"crc32:{crc:08x}"


def _fingerprint(run: BoldRun, options_json: str) -> str:
    """Identifies a run's inputs and options: file paths, sizes and modification times (cheap to check on
    every re-run; the checksums are stored alongside for provenance)."""
    digest = hashlib.sha256(options_json.encode())
    for path in (run.bold, run.mask, run.confounds):
        if path:
            if os.path.islink(path) and not os.path.exists(path):
                raise FileNotFoundError(f"{path}: a symbolic link to {os.readlink(path)}, which does not exist")
            stat = os.stat(path)
            digest.update(f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


#: Repetition times (s) a header may state. Outside this range pixdim[4] is a placeholder (0, 1e-30, ...),
#: not a scanner's TR, and a filter built on it would be meaningless.
PLAUSIBLE_TR = (1e-3, 1e3)


def repetition_time(bold: str, options: StudyOptions, given: Optional[float] = None) -> Optional[float]:
    """The TR (s) cleaning uses for ``bold``: ``given`` (``--t-r``), else the header's pixdim[4] in its time
    unit. When the header's TR is 0, not finite or outside PLAUSIBLE_TR: ValueError naming the file,
    pixdim[4] and --t-r if the cleaning filters (the one step that needs a TR), else None (not needed)."""
    if given is not None:
        return float(given)
    tr = float(read_header(bold)["tr"])
    if math.isfinite(tr) and PLAUSIBLE_TR[0] <= tr <= PLAUSIBLE_TR[1]:
        return tr
    if not (options.low_pass or options.high_pass):
        return None
    raise ValueError(f"{bold}: the header's repetition time (pixdim[4]) is {tr:g} s, not a TR between "
                     f"{PLAUSIBLE_TR[0]:g} and {PLAUSIBLE_TR[1]:g} s, and filtering needs the TR: fix pixdim[4], "
                     f"or give the TR with --t-r")


class Excluded(Exception):
    """A run left out by a quality-control rule (not an error)."""


def qc_exclusion(options: StudyOptions, mean_fd: float, frames_kept: int) -> Optional[str]:
    """Why a run with these QC figures is excluded by the options' rules, or None when it is kept."""
    if options.max_mean_fd is not None and mean_fd > options.max_mean_fd:
        return f"mean FD {mean_fd:.3f} mm > {options.max_mean_fd} mm"
    if options.min_frames is not None and frames_kept < options.min_frames:
        return f"{frames_kept} frames left after censoring < {options.min_frames}"
    return None


def _qc(confounds_path: Optional[str]) -> Tuple[float, float, int]:
    """Mean framewise displacement, mean std_dvars (NaN if absent) and the number of non-steady-state
    volumes (``non_steady_state_outlier*`` columns) of an fMRIPrep confounds file (read in C++, without
    the GIL, so that workers do not queue for it)."""
    if not confounds_path:
        return float("nan"), float("nan"), 0
    table = _core.read_confounds_table(confounds_path)
    names = list(table.names)
    values = np.asarray(table.values)

    def mean(column):
        if column not in names:
            return float("nan")
        finite = values[:, names.index(column)]
        finite = finite[np.isfinite(finite)]
        return float(finite.mean()) if finite.size else float("nan")

    nonsteady = sum(1 for column in names if column.startswith("non_steady_state_outlier"))
    return mean("framewise_displacement"), mean("std_dvars"), nonsteady


def process_run(run: BoldRun, atlas: Atlas, options: StudyOptions, options_json: str,
                threads: int) -> "_core.RunRecord":
    """Extract, clean and estimate one run with ``threads`` threads for each step (the worker's share of
    the study's budget). Raises :class:`Excluded` for QC exclusions."""
    from ..connectivity import connectivity

    if options.strategy is not None and not run.confounds:
        raise FileNotFoundError(f"{run.bold}: no fMRIPrep confounds file beside it "
                                f"(*_desc-confounds_timeseries.tsv), but strategy {options.strategy!r} needs one")
    mask = run.mask if options.use_mask else None
    # The extraction inflates on a thread of its own besides its reducers: both come out of the share.
    tr = repetition_time(run.bold, options)  # before the extraction: a bad header fails at once
    signals, coverage = extract(run.bold, atlas, mask, return_coverage=True, threads=max(1, threads - 1))
    empty = [atlas.names[i] for i in np.flatnonzero(coverage == 0)]
    if empty:
        raise ValueError(f"{run.bold}: {len(empty)} region(s) have no voxels with data in this run "
                         f"({', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''})")
    mean_fd, mean_dvars, nonsteady = _qc(run.confounds)
    frames_total = signals.shape[0]
    confounds, sample_mask = run_confounds(run.bold, options)
    kept = frames_total if sample_mask is None else len(sample_mask)
    reason = qc_exclusion(options, mean_fd, kept)
    if reason is not None:
        raise Excluded(reason)
    cleaned = clean_run(signals, confounds, sample_mask, tr, options, threads, source=run.bold)
    record = _core.RunRecord()
    record.subject = run.subject
    record.session = run.session
    record.fingerprint = _fingerprint(run, options_json)
    inputs = {"bold": run.bold, "mask": mask, "confounds": run.confounds}
    record.checksums = json.dumps({key: file_checksum(path) for key, path in inputs.items() if path})
    if confounds is not None:  # what was regressed out, for provenance and the BIDS sidecars
        inputs["confound_regressors"] = [str(column) for column in getattr(confounds, "columns", [])]
        inputs["non_steady_state_volumes"] = nonsteady
    record.inputs = json.dumps(inputs)
    record.timeseries = cleaned
    record.sample_mask = list(range(frames_total)) if sample_mask is None else [int(i) for i in sample_mask]
    record.coverage = coverage
    record.tr = 0.0 if tr is None else float(tr)  # 0: unknown
    record.mean_fd = mean_fd
    record.mean_dvars = mean_dvars
    record.frames_total = frames_total
    record.frames_censored = frames_total - kept
    measures = {}
    for kind in options.kinds:
        if kind == "tangent":
            continue  # needs the whole group: computed when every run is in (see _finish_tangent)
        measures[kind] = connectivity(cleaned, kind=kind, estimator=options.estimator, threads=threads)
    record.measures = measures
    return record


def run_confounds(bold: str, options: StudyOptions):
    """``(confounds, sample_mask)`` of one run by the options' strategy, as :func:`rewire.load_confounds`
    returns them; ``(None, None)`` without a strategy. A confounds file whose rows are not the BOLD's
    volumes raises ValueError naming both files and both counts."""
    if options.strategy is None:
        return None, None
    from ..confounds import load_confounds

    confounds, sample_mask = load_confounds(bold, strategy=options.strategy, **options.strategy_options)
    shape = read_header(bold)["shape"]
    path = _core.confounds_file_beside(bold)  # the file load_confounds read
    rows = np.asarray(_core.read_confounds_table(path).values).shape[0]
    if len(shape) == 4 and rows != shape[3]:
        raise ValueError(f"{path}: {rows} rows, but {bold} has {shape[3]} volumes: the confounds file "
                         f"belongs to another run, or one of them is cut short")
    return confounds, sample_mask


def clean_run(signals, confounds, sample_mask, tr: Optional[float], options: StudyOptions, threads: int,
              source: str = "") -> np.ndarray:
    """One run's region signals cleaned by the options (``rewire run`` and ``rewire extract`` both clean
    this way): Butterworth filtering only when a cut-off is given. ``source`` (the BOLD file) is put in
    front of an error's message."""
    from ..signal import clean

    matrix = None if confounds is None else np.asarray(confounds, dtype=float)
    try:
        return clean(signals, detrend=options.detrend, standardize=options.standardize, confounds=matrix,
                     sample_mask=sample_mask,
                     filter=options.filter if (options.low_pass or options.high_pass) else False,
                     low_pass=options.low_pass, high_pass=options.high_pass, t_r=tr, threads=threads)
    except (ValueError, FloatingPointError) as error:
        if not source or source in str(error):
            raise
        raise type(error)(f"{source}: {error}") from error


@dataclass
class StudySummary:
    """What a study run did."""

    store: str
    processed: List[Tuple[str, str]] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    excluded: List[Tuple[str, str, str]] = field(default_factory=list)
    failed: List[Tuple[str, str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def table(self) -> str:
        lines = [f"{'processed':>10}  {len(self.processed)}", f"{'skipped':>10}  {len(self.skipped)} (unchanged)",
                 f"{'excluded':>10}  {len(self.excluded)}", f"{'failed':>10}  {len(self.failed)}"]
        for subject, session, reason in self.excluded:
            lines.append(f"  excluded {subject} {session}: {reason}")
        for subject, session, reason in self.failed:
            lines.append(f"  FAILED   {subject} {session}: {reason}")
        lines.append(f"store: {self.store} ({self.seconds:.1f} s)")
        return "\n".join(lines)


def _store_header(atlas: Atlas, options: StudyOptions) -> "_core.StoreHeader":
    header = _core.StoreHeader()
    header.atlas = os.path.abspath(options.atlas)
    header.atlas_checksum = file_checksum(options.atlas)
    header.values = [int(v) for v in atlas.values]
    header.names = atlas.names
    header.coordinates = _centroids(atlas, options.atlas)
    header.options = options.result_options()
    return header


def _centroids(atlas: Atlas, path: str) -> np.ndarray:
    """Region centroids in mm, in the atlas' own grid (NaN for a region absent from the image)."""
    data, affine = load_image3d(path)
    coordinates = np.full((len(atlas), 3), np.nan)
    labels = data.ravel(order="F")
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    shape = data.shape[:3]
    for row, value in enumerate(atlas.values):
        start, stop = np.searchsorted(sorted_labels, [value, value + 0.5])
        if stop > start:
            ijk = np.array(np.unravel_index(order[start:stop], shape, order="F"), dtype=float)
            coordinates[row] = (affine[:3, :3] @ ijk.mean(axis=1)) + affine[:3, 3]
    return coordinates


def run_study(derivatives: str, output: str, atlas: str, *, workers: int = DEFAULT_WORKERS,
              subjects: Optional[Sequence[str]] = None, participants: Optional[str] = None,
              progress: Optional[Callable[[int, int], None]] = None, log: Optional[Callable[[str], None]] = None,
              command_line: str = "", bids_outputs: Optional[str] = None, **options) -> StudySummary:
    """Process every matching BOLD run under ``derivatives`` into the cohort store ``output``.

    ``options`` are :class:`StudyOptions` fields (``strategy="36P"``, ``kinds=("correlation", "tangent")``,
    ``low_pass=0.08``, ``task="rest"``, ``space="MNI152NLin2009cAsym"``, ``max_mean_fd=0.5``, ``threads=8``,
    ...). ``workers`` runs are processed at once, each with its share of the ``threads`` budget. Runs whose
    inputs and options are unchanged since a previous call are skipped; a run that fails is reported and
    does not stop the others. ``participants`` defaults to ``derivatives/participants.tsv`` (or the raw
    dataset's, one folder up) and is stored with the results. ``bids_outputs``: a folder that also receives
    each run's time series and matrices as BIDS-style TSV files (see :mod:`rewire.study.outputs`); files of
    unchanged runs are written only when missing or stale.
    """
    started = time.perf_counter()
    study = StudyOptions(atlas=atlas, **options)
    study.validate()
    if workers < 1:
        raise ValueError("workers must be at least 1")
    check_output_file(output)  # before any work: a store that cannot be written fails at once
    if bids_outputs is not None:
        check_output_folder(bids_outputs)
    log = log or (lambda message: None)
    found = discover(derivatives, task=study.task, space=study.space, res=study.res, subjects=subjects)
    if not found.runs:
        filters = ", ".join(f"{k}={v}" for k, v in (("task", study.task), ("space", study.space), ("res", study.res))
                            if v is not None)
        if subjects is not None:
            filters += (", " if filters else "") + "subjects=" + ",".join(subjects)
        raise FileNotFoundError(f"{derivatives}: no preprocessed BOLD files (*_desc-preproc_bold.nii[.gz]) "
                                f"match {filters or 'the filters'}; {len(found.ignored)} other BOLD file(s) were ignored"
                                + (f", e.g. {found.ignored[0]}" if found.ignored else ""))
    keys = [(run.subject, run.session) for run in found.runs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"{derivatives}: several runs map to the same subject and session: {duplicates}")
    participants_table = _read_participants(participants, derivatives)
    atlas_object = Atlas.from_file(study.atlas, study.labels)
    options_json = study.result_options()
    _check_store_options(output, options_json)
    if bids_outputs is not None:
        from . import outputs as bids

        bids_outputs = os.fspath(bids_outputs)
        os.makedirs(bids_outputs, exist_ok=True)
        bids.write_dataset_description(bids_outputs, _core.__version__)
        seg = bids.atlas_label(study.atlas)
    store = _core.CohortStore.open_for_writing(output, _store_header(atlas_object, study),
                                               command_line or "rewire.run_study")

    def write_outputs(run: BoldRun, record, measures=None) -> None:
        bids.write_run(bids_outputs, run.entities, seg, study.atlas, atlas_object.names, record,
                       strategy=study.strategy, version=_core.__version__, measures=measures)

    per_run_kinds = [kind for kind in study.kinds if kind != "tangent"]
    try:
        if participants_table is not None:
            store.set_text("participants", participants_table)
        summary = StudySummary(store=output)
        todo: List[BoldRun] = []
        excluded_before = {(subject, session) for subject, session, _ in store.excluded_runs()}
        for run in found.runs:
            try:
                current = _fingerprint(run, options_json)
            except OSError as error:  # a dangling link, an unreadable file: this run fails, not the study
                summary.failed.append((run.subject, run.session, _reason(error, run)))
                continue
            fingerprint = store.fingerprint(run.subject, run.session)
            if fingerprint == current:
                # Unchanged results, but the QC rules may have changed since they were stored.
                mean_fd, frames_total, frames_censored = store.qc(run.subject, run.session)
                reason = qc_exclusion(study, mean_fd, frames_total - frames_censored)
                if reason is not None or (run.subject, run.session) in excluded_before:
                    store.set_exclusion(run.subject, run.session, reason or "")
                if reason is not None:
                    summary.excluded.append((run.subject, run.session, reason))
                    continue
                summary.skipped.append((run.subject, run.session))
                if bids_outputs is not None and not bids.is_current(bids_outputs, run.entities, seg, per_run_kinds,
                                                                    fingerprint):
                    record = store.read_run(run.subject, run.session)
                    write_outputs(run, record, {k: v for k, v in record.measures.items() if k != "tangent"})
            else:
                todo.append(run)
        log(f"{len(found.runs)} run(s) found, {len(summary.skipped)} unchanged, {len(todo)} to process "
            f"with {workers} worker(s) of {study.worker_threads(workers)} thread(s)")
        threads = study.worker_threads(workers)
        total = len(todo)
        done = 0
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: Dict[Future, BoldRun] = {}
            queue = iter(todo)

            def submit_next() -> None:
                run = next(queue, None)
                if run is not None:
                    pending[pool.submit(process_run, run, atlas_object, study, options_json, threads)] = run

            for _ in range(2 * workers):
                submit_next()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    run = pending.pop(future)
                    try:
                        record = future.result()
                    except Excluded as reason:
                        summary.excluded.append((run.subject, run.session, str(reason)))
                        if store.fingerprint(run.subject, run.session) is not None:  # earlier results of this run
                            store.set_exclusion(run.subject, run.session, str(reason))
                    except Exception as error:  # a bad run is reported; it never stops the others
                        summary.failed.append((run.subject, run.session, _reason(error, run)))
                    else:
                        store.commit(record)  # the single writer; a store error stops the study
                        summary.processed.append((run.subject, run.session))
                        if bids_outputs is not None:
                            write_outputs(run, record)
                    done += 1
                    if progress:
                        progress(done, total)
                    submit_next()
        if "tangent" in study.kinds:
            tangents = _finish_tangent(store, study, log)
            if bids_outputs is not None:  # recomputed matrices, and those whose file is missing
                extra = {"tangent": {"TangentReference": study.tangent_reference}}
                committed = set(store.runs())
                for run in found.runs:
                    key = (run.subject, run.session)
                    matrix = tangents.get(key)
                    if matrix is None and key in committed and not os.path.exists(
                            bids.output_paths(bids_outputs, run.entities, seg, ["tangent"])["relmat"]["tangent"]):
                        matrix = store.read_run(*key).measures.get("tangent")
                    if matrix is not None:
                        bids.write_measures(bids_outputs, run.entities, seg, atlas_object.names, {"tangent": matrix},
                                            source=run.bold, version=_core.__version__, extra=extra)
    finally:
        store.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _reason(error: Exception, run: BoldRun) -> str:
    """The error's message, naming the run's file when the message does not name an input already."""
    message = str(error) or error.__class__.__name__
    if not isinstance(error, (ValueError, OSError, FloatingPointError, RuntimeError)):
        message = f"{error.__class__.__name__}: {message}"
    named = [os.path.basename(path) for path in (run.bold, run.confounds, run.mask) if path]
    if not any(name in message for name in named):
        message = f"{run.bold}: {message}"
    return message


def _check_store_options(output: str, options_json: str) -> None:
    """Refuses, before anything is written, a store made with other result options, naming the options
    that differ (open_for_writing checks again, and checks the atlas)."""
    if not os.path.exists(output):
        return
    existing = _core.CohortStore.open(output)
    try:
        stored = existing.header().options
    finally:
        existing.close()
    if stored == options_json:
        return
    try:
        before, after = json.loads(stored), json.loads(options_json)
    except ValueError:
        return  # not ours to interpret: open_for_writing reports it
    differences = [f"{key} (stored {before.get(key)!r}, requested {after.get(key)!r})"
                   for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    raise ValueError(f"{output}: this store was made with other options: {'; '.join(differences)}. Results made "
                     f"with different settings are never mixed in one store: write to a new store (another -o), "
                     f"re-run with the stored options, or remove {output} to start over")


def _read_participants(path: Optional[str], derivatives: str) -> Optional[str]:
    candidates = [path] if path else [os.path.join(derivatives, "participants.tsv"),
                                      os.path.join(os.path.dirname(os.path.abspath(derivatives)), "participants.tsv")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            with open(candidate, encoding="utf-8-sig") as handle:  # -sig: a byte-order mark is not a name
                text = handle.read().replace("\r\n", "\n")
            header = text.splitlines()[0].split("\t") if text else []
            if "participant_id" not in header:
                raise ValueError(f"{candidate}: participants.tsv needs a participant_id column "
                                 f"(columns: {', '.join(header) or 'none'})")
            column = header.index("participant_id")
            ids = [line.split("\t")[column] for line in text.splitlines()[1:]
                   if line.strip() and len(line.split("\t")) > column]
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{candidate}: duplicate participant_id {repeated}")
            return text
    if path:
        raise FileNotFoundError(f"{path}: participants file does not exist")
    return None


def _finish_tangent(store, study: StudyOptions, log: Callable[[str], None]) -> Dict[Tuple[str, str], np.ndarray]:
    """Tangent-space connectivity of every run, around one reference fitted on the reference session's
    runs and kept fixed for every session. Returns the recomputed matrices by (subject, session): none
    when the reference runs are those of the last fit (root attribute ``tangent_reference``, written after
    every run has its matrix, so an interrupted pass is redone) and every run has its matrix."""
    from ..connectivity import Tangent

    runs = store.runs()
    reference = [(s, ses) for s, ses in runs if ses == study.tangent_reference]
    if not reference:
        raise ValueError(f"tangent: no run of the reference session '{study.tangent_reference}' "
                         f"(sessions: {sorted({ses for _, ses in runs})})")
    key = json.dumps([[s, ses, store.fingerprint(s, ses)] for s, ses in reference])
    have = set()
    if "tangent" in store.kinds():
        for session in {ses for _, ses in runs}:
            try:
                subjects, _ = store.edges("tangent", session)
            except ValueError:
                continue
            have.update((subject, session) for subject in subjects)
    if store.text("tangent_reference") == key and all(run in have for run in runs):
        log(f"tangent reference unchanged ({len(reference)} run(s) of session '{study.tangent_reference}')")
        return {}
    tangent = Tangent(estimator=study.estimator, threads=study.threads)
    try:
        tangent.fit([store.read_run(s, ses).timeseries for s, ses in reference])
    except (ValueError, FloatingPointError) as error:
        raise type(error)(f"tangent reference: {error} (the runs are stored; re-run with that estimator "
                          f"in a new store)") from error
    log(f"tangent reference: {len(reference)} run(s) of session '{study.tangent_reference}'")
    results: Dict[Tuple[str, str], np.ndarray] = {}
    for subject, session in runs:
        record = store.read_run(subject, session)
        measures = dict(record.measures)
        measures["tangent"] = tangent.transform([record.timeseries])[0]
        record.measures = measures
        store.commit(record)
        results[subject, session] = measures["tangent"]
    store.set_text("tangent_reference", key)
    return results
