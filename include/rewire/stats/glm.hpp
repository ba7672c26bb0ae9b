// rewire::stats — parametric edge-wise GLM: t and F statistics with their p-values.
//
// Data are S × E (subjects are rows, edges are columns, edges in rewire's edge order). Every edge is
// fitted with the same design by one QR of the design, so the cost is two S × P × E products.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "rewire/core/error.hpp"
#include "rewire/stats/design.hpp"
#include "rewire/stats/distributions.hpp"

namespace rewire::stats {

/// Edge-wise GLM results. An edge whose residual sum of squares is zero (to 1e-12 of its own
/// sum of squares: a constant edge, or one the design fits exactly) has no defined statistic: it
/// gets statistic 0 and p = 1 and is listed in `degenerate` (MRtrix3 also sets such values to 0).
struct GlmResult {
    Statistic statistic = Statistic::t;
    Eigen::VectorXd value;     ///< E: t (signed) or F
    Eigen::VectorXd p;         ///< E: two-sided p for t (as scipy.stats.ttest_*), upper tail for F
    Eigen::VectorXd effect;    ///< E: Cβ̂ for a t contrast (empty for F)
    Eigen::VectorXd se;        ///< E: standard error of Cβ̂ for a t contrast (empty for F)
    Eigen::MatrixXd beta;      ///< P × E regression coefficients
    Eigen::VectorXd sigma2;    ///< E: residual variance σ̂² = SSE / dof
    double df1 = 1.0;          ///< numerator degrees of freedom (q; 1 for t)
    double df2 = 0.0;          ///< residual degrees of freedom S − P
    std::vector<Eigen::Index> degenerate;  ///< edges with zero residual variance (value 0, p 1)
};

namespace detail {

/// Node pair "(i, j)" of edge `e` when E is triangular, for messages; "" otherwise.
inline std::string edge_nodes_text(Eigen::Index e, Eigen::Index edges) {
    const double n_real = 0.5 * (1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(edges)));
    const auto n = static_cast<Eigen::Index>(std::llround(n_real));
    if (n * (n - 1) / 2 != edges) return "";
    Eigen::Index i = 0;
    Eigen::Index first = 0;
    while (first + (n - 1 - i) <= e) {
        first += n - 1 - i;
        ++i;
    }
    return " (nodes " + std::to_string(i) + "–" + std::to_string(i + 1 + (e - first)) + ")";
}

/// Throws InvalidInput naming the first edge (column of `data`) with a NaN or infinity.
template <typename Data>
void check_finite_edges(const Data& data, const char* who) {
    if (data.allFinite()) return;
    for (Eigen::Index e = 0; e < data.cols(); ++e) {
        Eigen::Index bad = 0;
        for (Eigen::Index s = 0; s < data.rows(); ++s) bad += std::isfinite(data(s, e)) ? 0 : 1;
        if (bad > 0) {
            throw InvalidInput(std::string(who) + ": data: edge " + std::to_string(e) +
                               edge_nodes_text(e, data.cols()) + " has NaN or infinity in " + std::to_string(bad) +
                               " of " + std::to_string(data.rows()) +
                               " subjects (rewire does not model missing edges; drop the edge or the subjects)");
        }
    }
}

template <typename Data>
void check_data_shape(const Data& data, const Model& model, const char* who) {
    if (data.rows() != model.subjects()) {
        throw InvalidInput(std::string(who) + ": data has " + std::to_string(data.rows()) +
                           " subjects (rows) but the design has " + std::to_string(model.subjects()) +
                           " rows; expected one design row per subject");
    }
    if (data.cols() < 1) throw InvalidInput(std::string(who) + ": data has no edges (columns)");
}

/// glm() for any Eigen matrix type (the bindings pass numpy's row-major data without a copy).
template <typename Data>
GlmResult glm_impl(const Data& data, const Model& model) {
    check_data_shape(data, model, "glm");
    check_finite_edges(data, "glm");
    const Eigen::Index p = model.regressors();
    const Eigen::Index edges = data.cols();

    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(model.design);
    const Eigen::MatrixXd q_thin = qr.householderQ() * Eigen::MatrixXd::Identity(model.subjects(), p);
    GlmResult result;
    result.statistic = model.statistic;
    result.df2 = static_cast<double>(model.dof);
    result.df1 = model.statistic == Statistic::t ? 1.0 : static_cast<double>(model.contrast_rank());

    const Eigen::MatrixXd coordinates = q_thin.transpose() * data;  // P × E
    const Eigen::MatrixXd r = qr.matrixR().topLeftCorner(p, p).triangularView<Eigen::Upper>();
    result.beta = qr.colsPermutation() * r.triangularView<Eigen::Upper>().solve(coordinates);
    const Eigen::MatrixXd interest = model.interest.transpose() * data;  // q × E

    result.value.resize(edges);
    result.p.resize(edges);
    result.sigma2.resize(edges);
    if (model.statistic == Statistic::t) {
        result.effect = (model.contrast * result.beta).row(0).transpose();
        result.se.resize(edges);
    }
    const double dof = result.df2;
    for (Eigen::Index e = 0; e < edges; ++e) {
        // Residuals computed explicitly (not as ‖y‖² − ‖Qᵀy‖²) to keep full precision.
        const double sse = (data.col(e) - q_thin * coordinates.col(e)).squaredNorm();
        const double total = data.col(e).squaredNorm();
        const double sigma2 = sse / dof;
        result.sigma2[e] = sigma2;
        if (!(sse > 1e-24 * total)) {
            result.degenerate.push_back(e);
            result.value[e] = 0.0;
            result.p[e] = 1.0;
            if (model.statistic == Statistic::t) result.se[e] = 0.0;
            continue;
        }
        if (model.statistic == Statistic::t) {
            const double t = interest(0, e) / std::sqrt(sigma2);
            result.value[e] = t;
            result.p[e] = t_two_sided_p(t, dof);
            result.se[e] = std::sqrt(sigma2 * model.contrast_variance);
        } else {
            const double f = interest.col(e).squaredNorm() / result.df1 / sigma2;
            result.value[e] = f;
            result.p[e] = f_sf(f, result.df1, dof);
        }
    }
    return result;
}

}  // namespace detail

/// Edge-wise GLM of `data` (S × E) under `model`: t = Cβ̂ / √(σ̂² C(MᵀM)⁻¹Cᵀ) with two-sided
/// p-values, or F = (Cβ̂)ᵀ[C(MᵀM)⁻¹Cᵀ]⁻¹(Cβ̂) / (q σ̂²). One-sample and paired tests are the
/// design of ones; a two-sample test is [1, group] with contrast [0, 1] (equal-variance t, as
/// scipy.stats.ttest_ind). Throws InvalidInput for a data/design row mismatch or non-finite edges.
inline GlmResult glm(const Eigen::Ref<const Eigen::MatrixXd>& data, const Model& model) {
    return detail::glm_impl(data, model);
}

/// Convenience: validates design and contrast (make_model) and fits.
inline GlmResult glm(const Eigen::Ref<const Eigen::MatrixXd>& data, const Eigen::Ref<const Eigen::MatrixXd>& design,
                     const Eigen::Ref<const Eigen::MatrixXd>& contrast, Statistic statistic = Statistic::t) {
    return glm(data, make_model(design, contrast, statistic));
}

}  // namespace rewire::stats
