// ITK's transform IO, composite transforms and label resampling behind plain data (see itk_bridge.hpp for
// why ITK stays in files of its own).
#include <algorithm>
#include <cmath>
#include <mutex>
#include <sys/stat.h>

#include <itkAffineTransform.h>
#include <itkCompositeTransform.h>
#include <itkDisplacementFieldTransform.h>
#include <itkHDF5TransformIOFactory.h>
#include <itkImage.h>
#include <itkLabelImageGaussianInterpolateImageFunction.h>
#include <itkMatlabTransformIOFactory.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkPlatformMultiThreader.h>
#include <itkResampleImageFilter.h>
#include <itkTransformFactory.h>
#include <itkTransformFactoryBase.h>
#include <itkTransformFileReader.h>
#include <itkTransformFileWriter.h>
#include <itkTxtTransformIOFactory.h>

#include "itk_bridge.hpp"
#include "rewire/core/error.hpp"

namespace rewire::detail {
namespace {

using Transform = itk::Transform<double, 3, 3>;
using Composite = itk::CompositeTransform<double, 3>;
using AffineMap = itk::AffineTransform<double, 3>;
using LabelImage = itk::Image<double, 3>;

const char* const kFormats = "an ANTs / ITK HDF5 composite (.h5), an ITK text transform (.txt, .tfm) or an "
                             "ANTs / ITK MATLAB affine (.mat)";

std::string one_line(const itk::ExceptionObject& e) {
    std::string text = e.GetDescription();
    std::replace(text.begin(), text.end(), '\n', ' ');
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

/// ITK finds transform readers and transform classes through factories; a program that does not use
/// ITK's CMake-generated registration must register them itself, once.
void register_factories() {
    static std::once_flag once;
    std::call_once(once, [] {
        itk::HDF5TransformIOFactory::RegisterOneFactory();
        itk::TxtTransformIOFactory::RegisterOneFactory();
        itk::MatlabTransformIOFactory::RegisterOneFactory();
        itk::TransformFactoryBase::RegisterDefaultTransforms();
        itk::TransformFactory<itk::DisplacementFieldTransform<double, 3>>::RegisterTransform();
    });
}

/// Everything a transform file holds, as ITK reads it.
itk::TransformFileReaderTemplate<double>::TransformListType read_list(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) throw IoError(path + ": transform file does not exist");
    if (!S_ISREG(info.st_mode)) throw IoError(path + ": not a regular file (a transform file was expected)");
    register_factories();
    auto reader = itk::TransformFileReaderTemplate<double>::New();
    reader->SetFileName(path);
    try {
        reader->Update();
    } catch (const itk::ExceptionObject& e) {
        throw InvalidInput(path + ": not a transform file ITK reads (expected " + kFormats + "): " + one_line(e));
    }
    auto list = *reader->GetTransformList();
    if (list.empty()) throw InvalidInput(path + ": holds no transform");
    return list;
}

/// The one 3D transform a file holds (a composite counts as one).
Transform::Pointer read_transform(const std::string& path) {
    const auto list = read_list(path);
    const std::string first = list.front()->GetNameOfClass();
    if (list.size() > 1 && first != "CompositeTransform") {
        throw InvalidInput(path + ": holds " + std::to_string(list.size()) +
                           " transforms that are not one composite; give them as separate files");
    }
    Transform::Pointer transform = dynamic_cast<Transform*>(list.front().GetPointer());
    if (!transform) {
        throw InvalidInput(path + ": holds a " + list.front()->GetTransformTypeAsString() +
                           ", not a transform of 3D points");
    }
    return transform;
}

std::string kinds_of(const Transform* transform) {
    std::string text = transform->GetTransformTypeAsString();
    if (const auto* composite = dynamic_cast<const Composite*>(transform)) {
        text += " of";
        for (unsigned n = 0; n < composite->GetNumberOfTransforms(); ++n) {
            text += (n ? ", " : " ") + composite->GetNthTransformConstPointer(n)->GetTransformTypeAsString();
        }
    }
    return text;
}

/// Adds `transform` to `chain` so that it is applied where it stands (a composite's components flattened
/// in its own order: the chain applies the last added first, as a composite does).
void append(Composite* chain, const Transform::Pointer& transform) {
    if (auto* composite = dynamic_cast<Composite*>(transform.GetPointer())) {
        for (unsigned n = 0; n < composite->GetNumberOfTransforms(); ++n) append(chain, composite->GetNthTransform(n));
        return;
    }
    chain->AddTransform(transform);
}

/// The chain as one composite, in antsApplyTransforms' order (the last listed applied first).
void append_chain(Composite* composite, const std::vector<ItkTransformRef>& chain) {
    for (const auto& file : chain) {
        Transform::Pointer transform = read_transform(file.path);
        if (file.invert) {
            auto inverse = transform->GetInverseTransform();
            Transform::Pointer inverted = dynamic_cast<Transform*>(inverse.GetPointer());
            if (!inverted) {
                throw InvalidInput(file.path + ": cannot be inverted: it holds " + kinds_of(transform) +
                                   ", and a displacement field's inverse is not stored in it; give the "
                                   "transform of the opposite direction (the from-/to- spaces swapped) "
                                   "instead of inverting this one");
            }
            transform = inverted;
        }
        append(composite, transform);
    }
}

AffineMap::Pointer affine_of(const Map34& map) {
    auto affine = AffineMap::New();
    AffineMap::MatrixType matrix;
    AffineMap::OutputVectorType offset;
    for (unsigned row = 0; row < 3; ++row) {
        for (unsigned column = 0; column < 3; ++column) matrix(row, column) = map[4 * row + column];
        offset[row] = map[4 * row + 3];
    }
    affine->SetMatrix(matrix);
    affine->SetOffset(offset);
    return affine;
}

/// Runs `filter` on `threads` threads of ITK's plain thread pool (not its global pool: rewire keeps
/// its own thread budget).
template <typename Filter>
void run_on(Filter* filter, int threads, const std::string& what) {
    auto threader = itk::PlatformMultiThreader::New();
    threader->SetMaximumNumberOfThreads(std::max(1, threads));
    threader->SetNumberOfWorkUnits(std::max(1, threads));
    filter->SetMultiThreader(threader);
    filter->SetNumberOfWorkUnits(std::max(1, threads));
    try {
        filter->Update();
    } catch (const itk::ExceptionObject& e) {
        throw InvalidInput(what + " failed in ITK: " + one_line(e));
    }
}

template <typename T>
void write_as(const std::string& path, const Map34& map, const ItkField* field) {
    using Affine = itk::AffineTransform<T, 3>;
    auto affine = Affine::New();
    typename Affine::MatrixType matrix;
    typename Affine::OutputVectorType offset;
    for (unsigned row = 0; row < 3; ++row) {
        for (unsigned column = 0; column < 3; ++column) matrix(row, column) = static_cast<T>(map[4 * row + column]);
        offset[row] = static_cast<T>(map[4 * row + 3]);
    }
    affine->SetMatrix(matrix);
    affine->SetOffset(offset);
    auto writer = itk::TransformFileWriterTemplate<T>::New();
    writer->SetFileName(path);
    if (!field) {
        writer->SetInput(affine);
        writer->Update();
        return;
    }
    using FieldTransform = itk::DisplacementFieldTransform<T, 3>;
    using FieldImage = typename FieldTransform::DisplacementFieldType;
    auto image = FieldImage::New();
    typename FieldImage::SizeType size;
    typename FieldImage::SpacingType spacing;
    typename FieldImage::PointType origin;
    typename FieldImage::DirectionType direction;
    for (unsigned column = 0; column < 3; ++column) {
        size[column] = static_cast<itk::SizeValueType>(field->grid.size[column]);
        double norm = 0.0;
        for (unsigned row = 0; row < 3; ++row) norm += field->grid.index_to_lps[4 * row + column] * field->grid.index_to_lps[4 * row + column];
        spacing[column] = std::sqrt(norm);
        for (unsigned row = 0; row < 3; ++row) direction(row, column) = field->grid.index_to_lps[4 * row + column] / spacing[column];
        origin[column] = field->grid.index_to_lps[4 * column + 3];
    }
    image->SetRegions(typename FieldImage::RegionType(size));
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
    image->Allocate();
    const std::size_t voxels = static_cast<std::size_t>(field->grid.size[0] * field->grid.size[1] * field->grid.size[2]);
    auto* out = image->GetBufferPointer();
    for (std::size_t v = 0; v < voxels; ++v) {
        for (unsigned axis = 0; axis < 3; ++axis) out[v][axis] = static_cast<T>(field->vectors[3 * v + axis]);
    }
    auto displacement = FieldTransform::New();
    displacement->SetDisplacementField(image);
    auto composite = itk::CompositeTransform<T, 3>::New();
    composite->AddTransform(affine);        // applied last
    composite->AddTransform(displacement);  // applied first, as in antsRegistration's composites
    writer->SetInput(composite);
    writer->Update();
}

}  // namespace

std::vector<std::string> itk_transform_kinds(const std::string& path) {
    std::vector<std::string> kinds;
    for (const auto& transform : read_list(path)) {
        kinds.push_back(transform->GetTransformTypeAsString());
        if (const auto* composite = dynamic_cast<const Composite*>(transform.GetPointer())) {
            for (unsigned n = 0; n < composite->GetNumberOfTransforms(); ++n) {
                kinds.push_back(composite->GetNthTransformConstPointer(n)->GetTransformTypeAsString());
            }
            break;  // the list repeats a composite's components after it
        }
    }
    return kinds;
}

std::array<double, 3> itk_map_point(const std::vector<ItkTransformRef>& chain, const std::array<double, 3>& point) {
    auto composite = Composite::New();
    append_chain(composite, chain);
    Composite::InputPointType in;
    for (unsigned axis = 0; axis < 3; ++axis) in[axis] = point[axis];
    const auto out = composite->TransformPoint(in);
    return {out[0], out[1], out[2]};
}

std::vector<double> itk_warp_labels(const ItkWarp& warp) {
    // Both images in ITK's unit geometry (a voxel's physical point is its index); the grids' own geometry
    // rides in the transform: reference index → LPS (applied first), the chain, LPS → atlas index (applied
    // last). Any affine, sheared ones included, is then exactly rewire's (nibabel's) geometry.
    auto lps_to_atlas = AffineMap::New();
    if (!affine_of(warp.atlas.index_to_lps)->GetInverse(lps_to_atlas)) {
        throw InvalidInput("the atlas' affine is singular");
    }
    auto composite = Composite::New();
    composite->AddTransform(lps_to_atlas);
    append_chain(composite, warp.chain);
    composite->AddTransform(affine_of(warp.reference.index_to_lps));

    auto atlas = LabelImage::New();
    LabelImage::SizeType atlas_size;
    LabelImage::SizeType reference_size;
    for (unsigned axis = 0; axis < 3; ++axis) {
        atlas_size[axis] = static_cast<itk::SizeValueType>(warp.atlas.size[axis]);
        reference_size[axis] = static_cast<itk::SizeValueType>(warp.reference.size[axis]);
    }
    atlas->SetRegions(LabelImage::RegionType(atlas_size));
    const auto atlas_voxels = static_cast<std::size_t>(warp.atlas.size[0] * warp.atlas.size[1] * warp.atlas.size[2]);
    // The caller's labels, read in place (ITK does not own or free them).
    atlas->GetPixelContainer()->SetImportPointer(const_cast<double*>(warp.labels), atlas_voxels, false);

    using Filter = itk::ResampleImageFilter<LabelImage, LabelImage, double, double>;
    auto filter = Filter::New();
    filter->SetInput(atlas);
    filter->SetTransform(composite);
    if (warp.label_gaussian) {
        using Gaussian = itk::LabelImageGaussianInterpolateImageFunction<LabelImage, double>;
        auto interpolator = Gaussian::New();
        Gaussian::ArrayType sigma;
        for (unsigned axis = 0; axis < 3; ++axis) sigma[axis] = warp.sigma_voxels[axis];
        interpolator->SetSigma(sigma);
        interpolator->SetAlpha(warp.alpha);
        filter->SetInterpolator(interpolator);
    } else {
        filter->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<LabelImage, double>::New());
    }
    filter->SetDefaultPixelValue(0.0);
    filter->SetSize(reference_size);
    run_on(filter.GetPointer(), warp.threads, "warping the atlas");
    const double* sampled = filter->GetOutput()->GetBufferPointer();
    const auto reference_voxels =
        static_cast<std::size_t>(warp.reference.size[0] * warp.reference.size[1] * warp.reference.size[2]);
    return std::vector<double>(sampled, sampled + reference_voxels);
}

void itk_write_transform(const std::string& path, const Map34& affine, const ItkField* field, bool single_precision) {
    register_factories();
    try {
        if (single_precision) {
            write_as<float>(path, affine, field);
        } else {
            write_as<double>(path, affine, field);
        }
    } catch (const itk::ExceptionObject& e) {
        throw IoError(path + ": ITK cannot write the transform: " + one_line(e));
    }
}

}  // namespace rewire::detail
