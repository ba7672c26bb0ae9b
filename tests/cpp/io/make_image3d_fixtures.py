"""Writes 3D images in every format read_image3d claims, with SimpleITK and nibabel (never rewire), and the
reference reading of each, for tests/cpp/io/test_image3d.cpp.

Usage: python make_image3d_fixtures.py OUT_DIR   (CTest runs it as the image3d_fixtures setup fixture)

- NRRD (.nrrd, .nhdr + raw), MetaImage (.mha, .mhd + raw), written by SimpleITK from a numpy array and a
  geometry chosen here (oblique direction, anisotropic spacing, fractional origin); 3D and a 4D stack.
  The reference is what was written: the array, and the affine in nibabel's RAS world computed here from
  the ITK (LPS) origin, spacing and direction.
- Analyze 7.5 (.hdr/.img), written by nibabel: values as nibabel reads them, geometry as SimpleITK reads it
  (ITK's geometry is the geometry of non-NIfTI formats).
- sibling/x.nii and sibling/x.nii.gz with different voxels and affines (ITK 5.2 mixes the two).
- Debian's mricron atlases: their nibabel reading summarised (dims, affine, non-zero count, labels, and an
  exact integer checksum sum(value * (i % 9973 + 1)) over voxels in NIfTI order).

OUT_DIR/manifest.txt has one line per file: file=NAME dims=X,Y,Z[,T] affine=16 row-major numbers and, for
the files whose values are stored, FILE.values.bin (little-endian float64 in NIfTI order); the atlas lines
carry atlas=PATH ... nonzero= labels= checksum= instead.
"""
import os
import sys

import nibabel as nib
import numpy as np
import SimpleITK as sitk

MRICRON = "/usr/share/mricron/templates"
ATLASES = ("aal.nii.gz", "AICHAmc.nii.gz", "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def rotation(angle, axis):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


DIRECTION = rotation(0.3, [0.2, -0.6, 0.7])
SPACING = (1.5, 2.25, 3.0)
ORIGIN = (-40.5, 61.25, -17.75)


def ras_affine(direction, spacing, origin):
    affine = np.eye(4)
    affine[:3, :3] = LPS_TO_RAS @ direction @ np.diag(spacing)
    affine[:3, 3] = LPS_TO_RAS @ np.asarray(origin)
    return affine


def line(name, dims, affine, **extra):
    words = [f"file={name}", "dims=" + ",".join(str(int(n)) for n in dims),
             "affine=" + ",".join(repr(float(x)) for x in np.asarray(affine).ravel())]
    words += [f"{key}={value}" for key, value in extra.items()]
    return " ".join(words)


def write_itk(out_dir, name, values_xyz, compress=False):
    """values_xyz: array shaped (X, Y, Z[, T]); written by SimpleITK with the geometry above."""
    array = np.ascontiguousarray(values_xyz.T)  # SimpleITK wants (T,) Z, Y, X
    image = sitk.GetImageFromArray(array, isVector=False)
    if values_xyz.ndim == 4:
        direction = np.eye(4)
        direction[:3, :3] = DIRECTION
        image.SetDirection(tuple(direction.ravel()))
        image.SetSpacing(SPACING + (1.0,))
        image.SetOrigin(ORIGIN + (0.0,))
    else:
        image.SetDirection(tuple(DIRECTION.ravel()))
        image.SetSpacing(SPACING)
        image.SetOrigin(ORIGIN)
    path = os.path.join(out_dir, name)
    sitk.WriteImage(image, path, compress)
    values_xyz.astype(np.float64).ravel(order="F").astype("<f8").tofile(path + ".values.bin")
    return line(name, values_xyz.shape, ras_affine(DIRECTION, SPACING, ORIGIN))


def main(out_dir):
    os.makedirs(os.path.join(out_dir, "sibling"), exist_ok=True)
    rng = np.random.default_rng(20250301)
    lines = []
    labels = rng.integers(0, 120, (7, 6, 5)).astype(np.int16)
    weights = rng.random((7, 6, 5)).astype(np.float32)
    maps = rng.random((7, 6, 5, 3))
    lines.append(write_itk(out_dir, "labels.nrrd", labels, compress=True))
    lines.append(write_itk(out_dir, "weights.nhdr", weights))
    lines.append(write_itk(out_dir, "labels.mha", labels.astype(np.uint8), compress=True))
    # (not "weights.mhd": its detached data file would be weights.raw, the file weights.nhdr points to)
    lines.append(write_itk(out_dir, "doubles.mhd", weights.astype(np.float64)))
    lines.append(write_itk(out_dir, "maps.nrrd", maps))
    lines.append(write_itk(out_dir, "maps.mha", maps.astype(np.float32)))

    # Analyze 7.5 by nibabel; its values as nibabel reads them, its geometry as (Simple)ITK reads it.
    analyze_affine = np.diag([2.0, 2.5, 3.0, 1.0])
    analyze_affine[:3, 3] = [-10.0, -20.0, 5.0]
    for name, data in (("analyze_labels.hdr", labels), ("analyze_weights.hdr", weights)):
        path = os.path.join(out_dir, name)
        nib.save(nib.AnalyzeImage(data, analyze_affine), path)
        image = nib.load(path)
        assert type(image) is nib.AnalyzeImage or isinstance(image, nib.AnalyzeImage)
        image.get_fdata().ravel(order="F").astype("<f8").tofile(path + ".values.bin")
        reference = sitk.ReadImage(path)
        direction = np.asarray(reference.GetDirection()).reshape(3, 3)
        lines.append(line(name, image.shape, ras_affine(direction, reference.GetSpacing(), reference.GetOrigin()),
                          nibabel_affine=",".join(repr(float(x)) for x in image.affine.ravel())))

    # Two files ITK 5.2 confuses: x.nii and x.nii.gz, different voxels and affines.
    plain, packed = np.full((4, 4, 4), 1, np.int16), np.full((4, 4, 4), 2, np.int16)
    nib.save(nib.Nifti1Image(plain, np.diag([1.0, 1.0, 1.0, 1.0])), os.path.join(out_dir, "sibling", "x.nii"))
    nib.save(nib.Nifti1Image(packed, np.diag([2.0, 2.0, 2.0, 1.0])), os.path.join(out_dir, "sibling", "x.nii.gz"))

    for name in ATLASES:
        path = os.path.join(MRICRON, name)
        image = nib.load(path)
        values = image.get_fdata()
        flat = values.ravel(order="F")
        assert np.array_equal(flat, np.round(flat))
        as_int = flat.astype(np.int64)
        weights_i = np.arange(as_int.size, dtype=np.int64) % 9973 + 1
        checksum = int(np.dot(as_int, weights_i))
        lines.append(line(name, image.shape, image.affine, atlas=path, nonzero=int(np.count_nonzero(as_int)),
                          labels=len(np.unique(as_int[as_int != 0])), checksum=checksum))

    with open(os.path.join(out_dir, "manifest.txt"), "w", encoding="ascii") as manifest:
        manifest.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} fixtures to {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
