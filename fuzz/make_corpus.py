#!/usr/bin/python3
"""Writes the fuzzers' seed corpus (fuzz/corpus/<harness>/): small valid inputs of each format, the NIfTI
files written by nibabel, the confounds as fMRIPrep writes them. Run from anywhere; the files are
committed, so this is needed only to change them. Crashing inputs found later are added next to these
by hand, named regression-*, and never regenerated."""
import gzip
import json
import struct
import sys
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np

HERE = Path(__file__).resolve().parent / "corpus"


def write(harness, name, data):
    folder = HERE / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def nifti_bytes(image):
    return image.to_bytes()


def nifti_seeds():
    rng = np.random.default_rng(0)
    affine = np.array([[-2.0, 0, 0, 90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    seeds = {}
    one = nib.Nifti1Image(rng.normal(size=(3, 2, 2)).astype(np.float32), affine)
    seeds["n1-float32-3d.nii"] = nifti_bytes(one)
    four = nib.Nifti1Image(rng.integers(-50, 50, size=(2, 2, 2, 3)).astype(np.int16), affine)
    four.header.set_xyzt_units("mm", "msec")
    four.header["pixdim"][4] = 2000.0
    four.header.set_slope_inter(0.5, 10.0)
    seeds["n1-int16-4d-scaled.nii"] = nifti_bytes(four)
    voxels = rng.integers(-300, 300, size=(2, 2, 2)).astype(np.int16)
    big = nib.Nifti1Image(voxels, affine).header.as_byteswapped(">")
    big["vox_offset"] = 352
    seeds["n1-int16-bigendian.nii"] = big.binaryblock + b"\0" * 4 + voxels.astype(">i2").tobytes(order="F")
    qform = nib.Nifti1Image(rng.normal(size=(2, 2, 2)).astype(np.float64), None)
    qform.set_qform(np.array([[0, -2.0, 0, 10], [2.0, 0, 0, -5], [0, 0, 3.0, 7], [0, 0, 0, 1]]), code=1)
    qform.set_sform(None, code=0)
    seeds["n1-float64-qform-only.nii"] = nifti_bytes(qform)
    bare = nib.Nifti1Image(np.arange(8, dtype=np.int32).reshape(2, 2, 2), None)
    bare.set_qform(None, code=0)
    bare.set_sform(None, code=0)
    seeds["n1-int32-no-affine.nii"] = nifti_bytes(bare)
    two = nib.Nifti2Image(rng.normal(size=(2, 2, 2, 2)).astype(np.float32), affine)
    two.header.set_xyzt_units("mm", "sec")
    two.header["pixdim"][4] = 0.8
    seeds["n2-float32-4d.nii"] = nifti_bytes(two)
    two_u16 = nib.Nifti2Image(rng.integers(0, 9, size=(3, 1, 2)).astype(np.uint16), affine)
    seeds["n2-uint16-3d.nii"] = nifti_bytes(two_u16)
    for name, data in seeds.items():
        write("nifti_header", name, data)
    # The same files compressed as nibabel compresses .nii.gz: the header parser reads them through
    # the gzip stream, and they seed the gzip harness.
    for name in ("n1-float32-3d.nii", "n1-int16-4d-scaled.nii", "n2-float32-4d.nii"):
        packed = gzip.compress(seeds[name], compresslevel=6, mtime=0)
        write("nifti_header", name + ".gz", packed)
        write("gzip_stream", name + ".gz", packed)


def gzip_member(data, level, flags=0, extra=b"", name=b"", comment=b""):
    """One gzip member, written field by field so that every optional header field appears."""
    header = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, 0, 0, 3)
    if flags & 4:
        header += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        header += name + b"\0"
    if flags & 16:
        header += comment + b"\0"
    if flags & 2:
        header += struct.pack("<H", zlib.crc32(header) & 0xFFFF)
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def gzip_seeds():
    text = b"rewire " * 40 + bytes(range(256))
    write("gzip_stream", "stored-level0.gz", gzip_member(text, 0))
    write("gzip_stream", "fixed-huffman-level1.gz", gzip_member(b"abcabcabd" * 9, 1))
    write("gzip_stream", "dynamic-huffman-level9.gz", gzip_member(text * 3, 9))
    write("gzip_stream", "all-header-fields.gz",
          gzip_member(text, 6, flags=2 | 4 | 8 | 16, extra=b"RW\x02\x00ok", name=b"bold.nii", comment=b"c"))
    write("gzip_stream", "two-members.gz", gzip_member(b"first member\n", 6) + gzip_member(b"second\n", 6))
    write("gzip_stream", "empty-member.gz", gzip_member(b"", 6))
    write("gzip_stream", "plain-bytes.nii", b"not compressed: read as it is\n")


def confounds_seeds():
    rng = np.random.default_rng(1)
    frames = 8
    columns = {}
    for base in ("global_signal", "csf", "white_matter", "trans_x", "trans_y", "trans_z", "rot_x", "rot_y",
                 "rot_z"):
        values = rng.normal(scale=0.2, size=frames)
        derivative = np.r_[np.nan, np.diff(values)]
        columns[base] = values
        columns[base + "_derivative1"] = derivative
        columns[base + "_power2"] = values**2
        columns[base + "_derivative1_power2"] = derivative**2
    columns["csf_wm"] = rng.normal(size=frames)
    columns["tcompcor"] = rng.normal(size=frames)
    columns["std_dvars"] = np.r_[np.nan, np.abs(rng.normal(1, 0.3, size=frames - 1))]
    columns["dvars"] = np.r_[np.nan, np.abs(rng.normal(20, 3, size=frames - 1))]
    columns["framewise_displacement"] = np.r_[np.nan, np.abs(rng.normal(0.2, 0.2, size=frames - 1))]
    columns["rmsd"] = np.r_[np.nan, np.abs(rng.normal(0.1, 0.05, size=frames - 1))]
    for k in range(3):
        columns[f"a_comp_cor_{k:02d}"] = rng.normal(size=frames)
    columns["t_comp_cor_00"] = rng.normal(size=frames)
    columns["c_comp_cor_00"] = rng.normal(size=frames)
    columns["w_comp_cor_00"] = rng.normal(size=frames)
    for k in range(2):
        columns[f"cosine{k:02d}"] = np.cos(np.pi * (np.arange(frames) + 0.5) * (k + 1) / frames)
    columns["non_steady_state_outlier00"] = (np.arange(frames) == 0).astype(float)
    columns["motion_outlier00"] = (np.arange(frames) == 5).astype(float)
    columns["aroma_motion_01"] = rng.normal(size=frames)

    def tsv(table):
        lines = ["\t".join(table)]
        for r in range(frames):
            lines.append("\t".join("n/a" if np.isnan(v[r]) else repr(float(v[r])) for v in table.values()))
        return ("\n".join(lines) + "\n").encode()

    write("confounds_table", "fmriprep-desc-confounds_timeseries.tsv", tsv(columns))
    motion = {k: v for k, v in columns.items() if k.startswith(("trans", "rot", "framewise", "std_dvars"))}
    write("confounds_table", "motion-only-crlf.tsv", tsv(motion).replace(b"\n", b"\r\n"))
    write("confounds_table", "bom-and-markers.tsv",
          b"\xef\xbb\xbfcsf\twhite_matter\tglobal_signal\n1.5\tNaN\t+2e-3\n\n-inf\tNA\t7\n")

    sidecar = {}
    for k, mask in enumerate(["combined", "combined", "CSF"]):
        sidecar[f"a_comp_cor_{k:02d}"] = {"Method": "aCompCor", "Mask": mask, "Retained": True,
                                          "SingularValue": 20.0 - k, "VarianceExplained": 0.1,
                                          "CumulativeVarianceExplained": 0.1 * (k + 1)}
    sidecar["c_comp_cor_00"] = {"Method": "aCompCor", "Mask": "CSF", "Retained": True}
    sidecar["w_comp_cor_00"] = {"Method": "aCompCor", "Mask": "WM", "Retained": True}
    sidecar["t_comp_cor_00"] = {"Method": "tCompCor", "Retained": True, "SingularValue": float("nan")}
    sidecar["a_comp_cor_dropped"] = {"Method": "aCompCor", "Mask": "WM", "Retained": False}
    sidecar["aroma_motion_01"] = {"MotionNoise": True}
    write("confounds_sidecar", "fmriprep-desc-confounds_timeseries.json",
          json.dumps(sidecar, indent=2).encode())
    write("confounds_sidecar", "empty-object.json", b"{}")


def label_seeds():
    write("label_table", "atlas_dseg.tsv",
          b"index\tname\tabbreviation\tcolor\n1\tPrecentral_L\tPreCG.L\t#ff0000\n2\tPrecentral_R\tPreCG.R\t"
          b"#00ff00\n17\tThalamus_L\tTHA.L\t#0000ff\n")
    write("label_table", "name-first_dseg.tsv", b"name\tindex\nBackground\t0\nCortex\t3\nWhite matter\t-2\n")
    mricron = Path("/usr/share/mricron/templates/aal.nii.txt")
    lines = mricron.read_bytes().splitlines(keepends=True)[:24] if mricron.exists() else []
    write("label_table", "mricron-aal.txt", b"".join(lines) or b"1 Precentral_L 2001\n2 Precentral_R 2002\n")
    write("label_table", "comments-and-blanks.txt", b"# value name\n\n0 Background\n10\tRegionA extra\n 11 RegionB\n")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        HERE = Path(sys.argv[1])
    nifti_seeds()
    gzip_seeds()
    confounds_seeds()
    label_seeds()
