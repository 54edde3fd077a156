r"""The explorer of the Jin et al. (2023) chapter: incremental learning, one run at a time.

:func:`jin_data` runs GD from :math:`U_0 = \alpha\bar U` on a small symmetric Gaussian sensing
problem with :math:`M^\star` of eigenvalues :math:`(3, \sigma_2, 1)` and returns the loss, the top
eigenvalues of :math:`Z_t = U_tU_t^\top`, the plateau levels :math:`f(Z_s^\star)` of the best
rank-:math:`s` solutions, the eigenvalue :math:`\lambda_s(Z_s^\star)` that each :math:`Z_s^\star`
adds, the measured learning times :math:`T_s` and their leading-order prediction
:math:`\log(1/\alpha)/\log(1 + \eta\sigma_s)` (:func:`matsense.theory.predicted_learning_time`).
:func:`jin_figure` draws them; :func:`jin_explorer` is the live explorer in a kernel and the static
view in the built book.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from .._validation import check_int, check_positive_float
from ..experiments import run_incremental_learning
from ..plotting.style import new_figure, run_colors
from ..theory import check_step_size, predicted_learning_time
from .core import (LRUCache, Progress, StaticView, live_available, live_explorer, one_thread, report,
                   static_view)

__all__ = ["IncrementalSettings", "JinData", "jin_data", "jin_figure", "jin_estimate", "jin_static",
           "jin_explorer", "incremental_learning_figure", "incremental_learning_explorer", "JIN_CACHE"]

#: Results of :func:`jin_data` kept in memory by the live explorers of this process.
JIN_CACHE = LRUCache(32)


@dataclass(frozen=True)
class IncrementalSettings:
    r"""Settings of the incremental-learning explorer (small sizes: one run takes a fraction of a second).

    ``sigma_2`` moves the middle eigenvalue of :math:`M^\star` (eigenvalues ``(3, sigma_2, 1)``), so
    the reader can shrink or widen the eigengaps.
    """

    log10_alpha: float = -6.0
    eta: float = 0.05
    sigma_2: float = 2.0
    k: int = 10
    n: int = 10
    m: int = 600
    steps: int = 800
    seed: int = 0

    def sigma(self) -> list[float]:
        """Eigenvalues :math:`(3, \\sigma_2, 1)` of :math:`M^\\star`."""
        return [3.0, float(self.sigma_2), 1.0]

    def validated(self) -> "IncrementalSettings":
        """Return ``self`` if every setting is in range; raise a ValueError naming the first that is not."""
        if not -12.0 <= float(self.log10_alpha) <= -0.5:
            raise ValueError(f"log10_alpha must be in [-12, -0.5], got {self.log10_alpha:g}")
        if not 1.0 < float(self.sigma_2) < 3.0:
            raise ValueError(f"sigma_2 must be in (1, 3) so that the eigenvalues (3, sigma_2, 1) are "
                             f"distinct, got {self.sigma_2:g}")
        check_step_size(check_positive_float("eta", self.eta), 3.0)
        check_int("n", self.n, low=3, high=40)
        check_int("k", self.k, low=1, high=self.n)
        check_int("m", self.m, low=50, high=20_000)
        check_int("steps", self.steps, low=10, high=20_000)
        check_int("seed", self.seed, low=0)
        return self


@dataclass(frozen=True)
class JinData:
    r"""What :func:`jin_figure` draws: one GD run on one problem.

    Attributes
    ----------
    settings : IncrementalSettings
    iterations : numpy.ndarray, shape (T,)
    loss : numpy.ndarray, shape (T,)
        :math:`f(U_t)`.
    spectrum : numpy.ndarray, shape (T, min(r + 1, k))
        Top eigenvalues of :math:`Z_t` (it has rank at most :math:`k`).
    sigma : numpy.ndarray, shape (r,)
    levels : numpy.ndarray, shape (r,)
        :math:`f(Z_s^\star)`, :math:`s = 1, \dots, r` (the last is about 0).
    added : numpy.ndarray, shape (r,)
        :math:`\lambda_s(Z_s^\star)`, the eigenvalue learned in phase :math:`s`.
    learning_times : numpy.ndarray, shape (r,)
        First :math:`t` with :math:`\lambda_s(Z_t) \ge \sigma_s/2` (NaN: not learned, e.g. :math:`s > k`).
    predicted_times : numpy.ndarray, shape (r,)
        :math:`\log(1/\alpha)/\log(1 + \eta\sigma_s)`, the leading order of :math:`T_s`.
    """

    settings: IncrementalSettings
    iterations: np.ndarray
    loss: np.ndarray
    spectrum: np.ndarray
    sigma: np.ndarray
    levels: np.ndarray
    added: np.ndarray
    learning_times: np.ndarray
    predicted_times: np.ndarray

    @property
    def alpha(self) -> float:
        r"""The initial scale :math:`\alpha`."""
        return float(10.0 ** self.settings.log10_alpha)


@one_thread
def jin_data(settings: IncrementalSettings, progress: Progress | None = None) -> JinData:
    r"""Pure function: GD once with ``settings``, the quantities of :class:`JinData`.

    Raises a ValueError naming the setting when one is out of range (including a step size with
    :math:`\eta\sigma_1 \ge 1`).
    """
    s = settings.validated()
    alpha = 10.0 ** s.log10_alpha
    report(progress, 0.05, "running gradient descent")
    study = run_incremental_learning(s.n, s.sigma(), s.m, s.k, [alpha], [s.seed], eta=s.eta, steps=s.steps,
                                     problem_seed=s.seed)
    report(progress, 0.9, "reading off the learning times")
    r = study.sigma.size
    T = np.full(r, np.nan)
    learned = study.learning_times()[0, 0]
    T[: learned.size] = learned
    added = np.array([np.linalg.eigvalsh(sol.Z)[::-1][sol.s - 1] for sol in study.solutions])
    spectrum = study.sweep.grid("spectrum")[:, 0, 0, : min(r + 1, s.k)]
    report(progress, 1.0, "done")
    return JinData(s, np.asarray(study.sweep.iterations), study.sweep.grid("loss")[:, 0, 0], spectrum,
                   np.asarray(study.sigma, dtype=np.float64), np.array([sol.loss for sol in study.solutions]),
                   added, T, predicted_learning_time([alpha], s.eta, study.sigma)[0])


def jin_estimate(settings: IncrementalSettings) -> float:
    """Rough seconds :func:`jin_data` takes (a laptop core; the browser kernel is a few times slower)."""
    return 0.05 + 3e-9 * settings.steps * settings.m * settings.n ** 2


def _alpha_text(log10_alpha: float) -> str:
    return f"1e{log10_alpha:g}" if float(log10_alpha).is_integer() else f"10^{log10_alpha:g}"


def jin_figure(data: JinData):
    r"""Two panels: the loss staircase with the levels :math:`f(Z_s^\star)`, and the eigenvalues of
    :math:`Z_t` with the levels :math:`\lambda_s(Z_s^\star)` and the predicted learning times."""
    s = data.settings
    fig, (ax_loss, ax_eig) = new_figure(1, 2, width=9.0, height=3.6)
    it = data.iterations
    times = np.concatenate([data.learning_times, data.predicted_times])
    times = times[np.isfinite(times)]
    t_max = float(min(it[-1], max(1.6 * times.max(), 50.0))) if times.size else float(it[-1])
    bottom = 1e-5 * float(data.loss[0])
    ax_loss.plot(it, np.maximum(data.loss, bottom / 10), color="C0", label=r"$f(U_t)$")
    r = data.sigma.size
    colors = run_colors(r + 1, "plasma")
    for j in range(r - 1):
        ax_loss.axhline(data.levels[j], color=colors[j], ls=":", lw=1.2,
                        label=rf"$f(Z_{j + 1}^\star)$ = {data.levels[j]:.3g}")
    for j, t in enumerate(data.learning_times):
        if np.isfinite(t):
            ax_loss.axvline(t, color=colors[j], lw=0.8, alpha=0.6)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(bottom, 3.0 * float(data.loss[0]))
    ax_loss.set_xlim(0, t_max)
    ax_loss.set_xlabel("iteration $t$")
    ax_loss.set_ylabel(r"training loss $f(U_t)$")
    ax_loss.set_title("loss: plateaus at $f(Z_s^\\star)$; thin lines at the learning times $T_s$", fontsize=8)
    ax_loss.legend(loc="lower left", fontsize=7)
    low = 0.1 * data.alpha ** 2
    lam = np.maximum(data.spectrum, low / 10)
    for j in range(lam.shape[1]):
        ax_eig.plot(it, lam[:, j], color=colors[j], label=rf"$\lambda_{j + 1}(Z_t)$")
        if j < min(r, s.k):
            ax_eig.axhline(data.added[j], color=colors[j], ls="--", lw=1)
            if data.predicted_times[j] <= t_max:
                ax_eig.plot([data.predicted_times[j]], [data.added[j]], marker="v", color=colors[j], ms=8,
                            mec="k", mew=0.6, ls="none", label="predicted $T_s$" if j == 0 else None)
    ax_eig.set_yscale("log")
    ax_eig.set_ylim(low, 3.0 * float(data.sigma.max()))
    ax_eig.set_xlim(0, t_max)
    ax_eig.set_xlabel("iteration $t$")
    ax_eig.set_ylabel(r"eigenvalue of $Z_t = U_tU_t^\top$")
    ax_eig.set_title(r"eigenvalues; dashed: the value $\lambda_s(Z_s^\star)$ phase $s$ adds", fontsize=8)
    ax_eig.legend(loc="center right", fontsize=7)
    fig.suptitle(f"n = {s.n}, m = {s.m}, k = {s.k}, $\\eta$ = {s.eta:g}, $\\sigma$ = (3, {s.sigma_2:g}, 1), "
                 f"$\\alpha$ = {_alpha_text(s.log10_alpha)}, seed {s.seed}", fontsize=9)
    return fig


def incremental_learning_figure(settings: IncrementalSettings):
    """The figure of ``settings``: :func:`jin_figure` of :func:`jin_data` (raises ValueError for invalid settings)."""
    return jin_figure(jin_data(settings))


def _controls(s: IncrementalSettings) -> dict[str, Any]:
    import ipywidgets as w

    style = {"description_width": "90px"}
    return {
        "log10_alpha": w.FloatSlider(value=s.log10_alpha, min=-12, max=-1, step=0.5, description="log10 alpha",
                                     continuous_update=False, style=style),
        "eta": w.FloatSlider(value=s.eta, min=0.01, max=0.4, step=0.01, description="eta",
                             continuous_update=False, style=style),
        "sigma_2": w.FloatSlider(value=s.sigma_2, min=1.1, max=2.9, step=0.1, description="sigma_2",
                                 continuous_update=False, style=style),
        "k": w.IntSlider(value=s.k, min=1, max=s.n, description="k (columns)", continuous_update=False,
                         style=style),
        "m": w.IntSlider(value=s.m, min=100, max=3000, step=100, description="m", continuous_update=False,
                         style=style),
        "steps": w.IntSlider(value=s.steps, min=200, max=5000, step=100, description="steps",
                             continuous_update=False, style=style),
    }


_ROWS = (("log10_alpha", "eta", "sigma_2"), ("k", "m", "steps"))


def incremental_learning_explorer(settings: IncrementalSettings | None = None, *,
                                  callback: Callable[[IncrementalSettings], Any] | None = None):
    """The live explorer (an ``ipywidgets.VBox``), computing nothing until a control moves or *Run* is pressed.

    ``callback(settings) -> Figure`` replaces the computation and the drawing (for tests and
    scripting). Prefer :func:`jin_explorer`, which also builds the static view of the book.
    """
    s = (settings or IncrementalSettings()).validated()
    if callback is None:
        compute, figure = jin_data, jin_figure
    else:
        def compute(st: IncrementalSettings, progress: Progress | None = None) -> Any:
            return callback(st)

        def figure(fig: Any) -> Any:
            return fig
    return live_explorer(s, _controls(s), compute, figure, estimate=jin_estimate,
                         cache=JIN_CACHE if callback is None else LRUCache(), rows=_ROWS, autorun=False)


NOTE = ("Precomputed frames. To change every setting, run this page as a notebook (Jupyter, Binder, "
        "Colab or JupyterLite): this cell then shows the live explorer.")


def jin_static(settings: IncrementalSettings | None = None, *, quick: bool = False) -> StaticView:
    r"""The static view: frames over :math:`\log_{10}\alpha` and :math:`k` (quick: 2 x 1, full: 4 x 3)."""
    s = (settings or IncrementalSettings()).validated()
    logs = (-2.0, -6.0) if quick else (-2.0, -4.0, -6.0, -8.0)
    ks = (s.k,) if quick else (1, 2, s.n)

    def at(index: tuple[int, ...]) -> IncrementalSettings:
        return replace(s, log10_alpha=logs[index[0]], k=ks[index[1]])

    default = (logs.index(s.log10_alpha) if s.log10_alpha in logs else len(logs) - 1,
               ks.index(s.k) if s.k in ks else len(ks) - 1)
    return static_view(
        "jin", [("alpha", [_alpha_text(v) for v in logs]), ("k", [str(k) for k in ks])],
        lambda i: jin_figure(JIN_CACHE.get_or_compute(at(i), lambda: jin_data(at(i)))), default=default,
        alt=lambda i: (f"Loss staircase and eigenvalues of Z_t for alpha = {_alpha_text(logs[i[0]])}, "
                       f"k = {ks[i[1]]}"),
        note=NOTE)


def jin_explorer(settings: IncrementalSettings | None = None, *, quick: bool = False, seed: int | None = None,
                 live: bool | None = None):
    """The chapter's explorer: live (ipywidgets) in a kernel, the static view (:func:`jin_static`) in the book build.

    ``seed`` replaces the settings' problem seed; ``live`` forces one of the two
    (default :func:`matsense.widgets.core.live_available`).
    """
    s = settings or IncrementalSettings()
    if seed is not None:
        s = replace(s, seed=check_int("seed", seed, low=0))
    if live is None:
        live = live_available()
    if not live:
        return jin_static(s, quick=quick)
    s = s.validated()
    return live_explorer(s, _controls(s), jin_data, jin_figure, estimate=jin_estimate, cache=JIN_CACHE, rows=_ROWS)
