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

from typing import Any

import numpy as np

from ._validation import check_int, check_positive_array, check_positive_float

__all__ = [
    "check_step_size",
    "growth_factor",
    "learning_time_slope",
    "predicted_learning_time",
    "plateau_levels",
    "dwell_time_slope",
]


def _spectrum(sigma: Any) -> np.ndarray:
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


def growth_factor(eta: float, sigma: Any) -> np.ndarray:
    r"""Per-step growth :math:`1 + \eta\sigma_s` of the component along :math:`v_s` near the saddle."""
    eta = check_positive_float("eta", eta)
    return 1.0 + eta * _spectrum(sigma)


def learning_time_slope(eta: float, sigma: Any) -> np.ndarray:
    r"""Predicted slope :math:`dT_s/d\log(1/\alpha) = 1/\log(1 + \eta\sigma_s)`, one per :math:`s`."""
    return 1.0 / np.log(growth_factor(eta, sigma))


def predicted_learning_time(alpha: Any, eta: float, sigma: Any) -> np.ndarray:
    r"""Leading-order learning times :math:`\log(1/\alpha)/\log(1 + \eta\sigma_s)`.

    Returns an array of shape ``(len(alpha), len(sigma))`` (without the O(1) offset).
    """
    alpha = check_positive_array("alpha", alpha)
    if np.any(alpha >= 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return np.log(1.0 / alpha)[:, None] * learning_time_slope(eta, sigma)[None, :]


def plateau_levels(sigma: Any) -> np.ndarray:
    r"""Loss on plateau :math:`s = 0, \dots, r`: :math:`\tfrac14\sum_{i>s}\sigma_i^2`.

    Exact for matrix factorization (:math:`f(Z^\star_s)` with :math:`Z^\star_s` the eigen-truncation);
    under RIP the plateau sits at :math:`f(Z^\star_s)`, within :math:`O(\delta)` of this value.
    """
    sq = _spectrum(sigma) ** 2
    tail = np.concatenate([np.cumsum(sq[::-1])[::-1], [0.0]])
    return tail / 4.0


def dwell_time_slope(eta: float, sigma: Any, s: int) -> float:
    r"""Predicted growth of the dwell time on plateau :math:`s` per unit of :math:`\log(1/\alpha)`.

    :math:`1/\log(1+\eta\sigma_{s+1}) - 1/\log(1+\eta\sigma_s)` for :math:`1 \le s < r`.
    """
    slopes = learning_time_slope(eta, sigma)
    s = check_int("s", s, low=1, high=slopes.size - 1)
    return float(slopes[s] - slopes[s - 1])
