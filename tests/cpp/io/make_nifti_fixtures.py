"""Writes NIfTI files with nibabel, and what nibabel reads back from them, for tests/cpp/io/test_nifti.cpp.

Usage: python make_nifti_fixtures.py OUT_DIR   (CTest runs it as the nifti_fixtures setup fixture)

The files cover what rewire's reader must agree with nibabel on: NIfTI-1 and NIfTI-2, .nii and .nii.gz,
every datatype rewire reads, both byte orders, scl_slope / scl_inter, an sform, a qform only, neither
(nibabel's pixdim fallback), 3D and 4D, and the time units of pixdim[4]. For each FILE the reference is
nibabel's own reading: FILE.values.bin holds img.get_fdata() as raw little-endian float64 in NIfTI order
(x fastest, then y, z, volume), and OUT_DIR/manifest.txt has one line per file of KEY=VALUE words:

    file=NAME version=1|2 datatype=NAME dims=X,Y,Z[,T] tr=SECONDS affine=16 row-major numbers (img.affine)

Numbers are written with repr(), which reads back to the same double.
"""
import itertools
import os
import sys

import nibabel as nib
import numpy as np

DATATYPES = ("uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64")
SHAPE_3D = (5, 4, 3)
SHAPE_4D = (5, 4, 3, 3)
SECONDS_PER_UNIT = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}

# An oblique affine: a rotation about an oblique axis, anisotropic voxels and a left-handed (LAS) grid, so
# that qform quaternions, qfac and the order of the rotation and the zooms all matter.
_ANGLE = 0.35
_AXIS = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
_K = np.array([[0, -_AXIS[2], _AXIS[1]], [_AXIS[2], 0, -_AXIS[0]], [-_AXIS[1], _AXIS[0], 0]])
_ROTATION = np.eye(3) + np.sin(_ANGLE) * _K + (1 - np.cos(_ANGLE)) * _K @ _K
OBLIQUE = np.eye(4)
OBLIQUE[:3, :3] = _ROTATION @ np.diag([-2.5, 3.0, 3.5])
OBLIQUE[:3, 3] = [40.25, -61.5, -17.75]
# A different sform, so that a file with both transforms shows which one the reader took.
SFORM = np.array([[-2.0, 0.1, 0.0, 91.0], [0.05, 2.0, -0.2, -126.0], [0.0, 0.3, 2.2, -72.0], [0, 0, 0, 1]])


def stored_values(dtype, count, rng):
    """`count` stored values of `dtype`: the extremes of the type first, then random ones across its range;
    float types also hold signed zeros, infinities, NaN and subnormals."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        special = np.array([info.min, info.max, 0, 1, info.max - 1], dtype=np.float64)
        random = rng.integers(info.min, info.max, size=count, endpoint=True, dtype=np.int64)
        values = np.concatenate([special, random.astype(np.float64)])[:count]
        return values.astype(dtype)
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.max, -info.max, info.tiny, info.tiny / 4,
                        info.eps], dtype=dtype)
    random = (rng.standard_normal(count) * 10.0 ** rng.integers(-8, 9, size=count)).astype(dtype)
    return np.concatenate([special, random])[:count]


def write(path, data, *, version, endian, dtype, sform=None, qform=None, slope=None, inter=None,
          time_unit="sec", tr=2.0, pixdim=None):
    """Writes `data` (stored values) byte by byte from a nibabel header, so that the datatype, byte order,
    scaling and transform codes are exactly those asked for (nib.save would choose its own scaling).
    `pixdim` (pixdim[0..3]) is written as given last: zero or negative voxel sizes and odd qfac values,
    which nibabel's setters refuse and its reader fixes."""
    header = (nib.Nifti2Header if version == 2 else nib.Nifti1Header)(endianness=endian)
    header.set_data_dtype(dtype)
    header.set_data_shape(data.shape)
    if qform is not None:
        header.set_qform(qform, code=1)
    else:
        header.set_qform(None, code=0)
    if sform is not None:
        header.set_sform(sform, code=2)
    else:
        header.set_sform(None, code=0)
    if qform is None and sform is None:
        header.set_zooms((1.5, 2.0, 2.5) + (() if data.ndim == 3 else (1.0,)))
    if data.ndim == 4:
        header.set_zooms(header.get_zooms()[:3] + (tr,))
    header.set_xyzt_units("mm", time_unit)
    if slope is not None:
        header["scl_slope"] = slope
        header["scl_inter"] = inter
    if pixdim is not None:
        header["pixdim"][:4] = pixdim
    with nib.openers.ImageOpener(path, "wb") as out:
        header.write_to(out)
        out.write(np.asarray(data, dtype=header.get_data_dtype()).tobytes(order="F"))


def cases():
    """(name, keyword arguments of write, shape) of every fixture."""
    # Every datatype in every container: NIfTI-1/2 × .nii/.nii.gz × little/big endian, 4D, with both an
    # sform and a qform; half of them scaled (every pair of version, container and byte order occurs with
    # and without scaling), with a slope and intercept that are not exact in binary.
    for dtype, version, suffix, endian in itertools.product(DATATYPES, (1, 2), (".nii", ".nii.gz"), ("<", ">")):
        order = "le" if endian == "<" else "be"
        scaled = (version + (suffix == ".nii.gz") + (endian == ">")) % 2 == 0
        name = f"{dtype}_v{version}_{order}{'_scaled' if scaled else ''}{suffix}"
        yield name, dict(version=version, endian=endian, dtype=dtype, sform=SFORM, qform=OBLIQUE,
                         slope=0.1 if scaled else None, inter=-7.3 if scaled else None), SHAPE_4D
    # Geometry: sform only, qform only, neither (pixdim fallback); 3D and 4D; both versions; time units.
    for (transform, ndim, version), unit in zip(
            itertools.product(("sform", "qform", "none"), (3, 4), (1, 2)),
            itertools.cycle(("sec", "msec", "usec"))):
        name = f"geometry_{transform}_{ndim}d_v{version}{'_' + unit if ndim == 4 else ''}.nii.gz"
        yield name, dict(version=version, endian="<", dtype="int16",
                         sform=SFORM if transform == "sform" else None,
                         qform=OBLIQUE if transform == "qform" else None,
                         time_unit=unit, tr={"sec": 0.8, "msec": 720.0, "usec": 1.5e6}[unit],
                         slope=0.25, inter=3.0), SHAPE_3D if ndim == 3 else SHAPE_4D
    # Voxel sizes nibabel fixes when it reads a header (zero → 1, negative → absolute value, a qfac other
    # than ±1 → 1): the pixdim fallback and the qform must follow the fixed values.
    for name, transform, pixdim in (("zero_none", None, (1.0, 0.0, 0.0, 0.0)),
                                    ("negative_none", None, (1.0, -2.0, 0.0, 2.5)),
                                    ("zero_qform", OBLIQUE, (-1.0, 2.0, 0.0, 3.0)),
                                    ("odd_qfac_qform", OBLIQUE, (-0.5, 2.0, 3.0, 3.0))):
        for version in (1, 2):
            yield f"pixdim_{name}_v{version}.nii", dict(version=version, endian="<", dtype="int16", qform=transform,
                                                        pixdim=pixdim), SHAPE_3D


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240611)
    lines = []
    for name, options, shape in cases():
        path = os.path.join(out_dir, name)
        count = int(np.prod(shape))
        data = stored_values(options["dtype"], count, rng).reshape(shape, order="F")
        write(path, data, **options)

        image = nib.load(path)  # the reference: what nibabel reads from the file
        assert image.header.get_data_dtype().newbyteorder("=") == np.dtype(options["dtype"])
        values = image.get_fdata(dtype=np.float64)
        values.ravel(order="F").astype("<f8").tofile(path + ".values.bin")
        tr = 0.0
        if image.ndim == 4:
            unit = image.header.get_xyzt_units()[1]
            tr = float(image.header.get_zooms()[3]) * SECONDS_PER_UNIT[unit]
        lines.append(" ".join([
            f"file={name}",
            f"version={options['version']}",
            f"datatype={options['dtype']}",
            "dims=" + ",".join(str(n) for n in image.shape),
            f"tr={tr!r}",
            "affine=" + ",".join(repr(float(x)) for x in image.affine.ravel()),
        ]))
    with open(os.path.join(out_dir, "manifest.txt"), "w", encoding="ascii") as manifest:
        manifest.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} NIfTI files and their nibabel readings to {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
