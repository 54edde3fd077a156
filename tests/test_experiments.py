"""Tests of matsense.experiments: alpha x seed sweeps and the incremental-learning study."""

import numpy as np
import pytest

import matsense as ms
from matsense import theory
from matsense.experiments import alpha_seed_sweep, run_incremental_learning


@pytest.fixture(scope="module")
def study():
    return run_incremental_learning(6, [3.0, 1.5], 600, 6, [1e-3, 1e-6, 1e-9], [0, 1], eta=0.05,
                                    steps=700, problem_seed=0)


def test_sweep_shares_the_direction_across_scales():
    problem = ms.symmetric_gaussian_problem(5, [2.0], 100, rng=0)
    sw = alpha_seed_sweep(problem, 3, [1e-2, 1e-4], [7, 9], eta=0.1, steps=0, metrics=("loss",))
    U = sw.trajectory.factors[0].reshape(2, 2, 5, 3)
    np.testing.assert_allclose(U[1] / 1e-4, U[0] / 1e-2)            # same Ubar for both alphas
    assert not np.allclose(U[0, 0], U[0, 1])                          # different seeds differ
    np.testing.assert_allclose(U[0, 0] / 1e-2, ms.small_random_init(5, 3, 1.0, rng=7)[0])
    assert sw.grid("loss").shape == (1, 2, 2)


def test_sweep_rejects_unstable_step_and_bad_seeds():
    problem = ms.symmetric_gaussian_problem(5, [2.0], 100, rng=0)
    with pytest.raises(ValueError, match="eta must be in"):
        alpha_seed_sweep(problem, 3, [1e-2], [0], eta=0.6, steps=10)
    with pytest.raises(ValueError, match="seeds must hold at least one seed"):
        alpha_seed_sweep(problem, 3, [1e-2], [], eta=0.1, steps=10)
    with pytest.raises(ValueError, match=r"k must be in \[1, 5\]"):
        alpha_seed_sweep(problem, 6, [1e-2], [0], eta=0.1, steps=10)


def test_study_measures_incremental_learning(study):
    T = study.learning_times()
    assert T.shape == (3, 2, 2) and np.all(np.isfinite(T))
    assert np.all(T[..., 0] < T[..., 1])                               # learned in order
    slopes = np.median(study.time_slopes(), axis=0)
    np.testing.assert_allclose(slopes, theory.learning_time_slope(0.05, [3.0, 1.5]), rtol=0.15)
    dist, when = study.closest_approach()
    assert dist.shape == (3, 2, 2)
    assert np.all(np.diff(np.median(dist[:, :, 0], axis=1)) < 0)       # closer for smaller alpha
    assert study.approach_factor(1) > 1.5
    assert study.dwell_times().shape == (3, 2, 1)
    assert np.all(study.final("dist")[..., -1] < 1e-3 * np.linalg.norm(study.problem.M_star))
    comp = study.sweep.grid("components")
    assert comp.shape == (701, 3, 2, 2)
    # near the origin the component along the top eigenvector of A*(y) grows by 1 + eta lambda_1
    ratio = comp[11, -1, :, 0] / comp[10, -1, :, 0]
    np.testing.assert_allclose(ratio, 1 + 0.05 * study.direction_eigenvalues[0], rtol=1e-6)
