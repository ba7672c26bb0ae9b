// Helpers shared by the matrix-function and tangent tests: random SPD matrices from a fixed seed.
#pragma once

#include <Eigen/Core>
#include <random>

#include "test_support.hpp"

namespace rewire::test {

inline double max_abs(const Eigen::MatrixXd& m) {
    return m.cwiseAbs().maxCoeff();
}

/// A random SPD matrix with eigenvalues uniform in [lo, hi], from a fixed seed.
inline Eigen::MatrixXd random_spd(int n, unsigned seed, double lo = 0.2, double hi = 5.0) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(lo, hi);
    Eigen::VectorXd values(n);
    for (int i = 0; i < n; ++i)
        values[i] = uniform(rng);
    return test::with_spectrum(values, seed);
}

}  // namespace rewire::test
