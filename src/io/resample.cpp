// Nearest-neighbour resampling through ITK's ResampleImageFilter, with nilearn's answer.
//
// ITK cannot hold a sheared affine as image geometry, so the filter runs in voxel space: both images get
// ITK's unit geometry (origin 0, spacing 1, identity direction), a grid voxel's physical point is then its
// index exactly, and the transform maps it to the source's continuous index (source⁻¹ ∘ grid). The source
// image holds each voxel's own linear index, so the filter's output is, for every grid voxel, the source
// voxel it samples (or -1 outside): one resampling serves labels, every map of a stack and a mask.
//
// Two places keep nilearn's answer where ITK's defaults would differ:
// - the transform (an itk::AffineTransform) is evaluated point by point in the order of operations of
//   nilearn's resampling (scipy's zoom/shift for axis-aligned affines), because at points exactly
//   half-way between voxels the rounding of that arithmetic decides the voxel; ITK's scan-line
//   interpolation of linear transforms would round differently;
// - the interpolator follows scipy.ndimage order 0, mode 'constant': a point is inside only when
//   0 <= x <= n - 1 (ITK's own counts the half voxel beyond each edge as inside), then floor(x + 0.5).
#include "rewire/io/resample.hpp"

#include <array>
#include <cmath>
#include <numeric>

#include <itkAffineTransform.h>
#include <itkImage.h>
#include <itkInterpolateImageFunction.h>
#include <itkPlatformMultiThreader.h>
#include <itkResampleImageFilter.h>

namespace rewire {
namespace {

using IndexImage = itk::Image<std::int64_t, 3>;

/// True when the 3 × 3 part of `affine` is diagonal with no zero on the diagonal.
bool axis_aligned(const Affine& affine) {
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
            if ((i == j) != (affine(i, j) != 0.0)) {
                return false;
            }
        }
    }
    return true;
}

/// source⁻¹ ∘ grid, an affine transform of voxel coordinates, evaluated as nilearn evaluates it.
class NilearnVoxelMap : public itk::AffineTransform<double, 3> {
public:
    using Self = NilearnVoxelMap;
    using Superclass = itk::AffineTransform<double, 3>;
    using Pointer = itk::SmartPointer<Self>;
    itkNewMacro(Self);

    void set(const ImageGeometry& grid, const ImageGeometry& source) {
        map_ = voxel_to_voxel(grid, source);
        MatrixType matrix;
        OutputVectorType offset;
        for (unsigned i = 0; i < 3; ++i) {
            for (unsigned j = 0; j < 3; ++j) matrix(i, j) = map_(i, j);
            offset[i] = map_(i, 3);
        }
        SetMatrix(matrix);
        SetOffset(offset);
        aligned_ = axis_aligned(grid.affine) && axis_aligned(source.affine);
        if (aligned_) {
            // nilearn's arithmetic: LAPACK inverts a diagonal affine to 1/s and -t·(1/s), the product
            // gives zoom a and offset b, and scipy's zoom_shift samples (k + b/a)·a.
            for (int axis = 0; axis < 3; ++axis) {
                const double inverse = 1.0 / source.affine(axis, axis);
                zoom_[axis] = inverse * grid.affine(axis, axis);
                const double offset_axis = inverse * grid.affine(axis, 3) + (-source.affine(axis, 3) * inverse);
                shift_[axis] = offset_axis / zoom_[axis];
            }
        }
    }

    OutputPointType TransformPoint(const InputPointType& point) const override {
        OutputPointType out;
        if (aligned_) {
            for (unsigned axis = 0; axis < 3; ++axis) out[axis] = (point[axis] + shift_[axis]) * zoom_[axis];
            return out;
        }
        Eigen::Vector4d c = map_ * Eigen::Vector4d(point[0], point[1], point[2], 1.0);
        // Eigen and LAPACK invert a rotated affine with different rounding: a point that lies on a voxel
        // edge or half-way in exact arithmetic is put exactly there.
        for (unsigned axis = 0; axis < 3; ++axis) {
            const double half = std::round(2.0 * c[static_cast<int>(axis)]) / 2.0;
            if (std::abs(c[static_cast<int>(axis)] - half) < 1e-9) c[static_cast<int>(axis)] = half;
            out[axis] = c[static_cast<int>(axis)];
        }
        return out;
    }

    /// Not "linear" for the filter: it then evaluates TransformPoint at every voxel instead of
    /// interpolating along scan lines.
    TransformCategoryEnum GetTransformCategory() const override {
        return TransformCategoryEnum::UnknownTransformCategory;
    }

protected:
    NilearnVoxelMap() = default;

private:
    Affine map_ = Affine::Identity();
    bool aligned_ = false;
    std::array<double, 3> zoom_{1.0, 1.0, 1.0};
    std::array<double, 3> shift_{0.0, 0.0, 0.0};
};

/// scipy.ndimage's order-0 sampling, mode 'constant'.
class ScipyNearest : public itk::InterpolateImageFunction<IndexImage, double> {
public:
    using Self = ScipyNearest;
    using Superclass = itk::InterpolateImageFunction<IndexImage, double>;
    using Pointer = itk::SmartPointer<Self>;
    itkNewMacro(Self);
    using Superclass::IsInsideBuffer;

    bool IsInsideBuffer(const ContinuousIndexType& index) const override {
        const auto size = GetInputImage()->GetBufferedRegion().GetSize();
        for (unsigned axis = 0; axis < 3; ++axis) {
            if (!(index[axis] >= 0.0 && index[axis] <= static_cast<double>(size[axis] - 1))) return false;
        }
        return true;
    }

    OutputType EvaluateAtContinuousIndex(const ContinuousIndexType& index) const override {
        IndexType nearest;
        for (unsigned axis = 0; axis < 3; ++axis) {
            nearest[axis] = static_cast<IndexValueType>(std::floor(index[axis] + 0.5));
        }
        return static_cast<OutputType>(GetInputImage()->GetPixel(nearest));
    }

    SizeType GetRadius() const override { return SizeType(); }

protected:
    ScipyNearest() = default;
};

}  // namespace

std::vector<std::int64_t> nearest_voxels(const ImageGeometry& grid, const ImageGeometry& source) {
    std::vector<std::int64_t> result(static_cast<std::size_t>(grid.voxels()), -1);
    if (grid.same_grid(source, 1e-6)) {
        std::iota(result.begin(), result.end(), std::int64_t{0});
        return result;
    }
    // The source in ITK's unit geometry, each voxel holding its linear index (NIfTI order = ITK order).
    auto indices = IndexImage::New();
    IndexImage::SizeType source_size;
    for (unsigned axis = 0; axis < 3; ++axis) source_size[axis] = static_cast<itk::SizeValueType>(source.dims[axis]);
    indices->SetRegions(IndexImage::RegionType(source_size));
    indices->Allocate();
    std::iota(indices->GetBufferPointer(), indices->GetBufferPointer() + source.voxels(), std::int64_t{0});

    auto map = NilearnVoxelMap::New();
    map->set(grid, source);
    using Filter = itk::ResampleImageFilter<IndexImage, IndexImage, double, double>;
    auto filter = Filter::New();
    filter->SetInput(indices);
    filter->SetTransform(map);
    filter->SetInterpolator(ScipyNearest::New());
    filter->SetDefaultPixelValue(-1);
    IndexImage::SizeType grid_size;
    for (unsigned axis = 0; axis < 3; ++axis) grid_size[axis] = static_cast<itk::SizeValueType>(grid.dims[axis]);
    filter->SetSize(grid_size);  // origin 0, spacing 1, identity direction: ITK's defaults
    // On the calling thread: callers run under rewire's own thread budget (no pool of ITK's own).
    filter->SetMultiThreader(itk::PlatformMultiThreader::New());
    filter->SetNumberOfWorkUnits(1);
    filter->Update();
    const std::int64_t* sampled = filter->GetOutput()->GetBufferPointer();
    std::copy(sampled, sampled + grid.voxels(), result.begin());
    return result;
}

}  // namespace rewire
