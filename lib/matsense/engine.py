r"""The one primitive gradient descent needs: :math:`S = \mathcal{A}^*(\mathcal{A}(X) - y)` on a batch.

For the losses of the conventions, every gradient is a small product with :math:`S`:
:math:`\nabla_U = S U` (symmetric), :math:`\nabla_F = S G`, :math:`\nabla_G = S^\top F` (asymmetric).
:class:`ResidualEngine` computes :math:`S` for a batch ``(B, N_v)`` of vectorised iterates, in
preallocated buffers (no per-step allocation of ``m``- or ``N_v``-sized arrays), in one of three forms:

``dense``
    :math:`r = \mathbf{A}x - y`, :math:`s = \mathbf{A}^\top r` on the design matrix
    :math:`\mathbf{A}` (``m x N_v``). Kernels (chosen from ``B`` and the operator's size):

    * ``fused`` (``B <= FUSED_MAX_BATCH``; for ``B = 1`` only when the operator does not fit in the
      cache, ``>= FUSED_MIN_BYTES``): one *row-blocked* pass; each block of rows is read from
      memory once and used twice while it sits in the L2 cache (:math:`r_b = \mathbf{A}_b x - y_b`,
      :math:`s \mathrel{+}= \mathbf{A}_b^\top r_b`), so a step streams the operator once, not twice;
    * ``gemv``: two GEMVs (one run, cache-resident operator);
    * ``gemm``: two GEMMs (larger batches: compute bound).
``gram``
    the normal operator :math:`H = \mathbf{A}^\top\mathbf{A}` (``N_v x N_v``, formed once in float64,
    cached per operator) and :math:`b = \mathbf{A}^\top y`: :math:`s = Hx - b`. One symmetric
    matrix-vector product (``symv``, reads the upper half of H) for one run, a row-blocked pass
    over H (small GEMMs) for ``B <= GRAM_BLOCKED_MAX_BATCH`` and one GEMM for larger batches.
    Reads fewer bytes than ``dense`` when :math:`m > N_v/4`.
``identity``
    :math:`s = x - y` (full observation).

``form="auto"`` picks the cheaper of ``dense`` and ``gram`` from a byte/flop count
(:func:`matsense.choose_form`). The residual :math:`\mathcal{A}(X) - y` (for the loss) is always computed
through the design matrix: the Gram-form loss :math:`\tfrac12(x^\top Hx - 2b^\top x + y^\top y)` loses
all digits below about :math:`10^{-16}\lVert y\rVert^2`.
"""

from __future__ import annotations

import weakref
import zlib
from typing import Literal

import numpy as np
import scipy.linalg.blas as blas

from ._validation import check_array, check_int, check_memory
from .operators import IdentityOperator, MeasurementOperator

__all__ = ["ResidualEngine", "choose_form", "gram_matrix", "clear_gram_cache", "default_kernel", "FORMS",
           "KERNELS"]

FORMS = ("auto", "dense", "gram", "identity")
Form = Literal["auto", "dense", "gram", "identity"]

#: Rough machine constants for the cost model (perf_notes.md, one core): bytes/s streamed from
#: memory and float64 flop/s of a skinny GEMM. Only their ratio matters for the choice.
_BANDWIDTH = 15e9
_FLOPS64 = 60e9
#: Largest normal operator H formed automatically (bytes).
GRAM_BUDGET_BYTES = 2 * 1024**3

# Kernel choice (measured on a 2-core EPYC, 1 MiB L2/core, 32 MiB L3, OpenBLAS 0.3.31; see
# ``python benchmarks/bench_step.py`` and the engine tests for the equality of all kernels):
#: Bytes of design-matrix rows per block of the fused single-run pass (0.5-1 MiB blocks stay in L2:
#: 0.6-0.8x the time of two GEMVs when the operator streams from memory).
FUSED_BLOCK_BYTES = 512 * 1024
#: Below this size the operator stays in the L3 cache between steps and two GEMVs are faster.
FUSED_MIN_BYTES = 16 * 1024**2
#: Batched blocks: rows x B x N_v of a per-block GEMM stays within OpenBLAS's small-matrix kernel
#: (permitted up to M N K = 1e6 on SkylakeX; 2-3x faster than two GEMMs for B <= 16; a block just
#: over the limit runs 2x slower).
SMALL_GEMM_MNK = 1_000_000
#: Largest batch that uses the fused pass (dense form); larger ones use two GEMMs.
FUSED_MAX_BATCH = 16
#: Gram form: largest batch of the row-blocked pass over H (1.2-2x faster than one GEMM on H for
#: B=2-16; B=1 uses ``symv``).
GRAM_BLOCKED_MAX_BATCH = 16
#: Kernels of each form (``kernel=None`` picks one from the batch size).
KERNELS = {"dense": ("gemv", "fused", "gemm"), "gram": ("symv", "gemv", "blocked", "gemm"),
           "identity": ("identity",)}

_GRAM_CACHE: "weakref.WeakKeyDictionary[MeasurementOperator, dict]" = weakref.WeakKeyDictionary()


def gram_matrix(operator: MeasurementOperator, dtype: np.dtype | None = None) -> np.ndarray:
    r"""Normal operator :math:`H = \mathbf{A}^\top\mathbf{A}` of the design matrix, ``(N_v, N_v)``.

    Formed once in float64 (then cast to ``dtype``) and cached for the lifetime of ``operator``,
    so a sweep over seeds of the initialisation, step sizes or scales shares it.

    The cache is keyed on a checksum (CRC-32 of the bytes) of the design matrix, verified on every
    call: if the design was changed in place since H was formed (operators make their design
    read-only, but another writeable view of the same memory can still change it), H is formed
    again instead of being reused stale. The check reads the design once (about 2 GB/s), a few
    dense steps' worth once per run, never per step.
    """
    if not isinstance(operator, MeasurementOperator):
        raise TypeError(f"operator must be a MeasurementOperator, got {type(operator).__name__}")
    if operator.matrix is None:
        raise ValueError(f"gram_matrix needs an operator with a design matrix, got {operator!r}")
    dtype = np.dtype(operator.dtype if dtype is None else dtype)
    checksum = _checksum(operator.matrix)
    cache = _GRAM_CACHE.setdefault(operator, {})
    if cache.get("checksum") != checksum:
        cache.clear()
        cache["checksum"] = checksum
    if "float64" not in cache:
        M = np.asarray(operator.matrix, dtype=np.float64)
        cache["float64"] = M.T @ M  # numpy dispatches A.T @ A to syrk
    if dtype.name not in cache:
        cache[dtype.name] = cache["float64"].astype(dtype)
    return cache[dtype.name]


def _checksum(matrix: np.ndarray) -> tuple:
    """Fingerprint of a design matrix's contents: shape, dtype and the CRC-32 of its bytes."""
    data = matrix if matrix.flags.c_contiguous else np.ascontiguousarray(matrix)
    return matrix.shape, matrix.dtype.str, zlib.crc32(memoryview(data).cast("B"))


def clear_gram_cache(operator: MeasurementOperator | None = None) -> None:
    """Drop the cached normal operator of ``operator`` (of every operator when None).

    The next :func:`matsense.gram_matrix` call (or Gram-form engine) forms it again; benchmarks use this to
    time the formation, and a long session to free the memory of an operator it still holds.
    """
    if operator is None:
        _GRAM_CACHE.clear()
    elif not isinstance(operator, MeasurementOperator):
        raise TypeError(f"operator must be a MeasurementOperator or None, got {type(operator).__name__}")
    else:
        _GRAM_CACHE.pop(operator, None)


def _has_gram(operator: MeasurementOperator) -> bool:
    return "float64" in _GRAM_CACHE.get(operator, {})


def choose_form(operator: MeasurementOperator, *, batch: int, steps: int,
                budget_bytes: int = GRAM_BUDGET_BYTES) -> str:
    """Pick ``dense`` or ``gram`` for ``steps`` GD steps on a batch of ``batch`` runs.

    Cost model (seconds, rough constants of one core): a dense step reads the design matrix twice
    (``2 m N_v`` entries; once with the fused pass of an operator of ``FUSED_MIN_BYTES`` or more)
    or, for a batch, costs ``4 m N_v B`` flops; a Gram step reads half of H (``N_v^2/2`` entries,
    ``symv``) or costs ``2 N_v^2 B`` flops; forming H costs ``m N_v^2`` flops once (nothing when it
    is already cached). Gram is refused when H would exceed ``budget_bytes``.
    """
    if isinstance(operator, IdentityOperator):
        return "identity"
    m, nv, item = operator.m, operator.vec_size, operator.dtype.itemsize
    flops = _FLOPS64 * (8 / item)
    if nv * nv * 8 > budget_bytes:
        return "dense"
    if batch == 1:
        passes = 1 if m * nv * item >= FUSED_MIN_BYTES else 2
        dense = passes * m * nv * item / _BANDWIDTH
        gram = nv * nv / 2 * item / _BANDWIDTH
    else:
        dense = max(2 * m * nv * item / _BANDWIDTH, 4 * m * nv * batch / flops)
        gram = max(nv * nv * item / _BANDWIDTH, 2 * nv * nv * batch / flops)
    setup = 0.0 if _has_gram(operator) else m * nv * nv / _FLOPS64
    return "gram" if setup + steps * gram < steps * dense else "dense"


class ResidualEngine:
    r"""Computes :math:`s = \operatorname{vec}\bigl(\mathcal{A}^*(\mathcal{A}(X) - y)\bigr)` for a batch.

    Parameters
    ----------
    operator : MeasurementOperator
        The measurement operator.
    y : numpy.ndarray, shape (m,)
        Measurements.
    batch : int
        Number of runs ``B`` (rows of the vectorised iterates); buffers are sized for it.
    form : {"auto", "dense", "gram", "identity"}
        Evaluation form (see the module docstring).
    steps : int
        Expected number of steps, used only by ``form="auto"``.
    kernel : str, optional
        Force one kernel of the form (:data:`matsense.engine.KERNELS`): ``gemv`` (B=1 only), ``fused`` or ``gemm``
        for ``dense``; ``symv`` or ``gemv`` (on the full H; B=1 only), ``blocked`` or ``gemm`` for
        ``gram``. Default: chosen
        from the batch size (for benchmarks and tests; every kernel gives the same result).

    Notes
    -----
    Returned arrays are the engine's own buffers: copy them if they must outlive the next call.
    """

    def __init__(self, operator: MeasurementOperator, y: np.ndarray, *, batch: int,
                 form: Form = "auto", steps: int = 1000, kernel: str | None = None) -> None:
        self.operator = operator
        self.batch = check_int("batch", batch, low=1)
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        if form == "auto":
            form = choose_form(operator, batch=self.batch, steps=check_int("steps", steps, low=0))
        if form in ("dense", "gram") and operator.matrix is None:
            raise ValueError(f"form={form!r} needs an operator with a design matrix; use 'identity'")
        if form == "identity" and not isinstance(operator, IdentityOperator):
            raise ValueError("form='identity' is only valid for the identity operator")
        self.form = form
        B, nv, m = self.batch, operator.vec_size, operator.m
        if form == "gram" and not _has_gram(operator):
            check_memory(f"form='gram' (the normal operator H, {nv} x {nv} in float64)", 8.0 * nv * nv,
                         "use form='dense' or 'auto'")
        if kernel is None:
            kernel = default_kernel(operator, form, B)
        if kernel not in KERNELS[form]:
            raise ValueError(f"kernel must be one of {KERNELS[form]} for form={form!r}, got {kernel!r}")
        if kernel in ("gemv", "symv") and B != 1:
            raise ValueError(f"kernel={kernel!r} needs batch=1, got {B}")
        self.kernel = kernel
        dtype = operator.dtype
        self.y = check_array("y", y, ndim=1, shape=(operator.m,)).astype(dtype)
        w = operator.weights
        self._inv_w = None if np.all(w == 1) else (1.0 / w).astype(dtype)
        self._s = np.empty((B, nv), dtype=dtype)
        self._r = np.empty((B, m), dtype=dtype)
        self._gemm = blas.get_blas_funcs("gemm", dtype=dtype)
        if form == "gram":
            self._H = gram_matrix(operator, dtype)
            M64 = np.asarray(operator.matrix, dtype=np.float64)
            self._b = (self.y.astype(np.float64) @ M64).astype(dtype)
        if kernel == "symv":
            self._symv = blas.get_blas_funcs("symv", dtype=dtype)
        elif kernel == "fused":
            self._setup_fused()
        elif kernel == "blocked":
            self._setup_gram_blocked()

    # -- public ----------------------------------------------------------------------------
    def gradient(self, xv: np.ndarray) -> np.ndarray:
        """Return ``s`` (``(B, N_v)``, weights removed) for vectorised iterates ``xv`` ``(B, N_v)``."""
        s = self._s
        kernel = self.kernel
        if kernel == "identity":
            np.subtract(xv, self.y, out=s)
            return s
        if kernel == "fused":
            self._fused_pass(xv, s)
        elif kernel == "gemv" and self.form == "gram":
            np.dot(self._H, xv[0], out=s[0])
            s[0] -= self._b
        elif kernel == "gemv":
            M, r = self.operator.matrix, self._r[0]
            np.dot(M, xv[0], out=r)
            r -= self.y
            np.dot(r, M, out=s[0])
        elif kernel == "symv":
            np.copyto(s[0], self._b)
            # H is symmetric, so its transpose is the Fortran-ordered H that BLAS reads without a copy.
            self._symv(1.0, self._H.T, xv[0], beta=-1.0, y=s[0], overwrite_y=1)
        elif kernel == "blocked":
            self._gram_blocked_pass(xv, s)
        elif self.form == "dense":  # gemm (numpy's OpenBLAS: its SGEMM is 10-15% faster than scipy's)
            np.matmul(self.residual(xv), self.operator.matrix, out=s)
        else:  # gram gemm
            np.matmul(xv, self._H, out=s)
            _subtract_rows(s, self._b)
        if self._inv_w is not None:
            for row in s:  # row by row: a broadcast in-place product allocates a ufunc buffer
                np.multiply(row, self._inv_w, out=row)
        return s

    def residual(self, xv: np.ndarray) -> np.ndarray:
        r"""Return :math:`\mathcal{A}(X) - y` (``(B, m)``) through the design matrix."""
        r = self._r
        if self.operator.matrix is None:
            np.subtract(xv, self.y, out=r)
        elif self.batch == 1:
            np.dot(self.operator.matrix, xv[0], out=r[0])
            r -= self.y
        else:
            np.matmul(xv, self.operator.matrix.T, out=r)
            _subtract_rows(r, self.y)
        return r

    # -- fused row-blocked pass over the design matrix ---------------------------------------
    def _setup_fused(self) -> None:
        M, B = self.operator.matrix, self.batch
        m, nv = M.shape
        rows = _block_rows(nv, M.dtype.itemsize, B)
        dtype = M.dtype
        # Row block i0:i1 of the C-ordered design, transposed: a Fortran-ordered (N_v, rows) array
        # that BLAS reads in place. Residual blocks are views of self._r (B=1) or of a small
        # (B, rows) scratch (B>1) whose transpose is the Fortran-ordered GEMM output.
        self._blocks = []
        if B == 1:
            self._gemv = blas.get_blas_funcs("gemv", dtype=dtype)
            r = self._r[0]
            for i0 in range(0, m, rows):
                self._blocks.append((M[i0:i0 + rows].T, r[i0:i0 + rows]))
        else:
            scratch = np.empty((B, rows), dtype=dtype)
            for i0 in range(0, m, rows):
                i1 = min(m, i0 + rows)
                c = scratch if i1 - i0 == rows else np.empty((B, i1 - i0), dtype=dtype)
                self._blocks.append((M[i0:i1].T, c, c.T, self.y[i0:i1]))

    def _fused_pass(self, xv: np.ndarray, s: np.ndarray) -> None:
        s.fill(0.0)
        if self.batch == 1:
            gemv, x, s0 = self._gemv, xv[0], s[0]
            np.copyto(self._r[0], self.y)
            for AT, rb in self._blocks:
                gemv(1.0, AT, x, -1.0, rb, trans=1, overwrite_y=1)  # r_b = A_b x - y_b
                gemv(1.0, AT, rb, 1.0, s0, overwrite_y=1)           # s += A_b^T r_b
            return
        gemm, XT, ST = self._gemm, xv.T, s.T
        for AT, c, cT, yb in self._blocks:
            np.copyto(c, yb)
            gemm(1.0, AT, XT, -1.0, cT, trans_a=1, overwrite_c=1)   # r_b^T = A_b X^T - y_b
            gemm(1.0, AT, cT, 1.0, ST, overwrite_c=1)               # S^T += A_b^T r_b^T

    # -- row-blocked pass over H (Gram form, small batches) ------------------------------------
    def _setup_gram_blocked(self) -> None:
        H, B, s = self._H, self.batch, self._s
        nv = H.shape[0]
        rows = _block_rows(nv, H.dtype.itemsize, B)
        scratch = np.empty((B, rows), dtype=H.dtype)
        self._blocks = []
        for i0 in range(0, nv, rows):
            i1 = min(nv, i0 + rows)
            c = scratch if i1 - i0 == rows else np.empty((B, i1 - i0), dtype=H.dtype)
            self._blocks.append((H[i0:i1].T, c, c.T, s[:, i0:i1], self._b[i0:i1]))

    def _gram_blocked_pass(self, xv: np.ndarray, s: np.ndarray) -> None:
        gemm, XT = self._gemm, xv.T
        for HT, c, cT, sb, bb in self._blocks:
            np.copyto(c, bb)
            gemm(1.0, HT, XT, -1.0, cT, trans_a=1, overwrite_c=1)   # (H_b X^T - b_b)
            np.copyto(sb, c)

    def __repr__(self) -> str:
        return (f"ResidualEngine(form={self.form!r}, kernel={self.kernel!r}, batch={self.batch}, "
                f"operator={self.operator!r})")


def _subtract_rows(a: np.ndarray, v: np.ndarray) -> None:
    """``a -= v`` row by row: the broadcast in-place form allocates a 64 kB ufunc buffer per call."""
    for row in a:
        np.subtract(row, v, out=row)


def default_kernel(operator: MeasurementOperator, form: str, batch: int) -> str:
    """The kernel :class:`ResidualEngine` uses for ``form`` and a batch of ``batch`` runs when none is forced.

    See the module's constants ``FUSED_MAX_BATCH``, ``FUSED_MIN_BYTES`` and
    ``GRAM_BLOCKED_MAX_BATCH``.
    """
    if form not in KERNELS:
        raise ValueError(f"form must be one of {tuple(KERNELS)}, got {form!r}")
    if form == "identity":
        return "identity"
    if form == "dense":
        if batch > FUSED_MAX_BATCH:
            return "gemm"
        if batch == 1 and operator.matrix.nbytes < FUSED_MIN_BYTES:
            return "gemv"
        return "fused"
    if batch == 1:
        return "symv"
    return "blocked" if batch <= GRAM_BLOCKED_MAX_BATCH else "gemm"


def _block_rows(nv: int, itemsize: int, batch: int) -> int:
    """Rows per block: about FUSED_BLOCK_BYTES, and within the small-GEMM kernel for a batch."""
    cap = max(1, FUSED_BLOCK_BYTES // (nv * itemsize))
    return cap if batch == 1 else max(1, min(SMALL_GEMM_MNK // (batch * nv), cap))
