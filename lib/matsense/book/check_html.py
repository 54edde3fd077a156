"""The browser test of the built book: every page, opened in headless Chromium, offline.

``python -m matsense.book.check_html [HTML_DIR] [--screenshots DIR]`` (``make check-html``) serves
``HTML_DIR`` on ``127.0.0.1`` (a server of its own, on a free port), opens every ``.html`` page of it
in Debian's Chromium (``/usr/bin/chromium``, or ``--chromium PATH``; driven by Playwright's Python
package, with that browser as its executable and a fresh user-data directory), with every request
that does not go to that server aborted, and reports, per page:

=================  ===============================================================================
kind               what fails
=================  ===============================================================================
console-error      a message logged as an error, or an uncaught exception (a resource that fails
                   to load is reported as ``failed-request`` or ``external-request`` instead)
external-request   a request to anything but the local server (a CDN, a font, an analytics host)
failed-request     a local request that failed or was answered with status 400 or more
broken-image       an image with zero natural width once loaded
figure-alt         an image in a ``<figure>`` without alt text (missing, empty, a file name, or one
                   word)
raw-math           ``\\(``, ``\\[``, ``$$`` or ``\\begin`` left in the rendered text (code excluded)
broken-link        an internal link to a missing file, or to an anchor missing from its page
wide-table         a table wider than the column of text it sits in (at desktop width)
long-code          a code block (a notebook's code cell, or a literal block) showing more than
                   :data:`MAX_CODE_LINES` lines (a folded cell does not count)
jargon             a word of the book's own process on a page (:data:`JARGON`: ``[R]``, ``TODO``,
                   ``spec`` as a word, ``stored text``, ...; ``spectrum`` is fine)
=================  ===============================================================================

Pages are checked at :data:`DESKTOP` size. Full-page screenshots of the landing page and of the
first page of each chapter (a folder of ``book/``, in the order of the sidebar) are saved at
desktop and phone sizes into ``--screenshots`` (default ``_build/screenshots``) as
``<page>-desktop.png`` and ``<page>-phone.png``.

Exit status: 0 when no page has a finding, 1 otherwise (a table of counts per page and kind, then
every finding), 2 when the HTML folder or the browser is missing. The checks are in the browser
(:data:`_PAGE_SCRIPT`) and in :func:`judge_page`, which turns what the script measured into
findings; the link targets are read from the files themselves.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit

__all__ = ["Finding", "PageReport", "SiteReport", "KINDS", "JARGON", "MAX_CODE_LINES",
           "DESKTOP", "PHONE", "CHROMIUM", "CHROMIUM_FLAGS", "find_chromium", "find_jargon",
           "judge_page", "check_site", "format_report", "main", "site_pages",
           "redirect_target"]

#: Every kind of finding, in the order of the report.
KINDS = ("console-error", "external-request", "failed-request", "broken-image", "figure-alt",
         "raw-math", "broken-link", "wide-table", "long-code", "jargon")

#: Longest code block a reader is shown, in lines.
MAX_CODE_LINES = 20

#: Viewport of the checks and of the desktop screenshots, and of the phone screenshots.
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

#: Debian's Chromium (``apt-get install chromium``).
CHROMIUM = "/usr/bin/chromium"

#: Flags Chromium starts with (Playwright adds ``--headless`` and the user-data directory).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync")

#: Words of the book's own making process that a reader must not meet: (name, regular expression).
#: Matched case-sensitively for the tags, as whole words otherwise (``spec`` never matches
#: ``spectrum``, ``spectral`` or ``inspect``).
JARGON: tuple[tuple[str, str], ...] = (
    ("[R]", r"\[R\]"),
    ("[V]", r"\[V\]"),
    ("[O]", r"\[O\]"),
    ("[?]", r"\[\?\]"),
    ("TODO", r"\bTODO\b"),
    ("FIXME", r"\bFIXME\b"),
    ("TBD", r"\bTBD\b"),
    ("spec", r"(?i)(?<![\w-])specs?(?![\w-])"),
    ("stored text", r"(?i)\bstored\s+text\b"),
    ("as recalled", r"(?i)\bas\s+recalled\b"),
    ("checked against the PDF", r"(?i)\bchecked\s+against\s+the\s+PDF\b"),
    ("conventions.md", r"(?i)\bconventions\.md\b"),
    ("../shared", r"\.\./shared\b|\bshared/papers\b"),
)

_JARGON = tuple((name, re.compile(rx)) for name, rx in JARGON)


@dataclass(frozen=True)
class Finding:
    """One problem on one page."""

    page: str
    kind: str
    detail: str


@dataclass
class PageReport:
    """What the browser measured on one page (the input of :func:`judge_page`).

    Attributes
    ----------
    page : str
        Path of the page under the HTML folder (``book/jin/intro.html``).
    console : list of str
        Console errors and uncaught exceptions.
    external : list of str
        URLs of requests that left the local server (aborted).
    failed : list of str
        Local requests that failed, with the reason or status.
    data : dict
        What :data:`_PAGE_SCRIPT` returned: ``images``, ``text_math``, ``text``, ``links``,
        ``tables``, ``code``, ``ids``.
    """

    page: str
    console: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SiteReport:
    """The outcome of :func:`check_site`."""

    root: Path
    pages: list[str]
    findings: list[Finding]
    screenshots: list[Path]

    @property
    def ok(self) -> bool:
        """True when no page has a finding."""
        return not self.findings


def find_jargon(text: str) -> list[str]:
    """Each jargon word of :data:`JARGON` found in ``text``, with a few words around it."""
    hits = []
    for name, rx in _JARGON:
        for m in rx.finditer(text):
            around = " ".join(text[max(0, m.start() - 40):m.end() + 40].split())
            hits.append(f"{name!r} in \u2026{around}\u2026")
    return hits


_RAW_MATH = re.compile(r"\\\(|\\\[|\$\$|\\begin\b")


# ----------------------------------------------------------------------------------------------
# What the page reports about itself (run in the browser once it has loaded and MathJax is done)

_PAGE_SCRIPT = r"""
async () => {
  // every image loaded, lazy ones too
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = "eager"; });
  await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r);
                         setTimeout(r, 5000); })));
  const images = imgs.map(i => ({src: i.currentSrc || i.src, natural: i.naturalWidth,
                                 alt: i.getAttribute("alt"), inFigure: !!i.closest("figure")}));
  // text nodes, outside code, scripts and rendered math
  const skip = "script, style, noscript, template, pre, code, textarea, mjx-container, .MathJax, " +
               "mjx-assistive-mml, svg";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const prose = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (el && !el.closest(skip)) prose.push(n.nodeValue);
  }
  // all text a reader can meet, code included (for the jargon)
  const all = [];
  const walker2 = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker2.nextNode(); n; n = walker2.nextNode()) {
    const el = n.parentElement;
    if (el && !el.closest("script, style, noscript, template, mjx-container, svg"))
      all.push(n.nodeValue);
  }
  const links = Array.from(document.querySelectorAll("a[href]")).map(a => ({
      href: a.getAttribute("href"), url: a.href}));
  const ids = Array.from(document.querySelectorAll("[id], a[name]"))
      .map(e => e.id || e.getAttribute("name"));
  // tables against the column of text they sit in
  const tables = Array.from(document.querySelectorAll("table")).filter(t => t.offsetParent !== null)
      .map(t => {
        const col = t.closest("article, main, [role=main], .bd-article, body");
        const cs = getComputedStyle(col);
        const inner = col.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        const caption = t.querySelector("caption");
        const head = Array.from(t.querySelectorAll("th")).slice(0, 4).map(th => th.innerText.trim());
        return {width: Math.round(t.getBoundingClientRect().width), column: Math.round(inner),
                label: (caption ? caption.innerText.trim() : "") || head.join(" | ")};
      });
  // code blocks shown to the reader (not outputs, not folded away)
  const code = Array.from(document.querySelectorAll("pre"))
      .filter(p => !p.closest(".cell_output, .output, .mjx-container") && p.offsetParent !== null)
      .map(p => { const t = p.innerText.replace(/\n+$/, "");
                  return {lines: t ? t.split("\n").length : 0, first: t.split("\n")[0]}; });
  return {images, prose: prose.join(" "), text: all.join(" "), links, ids, tables, code};
}
"""


# ----------------------------------------------------------------------------------------------
# Judging one page


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (name == "name" and tag == "a")):
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _file_ids(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _link_problem(root: Path, page: str, link: dict[str, str], origin: str,
                  page_ids: set[str]) -> str | None:
    """Why an internal link does not resolve (None when it does, or is not internal)."""
    href, url = link.get("href") or "", link.get("url") or ""
    if not href or href.startswith(("mailto:", "javascript:", "tel:", "data:")):
        return None
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None  # an external link: not followed (the reader may follow it online)
    fragment = unquote(parts.fragment)
    target = root / unquote(parts.path).lstrip("/")
    if parts.path.endswith("/") or target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"{href} -> missing file {target.relative_to(root).as_posix()}"
    if not fragment:
        return None
    if target.resolve() == (root / page).resolve():
        return None if fragment in page_ids or fragment in _file_ids(target) else \
            f"{href} -> no anchor #{fragment} on this page"
    if target.suffix == ".html" and fragment not in _file_ids(target):
        return f"{href} -> no anchor #{fragment} in {target.relative_to(root).as_posix()}"
    return None


def _alt_problem(alt: str | None, src: str) -> str | None:
    text = " ".join((alt or "").split())
    name = src.rsplit("/", 1)[-1].split("?")[0]
    if not text:
        return f"{name}: no alt text"
    if re.search(r"\.(png|jpe?g|gif|svg|webp)$", text, re.I) or text == name:
        return f"{name}: the alt text is a file name ({text!r})"
    if len(text.split()) < 2:
        return f"{name}: the alt text is one word ({text!r})"
    return None


def judge_page(report: PageReport, root: Path, origin: str) -> list[Finding]:
    """The findings of one page, from what the browser measured on it."""
    page, data = report.page, report.data
    found: list[Finding] = []

    def add(kind: str, detail: str) -> None:
        found.append(Finding(page, kind, detail))

    for msg in report.console:
        add("console-error", msg)
    for url in report.external:
        add("external-request", url)
    for msg in report.failed:
        add("failed-request", msg)
    for img in data.get("images", []):
        if img.get("natural", 0) == 0:
            add("broken-image", img.get("src", ""))
        if img.get("inFigure"):
            problem = _alt_problem(img.get("alt"), img.get("src", ""))
            if problem:
                add("figure-alt", problem)
    prose = data.get("prose", "")
    for m in _RAW_MATH.finditer(prose):
        around = " ".join(prose[max(0, m.start() - 40):m.end() + 40].split())
        add("raw-math", f"{m.group(0)!r} at {m.start()}: \u2026{around}\u2026")
    ids = set(data.get("ids", []))
    for link in data.get("links", []):
        problem = _link_problem(root, page, link, origin, ids)
        if problem:
            add("broken-link", problem)
    for table in data.get("tables", []):
        if table["width"] > table["column"] + 1:
            add("wide-table", f"{table['width']} px in a column of {table['column']} px "
                              f"({table.get('label', '')[:80]})")
    for block in data.get("code", []):
        if block["lines"] > MAX_CODE_LINES:
            add("long-code", f"{block['lines']} lines, from {block['first'][:80]!r}")
    for hit in find_jargon(data.get("text", "")):
        add("jargon", hit)
    # one finding per distinct problem (a link repeated in the sidebar counts once)
    unique = list(dict.fromkeys(found))
    return unique


# ----------------------------------------------------------------------------------------------
# The browser


def find_chromium(explicit: str | os.PathLike | None = None) -> Path | None:
    """The Chromium executable: ``explicit``, ``$CHROMIUM``, :data:`CHROMIUM` or ``chromium`` on
    the PATH; None when there is none."""
    for candidate in (explicit, os.environ.get("CHROMIUM"), CHROMIUM, shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


class _Server:
    """A static file server on 127.0.0.1 (a free port) in a thread."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "_Server":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


#: Top-level folders of the site that are not book pages: the JupyterLite application (``lite/``,
#: its own JavaScript app, which needs Pyodide from the network) and the Colab copies.
NOT_BOOK_PAGES = ("lite", "colab")


def site_pages(root: Path) -> list[str]:
    """Every book page of a built site: its ``.html`` files outside folders that start with ``_``
    and outside :data:`NOT_BOOK_PAGES` (links into them are still checked to resolve)."""
    pages = []
    for p in root.rglob("*.html"):
        parts = p.relative_to(root).parts
        if any(part.startswith((".", "_")) for part in parts) or parts[0] in NOT_BOOK_PAGES:
            continue
        pages.append(p.relative_to(root).as_posix())
    return sorted(pages)


_REFRESH = re.compile(r"""<meta[^>]+http-equiv=["']?refresh["']?[^>]*url=([^"'>\s]+)""", re.I)


def redirect_target(root: Path, page: str) -> str | None:
    """Where a redirect page (``<meta http-equiv="refresh" ... url=...>``) sends the reader, as a
    path under ``root`` (None when ``page`` is not a redirect)."""
    m = _REFRESH.search((root / page).read_text(encoding="utf-8", errors="replace")[:4000])
    if m is None:
        return None
    return (Path(page).parent / unquote(m.group(1).split("#")[0])).as_posix().removeprefix("./")


def _screenshot_pages(root: Path, pages: list[str], nav: list[str]) -> list[str]:
    """The landing page, then the first page of each chapter folder ``book/<chapter>/``."""
    landing = "index.html"
    if (root / landing).is_file():
        landing = redirect_target(root, landing) or landing
    chosen, chapters = [landing], set()
    for page in [p for p in nav if p in pages] + pages:
        parts = page.split("/")
        if len(parts) >= 3 and parts[0] == "book" and parts[1] not in chapters:
            chapters.add(parts[1])
            chosen.append(page)
    return list(dict.fromkeys(chosen))


def _shot_name(page: str) -> str:
    return page.removesuffix(".html").replace("/", "-")


def check_site(root: str | os.PathLike, *, screenshots: str | os.PathLike | None = None,
               chromium: str | os.PathLike | None = None, pages: Iterable[str] | None = None,
               timeout_s: float = 30.0, log: Any = None) -> SiteReport:
    """Open every page of the built site ``root`` in headless Chromium and judge it.

    Parameters
    ----------
    root : path
        The built HTML folder (``_build/html``).
    screenshots : path, optional
        Folder for the screenshots (created); None: none are taken.
    chromium : path, optional
        The browser (default :func:`find_chromium`).
    pages : iterable of str, optional
        Only these pages (paths under ``root``); default every page (:func:`site_pages`).
    timeout_s : float
        Seconds one page may take to load and typeset.
    log : file-like, optional
        Where progress lines go (default none).

    Raises
    ------
    FileNotFoundError
        If ``root`` has no page, or there is no Chromium.
    ImportError
        If Playwright is not installed.
    """
    from playwright.sync_api import sync_playwright

    root = Path(root).resolve()
    all_pages = site_pages(root)
    chosen = list(all_pages if pages is None else pages)
    if not chosen:
        raise FileNotFoundError(f"{root}: no .html page to check (build the book first)")
    exe = find_chromium(chromium)
    if exe is None:
        raise FileNotFoundError(f"no Chromium at {chromium or CHROMIUM} (apt-get install chromium)")
    findings: list[Finding] = []
    shots: list[Path] = []
    with _Server(root) as server, tempfile.TemporaryDirectory(prefix="check-html-") as profile, \
            sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(exe), headless=True,
            args=[f for f in CHROMIUM_FLAGS if f != "--headless"], viewport=DESKTOP,
            service_workers="block")
        try:
            current: dict[str, PageReport] = {}
            aborted: set[str] = set()

            def route(r: Any) -> None:
                url = r.request.url
                if url.startswith(server.origin + "/") or url == server.origin:
                    r.continue_()
                else:
                    aborted.add(url)
                    if "report" in current:
                        current["report"].external.append(url)
                    r.abort("blockedbyclient")

            context.route("**/*", route)
            page = context.new_page()

            def on_console(msg: Any) -> None:
                if msg.type == "error" and "report" in current \
                        and not msg.text.startswith("Failed to load resource"):
                    loc = msg.location or {}
                    where = f" ({loc.get('url', '').removeprefix(server.origin)}:" \
                            f"{loc.get('lineNumber', '')})" if loc.get("url") else ""
                    current["report"].console.append(msg.text[:300] + where)

            def on_pageerror(exc: Any) -> None:
                if "report" in current:
                    current["report"].console.append(f"uncaught: {str(exc)[:300]}")

            def on_failed(req: Any) -> None:
                if req.url in aborted or "report" not in current:
                    return
                current["report"].failed.append(f"{req.url.removeprefix(server.origin)}: "
                                                f"{req.failure or 'failed'}")

            def on_response(resp: Any) -> None:
                if resp.status >= 400 and "report" in current:
                    current["report"].failed.append(f"{resp.url.removeprefix(server.origin)}: "
                                                    f"HTTP {resp.status}")

            page.on("console", on_console)
            page.on("pageerror", on_pageerror)
            page.on("requestfailed", on_failed)
            page.on("response", on_response)

            def load(path: str) -> None:
                page.goto(f"{server.origin}/{path}", wait_until="load", timeout=timeout_s * 1000)
                page.evaluate("""async () => {
                    if (window.MathJax && MathJax.startup && MathJax.startup.promise)
                        await MathJax.startup.promise;
                }""")
                try:
                    page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
                except Exception:  # noqa: BLE001 - a page that keeps polling is still judged
                    pass

            nav: list[str] = []
            for path in chosen:
                start = time.perf_counter()
                target = redirect_target(root, path)
                if target is not None:  # a redirect page: its target must exist
                    if not (root / target).is_file():
                        findings.append(Finding(path, "broken-link",
                                                f"redirects to missing {target}"))
                    continue
                current["report"] = report = PageReport(path)
                load(path)
                report.data = page.evaluate(_PAGE_SCRIPT)
                if not nav:
                    nav = [urlsplit(link["url"]).path.lstrip("/") for link in report.data["links"]
                           if (link.get("url") or "").startswith(server.origin)]
                current.pop("report")
                page_findings = judge_page(report, root, server.origin)
                findings += page_findings
                if log is not None:
                    print(f"  {path}: {len(page_findings)} finding(s), "
                          f"{time.perf_counter() - start:.1f} s", file=log, flush=True)
            if screenshots is not None:
                out = Path(screenshots)
                out.mkdir(parents=True, exist_ok=True)
                for path in _screenshot_pages(root, all_pages, nav):
                    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                        page.set_viewport_size(size)
                        load(path)
                        target = out / f"{_shot_name(path)}-{label}.png"
                        page.screenshot(path=str(target), full_page=True)
                        shots.append(target)
                page.set_viewport_size(DESKTOP)
        finally:
            context.close()
    return SiteReport(root=root, pages=chosen, findings=findings, screenshots=shots)


def format_report(report: SiteReport, *, limit: int = 400) -> str:
    """A table of findings per page and kind, then the findings (at most ``limit`` lines)."""
    lines = [f"checked {len(report.pages)} pages of {report.root}"]
    if report.screenshots:
        folder = report.screenshots[0].parent
        lines.append(f"{len(report.screenshots)} screenshots in {folder}")
    if report.ok:
        lines.append("no findings")
        return "\n".join(lines)
    counts = Counter((f.page, f.kind) for f in report.findings)
    kinds = [k for k in KINDS if any(kind == k for _, kind in counts)]
    pages = list(dict.fromkeys(f.page for f in report.findings))
    width = max(len(p) for p in pages + ["page"])
    lines.append("")
    lines.append("page".ljust(width) + "  " + "  ".join(kinds))
    for page in pages:
        lines.append(page.ljust(width) + "  " + "  ".join(
            str(counts.get((page, k), "")).rjust(len(k)) for k in kinds))
    totals = Counter(f.kind for f in report.findings)
    lines.append("total".ljust(width) + "  " + "  ".join(str(totals[k]).rjust(len(k))
                                                         for k in kinds))
    lines.append("")
    for i, f in enumerate(report.findings):
        if i == limit:
            lines.append(f"... and {len(report.findings) - limit} more")
            break
        lines.append(f"{f.page}: {f.kind}: {f.detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m matsense.book.check_html",
                                     description="Open every page of the built book in headless "
                                                 "Chromium, offline, and report what a reader "
                                                 "would trip over.")
    parser.add_argument("html", nargs="?", type=Path, default=Path("_build/quick/_build/html"),
                        help="the built HTML folder (default: the quick build, "
                             "_build/quick/_build/html; the full build is _build/html)")
    parser.add_argument("--screenshots", type=Path, default=Path("_build/screenshots"),
                        help="folder of the screenshots (default _build/screenshots)")
    parser.add_argument("--no-screenshots", action="store_true", help="take no screenshot")
    parser.add_argument("--chromium", default=None, help=f"the browser (default {CHROMIUM})")
    parser.add_argument("--page", action="append", default=None, metavar="PATH",
                        help="check only this page (repeatable), e.g. book/jin/intro.html")
    args = parser.parse_args(argv)
    if not args.html.is_dir() or not site_pages(args.html):
        print(f"error: {args.html}: no built book there (run `make book`, or `python -m "
              "matsense.book run --mode quick`)", file=sys.stderr)
        return 2
    if find_chromium(args.chromium) is None:
        print(f"error: no Chromium at {args.chromium or CHROMIUM}: install it "
              "(apt-get install chromium)", file=sys.stderr)
        return 2
    try:
        report = check_site(args.html, chromium=args.chromium, pages=args.page,
                            screenshots=None if args.no_screenshots else args.screenshots,
                            log=sys.stdout)
    except ImportError:
        print("error: Playwright is not installed (pip install -e '.[test]')", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
