r"""Events and rates read off recorded trajectories.

A trajectory records metrics at iterations :math:`t_0 < t_1 < \dots` (axis 0) for a batch of runs
(axis 1). The functions here turn such records into the numbers the theorems talk about:

* :func:`first_crossing` and :func:`learning_times`: the first :math:`t` with
  :math:`\lambda_s(Z_t) \ge \tfrac12\sigma_s` ("component :math:`s` is learned");
* :func:`closest_approach`: :math:`\min_t \lVert Z_t - Z_s^\star\rVert_F` and where it happens;
* :func:`dwell_time`: how long the loss stays within a relative band around a plateau level;
* :func:`fit_line` and :func:`growth_rate`: least-squares slopes (of :math:`T_s` against
  :math:`\log(1/\alpha)`, of :math:`\log\lVert U_t^\top v_s\rVert` against :math:`t`);
* :func:`hausdorff_distance`: the distance between two paths of matrices, independent of their
  time parameterisation (used to compare GD with GLRL).

A quantity that a run never reaches is NaN, never a sentinel number, so that a plot or a claim built
on it cannot mistake "never" for a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import numpy.typing as npt

from ._validation import check_int, check_positive_float
from .operators import MeasurementOperator
from .problems import SensingProblem

__all__ = ["first_crossing", "learning_times", "closest_approach", "dwell_time", "LineFit",
           "fit_line", "growth_rate", "final_phase_rate", "hausdorff_distance", "is_increasing",
           "fraction_increasing", "tail_mass", "values_at", "step_factors", "time_ratios",
           "distinct_counts", "zoom_horizon", "fraction_decreasing", "max_deviation",
           "empirical_rip_constant", "power_law_fit", "restricted_isometry_search", "rank_restarts",
           "level_crossing", "level_aligned_distance", "fit_rate", "loglog_slope", "reach_time"]


def _iterations(iterations: npt.ArrayLike, T: int) -> npt.NDArray[np.float64]:
    it = np.asarray(iterations)
    if it.ndim != 1 or it.size != T:
        raise ValueError(f"iterations must be 1-D with {T} entries (one per recorded row), got shape {it.shape}")
    if np.any(np.diff(it) <= 0):
        raise ValueError("iterations must be strictly increasing")
    return it


def first_crossing(values: npt.ArrayLike, threshold: npt.ArrayLike, iterations: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""First recorded iteration with ``values >= threshold``, per run; NaN where never.

    Parameters
    ----------
    values : array_like, shape (T, ...)
        Recorded values (NaN entries, e.g. after a divergence, never cross).
    threshold : float or array_like broadcastable to ``values.shape[1:]``
    iterations : array_like, shape (T,)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim < 1:
        raise ValueError("values must have a leading time axis")
    it = _iterations(iterations, v.shape[0])
    hit = np.nan_to_num(v, nan=-np.inf) >= np.asarray(threshold, dtype=np.float64)
    first = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), it[first].astype(np.float64), np.nan)


def learning_times(spectrum: npt.ArrayLike, sigma: npt.ArrayLike, iterations: npt.ArrayLike, *, fraction: float = 0.5) -> npt.NDArray[np.float64]:
    r"""Learning time :math:`T_s = \min\{t : \lambda_s(Z_t) \ge \text{fraction}\cdot\sigma_s\}` of each component.

    Parameters
    ----------
    spectrum : array_like, shape (T, B, n)
        Eigenvalues of :math:`Z_t`, decreasing along the last axis.
    sigma : array_like, shape (r,)
        Eigenvalues :math:`\sigma_1 \ge \dots \ge \sigma_r` of :math:`M^\star`, ``r <= n``.
    iterations : array_like, shape (T,)
    fraction : float in (0, 1]

    Returns
    -------
    numpy.ndarray, shape (B, r)
        NaN for a component a run never learns.
    """
    lam = np.asarray(spectrum, dtype=np.float64)
    if lam.ndim != 3:
        raise ValueError(f"spectrum must have shape (T, B, n), got {lam.shape}")
    sigma = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    if sigma.ndim != 1 or sigma.size > lam.shape[2]:
        raise ValueError(f"sigma must be 1-D with at most {lam.shape[2]} entries, got shape {sigma.shape}")
    fraction = check_positive_float("fraction", fraction, high=1.0)
    r = sigma.size
    return first_crossing(lam[:, :, :r], fraction * sigma, iterations)


def closest_approach(distances: npt.ArrayLike, iterations: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Minimum over recorded iterations of ``distances`` ``(T, ...)`` and the iteration where it occurs.

    NaN entries are ignored; a run with no finite entry gives NaN for both.
    """
    d = np.asarray(distances, dtype=np.float64)
    it = _iterations(iterations, d.shape[0])
    finite = np.isfinite(d)
    filled = np.where(finite, d, np.inf)
    idx = np.argmin(filled, axis=0)
    best = np.take_along_axis(filled, idx[None], axis=0)[0]
    ok = finite.any(axis=0)
    return np.where(ok, best, np.nan), np.where(ok, it[idx].astype(np.float64), np.nan)


def dwell_time(values: npt.ArrayLike, level: npt.ArrayLike, iterations: npt.ArrayLike, *, rel: float = 0.01) -> npt.NDArray[np.float64]:
    r"""Number of steps with :math:`|v_t - \text{level}| \le \text{rel}\cdot\text{level}`, per run.

    Each recorded iteration counts for the steps up to the next recorded one, so the result is in
    steps for any schedule (exact when every step is recorded).
    """
    v = np.asarray(values, dtype=np.float64)
    it = _iterations(iterations, v.shape[0])
    rel = check_positive_float("rel", rel)
    level = np.asarray(level, dtype=np.float64)
    inside = np.abs(np.nan_to_num(v, nan=np.inf) - level) <= rel * np.abs(level)
    widths = np.diff(np.append(it, it[-1] + 1)).astype(np.float64)
    return np.tensordot(widths, inside.astype(np.float64), axes=(0, 0))


@dataclass(frozen=True)
class LineFit:
    """Least-squares line :math:`y \\approx \\text{slope}\\cdot x + \\text{intercept}` with its :math:`R^2`."""

    slope: float
    intercept: float
    r2: float


def _line_coefficients(x: npt.NDArray[np.float64], Y: npt.NDArray[np.float64]
                       ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Least-squares ``(slope, intercept)`` of each column of ``Y`` ``(N,)`` or ``(N, K)`` against ``x`` ``(N,)``.

    The one line fit of the library (:func:`fit_line`, :func:`growth_rate`); no checks.
    """
    slope, intercept = np.polyfit(x, Y, 1)
    return slope, intercept


def fit_line(x: npt.ArrayLike, y: npt.ArrayLike) -> LineFit:
    """Least-squares fit of ``y`` against ``x`` (1-D, at least two distinct finite points)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("fit_line needs finite x and y (a NaN means an event was never reached)")
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError("fit_line needs at least two distinct x values")
    slope, intercept = _line_coefficients(x, y)
    resid = y - (slope * x + intercept)
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss if ss > 0 else 1.0
    return LineFit(float(slope), float(intercept), r2)


def growth_rate(values: npt.ArrayLike, iterations: npt.ArrayLike, *, start: int, stop: int) -> npt.NDArray[np.float64]:
    r"""Per-step geometric growth factor :math:`\exp(\text{slope of }\log v_t)` over ``start <= t <= stop``.

    ``values`` ``(T, B)`` must be positive in that window. For
    :math:`v_t = \lVert U_t^\top v_s\rVert` near a saddle this estimates :math:`1 + \eta\tilde\lambda_s`.
    """
    v = np.asarray(values, dtype=np.float64)
    it = _iterations(iterations, v.shape[0])
    start, stop = check_int("start", start, low=0), check_int("stop", stop, low=0)
    window = (it >= start) & (it <= stop)
    if window.sum() < 2:
        raise ValueError(f"the window [start, stop] = [{start}, {stop}] holds fewer than two recorded iterations")
    w = v[window].reshape(int(window.sum()), -1)
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("growth_rate needs positive, finite values in the window")
    slopes = _line_coefficients(it[window].astype(np.float64), np.log(w))[0]
    return np.exp(slopes).reshape(v.shape[1:])


def final_phase_rate(values: npt.ArrayLike, iterations: npt.ArrayLike, *, hi: float = 1e-3, lo: float = 1e-8) -> float:
    r"""Per-step linear rate of a decaying positive series in its final phase.

    :func:`growth_rate` of ``values`` (shape ``(T,)``) between the first recorded iteration with
    ``values <= hi`` and the first with ``values <= lo``; NaN when the series never reaches ``lo``
    or the window holds fewer than three points. Used for the local convergence
    :math:`\lVert Z_t - M^\star\rVert_F \approx c\,\rho^t` after the last component is learned.
    """
    d = np.asarray(values, dtype=np.float64)
    if d.ndim != 1:
        raise ValueError(f"values must be 1-D (one run), got shape {d.shape}")
    it = _iterations(iterations, d.size)
    hi, lo = check_positive_float("hi", hi), check_positive_float("lo", lo)
    if lo >= hi:
        raise ValueError(f"lo must be in (0, hi) = (0, {hi:g}), got {lo:g}")
    below_hi, below_lo = np.nan_to_num(d, nan=np.inf) <= hi, np.nan_to_num(d, nan=np.inf) <= lo
    if not below_lo.any():
        return float("nan")
    start, stop = int(np.argmax(below_hi)), int(np.argmax(below_lo))
    if stop <= start + 1:
        return float("nan")
    return float(growth_rate(d[:, None], it, start=int(it[start]), stop=int(it[stop]))[0])


def hausdorff_distance(path_a: npt.ArrayLike, path_b: npt.ArrayLike) -> float:
    r"""Symmetric Hausdorff distance between two sampled paths of matrices, Frobenius norm.

    .. math::

        d_H(a, b) = \max\Bigl(\max_i\min_j\lVert a_i - b_j\rVert_F,\ \max_j\min_i\lVert a_i - b_j\rVert_F\Bigr).

    It compares the *sets of points* two algorithms visit, not their clocks: GD from small
    initialisation and GLRL move through the same matrices at different speeds.
    """
    a = np.asarray(path_a, dtype=np.float64)
    b = np.asarray(path_b, dtype=np.float64)
    if a.ndim < 2 or b.ndim < 2 or a.shape[1:] != b.shape[1:]:
        raise ValueError(f"paths must have shapes (Ta, ...) and (Tb, ...) with the same trailing shape, "
                         f"got {a.shape} and {b.shape}")
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("paths must be finite")
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    d = np.sqrt(np.clip(sq, 0.0, None))
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


def is_increasing(values: npt.ArrayLike, *, axis: int = -1) -> npt.NDArray[np.bool_]:
    """True where ``values`` strictly increase along ``axis`` (False if any entry is NaN)."""
    v = np.asarray(values, dtype=np.float64)
    d = np.diff(v, axis=axis)
    return np.all(np.nan_to_num(d, nan=-1.0) > 0, axis=axis)


# -- comparisons across runs and grids --------------------------------------------------------

def fraction_increasing(values: npt.ArrayLike, *, axis: int = -1) -> float:
    """Fraction of runs whose ``values`` strictly increase along ``axis`` (a NaN counts as not increasing).

    E.g. the fraction of runs learned in order, :math:`T_1 < T_2 < \\dots < T_r`, from times ``(A, S, r)``.
    """
    return float(np.mean(is_increasing(values, axis=axis)))


def tail_mass(spectrum: npt.ArrayLike, sigma: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Eigenvalue mass outside the top :math:`s`, relative to :math:`\sigma_s`, for :math:`s = 1, \dots, r-1`.

    .. math:: \tau_s = \frac{1}{\sigma_s}\sum_{i>s}\lambda_i

    ``spectrum`` ``(..., n)`` holds the eigenvalues :math:`\lambda_1 \ge \lambda_2 \ge \dots` of
    :math:`Z_t`; ``sigma`` the :math:`r` eigenvalues of :math:`M^\star`. Returns ``(..., r - 1)``.
    """
    lam = np.asarray(spectrum, dtype=np.float64)
    sig = np.asarray(sigma, dtype=np.float64).ravel()
    if sig.size < 2 or np.any(sig <= 0):
        raise ValueError(f"sigma must hold r >= 2 positive eigenvalues, got {sig}")
    if lam.shape[-1] < sig.size:
        raise ValueError(f"spectrum has {lam.shape[-1]} eigenvalues, fewer than r = {sig.size}")
    return np.stack([lam[..., s:].sum(axis=-1) / sig[s - 1] for s in range(1, sig.size)], axis=-1)


def values_at(series: npt.ArrayLike, times: npt.ArrayLike, iterations: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""The value of ``series`` ``(T, *B)`` at the recorded iteration ``times`` (shape ``B``), run by run.

    ``times`` are recorded iterations (e.g. the time of closest approach from :func:`closest_approach`);
    a time between two recorded iterations reads the next recorded one.
    """
    v = np.asarray(series, dtype=np.float64)
    when = np.asarray(times, dtype=np.float64)
    it = _iterations(iterations, v.shape[0])
    if when.shape != v.shape[1:]:
        raise ValueError(f"times must have shape {v.shape[1:]} (series without its time axis), got {when.shape}")
    if not np.all(np.isfinite(when)) or np.any(when > it[-1]):
        raise ValueError("times must be finite and within the recorded iterations")
    idx = np.searchsorted(it, when)
    return np.take_along_axis(v, idx[None], axis=0)[0]


def step_factors(values: npt.ArrayLike, *, axis: int = 0) -> npt.NDArray[np.float64]:
    """Ratio of consecutive entries along ``axis``: ``values[i] / values[i + 1]`` (shrink factor per grid step)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[axis]
    if n < 2:
        raise ValueError("step_factors needs at least two entries along axis")
    return np.take(v, range(n - 1), axis=axis) / np.take(v, range(1, n), axis=axis)


def time_ratios(times: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r"""Median over seeds of :math:`T_s / T_1`; ``times`` ``(S, r)`` gives ``(r,)`` (first entry 1)."""
    T = np.asarray(times, dtype=np.float64)
    if T.ndim != 2:
        raise ValueError(f"times must have shape (seeds, r), got {T.shape}")
    return np.median(T / T[:, :1], axis=0)


# -- counts, horizons, deviations and fits --------------------------------------------------

def distinct_counts(times: npt.ArrayLike) -> npt.NDArray[np.int64]:
    r"""Number of distinct finite values along the last axis (e.g. distinct learning times of a run).

    ``times`` ``(..., r)`` gives an integer array ``(...)``; NaN entries (never learned) do not count,
    so a run that learns its ``r`` components at ``r`` different steps gives ``r``.
    """
    T = np.asarray(times, dtype=np.float64)
    if T.ndim < 1:
        raise ValueError("times must have at least one axis")
    flat = T.reshape(-1, T.shape[-1])
    counts = [np.unique(row[np.isfinite(row)]).size for row in flat]
    return np.asarray(counts, dtype=np.int64).reshape(T.shape[:-1])


def zoom_horizon(*times: npt.ArrayLike, steps: int, factor: float = 1.5) -> int:
    r"""Iteration horizon that shows every learning event: :math:`\min(\text{steps}, \lfloor\text{factor}\cdot\max T\rfloor)`.

    The maximum is over the finite entries of all ``times`` arrays; without any, ``steps``.
    """
    steps = check_int("steps", steps, low=1)
    factor = check_positive_float("factor", factor)
    finite = [np.asarray(t, dtype=np.float64).ravel() for t in times]
    finite = np.concatenate(finite) if finite else np.empty(0)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return steps
    return int(min(steps, factor * float(finite.max())))


def fraction_decreasing(values: npt.ArrayLike) -> float:
    """Fraction of consecutive pairs of a 1-D sequence that strictly decrease (NaN pairs do not)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2:
        raise ValueError("fraction_decreasing needs at least two values")
    return float(np.mean(np.nan_to_num(np.diff(v), nan=1.0) < 0))


def max_deviation(measured: npt.ArrayLike, predicted: npt.ArrayLike, *, relative: bool = False) -> float:
    r""":math:`\max_i |m_i - p_i|`, or :math:`\max_i |m_i - p_i|/|p_i|` with ``relative=True``."""
    m = np.asarray(measured, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if m.shape != p.shape or m.size == 0:
        raise ValueError(f"measured and predicted must have the same non-empty shape, got {m.shape} and {p.shape}")
    gap = np.abs(m - p)
    if relative:
        if np.any(p == 0):
            raise ValueError("relative deviation needs non-zero predictions")
        gap = gap / np.abs(p)
    return float(gap.max())


def empirical_rip_constant(ratios: npt.ArrayLike) -> npt.NDArray[np.float64]:
    r""":math:`\hat\delta = \max|\text{ratio} - 1|` over the last axis of RIP ratios :math:`\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2`.

    A lower estimate of the true RIP constant (the supremum over all matrices of the rank is larger).
    """
    r = np.asarray(ratios, dtype=np.float64)
    if r.ndim < 1 or r.shape[-1] == 0:
        raise ValueError("ratios must have a non-empty last axis")
    return np.max(np.abs(r - 1.0), axis=-1)


def power_law_fit(x: npt.ArrayLike, y: npt.ArrayLike) -> LineFit:
    r"""Fit :math:`y \approx c\,x^{p}`: :func:`fit_line` of :math:`\log y` against :math:`\log x` (slope :math:`p`)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("power_law_fit needs positive x and y")
    return fit_line(np.log(x), np.log(y))


# -- preliminaries and related work (Jin chapter): adversarial RIP, restarts, aligned paths --------

def _symmetric_basis(n: int) -> np.ndarray:
    """Orthonormal basis (Frobenius) of the symmetric ``n x n`` matrices, shape ``(n(n+1)/2, n, n)``."""
    j, l = np.triu_indices(n)
    basis = np.zeros((j.size, n, n))
    k = np.arange(j.size)
    basis[k, j, l] = np.where(j == l, 1.0, 2 ** -0.5)
    basis[k, l, j] = basis[k, j, l]
    return basis


def _gram_on_symmetric(operator: MeasurementOperator) -> tuple[np.ndarray, np.ndarray]:
    """``(basis, F)``: the symmetric basis and the images of its elements, ``F[k] = A(basis[k])``."""
    basis = _symmetric_basis(operator.n1)
    return basis, np.asarray(operator.forward(basis), dtype=np.float64)


def _rank_projection(X: np.ndarray, rank: int) -> np.ndarray:
    """Best rank-``rank`` approximation of a symmetric matrix (eigenvalues of largest magnitude)."""
    w, V = np.linalg.eigh(X)
    idx = np.argsort(-np.abs(w))[:rank]
    return (V[:, idx] * w[idx]) @ V[:, idx].T


def restricted_isometry_search(operator: MeasurementOperator, rank: int, *, starts: int = 8, iters: int = 300,
                               maximize: bool = False, rng: int = 0) -> tuple[float, np.ndarray]:
    r"""Adversarial search for the extreme of :math:`\lVert\mathcal{A}(X)\rVert^2/\lVert X\rVert_F^2` over symmetric rank-``rank`` :math:`X`.

    Projected gradient on the unit sphere: :math:`X \leftarrow P_\rho(X \mp \tau(HX - q(X)X))`,
    normalised, with :math:`H = \mathcal{A}^*\mathcal{A}` on symmetric matrices, :math:`q` the ratio,
    step :math:`\tau = 1/\lambda_{\max}(H)` and :math:`P_\rho` the best rank-:math:`\rho` approximation;
    ``starts`` random starts (seed ``rng``), ``iters`` steps each. Returns the smallest (or, with
    ``maximize``, the largest) ratio found and its matrix. Unlike the ratio on random test matrices
    (:func:`matsense.rip_ratios`), it finds a rank-:math:`\rho` matrix in the kernel when there is one.
    """
    rank = check_int("rank", rank, low=1, high=operator.n1)
    starts, iters = check_int("starts", starts, low=1), check_int("iters", iters, low=0)
    basis, F = _gram_on_symmetric(operator)
    H = F @ F.T
    tau, sign = 1.0 / float(np.linalg.eigvalsh(H)[-1]), (-1.0 if maximize else 1.0)
    gen = np.random.default_rng(rng)
    best, best_X = None, None
    for _ in range(starts):
        X = _rank_projection(np.einsum("k,kij->ij", gen.standard_normal(len(basis)), basis), rank)
        X /= np.linalg.norm(X)
        for _ in range(iters):
            c = np.einsum("kij,ij->k", basis, X)
            Hc = H @ c
            X = _rank_projection(X - sign * tau * (np.einsum("k,kij->ij", Hc, basis) - (c @ Hc) * X), rank)
            X /= np.linalg.norm(X)
        c = np.einsum("kij,ij->k", basis, X)
        q = float(c @ H @ c)
        if best is None or sign * q < sign * best:
            best, best_X = q, X
    return best, best_X


def rank_restarts(problem: SensingProblem, s: int, *, count: int = 10, steps: int = 2000, eta: float | None = None,
                  rng: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""GD on the rank-``s`` factor :math:`V\in\mathbb{R}^{n\times s}` from ``count`` random starts, a fixed number of ``steps``.

    :math:`V_{t+1} = V_t - \eta\,\mathcal{A}^*(\mathcal{A}(V_tV_t^\top) - y)V_t`, starts with
    :math:`N(0, \sigma_1/n)` entries (seed ``rng``), step :math:`\eta = 0.25/\sigma_1` by default
    (:math:`\sigma_1` the top eigenvalue of :math:`M^\star`). The runs stop after ``steps`` steps,
    converged or not. Returns the end points :math:`V_TV_T^\top` ``(count, n, n)`` and their losses
    :math:`f` ``(count,)``.
    """
    s = check_int("s", s, low=1, high=problem.n1)
    count, steps = check_int("count", count, low=1), check_int("steps", steps, low=0)
    basis, F = _gram_on_symmetric(problem.operator)
    y = np.asarray(problem.y, dtype=np.float64)
    H, h = F @ F.T, F @ y
    sigma_1 = float(np.linalg.eigvalsh(problem.M_star)[-1])
    eta = 0.25 / sigma_1 if eta is None else check_positive_float("eta", eta)
    n = problem.n1
    U = np.random.default_rng(rng).standard_normal((count, n, s)) * np.sqrt(sigma_1 / n)
    for _ in range(steps):
        c = np.einsum("kij,bij->bk", basis, U @ np.swapaxes(U, 1, 2))
        U = U - eta * (np.einsum("bk,kij->bij", c @ H - h, basis) @ U)
    Z = U @ np.swapaxes(U, 1, 2)
    c = np.einsum("kij,bij->bk", basis, Z)
    loss = 0.25 * (np.einsum("bk,kl,bl->b", c, H, c) - 2 * c @ h + y @ y)
    return Z, loss


def level_crossing(path: npt.ArrayLike, loss: npt.ArrayLike, level: float) -> np.ndarray:
    r"""The point where a path's loss first falls to ``level``, linearly interpolated between the two samples around it.

    ``path`` ``(T, ...)`` and ``loss`` ``(T,)``; NaN-filled if the loss never reaches ``level``, and
    ``path[0]`` if it starts below it.
    """
    path, loss = np.asarray(path, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    below = np.flatnonzero(loss <= level)
    if below.size == 0:
        return np.full(path.shape[1:], np.nan)
    i = int(below[0])
    if i == 0:
        return path[0]
    w = (loss[i - 1] - level) / (loss[i - 1] - loss[i])
    return (1 - w) * path[i - 1] + w * path[i]


def level_aligned_distance(path_a: npt.ArrayLike, loss_a: npt.ArrayLike, path_b: npt.ArrayLike,
                           loss_b: npt.ArrayLike, levels: Sequence[float]) -> np.ndarray:
    r"""Frobenius distance between two paths at the points where their losses first reach each of ``levels``.

    Aligns two paths that run on different clocks by their loss (:func:`level_crossing`), so it
    compares where they go, not when. Shape ``(len(levels),)``.
    """
    return np.array([float(np.linalg.norm(level_crossing(path_a, loss_a, l) - level_crossing(path_b, loss_b, l)))
                     for l in levels])


# -- book/xiong (Xiong, Ding, Du 2024): rates of linear and sublinear convergence -------------------

def _columns(values: npt.ArrayLike, T: int, name: str) -> tuple[np.ndarray, tuple]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 0 or v.shape[0] != T:
        raise ValueError(f"{name} must have shape (T, ...) with T = {T} recorded iterations, got {v.shape}")
    return v.reshape(T, -1), v.shape[1:]


def fit_rate(iterations: npt.ArrayLike, values: npt.ArrayLike, *, lo: float, hi: float) -> npt.NDArray[np.float64] | float:
    r"""Linear rate: least-squares slope of :math:`\ln v_t` per iteration on the window where :math:`v` falls from ``hi`` to ``lo``.

    The window (a stated rule) runs from the first recorded iteration with :math:`v_t \le` ``hi``
    to the first later one with :math:`v_t \le` ``lo`` (both included), or to the last recorded
    iteration when :math:`v` never falls to ``lo``. NaN when the window holds fewer than 3 points
    (:math:`v` never falls to ``hi``). For :math:`v_t = C e^{-\rho t}` the result is :math:`-\rho`.

    ``values`` has shape ``(T,)`` (a float is returned) or ``(T, ...)`` (one rate per column).
    """
    it = np.asarray(iterations, dtype=np.float64)
    if it.ndim != 1:
        raise ValueError(f"iterations must be 1-D, got shape {it.shape}")
    if not (0 < lo < hi):
        raise ValueError(f"need 0 < lo < hi, got lo={lo!r}, hi={hi!r}")
    V, shape = _columns(values, it.size, "values")
    out = np.full(V.shape[1], np.nan)
    for j in range(V.shape[1]):
        v = V[:, j]
        start = np.flatnonzero(v <= hi)
        if start.size == 0:
            continue
        i0 = int(start[0])
        after = np.flatnonzero(v[i0:] <= lo)
        i1 = i0 + int(after[0]) if after.size else it.size - 1
        sel = slice(i0, i1 + 1)
        x, y = it[sel], v[sel]
        ok = np.isfinite(y) & (y > 0)
        if ok.sum() >= 3:
            out[j] = np.polyfit(x[ok], np.log(y[ok]), 1)[0]
    return float(out[0]) if shape == () else out.reshape(shape)


def loglog_slope(iterations: npt.ArrayLike, values: npt.ArrayLike, *, last_fraction: float = 0.5
                 ) -> npt.NDArray[np.float64] | float:
    r"""Late log-log slope: least-squares slope of :math:`\ln v_t` against :math:`\ln t` over the last iterations.

    The window is :math:`t \ge (1 - \text{last\_fraction})\,t_{\max}`, :math:`t > 0` (``last_fraction
    = 0.5``: the last doubling of :math:`t`). For :math:`v_t = C t^{-p}` the result is :math:`-p`.
    ``values`` has shape ``(T,)`` (a float is returned) or ``(T, ...)``; NaN with fewer than 3 points.
    """
    it = np.asarray(iterations, dtype=np.float64)
    if it.ndim != 1:
        raise ValueError(f"iterations must be 1-D, got shape {it.shape}")
    if not (0 < last_fraction <= 1):
        raise ValueError(f"last_fraction must lie in (0, 1], got {last_fraction!r}")
    V, shape = _columns(values, it.size, "values")
    window = (it >= (1 - last_fraction) * it.max()) & (it > 0)
    out = np.full(V.shape[1], np.nan)
    for j in range(V.shape[1]):
        y = V[window, j]
        ok = np.isfinite(y) & (y > 0)
        if ok.sum() >= 3:
            out[j] = np.polyfit(np.log(it[window][ok]), np.log(y[ok]), 1)[0]
    return float(out[0]) if shape == () else out.reshape(shape)


# --- Wind: convergence (W2) ---

def reach_time(values: npt.ArrayLike, level: float, iterations: npt.ArrayLike) -> npt.NDArray[np.float64] | float:
    r"""First time each run falls below ``level``, interpolated in :math:`\log` between recorded iterations.

    For the first recorded index :math:`i` with :math:`v_i < \ell` (and :math:`i > 0`) the time is
    :math:`t_{i-1} + (t_i - t_{i-1})\,\frac{\ln v_{i-1} - \ln\ell}{\ln v_{i-1} - \ln v_i}`; a run
    that starts below ``level`` has time ``iterations[0]``; NaN where the run never falls below it
    (or a value is NaN or not positive before it does).

    Parameters
    ----------
    values : array_like, shape (T,) or (T, B)
        Positive recorded values (errors).
    level : float
        Target, > 0.
    iterations : array_like, shape (T,)
        Strictly increasing recorded iterations (or times).
    """
    level = check_positive_float("level", level)
    v = np.asarray(values, dtype=np.float64)
    single = v.ndim == 1
    if single:
        v = v[:, None]
    if v.ndim != 2:
        raise ValueError(f"values must have shape (T,) or (T, B), got {np.shape(values)}")
    it = _iterations(iterations, v.shape[0]).astype(np.float64)
    out = np.full(v.shape[1], np.nan)
    for b in range(v.shape[1]):
        below = np.flatnonzero(np.nan_to_num(v[:, b], nan=np.inf) < level)
        if below.size == 0:
            continue
        i = int(below[0])
        if i == 0:
            out[b] = it[0]
            continue
        hi, lo = v[i - 1, b], v[i, b]
        if not (np.isfinite(hi) and hi > 0 and lo > 0):
            continue
        out[b] = it[i - 1] + (it[i] - it[i - 1]) * (np.log(hi) - np.log(level)) / (np.log(hi) - np.log(lo))
    return float(out[0]) if single else out


