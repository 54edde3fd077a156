"""The browser test of the built book (:mod:`matsense.book.check_html`, ``make check-html``).

Hand-made pages: each kind of finding is detected on a page made to show it, and only it; a clean
page passes; screenshots are taken at both widths. Then the real thing: the quick book (built by
the runner, or reused from its cache) is opened page by page and must have no finding.

The browser tests need Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it) and
Playwright (the ``browser`` extra, part of ``test``); without Chromium they are skipped, saying so.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest

from matsense.book.check_html import (KINDS, MAX_CODE_LINES, PageReport, SiteReport, Finding,
                                      check_site, find_chromium, find_jargon, format_report,
                                      judge_page, main, site_pages)

ROOT = Path(__file__).resolve().parents[1]

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no Chromium at /usr/bin/chromium: the browser test needs Debian's chromium "
           "(apt-get install chromium; .ci/run installs it)")


def png(width: int = 4, height: int = 3) -> bytes:
    """A valid grey PNG image."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def page(body: str, head: str = "") -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title>{head}</head>"
            f"<body><main style='width:700px'>{body}</main></body></html>")


CLEAN = page("""
<h1 id="top">A clean page</h1>
<p>The spectrum of the spectral norm; inspect the specification. A formula was rendered.</p>
<figure><img src="ok.png" alt="A grey rectangle, four by three pixels."><figcaption>Fine.</figcaption></figure>
<p><a href="#top">top</a> <a href="other.html#here">other</a> <a href="sub/">folder</a>
   <a href="https://example.org/paper">an external link is not followed</a></p>
<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>
<div class="cell"><div class="cell_input"><pre>x = 1
y = 2</pre></div><div class="cell_output"><pre>""" + "\n".join(str(i) for i in range(40)) + """</pre></div></div>
""")

#: page -> (html, the only kind it must show)
BAD = {
    "console.html": (page("<p>x</p><script>console.error('boom')</script>"), "console-error"),
    "external.html": (page("<p>x</p>", "<script src='https://cdn.example.org/lib.js'></script>"),
                      "external-request"),
    "failed.html": (page("<p>x</p>", "<link rel='stylesheet' href='missing.css'>"),
                    "failed-request"),
    "broken_image.html": (page("<p><img src='not_an_image.png' alt='two words'></p>"),
                          "broken-image"),
    "alt.html": (page("<figure><img src='ok.png'></figure><figure><img src='ok.png' alt='ok.png'>"
                      "</figure><figure><img src='ok.png' alt='line'></figure>"), "figure-alt"),
    "math.html": (page(r"<p>the best rank-\(s\) solution</p><p>$$x^2$$</p>"
                       r"<p>\begin{align} a \end{align}</p>"), "raw-math"),
    "link.html": (page("<a href='nope.html'>a</a> <a href='other.html#nowhere'>b</a> "
                       "<a href='#missing'>c</a>"), "broken-link"),
    "table.html": (page("<table style='width:900px'><tr><td>wide</td></tr></table>"),
                   "wide-table"),
    "code.html": (page("<div class='cell'><div class='cell_input'><pre>"
                       + "\n".join(f"x{i} = {i}" for i in range(MAX_CODE_LINES + 5))
                       + "</pre></div></div>"), "long-code"),
    "jargon.html": (page("<p>As our spec says [R], TODO: the stored text, as recalled.</p>"),
                    "jargon"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    (root / "ok.png").write_bytes(png())
    (root / "not_an_image.png").write_text("not a png")
    (root / "clean.html").write_text(CLEAN)
    (root / "other.html").write_text(page("<p id='here'>here</p>"))
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text(page("<p>folder</p>"))
    (root / "index.html").write_text(
        "<html><head><meta http-equiv=\"Refresh\" content=\"0; url=clean.html\" /></head></html>")
    (root / "book" / "chap").mkdir(parents=True)
    (root / "book" / "chap" / "first.html").write_text(page("<p>a chapter</p>"))
    (root / "book" / "chap" / "second.html").write_text(page("<p>more</p>"))
    (root / "_static").mkdir()
    (root / "_static" / "skipped.html").write_text(page("TODO"))  # not a page
    for name, (html, _) in BAD.items():
        (root / name).write_text(html)
    return root


@pytest.fixture(scope="module")
def checked(site: Path, tmp_path_factory: pytest.TempPathFactory) -> SiteReport:
    if find_chromium() is None:
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    shots = tmp_path_factory.mktemp("shots")
    return check_site(site, screenshots=shots)


def kinds_of(report: SiteReport, name: str) -> set[str]:
    return {f.kind for f in report.findings if f.page == name}


def test_pages_are_the_html_files_outside_underscore_folders(site):
    pages = site_pages(site)
    assert "clean.html" in pages and "book/chap/first.html" in pages
    assert not [p for p in pages if p.startswith("_")]


@needs_chromium
def test_a_clean_page_passes(checked):
    assert kinds_of(checked, "clean.html") == set(), format_report(checked)
    assert kinds_of(checked, "other.html") == set()


@needs_chromium
@pytest.mark.parametrize("name", sorted(BAD), ids=lambda n: BAD[n][1])
def test_each_kind_of_problem_is_found(checked, name):
    assert kinds_of(checked, name) == {BAD[name][1]}, format_report(checked)


@needs_chromium
def test_every_kind_is_exercised():
    assert {kind for _, kind in BAD.values()} == set(KINDS)


@needs_chromium
def test_details_name_the_problem(checked):
    details = {f.kind: [g.detail for g in checked.findings if g.kind == f.kind]
               for f in checked.findings}
    assert any("cdn.example.org" in d for d in details["external-request"])
    assert any("missing.css" in d for d in details["failed-request"])
    assert any("boom" in d for d in details["console-error"])
    assert len(details["figure-alt"]) == 3  # missing, a file name, one word
    assert {d.split(" at ")[0] for d in details["raw-math"]} == {r"'\\('", "'$$'", r"'\\begin'"}
    links = " ".join(details["broken-link"])
    assert "nope.html" in links and "#nowhere" in links and "#missing" in links
    assert any("25 lines" in d for d in details["long-code"])
    jargon = " ".join(details["jargon"])
    assert all(w in jargon for w in ("'spec'", "'[R]'", "'TODO'", "'stored text'", "'as recalled'"))


@needs_chromium
def test_screenshots_of_the_landing_page_and_each_chapter_at_two_widths(checked):
    names = sorted(p.name for p in checked.screenshots)
    assert names == ["book-chap-first-desktop.png", "book-chap-first-phone.png",
                     "clean-desktop.png", "clean-phone.png"]
    widths = {}
    for path in checked.screenshots:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG")
        widths[path.name] = struct.unpack(">I", data[16:20])[0]
    # the test pages are 700 px wide: the phone's full-page shot is as wide as the page
    assert widths["book-chap-first-desktop.png"] == 1280
    assert widths["book-chap-first-phone.png"] == 708


def test_jargon_is_precise():
    assert find_jargon("the spectrum, spectral norm, inspect, specification, spec-ial") == []
    assert find_jargon("matrix [R^n] and R") == []
    hits = find_jargon("Our spec. The specs, (spec J-loss) [?] [V] TODO FIXME")
    assert [h.split(" in ")[0] for h in hits] == ["'[V]'", "'[?]'", "'TODO'", "'FIXME'",
                                                  "'spec'", "'spec'", "'spec'"]


def test_judge_page_without_a_browser(tmp_path):
    (tmp_path / "a.html").write_text(page("<p id='x'>x</p>"))
    origin = "http://127.0.0.1:1"
    report = PageReport("a.html", console=["boom"], external=["https://cdn/x.js"],
                        failed=["/y.css: HTTP 404"], data={
                            "images": [{"src": f"{origin}/i.png", "natural": 0, "alt": "",
                                        "inFigure": True}],
                            "prose": r"rank-\(s\)", "text": "our spec",
                            "links": [{"href": "a.html#x", "url": f"{origin}/a.html#x"},
                                      {"href": "b.html", "url": f"{origin}/b.html"}],
                            "ids": ["x"], "tables": [{"width": 900, "column": 700, "label": "t"}],
                            "code": [{"lines": 21, "first": "x = 1"}]})
    found = judge_page(report, tmp_path, origin)
    assert [f.kind for f in found] == ["console-error", "external-request", "failed-request",
                                       "broken-image", "figure-alt", "raw-math", "broken-link",
                                       "wide-table", "long-code", "jargon"]


def test_the_report_counts_per_page_and_kind(tmp_path):
    report = SiteReport(tmp_path, ["a.html", "b.html"], [Finding("a.html", "jargon", "x"),
                                                         Finding("a.html", "jargon", "y"),
                                                         Finding("b.html", "raw-math", "z")], [])
    text = format_report(report)
    assert "a.html  raw-math  jargon" not in text  # kinds in the order of KINDS
    assert "raw-math  jargon" in text and "b.html: raw-math: z" in text
    assert format_report(SiteReport(tmp_path, ["a.html"], [], [])).endswith("no findings")


def test_the_command_refuses_a_missing_build(tmp_path, capsys):
    assert main([str(tmp_path / "nothing")]) == 2
    assert "no built book" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# The real book, in quick mode


@pytest.fixture(scope="module")
def quick_html() -> Path:
    from matsense.book.runner import Layout, RunOptions, run_book

    out = io.StringIO()
    summary = run_book(RunOptions(root=ROOT, mode="quick", progress=False), out=out)
    assert summary.ok, "\n" + out.getvalue()
    return Layout(ROOT, "quick").html


@needs_chromium
def test_the_quick_book_passes_the_browser_check(quick_html):
    report = check_site(quick_html, screenshots=ROOT / "_build" / "screenshots")
    assert report.ok, "\n" + format_report(report)
    assert len(report.screenshots) >= 2 * 3  # the landing page and at least two chapters
