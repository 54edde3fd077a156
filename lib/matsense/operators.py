r"""Measurement operators :math:`\mathcal{A}: \mathbb{R}^{n_1\times n_2}\to\mathbb{R}^m`.

Conventions (:ref:`conventions`): with sensing matrices :math:`A_i`,

.. math::

    \mathcal{A}(X) = \frac{1}{\sqrt m}\bigl(\langle A_1, X\rangle, \dots, \langle A_m, X\rangle\bigr),
    \qquad
    \mathcal{A}^*(v) = \frac{1}{\sqrt m}\sum_{i=1}^m v_i A_i,

so that :math:`\mathbb{E}[\mathcal{A}^*\mathcal{A}(X)] = X` (isotropy) for Gaussian designs.

Every operator is stored as one dense *design matrix* ``matrix`` of shape ``(m, N_v)`` acting on a
vectorisation ``vec(X)`` of length ``N_v``, so that a batch of matrices is mapped by one
matrix-matrix product:

* :class:`DenseOperator` (asymmetric Gaussian): ``vec(X) = X.ravel()`` (row-major), ``N_v = n1 n2``
  and row ``i`` of ``matrix`` is ``vec(A_i)/sqrt(m)``.
* :class:`SymmetricOperator` (symmetric Gaussian, :math:`A_i = (B_i + B_i^\top)/2`): only the upper
  triangle is stored, ``vec(X) = X[triu]``, ``N_v = n(n+1)/2``, and off-diagonal columns carry the
  weight 2, because :math:`\langle A_i, X\rangle = \sum_j (A_i)_{jj}X_{jj} + 2\sum_{j<l}(A_i)_{jl}X_{jl}`
  for symmetric :math:`A_i, X`. A step reads half the bytes of the full form.
* :class:`IdentityOperator` (matrix factorization, full observation): :math:`\mathcal{A}(X) = \operatorname{vec}(X)`,
  no storage.

``forward`` and ``adjoint`` accept one matrix ``(n1, n2)`` / vector ``(m,)`` or a batch
``(B, n1, n2)`` / ``(B, m)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import (ArgumentTypeError, RNGLike, as_generator, check_array, check_dtype, check_int,
                          check_memory)

__all__ = [
    "adjoint_mismatch", "isotropy_deviation",
    "MeasurementOperator",
    "DenseOperator",
    "SymmetricOperator",
    "IdentityOperator",
    "gaussian_operator",
    "symmetric_gaussian_operator",
    "identity_operator",
    "rip_ratios",
]

#: Rows of the design matrix drawn per chunk (bounds the float64 scratch memory of a draw).
_CHUNK_ROWS = 2048


class MeasurementOperator:
    """Common interface of the measurement operators.

    Attributes
    ----------
    n1, n2 : int
        Shape of the matrices the operator acts on.
    m : int
        Number of measurements.
    dtype : numpy.dtype
        float64 (default) or float32.
    symmetric : bool
        True if every :math:`A_i` is symmetric (the operator sees only the symmetric part of X).
    noise_scale : float
        Factor applied to raw measurement noise :math:`\\xi_i`: ``y = A(M*) + noise_scale * xi``
        (``1/sqrt(m)`` for the normalised Gaussian operators, 1 for the identity).
    """

    n1: int
    n2: int
    m: int
    dtype: np.dtype
    symmetric: bool
    noise_scale: float

    # -- vectorisation ---------------------------------------------------------------------
    @property
    def vec_size(self) -> int:
        """Length ``N_v`` of the vectorisation the design matrix acts on."""
        raise NotImplementedError

    @property
    def weights(self) -> np.ndarray:
        """Column weights ``w`` (``N_v``,) with ``A*(v) = unvec((matrix.T @ v) / w)``."""
        raise NotImplementedError

    def vec(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Map a batch ``(B, n1, n2)`` to its vectorisation ``(B, N_v)``."""
        raise NotImplementedError

    def unvec(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Inverse of :meth:`vec` on the operator's domain: ``(B, N_v)`` to ``(B, n1, n2)``."""
        raise NotImplementedError

    def vec_symmetric(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`vec` for a batch known to be symmetric (no symmetrisation; the GD hot path)."""
        return self.vec(X, out)

    @property
    def matrix(self) -> np.ndarray | None:
        """Design matrix ``(m, N_v)``, or None when the operator is the identity."""
        raise NotImplementedError

    # -- action ----------------------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        r"""Apply :math:`\mathcal{A}` to one matrix ``(n1, n2)`` or a batch ``(B, n1, n2)``."""
        Xb, single = self._as_batch(X, "X", (self.n1, self.n2))
        out = self._vec_forward(self.vec(Xb))
        return out[0] if single else out

    def adjoint(self, v: np.ndarray) -> np.ndarray:
        r"""Apply :math:`\mathcal{A}^*` to one vector ``(m,)`` or a batch ``(B, m)``."""
        vb, single = self._as_batch(v, "v", (self.m,))
        out = self.unvec(self._vec_adjoint(vb))
        return out[0] if single else out

    def residual(self, X: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.float64]:
        r"""Residual :math:`r = \mathcal{A}(X) - y` in float64, for one matrix or a batch.

        ``X`` (``(n1, n2)`` or ``(B, n1, n2)``) is applied in the operator's dtype; ``y`` has shape
        ``(m,)``. Returns ``(m,)`` or ``(B, m)``.
        """
        return self.forward(X).astype(np.float64) - np.asarray(y, dtype=np.float64)

    def adjoint_residual(self, X: npt.ArrayLike, y: npt.ArrayLike
                         ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        r"""``(S, r)``: :math:`S = \mathcal{A}^*(\mathcal{A}(X) - y)` and the residual :math:`r`, float64.

        :math:`S` is the gradient in :math:`X` of :math:`\tfrac12\lVert\mathcal{A}(X) - y\rVert^2`; every
        factor gradient of the conventions is a product with it (:math:`\nabla_U = SU`,
        :math:`\nabla_F = SG`, :math:`\nabla_G = S^\top F`). This is the reference implementation for
        one matrix (or a small batch) at a time; GD runs use the batched, allocation-free
        :class:`matsense.engine.ResidualEngine`. Shapes: ``S`` as ``X``, ``r`` as :meth:`residual`.
        """
        r = self.residual(X, y)
        return self.adjoint(r.astype(self.dtype)).astype(np.float64), r

    def _vec_forward(self, xv: np.ndarray) -> np.ndarray:
        return xv @ self.matrix.T

    def _vec_adjoint(self, v: np.ndarray) -> np.ndarray:
        return (v @ self.matrix) / self.weights

    def _as_batch(self, a: Any, name: str, shape: tuple[int, ...]) -> tuple[np.ndarray, bool]:
        arr = check_array(name, a, ndim=(len(shape), len(shape) + 1), shape=shape)
        arr = arr.astype(self.dtype, copy=False)
        single = arr.ndim == len(shape)
        return (arr[None] if single else arr), single

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n1={self.n1}, n2={self.n2}, m={self.m}, "
                f"dtype={self.dtype.name})")


# -- checks of a user-built design (once, at construction) --------------------------------------

#: Largest relative asymmetry :math:`\max|A_i - A_i^\top| / \max|A_i|` of a ``DenseOperator``
#: declared ``symmetric=True``.
SYMMETRY_RTOL = 1e-12


def _check_design(owner: str, name: str, design: Any) -> np.ndarray:
    if not isinstance(design, np.ndarray):
        raise ArgumentTypeError(f"{owner}: {name} must be a numpy array of float64 or float32, "
                                f"got {type(design).__name__}")
    check_dtype(f"{owner}: {name}.dtype", design.dtype)
    return np.ascontiguousarray(design)


def _row_chunks(a: np.ndarray) -> Any:
    rows = max(1, (8 * 1024**2) // max(1, a.shape[1] * a.itemsize))  # ~8 MiB of rows at a time
    for i0 in range(0, a.shape[0], rows):
        yield i0, a[i0:i0 + rows]


def _check_finite_design(owner: str, name: str, design: np.ndarray) -> None:
    """One pass over the design: refuse NaN or inf (found at construction, not as a diverged run)."""
    if np.isfinite(design.sum(dtype=np.float64)):  # fast path; an overflow falls through to the scan
        return
    for i0, block in _row_chunks(design):
        bad = ~np.isfinite(block)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            count = int(bad.sum())
            raise ValueError(f"{owner}: {name} must contain only finite values; found {block[i, j]} at "
                             f"[{i0 + i}, {j}] ({count} non-finite in rows {i0}..{i0 + block.shape[0] - 1})")


def _check_symmetric_rows(design: np.ndarray, n1: int, n2: int) -> None:
    if n1 != n2:
        raise ValueError(f"DenseOperator: symmetric=True needs square sensing matrices, got n1={n1}, n2={n2}")
    for i0, block in _row_chunks(design):
        A = block.reshape(-1, n1, n1)
        scale = float(np.abs(A).max(initial=0.0))
        asym = float(np.abs(A - np.swapaxes(A, 1, 2)).max(initial=0.0))
        if asym > SYMMETRY_RTOL * scale:
            raise ValueError(f"DenseOperator: symmetric=True but the sensing matrices of rows {i0}.. are not "
                             f"symmetric (max |A_i - A_i^T| = {asym:.3g}, relative {asym / scale:.3g} > "
                             f"{SYMMETRY_RTOL:g}); pass symmetric=False, or symmetrise the rows")


def _freeze(design: np.ndarray) -> np.ndarray:
    """Make ``design`` read-only (the caller's array itself): an in-place edit then raises.

    The cached normal operator of :func:`matsense.gram_matrix` is still verified against a
    checksum of the design, for edits through another view of the same memory.
    """
    design.flags.writeable = False
    return design


@dataclass(frozen=True, repr=False, eq=False)
class DenseOperator(MeasurementOperator):
    """Operator with general (asymmetric) sensing matrices, stored as ``(m, n1 n2)``.

    Parameters
    ----------
    design : numpy.ndarray, shape (m, n1*n2)
        Row ``i`` is ``vec(A_i)/sqrt(m)`` (row-major ``ravel``), C-contiguous, float64 or float32,
        finite.
    n1, n2 : int
        Matrix shape.
    symmetric : bool
        Declare every :math:`A_i` symmetric (checked, to ``SYMMETRY_RTOL``).

    Raises
    ------
    TypeError
        ``design`` is not a numpy array of a supported dtype, or ``n1``/``n2`` not integers.
    ValueError
        A shape that does not match ``n1 * n2`` (the message names the sizes), NaN or inf in the
        design (with its position), or ``symmetric=True`` for non-symmetric rows.

    Notes
    -----
    The operator takes ownership of ``design``: the array is made **read-only**, so that an
    in-place edit (``op.design *= 2``) raises instead of silently disagreeing with the normal
    operator cached by :func:`matsense.gram_matrix` (and with measurements already taken). To
    change the design, build a new operator. An edit through another, writeable view of the same
    memory is caught by the checksum :func:`matsense.gram_matrix` verifies before reusing its cache.
    """

    design: np.ndarray
    n1: int
    n2: int
    symmetric: bool = field(default=False)

    def __post_init__(self) -> None:
        n1, n2 = check_int("n1", self.n1, low=1), check_int("n2", self.n2, low=1)
        design = _check_design(type(self).__name__, "design", self.design)
        if design.ndim != 2 or design.shape[1] != n1 * n2 or design.shape[0] < 1:
            raise ValueError(f"DenseOperator: design must have shape (m, n1*n2) = (m, {n1 * n2}) with "
                             f"m >= 1 for n1={n1}, n2={n2}, got {design.shape}")
        if not isinstance(self.symmetric, (bool, np.bool_)):
            raise ArgumentTypeError(f"DenseOperator: symmetric must be True or False, got {self.symmetric!r}")
        if self.symmetric:
            _check_symmetric_rows(design, n1, n2)
        _check_finite_design(type(self).__name__, "design", design)
        object.__setattr__(self, "n1", n1)
        object.__setattr__(self, "n2", n2)
        object.__setattr__(self, "symmetric", bool(self.symmetric))
        object.__setattr__(self, "design", _freeze(design))

    m = property(lambda self: self.design.shape[0])
    dtype = property(lambda self: self.design.dtype)
    noise_scale = property(lambda self: 1.0 / np.sqrt(self.m))
    vec_size = property(lambda self: self.n1 * self.n2)
    matrix = property(lambda self: self.design)

    @cached_property
    def weights(self) -> np.ndarray:
        return np.ones(self.vec_size, dtype=self.dtype)

    def vec(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        xv = X.reshape(X.shape[0], self.vec_size)
        if out is None:
            return xv
        np.copyto(out, xv)
        return out

    def unvec(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        X = v.reshape(v.shape[0], self.n1, self.n2)
        if out is None:
            return X
        np.copyto(out, X)
        return out

    def _vec_adjoint(self, v: np.ndarray) -> np.ndarray:
        return v @ self.design


@dataclass(frozen=True, repr=False, eq=False)
class SymmetricOperator(MeasurementOperator):
    r"""Operator with symmetric sensing matrices on ``n x n`` matrices, stored as a packed upper triangle.

    Parameters
    ----------
    packed : numpy.ndarray, shape (m, n(n+1)/2)
        Column ``(j, l)`` (``j <= l``, in ``numpy.triu_indices`` order) holds
        :math:`w_{jl}(A_i)_{jl}/\sqrt m` with :math:`w_{jj} = 1`, :math:`w_{jl} = 2` for ``j < l``.
    n : int
        Matrix size.

    Notes
    -----
    Validated at construction like :class:`DenseOperator` (dtype, shape naming the sizes, finite
    entries); ``packed`` is made read-only (see :class:`DenseOperator`).
    """

    packed: np.ndarray
    n: int
    symmetric: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        n = check_int("n", self.n, low=1)
        packed = _check_design(type(self).__name__, "packed", self.packed)
        size = n * (n + 1) // 2
        if packed.ndim != 2 or packed.shape[1] != size or packed.shape[0] < 1:
            raise ValueError(f"SymmetricOperator: packed must have shape (m, n(n+1)/2) = (m, {size}) with "
                             f"m >= 1 for n={n}, got {packed.shape}")
        _check_finite_design(type(self).__name__, "packed", packed)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "packed", _freeze(packed))

    n1 = property(lambda self: self.n)
    n2 = property(lambda self: self.n)
    m = property(lambda self: self.packed.shape[0])
    dtype = property(lambda self: self.packed.dtype)
    noise_scale = property(lambda self: 1.0 / np.sqrt(self.m))
    vec_size = property(lambda self: self.n * (self.n + 1) // 2)
    matrix = property(lambda self: self.packed)

    @cached_property
    def _upper(self) -> np.ndarray:
        """Flat indices (into ``X.reshape(B, n*n)``) of the upper triangle, row by row."""
        j, l = np.triu_indices(self.n)
        return j * self.n + l

    @cached_property
    def _lower(self) -> np.ndarray:
        j, l = np.triu_indices(self.n)
        return l * self.n + j

    @cached_property
    def weights(self) -> np.ndarray:
        j, l = np.triu_indices(self.n)
        return np.where(j == l, 1.0, 2.0).astype(self.dtype)

    def vec(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Upper triangle of the symmetric part ``(X + X^T)/2`` (equal to ``X[triu]`` for symmetric X)."""
        flat = X.reshape(X.shape[0], self.n * self.n)
        upper = np.take(flat, self._upper, axis=1, out=out)
        lower = np.take(flat, self._lower, axis=1)
        if not np.array_equal(upper, lower):
            upper += lower
            upper *= 0.5
        return upper

    def vec_symmetric(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.take(X.reshape(X.shape[0], self.n * self.n), self._upper, axis=1, out=out)

    @cached_property
    def _packed_index(self) -> np.ndarray:
        """For each of the ``n*n`` entries ``(j, l)``, the packed column of ``(min(j,l), max(j,l))``."""
        index = np.empty(self.n * self.n, dtype=np.intp)
        index[self._upper] = np.arange(self.vec_size)
        index[self._lower] = np.arange(self.vec_size)
        return index

    def unvec(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty((v.shape[0], self.n, self.n), dtype=v.dtype)
        flat = out.reshape(v.shape[0], self.n * self.n)
        if np.shares_memory(flat, out):  # one gather instead of two scatters (2.5x faster at n = 50)
            np.take(v, self._packed_index, axis=1, out=flat)
        else:  # a non-contiguous ``out``: reshape copied, scatter into ``out`` itself
            out[...] = np.take(v, self._packed_index, axis=1).reshape(out.shape)
        return out

    def full_design(self) -> np.ndarray:
        """Unpacked design ``(m, n*n)``: row ``i`` is ``vec(A_i)/sqrt(m)`` (for checks and peers)."""
        full = np.zeros((self.m, self.n * self.n), dtype=self.dtype)
        unweighted = self.packed / self.weights
        full[:, self._upper] = unweighted
        full[:, self._lower] = unweighted
        return full


@dataclass(frozen=True, repr=False, eq=False)
class IdentityOperator(MeasurementOperator):
    """The identity :math:`\\mathcal{A}(X) = \\operatorname{vec}(X)` (matrix factorization, ``m = n1 n2``)."""

    n1: int
    n2: int
    dtype: np.dtype = field(default=np.dtype(np.float64))
    symmetric: bool = field(default=False, init=False)

    m = property(lambda self: self.n1 * self.n2)
    noise_scale = property(lambda self: 1.0)
    vec_size = property(lambda self: self.n1 * self.n2)
    matrix = property(lambda self: None)
    vec = DenseOperator.vec
    unvec = DenseOperator.unvec

    @cached_property
    def weights(self) -> np.ndarray:
        return np.ones(self.vec_size, dtype=self.dtype)

    def _vec_forward(self, xv: np.ndarray) -> np.ndarray:
        return xv.copy()

    def _vec_adjoint(self, v: np.ndarray) -> np.ndarray:
        return v.copy()


# -- factories ------------------------------------------------------------------------------

def gaussian_operator(n1: int, n2: int, m: int, *, rng: RNGLike,
                      dtype: npt.DTypeLike = np.float64) -> DenseOperator:
    r"""Gaussian operator with :math:`A_i` i.i.d. :math:`N(0,1)` entries, normalised by :math:`1/\sqrt m`.

    Parameters
    ----------
    n1, n2 : int
        Matrix shape, each >= 1.
    m : int
        Number of measurements, >= 1.
    rng : numpy.random.Generator or int
        Source of randomness (a seed is turned into ``default_rng(seed)``).
    dtype : float64 or float32
        Storage precision. The entries are always drawn in float64 and then cast, so the float32
        operator of a seed is the rounded float64 operator of the same seed.

    Returns
    -------
    DenseOperator
    """
    n1, n2, m = check_int("n1", n1, low=1), check_int("n2", n2, low=1), check_int("m", m, low=1)
    dtype, gen = check_dtype("dtype", dtype), as_generator(rng)
    _check_operator_memory(f"gaussian_operator(n1={n1}, n2={n2}, m={m}, dtype={dtype.name})",
                           m * n1 * n2, dtype)
    design = np.empty((m, n1 * n2), dtype=dtype)
    for start in range(0, m, _CHUNK_ROWS):
        stop = min(m, start + _CHUNK_ROWS)
        design[start:stop] = gen.standard_normal((stop - start, n1 * n2)) / np.sqrt(m)
    return DenseOperator(design, n1, n2)


def symmetric_gaussian_operator(n: int, m: int, *, rng: RNGLike,
                                dtype: npt.DTypeLike = np.float64) -> SymmetricOperator:
    r"""Symmetric Gaussian operator, :math:`A_i = (B_i + B_i^\top)/2` with :math:`B_i` i.i.d. :math:`N(0,1)`.

    Isotropic on symmetric matrices: :math:`\mathbb{E}\,\mathcal{A}^*\mathcal{A}(X) = X` for symmetric X
    (diagonal entries of :math:`A_i` have variance 1, off-diagonal ones 1/2). The packed entries are
    drawn directly with these variances (the same distribution as symmetrising :math:`B_i`), in float64.

    Parameters
    ----------
    n : int
        Matrix size, >= 1.
    m : int
        Number of measurements, >= 1.
    rng : numpy.random.Generator or int
        Source of randomness.
    dtype : float64 or float32
        Storage precision.
    """
    n, m = check_int("n", n, low=1), check_int("m", m, low=1)
    dtype, gen = check_dtype("dtype", dtype), as_generator(rng)
    _check_operator_memory(f"symmetric_gaussian_operator(n={n}, m={m}, dtype={dtype.name})",
                           m * (n * (n + 1) // 2), dtype)
    j, l = np.triu_indices(n)
    # entry std: 1 on the diagonal, 1/sqrt(2) off it; weight 2 off the diagonal (packed storage).
    col_scale = np.where(j == l, 1.0, 2.0 / np.sqrt(2.0)) / np.sqrt(m)
    packed = np.empty((m, j.size), dtype=dtype)
    for start in range(0, m, _CHUNK_ROWS):
        stop = min(m, start + _CHUNK_ROWS)
        packed[start:stop] = gen.standard_normal((stop - start, j.size)) * col_scale
    return SymmetricOperator(packed, n)


def _check_operator_memory(what: str, entries: int, dtype: np.dtype) -> None:
    """Refuse a design matrix that cannot fit (:func:`matsense._validation.check_memory`) before allocating it."""
    check_memory(what, entries * dtype.itemsize,
                 "use fewer measurements m or a smaller matrix size, or float32")


def identity_operator(n1: int, n2: int | None = None, *,
                      dtype: npt.DTypeLike = np.float64) -> IdentityOperator:
    """Identity operator on ``n1 x n2`` matrices (full observation, matrix factorization)."""
    n1 = check_int("n1", n1, low=1)
    n2 = n1 if n2 is None else check_int("n2", n2, low=1)
    return IdentityOperator(n1, n2, check_dtype("dtype", dtype))


def rip_ratios(operator: MeasurementOperator, rank: int, count: int, *, rng: RNGLike
               ) -> npt.NDArray[np.float64]:
    r"""Empirical restricted isometry: :math:`\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2` for random rank-``rank`` ``X``.

    ``X = G D G^T`` with :math:`G_{ij}\sim N(0,1)` and random signs :math:`D = \mathrm{diag}(\pm1)`
    (symmetric, indefinite) for an operator with symmetric sensing matrices, ``X = G H^T`` otherwise.
    The operator satisfies the rank-``rank`` RIP with constant :math:`\delta` on these samples when
    every ratio lies in :math:`[1-\delta, 1+\delta]`; the samples give a lower estimate of
    :math:`\delta` (the supremum over all rank-``rank`` matrices is larger).

    Returns
    -------
    numpy.ndarray, shape (count,)
    """
    if not isinstance(operator, MeasurementOperator):
        raise ArgumentTypeError(f"operator must be a MeasurementOperator, got {type(operator).__name__}")
    rank = check_int("rank", rank, low=1, high=min(operator.n1, operator.n2))
    count = check_int("count", count, low=1)
    gen = as_generator(rng)
    G = gen.standard_normal((count, operator.n1, rank))
    if operator.symmetric:
        D = gen.choice([-1.0, 1.0], size=(count, 1, rank))
        X = (G * D) @ np.swapaxes(G, -1, -2)
    else:
        X = G @ np.swapaxes(gen.standard_normal((count, operator.n2, rank)), -1, -2)
    AX = operator.forward(X.astype(operator.dtype)).astype(np.float64)
    return np.einsum("bm,bm->b", AX, AX) / np.einsum("bij,bij->b", X, X)


# -- checks of an operator (foundations chapter) ----------------------------------------------


def adjoint_mismatch(operator: MeasurementOperator, X: np.ndarray, v: np.ndarray) -> float:
    r"""Relative failure of the adjoint identity, :math:`|\langle\mathcal A(X), v\rangle - \langle X, \mathcal A^*(v)\rangle| / (\lVert\mathcal A(X)\rVert\,\lVert v\rVert)`.

    Zero in exact arithmetic; a correct operator gives a few units of rounding (about 1e-16 in float64).
    """
    AX = np.asarray(operator.forward(X), dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if AX.shape != v.shape:
        raise ValueError(f"v must have shape {AX.shape} (one entry per measurement), got {v.shape}")
    lhs = float(AX @ v)
    rhs = float(np.sum(np.asarray(X, dtype=np.float64) * operator.adjoint(v)))
    return abs(lhs - rhs) / (float(np.linalg.norm(AX)) * float(np.linalg.norm(v)))


def isotropy_deviation(operator: MeasurementOperator, X: np.ndarray) -> float:
    r"""Relative deviation of :math:`\mathcal A^*\mathcal A` from the identity at :math:`X`: :math:`\lVert\mathcal A^*\mathcal A(X) - X\rVert_F / \lVert X\rVert_F`."""
    X = np.asarray(X, dtype=np.float64)
    return float(np.linalg.norm(operator.adjoint(operator.forward(X)) - X) / np.linalg.norm(X))
