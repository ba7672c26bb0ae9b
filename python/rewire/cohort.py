"""Reading a cohort store, and each subject's pre/post change in connectivity."""
from __future__ import annotations

import io
import logging
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _core

logger = logging.getLogger("rewire")

#: Kinds whose values are correlations, so that Fisher z applies.
CORRELATION_KINDS = ("correlation", "partial correlation")
#: The defaults of delta (C++ DeltaOptions).
_DELTA = _core.DeltaOptions()


class Cohort:
    """A study's HDF5 store (see :class:`rewire._core.CohortStore` for the layout), read-only."""

    def __init__(self, store: "_core.CohortStore"):
        self._store = store
        header = store.header()
        self.path: str = store.path
        self.atlas: str = header.atlas
        self.names: List[str] = list(header.names)
        self.values = np.asarray(header.values, dtype=np.int64)
        self.coordinates = np.asarray(header.coordinates)
        self.options: str = header.options

    @classmethod
    def open(cls, path: str) -> "Cohort":
        return cls(_core.CohortStore.open(os.fspath(path)))

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Cohort":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def runs(self) -> List[Tuple[str, str]]:
        """Committed (subject, session) pairs that are not excluded by QC, sorted."""
        return [tuple(run) for run in self._store.runs()]

    @property
    def excluded(self):
        """Runs left out by a quality-control rule of the last ``rewire run`` (their data stay in the
        file, outside every analysis): a DataFrame with columns subject, session, reason."""
        import pandas as pd

        return pd.DataFrame(self._store.excluded_runs(), columns=["subject", "session", "reason"])

    @property
    def subjects(self) -> List[str]:
        return sorted({subject for subject, _ in self.runs})

    @property
    def sessions(self) -> List[str]:
        return sorted({session for _, session in self.runs})

    @property
    def kinds(self) -> List[str]:
        return list(self._store.kinds())

    @property
    def participants(self):
        """participants.tsv as a pandas DataFrame indexed by participant_id (empty if none was stored)."""
        import pandas as pd

        text = self._store.text("participants")
        if text is None:
            return pd.DataFrame(index=pd.Index([], name="participant_id"))
        table = pd.read_csv(io.StringIO(text), sep="\t", na_values=["n/a"], dtype={"participant_id": str})
        return table.set_index("participant_id")

    @property
    def format_version(self) -> int:
        """2: every array and all metadata checksummed; 1: made by an older rewire, without checksums."""
        return self._store.format_version

    def check(self):
        """Reads every run group in full (each array's checksum is verified) and compares each run's edge
        rows with its matrices. Returns a DataFrame with columns subject, session, status (``intact``,
        ``damaged``, or ``unfinished``: an interrupted write the next ``rewire run`` redoes) and problem
        (naming the damaged object); ``attrs["problems"]`` lists damage to the store's header."""
        import pandas as pd

        problems, runs = self._store.verify()
        table = pd.DataFrame(runs, columns=["subject", "session", "status", "problem"])
        table.attrs["problems"] = list(problems)
        return table

    def run(self, subject: str, session: str) -> "_core.RunRecord":
        """Everything stored for one scan: timeseries, sample_mask, coverage, QC, measures."""
        return self._store.read_run(_subject_id(subject), session)

    def timeseries(self, subject: str, session: str) -> np.ndarray:
        """(T, N) cleaned signals."""
        return np.asarray(self.run(subject, session).timeseries)

    def connectome(self, subject: str, session: str, kind: str = "correlation") -> np.ndarray:
        """(N, N) connectivity matrix."""
        measures = self.run(subject, session).measures
        if kind not in measures:
            raise ValueError(f"{self.path}: no '{kind}' for {subject} {session} (stored: {sorted(measures)})")
        return np.asarray(measures[kind])

    def edges(self, kind: str = _DELTA.kind, session: str = _DELTA.pre, *, return_subjects: bool = False):
        """Subjects × edges array of one measure and session, rows sorted by subject ID, columns in
        rewire's edge order (see :func:`rewire.edge_index`)."""
        subjects, values = self._store.edges(kind, session)
        order = np.argsort(subjects, kind="stable")
        values = np.asarray(values)[order]
        subjects = [subjects[i] for i in order]
        return (values, subjects) if return_subjects else values


def _subject_id(subject: str) -> str:
    return subject if subject.startswith("sub-") else "sub-" + subject


def delta(cohort, post: str = _DELTA.post, pre: str = _DELTA.pre, kind: str = _DELTA.kind,
          fisher_z: bool = _DELTA.fisher_z, subjects: Optional[Sequence[str]] = None):
    """Each subject's change in connectivity, post − pre.

    Returns ``(deltas, participants)``: a subjects × edges array in rewire's edge order, and the matching
    rows of participants.tsv (a DataFrame, in the same order; its ``attrs["unpaired"]`` lists subjects
    that lack either session and were left out). ``fisher_z`` applies arctanh to correlation kinds
    before subtracting. Tangent-space deltas use the store's single fixed reference.
    """
    import pandas as pd

    if isinstance(cohort, (str, os.PathLike)):
        with Cohort.open(cohort) as opened:
            return delta(opened, post=post, pre=pre, kind=kind, fisher_z=fisher_z, subjects=subjects)
    result = _core.delta(cohort._store, _core.DeltaOptions(post=post, pre=pre, kind=kind, fisher_z=bool(fisher_z)))
    paired, deltas, unpaired = list(result.subjects), np.asarray(result.values), list(result.unpaired)
    if subjects is not None:
        wanted = {_subject_id(x) for x in subjects}
        keep = [row for row, subject in enumerate(paired) if subject in wanted]
        paired, deltas = [paired[row] for row in keep], np.asarray(deltas)[keep]
    if unpaired:
        logger.info("delta: %d subject(s) lack '%s' or '%s' and are left out: %s", len(unpaired), pre, post,
                    ", ".join(unpaired))
    deltas = np.asarray(deltas)
    table = cohort.participants
    if len(table.columns):
        missing = [s for s in paired if s not in table.index]
        if missing:
            raise ValueError(f"{cohort.path}: participants.tsv has no row for {missing}")
        participants = table.loc[paired].copy()
    else:
        participants = pd.DataFrame(index=pd.Index(paired, name="participant_id"))
    participants.attrs["unpaired"] = unpaired
    return deltas, participants
