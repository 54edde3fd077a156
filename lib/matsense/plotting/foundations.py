"""Figures of the foundations chapter."""

from __future__ import annotations

from typing import Sequence

from matplotlib.figure import Figure

from ..dynamics import Trajectory
from .style import new_figure
from .trajectories import plot_metric

__all__ = ["gd_example_figure"]


def gd_example_figure(trajectory: Trajectory, alphas: Sequence[float]) -> Figure:
    r"""Training loss (left) and relative error (right) against the iteration, one line per :math:`\alpha`.

    ``trajectory`` is a batch of runs recorded with ``loss`` and ``relative_error``, one run per
    entry of ``alphas``.
    """
    if len(alphas) != trajectory["loss"].shape[1]:
        raise ValueError(f"alphas has {len(alphas)} entries but the trajectory holds "
                         f"{trajectory['loss'].shape[1]} runs")
    fig, axes = new_figure(1, 2, width=9.0, height=3.4)
    labels = [rf"$\alpha$ = {a:g}" for a in alphas]
    plot_metric(trajectory, "loss", labels=labels, ylabel=r"training loss $L(U_t)$", ax=axes[0])
    plot_metric(trajectory, "relative_error", labels=labels,
                ylabel=r"relative error $\|U_tU_t^\top - M^\star\|_F / \|M^\star\|_F$", ax=axes[1])
    return fig
