"""Tests of matsense.plotting: the shared style and the generic trajectory plot.

A diverged run must never be drawn as NaN: its line stops at the divergence and the legend says so.
"""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from matsense import gd_symmetric, small_random_init, symmetric_gaussian_problem
from matsense.plotting import new_figure, plot_metric


@pytest.fixture(scope="module")
def traj_with_divergence():
    p = symmetric_gaussian_problem(5, [2.0, 1.0], 100, rng=0)
    U0 = small_random_init(5, 2, 1e-2, rng=1, batch=2)
    return gd_symmetric(p, U0, [0.1, 5.0], 200, record=1, on_divergence="ignore")


def test_plot_metric_cuts_diverged_runs(traj_with_divergence):
    tr = traj_with_divergence
    assert tr.diverged.tolist() == [False, True]
    fig = plot_metric(tr, "loss", labels=["eta=0.1", "eta=5"])
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("eta")]
    assert len(lines) == 2
    for ln in lines:
        assert np.all(np.isfinite(ln.get_ydata()))
    assert lines[1].get_xdata().max() < tr.diverged_at[1]
    assert "diverged at t=" in lines[1].get_label()
    assert ax.get_xlabel() == "iteration $t$" and ax.get_yscale() == "log"


def test_plot_metric_refuses_vector_metrics(traj_with_divergence):
    with pytest.raises(ValueError, match="metric 'spectrum' has shape"):
        plot_metric(traj_with_divergence, "spectrum")


def test_new_figure_shapes():
    fig, ax = new_figure()
    assert not isinstance(ax, np.ndarray)
    fig, axes = new_figure(2, 2)
    assert axes.shape == (4,)
