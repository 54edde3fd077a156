r"""The studies of the Xiong, Ding, Du (2024) chapter (over-parameterization slows GD down).

One problem per setup (:func:`problem`): :math:`M^\star = Q\operatorname{diag}(\sigma)Q^\top`
(:func:`matsense.psd_matrix`, drawn first from ``setup.seed``), observed either fully
(``operator="factorization"``, :math:`\mathcal{A} = \mathrm{Id}`) or through ``setup.m`` Gaussian
measurements drawn next from the same generator (``operator="sensing"``): symmetric :math:`A_i` for
the symmetric parameterization :math:`XX^\top`, general (non-symmetric) :math:`A_i` for the
asymmetric one :math:`FG^\top`. The same seed gives the same :math:`M^\star` for every operator and
parameterization.

:func:`run_symmetric` and :func:`run_asymmetric` run GD over ``setup.alphas x setup.seeds`` in one
batch (run ``b = i * len(seeds) + j`` has ``alphas[i]`` and direction ``j``), from
:math:`X_0 = \alpha\bar X^{(j)}`, :math:`F_0 = \alpha\bar F^{(j)}`, :math:`G_0 = (\alpha/3)\bar G^{(j)}`
(entries of the bars i.i.d. :math:`N(0, 1/n)`, drawn from ``numpy.random.default_rng((setup.seed, j, 1))``,
the same for every :math:`\alpha`). They record, on :func:`schedule` (about 200 log-spaced
iterations plus one every ``steps // 400``: dense enough for the early transient, the late
log-log slopes and linear-rate fits):

* ``squared_error``: :math:`\lVert Z_t - M^\star\rVert_F^2` (the paper's metric);
* ``loss``: :math:`\tfrac14\lVert\mathcal{A}(XX^\top)-y\rVert^2` or :math:`\tfrac12\lVert\mathcal{A}(FG^\top)-y\rVert^2`;
* asymmetric only: ``imbalance_min`` :math:`\lambda_{\min}(F^\top F - G^\top G)` and
  ``lambda_min_FtF`` :math:`\lambda_{\min}(F^\top F)`.

:func:`rebalance` is the one-step modification as we reconstruct it (the paper's equation (5.1)
is not reproduced here), and ``run_asymmetric(..., one_step=True)`` applies it at the switch rule
(the first iteration whose training loss is below ``setup.switch_threshold`` times the initial loss).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt

from ..dynamics import GDLoop, Trajectory, gd_asymmetric, gd_symmetric, small_random_init, small_random_init_asymmetric
from ..metrics import every, log_schedule
from ..operators import gaussian_operator, symmetric_gaussian_operator
from ..problems import SensingProblem, factorization_problem, make_sensing_problem, psd_matrix
from ..setups import XiongSetup
from ..sweepcache import disk_cached
from ..theory import check_step_size

__all__ = ["problem", "schedule", "initial_factors", "run_symmetric", "rebalance",
           "switch_iterations", "run_asymmetric", "per_run", "k_exact", "small_init_alphas",
           "exact_rates", "exact_rate_spread", "over_rates", "over_rate_constant",
           "over_rate_spread", "reach_fraction", "final_errors", "sensing_setup", "switch_states",
           "switch_c2", "switch_product_change", "one_step_run", "run_switches",
           "lambda_after_switch", "lambda_raised", "post_switch_rates", "post_switch_spread",
           "post_switch_vs_theory", "c_sensitivity", "threshold_sensitivity", "imbalance_drift",
           "imbalance_drift_measure", "imbalance_relative_drift", "imbalance_bound_share", "invisible_part_run", "antisymmetric_share", "above_floor",
           "scaled_error", "asymptote_constant", "sym_late_slope", "sym_limit", "sym_constants",
           "sym_constant_spread", "sym_k_sweep", "regime_run", "regime_signature",
           "regime_matches", "table1_matches", "recipe_steps", "recipe_times", "recipe_ratio",
           "G_RATIO", "SYMMETRIC_METRICS", "ASYMMETRIC_METRICS", "RATE_WINDOW",
           "SYMMETRIC_RATE_WINDOW", "EXACT_STEPS", "SENSITIVITY_STEPS", "REACH_LEVEL",
           "REACH_STEPS", "ERROR_FLOOR", "REGIME_WINDOW", "TABLE1", "RECIPE_TARGET"]

#: :math:`G_0 = (\alpha/3)\bar G`: the imbalanced start of the paper.
G_RATIO = 1.0 / 3.0


def _check_setup(setup: object) -> XiongSetup:
    if not isinstance(setup, XiongSetup):
        raise TypeError(f"setup must be a XiongSetup (matsense.setups.xiong_setup()), got {type(setup).__name__}")
    return setup


def _operator_of(setup: XiongSetup, operator: str | None) -> str:
    op = setup.operator if operator is None else operator
    if op not in ("factorization", "sensing"):
        raise ValueError(f"operator={op!r} must be 'factorization' or 'sensing'")
    return op


def problem(setup: XiongSetup, *, operator: str | None = None, sigma: Sequence[float] | None = None,
            symmetric: bool = True) -> SensingProblem:
    r"""The problem of ``setup``: :math:`M^\star` (eigenvalues ``sigma``, default ``setup.sigma``) and its operator.

    ``operator`` (default ``setup.operator``): ``"factorization"`` (identity) or ``"sensing"``
    (``setup.m`` Gaussian measurements, symmetric :math:`A_i = (B_i + B_i^\top)/2` when
    ``symmetric`` else general :math:`A_i`, both normalised by :math:`1/\sqrt m`).
    :math:`M^\star` depends only on ``setup.seed``, ``setup.n`` and ``sigma``.
    """
    setup = _check_setup(setup)
    op = _operator_of(setup, operator)
    sig = setup.sigma if sigma is None else tuple(float(s) for s in sigma)
    gen = np.random.default_rng(setup.seed)
    M = psd_matrix(setup.n, sig, rng=gen)
    if op == "factorization":
        return factorization_problem(M)
    A = (symmetric_gaussian_operator(setup.n, setup.m, rng=gen) if symmetric
         else gaussian_operator(setup.n, setup.n, setup.m, rng=gen))
    return make_sensing_problem(M, A)


def schedule(steps: int) -> np.ndarray:
    """Recorded iterations of a run of ``steps`` steps: ~200 log-spaced ones plus every ``max(1, steps // 400)``."""
    return np.union1d(log_schedule(steps, 200), every(steps, max(1, steps // 400)))


def initial_factors(setup: XiongSetup, k: int, *, symmetric: bool = True
                    ) -> tuple[np.ndarray, ...]:
    r"""Initial factors of the batch ``alphas x seeds``: ``(X0,)`` or ``(F0, G0)``, each ``(B, n, k)``.

    Direction ``j`` is drawn from ``numpy.random.default_rng((setup.seed, j, 1))`` (entries
    :math:`N(0, 1/n)`) and scaled by :math:`\alpha` (:math:`\alpha/3` for :math:`G`). The last word
    matters: numpy drops trailing zero words of a seed, so ``default_rng((seed, 0))`` would be the
    stream ``default_rng(seed)`` that drew :math:`M^\star`, and direction 0 would start aligned with it.
    """
    setup = _check_setup(setup)
    alphas = np.asarray(setup.alphas, dtype=np.float64)
    if symmetric:
        bars = [small_random_init(setup.n, k, 1.0, rng=np.random.default_rng((setup.seed, j, 1)))[0]
                for j in setup.seeds]
        return (np.stack([a * X for a in alphas for X in bars]),)
    pairs = [small_random_init_asymmetric(setup.n, setup.n, k, 1.0, rng=np.random.default_rng((setup.seed, j, 1)),
                                          g_ratio=G_RATIO) for j in setup.seeds]
    F0 = np.stack([a * F[0] for a in alphas for F, _ in pairs])
    G0 = np.stack([a * G[0] for a in alphas for _, G in pairs])
    return F0, G0


def _squared_error(state) -> np.ndarray:
    D = state.X - state.M_star[None]
    return np.einsum("bij,bij->b", D, D)


def _imbalance_min(state) -> np.ndarray:
    F, G = state.factors
    D = np.swapaxes(F, 1, 2) @ F - np.swapaxes(G, 1, 2) @ G
    return np.linalg.eigvalsh(D)[:, 0]


def _lambda_min_ftf(state) -> np.ndarray:
    F = state.factors[0]
    return np.linalg.eigvalsh(np.swapaxes(F, 1, 2) @ F)[:, 0]


#: Recorders of :func:`run_symmetric` and :func:`run_asymmetric` (name -> f(State)).
SYMMETRIC_METRICS = {"squared_error": _squared_error, "loss": None}
ASYMMETRIC_METRICS = {"squared_error": _squared_error, "loss": None, "imbalance_min": _imbalance_min,
                      "lambda_min_FtF": _lambda_min_ftf}


def _steps(setup: XiongSetup, op: str, steps: int | None) -> int:
    if steps is not None:
        return int(steps)
    return setup.steps_sensing if op == "sensing" else setup.steps_mf


@disk_cached()
def run_symmetric(setup: XiongSetup, k: int, *, operator: str | None = None, sigma: Sequence[float] | None = None,
                  steps: int | None = None, progress: bool = False) -> Trajectory:
    r"""GD on :math:`X` (``n x k``) over ``alphas x seeds`` of ``setup``, one batch; see the module docstring.

    ``steps`` defaults to ``setup.steps_mf`` (factorization) or ``setup.steps_sensing``.
    Metrics: ``squared_error`` and ``loss`` on :func:`schedule`.
    """
    setup = _check_setup(setup)
    op = _operator_of(setup, operator)
    prob = problem(setup, operator=op, sigma=sigma, symmetric=True)
    check_step_size(setup.eta, float(prob.singular_values[0]))
    n_steps = _steps(setup, op, steps)
    (X0,) = initial_factors(setup, k, symmetric=True)
    return gd_symmetric(prob, X0, setup.eta, n_steps, record=schedule(n_steps), metrics=SYMMETRIC_METRICS,
                        on_divergence="raise", progress=progress)


def rebalance(F: npt.ArrayLike, G: npt.ArrayLike, c: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The one-step modification as we reconstruct it: :math:`(F, G) \to (FP, GP^{-\top})`, :math:`P = c\,(F^\top F)^{-1/2}`.

    :math:`F' = c\,F(F^\top F)^{-1/2}` has every singular value equal to :math:`c`, and
    :math:`G' = G(F^\top F)^{1/2}/c`, so :math:`F'G'^\top = FG^\top` exactly (up to rounding).
    ``c=None`` takes :math:`c^2 = \lVert FG^\top\rVert_2`. Works on one pair ``(n, k)`` or a batch
    ``(B, n, k)``; ``F`` must have full column rank. The square roots come from the eigendecomposition
    of the ``k x k`` matrix :math:`F^\top F`.
    """
    F = np.asarray(F, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    if F.ndim not in (2, 3) or F.shape[:-2] != G.shape[:-2] or F.shape[-1] != G.shape[-1]:
        raise ValueError(f"F and G must be (n, k) or (B, n, k) with the same batch and k, got {F.shape}, {G.shape}")
    single = F.ndim == 2
    if single:
        F, G = F[None], G[None]
    w, V = np.linalg.eigh(np.swapaxes(F, 1, 2) @ F)
    if np.any(w <= 0):
        raise ValueError("F must have full column rank (F^T F is singular)")
    if c is None:
        cs = np.sqrt(np.linalg.norm(F @ np.swapaxes(G, 1, 2), ord=2, axis=(1, 2)))
    else:
        if not c > 0:
            raise ValueError(f"c={c!r} must be None or > 0")
        cs = np.full(F.shape[0], float(c))
    Vt = np.swapaxes(V, 1, 2)
    inv_sqrt = V @ (Vt / np.sqrt(w)[:, :, None])
    sqrt = V @ (Vt * np.sqrt(w)[:, :, None])
    F2 = cs[:, None, None] * (F @ inv_sqrt)
    G2 = (G @ sqrt) / cs[:, None, None]
    return (F2[0], G2[0]) if single else (F2, G2)


def switch_iterations(loss: npt.ArrayLike, iterations: npt.ArrayLike, threshold: float) -> np.ndarray:
    r"""Switch rule: first recorded iteration whose loss is below ``threshold`` times the initial loss, per run.

    ``loss`` has shape ``(T, B)`` with ``iterations[0] == 0`` the initial loss; -1 where the loss never falls
    that low. The rule reads only the training loss, never :math:`M^\star`.
    """
    L = np.asarray(loss, dtype=np.float64)
    it = np.asarray(iterations)
    below = L < threshold * L[0][None]
    first = np.argmax(below, axis=0)
    return np.where(below.any(axis=0), it[first], -1)


def _switch_phase(prob: SensingProblem, F0: np.ndarray, G0: np.ndarray, eta: float, threshold: float,
                  max_steps: int, c: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run GD (batched) until every run's loss crossed the switch threshold; return T and (F_T, G_T) per run."""
    B = F0.shape[0]
    loop = GDLoop(prob, (F0, G0), eta, steps=max_steps)
    T = np.full(B, -1, dtype=np.int64)
    FT, GT = np.zeros_like(F0), np.zeros_like(G0)
    loss0 = None
    for t in range(max_steps + 1):
        loop.form_iterate()
        res = loop.engine.residual(loop.xv)
        loss = 0.5 * np.einsum("bm,bm->b", res, res)
        if loss0 is None:
            loss0 = loss.copy()
        new = (T < 0) & (loss < threshold * loss0)
        if new.any():
            T[new] = t
            FT[new], GT[new] = loop.factors[0][new], loop.factors[1][new]
        if (T >= 0).all() or t == max_steps:
            break
        loop.update()
        loop.iteration = t + 1
        loop.check(t + 1)
    if (T < 0).any():
        raise RuntimeError(f"runs {np.flatnonzero(T < 0).tolist()} never reached the switch threshold "
                           f"{threshold:g} x initial loss within {max_steps} steps")
    return T, FT, GT


@disk_cached()
def run_asymmetric(setup: XiongSetup, k: int, *, operator: str | None = None, sigma: Sequence[float] | None = None,
                   steps: int | None = None, one_step: bool = False, progress: bool = False) -> Trajectory:
    r"""GD on :math:`(F, G)` (``n x k`` each) over ``alphas x seeds`` of ``setup``; see the module docstring.

    With ``one_step=True`` the step of iteration :math:`T_b` (the switch rule,
    :func:`switch_iterations`, per run) is replaced by :func:`rebalance` with ``c = setup.rebalance_c``:
    :math:`(F_{T+1}, G_{T+1}) = \mathrm{rebalance}(F_T, G_T)`, then plain GD resumes with the same
    :math:`\eta`. The switch iterations are in ``trajectory.params["switch"]`` (``(B,)``; absent
    without ``one_step``). Metrics: ``squared_error``, ``loss``, ``imbalance_min``, ``lambda_min_FtF``.
    """
    setup = _check_setup(setup)
    op = _operator_of(setup, operator)
    prob = problem(setup, operator=op, sigma=sigma, symmetric=False)
    check_step_size(setup.eta, float(prob.singular_values[0]))
    n_steps = _steps(setup, op, steps)
    F0, G0 = initial_factors(setup, k, symmetric=False)
    sched = schedule(n_steps)
    if not one_step:
        return gd_asymmetric(prob, F0, G0, setup.eta, n_steps, record=sched, metrics=ASYMMETRIC_METRICS,
                             on_divergence="raise", progress=progress)
    T, FT, GT = _switch_phase(prob, F0, G0, setup.eta, setup.switch_threshold, n_steps - 1, setup.rebalance_c)
    F1, G1 = rebalance(FT, GT, setup.rebalance_c)
    t_max = int(T.max())
    pre = gd_asymmetric(prob, F0, G0, setup.eta, t_max, record=sched[sched <= t_max],
                        metrics=ASYMMETRIC_METRICS, on_divergence="raise")
    t0 = int(T.min()) + 1
    post_steps = n_steps - t0
    # post-switch run b at its own step s is the iteration T_b + 1 + s of the combined run
    wanted = np.unique(np.concatenate([sched[sched > T[b]] - T[b] - 1 for b in range(T.size)]))
    post = gd_asymmetric(prob, F1, G1, setup.eta, post_steps, record=wanted[wanted <= post_steps],
                         metrics=ASYMMETRIC_METRICS, on_divergence="raise", progress=progress)
    metrics = {}
    for name in ASYMMETRIC_METRICS:
        out = np.full((sched.size, T.size), np.nan)
        for b in range(T.size):
            before = sched <= T[b]
            out[before, b] = pre[name][np.searchsorted(pre.iterations, sched[before]), b]
            s = sched[~before] - T[b] - 1
            out[~before, b] = post[name][np.searchsorted(post.iterations, s), b]
        metrics[name] = out
    # final factors: run b stops at s = n_steps - T_b - 1 <= post_steps; only the run with the
    # earliest switch ends exactly at n_steps, the others ran past it (their factors are at post_steps).
    return Trajectory(iterations=sched, metrics=metrics, factors=post.factors, eta=post.eta,
                      diverged_at=np.maximum(pre.diverged_at, post.diverged_at), symmetric=False,
                      form=post.form, steps=n_steps,
                      params={**post.params, "switch": T, "c": setup.rebalance_c})


def per_run(setup: XiongSetup, values: npt.ArrayLike) -> np.ndarray:
    """Reshape an array with a run axis last-but-... ``(..., B)`` to ``(..., len(alphas), len(seeds))``."""
    v = np.asarray(values)
    return v.reshape(*v.shape[:-1], len(setup.alphas), setup.n_seeds)


# -- book/xiong/asymmetric and book/xiong/one_step: measurements (Section 4 and Section 5) ----------

#: The window of the asymmetric exact-parameterized and post-switch rate fits, :math:`\lVert Z_t - M^\star\rVert_F^2`
#: from ``hi`` down to ``lo``, in the tail where the slowest mode dominates (rounding floor ~1e-28).
RATE_WINDOW = {"hi": 1e-6, "lo": 1e-12}
#: The window of the symmetric exact-parameterized fits, two decades deeper (a symmetric over-parameterized
#: run decays like :math:`(k-r)/(4\eta^2t^2)` (1.6e-6 after 8000 steps), and on a window that such a
#: tail enters the fitted local slope is the same for every alpha; below 1e-8 only a linear decay
#: arrives within the budget, so entering the window is part of "linear").
SYMMETRIC_RATE_WINDOW = {"hi": 1e-8, "lo": 1e-14}
#: Steps of the exact-parameterized runs (they cross RATE_WINDOW in about 700 at every alpha).
EXACT_STEPS = 2000
#: Steps of the sensitivity sweeps of the one-step section (switch ~250 plus the post-switch decay).
SENSITIVITY_STEPS = 4000
#: The target of "reaches": squared error 1e-10.
REACH_LEVEL = 1e-10
#: The common budget of the "reaches 1e-10" comparison (asymmetric at the largest alpha needs ~600).
REACH_STEPS = 2000


def _c2_grid(setup: XiongSetup) -> tuple[float, ...]:
    return (0.25 * setup.sigma[0], 0.5 * setup.sigma[0], setup.sigma[0], 2.0 * setup.sigma[0])


def _positive_rate(iterations: np.ndarray, values: np.ndarray, *, hi: float, lo: float) -> np.ndarray:
    from ..analysis import fit_rate
    return -np.asarray(fit_rate(iterations, values, lo=lo, hi=hi), dtype=np.float64)


def _spread(values: np.ndarray) -> float:
    """max / min - 1 of positive numbers; NaN if any is not finite and positive."""
    v = np.asarray(values, dtype=np.float64)
    if not (np.all(np.isfinite(v)) and np.all(v > 0)):
        return float("nan")
    return float(v.max() / v.min() - 1.0)


def k_exact(setup: XiongSetup) -> int:
    """Columns of the exact-parameterized runs: ``setup.k_exact``, or :math:`r` when None."""
    return setup.r if setup.k_exact is None else int(setup.k_exact)


def small_init_alphas(setup: XiongSetup) -> np.ndarray:
    r"""Mask over ``setup.alphas`` of the small initialisations, :math:`\alpha^2 \le \sigma_r/10`.

    The imbalance :math:`\Delta_0 \approx \tfrac89\alpha^2 I` shifts the balanced factors' smallest
    Gram eigenvalue from :math:`\sigma_r` to about :math:`\sigma_r - \tfrac49\alpha^2`, a relative
    shift :math:`\tfrac49\alpha^2/\sigma_r` of the exact-parameterized rate: below 5 % on this mask
    (3 % at :math:`\alpha = 0.2`), 18 % at :math:`\alpha = 0.5`, :math:`\sigma_r = 0.6`.
    """
    a = np.asarray(setup.alphas, dtype=np.float64)
    return a ** 2 <= min(setup.sigma) / 10.0


def exact_rates(setup: XiongSetup, *, symmetric: bool) -> np.ndarray:
    """Fitted rates (per iteration, > 0) of the squared error on :data:`RATE_WINDOW` (symmetric: :data:`SYMMETRIC_RATE_WINDOW`), ``(alphas, seeds)``, k = :func:`k_exact`.

    :data:`EXACT_STEPS` steps when :math:`k = r`, four times as many otherwise (a control).
    """
    steps = min(setup.steps, EXACT_STEPS if k_exact(setup) == setup.r else 4 * EXACT_STEPS)
    run = run_symmetric if symmetric else run_asymmetric
    traj = run(setup, k_exact(setup), steps=steps)
    window = SYMMETRIC_RATE_WINDOW if symmetric else RATE_WINDOW
    return per_run(setup, _positive_rate(traj.iterations, traj["squared_error"], **window))


def exact_rate_spread(setup: XiongSetup, *, symmetric: bool) -> tuple[float, float]:
    """Spread across alpha of the median-over-directions rates, and 0.

    Asymmetric (small alphas only): ``max / min - 1``, NaN when a run never enters the window.
    Symmetric: ``(max - min) / max``, where a run that never enters the window (a sublinear tail)
    has rate 0, so the spread is a finite number in [0, 1] and equals 1 when some alpha has no
    linear rate at all; for close rates it agrees with ``max / min - 1`` to first order.
    """
    rates = exact_rates(setup, symmetric=symmetric)
    if symmetric:
        med = np.median(np.where(np.isfinite(rates), rates, 0.0), axis=1)
        return float((med.max() - med.min()) / med.max()) if med.max() > 0 else 1.0, 0.0
    med = np.median(rates, axis=1)[small_init_alphas(setup)]
    return _spread(med), 0.0


def over_rates(setup: XiongSetup) -> np.ndarray:
    r"""Fitted rates of the over-parameterized asymmetric runs (``k_over``), ``(alphas, seeds)``.

    Window: from :math:`10^{-2}\alpha^4` (a decade below the redundant block's initial error
    :math:`\approx\alpha^2(\alpha/3)^2`, so the signal modes have died out) down to :math:`10^{-24}`
    or the end of the run.
    """
    traj = run_asymmetric(setup, setup.k_over)
    a = np.repeat(np.asarray(setup.alphas, dtype=np.float64), setup.n_seeds)
    err = traj["squared_error"]
    rates = np.array([_positive_rate(traj.iterations, err[:, b], hi=1e-2 * a[b] ** 4, lo=1e-24)
                      for b in range(err.shape[1])])
    return per_run(setup, rates)


def over_rate_constant(setup: XiongSetup) -> np.ndarray:
    r"""rate / :math:`(\eta\alpha^2)` of :func:`over_rates`, ``(alphas, seeds)``."""
    a = np.asarray(setup.alphas, dtype=np.float64)
    return over_rates(setup) / (setup.eta * a[:, None] ** 2)


def over_rate_spread(setup: XiongSetup) -> tuple[float, float]:
    r"""(max/min - 1 across alpha of the median-over-directions rate / :math:`(\eta\alpha^2)`, 0)."""
    return _spread(np.median(over_rate_constant(setup), axis=1)), 0.0


def reach_fraction(setup: XiongSetup) -> tuple[float, float]:
    r"""(fraction of directions at the largest alpha where asymmetric GD reaches :data:`REACH_LEVEL` and symmetric GD has not, 1).

    Both with ``k_over`` columns, the same :math:`\alpha`, direction index and budget :data:`REACH_STEPS`.
    """
    final = final_errors(setup)
    a_fin, s_fin = final["asymmetric"][0], final["symmetric"][0]
    return float(np.mean((a_fin <= REACH_LEVEL) & (s_fin > REACH_LEVEL))), 1.0


def final_errors(setup: XiongSetup) -> dict[str, np.ndarray]:
    """Squared errors ``(alphas, seeds)`` after :data:`REACH_STEPS` steps with ``k_over`` columns, keys ``asymmetric``, ``symmetric``."""
    steps = min(setup.steps, REACH_STEPS)
    return {"asymmetric": per_run(setup, run_asymmetric(setup, setup.k_over, steps=steps)["squared_error"][-1]),
            "symmetric": per_run(setup, run_symmetric(setup, setup.k_over, steps=steps)["squared_error"][-1])}


def sensing_setup(setup: XiongSetup) -> XiongSetup:
    r"""The sensing illustration's setup: the chapter's sizes (:math:`n`, :math:`m`) with ``operator="sensing"``."""
    from ..setups import with_overrides
    return with_overrides(setup, {"operator": "sensing"})


# one-step section

def switch_states(setup: XiongSetup, k: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Switch iteration (from the loss) and factors there, per run: ``(T, F_T, G_T)`` (k defaults to ``k_over``)."""
    k = setup.k_over if k is None else int(k)
    prob = problem(setup, symmetric=False)
    F0, G0 = initial_factors(setup, k, symmetric=False)
    return _switch_phase(prob, F0, G0, setup.eta, setup.switch_threshold, setup.steps - 1, setup.rebalance_c)


def switch_c2(setup: XiongSetup) -> np.ndarray:
    r""":math:`c^2` of the re-balancing per run: ``rebalance_c**2``, or :math:`\lVert F_TG_T^\top\rVert_2`."""
    T, F, G = switch_states(setup)
    if setup.rebalance_c is not None:
        return np.full(T.size, float(setup.rebalance_c) ** 2)
    return np.linalg.norm(F @ np.swapaxes(G, 1, 2), ord=2, axis=(1, 2))


def switch_product_change(setup: XiongSetup) -> tuple[float, float]:
    r"""(largest :math:`\lVert F'G'^\top - F_TG_T^\top\rVert_F/\lVert F_TG_T^\top\rVert_F` over runs, 0).

    :math:`(F', G')` is :func:`rebalance` at the switch, or, with ``setup.one_step = False``, the
    ordinary GD step that plain GD takes there.
    """
    T, F, G = switch_states(setup)
    if setup.one_step:
        F1, G1 = rebalance(F, G, setup.rebalance_c)
    else:
        prob = problem(setup, symmetric=False)
        loop = GDLoop(prob, (F.copy(), G.copy()), setup.eta, steps=1)
        loop.form_iterate()
        loop.update()
        F1, G1 = loop.factors
    P0 = F @ np.swapaxes(G, 1, 2)
    P1 = F1 @ np.swapaxes(G1, 1, 2)
    rel = np.linalg.norm(P1 - P0, axis=(1, 2)) / np.linalg.norm(P0, axis=(1, 2))
    return float(rel.max()), 0.0


def one_step_run(setup: XiongSetup, *, steps: int | None = None) -> Trajectory:
    """The over-parameterized asymmetric run with the one-step modification (``setup.one_step``) or without it."""
    return run_asymmetric(setup, setup.k_over, steps=steps, one_step=setup.one_step)


def run_switches(setup: XiongSetup, traj: Trajectory) -> np.ndarray:
    """Switch iteration of each run of ``traj``: its recorded one, or the rule applied to its loss (plain GD)."""
    if "switch" in traj.params:
        return np.asarray(traj.params["switch"])
    return switch_iterations(traj["loss"], traj.iterations, setup.switch_threshold)


def lambda_after_switch(setup: XiongSetup) -> np.ndarray:
    r"""Smallest :math:`\lambda_{\min}(F_t^\top F_t)` over the recorded iterations after the switch, over :math:`c^2`, per run."""
    traj = one_step_run(setup)
    T, c2 = run_switches(setup, traj), switch_c2(setup)
    lam = traj["lambda_min_FtF"]
    return np.array([np.nanmin(lam[traj.iterations > T[b], b]) / c2[b] for b in range(T.size)])


def lambda_raised(setup: XiongSetup) -> tuple[float, float]:
    r"""(median over runs of :func:`lambda_after_switch`, 1): :math:`F^\top F` stays at :math:`c^2 I` after the step."""
    return float(np.median(lambda_after_switch(setup))), 1.0


def post_switch_rates(setup: XiongSetup, *, steps: int | None = None) -> np.ndarray:
    """Fitted rates after the switch (window :data:`RATE_WINDOW`, iterations after the switch), ``(alphas, seeds)``."""
    traj = one_step_run(setup, steps=steps)
    T = run_switches(setup, traj)
    err = traj["squared_error"]
    rates = np.array([_positive_rate(traj.iterations[traj.iterations > T[b]], err[traj.iterations > T[b], b],
                                     **RATE_WINDOW) for b in range(T.size)])
    return per_run(setup, rates)


def post_switch_spread(setup: XiongSetup) -> tuple[float, float]:
    """(max/min - 1 across alpha of the median-over-directions post-switch rates, 0)."""
    return _spread(np.median(post_switch_rates(setup), axis=1)), 0.0


def post_switch_vs_theory(setup: XiongSetup) -> tuple[float, float]:
    r"""(median post-switch rate, :func:`matsense.theory.asymmetric_linear_rate` at :math:`\min(c^2, \sigma_r^2/c^2)`)."""
    from ..theory import asymmetric_linear_rate, one_step_gram_eigenvalue
    c2 = float(np.median(switch_c2(setup)))
    pred = asymmetric_linear_rate(setup.eta, one_step_gram_eigenvalue(min(setup.sigma), c2))
    return float(np.median(post_switch_rates(setup))), float(pred)


def c_sensitivity(setup: XiongSetup) -> dict[str, np.ndarray]:
    r"""Post-switch rates ``(len(c2), alphas, seeds)`` for :math:`c^2 \in \sigma_1\times\{1/4, 1/2, 1, 2\}`, with predictions."""
    from ..setups import with_overrides
    from ..theory import asymmetric_linear_rate, one_step_gram_eigenvalue
    c2s = _c2_grid(setup)
    rates = np.stack([post_switch_rates(with_overrides(setup, {"rebalance_c": float(np.sqrt(c2))}),
                                        steps=SENSITIVITY_STEPS) for c2 in c2s])
    pred = np.array([asymmetric_linear_rate(setup.eta, one_step_gram_eigenvalue(min(setup.sigma), c2)) for c2 in c2s])
    return {"c2": np.array(c2s), "rates": rates, "predicted": pred}


def threshold_sensitivity(setup: XiongSetup, thresholds: Sequence[float] = (1e-1, 1e-2, 1e-3, 1e-4)
                          ) -> dict[str, np.ndarray]:
    """Switch iterations and iterations to reach :data:`REACH_LEVEL`, ``(len(thresholds), alphas, seeds)``."""
    from ..analysis import first_crossing
    from ..setups import with_overrides
    switch, reach = [], []
    for th in thresholds:
        traj = one_step_run(with_overrides(setup, {"switch_threshold": float(th)}), steps=SENSITIVITY_STEPS)
        switch.append(per_run(setup, run_switches(setup, traj)))
        reach.append(per_run(setup, first_crossing(-traj["squared_error"], -REACH_LEVEL, traj.iterations)))
    return {"thresholds": np.array(thresholds, dtype=np.float64), "switch": np.stack(switch), "reach": np.stack(reach)}


# -- book/xiong/preliminaries: the imbalance under GD, and symmetric A_i for F G^T (added by X1; additive) --

@disk_cached()
def imbalance_drift(setup: XiongSetup, *, k: int | None = None, steps: int | None = None) -> dict[str, np.ndarray]:
    r"""Drift of :math:`\lambda_{\min}(\Delta_t)`, :math:`\Delta_t = F_t^\top F_t - G_t^\top G_t`, under GD on factorization, and two bounds on it.

    Plain GD on :math:`L = \tfrac12\lVert FG^\top - M^\star\rVert_F^2` (``k`` default ``setup.k_over``,
    ``steps`` default ``setup.steps_mf``) from the chapter's initialisation, every run of
    ``alphas x seeds``. With :math:`S_t = F_tG_t^\top - M^\star`, :math:`\nabla_F L = S_tG_t` and
    :math:`\nabla_G L = S_t^\top F_t`, one step changes the imbalance by exactly (our derivation)

    .. math:: \Delta_{t+1} - \Delta_t = \eta^2\bigl(\nabla_F L^\top\nabla_F L - \nabla_G L^\top\nabla_G L\bigr),

    a difference of two PSD matrices, of spectral norm at most :math:`\eta^2\lVert\nabla L_t\rVert_F^2`.
    By Weyl's inequality

    .. math:: |\lambda_{\min}(\Delta_T) - \lambda_{\min}(\Delta_0)| \le \eta^2\sum_{t<T}\lVert\nabla L_t\rVert_F^2
              \le \frac{\eta\,(L_0 - L_T)}{1 - \eta\beta/2} =: B_T,

    the second step by the descent lemma :math:`L_{t+1} \le L_t - \eta(1 - \eta\beta/2)\lVert\nabla L_t\rVert_F^2`,
    valid when :math:`\eta\beta < 2` for a smoothness constant :math:`\beta` of :math:`L` on every segment
    :math:`[x_t, x_{t+1}]`. The Hessian of :math:`L` along :math:`(dF, dG)` is
    :math:`\lVert dF\,G^\top + F\,dG^\top\rVert_F^2 + 2\langle S, dF\,dG^\top\rangle
    \le (\lVert F\rVert_2^2 + \lVert G\rVert_2^2 + \lVert S\rVert_2)\lVert(dF, dG)\rVert^2`, and on the
    segment :math:`\lVert F\rVert_2 \le f_t = \max(\lVert F_t\rVert_2, \lVert F_{t+1}\rVert_2)` (a norm is
    convex), likewise :math:`g_t`, and :math:`\lVert S\rVert_2 \le f_tg_t + \lVert M^\star\rVert_2`; so
    :math:`\beta = \max_t (f_t^2 + g_t^2 + f_tg_t + \lVert M^\star\rVert_2)`.

    Returns per run ``(B,)``: ``lam0`` :math:`\lambda_{\min}(\Delta_0)`, ``lamT``, ``drift``
    :math:`|\lambda_{\min}(\Delta_T) - \lambda_{\min}(\Delta_0)|`, ``grad_bound``
    :math:`\eta^2\sum_t\lVert\nabla L_t\rVert_F^2`, ``step_factor`` :math:`\eta\beta/2` and
    ``bound`` :math:`B_T` (``inf`` where :math:`\eta\beta/2 \ge 1`: the descent lemma gives no bound).
    """
    setup = _check_setup(setup)
    k = setup.k_over if k is None else int(k)
    n_steps = setup.steps_mf if steps is None else int(steps)
    M = problem(setup, operator="factorization").M_star
    F, G = initial_factors(setup, k, symmetric=False)
    eta = setup.eta
    norm_M = float(np.linalg.norm(M, 2))

    def gram(A):
        return np.swapaxes(A, 1, 2) @ A

    def spec(A):  # spectral norm of each (n, k) factor, from its k x k Gram matrix
        return np.sqrt(np.maximum(np.linalg.eigvalsh(gram(A))[:, -1], 0.0))

    def loss(F, G):
        S = F @ np.swapaxes(G, 1, 2) - M
        return 0.5 * np.einsum("bij,bij->b", S, S)

    lam0 = np.linalg.eigvalsh(gram(F) - gram(G))[:, 0]
    L0 = loss(F, G)
    grad_sq = np.zeros(F.shape[0])
    beta = np.zeros(F.shape[0])
    f, g = spec(F), spec(G)
    for _ in range(n_steps):
        S = F @ np.swapaxes(G, 1, 2) - M
        dF, dG = S @ G, np.swapaxes(S, 1, 2) @ F
        grad_sq += np.einsum("bij,bij->b", dF, dF) + np.einsum("bij,bij->b", dG, dG)
        F, G = F - eta * dF, G - eta * dG
        f1, g1 = spec(F), spec(G)
        fs, gs = np.maximum(f, f1), np.maximum(g, g1)
        beta = np.maximum(beta, fs ** 2 + gs ** 2 + fs * gs + norm_M)
        f, g = f1, g1
    lamT = np.linalg.eigvalsh(gram(F) - gram(G))[:, 0]
    step_factor = eta * beta / 2
    with np.errstate(divide="ignore"):
        bound = np.where(step_factor < 1, eta * (L0 - loss(F, G)) / np.maximum(1 - step_factor, 1e-300), np.inf)
    return {"lam0": lam0, "lamT": lamT, "drift": np.abs(lamT - lam0), "grad_bound": eta ** 2 * grad_sq,
            "step_factor": step_factor, "bound": bound}


def imbalance_drift_measure(setup: XiongSetup) -> tuple[float, float]:
    r"""How much of the derived bound the drift uses, and 1: :math:`\max_b\max(\text{drift}_b/B_b,\ \eta\beta_b/2)`.

    The bound :math:`B_T = \eta(L_0 - L_T)/(1 - \eta\beta/2)` of :func:`imbalance_drift` holds when
    :math:`\eta\beta/2 < 1`; the measured number is below 1 exactly when, on every run, the step
    size satisfies that condition *and* the drift stays below the bound. A step that breaks the
    condition gives :math:`\eta\beta/2 \ge 1` (a finite number above 1), never an infinity.
    """
    d = imbalance_drift(setup)
    ratio = np.where(np.isfinite(d["bound"]), d["drift"] / np.where(np.isfinite(d["bound"]), d["bound"], 1.0), 0.0)
    return float(np.max(np.maximum(ratio, d["step_factor"]))), 1.0


def imbalance_relative_drift(setup: XiongSetup) -> float:
    r"""Largest relative drift :math:`\max_b |\lambda_{\min}(\Delta_T) - \lambda_{\min}(\Delta_0)|/\lambda_{\min}(\Delta_0)` (for the prose)."""
    d = imbalance_drift(setup)
    return float(np.max(d["drift"] / d["lam0"]))


def imbalance_bound_share(setup: XiongSetup) -> float:
    r"""Largest share of the derived bound the drift uses, :math:`\max_b 	ext{drift}_b / B_b` (for the prose; ``inf`` without a bound)."""
    d = imbalance_drift(setup)
    return float(np.max(d["drift"] / d["bound"]))


def _symmetric_matrices_as_general(prob: SensingProblem) -> SensingProblem:
    """The same symmetric sensing matrices, declared general so that ``gd_asymmetric`` accepts them (the pitfall)."""
    from ..operators import DenseOperator
    op = DenseOperator(np.array(prob.operator.full_design()), prob.n1, prob.n2, symmetric=False)
    return make_sensing_problem(prob.M_star, op)


@disk_cached()
def invisible_part_run(setup: XiongSetup, *, progress: bool = False) -> Trajectory:
    r"""Asymmetric GD (:math:`k = r`, :math:`\alpha =` ``setup.alphas[0]``, every direction) on the sensing problem.

    With ``setup.sensing_matrices == "symmetric"`` the :math:`A_i` are the symmetric matrices of the
    symmetric parameterization (the pitfall), otherwise general ones (:func:`problem`). Runs
    ``max(400, setup.steps_sensing // 3)`` steps; records ``squared_error``, ``antisymmetric``
    :math:`\lVert (Z_t - Z_t^\top)/2\rVert_F^2` and ``loss`` on :func:`schedule`.
    """
    setup = _check_setup(setup)
    if setup.sensing_matrices == "symmetric":
        prob = _symmetric_matrices_as_general(problem(setup, operator="sensing", symmetric=True))
    else:
        prob = problem(setup, operator="sensing", symmetric=False)
    one = XiongSetup(**{**{f: getattr(setup, f) for f in setup.__dataclass_fields__}, "alphas": setup.alphas[:1]})
    F0, G0 = initial_factors(one, setup.r, symmetric=False)
    n_steps = max(400, setup.steps_sensing // 3)

    def antisymmetric(state):
        A = (state.X - np.swapaxes(state.X, 1, 2)) / 2
        return np.einsum("bij,bij->b", A, A)

    return gd_asymmetric(prob, F0, G0, setup.eta, n_steps, record=schedule(n_steps),
                         metrics={"squared_error": _squared_error, "antisymmetric": antisymmetric, "loss": None},
                         on_divergence="raise", progress=progress)


def antisymmetric_share(setup: XiongSetup) -> tuple[float, float]:
    r"""Share of the final error carried by the antisymmetric part, median over directions, and 1.

    :math:`\lVert (Z_T - Z_T^\top)/2\rVert_F^2 / \lVert Z_T - M^\star\rVert_F^2` on
    :func:`invisible_part_run`. The error splits orthogonally into a symmetric and an antisymmetric
    part; symmetric :math:`A_i` see only the first, so GD fits it and the share tends to 1.
    """
    tr = invisible_part_run(setup)
    return float(np.median(tr["antisymmetric"][-1] / tr["squared_error"][-1])), 1.0


# -- book/xiong/symmetric_lower_bound: the Omega(1/T^2) lower bound (Section 3) ---------------------

#: Rounding floor of the squared error: late-time measurements use only the recorded iterations where
#: every run of the batch is above it (float64 rounding of ||X X^T - M*||_F^2 sits near 1e-30, and
#: exact parameterization reaches it within about a thousand steps).
ERROR_FLOOR = 1e-20



def above_floor(trajectory: Trajectory, floor: float = ERROR_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """``(iterations, squared errors (T', B))`` up to the last recorded iteration where every run's error exceeds ``floor``."""
    err = np.asarray(trajectory["squared_error"], dtype=np.float64)
    ok = np.all(np.isfinite(err) & (err > floor), axis=1)
    if not ok.any():
        raise ValueError(f"no recorded iteration has every squared error above {floor:g}")
    last = int(np.flatnonzero(ok)[-1])
    return np.asarray(trajectory.iterations[:last + 1]), err[:last + 1]


def scaled_error(setup: XiongSetup, trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    r"""``(iterations, t^2 eta^2 err)`` above the floor, the second of shape ``(T', len(alphas), n_seeds)``."""
    it, err = above_floor(trajectory)
    return it, per_run(setup, (it[:, None] * setup.eta) ** 2 * err)


def asymptote_constant(iterations: npt.ArrayLike, values: npt.ArrayLike, eta: float, *,
                       last_fraction: float = 0.5) -> np.ndarray:
    r"""Offset-free estimate of :math:`C = \lim_t t^2\eta^2 v_t` for :math:`v_t = C/(\eta(t + t_0))^2`.

    Least-squares line :math:`v_t^{-1/2} = a t + b` over :math:`t \ge (1 - \text{last\_fraction})\,t_{\max}`,
    then :math:`C = \eta^2/a^2`: the delay :math:`t_0` (which depends on the initialisation) goes into
    :math:`b` and does not bias :math:`C`. ``values`` ``(T,)`` or ``(T, B)``; returns ``(B,)`` (or a 0-d array).
    """
    it = np.asarray(iterations, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if not (0 < last_fraction <= 1):
        raise ValueError(f"last_fraction must lie in (0, 1], got {last_fraction!r}")
    w = it >= (1 - last_fraction) * it.max()
    if w.sum() < 3:
        raise ValueError("fewer than 3 recorded iterations in the fit window")
    a = np.polyfit(it[w], v[w] ** -0.5, 1)[0]
    return (eta / a) ** 2


def sym_late_slope(setup: XiongSetup) -> tuple[float, float]:
    r"""Late log-log slope of the error at the largest :math:`\alpha`, ``k = setup.k_over`` (median over directions); predicted -2.

    :func:`matsense.analysis.loglog_slope` over the last doubling of the iterations above the
    rounding floor (:func:`above_floor`).
    """
    from ..analysis import loglog_slope
    it, err = above_floor(run_symmetric(setup, setup.k_over))
    slopes = per_run(setup, loglog_slope(it, err, last_fraction=0.5))
    return float(np.median(slopes[0])), -2.0


def sym_limit(setup: XiongSetup) -> tuple[float, float]:
    r""":math:`t^2\eta^2\lVert X_tX_t^\top - M^\star\rVert_F^2` at the last iteration above the floor, largest :math:`\alpha` (median over directions).

    Predicted: :func:`matsense.theory.redundant_limit` ``(k_over, r)`` :math:`= (k - r)/4`.
    """
    from ..theory import redundant_limit
    _, scaled = scaled_error(setup, run_symmetric(setup, setup.k_over))
    return float(np.median(scaled[-1, 0])), redundant_limit(setup.k_over, setup.r)


def sym_constants(setup: XiongSetup, k: int | None = None) -> np.ndarray:
    r""":func:`asymptote_constant` of every run of ``run_symmetric(setup, k)`` (default ``k_over``), shape ``(len(alphas), n_seeds)``."""
    it, err = above_floor(run_symmetric(setup, setup.k_over if k is None else k))
    return per_run(setup, asymptote_constant(it, err, setup.eta))


def sym_constant_spread(setup: XiongSetup) -> tuple[float, float]:
    r"""Spread (max - min)/max over :math:`\alpha` of the asymptotic constants :func:`sym_constants` (median over directions); predicted 0.

    Curves sharing one asymptote :math:`C/(\eta^2t^2)` have the same constant whatever :math:`\alpha`,
    which only delays them.
    """
    C = sym_constants(setup)
    return float(np.median((C.max(axis=0) - C.min(axis=0)) / C.max(axis=0))), 0.0


@disk_cached()
def sym_k_sweep(setup: XiongSetup) -> dict[str, np.ndarray]:
    r"""For each ``k`` of ``setup.k_grid``: :math:`t^2\eta^2\mathrm{err}` at the last iteration above the floor and the constants :func:`sym_constants`.

    Returns ``{"k": (K,), "last_t": (K,), "scaled_last": (K, len(alphas), n_seeds), "constants": (K, len(alphas), n_seeds)}``.
    """
    out: dict[str, list] = {"k": [], "last_t": [], "scaled_last": [], "constants": []}
    for k in setup.k_grid:
        it, scaled = scaled_error(setup, run_symmetric(setup, k))
        out["k"].append(k)
        out["last_t"].append(it[-1])
        out["scaled_last"].append(scaled[-1])
        out["constants"].append(sym_constants(setup, k))
    return {key: np.asarray(v) for key, v in out.items()}


# -- book/xiong/intro: the four regimes of the paper's Table 1, measured (added by X1; additive) ------

#: The window of the linear-rate fits of the intro, the squared error falling from 1e-4 to 1e-10.
REGIME_WINDOW = (1e-4, 1e-10)
#: The four cells of Table 1: key -> (symmetric?, over-parameterized?, the paper's rate).
TABLE1 = {"sym-exact": (True, False, "exp(-Omega(T))"), "sym-over": (True, True, "Omega(1/T^2)"),
          "asym-exact": (False, False, "exp(-Omega(T))"), "asym-over": (False, True, "exp(-Omega(alpha^2 T))")}


def regime_run(setup: XiongSetup, key: str) -> Trajectory:
    """The cached run of one cell of Table 1 (``k = r`` or ``k = setup.k_over``) on ``setup``."""
    sym, over, _ = TABLE1[key]
    k = setup.k_over if over else setup.r
    return run_symmetric(setup, k) if sym else run_asymmetric(setup, k)


def regime_signature(setup: XiongSetup, key: str) -> dict[str, float]:
    r"""What the intro measures on one cell of Table 1 (medians over directions).

    ``alpha_exponent``: :math:`p` in :math:`|\text{rate}| \propto \alpha^p`, the per-direction slope of
    :math:`\log|\text{rate}|` against :math:`\log\alpha` (rate: :func:`matsense.analysis.fit_rate`
    on :data:`REGIME_WINDOW`), NaN if a run never falls below 1e-4; ``late_slope_min`` and
    ``late_slope_max``: the smallest and largest over :math:`\alpha` of the late log-log slope
    (:func:`matsense.analysis.loglog_slope`, last half of the run); ``rate_at_smallest_alpha``;
    ``final_error``: the largest final squared error.
    """
    from ..analysis import fit_line, fit_rate, loglog_slope
    tr = regime_run(setup, key)
    err = per_run(setup, tr["squared_error"])                              # (T, A, S)
    hi, lo = REGIME_WINDOW
    rates = fit_rate(tr.iterations, err, lo=lo, hi=hi)                      # (A, S)
    la = np.log(np.asarray(setup.alphas))
    if np.all(np.isfinite(rates)) and len(setup.alphas) > 1:
        p = float(np.median([fit_line(la, np.log(-rates[:, j])).slope for j in range(rates.shape[1])]))
    else:
        p = float("nan")
    late = np.median(loglog_slope(tr.iterations, err, last_fraction=0.5), axis=1)   # (A,)
    return {"alpha_exponent": p, "late_slope_min": float(late.min()), "late_slope_max": float(late.max()),
            "rate_at_smallest_alpha": float(np.median(rates[-1])), "final_error": float(np.nanmax(err[-1]))}


def regime_matches(setup: XiongSetup, key: str) -> bool:
    r"""Whether a cell's measurement has the shape of its Table 1 entry (the intro's stated rule).

    ``exp(-Omega(T))``: the rate does not depend on :math:`\alpha`, :math:`|p| \le 0.5`;
    ``exp(-Omega(alpha^2 T))``: :math:`1.5 \le p \le 2.5`; ``Omega(1/T^2)``: the late log-log slope
    lies in :math:`[-2.5, -1.25]` at every :math:`\alpha` (a power law, not a linear rate).
    """
    sig = regime_signature(setup, key)
    rate = TABLE1[key][2]
    if rate == "Omega(1/T^2)":
        return -2.5 <= sig["late_slope_min"] and sig["late_slope_max"] <= -1.25
    p = sig["alpha_exponent"]
    if rate == "exp(-Omega(T))":
        return bool(abs(p) <= 0.5)
    return bool(1.5 <= p <= 2.5)


def table1_matches(setup: XiongSetup) -> tuple[float, float]:
    """Number of the four cells of Table 1 whose measurement matches the paper's entry (:func:`regime_matches`), and 4."""
    return float(sum(regime_matches(setup, key) for key in TABLE1)), float(len(TABLE1))


# -- book/xiong/conclusion: an asymmetric factorization for a symmetric problem, as a recipe (X1; additive) --

#: Target squared error of the recipe comparison.
RECIPE_TARGET = 1e-10


def recipe_steps(setup: XiongSetup) -> int:
    """Budget of the recipe runs: ``max(2000, setup.steps_mf // 10)`` iterations (factorization)."""
    return max(2000, setup.steps_mf // 10)


def recipe_times(setup: XiongSetup) -> dict[str, np.ndarray]:
    r"""Iterations to reach :data:`RECIPE_TARGET` per run ``(A, S)`` (NaN: not within the budget).

    ``recipe``: asymmetric :math:`FG^\top` with :math:`k = \max` ``setup.k_grid`` (the rank
    over-estimated), with the one-step modification when ``setup.one_step``; ``oracle``: symmetric
    :math:`XX^\top` with the exact rank :math:`k = r`; ``symmetric_over``: symmetric with the same
    over-estimated :math:`k`. Factorization, ``recipe_steps(setup)`` iterations.
    """
    from ..analysis import first_crossing
    k, steps = max(setup.k_grid), recipe_steps(setup)
    runs = {"recipe": run_asymmetric(setup, k, operator="factorization", steps=steps, one_step=setup.one_step),
            "oracle": run_symmetric(setup, setup.r, operator="factorization", steps=steps),
            "symmetric_over": run_symmetric(setup, k, operator="factorization", steps=steps)}
    return {name: per_run(setup, first_crossing(-tr["squared_error"], -RECIPE_TARGET, tr.iterations))
            for name, tr in runs.items()}


def _censored(times: np.ndarray, budget: int) -> np.ndarray:
    """Iterations to a target with runs that did not reach it within ``budget`` counted as ``budget`` (a lower bound)."""
    t = np.asarray(times, dtype=np.float64)
    return np.where(np.isfinite(t), t, float(budget))


def recipe_ratio(setup: XiongSetup) -> tuple[float, float]:
    r"""Median iterations to :data:`RECIPE_TARGET` of the recipe over that of the oracle (exact-rank symmetric GD), and 1.

    A run that does not reach the target within the budget counts as the budget (a lower bound on
    its time), so the ratio is always a finite number and, for a recipe that stalls, a lower bound.
    """
    t, budget = recipe_times(setup), recipe_steps(setup)
    return float(np.median(_censored(t["recipe"], budget)) / np.median(_censored(t["oracle"], budget))), 1.0


# book/xiong/intro, preliminaries and conclusion (X1)
