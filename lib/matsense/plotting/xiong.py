r"""Figures of the Xiong, Ding, Du (2024) chapter (over-parameterization slows GD down).

One function per figure; each takes the chapter's setup (or results computed from it), reads the
cached runs of :mod:`matsense.experiments.xiong` and returns a fully labelled matplotlib Figure.
Curves are the median over initial directions with the min-max range shaded.
"""

from __future__ import annotations

import numpy as np

from ..experiments import xiong as ex
from ..setups import XiongSetup
from .style import legend_panel, new_figure, new_panels
from .trajectories import draw_band

__all__ = ["regime_label", "fig_regimes", "fig_asym_alpha", "fig_asym_rates", "fig_asym_vs_sym",
           "fig_one_step", "fig_one_step_sensitivity", "fig_sym_asymptote", "fig_invisible",
           "fig_imbalance", "fig_recipe", "REGIMES", "fig_redundant_pair"]

#: The four regimes of the paper's Table 1: (key, symmetric?, over-parameterized?).
REGIMES = (("sym-exact", True, False), ("sym-over", True, True), ("asym-exact", False, False),
           ("asym-over", False, True))


def regime_label(key: str, setup: XiongSetup) -> str:
    """Legend text of a regime, e.g. ``symmetric, k = 4 > r``."""
    names = {"sym-exact": f"symmetric $XX^\\top$, $k = r = {setup.r}$",
             "sym-over": f"symmetric $XX^\\top$, $k = {setup.k_over} > r$",
             "asym-exact": f"asymmetric $FG^\\top$, $k = r = {setup.r}$",
             "asym-over": f"asymmetric $FG^\\top$, $k = {setup.k_over} > r$"}
    return names[key]


def _band(ax, setup: XiongSetup, traj, alpha_index: int, color, label: str, floor: float) -> None:
    err = ex.per_run(setup, traj["squared_error"])[:, alpha_index, :]
    draw_band(ax, traj.iterations, np.where(err > floor, err, np.nan), color=color, label=label)


def fig_regimes(setup: XiongSetup, *, alpha_index: int = -1, floor: float = 1e-20):
    r"""The four regimes on one problem: :math:`\lVert Z_t - M^\star\rVert_F^2` against :math:`t`, semi-log (left) and log-log (right).

    Runs of :func:`matsense.experiments.xiong.run_symmetric` / ``run_asymmetric`` with :math:`k = r`
    and :math:`k =` ``setup.k_over`` at ``setup.alphas[alpha_index]``; values below ``floor`` (the
    rounding floor of the arithmetic) are not drawn.
    """
    fig, (ax_lin, ax_log) = new_figure(2, 1, height=6.0, sharey=True)
    colors = ["C0", "C1", "C2", "C3"]
    for (key, sym, over), color in zip(REGIMES, colors):
        k = setup.k_over if over else setup.r
        traj = ex.run_symmetric(setup, k) if sym else ex.run_asymmetric(setup, k)
        for ax in (ax_lin, ax_log):
            _band(ax, setup, traj, alpha_index, color, regime_label(key, setup), floor)
    ax_log.set_xscale("log")
    for ax in (ax_lin, ax_log):
        ax.set_yscale("log")
        ax.set_xlabel("iteration $t$" + (" (log scale)" if ax is ax_log else ""))
    ax_lin.set_ylabel(r"squared error $\|Z_t - M^\star\|_F^2$")
    ax_lin.set_title("semi-log: a straight line is a linear rate")
    ax_log.set_title(r"log-log: a straight line is a power of $1/t$")
    ax_lin.legend(loc="lower left")
    fig.suptitle(rf"$\alpha = {setup.alphas[alpha_index]:g}$, $n = {setup.n}$, $\eta = {setup.eta:g}$, "
                 f"{setup.operator}")
    return fig


# -- book/xiong/asymmetric and book/xiong/one_step (Sections 4 and 5) ------------------------------

def _err(setup: XiongSetup, traj, floor: float) -> np.ndarray:
    err = ex.per_run(setup, traj["squared_error"])
    return np.where(err > floor, err, np.nan)


def _err_clip(setup: XiongSetup, traj, floor: float) -> np.ndarray:
    """Squared errors ``(T, alphas, seeds)``, values below ``floor`` (rounding) drawn at ``floor``."""
    err = ex.per_run(setup, traj["squared_error"])
    return np.where(err > floor, err, floor)


def fig_asym_alpha(setup: XiongSetup, *, floor: float = 1e-20, operator: str | None = None):
    r"""Asymmetric GD for every :math:`\alpha`: :math:`k = r` against :math:`t` (left), :math:`k > r` against :math:`t` (middle) and :math:`\eta\alpha^2 t` (right).

    Runs of :func:`matsense.experiments.xiong.run_asymmetric` (``operator`` default ``setup.operator``);
    median over directions, min-max shaded; values below ``floor`` (rounding) are drawn at ``floor``.
    """
    from .style import run_colors
    fig, axes = new_panels(3, sharey=True, spare="legend")
    exact = ex.run_asymmetric(setup, setup.r, operator=operator,
                              steps=min(ex.EXACT_STEPS, setup.steps_sensing if operator == "sensing" else setup.steps))
    over = ex.run_asymmetric(setup, setup.k_over, operator=operator)
    e_exact, e_over = _err_clip(setup, exact, floor), _err_clip(setup, over, floor)
    for i, (a, color) in enumerate(zip(setup.alphas, run_colors(len(setup.alphas)))):
        label = rf"$\alpha = {a:g}$"
        draw_band(axes[0], exact.iterations, e_exact[:, i, :], color=color, label=label)
        draw_band(axes[1], over.iterations, e_over[:, i, :], color=color, label=label)
        draw_band(axes[2], setup.eta * a ** 2 * over.iterations, e_over[:, i, :], color=color, label=label)
    axes[0].set_title(f"$k = r = {setup.r}$: one rate for every $\\alpha$")
    axes[1].set_title(f"$k = {setup.k_over} > r$: the rate falls with $\\alpha$")
    axes[2].set_title(r"$k > r$ against $\eta\alpha^2 t$")
    for ax in axes[:3]:
        ax.set_yscale("log")
    axes[0].set_xlabel("iteration $t$")
    axes[1].set_xlabel("iteration $t$")
    axes[2].set_xlabel(r"rescaled time $\eta\alpha^2 t$")
    axes[0].set_ylabel(r"$\|F_tG_t^\top - M^\star\|_F^2$")
    axes[2].set_ylabel(r"$\|F_tG_t^\top - M^\star\|_F^2$")
    legend_panel(axes[3], [axes[0]], title="initial scale")
    op = operator or setup.operator
    fig.suptitle(f"asymmetric parameterization, $n = {setup.n}$, $\\eta = {setup.eta:g}$, {op}"
                 + (f", $m = {setup.m}$" if op == "sensing" else ""))
    return fig


def fig_asym_rates(setup: XiongSetup):
    r"""Fitted rates against :math:`\alpha` (log-log): exact parameterization (both forms, flat) and asymmetric :math:`k > r` (slope 2).

    Median over directions (markers), min-max as error bars; lines: :math:`-2\ln(1-\eta\sigma_r)`
    and :math:`\eta\alpha^2` times the median constant of the smallest :math:`\alpha`.
    """
    from ..theory import asymmetric_linear_rate
    fig, ax = new_figure(height=4.0)
    a = np.asarray(setup.alphas, dtype=np.float64)
    series = [("symmetric $XX^\\top$, $k = r$", ex.exact_rates(setup, symmetric=True), "C0", "o"),
              ("asymmetric $FG^\\top$, $k = r$", ex.exact_rates(setup, symmetric=False), "C2", "s"),
              (f"asymmetric $FG^\\top$, $k = {setup.k_over} > r$", ex.over_rates(setup), "C3", "^")]
    for label, rates, color, marker in series:
        med = np.median(rates, axis=1)
        err = np.stack([med - rates.min(axis=1), rates.max(axis=1) - med])
        ax.errorbar(a, med, yerr=err, color=color, marker=marker, linestyle="none", capsize=3, label=label)
    ax.axhline(asymmetric_linear_rate(setup.eta, min(setup.sigma)), color="0.4", linestyle="--",
               label=r"$-2\ln(1-\eta\sigma_r)$")
    const = np.median(ex.over_rate_constant(setup), axis=1)[-1]
    grid = np.geomspace(a.min(), a.max(), 50)
    ax.plot(grid, const * setup.eta * grid ** 2, color="C3", linestyle=":", label=r"$\propto \eta\alpha^2$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"initial scale $\alpha$")
    ax.set_ylabel("fitted rate of $\\|Z_t - M^\\star\\|_F^2$ per iteration")
    ax.set_title(f"linear rates, $n = {setup.n}$, {setup.operator}")
    ax.legend()
    return fig


def fig_asym_vs_sym(setup: XiongSetup, *, floor: float = 1e-20):
    r"""Over-parameterized (:math:`k =` ``k_over``) symmetric and asymmetric GD from the same :math:`\alpha`, same budget, with the level :math:`10^{-10}`."""
    from .style import run_colors
    fig, ax = new_figure()
    asym = _err_clip(setup, ex.run_asymmetric(setup, setup.k_over), floor)
    symm = ex.run_symmetric(setup, setup.k_over)
    sym = _err_clip(setup, symm, floor)
    for i, (a, color) in enumerate(zip(setup.alphas, run_colors(len(setup.alphas)))):
        draw_band(ax, symm.iterations, sym[:, i, :], color=color, linestyle="--")
        draw_band(ax, symm.iterations, asym[:, i, :], color=color, label=rf"$\alpha = {a:g}$")
    ax.axhline(ex.REACH_LEVEL, color="0.4", linewidth=0.8)
    ax.plot([], [], color="0.3", label="asymmetric $FG^\\top$ (solid)")
    ax.plot([], [], color="0.3", linestyle="--", label="symmetric $XX^\\top$ (dashed)")
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"squared error $\|Z_t - M^\star\|_F^2$")
    ax.set_title(f"$k = {setup.k_over} > r = {setup.r}$, same $\\alpha$ and budget")
    ax.legend()
    return fig


def fig_one_step(setup: XiongSetup, *, floor: float = 1e-20):
    r"""The one-step modification: squared error (left) and :math:`\lambda_{\min}(F_t^\top F_t)` (right), with (solid) and without it (dashed)."""
    from ..setups import with_overrides
    from .style import run_colors
    fig, (ax_e, ax_l) = new_figure(2, 1, height=6.0, sharex=True)
    fixed = ex.one_step_run(setup, steps=ex.SENSITIVITY_STEPS)
    plain = ex.one_step_run(with_overrides(setup, {"one_step": False}), steps=ex.SENSITIVITY_STEPS)
    T = ex.per_run(setup, ex.run_switches(setup, fixed))
    for i, (a, color) in enumerate(zip(setup.alphas, run_colors(len(setup.alphas)))):
        for traj, style in ((fixed, "-"), (plain, "--")):
            lab = rf"$\alpha = {a:g}$" if style == "-" else None
            draw_band(ax_e, traj.iterations, _err_clip(setup, traj, floor)[:, i, :], color=color, linestyle=style, label=lab)
            draw_band(ax_l, traj.iterations, ex.per_run(setup, traj["lambda_min_FtF"])[:, i, :], color=color,
                      linestyle=style, label=lab)
        ax_e.axvline(np.median(T[i]), color=color, linewidth=0.6, linestyle=":")
    ax_l.axhline(float(np.median(ex.switch_c2(setup))), color="0.4", linewidth=0.8, label="$c^2$")
    for ax in (ax_e, ax_l):
        ax.set_yscale("log")
    ax_l.set_xlabel("iteration $t$")
    ax_e.set_ylabel(r"$\|F_tG_t^\top - M^\star\|_F^2$")
    ax_l.set_ylabel(r"$\lambda_{\min}(F_t^\top F_t)$")
    ax_e.set_title("solid: re-balanced at the switch (dotted), dashed: plain GD")
    ax_l.set_title("the step lifts $F$'s smallest singular value to $c$")
    ax_l.legend(ncol=2)
    fig.suptitle(f"$k = {setup.k_over} > r$, $n = {setup.n}$, switch at loss $\\leq$ "
                 f"{setup.switch_threshold:g} $\\times$ initial loss")
    return fig


def fig_one_step_sensitivity(setup: XiongSetup):
    r"""Sensitivity of the one-step modification: post-switch rate against :math:`c^2` (left, with :math:`-2\ln(1-\eta\min(c^2,\sigma_r^2/c^2))`) and iterations to :math:`10^{-10}` against the threshold (right)."""
    from .style import run_colors
    fig, (ax_c, ax_t) = new_figure(2, 1, height=6.0)
    cs = ex.c_sensitivity(setup)
    th = ex.threshold_sensitivity(setup)
    colors = run_colors(len(setup.alphas))
    for i, (a, color) in enumerate(zip(setup.alphas, colors)):
        off = 1.0 + 0.03 * (i - len(setup.alphas) / 2)
        ax_c.plot(cs["c2"] * off, np.median(cs["rates"][:, i, :], axis=1), "o", color=color, label=rf"$\alpha = {a:g}$")
        ax_t.plot(th["thresholds"] * off, np.median(th["reach"][:, i, :], axis=1), "o-", color=color,
                  label=rf"$\alpha = {a:g}$")
    grid = np.geomspace(cs["c2"].min(), cs["c2"].max(), 100)
    from ..theory import asymmetric_linear_rate, one_step_gram_eigenvalue
    ax_c.plot(grid, [asymmetric_linear_rate(setup.eta, one_step_gram_eigenvalue(min(setup.sigma), g)) for g in grid],
              color="0.4", linestyle="--", label=r"$-2\ln(1-\eta\min(c^2, \sigma_r^2/c^2))$")
    ax_c.set_xscale("log")
    ax_t.set_xscale("log")
    ax_c.set_xlabel(r"re-balancing constant $c^2$")
    ax_c.set_ylabel("post-switch rate per iteration")
    ax_t.set_xlabel("switch threshold (fraction of the initial loss)")
    ax_t.set_ylabel(r"iterations to $\|F_tG_t^\top - M^\star\|_F^2 \leq 10^{-10}$")
    ax_c.legend()
    ax_t.legend()
    ax_c.set_title("rate: set by $c$, not by $\\alpha$")
    ax_t.set_title("the threshold moves the switch, not the rate")
    return fig


# -- book/xiong/symmetric_lower_bound (Section 3) --------------------------------------------------



def fig_sym_asymptote(setup: XiongSetup, *, floor: float = 1e-20):
    r"""Symmetric GD, the :math:`1/t^2` tail: error against :math:`t` (log-log, left), :math:`t^2\eta^2\mathrm{err}` against :math:`t` (middle), the constant against :math:`k - r` (right).

    Left and middle: runs of :func:`matsense.experiments.xiong.run_symmetric` with
    :math:`k =` ``setup.k_over`` for every :math:`\alpha` (and :math:`k = r` in grey, left), median over
    directions, min-max shaded, values below ``floor`` not drawn; dashed: the asymptote
    :math:`(k-r)/(4\eta^2t^2)` (:func:`matsense.theory.redundant_limit`). Right: for each
    :math:`k` of ``setup.k_grid`` (:func:`matsense.experiments.xiong.sym_k_sweep`), the end value of
    :math:`t^2\eta^2\mathrm{err}` at the largest :math:`\alpha` and the offset-free constants of every run
    (:func:`matsense.experiments.xiong.asymptote_constant`), against :math:`(k - r)/4`.
    """
    from ..theory import redundant_limit
    from .style import run_colors
    fig, axes = new_panels(3, spare="legend", height=6.4)
    over = ex.run_symmetric(setup, setup.k_over)
    exact = ex.run_symmetric(setup, setup.r)
    e_over, e_exact = _err(setup, over, floor), _err(setup, exact, floor)
    t = over.iterations.astype(float)
    limit = redundant_limit(setup.k_over, setup.r)
    colors = run_colors(len(setup.alphas))
    for i, (a, color) in enumerate(zip(setup.alphas, colors)):
        label = rf"$\alpha = {a:g}$"
        draw_band(axes[0], t, e_over[:, i, :], color=color, label=label)
        draw_band(axes[1], t, (t[:, None] * setup.eta) ** 2 * e_over[:, i, :], color=color, label=label,
                  logy=False)
        draw_band(axes[0], exact.iterations, e_exact[:, i, :], color="0.6",
                  label=f"$k = r = {setup.r}$" if i == 0 else None)
    late = t[t > 0]
    axes[0].plot(late, limit / (setup.eta * late) ** 2, "k--", lw=1, label=r"$(k-r)/(4\eta^2t^2)$")
    axes[1].axhline(limit, color="k", ls="--", lw=1, label=r"$(k-r)/4$")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_ylim(bottom=floor)
    axes[1].set_xscale("log")
    axes[1].set_ylim(0, 1.3 * limit)
    axes[0].set_title(f"$k = {setup.k_over} > r$: slope $-2$ on log-log axes")
    axes[1].set_title("every $\\alpha$ tends to the same constant")
    axes[0].set_xlabel("iteration $t$ (log scale)")
    axes[1].set_xlabel("iteration $t$ (log scale)")
    axes[0].set_ylabel(r"squared error $\|X_tX_t^\top - M^\star\|_F^2$")
    axes[1].set_ylabel(r"$t^2\eta^2\,\|X_tX_t^\top - M^\star\|_F^2$")
    axes[0].legend(loc="lower left")
    axes[1].legend(loc="lower right")
    sweep = ex.sym_k_sweep(setup)
    excess = sweep["k"] - setup.r
    for i, (a, color) in enumerate(zip(setup.alphas, colors)):
        axes[2].plot(excess + 0.06 * (i - 1), np.median(sweep["constants"][:, i, :], axis=1), "o",
                     color=color, mfc="none", label=rf"offset-free $C$, $\alpha = {a:g}$")
    axes[2].plot(excess, np.median(sweep["scaled_last"][:, 0, :], axis=1), "kx", ms=8,
                 label=rf"$t^2\eta^2\,$err at $t = {setup.steps_mf}$, $\alpha = {setup.alphas[0]:g}$")
    grid = np.linspace(0, excess.max(), 50)
    axes[2].plot(grid, grid / 4, "k--", lw=1, label=r"$(k-r)/4$")
    axes[2].set_xlabel("redundant columns $k - r$")
    axes[2].set_ylabel(r"$\lim_t\, t^2\eta^2\,\mathrm{err}_t$")
    axes[2].set_title("the constant counts redundant columns")
    legend_panel(axes[3], [axes[2]])
    fig.suptitle(f"symmetric parameterization, $n = {setup.n}$, $r = {setup.r}$, $\\eta = {setup.eta:g}$, "
                 f"{setup.operator}")
    return fig


# -- book/xiong/preliminaries and book/xiong/conclusion (X1) ----------------------------------------

def fig_invisible(setup: XiongSetup, *, floor: float = 1e-20):
    r"""Asymmetric GD (:math:`k = r`, sensing) with symmetric against general :math:`A_i`: error and its antisymmetric part.

    Left: symmetric :math:`A_i` (:func:`matsense.experiments.xiong.invisible_part_run` with
    ``sensing_matrices="symmetric"``); right: general :math:`A_i`. Each panel shows
    :math:`\lVert Z_t - M^\star\rVert_F^2` and :math:`\lVert (Z_t - Z_t^\top)/2\rVert_F^2` against :math:`t`.
    """
    from ..setups import with_overrides
    fig, axes = new_figure(1, 2, sharey=True)
    for ax, mats, title in zip(axes, ("symmetric", "matched"),
                               (r"symmetric $A_i$", r"general (non-symmetric) $A_i$")):
        tr = ex.invisible_part_run(with_overrides(setup, {"sensing_matrices": mats}))
        for name, color, label in (("squared_error", "C0", r"error $\|Z_t - M^\star\|_F^2$"),
                                   ("antisymmetric", "C3", r"antisymmetric part $\|(Z_t - Z_t^\top)/2\|_F^2$")):
            v = tr[name]
            draw_band(ax, tr.iterations, np.where(v > floor, v, np.nan), color=color, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("iteration $t$")
        ax.set_title(title)
    axes[0].set_ylabel("squared Frobenius norm")
    axes[0].legend(loc="lower left")
    fig.suptitle(rf"$F G^\top$, $k = r = {setup.r}$, $\alpha = {setup.alphas[0]:g}$, $m = {setup.m}$, $n = {setup.n}$")
    return fig


def fig_imbalance(setup: XiongSetup):
    r""":math:`\lambda_{\min}(F_t^\top F_t - G_t^\top G_t)/\lambda_{\min}(\Delta_0)` against :math:`t`, one band per :math:`\alpha` (factorization, :math:`k =` ``k_over``)."""
    fig, ax = new_figure()
    tr = ex.run_asymmetric(setup, setup.k_over)
    lam = ex.per_run(setup, tr["imbalance_min"])
    t = np.maximum(tr.iterations, 1)
    for i, (alpha, color) in enumerate(zip(setup.alphas, ["C0", "C1", "C2", "C3", "C4", "C5"])):
        draw_band(ax, t, lam[:, i] / lam[0, i][None], color=color, label=rf"$\alpha = {alpha:g}$", logy=False)
    ax.set_xscale("log")
    ax.set_xlabel("iteration $t$ ($t = 0$ drawn at 1)")
    ax.set_ylabel(r"$\lambda_{\min}(\Delta_t)\,/\,\lambda_{\min}(\Delta_0)$")
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.legend()
    ax.set_title(rf"imbalance under GD, $\eta = {setup.eta:g}$, $k = {setup.k_over}$")
    return fig


def fig_recipe(setup: XiongSetup, *, alpha_index: int = -1, floor: float = 1e-20):
    r"""The recipe against the oracle: squared error against :math:`t` for asymmetric :math:`k = \max k` with the
    one-step modification, symmetric :math:`k = r` and symmetric :math:`k = \max k` (factorization)."""
    fig, ax = new_figure()
    k, steps = max(setup.k_grid), ex.recipe_steps(setup)
    runs = ((ex.run_asymmetric(setup, k, operator="factorization", steps=steps, one_step=True), "C2",
             rf"asymmetric $FG^\top$, $k = {k}$, one modified step"),
            (ex.run_symmetric(setup, setup.r, operator="factorization", steps=steps), "C0",
             rf"symmetric $XX^\top$, exact rank $k = r = {setup.r}$"),
            (ex.run_symmetric(setup, k, operator="factorization", steps=steps), "C1",
             rf"symmetric $XX^\top$, $k = {k}$"))
    for tr, color, label in runs:
        err = ex.per_run(setup, tr["squared_error"])[:, alpha_index]
        draw_band(ax, tr.iterations, np.where(err > floor, err, np.nan), color=color, label=label)
    ax.axhline(ex.RECIPE_TARGET, color="0.5", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"squared error $\|Z_t - M^\star\|_F^2$")
    ax.legend(loc="lower left")
    ax.set_title(rf"$\alpha = {setup.alphas[alpha_index]:g}$, $n = {setup.n}$, $\eta = {setup.eta:g}$")
    return fig


def fig_redundant_pair(alphas, eta: float, steps: int):
    r"""The redundant pair of :func:`matsense.theory.redundant_pair` for several :math:`\alpha`: the squared
    error against the iteration (semi-log), with the predicted rate dashed."""
    from .. import theory
    from .style import run_colors
    fig, ax = new_figure()
    t = np.arange(steps + 1)
    for a, c in zip(alphas, run_colors(len(alphas))):
        err = theory.redundant_pair(a, eta, steps)
        ax.semilogy(t, err, color=c, label=rf"$\alpha$ = {a:g}")
        ax.semilogy(t, err[0] * np.exp(-theory.redundant_pair_rate(a, eta) * t), color=c, ls="--", lw=1)
    ax.set_xlabel("iteration $t$")
    ax.set_ylabel(r"squared error $(j_t\kappa_t)^2$")
    ax.set_title(r"one redundant pair, $j_0 = \alpha$, $\kappa_0 = \alpha/3$; dashed: predicted rate")
    ax.legend()
    return fig
