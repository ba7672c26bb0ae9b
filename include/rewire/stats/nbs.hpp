// rewire::stats — the network-based statistic (Zalesky, Fornito & Bullmore 2010, NeuroImage
// 53:1197): edges whose statistic passes a primary threshold form connected components (over the
// nodes); a component's extent (number of edges) or intensity (Σ statistic − threshold over its
// edges, as the NBS toolbox) is compared with the null distribution of the largest component of
// each shuffle, which controls the family-wise error over components.
//
// Components are found with union–find over the N nodes (O(N) memory per thread), reading the edge
// vector in rewire's order (strict upper triangle, row by row).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rewire/stats/distributions.hpp"
#include "rewire/stats/enhancer.hpp"
#include "rewire/stats/permutation.hpp"

namespace rewire::stats {

enum class NbsMeasure {
    extent,     ///< number of edges in the component
    intensity,  ///< Σ (statistic − threshold) over the component's edges
};

/// Units of NbsOptions::threshold.
enum class ThresholdScale {
    statistic,  ///< the test statistic itself (t, or F for F contrasts)
    z,          ///< a Z value, turned into the statistic with the same tail probability at the model's dof
};

struct NbsOptions {
    /// Primary threshold. No default: the NBS result depends on it and the analysis must state it.
    double threshold = std::numeric_limits<double>::quiet_NaN();
    /// What `threshold` is measured in (explicit: rewire never guesses t versus Z).
    ThresholdScale scale = ThresholdScale::statistic;
    NbsMeasure measure = NbsMeasure::extent;
    Tail tail = Tail::two_sided;
    /// Supra-threshold means statistic > threshold (NBS toolbox, bctpy); false: ≥ (MRtrix3).
    bool strict = true;
    /// Two-sided only: one set of components from |statistic| with positive and negative edges mixed
    /// (bctpy's tail='both'). Otherwise positive and negative components are formed separately and
    /// the null takes the larger of the two.
    bool mixed_signs = false;

    void validate() const {
        if (!std::isfinite(threshold)) {
            throw InvalidInput("threshold: the NBS primary threshold must be given explicitly (a finite number, e.g. "
                               "t = 3.0)");
        }
        if (threshold < 0.0) {
            throw InvalidInput("threshold: expected a threshold >= 0 (the tail sets the direction), got " +
                               std::to_string(threshold));
        }
        if (mixed_signs && tail != Tail::two_sided) {
            throw InvalidInput("mixed_signs: only meaningful for a two-sided test");
        }
    }
};

/// One connected component of supra-threshold edges.
struct Component {
    std::vector<Eigen::Index> nodes;  ///< ascending node indices
    std::vector<Eigen::Index> edges;  ///< ascending edge indices (rewire's edge order)
    double extent = 0.0;              ///< number of edges
    double intensity = 0.0;           ///< Σ (|statistic| − threshold) over the edges
    int sign = 1;                     ///< +1 positive effects, −1 negative, 0 mixed signs (bctpy)
    double p = 1.0;                   ///< FWE-corrected p-value (filled by nbs())
};

namespace detail {

/// Each component's nodes (collected twice per edge) ascending and unique.
inline void sort_nodes(std::vector<Component>& components) {
    for (auto& c : components) {
        std::sort(c.nodes.begin(), c.nodes.end());
        c.nodes.erase(std::unique(c.nodes.begin(), c.nodes.end()), c.nodes.end());
    }
}

}  // namespace detail

/// Components of the edges marked in `mask` (E, rewire's edge order) over `nodes` nodes; sign from
/// `statistic` (+1, −1, or 0 when a component holds both signs). Sorted by extent, largest first.
inline std::vector<Component> edge_components(Eigen::Index nodes, const std::vector<char>& mask,
                                              const Eigen::Ref<const Eigen::VectorXd>& statistic) {
    detail::NodeForest forest;
    forest.reset(nodes);
    Eigen::Index e = 0;
    for (Eigen::Index i = 0; i < nodes; ++i) {
        for (Eigen::Index j = i + 1; j < nodes; ++j, ++e) {
            if (mask[static_cast<std::size_t>(e)]) forest.add(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), 0.0);
        }
    }
    std::map<std::int32_t, std::size_t> index;
    std::vector<Component> out;
    e = 0;
    for (Eigen::Index i = 0; i < nodes; ++i) {
        for (Eigen::Index j = i + 1; j < nodes; ++j, ++e) {
            if (!mask[static_cast<std::size_t>(e)]) continue;
            const std::int32_t root = forest.find(static_cast<std::int32_t>(i));
            auto found = index.find(root);
            if (found == index.end()) {
                found = index.emplace(root, out.size()).first;
                out.emplace_back();
                out.back().sign = statistic[e] >= 0 ? 1 : -1;
            }
            Component& c = out[found->second];
            c.edges.push_back(e);
            c.nodes.push_back(i);
            c.nodes.push_back(j);
            c.extent += 1.0;
            if ((statistic[e] >= 0 ? 1 : -1) != c.sign) c.sign = 0;
        }
    }
    detail::sort_nodes(out);
    std::stable_sort(out.begin(), out.end(), [](const Component& a, const Component& b) { return a.extent > b.extent; });
    return out;
}

/// The NBS enhancer: each supra-threshold edge's enhanced value is its component's measure.
class Nbs : public Enhancer {
public:
    /// `options.threshold` in units of the statistic (nbs() converts a Z threshold first).
    Nbs(Eigen::Index nodes, const NbsOptions& options) : nodes_(nodes), options_(options) {
        options_.validate();
        if (nodes < 2) throw InvalidInput("nodes: NBS needs at least 2 nodes, got " + std::to_string(nodes));
    }

    const NbsOptions& options() const { return options_; }
    Eigen::Index nodes() const { return nodes_; }

    std::unique_ptr<EnhancerScratch> make_scratch() const override { return std::make_unique<Scratch>(); }

    double max_enhanced(const double* statistic, Eigen::Index edges, EnhancerScratch& scratch) const override {
        check_edges(edges);
        auto& s = static_cast<Scratch&>(scratch);
        build(statistic, s);
        double best = 0.0;
        for (int side = 0; side < sides(); ++side) {
            auto& f = s.forest[side];
            for (std::size_t x = 0; x < f.parent.size(); ++x) {
                if (f.parent[x] == static_cast<std::int32_t>(x)) best = std::max(best, measure(f, x));
            }
        }
        return best;
    }

    Eigen::VectorXd enhance(const Eigen::Ref<const Eigen::VectorXd>& statistic) const override {
        Eigen::VectorXd out = Eigen::VectorXd::Zero(statistic.size());
        for_each_supra_edge(statistic, [&](Eigen::Index e, Eigen::Index, Eigen::Index, int, detail::NodeForest& f,
                                           std::int32_t root) { out[e] = measure(f, static_cast<std::size_t>(root)); });
        return out;
    }

    /// The observed components (p not yet set), largest measure first.
    std::vector<Component> components(const Eigen::Ref<const Eigen::VectorXd>& statistic) const {
        std::map<std::pair<int, std::int32_t>, std::size_t> index;
        std::vector<Component> out;
        for_each_supra_edge(statistic, [&](Eigen::Index e, Eigen::Index i, Eigen::Index j, int side,
                                           detail::NodeForest& f, std::int32_t root) {
            auto found = index.find({side, root});
            if (found == index.end()) {
                found = index.emplace(std::make_pair(side, root), out.size()).first;
                out.emplace_back();
                Component& c = out.back();
                c.extent = f.edges[static_cast<std::size_t>(root)];
                c.intensity = f.intensity[static_cast<std::size_t>(root)];
                c.sign = options_.mixed_signs ? 0 : (sign_of_side(side) > 0 ? 1 : -1);
            }
            Component& c = out[found->second];
            c.edges.push_back(e);
            c.nodes.push_back(i);
            c.nodes.push_back(j);
        });
        detail::sort_nodes(out);
        std::stable_sort(out.begin(), out.end(),
                         [this](const Component& a, const Component& b) { return value(a) > value(b); });
        return out;
    }

    /// The component's measure (extent or intensity) under these options.
    double value(const Component& c) const {
        return options_.measure == NbsMeasure::extent ? c.extent : c.intensity;
    }

private:
    struct Scratch : EnhancerScratch {
        detail::NodeForest forest[2];
    };

    int sides() const { return options_.tail == Tail::two_sided && !options_.mixed_signs ? 2 : 1; }

    /// Builds the components of `statistic` and calls visit(e, i, j, side, forest, root) for every
    /// supra-threshold edge e = (i, j), in edge order, with the root of its component.
    template <typename Visit>
    void for_each_supra_edge(const Eigen::Ref<const Eigen::VectorXd>& statistic, Visit&& visit) const {
        check_edges(statistic.size());
        Scratch s;
        const Eigen::VectorXd copy = statistic;
        build(copy.data(), s);
        Eigen::Index e = 0;
        for (Eigen::Index i = 0; i < nodes_; ++i) {
            for (Eigen::Index j = i + 1; j < nodes_; ++j, ++e) {
                const int side = side_of(copy[e]);
                if (side < 0) continue;
                auto& f = s.forest[side];
                visit(e, i, j, side, f, f.find(static_cast<std::int32_t>(i)));
            }
        }
    }
    double sign_of_side(int side) const {
        if (options_.tail == Tail::less) return -1.0;
        return side == 0 ? 1.0 : -1.0;
    }
    bool supra(double v) const { return options_.strict ? v > options_.threshold : v >= options_.threshold; }

    /// Forest an edge with statistic x joins (−1: none); the same rule in every pass.
    int side_of(double x) const {
        if (options_.mixed_signs) return supra(std::fabs(x)) ? 0 : -1;
        switch (options_.tail) {
            case Tail::greater: return supra(x) ? 0 : -1;
            case Tail::less: return supra(-x) ? 0 : -1;
            case Tail::two_sided:
            default: return supra(x) ? 0 : (supra(-x) ? 1 : -1);
        }
    }

    void build(const double* statistic, Scratch& s) const {
        for (int side = 0; side < sides(); ++side) s.forest[side].reset(nodes_);
        const double threshold = options_.threshold;
        Eigen::Index e = 0;
        for (Eigen::Index i = 0; i < nodes_; ++i) {
            for (Eigen::Index j = i + 1; j < nodes_; ++j, ++e) {
                const double x = statistic[e];
                if (!(std::fabs(x) >= threshold)) continue;  // the common case, decided without branches below
                const int side = side_of(x);
                if (side < 0) continue;
                const double excess = (options_.mixed_signs ? std::fabs(x) : sign_of_side(side) * x) - threshold;
                s.forest[side].add(static_cast<std::int32_t>(i), static_cast<std::int32_t>(j), excess);
            }
        }
    }

    double measure(const detail::NodeForest& f, std::size_t root) const {
        return options_.measure == NbsMeasure::extent ? f.edges[root] : f.intensity[root];
    }

    void check_edges(Eigen::Index edges) const {
        if (edges != nodes_ * (nodes_ - 1) / 2) {
            throw InvalidInput("NBS: " + std::to_string(edges) + " edge statistics for " + std::to_string(nodes_) +
                               " nodes; expected " + std::to_string(nodes_ * (nodes_ - 1) / 2));
        }
    }

    Eigen::Index nodes_;
    NbsOptions options_;
};

/// Threshold in units of the model's statistic: `options.threshold` itself, or the t (F) value with
/// the same upper-tail probability as the Z value `options.threshold`.
inline double statistic_threshold(const NbsOptions& options, const Model& model) {
    options.validate();
    if (options.scale == ThresholdScale::statistic) return options.threshold;
    const double dof = static_cast<double>(model.dof);
    if (model.statistic == Statistic::t) return z_to_t(options.threshold, dof);
    return z_to_f(options.threshold, static_cast<double>(model.contrast_rank()), dof);
}

struct NbsResult {
    PermutationResult test;             ///< statistic, per-edge component measure, null, per-edge p_fwe
    std::vector<Component> components;  ///< observed components with FWE p-values, largest first
    double threshold = 0.0;             ///< the primary threshold in statistic units
};

namespace detail {

template <typename Data>
NbsResult nbs_impl(const Data& data, const Model& model, const Shuffles& shuffles, NbsOptions options,
                   const PermutationOptions& permutation) {
    NbsResult result;
    if (model.statistic == Statistic::f) {
        if (options.tail == Tail::less) throw InvalidInput("tail: an F statistic has only an upper tail (use greater)");
        options.tail = Tail::greater;
        options.mixed_signs = false;
    }
    result.threshold = statistic_threshold(options, model);
    options.threshold = result.threshold;
    options.scale = ThresholdScale::statistic;
    const Nbs enhancer(nodes_from_edges(data.cols()), options);
    result.test = permutation_test_impl(data, model, shuffles, enhancer, permutation);
    result.components = enhancer.components(result.test.statistic);
    const std::vector<double> sorted = result.test.sorted_null();
    for (auto& c : result.components) c.p = permutation_p(sorted, enhancer.value(c), permutation.convention);
    return result;
}

}  // namespace detail

/// NBS permutation test. An empty component list is a result (no edge passes the threshold), not
/// an error. F contrasts are one-sided (two_sided is read as greater).
inline NbsResult nbs(const Eigen::Ref<const Eigen::MatrixXd>& data, const Model& model, const Shuffles& shuffles,
                     const NbsOptions& options, const PermutationOptions& permutation = {}) {
    return detail::nbs_impl(data, model, shuffles, options, permutation);
}

}  // namespace rewire::stats
