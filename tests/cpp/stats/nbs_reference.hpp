// Literal re-implementations of MRtrix3's NBS and TFNBS (src/stats/tfce.cpp), the references of
// test_nbs.cpp and test_tfnbs.cpp: slow, written for reading, sharing nothing with rewire's code.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <vector>

namespace rewire::test {

struct EdgeList {
    std::vector<Eigen::Index> first, second;
    explicit EdgeList(Eigen::Index nodes) {
        for (Eigen::Index i = 0; i < nodes; ++i) {
            for (Eigen::Index j = i + 1; j < nodes; ++j) {
                first.push_back(i);
                second.push_back(j);
            }
        }
    }
    bool touch(Eigen::Index a, Eigen::Index b) const {
        return first[a] == first[b] || first[a] == second[b] || second[a] == first[b] ||
               second[a] == second[b];
    }
};

/// MRtrix3's NBS literally: flood fill over edges that share a node, among edges with in[e] ≥ T
/// (or > T); each edge gets its cluster's size in edges.
inline Eigen::VectorXd reference_cluster_size(const Eigen::VectorXd& in, double threshold, bool strict,
                                              Eigen::Index nodes) {
    const EdgeList edges(nodes);
    const Eigen::Index count = in.size();
    auto supra = [&](Eigen::Index e) { return strict ? in[e] > threshold : in[e] >= threshold; };
    Eigen::VectorXd out = Eigen::VectorXd::Zero(count);
    std::vector<int> label(count, -1);
    int next = 0;
    for (Eigen::Index seed = 0; seed < count; ++seed) {
        if (!supra(seed) || label[seed] >= 0)
            continue;
        std::vector<Eigen::Index> stack{seed}, members;
        label[seed] = next;
        while (!stack.empty()) {
            const Eigen::Index e = stack.back();
            stack.pop_back();
            members.push_back(e);
            for (Eigen::Index f = 0; f < count; ++f) {
                if (label[f] < 0 && supra(f) && edges.touch(e, f)) {
                    label[f] = next;
                    stack.push_back(f);
                }
            }
        }
        for (auto e : members)
            out[e] = static_cast<double>(members.size());
        ++next;
    }
    return out;
}

/// MRtrix3's TFCE wrapper over its NBS, literally (src/stats/tfce.cpp).
inline Eigen::VectorXd reference_tfnbs(const Eigen::VectorXd& in, double dh, double e, double h,
                                       Eigen::Index nodes) {
    Eigen::VectorXd out = Eigen::VectorXd::Zero(in.size());
    const double max_input = in.maxCoeff();
    for (double height = dh; (height - dh) < max_input; height += dh) {
        const Eigen::VectorXd sizes = reference_cluster_size(in, height, false, nodes);
        const double multiplier = std::pow(height, h);
        for (Eigen::Index k = 0; k < in.size(); ++k)
            out[k] += std::pow(sizes[k], e) * multiplier;
    }
    return out;
}

}  // namespace rewire::test
