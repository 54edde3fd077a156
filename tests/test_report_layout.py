"""The claims tables and the report page as a reader sees them (issue 13, tables and landing page).

Narrow tables (four columns, no long unbreakable tokens), claim ids linked to their entry on the
report page, one status mark without emoji, exact checks in words, and the results-at-a-glance
block that the landing page includes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from matsense.book.ledger import JudgedClaim
from matsense.book.registry import RegistryEntry
from matsense.book.report import (GLANCE_END, GLANCE_START, STATUS_MARK, claim_label,
                                  render_chapter_claims, render_report)
from matsense.claims import Claim, describe_test

ROOT = Path(__file__).resolve().parents[1]
#: Non-ASCII characters a generated page may contain (marks, math signs, dashes), none an emoji.
ALLOWED = set("✓✗○±≤≥–—·’")


def _claim(cid, nb, measured, predicted, tol, comparison, **kw):
    return Claim(cid, f"Statement of {cid}, long enough to wrap over several lines of the column "
                      "when the table is shown in the book.", measured, predicted, tol, comparison,
                 notebook=nb, mode="quick", **kw)


@pytest.fixture
def judged():
    ctrl = {"control": "the eigengap (sigma = (1, 1, 1))", "control_measured": 0.5,
            "control_predicted": 0.0}
    return [
        JudgedClaim(_claim("jin.order", "book/jin/a", 4.0, 4.0, 0.0, "abs", draws=3, spread=(4.0, 4.0),
                           source="Theorem 4.1", reason="an exact count", **ctrl), "pass"),
        JudgedClaim(_claim("jin.approach.s1", "book/jin/b", 0.007, 0.0, 0.1, "le", **ctrl), "pass"),
        JudgedClaim(_claim("jin.bias", "book/jin/b", 0.09, 0.01, 0.0, "ge", **ctrl), "pass"),
        JudgedClaim(_claim("jin.rate", "book/jin/b", 0.9, 1.0, 0.05, "ge"), "known deviation",
                    "too few steps in quick mode"),
        JudgedClaim(_claim("xiong.rate", "book/xiong/c", 2.0, 1.0, 0.1, "rel", **ctrl), "fail"),
    ]


NOTEBOOKS = ["book/jin/a", "book/jin/b", "book/xiong/c"]


def _report(judged, **kw):
    entries = [RegistryEntry(notebook="book/jin/a", figure="jin-a", paper_ref="Figure 1 of Jin et al.",
                             claims=("jin.order", "jin.unrecorded")),
               RegistryEntry(notebook="book/jin/b", figure="jin-b", paper_ref="beyond the papers",
                             claims=())]
    produced = {("book/jin/a", "jin-a"): {}}
    return render_report(mode="quick", git_commit="0123456789abcdef", entries=entries,
                         produced=produced, judged=judged, notebooks=NOTEBOOKS,
                         sources={n: "executed" for n in NOTEBOOKS}, **kw)


def _table_rows(text):
    return [line for line in text.splitlines() if line.startswith("|")]


def _cells(row):
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_exact_checks_read_as_words():
    assert describe_test("abs", 4, 0) == "= 4 (exact)"
    assert describe_test("le", 0, 0.1) == "≤ 0.1"
    assert describe_test("ge", 0.01, 0) == "≥ 0.01"
    assert describe_test("ge", 1, 0.05) == "≥ 0.95 (prediction 1, tolerance 0.05)"
    assert describe_test("rel", 0.7293, 0.1) == "0.7293 ± 10 %"
    assert describe_test("abs", 0.7293, 0.05) == "0.7293 ± 0.05"
    with pytest.raises(ValueError, match="comparison"):
        describe_test("eq", 1, 0)


def test_chapter_table_is_narrow_and_links_every_claim_to_the_report(judged):
    text = render_chapter_claims(judged, "book/jin", NOTEBOOKS)
    rows = _table_rows(text)
    assert len(rows) == 2 + 4                                   # header, rule, four jin claims
    assert all(len(_cells(r)) == 3 for r in rows)
    assert ":class: matsense-claims" in text                  # fixed column widths (matsense.css)
    css = (ROOT / "book" / "_static" / "matsense.css").read_text(encoding="utf-8")
    assert "table.matsense-claims" in css and "table.matsense-figures" in css
    report = _report(judged)
    for cid in ("jin.order", "jin.approach.s1", "jin.bias", "jin.rate"):
        assert f"{{ref}}`{cid} <{claim_label(cid)}>`" in text
        assert f"({claim_label(cid)})=" in report                # the link's target exists
    assert "xiong.rate" not in text
    for row in rows[2:]:                                         # no token too long to wrap
        words = re.sub(r"\{ref\}`[^`]*`", "id", row).split()
        assert max(len(w) for w in words) <= 40, row


def test_one_status_mark_and_no_emoji(judged):
    for text in (render_chapter_claims(judged, "book/jin", NOTEBOOKS), _report(judged)):
        assert not set(ch for ch in text if ord(ch) > 127) - ALLOWED
        for old in ("❌", "✅", "abs. tol", "rel. tol", "predicted - 0", "predicted + 0"):
            assert old not in text
    table = render_chapter_claims(judged, "book/jin", NOTEBOOKS)
    assert STATUS_MARK["pass"] in table and STATUS_MARK["known deviation"] in table
    assert "= 4 (exact)" in table and "≤ 0.1" in table and "≥ 0.01" in table
    assert "too few steps in quick mode" in table
    assert STATUS_MARK["fail"] in _report(judged)


def test_report_gives_each_claim_an_entry_with_its_details(judged):
    report = _report(judged)
    for j in judged:
        assert report.count(f"({claim_label(j.claim.id)})=") == 1
        assert f"#### `{j.claim.id}`" in report
    assert "Theorem 4.1" in report and "an exact count" in report
    assert "it fails, as it must" in report
    assert "median of 3 draws, range 4 to 4" in report
    # the report groups the claims by notebook in reading order
    assert report.index("### {doc}`/book/jin/a`") < report.index("### {doc}`/book/jin/b`") \
        < report.index("### {doc}`/book/xiong/c`")


def test_report_figure_table_is_narrow_and_links_recorded_claims(judged):
    report = _report(judged)
    fig_rows = _table_rows(report.split("## Figures")[1].split("## Claims")[0])
    assert all(len(_cells(r)) == 4 for r in fig_rows)
    assert "{numref}`fig-jin-a`" in report and "✓ produced (executed)" in report
    assert "**✗ missing**" in report and "beyond the papers" in report
    assert f"{{ref}}`jin.order <{claim_label('jin.order')}>`" in report
    assert "`jin.unrecorded`" in report                          # not recorded: no dangling link


def test_results_at_a_glance_block(judged):
    report = _report(judged, timings={n: 60.0 for n in NOTEBOOKS})
    block = report.split(GLANCE_START)[1].split(GLANCE_END)[0]
    assert "**3 of 5 claims pass** (1 known deviations, 1 failing)" in block
    assert "**1 of 2 figures regenerated**" in block
    assert "3 notebooks run in quick mode (3 executed" in block
    assert "Computing time of the notebooks: 3.0 min" in block
    assert "`0123456789ab`" in block
    assert "(" + "report" + ")=" not in block                    # no label: it is included elsewhere
    assert "Computing time" not in _report(judged)               # only when the timings are known


def test_landing_page_includes_the_glance_block_of_the_report():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    placeholder = (ROOT / "book" / "report.md").read_text(encoding="utf-8")
    assert f":start-after: {GLANCE_START}" in intro and f":end-before: {GLANCE_END}" in intro
    assert GLANCE_START in placeholder and GLANCE_END in placeholder


def test_inline_claim_display_has_two_columns():
    c = _claim("jin.order", "book/jin/a", 4.0, 4.0, 0.0, "abs", control="the eigengap",
               control_measured=0.5, control_predicted=0.0)
    html = c._repr_html_()
    assert html.count("<td>") == 2 and "✓ pass" in html
    assert "passes if = 4 (exact)" in html and "fails, as it must" in html


# -- the bibliography: one author-year style, a link in every entry ---------------------------------

def test_every_reference_has_an_arxiv_link_a_doi_or_a_url():
    from pybtex.database import parse_file
    db = parse_file(str(ROOT / "book" / "references.bib"))
    lacking = [k for k, e in db.entries.items()
               if not any(f in e.fields for f in ("eprint", "doi", "url"))]
    assert not lacking, f"references without an arXiv id, DOI or URL: {lacking}"


def test_reference_list_labels_are_author_year_like_the_text():
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin
    from matsense.book import bibstyle
    bibstyle.setup(None)
    db = parse_file(str(ROOT / "book" / "references.bib"))
    style = find_plugin("pybtex.style.formatting", "matsense")()
    labels = {e.key: e.label for e in style.format_entries(db.entries.values())}
    assert labels["jin2023"] == "Jin et al., 2023"
    assert labels["stoger2021"] == "Stöger and Soltanolkotabi, 2021"
    assert labels["wind2023"].startswith("Wind, 20")
    assert len(set(labels.values())) == len(labels)                 # a, b, ... for equal labels
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert "bibtex_reference_style: author_year" in config and "bibtex_default_style: matsense" in config
    assert "matsense.book.bibstyle" in config
