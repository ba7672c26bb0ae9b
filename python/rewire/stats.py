"""Group statistics on connectivity and its change: GLM, FDR, max-T, NBS and TFNBS by permutation.

Data are numpy arrays shaped (subjects, edges): one row per subject (for a pre/post study, usually the
per-subject change post − pre), one column per edge in rewire's edge order (strict upper triangle,
row by row: index = i·N − i(i+1)/2 + (j − i − 1), see :func:`rewire.edge_index`).

A design is (subjects, regressors); rewire never adds an intercept, so include a column of ones when
the model needs one (as MRtrix3 and FSL do). A contrast is one row of weights (t test) or several
rows (F test). Designs:

* one-sample / paired (deltas against zero): ``design=None`` (a column of ones), contrast ``[1]``;
* two-sample: :func:`two_sample_design` gives ``[1, group]`` and contrast ``[0, 1]``;
* covariates: any design matrix, or :func:`design_from_formula` over ``participants.tsv`` columns;
* brain–behaviour: deltas against the change in a clinical score, with nuisance covariates.

Permutation inference (Winkler et al. 2014, NeuroImage 92:381): sign flips for designs whose nuisance
has no intercept (one-sample, paired), Freedman–Lane permutation of nuisance-model residuals
otherwise, exchangeability blocks (within or whole), exact enumeration when every possible shuffle
fits in the number requested. Shuffle k is a pure function of (seed, k) (Philox4x64-10), so results
are identical for any number of threads. p-values count the unpermuted data once:
p = (1 + #{null ≥ observed}) / (1 + K); ``compat="bctpy"`` and ``compat="mrtrix"`` reproduce those
tools' conventions exactly (see :func:`nbs`).
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from .connectivity import edge_nodes

__all__ = [
    "Component",
    "GlmResult",
    "MaxTResult",
    "NBSResult",
    "TFNBSResult",
    "design_from_formula",
    "fdr",
    "glm",
    "maxt",
    "nbs",
    "node_pair",
    "shuffles",
    "tfnbs",
    "two_sample_design",
]

Progress = Optional[Callable[[int, int], object]]

# The defaults of every keyword below (the C++ options structs).
_SHUFFLE = _core.ShuffleOptions()
_PERMUTATION = _core.PermutationOptions()
_NBS = _core.NbsOptions()
_TFNBS = _core.TfnbsOptions()
#: Every test's default tail (NbsOptions' and TfnbsOptions', and max-T's).
_TAIL = str(_NBS.tail)


# --------------------------------------------------------------------------------------------------
# Inputs


def _data(data) -> np.ndarray:
    array = np.ascontiguousarray(data, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"data: expected a 2-D array (subjects, edges), got shape {array.shape}")
    return array


def _design(design, subjects: int) -> Tuple[np.ndarray, List[str]]:
    if design is None:
        return np.ones((subjects, 1)), ["intercept"]
    names = [str(c) for c in design.columns] if hasattr(design, "columns") else None
    matrix = np.asarray(design, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise ValueError(f"design: expected a 2-D array (subjects, regressors), got shape {matrix.shape}")
    if names is None:
        names = [f"x{j}" for j in range(matrix.shape[1])]
    if matrix.shape[0] != subjects:
        raise ValueError(f"design: has {matrix.shape[0]} rows but the data have {subjects} subjects; "
                         "expected one design row per subject")
    return np.ascontiguousarray(matrix), names


def _contrast(contrast, names: List[str], ftest: bool) -> Tuple[np.ndarray, bool]:
    if contrast is None:
        if len(names) != 1:
            raise ValueError(f"contrast: required for a design with {len(names)} columns ({', '.join(names)})")
        contrast = [1.0]
    if isinstance(contrast, str):
        if contrast not in names:
            # A two-level factor by its name: "group" for the single column "group[T.therapy]".
            coded = [n for n in names if n.startswith(contrast + "[")]
            if len(coded) != 1:
                raise ValueError(f"contrast: {contrast!r} is not a design column; columns are {', '.join(names)}")
            contrast = coded[0]
        weights = np.zeros((1, len(names)))
        weights[0, names.index(contrast)] = 1.0
        return weights, ftest
    matrix = np.atleast_2d(np.asarray(contrast, dtype=np.float64))
    if matrix.ndim != 2:
        raise ValueError(f"contrast: expected a vector or a (rows, {len(names)}) matrix, got shape {matrix.shape}")
    if matrix.shape[1] != len(names):
        raise ValueError(f"contrast: expected {len(names)} weights (one per design column: {', '.join(names)}), "
                         f"got {matrix.shape[1]}")
    return matrix, ftest or matrix.shape[0] > 1


def two_sample_design(groups, first=None) -> np.ndarray:
    """Design ``[1, g]`` for two groups, with g = 1 for subjects in group ``first`` (default: the first
    label in sorted order). With contrast ``[0, 1]`` the t statistic is mean(first) − mean(other) over
    the pooled standard error (scipy.stats.ttest_ind(first, other))."""
    labels = np.asarray(groups)
    levels = sorted(set(labels.tolist()))
    if len(levels) != 2:
        raise ValueError(f"groups: expected exactly 2 distinct labels, got {len(levels)}: {levels[:5]}")
    first = levels[0] if first is None else first
    if first not in levels:
        raise ValueError(f"first: {first!r} is not one of the group labels {levels}")
    return np.column_stack([np.ones(len(labels)), (labels == first).astype(np.float64)])


def node_pair(edge: int, nodes: int) -> Tuple[int, int]:
    """Nodes (i, j), i < j, of position ``edge`` in rewire's edge vector of an ``nodes``-node network."""
    edges = nodes * (nodes - 1) // 2
    if not 0 <= edge < edges:
        raise ValueError(f"edge: expected 0 <= edge < {edges}, got {edge}")
    first, second = edge_nodes(nodes)
    return int(first[edge]), int(second[edge])


def _nodes(edges: int) -> int:
    n = int(round((1 + math.sqrt(1 + 8 * edges)) / 2))
    if n * (n - 1) // 2 != edges:
        raise ValueError(f"data: {edges} edges is not N(N-1)/2 for any node count N; network statistics need "
                         "rewire's edge vectors (strict upper triangle, row by row)")
    return n


# --------------------------------------------------------------------------------------------------
# Formulas


_TOKEN = re.compile(r"\s*(?:(?P<name>C\([^()]*\)|[A-Za-z_][A-Za-z0-9_.]*)|(?P<number>\d+)|(?P<op>[~+*:\-]))")


def _factor_columns(name: str, table, full_rank: bool):
    """Columns and names of one factor: numeric as is; categorical (strings, booleans, C(x)) with
    treatment coding against the first sorted level, or every level when ``full_rank`` (no intercept)."""
    forced = name.startswith("C(")
    column = name[2:-1].strip() if forced else name
    if column not in table.columns:
        raise ValueError(f"formula: {column!r} is not a column of the participants table "
                         f"(columns: {', '.join(map(str, table.columns))})")
    values = table[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise ValueError(f"formula: column {column!r} is missing in {int(missing.sum())} row(s) "
                         f"(first: row {int(np.flatnonzero(missing)[0])})")
    if _numeric(values) and not forced:
        return [values.to_numpy(dtype=np.float64)], [column]
    levels = sorted(set(values.tolist()))
    if len(levels) < 2:
        raise ValueError(f"formula: categorical column {column!r} has a single level {levels!r}")
    used = levels if full_rank else levels[1:]
    columns = [(values == level).to_numpy(dtype=np.float64) for level in used]
    names = [f"{name}[{level}]" if full_rank else f"{name}[T.{level}]" for level in used]
    return columns, names


def _is_categorical(factor: str, table) -> bool:
    if factor.startswith("C("):
        return True
    if factor not in table.columns:
        return False
    return not _numeric(table[factor])


def _numeric(values) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(values) and not is_bool_dtype(values)


def design_from_formula(formula: str, participants):
    """Design matrix of ``formula`` over the columns of ``participants`` (a pandas DataFrame or the
    path of a BIDS ``participants.tsv``), with patsy's conventions: an intercept unless ``- 1`` or
    ``0``; string, boolean and ``C(x)`` columns treatment-coded against their first sorted level
    (``group[T.therapy]``); ``a:b`` products; ``a*b`` = ``a + b + a:b``; columns in patsy's order (terms grouped by their numeric factors,
    then by degree); an interaction without its lower-order term codes one factor with every level.
    Returns a pandas DataFrame (rows as ``participants``, named columns), usable as ``design``; a
    column name is a valid ``contrast``."""
    import pandas as pd

    table = participants
    if not hasattr(table, "columns"):
        table = pd.read_csv(participants, sep="\t")
    text = formula.strip()
    if "~" in text:
        left, text = text.split("~", 1)
        if left.strip():
            raise ValueError("formula: give the right-hand side only (the data are the edges): '~ age + group'")
    tokens = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"formula: cannot parse {text[position:]!r} in {formula!r}")
        tokens.append(match.group("name") or match.group("number") or match.group("op"))
        position = match.end()
    intercept = True
    terms: List[Tuple[str, ...]] = []
    sign = "+"
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in "+-":
            sign = token
            index += 1
            continue
        # A product of factors joined by ':' or '*'.
        factors = [token]
        stars = False
        while index + 2 <= len(tokens) - 1 and tokens[index + 1] in (":", "*"):
            stars = stars or tokens[index + 1] == "*"
            factors.append(tokens[index + 2])
            index += 2
        index += 1
        if factors in (["1"], ["0"]):
            intercept = (factors == ["1"]) == (sign == "+")
            continue
        if any(f.isdigit() for f in factors):
            raise ValueError(f"formula: numbers are only allowed as '1' or '0' terms in {formula!r}")
        if sign == "-":
            raise ValueError(f"formula: only the intercept can be removed ('- 1'), not {':'.join(factors)!r}")
        if stars:
            from itertools import combinations

            for size in range(1, len(factors) + 1):
                for combo in combinations(factors, size):
                    if combo not in terms:
                        terms.append(combo)
        elif tuple(factors) not in terms:
            terms.append(tuple(factors))
    # patsy's order: terms grouped by their numeric factors (the group without any first, then in order
    # of appearance), by degree within a group.
    groups: List[Tuple[str, ...]] = [()]
    for term in terms:
        key = tuple(f for f in term if not _is_categorical(f, table))
        if key not in groups:
            groups.append(key)
    terms.sort(key=lambda term: (groups.index(tuple(f for f in term if not _is_categorical(f, table))), len(term)))
    n = len(table)
    columns, names = [], []
    present = set()
    if intercept:
        columns.append(np.ones(n))
        names.append("Intercept")
        present.add(frozenset())
    for term in terms:
        # A categorical factor is coded against its reference level when the term without it is already
        # in the model (marginality); otherwise with every level (as patsy), for at most one factor.
        full = [f for f in term if _is_categorical(f, table) and frozenset(term) - {f} not in present]
        if len(full) > 1:
            raise ValueError(f"formula: term {':'.join(term)!r} needs its lower-order terms in the formula "
                             f"(add {' + '.join(full)})")
        term_columns, term_names = [np.ones(n)], [""]
        for factor in term:
            part_columns, part_names = _factor_columns(factor, table, full_rank=factor in full)
            term_columns = [a * b for a in term_columns for b in part_columns]
            term_names = [f"{a}:{b}" if a else b for a in term_names for b in part_names]
        columns.extend(term_columns)
        names.extend(term_names)
        present.add(frozenset(term))
        for factor in full:
            present.add(frozenset(term) - {factor})
    if not columns:
        raise ValueError(f"formula: {formula!r} has no terms")
    return pd.DataFrame(np.column_stack(columns), columns=names, index=table.index)


# --------------------------------------------------------------------------------------------------
# Results


class _TOrF:
    """``.t`` / ``.f``: the statistic under the name of its kind (the other name raises)."""

    kind: str
    statistic: np.ndarray

    @property
    def t(self) -> np.ndarray:
        if self.kind != "t":
            raise AttributeError("t: this is an F test; use .f")
        return self.statistic

    @property
    def f(self) -> np.ndarray:
        if self.kind != "f":
            raise AttributeError("f: this is a t test; use .t")
        return self.statistic


@dataclass
class GlmResult(_TOrF):
    """Edge-wise GLM. ``statistic`` is t (two-sided ``p``) or F (``p`` upper tail); ``df`` is the
    residual degrees of freedom (``df1`` the F numerator). Edges with zero residual variance (e.g.
    constant in every subject) are listed in ``degenerate`` and get statistic 0, p = 1."""

    kind: str
    statistic: np.ndarray
    p: np.ndarray
    df: float
    df1: float
    beta: np.ndarray
    effect: Optional[np.ndarray]
    se: Optional[np.ndarray]
    sigma2: np.ndarray
    degenerate: np.ndarray


@dataclass
class Component:
    """A connected set of supra-threshold edges: ``nodes`` and ``edges`` (positions in the edge
    vector), ``size`` (the measure tested: extent in edges, or intensity Σ(|t| − threshold)),
    ``sign`` (+1, −1, or 0 for bctpy's mixed-sign components) and its FWE-corrected ``p``."""

    nodes: np.ndarray
    edges: np.ndarray
    size: float
    extent: int
    intensity: float
    sign: int
    p: float


def _components(raw, measure: str) -> List[Component]:
    out = []
    for c in raw:
        size = c.extent if measure == "extent" else c.intensity
        out.append(Component(nodes=np.asarray(c.nodes), edges=np.asarray(c.edges), size=float(size),
                             extent=int(c.extent), intensity=float(c.intensity), sign=int(c.sign), p=float(c.p)))
    return out


@dataclass
class _PermutationResult(_TOrF):
    kind: str
    statistic: np.ndarray
    enhanced: np.ndarray
    null: np.ndarray
    p_fwe: np.ndarray
    shuffles: int
    exhaustive: bool
    df: float
    df1: float
    degenerate: np.ndarray
    compat: Optional[str]
    seed: int

    def _table(self, rows: np.ndarray, names: Optional[Sequence[str]], extra: dict):
        import pandas as pd

        nodes = _nodes(self.statistic.size)
        first, second = edge_nodes(nodes)
        frame = pd.DataFrame({"edge": rows, "i": first[rows], "j": second[rows]})
        if names is not None:
            if len(names) != nodes:
                raise ValueError(f"names: expected {nodes} node names, got {len(names)}")
            labels = np.asarray([str(n) for n in names], dtype=object)
            frame["node_i"] = labels[first[rows]]
            frame["node_j"] = labels[second[rows]]
        frame[self.kind] = self.statistic[rows]
        frame["p_fwe"] = self.p_fwe[rows]
        for key, value in extra.items():
            frame[key] = value
        return frame


@dataclass
class MaxTResult(_PermutationResult):
    """Max-T: ``p_fwe`` per edge from the null of the largest |t| over edges (Westfall & Young 1993);
    ``p_uncorrected`` from each edge's own permutation distribution."""

    p_uncorrected: np.ndarray = field(default_factory=lambda: np.empty(0))

    def table(self, names: Optional[Sequence[str]] = None, alpha: float = 0.05):
        """Edges with p_fwe ≤ alpha, most significant first (pandas DataFrame)."""
        rows = np.flatnonzero(self.p_fwe <= alpha)
        rows = rows[np.lexsort((-np.abs(self.statistic[rows]), self.p_fwe[rows]))]
        return self._table(rows, names, {"p_uncorrected": self.p_uncorrected[rows]})


@dataclass
class NBSResult(_PermutationResult):
    """NBS (Zalesky et al. 2010): ``components`` (largest first) with FWE-corrected p-values; the
    per-edge ``enhanced`` value is the measure of the edge's component (0 outside components) and
    ``p_fwe`` its component's p-value; ``null`` is the largest component measure of each shuffle."""

    components: List[Component] = field(default_factory=list)
    threshold: float = float("nan")
    measure: str = "extent"

    def table(self, names: Optional[Sequence[str]] = None, alpha: float = 1.0):
        """Edges of the components with p ≤ alpha (default: every component), one row per edge with
        its component's index, size and p (pandas DataFrame)."""
        rows, component, size, p = [], [], [], []
        for index, c in enumerate(self.components):
            if c.p <= alpha:
                rows.extend(c.edges.tolist())
                component.extend([index] * len(c.edges))
                size.extend([c.size] * len(c.edges))
                p.extend([c.p] * len(c.edges))
        return self._table(np.asarray(rows, dtype=np.int64), names,
                           {"component": component, "component_size": size, "component_p": p})


@dataclass
class TFNBSResult(_PermutationResult):
    """TFNBS (Baggio et al. 2018) as MRtrix3 defines it: ``enhanced`` is each edge's TFNBS score,
    ``p_fwe`` from the null of the largest score. ``components`` are the connected sets of edges with
    p_fwe ≤ ``alpha``; a component's p is the smallest p_fwe of its edges."""

    components: List[Component] = field(default_factory=list)
    alpha: float = 0.05

    def table(self, names: Optional[Sequence[str]] = None, alpha: Optional[float] = None):
        """Edges with p_fwe ≤ alpha (default: the result's alpha), most significant first."""
        alpha = self.alpha if alpha is None else alpha
        rows = np.flatnonzero(self.p_fwe <= alpha)
        rows = rows[np.lexsort((-self.enhanced[rows], self.p_fwe[rows]))]
        return self._table(rows, names, {"tfnbs": self.enhanced[rows]})


# --------------------------------------------------------------------------------------------------
# Tests


def glm(data, design=None, contrast=None, *, ftest: bool = False) -> GlmResult:
    """Edge-wise GLM with parametric p-values: t = Cβ̂/se (two-sided p) for a one-row contrast, F for
    several rows or ``ftest=True``. ``design=None`` is the one-sample (paired) test."""
    y = _data(data)
    matrix, names = _design(design, y.shape[0])
    weights, is_f = _contrast(contrast, names, ftest)
    r = _core.stats_glm(y, _core.stats_model(matrix, weights, "f" if is_f else "t"))
    degenerate = np.asarray(r.degenerate, dtype=np.int64)
    _warn_degenerate(degenerate)
    return GlmResult(kind=str(r.statistic), statistic=r.value, p=r.p, df=float(r.df2), df1=float(r.df1),
                     beta=r.beta, effect=None if is_f else r.effect, se=None if is_f else r.se, sigma2=r.sigma2,
                     degenerate=degenerate)


def fdr(p, method: str = "bh") -> np.ndarray:
    """Benjamini–Hochberg (``"bh"``, 1995) or Benjamini–Yekutieli (``"by"``, 2001) adjusted p-values,
    equal to ``scipy.stats.false_discovery_control(p, method=method)``; any shape, adjusted over all."""
    array = np.asarray(p, dtype=np.float64)
    return np.asarray(_core.stats_fdr(array.ravel(), method)).reshape(array.shape)


def _warn_degenerate(degenerate: np.ndarray) -> None:
    if degenerate.size:
        warnings.warn(f"{degenerate.size} edge(s) have zero residual variance (constant in every subject, or fitted "
                      f"exactly by the design; first: edge {int(degenerate[0])}): statistic 0, p = 1",
                      RuntimeWarning, stacklevel=3)


def shuffles(subjects: int, count: int = _SHUFFLE.count, seed: int = _SHUFFLE.seed, *,
             shuffle: str = str(_SHUFFLE.kind), blocks=None, whole_blocks: bool = _SHUFFLE.whole_blocks,
             exhaustive: bool = _SHUFFLE.exhaustive, include_identity: bool = _SHUFFLE.include_identity):
    """The shuffles a test with these options uses, as explicit arrays: ``(permutations, signflips)``
    shaped (K, subjects) of row indices and (subjects, K) of ±1. Shuffled row i is
    ``signflips[i, k] * data[permutations[k, i]]``."""
    options = _core.ShuffleOptions(kind=shuffle, count=int(count), seed=int(seed), blocks=_blocks(blocks, subjects),
                                   whole_blocks=bool(whole_blocks), exhaustive=bool(exhaustive),
                                   include_identity=bool(include_identity))
    return _core.Shuffles.random(int(subjects), options).arrays()


def _blocks(blocks, subjects: int) -> List[int]:
    if blocks is None:
        return []
    labels = np.asarray(blocks)
    if labels.shape != (subjects,):
        raise ValueError(f"blocks: expected one exchangeability block label per subject ({subjects}), "
                         f"got shape {labels.shape}")
    _, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64).tolist()


_COMPAT = (None, "bctpy", "mrtrix")


def _run(method: str, data, design, contrast, *, ftest, tail, shuffles, seed, shuffle, blocks, whole_blocks,
         exhaustive, signflips, permutations, compat, threads, progress, threshold=_NBS.threshold,
         threshold_kind="t", measure=str(_NBS.measure), dh=_TFNBS.dh, e=_TFNBS.e, h=_TFNBS.h, enhance_z=False):
    if compat not in _COMPAT:
        raise ValueError(f"compat: expected None, 'bctpy' or 'mrtrix', got {compat!r}")
    y = _data(data)
    matrix, names = _design(design, y.shape[0])
    weights, is_f = _contrast(contrast, names, ftest)
    if tail not in ("two-sided", "greater", "less"):
        raise ValueError(f"tail: expected 'two-sided', 'greater' or 'less', got {tail!r}")
    if compat == "mrtrix" and tail != "greater" and not is_f:
        raise ValueError("tail: MRtrix3 tests one side of the contrast; use tail='greater' (negate the contrast "
                         "for the other side)")
    if threshold_kind not in ("t", "f", "statistic", "z"):
        raise ValueError(f"threshold_kind: expected 't' (the test statistic) or 'z', got {threshold_kind!r}")
    if compat == "mrtrix" and method == "nbs" and threshold_kind != "z":
        raise ValueError("threshold_kind: MRtrix3 3.0 applies -threshold to Z statistics (its Zstat output); pass "
                         "threshold_kind='z' with compat='mrtrix'")
    if isinstance(shuffles, bool) or int(shuffles) != shuffles or shuffles < 1:
        raise ValueError(f"shuffles: expected a number of shuffles >= 1, got {shuffles!r}")
    model = _core.stats_model(matrix, weights, "f" if is_f else "t")
    if shuffle == "auto":
        shuffle = "permute" if model.nuisance_has_intercept else "signflip"
    drawn = _draw(y.shape[0], shuffles=shuffles, seed=seed, shuffle=shuffle, blocks=blocks,
                  whole_blocks=whole_blocks, exhaustive=exhaustive, signflips=signflips, permutations=permutations,
                  include_identity=compat == "mrtrix")
    options = _core.PermutationOptions(convention=compat or str(_PERMUTATION.convention), threads=int(threads),
                                       z_statistic=bool(enhance_z))
    report = None
    if progress is not None:
        def report(done: int, total: int, _progress=progress) -> bool:
            return _progress(done, total) is not False  # a callback returning None keeps going
    components, used_threshold = [], float("nan")
    if method == "maxt":
        r = _core.stats_maxt(y, model, drawn, tail, options, report)
    elif method == "nbs":
        nbs_options = _core.NbsOptions(threshold=float(threshold), scale="z" if threshold_kind == "z" else "statistic",
                                       measure=measure, tail=tail, strict=compat != "mrtrix",
                                       mixed_signs=compat == "bctpy" and tail == "two-sided")
        result = _core.stats_nbs(y, model, drawn, nbs_options, options, report)
        r, components, used_threshold = result.test, result.components, result.threshold
    else:
        tfnbs_options = _core.TfnbsOptions(dh=float(dh), e=float(e), h=float(h), tail=tail)
        r = _core.stats_tfnbs(y, model, drawn, tfnbs_options, options, report)
    degenerate = np.asarray(r.degenerate, dtype=np.int64)
    _warn_degenerate(degenerate)
    common = dict(kind=str(r.statistic_kind), statistic=r.statistic, enhanced=r.enhanced, null=r.null, p_fwe=r.p_fwe,
                  shuffles=int(r.shuffles), exhaustive=bool(r.exhaustive), df=float(r.df2), df1=float(r.df1),
                  degenerate=degenerate, compat=compat, seed=int(seed))
    return r, common, components, used_threshold


def _draw(subjects: int, *, shuffles, seed, shuffle, blocks, whole_blocks, exhaustive, signflips, permutations,
          include_identity) -> "_core.Shuffles":
    """The shuffles of a test: the explicit ones given, else random ones from the options."""
    if signflips is not None and permutations is not None:
        raise ValueError("signflips and permutations: give one of them (for both at once use random shuffles "
                         "with shuffle='both')")
    if signflips is not None:
        flips = np.asarray(signflips, dtype=np.float64)
        return _core.Shuffles.from_sign_flips(flips[:, None] if flips.ndim == 1 else flips)
    if permutations is not None:
        perms = np.asarray(permutations, dtype=np.int64)
        return _core.Shuffles.from_permutations(perms[None, :] if perms.ndim == 1 else perms)
    options = _core.ShuffleOptions(kind=shuffle, count=int(shuffles), seed=int(seed), blocks=_blocks(blocks, subjects),
                                   whole_blocks=bool(whole_blocks), exhaustive=bool(exhaustive),
                                   include_identity=bool(include_identity))
    return _core.Shuffles.random(subjects, options)


_SHUFFLE_DOC = """
    Shuffles: ``shuffles`` random shuffles from ``seed`` (``shuffle="auto"``: sign flips when the
    nuisance has no intercept, as for one-sample/paired designs, else Freedman–Lane permutations;
    or ``"signflip"``, ``"permute"``, ``"both"``); ``blocks`` (one label per subject) restricts them
    to exchangeability blocks, moved as wholes with ``whole_blocks=True``; when no more shuffles
    exist than requested all are enumerated (``exhaustive``). Explicit shuffles: ``signflips``
    (subjects × K of ±1) or ``permutations`` (K × subjects of row indices, meaning ``data[perm]``).
    ``compat``: ``"bctpy"`` (p = #{null ≥ x}/K; NBS with |t| > threshold mixing signs when
    two-sided) or ``"mrtrix"`` (one-sided, t ≥ threshold; shuffle 0 of random shuffles is the
    unpermuted data and p = #{null > x}/K, MRtrix3 writing 1 − p). ``progress(done, total)`` is
    called as shuffles finish (returning False cancels); Ctrl-C stops the test (KeyboardInterrupt)."""


def maxt(data, design=None, contrast=None, shuffles: int = _SHUFFLE.count, seed: int = _SHUFFLE.seed, *,
         ftest: bool = False, tail: str = _TAIL, shuffle: str = "auto", blocks=None,
         whole_blocks: bool = _SHUFFLE.whole_blocks, exhaustive: bool = _SHUFFLE.exhaustive, signflips=None,
         permutations=None, compat: Optional[str] = None, threads: int = _PERMUTATION.threads,
         progress: Progress = None) -> MaxTResult:
    """Max-T permutation test: family-wise error corrected p per edge (``.p_fwe``)."""
    r, common, _, _ = _run("maxt", data, design, contrast, ftest=ftest, tail=tail, shuffles=shuffles, seed=seed,
                           shuffle=shuffle, blocks=blocks, whole_blocks=whole_blocks, exhaustive=exhaustive,
                           signflips=signflips, permutations=permutations, compat=compat, threads=threads,
                           progress=progress)
    return MaxTResult(**common, p_uncorrected=r.p_uncorrected)


def nbs(data, design=None, contrast=None, *, threshold: float, threshold_kind: str = "t",
        measure: str = str(_NBS.measure), shuffles: int = _SHUFFLE.count, seed: int = _SHUFFLE.seed,
        ftest: bool = False, tail: str = _TAIL, shuffle: str = "auto", blocks=None,
        whole_blocks: bool = _SHUFFLE.whole_blocks, exhaustive: bool = _SHUFFLE.exhaustive, signflips=None,
        permutations=None, compat: Optional[str] = None, threads: int = _PERMUTATION.threads,
        progress: Progress = None) -> NBSResult:
    """Network-based statistic (Zalesky, Fornito & Bullmore 2010).

    ``threshold`` is the primary threshold, required, in units of the test statistic
    (``threshold_kind="t"``: t, or F for F tests) or of Z (``"z"``: converted to the statistic with
    the same tail probability at the model's degrees of freedom). Edges with statistic > threshold
    (positive effects) or < −threshold (negative) form components, separately for each sign when
    two-sided; ``measure`` is ``"extent"`` (edges) or ``"intensity"`` (Σ |t| − threshold). No edge
    above the threshold gives an empty component list, not an error."""
    if compat == "bctpy" and measure != "extent":
        raise ValueError("measure: bctpy's nbs_bct tests component extent only")
    _, common, components, used = _run(
        "nbs", data, design, contrast, ftest=ftest, tail=tail, shuffles=shuffles, seed=seed, shuffle=shuffle,
        blocks=blocks, whole_blocks=whole_blocks, exhaustive=exhaustive, signflips=signflips,
        permutations=permutations, compat=compat, threads=threads, progress=progress, threshold=threshold,
        threshold_kind=threshold_kind, measure=measure)
    return NBSResult(**common, components=_components(components, measure), threshold=float(used), measure=measure)


def tfnbs(data, design=None, contrast=None, *, dh: float = _TFNBS.dh, e: float = _TFNBS.e, h: float = _TFNBS.h,
          scale: Optional[str] = None, alpha: float = 0.05, shuffles: int = _SHUFFLE.count, seed: int = _SHUFFLE.seed,
          ftest: bool = False, tail: str = _TAIL, shuffle: str = "auto", blocks=None,
          whole_blocks: bool = _SHUFFLE.whole_blocks, exhaustive: bool = _SHUFFLE.exhaustive, signflips=None,
          permutations=None, compat: Optional[str] = None, threads: int = _PERMUTATION.threads,
          progress: Progress = None) -> TFNBSResult:
    """Threshold-free NBS (Baggio et al. 2018) as MRtrix3's connectomestats defines it:
    score(e) = Σ_{h_k ≤ t_e} extent_k(e)^E · h_k^H over heights h_k = dh, 2dh, … (MRtrix3's defaults
    dh = 0.1, E = 0.4, H = 3). Two-sided tests score t and −t separately. ``scale="z"`` scores the
    Z statistics (each t turned into the Z with the same tail probability), which is what MRtrix3 3.0
    does; the default is ``"t"``, or ``"z"`` with ``compat="mrtrix"``."""
    scale = ("z" if compat == "mrtrix" else "t") if scale is None else scale
    if scale not in ("t", "z"):
        raise ValueError(f"scale: expected 't' or 'z', got {scale!r}")
    _, common, _, _ = _run("tfnbs", data, design, contrast, ftest=ftest, tail=tail, shuffles=shuffles, seed=seed,
                           shuffle=shuffle, blocks=blocks, whole_blocks=whole_blocks, exhaustive=exhaustive,
                           signflips=signflips, permutations=permutations, compat=compat, threads=threads,
                           progress=progress, dh=dh, e=e, h=h, enhance_z=scale == "z")
    result = TFNBSResult(**common, alpha=float(alpha))
    nodes = _nodes(result.statistic.size)
    mask = result.p_fwe <= alpha
    raw = _core.stats_components(nodes, mask.tolist(), result.statistic) if mask.any() else []
    components = _components(raw, "extent")
    for c in components:
        c.p = float(result.p_fwe[c.edges].min())
    components.sort(key=lambda c: (c.p, -c.extent))
    result.components = components
    return result


for _function in (maxt, nbs, tfnbs):
    _function.__doc__ += "\n" + _SHUFFLE_DOC
del _function
