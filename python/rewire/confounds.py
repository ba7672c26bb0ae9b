"""fMRIPrep confounds with nilearn's ``load_confounds`` strategies.

The reading, column selection, framewise displacement and scrubbing run in C++
(``include/rewire/io/confounds.hpp``, so C++ pipelines get the same strategies); this module only
checks the Python arguments the way nilearn does and builds the pandas DataFrame.

Results equal nilearn 0.14's ``nilearn.interfaces.fmriprep.load_confounds`` and
``load_confounds_strategy`` on the same files: the same columns in the same (sorted) order, the same
values, the same ``sample_mask``. Where nilearn would crash or return NaN, rewire raises instead:

- a column a strategy needs is missing, or not numeric → ``ValueError`` naming the file and the columns;
- a selected column is n/a beyond its first row → ``ValueError`` naming the column and the frame;
- every frame would be censored → ``ValueError`` (nilearn warns and returns an empty mask);
- scrubbing without a ``framewise_displacement`` column computes it from the six motion parameters
  (Power 2012, 50 mm radius), as fMRIPrep does;
- a missing confounds file, or a missing JSON sidecar for CompCor → ``OSError``.

Besides nilearn's presets (``simple``, ``scrubbing``, ``compcor``, ``ica_aroma``) the strategy may name
one of XCP-D's nuisance models, mapped onto nilearn's components as XCP-D's
``xcp_d/data/nuisance/*.yml`` list their columns:

===============  =========================================================================
``24P``          motion="full"
``27P``          motion="full", wm_csf="basic", global_signal="basic"
``36P``          motion="full", wm_csf="full", global_signal="full"
``acompcor``     high_pass, motion="derivatives", compcor="anat_separated", n_compcor=5
``acompcor_gsr`` ``acompcor`` + wm_csf="basic" + global_signal="basic"
===============  =========================================================================

XCP-D presets accept only ``demean``; spell the strategy out for other variants (for instance
``("motion", "wm_csf", "global_signal", "scrub")`` with ``"full"`` models for 36P with scrubbing).
"""
from __future__ import annotations

import inspect
import os
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np
import pandas as pd

from . import _core

__all__ = ["PRESETS", "find_confounds_file", "framewise_displacement", "load_confounds", "load_confounds_strategy"]

#: Names accepted as a string ``strategy``: nilearn's presets, then XCP-D's nuisance models.
PRESETS: Tuple[str, ...] = tuple(_core.confounds_presets())


#: The defaults of load_confounds (C++ ConfoundsOptions, which has nilearn 0.14's).
_CONFOUNDS = _core.ConfoundsOptions()
#: Parameters named after their component, read only when it is in the strategy (as nilearn does).
_MODELS = ("motion", "wm_csf", "global_signal", "compcor", "ica_aroma")


def keywords(options: "_core.ConfoundsOptions") -> Dict[str, Any]:
    """ConfoundsOptions as nilearn's load_confounds keyword values (``n_compcor`` -1 is ``"all"``)."""
    values: Dict[str, Any] = {name: getattr(options, name) for name in options.fields()}
    values["strategy"] = tuple(str(component) for component in options.strategy)
    for name in _MODELS:
        values[name] = str(values[name])
    values["n_compcor"] = "all" if options.n_compcor < 0 else int(options.n_compcor)
    return values


_KEYWORDS = keywords(_CONFOUNDS)


def _load_confounds_signature(
    img_files,
    strategy=_KEYWORDS["strategy"],
    motion=_KEYWORDS["motion"],
    scrub=_KEYWORDS["scrub"],
    fd_threshold=_KEYWORDS["fd_threshold"],
    std_dvars_threshold=_KEYWORDS["std_dvars_threshold"],
    wm_csf=_KEYWORDS["wm_csf"],
    global_signal=_KEYWORDS["global_signal"],
    compcor=_KEYWORDS["compcor"],
    n_compcor=_KEYWORDS["n_compcor"],
    ica_aroma=_KEYWORDS["ica_aroma"],
    tedana="aggressive",  # nilearn's; accepted for compatibility, the "tedana" strategy is not supported
    demean=_KEYWORDS["demean"],
):
    """nilearn 0.14.1's load_confounds signature, its defaults read from C++ ConfoundsOptions."""


_SIGNATURE = inspect.signature(_load_confounds_signature)
_DEFAULTS: Dict[str, Any] = {
    name: p.default for name, p in _SIGNATURE.parameters.items() if p.default is not inspect.Parameter.empty
}


def load_confounds(*args, **kwargs):
    """Confounds of fMRIPrep runs, as nilearn's ``load_confounds``.

    Parameters (names and defaults are nilearn's)
    ----------------------------------------------
    img_files : str or path, or a list of them
        An fMRIPrep image (``*_desc-preproc_bold.nii.gz``, ``*_bold.dtseries.nii``, a pair of
        ``*_hemi-L/R_bold.func.gii``) beside which the confounds TSV is found by nilearn's rules, or the
        confounds ``*_desc-confounds_timeseries.tsv`` (``*_regressors.tsv``) itself. A list gives lists.
    strategy : tuple of str, or str
        Components: "motion", "high_pass", "wm_csf", "global_signal", "compcor" (needs "high_pass"),
        "ica_aroma", "scrub" ("non_steady_state" is always applied). A string names a preset
        (:data:`PRESETS`): its defaults apply and only its tunable parameters may be given, as
        nilearn's ``load_confounds_strategy``.
    motion, wm_csf, global_signal : {"basic", "power2", "derivatives", "full"}
        Expansion: x; x, x²; x, x′; x, x′, x², x′².
    scrub : int, default=5
        Minimal length of kept segments (Power 2014); 0 censors only the frames over the thresholds.
    fd_threshold : float, default=0.5
        Framewise displacement threshold (mm) for scrub.
    std_dvars_threshold : float, default=1.5
        Standardized DVARS threshold for scrub.
    compcor : {"anat_combined", "anat_separated", "temporal", "temporal_anat_combined", \
"temporal_anat_separated"}
    n_compcor : "all" or int
        Components kept (per mask when separated).
    ica_aroma : {"full", "basic"}
        "full": the image is fMRIPrep's desc-smoothAROMAnonaggr_bold, no regressors; "basic": the
        aroma_motion_* noise components.
    tedana : str
        Accepted for nilearn compatibility; the "tedana" strategy is not supported.
    demean : bool, default=True
        Subtract each column's mean (over the kept frames when frames are censored).

    Returns
    -------
    confounds : pandas.DataFrame (T, K), or None when the strategy is empty
        Columns sorted by name, float64.
    sample_mask : numpy.ndarray of kept frame indices, or None when no frame is censored
    """
    bound = _SIGNATURE.bind(*args, **kwargs)
    given = {k: v for k, v in bound.arguments.items() if k not in ("img_files", "strategy")}
    bound.apply_defaults()
    params = dict(bound.arguments)
    img_files = params.pop("img_files")
    strategy = params.pop("strategy")
    if isinstance(strategy, str):
        params = _preset_parameters(strategy, given)
        strategy = params.pop("strategy")
    return _load(img_files, strategy, params)


load_confounds.__signature__ = _SIGNATURE  # type: ignore[attr-defined]


def load_confounds_strategy(img_files, denoise_strategy: str = "simple", **kwargs):
    """nilearn's ``load_confounds_strategy``: a preset (nilearn's "simple", "scrubbing", "compcor",
    "ica_aroma", or XCP-D's "24P", "27P", "36P", "acompcor", "acompcor_gsr") with its defaults; only
    the preset's tunable parameters are taken from ``kwargs`` (others warn). For nilearn's presets a
    string ``global_signal`` adds the global signal. Returns ``(confounds, sample_mask)``."""
    params = _preset_parameters(denoise_strategy, dict(kwargs))
    strategy = params.pop("strategy")
    return _load(img_files, strategy, params)


def framewise_displacement(motion, radius: float = 50.0) -> np.ndarray:
    """Framewise displacement (Power 2012) of motion parameters: a DataFrame with fMRIPrep's columns
    trans_x, trans_y, trans_z, rot_x, rot_y, rot_z, or a (T, 6) array in that order (mm, radians).
    Returns T values, the first NaN (fMRIPrep writes n/a)."""
    if isinstance(motion, pd.DataFrame):
        motion = motion[["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]]
    return _core.framewise_displacement(np.asarray(motion, dtype=np.float64), float(radius))


def find_confounds_file(img_file, full_aroma: bool = False) -> str:
    """The confounds TSV beside an fMRIPrep image, found by nilearn's rules (in C++; BIDS discovery,
    ``rewire.study.bids``, finds a run's confounds with the same search)."""
    return _core.find_confounds_file(os.fspath(img_file), bool(full_aroma))


# ---------------------------------------------------------------------------------------------------


def _preset_parameters(name: str, given: Dict[str, Any]) -> Dict[str, Any]:
    """nilearn's load_confounds_strategy._update_user_inputs over rewire's presets."""
    preset = _core.confounds_preset(str(name))
    params = dict(_DEFAULTS)
    params.update(keywords(preset.options))
    tunable = list(preset.tunable)
    for key in tunable:
        value = given.pop(key, None)
        if value is not None:
            params[key] = value
        if key == "global_signal" and isinstance(value, str):
            params["strategy"] += ("global_signal",)
    if given:
        warnings.warn(
            f"The following parameters are not needed for the selected strategy '{name}': {list(given)}; "
            f"parameters accepted: {tunable}",
            UserWarning,
            stacklevel=3,
        )
    return params


def _check_strategy(strategy) -> None:
    if not isinstance(strategy, (tuple, list)):
        raise ValueError(
            "strategy needs to be a tuple or list of strings, or the name of a preset "
            f"({', '.join(PRESETS)}). A {strategy.__class__.__name__} was provided instead."
        )
    if len(strategy) == 0:
        warnings.warn("strategy is empty, confounds will return None.", UserWarning, stacklevel=4)
    if "non_steady_state" in strategy:
        warnings.warn(
            "Non-steady state volumes are always detected. It doesn't need to be supplied as part of the "
            "strategy. Supplying non_steady_state in strategy will not have additional effect.",
            UserWarning,
            stacklevel=4,
        )


def _n_compcor(value) -> int:
    if isinstance(value, str) and value == "all":
        return -1
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise ValueError(f"n_compcor must be 'all' or a positive integer, got {value!r}")


def _files(img_files):
    """nilearn's sanitize_confounds: (list of runs, whether a single run was given)."""
    if isinstance(img_files, (str, os.PathLike)):
        return [img_files], True
    img_files = list(img_files)
    if len(img_files) == 1:
        return img_files, True
    if len(img_files) == 2 and all(
        isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith(".func.gii") for f in img_files
    ):
        return [img_files], True  # a left/right GIFTI pair is one run
    return img_files, False


def _load_one(img_file, strategy, params) -> Tuple[Optional[pd.DataFrame], Optional[np.ndarray]]:
    if isinstance(img_file, (list, tuple)):  # GIFTI pair: both names must be valid, the first finds the TSV
        for hemi in img_file[1:]:
            _core.find_confounds_file(os.fspath(hemi), False)
        img_file = img_file[0]
    result = _core.load_confounds(os.fspath(img_file), _options(strategy, params))
    if result.selected_any:
        confounds = pd.DataFrame(np.array(result.values), columns=list(result.names))
    else:
        confounds = pd.DataFrame()  # nilearn's result when nothing at all was selected
    sample_mask = np.asarray(result.sample_mask, dtype=np.int64) if result.censored else None
    return confounds, sample_mask


def _options(strategy, params) -> "_core.ConfoundsOptions":
    """ConfoundsOptions from nilearn's keyword values. As nilearn, the parameters of a component are read
    only when the component is in the strategy; a bad value raises ValueError naming the parameter."""
    # Unknown components raise ValueError from C++ (naming 'strategy' and the accepted ones).
    options = _core.ConfoundsOptions(strategy=[str(s) for s in strategy], demean=bool(params["demean"]))
    for name in _MODELS:
        if name in strategy:
            _set_model(options, name, str(params[name]))
    if "compcor" in strategy:
        options.n_compcor = _n_compcor(params["n_compcor"])
    if "scrub" in strategy:
        options.scrub = int(params["scrub"])
        options.fd_threshold = float(params["fd_threshold"])
        options.std_dvars_threshold = float(params["std_dvars_threshold"])
    return options


def _set_model(options, name: str, value: str) -> None:
    """Sets a component's parameter from nilearn's name; an unknown one raises ValueError naming the
    parameter and the accepted values, as nilearn."""
    labels = [str(member) for member in type(getattr(options, name)).__members__.values()]
    if value not in labels:
        accepted = ", ".join(f"'{label}'" for label in labels)
        raise ValueError(f"confounds: '{name}' must be one of {accepted}; got {value!r}")
    setattr(options, name, value)


def _load(img_files, strategy, params):
    _check_strategy(strategy)
    files, single = _files(img_files)
    confounds, masks = [], []
    for f in files:
        c, m = _load_one(f, strategy, params)
        confounds.append(c)
        masks.append(m)
    if len(strategy) == 0:
        return None, (masks[0] if single else masks)
    if single:
        return confounds[0], masks[0]
    return confounds, masks
