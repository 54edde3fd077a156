r"""What the theorems predict, as plain functions of the problem's parameters.

Incremental learning (Jin, Li, Lyu, Du, Lee 2023), symmetric loss
:math:`L(U) = \tfrac14\lVert\mathcal{A}(UU^\top) - y\rVert^2`, step size :math:`\eta`, ground truth
with eigenvalues :math:`\sigma_1 > \dots > \sigma_r > 0`, initialisation :math:`U_0 = \alpha\bar U`.
Linearising GD around the saddle :math:`Z^\star_{s-1}` (our derivation, not a quote of the paper),
the component of :math:`U_t` along :math:`v_s` grows by the factor :math:`1 + \eta\sigma_s` per step,
so eigenvalue :math:`s` of :math:`Z_t = U_tU_t^\top` is learned after

.. math::

    T_s(\alpha) \approx \frac{\log(1/\alpha)}{\log(1 + \eta\sigma_s)} + O(1)

steps: a line in :math:`\log(1/\alpha)` with slope :math:`1/\log(1 + \eta\sigma_s)`. Between two
learning events the loss sits on a plateau at
:math:`f(Z^\star_s) \approx \tfrac14\sum_{i>s}\sigma_i^2` for a number of steps that grows like
:math:`\bigl(1/\log(1+\eta\sigma_{s+1}) - 1/\log(1+\eta\sigma_s)\bigr)\log(1/\alpha)`.
"""

from __future__ import annotations


import numpy as np
import numpy.typing as npt

from ._validation import check_int, check_positive_array, check_positive_float

__all__ = ["check_step_size", "growth_factor", "learning_time_slope", "predicted_learning_time",
           "plateau_levels", "dwell_time_slope", "isotropy_deviation_prediction",
           "time_ratio_limit", "local_rate", "linear_growth", "step_size_product", "rip_ratio_std",
           "rip_decay_exponent", "plateau_level_tolerance", "growth_exponent_ratio",
           "phase_time_slopes", "factorization_approach_exponent", "low_rank_gaussian_width",
           "gordon_restricted_singular_value", "redundant_block_step", "cubic_recursion",
           "redundant_error", "redundant_limit", "redundant_error_asymptotic",
           "redundant_loglog_slope", "initial_scale_edge", "asymptote_spread_bound",
           "asymmetric_linear_rate", "one_step_gram_eigenvalue", "redundant_pair",
           "redundant_pair_rate", "wind_iterations_per_decade", "wind_horizon",
           "wind_error_reference", "wind_step_bound", "wind_perturbation_budget", "wind_init_bound",
           "minimax_reference", "wind_theorem_steps", "wind_spurious_exponent",
           "wind_breakdown_prediction", "wind_misalignment_estimate", "wind_batch_reference",
           "fresh_gradient_spread", "wind_imbalance_drift", "stacked_norm_at_fit",
           "imbalance_for_norm_bound"]


def _spectrum(sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    sigma = check_positive_array("sigma", sigma)
    if np.any(np.diff(sigma) > 0):
        raise ValueError(f"sigma must be decreasing (sigma_1 >= sigma_2 >= ...), got {sigma}")
    return sigma


def check_step_size(eta: float, sigma_1: float, *, limit: float = 1.0) -> float:
    r"""Return ``eta`` if :math:`0 < \eta\sigma_1 < \text{limit}`; raise a ValueError otherwise.

    Near :math:`Z^\star` the Hessian of :math:`L` scales like :math:`2\sigma_1`, so
    :math:`\eta\sigma_1 \gtrsim 1` makes the last phase of GD unstable; the incremental-learning
    analysis needs :math:`\eta` small compared with :math:`1/\sigma_1`.
    """
    eta = check_positive_float("eta", eta)
    sigma_1 = check_positive_float("sigma_1", sigma_1)
    limit = check_positive_float("limit", limit)
    if eta * sigma_1 >= limit:
        raise ValueError(f"eta must be in (0, {limit / sigma_1:.4g}) so that eta * sigma_1 < {limit:g} "
                         f"(sigma_1 = {sigma_1:g}), got eta = {eta:g}")
    return eta


def growth_factor(eta: float, sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Per-step growth :math:`1 + \eta\sigma_s` of the component along :math:`v_s` near the saddle."""
    eta = check_positive_float("eta", eta)
    return 1.0 + eta * _spectrum(sigma)


def learning_time_slope(eta: float, sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Predicted slope :math:`dT_s/d\log(1/\alpha) = 1/\log(1 + \eta\sigma_s)`, one per :math:`s`."""
    return 1.0 / np.log(growth_factor(eta, sigma))


def predicted_learning_time(alpha: npt.ArrayLike, eta: float, sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Leading-order learning times :math:`\log(1/\alpha)/\log(1 + \eta\sigma_s)`.

    Returns an array of shape ``(len(alpha), len(sigma))`` (without the O(1) offset).
    """
    alpha = check_positive_array("alpha", alpha)
    if np.any(alpha >= 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return np.log(1.0 / alpha)[:, None] * learning_time_slope(eta, sigma)[None, :]


def plateau_levels(sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Loss on plateau :math:`s = 0, \dots, r`: :math:`\tfrac14\sum_{i>s}\sigma_i^2`.

    Exact for matrix factorization (:math:`f(Z^\star_s)` with :math:`Z^\star_s` the eigen-truncation);
    under RIP the plateau sits at :math:`f(Z^\star_s)`, within :math:`O(\delta)` of this value.
    """
    sq = _spectrum(sigma) ** 2
    tail = np.concatenate([np.cumsum(sq[::-1])[::-1], [0.0]])
    return tail / 4.0


def dwell_time_slope(eta: float, sigma: npt.ArrayLike, s: int) -> float:
    r"""Predicted growth of the dwell time on plateau :math:`s` per unit of :math:`\log(1/\alpha)`.

    :math:`1/\log(1+\eta\sigma_{s+1}) - 1/\log(1+\eta\sigma_s)` for :math:`1 \le s < r`.
    """
    slopes = learning_time_slope(eta, sigma)
    s = check_int("s", s, low=1, high=slopes.size - 1)
    return float(slopes[s] - slopes[s - 1])


# -- the measurement operator --------------------------------------------------------------


def isotropy_deviation_prediction(n: int, m: int) -> float:
    r"""Typical :math:`\lVert\mathcal A^*\mathcal A(X) - X\rVert_F / \lVert X\rVert_F` for symmetric Gaussian sensing.

    For a fixed symmetric :math:`X`, :math:`\mathcal A^*\mathcal A(X) - X` is an average of :math:`m`
    centred terms; each of the :math:`N_s = n(n+1)/2` free entries (plus the direction of :math:`X`
    itself) contributes variance :math:`\lVert X\rVert_F^2/m`, so the relative deviation is about
    :math:`\sqrt{(N_s + 1)/m}`.
    """
    n = check_int("n", n, low=1)
    m = check_int("m", m, low=1)
    return float(np.sqrt((n * (n + 1) / 2 + 1) / m))


# -- time ratios, local rates and the linearised growth ------------------------------------

def time_ratio_limit(sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Small-:math:`\eta` limit of :math:`T_s/T_1`: :math:`\sigma_1/\sigma_s` (the first entry is 1).

    From :math:`T_s \approx \log(1/\alpha)/\log(1+\eta\sigma_s)` and :math:`\log(1+x)\approx x`.
    """
    sig = _spectrum(sigma)
    return sig[0] / sig


def local_rate(eta: float, sigma: npt.ArrayLike, *, cross_block: bool = True) -> float:
    r"""Slowest per-step linear rate of :math:`\lVert Z_t - M^\star\rVert_F` near :math:`M^\star` (our derivation).

    :math:`1 - \eta\sigma_r` when the cross block :math:`AB^\top` is excited (under sensing),
    :math:`1 - 2\eta\sigma_r` when it is not (matrix factorization).
    """
    eta = check_positive_float("eta", eta)
    sig_r = float(_spectrum(sigma)[-1])
    return 1.0 - (1.0 if cross_block else 2.0) * eta * sig_r


def linear_growth(c0: npt.ArrayLike, eta: float, eigenvalues: npt.ArrayLike, iterations: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Components under the linearised step :math:`U_{t+1} = (I + \eta S)U_t`: :math:`c_j(1+\eta\lambda_j)^t`.

    ``c0`` and ``eigenvalues`` ``(J,)``; returns ``(T, J)`` for the ``iterations`` ``(T,)``.
    """
    eta = check_positive_float("eta", eta)
    c0 = np.asarray(c0, dtype=np.float64).ravel()
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if c0.shape != lam.shape:
        raise ValueError(f"c0 and eigenvalues must have the same length, got {c0.size} and {lam.size}")
    t = np.asarray(iterations, dtype=np.float64).ravel()
    return c0[None, :] * (1.0 + eta * lam[None, :]) ** t[:, None]


# -- step size, RIP and plateau tolerances ------------------------------------------------

def step_size_product(eta: float, sigma_1: float) -> float:
    r""":math:`\eta\sigma_1`, the quantity the step-size assumption bounds (stable for :math:`\eta\sigma_1 < 1`)."""
    return check_positive_float("eta", eta) * check_positive_float("sigma_1", sigma_1)


def rip_ratio_std(m: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Standard deviation :math:`\sqrt{2/m}` of :math:`\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2` for one fixed :math:`X`.

    For the symmetric Gaussian operator the ratio is distributed as :math:`\chi^2_m/m`.
    """
    m = check_positive_array("m", m)
    return np.sqrt(2.0 / m)


def rip_decay_exponent() -> float:
    r"""Predicted exponent :math:`p` of :math:`\hat\delta \propto m^{p}`: :math:`-1/2`.

    Both the spread :math:`\sqrt{2/m}` of one ratio (:func:`rip_ratio_std`) and the uniform bound
    :math:`\delta \lesssim \sqrt{nr/m}` scale like :math:`m^{-1/2}`; so does the distance
    :math:`\lVert Z_s^\star - M_s^\star\rVert_F = O(\delta)`.
    """
    return -0.5


def plateau_level_tolerance(sigma: npt.ArrayLike, fraction: float = 0.1) -> float:
    r"""An RIP-sized tolerance for a plateau level: ``fraction`` of :math:`\tfrac14\lVert M^\star\rVert_F^2 = \tfrac14\sum_i\sigma_i^2`."""
    fraction = check_positive_float("fraction", fraction)
    return float(fraction * plateau_levels(sigma)[0])


def growth_exponent_ratio(eta: float, sigma: npt.ArrayLike, s: int = 1) -> float:
    r""":math:`\rho_s = \log(1+\eta\sigma_{s+1})/\log(1+\eta\sigma_s) < 1`.

    When component :math:`s` is learned (from size about :math:`\alpha`), component :math:`s+1` has
    grown to about :math:`\alpha^{1-\rho_s}`; :math:`\rho_s\to1` as the gap :math:`\sigma_s - \sigma_{s+1}` closes.
    """
    g = np.log(growth_factor(eta, sigma))
    s = check_int("s", s, low=1, high=g.size - 1)
    return float(g[s] / g[s - 1])


# -- proof_sketch / experiments / conclusion: time slopes from escape eigenvalues, approach exponent --

def phase_time_slopes(eta: float, residual_eigenvalues: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Slopes :math:`S_s = dT_s/d\log(1/\alpha)` of the learning times from the growth rates of every phase (our derivation).

    ``residual_eigenvalues[q, i]`` is the :math:`(i+1)`-th largest eigenvalue of
    :math:`\mathcal{A}^*(y - \mathcal{A}(Z_q^\star))` (:math:`Z_0^\star = 0`), shape ``(r, r)``. Near the
    saddle :math:`Z_q^\star` the not-yet-learned component :math:`j > q` grows by
    :math:`e^{g_j^{(q)}}` per step, :math:`g_j^{(q)} = \log(1+\eta\mu_{j-q}^{(q)})`. It is learned when
    its log-size has grown by :math:`\log(1/\alpha)` (plus constants), so with :math:`S_0 = 0`

    .. math:: 1 = \sum_{q=0}^{j-1} g_j^{(q)}\,(S_{q+1} - S_q).

    For matrix factorization (:math:`\mu^{(q)}_i = \sigma_{q+i}`) this gives :math:`S_s = 1/\log(1+\eta\sigma_s)`.
    """
    E = np.asarray(residual_eigenvalues, dtype=np.float64)
    if E.ndim != 2 or E.shape[0] != E.shape[1] or E.shape[0] < 1:
        raise ValueError(f"residual_eigenvalues must have shape (r, r), got {E.shape}")
    g = np.log1p(float(eta) * E)
    if not np.all(g[:, 0] > 0):
        raise ValueError("every phase needs a positive escape eigenvalue (first column)")
    S = [0.0]
    for j in range(1, E.shape[0] + 1):
        rest = 1.0 - sum(g[q, j - 1 - q] * (S[q + 1] - S[q]) for q in range(j - 1))
        S.append(S[j - 1] + rest / g[j - 1, 0])
    return np.array(S[1:])


def factorization_approach_exponent(eta: float, sigma: npt.ArrayLike) -> float:
    r"""Exponent :math:`p` of :math:`\min_t\lVert Z_t - Z_1^\star\rVert_F \propto \alpha^{p}` for matrix factorization (our derivation).

    When component 1 is learned, component 2 has size :math:`\alpha^{1-\rho}`,
    :math:`\rho = g_2/g_1`, :math:`g_s = \log(1+\eta\sigma_s)`. Writing :math:`L = (1-\rho)\log(1/\alpha)`
    and :math:`\tau = \theta L` steps later, the distance to :math:`Z_1^\star` has three terms: the
    error of component 1, contracting by :math:`1 - 2\eta\sigma_1` (log-size :math:`-a\theta L`), the
    cross term :math:`Z_{12}`, of size :math:`\alpha^{1-\rho}` and contracting by
    :math:`1 - \eta(\sigma_1-\sigma_2)` (:math:`-(1 + b\theta)L`), and the new eigenvalue
    :math:`\lambda_2(Z_t) \approx \alpha^{2(1-\rho)}e^{2g_2\tau}` (:math:`-(2 - 2g_2\theta)L`). The closest
    approach is :math:`\alpha^{p}` with :math:`p = (1-\rho)\max_\theta\min(a\theta, 1 + b\theta, 2 - 2g_2\theta)`.
    Zero when :math:`\sigma_1 = \sigma_2`.
    """
    sig = _spectrum(sigma)
    if sig.size < 2:
        raise ValueError("sigma needs at least two eigenvalues")
    eta = float(eta)
    check_step_size(eta, float(sig[0]), limit=0.5)
    g1, g2 = np.log1p(eta * sig[0]), np.log1p(eta * sig[1])
    a = -np.log1p(-2 * eta * sig[0])
    b = -np.log1p(-eta * (sig[0] - sig[1]))
    lines = [(0.0, a), (1.0, b), (2.0, -2 * g2)]              # intercept, slope in theta
    cands = [0.0]
    for i in range(3):
        for j in range(i + 1, 3):
            if lines[i][1] != lines[j][1]:
                cands.append((lines[j][0] - lines[i][0]) / (lines[i][1] - lines[j][1]))
    best = max(min(c + s * th for c, s in lines) for th in cands if th >= 0)
    return float((1.0 - g2 / g1) * best)


# -- preliminaries: Gordon's estimate of the restricted isometry over low-rank matrices ------------

def low_rank_gaussian_width(n: int, rank: int, *, samples: int = 2000, rng: int = 0) -> float:
    r"""Gaussian width :math:`w` of the unit-Frobenius symmetric :math:`n\times n` matrices of rank :math:`\le` ``rank``.

    :math:`w = \mathbb{E}\sup_X\langle G, X\rangle = \mathbb{E}\bigl(\sum_{i\le\rho}\lambda_{(i)}(G)^2\bigr)^{1/2}`
    (the ``rank`` eigenvalues of largest magnitude), with :math:`G` the symmetric Gaussian matrix for
    which :math:`\mathbb{E}\langle G, X\rangle^2 = \lVert X\rVert_F^2` (:math:`G = (B + B^\top)/2`,
    :math:`B_{ij}\sim N(0,1)`: the law of one row of the chapter's operators). Monte Carlo over
    ``samples`` draws (seed ``rng``); its standard error is about :math:`0.5/\sqrt{\text{samples}}`.
    """
    n = check_int("n", n, low=1)
    rank = check_int("rank", rank, low=1, high=n)
    samples = check_int("samples", samples, low=1)
    B = np.random.default_rng(rng).standard_normal((samples, n, n))
    lam = np.linalg.eigvalsh((B + np.swapaxes(B, 1, 2)) / 2)
    top = -np.sort(-lam ** 2, axis=1)[:, :rank]
    return float(np.mean(np.sqrt(top.sum(axis=1))))


def gordon_restricted_singular_value(n: int, rank: int, m: int, *, samples: int = 2000, rng: int = 0) -> float:
    r"""Gordon's estimate :math:`1 - w/\sqrt m` of :math:`\min\lVert\mathcal{A}(X)\rVert/\lVert X\rVert_F` over rank-``rank`` :math:`X`.

    For an operator with :math:`m` i.i.d. Gaussian rows normalised by :math:`1/\sqrt m`, Gordon's
    escape-through-the-mesh inequality gives :math:`\mathbb{E}\min \ge (a_m - w)/\sqrt m` with
    :math:`a_m = \mathbb{E}\lVert g\rVert \approx \sqrt{m - 1/2}`, and the minimum concentrates within
    :math:`O(1/\sqrt m)`; ``w`` is :func:`low_rank_gaussian_width`. Negative when :math:`m < w^2`:
    there the estimate says nothing and low-rank matrices may lie in the kernel.
    """
    m = check_int("m", m, low=1)
    return float(1.0 - low_rank_gaussian_width(n, rank, samples=samples, rng=rng) / np.sqrt(m))


# -- book/xiong/symmetric_lower_bound: the redundant block of symmetric over-parameterized GD -------
#
# Our derivation (the paper's Section 3 states the lower bound; these closed forms are ours). For
# matrix factorization, once the signal directions are fitted, the part J of X that lies outside the
# signal subspace obeys J <- J - eta J J^T J: its singular values follow s <- s - eta s^3, so
# 1/s_t^2 = 1/s_0^2 + 2 eta t + (3/2) eta log t + ..., and the error ||J J^T||_F^2 = sum_i s_i^4 over
# the k - r redundant directions tends to (k - r) / (4 eta^2 t^2), whatever s_0 (hence alpha) is.



def redundant_block_step(J: npt.ArrayLike, eta: float) -> npt.NDArray[np.float64]:
    r"""One step :math:`J \leftarrow J - \eta\,JJ^\top J` of the redundant block (our derivation, Section 3).

    It keeps the singular vectors of :math:`J` and maps each singular value :math:`s` to
    :math:`s - \eta s^3` (:func:`cubic_recursion`).
    """
    J = np.asarray(J, dtype=np.float64)
    eta = check_positive_float("eta", eta)
    return J - eta * (J @ J.T @ J)


def cubic_recursion(s0: npt.ArrayLike, eta: float, iterations: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Singular values :math:`s_t` of the redundant block, :math:`s_{t+1} = s_t - \eta s_t^3`, at ``iterations``.

    Parameters
    ----------
    s0 : array_like, shape (q,)
        Initial singular values, :math:`0 < \eta s_0^2 < 1` (the map is then monotone and decreasing).
    eta : float
        Step size.
    iterations : array_like of int, shape (T,)
        Non-negative, sorted iterations at which to return :math:`s_t`.

    Returns
    -------
    numpy.ndarray, shape (T, q)
    """
    s = check_positive_array("s0", s0).astype(np.float64).ravel()
    eta = check_positive_float("eta", eta)
    if np.any(eta * s ** 2 >= 1):
        raise ValueError(f"cubic_recursion needs eta * s0^2 < 1, got eta={eta}, max s0={s.max()}")
    its = np.asarray(iterations, dtype=np.int64).ravel()
    if its.size and (its.min() < 0 or np.any(np.diff(its) < 0)):
        raise ValueError("iterations must be non-negative and sorted")
    out = np.empty((its.size, s.size))
    t = 0
    for i, target in enumerate(its):
        while t < target:
            s = s - eta * s ** 3
            t += 1
        out[i] = s
    return out


def redundant_error(s0: npt.ArrayLike, eta: float, iterations: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r""":math:`\lVert J_tJ_t^\top\rVert_F^2 = \sum_i s_{i,t}^4` under the cubic recursion, shape ``(T,)``."""
    return np.sum(cubic_recursion(s0, eta, iterations) ** 4, axis=1)


def redundant_limit(k: int, r: int) -> float:
    r"""The limit :math:`\lim_t t^2\eta^2\lVert X_tX_t^\top - M^\star\rVert_F^2 = (k - r)/4` (factorization, our derivation).

    Each of the :math:`k - r` redundant singular values has :math:`s_t^2 \sim 1/(2\eta t)`, so each
    contributes :math:`s_t^4 \sim 1/(4\eta^2t^2)`; 0 for :math:`k \le r` (linear convergence).
    """
    k, r = check_int("k", k, low=1), check_int("r", r, low=1)
    return max(k - r, 0) / 4.0


def redundant_error_asymptotic(s0: npt.ArrayLike, eta: float, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Leading-order closed form :math:`\sum_i (2\eta t + 1/s_{i,0}^2)^{-2}` of :func:`redundant_error`.

    Exact to relative order :math:`\eta\log t/(2\eta t + 1/s_0^2)` (the neglected
    :math:`\tfrac32\eta\log t` term of :math:`1/s_t^2`).
    """
    s = check_positive_array("s0", s0).astype(np.float64).ravel()
    eta = check_positive_float("eta", eta)
    t = np.asarray(t, dtype=np.float64)
    return np.sum((2 * eta * t[..., None] + 1 / s ** 2) ** -2.0, axis=-1)


def redundant_loglog_slope(s0: float, eta: float, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Local slope :math:`d\log\mathrm{err}/d\log t = -2\cdot 2\eta t/(2\eta t + 1/s_0^2)` of the closed form.

    It tends to :math:`-2` as :math:`t\to\infty`; :math:`1/(2\eta s_0^2)` is the delay after which the
    asymptote is reached, longer for a smaller initialisation.
    """
    s0 = check_positive_float("s0", s0)
    eta = check_positive_float("eta", eta)
    x = 2 * eta * np.asarray(t, dtype=np.float64)
    return -2.0 * x / (x + 1 / s0 ** 2)


def initial_scale_edge(alpha: float, n: int, k: int) -> float:
    r"""Lower edge :math:`\alpha(1 - \sqrt{k/n})` of the singular values of :math:`X_0 = \alpha\bar X`, :math:`\bar X_{ij}\sim N(0, 1/n)`.

    The Marchenko-Pastur edge of an :math:`n\times k` Gaussian matrix (:math:`k \le n`): the typical
    smallest initial size of a redundant direction.
    """
    alpha = check_positive_float("alpha", alpha)
    n = check_int("n", n, low=1)
    k = check_int("k", k, low=1, high=n)
    return alpha * (1.0 - np.sqrt(k / n))


def asymptote_spread_bound(eta: float, t: float, s0_min: float) -> float:
    r"""Largest relative spread :math:`1 - (1 + 1/(2\eta t s_{0,\min}^2))^{-2}` of :math:`t^2\eta^2\mathrm{err}` across initialisations.

    Under the closed form each redundant direction gives
    :math:`t^2\eta^2 s_t^4 = \tfrac14(1 + 1/(2\eta t s_0^2))^{-2}`, between that value at
    :math:`s_0 = s_{0,\min}` and :math:`\tfrac14`; the spread (max - min)/max over runs whose initial
    redundant sizes are at least ``s0_min`` is therefore at most this number, which falls like
    :math:`1/t`.
    """
    eta, t, s0_min = (check_positive_float(name, v) for name, v in (("eta", eta), ("t", t), ("s0_min", s0_min)))
    return float(1.0 - (1.0 + 1.0 / (2 * eta * t * s0_min ** 2)) ** -2.0)


# -- book/xiong/asymmetric and book/xiong/one_step: linear rates of the asymmetric parameterization ---

def asymmetric_linear_rate(eta: float, lam: npt.ArrayLike) -> npt.NDArray[np.float64] | float:
    r"""Rate per iteration of :math:`\lVert F_tG_t^\top - M^\star\rVert_F^2` set by a Gram eigenvalue ``lam`` (our derivation).

    Near a solution the slowest block of :math:`F_tG_t^\top - M^\star` is a factor times the other
    factor's slowest direction: :math:`K_{t+1} = K_t(I - \eta F^\top F)` for the redundant part of
    :math:`G` (matrix factorization), so its norm shrinks by :math:`1 - \eta\lambda` per step and the
    squared error by :math:`(1 - \eta\lambda)^2`: the rate :math:`-2\ln(1 - \eta\lambda)\approx 2\eta\lambda`.
    Exact parameterization: :math:`\lambda = \sigma_r` (balanced factors); over-parameterization:
    :math:`\lambda = \lambda_{\min}(F^\top F)`, of order :math:`\alpha^2`; after the one-step
    re-balancing: :math:`\lambda = \min(c^2, \sigma_r^2/c^2)` (:func:`one_step_gram_eigenvalue`).
    """
    eta = check_positive_float("eta", eta)
    lam_arr = check_positive_array("lam", lam)
    if np.any(eta * lam_arr >= 1):
        raise ValueError(f"need eta * lam < 1, got eta={eta:g}, max lam={float(lam_arr.max()):g}")
    out = -2.0 * np.log1p(-eta * lam_arr)
    return float(out.reshape(-1)[0]) if np.ndim(lam) == 0 else out.reshape(np.shape(lam))


def one_step_gram_eigenvalue(sigma_r: float, c2: float) -> float:
    r"""Smallest relevant Gram eigenvalue after the re-balancing :math:`F \to cF(F^\top F)^{-1/2}` (our derivation).

    After the step every singular value of :math:`F` is :math:`c` and :math:`G^\top G` has the
    eigenvalues :math:`\sigma_i^2/c^2` on the signal (and about 0 on the redundant direction). The
    redundant part of :math:`G` then shrinks through :math:`F^\top F = c^2 I`, the part of :math:`F`
    outside the signal rows through :math:`G^\top G \succeq \sigma_r^2/c^2` on the signal, so the
    slowest eigenvalue is :math:`\min(c^2, \sigma_r^2/c^2)`, independent of :math:`\alpha`
    (largest, :math:`\sigma_r`, at :math:`c^2 = \sigma_r`).
    """
    sigma_r = check_positive_float("sigma_r", sigma_r)
    c2 = check_positive_float("c2", c2)
    return float(min(c2, sigma_r ** 2 / c2))


# -- the redundant pair of the asymmetric parameterization (Xiong et al., worst case) -----------


def redundant_pair(alpha: float, eta: float, steps: int) -> npt.NDArray[np.float64]:
    r"""Squared error :math:`(j_t\kappa_t)^2` of one redundant coordinate pair under asymmetric GD.

    In a direction where :math:`M^\star` is zero, the factors' entries :math:`j` (of :math:`F`) and
    :math:`\kappa` (of :math:`G`) follow :math:`j \leftarrow j - \eta\kappa^2 j`,
    :math:`\kappa \leftarrow \kappa - \eta j^2\kappa`, from :math:`j_0 = \alpha`,
    :math:`\kappa_0 = \alpha/3`. The imbalance :math:`j^2 - \kappa^2 \approx (8/9)\alpha^2` is
    nearly conserved, so :math:`\kappa_t` decays like :math:`(1 - \tfrac89\eta\alpha^2)^t` and the error
    :math:`(j\kappa)^2` at the rate :math:`\approx \tfrac{16}{9}\eta\alpha^2` per step (our minimal
    illustration of why plain GD cannot beat a rate of order :math:`\eta\alpha^2`). Returns
    :math:`(j_t\kappa_t)^2` for :math:`t = 0, \dots, \text{steps}`.
    """
    alpha = check_positive_float("alpha", alpha)
    eta = check_positive_float("eta", eta)
    steps = check_int("steps", steps, low=1)
    j, kappa = alpha, alpha / 3.0
    out = np.empty(steps + 1)
    out[0] = (j * kappa) ** 2
    for t in range(1, steps + 1):
        j, kappa = j - eta * kappa**2 * j, kappa - eta * j**2 * kappa
        out[t] = (j * kappa) ** 2
    return out


def redundant_pair_rate(alpha: float, eta: float) -> float:
    r"""Asymptotic decay rate per step of :math:`\log (j_t\kappa_t)^2` for :func:`redundant_pair`.

    With :math:`j_\infty^2 = j_0^2 - \kappa_0^2 + O(\eta)` conserved to first order, :math:`\kappa`
    contracts by :math:`1 - \eta j_\infty^2` per step, so the squared error by
    :math:`(1 - \eta j_\infty^2)^2`: the rate is :math:`-2\log(1 - \tfrac89\eta\alpha^2)`.
    """
    alpha = check_positive_float("alpha", alpha)
    eta = check_positive_float("eta", eta)
    return float(-2.0 * np.log1p(-eta * (8.0 / 9.0) * alpha**2))


# --- Wind ---
# The v2 analysis of Wind (arXiv 2309.01796v2) as restated by a third party (not checked against the
# paper's text). v2's scale is a0 = ||[D0; C0^T]|| (our ||[F0; G0]||_2), its target Y (our M*),
# ||Y|| = sigma_1 and kappa = sigma_1 / sigma_r. Its absolute constants are unknown: the functions
# below return the formulas without them ("up to its constant").

def _wind_log(sigma_r: float, a0: float) -> float:
    r""":math:`\log(\sigma_r/a_0^2)`, required positive (:math:`a_0 < \sqrt{\sigma_r}`)."""
    sigma_r = check_positive_float("sigma_r", sigma_r)
    a0 = check_positive_float("a0", a0)
    if a0 ** 2 >= sigma_r:
        raise ValueError(f"a0={a0:g} must be below sqrt(sigma_r) = {np.sqrt(sigma_r):g} "
                         "(log(sigma_r / a0^2) > 0: a small initialisation)")
    return float(np.log(sigma_r / a0 ** 2))


def wind_iterations_per_decade(eta: float, sigma_r: float) -> float:
    r"""Extra GD iterations per decade of :math:`1/a_0`: :math:`\ln 10/\ln(1 + \eta\sigma_r)`.

    Near the origin the component of :math:`FG^\top` along the :math:`r`-th singular pair grows by
    :math:`(1 + \eta\sigma_r)^2` per step from size :math:`\approx a_0^2` to :math:`\sigma_r`, so a
    ten times smaller :math:`a_0` costs :math:`2\ln 10/(2\ln(1 + \eta\sigma_r))` more steps (our
    derivation; the continuous-time version is the :math:`\log(1/a_0^2)/\sigma_r` of v2's horizon).
    ``sigma_r`` may be :math:`\sigma_r(\mathcal{A}^*(y))`, the escape eigenvalue, instead of
    :math:`\sigma_r(M^\star)`.
    """
    eta = check_positive_float("eta", eta)
    sigma_r = check_positive_float("sigma_r", sigma_r)
    return float(np.log(10.0) / np.log1p(eta * sigma_r))


def wind_horizon(sigma_r: float, a0: float) -> float:
    r"""Time horizon of the v2 flow analysis (Theorem 4.3): :math:`T = 5\log(\sigma_r/a_0^2)/\sigma_r`.

    GD reaches it after :math:`K = T/\eta` steps. Requires :math:`a_0 < \sqrt{\sigma_r}`.
    """
    return float(5.0 * _wind_log(sigma_r, a0) / sigma_r)


def wind_error_reference(a0: npt.ArrayLike, sigma_r: float) -> npt.NDArray[np.float64] | float:
    r"""The initialisation term of v2's Theorem 2.8 bound: :math:`a_0^{4/3}\sigma_r^{1/3}` (up to its constant).

    The theorem bounds :math:`\lVert D_KC_K - Y\rVert` (spectral norm) at :math:`K` by this plus
    :math:`\kappa\xi`. ``a0`` may be an array.
    """
    a = check_positive_array("a0", a0)
    sigma_r = check_positive_float("sigma_r", sigma_r)
    out = a ** (4.0 / 3.0) * sigma_r ** (1.0 / 3.0)
    return float(out.ravel()[0]) if np.ndim(a0) == 0 else out


def wind_step_bound(kappa: float, norm_Y: float, sigma_r: float, a0: float) -> float:
    r"""v2's step-size condition without its constant: :math:`1/(\kappa^3\lVert Y\rVert\log(\sigma_r/a_0^2))`.

    The theorem asks :math:`\eta \le c_3` times this, with an unknown absolute constant :math:`c_3`.
    """
    kappa = check_positive_float("kappa", kappa)
    if kappa < 1:
        raise ValueError(f"kappa={kappa:g} must be >= 1 (sigma_1 / sigma_r)")
    norm_Y = check_positive_float("norm_Y", norm_Y)
    return float(1.0 / (kappa ** 3 * norm_Y * _wind_log(sigma_r, a0)))


def wind_perturbation_budget(norm_Y: float, kappa: float, sigma_r: float, a0: float) -> float:
    r"""v2's perturbation budget without its constant: :math:`\lVert Y\rVert/(\kappa^3\log(\sigma_r/a_0^2))`.

    Perturbations of size :math:`\xi \le c_4` times this are tolerated (Theorem 2.8), :math:`c_4` unknown.
    """
    norm_Y = check_positive_float("norm_Y", norm_Y)
    kappa = check_positive_float("kappa", kappa)
    if kappa < 1:
        raise ValueError(f"kappa={kappa:g} must be >= 1 (sigma_1 / sigma_r)")
    return float(norm_Y / (kappa ** 3 * _wind_log(sigma_r, a0)))


def wind_init_bound(sigma_r: float, kappa: float, n1: int, n2: int, r: int) -> float:
    r"""v2's condition on the initial scale without its constant: :math:`\sqrt{\sigma_r}/(\min(n_1,n_2)^2/r^2 + \kappa)`.

    The analysis asks :math:`a_0 \le c_2` times this (:math:`c_2` unknown).
    """
    sigma_r = check_positive_float("sigma_r", sigma_r)
    kappa = check_positive_float("kappa", kappa)
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    r = check_int("r", r, low=1, high=min(n1, n2))
    return float(np.sqrt(sigma_r) / (min(n1, n2) ** 2 / r ** 2 + kappa))


def minimax_reference(s: npt.ArrayLike, n1: int, n2: int, r: int, m: int) -> npt.NDArray[np.float64] | float:
    r"""Minimax order of the error for noise of standard deviation ``s``: :math:`s\sqrt{(n_1 + n_2)r/m}`.

    For :math:`y_i = \langle A_i, M^\star\rangle + \xi_i`, :math:`\xi_i\sim N(0, s^2)` (Candes and Plan 2011),
    in Frobenius norm. ``s`` may be an array (>= 0).
    """
    s_arr = np.asarray(s, dtype=np.float64)
    if not np.all(np.isfinite(s_arr)) or np.any(s_arr < 0):
        raise ValueError(f"s={s!r} must be finite noise levels >= 0")
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    r = check_int("r", r, low=1, high=min(n1, n2))
    m = check_int("m", m, low=1)
    out = s_arr * np.sqrt((n1 + n2) * r / m)
    return float(out) if np.ndim(s) == 0 else out




# --- Wind: convergence and discretisation (W2) ---

def wind_theorem_steps(eta: float, sigma_r: float, a0: npt.ArrayLike, *, c2: float = 5.0
                       ) -> npt.NDArray[np.int64] | int:
    r"""The step count of v2's Theorem 2.8, :math:`K = \lceil C_2\log(\sigma_r/a_0^2)/(\eta\sigma_r)\rceil`.

    v2's constant :math:`C_2` is unknown; ``c2 = 5`` (our choice) makes :math:`K\eta` the horizon
    :math:`5\log(\sigma_r/a_0^2)/\sigma_r` of its flow analysis (Theorem 4.3,
    :func:`wind_horizon`). ``a0`` may be an array (each below :math:`\sqrt{\sigma_r}`).
    """
    eta = check_positive_float("eta", eta)
    sigma_r = check_positive_float("sigma_r", sigma_r)
    c2 = check_positive_float("c2", c2)
    a = check_positive_array("a0", a0)
    if np.any(a ** 2 >= sigma_r):
        raise ValueError(f"a0={a0!r} must be below sqrt(sigma_r) = {np.sqrt(sigma_r):g} "
                         "(log(sigma_r / a0^2) > 0: a small initialisation)")
    out = np.ceil(c2 * np.log(sigma_r / a ** 2) / (eta * sigma_r)).astype(np.int64)
    return int(out.reshape(-1)[0]) if np.ndim(a0) == 0 else out


def wind_spurious_exponent(eta: float, s_r: float, s_next: float) -> float:
    r"""Our prediction of the exponent :math:`p` in :math:`\lVert F_KG_K^\top - M^\star\rVert \propto a_0^{p}`.

    .. math::

        p = 2\Bigl(1 - \frac{\ln(1 + \eta s_{r+1})}{\ln(1 + \eta s_r)}\Bigr),

    with :math:`s_i = \sigma_i(\mathcal{A}^*(y))`. Near the origin GD multiplies the component of
    :math:`FG^\top` along the :math:`i`-th singular pair of :math:`\mathcal{A}^*(y)` by
    :math:`(1+\eta s_i)^2` per step. The signal (:math:`i \le r`) needs
    :math:`\ln(\sigma_r/a_0^2)/(2\ln(1+\eta s_r))` steps to grow from :math:`a_0^2`; in that time the
    largest spurious component (:math:`i = r + 1`, a direction the spare columns of an
    over-parameterized factorization can carry) grows from :math:`a_0^2` to
    :math:`a_0^{2}(a_0^{-2})^{\rho}`, :math:`\rho = \ln(1+\eta s_{r+1})/\ln(1+\eta s_r)`, and it
    decays only slowly afterwards, so the error left at :math:`K` scales like :math:`a_0^{2(1-\rho)}`.
    The exponent is :math:`2` for an exact isometry (:math:`s_{r+1} = 0`) and reaches v2's
    :math:`4/3` at :math:`\rho = 1/3`.
    """
    eta = check_positive_float("eta", eta)
    s_r = check_positive_float("s_r", s_r)
    s_next = float(s_next)
    if not (np.isfinite(s_next) and s_next >= 0):
        raise ValueError(f"s_next={s_next!r} must be a singular value >= 0")
    return float(2.0 * (1.0 - np.log1p(eta * s_next) / np.log1p(eta * s_r)))




# --- Wind: W3 (book/wind/robustness) ---

def wind_breakdown_prediction(eta: float, steps: int, a0: float) -> float:
    r"""Perturbation size at which GD starts fitting the perturbation's spurious directions by step ``steps``.

    Our derivation, for a perturbation :math:`\Xi` of spectral norm :math:`\xi` that persists in
    time and is as large as :math:`\xi` outside the singular subspaces of :math:`M^\star` (the
    adversarial one of :func:`matsense.dynamics.adversarial_perturbation`). There the perturbed
    gradient is :math:`-\xi` times a unit direction, so a spurious singular value of
    :math:`FG^\top` grows like the learning of a target of size :math:`\xi`: by
    :math:`(1 + \eta\xi)^2` per step, from the initial size :math:`a_0^2` (v2's scale squared), and
    it is half fitted when it reaches :math:`\xi/2` (logistic growth: when
    :math:`(1 + \eta\xi)^{2K} \approx \xi/a_0^2`). The breakdown point is the larger root
    :math:`\xi_b` of

    .. math::

        2K\ln(1 + \eta\xi) = \ln(\xi/a_0^2).

    With :math:`K = 5\log(\sigma_r/a_0^2)/(\eta\sigma_r)` (v2's horizon) and small
    :math:`\eta\xi` this is :math:`\xi_b \approx \tfrac{\sigma_r}{10}\bigl(1 - \ln(\sigma_r/\xi_b)/\log(\sigma_r/a_0^2)\bigr)`:
    about :math:`\sigma_r/10`, nearly free of :math:`a_0`.

    Parameters
    ----------
    eta : float
        Step size, > 0.
    steps : int
        Number of steps :math:`K`, >= 1.
    a0 : float
        Initial scale :math:`a_0 = \lVert[F_0; G_0]\rVert_2`, > 0.

    Returns
    -------
    float
        :math:`\xi_b`.

    Raises
    ------
    ValueError
        For bad arguments, or when no root exists (:math:`a_0` so large that the spurious
        directions start above half of any :math:`\xi` the run could fit: not a small initialisation).
    """
    from scipy.optimize import brentq

    eta = check_positive_float("eta", eta)
    K = check_int("steps", steps, low=1)
    a0 = check_positive_float("a0", a0)

    def gap(x: float) -> float:
        return 2.0 * K * np.log1p(eta * x) - np.log(x / a0 ** 2)

    x_min = 1.0 / (eta * (2.0 * K - 1.0)) if K > 1 else np.inf   # where gap is smallest
    if not np.isfinite(x_min) or gap(x_min) >= 0:
        raise ValueError(f"no breakdown point for eta={eta:g}, steps={K}, a0={a0:g}: the growth "
                         f"2K ln(1 + eta xi) exceeds ln(xi / a0^2) for every xi (a0 is not small)")
    hi = 2.0 * x_min
    while gap(hi) < 0:
        hi *= 2.0
    return float(brentq(gap, x_min, hi, xtol=1e-14, rtol=1e-12))




# --- Wind: book/wind/setup (W1) ---

def wind_misalignment_estimate(n1: int, n2: int, r: int, h: int) -> float:
    r"""Upper estimate of the misalignment of an independent Gaussian start (Remark 2.6 of v2's analysis).

    The misalignment of :math:`(F_0, G_0)` (v2's :math:`\alpha`) is
    :math:`\sqrt2\lVert[F_0; G_0]\rVert_2/\sigma_r(U^\top F_0 + V^\top G_0)` (:math:`U, V`: singular
    vectors of :math:`M^\star`); it does not depend on the scale. For entries :math:`N(0, 1/n_1)` and
    :math:`N(0, 1/n_2)` (our derivation): :math:`U^\top\bar F + V^\top\bar G` is an :math:`r\times h`
    Gaussian matrix with entry variance :math:`v = 1/n_1 + 1/n_2`, whose smallest singular value is
    about :math:`\sqrt v(\sqrt h - \sqrt r)` (the Bai-Yin edge), and
    :math:`\lVert[\bar F;\bar G]\rVert_2^2 \le \lVert\bar F\rVert_2^2 + \lVert\bar G\rVert_2^2 \approx
    (1 + \sqrt{h/n_1})^2 + (1 + \sqrt{h/n_2})^2`. Hence

    .. math::

        \frac{\sqrt2\,\sqrt{(1 + \sqrt{h/n_1})^2 + (1 + \sqrt{h/n_2})^2}}{\sqrt{1/n_1 + 1/n_2}\,(\sqrt h - \sqrt r)},

    finite for :math:`h > r` and bounded in :math:`n_1, n_2` once :math:`h \ge \max(n_1, n_2)`.
    """
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    r = check_int("r", r, low=1, high=min(n1, n2))
    h = check_int("h", h, low=r + 1)
    num = np.sqrt(2.0 * ((1 + np.sqrt(h / n1)) ** 2 + (1 + np.sqrt(h / n2)) ** 2))
    return float(num / (np.sqrt(1.0 / n1 + 1.0 / n2) * (np.sqrt(h) - np.sqrt(r))))




# --- Wind: changing measurements and bounded trajectories (W4) ---

def wind_batch_reference(n1: int, n2: int, r: int) -> int:
    r"""The batch size of v2's Theorem 2.9 without its logarithmic and :math:`\kappa` factors: :math:`r(n_1 + n_2)`.

    The theorem asks each fresh batch for :math:`b \ge C[\log(n_1 + n_2) + \log K + \log(1/\delta)]\,
    r(n_1 + n_2)\kappa^4` measurements (an unknown constant :math:`C`): a batch that is itself a
    restricted isometry of rank about :math:`r`, whose degrees of freedom are of order :math:`r(n_1 + n_2)`.
    """
    n1, n2 = check_int("n1", n1, low=1), check_int("n2", n2, low=1)
    r = check_int("r", r, low=1, high=min(n1, n2))
    return r * (n1 + n2)


def fresh_gradient_spread(dim: int, batch_size: int) -> float:
    r"""Relative fluctuation of the gradient of one fresh Gaussian batch: :math:`\sqrt{(N + 1)/b}`.

    For a batch of ``b`` measurements :math:`A_i` with i.i.d. :math:`N(0, 1)` entries (normalised by
    :math:`1/\sqrt b`) and an error :math:`E` in a space of dimension :math:`N = n_1n_2`,
    :math:`\mathbb{E}\,\mathcal{A}_t^*\mathcal{A}_t(E) = E` and
    :math:`\mathbb{E}\lVert\mathcal{A}_t^*\mathcal{A}_t(E) - E\rVert_F^2 = \tfrac{N + 1}{b}\lVert E\rVert_F^2`
    (from :math:`\mathbb{E}\lVert a\rVert^2(a^\top e)^2 = (N + 2)\lVert e\rVert^2` for a Gaussian
    vector :math:`a`): the ratio of the fluctuation to the mean gradient, in Frobenius norm.
    """
    dim = check_int("dim", dim, low=1)
    b = check_int("batch_size", batch_size, low=1)
    return float(np.sqrt((dim + 1) / b))


def wind_imbalance_drift(eta: float, sigma_1: float) -> float:
    r"""Our bound on how far one GD run moves the imbalance :math:`\Delta = F^\top F - G^\top G`: :math:`\eta\sigma_1^2/4`.

    Gradient flow conserves :math:`\Delta`. One GD step changes it by exactly
    :math:`\eta^2(G^\top S^\top SG - F^\top SS^\top F)` (:math:`S` the gradient in :math:`X`), a
    difference of two positive semidefinite matrices, so by at most
    :math:`\eta^2\max(\lVert SG\rVert^2, \lVert S^\top F\rVert^2)` in spectral norm. While one
    balanced component :math:`p_t` of :math:`FG^\top` grows to :math:`\sigma`,
    :math:`\lVert SG\rVert^2 \approx (\sigma - p)^2 p` and :math:`p_{t+1} - p_t \approx 2\eta p(\sigma - p)`,
    so the changes add up to

    .. math::

        \sum_t \eta^2(\sigma - p_t)^2p_t \approx \frac\eta2\int_0^\sigma(\sigma - p)\,dp = \frac{\eta\sigma^2}{4},

    largest for :math:`\sigma = \sigma_1` (the components live in orthogonal directions). An upper
    bound: for aligned, balanced factors the two terms are equal and cancel.
    """
    eta = check_positive_float("eta", eta)
    sigma_1 = check_positive_float("sigma_1", sigma_1)
    return float(eta * sigma_1 ** 2 / 4.0)


def stacked_norm_at_fit(sigma: npt.ArrayLike, imbalance: npt.ArrayLike) -> npt.NDArray[np.float64] | float:
    r"""Stacked norm :math:`\lVert[f; g]\rVert` of a factorisation :math:`fg^\top` of a component of size :math:`\sigma` with imbalance :math:`d`.

    With :math:`\lVert f\rVert\lVert g\rVert = \sigma` and :math:`\lVert f\rVert^2 - \lVert g\rVert^2 = d`,
    :math:`\lVert f\rVert^2 + \lVert g\rVert^2 = \sqrt{d^2 + 4\sigma^2}`, so the norm is
    :math:`(d^2 + 4\sigma^2)^{1/4}`: :math:`\sqrt{2\sigma}` for a balanced factorisation (:math:`d = 0`).
    """
    s = check_positive_array("sigma", sigma)
    d = np.asarray(imbalance, dtype=np.float64)
    if not np.all(np.isfinite(d)):
        raise ValueError(f"imbalance={imbalance!r} must be finite")
    out = (d ** 2 + 4.0 * s.reshape(np.shape(sigma)) ** 2) ** 0.25
    return float(out) if out.ndim == 0 else out


def imbalance_for_norm_bound(sigma_1: float, bound: float = 1.5) -> float:
    r"""The imbalance at which a fitted top component reaches the stacked norm ``bound`` :math:`\sqrt{\sigma_1}`: :math:`\sigma_1\sqrt{\text{bound}^4 - 4}`.

    Solves :math:`(d^2 + 4\sigma_1^2)^{1/4} = \text{bound}\sqrt{\sigma_1}` (:func:`stacked_norm_at_fit`);
    ``bound`` must exceed :math:`\sqrt2`, the balanced value. For Theorem 6.1's :math:`3/2`:
    :math:`d = \sqrt{17}/4\,\sigma_1 \approx 1.03\,\sigma_1`.
    """
    sigma_1 = check_positive_float("sigma_1", sigma_1)
    bound = check_positive_float("bound", bound)
    if bound ** 4 <= 4.0:
        raise ValueError(f"bound={bound:g} must exceed sqrt(2) (the stacked norm of a balanced fit)")
    return float(sigma_1 * np.sqrt(bound ** 4 - 4.0))


