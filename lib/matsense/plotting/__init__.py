"""Plotting: one style (:mod:`.style`) and one ``plot_<what>`` function per kind of figure.

Plot functions take results (trajectories, sweeps) and an optional ``ax``, return the figure and
never call ``show()``; saving goes through :func:`matsense.provenance.save_figure`.
"""

from .style import STYLE, finish, log_ticks_at, new_figure, run_colors
from .trajectories import draw_band, draw_runs, plot_metric
from . import foundations, jin, wind, xiong  # noqa: E402  (chapter figures: matsense.plotting.<chapter>)

__all__ = ["STYLE", "finish", "log_ticks_at", "new_figure", "run_colors", "draw_band", "draw_runs",
           "plot_metric"]
