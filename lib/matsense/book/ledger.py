"""The book's claims ledger: merge every notebook's claims, judge them against known deviations.

``book/known_deviations.yml`` maps a claim id to ``{reason, modes}``. After a run a claim is

* ``pass`` when it passes and is not declared for the mode;
* ``known deviation`` when it fails and is declared for the mode (with its reason);
* ``cannot fail`` (an **error**) when its negative control passes too: the measurement does not
  discriminate, so it says nothing about the paper;
* an **error** when it fails without a declaration, or passes although declared (strict: the
  declaration must be removed), or is declared but was recorded by no notebook, or (with
  ``require_controls``) was recorded without a negative control.

Every claim a chapter declares in its table (``book/<chapter>/claims.yml``) must be recorded when
all of the chapter's notebooks run (:func:`check_declared`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .yamlfile import load_yaml

from ..claims import CLAIMS_TABLE, Claim, load_claims, load_claims_table, validate_claim_id

__all__ = ["Deviation", "JudgedClaim", "load_known_deviations", "collect_claims", "judge",
           "ledger_document", "ChapterClaims", "load_declared_claims", "check_declared"]


@dataclass(frozen=True)
class Deviation:
    """A declared known deviation: why the claim fails, and in which modes."""

    id: str
    reason: str
    modes: tuple[str, ...]


@dataclass(frozen=True)
class JudgedClaim:
    """A claim with its status in the ledger: ``pass``, ``fail`` or ``known deviation``."""

    claim: Claim
    status: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The claim's record plus ``status`` and ``reason``."""
        return {**self.claim.to_dict(), "status": self.status, "reason": self.reason}


def load_known_deviations(path: Path) -> dict[str, Deviation]:
    """Read ``book/known_deviations.yml`` (missing file: no deviations).

    Raises
    ------
    ValueError
        For a malformed id, an empty reason, or modes other than quick and full.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    data = load_yaml(path) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping claim id -> {{reason, modes}}")
    out = {}
    for cid, entry in data.items():
        validate_claim_id(cid)
        if not isinstance(entry, dict) or set(entry) - {"reason", "modes"}:
            raise ValueError(f"{path}: {cid}: expected exactly the keys reason and modes")
        reason, modes = entry.get("reason"), entry.get("modes")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path}: {cid}: reason must be a non-empty string")
        if (not isinstance(modes, list) or not modes
                or any(m not in ("quick", "full") for m in modes)):
            raise ValueError(f"{path}: {cid}: modes={modes!r} must be a non-empty list of "
                             "'quick' and 'full'")
        out[cid] = Deviation(id=cid, reason=reason.strip(), modes=tuple(modes))
    return out


def collect_claims(claim_files: Iterable[tuple[str, Path]]) -> tuple[list[Claim], list[str]]:
    """Read each notebook's ``claims.json`` (in the order given) and merge them.

    Returns the claims and the errors found (unreadable files, ids recorded by two notebooks).
    """
    claims: list[Claim] = []
    errors: list[str] = []
    owner: dict[str, str] = {}
    for notebook, path in claim_files:
        if not Path(path).is_file():
            continue
        try:
            loaded = load_claims(path)
        except ValueError as exc:
            errors.append(f"{notebook}: unreadable claims ledger {path}: {exc}")
            continue
        for claim in loaded:
            if claim.id in owner:
                errors.append(f"claim id {claim.id!r} is recorded by both {owner[claim.id]} and "
                              f"{notebook}: ids must be unique in the book")
                continue
            owner[claim.id] = notebook
            claims.append(claim)
    return claims, errors


def judge(claims: list[Claim], deviations: dict[str, Deviation], mode: str, *,
          complete: bool = True, deviations_file: str = "book/known_deviations.yml",
          require_controls: bool = False) -> tuple[list[JudgedClaim], list[str]]:
    """Status of every claim in ``mode`` and the errors that fail the run.

    Parameters
    ----------
    claims : list of Claim
        The merged claims of the run.
    deviations : dict
        Declared known deviations (:func:`load_known_deviations`).
    mode : str
        The run mode.
    complete : bool
        Whether every notebook ran (then a declaration that no claim matches is an error).
    require_controls : bool
        Whether a claim recorded without a negative control is an error (the runner sets it).
    """
    judged, errors = [], []
    for claim in claims:
        if claim.control is None and require_controls:
            judged.append(JudgedClaim(claim, "fail", "no negative control"))
            errors.append(f"claim {claim.id} ({claim.notebook}) has no negative control: declare "
                          "one in its chapter's claims.yml")
            continue
        if claim.control_passed:
            judged.append(JudgedClaim(claim, "cannot fail", claim.control))
            errors.append(f"claim {claim.id} ({claim.notebook}) cannot fail: its negative control "
                          f"({claim.control}) passes too (measured {claim.control_measured:.4g}, "
                          f"predicted {claim.control_predicted:.4g}); make the measurement "
                          "discriminate, or choose a control that breaks the claim's hypothesis")
            continue
        dev = deviations.get(claim.id)
        declared = dev is not None and mode in dev.modes
        if claim.passed and declared:
            judged.append(JudgedClaim(claim, "pass"))
            errors.append(f"claim {claim.id} ({claim.notebook}) passes in {mode} mode, but "
                          f"{deviations_file} declares it a known deviation for {mode} mode: "
                          "remove the declaration (or its mode)")
        elif claim.passed:
            judged.append(JudgedClaim(claim, "pass"))
        elif declared:
            judged.append(JudgedClaim(claim, "known deviation", dev.reason))
        else:
            judged.append(JudgedClaim(claim, "fail"))
            errors.append(f"claim {claim.id} ({claim.notebook}) fails in {mode} mode: "
                          f"{claim.message}. Fix it, or declare it in {deviations_file} "
                          "with a reason")
    if complete:
        recorded = {c.id for c in claims}
        for cid, dev in sorted(deviations.items()):
            if mode in dev.modes and cid not in recorded:
                errors.append(f"{deviations_file} declares {cid} for {mode} mode, but no "
                              "notebook recorded that claim: remove the declaration or fix its id")
    return judged, errors


def ledger_document(judged: list[JudgedClaim], mode: str, git_commit: str) -> dict[str, Any]:
    """The content of ``claims.json`` for the whole book."""
    return {"mode": mode, "git_commit": git_commit,
            "claims": [j.to_dict() for j in judged]}


@dataclass(frozen=True)
class ChapterClaims:
    """The claims table of one chapter folder and the notebooks of the book in that folder."""

    table: Path
    ids: tuple[str, ...]
    notebooks: tuple[str, ...]


def load_declared_claims(root: Path, documents: Iterable[Any]) -> list[ChapterClaims]:
    """Every chapter's declared claims (a chapter is a folder holding notebooks and ``claims.yml``).

    Raises
    ------
    ValueError
        For a malformed table (see :func:`matsense.claims.load_claims_table`).
    """
    by_folder: dict[Path, list[str]] = {}
    for doc in documents:
        if getattr(doc, "notebook", False):
            by_folder.setdefault(Path(doc.path).parent, []).append(doc.name)
    out = []
    for folder, names in by_folder.items():
        table = folder / CLAIMS_TABLE
        if table.is_file():
            load_yaml(table, root)  # malformed YAML: a one-line error naming the file and line
            out.append(ChapterClaims(table=table.relative_to(root) if table.is_relative_to(root) else table,
                                     ids=tuple(load_claims_table(table)), notebooks=tuple(names)))
    return out


def check_declared(chapters: list[ChapterClaims], claims: list[Claim], *, ran: set[str]) -> list[str]:
    """Errors for declared claims that no notebook of a fully run chapter recorded."""
    recorded = {c.id for c in claims}
    errors = []
    for ch in chapters:
        if not set(ch.notebooks) <= ran:
            continue
        for cid in ch.ids:
            if cid not in recorded:
                errors.append(f"{ch.table} declares claim {cid}, but no notebook of the chapter "
                              "recorded it: record it, or remove its declaration")
    return errors
