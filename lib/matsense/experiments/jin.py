r"""The studies of the Jin et al. (2023) chapter, and the measurements its notebooks quote.

:func:`study` is the chapter's main experiment (GD over :math:`\alpha \times` directions on one
sensing problem, every step recorded), computed once per build and shared by every notebook; the
other sweeps (:func:`under_distances`, :func:`factorization_run`, :func:`glrl_comparison`,
:func:`factorization_comparison`, :func:`rip_study`) are cached the same way. The functions between
them turn a study into the numbers the chapter's claims and prose use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

from .. import analysis
from .._validation import check_int
from ..dynamics import gd_symmetric, small_random_init
from ..metrics import RECORDERS, distances_to
from ..problems import SensingProblem, symmetric_gaussian_problem
from ..setups import JinSetup
from ..solutions import best_rank_solutions
from ..sweepcache import disk_cached
from . import IncrementalLearningStudy, Sweep, alpha_seed_sweep, run_incremental_learning

__all__ = ["study", "closest_medians", "approach_step_factors", "final_distance",
           "median_time_slopes", "escape_eigenvalues", "alignment_rate", "tail_at_closest",
           "loss_at_closest", "dwell_fit", "final_phase_rates", "under_distances",
           "factorization_run", "median_learning_times", "plateau_level_shift", "GLRLComparison",
           "glrl_comparison", "FactorizationComparison", "factorization_comparison",
           "paper_loss_and_gradient", "loss_translation_check", "RipStudy", "rip_study",
           "separation_times", "closest_approach_ratio", "eigengap_summary", "closest_ratio",
           "time_slope_vs_escape", "KSweep", "k_sweep", "k_end_error", "ImplicitBias",
           "implicit_bias", "bias_small_error", "bias_large_error", "residual_eigenvalues",
           "measure_alignment", "measure_tail", "measure_plateau", "measure_dwell",
           "approach_exponents", "measure_approach_exponent", "rip_adversarial",
           "rip_adversarial_upper", "zs_certificate", "restart_loss_gap", "GLRLPhasePaths",
           "glrl_phase_paths", "glrl_phase_distance", "LOWRANK_BOUND"]


@disk_cached()
def study(setup: JinSetup, *, k: int | None = None, sigma: Sequence[float] | None = None,
              progress: bool = False) -> IncrementalLearningStudy:
    r"""The Jin chapter's study on its setup, computed once and cached on disk.

    :func:`matsense.experiments.run_incremental_learning` on the problem of ``setup`` (``n``, ``m``, seed ``setup.seed``)
    for every :math:`\alpha` of ``setup.alphas`` and every direction ``setup.seeds``, ``setup.steps``
    steps of size ``setup.eta``, recording every step.

    Parameters
    ----------
    setup : JinSetup
        The chapter's sizes (:func:`matsense.setups.jin_setup`).
    k : int, optional
        Columns of :math:`U`; default ``setup.n`` (over-parameterized).
    sigma : sequence of float, optional
        Eigenvalues of :math:`M^\star`; default ``setup.sigma``.
    progress : bool
        Show a progress bar (not part of the cache key).
    """
    if not isinstance(setup, JinSetup):
        raise TypeError(f"setup must be a JinSetup (matsense.setups.jin_setup()), got {type(setup).__name__}")
    k = setup.n if k is None else k
    sig = setup.sigma if sigma is None else tuple(float(s) for s in sigma)
    if getattr(setup, "operator", "sensing") == "factorization":
        return _factorization_study(setup, k, sig, progress)
    return run_incremental_learning(setup.n, sig, setup.m, k, setup.alphas, setup.seeds, eta=setup.eta,
                                    steps=setup.steps, problem_seed=setup.seed, progress=progress)


# -- measurements on the study ---------------------------------------------------------------------

def closest_medians(study: IncrementalLearningStudy) -> npt.NDArray[np.float64]:
    r"""Median over seeds of :math:`\min_t\lVert Z_t - Z_s^\star\rVert_F`, shape ``(A, r)``."""
    return np.median(study.closest_approach()[0], axis=1)


def approach_step_factors(study: IncrementalLearningStudy, ranks: Sequence[int] = (1, 2)) -> npt.NDArray[np.float64]:
    r"""Shrink factor of the median closest approach to :math:`Z_s^\star` per step of the :math:`\alpha` grid.

    ``closest_medians[i, s] / closest_medians[i + 1, s]`` for the given ``ranks`` :math:`s`; shape
    ``(A - 1, len(ranks))``. A factor above 1 means GD passes closer at the smaller :math:`\alpha`.
    """
    cols = [check_int("s", s, low=1, high=len(study.solutions)) - 1 for s in ranks]
    return analysis.step_factors(closest_medians(study)[:, cols], axis=0)


def final_distance(study: IncrementalLearningStudy, s: int, *, relative: bool = False) -> npt.NDArray[np.float64]:
    r"""Final :math:`\lVert Z_T - Z_s^\star\rVert_F` per run ``(A, S)``; divided by :math:`\lVert M^\star\rVert_F` if ``relative``."""
    s = check_int("s", s, low=1, high=len(study.solutions))
    d = study.final("dist")[..., s - 1]
    return d / float(np.linalg.norm(study.problem.M_star)) if relative else d


def median_time_slopes(study: IncrementalLearningStudy, fraction: float = 0.5) -> npt.NDArray[np.float64]:
    r"""Median over seeds of the fitted :math:`dT_s/d\log(1/\alpha)`, shape ``(r,)`` (NaN seeds ignored)."""
    return np.nanmedian(study.time_slopes(fraction), axis=0)


def escape_eigenvalues(study: IncrementalLearningStudy) -> npt.NDArray[np.float64]:
    r"""Escape eigenvalue of each phase: top eigenvalue of :math:`\mathcal{A}^*(y - \mathcal{A}(Z_{s-1}^\star))`.

    :math:`s = 1` is the top eigenvalue :math:`\hat\lambda_1` of :math:`\mathcal{A}^*(y)`; the component
    that leaves the saddle :math:`Z_{s-1}^\star` grows by :math:`1 + \eta` times this value per step.
    Shape ``(r,)``.
    """
    from ..baselines import escape_direction
    r = min(study.sigma.size, len(study.solutions))
    later = [escape_direction(study.problem, study.solutions[s - 2].V)[0] for s in range(2, r + 1)]
    return np.array([float(study.direction_eigenvalues[0])] + later)


def alignment_rate(study: IncrementalLearningStudy, alpha_index: int = -1, *, start: int = 5) -> tuple[float, int]:
    r"""Fitted growth factor of :math:`\lVert U_t^\top\hat v_1\rVert` near the origin, median over seeds.

    Window ``start <= t <= stop`` with ``stop`` half the earliest learning time :math:`T_1` over the
    seeds at that :math:`\alpha` (well before the first component saturates). Returns ``(rate, stop)``.
    """
    T1 = float(np.nanmin(study.learning_times()[alpha_index, :, 0]))
    stop = int(T1 // 2)
    comp = study.sweep.grid("components")[:, alpha_index, :, 0]
    rates = analysis.growth_rate(comp, study.sweep.iterations, start=start, stop=stop)
    return float(np.median(rates)), stop


def tail_at_closest(study: IncrementalLearningStudy) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r""":math:`\tau_s(t)` along the runs ``(T, A, S, r-1)`` and its value at the closest approach to :math:`Z_s^\star` ``(A, S, r-1)``.

    :math:`\tau_s = \sum_{i>s}\lambda_i(Z_t)/\sigma_s` (:func:`matsense.analysis.tail_mass`), for :math:`s < r`.
    """
    r = study.sigma.size
    tail = analysis.tail_mass(study.sweep.grid("spectrum"), study.sigma)
    when = study.closest_approach()[1][..., : r - 1]
    return tail, analysis.values_at(tail, when, study.sweep.iterations)


def loss_at_closest(study: IncrementalLearningStudy, s: int, alpha_index: int = -1) -> float:
    r"""Loss :math:`f(U_t)` at the closest approach to :math:`Z_s^\star`, median over seeds at one :math:`\alpha`."""
    s = check_int("s", s, low=1, high=len(study.solutions))
    when = study.closest_approach()[1][alpha_index, :, s - 1]
    L = study.sweep.grid("loss")[:, alpha_index]
    return float(np.median(analysis.values_at(L, when, study.sweep.iterations)))


def dwell_fit(study: IncrementalLearningStudy, s: int, *, rel: float = 0.1) -> analysis.LineFit:
    r"""Line through all :math:`(\log(1/\alpha), \text{dwell time on plateau } s)` pairs, seeds pooled."""
    s = check_int("s", s, low=1, high=study.sigma.size - 1)
    D = study.dwell_times(rel=rel)[:, :, s - 1]
    return analysis.fit_line(np.repeat(study.log_inv_alpha, D.shape[1]), D.ravel())


def final_phase_rates(study: IncrementalLearningStudy, alpha_index: int = -1) -> npt.NDArray[np.float64]:
    r"""Per-seed linear rate of :math:`\lVert Z_t - M^\star\rVert_F` between :math:`10^{-3}` and :math:`10^{-8}`, shape ``(S,)``."""
    d = study.sweep.grid("dist")[:, alpha_index, :, -1]
    return np.array([analysis.final_phase_rate(d[:, j], study.sweep.iterations) for j in range(d.shape[1])])


@disk_cached()
def under_distances(setup: JinSetup, *, progress: bool = False) -> Sweep:
    r"""Under-parameterized GD (``k = setup.k_under``) on the chapter's problem, tracking three targets.

    Same problem, scales and directions as ``study(setup, k=setup.k_under)``; records ``loss`` and
    ``dist`` ``(T, B, 3)``: the distance to the best rank-k solution :math:`Z_k^\star`, to the
    eigen-truncation :math:`M^\star_k` and to :math:`M^\star`.
    """
    from ..solutions import eigen_truncation
    under = study(setup, k=setup.k_under)
    M = under.problem.M_star
    targets = [under.solutions[setup.k_under - 1].Z, eigen_truncation(M, setup.k_under), M]
    return alpha_seed_sweep(under.problem, setup.k_under, setup.alphas, setup.seeds, eta=setup.eta,
                            steps=setup.steps, metrics={"loss": RECORDERS["loss"], "dist": distances_to(targets)},
                            progress=progress)


@disk_cached()
def factorization_run(setup: JinSetup) -> tuple[np.ndarray, np.ndarray, float]:
    r"""GD for matrix factorization of the chapter's :math:`M^\star` (full observation), smallest :math:`\alpha`.

    :math:`U_0 = \alpha\bar U` with :math:`k = n` and direction seed 0, ``setup.steps`` steps of size
    ``setup.eta``. Returns ``(iterations, distance, rate)``: :math:`\lVert Z_t - M^\star\rVert_F`
    at every step and its final-phase rate (:func:`matsense.analysis.final_phase_rate`).
    """
    from ..problems import factorization_problem
    M = study(setup).problem.M_star
    U0 = small_random_init(setup.n, setup.n, [setup.alphas[-1]], rng=0)
    traj = gd_symmetric(factorization_problem(M), U0, setup.eta, setup.steps, record="all",
                        metrics=("relative_error",))
    dist = traj["relative_error"][:, 0] * float(np.linalg.norm(M))
    return traj.iterations, dist, analysis.final_phase_rate(dist, traj.iterations)


# -- further measurements, comparisons and checks ----------------------------------------------------

def median_learning_times(study: IncrementalLearningStudy, alpha_index: int = -1) -> npt.NDArray[np.float64]:
    r"""Median over seeds of the learning times :math:`T_s` at one :math:`\alpha`, shape ``(r,)``.

    ``study`` is anything with a ``learning_times()`` method of shape ``(A, S, r)`` (an
    :class:`matsense.experiments.IncrementalLearningStudy` or a :class:`FactorizationComparison`).
    """
    return np.median(study.learning_times()[alpha_index], axis=0)


def plateau_level_shift(study: IncrementalLearningStudy) -> tuple[float, float]:
    r"""Largest shift of the plateau levels :math:`f(Z_s^\star)`, :math:`1 \le s < r`, from :math:`\tfrac14\sum_{i>s}\sigma_i^2`.

    Returns ``(absolute, relative)``: the largest :math:`|f(Z_s^\star) - \tfrac14\sum_{i>s}\sigma_i^2|`
    and the largest such difference divided by the factorization value.
    """
    from ..theory import plateau_levels
    r = study.sigma.size
    measured = np.array([sol.loss for sol in study.solutions[: r - 1]])
    predicted = plateau_levels(study.sigma)[1:r]
    return (analysis.max_deviation(measured, predicted),
            analysis.max_deviation(measured, predicted, relative=True))


@dataclass(frozen=True)
class GLRLComparison:
    r"""The GD paths (direction seed 0, every :math:`\alpha`) against the GLRL path on one problem.

    Attributes
    ----------
    alphas : numpy.ndarray, shape (A,)
    d_H : numpy.ndarray, shape (A,)
        Hausdorff distance between the GD path at each :math:`\alpha` and the GLRL path (Frobenius).
    glrl_loss : numpy.ndarray
        Loss along the GLRL path, one entry per GLRL step (starting at :math:`Z = 0`).
    phase_steps : tuple of int
        GD steps of each GLRL phase.
    escape_eigenvalues : numpy.ndarray
        Top eigenvalue of :math:`-\nabla f` at the start of each phase.
    stopped : str
    iterations : numpy.ndarray, shape (T,)
    gd_loss : numpy.ndarray, shape (T, A)
        Loss along the GD paths.
    levels : numpy.ndarray, shape (r - 1,)
        Plateau levels :math:`f(Z_s^\star)`, :math:`1 \le s < r`.
    """

    alphas: np.ndarray
    d_H: np.ndarray
    glrl_loss: np.ndarray
    phase_steps: tuple
    escape_eigenvalues: np.ndarray
    stopped: str
    iterations: np.ndarray
    gd_loss: np.ndarray
    levels: np.ndarray

    def shrink(self) -> float:
        r""":math:`d_H` at the largest :math:`\alpha` divided by :math:`d_H` at the smallest."""
        return float(self.d_H[0] / self.d_H[-1])

    def monotone_fraction(self) -> float:
        r"""Fraction of consecutive pairs of scales where :math:`d_H` decreases towards smaller :math:`\alpha`."""
        return analysis.fraction_decreasing(self.d_H)

    def phase_starts(self) -> np.ndarray:
        """GLRL step at which each phase after the first starts."""
        return np.cumsum(self.phase_steps)[:-1]


@disk_cached()
def glrl_comparison(setup: JinSetup, *, eps: float = 1e-12, tol: float = 1e-13,
                        progress: bool = False) -> GLRLComparison:
    r"""GD from :math:`\alpha\bar U` (``k = n``, direction seed 0) against GLRL on the chapter's problem.

    GLRL (:func:`matsense.baselines.glrl`) with the same step :math:`\eta`, initial column size
    ``eps`` and phase tolerance ``tol`` on the gradient norm; GD records :math:`Z_t` at every step.
    """
    from ..baselines import glrl
    from ..solutions import objective
    problem = symmetric_gaussian_problem(setup.n, setup.sigma, setup.m, rng=setup.seed)
    res = glrl(problem, setup.eta, max_rank=setup.r, eps=eps, tol=tol)
    gd = alpha_seed_sweep(problem, setup.n, setup.alphas, [0], eta=setup.eta, steps=setup.steps,
                          metrics={"X": lambda st: st.X, "loss": None}, progress=progress)
    paths, glrl_path = gd.grid("X")[:, :, 0], res.path
    d_H = np.array([analysis.hausdorff_distance(paths[:, i], glrl_path) for i in range(paths.shape[1])])
    levels = np.array([sol.loss for sol in best_rank_solutions(problem, range(1, setup.r))])
    return GLRLComparison(gd.alphas, d_H, np.array([objective(problem, Z) for Z in glrl_path]),
                          tuple(int(p.steps) for p in res.phases), np.asarray(res.escape_eigenvalues),
                          res.stopped, gd.iterations, gd.grid("loss")[:, :, 0], levels)


@dataclass(frozen=True)
class FactorizationComparison:
    r"""GD on matrix factorization (:math:`\mathcal{A} = \mathrm{Id}`) of the chapter's :math:`M^\star`.

    Attributes
    ----------
    sigma : numpy.ndarray, shape (r,)
    sweep : Sweep
        ``loss`` and ``spectrum`` for every :math:`\alpha` and direction of the setup (``k = n``).
    levels : numpy.ndarray, shape (r + 1,)
        :math:`f(Z_s^\star)` for :math:`s = 0, \dots, r`, computed by the general solver.
    solver_steps : tuple of int
        Steps the solver took from the eigen-truncation (0 when it is already optimal).
    """

    sigma: np.ndarray
    sweep: Sweep
    levels: np.ndarray
    solver_steps: tuple

    def learning_times(self) -> np.ndarray:
        r""":math:`T_s` (first :math:`t` with :math:`\lambda_s(Z_t) \ge \sigma_s/2`), shape ``(A, S, r)``."""
        T = analysis.learning_times(self.sweep.trajectory["spectrum"], self.sigma, self.sweep.iterations)
        return self.sweep.per_run(T)

    def level_gap(self) -> float:
        r"""Largest :math:`|f(Z_s^\star) - \tfrac14\sum_{i>s}\sigma_i^2|` over :math:`s = 0, \dots, r` (exactly 0 in theory)."""
        from ..theory import plateau_levels
        return analysis.max_deviation(self.levels, plateau_levels(self.sigma))


@disk_cached()
def factorization_comparison(setup: JinSetup, *, progress: bool = False) -> FactorizationComparison:
    r"""The chapter's sweep (every :math:`\alpha` and direction, ``k = n``) on matrix factorization of its :math:`M^\star`.

    Same :math:`M^\star`, :math:`\eta`, scales and directions as :func:`study`; the sensing side
    of the comparison is ``study(setup)``.
    """
    from ..problems import factorization_problem
    problem = symmetric_gaussian_problem(setup.n, setup.sigma, setup.m, rng=setup.seed)
    fact = factorization_problem(problem.M_star)
    sweep = alpha_seed_sweep(fact, setup.n, setup.alphas, setup.seeds, eta=setup.eta, steps=setup.steps,
                             metrics=("loss", "spectrum"), progress=progress)
    sols = best_rank_solutions(fact, range(0, setup.r + 1))
    return FactorizationComparison(np.asarray(setup.sigma, dtype=np.float64), sweep,
                                   np.array([sol.loss for sol in sols]), tuple(int(s.steps) for s in sols))


def paper_loss_and_gradient(problem: SensingProblem, U: npt.ArrayLike) -> tuple[float, np.ndarray]:
    r"""The paper's loss :math:`\frac1{4m}\sum_i(y_i - \langle A_i, UU^\top\rangle)^2` and its gradient in :math:`U`.

    Written with the raw sensing matrices :math:`A_i = \sqrt m\,\cdot` (row :math:`i` of the
    normalised design), :math:`y_i = \langle A_i, M^\star\rangle`; the gradient is
    :math:`\frac1m\sum_i(\langle A_i, UU^\top\rangle - y_i)A_iU`.
    """
    U = np.asarray(U, dtype=np.float64)
    n, m = problem.n1, problem.operator.m
    A = problem.operator.full_design().reshape(m, n, n).astype(np.float64) * np.sqrt(m)
    y = np.einsum("ijk,jk->i", A, problem.M_star)
    inner = np.einsum("ijk,jk->i", A, U @ U.T)
    return float(np.sum((y - inner) ** 2) / (4 * m)), np.einsum("i,ijk->jk", inner - y, A) @ U / m


def loss_translation_check(setup: JinSetup) -> dict[str, float]:
    r"""Compare the paper's loss and gradient with the book's at a random :math:`U` on the chapter's problem.

    Returns the relative differences ``loss_rel``, ``grad_rel`` and ``symmetric`` (1.0 when every raw
    :math:`A_i` is symmetric). :math:`U` has :math:`N(0, 1/n)` entries from seed ``setup.seed + 1``.
    """
    from ..solutions import gradient, objective
    problem = symmetric_gaussian_problem(setup.n, setup.sigma, setup.m, rng=setup.seed)
    U = np.random.default_rng(setup.seed + 1).standard_normal((setup.n, setup.n)) / np.sqrt(setup.n)
    paper_loss, paper_grad = paper_loss_and_gradient(problem, U)
    book_loss, book_grad = objective(problem, U @ U.T), gradient(problem, U)
    A = problem.operator.full_design().reshape(-1, setup.n, setup.n)
    return {"loss_rel": abs(paper_loss - book_loss) / book_loss,
            "grad_rel": float(np.linalg.norm(paper_grad - book_grad) / np.linalg.norm(book_grad)),
            "symmetric": float(np.allclose(A, np.swapaxes(A, 1, 2)))}


@dataclass(frozen=True)
class RipStudy:
    r"""RIP ratios and best rank-s solutions for every :math:`m` of ``setup.m_grid`` (same seed, nested designs).

    Attributes
    ----------
    m_grid : numpy.ndarray, shape (M,)
    ratios : numpy.ndarray
        :math:`\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2` on random symmetric rank-:math:`2r`
        :math:`X`, shape ``(M, rip_samples)``.
    same_truth : float
        Largest entry of :math:`|M^\star(m) - M^\star(m_1)|` over the grid (0: the same ground truth).
    nested : float
        Largest difference between the raw :math:`A_i` of the smallest design and the first rows of the largest.
    trunc_dist : numpy.ndarray, shape (M, r)
        :math:`\lVert Z_s^\star - M^\star_s\rVert_F`, :math:`s = 1, \dots, r`.
    levels : numpy.ndarray, shape (M, r)
        :math:`f(Z_s^\star)`.
    grad_max : float
        Largest gradient norm at any computed :math:`Z_s^\star`.
    chapter_levels : numpy.ndarray, shape (r - 1,)
        :math:`f(Z_s^\star)`, :math:`1 \le s < r`, at the chapter's own ``setup.m``.
    """

    m_grid: np.ndarray
    ratios: np.ndarray
    same_truth: float
    nested: float
    trunc_dist: np.ndarray
    levels: np.ndarray
    grad_max: float
    chapter_levels: np.ndarray

    def delta_hat(self) -> np.ndarray:
        r"""Empirical RIP constant :math:`\hat\delta` per :math:`m` (:func:`matsense.analysis.empirical_rip_constant`)."""
        return analysis.empirical_rip_constant(self.ratios)

    def rip_fit(self) -> analysis.LineFit:
        r"""Power-law fit of :math:`\hat\delta` against :math:`m` (slope: the exponent)."""
        return analysis.power_law_fit(self.m_grid, self.delta_hat())

    def trunc_fit(self, s: int = 1) -> analysis.LineFit:
        r"""Power-law fit of :math:`\lVert Z_s^\star - M^\star_s\rVert_F` against :math:`m`."""
        s = check_int("s", s, low=1, high=self.trunc_dist.shape[1])
        return analysis.power_law_fit(self.m_grid, self.trunc_dist[:, s - 1])


@disk_cached()
def rip_study(setup: JinSetup) -> RipStudy:
    r"""The RIP and best rank-s study of the preliminaries over ``setup.m_grid``.

    Every problem is drawn with seed ``setup.seed`` (so the same :math:`M^\star` and nested designs);
    ratios from :func:`matsense.rip_ratios` (``setup.rip_samples`` matrices of rank :math:`2r`, seed
    ``setup.seed + 1``); :math:`Z_s^\star` from :func:`matsense.solutions.best_rank_solutions`.
    """
    from ..operators import rip_ratios
    from ..solutions import eigen_truncation
    r = setup.r
    problems = [symmetric_gaussian_problem(setup.n, setup.sigma, m, rng=setup.seed) for m in setup.m_grid]
    same = max(float(np.abs(p.M_star - problems[0].M_star).max()) for p in problems)
    small, large = problems[0].operator, problems[-1].operator
    nested = float(np.abs(small.matrix * np.sqrt(small.m) - large.matrix[: small.m] * np.sqrt(large.m)).max())
    ratios = np.stack([rip_ratios(p.operator, 2 * r, setup.rip_samples, rng=setup.seed + 1) for p in problems])
    sols = [best_rank_solutions(p, range(1, r + 1)) for p in problems]
    trunc = np.array([[np.linalg.norm(sol.Z - eigen_truncation(p.M_star, sol.s)) for sol in ss]
                      for p, ss in zip(problems, sols)])
    own = best_rank_solutions(symmetric_gaussian_problem(setup.n, setup.sigma, setup.m, rng=setup.seed),
                              range(1, r))
    return RipStudy(np.asarray(setup.m_grid), ratios, same, nested, trunc,
                    np.array([[sol.loss for sol in ss] for ss in sols]),
                    float(max(sol.grad_norm for ss in sols for sol in ss)), np.array([s.loss for s in own]))


def separation_times(study: IncrementalLearningStudy) -> npt.NDArray[np.float64]:
    r""":math:`T_2 - T_1` per run, shape ``(A, S)``: how long GD stays near :math:`Z_1^\star`."""
    T = study.learning_times()
    return T[:, :, 1] - T[:, :, 0]


def closest_approach_ratio(study: IncrementalLearningStudy, reference: IncrementalLearningStudy, *,
                           s: int = 1, alpha_index: int = -1) -> float:
    r"""Median closest approach to :math:`Z_s^\star` in ``study`` divided by that in ``reference``, at one :math:`\alpha`."""
    s = check_int("s", s, low=1, high=min(len(study.solutions), len(reference.solutions)))
    return float(closest_medians(study)[alpha_index, s - 1] / closest_medians(reference)[alpha_index, s - 1])


def eigengap_summary(study: IncrementalLearningStudy, alpha_index: int = -1) -> dict[str, Any]:
    r"""The numbers the eigengap experiment quotes for one spectrum, at the scale ``alpha_index``.

    ``d1``, ``d2``: median closest approach to :math:`Z_1^\star`, :math:`Z_2^\star`; ``factor``: its
    shrink per 100x smaller :math:`\alpha` (:meth:`matsense.experiments.IncrementalLearningStudy.approach_factor`);
    ``sep``: median :math:`T_2 - T_1`; ``sep_slope``: its fitted slope in :math:`\log(1/\alpha)` (all
    seeds); ``sep_pred`` and ``sep_pred_rip``: :func:`matsense.theory.dwell_time_slope` with
    :math:`\sigma_s` and with the eigenvalues :math:`\hat\lambda_s` of :math:`\mathcal{A}^*(y)`; ``rho``:
    :func:`matsense.theory.growth_exponent_ratio`; ``lam`` and ``T`` (text): :math:`\hat\lambda_1,
    \hat\lambda_2` and the median learning times.
    """
    from ..theory import dwell_time_slope, growth_exponent_ratio
    closest, sep = closest_medians(study), separation_times(study)
    lam = study.direction_eigenvalues
    return {
        "d1": float(closest[alpha_index, 0]), "d2": float(closest[alpha_index, 1]),
        "factor": study.approach_factor(1), "sep": float(np.median(sep[alpha_index])),
        "sep_slope": analysis.fit_line(np.repeat(study.log_inv_alpha, sep.shape[1]), sep.ravel()).slope,
        "sep_pred": dwell_time_slope(study.eta, study.sigma, 1),
        "sep_pred_rip": dwell_time_slope(study.eta, lam, 1),
        "rho": growth_exponent_ratio(study.eta, study.sigma, 1),
        "lam": ", ".join(f"{v:.2f}" for v in lam[:2]),
        "T": ", ".join(f"{v:.0f}" for v in median_learning_times(study, alpha_index)),
    }


# -- book/jin/main_results: bounds with negative controls (closest approach, time slopes, the sweep
#    over k, the implicit bias below n(n+1)/2) ------------------------------------------------------

def closest_ratio(setup: JinSetup, s: int) -> tuple[float, float]:
    r"""Closest approach to :math:`Z_s^\star` at the smallest :math:`\alpha`, in units of the separation.

    :math:`\operatorname{median}_j\min_t\lVert Z_t - Z_s^\star\rVert_F / \lVert Z_{s+1}^\star - Z_s^\star\rVert_F`
    on ``study(setup)`` (``k = n``), for :math:`1 \le s < r`. Returns ``(ratio, 0.0)``: the theorem's
    limit is 0. A ratio near 1 means GD passes no closer to :math:`Z_s^\star` than :math:`Z_{s+1}^\star` is.
    """
    st = study(setup)
    s = check_int("s", s, low=1, high=len(st.solutions) - 1)
    sep = float(np.linalg.norm(st.solutions[s].Z - st.solutions[s - 1].Z))
    return float(closest_medians(st)[-1, s - 1]) / sep, 0.0


def time_slope_vs_escape(setup: JinSetup, s: int) -> tuple[float, float]:
    r"""Fitted :math:`dT_s/d\log(1/\alpha)` (median over directions) and :math:`1/\log(1 + \eta\lambda_s)`.

    :math:`\lambda_s` is the measured escape eigenvalue of phase :math:`s` (:func:`escape_eigenvalues`),
    the rate the linearisation near :math:`Z_{s-1}^\star` names. Returns ``(measured, predicted)``.
    """
    from ..theory import learning_time_slope
    st = study(setup)
    s = check_int("s", s, low=1, high=st.sigma.size)
    lam = escape_eigenvalues(st)[s - 1]
    return float(median_time_slopes(st)[s - 1]), float(learning_time_slope(setup.eta, [lam])[0])


@dataclass(frozen=True)
class KSweep:
    r"""GD with :math:`k` columns for every :math:`k` of ``setup.k_grid``, at the smallest :math:`\alpha`.

    Attributes
    ----------
    k_grid : numpy.ndarray, shape (K,)
    r : int
        Rank of :math:`M^\star`.
    to_truth : numpy.ndarray, shape (K, S)
        Final :math:`\lVert Z_T - M^\star\rVert_F/\lVert M^\star\rVert_F` per :math:`k` and direction.
    to_best : numpy.ndarray, shape (K, S)
        Final :math:`\lVert Z_T - Z_{\min(k,r)}^\star\rVert_F/\lVert Z_{\min(k,r)}^\star\rVert_F`.
    loss : numpy.ndarray, shape (K, S)
        Final loss.
    levels : numpy.ndarray, shape (r,)
        :math:`f(Z_s^\star)`, :math:`s = 1, \dots, r`.
    """

    k_grid: np.ndarray
    r: int
    to_truth: np.ndarray
    to_best: np.ndarray
    loss: np.ndarray
    levels: np.ndarray

    def worst(self, regime: str) -> float:
        r"""Largest final relative distance: to :math:`M^\star` over :math:`k \ge r` (``"over"``), to
        :math:`Z_k^\star` over :math:`k < r` (``"under"``); NaN when the grid has no such :math:`k`."""
        if regime not in ("over", "under"):
            raise ValueError(f"regime={regime!r} must be 'over' or 'under'")
        rows = self.k_grid >= self.r if regime == "over" else self.k_grid < self.r
        vals = (self.to_truth if regime == "over" else self.to_best)[rows]
        return float(vals.max()) if vals.size else float("nan")


@disk_cached()
def k_sweep(setup: JinSetup, *, progress: bool = False) -> KSweep:
    r"""GD from :math:`\alpha\bar U^{(j)}` (smallest :math:`\alpha`, every direction) with :math:`k` columns for each ``setup.k_grid``.

    The problem of ``setup`` (seed ``setup.seed``), ``setup.steps`` steps of size ``setup.eta``; only
    the final iterate is recorded.
    """
    problem = symmetric_gaussian_problem(setup.n, setup.sigma, setup.m, rng=setup.seed)
    r = len(setup.sigma)
    sols = best_rank_solutions(problem, range(1, r + 1))
    M = problem.M_star
    to_truth, to_best, loss = [], [], []
    for k in setup.k_grid:
        best = sols[min(k, r) - 1].Z
        sw = alpha_seed_sweep(problem, int(k), [setup.alphas[-1]], setup.seeds, eta=setup.eta, steps=setup.steps,
                              record=np.array([setup.steps]), progress=progress,
                              metrics={"loss": RECORDERS["loss"], "dist": distances_to([M, best])})
        d = sw.grid("dist")[-1, 0]                              # (S, 2)
        to_truth.append(d[:, 0] / np.linalg.norm(M))
        to_best.append(d[:, 1] / np.linalg.norm(best))
        loss.append(sw.grid("loss")[-1, 0])
    return KSweep(np.asarray(setup.k_grid), r, np.array(to_truth), np.array(to_best), np.array(loss),
                  np.array([sol.loss for sol in sols]))


def k_end_error(setup: JinSetup, regime: str) -> tuple[float, float]:
    r"""``(k_sweep(setup).worst(regime), 0.0)``: the largest final relative distance to the predicted end point."""
    return k_sweep(setup).worst(regime), 0.0


@dataclass(frozen=True)
class ImplicitBias:
    r"""GD with :math:`k = n` on ``m_bias`` measurements from a small and a large :math:`\alpha`.

    Attributes
    ----------
    alphas : numpy.ndarray, shape (2,)
        ``(setup.alphas[-1], 1.0)``.
    m : int
    error : numpy.ndarray, shape (2, S)
        Final :math:`\lVert Z_T - M^\star\rVert_F/\lVert M^\star\rVert_F` per scale and direction.
    loss : numpy.ndarray, shape (2, S)
        Final loss, divided by the loss :math:`f(0) = \tfrac14\lVert y\rVert^2` at the origin.
    nuclear : numpy.ndarray, shape (2, S)
        Final :math:`\lVert Z_T\rVert_*/\lVert M^\star\rVert_*`.
    iterations : numpy.ndarray, shape (T,)
    error_path : numpy.ndarray, shape (T, 2, S)
        Relative error along the runs (log-spaced iterations).
    loss_path : numpy.ndarray, shape (T, 2, S)
        Relative loss along the runs.
    """

    alphas: np.ndarray
    m: int
    error: np.ndarray
    loss: np.ndarray
    nuclear: np.ndarray
    iterations: np.ndarray
    error_path: np.ndarray
    loss_path: np.ndarray


@disk_cached()
def implicit_bias(setup: JinSetup, *, large: float = 1.0, progress: bool = False) -> ImplicitBias:
    r"""The implicit-bias experiment: ``m = setup.m_bias`` measurements of the chapter's :math:`M^\star`.

    GD with :math:`k = n` from :math:`\alpha\bar U^{(j)}`, :math:`\alpha \in` (``setup.alphas[-1]``,
    ``large``), every direction, ``setup.steps_bias`` steps of size ``setup.eta``, log-spaced records.
    Below :math:`n(n+1)/2` the measurements do not determine a symmetric matrix, so the end point
    depends on the initialisation.
    """
    problem = symmetric_gaussian_problem(setup.n, setup.sigma, setup.m_bias, rng=setup.seed)
    M = problem.M_star
    f0 = 0.25 * float(np.sum(np.asarray(problem.y, dtype=np.float64) ** 2))
    nuc = lambda st: np.abs(np.linalg.eigvalsh(st.X)).sum(axis=-1) / np.abs(np.linalg.eigvalsh(M)).sum()  # noqa: E731
    sw = alpha_seed_sweep(problem, setup.n, [setup.alphas[-1], large], setup.seeds, eta=setup.eta,
                          steps=setup.steps_bias, record="log", progress=progress,
                          metrics={"loss": RECORDERS["loss"], "relative_error": RECORDERS["relative_error"],
                                   "nuclear": nuc})
    err, L = sw.grid("relative_error"), sw.grid("loss") / f0
    return ImplicitBias(sw.alphas, setup.m_bias, err[-1], L[-1], sw.grid("nuclear")[-1], sw.iterations, err, L)


def bias_small_error(setup: JinSetup) -> tuple[float, float]:
    r"""Median final relative error to :math:`M^\star` from the small :math:`\alpha` of :func:`implicit_bias`; predicted 0."""
    return float(np.median(implicit_bias(setup).error[0])), 0.0


def bias_large_error(setup: JinSetup, bound: float = 1e-2) -> tuple[float, float]:
    r"""Median final relative error to :math:`M^\star` from :math:`\alpha = 1` (:func:`implicit_bias`) and ``bound``.

    Returns ``(error, bound)``: an end point at least ``bound`` away is another matrix than :math:`M^\star`
    (the default is ten times the recovery criterion :math:`10^{-3}`).
    """
    return float(np.median(implicit_bias(setup).error[1])), float(bound)


# -- proof_sketch, experiments, conclusion: one-setup measurements for the claims, with controls ----

#: The bound of ``jin.lowrank.tail``: at its closest approach to :math:`Z_s^\star`, the eigenvalue mass
#: of :math:`Z_t` outside the top :math:`s` is below a tenth of :math:`\sigma_{s+1}`, the eigenvalue
#: that :math:`Z_{s+1}^\star` adds (the chapter's closeness criterion, as for the closest approach).
LOWRANK_BOUND = 0.1


def _factorization_study(setup: JinSetup, k: int, sigma: Sequence[float],
                         progress: bool = False) -> IncrementalLearningStudy:
    r"""The study of ``setup`` on matrix factorization (:math:`\mathcal{A} = \mathrm{Id}`) of the same :math:`M^\star`.

    Same :math:`M^\star` (drawn with seed ``setup.seed``), scales, directions, step and steps as the
    sensing study; :math:`Z_s^\star` is then the eigen-truncation :math:`M^\star_s`.
    """
    from ..experiments import incremental_learning_sweep
    from ..problems import factorization_problem
    from ..solutions import top_eigenpairs
    M = symmetric_gaussian_problem(setup.n, sigma, setup.m, rng=setup.seed).M_star
    problem = factorization_problem(M)
    sig = np.asarray(sigma, dtype=np.float64)
    sols = best_rank_solutions(problem, range(1, sig.size + 1))
    lams, dirs = top_eigenpairs(problem.operator.adjoint(problem.y).astype(np.float64), sig.size)
    sweep = incremental_learning_sweep(problem, k, setup.alphas, setup.seeds, eta=setup.eta, steps=setup.steps,
                                       solutions=sols, directions=dirs, progress=progress)
    return IncrementalLearningStudy(problem, sig, float(setup.eta), int(k), sols, sweep, dirs, lams)


def residual_eigenvalues(study: IncrementalLearningStudy) -> npt.NDArray[np.float64]:
    r"""Top :math:`r` eigenvalues of :math:`\mathcal{A}^*(y - \mathcal{A}(Z_q^\star))` for every saddle :math:`q = 0, \dots, r-1`.

    Row :math:`q` holds the growth rates of the not-yet-learned components near :math:`Z_q^\star`
    (:math:`Z_0^\star = 0`); its first entry is the escape eigenvalue of phase :math:`q + 1`. Shape ``(r, r)``.
    """
    r = study.sigma.size
    op, y = study.problem.operator, study.problem.y
    rows = []
    for q in range(r):
        Z = np.zeros((study.problem.n1,) * 2) if q == 0 else study.solutions[q - 1].Z
        S, _ = op.adjoint_residual(Z.astype(study.problem.dtype), y)
        rows.append(np.linalg.eigvalsh(-(S + S.T) / 2)[::-1][:r])
    return np.array(rows)


def measure_alignment(setup: JinSetup) -> tuple[float, float]:
    r"""Growth factor of :math:`\lVert U_t^\top\hat v_1\rVert` over the first steps at the smallest :math:`\alpha`, against :math:`1 + \eta\hat\lambda_1`.

    Window :math:`1 \le t \le 1 + w`, :math:`w = \lceil\log 10/\log(1+\eta\hat\lambda_1)\rceil` (the
    linear prediction grows tenfold); median over the directions. Returns ``(measured, predicted)``.
    """
    st = study(setup)
    lam1 = float(st.direction_eigenvalues[0])
    w = int(np.ceil(np.log(10.0) / np.log1p(setup.eta * lam1)))
    comp = st.sweep.grid("components")[:, -1, :, 0]
    rates = analysis.growth_rate(comp, st.sweep.iterations, start=1, stop=1 + w)
    return float(np.median(rates)), 1.0 + setup.eta * lam1


def measure_tail(setup: JinSetup) -> tuple[float, float]:
    r"""Eigenvalue mass outside the top :math:`s` at the closest approach to :math:`Z_s^\star`, relative to :math:`\sigma_{s+1}`.

    :math:`\sum_{i>s}\lambda_i(Z_t)/\sigma_{s+1}` at the smallest :math:`\alpha`, median over the
    directions, largest over :math:`s < r`; against :data:`LOWRANK_BOUND`.
    """
    st = study(setup)
    _, at_closest = tail_at_closest(st)                      # (A, S, r - 1), relative to sigma_s
    ratio = st.sigma[:-1] / st.sigma[1:]                     # sigma_s / sigma_{s+1}
    return float(np.max(np.median(at_closest[-1] * ratio, axis=0))), LOWRANK_BOUND


def measure_plateau(setup: JinSetup, s: int) -> tuple[float, float]:
    r"""Loss at the closest approach to :math:`Z_s^\star` (smallest :math:`\alpha`, median over directions), against :math:`f(Z_s^\star)`."""
    st = study(setup)
    return loss_at_closest(st, s, -1), float(st.solutions[s - 1].loss)


def measure_dwell(setup: JinSetup, s: int) -> tuple[float, float]:
    r"""Fitted slope of :math:`T_{s+1} - T_s` against :math:`\log(1/\alpha)` (directions pooled), against the phase prediction.

    The prediction is :math:`S_{s+1} - S_s` from :func:`matsense.theory.phase_time_slopes` on the
    growth rates of every phase (:func:`residual_eigenvalues`). Returns ``(measured, predicted)``.
    """
    from ..theory import phase_time_slopes
    st = study(setup)
    s = check_int("s", s, low=1, high=st.sigma.size - 1)
    T = st.learning_times()
    D = T[:, :, s] - T[:, :, s - 1]
    slope = analysis.fit_line(np.repeat(st.log_inv_alpha, D.shape[1]), D.ravel()).slope
    S = phase_time_slopes(setup.eta, residual_eigenvalues(st))
    return float(slope), float(S[s] - S[s - 1])


def approach_exponents(study: IncrementalLearningStudy, s: int = 1) -> npt.NDArray[np.float64]:
    r"""Per direction, the exponent :math:`p` of :math:`\min_t\lVert Z_t - Z_s^\star\rVert_F \propto \alpha^{p}` (least squares over the :math:`\alpha` grid), shape ``(S,)``."""
    s = check_int("s", s, low=1, high=len(study.solutions))
    d = study.closest_approach()[0][:, :, s - 1]
    return np.array([-analysis.fit_line(study.log_inv_alpha, np.log(d[:, j])).slope for j in range(d.shape[1])])


def measure_approach_exponent(setup: JinSetup) -> tuple[float, float]:
    r"""Median exponent of the closest approach to :math:`Z_1^\star` in :math:`\alpha`, against :func:`matsense.theory.factorization_approach_exponent`."""
    from ..theory import factorization_approach_exponent
    return (float(np.median(approach_exponents(study(setup), 1))),
            factorization_approach_exponent(setup.eta, setup.sigma))


# -- preliminaries and related work: claims that can fail ------------------------------------------
# (adversarial RIP estimate, restart certificate of Z_s*, GLRL against GD phase by phase)

def _chapter_problem(setup: JinSetup) -> SensingProblem:
    return symmetric_gaussian_problem(setup.n, setup.sigma, setup.m, rng=setup.seed)


def rip_adversarial(setup: JinSetup) -> tuple[float, float]:
    r"""Adversarial lower restricted singular value over rank-:math:`2r` matrices, and Gordon's estimate of it.

    Measured: :math:`\sqrt{\min\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2}` found by
    :func:`matsense.analysis.restricted_isometry_search` (8 starts, seed ``setup.seed + 1``) on the
    chapter's operator (``setup.m`` measurements); predicted:
    :func:`matsense.theory.gordon_restricted_singular_value` :math:`1 - w_{2r}/\sqrt m`.
    Returns ``(measured, predicted)``.
    """
    from ..theory import gordon_restricted_singular_value
    ratio, _ = analysis.restricted_isometry_search(_chapter_problem(setup).operator, 2 * setup.r,
                                                   rng=setup.seed + 1)
    return float(np.sqrt(max(ratio, 0.0))), gordon_restricted_singular_value(setup.n, 2 * setup.r, setup.m)


def rip_adversarial_upper(setup: JinSetup) -> float:
    r"""Adversarial upper restricted singular value :math:`\sqrt{\max\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2}` over rank-:math:`2r` :math:`X`."""
    ratio, _ = analysis.restricted_isometry_search(_chapter_problem(setup).operator, 2 * setup.r,
                                                   maximize=True, rng=setup.seed + 1)
    return float(np.sqrt(ratio))


def zs_certificate(setup: JinSetup, s: int, *, count: int = 10, steps: int = 2000) -> tuple[float, float]:
    r"""Restart certificate that :math:`Z_s^\star` is the rank-:math:`s` minimum: the largest distance of a restart to it.

    :func:`matsense.analysis.rank_restarts` (``count`` random starts, ``steps`` steps, seed
    ``setup.seed + 2``) on the chapter's problem; measured :math:`\max_j\lVert Z^{(j)} - Z_s^\star\rVert_F /
    \lVert Z_{s+1}^\star - Z_s^\star\rVert_F` (:math:`Z_r^\star = M^\star`), predicted 0. NaN when the
    solver for :math:`Z_s^\star` does not converge in 20 000 steps (no isolated minimiser).
    """
    s = check_int("s", s, low=1, high=setup.r - 1)
    problem = _chapter_problem(setup)
    try:
        sols = best_rank_solutions(problem, (s, s + 1), max_steps=20_000)
    except RuntimeError:
        return float("nan"), 0.0
    nxt = problem.M_star if s + 1 == setup.r else sols[1].Z
    Z, _ = analysis.rank_restarts(problem, s, count=count, steps=steps, rng=setup.seed + 2)
    d = np.linalg.norm(Z - sols[0].Z, axis=(1, 2))
    return float(d.max() / np.linalg.norm(nxt - sols[0].Z)), 0.0


def restart_loss_gap(setup: JinSetup, s: int, *, count: int = 10, steps: int = 2000) -> float:
    r""":math:`\min_j f(Z^{(j)}) - f(Z_s^\star)` over the restarts of :func:`zs_certificate` (negative: a restart found a lower loss)."""
    problem = _chapter_problem(setup)
    sol = best_rank_solutions(problem, (s,))[0]
    _, loss = analysis.rank_restarts(problem, s, count=count, steps=steps, rng=setup.seed + 2)
    return float(loss.min() - sol.loss)


@dataclass(frozen=True)
class GLRLPhasePaths:
    r"""GD at the smallest :math:`\alpha` of a setup (``k = n``, direction seed 0) and GLRL on the same problem.

    Attributes
    ----------
    gd_path, glrl_path : numpy.ndarray, shape (T, n, n)
        :math:`Z_t` at every step.
    gd_loss, glrl_loss : numpy.ndarray, shape (T,)
    targets : numpy.ndarray, shape (r + 1, n, n)
        :math:`Z_0^\star = 0, Z_1^\star, \dots, Z_r^\star = M^\star`.
    levels : numpy.ndarray, shape (r + 1,)
        :math:`f(Z_s^\star)`.
    """

    gd_path: np.ndarray
    gd_loss: np.ndarray
    glrl_path: np.ndarray
    glrl_loss: np.ndarray
    targets: np.ndarray
    levels: np.ndarray

    def phase_distances(self, s: int, fractions: Sequence[float] = (0.25, 0.5, 0.75)) -> np.ndarray:
        r"""Distance between GD and GLRL where both losses reach the levels of phase ``s``, over :math:`\lVert Z_s^\star - Z_{s-1}^\star\rVert_F`.

        Levels :math:`f(Z_{s-1}^\star) - c\,(f(Z_{s-1}^\star) - f(Z_s^\star))` for each ``c`` of
        ``fractions`` (:func:`matsense.analysis.level_aligned_distance`): the transition from
        :math:`Z_{s-1}^\star` to :math:`Z_s^\star`, compared where both paths are, not when.
        """
        s = check_int("s", s, low=1, high=len(self.levels) - 1)
        hi, lo = self.levels[s - 1], self.levels[s]
        levels = [hi - c * (hi - lo) for c in fractions]
        d = analysis.level_aligned_distance(self.gd_path, self.gd_loss, self.glrl_path, self.glrl_loss, levels)
        return d / float(np.linalg.norm(self.targets[s] - self.targets[s - 1]))


@disk_cached()
def glrl_phase_paths(setup: JinSetup, *, eps: float = 1e-12, tol: float = 1e-13) -> GLRLPhasePaths:
    r"""GLRL (:func:`matsense.baselines.glrl`, step ``setup.eta``) and GD from ``setup.alphas[-1]`` :math:`\bar U` (seed 0) on the chapter's problem."""
    from ..baselines import glrl
    from ..solutions import objective
    problem = _chapter_problem(setup)
    res = glrl(problem, setup.eta, max_rank=setup.r, eps=eps, tol=tol)
    gd = alpha_seed_sweep(problem, setup.n, [setup.alphas[-1]], [0], eta=setup.eta, steps=setup.steps,
                          metrics={"X": lambda st: st.X, "loss": None})
    sols = best_rank_solutions(problem, range(1, setup.r))
    targets = np.stack([np.zeros((setup.n, setup.n))] + [sol.Z for sol in sols] + [problem.M_star])
    return GLRLPhasePaths(gd.grid("X")[:, 0, 0], gd.grid("loss")[:, 0, 0], res.path,
                          np.array([objective(problem, Z) for Z in res.path]), targets,
                          np.array([objective(problem, Z) for Z in targets]))


def glrl_phase_distance(setup: JinSetup, s: int) -> tuple[float, float]:
    r"""Largest level-aligned distance between GD (smallest :math:`\alpha`) and GLRL during phase ``s``, over the separation; predicted 0."""
    return float(glrl_phase_paths(setup).phase_distances(s).max()), 0.0
