"""The book's table of contents: which documents exist and which of them are notebooks.

A document of ``_toc.yml`` (jb-book format) is a *notebook* when its ``.md`` file carries a
``jupytext`` or ``kernelspec`` entry in its front matter (a MyST Markdown notebook), or when it is
an ``.ipynb`` file; other documents (``book/intro``, ``book/references``) are plain pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .yamlfile import load_yaml

__all__ = ["Document", "read_toc", "is_notebook", "front_matter"]


@dataclass(frozen=True)
class Document:
    """One entry of the table of contents.

    Attributes
    ----------
    name : str
        Path as listed in ``_toc.yml`` (no extension), e.g. ``book/foundations/problem``.
    path : Path
        The source file.
    notebook : bool
        Whether the document is a notebook the runner executes.
    """

    name: str
    path: Path
    notebook: bool


def _entries(node: object) -> list[str]:
    """Every ``file:`` of a jb-book toc node, depth first, in order."""
    out: list[str] = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(str(node["file"]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                out.extend(_entries(child))
    elif isinstance(node, list):
        for child in node:
            out.extend(_entries(child))
    return out


def front_matter(path: Path) -> dict:
    """The YAML front matter of a Markdown file (empty if it has none)."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    data = load_yaml(path, text=text[3:end])
    return data if isinstance(data, dict) else {}


def is_notebook(path: Path) -> bool:
    """Whether ``path`` is a notebook: ``.ipynb``, or ``.md`` with jupytext/kernelspec front matter."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return True
    if path.suffix != ".md":
        return False
    fm = front_matter(path)
    return "jupytext" in fm or "kernelspec" in fm


def _resolve(root: Path, name: str) -> Path:
    stem = name.removesuffix(".md").removesuffix(".ipynb")
    candidates = [root / f"{stem}.md", root / f"{stem}.ipynb"]
    found = [c for c in candidates if c.is_file()]
    if not found:
        raise ValueError(f"_toc.yml lists {name!r}, but neither {stem}.md nor {stem}.ipynb exists")
    if len(found) > 1:
        raise ValueError(f"_toc.yml entry {name!r} is ambiguous: both {stem}.md and {stem}.ipynb exist")
    return found[0]


def read_toc(root: Path) -> list[Document]:
    """All documents of ``<root>/_toc.yml`` in reading order.

    Raises
    ------
    ValueError
        If the toc is missing, not in jb-book format, lists a file twice or lists a missing file.
    """
    root = Path(root)
    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise ValueError(f"no table of contents at {toc_path}")
    toc = load_yaml(toc_path, root)
    if not isinstance(toc, dict) or "root" not in toc:
        raise ValueError(f"{toc_path}: expected a jb-book toc with a 'root' entry")
    names = [str(toc["root"])] + _entries({k: v for k, v in toc.items() if k != "root"})
    names = [n.removesuffix(".md").removesuffix(".ipynb") for n in names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{toc_path} lists {dupes} more than once")
    docs = []
    for name in names:
        path = _resolve(root, name)
        docs.append(Document(name=name, path=path, notebook=is_notebook(path)))
    return docs
