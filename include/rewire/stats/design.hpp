// rewire::stats — a general linear model ready for testing one contrast.
//
// Layout: subjects are rows. A design is S × P (one row per subject, one column per regressor;
// rewire never adds an intercept: include a column of ones when the model needs one, as MRtrix3 and
// FSL do). A contrast is q × P: one row for a t contrast, q rows for an F contrast.
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Dense>

#include "rewire/core/error.hpp"

namespace rewire::stats {

/// The statistic a contrast is tested with.
enum class Statistic {
    t,  ///< one-row contrast, signed
    f,  ///< q-row contrast (q ≥ 1), F = (‖Q_Xᵀy‖²/q) / σ̂²
};

/// A validated design and contrast, and the split of the design's column space into the effect of
/// interest X and the nuisance Z. The split is the one of Beckmann et al. (2001) / Smith et al.
/// (2007) that Winkler et al. (2014, NeuroImage 92:381, Appendix A) recommend for Freedman–Lane and
/// that FSL randomise, PALM and MRtrix3 use: X = M (MᵀM)⁻¹ Cᵀ, and Z spans the rest of col(M),
/// orthogonal to X. Testing C β = 0 in M is testing X in [X Z].
struct Model {
    Eigen::MatrixXd design;    ///< S × P, full column rank
    Eigen::MatrixXd contrast;  ///< q × P, full row rank
    Statistic statistic = Statistic::t;
    Eigen::Index dof = 0;      ///< S − P, the residual degrees of freedom
    /// S × q orthonormal basis of X. For a t contrast the single column is X/‖X‖, so that
    /// interestᵀy = Cβ̂/‖X‖ keeps the contrast's sign.
    Eigen::MatrixXd interest;
    /// S × (P − q) orthonormal basis of Z (the nuisance space), orthogonal to `interest`.
    Eigen::MatrixXd nuisance;
    /// (C (MᵀM)⁻¹ Cᵀ) for a t contrast: Var(Cβ̂) = σ² · this.
    double contrast_variance = 0.0;

    Eigen::Index subjects() const { return design.rows(); }
    Eigen::Index regressors() const { return design.cols(); }
    Eigen::Index contrast_rank() const { return contrast.rows(); }
    /// True when the constant vector lies in the nuisance space (the model has an intercept that is
    /// not tested); permuting subjects is then meaningful, otherwise only sign-flipping is.
    bool nuisance_has_intercept() const {
        if (nuisance.cols() == 0) return false;
        const Eigen::VectorXd ones = Eigen::VectorXd::Ones(subjects());
        const Eigen::VectorXd rest = ones - nuisance * (nuisance.transpose() * ones);
        return rest.norm() <= 1e-8 * ones.norm();
    }
};

/// Validates `design` (S × P) and `contrast` (q × P) and splits the model (see Model). Throws
/// InvalidInput naming the problem: non-finite entries, a rank-deficient design (which column
/// depends on the others), no residual degrees of freedom, a contrast of the wrong length, an
/// all-zero or rank-deficient contrast, or a t statistic asked of a multi-row contrast.
inline Model make_model(const Eigen::Ref<const Eigen::MatrixXd>& design,
                        const Eigen::Ref<const Eigen::MatrixXd>& contrast, Statistic statistic = Statistic::t) {
    const Eigen::Index s = design.rows();
    const Eigen::Index p = design.cols();
    if (s < 2 || p < 1) {
        throw InvalidInput("design: expected subjects × regressors with at least 2 rows and 1 column, got " +
                           std::to_string(s) + " × " + std::to_string(p));
    }
    if (!design.allFinite()) throw InvalidInput("design: contains NaN or infinity");
    if (!contrast.allFinite()) throw InvalidInput("contrast: contains NaN or infinity");
    if (contrast.cols() != p) {
        throw InvalidInput("contrast: expected " + std::to_string(p) + " weights per row (one per design column), got " +
                           std::to_string(contrast.cols()));
    }
    if (contrast.rows() < 1) throw InvalidInput("contrast: has no rows");
    if (statistic == Statistic::t && contrast.rows() != 1) {
        throw InvalidInput("contrast: a t contrast has 1 row, got " + std::to_string(contrast.rows()) +
                           " (use an F test for several rows)");
    }
    for (Eigen::Index r = 0; r < contrast.rows(); ++r) {
        if ((contrast.row(r).array() == 0.0).all()) {
            throw InvalidInput("contrast: row " + std::to_string(r) + " is all zeros");
        }
    }

    // Rank from a column-pivoted QR of the design with each column scaled to unit norm, so that
    // regressors in different units (age in years, FD in mm) do not decide the rank.
    const Eigen::VectorXd scale = design.colwise().norm().transpose();
    for (Eigen::Index j = 0; j < p; ++j) {
        if (!(scale[j] > 0.0)) throw InvalidInput("design: column " + std::to_string(j) + " is all zeros");
    }
    const Eigen::MatrixXd scaled = design * scale.cwiseInverse().asDiagonal();
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(scaled);
    qr.setThreshold(1e-10);
    if (qr.rank() < p) {
        const Eigen::Index dependent = qr.colsPermutation().indices()[qr.rank()];
        throw InvalidInput("design: rank-deficient (rank " + std::to_string(qr.rank()) + " of " + std::to_string(p) +
                           " columns): column " + std::to_string(dependent) +
                           " is a linear combination of the others (a duplicated or collinear regressor?)");
    }
    if (s <= p) {
        throw InvalidInput("design: " + std::to_string(s) + " subjects and " + std::to_string(p) +
                           " regressors leave no residual degrees of freedom (need more subjects than columns)");
    }
    Eigen::FullPivLU<Eigen::MatrixXd> contrast_lu(contrast);
    contrast_lu.setThreshold(1e-10);
    if (contrast_lu.rank() < contrast.rows()) {
        throw InvalidInput("contrast: its " + std::to_string(contrast.rows()) +
                           " rows are linearly dependent (rank " + std::to_string(contrast_lu.rank()) + ")");
    }

    Model model;
    model.design = design;
    model.contrast = contrast;
    model.statistic = statistic;
    model.dof = s - p;

    // scaled · Π = Q R, so design = Q R Πᵀ S⁻¹ with S = diag(scale). X = design (designᵀdesign)⁻¹ Cᵀ
    // = Q R⁻ᵀ (C S⁻¹ Π)ᵀ: X's coordinates in the basis Q are G = R⁻ᵀ Πᵀ S⁻¹ Cᵀ.
    const Eigen::MatrixXd q_thin = qr.householderQ() * Eigen::MatrixXd::Identity(s, p);
    const Eigen::MatrixXd r = qr.matrixR().topLeftCorner(p, p).triangularView<Eigen::Upper>();
    const Eigen::MatrixXd scaled_contrast_t =
        qr.colsPermutation().transpose() * (scale.cwiseInverse().asDiagonal() * contrast.transpose());
    const Eigen::MatrixXd g = r.transpose().triangularView<Eigen::Lower>().solve(scaled_contrast_t);  // P × q

    // An orthonormal basis of R^P whose first q columns span G: the interest and nuisance directions.
    Eigen::HouseholderQR<Eigen::MatrixXd> g_qr(g);
    const Eigen::MatrixXd basis = g_qr.householderQ() * Eigen::MatrixXd::Identity(p, p);
    const Eigen::Index q = contrast.rows();
    if (statistic == Statistic::t) {
        model.contrast_variance = g.col(0).squaredNorm();
        model.interest = q_thin * (g.col(0) / g.col(0).norm());
    } else {
        model.interest = q_thin * basis.leftCols(q);
    }
    model.nuisance = q_thin * basis.rightCols(p - q);
    return model;
}

}  // namespace rewire::stats
