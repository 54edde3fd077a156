"""Optional runtime helpers: tqdm's progress bar and threadpoolctl's BLAS thread limit.

Both are installed with the library, but the science floor must also import without them: in the
browser (JupyterLite, Pyodide) the library is installed from its wheel without dependencies, next
to numpy, scipy and matplotlib only (``tests/test_pure_import.py``). Without tqdm a run shows no
progress bar; without threadpoolctl the BLAS threads are left as they are (Pyodide has one).
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["tqdm", "threadpool_limits", "HAVE_TQDM", "HAVE_THREADPOOLCTL"]


class _SilentBar:
    """Stands in for ``tqdm.auto.tqdm`` when tqdm is not installed: counts, shows nothing."""

    def __init__(self, iterable: Any = None, *args: Any, total: int | None = None,
                 **kwargs: Any) -> None:
        self.iterable, self.total, self.n = iterable, total, 0

    def __iter__(self) -> Any:
        return iter(self.iterable if self.iterable is not None else ())

    def __enter__(self) -> "_SilentBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps."""
        self.n += n

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to show."""

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def _no_thread_limit(limits: Any = None, user_api: Any = None) -> contextlib.nullcontext:
    """Stands in for ``threadpoolctl.threadpool_limits``: leaves the BLAS threads as they are."""
    return contextlib.nullcontext()


try:
    from tqdm.auto import tqdm
    HAVE_TQDM = True
except ImportError:
    tqdm = _SilentBar  # type: ignore[assignment,misc]
    HAVE_TQDM = False

try:
    from threadpoolctl import threadpool_limits
    HAVE_THREADPOOLCTL = True
except ImportError:
    threadpool_limits = _no_thread_limit  # type: ignore[assignment]
    HAVE_THREADPOOLCTL = False
