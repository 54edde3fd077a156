"""One figure style for the whole book, drawn for the width at which the book shows it.

Every plotting function draws on axes made by :func:`new_figure` (or :func:`new_panels`), so sizes,
fonts and colours are the same in every chapter, and returns the figure without calling ``show()``.

**Drawn for its display width.** The book shows a figure across its text column, at least
:data:`COLUMN_PX` CSS pixels on a desktop screen. Every figure is :data:`FIGURE_WIDTH` inches wide
(a wider request is scaled down to it), so one point of font is
:math:`\\text{COLUMN\\_PX} / (72 \\cdot \\text{FIGURE\\_WIDTH})` pixels on screen for every figure,
and the smallest font of the style (:data:`MIN_FONT_PT`) is at least :data:`MIN_FONT_PX` pixels:
:func:`smallest_font_px` measures it. Several panels go on a grid of at most two columns
(:func:`panel_grid`: three or four panels on a 2 x 2 grid, never a 1 x 4 row).

**Colours.** Categorical colours (``"C0"``, ``"C1"``, ...) are the Okabe-Ito palette
(:data:`CATEGORICAL`), which stays distinguishable under the common colour-vision deficiencies;
ordered families (one curve per initial scale) use the perceptually uniform ``viridis`` map
(:func:`run_colors`). The background is opaque white, so a figure reads the same in the dark theme.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory
import numpy as np

__all__ = ["STYLE", "FIGURE_WIDTH", "COLUMN_PX", "MIN_FONT_PX", "MIN_FONT_PT", "CATEGORICAL",
           "new_figure", "new_panels", "panel_grid", "run_colors", "finish", "log_ticks_at",
           "label_level", "legend_panel", "smallest_font_px"]

#: Width in inches of every figure of the book (the text column it is shown in).
FIGURE_WIDTH = 7.0
#: Width in CSS pixels at which the book shows a figure on a desktop screen: the text column is
#: 660 px wide in a 1280-px window and 774 px in a window of 1440 px or more; the narrower is used.
COLUMN_PX = 660
#: Smallest on-screen font size, in CSS pixels, that a figure may use at :data:`COLUMN_PX`.
MIN_FONT_PX = 9.0
#: Smallest font size, in points, used by the style (tick labels, legends, level labels).
MIN_FONT_PT = 8.0
#: Resolution of the saved PNG (the same as :data:`matsense.provenance.DPI`).
_DPI = 150

#: Okabe-Ito colours: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
CATEGORICAL: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                                "#F0E442", "#000000")

#: rcParams applied to every figure of the book (fixed fonts and sizes, opaque white background,
#: colour-blind-safe colour cycle, no date or version metadata).
STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": _DPI,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "figure.titlesize": 10,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "legend.title_fontsize": MIN_FONT_PT,
    "legend.framealpha": 0.85,
    "legend.borderaxespad": 0.3,
    "legend.handlelength": 1.6,
    "axes.prop_cycle": cycler(color=list(CATEGORICAL)),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.5,
    "errorbar.capsize": 3,
    "svg.hashsalt": "matsense",
}

#: Height in inches of one row of panels, by the number of columns of the grid.
_ROW_HEIGHT = {1: 3.6, 2: 2.9}


def panel_grid(n: int) -> tuple[int, int]:
    """``(rows, columns)`` of the grid for ``n`` panels: one column for one panel, else two columns.

    Three or four panels make a 2 x 2 grid, five or six a 3 x 2 grid.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be an integer >= 1 (the number of panels)")
    n = int(n)
    return (1, 1) if n == 1 else (-(-n // 2), 2)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = FIGURE_WIDTH,
               height: float | None = None, sharex: bool = False, sharey: bool = False):
    """Return ``(fig, axes)`` in the book's style; ``axes`` is a flat array when there are several.

    ``width`` larger than :data:`FIGURE_WIDTH` is scaled down to it (``height`` with it), so that the
    fonts keep their size on screen; ``height`` defaults to a row height that suits ``ncols``.
    """
    if height is None:
        height = nrows * _ROW_HEIGHT.get(ncols, 2.6)
    if width > FIGURE_WIDTH:
        height, width = height * FIGURE_WIDTH / width, FIGURE_WIDTH
    with mpl.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), sharex=sharex,
                                 sharey=sharey, squeeze=False, layout="constrained")
    for key, value in STYLE.items():  # keep the style for later draws on these axes
        mpl.rcParams[key] = value
    flat = axes.ravel()
    return fig, (flat[0] if flat.size == 1 else flat)


def new_panels(n: int, *, height: float | None = None, sharex: bool = False, sharey: bool = False,
               spare: str = "remove"):
    """``(fig, axes)`` with ``n`` panels on the :func:`panel_grid` grid, the full book width.

    ``axes`` has ``n`` entries (a single Axes for ``n = 1``). A spare cell of an odd grid is removed
    (``spare="remove"``) or returned as one more, hidden, Axes for a legend (``spare="legend"``, see
    :func:`legend_panel`).
    """
    if spare not in ("remove", "legend"):
        raise ValueError(f"spare={spare!r} must be 'remove' or 'legend'")
    rows, cols = panel_grid(n)
    fig, axes = new_figure(rows, cols, height=height, sharex=sharex, sharey=sharey)
    if n == 1:
        return fig, axes
    axes = np.atleast_1d(axes)
    keep = n + (1 if spare == "legend" and axes.size > n else 0)
    for ax in axes[keep:]:
        ax.remove()
    if keep > n:
        axes[n].set_axis_off()
    return fig, axes[:keep]


def legend_panel(ax, source_axes: Sequence, **legend_kw) -> None:
    """Turn the hidden ``ax`` into a legend of the labelled lines of ``source_axes`` (no duplicates)."""
    handles, labels, seen = [], [], set()
    for src in source_axes:
        for h, lab in zip(*src.get_legend_handles_labels()):
            if lab not in seen:
                seen.add(lab)
                handles.append(h)
                labels.append(lab)
    ax.set_axis_off()
    ax.legend(handles, labels, loc=legend_kw.pop("loc", "center"), frameon=False, **legend_kw)


def run_colors(n: int, cmap: str = "viridis") -> list:
    """``n`` distinguishable colours from a perceptually uniform map (dark to light).

    The light end is cut (at 0.85 of the map) so that every colour keeps its contrast on white.
    """
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


def label_level(ax, y: float, text: str, *, above: bool = True, x: float = 0.98, color="0.25",
                line: bool = True, **line_kw) -> None:
    """A horizontal level at ``y`` (dotted line) with its label *inside* the axes.

    The label sits at the fraction ``x`` of the axes' width (right-aligned), just above the line
    (``above=True``) or just below it, on a light box so that it stays readable over the curves;
    it is clipped to the axes, so it never spills into a neighbouring panel.
    """
    if line:
        kw = {"color": "0.4", "ls": ":", "lw": 1.0, **line_kw}
        ax.axhline(y, **kw)
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(x, y, text, transform=trans, ha="right", va="bottom" if above else "top",
            fontsize=MIN_FONT_PT, color=color, clip_on=True,
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})


def smallest_font_px(fig, *, column_px: float = COLUMN_PX, dpi: float = _DPI) -> float:
    """The smallest on-screen size, in CSS pixels, of any visible text of ``fig`` shown in the book.

    The PNG is ``width * dpi`` pixels wide and shown at ``column_px`` when it is wider (never
    enlarged), so a font of ``p`` points is ``p / 72 * dpi * min(1, column_px / (width * dpi))``
    pixels on screen. Returns ``inf`` for a figure without text.
    """
    fig.canvas.draw()  # tick labels get their text when drawn
    width = float(fig.get_figwidth())
    per_pt = dpi / 72.0 * min(1.0, column_px / (width * dpi))
    sizes = [t.get_fontsize() for t in fig.findobj(mpl.text.Text)
             if t.get_visible() and t.get_text().strip() and _in_figure(t)]
    return min(sizes) * per_pt if sizes else float("inf")


def _in_figure(text) -> bool:
    """Whether a text artist belongs to a visible axes (or to the figure itself)."""
    ax = text.axes
    if ax is None:
        return True
    if not ax.get_visible():
        return False
    legend = ax.get_legend()
    in_legend = legend is not None and (text in legend.texts or text is legend.get_title())
    return ax.axison or in_legend or text in ax.texts
