r"""What is measured along a trajectory, and when.

Pure functions on batches: ``X`` has shape ``(B, n1, n2)`` (one iterate :math:`X_t = U_tU_t^\top` or
:math:`F_tG_t^\top` per run) and every metric returns one value (or one vector) per run.

* training loss: :math:`\tfrac14\lVert\mathcal{A}(UU^\top) - y\rVert^2` (symmetric) or
  :math:`\tfrac12\lVert\mathcal{A}(FG^\top) - y\rVert^2` (asymmetric), from the residual;
* relative error :math:`\lVert X_t - M^\star\rVert_F / \lVert M^\star\rVert_F`;
* singular values (or eigenvalues, symmetric case) of :math:`X_t`;
* imbalance :math:`F^\top F - G^\top G` (conserved by gradient flow);
* distance to a reference matrix, effective rank.

Schedules (:func:`matsense.log_schedule`, :func:`matsense.every`) choose the recorded iterations, so that metrics that
cost more than a step (SVDs) are computed only there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ._validation import check_int

__all__ = [
    "State",
    "loss",
    "relative_error",
    "singular_values",
    "eigenvalues",
    "imbalance",
    "imbalance_norm",
    "distance",
    "effective_rank",
    "log_schedule",
    "every",
    "make_schedule",
    "RECORDERS",
    "resolve_recorders",
    "distances_to",
    "components_along",
]


# -- batch metrics ------------------------------------------------------------------------------

def loss(residual: np.ndarray, *, symmetric: bool) -> np.ndarray:
    r"""Training loss per run from the residual :math:`r = \mathcal{A}(X) - y` of shape ``(B, m)``.

    :math:`\tfrac14\lVert r\rVert^2` for the symmetric factorization :math:`UU^\top`,
    :math:`\tfrac12\lVert r\rVert^2` for :math:`FG^\top` (:ref:`conventions`).
    """
    r = np.asarray(residual, dtype=np.float64)
    return (0.25 if symmetric else 0.5) * np.einsum("bm,bm->b", r, r)


def relative_error(X: np.ndarray, M_star: np.ndarray) -> np.ndarray:
    r""":math:`\lVert X_b - M^\star\rVert_F / \lVert M^\star\rVert_F` per run, shape ``(B,)``.

    Undefined for :math:`M^\star = 0`: raises a ValueError (use :func:`distance`) instead of
    dividing by zero.
    """
    X = np.asarray(X, dtype=np.float64)
    norm = float(np.linalg.norm(M_star))
    if norm == 0:
        raise ValueError("relative_error is undefined for M_star = 0 (||M_star||_F = 0); use distance(X, M_star)")
    return distance(X, M_star) / norm


def distance(X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    r""":math:`\lVert X_b - Z\rVert_F` per run, ``Z`` of shape ``(n1, n2)`` or ``(B, n1, n2)``."""
    D = np.asarray(X, dtype=np.float64) - np.asarray(Z, dtype=np.float64)
    return np.sqrt(np.einsum("bij,bij->b", D, D))


def singular_values(X: np.ndarray, q: int | None = None) -> np.ndarray:
    """Top ``q`` singular values of each ``X_b`` in decreasing order, shape ``(B, q)``."""
    s = np.linalg.svd(np.asarray(X, dtype=np.float64), compute_uv=False)
    return s if q is None else s[:, :q]


def eigenvalues(X: np.ndarray, q: int | None = None) -> np.ndarray:
    """Top ``q`` eigenvalues of each symmetric ``X_b`` in decreasing order, shape ``(B, q)``."""
    X = np.asarray(X, dtype=np.float64)
    lam = np.linalg.eigvalsh((X + np.swapaxes(X, -1, -2)) / 2)[:, ::-1]
    return lam if q is None else lam[:, :q]


def imbalance(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    r"""Imbalance :math:`\Delta = F^\top F - G^\top G` per run, shape ``(B, k, k)``."""
    F, G = np.asarray(F, dtype=np.float64), np.asarray(G, dtype=np.float64)
    return np.swapaxes(F, -1, -2) @ F - np.swapaxes(G, -1, -2) @ G


def imbalance_norm(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    r""":math:`\lVert F^\top F - G^\top G\rVert_F` per run, shape ``(B,)``."""
    D = imbalance(F, G)
    return np.sqrt(np.einsum("bij,bij->b", D, D))


def effective_rank(X: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
    r"""Effective rank :math:`\exp(-\sum_i p_i\log p_i)`, :math:`p_i = \sigma_i/\sum_j\sigma_j` (Roy & Vetterli 2007).

    Singular values below ``tol`` times the largest are ignored. Shape ``(B,)``.
    """
    s = singular_values(X)
    s = np.where(s > tol * s[:, :1], s, 0.0)
    total = s.sum(axis=1, keepdims=True)
    p = np.divide(s, total, out=np.zeros_like(s), where=total > 0)
    ent = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    return np.exp(ent)


# -- recording ------------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    """What a recorder sees at a recorded iteration.

    Attributes
    ----------
    t : int
        Iteration.
    X : numpy.ndarray, shape (B, n1, n2)
        Iterates ``U U^T`` or ``F G^T`` (float64).
    residual : numpy.ndarray, shape (B, m)
        :math:`\\mathcal{A}(X) - y` (float64).
    factors : tuple of numpy.ndarray
        ``(U,)`` with ``U`` of shape ``(B, n, k)``, or ``(F, G)``.
    M_star : numpy.ndarray, shape (n1, n2)
        Ground truth.
    symmetric : bool
        True for the ``U U^T`` factorization.
    """

    t: int
    X: np.ndarray
    residual: np.ndarray
    factors: tuple
    M_star: np.ndarray
    symmetric: bool


def _spectrum(state: State) -> np.ndarray:
    return eigenvalues(state.X) if state.symmetric else singular_values(state.X)


def _imbalance(state: State) -> np.ndarray:
    if state.symmetric:
        raise ValueError("metric 'imbalance' is defined for the asymmetric factorization F G^T only")
    return imbalance(*state.factors)


#: Built-in recorders by name: each maps a :class:`State` to an array with leading axis B.
RECORDERS: dict[str, Callable[[State], np.ndarray]] = {
    "loss": lambda s: loss(s.residual, symmetric=s.symmetric),
    "relative_error": lambda s: relative_error(s.X, s.M_star),
    "spectrum": _spectrum,
    "imbalance": _imbalance,
    "effective_rank": lambda s: effective_rank(s.X),
    "factor_norm": lambda s: np.sqrt(sum(np.einsum("bij,bij->b", f, f) for f in s.factors)),
}


def distances_to(targets: Sequence[np.ndarray]) -> Callable[[State], np.ndarray]:
    r"""Recorder of :math:`\lVert X_t - Z_j\rVert_F` for each target ``Z_j``: values of shape ``(B, J)``."""
    Z = np.stack([np.asarray(z, dtype=np.float64) for z in targets])
    if Z.ndim != 3:
        raise ValueError(f"targets must be matrices of one shape, got stacked shape {Z.shape}")

    def record(state: State) -> np.ndarray:
        D = state.X[:, None] - Z[None]
        return np.sqrt(np.einsum("bjkl,bjkl->bj", D, D))
    return record


def components_along(V: np.ndarray) -> Callable[[State], np.ndarray]:
    r"""Recorder of :math:`\lVert U_t^\top v_j\rVert` for each column ``v_j`` of ``V``: shape ``(B, J)``.

    Near the origin, GD multiplies the component along an eigenvector :math:`v_s` of
    :math:`\mathcal{A}^*(y)` by about :math:`1 + \eta\lambda_s` per step.
    """
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2:
        raise ValueError(f"V must be a matrix with one direction per column, got shape {V.shape}")

    def record(state: State) -> np.ndarray:
        if not state.symmetric:
            raise ValueError("components_along is defined for the symmetric factorization U U^T")
        U = state.factors[0].astype(np.float64)
        return np.linalg.norm(np.swapaxes(U, -1, -2) @ V, axis=1)
    return record


def resolve_recorders(metrics: Any) -> dict[str, Callable[[State], np.ndarray]]:
    """Turn ``metrics`` (names of :data:`RECORDERS` and/or a mapping name -> callable) into recorders."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, (Mapping, Iterable)):
        raise TypeError(f"metrics must be a sequence of metric names or a mapping of name -> callable, "
                        f"got {metrics!r}")
    out: dict[str, Callable[[State], np.ndarray]] = {}
    items = metrics.items() if isinstance(metrics, Mapping) else ((m, None) for m in metrics)
    for name, fn in items:
        if fn is None:
            if not isinstance(name, str) or name not in RECORDERS:
                raise ValueError(f"metrics: unknown metric {name!r}; known: {sorted(RECORDERS)}")
            fn = RECORDERS[name]
        elif not callable(fn):
            raise ValueError(f"metrics[{name!r}] must be callable, got {type(fn).__name__}")
        out[str(name)] = fn
    return out


def log_schedule(steps: int, num: int = 200) -> np.ndarray:
    """About ``num`` iterations between 0 and ``steps`` (both included), log-spaced, unique, sorted."""
    steps, num = check_int("steps", steps, low=0), check_int("num", num, low=2)
    t = np.unique(np.round(np.geomspace(1, steps + 1, num) - 1).astype(np.int64))
    return np.union1d(t, [0, steps])


def every(steps: int, s: int) -> np.ndarray:
    """Iterations ``0, s, 2s, ...`` and ``steps``."""
    steps, s = check_int("steps", steps, low=0), check_int("every", s, low=1)
    return np.union1d(np.arange(0, steps + 1, s), [steps])


def _record_array(record: Any, steps: int) -> np.ndarray:
    try:
        t = np.asarray(record)
    except (ValueError, TypeError):
        t = np.asarray([None], dtype=object)
    if t.ndim != 1 or t.size == 0 or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"record must be 'log', 'all', an int stride >= 1 or a non-empty 1-D array of "
                         f"integer iterations, got {record!r}")
    if t.min() < 0 or t.max() > steps:
        raise ValueError(f"record iterations must be in [0, {steps}] (steps), got [{t.min()}, {t.max()}]")
    return t


def _record_stride(record: Any) -> int | None:
    """``record`` as an int stride (checked under the user's name), or None if it is not an int."""
    if isinstance(record, (int, np.integer)) and not isinstance(record, (bool, np.bool_)):
        return check_int("record", record, low=1)
    return None


def schedule_length(record: Any, steps: int) -> int:
    """Number of iterations :func:`make_schedule` records (an upper bound), without building the schedule.

    Lets a caller refuse a recording that cannot fit in memory (``record="all"`` with 10^9 steps)
    before anything is allocated.
    """
    steps = check_int("steps", steps, low=0)
    if isinstance(record, str):
        if record == "log":
            return min(steps + 1, 202)
        if record == "all":
            return steps + 1
        return 1  # make_schedule raises the error
    stride = _record_stride(record)
    if stride is not None:
        return steps // stride + 2
    return int(_record_array(record, steps).size)


def make_schedule(record: Any, steps: int) -> np.ndarray:
    """Recorded iterations from ``record``: ``"log"``, ``"all"``, an int ``s`` (every s steps) or an array."""
    if isinstance(record, str):
        if record == "log":
            return log_schedule(steps)
        if record == "all":
            return every(steps, 1)
        raise ValueError(f"record must be 'log', 'all', an int or an array of iterations, got {record!r}")
    stride = _record_stride(record)
    if stride is not None:
        return every(steps, stride)
    return np.unique(_record_array(record, steps).astype(np.int64))
