r"""Sweeps over initial scales and seeds, run as one batch.

A sweep runs GD from :math:`U_0 = \alpha\,\bar U^{(j)}` for every scale :math:`\alpha` in
``alphas`` and every seed :math:`j` in ``seeds``: the direction :math:`\bar U^{(j)}` (entries
i.i.d. :math:`N(0, 1/n)`, drawn from ``numpy.random.default_rng(seed_j)``) is the *same* for every
:math:`\alpha`, so that differences between scales are due to :math:`\alpha` alone. All
``len(alphas) * len(seeds)`` runs share the operator and go through :func:`matsense.gd_symmetric` as
one batch (one matrix-matrix product per step).

Each chapter's studies live in a module of this package (:mod:`matsense.experiments.jin`), computed
once per build and read by every notebook that needs them: they are cached on disk at the sweep
level (:mod:`matsense.sweepcache`), keyed on the chapter's setup, their arguments and the science
source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from .. import analysis
from .._validation import ArgumentTypeError, as_generator, check_int, check_positive_array
from ..dynamics import Trajectory, gd_symmetric, small_random_init
from ..metrics import RECORDERS, components_along, distances_to
from ..problems import SensingProblem, symmetric_gaussian_problem
from ..solutions import RankSolution, best_rank_solutions, top_eigenpairs
from ..theory import check_step_size

__all__ = ["Sweep", "alpha_seed_sweep", "incremental_learning_sweep", "IncrementalLearningStudy",
           "run_incremental_learning", "foundations", "jin", "wind", "xiong"]


@dataclass(frozen=True)
class Sweep:
    """A batched run over ``alphas x seeds``; run ``b = i * len(seeds) + j`` has ``alphas[i]``, ``seeds[j]``."""

    trajectory: Trajectory
    alphas: np.ndarray
    seeds: np.ndarray

    @property
    def iterations(self) -> np.ndarray:
        """Recorded iterations, shape ``(T,)``."""
        return self.trajectory.iterations

    def grid(self, name: str) -> np.ndarray:
        """Metric ``name`` reshaped from ``(T, B, ...)`` to ``(T, len(alphas), len(seeds), ...)``."""
        v = self.trajectory[name]
        return v.reshape(v.shape[0], self.alphas.size, self.seeds.size, *v.shape[2:])

    def per_run(self, values: np.ndarray) -> np.ndarray:
        """Reshape a per-run array ``(B, ...)`` to ``(len(alphas), len(seeds), ...)``."""
        values = np.asarray(values)
        return values.reshape(self.alphas.size, self.seeds.size, *values.shape[1:])

    @property
    def valid(self) -> np.ndarray:
        """Mask ``(T, len(alphas), len(seeds))`` of recorded points before any divergence."""
        return self.trajectory.valid().reshape(-1, self.alphas.size, self.seeds.size)


def alpha_seed_sweep(problem: SensingProblem, k: int, alphas: npt.ArrayLike, seeds: Sequence[int], *, eta: float,
                     steps: int, record: str | int | npt.ArrayLike = "all",
                     metrics: Sequence[str] | Mapping[str, Callable] = ("loss", "spectrum"),
                     progress: bool = False, **gd_kwargs: Any) -> Sweep:
    r"""GD from :math:`\alpha\bar U^{(j)}` for every ``alpha`` and ``seed``, in one batch (see module docstring).

    ``eta`` must satisfy :math:`\eta\sigma_1 < 1` (:func:`matsense.theory.check_step_size`).
    Further keyword arguments go to :func:`matsense.gd_symmetric`.
    """
    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    k = check_int("k", k, low=1, high=problem.n1)
    alphas = check_positive_array("alphas", alphas)
    if alphas.size == 0:
        raise ValueError("alphas must hold at least one scale, got an empty array")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ArgumentTypeError(f"seeds must be a sequence of non-negative integer seeds, got {seeds!r}")
    seeds_arr = np.asarray([check_int("seeds[i]", s, low=0) for s in seeds], dtype=np.int64)
    if seeds_arr.size == 0:
        raise ValueError("seeds must hold at least one seed")
    check_step_size(eta, float(problem.singular_values[0]))
    Ubar = np.concatenate([small_random_init(problem.n1, k, 1.0, rng=int(s)) for s in seeds_arr])
    U0 = alphas[:, None, None, None] * Ubar[None]            # (A, S, n, k)
    U0 = U0.reshape(-1, problem.n1, k)
    traj = gd_symmetric(problem, U0, eta, steps, record=record, metrics=metrics, progress=progress,
                        **gd_kwargs)
    return Sweep(traj, alphas, seeds_arr)


def incremental_learning_sweep(problem: SensingProblem, k: int, alphas: npt.ArrayLike, seeds: Sequence[int], *,
                               eta: float, steps: int, solutions: Sequence[RankSolution],
                               directions: np.ndarray | None = None, record: str | int | npt.ArrayLike = "all",
                               progress: bool = False) -> Sweep:
    r"""The sweep of the incremental-learning chapter: loss, spectrum and distances to each :math:`Z_s^\star`.

    Records ``loss``, ``spectrum`` (eigenvalues of :math:`Z_t`), ``dist`` (shape ``(T, B, J)``:
    :math:`\lVert Z_t - Z^\star_{s_j}\rVert_F` for the given ``solutions``) and, when ``directions``
    ``(n, J')`` is given, ``components`` (:math:`\lVert U_t^\top v_j\rVert`).
    """
    metrics: dict[str, Callable] = {"loss": RECORDERS["loss"], "spectrum": RECORDERS["spectrum"],
                                    "dist": distances_to([sol.Z for sol in solutions])}
    if directions is not None:
        metrics["components"] = components_along(directions)
    return alpha_seed_sweep(problem, k, alphas, seeds, eta=eta, steps=steps, record=record,
                            metrics=metrics, progress=progress)


@dataclass(frozen=True)
class IncrementalLearningStudy:
    r"""One incremental-learning experiment: a problem, its best rank-s solutions, and a sweep.

    Attributes
    ----------
    problem : SensingProblem
    sigma : numpy.ndarray, shape (r,)
        Eigenvalues of :math:`M^\star`.
    eta : float
    k : int
        Number of columns of :math:`U`.
    solutions : list of RankSolution
        :math:`Z_1^\star, \dots, Z_r^\star`.
    sweep : Sweep
        Recorded ``loss``, ``spectrum``, ``dist`` (to each :math:`Z_s^\star`), ``components``
        (along the top eigenvectors of :math:`\mathcal{A}^*(y)`), every step by default.
    directions : numpy.ndarray, shape (n, r)
        Top-r eigenvectors of :math:`\mathcal{A}^*(y)`, the directions the alignment phase grows.
    direction_eigenvalues : numpy.ndarray, shape (r,)
        Their eigenvalues :math:`\hat\lambda_s`, so that the component along ``directions[:, s]``
        grows by :math:`1 + \eta\hat\lambda_s` per step near the origin.
    """

    problem: SensingProblem
    sigma: np.ndarray
    eta: float
    k: int
    solutions: list
    sweep: Sweep
    directions: np.ndarray
    direction_eigenvalues: np.ndarray

    @property
    def alphas(self) -> np.ndarray:
        r"""The initial scales :math:`\alpha` of the sweep, shape ``(A,)``."""
        return self.sweep.alphas

    @property
    def log_inv_alpha(self) -> np.ndarray:
        r""":math:`\log(1/\alpha)` for each scale."""
        return np.log(1.0 / self.sweep.alphas)

    def learning_times(self, fraction: float = 0.5) -> np.ndarray:
        r""":math:`T_s` (first :math:`t` with :math:`\lambda_s(Z_t) \ge \text{fraction}\cdot\sigma_s`), shape ``(A, S, r)``."""
        r = min(self.sigma.size, self.k)
        T = analysis.learning_times(self.sweep.trajectory["spectrum"], self.sigma[:r], self.sweep.iterations,
                           fraction=fraction)
        return self.sweep.per_run(T)

    def time_slopes(self, fraction: float = 0.5) -> np.ndarray:
        r"""Fitted :math:`dT_s/d\log(1/\alpha)` for each seed and component, shape ``(S, r)`` (NaN if never learned)."""
        T = self.learning_times(fraction)
        out = np.full(T.shape[1:], np.nan)
        for j in range(T.shape[1]):
            for s in range(T.shape[2]):
                if np.all(np.isfinite(T[:, j, s])):
                    out[j, s] = analysis.fit_line(self.log_inv_alpha, T[:, j, s]).slope
        return out

    def closest_approach(self) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`\min_t\lVert Z_t - Z_s^\star\rVert_F` and its time, each of shape ``(A, S, r)``."""
        return analysis.closest_approach(self.sweep.grid("dist"), self.sweep.iterations)

    def approach_factor(self, s: int) -> float:
        r"""Average factor by which the median closest approach to :math:`Z_s^\star` shrinks per 100x smaller :math:`\alpha`.

        :math:`100^{p}` with :math:`p` the least-squares slope of :math:`\log_{10}` (median over seeds
        of :math:`\min_t\lVert Z_t - Z_s^\star\rVert_F`) against :math:`\log_{10}(1/\alpha)`.
        """
        s = check_int("s", s, low=1, high=len(self.solutions))
        d = np.median(self.closest_approach()[0][:, :, s - 1], axis=1)
        p = -analysis.fit_line(np.log10(1.0 / self.alphas), np.log10(d)).slope
        return float(100.0 ** p)

    def dwell_times(self, rel: float = 0.1) -> np.ndarray:
        r"""Steps with :math:`|f(U_t) - f(Z_s^\star)| \le \text{rel}\cdot f(Z_s^\star)`, shape ``(A, S, r - 1)``.

        One column per plateau :math:`s = 1, \dots, r-1` (the last, :math:`f(Z_r^\star) = 0`, has none).
        """
        L = self.sweep.grid("loss")
        levels = [sol.loss for sol in self.solutions[: self.sigma.size - 1]]
        return np.stack([analysis.dwell_time(L, lev, self.sweep.iterations, rel=rel) for lev in levels], axis=-1)

    def final(self, name: str) -> np.ndarray:
        """Last recorded value of metric ``name``, shape ``(A, S, ...)``."""
        return self.sweep.grid(name)[-1]


def run_incremental_learning(n: int, sigma: npt.ArrayLike, m: int, k: int, alphas: npt.ArrayLike, seeds: Sequence[int], *,
                             eta: float, steps: int, problem_seed: int, record: str | int | npt.ArrayLike = "all",
                             progress: bool = False) -> IncrementalLearningStudy:
    r"""Draw a symmetric Gaussian sensing problem and run the incremental-learning sweep on it.

    :math:`M^\star` (``n x n``, eigenvalues ``sigma``) and the ``m`` sensing matrices come from
    ``problem_seed``; :math:`\bar U^{(j)}` from ``seeds[j]``. Computes :math:`Z_1^\star, \dots, Z_r^\star`
    (:func:`matsense.solutions.best_rank_solutions`) and records the distance of every iterate to
    each of them.
    """
    problem = symmetric_gaussian_problem(n, sigma, m, rng=as_generator(problem_seed, "problem_seed"))
    sig = np.asarray(problem.singular_values, dtype=np.float64)
    sols = best_rank_solutions(problem, range(1, sig.size + 1))
    S = problem.operator.adjoint(problem.y).astype(np.float64)
    lams, dirs = top_eigenpairs(S, sig.size)
    sweep = incremental_learning_sweep(problem, k, alphas, seeds, eta=eta, steps=steps, solutions=sols,
                                       directions=dirs, record=record, progress=progress)
    return IncrementalLearningStudy(problem, sig, float(eta), int(k), sols, sweep, dirs, lams)


from . import foundations, jin, wind, xiong  # noqa: E402  (the chapters' studies: matsense.experiments.<chapter>)
