// motion.hpp: Power 2012 framewise displacement, Power 2014 scrubbing segments and motion outliers, against
// hand-computed values.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "rewire/core/error.hpp"
#include "rewire/signal/motion.hpp"

TEST_CASE("framewise displacement: Power 2012 with a 50 mm radius", "[confounds]") {
    Eigen::MatrixXd motion = Eigen::MatrixXd::Zero(4, 6);
    motion(1, 0) = 0.3;  // 0.3 mm along x
    motion(2, 0) = 0.3;
    motion(2, 4) = 0.002;  // 0.002 rad about y: 0.1 mm of arc at 50 mm
    motion(3, 1) = -0.2;   // back along x (0.3), down y (0.2), rotation back (0.1)
    const Eigen::VectorXd fd = rewire::framewise_displacement(motion);
    REQUIRE(fd.size() == 4);
    CHECK(std::isnan(fd[0]));
    CHECK(fd[1] == Approx(0.3).epsilon(1e-12));
    CHECK(fd[2] == Approx(0.1).epsilon(1e-12));
    CHECK(fd[3] == Approx(0.6).epsilon(1e-12));
    CHECK(rewire::framewise_displacement(motion, 80.0)[2] == Approx(0.16).epsilon(1e-12));
    CHECK_THROWS_AS(rewire::framewise_displacement(Eigen::MatrixXd::Zero(4, 3)), rewire::InvalidInput);
}

TEST_CASE("scrub segments: Power 2014's minimum segment length", "[confounds]") {
    using V = std::vector<std::int64_t>;
    CHECK(rewire::scrub_segments({7}, 20, 5) == V{7});
    CHECK(rewire::scrub_segments({3, 10}, 20, 5) == V{0, 1, 2, 3, 10});      // start shorter than 5
    CHECK(rewire::scrub_segments({6, 11}, 20, 5) == V{6, 7, 8, 9, 10, 11});  // 4 frames between
    CHECK(rewire::scrub_segments({6, 12}, 20, 5) == V{6, 12});               // 5 frames between: kept
    CHECK(rewire::scrub_segments({16}, 20, 5) == V{16, 17, 18, 19});         // end shorter than 5
    CHECK(rewire::scrub_segments({14}, 20, 5) == V{14});                     // 5 frames after: kept
    CHECK(rewire::scrub_segments({3, 10}, 20, 0) == V{3, 10});
    CHECK(rewire::scrub_segments({}, 20, 5).empty());

    Eigen::VectorXd fd = Eigen::VectorXd::Constant(20, 0.1);
    Eigen::VectorXd dvars = Eigen::VectorXd::Constant(20, 1.0);
    fd[0] = std::numeric_limits<double>::quiet_NaN();  // n/a never exceeds a threshold
    fd[8] = 0.6;
    dvars[9] = 1.6;
    CHECK(rewire::motion_outliers(fd, dvars, 0.5, 1.5, 0) == V{8, 9});
    CHECK(rewire::motion_outliers(fd, dvars, 0.5, 2.0, 3) == V{8});
}
