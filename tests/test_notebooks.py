"""The book itself, in quick mode: every notebook of ``_toc.yml`` runs through the real runner.

One session-wide run of ``python -m matsense.book run --mode quick`` (with the cache, and the
HTML build, so any Sphinx warning fails here too), then: each notebook executed without error,
stderr output or warning; every claim passes or is a declared known deviation (strictly); every
entry of ``book/figures.yml`` was produced by this run, with its claims recorded; the figures are
numbered and captioned in the HTML; the notebook sources carry no outputs and a parameters cell
with only ``quick``, ``seed`` and at most one more name. The quick book is also run on two other
seeds (other problem draws), where every claim must pass too; every claim's negative control fails.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from matsense.book.params import parameter_names
from matsense.book.registry import load_registry
from matsense.book.runner import Layout, RunOptions, run_book
from matsense.book.toc import read_toc
from matsense.provenance import figure_label

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [d.name for d in read_toc(ROOT) if d.notebook]
REGISTRY = load_registry(ROOT / "book" / "figures.yml", NOTEBOOKS)


@pytest.fixture(scope="session")
def quick_run():
    out = io.StringIO()
    summary = run_book(RunOptions(root=ROOT, mode="quick", progress=False), out=out)
    return summary, out.getvalue()


#: Seeds besides the default on which the whole book is also run in quick mode: every claim must
#: hold for other problem draws, not only the default one.
EXTRA_SEEDS = (1, 2)


@pytest.fixture(scope="session", params=EXTRA_SEEDS, ids=lambda s: f"seed{s}")
def seeded_run(request):
    out = io.StringIO()
    summary = run_book(RunOptions(root=ROOT, mode="quick", progress=False, build_html=False,
                                  seed=request.param), out=out)
    return request.param, summary, out.getvalue()


def test_the_book_holds_on_other_problem_draws(seeded_run):
    seed, summary, text = seeded_run
    assert summary.ok, "\n" + text
    ledger = json.loads(Layout(ROOT, "quick", seed).claims.read_text())
    assert ledger["claims"] and all(c["status"] == "pass" for c in ledger["claims"]), text
    run = json.loads(Layout(ROOT, "quick", seed).run_record.read_text())["notebooks"]
    assert all(nb["parameters"]["seed"] == seed for nb in run.values())


def test_every_claim_has_a_failing_negative_control(quick_run):
    claims = json.loads(Layout(ROOT, "quick").claims.read_text())["claims"]
    assert claims
    weak = [c["id"] for c in claims if c.get("control") is None or c.get("control_passed") is not False]
    assert not weak, weak


def test_the_book_builds_in_quick_mode(quick_run):
    summary, text = quick_run
    assert summary.ok, "\n" + text
    assert (Layout(ROOT, "quick").html / "index.html").is_file()
    assert (Layout(ROOT, "quick").html / "book" / "report.html").is_file()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_cleanly(quick_run, notebook):
    summary, _ = quick_run
    row = next(r for r in summary.rows if r["notebook"] == notebook)
    assert row["status"] == "ok", row["message"]


def test_claims_pass_or_are_declared_deviations(quick_run):
    summary, _ = quick_run
    ledger = json.loads(Layout(ROOT, "quick").claims.read_text())
    assert ledger["mode"] == "quick"
    bad = [c for c in ledger["claims"] if c["status"] not in ("pass", "known deviation")]
    assert not bad, bad
    assert not [e for e in summary.errors if "claim" in e], summary.errors


@pytest.mark.parametrize("entry", REGISTRY, ids=[f"{e.notebook}:{e.figure}" for e in REGISTRY])
def test_registered_figure_was_produced_by_this_run(quick_run, entry):
    lay = Layout(ROOT, "quick")
    sidecar = lay.output_dir(entry.notebook) / "figures" / f"{entry.figure}.json"
    assert sidecar.is_file(), f"{entry.notebook} did not save figure {entry.figure!r}"
    record = json.loads(sidecar.read_text())
    run = json.loads(lay.run_record.read_text())["notebooks"][entry.notebook]
    assert record["cache_key"] == run["key"] and record["parameters"] == run["parameters"]
    assert record["mode"] == "quick"
    assert (sidecar.with_suffix(".png")).is_file()
    recorded = {c["id"] for c in json.loads(lay.claims.read_text())["claims"]}
    assert set(entry.claims) <= recorded, set(entry.claims) - recorded
    page = (lay.html / f"{entry.notebook}.html").read_text()
    label = figure_label(entry.figure)
    assert f'id="{label}"' in page
    figure_html = page[page.index(f'id="{label}"'):]
    figure_html = figure_html[:figure_html.index("</figure>")]
    assert 'class="caption-number">Fig.' in figure_html and 'alt="' in figure_html


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_source_has_no_outputs_and_a_parameters_cell(notebook):
    import jupytext

    path = ROOT / f"{notebook}.md"
    assert path.is_file(), f"{notebook} must be a MyST Markdown notebook (.md)"
    nb = jupytext.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), \
        "the first code cell must be tagged 'parameters'"
    assert not any(c.get("outputs") for c in code)
    # sizes live in the chapter's setup factory: the cell holds only what a reader would change
    names = parameter_names(nb)
    assert {"quick", "seed"} <= names and len(names) <= 3, names
    params = yaml.safe_load((ROOT / "book" / "params" / "quick.yml").read_text())
    assert params.get("defaults", {}).get("quick") is True


def test_chapter_claims_tables_list_the_chapter_claims(quick_run):
    """A chapter with a ``_claims.md`` placeholder shows its claims of this run in the built page."""
    lay = Layout(ROOT, "quick")
    claims = json.loads(lay.claims.read_text())["claims"]
    for placeholder in sorted((ROOT / "book").glob("*/_claims.md")):
        chapter = placeholder.parent.relative_to(ROOT).as_posix()
        pages = [lay.html / f"{nb}.html" for nb in NOTEBOOKS if nb.startswith(chapter + "/")
                 and "_claims.md" in (ROOT / f"{nb}.md").read_text()]
        assert pages, f"no notebook of {chapter} includes _claims.md"
        ids = [c["id"] for c in claims if c["notebook"].startswith(chapter + "/")]
        text = pages[0].read_text()
        assert ids and all(cid in text for cid in ids), [c for c in ids if c not in text]
