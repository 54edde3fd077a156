r"""The explorer of the Xiong, Ding, Du (2024) chapter: how over-parameterization slows GD down.

:func:`xiong_data` runs GD on matrix factorization of :math:`M^\star` (:math:`n = 20`, eigenvalues
:math:`(1, 0.8, 0.6)`, the chapter's :func:`matsense.experiments.xiong.run_symmetric` and
:func:`~matsense.experiments.xiong.run_asymmetric`, uncached) with the symmetric parameterization
:math:`XX^\top`, the asymmetric one :math:`FG^\top`, or both, with :math:`k` columns, from
:math:`X_0 = \alpha\bar X`, :math:`F_0 = \alpha\bar F`, :math:`G_0 = (\alpha/3)\bar G`, and, when asked,
the asymmetric run with the one-step re-balancing (:func:`matsense.experiments.xiong.rebalance`) at
the switch. It returns the squared errors :math:`\lVert Z_t - M^\star\rVert_F^2`, the late linear
rate of the asymmetric run (the theory predicts a rate of order :math:`\eta\alpha^2` when
:math:`k > r`) and the symmetric asymptote :math:`(k - r)/(4\eta^2t^2)`
(:func:`matsense.theory.redundant_limit`). :func:`xiong_figure` draws
the errors on semi-log axes (a linear rate is a straight line) and on log-log axes (a power law is).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._validation import check_finite_float, check_int
from ..plotting.style import new_figure
from ..setups import xiong_setup
from ..theory import check_step_size, redundant_limit
from .core import (LRUCache, Progress, StaticView, live_available, live_explorer, one_thread, report,
                   static_view)

__all__ = ["XiongExplorerSettings", "XiongData", "xiong_data", "xiong_figure", "xiong_estimate",
           "xiong_static", "xiong_explorer", "late_rate", "PARAMETERIZATIONS", "SIGMA", "ERROR_FLOOR", "XIONG_CACHE"]

#: Choices of the parameterization control.
PARAMETERIZATIONS = ("both", "symmetric", "asymmetric")
#: Eigenvalues of :math:`M^\star` (the chapter's well-conditioned spectrum).
SIGMA = (1.0, 0.8, 0.6)
#: Squared errors below this (float64 rounding) are not drawn.
ERROR_FLOOR = 1e-28
#: Results of :func:`xiong_data` kept in memory by the live explorers of this process.
XIONG_CACHE = LRUCache(32)


@dataclass(frozen=True)
class XiongExplorerSettings:
    r"""Settings of the over-parameterization explorer (matrix factorization, :math:`n\times n`, rank 3).

    ``parameterization`` is ``"symmetric"`` (:math:`XX^\top`), ``"asymmetric"`` (:math:`FG^\top`) or
    ``"both"``; ``one_step`` adds the asymmetric run with the one-step re-balancing (asymmetric only).
    """

    parameterization: str = "both"
    k: int = 5
    alpha: float = 0.2
    one_step: bool = False
    steps: int = 10_000
    eta: float = 0.05
    n: int = 20
    seed: int = 0

    @property
    def r(self) -> int:
        """Rank of :math:`M^\\star`."""
        return len(SIGMA)

    def validated(self) -> "XiongExplorerSettings":
        """Return ``self`` if every setting is in range; raise a ValueError naming what is not."""
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {self.parameterization!r}")
        check_int("n", self.n, low=len(SIGMA), high=60)
        if isinstance(self.k, (bool, np.bool_)) or int(self.k) != self.k or self.k < self.r:
            raise ValueError(f"k must be an integer with r = {self.r} <= k <= n: the paper compares exact "
                             f"(k = r) and over-parameterization (k > r), got k = {self.k!r}")
        check_int("k", self.k, low=self.r, high=self.n)
        a = check_finite_float("alpha", self.alpha)
        if not 0.01 <= a <= 1.0:
            raise ValueError(f"alpha must be in [0.01, 1], got {a:g}")
        if not isinstance(self.one_step, (bool, np.bool_)):
            raise ValueError(f"one_step must be True or False, got {self.one_step!r}")
        if self.one_step and self.parameterization == "symmetric":
            raise ValueError("one_step re-balances the two factors F and G: it applies to the asymmetric "
                             "parameterization only (choose 'asymmetric' or 'both')")
        check_step_size(self.eta, SIGMA[0])
        check_int("steps", self.steps, low=200, high=100_000)
        check_int("seed", self.seed, low=0)
        return self

    def runs(self) -> tuple[str, ...]:
        """Names of the runs: ``symmetric``, ``asymmetric`` and ``one-step`` as the settings ask."""
        out = []
        if self.parameterization in ("both", "symmetric"):
            out.append("symmetric")
        if self.parameterization in ("both", "asymmetric"):
            out.append("asymmetric")
        if self.one_step:
            out.append("one-step")
        return tuple(out)


@dataclass(frozen=True)
class XiongData:
    r"""What :func:`xiong_figure` draws.

    Attributes
    ----------
    settings : XiongExplorerSettings
    iterations : numpy.ndarray, shape (T,)
    errors : dict of str to numpy.ndarray, shape (T,)
        :math:`\lVert Z_t - M^\star\rVert_F^2` of each run of ``settings.runs()`` (NaN below :data:`ERROR_FLOOR`).
    switch : int or None
        Iteration of the one-step re-balancing (None without it).
    late_rate : float
        Late linear rate per step of the plain asymmetric run: minus the least-squares slope of
        :math:`\log\lVert Z_t - M^\star\rVert_F^2` over the recorded iterations of the second half of
        the run above :data:`ERROR_FLOOR` (NaN without that run or with fewer than 5 such points).
    sym_constant : float
        :math:`(k - r)/4` (:func:`matsense.theory.redundant_limit`; 0 when :math:`k = r`).
    """

    settings: XiongExplorerSettings
    iterations: np.ndarray
    errors: dict
    switch: int | None
    late_rate: float
    sym_constant: float

    def final(self, name: str) -> float:
        """The last finite squared error of run ``name`` (the floor when it fell below it)."""
        v = self.errors[name]
        return float(v[-1]) if np.isfinite(v[-1]) else ERROR_FLOOR


@one_thread
def xiong_data(settings: XiongExplorerSettings, progress: Progress | None = None) -> XiongData:
    """Pure function: the runs of ``settings.runs()`` and the theory's guides (see the module docstring)."""
    from ..experiments import xiong as X

    s = settings.validated()
    setup = xiong_setup(quick=True, seed=s.seed, n=s.n, sigma=SIGMA, alphas=(float(s.alpha),), n_seeds=1,
                        eta=s.eta, steps_mf=s.steps, k_over=s.k, k_grid=(s.r, s.k))
    errors, switch, iterations = {}, None, None
    names = s.runs()
    for i, name in enumerate(names):
        report(progress, i / len(names), f"{name} run ({i + 1} of {len(names)})")
        if name == "symmetric":
            tr = X.run_symmetric.uncached(setup, s.k, operator="factorization", steps=s.steps)
        else:
            tr = X.run_asymmetric.uncached(setup, s.k, operator="factorization", steps=s.steps,
                                           one_step=name == "one-step")
            if name == "one-step":
                switch = int(np.asarray(tr.params["switch"])[0])
        err = np.asarray(tr["squared_error"][:, 0], dtype=np.float64)
        errors[name] = np.where(err > ERROR_FLOOR, err, np.nan)
        iterations = np.asarray(tr.iterations)
    report(progress, 1.0, "done")
    return XiongData(s, iterations, errors, switch, late_rate(iterations, errors.get("asymmetric")),
                     redundant_limit(s.k, s.r) if s.k > s.r else 0.0)


def late_rate(iterations: np.ndarray, error: np.ndarray | None) -> float:
    r"""Minus the least-squares slope of :math:`\log` ``error`` against :math:`t` over the second half of the
    run, on the finite points (NaN for ``None`` or fewer than 5 points)."""
    if error is None:
        return float("nan")
    it = np.asarray(iterations, dtype=np.float64)
    err = np.asarray(error, dtype=np.float64)
    ok = np.isfinite(err) & (err > 0) & (it >= it[-1] / 2)
    if ok.sum() < 5:
        return float("nan")
    return float(-np.polyfit(it[ok], np.log(err[ok]), 1)[0])


def xiong_estimate(settings: XiongExplorerSettings) -> float:
    """Rough seconds :func:`xiong_data` takes (a laptop core; the browser kernel is a few times slower)."""
    per_step = 1.5e-5 * (1.0 + settings.n * settings.n * settings.k / 4000.0)
    return 0.05 + len(settings.runs()) * settings.steps * per_step


_STYLE = {"symmetric": dict(color="C0", label=r"symmetric $XX^\top$"),
          "asymmetric": dict(color="C1", label=r"asymmetric $FG^\top$"),
          "one-step": dict(color="C2", label=r"asymmetric, one-step re-balancing")}


def xiong_figure(data: XiongData):
    r"""Squared error against the iteration, semi-log (left) and log-log (right), with the theory's guides."""
    s = data.settings
    fig, (ax_lin, ax_log) = new_figure(1, 2, width=9.0, height=3.6)
    it = data.iterations
    for name, err in data.errors.items():
        ax_lin.plot(it, err, **_STYLE[name])
        ax_log.plot(np.maximum(it, 1), err, **_STYLE[name])
    if data.switch is not None:
        for ax in (ax_lin, ax_log):
            ax.axvline(max(data.switch, 1), color="C2", lw=0.8, ls=":", label="switch")
    over = s.k > s.r
    if np.isfinite(data.late_rate):
        err = data.errors["asymmetric"]
        late = np.flatnonzero(np.isfinite(err) & (it >= it[-1] / 2))
        t0, e0 = float(it[late[0]]), float(err[late[0]])
        tt = np.linspace(t0 * 0.5, float(it[-1]), 50)
        ax_lin.plot(tt, e0 * np.exp(-data.late_rate * (tt - t0)), "k--", lw=1,
                    label=(f"late rate {data.late_rate:.2g} per step "
                           f"= {data.late_rate / (s.eta * s.alpha ** 2):.2g} $\\eta\\alpha^2$"))
    if over and "symmetric" in data.errors:
        tt = np.geomspace(max(10.0, it[-1] / 1000), float(it[-1]), 50)
        ax_log.plot(tt, data.sym_constant / (s.eta * tt) ** 2, "k:", lw=1.2,
                    label=r"$(k - r)/(4\eta^2 t^2)$")
    finite = np.concatenate([v[np.isfinite(v)] for v in data.errors.values()] + [np.array([1.0])])
    top = 3.0 * float(finite.max())
    for ax in (ax_lin, ax_log):
        ax.set_yscale("log")
        ax.set_ylim(ERROR_FLOOR, top)
        ax.set_xlabel("iteration $t$")
        ax.set_ylabel(r"$\|Z_t - M^\star\|_F^2$")
    ax_lin.set_xlim(0, it[-1])
    ax_log.set_xscale("log")
    ax_log.set_xlim(1, it[-1])
    ax_lin.set_title("semi-log: a linear rate is a straight line", fontsize=8)
    ax_log.set_title("log-log: a power law $t^{-p}$ is a straight line", fontsize=8)
    ax_lin.legend(loc="lower left", fontsize=7)
    ax_log.legend(loc="lower left", fontsize=7)
    kind = "exact, k = r" if s.k == s.r else "over-parameterized, k > r"
    fig.suptitle(f"matrix factorization, n = {s.n}, r = {s.r}, k = {s.k} ({kind}), $\\alpha$ = {s.alpha:g}, "
                 f"$\\eta$ = {s.eta:g}, seed {s.seed}", fontsize=9)
    return fig


def _controls(s: XiongExplorerSettings) -> dict[str, Any]:
    import ipywidgets as w

    style = {"description_width": "90px"}
    return {
        "parameterization": w.ToggleButtons(options=list(PARAMETERIZATIONS), value=s.parameterization,
                                            description="parameterization", style=style),
        "one_step": w.Checkbox(value=s.one_step, description="one-step re-balancing"),
        "k": w.IntSlider(value=s.k, min=1, max=s.n, description="k (columns)", continuous_update=False, style=style),
        "alpha": w.FloatSlider(value=s.alpha, min=0.05, max=1.0, step=0.05, description="alpha",
                               continuous_update=False, style=style),
        "steps": w.IntSlider(value=s.steps, min=1000, max=40_000, step=1000, description="steps",
                             continuous_update=False, style=style),
    }


NOTE = ("Precomputed frames. To change every setting, run this page as a notebook (Jupyter, Binder, "
        "Colab or JupyterLite): this cell then shows the live explorer.")


def xiong_static(settings: XiongExplorerSettings | None = None, *, quick: bool = False) -> StaticView:
    r"""The static view: frames over :math:`\alpha`, :math:`k` and the one-step switch (quick: 2 x 1 x 1, full: 3 x 2 x 2)."""
    s = (settings or XiongExplorerSettings()).validated()
    alphas = (0.2, 0.5) if quick else (0.1, 0.2, 0.5)
    ks = (s.k,) if quick else (s.r, s.k)
    switch = (False,) if quick else (False, True)

    def at(index: tuple[int, ...]) -> XiongExplorerSettings:
        return replace(s, parameterization="both", alpha=alphas[index[0]], k=ks[index[1]], one_step=switch[index[2]])

    def frame(index: tuple[int, ...]):
        st = at(index)
        return xiong_figure(XIONG_CACHE.get_or_compute(st, lambda: xiong_data(st)))

    default = (alphas.index(s.alpha) if s.alpha in alphas else 0, len(ks) - 1, 0)
    return static_view(
        "xiong", [("alpha", [f"{a:g}" for a in alphas]), ("k", [str(k) for k in ks]),
                  ("one-step re-balancing", ["off" if not b else "on" for b in switch])],
        frame, default=default,
        alt=lambda i: (f"Squared error of symmetric and asymmetric GD against the iteration, semi-log and "
                       f"log-log, alpha = {alphas[i[0]]:g}, k = {ks[i[1]]}, one-step "
                       f"{'on' if switch[i[2]] else 'off'}"),
        note=NOTE)


def xiong_explorer(settings: XiongExplorerSettings | None = None, *, quick: bool = False,
                   seed: int | None = None, live: bool | None = None):
    """The chapter's explorer: live (ipywidgets) in a kernel, the static view (:func:`xiong_static`) in the book build."""
    s = settings or XiongExplorerSettings()
    if seed is not None:
        s = replace(s, seed=check_int("seed", seed, low=0))
    if live is None:
        live = live_available()
    if not live:
        return xiong_static(s, quick=quick)
    s = s.validated()
    return live_explorer(s, _controls(s), xiong_data, xiong_figure, estimate=xiong_estimate, cache=XIONG_CACHE,
                         rows=(("parameterization", "one_step"), ("k", "alpha", "steps")))
