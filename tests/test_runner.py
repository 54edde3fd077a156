"""Tests of the runner (matsense.book.runner and its modules) on tiny books of fixture notebooks.

Covers: parameters checked against the parameters cell; execution, caching and re-execution when
the library changes; damaged cache entries recomputed; failures (exception, stderr, warning,
failing claim) naming the notebook and the cell; known deviations and the registry, strictly;
determinism of two executions; the HTML build with a numbered, captioned figure; the CLI.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from matsense.book import runner as runner_mod
from matsense.book.cache import library_files
from matsense.book.runner import Layout, RunOptions, run_book

MINI = Path(__file__).parent / "fixtures" / "mini.md"


def run(root: Path, **kw) -> tuple[runner_mod.RunSummary, str]:
    out = io.StringIO()
    opts = dict(root=root, mode="quick", build_html=False, progress=False)
    opts.update(kw)
    summary = run_book(RunOptions(**opts), out=out)
    return summary, out.getvalue()


def sidecar(root: Path, notebook: str, figure: str | None = None) -> dict:
    figure = figure or notebook.removeprefix("book/").replace("/", "-") + "-line"
    path = Layout(root, "quick").output_dir(notebook) / "figures" / f"{figure}.json"
    return json.loads(path.read_text())


# -- setup errors (nothing executes) -------------------------------------------------------------

def test_unknown_parameter_names_notebook_and_key(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a", "not_a_parameter": 1}})
    with pytest.raises(ValueError, match=r"book/a.*\['not_a_parameter'\]"):
        run(root)


def test_a_number_yaml_reads_as_text_is_refused(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    (root / "book/params/quick.yml").write_text("book/a:\n  claim_offset: 1e-3\n")
    with pytest.raises(ValueError, match=r"claim_offset.*'1e-3'.*1\.0e-4"):
        run(root)


def test_parameters_of_an_unknown_notebook_are_refused(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    (root / "book/params/quick.yml").write_text("book/gone: {n: 3}\n")
    with pytest.raises(ValueError, match="book/gone"):
        run(root)


def test_a_notebook_needs_a_parameters_cell(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    path = root / "book/a.md"
    path.write_text(path.read_text().replace(":tags: [parameters]\n", ""))
    with pytest.raises(ValueError, match="book/a.*no code cell tagged 'parameters'"):
        run(root)


def test_only_must_name_a_notebook(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    with pytest.raises(ValueError, match="--only 'book/intro'"):
        run(root, only=("book/intro",))


def test_cli_exit_status_and_message(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a", "bogus": 2}})
    proc = subprocess.run([sys.executable, "-m", "matsense.book", "run", "--mode", "quick",
                           "--root", str(root)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "book/a" in proc.stderr and "bogus" in proc.stderr


# -- runs ------------------------------------------------------------------------------------------

def test_run_records_caches_and_reexecutes_when_the_library_changes(make_book, monkeypatch):
    root = make_book({"book/a": {"claim_id": "beyond.a", "n": 20}})
    lay = Layout(root, "quick")
    summary, text = run(root)
    assert summary.ok, summary.errors
    assert [(r["notebook"], r["status"], r["source"]) for r in summary.rows] == [
        ("book/a", "ok", "executed")]
    assert "book/a" in text and "executed" in text  # the table
    ledger = json.loads(lay.claims.read_text())
    assert ledger["mode"] == "quick"
    assert [(c["id"], c["status"]) for c in ledger["claims"]] == [("beyond.a", "pass")]
    record = json.loads(lay.run_record.read_text())["notebooks"]["book/a"]
    side = sidecar(root, "book/a")
    assert side["cache_key"] == record["key"] and side["parameters"] == record["parameters"]
    assert side["parameters"] == {"quick": True, "seed": 0, "claim_id": "beyond.a", "n": 20}
    assert json.loads(lay.timings.read_text())["notebooks"]["book/a"]["source"] == "executed"

    # nothing changed: served from the cache, outputs restored
    summary, _ = run(root)
    assert summary.ok and summary.rows[0]["source"] == "cached"
    assert sidecar(root, "book/a") == side

    # a library file changes: the key changes and the notebook runs again
    real = library_files()
    monkeypatch.setattr(runner_mod, "library_files",
                        lambda: [(r, d + b"\n# edited\n" if r == "dynamics.py" else d)
                                 for r, d in real])
    summary, _ = run(root)
    assert summary.ok and summary.rows[0]["source"] == "executed"
    assert sidecar(root, "book/a")["cache_key"] != side["cache_key"]

    # a damaged cache entry is reported, deleted and recomputed, never served
    key = json.loads(lay.run_record.read_text())["notebooks"]["book/a"]["key"]
    (lay.cache / key / "notebook.ipynb").write_text("{}")
    summary, text = run(root)
    assert summary.ok and summary.rows[0]["source"] == "executed"
    assert "was damaged" in text and "executing it again" in text


def test_failures_name_the_notebook_and_the_cell(make_book):
    root = make_book({
        "book/raise": {"claim_id": "beyond.r", "failure": "raise"},
        "book/stderr": {"claim_id": "beyond.s", "failure": "stderr"},
        "book/warn": {"claim_id": "beyond.w", "failure": "warning"},
        "book/claim": {"claim_id": "beyond.c", "claim_offset": 1.0},
    })
    summary, text = run(root)
    assert not summary.ok
    status = {r["notebook"]: r["status"] for r in summary.rows}
    assert status == {"book/raise": "failed", "book/stderr": "failed", "book/warn": "failed",
                      "book/claim": "ok"}
    errors = "\n".join(summary.errors)
    line = next(i for i, text in enumerate(MINI.read_text().splitlines(), 1)
                if text.startswith("if failure"))
    cell = f"cell 4 ('if failure == \"raise\":', raise.md line {line})"
    assert f"book/raise: {cell} raised" in errors and "RuntimeError: failing on purpose" in errors
    assert "book/stderr: cell 4" in errors and "something went wrong" in errors
    assert "book/warn: cell 4" in errors and "UserWarning: a warning on purpose" in errors
    assert "claim beyond.c (book/claim) fails in quick mode" in errors
    assert "error: book/raise" in text
    # only the notebook that ran cleanly was cached
    assert len(list((root / "_build" / "cache").glob("*/manifest.json"))) == 1


def test_known_deviations_and_registry_are_strict(make_book):
    root = make_book(
        {"book/dev": {"claim_id": "beyond.dev", "claim_offset": 1.0},
         "book/ok": {"claim_id": "beyond.ok", "figure": "unlisted"}},
        deviations={"beyond.dev": {"reason": "off by one on purpose", "modes": ["quick"]},
                    "beyond.ok": {"reason": "stale declaration", "modes": ["quick", "full"]}},
        registry=[{"paper_ref": "beyond the papers", "notebook": "book/dev", "figure": "dev-line",
                   "claims": ["beyond.dev"]},
                  {"paper_ref": "Jin et al. 2023, Fig. 1", "notebook": "book/ok", "figure": "ok-line",
                   "claims": ["beyond.never"]}])
    summary, text = run(root)
    ledger = json.loads(Layout(root, "quick").claims.read_text())
    assert {c["id"]: (c["status"], c["reason"]) for c in ledger["claims"]} == {
        "beyond.dev": ("known deviation", "off by one on purpose"),
        "beyond.ok": ("pass", None)}, text
    errors = summary.errors
    assert len(errors) == 3, errors
    assert "beyond.ok (book/ok) passes in quick mode" in errors[0]
    assert "remove the declaration" in errors[0]
    assert "figure 'ok-line' of book/ok" in errors[1] and "was not produced by this run" in errors[1]
    assert "figure 'unlisted' of book/ok" in errors[2] and "not registered" in errors[2]


def test_two_executions_give_identical_figures(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    png = Layout(root, "quick").output_dir("book/a") / "figures" / "a-line.png"
    first, _ = run(root, use_cache=False)
    bytes_1, side_1 = png.read_bytes(), sidecar(root, "book/a")
    second, _ = run(root, use_cache=False)
    assert first.ok and second.ok and second.rows[0]["source"] == "executed"
    assert png.read_bytes() == bytes_1
    side_2 = sidecar(root, "book/a")
    assert side_2["data_sha256"] == side_1["data_sha256"]
    assert side_2["png_sha256"] == side_1["png_sha256"]
    assert not (root / "_build" / "cache").exists()  # --no-cache writes no cache either


def test_html_has_a_numbered_captioned_figure_and_the_report(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    summary, text = run(root, build_html=True)
    assert summary.ok, summary.errors
    html_dir = Layout(root, "quick").html
    assert summary.html == html_dir and (root / "_build/quick/html/index.html").is_file()
    page = (html_dir / "book" / "a.html").read_text()
    assert 'id="fig-a-line"' in page
    assert '<span class="caption-number">Fig. 1 </span>' in page
    assert 'alt="A jagged line wandering up and down."' in page
    assert "A random walk of" in page and '<span class="pasted-text">50</span>' in page
    assert 'src="../_images/' in page  # the glued PNG
    report = (html_dir / "book" / "report.html").read_text()
    assert "beyond.a" in report and "produced (executed)" in report and "Fig. 1" in report
    assert "(jupyter-book build)" in text


def test_params_keys_with_underscore_hold_shared_anchors(make_book):
    from matsense.book.params import load_params
    root = make_book({"book/a": {"claim_id": "beyond.a"}, "book/b": {"claim_id": "beyond.b"}})
    (root / "book/params/quick.yml").write_text(
        "_shared: &shared\n  claim_offset: 0.5\nbook/a: *shared\nbook/b:\n  <<: *shared\n  claim_id: beyond.c\n")
    params = load_params(root, "quick", ["book/a", "book/b"])
    assert params["book/a"]["claim_offset"] == 0.5
    assert params["book/b"] == {"claim_offset": 0.5, "claim_id": "beyond.c"}


def test_chapter_claims_table_lists_only_that_chapter():
    from matsense.book.ledger import JudgedClaim
    from matsense.book.report import render_chapter_claims
    from matsense.claims import Claim

    def judged(cid, nb, status="pass"):
        return JudgedClaim(Claim(cid, f"statement of {cid}", 1.0, 1.0, 0.1, notebook=nb, mode="quick"), status)

    rows = [judged("jin.b", "book/jin/b"), judged("jin.a", "book/jin/a", "known deviation"),
            judged("xiong.c", "book/xiong/c")]
    text = render_chapter_claims(rows, "book/jin", ["book/jin/a", "book/jin/b", "book/xiong/c"])
    assert "{ref}`jin.a <claim-jin-a>`" in text and "{ref}`jin.b <claim-jin-b>`" in text
    assert "xiong.c" not in text
    assert text.index("jin.a <") < text.index("jin.b <")            # reading order of the book
    assert "quick mode" in text
    assert "No claim" in render_chapter_claims(rows, "book/wind", ["book/jin/a"])
    declared = JudgedClaim(Claim("jin.d", "s", 1.0, 1.0, 0.1, notebook="book/jin/a", mode="quick",
                                 source="Theorem 4.1", reason="measured spread over seeds"), "pass")
    text = render_chapter_claims([declared], "book/jin", ["book/jin/a"])
    assert "jin.d" in text and "passes if 1 ± 10 %" in text   # details (source, reason): report page


def test_a_figure_saved_but_never_placed_and_an_unrecorded_claim_fail_the_run(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    source = root / "book" / "a.md"
    source.write_text(source.read_text().replace("{glue:figure} a-line", "{glue:figure} other"))
    table = root / "book" / "claims.yml"
    table.write_text(table.read_text() + "beyond.unrecorded:\n  statement: s\n  source: x\n"
                     "  comparison: abs\n  tolerance: 0\n  reason: r\n"
                     "  control: {breaks: b, setup: {}}\n")
    summary, _ = run(root)
    assert not summary.ok
    assert any("saved but never shown" in e and "a-line" in e for e in summary.errors), summary.errors
    assert any("declares claim beyond.unrecorded" in e for e in summary.errors), summary.errors


def test_editing_the_claims_table_executes_the_chapter_again(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    assert run(root)[0].rows[0]["source"] == "executed"
    assert run(root)[0].rows[0]["source"] == "cached"
    table = root / "book" / "claims.yml"
    table.write_text(table.read_text().replace("1.0e-12", "2.0e-12"))
    assert run(root)[0].rows[0]["source"] == "executed"


def test_a_claim_whose_control_passes_fails_the_run(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a", "control_offset": 0.0}})
    summary, _ = run(root)
    assert not summary.ok
    assert any("beyond.a" in e and "cannot fail" in e for e in summary.errors), summary.errors
    ledger = json.loads(Layout(root, "quick").claims.read_text())
    assert ledger["claims"][0]["status"] == "cannot fail"


def test_another_seed_rebuilds_the_book_beside_the_default(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    default, _ = run(root)
    seeded, _ = run(root, seed=7)
    assert default.ok and seeded.ok
    lay = Layout(root, "quick", 7)
    assert lay.mode_dir.name == "quick-seed7" and lay.claims.is_file()
    record = json.loads(lay.run_record.read_text())["notebooks"]["book/a"]
    assert record["parameters"]["seed"] == 7 and seeded.rows[0]["source"] == "executed"
    assert json.loads(Layout(root, "quick").run_record.read_text())["notebooks"]["book/a"][
        "parameters"]["seed"] == 0
    with pytest.raises(ValueError, match="seed"):
        RunOptions(root=root, mode="quick", seed=-1)
