"""Tests of matsense.analysis: events and rates read off recorded trajectories."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matsense import analysis


def test_first_crossing_and_never():
    t = np.array([0, 1, 5, 10])
    v = np.array([[0.0, 0.0], [0.2, 0.0], [0.6, np.nan], [0.4, 0.1]])
    out = analysis.first_crossing(v, 0.5, t)
    assert out[0] == 5 and np.isnan(out[1])


def test_learning_times_per_component():
    t = np.arange(4)
    spec = np.zeros((4, 1, 3))
    spec[1:, 0, 0] = 3.0       # component 1 learned at t = 1
    spec[3, 0, 1] = 1.5        # component 2 at t = 3 (threshold sigma_2 / 2 = 1.0)
    T = analysis.learning_times(spec, [3.0, 2.0], t)
    assert T.shape == (1, 2) and list(T[0]) == [1.0, 3.0]
    with pytest.raises(ValueError, match="sigma must be 1-D with at most 3"):
        analysis.learning_times(spec, [1, 1, 1, 1], t)
    with pytest.raises(ValueError, match="iterations must be 1-D with 4"):
        analysis.learning_times(spec, [1.0], np.arange(3))


def test_closest_approach_ignores_nan():
    t = np.array([0, 2, 4])
    d = np.array([[3.0, np.nan], [1.0, np.nan], [2.0, np.nan]])
    best, when = analysis.closest_approach(d, t)
    assert best[0] == 1.0 and when[0] == 2
    assert np.isnan(best[1]) and np.isnan(when[1])


def test_dwell_time_counts_steps_on_any_schedule():
    t = np.array([0, 1, 2, 6, 7])
    v = np.array([[5.0], [1.005], [0.995], [1.0], [0.5]])
    # t = 1 counts 1 step, t = 2 counts 4 steps (until 6), t = 6 one step
    assert analysis.dwell_time(v, 1.0, t, rel=0.01)[0] == 6.0


def test_fit_line_and_errors():
    fit = analysis.fit_line([0, 1, 2], [1, 3, 5])
    assert fit.slope == pytest.approx(2) and fit.intercept == pytest.approx(1) and fit.r2 == pytest.approx(1)
    with pytest.raises(ValueError, match="finite x and y"):
        analysis.fit_line([0, 1], [1, np.nan])
    with pytest.raises(ValueError, match="two distinct x"):
        analysis.fit_line([1, 1], [0, 1])


def test_growth_rate_of_geometric_sequence():
    t = np.arange(50)
    v = np.stack([0.1 * 1.15 ** t, 2.0 * 1.05 ** t], axis=1)
    np.testing.assert_allclose(analysis.growth_rate(v, t, start=5, stop=40), [1.15, 1.05])
    with pytest.raises(ValueError, match="fewer than two"):
        analysis.growth_rate(v, t, start=60, stop=70)


def test_is_increasing():
    assert list(analysis.is_increasing(np.array([[1, 2, 3], [1, 1, 2], [1, np.nan, 3]]))) == [True, False, False]


@settings(max_examples=30, deadline=None)
@given(Ta=st.integers(1, 6), Tb=st.integers(1, 6), n=st.integers(1, 3), seed=st.integers(0, 1000))
def test_hausdorff_matches_brute_force(Ta, Tb, n, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((Ta, n, n)), rng.standard_normal((Tb, n, n))
    D = np.array([[np.linalg.norm(x - y) for y in b] for x in a])
    expected = max(D.min(axis=1).max(), D.min(axis=0).max())
    assert analysis.hausdorff_distance(a, b) == pytest.approx(expected, abs=1e-7)
    assert analysis.hausdorff_distance(a, b) == pytest.approx(analysis.hausdorff_distance(b, a))


def test_hausdorff_ignores_time_parameterisation():
    s = np.linspace(0, 1, 201)
    path = np.stack([np.diag([x, x ** 2]) for x in s])
    slow = np.stack([np.diag([x, x ** 2]) for x in s ** 3])     # same curve, other clock
    assert analysis.hausdorff_distance(path, slow) < 0.02
    assert analysis.hausdorff_distance(path, path + 0.5 * np.eye(2)) == pytest.approx(0.5 * np.sqrt(2), rel=1e-6)


def test_final_phase_rate():
    t = np.arange(400)
    d = np.where(t < 100, 1.0, 0.9 ** (t - 100))
    assert analysis.final_phase_rate(d, t) == pytest.approx(0.9, rel=1e-9)
    assert np.isnan(analysis.final_phase_rate(np.ones(400), t))          # never reaches lo
    with pytest.raises(ValueError, match=r"lo must be in \(0, hi\)"):
        analysis.final_phase_rate(d, t, hi=1e-8, lo=1e-3)


def test_growth_rate_and_fit_line_share_one_fit():
    """Per-column growth rates are exp(slope of fit_line on log v): exactly 1.1 and 0.9 for geometric series."""
    t = np.arange(0, 20)
    v = np.stack([3.0 * 1.1 ** t, 0.5 * 0.9 ** t], axis=1)
    rates = analysis.growth_rate(v, t, start=0, stop=19)
    np.testing.assert_allclose(rates, [1.1, 0.9], rtol=1e-12)
    for j in range(2):
        fit = analysis.fit_line(t, np.log(v[:, j]))
        assert fit.r2 == pytest.approx(1.0) and np.exp(fit.slope) == pytest.approx(rates[j], rel=1e-12)
