"""Unit tests of book/xiong/symmetric_lower_bound: the redundant-block theory and its measurements."""

from __future__ import annotations

import numpy as np
import pytest

from matsense import theory


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")


# -- theory: the cubic recursion J <- J - eta J J^T J ------------------------------------------------

def test_block_step_maps_singular_values_by_the_cubic():
    rng = np.random.default_rng(0)
    J = 0.3 * rng.standard_normal((7, 3))
    s = np.linalg.svd(J, compute_uv=False)
    s_next = np.linalg.svd(theory.redundant_block_step(J, 0.05), compute_uv=False)
    np.testing.assert_allclose(np.sort(s_next), np.sort(s - 0.05 * s ** 3), rtol=1e-12)
    np.testing.assert_allclose(theory.cubic_recursion(s, 0.05, [1])[0], s - 0.05 * s ** 3, rtol=1e-14)


def test_cubic_recursion_by_hand_and_at_requested_iterations():
    s = theory.cubic_recursion([0.5], 0.1, [0, 1, 2])[:, 0]
    s1 = 0.5 - 0.1 * 0.125
    assert s[0] == 0.5 and s[1] == pytest.approx(s1, abs=1e-15)
    assert s[2] == pytest.approx(s1 - 0.1 * s1 ** 3, abs=1e-15)
    with pytest.raises(ValueError):
        theory.cubic_recursion([5.0], 0.1, [1])        # eta s0^2 >= 1: the map is not monotone


def test_redundant_error_tends_to_the_limit_and_matches_the_closed_form():
    eta, t = 0.05, np.array([10 ** 5, 4 * 10 ** 5])
    s0 = np.array([0.1, 0.3])
    err = theory.redundant_error(s0, eta, t)
    limit = theory.redundant_limit(5, 3)
    assert limit == 0.5 and theory.redundant_limit(3, 3) == 0.0
    ratio = (t * eta) ** 2 * err / limit
    assert abs(ratio[1] - 1) < abs(ratio[0] - 1) < 0.02   # offset 1/s0^2 = 100 against 2 eta t = 1e4
    # closed form: the neglected (3/2) eta log t term is relatively 1.5 eta log t / (2 eta t)
    closed = theory.redundant_error_asymptotic(s0, eta, t)
    np.testing.assert_allclose(err, closed, rtol=2 * 1.5 * np.log(t[0]) / (2 * t[0]))


def test_loglog_slope_of_the_closed_form():
    eta, s0 = 0.05, 0.2
    t = np.array([1e3, 1e4, 1e7])
    slope = theory.redundant_loglog_slope(s0, eta, t)
    h = 1e-6     # numerical derivative of log of the closed form
    num = (np.log(theory.redundant_error_asymptotic([s0], eta, t * (1 + h)))
           - np.log(theory.redundant_error_asymptotic([s0], eta, t))) / np.log1p(h)
    np.testing.assert_allclose(slope, num, rtol=1e-4)
    assert slope[-1] == pytest.approx(-2, abs=1e-4)


def test_spread_bound_and_initial_edge():
    assert theory.initial_scale_edge(0.1, 16, 4) == pytest.approx(0.05)
    eta, t, s0 = 0.05, 2e4, 0.05
    bound = theory.asymptote_spread_bound(eta, t, s0)
    low = theory.redundant_error_asymptotic([s0], eta, t) * (t * eta) ** 2   # smallest value, per direction
    assert bound == pytest.approx(1 - low / 0.25, rel=1e-12)
    assert theory.asymptote_spread_bound(eta, 4 * t, s0) < bound / 3      # falls like 1/t


# -- measurements (lib/matsense/experiments/xiong.py, book/xiong/symmetric_lower_bound block) -------

from matsense.dynamics import Trajectory                     # noqa: E402
from matsense.experiments import xiong as ex                 # noqa: E402
from matsense.setups import with_overrides, xiong_setup      # noqa: E402


def tiny(**overrides):
    """A small, fast setup: n = 10, two scales, one direction, one draw."""
    base = dict(n=10, alphas=(0.5, 0.2), n_seeds=1, n_draws=1, steps_mf=3000, k_grid=(3, 4))
    base.update(overrides)
    return xiong_setup(quick=True, **base)


def _traj(iterations, err):
    err = np.asarray(err, dtype=float)
    return Trajectory(iterations=np.asarray(iterations), metrics={"squared_error": err}, factors=(),
                      eta=np.full(err.shape[1], 0.05), diverged_at=np.full(err.shape[1], -1),
                      symmetric=True, form="identity", steps=int(iterations[-1]))


def test_above_floor_stops_where_the_first_run_reaches_the_floor():
    it = np.array([0, 1, 2, 3])
    err = np.array([[1.0, 1.0], [1e-10, 1e-3], [1e-25, 1e-4], [1e-30, 1e-5]])
    t, e = ex.above_floor(_traj(it, err))
    assert t.tolist() == [0, 1] and e.shape == (2, 2)
    with pytest.raises(ValueError):
        ex.above_floor(_traj(it, np.full((4, 2), 1e-30)))


def test_asymptote_constant_removes_the_delay():
    eta, C = 0.05, 0.75
    t = np.arange(1, 5001, dtype=float)
    values = np.stack([C / (eta * (t + t0)) ** 2 for t0 in (0.0, 300.0, 5000.0)], axis=1)
    np.testing.assert_allclose(ex.asymptote_constant(t, values, eta), C, rtol=1e-10)
    raw = (t[-1] * eta) ** 2 * values[-1]            # the raw t^2 eta^2 v differs by the delay
    assert raw[2] < 0.3 * raw[0]


def test_symmetric_measures_on_a_tiny_setup_and_their_control():
    s = tiny()
    slope, p = ex.sym_late_slope(s)
    assert p == -2.0 and abs(slope + 2) < 0.1
    limit, p = ex.sym_limit(s)
    # finite-T value (k - r)/4 (1 + 1/(2 eta T s_0^2))^-2: at n = 10, T = 3000 and s_0 near
    # alpha (1 - sqrt(k/n)) the correction reaches about 10 %, more than at the book's sizes
    assert p == 0.25 and abs(limit / p - 1) < 0.12
    spread, p = ex.sym_constant_spread(s)
    assert p == 0.0 and 0 <= spread < 1e-3
    ctrl = with_overrides(s, {"k_over": 3})
    assert ex.sym_late_slope(ctrl)[0] < -5                      # exponential decay: no power law
    assert ex.sym_limit(ctrl)[1] == 0.0 and ex.sym_limit(ctrl)[0] < 1e-3


def test_k_sweep_shapes_and_the_constant_counts_redundant_columns():
    s = tiny()
    sweep = ex.sym_k_sweep(s)
    assert sweep["k"].tolist() == [3, 4]
    assert sweep["constants"].shape == (2, 2, 1) and sweep["scaled_last"].shape == (2, 2, 1)
    np.testing.assert_allclose(sweep["constants"][1], 0.25, rtol=0.01)
    assert np.all(sweep["constants"][0] < 1e-3)


def test_figure_is_labelled():
    import matplotlib.pyplot as plt
    from matsense.plotting import xiong as px
    fig = px.fig_sym_asymptote(tiny())
    panels = [ax for ax in fig.axes if ax.axison]          # the fourth cell of the grid is a legend
    assert len(panels) == 3 and any(ax.get_legend() is not None for ax in fig.axes if not ax.axison)
    for ax in panels:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    plt.close(fig)
