"""rewire.simulate: layout, fMRIPrep confounds, NIfTI contents, the synthetic atlas, determinism and the
planted effect.

References are independent of the simulator: nibabel reads the files, numpy recomputes FD, DVARS and
correlations, label tables (the synthetic atlas' dseg.tsv, mricron's AAL .txt) are parsed here.

The studies use the default atlas, the simulator's synthetic one (AAL names on a stylised brain, written
into the study); where the expectations used to be AAL's, they now follow from the synthetic atlas' own
files. One test keeps AAL through `--atlas`, as a user with Debian's mricron-data would run it.
"""
import json
import os

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.image import resample_img
from nilearn.interfaces.fmriprep import load_confounds

import rewire
from conftest import AAL, nilearn_quiet, run_cli
from rewire.simulate import (GROUPS, SESSIONS, SimulationOptions, bids_paths, mni_grid, simulate_run,
                             simulate_study, write_synthetic_atlas)


# Main study: large effect and 200 volumes so the planted change stands well clear of sampling noise.
EFFECT = 0.5
MAIN = dict(subjects=2, timepoints=200, resolution=4, effect=EFFECT, seed=7)
PLANTED = ["Amygdala_L", "Amygdala_R", "Frontal_Med_Orb_L", "Frontal_Med_Orb_R"]
# The synthetic atlas at 4 mm: what the simulator writes into every study by default.
ATLAS_4MM = "atlas/tpl-MNI152NLin2009cAsym_res-4_atlas-synthetic_dseg.nii.gz"
TABLE_4MM = "atlas/tpl-MNI152NLin2009cAsym_res-4_atlas-synthetic_dseg.tsv"
#: 34 cortical and 8 deep regions per hemisphere.
REGIONS = 84
# Small studies for the byte-level checks.
SMALL = dict(subjects=1, timepoints=30, resolution=4, effect=0.5, seed=3)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    truth = simulate_study(out, SimulationOptions(**MAIN))
    return str(out), truth


def run_paths(out, subject, session, resolution=4):
    return bids_paths(out, subject, session, resolution)


def all_files(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = read_bytes(path)
    return found


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def dseg_table(path):
    """{name: value} of a BIDS dseg.tsv label table."""
    table = pd.read_csv(path, sep="\t")
    assert list(table.columns) == ["index", "name"]
    return dict(zip(table["name"], table["index"].astype(int)))


def mricron_table(path):
    """{name: value} of a mricron label table (VALUE NAME [CODE] lines)."""
    values = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                values[parts[1]] = int(parts[0])
    return values


def test_mni_grids():
    shape, affine = mni_grid(2)
    assert shape == (91, 109, 91)
    np.testing.assert_array_equal(affine, [[-2, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    assert mni_grid(4)[0] == (46, 55, 46)
    shape, affine = mni_grid(3)
    assert all(n * 3 >= extent for n, extent in zip(shape, (182, 218, 182)))
    assert all((n - 1) * 3 < extent for n, extent in zip(shape, (182, 218, 182)))


def test_layout(study):
    out, truth = study
    ids = [f"sub-{i:02d}" for i in range(1, 5)]
    assert list(truth["subjects"]) == ids
    expected = {"participants.tsv", "participants.json", "dataset_description.json", "ground_truth.json",
                ATLAS_4MM, TABLE_4MM}
    for subject in ids:
        for session in SESSIONS:
            func = f"{subject}/ses-{session}/func/"
            stem = f"{subject}_ses-{session}_task-rest"
            expected |= {func + f"{stem}_space-MNI152NLin2009cAsym_res-4_desc-preproc_bold.nii.gz",
                         func + f"{stem}_space-MNI152NLin2009cAsym_res-4_desc-preproc_bold.json",
                         func + f"{stem}_space-MNI152NLin2009cAsym_res-4_desc-brain_mask.nii.gz",
                         func + f"{stem}_desc-confounds_timeseries.tsv",
                         func + f"{stem}_desc-confounds_timeseries.json"}
    assert set(all_files(out)) == expected
    sidecar = read_json(run_paths(out, "sub-01", "pre")["bold_json"])
    assert sidecar["RepetitionTime"] == 2.0 and sidecar["TaskName"] == "rest"
    description = read_json(os.path.join(out, "dataset_description.json"))
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "rewire simulate"
    assert description["GeneratedBy"][0]["Version"] == rewire.__version__
    assert description["GeneratedBy"][0]["Options"]["seed"] == MAIN["seed"]


def test_nifti_files_read_by_nibabel(study):
    out, truth = study
    shape, affine = mni_grid(4)
    paths = run_paths(out, "sub-03", "post")
    bold = nib.load(paths["bold"])
    assert bold.shape == shape + (MAIN["timepoints"],)
    np.testing.assert_allclose(bold.affine, affine)
    assert bold.header.get_zooms()[3] == pytest.approx(2.0)
    assert bold.get_data_dtype() == np.int16
    data = bold.get_fdata()
    np.testing.assert_array_equal(data, rewire.load_data(paths["bold"]))

    mask_image = nib.load(paths["mask"])
    assert mask_image.shape == shape and mask_image.get_data_dtype() == np.uint8
    np.testing.assert_allclose(mask_image.affine, affine)
    mask = np.asarray(mask_image.dataobj)
    assert set(np.unique(mask)) == {0, 1}
    atlas = nib.load(os.path.join(out, truth["atlas"]["image"]))  # on the BOLD grid itself
    np.testing.assert_array_equal(atlas.affine, affine)
    labels = np.asarray(atlas.dataobj)
    assert mask[labels > 0].all(), "every atlas voxel lies in the brain mask"
    assert (data[mask == 0] == 0).all(), "nothing outside the brain"
    inside = data[mask == 1]
    assert 900 < inside.mean() < 1100 and inside.min() > 0


def test_confounds_columns(study):
    out, _ = study
    table = pd.read_csv(run_paths(out, "sub-01", "pre")["confounds"], sep="\t", na_values="n/a",
                        keep_default_na=False)
    assert len(table) == MAIN["timepoints"]
    base = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z", "global_signal", "csf", "white_matter"]
    expanded = [name + suffix for name in base for suffix in ("_derivative1", "_power2", "_derivative1_power2")]
    with_na = [c for c in expanded if "derivative1" in c] + ["framewise_displacement", "dvars", "std_dvars"]
    compcor = [f"a_comp_cor_{i:02d}" for i in range(6)]
    assert set(base + expanded + compcor + ["framewise_displacement", "dvars", "std_dvars"]) <= set(table.columns)
    for column in table.columns:
        missing = table[column].isna().to_numpy()
        if column in with_na:
            assert missing[0] and not missing[1:].any(), column
        else:
            assert not missing.any(), column
    raw = read_bytes(run_paths(out, "sub-01", "pre")["confounds"]).decode().splitlines()
    header, first = raw[0].split("\t"), raw[1].split("\t")
    assert first[header.index("trans_x_derivative1")] == "n/a"

    # Values are written with 10 significant digits: a difference of two carries up to 2e-9 × |x|.
    for name in base:
        x = table[name].to_numpy()
        derivative = table[name + "_derivative1"].to_numpy()[1:]
        np.testing.assert_allclose(table[name + "_power2"], x ** 2, rtol=1e-8)
        np.testing.assert_allclose(derivative, np.diff(x), rtol=0, atol=2e-9 * np.abs(x).max())
        np.testing.assert_allclose(table[name + "_derivative1_power2"][1:], derivative ** 2, rtol=1e-8)


def test_framewise_displacement_is_power_2012(study):
    out, _ = study
    for subject, session in (("sub-01", "pre"), ("sub-04", "post")):
        table = pd.read_csv(run_paths(out, subject, session)["confounds"], sep="\t", na_values="n/a")
        trans = table[["trans_x", "trans_y", "trans_z"]].to_numpy()
        rot = table[["rot_x", "rot_y", "rot_z"]].to_numpy()
        fd = np.abs(np.diff(trans, axis=0)).sum(axis=1) + 50.0 * np.abs(np.diff(rot, axis=0)).sum(axis=1)
        np.testing.assert_allclose(table["framewise_displacement"][1:], fd, rtol=1e-8, atol=1e-9)
        # Smooth walks with at least one spike: typical FD is small, the spike stands out.
        assert np.median(fd) < 0.3 and fd.max() > 0.5


def test_dvars_and_global_signal_from_the_data(study):
    # nipype's ComputeDVARS on the written data, with the simulator's documented streaming shortcuts
    # (first-volume median for intensity normalisation, sample SD instead of IQR / 1.349).
    out, _ = study
    paths = run_paths(out, "sub-02", "pre")
    table = pd.read_csv(paths["confounds"], sep="\t", na_values="n/a")
    mask = np.asarray(nib.load(paths["mask"]).dataobj) > 0
    data = nib.load(paths["bold"]).get_fdata()[mask]          # V × T
    np.testing.assert_allclose(table["global_signal"], data.mean(axis=0), rtol=1e-9)
    scale = 1000.0 / np.median(data[:, 0])
    dvars = scale * np.sqrt(np.mean(np.diff(data, axis=1) ** 2, axis=0))
    np.testing.assert_allclose(table["dvars"][1:], dvars, rtol=1e-8)
    centred = data - data.mean(axis=1, keepdims=True)
    ar1 = (centred[:, 1:] * centred[:, :-1]).sum(axis=1) / (centred ** 2).sum(axis=1)
    expected = scale * np.mean(np.sqrt(2 * (1 - ar1)) * data.std(axis=1))
    np.testing.assert_allclose(table["std_dvars"][1:], dvars / expected, rtol=1e-6)


def test_a_comp_cor_and_cosines(study):
    out, _ = study
    paths = run_paths(out, "sub-03", "pre")
    table = pd.read_csv(paths["confounds"], sep="\t", na_values="n/a")
    components = table[[f"a_comp_cor_{i:02d}" for i in range(6)]].to_numpy()
    cosines = table[[c for c in table.columns if c.startswith("cosine")]].to_numpy()
    # 200 volumes × 2 s with a 128 s cut-off: floor(2 · 400 / 128) − 1 = 5 cosines (nipype's basis).
    n = MAIN["timepoints"]
    assert cosines.shape == (n, 5)
    np.testing.assert_allclose(cosines[:, 0], np.sqrt(2 / n) * np.cos(np.pi * (np.arange(n) + 0.5) / n), atol=1e-9)
    # Components are orthonormal and, having been high-passed, orthogonal to the constant and the cosines.
    np.testing.assert_allclose(components.T @ components, np.eye(6), atol=1e-6)
    np.testing.assert_allclose(components.mean(axis=0), 0.0, atol=1e-8)
    np.testing.assert_allclose(cosines.T @ components, 0.0, atol=1e-6)
    metadata = read_json(paths["confounds_json"])
    explained = [metadata[f"a_comp_cor_{i:02d}"]["VarianceExplained"] for i in range(6)]
    assert explained == sorted(explained, reverse=True) and 0 < sum(explained) < 1
    assert all(metadata[f"a_comp_cor_{i:02d}"]["Mask"] == "combined" for i in range(6))


def test_nilearn_load_confounds_reads_the_confounds(study):
    # nilearn's fMRIPrep reader: the columns and sidecar must be where it looks for them.
    out, _ = study
    paths = run_paths(out, "sub-01", "post")
    confounds, sample_mask = load_confounds(
        paths["bold"], strategy=("high_pass", "motion", "wm_csf", "compcor", "scrub"), motion="basic",
        wm_csf="basic", compcor="anat_combined", n_compcor=6, scrub=0, fd_threshold=0.5, std_dvars_threshold=None)
    expected = {"trans_x", "rot_z", "csf", "white_matter", "a_comp_cor_05", "cosine00"}
    assert expected <= set(confounds.columns)
    fd = pd.read_csv(paths["confounds"], sep="\t", na_values="n/a")["framewise_displacement"].to_numpy()
    assert sample_mask is not None
    np.testing.assert_array_equal(sample_mask, np.flatnonzero(~(fd > 0.5)))


@pytest.fixture(scope="module")
def aal_centroids():
    """{name: centroid (mm)} of every region of mricron's AAL, from nibabel and the label table."""
    image = nib.load(AAL)
    labels = np.asarray(image.dataobj).astype(np.int64)
    centroids = {}
    for name, value in mricron_table(AAL[:-3] + ".txt").items():
        centroids[name] = nib.affines.apply_affine(image.affine, np.argwhere(labels == value)).mean(axis=0)
    return centroids


@pytest.mark.parametrize("resolution", [2, 3, 4])
def test_synthetic_atlas_files(tmp_path, resolution, aal_centroids):
    image = write_synthetic_atlas(tmp_path, resolution)
    assert image == str(tmp_path / ATLAS_4MM.replace("res-4", f"res-{resolution}"))
    img = nib.load(image)
    shape, affine = mni_grid(resolution)
    assert img.shape == shape and img.get_data_dtype() == np.int16
    np.testing.assert_array_equal(img.affine, affine)
    labels = np.asarray(img.dataobj)
    table = dseg_table(image[:-len(".nii.gz")] + ".tsv")
    assert sorted(table.values()) == list(range(1, REGIONS + 1))
    assert set(np.unique(labels)) == {0} | set(table.values()), "every region has voxels"
    assert set(PLANTED) <= set(table)

    # Left regions left of the midline, right regions right of it, and each the mirror image of its
    # partner (the grid is symmetric about x = 0: x runs from +90 to -90 mm).
    centres = nib.affines.apply_affine(affine, np.indices(shape).reshape(3, -1).T)
    assert np.array_equal(centres[:, 0].reshape(shape)[::-1], -centres[:, 0].reshape(shape))
    x = centres[:, 0].reshape(shape)
    partner = np.zeros(REGIONS + 1, dtype=np.int64)
    for name, value in table.items():
        assert (x[labels == value] < 0).all() if name.endswith("_L") else (x[labels == value] > 0).all(), name
        partner[value] = table[name[:-1] + ("R" if name.endswith("_L") else "L")]
    np.testing.assert_array_equal(labels, partner[labels[::-1]])

    # Each region lies where AAL has the region of the same name: a thin cortex sits outside AAL's
    # centroids (about 12 mm on average), deep grey matter is built around them.
    deep = {"Insula", "Hippocampus", "ParaHippocampal", "Amygdala", "Caudate", "Putamen", "Pallidum", "Thalamus"}
    for name, value in table.items():
        centroid = nib.affines.apply_affine(affine, np.argwhere(labels == value)).mean(axis=0)
        distance = np.linalg.norm(centroid - aal_centroids[name])
        assert distance < (5.0 if name[:-2] in deep else 30.0), (name, distance)


def test_synthetic_atlas_labels_depend_only_on_position(tmp_path):
    # The 4 mm voxel centres are every other 2 mm voxel centre: the labels there must agree.
    fine = np.asarray(nib.load(write_synthetic_atlas(tmp_path / "2", 2)).dataobj)
    coarse = np.asarray(nib.load(write_synthetic_atlas(tmp_path / "4", 4)).dataobj)
    np.testing.assert_array_equal(coarse, fine[::2, ::2, ::2])


def test_ground_truth(study):
    out, truth = study
    assert truth == read_json(os.path.join(out, "ground_truth.json"))
    assert truth["atlas"]["image"] == ATLAS_4MM and truth["atlas"]["labels"] == TABLE_4MM
    assert truth["atlas"]["name"] == "synthetic" and truth["atlas"]["regions"] == REGIONS
    assert truth["options"]["atlas"] is None
    table = dseg_table(os.path.join(out, TABLE_4MM))
    names = [region["name"] for region in truth["planted_regions"]]
    assert names == PLANTED
    assert [region["selected_by"] for region in truth["planted_regions"]] == ["name"] * 4
    assert [region["value"] for region in truth["planted_regions"]] == [table[name] for name in names]
    # Columns are the ascending label values (rewire.extract's order).
    for region in truth["planted_regions"]:
        assert sorted(table.values()).index(region["value"]) == region["column"]
    assert sorted(tuple(edge["regions"]) for edge in truth["planted_edges"]) == sorted(
        (a, m) for a in names[:2] for m in names[2:])
    assert truth["grid"]["shape"] == [46, 55, 46]
    np.testing.assert_allclose(truth["grid"]["affine"], mni_grid(4)[1])
    assert truth["seed"] == MAIN["seed"] and truth["options"]["effect"] == EFFECT

    changes = {group: [s["change"] for s in truth["subjects"].values() if s["group"] == group] for group in GROUPS}
    assert changes["control"] == [0.0, 0.0]
    assert all(0.8 * EFFECT - 1e-6 <= c <= 1.2 * EFFECT + 1e-6 for c in changes["therapy"])
    assert truth["effect"]["therapy"] == pytest.approx(np.mean(changes["therapy"]), abs=1e-6)
    assert truth["effect"]["control"] == 0.0
    base = truth["baseline_correlation"]
    assert base == 0.1
    therapy_post = pytest.approx(base + truth["effect"]["therapy"])
    assert truth["edge_correlation"]["therapy"] == {"pre": base, "post": therapy_post}
    assert truth["edge_correlation"]["control"] == {"pre": base, "post": base}


def test_participants(study):
    out, truth = study
    table = pd.read_csv(os.path.join(out, "participants.tsv"), sep="\t")
    assert list(table.columns) == ["participant_id", "group", "age", "sex", "attachment_pre", "attachment_post",
                                   "cortisol_pre", "cortisol_post", "hrv_pre", "hrv_post"]
    assert list(table["participant_id"]) == list(truth["subjects"])
    assert list(table["group"]) == ["therapy", "therapy", "control", "control"]
    assert table["age"].between(20, 55).all() and set(table["sex"]) <= {"F", "M"}
    change = np.array([truth["subjects"][s]["change"] for s in table["participant_id"]])
    gain = (table["attachment_post"] - table["attachment_pre"]).to_numpy()
    # post = pre + 30 × planted change + N(0, 1), rounded to 0.1: within 4 noise SDs of the planted step.
    np.testing.assert_allclose(gain, 30.0 * change, atol=4.0)
    assert (gain[:2] > 10).all() and (np.abs(gain[2:]) < 4).all()


def extract_planted_change(out, truth):
    """Per subject: mean over the planted edges of r(post) − r(pre), from raw parcel means."""
    atlas = rewire.Atlas.from_file(os.path.join(out, truth["atlas"]["image"]))  # relative to the study
    edges = [edge["columns"] for edge in truth["planted_edges"]]
    result = {}
    for subject in truth["subjects"]:
        r = {}
        for session in SESSIONS:
            paths = run_paths(out, subject, session)
            r[session] = np.corrcoef(rewire.extract(paths["bold"], atlas, paths["mask"]), rowvar=False)
        result[subject] = np.mean([r["post"][a, m] - r["pre"][a, m] for a, m in edges])
    return result


def test_planted_effect_is_recovered_from_the_written_files(study):
    out, truth = study
    change = extract_planted_change(out, truth)
    groups = {group: np.mean([change[s] for s, info in truth["subjects"].items() if info["group"] == group])
              for group in GROUPS}
    # With 200 AR(1) volumes a per-subject change in r has a sampling SD of about 0.12 (0.085 for the
    # mean of two subjects); uncleaned nuisance shrinks the change by about 10 %. 0.25 is about 3 SD.
    assert groups["therapy"] == pytest.approx(truth["effect"]["therapy"], abs=0.25)
    assert groups["control"] == pytest.approx(0.0, abs=0.25)
    assert groups["therapy"] - groups["control"] > 0.5 * EFFECT


def test_simulate_run_writes_its_region_time_courses(tmp_path):
    bold = tmp_path / "run.nii.gz"
    regions = simulate_run(bold, timepoints=300, tr=1.5, resolution=4, seed=11, edge_correlation=0.7,
                           mask_path=tmp_path / "mask.nii.gz", confounds_path=tmp_path / "confounds.tsv")
    atlas = rewire.Atlas.from_file(write_synthetic_atlas(tmp_path, 4))
    assert regions.shape == (300, len(atlas)) and len(atlas) == REGIONS
    table = dseg_table(tmp_path / TABLE_4MM)
    columns = [list(atlas.values).index(table[name]) for name in PLANTED]
    latent = np.corrcoef(regions, rowvar=False)
    # Unit variance, and the planted edges at 0.7: SE of r ≈ 0.51 / sqrt(300 · 0.6) ≈ 0.04 with AR(1) 0.5.
    np.testing.assert_allclose(regions.std(axis=0), 1.0, atol=0.2)
    for a in columns[:2]:
        for m in columns[2:]:
            assert latent[a, m] == pytest.approx(0.7, abs=0.15)
    # The written file carries them: parcel means of the big regions follow the latent time courses.
    signals = rewire.extract(bold, atlas, tmp_path / "mask.nii.gz")
    agreement = [np.corrcoef(signals[:, k], regions[:, k])[0, 1] for k in range(len(atlas))]
    assert np.median(agreement) > 0.85
    assert nib.load(str(bold)).header.get_zooms()[3] == pytest.approx(1.5)
    assert os.path.isfile(tmp_path / "confounds.tsv")


def test_float32_output(tmp_path):
    simulate_run(tmp_path / "run.nii.gz", timepoints=20, tr=2.0, resolution=4, seed=1, dtype="float32")
    image = nib.load(str(tmp_path / "run.nii.gz"))
    assert image.get_data_dtype() == np.float32 and image.shape == (46, 55, 46, 20)
    assert not np.array_equal(image.get_fdata(), np.round(image.get_fdata()))


def test_same_seed_same_bytes_other_seed_other_bold(tmp_path):
    def simulate(name, **change):
        simulate_study(tmp_path / name, SimulationOptions(**{**SMALL, **change}))
        return all_files(tmp_path / name)

    first = simulate("a")
    second = simulate("b")
    assert first.keys() == second.keys() and len(first) == 4 + 2 + 2 * 2 * 5   # + the atlas and its table
    for name in first:
        assert first[name] == second[name], name
    other = simulate("c", seed=4)
    bold = [name for name in first if name.endswith("_bold.nii.gz")]
    assert len(bold) == 4
    for name in bold:
        assert first[name] != other[name], name


def test_subject_data_does_not_depend_on_the_number_of_subjects(tmp_path):
    one = SimulationOptions(**SMALL)
    two = SimulationOptions(**{**SMALL, "subjects": 2})
    simulate_study(tmp_path / "one", one)
    simulate_study(tmp_path / "two", two)
    # First therapy subject: sub-01 in both; first control subject: sub-02 of one, sub-03 of two.
    for a, b in (("sub-01", "sub-01"), ("sub-02", "sub-03")):
        for session in SESSIONS:
            left = read_bytes(run_paths(str(tmp_path / "one"), a, session)["bold"])
            right = read_bytes(run_paths(str(tmp_path / "two"), b, session)["bold"])
            assert left == right, (a, b, session)


@pytest.mark.parametrize("change, error, message", [
    ({"subjects": 0}, ValueError, "subjects"),
    ({"resolution": 5}, ValueError, "resolution"),
    ({"timepoints": 5}, ValueError, "timepoints"),
    ({"tr": 0.0}, ValueError, "tr"),
    ({"dtype": "uint8"}, ValueError, "dtype"),
    ({"effect": 1.5}, ValueError, "effect"),
    ({"atlas": "/nonexistent/atlas.nii.gz"}, FileNotFoundError, "/nonexistent/atlas.nii.gz"),
])
def test_bad_options(change, error, message):
    with pytest.raises(error, match=message):
        SimulationOptions(**{**SMALL, **change})


def test_unattainable_effect_fails_before_writing(tmp_path):
    with pytest.raises(ValueError, match="positive definite"):
        simulate_study(tmp_path / "out", SimulationOptions(**{**SMALL, "effect": 0.9}))
    assert not any(files for _, _, files in os.walk(tmp_path))


def test_cli_simulate(tmp_path):
    result = run_cli("simulate", str(tmp_path / "out"), "--subjects", "1", "--timepoints", "40", "--resolution", "4")
    assert result.returncode == 0, result.stderr
    image = nib.load(run_paths(str(tmp_path / "out"), "sub-02", "post")["bold"])
    assert image.shape == (46, 55, 46, 40)
    truth = read_json(tmp_path / "out" / "ground_truth.json")
    assert truth["options"]["subjects"] == 1 and truth["options"]["effect"] == 0.5


def test_cli_simulate_with_the_aal_atlas(tmp_path):
    # Debian's mricron AAL through --atlas: the regions, the planted ones by name, come from it.
    out = tmp_path / "out"
    result = run_cli("simulate", out, "--subjects", "1", "--timepoints", "20", "--atlas", AAL, "-q")
    assert result.returncode == 0, result.stderr
    truth = read_json(out / "ground_truth.json")
    assert truth["atlas"]["image"] == AAL and truth["atlas"]["labels"] == AAL[:-3] + ".txt"
    assert truth["atlas"]["regions"] == 116 and truth["options"]["atlas"] == AAL
    table = mricron_table(AAL[:-3] + ".txt")
    assert [region["name"] for region in truth["planted_regions"]] == PLANTED
    assert [region["value"] for region in truth["planted_regions"]] == [table[name] for name in PLANTED]
    assert not (out / "atlas").exists()
    # Every AAL voxel on the 4 mm grid (nilearn's nearest-neighbour resampling) lies in the brain mask.
    shape, affine = mni_grid(4)
    with nilearn_quiet():
        aal = resample_img(AAL, target_affine=affine, target_shape=shape, interpolation="nearest",
                           force_resample=True, copy_header=True)
    mask = np.asarray(nib.load(run_paths(str(out), "sub-01", "pre")["mask"]).dataobj)
    assert mask[np.asarray(aal.dataobj) > 0].all()


def test_cli_simulate_bad_option(tmp_path):
    result = run_cli("simulate", str(tmp_path / "out"), "--subjects", "0", "-q")
    assert result.returncode == 1
    assert "subjects" in result.stderr and "Traceback" not in result.stderr
