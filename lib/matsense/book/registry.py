"""The figure registry ``book/figures.yml``: paper figure -> notebook -> figure name -> claims.

Each entry names a figure that a notebook saves with :func:`matsense.provenance.save_figure` and
places with a ``{glue:figure}`` directive; the registry is the one place that says which paper figure
or theorem it corresponds to and which claims it supports. Figure names are unique in the book.
After a run, :func:`check_registry` confirms that every entry was produced *by this run* (its
provenance record exists and carries this run's cache key, mode and parameters) and is placed by
its notebook, that the claims it lists were recorded, and that no figure was saved unregistered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .yamlfile import load_yaml

from ..claims import validate_claim_id

__all__ = ["RegistryEntry", "load_registry", "produced_figures", "placed_figures", "check_registry"]


@dataclass(frozen=True)
class RegistryEntry:
    """One registered figure."""

    paper_ref: str
    notebook: str
    figure: str
    claims: tuple[str, ...] = ()


def load_registry(path: Path, notebooks: list[str] | None = None) -> list[RegistryEntry]:
    """Read ``book/figures.yml`` (missing file: empty registry).

    Raises
    ------
    ValueError
        For a malformed entry, a notebook not in the toc (when ``notebooks`` is given), a
        duplicate (notebook, figure) pair or a malformed claim id.
    """
    path = Path(path)
    if not path.is_file():
        return []
    data = load_yaml(path) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of entries {{paper_ref, notebook, figure, claims}}")
    out, seen = [], set()
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not {"paper_ref", "notebook", "figure"} <= set(entry):
            raise ValueError(f"{path}: entry {i} needs paper_ref, notebook and figure: {entry!r}")
        extra = set(entry) - {"paper_ref", "notebook", "figure", "claims"}
        if extra:
            raise ValueError(f"{path}: entry {i} has unknown keys {sorted(extra)}")
        nb, fig = str(entry["notebook"]), str(entry["figure"])
        if notebooks is not None and nb not in notebooks:
            raise ValueError(f"{path}: entry {i} names notebook {nb!r}, which is not a notebook "
                             "of _toc.yml")
        if fig in seen:
            raise ValueError(f"{path}: figure {fig!r} is registered twice (names are unique in the book)")
        seen.add(fig)
        claims = entry.get("claims") or []
        if not isinstance(claims, list):
            raise ValueError(f"{path}: entry {i}: claims must be a list of claim ids")
        out.append(RegistryEntry(paper_ref=str(entry["paper_ref"]), notebook=nb, figure=fig,
                                 claims=tuple(validate_claim_id(c) for c in claims)))
    return out


def produced_figures(output_dirs: dict[str, Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """Provenance records found in each notebook's output directory, by (notebook, figure)."""
    out = {}
    for notebook, directory in output_dirs.items():
        for sidecar in sorted((Path(directory) / "figures").glob("*.json")):
            record = json.loads(sidecar.read_text(encoding="utf-8"))
            out[(notebook, record.get("name", sidecar.stem))] = record
    return out


_GLUE_FIGURE = re.compile(r"^[`:]{3,}\{glue:figure\}\s+(\S+)", re.M)


def placed_figures(source: str) -> set[str]:
    """Names placed by ``{glue:figure}`` directives in a notebook's Markdown source."""
    return set(_GLUE_FIGURE.findall(source))


def check_registry(entries: list[RegistryEntry], produced: dict[tuple[str, str], dict[str, Any]],
                   claim_ids: set[str], *, mode: str, keys: dict[str, str],
                   parameters: dict[str, dict], ran: set[str],
                   sources: dict[str, str] | None = None) -> list[str]:
    """Errors of the registry against this run (empty when everything checks).

    Parameters
    ----------
    entries : list of RegistryEntry
        The registry.
    produced : dict
        :func:`produced_figures` of this run.
    claim_ids : set of str
        Ids of the claims recorded in this run.
    mode : str
        The run mode.
    keys, parameters : dict
        Cache key and parameters of each notebook in this run.
    ran : set of str
        Notebooks of this run; entries of other notebooks are not checked.
    sources : dict, optional
        Notebook -> its source text; when given, each registered figure must be placed by a
        ``{glue:figure}`` directive of its notebook.
    """
    errors = []
    registered = set()
    for e in entries:
        if e.notebook not in ran:
            continue
        registered.add((e.notebook, e.figure))
        rec = produced.get((e.notebook, e.figure))
        where = f"book/figures.yml: figure {e.figure!r} of {e.notebook} ({e.paper_ref})"
        if rec is None:
            errors.append(f"{where} was not produced by this run (no save_figure(fig, "
                          f"{e.figure!r}, ...) in the notebook?)")
            continue
        if rec.get("cache_key") != keys.get(e.notebook):
            errors.append(f"{where}: its provenance record is not from this run (cache key "
                          f"{str(rec.get('cache_key'))[:12]}, expected {keys.get(e.notebook, '')[:12]})")
        if rec.get("mode") != mode or rec.get("parameters") != parameters.get(e.notebook):
            errors.append(f"{where}: its provenance record has mode {rec.get('mode')!r} and "
                          f"parameters {rec.get('parameters')}, not this run's")
        if sources is not None and e.figure not in placed_figures(sources.get(e.notebook, "")):
            errors.append(f"{where} is saved but never shown: add a {{glue:figure}} {e.figure} "
                          f"directive to {e.notebook}")
        for cid in e.claims:
            if cid not in claim_ids:
                errors.append(f"{where} lists claim {cid}, which no notebook recorded")
    for (nb, fig), rec in sorted(produced.items()):
        if nb in ran and (nb, fig) not in registered:
            errors.append(f"figure {fig!r} of {nb} is not registered in "
                          "book/figures.yml: add an entry {paper_ref, notebook, figure, claims}")
    return errors
