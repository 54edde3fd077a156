"""Unit tests of the measurements behind the proof-sketch, experiments and conclusion claims of the Jin chapter."""

import numpy as np
import pytest

from matsense import theory
from matsense.experiments import jin as ex
from matsense.setups import jin_setup, with_overrides


def test_phase_time_slopes_reduce_to_factorization():
    eta, sig = 0.05, np.array([3.0, 2.0, 1.0])
    E = [[3.0, 2.0, 1.0], [2.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    np.testing.assert_allclose(theory.phase_time_slopes(eta, E), 1 / np.log1p(eta * sig))


def test_phase_time_slopes_two_phases_by_hand():
    eta = 0.1
    g = np.log1p(eta * np.array([2.0, 1.0, 1.5]))      # g_1^(0), g_2^(0), g_2^(1)
    S = theory.phase_time_slopes(eta, [[2.0, 1.0], [1.5, 0.0]])
    assert S[0] == pytest.approx(1 / g[0])
    assert S[1] == pytest.approx(1 / g[0] + (1 - g[1] / g[0]) / g[2])


def test_factorization_approach_exponent():
    eta, sig = 0.05, (3.0, 2.0, 1.0)
    g1, g2 = np.log1p(eta * 3), np.log1p(eta * 2)
    b = -np.log1p(-eta * 1.0)
    # here the cross term is the slowest decaying one: p = (1 - rho)(1 + b/(b + 2 g2))
    expected = (1 - g2 / g1) * (1 + b / (b + 2 * g2))
    assert theory.factorization_approach_exponent(eta, sig) == pytest.approx(expected)
    assert theory.factorization_approach_exponent(eta, (2.0, 2.0, 1.0)) == pytest.approx(0.0)


def test_operator_field_validated():
    with pytest.raises(ValueError):
        jin_setup(quick=True, operator="other")


@pytest.fixture(scope="module")
def small():
    return jin_setup(quick=True, n=6, m=400, steps=400, n_seeds=2, alphas=(1e-3, 1e-6), n_draws=1)


def test_factorization_study_has_eigen_truncations(small):
    st = ex.study(with_overrides(small, {"operator": "factorization"}))
    E = ex.residual_eigenvalues(st)
    np.testing.assert_allclose(E[0], small.sigma, atol=1e-10)
    np.testing.assert_allclose(E[1, :2], small.sigma[1:], atol=1e-8)


def test_measurements_on_small_setup(small):
    m, p = ex.measure_alignment(small)
    assert m == pytest.approx(p, rel=1e-6)
    m, p = ex.measure_tail(small)
    assert p == ex.LOWRANK_BOUND and 0 <= m
    m, p = ex.measure_plateau(small, 2)
    assert m == pytest.approx(p, rel=0.05)
    m, p = ex.measure_dwell(small, 1)
    assert np.isfinite(m) and p > 0
