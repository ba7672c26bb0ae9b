// rewire::stats — the t, F and normal tails against closed forms.
#include <catch2/catch.hpp>
#include <cmath>

#include "rewire/stats/distributions.hpp"

using namespace rewire;
using namespace rewire::stats;

TEST_CASE("distributions: closed forms of the t, F and normal tails", "[stats][distributions]") {
    // t with 1 dof is Cauchy: P(T > t) = 1/2 − atan(t)/π.
    for (double t : {-3.0, -0.5, 0.0, 0.7, 2.0, 40.0}) {
        CHECK(t_sf(t, 1.0) == Approx(0.5 - std::atan(t) / M_PI).epsilon(1e-13));
    }
    // t with 2 dof: P(T > t) = 1/2 − t / (2 √(2 + t²)).
    for (double t : {-1.5, 0.3, 4.0}) {
        CHECK(t_sf(t, 2.0) == Approx(0.5 - t / (2.0 * std::sqrt(2.0 + t * t))).epsilon(1e-13));
    }
    // F(2, d2): P(F > f) = (1 + 2f/d2)^(−d2/2).
    for (double f : {0.1, 1.0, 7.5}) {
        CHECK(f_sf(f, 2.0, 9.0) == Approx(std::pow(1.0 + 2.0 * f / 9.0, -4.5)).epsilon(1e-13));
    }
    // F(1, ν) is t²: both two-sided tails agree.
    CHECK(f_sf(2.3 * 2.3, 1.0, 17.0) == Approx(t_two_sided_p(2.3, 17.0)).epsilon(1e-13));
    // Very small tails keep relative precision (Cauchy: ≈ 1/(π t) for large t).
    CHECK(t_sf(1e12, 1.0) == Approx(1.0 / (M_PI * 1e12)).epsilon(1e-9));
    CHECK(normal_sf(1.959963984540054) == Approx(0.025).epsilon(1e-14));
    for (double p : {1e-300, 1e-10, 0.025, 0.3, 0.5, 0.9}) {
        CHECK(normal_sf(normal_isf(p)) == Approx(p).epsilon(1e-13));
    }
    // Large dof: t → Z.
    CHECK(t_to_z(3.0, 1e7) == Approx(3.0).epsilon(1e-6));
    CHECK(z_to_t(t_to_z(2.5, 12.0), 12.0) == Approx(2.5).epsilon(1e-12));
    CHECK(z_to_t(-2.0, 8.0) == Approx(-z_to_t(2.0, 8.0)).epsilon(1e-15));
    CHECK(f_sf(z_to_f(3.1, 3.0, 20.0), 3.0, 20.0) == Approx(normal_sf(3.1)).epsilon(1e-12));
}
