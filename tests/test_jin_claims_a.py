"""Unit tests of the measurements behind the claims of book/jin/intro and book/jin/main_results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matsense.experiments import jin as ex
from matsense.setups import jin_setup, with_overrides
from matsense.theory import learning_time_slope


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")


def tiny(**overrides):
    """A small, fast setup: n = 6, one problem, two directions."""
    base = dict(n=6, m=300, steps=600, alphas=(1e-3, 1e-6), n_seeds=2, k_grid=(1, 2, 3, 6), m_bias=18,
                steps_bias=1500, n_draws=1)
    base.update(overrides)
    return jin_setup(quick=True, **base)


def test_setup_has_k_grid_with_r_and_m_bias_in_the_implicit_bias_range():
    for quick in (True, False):
        s = jin_setup(quick=quick)
        assert s.r in s.k_grid and s.n in s.k_grid and min(s.k_grid) == 1
        assert s.n * s.r - s.r * (s.r - 1) // 2 < s.m_bias < s.n * (s.n + 1) // 2
        assert s.m >= s.n * (s.n + 1) // 2


def test_closest_ratio_is_the_closest_approach_over_the_separation():
    s = tiny()
    st = ex.study(s)
    for rank in (1, 2):
        ratio, predicted = ex.closest_ratio(s, rank)
        d = np.median(st.closest_approach()[0][-1, :, rank - 1])
        sep = np.linalg.norm(st.solutions[rank].Z - st.solutions[rank - 1].Z)
        assert predicted == 0.0
        assert ratio == pytest.approx(d / sep)
    with pytest.raises(ValueError):
        ex.closest_ratio(s, 3)          # Z_4* does not exist for r = 3


def test_closest_ratio_is_small_at_small_alpha_and_large_without_gap():
    assert ex.closest_ratio(tiny(), 1)[0] < 0.1
    assert ex.closest_ratio(with_overrides(tiny(), {"sigma": [2.0, 2.0, 1.0]}), 1)[0] > 0.1


def test_time_slope_vs_escape_predicts_from_the_escape_eigenvalue():
    s = tiny(alphas=(1e-2, 1e-4, 1e-6))
    st = ex.study(s)
    lam = ex.escape_eigenvalues(st)
    for rank in (1, 2):
        measured, predicted = ex.time_slope_vs_escape(s, rank)
        assert predicted == pytest.approx(1.0 / math.log(1.0 + s.eta * lam[rank - 1]))
        assert predicted == pytest.approx(learning_time_slope(s.eta, [lam[rank - 1]])[0])
        assert measured == pytest.approx(float(ex.median_time_slopes(st)[rank - 1]))
        assert measured == pytest.approx(predicted, rel=0.1)


def test_ksweep_worst_picks_the_regime_rows():
    ks = ex.KSweep(k_grid=np.array([1, 2, 3, 6]), r=3,
                   to_truth=np.array([[0.5, 0.4], [0.2, 0.3], [1e-6, 2e-6], [3e-6, 1e-7]]),
                   to_best=np.array([[1e-9, 2e-9], [4e-9, 1e-10], [1e-6, 2e-6], [3e-6, 1e-7]]),
                   loss=np.zeros((4, 2)), levels=np.array([1.0, 0.25, 0.0]))
    assert ks.worst("over") == 3e-6
    assert ks.worst("under") == 4e-9
    only_under = ex.KSweep(np.array([1, 2]), 3, ks.to_truth[:2], ks.to_best[:2], ks.loss[:2], ks.levels)
    assert math.isnan(only_under.worst("over"))
    with pytest.raises(ValueError):
        ks.worst("both")


def test_k_sweep_ends_at_the_predicted_points_on_a_small_problem():
    s = tiny(steps=1500)
    ks = ex.k_sweep(s)
    assert ks.to_truth.shape == ks.to_best.shape == (4, 2)
    # k >= r: Z_r* = M*, so both distances agree
    np.testing.assert_allclose(ks.to_truth[2:], ks.to_best[2:], rtol=1e-6, atol=1e-12)
    assert ex.k_end_error(s, "over") == (ks.worst("over"), 0.0)
    assert ks.worst("over") < 1e-3 and ks.worst("under") < 1e-3
    # k < r cannot fit M*: its distance to M* is at least sigma_3 / ||M*||_F up to O(delta)
    assert ks.to_truth[:2].min() > 0.5 / np.linalg.norm(s.sigma)


def test_implicit_bias_small_alpha_recovers_and_alpha_one_does_not():
    s = tiny(n=8, m=400, k_grid=(1, 2, 3, 8), m_bias=30, steps_bias=3000)   # 21 < 30 < 36
    b = ex.implicit_bias(s)
    assert b.alphas.tolist() == [s.alphas[-1], 1.0]
    assert b.error.shape == b.loss.shape == b.nuclear.shape == (2, s.n_seeds)
    assert b.error_path.shape == (b.iterations.size, 2, s.n_seeds)
    np.testing.assert_allclose(b.error, b.error_path[-1])
    small, zero = ex.bias_small_error(s)
    large, bound = ex.bias_large_error(s)
    assert zero == 0.0 and bound == 1e-2
    assert small == pytest.approx(np.median(b.error[0])) and large == pytest.approx(np.median(b.error[1]))
    assert small < 1e-3 < bound < large
    assert np.median(b.nuclear[0]) == pytest.approx(1.0, abs=1e-3)


def test_implicit_bias_nuclear_norm_of_m_star_is_one():
    # at alpha -> 0 the end point is M*, whose nuclear norm ratio is exactly 1; above n(n+1)/2
    # measurements alpha = 1 ends at M* too (the control of jin.bias.other)
    s = tiny(m_bias=60, steps_bias=3000)
    b = ex.implicit_bias(s)
    assert np.median(b.error[1]) < 1e-2
