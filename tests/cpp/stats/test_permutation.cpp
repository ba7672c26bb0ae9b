// rewire::stats — the shuffle generator and the permutation engine against brute-force references.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "rewire/stats/design.hpp"
#include "rewire/stats/maxt.hpp"
#include "rewire/stats/permutation.hpp"
#include "rewire/stats/shuffle.hpp"
#include "test_support.hpp"

using namespace rewire;
using namespace rewire::stats;
using rewire::test::normal_matrix;

namespace {

/// Freedman–Lane by the book (Winkler et al. 2014, Table 2): Y* = (P R_Z + H_Z) Y, full refit with a
/// fresh QR, t = cβ / se. No shortcuts shared with the engine.
Eigen::VectorXd reference_statistic(const Eigen::MatrixXd& y, const Eigen::MatrixXd& design,
                                    const Eigen::RowVectorXd& c, const Model& model, const std::vector<std::int64_t>& perm,
                                    const std::vector<double>& sign) {
    const Eigen::Index s = y.rows();
    Eigen::MatrixXd shuffle = Eigen::MatrixXd::Zero(s, s);
    for (Eigen::Index i = 0; i < s; ++i) shuffle(i, perm[i]) = sign[i];
    const Eigen::MatrixXd hz = model.nuisance * model.nuisance.transpose();
    const Eigen::MatrixXd rz = Eigen::MatrixXd::Identity(s, s) - hz;
    const Eigen::MatrixXd ystar = (shuffle * rz + hz) * y;
    const Eigen::MatrixXd xtx_inv = (design.transpose() * design).inverse();
    const Eigen::MatrixXd beta = xtx_inv * design.transpose() * ystar;
    const Eigen::MatrixXd resid = ystar - design * beta;
    const double dof = static_cast<double>(s - design.cols());
    Eigen::VectorXd t(y.cols());
    for (Eigen::Index e = 0; e < y.cols(); ++e) {
        const double se = std::sqrt(resid.col(e).squaredNorm() / dof * (c * xtx_inv * c.transpose())(0, 0));
        t[e] = (c * beta.col(e))(0, 0) / se;
    }
    return t;
}

}  // namespace

TEST_CASE("engine: Freedman–Lane statistics equal a brute-force refit for every shuffle", "[stats][permutation]") {
    const Eigen::Index s = 14;
    const Eigen::Index nodes = 6;
    const Eigen::Index edges = nodes * (nodes - 1) / 2;
    Eigen::MatrixXd design(s, 4);
    design.col(0).setOnes();
    design.rightCols(3) = normal_matrix(s, 3, 5);
    const Eigen::RowVectorXd c = (Eigen::RowVectorXd(4) << 0, 1, 0, 0).finished();
    const Eigen::MatrixXd data = normal_matrix(s, edges, 9) + design.col(2) * Eigen::RowVectorXd::Constant(edges, 0.7);
    const Model model = make_model(design, c);

    for (ShuffleKind kind : {ShuffleKind::permutation, ShuffleKind::sign_flip, ShuffleKind::both}) {
        ShuffleOptions options;
        options.kind = kind;
        options.count = 23;
        options.seed = 3;
        const Shuffles shuffles = Shuffles::random(s, options);
        const PermutationResult result = maxt(data, model, shuffles, Tail::two_sided);
        std::vector<std::int64_t> perm(s);
        std::vector<double> sign(s);
        // Observed: the unpermuted refit.
        const Eigen::VectorXd observed = reference_statistic(data, design, c, model, [&] {
            std::vector<std::int64_t> identity(s);
            std::iota(identity.begin(), identity.end(), 0);
            return identity;
        }(), std::vector<double>(s, 1.0));
        CHECK((result.statistic - observed).cwiseAbs().maxCoeff() < 1e-10 * observed.cwiseAbs().maxCoeff());
        for (std::int64_t k = 0; k < shuffles.size(); ++k) {
            shuffles.get(k, perm.data(), sign.data());
            const Eigen::VectorXd t = reference_statistic(data, design, c, model, perm, sign);
            CHECK(result.null[k] == Approx(t.cwiseAbs().maxCoeff()).epsilon(1e-10));
        }
    }
}

TEST_CASE("engine: F statistics equal a brute-force refit", "[stats][permutation]") {
    const Eigen::Index s = 12;
    Eigen::MatrixXd design(s, 3);
    design.col(0).setOnes();
    for (int i = 0; i < s; ++i) {
        design(i, 1) = i % 3 == 1 ? 1.0 : 0.0;
        design(i, 2) = i % 3 == 2 ? 1.0 : 0.0;
    }
    Eigen::MatrixXd contrast(2, 3);
    contrast << 0, 1, 0, 0, 0, 1;
    const Eigen::MatrixXd data = normal_matrix(s, 10, 21);
    const Model model = make_model(design, contrast, Statistic::f);
    ShuffleOptions options;
    options.kind = ShuffleKind::permutation;
    options.count = 15;
    const Shuffles shuffles = Shuffles::random(s, options);
    const PermutationResult result = maxt(data, model, shuffles);
    const GlmResult parametric = glm(data, model);
    CHECK((result.statistic - parametric.value).cwiseAbs().maxCoeff() < 1e-10 * parametric.value.maxCoeff());
    std::vector<std::int64_t> perm(s);
    std::vector<double> sign(s);
    for (std::int64_t k = 0; k < shuffles.size(); ++k) {
        shuffles.get(k, perm.data(), sign.data());
        Eigen::MatrixXd shuffled(s, 10);
        // The nuisance (intercept) is preserved by permutations: Freedman–Lane = permuting the data.
        for (int i = 0; i < s; ++i) shuffled.row(i) = data.row(perm[i]);
        CHECK(result.null[k] == Approx(glm(shuffled, model).value.maxCoeff()).epsilon(1e-10));
    }
}

TEST_CASE("engine: results do not depend on threads or on how shuffles are chunked", "[stats][permutation]") {
    const Eigen::Index s = 20;
    const Eigen::MatrixXd data = normal_matrix(s, 45, 4).array() + 0.3;
    const Model model = make_model(Eigen::MatrixXd::Ones(s, 1), Eigen::MatrixXd::Ones(1, 1));
    ShuffleOptions options;
    options.count = 300;
    options.seed = 77;
    const Shuffles all = Shuffles::random(s, options);
    PermutationOptions one_thread;
    one_thread.threads = 1;
    PermutationOptions two_threads;
    two_threads.threads = 2;
    const PermutationResult a = maxt(data, model, all, Tail::two_sided, one_thread);
    const PermutationResult b = maxt(data, model, all, Tail::two_sided, two_threads);
    CHECK(a.null == b.null);  // bit for bit
    CHECK(a.p_fwe == b.p_fwe);
    CHECK(a.p_uncorrected == b.p_uncorrected);
    // A chunk of shuffles given explicitly reproduces the same shuffles' null values.
    Eigen::MatrixXd flips(s, 37);
    std::vector<std::int64_t> perm(s);
    std::vector<double> sign(s);
    for (int k = 0; k < 37; ++k) {
        all.get(100 + k, perm.data(), sign.data());
        for (int i = 0; i < s; ++i) flips(i, k) = sign[i];
    }
    const PermutationResult chunk = maxt(data, model, Shuffles::from_sign_flips(flips), Tail::two_sided, two_threads);
    CHECK(chunk.null == a.null.segment(100, 37));
}

TEST_CASE("engine: exhaustive sign flips give the exact p-value", "[stats][permutation]") {
    // Four positive differences: only the identity reaches the observed max; 2^4 = 16 shuffles.
    Eigen::MatrixXd data(4, 1);
    data << 1.0, 1.3, 0.8, 1.1;
    const Model model = make_model(Eigen::MatrixXd::Ones(4, 1), Eigen::MatrixXd::Ones(1, 1));
    ShuffleOptions options;
    options.count = 1000;
    const Shuffles shuffles = Shuffles::random(4, options);
    REQUIRE(shuffles.exhaustive());
    const PermutationResult greater = maxt(data, model, shuffles, Tail::greater);
    CHECK(greater.p_fwe[0] == Approx(1.0 / 16.0));
    // Two-sided: the all-flipped shuffle ties |t|.
    const PermutationResult both = maxt(data, model, shuffles, Tail::two_sided);
    CHECK(both.p_fwe[0] == Approx(2.0 / 16.0));
    PermutationOptions bctpy;
    bctpy.convention = Convention::bctpy;
    CHECK(maxt(data, model, shuffles, Tail::two_sided, bctpy).p_fwe[0] == Approx(1.0 / 15.0));
}

TEST_CASE("engine: p-value conventions and bad input", "[stats][permutation]") {
    const std::vector<double> null{1.0, 2.0, 2.0, 3.0};
    CHECK(permutation_p(null, 2.0, Convention::rewire) == Approx(4.0 / 5.0));
    CHECK(permutation_p(null, 2.0, Convention::bctpy) == Approx(3.0 / 4.0));
    CHECK(permutation_p(null, 2.0, Convention::mrtrix) == Approx(1.0 / 4.0));
    CHECK(permutation_p(null, 0.0, Convention::mrtrix) == 1.0);
    CHECK(permutation_p(null, 9.0, Convention::rewire) == Approx(1.0 / 5.0));

    const Eigen::MatrixXd data = normal_matrix(10, 6, 1);
    const Model model = make_model(Eigen::MatrixXd::Ones(10, 1), Eigen::MatrixXd::Ones(1, 1));
    ShuffleOptions options;
    options.count = 10;
    CHECK_THAT(test::message_of<InvalidInput>([&] { maxt(data, model, Shuffles::random(9, options)); }),
               Catch::Contains("made for 9 subjects"));
    Eigen::MatrixXd flips = Eigen::MatrixXd::Ones(10, 3);
    flips(2, 1) = 0.5;
    CHECK_THAT(test::message_of<InvalidInput>([&] { Shuffles::from_sign_flips(flips); }), Catch::Contains("(2, 1)"));
    Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic> perms(1, 3);
    perms << 0, 2, 2;
    CHECK_THAT(test::message_of<InvalidInput>([&] { Shuffles::from_permutations(perms); }),
               Catch::Contains("not a permutation"));
    // Cancellation from the progress callback.
    PermutationOptions cancel;
    cancel.threads = 1;
    cancel.progress = [](std::int64_t, std::int64_t) { return false; };
    options.count = 500;
    CHECK_THROWS_AS(maxt(data, model, Shuffles::random(10, options), Tail::two_sided, cancel), Cancelled);
}
