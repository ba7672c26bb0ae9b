// rewire::stats — the enhancer interface: what the permutation engine does with each shuffle's
// edge statistics. As MRtrix3's Stats::EnhancerBase, an enhancer turns the E edge statistics of one
// shuffle into E enhanced values (larger is more significant); the engine keeps the maximum of each
// shuffle as the null distribution for family-wise error control. max-T (maxt.hpp), NBS (nbs.hpp) and
// TFNBS (tfnbs.hpp) are enhancers over the same engine (permutation.hpp).
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "rewire/core/error.hpp"

namespace rewire::stats {

/// Which effects count as evidence.
enum class Tail {
    two_sided,  ///< positive and negative effects, family-wise over both
    greater,    ///< statistic > 0 (the contrast's direction)
    less,       ///< statistic < 0
};

/// Per-thread working memory of an enhancer (reused across shuffles, never shared).
struct EnhancerScratch {
    virtual ~EnhancerScratch() = default;
};

class Enhancer {
public:
    virtual ~Enhancer() = default;

    /// Enhanced values (E) of one vector of edge statistics (E). Deterministic: the engine calls it
    /// for the observed data and compares with max_enhanced of the shuffles.
    virtual Eigen::VectorXd enhance(const Eigen::Ref<const Eigen::VectorXd>& statistic) const = 0;

    /// max over edges of enhance(statistic) for one shuffle, using `scratch` (from make_scratch())
    /// instead of allocating. Must equal enhance(statistic).maxCoeff() bit for bit.
    virtual double max_enhanced(const double* statistic, Eigen::Index edges, EnhancerScratch& scratch) const = 0;

    virtual std::unique_ptr<EnhancerScratch> make_scratch() const { return std::make_unique<EnhancerScratch>(); }

    /// True when the enhanced value of an edge depends on that edge's statistic alone (max-T): the
    /// engine then also counts per-edge uncorrected permutation p-values with transform().
    virtual bool elementwise() const { return false; }
    virtual double transform(double statistic) const { return statistic; }
    /// out[e] = transform(in[e]) for e < edges (one virtual call per shuffle, not per edge).
    virtual void transform_all(const double* in, Eigen::Index edges, double* out) const {
        for (Eigen::Index e = 0; e < edges; ++e) out[e] = transform(in[e]);
    }
};

/// Number of nodes N of an undirected graph with `edges` = N(N−1)/2 edges (throws otherwise).
inline Eigen::Index nodes_from_edges(Eigen::Index edges) {
    const double estimate = 0.5 * (1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(edges)));
    const auto n = static_cast<Eigen::Index>(std::llround(estimate));
    if (edges < 1 || n * (n - 1) / 2 != edges) {
        throw InvalidInput("data: " + std::to_string(edges) +
                           " edges is not N(N-1)/2 for any node count N; network statistics need rewire's edge "
                           "vectors (strict upper triangle, row by row)");
    }
    return n;
}

namespace detail {

/// Union–find over the N nodes with union by size and path halving; per-root edge counts and
/// statistic sums. O(N) memory: components of edges are read off their end nodes, so no per-edge
/// neighbour lists are needed (MRtrix3's NBS keeps one per edge: O(E·N)).
struct NodeForest {
    std::vector<std::int32_t> parent;
    std::vector<std::int32_t> size;
    std::vector<double> edges;
    std::vector<double> intensity;

    void reset(Eigen::Index nodes) {
        parent.resize(static_cast<std::size_t>(nodes));
        size.assign(static_cast<std::size_t>(nodes), 1);
        edges.assign(static_cast<std::size_t>(nodes), 0.0);
        intensity.assign(static_cast<std::size_t>(nodes), 0.0);
        for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<std::int32_t>(i);
    }

    std::int32_t find(std::int32_t x) {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }

    /// Adds edge (i, j) with `excess` = statistic − threshold; returns the root of its component.
    std::int32_t add(std::int32_t i, std::int32_t j, double excess) {
        std::int32_t a = find(i);
        std::int32_t b = find(j);
        if (a != b) {
            if (size[a] < size[b]) std::swap(a, b);
            parent[b] = a;
            size[a] += size[b];
            edges[a] += edges[b];
            intensity[a] += intensity[b];
        }
        edges[a] += 1.0;
        intensity[a] += excess;
        return a;
    }
};

}  // namespace detail

}  // namespace rewire::stats
