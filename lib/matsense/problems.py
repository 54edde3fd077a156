r"""Ground truths with prescribed spectra and the sensing problems built on them.

A sensing problem bundles an operator :math:`\mathcal{A}`, the ground truth :math:`M^\star` and the
measurements

.. math::

    y = \mathcal{A}(M^\star) + \text{noise\_scale}\cdot\xi,\qquad \xi_i \sim N(0, s^2),

i.e. the noise :math:`\xi_i` is added to the raw measurements :math:`\langle A_i, M^\star\rangle`
(:ref:`conventions`); with the :math:`1/\sqrt m` normalisation this is
:math:`y = \mathcal{A}(M^\star) + \xi/\sqrt m`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import (ArgumentTypeError, RNGLike, as_generator, check_array, check_dtype, check_int,
                          check_memory, check_nonnegative_float, check_positive_array)
from .operators import (MeasurementOperator, gaussian_operator, identity_operator,
                        symmetric_gaussian_operator)

__all__ = [
    "SYMMETRY_RTOL",
    "random_orthonormal",
    "low_rank_matrix",
    "psd_matrix",
    "SensingProblem",
    "make_sensing_problem",
    "gaussian_problem",
    "symmetric_gaussian_problem",
    "factorization_problem",
]


def random_orthonormal(n: int, r: int, *, rng: RNGLike) -> npt.NDArray[np.float64]:
    """First ``r`` columns of a Haar-distributed orthogonal ``n x n`` matrix, shape ``(n, r)``.

    QR of a Gaussian matrix with the signs of ``diag(R)`` moved into Q (Mezzadri 2007).
    """
    n = check_int("n", n, low=1)
    r = check_int("r", r, low=1, high=n)
    Q, R = np.linalg.qr(as_generator(rng).standard_normal((n, r)))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def low_rank_matrix(n1: int, n2: int, singular_values: npt.ArrayLike, *, rng: RNGLike
                    ) -> npt.NDArray[np.float64]:
    r""":math:`M^\star = U\,\mathrm{diag}(s)\,V^\top` with Haar-random orthonormal U ``(n1, r)``, V ``(n2, r)``.

    Parameters
    ----------
    n1, n2 : int
        Shape, each >= 1.
    singular_values : array_like, shape (r,)
        Positive singular values, ``r <= min(n1, n2)`` (sorted in decreasing order by the function).
    rng : numpy.random.Generator or int
    """
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    s = _spectrum(singular_values, "singular_values", min(n1, n2))
    check_memory(f"low_rank_matrix(n1={n1}, n2={n2})", 2 * 8.0 * n1 * n2, "use a smaller n1 or n2")
    gen = as_generator(rng)
    U = random_orthonormal(n1, s.size, rng=gen)
    V = random_orthonormal(n2, s.size, rng=gen)
    return (U * s) @ V.T


def psd_matrix(n: int, eigenvalues: npt.ArrayLike, *, rng: RNGLike) -> npt.NDArray[np.float64]:
    r"""PSD :math:`M^\star = V\,\mathrm{diag}(\sigma)\,V^\top`, V ``(n, r)`` Haar-random orthonormal.

    Parameters
    ----------
    n : int
        Size, >= 1.
    eigenvalues : array_like, shape (r,)
        Positive eigenvalues, ``r <= n`` (sorted in decreasing order by the function).
    rng : numpy.random.Generator or int
    """
    n = check_int("n", n, low=1)
    s = _spectrum(eigenvalues, "eigenvalues", n)
    check_memory(f"psd_matrix(n={n})", 3 * 8.0 * n * n, "use a smaller n")
    V = random_orthonormal(n, s.size, rng=rng)
    M = (V * s) @ V.T
    return (M + M.T) / 2


def _spectrum(values: Any, name: str, max_rank: int) -> np.ndarray:
    s = check_positive_array(name, values)
    if s.size == 0 or s.size > max_rank:
        raise ValueError(f"rank len({name}) must be in [1, {max_rank}] (min(n1, n2)), got {s.size}")
    return np.sort(s)[::-1]


@dataclass(frozen=True, eq=False)
class SensingProblem:
    r"""A matrix sensing instance.

    Attributes
    ----------
    operator : MeasurementOperator
        :math:`\mathcal{A}`.
    y : numpy.ndarray, shape (m,)
        Measurements :math:`\mathcal{A}(M^\star) + \text{noise}`.
    M_star : numpy.ndarray, shape (n1, n2)
        Ground truth (float64).
    noise_std : float
        Standard deviation ``s`` of the raw measurement noise.

    Raises
    ------
    TypeError
        ``operator`` is not a :class:`~matsense.operators.MeasurementOperator`, or ``y`` /
        ``M_star`` are not real arrays (the message names the field).
    ValueError
        ``y`` not of shape ``(m,)`` or ``M_star`` not of shape ``(n1, n2)`` of the operator (the
        message names both sizes), NaN or inf in either, or a negative ``noise_std``.
    """

    operator: MeasurementOperator
    y: np.ndarray
    M_star: np.ndarray
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        op = self.operator
        if not isinstance(op, MeasurementOperator):
            raise ArgumentTypeError(f"SensingProblem: operator must be a MeasurementOperator, "
                                    f"got {type(op).__name__}")
        y = check_array("SensingProblem: y", self.y, ndim=1)
        if y.shape != (op.m,):
            raise ValueError(f"SensingProblem: y must have shape (m,) = ({op.m},), one entry per "
                             f"measurement of the operator, got {y.shape}")
        M = check_array("SensingProblem: M_star", self.M_star, ndim=2)
        if M.shape != (op.n1, op.n2):
            raise ValueError(f"SensingProblem: M_star must have shape (n1, n2) = ({op.n1}, {op.n2}) of the "
                             f"operator, got {M.shape}")
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "M_star", M)
        object.__setattr__(self, "noise_std", check_nonnegative_float("SensingProblem: noise_std",
                                                                      self.noise_std))

    n1 = property(lambda self: self.operator.n1)
    n2 = property(lambda self: self.operator.n2)
    m = property(lambda self: self.operator.m)
    dtype = property(lambda self: self.operator.dtype)

    @property
    def rank(self) -> int:
        """Numerical rank of :math:`M^\\star`."""
        return int(np.linalg.matrix_rank(self.M_star))

    @property
    def singular_values(self) -> np.ndarray:
        """Nonzero singular values of :math:`M^\\star`, decreasing."""
        s = np.linalg.svd(self.M_star, compute_uv=False)
        return s[: self.rank]

    @property
    def is_symmetric(self) -> bool:
        """True when :math:`M^\\star` is square and symmetric to :data:`matsense.problems.SYMMETRY_RTOL` (a target for ``U U^T``)."""
        return self.n1 == self.n2 and _asymmetry(self.M_star) <= SYMMETRY_RTOL

    def with_measurements(self, y: np.ndarray) -> "SensingProblem":
        """Same operator and truth with other measurements ``y`` (e.g. a noise realisation)."""
        y = check_array("y", y, ndim=1, shape=(self.m,))
        return SensingProblem(self.operator, y.astype(self.dtype), self.M_star, self.noise_std)


#: Relative asymmetry :math:`\lVert M - M^\top\rVert_F / \lVert M\rVert_F` up to which a truth is
#: treated as symmetric (and symmetrised by :func:`matsense.make_sensing_problem`): rounding of a symmetric
#: matrix by arithmetic (``A @ B @ A.T``) gives 1e-16 to 1e-12; 1e-8 leaves room without accepting
#: a truly asymmetric matrix.
SYMMETRY_RTOL = 1e-8


def _asymmetry(M: np.ndarray) -> float:
    norm = float(np.linalg.norm(M))
    return 0.0 if norm == 0 else float(np.linalg.norm(M - M.T)) / norm


def _symmetrize(name: str, M: np.ndarray) -> np.ndarray:
    """Return ``M`` (exactly symmetric) or ``(M + M^T)/2`` if symmetric to :data:`matsense.problems.SYMMETRY_RTOL`; raise otherwise."""
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be square (symmetric), got shape {M.shape}")
    if np.array_equal(M, M.T):
        return M
    asym = _asymmetry(M)
    if asym > SYMMETRY_RTOL:
        raise ValueError(f"{name} must be symmetric for an operator with symmetric sensing matrices: "
                         f"||M - M^T||_F / ||M||_F = {asym:.3g} > {SYMMETRY_RTOL:g} "
                         f"(matsense.problems.SYMMETRY_RTOL); pass (M + M.T) / 2, or use an asymmetric "
                         f"operator (gaussian_operator / gaussian_problem)")
    return (M + M.T) / 2


def make_sensing_problem(M_star: npt.ArrayLike, operator: MeasurementOperator, *, noise_std: float = 0.0,
                         rng: RNGLike | None = None) -> SensingProblem:
    r"""Measure ``M_star`` with ``operator``: :math:`y = \mathcal{A}(M^\star) + \text{noise\_scale}\cdot\xi`.

    Parameters
    ----------
    M_star : array_like, shape (n1, n2)
        Ground truth; must match the operator's shape. For an operator with symmetric sensing
        matrices it must be symmetric to a relative :data:`matsense.problems.SYMMETRY_RTOL`
        (:math:`\lVert M - M^\top\rVert_F \le 10^{-8}\lVert M\rVert_F`, e.g. a symmetric matrix
        rounded by arithmetic), and is then replaced by :math:`(M + M^\top)/2` (unchanged when it
        is exactly symmetric).
    operator : MeasurementOperator
    noise_std : float
        Standard deviation of the raw noise :math:`\xi_i`, >= 0. ``rng`` is required when > 0.
    rng : numpy.random.Generator or int, optional
    """
    if not isinstance(operator, MeasurementOperator):
        raise ArgumentTypeError(f"operator must be a MeasurementOperator, got {type(operator).__name__}")
    M = check_array("M_star", M_star, ndim=2).astype(np.float64)
    if M.shape != (operator.n1, operator.n2):
        raise ValueError(f"M_star must have shape (n1, n2) = ({operator.n1}, {operator.n2}) of the operator, "
                         f"got {M.shape}")
    noise_std = check_nonnegative_float("noise_std", noise_std)
    if operator.symmetric:
        M = _symmetrize("M_star", M)
    y = operator.forward(M.astype(operator.dtype)).astype(np.float64)
    if noise_std > 0:
        if rng is None:
            raise ValueError("rng is required when noise_std > 0")
        y = y + operator.noise_scale * noise_std * as_generator(rng).standard_normal(operator.m)
    if not np.all(np.isfinite(y.astype(operator.dtype))):
        raise ValueError(f"the measurements y = A(M_star) + noise overflow {operator.dtype.name} "
                         f"(max |M_star| = {np.abs(M).max():.3g}, noise_std = {noise_std:g}); rescale M_star "
                         f"or noise_std, or use dtype float64")
    return SensingProblem(operator, y.astype(operator.dtype), M, noise_std)


def gaussian_problem(n1: int, n2: int, singular_values: npt.ArrayLike, m: int, *, rng: RNGLike,
                     noise_std: float = 0.0, dtype: npt.DTypeLike = np.float64) -> SensingProblem:
    """Asymmetric Gaussian sensing of a random rank-r ``n1 x n2`` matrix (truth, operator, noise from ``rng``)."""
    gen = as_generator(rng)
    M = low_rank_matrix(n1, n2, singular_values, rng=gen)
    op = gaussian_operator(n1, n2, m, rng=gen, dtype=check_dtype("dtype", dtype))
    return make_sensing_problem(M, op, noise_std=noise_std, rng=gen)


def symmetric_gaussian_problem(n: int, eigenvalues: npt.ArrayLike, m: int, *, rng: RNGLike,
                               noise_std: float = 0.0, dtype: npt.DTypeLike = np.float64) -> SensingProblem:
    """Symmetric Gaussian sensing of a random PSD rank-r ``n x n`` matrix."""
    gen = as_generator(rng)
    M = psd_matrix(n, eigenvalues, rng=gen)
    op = symmetric_gaussian_operator(n, m, rng=gen, dtype=check_dtype("dtype", dtype))
    return make_sensing_problem(M, op, noise_std=noise_std, rng=gen)


def factorization_problem(M_star: npt.ArrayLike, *, dtype: npt.DTypeLike = np.float64) -> SensingProblem:
    """Matrix factorization (full observation) of ``M_star``: the identity operator."""
    M = check_array("M_star", M_star, ndim=2)
    return make_sensing_problem(M, identity_operator(*M.shape, dtype=dtype))
