r"""The sizes of each chapter, in one place: a frozen dataclass per chapter and one factory.

Every notebook of a chapter starts from its setup, e.g. ``setup = jin_setup(quick=quick, seed=seed)``;
its parameters cell holds only what a reader would change (``quick``, ``seed``). *Full* sizes are
those of the book; *quick* sizes are for the test suite (every notebook in seconds). Where a paper
states its experiment's parameters they are the paper's; elsewhere they are our choice, and the
chapter says so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from ._validation import check_int

__all__ = ["FoundationsSetup", "foundations_setup", "JinSetup", "jin_setup", "as_dict"]


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


@dataclass(frozen=True)
class FoundationsSetup:
    r"""Sizes of the foundations chapter: one symmetric Gaussian sensing problem and GD on it.

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

    def __post_init__(self) -> None:
        _check_common(self.quick, self.seed)
        check_int("n", self.n, low=2)
        check_int("m", self.m, low=1)
        check_int("k", self.k, low=1, high=self.n)
        check_int("steps", self.steps, low=1)


def foundations_setup(quick: bool = False, *, seed: int = 0, **overrides: Any) -> FoundationsSetup:
    """The foundations chapter's sizes (quick: ``n = 10, m = 500``, 1500 steps; full: ``n = 20, m = 2000``, 2500 steps).

    Keyword ``overrides`` replace single fields (e.g. ``m=300``); unknown names raise ``TypeError``.
    """
    quick, seed = _check_common(quick, seed)
    if quick:
        s = FoundationsSetup(quick, seed, n=10, eigenvalues=(3.0, 2.0, 1.0), m=500, k=10,
                             alphas=(1e-2, 1e-4, 1e-6), eta=0.05, steps=1500)
    else:
        s = FoundationsSetup(quick, seed, n=20, eigenvalues=(3.0, 2.0, 1.0), m=2000, k=20,
                             alphas=(1e-2, 1e-4, 1e-6), eta=0.05, steps=2500)
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
        A spectrum with a smaller gap :math:`\sigma_2 - \sigma_3`... used beyond the papers.
    m_grid : tuple of int
        Numbers of measurements for the RIP study.
    rip_samples : int
        Random test matrices per operator in the RIP study.
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

    def __post_init__(self) -> None:
        _check_common(self.quick, self.seed)
        check_int("n", self.n, low=2)
        check_int("m", self.m, low=1)
        check_int("steps", self.steps, low=1)
        check_int("n_seeds", self.n_seeds, low=1)
        check_int("k_under", self.k_under, low=1, high=max(1, len(self.sigma) - 1))

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
    return _override(s, overrides)
