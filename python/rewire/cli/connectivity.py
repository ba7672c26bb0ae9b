"""``rewire connectivity``: the connectivity matrix of a region time-series TSV."""
from __future__ import annotations

import sys

import numpy as np

from .._files import check_output_file, write_table
from ..connectivity import connectivity, fisher_z


def run(args) -> int:
    check_output_file(args.output)
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
        matrix = fisher_z(matrix)
    write_table(args.output, matrix, [""] + names, index=names)
    print(f"wrote {args.output}: {len(names)} x {len(names)} {args.kind}", file=sys.stderr)
    return 0
