r"""The studies of the Wind (2023; v2 2025) chapter: asymmetric sensing from small random initialisation.

One problem per setup (:func:`problem`): :math:`M^\star = U\operatorname{diag}(\sigma)V^\top`
(:math:`n_1\times n_2`, Haar :math:`U, V`, :math:`\sigma` = ``setup.sigma_for(kappa)`` =
``linspace(1, 1/kappa, r)``) drawn first from ``numpy.random.default_rng(setup.seed)``, then ``m``
general Gaussian measurements :math:`\mathcal{A}(X)_i = \langle A_i, X\rangle/\sqrt m`, then the noise: raw measurements
:math:`\langle A_i, M^\star\rangle + \xi_i`, :math:`\xi_i\sim N(0, s^2)`, i.e.
:math:`y = \mathcal{A}(M^\star) + \xi/\sqrt m` in the operator's normalisation
(:func:`matsense.make_sensing_problem`, ``noise_std = s``). The same seed gives the same
:math:`M^\star` for every ``m`` and noise level, and the same noise direction for every level.

:func:`run` runs GD on :math:`\tfrac12\lVert\mathcal{A}(FG^\top) - y\rVert^2` over ``alphas x seeds``
in one batch (run ``b = i * n_seeds + j`` has ``alphas[i]`` and direction ``j``), from
:math:`F_0 = \alpha\bar F^{(j)}`, :math:`G_0 = \alpha\bar G^{(j)}` (:func:`initial_factors`), and
records on :func:`schedule` the metrics :data:`METRICS`:

* ``relative_error``: :math:`\lVert F_tG_t^\top - M^\star\rVert_F/\lVert M^\star\rVert_F`;
* ``spectral_error``: :math:`\lVert F_tG_t^\top - M^\star\rVert_2` (the norm of v2's Theorem 2.8);
* ``loss``: :math:`\tfrac12\lVert\mathcal{A}(F_tG_t^\top) - y\rVert^2`;
* ``stacked_norm``: :math:`\lVert[F_t; G_t]\rVert_2` (v2's scale :math:`a_0` at :math:`t = 0`);
* ``imbalance_norm``: :math:`\lVert F_t^\top F_t - G_t^\top G_t\rVert_2`.

v2's initialisation scale is :math:`a_0 = \lVert[F_0; G_0]\rVert_2` (:func:`a0`), measured per run
and stored in ``trajectory.params["a0"]``; every theory formula takes it, never our :math:`\alpha`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt

from ..dynamics import Trajectory, gd_asymmetric, small_random_init_asymmetric
from ..metrics import State, every, log_schedule
from ..operators import gaussian_operator
from ..problems import SensingProblem, low_rank_matrix, make_sensing_problem
from ..setups import WindSetup
from ..sweepcache import disk_cached
from ..theory import check_step_size

__all__ = ["problem", "schedule", "direction_rng", "initial_factors", "a0", "run", "spectral_error",
           "stacked_norm", "imbalance_spectral", "METRICS", "TARGET", "THEOREM_C2", "CONV_METRICS",
           "FLOW_DT", "FLOW_RTOL", "FLOW_ATOL", "m_rip", "escape_spectrum", "conv_run",
           "reach_iterations", "errors_at_K", "decade_slopes", "per_decade", "error_exponents",
           "error_exponent", "exponent_prediction", "exponent_mechanism", "flow_end_time",
           "flow_times", "flow_run", "gd_flow_gaps", "gap_slope", "SUCCESS_LEVEL", "FAILURE_LEVEL",
           "FIT_FRACTION", "NOISE_METRICS", "NOISE_STRIDE", "truth", "spurious_norm",
           "perturbation_study", "first_crossing", "breakdown_points", "predicted_breakdowns",
           "linear_slopes", "linear_slope", "breakdown_ratio", "budget_constants",
           "robustness_summary", "rip_m", "rip_errors", "rip_sweep", "rip_success", "rip_failure",
           "noise_m", "noise_direction", "noise_study", "minimax_ratios", "noise_summary",
           "best_vs_minimax", "noise_bound_ratios", "noise_breakdown", "RECOVERY_LEVEL",
           "MISALIGNMENT_DIRECTIONS", "FLOW_POINTS", "FLOW_LARGE_END", "ESCAPE_FRACTION",
           "RIP_SAMPLES", "nuclear_norm", "motivation_alphas", "bias_run", "final_summary",
           "bias_summary", "recovery_error", "nuclear_ratio", "misalignment", "init_misalignment",
           "misalignment_claim", "rip_estimate", "conditions", "flow_start", "flow_horizon",
           "flow_study", "crossing_times", "escape_times", "escape_slope", "imbalance_drift",
           "ALIGN_RATIO", "flow_phases", "threshold_run", "scale_at_level", "practical_threshold",
           "LARGE_ALPHAS", "LARGE_STEPS", "convergence_numbers", "large_alphas_setup",
           "large_steps_setup", "discretisation_numbers", "FRESH_SWEEP", "RESAMPLE_SWEEP",
           "BOUNDED_ALPHAS", "NORM_BOUND", "ONLINE_METRICS", "recovery_steps", "recovery_schedule",
           "recovery_run", "batch_size", "online_run", "final_errors", "fresh_vs_fixed",
           "batch_sweep", "norm_bound", "imbalance_bound", "large_init_runs", "changing_summary",
           "bounded_summary"]


def _check_setup(setup: object) -> WindSetup:
    if not isinstance(setup, WindSetup):
        raise TypeError(f"setup must be a WindSetup (matsense.setups.wind_setup()), got {type(setup).__name__}")
    return setup


def problem(setup: WindSetup, *, m: int | None = None, kappa: float | None = None,
            noise: float = 0.0) -> SensingProblem:
    r"""The sensing problem of ``setup``: :math:`M^\star`, ``m`` Gaussian measurements, noise ``noise``.

    ``m`` defaults to ``setup.m``, ``kappa`` to ``setup.kappa`` (spectrum ``linspace(1, 1/kappa, r)``),
    ``noise`` is the standard deviation :math:`s` of :math:`\xi_i` (>= 0). Drawn from
    ``default_rng(setup.seed)`` in the order :math:`M^\star`, operator, noise.
    """
    setup = _check_setup(setup)
    m = setup.m if m is None else int(m)
    if m < 1:
        raise ValueError(f"m={m!r} must be a number of measurements >= 1")
    kappa = setup.kappa if kappa is None else float(kappa)
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise={noise!r} must be a standard deviation >= 0")
    gen = np.random.default_rng(setup.seed)
    M = low_rank_matrix(setup.n1, setup.n2, setup.sigma_for(kappa), rng=gen)
    op = gaussian_operator(setup.n1, setup.n2, m, rng=gen)
    return make_sensing_problem(M, op, noise_std=float(noise), rng=gen)


def schedule(steps: int) -> np.ndarray:
    """Recorded iterations of a run of ``steps`` steps: ~60 log-spaced ones plus every ``max(1, steps // 60)``.

    Sparser than the Xiong chapter's: recording an iteration costs two to three GD steps (the
    residual and the spectral norms of every run), so about 100 records keep it a small part of a run.
    """
    return np.union1d(log_schedule(steps, 60), every(steps, max(1, steps // 60)))


def direction_rng(seed: int, j: int) -> np.random.Generator:
    r"""Generator of initial direction ``j``: ``numpy.random.default_rng((seed, j, 1))``.

    Not ``default_rng((seed, j))``: numpy drops trailing zero words of a seed, so
    ``default_rng((seed, 0))`` is the stream ``default_rng(seed)`` that drew :math:`M^\star`, and
    direction 0 would start from the very Gaussian numbers that made :math:`M^\star`'s singular
    vectors (aligned with them when :math:`h = r`).
    """
    return np.random.default_rng((int(seed), int(j), 1))


def initial_factors(setup: WindSetup, alphas: Sequence[float] | float | None = None, *,
                    h: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Initial factors ``(F0, G0)`` of the batch ``alphas x seeds``, shapes ``(B, n1, h)``, ``(B, n2, h)``.

    Direction ``j`` is drawn from :func:`direction_rng` ``(setup.seed, j)`` (entries of
    :math:`\bar F` :math:`N(0, 1/n_1)`, of :math:`\bar G` :math:`N(0, 1/n_2)`) and scaled by
    :math:`\alpha`, the same direction for every :math:`\alpha`; run ``b = i * n_seeds + j``.
    ``alphas`` defaults to ``setup.alphas``, ``h`` to ``setup.h``.
    """
    setup = _check_setup(setup)
    a = np.atleast_1d(np.asarray(setup.alphas if alphas is None else alphas, dtype=np.float64))
    if a.ndim != 1 or a.size == 0 or np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"alphas={alphas!r} must be positive scales")
    h = setup.h if h is None else int(h)
    if h < 1:
        raise ValueError(f"h={h!r} must be a width >= 1")
    pairs = [small_random_init_asymmetric(setup.n1, setup.n2, h, 1.0, rng=direction_rng(setup.seed, j))
             for j in setup.seeds]
    F0 = np.stack([x * F[0] for x in a for F, _ in pairs])
    G0 = np.stack([x * G[0] for x in a for _, G in pairs])
    return F0, G0


def a0(F0: npt.ArrayLike, G0: npt.ArrayLike) -> np.ndarray | float:
    r"""v2's initial scale :math:`a_0 = \lVert[F_0; G_0]\rVert_2`, the spectral norm of the stacked factors.

    ``F0`` ``(n1, h)`` and ``G0`` ``(n2, h)`` give a float; batches ``(B, n1, h)``, ``(B, n2, h)`` give ``(B,)``.
    (v2 writes :math:`\lVert[D_0; C_0^\top]\rVert` with :math:`D = F`, :math:`C = G^\top`.)
    """
    F = np.asarray(F0, dtype=np.float64)
    G = np.asarray(G0, dtype=np.float64)
    if F.ndim not in (2, 3) or F.ndim != G.ndim or F.shape[:-2] != G.shape[:-2] or F.shape[-1] != G.shape[-1]:
        raise ValueError(f"F0 and G0 must be (n1, h) and (n2, h), or batches (B, n1, h) and (B, n2, h), "
                         f"got {F.shape} and {G.shape}")
    out = np.linalg.norm(np.concatenate([F, G], axis=-2), ord=2, axis=(-2, -1))
    return float(out) if F.ndim == 2 else out


def spectral_error(state: State) -> np.ndarray:
    r"""Recorder: :math:`\lVert X_t - M^\star\rVert_2` per run."""
    return np.linalg.norm(state.X - state.M_star[None], ord=2, axis=(1, 2))


def stacked_norm(state: State) -> np.ndarray:
    r"""Recorder: :math:`\lVert[F_t; G_t]\rVert_2` per run."""
    F, G = state.factors
    return np.linalg.norm(np.concatenate([F, G], axis=1), ord=2, axis=(1, 2))


def imbalance_spectral(state: State) -> np.ndarray:
    r"""Recorder: :math:`\lVert F_t^\top F_t - G_t^\top G_t\rVert_2` per run."""
    F, G = state.factors
    D = np.swapaxes(F, 1, 2) @ F - np.swapaxes(G, 1, 2) @ G
    return np.abs(np.linalg.eigvalsh(D)).max(axis=1)


#: Recorders of :func:`run` (name -> f(State); None is the built-in recorder of that name).
METRICS = {"relative_error": None, "spectral_error": spectral_error, "loss": None,
           "stacked_norm": stacked_norm, "imbalance_norm": imbalance_spectral}


@disk_cached()
def run(setup: WindSetup, *, h: int | None = None, alphas: Sequence[float] | None = None, m: int | None = None,
        kappa: float | None = None, noise: float = 0.0, steps: int | None = None,
        on_divergence: str = "raise", progress: bool = False) -> Trajectory:
    r"""GD on :math:`(F, G)` over ``alphas x seeds`` of ``setup`` (one batch); see the module docstring.

    Defaults: ``h = setup.h``, ``alphas = setup.alphas``, ``m = setup.m``, ``kappa = setup.kappa``,
    ``steps = setup.steps``, step ``setup.eta``. Records :data:`METRICS` on :func:`schedule`; the
    measured :math:`a_0` of each run is ``trajectory.params["a0"]`` (``(B,)``), the alphas
    ``params["alphas"]``. ``on_divergence`` as in :func:`matsense.gd_asymmetric` (default: raise).
    """
    setup = _check_setup(setup)
    prob = problem(setup, m=m, kappa=kappa, noise=noise)
    check_step_size(setup.eta, float(prob.singular_values[0]))
    n_steps = setup.steps if steps is None else int(steps)
    a = tuple(setup.alphas if alphas is None else alphas)
    F0, G0 = initial_factors(setup, a, h=h)
    traj = gd_asymmetric(prob, F0, G0, setup.eta, n_steps, record=schedule(n_steps), metrics=METRICS,
                         on_divergence=on_divergence, progress=progress)
    traj.params.update({"a0": a0(F0, G0), "alphas": np.asarray(a, dtype=np.float64), "n_seeds": setup.n_seeds})
    return traj


# --- book/wind/convergence and book/wind/discretisation (W2) ---------------------------------------
# Convergence (Theorem 2.8): GD over ``setup.alphas_conv x seeds`` run to the theorem's step count
# K = ceil(C2 log(sigma_r / a0^2) / (eta sigma_r)) of each run (C2 = 5, our choice), at the chapter's
# m and at rip_factor (n1 + n2) r measurements. Discretisation: GD at each step of
# ``setup.eta_grid`` against the gradient flow from the same start, compared at the same times.
# The cached runs take a setup whose W2 fields are reset (:func:`_w2_core`) and the varying
# quantities as arguments, so that a control that changes one field reuses every run it does not change.

import functools  # noqa: E402
from dataclasses import fields as _fields, replace as _replace  # noqa: E402

from ..analysis import fit_line, power_law_fit, reach_time  # noqa: E402
from ..dynamics import gradient_flow_asymmetric  # noqa: E402
from ..theory import (wind_horizon, wind_iterations_per_decade, wind_spurious_exponent,  # noqa: E402
                      wind_theorem_steps)

#: The target of the iterations-to-target measurements, a relative Frobenius error of 0.1.
TARGET = 0.1
#: :math:`C_2` of Theorem 2.8 (unknown in v2): 5, so that :math:`K\eta` is the horizon of Theorem 4.3.
THEOREM_C2 = 5.0
#: Recorders of the convergence runs (the relative and the spectral error).
CONV_METRICS = {"relative_error": None, "spectral_error": spectral_error}
#: Time step of the recorded gradient flow and of the GD-flow comparison (book/wind/discretisation).
FLOW_DT = 0.1
#: The flow solver tolerances of book/wind/discretisation. The solver error (about 1e-6 of the state)
#: stays far below the smallest GD-flow gap measured there (about 1e-2 of the state).
FLOW_RTOL, FLOW_ATOL = 1e-6, 1e-9
_W2_FIELDS = ("alphas_conv", "rip_factor", "eta_grid")


def _w2_core(setup: WindSetup) -> WindSetup:
    """``setup`` with the W2 fields at their defaults (the cached runs take them as arguments)."""
    defaults = {f.name: f.default for f in _fields(WindSetup) if f.name in _W2_FIELDS}
    return _replace(_check_setup(setup), **defaults)


def m_rip(setup: WindSetup) -> int:
    r"""Measurements of the error-at-:math:`K` study: ``round(rip_factor * (n1 + n2) * r)``."""
    setup = _check_setup(setup)
    return int(round(setup.rip_factor * (setup.n1 + setup.n2) * setup.r))


def escape_spectrum(prob: SensingProblem, q: int) -> np.ndarray:
    r"""The ``q`` largest singular values of :math:`\mathcal{A}^*(y)`: the growth rates near the origin.

    From a small start :math:`F G^\top \approx 0`, the gradient step is
    :math:`F \leftarrow F + \eta\mathcal{A}^*(y)G`, :math:`G \leftarrow G + \eta\mathcal{A}^*(y)^\top F`, which
    multiplies the component along the :math:`i`-th singular pair of :math:`\mathcal{A}^*(y)` by
    :math:`1 + \eta s_i` (the *escape eigenvalues* :math:`s_i`).
    """
    if not isinstance(prob, SensingProblem):
        raise TypeError(f"prob must be a SensingProblem, got {type(prob).__name__}")
    if not (isinstance(q, (int, np.integer)) and 1 <= q <= min(prob.n1, prob.n2)):
        raise ValueError(f"q={q!r} must be an integer in [1, min(n1, n2)]")
    S = prob.operator.adjoint(np.asarray(prob.y, dtype=np.float64))
    return np.linalg.svd(np.asarray(S, dtype=np.float64), compute_uv=False)[:q]


def _iterate(state: State) -> np.ndarray:
    """Recorder: the iterate :math:`F G^\\top` itself, ``(B, n1, n2)``."""
    return state.X.copy()


@functools.lru_cache(maxsize=3)
def _large_problem(core: WindSetup, m: int) -> SensingProblem:
    """:func:`problem` kept in memory (its Gram matrix with it) for the runs above the dimension.

    A claim measures the same ``m_rip`` problem for its main and its control setup: forming the
    design matrix and its normal operator once per draw halves the cost of those runs.
    """
    return problem(core, m=m)


def conv_run(setup: WindSetup, m: int, *, alphas: Sequence[float] | None = None) -> Trajectory:
    r"""GD over ``alphas x seeds`` (default ``setup.alphas_conv``) with ``m`` measurements, to the largest :math:`K`.

    Each run's :math:`K` is :func:`matsense.theory.wind_theorem_steps` of its measured :math:`a_0`
    (``C2 = THEOREM_C2``) and :math:`\sigma_r`; the batch runs ``max K`` steps. Records
    :data:`CONV_METRICS` at every iteration up to ``max K / 3`` when ``m <= 2 n1 n2`` (where the
    target is reached; a record costs about one step), on a 40-point log schedule after it, and
    at each run's :math:`K`; with more measurements (where a record, which streams the design
    matrix, costs several Gram-form steps) only the log schedule and the :math:`K`. ``params``: ``a0``, ``alphas``, ``n_seeds``, ``K``
    (per run), ``escape`` (the ``r + 1`` largest singular values of :math:`\mathcal{A}^*(y)`), ``m``.
    Disk-cached.
    """
    setup = _check_setup(setup)
    if isinstance(m, bool) or not (isinstance(m, (int, np.integer)) and m >= 1):
        raise ValueError(f"m={m!r} must be a number of measurements >= 1")
    a = tuple(float(x) for x in (setup.alphas_conv if alphas is None else alphas))
    if not a or any(not (0 < x < 1) for x in a):
        raise ValueError(f"alphas={alphas!r} must be scales in (0, 1)")
    return _conv_run(_w2_core(setup), int(m), a)


@disk_cached()
def _conv_run(core: WindSetup, m: int, alphas: tuple) -> Trajectory:
    prob = _large_problem(core, m) if m > core.dim else problem(core, m=m)
    check_step_size(core.eta, float(prob.singular_values[0]))
    F0, G0 = initial_factors(core, alphas)
    scales = a0(F0, G0)
    K = wind_theorem_steps(core.eta, core.sigma[-1], scales, c2=THEOREM_C2)
    steps = int(K.max())
    record = np.union1d(log_schedule(steps, 40), K)
    if m <= 2 * core.dim:
        record = np.union1d(record, np.arange(steps // 3 + 1))
    traj = gd_asymmetric(prob, F0, G0, core.eta, steps, record=record, metrics=CONV_METRICS,
                         on_divergence="raise")
    traj.params.update({"a0": scales, "alphas": np.asarray(alphas, dtype=np.float64), "n_seeds": core.n_seeds,
                        "K": K, "escape": escape_spectrum(prob, core.r + 1), "m": m})
    return traj


def _by_direction(values: npt.ArrayLike, traj: Trajectory) -> np.ndarray:
    """``(B,)`` per-run values as ``(n_alphas, n_seeds)``."""
    v = np.asarray(values, dtype=np.float64)
    return v.reshape(len(traj.params["alphas"]), int(traj.params["n_seeds"]))


def reach_iterations(traj: Trajectory, target: float = TARGET) -> np.ndarray:
    r"""Iterations to reach relative error ``target``, ``(n_alphas, n_seeds)`` (log-interpolated; NaN: never).

    Exact to the interpolation only where every iteration around the crossing is recorded
    (:func:`conv_run` records every iteration up to ``max K / 3`` up to ``2 n1 n2`` measurements).
    """
    return _by_direction(reach_time(traj["relative_error"], target, traj.iterations), traj)


def errors_at_K(traj: Trajectory) -> np.ndarray:
    r"""Spectral error :math:`\lVert F_KG_K^\top - M^\star\rVert_2` at each run's own :math:`K`, ``(n_alphas, n_seeds)``."""
    K = np.asarray(traj.params["K"])
    rows = np.searchsorted(traj.iterations, K)
    if np.any(rows >= traj.iterations.size) or np.any(traj.iterations[np.minimum(rows, traj.iterations.size - 1)] != K):
        raise ValueError("the trajectory does not record every run's K (use conv_run)")
    err = traj["spectral_error"][rows, np.arange(K.size)]
    return _by_direction(err, traj)


def _direction_slopes(x: np.ndarray, y: np.ndarray, *, log_y: bool) -> np.ndarray:
    """Least-squares slope of ``y[:, j]`` (or its log) against ``x[:, j]`` for each direction ``j``; NaN if undefined."""
    out = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        yj = y[:, j]
        if not np.all(np.isfinite(yj)) or (log_y and np.any(yj <= 0)):
            continue
        out[j] = fit_line(x[:, j], np.log(yj) if log_y else yj).slope
    return out


def _median_or_nan(values: np.ndarray) -> float:
    """Median, or NaN when any value is NaN (an undefined measurement must not be hidden)."""
    v = np.asarray(values, dtype=np.float64)
    return float(np.median(v)) if np.all(np.isfinite(v)) else float("nan")


def decade_slopes(traj: Trajectory, target: float = TARGET) -> np.ndarray:
    r"""Extra iterations per decade of :math:`1/a_0` to reach ``target``, one least-squares slope per direction."""
    x = np.log10(1.0 / _by_direction(traj.params["a0"], traj))
    return _direction_slopes(x, reach_iterations(traj, target), log_y=False)


def per_decade(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.conv.per-decade``: measured iterations per decade of :math:`1/a_0` against :math:`\ln 10/\ln(1 + \eta s_r)`.

    Measured: median over directions of :func:`decade_slopes` (chapter's ``m``). Predicted:
    :func:`matsense.theory.wind_iterations_per_decade` at the escape eigenvalue
    :math:`s_r = \sigma_r(\mathcal{A}^*(y))` of the same problem.
    """
    traj = conv_run(setup, setup.m)
    predicted = wind_iterations_per_decade(setup.eta, float(traj.params["escape"][setup.r - 1]))
    return _median_or_nan(decade_slopes(traj)), predicted


def error_exponents(traj: Trajectory) -> np.ndarray:
    r"""Exponent :math:`p` of :math:`\lVert F_KG_K^\top - M^\star\rVert_2 \propto a_0^{p}`, one log-log fit per direction."""
    return _direction_slopes(np.log(_by_direction(traj.params["a0"], traj)), errors_at_K(traj), log_y=True)


def error_exponent(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.conv.error-exponent``: the exponent of the error at :math:`K` (``m_rip`` measurements) against 4/3.

    Measured: median over directions of :func:`error_exponents`. Predicted: the :math:`4/3` of
    :math:`a_0^{4/3}\sigma_r^{1/3}` in v2's Theorem 2.8 (a lower bound on the exponent).
    """
    return _median_or_nan(error_exponents(conv_run(setup, m_rip(setup)))), 4.0 / 3.0


def exponent_prediction(traj: Trajectory, eta: float, r: int) -> float:
    r"""Our prediction :math:`2(1 - \rho)` of the exponent (:func:`matsense.theory.wind_spurious_exponent`) on ``traj``'s problem."""
    s = np.asarray(traj.params["escape"])
    return wind_spurious_exponent(eta, float(s[r - 1]), float(s[r]))


def exponent_mechanism(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.conv.exponent-mechanism``: the exponent at ``m_rip`` measurements against :math:`2(1-\rho)`."""
    traj = conv_run(setup, m_rip(setup))
    return _median_or_nan(error_exponents(traj)), exponent_prediction(traj, setup.eta, setup.r)


def flow_end_time(setup: WindSetup) -> float:
    r"""End of the GD-flow comparison: :math:`\log(\sigma_r/a_0^2)/\sigma_r`, a fifth of v2's horizon.

    :math:`a_0` is that of direction 0 at ``setup.alpha``. The flow leaves the origin at about half
    this time, so the window holds the escape and the start of the local convergence.
    """
    F0, G0 = _start(_check_setup(setup))
    return float(wind_horizon(setup.sigma[-1], float(a0(F0[0], G0[0]))) / 5.0)


def _start(setup: WindSetup) -> tuple[np.ndarray, np.ndarray]:
    """Direction 0 at ``setup.alpha``: ``(F0, G0)`` of shapes ``(1, n1, h)``, ``(1, n2, h)``."""
    F0, G0 = initial_factors(setup, (setup.alpha,))
    return F0[:1], G0[:1]


def flow_times(setup: WindSetup) -> np.ndarray:
    """Recorded times of :func:`flow_run`: multiples of :data:`FLOW_DT` up to the first at or after :func:`flow_end_time`."""
    n = int(np.ceil(flow_end_time(setup) / FLOW_DT - 1e-9))
    return FLOW_DT * np.arange(n + 1)


def flow_run(setup: WindSetup):
    r"""The gradient flow from direction 0 at ``setup.alpha`` (chapter's ``m``), recorded at :func:`flow_times`.

    Integrated by :func:`matsense.dynamics.gradient_flow_asymmetric` (RK45, tolerances
    :data:`FLOW_RTOL`, :data:`FLOW_ATOL`);
    records the iterate ``X`` (``(T, 1, n1, n2)``) and ``relative_error``. Disk-cached.
    """
    return _flow_run(_w2_core(setup))


@disk_cached()
def _flow_run(core: WindSetup):
    F0, G0 = _start(core)
    return gradient_flow_asymmetric(problem(core), F0, G0, flow_times(core), rtol=FLOW_RTOL,
                                    atol=FLOW_ATOL, metrics={"X": _iterate, "relative_error": None})


def _strides(eta: float) -> tuple[int, int]:
    r"""``(k_gd, k_flow)``: GD iteration ``k_gd * i`` and flow record ``k_flow * i`` are the same time.

    The common times are the multiples of the least common multiple of ``eta`` and
    :data:`FLOW_DT` (both read as fractions with denominators up to 1000, e.g. 0.25 and 0.1 give 0.5).
    """
    from fractions import Fraction
    from math import gcd

    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"eta={eta!r} must be a step size > 0")
    e, d = Fraction(eta).limit_denominator(1000), Fraction(FLOW_DT).limit_denominator(1000)
    if e == 0 or abs(float(e) - eta) > 1e-12 * eta:
        raise ValueError(f"eta={eta!r} must be a fraction with a denominator up to 1000 (e.g. 0.025)")
    common = Fraction(e.numerator * d.numerator // gcd(e.numerator, d.numerator), gcd(e.denominator, d.denominator))
    return int(common / e), int(common / d)


@disk_cached()
def _gd_flow_gap(core: WindSetup, eta: float) -> dict:
    """GD at step ``eta`` against :func:`flow_run` at the common times; see :func:`gd_flow_gaps`."""
    flow = _flow_run(core)
    prob = problem(core)
    F0, G0 = _start(core)
    k_gd, k_flow = _strides(eta)
    n = (flow.times.size - 1) // k_flow
    traj = gd_asymmetric(prob, F0, G0, eta, n * k_gd, record=k_gd * np.arange(n + 1),
                         metrics={"X": _iterate, "relative_error": None}, on_divergence="ignore")
    diff = (traj["X"][:, 0] - flow["X"][k_flow * np.arange(n + 1), 0]).reshape(n + 1, -1)
    gap = np.linalg.norm(diff, axis=1) / float(np.linalg.norm(prob.M_star))
    diverged = bool(traj.diverged.any()) or not np.all(np.isfinite(gap))
    return {"times": eta * traj.iterations, "gap": gap, "relative_error": traj["relative_error"][:, 0],
            "max_gap": np.inf if diverged else float(gap.max())}


def gd_flow_gaps(setup: WindSetup) -> dict:
    r"""GD at each step of ``setup.eta_grid`` against :func:`flow_run`, compared at the same times :math:`t = \eta T`.

    Returns a dict: ``eta`` ``(E,)``; per step, lists of ``times``, ``gap``
    (:math:`\lVert X^{\rm GD}_{t/\eta} - X^{\rm flow}_t\rVert_F/\lVert M^\star\rVert_F` at the
    multiples of :data:`FLOW_DT` that are iterations of GD) and GD's ``relative_error``; ``max_gap``
    ``(E,)`` (infinite where GD diverged: no perturbation of the flow then); the flow's
    ``flow_times`` and ``flow_error``. Each step's run is disk-cached on its own.
    """
    setup = _check_setup(setup)
    core = _w2_core(setup)
    flow = _flow_run(core)
    runs = [_gd_flow_gap(core, float(eta)) for eta in setup.eta_grid]
    return {"eta": np.asarray(setup.eta_grid, dtype=np.float64), "times": [g["times"] for g in runs],
            "gap": [g["gap"] for g in runs], "relative_error": [g["relative_error"] for g in runs],
            "max_gap": np.asarray([g["max_gap"] for g in runs], dtype=np.float64),
            "flow_times": flow.times, "flow_error": flow["relative_error"][:, 0]}


def gap_slope(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.disc.gap-linear``: log-log slope of the largest GD-flow gap against :math:`\eta` (predicted 1).

    NaN (a failed claim) when GD diverged at a step of the grid.
    """
    gaps = gd_flow_gaps(setup)["max_gap"]
    if not np.all(np.isfinite(gaps)):
        return float("nan"), 1.0
    return power_law_fit(np.asarray(setup.eta_grid, dtype=np.float64), gaps).slope, 1.0




# --- book/wind/robustness and book/wind/noise (W3) -------------------------------------------------
# Robustness: perturbed GD (matsense.dynamics.perturbed_gd_asymmetric) on the full observation of the
# chapter's M* (A = identity: the injected perturbation is then the only one), over
# ``xi_grid x seeds`` in one batch (run b = i * n_seeds + j: size xi_grid[i] * sigma_r, direction j),
# each run read at its own theorem step count K (THEOREM_C2 = 5). RIP error as a perturbation: plain
# GD at m = ratio * (n1 + n2 - r) r measurements. Noise: GD on ``problem(setup, m=m, noise=s)`` for
# every level s, from initial direction 0.

import dataclasses  # noqa: E402
from typing import Callable  # noqa: E402

from ..dynamics import PERTURBATIONS, perturbed_gd_asymmetric  # noqa: E402
from ..problems import factorization_problem  # noqa: E402
from ..theory import (minimax_reference, wind_breakdown_prediction, wind_error_reference,  # noqa: E402
                      wind_perturbation_budget)

#: A recovery run succeeds when its final relative error is below this level.
SUCCESS_LEVEL = 1e-2
#: A recovery run fails when its final relative error is above this level.
FAILURE_LEVEL = 0.1
#: The breakdown point: the perturbation's spurious directions are fitted to this fraction of :math:`\xi`.
FIT_FRACTION = 0.5
#: Recorders of the noise runs.
NOISE_METRICS = {"relative_error": None, "spectral_error": spectral_error}
#: Stride of the recorded iterations of the noise runs (the best error is the minimum over them).
NOISE_STRIDE = 5
_W3_FIELDS = ("xi_grid", "xi_linear", "perturbation", "rip_ratios", "rip_high", "rip_low", "rip_steps",
              "noise_levels", "noise_ratio", "noise_steps")


def _positive_tuple(name: str, values: object, *, increasing: bool = True) -> tuple[float, ...]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"setup.{name}={values!r} must be a non-empty tuple of positive numbers")
    if increasing and np.any(np.diff(v) <= 0):
        raise ValueError(f"setup.{name}={values!r} must be increasing")
    return tuple(float(x) for x in v)


def _check_w3(setup: object) -> WindSetup:
    """The setup, with the fields of book/wind/robustness and book/wind/noise checked."""
    setup = _check_setup(setup)
    _positive_tuple("xi_grid", setup.xi_grid)
    if len(_positive_tuple("xi_linear", setup.xi_linear)) < 2:
        raise ValueError(f"setup.xi_linear={setup.xi_linear!r} needs at least two sizes (a slope)")
    if setup.perturbation not in PERTURBATIONS:
        raise ValueError(f"setup.perturbation={setup.perturbation!r} must be one of {PERTURBATIONS}")
    _positive_tuple("rip_ratios", setup.rip_ratios)
    for name in ("rip_high", "rip_low"):
        _positive_tuple(name, (getattr(setup, name),))
    _positive_tuple("noise_levels", setup.noise_levels)
    if setup.noise_ratio is not None:
        _positive_tuple("noise_ratio", (setup.noise_ratio,))
    for name in ("rip_steps", "noise_steps"):
        v = getattr(setup, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"setup.{name}={v!r} must be an integer >= 1")
    return setup


def _core(setup: WindSetup) -> WindSetup:
    """``setup`` with the W3 fields at their defaults: the cached studies take them as arguments, so
    that a control that changes one of them reuses every study it does not change."""
    defaults = {f.name: f.default for f in dataclasses.fields(WindSetup) if f.name in _W3_FIELDS}
    return dataclasses.replace(setup, **defaults)


def truth(setup: WindSetup, kappa: float | None = None) -> np.ndarray:
    r""":math:`M^\star` of :func:`problem` (``setup.seed``, condition number ``kappa``), without drawing the operator."""
    setup = _check_setup(setup)
    kap = setup.kappa if kappa is None else float(kappa)
    return low_rank_matrix(setup.n1, setup.n2, setup.sigma_for(kap), rng=np.random.default_rng(setup.seed))


def spurious_norm(M_star: npt.ArrayLike, r: int) -> Callable[[State], np.ndarray]:
    r"""Recorder of :math:`\lVert(I - U_rU_r^\top)\,X_t\,(I - V_rV_r^\top)\rVert_2`: the part of the iterate
    outside the row and column spaces of :math:`M^\star` (its top-``r`` singular vectors)."""
    M = np.asarray(M_star, dtype=np.float64)
    U, _, Vt = np.linalg.svd(M)
    Pu = np.eye(M.shape[0]) - U[:, :r] @ U[:, :r].T
    Pv = np.eye(M.shape[1]) - Vt[:r].T @ Vt[:r]

    def record(state: State) -> np.ndarray:
        return np.linalg.norm(Pu @ state.X @ Pv, ord=2, axis=(1, 2))
    return record


@disk_cached()
def _perturbation_study(setup: WindSetup, xis: tuple, kind: str, kappa: float, directions: int) -> dict:
    sigma = setup.sigma_for(kappa)
    sigma_r = float(min(sigma))
    M = truth(setup, kappa)
    F0, G0 = initial_factors(setup, (setup.alpha,))
    F0, G0 = F0[:directions], G0[:directions]
    S, X = directions, len(xis)
    a = np.atleast_1d(a0(F0, G0))
    K = np.atleast_1d(wind_theorem_steps(setup.eta, sigma_r, a, c2=THEOREM_C2))
    x = np.asarray(xis, dtype=np.float64)
    direction = None
    if kind == "random":   # direction j of the perturbation, the same for every size
        Z = np.stack([np.random.default_rng((setup.seed, j, 2)).standard_normal((setup.n1, setup.n2))
                      for j in range(S)])
        direction = np.concatenate([Z] * X)
    metrics = {"spectral_error": spectral_error, "relative_error": None, "spurious": spurious_norm(M, setup.r)}
    traj = perturbed_gd_asymmetric(factorization_problem(M), np.concatenate([F0] * X), np.concatenate([G0] * X),
                                   setup.eta, int(K.max()), perturbation=kind, xi=np.repeat(x * sigma_r, S),
                                   rng=np.random.default_rng((setup.seed, 3)), direction=direction,
                                   record=np.unique(K), metrics=metrics, on_divergence="raise")
    rows = np.searchsorted(traj.iterations, np.tile(K, X))
    out = {name: traj[name][rows, np.arange(X * S)].reshape(X, S) for name in metrics}
    out.update({"xi": x, "xi_abs": x * sigma_r, "sigma_r": sigma_r, "kappa": float(kappa), "kind": kind,
                "a0": a, "K": K,
                "budget": np.array([wind_perturbation_budget(max(sigma), kappa, sigma_r, float(v)) for v in a])})
    return out


def perturbation_study(setup: WindSetup, *, xis: Sequence[float] | None = None, kind: str | None = None,
                       kappa: float | None = None, directions: int | None = None) -> dict:
    r"""Perturbed GD on the full observation of :math:`M^\star`, read at each direction's :math:`K` (disk-cached).

    Sizes :math:`\xi = x\,\sigma_r` for :math:`x` in ``xis`` (default ``setup.xi_grid``), kind
    ``kind`` (default ``setup.perturbation``), condition number ``kappa`` (default
    ``setup.kappa``); scale ``setup.alpha``, the first ``directions`` initial directions (default
    ``setup.n_seeds``). ``"random"`` perturbations use direction :math:`Z_j`
    (``default_rng((seed, j, 2))``) for every size.

    Returns
    -------
    dict
        ``xi`` (sizes in units of :math:`\sigma_r`), ``xi_abs``, ``sigma_r``, ``kappa``, ``kind``,
        ``a0`` and ``K`` per direction ``(S,)``; at :math:`K`, shape ``(len(xis), S)``:
        ``spectral_error`` :math:`\lVert F_KG_K^\top - M^\star\rVert_2`, ``relative_error``
        (Frobenius), ``spurious`` (:func:`spurious_norm`); ``budget`` per direction, v2's
        :math:`\lVert Y\rVert/(\kappa^3\log(\sigma_r/a_0^2))` without its constant.
    """
    setup = _check_w3(setup)
    x = _positive_tuple("xis", setup.xi_grid if xis is None else xis)
    k = setup.perturbation if kind is None else kind
    if k not in PERTURBATIONS:
        raise ValueError(f"kind={k!r} must be one of {PERTURBATIONS}")
    kap = setup.kappa if kappa is None else float(kappa)
    d = setup.n_seeds if directions is None else int(directions)
    if not 1 <= d <= setup.n_seeds:
        raise ValueError(f"directions={directions!r} must be in [1, setup.n_seeds = {setup.n_seeds}]")
    return _perturbation_study(_core(setup), x, k, kap, d)


def first_crossing(x: npt.ArrayLike, y: npt.ArrayLike, level: float) -> float:
    r"""First :math:`x` at which the increasing-in-:math:`x` series ``y`` reaches ``level``, log-log interpolated.

    Between the last point below and the first at or above the level, :math:`\log x` is linear in
    :math:`\log y`. ``x[0]`` if ``y[0]`` is already at the level; NaN if it never is (or a value
    needed is not finite and positive).
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one length, got {xs.shape} and {ys.shape}")
    if not level > 0:
        raise ValueError(f"level={level!r} must be > 0")
    above = np.flatnonzero(ys >= level)
    if above.size == 0:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(xs[0])
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    if not (x0 > 0 and x1 > 0 and y0 > 0 and y1 > y0):
        return float("nan")
    w = (np.log(level) - np.log(y0)) / (np.log(y1) - np.log(y0))
    return float(np.exp(np.log(x0) + w * (np.log(x1) - np.log(x0))))


def breakdown_points(study: dict) -> np.ndarray:
    r"""Measured breakdown point per direction: the smallest :math:`\xi` at which the spurious part of
    :math:`F_KG_K^\top` reaches :data:`FIT_FRACTION` :math:`\xi` (:func:`first_crossing`; NaN: not on the grid)."""
    frac = study["spurious"] / study["xi_abs"][:, None]
    return np.array([first_crossing(study["xi_abs"], frac[:, j], FIT_FRACTION) for j in range(frac.shape[1])])


def predicted_breakdowns(study: dict, eta: float) -> np.ndarray:
    r"""Our prediction per direction, :func:`matsense.theory.wind_breakdown_prediction` at its measured :math:`a_0` and :math:`K`."""
    return np.array([wind_breakdown_prediction(eta, int(k), float(a)) for k, a in zip(study["K"], study["a0"])])


def linear_slopes(study: dict) -> np.ndarray:
    r"""Per direction, the least-squares slope of :math:`\log` (relative error at :math:`K`) against :math:`\log\xi`."""
    return _direction_slopes(np.log(np.repeat(study["xi_abs"][:, None], study["relative_error"].shape[1], 1)),
                             study["relative_error"], log_y=True)


def linear_slope(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.robust.linear``: median slope of the error at :math:`K` against :math:`\xi` on ``setup.xi_linear``, against 1."""
    return _median_or_nan(linear_slopes(perturbation_study(setup, xis=setup.xi_linear))), 1.0


def breakdown_ratio(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.robust.breakdown``: median over directions of measured / predicted breakdown point, against 1.

    A direction whose spurious part never reaches the level on the grid has its breakdown point
    above the grid: it counts as the grid's largest :math:`\xi` (a lower bound), so the ratio is
    always a finite number, and a lower bound for such a direction.
    """
    study = perturbation_study(setup)
    points = breakdown_points(study)
    points = np.where(np.isfinite(points), points, float(np.max(study["xi_abs"])))
    return _median_or_nan(points / predicted_breakdowns(study, setup.eta)), 1.0


def budget_constants(setup: WindSetup, kappa: float | None = None, directions: int | None = None) -> np.ndarray:
    r"""Measured breakdown point over v2's budget :math:`\lVert Y\rVert/(\kappa^3\log(\sigma_r/a_0^2))`, per direction: the constant :math:`c_4` it implies."""
    study = perturbation_study(setup, kappa=kappa, directions=directions)
    return breakdown_points(study) / study["budget"]


def _below(study: dict, setup: WindSetup) -> np.ndarray:
    """Rows of a perturbation study at sizes up to ``max(setup.xi_linear)`` (below the breakdown)."""
    return study["xi"] <= max(setup.xi_linear) * (1 + 1e-12)


def robustness_summary(setup: WindSetup) -> dict[str, float]:
    r"""The numbers book/wind/robustness quotes (medians over directions; sizes in units of :math:`\sigma_r`).

    ``K``, ``a0``; ``breakdown``, ``predicted``, ``budget``, ``c4`` (measured breakdown over the
    budget) at ``setup.kappa`` and, with suffix ``_hi``, at the last of ``setup.kappa_grid`` (one
    direction); below the breakdown (sizes up to ``max(xi_linear)``): ``spec_adversarial``,
    ``spec_random``, ``spec_fresh`` (spectral error at :math:`K` over :math:`\xi`),
    ``spec_hi`` (adversarial, over :math:`\kappa\xi`), ``frob_adversarial`` (Frobenius error over
    :math:`\xi`) and ``sqrt_2r``; ``rip_first_success`` / ``rip_last_failure``: the smallest ratio of
    ``rip_ratios`` where every direction succeeds and the largest where none does; ``dof`` and ``dim``.
    """
    setup = _check_w3(setup)
    out: dict[str, float] = {}
    kappas = {"": setup.kappa, "_hi": setup.kappa_grid[-1]}
    for suffix, kap in kappas.items():
        d = None if suffix == "" else 1
        st = perturbation_study(setup, kappa=kap, directions=d)
        sr = st["sigma_r"]
        out["breakdown" + suffix] = float(np.median(breakdown_points(st))) / sr
        out["predicted" + suffix] = float(np.median(predicted_breakdowns(st, setup.eta))) / sr
        out["budget" + suffix] = float(np.median(st["budget"])) / sr
        out["c4" + suffix] = float(np.median(budget_constants(setup, kap, d)))
        out["K" + suffix] = float(np.median(st["K"]))
    st = perturbation_study(setup)
    out["a0"] = float(np.median(st["a0"]))
    rows = _below(st, setup)
    norm_M = float(np.linalg.norm(setup.sigma))
    out["frob_adversarial"] = float(np.median(st["relative_error"][rows] * norm_M / st["xi_abs"][rows, None]))
    out["sqrt_2r"] = float(np.sqrt(2 * setup.r))
    for kind in PERTURBATIONS:
        sk = perturbation_study(setup, kind=kind)
        out["spec_" + kind] = float(np.median(sk["spectral_error"][rows] / sk["xi_abs"][rows, None]))
    hi = perturbation_study(setup, kappa=kappas["_hi"], directions=1)
    out["spec_hi"] = float(np.median(hi["spectral_error"][rows] / (kappas["_hi"] * hi["xi_abs"][rows, None])))
    out["kappa_hi"] = float(kappas["_hi"])
    out["dof"], out["dim"] = float(setup.dof), float(setup.dim)
    sw = rip_sweep(setup)
    ok, bad = sw["ratios"][sw["success"] == 1], sw["ratios"][sw["success"] == 0]
    out["rip_first_success"] = float(ok.min()) if ok.size else float("nan")
    out["rip_last_failure"] = float(bad.max()) if bad.size else float("nan")
    return out


def rip_m(setup: WindSetup, ratio: float) -> int:
    r"""Measurements :math:`m = \mathrm{round}(\text{ratio}\,(n_1 + n_2 - r)r)` (at least 1)."""
    setup = _check_setup(setup)
    return max(1, int(round(float(ratio) * setup.dof)))


@disk_cached()
def _rip_run(setup: WindSetup, ratio: float, alpha: float, steps: int) -> dict:
    m = rip_m(setup, ratio)
    prob = problem(setup, m=m)
    F0, G0 = initial_factors(setup, (alpha,))
    traj = gd_asymmetric(prob, F0, G0, setup.eta, steps, record=[steps], metrics=("relative_error",),
                         on_divergence="raise")
    return {"ratio": float(ratio), "m": m, "final": traj["relative_error"][-1].copy()}


def rip_errors(setup: WindSetup, ratio: float) -> np.ndarray:
    r"""Final relative errors ``(n_seeds,)`` of plain GD (``setup.alpha``, ``setup.rip_steps`` steps) at :math:`m =` :func:`rip_m` (disk-cached)."""
    setup = _check_w3(setup)
    return _rip_run(_core(setup), float(ratio), float(setup.alpha), int(setup.rip_steps))["final"]


def rip_sweep(setup: WindSetup) -> dict:
    r"""Final relative errors ``(len(rip_ratios), n_seeds)`` and success rates over ``setup.rip_ratios``."""
    setup = _check_w3(setup)
    errors = np.stack([rip_errors(setup, q) for q in setup.rip_ratios])
    return {"ratios": np.asarray(setup.rip_ratios), "m": np.array([rip_m(setup, q) for q in setup.rip_ratios]),
            "errors": errors, "success": np.mean(errors < SUCCESS_LEVEL, axis=1)}


def rip_success(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.robust.rip-success``: fraction of directions below :data:`SUCCESS_LEVEL` at ``rip_high``, against 1."""
    return float(np.mean(rip_errors(setup, setup.rip_high) < SUCCESS_LEVEL)), 1.0


def rip_failure(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.robust.rip-failure``: fraction of directions above :data:`FAILURE_LEVEL` at ``rip_low``, against 1."""
    return float(np.mean(rip_errors(setup, setup.rip_low) > FAILURE_LEVEL)), 1.0


def noise_m(setup: WindSetup) -> int:
    r"""Measurements of the noise study: ``setup.m``, or ``round(noise_ratio * dof)`` when ``noise_ratio`` is set."""
    setup = _check_w3(setup)
    return setup.m if setup.noise_ratio is None else rip_m(setup, setup.noise_ratio)


def noise_direction(setup: WindSetup, m: int) -> tuple[SensingProblem, np.ndarray]:
    r"""The noiseless problem at ``m`` measurements and :math:`D = -\mathcal{A}^*(z/\sqrt m)`, :math:`z` the noise draw of :func:`problem`.

    With noise of level :math:`s` the measurements are :math:`y_0 + s z/\sqrt m`, so the gradient
    matrix of GD is :math:`\mathcal{A}^*(\mathcal{A}(X) - y_0) + sD`: noisy GD is noiseless GD with
    the fixed gradient perturbation :math:`sD`, of spectral norm :math:`s\lVert D\rVert_2`.
    """
    clean, unit = problem(setup, m=m), problem(setup, m=m, noise=1.0)
    op = clean.operator
    D = -op.adjoint(np.asarray(unit.y, dtype=np.float64) - np.asarray(clean.y, dtype=np.float64))
    return clean, np.asarray(D, dtype=np.float64)


@disk_cached()
def _noise_study(setup: WindSetup, levels: tuple, m: int, steps: int) -> dict:
    F0, G0 = initial_factors(setup, (setup.alpha,))
    L = len(levels)
    F0, G0 = np.repeat(F0[:1], L, axis=0), np.repeat(G0[:1], L, axis=0)
    sigma_r = float(min(setup.sigma))
    a = float(a0(F0[0], G0[0]))
    K = int(np.atleast_1d(wind_theorem_steps(setup.eta, sigma_r, np.array([a]), c2=THEOREM_C2))[0])
    record = np.union1d(every(steps, NOISE_STRIDE), [min(K, steps)])
    clean, D = noise_direction(setup, m)
    s = np.asarray(levels, dtype=np.float64)
    xi = s * float(np.linalg.norm(D, ord=2))
    # one batch: run l is GD on the measurements with noise level s_l (noise_direction)
    traj = perturbed_gd_asymmetric(clean, F0, G0, setup.eta, steps, perturbation="random", xi=xi,
                                   rng=np.random.default_rng((setup.seed, 4)), direction=D, record=record,
                                   metrics=NOISE_METRICS, on_divergence="raise")
    norm_M = float(np.linalg.norm(setup.sigma))
    err = traj["relative_error"] * norm_M          # (T, L), absolute Frobenius error
    spec = traj["spectral_error"]
    it = traj.iterations
    best = np.argmin(err, axis=0)
    return {"levels": s, "m": int(m), "K": K, "a0": a, "iterations": it, "error": err,
            "spectral": spec, "best": err[best, np.arange(L)], "best_iteration": it[best],
            "final": err[-1], "spectral_K": spec[np.searchsorted(it, min(K, steps))],
            "xi_noise": xi, "norm_M": norm_M, "sigma_r": sigma_r,
            "reference": np.asarray(minimax_reference(s, setup.n1, setup.n2, setup.r, int(m)))}


def noise_study(setup: WindSetup) -> dict:
    r"""GD on noisy measurements, one run per level of ``setup.noise_levels`` (direction 0; disk-cached).

    :math:`m =` :func:`noise_m`, ``setup.noise_steps`` steps from :math:`\alpha\bar F^{(0)}`,
    :math:`\alpha\bar G^{(0)}`; the same :math:`M^\star`, operator and noise direction for every level,
    all levels in one batch (:func:`noise_direction`: noise as a fixed gradient perturbation).

    Returns
    -------
    dict
        ``levels`` ``(L,)``, ``m``, ``K`` and ``a0`` of the run, ``iterations`` ``(T,)`` (every
        :data:`NOISE_STRIDE` and :math:`K`), ``error`` ``(T, L)`` the absolute Frobenius error
        :math:`\lVert F_tG_t^\top - M^\star\rVert_F`, ``spectral`` ``(T, L)``, ``best`` (its minimum
        over the recorded iterations: early stopping with an oracle), ``best_iteration``, ``final``,
        ``spectral_K`` (spectral error at :math:`K`), ``xi_noise`` :math:`\lVert\mathcal{A}^*(\text{noise})\rVert_2`
        (the noise as a gradient perturbation), ``reference`` :math:`s\sqrt{(n_1 + n_2)r/m}`, ``norm_M``.
    """
    setup = _check_w3(setup)
    return _noise_study(_core(setup), setup.noise_levels, noise_m(setup), int(setup.noise_steps))


def minimax_ratios(study: dict) -> np.ndarray:
    r"""Best error over the minimax reference :math:`s\sqrt{(n_1 + n_2)r/m}`, per noise level."""
    return study["best"] / study["reference"]


def noise_summary(setup: WindSetup) -> dict[str, float]:
    r"""The numbers book/wind/noise quotes: ``m``, ``K``, the smallest and largest best/reference ratio,
    the final/best ratio at the smallest and the largest level, the largest level whose noise
    perturbation is below the predicted breakdown (``below_level``; NaN if none) and that breakdown
    (``breakdown``, absolute), the noise perturbation of every level (``xi_<i>``) and the largest
    bound ratio below the breakdown (``bound``; ``bound_min`` the smallest, ``bound_above`` the largest
    above it)."""
    setup = _check_w3(setup)
    st = noise_study(setup)
    ratio, fb = minimax_ratios(st), st["final"] / st["best"]
    xb = noise_breakdown(st, setup.eta)
    below = st["xi_noise"] <= xb
    out = {"m": float(st["m"]), "K": float(st["K"]), "ratio_min": float(ratio.min()), "ratio_max": float(ratio.max()),
           "overfit_low": float(fb[0]), "overfit_high": float(fb[-1]), "breakdown": float(xb),
           "below_level": float(st["levels"][below].max()) if below.any() else float("nan"),
           "bound": float(noise_bound_ratios(st, setup.kappa)[below].max()) if below.any() else float("nan"),
           "bound_min": float(noise_bound_ratios(st, setup.kappa)[below].min()) if below.any() else float("nan"),
           "bound_above": float(noise_bound_ratios(st, setup.kappa)[~below].max()) if (~below).any() else float("nan"),
           "best_iter_low": float(st["best_iteration"][0]), "best_iter_high": float(st["best_iteration"][-1])}
    out.update({f"xi_{i}": float(v) for i, v in enumerate(st["xi_noise"])})
    return out


def best_vs_minimax(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.noise.minimax``: :math:`\max_s|\log_2(\text{best}/\text{reference})|` over the noise levels, against 0."""
    return float(np.max(np.abs(np.log2(minimax_ratios(noise_study(setup)))))), 0.0


def noise_bound_ratios(study: dict, kappa: float) -> np.ndarray:
    r"""Spectral error at :math:`K` over the Theorem 2.8 bound :math:`a_0^{4/3}\sigma_r^{1/3} + \kappa\xi` (constant 1), :math:`\xi = \lVert\mathcal{A}^*(\text{noise})\rVert_2`, per level."""
    bound = wind_error_reference(study["a0"], study["sigma_r"]) + kappa * study["xi_noise"]
    return study["spectral_K"] / bound


def noise_breakdown(study: dict, eta: float) -> float:
    r"""The predicted breakdown point (:func:`matsense.theory.wind_breakdown_prediction`) at the noise run's :math:`a_0` and :math:`K`."""
    return wind_breakdown_prediction(eta, int(study["K"]), float(study["a0"]))




# --- book/wind/motivation, setup, flow and conclusion (W1) -----------------------------------------
# Motivation: GD at m_under < n1 n2 measurements from alpha_large and alpha (one batch, shared with
# the conclusion's search over threshold_alphas through ``run``'s cache). Setup: the misalignment of
# the initial directions (v2's alpha) and the conditions of the v2 analysis. Flow: the gradient flow
# from direction 0 at each of flow_alphas, integrated to the v2 horizon of the smallest a0.

from ..operators import rip_ratios as _rip_ratios  # noqa: E402
from ..theory import (wind_init_bound, wind_misalignment_estimate,  # noqa: E402
                      wind_step_bound)

#: Relative Frobenius error at or below which a run has recovered :math:`M^\star` (the tolerance
#: of the claim ``wind.motivation.recovery``).
RECOVERY_LEVEL = 2e-2
#: Initial directions over which the misalignment is measured (no GD: cheap).
MISALIGNMENT_DIRECTIONS = 32
#: Recorded times of the gradient-flow study (uniform on [0, horizon]; crossings are interpolated).
FLOW_POINTS = 200
#: A component is escaped once :math:`\sigma_i(F_tG_t^\top) \ge` this fraction of :math:`\sigma_i`.
ESCAPE_FRACTION = 0.5
#: Random rank-(r + 1) test matrices of the restricted-isometry estimate.
RIP_SAMPLES = 200


def nuclear_norm(X: npt.ArrayLike) -> np.ndarray | float:
    r"""Nuclear norm :math:`\lVert X\rVert_* = \sum_i\sigma_i(X)` of one matrix (float) or a batch ``(B, n1, n2)``."""
    A = np.asarray(X, dtype=np.float64)
    if A.ndim not in (2, 3):
        raise ValueError(f"X must be a matrix (n1, n2) or a batch (B, n1, n2), got shape {A.shape}")
    out = np.linalg.svd(A, compute_uv=False).sum(axis=-1)
    return float(out) if A.ndim == 2 else out


def motivation_alphas(setup: WindSetup) -> tuple[float, ...]:
    """Scales of the implicit-bias runs: ``(alpha_large, alpha)`` (one of them if they are equal)."""
    setup = _check_setup(setup)
    return tuple(dict.fromkeys((float(setup.alpha_large), float(setup.alpha))))


def bias_run(setup: WindSetup) -> Trajectory:
    r"""GD at ``m_under`` measurements (below :math:`n_1n_2`) from :func:`motivation_alphas`, ``steps_bias`` steps (cached)."""
    setup = _check_setup(setup)
    return run(setup, alphas=motivation_alphas(setup), m=setup.m_under, steps=setup.steps_bias)


def final_summary(traj: Trajectory, M_star: npt.ArrayLike) -> dict:
    r"""Per-run summary of the end of a run of :func:`run`, each ``(n_alphas, n_seeds)``.

    ``error`` (relative Frobenius), ``fit`` (final over initial training loss), ``nuclear``
    (:math:`\lVert F_TG_T^\top\rVert_*/\lVert M^\star\rVert_*`), ``a0``; and ``spectrum``
    ``(n_alphas, n_seeds, min(n1, n2))`` (singular values of :math:`F_TG_T^\top`).
    """
    M = np.asarray(M_star, dtype=np.float64)
    shape = (len(traj.params["alphas"]), int(traj.params["n_seeds"]))
    X = traj.final_matrix()
    sv = np.linalg.svd(X, compute_uv=False)
    loss = traj["loss"]
    return {"error": traj["relative_error"][-1].reshape(shape),
            "fit": (loss[-1] / loss[0]).reshape(shape),
            "nuclear": (sv.sum(axis=1) / nuclear_norm(M)).reshape(shape),
            "a0": np.asarray(traj.params["a0"]).reshape(shape),
            "spectrum": sv.reshape(*shape, -1)}


def bias_summary(setup: WindSetup) -> dict:
    """:func:`final_summary` of :func:`bias_run`, plus ``alphas`` (the row labels)."""
    out = final_summary(bias_run(setup), truth(setup))
    out["alphas"] = motivation_alphas(setup)
    return out


def recovery_error(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.motivation.recovery``: median relative error at ``setup.alpha`` (last row), against 0."""
    return float(np.median(bias_summary(setup)["error"][-1])), 0.0


def nuclear_ratio(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.motivation.nuclear``: median :math:`\lVert F_TG_T^\top\rVert_*/\lVert M^\star\rVert_*` at ``setup.alpha``, against 1."""
    return float(np.median(bias_summary(setup)["nuclear"][-1])), 1.0


# -- book/wind/setup ------------------------------------------------------------------------------

def misalignment(F0: npt.ArrayLike, G0: npt.ArrayLike, M_star: npt.ArrayLike, r: int) -> np.ndarray | float:
    r"""v2's misalignment of a start: :math:`\sqrt2\,\lVert[F_0; G_0]\rVert_2/\sigma_r(U^\top F_0 + V^\top G_0)`.

    :math:`U` (:math:`n_1\times r`), :math:`V` (:math:`n_2\times r`): top singular vectors of
    ``M_star``. Scale-free. One pair gives a float, batches ``(B, ...)`` give ``(B,)``; ``inf`` when
    the start has no component along some direction of :math:`M^\star`.
    """
    M = np.asarray(M_star, dtype=np.float64)
    if M.ndim != 2 or not (isinstance(r, (int, np.integer)) and 1 <= r <= min(M.shape)):
        raise ValueError(f"M_star must be a matrix and r an integer in [1, min(n1, n2)], got {M.shape}, r={r!r}")
    U, _, Vt = np.linalg.svd(M)
    F = np.asarray(F0, dtype=np.float64)
    G = np.asarray(G0, dtype=np.float64)
    scale = a0(F, G)
    P = np.swapaxes(U[:, :r], 0, 1) @ F + Vt[:r] @ G
    sv = np.linalg.svd(P, compute_uv=False)
    low = sv[..., r - 1] if sv.shape[-1] >= r else np.zeros(sv.shape[:-1])   # h < r: rank-deficient
    with np.errstate(divide="ignore"):
        out = np.sqrt(2.0) * np.asarray(scale) / low
    return float(out) if np.ndim(out) == 0 else out


def init_misalignment(setup: WindSetup, *, h: int | None = None,
                      count: int = MISALIGNMENT_DIRECTIONS) -> np.ndarray:
    """Misalignment of the initial directions ``0 .. count - 1`` (:func:`direction_rng`) at width ``h`` (default ``setup.h``)."""
    setup = _check_setup(setup)
    h = setup.h if h is None else int(h)
    F0, G0 = initial_factors(dataclasses.replace(setup, n_seeds=int(count)), 1.0, h=h)
    return misalignment(F0, G0, truth(setup), setup.r)


def misalignment_claim(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.setup.misalignment``: median misalignment at ``setup.h``, against the estimate at :math:`h = \max(n_1, n_2, 2r)`."""
    setup = _check_setup(setup)
    h_star = max(setup.n1, setup.n2, 2 * setup.r)
    return (float(np.median(init_misalignment(setup))),
            wind_misalignment_estimate(setup.n1, setup.n2, setup.r, h_star))


def rip_estimate(setup: WindSetup, m: int, *, rank: int | None = None, samples: int = RIP_SAMPLES) -> float:
    r"""Lower estimate of the restricted isometry constant of rank ``rank`` (default :math:`r + 1`) of the ``m``-measurement operator.

    :math:`\max|\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2 - 1|` over ``samples`` random
    rank-``rank`` matrices (:func:`matsense.rip_ratios`); the true constant is larger.
    """
    setup = _check_setup(setup)
    rank = setup.r + 1 if rank is None else int(rank)
    ratios = _rip_ratios(problem(setup, m=m).operator, rank, samples, rng=np.random.default_rng((setup.seed, 7, 1)))
    return float(np.max(np.abs(ratios - 1.0)))


def conditions(setup: WindSetup) -> dict:
    r"""The conditions of the v2 analysis, without their unknown constants, evaluated on our sizes.

    Keys: ``h_star`` (:math:`\max(n_1, n_2, 2r)`, Remark 2.6's width), ``widths_ok`` (per
    ``h_grid``), ``delta_m`` / ``delta_under`` (:func:`rip_estimate` at ``m`` / ``m_under``),
    ``delta_target`` (:math:`1/(\sqrt r\kappa^2)` per ``kappa_grid``), ``a0`` (median over
    directions at ``setup.alpha``), ``init_bound`` (:math:`\sqrt{\sigma_r}/(\min(n_1,n_2)^2/r^2 + \kappa)`
    per ``kappa_grid``), ``step_bound`` (:math:`1/(\kappa^3\lVert M^\star\rVert\log(\sigma_r/a_0^2))`
    per ``kappa_grid``) and ``eta_over_step`` (:math:`\eta` over it).
    """
    setup = _check_setup(setup)
    F0, G0 = initial_factors(setup, (setup.alpha,))
    scale = float(np.median(a0(F0, G0)))
    kap = np.asarray(setup.kappa_grid, dtype=np.float64)
    sig_r = np.array([setup.sigma_for(float(k))[-1] for k in kap])
    step = np.array([wind_step_bound(float(k), 1.0, float(s), scale) for k, s in zip(kap, sig_r)])
    return {"h_star": max(setup.n1, setup.n2, 2 * setup.r),
            "widths_ok": np.array([h >= max(setup.n1, setup.n2, 2 * setup.r) for h in setup.h_grid]),
            "delta_m": rip_estimate(setup, setup.m), "delta_under": rip_estimate(setup, setup.m_under),
            "delta_target": 1.0 / (np.sqrt(setup.r) * kap ** 2), "a0": scale,
            "init_bound": np.array([wind_init_bound(float(s), float(k), setup.n1, setup.n2, setup.r)
                                    for k, s in zip(kap, sig_r)]),
            "step_bound": step, "eta_over_step": setup.eta / step}


# -- book/wind/flow -------------------------------------------------------------------------------

def _drift_recorder(F0: np.ndarray, G0: np.ndarray):
    r"""Recorder of :math:`\lVert\Delta_t - \Delta_0\rVert_2`, :math:`\Delta = F^\top F - G^\top G`, for runs starting at ``(F0, G0)``."""
    D0 = np.swapaxes(F0, 1, 2) @ F0 - np.swapaxes(G0, 1, 2) @ G0

    def record(state: State) -> np.ndarray:
        F, G = state.factors
        D = np.swapaxes(F, 1, 2) @ F - np.swapaxes(G, 1, 2) @ G - D0
        return np.abs(np.linalg.eigvalsh(D)).max(axis=1)
    return record


def _spectrum_recorder(q: int):
    def record(state: State) -> np.ndarray:
        return np.linalg.svd(state.X, compute_uv=False)[:, :q]
    return record


def flow_start(setup: WindSetup) -> tuple[np.ndarray, np.ndarray]:
    """Direction 0 at each of ``setup.flow_alphas``: ``(F0, G0)``, shapes ``(A, n1, h)``, ``(A, n2, h)``."""
    setup = _check_setup(setup)
    F0, G0 = initial_factors(setup, setup.flow_alphas)
    return F0[::setup.n_seeds].copy(), G0[::setup.n_seeds].copy()


#: End time (times :math:`1/\sigma_r`) of a flow study whose scales are all too large for v2's horizon.
FLOW_LARGE_END = 1.0


def flow_horizon(setup: WindSetup) -> float:
    r"""End of the flow study: v2's horizon :math:`5\log(\sigma_r/a_0^2)/\sigma_r` of the smallest :math:`a_0` of :func:`flow_start`.

    When even that :math:`a_0` is not below :math:`\sqrt{\sigma_r}` (a large initialisation, where
    the horizon is undefined) the study ends at :data:`FLOW_LARGE_END` :math:`/\sigma_r`.
    """
    F0, G0 = flow_start(setup)
    smallest, sig_r = float(np.min(a0(F0, G0))), setup.sigma[-1]
    return wind_horizon(sig_r, smallest) if smallest ** 2 < sig_r else FLOW_LARGE_END / sig_r


@disk_cached()
def flow_study(setup: WindSetup) -> dict:
    r"""The gradient flow from :func:`flow_start` at the chapter's ``m``, to :func:`flow_horizon`.

    With ``setup.flow_step = None`` integrated by :func:`matsense.dynamics.gradient_flow_asymmetric`
    (RK45, ``rtol = 1e-8``, one system for the batch); with a number, replaced by GD (explicit
    Euler) with that step, recorded at the nearest iterations. Keys: ``times`` ``(T,)``,
    ``relative_error`` ``(T, A)``, ``spectrum`` ``(T, A, r + 1)`` (top singular values of
    :math:`F_tG_t^\top`), ``drift`` ``(T, A)`` (:math:`\lVert\Delta_t - \Delta_0\rVert_2`),
    ``a0`` ``(A,)``, ``horizon`` ``(A,)`` (each run's), ``escape`` (the ``r + 1`` largest singular
    values of :math:`\mathcal{A}^*(y)`), ``alphas``, ``nfev``.
    """
    setup = _check_setup(setup)
    prob = problem(setup)
    F0, G0 = flow_start(setup)
    scales = a0(F0, G0)
    sig_r = setup.sigma[-1]
    times = np.linspace(0.0, flow_horizon(setup), FLOW_POINTS)
    metrics = {"relative_error": None, "spectrum": _spectrum_recorder(setup.r + 1),
               "drift": _drift_recorder(F0, G0)}
    if setup.flow_step is None:
        tr = gradient_flow_asymmetric(prob, F0, G0, times, metrics=metrics)
        data, nfev = tr.metrics, tr.nfev
    else:
        eta = float(setup.flow_step)
        steps = int(np.ceil(times[-1] / eta))
        record = np.unique(np.minimum(np.round(times / eta).astype(np.int64), steps))
        tr = gd_asymmetric(prob, F0, G0, eta, steps, record=record, metrics=metrics, on_divergence="raise")
        times, data, nfev = tr.iterations * eta, tr.metrics, np.zeros(len(scales), dtype=np.int64)
    horizons = np.array([wind_horizon(sig_r, float(a)) if a ** 2 < sig_r else np.nan for a in scales])
    return {"times": np.asarray(times, dtype=np.float64), "relative_error": data["relative_error"],
            "spectrum": data["spectrum"], "drift": data["drift"], "a0": scales, "horizon": horizons,
            "escape": escape_spectrum(prob, setup.r + 1), "alphas": tuple(setup.flow_alphas), "nfev": nfev}


def crossing_times(values: npt.ArrayLike, level: npt.ArrayLike, times: npt.ArrayLike) -> np.ndarray:
    r"""First time each series reaches ``level`` from below, interpolated linearly in :math:`\log` value.

    ``values`` ``(T, ...)`` positive, ``level`` broadcastable to ``values.shape[1:]``; 0 where the
    first value already reaches it, NaN where none does. Between the recorded times :math:`t_{k-1}`,
    :math:`t_k` that bracket the crossing, :math:`\log v` is taken linear in :math:`t` (exact for
    the exponential growth of an escaping component).
    """
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    if v.ndim < 1 or t.shape != (v.shape[0],):
        raise ValueError(f"values must be (T, ...) with T = len(times), got {v.shape} and {t.shape}")
    lev = np.broadcast_to(np.asarray(level, dtype=np.float64), v.shape[1:])
    hit = np.nan_to_num(v, nan=-np.inf) >= lev
    k = np.argmax(hit, axis=0)
    out = np.full(v.shape[1:], np.nan)
    for idx in np.ndindex(*v.shape[1:]):
        if not hit[(slice(None),) + idx].any():
            continue
        j = k[idx]
        if j == 0:
            out[idx] = t[0]
            continue
        lo, hi = np.log(max(v[(j - 1,) + idx], 1e-300)), np.log(v[(j,) + idx])
        w = (np.log(lev[idx]) - lo) / (hi - lo) if hi > lo else 1.0
        out[idx] = t[j - 1] + w * (t[j] - t[j - 1])
    return out


def escape_times(study: dict, sigma: Sequence[float]) -> np.ndarray:
    r"""First time :math:`\sigma_i(F_tG_t^\top) \ge` :data:`ESCAPE_FRACTION` :math:`\sigma_i`, ``(A, r)`` (:func:`crossing_times`); NaN if never."""
    sig = np.asarray(sigma, dtype=np.float64)
    return crossing_times(study["spectrum"][:, :, :sig.size], ESCAPE_FRACTION * sig[None, :], study["times"])


def escape_slope(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.flow.escape``: slope of the last component's escape time against :math:`\ln(1/a_0)`, times :math:`\hat\sigma_r`, against 1.

    :math:`\hat\sigma_r = \sigma_r(\mathcal{A}^*(y))` is the growth rate of the :math:`r`-th
    component near the origin, measured on the same draw, so the ratio compares each draw with its
    own prediction :math:`1/\hat\sigma_r` (least squares over ``flow_alphas``; NaN if a run never escapes).
    """
    setup = _check_setup(setup)
    study = flow_study(setup)
    t = escape_times(study, setup.sigma)[:, -1]
    if not np.all(np.isfinite(t)):
        return float("nan"), 1.0
    slope = np.polyfit(np.log(1.0 / study["a0"]), t, 1)[0]
    return float(slope * study["escape"][setup.r - 1]), 1.0


def imbalance_drift(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.flow.imbalance``: :math:`\max_t\lVert\Delta_t - \Delta_0\rVert_2/\lVert M^\star\rVert_2` over the flow runs, against 0."""
    return float(np.max(flow_study(setup)["drift"]) / _check_setup(setup).sigma[0]), 0.0


#: Alignment ends once :math:`\sigma_r(F_tG_t^\top)` exceeds :math:`\sigma_{r+1}(F_tG_t^\top)` by this factor.
ALIGN_RATIO = 10.0


def flow_phases(study: dict, sigma: Sequence[float]) -> np.ndarray:
    r"""Phase boundaries per run, ``(A, 2)``: end of the alignment and the last component's escape time.

    Alignment: until :math:`\sigma_r(F_tG_t^\top) \ge` :data:`ALIGN_RATIO` :math:`\sigma_{r+1}(F_tG_t^\top)`
    (the :math:`r` directions of :math:`M^\star` dominate the start); growth: until the last component
    escapes (:func:`escape_times`); then local convergence. 0 where a run starts aligned.
    """
    r = len(sigma)
    spec = study["spectrum"]
    align = crossing_times(spec[:, :, r - 1] / spec[:, :, r], ALIGN_RATIO, study["times"])
    return np.stack([align, np.nanmax(escape_times(study, sigma), axis=1)], axis=1)


# -- book/wind/conclusion -------------------------------------------------------------------------

def threshold_run(setup: WindSetup) -> Trajectory:
    """GD at ``m_under`` from every scale of ``setup.threshold_alphas``, ``steps_bias`` steps (cached)."""
    setup = _check_setup(setup)
    return run(setup, alphas=tuple(setup.threshold_alphas), m=setup.m_under, steps=setup.steps_bias)


def scale_at_level(scales: npt.ArrayLike, errors: npt.ArrayLike, level: float) -> float:
    r"""The scale at which ``errors`` first exceed ``level``, coming from the smallest scale.

    Linear interpolation of :math:`\log` error against :math:`\log` scale between the last grid
    point at or below ``level`` and the first above it; NaN if the smallest scale is already above,
    ``inf`` if no scale is.
    """
    a, e = np.asarray(scales, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    if a.ndim != 1 or a.shape != e.shape or a.size == 0 or np.any(a <= 0) or np.any(e <= 0):
        raise ValueError(f"scales and errors must be positive 1-D arrays of one length, got {a.shape}, {e.shape}")
    if not level > 0:
        raise ValueError(f"level={level!r} must be > 0")
    order = np.argsort(a)
    la, le, lv = np.log(a[order]), np.log(e[order]), np.log(level)
    if le[0] > lv:
        return float("nan")
    if np.all(le <= lv):
        return float("inf")
    j = int(np.argmax(le > lv))
    w = (lv - le[j - 1]) / (le[j] - le[j - 1])
    return float(np.exp(la[j - 1] + w * (la[j] - la[j - 1])))


def practical_threshold(setup: WindSetup) -> dict:
    r"""How small the initialisation has to be in practice, against v2's condition without its constant.

    Keys: ``alphas``, ``error`` and ``a0`` (medians over directions, per scale of
    ``threshold_alphas``, after ``steps_bias`` steps at ``m_under`` measurements), ``a0_level``
    (the :math:`a_0` at which the median error crosses :data:`RECOVERY_LEVEL`, interpolated linearly
    in :math:`\log a_0` and :math:`\log` error between grid points, coming from small :math:`a_0`;
    NaN if even the smallest scale misses it, ``inf`` if every scale reaches it), ``bound``
    (:math:`\sqrt{\sigma_r}/(\min(n_1,n_2)^2/r^2 + \kappa)`) and ``ratio`` (``a0_level / bound``).
    """
    setup = _check_setup(setup)
    s = final_summary(threshold_run(setup), truth(setup))
    err, scale = np.median(s["error"], axis=1), np.median(s["a0"], axis=1)
    a_level = scale_at_level(scale, err, RECOVERY_LEVEL)
    bound = wind_init_bound(setup.sigma[-1], setup.kappa, setup.n1, setup.n2, setup.r)
    return {"alphas": tuple(setup.threshold_alphas), "error": err, "a0": scale, "a0_level": a_level,
            "bound": bound, "ratio": a_level / bound}




# --- book/wind/convergence and book/wind/discretisation (W2): controls, figures' data, quoted numbers ---

#: Scales of the controls of ``wind.conv.per-decade`` (book/wind/claims.yml): :math:`a_0` about 0.02 to 0.13.
LARGE_ALPHAS = (0.05, 0.02, 0.01)
#: Step sizes of the control of ``wind.disc.gap-linear`` (book/wind/claims.yml), up to :math:`\eta\sigma_1 = 1`.
LARGE_STEPS = (1.0, 0.5, 0.25)


def convergence_numbers(setup: WindSetup) -> dict:
    r"""The numbers book/wind/convergence quotes, on the draw ``setup`` (from the cached runs).

    Keys: ``m_rip``; ``dim`` (:math:`n_1n_2`); ``sigma_r`` (of :math:`M^\star`); ``s_r``, ``s_next`` (:math:`\sigma_r`, :math:`\sigma_{r+1}` of
    :math:`\mathcal{A}^*(y)`, chapter's ``m``) and ``s_r_rip``, ``s_next_rip`` (at ``m_rip``);
    ``per_decade_sigma`` (:math:`\ln 10/\ln(1+\eta\sigma_r)` with :math:`\sigma_r(M^\star)`);
    ``K_min``, ``K_max`` (the theorem's step counts of the scales); ``reach_min``, ``reach_max``
    (median iterations to the target at the largest and smallest scale); ``exponent_m``,
    ``exponent_m_predicted`` (measured and :math:`2(1-\rho)` at the chapter's ``m``);
    ``err_K_rip_min``, ``err_K_rip_max`` (median errors at :math:`K`, ``m_rip``).
    """
    setup = _check_setup(setup)
    base, rip = conv_run(setup, setup.m), conv_run(setup, m_rip(setup))
    reach = np.median(reach_iterations(base), axis=1)
    err_rip = np.median(errors_at_K(rip), axis=1)
    r = setup.r
    return {"m_rip": m_rip(setup), "dim": setup.dim, "sigma_r": float(setup.sigma[-1]),
            "s_r": float(base.params["escape"][r - 1]),
            "s_next": float(base.params["escape"][r]), "s_r_rip": float(rip.params["escape"][r - 1]),
            "s_next_rip": float(rip.params["escape"][r]),
            "per_decade_sigma": wind_iterations_per_decade(setup.eta, setup.sigma[-1]),
            "K_min": int(base.params["K"].min()), "K_max": int(base.params["K"].max()),
            "reach_min": float(reach[0]), "reach_max": float(reach[-1]),
            "exponent_m": float(np.median(error_exponents(base))),
            "exponent_m_predicted": exponent_prediction(base, setup.eta, r),
            "err_K_rip_min": float(err_rip.min()), "err_K_rip_max": float(err_rip.max())}


def large_alphas_setup(setup: WindSetup) -> WindSetup:
    """``setup`` with ``alphas_conv = LARGE_ALPHAS`` (the control of ``wind.conv.per-decade``)."""
    return _replace(_check_setup(setup), alphas_conv=LARGE_ALPHAS)


def large_steps_setup(setup: WindSetup) -> WindSetup:
    """``setup`` with ``eta_grid = LARGE_STEPS`` (the control of ``wind.disc.gap-linear``)."""
    return _replace(_check_setup(setup), eta_grid=LARGE_STEPS)


def discretisation_numbers(setup: WindSetup) -> dict:
    r"""The numbers book/wind/discretisation quotes: ``t_end``; ``gap_constant`` (median of
    max gap / :math:`\eta` over ``setup.eta_grid``); ``gap_min``, ``gap_max`` (largest gaps at the
    smallest and largest step of the grid); ``gap_chapter`` (largest gap at the chapter's
    :math:`\eta`, from :data:`LARGE_STEPS` which holds it); ``gap_large`` (at the largest of
    :data:`LARGE_STEPS`); ``nfev`` (right-hand sides the flow solver evaluated).
    """
    setup = _check_setup(setup)
    main, big = gd_flow_gaps(setup), gd_flow_gaps(large_steps_setup(setup))
    etas = np.asarray(setup.eta_grid, dtype=np.float64)
    at = [i for i, e in enumerate(LARGE_STEPS) if abs(e - setup.eta) < 1e-12]
    return {"t_end": float(main["flow_times"][-1]), "gap_constant": float(np.median(main["max_gap"] / etas)),
            "gap_min": float(main["max_gap"][int(np.argmin(etas))]),
            "gap_max": float(main["max_gap"][int(np.argmax(etas))]),
            "gap_chapter": float(big["max_gap"][at[0]]) if at else float("nan"),
            "gap_large": float(big["max_gap"][int(np.argmax(LARGE_STEPS))]),
            "nfev": int(flow_run(setup).nfev[0])}




# --- book/wind/changing_measurements and book/wind/bounded (W4) -------------------------------------
# Both notebooks share one GD run on the fixed measurements per setup (:func:`recovery_run`): the
# chapter's problem (``setup.m`` measurements), ``setup.alpha x seeds``, run to the theorem's step
# count K (:func:`recovery_steps`). The changing-measurements runs (:func:`online_run`) start from the
# same factors and run as long; their batch is drawn from ``default_rng((seed, b, source, 7))``.

import dataclasses as _dc_w4  # noqa: E402

from .. import theory as _th_w4  # noqa: E402
from ..dynamics import online_gd_asymmetric  # noqa: E402

#: Fresh batch sizes of the sweep, as multiples of :math:`r(n_1 + n_2)`, increasing (below 1: beyond Theorem 2.9).
FRESH_SWEEP = (0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 5.0)
#: Mini-batches resampled from the fixed set of ``m`` measurements, as multiples of :math:`r(n_1 + n_2)`
#: (capped at ``m``, where a step is a step of GD on the whole set).
RESAMPLE_SWEEP = (0.2, 0.5, 1.0, 2.0, 5.0)
#: Initial scales of book/wind/bounded beyond the analysis, largest first.
BOUNDED_ALPHAS = (1.0, 0.5, 0.1)
#: Theorem 6.1's bound on :math:`\lVert[F_t; G_t]\rVert_2/\sqrt{\lVert M^\star\rVert}`.
NORM_BOUND = 1.5
#: Recorders of the changing-measurement runs.
ONLINE_METRICS = {"relative_error": None, "spectral_error": spectral_error}
_SOURCE_WORD = {"fresh": 1, "resample": 2}


def _w4_base(setup: WindSetup) -> WindSetup:
    """``setup`` with the fields of the changing-measurements claim at their defaults (shared caches)."""
    setup = _check_setup(setup)
    return _dc_w4.replace(setup, batch_factors=WindSetup.__dataclass_fields__["batch_factors"].default)


def recovery_steps(setup: WindSetup, *, kappa: float | None = None) -> int:
    r"""The theorem's step count :math:`K` for the directions at ``setup.alpha``: the largest over directions.

    :math:`K = \lceil 5\log(\sigma_r/a_0^2)/(\eta\sigma_r)\rceil`
    (:func:`matsense.theory.wind_theorem_steps`, :math:`C_2` = :data:`THEOREM_C2`), with each measured
    :math:`a_0` capped at v2's condition :math:`\sqrt{\sigma_r}/(\min(n_1,n_2)^2/r^2 + \kappa)`
    (:func:`matsense.theory.wind_init_bound`): an initialisation beyond the analysis runs as long as
    the largest one it admits.
    """
    setup = _check_setup(setup)
    kappa = setup.kappa if kappa is None else float(kappa)
    sigma_r = setup.sigma_for(kappa)[-1]
    bound = _th_w4.wind_init_bound(sigma_r, kappa, setup.n1, setup.n2, setup.r)
    scales = np.minimum(np.atleast_1d(a0(*initial_factors(setup, (setup.alpha,)))), bound)
    return int(np.max(_th_w4.wind_theorem_steps(setup.eta, sigma_r, scales, c2=THEOREM_C2)))


def recovery_schedule(steps: int) -> np.ndarray:
    """Recorded iterations of the W4 runs: 50 log-spaced ones plus every ``max(1, steps // 80)`` and ``steps``."""
    return np.union1d(log_schedule(steps, 50), every(steps, max(1, steps // 80)))


@disk_cached()
def _recovery(setup: WindSetup, alpha: float, kappa: float) -> Trajectory:
    prob = problem(setup, kappa=kappa)
    check_step_size(setup.eta, float(prob.singular_values[0]))
    K = recovery_steps(setup, kappa=kappa)
    F0, G0 = initial_factors(setup, (alpha,))
    traj = gd_asymmetric(prob, F0, G0, setup.eta, K, record=recovery_schedule(K), metrics=METRICS,
                         on_divergence="raise")
    traj.params.update({"a0": a0(F0, G0), "alphas": np.asarray([alpha]), "n_seeds": setup.n_seeds, "K": K})
    return traj


def recovery_run(setup: WindSetup, *, alpha: float | None = None, kappa: float | None = None) -> Trajectory:
    r"""GD on the fixed measurements at scale ``alpha`` (default ``setup.alpha``) for :func:`recovery_steps` steps.

    The chapter's problem at condition number ``kappa`` (default ``setup.kappa``) with ``setup.m``
    measurements, the directions of :func:`initial_factors`, step ``setup.eta``; the metrics
    :data:`METRICS` (errors, loss, stacked norm, imbalance) on :func:`recovery_schedule`. The run
    length is that of the default scale whatever ``alpha``, so the scales share one time axis.
    Disk-cached; ``params``: ``a0``, ``alphas``, ``n_seeds``, ``K``.
    """
    base = _w4_base(setup)
    a = float(base.alpha if alpha is None else alpha)
    k = float(base.kappa if kappa is None else kappa)
    return _recovery(base, a, k)


def batch_size(setup: WindSetup, factor: float) -> int:
    r"""``max(1, round(factor * r (n1 + n2)))`` measurements (:func:`matsense.theory.wind_batch_reference`)."""
    setup = _check_setup(setup)
    if not (isinstance(factor, (int, float)) and factor > 0):
        raise ValueError(f"factor={factor!r} must be a positive multiple of r (n1 + n2)")
    return max(1, int(round(factor * _th_w4.wind_batch_reference(setup.n1, setup.n2, setup.r))))


@disk_cached()
def online_run(setup: WindSetup, batch: int, source: str = "fresh") -> Trajectory:
    r"""GD where every step sees a new batch of ``batch`` measurements (:func:`matsense.dynamics.online_gd_asymmetric`).

    ``source="fresh"``: new Gaussian measurements of :math:`M^\star` (Theorem 2.9);
    ``"resample"``: ``batch`` of the problem's ``setup.m`` measurements, drawn anew at every step.
    Same start as :func:`recovery_run` (``setup.alpha x seeds``), :func:`recovery_steps` steps,
    :data:`ONLINE_METRICS` on a 40-point log schedule plus every ``K // 40`` steps and ``K``. A run
    that diverges is frozen and reported (``diverged_at``), its metrics NaN afterwards.
    """
    setup = _w4_base(setup)
    if source not in _SOURCE_WORD:
        raise ValueError(f"source={source!r} must be 'fresh' or 'resample'")
    if not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise ValueError(f"batch={batch!r} must be a number of measurements >= 1")
    prob = problem(setup)
    F0, G0 = initial_factors(setup, (setup.alpha,))
    K = recovery_steps(setup)
    rng = np.random.default_rng((setup.seed, int(batch), _SOURCE_WORD[source], 7))
    record = np.union1d(log_schedule(K, 40), every(K, max(1, K // 40)))
    traj = online_gd_asymmetric(prob, F0, G0, setup.eta, K, batch_size=int(batch), rng=rng, source=source,
                                record=record, metrics=ONLINE_METRICS, on_divergence="ignore")
    traj.params.update({"a0": a0(F0, G0), "alphas": np.asarray([setup.alpha]), "n_seeds": setup.n_seeds, "K": K})
    return traj


def final_errors(traj: Trajectory, M_star: npt.ArrayLike) -> np.ndarray:
    r""":math:`\lVert F_TG_T^\top - M^\star\rVert_2` of the final factors of each run, ``(B,)``.

    A run that diverged was frozen at its last iterate below the divergence threshold
    (:func:`matsense.gd_asymmetric`): its error there is counted, a finite lower bound of an error
    that only grows.
    """
    D = traj.final_matrix() - np.asarray(M_star, dtype=np.float64)[None]
    return np.linalg.norm(D, ord=2, axis=(1, 2))


def fresh_vs_fixed(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.changing.fresh-batches``: the largest over ``setup.batch_factors`` of the error ratio fresh / fixed, against 1.

    For each batch size :math:`b` = :func:`batch_size` ``(setup, f)``, the median over directions of
    :math:`\lVert F_KG_K^\top - M^\star\rVert_2` with a fresh Gaussian batch at every step, divided by
    the same median for GD on the fixed measurements (:func:`recovery_run`), from the same start and
    after the same :math:`K` steps (:func:`final_errors`: a diverged run counts with its error when
    it was stopped).
    """
    setup = _check_setup(setup)
    M = truth(setup)
    fixed = float(np.median(final_errors(recovery_run(setup), M)))
    ratios = [float(np.median(final_errors(online_run(setup, batch_size(setup, f), "fresh"), M))) / fixed
              for f in setup.batch_factors]
    return float(max(ratios)), 1.0


def batch_sweep(setup: WindSetup) -> dict:
    r"""Errors at :math:`K` against the batch size, for fresh batches and for batches resampled from the fixed set.

    Keys: ``reference`` (:math:`r(n_1 + n_2)`), ``b_fresh`` and ``err_fresh`` (``(len, n_seeds)``,
    over :data:`FRESH_SWEEP`), ``b_resample`` and ``err_resample`` (over :data:`RESAMPLE_SWEEP`,
    capped at ``m``), ``err_fixed`` (``(n_seeds,)``), ``K``, ``m``. Spectral errors, ``inf`` for a
    diverged run.
    """
    setup = _w4_base(setup)
    ref = _th_w4.wind_batch_reference(setup.n1, setup.n2, setup.r)
    b_fresh = sorted({batch_size(setup, f) for f in FRESH_SWEEP})
    b_res = sorted({min(setup.m, batch_size(setup, f)) for f in RESAMPLE_SWEEP})
    fixed, M = recovery_run(setup), truth(setup)
    fresh = [online_run(setup, b, "fresh") for b in b_fresh]
    return {"reference": ref, "K": int(fixed.steps), "m": setup.m,
            "b_fresh": np.asarray(b_fresh), "b_resample": np.asarray(b_res),
            "err_fresh": np.stack([final_errors(t, M) for t in fresh]),
            "diverged_fresh": np.stack([t.diverged for t in fresh]),
            "err_resample": np.stack([final_errors(online_run(setup, b, "resample"), M) for b in b_res]),
            "err_fixed": final_errors(fixed, M)}


def norm_bound(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.bounded.norm``: :math:`\max_t\max_j\lVert[F_t; G_t]\rVert_2/\sqrt{\sigma_1}` over :func:`recovery_run`, against 3/2."""
    setup = _check_setup(setup)
    norms = recovery_run(setup)["stacked_norm"]
    return float(np.max(norms)) / float(np.sqrt(setup.sigma[0])), NORM_BOUND


def imbalance_bound(setup: WindSetup) -> tuple[float, float]:
    r"""Claim ``wind.bounded.imbalance``: :math:`\max_t\max_j\lVert F_t^\top F_t - G_t^\top G_t\rVert_2` over :func:`recovery_run`.

    Predicted: the flow keeps the imbalance at its initial size, at most :math:`a_0^2`, with
    :math:`a_0` at most v2's condition (:func:`matsense.theory.wind_init_bound`, constant 1), and GD
    adds at most :math:`\eta\sigma_1^2/4` (:func:`matsense.theory.wind_imbalance_drift`).
    """
    setup = _check_setup(setup)
    values = recovery_run(setup)["imbalance_norm"]
    bound = _th_w4.wind_init_bound(setup.sigma[-1], setup.kappa, setup.n1, setup.n2, setup.r)
    return float(np.max(values)), bound ** 2 + _th_w4.wind_imbalance_drift(setup.eta, setup.sigma[0])


def large_init_runs(setup: WindSetup) -> dict:
    r"""The runs of book/wind/bounded: ``alpha -> Trajectory`` for :data:`BOUNDED_ALPHAS` and ``setup.alpha``.

    Each :func:`recovery_run` at that scale for :func:`recovery_steps` ``(setup)`` steps (the
    horizon of the default scale, whatever the scale), and key ``"kappa"``: the default scale at the
    largest condition number of ``setup.kappa_grid``.
    """
    setup = _w4_base(setup)
    out = {a: recovery_run(setup, alpha=a) for a in (*BOUNDED_ALPHAS, setup.alpha)}
    out["kappa"] = recovery_run(setup, kappa=max(setup.kappa_grid))
    return out


def changing_summary(setup: WindSetup) -> dict:
    r"""Numbers book/wind/changing_measurements quotes, from :func:`batch_sweep` (medians over directions).

    Keys: ``fixed`` (error at :math:`K` on the fixed measurements), ``fresh`` and ``resampled``
    (``b -> error``), ``fresh_ratio`` (``b -> fresh / fixed``), ``smallest_converged`` (the smallest
    fresh batch of the sweep whose runs all converged, and every larger one), ``largest_diverged``
    (the largest that diverged, 0 if none), ``spread`` (``b -> sqrt((n1 n2 + 1) / b)``).
    """
    setup = _check_setup(setup)
    sw = batch_sweep(setup)
    fixed = float(np.median(sw["err_fixed"]))
    fresh = {int(b): float(np.median(e)) for b, e in zip(sw["b_fresh"], sw["err_fresh"])}
    bad = sw["diverged_fresh"].any(axis=1)
    ok_from = np.flatnonzero(np.cumprod(~bad[::-1])[::-1].astype(bool))
    return {"fixed": fixed, "fresh": fresh,
            "resampled": {int(b): float(np.median(e)) for b, e in zip(sw["b_resample"], sw["err_resample"])},
            "fresh_ratio": {b: e / fixed for b, e in fresh.items()},
            "smallest_converged": int(sw["b_fresh"][ok_from[0]]) if ok_from.size else 0,
            "largest_diverged": int(sw["b_fresh"][bad].max()) if bad.any() else 0,
            "spread": {int(b): _th_w4.fresh_gradient_spread(setup.dim, int(b)) for b in sw["b_fresh"]},
            "reference": sw["reference"], "K": sw["K"]}


def bounded_summary(setup: WindSetup) -> dict:
    r"""Numbers book/wind/bounded quotes, per scale of :func:`large_init_runs` (medians over directions).

    ``alpha -> {a0, max_norm, final_norm, start_imbalance, max_imbalance, final_imbalance,
    final_error, fit_norm}`` with norms over :math:`\sqrt{\sigma_1}`, and ``fit_norm`` the stacked norm
    :math:`(d^2 + 4\sigma_1^2)^{1/4}/\sqrt{\sigma_1}` of a fit with the run's final imbalance :math:`d`
    (:func:`matsense.theory.stacked_norm_at_fit`); key ``"kappa"``: the same at the largest condition number.
    """
    setup = _check_setup(setup)
    out = {}
    for key, traj in large_init_runs(setup).items():
        s1 = setup.sigma_for(max(setup.kappa_grid) if key == "kappa" else setup.kappa)[0]
        norm, imb = traj["stacked_norm"] / np.sqrt(s1), traj["imbalance_norm"]
        med = {"a0": float(np.median(traj.params["a0"])) / np.sqrt(s1), "max_norm": float(np.median(norm.max(axis=0))),
               "final_norm": float(np.median(norm[-1])), "start_imbalance": float(np.median(imb[0])),
               "max_imbalance": float(np.median(imb.max(axis=0))), "final_imbalance": float(np.median(imb[-1])),
               "final_error": float(np.median(traj["relative_error"][-1]))}
        med["fit_norm"] = float(_th_w4.stacked_norm_at_fit(s1, med["final_imbalance"])) / np.sqrt(s1)
        out[key] = med
    return out


