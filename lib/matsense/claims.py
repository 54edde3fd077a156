r"""Claims ledger: a notebook states what a paper predicts and records what it measured.

A *claim* is one number checked against a prediction with an explicit tolerance:

.. math::

    \text{rel:}\ |m - p| \le \tau\,|p|, \qquad
    \text{abs:}\ |m - p| \le \tau, \qquad
    \text{le:}\ m \le p + \tau, \qquad
    \text{ge:}\ m \ge p - \tau,

with measured value :math:`m`, predicted value :math:`p` and tolerance :math:`\tau \ge 0`.

A claim is **declared once**, in its chapter's table ``book/<chapter>/claims.yml`` (statement, the
theorem or derivation the prediction comes from, comparison, tolerance and the reason for that
tolerance); a notebook only supplies the numbers: ``record_claim("jin.order", measured=...,
predicted=...)``. :func:`record_claim` decides pass or fail (a non-finite measurement always
fails), appends the claim to the notebook's ``claims.json`` in the run's output directory, glues
the two numbers for the prose, and shows a one-row table in the notebook. The runner merges every
notebook's claims into ``_build/claims.json`` (full mode) or ``_build/quick/claims.json`` (quick
mode), fails when a claim fails unless ``book/known_deviations.yml`` declares it for that mode, and
fails when a declared claim was never recorded.

Claim ids are prefixed by their source: ``jin.``, ``xiong.``, ``wind.`` (the three papers),
``beyond.`` (beyond the papers) or ``found.`` (the foundations chapter), then lowercase letters,
digits, ``-``, ``_`` or ``.``, e.g. ``jin.thm1.plateau-length``.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ._io import atomic_write_json
from .context import current_context
from ._ipython import already_shown, display_once

__all__ = ["Claim", "ClaimDeclaration", "ControlDeclaration", "record_claim", "check_claim",
           "load_claims", "load_claims_table", "CLAIM_PREFIXES", "COMPARISONS", "CLAIMS_TABLE",
           "validate_claim_id", "describe_test"]

#: Allowed id prefixes: the three papers, beyond the papers, the foundations chapter.
CLAIM_PREFIXES = ("jin.", "xiong.", "wind.", "beyond.", "found.")
#: Allowed comparisons between measured and predicted values.
COMPARISONS = ("rel", "abs", "le", "ge")

_ID_RE = re.compile(r"^(jin|xiong|wind|beyond|found)\.[a-z0-9][a-z0-9._-]*$")
_SYMBOL = {"rel": "≈", "abs": "≈", "le": "≤", "ge": "≥"}


def validate_claim_id(claim_id: Any) -> str:
    """Return ``claim_id`` if it is a well-formed claim id, else raise ValueError naming it."""
    if not isinstance(claim_id, str) or not _ID_RE.match(claim_id):
        raise ValueError(
            f"claim id {claim_id!r} is not allowed: it must start with one of "
            f"{', '.join(CLAIM_PREFIXES)} followed by lowercase letters, digits, '-', '_' or '.'")
    return claim_id


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:  # numpy 0-d arrays and 1-element arrays of real numbers
            import numpy as np
            arr = np.asarray(value)
            if arr.size == 1 and arr.dtype.kind in "iuf":
                return float(arr.reshape(()))
        except Exception:  # noqa: BLE001 - fall through to the explicit error
            pass
        raise ValueError(f"{name}={value!r} must be a real number")
    return float(value)


def _encode_float(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)  # 'nan', 'inf', '-inf': strict JSON has no NaN


def _decode_float(x: Any) -> float:
    return float(x) if isinstance(x, (str, int, float)) and not isinstance(x, bool) else math.nan


def _verdict(measured: float, predicted: float, tolerance: float, comparison: str
             ) -> tuple[bool, str]:
    if not math.isfinite(measured):
        return False, f"measured value is {measured!r}: the computation gave no finite number"
    gap = abs(measured - predicted)
    if comparison == "rel":
        bound = tolerance * abs(predicted)
        ok = gap <= bound
        text = f"|measured - predicted| = {gap:.4g} {'<=' if ok else '>'} {tolerance:g} x |predicted| = {bound:.4g}"
    elif comparison == "abs":
        ok = gap <= tolerance
        text = f"|measured - predicted| = {gap:.4g} {'<=' if ok else '>'} {tolerance:g}"
    elif comparison == "le":
        ok = measured <= predicted + tolerance
        text = f"measured {measured:.4g} {'<=' if ok else '>'} predicted + tolerance = {predicted + tolerance:.4g}"
    else:  # ge
        ok = measured >= predicted - tolerance
        text = f"measured {measured:.4g} {'>=' if ok else '<'} predicted - tolerance = {predicted - tolerance:.4g}"
    return ok, text


@dataclass(frozen=True)
class Claim:
    """One checked claim. ``passed`` and ``message`` are computed from the numbers.

    Attributes
    ----------
    id : str
        Claim id, prefixed by its source (see :data:`CLAIM_PREFIXES`).
    statement : str
        What is claimed, in words.
    measured : float
        The measured number (may be NaN or infinite: then the claim fails).
    predicted : float
        The prediction it is compared with (finite).
    tolerance : float
        Non-negative tolerance; its meaning depends on ``comparison``.
    comparison : str
        One of ``"rel"``, ``"abs"``, ``"le"``, ``"ge"`` (see the module docstring).
    units : str or None
        Units of measured and predicted, if any.
    notebook : str
        The notebook that recorded the claim (its ``_toc.yml`` path).
    mode : str
        The run mode: ``"quick"``, ``"full"`` or ``"interactive"``.
    source : str or None
        The theorem or derivation the prediction comes from.
    reason : str or None
        Why the tolerance is what it is.
    draws : int
        Number of independent problem draws the claim was measured on; ``measured`` and
        ``predicted`` are then medians over the draws.
    spread : tuple of float or None
        Smallest and largest measured value over the draws.
    control : str or None
        The hypothesis its negative control breaks (e.g. "the eigengap").
    control_measured, control_predicted : float or None
        The same measurement and prediction on the control's setup (medians over the draws).
    passed : bool
        Whether the comparison holds. A non-finite ``measured`` never passes.
    message : str
        The comparison written out with its numbers, or why the claim fails.
    control_passed : bool or None
        Whether the comparison also holds on the control (then the claim cannot fail: an error
        of the build); None without a control.
    """

    id: str
    statement: str
    measured: float
    predicted: float
    tolerance: float
    comparison: str = "rel"
    units: str | None = None
    notebook: str = "interactive"
    mode: str = "interactive"
    source: str | None = None
    reason: str | None = None
    draws: int = 1
    spread: tuple[float, float] | None = None
    control: str | None = None
    control_measured: float | None = None
    control_predicted: float | None = None
    passed: bool = field(init=False)
    message: str = field(init=False)
    control_passed: bool | None = field(init=False)

    def __post_init__(self) -> None:
        validate_claim_id(self.id)
        if not isinstance(self.statement, str) or not self.statement.strip():
            raise ValueError(f"statement={self.statement!r} must be a non-empty string")
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison={self.comparison!r}: allowed values are {COMPARISONS}")
        measured = _as_float("measured", self.measured)
        predicted = _as_float("predicted", self.predicted)
        tolerance = _as_float("tolerance", self.tolerance)
        if not math.isfinite(predicted):
            raise ValueError(f"predicted={predicted!r} must be finite")
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ValueError(f"tolerance={tolerance!r} must be finite and >= 0")
        if self.units is not None and not isinstance(self.units, str):
            raise ValueError(f"units={self.units!r} must be a string or None")
        passed, message = _verdict(measured, predicted, tolerance, self.comparison)
        if isinstance(self.draws, bool) or not isinstance(self.draws, int) or self.draws < 1:
            raise ValueError(f"draws={self.draws!r} must be an integer >= 1")
        spread = None if self.spread is None else tuple(_as_float("spread", s) for s in self.spread)
        if spread is not None and len(spread) != 2:
            raise ValueError(f"spread={self.spread!r} must be (smallest, largest)")
        control_passed = None
        c_measured = c_predicted = None
        if self.control is not None:
            if not isinstance(self.control, str) or not self.control.strip():
                raise ValueError(f"control={self.control!r} must say which hypothesis it breaks")
            if self.control_measured is None or self.control_predicted is None:
                raise ValueError("a claim with a control needs control_measured and control_predicted")
            c_measured = _as_float("control_measured", self.control_measured)
            c_predicted = _as_float("control_predicted", self.control_predicted)
            if not math.isfinite(c_predicted):
                raise ValueError(f"control_predicted={c_predicted!r} must be finite")
            control_passed = _verdict(c_measured, c_predicted, tolerance, self.comparison)[0]
        for name, value in (("measured", measured), ("predicted", predicted),
                            ("tolerance", tolerance), ("passed", passed), ("message", message),
                            ("spread", spread), ("control_measured", c_measured),
                            ("control_predicted", c_predicted), ("control_passed", control_passed)):
            object.__setattr__(self, name, value)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite ``measured`` is written as ``"nan"``/``"inf"``)."""
        d = asdict(self)
        d["measured"] = _encode_float(self.measured)
        if self.control_measured is not None:
            d["control_measured"] = _encode_float(self.control_measured)
        if self.spread is not None:
            d["spread"] = [_encode_float(s) for s in self.spread]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Claim":
        """Rebuild a claim from :meth:`to_dict`, recomputing the verdict.

        Raises
        ------
        ValueError
            If a field is missing, or the stored ``passed`` disagrees with the numbers.
        """
        fields = ("id", "statement", "measured", "predicted", "tolerance", "comparison")
        missing = [f for f in fields if f not in d]
        if missing:
            raise ValueError(f"claim record {d.get('id', '?')!r} lacks the fields {missing}")
        claim = cls(id=d["id"], statement=d["statement"], measured=_decode_float(d["measured"]),
                    predicted=d["predicted"], tolerance=d["tolerance"],
                    comparison=d["comparison"], units=d.get("units"),
                    notebook=d.get("notebook", "interactive"), mode=d.get("mode", "interactive"),
                    source=d.get("source"), reason=d.get("reason"), draws=d.get("draws", 1),
                    spread=None if d.get("spread") is None else tuple(_decode_float(s) for s in d["spread"]),
                    control=d.get("control"),
                    control_measured=None if d.get("control_measured") is None
                    else _decode_float(d["control_measured"]),
                    control_predicted=d.get("control_predicted"))
        if "passed" in d and bool(d["passed"]) != claim.passed:
            raise ValueError(f"claim {claim.id!r}: stored passed={d['passed']} disagrees with "
                             f"its numbers ({claim.message})")
        if d.get("control_passed") is not None and d["control_passed"] != claim.control_passed:
            raise ValueError(f"claim {claim.id!r}: stored control_passed={d['control_passed']} "
                             "disagrees with its control's numbers")
        return claim

    # -- display ---------------------------------------------------------------------------------
    @property
    def test(self) -> str:
        """When the claim passes, in words and numbers: ``"= 4 (exact)"``, ``"0.73 ± 10 %"``,
        ``"0.73 ± 0.05"``, ``"≤ 0.1"`` or ``"≥ 0.95 (prediction 1, tolerance 0.05)"``."""
        return describe_test(self.comparison, self.predicted, self.tolerance)

    def _repr_html_(self) -> str:
        # Two narrow columns (status and id | statement and numbers), so the table fits any column.
        units = f" {html.escape(self.units)}" if self.units else ""
        if self.passed and self.control_passed:
            status = "<strong>✗ cannot fail</strong>"
        else:
            status = "✓ pass" if self.passed else "<strong>✗ fail</strong>"
        if self.control is None:
            control = "no negative control"
        else:
            verdict = "passes too: the claim cannot fail" if self.control_passed else "fails, as it must"
            control = (f"negative control ({html.escape(self.control)}): "
                       f"{self.control_measured:.4g}{units}, {verdict}")
        draws = f" (median of {self.draws} draws)" if self.draws > 1 else ""
        numbers = (f"measured {self.measured:.4g}{units}{draws}; passes if "
                   f"{html.escape(self.test)}; {control}.")
        return (f"<table class='matsense-claim'><tbody><tr>"
                f"<td>{status}<br><code>{html.escape(self.id)}</code></td>"
                f"<td>{html.escape(self.statement)}<br><small>{numbers}</small></td>"
                f"</tr></tbody></table>")

    def __str__(self) -> str:
        return (f"claim {self.id}: {'pass' if self.passed else 'FAIL'} "
                f"(measured {self.measured:.4g}, predicted {self.predicted:.4g}; {self.message})")

    def _ipython_display_(self) -> None:
        # record_claim already showed this claim in the current cell: do not show it twice when
        # it is also the cell's last expression.
        if not already_shown(self):
            _show(self)


def _show(claim: Claim) -> None:
    """Show the claim's one-row table in the running notebook cell (only inside IPython)."""
    display_once(claim, {"text/html": claim._repr_html_(), "text/plain": str(claim)})


# ----------------------------------------------------------------------------------------------
# Recording


def _claims_path(output_dir: Path) -> Path:
    return Path(output_dir) / "claims.json"


def load_claims(path: Path) -> list[Claim]:
    """Read a ``claims.json`` written by :func:`record_claim` (verdicts are recomputed).

    Raises
    ------
    ValueError
        If the file is not a JSON list of claim records.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of claims, got {type(data).__name__}")
    return [Claim.from_dict(d) for d in data]


#: File name of a chapter's claims table, next to the chapter's notebooks.
CLAIMS_TABLE = "claims.yml"
_DECL_KEYS = {"statement", "source", "comparison", "tolerance", "reason", "control", "units"}


@dataclass(frozen=True)
class ClaimDeclaration:
    r"""A claim as declared in its chapter's table ``book/<chapter>/claims.yml``.

    Attributes
    ----------
    id : str
        The claim id.
    statement : str
        What is claimed, in words.
    source : str
        The theorem or derivation the prediction comes from.
    comparison : str
        ``"rel"``, ``"abs"``, ``"le"`` or ``"ge"``.
    tolerance : float or None
        The tolerance, or None when it is ``computed`` by the notebook (then ``reason`` gives the
        derivation and :func:`record_claim` must be given ``tolerance``).
    reason : str
        Why this tolerance: a derivation or a measured spread, in one line.
    control : ControlDeclaration or None
        The claim's negative control (every claim of the book needs one: :func:`record_claim`
        refuses a claim without it, and a test checks every table).
    units : str or None
        Units of the measured and predicted values.
    """

    id: str
    statement: str
    source: str
    comparison: str
    tolerance: float | None
    reason: str
    control: "ControlDeclaration | None"
    units: str | None = None


@dataclass(frozen=True)
class ControlDeclaration:
    """A claim's negative control: the same measurement where a hypothesis of the claim fails.

    Attributes
    ----------
    breaks : str
        The hypothesis the control violates, in words (e.g. "the eigengap: sigma_1 = sigma_2").
    setup : dict
        Fields of the chapter setup that the control changes (e.g. ``{"sigma": [2.0, 2.0, 1.0]}``).
    """

    breaks: str
    setup: dict


def load_claims_table(path: Path) -> dict[str, ClaimDeclaration]:
    """Read a chapter's claims table: a YAML mapping ``id -> {statement, source, comparison, tolerance, reason, control[, units]}``.

    ``tolerance`` is a number >= 0 or the word ``computed``; ``control`` is a mapping
    ``{breaks: <the hypothesis it violates>, setup: {<setup field>: <value>, ...}}``. Every claim
    needs a negative control to be recorded; a table may be read while one is being written.

    Raises
    ------
    ValueError
        Naming the file and the claim, for a malformed id, a missing or unknown field, an unknown
        comparison or a negative tolerance.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping claim id -> {{statement, source, comparison, "
                         "tolerance, reason}")
    out = {}
    for cid, d in data.items():
        where = f"{path}: claim {cid!r}"
        try:
            validate_claim_id(cid)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not isinstance(d, dict):
            raise ValueError(f"{where} must be a mapping of fields")
        missing = sorted(_DECL_KEYS - {"units", "control"} - set(d))
        extra = sorted(set(d) - _DECL_KEYS)
        if missing or extra:
            raise ValueError(f"{where}: missing fields {missing}, unknown fields {extra}")
        for key in ("statement", "source", "reason"):
            if not isinstance(d[key], str) or not d[key].strip():
                raise ValueError(f"{where}: {key} must be a non-empty string")
        if d["comparison"] not in COMPARISONS:
            raise ValueError(f"{where}: comparison={d['comparison']!r}; allowed: {COMPARISONS}")
        tol = d["tolerance"]
        if tol == "computed":
            tol = None
        elif isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 <= tol < math.inf):
            raise ValueError(f"{where}: tolerance={tol!r} must be a finite number >= 0 or 'computed'")
        ctrl = d.get("control")
        if ctrl is not None and (not isinstance(ctrl, dict) or set(ctrl) != {"breaks", "setup"}
                or not isinstance(ctrl["breaks"], str) or not ctrl["breaks"].strip()
                or not isinstance(ctrl["setup"], dict)):
            raise ValueError(f"{where}: control must be a mapping with 'breaks' (the hypothesis it "
                             "violates, in words) and 'setup' (the setup fields it changes)")
        out[cid] = ClaimDeclaration(id=cid, statement=" ".join(d["statement"].split()),
                                    source=" ".join(d["source"].split()), comparison=d["comparison"],
                                    tolerance=None if tol is None else float(tol),
                                    reason=" ".join(d["reason"].split()),
                                    control=None if ctrl is None else ControlDeclaration(
                                        " ".join(ctrl["breaks"].split()), dict(ctrl["setup"])),
                                    units=d.get("units"))
    return out


def _find_table(ctx: Any) -> Path:
    """The claims table of the running notebook: ``claims.yml`` in the working directory (Jupyter
    and the runner run a notebook in its own folder), else next to the runner's notebook."""
    here = Path.cwd() / CLAIMS_TABLE
    if here.is_file():
        return here
    if ctx.in_runner:
        from ._io import find_root
        beside = find_root() / Path(ctx.notebook).parent / CLAIMS_TABLE
        if beside.is_file():
            return beside
    raise ValueError(f"no {CLAIMS_TABLE} in {Path.cwd()}: a chapter declares its claims in "
                     f"book/<chapter>/{CLAIMS_TABLE}; pass table= to read another one")


def _glue(name: str, value: float) -> None:
    """Glue a number for the prose ({glue:text}`name:.3g`), inside IPython only."""
    try:
        from IPython import get_ipython
        if get_ipython() is None:
            return
        from myst_nb import glue
    except ImportError:
        return
    glue(name, value, display=False)


def _aggregate(name: str, values: Any) -> tuple[float, tuple[float, float] | None, int]:
    """Median, (min, max) and count of a number or a sequence of numbers (one per problem draw)."""
    import numpy as np

    if isinstance(values, (list, tuple)) or (hasattr(values, "ndim") and np.ndim(values) > 0):
        arr = np.asarray(values, dtype=np.float64).ravel()
        if arr.size == 0:
            raise ValueError(f"{name} must hold at least one value")
        finite = arr[np.isfinite(arr)]
        spread = (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)
        median = float(np.median(arr)) if finite.size == arr.size else math.nan
        return median, spread, int(arr.size)
    return _as_float(name, values), None, 1


def record_claim(id: str, *, measured: Any, predicted: Any, control: tuple[Any, Any] | None = None,
                 tolerance: float | None = None, table: Path | str | None = None) -> Claim:
    r"""Check a declared claim with the notebook's numbers, append it to the ledger and show it.

    The claim's statement, source, comparison, tolerance and negative control come from its
    chapter's table (``claims.yml``, see :func:`load_claims_table`); a notebook supplies only the
    numbers, usually through :func:`check_claim`. The measured and predicted values (and the
    control's) are glued as ``<id>.measured``, ``<id>.predicted``, ``<id>.control`` so that the
    prose can quote them (``{glue:text}`jin.order.measured:.2f```).

    Parameters
    ----------
    id : str
        Claim id, declared in the table.
    measured : float or sequence of float
        What the notebook measured, or one value per problem draw (the claim is then judged on the
        median, and the smallest and largest are reported). NaN or infinity makes it fail.
    predicted : float or sequence of float
        What the theorem or derivation predicts, evaluated on the same quantities (one per draw,
        or one for all); finite.
    control : tuple
        ``(measured, predicted)``: the same measurement and prediction on the control's setup
        (numbers, or one per draw).
    tolerance : float, optional
        Only for a claim whose table entry says ``tolerance: computed`` (and forbidden otherwise).
    table : str or Path, optional
        The claims table to read (default: ``claims.yml`` of the notebook's chapter).

    Returns
    -------
    Claim
        The recorded claim, with ``passed``, ``control_passed`` and ``message`` computed.

    Raises
    ------
    ValueError
        For an id not declared in the table, a missing control, a missing or superfluous
        ``tolerance``, a non-finite prediction, or (under the runner) an id already recorded by
        this notebook. Interactively, re-recording an id replaces the earlier record.

    Notes
    -----
    The ledger is ``<output_dir>/claims.json`` where ``output_dir`` comes from the runner
    (``MATSENSE_OUTPUT_DIR``) or is ``_build/interactive`` outside it; it is rewritten atomically.
    """
    ctx = current_context()
    path_table = Path(table) if table is not None else _find_table(ctx)
    declared = load_claims_table(path_table)
    if id not in declared:
        raise ValueError(f"claim {id!r} is not declared in {path_table}; declared: {sorted(declared)}")
    d = declared[id]
    if d.tolerance is None and tolerance is None:
        raise ValueError(f"claim {id!r}: {path_table} says tolerance: computed, so pass tolerance=")
    if d.tolerance is not None and tolerance is not None:
        raise ValueError(f"claim {id!r}: its tolerance is {d.tolerance:g} in {path_table}; do not "
                         "pass tolerance= (declare it 'computed' there to compute it)")
    if d.control is None:
        raise ValueError(f"claim {id!r} has no negative control in {path_table}: declare "
                         "control: {breaks: <the hypothesis it violates>, setup: {...}}")
    if control is None or len(control) != 2:
        raise ValueError(f"claim {id!r} declares a negative control ({d.control.breaks}): pass "
                         "control=(measured, predicted) on the control's setup, or use check_claim")
    m, spread, draws = _aggregate("measured", measured)
    p = _aggregate("predicted", predicted)[0]
    cm, cp = _aggregate("control measured", control[0])[0], _aggregate("control predicted", control[1])[0]
    claim = Claim(id=id, statement=d.statement, measured=m, predicted=p,
                  tolerance=d.tolerance if tolerance is None else tolerance,
                  comparison=d.comparison, units=d.units, notebook=ctx.notebook, mode=ctx.mode,
                  source=d.source, reason=d.reason, draws=draws, spread=spread,
                  control=d.control.breaks, control_measured=cm, control_predicted=cp)
    path = _claims_path(ctx.output_dir)
    records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    if any(r.get("id") == claim.id for r in records):
        if ctx.in_runner:
            raise ValueError(f"claim id {claim.id!r} is recorded twice by notebook {ctx.notebook!r}")
        records = [r for r in records if r.get("id") != claim.id]
    records.append(claim.to_dict())
    atomic_write_json(path, records)
    _glue(f"{id}.measured", claim.measured)
    _glue(f"{id}.predicted", claim.predicted)
    _glue(f"{id}.control", claim.control_measured)
    _show(claim)
    return claim


def check_claim(id: str, measure: Callable[[Any], tuple[Any, Any]], setup: Any, *,
                tolerance: float | None = None, table: Path | str | None = None) -> Claim:
    r"""Measure a declared claim on every problem draw of ``setup`` and on its negative control.

    ``measure(setup) -> (measured, predicted)`` is a library function of one setup (one problem
    draw). It is evaluated on each draw of :func:`matsense.setups.draws` (``setup.n_draws``
    problems, the first being ``setup`` itself) and on the same draws of the control's setup
    (``setup`` with the fields of the claim's ``control.setup`` replaced), then
    :func:`record_claim` judges the median and checks that the control fails.

    Parameters
    ----------
    id : str
        Claim id, declared in the chapter's ``claims.yml``.
    measure : callable
        ``setup -> (measured, predicted)``.
    setup : object
        The chapter's setup (a frozen dataclass of :mod:`matsense.setups`).
    tolerance : float, optional
        Only for ``tolerance: computed`` claims.
    table : str or Path, optional
        The claims table (default: ``claims.yml`` of the notebook's chapter).
    """
    from .setups import draws, with_overrides

    if not callable(measure):
        raise TypeError(f"measure must be a function setup -> (measured, predicted), got {measure!r}")
    ctx = current_context()
    path_table = Path(table) if table is not None else _find_table(ctx)
    declared = load_claims_table(path_table)
    if id not in declared:
        raise ValueError(f"claim {id!r} is not declared in {path_table}; declared: {sorted(declared)}")
    if declared[id].control is None:
        raise ValueError(f"claim {id!r} has no negative control in {path_table}: declare "
                         "control: {breaks: <the hypothesis it violates>, setup: {...}}")
    control_setup = with_overrides(setup, declared[id].control.setup)
    main = [measure(s) for s in draws(setup)]
    ctrl = [measure(s) for s in draws(control_setup)]
    return record_claim(id, measured=[m for m, _ in main], predicted=[p for _, p in main],
                        control=([m for m, _ in ctrl], [p for _, p in ctrl]),
                        tolerance=tolerance, table=path_table)


# -- readable tests (B2: claims tables and report) ----------------------------------------------

def describe_test(comparison: str, predicted: float, tolerance: float) -> str:
    """When a measured value passes, in words and numbers (no arithmetic left to the reader).

    ``abs`` with tolerance 0: ``"= 4 (exact)"``; ``abs``: ``"0.73 ± 0.05"``; ``rel``:
    ``"0.73 ± 10 %"``; ``le``: ``"≤ 0.1"``, or ``"≤ 0.8 (prediction 0.73, tolerance 0.07)"`` when
    both are non-zero; ``ge`` likewise with ``≥``.

    Raises
    ------
    ValueError
        If ``comparison`` is not one of :data:`COMPARISONS`.
    """
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison={comparison!r} must be one of {COMPARISONS}")
    p, tol = float(predicted), float(tolerance)
    if comparison == "abs":
        return f"= {p:.4g} (exact)" if tol == 0 else f"{p:.4g} ± {tol:g}"
    if comparison == "rel":
        return f"= {p:.4g} (exact)" if tol == 0 else f"{p:.4g} ± {100 * tol:.3g} %"
    bound = p + tol if comparison == "le" else p - tol
    text = f"{_SYMBOL[comparison]} {bound:.4g}"
    if tol != 0 and p != 0:
        text += f" (prediction {p:.4g}, tolerance {tol:g})"
    return text


