"""StudyOptions: everything that shapes a study's results, with defaults read from the C++ options structs
it is made of (no numpy here: the command line builds its parser from these defaults)."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field

from .. import _core

#: Connectivity kinds a study can store (nilearn's spelling).
KINDS = tuple(str(kind) for kind in _core.ConnectivityKind.__members__.values())
#: Covariance estimators.
ESTIMATORS = tuple(str(estimator) for estimator in _core.CovarianceEstimator.__members__.values())

# The stages a study runs, with their C++ defaults.
_CLEAN = _core.CleanOptions()
_ESTIMATE = _core.EstimateOptions()
_EXTRACT = _core.ExtractOptions()
_DELTA = _core.DeltaOptions()

#: Runs processed at once by default (run_study's ``workers``, ``rewire run --workers``).
DEFAULT_WORKERS = 1

#: Fields that do not change the results (paths, filters, QC rules, the thread budget): a store made with
#: other values of these is still the same study.
NOT_SHAPING = ("atlas", "labels", "task", "space", "res", "max_mean_fd", "min_frames", "threads")


@dataclass
class StudyOptions:
    """Everything that shapes a study's results. The defaults are the C++ ones (CleanOptions,
    EstimateOptions, ExtractOptions, DeltaOptions); :func:`rewire.run_study` and ``rewire run`` read them
    from here."""

    #: label atlas image (3D integers); its label table is found beside it unless ``labels`` is given
    atlas: str = ""
    #: label table (mricron ``.txt`` or BIDS ``dseg.tsv``)
    labels: str | None = None
    #: confound strategy: a preset or XCP-D name (``"simple"``, ``"36P"``, ...), a tuple of
    #: load_confounds components, or None for no confound regression
    strategy: str | tuple[str, ...] | None = None
    #: extra keyword arguments of :func:`rewire.load_confounds` (``fd_threshold``, ``motion``, ...)
    strategy_options: dict[str, object] = field(default_factory=dict)
    #: connectivity kinds to store
    kinds: tuple[str, ...] = (str(_ESTIMATE.kind),)
    #: covariance estimator: ``empirical``, ``ledoit_wolf`` or ``oas``
    estimator: str = str(_ESTIMATE.estimator)
    #: cleaning, as :func:`rewire.clean` (nilearn.signal.clean) names them
    detrend: bool = _CLEAN.detrend
    standardize: str | bool = str(_CLEAN.standardize)
    low_pass: float | None = _CLEAN.low_pass
    high_pass: float | None = _CLEAN.high_pass
    filter: str = str(_CLEAN.filter)
    #: restrict regions to the run's fMRIPrep brain mask when one is found
    use_mask: bool = True
    #: the session whose runs define the tangent-space reference (kept fixed for every session)
    tangent_reference: str = _DELTA.pre
    #: BIDS filters
    task: str | None = "rest"
    space: str | None = None
    res: str | None = None
    #: quality-control exclusions (None: off)
    max_mean_fd: float | None = None
    min_frames: int | None = None
    #: thread budget of the whole study (0: REWIRE_NUM_THREADS, OMP_NUM_THREADS, else all cores). Each of
    #: W workers gets ``max(1, budget // W)`` threads for its extraction (its inflating thread included),
    #: cleaning and estimation, so W workers never run W × all-cores threads. Results do not depend on it.
    threads: int = _EXTRACT.threads

    def validate(self) -> None:
        if not self.atlas:
            raise ValueError("atlas: a label atlas image is required")
        if not os.path.exists(self.atlas):
            raise FileNotFoundError(f"{self.atlas}: atlas file does not exist")
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"kinds: unknown {unknown}; choose from {', '.join(KINDS)}")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator '{self.estimator}': choose {', '.join(ESTIMATORS)}")
        if self.max_mean_fd is not None and self.max_mean_fd <= 0:
            raise ValueError("max_mean_fd must be positive (mm)")
        if self.min_frames is not None and self.min_frames < 2:
            raise ValueError("min_frames must be at least 2")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be an integer >= 0 (0: automatic), got {self.threads!r}")

    def worker_threads(self, workers: int) -> int:
        """Each worker's share of the thread budget: max(1, budget // workers), the budget resolved as
        every rewire step resolves 0."""
        return max(1, _core.resolve_threads(self.threads) // max(1, workers))

    def result_options(self) -> str:
        """JSON of the options that shape stored results (not paths or filters): a store made with other
        result options is refused."""
        shaping = {key: value for key, value in dataclasses.asdict(self).items() if key not in NOT_SHAPING}
        shaping["strategy"] = list(self.strategy) if isinstance(self.strategy, tuple) else self.strategy
        shaping["kinds"] = list(self.kinds)
        return json.dumps(shaping, sort_keys=True)
