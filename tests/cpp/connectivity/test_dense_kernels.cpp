// The fast symmetric eigensolver behind tangent.hpp's matrix functions (src/symmetric_eigensolver.inc):
// on generic matrices it must give eigenpairs as accurate as Eigen's QR solver, and on clustered,
// repeated or split spectra it must decline so that eigh_lower falls back to the QR solver.
#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "rewire/connectivity/covariance.hpp"
#include "rewire/connectivity/estimate.hpp"
#include "rewire/connectivity/matrix_functions.hpp"
#include "rewire/connectivity/tangent.hpp"
#include "rewire/core/kernel_variant.hpp"
#include "test_support.hpp"
#include "variant_support.hpp"

using namespace rewire;
namespace kernels = rewire::detail::kernels;

namespace {

/// A whitened sample covariance W C W (W = C₂^{-1/2}) of T = 3N Gaussian signals mixed by I + 0.3 G/√N:
/// the matrices whose logarithms the tangent space takes.
Eigen::MatrixXd whitened_covariance(int n, unsigned seed) {
    const double mixing = 0.3 / std::sqrt(static_cast<double>(n));
    const Eigen::MatrixXd x = test::mixed_signals(3 * n, n, seed, mixing);
    const Eigen::MatrixXd y = test::mixed_signals(3 * n, n, seed + 1, mixing);
    const Eigen::MatrixXd c = x.transpose() * x / (3.0 * n), c2 = y.transpose() * y / (3.0 * n);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(c2);
    const Eigen::MatrixXd w = e.eigenvectors() * e.eigenvalues().cwiseInverse().cwiseSqrt().asDiagonal() *
                              e.eigenvectors().transpose();
    const Eigen::MatrixXd a = w * c * w;
    return 0.5 * (a + a.transpose());
}

struct Pairs {
    bool fast = false;
    Eigen::VectorXd values;
    Eigen::MatrixXd vectors;
};

Pairs fast_pairs(const Eigen::MatrixXd& a) {
    const auto n = a.rows();
    Pairs p{false, Eigen::VectorXd(n), Eigen::MatrixXd(n, n)};
    p.fast = kernels::eigh_lower_fast(n, a.data(), n, p.values.data(), p.vectors.data(), n);
    return p;
}

Pairs pairs(const Eigen::MatrixXd& a) {
    const auto n = a.rows();
    Pairs p{true, Eigen::VectorXd(n), Eigen::MatrixXd(n, n)};
    REQUIRE(kernels::eigh_lower(n, a.data(), n, p.values.data(), p.vectors.data(), n));
    return p;
}

/// Eigenvalues against Eigen's QR solver, orthonormal vectors, small residual ‖AV − VΛ‖.
void check_eigenpairs(const Eigen::MatrixXd& a, const Pairs& p) {
    const auto n = a.rows();
    const double scale = a.cwiseAbs().maxCoeff();
    const Eigen::VectorXd reference =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a, Eigen::EigenvaluesOnly).eigenvalues();
    CHECK((p.values - reference).cwiseAbs().maxCoeff() <= 1e-12 * scale);
    CHECK((p.vectors.transpose() * p.vectors - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() <=
          1e-10);
    CHECK((a * p.vectors - p.vectors * p.values.asDiagonal()).cwiseAbs().maxCoeff() <= 1e-12 * scale);
}

}  // namespace

TEST_CASE("fast eigensolver: generic matrices take the fast path, as accurate as QR", "[eigensolver]") {
    const int n = GENERATE(24, 97, 400);
    SECTION("whitened covariance") {
        const Eigen::MatrixXd a = whitened_covariance(n, 7);
        const Pairs p = fast_pairs(a);
        REQUIRE(p.fast);
        check_eigenpairs(a, p);
    }
    SECTION("indefinite, eigenvalues of both signs and near zero") {
        Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, -3.0, 2.0);
        values[n / 2] = 1e-9;  // an eigenvalue next to zero needs an absolute, not relative, stopping rule
        const Eigen::MatrixXd a = test::with_spectrum(values, 11);
        const Pairs p = fast_pairs(a);
        REQUIRE(p.fast);
        check_eigenpairs(a, p);
        Eigen::Index nearest = 0;
        p.values.cwiseAbs().minCoeff(&nearest);
        CHECK(std::abs(p.values[nearest] - 1e-9) <= 1e-13);
    }
    SECTION("graded spectrum over six decades") {
        Eigen::VectorXd values(n);
        for (int i = 0; i < n; ++i)
            values[i] = std::pow(10.0, -3.0 + 6.0 * i / (n - 1));
        const Eigen::MatrixXd a = test::with_spectrum(values, 13);
        const Pairs p = fast_pairs(a);  // the smallest eigenvalues are closer than 1e-6‖A‖: QR takes them
        check_eigenpairs(a, p.fast ? p : pairs(a));
    }
}

TEST_CASE("fast eigensolver: close pairs are finished by bisection and reorthogonalized", "[eigensolver]") {
    const int n = 64;
    // 15 pairs this close relative to ‖A‖ = 3: from bisection's brackets (5e-7‖A‖ wide), the Rayleigh
    // quotient iteration of some leaves its bracket for the partner, and bisection finishes those.
    const double gap = GENERATE(1.1e-6, 2e-6, 1e-5, 1e-4);
    Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
    for (int i = 2; i < n - 2; i += 4)
        values[i] = values[i + 1] - 3.0 * gap;
    const Eigen::MatrixXd a = test::with_spectrum(values, 43);
    const Pairs p = fast_pairs(a);
    REQUIRE(p.fast);
    check_eigenpairs(a, p);
    // log(A) through these pairs against the QR solver's
    const Pairs q = pairs(a);
    const Eigen::MatrixXd fast_log =
        p.vectors * p.values.array().log().matrix().asDiagonal() * p.vectors.transpose();
    const Eigen::MatrixXd qr_log =
        q.vectors * q.values.array().log().matrix().asDiagonal() * q.vectors.transpose();
    CHECK((fast_log - qr_log).cwiseAbs().maxCoeff() <= 1e-12);
}

TEST_CASE("fast eigensolver declines clustered, repeated and split spectra; eigh_lower stays exact",
          "[eigensolver]") {
    const int n = 64;
    Eigen::MatrixXd a;
    SECTION("identity") {
        a = Eigen::MatrixXd::Identity(n, n);
    }
    SECTION("diagonal (the tridiagonal form splits)") {
        a = Eigen::VectorXd::LinSpaced(n, 1.0, 2.0).asDiagonal();
    }
    SECTION("a triple eigenvalue") {
        Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
        values[10] = values[11] = values[12];
        a = test::with_spectrum(values, 17);
    }
    SECTION("two eigenvalues 1e-9 apart") {
        Eigen::VectorXd values = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
        values[20] = values[21] - 1e-9;
        a = test::with_spectrum(values, 19);
    }
    SECTION("scaled by 1e-200 (squares would underflow)") {
        a = 1e-200 * whitened_covariance(n, 47);
    }
    SECTION("scaled by 1e200 (squares would overflow)") {
        a = 1e200 * whitened_covariance(n, 53);
    }
    SECTION("block diagonal") {
        a = Eigen::MatrixXd::Zero(n, n);
        a.topLeftCorner(n / 2, n / 2) = whitened_covariance(n / 2, 23);
        a.bottomRightCorner(n / 2, n / 2) = whitened_covariance(n / 2, 29);
    }
    CHECK_FALSE(fast_pairs(a).fast);
    check_eigenpairs(a, pairs(a));
}

TEST_CASE("fast eigensolver is not used below 24 rows", "[eigensolver]") {
    const Eigen::MatrixXd a = whitened_covariance(23, 31);
    CHECK_FALSE(fast_pairs(a).fast);
    check_eigenpairs(a, pairs(a));
}

TEST_CASE("whiten, recompose and congruence kernels against plain products", "[eigensolver]") {
    const int n = GENERATE(50, 203);  // 203: the congruence in uneven row blocks
    const Eigen::MatrixXd w = whitened_covariance(n, 37), m = whitened_covariance(n, 41);
    Eigen::MatrixXd out(n, n);
    kernels::whiten(n, w.data(), n, m.data(), n, out.data(), n);
    const Eigen::MatrixXd expected = w * m * w;
    CHECK((out - expected).cwiseAbs().maxCoeff() <= 1e-13 * expected.cwiseAbs().maxCoeff());
    CHECK((out.array() == out.transpose().array()).all());

    const Pairs p = pairs(m);
    const Eigen::VectorXd logs = p.values.array().log().matrix();
    kernels::recompose(n, p.vectors.data(), n, logs.data(), out.data(), n);
    CHECK((out - p.vectors * logs.asDiagonal() * p.vectors.transpose()).cwiseAbs().maxCoeff() <= 1e-13);
    CHECK((out.array() == out.transpose().array()).all());

    // L⁻¹ M L⁻ᵀ (the whitening of the geometric mean) from L⁻¹, and L M Lᵀ (its step), against
    // triangular solves and plain products.
    const Eigen::MatrixXd l = Eigen::LLT<Eigen::MatrixXd>(w).matrixL();
    Eigen::MatrixXd l_inverse(n, n);
    kernels::lower_inverse_block(n, l.data(), n, 0, n, l_inverse.data(), n);
    CHECK((l_inverse.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().array() == 0.0).all());
    kernels::triangular_congruence(n, l_inverse.data(), n, m.data(), n, out.data(), n);
    const Eigen::MatrixXd whitened = l.triangularView<Eigen::Lower>().solve(
        Eigen::MatrixXd(l.triangularView<Eigen::Lower>().solve(m).transpose()));
    CHECK((out - whitened).cwiseAbs().maxCoeff() <= 1e-12 * whitened.cwiseAbs().maxCoeff());
    CHECK((out.array() == out.transpose().array()).all());
    kernels::triangular_congruence(n, l.data(), n, m.data(), n, out.data(), n);
    const Eigen::MatrixXd product = l * m * l.transpose();
    CHECK((out - product).cwiseAbs().maxCoeff() <= 1e-13 * product.cwiseAbs().maxCoeff());
    CHECK((out.array() == out.transpose().array()).all());
}

// ---------------------------------------------------------------------------------------------------
// Every instruction-set variant (core/kernel_variant.hpp) gives the same bits: each kernel and each
// estimator on top of them runs once per variant this build and CPU have, in one process, and its
// bytes are compared with the generic variant's; the generic results are checked against closed forms.

namespace {

using Outputs = std::vector<std::pair<std::string, Eigen::MatrixXd>>;

/// `compute` once per available variant; every output byte-equal to the generic variant's. Returns the
/// generic outputs.
template <typename Compute>
Outputs same_bits_in_every_variant(Compute compute) {
    Outputs reference;
    for (const KernelVariant variant : test::available_variants()) {
        const test::ForcedVariant forced(variant);
        const Outputs outputs = compute();
        if (variant == KernelVariant::generic) {
            reference = outputs;
            continue;
        }
        REQUIRE(outputs.size() == reference.size());
        for (std::size_t k = 0; k < outputs.size(); ++k) {
            const Eigen::MatrixXd& a = outputs[k].second;
            const Eigen::MatrixXd& b = reference[k].second;
            INFO(kernel_variant_name(variant) << " against generic: " << outputs[k].first);
            REQUIRE(a.rows() == b.rows());
            REQUIRE(a.cols() == b.cols());
            CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0);
        }
    }
    return reference;
}

Eigen::MatrixXd scalar(double x) { return Eigen::MatrixXd::Constant(1, 1, x); }

const Eigen::MatrixXd& find(const Outputs& outputs, const std::string& name) {
    for (const auto& [key, value] : outputs) {
        if (key == name) return value;
    }
    FAIL("no output " << name);
    return outputs.front().second;
}

double relative(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}

}  // namespace

TEST_CASE("dense kernels give the same bits in every variant, and the right numbers", "[variants]") {
    // N × T: below and above the microkernels' tiles, the fast eigensolver's threshold (24), T < N.
    const auto [n, t] = GENERATE(table<int, int>(
        {{5, 50}, {5, 1200}, {23, 50}, {23, 1200}, {24, 50}, {24, 1200}, {97, 50}, {97, 1200}, {400, 1200}}));
    const Eigen::MatrixXd x = test::mixed_signals(t, n, static_cast<unsigned>(31 * n + t), 0.3 / std::sqrt(n));
    const Eigen::MatrixXd y = test::mixed_signals(t, n + 3, static_cast<unsigned>(37 * n + t), 0.2);
    // SPD (a ridge keeps T < N regular) and a second SPD matrix for the products.
    const Eigen::MatrixXd a = x.transpose() * x / t + 0.2 * Eigen::MatrixXd::Identity(n, n);
    const Eigen::MatrixXd b = y.leftCols(n).transpose() * y.leftCols(n) / t + 0.1 * Eigen::MatrixXd::Identity(n, n);
    const Outputs out = same_bits_in_every_variant([&] {
        Outputs o;
        Eigen::MatrixXd c = Eigen::MatrixXd::Zero(n, n);
        kernels::syrk_lower(n, t, x.data(), t, true, 1.0 / t, c.data(), n);
        o.emplace_back("syrk XᵀX", c);
        const Eigen::MatrixXd xt = x.transpose();
        c.setConstant(2.0);
        kernels::syrk_lower(n, t, xt.data(), n, false, -0.5, c.data(), n);
        o.emplace_back("syrk 2 − ½XXᵀ", c);
        Eigen::MatrixXd g(n, n + 3);
        kernels::gemm_tn(n, n + 3, t, x.data(), t, y.data(), t, g.data(), n);
        o.emplace_back("gemm_tn", g);
        const Eigen::MatrixXd yt = y.transpose();
        kernels::gemm_nt(n, n + 3, t, xt.data(), n, yt.data(), n + 3, g.data(), n);
        o.emplace_back("gemm_nt", g);
        Eigen::MatrixXd l = Eigen::MatrixXd::Constant(n, n, 7.0);
        o.emplace_back("rcond", scalar(kernels::cholesky(n, a.data(), n, l.data(), n)));
        o.emplace_back("L", l);
        o.emplace_back("positive definite", scalar(kernels::is_positive_definite(n, a.data(), n)));
        Eigen::MatrixXd l_inverse(n, n);
        for (Eigen::Index first = 0; first < n; first += 64) {
            kernels::lower_inverse_block(n, l.data(), n, first, std::min<Eigen::Index>(64, n - first),
                                         l_inverse.data() + first * n, n);
        }
        o.emplace_back("L⁻¹", l_inverse);
        Eigen::MatrixXd s(n, n);
        kernels::triangular_congruence(n, l.data(), n, b.data(), n, s.data(), n);
        o.emplace_back("L B Lᵀ", s);
        kernels::whiten(n, a.data(), n, b.data(), n, s.data(), n);
        o.emplace_back("A B A", s);
        Eigen::VectorXd values(n);
        Eigen::MatrixXd vectors(n, n);
        o.emplace_back("eigh ok", scalar(kernels::eigh_lower(n, a.data(), n, values.data(), vectors.data(), n)));
        o.emplace_back("eigenvalues", values);
        o.emplace_back("eigenvectors", vectors);
        kernels::recompose(n, vectors.data(), n, values.data(), s.data(), n);
        o.emplace_back("V diag(λ) Vᵀ", s);
        EstimateOptions options;
        options.threads = 2;
        o.emplace_back("correlation", estimate(x, options).matrix);
        options.kind = ConnectivityKind::partial_correlation;
        options.estimator = CovarianceEstimator::ledoit_wolf;
        o.emplace_back("partial correlation", estimate(x, options).matrix);
        options.kind = ConnectivityKind::covariance;
        o.emplace_back("ledoit-wolf", estimate(x, options).matrix);
        o.emplace_back("sqrtm", sqrtm(a));
        o.emplace_back("logm", logm(a));
        o.emplace_back("expm", expm(0.1 * b));
        return o;
    });
    // The generic variant's numbers against closed forms.
    const Eigen::MatrixXd lower_xtx = (x.transpose() * x / t).triangularView<Eigen::Lower>();
    CHECK(relative(find(out, "syrk XᵀX").triangularView<Eigen::Lower>(), lower_xtx) <= 1e-13);
    CHECK(relative(find(out, "gemm_tn"), x.transpose() * y) <= 1e-13);
    CHECK(relative(find(out, "gemm_nt"), x.transpose() * y) <= 1e-13);
    const Eigen::MatrixXd& l = find(out, "L");
    CHECK(Eigen::MatrixXd(l.triangularView<Eigen::StrictlyUpper>()).cwiseAbs().maxCoeff() == 0.0);
    CHECK(relative(l * l.transpose(), a) <= 1e-14);
    const double rcond = find(out, "rcond")(0, 0);
    CHECK(rcond == Approx(Eigen::LLT<Eigen::MatrixXd>(a).rcond()).epsilon(1e-6));
    CHECK(find(out, "positive definite")(0, 0) == 1.0);
    CHECK((l * find(out, "L⁻¹") - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() <= 1e-13);
    CHECK(relative(find(out, "L B Lᵀ"), l * b * l.transpose()) <= 1e-13);
    CHECK(relative(find(out, "A B A"), a * b * a) <= 1e-13);
    REQUIRE(find(out, "eigh ok")(0, 0) == 1.0);
    const Eigen::MatrixXd& v = find(out, "eigenvectors");
    const Eigen::VectorXd lambda = find(out, "eigenvalues");
    CHECK(relative(v * lambda.asDiagonal() * v.transpose(), a) <= 1e-13);
    CHECK((v.transpose() * v - Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK(relative(find(out, "V diag(λ) Vᵀ"), a) <= 1e-13);
    const Eigen::MatrixXd root = find(out, "sqrtm");
    CHECK(relative(root * root, a) <= 1e-13);
    const auto spectral = [](const Eigen::MatrixXd& m, double (*f)(double)) {  // Eigen's own eigensolver
        const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(m);
        return Eigen::MatrixXd(e.eigenvectors() * e.eigenvalues().unaryExpr(f).asDiagonal() * e.eigenvectors().transpose());
    };
    CHECK((find(out, "logm") - spectral(a, [](double z) { return std::log(z); })).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK(relative(find(out, "expm"), spectral(0.1 * b, [](double z) { return std::exp(z); })) <= 1e-12);
}

TEST_CASE("the QR fallback and the tangent space give the same bits in every variant", "[variants]") {
    const int n = GENERATE(24, 97);
    // Identity-like (the fast eigensolver declines: a nearly split tridiagonal form) and clustered.
    Eigen::MatrixXd near_identity = Eigen::MatrixXd::Identity(n, n);
    near_identity(3, 5) = near_identity(5, 3) = 1e-3;
    Eigen::VectorXd spectrum = Eigen::VectorXd::LinSpaced(n, 1.0, 3.0);
    spectrum[10] = spectrum[11] = spectrum[12];
    const Eigen::MatrixXd clustered = test::with_spectrum(spectrum, 17);
    std::vector<Eigen::MatrixXd> group;
    for (int s = 0; s < 4; ++s) {
        const Eigen::MatrixXd x = test::mixed_signals(3 * n, n, static_cast<unsigned>(100 + s), 0.3 / std::sqrt(n));
        group.push_back(x.transpose() * x / (3.0 * n));
    }
    const Outputs out = same_bits_in_every_variant([&] {
        Outputs o;
        for (const auto& [name, m] : {std::pair<std::string, const Eigen::MatrixXd*>{"near identity", &near_identity},
                                      {"clustered", &clustered}}) {
            Eigen::VectorXd values(n);
            Eigen::MatrixXd vectors(n, n);
            o.emplace_back(name + " fast", scalar(kernels::eigh_lower_fast(n, m->data(), n, values.data(), vectors.data(), n)));
            REQUIRE(kernels::eigh_lower(n, m->data(), n, values.data(), vectors.data(), n));
            o.emplace_back(name + " values", values);
            o.emplace_back(name + " vectors", vectors);
        }
        TangentOptions options;
        options.mean.threads = 2;
        TangentSpace space(options);
        const std::vector<Connectome> tangents = space.fit_covariances(group).transform_covariances(group);
        o.emplace_back("geometric mean", space.mean());
        for (std::size_t s = 0; s < tangents.size(); ++s) o.emplace_back("tangent " + std::to_string(s), tangents[s]);
        return o;
    });
    CHECK(find(out, "near identity fast")(0, 0) == 0.0);
    CHECK(find(out, "clustered fast")(0, 0) == 0.0);
    for (const auto& [name, m] : {std::pair<std::string, const Eigen::MatrixXd*>{"near identity", &near_identity},
                                  {"clustered", &clustered}}) {
        const Eigen::MatrixXd& v = find(out, name + " vectors");
        CHECK(relative(v * find(out, name + " values").asDiagonal() * v.transpose(), *m) <= 1e-13);
    }
    // Each tangent vector is log(W C W) with W = G^{-1/2} for the mean G, by Eigen's eigensolver.
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> mean(find(out, "geometric mean"));
    const Eigen::MatrixXd w = mean.eigenvectors() * mean.eigenvalues().cwiseInverse().cwiseSqrt().asDiagonal() *
                              mean.eigenvectors().transpose();
    for (int s = 0; s < 4; ++s) {
        const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(w * group[static_cast<std::size_t>(s)] * w);
        const Eigen::MatrixXd log = e.eigenvectors() * e.eigenvalues().array().log().matrix().asDiagonal() *
                                    e.eigenvectors().transpose();
        CHECK((find(out, "tangent " + std::to_string(s)) - log).cwiseAbs().maxCoeff() <= 1e-10);
    }
}
