// Helpers shared by the signal tests: the magnitude response of a filter and random-walk signals.
#pragma once

#include <Eigen/Core>
#include <complex>
#include <random>

#include "rewire/signal/butterworth.hpp"

namespace rewire::test {

constexpr double kPi = 3.141592653589793;

/// |H(e^{jω})| of a cascade of sections at `hz` for sampling rate `fs`.
inline double gain_at(const Sos& sos, double hz, double fs) {
    const std::complex<double> z1 = std::polar(1.0, -2.0 * kPi * hz / fs);
    std::complex<double> h(1.0, 0.0);
    for (Eigen::Index s = 0; s < sos.rows(); ++s) {
        h *= (sos(s, 0) + sos(s, 1) * z1 + sos(s, 2) * z1 * z1) /
             (sos(s, 3) + sos(s, 4) * z1 + sos(s, 5) * z1 * z1);
    }
    return std::abs(h);
}

/// rows × cols random walks plus white noise (column j starts at 10 j) from a fixed seed.
inline Eigen::MatrixXd random_walk(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
    std::mt19937 engine(seed);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd x(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j) {
        double level = 10.0 * j;
        for (Eigen::Index t = 0; t < rows; ++t)
            x(t, j) = (level += normal(engine)) + normal(engine);
    }
    return x;
}

}  // namespace rewire::test
