"""``rewire stats``: group statistics from the command line (flags in :mod:`rewire.cli.parser`).

Reads a subjects × edges study (:func:`read_study`), a design (TSV or a formula over participants.tsv),
runs one of ``--method nbs|tfnbs|maxt|fdr`` and writes the results (``.h5`` or ``.npz``) and a TSV of
the significant edges with region names.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .. import _core
from .. import stats as rs
from .._files import atomic_write, check_output_file
from ..connectivity import edge_nodes
from . import Progress

_DELTA = _core.DeltaOptions()


@dataclass
class Study:
    """What a statistics run reads: ``data`` (subjects × edges, rewire's edge order), the subject
    identifiers (or None: rows follow the design), the node names (or None) and, from a cohort store,
    its participants table (or None)."""

    data: np.ndarray
    subjects: Optional[List[str]]
    names: Optional[List[str]]
    participants: Optional[object] = None


@dataclass
class StoreSelection:
    """Which edges of a cohort store to test: one ``session``, or the change ``post`` − ``pre``."""

    kind: str = _DELTA.kind
    session: Optional[str] = None
    pre: str = _DELTA.pre
    post: str = _DELTA.post
    fisher_z: bool = _DELTA.fisher_z


def read_study(path: str, names: Optional[str] = None, selection: Optional[StoreSelection] = None) -> Study:
    """Reads a subjects × edges study: ``.npy`` (a float array); ``.tsv`` (as ``rewire delta`` writes:
    a ``participant_id`` column, then one ``<name i>--<name j>`` column per edge; a table without the id
    column is read as bare numbers); ``.h5``: a cohort store written by ``rewire run`` (the edges of
    ``selection``: each subject's post − pre change by default, Fisher z for correlations, with the
    store's participants.tsv and node names) or an edge file written by ``rewire delta -o FILE.h5``.
    ``names``: a text file with one node name per line (or a TSV with a ``name`` column) overriding
    names found in the data."""
    if path.endswith((".h5", ".hdf5")):
        study = _read_hdf5(path, selection or StoreSelection())
        return _with_names(study, names, path)
    subjects = None
    node_names = None
    if path.endswith(".npy"):
        data = np.load(path, allow_pickle=False)
    elif path.endswith((".tsv", ".txt")):
        import pandas as pd

        table = pd.read_csv(path, sep="\t")
        if "participant_id" in table.columns:
            subjects = [str(s) for s in table.pop("participant_id")]
        non_numeric = [c for c in table.columns if not np.issubdtype(table[c].dtype, np.number)]
        if non_numeric:
            raise ValueError(f"{path}: column {non_numeric[0]!r} is not numeric (expected participant_id and edges)")
        columns = [str(c) for c in table.columns]
        if all("--" in c for c in columns):
            node_names = _names_from_pairs(columns, path)
        elif all(c.replace(".", "", 1).lstrip("-").isdigit() for c in columns):
            # No header: the first row was data.
            table = pd.read_csv(path, sep="\t", header=None)
        data = table.to_numpy(dtype=np.float64)
    else:
        raise ValueError(f"{path}: expected a .npy or .tsv subjects x edges table")
    if data.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D subjects x edges array, got shape {data.shape}")
    return _with_names(Study(np.ascontiguousarray(data, dtype=np.float64), subjects, node_names), names, path)


def _with_names(study: Study, names: Optional[str], path: str) -> Study:
    if names:
        study.names = _read_names(names)
    if study.names is not None:
        expected = len(study.names) * (len(study.names) - 1) // 2
        if expected != study.data.shape[1]:
            raise ValueError(f"{names or path}: {len(study.names)} node names give {expected} edges, the data have "
                             f"{study.data.shape[1]}")
    return study


def _read_hdf5(path: str, selection: StoreSelection) -> Study:
    from ..cohort import CORRELATION_KINDS, Cohort, delta

    try:
        cohort = Cohort.open(path)
    except ValueError as error:
        if "not a rewire cohort store" not in str(error):
            raise
        subjects, values, names, _ = _core.read_edge_file(path)
        return Study(np.ascontiguousarray(values), list(subjects), list(names))
    with cohort:
        kind = selection.kind.replace("_", " ")
        if selection.session is not None:
            if kind not in cohort.kinds:
                raise ValueError(f"{path}: no '{kind}' measure stored (measures: {cohort.kinds})")
            if selection.session not in cohort.sessions:
                raise ValueError(f"{path}: no session '{selection.session}' (sessions: {cohort.sessions})")
            data, subjects = cohort.edges(kind, selection.session, return_subjects=True)
            if selection.fisher_z and kind in CORRELATION_KINDS:
                data = np.arctanh(data)
        else:
            data, participants = delta(cohort, post=selection.post, pre=selection.pre, kind=kind,
                                       fisher_z=selection.fisher_z)
            subjects = list(participants.index)
            unpaired = participants.attrs.get("unpaired", [])
            if unpaired:
                print(f"left out (missing {selection.pre} or {selection.post}): {', '.join(unpaired)}",
                      file=sys.stderr)
        table = cohort.participants
        participants = table.reset_index() if len(table.columns) else None
        if not len(subjects):
            raise ValueError(f"{path}: no subject has the requested edges")
        return Study(np.ascontiguousarray(data, dtype=np.float64), list(subjects), list(cohort.names), participants)


def _names_from_pairs(columns: List[str], path: str) -> List[str]:
    pairs = [c.split("--", 1) for c in columns]
    n = int(round((1 + np.sqrt(1 + 8 * len(pairs))) / 2))
    if n * (n - 1) // 2 != len(pairs):
        raise ValueError(f"{path}: {len(pairs)} edge columns is not N(N-1)/2")
    names = [pairs[0][0]] + [b for a, b in pairs[: n - 1]]
    i, j = edge_nodes(n)
    for (a, b), p, q in zip(pairs, i, j):
        if a != names[p] or b != names[q]:
            raise ValueError(f"{path}: edge column {a}--{b} is out of rewire's edge order (expected "
                             f"{names[p]}--{names[q]})")
    return names


def _read_names(path: str) -> List[str]:
    if path.endswith(".tsv"):
        import pandas as pd

        table = pd.read_csv(path, sep="\t")
        if "name" not in table.columns:
            raise ValueError(f"{path}: expected a 'name' column")
        return [str(n) for n in table["name"]]
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def read_design(spec: str, participants: Optional[str], subjects: Optional[List[str]], rows: int,
                stored_participants=None):
    """Design from a TSV (numeric columns; a ``participant_id`` column aligns rows with the data) or a
    formula (``~ ...``) over ``participants`` (BIDS participants.tsv; by default the one a cohort store
    holds, ``stored_participants``). Returns a DataFrame."""
    import pandas as pd

    if spec.strip() == "one-sample":
        return pd.DataFrame({"intercept": np.ones(rows)})
    if spec.lstrip().startswith("~"):
        table, source = _participants(participants, stored_participants)
        if table is None:
            raise ValueError("--design: a formula needs --participants participants.tsv (or a cohort store "
                             "that holds one)")
        return rs.design_from_formula(spec, _align(table, subjects, rows, source))
    table = pd.read_csv(spec, sep="\t")
    table = _align(table, subjects, rows, spec)
    if "participant_id" in table.columns:
        table = table.drop(columns="participant_id")
    return table.astype(np.float64)


def _participants(path: Optional[str], stored):
    """The participants table and where it came from: ``--participants`` first, else the store's."""
    import pandas as pd

    if path:
        return pd.read_csv(path, sep="\t", dtype={"participant_id": str}), path
    if stored is not None:
        return stored, "the store's participants.tsv"
    return None, None


def _align(table, subjects, rows: int, source: str):
    if subjects is not None and "participant_id" in table.columns:
        index = {str(s): k for k, s in enumerate(table["participant_id"])}
        missing = [s for s in subjects if s not in index]
        if missing:
            raise ValueError(f"{source}: no row for participant(s) {', '.join(missing[:5])}")
        return table.iloc[[index[s] for s in subjects]].reset_index(drop=True)
    if len(table) != rows:
        raise ValueError(f"{source}: has {len(table)} rows but the data have {rows} subjects "
                         "(add participant_id columns to align them)")
    return table


def parse_contrast(text: str, columns: List[str]):
    """``0,1,0`` (weights), ``0,1,0;0,0,1`` (F rows), a design column name, or the name of a two-level
    factor (``group`` for ``group[T.therapy]``)."""
    if text in columns or sum(c.startswith(text + "[") for c in columns) == 1:
        return text  # a column, or a two-level factor by name (group → group[T.therapy])
    try:
        rows = [[float(v) for v in row.split(",")] for row in text.split(";")]
    except ValueError:
        raise ValueError(f"--contrast: {text!r} is neither weights (0,1,0) nor a design column "
                         f"({', '.join(columns)})") from None
    return np.asarray(rows)


def _blocks(spec: Optional[str], participants: Optional[str], design_spec: str, subjects, rows: int,
            stored_participants=None):
    if spec is None:
        return None
    import pandas as pd

    table, source = _participants(participants, stored_participants)
    if table is not None and spec in table.columns:
        return _align(table, subjects, rows, source)[spec].to_numpy()
    if os.path.exists(spec):
        with open(spec, encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]
        if len(labels) != rows:
            raise ValueError(f"--blocks {spec}: {len(labels)} labels for {rows} subjects")
        return np.asarray(labels)
    if not design_spec.lstrip().startswith("~") and os.path.exists(design_spec):
        table = _align(pd.read_csv(design_spec, sep="\t"), subjects, rows, design_spec)
        if spec in table.columns:
            return table[spec].to_numpy()
    raise ValueError(f"--blocks: {spec!r} is neither a file nor a column of the participants or design table")


def run(args) -> int:
    output = args.output if args.output.endswith((".npz", ".h5", ".hdf5")) else args.output + ".npz"
    tsv = args.tsv or os.path.splitext(output)[0] + "_edges.tsv"
    for path in (output, tsv):  # before the permutations: a bad output place fails at once
        check_output_file(path)
    selection = StoreSelection(kind=args.kind, session=args.session, pre=args.pre, post=args.post,
                               fisher_z=args.fisher_z)
    study = read_study(args.study, args.names, selection)
    design = read_design(args.design, args.participants, study.subjects, study.data.shape[0], study.participants)
    columns = [str(c) for c in design.columns]
    contrast = parse_contrast(args.contrast, columns) if args.contrast else None
    blocks = _blocks(args.blocks, args.participants, args.design, study.subjects, study.data.shape[0],
                     study.participants)
    progress = None if args.quiet or args.method == "fdr" else Progress(f"stats {args.method}")
    common = dict(shuffles=args.shuffles, seed=args.seed, ftest=args.ftest, tail=args.tail, shuffle=args.shuffle,
                  blocks=blocks, whole_blocks=args.whole_blocks, compat=args.compat, threads=args.threads,
                  progress=progress)
    glm = rs.glm(study.data, design, contrast, ftest=args.ftest)
    arrays = {"statistic": glm.statistic, "p": glm.p, "df": np.float64(glm.df)}
    if args.method == "fdr":
        q = rs.fdr(glm.p)
        arrays["q"] = q
        rows = np.flatnonzero(q <= args.alpha)
        table = _edge_table(study, glm.kind, glm.statistic, rows, {"p": glm.p[rows], "q": q[rows]})
        table = table.sort_values("q", kind="stable")
        summary = f"{rows.size} edge(s) with FDR q <= {args.alpha}"
    elif args.method == "maxt":
        result = rs.maxt(study.data, design, contrast, **common)
        arrays.update(p_fwe=result.p_fwe, p_uncorrected=result.p_uncorrected, null=result.null)
        rows = np.flatnonzero(result.p_fwe <= args.alpha)
        table = _edge_table(study, result.kind, result.statistic, rows, {"p": glm.p[rows], "p_fwe": result.p_fwe[rows]})
        table = table.sort_values("p_fwe", kind="stable")
        summary = f"{rows.size} edge(s) with FWE p <= {args.alpha} ({result.shuffles} shuffles)"
    elif args.method == "nbs":
        if args.threshold is None:
            raise ValueError("--threshold: NBS needs an explicit primary threshold (e.g. --threshold 3.0)")
        result = rs.nbs(study.data, design, contrast, threshold=args.threshold, threshold_kind=args.threshold_kind,
                        measure=args.measure, **common)
        component = np.full(study.data.shape[1], -1, dtype=np.int64)
        for index, c in enumerate(result.components):
            component[c.edges] = index
        arrays.update(p_fwe=result.p_fwe, null=result.null, enhanced=result.enhanced, component=component,
                      component_size=np.array([c.size for c in result.components]),
                      component_p=np.array([c.p for c in result.components]),
                      threshold=np.float64(result.threshold))
        rows = np.flatnonzero((component >= 0) & (result.p_fwe <= args.alpha))
        table = _edge_table(study, result.kind, result.statistic, rows,
                            {"p": glm.p[rows], "component": component[rows], "component_size":
                             [result.components[k].size for k in component[rows]], "p_fwe": result.p_fwe[rows]})
        table = table.sort_values(["component", "edge"], kind="stable")
        significant = [c for c in result.components if c.p <= args.alpha]
        summary = (f"{len(result.components)} component(s) at threshold {result.threshold:.4g}; "
                   f"{len(significant)} with FWE p <= {args.alpha}"
                   + "".join(f"\n  component {k}: {c.extent} edges, {len(c.nodes)} nodes, p = {c.p:.4g}"
                             for k, c in enumerate(result.components[:10])))
    else:
        result = rs.tfnbs(study.data, design, contrast, alpha=args.alpha, **common)
        arrays.update(p_fwe=result.p_fwe, null=result.null, enhanced=result.enhanced)
        rows = np.flatnonzero(result.p_fwe <= args.alpha)
        table = _edge_table(study, result.kind, result.statistic, rows,
                            {"p": glm.p[rows], "tfnbs": result.enhanced[rows], "p_fwe": result.p_fwe[rows]})
        table = table.sort_values("p_fwe", kind="stable")
        summary = f"{rows.size} edge(s) with FWE p <= {args.alpha} ({result.shuffles} shuffles)"
    parameters = {key: value for key, value in vars(args).items() if key != "module"}
    parameters.update(version=_core.__version__, date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                      command=" ".join(["rewire"] + sys.argv[1:]), design_columns=columns)
    _write_results(output, arrays, study.names, json.dumps(parameters, default=str))
    with atomic_write(tsv) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    print(summary, file=sys.stderr)
    if not args.quiet:
        print(f"wrote {output} and {tsv}", file=sys.stderr)
    return 0


def _write_results(output: str, arrays: dict, names: Optional[List[str]], parameters: str) -> None:
    """``.npz`` (numpy) or ``.h5`` (HDF5: one 1-D dataset per array, scalars and the JSON ``parameters`` as
    root attributes, node names in ``names``); appears only when complete."""
    if output.endswith(".npz"):
        extra = {"parameters": np.array(parameters)}
        if names is not None:
            extra["names"] = np.array(names)
        with atomic_write(output, "wb") as handle:
            np.savez(handle, **arrays, **extra)
        return

    vectors, integers, numbers = {}, {}, {}
    for key, value in arrays.items():
        value = np.asarray(value)
        if value.ndim == 0:
            numbers[key] = float(value)
        elif np.issubdtype(value.dtype, np.integer):
            integers[key] = value.astype(np.int64).tolist()
        else:
            vectors[key] = value.astype(np.float64)
    contents = _core.ResultFile()
    contents.vectors, contents.integers, contents.numbers = vectors, integers, numbers
    contents.strings = {"names": list(names)} if names is not None else {}
    contents.texts = {"parameters": parameters}
    _core.write_result_file(output, contents)


def _edge_table(study: Study, kind: str, statistic: np.ndarray, rows: np.ndarray, extra: dict):
    import pandas as pd

    n = int(round((1 + np.sqrt(1 + 8 * study.data.shape[1])) / 2))
    frame = pd.DataFrame({"edge": rows})
    if n * (n - 1) // 2 == study.data.shape[1]:
        i, j = edge_nodes(n)
        frame["i"] = i[rows]
        frame["j"] = j[rows]
    if study.names is not None:
        names = np.asarray(study.names, dtype=object)
        frame["node_i"] = names[i[rows]]
        frame["node_j"] = names[j[rows]]
    frame[kind] = statistic[rows]
    for key, value in extra.items():
        frame[key] = value
    return frame
