r"""The explorer of the foundations chapter: how many measurements recover :math:`M^\star`?

A rank-:math:`r` PSD :math:`n\times n` matrix has :math:`d_r = nr - r(r-1)/2` degrees of freedom;
a symmetric one has :math:`N_s = n(n+1)/2`. With :math:`m < d_r` Gaussian measurements, many
rank-:math:`r` matrices fit them and no method can single out :math:`M^\star`; from a few times
:math:`d_r` on, GD from a small initialisation recovers it, although for :math:`m < N_s` the
measurements still leave a whole affine space of symmetric matrices that fit them (GD from a large
initialisation lands elsewhere in it).

:func:`recovery_data` runs GD (:math:`k = n` columns, eigenvalues :math:`(r, r-1, \dots, 1)`) from
the chosen :math:`\alpha` and from :math:`\alpha = 1` for a grid of :math:`m` around :math:`d_r` and
:math:`N_s` (the chosen :math:`m` included) and returns the final relative errors and the error
curves at the chosen :math:`m`; :func:`recovery_figure` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._validation import check_finite_float, check_int
from ..dynamics import gd_symmetric, small_random_init
from ..problems import symmetric_gaussian_problem
from ..plotting.style import new_figure
from ..theory import check_step_size
from .core import (LRUCache, Progress, StaticView, live_available, live_explorer, one_thread, report,
                   static_view)

__all__ = ["RecoverySettings", "RecoveryData", "recovery_data", "recovery_figure", "recovery_estimate",
           "recovery_static", "foundations_explorer", "LARGE_ALPHA", "RECOVERY_BOUND", "GRID_FACTORS",
           "FOUNDATIONS_CACHE"]

#: The reference initial scale drawn next to the chosen one.
LARGE_ALPHA = 1.0
#: A run recovers :math:`M^\star` when its final relative error is below this bound (as in the chapter).
RECOVERY_BOUND = 1e-3
#: The grid of measurement counts, in units of the degrees of freedom :math:`d_r` (plus :math:`N_s` and the chosen m).
GRID_FACTORS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Results of :func:`recovery_data` kept in memory by the live explorers of this process.
FOUNDATIONS_CACHE = LRUCache(32)


def degrees_of_freedom(n: int, r: int) -> int:
    r""":math:`d_r = nr - r(r-1)/2`, the dimension of the rank-:math:`r` PSD :math:`n\times n` matrices."""
    return n * r - r * (r - 1) // 2


@dataclass(frozen=True)
class RecoverySettings:
    r"""Settings of the recovery explorer.

    :math:`M^\star` is :math:`n\times n` PSD with eigenvalues :math:`(r, r-1, \dots, 1)`, drawn from
    ``seed`` (the same matrix for every ``m``); GD uses :math:`k = n` columns, step ``eta``,
    ``steps`` iterations, from :math:`\alpha = 10^{\text{log10\_alpha}}` and from :data:`LARGE_ALPHA`.
    """

    n: int = 10
    r: int = 2
    m: int = 40
    log10_alpha: float = -6.0
    eta: float = 0.05
    steps: int = 3000
    seed: int = 0

    @property
    def dof(self) -> int:
        r""":math:`d_r = nr - r(r-1)/2`."""
        return degrees_of_freedom(self.n, self.r)

    @property
    def n_sym(self) -> int:
        r""":math:`N_s = n(n+1)/2`."""
        return self.n * (self.n + 1) // 2

    def eigenvalues(self) -> tuple[float, ...]:
        r"""Eigenvalues :math:`(r, r-1, \dots, 1)` of :math:`M^\star`."""
        return tuple(float(self.r - i) for i in range(self.r))

    def m_grid(self) -> tuple[int, ...]:
        r"""Measurement counts of the sweep: :data:`GRID_FACTORS` times :math:`d_r`, :math:`N_s` and ``m``."""
        grid = {max(1, int(round(c * self.dof))) for c in GRID_FACTORS} | {self.n_sym, int(self.m)}
        return tuple(sorted(v for v in grid if v <= 2 * self.n_sym))

    def validated(self) -> "RecoverySettings":
        """Return ``self`` if every setting is in range; raise a ValueError naming the first that is not."""
        check_int("n", self.n, low=3, high=30)
        check_int("r", self.r, low=1, high=min(5, self.n))
        check_int("m", self.m, low=1, high=2 * self.n_sym)
        lg = check_finite_float("log10_alpha", self.log10_alpha)
        if not -8.0 <= lg <= -1.0:
            raise ValueError(f"log10_alpha must be in [-8, -1] (the large scale alpha = 1 is drawn for "
                             f"comparison), got {lg:g}")
        check_step_size(self.eta, float(self.r) * 2.0)
        check_int("steps", self.steps, low=100, high=20_000)
        check_int("seed", self.seed, low=0)
        return self


@dataclass(frozen=True)
class RecoveryData:
    r"""What :func:`recovery_figure` draws.

    Attributes
    ----------
    settings : RecoverySettings
    alphas : numpy.ndarray, shape (2,)
        The chosen :math:`\alpha` and :data:`LARGE_ALPHA`.
    m_grid : numpy.ndarray, shape (G,)
    final_error : numpy.ndarray, shape (G, 2)
        :math:`\lVert U_TU_T^\top - M^\star\rVert_F/\lVert M^\star\rVert_F` per ``m`` and scale.
    iterations : numpy.ndarray, shape (T,)
    error : numpy.ndarray, shape (T, 2)
        The relative error along the runs at the chosen ``m``.
    """

    settings: RecoverySettings
    alphas: np.ndarray
    m_grid: np.ndarray
    final_error: np.ndarray
    iterations: np.ndarray
    error: np.ndarray

    @property
    def recovered(self) -> np.ndarray:
        """``final_error < RECOVERY_BOUND``, shape ``(G, 2)``."""
        return self.final_error < RECOVERY_BOUND


@one_thread
def recovery_data(settings: RecoverySettings, progress: Progress | None = None) -> RecoveryData:
    r"""Pure function: GD for every ``m`` of ``settings.m_grid()``, from the chosen :math:`\alpha` and from 1.

    Each ``m`` gets its own operator (drawn after :math:`M^\star` from ``settings.seed``); the two
    scales share the direction :math:`\bar U` (seed ``settings.seed + 2``) and run as one batch.
    """
    s = settings.validated()
    alphas = np.array([10.0 ** s.log10_alpha, LARGE_ALPHA])
    grid = s.m_grid()
    U0 = small_random_init(s.n, s.n, alphas, rng=s.seed + 2)
    final, chosen = [], None
    for i, m in enumerate(grid):
        report(progress, i / len(grid), f"m = {m} ({i + 1} of {len(grid)})")
        problem = symmetric_gaussian_problem(s.n, s.eigenvalues(), m, rng=s.seed)
        traj = gd_symmetric(problem, U0, s.eta, s.steps, record="log", metrics=("relative_error",),
                            on_divergence="ignore")
        err = np.asarray(traj["relative_error"], dtype=np.float64)
        err = np.where(traj.valid(), err, np.nan)
        final.append(err[-1])
        if m == s.m:
            chosen = (np.asarray(traj.iterations), err)
    report(progress, 1.0, "done")
    assert chosen is not None  # s.m is in the grid by construction
    return RecoveryData(s, alphas, np.array(grid), np.array(final), chosen[0], chosen[1])


def recovery_estimate(settings: RecoverySettings) -> float:
    """Rough seconds :func:`recovery_data` takes (a laptop core; the browser kernel is a few times slower)."""
    grid = settings.m_grid()
    return sum(2e-5 * settings.steps * (1.0 + m * settings.n ** 2 / 2e4) for m in grid)


def recovery_figure(data: RecoveryData):
    r"""Left: the relative error along GD at the chosen ``m``; right: the final error against ``m``,
    with :math:`d_r` and :math:`N_s` marked and the chosen ``m`` circled."""
    s = data.settings
    fig, (ax_t, ax_m) = new_figure(1, 2, width=9.0, height=3.6)
    labels = [rf"$\alpha = 10^{{{s.log10_alpha:g}}}$", rf"$\alpha = {LARGE_ALPHA:g}$ (large)"]
    styles = [dict(color="C0", ls="-"), dict(color="0.45", ls="--")]
    floor = 1e-12
    for j in range(2):
        ax_t.plot(np.maximum(data.iterations, 1), np.maximum(data.error[:, j], floor), label=labels[j], **styles[j])
        ax_m.plot(data.m_grid, np.maximum(data.final_error[:, j], floor), marker="o", ms=4, label=labels[j],
                  **styles[j])
    for ax in (ax_t, ax_m):
        ax.axhline(RECOVERY_BOUND, color="C3", ls=":", lw=1, label=f"recovery bound {RECOVERY_BOUND:g}")
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, 30.0)
    ax_t.set_xscale("log")
    ax_t.set_xlabel("iteration $t$")
    ax_t.set_ylabel(r"relative error $\|U_tU_t^\top - M^\star\|_F / \|M^\star\|_F$", fontsize=8)
    ax_t.set_title(f"m = {s.m} measurements ({s.m / s.dof:.2g} $d_r$)", fontsize=9)
    ax_t.legend(loc="lower left", fontsize=7)
    ax_m.axvline(s.dof, color="k", lw=1)
    ax_m.axvline(s.n_sym, color="k", lw=1, ls="-.")
    ax_m.annotate(f" $d_r$ = {s.dof}", (s.dof, 10.0), fontsize=8, ha="left", va="center")
    ax_m.annotate(f" $n(n+1)/2$ = {s.n_sym}", (s.n_sym, 10.0), fontsize=8, ha="left", va="center")
    i = int(np.flatnonzero(data.m_grid == s.m)[0])
    ax_m.plot([s.m], [max(data.final_error[i, 0], floor)], marker="o", ms=11, mfc="none", mec="C1", mew=2,
              ls="none", label=f"chosen m = {s.m}")
    ax_m.set_xlim(0, 1.05 * float(data.m_grid.max()))
    ax_m.set_xlabel("number of measurements $m$")
    ax_m.set_ylabel("final relative error")
    ax_m.set_title(f"after {s.steps} steps", fontsize=9)
    ax_m.legend(loc="lower left", fontsize=7)
    fig.suptitle(f"n = {s.n}, rank r = {s.r}, eigenvalues {s.eigenvalues()}, k = n, "
                 f"$\\eta$ = {s.eta:g}, seed {s.seed}", fontsize=9)
    return fig


def _controls(s: RecoverySettings) -> dict[str, Any]:
    import ipywidgets as w

    style = {"description_width": "90px"}
    return {
        "n": w.IntSlider(value=s.n, min=4, max=30, description="n", continuous_update=False, style=style),
        "r": w.IntSlider(value=s.r, min=1, max=6, description="rank r", continuous_update=False, style=style),
        "m": w.IntSlider(value=s.m, min=1, max=400, description="m", continuous_update=False, style=style),
        "log10_alpha": w.FloatSlider(value=s.log10_alpha, min=-8, max=-1, step=0.5, description="log10 alpha",
                                     continuous_update=False, style=style),
        "steps": w.IntSlider(value=s.steps, min=500, max=10_000, step=500, description="steps",
                             continuous_update=False, style=style),
        "seed": w.IntSlider(value=s.seed, min=0, max=20, description="seed", continuous_update=False, style=style),
    }


NOTE = ("Precomputed frames. To change every setting, run this page as a notebook (Jupyter, Binder, "
        "Colab or JupyterLite): this cell then shows the live explorer.")


def recovery_static(settings: RecoverySettings | None = None, *, quick: bool = False) -> StaticView:
    r"""The static view: frames over ``m`` (in units of :math:`d_r`) and the rank (quick: 2 x 1, full: 5 x 2)."""
    s = (settings or RecoverySettings()).validated()
    factors = (0.5, 2.0) if quick else (0.5, 1.0, 2.0, 3.0, 4.0)
    ranks = (s.r,) if quick else (1, 2)

    def at(index: tuple[int, ...]) -> RecoverySettings:
        r = ranks[index[1]]
        return replace(s, r=r, m=max(1, int(round(factors[index[0]] * degrees_of_freedom(s.n, r)))))

    def frame(index: tuple[int, ...]):
        # the sweep over m is the same for every frame of a rank: compute it once, with m on the grid
        st = at(index)
        return recovery_figure(FOUNDATIONS_CACHE.get_or_compute(st, lambda: recovery_data(st)))

    default = (min(range(len(factors)), key=lambda i: abs(factors[i] * s.dof - s.m)),
               ranks.index(s.r) if s.r in ranks else 0)
    return static_view(
        "foundations", [("m / d_r", [f"{f:g}" for f in factors]), ("rank r", [str(r) for r in ranks])],
        frame, default=default,
        alt=lambda i: (f"Relative error of GD against the iteration and final error against m, for "
                       f"m = {factors[i[0]]:g} d_r and rank {ranks[i[1]]}"),
        note=NOTE)


def foundations_explorer(settings: RecoverySettings | None = None, *, quick: bool = False,
                         seed: int | None = None, live: bool | None = None):
    """The chapter's explorer: live (ipywidgets) in a kernel, the static view (:func:`recovery_static`) in the book build."""
    s = settings or RecoverySettings()
    if seed is not None:
        s = replace(s, seed=check_int("seed", seed, low=0))
    if live is None:
        live = live_available()
    if not live:
        return recovery_static(s, quick=quick)
    s = s.validated()
    return live_explorer(s, _controls(s), recovery_data, recovery_figure, estimate=recovery_estimate,
                         cache=FOUNDATIONS_CACHE, rows=(("n", "r", "m"), ("log10_alpha", "steps", "seed")))
