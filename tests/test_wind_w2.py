"""Wind chapter, W2's library: book/wind/convergence (Theorem 2.8) and book/wind/discretisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matsense import theory
from matsense.analysis import reach_time
from matsense.claims import load_claims_table
from matsense.dynamics import Trajectory
from matsense.experiments import wind as ex
from matsense.setups import WindSetup, wind_setup, with_overrides

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private sweep cache for the tests that run GD."""
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", str(tmp_path / "sweeps"))
    return tmp_path / "sweeps"


def _trajectory(iterations, metrics: dict, params: dict) -> Trajectory:
    B = next(iter(metrics.values())).shape[1]
    return Trajectory(iterations=np.asarray(iterations), metrics=metrics, factors=(), eta=np.full(B, 0.25),
                      diverged_at=np.full(B, -1), symmetric=False, form="dense", steps=int(iterations[-1]),
                      params=params)


# -- setup fields -----------------------------------------------------------------------------------

def test_w2_fields_defaults_and_errors():
    for s in (wind_setup(), wind_setup(quick=True)):
        assert s.alphas_conv == (1e-3, 1e-4, 1e-5) and s.rip_factor == 30.0
        assert s.eta_grid == (0.1, 0.05, 0.025)
    with pytest.raises(ValueError, match="alphas_conv"):
        wind_setup(quick=True, alphas_conv=(1e-3,))
    with pytest.raises(ValueError, match="alphas_conv"):
        wind_setup(quick=True, alphas_conv=(2.0, 1e-3))
    with pytest.raises(ValueError, match="rip_factor"):
        wind_setup(quick=True, rip_factor=0)
    with pytest.raises(ValueError, match="eta_grid"):
        wind_setup(quick=True, eta_grid=(0.1,))
    with pytest.raises(ValueError, match="eta_grid"):
        wind_setup(quick=True, eta_grid=(0.1, 2.5))


def test_w2_core_resets_only_w2_fields():
    s = wind_setup(quick=True, seed=3, alphas_conv=(0.2, 0.1), rip_factor=5.0, eta_grid=(1.0, 0.5))
    core = ex._w2_core(s)
    assert core == wind_setup(quick=True, seed=3)


def test_m_rip():
    assert ex.m_rip(wind_setup()) == 30 * 100 * 3
    assert ex.m_rip(wind_setup(quick=True, rip_factor=5.0)) == 5 * 34 * 2


def test_controls_match_constants():
    table = load_claims_table(ROOT / "book" / "wind" / "claims.yml")
    assert tuple(table["wind.conv.per-decade"].control.setup["alphas_conv"]) == ex.LARGE_ALPHAS
    assert tuple(table["wind.disc.gap-linear"].control.setup["eta_grid"]) == ex.LARGE_STEPS
    assert ex.large_alphas_setup(wind_setup(quick=True)).alphas_conv == ex.LARGE_ALPHAS
    assert ex.large_steps_setup(wind_setup(quick=True)).eta_grid == ex.LARGE_STEPS
    assert table["wind.conv.error-exponent"].control.setup == {"rip_factor": 5.0}
    for cid in ("wind.conv.per-decade", "wind.conv.error-exponent", "wind.conv.exponent-mechanism",
                "wind.disc.gap-linear"):
        with_overrides(wind_setup(quick=True), table[cid].control.setup)   # a valid setup


# -- theory -----------------------------------------------------------------------------------------

def test_theorem_steps_closed_form():
    a0 = 1e-3
    K = theory.wind_theorem_steps(0.25, 0.5, a0)
    assert K == int(np.ceil(5.0 * np.log(0.5 / a0**2) / (0.25 * 0.5)))
    assert isinstance(K, int)
    Ks = theory.wind_theorem_steps(0.25, 1.0, np.array([1e-2, 1e-4]), c2=2.0)
    assert Ks.tolist() == [int(np.ceil(2 * np.log(1e4) / 0.25)), int(np.ceil(2 * np.log(1e8) / 0.25))]
    # K eta is the horizon of Theorem 4.3 (up to the rounding up)
    assert 0 <= K * 0.25 - theory.wind_horizon(0.5, a0) < 0.25
    with pytest.raises(ValueError, match="a0"):
        theory.wind_theorem_steps(0.25, 1.0, 1.5)
    with pytest.raises(ValueError, match="eta"):
        theory.wind_theorem_steps(0.0, 1.0, 1e-3)


def test_spurious_exponent():
    assert theory.wind_spurious_exponent(0.25, 1.0, 0.0) == pytest.approx(2.0)
    assert theory.wind_spurious_exponent(0.25, 1.0, 1.0) == pytest.approx(0.0)
    # rho = 1/3 is v2's 4/3
    s_next = ((1 + 0.25 * 1.2) ** (1 / 3) - 1) / 0.25
    assert theory.wind_spurious_exponent(0.25, 1.2, s_next) == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="s_next"):
        theory.wind_spurious_exponent(0.25, 1.0, -0.1)
    with pytest.raises(ValueError, match="s_r"):
        theory.wind_spurious_exponent(0.25, 0.0, 0.1)


# -- analysis ---------------------------------------------------------------------------------------

def test_reach_time_interpolates_in_log():
    it = [0, 1, 2, 3]
    assert reach_time([1.0, 0.1, 0.01, 0.001], 10 ** -1.5, it) == pytest.approx(1.5)
    v = np.array([[1.0, 0.05, 1.0], [0.5, 0.04, 1.0], [0.01, 0.03, 1.0], [0.001, 0.02, 1.0]])
    out = reach_time(v, 0.1, [0, 10, 20, 30])
    assert out[0] == pytest.approx(10 + 10 * np.log(5) / np.log(50))
    assert out[1] == 0.0 and np.isnan(out[2])   # starts below; never below
    with pytest.raises(ValueError, match="level"):
        reach_time([1.0, 0.1], 0.0, [0, 1])
    with pytest.raises(ValueError, match="increasing"):
        reach_time([1.0, 0.1], 0.5, [1, 0])


# -- measurements on hand-made trajectories ----------------------------------------------------------

def test_decade_slopes_and_error_exponents_closed_form():
    a0 = np.array([1e-3, 1.1e-3, 1e-4, 1.1e-4, 1e-5, 1.1e-5])      # alphas x seeds = 3 x 2
    per, p = 9.0, 1.5
    T = 20 + per * np.log10(1 / a0)                                   # reach times
    it = np.arange(0, 121)
    rel = np.exp(-(it[:, None] - T[None, :]) * np.log(10) / 3) * 0.1  # crosses 0.1 at T, log-linear
    K = np.array([60, 61, 90, 91, 120, 120])
    spec = np.ones((it.size, a0.size))
    spec[K, np.arange(a0.size)] = 3.0 * a0 ** p
    traj = _trajectory(it, {"relative_error": rel, "spectral_error": spec},
                       {"a0": a0, "alphas": np.array([1e-3, 1e-4, 1e-5]), "n_seeds": 2, "K": K})
    assert np.allclose(ex.reach_iterations(traj), T.reshape(3, 2))
    assert np.allclose(ex.decade_slopes(traj), per)
    assert np.allclose(ex.errors_at_K(traj), (3.0 * a0 ** p).reshape(3, 2))
    assert np.allclose(ex.error_exponents(traj), p)
    bad = _trajectory(it[:100], {"spectral_error": spec[:100]}, dict(traj.params))
    with pytest.raises(ValueError, match="K"):
        ex.errors_at_K(bad)


def test_undefined_measurement_is_nan():
    assert np.isnan(ex._median_or_nan(np.array([1.0, np.nan])))
    assert ex._median_or_nan(np.array([1.0, 3.0, 2.0])) == 2.0
    x = np.log10(np.array([[10.0, 10.0], [100.0, 100.0]]))
    out = ex._direction_slopes(x, np.array([[1.0, np.nan], [2.0, 2.0]]), log_y=False)
    assert out[0] == pytest.approx(1.0) and np.isnan(out[1])


def test_strides_common_times():
    assert ex._strides(0.1) == (1, 1)
    assert ex._strides(0.025) == (4, 1)
    assert ex._strides(0.25) == (2, 5)           # common time 0.5
    assert ex._strides(1.0) == (1, 10)
    for eta in (0.3, 0.05, 0.5):
        k_gd, k_flow = ex._strides(eta)
        assert k_gd * eta == pytest.approx(k_flow * ex.FLOW_DT)
    with pytest.raises(ValueError, match="eta"):
        ex._strides(np.pi / 10)
    with pytest.raises(ValueError, match="eta"):
        ex._strides(-0.1)


# -- the runs, on the quick sizes -------------------------------------------------------------------

def test_escape_spectrum_is_svd_of_adjoint():
    s = wind_setup(quick=True)
    prob = ex.problem(s)
    S = prob.operator.adjoint(prob.y)
    assert np.allclose(ex.escape_spectrum(prob, 3), np.linalg.svd(S, compute_uv=False)[:3])
    # E A*A = Id: A*(y) is M* plus a fluctuation, its top singular values near sigma = 1
    assert np.all(np.abs(ex.escape_spectrum(prob, s.r) - 1.0) < 0.5)
    with pytest.raises(ValueError, match="q"):
        ex.escape_spectrum(prob, 0)


def test_conv_run_records_and_claims(cache):
    s = wind_setup(quick=True)
    traj = ex.conv_run(s, s.m)
    K = traj.params["K"]
    assert traj.steps == K.max() and np.isin(K, traj.iterations).all()
    assert np.array_equal(traj.iterations[: K.max() // 3 + 1], np.arange(K.max() // 3 + 1))
    assert np.allclose(traj.params["a0"], ex.a0(*ex.initial_factors(s, s.alphas_conv)))
    # the same run for a control that changes only a W2 field (shared cache entry)
    assert ex.conv_run(with_overrides(s, {"rip_factor": 5.0}), s.m) is not None
    assert len(list(cache.glob("*._conv_run/*.pkl"))) == 1
    measured, predicted = ex.per_decade(s)
    assert predicted == pytest.approx(np.log(10) / np.log1p(s.eta * traj.params["escape"][s.r - 1]))
    assert abs(measured / predicted - 1) < 0.15
    p, four_thirds = ex.error_exponent(s)
    assert four_thirds == pytest.approx(4 / 3) and p > 4 / 3
    p2, pred = ex.exponent_mechanism(s)
    assert p2 == p and abs(p / pred - 1) < 0.1
    numbers = ex.convergence_numbers(s)
    assert numbers["m_rip"] == ex.m_rip(s) and numbers["K_min"] < numbers["K_max"]
    assert numbers["reach_min"] < numbers["reach_max"]


def test_conv_run_errors():
    s = wind_setup(quick=True)
    with pytest.raises(ValueError, match="m="):
        ex.conv_run(s, 0)
    with pytest.raises(ValueError, match="alphas"):
        ex.conv_run(s, s.m, alphas=(1.5,))
    with pytest.raises(TypeError, match="WindSetup"):
        ex.conv_run(object(), 10)


def test_gd_flow_gap_is_first_order(cache):
    s = wind_setup(quick=True)
    gaps = ex.gd_flow_gaps(s)
    flow = ex.flow_run(s)
    assert np.allclose(flow.times, ex.flow_times(s)) and flow.times[-1] >= ex.flow_end_time(s) - 1e-9
    assert np.allclose(np.diff(flow.times), ex.FLOW_DT)
    for eta, t, g in zip(gaps["eta"], gaps["times"], gaps["gap"]):
        assert t[0] == 0 and g[0] == pytest.approx(0.0, abs=1e-12)   # same start
        assert np.allclose(t / ex.FLOW_DT, np.round(t / ex.FLOW_DT))  # on the flow's grid
    ratios = gaps["max_gap"][:-1] / gaps["max_gap"][1:]             # halving eta halves the gap
    assert np.all(np.abs(ratios - 2.0) < 0.3)
    slope, one = ex.gap_slope(s)
    assert one == 1.0 and abs(slope - 1.0) < 0.2
    numbers = ex.discretisation_numbers(s)
    assert numbers["gap_chapter"] > numbers["gap_max"] > numbers["gap_min"]


def test_gap_slope_nan_when_gd_diverges(cache, monkeypatch):
    s = wind_setup(quick=True)

    def fake(setup):
        return {"max_gap": np.array([np.inf, 0.1, 0.05])}
    monkeypatch.setattr(ex, "gd_flow_gaps", fake)
    measured, predicted = ex.gap_slope(s)
    assert np.isnan(measured) and predicted == 1.0


# -- figures ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["fig_conv_reach", "fig_conv_error", "fig_gd_flow"])
def test_figures_are_labelled(cache, name):
    from matsense.plotting import wind as pw
    fig = getattr(pw, name)(wind_setup(quick=True))
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert any(ax.get_legend() is not None for ax in fig.axes)


def test_setup_type_is_checked():
    with pytest.raises(TypeError, match="WindSetup"):
        ex.m_rip(object())
    assert isinstance(ex._w2_core(wind_setup(quick=True)), WindSetup)
