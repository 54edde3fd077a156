r"""Baseline algorithms the papers compare gradient descent with.

**Greedy low-rank learning (GLRL)**, Li, Luo and Lyu (2021), for the symmetric loss
:math:`f(Z) = \tfrac14\lVert\mathcal{A}(Z) - y\rVert^2`: start from :math:`U = [\,]` (rank 0) and
repeat, for :math:`s = 1, 2, \dots`

1. take the top eigenvector :math:`u_s` of :math:`-\nabla f(UU^\top) \propto -\mathcal{A}^*(\mathcal{A}(UU^\top) - y)`
   (stop when its eigenvalue is not positive: no rank-one direction decreases the loss);
2. append the small column :math:`\varepsilon u_s` to :math:`U`;
3. run gradient descent on :math:`U` until it is stationary.

As :math:`\varepsilon\to0` the points GLRL visits form a path through the best rank-s solutions
:math:`Z_1^\star, Z_2^\star, \dots`; GD from a small random initialisation follows the same path more
and more closely as :math:`\alpha\to0` (Jin et al. 2023, section 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_int, check_positive_float
from .problems import SensingProblem
from .solutions import Descent, _symmetric_problem, descend, top_eigenpairs

__all__ = ["GLRLResult", "glrl", "escape_direction"]


@dataclass(frozen=True)
class GLRLResult:
    """Result of :func:`glrl`.

    Attributes
    ----------
    U : numpy.ndarray, shape (n, s)
        Final factor (``s`` = number of phases run).
    phases : list of Descent
        The GD run of each phase (``phases[i].path`` holds :math:`U_tU_t^\\top` of phase ``i + 1``).
    escape_eigenvalues : numpy.ndarray
        Top eigenvalue of :math:`-\\mathcal{A}^*(\\mathcal{A}(UU^\\top) - y)` at the start of each phase.
    stopped : str
        Why GLRL stopped: ``"max_rank"`` or ``"no descent direction"``.
    """

    U: np.ndarray
    phases: list
    escape_eigenvalues: np.ndarray
    stopped: str

    @property
    def path(self) -> np.ndarray:
        """All visited matrices :math:`UU^\\top` in order, shape ``(T, n, n)``, starting at 0."""
        n = self.U.shape[0]
        parts = [np.zeros((1, n, n))] + [p.path for p in self.phases if p.path is not None]
        return np.concatenate(parts)

    @property
    def Z(self) -> np.ndarray:
        """Final matrix :math:`UU^\\top`."""
        return self.U @ self.U.T


def escape_direction(problem: SensingProblem, U: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Top eigenpair of :math:`-\mathcal{A}^*(\mathcal{A}(UU^\top) - y)`: the steepest rank-one direction."""
    problem = _symmetric_problem(problem)
    S, _ = problem.operator.adjoint_residual((U @ U.T).astype(problem.dtype), problem.y)
    w, V = top_eigenpairs(-S, 1)
    return float(w[0]), V[:, 0]


def glrl(problem: SensingProblem, eta: float, *, max_rank: int, eps: float = 1e-8,
         tol: float = 1e-11, max_steps: int = 200_000, record_path: bool = True) -> GLRLResult:
    r"""Greedy low-rank learning (see the module docstring) with GD steps of size ``eta``.

    Parameters
    ----------
    problem : SensingProblem
        Symmetric problem.
    eta : float
        GD step size of every phase, > 0 (use the step of the GD run it is compared with).
    max_rank : int
        Number of phases at most (>= 1); the factor has at most this many columns.
    eps : float
        Size of the new column, > 0; GLRL is defined in the limit ``eps -> 0``.
    tol : float
        A phase ends when :math:`\lVert\nabla f(U)\rVert_F \le` ``tol``; must be below the gradient
        ``eps`` times the escape eigenvalue at the start of a phase.
    max_steps : int
        GD steps per phase at most; a phase that does not converge raises a RuntimeError.
    record_path : bool
        Keep :math:`UU^\top` at every step (for :attr:`GLRLResult.path`).
    """
    problem = _symmetric_problem(problem)
    eta = check_positive_float("eta", eta)
    max_rank = check_int("max_rank", max_rank, low=1, high=problem.n1)
    eps = check_positive_float("eps", eps)
    tol = check_positive_float("tol", tol)
    n = problem.n1
    U = np.zeros((n, 0))
    phases: list[Descent] = []
    lams: list[float] = []
    stopped = "max_rank"
    for s in range(1, max_rank + 1):
        lam, u = escape_direction(problem, U)
        if lam <= tol:
            stopped = "no descent direction"
            break
        if eps * lam <= tol:
            raise ValueError(f"eps = {eps:g} is too small for tol = {tol:g}: the first gradient "
                             f"(about eps * {lam:.3g}) is already below tol; take eps > {tol / lam:.3g}")
        run = descend(problem, np.column_stack([U, eps * u]), eta, tol=tol, max_steps=max_steps,
                      record_path=record_path)
        if not run.converged:
            raise RuntimeError(f"GLRL phase {s} did not reach gradient norm {tol:g} in {max_steps} "
                               f"steps (reached {run.grad_norm:.3g})")
        if record_path:  # the first point of the phase repeats the end of the previous one
            run = Descent(run.U, run.steps, run.grad_norm, run.converged, run.path[1:])
        phases.append(run)
        lams.append(lam)
        U = run.U
    return GLRLResult(U, phases, np.asarray(lams), stopped)
