// rewire::stats — threshold-free network-based statistics (TFNBS; Baggio et al. 2018, Hum Brain Mapp
// 39:2289; Vinokur et al. 2015), the TFCE idea (Smith & Nichols 2009, NeuroImage 44:83) on graphs,
// exactly as MRtrix3's connectomestats defines it:
//
//     enhanced(e) = Σ_{k ≥ 1, h_k ≤ t_e} extent_k(e)^E · h_k^H,   h_1 = dh, h_{k+1} = h_k + dh
//
// where extent_k(e) is the number of edges in e's component among the edges with t ≥ h_k (note: no
// dh factor, and h_k accumulates by repeated addition, as MRtrix3's loop). Defaults dh = 0.1,
// E = 0.4, H = 3 are MRtrix3's. Two-sided tests enhance t and −t separately; each edge keeps the value
// of its own sign, and the null takes the larger side.
//
// Computed from the top threshold down with union–find over nodes: lowering h only merges
// components, so each edge joins once, and a potential per union–find node carries the sums added to
// whole components (O(E + levels·N) per shuffle instead of O(levels·E)).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "rewire/stats/enhancer.hpp"
#include "rewire/stats/nbs.hpp"
#include "rewire/stats/permutation.hpp"

namespace rewire::stats {

struct TfnbsOptions {
    double dh = 0.1;  ///< height step (MRtrix3 -tfce_dh)
    double e = 0.4;   ///< extent exponent (MRtrix3 -tfce_e)
    double h = 3.0;   ///< height exponent (MRtrix3 -tfce_h)
    Tail tail = Tail::two_sided;

    void validate() const {
        if (!(dh >= 1e-3) || !std::isfinite(dh)) {
            throw InvalidInput("dh: expected a height step >= 0.001, got " + std::to_string(dh));
        }
        if (!(e > 0.0) || !std::isfinite(e)) throw InvalidInput("e: expected an extent exponent > 0, got " + std::to_string(e));
        if (!(h >= 0.0) || !std::isfinite(h)) throw InvalidInput("h: expected a height exponent >= 0, got " + std::to_string(h));
    }
};

class Tfnbs : public Enhancer {
public:
    Tfnbs(Eigen::Index nodes, const TfnbsOptions& options) : nodes_(nodes), options_(options) {
        options_.validate();
        if (nodes < 2) throw InvalidInput("nodes: TFNBS needs at least 2 nodes, got " + std::to_string(nodes));
        const Eigen::Index edges = nodes * (nodes - 1) / 2;
        first_.resize(static_cast<std::size_t>(edges));
        second_.resize(static_cast<std::size_t>(edges));
        Eigen::Index e = 0;
        for (Eigen::Index i = 0; i < nodes; ++i) {
            for (Eigen::Index j = i + 1; j < nodes; ++j, ++e) {
                first_[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(i);
                second_[static_cast<std::size_t>(e)] = static_cast<std::int32_t>(j);
            }
        }
        extent_power_.resize(static_cast<std::size_t>(edges) + 1);
        for (std::size_t n = 0; n < extent_power_.size(); ++n) {
            extent_power_[n] = std::pow(static_cast<double>(n), options_.e);
        }
    }

    const TfnbsOptions& options() const { return options_; }

    std::unique_ptr<EnhancerScratch> make_scratch() const override { return std::make_unique<Scratch>(); }

    double max_enhanced(const double* statistic, Eigen::Index edges, EnhancerScratch& scratch) const override {
        auto& s = static_cast<Scratch&>(scratch);
        s.out.assign(static_cast<std::size_t>(edges), 0.0);
        run(statistic, edges, s);
        double best = 0.0;
        for (double v : s.out) best = std::max(best, v);
        return best;
    }

    Eigen::VectorXd enhance(const Eigen::Ref<const Eigen::VectorXd>& statistic) const override {
        Scratch s;
        const Eigen::VectorXd copy = statistic;
        s.out.assign(static_cast<std::size_t>(copy.size()), 0.0);
        run(copy.data(), copy.size(), s);
        return Eigen::Map<const Eigen::VectorXd>(s.out.data(), copy.size());
    }

private:
    struct Scratch : EnhancerScratch {
        std::vector<std::int32_t> parent, size, level, order, start, touched;
        std::vector<double> potential, edge_count, base, out, heights, height_power, node_value;
        std::vector<char> is_touched;
    };

    void check_edges(Eigen::Index edges) const {
        if (edges != static_cast<Eigen::Index>(first_.size())) {
            throw InvalidInput("TFNBS: " + std::to_string(edges) + " edge statistics for " + std::to_string(nodes_) +
                               " nodes; expected " + std::to_string(first_.size()));
        }
    }

    void run(const double* statistic, Eigen::Index edges, Scratch& s) const {
        check_edges(edges);
        if (options_.tail != Tail::less) side(statistic, edges, 1.0, s);
        if (options_.tail != Tail::greater) side(statistic, edges, -1.0, s);
    }

    /// Root of x, compressing the path so that potential[y] (y not a root) is the sum of the
    /// potentials from y up to, not including, the root. `below_root` receives that sum for x (0 when x
    /// is the root): x's value is below_root + potential[root]. Two passes, no extra memory.
    static std::int32_t find(std::int32_t x, Scratch& s, double& below_root) {
        std::int32_t root = x;
        double sum = 0.0;
        while (s.parent[static_cast<std::size_t>(root)] != root) {
            sum += s.potential[static_cast<std::size_t>(root)];
            root = s.parent[static_cast<std::size_t>(root)];
        }
        below_root = sum;
        for (std::int32_t y = x; y != root;) {
            const std::int32_t next = s.parent[static_cast<std::size_t>(y)];
            const double own = s.potential[static_cast<std::size_t>(y)];
            s.potential[static_cast<std::size_t>(y)] = sum;
            s.parent[static_cast<std::size_t>(y)] = root;
            sum -= own;
            y = next;
        }
        return root;
    }

    void side(const double* statistic, Eigen::Index edges, double sign, Scratch& s) const {
        const double dh = options_.dh;
        const double inverse_dh = 1.0 / dh;
        // Levels: the number of heights h_k ≤ v for each edge (h_k built by repeated addition, as
        // MRtrix3's loop; the table grows on demand and is kept in the scratch).
        if (s.heights.empty()) {
            s.heights.push_back(dh);
            s.height_power.push_back(std::pow(dh, options_.h));
        }
        s.level.assign(static_cast<std::size_t>(edges), 0);
        s.start.assign(s.heights.size() + 2, 0);
        std::int32_t highest = 0;
        for (Eigen::Index e = 0; e < edges; ++e) {
            const double v = sign * statistic[e];
            if (!(v >= dh) || !(v <= std::numeric_limits<double>::max())) continue;
            while (s.heights.back() <= v) {
                s.heights.push_back(s.heights.back() + dh);
                s.height_power.push_back(std::pow(s.heights.back(), options_.h));
                s.start.push_back(0);
            }
            const auto level_count = static_cast<std::int32_t>(s.heights.size());
            auto k = static_cast<std::int32_t>(v * inverse_dh);  // first guess, corrected against the heights
            k = std::min(std::max(k, 1), level_count);
            while (k < level_count && s.heights[static_cast<std::size_t>(k)] <= v) ++k;
            while (k > 0 && s.heights[static_cast<std::size_t>(k - 1)] > v) --k;
            s.level[static_cast<std::size_t>(e)] = k;
            s.start[static_cast<std::size_t>(k)]++;
            highest = std::max(highest, k);
        }
        if (highest == 0) return;
        // Counting sort of the edges by level (level k: h_k ≤ v < h_{k+1}).
        std::int32_t running = 0;
        for (std::size_t k = 0; k < s.start.size(); ++k) {
            const std::int32_t count = s.start[k];
            s.start[k] = running;
            running += count;
        }
        s.order.resize(static_cast<std::size_t>(running));
        {
            std::vector<std::int32_t>& fill = s.touched;  // reused as write cursors
            fill.assign(s.start.begin(), s.start.end());
            for (Eigen::Index e = 0; e < edges; ++e) {
                const std::int32_t k = s.level[static_cast<std::size_t>(e)];
                if (k > 0) s.order[static_cast<std::size_t>(fill[static_cast<std::size_t>(k)]++)] = static_cast<std::int32_t>(e);
            }
        }

        const auto n = static_cast<std::size_t>(nodes_);
        s.parent.resize(n);
        for (std::size_t i = 0; i < n; ++i) s.parent[i] = static_cast<std::int32_t>(i);
        s.size.assign(n, 1);
        s.potential.assign(n, 0.0);
        s.edge_count.assign(n, 0.0);
        s.is_touched.assign(n, 0);
        s.touched.clear();
        s.base.resize(static_cast<std::size_t>(edges));

        for (std::int32_t k = highest; k >= 1; --k) {
            for (std::int32_t o = s.start[static_cast<std::size_t>(k)]; o < s.start[static_cast<std::size_t>(k) + 1]; ++o) {
                const std::int32_t e = s.order[static_cast<std::size_t>(o)];
                const std::int32_t i = first_[static_cast<std::size_t>(e)];
                const std::int32_t j = second_[static_cast<std::size_t>(e)];
                for (std::int32_t x : {i, j}) {
                    if (!s.is_touched[static_cast<std::size_t>(x)]) {
                        s.is_touched[static_cast<std::size_t>(x)] = 1;
                        s.touched.push_back(x);
                    }
                }
                double below_i = 0.0, below_j = 0.0;
                std::int32_t a = find(i, s, below_i);
                std::int32_t b = find(j, s, below_j);
                // i's value so far; unions below keep every node's value.
                s.base[static_cast<std::size_t>(e)] = below_i + s.potential[static_cast<std::size_t>(a)];
                if (a != b) {
                    if (s.size[static_cast<std::size_t>(a)] < s.size[static_cast<std::size_t>(b)]) std::swap(a, b);
                    s.parent[static_cast<std::size_t>(b)] = a;
                    s.potential[static_cast<std::size_t>(b)] -= s.potential[static_cast<std::size_t>(a)];
                    s.size[static_cast<std::size_t>(a)] += s.size[static_cast<std::size_t>(b)];
                    s.edge_count[static_cast<std::size_t>(a)] += s.edge_count[static_cast<std::size_t>(b)];
                }
                s.edge_count[static_cast<std::size_t>(a)] += 1.0;
            }
            // Every component present at height h_k gains extent^E · h_k^H.
            const double height_power = s.height_power[static_cast<std::size_t>(k - 1)];
            for (std::int32_t x : s.touched) {
                if (s.parent[static_cast<std::size_t>(x)] == x) {
                    const auto extent = static_cast<std::size_t>(s.edge_count[static_cast<std::size_t>(x)]);
                    s.potential[static_cast<std::size_t>(x)] += extent_power_[extent] * height_power;
                }
            }
        }
        // Final value of every node once, then each edge's share: what its component gained after it
        // joined.
        s.node_value.resize(n);
        for (std::int32_t x : s.touched) {
            double below = 0.0;
            const std::int32_t root = find(x, s, below);
            s.node_value[static_cast<std::size_t>(x)] = below + s.potential[static_cast<std::size_t>(root)];
        }
        for (const std::int32_t e : s.order) {
            s.out[static_cast<std::size_t>(e)] =
                s.node_value[static_cast<std::size_t>(first_[static_cast<std::size_t>(e)])] -
                s.base[static_cast<std::size_t>(e)];
        }
    }

    Eigen::Index nodes_;
    TfnbsOptions options_;
    std::vector<std::int32_t> first_, second_;
    std::vector<double> extent_power_;
};

struct TfnbsResult {
    PermutationResult test;  ///< statistic, enhanced (TFNBS score), null, per-edge p_fwe
};

namespace detail {

template <typename Data>
TfnbsResult tfnbs_impl(const Data& data, const Model& model, const Shuffles& shuffles, TfnbsOptions options,
                       const PermutationOptions& permutation) {
    if (model.statistic == Statistic::f) {
        if (options.tail == Tail::less) throw InvalidInput("tail: an F statistic has only an upper tail (use greater)");
        options.tail = Tail::greater;
    }
    const Tfnbs enhancer(nodes_from_edges(data.cols()), options);
    return TfnbsResult{permutation_test_impl(data, model, shuffles, enhancer, permutation)};
}

}  // namespace detail

/// TFNBS permutation test; p_fwe of each edge from the null of the largest TFNBS score. F contrasts
/// are one-sided (two_sided is read as greater).
inline TfnbsResult tfnbs(const Eigen::Ref<const Eigen::MatrixXd>& data, const Model& model, const Shuffles& shuffles,
                         const TfnbsOptions& options, const PermutationOptions& permutation = {}) {
    return detail::tfnbs_impl(data, model, shuffles, options, permutation);
}

}  // namespace rewire::stats
