"""Tests of the library functions behind book/jin/intro, related_work, preliminaries and conclusion.

Closed forms and small hand-checkable cases; the sweeps run on a tiny setup without the disk cache.
"""

import numpy as np
import pytest
from matplotlib.figure import Figure

import matsense as ms
from matsense import analysis, theory
from matsense.experiments import jin as studies
from matsense.plotting import jin as pj
from matsense.setups import jin_setup


@pytest.fixture(autouse=True)
def no_sweep_cache(monkeypatch):
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")


@pytest.fixture(scope="module")
def tiny():
    return jin_setup(quick=True, n=6, m=400, steps=500, alphas=(1e-2, 1e-4, 1e-6), n_seeds=2,
                     m_grid=(200, 400, 800), rip_samples=30)


@pytest.fixture(scope="module")
def study(tiny):
    return studies.study.uncached(tiny)


# -- analysis -------------------------------------------------------------------------------------

def test_distinct_counts_by_hand():
    T = np.array([[[10.0, 20.0, 30.0], [10.0, 10.0, 30.0]], [[5.0, np.nan, 7.0], [1.0, 2.0, 3.0]]])
    np.testing.assert_array_equal(analysis.distinct_counts(T), [[3, 2], [2, 3]])


def test_zoom_horizon_caps_at_steps_and_ignores_nan():
    assert analysis.zoom_horizon(np.array([100.0, np.nan, 200.0]), steps=1000) == 300
    assert analysis.zoom_horizon(np.array([100.0, 900.0]), steps=1000) == 1000
    assert analysis.zoom_horizon(np.array([10.0]), np.array([40.0]), steps=1000, factor=2.0) == 80
    assert analysis.zoom_horizon(np.array([np.nan]), steps=123) == 123


def test_fraction_decreasing_by_hand():
    assert analysis.fraction_decreasing([4.0, 3.0, 3.0, 1.0, 2.0]) == pytest.approx(0.5)
    assert analysis.fraction_decreasing([3.0, 2.0, 1.0]) == 1.0
    with pytest.raises(ValueError):
        analysis.fraction_decreasing([1.0])


def test_max_deviation_absolute_and_relative():
    assert analysis.max_deviation([1.0, 2.5], [1.0, 2.0]) == pytest.approx(0.5)
    assert analysis.max_deviation([1.5, 2.5], [1.0, 2.0], relative=True) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        analysis.max_deviation([1.0], [1.0, 2.0])


def test_empirical_rip_constant_and_power_law_fit():
    np.testing.assert_allclose(analysis.empirical_rip_constant([[0.8, 1.1], [0.95, 1.02]]), [0.2, 0.05])
    x = np.array([1.0, 4.0, 16.0])
    fit = analysis.power_law_fit(x, 3.0 * x ** -0.5)
    assert fit.slope == pytest.approx(-0.5)
    assert np.exp(fit.intercept) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        analysis.power_law_fit([1.0, 2.0], [1.0, -1.0])


# -- theory ---------------------------------------------------------------------------------------

def test_step_size_product_and_level_tolerance():
    assert theory.step_size_product(0.05, 3.0) == pytest.approx(0.15)
    # 10 % of 1/4 (9 + 4 + 1)
    assert theory.plateau_level_tolerance([3.0, 2.0, 1.0]) == pytest.approx(0.35)
    assert theory.plateau_level_tolerance([2.0], fraction=0.5) == pytest.approx(0.5)


def test_growth_exponent_ratio_closed_form():
    rho = theory.growth_exponent_ratio(0.05, [3.0, 2.0, 1.0])
    assert rho == pytest.approx(np.log(1.1) / np.log(1.15))
    assert theory.growth_exponent_ratio(0.05, [3.0, 2.0, 1.0], s=2) == pytest.approx(np.log(1.05) / np.log(1.1))
    # a smaller gap gives a ratio closer to 1
    assert theory.growth_exponent_ratio(0.05, [3.0, 2.5, 1.0]) > rho
    with pytest.raises(ValueError):
        theory.growth_exponent_ratio(0.05, [3.0, 2.0], s=2)


def test_rip_ratio_std_matches_chi_square_and_exponent():
    m = np.array([100.0, 400.0])
    np.testing.assert_allclose(theory.rip_ratio_std(m), [np.sqrt(0.02), np.sqrt(0.005)])
    samples = np.random.default_rng(0).chisquare(200, size=20000) / 200
    assert np.std(samples) == pytest.approx(theory.rip_ratio_std(200.0), rel=0.05)
    assert analysis.power_law_fit(m, theory.rip_ratio_std(m)).slope == pytest.approx(theory.rip_decay_exponent())


# -- experiments ----------------------------------------------------------------------------------

def test_paper_loss_equals_book_loss_on_a_small_problem():
    problem = ms.symmetric_gaussian_problem(4, [2.0, 1.0], 50, rng=3)
    U = np.random.default_rng(1).standard_normal((4, 2))
    loss, grad = studies.paper_loss_and_gradient(problem, U)
    assert loss == pytest.approx(ms.solutions.objective(problem, U @ U.T), rel=1e-10)
    np.testing.assert_allclose(grad, ms.solutions.gradient(problem, U), rtol=1e-9, atol=1e-12)
    check = studies.loss_translation_check(jin_setup(quick=True, n=4, m=60))
    assert check["loss_rel"] < 1e-10 and check["grad_rel"] < 1e-10 and check["symmetric"] == 1.0


def test_study_measurements(study, tiny):
    T = study.learning_times()
    np.testing.assert_allclose(studies.median_learning_times(study), np.median(T[-1], axis=0))
    np.testing.assert_allclose(studies.separation_times(study), T[:, :, 1] - T[:, :, 0])
    assert studies.closest_approach_ratio(study, study) == pytest.approx(1.0)
    shift_abs, shift_rel = studies.plateau_level_shift(study)
    levels = [sol.loss for sol in study.solutions[:2]]
    pred = theory.plateau_levels(tiny.sigma)[1:3]
    assert shift_abs == pytest.approx(np.max(np.abs(np.subtract(levels, pred))))
    assert shift_rel == pytest.approx(np.max(np.abs(np.subtract(levels, pred)) / pred))
    summary = studies.eigengap_summary(study)
    assert summary["rho"] == pytest.approx(np.log(1.1) / np.log(1.15))
    assert summary["sep_pred"] == pytest.approx(theory.dwell_time_slope(tiny.eta, tiny.sigma, 1))
    assert summary["d1"] == pytest.approx(studies.closest_medians(study)[-1, 0])
    assert len(summary["T"].split(", ")) == 3


def test_factorization_comparison_levels_are_exact(tiny, study):
    fact = studies.factorization_comparison.uncached(tiny)
    assert fact.level_gap() < 1e-10
    assert all(s == 0 for s in fact.solver_steps)          # the eigen-truncation is already optimal
    T = fact.learning_times()
    assert T.shape == (3, 2, 3) and np.all(np.isfinite(T))
    assert np.all(np.diff(T, axis=-1) > 0)                   # learned in order
    assert isinstance(pj.fig_factorization_vs_sensing(fact, study), Figure)


def test_glrl_comparison_on_a_tiny_problem(tiny):
    comp = studies.glrl_comparison.uncached(tiny)
    assert comp.d_H.shape == (3,) and np.all(comp.d_H > 0)
    assert comp.shrink() == pytest.approx(comp.d_H[0] / comp.d_H[-1])
    assert comp.monotone_fraction() == analysis.fraction_decreasing(comp.d_H)
    assert comp.glrl_loss.size == sum(comp.phase_steps) + 1
    np.testing.assert_array_equal(comp.phase_starts(), np.cumsum(comp.phase_steps)[:-1])
    assert comp.d_H[-1] < comp.d_H[0]                        # GD approaches GLRL as alpha shrinks
    assert isinstance(pj.fig_glrl(comp), Figure)


def test_rip_study_same_truth_nested_and_critical(tiny):
    rip = studies.rip_study.uncached(tiny)
    assert rip.same_truth == 0.0 and rip.nested < 1e-12
    assert rip.ratios.shape == (3, 30) and rip.trunc_dist.shape == (3, 3)
    assert rip.grad_max < 1e-10
    assert np.all(rip.trunc_dist[:, -1] < 1e-6)               # Z_r* = M* (noiseless)
    np.testing.assert_allclose(rip.delta_hat(), np.max(np.abs(rip.ratios - 1), axis=1))
    assert rip.rip_fit().slope < 0
    assert rip.chapter_levels.shape == (2,)
    np.testing.assert_allclose(rip.chapter_levels, rip.levels[1, :2])   # tiny.m = 400 = m_grid[1]
    assert isinstance(pj.fig_rip(rip), Figure)
    assert isinstance(pj.fig_best_rank(rip, tiny.sigma), Figure)


def test_intro_and_gap_figures_are_labelled(study):
    fig = pj.fig_intro_staircase(study)
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    fig = pj.fig_open_gap(study, study)
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
