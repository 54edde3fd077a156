"""Reliability of the library (issue 10, library items): bad input refused up front, caches never stale.

Covers, one test (or a few) per item of the issue, each failing on the code before the fix:

* item 2, stale Gram matrix: an operator's design is read-only, and :func:`matsense.gram_matrix`
  verifies its cache against a checksum of the design (edits through another view);
* item 3, ``gd_symmetric`` refuses an operator with non-symmetric sensing matrices;
* item 4, user-built operators and ``SensingProblem`` are validated at construction;
* item 9, a recording or an operator that cannot fit in memory is refused before allocation, with
  the size in the message;
* item 10, :class:`matsense.DivergenceError` carries the trajectory;
* item 11, numeric strings, messages naming the user's parameters, a nearly symmetric or zero
  :math:`M^\\star`;

and a property-based test (hypothesis, derandomised by ``conftest.py``) that feeds the public entry
points malformed values and accepts only a ``ValueError``/``TypeError`` raised by matsense whose
message names the corrupted parameter.
"""

from __future__ import annotations

import pickle
import re
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import matsense
from matsense import _validation, metrics, operators
from matsense.dynamics import DivergenceError, Trajectory, gd_asymmetric, gd_symmetric, small_random_init
from matsense.engine import clear_gram_cache, gram_matrix
from matsense.experiments import alpha_seed_sweep, run_incremental_learning
from matsense.operators import DenseOperator, SymmetricOperator, gaussian_operator, symmetric_gaussian_operator
from matsense.problems import (SYMMETRY_RTOL, SensingProblem, factorization_problem, gaussian_problem,
                               make_sensing_problem, psd_matrix, symmetric_gaussian_problem)

LIB = Path(matsense.__file__).resolve().parent


@pytest.fixture
def sixteen_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the machine has 16 GiB, so that the memory limit (8 GiB) is the same everywhere."""
    monkeypatch.setattr(_validation, "_physical_memory", lambda: 16 * 1024**3, raising=False)


@pytest.fixture
def sym_problem() -> SensingProblem:
    return symmetric_gaussian_problem(4, [1.0, 0.5], 60, rng=0)


# -- item 2: stale Gram matrix ----------------------------------------------------------------

def test_stale_gram_operator_design_is_read_only():
    problem = gaussian_problem(4, 4, [1.0], 40, rng=0)
    with pytest.raises(ValueError, match="read-only"):
        problem.operator.design[0, 0] = 1.0
    sym = symmetric_gaussian_problem(4, [1.0], 40, rng=0)
    with pytest.raises(ValueError, match="read-only"):
        sym.operator.packed *= 2


def test_stale_gram_edit_through_another_view_reforms_h():
    base = np.random.default_rng(1).standard_normal((50, 16)) / np.sqrt(50)
    op = DenseOperator(base[:], 4, 4)  # the operator freezes its view; ``base`` stays writeable
    H = gram_matrix(op).copy()
    base *= 2.0
    np.testing.assert_allclose(gram_matrix(op), 4.0 * H, rtol=1e-13)
    np.testing.assert_allclose(gram_matrix(op, np.float32), 4.0 * H, rtol=1e-6)
    clear_gram_cache(op)


def test_stale_gram_auto_form_result_matches_a_fresh_operator():
    """The issue's case: GD with form='auto' (Gram), the design edited, GD again."""
    rng = np.random.default_rng(2)
    n, m = 5, 200
    base = rng.standard_normal((m, n * n)) / np.sqrt(m)
    M = psd_matrix(n, [1.0, 0.5], rng=3)
    U0 = small_random_init(n, 2, 1e-2, rng=4)
    sym_base = base.reshape(m, n, n)
    sym_base += np.swapaxes(sym_base, 1, 2).copy()  # symmetric A_i (gd_symmetric needs them)
    sym_base *= 0.5
    op = DenseOperator(base[:], n, n, symmetric=True)
    first = gd_symmetric(make_sensing_problem(M, op), U0, 0.2, 300, record="log", metrics=("relative_error",))
    assert first.form == "gram"
    base *= 1.5  # in place, through the caller's writeable array
    edited = gd_symmetric(make_sensing_problem(M, op), U0, 0.2, 300, record="log", metrics=("relative_error",))
    fresh = DenseOperator(base.copy(), n, n, symmetric=True)
    expected = gd_symmetric(make_sensing_problem(M, fresh), U0, 0.2, 300, record="log",
                            metrics=("relative_error",))
    np.testing.assert_allclose(edited["relative_error"], expected["relative_error"], rtol=1e-10)


# -- item 3: gd_symmetric on a non-symmetric operator -------------------------------------------

def test_gd_symmetric_refuses_non_symmetric_operator():
    op = gaussian_operator(4, 4, 40, rng=0)
    problem = make_sensing_problem(psd_matrix(4, [1.0], rng=1), op)
    with pytest.raises(ValueError, match=r"problem\.operator.*gd_asymmetric"):
        gd_symmetric(problem, small_random_init(4, 2, 1e-2, rng=0), 0.1, 5)


def test_gd_symmetric_accepts_identity_and_declared_symmetric_dense():
    fact = factorization_problem(psd_matrix(4, [1.0], rng=1))
    gd_symmetric(fact, small_random_init(4, 2, 1e-2, rng=0), 0.1, 5)
    sym = symmetric_gaussian_problem(4, [1.0], 40, rng=0)
    dense = DenseOperator(sym.operator.full_design(), 4, 4, symmetric=True)
    U0 = small_random_init(4, 2, 1e-2, rng=0)
    a = gd_symmetric(sym, U0, 0.1, 20, form="dense", metrics=("loss",))
    b = gd_symmetric(make_sensing_problem(sym.M_star, dense), U0, 0.1, 20, form="dense", metrics=("loss",))
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-10)


def test_dense_operator_declared_symmetric_is_checked():
    design = np.random.default_rng(0).standard_normal((10, 9))
    with pytest.raises(ValueError, match="symmetric=True"):
        DenseOperator(design, 3, 3, symmetric=True)


# -- item 4: validation of user-built operators and problems ------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_operator_with_non_finite_design_is_refused(bad):
    design = np.random.default_rng(0).standard_normal((20, 9))
    design[7, 3] = bad
    with pytest.raises(ValueError, match=r"DenseOperator: design .*finite.*\[7, 3\]"):
        DenseOperator(design, 3, 3)
    packed = np.random.default_rng(0).standard_normal((20, 6))
    packed[2, 1] = bad
    with pytest.raises(ValueError, match=r"SymmetricOperator: packed .*finite"):
        SymmetricOperator(packed, 3)


def test_operator_with_mismatched_sizes_names_them():
    with pytest.raises(ValueError, match=r"\(m, 4\).*n1=2, n2=2.*\(5, 6\)"):
        DenseOperator(np.zeros((5, 6)), 2, 2)
    with pytest.raises(ValueError, match=r"\(m, 6\).*n=3.*\(5, 4\)"):
        SymmetricOperator(np.zeros((5, 4)), 3)
    with pytest.raises(TypeError, match="design"):
        DenseOperator([[1.0, 2.0]], 1, 2)
    with pytest.raises(TypeError, match="n1"):
        DenseOperator(np.zeros((5, 4)), 2.0, 2)


def test_sensing_problem_fields_are_checked(sym_problem):
    with pytest.raises(TypeError, match="operator"):
        SensingProblem(None, [1, 2], "not a matrix")
    op = sym_problem.operator
    with pytest.raises(TypeError, match="M_star"):
        SensingProblem(op, sym_problem.y, "not a matrix")
    with pytest.raises(ValueError, match=r"y must have shape \(m,\) = \(60,\).*\(59,\)"):
        SensingProblem(op, sym_problem.y[:-1], sym_problem.M_star)
    with pytest.raises(ValueError, match=r"M_star must have shape \(n1, n2\) = \(4, 4\).*\(3, 3\)"):
        SensingProblem(op, sym_problem.y, np.eye(3))
    with pytest.raises(ValueError, match="y must contain only finite"):
        SensingProblem(op, np.full(60, np.nan), sym_problem.M_star)
    with pytest.raises(ValueError, match="noise_std"):
        SensingProblem(op, sym_problem.y, sym_problem.M_star, -1.0)


# -- item 9: refuse what cannot fit ---------------------------------------------------------------

def _refuse_schedule(*args, **kwargs):
    raise AssertionError("the schedule of every iteration was built")


def test_record_all_with_huge_steps_is_refused_before_building_the_schedule(sym_problem, sixteen_gib,
                                                                            monkeypatch):
    monkeypatch.setattr(metrics, "every", _refuse_schedule)
    U0 = small_random_init(4, 2, 1e-2, rng=0)
    with pytest.raises(ValueError, match=r"record='all' with steps=1000000000 .* needs about [\d.]+ (GiB|TiB)"):
        gd_symmetric(sym_problem, U0, 0.1, 10**9, record="all")
    with pytest.raises(ValueError, match=r"needs about [\d.]+ (GiB|TiB)"):
        gd_symmetric(sym_problem, U0, 0.1, 10**9, record=1)


def test_recording_estimate_grows_with_batch_and_metrics(sym_problem, sixteen_gib, monkeypatch):
    """10^7 steps, every one recorded, 64 runs x (loss, 4 eigenvalues, factor norm): about 61 GiB, refused."""
    monkeypatch.setattr(metrics, "every", _refuse_schedule)
    monkeypatch.setattr(matsense.dynamics, "GDLoop", None)  # never reached when refused
    U0 = small_random_init(4, 2, 1e-2, rng=0, batch=64)
    with pytest.raises(ValueError, match=r"B=64 runs x 6 values"):
        gd_symmetric(sym_problem, U0, 0.1, 10**7, record="all", metrics=("loss", "spectrum", "factor_norm"))


class _NoAllocNumpy:
    """``numpy`` for the operators module, except that allocating the design fails the test."""

    def __getattr__(self, name):
        if name == "empty":
            raise AssertionError("the design matrix was allocated")
        return getattr(np, name)


@pytest.mark.parametrize("call", [
    lambda: gaussian_operator(200, 200, 40_000, rng=0),          # 12.8 GB, the case
    lambda: symmetric_gaussian_operator(400, 200_000, rng=0),    # 128 GB
    lambda: gaussian_operator(10**4, 10**4, 10**9, rng=0),       # absurd
])
def test_operator_that_cannot_fit_is_refused_before_allocation(call, sixteen_gib, monkeypatch):
    monkeypatch.setattr(operators, "np", _NoAllocNumpy())
    with pytest.raises(ValueError, match=r"m=\d+.*needs about [\d.]+ [GTP]iB, more than the limit of 8 GiB"):
        call()


def test_forced_gram_form_that_cannot_fit_is_refused(monkeypatch):
    monkeypatch.setattr(_validation, "_physical_memory", lambda: 1024**2, raising=False)
    problem = symmetric_gaussian_problem(30, [1.0], 20, rng=0)
    clear_gram_cache(problem.operator)
    with pytest.raises(ValueError, match=r"form='gram'.*needs about"):
        gd_symmetric(problem, small_random_init(30, 1, 1e-2, rng=0), 0.1, 2, form="gram")


def test_valid_records_are_unchanged(sym_problem):
    """The pointer walk over the schedule records exactly the requested iterations."""
    U0 = small_random_init(4, 2, 1e-2, rng=0, batch=2)
    for record in ("log", "all", 7, [0, 3, 3, 10, 49]):
        traj = gd_symmetric(sym_problem, U0, 0.1, 49, record=record, metrics=("loss",))
        assert traj["loss"].shape == (traj.iterations.size, 2)
        assert traj.iterations[0] == 0 and np.all(np.diff(traj.iterations) > 0)


# -- item 10: DivergenceError carries the trajectory ----------------------------------------------

def test_divergence_error_carries_the_trajectory(sym_problem):
    U0 = small_random_init(4, 2, [1e-2, 1e-2], rng=0)
    with pytest.raises(DivergenceError) as info:
        gd_symmetric(sym_problem, U0, [0.1, 50.0], 200, on_divergence="raise")
    traj = info.value.trajectory
    assert isinstance(traj, Trajectory)
    assert traj.diverged.tolist() == [False, True]
    assert traj["loss"].shape == (traj.iterations.size, 2)
    assert np.all(np.isfinite(traj["loss"][:, 0]))
    assert np.all(np.isfinite(traj.factors[0]))
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value)
    np.testing.assert_array_equal(again.trajectory.diverged_at, traj.diverged_at)


# -- item 11: smaller ones -------------------------------------------------------------------------

@pytest.mark.parametrize("eta", ["0.1", ["0.1"], np.array(["0.1"]), True, 1j])
def test_eta_numeric_string_refused_like_float_steps(sym_problem, eta):
    U0 = small_random_init(4, 2, 1e-2, rng=0)
    with pytest.raises(TypeError, match=r"^eta must be a real number"):
        gd_symmetric(sym_problem, U0, eta, 5)
    with pytest.raises(TypeError, match=r"^steps must be an integer"):
        gd_symmetric(sym_problem, U0, 0.1, 10.0)


def test_messages_name_user_parameters(sym_problem):
    U0 = small_random_init(4, 2, 1e-2, rng=0)
    with pytest.raises(ValueError, match=r"^record must be in \[1, inf\), got 0"):
        gd_symmetric(sym_problem, U0, 0.1, 5, record=0)
    with pytest.raises(ValueError, match=r"^U0 must hold at least one run"):
        gd_symmetric(sym_problem, np.zeros((0, 4, 2)), 0.1, 5)
    with pytest.raises(ValueError, match=r"^problem_seed seed must be in \[0, inf\)"):
        run_incremental_learning(4, [1.0], 40, 2, [1e-3], [0], eta=0.1, steps=5, problem_seed=-1)
    with pytest.raises(TypeError, match=r"^seeds must be a sequence"):
        alpha_seed_sweep(sym_problem, 2, [1e-3], 3, eta=0.1, steps=5)
    with pytest.raises(TypeError, match=r"^metrics must be"):
        gd_symmetric(sym_problem, U0, 0.1, 5, metrics=5)


def test_nearly_symmetric_truth_is_symmetrised():
    op = symmetric_gaussian_operator(4, 40, rng=0)
    M = psd_matrix(4, [1.0, 0.5], rng=1)
    near = M + 1e-9 * np.triu(np.ones((4, 4)), 1)
    problem = make_sensing_problem(near, op)
    np.testing.assert_array_equal(problem.M_star, problem.M_star.T)
    np.testing.assert_allclose(problem.M_star, M, atol=1e-9)
    assert problem.is_symmetric
    exact = make_sensing_problem(M, op)  # an exactly symmetric truth is kept bit for bit
    np.testing.assert_array_equal(exact.M_star, M)
    with pytest.raises(ValueError, match=rf"> {SYMMETRY_RTOL:g}.*SYMMETRY_RTOL.*\(M \+ M\.T\) / 2"):
        make_sensing_problem(M + 1e-3 * np.triu(np.ones((4, 4)), 1), op)


def test_asymmetric_truth_in_gd_symmetric_names_tolerance_and_fix():
    op = symmetric_gaussian_operator(3, 20, rng=0)
    M = np.arange(9.0).reshape(3, 3)
    problem = SensingProblem(op, op.forward((M + M.T) / 2), M)
    with pytest.raises(ValueError, match=r"1e-08.*\(M \+ M\.T\) / 2.*gd_asymmetric"):
        gd_symmetric(problem, small_random_init(3, 1, 1e-2, rng=0), 0.1, 5)


def test_zero_truth_gives_a_clear_error_and_no_warnings():
    op = symmetric_gaussian_operator(4, 40, rng=0)
    problem = make_sensing_problem(np.zeros((4, 4)), op)
    U0 = small_random_init(4, 2, 1e-3, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^metrics: 'relative_error' .* undefined for M_star = 0"):
            gd_symmetric(problem, U0, 0.1, 20)
        traj = gd_symmetric(problem, U0, 0.1, 20, metrics=("loss", "spectrum"))
        assert np.all(np.isfinite(traj["loss"]))
        with pytest.raises(ValueError, match="undefined for M_star = 0"):
            matsense.relative_error(np.ones((1, 4, 4)), np.zeros((4, 4)))


# -- property-based: malformed input to the public entry points -----------------------------------

_ELEMENTS = st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e-3, np.nan, np.inf, -np.inf])
_DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.complex128, "U1"])


def _arrays(max_dims: int = 4) -> st.SearchStrategy:
    def build(dtype):
        elements = None
        if np.dtype(dtype).kind == "f":
            elements = _ELEMENTS
        elif np.dtype(dtype).kind == "U":
            elements = st.sampled_from(["a", "1", ""])
        elif np.dtype(dtype).kind == "c":
            elements = st.sampled_from([1j, 1 + 0j])
        elif np.dtype(dtype).kind == "i":
            elements = st.integers(-3, 3)
        return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5),
                          elements=elements)
    return _DTYPES.flatmap(build)


_JUNK = st.sampled_from([None, "abc", "0.1", object(), [1, "a"], [[1.0, 2.0], [3.0]], 1j, True, -1, 0, 2.5,
                         np.nan, np.inf, -np.inf, 10**12, [], {}])
_BAD_INT = st.sampled_from([None, "3", -1, 0, 2.5, np.nan, True, [3], 10**12])
#: malformed step counts (a huge but valid count would just run for ever)
_BAD_STEPS = st.sampled_from([None, "3", -1, 2.5, np.nan, True, [3], 3.0])
_BAD_FLOAT = st.sampled_from([None, "0.1", -1.0, 0.0, np.nan, np.inf, -np.inf, True, [0.1, 0.2, 0.3], 1j])
_BAD_RNG = st.sampled_from([None, "seed", -1, 1.5, [1, 2], object()])
_BAD_DTYPE = st.sampled_from(["float16", "int32", "complex128", object(), "notadtype", None, 3])
_ANY_ARRAY = st.one_of(_arrays(), _JUNK)

_N, _M = 4, 30


def _problem() -> SensingProblem:
    return symmetric_gaussian_problem(_N, [1.0, 0.5], _M, rng=0)


def _asym_problem() -> SensingProblem:
    return gaussian_problem(_N, 3, [1.0], _M, rng=0)


def _gd_sym(**over):
    kw = dict(problem=_problem(), U0=np.full((_N, 2), 1e-2), eta=0.1, steps=3, record="log",
              metrics=("loss",), form="auto", divergence_factor=1e6, on_divergence="ignore", threads=None)
    kw.update(over)
    return gd_symmetric(kw.pop("problem"), kw.pop("U0"), kw.pop("eta"), kw.pop("steps"), **kw)


def _gd_asym(**over):
    kw = dict(problem=_asym_problem(), F0=np.full((_N, 2), 1e-2), G0=np.full((3, 2), 1e-2), eta=0.1, steps=3,
              record="log", metrics=("loss",), form="auto", divergence_factor=1e6, on_divergence="ignore")
    kw.update(over)
    return gd_asymmetric(kw.pop("problem"), kw.pop("F0"), kw.pop("G0"), kw.pop("eta"), kw.pop("steps"), **kw)


def _sym_problem(**over):
    kw = dict(n=_N, eigenvalues=[1.0], m=_M, rng=0, noise_std=0.0, dtype=np.float64)
    kw.update(over)
    return symmetric_gaussian_problem(kw.pop("n"), kw.pop("eigenvalues"), kw.pop("m"), **kw)


def _gauss_problem(**over):
    kw = dict(n1=_N, n2=3, singular_values=[1.0], m=_M, rng=0, noise_std=0.0, dtype=np.float64)
    kw.update(over)
    return gaussian_problem(kw.pop("n1"), kw.pop("n2"), kw.pop("singular_values"), kw.pop("m"), **kw)


def _make_problem(**over):
    kw = dict(M_star=psd_matrix(_N, [1.0], rng=0), operator=symmetric_gaussian_operator(_N, _M, rng=0),
              noise_std=0.1, rng=0)
    kw.update(over)
    return make_sensing_problem(kw.pop("M_star"), kw.pop("operator"), **kw)


def _init(**over):
    kw = dict(n=_N, k=2, alpha=1e-2, rng=0, batch=None)
    kw.update(over)
    return small_random_init(kw.pop("n"), kw.pop("k"), kw.pop("alpha"), **kw)


def _forward(**over):
    return _problem().operator.forward(over.get("X", np.eye(_N)))


def _adjoint(**over):
    return _problem().operator.adjoint(over.get("v", np.ones(_M)))


def _dense_forward(**over):
    return _asym_problem().operator.forward(over.get("X", np.ones((_N, 3))))


def _sweep(**over):
    kw = dict(problem=_problem(), k=2, alphas=[1e-2], seeds=[0, 1], eta=0.1, steps=3, record="all",
              metrics=("loss",))
    kw.update(over)
    return alpha_seed_sweep(kw.pop("problem"), kw.pop("k"), kw.pop("alphas"), kw.pop("seeds"), **kw)


#: (entry point, {parameter: strategy of malformed values}).
CASES = {
    "gd_symmetric": (_gd_sym, {"problem": _JUNK, "U0": _ANY_ARRAY, "eta": _BAD_FLOAT, "steps": _BAD_STEPS,
                               "record": st.one_of(_JUNK, st.sampled_from([[10**6], [-1], [1.5], [[1]]])),
                               "metrics": st.sampled_from([5, None, "nope", ["loss", "nope"], {"a": 3},
                                                           {"a": lambda s: 1.0}, [1]]),
                               "form": st.sampled_from(["nope", None, 3, "identity"]),
                               "divergence_factor": st.one_of(_BAD_FLOAT, st.just(1.0)),
                               "on_divergence": st.sampled_from(["nope", None, 1]),
                               "threads": st.sampled_from([0, -1, 1.5, "2"])}),
    "gd_asymmetric": (_gd_asym, {"problem": st.one_of(_JUNK, st.builds(_problem)), "F0": _ANY_ARRAY,
                                 "G0": _ANY_ARRAY, "eta": _BAD_FLOAT, "steps": _BAD_STEPS}),
    "symmetric_gaussian_problem": (_sym_problem, {"n": _BAD_INT, "eigenvalues": _ANY_ARRAY, "m": _BAD_INT,
                                                  "rng": _BAD_RNG, "noise_std": _BAD_FLOAT,
                                                  "dtype": _BAD_DTYPE}),
    "gaussian_problem": (_gauss_problem, {"n1": _BAD_INT, "n2": _BAD_INT, "singular_values": _ANY_ARRAY,
                                          "m": _BAD_INT, "rng": _BAD_RNG, "noise_std": _BAD_FLOAT,
                                          "dtype": _BAD_DTYPE}),
    "make_sensing_problem": (_make_problem, {"M_star": _ANY_ARRAY, "operator": st.one_of(_JUNK, _arrays()),
                                             "noise_std": _BAD_FLOAT, "rng": _BAD_RNG}),
    "small_random_init": (_init, {"n": _BAD_INT, "k": _BAD_INT, "alpha": _ANY_ARRAY, "rng": _BAD_RNG,
                                  "batch": _BAD_INT}),
    "forward": (_forward, {"X": _ANY_ARRAY}),
    "adjoint": (_adjoint, {"v": _ANY_ARRAY}),
    "dense_forward": (_dense_forward, {"X": _ANY_ARRAY}),
    "alpha_seed_sweep": (_sweep, {"problem": _JUNK, "k": _BAD_INT, "alphas": _ANY_ARRAY,
                                  "seeds": st.sampled_from([3, "ab", None, [], [-1], [0.5], ["a"], [[0]]]),
                                  "eta": st.one_of(_BAD_FLOAT, st.just(5.0)), "steps": _BAD_STEPS,
                                  "record": _JUNK}),
}


def _raised_by_matsense(err: BaseException) -> bool:
    """True when the innermost frame of ``err``'s traceback is library code (not numpy's)."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and Path(frames[-1].filename).resolve().is_relative_to(LIB)


@pytest.mark.parametrize("entry", sorted(CASES))
@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_malformed_input_is_refused_naming_the_parameter(entry, data):
    call, params = CASES[entry]
    name = data.draw(st.sampled_from(sorted(params)), label="parameter")
    value = data.draw(params[name], label=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call(**{name: value})
        except (ValueError, TypeError) as err:
            assert re.search(rf"\b{re.escape(name)}\b", str(err)), \
                f"{entry}({name}={value!r}): message does not name {name!r}: {err}"
            assert _raised_by_matsense(err), \
                f"{entry}({name}={value!r}) raised from outside matsense: {''.join(traceback.format_exception(err))}"
        # an exception of any other type propagates and fails the test; so does a crash in numpy
