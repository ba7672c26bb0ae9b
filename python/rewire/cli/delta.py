"""``rewire delta``: each subject's post − pre change in connectivity, as a table."""
from __future__ import annotations

import sys
from typing import List

import numpy as np

from .. import _core
from .._files import check_output_file, write_table
from ..cohort import Cohort, delta
from ..connectivity import edge_nodes


def write_delta(path: str, subjects: List[str], deltas: np.ndarray, names: List[str], attributes: dict) -> None:
    """Writes a subjects × edges table: ``.tsv`` (participant_id, then one ``<name i>--<name j>`` column per
    edge, 10 significant digits) or ``.h5`` (see docs/cohort-store.md); appears only when complete."""
    if path.endswith(".tsv"):
        first, second = edge_nodes(len(names))
        header = ["participant_id"] + [f"{names[i]}--{names[j]}" for i, j in zip(first, second)]
        write_table(path, deltas, header, index=subjects)
    elif path.endswith((".h5", ".hdf5")):
        _core.write_edge_file(path, list(subjects), np.asarray(deltas, dtype=np.float64), list(names),
                              {key: str(value) for key, value in attributes.items()})
    else:
        raise ValueError(f"{path}: output must end in .tsv or .h5")


def run(args) -> int:
    if not args.output.endswith((".tsv", ".h5", ".hdf5")):
        raise ValueError(f"{args.output}: output must end in .tsv or .h5")
    check_output_file(args.output)
    with Cohort.open(args.store) as cohort:
        deltas, participants = delta(cohort, post=args.post, pre=args.pre, kind=args.kind.replace("_", " "),
                                     fisher_z=args.fisher_z)
        names = cohort.names
    subjects = list(participants.index)
    write_delta(args.output, subjects, deltas, names,
                {"kind": args.kind, "pre": args.pre, "post": args.post, "fisher_z": str(args.fisher_z).lower(),
                 "source": args.store})
    unpaired = participants.attrs.get("unpaired", [])
    if unpaired:
        print(f"left out (missing {args.pre} or {args.post}): {', '.join(unpaired)}", file=sys.stderr)
    print(f"wrote {args.output}: {len(subjects)} subjects x {deltas.shape[1]} edges", file=sys.stderr)
    return 0
