r"""Claims ledger: a notebook states what a paper predicts and records what it measured.

A *claim* is one number checked against a prediction with an explicit tolerance:

.. math::

    \text{rel:}\ |m - p| \le \tau\,|p|, \qquad
    \text{abs:}\ |m - p| \le \tau, \qquad
    \text{le:}\ m \le p + \tau, \qquad
    \text{ge:}\ m \ge p - \tau,

with measured value :math:`m`, predicted value :math:`p` and tolerance :math:`\tau \ge 0`.
:func:`record_claim` decides pass or fail from the numbers (a non-finite measurement always
fails), appends the claim to the notebook's ``claims.json`` in the run's output directory, and
shows a one-row table in the notebook. The runner merges every notebook's claims into
``_build/claims.json`` (full mode) or ``_build/quick/claims.json`` (quick mode) and fails when a
claim fails, unless ``book/known_deviations.yml`` declares it for that mode.

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
from typing import Any

from .book._io import atomic_write_json
from .book.context import current_context
from ._ipython import already_shown, display_once

__all__ = ["Claim", "record_claim", "load_claims", "CLAIM_PREFIXES", "COMPARISONS",
           "validate_claim_id"]

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
    passed : bool
        Whether the comparison holds. A non-finite ``measured`` never passes.
    message : str
        The comparison written out with its numbers, or why the claim fails.
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
    passed: bool = field(init=False)
    message: str = field(init=False)

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
        for name, value in (("measured", measured), ("predicted", predicted),
                            ("tolerance", tolerance), ("passed", passed), ("message", message)):
            object.__setattr__(self, name, value)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (non-finite ``measured`` is written as ``"nan"``/``"inf"``)."""
        d = asdict(self)
        d["measured"] = _encode_float(self.measured)
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
                    notebook=d.get("notebook", "interactive"), mode=d.get("mode", "interactive"))
        if "passed" in d and bool(d["passed"]) != claim.passed:
            raise ValueError(f"claim {claim.id!r}: stored passed={d['passed']} disagrees with "
                             f"its numbers ({claim.message})")
        return claim

    # -- display ---------------------------------------------------------------------------------
    @property
    def test(self) -> str:
        """The comparison in words, e.g. ``"rel. tol. 0.1"`` or ``"≤ predicted + 0"``."""
        if self.comparison == "rel":
            return f"≈ predicted, rel. tol. {self.tolerance:g}"
        if self.comparison == "abs":
            return f"≈ predicted, abs. tol. {self.tolerance:g}"
        sign = "+" if self.comparison == "le" else "-"
        return f"{_SYMBOL[self.comparison]} predicted {sign} {self.tolerance:g}"

    def _repr_html_(self) -> str:
        units = f" {html.escape(self.units)}" if self.units else ""
        status = ("<span style='color:#1a7f37'>&#10003; pass</span>" if self.passed
                  else "<span style='color:#cf222e'>&#10007; FAIL</span>")
        cells = [f"<code>{html.escape(self.id)}</code>", html.escape(self.statement),
                 f"{self.measured:.4g}{units}", f"{self.predicted:.4g}{units}",
                 html.escape(self.test), status]
        head = "".join(f"<th>{h}</th>" for h in
                       ("claim", "statement", "measured", "predicted", "test", "status"))
        row = "".join(f"<td>{c}</td>" for c in cells)
        return (f"<table class='matsense-claim'><thead><tr>{head}</tr></thead>"
                f"<tbody><tr>{row}</tr></tbody></table>")

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


def record_claim(id: str, statement: str, *, measured: float, predicted: float,
                 tolerance: float, comparison: str = "rel", units: str | None = None) -> Claim:
    r"""Check a claim, append it to the notebook's ledger and show it in the notebook.

    Parameters
    ----------
    id : str
        Claim id: ``jin.``, ``xiong.``, ``wind.``, ``beyond.`` or ``found.`` followed by lowercase
        letters, digits, ``-``, ``_`` or ``.``. Unique within the book.
    statement : str
        The claim in words, e.g. "the plateau lasts about log(1/alpha)/(eta sigma_1) steps".
    measured : float
        What the notebook measured. NaN or infinity makes the claim fail (never pass).
    predicted : float
        What the paper (or our analysis) predicts; must be finite.
    tolerance : float
        Non-negative tolerance, relative or absolute according to ``comparison``.
    comparison : {"rel", "abs", "le", "ge"}
        ``rel``: :math:`|m-p| \le \tau|p|`; ``abs``: :math:`|m-p| \le \tau`;
        ``le``: :math:`m \le p+\tau`; ``ge``: :math:`m \ge p-\tau`.
    units : str, optional
        Units of ``measured`` and ``predicted``.

    Returns
    -------
    Claim
        The recorded claim, with ``passed`` and ``message`` computed.

    Raises
    ------
    ValueError
        For a malformed id, an empty statement, an unknown comparison, a negative or non-finite
        tolerance, a non-finite prediction, or (under the runner) an id already recorded by this
        notebook. Interactively, re-recording an id replaces the earlier record.

    Notes
    -----
    The ledger is ``<output_dir>/claims.json`` where ``output_dir`` comes from the runner
    (``MATSENSE_OUTPUT_DIR``) or is ``_build/interactive`` outside it; it is rewritten atomically.
    """
    ctx = current_context()
    claim = Claim(id=id, statement=statement, measured=measured, predicted=predicted,
                  tolerance=tolerance, comparison=comparison, units=units,
                  notebook=ctx.notebook, mode=ctx.mode)
    path = _claims_path(ctx.output_dir)
    records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    if any(r.get("id") == claim.id for r in records):
        if ctx.in_runner:
            raise ValueError(f"claim id {claim.id!r} is recorded twice by notebook {ctx.notebook!r}")
        records = [r for r in records if r.get("id") != claim.id]
    records.append(claim.to_dict())
    atomic_write_json(path, records)
    _show(claim)
    return claim
