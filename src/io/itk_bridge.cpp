// ITK's ImageIO and ResampleImageFilter behind plain data (see itk_bridge.hpp for why this file is alone).
#include "itk_bridge.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <itkAffineTransform.h>
#include <itkImage.h>
#include <itkImageIOBase.h>
#include <itkInterpolateImageFunction.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>
#include <itkPlatformMultiThreader.h>
#include <itkResampleImageFilter.h>

#include "rewire/core/checked.hpp"
#include "rewire/core/error.hpp"
#include "widen_in_place.hpp"

namespace rewire::detail {
namespace {

const char* name_of(ItkFormat format) {
    switch (format) {
        case ItkFormat::nifti: return "NIfTI";
        case ItkFormat::nrrd: return "NRRD";
        case ItkFormat::metaimage: return "MetaImage";
        case ItkFormat::analyze: return "Analyze 7.5";
    }
    return "image";
}

/// ITK's exception text on one line (its descriptions may span several).
std::string description(const itk::ExceptionObject& e) {
    std::string text = e.GetDescription();
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

itk::ImageIOBase::Pointer io_for(ItkFormat format) {
    switch (format) {
        case ItkFormat::nrrd: return itk::NrrdImageIO::New().GetPointer();
        case ItkFormat::metaimage: return itk::MetaImageIO::New().GetPointer();
        case ItkFormat::analyze: {
            auto io = itk::NiftiImageIO::New();
            // Analyze 7.5 as ITK 4 and later read it (orientation from the header), without the
            // deprecation warning of the default flavour.
            io->SetLegacyAnalyze75Mode(itk::NiftiImageIOEnums::Analyze75Flavor::AnalyzeITK4);
            return io.GetPointer();
        }
        case ItkFormat::nifti: break;
    }
    return itk::NiftiImageIO::New().GetPointer();
}

template <typename T>
void to_double(const void* raw, std::size_t count, double* out) {
    const T* values = static_cast<const T*>(raw);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<double>(values[i]);
}

/// ITK's pixel components in `raw` as float64.
void convert(itk::IOComponentEnum type, const void* raw, std::size_t count, double* out) {
    using C = itk::IOComponentEnum;
    switch (type) {
        case C::UCHAR: return to_double<unsigned char>(raw, count, out);
        case C::CHAR: return to_double<signed char>(raw, count, out);
        case C::USHORT: return to_double<std::uint16_t>(raw, count, out);
        case C::SHORT: return to_double<std::int16_t>(raw, count, out);
        case C::UINT: return to_double<std::uint32_t>(raw, count, out);
        case C::INT: return to_double<std::int32_t>(raw, count, out);
        case C::ULONG: return to_double<unsigned long>(raw, count, out);
        case C::LONG: return to_double<long>(raw, count, out);
        case C::ULONGLONG: return to_double<unsigned long long>(raw, count, out);
        case C::LONGLONG: return to_double<long long>(raw, count, out);
        case C::FLOAT: return to_double<float>(raw, count, out);
        case C::DOUBLE: return to_double<double>(raw, count, out);
        default: break;
    }
}

bool convertible(itk::IOComponentEnum type) {
    using C = itk::IOComponentEnum;
    return type != C::UNKNOWNCOMPONENTTYPE && itk::ImageIOBase::GetComponentTypeAsString(type) != "unknown" &&
           type != C::LDOUBLE;
}

// ------------------------------------------------------------------------------------------ resampling

using IndexImage = itk::Image<std::int64_t, 3>;

/// source⁻¹ ∘ grid, an itk::AffineTransform of voxel coordinates, evaluated as nilearn evaluates it.
class NilearnVoxelMap : public itk::AffineTransform<double, 3> {
public:
    using Self = NilearnVoxelMap;
    using Superclass = itk::AffineTransform<double, 3>;
    using Pointer = itk::SmartPointer<Self>;
    itkNewMacro(Self)

    void set(const VoxelMap& map) {
        map_ = map;
        MatrixType matrix;
        OutputVectorType offset;
        for (unsigned i = 0; i < 3; ++i) {
            for (unsigned j = 0; j < 3; ++j) matrix(i, j) = map.map[4 * i + j];
            offset[i] = map.map[4 * i + 3];
        }
        SetMatrix(matrix);
        SetOffset(offset);
    }

    OutputPointType TransformPoint(const InputPointType& point) const override {
        OutputPointType out;
        if (map_.aligned) {
            // scipy's zoom/shift as nilearn calls it: (k + b/a)·a.
            for (unsigned axis = 0; axis < 3; ++axis) out[axis] = (point[axis] + map_.shift[axis]) * map_.zoom[axis];
            return out;
        }
        for (unsigned axis = 0; axis < 3; ++axis) {
            const double* row = &map_.map[4 * axis];
            double c = row[0] * point[0] + row[1] * point[1] + row[2] * point[2] + row[3];
            // Eigen and LAPACK invert a rotated affine with different rounding: a point that lies on a
            // voxel edge or half-way in exact arithmetic is put exactly there.
            const double half = std::round(2.0 * c) / 2.0;
            if (std::abs(c - half) < 1e-9) c = half;
            out[axis] = c;
        }
        return out;
    }

    /// Not "linear" for the filter: it then evaluates TransformPoint at every voxel instead of
    /// interpolating along scan lines, whose rounding would move points that lie exactly half-way.
    TransformCategoryEnum GetTransformCategory() const override {
        return TransformCategoryEnum::UnknownTransformCategory;
    }

protected:
    NilearnVoxelMap() = default;

private:
    VoxelMap map_;
};

/// scipy.ndimage's order-0 sampling in mode 'constant': inside only when 0 <= x <= n - 1 (ITK's own
/// nearest-neighbour interpolator also takes the half voxel beyond each edge), then floor(x + 0.5).
class ScipyNearest : public itk::InterpolateImageFunction<IndexImage, double> {
public:
    using Self = ScipyNearest;
    using Superclass = itk::InterpolateImageFunction<IndexImage, double>;
    using Pointer = itk::SmartPointer<Self>;
    itkNewMacro(Self)
    using Superclass::IsInsideBuffer;

    bool IsInsideBuffer(const ContinuousIndexType& index) const override {
        for (unsigned axis = 0; axis < 3; ++axis) {
            if (!(index[axis] >= 0.0 && index[axis] <= static_cast<double>(this->m_EndIndex[axis]))) return false;
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

ItkVolume itk_read(const std::string& path, ItkFormat format, bool voxels) {
    auto io = io_for(format);
    ItkVolume volume;
    if (format != ItkFormat::nifti && !io->CanReadFile(path.c_str())) {
        throw InvalidInput(path + ": not a readable " + std::string(name_of(format)) + " file");
    }
    io->SetFileName(path);
    try {
        io->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
        if (format == ItkFormat::nifti) {
            volume.header_refused = true;
            volume.refusal = description(e);
            return volume;
        }
        throw InvalidInput(path + ": ITK cannot read the " + std::string(name_of(format)) + " header: " +
                           description(e));
    }
    volume.dimensions = io->GetNumberOfDimensions();
    if (volume.dimensions < 2 || volume.dimensions > 4) {
        throw InvalidInput(path + ": a " + std::to_string(volume.dimensions) +
                           "-dimensional image; expected a 3D image (or a 4D stack of 3D volumes)");
    }
    if (io->GetNumberOfComponents() != 1) {
        throw InvalidInput(path + ": " + std::to_string(io->GetNumberOfComponents()) + " components per voxel (" +
                           itk::ImageIOBase::GetPixelTypeAsString(io->GetPixelType()) +
                           "); expected one value per voxel");
    }
    for (unsigned axis = 0; axis < volume.dimensions; ++axis) {
        volume.size[axis] = static_cast<std::int64_t>(io->GetDimensions(axis));
        if (axis >= 3) continue;
        volume.spacing[axis] = io->GetSpacing(axis);
        volume.origin[axis] = io->GetOrigin(axis);
        const std::vector<double> direction = io->GetDirection(axis);
        for (unsigned row = 0; row < std::min(3u, volume.dimensions); ++row) {
            volume.direction[3 * row + axis] = direction[row];
        }
        if (volume.dimensions == 4 && direction[3] != 0.0) volume.fourth_axis_mixed = true;
    }
    if (volume.dimensions == 4) {
        const std::vector<double> fourth = io->GetDirection(3);
        for (unsigned row = 0; row < 3; ++row) volume.fourth_axis_mixed |= fourth[row] != 0.0;
    }
    const auto type = io->GetComponentType();
    volume.component = itk::ImageIOBase::GetComponentTypeAsString(type);
    if (!voxels) return volume;

    const auto count = checked_product({volume.size[0], volume.size[1], volume.size[2], volume.size[3],
                                        std::int64_t{sizeof(double)}});
    if (!count) throw InvalidInput(path + ": dimensions too large for memory");
    if (format != ItkFormat::nifti && (!convertible(type) || io->GetComponentSize() > sizeof(double))) {
        throw InvalidInput(path + ": unsupported voxel type " + volume.component);
    }
    if (format == ItkFormat::nifti) {
        // The stored values: rewire applies scl_slope / scl_inter itself, in double as nibabel does (ITK
        // would scale into float32). With the scaling set aside after the header is read, ITK 5.2 copies
        // the stored values as they are.
        auto* nifti = dynamic_cast<itk::NiftiImageIO*>(io.GetPointer());
        nifti->SetRescaleSlope(1.0);
        nifti->SetRescaleIntercept(0.0);
    }
    itk::ImageIORegion region(volume.dimensions);
    for (unsigned axis = 0; axis < volume.dimensions; ++axis) {
        region.SetIndex(axis, 0);
        region.SetSize(axis, static_cast<itk::SizeValueType>(volume.size[axis]));
    }
    io->SetIORegion(region);
    // 8 bytes per value: wide enough for every stored type.
    volume.values.resize(static_cast<std::size_t>(*count / std::int64_t{sizeof(double)}));
    try {
        io->Read(volume.values.data());
    } catch (const itk::ExceptionObject& e) {
        throw IoError(path + ": ITK cannot read the voxels: " + description(e));
    }
    if (format != ItkFormat::nifti) {
        widen_in_place(volume.values, io->GetComponentSize(),
                       [type](const unsigned char* raw, std::size_t values, double* out) { convert(type, raw, values, out); });
    }
    return volume;
}

std::vector<std::int64_t> itk_nearest(const std::array<std::int64_t, 3>& grid_dims,
                                      const std::array<std::int64_t, 3>& source_dims, const VoxelMap& map) {
    // The source in ITK's unit geometry (origin 0, spacing 1, identity direction: a voxel's physical
    // point is its index), each voxel holding its own linear index (NIfTI order = ITK order).
    auto indices = IndexImage::New();
    IndexImage::SizeType source_size;
    IndexImage::SizeType grid_size;
    for (unsigned axis = 0; axis < 3; ++axis) {
        source_size[axis] = static_cast<itk::SizeValueType>(source_dims[axis]);
        grid_size[axis] = static_cast<itk::SizeValueType>(grid_dims[axis]);
    }
    indices->SetRegions(IndexImage::RegionType(source_size));
    indices->Allocate();
    const auto source_voxels = static_cast<std::size_t>(source_dims[0] * source_dims[1] * source_dims[2]);
    std::iota(indices->GetBufferPointer(), indices->GetBufferPointer() + source_voxels, std::int64_t{0});

    auto transform = NilearnVoxelMap::New();
    transform->set(map);
    using Filter = itk::ResampleImageFilter<IndexImage, IndexImage, double, double>;
    auto filter = Filter::New();
    filter->SetInput(indices);
    filter->SetTransform(transform);
    filter->SetInterpolator(ScipyNearest::New());
    filter->SetDefaultPixelValue(-1);
    filter->SetSize(grid_size);  // output in ITK's unit geometry too (the filter's defaults)
    // On the calling thread: callers run under rewire's own thread budget, not a pool of ITK's.
    filter->SetMultiThreader(itk::PlatformMultiThreader::New());
    filter->SetNumberOfWorkUnits(1);
    try {
        filter->Update();
    } catch (const itk::ExceptionObject& e) {
        throw InvalidInput("resampling onto the BOLD grid failed in ITK: " + description(e));
    }
    const std::int64_t* sampled = filter->GetOutput()->GetBufferPointer();
    const auto grid_voxels = static_cast<std::size_t>(grid_dims[0] * grid_dims[1] * grid_dims[2]);
    return std::vector<std::int64_t>(sampled, sampled + grid_voxels);
}

}  // namespace rewire::detail
