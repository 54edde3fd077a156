r"""Reference points of the symmetric landscape: eigen-truncations and best rank-s solutions.

For a symmetric sensing problem with loss :math:`f(Z) = \tfrac14\lVert\mathcal{A}(Z) - y\rVert^2`
(the paper's :math:`\tfrac1{4m}\sum_i(y_i - \langle A_i, Z\rangle)^2` with the normalised operator),
the *best rank-s solution* of Jin et al. (2023) is

.. math::

    Z_s^\star = \operatorname*{arg\,min}\{f(Z) : Z \succeq 0,\ \operatorname{rank} Z \le s\}.

For matrix factorization (:math:`\mathcal{A} = \mathrm{Id}`) it is the eigen-truncation
:math:`\sum_{i\le s}\sigma_i v_iv_i^\top` of :math:`M^\star`; under sensing it differs from it by
:math:`O(\delta)`. :func:`best_rank_solution` computes it by gradient descent on
:math:`V\in\mathbb{R}^{n\times s}` started at the eigen-truncation, until the gradient
:math:`\nabla f(V) = \mathcal{A}^*(\mathcal{A}(VV^\top) - y)V` is below ``tol``. Under RIP the
rank-s landscape has no spurious local minima, so this reaches the global minimiser (our method, not
the paper's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import numpy.typing as npt

from ._validation import ArgumentTypeError, check_array, check_int, check_positive_float
from .problems import SensingProblem

__all__ = [
    "RankSolution",
    "Descent",
    "top_eigenpairs",
    "eigen_truncation",
    "truncated_factor",
    "objective",
    "gradient",
    "descend",
    "best_rank_solution",
    "best_rank_solutions",
]


@dataclass(frozen=True)
class Descent:
    """Result of :func:`descend`.

    Attributes
    ----------
    U : numpy.ndarray, shape (n, k)
        Final factor.
    steps : int
        GD steps taken.
    grad_norm : float
        :math:`\\lVert\\nabla f(U)\\rVert_F` at the final factor.
    converged : bool
        Whether ``grad_norm <= tol`` was reached within ``max_steps``.
    path : numpy.ndarray or None, shape (steps + 1, n, n)
        :math:`U_tU_t^\\top` at every step (when requested).
    """

    U: np.ndarray
    steps: int
    grad_norm: float
    converged: bool
    path: np.ndarray | None = None


@dataclass(frozen=True)
class RankSolution:
    """A best rank-``s`` solution :math:`Z_s^\\star = VV^\\top` (see the module docstring).

    Attributes
    ----------
    s : int
    Z : numpy.ndarray, shape (n, n)
    V : numpy.ndarray, shape (n, s)
    loss : float
        :math:`f(Z_s^\\star)`.
    grad_norm : float
        :math:`\\lVert\\nabla f(V)\\rVert_F`, the certificate that ``V`` is a critical point.
    steps : int
        GD steps it took from the eigen-truncation.
    """

    s: int
    Z: np.ndarray
    V: np.ndarray
    loss: float
    grad_norm: float
    steps: int


def _symmetric_problem(problem: SensingProblem) -> SensingProblem:
    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    if not problem.is_symmetric:
        raise ValueError("problem must be square with a symmetric M_star (best rank-s solutions are PSD)")
    return problem


def top_eigenpairs(M: npt.ArrayLike, s: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r"""Top-``s`` eigenpairs of the symmetric part :math:`(M + M^\top)/2` of a square ``M``.

    Returns ``(w, V)``: the ``s`` largest eigenvalues in decreasing order, shape ``(s,)``, and their
    orthonormal eigenvectors as columns, shape ``(n, s)``. The one eigen-decomposition of the library
    (:func:`eigen_truncation`, the start of :func:`best_rank_solution`, the escape direction of
    :func:`matsense.baselines.glrl`, the escape directions of an incremental-learning study).
    """
    M = check_array("M", M, ndim=2).astype(np.float64)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square, got shape {M.shape}")
    s = check_int("s", s, low=0, high=M.shape[0])
    w, V = np.linalg.eigh((M + M.T) / 2)
    return w[::-1][:s], V[:, ::-1][:, :s]


def eigen_truncation(M: npt.ArrayLike, s: int) -> npt.NDArray[np.float64]:
    r"""The top-``s`` eigen-truncation :math:`\sum_{i\le s}\lambda_i v_iv_i^\top` of a symmetric ``M``.

    For a PSD ``M`` (or ``s`` at most its number of positive eigenvalues) this is the best rank-``s``
    PSD approximation in Frobenius norm (Eckart-Young), and the best rank-``s`` solution
    :math:`Z_s^\star` of matrix factorization.
    """
    w, V = top_eigenpairs(M, s)
    return (V * w) @ V.T


def truncated_factor(M: npt.ArrayLike, s: int) -> npt.NDArray[np.float64]:
    r"""A factor :math:`V_s\,\mathrm{diag}(\lambda_{1..s})_+^{1/2}` ``(n, s)`` of the eigen-truncation.

    ``truncated_factor(M, s) @ truncated_factor(M, s).T`` is :func:`eigen_truncation` with negative
    eigenvalues set to 0: the best rank-``s`` PSD approximation of a symmetric ``M``.
    """
    w, V = top_eigenpairs(M, s)
    return V * np.sqrt(np.clip(w, 0.0, None))


def objective(problem: SensingProblem, Z: npt.ArrayLike) -> float:
    r""":math:`f(Z) = \tfrac14\lVert\mathcal{A}(Z) - y\rVert^2` at a symmetric matrix ``Z``."""
    problem = _symmetric_problem(problem)
    Z = check_array("Z", Z, ndim=2, shape=(problem.n1, problem.n2)).astype(np.float64)
    r = problem.operator.residual(Z.astype(problem.dtype), problem.y)
    return 0.25 * float(r @ r)


def _grad(problem: SensingProblem, U: np.ndarray) -> tuple[np.ndarray, float]:
    S, r = problem.operator.adjoint_residual((U @ U.T).astype(problem.dtype), problem.y)
    return (S + S.T) / 2 @ U, 0.25 * float(r @ r)


def gradient(problem: SensingProblem, U: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r""":math:`\nabla f(U) = \mathcal{A}^*(\mathcal{A}(UU^\top) - y)\,U` for one factor ``U`` ``(n, k)``."""
    problem = _symmetric_problem(problem)
    U = check_array("U", U, ndim=2).astype(np.float64)
    if U.shape[0] != problem.n1:
        raise ValueError(f"U must have {problem.n1} rows, got shape {U.shape}")
    return _grad(problem, U)[0]


def descend(problem: SensingProblem, U0: npt.ArrayLike, eta: float, *, tol: float = 1e-12,
            max_steps: int = 100_000, record_path: bool = False) -> Descent:
    r"""Gradient descent :math:`U_{t+1} = U_t - \eta\nabla f(U_t)` from one factor until stationary.

    Stops at the first :math:`t` with :math:`\lVert\nabla f(U_t)\rVert_F \le` ``tol`` or after
    ``max_steps`` steps (then ``converged`` is False). A non-finite iterate raises a ValueError that
    names ``eta``. Meant for single, small problems (reference points, baselines); batched runs use
    :func:`matsense.gd_symmetric`.
    """
    problem = _symmetric_problem(problem)
    U = check_array("U0", U0, ndim=2).astype(np.float64)
    if U.shape[0] != problem.n1:
        raise ValueError(f"U0 must have {problem.n1} rows, got shape {U.shape}")
    eta = check_positive_float("eta", eta)
    tol = check_positive_float("tol", tol)
    max_steps = check_int("max_steps", max_steps, low=0)
    path = [U @ U.T] if record_path else None
    g, _ = _grad(problem, U)
    gnorm, t = float(np.linalg.norm(g)), 0
    bound = 1e6 * (np.linalg.norm(U) + np.sqrt(np.linalg.norm(problem.M_star)) + 1.0)
    while gnorm > tol and t < max_steps:
        U = U - eta * g
        t += 1
        with np.errstate(over="ignore", invalid="ignore"):
            g, f = _grad(problem, U)
            gnorm = float(np.linalg.norm(g))
        if not (np.isfinite(gnorm) and np.isfinite(f)) or np.linalg.norm(U) > bound:
            raise ValueError(f"gradient descent diverged at step {t}: eta = {eta:g} is too large "
                             "for this problem (try eta < 0.5 / sigma_1)")
        if path is not None:
            path.append(U @ U.T)
    return Descent(U, t, gnorm, gnorm <= tol, None if path is None else np.stack(path))


def best_rank_solution(problem: SensingProblem, s: int, *, eta: float | None = None,
                       tol: float = 1e-12, max_steps: int = 200_000) -> RankSolution:
    r"""The best rank-``s`` PSD solution :math:`Z_s^\star` of a symmetric sensing problem.

    Gradient descent on :math:`V\in\mathbb{R}^{n\times s}` from the eigen-truncation of
    :math:`M^\star` with step ``eta`` (default :math:`0.25/\sigma_1`) until
    :math:`\lVert\nabla f(V)\rVert_F \le` ``tol``. ``s = 0`` gives :math:`Z_0^\star = 0`.
    Raises a RuntimeError if ``tol`` is not reached in ``max_steps`` steps.
    """
    problem = _symmetric_problem(problem)
    n = problem.n1
    s = check_int("s", s, low=0, high=n)
    sigma_1 = float(np.linalg.eigvalsh(problem.M_star)[-1])
    eta = 0.25 / sigma_1 if eta is None else check_positive_float("eta", eta)
    if s == 0:
        Z = np.zeros((n, n))
        return RankSolution(0, Z, np.zeros((n, 0)), objective(problem, Z), 0.0, 0)
    run = descend(problem, truncated_factor(problem.M_star, s), eta, tol=tol, max_steps=max_steps)
    if not run.converged:
        raise RuntimeError(f"best_rank_solution(s={s}) did not reach gradient norm {tol:g} in "
                           f"{max_steps} steps (reached {run.grad_norm:.3g}); raise max_steps or tol")
    Z = run.U @ run.U.T
    return RankSolution(s, Z, run.U, objective(problem, Z), run.grad_norm, run.steps)


def best_rank_solutions(problem: SensingProblem, ranks: Iterable[int], **kwargs: Any) -> list[RankSolution]:
    """:func:`best_rank_solution` for each ``s`` in ``ranks``."""
    return [best_rank_solution(problem, int(s), **kwargs) for s in ranks]
