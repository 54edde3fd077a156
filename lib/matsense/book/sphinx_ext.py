"""The book's Sphinx extension: a guard, offline pages, plain titles and readable downloads.

``_config.yml`` lists it (``sphinx.extra_extensions``), so every build of the book loads it:

- **Guard.** The book is built from a *staged* tree, in which every notebook is replaced by its
  executed run (:mod:`matsense.book.staging`, which writes :data:`~matsense.book.staging.STAGE_MARKER`
  at its top). ``jupyter-book build .`` on the bare sources would build a book without figures or
  numbers; it stops at once instead, with one line saying to run ``make book``.
- **Offline math.** MathJax 3 is served from the built site (``_static/mathjax/``, copied from the
  ``django-static-mathjax`` package of the book extra) and ``mathjax_path`` must be a local path:
  a page's formulas render without a network.
- **No Thebe when it is off.** Jupyter Book loads ``sphinx-thebe`` always; when
  ``launch_buttons.thebe`` is off its script (which throws in the browser), style sheet and
  configuration block are removed from every page.
- **Plain-text titles.** A page or section title with math (``rank-$s$``) is shown as plain text
  (``rank-s``) where Sphinx cannot render math: the sidebar, the browser tab, the search results,
  the previous/next links, the page's table of contents. The heading itself keeps its formula.
- **No console error on a first visit.** The theme's colour mode defaults to ``auto``.
- **Readable downloads.** The ``.ipynb`` a page offers for download is rewritten by
  :func:`matsense.book.download.download_notebook`: its figures are embedded images, its glued
  numbers text.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

from .staging import STAGE_MARKER

__all__ = ["setup", "GUARD_MESSAGE", "MATHJAX_PATH", "latex_to_text", "mathjax_source",
           "mathjax_files"]

#: The one line ``jupyter-book build`` prints when it is given the bare sources.
GUARD_MESSAGE = ("error: this book is built by its runner, which executes the notebooks first: "
                 "run `make book` (or `python -m matsense.book run --mode full`), not "
                 "`jupyter-book build`")

#: Where the pages load MathJax from (relative: under the built site's ``_static/``).
MATHJAX_PATH = "mathjax/tex-mml-chtml.js"

# Files of MathJax's es5 build that the pages never load (other output formats, node).
_MATHJAX_SKIP = re.compile(r"^(tex-svg|tex-mml-svg|mml-|tex-chtml|node-main|latest|output/svg)")

_GREEK = {name: chr(code) for name, code in (
    ("alpha", 945), ("beta", 946), ("gamma", 947), ("delta", 948), ("epsilon", 949),
    ("varepsilon", 949), ("zeta", 950), ("eta", 951), ("theta", 952), ("iota", 953),
    ("kappa", 954), ("lambda", 955), ("mu", 956), ("nu", 957), ("xi", 958), ("pi", 960),
    ("rho", 961), ("sigma", 963), ("tau", 964), ("phi", 966), ("varphi", 966), ("chi", 967),
    ("psi", 968), ("omega", 969), ("Gamma", 915), ("Delta", 916), ("Theta", 920),
    ("Lambda", 923), ("Sigma", 931), ("Phi", 934), ("Psi", 936), ("Omega", 937))}
_SYMBOLS = {"star": "*", "ast": "*", "top": "T", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
            "to": "→", "infty": "∞", "cdot": "·", "times": "×", "dots": "...", "ldots": "...",
            "cdots": "...", "approx": "≈", "ne": "≠", "neq": "≠", "sim": "~", "in": "∈",
            "ell": "ℓ", "|": "‖", ",": " ", ";": " ", "quad": " ", "qquad": " "}
_SUPERSCRIPT = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_SUBSCRIPT = str.maketrans("0123456789+-", "₀₁₂₃₄₅₆₇₈₉₊₋")


def latex_to_text(latex: str) -> str:
    """A plain-text reading of a short LaTeX formula, for titles (``Z_1^\\star`` -> ``Z₁*``).

    Greek letters and a few symbols become Unicode; digits in sub- and superscripts become
    Unicode sub- and superscripts; other commands lose their backslash (``\\mathrm{rank}`` ->
    ``rank``); braces go.
    """
    def command(m: re.Match) -> str:
        name = m.group(1)
        if name in _GREEK:
            return _GREEK[name]
        if name in _SYMBOLS:
            symbol = _SYMBOLS[name]
            return f" {symbol} " if symbol in "≤≥→≈≠∈×" else symbol
        if name in ("mathrm", "mathbf", "mathit", "mathcal", "mathbb", "operatorname", "text",
                    "textrm", "boldsymbol", "left", "right", "big", "Big", "bigl", "bigr",
                    "displaystyle", "tfrac", "dfrac", "frac"):
            return ""
        return name

    text = re.sub(r"\\([A-Za-z]+|[|,;])\s*", command, latex)

    def script(m: re.Match) -> str:
        body = m.group(2) if m.group(2) is not None else m.group(3)
        table = _SUPERSCRIPT if m.group(1) == "^" else _SUBSCRIPT
        if body == "*":
            return "*"
        if re.fullmatch(r"[0-9+-]+", body):
            return body.translate(table)
        return m.group(1) + (body if len(body) == 1 else f"({body})")

    text = re.sub(r"([\^_])(?:\{([^{}]*)\}|(\S))", script, text)
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def _plain_title(node: Any) -> Any:
    """A copy of a title node whose math nodes are replaced by plain text (or ``node`` itself)."""
    from docutils import nodes

    if not any(isinstance(n, nodes.math) for n in node.findall()):
        return node
    new = node.deepcopy()
    for math in list(new.findall(nodes.math)):
        math.replace_self(nodes.Text(latex_to_text(math.astext())))
    return new


def _plain_titles(app: Any, env: Any) -> list[str]:
    """``env-updated``: the stored titles and tables of contents of every page lose their math
    (idempotent). Sphinx builds the sidebar, the tab title, the search index and the page's own
    table of contents from them; pages without formulas load no MathJax to render them."""
    from docutils import nodes

    for store in (env.titles, env.longtitles):
        for docname, node in list(store.items()):
            store[docname] = _plain_title(node)
    for toc in env.tocs.values():
        for math in list(toc.findall(nodes.math)):
            math.replace_self(nodes.Text(latex_to_text(math.astext())))
    return []


def mathjax_source() -> Path | None:
    """MathJax 3's es5 build as shipped by the ``django-static-mathjax`` package, or None."""
    try:
        import mathjax
    except ImportError:
        return None
    for base in getattr(mathjax, "__path__", []):
        es5 = Path(base) / "static" / "mathjax" / "es5"
        if (es5 / "tex-mml-chtml.js").is_file():
            return es5
    return None


def mathjax_files(es5: Path) -> list[Path]:
    """The files of ``es5`` the pages may load (relative paths), sorted."""
    return sorted(p.relative_to(es5) for p in es5.rglob("*")
                  if p.is_file() and not _MATHJAX_SKIP.match(p.relative_to(es5).as_posix()))


def _check_config(app: Any, config: Any) -> None:
    """``config-inited``: math must come from the built site, never from a CDN; the theme starts
    in its ``auto`` colour mode (without a default it logs a console error on a first visit)."""
    from sphinx.errors import ConfigError

    context = dict(config.html_context or {})
    if not context.get("default_mode"):
        config.html_context = {**context, "default_mode": "auto"}
    if "://" in (config.mathjax_path or "") or str(config.mathjax_path).startswith("//"):
        raise ConfigError(f"mathjax_path = {config.mathjax_path!r} loads MathJax from the network; "
                          f"the book serves it itself: set it to {MATHJAX_PATH!r}")


def _copy_mathjax(app: Any, exception: Exception | None) -> None:
    """``build-finished``: copy MathJax under ``_static/mathjax`` of an HTML build."""
    if exception is not None or getattr(app.builder, "format", None) != "html":
        return
    from sphinx.errors import ExtensionError

    es5 = mathjax_source()
    if es5 is None:
        raise ExtensionError("MathJax for offline pages is missing: install the book extra "
                             "(pip install -e '.[book]'), which brings django-static-mathjax")
    target = Path(app.outdir) / "_static" / Path(MATHJAX_PATH).parent
    for rel in mathjax_files(es5):
        src, dst = es5 / rel, target / rel
        if dst.is_file() and dst.stat().st_size == src.stat().st_size:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def _thebe_on(app: Any) -> bool:
    options = getattr(app.config, "html_theme_options", None) or {}
    return bool((options.get("launch_buttons") or {}).get("thebe"))


def _drop_thebe(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """``html-page-context``: no sphinx-thebe script or style sheet when Thebe is off."""
    if _thebe_on(app):
        return

    def thebe(asset: Any) -> bool:
        name = str(getattr(asset, "filename", asset) or "")
        body = str(getattr(asset, "attributes", {}).get("body", ""))
        return "thebe" in name.lower() or "THEBE_JS_URL" in body

    for key in ("script_files", "css_files"):
        if isinstance(context.get(key), list):
            context[key][:] = [a for a in context[key] if not thebe(a)]


def _drop_thebe_config(app: Any, doctree: Any, docname: str) -> None:
    """``doctree-resolved`` (after sphinx-thebe's handler): no Thebe configuration block in a page
    when Thebe is off."""
    if _thebe_on(app):
        return
    from docutils import nodes

    for raw in list(doctree.findall(nodes.raw)):
        if "text/x-thebe-config" in raw.astext():
            raw.parent.remove(raw)


def _write_downloads(app: Any, exception: Exception | None) -> None:
    """``build-finished``: the downloadable ``.ipynb`` of each page is the reader's version."""
    if exception is not None or getattr(app.builder, "format", None) != "html":
        return
    import nbformat

    from .download import download_notebook

    sources = Path(app.outdir) / "_sources"
    for docname in sorted(app.env.found_docs):
        path = Path(app.env.doc2path(docname))
        target = sources / f"{docname}.ipynb"
        if path.suffix != ".ipynb" or not target.is_file():
            continue
        nb = download_notebook(nbformat.read(path, as_version=4), base=path.parent)
        text = nbformat.writes(nb)
        if target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point; stops a build of the bare sources at once (:data:`GUARD_MESSAGE`)."""
    if not (Path(app.srcdir) / STAGE_MARKER).is_file():
        print(GUARD_MESSAGE, file=sys.stderr, flush=True)
        raise SystemExit(2)
    app.connect("config-inited", _check_config)
    app.connect("env-updated", _plain_titles)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("doctree-resolved", _drop_thebe_config, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _write_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
