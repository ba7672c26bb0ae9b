"""Every default is defined once, in a C++ options struct: for each stage, the C++ default (read through
the bound struct), the Python keyword default (inspect.signature), the command line's default (the
argparse parser of each verb) agree, and equal nilearn 0.14.1's where nilearn has the same name."""
from __future__ import annotations

import argparse
import inspect
import math
import pickle

import pytest

import rewire
import rewire.stats as rs
from rewire import _core, cli
from rewire.confounds import keywords
from rewire.study.options import DEFAULT_WORKERS, StudyOptions
from rewire.study.run import run_study

import nilearn.signal as nilearn_signal
from nilearn.connectome import ConnectivityMeasure as NilearnConnectivityMeasure
from nilearn.interfaces.fmriprep import load_confounds as nilearn_load_confounds

EMPTY = inspect.Parameter.empty


def python_defaults(function) -> dict:
    return {name: p.default for name, p in inspect.signature(function).parameters.items() if p.default is not EMPTY}


def cli_defaults(verb: str) -> dict:
    parser = cli.build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest: action.default for action in verbs.choices[verb]._actions if action.dest != "help"}


def same(a, b) -> bool:
    """Equal, NaN equal to NaN (the NBS threshold's 'no default')."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def check(table):
    """Each row: (what, C++ value, other values...): all the same value and type."""
    for what, cpp, *others in table:
        for other in others:
            assert same(other, cpp), f"{what}: {other!r} differs from the C++ default {cpp!r}"


# ------------------------------------------------------------------------------------------ clean


def test_clean_defaults():
    cpp = _core.CleanOptions()
    py = python_defaults(rewire.clean)
    nl = python_defaults(nilearn_signal.clean)
    extract, run = cli_defaults("extract"), cli_defaults("run")
    study = StudyOptions()
    check([
        ("detrend", cpp.detrend, py["detrend"], nl["detrend"], extract["detrend"], run["detrend"], study.detrend),
        ("standardize", str(cpp.standardize), py["standardize"], nl["standardize"], extract["standardize"],
         run["standardize"], study.standardize),
        ("standardize_confounds", cpp.standardize_confounds, py["standardize_confounds"],
         nl["standardize_confounds"]),
        ("filter", str(cpp.filter), py["filter"], nl["filter"], study.filter),
        ("low_pass", cpp.low_pass, py["low_pass"], nl["low_pass"], extract["low_pass"], run["low_pass"],
         study.low_pass),
        ("high_pass", cpp.high_pass, py["high_pass"], nl["high_pass"], extract["high_pass"], run["high_pass"],
         study.high_pass),
        ("t_r", cpp.t_r, py["t_r"], nl["t_r"]),
        ("ensure_finite", cpp.ensure_finite, py["ensure_finite"], nl["ensure_finite"]),
        ("extrapolate", cpp.extrapolate, py["extrapolate"], nl["extrapolate"]),
        ("threads", cpp.threads, py["threads"], extract["threads"]),
    ])
    # The command line reads the repetition time from the BOLD header unless --t-r is given.
    assert extract["t_r"] is None
    # nilearn's butterworth (clean's butterworth__* keywords) and rewire.signal.butterworth.
    butterworth = python_defaults(rewire.signal.butterworth)
    nl_butterworth = python_defaults(nilearn_signal.butterworth)
    check([
        ("butterworth_order", cpp.butterworth_order, butterworth["order"], nl_butterworth["order"]),
        ("padtype", str(cpp.padtype), butterworth["padtype"], nl_butterworth["padtype"]),
        ("padlen", cpp.padlen, butterworth["padlen"], nl_butterworth["padlen"]),
    ])


# -------------------------------------------------------------------------------------- confounds


def test_confounds_defaults():
    cpp = keywords(_core.ConfoundsOptions())
    py = python_defaults(rewire.load_confounds)
    nl = python_defaults(nilearn_load_confounds)
    assert set(cpp) == set(py) - {"tedana"}  # tedana: nilearn's, accepted and not supported
    check([(name, value, py[name], nl[name]) for name, value in cpp.items()])
    assert py["tedana"] == nl["tedana"]
    # The command line has no confounds unless --strategy names one, and --fd-threshold None keeps the
    # strategy's own threshold (rewire.load_confounds' default).
    for verb in ("extract", "run"):
        assert cli_defaults(verb)["strategy"] is None is StudyOptions().strategy
        assert cli_defaults(verb)["fd_threshold"] is None


# ---------------------------------------------------------------------------------------- extract


def test_extract_defaults():
    cpp = _core.ExtractOptions()
    check([("threads", cpp.threads, python_defaults(rewire.extract)["threads"], cli_defaults("extract")["threads"])])
    assert cpp.ring >= 2


def test_warp_defaults():
    cpp = _core.WarpOptions()
    function, method, verb = (python_defaults(rewire.warp_atlas), python_defaults(rewire.Atlas.warp),
                              cli_defaults("warp-atlas"))
    check([("interpolation", str(cpp.interpolation), function["interpolation"], method["interpolation"],
            verb["interpolation"]),
           ("sigma", cpp.sigma, function["sigma"], method["sigma"], verb["sigma"]),
           ("alpha", cpp.alpha, function["alpha"], method["alpha"], verb["alpha"]),
           ("threads", cpp.threads, function["threads"], method["threads"], verb["threads"])])
    # antsApplyTransforms' defaults: nearest-neighbour labels; MultiLabel's sigma = the voxel size, 4 sigmas
    assert str(cpp.interpolation) == "nearest" and cpp.sigma == 0.0 and cpp.alpha == 4.0


# ------------------------------------------------------------------------------ estimate, tangent


def test_estimate_defaults():
    cpp = _core.EstimateOptions()
    py = python_defaults(rewire.connectivity)
    verb, run = cli_defaults("connectivity"), cli_defaults("run")
    check([
        ("kind", str(cpp.kind), py["kind"], verb["kind"].replace("_", " "), run["kind"], StudyOptions().kinds[0]),
        ("estimator", str(cpp.estimator), py["estimator"], verb["estimator"], run["estimator"],
         StudyOptions().estimator),
        ("standardize", cpp.standardize, py["standardize"]),
        ("threads", cpp.threads, py["threads"]),
    ])
    covariance = _core.CovarianceOptions()
    for function in (rewire.covariance,):
        check([("estimator", str(covariance.estimator), python_defaults(function)["estimator"]),
               ("threads", covariance.threads, python_defaults(function)["threads"])])
    edge = _core.EdgeZOptions()
    py = python_defaults(rewire.edge_zscores)
    check([("method", str(edge.method), py["method"]), ("threads", edge.threads, py["threads"])])
    assert edge.max_lag == -1 and py["max_lag"] is None  # -1 in C++ is None in Python: floor(sqrt(T))


def test_connectivity_measure_keeps_nilearns_defaults():
    ours, theirs = python_defaults(rewire.ConnectivityMeasure), python_defaults(NilearnConnectivityMeasure)
    for name in set(ours) & set(theirs):
        assert same(ours[name], theirs[name]), name
    check([("standardize", _core.EstimateOptions().standardize, ours["standardize"], theirs["standardize"])])


def test_tangent_defaults(monkeypatch, rng):
    """The geometric mean's settings are those nilearn's ConnectivityMeasure(kind="tangent") passes (read off
    the call it makes) and nilearn's default covariance estimator (Ledoit-Wolf)."""
    from nilearn.connectome import connectivity_matrices

    passed = {}
    real = connectivity_matrices._geometric_mean

    def spy(matrices, **kwargs):
        passed.update(kwargs)
        return real(matrices, **kwargs)

    monkeypatch.setattr(connectivity_matrices, "_geometric_mean", spy)
    measure = NilearnConnectivityMeasure(kind="tangent").fit([rng.standard_normal((30, 3)) for _ in range(3)])
    cpp = _core.TangentOptions()
    tangent, mean = python_defaults(rewire.Tangent), python_defaults(rewire.geometric_mean)
    check([
        ("estimator", str(cpp.estimator), tangent["estimator"]),
        ("max_iter", cpp.mean.max_iter, tangent["max_iter"], mean["max_iter"], passed["max_iter"]),
        ("tol", cpp.mean.tol, tangent["tol"], mean["tol"], passed["tol"]),
        ("threads", cpp.mean.threads, tangent["threads"], mean["threads"]),
    ])
    assert type(measure.cov_estimator_).__name__ == "LedoitWolf" and str(cpp.estimator) == "ledoit_wolf"


# ------------------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("test", [rs.maxt, rs.nbs, rs.tfnbs])
def test_permutation_defaults(test):
    shuffle, permutation, nbs = _core.ShuffleOptions(), _core.PermutationOptions(), _core.NbsOptions()
    py, verb = python_defaults(test), cli_defaults("stats")
    check([
        ("shuffles", shuffle.count, py["shuffles"], verb["shuffles"]),
        ("seed", shuffle.seed, py["seed"], verb["seed"]),
        ("whole_blocks", shuffle.whole_blocks, py["whole_blocks"], verb["whole_blocks"]),
        ("exhaustive", shuffle.exhaustive, py["exhaustive"]),
        ("tail", str(nbs.tail), py["tail"], verb["tail"], str(_core.TfnbsOptions().tail)),
        ("threads", permutation.threads, py["threads"], verb["threads"]),
    ])
    assert str(permutation.convention) == "rewire" and py["compat"] is None is verb["compat"]
    assert py["shuffle"] == verb["shuffle"] == "auto"  # sign flips or permutations, chosen from the design


def test_shuffles_nbs_tfnbs_defaults():
    shuffle, nbs, tfnbs = _core.ShuffleOptions(), _core.NbsOptions(), _core.TfnbsOptions()
    py = python_defaults(rs.shuffles)
    check([
        ("count", shuffle.count, py["count"]), ("seed", shuffle.seed, py["seed"]),
        ("kind", str(shuffle.kind), py["shuffle"]), ("exhaustive", shuffle.exhaustive, py["exhaustive"]),
        ("include_identity", shuffle.include_identity, py["include_identity"]),
    ])
    py, verb = python_defaults(rs.nbs), cli_defaults("stats")
    check([("measure", str(nbs.measure), py["measure"], verb["measure"])])
    assert math.isnan(nbs.threshold) and "threshold" not in py and verb["threshold"] is None  # no default
    assert str(nbs.scale) == "statistic" and py["threshold_kind"] == verb["threshold_kind"] == "t"
    py = python_defaults(rs.tfnbs)
    check([("dh", tfnbs.dh, py["dh"]), ("e", tfnbs.e, py["e"]), ("h", tfnbs.h, py["h"])])


# ------------------------------------------------------------------------------------------ delta


def test_delta_defaults():
    cpp = _core.DeltaOptions()
    py = python_defaults(rewire.delta)
    delta, stats = cli_defaults("delta"), cli_defaults("stats")
    check([(name, getattr(cpp, name), py[name], delta[name], stats[name]) for name in cpp.fields()])
    assert StudyOptions().tangent_reference == cpp.pre


# ------------------------------------------------------------------------------------------ study


def test_study_defaults():
    """StudyOptions is made of the bound structs; `rewire run`'s flags are StudyOptions' fields."""
    study, verb = StudyOptions(), cli_defaults("run")
    check([(name, getattr(study, name), verb[name]) for name in
           ("labels", "strategy", "estimator", "use_mask", "task", "space", "res", "max_mean_fd", "min_frames",
            "tangent_reference", "threads", "detrend", "low_pass", "high_pass", "standardize")])
    assert verb["kind"] == ",".join(study.kinds)
    check([("workers", DEFAULT_WORKERS, python_defaults(run_study)["workers"], verb["workers"])])
    check([("threads", _core.ExtractOptions().threads, study.threads)])


# ------------------------------------------------------------------------------- the bound structs


OPTIONS = [_core.CleanOptions, _core.ConfoundsOptions, _core.ExtractOptions, _core.CovarianceOptions,
           _core.EstimateOptions, _core.EdgeZOptions, _core.GeometricMeanOptions, _core.TangentOptions,
           _core.ShuffleOptions, _core.PermutationOptions, _core.NbsOptions, _core.TfnbsOptions, _core.DeltaOptions,
           _core.NiftiWriteOptions]


@pytest.mark.parametrize("kind", OPTIONS, ids=lambda k: k.__name__)
def test_bound_options_round_trip(kind):
    default = kind()
    text = repr(default)
    assert text.startswith(kind.__name__ + "(") and all(f"{name}=" in text for name in kind.fields())
    assert pickle.loads(pickle.dumps(default)) == default
    copy = default.copy()
    assert copy == default and copy is not default
    with pytest.raises(TypeError, match=f"{kind.__name__}.. got an unexpected keyword argument 'no_such_field'"):
        kind(no_such_field=1)
    if kind not in (_core.ShuffleOptions, _core.NbsOptions, _core.NiftiWriteOptions):
        kind().validate()  # the defaults are valid (ShuffleOptions: validate(subjects); NBS: no threshold)


def test_bound_options_set_by_name_and_validate():
    options = _core.CleanOptions(standardize="psc", filter="cosine", high_pass=0.01)
    assert str(options.standardize) == "psc" and options.standardize == _core.Standardize.psc
    changed = pickle.loads(pickle.dumps(options))
    assert changed == options and changed != _core.CleanOptions()
    with pytest.raises(ValueError, match=r"CleanOptions.standardize: .*'zscore_sample', 'zscore', 'psc'"):
        options.standardize = "zscores"
    with pytest.raises(TypeError, match="CleanOptions.detrend"):
        options.detrend = "yes please"
    with pytest.raises(ValueError, match="t_r must be > 0"):
        _core.CleanOptions(t_r=-1.0).validate()
    with pytest.raises(ValueError, match="threshold: the NBS primary threshold must be given"):
        _core.NbsOptions().validate()
    tangent = _core.TangentOptions()
    tangent.mean.max_iter = 7  # nested options are shared, not copied
    assert tangent.mean.max_iter == 7 and tangent != _core.TangentOptions()
    value = options.standardize
    options.standardize = "zscore"
    assert str(value) == "psc"  # a field read is a copy
    confounds = _core.ConfoundsOptions(strategy=["motion", "scrub"])
    assert [str(c) for c in confounds.strategy] == ["motion", "scrub"]


# -------------------------------------------------------------------------------------- versions


def test_version_is_the_extensions(capsys):
    assert rewire.__version__ == _core.__version__
    with pytest.raises(SystemExit) as done:
        cli.build_parser().parse_args(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"rewire {_core.__version__}"


# -------------------------------------------------------------------------------------- start-up


def test_import_and_the_parser_load_neither_numpy_nor_a_verb():
    """`import rewire` and building the command line's parser (what --help and --version do) import no
    numpy, pandas or verb module; the public names still all resolve on first use."""
    import subprocess
    import sys

    from conftest import REWIRE_PATH

    watched = ("numpy", "pandas", "scipy", "rewire.cli.extract", "rewire.cli.stats", "rewire.study.run",
               "rewire.images")
    code = ("import sys, rewire, rewire.cli\nrewire.__version__\nrewire.cli.build_parser().format_help()\n"
            f"print([m for m in {watched!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": REWIRE_PATH, "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "[]", done.stdout


def test_public_names_resolve_lazily():
    assert set(dir(rewire)) >= set(rewire.__all__)
    for name in rewire.__all__:
        assert getattr(rewire, name) is not None, name
    import importlib

    module = importlib.import_module("rewire.connectivity")  # the module does not replace the function
    assert rewire.connectivity is module.connectivity and callable(rewire.connectivity)
    assert rewire.stats.nbs is rs.nbs
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        rewire.no_such_name  # noqa: B018
