"""Generic trajectory plots: a metric against the iteration, one curve per run.

Diverged runs are never drawn as NaN: their curve stops at the divergence, is marked with a cross,
and the legend says so.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..dynamics import Trajectory
from .style import new_figure, run_colors

__all__ = ["plot_metric", "draw_runs", "draw_band"]


def draw_runs(ax, trajectory: Trajectory, values: np.ndarray, *, labels: Sequence[str] | None = None,
              colors: Sequence | None = None, logy: bool = True, **line_kw) -> None:
    """Draw ``values`` (``(T, B)``) of ``trajectory`` on ``ax``, one line per run, diverged runs cut."""
    t, valid = trajectory.iterations, trajectory.valid()
    B = values.shape[1]
    colors = run_colors(B) if colors is None else colors
    for b in range(B):
        keep = valid[:, b] & np.isfinite(values[:, b])
        if logy:
            keep &= values[:, b] > 0
        label = labels[b] if labels is not None else None
        if trajectory.diverged[b]:
            label = f"{label} (diverged at t={trajectory.diverged_at[b]})" if label else \
                f"diverged at t={trajectory.diverged_at[b]}"
        ax.plot(t[keep], values[keep, b], color=colors[b], label=label, **line_kw)
        if trajectory.diverged[b] and keep.any():
            ax.plot(t[keep][-1], values[keep, b][-1], "x", color=colors[b], markersize=8)
    if logy:
        ax.set_yscale("log")


def plot_metric(trajectory: Trajectory, name: str, *, labels: Sequence[str] | None = None,
                ylabel: str | None = None, ax=None, logx: bool = False, logy: bool = True):
    """Plot the scalar metric ``name`` of every run against the iteration; return the figure."""
    values = trajectory[name]
    if values.ndim != 2:
        raise ValueError(f"metric {name!r} has shape {values.shape}; plot_metric needs one value per run")
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    draw_runs(ax, trajectory, values, labels=labels, logy=logy)
    if logx:
        ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(ylabel or name.replace("_", " "))
    if labels is not None or trajectory.diverged.any():
        ax.legend()
    return fig


def draw_band(ax, iterations: np.ndarray, values: np.ndarray, *, color=None, label: str | None = None,
              logy: bool = True, **line_kw) -> None:
    """Median over seeds (solid line) and min-max range (shaded) of ``values`` ``(T, S)`` against ``iterations``.

    Non-finite entries (a diverged seed) are left out of the statistics; iterations where no seed is
    finite (or, with ``logy``, positive) are not drawn at all, so the plot never shows NaN as a gap
    that looks like data.
    """
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & ((v > 0) if logy else True)
    keep = ok.any(axis=1)
    masked = np.where(ok, v, np.nan)[keep]
    t = np.asarray(iterations)[keep]
    if t.size == 0:
        return
    with np.errstate(all="ignore"):
        med = np.nanmedian(masked, axis=1)
        lo, hi = np.nanmin(masked, axis=1), np.nanmax(masked, axis=1)
    line, = ax.plot(t, med, color=color, label=label, **line_kw)
    if v.shape[1] > 1:
        ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if logy:
        ax.set_yscale("log")
