"""Tests of matsense.operators: adjointness, isotropy, packed symmetric storage, batching, validation."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matsense.operators import (gaussian_operator, identity_operator,
                                symmetric_gaussian_operator)


def _sym(X):
    return (X + np.swapaxes(X, -1, -2)) / 2


def _make(kind, n1, n2, m, dtype, seed=0):
    if kind == "gaussian":
        return gaussian_operator(n1, n2, m, rng=seed, dtype=dtype)
    if kind == "symmetric":
        return symmetric_gaussian_operator(n1, m, rng=seed, dtype=dtype)
    return identity_operator(n1, n2, dtype=dtype)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["gaussian", "symmetric", "identity"]),
       n1=st.integers(1, 6), n2=st.integers(1, 6), m=st.integers(1, 40), B=st.integers(1, 4),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
@example(kind="gaussian", n1=1, n2=4, m=5, B=2, dtype=np.float32, seed=0)  # once rounded apart
def test_adjoint_identity_batched(kind, n1, n2, m, B, dtype, seed):
    """<A(X), v> = <X, A*(v)> for every operator, shape, dtype and batch size."""
    if kind == "symmetric":
        n2 = n1
    op = _make(kind, n1, n2, m, dtype, seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((B, n1, n2))
    if kind == "symmetric":
        X = _sym(X)
    v = rng.standard_normal((B, op.m))
    AX, Av = op.forward(X), op.adjoint(v)
    assert AX.shape == (B, op.m) and Av.shape == (B, n1, n2)
    assert AX.dtype == np.dtype(dtype) and Av.dtype == np.dtype(dtype)
    lhs = np.einsum("bm,bm->b", AX.astype(np.float64), v)
    rhs = np.einsum("bij,bij->b", X, Av.astype(np.float64))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    scale = np.linalg.norm(AX.astype(np.float64), axis=1) * np.linalg.norm(v, axis=1) + 1
    assert np.all(np.abs(lhs - rhs) <= tol * scale)
    # a single matrix gives the same as a batch of one
    # (single-matrix and batched products may round differently: compare at the dtype's precision)
    eps = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(op.forward(X[0]), AX[0], rtol=eps, atol=eps * (1 + np.abs(AX).max()))


@pytest.mark.parametrize("kind", ["gaussian", "symmetric"])
def test_isotropy_monte_carlo(kind):
    r"""E[A*A(X)] = X: the mean over K independent operators is within 4 standard errors.

    Entry (j,l) of A*A(X) - X has variance (||X||^2 + X_jl^2)/m, so the mean over K operators has
    ||error||_F of about ||X||_F sqrt((N + 1)/(m K)). A mis-normalised operator ((B + B^T)/sqrt 2
    for the symmetric one) is off by a factor 2 and fails by a wide margin.
    """
    n, m, K = 4, 200, 100
    rng = np.random.default_rng(123)
    X = rng.standard_normal((n, n))
    if kind == "symmetric":
        X = _sym(X)
    mean = np.zeros_like(X)
    for seed in range(K):
        op = _make(kind, n, n, m, np.float64, seed)
        mean += op.adjoint(op.forward(X)) / K
    err = np.linalg.norm(mean - X) / np.linalg.norm(X)
    assert err < 4 * np.sqrt((n * n + 1) / (m * K))


def test_symmetric_operator_matches_full_design_and_sees_symmetric_part():
    op = symmetric_gaussian_operator(5, 30, rng=1)
    full = op.full_design()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 5))
    # each unpacked row is a symmetric matrix A_i / sqrt(m)
    A = full.reshape(30, 5, 5)
    np.testing.assert_array_equal(A, np.swapaxes(A, 1, 2))
    np.testing.assert_allclose(op.forward(X), full @ X.ravel(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(op.forward(X), op.forward(_sym(X)), rtol=1e-13, atol=1e-13)
    v = rng.standard_normal(30)
    np.testing.assert_allclose(op.adjoint(v), (v @ full).reshape(5, 5), rtol=1e-13, atol=1e-13)


def test_symmetric_entries_have_the_variances_of_symmetrised_gaussians():
    """Diagonal of A_i ~ N(0, 1), off-diagonal ~ N(0, 1/2), as for (B + B^T)/2."""
    n, m = 3, 20000
    op = symmetric_gaussian_operator(n, m, rng=5)
    A = op.full_design().reshape(m, n, n) * np.sqrt(m)
    var_diag = A[:, np.arange(n), np.arange(n)].var()
    var_off = A[:, 0, 1].var()
    assert abs(var_diag - 1.0) < 0.05 and abs(var_off - 0.5) < 0.03


def test_float32_operator_is_rounded_float64_operator():
    a = gaussian_operator(3, 4, 10, rng=7, dtype=np.float64)
    b = gaussian_operator(3, 4, 10, rng=7, dtype=np.float32)
    np.testing.assert_array_equal(b.matrix, a.matrix.astype(np.float32))


def test_same_seed_same_operator_bitwise():
    a, b = gaussian_operator(5, 5, 50, rng=3), gaussian_operator(5, 5, 50, rng=3)
    assert np.array_equal(a.matrix, b.matrix)


@pytest.mark.parametrize("call, match", [
    (lambda: gaussian_operator(0, 3, 5, rng=0), r"n1 must be in \[1, inf\), got 0"),
    (lambda: gaussian_operator(3, 3, 0, rng=0), r"m must be in \[1, inf\), got 0"),
    (lambda: gaussian_operator(3, 3, 2.5, rng=0), r"m must be an integer, got 2.5"),
    (lambda: gaussian_operator(3, 3, 5, rng=0, dtype=np.int32), r"dtype must be float64 or float32, got int32"),
    (lambda: gaussian_operator(3, 3, 5, rng=0, dtype=np.float16), r"dtype must be float64 or float32"),
    (lambda: gaussian_operator(3, 3, 5, rng=None), r"rng must be a numpy.random.Generator"),
    (lambda: gaussian_operator(3, 3, 5, rng=-1), r"rng seed must be in \[0, inf\)"),
    (lambda: symmetric_gaussian_operator(0, 5, rng=0), r"n must be in \[1, inf\)"),
    (lambda: identity_operator(2, 0), r"n2 must be in \[1, inf\)"),
])
def test_factory_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_forward_adjoint_validation():
    op = gaussian_operator(3, 4, 6, rng=0)
    with pytest.raises(ValueError, match=r"X must have trailing shape \(3, 4\), got \(4, 3\)"):
        op.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X must contain only finite values"):
        op.forward(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match=r"v must have trailing shape \(6\)"):
        op.adjoint(np.zeros(5))
    with pytest.raises(ValueError, match="X must have 2 or 3 axes"):
        op.forward(np.zeros((1, 1, 3, 4)))


def test_rip_ratios():
    from matsense.operators import rip_ratios
    np.testing.assert_allclose(rip_ratios(identity_operator(5), 2, 4, rng=0), 1.0)
    small = rip_ratios(symmetric_gaussian_operator(8, 200, rng=0), 2, 300, rng=1)
    large = rip_ratios(symmetric_gaussian_operator(8, 3200, rng=0), 2, 300, rng=1)
    assert abs(small.mean() - 1) < 0.05 and abs(large.mean() - 1) < 0.02
    # the spread shrinks like m^{-1/2}: 16x more measurements, about 4x less spread
    assert 2.5 < np.abs(small - 1).max() / np.abs(large - 1).max() < 6.5
    assert rip_ratios(gaussian_operator(4, 6, 100, rng=0), 3, 5, rng=0).shape == (5,)
    with pytest.raises(ValueError, match=r"rank must be in \[1, 4\]"):
        rip_ratios(gaussian_operator(4, 6, 100, rng=0), 5, 5, rng=0)


@pytest.mark.parametrize("kind", ["gaussian", "symmetric", "identity"])
def test_adjoint_residual_against_the_tensor_sum(kind):
    """S = A*(A(X) - y) = (1/sqrt m) sum_i r_i A_i with r_i = <A_i, X>/sqrt(m) - y_i, one and batched."""
    op = _make(kind, 4, 4, 30, np.float64, seed=2)
    design = op.full_design() if kind == "symmetric" else (np.eye(16) if kind == "identity" else op.matrix)
    A3 = design.reshape(-1, 4, 4)
    rng = np.random.default_rng(1)
    X = _sym(rng.standard_normal((3, 4, 4)))
    y = rng.standard_normal(op.m)
    r_ref = np.einsum("mij,bij->bm", A3, X) - y
    S_ref = np.einsum("bm,mij->bij", r_ref, A3)
    S, r = op.adjoint_residual(X, y)
    np.testing.assert_allclose(r, r_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(S, S_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.residual(X[0], y), r_ref[0], rtol=1e-12, atol=1e-12)
    S0, r0 = op.adjoint_residual(X[0], y)
    assert S0.shape == (4, 4) and r0.shape == (op.m,) and S0.dtype == np.float64
    # at the truth (y = A(M)) the residual and S vanish
    S_star, r_star = op.adjoint_residual(X[0], op.forward(X[0]))
    assert np.abs(r_star).max() == 0 and np.abs(S_star).max() == 0


@pytest.mark.parametrize("call, match", [
    (lambda: gaussian_operator(2.5, 3, 4, rng=0), "n1 must be an integer"),
    (lambda: gaussian_operator(2, 3, 4, rng="seed"), "rng must be a numpy.random.Generator"),
    (lambda: gaussian_operator(2, 3, 4, rng=0, dtype="int8x"), "dtype must be float64 or float32"),
    (lambda: gaussian_operator(2, 3, 4, rng=0).forward(np.full((2, 3), "a")), "X must be a real array"),
])
def test_wrong_types_raise_type_error(call, match):
    """A wrong type is a TypeError (also a ValueError, for callers that catch ValueError)."""
    with pytest.raises(TypeError, match=match) as err:
        call()
    assert isinstance(err.value, ValueError)


def test_wrong_values_raise_value_error_only():
    with pytest.raises(ValueError, match=r"n1 must be in \[1, inf\)") as err:
        gaussian_operator(0, 3, 4, rng=0)
    assert not isinstance(err.value, TypeError)
    with pytest.raises(ValueError, match="seed must be in"):
        gaussian_operator(2, 3, 4, rng=-1)
