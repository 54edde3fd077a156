"""Parameters per mode: ``book/params/<mode>.yml`` checked against each notebook's parameters cell.

The file maps a notebook (its ``_toc.yml`` path) to a dict of parameters; a ``defaults`` entry is
merged into every notebook's dict (the notebook's own entry wins). Keys that start with ``_`` are
ignored: they hold YAML anchors shared by several entries (``_chapter: &chapter {...}`` then
``book/x: *chapter``). A notebook may only receive
parameters that its cell tagged ``parameters`` assigns: papermill would only warn about the others,
the runner refuses them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from .yamlfile import display_path, load_yaml

__all__ = ["MODES", "load_params", "parameter_names", "check_parameters"]

MODES = ("quick", "full")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _check_value(where: str, key: str, value: Any) -> None:
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        raise ValueError(f"{where}: parameter {key!r} = {value!r} was read as a string; write it "
                         "as a YAML float with a dot (e.g. 1.0e-4)")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_value(where, f"{key}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_value(where, f"{key}[{i}]", v)
    elif not (value is None or isinstance(value, (bool, int, float, str))):
        raise ValueError(f"{where}: parameter {key!r} has unsupported type {type(value).__name__}")


def load_params(root: Path, mode: str, notebooks: list[str]) -> dict[str, dict[str, Any]]:
    """Parameters of every notebook for ``mode``, with ``defaults`` merged in.

    Parameters
    ----------
    root : Path
        Repository root (holding ``book/params/<mode>.yml``).
    mode : {"quick", "full"}
        Run mode.
    notebooks : list of str
        The notebooks of the toc; every entry of the file must be one of them.

    Returns
    -------
    dict
        Notebook -> parameters (``defaults`` first, then the notebook's own entry).

    Raises
    ------
    ValueError
        For an unknown mode, a missing or malformed file, an entry naming no notebook of the toc,
        or a number that YAML read as a string (``1e-4`` without a dot).
    """
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: allowed values are {MODES}")
    path = Path(root) / "book" / "params" / f"{mode}.yml"
    if not path.is_file():
        raise ValueError(f"no parameter file for mode {mode!r}: {path} is missing")
    data = load_yaml(path, root) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{display_path(path, root)}: expected a mapping notebook -> parameters")
    defaults = data.pop("defaults", None) or {}
    # keys starting with "_" only hold YAML anchors that notebook entries reuse (<<: *name)
    data = {k: v for k, v in data.items() if not str(k).startswith("_")}
    where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    unknown = sorted(set(data) - set(notebooks))
    if unknown:
        raise ValueError(f"{where}: {unknown} are not notebooks of _toc.yml "
                         f"(notebooks: {sorted(notebooks)})")
    out = {}
    for nb in notebooks:
        entry = data.get(nb) or {}
        if not isinstance(entry, dict) or not isinstance(defaults, dict):
            raise ValueError(f"{where}: the entry of {nb!r} and 'defaults' must be mappings")
        merged = {**defaults, **entry}
        for key, value in merged.items():
            _check_value(f"{where} [{nb}]", key, value)
        out[nb] = merged
    return out


def parameter_names(nb: Any) -> set[str] | None:
    """Names assigned in the notebook's cell tagged ``parameters`` (None if it has no such cell).

    Raises
    ------
    ValueError
        If several cells are tagged ``parameters`` or the cell is not valid Python.
    """
    cells = [c for c in nb.cells
             if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return None
    if len(cells) > 1:
        raise ValueError("more than one cell is tagged 'parameters'")
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise ValueError(f"the parameters cell is not valid Python: {exc}") from exc
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
    return names


def check_parameters(notebook: str, nb: Any, params: dict[str, Any]) -> None:
    """Refuse parameters that ``notebook``'s parameters cell does not define.

    Raises
    ------
    ValueError
        Naming the notebook and the unknown keys (or the missing parameters cell).
    """
    defined = parameter_names(nb)
    if defined is None:
        raise ValueError(f"notebook {notebook!r} has no code cell tagged 'parameters' "
                         "(its first code cell must define quick, seed and the sizes)")
    unknown = sorted(set(params) - defined)
    if unknown:
        raise ValueError(f"notebook {notebook!r} does not define the parameters {unknown} in its "
                         f"parameters cell (it defines {sorted(defined)})")
