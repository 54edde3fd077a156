r"""The one primitive gradient descent needs: :math:`S = \mathcal{A}^*(\mathcal{A}(X) - y)` on a batch.

For the losses of the conventions, every gradient is a small product with :math:`S`:
:math:`\nabla_U = S U` (symmetric), :math:`\nabla_F = S G`, :math:`\nabla_G = S^\top F` (asymmetric).
:class:`ResidualEngine` computes :math:`S` for a batch ``(B, N_v)`` of vectorised iterates, in
preallocated buffers (no per-step allocation of ``m``- or ``N_v``-sized arrays), in one of three forms:

``dense``
    two passes over the design matrix :math:`\mathbf{A}` (``m x N_v``): :math:`r = \mathbf{A}x - y`,
    :math:`s = \mathbf{A}^\top r`. Two GEMVs for one run, two GEMMs for a batch.
``gram``
    the normal operator :math:`H = \mathbf{A}^\top\mathbf{A}` (``N_v x N_v``, formed once in float64,
    cached per operator) and :math:`b = \mathbf{A}^\top y`: :math:`s = Hx - b`. One symmetric
    matrix-vector product (``symv``, reads the upper half of H) for one run, one GEMM for a batch.
    Reads fewer bytes than ``dense`` when :math:`m > N_v/4`.
``identity``
    :math:`s = x - y` (full observation).

``form="auto"`` picks the cheaper of ``dense`` and ``gram`` from a byte/flop count
(:func:`choose_form`). The residual :math:`\mathcal{A}(X) - y` (for the loss) is always computed
through the design matrix: the Gram-form loss :math:`\tfrac12(x^\top Hx - 2b^\top x + y^\top y)` loses
all digits below about :math:`10^{-16}\lVert y\rVert^2`.
"""

from __future__ import annotations

import weakref
from typing import Literal

import numpy as np
import scipy.linalg.blas as blas

from ._validation import check_array, check_int
from .operators import IdentityOperator, MeasurementOperator

__all__ = ["ResidualEngine", "choose_form", "gram_matrix", "FORMS"]

FORMS = ("auto", "dense", "gram", "identity")
Form = Literal["auto", "dense", "gram", "identity"]

#: Rough machine constants for the cost model (perf_notes.md, one core): bytes/s streamed from
#: memory and float64 flop/s of a skinny GEMM. Only their ratio matters for the choice.
_BANDWIDTH = 15e9
_FLOPS64 = 60e9
#: Largest normal operator H formed automatically (bytes).
GRAM_BUDGET_BYTES = 2 * 1024**3

_GRAM_CACHE: "weakref.WeakKeyDictionary[MeasurementOperator, dict]" = weakref.WeakKeyDictionary()


def gram_matrix(operator: MeasurementOperator, dtype: np.dtype | None = None) -> np.ndarray:
    r"""Normal operator :math:`H = \mathbf{A}^\top\mathbf{A}` of the design matrix, ``(N_v, N_v)``.

    Formed once in float64 (then cast to ``dtype``) and cached for the lifetime of ``operator``,
    so a sweep over seeds of the initialisation, step sizes or scales shares it.
    """
    if operator.matrix is None:
        raise ValueError(f"gram_matrix needs an operator with a design matrix, got {operator!r}")
    dtype = np.dtype(operator.dtype if dtype is None else dtype)
    cache = _GRAM_CACHE.setdefault(operator, {})
    if "float64" not in cache:
        M = np.asarray(operator.matrix, dtype=np.float64)
        cache["float64"] = M.T @ M  # numpy dispatches A.T @ A to syrk
    if dtype.name not in cache:
        cache[dtype.name] = cache["float64"].astype(dtype)
    return cache[dtype.name]


def _has_gram(operator: MeasurementOperator) -> bool:
    return "float64" in _GRAM_CACHE.get(operator, {})


def choose_form(operator: MeasurementOperator, *, batch: int, steps: int,
                budget_bytes: int = GRAM_BUDGET_BYTES) -> str:
    """Pick ``dense`` or ``gram`` for ``steps`` GD steps on a batch of ``batch`` runs.

    Cost model (seconds, rough constants of one core): a dense step reads the design matrix twice
    (``2 m N_v`` entries) or, for a batch, costs ``4 m N_v B`` flops; a Gram step reads half of H
    (``N_v^2/2`` entries, ``symv``) or costs ``2 N_v^2 B`` flops; forming H costs ``m N_v^2`` flops
    once (nothing when it is already cached). Gram is refused when H would exceed ``budget_bytes``.
    """
    if isinstance(operator, IdentityOperator):
        return "identity"
    m, nv, item = operator.m, operator.vec_size, operator.dtype.itemsize
    flops = _FLOPS64 * (8 / item)
    if nv * nv * 8 > budget_bytes:
        return "dense"
    if batch == 1:
        dense = 2 * m * nv * item / _BANDWIDTH
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

    Notes
    -----
    Returned arrays are the engine's own buffers: copy them if they must outlive the next call.
    """

    def __init__(self, operator: MeasurementOperator, y: np.ndarray, *, batch: int,
                 form: Form = "auto", steps: int = 1000) -> None:
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
        dtype = operator.dtype
        self.y = check_array("y", y, ndim=1, shape=(operator.m,)).astype(dtype)
        w = operator.weights
        self._inv_w = None if np.all(w == 1) else (1.0 / w).astype(dtype)
        B, nv, m = self.batch, operator.vec_size, operator.m
        self._s = np.empty((B, nv), dtype=dtype)
        self._r = np.empty((B, m), dtype=dtype)
        if form == "gram":
            self._H = gram_matrix(operator, dtype)
            M64 = np.asarray(operator.matrix, dtype=np.float64)
            self._b = (self.y.astype(np.float64) @ M64).astype(dtype)
            self._symv = blas.get_blas_funcs("symv", dtype=dtype)

    def gradient(self, xv: np.ndarray) -> np.ndarray:
        """Return ``s`` (``(B, N_v)``, weights removed) for vectorised iterates ``xv`` ``(B, N_v)``."""
        s = self._s
        if self.form == "identity":
            np.subtract(xv, self.y, out=s)
            return s
        if self.form == "dense":
            self._dense_pass(xv, s)
        elif self.batch == 1:
            np.copyto(s[0], self._b)
            # H is symmetric, so its transpose is the Fortran-ordered H that BLAS reads without a copy.
            self._symv(1.0, self._H.T, xv[0], beta=-1.0, y=s[0], overwrite_y=1)
        else:
            np.matmul(xv, self._H, out=s)
            s -= self._b
        if self._inv_w is not None:
            s *= self._inv_w
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
            r -= self.y
        return r

    def _dense_pass(self, xv: np.ndarray, s: np.ndarray) -> None:
        M, r = self.operator.matrix, self.residual(xv)
        if self.batch == 1:
            np.dot(r[0], M, out=s[0])
        else:
            np.matmul(r, M, out=s)

    def __repr__(self) -> str:
        return f"ResidualEngine(form={self.form!r}, batch={self.batch}, operator={self.operator!r})"
