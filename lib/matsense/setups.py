r"""The sizes of each chapter, in one place: a frozen dataclass per chapter and one factory.

Every notebook of a chapter starts from its setup, e.g. ``setup = jin_setup(quick=quick, seed=seed)``;
its parameters cell holds only what a reader would change (``quick``, ``seed``). *Full* sizes are
those of the book; *quick* sizes are for the test suite (every notebook in seconds). Where a paper
states its experiment's parameters they are the paper's; elsewhere they are our choice, and the
chapter says so. In the browser (JupyterLite, where Python runs on Pyodide) every factory returns
the quick sizes, whatever ``quick`` says (:func:`in_browser`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields, replace
from typing import Any

from ._validation import check_int

__all__ = ["FoundationsSetup", "foundations_setup", "JinSetup", "jin_setup", "XiongSetup",
           "xiong_setup", "as_dict", "with_overrides", "draws", "DRAW_STRIDE", "WindSetup",
           "wind_setup", "in_browser"]

#: Seeds of a setup's problem draws are ``seed, seed + DRAW_STRIDE, seed + 2 * DRAW_STRIDE, ...``.
DRAW_STRIDE = 1000


def _check_common(quick: Any, seed: Any) -> tuple[bool, int]:
    if not isinstance(quick, bool):
        raise TypeError(f"quick={quick!r} must be True or False")
    return quick or in_browser(), check_int("seed", seed, low=0)  # the browser: quick sizes


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
    r"""Sizes of the Jin et al. (2023) chapter (incremental learning). All are our choice, not the
    paper's experimental settings.

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


# -- the Xiong, Ding, Du (2024) chapter ------------------------------------------------------------

@dataclass(frozen=True)
class XiongSetup:
    r"""Sizes of the Xiong, Ding, Du (2024) chapter (over-parameterization slows GD down).

    The paper's experiments use a :math:`50\times50` ground truth of rank 3 and the initial scales
    :math:`\alpha` (for :math:`F`, and :math:`X`) and :math:`\alpha/3` (for :math:`G`); every other
    value (spectrum, step size, number of measurements, iterations, the scale grid) is our choice.

    Attributes
    ----------
    quick : bool
        Quick (test) sizes or full (book) sizes.
    seed : int
        Seed of the problem (:math:`M^\star`, then the operator) and of the initial directions.
    n : int
        :math:`M^\star` is :math:`n\times n` PSD; full 50 (the paper's size), quick 20.
    sigma : tuple of float
        Eigenvalues of :math:`M^\star` (well conditioned, :math:`\kappa = 5/3`).
    sigma_ill : tuple of float
        An ill-conditioned spectrum (:math:`\kappa = 10`), a variant beyond the paper.
    k_over : int
        Columns of the over-parameterized runs (:math:`k > r`).
    k_grid : tuple of int
        Columns of the sweeps over :math:`k` (includes :math:`k = r`).
    alphas : tuple of float
        Initial scales :math:`\alpha`, largest first.
    eta : float
        Step size :math:`\eta` (:math:`\eta\sigma_1 < 1`).
    m : int
        Number of Gaussian measurements when ``operator == "sensing"``.
    steps_mf : int
        GD iterations of the matrix-factorization runs (:math:`\mathcal{A} = \mathrm{Id}`).
    steps_sensing : int
        GD iterations of the sensing runs (each step costs an :math:`m\times n^2` product).
    n_seeds : int
        Random initial directions per scale (the same directions for every :math:`\alpha`).
    n_draws : int
        Independent problem draws every claim is measured on (:func:`draws`).
    switch_threshold : float
        One-step modification: it is applied at the first iteration whose training loss is below
        ``switch_threshold`` times the initial loss.
    rebalance_c : float or None
        :math:`c` of the re-balancing :math:`F \to c\,F(F^\top F)^{-1/2}`; None takes
        :math:`c^2 = \lVert F G^\top\rVert_2` at the switch.
    operator : str
        ``"factorization"`` (default, :math:`\mathcal{A} = \mathrm{Id}`) or ``"sensing"``
        (``m`` Gaussian measurements: symmetric :math:`A_i` for the symmetric parameterization,
        general ones for the asymmetric one); a variant or control field.
    k_exact : int or None
        Columns of the "exact parameterization" runs of the asymmetric section (None: :math:`k = r`);
        a control field (a control sets it above :math:`r`).
    one_step : bool
        Whether the one-step section's measurements apply the re-balancing at the switch (True) or
        an ordinary GD step there (False, the control "without the step").
    sensing_matrices : str
        ``"matched"`` (default: symmetric :math:`A_i` for :math:`XX^\top`, general ones for
        :math:`FG^\top`) or ``"symmetric"`` (symmetric :math:`A_i` for :math:`FG^\top` too: the
        pitfall shown in book/xiong/preliminaries).
    """

    quick: bool
    seed: int
    n: int
    sigma: tuple[float, ...]
    sigma_ill: tuple[float, ...]
    k_over: int
    k_grid: tuple[int, ...]
    alphas: tuple[float, ...]
    eta: float
    m: int
    steps_mf: int
    steps_sensing: int
    n_seeds: int
    n_draws: int = 3
    switch_threshold: float = 1e-3
    rebalance_c: float | None = None
    operator: str = "factorization"
    k_exact: int | None = None
    one_step: bool = True
    sensing_matrices: str = "matched"   # book/xiong/preliminaries (additive)

    def __post_init__(self) -> None:
        _check_common(self.quick, self.seed)
        if self.sensing_matrices not in ("matched", "symmetric"):
            raise ValueError(f"sensing_matrices={self.sensing_matrices!r} must be 'matched' or 'symmetric'")
        check_int("n", self.n, low=2)
        check_int("k_over", self.k_over, low=1, high=self.n)
        if self.k_exact is not None:
            check_int("k_exact", self.k_exact, low=1, high=self.n)
        if not isinstance(self.one_step, bool):
            raise TypeError(f"one_step={self.one_step!r} must be True or False")
        for k in self.k_grid:
            check_int("k_grid[i]", k, low=1, high=self.n)
        check_int("m", self.m, low=1)
        check_int("steps_mf", self.steps_mf, low=1)
        check_int("steps_sensing", self.steps_sensing, low=1)
        check_int("n_seeds", self.n_seeds, low=1)
        check_int("n_draws", self.n_draws, low=1)
        if len(self.sigma) > self.n or len(self.sigma_ill) > self.n:
            raise ValueError(f"rank len(sigma)={len(self.sigma)} exceeds n={self.n}")
        if not self.alphas or any(a <= 0 for a in self.alphas):
            raise ValueError(f"alphas={self.alphas!r} must be positive scales")
        if not (isinstance(self.eta, (int, float)) and 0 < self.eta * max(self.sigma) < 1):
            raise ValueError(f"eta={self.eta!r} must satisfy 0 < eta * sigma_1 < 1")
        if not (0 < self.switch_threshold < 1):
            raise ValueError(f"switch_threshold={self.switch_threshold!r} must lie in (0, 1)")
        if self.rebalance_c is not None and not self.rebalance_c > 0:
            raise ValueError(f"rebalance_c={self.rebalance_c!r} must be None or > 0")
        if self.operator not in ("factorization", "sensing"):
            raise ValueError(f"operator={self.operator!r} must be 'factorization' or 'sensing'")

    @property
    def r(self) -> int:
        r"""Rank of :math:`M^\star`."""
        return len(self.sigma)

    @property
    def seeds(self) -> tuple[int, ...]:
        """Indices ``0 .. n_seeds - 1`` of the initial directions (drawn from ``(seed, j)``)."""
        return tuple(range(self.n_seeds))

    @property
    def steps(self) -> int:
        """Iterations of a run on this setup's operator (``steps_mf`` or ``steps_sensing``)."""
        return self.steps_sensing if self.operator == "sensing" else self.steps_mf


def xiong_setup(quick: bool = False, *, seed: int = 0, **overrides: Any) -> XiongSetup:
    r"""The Xiong chapter's sizes.

    Full: :math:`n = 50` (the paper's), :math:`\sigma = (1, 0.8, 0.6)`, :math:`k_{\rm over} = 4`,
    :math:`k \in \{3, 4, 5, 8\}`, :math:`\alpha \in \{0.5, 0.2, 0.1, 0.05\}`,
    :math:`\eta = 0.05`, :math:`m = 1500`, 30000 factorization and 1500 sensing iterations,
    three directions. Quick: :math:`n = 20`, :math:`k \in \{3, 4, 5\}`,
    :math:`\alpha \in \{0.5, 0.2, 0.1\}`, :math:`m = 400`, 8000 and 400 iterations, two directions.
    Keyword ``overrides`` replace single fields.
    """
    quick, seed = _check_common(quick, seed)
    common = dict(sigma=(1.0, 0.8, 0.6), sigma_ill=(1.0, 0.55, 0.1), k_over=4, eta=0.05)
    if quick:
        s = XiongSetup(quick, seed, n=20, k_grid=(3, 4, 5), alphas=(0.5, 0.2, 0.1), m=400,
                       steps_mf=8000, steps_sensing=400, n_seeds=2, **common)
    else:
        s = XiongSetup(quick, seed, n=50, k_grid=(3, 4, 5, 8), alphas=(0.5, 0.2, 0.1, 0.05), m=1500,
                       steps_mf=30000, steps_sensing=1500, n_seeds=3, **common)
    return _override(s, overrides)


# -- the Wind (2023; v2 2025) chapter ---------------------------------------------------------------

@dataclass(frozen=True)
class WindSetup:
    r"""Sizes of the Wind (2023; v2 2025) chapter (asymmetric sensing from small random initialisation).

    No experiment of the paper is known: every value is our choice. :math:`M^\star` is
    :math:`n_1\times n_2` (:math:`n_1\ne n_2`) of rank :math:`r` with singular values
    ``linspace(1, 1/kappa, r)`` (so :math:`\lVert M^\star\rVert = 1`, :math:`\sigma_r = 1/\kappa`);
    factors :math:`F` (:math:`n_1\times h`), :math:`G` (:math:`n_2\times h`) start at
    :math:`\alpha\bar F`, :math:`\alpha\bar G`.

    Attributes
    ----------
    quick : bool
        Quick (test) sizes or full (book) sizes.
    seed : int
        Seed of the problem (:math:`M^\star` first, then the operator, then the noise) and of the
        initial directions (``numpy.random.default_rng((seed, j, 1))``).
    n1, n2 : int
        :math:`M^\star` is :math:`n_1\times n_2`; full 60 x 40, quick 20 x 14.
    r : int
        Rank of :math:`M^\star`; full 3, quick 2.
    h : int
        Width of the factors; default :math:`\max(n_1, n_2)`, the regime of v2's Remark 2.6.
    h_grid : tuple of int
        Widths of the sweeps over :math:`h` (from :math:`r` to :math:`\max(n_1, n_2)`).
    kappa : float
        Condition number :math:`\kappa = \sigma_1/\sigma_r` of the default spectrum (1).
    kappa_grid : tuple of float
        Condition numbers of the sweeps over :math:`\kappa`.
    eta : float
        Step size (0.25; v2's step condition is far smaller).
    alpha : float
        Default initial scale :math:`\alpha` (our scale; v2's scale is :math:`a_0`, measured per run).
    alphas : tuple of float
        Initial scales of the sweeps over :math:`\alpha`, largest first.
    m : int
        Gaussian measurements, :math:`5(n_1 + n_2)r` at full size (the RIP regime).
    m_under : int
        Measurements of the implicit-bias experiment: below the dimension :math:`n_1n_2`, so that
        matrices other than :math:`M^\star` fit the measurements exactly.
    steps : int
        GD iterations of a run.
    n_seeds : int
        Initial directions per scale (the same directions for every :math:`\alpha`).
    n_draws : int
        Independent problem draws every claim is measured on (:func:`draws`).
    alphas_conv : tuple of float
        Initial scales of book/wind/convergence (small initialisation, :math:`a_0^2 \ll \sigma_r`),
        largest first; :math:`(10^{-3}, 10^{-4}, 10^{-5})` in both modes.
    rip_factor : float
        book/wind/convergence measures the error at the theorem's time with
        ``rip_factor * (n1 + n2) * r`` measurements (30: a restricted isometry constant small
        enough for the v2 analysis at our sizes; the chapter's ``m`` is about 5 times
        :math:`(n_1 + n_2)r`).
    eta_grid : tuple of float
        Step sizes of book/wind/discretisation (GD against the gradient flow), largest first;
        each a multiple of 0.05 or 0.05 divided by an integer; :math:`(0.1, 0.05, 0.025)`.
    xi_grid : tuple of float
        book/wind/robustness: sizes :math:`\xi/\sigma_r` of the injected gradient perturbation
        (spectral norm, in units of :math:`\sigma_r`), increasing, across the breakdown.
    xi_linear : tuple of float
        Sizes :math:`\xi/\sigma_r` of the linear-law claim (below the breakdown; its control crosses it).
    perturbation : str
        Kind of injected perturbation of the claims: ``"adversarial"`` (default), ``"random"`` or
        ``"fresh"`` (:func:`matsense.dynamics.perturbed_gd_asymmetric`).
    rip_ratios : tuple of float
        book/wind/robustness: numbers of measurements :math:`m/((n_1 + n_2 - r)r)` of the
        success-rate sweep.
    rip_high, rip_low : float
        The ratios :math:`m/((n_1 + n_2 - r)r)` at which success (4) and failure (1) are checked.
    rip_steps : int
        GD iterations of the success-rate runs (400).
    noise_levels : tuple of float
        book/wind/noise: standard deviations :math:`s` of the raw noise :math:`\xi_i`, increasing.
    noise_ratio : float or None
        Measurements of the noise study as a multiple of :math:`(n_1 + n_2 - r)r`; None uses ``m``.
    noise_steps : int
        GD iterations of the noise runs (600).
    alpha_large : float
        book/wind/motivation: the large initial scale compared with ``alpha`` (0.5).
    steps_bias : int
        GD iterations of the implicit-bias runs at ``m_under`` measurements (500).
    flow_alphas : tuple of float
        book/wind/flow: initial scales of the gradient-flow runs, largest first.
    flow_step : float or None
        book/wind/flow: None integrates the gradient flow (scipy ``solve_ivp``); a number replaces
        it by explicit Euler steps of that size (GD), a control field.
    threshold_alphas : tuple of float
        book/wind/conclusion: initial scales searched for the largest one that still recovers
        :math:`M^\star` from ``m_under`` measurements, largest first.
    batch_factors : tuple of float
        book/wind/changing_measurements: sizes of the fresh measurement batches of the claim, as
        multiples of :math:`r(n_1 + n_2)` (Theorem 2.9's batch size up to its log and :math:`\kappa`
        factors); :math:`(1, 2, 5)`. Its control takes a batch far below it.
    """

    quick: bool
    seed: int
    n1: int
    n2: int
    r: int
    h: int
    h_grid: tuple[int, ...]
    kappa: float
    kappa_grid: tuple[float, ...]
    eta: float
    alpha: float
    alphas: tuple[float, ...]
    m: int
    m_under: int
    steps: int
    n_seeds: int
    n_draws: int = 3
    # book/wind/convergence and book/wind/discretisation (W2)
    alphas_conv: tuple[float, ...] = (1e-3, 1e-4, 1e-5)
    rip_factor: float = 30.0
    eta_grid: tuple[float, ...] = (0.1, 0.05, 0.025)
    # book/wind/robustness and book/wind/noise (W3; checked in matsense.experiments.wind)
    xi_grid: tuple[float, ...] = (1e-3, 1e-2, 0.03, 0.05, 0.07, 0.1, 0.14, 0.2, 0.3)
    xi_linear: tuple[float, ...] = (1e-3, 1e-2, 0.03)
    perturbation: str = "adversarial"
    rip_ratios: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
    rip_high: float = 4.0
    rip_low: float = 1.0
    rip_steps: int = 400
    noise_levels: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    noise_ratio: float | None = None
    noise_steps: int = 600
    # book/wind/motivation, setup, flow, conclusion (W1)
    alpha_large: float = 0.5
    steps_bias: int = 500
    flow_alphas: tuple[float, ...] = (1e-2, 1e-3, 1e-4)
    flow_step: float | None = None
    threshold_alphas: tuple[float, ...] = (0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3)
    # book/wind/changing_measurements and book/wind/bounded (W4)
    batch_factors: tuple[float, ...] = (1.0, 2.0, 5.0)

    def __post_init__(self) -> None:
        _check_common(self.quick, self.seed)
        _check_wind_w2(self)
        if not self.batch_factors or any(not (isinstance(f, (int, float)) and f > 0) for f in self.batch_factors):
            raise ValueError(f"batch_factors={self.batch_factors!r} must hold positive multiples of r (n1 + n2)")
        check_int("n1", self.n1, low=2)
        check_int("n2", self.n2, low=2)
        check_int("r", self.r, low=1, high=min(self.n1, self.n2))
        check_int("h", self.h, low=1)
        for h in self.h_grid:
            check_int("h_grid[i]", h, low=1)
        check_int("m", self.m, low=1)
        check_int("m_under", self.m_under, low=1)
        check_int("steps", self.steps, low=1)
        check_int("n_seeds", self.n_seeds, low=1)
        check_int("n_draws", self.n_draws, low=1)
        for name in ("kappa",):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 1):
                raise ValueError(f"{name}={v!r} must be a number >= 1 (sigma_1 / sigma_r)")
        if not self.kappa_grid or any(not (isinstance(k, (int, float)) and k >= 1) for k in self.kappa_grid):
            raise ValueError(f"kappa_grid={self.kappa_grid!r} must hold numbers >= 1")
        if not (isinstance(self.alpha, (int, float)) and self.alpha > 0):
            raise ValueError(f"alpha={self.alpha!r} must be a positive scale")
        if not self.alphas or any(not (isinstance(a, (int, float)) and a > 0) for a in self.alphas):
            raise ValueError(f"alphas={self.alphas!r} must be positive scales")
        if not (isinstance(self.eta, (int, float)) and 0 < self.eta < 1):
            raise ValueError(f"eta={self.eta!r} must satisfy 0 < eta * sigma_1 < 1 (sigma_1 = 1)")
        _check_wind_w1(self)

    def sigma_for(self, kappa: float) -> tuple[float, ...]:
        r"""Singular values ``linspace(1, 1/kappa, r)`` of :math:`M^\star` for condition number ``kappa`` (>= 1)."""
        if not (isinstance(kappa, (int, float)) and kappa >= 1):
            raise ValueError(f"kappa={kappa!r} must be a number >= 1")
        if self.r == 1:
            return (1.0,)
        return tuple(float(1.0 + (1.0 / kappa - 1.0) * i / (self.r - 1)) for i in range(self.r))

    @property
    def sigma(self) -> tuple[float, ...]:
        r"""Singular values of :math:`M^\star`: ``linspace(1, 1/kappa, r)``."""
        return self.sigma_for(self.kappa)

    @property
    def dim(self) -> int:
        r"""Dimension :math:`n_1n_2` of the space of :math:`n_1\times n_2` matrices."""
        return self.n1 * self.n2

    @property
    def dof(self) -> int:
        r"""Degrees of freedom :math:`(n_1 + n_2 - r)r` of the rank-:math:`r` matrices."""
        return (self.n1 + self.n2 - self.r) * self.r

    @property
    def seeds(self) -> tuple[int, ...]:
        """Indices ``0 .. n_seeds - 1`` of the initial directions (drawn from ``(seed, j)``)."""
        return tuple(range(self.n_seeds))


def _check_wind_w1(s: "WindSetup") -> None:
    """The fields of book/wind/motivation, setup, flow and conclusion."""
    def positive(name: str, values: Any) -> None:
        if not values or any(not (isinstance(v, (int, float)) and v > 0) for v in values):
            raise ValueError(f"{name}={values!r} must hold positive scales")
    positive("alpha_large", (s.alpha_large,))
    positive("flow_alphas", s.flow_alphas)
    positive("threshold_alphas", s.threshold_alphas)
    check_int("steps_bias", s.steps_bias, low=1)
    if s.flow_step is not None and not (isinstance(s.flow_step, (int, float)) and s.flow_step > 0):
        raise ValueError(f"flow_step={s.flow_step!r} must be None (the flow) or a step size > 0")


def wind_setup(quick: bool = False, *, seed: int = 0, **overrides: Any) -> WindSetup:
    r"""The Wind chapter's sizes (all our choice).

    Full: :math:`60\times40`, :math:`r = 3`, :math:`h = 60`, :math:`h \in \{3, 10, 60\}`,
    :math:`\kappa \in \{1, 5\}`, :math:`\eta = 0.25`, :math:`\alpha = 10^{-3}`,
    :math:`\alpha \in \{10^{-1}, 10^{-2}, 10^{-3}, 10^{-4}, 10^{-6}\}`, :math:`m = 1500`,
    :math:`m_{\rm under} = 1200`, 1500 steps, three directions. Quick: :math:`20\times14`,
    :math:`r = 2`, :math:`h = 20`, :math:`h \in \{2, 6, 20\}`, :math:`\alpha \in \{10^{-1}, 10^{-2},
    10^{-4}\}`, :math:`m = 300`, :math:`m_{\rm under} = 200`, 600 steps, two directions.
    Keyword ``overrides`` replace single fields.
    """
    quick, seed = _check_common(quick, seed)
    common = dict(kappa=1.0, kappa_grid=(1.0, 5.0), eta=0.25, alpha=1e-3)
    if quick:
        s = WindSetup(quick, seed, n1=20, n2=14, r=2, h=20, h_grid=(2, 6, 20), alphas=(1e-1, 1e-2, 1e-4),
                      m=300, m_under=200, steps=600, n_seeds=2, **common)
    else:
        s = WindSetup(quick, seed, n1=60, n2=40, r=3, h=60, h_grid=(3, 10, 60),
                      alphas=(1e-1, 1e-2, 1e-3, 1e-4, 1e-6), m=1500, m_under=1200, steps=1500, n_seeds=3,
                      **common)
    return _override(s, overrides)




# -- issue 14: notebooks opened in the browser (JupyterLite) use the quick sizes ---------------------

def in_browser() -> bool:
    """True when Python runs in a web browser (Pyodide, as in JupyterLite): ``sys.platform`` is
    ``"emscripten"``. There every setup factory returns its quick sizes: one thread of WebAssembly
    is far slower than a desktop, and the full sizes would take many minutes per notebook."""
    import sys

    return sys.platform == "emscripten"




# --- book/wind/convergence and book/wind/discretisation (W2): checks of their WindSetup fields ---

def _check_wind_w2(s: Any) -> None:
    """Validate ``alphas_conv``, ``rip_factor`` and ``eta_grid`` of a :class:`WindSetup`."""
    if not s.alphas_conv or any(not (isinstance(a, (int, float)) and 0 < a < 1) for a in s.alphas_conv):
        raise ValueError(f"alphas_conv={s.alphas_conv!r} must hold at least one scale in (0, 1)")
    if len(set(s.alphas_conv)) < 2:
        raise ValueError(f"alphas_conv={s.alphas_conv!r} needs at least two distinct scales (a slope is fitted)")
    if not (isinstance(s.rip_factor, (int, float)) and s.rip_factor > 0):
        raise ValueError(f"rip_factor={s.rip_factor!r} must be a number > 0 (m = rip_factor (n1 + n2) r)")
    if len(s.eta_grid) < 2 or any(not (isinstance(e, (int, float)) and 0 < e < 2) for e in s.eta_grid):
        raise ValueError(f"eta_grid={s.eta_grid!r} must hold at least two step sizes in (0, 2)")
