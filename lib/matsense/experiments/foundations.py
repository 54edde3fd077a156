r"""The foundations chapter's experiment and the measurements behind its claims.

One symmetric Gaussian sensing problem per setup (:func:`problem`), gradient descent on it from the
setup's initial scales (:func:`run`, cached on disk), and three measurements of one setup each, in
the form :func:`matsense.claims.check_claim` takes (``setup -> (measured, predicted)``): the adjoint
identity, the isotropy of the operator and the recovery of :math:`M^\star` from a small
initialisation.
"""

from __future__ import annotations

import numpy as np

from ..dynamics import Trajectory, gd_symmetric, small_random_init
from ..operators import SymmetricOperator, adjoint_mismatch, isotropy_deviation
from ..problems import SensingProblem, make_sensing_problem, symmetric_gaussian_problem
from ..setups import FoundationsSetup
from ..sweepcache import disk_cached
from ..theory import isotropy_deviation_prediction

__all__ = ["RECOVERY_BOUND", "ISOTROPY_SAMPLES", "problem", "run", "adjoint_check", "isotropy_check",
           "recovery_check"]

#: Relative error below which a run counts as having recovered :math:`M^\star`.
RECOVERY_BOUND = 1e-3


def _check(setup: FoundationsSetup) -> FoundationsSetup:
    if not isinstance(setup, FoundationsSetup):
        raise TypeError(f"setup must be a FoundationsSetup (matsense.setups.foundations_setup()), "
                        f"got {type(setup).__name__}")
    return setup


def problem(setup: FoundationsSetup) -> SensingProblem:
    r"""The sensing problem of a setup: :math:`M^\star` (eigenvalues ``setup.eigenvalues``) and
    :math:`A_i = c\,(B_i + B_i^\top)/2` with :math:`c` = ``setup.operator_scale``, drawn from ``setup.seed``."""
    _check(setup)
    p = symmetric_gaussian_problem(setup.n, setup.eigenvalues, setup.m, rng=setup.seed,
                                   dtype=setup.dtype)
    if setup.operator_scale == 1.0:
        return p
    op = SymmetricOperator(p.operator.packed * p.operator.dtype.type(setup.operator_scale), setup.n)
    return make_sensing_problem(p.M_star, op)


@disk_cached()
def run(setup: FoundationsSetup, *, progress: bool = False) -> Trajectory:
    r"""GD from :math:`U_0 = \alpha\bar U` for every :math:`\alpha` of the setup (one batch, ``k`` columns,
    direction seed ``setup.seed + 2``), recorded on a log-spaced schedule."""
    p = problem(setup)
    U0 = small_random_init(setup.n, setup.k, setup.alphas, rng=setup.seed + 2)
    return gd_symmetric(p, U0, setup.eta, setup.steps, record="log", progress=progress)


def _test_pair(setup: FoundationsSetup) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(setup.seed + 1)
    X = rng.standard_normal((setup.n, setup.n))
    return (X + X.T) / 2, rng.standard_normal(setup.m)


def adjoint_check(setup: FoundationsSetup) -> tuple[float, float]:
    r"""Relative mismatch of :math:`\langle\mathcal A(X), v\rangle = \langle X, \mathcal A^*(v)\rangle`
    for a random symmetric :math:`X` and :math:`v` (:func:`matsense.operators.adjoint_mismatch`); predicted 0."""
    X, v = _test_pair(setup)
    return adjoint_mismatch(problem(setup).operator, X, v), 0.0


#: Random symmetric test matrices averaged over in :func:`isotropy_check`.
ISOTROPY_SAMPLES = 20


def isotropy_check(setup: FoundationsSetup) -> tuple[float, float]:
    r"""Root mean square of :math:`\lVert\mathcal A^*\mathcal A(X) - X\rVert_F/\lVert X\rVert_F` over
    :data:`ISOTROPY_SAMPLES` random symmetric :math:`X`, and its prediction
    :math:`\sqrt{(n(n+1)/2 + 1)/m}` (:func:`matsense.theory.isotropy_deviation_prediction`, exact for
    the mean square over the Gaussian design)."""
    op = problem(setup).operator
    rng = np.random.default_rng(setup.seed + 1)
    X = rng.standard_normal((ISOTROPY_SAMPLES, setup.n, setup.n))
    dev = [isotropy_deviation(op, (x + x.T) / 2) ** 2 for x in X]
    return float(np.sqrt(np.mean(dev))), isotropy_deviation_prediction(setup.n, setup.m)


def recovery_check(setup: FoundationsSetup) -> tuple[float, float]:
    r"""Final relative error :math:`\lVert U_TU_T^\top - M^\star\rVert_F/\lVert M^\star\rVert_F` of the run
    from the smallest :math:`\alpha`, against the recovery bound :data:`RECOVERY_BOUND`."""
    traj = run(setup)
    return float(traj["relative_error"][-1][int(np.argmin(setup.alphas))]), RECOVERY_BOUND
