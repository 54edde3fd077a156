"""The book pipeline, the top floor: run every notebook (quick or full mode), check claims and figures, build.

Entry point: ``python -m matsense.book run --mode quick|full`` (:mod:`matsense.book.__main__`).
One job per module: :mod:`.toc` (what the book contains), :mod:`.params` (parameters per mode),
:mod:`.cache` (a cache of executed notebooks that cannot go stale), :mod:`.execute` (one notebook
with papermill), :mod:`.ledger` (claims, declared claims and known deviations), :mod:`.registry`
(``figures.yml``), :mod:`.report` (the reproduction report), :mod:`.staging` (the staged book),
:mod:`.build` (``jupyter-book build``), :mod:`.launch` (launch buttons and downloads, a Sphinx
extension), :mod:`.lite` (the JupyterLite site and the Colab copies beside the HTML), :mod:`.runner`
(all of it).

Layering: this package imports the science (:mod:`matsense.sweepcache`) and the notebook record
(:mod:`matsense.claims`, :mod:`matsense.provenance`, :mod:`matsense.context`); nothing below imports
it (``tests/test_architecture.py``). Its source is not part of a notebook's cache key.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_book", "RunOptions", "RunSummary"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import runner
        return getattr(runner, name)
    raise AttributeError(f"module 'matsense.book' has no attribute {name!r}")
