"""Tests of matsense.claims: the verdict of each comparison, ids, bad input, and the ledger file.

Covers: Claim (verdicts of rel/abs/le/ge at and beyond the boundary, non-finite measurements,
validation, to_dict/from_dict), record_claim (claims.json appended atomically, duplicates),
load_claims, and matsense.book.ledger (known deviations, strictness, merging).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from matsense.book.ledger import collect_claims, judge, load_known_deviations
from matsense.claims import Claim, load_claims, load_claims_table, record_claim


def claim(measured, predicted, tolerance, comparison, id="jin.x"):
    return Claim(id=id, statement="s", measured=measured, predicted=predicted,
                 tolerance=tolerance, comparison=comparison)


@pytest.mark.parametrize("measured, predicted, tolerance, comparison, passed", [
    (1.5, 1.0, 0.5, "rel", True),     # exactly on the boundary |0.5| <= 0.5 * 1
    (1.5000001, 1.0, 0.5, "rel", False),
    (-1.05, -1.0, 0.1, "rel", True),  # |predicted| is used
    (0.0, 0.0, 0.5, "rel", True),
    (1e-9, 0.0, 0.5, "rel", False),   # rel with predicted 0 needs an exact match
    (2.5, 2.0, 0.5, "abs", True),     # boundary
    (2.6, 2.0, 0.5, "abs", False),
    (1.4, 2.0, 0.5, "abs", False),
    (2.4, 2.0, 0.5, "le", True),
    (2.6, 2.0, 0.5, "le", False),
    (-100.0, 2.0, 0.0, "le", True),
    (1.6, 2.0, 0.5, "ge", True),
    (1.4, 2.0, 0.5, "ge", False),
    (100.0, 2.0, 0.0, "ge", True),
])
def test_verdicts(measured, predicted, tolerance, comparison, passed):
    c = claim(measured, predicted, tolerance, comparison)
    assert c.passed is passed
    assert c.message


@pytest.mark.parametrize("comparison", ["rel", "abs", "le", "ge"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_non_finite_measurement_always_fails(comparison, bad):
    c = claim(bad, 1.0, 1e300, comparison)
    assert c.passed is False
    assert "no finite number" in c.message


@pytest.mark.parametrize("good", ["jin.thm1", "xiong.fig2.rate", "wind.noise_floor", "beyond.a-b",
                                  "found.recovery", "jin.3"])
def test_good_ids(good):
    assert claim(1.0, 1.0, 0.0, "abs", id=good).id == good


@pytest.mark.parametrize("bad", ["paper.x", "jin", "jin.", "Jin.x", "jin.X", "jin. x", "jinx.a",
                                 "", None, 3])
def test_bad_ids_are_refused(bad):
    with pytest.raises(ValueError, match="claim id"):
        claim(1.0, 1.0, 0.0, "abs", id=bad)


@pytest.mark.parametrize("kwargs, match", [
    ({"comparison": "approx"}, "comparison='approx'"),
    ({"tolerance": -0.1}, "tolerance=-0.1"),
    ({"tolerance": math.nan}, "tolerance=nan"),
    ({"predicted": math.inf}, "predicted=inf"),
    ({"measured": "1.0"}, "measured='1.0'"),
    ({"measured": True}, "measured=True"),
    ({"predicted": [1.0, 2.0]}, "predicted="),
    ({"statement": " "}, "statement"),
    ({"units": 3}, "units=3"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    args = dict(id="jin.x", statement="s", measured=1.0, predicted=1.0, tolerance=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match.replace("[", r"\[")):
        Claim(**args)


def test_numpy_scalars_and_0d_arrays_are_numbers():
    c = claim(np.float32(1.0), np.array(1.0), np.int64(0), "abs")
    assert c.passed and type(c.measured) is float


def test_round_trip_and_strict_json():
    c = claim(math.nan, 1.0, 0.1, "rel")
    text = json.dumps(c.to_dict(), allow_nan=False)  # strict JSON: nan is written as text
    back = Claim.from_dict(json.loads(text))
    assert math.isnan(back.measured) and not back.passed
    c2 = claim(1.05, 1.0, 0.1, "rel")
    assert Claim.from_dict(c2.to_dict()) == c2


def test_a_tampered_verdict_is_detected():
    d = claim(2.0, 1.0, 0.1, "rel").to_dict()
    d["passed"] = True
    with pytest.raises(ValueError, match="disagrees"):
        Claim.from_dict(d)


TABLE = """
found.a:
  statement: first
  source: a closed form
  comparison: abs
  tolerance: 0
  reason: exact
  control: {breaks: a hypothesis, setup: {}}
found.b:
  statement: second
  source: a derivation
  comparison: rel
  tolerance: 0.5
  reason: measured spread
  control: {breaks: a hypothesis, setup: {}}
  units: s
found.c:
  statement: third
  source: a derivation
  comparison: le
  tolerance: computed
  reason: the notebook derives it from the size of the neglected term
  control: {breaks: a hypothesis, setup: {}}
beyond.x:
  statement: s
  source: ours
  comparison: abs
  tolerance: 0
  reason: exact
  control: {breaks: a hypothesis, setup: {}}
"""


#: A control far from every prediction of TABLE: it fails, as a control must.
CONTROL = (9.0, 1.0)


@pytest.fixture
def table(tmp_path, monkeypatch):
    """A claims table in the working directory, where a notebook runs."""
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "claims.yml").write_text(TABLE)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "claims.yml"


def test_record_claim_appends_to_the_notebook_ledger(runner_context, table):
    a = record_claim("found.a", measured=1.0, predicted=1.0, control=CONTROL)
    b = record_claim("found.b", measured=3.0, predicted=1.0, control=CONTROL)
    assert a.passed and not b.passed
    assert (a.statement, a.comparison, a.tolerance, a.source) == ("first", "abs", 0.0, "a closed form")
    assert (b.units, b.reason) == ("s", "measured spread")
    assert (a.notebook, a.mode) == ("book/test/notebook", "quick")
    path = runner_context / "claims.json"
    assert [c.id for c in load_claims(path)] == ["found.a", "found.b"]
    assert load_claims(path)[1] == b
    assert not [p for p in runner_context.iterdir() if p.name.startswith(".")]  # no temp file
    with pytest.raises(ValueError, match="recorded twice"):
        record_claim("found.a", measured=1.0, predicted=1.0, control=CONTROL)


def test_a_claim_without_a_declared_control_is_refused(runner_context, tmp_path, monkeypatch):
    (tmp_path / "claims.yml").write_text(
        "found.a: {statement: s, source: x, comparison: abs, tolerance: 0, reason: r}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="no negative control"):
        record_claim("found.a", measured=1.0, predicted=1.0, control=CONTROL)


def test_a_control_is_required_and_judged(runner_context, table):
    with pytest.raises(ValueError, match="negative control"):
        record_claim("found.a", measured=1.0, predicted=1.0)
    good = record_claim("found.a", measured=1.0, predicted=1.0, control=(2.0, 1.0))
    assert good.passed and good.control_passed is False and good.control == "a hypothesis"
    assert load_claims(runner_context / "claims.json") == [good]


def test_a_claim_whose_control_passes_cannot_fail(runner_context, table):
    c = record_claim("found.a", measured=1.0, predicted=1.0, control=(1.0, 1.0))
    assert c.passed and c.control_passed
    judged, errors = judge([c], {}, "quick")
    assert judged[0].status == "cannot fail" and "cannot fail" in errors[0]
    assert "negative control (a hypothesis) passes too" in errors[0]


def test_claims_without_controls_fail_when_controls_are_required():
    judged, errors = judge([claim(1.0, 1.0, 0.0, "abs")], {}, "quick", require_controls=True)
    assert judged[0].status == "fail" and "no negative control" in errors[0]
    assert judge([claim(1.0, 1.0, 0.0, "abs")], {}, "quick")[1] == []


def test_draws_are_summarised_by_their_median_and_range(runner_context, table):
    c = record_claim("found.b", measured=[1.0, 1.2, 5.0], predicted=[1.0, 1.0, 1.0],
                     control=([9.0, 9.5, 8.0], 1.0))
    assert (c.measured, c.spread, c.draws) == (1.2, (1.0, 5.0), 3)
    assert c.passed and c.control_measured == 9.0 and not c.control_passed
    again = Claim.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    nan = record_claim("found.a", measured=[1.0, float("nan")], predicted=1.0, control=CONTROL)
    assert not nan.passed and nan.spread == (1.0, 1.0)   # one draw gave no number: the claim fails


def test_check_claim_measures_every_draw_and_the_control(runner_context, tmp_path, monkeypatch):
    from matsense.claims import check_claim
    from matsense.setups import DRAW_STRIDE, jin_setup
    (tmp_path / "claims.yml").write_text(TABLE.replace(
        "control: {breaks: a hypothesis, setup: {}}\nfound.b", "control: {breaks: the gap, setup: {sigma: [2.0, 2.0, 1.0]}}\nfound.b", 1))
    monkeypatch.chdir(tmp_path)
    seen = []

    def measure(setup):
        seen.append((setup.seed, setup.sigma))
        return (1.0 if setup.sigma[0] > setup.sigma[1] else 0.0), 1.0

    c = check_claim("found.a", measure, jin_setup(quick=True, seed=5, n_draws=2))
    assert seen == [(5, (3.0, 2.0, 1.0)), (5 + DRAW_STRIDE, (3.0, 2.0, 1.0)),
                    (5, (2.0, 2.0, 1.0)), (5 + DRAW_STRIDE, (2.0, 2.0, 1.0))]
    assert c.passed and c.draws == 2 and c.control_measured == 0.0 and not c.control_passed
    assert c.control == "the gap"
    with pytest.raises(TypeError, match="measure"):
        check_claim("found.b", "not a function", jin_setup(quick=True))


def test_a_claim_must_be_declared(runner_context, table):
    with pytest.raises(ValueError, match="not declared"):
        record_claim("found.zzz", measured=1.0, predicted=1.0, control=CONTROL)


def test_computed_tolerances_are_passed_and_only_those(runner_context, table):
    with pytest.raises(ValueError, match="tolerance: computed"):
        record_claim("found.c", measured=1.0, predicted=1.0, control=CONTROL)
    with pytest.raises(ValueError, match="do not pass tolerance"):
        record_claim("found.a", measured=1.0, predicted=1.0, tolerance=0.1, control=CONTROL)
    c = record_claim("found.c", measured=1.05, predicted=1.0, tolerance=0.1, control=CONTROL)
    assert c.passed and c.tolerance == 0.1


def test_no_table_is_a_clear_error(runner_context, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="claims.yml"):
        record_claim("found.a", measured=1.0, predicted=1.0, control=CONTROL)


@pytest.mark.parametrize("text, match", [
    ("found.a: [1, 2]", "mapping of fields"),
    ("Bad.id: {}", "not allowed"),
    ("found.a: {statement: s, source: x, comparison: rel, tolerance: -1, reason: r, control: {breaks: b, setup: {}}}", "tolerance=-1"),
    ("found.a: {statement: s, source: x, comparison: near, tolerance: 1, reason: r, control: {breaks: b, setup: {}}}", "comparison='near'"),
    ("found.a: {statement: s, comparison: rel, tolerance: 1, reason: r, control: {}}", "missing fields \\['source'\\]"),
    ("found.a: {statement: s, source: x, comparison: rel, tolerance: 1, reason: r, extra: 1}", "unknown fields"),
    ("found.a: {statement: '', source: x, comparison: rel, tolerance: 1, reason: r, control: {breaks: b, setup: {}}}", "statement must be"),
    ("found.a: [unclosed", "not valid YAML"),
    ("found.a: {statement: s, source: x, comparison: rel, tolerance: 1, reason: r, control: {breaks: x}}", "control must be"),
])
def test_malformed_tables_name_the_file_and_claim(tmp_path, text, match):
    path = tmp_path / "claims.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_claims_table(path)


def test_the_numbers_are_glued_for_the_prose(runner_context, table, monkeypatch):
    import IPython
    import myst_nb
    glued = {}
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    record_claim("found.a", measured=1.0, predicted=1.0, control=CONTROL)
    assert glued == {}  # outside IPython nothing is glued
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(myst_nb, "glue", lambda k, v, display=True: glued.update({k: v}))
    monkeypatch.setattr("matsense.claims._show", lambda claim: None)
    record_claim("found.b", measured=3.0, predicted=1.0, control=CONTROL)
    assert glued == {"found.b.measured": 3.0, "found.b.predicted": 1.0, "found.b.control": 9.0}


def test_interactive_use_replaces_a_re_recorded_claim(table, tmp_path):
    record_claim("beyond.x", measured=1.0, predicted=2.0, control=CONTROL)
    c = record_claim("beyond.x", measured=2.0, predicted=2.0, control=CONTROL)
    assert c.mode == "interactive"
    assert load_claims(tmp_path / "_build" / "interactive" / "claims.json") == [c]


def test_html_table_shows_the_numbers():
    html = claim(1.0, 2.0, 0.1, "rel", id="jin.fig1")._repr_html_()
    assert "jin.fig1" in html and "✗ fail" in html and "<table" in html


# -- the book's ledger ---------------------------------------------------------------------------

def test_known_deviations_are_strict(tmp_path):
    dev_file = tmp_path / "dev.yml"
    dev_file.write_text("jin.fails:\n  reason: too few steps in quick mode\n  modes: [quick]\n"
                        "jin.passes:\n  reason: stale\n  modes: [quick, full]\n"
                        "jin.gone:\n  reason: renamed\n  modes: [full]\n")
    devs = load_known_deviations(dev_file)
    claims = [claim(2.0, 1.0, 0.1, "rel", id="jin.fails"),
              claim(1.0, 1.0, 0.1, "rel", id="jin.passes"),
              claim(1.0, 1.0, 0.1, "rel", id="jin.ok"),
              claim(5.0, 1.0, 0.1, "rel", id="jin.broken")]
    judged, errors = judge(claims, devs, "quick")
    assert [j.status for j in judged] == ["known deviation", "pass", "pass", "fail"]
    assert judged[0].reason == "too few steps in quick mode"
    assert len(errors) == 2
    assert "jin.passes (interactive) passes in quick mode" in errors[0] and "remove the declaration" in errors[0]
    assert "jin.broken" in errors[1] and "fails in quick mode" in errors[1]
    # in full mode jin.fails is not declared, and jin.gone is declared but never recorded
    _, errors = judge(claims, devs, "full")
    text = "\n".join(errors)
    assert "jin.fails" in text and "jin.gone" in text and "no notebook recorded" in text
    # a partial run (--only) does not complain about claims it did not run
    _, errors = judge(claims[:3], devs, "full", complete=False)
    assert not any("jin.gone" in e for e in errors)


@pytest.mark.parametrize("text, match", [
    ("jin.x: {reason: '', modes: [quick]}", "reason"),
    ("jin.x: {reason: r, modes: [fast]}", "modes"),
    ("jin.x: {reason: r, modes: []}", "modes"),
    ("paper.x: {reason: r, modes: [quick]}", "claim id"),
    ("jin.x: {reason: r, modes: [quick], extra: 1}", "exactly the keys"),
])
def test_malformed_known_deviations(tmp_path, text, match):
    path = tmp_path / "dev.yml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_known_deviations(path)


def test_ids_must_be_unique_across_notebooks(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "claims.json").write_text(
            json.dumps([claim(1.0, 1.0, 0.0, "abs", id="beyond.same").to_dict()]))
    claims, errors = collect_claims([("book/a", tmp_path / "a" / "claims.json"),
                                     ("book/b", tmp_path / "b" / "claims.json"),
                                     ("book/c", tmp_path / "c" / "claims.json")])
    assert len(claims) == 1
    assert errors and "book/a and book/b" in errors[0]
