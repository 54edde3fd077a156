r"""The explorer of the Wind (2023; v2 2025) chapter: asymmetric sensing under noise, batches and perturbations.

:func:`wind_explorer_data` runs GD on :math:`\tfrac12\lVert\mathcal{A}(FG^\top) - y\rVert^2` on the
chapter's quick problem (:func:`matsense.experiments.wind.problem`: :math:`M^\star` of size
:math:`20\times14`, rank 2, singular values 1, general Gaussian measurements), from the chapter's
initialisation :math:`F_0 = \alpha\bar F`, :math:`G_0 = \alpha\bar G` of width :math:`h = 20`, with

* raw measurement noise of standard deviation ``noise`` (:math:`y_i = \langle A_i, M^\star\rangle + \xi_i`);
* the measurements ``"fixed"`` (full-batch GD on the ``m`` of the problem), ``"fresh"`` (``batch_size``
  new measurements at every step, :func:`matsense.dynamics.online_gd_asymmetric`) or ``"resample"``
  (``batch_size`` of the ``m`` drawn anew at every step, mini-batch SGD);
* a perturbation of the gradient matrix of spectral norm ``xi`` (:func:`matsense.dynamics.perturbed_gd_asymmetric`,
  full-batch GD only), of kind ``"random"``, ``"fresh"`` or ``"adversarial"``.

It returns the relative Frobenius error and the spectral error along the run, those of the plain
run (no noise, fixed measurements, no perturbation) from the same start, and the references the
theory names: the minimax order :math:`s\sqrt{(n_1 + n_2)r/m}` of the noise
(:func:`matsense.theory.minimax_reference`), and the two terms of the v2 bound at the horizon, the
initialisation term :math:`a_0^{4/3}\sigma_r^{1/3}` (:func:`matsense.theory.wind_error_reference`)
and the perturbation term :math:`\kappa\xi`, both up to their unknown constants.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._validation import check_finite_float, check_int
from ..plotting.style import new_figure
from .core import (LRUCache, Progress, StaticView, live_available, live_explorer, one_thread, report,
                   static_view)

__all__ = ["WindExplorerSettings", "WindData", "wind_explorer_data", "wind_explorer_figure", "wind_estimate",
           "wind_static", "wind_explorer", "MEASUREMENTS", "PERTURBATION_KINDS", "WIND_CACHE"]

#: Choices of the measurements control.
MEASUREMENTS = ("fixed", "fresh", "resample")
#: Kinds of gradient perturbation (:data:`matsense.dynamics.PERTURBATIONS`).
PERTURBATION_KINDS = ("random", "fresh", "adversarial")
#: Results of :func:`wind_explorer_data` kept in memory by the live explorers of this process.
WIND_CACHE = LRUCache(32)


@dataclass(frozen=True)
class WindExplorerSettings:
    r"""Settings of the Wind explorer (the chapter's quick sizes: :math:`20\times14`, rank 2, :math:`m = 300`).

    ``noise`` is the standard deviation :math:`s` of the raw measurement noise, ``measurements`` one
    of :data:`MEASUREMENTS`, ``batch_size`` the measurements per step of the ``"fresh"`` and
    ``"resample"`` runs, ``xi`` the spectral norm of the gradient perturbation (of kind
    ``perturbation``), :math:`\alpha = 10^{\text{log10\_alpha}}` the initial scale.
    """

    noise: float = 0.0
    measurements: str = "fixed"
    batch_size: int = 300
    xi: float = 0.0
    perturbation: str = "random"
    log10_alpha: float = -3.0
    steps: int = 600
    m: int = 300
    seed: int = 0

    def validated(self) -> "WindExplorerSettings":
        """These settings in canonical form, or a ValueError naming what is out of range.

        Canonical: ``batch_size = m`` for the fixed measurements and ``perturbation = "random"`` when
        ``xi = 0`` (settings that run the same computation are equal, so they share a cache entry).
        """
        s = check_finite_float("noise", self.noise)
        if not 0.0 <= s <= 2.0:
            raise ValueError(f"noise must be in [0, 2], got {s:g}")
        if self.measurements not in MEASUREMENTS:
            raise ValueError(f"measurements must be one of {MEASUREMENTS}, got {self.measurements!r}")
        m = check_int("m", self.m, low=20, high=3000)
        check_int("batch_size", self.batch_size, low=1, high=3000)
        if self.measurements == "resample" and self.batch_size > m:
            raise ValueError(f"batch_size must be in [1, m = {m}] when the batches are resampled from the "
                             f"m fixed measurements, got {self.batch_size}")
        xi = check_finite_float("xi", self.xi)
        if not 0.0 <= xi <= 2.0:
            raise ValueError(f"xi must be in [0, 2], got {xi:g}")
        if self.perturbation not in PERTURBATION_KINDS:
            raise ValueError(f"perturbation must be one of {PERTURBATION_KINDS}, got {self.perturbation!r}")
        if xi > 0 and self.measurements != "fixed":
            raise ValueError("a gradient perturbation (xi > 0) is applied to full-batch GD on the fixed "
                             "measurements: set xi = 0 to use fresh or resampled batches")
        lg = check_finite_float("log10_alpha", self.log10_alpha)
        if not -8.0 <= lg <= -0.5:
            raise ValueError(f"log10_alpha must be in [-8, -0.5], got {lg:g}")
        check_int("steps", self.steps, low=50, high=20_000)
        check_int("seed", self.seed, low=0)
        canonical = replace(self, batch_size=m) if self.measurements == "fixed" else self
        return replace(canonical, perturbation="random") if xi == 0 else canonical

    def setup(self):
        """The chapter's quick :class:`matsense.setups.WindSetup` with this ``m`` and seed."""
        from ..setups import wind_setup
        return wind_setup(quick=True, seed=self.seed, m=self.m, steps=self.steps, n_seeds=1,
                          alpha=10.0 ** self.log10_alpha)


@dataclass(frozen=True)
class WindData:
    r"""What :func:`wind_explorer_figure` draws.

    Attributes
    ----------
    settings : WindExplorerSettings
    iterations : numpy.ndarray, shape (T,)
    error, reference_error : numpy.ndarray, shape (T,)
        :math:`\lVert F_tG_t^\top - M^\star\rVert_F/\lVert M^\star\rVert_F` of the run and of the plain run.
    spectral, reference_spectral : numpy.ndarray, shape (T,)
        :math:`\lVert F_tG_t^\top - M^\star\rVert_2` (:math:`\lVert M^\star\rVert_2 = 1`).
    minimax : float
        :math:`s\sqrt{(n_1 + n_2)r/m}/\lVert M^\star\rVert_F` (0 without noise).
    init_term : float
        :math:`a_0^{4/3}\sigma_r^{1/3}` at the measured :math:`a_0 = \lVert[F_0; G_0]\rVert_2`.
    perturbation_term : float
        :math:`\kappa\xi`.
    diverged : bool
        Whether the run blew up (its curves stop there).
    """

    settings: WindExplorerSettings
    iterations: np.ndarray
    error: np.ndarray
    reference_error: np.ndarray
    spectral: np.ndarray
    reference_spectral: np.ndarray
    minimax: float
    init_term: float
    perturbation_term: float
    diverged: bool

    def final(self) -> float:
        """Final relative Frobenius error of the run (inf when it diverged)."""
        return float("inf") if self.diverged else float(self.error[-1])


def _metrics():
    from ..experiments import wind as W
    return {"relative_error": None, "spectral_error": W.spectral_error}


def _plain(s: WindExplorerSettings):
    from ..dynamics import gd_asymmetric
    from ..experiments import wind as W
    setup = s.setup()
    prob = W.problem(setup, m=s.m, noise=0.0)
    F0, G0 = W.initial_factors(setup, 10.0 ** s.log10_alpha)
    return gd_asymmetric(prob, F0, G0, setup.eta, s.steps, record=W.schedule(s.steps), metrics=_metrics(),
                         on_divergence="ignore")


@one_thread
def wind_explorer_data(settings: WindExplorerSettings, progress: Progress | None = None) -> WindData:
    """Pure function: the run of ``settings``, the plain run and the references (see the module docstring)."""
    from ..dynamics import gd_asymmetric, online_gd_asymmetric, perturbed_gd_asymmetric
    from ..experiments import wind as W
    from ..theory import minimax_reference, wind_error_reference

    s = settings.validated()
    setup = s.setup()
    plain = replace(s, noise=0.0, measurements="fixed", xi=0.0, batch_size=s.m)
    report(progress, 0.0, "the plain run (no noise, fixed measurements)")
    ref = WIND_CACHE.get_or_compute(("plain", plain), lambda: _plain(plain))
    report(progress, 0.4, "the run of this setting")
    prob = W.problem(setup, m=s.m, noise=float(s.noise))
    F0, G0 = W.initial_factors(setup, 10.0 ** s.log10_alpha)
    sched = W.schedule(s.steps)
    rng = np.random.default_rng((s.seed, 7))
    if s.xi > 0:
        tr = perturbed_gd_asymmetric(prob, F0, G0, setup.eta, s.steps, perturbation=s.perturbation, xi=s.xi,
                                     rng=rng, record=sched, metrics=_metrics(), on_divergence="ignore")
    elif s.measurements == "fixed":
        tr = gd_asymmetric(prob, F0, G0, setup.eta, s.steps, record=sched, metrics=_metrics(),
                           on_divergence="ignore")
    else:
        tr = online_gd_asymmetric(prob, F0, G0, setup.eta, s.steps, batch_size=s.batch_size, rng=rng,
                                  source=s.measurements, record=sched, metrics=_metrics(), on_divergence="ignore")
    report(progress, 1.0, "done")
    sigma = np.asarray(setup.sigma, dtype=np.float64)
    norm_f = float(np.linalg.norm(sigma))
    valid = np.asarray(tr.valid())[:, 0]
    err = np.where(valid, tr["relative_error"][:, 0], np.nan)
    spec = np.where(valid, tr["spectral_error"][:, 0], np.nan)
    a0 = float(W.a0(F0[0], G0[0]))
    kappa = float(sigma[0] / sigma[-1])
    return WindData(s, np.asarray(tr.iterations), err, ref["relative_error"][:, 0], spec,
                    ref["spectral_error"][:, 0],
                    float(minimax_reference(s.noise, setup.n1, setup.n2, setup.r, s.m)) / norm_f,
                    float(wind_error_reference(a0, float(sigma[-1]))), kappa * float(s.xi),
                    bool(np.asarray(tr.diverged)[0]))


def wind_estimate(settings: WindExplorerSettings) -> float:
    """Rough seconds :func:`wind_explorer_data` takes (a laptop core; the browser kernel is a few times slower)."""
    per_step = 3e-4 + 280 * settings.m * 2e-9
    if settings.measurements == "fresh":
        per_step += 280 * settings.batch_size * 6e-9
    elif settings.xi > 0 and settings.perturbation == "adversarial":
        per_step += 2e-4
    return 0.1 + 2 * settings.steps * per_step


def wind_explorer_figure(data: WindData):
    r"""Left: relative Frobenius error with the minimax order of the noise; right: spectral error with the
    two terms of the v2 bound; the plain run in grey on both."""
    s = data.settings
    fig, (ax_f, ax_s) = new_figure(1, 2, width=9.0, height=3.6)
    it = np.maximum(data.iterations, 1)
    what = {"fixed": f"fixed m = {s.m}", "fresh": f"fresh batches of b = {s.batch_size}",
            "resample": f"resampled batches of b = {s.batch_size} of m = {s.m}"}[s.measurements]
    label = f"{what}, s = {s.noise:g}" + (f", {s.perturbation} $\\xi$ = {s.xi:g}" if s.xi > 0 else "")
    values = np.concatenate([data.error, data.reference_error, data.spectral, data.reference_spectral,
                             [data.init_term] + ([data.minimax] if data.minimax > 0 else [])])
    values = values[np.isfinite(values) & (values > 0)]
    floor = float(np.clip(0.2 * values.min(), 1e-12, 1e-3)) if values.size else 1e-6
    for ax, run, ref in ((ax_f, data.error, data.reference_error), (ax_s, data.spectral, data.reference_spectral)):
        ax.plot(it, np.maximum(ref, floor), color="0.55", ls="--", lw=1.2, label="plain GD (no noise, fixed m)")
        ax.plot(it, np.maximum(run, floor), color="C0", label=label + (" (diverged)" if data.diverged else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("iteration $t$")
        ax.set_ylim(floor, 30.0)
    if data.minimax > 0:
        ax_f.axhline(data.minimax, color="C3", ls=":", lw=1.2,
                     label=r"minimax order $s\sqrt{(n_1+n_2)r/m}\,/\,\|M^\star\|_F$")
    ax_s.axhline(data.init_term, color="C2", ls=":", lw=1.2, label=r"$a_0^{4/3}\sigma_r^{1/3}$ (v2, no constant)")
    if data.perturbation_term > 0:
        ax_s.axhline(data.perturbation_term, color="C3", ls="-.", lw=1.2, label=r"$\kappa\xi$ (v2, no constant)")
    ax_f.set_ylabel(r"$\|F_tG_t^\top - M^\star\|_F / \|M^\star\|_F$")
    ax_s.set_ylabel(r"$\|F_tG_t^\top - M^\star\|_2$")
    ax_f.set_title("relative error (Frobenius)", fontsize=8)
    ax_s.set_title("spectral error, against the terms of the v2 bound", fontsize=8)
    ax_f.legend(loc="lower left", fontsize=7)
    ax_s.legend(loc="lower left", fontsize=7)
    fig.suptitle(f"20 x 14, rank 2, h = 20, $\\eta$ = 0.25, $\\alpha$ = 1e{s.log10_alpha:g}, seed {s.seed}",
                 fontsize=9)
    return fig


def _controls(s: WindExplorerSettings) -> dict[str, Any]:
    import ipywidgets as w

    style = {"description_width": "100px"}
    return {
        "measurements": w.ToggleButtons(options=list(MEASUREMENTS), value=s.measurements,
                                        description="measurements", style=style),
        "batch_size": w.IntSlider(value=s.batch_size, min=5, max=600, step=5, description="batch size b",
                                  continuous_update=False, style=style),
        "noise": w.FloatSlider(value=s.noise, min=0.0, max=1.0, step=0.05, description="noise s",
                               continuous_update=False, style=style),
        "xi": w.FloatSlider(value=s.xi, min=0.0, max=0.5, step=0.01, description="perturbation xi",
                            continuous_update=False, style=style),
        "perturbation": w.Dropdown(options=list(PERTURBATION_KINDS), value=s.perturbation,
                                   description="kind", style=style),
        "log10_alpha": w.FloatSlider(value=s.log10_alpha, min=-8, max=-1, step=0.5, description="log10 alpha",
                                     continuous_update=False, style=style),
    }


NOTE = ("Precomputed frames. To change every setting, run this page as a notebook (Jupyter, Binder, "
        "Colab or JupyterLite): this cell then shows the live explorer.")


def wind_static(settings: WindExplorerSettings | None = None, *, quick: bool = False) -> StaticView:
    r"""The static view: frames over the noise level and the measurements (quick: 2 x 1, full: 3 x 3)."""
    s = (settings or WindExplorerSettings()).validated()
    noises = (0.0, 0.3) if quick else (0.0, 0.1, 0.3)
    kinds = (("fixed", s.m),) if quick else (("fixed", s.m), ("fresh", 100), ("resample", 30))

    def at(index: tuple[int, ...]) -> WindExplorerSettings:
        kind, b = kinds[index[1]]
        return replace(s, noise=noises[index[0]], measurements=kind, batch_size=b, xi=0.0)

    def frame(index: tuple[int, ...]):
        st = at(index)
        return wind_explorer_figure(WIND_CACHE.get_or_compute(st, lambda: wind_explorer_data(st)))

    default = (noises.index(s.noise) if s.noise in noises else 0, 0)
    return static_view(
        "wind", [("noise s", [f"{v:g}" for v in noises]),
                 ("measurements", [k if k == "fixed" else f"{k}, b = {b}" for k, b in kinds])],
        frame, default=default,
        alt=lambda i: (f"Relative and spectral error of asymmetric GD against the iteration, noise s = "
                       f"{noises[i[0]]:g}, {kinds[i[1]][0]} measurements"),
        note=NOTE)


def wind_explorer(settings: WindExplorerSettings | None = None, *, quick: bool = False,
                  seed: int | None = None, live: bool | None = None):
    """The chapter's explorer: live (ipywidgets) in a kernel, the static view (:func:`wind_static`) in the book build."""
    s = settings or WindExplorerSettings()
    if seed is not None:
        s = replace(s, seed=check_int("seed", seed, low=0))
    if live is None:
        live = live_available()
    if not live:
        return wind_static(s, quick=quick)
    s = s.validated()
    return live_explorer(s, _controls(s), wind_explorer_data, wind_explorer_figure, estimate=wind_estimate,
                         cache=WIND_CACHE, rows=(("measurements", "batch_size"), ("noise", "log10_alpha"),
                                                 ("xi", "perturbation")))
