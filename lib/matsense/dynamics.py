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

from ._optional import threadpool_limits, tqdm  # optional: absent under Pyodide
from ._validation import (ArgumentTypeError, RNGLike, as_generator, check_array, check_int, check_memory,
                          check_positive_array, check_positive_float)
from .engine import ResidualEngine
from .metrics import RECORDERS, State, make_schedule, resolve_recorders, schedule_length
from .operators import IdentityOperator
from .problems import SYMMETRY_RTOL, SensingProblem

__all__ = ["Trajectory", "DivergenceWarning", "DivergenceError", "small_random_init",
           "small_random_init_asymmetric", "gd_symmetric", "gd_asymmetric", "GDLoop",
           "FlowTrajectory", "gradient_flow_asymmetric", "PERTURBATIONS", "random_perturbation",
           "adversarial_perturbation", "PerturbedGDLoop", "perturbed_gd_asymmetric",
           "ENV_NO_PROGRESS", "progress_disabled", "online_gd_asymmetric", "fresh_batch_gradient",
           "ONLINE_SOURCES", "FRESH_SAMPLERS"]

OnDivergence = Literal["warn", "raise", "ignore"]
Form = Literal["auto", "dense", "gram", "identity"]


class DivergenceWarning(UserWarning):
    """Some runs of a batch diverged (see :attr:`~matsense.Trajectory.diverged_at`)."""


class DivergenceError(RuntimeError):
    """Raised instead of :class:`DivergenceWarning` when ``on_divergence="raise"``.

    Attributes
    ----------
    trajectory : Trajectory or None
        Everything the run recorded: the batch is run to the end (a diverged run is frozen at its
        last finite iterate, its metrics are NaN after :attr:`~matsense.Trajectory.diverged_at`), so the
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
        would not be the gradient of the reported loss: use :func:`~matsense.gd_asymmetric`), malformed
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
    parameters are those of :func:`~matsense.gd_symmetric` (the ``imbalance`` metric is available here).
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
        self._descend()

    def _descend(self) -> None:
        """Apply the gradients in ``self._grad``: ``factor <- factor - eta * grad`` for every live run
        (frozen runs keep their last finite iterate), swapping the double buffers."""
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
        bar = tqdm(total=self.steps, disable=not progress or progress_disabled(), desc="GD", leave=False)
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


# --- Wind: gradient flow ---

@dataclass(frozen=True)
class FlowTrajectory:
    """Result of :func:`gradient_flow_asymmetric`: the flow recorded at given times.

    Attributes
    ----------
    times : numpy.ndarray, shape (T,)
        Recorded times :math:`t` (sorted; the flow at time :math:`t` corresponds to GD at iteration
        :math:`t/\\eta`).
    metrics : dict of str to numpy.ndarray
        Each of shape ``(T, B, ...)``, computed by the same recorders as GD's.
    factors : tuple of numpy.ndarray
        ``(F, G)`` at the last recorded time, shapes ``(B, n1, k)`` and ``(B, n2, k)``.
    nfev : numpy.ndarray, shape (B,)
        Right-hand-side evaluations of the solver, per run.
    method, rtol, atol
        The solver's settings.
    """

    times: np.ndarray
    metrics: dict
    factors: tuple
    nfev: np.ndarray
    method: str
    rtol: float
    atol: float

    @property
    def batch_size(self) -> int:
        """Number of runs ``B``."""
        return int(self.factors[0].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"metric {name!r} was not recorded; recorded: {sorted(self.metrics)}") from None

    def final_matrix(self) -> np.ndarray:
        """:math:`FG^\\top` at the last recorded time, shape ``(B, n1, n2)``."""
        F, G = self.factors
        return F @ np.swapaxes(G, -1, -2)


def gradient_flow_asymmetric(problem: SensingProblem, F0: npt.ArrayLike, G0: npt.ArrayLike,
                             t_eval: npt.ArrayLike, *, rtol: float = 1e-8, atol: float = 1e-10,
                             method: str = "RK45",
                             metrics: Sequence[str] | Mapping[str, Callable] = ("loss", "relative_error", "imbalance"),
                             batched: bool = True) -> FlowTrajectory:
    r"""Integrate the gradient flow of :math:`L(F, G) = \tfrac12\lVert\mathcal{A}(FG^\top) - y\rVert^2`.

    .. math::

        \dot F = -S\,G,\qquad \dot G = -S^\top F,\qquad S = \mathcal{A}^*\bigl(\mathcal{A}(FG^\top) - y\bigr),

    with :func:`scipy.integrate.solve_ivp` from ``(F0, G0)`` at time 0. GD with step :math:`\eta` is
    the explicit Euler scheme of this flow: iteration :math:`T` of GD is compared with the flow at
    :math:`t = \eta T`. The flow conserves the imbalance :math:`F^\top F - G^\top G` exactly (its
    derivative is :math:`-F^\top SG - G^\top S^\top F + G^\top S^\top F + F^\top S G = 0`), so the
    solver's drift of it measures the integration error.

    Parameters
    ----------
    problem : SensingProblem
        Problem with a general (non-symmetric) operator.
    F0, G0 : array_like, shapes (n1, k) / (n2, k) or (B, n1, k) / (B, n2, k)
        Initial factors.
    t_eval : array_like, shape (T,)
        Recorded times, non-negative and strictly increasing (0 may be included).
    rtol, atol : float
        Tolerances of the solver (> 0).
    method : str
        A :func:`scipy.integrate.solve_ivp` method (``"RK45"``, ``"DOP853"``, ...).
    metrics : sequence of str or mapping of str to callable
        Recorders as for :func:`~matsense.gd_asymmetric` (names of :data:`matsense.metrics.RECORDERS` or
        ``name -> f(State)``).
    batched : bool
        True (default): the ``B`` runs are integrated as one system, so that one pass over the
        operator's design matrix serves every run (the step size is then chosen for the whole
        batch); False: one solve per run.

    Returns
    -------
    FlowTrajectory

    Raises
    ------
    TypeError, ValueError
        For a wrong ``problem``, malformed factors or times, non-positive tolerances; RuntimeError
        when the solver fails (its message is included).
    """
    from scipy.integrate import solve_ivp

    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    if problem.operator.symmetric:
        raise ValueError("gradient_flow_asymmetric needs an operator with general (non-symmetric) A_i, got "
                         f"problem.operator = {problem.operator!r}")
    F = _batch_factor("F0", F0, problem.n1, np.float64)
    G = _batch_factor("G0", G0, problem.n2, np.float64)
    if F.shape[0] != G.shape[0] or F.shape[2] != G.shape[2]:
        raise ValueError(f"F0 and G0 must have the same batch size and k, got {F.shape} and {G.shape}")
    t = check_array("t_eval", t_eval, ndim=1).astype(np.float64)
    if t.size == 0 or t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"t_eval must be a non-empty, strictly increasing array of times >= 0, got {t!r}")
    rtol = check_positive_float("rtol", rtol)
    atol = check_positive_float("atol", atol)
    if not isinstance(batched, bool):
        raise TypeError(f"batched={batched!r} must be True or False")
    recorders = resolve_recorders(metrics)
    op, y = problem.operator, np.asarray(problem.y, dtype=np.float64)
    n1, n2 = problem.n1, problem.n2
    B, k = F.shape[0], F.shape[2]
    design = op.matrix if op.matrix is not None and op.vec_size == n1 * n2 else None
    if design is not None:
        design = np.asarray(design, dtype=np.float64)

    def gradient_matrix(X: np.ndarray) -> np.ndarray:
        """S for a batch X (b, n1, n2)."""
        if design is None:
            return np.stack([op.adjoint_residual(x, y)[0] for x in X])
        r = np.dot(X.reshape(X.shape[0], -1), design.T)
        r -= y
        return np.dot(r, design).reshape(X.shape)

    def solve(Fb: np.ndarray, Gb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        b = Fb.shape[0]
        size_f = b * n1 * k

        def rhs(_t: float, z: np.ndarray) -> np.ndarray:
            Fz, Gz = z[:size_f].reshape(b, n1, k), z[size_f:].reshape(b, n2, k)
            S = gradient_matrix(Fz @ np.swapaxes(Gz, 1, 2))
            return np.concatenate([(-S @ Gz).ravel(), (-np.swapaxes(S, 1, 2) @ Fz).ravel()])

        z0 = np.concatenate([Fb.ravel(), Gb.ravel()])
        if t[-1] == 0:
            Z, nfev = z0[:, None], 0
        else:
            sol = solve_ivp(rhs, (0.0, float(t[-1])), z0, method=method, t_eval=t, rtol=rtol, atol=atol)
            if not sol.success:
                raise RuntimeError(f"gradient_flow_asymmetric: the solver failed ({sol.message})")
            Z, nfev = sol.y, int(sol.nfev)
        Ft = Z[:size_f].T.reshape(t.size, b, n1, k)
        Gt = Z[size_f:].T.reshape(t.size, b, n2, k)
        return Ft, Gt, nfev

    groups = [np.arange(B)] if batched else [np.array([b]) for b in range(B)]
    Fs = np.empty((t.size, B, n1, k))
    Gs = np.empty((t.size, B, n2, k))
    nfev = np.zeros(B, dtype=np.int64)
    for idx in groups:
        Fs[:, idx], Gs[:, idx], nfev[idx] = solve(F[idx], G[idx])
    rows: dict = {}
    for i in range(t.size):
        X = Fs[i] @ np.swapaxes(Gs[i], 1, 2)
        if design is None:
            residual = np.stack([op.residual(X[b], y) for b in range(B)]).astype(np.float64)
        else:
            residual = np.dot(X.reshape(B, -1), design.T) - y
        state = State(t=i, X=X, residual=residual, factors=(Fs[i], Gs[i]), M_star=problem.M_star,
                      symmetric=False)
        for name, fn in recorders.items():
            rows.setdefault(name, []).append(np.asarray(fn(state), dtype=np.float64))
    return FlowTrajectory(times=t, metrics={name: np.stack(v) for name, v in rows.items()},
                          factors=(Fs[-1].copy(), Gs[-1].copy()), nfev=nfev, method=str(method),
                          rtol=rtol, atol=atol)




# --- Wind: perturbed GD ---

#: Kinds of injected gradient perturbation of :func:`perturbed_gd_asymmetric`.
PERTURBATIONS = ("random", "fresh", "adversarial")


def random_perturbation(batch: int, n1: int, n2: int, xi: npt.ArrayLike, *, rng: RNGLike
                        ) -> npt.NDArray[np.float64]:
    r"""Gaussian directions scaled to spectral norm ``xi``: :math:`\Xi_b = \xi_b Z_b/\lVert Z_b\rVert_2`.

    :math:`Z_b` has i.i.d. :math:`N(0, 1)` entries (drawn from ``rng`` as one ``(batch, n1, n2)``
    array), so :math:`\lVert\Xi_b\rVert_2 = \xi_b` exactly and its direction is uniform.

    Parameters
    ----------
    batch, n1, n2 : int
        Shape ``(batch, n1, n2)`` of the result, each >= 1.
    xi : float or array_like, shape (batch,)
        Sizes :math:`\xi_b \ge 0` (spectral norm).
    rng : numpy.random.Generator or int

    Returns
    -------
    numpy.ndarray, shape (batch, n1, n2)
    """
    batch = check_int("batch", batch, low=1)
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    sizes = _perturbation_sizes(xi, batch)
    Z = as_generator(rng).standard_normal((batch, n1, n2))
    return Z * (sizes / _spectral_norms(Z))[:, None, None]


def adversarial_perturbation(S: npt.ArrayLike, xi: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""The perturbation of spectral norm :math:`\xi` that most opposes the gradient matrix :math:`S`.

    .. math::

        \Xi = \operatorname*{arg\,max}_{\lVert\Xi\rVert_2\le\xi}\ \langle\Xi, -S\rangle
            = -\xi\,U_SV_S^\top,\qquad S = U_S\Sigma_SV_S^\top \text{ (thin SVD)},

    the maximum being :math:`\xi\lVert S\rVert_*` (the nuclear norm is the dual of the spectral
    norm). It lowers every singular value of :math:`S` by :math:`\xi`: the perturbed gradient
    :math:`S + \Xi = U_S(\Sigma_S - \xi I)V_S^\top` vanishes where :math:`S` has singular values
    :math:`\xi`, and *reverses* the directions where they are smaller (those of the spurious
    components, which it makes grow). A singular value exactly 0 is given the sign of its SVD
    vector, which only matters on a set of measure zero.

    Parameters
    ----------
    S : array_like, shape (n1, n2) or (B, n1, n2)
        Gradient matrices :math:`\mathcal{A}^*(\mathcal{A}(FG^\top) - y)`, finite.
    xi : float or array_like, shape (B,)
        Sizes :math:`\xi_b \ge 0`.

    Returns
    -------
    numpy.ndarray, same shape as ``S`` (float64)
    """
    S = check_array("S", S, ndim=(2, 3)).astype(np.float64, copy=False)
    single = S.ndim == 2
    S3 = S[None] if single else S
    sizes = _perturbation_sizes(xi, S3.shape[0])
    U, _, Vt = np.linalg.svd(S3, full_matrices=False)
    out = -(sizes[:, None, None] * (U @ Vt))
    return out[0] if single else out


def _spectral_norms(Z: np.ndarray) -> np.ndarray:
    """Spectral norm of each ``Z[b]``."""
    return np.linalg.svd(Z, compute_uv=False)[:, 0]


def _perturbation_sizes(xi: npt.ArrayLike, batch: int) -> npt.NDArray[np.float64]:
    raw = np.asarray(xi, dtype=np.float64) if not isinstance(xi, np.ndarray) else xi.astype(np.float64)
    if raw.ndim > 1 or (raw.ndim == 1 and raw.size not in (1, batch)):
        raise ValueError(f"xi must be a number or an array of 1 or batch={batch} sizes, got shape {raw.shape}")
    if not np.all(np.isfinite(raw)) or np.any(raw < 0):
        raise ValueError(f"xi must hold finite sizes in [0, inf), got {raw}")
    return np.broadcast_to(raw, (batch,)).copy()


class PerturbedGDLoop(GDLoop):
    r"""GD loop with an injected perturbation :math:`\Xi_t` of the gradient matrix (see :func:`perturbed_gd_asymmetric`).

    Parameters
    ----------
    problem, factors, eta, steps, form, divergence_factor
        As for :class:`GDLoop` (asymmetric factors ``(F, G)`` only).
    perturbation : {"random", "fresh", "adversarial"}
        Kind of :math:`\Xi_t`.
    xi : numpy.ndarray, shape (B,)
        Its spectral norm per run.
    rng : numpy.random.Generator
        Source of the random directions.
    direction : numpy.ndarray, shape (B, n1, n2), optional
        ``"random"`` only: the directions to scale to norm ``xi`` instead of drawing them.
    """

    def __init__(self, problem: SensingProblem, factors: Sequence[npt.NDArray[np.floating]],
                 eta: npt.ArrayLike, *, perturbation: str, xi: npt.NDArray[np.float64],
                 rng: np.random.Generator, direction: npt.NDArray[np.float64] | None = None,
                 steps: int = 1000, form: str = "auto", divergence_factor: float = 1e6) -> None:
        super().__init__(problem, factors, eta, steps=steps, form=form, divergence_factor=divergence_factor)
        if self.symmetric:
            raise ValueError("PerturbedGDLoop needs asymmetric factors (F, G)")
        self.kind, self.xi, self.rng = perturbation, xi, rng
        B = factors[0].shape[0]
        if perturbation != "random":
            self._fixed = None
        elif direction is not None:
            self._fixed = (direction * (xi / _spectral_norms(direction))[:, None, None]).astype(problem.dtype)
        else:
            self._fixed = random_perturbation(B, problem.n1, problem.n2, xi, rng=rng).astype(problem.dtype)
        self._active = xi > 0

    def perturbation(self, S: np.ndarray) -> np.ndarray:
        r""":math:`\Xi_t` for the gradient matrices ``S`` ``(B, n1, n2)`` of the current step."""
        if self._fixed is not None:
            return self._fixed
        B, n1, n2 = S.shape
        if self.kind == "fresh":
            return random_perturbation(B, n1, n2, self.xi, rng=self.rng).astype(S.dtype)
        out = np.zeros(S.shape, dtype=S.dtype)
        rows = self._active & (self.diverged_at < 0) & np.isfinite(S).all(axis=(1, 2))
        if rows.any():
            out[rows] = adversarial_perturbation(S[rows], self.xi[rows])
        return out

    def update(self) -> None:
        """One perturbed step: :math:`F \\leftarrow F - \\eta(S + \\Xi)G`, :math:`G \\leftarrow G - \\eta(S + \\Xi)^\\top F`."""
        s = self.engine.gradient(self.xv)
        op = self.problem.operator
        S = op.unvec(s) if self._unvec_is_view else op.unvec(s, out=self.S)
        P = S + self.perturbation(S)
        (F, G), (gF, gG) = self.factors, self._grad
        np.matmul(P, G, out=gF)
        np.matmul(np.swapaxes(P, 1, 2), F, out=gG)
        self._descend()


def perturbed_gd_asymmetric(problem: SensingProblem, F0: npt.ArrayLike, G0: npt.ArrayLike,
                            eta: npt.ArrayLike, steps: int, *, perturbation: str, xi: npt.ArrayLike,
                            rng: RNGLike, direction: npt.ArrayLike | None = None,
                            record: str | int | npt.ArrayLike = "log",
                            metrics: Sequence[str] | Mapping[str, Callable] = ("loss", "relative_error"),
                            form: str = "auto", divergence_factor: float = 1e6,
                            on_divergence: OnDivergence = "warn") -> Trajectory:
    r"""Asymmetric GD with an injected perturbation of the gradient, of spectral norm :math:`\xi`.

    .. math::

        F_{t+1} = F_t - \eta\,(S_t + \Xi_t)\,G_t,\qquad G_{t+1} = G_t - \eta\,(S_t + \Xi_t)^\top F_t,
        \qquad S_t = \mathcal{A}^*\bigl(\mathcal{A}(F_tG_t^\top) - y\bigr),\quad \lVert\Xi_t\rVert_2 = \xi.

    The perturbation acts on the gradient *matrix* :math:`S_t` (the residual form): this is how a
    restricted-isometry error :math:`(\mathcal{A}^*\mathcal{A} - I)(F_tG_t^\top - M^\star)` and
    measurement noise :math:`-\mathcal{A}^*(\text{noise})` enter GD, so :math:`\xi` has the units
    of :math:`M^\star`. Kinds (``perturbation``):

    * ``"random"``: one Gaussian direction per run, drawn once from ``rng`` and kept for the whole
      run (:func:`random_perturbation`), like a fixed noise realisation;
    * ``"fresh"``: a new Gaussian direction at every step (zero mean over time);
    * ``"adversarial"``: :math:`\Xi_t = -\xi\,U_{S_t}V_{S_t}^\top`, recomputed every step, the
      perturbation of norm :math:`\xi` most opposed to the current gradient
      (:func:`adversarial_perturbation`).

    With ``xi = 0`` the run is :func:`~matsense.gd_asymmetric` exactly. The recorded metrics (``loss``,
    ``relative_error``, ...) are those of the unperturbed problem.

    Parameters
    ----------
    problem : SensingProblem
        Problem with a general (non-symmetric) operator (or the identity).
    F0, G0 : array_like, shapes (n1, k) / (n2, k) or (B, n1, k) / (B, n2, k)
        Initial factors.
    eta : float or array_like, shape (B,)
        Step size(s), > 0.
    steps : int
        Number of steps, >= 0.
    perturbation : {"random", "fresh", "adversarial"}
        Kind of perturbation.
    xi : float or array_like, shape (B,)
        Spectral norm of :math:`\Xi_t` per run, >= 0.
    rng : numpy.random.Generator or int
        Source of the random directions (required, also for ``"adversarial"``, for one signature).
    direction : array_like, shape (n1, n2) or (B, n1, n2), optional
        ``"random"`` only: fixed directions :math:`Z_b` (nonzero) used instead of Gaussian draws,
        scaled to :math:`\Xi_b = \xi_b Z_b/\lVert Z_b\rVert_2`; e.g. the same direction for every
        :math:`\xi` of a sweep, or :math:`-\mathcal{A}^*(\text{noise})` (then the run is GD on the
        noisy measurements).
    record, metrics, form, divergence_factor, on_divergence
        As for :func:`~matsense.gd_symmetric`: a run whose factors become non-finite or blow up is frozen and
        reported in :attr:`~matsense.Trajectory.diverged_at` (NaN metrics afterwards, a
        :class:`DivergenceWarning`, or :class:`DivergenceError` with ``on_divergence="raise"``).

    Returns
    -------
    Trajectory
        With ``params["perturbation"]`` and ``params["xi"]``.

    Raises
    ------
    TypeError, ValueError
        Naming the parameter: unknown ``perturbation``, negative or non-finite ``xi``, ``xi`` of the
        wrong length, and every error of :func:`~matsense.gd_asymmetric`.
    """
    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    if problem.operator.symmetric:
        raise ValueError(f"perturbed_gd_asymmetric needs an operator with general (non-symmetric) A_i, got "
                         f"problem.operator = {problem.operator!r}")
    if perturbation not in PERTURBATIONS:
        raise ValueError(f"perturbation must be one of {PERTURBATIONS}, got {perturbation!r}")
    F = _batch_factor("F0", F0, problem.n1, problem.dtype)
    G = _batch_factor("G0", G0, problem.n2, problem.dtype)
    if F.shape[0] != G.shape[0] or F.shape[2] != G.shape[2]:
        raise ValueError(f"F0 and G0 must have the same batch size and k, got {F.shape} and {G.shape}")
    B = F.shape[0]
    sizes = _perturbation_sizes(xi, B)
    gen = as_generator(rng)
    dirs = None
    if direction is not None:
        if perturbation != "random":
            raise ValueError(f"direction is only used by perturbation='random', got perturbation={perturbation!r}")
        dirs = check_array("direction", direction, ndim=(2, 3), shape=(problem.n1, problem.n2)).astype(np.float64)
        dirs = np.broadcast_to(dirs if dirs.ndim == 3 else dirs[None], (B, problem.n1, problem.n2))
        if dirs.shape[0] != B:
            raise ValueError(f"direction must hold 1 or B={B} matrices, got shape {np.shape(direction)}")
        if np.any(_spectral_norms(dirs) == 0):
            raise ValueError("direction must not contain a zero matrix (it is scaled to spectral norm xi)")
    steps = check_int("steps", steps, low=0)
    etas = np.broadcast_to(check_positive_array("eta", eta, size=B), (B,)).copy()
    divergence_factor = check_positive_float("divergence_factor", divergence_factor)
    if divergence_factor <= 1:
        raise ValueError(f"divergence_factor must be in (1, inf), got {divergence_factor:g}")
    if on_divergence not in ("warn", "raise", "ignore"):
        raise ValueError(f"on_divergence must be 'warn', 'raise' or 'ignore', got {on_divergence!r}")
    recorders = resolve_recorders(metrics)
    _check_recording(problem, (F, G), record, steps, recorders)
    schedule = make_schedule(record, steps)
    loop = PerturbedGDLoop(problem, (F, G), etas, perturbation=perturbation, xi=sizes, rng=gen,
                           direction=dirs, steps=steps, form=form, divergence_factor=divergence_factor)
    rows = loop.run(schedule, recorders)
    traj = Trajectory(iterations=schedule, metrics={name: np.stack(v) for name, v in rows.items()},
                      factors=tuple(f.copy() for f in loop.factors), eta=etas,
                      diverged_at=loop.diverged_at, symmetric=False, form=loop.engine.form, steps=steps,
                      params={"n1": problem.n1, "n2": problem.n2, "m": problem.m, "k": F.shape[2],
                              "dtype": problem.dtype.name, "divergence_factor": divergence_factor,
                              "perturbation": perturbation, "xi": sizes})
    if traj.diverged.any() and on_divergence != "ignore":
        msg = (f"{int(traj.diverged.sum())} of {B} perturbed runs diverged ({traj.stopping_reason}); "
               "their metrics are NaN after divergence")
        if on_divergence == "raise":
            raise DivergenceError(msg, traj)
        warnings.warn(msg, DivergenceWarning, stacklevel=2)
    return traj




# ----------------------------------------------------------------------------------------------
# Clean pages (issue 13, helper B1): the book's runner turns every progress bar off

#: Environment variable; set to anything but ``""`` or ``"0"`` (the book's runner sets it in every
#: notebook kernel), no progress bar is shown, whatever a function's ``progress`` argument says.
ENV_NO_PROGRESS = "MATSENSE_NO_PROGRESS"


def progress_disabled() -> bool:
    """True when :data:`ENV_NO_PROGRESS` turns progress bars off."""
    import os

    return os.environ.get(ENV_NO_PROGRESS, "") not in ("", "0")




# --- Wind: changing measurements ---------------------------------------------------------------
# (book/wind/changing_measurements: GD on a measurement batch that changes at every step)

from ._validation import check_nonnegative_float  # noqa: E402

#: Sources of the per-step measurement batch of :func:`online_gd_asymmetric`.
ONLINE_SOURCES = ("fresh", "resample")
#: Samplers of a fresh Gaussian batch (:func:`fresh_batch_gradient`).
FRESH_SAMPLERS = ("projected", "rows")
#: Rows of a fresh Gaussian batch drawn at once by the ``rows`` sampler (bounds its scratch memory).
_FRESH_CHUNK_BYTES = 8 * 1024**2


def fresh_batch_gradient(E: npt.ArrayLike, batch_size: int, *, rng: RNGLike, noise_std: float = 0.0,
                         sampler: str = "projected") -> npt.NDArray[np.float64]:
    r"""Gradient in :math:`X` of the loss on a fresh Gaussian batch: :math:`s = \mathcal{A}_t^*(\mathcal{A}_t(X) - y_t)`, one independent batch per run.

    For each run ``j`` a new batch of ``b`` measurements :math:`y_i = \langle A_i, M^\star\rangle + \xi_i`
    is drawn, :math:`A_i` with i.i.d. :math:`N(0, 1)` entries and :math:`\xi_i\sim N(0, s^2)`, and
    normalised as in the book, :math:`\mathcal{A}_t(X) = b^{-1/2}(\langle A_i, X\rangle)_i`, so that
    with the error :math:`e = \operatorname{vec}(X - M^\star)`

    .. math::

        s = \frac1b\sum_{i=1}^b a_i\bigl(a_i^\top e - \xi_i\bigr),\qquad
        \mathbb{E}\,s = e,\qquad
        \mathbb{E}\lVert s\rVert^2 = \Bigl(1 + \frac{N + 1}{b}\Bigr)\lVert e\rVert^2 + \frac{N}{b}s^2

    (:math:`a_i = \operatorname{vec}(A_i)`, :math:`N = n_1n_2`): the batch operator is isotropic in
    expectation, and its gradient fluctuates around the population gradient :math:`e` by a relative
    :math:`\sqrt{(N + 1)/b}`.

    Samplers (the same law; the random numbers differ):

    ``rows``
        draws the ``b`` rows :math:`a_i` (in chunks of at most 8 MiB), the literal definition:
        :math:`bN` normal numbers per run.
    ``projected`` (default)
        draws only what the run sees. Write :math:`e = \lVert e\rVert q` with a unit vector
        :math:`q`. Then :math:`z_i = a_i^\top q` are i.i.d. :math:`N(0, 1)` and the components of the
        :math:`a_i` orthogonal to :math:`q` are independent of them, so that, with the batch residual
        :math:`\rho_i = b^{-1/2}(\lVert e\rVert z_i - \xi_i)`,

        .. math::

            s = b^{-1/2}\Bigl(q\,(z^\top\rho) + (I - qq^\top)\,g\,\lVert\rho\rVert\Bigr),\qquad
            g\sim N(0, I_N),

        exactly in distribution: :math:`b + N` normal numbers per run (plus ``b`` for the noise),
        whatever the batch size.

    Parameters
    ----------
    E : array_like, shape (B, N)
        Vectorised errors :math:`X_j - M^\star`, one row per run.
    batch_size : int
        Measurements per batch ``b``, >= 1.
    rng : numpy.random.Generator or int
    noise_std : float
        :math:`s`, >= 0.
    sampler : {"projected", "rows"}

    Returns
    -------
    numpy.ndarray, shape (B, N), float64
    """
    E = check_array("E", E, ndim=2).astype(np.float64, copy=False)
    b = check_int("batch_size", batch_size, low=1)
    noise = check_nonnegative_float("noise_std", noise_std)
    if sampler not in FRESH_SAMPLERS:
        raise ValueError(f"sampler must be one of {FRESH_SAMPLERS}, got {sampler!r}")
    gen = as_generator(rng)
    B, N = E.shape
    if sampler == "rows":
        out = np.zeros((B, N))
        chunk = max(1, _FRESH_CHUNK_BYTES // (8 * N))
        for j in range(B):
            for start in range(0, b, chunk):
                rows = gen.standard_normal((min(chunk, b - start), N))
                resid = rows @ E[j]
                if noise > 0:
                    resid -= noise * gen.standard_normal(rows.shape[0])
                out[j] += resid @ rows
        return out / b
    norms = np.sqrt(np.einsum("bi,bi->b", E, E))
    q = np.divide(E, norms[:, None], out=np.zeros_like(E), where=norms[:, None] > 0)
    q[norms == 0, 0] = 1.0  # any unit vector: the error is zero
    z = gen.standard_normal((B, b))
    rho = z * norms[:, None]
    if noise > 0:
        rho -= noise * gen.standard_normal((B, b))
    rho /= np.sqrt(b)
    g = gen.standard_normal((B, N))
    g -= q * np.einsum("bi,bi->b", q, g)[:, None]
    s = q * np.einsum("bi,bi->b", z, rho)[:, None] + g * np.sqrt(np.einsum("bi,bi->b", rho, rho))[:, None]
    return s / np.sqrt(b)


class _OnlineLoop(GDLoop):
    """:class:`GDLoop` whose step uses a new measurement batch (see :func:`online_gd_asymmetric`)."""

    def __init__(self, problem: SensingProblem, factors: Sequence[np.ndarray], eta: np.ndarray, *,
                 steps: int, divergence_factor: float, batch_size: int, source: str,
                 gen: np.random.Generator, noise_std: float, sampler: str) -> None:
        form = "identity" if isinstance(problem.operator, IdentityOperator) else "dense"
        super().__init__(problem, factors, eta, steps=steps, form=form,
                         divergence_factor=divergence_factor)
        self.batch_size, self.source, self.gen = batch_size, source, gen
        self.noise_std, self.sampler = noise_std, sampler
        self._m_star = problem.M_star.astype(np.float64).ravel()

    def _batch_gradient(self) -> np.ndarray:
        B = self.X.shape[0]
        x = self.X.reshape(B, -1)
        if self.source == "fresh":
            return fresh_batch_gradient(x - self._m_star, self.batch_size, rng=self.gen,
                                        noise_std=self.noise_std, sampler=self.sampler)
        # b distinct rows of the fixed set per run, rescaled by m / b: E[A_t* A_t] = A* A
        op, b = self.problem.operator, self.batch_size
        design, y = op.matrix, self.engine.y
        picks = [np.sort(self.gen.choice(op.m, size=b, replace=False)) for _ in range(B)]
        if 2 * b > op.m:  # most rows: the full residual, masked (the cost of one GD step)
            weights = np.zeros((B, op.m), dtype=design.dtype)
            for j, idx in enumerate(picks):
                weights[j, idx] = op.m / b
            return (self.engine.residual(self.xv) * weights) @ design
        s = np.empty((B, op.vec_size))
        for j, idx in enumerate(picks):  # few rows: gather them
            rows = design[idx]
            s[j] = (rows @ self.xv[j] - y[idx]) @ rows
        return s * (op.m / b)

    def update(self) -> None:
        """One step on a new batch: :math:`F \\leftarrow F - \\eta S_tG`, :math:`G \\leftarrow G - \\eta S_t^\\top F`."""
        B = self.X.shape[0]
        S = self._batch_gradient().astype(self.X.dtype, copy=False).reshape(B, self.problem.n1, self.problem.n2)
        (F, G), (gF, gG) = self.factors, self._grad
        np.matmul(S, G, out=gF)
        np.matmul(np.swapaxes(S, 1, 2), F, out=gG)
        self._descend()


def online_gd_asymmetric(problem: SensingProblem, F0: npt.ArrayLike, G0: npt.ArrayLike, eta: npt.ArrayLike,
                         steps: int, *, batch_size: int, rng: RNGLike, source: str = "fresh",
                         noise_std: float | None = None, sampler: str = "projected",
                         record: str | int | npt.ArrayLike = "log",
                         metrics: Sequence[str] | Mapping[str, Callable] = ("loss", "relative_error", "spectrum"),
                         divergence_factor: float = 1e6, on_divergence: OnDivergence = "warn",
                         threads: int | None = None, progress: bool = False) -> Trajectory:
    r"""GD on :math:`FG^\top` where every step sees a new batch of ``b`` measurements (online or mini-batch SGD).

    Step :math:`t` takes the gradient of :math:`\tfrac12\lVert\mathcal{A}_t(FG^\top) - y_t\rVert^2`:

    .. math::

        F_{t+1} = F_t - \eta S_tG_t,\quad G_{t+1} = G_t - \eta S_t^\top F_t,\quad
        S_t = \mathcal{A}_t^*\bigl(\mathcal{A}_t(F_tG_t^\top) - y_t\bigr),

    with the batch operator :math:`\mathcal{A}_t` from ``source``:

    ``"fresh"`` (changing measurement matrices)
        ``b`` new Gaussian measurements of :math:`M^\star` at every step, independent of the past
        and across runs, :math:`y_{t,i} = \langle A_{t,i}, M^\star\rangle + \xi_{t,i}`,
        :math:`\xi_{t,i}\sim N(0, s^2)`, normalised by :math:`1/\sqrt b`
        (:func:`fresh_batch_gradient`; ``sampler`` chooses how the batch is drawn). The problem's
        own measurements are not used by the steps.
    ``"resample"`` (mini-batch SGD on a fixed finite data set)
        ``b`` distinct rows of the problem's ``m`` measurements (with their noise), drawn anew at
        every step (without replacement within a step), rescaled by :math:`\sqrt{m/b}` so that
        :math:`\mathbb{E}\,\mathcal{A}_t^*\mathcal{A}_t = \mathcal{A}^*\mathcal{A}`; with
        ``b = m`` every step is a step of :func:`~matsense.gd_asymmetric` on the problem.

    Recorded ``loss`` and the divergence check use the problem's own measurements
    (``problem.y``): for ``"fresh"`` a held-out set. A run whose factors blow up (beyond
    ``divergence_factor``, as in :func:`~matsense.gd_asymmetric`) is frozen and reported, never returned as NaN
    silently.

    Parameters
    ----------
    problem : SensingProblem
        Asymmetric problem (``"resample"`` needs a Gaussian design, with its ``m`` rows).
    F0, G0 : array_like, shapes (B, n1, k) and (B, n2, k) (or without the batch axis)
        Initial factors, one pair per run.
    eta : float or array_like, shape (B,)
        Step size(s), > 0.
    steps : int
        Number of steps, >= 0.
    batch_size : int
        Measurements per step ``b``: >= 1 (``"fresh"``), in ``[1, m]`` (``"resample"``).
    rng : numpy.random.Generator or int
        Source of the batches.
    source : {"fresh", "resample"}
    noise_std : float, optional
        :math:`s` of the fresh measurements (default ``problem.noise_std``); only with ``"fresh"``
        (a resampled batch carries the noise of ``problem.y``).
    sampler : {"projected", "rows"}
        How a fresh batch is drawn (:func:`fresh_batch_gradient`).
    record, metrics, divergence_factor, on_divergence, threads, progress
        As in :func:`~matsense.gd_asymmetric`.

    Returns
    -------
    Trajectory
        ``params`` holds ``batch_size``, ``source``, ``sampler`` and ``noise_std``.
    """
    if not isinstance(problem, SensingProblem):
        raise ArgumentTypeError(f"problem must be a SensingProblem, got {type(problem).__name__}")
    if problem.operator.symmetric:
        raise ValueError(f"online_gd_asymmetric needs an operator with general (non-symmetric) A_i, got "
                         f"problem.operator = {problem.operator!r}")
    if source not in ONLINE_SOURCES:
        raise ValueError(f"source must be one of {ONLINE_SOURCES}, got {source!r}")
    if sampler not in FRESH_SAMPLERS:
        raise ValueError(f"sampler must be one of {FRESH_SAMPLERS}, got {sampler!r}")
    if source == "fresh":
        b = check_int("batch_size", batch_size, low=1)
        noise = problem.noise_std if noise_std is None else check_nonnegative_float("noise_std", noise_std)
    else:
        if problem.operator.matrix is None:
            raise ValueError("source='resample' needs a problem with a design matrix (m measurement rows), "
                             f"got problem.operator = {problem.operator!r}")
        b = check_int("batch_size", batch_size, low=1, high=problem.m)
        if noise_std is not None:
            raise ValueError("noise_std applies to source='fresh' only: a resampled batch carries the noise "
                             "of problem.y (build the problem with noise_std)")
        noise = problem.noise_std
    gen = as_generator(rng)
    F = _batch_factor("F0", F0, problem.n1, problem.dtype)
    G = _batch_factor("G0", G0, problem.n2, problem.dtype)
    if F.shape[0] != G.shape[0] or F.shape[2] != G.shape[2]:
        raise ValueError(f"F0 and G0 must have the same batch size and k, got {F.shape} and {G.shape}")
    steps = check_int("steps", steps, low=0)
    B = F.shape[0]
    etas = np.broadcast_to(check_positive_array("eta", eta, size=B), (B,)).copy()
    divergence_factor = check_positive_float("divergence_factor", divergence_factor)
    if divergence_factor <= 1:
        raise ValueError(f"divergence_factor must be in (1, inf), got {divergence_factor:g}")
    if on_divergence not in ("warn", "raise", "ignore"):
        raise ValueError(f"on_divergence must be 'warn', 'raise' or 'ignore', got {on_divergence!r}")
    if threads is not None:
        threads = check_int("threads", threads, low=1)
    recorders = resolve_recorders(metrics)
    _check_recording(problem, (F, G), record, steps, recorders)
    schedule = make_schedule(record, steps)
    limits = threadpool_limits(threads) if threads is not None else contextlib.nullcontext()
    with limits:
        loop = _OnlineLoop(problem, (F, G), etas, steps=steps, divergence_factor=divergence_factor,
                           batch_size=b, source=source, gen=gen, noise_std=noise, sampler=sampler)
        rows = loop.run(schedule, recorders, progress)
    traj = Trajectory(
        iterations=schedule,
        metrics={name: np.stack(vals) for name, vals in rows.items()},
        factors=tuple(f.copy() for f in loop.factors),
        eta=etas, diverged_at=loop.diverged_at, symmetric=False, form=loop.engine.form, steps=steps,
        params={"n1": problem.n1, "n2": problem.n2, "m": problem.m, "k": F.shape[2],
                "dtype": problem.dtype.name, "divergence_factor": divergence_factor,
                "batch_size": b, "source": source, "sampler": sampler, "noise_std": noise},
    )
    if traj.diverged.any() and on_divergence != "ignore":
        msg = (f"{int(traj.diverged.sum())} of {B} runs diverged ({traj.stopping_reason}; {source} batches "
               f"of b = {b}); their metrics are NaN after divergence")
        if on_divergence == "raise":
            raise DivergenceError(msg, traj)
        warnings.warn(msg, DivergenceWarning, stacklevel=2)
    return traj


