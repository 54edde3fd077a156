"""The *Reproduction report* page and the chapters' claims tables, generated after every run.

The report page opens with the results at a glance (claims passing, figures regenerated, computing
time; the landing page includes this block), lists every figure of ``book/figures.yml`` (paper
figure or theorem, the book's numbered figure, its claims, produced or missing) and gives every
claim of the run its own entry (statement, measured value, when it passes, where the prediction
comes from, why the tolerance, its negative control, status), grouped by notebook. Each entry has
the label :func:`claim_label`, so a chapter's claims table links every claim id to its entry.

Tables are kept narrow enough for the book's text column: a chapter's table has three columns
(claim and statement, measured and when it passes, status); the details are on the report page.
Every status carries one of the marks of :data:`STATUS_MARK` (plain text symbols, no emoji).
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from ..provenance import BEYOND_THE_PAPERS, figure_label
from .ledger import JudgedClaim
from .registry import RegistryEntry

__all__ = ["render_report", "render_chapter_claims", "claim_label", "STATUS_MARK", "CHAPTER_CLAIMS",
           "GLANCE_START", "GLANCE_END"]

#: The status of a claim as shown in every table: one mark (a plain text symbol) and a word.
STATUS_MARK = {"pass": "✓ pass", "fail": "**✗ fail**", "known deviation": "○ known deviation",
               "cannot fail": "**✗ cannot fail**"}

#: Markers around the results-at-a-glance block of the report, which the landing page includes.
GLANCE_START = "<!-- results-at-a-glance-start -->"
GLANCE_END = "<!-- results-at-a-glance-end -->"

#: Name of the generated claims table of a chapter folder (a placeholder is committed next to the
#: chapter's notebooks; the runner replaces it in the staged book and a notebook includes it).
CHAPTER_CLAIMS = "_claims.md"


def claim_label(claim_id: str) -> str:
    """The label of a claim's entry on the report page, e.g. ``claim-jin-approach-s1``."""
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", str(claim_id).lower()).strip("-")


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: Markdown specials escaped outside ``$...$`` math."""
    parts = " ".join(str(text).split()).split("$")
    for i in range(0, len(parts), 2):  # even parts are outside math
        parts[i] = re.sub(r"([\\*_<>\[\]`])", r"\\\1", parts[i])
    return "$".join(parts).replace("|", "\\|")


def _num(x: float, units: str | None = None) -> str:
    s = f"{x:.4g}" if math.isfinite(x) else ("not a number" if math.isnan(x) else repr(x))
    return f"{s} {units}" if units else s


def _measured(claim: Any) -> str:
    """The measured value; for several problem draws, the median with the range and the count."""
    text = _num(claim.measured, claim.units)
    if claim.draws > 1 and claim.spread is not None:
        lo, hi = claim.spread
        text += f" (median of {claim.draws} draws, range {_num(lo)} to {_num(hi)})"
    elif claim.draws > 1:
        text += f" (median of {claim.draws} draws)"
    return text


def _control(claim: Any) -> str:
    """The negative control: what it breaks, its value, and its verdict."""
    if claim.control is None:
        return "none"
    verdict = "passes too, so the claim cannot fail" if claim.control_passed else "fails, as it must"
    return (f"it breaks {_cell(claim.control)}; the same measurement then gives "
            f"{_num(claim.control_measured, claim.units)}, so it {verdict}")


def _status(judged: JudgedClaim) -> str:
    return STATUS_MARK[judged.status] + (f": {_cell(judged.reason)}" if judged.reason else "")


def _claim_link(claim_id: str) -> str:
    return f"{{ref}}`{claim_id} <{claim_label(claim_id)}>`"


def render_chapter_claims(judged: list[JudgedClaim], chapter: str, notebooks: list[str]) -> str:
    """Markdown table of the claims recorded by the notebooks of ``chapter`` (a folder like ``book/jin``).

    Three columns (the claim id and its statement, the measured value and when it passes, the
    status); the table has the class ``matsense-claims``, whose column widths the book's stylesheet
    fixes, so that it wraps inside the text column. Each claim id links to its entry on
    the report page, which has the prediction's source, the tolerance's reason and the negative
    control. Rows follow the reading order of ``notebooks``.
    """
    prefix = chapter.rstrip("/") + "/"
    order = {nb: i for i, nb in enumerate(notebooks)}
    rows = sorted((j for j in judged if j.claim.notebook.startswith(prefix)),
                  key=lambda j: order.get(j.claim.notebook, len(order)))
    if not rows:
        return "No claim of this chapter was recorded in this run.\n"
    mode = rows[0].claim.mode
    lines = [f"This build ran in {mode} mode. Each claim links to its entry in the "
             "{ref}`reproduction report <report>`, with the source of its prediction, the reason "
             "for its tolerance and its negative control.", "",
             "```{table}", ":class: matsense-claims", "",
             "| Claim | Measured | Status |",
             "|---|---|---|"]
    for j in rows:
        c = j.claim
        median = " (median)" if c.draws > 1 else ""
        lines.append(f"| {_claim_link(c.id)}: {_cell(c.statement)} | {_num(c.measured, c.units)}{median}; "
                     f"passes if {_cell(c.test)} | {_status(j)} |")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _glance(*, mode: str, git_commit: str, judged: list[JudgedClaim], n_fig: int, n_entries: int,
            sources: dict[str, str], timings: Mapping[str, float] | None) -> list[str]:
    """The results-at-a-glance block (between :data:`GLANCE_START` and :data:`GLANCE_END`)."""
    count = {s: sum(j.status == s for j in judged) for s in STATUS_MARK}
    n_controls = sum(j.claim.control is not None and not j.claim.control_passed for j in judged)
    others = [f"{count[s]} {name}" for s, name in (("known deviation", "known deviations"),
                                                     ("fail", "failing"), ("cannot fail", "cannot fail"))
              if count[s]]
    claims = (f"**{count['pass']} of {len(judged)} claims pass**"
              + (f" ({', '.join(others)})" if others else "")
              + f"; {n_controls} of {len(judged)} have a negative control that fails, as it must.")
    executed = sum(v == "executed" for v in sources.values())
    cached = sum(v == "cached" for v in sources.values())
    lines = [GLANCE_START, "",
             f"- {claims}",
             f"- **{n_fig} of {n_entries} figures regenerated** by this build, each with a record of "
             "the code and data that made it.",
             f"- {len(sources)} notebooks run in {mode} mode ({executed} executed in this build, "
             f"{cached} reused from the cache, whose key covers the notebook, its parameters and "
             "the library's source)."]
    if timings:
        total = sum(float(v) for v in timings.values() if v is not None and math.isfinite(float(v)))
        lines.append(f"- Computing time of the notebooks: {_duration(total)} (when each was last "
                     "executed).")
    lines += [f"- Built from commit `{git_commit[:12]}`.", "", GLANCE_END]
    return lines


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _claim_entry(j: JudgedClaim) -> list[str]:
    c = j.claim
    lines = [f"({claim_label(c.id)})=", f"#### `{c.id}`", "", _cell(c.statement), "",
             f"- **Status:** {_status(j)}",
             f"- **Measured:** {_measured(c)}; **passes if** {_cell(c.test)}"]
    if c.source:
        lines.append(f"- **Prediction from:** {_cell(c.source)}")
    if c.reason:
        lines.append(f"- **Why this tolerance:** {_cell(c.reason)}")
    lines += [f"- **Negative control:** {_control(c)}", ""]
    return lines


def render_report(*, mode: str, git_commit: str, entries: list[RegistryEntry],
                  produced: dict[tuple[str, str], dict], judged: list[JudgedClaim],
                  notebooks: list[str], sources: dict[str, str],
                  timings: Mapping[str, float] | None = None) -> str:
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
    timings : mapping, optional
        Notebook -> seconds its last execution took; when given, the results at a glance state
        the total.
    """
    n_fig = sum((e.notebook, e.figure) in produced for e in entries)
    recorded = {j.claim.id for j in judged}
    lines = [
        "(report)=",
        "# Reproduction report",
        "",
        f"Every notebook of the book was run in **{mode}** mode by "
        f"`python -m matsense.book run --mode {mode}`. The results at a glance:",
        "",
        *_glance(mode=mode, git_commit=git_commit, judged=judged, n_fig=n_fig,
                 n_entries=len(entries), sources=sources, timings=timings),
        "",
        "A *claim* is a number measured by the code and compared with the prediction of a theorem or "
        "a derivation; its *negative control* repeats the measurement on a setup that breaks a "
        "hypothesis of the claim, and must fail. A claim fails the build when it fails or when its "
        "control passes, unless it is listed as a known deviation for this mode.",
        "",
        "## Figures",
        "",
    ]
    if entries:
        lines += ["```{table}", ":class: matsense-figures", "",
                  "| Paper | Figure | Claims | Status |", "|---|---|---|---|"]
        for e in entries:
            rec = produced.get((e.notebook, e.figure))
            paper = "beyond the papers" if e.paper_ref == BEYOND_THE_PAPERS else e.paper_ref
            if rec is not None:
                fig = f"{{numref}}`{figure_label(e.figure)}`"
                status = f"✓ produced ({sources.get(e.notebook, 'executed')})"
            else:
                fig, status = f"`{e.figure}` ({{doc}}`/{e.notebook}`)", "**✗ missing**"
            claims = ", ".join(_claim_link(c) if c in recorded else f"`{c}`" for c in e.claims) or "none"
            lines.append(f"| {_cell(paper)} | {fig} | {claims} | {status} |")
        lines.append("```")
    else:
        lines.append("No figure is registered in `book/figures.yml` yet.")
    lines += ["", "## Claims", ""]
    if not judged:
        lines.append("No claim was recorded in this run.")
    by_nb: dict[str, list[JudgedClaim]] = {}
    for j in judged:
        by_nb.setdefault(j.claim.notebook, []).append(j)
    for nb in [n for n in notebooks if n in by_nb] + sorted(set(by_nb) - set(notebooks)):
        lines += [f"### {{doc}}`/{nb}`" if nb in notebooks else f"### `{nb}`", ""]
        for j in by_nb[nb]:
            lines += _claim_entry(j)
    return "\n".join(lines).rstrip() + "\n"
