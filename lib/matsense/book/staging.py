"""Stage the book: a copy of the sources in which every notebook is replaced by its executed run.

The staging tree ``_build/stage/<mode>/`` mirrors ``_config.yml``, ``_toc.yml`` and ``book/``;
each notebook source becomes its executed ``.ipynb`` (its figures are glued outputs, placed and
captioned by the ``{glue:figure}`` directives of its Markdown), the report page is the generated one,
``_figures/`` holds the figures and their provenance records (linked from the report) and
``_notebook_sources/`` the notebook sources.
Widget outputs are dropped (a static page cannot run them, and their JavaScript would come from a
CDN), and so is papermill's injected-parameters cell: its values replace those of the notebook's
own ``parameters`` cell, so that the page and its download show the parameters of the run shown.
The file :data:`STAGE_MARKER` at the top of the tree tells the book's Sphinx extension
(:mod:`matsense.book.sphinx_ext`) that it builds a staged book, not the bare sources.
Files are only rewritten when their bytes change and stale files are removed, so Sphinx rebuilds
only what changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from .toc import Document

__all__ = ["stage_notebook", "stage_book", "FIGURES_DIR", "SOURCES_DIR", "STAGE_MARKER",
           "merge_parameters"]

FIGURES_DIR = "_figures"
SOURCES_DIR = "_notebook_sources"
_SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: Written at the top of every staged tree; its absence stops ``jupyter-book build`` of the bare
#: sources (:mod:`matsense.book.sphinx_ext`).
STAGE_MARKER = ".matsense-stage"


def stage_notebook(nb: Any) -> Any:
    """The executed notebook as staged: no injected-parameters cell, no widget.

    Papermill's ``injected-parameters`` cell is removed and its values are written into the
    notebook's ``parameters`` cell (:func:`merge_parameters`). Every widget output (a slider, a
    progress bar) and the notebook's saved widget state are dropped: a static page cannot run a
    widget, and the widget manager's JavaScript would come from a CDN.

    Returns a new notebook; ``nb`` is not modified.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    nb.metadata.pop("widgets", None)
    cells = []
    injected = None
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code" and "injected-parameters" in tags:
            injected = cell.source
            continue
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs = [out for out in cell.get("outputs", [])
                        if _WIDGET_VIEW not in out.get("data", {})]
    if injected is not None:
        for cell in cells:
            if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source = merge_parameters(cell.source, injected)
                break
    nb.cells = cells
    return nb


def _sync(target: Path, wanted: dict[str, bytes]) -> int:
    """Make ``target`` hold exactly ``wanted`` (relative path -> bytes); return files written."""
    written = 0
    for rel, data in wanted.items():
        path = target / rel
        if path.is_file() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written += 1
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            rel = path.relative_to(target).as_posix()
            if path.is_file() and rel not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return written


def stage_book(*, root: Path, stage: Path, documents: list[Document],
               executed: dict[str, Path], output_dirs: dict[str, Path],
               generated: dict[str, str]) -> int:
    """Write the staging tree; return the number of files (re)written.

    Parameters
    ----------
    root : Path
        Repository root.
    stage : Path
        Staging directory (created if needed).
    documents : list of Document
        The toc's documents.
    executed : dict
        Notebook -> executed ``.ipynb``.
    output_dirs : dict
        Notebook -> its output directory (figures are copied from ``<dir>/figures``).
    generated : dict
        Relative path -> text of generated pages (the report) that replace the repository's.

    Raises
    ------
    ValueError
        If a notebook of the toc has no executed copy.
    """
    root = Path(root)
    wanted: dict[str, bytes] = {}
    for name in ("_config.yml", "_toc.yml"):
        wanted[name] = (root / name).read_bytes()
    notebook_sources = {d.path.resolve(): d for d in documents if d.notebook}
    for path in sorted((root / "book").rglob("*")):
        rel = path.relative_to(root)
        if (not path.is_file() or _SKIP_PARTS & set(rel.parts)
                or any(p.startswith(".") for p in rel.parts)):
            continue
        if path.resolve() in notebook_sources:
            continue
        wanted[rel.as_posix()] = path.read_bytes()
    for doc in notebook_sources.values():
        if doc.name not in executed:
            raise ValueError(f"notebook {doc.name} has no executed copy to stage")
        source_name = doc.path.relative_to(root).as_posix()
        nb = stage_notebook(nbformat.read(executed[doc.name], as_version=4))
        wanted[f"{doc.name}.ipynb"] = nbformat.writes(nb).encode("utf-8")
        wanted[f"{SOURCES_DIR}/{source_name}"] = doc.path.read_bytes()
        figdir = Path(output_dirs[doc.name]) / "figures"
        if figdir.is_dir():
            for fig in sorted(figdir.iterdir()):
                if fig.suffix in (".png", ".json"):
                    wanted[f"{FIGURES_DIR}/{fig.name}"] = fig.read_bytes()
    for rel, text in generated.items():
        wanted[rel] = text.encode("utf-8")
    wanted[STAGE_MARKER] = b"Staged by python -m matsense.book run: the book Sphinx builds.\n"
    stage.mkdir(parents=True, exist_ok=True)
    return _sync(stage, wanted)


# ----------------------------------------------------------------------------------------------
# Clean pages (issue 13, helper B1): the parameters of the run, in the notebook's own cell


def merge_parameters(source: str, injected: str) -> str:
    """The ``parameters`` cell ``source`` with the values assigned in papermill's ``injected`` cell.

    Each top-level one-line assignment ``name = value`` of ``source`` whose name the injected cell
    assigns gets the injected value (its comment and layout are kept); names the injected cell
    assigns that ``source`` does not are appended. Anything that does not parse is left as it is.
    """
    import ast

    try:
        new_values = {}
        for node in ast.parse(injected).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)):
                new_values[node.targets[0].id] = ast.get_source_segment(injected, node.value)
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.split("\n")
    seen = set()
    for node in reversed(tree.body):  # from the end: column offsets of earlier lines stay valid
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in new_values
                and node.lineno == node.end_lineno == node.value.end_lineno):
            continue
        name, row = node.targets[0].id, node.lineno - 1
        seen.add(name)
        line = lines[row].encode("utf-8")  # ast offsets count UTF-8 bytes
        start, end = node.value.col_offset, node.value.end_col_offset
        lines[row] = (line[:start] + new_values[name].encode("utf-8") + line[end:]).decode("utf-8")
    extra = [f"{name} = {value}" for name, value in new_values.items() if name not in seen]
    merged = "\n".join(lines)
    if extra:
        merged = merged.rstrip("\n") + "\n" + "\n".join(extra)
    return merged
