"""Stage the book: a copy of the sources in which every notebook is replaced by its executed run.

The staging tree ``_build/stage/<mode>/`` mirrors ``_config.yml``, ``_toc.yml`` and ``book/``;
each notebook source becomes its executed ``.ipynb`` (its figures are glued outputs, placed and
captioned by the ``{glue:figure}`` directives of its Markdown), the report page is the generated one,
``_figures/`` holds the figures and their provenance records (linked from the report) and
``_notebook_sources/`` the notebook sources.
Widget outputs without saved state (progress bars) are dropped. Files are only rewritten when their bytes change and stale files are removed, so Sphinx rebuilds
only what changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from .toc import Document

__all__ = ["stage_notebook", "stage_book", "FIGURES_DIR", "SOURCES_DIR"]

FIGURES_DIR = "_figures"
SOURCES_DIR = "_notebook_sources"
_SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def stage_notebook(nb: Any) -> Any:
    """The executed notebook as staged: the parameters cells are hidden.

    Widget outputs are dropped when the notebook saved no widget state (papermill does not), since
    a static page cannot render them (a tqdm bar would show as an empty box).

    Returns a new notebook; ``nb`` is not modified.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    has_widget_state = bool(nb.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state"))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
        outputs = []
        for out in cell.get("outputs", []):
            if _WIDGET_VIEW in out.get("data", {}) and not has_widget_state:
                continue  # a widget (e.g. a tqdm bar) cannot render without its saved state
            outputs.append(out)
        cell.outputs = outputs
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
    stage.mkdir(parents=True, exist_ok=True)
    return _sync(stage, wanted)
