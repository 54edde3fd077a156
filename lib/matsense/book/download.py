"""The notebook a reader downloads from a page: the executed run, readable in plain Jupyter.

Each page of the book offers its notebook for download (the ``.ipynb`` button). The staged notebook
that Sphinx renders places its figures and numbers with MyST directives and roles that only the
book understands: ``{glue:figure}`` (a figure glued by :func:`matsense.provenance.save_figure`),
``{glue:text}`` (a number glued by ``myst_nb.glue``) and ``{include}`` (a generated claims table).
In Jupyter they would show as raw text, and the figures, glued without display, not at all.

:func:`download_notebook` rewrites the Markdown of such a notebook for Jupyter: a glued figure
becomes an image embedded in its Markdown cell (a cell attachment) followed by its caption, a glued
number its text (formatted as the book formats it), an included file its content. Code cells and
their outputs are kept (the glued figures' hidden copies are dropped, since the Markdown now holds
them). The book's Sphinx extension (:mod:`matsense.book.sphinx_ext`) writes this version over the
copy of the notebook that the page links to.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["glued_outputs", "download_notebook"]

_RECORD_PREFIX = "application/papermill.record/"
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z:-]+)\}\s*(?P<arg>.*?)\s*$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_ROLE = re.compile(r"\{glue(?::(?P<kind>text|md|any|))?\}`(?P<body>[^`]+)`")


def glued_outputs(nb: Any) -> dict[str, dict[str, Any]]:
    """Every value glued in an executed notebook: glue key -> MIME bundle (prefix removed)."""
    found: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = out.get("metadata", {}).get("scrapbook", {})
            key, prefix = meta.get("name"), meta.get("mime_prefix", _RECORD_PREFIX)
            if key:
                found[key] = {mime[len(prefix):]: data for mime, data in out.get("data", {}).items()
                              if mime.startswith(prefix)}
    return found


def _format_text(bundle: dict[str, Any], fmt_spec: str) -> str | None:
    text = bundle.get("text/plain")
    if text is None:
        return None
    text = "".join(text) if isinstance(text, list) else text
    try:
        from myst_nb.core.variables import format_plain_text
    except ImportError:  # pragma: no cover - myst-nb is in the book extra
        return text
    try:
        return format_plain_text(text, fmt_spec)
    except (TypeError, ValueError):
        return text


def _replace_roles(text: str, glued: dict[str, dict[str, Any]]) -> str:
    def paste(match: re.Match) -> str:
        kind, body = match.group("kind") or "", match.group("body")
        key, fmt = (body.rsplit(":", 1) + ["s"])[:2] if kind == "text" else (body, "")
        bundle = glued.get(key)
        if bundle is None:
            return match.group(0)
        if kind == "md" and "text/markdown" in bundle:
            value = bundle["text/markdown"]
            return "".join(value) if isinstance(value, list) else value
        pasted = _format_text(bundle, fmt if kind == "text" else "")
        return match.group(0) if pasted is None else pasted
    return _ROLE.sub(paste, text)


def _directive(lines: list[str], start: int) -> tuple[dict[str, str], list[str], int] | None:
    """Options, body lines and the index after the closing fence of the directive at ``start``."""
    fence = _FENCE.match(lines[start]).group("fence")
    options: dict[str, str] = {}
    i = start + 1
    while i < len(lines) and _OPTION.match(lines[i]):
        m = _OPTION.match(lines[i])
        options[m.group("key")] = m.group("value")
        i += 1
    body = []
    while i < len(lines) and lines[i].strip() != fence:
        body.append(lines[i])
        i += 1
    if i == len(lines):
        return None  # unclosed: leave it alone
    return options, body, i + 1


def _markdown(source: str, glued: dict[str, dict[str, Any]], base: Path | None,
              attachments: dict[str, dict[str, str]], used: set[str]) -> str:
    lines = source.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        parsed = _directive(lines, i) if m and m.group("name") in ("glue:figure", "include") else None
        if parsed is None:
            out.append(lines[i])
            i += 1
            continue
        options, body, after = parsed
        name, arg = m.group("name"), m.group("arg")
        if name == "include":
            path = (base / arg) if base is not None else None
            if path is None or not path.is_file():
                out.extend(lines[i:after])
            else:
                out.append(path.read_text(encoding="utf-8").rstrip("\n"))
        else:
            png = glued.get(arg, {}).get("image/png")
            if png is None:
                out.extend(lines[i:after])
            else:
                file = f"{arg}.png"
                attachments[file] = {"image/png": "".join(png) if isinstance(png, list) else png}
                used.add(arg)
                alt = " ".join(options.get("alt", arg).split()).replace("[", "(").replace("]", ")")
                caption = "\n".join(body).strip()
                out.append(f"![{alt}](attachment:{file})")
                if caption:
                    out += ["", f"**Figure.** {caption}"]
        i = after
    return _replace_roles("\n".join(out), glued)


def download_notebook(nb: Any, *, base: Path | None = None) -> Any:
    """The reader's version of an executed, staged notebook (see the module docstring).

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        The staged notebook (not modified).
    base : Path, optional
        Folder of the notebook, against which ``{include}`` paths are read; without it, includes
        are left as they are.

    Returns
    -------
    nbformat.NotebookNode
        A new notebook.
    """
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    glued = glued_outputs(nb)
    used: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        attachments: dict[str, dict[str, str]] = {}
        cell.source = _markdown(cell.source, glued, base, attachments, used)
        if attachments:
            cell.setdefault("attachments", {}).update(attachments)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if o.get("metadata", {}).get("scrapbook", {}).get("name") not in used]
    return nb
