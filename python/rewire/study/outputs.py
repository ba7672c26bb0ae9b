"""BIDS-style per-scan outputs: region time series and connectivity matrices as TSV files with JSON
sidecars, named as BEP017 (BIDS connectivity derivatives) proposes and giga-connectome writes them.

For every run, under ``DIR/sub-<label>/[ses-<label>/]func/``::

    sub-01_ses-pre_task-rest[_acq-A][_run-R]_seg-<atlas>_desc-denoised_timeseries.tsv
    sub-01_ses-pre_task-rest[_acq-A][_run-R]_seg-<atlas>_desc-denoised_timeseries.json
    sub-01_ses-pre_task-rest[_acq-A][_run-R]_seg-<atlas>_meas-<Measure>_desc-denoised_relmat.tsv
    sub-01_ses-pre_task-rest[_acq-A][_run-R]_seg-<atlas>_meas-<Measure>_desc-denoised_relmat.json

and ``DIR/dataset_description.json``. As in giga-connectome, the source's ``space``/``res`` entities are
left out of the names (the atlas fixes the space) and ``seg`` names the atlas: ``<atlas>`` is the atlas
file's ``atlas-`` (plus ``desc-``) entities when it has them (``tpl-..._atlas-Schaefer2018_desc-400Parcels
_dseg.nii.gz`` → ``Schaefer2018400Parcels``), else its name without extension and punctuation
(``aal.nii.gz`` → ``aal``). ``<Measure>`` is ``PearsonCorrelation``, ``PartialCorrelation``, ``Covariance``,
``Precision`` or ``Tangent``.

- ``*_timeseries.tsv``: one row per kept frame (censored frames are left out; the sidecar's
  ``SampleMask`` lists the kept frame indices), one column per region, the header holds the region names.
- ``*_relmat.tsv``: the N × N matrix with the region names as header (no index column, as giga-connectome).
- Sidecars: BEP017's keys (``Measure``, ``MeasureDescription``, ``Weighted``, ``Directed``,
  ``ValidDiagonal``, ``StorageFormat``, ``NonNegative``, ``Code``) and giga-connectome's time-series keys
  (``SamplingFrequency``, ``ConfoundRegressors``, ``NumberOfVolumesDiscardedByMotionScrubbing``,
  ``NumberOfVolumesDiscardedByNonsteadyStatesDetector``, ``MeanFramewiseDisplacement``), plus rewire's
  provenance (``Sources``, ``Atlas``, ``Strategy``, ``Fingerprint``).

Values are written with 10 significant digits. Each file is written under a hidden temporary name and
renamed when complete; the time-series sidecar, which carries the run's fingerprint, is written last,
so a run whose sidecar matches the store's fingerprint has a complete, current set of files.
"""
from __future__ import annotations

import json
import math
import os
import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np

from .._files import write_table, write_text

#: rewire kind → (BEP017 ``meas`` label, description)
MEASURES: Dict[str, tuple] = {
    "correlation": ("PearsonCorrelation", "Pearson correlation of the cleaned region time series"),
    "partial correlation": ("PartialCorrelation",
                            "partial correlation (from the inverse covariance) of the cleaned region time series"),
    "covariance": ("Covariance", "covariance of the cleaned region time series"),
    "precision": ("Precision", "inverse covariance (precision) of the cleaned region time series"),
    "tangent": ("Tangent", "tangent-space embedding of the covariance around a group reference "
                           "(Varoquaux et al. 2010), as nilearn's ConnectivityMeasure(kind='tangent')"),
}

#: Entities of the source name kept in the output names, in BIDS order.
KEPT_ENTITIES = ("sub", "ses", "task", "acq", "run")
DESC = "denoised"


def atlas_label(path: str) -> str:
    """The ``seg-`` label of an atlas file (alphanumeric, as BIDS labels must be)."""
    name = os.path.basename(os.fspath(path))
    entities = dict(part.split("-", 1) for part in name.split(".")[0].split("_") if "-" in part)
    if "atlas" in entities:
        label = entities["atlas"] + entities.get("desc", "")
    else:
        label = re.sub(r"\.(nii|mgz|gii|tsv|txt)(\.gz)?$", "", name)
    label = re.sub(r"[^A-Za-z0-9]", "", label)
    if not label:
        raise ValueError(f"{path}: cannot make a BIDS seg- label from this atlas file name")
    return label


def run_stem(entities: Mapping[str, str]) -> str:
    """``sub-01_ses-pre_task-rest[_acq-..][_run-..]`` from a BOLD file's entities."""
    if "sub" not in entities:
        raise ValueError(f"BIDS outputs need a sub- entity (got {dict(entities)})")
    return "_".join(f"{key}-{entities[key]}" for key in KEPT_ENTITIES if key in entities)


def run_folder(out_dir: str, entities: Mapping[str, str]) -> str:
    parts = [out_dir, f"sub-{entities['sub']}"]
    if "ses" in entities:
        parts.append(f"ses-{entities['ses']}")
    return os.path.join(*parts, "func")


def output_paths(out_dir: str, entities: Mapping[str, str], atlas: str, kinds: Iterable[str]) -> Dict[str, object]:
    """Paths of one run's files: ``timeseries``, ``timeseries_json`` and, per kind, ``relmat[kind]`` and
    ``relmat_json[kind]``."""
    folder = run_folder(os.fspath(out_dir), entities)
    base = os.path.join(folder, f"{run_stem(entities)}_seg-{atlas}")
    paths: Dict[str, object] = {"timeseries": f"{base}_desc-{DESC}_timeseries.tsv",
                                "timeseries_json": f"{base}_desc-{DESC}_timeseries.json",
                                "relmat": {}, "relmat_json": {}}
    for kind in kinds:
        measure = MEASURES[kind][0]
        paths["relmat"][kind] = f"{base}_meas-{measure}_desc-{DESC}_relmat.tsv"
        paths["relmat_json"][kind] = f"{base}_meas-{measure}_desc-{DESC}_relmat.json"
    return paths


def _write_table(path: str, values: np.ndarray, names: Sequence[str]) -> None:
    write_table(path, values, names)


def _write_json(path: str, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def _build() -> dict:
    """Provenance of the rewire build writing the file (rewire._core.build_info: version, kernel variant,
    compiler, flags); the store keeps the same per run, as computed."""
    from .. import _core
    return dict(_core.build_info())


def _number(value: float) -> Optional[float]:
    return None if value is None or not math.isfinite(value) else float(value)


def write_dataset_description(out_dir: str, version: str) -> None:
    """``dataset_description.json`` of the output folder (a BIDS derivative), unless one is there."""
    path = os.path.join(os.fspath(out_dir), "dataset_description.json")
    if os.path.exists(path):
        return
    _write_json(path, {"Name": "rewire connectivity", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
                       "GeneratedBy": [{"Name": "rewire", "Version": version,
                                        "Description": "region time series and connectivity (rewire run)"}]})


def is_current(out_dir: str, entities: Mapping[str, str], atlas: str, kinds: Iterable[str],
               fingerprint: str) -> bool:
    """Whether a run's files are all present and were written for the run with ``fingerprint``."""
    paths = output_paths(out_dir, entities, atlas, kinds)
    files = [paths["timeseries"], *paths["relmat"].values(), *paths["relmat_json"].values()]
    if not all(os.path.exists(p) for p in files) or not os.path.exists(paths["timeseries_json"]):
        return False
    try:
        with open(paths["timeseries_json"], encoding="utf-8") as handle:
            return json.load(handle).get("Fingerprint") == fingerprint
    except (OSError, ValueError):
        return False


def write_measures(out_dir: str, entities: Mapping[str, str], atlas: str, names: Sequence[str],
                   measures: Mapping[str, np.ndarray], *, source: str, version: str,
                   extra: Optional[Mapping[str, dict]] = None) -> None:
    """Writes ``*_relmat.tsv`` and its sidecar for each kind in ``measures``."""
    paths = output_paths(out_dir, entities, atlas, measures)
    for kind, matrix in measures.items():
        measure, description = MEASURES[kind]
        _write_table(paths["relmat"][kind], matrix, names)
        sidecar = {"Measure": measure, "MeasureDescription": description, "Weighted": True, "Directed": False,
                   "ValidDiagonal": True, "StorageFormat": "Full",
                   "NonNegative": "", "Code": f"rewire {version}", "RewireBuild": _build(), "Sources": [source]}
        sidecar.update((extra or {}).get(kind, {}))
        _write_json(paths["relmat_json"][kind], sidecar)


def write_run(out_dir: str, entities: Mapping[str, str], atlas: str, atlas_path: str, names: Sequence[str], record,
              *, strategy, version: str, measures: Optional[Mapping[str, np.ndarray]] = None,
              extra: Optional[Mapping[str, dict]] = None) -> Dict[str, object]:
    """Writes one run's time series, matrices and sidecars from a store record (``rewire._core.RunRecord``).

    ``measures`` defaults to the record's; the time-series sidecar is written last. Returns the paths."""
    measures = dict(record.measures) if measures is None else dict(measures)
    inputs = json.loads(record.inputs or "{}")
    source = inputs.get("bold", "")
    write_measures(out_dir, entities, atlas, names, measures, source=source, version=version, extra=extra)
    paths = output_paths(out_dir, entities, atlas, measures)
    _write_table(paths["timeseries"], np.asarray(record.timeseries), names)
    regressors: List[str] = list(inputs.get("confound_regressors", []))
    nonsteady = int(inputs.get("non_steady_state_volumes", 0))
    _write_json(paths["timeseries_json"], {
        "SamplingFrequency": 1.0 / record.tr if record.tr > 0 else None,
        "ConfoundRegressors": regressors,
        "NumberOfVolumesDiscardedByMotionScrubbing": max(int(record.frames_censored) - nonsteady, 0),
        "NumberOfVolumesDiscardedByNonsteadyStatesDetector": nonsteady,
        "MeanFramewiseDisplacement": _number(record.mean_fd),
        "SampleMask": [int(i) for i in record.sample_mask],
        "Strategy": list(strategy) if isinstance(strategy, tuple) else strategy,
        "Atlas": os.path.abspath(atlas_path),
        "Sources": [source],
        "Fingerprint": record.fingerprint,
        "RewireBuild": _build(),
    })
    return paths
