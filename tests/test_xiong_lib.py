"""Tests of the Xiong chapter's base library: setup, problems, runs, the re-balancing, the switch
rule and the rate fits (closed forms and small hand-checkable cases; no disk cache)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from matsense import analysis
from matsense.experiments import xiong as ex
from matsense.setups import XiongSetup, draws, with_overrides, xiong_setup


@pytest.fixture(autouse=True)
def no_sweep_cache(monkeypatch):
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")


@pytest.fixture(scope="module")
def tiny():
    return xiong_setup(quick=True, n=8, alphas=(0.5, 0.2), n_seeds=2, steps_mf=1500, steps_sensing=60, m=150)


# -- setup -------------------------------------------------------------------------------------------

def test_setup_sizes_and_validation():
    full, quick = xiong_setup(), xiong_setup(quick=True)
    assert (full.n, quick.n, full.r, full.k_over) == (50, 20, 3, 4)
    assert full.alphas == (0.5, 0.2, 0.1, 0.05) and quick.alphas == (0.5, 0.2, 0.1)
    assert full.steps == full.steps_mf and with_overrides(full, {"operator": "sensing"}).steps == full.steps_sensing
    assert full.seeds == (0, 1, 2) and len(draws(quick)) == 3
    with pytest.raises(ValueError):
        xiong_setup(operator="other")
    with pytest.raises(ValueError):
        xiong_setup(eta=1.5)
    with pytest.raises(TypeError):
        xiong_setup(nonexistent=1)
    assert isinstance(with_overrides(quick, {"sigma": [1.0, 0.5]}), XiongSetup)


# -- problems and initialisation ---------------------------------------------------------------------

def test_problem_same_truth_for_every_operator(tiny):
    P = ex.problem(tiny)
    S = ex.problem(tiny, operator="sensing", symmetric=True)
    A = ex.problem(tiny, operator="sensing", symmetric=False)
    np.testing.assert_array_equal(P.M_star, S.M_star)
    np.testing.assert_array_equal(P.M_star, A.M_star)
    np.testing.assert_allclose(np.linalg.eigvalsh(P.M_star)[-3:][::-1], tiny.sigma, atol=1e-12)
    assert S.operator.symmetric and not A.operator.symmetric and A.m == tiny.m


def test_initial_factors_share_directions_across_alpha(tiny):
    (X0,) = ex.initial_factors(tiny, 4)
    F0, G0 = ex.initial_factors(tiny, 4, symmetric=False)
    assert X0.shape == F0.shape == G0.shape == (4, tiny.n, 4)
    # run b = i * len(seeds) + j: same direction j for both scales, scaled by alpha (alpha / 3 for G)
    np.testing.assert_allclose(X0[2] / 0.2, X0[0] / 0.5)
    np.testing.assert_allclose(G0[1] / (0.5 / 3), G0[3] / (0.2 / 3))
    assert not np.allclose(X0[0], X0[1])


# -- rebalance and the switch rule ------------------------------------------------------------------

def test_rebalance_keeps_product_and_equalises_singular_values():
    rng = np.random.default_rng(0)
    F, G = rng.standard_normal((12, 4)) * 0.1, rng.standard_normal((12, 4))
    F2, G2 = ex.rebalance(F, G, c=0.7)
    np.testing.assert_allclose(F2 @ G2.T, F @ G.T, atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(F2, compute_uv=False), 0.7, atol=1e-12)
    F3, G3 = ex.rebalance(F, G)   # c^2 = ||F G^T||_2
    c = np.sqrt(np.linalg.norm(F @ G.T, 2))
    np.testing.assert_allclose(np.linalg.svd(F3, compute_uv=False), c, atol=1e-12)
    np.testing.assert_allclose(F3 @ G3.T, F @ G.T, atol=1e-12)
    Fb, Gb = ex.rebalance(np.stack([F, 2 * F]), np.stack([G, G]), c=1.0)
    np.testing.assert_allclose(Fb[1] @ Gb[1].T, 2 * F @ G.T, atol=1e-12)
    with pytest.raises(ValueError):
        ex.rebalance(np.zeros((5, 2)), np.ones((5, 2)))


def test_switch_iterations_by_hand():
    loss = np.array([[1.0, 2.0], [0.5, 1e-2], [1e-4, 3e-3], [1e-6, 1e-4]])
    np.testing.assert_array_equal(ex.switch_iterations(loss, [0, 5, 10, 20], 1e-3), [10, 20])
    np.testing.assert_array_equal(ex.switch_iterations(loss, [0, 5, 10, 20], 1e-7), [-1, -1])


# -- rate fits --------------------------------------------------------------------------------------

def test_fit_rate_on_exact_exponential():
    t = np.arange(0, 2001, 10)
    v = 3.0 * np.exp(-0.02 * t)
    assert analysis.fit_rate(t, v, lo=1e-10, hi=1e-2) == pytest.approx(-0.02, rel=1e-10)
    both = analysis.fit_rate(t, np.stack([v, v ** 2], axis=1), lo=1e-12, hi=1e-2)
    np.testing.assert_allclose(both, [-0.02, -0.04], rtol=1e-10)
    assert np.isnan(analysis.fit_rate(t, v + 1.0, lo=1e-10, hi=1e-2))   # never falls to hi


def test_fit_rate_window_rule():
    t = np.arange(100.0)
    v = np.where(t < 50, np.exp(-0.1 * t), np.exp(-5.0) * np.exp(-0.5 * (t - 50)))
    # window from v <= exp(-1) (t = 10) to v <= exp(-4) (t = 40): only the first regime
    assert analysis.fit_rate(t, v, lo=np.exp(-4.0) + 1e-12, hi=np.exp(-1.0) + 1e-12) == pytest.approx(-0.1)


def test_loglog_slope_on_power_law():
    t = np.unique(np.geomspace(1, 1e5, 300).astype(int))
    assert analysis.loglog_slope(t, 5.0 / t.astype(float) ** 2, last_fraction=0.5) == pytest.approx(-2.0, abs=1e-10)
    v = np.stack([1.0 / t, np.exp(-1e-4 * t)], axis=1)
    s = analysis.loglog_slope(t, v, last_fraction=0.5)
    assert s[0] == pytest.approx(-1.0) and s[1] < -5.0
    with pytest.raises(ValueError):
        analysis.loglog_slope(t, v, last_fraction=0.0)


# -- runs -------------------------------------------------------------------------------------------

def test_runs_record_the_metrics(tiny):
    sym = ex.run_symmetric.uncached(tiny, 3)
    asym = ex.run_asymmetric.uncached(tiny, 4)
    B = len(tiny.alphas) * tiny.n_seeds
    assert sym["squared_error"].shape == (sym.iterations.size, B)
    assert set(asym.metrics) == {"squared_error", "loss", "imbalance_min", "lambda_min_FtF"}
    # exact parameterization converges; the recorded error is ||Z - M*||_F^2 of the final iterate
    M = ex.problem(tiny).M_star
    np.testing.assert_allclose(sym["squared_error"][-1], ((sym.final_matrix() - M) ** 2).sum(axis=(1, 2)), rtol=1e-10)
    assert sym["squared_error"][-1].max() < 1e-12
    # at t = 0 the recorded imbalance is lambda_min(F0^T F0 - G0^T G0)
    F0, G0 = ex.initial_factors(tiny, 4, symmetric=False)
    lam0 = np.linalg.eigvalsh(np.swapaxes(F0, 1, 2) @ F0 - np.swapaxes(G0, 1, 2) @ G0)[:, 0]
    np.testing.assert_allclose(asym["imbalance_min"][0], lam0, rtol=1e-10)


def test_one_step_run_matches_vanilla_before_switch(tiny):
    van = ex.run_asymmetric.uncached(tiny, 4)
    one = ex.run_asymmetric.uncached(tiny, 4, one_step=True)
    T = one.params["switch"]
    assert T.shape == (4,) and (T > 0).all()
    np.testing.assert_array_equal(T, ex.switch_iterations(*_dense_loss(tiny), tiny.switch_threshold))
    for b in range(4):
        before = van.iterations <= T[b]
        np.testing.assert_allclose(one["squared_error"][before, b], van["squared_error"][before, b], rtol=1e-12)
        after = one.iterations > T[b]
        # product unchanged by the switch: the error just after it continues smoothly, and the
        # re-balanced F has lambda_min(F^T F) = c^2 = ||F G^T||_2 ~ sigma_1
        assert one["lambda_min_FtF"][after, b][0] > 0.5
    # every re-balanced run ends at the rounding floor (below 1e-20), and so faster than any
    # vanilla run that has not reached that floor itself (the small scale's rate ~ eta alpha^2)
    floor = 1e-20
    assert np.nanmax(one["squared_error"][-1]) < floor
    assert np.nanmax(van["squared_error"][-1]) > 1e6 * floor


def _dense_loss(setup):
    import matsense as ms
    prob = ex.problem(setup, symmetric=False)
    F0, G0 = ex.initial_factors(setup, 4, symmetric=False)
    tr = ms.gd_asymmetric(prob, F0, G0, setup.eta, 600, record="all", metrics=("loss",))
    return tr["loss"], tr.iterations


def test_sensing_runs_use_the_right_operators(tiny):
    s = with_overrides(tiny, {"operator": "sensing"})
    sym = ex.run_symmetric.uncached(s, 3)
    asym = ex.run_asymmetric.uncached(s, 3)
    assert sym.params["m"] == asym.params["m"] == tiny.m and sym.steps == tiny.steps_sensing


def test_schedule_is_dense_late():
    t = ex.schedule(30000)
    assert t[0] == 0 and t[-1] == 30000 and np.diff(t[t > 15000]).max() <= 75


def test_fig_regimes_is_labelled(tiny):
    from matsense.plotting import xiong as px
    fig = px.fig_regimes(tiny)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_ylabel() and ax.get_xlabel() and ax.get_legend() is not None


# -- intro, preliminaries, conclusion measurements (X1) ---------------------------------------------

def test_imbalance_drift_one_step_identity():
    # one GD step changes Delta by exactly eta^2 (G^T S^T S G - F^T S S^T F)
    s = xiong_setup(quick=True, n=6, alphas=(0.5,), n_seeds=1, steps_mf=1)
    d = ex.imbalance_drift.uncached(s, k=4, steps=1)
    M = ex.problem(s).M_star
    F, G = (a[0] for a in ex.initial_factors(s, 4, symmetric=False))
    S = F @ G.T - M
    F1, G1 = F - s.eta * S @ G, G - s.eta * S.T @ F
    D0, D1 = F.T @ F - G.T @ G, F1.T @ F1 - G1.T @ G1
    np.testing.assert_allclose(D1 - D0, s.eta ** 2 * (G.T @ S.T @ S @ G - F.T @ S @ S.T @ F), atol=1e-14)
    assert d["lam0"][0] == pytest.approx(np.linalg.eigvalsh(D0)[0])
    assert d["lamT"][0] == pytest.approx(np.linalg.eigvalsh(D1)[0])
    assert d["drift"][0] <= d["bound"][0]


def test_symmetric_matrices_hide_the_antisymmetric_part(tiny):
    s = with_overrides(tiny, {"operator": "sensing", "sensing_matrices": "symmetric"})
    prob = ex._symmetric_matrices_as_general(ex.problem(s, operator="sensing", symmetric=True))
    K = np.random.default_rng(1).standard_normal((tiny.n, tiny.n))
    K = K - K.T
    np.testing.assert_allclose(prob.operator.forward(K), 0.0, atol=1e-12)   # invisible
    share, one = ex.antisymmetric_share(s)
    assert one == 1.0 and 0.0 <= share <= 1.0


def test_regime_rule_and_table(tiny):
    sig = ex.regime_signature(tiny, "sym-exact")
    assert set(sig) == {"alpha_exponent", "late_slope_min", "late_slope_max", "rate_at_smallest_alpha", "final_error"}
    assert abs(sig["alpha_exponent"]) < 0.5 and sig["rate_at_smallest_alpha"] < 0
    matched, total = ex.table1_matches(tiny)
    assert total == 4.0 and 0 <= matched <= 4


def test_recipe_times_shapes(tiny):
    t = ex.recipe_times(tiny)
    assert set(t) == {"recipe", "oracle", "symmetric_over"}
    assert t["oracle"].shape == (len(tiny.alphas), tiny.n_seeds) and np.isfinite(t["oracle"]).all()
    ratio, one = ex.recipe_ratio(tiny)
    assert one == 1.0 and ratio > 0


def test_x1_figures_are_labelled(tiny):
    from matsense.plotting import xiong as px
    s = with_overrides(tiny, {"m": 120})
    for fig in (px.fig_invisible(s), px.fig_imbalance(tiny), px.fig_recipe(tiny)):
        assert isinstance(fig, Figure)
        assert fig.axes[0].get_ylabel() and fig.axes[0].get_xlabel() and fig.axes[0].get_legend() is not None


def test_imbalance_bound_holds_and_control_breaks_the_step_condition():
    s = xiong_setup(quick=True, n=8, alphas=(0.5, 0.1), n_seeds=1, steps_mf=300)
    d = ex.imbalance_drift.uncached(s, k=4)
    assert np.all(d["drift"] <= d["grad_bound"] + 1e-15)      # Weyl + PSD difference
    assert np.all(d["grad_bound"] <= d["bound"] + 1e-15)      # descent lemma
    assert np.all(d["step_factor"] < 1)
    big = with_overrides(s, {"eta": 0.8})
    dc = ex.imbalance_drift.uncached(big, k=4)
    assert np.all(dc["step_factor"] >= 1) and np.all(np.isinf(dc["bound"]))
