// rewire — streamed voxel → region reduction of a 4D BOLD image.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/core/error.hpp"
#include "rewire/io/atlas.hpp"
#include "rewire/io/nifti.hpp"
#include "rewire/core/types.hpp"

namespace rewire {

/// Region signals of one BOLD run, before any cleaning.
struct Extraction {
    TimeSeries signals;            ///< T × N region signals (NaN column: region with no finite voxel)
    Eigen::VectorXd coverage;      ///< N: fraction of each region's voxels on the grid that carry
                                   ///< finite data in every volume (and lie in the mask)
    std::vector<std::string> names;      ///< N region names
    std::vector<std::int64_t> values;    ///< N label values
    ImageGeometry geometry;        ///< grid, volumes and TR of the BOLD image
};

/// Options of extract().
struct ExtractOptions {
    /// Threads for the reduction (0: REWIRE_NUM_THREADS, else OMP_NUM_THREADS, else all cores but
    /// the one that inflates). Results are bit-identical for every thread count.
    int threads = 0;
    /// Volumes inflated ahead of the reduction (ring size), ≥ 2.
    int ring = 4;
    /// Called after each reduced volume with (volumes done, total); may be empty.
    std::function<void(std::int64_t, std::int64_t)> progress;

    /// Throws InvalidInput on a negative thread count or a ring of fewer than 2 volumes.
    void validate() const {
        if (threads < 0)
            throw InvalidInput("extract: threads must be >= 0 (0: automatic), got " + std::to_string(threads));
        if (ring < 2)
            throw InvalidInput("extract: ring must hold at least 2 volumes, got " + std::to_string(ring));
    }
};

/// Accumulates region signals from raw volumes, one at a time, in O(voxels + T × N) memory.
///
/// Each region is summed by one thread, always in ascending voxel order, so the result does not
/// depend on the number of threads. Non-finite voxels are left out of that volume's mean.
class ParcelReducer {
public:
    ParcelReducer(const Parcellation& parcellation, NiftiDataType datatype, double scl_slope,
                  double scl_inter, std::int64_t volumes, int threads = 1);

    /// Adds one volume of native-order voxels of the datatype given to the constructor.
    void add(const void* raw_volume);

    /// Region signals and coverage for the volumes added so far.
    Extraction finish() const;

private:
    template <typename T>
    void add_typed(const T* data);

    const Parcellation& parcellation_;
    NiftiDataType datatype_;
    double slope_;
    double inter_;
    int threads_;
    std::int64_t added_ = 0;
    Eigen::MatrixXd sums_;                  // T × N (row-major use: one row per volume)
    std::vector<std::uint8_t> ever_bad_;    // per voxel entry: seen non-finite
};

/// Extracts region signals from `bold_path` in one streamed pass: one thread inflates volumes into a
/// small ring while the others reduce. `mask_path` (optional) restricts regions to a brain mask.
Extraction extract(const std::string& bold_path, const Atlas& atlas, const std::string& mask_path = "",
                   const ExtractOptions& options = {});

}  // namespace rewire
