"""What a notebook knows about the run that executes it.

The book runner sets environment variables before it launches each
notebook's kernel; :func:`current_context` reads them back inside the kernel. Outside the runner
(a notebook opened by hand) the context falls back to sensible defaults: notebook ``interactive``
(or the notebook path Jupyter reports), mode ``interactive``, outputs under ``_build/interactive``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._io import find_root

__all__ = ["ENV_NOTEBOOK", "ENV_MODE", "ENV_OUTPUT_DIR", "ENV_PARAMS", "ENV_CACHE_KEY",
           "RunContext", "current_context", "notebook_slug", "find_root"]

ENV_NOTEBOOK = "MATSENSE_NOTEBOOK"      #: toc path of the notebook, e.g. ``book/foundations/problem``
ENV_MODE = "MATSENSE_MODE"              #: ``quick`` or ``full``
ENV_OUTPUT_DIR = "MATSENSE_OUTPUT_DIR"  #: where figures and claims of this notebook land
ENV_PARAMS = "MATSENSE_PARAMS"          #: JSON of the parameters injected into the notebook
ENV_CACHE_KEY = "MATSENSE_CACHE_KEY"    #: cache key of this execution (recorded in provenance)

INTERACTIVE = "interactive"


@dataclass(frozen=True)
class RunContext:
    """The run a notebook belongs to.

    Attributes
    ----------
    notebook : str
        Path of the notebook as listed in ``_toc.yml`` (no extension), or ``"interactive"``.
    mode : str
        ``"quick"``, ``"full"`` or ``"interactive"``.
    output_dir : Path
        Directory where the notebook's figures (``figures/``) and claims (``claims.json``) go.
    parameters : dict
        The parameters the runner injected (empty outside the runner).
    cache_key : str or None
        The runner's cache key for this execution (None outside the runner).
    """

    notebook: str
    mode: str
    output_dir: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    cache_key: str | None = None

    @property
    def slug(self) -> str:
        """File-name prefix of this notebook's outputs (see :func:`notebook_slug`)."""
        return notebook_slug(self.notebook)

    @property
    def in_runner(self) -> bool:
        """True when the notebook is executed by the runner (quick or full mode)."""
        return self.mode != INTERACTIVE


def notebook_slug(notebook: str) -> str:
    """File-name prefix for a notebook: its toc path without ``book/``, ``/`` replaced by ``-``.

    >>> notebook_slug("book/foundations/problem")
    'foundations-problem'
    """
    path = notebook.removeprefix("book/")
    path = re.sub(r"\.(md|ipynb)$", "", path)
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return slug or INTERACTIVE




def _interactive_notebook() -> str:
    # Jupyter Server >= 2 tells the kernel which notebook it serves; VS Code sets a variable.
    name = os.environ.get("JPY_SESSION_NAME", "")
    return Path(name).with_suffix("").as_posix() if name else INTERACTIVE


def current_context() -> RunContext:
    """Read the run context from the environment (set by the runner), or the interactive defaults.

    Raises
    ------
    ValueError
        If the runner's variables are inconsistent (mode set but no output directory, or
        parameters that are not a JSON object).
    """
    mode = os.environ.get(ENV_MODE)
    if not mode:
        root = find_root()
        return RunContext(notebook=_interactive_notebook(), mode=INTERACTIVE,
                          output_dir=root / "_build" / INTERACTIVE)
    if mode not in ("quick", "full"):
        raise ValueError(f"{ENV_MODE}={mode!r}: allowed values are 'quick' and 'full'")
    out = os.environ.get(ENV_OUTPUT_DIR)
    if not out:
        raise ValueError(f"{ENV_MODE} is set but {ENV_OUTPUT_DIR} is not: the runner sets both")
    params = json.loads(os.environ.get(ENV_PARAMS) or "{}")
    if not isinstance(params, dict):
        raise ValueError(f"{ENV_PARAMS} must hold a JSON object, got {type(params).__name__}")
    return RunContext(notebook=os.environ.get(ENV_NOTEBOOK, INTERACTIVE), mode=mode,
                      output_dir=Path(out), parameters=params,
                      cache_key=os.environ.get(ENV_CACHE_KEY) or None)
