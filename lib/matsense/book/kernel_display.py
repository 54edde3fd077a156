"""How numbers print in the book's executed notebooks: an IPython extension the runner loads.

The runner starts every notebook's kernel with ``--IPKernelApp.extensions=`` this module
(:data:`matsense.book.execute.KERNEL_ARGUMENTS`), so that the outputs of the built pages read as a
person would write them:

- a float shown as a cell's value (or glued with ``myst_nb.glue`` and pasted with ``{glue:text}``)
  prints with :data:`FLOAT_FORMAT` (4 significant digits: ``0.1235``, ``1.5e-07``), also inside
  lists, tuples and dicts, and also for NumPy scalars, which otherwise print as
  ``np.float64(0.12345678901234)`` under NumPy 2;
- NumPy arrays print with :data:`NUMPY_PRECISION` digits, and NumPy 2 prints its scalars inside
  containers and ``repr`` as NumPy 1.25 did (``0.5``, not ``np.float64(0.5)``).

Nothing else changes: a notebook that formats a number itself (an f-string) prints what it asks for.
Run interactively (JupyterLab), a notebook prints as Python does, unless the reader runs
``%load_ext matsense.book.kernel_display``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FLOAT_FORMAT", "NUMPY_PRECISION", "configure", "load_ipython_extension"]

#: printf-style format of a float shown as an output (IPython's ``PlainTextFormatter.float_precision``).
FLOAT_FORMAT = "%.4g"
#: Digits of NumPy array elements (``numpy.set_printoptions(precision=...)``).
NUMPY_PRECISION = 4


def numpy_print_options(numpy_version: str) -> dict[str, Any]:
    """Keyword arguments of ``numpy.set_printoptions`` for this NumPy version.

    ``legacy="1.25"`` (scalars printed without their type, as before NumPy 2) exists from NumPy 2 on.
    """
    major = int(numpy_version.split(".", 1)[0])
    return {"precision": NUMPY_PRECISION, **({"legacy": "1.25"} if major >= 2 else {})}


def configure(ip: Any) -> None:
    """Apply the book's number formatting to the IPython shell ``ip``."""
    import numpy

    numpy.set_printoptions(**numpy_print_options(numpy.__version__))
    ip.display_formatter.formatters["text/plain"].float_precision = FLOAT_FORMAT


def load_ipython_extension(ip: Any) -> None:
    """IPython's entry point (``%load_ext matsense.book.kernel_display`` or ``--ext``)."""
    configure(ip)
