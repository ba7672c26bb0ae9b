"""Connectivity estimators: covariance (empirical, Ledoit–Wolf, OAS), the connectivity kinds of nilearn's
``ConnectivityMeasure``, the tangent space with a reusable reference, nilearn's matrix ↔ vector
conversions and autocorrelation-corrected z-scores of single edges.

Time series are float64 arrays shaped (T, N). Names shared with nilearn and scikit-learn mean what they
mean there, with one deliberate difference: :func:`connectivity`'s default ``correlation`` is exact
Pearson (``estimator="empirical"``); nilearn's ``ConnectivityMeasure`` default is the correlation of the
Ledoit–Wolf shrunk covariance (``estimator="ledoit_wolf"``, what :class:`ConnectivityMeasure` defaults to).
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._files import atomic_write

PathLike = Union[str, "os.PathLike[str]"]

#: Connectivity kinds, nilearn's spelling.
KINDS = ("covariance", "correlation", "partial correlation", "precision", "tangent")
#: Covariance estimators (scikit-learn's EmpiricalCovariance, LedoitWolf, OAS).
ESTIMATORS = ("empirical", "ledoit_wolf", "oas")
#: Version of the file Tangent.save writes.
TANGENT_FORMAT_VERSION = 1

# The defaults of every keyword below (the C++ options structs).
_COVARIANCE = _core.CovarianceOptions()
_ESTIMATE = _core.EstimateOptions()
_EDGE_Z = _core.EdgeZOptions()
_TANGENT = _core.TangentOptions()


def _signals(ts, name: str = "ts") -> np.ndarray:
    x = np.asarray(ts, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2D (T, N) array of time series, got shape {x.shape}")
    return x


def _group(subjects, name: str = "subjects") -> list:
    if isinstance(subjects, np.ndarray) and subjects.ndim == 2:
        raise ValueError(f"{name}: expected a list of (T, N) arrays (one per subject or session), got one 2D "
                         "array; wrap it in a list")
    group = [_signals(s, f"{name}[{k}]") for k, s in enumerate(subjects)]
    if not group:
        raise ValueError(f"{name}: the list is empty")
    return group


def correlation(ts) -> np.ndarray:
    """Pearson correlation of the columns of ``ts`` (T × N) → (N, N), unit diagonal."""
    return _core.correlation(np.asarray(ts, dtype=np.float64))


def fisher_z(r) -> np.ndarray:
    """arctanh of a correlation matrix with a zero diagonal."""
    return _core.fisher_z(np.asarray(r, dtype=np.float64))


def edge_vector(matrix) -> np.ndarray:
    """Strict upper triangle of an (N, N) matrix, row by row (rewire's edge order)."""
    return _core.edge_vector(np.asarray(matrix, dtype=np.float64))


def edge_index(i: int, j: int, nodes: int) -> int:
    """Position of edge (i, j), i < j, in rewire's edge vector: i·N − i(i+1)/2 + (j − i − 1)."""
    if not 0 <= i < j < nodes:
        raise ValueError(f"edge_index: need 0 <= i < j < nodes, got i={i}, j={j}, nodes={nodes}")
    return _core.edge_index(i, j, nodes)


def edge_nodes(nodes: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(i, j)``: the two nodes of every position of rewire's edge vector of an ``nodes``-node network,
    as int64 arrays of N(N−1)/2 entries (i < j). Read off :func:`edge_vector` itself, so that every
    edge ordering in rewire is the C++ one."""
    if nodes < 0:
        raise ValueError(f"edge_nodes: nodes must be >= 0, got {nodes}")
    index = np.arange(nodes, dtype=np.float64)
    rows = np.broadcast_to(index[:, None], (nodes, nodes))
    return (edge_vector(rows).astype(np.int64), edge_vector(rows.T).astype(np.int64))


def covariance(ts, estimator: str = str(_COVARIANCE.estimator), *, return_shrinkage: bool = False,
               threads: int = _COVARIANCE.threads):
    """Covariance of ``ts`` (T, N) → (N, N), divided by T as scikit-learn.

    ``estimator`` is ``"empirical"`` (``EmpiricalCovariance``), ``"ledoit_wolf"`` (``LedoitWolf``,
    Ledoit & Wolf 2004) or ``"oas"`` (``OAS``, Chen et al. 2010). With ``return_shrinkage=True`` returns
    ``(covariance, shrinkage)``, the shrinkage being scikit-learn's ``shrinkage_`` (0 for empirical).
    """
    e = _core.covariance(_signals(ts), _core.CovarianceOptions(estimator=estimator, threads=int(threads)))
    return (e.covariance, e.shrinkage) if return_shrinkage else e.covariance


def ledoit_wolf(ts, *, threads: int = _COVARIANCE.threads) -> Tuple[np.ndarray, float]:
    """``(covariance, shrinkage)`` as ``sklearn.covariance.ledoit_wolf(ts)``."""
    return covariance(ts, "ledoit_wolf", return_shrinkage=True, threads=threads)


def oas(ts, *, threads: int = _COVARIANCE.threads) -> Tuple[np.ndarray, float]:
    """``(covariance, shrinkage)`` as ``sklearn.covariance.oas(ts)``."""
    return covariance(ts, "oas", return_shrinkage=True, threads=threads)


def connectivity(ts, kind: str = str(_ESTIMATE.kind), estimator: str = str(_ESTIMATE.estimator), *,
                 standardize: bool = _ESTIMATE.standardize, vectorize: bool = False, discard_diagonal: bool = False,
                 return_info: bool = False, threads: int = _ESTIMATE.threads):
    """Connectivity matrix of one subject's ``ts`` (T, N) → (N, N).

    ``kind``: ``"covariance"``, ``"correlation"``, ``"partial correlation"``, ``"precision"`` (``"tangent"``
    needs a group: :class:`Tangent`). ``estimator``: ``"empirical"`` (default: exact Pearson correlation),
    ``"ledoit_wolf"`` (nilearn's ``ConnectivityMeasure`` default) or ``"oas"``. ``standardize`` is nilearn's
    ``standardize=True``: for ``correlation`` the columns are z-scored (ddof=1) before the estimator, which
    changes the shrinkage of ``ledoit_wolf``/``oas``. The result equals
    ``ConnectivityMeasure(kind=kind, cov_estimator=<estimator>).fit_transform([ts])[0]``.

    ``vectorize`` returns nilearn's ``sym_matrix_to_vec`` of the matrix (with ``discard_diagonal``).
    With ``return_info=True`` returns ``(matrix, info)`` where ``info`` is a dict with ``kind``,
    ``estimator``, ``shrinkage`` (the covariance estimator's; 0 for empirical) and ``standardize``
    (whether the columns were z-scored) — the record of which correlation this is.
    """
    options = _core.EstimateOptions(kind=kind, estimator=estimator, standardize=bool(standardize),
                                    threads=int(threads))
    e = _core.estimate(_signals(ts), options)
    matrix = e.matrix
    if vectorize:
        matrix = sym_matrix_to_vec(matrix, discard_diagonal=discard_diagonal)
    if not return_info:
        return matrix
    info = {"kind": str(e.kind), "estimator": str(e.estimator), "shrinkage": e.shrinkage,
            "standardize": e.standardized}
    return matrix, info


def covariance_to_correlation(covariance) -> np.ndarray:
    """nilearn's ``cov_to_corr``: C_ij / sqrt(C_ii C_jj) with a unit diagonal."""
    return _core.covariance_to_correlation(np.asarray(covariance, dtype=np.float64))


def precision_to_partial_correlation(precision) -> np.ndarray:
    """nilearn's ``prec_to_partial``: −P_ij / sqrt(P_ii P_jj) with a unit diagonal."""
    return _core.precision_to_partial_correlation(np.asarray(precision, dtype=np.float64))


def sym_matrix_to_vec(symmetric, discard_diagonal: bool = False) -> np.ndarray:
    """nilearn's ``sym_matrix_to_vec``: the lower triangle of (..., N, N) read row by row
    (position i(i+1)/2 + j for j ≤ i), the diagonal divided by √2; with ``discard_diagonal`` the strict
    lower triangle (position i(i−1)/2 + j), unscaled. Returns (..., N(N+1)/2) or (..., N(N−1)/2).

    This is not rewire's edge vector (:func:`rewire.edge_vector`: strict upper triangle row by row).
    """
    m = np.asarray(symmetric, dtype=np.float64)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        raise ValueError(f"sym_matrix_to_vec: expected (..., N, N) square matrices, got shape {m.shape}")
    flat = m.reshape((-1,) + m.shape[-2:])
    out = [_core.sym_matrix_to_vec(s, bool(discard_diagonal)) for s in flat]
    length = m.shape[-1] * (m.shape[-1] + (-1 if discard_diagonal else 1)) // 2
    return np.asarray(out).reshape(m.shape[:-2] + (length,))


def vec_to_sym_matrix(vec, diagonal=None) -> np.ndarray:
    """nilearn's ``vec_to_sym_matrix``: inverse of :func:`sym_matrix_to_vec` on the last axis. A separate
    ``diagonal`` (..., N) goes with a vector without diagonal and, as in nilearn, is multiplied by √2 too.
    """
    v = np.asarray(vec, dtype=np.float64)
    if v.ndim < 1:
        raise ValueError("vec_to_sym_matrix: expected a vector")
    flat = v.reshape(-1, v.shape[-1])
    if diagonal is None:
        out = [_core.vec_to_sym_matrix(row, None) for row in flat]
    else:
        d = np.asarray(diagonal, dtype=np.float64)
        if d.shape[:-1] != v.shape[:-1]:
            raise ValueError(f"diagonal of shape {d.shape} incompatible with vector of shape {v.shape}")
        out = [_core.vec_to_sym_matrix(row, dr) for row, dr in zip(flat, d.reshape(-1, d.shape[-1]))]
    n = out[0].shape[0]
    return np.asarray(out).reshape(v.shape[:-1] + (n, n))


def edge_zscores(ts, method: str = str(_EDGE_Z.method), *,
                 max_lag: Optional[int] = None if _EDGE_Z.max_lag < 0 else _EDGE_Z.max_lag,
                 return_fisher_z: bool = False, threads: int = _EDGE_Z.threads):
    """z-scores of every edge's Pearson correlation that account for the signals' autocorrelation.

    Returns ``(zscores, dof)``, both (N, N): ``zscores = arctanh(r) * sqrt(dof - 3)`` (diagonal 0), where
    ``dof`` is the effective number of time points (var(arctanh r) = 1 / (dof − 3)).

    * ``"bartlett"`` (Bartlett 1946): ``dof = T / (1 + 2 Σ_{k=1..M} ρ_x(k) ρ_y(k))``, capped at T — the
      variance under the null of no correlation.
    * ``"xdf"`` (Afyouni, Smith & Nichols 2019): the variance for any true correlation, from the auto-
      and cross-correlations up to lag M (truncated), floored at the theoretical (1 − r²)²/T, as their
      xDF code; ``dof = 1 / var(arctanh r) + 3``. Costs M products of (N × T) × (T × N).
    * ``"naive"``: ``dof = T``, the textbook ``sqrt(T - 3) arctanh(r)``, too wide for autocorrelated BOLD.

    ``M = max_lag`` (default ``floor(sqrt(T))``); ρ are the usual (biased) sample correlations of the
    centred series. With ``return_fisher_z=True`` returns ``(zscores, dof, fisher_z)``.
    """
    options = _core.EdgeZOptions(method=method, max_lag=-1 if max_lag is None else int(max_lag),
                                 threads=int(threads))
    z = _core.edge_zscores(_signals(ts), options)
    if return_fisher_z:
        return z.zscore, z.dof, z.fisher_z
    return z.zscore, z.dof


def geometric_mean(matrices, *, max_iter: int = _TANGENT.mean.max_iter, tol: float = _TANGENT.mean.tol,
                   threads: int = _TANGENT.mean.threads) -> np.ndarray:
    """Geometric (affine-invariant) mean of SPD (N, N) matrices, nilearn's ``_geometric_mean`` algorithm
    (Fletcher & Joshi 2007) with ConnectivityMeasure's ``max_iter=30, tol=1e-7``."""
    mats = [np.asarray(m, dtype=np.float64) for m in matrices]
    options = _core.GeometricMeanOptions(max_iter=int(max_iter), tol=float(tol), threads=int(threads))
    return _core.geometric_mean(mats, options).mean


class Tangent:
    """Tangent-space embedding of connectivity at a group's geometric mean (Varoquaux et al. 2010), as
    nilearn's ``ConnectivityMeasure(kind="tangent")``, with a reference that can be saved and reused.

    ``fit(group)`` estimates each subject's covariance (``estimator``; nilearn's default Ledoit–Wolf),
    their geometric mean ``mean_`` and ``whitening_ = mean_^{-1/2}``; ``transform(group)`` returns
    ``log(whitening_ C whitening_)`` per subject, shaped (S, N, N). The reference stays fixed once fitted
    (or loaded), so later sessions are embedded at the same point, as pre/post deltas need. Unlike nilearn,
    ``transform`` accepts a single subject.
    """

    def __init__(self, estimator: str = str(_TANGENT.estimator), *, max_iter: int = _TANGENT.mean.max_iter,
                 tol: float = _TANGENT.mean.tol, threads: int = _TANGENT.mean.threads):
        self._core = _core.TangentSpace(_tangent_options(estimator, max_iter, tol, threads))
        self.n_iter_: Optional[int] = None
        self.converged_: Optional[bool] = None

    @property
    def estimator(self) -> str:
        return str(self._core.options.estimator)

    @property
    def mean_(self) -> np.ndarray:
        """(N, N) geometric mean of the fitted group's covariances."""
        self._check_fitted()
        return self._core.mean

    @property
    def whitening_(self) -> np.ndarray:
        """(N, N) inverse square root of ``mean_``."""
        self._check_fitted()
        return self._core.whitening

    @property
    def n_features_in_(self) -> int:
        self._check_fitted()
        return int(self._core.mean.shape[0])

    def _check_fitted(self):
        if not self._core.fitted:
            raise ValueError("Tangent: not fitted; call fit() on a group or Tangent.load() a reference")

    def fit(self, subjects) -> "Tangent":
        """Fits the reference on a list of (T_k, N) time series (T may differ, N may not)."""
        self._core.fit(_group(subjects))
        self.n_iter_, self.converged_ = self._core.iterations, self._core.converged
        return self

    def transform(self, subjects) -> np.ndarray:
        """Tangent vectors (S, N, N) of a list of (T_k, N) time series at the fitted reference."""
        self._check_fitted()
        return np.asarray(self._core.transform(_group(subjects)))

    def fit_transform(self, subjects) -> np.ndarray:
        """``fit(subjects).transform(subjects)``, estimating each covariance once."""
        out = np.asarray(self._core.fit_transform(_group(subjects)))
        self.n_iter_, self.converged_ = self._core.iterations, self._core.converged
        return out

    def save(self, path: PathLike) -> None:
        """Writes the reference to a ``.npz`` file (written under a temporary name, then renamed):
        ``format`` ("rewire.Tangent"), ``format_version``, ``mean``, ``whitening``, ``estimator``,
        ``max_iter``, ``tol``, ``n_iter``, ``converged``, ``rewire_version`` and ``rewire_kernels`` (the
        kernel variant that computed it)."""
        self._check_fitted()
        options = self._core.options
        with atomic_write(path, "wb") as f:
            np.savez(f, format=np.array("rewire.Tangent"), format_version=np.array(TANGENT_FORMAT_VERSION),
                     mean=self._core.mean, whitening=self._core.whitening, estimator=np.array(self.estimator),
                     max_iter=np.array(options.mean.max_iter), tol=np.array(options.mean.tol),
                     n_iter=np.array(-1 if self.n_iter_ is None else self.n_iter_),
                     converged=np.array(bool(self.converged_)), rewire_version=np.array(_core.__version__),
                     rewire_kernels=np.array(_core.kernel_variant()))

    @classmethod
    def load(cls, path: PathLike, *, threads: int = _TANGENT.mean.threads) -> "Tangent":
        """A Tangent whose reference is read from a file written by :meth:`save`."""
        path = os.fspath(path)
        with np.load(path, allow_pickle=False) as f:
            if "format" not in f or str(f["format"]) != "rewire.Tangent":
                raise ValueError(f"{path}: not a rewire.Tangent file (no format='rewire.Tangent' entry)")
            version = int(f["format_version"])
            if version > TANGENT_FORMAT_VERSION:
                raise ValueError(f"{path}: format_version {version} is newer than this rewire reads "
                                 f"({TANGENT_FORMAT_VERSION}); upgrade rewire")
            obj = cls.__new__(cls)
            obj._core = _core.TangentSpace.from_reference(
                np.asarray(f["mean"], dtype=np.float64), np.asarray(f["whitening"], dtype=np.float64),
                _tangent_options(str(f["estimator"]), int(f["max_iter"]), float(f["tol"]), threads))
            n_iter = int(f["n_iter"])
            obj.n_iter_ = None if n_iter < 0 else n_iter
            obj.converged_ = bool(f["converged"])
        return obj

    def __repr__(self) -> str:
        state = f"N={self.n_features_in_}" if self._core.fitted else "not fitted"
        return f"Tangent(estimator={self.estimator!r}, {state})"


def _tangent_options(estimator: str, max_iter: int, tol: float, threads: int) -> "_core.TangentOptions":
    options = _core.TangentOptions(estimator=estimator)
    options.mean = _core.GeometricMeanOptions(max_iter=int(max_iter), tol=float(tol), threads=int(threads))
    return options


_SKLEARN_ESTIMATORS = {"EmpiricalCovariance": "empirical", "LedoitWolf": "ledoit_wolf", "OAS": "oas"}


def _estimator_name(cov_estimator) -> str:
    if cov_estimator is None:
        return "ledoit_wolf"
    if isinstance(cov_estimator, str):
        if cov_estimator not in ESTIMATORS:
            raise ValueError(f"cov_estimator: unknown estimator {cov_estimator!r}, expected one of "
                             f"{', '.join(repr(e) for e in ESTIMATORS)}")
        return cov_estimator
    name = _SKLEARN_ESTIMATORS.get(type(cov_estimator).__name__)
    if name is None or getattr(cov_estimator, "assume_centered", False):
        raise ValueError(f"cov_estimator: rewire supports {', '.join(_SKLEARN_ESTIMATORS)} (assume_centered=False) "
                         f"or the names {', '.join(repr(e) for e in ESTIMATORS)}; got {cov_estimator!r}")
    return name


class ConnectivityMeasure:
    """Drop-in for ``nilearn.connectome.ConnectivityMeasure`` with the same parameters, defaults and
    results (within 1e-8): ``kind="covariance"``, ``cov_estimator`` Ledoit–Wolf, ``standardize=True``
    (correlation only), ``vectorize``, ``discard_diagonal``. ``cov_estimator`` may be a name
    (``"empirical"``, ``"ledoit_wolf"``, ``"oas"``) or a scikit-learn ``EmpiricalCovariance``,
    ``LedoitWolf`` or ``OAS`` instance. Confounds on vectorised matrices are not supported.
    """

    def __init__(self, cov_estimator=None, kind: str = "covariance", vectorize: bool = False,
                 discard_diagonal: bool = False, standardize: bool = _ESTIMATE.standardize,
                 threads: int = _ESTIMATE.threads):
        # kind: nilearn's default ("covariance"), unlike rewire.connectivity's (EstimateOptions: correlation)
        self.cov_estimator = cov_estimator
        self.kind = kind
        self.vectorize = vectorize
        self.discard_diagonal = discard_diagonal
        self.standardize = standardize
        self.threads = threads

    def _matrices(self, X, fit: bool, transform: bool):
        if isinstance(X, np.ndarray) and X.ndim == 2:
            X = [X]
        group = _group(X, "X")
        if fit:
            if self.kind not in KINDS:
                raise ValueError(f"kind: unknown connectivity kind {self.kind!r}, expected one of "
                                 f"{', '.join(repr(k) for k in KINDS)}")
            self.cov_estimator_ = _estimator_name(self.cov_estimator)
            widths = {g.shape[1] for g in group}
            if len(widths) > 1:
                raise ValueError(f"All subjects must have the same number of features; got {sorted(widths)}")
            self.n_features_in_ = group[0].shape[1]
        elif any(g.shape[1] != self.n_features_in_ for g in group):
            raise ValueError(f"X has subjects with {sorted({g.shape[1] for g in group})} features, but "
                             f"ConnectivityMeasure is expecting {self.n_features_in_}")
        if transform and self.kind == "tangent" and len(group) <= 1:
            raise ValueError("Tangent space parametrization can only be applied to a group of subjects, as it "
                             "returns deviations to the mean (use rewire.Tangent to embed single sessions)")
        if self.kind == "tangent":
            if fit:
                self._tangent = Tangent(self.cov_estimator_, threads=self.threads)
                if transform:
                    out = self._tangent.fit_transform(group)
                else:
                    self._tangent.fit(group)
                self.mean_ = self._tangent.mean_
                self.whitening_ = self._tangent.whitening_
            if transform and not fit:
                out = self._tangent.transform(group)
        else:
            options = _core.EstimateOptions(kind=self.kind, estimator=self.cov_estimator_,
                                            standardize=bool(self.standardize), threads=int(self.threads))
            out = np.asarray([r.matrix for r in _core.estimate_group(group, options)])
            if fit:
                mean = out.mean(axis=0)
                self.mean_ = 0.5 * (mean + mean.T)
                self.whitening_ = None
        if not transform:
            return None
        if self.vectorize:
            out = sym_matrix_to_vec(out, discard_diagonal=self.discard_diagonal)
        return out

    def fit(self, X, y=None) -> "ConnectivityMeasure":
        """Fits on a list of (T_k, N) time series."""
        del y
        self._matrices(X, fit=True, transform=False)
        return self

    def fit_transform(self, X, y=None, confounds=None) -> np.ndarray:
        """Connectivity of each subject, (S, N, N) or vectorised."""
        del y
        if confounds is not None:
            raise ValueError("rewire.ConnectivityMeasure does not clean vectorised matrices with confounds")
        return self._matrices(X, fit=True, transform=True)

    def transform(self, X, confounds=None) -> np.ndarray:
        """Connectivity of each subject with the fitted estimator (and reference, for tangent)."""
        if not hasattr(self, "cov_estimator_"):
            raise ValueError("ConnectivityMeasure: not fitted; call fit() first")
        if confounds is not None:
            raise ValueError("rewire.ConnectivityMeasure does not clean vectorised matrices with confounds")
        return self._matrices(X, fit=False, transform=True)


__all__ = [
    "ESTIMATORS",
    "KINDS",
    "ConnectivityMeasure",
    "Tangent",
    "connectivity",
    "covariance",
    "covariance_to_correlation",
    "edge_index",
    "edge_nodes",
    "edge_vector",
    "edge_zscores",
    "geometric_mean",
    "ledoit_wolf",
    "oas",
    "precision_to_partial_correlation",
    "sym_matrix_to_vec",
    "vec_to_sym_matrix",
]
