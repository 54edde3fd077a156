"""Read the book's YAML configuration files with one-line errors that name the file and the line.

``_toc.yml``, ``book/params/*.yml``, ``book/figures.yml``, ``book/known_deviations.yml`` and the
chapters' ``claims.yml`` are read through :func:`load_yaml`: malformed YAML becomes a
:class:`ValueError` such as ``book/params/quick.yml line 3, column 5: malformed YAML: mapping
values are not allowed here``, which the CLI prints on one line with exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["load_yaml", "display_path"]


def display_path(path: Path, root: Path | None = None) -> str:
    """``path`` relative to ``root`` when it lies under it, else as given."""
    path = Path(path)
    if root is not None:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def load_yaml(path: Path, root: Path | None = None, text: str | None = None) -> Any:
    """``yaml.safe_load`` of a file (or of ``text``, read from it), with a one-line error.

    Raises
    ------
    ValueError
        Naming the file (relative to ``root``), the line and column when PyYAML knows them, and
        PyYAML's description of the problem; also for a file that cannot be read or decoded.
    """
    where = display_path(path, root)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise ValueError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = _one_line(problem if not context or context == problem else f"{context}, {problem}")
        raise ValueError(f"{where}{at}: malformed YAML: {detail}") from None
