"""Tests of matsense.theory: the predicted time scales and plateaus, against closed forms and GD."""

import numpy as np
import pytest

import matsense as ms
from matsense import analysis, theory


def test_closed_forms():
    sigma = [3.0, 2.0, 1.0]
    np.testing.assert_allclose(theory.growth_factor(0.05, sigma), [1.15, 1.10, 1.05])
    np.testing.assert_allclose(theory.learning_time_slope(0.05, sigma), 1 / np.log([1.15, 1.10, 1.05]))
    np.testing.assert_allclose(theory.plateau_levels(sigma), [3.5, 1.25, 0.25, 0.0])
    assert theory.dwell_time_slope(0.05, sigma, 1) == pytest.approx(1 / np.log(1.10) - 1 / np.log(1.15))
    T = theory.predicted_learning_time([1e-2, 1e-4], 0.05, sigma)
    assert T.shape == (2, 3)
    np.testing.assert_allclose(T[1] / T[0], 2.0)


@pytest.mark.parametrize("call, match", [
    (lambda: theory.check_step_size(0.5, 3.0), r"eta must be in \(0, 0\.3333\)"),
    (lambda: theory.check_step_size(-0.1, 3.0), "eta must be in"),
    (lambda: theory.learning_time_slope(0.05, [1.0, 2.0]), "sigma must be decreasing"),
    (lambda: theory.predicted_learning_time([2.0], 0.05, [1.0]), r"alpha must be in \(0, 1\)"),
    (lambda: theory.dwell_time_slope(0.05, [3.0, 2.0], 2), r"s must be in \[1, 1\]"),
    (lambda: theory.plateau_levels([1.0, -1.0]), "sigma must be in"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_check_step_size_accepts_small_steps():
    assert theory.check_step_size(0.05, 3.0) == 0.05


def test_learning_time_slope_matches_gd_on_factorization():
    """In matrix factorization the component along v_s grows exactly like (1 + eta sigma_s)^t early on,
    so the fitted slope of T_s against log(1/alpha) must approach 1/log(1 + eta sigma_s)."""
    sigma = np.array([3.0, 1.5])
    problem = ms.factorization_problem(np.diag(np.r_[sigma, 0.0, 0.0]))
    alphas = np.array([1e-3, 1e-6, 1e-9, 1e-12])
    U0 = alphas[:, None, None] * ms.small_random_init(4, 4, 1.0, rng=0)
    traj = ms.gd_symmetric(problem, U0, 0.05, 800, record="all", metrics=("spectrum",))
    T = analysis.learning_times(traj["spectrum"], sigma, traj.iterations)
    for s in range(2):
        slope = analysis.fit_line(np.log(1 / alphas), T[:, s]).slope
        assert slope == pytest.approx(theory.learning_time_slope(0.05, sigma)[s], rel=0.03)
