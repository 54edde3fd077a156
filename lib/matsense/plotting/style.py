"""One figure style for the whole book.

Every plotting function draws on axes made by :func:`new_figure`, so sizes, fonts and colours are
the same in every chapter, and returns the figure without calling ``show()``.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.ticker import NullLocator
import numpy as np

__all__ = ["STYLE", "new_figure", "run_colors", "finish", "log_ticks_at"]

#: rcParams applied to every figure of the book (fixed fonts and sizes, no date or version metadata).
STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "svg.hashsalt": "matsense",
}


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 3.6,
               sharex: bool = False, sharey: bool = False):
    """Return ``(fig, axes)`` in the book's style; ``axes`` is a flat array when there are several."""
    with mpl.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), sharex=sharex,
                                 sharey=sharey, squeeze=False, layout="constrained")
    for key, value in STYLE.items():  # keep the style for later draws on these axes
        mpl.rcParams[key] = value
    flat = axes.ravel()
    return fig, (flat[0] if flat.size == 1 else flat)


def run_colors(n: int, cmap: str = "viridis") -> list:
    """``n`` distinguishable colours from a perceptually uniform map (dark to light)."""
    return [plt.get_cmap(cmap)(x) for x in np.linspace(0.05, 0.85, max(n, 1))]


def finish(fig, *, title: str | None = None):
    """Set a figure title and return the figure."""
    if title:
        fig.suptitle(title)
    return fig


def log_ticks_at(ax, values, *, label: str | None = None, axis: str = "x") -> None:
    """Log-scale ``axis`` ticked exactly at ``values`` (e.g. the measurement counts of a sweep).

    Minor ticks are removed so that the labels do not crowd.
    """
    values = list(values)
    which = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    (ax.set_xticks if axis == "x" else ax.set_yticks)(values, [f"{v:g}" for v in values])
    which.set_minor_locator(NullLocator())
    if label is not None:
        (ax.set_xlabel if axis == "x" else ax.set_ylabel)(label)
