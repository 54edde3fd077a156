r"""Figures of the incremental-learning chapter (Jin, Li, Lyu, Du, Lee 2023).

Each function takes an :class:`matsense.experiments.IncrementalLearningStudy`, draws on ``ax`` (or a
new figure) and returns the figure. Curves are the median over seeds with the min-max range shaded.
"""

from __future__ import annotations

import numpy as np

from .. import analysis, theory
from ..experiments import IncrementalLearningStudy, Sweep
from ..experiments import jin as studies
from .style import label_level, legend_panel, log_ticks_at, new_figure, new_panels, run_colors
from .trajectories import draw_band

__all__ = ["alpha_label", "plot_loss_staircase", "plot_eigenvalues", "plot_distances",
           "plot_learning_times", "fig_passing", "fig_regimes", "fig_time_law", "fig_alignment",
           "fig_low_rank", "fig_exp_loss", "fig_exp_dist", "fig_exp_eig", "fig_exp_time",
           "fig_exp_under", "fig_intro_staircase", "fig_glrl", "fig_factorization_vs_sensing",
           "fig_rip", "fig_best_rank", "fig_open_gap", "fig_approach_operators",
           "fig_implicit_bias"]


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
    labels sit inside the axes at its right end, alternately above and below their line so that
    they never overlap.
    """
    fig, ax = _axes(ax)
    L = study.sweep.grid("loss")
    for i, (a, c) in enumerate(zip(study.alphas, run_colors(study.alphas.size))):
        draw_band(ax, study.sweep.iterations, L[:, i], color=c, label=alpha_label(a))
    right = float(study.sweep.iterations[-1] if t_max is None else t_max)
    ax.set_xlim(0, right)
    if levels:
        for j, sol in enumerate(study.solutions[:-1]):
            label_level(ax, sol.loss, f"$f(Z_{sol.s}^\\star)$", above=j % 2 == 0)
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
    ax.legend()
    return fig


# One function per figure of these notebooks; each returns the fully labelled Figure.



def _phase_end(study: IncrementalLearningStudy, factor: float, alpha_index: int | None = None) -> float:
    """``factor`` times the largest last learning time (over runs, or at one alpha), capped at the run's end."""
    T = study.learning_times()[..., -1]
    T = T if alpha_index is None else T[alpha_index]
    return float(min(study.sweep.iterations[-1], factor * np.nanmax(T)))


def fig_passing(study: IncrementalLearningStudy):
    r"""Figure ``jin-passing``: :math:`\lVert Z_t - Z_s^\star\rVert_F` against :math:`t`, one panel per :math:`\alpha` (a 2 x 2 grid for four), up to :math:`2\max T_r`."""
    A = study.alphas.size
    fig, axes = new_panels(A, sharex=True, sharey=True)
    axes = np.atleast_1d(axes)
    t_max = _phase_end(study, 2.0)
    cols = 1 if A == 1 else 2
    for i, ax in enumerate(axes):
        plot_distances(study, i, ax=ax)
        ax.set_xlim(0, t_max)
        ax.set_ylabel(r"$\|Z_t - Z_s^\star\|_F$" if i % cols == 0 else "")
        ax.set_xlabel("iteration $t$" if i >= A - cols else "")
        if i > 0:
            ax.get_legend().remove()
    return fig


def fig_regimes(study: IncrementalLearningStudy, under: Sweep):
    r"""Figure ``jin-regimes``: relative error to :math:`M^\star` with ``k = n`` (left); with ``k < r`` at the smallest :math:`\alpha`, distance to :math:`Z_k^\star`, :math:`M^\star_k`, :math:`M^\star` (right, from :func:`matsense.experiments.jin.under_distances`)."""
    fig, axes = new_figure(1, 2)
    rel = study.sweep.grid("dist")[..., -1] / float(np.linalg.norm(study.problem.M_star))
    for i, (a, c) in enumerate(zip(study.alphas, run_colors(study.alphas.size))):
        draw_band(axes[0], study.sweep.iterations, rel[:, i], color=c, label=alpha_label(a))
    axes[0].set_title(f"over-parameterized, $k = n = {study.k}$")
    axes[0].set_xlabel("iteration $t$")
    axes[0].set_ylabel(r"relative error $\|Z_t - M^\star\|_F/\|M^\star\|_F$")
    axes[0].legend(loc="lower left")
    k = int(under.trajectory.factors[0].shape[-1])             # columns of U
    names = [rf"$\|Z_t - Z_{k}^\star\|_F$ (best rank-{k})", rf"$\|Z_t - M^\star_{k}\|_F$ (eigen-truncation)",
             r"$\|Z_t - M^\star\|_F$"]
    track = under.grid("dist")[:, -1]
    for j, (name, c) in enumerate(zip(names, run_colors(3, "plasma"))):
        draw_band(axes[1], under.iterations, track[:, :, j], color=c, label=name)
    axes[1].set_title(f"under-parameterized, $k = {k}$, {alpha_label(under.alphas[-1])}")
    axes[1].set_xlabel("iteration $t$")
    axes[1].set_ylabel("distance (Frobenius norm)")
    axes[1].legend(loc="center right")
    return fig


def fig_time_law(study: IncrementalLearningStudy):
    r"""Figure ``jin-time-law``: :math:`T_s` against :math:`\log(1/\alpha)` with lines of slope :math:`1/\log(1+\eta\sigma_s)`."""
    fig, ax = new_figure()
    plot_learning_times(study, ax=ax)
    ax.set_xlabel(r"$\log(1/\alpha)$ (natural log)")
    return fig


def fig_alignment(study: IncrementalLearningStudy, alpha_index: int = -1):
    r"""Figure ``jin-alignment``: :math:`\lVert U_t^\top\hat v_j\rVert` at one :math:`\alpha` with the linear prediction :math:`c_j(1+\eta\hat\lambda_j)^t` (dashed) and the median :math:`T_s` (dotted)."""
    it = study.sweep.iterations
    r = study.sigma.size
    T = study.learning_times()[alpha_index]
    show = it <= int(_phase_end(study, 1.15, alpha_index))
    comp = study.sweep.grid("components")[:, alpha_index]
    lam = study.direction_eigenvalues
    pred = theory.linear_growth(np.median(comp[0], axis=0), study.eta, lam, it[show])
    fig, ax = new_figure(height=4.0)
    colors = run_colors(r, "plasma")
    for j in range(r):
        draw_band(ax, it[show], comp[show, :, j], color=colors[j], label=rf"$\|U_t^\top\hat v_{j + 1}\|$")
        keep = pred[:, j] <= 3.0 * np.sqrt(study.sigma[0])
        ax.plot(it[show][keep], pred[keep, j], "--", color=colors[j], lw=1,
                label=rf"$(1+\eta\hat\lambda_{j + 1})^t$ from $t=0$")
        ax.axvline(np.median(T[:, j]), color=colors[j], ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"component $\|U_t^\top \hat v_j\|$ (Euclidean norm)")
    ax.set_title(f"{alpha_label(study.alphas[alpha_index])}; dotted: median $T_s$")
    ax.legend(loc="lower right", ncol=2)
    return fig


def fig_low_rank(study: IncrementalLearningStudy, alpha_index: int = -1, *, bound: float | None = None):
    r"""Figure ``jin-low-rank``: :math:`\tau_s(t)` at one :math:`\alpha` (left), :math:`\tau_s` at the closest approach against :math:`\log(1/\alpha)`, with a horizontal line at ``bound`` if given (middle), :math:`\lVert Z_t - M^\star\rVert_F` with the rate :math:`1-\eta\sigma_r` (right)."""
    it, r = study.sweep.iterations, study.sigma.size
    tail, at = studies.tail_at_closest(study)
    when = study.closest_approach()[1][alpha_index]
    show = it <= int(_phase_end(study, 1.3, alpha_index))
    colors = run_colors(r - 1, "plasma")
    fig, axes = new_panels(3, spare="legend")
    for s in range(1, r):
        draw_band(axes[0], it[show], tail[show, alpha_index, :, s - 1], color=colors[s - 1],
                  label=rf"$\tau_{s}(t) = \sum_{{i>{s}}}\lambda_i(Z_t)/\sigma_{s}$")
        axes[0].plot(np.median(when[:, s - 1]), np.median(at[alpha_index, :, s - 1]), "o", color=colors[s - 1])
        med = np.median(at[:, :, s - 1], axis=1)
        err = np.vstack([med - at[:, :, s - 1].min(axis=1), at[:, :, s - 1].max(axis=1) - med])
        axes[1].errorbar(study.log_inv_alpha, med, yerr=err, fmt="o-", color=colors[s - 1], capsize=3,
                         label=rf"$\tau_{s}$ at closest approach to $Z_{s}^\star$")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration $t$")
    axes[0].set_ylabel("tail eigenvalue mass / $\\sigma_s$")
    axes[0].set_title(f"{alpha_label(study.alphas[alpha_index])}; dots: closest approach to $Z_s^\\star$")
    axes[0].legend(loc="lower right")
    if bound is not None:
        axes[1].axhline(bound, color="0.4", ls=":", lw=1, label=f"bound {bound:g}")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(r"$\log(1/\alpha)$ (natural log)")
    axes[1].set_ylabel("tail eigenvalue mass / $\\sigma_s$")
    axes[1].legend(loc="lower left")
    d = study.sweep.grid("dist")[..., -1]
    for i, (a, c) in enumerate(zip(study.alphas, run_colors(study.alphas.size))):
        draw_band(axes[2], it, d[:, i], color=c, label=alpha_label(a))
    start = int(np.argmax(np.median(d[:, alpha_index], axis=1) <= 1e-3))
    tt = it[start:].astype(float)
    ref = 1e-3 * theory.local_rate(study.eta, study.sigma) ** (tt - tt[0])
    keep = ref >= 1e-13
    axes[2].plot(tt[keep], ref[keep], "k--", lw=1, label=r"$(1-\eta\sigma_r)^t$")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("iteration $t$")
    axes[2].set_ylabel(r"$\|Z_t - M^\star\|_F$ (Frobenius norm)")
    legend_panel(axes[3], [axes[2]])
    return fig


def fig_exp_loss(study: IncrementalLearningStudy):
    r"""Figure ``jin-exp-loss``: the loss staircase, whole run (left) and zoomed on the plateaus (right)."""
    fig, axes = new_figure(1, 2)
    for ax, t_max in zip(axes, (None, _phase_end(study, 1.3))):
        plot_loss_staircase(study, ax=ax, t_max=t_max)
        ax.set_ylabel(r"training loss $f(U_t)$ (log scale)")
    axes[0].set_title("whole run")
    axes[1].set_ylim(0.05, 6.0)
    axes[1].set_title("zoom on the plateaus")
    axes[1].get_legend().remove()
    return fig


def fig_exp_dist(study: IncrementalLearningStudy):
    r"""Figure ``jin-exp-dist``: :math:`\lVert Z_t - Z_s^\star\rVert_F` on a 2 x 2 grid of :math:`\alpha`, up to :math:`1.6\max T_r`."""
    A = study.alphas.size
    fig, axes = new_panels(A, sharex=True, sharey=True)
    axes = np.atleast_1d(axes)
    t_show = int(_phase_end(study, 1.6))
    cols = 1 if A == 1 else 2
    for i, ax in enumerate(axes):
        plot_distances(study, i, ax=ax)
        ax.set_xlim(0, t_show)
        ax.set_xlabel("iteration $t$" if i >= A - cols else "")
        ax.set_ylabel(r"$\|Z_t - Z_s^\star\|_F$" if i % cols == 0 else "")
        if i > 0:
            ax.get_legend().remove()
    return fig


def fig_exp_eig(study: IncrementalLearningStudy):
    r"""Figure ``jin-exp-eig``: top eigenvalues of :math:`Z_t` for the largest and the smallest :math:`\alpha`."""
    fig, axes = new_figure(1, 2, sharey=True)
    t_show = int(_phase_end(study, 1.6))
    for ax, i in zip(axes, (0, study.alphas.size - 1)):
        plot_eigenvalues(study, i, ax=ax)
        ax.set_xlim(0, t_show)
        ax.legend(loc="center right")
    axes[1].get_legend().remove()
    axes[0].set_ylabel(r"eigenvalue $\lambda_s(Z_t)$ (log scale)")
    axes[1].set_ylabel("")
    return fig


def fig_exp_time(study: IncrementalLearningStudy, *, rel: float = 0.1):
    r"""Figure ``jin-exp-time``: learning times (left) and dwell times on plateaus :math:`s < r` (right) against :math:`\log(1/\alpha)`, with lines of the predicted slopes (intercepts fitted)."""
    fig, axes = new_figure(2, 1, height=6.4)
    plot_learning_times(study, ax=axes[0])
    axes[0].set_ylabel(r"learning time $T_s$ (iterations)")
    x, dwell = study.log_inv_alpha, study.dwell_times(rel=rel)
    colors = run_colors(dwell.shape[-1], "plasma")
    xx = np.linspace(0.0, x.max() * 1.05, 50)
    for s in range(1, dwell.shape[-1] + 1):
        D = dwell[:, :, s - 1]
        med = np.median(D, axis=1)
        err = np.vstack([med - D.min(axis=1), D.max(axis=1) - med])
        r2 = studies.dwell_fit(study, s, rel=rel).r2
        axes[1].errorbar(x, med, yerr=err, fmt="o", color=colors[s - 1], capsize=3,
                         label=f"plateau {s} measured ($R^2$ = {r2:.3f})")
        slope = theory.dwell_time_slope(study.eta, study.sigma, s)
        axes[1].plot(xx, slope * xx + np.mean(med - slope * x), "--", color=colors[s - 1],
                     label=f"predicted slope {slope:.1f}")
    axes[1].set_xlabel(r"$\log(1/\alpha)$")
    axes[1].set_ylabel(r"dwell time on plateau $s$ (iterations)")
    axes[1].legend()
    return fig


def fig_exp_under(under: IncrementalLearningStudy, tracked: Sweep):
    r"""Figure ``jin-exp-under``: with ``k < r``, :math:`\lVert Z_t - Z_k^\star\rVert_F` for every :math:`\alpha` (left); at the smallest :math:`\alpha`, distance to :math:`Z_k^\star`, :math:`M^\star_k`, :math:`Z_1^\star` and the offset :math:`\lVert Z_k^\star - M^\star_k\rVert_F` (right)."""
    from ..solutions import eigen_truncation
    d = tracked.grid("dist")                                       # (T, A, S, 3): Z_k*, M*_k, M*
    gap = float(np.linalg.norm(under.solutions[under.k - 1].Z - eigen_truncation(under.problem.M_star, under.k)))
    fig, axes = new_figure(1, 2, sharey=True)
    for i, (a, c) in enumerate(zip(tracked.alphas, run_colors(tracked.alphas.size))):
        draw_band(axes[0], tracked.iterations, d[:, i, :, 0], color=c, label=alpha_label(a))
    axes[0].set_title(r"$\|Z_t - Z_k^\star\|_F$, every $\alpha$")
    cols = run_colors(3, "plasma")
    draw_band(axes[1], tracked.iterations, d[:, -1, :, 0], color=cols[0],
              label=r"$\|Z_t - Z_k^\star\|_F$ (best rank-$k$ solution)")
    draw_band(axes[1], tracked.iterations, d[:, -1, :, 1], color=cols[1],
              label=r"$\|Z_t - M^\star_k\|_F$ (eigen-truncation)")
    draw_band(axes[1], under.sweep.iterations, under.sweep.grid("dist")[:, -1, :, 0], color=cols[2],
              label=r"$\|Z_t - Z_1^\star\|_F$")
    axes[1].axhline(gap, color="0.4", ls=":", lw=1, label=r"$\|Z_k^\star - M^\star_k\|_F$")
    axes[1].set_title(alpha_label(tracked.alphas[-1]))
    for ax in axes:
        ax.set_xlabel("iteration $t$")
        ax.legend(loc="lower left")
    axes[0].set_ylabel("distance (Frobenius norm)")
    return fig


# One function per figure of these notebooks; each returns the fully labelled Figure.



def fig_intro_staircase(study: IncrementalLearningStudy, *, loss_floor: float = 1e-4):
    r"""Intro figure: the loss staircase for every :math:`\alpha` (left) and the top :math:`r+1`
    eigenvalues of :math:`Z_t` at the smallest :math:`\alpha` (right), both zoomed on
    :func:`matsense.analysis.zoom_horizon` of the learning times; loss axis cut at ``loss_floor``."""
    t_max = analysis.zoom_horizon(study.learning_times(), steps=int(study.sweep.iterations[-1]))
    fig, axes = new_figure(1, 2)
    plot_loss_staircase(study, ax=axes[0], t_max=t_max)
    axes[0].set_title(rf"training loss, {study.sweep.seeds.size} directions per $\alpha$")
    axes[0].set_ylim(loss_floor, 2 * float(study.sweep.grid("loss")[0].max()))
    plot_eigenvalues(study, study.alphas.size - 1, ax=axes[1])
    axes[1].set_ylabel(r"eigenvalue $\lambda_s(Z_t)$")
    axes[1].legend(loc="center right")
    axes[1].set_xlim(0, t_max)
    return fig


def fig_glrl(comp: studies.GLRLComparison, *, loss_floor: float = 1e-6):
    r"""GLRL against GD: Hausdorff distance against :math:`\alpha` (left); loss along both paths,
    each on its own clock, GD at the smallest :math:`\alpha` (right)."""
    fig, (ax0, ax1) = new_figure(1, 2)
    ax0.loglog(comp.alphas, comp.d_H, "o-", color="C0", label="GD (seed 0) vs GLRL")
    ax0.set_xlabel(r"initial scale $\alpha$")
    ax0.set_ylabel(r"Hausdorff distance $d_H$ (Frobenius norm)")
    ax0.invert_xaxis()
    ax0.legend(loc="upper right")
    ax0.set_title("distance between the two paths")
    T = comp.glrl_loss.size
    ax1.semilogy(np.arange(T), comp.glrl_loss, color="k", label=r"GLRL ($\varepsilon = 10^{-12}$)")
    for b in comp.phase_starts():
        ax1.axvline(b, color="k", ls="--", lw=0.8)
    ax1.semilogy(comp.iterations, comp.gd_loss[:, -1], color="C1", label=f"GD, {alpha_label(comp.alphas[-1])}")
    for s, level in enumerate(comp.levels, start=1):
        label_level(ax1, level, f"$f(Z_{s}^\\star)$", above=s % 2 == 1)
    ax1.set_ylim(loss_floor, 2 * comp.glrl_loss[0])
    ax1.set_xlim(0, T)
    ax1.set_xlabel("iteration (each algorithm's own clock)")
    ax1.set_ylabel(r"training loss $f$")
    ax1.legend(loc="lower left")
    ax1.set_title("loss along the two paths")
    return fig


def fig_factorization_vs_sensing(fact: studies.FactorizationComparison, study: IncrementalLearningStudy,
                                 *, loss_floor: float = 1e-4):
    r"""The loss staircase for matrix factorization (left) and sensing (right), same :math:`M^\star`,
    scales and directions; dotted lines at each problem's :math:`f(Z_s^\star)`, :math:`1 \le s < r`."""
    r = study.sigma.size
    t_max = analysis.zoom_horizon(np.median(fact.learning_times(), axis=1),
                                   np.median(study.learning_times(), axis=1),
                                   steps=int(study.sweep.iterations[-1]))
    sens_levels = np.array([sol.loss for sol in study.solutions])
    fig, axes = new_figure(1, 2, sharey=True)
    colors = run_colors(study.alphas.size)
    panels = ((fact.sweep, fact.levels[1:], r"factorization ($\mathcal{A} = \mathrm{Id}$)"),
              (study.sweep, sens_levels, f"sensing ($m = {study.problem.operator.m}$)"))
    for ax, (sw, lv, title) in zip(axes, panels):
        L = sw.grid("loss")
        for i, a in enumerate(sw.alphas):
            draw_band(ax, sw.iterations, L[:, i], color=colors[i], label=alpha_label(a))
        for s in range(1, r):
            label_level(ax, lv[s - 1], f"$f(Z_{s}^\\star)$ = {lv[s - 1]:.3f}", above=s % 2 == 1)
        ax.set_xlim(0, t_max)
        ax.set_ylim(loss_floor, 2 * theory.plateau_levels(study.sigma)[0])
        ax.set_xlabel("iteration $t$")
        ax.set_title(title)
    axes[0].set_ylabel(r"training loss $f(U_t)$")
    axes[0].legend(loc="lower left")
    return fig


def fig_rip(rip: studies.RipStudy):
    r"""RIP of the operators: quantile bands of the ratios against :math:`m` (left); the empirical
    constant :math:`\hat\delta` with its power-law fit and an :math:`m^{-1/2}` reference (right)."""
    m = rip.m_grid
    fig, (ax0, ax1) = new_figure(1, 2)
    q05, q25, q50, q75, q95 = np.percentile(rip.ratios, [5, 25, 50, 75, 95], axis=1)
    ax0.fill_between(m, rip.ratios.min(axis=1), rip.ratios.max(axis=1), color="C0", alpha=0.15, label="min-max")
    ax0.fill_between(m, q05, q95, color="C0", alpha=0.3, label="5-95 %")
    ax0.fill_between(m, q25, q75, color="C0", alpha=0.5, label="25-75 %")
    ax0.plot(m, q50, "o-", color="C0", label="median")
    ax0.axhline(1.0, color="k", lw=0.8)
    ax0.set_ylabel(r"$\|\mathcal{A}(X)\|^2 / \|X\|_F^2$")
    ax0.set_title(f"{rip.ratios.shape[1]} random rank-{2 * rip.trunc_dist.shape[1]} symmetric $X$ per $m$")
    ax0.legend(loc="upper right")
    d, fit = rip.delta_hat(), rip.rip_fit()
    mm = np.geomspace(m[0], m[-1], 50)
    ax1.loglog(m, d, "o", color="C0", label=r"$\hat\delta = \max|\mathrm{ratio} - 1|$")
    ax1.loglog(mm, np.exp(fit.intercept) * mm ** fit.slope, "-", color="C0", lw=1,
               label=f"fit: exponent {fit.slope:.2f}")
    p = theory.rip_decay_exponent()
    ax1.loglog(mm, d[0] * (mm / m[0]) ** p, "--", color="0.4", label=r"reference $\propto m^{-1/2}$")
    ax1.set_ylabel(r"empirical RIP constant $\hat\delta$")
    ax1.legend(loc="lower left")
    for ax in (ax0, ax1):
        log_ticks_at(ax, m, label="number of measurements $m$")
    return fig


def fig_best_rank(rip: studies.RipStudy, sigma):
    r"""Best rank-s solutions against :math:`m`: distance to the eigen-truncation (left, with an
    :math:`m^{-1/2}` reference) and plateau levels against :math:`\tfrac14\sum_{i>s}\sigma_i^2` (right)."""
    m, r = rip.m_grid, rip.trunc_dist.shape[1]
    predicted = theory.plateau_levels(sigma)
    colors = run_colors(r, "plasma")
    fig, (ax0, ax1) = new_figure(1, 2)
    mm = np.geomspace(m[0], m[-1], 50)
    for s in range(1, r):
        ax0.loglog(m, rip.trunc_dist[:, s - 1], "o-", color=colors[s - 1], label=rf"$\|Z_{s}^\star - M^\star_{s}\|_F$")
        ax1.plot(m, rip.levels[:, s - 1], "o-", color=colors[s - 1], label=rf"$f(Z_{s}^\star)$")
        ax1.axhline(predicted[s], color=colors[s - 1], ls="--", lw=1)
    ax0.loglog(mm, rip.trunc_dist[0, 0] * (mm / m[0]) ** theory.rip_decay_exponent(), "--", color="0.4",
               label=r"reference $\propto m^{-1/2}$")
    ax0.set_ylabel("distance (Frobenius norm)")
    ax0.set_title(r"best rank-$s$ solution vs eigen-truncation")
    ax0.legend(loc="lower left")
    ax1.set_yscale("log")
    ax1.set_ylabel("loss (plateau level)")
    ax1.set_title(r"dashed: $\frac{1}{4}\sum_{i>s}\sigma_i^2$")
    ax1.legend(loc="center right")
    for ax in (ax0, ax1):
        log_ticks_at(ax, m, label="number of measurements $m$")
    return fig


def _spectrum_label(sigma, suffix: str = "") -> str:
    return r"$\sigma = (%s)$%s" % (", ".join(f"{v:g}" for v in sigma), suffix)


def fig_open_gap(study: IncrementalLearningStudy, gap: IncrementalLearningStudy, alpha_index: int = -1):
    r"""A smaller eigengap: :math:`\lVert Z_t - Z_1^\star\rVert_F` at one :math:`\alpha` for both spectra
    (left); closest approach to :math:`Z_1^\star` (min-max bars) and :math:`Z_2^\star` against :math:`\alpha` (right)."""
    fig, (ax0, ax1) = new_figure(1, 2)
    colors = run_colors(2, "plasma")
    labels = (_spectrum_label(study.sigma), _spectrum_label(gap.sigma, ", gap halved"))
    for st, c, lab in zip((study, gap), colors, labels):
        draw_band(ax0, st.sweep.iterations, st.sweep.grid("dist")[:, alpha_index, :, 0], color=c, label=lab)
        _closest_bars(ax1, st, c, rf"to $Z_1^\star$, {lab}")
        ax1.plot(st.alphas, studies.closest_medians(st)[:, 1], "s--", color=c, alpha=0.7,
                 label=rf"to $Z_2^\star$, {lab}")
    ax0.legend(loc="center right")
    _closest_axes(ax0, ax1, study, alpha_index, r"Z_s^\star")
    return fig


def _closest_bars(ax, st: IncrementalLearningStudy, color, label: str, s: int = 1):
    r"""Median closest approach to :math:`Z_s^\star` against :math:`\alpha` with min-max bars."""
    d_all, med = st.closest_approach()[0][:, :, s - 1], studies.closest_medians(st)[:, s - 1]
    err = np.vstack([med - d_all.min(axis=1), d_all.max(axis=1) - med])
    ax.errorbar(st.alphas, med, yerr=err, fmt="o-", color=color, capsize=3, label=label)


def _closest_axes(ax0, ax1, st: IncrementalLearningStudy, alpha_index: int, s_label: str) -> None:
    """Shared labels of the two-panel approach figures: distance at one alpha (left), closest approach (right)."""
    ax0.set_xlim(0, 2.0 * np.nanmax(st.learning_times()[alpha_index, :, 1]))
    ax0.set_xlabel("iteration $t$")
    ax0.set_ylabel(r"$\|Z_t - Z_1^\star\|_F$ (Frobenius norm)")
    ax0.set_title(alpha_label(st.alphas[alpha_index]))
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel(r"initial scale $\alpha$")
    ax1.set_ylabel(rf"closest approach $\min_t\|Z_t - {s_label}\|_F$")
    ax1.legend(loc="lower right")


# -- conclusion: the approach to Z_1* under sensing and under factorization --------------------------

def fig_approach_operators(sensing: IncrementalLearningStudy, factorization: IncrementalLearningStudy,
                           alpha_index: int = -1):
    r"""Sensing against factorization of the same :math:`M^\star`: :math:`\lVert Z_t - Z_1^\star\rVert_F` at one
    :math:`\alpha` (left); closest approach to :math:`Z_1^\star` against :math:`\alpha` with the factorization
    prediction :math:`\alpha^p` (:func:`matsense.theory.factorization_approach_exponent`) dashed (right)."""
    fig, (ax0, ax1) = new_figure(1, 2)
    colors = run_colors(2, "viridis")
    p = theory.factorization_approach_exponent(factorization.eta, factorization.sigma)
    for st, c, lab in zip((sensing, factorization), colors, ("sensing", r"factorization ($\mathcal{A} = \mathrm{Id}$)")):
        draw_band(ax0, st.sweep.iterations, st.sweep.grid("dist")[:, alpha_index, :, 0], color=c, label=lab)
        pe = float(np.median(studies.approach_exponents(st, 1)))
        _closest_bars(ax1, st, c, rf"{lab}, fitted $p$ = {pe:.2f}")
    ref = studies.closest_medians(factorization)[-1, 0] * (factorization.alphas / factorization.alphas[-1]) ** p
    ax1.plot(factorization.alphas, ref, "k--", lw=1, label=rf"predicted $\alpha^{{p}}$, $p$ = {p:.2f}")
    ax0.set_yscale("log")
    ax0.legend(loc="lower left")
    _closest_axes(ax0, ax1, sensing, alpha_index, r"Z_1^\star")
    return fig


# -- main_results: the implicit bias below n(n+1)/2 ----------------------------------------------------

def fig_implicit_bias(bias: studies.ImplicitBias, n: int):
    r"""Figure ``jin-implicit-bias`` (:func:`matsense.experiments.jin.implicit_bias`): relative error to
    :math:`M^\star` (left) and loss relative to :math:`f(0)` (right) against the iteration, from the small
    :math:`\alpha` and from :math:`\alpha = 1`, with ``m`` between the rank-r dimension and :math:`n(n+1)/2`."""
    fig, (ax0, ax1) = new_figure(1, 2)
    it = np.maximum(bias.iterations, 1)
    for i, (a, c) in enumerate(zip(bias.alphas, run_colors(2, "viridis"))):
        draw_band(ax0, it, bias.error_path[:, i], color=c, label=alpha_label(a))
        draw_band(ax1, it, bias.loss_path[:, i], color=c, label=alpha_label(a))
    for ax in (ax0, ax1):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("iteration $t$ ($t = 0$ drawn at 1)")
        ax.legend(loc="lower left")
    ax0.set_ylabel(r"relative error $\|Z_t - M^\star\|_F/\|M^\star\|_F$")
    ax1.set_ylabel(r"loss $f(U_t)/f(0)$")
    fig.suptitle(f"$m = {bias.m}$ measurements, below $n(n+1)/2 = {n * (n + 1) // 2}$, $k = n = {n}$")
    return fig
