r"""Gradient descent on the factorized losses, batched over runs that share one operator.

Symmetric (Burer-Monteiro) factorization, :math:`U\in\mathbb{R}^{n\times k}`:

.. math::

    L(U) = \tfrac14\lVert\mathcal{A}(UU^\top) - y\rVert^2,\qquad
    U_{t+1} = U_t - \eta\,\mathcal{A}^*\bigl(\mathcal{A}(U_tU_t^\top) - y\bigr)U_t .

Asymmetric factorization, :math:`F\in\mathbb{R}^{n_1\times k}`, :math:`G\in\mathbb{R}^{n_2\times k}`:

.. math::

    L(F, G) = \tfrac12\lVert\mathcal{A}(FG^\top) - y\rVert^2,\qquad
    F_{t+1} = F_t - \eta S_tG_t,\quad G_{t+1} = G_t - \eta S_t^\top F_t,\quad
    S_t = \mathcal{A}^*\bigl(\mathcal{A}(F_tG_t^\top) - y\bigr).

Both start from **explicitly given factors** (``U0`` or ``F0, G0``, one per run), so a trajectory can
be checked against any other implementation; :func:`matsense.small_random_init` and
:func:`matsense.small_random_init_asymmetric` draw the small random initialisation of the conventions,
:math:`U_0 = \alpha\bar U` with :math:`\bar U_{ij}\sim N(0, 1/n)`.

A batch of ``B`` runs (different initialisations, scales or step sizes) shares the operator, so one
step costs one matrix-matrix product with the design matrix instead of ``B`` matrix-vector products
(:mod:`matsense.engine`). A run whose iterate becomes non-finite or grows by more than
``divergence_factor`` is frozen and reported (:class:`DivergenceWarning`), never returned as NaN
silently; the other runs of the batch are unaffected.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ._validation import (ArgumentTypeError, RNGLike, as_generator, check_array, check_int, check_memory,
                          check_positive_array, check_positive_float)
from .engine import ResidualEngine
from .metrics import RECORDERS, State, make_schedule, resolve_recorders, schedule_length
from .operators import IdentityOperator
from .problems import SYMMETRY_RTOL, SensingProblem

__all__ = [
    "Trajectory",
    "DivergenceWarning",
    "DivergenceError",
    "small_random_init",
    "small_random_init_asymmetric",
    "gd_symmetric",
    "gd_asymmetric",
    "GDLoop",
]

OnDivergence = Literal["warn", "raise", "ignore"]
Form = Literal["auto", "dense", "gram", "identity"]


class DivergenceWarning(UserWarning):
    """Some runs of a batch diverged (see :attr:`Trajectory.diverged_at`)."""


class DivergenceError(RuntimeError):
    """Raised instead of :class:`DivergenceWarning` when ``on_divergence="raise"``.

    Attributes
    ----------
    trajectory : Trajectory or None
        Everything the run recorded: the batch is run to the end (a diverged run is frozen at its
        last finite iterate, its metrics are NaN after :attr:`Trajectory.diverged_at`), so the
        caller can inspect where and how the runs diverged, and use the runs that did not.
    """

    def __init__(self, message: str, trajectory: "Trajectory | None" = None) -> None:
        super().__init__(message)
        self.trajectory = trajectory

    def __reduce__(self) -> tuple:  # keep the trajectory through pickling (worker processes)
        return type(self), (str(self), self.trajectory)


@dataclass(frozen=True)
class Trajectory:
    """Result of a batched GD run.

    Attributes
    ----------
    iterations : numpy.ndarray, shape (T,)
        Recorded iterations (sorted).
    metrics : dict of str to numpy.ndarray
        Each of shape ``(T, B, ...)``. Entries of a diverged run after its divergence are NaN; use
        :attr:`diverged_at` (or :meth:`valid`) to tell them apart.
    factors : tuple of numpy.ndarray
        Final factors, ``(U,)`` with ``U`` ``(B, n, k)`` or ``(F, G)``; a diverged run keeps its last
        finite iterate.
    eta : numpy.ndarray, shape (B,)
        Step size of each run.
    diverged_at : numpy.ndarray, shape (B,)
        Iteration at which each run was stopped as diverged, -1 if it did not diverge.
    symmetric : bool
        True for ``U U^T``, False for ``F G^T``.
    form : str
        Evaluation form of the engine (``dense``, ``gram`` or ``identity``).
    steps : int
        Number of GD steps taken.
    """

    iterations: np.ndarray
    metrics: dict
    factors: tuple
    eta: np.ndarray
    diverged_at: np.ndarray
    symmetric: bool
    form: str
    steps: int
    params: dict = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """Number of runs ``B``."""
        return int(self.eta.size)

    @property
    def diverged(self) -> np.ndarray:
        """Boolean mask ``(B,)`` of diverged runs."""
        return self.diverged_at >= 0

    @property
    def stopping_reason(self) -> str:
        """Readable summary: all runs completed, or which runs diverged and when."""
        bad = np.flatnonzero(self.diverged)
        if bad.size == 0:
            return f"completed {self.steps} steps"
        runs = ", ".join(f"run {b} at iteration {self.diverged_at[b]}" for b in bad)
        return f"diverged: {runs}; others completed {self.steps} steps"

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"metric {name!r} was not recorded; recorded: {sorted(self.metrics)}") from None

    def valid(self) -> np.ndarray:
        """Mask ``(T, B)``: True where the run had not diverged at that recorded iteration."""
        stop = np.where(self.diverged, self.diverged_at, np.iinfo(np.int64).max)
        return self.iterations[:, None] < stop[None, :]

    def final_matrix(self) -> np.ndarray:
        """Final iterates ``U U^T`` or ``F G^T``, shape ``(B, n1, n2)`` (float64)."""
        if self.symmetric:
            U = self.factors[0].astype(np.float64)
            return U @ np.swapaxes(U, -1, -2)
        F, G = (f.astype(np.float64) for f in self.factors)
        return F @ np.swapaxes(G, -1, -2)


# -- initialisation ------------------------------------------------------------------------------

def small_random_init(n: int, k: int, alpha: npt.ArrayLike, *, rng: RNGLike,
                      batch: int | None = None) -> npt.NDArray[np.float64]:
    r"""Small random initialisation :math:`U_0 = \alpha\bar U`, :math:`\bar U_{ij}\sim N(0, 1/n)` i.i.d.

    Parameters
    ----------
    n, k : int
        Factor shape ``(n, k)``, ``n >= 1``, ``k >= 1``.
    alpha : float or array_like, shape (B,)
        Scale(s), > 0. An array gives one scale per run.
    rng : numpy.random.Generator or int
        Run ``b`` uses the ``b``-th ``(n, k)`` block of one draw, so it does not depend on ``B``.
    batch : int, optional
        Number of runs ``B`` (default: the length of ``alpha``, or 1).

    Returns
    -------
    numpy.ndarray, shape (B, n, k)
    """
    n, k = check_int("n", n, low=1), check_int("k", k, low=1)
    alphas, B = _batch_scales(alpha, batch, f"small_random_init(n={n}, k={k}, batch=...)", 16.0 * n * k)
    Ubar = as_generator(rng).standard_normal((B, n, k)) / np.sqrt(n)
    return alphas[:, None, None] * Ubar


def small_random_init_asymmetric(n1: int, n2: int, k: int, alpha: npt.ArrayLike, *, rng: RNGLike,
                                 batch: int | None = None, g_ratio: float = 1.0
                                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    r""":math:`F_0 = \alpha\bar F`, :math:`G_0 = \rho\,\alpha\bar G` with :math:`\bar F_{ij}\sim N(0,1/n_1)`, :math:`\bar G_{ij}\sim N(0,1/n_2)`.

    ``g_ratio`` is :math:`\rho` (1 by default; 1/3 gives the imbalanced start of Xiong et al.).
    Returns ``(F0, G0)`` of shapes ``(B, n1, k)`` and ``(B, n2, k)``.
    """
    n1, n2, k = check_int("n1", n1, low=1), check_int("n2", n2, low=1), check_int("k", k, low=1)
    g_ratio = check_positive_float("g_ratio", g_ratio)
    alphas, B = _batch_scales(alpha, batch, f"small_random_init_asymmetric(n1={n1}, n2={n2}, k={k}, batch=...)",
                              16.0 * (n1 + n2) * k)
    gen = as_generator(rng)
    F = gen.standard_normal((B, n1, k)) / np.sqrt(n1)
    G = gen.standard_normal((B, n2, k)) / np.sqrt(n2)
    return alphas[:, None, None] * F, (g_ratio * alphas)[:, None, None] * G


def _batch_scales(alpha: npt.ArrayLike, batch: int | None, what: str, bytes_per_run: float
                  ) -> tuple[np.ndarray, int]:
    alphas = check_positive_array("alpha", alpha)
    if alphas.size == 0:
        raise ValueError("alpha must hold at least one scale, got an empty array")
    if batch is None:
        batch = alphas.size
    batch = check_int("batch", batch, low=1)
    check_memory(what.replace("batch=...", f"batch={batch}"), batch * (bytes_per_run + 8.0),
                 "use a smaller batch or smaller factors")
    if alphas.size not in (1, batch):
        raise ValueError(f"alpha must have 1 or batch={batch} entries, got {alphas.size}")
    return np.broadcast_to(alphas, (batch,)).copy(), batch


# -- gradient descent ----------------------------------------------------------------------------

def gd_symmetric(problem: SensingProblem, U0: npt.ArrayLike, eta: npt.ArrayLike, steps: int, *, record: str | int | npt.ArrayLike = "log",
                 metrics: Sequence[str] | Mapping[str, Callable] = ("loss", "relative_error", "spectrum"),
                 form: str = "auto", divergence_factor: float = 1e6,
                 on_divergence: OnDivergence = "warn", threads: int | None = None,
                 progress: bool = False) -> Trajectory:
    r"""Run GD on :math:`L(U) = \tfrac14\lVert\mathcal{A}(UU^\top) - y\rVert^2` from ``U0``.

    Parameters
    ----------
    problem : SensingProblem
        Square problem with symmetric :math:`M^\star`.
    U0 : array_like, shape (n, k) or (B, n, k)
        Initial factors, one per run.
    eta : float or array_like, shape (B,)
        Step size(s), > 0.
    steps : int
        Number of GD steps, >= 0.
    record : "log", "all", int or array of int
        Recorded iterations: log-spaced (default), every step, every ``s`` steps, or explicit.
    metrics : sequence of str or mapping of str to callable
        Names in :data:`matsense.metrics.RECORDERS` (``loss``, ``relative_error``, ``spectrum``,
        ``effective_rank``, ``factor_norm``) or ``name -> f(State)`` callables.
    form : {"auto", "dense", "gram", "identity"}
        Evaluation form of :math:`\mathcal{A}^*\mathcal{A}` (:mod:`matsense.engine`).
    divergence_factor : float
        A run is stopped as diverged when its loss exceeds ``divergence_factor`` times the largest
        initial loss of the batch (checked at recorded iterations), or its factors exceed
        ``sqrt(divergence_factor)`` times the scale of :math:`M^\star` and the initialisation, or
        become non-finite (checked every step).
    on_divergence : {"warn", "raise", "ignore"}
        Emit a :class:`DivergenceWarning`, raise :class:`DivergenceError` (whose ``trajectory``
        attribute holds the whole recorded run), or only record it.
    threads : int, optional
        Limit BLAS threads during the run (threadpoolctl); None leaves them as they are.
    progress : bool
        Show a progress bar.

    Returns
    -------
    Trajectory

    Raises
    ------
    TypeError, ValueError
        Checked once, before the first step, each naming the parameter: a ``problem`` whose
        :math:`M^\star` is not symmetric or whose operator has non-symmetric :math:`A_i` (the update
        would not be the gradient of the reported loss: use :func:`gd_asymmetric`), malformed
        ``U0``/``eta``/``steps``/``record``/``metrics``, the metric ``relative_error`` for
        :math:`M^\star = 0` (undefined), or a recording that cannot fit in memory (the number of
        recorded iterations times the batch times the metrics' sizes, above
        half the machine's memory by default, ``MATSENSE_MEMORY_FRACTION`` to change it; the message gives the size).
    DivergenceError
        With ``on_divergence="raise"``, when a run diverged.
    """
    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    if not problem.is_symmetric:
        raise ValueError(
            f"gd_symmetric needs a square problem with symmetric M_star (to a relative "
            f"{SYMMETRY_RTOL:g}, matsense.problems.SYMMETRY_RTOL), got problem.M_star of shape "
            f"{problem.M_star.shape}; build the problem from (M + M.T) / 2 (make_sensing_problem "
            f"symmetrises a nearly symmetric M_star), or use gd_asymmetric")
    op = problem.operator
    if not (op.symmetric or isinstance(op, IdentityOperator)):
        raise ValueError(
            f"gd_symmetric needs an operator with symmetric sensing matrices A_i, got problem.operator = "
            f"{op!r} with symmetric=False: for general A_i the update A*(A(U U^T) - y) U is not the "
            f"gradient of the loss 1/4 ||A(U U^T) - y||^2 it reports; use gd_asymmetric(problem, F0, G0, "
            f"eta, steps) for this operator, or a symmetric operator (symmetric_gaussian_problem, "
            f"symmetric_gaussian_operator)")
    U = _batch_factor("U0", U0, problem.n1, problem.dtype)
    return _run(problem, (U,), eta, steps, symmetric=True, record=record, metrics=metrics, form=form,
                divergence_factor=divergence_factor, on_divergence=on_divergence, threads=threads,
                progress=progress)


def gd_asymmetric(problem: SensingProblem, F0: npt.ArrayLike, G0: npt.ArrayLike, eta: npt.ArrayLike, steps: int, *,
                  record: str | int | npt.ArrayLike = "log",
                  metrics: Sequence[str] | Mapping[str, Callable] = ("loss", "relative_error", "spectrum"),
                  form: str = "auto", divergence_factor: float = 1e6,
                  on_divergence: OnDivergence = "warn", threads: int | None = None,
                  progress: bool = False) -> Trajectory:
    r"""Run simultaneous GD on :math:`L(F,G) = \tfrac12\lVert\mathcal{A}(FG^\top) - y\rVert^2` from ``(F0, G0)``.

    ``F0`` has shape ``(n1, k)`` or ``(B, n1, k)``, ``G0`` ``(n2, k)`` or ``(B, n2, k)``; the other
    parameters are those of :func:`gd_symmetric` (the ``imbalance`` metric is available here).
    The operator must not have symmetric sensing matrices: they do not see the antisymmetric part of
    :math:`FG^\top`, and the error stalls.
    """
    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    if problem.operator.symmetric:
        raise ValueError(f"gd_asymmetric needs an operator with general (non-symmetric) A_i, got "
                         f"problem.operator = {problem.operator!r}: symmetric A_i do not see the antisymmetric part "
                         f"of F G^T; use gd_symmetric for this problem")
    F = _batch_factor("F0", F0, problem.n1, problem.dtype)
    G = _batch_factor("G0", G0, problem.n2, problem.dtype)
    if F.shape[0] != G.shape[0] or F.shape[2] != G.shape[2]:
        raise ValueError(f"F0 and G0 must have the same batch size and k, got {F.shape} and {G.shape}")
    return _run(problem, (F, G), eta, steps, symmetric=False, record=record, metrics=metrics,
                form=form, divergence_factor=divergence_factor, on_divergence=on_divergence,
                threads=threads, progress=progress)


def _batch_factor(name: str, value: Any, n: int, dtype: np.dtype) -> np.ndarray:
    arr = check_array(name, value, ndim=(2, 3))
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one run (shape (B, n, k) with B >= 1), got shape {arr.shape}")
    if arr.shape[1] != n:
        raise ValueError(f"{name} must have {n} rows (the problem's size), got shape {arr.shape}")
    if arr.shape[2] < 1:
        raise ValueError(f"{name} must have k >= 1 columns, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _run(problem: SensingProblem, factors: tuple, eta: npt.ArrayLike, steps: int, *, symmetric: bool,
         record: Any, metrics: Any, form: str, divergence_factor: float,
         on_divergence: OnDivergence, threads: int | None, progress: bool) -> Trajectory:
    steps = check_int("steps", steps, low=0)
    B = factors[0].shape[0]
    etas = np.broadcast_to(check_positive_array("eta", eta, size=B), (B,)).copy()
    divergence_factor = check_positive_float("divergence_factor", divergence_factor)
    if divergence_factor <= 1:
        raise ValueError(f"divergence_factor must be in (1, inf), got {divergence_factor:g}")
    if on_divergence not in ("warn", "raise", "ignore"):
        raise ValueError(f"on_divergence must be 'warn', 'raise' or 'ignore', got {on_divergence!r}")
    if threads is not None:
        threads = check_int("threads", threads, low=1)
    recorders = resolve_recorders(metrics)
    _check_recording(problem, factors, record, steps, recorders)
    schedule = make_schedule(record, steps)
    limits = threadpool_limits(threads) if threads is not None else contextlib.nullcontext()
    with limits:
        loop = GDLoop(problem, factors, etas, steps=steps, form=form,
                      divergence_factor=divergence_factor)
        rows = loop.run(schedule, recorders, progress)
    traj = Trajectory(
        iterations=schedule,
        metrics={name: np.stack(vals) for name, vals in rows.items()},
        factors=tuple(f.copy() for f in loop.factors),
        eta=etas,
        diverged_at=loop.diverged_at,
        symmetric=symmetric,
        form=loop.engine.form,
        steps=steps,
        params={"n1": problem.n1, "n2": problem.n2, "m": problem.m, "k": factors[0].shape[2],
                "dtype": problem.dtype.name, "divergence_factor": divergence_factor},
    )
    if traj.diverged.any() and on_divergence != "ignore":
        msg = f"{int(traj.diverged.sum())} of {B} runs diverged ({traj.stopping_reason}); " \
              "their metrics are NaN after divergence"
        if on_divergence == "raise":
            raise DivergenceError(msg, traj)
        warnings.warn(msg, DivergenceWarning, stacklevel=3)
    return traj


def _check_recording(problem: SensingProblem, factors: tuple, record: Any, steps: int,
                     recorders: Mapping[str, Callable]) -> None:
    """Refuse, before the first step, a recording that is undefined or cannot fit in memory."""
    if any(fn is RECORDERS["relative_error"] for fn in recorders.values()) and not np.any(problem.M_star):
        raise ValueError("metrics: 'relative_error' (||X - M_star||_F / ||M_star||_F) is undefined for "
                         "M_star = 0; drop it, e.g. metrics=('loss', 'spectrum'), or record the distance "
                         "with metrics={'dist': matsense.metrics.distances_to([problem.M_star])}")
    B, k = factors[0].shape[0], factors[0].shape[2]
    sizes = {"spectrum": min(problem.n1, problem.n2), "imbalance": k * k}
    per_run = sum(sizes.get(name, 1) if fn is RECORDERS.get(name) else 1 for name, fn in recorders.items())
    count = schedule_length(record, steps)
    # the recorded rows and their stacked copy (float64), one array object per metric and record,
    # and the schedule itself
    nbytes = count * (2 * 8 * B * per_run + 120 * len(recorders) + 8)
    check_memory(f"record={record!r} with steps={steps} ({count} recorded iterations x B={B} runs x "
                 f"{per_run} values of metrics {tuple(recorders)})", nbytes,
                 "record fewer iterations (record='log', or an int stride such as record=1000) or fewer metrics")


_vecdot = getattr(np, "vecdot", None)  # numpy >= 2.0


def _sqnorms(f: np.ndarray) -> np.ndarray:
    """Squared Frobenius norm of each ``f[b]``."""
    flat = f.reshape(f.shape[0], -1)
    return _vecdot(flat, flat) if _vecdot is not None else np.einsum("bi,bi->b", flat, flat)


class GDLoop:
    r"""State and buffers of one batched GD run (the loop of :func:`matsense.gd_symmetric` and ``gd_asymmetric``).

    One iteration (:meth:`step`) is :meth:`form_iterate` (:math:`X_t = U_tU_t^\top` or
    :math:`F_tG_t^\top` and its vectorisation), :meth:`update` (the gradient step through the
    :class:`~matsense.engine.ResidualEngine`) and :meth:`check` (divergence), with no allocation of
    ``m``- or ``N_v``-sized arrays. Use the ``gd_*`` functions to run and record a trajectory; this
    object is the public seam for timing or profiling a bare step (``benchmarks/``).

    Parameters
    ----------
    problem : SensingProblem
        The sensing problem.
    factors : tuple of numpy.ndarray
        ``(U0,)`` with ``U0`` of shape ``(B, n, k)`` (symmetric factorization) or ``(F0, G0)`` with
        shapes ``(B, n1, k)`` and ``(B, n2, k)``, in the problem's dtype; copied.
    eta : float or array_like, shape (B,)
        Step size(s), > 0.
    steps : int
        Number of steps :meth:`run` takes; also the horizon of ``form="auto"``.
    form : {"auto", "dense", "gram", "identity"}
        Evaluation form of the engine.
    kernel : str, optional
        Force one kernel of the form (:data:`matsense.engine.KERNELS`).
    divergence_factor : float
        See :func:`matsense.gd_symmetric`.

    Attributes
    ----------
    factors : list of numpy.ndarray
        Current factors.
    engine : ResidualEngine
    iteration : int
        Steps taken by :meth:`step`.
    diverged_at : numpy.ndarray, shape (B,)
        Iteration at which each run was frozen as diverged, -1 otherwise.
    """

    def __init__(self, problem: SensingProblem, factors: Sequence[npt.NDArray[np.floating]],
                 eta: npt.ArrayLike, *, steps: int = 1000, form: Form = "auto",
                 kernel: str | None = None, divergence_factor: float = 1e6) -> None:
        if not isinstance(problem, SensingProblem):
            raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
        if len(factors) not in (1, 2):
            raise ValueError(f"factors must be (U,) or (F, G), got {len(factors)} arrays")
        symmetric = len(factors) == 1
        self.problem, self.symmetric = problem, symmetric
        self.steps = check_int("steps", steps, low=0)
        op, dtype = problem.operator, problem.dtype
        B = factors[0].shape[0]
        etas = np.broadcast_to(check_positive_array("eta", eta, size=B), (B,))
        divergence_factor = check_positive_float("divergence_factor", divergence_factor)
        self.factors = [f.copy() for f in factors]
        self._new = [np.empty_like(f) for f in factors]
        self._grad = [np.empty_like(f) for f in factors]
        self.eta = etas.astype(dtype)[:, None, None]
        self.engine = ResidualEngine(op, problem.y, batch=B, form=form, steps=max(self.steps, 1),
                                     kernel=kernel)
        self.iteration = 0
        self.X = np.zeros((B, op.n1, op.n2), dtype=dtype)
        self.S = np.empty((B, op.n1, op.n2), dtype=dtype)
        # Where the vectorisation is a reshape (dense and identity operators), xv is a view of X
        # and S a view of the engine's output: no copies in the step.
        xv = op.vec(self.X)
        self._vec_is_view = xv.shape == (B, op.vec_size) and np.shares_memory(xv, self.X)
        self.xv = xv if self._vec_is_view else np.empty((B, op.vec_size), dtype=dtype)
        self._unvec_is_view = self._vec_is_view and np.shares_memory(op.unvec(self.xv), self.xv)
        self.diverged_at = np.full(B, -1, dtype=np.int64)
        self._any_dead = False
        # Divergence thresholds: iterate scale (every step) and loss (at recorded iterations).
        scale0 = self._scale(self.factors)
        ref = max(float(np.sum(np.linalg.svd(problem.M_star, compute_uv=False))), float(scale0.max()), 1e-300)
        self._scale_cap = np.sqrt(divergence_factor) * ref
        # the same cap on ||U||_F^2, or on ||F||_F^2 ||G||_F^2 (= scale^2), for the fast path
        self._prod_cap = self._scale_cap if symmetric else self._scale_cap**2
        self._loss_factor = divergence_factor
        self._loss_cap = np.inf

    def step(self) -> None:
        """One GD iteration without recording: :meth:`form_iterate`, :meth:`update`, :meth:`check`."""
        self.form_iterate()
        self.update()
        self.iteration += 1
        self.check(self.iteration)

    def _scale(self, factors: Sequence[np.ndarray]) -> np.ndarray:
        """Upper bound of the nuclear norm of X per run: ||U||_F^2 or ||F||_F ||G||_F.

        In the factors' dtype (a float32 overflow gives inf, which is flagged as divergence like any
        value above the cap); ``vecdot`` on the flattened factors is 4x cheaper than ``einsum``.
        """
        sq = [_sqnorms(f) for f in factors]
        return sq[0] if self.symmetric else np.sqrt(sq[0] * sq[1])

    def form_iterate(self) -> None:
        """Form the iterates ``X`` ``(B, n1, n2)`` from the factors, and their vectorisation ``xv``."""
        if self.symmetric:
            U = self.factors[0]
            np.matmul(U, np.swapaxes(U, 1, 2), out=self.X)
            self.problem.operator.vec_symmetric(self.X, out=self.xv)
        else:
            F, G = self.factors
            np.matmul(F, np.swapaxes(G, 1, 2), out=self.X)
            if not self._vec_is_view:
                np.copyto(self.xv, self.problem.operator.vec(self.X))

    def update(self) -> None:
        """Replace the factors by one gradient step from the iterate formed by :meth:`form_iterate`."""
        s = self.engine.gradient(self.xv)
        op = self.problem.operator
        S = op.unvec(s) if self._unvec_is_view else op.unvec(s, out=self.S)
        if self.symmetric:
            (U,), (gU,) = self.factors, self._grad
            np.matmul(S, U, out=gU)
        else:
            (F, G), (gF, gG) = self.factors, self._grad
            np.matmul(S, G, out=gF)
            np.matmul(np.swapaxes(S, 1, 2), F, out=gG)
        dead = (self.diverged_at >= 0) if self._any_dead else None
        for f, g, new in zip(self.factors, self._grad, self._new):
            np.multiply(g, self.eta, out=g)
            np.subtract(f, g, out=new)
            if dead is not None:  # frozen runs keep their last finite iterate
                new[dead] = f[dead]
        self.factors, self._new = self._new, self.factors

    def check(self, t: int, losses: npt.NDArray[np.floating] | None = None) -> None:
        """Freeze the runs whose factors (or ``losses``) passed the divergence thresholds, as diverged at ``t``."""
        if losses is None and not self._any_dead:
            # Fast path of the per-step check (3-4 numpy calls instead of ~10: after a step has
            # streamed the operator through the cache, each call costs 5-10 us): NaN and inf
            # fail ``<=`` as well.
            sq = [_sqnorms(f) for f in self.factors]
            prod = sq[0] if self.symmetric else sq[0] * sq[1]
            if (prod <= self._prod_cap).all():
                return
        scale = self._scale(self.factors)
        bad = ~np.isfinite(scale) | (scale > self._scale_cap)
        if losses is not None:
            bad |= ~np.isfinite(losses) | (losses > self._loss_cap)
        bad &= self.diverged_at < 0
        if bad.any():
            for f, old in zip(self.factors, self._new):  # _new holds the previous (finite) iterate
                f[bad] = old[bad] if t > 0 else np.where(np.isfinite(f[bad]), f[bad], 0.0)
            self.eta[bad] = 0.0
            self.diverged_at[bad] = t
            self._any_dead = True

    def _record(self, t: int, recorders: dict, rows: dict) -> None:
        residual = self.engine.residual(self.xv).astype(np.float64)
        state = State(t=t, X=self.X.astype(np.float64), residual=residual,
                      factors=tuple(f.astype(np.float64) for f in self.factors),
                      M_star=self.problem.M_star, symmetric=self.symmetric)
        losses = 0.5 * np.einsum("bm,bm->b", residual, residual) * (0.5 if self.symmetric else 1.0)
        self.check(t, losses)
        dead = self.diverged_at >= 0
        for name, fn in recorders.items():
            val = np.array(fn(state), dtype=np.float64)
            if val.ndim == 0 or val.shape[0] != self.X.shape[0]:
                raise ValueError(f"metrics[{name!r}] must return an array with leading axis B, got shape {val.shape}")
            val[dead] = np.nan
            rows.setdefault(name, []).append(val)

    def run(self, schedule: npt.NDArray[np.integer], recorders: Mapping[str, Callable],
            progress: bool = False) -> dict[str, list[npt.NDArray[np.float64]]]:
        """Take ``steps`` steps, recording ``recorders`` at the iterations of ``schedule``.

        Returns the recorded values, one list (over ``schedule``) per recorder name.
        """
        rows: dict = {}
        # the sorted schedule is walked with a pointer: no set of every recorded iteration
        schedule = np.unique(np.asarray(schedule, dtype=np.int64))
        schedule = schedule[schedule >= 0]
        pos, n_rec = 0, schedule.size
        next_rec = int(schedule[0]) if n_rec else -1
        bar = tqdm(total=self.steps, disable=not progress, desc="GD", leave=False)
        for t in range(self.steps + 1):
            self.form_iterate()
            if t == 0:
                r0 = self.engine.residual(self.xv).astype(np.float64)
                loss0 = float(np.max(np.einsum("bm,bm->b", r0, r0), initial=0.0))
                self._loss_cap = self._loss_factor * max(loss0, 1e-300)
            if t == next_rec:
                self._record(t, recorders, rows)
                pos += 1
                next_rec = int(schedule[pos]) if pos < n_rec else -1
            if t == self.steps:
                break
            self.update()
            self.iteration = t + 1
            self.check(t + 1)
            bar.update()
        bar.close()
        return rows
