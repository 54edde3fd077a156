"""Wind chapter, W4: GD on changing measurements (book/wind/changing_measurements) and the bounded
trajectory (book/wind/bounded): the online algorithm, its theory, measurements and figures."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import matsense as ms
from matsense import theory
from matsense.dynamics import DivergenceError, DivergenceWarning, fresh_batch_gradient, online_gd_asymmetric
from matsense.experiments import wind as ex
from matsense.setups import wind_setup, with_overrides


@pytest.fixture(scope="module", autouse=True)
def sweep_cache(tmp_path_factory):
    """The module's experiment runs share one temporary sweep cache."""
    old = os.environ.get("MATSENSE_SWEEP_CACHE")
    os.environ["MATSENSE_SWEEP_CACHE"] = str(tmp_path_factory.mktemp("sweeps"))
    yield
    if old is None:
        os.environ.pop("MATSENSE_SWEEP_CACHE", None)
    else:
        os.environ["MATSENSE_SWEEP_CACHE"] = old


@pytest.fixture(scope="module")
def tiny():
    """Quick sizes, one direction, one draw."""
    return wind_setup(quick=True, n_seeds=1, n_draws=1)


def _problem(m=60, noise=0.0, seed=1):
    return ms.gaussian_problem(8, 6, [1.0, 0.5], m, rng=seed, noise_std=noise)


# -- the gradient of one fresh batch ------------------------------------------------------------------

@pytest.mark.parametrize("sampler", ["projected", "rows"])
def test_fresh_batch_is_isotropic_in_expectation(sampler):
    """E[A_t* A_t(E)] = E, and E||s||^2 = (1 + (N + 1)/b) ||E||^2 + N s^2 / b."""
    rng = np.random.default_rng(0)
    N, b, draws = 12, 5, 20000
    e = rng.standard_normal((1, N))
    E = np.repeat(e, draws, axis=0)   # one independent batch per row
    S = fresh_batch_gradient(E, b, rng=rng, sampler=sampler)
    se = np.sqrt((1 + (N + 1) / b) * np.sum(e ** 2) / draws)   # standard error of one coordinate, at most
    assert np.abs(S.mean(axis=0) - e[0]).max() < 5 * se
    second = np.mean(np.sum(S ** 2, axis=1)) / np.sum(e ** 2)
    assert second == pytest.approx(1 + (N + 1) / b, rel=0.05)
    assert np.sqrt(second - 1) == pytest.approx(theory.fresh_gradient_spread(N, b), rel=0.05)
    noisy = fresh_batch_gradient(E, b, rng=rng, sampler=sampler, noise_std=0.7)
    expected = (1 + (N + 1) / b) * np.sum(e ** 2) + N / b * 0.49
    assert np.mean(np.sum(noisy ** 2, axis=1)) == pytest.approx(expected, rel=0.05)


def test_fresh_batch_samplers_agree_in_distribution():
    """The projected sampler and the literal rows have the same mean and the same spread along and across E."""
    rng = np.random.default_rng(1)
    N, b, draws = 10, 3, 20000
    e = rng.standard_normal((2, N))   # two runs at once: independent batches
    stats = {}
    for sampler in ("projected", "rows"):
        S = fresh_batch_gradient(np.tile(e, (draws, 1)), b, rng=rng, sampler=sampler).reshape(draws, 2, N)
        q = e / np.linalg.norm(e, axis=1, keepdims=True)
        along = np.einsum("dbi,bi->db", S, q)
        stats[sampler] = (along.mean(0), along.var(0), np.sum(S ** 2, axis=2).mean(0),
                          np.corrcoef(along[:, 0], along[:, 1])[0, 1])
    for a, b_ in zip(stats["projected"][:3], stats["rows"][:3]):
        assert np.allclose(a, b_, rtol=0.06)
    assert abs(stats["projected"][3]) < 0.03 and abs(stats["rows"][3]) < 0.03   # runs independent


def test_fresh_batch_of_a_zero_error_and_errors():
    s = fresh_batch_gradient(np.zeros((1, 5)), 4, rng=0)
    assert np.array_equal(s, np.zeros((1, 5)))
    assert np.all(np.isfinite(fresh_batch_gradient(np.zeros((1, 5)), 4, rng=0, noise_std=1.0)))
    with pytest.raises(ValueError, match="batch_size"):
        fresh_batch_gradient(np.ones((1, 5)), 0, rng=0)
    with pytest.raises(ValueError, match="sampler"):
        fresh_batch_gradient(np.ones((1, 5)), 3, rng=0, sampler="exact")
    with pytest.raises(ValueError, match="noise_std"):
        fresh_batch_gradient(np.ones((1, 5)), 3, rng=0, noise_std=-1.0)


# -- online GD ---------------------------------------------------------------------------------------

def test_resampling_the_whole_set_is_gd():
    """b = m rows of the fixed set at every step: the step of ms.gd_asymmetric, to rounding."""
    p = _problem(noise=0.1)
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 5, [1e-2, 1e-1], rng=2)
    gd = ms.gd_asymmetric(p, F0, G0, 0.2, 150, record=10)
    sgd = online_gd_asymmetric(p, F0, G0, 0.2, 150, batch_size=p.m, rng=3, source="resample", record=10)
    assert np.allclose(sgd.factors[0], gd.factors[0], atol=1e-12)
    assert np.allclose(sgd.factors[1], gd.factors[1], atol=1e-12)
    assert np.allclose(sgd["relative_error"], gd["relative_error"], atol=1e-12)
    assert sgd.params["source"] == "resample" and sgd.params["batch_size"] == p.m


@pytest.mark.parametrize("b", [5, 40])
def test_resampled_minibatches_are_unbiased(b):
    """A mini-batch of b rows rescaled by m/b averages to the full gradient (both code paths)."""
    p = _problem(m=60)
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 5, 0.5, rng=4)
    X = F0[0] @ G0[0].T
    full = p.operator.adjoint(p.operator.forward(X) - p.y)
    runs = 4000   # one step of as many runs from the same start: independent mini-batches
    t = online_gd_asymmetric(p, np.repeat(F0, runs, axis=0), np.repeat(G0, runs, axis=0), 1e-9, 1, batch_size=b,
                             rng=9, source="resample", record=[0, 1], metrics=("loss",))
    steps = (F0 - t.factors[0]) / 1e-9   # = S_t G0 per run
    assert np.allclose(steps.mean(axis=0), full @ G0[0], atol=0.05 * np.abs(full @ G0[0]).max())
    assert np.std(steps[:, 0, 0]) > 0


def test_huge_fresh_batches_follow_population_gd():
    """With b >> n1 n2 a fresh batch is nearly the identity operator: the run is GD on factorization."""
    p = _problem()
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 5, 1e-2, rng=5)
    fact = ms.gd_asymmetric(ms.factorization_problem(p.M_star), F0, G0, 0.2, 120, record=[60, 120])
    online = online_gd_asymmetric(p, F0, G0, 0.2, 120, batch_size=100_000, rng=6, record=[60, 120])
    assert np.allclose(online["relative_error"], fact["relative_error"], rtol=0.1)


def test_fresh_run_is_reproducible_and_uses_the_problem_noise():
    p = _problem(noise=0.3)
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 5, 1e-2, rng=5)
    a = online_gd_asymmetric(p, F0, G0, 0.2, 50, batch_size=30, rng=7)
    b = online_gd_asymmetric(p, F0, G0, 0.2, 50, batch_size=30, rng=7)
    c = online_gd_asymmetric(p, F0, G0, 0.2, 50, batch_size=30, rng=7, noise_std=0.0)
    assert np.array_equal(a.factors[0], b.factors[0])
    assert a.params["noise_std"] == 0.3 and c.params["noise_std"] == 0.0
    assert not np.array_equal(a.factors[0], c.factors[0])
    rows = online_gd_asymmetric(p, F0, G0, 0.2, 50, batch_size=30, rng=7, sampler="rows")
    assert rows.params["sampler"] == "rows" and np.all(np.isfinite(rows["relative_error"]))


def test_divergence_is_detected_and_reported():
    """Tiny batches at a large step blow up: frozen runs, a warning (or an error), never NaN factors."""
    p = _problem()
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 5, [1e-2, 1e-2], rng=5)
    eta = np.array([0.9, 0.01])
    with pytest.warns(DivergenceWarning, match="diverged"):
        t = online_gd_asymmetric(p, F0, G0, eta, 300, batch_size=1, rng=8)
    assert t.diverged[0] and not t.diverged[1]
    assert all(np.all(np.isfinite(f)) for f in t.factors)
    assert np.isnan(t["relative_error"][-1, 0]) and np.isfinite(t["relative_error"][-1, 1])
    with pytest.raises(DivergenceError) as info:
        online_gd_asymmetric(p, F0, G0, eta, 300, batch_size=1, rng=8, on_divergence="raise")
    assert info.value.trajectory.diverged[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        online_gd_asymmetric(p, F0, G0, eta, 300, batch_size=1, rng=8, on_divergence="ignore")


def test_online_gd_refuses_bad_input():
    p = _problem()
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 5, 1e-2, rng=5)
    with pytest.raises(ValueError, match="source"):
        online_gd_asymmetric(p, F0, G0, 0.1, 5, batch_size=3, rng=0, source="stream")
    with pytest.raises(ValueError, match="sampler"):
        online_gd_asymmetric(p, F0, G0, 0.1, 5, batch_size=3, rng=0, sampler="magic")
    with pytest.raises(ValueError, match="batch_size"):
        online_gd_asymmetric(p, F0, G0, 0.1, 5, batch_size=0, rng=0)
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 60\]"):
        online_gd_asymmetric(p, F0, G0, 0.1, 5, batch_size=61, rng=0, source="resample")
    with pytest.raises(ValueError, match="noise_std applies"):
        online_gd_asymmetric(p, F0, G0, 0.1, 5, batch_size=3, rng=0, source="resample", noise_std=0.1)
    with pytest.raises(TypeError, match="rng"):
        online_gd_asymmetric(p, F0, G0, 0.1, 5, batch_size=3, rng=None)
    with pytest.raises(ValueError, match="same batch size"):
        online_gd_asymmetric(p, F0, G0[:, :, :3], 0.1, 5, batch_size=3, rng=0)
    sym = ms.symmetric_gaussian_problem(6, [1.0], 30, rng=0)
    U0 = ms.small_random_init(6, 2, 1e-2, rng=0)
    with pytest.raises(ValueError, match="non-symmetric"):
        online_gd_asymmetric(sym, U0, U0, 0.1, 5, batch_size=3, rng=0)
    with pytest.raises(ValueError, match="design matrix"):
        online_gd_asymmetric(ms.factorization_problem(p.M_star), F0, G0, 0.1, 5, batch_size=3, rng=0,
                             source="resample")


# -- theory ------------------------------------------------------------------------------------------

def test_wind_w4_theory_closed_forms():
    assert theory.wind_batch_reference(60, 40, 3) == 300
    assert theory.fresh_gradient_spread(2400, 300) == pytest.approx(np.sqrt(2401 / 300))
    assert theory.wind_imbalance_drift(0.25, 1.0) == 0.0625
    assert theory.stacked_norm_at_fit(1.0, 0.0) == pytest.approx(np.sqrt(2.0))
    assert theory.imbalance_for_norm_bound(1.0) == pytest.approx(np.sqrt(17) / 4)
    assert theory.stacked_norm_at_fit(2.0, theory.imbalance_for_norm_bound(2.0)) == pytest.approx(1.5 * np.sqrt(2.0))
    # a factorisation f g^T of sigma u v^T with ||f||^2 - ||g||^2 = d, stacked
    sigma, d = 0.7, 0.4
    x = np.sqrt((d + np.sqrt(d ** 2 + 4 * sigma ** 2)) / 2)          # ||f||, with ||f|| ||g|| = sigma
    f, g = np.array([[x], [0.0]]), np.array([[0.0], [sigma / x], [0.0]])
    assert np.linalg.norm(np.vstack([f, g]), 2) == pytest.approx(theory.stacked_norm_at_fit(sigma, d))
    assert np.allclose(theory.stacked_norm_at_fit([1.0, 2.0], [0.0, 0.0]), np.sqrt([2.0, 4.0]))


def test_imbalance_drift_estimate_matches_one_component():
    """The sum of eta^2 (sigma - p)^2 p over a balanced scalar GD run from near 0 is about eta sigma^2 / 4."""
    for eta, sigma in ((0.05, 1.0), (0.02, 0.6)):
        f = g = 1e-4
        total = 0.0
        for _ in range(20000):
            s = f * g - sigma
            total += eta ** 2 * (s * g) ** 2
            f, g = f - eta * s * g, g - eta * s * f
        assert f * g == pytest.approx(sigma, rel=1e-6)
        assert total == pytest.approx(theory.wind_imbalance_drift(eta, sigma), rel=0.1)


def test_wind_w4_theory_errors():
    with pytest.raises(ValueError, match="r must be"):
        theory.wind_batch_reference(5, 4, 6)
    with pytest.raises(ValueError, match="batch_size"):
        theory.fresh_gradient_spread(10, 0)
    with pytest.raises(ValueError, match="eta"):
        theory.wind_imbalance_drift(0.0, 1.0)
    with pytest.raises(ValueError, match="sqrt"):
        theory.imbalance_for_norm_bound(1.0, bound=1.4)
    with pytest.raises(ValueError, match="imbalance"):
        theory.stacked_norm_at_fit(1.0, np.inf)


# -- measurements --------------------------------------------------------------------------------------

def test_setup_field_and_batch_sizes(tiny):
    assert wind_setup().batch_factors == (1.0, 2.0, 5.0)
    with pytest.raises(ValueError, match="batch_factors"):
        wind_setup(quick=True, batch_factors=(0.0,))
    assert ex.batch_size(tiny, 1.0) == 68 and ex.batch_size(tiny, 0.1) == 7 and ex.batch_size(tiny, 1e-6) == 1
    with pytest.raises(ValueError, match="factor"):
        ex.batch_size(tiny, -1.0)


def test_recovery_steps_is_the_theorem_step_count(tiny):
    F0, G0 = ex.initial_factors(tiny, (tiny.alpha,))
    expected = theory.wind_theorem_steps(tiny.eta, tiny.sigma[-1], ex.a0(F0, G0), c2=ex.THEOREM_C2)
    assert ex.recovery_steps(tiny) == int(np.max(expected))
    # beyond v2's condition the horizon is that of the largest a0 it admits
    bound = theory.wind_init_bound(tiny.sigma[-1], tiny.kappa, tiny.n1, tiny.n2, tiny.r)
    big = with_overrides(tiny, {"alpha": 1.0})
    assert ex.recovery_steps(big) == theory.wind_theorem_steps(tiny.eta, tiny.sigma[-1], bound, c2=ex.THEOREM_C2)


def test_final_errors_by_hand():
    M = np.diag([1.0, 0.5])
    F = np.stack([np.eye(2), 2 * np.eye(2)])
    traj = ms.dynamics.Trajectory(iterations=np.array([0]), metrics={}, factors=(F, np.stack([np.eye(2)] * 2)),
                                  eta=np.ones(2), diverged_at=np.array([-1, -1]), symmetric=False, form="dense",
                                  steps=0)
    assert np.allclose(ex.final_errors(traj, M), [0.5, 1.5])


def test_claims_pass_and_controls_fail_on_a_tiny_setup(tiny):
    ratio, one = ex.fresh_vs_fixed(tiny)
    assert one == 1.0 and 0 < ratio < 2
    control, _ = ex.fresh_vs_fixed(with_overrides(tiny, {"batch_factors": [0.1]}))
    assert np.isfinite(control) and control > 2
    norm, bound = ex.norm_bound(tiny)
    assert bound == 1.5 and np.sqrt(2) - 0.01 < norm < 1.5
    imb, pred = ex.imbalance_bound(tiny)
    assert 0 < imb < pred < 0.07
    big = with_overrides(tiny, {"alpha": 1.0})
    assert ex.norm_bound(big)[0] > 1.5 and ex.imbalance_bound(big)[0] > ex.imbalance_bound(big)[1]


def test_batch_sweep_and_shared_runs(tiny):
    sweep = ex.batch_sweep(tiny)
    assert sweep["reference"] == 68 and sweep["K"] == ex.recovery_steps(tiny)
    assert sweep["err_fresh"].shape == (len(ex.FRESH_SWEEP), tiny.n_seeds)
    assert sweep["b_resample"].max() == tiny.m            # capped at the fixed set
    # resampling all m rows is GD on the fixed set
    assert np.allclose(sweep["err_resample"][-1], sweep["err_fixed"], rtol=1e-8)
    assert sweep["diverged_fresh"][0].all() and not sweep["diverged_fresh"][-1].any()
    runs = ex.large_init_runs(tiny)
    assert set(runs) == {*ex.BOUNDED_ALPHAS, tiny.alpha, "kappa"}
    assert runs[tiny.alpha] is not None and runs["kappa"].steps > runs[tiny.alpha].steps


def test_figures_are_labelled(tiny):
    from matsense.plotting import wind as pw
    from matsense.plotting.style import MIN_FONT_PX, smallest_font_px
    for fn, panels in ((pw.fig_changing, 2), (pw.fig_bounded, 4)):
        fig = fn(tiny)
        axes = fig.get_axes()
        assert len(axes) == panels
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
        assert smallest_font_px(fig) >= MIN_FONT_PX
        assert fig.get_figwidth() <= 7.0
