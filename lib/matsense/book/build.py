"""Build the staged book's HTML with ``jupyter-book build -W -n --keep-going`` (execution off).

Every Sphinx warning fails the build (``-W``), references are checked (``-n``, nitpicky), and
``--keep-going`` reports all warnings at once. The full log goes to a file; the warnings are
returned so the runner can print them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BuildResult", "build_html", "jupyter_book_command"]

_WARNING_RE = re.compile(r"(WARNING|ERROR|CRITICAL|SEVERE)[:/]")


@dataclass(frozen=True)
class BuildResult:
    """Outcome of one ``jupyter-book build``.

    Attributes
    ----------
    ok : bool
        Whether the build succeeded with no warning.
    html : Path
        The HTML output directory.
    warnings : list of str
        Warning and error lines of the log.
    wall_s : float
        Wall time in seconds.
    log : Path
        Full output of the build.
    """

    ok: bool
    html: Path
    warnings: list[str]
    wall_s: float
    log: Path


def jupyter_book_command() -> list[str]:
    """The ``jupyter-book`` executable of this environment."""
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; "
                                  "sys.exit(main())"]


def build_html(stage: Path, path_output: Path, log: Path) -> BuildResult:
    """Run ``jupyter-book build <stage> --path-output <path_output> -W -n --keep-going``.

    The HTML lands in ``<path_output>/_build/html``.
    """
    cmd = [*jupyter_book_command(), "build", str(stage), "--path-output", str(path_output),
           "-W", "-n", "--keep-going"]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    log.parent.mkdir(parents=True, exist_ok=True)
    text = proc.stdout + ("\n" if proc.stdout and proc.stderr else "") + proc.stderr
    log.write_text(f"$ {' '.join(cmd)}\n{text}", encoding="utf-8")
    warnings = [line.strip() for line in text.splitlines() if _WARNING_RE.search(line)]
    html = Path(path_output) / "_build" / "html"
    ok = proc.returncode == 0 and not warnings and (html / "index.html").is_file()
    if proc.returncode != 0 and not warnings:
        warnings = [line for line in text.strip().splitlines()[-15:]]
    return BuildResult(ok=ok, html=html, warnings=warnings, wall_s=wall, log=log)
