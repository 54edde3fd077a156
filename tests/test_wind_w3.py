"""Wind chapter, W3: perturbed GD, the robustness and noise studies (book/wind/robustness, book/wind/noise)."""

from __future__ import annotations

import numpy as np
import pytest

import matsense as ms
from matsense import theory
from matsense.dynamics import (DivergenceError, DivergenceWarning, adversarial_perturbation,
                               perturbed_gd_asymmetric, random_perturbation)
from matsense.experiments import wind as ex
from matsense.setups import wind_setup, with_overrides


@pytest.fixture(autouse=True)
def no_sweep_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compute every study afresh: a test must not read an entry written by another version."""
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")


def _small(m: int | None = 120, rank: int = 2, seed: int = 0):
    """A 9 x 7 problem of rank ``rank`` (Gaussian sensing with ``m`` measurements, or full observation)."""
    rng = np.random.default_rng(seed)
    M = ms.low_rank_matrix(9, 7, np.linspace(1.0, 0.5, rank), rng=rng)
    if m is None:
        return ms.factorization_problem(M)
    return ms.make_sensing_problem(M, ms.gaussian_operator(9, 7, m, rng=rng))


def _start(batch: int, k: int = 9, alpha: float = 1e-3):
    return ms.small_random_init_asymmetric(9, 7, k, alpha, rng=5, batch=batch)


# -- perturbations ---------------------------------------------------------------------------------

def test_random_perturbation_has_the_given_spectral_norm():
    xi = np.array([0.0, 0.1, 2.0])
    P = random_perturbation(3, 6, 4, xi, rng=1)
    assert P.shape == (3, 6, 4)
    assert np.allclose(np.linalg.norm(P, ord=2, axis=(1, 2)), xi, rtol=1e-12, atol=0)
    assert np.array_equal(P, random_perturbation(3, 6, 4, xi, rng=1))
    assert not np.allclose(P[1:], random_perturbation(3, 6, 4, xi, rng=2)[1:])


def test_adversarial_perturbation_is_the_most_opposed_one():
    rng = np.random.default_rng(0)
    S = rng.standard_normal((2, 6, 4))
    xi = np.array([0.3, 1.5])
    P = adversarial_perturbation(S, xi)
    assert np.allclose(np.linalg.norm(P, ord=2, axis=(1, 2)), xi)
    nuclear = np.linalg.svd(S, compute_uv=False).sum(axis=1)
    assert np.allclose(np.einsum("bij,bij->b", P, -S), xi * nuclear)     # the maximum over ||P||_2 <= xi
    s = np.linalg.svd(S, compute_uv=False)
    assert np.allclose(np.sort(np.linalg.svd(S + P, compute_uv=False), axis=1),
                       np.sort(np.abs(s - xi[:, None]), axis=1))           # every singular value lowered by xi
    assert adversarial_perturbation(S[0], 0.3).shape == (6, 4)
    # no better direction among random ones of the same norm
    Q = random_perturbation(200, 6, 4, 0.3, rng=3)
    assert np.einsum("bij,ij->b", Q, -S[0]).max() <= np.sum(P[0] * -S[0]) + 1e-12


@pytest.mark.parametrize("kind", ["random", "fresh", "adversarial"])
def test_zero_perturbation_is_plain_gd(kind):
    prob = _small()
    F0, G0 = _start(2)
    plain = ms.gd_asymmetric(prob, F0, G0, 0.2, 60, record=[0, 30, 60])
    pert = perturbed_gd_asymmetric(prob, F0, G0, 0.2, 60, perturbation=kind, xi=0.0, rng=0, record=[0, 30, 60])
    for a, b in zip(plain.factors, pert.factors):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-16)
    assert np.allclose(plain["relative_error"], pert["relative_error"])
    assert pert.params["perturbation"] == kind and np.array_equal(pert.params["xi"], [0.0, 0.0])


def test_one_perturbed_step_by_hand():
    prob = _small()
    F0, G0 = _start(1)
    Z = np.random.default_rng(9).standard_normal((9, 7))
    traj = perturbed_gd_asymmetric(prob, F0, G0, 0.3, 1, perturbation="random", xi=0.2, rng=0, direction=Z,
                                   record=[1])
    S, _ = prob.operator.adjoint_residual(F0[0] @ G0[0].T, prob.y)
    Xi = 0.2 * Z / np.linalg.norm(Z, ord=2)
    F1 = F0[0] - 0.3 * (S + Xi) @ G0[0]
    G1 = G0[0] - 0.3 * (S + Xi).T @ F0[0]
    assert np.allclose(traj.factors[0][0], F1, rtol=1e-12, atol=1e-15)
    assert np.allclose(traj.factors[1][0], G1, rtol=1e-12, atol=1e-15)


def test_fresh_perturbation_is_reproducible_and_random():
    prob = _small()
    F0, G0 = _start(1)
    a = perturbed_gd_asymmetric(prob, F0, G0, 0.2, 20, perturbation="fresh", xi=0.05, rng=4, record=[20])
    b = perturbed_gd_asymmetric(prob, F0, G0, 0.2, 20, perturbation="fresh", xi=0.05, rng=4, record=[20])
    c = perturbed_gd_asymmetric(prob, F0, G0, 0.2, 20, perturbation="fresh", xi=0.05, rng=5, record=[20])
    assert np.array_equal(a.factors[0], b.factors[0])
    assert not np.allclose(a.factors[0], c.factors[0])


def test_adversarial_fixed_point_has_error_xi():
    """On full observation the adversary stops GD where the residual's visible singular values equal xi."""
    prob = _small(m=None, rank=2)
    F0, G0 = _start(2)
    xi = np.array([0.01, 0.03])
    traj = perturbed_gd_asymmetric(prob, F0, G0, 0.25, 400, perturbation="adversarial", xi=xi, rng=0,
                                   record=[400], metrics={"spectral": ex.spectral_error, "relative_error": None})
    assert np.allclose(traj["spectral"][-1], xi, rtol=1e-3)
    frob = traj["relative_error"][-1] * np.linalg.norm(prob.M_star)
    assert np.allclose(frob / xi, np.sqrt(2 * 2), rtol=0.02)      # 2r singular values of size xi


def test_divergence_is_detected_and_reported():
    prob = _small()
    F0, G0 = _start(2, alpha=1.0)
    with pytest.warns(DivergenceWarning, match="diverged"):
        traj = perturbed_gd_asymmetric(prob, F0, G0, 3.0, 200, perturbation="adversarial", xi=[0.0, 50.0],
                                       rng=0, record="all")
    assert traj.diverged[1] and traj.diverged_at[1] > 0
    after = traj.iterations > traj.diverged_at[1]
    assert np.all(np.isnan(traj["relative_error"][after, 1]))
    assert np.all(np.isfinite(traj.factors[0][1]))                  # frozen at its last finite iterate
    with pytest.raises(DivergenceError) as err:
        perturbed_gd_asymmetric(prob, F0, G0, 3.0, 200, perturbation="adversarial", xi=[0.0, 50.0], rng=0,
                                on_divergence="raise")
    assert err.value.trajectory is not None and err.value.trajectory.diverged[1]


def test_perturbed_gd_rejects_bad_input():
    prob = _small()
    F0, G0 = _start(2)
    call = dict(rng=0, record=[1])
    with pytest.raises(ValueError, match="perturbation must be one of"):
        perturbed_gd_asymmetric(prob, F0, G0, 0.1, 1, perturbation="worst", xi=0.1, **call)
    for bad in (-0.1, np.nan, [0.1, 0.2, 0.3]):
        with pytest.raises(ValueError, match="xi"):
            perturbed_gd_asymmetric(prob, F0, G0, 0.1, 1, perturbation="random", xi=bad, **call)
    with pytest.raises(ValueError, match="direction is only used"):
        perturbed_gd_asymmetric(prob, F0, G0, 0.1, 1, perturbation="fresh", xi=0.1, direction=np.ones((9, 7)), **call)
    with pytest.raises(ValueError, match="zero matrix"):
        perturbed_gd_asymmetric(prob, F0, G0, 0.1, 1, perturbation="random", xi=0.1, direction=np.zeros((9, 7)), **call)
    with pytest.raises(ValueError, match="trailing shape"):
        perturbed_gd_asymmetric(prob, F0, G0, 0.1, 1, perturbation="random", xi=0.1, direction=np.ones((7, 9)), **call)
    sym = ms.symmetric_gaussian_problem(7, [1.0], 40, rng=0)
    with pytest.raises(ValueError, match="non-symmetric"):
        perturbed_gd_asymmetric(sym, np.ones((7, 2)), np.ones((7, 2)), 0.1, 1, perturbation="random", xi=0.1, **call)
    with pytest.raises(TypeError):
        perturbed_gd_asymmetric("problem", F0, G0, 0.1, 1, perturbation="random", xi=0.1, **call)


# -- theory: the breakdown point -------------------------------------------------------------------

def test_breakdown_prediction_solves_its_equation():
    eta, K, a0 = 0.25, 241, 2.43e-3
    xb = theory.wind_breakdown_prediction(eta, K, a0)
    assert np.isclose(2 * K * np.log1p(eta * xb), np.log(xb / a0 ** 2), rtol=1e-10)
    assert xb > 1.0 / (eta * (2 * K - 1))                                # the larger root
    assert 0.07 < xb < 0.09                                              # ~ sigma_r / 10 for K = 5 L / eta


def test_breakdown_prediction_small_step_limit_is_lambert_w():
    from scipy.special import lambertw
    eta, K, a0 = 1e-5, 2_000_000, 1e-3          # eta K = 20; ln(1 + eta xi) = eta xi to 1e-6
    c = 2 * eta * K
    exact = float(np.real(-lambertw(-c * a0 ** 2, -1)) / c)             # root of c xi = ln(xi / a0^2)
    assert np.isclose(theory.wind_breakdown_prediction(eta, K, a0), exact, rtol=1e-4)


def test_breakdown_prediction_errors():
    with pytest.raises(ValueError, match="not small"):
        theory.wind_breakdown_prediction(0.25, 5, 0.9)
    with pytest.raises(ValueError, match="eta"):
        theory.wind_breakdown_prediction(-0.1, 100, 1e-3)
    with pytest.raises(ValueError, match="steps"):
        theory.wind_breakdown_prediction(0.1, 0, 1e-3)


# -- experiments: helpers --------------------------------------------------------------------------

def test_truth_is_the_problem_matrix():
    s = wind_setup(quick=True, seed=3)
    assert np.array_equal(ex.truth(s), ex.problem(s).M_star)
    assert np.array_equal(ex.truth(s, 5.0), ex.problem(s, kappa=5.0).M_star)


def test_spurious_norm_sees_only_the_complement():
    rng = np.random.default_rng(1)
    M = ms.low_rank_matrix(8, 6, [1.0, 0.5], rng=rng)
    U, _, Vt = np.linalg.svd(M)
    E = 0.3 * np.outer(U[:, 4], Vt[3])                   # outside both singular subspaces of M
    T = 0.7 * np.outer(U[:, 0], Vt[5])                   # in the column space: not spurious
    state = ms.metrics.State(t=0, X=np.stack([M, M + E, M + T]), residual=np.zeros((3, 1)), factors=(),
                             M_star=M, symmetric=False)
    assert np.allclose(ex.spurious_norm(M, 2)(state), [0.0, 0.3, 0.0], atol=1e-12)


def test_first_crossing():
    x, y = [1.0, 2.0, 4.0], [0.1, 0.3, 0.9]
    w = np.log(0.5 / 0.3) / np.log(3.0)
    assert np.isclose(ex.first_crossing(x, y, 0.5), 2.0 * 2.0 ** w)
    assert ex.first_crossing(x, y, 0.05) == 1.0
    assert np.isnan(ex.first_crossing(x, y, 1.0))
    with pytest.raises(ValueError, match="level"):
        ex.first_crossing(x, y, 0.0)


def test_core_setup_ignores_the_study_fields():
    s = wind_setup(quick=True)
    c = with_overrides(s, {"rip_low": 4.0, "xi_linear": [0.1, 0.2], "noise_ratio": 1.0})
    assert ex._core(c) == ex._core(s) and ex._core(s).m == s.m


def test_w3_fields_are_checked():
    s = wind_setup(quick=True)
    for field, bad, match in (("perturbation", "worst", "perturbation"), ("xi_grid", [0.1, 0.01], "increasing"),
                              ("xi_linear", [0.1], "two sizes"), ("noise_levels", [-1.0], "positive"),
                              ("rip_steps", 0, "rip_steps"), ("noise_ratio", 0.0, "noise_ratio")):
        with pytest.raises(ValueError, match=match):
            ex._check_w3(with_overrides(s, {field: bad}))
    assert ex.rip_m(s, 1.0) == s.dof and ex.rip_m(s, 2.5) == round(2.5 * s.dof)
    assert ex.noise_m(s) == s.m and ex.noise_m(with_overrides(s, {"noise_ratio": 1.0})) == s.dof


def test_noise_is_a_fixed_gradient_perturbation():
    s = wind_setup(quick=True)
    clean, D = ex.noise_direction(s, s.m)
    F0, G0 = ex.initial_factors(s, (s.alpha,))
    noisy = ex.problem(s, m=s.m, noise=0.1)
    gd = ms.gd_asymmetric(noisy, F0, G0, s.eta, 80, record=[80])
    pert = perturbed_gd_asymmetric(clean, F0, G0, s.eta, 80, perturbation="random",
                                   xi=0.1 * np.linalg.norm(D, ord=2), rng=0, direction=D, record=[80])
    for a, b in zip(gd.factors, pert.factors):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-13)
    # its size is of order s (sqrt(n1) + sqrt(n2)) / sqrt(m), the top singular value of a Gaussian matrix
    expected = (np.sqrt(s.n1) + np.sqrt(s.n2)) / np.sqrt(s.m)
    assert 0.7 * expected < np.linalg.norm(D, ord=2) < 1.3 * expected


# -- experiments: the studies at quick size --------------------------------------------------------

def test_perturbation_study_quick():
    s = wind_setup(quick=True)
    st = ex.perturbation_study(s, xis=(1e-3, 1e-2, 0.3))
    assert st["spectral_error"].shape == (3, s.n_seeds) and st["K"].shape == (s.n_seeds,)
    assert np.allclose(st["xi_abs"], np.array([1e-3, 1e-2, 0.3]) * min(s.sigma))
    # adversarial: the spectral error at K is xi (a fixed point), below and above the breakdown
    assert np.allclose(st["spectral_error"], st["xi_abs"][:, None], rtol=0.02)
    # the spurious part is small below the breakdown, fitted above it
    frac = st["spurious"] / st["xi_abs"][:, None]
    assert np.all(frac[:2] < 0.1) and np.all(frac[2] > 0.9)
    assert np.allclose(ex.linear_slopes({"xi_abs": st["xi_abs"][:2], "relative_error": st["relative_error"][:2]}),
                       1.0, atol=0.01)
    assert np.all((st["budget"] > 0) & (st["budget"] < 1))
    pred = ex.predicted_breakdowns(st, s.eta)
    assert np.all((pred > st["xi_abs"][1]) & (pred < st["xi_abs"][2]))
    assert np.all(np.isfinite(ex.breakdown_points(st)))


def test_random_study_uses_one_direction_for_every_size():
    s = wind_setup(quick=True)
    st = ex.perturbation_study(s, xis=(1e-3, 2e-3, 4e-3), kind="random")
    ratio = st["relative_error"] / st["xi_abs"][:, None]
    assert np.allclose(ratio, ratio[:1], rtol=0.01)          # linear for a fixed direction


def test_measures_on_hand_made_studies():
    study = {"best": np.array([1.0, 4.0]), "reference": np.array([1.0, 1.0]), "spectral_K": np.array([0.5, 1.0]),
             "xi_noise": np.array([1.0, 10.0]), "a0": 1e-6, "sigma_r": 1.0}
    assert np.allclose(ex.minimax_ratios(study), [1.0, 4.0])
    ratios = ex.noise_bound_ratios(study, 1.0)
    assert np.allclose(ratios, [0.5, 0.1], rtol=1e-6)
    st = {"xi_abs": np.array([0.01, 0.1, 1.0]), "spurious": np.array([[0.0001], [0.02], [0.9]])}
    assert np.isclose(ex.breakdown_points(st)[0], ex.first_crossing([0.01, 0.1, 1.0], [0.01, 0.2, 0.9], 0.5))


def test_summaries_quick():
    s = wind_setup(quick=True)
    rob = ex.robustness_summary(s)
    assert np.isclose(rob["frob_adversarial"], rob["sqrt_2r"], rtol=0.02)       # the adversary's fixed point
    assert np.isclose(rob["spec_adversarial"], 1.0, rtol=0.01)
    assert np.isclose(rob["spec_hi"], 1.0 / rob["kappa_hi"], rtol=0.02)        # xi, not kappa xi
    assert rob["spec_fresh"] < rob["spec_random"] < rob["spec_adversarial"]
    assert 0.5 < rob["breakdown"] / rob["predicted"] < 1.5 and rob["c4_hi"] > 5 * rob["c4"]
    assert rob["rip_last_failure"] < rob["rip_first_success"]
    noise = ex.noise_summary(s)
    assert noise["m"] == s.m and 0.5 < noise["ratio_min"] <= noise["ratio_max"] < 2.0
    assert noise["overfit_high"] > noise["overfit_low"] >= 1.0
    assert noise["below_level"] in s.noise_levels and noise["bound"] < 2.0
    xi = [noise[f"xi_{i}"] for i in range(len(s.noise_levels))]
    assert np.allclose(np.array(xi) / np.array(s.noise_levels), xi[0] / s.noise_levels[0])   # xi proportional to s


def test_perturbation_study_arguments():
    s = wind_setup(quick=True)
    with pytest.raises(ValueError, match="directions"):
        ex.perturbation_study(s, directions=s.n_seeds + 1)
    with pytest.raises(ValueError, match="kind"):
        ex.perturbation_study(s, kind="worst")
    with pytest.raises(ValueError, match="increasing"):
        ex.perturbation_study(s, xis=(0.1, 0.01))
    one = ex.perturbation_study(s, xis=(1e-2,), directions=1)
    assert one["spectral_error"].shape == (1, 1) and one["a0"].shape == (1,)
