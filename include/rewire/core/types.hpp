// rewire — the canonical data layout, written down once.
//
// Time series are T × N (rows are time points, columns are regions), computed in double. Matrices
// are column-major Eigen types; Python receives them as numpy arrays with the same (T, N) shape.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

namespace rewire {

/// T × N signals: one row per volume, one column per region.
using TimeSeries = Eigen::MatrixXd;

/// N × N symmetric connectivity matrix.
using Connectome = Eigen::MatrixXd;

/// N(N-1)/2 edge values in rewire's edge order (strict upper triangle, row-major; see
/// connectivity/edges.hpp).
using EdgeVector = Eigen::VectorXd;

/// 4 × 4 voxel-to-world (mm, RAS+) transform.
using Affine = Eigen::Matrix4d;

/// Subjects × edges: one edge vector per subject (row s is subjects[s]), e.g. one measure and session of
/// a cohort store, in the order its subjects were committed.
struct EdgeStack {
    std::vector<std::string> subjects;
    Eigen::MatrixXd values;  ///< S × E
};

}  // namespace rewire
