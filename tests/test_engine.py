"""Tests of matsense.engine: every form and kernel equals the dense reference.

The reference is computed independently of the packed vectorisation: the sensing matrices as an
``(m, n1, n2)`` tensor, :math:`r_i = \\langle A_i, X\\rangle - y_i`, :math:`S = \\sum_i r_i A_i`, then
``vec(S)``. Every kernel (two GEMVs, the fused row-blocked pass, two GEMMs, symv, the row-blocked
pass over H, GEMM on H) must match it to 1e-12 (float64) for every batch size 1..70, including the
edges of the kernel choice and of the blocking (partial last blocks, one-row blocks).
"""

import tracemalloc

import numpy as np
import pytest

import matsense.engine as engine
from matsense import (ResidualEngine, choose_form, gaussian_operator, gaussian_problem,
                      gd_asymmetric, gd_symmetric, gram_matrix, identity_operator,
                      small_random_init, small_random_init_asymmetric,
                      symmetric_gaussian_operator, symmetric_gaussian_problem)
from matsense.engine import FORMS, KERNELS

BATCHES = list(range(1, 71))
EDGE_BATCHES = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 70]


def _operators(dtype=np.float64):
    return {"asym": gaussian_operator(4, 5, 90, rng=0, dtype=dtype),
            "sym": symmetric_gaussian_operator(5, 70, rng=1, dtype=dtype)}


def _tensor(op):
    design = op.full_design() if hasattr(op, "full_design") else op.matrix
    return design.astype(np.float64).reshape(op.m, op.n1, op.n2)


def _reference(op, y, xv):
    """vec(A*(A(X) - y)) in float64 from the (m, n1, n2) tensor of the sensing matrices."""
    X = op.unvec(xv.astype(np.float64))
    A3 = _tensor(op)
    r = np.einsum("mij,bij->bm", A3, X) - y
    S = np.einsum("bm,mij->bij", r, A3)
    return op.vec(S)


def _iterates(op, B, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, op.n1, op.n2))
    if op.symmetric:
        X = X + np.swapaxes(X, 1, 2)
    return op.vec(X).astype(dtype)


def _relerr(a, ref):
    return np.max(np.abs(a - ref)) / np.max(np.abs(ref))


def _kernels(form, B):
    return [k for k in KERNELS[form] if not (k in ("gemv", "symv") and B != 1)]


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that every pass has many blocks and a partial last one."""
    monkeypatch.setattr(engine, "FUSED_BLOCK_BYTES", 3 * 8 * 25 + 1)   # 3 rows of asym, < 3 of sym
    monkeypatch.setattr(engine, "SMALL_GEMM_MNK", 300)


@pytest.mark.parametrize("kind", ["asym", "sym"])
def test_default_kernels_equal_reference_for_every_batch_size(kind):
    op = _operators()[kind]
    y = np.random.default_rng(5).standard_normal(op.m)
    for B in BATCHES:
        xv = _iterates(op, B, seed=B)
        ref = _reference(op, y, xv)
        for form in ("dense", "gram"):
            eng = ResidualEngine(op, y, batch=B, form=form)
            assert eng.kernel == engine.default_kernel(op, form, B)
            assert _relerr(eng.gradient(xv), ref) <= 1e-12, (form, eng.kernel, B)


@pytest.mark.parametrize("kind", ["asym", "sym"])
@pytest.mark.parametrize("blocks", ["default", "small"])
def test_every_kernel_equals_reference(kind, blocks, request):
    if blocks == "small":
        request.getfixturevalue("small_blocks")
    op = _operators()[kind]
    y = np.random.default_rng(6).standard_normal(op.m)
    for B in EDGE_BATCHES:
        xv = _iterates(op, B, seed=100 + B)
        ref = _reference(op, y, xv)
        for form in ("dense", "gram"):
            for kernel in _kernels(form, B):
                eng = ResidualEngine(op, y, batch=B, form=form, kernel=kernel)
                if kernel in ("fused", "blocked") and blocks == "small":
                    assert len(eng._blocks) > 1
                s = eng.gradient(xv)
                assert s.shape == (B, op.vec_size) and s.dtype == np.float64
                assert _relerr(s, ref) <= 1e-12, (form, kernel, B)
                # repeated calls reuse the buffers and give the same result
                assert eng.gradient(xv) is s
                assert _relerr(s, ref) <= 1e-12


def test_one_row_blocks(monkeypatch):
    monkeypatch.setattr(engine, "FUSED_BLOCK_BYTES", 1)
    monkeypatch.setattr(engine, "SMALL_GEMM_MNK", 1)
    op = _operators()["asym"]
    y = np.random.default_rng(7).standard_normal(op.m)
    for B in (1, 2, 5):
        xv = _iterates(op, B, seed=B)
        ref = _reference(op, y, xv)
        for form, kernel in (("dense", "fused"), ("gram", "blocked")):
            eng = ResidualEngine(op, y, batch=B, form=form, kernel=kernel)
            assert len(eng._blocks) == (op.m if form == "dense" else op.vec_size)
            assert _relerr(eng.gradient(xv), ref) <= 1e-12


@pytest.mark.parametrize("kind", ["asym", "sym"])
def test_float32_kernels_track_float64(kind, small_blocks):
    op64, op32 = _operators()[kind], _operators(np.float32)[kind]
    y = np.random.default_rng(8).standard_normal(op64.m)
    for B in (1, 3, 16, 17, 64):
        xv = _iterates(op64, B, seed=B)
        ref = _reference(op64, y, xv)
        for form in ("dense", "gram"):
            for kernel in _kernels(form, B):
                s = ResidualEngine(op32, y, batch=B, form=form, kernel=kernel).gradient(
                    xv.astype(np.float32))
                assert s.dtype == np.float32
                assert _relerr(s, ref) <= 2e-5, (form, kernel, B)


def test_identity_form():
    op = identity_operator(3, 4)
    y = np.random.default_rng(0).standard_normal(12)
    for B in (1, 5, 70):
        xv = np.random.default_rng(B).standard_normal((B, 12))
        eng = ResidualEngine(op, y, batch=B)
        assert eng.form == "identity" and eng.kernel == "identity"
        np.testing.assert_array_equal(eng.gradient(xv), xv - y)


def test_residual_is_through_the_design_matrix():
    op = _operators()["asym"]
    y = np.random.default_rng(1).standard_normal(op.m)
    for B in (1, 4, 20):
        xv = _iterates(op, B, seed=B)
        ref = np.einsum("mij,bij->bm", _tensor(op), op.unvec(xv)) - y
        for form in ("dense", "gram"):
            eng = ResidualEngine(op, y, batch=B, form=form)
            eng.gradient(xv)
            assert _relerr(eng.residual(xv), ref) <= 1e-13


def test_default_kernel_choice(monkeypatch):
    op = _operators()["asym"]   # a few kB: cache-resident
    assert engine.default_kernel(op, "dense", 1) == "gemv"
    assert engine.default_kernel(op, "dense", 2) == "fused"
    assert engine.default_kernel(op, "dense", engine.FUSED_MAX_BATCH) == "fused"
    assert engine.default_kernel(op, "dense", engine.FUSED_MAX_BATCH + 1) == "gemm"
    assert engine.default_kernel(op, "gram", 1) == "symv"
    assert engine.default_kernel(op, "gram", engine.GRAM_BLOCKED_MAX_BATCH) == "blocked"
    assert engine.default_kernel(op, "gram", engine.GRAM_BLOCKED_MAX_BATCH + 1) == "gemm"
    monkeypatch.setattr(engine, "FUSED_MIN_BYTES", 0)   # as if the operator streamed from memory
    assert engine.default_kernel(op, "dense", 1) == "fused"


def test_kernel_validation():
    op = _operators()["asym"]
    y = np.zeros(op.m)
    with pytest.raises(ValueError, match="kernel must be one of"):
        ResidualEngine(op, y, batch=2, form="dense", kernel="symv")
    with pytest.raises(ValueError, match="kernel must be one of"):
        ResidualEngine(op, y, batch=2, form="dense", kernel="nope")
    with pytest.raises(ValueError, match="needs batch=1"):
        ResidualEngine(op, y, batch=2, form="dense", kernel="gemv")
    with pytest.raises(ValueError, match="needs batch=1"):
        ResidualEngine(op, y, batch=3, form="gram", kernel="symv")
    assert set(KERNELS) == set(FORMS) - {"auto"}


@pytest.mark.parametrize("shape", ["wide", "tall", "sym"])
@pytest.mark.parametrize("form,kernel", [("dense", "gemv"), ("dense", "fused"), ("dense", "gemm"),
                                         ("gram", "symv"), ("gram", "blocked"), ("gram", "gemm")])
def test_no_per_step_allocation(form, kernel, shape):
    """A step allocates no m- or N_v-sized array (buffers are preallocated; BLAS writes in place)."""
    n = 150 if form == "dense" else 50   # keep H (N_v^2) small
    op = {"wide": lambda: gaussian_operator(n, n, 40, rng=3),            # N_v = n^2
          "tall": lambda: gaussian_operator(6, 6, 30000, rng=3),         # m = 30000
          "sym": lambda: symmetric_gaussian_operator(n, 40, rng=3)}[shape]()
    big = max(op.m, op.vec_size)
    y = np.random.default_rng(3).standard_normal(op.m)
    B = 1 if kernel in ("gemv", "symv") else 4
    xv = _iterates(op, B, seed=3)
    eng = ResidualEngine(op, y, batch=B, form=form, kernel=kernel)
    eng.gradient(xv)
    tracemalloc.start()
    try:
        for _ in range(3):
            eng.gradient(xv)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * big // 4, peak


def test_gram_matrix_cached_and_cast():
    op = _operators()["asym"]
    H = gram_matrix(op)
    assert gram_matrix(op) is H
    np.testing.assert_allclose(H, op.matrix.T @ op.matrix, rtol=1e-13, atol=1e-15)
    assert gram_matrix(op, np.float32).dtype == np.float32


def test_choose_form_counts_the_fused_pass(monkeypatch):
    op = gaussian_operator(6, 6, 500, rng=0)
    assert choose_form(op, batch=1, steps=10**6) == "gram"
    assert choose_form(gaussian_operator(6, 6, 4, rng=0), batch=1, steps=10**6) == "dense"


@pytest.mark.parametrize("B", [1, 3, 20])
def test_gd_trajectories_agree_across_kernels(B, monkeypatch):
    """Whole GD runs: the fused / blocked kernels give the trajectories of two GEMVs / GEMMs."""
    pa = gaussian_problem(6, 5, [1.0, 0.5], 200, rng=2)
    ps = symmetric_gaussian_problem(6, [1.0, 0.5], 150, rng=3)
    F0, G0 = small_random_init_asymmetric(6, 5, 3, 1e-2, rng=4, batch=B)
    U0 = small_random_init(6, 3, 1e-2, rng=5, batch=B)
    runs = {}
    for label, patch in (("plain", dict(FUSED_MAX_BATCH=0, GRAM_BLOCKED_MAX_BATCH=0,
                                        FUSED_MIN_BYTES=2**62)),
                         ("blocked", dict(FUSED_MIN_BYTES=0, FUSED_BLOCK_BYTES=100,
                                          SMALL_GEMM_MNK=200))):
        with monkeypatch.context() as mp:
            for k, v in patch.items():
                mp.setattr(engine, k, v)
            for form in ("dense", "gram"):
                runs[label, form, "a"] = gd_asymmetric(pa, F0, G0, 0.2, 150, form=form,
                                                       metrics=()).final_matrix()
                runs[label, form, "s"] = gd_symmetric(ps, U0, 0.2, 150, form=form,
                                                      metrics=()).final_matrix()
    for form in ("dense", "gram"):
        for kind in "as":
            ref, got = runs["plain", form, kind], runs["blocked", form, kind]
            assert np.max(np.linalg.norm(got - ref, axis=(1, 2)) / np.linalg.norm(ref, axis=(1, 2))) < 1e-12


def test_clear_gram_cache_forms_h_again():
    """The public seam benchmarks use to time the formation of H: the cache is dropped, H is the same."""
    op = gaussian_operator(3, 4, 20, rng=5)
    H = gram_matrix(op)
    assert engine._has_gram(op) and gram_matrix(op) is H
    engine.clear_gram_cache(op)
    assert not engine._has_gram(op)
    H2 = gram_matrix(op)
    assert H2 is not H
    np.testing.assert_array_equal(H2, H)
    other = gaussian_operator(2, 2, 5, rng=6)
    gram_matrix(other)
    engine.clear_gram_cache()
    assert not engine._has_gram(op) and not engine._has_gram(other)
    with pytest.raises(TypeError, match="operator must be a MeasurementOperator"):
        engine.clear_gram_cache("op")


def test_default_kernel_rejects_unknown_form():
    with pytest.raises(ValueError, match="form must be one of"):
        engine.default_kernel(gaussian_operator(2, 2, 5, rng=0), "sparse", 1)
