"""Tests of matsense.solutions: eigen-truncations and best rank-s solutions Z_s*."""

import numpy as np
import pytest

import matsense as ms
from matsense import metrics
from matsense.solutions import (best_rank_solution, best_rank_solutions, descend, eigen_truncation,
                                gradient, objective, top_eigenpairs, truncated_factor)


@pytest.fixture(scope="module")
def sensing():
    return ms.symmetric_gaussian_problem(8, [3.0, 2.0, 1.0], 400, rng=3)


def test_top_eigenpairs_closed_form():
    """diag(1, -3, 2) rotated: eigenvalues in decreasing order, eigenvectors the rotated axes."""
    Q = ms.random_orthonormal(3, 3, rng=1)
    M = (Q * [1.0, -3.0, 2.0]) @ Q.T
    w, V = top_eigenpairs(M + np.triu(np.ones((3, 3)), 1) - np.tril(np.ones((3, 3)), -1), 3)  # + antisymmetric
    np.testing.assert_allclose(w, [2.0, 1.0, -3.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(V.T @ Q), np.eye(3)[[2, 0, 1]], atol=1e-12)
    w1, V1 = top_eigenpairs(M, 1)
    assert w1.shape == (1,) and V1.shape == (3, 1)
    assert top_eigenpairs(M, 0)[1].shape == (3, 0)
    with pytest.raises(ValueError, match="M must be square"):
        top_eigenpairs(np.ones((2, 3)), 1)


def test_truncated_factor_is_the_psd_truncation():
    """V V^T = the eigen-truncation with negative eigenvalues clipped (best rank-s PSD approximation)."""
    Q = ms.random_orthonormal(4, 4, rng=2)
    M = (Q * [3.0, 1.0, -0.5, -2.0]) @ Q.T
    V = truncated_factor(M, 2)
    np.testing.assert_allclose(V @ V.T, eigen_truncation(M, 2), atol=1e-12)
    V3 = truncated_factor(M, 3)
    np.testing.assert_allclose(V3 @ V3.T, eigen_truncation(M, 2), atol=1e-12)


def test_eigen_truncation():
    rng = np.random.default_rng(0)
    M = ms.psd_matrix(6, [4.0, 2.0, 1.0], rng=rng)
    Z = eigen_truncation(M, 2)
    assert np.linalg.matrix_rank(Z, tol=1e-9) == 2
    np.testing.assert_allclose(np.linalg.eigvalsh(Z)[::-1][:3], [4.0, 2.0, 0.0], atol=1e-10)
    np.testing.assert_allclose(eigen_truncation(M, 3), M, atol=1e-10)
    assert np.all(eigen_truncation(M, 0) == 0)


def test_factorization_best_rank_is_truncation():
    M = ms.psd_matrix(6, [3.0, 2.0, 1.0], rng=1)
    problem = ms.factorization_problem(M)
    for s in (1, 2, 3):
        sol = best_rank_solution(problem, s)
        np.testing.assert_allclose(sol.Z, eigen_truncation(M, s), atol=1e-9)
        assert sol.loss == pytest.approx(ms.theory.plateau_levels([3.0, 2.0, 1.0])[s], abs=1e-12)


def test_sensing_best_rank_is_a_local_minimum(sensing):
    sols = best_rank_solutions(sensing, [0, 1, 2, 3])
    assert sols[0].loss == pytest.approx(objective(sensing, np.zeros((8, 8))))
    rng = np.random.default_rng(0)
    for sol in sols[1:]:
        assert sol.grad_norm <= 1e-12
        assert np.linalg.norm(gradient(sensing, sol.V)) <= 1e-11
        # no nearby rank-s factor does better
        for _ in range(20):
            V = sol.V + 1e-3 * rng.standard_normal(sol.V.shape)
            assert objective(sensing, V @ V.T) >= sol.loss - 1e-12
    # with RIP measurements Z_s* differs from the truncation for s < r, and Z_r* = M* (noiseless)
    assert np.linalg.norm(sols[1].Z - eigen_truncation(sensing.M_star, 1)) > 1e-3
    np.testing.assert_allclose(sols[3].Z, sensing.M_star, atol=1e-9)
    assert sols[3].loss < 1e-20
    assert sols[1].loss > sols[2].loss > sols[3].loss


def test_objective_matches_recorded_loss(sensing):
    X = eigen_truncation(sensing.M_star, 2)
    r = sensing.operator.forward(X) - sensing.y
    assert objective(sensing, X) == pytest.approx(float(metrics.loss(r[None], symmetric=True)[0]))


def test_descend_reports_divergence_and_bad_input(sensing):
    U0 = 3 * np.eye(8)[:, :2]
    with pytest.raises(ValueError, match="eta = 10 is too large"):
        descend(sensing, U0, 10.0, max_steps=100)
    with pytest.raises(ValueError, match="U0 must have 8 rows"):
        descend(sensing, np.ones((5, 2)), 0.1)
    with pytest.raises(ValueError, match=r"s must be in \[0, 8\]"):
        best_rank_solution(sensing, 9)
    with pytest.raises(RuntimeError, match="did not reach gradient norm"):
        best_rank_solution(sensing, 1, max_steps=2)
    asym = ms.gaussian_problem(4, 5, [1.0], 50, rng=0)
    with pytest.raises(ValueError, match="symmetric M_star"):
        best_rank_solution(asym, 1)


def test_descend_records_path(sensing):
    run = descend(sensing, 0.1 * np.eye(8)[:, :1], 0.05, tol=1e-6, record_path=True)
    assert run.converged and run.path.shape == (run.steps + 1, 8, 8)
    np.testing.assert_allclose(run.path[-1], run.U @ run.U.T)
