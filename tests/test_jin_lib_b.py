"""Unit tests of the library functions used by book/jin/main_results, proof_sketch and studies."""

from __future__ import annotations

import numpy as np
import pytest

from matsense import analysis, theory
from matsense.experiments import jin as studies
from matsense.setups import jin_setup


# --- analysis: closed forms and hand-checkable cases -------------------------------------------

def test_fraction_increasing_counts_runs():
    T = np.array([[[1, 2, 3], [1, 3, 2]], [[2, 1, 3], [1, 2, np.nan]]])     # (A=2, S=2, r=3)
    assert analysis.fraction_increasing(T) == pytest.approx(0.25)


def test_tail_mass_closed_form():
    lam = np.array([3.0, 2.0, 0.5, 0.1])
    tau = analysis.tail_mass(lam, [3.0, 2.0, 1.0])
    np.testing.assert_allclose(tau, [(2.0 + 0.5 + 0.1) / 3.0, (0.5 + 0.1) / 2.0])
    batched = analysis.tail_mass(np.stack([lam, 2 * lam]), [3.0, 2.0, 1.0])
    assert batched.shape == (2, 2)
    np.testing.assert_allclose(batched[1], 2 * tau)
    with pytest.raises(ValueError):
        analysis.tail_mass(lam[:2], [3.0, 2.0, 1.0])


def test_values_at_reads_each_run_at_its_own_time():
    it = np.array([0, 1, 2, 3])
    series = np.arange(8.0).reshape(4, 2)          # run 0: 0,2,4,6; run 1: 1,3,5,7
    np.testing.assert_allclose(analysis.values_at(series, [2, 0], it), [4.0, 1.0])
    with pytest.raises(ValueError):
        analysis.values_at(series, [2], it)
    with pytest.raises(ValueError):
        analysis.values_at(series, [9, 0], it)


def test_step_factors_and_relative_deviation():
    np.testing.assert_allclose(analysis.step_factors([8.0, 4.0, 1.0]), [2.0, 4.0])
    v = np.array([[8.0, 9.0], [2.0, 3.0]])
    np.testing.assert_allclose(analysis.step_factors(v, axis=0), [[4.0, 3.0]])
    assert analysis.max_deviation([1.1, 2.0], [1.0, 2.5], relative=True) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        analysis.max_deviation([1.0], [0.0], relative=True)


def test_time_ratios_median_over_seeds():
    T = np.array([[10.0, 20.0, 30.0], [10.0, 15.0, 40.0], [20.0, 40.0, 60.0]])
    np.testing.assert_allclose(analysis.time_ratios(T), [1.0, 2.0, 3.0])


# --- theory: closed forms ---------------------------------------------------------------------

def test_time_ratio_limit():
    np.testing.assert_allclose(theory.time_ratio_limit([3.0, 2.0, 1.0]), [1.0, 1.5, 3.0])
    with pytest.raises(ValueError):
        theory.time_ratio_limit([1.0, 2.0])


def test_local_rate_two_modes():
    assert theory.local_rate(0.05, [3.0, 2.0, 1.0]) == pytest.approx(0.95)
    assert theory.local_rate(0.05, [3.0, 2.0, 1.0], cross_block=False) == pytest.approx(0.90)


def test_linear_growth_is_the_linear_map():
    g = theory.linear_growth([1.0, 2.0], 0.1, [1.0, 0.5], [0, 1, 2])
    np.testing.assert_allclose(g, [[1.0, 2.0], [1.1, 2.1], [1.21, 2.205]])


# --- study-level measurements on a tiny study ---------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import os
    os.environ["MATSENSE_SWEEP_CACHE"] = str(tmp_path_factory.mktemp("sweeps"))
    setup = jin_setup(quick=True, n=6, m=400, steps=600, n_seeds=2, alphas=(1e-2, 1e-4, 1e-6))
    study = studies.study(setup)
    under = studies.study(setup, k=setup.k_under)
    yield setup, study, under
    os.environ.pop("MATSENSE_SWEEP_CACHE", None)


def test_study_measurements_are_consistent(tiny):
    setup, study, under = tiny
    med = studies.closest_medians(study)
    assert med.shape == (3, 3)
    np.testing.assert_allclose(studies.approach_step_factors(study), med[:-1, :2] / med[1:, :2])
    rel = studies.final_distance(study, 3, relative=True)
    np.testing.assert_allclose(rel * np.linalg.norm(study.problem.M_star), study.final("dist")[..., 2])
    assert np.all(rel < 1e-2)                                  # over-parameterized GD recovers M*
    lam = studies.escape_eigenvalues(study)
    assert lam[0] == study.direction_eigenvalues[0]
    np.testing.assert_allclose(lam, setup.sigma, rtol=0.3)     # sigma_s + O(delta)
    rate, stop = studies.alignment_rate(study)
    assert 0 < stop < study.learning_times()[-1, :, 0].min()
    assert rate == pytest.approx(1 + setup.eta * study.direction_eigenvalues[0], rel=1e-3)
    tail, at = studies.tail_at_closest(study)
    assert tail.shape[-1] == 2 and at.shape == (3, 2, 2) and np.all(at >= 0)
    level = studies.loss_at_closest(study, 1)
    assert level == pytest.approx(study.solutions[0].loss, rel=0.2)
    fit = studies.dwell_fit(study, 1)
    assert fit.slope > 0
    slopes = studies.median_time_slopes(study)
    np.testing.assert_allclose(slopes, theory.learning_time_slope(setup.eta, setup.sigma), rtol=0.3)


def test_under_distances_sweep(tiny):
    setup, study, under = tiny
    tracked = studies.under_distances(setup)
    d = tracked.grid("dist")
    assert d.shape[1:] == (3, 2, 3)
    # same runs as the cached under study: same distance to Z_k*
    np.testing.assert_allclose(d[-1, ..., 0], under.final("dist")[..., setup.k_under - 1], rtol=1e-6, atol=1e-9)
    assert np.all(d[-1, ..., 0] < 1e-6)
    it, dist, rate = studies.factorization_run(setup)
    assert dist.shape == it.shape and dist[-1] < 1e-6
    assert rate == pytest.approx(theory.local_rate(setup.eta, setup.sigma, cross_block=False), abs=0.02)


def test_figures_are_labelled(tiny):
    import matplotlib.pyplot as plt
    from matsense.plotting import jin as pj
    setup, study, under = tiny
    tracked = studies.under_distances(setup)
    figs = [pj.fig_passing(study), pj.fig_regimes(study, tracked), pj.fig_time_law(study),
            pj.fig_alignment(study), pj.fig_low_rank(study), pj.fig_exp_loss(study), pj.fig_exp_dist(study),
            pj.fig_exp_eig(study), pj.fig_exp_time(study), pj.fig_exp_under(under, tracked)]
    for fig in figs:
        used = [ax for ax in fig.axes if ax.has_data()]
        assert used
        assert any(ax.get_xlabel() for ax in used)
        assert any(ax.get_ylabel() for ax in used)
        assert any(ax.get_legend() is not None for ax in used)
        plt.close(fig)
