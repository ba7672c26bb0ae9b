"""`rewire extract` on the command line: the TSV it writes, its errors, --help and --version."""
import argparse
import os

import numpy as np
import pytest

import rewire
from rewire import cli
from conftest import grid_affine, run_cli, save

PYTHON_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "python")


def printed(values):
    """`values` as the TSV prints them (%.10g) and reads back."""
    return np.vectorize(lambda x: float(f"{x:.10g}"))(values)


def read_tsv(path):
    with open(path, encoding="utf-8") as tsv:
        header = tsv.readline().rstrip("\n").split("\t")
    return header, np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)


@pytest.fixture
def inputs(tmp_path, bold_and_labels, rng):
    bold, atlas, _, labels, affine = bold_and_labels
    table = tmp_path / "atlas.txt"
    table.write_text("1 Precuneus_L\n2 Precuneus_R\n3 Insula_L\n4 Insula_R\n5 Cingulum_Post\n7 Not_In_Image\n")
    mask = save(tmp_path / "mask.nii.gz", (rng.random(labels.shape) < 0.8).astype(np.uint8), affine)
    return bold, atlas, table, mask


def test_extract_writes_tsv(tmp_path, inputs):
    bold, atlas, table, mask = inputs
    out = tmp_path / "signals.tsv"
    result = run_cli("extract", bold, "--atlas", atlas, "--labels", table, "--mask", mask, "-o", out, "--no-clean")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "wrote" in result.stderr and "16 volumes x 6 regions" in result.stderr
    assert "Not_In_Image (0%)" in result.stderr  # coverage report
    header, values = read_tsv(out)
    assert header == ["Precuneus_L", "Precuneus_R", "Insula_L", "Insula_R", "Cingulum_Post", "Not_In_Image"]
    expected = rewire.extract(bold, rewire.Atlas.from_file(atlas, table), mask)
    assert np.array_equal(values, printed(expected), equal_nan=True)
    assert np.isnan(values[:, 5]).all() and np.isfinite(values[:, :5]).all()
    assert not os.path.exists(f"{out}.part")


def test_extract_quiet_and_sidecar_table(tmp_path, bold_and_labels):
    bold, _, _, labels, affine = bold_and_labels
    atlas = save(tmp_path / "atlas-Test_dseg.nii.gz", labels, affine)
    (tmp_path / "atlas-Test_dseg.tsv").write_text("index\tname\n" + "".join(f"{v}\tregion {v}\n" for v in range(1, 6)))
    out = tmp_path / "quiet.tsv"
    argv = ["extract", bold, "--atlas", atlas, "-o", os.fspath(out), "-q", "--threads", "1", "--no-clean"]
    assert cli.main(argv) == 0
    header, values = read_tsv(out)
    assert header == [f"region {v}" for v in range(1, 6)]
    assert np.array_equal(values, printed(rewire.extract(bold, atlas)))


def test_extract_maps(tmp_path, bold_and_labels, rng, capsys):
    bold, _, _, labels, affine = bold_and_labels
    maps = save(tmp_path / "maps.nii.gz", rng.random(labels.shape + (3,)), affine)
    out = tmp_path / "maps.tsv"
    assert cli.main(["extract", bold, "--atlas", maps, "--maps", "-o", os.fspath(out), "-q", "--no-clean"]) == 0
    assert capsys.readouterr().err == ""
    header, values = read_tsv(out)
    assert header == ["1", "2", "3"]
    assert np.array_equal(values, printed(rewire.extract(bold, rewire.Atlas.from_maps(maps))))


@pytest.mark.parametrize("case", ["missing-bold", "3d-bold", "not-nifti-atlas", "missing-labels", "outside"])
def test_extract_bad_input(tmp_path, inputs, case):
    bold, atlas, _, _ = inputs
    out = tmp_path / "never.tsv"
    args = {"missing-bold": [tmp_path / "absent_bold.nii.gz", "--atlas", atlas],
            "3d-bold": [atlas, "--atlas", atlas],
            "not-nifti-atlas": [bold, "--atlas", tmp_path / "atlas_notes.nii"],
            "missing-labels": [bold, "--atlas", atlas, "--labels", tmp_path / "absent_labels.tsv"],
            "outside": [bold, "--atlas", tmp_path / "far_atlas.nii.gz"]}[case]
    culprit = {"missing-bold": "absent_bold.nii.gz", "3d-bold": "atlas.nii.gz", "not-nifti-atlas": "atlas_notes.nii",
               "missing-labels": "absent_labels.tsv", "outside": "far_atlas.nii.gz"}[case]
    (tmp_path / "atlas_notes.nii").write_text("region list, not an image\n" * 20)
    save(tmp_path / "far_atlas.nii.gz", rewire.load_data(atlas).astype(np.int16), grid_affine(origin=(900.0, 0.0, 0.0)))
    result = run_cli("extract", *args, "-o", out)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rewire extract: error: ")
    assert culprit in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() and not os.path.exists(f"{out}.part")


def verbs():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("verb", verbs())
def test_help_for_every_verb(verb, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([verb, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: rewire {verb}")


def test_help_and_version_from_the_command_line():
    result = run_cli("--help")
    assert result.returncode == 0
    for verb in verbs():
        assert verb in result.stdout
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"rewire {rewire.__version__}"
    assert rewire.__version__ == "0.1.0"


def test_no_verb_prints_usage(capsys):
    assert cli.main([]) == 2
    assert "usage: rewire" in capsys.readouterr().err
