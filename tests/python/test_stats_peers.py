"""rewire.stats permutation tests against the peers, given the same shuffles: bctpy's nbs_bct (replaying
its RandomState draws) and MRtrix3's connectomestats (fed rewire's shuffles through -permutations), in
their conventions; plus the counter-based generator against numpy's Philox and thread invariance."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import warnings

import bct
import numpy as np
import pytest

import rewire.stats as rs
from rewire import _core


def edge_vectors(matrices):
    """(N, N, S) symmetric matrices → (S, E) rows of rewire edge vectors."""
    n = matrices.shape[0]
    i, j = np.triu_indices(n, 1)
    return matrices[i, j, :].T.copy()


def symmetric(vectors, n):
    """(S, E) edge vectors → (N, N, S) symmetric matrices with a zero diagonal."""
    i, j = np.triu_indices(n, 1)
    out = np.zeros((n, n, vectors.shape[0]))
    out[i, j, :] = vectors.T
    out[j, i, :] = vectors.T
    return out


def planted(rng, subjects, n, effect, nodes=range(5)):
    """(S, E) noise with `effect` added on every edge among `nodes` for the first half of the rows."""
    data = rng.normal(size=(subjects, n * (n - 1) // 2))
    for a in nodes:
        for b in nodes:
            if a < b:
                data[: subjects // 2, rs._core.edge_index(a, b, n)] += effect
    return data


# --------------------------------------------------------------------------------------------------
# bctpy


def run_bctpy(*args, **kwargs):
    """nbs_bct prints progress; keep the test output clean."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return bct.nbs_bct(*args, **kwargs)


def bctpy_components(adj, n):
    """Edge sets (rewire edge indices) of nbs_bct's labelled adjacency, by label."""
    i, j = np.triu_indices(n, 1)
    labels = adj[i, j]
    return {int(label): set(np.flatnonzero(labels == label).tolist()) for label in np.unique(labels) if label > 0}


@pytest.mark.parametrize("tail, effect", [("both", 0.7), ("right", 0.8)])
def test_nbs_two_sample_equals_bctpy(tail, effect):
    n, nx, ny, k, seed, threshold = 20, 12, 12, 120, 7, 2.5
    rng = np.random.default_rng(1)
    data = planted(rng, nx + ny, n, effect=effect, nodes=range(7))
    data[:, 100:110] -= effect * np.r_[np.ones(nx), np.zeros(ny)][:, None]  # a negative effect too
    x, y = symmetric(data[:nx], n), symmetric(data[nx:], n)
    pvals, adj, null = run_bctpy(x, y, threshold, k=k, tail=tail, seed=seed)

    replay = np.random.RandomState(seed)
    permutations = np.array([replay.permutation(nx + ny) for _ in range(k)])
    design = rs.two_sample_design(np.r_[np.zeros(nx), np.ones(ny)], first=0.0)  # x − y, as bctpy
    ours = rs.nbs(data, design, [0, 1], threshold=threshold, permutations=permutations, compat="bctpy",
                  tail="two-sided" if tail == "both" else "greater")

    assert np.array_equal(ours.null, null)
    theirs = bctpy_components(adj, n)
    assert len(theirs) == len(pvals) == len(ours.components)
    ours_by_edges = {frozenset(c.edges.tolist()): c for c in ours.components}
    for label, edges in theirs.items():
        component = ours_by_edges[frozenset(edges)]
        assert component.size == len(edges)
        assert component.p == pvals[label - 1]
    assert 0.0 < min(pvals) < 0.05 < max(pvals)  # the comparison covers significant and null components


def test_nbs_paired_equals_bctpy():
    n, s, k, seed, threshold = 18, 14, 100, 3, 3.0
    rng = np.random.default_rng(2)
    pre = rng.normal(size=(s, n * (n - 1) // 2))
    change = rng.normal(size=pre.shape)
    for a in range(10, 17):
        for b in range(a + 1, 17):
            change[:, rs._core.edge_index(a, b, n)] += 0.9  # a change in every subject
    post = pre + change
    pvals, adj, null = run_bctpy(symmetric(post, n), symmetric(pre, n), threshold, k=k, paired=True, seed=seed)

    replay = np.random.RandomState(seed)
    signflips = np.column_stack([np.sign(0.5 - replay.rand(1, s))[0] for _ in range(k)])
    ours = rs.nbs(post - pre, threshold=threshold, signflips=signflips, compat="bctpy")
    assert np.array_equal(ours.null, null)
    theirs = bctpy_components(adj, n)
    ours_by_edges = {frozenset(c.edges.tolist()): c for c in ours.components}
    assert set(ours_by_edges) == {frozenset(e) for e in theirs.values()}
    for label, edges in theirs.items():
        assert ours_by_edges[frozenset(edges)].p == pvals[label - 1]
        assert ours_by_edges[frozenset(edges)].size == len(edges)
    assert min(pvals) < 0.05 < max(pvals)


# --------------------------------------------------------------------------------------------------
# MRtrix3


def connectomestats():
    """MRtrix3's connectomestats (Debian package mrtrix3, in scripts/debian-packages.txt)."""
    path = shutil.which("connectomestats")
    assert path is not None, "MRtrix3's connectomestats is not on PATH: scripts/setup installs mrtrix3"
    return path


def run_connectomestats(folder, data, n, design, contrast, permutations, algorithm, *options):
    """Writes one connectome CSV per subject, the design, contrast and rewire's permutations (one column
    per shuffle, 0-based, identity first), runs connectomestats, and returns a reader of its outputs
    as rewire edge vectors."""
    folder = str(folder)
    matrices = symmetric(data, n)
    with open(os.path.join(folder, "subjects.txt"), "w") as listing:
        for s in range(data.shape[0]):
            name = f"sub{s:03d}.csv"
            np.savetxt(os.path.join(folder, name), matrices[:, :, s], delimiter=",", fmt="%.17g")
            listing.write(name + "\n")
    np.savetxt(os.path.join(folder, "design.txt"), design, fmt="%.17g")
    np.savetxt(os.path.join(folder, "contrast.txt"), np.atleast_2d(contrast), fmt="%.17g")
    np.savetxt(os.path.join(folder, "perms.txt"), np.asarray(permutations).T, fmt="%d")
    subprocess.run([connectomestats(), "subjects.txt", algorithm, "design.txt", "contrast.txt", "out_",
                    "-permutations", "perms.txt", "-nthreads", "1", "-quiet", "-force", *options],
                   cwd=folder, check=True, capture_output=True, timeout=300)
    i, j = np.triu_indices(n, 1)

    def read(name):
        path = os.path.join(folder, "out_" + name)
        if name.endswith(".txt"):
            return np.loadtxt(path)
        return np.loadtxt(path, delimiter=",")[i, j]

    return read


@pytest.fixture
def mrtrix_study():
    """20 subjects (two groups of 10), 16 nodes, an age covariate, a planted group effect, and 150
    permutations from rewire's generator with the identity first (MRtrix3 counts it as a shuffle)."""
    n, s = 16, 20
    rng = np.random.default_rng(9)
    age = rng.normal(40.0, 10.0, s)
    data = planted(rng, s, n, effect=1.3) + 0.03 * age[:, None]
    design = np.column_stack([np.ones(s), np.r_[np.ones(10), np.zeros(10)], age])
    permutations, _ = rs.shuffles(s, 150, seed=4, shuffle="permute", include_identity=True)
    assert np.array_equal(permutations[0], np.arange(s))
    return n, data, design, permutations


def test_nbs_freedman_lane_equals_connectomestats(tmp_path, mrtrix_study):
    n, data, design, permutations = mrtrix_study
    read = run_connectomestats(tmp_path, data, n, design, [0, 1, 0], permutations, "nbs", "-threshold", "1.8")
    ours = rs.nbs(data, design, [0, 1, 0], threshold=1.8, threshold_kind="z", tail="greater",
                  permutations=permutations, compat="mrtrix")
    assert np.max(np.abs(ours.t - read("tvalue.csv"))) < 1e-10
    assert np.array_equal(ours.enhanced, read("enhanced.csv"))  # component sizes per edge
    assert np.array_equal(ours.null, read("null_dist.txt"))
    p = 1.0 - read("fwe_1mpvalue.csv")  # MRtrix3 writes 1 − p
    assert np.max(np.abs(ours.p_fwe - p)) < 1e-12
    sizes = sorted({c.size for c in ours.components})
    assert len(ours.components) >= 2 and min(c.p for c in ours.components) < 0.05 < max(c.p for c in ours.components)
    for component in ours.components:
        assert np.all(read("enhanced.csv")[component.edges] == component.size)
        assert np.allclose(p[component.edges], component.p, atol=1e-12)
    assert sizes  # the planted component and smaller chance ones


def test_tfnbs_equals_connectomestats(tmp_path, mrtrix_study):
    n, data, design, permutations = mrtrix_study
    read = run_connectomestats(tmp_path, data, n, design, [0, 1, 0], permutations, "tfnbs")
    ours = rs.tfnbs(data, design, [0, 1, 0], tail="greater", permutations=permutations, compat="mrtrix")
    enhanced = read("enhanced.csv")
    assert np.max(np.abs(ours.enhanced - enhanced)) <= 1e-9 * enhanced.max()
    null = read("null_dist.txt")
    assert np.max(np.abs(ours.null - null)) <= 1e-9 * null.max()
    p = 1.0 - read("fwe_1mpvalue.csv")
    assert np.max(np.abs(ours.p_fwe - p)) < 1e-12
    assert 0.0 < p.min() < 0.05 and len(np.unique(p)) > 5


# --------------------------------------------------------------------------------------------------
# Generator and determinism


def test_philox_equals_numpy():
    for key, counter in [((0, 0), (0, 0, 0, 0)), ((123, 2**63 + 5), (7, 2**64 - 1, 3, 1))]:
        generator = np.random.Philox(key=np.array(key, dtype=np.uint64), counter=np.array(counter, dtype=np.uint64))
        expected = generator.random_raw(4)
        # numpy increments the 256-bit counter before each block.
        c = list(counter)
        c[0] = (c[0] + 1) % 2**64
        if c[0] == 0:
            c[1] = (c[1] + 1) % 2**64
        assert list(_core.philox4x64(c, key[0], key[1])) == [int(v) for v in expected]


def test_results_identical_for_threads_and_chunks():
    rng = np.random.default_rng(12)
    data = planted(rng, 30, 14, effect=0.6)
    design = rs.two_sample_design(np.r_[np.ones(15), np.zeros(15)])
    kwargs = dict(threshold=2.0, shuffles=400, seed=99)
    one = rs.nbs(data, design, [0, 1], threads=1, **kwargs)
    two = rs.nbs(data, design, [0, 1], threads=2, **kwargs)
    assert np.array_equal(one.null, two.null) and np.array_equal(one.t, two.t)
    assert [c.p for c in one.components] == [c.p for c in two.components]
    # Shuffles 250–399 run as an explicit chunk reproduce the same null values.
    permutations, _ = rs.shuffles(30, 400, seed=99, shuffle="permute")
    chunk = rs.nbs(data, design, [0, 1], threshold=2.0, permutations=permutations[250:])
    assert np.array_equal(chunk.null, one.null[250:])
    tf = [rs.tfnbs(data, design, [0, 1], shuffles=64, seed=5, threads=t) for t in (1, 2)]
    assert np.array_equal(tf[0].null, tf[1].null) and np.array_equal(tf[0].p_fwe, tf[1].p_fwe)


def test_maxt_exact_and_blocks():
    # 6 subjects: 2^6 = 64 sign flips ≤ 5000 requested → exact enumeration, p a multiple of 1/64.
    rng = np.random.default_rng(1)
    data = rng.normal(0.5, 1.0, size=(6, 15))
    result = rs.maxt(data)
    assert result.exhaustive and result.shuffles == 63
    assert np.allclose(result.p_fwe * 64, np.round(result.p_fwe * 64))
    # Within-block permutations never move a subject out of its block.
    permutations, _ = rs.shuffles(8, 30, seed=2, shuffle="permute", blocks=[0, 0, 0, 0, 1, 1, 1, 1])
    assert np.all(permutations[:, :4] < 4) and np.all(permutations[:, 4:] >= 4)
    # Freedman–Lane with repeated measures: subject blocks, sessions exchanged within subject.
    sessions = np.tile([0.0, 1.0], 10)
    subjects = np.repeat(np.arange(10), 2)
    design = np.column_stack([sessions, (subjects[:, None] == np.arange(10)).astype(float)])
    y = rng.normal(size=(20, 21)) + subjects[:, None] * 0.5
    out = rs.maxt(y, design, np.r_[1.0, np.zeros(10)], blocks=subjects, shuffles=2000)
    assert out.exhaustive and out.shuffles == 2 ** 10 - 1  # 2 sessions per subject: 2^10 permutations
    assert 0.0 < out.p_fwe.min() <= 1.0
