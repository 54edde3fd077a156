"""Figures of the foundations chapter."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from .._validation import check_positive_float
from ..dynamics import Trajectory
from .style import new_figure
from .trajectories import plot_metric

__all__ = ["gd_example_figure", "gd_example_horizon"]


def gd_example_horizon(trajectory: Trajectory, *, factor: float = 10.0, margin: float = 1.3) -> int:
    r"""Last iteration shown by :func:`gd_example_figure`: ``margin`` times the time the slowest run settles.

    A run *settles* at the first recorded iteration where its loss is within ``factor`` of its final
    value, :math:`L(U_t) \le \text{factor}\cdot L(U_T)`; the horizon is
    :math:`\min\bigl(T, \lceil\text{margin}\cdot\max_b t_b\rceil\bigr)` over the runs :math:`b`, so the
    figure shows every drop of the loss and not the long flat tail after the last one.
    """
    factor = check_positive_float("factor", factor)
    margin = check_positive_float("margin", margin)
    if factor < 1 or margin < 1:
        raise ValueError(f"factor={factor} and margin={margin} must both be >= 1")
    loss = np.asarray(trajectory["loss"], dtype=np.float64)          # (T, B)
    it = np.asarray(trajectory.iterations)
    settled = loss <= factor * loss[-1][None, :]
    first = np.argmax(settled, axis=0)                               # settled at the end at the latest
    return int(min(it[-1], np.ceil(margin * it[first].max())))


def gd_example_figure(trajectory: Trajectory, alphas: Sequence[float], *, t_max: int | None = None) -> Figure:
    r"""Training loss (left) and relative error (right) against the iteration, one line per :math:`\alpha`.

    ``trajectory`` is a batch of runs recorded with ``loss`` and ``relative_error``, one run per
    entry of ``alphas``. The iteration axis ends at ``t_max`` (default
    :func:`gd_example_horizon`).
    """
    if len(alphas) != trajectory["loss"].shape[1]:
        raise ValueError(f"alphas has {len(alphas)} entries but the trajectory holds "
                         f"{trajectory['loss'].shape[1]} runs")
    t_max = gd_example_horizon(trajectory) if t_max is None else int(t_max)
    fig, axes = new_figure(1, 2)
    labels = [rf"$\alpha = 10^{{{np.log10(a):.0f}}}$" if np.isclose(np.log10(a), round(np.log10(a)))
              else rf"$\alpha = {a:g}$" for a in alphas]
    plot_metric(trajectory, "loss", labels=labels, ylabel=r"training loss $L(U_t)$", ax=axes[0])
    plot_metric(trajectory, "relative_error", labels=labels,
                ylabel=r"$\|U_tU_t^\top - M^\star\|_F / \|M^\star\|_F$", ax=axes[1])
    axes[0].set_title("training loss")
    axes[1].set_title("relative error")
    axes[1].get_legend().remove()
    for ax in axes:
        ax.set_xlim(0, t_max)
    return fig
