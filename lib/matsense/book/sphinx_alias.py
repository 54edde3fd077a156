"""Sphinx extension: resolve ``matsense.<name>`` to where the object is documented.

The API pages document each object in its module (``matsense.dynamics.gd_symmetric``) while the
chapters cite the names users import (``{func}`matsense.gd_symmetric```). On a missing Python
reference whose target starts with ``matsense``, this handler imports the target, takes the object's
canonical ``__module__.__qualname__`` and resolves the reference to that, so that the nitpicky
build accepts both spellings without documenting anything twice.
"""

from __future__ import annotations

import importlib
from typing import Any

from .._ipython import import_dotted

__all__ = ["canonical_name", "setup"]


def canonical_name(target: str) -> str | None:
    """``module.qualname`` of the object named ``target`` (None if it does not import)."""
    try:
        obj: Any = import_dotted(target)
    except (ImportError, AttributeError):
        return None
    if isinstance(obj, type(importlib)):  # a module
        return obj.__name__
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname:
        return None
    return f"{module}.{qualname}"


def _resolve(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("matsense"):
        return None
    canonical = canonical_name(target)
    if not canonical or canonical == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node.get("refdoc", ""), app.builder, node["reftype"],
                               canonical, node, contnode)


def setup(app: Any) -> dict[str, Any]:
    """Register the missing-reference handler."""
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
