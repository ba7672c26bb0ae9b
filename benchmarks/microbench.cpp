// rewire_microbench — Google Benchmark micro-benchmarks of the kernels behind extraction and connectivity.
//
//   BM_correlation/N            rewire::correlation of a 1200 × N matrix (N = 116 AAL, 400 Schaefer, 1000)
//   BM_reducer_add/type/threads ParcelReducer::add on one 91×109×91 (2 mm MNI) volume, 400 parcels
//
// Inputs come from fixed seeds. Run: build/bench/benchmarks/rewire_microbench [--benchmark_filter=...]
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "rewire/rewire.hpp"

namespace {

void BM_correlation(benchmark::State& state) {
    const Eigen::Index t = 1200;
    const Eigen::Index n = state.range(0);
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd signals(t, n);
    for (Eigen::Index j = 0; j < n; ++j) {
        for (Eigen::Index i = 0; i < t; ++i) signals(i, j) = normal(rng);
    }
    for (auto _ : state) {
        rewire::Connectome r = rewire::correlation(signals);
        benchmark::DoNotOptimize(r.data());
        benchmark::ClobberMemory();
    }
    state.counters["T"] = static_cast<double>(t);
}
BENCHMARK(BM_correlation)->Arg(116)->Arg(400)->Arg(1000)->Unit(benchmark::kMillisecond);

/// A 400-parcel partition of an ellipsoidal "brain" on the 2 mm MNI grid (about 230,000 voxels, as
/// the MNI152 brain mask): each voxel goes to the nearest of 400 seeds drawn inside the ellipsoid,
/// which gives compact parcels like a k-means partition.
const rewire::Parcellation& parcels400() {
    static const rewire::Parcellation parcellation = [] {
        rewire::Parcellation p;
        p.grid.dims = {91, 109, 91};
        p.grid.voxel_size = {2.0, 2.0, 2.0};
        p.grid.affine << -2, 0, 0, 90, 0, 2, 0, -126, 0, 0, 2, -72, 0, 0, 0, 1;
        const auto inside = [](std::int64_t i, std::int64_t j, std::int64_t k) {
            const double x = (static_cast<double>(i) - 45.0) / 34.0;
            const double y = (static_cast<double>(j) - 54.0) / 43.0;
            const double z = (static_cast<double>(k) - 42.0) / 35.0;
            return x * x + y * y + z * z <= 1.0;
        };
        std::vector<std::int64_t> brain;
        for (std::int64_t k = 0; k < 91; ++k) {
            for (std::int64_t j = 0; j < 109; ++j) {
                for (std::int64_t i = 0; i < 91; ++i) {
                    if (inside(i, j, k)) brain.push_back(i + 91 * (j + 109 * k));
                }
            }
        }
        const int regions = 400;
        std::mt19937_64 rng(7);
        std::vector<std::int64_t> seeds;
        std::sample(brain.begin(), brain.end(), std::back_inserter(seeds), regions, rng);
        std::vector<std::vector<std::int64_t>> members(regions);
        for (std::int64_t v : brain) {
            const std::int64_t i = v % 91, j = (v / 91) % 109, k = v / (91 * 109);
            int best = 0;
            std::int64_t best_d = std::numeric_limits<std::int64_t>::max();
            for (int r = 0; r < regions; ++r) {
                const std::int64_t s = seeds[static_cast<std::size_t>(r)];
                const std::int64_t di = i - s % 91, dj = j - (s / 91) % 109, dk = k - s / (91 * 109);
                const std::int64_t d = di * di + dj * dj + dk * dk;
                if (d < best_d) best_d = d, best = r;
            }
            members[static_cast<std::size_t>(best)].push_back(v);
        }
        p.offsets.push_back(0);
        for (int r = 0; r < regions; ++r) {
            p.values.push_back(r + 1);
            p.names.push_back(std::to_string(r + 1));
            const auto& m = members[static_cast<std::size_t>(r)];
            p.voxels.insert(p.voxels.end(), m.begin(), m.end());  // ascending: brain is in linear order
            p.offsets.push_back(static_cast<std::int64_t>(p.voxels.size()));
            p.atlas_voxels.push_back(static_cast<std::int64_t>(m.size()));
        }
        return p;
    }();
    return parcellation;
}

template <typename T>
void BM_reducer_add(benchmark::State& state) {
    const rewire::Parcellation& p = parcels400();
    const int threads = static_cast<int>(state.range(0));
    const rewire::NiftiDataType type =
        std::is_same_v<T, float> ? rewire::NiftiDataType::float32 : rewire::NiftiDataType::int16;
    std::vector<T> volume(static_cast<std::size_t>(p.grid.voxels()));
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal(1000.0, 50.0);
    for (auto& v : volume) v = static_cast<T>(normal(rng));
    const std::int64_t capacity = 1024;
    auto reducer = std::make_unique<rewire::ParcelReducer>(p, type, 1.0, 0.0, capacity, threads);
    std::int64_t added = 0;
    for (auto _ : state) {
        if (added == capacity) {
            state.PauseTiming();
            reducer = std::make_unique<rewire::ParcelReducer>(p, type, 1.0, 0.0, capacity, threads);
            added = 0;
            state.ResumeTiming();
        }
        reducer->add(volume.data());
        ++added;
    }
    state.counters["voxels"] = static_cast<double>(p.voxels.size());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(volume.size() * sizeof(T)));
}
BENCHMARK_TEMPLATE(BM_reducer_add, std::int16_t)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_reducer_add, float)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
