r"""The sizes of each chapter, in one place: a frozen dataclass per chapter and one factory.

Every notebook of a chapter starts from its setup, e.g. ``setup = jin_setup(quick=quick, seed=seed)``;
its parameters cell holds only what a reader would change (``quick``, ``seed``). *Full* sizes are
those of the book; *quick* sizes are for the test suite (every notebook in seconds). Where a paper
states its experiment's parameters they are the paper's; elsewhere they are our choice, and the
chapter says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields, replace
from typing import Any

from ._validation import check_int

__all__ = ["FoundationsSetup", "foundations_setup", "JinSetup", "jin_setup", "as_dict", "with_overrides",
           "draws", "DRAW_STRIDE"]

#: Seeds of a setup's problem draws are ``seed, seed + DRAW_STRIDE, seed + 2 * DRAW_STRIDE, ...``.
DRAW_STRIDE = 1000


def _check_common(quick: Any, seed: Any) -> tuple[bool, int]:
    if not isinstance(quick, bool):
        raise TypeError(f"quick={quick!r} must be True or False")
    return quick, check_int("seed", seed, low=0)


def as_dict(setup: Any) -> dict[str, Any]:
    """The fields of a setup as a plain dict (tuples kept), e.g. for a caption or a cache key."""
    return {f.name: getattr(setup, f.name) for f in fields(setup)}


def _override(setup: Any, overrides: dict[str, Any]) -> Any:
    names = {f.name for f in fields(setup)} - {"quick", "seed"}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown setup field(s) {unknown}; allowed: {sorted(names)}")
    return replace(setup, **{k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()})


def with_overrides(setup: Any, overrides: dict[str, Any]) -> Any:
    """``setup`` with some fields replaced (lists become tuples), validated like the factory's overrides.

    Used for a claim's negative control: ``with_overrides(setup, {"sigma": [2.0, 2.0, 1.0]})``.

    Raises
    ------
    TypeError
        For a field the setup does not have (``quick`` and ``seed`` cannot be overridden).
    """
    if not dataclasses.is_dataclass(setup) or isinstance(setup, type):
        raise TypeError(f"setup must be a setup dataclass instance, got {type(setup).__name__}")
    if not isinstance(overrides, dict):
        raise TypeError(f"overrides must be a mapping field -> value, got {type(overrides).__name__}")
    return _override(setup, overrides)


def draws(setup: Any) -> list[Any]:
    """The setup on each of its ``n_draws`` independent problem draws (the first is ``setup`` itself).

    Draw ``i`` has seed ``setup.seed + i * DRAW_STRIDE``: a claim measured on every draw holds for
    more than one problem instance, and a book rebuilt with another seed draws other problems.
    """
    n = check_int("n_draws", getattr(setup, "n_draws", 1), low=1)
    return [replace(setup, seed=setup.seed + i * DRAW_STRIDE) for i in range(n)]


@dataclass(frozen=True)
class FoundationsSetup:
    r"""Sizes of the foundations chapter: one symmetric Gaussian sensing problem and GD on it.

    The number of measurements lies between the dimension :math:`nr - r(r-1)/2` of the rank-:math:`r`
    PSD matrices and the dimension :math:`n(n+1)/2` of all symmetric ones: the measurements determine
    :math:`M^\star` among low-rank matrices but not among all symmetric matrices, which is where
    the choice of initialisation matters.

    Attributes
    ----------
    quick : bool
        Quick (test) sizes or full (book) sizes.
    seed : int
        Seed of the problem (:math:`M^\star` and the operator) and of the initial direction.
    n : int
        :math:`M^\star` is :math:`n\times n`.
    eigenvalues : tuple of float
        Eigenvalues :math:`\sigma_1 > \dots > \sigma_r` of :math:`M^\star`.
    m : int
        Number of measurements.
    k : int
        Columns of :math:`U`.
    alphas : tuple of float
        Initial scales :math:`\alpha`.
    eta : float
        Step size.
    steps : int
        GD iterations.
    n_draws : int
        Independent problem draws every claim is measured on.
    dtype : str
        Arithmetic of the operator: ``"float64"`` (the book) or ``"float32"``.
    operator_scale : float
        :math:`c` in :math:`A_i = c\,(B_i + B_i^\top)/2`: 1 is the isotropic operator; :math:`\sqrt2`
        is the :math:`(B_i + B_i^\top)/\sqrt2` convention, which doubles :math:`\mathcal A^*\mathcal A`.
    """

    quick: bool
    seed: int
    n: int
    eigenvalues: tuple[float, ...]
    m: int
    k: int
    alphas: tuple[float, ...]
    eta: float
    steps: int
    n_draws: int = 3
    dtype: str = "float64"
    operator_scale: float = 1.0

    def __post_init__(self) -> None:
        _check_common(self.quick, self.seed)
        check_int("n", self.n, low=2)
        check_int("m", self.m, low=1)
        check_int("k", self.k, low=1, high=self.n)
        check_int("steps", self.steps, low=1)
        check_int("n_draws", self.n_draws, low=1)
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype={self.dtype!r}: allowed values are 'float64' and 'float32'")
        if not (isinstance(self.operator_scale, (int, float)) and self.operator_scale > 0):
            raise ValueError(f"operator_scale={self.operator_scale!r} must be a number > 0")


def foundations_setup(quick: bool = False, *, seed: int = 0, **overrides: Any) -> FoundationsSetup:
    """The foundations chapter's sizes: quick ``n = 10, m = 45``; full ``n = 20, m = 150``; 3000 steps.

    Both lie between the rank-3 dimension (27, 57) and :math:`n(n+1)/2` (55, 210). Keyword
    ``overrides`` replace single fields (e.g. ``m=300``); unknown names raise ``TypeError``.
    """
    quick, seed = _check_common(quick, seed)
    if quick:
        s = FoundationsSetup(quick, seed, n=10, eigenvalues=(3.0, 2.0, 1.0), m=45, k=10,
                             alphas=(1e-2, 1e-4, 1e-6, 1e-8), eta=0.05, steps=3000)
    else:
        s = FoundationsSetup(quick, seed, n=20, eigenvalues=(3.0, 2.0, 1.0), m=150, k=20,
                             alphas=(1e-2, 1e-4, 1e-6, 1e-8), eta=0.05, steps=3000)
    return _override(s, overrides)


@dataclass(frozen=True)
class JinSetup:
    r"""Sizes of the Jin et al. (2023) chapter (incremental learning). All are our choice: the paper's
    experiment parameters could not be read.

    Attributes
    ----------
    quick : bool
        Quick (test) sizes or full (book) sizes.
    seed : int
        Seed of the sensing problem (:math:`M^\star` and the operator).
    n : int
        :math:`M^\star` is :math:`n\times n` PSD.
    sigma : tuple of float
        Its eigenvalues :math:`\sigma_1 > \dots > \sigma_r`.
    m : int
        Number of symmetric Gaussian measurements.
    eta : float
        Step size.
    steps : int
        GD iterations of every run.
    alphas : tuple of float
        Initial scales :math:`\alpha` (largest first).
    n_seeds : int
        Random directions :math:`\bar U^{(j)}`, seeds ``0 .. n_seeds - 1``, shared by every :math:`\alpha`.
    k_under : int
        Columns of :math:`U` in the under-parameterized runs (:math:`k < r`).
    sigma_gap : tuple of float
        A spectrum with a smaller gap between :math:`\sigma_1` and :math:`\sigma_2`, used beyond the papers.
    m_grid : tuple of int
        Numbers of measurements for the RIP study.
    rip_samples : int
        Random test matrices per operator in the RIP study.
    n_draws : int
        Independent problem draws (seeds ``seed + i * DRAW_STRIDE``) every claim is measured on.
    operator : str
        ``"sensing"`` (default: the ``m`` symmetric Gaussian measurements) or ``"factorization"``
        (full observation :math:`\mathcal{A} = \mathrm{Id}` of the same :math:`M^\star`); quick and
        full builds both use ``"sensing"``, the conclusion compares the two.
    k_grid : tuple of int
        Columns :math:`k` of the sweep over :math:`k` (it includes :math:`k = r`); quick
        ``(1, 2, 3, 6, 10)``, full ``(1, 2, 3, 6, 20)``.
    m_bias : int
        Measurements of the implicit-bias experiment, between the rank-r dimension
        :math:`nr - r(r-1)/2` and :math:`n(n+1)/2`; quick 45, full 150.
    steps_bias : int
        GD iterations of the implicit-bias experiment; quick 4000, full 6000.
    """

    quick: bool
    seed: int
    n: int
    sigma: tuple[float, ...]
    m: int
    eta: float
    steps: int
    alphas: tuple[float, ...]
    n_seeds: int
    k_under: int
    sigma_gap: tuple[float, ...]
    m_grid: tuple[int, ...]
    rip_samples: int
    n_draws: int = 3
    operator: str = "sensing"
    # book/jin/main_results: the sweep over k and the implicit-bias experiment below n(n+1)/2
    k_grid: tuple[int, ...] = (1, 2, 3, 6, 20)
    m_bias: int = 150
    steps_bias: int = 6000

    def __post_init__(self) -> None:
        _check_common(self.quick, self.seed)
        check_int("n", self.n, low=2)
        check_int("m", self.m, low=1)
        check_int("steps", self.steps, low=1)
        check_int("n_seeds", self.n_seeds, low=1)
        check_int("k_under", self.k_under, low=1, high=max(1, len(self.sigma) - 1))
        check_int("n_draws", self.n_draws, low=1)
        if self.operator not in ("sensing", "factorization"):
            raise ValueError(f"operator={self.operator!r} must be 'sensing' or 'factorization'")

    @property
    def r(self) -> int:
        """Rank of :math:`M^\\star`."""
        return len(self.sigma)

    @property
    def seeds(self) -> tuple[int, ...]:
        """Seeds of the random directions :math:`\\bar U^{(j)}`."""
        return tuple(range(self.n_seeds))


def jin_setup(quick: bool = False, *, seed: int = 0, **overrides: Any) -> JinSetup:
    r"""The Jin chapter's sizes.

    Full: :math:`n = 20`, :math:`\sigma = (3, 2, 1)`, :math:`m = 2000`, :math:`\eta = 0.05`, 2500 steps,
    :math:`\alpha \in \{10^{-2}, 10^{-4}, 10^{-6}, 10^{-8}\}`, five directions. Quick: :math:`n = 10`,
    :math:`m = 1000`, 800 steps, three directions. Keyword ``overrides`` replace single fields.
    """
    quick, seed = _check_common(quick, seed)
    common = dict(sigma=(3.0, 2.0, 1.0), eta=0.05, alphas=(1e-2, 1e-4, 1e-6, 1e-8), k_under=2,
                  sigma_gap=(3.0, 2.5, 1.0))
    if quick:
        s = JinSetup(quick, seed, n=10, m=1000, steps=800, n_seeds=3,
                     m_grid=(250, 500, 1000, 2000, 4000), rip_samples=200, **common)
    else:
        s = JinSetup(quick, seed, n=20, m=2000, steps=2500, n_seeds=5,
                     m_grid=(500, 1000, 2000, 4000, 8000), rip_samples=500, **common)
    s = replace(s, k_grid=(1, 2, 3, 6, s.n), m_bias=45 if quick else 150, steps_bias=4000 if quick else 6000)
    return _override(s, overrides)
