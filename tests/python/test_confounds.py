"""rewire.load_confounds against nilearn's load_confounds / load_confounds_strategy on the same files.

The files are nilearn's own test confounds (fMRIPrep 1.4 `*_desc-confounds_regressors.tsv` and 21.x
`*_desc-confounds_timeseries.tsv` with their JSON sidecars), laid out as fMRIPrep derivatives by nilearn's
testing helper, plus edited copies. Tolerance: every column agrees to 1e-10 relative to its largest
absolute value (columns reach 1e8, e.g. global_signal_power2), sample masks and column lists exactly.
"""
from __future__ import annotations

import inspect
import os
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from nilearn.interfaces import fmriprep
from nilearn.interfaces.fmriprep import load_confounds_utils
from nilearn.interfaces.fmriprep.load_confounds_scrub import optimize_scrub
from nilearn.interfaces.fmriprep.tests import _testing

import rewire
from rewire import _core
from rewire.confounds import PRESETS, find_confounds_file, keywords
from rewire.simulate import bids_paths, simulate_run

RTOL = 1e-10
MOTION = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]


def nilearn_load(*args, **kwargs):
    with warnings.catch_warnings():
        # nilearn warns and returns an empty sample mask where rewire raises (tested below).
        warnings.filterwarnings("ignore", message="All volumes were marked", category=RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return fmriprep.load_confounds(*args, **kwargs)


def nilearn_strategy(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="All volumes were marked", category=RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return fmriprep.load_confounds_strategy(*args, **kwargs)


def derivatives(base, version="1.4.x", image_type="regular"):
    """(image path, confounds TSV path) of a fake fMRIPrep run written by nilearn's test helper."""
    base.mkdir(parents=True, exist_ok=True)
    img, tsv = _testing.create_tmp_filepath(base, image_type=image_type, copy_confounds=True, copy_json=True,
                                            fmriprep_version=version)
    return img, str(tsv)


def assert_matches(load, theirs):
    """Calls rewire's `load` and compares with nilearn's result; where nilearn censors every frame (it
    warns and returns an empty sample mask), rewire must raise instead."""
    if theirs[1] is not None and theirs[1].size == 0:
        with pytest.raises(ValueError, match="frames would be censored"):
            load()
        return
    assert_same(load(), theirs)


def assert_same(ours, theirs):
    (c1, m1), (c2, m2) = ours, theirs
    if m2 is None:
        assert m1 is None
    else:
        assert m1 is not None and m1.dtype == np.int64
        np.testing.assert_array_equal(m1, m2)
    if c2 is None:
        assert c1 is None
        return
    assert list(c1.columns) == list(c2.columns)
    assert c1.shape == c2.shape
    assert c1.index.equals(c2.index)
    a = c1.to_numpy(dtype=np.float64)
    b = c2.to_numpy(dtype=np.float64)
    assert np.isfinite(a).all()
    scale = np.abs(b).max(axis=0, initial=0.0)
    np.testing.assert_array_less(np.abs(a - b).max(axis=0, initial=0.0), RTOL * scale + 1e-300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("fmriprep")
    return {version: derivatives(base / version.replace(".", ""), version) for version in ("1.4.x", "21.x.x")}


STRATEGIES = [
    {},
    *({"strategy": ("motion",), "motion": m} for m in ("basic", "power2", "derivatives", "full")),
    *({"strategy": ("wm_csf",), "wm_csf": m} for m in ("basic", "power2", "derivatives", "full")),
    *({"strategy": ("global_signal",), "global_signal": m} for m in ("basic", "power2", "derivatives", "full")),
    {"strategy": ("high_pass",)},
    {"strategy": ("motion", "wm_csf", "global_signal", "high_pass"), "demean": False},
    {"strategy": ("high_pass", "compcor")},
    *(
        {"strategy": ("high_pass", "compcor"), "compcor": c, "n_compcor": n}
        for c in ("anat_separated", "temporal", "temporal_anat_combined", "temporal_anat_separated")
        for n in ("all", 3)
    ),
    {"strategy": ("high_pass", "compcor", "motion"), "compcor": "anat_combined", "n_compcor": 500},
    {"strategy": ("motion", "scrub")},
    {"strategy": ("motion", "scrub"), "fd_threshold": 0.1, "std_dvars_threshold": 1.2, "scrub": 0},
    {"strategy": ("motion", "scrub"), "fd_threshold": 0.1, "std_dvars_threshold": 1.2, "scrub": 5},
    {"strategy": ("motion", "scrub"), "fd_threshold": 3.0, "std_dvars_threshold": 2.5, "scrub": 3},
    {"strategy": ("motion", "scrub", "wm_csf"), "fd_threshold": 3.0, "scrub": 5, "demean": False},
]


@pytest.mark.parametrize("version", ["1.4.x", "21.x.x"])
@pytest.mark.parametrize("kwargs", STRATEGIES, ids=lambda k: "-".join(f"{v}" for v in k.values()) or "default")
def test_strategies_match_nilearn(runs, version, kwargs):
    img, _ = runs[version]
    assert_matches(lambda: rewire.load_confounds(img, **kwargs), nilearn_load(img, **kwargs))


def test_ica_aroma(tmp_path, runs):
    img, _ = derivatives(tmp_path, image_type="ica_aroma")
    assert_same(rewire.load_confounds(img, strategy=("ica_aroma", "wm_csf")),
                nilearn_load(img, strategy=("ica_aroma", "wm_csf")))
    regular, _ = runs["1.4.x"]  # "basic" regresses the aroma_motion_* columns on the preprocessed image
    kwargs = {"strategy": ("ica_aroma", "motion"), "ica_aroma": "basic"}
    assert_same(rewire.load_confounds(regular, **kwargs), nilearn_load(regular, **kwargs))
    with pytest.raises(ValueError, match="desc-smoothAROMAnonaggr_bold"):  # "full" needs the aroma image
        rewire.load_confounds(regular, strategy=("ica_aroma",))
    # Only outlier columns selected: nilearn returns a T × 0 frame and the non-steady-state mask.
    ours = rewire.load_confounds(img, strategy=("ica_aroma",))
    assert ours[0].shape == (30, 0)
    assert_same(ours, nilearn_load(img, strategy=("ica_aroma",)))


def test_the_tsv_path_gives_what_the_image_gives(runs):
    img, tsv = runs["21.x.x"]
    assert find_confounds_file(img) == tsv
    for kwargs in ({}, {"strategy": ("high_pass", "compcor"), "compcor": "anat_separated", "n_compcor": 4}):
        assert_same(rewire.load_confounds(tsv, **kwargs), nilearn_load(img, **kwargs))


@pytest.mark.parametrize("preset,kwargs", [
    ("simple", {}),
    ("simple", {"global_signal": "full", "motion": "derivatives"}),
    ("scrubbing", {}),
    ("scrubbing", {"fd_threshold": 0.1, "std_dvars_threshold": 1.2, "scrub": 3, "global_signal": "basic"}),
    ("compcor", {}),
    ("compcor", {"compcor": "anat_separated", "n_compcor": 3, "demean": False}),
    ("compcor", {"compcor": "temporal_anat_combined"}),
])
@pytest.mark.parametrize("version", ["1.4.x", "21.x.x"])
def test_presets_match_load_confounds_strategy(runs, preset, kwargs, version):
    img, _ = runs[version]
    theirs = nilearn_strategy(img, preset, **kwargs)
    assert_matches(lambda: rewire.load_confounds(img, preset, **kwargs), theirs)
    assert_matches(lambda: rewire.load_confounds_strategy(img, preset, **kwargs), theirs)


def test_demeaning_large_values_takes_sklearns_second_pass(tmp_path, runs):
    # Without censoring nilearn demeans with sklearn's scale(), which subtracts the mean again (and
    # warns) when the first pass leaves more than 1e-8; rewire repeats that second pass.
    img, tsv = runs["1.4.x"]

    def huge(table):
        table["csf"] = 3e12 + 1e4 * np.sin(np.arange(len(table)) * 0.7)
        table["white_matter"] = -7.77e11 + np.arange(len(table)) * 1234.5678
        return table.drop(columns=[c for c in table.columns if "non_steady_state" in c])

    folder = tmp_path / "huge"
    edited_copy(folder, tsv, huge)
    image = folder / os.path.basename(img)
    image.touch()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        theirs = nilearn_load(str(image), strategy=("wm_csf",))
    assert any("Numerical issues" in str(w.message) for w in caught)  # the second pass did happen
    assert theirs[1] is None
    assert_same(rewire.load_confounds(str(image), strategy=("wm_csf",)), theirs)


def test_ica_aroma_preset(tmp_path):
    img, _ = derivatives(tmp_path, image_type="ica_aroma")
    assert_same(rewire.load_confounds(img, "ica_aroma", wm_csf="full"),
                nilearn_strategy(img, "ica_aroma", wm_csf="full"))


def test_preset_warns_about_parameters_it_does_not_take(runs):
    img, _ = runs["1.4.x"]
    with pytest.warns(UserWarning, match=r"not needed for the selected strategy 'simple': \['n_compcor'\]"):
        ours = rewire.load_confounds_strategy(img, "simple", n_compcor=3)
    assert_same(ours, nilearn_strategy(img, "simple"))
    # Through load_confounds, a parameter given explicitly counts even when it equals nilearn's default.
    with pytest.warns(UserWarning, match=r"'24P': \['wm_csf'\]"):
        rewire.load_confounds(img, "24P", wm_csf="basic")
    scrubbing = rewire.load_confounds(img, "scrubbing", wm_csf="basic")[0]
    assert "csf_power2" not in scrubbing.columns and "csf" in scrubbing.columns


XCPD = {
    "24P": dict(strategy=("motion",), motion="full"),
    "27P": dict(strategy=("motion", "wm_csf", "global_signal"), motion="full", wm_csf="basic", global_signal="basic"),
    "36P": dict(strategy=("motion", "wm_csf", "global_signal"), motion="full", wm_csf="full", global_signal="full"),
    "acompcor": dict(strategy=("high_pass", "motion", "compcor"), motion="derivatives", compcor="anat_separated",
                     n_compcor=5),
    "acompcor_gsr": dict(strategy=("high_pass", "motion", "compcor", "wm_csf", "global_signal"),
                         motion="derivatives", compcor="anat_separated", n_compcor=5, wm_csf="basic",
                         global_signal="basic"),
}


@pytest.mark.parametrize("name", sorted(XCPD))
def test_xcpd_models_are_the_documented_nilearn_strategies(runs, name):
    img, tsv = runs["1.4.x"]
    confounds, mask = rewire.load_confounds(img, name)
    assert_same((confounds, mask), nilearn_load(img, **XCPD[name]))
    count = {"24P": 24, "27P": 27, "36P": 36}.get(name)
    if count is not None:
        assert confounds.shape[1] == count
    else:  # 12 motion terms, 5 WM + 5 CSF components, the cosines (+ 3 mean signals for _gsr)
        cosines = [c for c in pd.read_csv(tsv, sep="\t").columns if c.startswith("cosine")]
        assert confounds.shape[1] == 12 + 10 + len(cosines) + (3 if name.endswith("gsr") else 0)
        meta = pd.read_json(tsv.replace(".tsv", ".json"))
        masks = [meta[c]["Mask"] for c in confounds.columns if c.startswith("a_comp_cor")]
        assert masks.count("WM") == 5 and masks.count("CSF") == 5


def test_scrub_computes_framewise_displacement_when_the_column_is_missing(tmp_path, runs):
    img, tsv = runs["21.x.x"]
    table = pd.read_csv(tsv, sep="\t")
    np.testing.assert_allclose(rewire.framewise_displacement(table)[1:], table["framewise_displacement"][1:],
                               rtol=1e-9, atol=1e-12)
    assert np.isnan(rewire.framewise_displacement(table)[0])
    stripped = tmp_path / "sub-01_task-rest_desc-confounds_timeseries.tsv"
    table.drop(columns="framewise_displacement").to_csv(stripped, sep="\t", index=False, na_rep="n/a")
    for kwargs in ({"fd_threshold": 3.0, "std_dvars_threshold": 10.0, "scrub": 0},
                   {"fd_threshold": 3.0, "std_dvars_threshold": 2.5, "scrub": 5}):
        ours = rewire.load_confounds(str(stripped), ("motion", "scrub"), **kwargs)
        theirs = nilearn_load(img, ("motion", "scrub"), **kwargs)
        assert theirs[1] is not None and len(theirs[1]) < 30  # the thresholds do censor frames
        assert_same(ours, theirs)


def test_framewise_displacement_is_powers_formula(rng):
    motion = np.cumsum(rng.normal(0, [0.1, 0.1, 0.1, 0.002, 0.002, 0.002], (50, 6)), axis=0)
    step = np.abs(np.diff(motion, axis=0))  # nipype FramewiseDisplacement, parameter_source="SPM"
    step[:, 3:] *= 50.0
    expected = np.concatenate([[np.nan], step.sum(axis=1)])
    np.testing.assert_allclose(rewire.framewise_displacement(motion), expected, rtol=1e-13, atol=0)
    np.testing.assert_allclose(rewire.framewise_displacement(motion, radius=80.0)[1:],
                               (np.abs(np.diff(motion[:, :3], axis=0)).sum(1)
                                + 80.0 * np.abs(np.diff(motion[:, 3:], axis=0)).sum(1)), rtol=1e-13)
    with pytest.raises(ValueError, match="T × 6"):
        rewire.framewise_displacement(motion[:, :3])


def test_segment_rule_matches_nilearns_optimize_scrub():
    rng = np.random.default_rng(3)
    for _ in range(300):
        frames = int(rng.integers(5, 60))
        outliers = np.unique(rng.integers(0, frames, int(rng.integers(1, 8))))
        scrub = int(rng.integers(1, 8))
        expected = optimize_scrub(outliers, frames, scrub)
        assert _core.scrub_segments(outliers.tolist(), frames, scrub) == expected.tolist()


@pytest.mark.parametrize("image_type", ["regular", "res", "native", "cifti", "den", "part", "gifti"])
def test_confounds_file_found_as_nilearn_finds_it(tmp_path, image_type):
    img, tsv = derivatives(tmp_path, version="21.x.x", image_type=image_type)
    flag_single = isinstance(img, str)
    theirs = load_confounds_utils.get_confounds_file(img, flag_full_aroma=False, flag_tedana=False)
    assert os.path.samefile(find_confounds_file(img if flag_single else img[0]), theirs)
    assert_same(rewire.load_confounds(img), nilearn_load(img))


def test_old_regressors_name_and_several_runs(tmp_path):
    old, _ = derivatives(tmp_path / "a", version="1.2.x")
    new, _ = derivatives(tmp_path / "b", version="21.x.x")
    assert find_confounds_file(old).endswith("_desc-confounds_regressors.tsv")
    ours = rewire.load_confounds([old, new], strategy=("motion", "wm_csf"))
    theirs = nilearn_load([old, new], strategy=("motion", "wm_csf"))
    assert isinstance(ours[0], list) and len(ours[0]) == 2
    for k in range(2):
        assert_same((ours[0][k], ours[1][k]), (theirs[0][k], theirs[1][k]))
    assert_same(rewire.load_confounds([old]), nilearn_load([old]))  # a one-element list is one run


def test_empty_strategy_warns_and_returns_only_the_mask(runs):
    img, _ = runs["21.x.x"]
    with pytest.warns(UserWarning, match="strategy is empty"):
        ours = rewire.load_confounds(img, strategy=())
    with pytest.warns(UserWarning, match="strategy is empty"):
        theirs = nilearn_load(img, strategy=())
    assert_same(ours, theirs)
    assert ours[1] is not None and ours[1][0] == 3  # fMRIPrep flagged 3 non-steady-state volumes


def test_signature_and_defaults_are_nilearns():
    theirs = inspect.signature(fmriprep.load_confounds).parameters
    ours = inspect.signature(rewire.load_confounds).parameters
    assert list(ours) == list(theirs)
    for name, p in theirs.items():
        assert ours[name].default == p.default, name
    cpp = keywords(_core.ConfoundsOptions())
    for name, value in cpp.items():
        assert value == ours[name].default, name
    assert PRESETS[:4] == ("simple", "scrubbing", "compcor", "ica_aroma")


# ---------------------------------------------------------------------------------------------------
# Bad input: clear errors naming the file and the column.


def edited_copy(folder, tsv, edit):
    table = pd.read_csv(tsv, sep="\t")
    table = edit(table) if edit is not None else table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / os.path.basename(tsv)
    table.to_csv(path, sep="\t", index=False, na_rep="n/a")
    json_path = tsv.replace(".tsv", ".json")
    shutil.copy(json_path, str(path).replace(".tsv", ".json"))
    return str(path)


def test_missing_confounds_file(tmp_path):
    absent = str(tmp_path / "sub-01_desc-confounds_timeseries.tsv")
    with pytest.raises(OSError, match="sub-01_desc-confounds_timeseries.tsv.*no such file"):
        rewire.load_confounds(absent)
    bold = tmp_path / "sub-01_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz"
    bold.touch()
    with pytest.raises(OSError, match="no confounds file beside it"):
        rewire.load_confounds(str(bold))
    with pytest.raises(ValueError, match="unsupported input"):
        rewire.load_confounds(str(tmp_path / "sub-01_bold.nii"))


def test_nan_beyond_the_first_row(tmp_path, runs):
    def poke(table):
        table.loc[5, "csf"] = np.nan
        return table

    path = edited_copy(tmp_path, runs["21.x.x"][1], poke)
    with pytest.raises(ValueError, match=r"timeseries.tsv: column 'csf' is n/a at frame 5"):
        rewire.load_confounds(path)
    rewire.load_confounds(path, strategy=("motion",))  # a column nobody selected may hold n/a


def test_strategy_columns_missing(tmp_path, runs):
    path = edited_copy(tmp_path, runs["21.x.x"][1],
                       lambda t: t.drop(columns=["rot_z_power2", "white_matter", "std_dvars"]))
    with pytest.raises(ValueError) as error:
        rewire.load_confounds(path)
    message = str(error.value)
    assert path in message and "motion (full): rot_z_power2" in message and "wm_csf (basic): white_matter" in message
    with pytest.raises(ValueError, match="scrub: std_dvars"):
        rewire.load_confounds(path, strategy=("scrub",))
    with pytest.raises(ValueError, match=r"global_signal \(basic\)"):
        rewire.load_confounds(edited_copy(tmp_path / "b", path, lambda t: t.drop(columns=["global_signal"])),
                              strategy=("global_signal",))


def test_non_numeric_columns(tmp_path, runs):
    def poke(table):
        table["csf"] = table["csf"].astype(object)
        table.loc[3, "csf"] = "abc"
        table["site"] = "scannerA"
        return table

    path = edited_copy(tmp_path, runs["21.x.x"][1], poke)
    with pytest.raises(ValueError, match=r"column 'csf' is not numeric \(frame 3, line 5: 'abc'\)"):
        rewire.load_confounds(path)
    confounds, _ = rewire.load_confounds(path, strategy=("motion",))  # 'site' is never selected
    assert confounds.shape == (30, 24)


def test_unknown_strategy_names(runs):
    img, _ = runs["1.4.x"]
    with pytest.raises(ValueError, match=r"'strategy' must be one of 'motion', 'high_pass'.*got 'motions'"):
        rewire.load_confounds(img, strategy=("motions",))
    with pytest.raises(ValueError, match=r"unknown denoising strategy '37P'.*'simple'.*'36P'.*'acompcor_gsr'"):
        rewire.load_confounds(img, "37P")
    with pytest.raises(ValueError, match="'motion' must be one of 'basic', 'power2', 'derivatives', 'full'"):
        rewire.load_confounds(img, motion="quadratic")
    rewire.load_confounds(img, strategy=("wm_csf",), motion="quadratic")  # ignored, as nilearn ignores it
    with pytest.raises(ValueError, match="tedana.*not supported"):
        rewire.load_confounds(img, strategy=("tedana",))
    with pytest.raises(ValueError, match="high_pass must be included"):
        rewire.load_confounds(img, strategy=("compcor",))
    with pytest.raises(ValueError, match="n_compcor must be 'all' or a positive integer"):
        rewire.load_confounds(img, strategy=("high_pass", "compcor"), n_compcor=0)
    with pytest.raises(ValueError, match="tuple or list of strings"):
        rewire.load_confounds(img, strategy=3)


def test_compcor_needs_the_sidecar(tmp_path, runs):
    path = edited_copy(tmp_path, runs["1.4.x"][1], None)
    os.remove(path.replace(".tsv", ".json"))
    with pytest.raises(OSError, match=r"\.json: no JSON sidecar"):
        rewire.load_confounds(path, strategy=("high_pass", "compcor"))
    rewire.load_confounds(path)  # other strategies do not need it


def test_every_frame_censored(runs):
    img, _ = runs["21.x.x"]
    with pytest.raises(ValueError, match="every one of the 30 frames would be censored"):
        rewire.load_confounds(img, strategy=("scrub",), fd_threshold=0.0, std_dvars_threshold=0.0)


# ---------------------------------------------------------------------------------------------------
# rewire's own simulator: its confounds TSV goes through the same path.


def test_simulated_run_matches_nilearn(tmp_path):
    paths = bids_paths(str(tmp_path), "sub-01", "pre", 4)
    os.makedirs(os.path.dirname(paths["bold"]))
    simulate_run(paths["bold"], timepoints=24, tr=2.0, resolution=4, seed=5, confounds_path=paths["confounds"])
    for kwargs in ({"strategy": ("motion", "wm_csf", "global_signal"), "global_signal": "full"},
                   {"strategy": ("motion", "scrub"), "fd_threshold": 0.3, "scrub": 0}):
        assert_same(rewire.load_confounds(paths["bold"], **kwargs), nilearn_load(paths["bold"], **kwargs))


# ---------------------------------------------------------------------------------------------------
# One rule for the confounds file beside an image: nilearn's, in C++, used by load_confounds
# (find_confounds_file) and by BIDS discovery (rewire.study.bids), checked against nilearn's own finder
# (load_confounds_utils._get_file_name) on the same folders.

MNI = "space-MNI152NLin2009cAsym"
FINDER_CASES = {
    # name: (image, other files in its folder, what nilearn finds: "one", "none" or "several")
    "timeseries": (f"sub-01_task-rest_{MNI}_desc-preproc_bold.nii.gz",
                   ["sub-01_task-rest_desc-confounds_timeseries.tsv"], "one"),
    "regressors (fMRIPrep < 20.2)": (f"sub-01_task-rest_{MNI}_desc-preproc_bold.nii.gz",
                                     ["sub-01_task-rest_desc-confounds_regressors.tsv"], "one"),
    "timeseries and regressors": (f"sub-01_task-rest_{MNI}_desc-preproc_bold.nii.gz",
                                  ["sub-01_task-rest_desc-confounds_timeseries.tsv",
                                   "sub-01_task-rest_desc-confounds_regressors.tsv"], "several"),
    "space and res": (f"sub-01_ses-pre_task-rest_acq-mb4_run-2_{MNI}_res-2_desc-preproc_bold.nii.gz",
                      ["sub-01_ses-pre_task-rest_acq-mb4_run-2_desc-confounds_timeseries.tsv",
                       "sub-01_ses-pre_task-rest_acq-mb4_run-1_desc-confounds_timeseries.tsv"], "one"),
    "native space": ("sub-01_task-rest_run-1_desc-preproc_bold.nii.gz",
                     ["sub-01_task-rest_run-1_desc-confounds_timeseries.tsv",
                      "sub-01_task-rest_run-2_desc-confounds_timeseries.tsv"], "one"),
    "echo in the image only": (f"sub-01_task-rest_echo-2_{MNI}_desc-preproc_bold.nii.gz",
                               ["sub-01_task-rest_desc-confounds_timeseries.tsv"], "one"),
    "echo in both": (f"sub-01_task-rest_echo-2_{MNI}_desc-preproc_bold.nii.gz",
                     ["sub-01_task-rest_echo-2_desc-confounds_timeseries.tsv",
                      "sub-01_task-rest_echo-1_desc-confounds_timeseries.tsv"], "one"),
    "dir, rec, ce": (f"sub-01_task-rest_ce-gad_dir-PA_rec-norm_run-01_{MNI}_desc-preproc_bold.nii.gz",
                     ["sub-01_task-rest_ce-gad_dir-PA_rec-norm_run-01_desc-confounds_timeseries.tsv",
                      "sub-01_task-rest_ce-gad_dir-AP_rec-norm_run-01_desc-confounds_timeseries.tsv"], "one"),
    "cohort": (f"sub-01_cohort-2_task-rest_{MNI}_desc-preproc_bold.nii.gz",
               ["sub-01_cohort-2_task-rest_desc-confounds_timeseries.tsv"], "one"),
    "with and without run": ("sub-01_task-rest_run-1_desc-preproc_bold.nii.gz",
                             ["sub-01_task-rest_run-1_desc-confounds_timeseries.tsv",
                              "sub-01_task-rest_desc-confounds_timeseries.tsv"], "several"),
    "other task only": (f"sub-01_task-rest_{MNI}_desc-preproc_bold.nii.gz",
                        ["sub-01_task-motor_desc-confounds_timeseries.tsv"], "none"),
    "none": (f"sub-01_task-rest_{MNI}_desc-preproc_bold.nii.gz", [], "none"),
    "cifti": ("sub-01_task-rest_space-fsLR_den-91k_bold.dtseries.nii",
              ["sub-01_task-rest_desc-confounds_timeseries.tsv"], "one"),
    "gifti": ("sub-01_task-rest_hemi-L_space-fsaverage5_bold.func.gii",
              ["sub-01_task-rest_desc-confounds_timeseries.tsv"], "one"),
    "uncompressed NIfTI": (f"sub-01_task-rest_{MNI}_desc-preproc_bold.nii",
                           ["sub-01_task-rest_desc-confounds_timeseries.tsv"], "one"),
}


def nilearn_finds(image):
    """nilearn's search (without its image-name check): ("one", path), ("none", None) or ("several", None)."""
    try:
        return "one", load_confounds_utils._get_file_name(image)
    except ValueError as error:
        return ("several" if "more than one" in str(error) else "none"), None


def rewire_finds(find, image):
    """The same outcome from one of rewire's finders."""
    try:
        found = find(image)
    except ValueError as error:
        assert "more than one confounds file" in str(error) and image in str(error)
        return "several", None
    except OSError as error:
        assert "no confounds file" in str(error) and image in str(error)
        return "none", None
    return ("one", found) if found is not None else ("none", None)


def same_outcome(ours, theirs):
    return ours[0] == theirs[0] and (ours[1] is None or os.path.samefile(ours[1], theirs[1]))


@pytest.mark.parametrize("case", list(FINDER_CASES))
def test_confounds_file_rule_is_nilearns(tmp_path, case):
    from rewire.study.bids import discover

    image_name, others, expected = FINDER_CASES[case]
    func = tmp_path / "sub-01" / "func"
    func.mkdir(parents=True)
    for name in [image_name, *others]:
        (func / name).write_text("")
    image = str(func / image_name)
    theirs = nilearn_finds(image)
    assert theirs[0] == expected
    # The search alone, as BIDS discovery uses it.
    assert same_outcome(rewire_finds(_core.confounds_file_beside, image), theirs)
    # load_confounds' finder: nilearn's image-name check, then the same search.
    try:
        load_confounds_utils._check_images(image, False, False)
    except ValueError:
        with pytest.raises(ValueError, match="unsupported input|invalid file type"):
            find_confounds_file(image)
    else:
        assert same_outcome(rewire_finds(find_confounds_file, image), theirs)
    # BIDS discovery gives a run the file load_confounds reads, None, or refuses an ambiguous folder.
    if image_name.endswith(("_desc-preproc_bold.nii.gz", "_desc-preproc_bold.nii")):
        if expected == "several":
            with pytest.raises(ValueError, match="more than one confounds file"):
                discover(str(tmp_path))
        else:
            (run,) = discover(str(tmp_path)).runs
            assert (run.confounds is None) == (expected == "none")
            if run.confounds is not None:
                assert os.path.samefile(run.confounds, theirs[1])
