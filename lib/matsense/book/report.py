"""The *Reproduction report* page, generated into the staged book after every run.

It lists every figure of ``book/figures.yml`` (paper figure or theorem, link to the numbered figure,
notebook, produced or missing) and every claim of the run (id, statement, measured, predicted,
test, status), grouped by notebook.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..provenance import BEYOND_THE_PAPERS, figure_label
from .ledger import JudgedClaim
from .registry import RegistryEntry

__all__ = ["render_report"]

_STATUS = {"pass": "pass", "fail": "**fail**", "known deviation": "known deviation",
           "cannot fail": "**cannot fail**"}


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: Markdown specials escaped outside ``$...$`` math."""
    parts = " ".join(str(text).split()).split("$")
    for i in range(0, len(parts), 2):  # even parts are outside math
        parts[i] = re.sub(r"([\\*_<>\[\]`])", r"\\\1", parts[i])
    return "$".join(parts).replace("|", "\\|")


def _num(x: float, units: str | None) -> str:
    s = f"{x:.4g}" if math.isfinite(x) else repr(x)
    return f"{s} {units}" if units else s


def _measured(claim: Any) -> str:
    """The measured value; for several problem draws, the median with the range and the count."""
    text = _num(claim.measured, claim.units)
    if claim.draws > 1 and claim.spread is not None:
        lo, hi = claim.spread
        text += f" (median of {claim.draws} draws, {_num(lo, None)} to {_num(hi, None)})"
    return text


def _control(claim: Any) -> str:
    """The negative control: what it breaks, its value against its prediction, and its verdict."""
    if claim.control is None:
        return "none"
    verdict = "passes too" if claim.control_passed else "fails, as it must"
    return (f"{_cell(claim.control)}: {_num(claim.control_measured, claim.units)} vs "
            f"{_num(claim.control_predicted, claim.units)}, {verdict}")


#: Name of the generated claims table of a chapter folder (a placeholder is committed next to the
#: chapter's notebooks; the runner replaces it in the staged book and a notebook includes it).
CHAPTER_CLAIMS = "_claims.md"


def _statement(claim: Any) -> str:
    """The statement, with where the prediction comes from and why the tolerance, when declared."""
    parts = [_cell(claim.statement)]
    if claim.source:
        parts.append(f"*Prediction:* {_cell(claim.source)}.")
    if claim.reason:
        parts.append(f"*Tolerance:* {_cell(claim.reason)}.")
    return " ".join(parts)


def render_chapter_claims(judged: list[JudgedClaim], chapter: str, notebooks: list[str]) -> str:
    """Markdown table of the claims recorded by the notebooks of ``chapter`` (a folder like ``book/jin``).

    Rows follow the reading order of ``notebooks``; each row links its notebook.
    """
    prefix = chapter.rstrip("/") + "/"
    order = {nb: i for i, nb in enumerate(notebooks)}
    rows = sorted((j for j in judged if j.claim.notebook.startswith(prefix)),
                  key=lambda j: order.get(j.claim.notebook, len(order)))
    if not rows:
        return "No claim of this chapter was recorded in this run.\n"
    mode = rows[0].claim.mode
    lines = [f"Claims of this chapter in this build ({mode} mode; all claims of the book are in the "
             "{ref}`reproduction report <report>`):", "",
             "| Claim | Statement | Measured | Predicted | Test | Negative control | Status |",
             "|---|---|---|---|---|---|---|"]
    for j in rows:
        c = j.claim
        status = _STATUS[j.status] + (f": {_cell(j.reason)}" if j.reason else "")
        lines.append(f"| {{doc}}`{c.id} </{c.notebook}>` | {_statement(c)} | {_measured(c)} | "
                     f"{_num(c.predicted, c.units)} | {_cell(c.test)} | {_control(c)} | {status} |")
    return "\n".join(lines) + "\n"


def render_report(*, mode: str, git_commit: str, entries: list[RegistryEntry],
                  produced: dict[tuple[str, str], dict], judged: list[JudgedClaim],
                  notebooks: list[str], sources: dict[str, str]) -> str:
    """Markdown of the report page.

    Parameters
    ----------
    mode : str
        The run mode.
    git_commit : str
        Commit the run started from.
    entries : list of RegistryEntry
        The figure registry.
    produced : dict
        Provenance records of this run by (notebook, figure name).
    judged : list of JudgedClaim
        The run's claims with their status.
    notebooks : list of str
        The notebooks of the book, in reading order.
    sources : dict
        Notebook -> ``"executed"`` or ``"cached"`` for this run.
    """
    n_pass = sum(j.status == "pass" for j in judged)
    n_dev = sum(j.status == "known deviation" for j in judged)
    n_fail = sum(j.status == "fail" for j in judged)
    n_cannot = sum(j.status == "cannot fail" for j in judged)
    n_controls = sum(j.claim.control is not None and not j.claim.control_passed for j in judged)
    n_fig = sum((e.notebook, e.figure) in produced for e in entries)
    lines = [
        "(report)=",
        "# Reproduction report",
        "",
        f"Generated by `python -m matsense.book run --mode {mode}` from commit `{git_commit[:12]}`. "
        f"Every notebook of the book was run in **{mode}** mode "
        f"({sum(v == 'executed' for v in sources.values())} executed, "
        f"{sum(v == 'cached' for v in sources.values())} served from the cache, whose key covers "
        "the notebook, its parameters, its chapter's claims table, the library's source and the "
        "installed packages).",
        "",
        f"- Figures: {n_fig} of {len(entries)} registered figures produced.",
        f"- Claims: {len(judged)} recorded, {n_pass} pass, {n_dev} known deviations, "
        f"{n_fail} fail, {n_cannot} cannot fail. {n_controls} of {len(judged)} have a negative "
        "control (the same measurement where a hypothesis of the claim is broken) that fails, as "
        "it must: those claims discriminate.",
        "",
        "## Figures",
        "",
    ]
    if entries:
        lines += ["| Paper | Figure | Notebook | Status | Claims |", "|---|---|---|---|---|"]
        for e in entries:
            rec = produced.get((e.notebook, e.figure))
            paper = "beyond the papers" if e.paper_ref == BEYOND_THE_PAPERS else e.paper_ref
            if rec is not None:
                fig = f"{{numref}}`{figure_label(e.figure)}`"
                status = f"produced ({sources.get(e.notebook, 'executed')})"
            else:
                fig, status = f"`{e.figure}`", "❌ **missing**"
            claims = ", ".join(f"`{c}`" for c in e.claims) or "–"
            lines.append(f"| {_cell(paper)} | {fig} | {{doc}}`/{e.notebook}` | {status} "
                         f"| {claims} |")
    else:
        lines.append("No figure is registered in `book/figures.yml` yet.")
    lines += ["", "## Claims", ""]
    if not judged:
        lines.append("No claim was recorded in this run.")
    by_nb: dict[str, list[JudgedClaim]] = {}
    for j in judged:
        by_nb.setdefault(j.claim.notebook, []).append(j)
    for nb in [n for n in notebooks if n in by_nb] + sorted(set(by_nb) - set(notebooks)):
        lines += [f"### {{doc}}`/{nb}`" if nb in notebooks else f"### `{nb}`", "",
                  "| Claim | Statement | Measured | Predicted | Test | Negative control | Status |",
                  "|---|---|---|---|---|---|---|"]
        for j in by_nb[nb]:
            c = j.claim
            status = _STATUS[j.status] + (f": {_cell(j.reason)}" if j.reason else "")
            lines.append(f"| `{c.id}` | {_statement(c)} | {_measured(c)} | "
                         f"{_num(c.predicted, c.units)} | {_cell(c.test)} | {_control(c)} | {status} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
