r"""Figures of the incremental-learning chapter (Jin, Li, Lyu, Du, Lee 2023).

Each function takes an :class:`matsense.experiments.IncrementalLearningStudy`, draws on ``ax`` (or a
new figure) and returns the figure. Curves are the median over seeds with the min-max range shaded.
"""

from __future__ import annotations

import numpy as np

from .. import theory
from ..experiments import IncrementalLearningStudy
from .style import new_figure, run_colors
from .trajectories import draw_band

__all__ = ["alpha_label", "plot_loss_staircase", "plot_eigenvalues", "plot_distances", "plot_learning_times"]


def _axes(ax):
    if ax is None:
        return new_figure()
    return ax.figure, ax


def alpha_label(alpha: float) -> str:
    r"""Legend text for a scale, e.g. :math:`\alpha = 10^{-4}`."""
    e = np.log10(alpha)
    return rf"$\alpha = 10^{{{e:.0f}}}$" if np.isclose(e, round(e)) else rf"$\alpha = {alpha:g}$"


def plot_loss_staircase(study: IncrementalLearningStudy, *, ax=None, levels: bool = True,
                        t_max: float | None = None):
    r"""Training loss :math:`f(U_t)` against :math:`t`, one curve per :math:`\alpha`; dotted lines at :math:`f(Z_s^\star)`.

    ``t_max`` limits the iteration axis to ``[0, t_max]`` (default: the whole run); the plateau
    labels sit at its right end, alternately above and below their line so that they never overlap.
    """
    fig, ax = _axes(ax)
    L = study.sweep.grid("loss")
    for i, (a, c) in enumerate(zip(study.alphas, run_colors(study.alphas.size))):
        draw_band(ax, study.sweep.iterations, L[:, i], color=c, label=alpha_label(a))
    right = float(study.sweep.iterations[-1] if t_max is None else t_max)
    ax.set_xlim(0, right)
    if levels:
        for j, sol in enumerate(study.solutions[:-1]):
            ax.axhline(sol.loss, color="0.4", ls=":", lw=1)
            ax.annotate(f"$f(Z_{sol.s}^\\star)$", (right, sol.loss), fontsize=8, ha="right",
                        va="bottom" if j % 2 == 0 else "top", color="0.3")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"training loss $f(U_t)$")
    ax.legend(loc="lower left")
    return fig


def plot_eigenvalues(study: IncrementalLearningStudy, alpha_index: int, *, ax=None, extra: int = 1):
    r"""Top :math:`r` + ``extra`` eigenvalues of :math:`Z_t = U_tU_t^\top` against :math:`t`; dashed: :math:`\sigma_s`."""
    fig, ax = _axes(ax)
    lam = study.sweep.grid("spectrum")[:, alpha_index]
    q = min(study.sigma.size + extra, lam.shape[-1])
    colors = run_colors(q, "plasma")
    for s in range(q):
        draw_band(ax, study.sweep.iterations, lam[:, :, s], color=colors[s], label=rf"$\lambda_{s + 1}(Z_t)$")
        if s < study.sigma.size:
            ax.axhline(study.sigma[s], color=colors[s], ls="--", lw=1)
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel("eigenvalue")
    ax.set_title(alpha_label(study.alphas[alpha_index]))
    ax.legend(loc="lower right")
    return fig


def plot_distances(study: IncrementalLearningStudy, alpha_index: int, *, ax=None):
    r""":math:`\lVert Z_t - Z_s^\star\rVert_F` against :math:`t` for every :math:`s`, at one :math:`\alpha`."""
    fig, ax = _axes(ax)
    d = study.sweep.grid("dist")[:, alpha_index]
    colors = run_colors(d.shape[-1], "plasma")
    for j, sol in enumerate(study.solutions):
        draw_band(ax, study.sweep.iterations, d[:, :, j], color=colors[j],
                  label=rf"$\|Z_t - Z_{sol.s}^\star\|_F$")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel("distance (Frobenius)")
    ax.set_title(alpha_label(study.alphas[alpha_index]))
    ax.legend(loc="lower left")
    return fig


def plot_learning_times(study: IncrementalLearningStudy, *, ax=None, fraction: float = 0.5):
    r""":math:`T_s` against :math:`\log(1/\alpha)` (median, min-max bars) with lines of the predicted slope.

    Each dashed line has slope :math:`1/\log(1 + \eta\sigma_s)` and the intercept that fits the
    medians best for that fixed slope (the theory predicts the slope, not the O(1) offset).
    """
    fig, ax = _axes(ax)
    T = study.learning_times(fraction)
    x = study.log_inv_alpha
    slopes = theory.learning_time_slope(study.eta, study.sigma[: T.shape[-1]])
    colors = run_colors(T.shape[-1], "plasma")
    for s in range(T.shape[-1]):
        ok = np.all(np.isfinite(T[:, :, s]), axis=1)
        if not ok.any():
            continue
        med = np.median(T[ok, :, s], axis=1)
        err = np.vstack([med - T[ok, :, s].min(axis=1), T[ok, :, s].max(axis=1) - med])
        ax.errorbar(x[ok], med, yerr=err, fmt="o", color=colors[s], capsize=3, label=f"$T_{s + 1}$ measured")
        b = np.mean(med - slopes[s] * x[ok])
        xx = np.linspace(0, x.max() * 1.05, 50)
        ax.plot(xx, slopes[s] * xx + b, "--", color=colors[s],
                label=f"slope $1/\\log(1+\\eta\\sigma_{s + 1})$ = {slopes[s]:.1f}")
    ax.set_xlabel(r"$\log(1/\alpha)$")
    ax.set_ylabel(r"learning time $T_s$ (iterations)")
    ax.legend(fontsize=7)
    return fig
