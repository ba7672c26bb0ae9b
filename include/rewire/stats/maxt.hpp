// rewire::stats — max-T: family-wise error control edge by edge with the maximum statistic
// (Westfall & Young 1993; Nichols & Holmes 2002). The "none" enhancer of MRtrix3's connectomestats.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "rewire/stats/enhancer.hpp"
#include "rewire/stats/permutation.hpp"

namespace rewire::stats {

/// Enhanced value of an edge = its statistic turned toward the tail: |t| (two-sided), t, or −t.
class MaxStatistic : public Enhancer {
public:
    explicit MaxStatistic(Tail tail = Tail::two_sided) : tail_(tail) {}

    double transform(double statistic) const override {
        switch (tail_) {
            case Tail::two_sided: return std::fabs(statistic);
            case Tail::less: return -statistic;
            case Tail::greater:
            default: return statistic;
        }
    }
    bool elementwise() const override { return true; }

    Eigen::VectorXd enhance(const Eigen::Ref<const Eigen::VectorXd>& statistic) const override {
        Eigen::VectorXd out(statistic.size());
        for (Eigen::Index e = 0; e < statistic.size(); ++e) out[e] = transform(statistic[e]);
        return out;
    }

    void transform_all(const double* in, Eigen::Index edges, double* out) const override {
        switch (tail_) {
            case Tail::two_sided:
                for (Eigen::Index e = 0; e < edges; ++e) out[e] = std::fabs(in[e]);
                break;
            case Tail::less:
                for (Eigen::Index e = 0; e < edges; ++e) out[e] = -in[e];
                break;
            case Tail::greater:
            default:
                for (Eigen::Index e = 0; e < edges; ++e) out[e] = in[e];
        }
    }

    double max_enhanced(const double* statistic, Eigen::Index edges, EnhancerScratch&) const override {
        double high = -std::numeric_limits<double>::infinity();
        double low = std::numeric_limits<double>::infinity();
        for (Eigen::Index e = 0; e < edges; ++e) {
            high = std::max(high, statistic[e]);
            low = std::min(low, statistic[e]);
        }
        switch (tail_) {
            case Tail::two_sided: return std::max(std::fabs(high), std::fabs(low));
            case Tail::less: return -low;
            case Tail::greater:
            default: return high;
        }
    }

private:
    Tail tail_;
};

namespace detail {

template <typename Data>
PermutationResult maxt_impl(const Data& data, const Model& model, const Shuffles& shuffles, Tail tail,
                            const PermutationOptions& options) {
    if (model.statistic == Statistic::f) {
        if (tail == Tail::less) throw InvalidInput("tail: an F statistic has only an upper tail (use greater)");
        tail = Tail::greater;
    }
    return permutation_test_impl(data, model, shuffles, MaxStatistic(tail), options);
}

}  // namespace detail

/// Max-T permutation test: `p_fwe` of each edge from the null of the largest |t| (or t, −t, F) over
/// edges; `p_uncorrected` from each edge's own permutation distribution. F statistics are one-sided
/// (tail two_sided is read as greater; less is an error).
inline PermutationResult maxt(const Eigen::Ref<const Eigen::MatrixXd>& data, const Model& model,
                              const Shuffles& shuffles, Tail tail = Tail::two_sided,
                              const PermutationOptions& options = {}) {
    return detail::maxt_impl(data, model, shuffles, tail, options);
}

}  // namespace rewire::stats
