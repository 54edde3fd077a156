"""Tests of matsense.dynamics and matsense.engine.

Covers: gradients against finite differences (both factorizations, every engine form), batched runs
equal single runs, dense and Gram forms agree, determinism, float32 against float64, divergence
detection and isolation, recovery in the matrix factorization case, validation of every argument.
"""

import warnings

import numpy as np
import pytest

from matsense import (DivergenceError, DivergenceWarning, choose_form, factorization_problem,
                      gaussian_operator, gaussian_problem, gd_asymmetric, gd_symmetric,
                      make_sensing_problem, psd_matrix, small_random_init,
                      small_random_init_asymmetric, symmetric_gaussian_problem)

from matsense.dynamics import GDLoop

FORMS_SENSING = ["dense", "gram"]


@pytest.fixture(scope="module")
def sym_problem():
    return symmetric_gaussian_problem(6, [2.0, 1.0], 120, rng=0)


@pytest.fixture(scope="module")
def asym_problem():
    return gaussian_problem(5, 4, [2.0, 1.0], 100, rng=1)


def _sym_loss(p, U):
    r = p.operator.forward(U @ U.T) - p.y
    return 0.25 * r @ r


def _asym_loss(p, F, G):
    r = p.operator.forward(F @ G.T) - p.y
    return 0.5 * r @ r


@pytest.mark.parametrize("form", FORMS_SENSING)
def test_symmetric_gradient_matches_finite_differences(sym_problem, form):
    p, rng = sym_problem, np.random.default_rng(2)
    U, D = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    eta = 1e-3
    U1 = gd_symmetric(p, U, eta, 1, form=form, record=[1], metrics=()).factors[0][0]
    grad = (U - U1) / eta
    h = 1e-5
    fd = (_sym_loss(p, U + h * D) - _sym_loss(p, U - h * D)) / (2 * h)
    assert abs(np.sum(grad * D) - fd) <= 1e-6 * max(1.0, abs(fd))


@pytest.mark.parametrize("form", FORMS_SENSING)
def test_asymmetric_gradient_matches_finite_differences(asym_problem, form):
    p, rng = asym_problem, np.random.default_rng(3)
    F, G = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    DF, DG = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    eta = 1e-3
    tr = gd_asymmetric(p, F, G, eta, 1, form=form, record=[1], metrics=())
    gF, gG = (F - tr.factors[0][0]) / eta, (G - tr.factors[1][0]) / eta
    h = 1e-5
    fd = (_asym_loss(p, F + h * DF, G + h * DG) - _asym_loss(p, F - h * DF, G - h * DG)) / (2 * h)
    assert abs(np.sum(gF * DF) + np.sum(gG * DG) - fd) <= 1e-6 * max(1.0, abs(fd))


def test_identity_gradient_is_the_factorization_gradient():
    M = psd_matrix(5, [2.0, 1.0], rng=0)
    p = factorization_problem(M)
    U = np.random.default_rng(1).standard_normal((5, 2))
    U1 = gd_symmetric(p, U, 0.01, 1, record=[1], metrics=()).factors[0][0]
    np.testing.assert_allclose((U - U1) / 0.01, (U @ U.T - M) @ U, rtol=1e-10)


@pytest.mark.parametrize("form", FORMS_SENSING)
def test_batched_symmetric_equals_single_runs(sym_problem, form):
    U0 = small_random_init(6, 4, [1e-1, 1e-2, 1e-3], rng=4)
    etas = [0.05, 0.1, 0.08]
    batch = gd_symmetric(sym_problem, U0, etas, 300, form=form, record=10)
    for b in range(3):
        single = gd_symmetric(sym_problem, U0[b], etas[b], 300, form=form, record=10)
        np.testing.assert_allclose(batch.factors[0][b], single.factors[0][0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(batch["loss"][:, b], single["loss"][:, 0], rtol=1e-10, atol=1e-25)


@pytest.mark.parametrize("form", FORMS_SENSING)
def test_batched_asymmetric_equals_single_runs(asym_problem, form):
    F0, G0 = small_random_init_asymmetric(5, 4, 3, [1e-1, 1e-3], rng=5)
    batch = gd_asymmetric(asym_problem, F0, G0, 0.1, 300, form=form)
    for b in range(2):
        single = gd_asymmetric(asym_problem, F0[b], G0[b], 0.1, 300, form=form)
        for fb, fs in zip(batch.factors, single.factors):
            np.testing.assert_allclose(fb[b], fs[0], rtol=1e-12, atol=1e-14)


def test_dense_and_gram_forms_agree(sym_problem):
    U0 = small_random_init(6, 6, 1e-3, rng=6, batch=2)
    a = gd_symmetric(sym_problem, U0, 0.1, 500, form="dense")
    b = gd_symmetric(sym_problem, U0, 0.1, 500, form="gram")
    np.testing.assert_allclose(a.factors[0], b.factors[0], rtol=1e-10, atol=1e-13)


def test_same_seed_is_bitwise_identical(asym_problem):
    def run():
        F0, G0 = small_random_init_asymmetric(5, 4, 3, 1e-2, rng=8, batch=2)
        return gd_asymmetric(asym_problem, F0, G0, 0.1, 200)
    a, b = run(), run()
    assert all(np.array_equal(x, y) for x, y in zip(a.factors, b.factors))
    assert all(np.array_equal(a.metrics[k], b.metrics[k]) for k in a.metrics)


def test_float32_tracks_float64_until_the_error_floor():
    p64 = symmetric_gaussian_problem(8, [2.0, 1.0], 300, rng=11)
    p32 = symmetric_gaussian_problem(8, [2.0, 1.0], 300, rng=11, dtype=np.float32)
    U0 = small_random_init(8, 3, 1e-3, rng=12)
    a = gd_symmetric(p64, U0, 0.1, 800, record=50)
    b = gd_symmetric(p32, U0, 0.1, 800, record=50)
    assert b.factors[0].dtype == np.float32
    # relative error curves agree to float32 precision while above the float32 floor (~1e-6)
    ea, eb = a["relative_error"][:, 0], b["relative_error"][:, 0]
    above = ea > 1e-4
    assert above.sum() > 3
    np.testing.assert_allclose(eb[above], ea[above], rtol=1e-3)
    assert eb[-1] < 1e-5


def test_overparameterized_factorization_recovers_truth():
    M = psd_matrix(10, [3.0, 2.0, 1.0], rng=0)
    p = factorization_problem(M)
    tr = gd_symmetric(p, small_random_init(10, 10, 1e-6, rng=1), 0.1, 1500)
    assert tr.form == "identity"
    assert tr["relative_error"][-1, 0] < 1e-6


def test_divergent_run_is_stopped_reported_and_isolated(sym_problem):
    U0 = small_random_init(6, 3, 1e-2, rng=3, batch=3)
    etas = [0.05, 5.0, 0.1]
    with pytest.warns(DivergenceWarning, match=r"1 of 3 runs diverged \(diverged: run 1 at iteration \d+"):
        tr = gd_symmetric(sym_problem, U0, etas, 400, record=1)
    assert tr.diverged.tolist() == [False, True, False]
    t_div = tr.diverged_at[1]
    assert 0 < t_div < 400
    loss = tr["loss"]
    assert np.all(np.isnan(loss[tr.iterations >= t_div, 1]))
    assert np.all(np.isfinite(loss[tr.iterations < t_div, 1]))
    assert np.all(np.isfinite(loss[:, [0, 2]]))
    np.testing.assert_array_equal(tr.valid()[:, 1], tr.iterations < t_div)
    assert np.all(np.isfinite(tr.factors[0]))
    for b in (0, 2):  # the healthy runs are exactly as if run alone
        alone = gd_symmetric(sym_problem, U0[b], etas[b], 400, record=1)
        np.testing.assert_allclose(tr.factors[0][b], alone.factors[0][0], rtol=1e-12, atol=1e-14)
    with pytest.raises(DivergenceError, match="run 1 at iteration"):
        gd_symmetric(sym_problem, U0, etas, 400, on_divergence="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = gd_symmetric(sym_problem, U0, etas, 400, on_divergence="ignore")
    assert quiet.diverged[1]


def test_asymmetric_divergence_detected(asym_problem):
    F0, G0 = small_random_init_asymmetric(5, 4, 2, 1e-2, rng=2, batch=2)
    tr = gd_asymmetric(asym_problem, F0, G0, [0.1, 10.0], 300, on_divergence="ignore")
    assert tr.diverged.tolist() == [False, True]
    assert "run 1 at iteration" in tr.stopping_reason


@pytest.mark.parametrize("kwargs, match", [
    (dict(eta=0.0), r"eta must be in \(0, inf\)"),
    (dict(eta=-1.0), r"eta must be in \(0, inf\)"),
    (dict(eta=[0.1, 0.2]), r"eta must have 1 or 3 entries \(one per run\), got 2"),
    (dict(eta=np.nan), "eta must be finite"),
    (dict(steps=-1), r"steps must be in \[0, inf\), got -1"),
    (dict(form="sparse"), "form must be one of"),
    (dict(form="identity"), "form='identity' is only valid for the identity operator"),
    (dict(U0=np.zeros((3, 5, 2))), r"U0 must have 6 rows \(the problem's size\)"),
    (dict(U0=np.zeros((3, 6, 0))), r"U0 must have k >= 1 columns"),
    (dict(U0=np.full((6, 2), np.inf)), "U0 must contain only finite values"),
    (dict(U0=np.zeros((6, 2), dtype=complex)), "U0 must be a real array"),
    (dict(on_divergence="shout"), "on_divergence must be"),
    (dict(divergence_factor=0.5), r"divergence_factor must be in \(1, inf\)"),
    (dict(threads=0), r"threads must be in \[1, inf\)"),
    (dict(metrics=["nope"]), "unknown metric 'nope'"),
])
def test_gd_symmetric_validation(sym_problem, kwargs, match):
    args = dict(U0=np.ones((3, 6, 2)) * 0.01, eta=0.1, steps=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        gd_symmetric(sym_problem, args.pop("U0"), args.pop("eta"), args.pop("steps"), **args)


def test_problem_kind_mismatches_are_refused(sym_problem, asym_problem):
    with pytest.raises(ValueError, match="symmetric A_i do not see the antisymmetric part"):
        gd_asymmetric(sym_problem, np.ones((6, 2)), np.ones((6, 2)), 0.1, 1)
    with pytest.raises(ValueError, match="needs a square problem with symmetric M_star"):
        gd_symmetric(asym_problem, np.ones((5, 2)), 0.1, 1)
    with pytest.raises(ValueError, match="F0 and G0 must have the same batch size and k"):
        gd_asymmetric(asym_problem, np.ones((5, 2)), np.ones((4, 3)), 0.1, 1)


@pytest.mark.parametrize("call, match", [
    (lambda: small_random_init(4, 0, 1e-3, rng=0), r"k must be in \[1, inf\), got 0"),
    (lambda: small_random_init(4, 2, 0.0, rng=0), r"alpha must be in \(0, inf\)"),
    (lambda: small_random_init(4, 2, [1e-3, -1], rng=0), r"alpha must be in \(0, inf\)"),
    (lambda: small_random_init(4, 2, [1e-3, 1e-2], rng=0, batch=3), "alpha must have 1 or batch=3 entries"),
    (lambda: small_random_init_asymmetric(4, 3, 2, 1e-3, rng=0, g_ratio=0), r"g_ratio must be in \(0, inf\)"),
])
def test_init_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_small_random_init_scale_and_batch_independence():
    U = small_random_init(400, 50, 1e-3, rng=0, batch=2)
    assert abs(U.std() / 1e-3 - 1 / np.sqrt(400)) < 0.002
    # run b does not depend on the batch size
    np.testing.assert_array_equal(small_random_init(400, 50, 1e-3, rng=0, batch=1)[0], U[0])
    U2 = small_random_init(5, 2, [1.0, 2.0], rng=1)
    np.testing.assert_allclose(U2[1] / U2[0], 2.0 * np.random.default_rng(1).standard_normal((2, 5, 2))[1]
                               / np.random.default_rng(1).standard_normal((2, 5, 2))[0])


def test_choose_form_prefers_gram_when_m_is_large():
    op_big_m = gaussian_operator(5, 5, 1000, rng=0)
    op_small_m = gaussian_operator(20, 20, 20, rng=0)
    assert choose_form(op_big_m, batch=1, steps=1000) == "gram"
    assert choose_form(op_small_m, batch=1, steps=1000) == "dense"
    p = make_sensing_problem(np.eye(5), op_big_m)
    tr = gd_asymmetric(p, np.ones((5, 2)) * 1e-2, np.ones((5, 2)) * 1e-2, 0.1, 10)
    assert tr.form == "gram"


@pytest.mark.parametrize("form", ["dense", "gram"])
def test_gd_loop_steps_equal_gd_symmetric(sym_problem, form):
    """GDLoop.step (the benchmarks' seam) is the step gd_symmetric repeats: bitwise equal factors."""
    U0 = small_random_init(6, 3, [1e-2, 1e-3], rng=4)
    loop = GDLoop(sym_problem, (U0,), 0.1, steps=30, form=form)
    for _ in range(30):
        loop.step()
    traj = gd_symmetric(sym_problem, U0, 0.1, 30, form=form, record=[0, 30], metrics=("loss",))
    assert loop.iteration == 30 and loop.engine.form == form
    np.testing.assert_array_equal(loop.factors[0], traj.factors[0])


def test_gd_loop_asymmetric_kernel_and_validation(asym_problem):
    F0, G0 = small_random_init_asymmetric(5, 4, 2, 1e-2, rng=2, batch=2)
    ref = GDLoop(asym_problem, (F0, G0), 0.1, form="dense", kernel="gemm")
    fused = GDLoop(asym_problem, (F0, G0), 0.1, form="dense", kernel="fused")
    assert ref.engine.kernel == "gemm" and fused.engine.kernel == "fused"
    for _ in range(10):
        ref.step()
        fused.step()
    for a, b in zip(ref.factors, fused.factors):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    with pytest.raises(TypeError, match="problem must be a SensingProblem"):
        GDLoop("p", (F0, G0), 0.1)
    with pytest.raises(ValueError, match=r"factors must be \(U,\) or \(F, G\)"):
        GDLoop(asym_problem, (F0, G0, G0), 0.1)
