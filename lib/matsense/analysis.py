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
from typing import Any

import numpy as np

from ._validation import check_int, check_positive_float

__all__ = [
    "LineFit",
    "first_crossing",
    "learning_times",
    "closest_approach",
    "dwell_time",
    "fit_line",
    "growth_rate",
    "final_phase_rate",
    "hausdorff_distance",
    "is_increasing",
]


def _iterations(iterations: Any, T: int) -> np.ndarray:
    it = np.asarray(iterations)
    if it.ndim != 1 or it.size != T:
        raise ValueError(f"iterations must be 1-D with {T} entries (one per recorded row), got shape {it.shape}")
    if np.any(np.diff(it) <= 0):
        raise ValueError("iterations must be strictly increasing")
    return it


def first_crossing(values: Any, threshold: Any, iterations: Any) -> np.ndarray:
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


def learning_times(spectrum: Any, sigma: Any, iterations: Any, *, fraction: float = 0.5) -> np.ndarray:
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


def closest_approach(distances: Any, iterations: Any) -> tuple[np.ndarray, np.ndarray]:
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


def dwell_time(values: Any, level: Any, iterations: Any, *, rel: float = 0.01) -> np.ndarray:
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


def fit_line(x: Any, y: Any) -> LineFit:
    """Least-squares fit of ``y`` against ``x`` (1-D, at least two distinct finite points)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("fit_line needs finite x and y (a NaN means an event was never reached)")
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError("fit_line needs at least two distinct x values")
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss if ss > 0 else 1.0
    return LineFit(float(slope), float(intercept), r2)


def growth_rate(values: Any, iterations: Any, *, start: int, stop: int) -> np.ndarray:
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
    slopes = np.polyfit(it[window].astype(np.float64), np.log(w), 1)[0]
    return np.exp(slopes).reshape(v.shape[1:])


def final_phase_rate(values: Any, iterations: Any, *, hi: float = 1e-3, lo: float = 1e-8) -> float:
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


def hausdorff_distance(path_a: Any, path_b: Any) -> float:
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


def is_increasing(values: Any, *, axis: int = -1) -> np.ndarray:
    """True where ``values`` strictly increase along ``axis`` (False if any entry is NaN)."""
    v = np.asarray(values, dtype=np.float64)
    d = np.diff(v, axis=axis)
    return np.all(np.nan_to_num(d, nan=-1.0) > 0, axis=axis)
