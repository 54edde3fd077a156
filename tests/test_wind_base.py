"""Wind chapter, base library and W1's notebooks (motivation, setup, flow, conclusion)."""

from __future__ import annotations

import numpy as np
import pytest

import matsense as ms
from matsense import theory
from matsense.dynamics import gradient_flow_asymmetric
from matsense.experiments import wind as ex
from matsense.setups import WindSetup, draws, wind_setup, with_overrides


# -- setup ----------------------------------------------------------------------------------------

def test_wind_setup_sizes():
    full, quick = wind_setup(), wind_setup(quick=True)
    assert (full.n1, full.n2, full.r, full.h, full.m) == (60, 40, 3, 60, 1500)
    assert (quick.n1, quick.n2, quick.r, quick.h, quick.m) == (20, 14, 2, 20, 300)
    for s in (full, quick):
        assert s.n1 != s.n2 and s.h == max(s.n1, s.n2)
        assert s.dof < s.m_under <= s.dim
        assert s.sigma[0] == 1.0 and np.isclose(s.sigma[-1], 1.0 / s.kappa)
        assert s.dim == s.n1 * s.n2 and s.dof == (s.n1 + s.n2 - s.r) * s.r
        assert s.seeds == tuple(range(s.n_seeds))
    assert full.m == 5 * (full.n1 + full.n2) * full.r
    assert np.allclose(full.sigma_for(5.0), [1.0, 0.6, 0.2])


def test_wind_setup_errors_and_overrides():
    with pytest.raises(TypeError, match="unknown setup field"):
        wind_setup(quick=True, nope=1)
    with pytest.raises(ValueError, match="kappa"):
        wind_setup(quick=True, kappa=0.5)
    with pytest.raises(ValueError, match="eta"):
        wind_setup(quick=True, eta=1.5)
    s = with_overrides(wind_setup(quick=True), {"alphas": [1.0, 0.5]})
    assert isinstance(s, WindSetup) and s.alphas == (1.0, 0.5)
    assert [d.seed for d in draws(s)] == [0, 1000, 2000]


# -- problem, initialisation, a0 ------------------------------------------------------------------

def test_problem_same_truth_for_every_m_and_noise():
    s = wind_setup(quick=True)
    p1, p2, p3 = ex.problem(s), ex.problem(s, m=100), ex.problem(s, noise=0.1)
    assert p1.M_star.shape == (20, 14)
    assert np.allclose(p1.M_star, p2.M_star) and np.allclose(p1.M_star, p3.M_star)
    assert np.allclose(p1.singular_values, s.sigma)
    assert np.allclose(ex.problem(s, kappa=5.0).singular_values, s.sigma_for(5.0))
    # the noise is xi / sqrt(m) with xi ~ N(0, s^2): ||y - A(M*)|| ~ s
    assert 0.07 < np.linalg.norm(p3.y - p1.y) < 0.13
    with pytest.raises(ValueError, match="noise"):
        ex.problem(s, noise=-1.0)


def test_initial_factors_share_directions():
    s = wind_setup(quick=True)
    F0, G0 = ex.initial_factors(s, (1e-1, 1e-3))
    assert F0.shape == (4, 20, 20) and G0.shape == (4, 14, 20)
    # run b = i * n_seeds + j: same direction j for both scales
    assert np.allclose(F0[2] * 100, F0[0]) and np.allclose(G0[3] * 100, G0[1])
    assert not np.allclose(F0[0], F0[1])
    F1, _ = ex.initial_factors(s, 1e-1, h=3)
    assert F1.shape == (2, 20, 3)


def test_a0_stacked_spectral_norm():
    F = np.array([[3.0, 0.0], [0.0, 0.0]])
    G = np.array([[4.0, 0.0]])
    assert ex.a0(F, G) == pytest.approx(5.0)          # column (3, 0, 4)
    Fb, Gb = ex.initial_factors(wind_setup(quick=True), (1e-2,))
    a = ex.a0(Fb, Gb)
    assert a.shape == (2,) and np.all(a > 0)
    assert a[0] == pytest.approx(np.linalg.norm(np.vstack([Fb[0], Gb[0]]), 2))
    with pytest.raises(ValueError, match="F0 and G0"):
        ex.a0(np.ones((3, 2)), np.ones((3, 4)))


def test_run_records_metrics_and_a0():
    s = wind_setup(quick=True, alphas=(1e-3,), n_seeds=1)
    tr = ex.run.uncached(s, steps=200)
    for name in ex.METRICS:
        assert tr[name].shape[:2] == (tr.iterations.size, 1)
    assert tr.params["a0"].shape == (1,)
    assert tr["stacked_norm"][0, 0] == pytest.approx(tr.params["a0"][0])
    assert tr["relative_error"][-1, 0] < 1e-2               # small init recovers M* (m > dim here)
    assert tr["spectral_error"][-1, 0] <= tr["relative_error"][-1, 0] * np.sqrt(s.r) + 1e-12


# -- gradient flow --------------------------------------------------------------------------------

def _small_problem():
    p = ms.gaussian_problem(8, 6, [1.0, 0.5], 120, rng=0)
    F0, G0 = ms.small_random_init_asymmetric(8, 6, 6, 1e-2, rng=1)
    return p, F0, G0


def test_flow_conserves_imbalance():
    p, F0, G0 = _small_problem()
    tr = gradient_flow_asymmetric(p, F0, G0, np.linspace(0.0, 30.0, 7), metrics=("relative_error", "imbalance"))
    D = tr["imbalance"]
    assert np.max(np.abs(D - D[0])) < 1e-6
    assert tr["relative_error"][-1, 0] < 1e-2


def test_flow_matches_gd_at_small_eta():
    p, F0, G0 = _small_problem()
    t_end = 12.0
    flow = gradient_flow_asymmetric(p, F0, G0, [0.0, t_end], metrics=("relative_error",))
    gaps = []
    for eta in (0.02, 0.01):
        gd = ms.gd_asymmetric(p, F0, G0, eta, int(round(t_end / eta)), record=[int(round(t_end / eta))],
                              metrics=("relative_error",))
        gaps.append(np.linalg.norm(gd.final_matrix()[0] - flow.final_matrix()[0]))
    assert gaps[1] < 0.02
    assert 1.6 < gaps[0] / gaps[1] < 2.4        # first order in eta


def test_flow_errors():
    p, F0, G0 = _small_problem()
    with pytest.raises(ValueError, match="t_eval"):
        gradient_flow_asymmetric(p, F0, G0, [1.0, 0.5])
    with pytest.raises(ValueError, match="rows"):
        gradient_flow_asymmetric(p, F0[:, :3][:5], G0, [1.0])


# -- theory ---------------------------------------------------------------------------------------

def test_wind_theory_closed_forms():
    assert theory.wind_iterations_per_decade(0.25, 1.0) == pytest.approx(np.log(10) / np.log(1.25))
    assert theory.wind_horizon(1.0, 1e-3) == pytest.approx(5 * np.log(1e6))
    assert theory.wind_horizon(0.25, 0.1) == pytest.approx(5 * np.log(25.0) / 0.25)
    assert theory.wind_error_reference(1e-3, 1.0) == pytest.approx(1e-4)
    assert np.allclose(theory.wind_error_reference([1e-3, 8e-3], 8.0), [2e-4, 3.2e-3])
    assert theory.wind_step_bound(2.0, 1.0, 0.5, 0.01) == pytest.approx(1 / (8 * np.log(5000)))
    assert theory.wind_perturbation_budget(1.0, 1.0, 1.0, np.exp(-1)) == pytest.approx(0.5)
    assert theory.wind_init_bound(1.0, 1.0, 40, 60, 2) == pytest.approx(1 / 401)
    assert theory.minimax_reference(0.1, 60, 40, 3, 1500) == pytest.approx(0.1 * np.sqrt(0.2))
    assert np.allclose(theory.minimax_reference([0.0, 1.0], 1, 1, 1, 2), [0.0, 1.0])


def test_wind_theory_errors():
    with pytest.raises(ValueError, match="a0"):
        theory.wind_horizon(1.0, 1.0)
    with pytest.raises(ValueError, match="kappa"):
        theory.wind_perturbation_budget(1.0, 0.5, 1.0, 0.1)
    with pytest.raises(ValueError, match="s="):
        theory.minimax_reference(-1.0, 2, 2, 1, 4)


# -- W1's notebooks: motivation, setup, flow, conclusion -------------------------------------------

def test_w1_setup_fields():
    s = wind_setup(quick=True)
    assert s.alpha_large > s.alpha and s.flow_step is None
    assert list(s.flow_alphas) == sorted(s.flow_alphas, reverse=True)
    with pytest.raises(ValueError, match="flow_step"):
        wind_setup(quick=True, flow_step=0.0)
    with pytest.raises(ValueError, match="threshold_alphas"):
        wind_setup(quick=True, threshold_alphas=(0.1, -1.0))


def test_nuclear_norm_closed_form():
    assert ex.nuclear_norm(np.diag([3.0, -2.0, 0.0])) == pytest.approx(5.0)
    X = np.stack([np.eye(3), 2 * np.eye(3)])
    assert np.allclose(ex.nuclear_norm(X), [3.0, 6.0])
    with pytest.raises(ValueError, match="matrix"):
        ex.nuclear_norm(np.ones(3))


def test_motivation_alphas_dedupe():
    s = wind_setup(quick=True)
    assert ex.motivation_alphas(s) == (s.alpha_large, s.alpha)
    assert ex.motivation_alphas(with_overrides(s, {"alpha": s.alpha_large})) == (s.alpha_large,)


def test_final_summary_small_run():
    s = wind_setup(quick=True, n_seeds=1)
    tr = ex.run.uncached(s, alphas=(1e-3,), steps=300)
    out = ex.final_summary(tr, ex.truth(s))
    assert out["error"].shape == (1, 1) and out["spectrum"].shape == (1, 1, 14)
    assert out["error"][0, 0] == pytest.approx(tr["relative_error"][-1, 0])
    assert out["nuclear"][0, 0] == pytest.approx(ex.nuclear_norm(tr.final_matrix()[0]) / sum(s.sigma))
    assert out["fit"][0, 0] < 1e-3 and out["a0"][0, 0] == pytest.approx(tr.params["a0"][0])


def test_misalignment_closed_form():
    M = np.zeros((3, 2))
    M[0, 0] = 1.0                                     # U = e1, V = e1, r = 1
    F = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    G = np.array([[1.0, 0.0], [0.0, 0.0]])
    # [F; G] has spectral norm sqrt(2); U^T F + V^T G = (2, 0), sigma_1 = 2
    assert ex.misalignment(F, G, M, 1) == pytest.approx(np.sqrt(2) * np.sqrt(2) / 2)
    G2 = np.array([[-1.0, 0.0], [0.0, 0.0]])           # cancels the component along M*
    assert np.isinf(ex.misalignment(F, G2, M, 1))
    # scale-free, and h < r is rank-deficient (infinite)
    assert ex.misalignment(5 * F, 5 * G, M, 1) == pytest.approx(1.0)
    assert np.isinf(ex.misalignment(np.ones((3, 1)), np.ones((2, 1)), np.diag([1.0, 1.0, 0.0])[:, :2], 2))


def test_misalignment_estimate_and_claim():
    s = wind_setup(quick=True)
    est = theory.wind_misalignment_estimate(20, 14, 2, 20)
    v = 1 / 20 + 1 / 14
    num = np.sqrt(2 * ((1 + 1) ** 2 + (1 + np.sqrt(20 / 14)) ** 2))
    assert est == pytest.approx(num / (np.sqrt(v) * (np.sqrt(20) - np.sqrt(2))))
    with pytest.raises(ValueError, match="h"):
        theory.wind_misalignment_estimate(20, 14, 2, 2)
    measured, predicted = ex.misalignment_claim(s)
    assert predicted == pytest.approx(est) and measured < predicted
    assert np.median(ex.init_misalignment(s, h=s.r)) > predicted


def test_conditions_keys():
    s = wind_setup(quick=True)
    c = ex.conditions(s)
    assert c["h_star"] == 20 and c["widths_ok"].tolist() == [False, False, True]
    assert 0 < c["delta_m"] < 1 and c["delta_under"] > 0
    assert np.allclose(c["delta_target"], [1 / np.sqrt(2), 1 / (np.sqrt(2) * 25)])
    assert np.allclose(c["eta_over_step"], s.eta / c["step_bound"])
    assert c["init_bound"][0] == pytest.approx(1 / (14 ** 2 / 4 + 1))


def test_crossing_times_interpolates_log():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([[1e-4, 1.0], [1e-2, 2.0], [1.0, 3.0], [1.0, 4.0]])
    out = ex.crossing_times(v, [1e-1, 0.5], t)
    assert out[0] == pytest.approx(1.5)                 # log-linear between 1e-2 and 1
    assert out[1] == 0.0                                # already above at t = 0
    assert np.isnan(ex.crossing_times(v, [10.0, 10.0], t)).all()


def test_scale_at_level():
    a = np.array([1e-3, 1e-2, 1e-1])
    e = np.array([1e-3, 1e-2, 1e-1])
    assert ex.scale_at_level(a, e, 3e-2) == pytest.approx(3e-2)
    assert np.isnan(ex.scale_at_level(a, e, 1e-4))
    assert np.isinf(ex.scale_at_level(a, e, 1.0))
    with pytest.raises(ValueError, match="positive"):
        ex.scale_at_level(a, -e, 0.1)


def test_flow_study_quick_claims():
    s = wind_setup(quick=True)
    st = ex.flow_study.uncached(s)
    assert st["relative_error"].shape == (ex.FLOW_POINTS, len(s.flow_alphas))
    assert st["times"][-1] == pytest.approx(theory.wind_horizon(s.sigma[-1], st["a0"].min()))
    ratio, one = ex.escape_slope(s)
    assert one == 1.0 and abs(ratio - 1) < 0.1
    assert ex.imbalance_drift(s)[0] < 1e-6
    ph = ex.flow_phases(st, s.sigma)
    assert np.all(ph[:, 0] < ph[:, 1]) and np.all(ph[:, 1] < st["horizon"])


def test_flow_study_euler_control_drifts():
    s = wind_setup(quick=True, flow_step=0.25, flow_alphas=(1e-2,))
    st = ex.flow_study.uncached(s)
    assert st["drift"].max() > 1e-4                    # GD does not conserve the imbalance


def test_practical_threshold_quick():
    res = ex.practical_threshold(wind_setup(quick=True))
    assert res["bound"] == pytest.approx(1 / (14 ** 2 / 4 + 1))
    assert np.all(np.diff(res["error"]) < 0)            # smaller scale, smaller error (grid largest first)
    assert res["a0"].min() < res["a0_level"] < res["a0"].max()
    assert res["ratio"] == pytest.approx(res["a0_level"] / res["bound"])
