"""Finding BOLD runs, masks and confounds in BIDS / fMRIPrep derivative folders."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from .. import _core

#: BIDS entities rewire reads from file names, in the order BIDS writes them.
ENTITIES = ("sub", "ses", "task", "acq", "run", "space", "res", "desc")

_BOLD = re.compile(r"_desc-preproc_bold\.nii(\.gz)?$")


def parse_entities(filename: str) -> Dict[str, str]:
    """``sub-01_ses-pre_task-rest_bold.nii.gz`` → ``{"sub": "01", "ses": "pre", "task": "rest"}``."""
    name = os.path.basename(filename)
    entities = {}
    for part in name.split("_"):
        key, dash, value = part.partition("-")
        if dash and key in ENTITIES:
            entities[key] = value.split(".")[0]
    return entities


@dataclass
class BoldRun:
    """One preprocessed BOLD run and the files found beside it."""

    bold: str
    entities: Dict[str, str]
    mask: Optional[str] = None
    confounds: Optional[str] = None
    json: Optional[str] = None
    #: store key when it differs from the ``ses`` entity (a session with several runs); entities stay as parsed
    label: Optional[str] = None

    @property
    def subject(self) -> str:
        return "sub-" + self.entities["sub"]

    @property
    def session(self) -> str:
        """Session label used as the store key (``ses`` entity, plus ``run-N`` when a session has several)."""
        return self.label or self.entities.get("ses", "none")


@dataclass
class Discovery:
    runs: List[BoldRun] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)


def _sibling(bold: str, suffix: str) -> Optional[str]:
    """The file beside ``bold`` that shares its entities up to ``desc`` and ends with ``suffix``."""
    stem = _BOLD.sub("", bold)
    for candidate in (stem + suffix, stem + suffix.replace(".nii.gz", ".nii")):
        if os.path.exists(candidate):
            return candidate
    return None


def _confounds_for(bold: str) -> Optional[str]:
    """The confounds TSV of ``bold``, found by the rule ``load_confounds`` uses (nilearn's, in C++:
    ``rewire.confounds.find_confounds_file``), so that a run's QC and its regressors come from the same
    file; None when there is none. Several matching files raise ValueError naming them."""
    return _core.confounds_file_beside(bold)


def discover(root: str, *, task: Optional[str] = None, space: Optional[str] = None,
             res: Optional[str] = None, subjects: Optional[Iterable[str]] = None) -> Discovery:
    """Preprocessed BOLD runs under ``root`` matching the filters, sorted by subject, session, run.

    ``subjects`` may be given with or without the ``sub-`` prefix. Several runs of one session get
    session labels ``<ses>_run-<N>``. Symbolic links to folders are followed (a study assembled from
    links to subjects stored elsewhere); a folder reached twice (a link loop, or two names for one
    folder) is read once. A BOLD file that is a broken link is still listed: it fails as one run.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: derivatives folder does not exist")
    wanted = None if subjects is None else {s if s.startswith("sub-") else "sub-" + s for s in subjects}
    found = Discovery()
    walked = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in walked:
            dirs[:] = []  # do not descend again: this is what stops a loop of links
            continue
        walked.add(real)
        dirs.sort()
        for name in sorted(files):
            if not _BOLD.search(name) or not name.startswith("sub-"):
                continue
            path = os.path.join(folder, name)
            entities = parse_entities(name)
            reasons = [f"{key}={entities.get(key)}" for key, want in (("task", task), ("space", space), ("res", res))
                       if want is not None and entities.get(key) != str(want)]
            if wanted is not None and "sub-" + entities.get("sub", "") not in wanted:
                reasons.append("subject not requested")
            if reasons:
                found.ignored.append(f"{path} ({', '.join(reasons)})")
                continue
            found.runs.append(BoldRun(bold=path, entities=entities, mask=_sibling(path, "_desc-brain_mask.nii.gz"),
                                      confounds=_confounds_for(path), json=_sibling(path, "_desc-preproc_bold.json")))
    counts: Dict[tuple, int] = {}
    for run in found.runs:
        key = (run.subject, run.entities.get("ses", "none"))
        counts[key] = counts.get(key, 0) + 1
    for run in found.runs:
        if counts[(run.subject, run.entities.get("ses", "none"))] > 1:
            run.label = f"{run.entities.get('ses', 'none')}_run-{run.entities.get('run', '1')}"
    found.runs.sort(key=lambda r: (r.subject, r.session))
    return found
