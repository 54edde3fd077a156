"""Tests of matsense.metrics: closed-form cases of each metric and the recording schedules."""

import numpy as np
import pytest

from matsense.metrics import (distance, effective_rank, eigenvalues, every, imbalance, log_schedule,
                              loss, make_schedule, relative_error, resolve_recorders,
                              singular_values)


def test_loss_constants():
    r = np.array([[1.0, 2.0], [0.0, 3.0]])
    np.testing.assert_allclose(loss(r, symmetric=True), [5 / 4, 9 / 4])
    np.testing.assert_allclose(loss(r, symmetric=False), [5 / 2, 9 / 2])


def test_errors_and_spectra():
    M = np.diag([3.0, 1.0, 0.0])
    X = np.stack([M, 2 * M])
    np.testing.assert_allclose(relative_error(X, M), [0, 1])
    np.testing.assert_allclose(distance(X, M), [0, np.sqrt(10)])
    np.testing.assert_allclose(singular_values(X, 2), [[3, 1], [6, 2]])
    np.testing.assert_allclose(eigenvalues(-X)[:, 0], [0, 0], atol=1e-15)


@pytest.mark.parametrize("r", [1, 2, 5])
def test_effective_rank_of_equal_spectrum_is_the_rank(r):
    X = np.diag([1.0] * r + [0.0] * (6 - r))[None]
    np.testing.assert_allclose(effective_rank(X), [r], rtol=1e-12)


def test_imbalance_of_balanced_factors_is_zero():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((1, 5, 3))
    Q = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    np.testing.assert_allclose(imbalance(F, Q @ F), 0, atol=1e-12)


def test_schedules():
    t = log_schedule(1000, 50)
    assert t[0] == 0 and t[-1] == 1000 and np.all(np.diff(t) > 0) and 30 <= t.size <= 50
    np.testing.assert_array_equal(every(10, 4), [0, 4, 8, 10])
    np.testing.assert_array_equal(make_schedule([5, 0, 5], 10), [0, 5])
    np.testing.assert_array_equal(make_schedule("all", 3), [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"record iterations must be in \[0, 10\]"):
        make_schedule([11], 10)
    with pytest.raises(ValueError, match="record must be 'log'"):
        make_schedule("weekly", 10)
    with pytest.raises(ValueError, match=r"every must be in \[1, inf\), got 0"):
        every(10, 0)


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="unknown metric 'los'"):
        resolve_recorders(["los"])


def test_distance_and_component_recorders():
    from matsense.metrics import State, components_along, distances_to
    rng = np.random.default_rng(0)
    U = rng.standard_normal((2, 4, 3))
    X = U @ np.swapaxes(U, 1, 2)
    state = State(0, X, np.zeros((2, 1)), (U,), np.eye(4), True)
    Z = [np.zeros((4, 4)), np.eye(4)]
    d = distances_to(Z)(state)
    np.testing.assert_allclose(d[:, 0], np.linalg.norm(X, axis=(1, 2)))
    np.testing.assert_allclose(d[:, 1], np.linalg.norm(X - np.eye(4), axis=(1, 2)))
    V = np.eye(4)[:, :2]
    c = components_along(V)(state)
    np.testing.assert_allclose(c, np.linalg.norm(U[:, :2, :], axis=2))
    with pytest.raises(ValueError, match="one direction per column"):
        components_along(np.ones(4))
