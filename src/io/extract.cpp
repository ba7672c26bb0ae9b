// Streamed extraction: an inflating thread feeds a ring of raw volumes to the ParcelReducer.
#include "rewire/io/extract.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <type_traits>

#include "rewire/core/error.hpp"
#include "rewire/core/parallel.hpp"

namespace rewire {

ParcelReducer::ParcelReducer(const Parcellation& parcellation, NiftiDataType datatype, double scl_slope,
                             double scl_inter, std::int64_t volumes, int threads)
    : parcellation_(parcellation),
      datatype_(datatype),
      slope_(scl_slope),
      inter_(scl_inter),
      threads_(std::max(1, threads)),
      sums_(parcellation.regions(), volumes),
      ever_bad_(parcellation.voxels.size(), 0) {}

namespace {

// Regions per task: a few, handed out in order as threads come free, because region sizes differ by
// orders of magnitude. Each region is summed whole by one thread, in ascending voxel order.
constexpr std::int64_t kRegionsPerTask = 4;

/// Runs reduce(r) for every region r, tasks of kRegionsPerTask regions over `threads` threads.
template <typename Reduce>
void for_each_region(std::int64_t regions, int threads, const Reduce& reduce) {
    const std::int64_t tasks = (regions + kRegionsPerTask - 1) / kRegionsPerTask;
    parallel_for(tasks, Parallelism{threads, 1}, [&](std::int64_t task) {
        const std::int64_t end = std::min(regions, (task + 1) * kRegionsPerTask);
        for (std::int64_t r = task * kRegionsPerTask; r < end; ++r)
            reduce(r);
    });
}

// The reductions of one region's voxel entries [begin, end) take everything by value: copies the
// compiler keeps in registers, where a byte store (ever_bad) would otherwise force it to reload
// captured variables on every voxel.

/// Mean of unscaled 8- or 16-bit voxels. Every partial sum is an integer far below 2^53, so the double
/// sum in ascending voxel order is exact and equals this int64 sum bit for bit. The integer adds do not
/// wait on each other's rounding (a floating-point add chain costs its latency per voxel), which makes
/// it about 2-3× cheaper.
template <typename T>
double integer_mean(const T* data, const std::int64_t* voxels, std::int64_t begin, std::int64_t end) {
    std::int64_t sum = 0;
    for (auto e = begin; e < end; ++e)
        sum += data[voxels[e]];
    return end > begin ? static_cast<double>(sum) / static_cast<double>(end - begin)
                       : std::numeric_limits<double>::quiet_NaN();
}

/// Mean of the finite voxels (scaled as nibabel scales: value · slope + inter) or, with `weights`, the
/// weighted sum (NaN when a voxel is not finite: the least-squares fit of a map is then undefined).
/// Non-finite voxel entries are flagged in `bad`.
template <typename T>
double region_value(const T* data, const std::int64_t* voxels, const double* weights, std::uint8_t* bad,
                    std::int64_t begin, std::int64_t end, bool scaled, double slope, double inter) {
    double sum = 0.0;
    std::int64_t finite = 0;
    for (auto e = begin; e < end; ++e) {
        double value = static_cast<double>(data[voxels[e]]);
        if (scaled)
            value = value * slope + inter;  // nibabel's order: multiply, then add
        if constexpr (std::is_floating_point_v<T>) {
            if (!std::isfinite(value)) {
                bad[e] = 1;  // voxel entry e belongs to this region alone
                continue;
            }
        }
        sum += weights != nullptr ? weights[e] * value : value;
        ++finite;
    }
    if (weights != nullptr)
        return finite == end - begin ? sum : std::numeric_limits<double>::quiet_NaN();
    return finite > 0 ? sum / static_cast<double>(finite) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

template <typename T>
void ParcelReducer::add_typed(const T* data) {
    const Parcellation& p = parcellation_;
    const bool scaled = !(slope_ == 1.0 && inter_ == 0.0);
    const double* weights = p.weights.empty() ? nullptr : p.weights.data();
    const std::int64_t* voxels = p.voxels.data();
    const std::int64_t* offsets = p.offsets.data();
    double* out = sums_.col(added_).data();  // sums_ is N × T: one contiguous column per volume
    if constexpr (std::is_integral_v<T> && sizeof(T) <= 2) {
        if (!scaled && weights == nullptr) {
            for_each_region(p.regions(), threads_, [&](std::int64_t r) {
                out[r] = integer_mean(data, voxels, offsets[r], offsets[r + 1]);
            });
            ++added_;
            return;
        }
    }
    std::uint8_t* bad = ever_bad_.data();
    const double slope = slope_;
    const double inter = inter_;
    for_each_region(p.regions(), threads_, [&](std::int64_t r) {
        out[r] = region_value(data, voxels, weights, bad, offsets[r], offsets[r + 1], scaled, slope, inter);
    });
    ++added_;
}

void ParcelReducer::add(const void* raw_volume) {
    if (added_ >= sums_.cols()) {
        throw InvalidInput("ParcelReducer: more volumes added than the " + std::to_string(sums_.cols()) +
                           " declared");
    }
    switch (datatype_) {
        case NiftiDataType::uint8:
            return add_typed(static_cast<const std::uint8_t*>(raw_volume));
        case NiftiDataType::int8:
            return add_typed(static_cast<const std::int8_t*>(raw_volume));
        case NiftiDataType::int16:
            return add_typed(static_cast<const std::int16_t*>(raw_volume));
        case NiftiDataType::uint16:
            return add_typed(static_cast<const std::uint16_t*>(raw_volume));
        case NiftiDataType::int32:
            return add_typed(static_cast<const std::int32_t*>(raw_volume));
        case NiftiDataType::uint32:
            return add_typed(static_cast<const std::uint32_t*>(raw_volume));
        case NiftiDataType::float32:
            return add_typed(static_cast<const float*>(raw_volume));
        case NiftiDataType::float64:
            return add_typed(static_cast<const double*>(raw_volume));
    }
}

Extraction ParcelReducer::finish() const {
    const Parcellation& p = parcellation_;
    Extraction result;
    result.names = p.names;
    result.values = p.values;
    result.geometry = p.grid;
    result.signals = sums_.leftCols(added_).transpose();
    if (!p.weights.empty()) {
        result.signals = result.signals * p.gram_pinv;  // least-squares fit, nilearn's NiftiMapsMasker
    }
    result.coverage.resize(p.regions());
    for (std::int64_t r = 0; r < p.regions(); ++r) {
        std::int64_t good = 0;
        for (auto e = p.offsets[static_cast<std::size_t>(r)]; e < p.offsets[static_cast<std::size_t>(r) + 1];
             ++e) {
            good += ever_bad_[static_cast<std::size_t>(e)] ? 0 : 1;
        }
        const auto total = p.atlas_voxels[static_cast<std::size_t>(r)];
        // No column is blanked here: a volume's mean is NaN only when none of the region's voxels is
        // finite in that volume (add_typed), even if every voxel misses some other volume.
        result.coverage[r] = total > 0 ? static_cast<double>(good) / static_cast<double>(total) : 0.0;
    }
    return result;
}

namespace {

/// A fixed ring of raw volume buffers between the inflating thread and the reducer.
class VolumeRing {
public:
    VolumeRing(std::size_t slots, std::size_t bytes) : buffers_(slots, std::vector<unsigned char>(bytes)) {}

    unsigned char* begin_write() {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return count_ < buffers_.size() || cancelled_; });
        return cancelled_ ? nullptr : buffers_[(head_ + count_) % buffers_.size()].data();
    }
    void end_write() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++count_;
        }
        changed_.notify_all();
    }
    /// Returns nullptr when the producer has finished and the ring is empty.
    const unsigned char* begin_read() {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return count_ > 0 || done_; });
        return count_ > 0 ? buffers_[head_].data() : nullptr;
    }
    void end_read() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            head_ = (head_ + 1) % buffers_.size();
            --count_;
        }
        changed_.notify_all();
    }
    void finish(std::exception_ptr error) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_ = true;
            error_ = error;
        }
        changed_.notify_all();
    }
    void cancel() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            cancelled_ = true;
        }
        changed_.notify_all();
    }
    std::exception_ptr error() {
        std::lock_guard<std::mutex> lock(mutex_);
        return error_;
    }

private:
    std::vector<std::vector<unsigned char>> buffers_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    bool done_ = false;
    bool cancelled_ = false;
    std::exception_ptr error_;
};

}  // namespace

Extraction extract(const std::string& bold_path, const Atlas& atlas, const std::string& mask_path,
                   const ExtractOptions& options) {
    NiftiStream stream(bold_path);
    const NiftiHeader& header = stream.header();
    if (header.dim[0] < 4 || header.geometry.volumes < 2) {
        throw InvalidInput(bold_path + ": expected a 4D BOLD image with at least 2 volumes, got " +
                           std::to_string(header.geometry.volumes) +
                           " volume(s) (dim[0] = " + std::to_string(header.dim[0]) + ")");
    }
    Image3D mask;
    if (!mask_path.empty()) {
        mask = read_image3d(mask_path);
        if (mask.geometry.volumes != 1) {
            throw InvalidInput(mask_path + ": a brain mask must be a 3D image");
        }
    }
    Parcellation parcellation;
    try {
        parcellation = atlas.on_grid(header.geometry, mask_path.empty() ? nullptr : &mask);
    } catch (const InvalidInput& e) {
        throw InvalidInput(std::string(e.what()) + " (BOLD image " + bold_path + ")");
    }
    const int threads = resolve_threads(options.threads, 1);
    ParcelReducer reducer(parcellation, header.datatype, header.scl_slope, header.scl_inter,
                          header.geometry.volumes, threads);
    const std::int64_t total = stream.volumes();

    VolumeRing ring(static_cast<std::size_t>(std::max(2, options.ring)),
                    static_cast<std::size_t>(stream.volume_bytes()));
    std::thread inflater([&] {
        try {
            while (unsigned char* slot = ring.begin_write()) {
                if (!stream.read_raw(slot))
                    break;
                ring.end_write();
            }
            ring.finish(nullptr);
        } catch (...) {
            ring.finish(std::current_exception());
        }
    });
    try {
        std::int64_t done = 0;
        while (const unsigned char* volume = ring.begin_read()) {
            reducer.add(volume);
            ring.end_read();
            ++done;
            if (options.progress)
                options.progress(done, total);
        }
    } catch (...) {
        ring.cancel();
        inflater.join();
        throw;
    }
    inflater.join();
    if (auto error = ring.error()) {
        std::rethrow_exception(error);
    }
    Extraction result = reducer.finish();
    result.geometry = header.geometry;
    return result;
}

}  // namespace rewire
