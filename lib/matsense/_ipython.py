"""The little the library needs from IPython: show an object once per cell, and resolve dotted names.

Claims (:mod:`matsense.claims`) and figures (:mod:`matsense.provenance`) display themselves when
they are recorded; if the same object is also the last expression of the cell, IPython would show
it a second time. :func:`display_once` and :func:`already_shown` prevent that.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__: list[str] = []

_shown: dict[int, int | None] = {}


def execution_count() -> int | None:
    """Execution count of the running IPython cell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    return None if ip is None else ip.execution_count


def already_shown(obj: object) -> bool:
    """Whether :func:`display_once` showed ``obj`` in the running cell."""
    return _shown.get(id(obj), -1) == execution_count()


def display_once(obj: object, bundle: dict, metadata: dict | None = None) -> None:
    """Display the MIME ``bundle`` of ``obj`` in the running IPython cell (nothing outside IPython)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:
        return
    display(bundle, raw=True, metadata=metadata or {})
    count = execution_count()
    for key in [k for k, c in _shown.items() if c != count]:  # forget earlier cells
        del _shown[key]
    _shown[id(obj)] = count


def import_dotted(name: str) -> Any:
    """The object named ``name`` (``package.module.attr...``): import the longest prefix, getattr the rest.

    Raises ImportError when no prefix imports and AttributeError when an attribute is missing.
    """
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no prefix of {name!r} is an importable module")
