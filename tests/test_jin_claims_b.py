"""Unit tests of the measurements behind the related-work and preliminaries claims of the Jin chapter:
adversarial RIP search, Gordon's estimate, rank-s restarts and loss-aligned path distances."""

from __future__ import annotations

import numpy as np
import pytest

from matsense import analysis, theory
from matsense.operators import identity_operator
from matsense.problems import factorization_problem, symmetric_gaussian_problem
from matsense.solutions import eigen_truncation


def test_symmetric_basis_is_orthonormal():
    B = analysis._symmetric_basis(4)
    G = np.einsum("aij,bij->ab", B, B)
    assert B.shape == (10, 4, 4)
    np.testing.assert_allclose(G, np.eye(10), atol=1e-14)
    np.testing.assert_allclose(B, np.swapaxes(B, 1, 2))


def test_rank_projection_keeps_largest_magnitudes():
    X = np.diag([3.0, -5.0, 1.0])
    np.testing.assert_allclose(analysis._rank_projection(X, 1), np.diag([0.0, -5.0, 0.0]))


def test_isometry_search_identity_gives_one():
    op = identity_operator(5)
    lo, X = analysis.restricted_isometry_search(op, 2, starts=2, iters=10)
    hi, _ = analysis.restricted_isometry_search(op, 2, starts=2, iters=10, maximize=True)
    assert lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    assert np.linalg.matrix_rank(X, tol=1e-8) <= 2 and np.linalg.norm(X) == pytest.approx(1.0)


def test_isometry_search_finds_kernel_below_dimension_and_beats_random_matrices():
    # n = 10, rank 6: the rank-6 symmetric matrices have dimension 45 > m = 30.
    small = symmetric_gaussian_problem(10, (3.0, 2.0, 1.0), 30, rng=0).operator
    lo, _ = analysis.restricted_isometry_search(small, 6)
    assert lo < 1e-3
    from matsense.operators import rip_ratios
    assert rip_ratios(small, 6, 200, rng=1).min() > 100 * lo       # random test matrices miss it
    big = symmetric_gaussian_problem(10, (3.0, 2.0, 1.0), 1000, rng=0).operator
    lo_big, _ = analysis.restricted_isometry_search(big, 6)
    hi_big, _ = analysis.restricted_isometry_search(big, 6, maximize=True)
    assert 0.4 < lo_big < 1 < hi_big < 2
    assert lo_big <= rip_ratios(big, 6, 200, rng=1).min() + 1e-12


def test_gaussian_width_closed_forms():
    # rank n: sup over all unit symmetric X is ||G||_F, E||G||_F ~ sqrt(n(n+1)/2) (chi with that many dof).
    n = 6
    w = theory.low_rank_gaussian_width(n, n, samples=4000)
    assert w == pytest.approx(np.sqrt(n * (n + 1) / 2), rel=0.02)
    # n = 1: |g| with g ~ N(0, 1), E|g| = sqrt(2/pi).
    assert theory.low_rank_gaussian_width(1, 1, samples=20000) == pytest.approx(np.sqrt(2 / np.pi), rel=0.02)
    assert theory.low_rank_gaussian_width(8, 2) < theory.low_rank_gaussian_width(8, 4)


def test_gordon_estimate():
    w = theory.low_rank_gaussian_width(10, 6)
    assert theory.gordon_restricted_singular_value(10, 6, 400) == pytest.approx(1 - w / 20)
    assert theory.gordon_restricted_singular_value(10, 6, 30) < 0       # no isometry below w^2


def test_rank_restarts_factorization_end_at_eigen_truncation():
    M = eigen_truncation(np.diag([3.0, 2.0, 1.0, 0.0, 0.0]), 3)
    prob = factorization_problem(M)
    Z, loss = analysis.rank_restarts(prob, 1, count=4, steps=1500)
    np.testing.assert_allclose(Z, np.broadcast_to(eigen_truncation(M, 1), Z.shape), atol=1e-8)
    np.testing.assert_allclose(loss, 0.25 * (2.0 ** 2 + 1.0 ** 2), atol=1e-10)


def test_rank_restarts_loss_matches_objective():
    from matsense.solutions import objective
    prob = symmetric_gaussian_problem(6, (3.0, 1.0), 200, rng=3)
    Z, loss = analysis.rank_restarts(prob, 2, count=2, steps=5)
    for Zi, li in zip(Z, loss):
        assert li == pytest.approx(objective(prob, Zi), rel=1e-10)


def test_level_crossing_interpolates():
    path = np.array([[0.0], [1.0], [2.0]])
    loss = np.array([1.0, 0.5, 0.0])
    np.testing.assert_allclose(analysis.level_crossing(path, loss, 0.25), [1.5])
    np.testing.assert_allclose(analysis.level_crossing(path, loss, 2.0), [0.0])
    assert np.isnan(analysis.level_crossing(path, loss, -1.0)).all()


def test_level_aligned_distance_ignores_the_clock():
    t = np.linspace(0, 1, 11)
    slow = np.linspace(0, 1, 101)
    d = analysis.level_aligned_distance(t[:, None], 1 - t, slow[:, None], 1 - slow, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(d, 0.0, atol=1e-12)
    shifted = analysis.level_aligned_distance(t[:, None] + 0.1, 1 - t, slow[:, None], 1 - slow, [0.5])
    np.testing.assert_allclose(shifted, [0.1])


def test_chapter_measures_quick():
    from matsense.setups import jin_setup, with_overrides
    import matsense.experiments.jin as ex
    setup = jin_setup(quick=True)
    measured, predicted = ex.rip_adversarial(setup)
    assert abs(measured - predicted) < 0.05
    assert ex.rip_adversarial(with_overrides(setup, {"m": 30}))[0] < 0.01
    assert ex.zs_certificate(setup, 1)[0] < 1e-6
    assert ex.zs_certificate(with_overrides(setup, {"m": 15}), 1)[0] > 0.1
    assert ex.restart_loss_gap(setup, 1) > -1e-10


def test_glrl_phase_distances_zero_for_identical_paths_and_scaled_by_separation():
    from matsense.experiments.jin import GLRLPhasePaths
    t = np.linspace(0, 1, 50)
    path = t[:, None, None] * np.array([[[2.0, 0.0], [0.0, 0.0]]])
    loss = 1 - t
    targets = np.stack([np.zeros((2, 2)), path[-1]])
    same = GLRLPhasePaths(path, loss, path, loss, targets, np.array([1.0, 0.0]))
    np.testing.assert_allclose(same.phase_distances(1), 0.0, atol=1e-12)
    off = GLRLPhasePaths(path + np.array([[0.0, 0.0], [0.0, 0.2]]), loss, path, loss, targets, np.array([1.0, 0.0]))
    np.testing.assert_allclose(off.phase_distances(1), 0.1)       # 0.2 over the separation 2
