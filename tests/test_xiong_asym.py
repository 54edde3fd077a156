"""Tests of the measurements of book/xiong/asymmetric and book/xiong/one_step (Sections 4 and 5):
the rate predictions (closed forms), the spread and scale rules, and the claims' measurements on a
tiny setup (no disk cache)."""

import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from matsense import theory
from matsense.experiments import xiong as ex
from matsense.setups import with_overrides, xiong_setup


@pytest.fixture(autouse=True)
def no_sweep_cache(monkeypatch):
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")


@pytest.fixture(scope="module")
def tiny():
    return xiong_setup(quick=True, n=8, alphas=(0.5, 0.2), n_seeds=2, steps_mf=6000, n_draws=1)


# -- theory ------------------------------------------------------------------------------------------

def test_asymmetric_linear_rate_closed_form():
    assert theory.asymmetric_linear_rate(0.05, 0.6) == pytest.approx(-2 * math.log(1 - 0.03), rel=1e-14)
    np.testing.assert_allclose(theory.asymmetric_linear_rate(0.1, [0.5, 1.0]),
                               [-2 * math.log(0.95), -2 * math.log(0.9)], rtol=1e-14)
    assert theory.asymmetric_linear_rate(1e-4, 1e-3) == pytest.approx(2e-7, rel=1e-6)  # 2 eta lam
    with pytest.raises(ValueError):
        theory.asymmetric_linear_rate(0.5, 2.0)


def test_one_step_gram_eigenvalue_tent():
    assert theory.one_step_gram_eigenvalue(0.6, 1.0) == pytest.approx(0.36)
    assert theory.one_step_gram_eigenvalue(0.6, 0.25) == pytest.approx(0.25)
    assert theory.one_step_gram_eigenvalue(0.6, 0.6) == pytest.approx(0.6)  # the peak, sigma_r
    grid = np.geomspace(0.1, 3, 101)
    values = [theory.one_step_gram_eigenvalue(0.6, g) for g in grid]
    assert max(values) <= 0.6 + 1e-12


def test_redundant_pair_rate_matches_prediction():
    """The scalar redundant pair j <- j - eta k^2 j, k <- k - eta j^2 k: (j k)^2 decays at -2 ln(1 - eta j^2)."""
    eta, j, k = 0.05, 0.5, 0.5 / 3
    errs = []
    for _ in range(4000):
        j, k = j - eta * k * k * j, k - eta * j * j * k
        errs.append((j * k) ** 2)
    rate = -(math.log(errs[-1]) - math.log(errs[-1001])) / 1000
    assert rate == pytest.approx(theory.asymmetric_linear_rate(eta, j * j), rel=1e-6)


# -- rules -------------------------------------------------------------------------------------------

def test_spread_and_small_alphas():
    assert ex._spread([1.0, 1.1, 1.05]) == pytest.approx(0.1)
    assert math.isnan(ex._spread([1.0, float("nan")]))
    assert math.isnan(ex._spread([1.0, -1.0]))
    s = xiong_setup(quick=True)
    np.testing.assert_array_equal(ex.small_init_alphas(s), [False, True, True])  # alpha^2 <= 0.06
    assert ex.k_exact(s) == s.r and ex.k_exact(with_overrides(s, {"k_exact": 4})) == 4
    with pytest.raises(ValueError):
        xiong_setup(k_exact=0)
    with pytest.raises(TypeError):
        xiong_setup(one_step="yes")


def test_positive_rate_on_exact_exponential():
    it = np.arange(0, 2000, 10.0)
    v = 3.0 * np.exp(-0.02 * it)
    assert ex._positive_rate(it, v, hi=1e-2, lo=1e-8) == pytest.approx(0.02, rel=1e-10)


# -- measurements on a tiny setup --------------------------------------------------------------------

def test_exact_rates_alpha_free_and_over_rates_scale(tiny):
    med_sym = np.median(ex.exact_rates(tiny, symmetric=True), axis=1)
    med_asym = np.median(ex.exact_rates(tiny, symmetric=False), axis=1)
    assert np.all(np.isfinite(med_sym)) and np.all(np.isfinite(med_asym))
    assert ex.exact_rate_spread(tiny, symmetric=True)[0] < 0.05
    # over-parameterized: rate / (eta alpha^2) of order one, the rate itself far from alpha-free
    const = ex.over_rate_constant(tiny)
    assert np.all((0.3 < const) & (const < 5))
    rates = np.median(ex.over_rates(tiny), axis=1)
    assert rates[0] / rates[1] > 3  # (0.5 / 0.2)^2 = 6.25


def test_reach_fraction_and_control(tiny):
    assert ex.reach_fraction(tiny) == (1.0, 1.0)
    assert ex.reach_fraction(with_overrides(tiny, {"k_over": tiny.r}))[0] == 0.0


def test_switch_product_and_lambda(tiny):
    measured, predicted = ex.switch_product_change(tiny)
    assert predicted == 0.0 and measured < 1e-12
    assert ex.switch_product_change(with_overrides(tiny, {"one_step": False}))[0] > 1e-6
    T, F, G = ex.switch_states(tiny)
    F1, _ = ex.rebalance(F, G)
    np.testing.assert_allclose(np.linalg.svd(F1, compute_uv=False) ** 2,
                               np.repeat(ex.switch_c2(tiny)[:, None], tiny.k_over, axis=1), rtol=1e-10)
    assert ex.lambda_raised(tiny)[0] > 0.95
    assert ex.lambda_raised(with_overrides(tiny, {"one_step": False}))[0] < 0.5


def test_post_switch_rates_alpha_free(tiny):
    assert ex.post_switch_spread(tiny)[0] < 0.1
    measured, predicted = ex.post_switch_vs_theory(tiny)
    assert measured == pytest.approx(predicted, rel=0.1)
    assert ex.post_switch_spread(with_overrides(tiny, {"one_step": False}))[0] > 1.0


def test_sensitivity_shapes(tiny):
    small = with_overrides(tiny, {"alphas": (0.3,), "n_seeds": 1})
    cs = ex.c_sensitivity(small)
    assert cs["rates"].shape == (4, 1, 1) and cs["predicted"].shape == (4,)
    np.testing.assert_allclose(cs["rates"][:, 0, 0], cs["predicted"], rtol=0.2)
    th = ex.threshold_sensitivity(small, thresholds=(1e-2, 1e-3))
    assert th["switch"].shape == (2, 1, 1) and th["switch"][0, 0, 0] < th["switch"][1, 0, 0]
    assert np.all(np.isfinite(th["reach"]))
    full = xiong_setup()
    assert ex.sensing_setup(full).n == full.n == 50 and ex.sensing_setup(full).m == full.m
    assert ex.sensing_setup(full).operator == "sensing"


def test_figures(tiny):
    from matsense.plotting import xiong as px
    for fig in (px.fig_asym_alpha(tiny), px.fig_asym_rates(tiny), px.fig_asym_vs_sym(tiny),
                px.fig_one_step(tiny)):
        assert isinstance(fig, Figure) and fig.axes[0].get_ylabel()


def test_the_redundant_pair_decays_at_the_predicted_rate():
    from matsense import theory
    eta = 0.05
    for alpha in (0.5, 0.2):
        err = theory.redundant_pair(alpha, eta, 20000)
        late = -np.diff(np.log(err[-2000:])).mean()
        assert late == pytest.approx(theory.redundant_pair_rate(alpha, eta), rel=0.02)
    # halving alpha makes the rate four times slower
    assert theory.redundant_pair_rate(0.1, eta) / theory.redundant_pair_rate(0.2, eta) == pytest.approx(0.25, rel=0.01)
    with pytest.raises(ValueError):
        theory.redundant_pair(-1.0, eta, 10)
