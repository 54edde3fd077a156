"""Stage the book: a copy of the sources in which every notebook is replaced by its executed run.

The staging tree ``_build/stage/<mode>/`` mirrors ``_config.yml``, ``_toc.yml`` and ``book/``;
each notebook source becomes its executed ``.ipynb`` (figure outputs turned into numbered MyST
figures), the report page is the generated one, ``_figures/`` holds the figures and their provenance
records and ``_notebook_sources/`` the notebook sources (downloadable from each figure's caption).
Widget outputs without saved state (progress bars) are dropped. Files are only rewritten when their bytes change and stale files are removed, so Sphinx rebuilds
only what changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from ..provenance import BEYOND_THE_PAPERS, FIGURE_METADATA_KEY
from .toc import Document

__all__ = ["figure_markdown", "stage_notebook", "stage_book", "FIGURES_DIR", "SOURCES_DIR"]

FIGURES_DIR = "_figures"
SOURCES_DIR = "_notebook_sources"
_SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def figure_markdown(record: dict[str, Any], source_name: str) -> str:
    """MyST ``{figure}`` for a saved figure: numbered, captioned, with alt text and links back.

    Parameters
    ----------
    record : dict
        The figure's provenance record (the sidecar written by ``save_figure``).
    source_name : str
        File name of the notebook source under ``_notebook_sources/`` (e.g. ``book/x/y.md``).
    """
    paper = record["paper_ref"]
    where = ("This figure goes beyond the papers." if paper == BEYOND_THE_PAPERS
             else f"Corresponds to {paper}.")
    caption = (f"{record['caption']} *{where}* Made by {{doc}}`/{record['notebook']}` "
               f"({{download}}`notebook source </{SOURCES_DIR}/{source_name}>`, "
               f"{{download}}`provenance record </{FIGURES_DIR}/{record['sidecar']}>`).")
    return "\n".join([
        f"````{{figure}} /{FIGURES_DIR}/{record['path']}",
        f":name: {record['label']}",
        f":alt: {record['alt']}",
        "",
        " ".join(caption.split()),
        "````",
    ])


def stage_notebook(nb: Any, source_name: str) -> Any:
    """The executed notebook as staged: figure outputs become MyST figures, parameters are hidden.

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
            record = out.get("metadata", {}).get(FIGURE_METADATA_KEY)
            if record is None:
                outputs.append(out)
                continue
            outputs.append(nbformat.v4.new_output(
                "display_data", data={"text/markdown": figure_markdown(record, source_name)}))
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
        nb = stage_notebook(nbformat.read(executed[doc.name], as_version=4), source_name)
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
