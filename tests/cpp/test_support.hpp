// Helpers shared by the C++ tests: temporary folders and small synthetic images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>

#include "rewire/io/nifti.hpp"

namespace rewire::test {

/// rows × cols independent standard normal values from a fixed seed, filled column by column.
inline Eigen::MatrixXd normal_matrix(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd m(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j) {
        for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = normal(engine);
    }
    return m;
}

/// Q diag(values) Qᵀ, exactly symmetric, for a random orthogonal Q (QR of normal_matrix) from a fixed seed.
inline Eigen::MatrixXd with_spectrum(const Eigen::VectorXd& values, std::uint64_t seed) {
    const auto n = values.size();
    const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(normal_matrix(n, n, seed)).householderQ();
    const Eigen::MatrixXd a = q * values.asDiagonal() * q.transpose();
    return 0.5 * (a + a.transpose());
}

/// T × N Gaussian signals with correlated columns: white noise (filled row by row) times I + mixing·G,
/// G standard normal, all from one fixed seed.
inline Eigen::MatrixXd mixed_signals(int t, int n, unsigned seed, double mixing) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd white(t, n), mix(n, n);
    for (int i = 0; i < t; ++i)
        for (int j = 0; j < n; ++j) white(i, j) = normal(rng);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) mix(i, j) = (i == j ? 1.0 : 0.0) + mixing * normal(rng);
    return white * mix;
}

/// A fresh folder under the system temp directory, removed when the object dies.
class TempDir {
public:
    TempDir() {
        std::random_device seed;
        path_ = std::filesystem::temp_directory_path() / ("rewire-test-" + std::to_string(seed()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

/// Grid with `size` mm voxels, LAS-oriented like the MNI templates.
inline ImageGeometry small_grid(std::int64_t nx, std::int64_t ny, std::int64_t nz, std::int64_t volumes,
                                double size = 2.0) {
    ImageGeometry g;
    g.dims = {nx, ny, nz};
    g.volumes = volumes;
    g.voxel_size = {size, size, size};
    g.affine << -size, 0, 0, 20, 0, size, 0, -30, 0, 0, size, -10, 0, 0, 0, 1;
    g.tr = 2.0;
    return g;
}

/// Writes `data` (volumes × voxels, voxel-fastest) with NiftiWriter.
inline void write_image(const std::string& path, const ImageGeometry& g, const std::vector<double>& data,
                        const NiftiWriteOptions& options = {}) {
    NiftiWriter writer(path, g, options);
    for (std::int64_t v = 0; v < g.volumes; ++v) {
        writer.write(data.data() + v * g.voxels());
    }
    writer.close();
}

}  // namespace rewire::test

namespace rewire::test {

/// Runs `action`, which must throw an `E`; returns the exception's message (fails the test otherwise).
template <typename E, typename F>
std::string message_of(F&& action) {
    try {
        action();
    } catch (const E& error) {
        return error.what();
    } catch (const std::exception& other) {
        return std::string("wrong exception type: ") + other.what();
    }
    return "no exception thrown";
}

}  // namespace rewire::test
