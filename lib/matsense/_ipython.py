"""The little the library needs from IPython: whether it runs in a kernel, and the cell count.

Claims and figures display themselves once per cell; both use these helpers.
"""

from __future__ import annotations

__all__: list[str] = []


def execution_count() -> int | None:
    """Execution count of the running IPython cell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    return None if ip is None else ip.execution_count
