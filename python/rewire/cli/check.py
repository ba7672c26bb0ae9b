"""``rewire check``: which runs of a cohort store are intact, damaged or unfinished."""
from __future__ import annotations

import sys

from ..cohort import Cohort


def run(args) -> int:
    with Cohort.open(args.store) as cohort:
        table = cohort.check()
        version = cohort.format_version
    for problem in table.attrs["problems"]:
        print(f"DAMAGED    store: {problem}")
    for row in table.itertuples(index=False):
        line = f"{row.status:<10} {row.subject} {row.session}"
        print(line + (f": {row.problem}" if row.problem else ""))
    damaged = int((table.status == "damaged").sum()) + len(table.attrs["problems"])
    counts = table.status.value_counts()
    print(f"{args.store}: {counts.get('intact', 0)} intact, {counts.get('damaged', 0)} damaged, "
          f"{counts.get('unfinished', 0)} unfinished run(s)"
          + ("" if not table.attrs["problems"] else f", {len(table.attrs['problems'])} problem(s) in the header"),
          file=sys.stderr)
    if version < 2:
        print(f"{args.store}: format {version} (made by an older rewire) has no checksums: damaged values inside "
              "arrays cannot be detected; a new `rewire run` into a new store writes them", file=sys.stderr)
    return 0 if damaged == 0 else 1
