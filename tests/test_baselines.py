"""Tests of matsense.baselines: greedy low-rank learning (GLRL)."""

import numpy as np
import pytest

import matsense as ms
from matsense.baselines import escape_direction, glrl
from matsense.solutions import best_rank_solution, eigen_truncation


def test_glrl_on_factorization_visits_the_truncations():
    M = ms.psd_matrix(6, [3.0, 2.0, 1.0], rng=0)
    problem = ms.factorization_problem(M)
    res = glrl(problem, 0.1, max_rank=5, eps=1e-8, tol=1e-11)
    assert res.stopped == "no descent direction" and len(res.phases) == 3
    np.testing.assert_allclose(res.escape_eigenvalues, [3.0, 2.0, 1.0], atol=1e-8)
    for s, phase in enumerate(res.phases, start=1):
        np.testing.assert_allclose(phase.U @ phase.U.T, eigen_truncation(M, s), atol=1e-9)
    path = res.path
    assert path.shape[1:] == (6, 6) and np.all(path[0] == 0)
    assert path.shape[0] == 1 + sum(p.steps for p in res.phases)
    np.testing.assert_allclose(path[-1], M, atol=1e-9)


def test_glrl_on_sensing_ends_phases_at_best_rank_solutions():
    problem = ms.symmetric_gaussian_problem(6, [3.0, 1.5], 300, rng=2)
    res = glrl(problem, 0.05, max_rank=2, eps=1e-10, tol=1e-12)
    assert res.stopped == "max_rank"
    Z1 = best_rank_solution(problem, 1).Z
    np.testing.assert_allclose(res.phases[0].U @ res.phases[0].U.T, Z1, atol=1e-9)
    np.testing.assert_allclose(res.Z, problem.M_star, atol=1e-9)
    lam, u = escape_direction(problem, np.zeros((6, 0)))
    S = problem.operator.adjoint(problem.y)
    assert lam == pytest.approx(np.linalg.eigvalsh((S + S.T) / 2)[-1])


def test_glrl_rejects_bad_input():
    problem = ms.factorization_problem(np.diag([2.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="eps = 1e-20 is too small for tol"):
        glrl(problem, 0.1, max_rank=1, eps=1e-20, tol=1e-12)
    with pytest.raises(ValueError, match=r"max_rank must be in \[1, 3\]"):
        glrl(problem, 0.1, max_rank=4)
    with pytest.raises(RuntimeError, match="GLRL phase 1 did not reach"):
        glrl(problem, 0.1, max_rank=1, max_steps=3)
