r"""Figures of the Wind (2023; v2 2025) chapter (asymmetric sensing from small random initialisation).

One function per figure; each takes the chapter's setup (or results computed from it), reads the
cached runs of :mod:`matsense.experiments.wind` and returns a fully labelled matplotlib Figure
(axes with units, legends). Multi-panel figures are 1 x 2 or 2 x 2 grids (the book shows them at
column width). Curves over initial directions are the median with the min-max range shaded.
"""

from __future__ import annotations

import numpy as np

from ..experiments import wind as ex
from ..setups import WindSetup
from .style import new_figure, run_colors
from .trajectories import draw_band

__all__ = ["per_run", "fig_motivation", "fig_misalignment", "fig_flow", "fig_threshold",
           "fig_perturbation", "fig_rip", "fig_noise", "fig_changing", "fig_bounded",
           "fig_conv_reach", "fig_conv_error", "fig_gd_flow"]


def per_run(values: np.ndarray, n_alphas: int, n_seeds: int) -> np.ndarray:
    """Reshape ``(..., B)`` with ``B = n_alphas * n_seeds`` to ``(..., n_alphas, n_seeds)``."""
    v = np.asarray(values)
    return v.reshape(*v.shape[:-1], n_alphas, n_seeds)


# --- book/wind/motivation, setup, flow and conclusion (W1) -------------------------------------------

def fig_motivation(setup: WindSetup):
    r"""Small against large initialisation below the dimension: error and fit (left), final spectrum (right).

    Runs of :func:`matsense.experiments.wind.bias_run` (``m_under`` measurements, ``steps_bias``
    steps): relative error :math:`\lVert F_tG_t^\top - M^\star\rVert_F/\lVert M^\star\rVert_F` (solid) and
    training loss over its initial value (dashed) against :math:`t`, median over directions with
    the min-max range shaded; right, the singular values of :math:`F_TG_T^\top` (median over directions)
    with those of :math:`M^\star`.
    """
    traj, summ = ex.bias_run(setup), ex.bias_summary(setup)
    alphas = summ["alphas"]
    fig, (ax_t, ax_s) = new_figure(1, 2, width=10.0, height=3.8)
    colors = ["C3", "C0"] if len(alphas) == 2 else run_colors(len(alphas))
    err = per_run(traj["relative_error"], len(alphas), setup.n_seeds)
    fit = per_run(traj["loss"] / traj["loss"][0], len(alphas), setup.n_seeds)
    idx = np.arange(1, summ["spectrum"].shape[-1] + 1)
    for i, (a, c) in enumerate(zip(alphas, colors)):
        draw_band(ax_t, traj.iterations, err[:, i], color=c, label=rf"error, $\alpha = {a:g}$")
        draw_band(ax_t, traj.iterations, fit[:, i], color=c, linestyle="--", label=rf"training loss / initial, $\alpha = {a:g}$")
        ax_s.plot(idx, np.median(summ["spectrum"][i], axis=0), "o-", color=c, ms=3, label=rf"$F_TG_T^\top$, $\alpha = {a:g}$")
    ax_s.plot(np.arange(1, setup.r + 1), setup.sigma, "k*", ms=10, label=r"$M^\star$")
    ax_t.set_xlabel("iteration $t$")
    ax_t.set_ylabel("relative error, relative training loss")
    ax_t.set_title(f"$m = {setup.m_under}$ measurements $< n_1n_2 = {setup.dim}$")
    ax_t.legend(fontsize="x-small", loc="lower left")
    ax_s.set_yscale("log")
    ax_s.set_xlabel("index $i$")
    ax_s.set_ylabel(r"singular value $\sigma_i$ at the end")
    ax_s.set_title("the fits found")
    ax_s.legend(fontsize="small", loc="lower left")
    return fig


def fig_misalignment(setup: WindSetup):
    r"""Misalignment (v2's :math:`\alpha`) of independent Gaussian starts against the width :math:`h`.

    One dot per initial direction (:func:`matsense.experiments.wind.init_misalignment`), log scale;
    the crosses are the estimate :func:`matsense.theory.wind_misalignment_estimate` (defined for :math:`h > r`).
    """
    from ..theory import wind_misalignment_estimate

    fig, ax = new_figure(1, 1, width=6.4, height=3.6)
    rng = np.random.default_rng(0)                      # horizontal jitter of the dots only
    for i, h in enumerate(setup.h_grid):
        v = ex.init_misalignment(setup, h=h)
        ax.plot(i + 0.08 * rng.standard_normal(v.size), v, "o", color="C0", ms=3, alpha=0.6,
                label="one initial direction" if i == 0 else None)
        if h > setup.r:
            ax.plot(i, wind_misalignment_estimate(setup.n1, setup.n2, setup.r, h), "kx", ms=10, mew=2,
                    label="estimate (our derivation)" if h == max(setup.h_grid) else None)
    names = [f"$h = {h}$" + (" $= r$" if h == setup.r else "") + (r" $= \max(n_1, n_2)$" if h == max(setup.n1, setup.n2) else "")
             for h in setup.h_grid]
    ax.set_xticks(range(len(setup.h_grid)), names)
    ax.set_yscale("log")
    ax.set_xlabel("width $h$ of the factors")
    ax.set_ylabel(r"misalignment $\sqrt{2}\,a_0/\sigma_r(U^\top F_0 + V^\top G_0)$")
    ax.legend(fontsize="small")
    return fig


def fig_flow(setup: WindSetup):
    r"""The gradient flow: relative error against time with v2's horizon marked (left); phases of one run (right).

    :func:`matsense.experiments.wind.flow_study`: left, one run per scale of ``flow_alphas``
    (direction 0), the dotted verticals at each run's horizon :math:`5\log(\sigma_r/a_0^2)/\sigma_r`;
    right, the top :math:`r + 1` singular values of :math:`F_tG_t^\top` for the smallest scale, the
    shaded bands the phases (alignment, growth, local convergence) read off the escape times.
    """
    st = ex.flow_study(setup)
    t = st["times"]
    fig, (ax_e, ax_s) = new_figure(1, 2, width=10.0, height=3.8)
    colors = run_colors(len(st["alphas"]))
    for i, (a, c) in enumerate(zip(st["alphas"], colors)):
        ax_e.plot(t, st["relative_error"][:, i], color=c, label=rf"$\alpha = {a:g}$ ($a_0 = {st['a0'][i]:.1e}$)")
        if np.isfinite(st["horizon"][i]):
            ax_e.axvline(st["horizon"][i], color=c, linestyle=":", linewidth=1.2)
    ax_e.set_yscale("log")
    ax_e.set_xlabel("time $t$ of the flow")
    ax_e.set_ylabel(r"relative error $\|F_tG_t^\top - M^\star\|_F/\|M^\star\|_F$")
    ax_e.set_title("dotted: the horizon of the v2 analysis")
    ax_e.legend(fontsize="x-small", loc="lower left")
    phases = ex.flow_phases(st, setup.sigma)[-1]
    spec = st["spectrum"][:, -1]
    for k in range(spec.shape[1]):
        ax_s.plot(t, spec[:, k], color="C0" if k < setup.r else "C3",
                  label=(r"$\sigma_i(F_tG_t^\top)$, $i \leq r$" if k == 0 else
                         (r"$\sigma_{r+1}(F_tG_t^\top)$" if k == setup.r else None)))
    end = st["horizon"][-1] if np.isfinite(st["horizon"][-1]) else t[-1]
    for (lo, hi), name, c in zip(((0.0, phases[0]), tuple(phases), (phases[1], end)),
                                 ("alignment", "growth", "local convergence"), ("0.85", "C2", "C1")):
        ax_s.axvspan(lo, hi, color=c, alpha=0.15, label=name)
    ax_s.set_yscale("log")
    ax_s.set_xlim(0.0, min(t[-1], 2.0 * phases[1]))
    ax_s.set_xlabel("time $t$ of the flow")
    ax_s.set_ylabel("singular value")
    ax_s.set_title(rf"phases at $\alpha = {st['alphas'][-1]:g}$")
    ax_s.legend(fontsize="x-small", loc="lower right")
    return fig


def fig_threshold(setup: WindSetup):
    r"""How small the initialisation must be: final error against the measured :math:`a_0`, with v2's condition.

    :func:`matsense.experiments.wind.threshold_run` (``m_under`` measurements): median over
    directions (min-max as error bars) of the relative error after ``steps_bias`` steps at each of
    ``threshold_alphas``; dashed, the recovery level; dotted, v2's condition on :math:`a_0` without its
    constant.
    """
    res = ex.practical_threshold(setup)
    s = ex.final_summary(ex.threshold_run(setup), ex.truth(setup))
    err = s["error"]
    fig, ax = new_figure(1, 1, width=6.4, height=3.6)
    med = np.median(err, axis=1)
    ax.errorbar(res["a0"], med, yerr=[med - err.min(axis=1), err.max(axis=1) - med], fmt="o-", color="C0",
                capsize=3, label="final error (median, min-max over directions)")
    ax.axhline(ex.RECOVERY_LEVEL, color="k", linestyle="--", linewidth=1, label="recovery level")
    ax.axvline(res["bound"], color="C3", linestyle=":", linewidth=1.5, label="v2's condition on $a_0$ (constant 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"initial scale $a_0 = \|[F_0; G_0]\|_2$")
    ax.set_ylabel(r"relative error $\|F_TG_T^\top - M^\star\|_F/\|M^\star\|_F$")
    ax.legend(fontsize="small", loc="upper left")
    return fig




# --- book/wind/robustness and book/wind/noise (W3) -------------------------------------------------

#: Line style of each kind of injected perturbation.
_KIND_STYLE = {"adversarial": dict(color="C3", marker="o"), "random": dict(color="C0", marker="s"),
               "fresh": dict(color="C2", marker="^")}


def _median_band(ax, x: np.ndarray, values: np.ndarray, *, label: str, **style) -> None:
    """Median over directions (markers and line) and min-max range (shaded) of ``values`` ``(len(x), S)``; NaN left out."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v).all(axis=1) & (v > 0).all(axis=1)
    if not ok.any():
        return
    med = np.median(v[ok], axis=1)
    line, = ax.plot(x[ok], med, ms=4, label=label, **style)
    if v.shape[1] > 1:
        ax.fill_between(x[ok], v[ok].min(axis=1), v[ok].max(axis=1), color=line.get_color(), alpha=0.2, linewidth=0)


def fig_perturbation(setup: WindSetup):
    r"""Error at the theorem's step :math:`K` against the size :math:`\xi` of an injected gradient perturbation.

    2 x 2 grid, one column per condition number of ``setup.kappa_grid`` (the first and the last),
    :func:`matsense.experiments.wind.perturbation_study` on the full observation of :math:`M^\star`.
    Top: relative Frobenius error against :math:`\xi/\sigma_r` (log-log) for the adversarial, random
    and (first column) fresh perturbations, median over directions with the range shaded; dotted,
    slope 1. Vertical lines: the measured breakdown point (adversarial), our prediction
    (:func:`matsense.theory.wind_breakdown_prediction`) and v2's budget
    :math:`\Vert Y\Vert/(\kappa^3\log(\sigma_r/a_0^2))` with constant 1. Bottom: the spectral
    error over :math:`\kappa\xi` (Theorem 2.8's term with constant 1: the line at 1).
    """
    kappas = (setup.kappa_grid[0], setup.kappa_grid[-1])
    fig, axes = new_figure(2, 2, width=10.0, height=7.0)
    for col, kappa in enumerate(kappas):
        ax_f, ax_s = axes[col], axes[2 + col]
        directions = None if col == 0 else 1
        kinds = ("adversarial", "random", "fresh") if col == 0 else ("adversarial", "random")
        for kind in kinds:
            st = ex.perturbation_study(setup, kind=kind, kappa=kappa, directions=directions)
            _median_band(ax_f, st["xi"], st["relative_error"], label=kind, **_KIND_STYLE[kind])
            _median_band(ax_s, st["xi"], st["spectral_error"] / (kappa * st["xi_abs"][:, None]), label=kind,
                         **_KIND_STYLE[kind])
        st = ex.perturbation_study(setup, kappa=kappa, directions=directions)
        x = st["xi"]
        lin = np.median(st["relative_error"][0]) * x / x[0]
        ax_f.plot(x, lin, ":", color="0.4", label=r"slope 1 ($\propto\xi$)")
        sr = st["sigma_r"]
        for value, style, label in ((np.median(ex.breakdown_points(st)), dict(color="k"), "measured breakdown"),
                                    (np.median(ex.predicted_breakdowns(st, setup.eta)), dict(color="k", linestyle="--"),
                                     "our prediction"),
                                    (np.median(st["budget"]), dict(color="C4", linestyle="-."), r"v2 budget, $c_4 = 1$")):
            if np.isfinite(value) and x[0] <= value / sr <= x[-1]:
                ax_f.axvline(value / sr, lw=1, label=label, **style)
        ax_f.set_xscale("log")
        ax_f.set_yscale("log")
        ax_f.set_xlabel(r"perturbation size $\xi/\sigma_r$")
        ax_f.set_ylabel(r"relative error at $K$ (Frobenius)")
        ax_f.set_title(rf"$\kappa = {kappa:g}$, $\sigma_r = {sr:g}$")
        ax_s.axhline(1.0, color="0.4", lw=1, linestyle=":")
        ax_s.set_xscale("log")
        ax_s.set_yscale("log")
        ax_s.set_xlabel(r"perturbation size $\xi/\sigma_r$")
        ax_s.set_ylabel(r"$\Vert F_KG_K^\top - M^\star\Vert_2/(\kappa\xi)$")
    axes[0].legend(fontsize="small", loc="upper left")
    axes[2].legend(fontsize="small", loc="lower left")
    return fig


def fig_rip(setup: WindSetup):
    r"""Plain GD at :math:`m = q\,(n_1 + n_2 - r)r` measurements: final error (left) and success rate (right).

    :func:`matsense.experiments.wind.rip_sweep`: one dot per initial direction (left, log scale,
    with the success and failure levels); the fraction of directions below the success level (right).
    """
    sw = ex.rip_sweep(setup)
    q = sw["ratios"]
    fig, (ax_e, ax_r) = new_figure(1, 2, width=10.0, height=3.6)
    for j in range(sw["errors"].shape[1]):
        ax_e.plot(q, sw["errors"][:, j], "o", color="C0", ms=4, alpha=0.7,
                  label="one initial direction" if j == 0 else None)
    ax_e.axhline(ex.SUCCESS_LEVEL, color="C2", lw=1, linestyle="--", label=f"success level {ex.SUCCESS_LEVEL:g}")
    ax_e.axhline(ex.FAILURE_LEVEL, color="C3", lw=1, linestyle=":", label=f"failure level {ex.FAILURE_LEVEL:g}")
    ax_e.set_yscale("log")
    ax_e.set_xlabel(r"$m/((n_1 + n_2 - r)r)$")
    ax_e.set_ylabel(f"relative error after {setup.rip_steps} steps")
    ax_e.legend(fontsize="small", loc="upper right")
    ax_r.plot(q, sw["success"], "o-", color="C0")
    ax_r.set_ylim(-0.05, 1.05)
    ax_r.set_xlabel(r"$m/((n_1 + n_2 - r)r)$")
    ax_r.set_ylabel(f"success rate (error < {ex.SUCCESS_LEVEL:g})")
    return fig


def fig_noise(setup: WindSetup):
    r"""Noisy measurements: best and final error against the noise level (left), the error along each run (right).

    :func:`matsense.experiments.wind.noise_study` (one initial direction): absolute Frobenius error
    :math:`\Vert F_tG_t^\top - M^\star\Vert_F`; left, its minimum over the run (early stopping
    with an oracle) and its final value against :math:`s`, with the reference
    :math:`s\sqrt{(n_1 + n_2)r/m}` (dashed); right, the error against the iteration, one colour per
    level, the reference as a dashed level and the best iteration as a dot.
    """
    st = ex.noise_study(setup)
    s = st["levels"]
    fig, (ax_l, ax_t) = new_figure(1, 2, width=10.0, height=3.8)
    ax_l.plot(s, st["best"], "o-", color="C0", label="best (early-stopped)")
    ax_l.plot(s, st["final"], "s-", color="C3", label=f"final ({setup.noise_steps} steps)")
    ax_l.plot(s, st["reference"], "--", color="0.3", label=r"$s\sqrt{(n_1 + n_2)r/m}$")
    ax_l.set_xscale("log")
    ax_l.set_yscale("log")
    ax_l.set_xlabel(r"noise level $s$ (standard deviation of $\varepsilon_i$)")
    ax_l.set_ylabel(r"$\Vert F_tG_t^\top - M^\star\Vert_F$")
    ax_l.set_title(f"$m = {st['m']}$")
    ax_l.legend(fontsize="small", loc="upper left")
    colors = run_colors(len(s))
    for i, (level, c) in enumerate(zip(s, colors)):
        pos = st["iterations"] > 0
        ax_t.plot(st["iterations"][pos], st["error"][pos, i], color=c, label=f"$s = {level:g}$")
        ax_t.axhline(st["reference"][i], color=c, lw=0.8, linestyle="--")
        ax_t.plot(st["best_iteration"][i], st["best"][i], "o", color=c, ms=4)
    ax_t.set_xscale("log")
    ax_t.set_yscale("log")
    ax_t.set_xlabel("iteration $t$")
    ax_t.set_ylabel(r"$\Vert F_tG_t^\top - M^\star\Vert_F$")
    ax_t.legend(fontsize="small", loc="lower left")
    return fig




# --- book/wind/changing_measurements and book/wind/bounded (W4) --------------------------------------

from .style import label_level  # noqa: E402

def _median_errorbars(ax, x: np.ndarray, values: np.ndarray, *, top: float, diverged=None, **kw) -> None:
    """Median over directions (markers) with the min-max range as bars; rows with a diverged run drawn as x at ``top``."""
    v = np.asarray(values, dtype=np.float64)
    bad = np.zeros(v.shape[0], bool) if diverged is None else np.asarray(diverged).any(axis=1)
    med = np.median(v[~bad], axis=1)
    lo, hi = v[~bad].min(axis=1), v[~bad].max(axis=1)
    ax.errorbar(x[~bad], med, yerr=[med - lo, hi - med], **kw)
    if bad.any():
        ax.plot(x[bad], np.full(int(bad.sum()), top), "x", color=kw.get("color"), ms=7, label="diverged")


def fig_changing(setup: WindSetup):
    r"""Fresh measurement batches against fixed measurements: error against :math:`t` (left), error at :math:`K` against the batch size (right).

    Left: :math:`\lVert F_tG_t^\top - M^\star\rVert_2` (median over directions, min-max shaded) for
    GD on the ``m`` fixed measurements (:func:`matsense.experiments.wind.recovery_run`), fresh
    Gaussian batches of :math:`b = r(n_1 + n_2)` and :math:`5r(n_1 + n_2)` per step, and, beyond
    Theorem 2.9, fresh batches of :math:`0.2\,r(n_1 + n_2)` and mini-batches of :math:`r(n_1 + n_2)`
    resampled from the fixed set (:func:`matsense.experiments.wind.online_run`). Right: the error at
    the theorem's step :math:`K` against :math:`b/(r(n_1 + n_2))` (:func:`matsense.experiments.wind.batch_sweep`);
    batches below :math:`r(n_1 + n_2)` shaded; a cross marks diverged runs.
    """
    sweep = ex.batch_sweep(setup)
    ref, K = sweep["reference"], sweep["K"]
    fig, (ax_t, ax_b) = new_figure(1, 2)
    fixed = ex.recovery_run(setup)
    draw_band(ax_t, fixed.iterations, fixed["spectral_error"], color="k", label=f"fixed, $m = {setup.m}$")
    curves = [("fresh", ex.batch_size(setup, 1.0), "C0", "-", "fresh, $b = r(n_1+n_2)$"),
              ("fresh", ex.batch_size(setup, 5.0), "C2", "-", "fresh, $b = 5r(n_1+n_2)$"),
              ("fresh", ex.batch_size(setup, 0.2), "C1", "--", "fresh, $b = 0.2r(n_1+n_2)$"),
              ("resample", min(setup.m, ex.batch_size(setup, 1.0)), "C3", ":", "resampled, $b = r(n_1+n_2)$")]
    for source, b, color, ls, label in curves:
        traj = ex.online_run(setup, b, source)
        draw_band(ax_t, traj.iterations, traj["spectral_error"], color=color, linestyle=ls, label=label)
    ax_t.set_yscale("log")
    ax_t.set_ylim(top=300.0)   # room for the legend above the curves (the error starts at about 1)
    ax_t.set_xlabel("iteration $t$")
    ax_t.set_ylabel(r"error $\|F_tG_t^\top - M^\star\|_2$")
    ax_t.set_title(f"along the runs, to $K = {K}$")
    ax_t.legend(loc="upper right")
    ok = ~sweep["diverged_fresh"].any(axis=1)
    top = 3.0 * float(max(sweep["err_fresh"][ok].max(), sweep["err_resample"].max(), sweep["err_fixed"].max()))
    ax_b.axvspan(min(sweep["b_fresh"].min(), sweep["b_resample"].min()) / ref / 1.3, 1.0, color="0.9", zorder=0,
                 label="beyond Theorem 2.9")
    ax_b.axhline(float(np.median(sweep["err_fixed"])), color="k", lw=1.0, label=f"fixed, $m = {setup.m}$")
    _median_errorbars(ax_b, sweep["b_fresh"] / ref, sweep["err_fresh"], top=top, color="C0", fmt="o-",
                      diverged=sweep["diverged_fresh"], label="fresh batch at every step")
    _median_errorbars(ax_b, sweep["b_resample"] / ref, sweep["err_resample"], top=top, color="C3", fmt="s:",
                      label=f"resampled from the fixed ${setup.m}$")
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_ylim(top=top * 40)   # room for the legend above the points
    ax_b.set_xlabel(r"batch size $b\,/\,r(n_1+n_2)$")
    ax_b.set_ylabel(r"error at $K$, $\|F_KG_K^\top - M^\star\|_2$")
    ax_b.set_title(f"$r(n_1+n_2) = {ref}$, $n_1n_2 = {setup.dim}$")
    ax_b.legend(loc="upper right")
    return fig


def fig_bounded(setup: WindSetup):
    r"""Stacked factor norm, imbalance and error along GD runs from small and large initialisations (2 x 2).

    Runs of :func:`matsense.experiments.wind.large_init_runs` (median over directions, min-max
    shaded): (a) :math:`\lVert[F_t; G_t]\rVert_2/\sqrt{\sigma_1}` with Theorem 6.1's :math:`3/2` and the
    balanced fit's :math:`\sqrt2`; (b) the imbalance :math:`\lVert F_t^\top F_t - G_t^\top G_t\rVert_2`
    with the drift bound :math:`\eta\sigma_1^2/4`; (c) the relative error; (d) the stacked norm at the
    largest condition number of ``setup.kappa_grid``, default scale.
    """
    from ..theory import wind_imbalance_drift
    runs = ex.large_init_runs(setup)
    alphas = (*ex.BOUNDED_ALPHAS, setup.alpha)
    colors = run_colors(len(alphas))
    fig, axes = new_figure(2, 2)
    s1 = setup.sigma[0]
    for a, color in zip(alphas, colors):
        traj = runs[a]
        label = rf"$\alpha = {a:g}$, $a_0 = {np.median(traj.params['a0']):.2g}$"
        draw_band(axes[0], traj.iterations, traj["stacked_norm"] / np.sqrt(s1), color=color, label=label, logy=False)
        draw_band(axes[1], traj.iterations, traj["imbalance_norm"], color=color, label=label)
        draw_band(axes[2], traj.iterations, traj["relative_error"], color=color, label=label)
    kappa = max(setup.kappa_grid)
    traj = runs["kappa"]
    s1k = setup.sigma_for(kappa)[0]
    draw_band(axes[3], traj.iterations, traj["stacked_norm"] / np.sqrt(s1k), color=colors[-1], logy=False,
              label=rf"$\alpha = {setup.alpha:g}$, $\kappa = {kappa:g}$")
    for ax in (axes[0], axes[3]):
        label_level(ax, ex.NORM_BOUND, "Theorem 6.1: 3/2", line=True, color="C3")
        label_level(ax, np.sqrt(2.0), r"balanced fit: $\sqrt{2}$", above=False, x=0.6)
        ax.set_ylabel(r"$\|[F_t; G_t]\|_2\,/\,\sqrt{\sigma_1}$")
    label_level(axes[1], wind_imbalance_drift(setup.eta, s1), r"drift bound $\eta\sigma_1^2/4$")
    axes[1].set_yscale("log")
    axes[1].set_ylabel(r"imbalance $\|F_t^\top F_t - G_t^\top G_t\|_2$")
    axes[2].set_yscale("log")
    axes[2].set_ylabel(r"relative error $\|F_tG_t^\top - M^\star\|_F/\|M^\star\|_F$")
    axes[0].set_title(rf"(a) stacked norm, $\kappa = {setup.kappa:g}$")
    axes[1].set_title("(b) imbalance")
    axes[2].set_title("(c) relative error")
    axes[3].set_title(rf"(d) stacked norm, $\kappa = {kappa:g}$")
    top = max(ex.NORM_BOUND, float(np.nanmax(runs[alphas[0]]["stacked_norm"])) / np.sqrt(s1)) + 0.15
    axes[0].set_ylim(0.0, top)
    axes[3].set_ylim(0.0, ex.NORM_BOUND + 0.15)
    axes[0].legend(loc="lower right")
    axes[3].legend(loc="lower right")
    for ax in axes:
        ax.set_xlabel("iteration $t$")
    return fig




# --- book/wind/convergence and book/wind/discretisation (W2) ---------------------------------------

def _by_alpha(values: np.ndarray, traj) -> np.ndarray:
    """``(T, B)`` recorded values as ``(T, n_alphas, n_seeds)``."""
    return per_run(values, len(traj.params["alphas"]), int(traj.params["n_seeds"]))


def fig_conv_reach(setup: WindSetup):
    r"""Iterations to reach the target against :math:`\log_{10}(1/a_0)` (book/wind/convergence).

    (a) Relative error against the iteration, chapter's ``m``, one curve per scale of
    ``setup.alphas_conv`` (median over directions, range shaded), the target dotted. (b) The
    iteration at which each run reaches the target against :math:`\log_{10}(1/a_0)`: every run
    (small markers), medians (large), the control scales :data:`~matsense.experiments.wind.LARGE_ALPHAS`
    (grey crosses); lines of slope :math:`\ln 10/\ln(1+\eta s_r)` (escape eigenvalue, solid) and
    :math:`\ln 10/\ln(1+\eta\sigma_r)` (dashed) through the median at the smallest :math:`a_0`.
    """
    from ..theory import wind_iterations_per_decade

    base = ex.conv_run(setup, setup.m)
    large = ex.conv_run(ex.large_alphas_setup(setup), setup.m)
    fig, axes = new_figure(1, 2)
    rel = _by_alpha(base["relative_error"], base)
    reach = ex.reach_iterations(base)
    colors = run_colors(len(setup.alphas_conv))
    for i, (a, color) in enumerate(zip(setup.alphas_conv, colors)):
        draw_band(axes[0], base.iterations, rel[:, i, :], color=color, label=rf"$\alpha = {a:g}$")
    axes[0].axhline(ex.TARGET, color="0.3", linestyle=":", linewidth=1.0, label=f"target {ex.TARGET:g}")
    axes[0].set_xlim(0, 1.3 * float(np.nanmax(reach)))
    axes[0].set_ylim(ex.TARGET / 20, 2.0)
    axes[0].set_xlabel("iteration $t$")
    axes[0].set_ylabel(r"relative error $\|F_tG_t^\top - M^\star\|_F/\|M^\star\|_F$")
    axes[0].set_title(f"(a) GD, $m = {setup.m}$, $h = {setup.h}$")
    axes[0].legend(loc="lower left")
    x = np.log10(1.0 / ex._by_direction(base.params["a0"], base))
    for i, color in enumerate(colors):
        axes[1].plot(x[i], reach[i], linestyle="none", marker=".", color=color, alpha=0.6)
        axes[1].plot(np.median(x[i]), np.median(reach[i]), linestyle="none", marker="o", color=color)
    xl = np.log10(1.0 / ex._by_direction(large.params["a0"], large))
    axes[1].plot(xl.ravel(), ex.reach_iterations(large).ravel(), linestyle="none", marker="x", color="0.5",
                 label=r"large $\alpha$ (control)")
    s_r = float(base.params["escape"][setup.r - 1])
    x0, y0 = float(np.median(x[-1])), float(np.median(reach[-1]))
    grid = np.linspace(float(np.nanmin(xl)), x0, 20)
    axes[1].plot(grid, y0 + wind_iterations_per_decade(setup.eta, s_r) * (grid - x0), color="0.2",
                 label=rf"$\ln 10/\ln(1+\eta s_r)$, $s_r = {s_r:.2f}$")
    axes[1].plot(grid, y0 + wind_iterations_per_decade(setup.eta, setup.sigma[-1]) * (grid - x0), color="0.2",
                 linestyle="--", label=rf"$\ln 10/\ln(1+\eta\sigma_r)$, $\sigma_r = {setup.sigma[-1]:g}$")
    axes[1].set_xlabel(r"$\log_{10}(1/a_0)$, $a_0 = \|[F_0; G_0]\|_2$")
    axes[1].set_ylabel(f"iterations to relative error {ex.TARGET:g}")
    axes[1].set_title("(b) cost of a smaller start")
    axes[1].legend(loc="upper left")
    return fig


def fig_conv_error(setup: WindSetup):
    r"""The spectral error at the theorem's step count :math:`K` against :math:`a_0` (book/wind/convergence).

    (a) Spectral error against the iteration with ``m_rip`` measurements, one curve per scale
    (median over directions, range shaded), each run's error at its :math:`K` marked. (b) Error at
    :math:`K` against :math:`a_0` (median, range as bars) with ``m_rip`` and with the chapter's
    ``m``; dashed: v2's :math:`a_0^{4/3}\sigma_r^{1/3}` (constant 1); dotted: slopes
    :math:`2(1-\rho)` (our derivation) through the largest :math:`a_0`.
    """
    from ..theory import wind_error_reference

    rip, base = ex.conv_run(setup, ex.m_rip(setup)), ex.conv_run(setup, setup.m)
    fig, axes = new_figure(1, 2)
    spec = _by_alpha(rip["spectral_error"], rip)
    colors = run_colors(len(setup.alphas_conv))
    errK_rip = ex.errors_at_K(rip)
    K = ex._by_direction(rip.params["K"], rip)
    for i, (a, color) in enumerate(zip(setup.alphas_conv, colors)):
        draw_band(axes[0], rip.iterations, spec[:, i, :], color=color, label=rf"$\alpha = {a:g}$")
        axes[0].plot(K[i], errK_rip[i], linestyle="none", marker="o", color=color)
    axes[0].plot([], [], linestyle="none", marker="o", color="0.3", label="at $K$")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration $t$")
    axes[0].set_ylabel(r"spectral error $\|F_tG_t^\top - M^\star\|_2$")
    axes[0].set_title(f"(a) $m = {ex.m_rip(setup)}$")
    axes[0].legend(loc="upper right")
    series = [(rip, errK_rip, "C0", "o", f"$m = {ex.m_rip(setup)}$"),
              (base, ex.errors_at_K(base), "C3", "s", f"$m = {setup.m}$")]
    all_a0 = []
    for traj, err, color, marker, label in series:
        a = np.median(ex._by_direction(traj.params["a0"], traj), axis=1)
        med = np.median(err, axis=1)
        bars = np.stack([med - err.min(axis=1), err.max(axis=1) - med])
        axes[1].errorbar(a, med, yerr=bars, color=color, marker=marker, linestyle="none", capsize=3, label=label)
        p = ex.exponent_prediction(traj, setup.eta, setup.r)
        axes[1].plot(a, med[0] * (a / a[0]) ** p, color=color, linestyle=":", label=rf"slope $2(1-\rho) = {p:.2f}$")
        all_a0.append(a)
    grid = np.geomspace(min(x.min() for x in all_a0), max(x.max() for x in all_a0), 20)
    axes[1].plot(grid, wind_error_reference(grid, setup.sigma[-1]), color="0.2", linestyle="--",
                 label=r"$a_0^{4/3}\sigma_r^{1/3}$")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(r"initial scale $a_0 = \|[F_0; G_0]\|_2$")
    axes[1].set_ylabel(r"spectral error at $K$")
    axes[1].set_title("(b) error at the theorem's $K$")
    top = max(float(np.max(err)) for _, err, *_ in series)
    axes[1].set_ylim(top=300.0 * top)                    # room for the legend above the points
    axes[1].legend(loc="upper left", fontsize="small", ncol=2)
    return fig


def fig_gd_flow(setup: WindSetup):
    r"""Gradient descent against the gradient flow at the same time :math:`t = \eta T` (book/wind/discretisation).

    2 x 2: (a) relative error of the flow (black) and of GD for each step of ``setup.eta_grid``
    (colours) and of :data:`~matsense.experiments.wind.LARGE_STEPS` (grey, dashed); (b) the gap
    :math:`\|X^{\rm GD}_{t/\eta} - X^{\rm flow}_t\|_F/\|M^\star\|_F` against :math:`t`; (c) the gap
    divided by :math:`\eta`; (d) the largest gap against :math:`\eta` (log-log), a line of slope 1
    through the smallest step.
    """
    main = ex.gd_flow_gaps(setup)
    big = ex.gd_flow_gaps(ex.large_steps_setup(setup))
    fig, axes = new_figure(2, 2)
    axes[0].plot(main["flow_times"], main["flow_error"], color="k", linewidth=2.0, label="gradient flow")
    styles = [(main, eta, dict(color=c)) for eta, c in zip(main["eta"], run_colors(len(main["eta"])))]
    styles += [(big, eta, dict(color=str(g), linestyle="--"))
               for eta, g in zip(big["eta"], np.linspace(0.25, 0.65, len(big["eta"])))]
    for data, eta, style in styles:
        i = int(np.flatnonzero(data["eta"] == eta)[0])
        label = rf"GD, $\eta = {eta:g}$"
        axes[0].plot(data["times"][i], data["relative_error"][i], label=label, **style)
        ok = data["gap"][i] > 0
        axes[1].plot(data["times"][i][ok], data["gap"][i][ok], **style)
        axes[2].plot(data["times"][i][ok], data["gap"][i][ok] / eta, **style)
    for ax in axes[:3]:
        ax.set_yscale("log")
        ax.set_xlabel(r"time $t = \eta T$")
    axes[0].set_ylabel(r"relative error $\|X_t - M^\star\|_F/\|M^\star\|_F$")
    axes[0].set_title("(a) flow and GD")
    axes[0].legend(loc="lower left", fontsize="small")
    axes[1].set_ylabel(r"gap $\|X^{\rm GD}_{t/\eta} - X^{\rm flow}_t\|_F/\|M^\star\|_F$")
    axes[1].set_title("(b) gap to the flow")
    axes[2].set_ylabel(r"gap $/\ \eta$")
    axes[2].set_title(r"(c) gap divided by $\eta$")
    axes[3].loglog(main["eta"], main["max_gap"], marker="o", linestyle="none", color="C0",
                   label=r"steps of the check")
    ok = np.isfinite(big["max_gap"])
    axes[3].loglog(big["eta"][ok], big["max_gap"][ok], marker="x", linestyle="none", color="0.4",
                   label="large steps (control)")
    e0 = float(main["eta"].min())
    g0 = float(main["max_gap"][int(np.argmin(main["eta"]))])
    grid = np.geomspace(e0, float(max(main["eta"].max(), big["eta"].max())), 20)
    axes[3].loglog(grid, g0 * grid / e0, color="0.2", linestyle=":", label="slope 1")
    axes[3].set_xlabel(r"step size $\eta$")
    axes[3].set_ylabel(r"largest gap over $t$")
    axes[3].set_title("(d) largest gap against the step")
    axes[3].legend(loc="upper left")
    return fig


