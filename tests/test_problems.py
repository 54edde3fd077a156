"""Tests of matsense.problems: prescribed spectra, orthonormal factors, measurements and noise."""

import numpy as np
import pytest

from matsense.operators import gaussian_operator, symmetric_gaussian_operator
from matsense.problems import (factorization_problem, gaussian_problem, low_rank_matrix,
                               make_sensing_problem, psd_matrix, random_orthonormal,
                               symmetric_gaussian_problem)


def test_random_orthonormal_is_orthonormal():
    Q = random_orthonormal(7, 3, rng=0)
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-13)


@pytest.mark.parametrize("n1, n2, s", [(6, 4, [5.0, 2.0, 0.5]), (3, 8, [1.0]), (5, 5, [3, 2, 1, 1, 1])])
def test_low_rank_matrix_has_the_prescribed_singular_values(n1, n2, s):
    M = low_rank_matrix(n1, n2, s, rng=1)
    got = np.linalg.svd(M, compute_uv=False)[: len(s)]
    np.testing.assert_allclose(got, sorted(s, reverse=True), rtol=1e-12)
    assert np.linalg.matrix_rank(M) == len(s)


def test_psd_matrix_eigenvalues_and_symmetry():
    M = psd_matrix(8, [1.0, 3.0, 2.0], rng=2)
    np.testing.assert_array_equal(M, M.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(M)[::-1][:4], [3, 2, 1, 0], atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: low_rank_matrix(3, 2, [1, 1, 1], rng=0), r"rank len\(singular_values\) must be in \[1, 2\]"),
    (lambda: psd_matrix(3, [1, -1], rng=0), r"eigenvalues must be in \(0, inf\)"),
    (lambda: psd_matrix(3, [1, np.inf], rng=0), "eigenvalues must be finite"),
    (lambda: random_orthonormal(3, 4, rng=0), r"r must be in \[1, 3\], got 4"),
    (lambda: gaussian_problem(3, 3, [1], 10, rng=0, noise_std=-1), r"noise_std must be in \[0, inf\)"),
])
def test_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_measurements_are_forward_of_truth_and_noise_has_the_stated_scale():
    op = gaussian_operator(4, 4, 20000, rng=3)
    M = low_rank_matrix(4, 4, [1.0], rng=4)
    clean = make_sensing_problem(M, op)
    np.testing.assert_allclose(clean.y, op.forward(M), rtol=1e-14)
    noisy = make_sensing_problem(M, op, noise_std=2.0, rng=5)
    # y - A(M*) = xi / sqrt(m) with xi ~ N(0, 2^2)
    xi = (noisy.y - clean.y) * np.sqrt(op.m)
    assert abs(xi.std() - 2.0) < 0.05
    with pytest.raises(ValueError, match="rng is required when noise_std > 0"):
        make_sensing_problem(M, op, noise_std=1.0)


def test_symmetric_operator_requires_symmetric_truth():
    op = symmetric_gaussian_operator(3, 10, rng=0)
    with pytest.raises(ValueError, match="M_star must be symmetric"):
        make_sensing_problem(np.arange(9.0).reshape(3, 3), op)
    with pytest.raises(ValueError, match=r"M_star must have shape \(n1, n2\) = \(3, 3\)"):
        make_sensing_problem(np.eye(4), op)


def test_problem_properties_and_determinism():
    p = symmetric_gaussian_problem(6, [3, 2], 100, rng=9)
    q = symmetric_gaussian_problem(6, [3, 2], 100, rng=9)
    assert np.array_equal(p.y, q.y) and np.array_equal(p.M_star, q.M_star)
    assert p.rank == 2 and p.is_symmetric
    np.testing.assert_allclose(p.singular_values, [3, 2], rtol=1e-12)
    f = factorization_problem(p.M_star)
    np.testing.assert_allclose(f.y, p.M_star.ravel())
