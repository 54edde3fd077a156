"""Execute one notebook with papermill, in a clean environment, and judge the result.

:func:`execute` is what each worker of the runner's process pool calls. It converts the MyST
notebook to ``.ipynb`` with jupytext, sets the environment the kernel inherits (run context, Agg,
``PYTHONHASHSEED=0``, one BLAS thread), runs papermill with the mode's parameters, then fails the
notebook on the first cell that raised, wrote to stderr (which includes every Python warning) or
logged a warning. The executed notebook and the notebook's output directory are stored in the cache
on success. Everything crossing the process boundary is a plain dict (JSON-safe).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..context import (ENV_CACHE_KEY, ENV_MODE, ENV_NOTEBOOK, ENV_OUTPUT_DIR, ENV_PARAMS)
from ..sweepcache import ENV_SWEEP_CACHE

__all__ = ["kernel_environment", "execute", "first_problem", "source_line", "PAPERMILL_TAGS"]

#: Cells papermill adds; they are not counted when a cell index is reported.
PAPERMILL_TAGS = ("injected-parameters", "papermill-error-cell-tag")


def kernel_environment(*, notebook: str, mode: str, output_dir: Path, parameters: dict,
                       cache_key: str | None, sweep_cache: Path | None = None) -> dict[str, str]:
    """Environment variables the runner sets before a notebook's kernel starts."""
    env = {
        ENV_NOTEBOOK: notebook,
        ENV_MODE: mode,
        ENV_OUTPUT_DIR: str(output_dir),
        ENV_PARAMS: json.dumps(parameters, sort_keys=True),
        ENV_CACHE_KEY: cache_key or "",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # prefer the kernelspec of this environment over a user-wide one
        "JUPYTER_PREFER_ENV_PATH": "1",
        # debugpy's start-up notice would otherwise go to the kernel's stderr
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if sweep_cache is not None:
        env[ENV_SWEEP_CACHE] = str(sweep_cache)
    return env


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:120]
    return "(empty cell)"


def first_problem(nb: Any) -> dict[str, Any] | None:
    """The first cell of an executed notebook that raised or wrote to stderr, or None.

    Returns
    -------
    dict or None
        ``cell`` (0-based index among the notebook's own cells, Markdown included, papermill's
        cells not counted), ``first_line`` and ``source`` of the cell, ``kind`` (``"error"`` or
        ``"stderr"``) and ``detail`` (exception or the first lines written to stderr).
    """
    index = -1
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(t in PAPERMILL_TAGS for t in tags):
            continue
        index += 1
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                detail = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
                return {"cell": index, "first_line": _first_line(cell.source), "kind": "error",
                        "detail": detail, "source": cell.source}
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                detail = "\n".join(text.strip().splitlines()[:6])
                return {"cell": index, "first_line": _first_line(cell.source), "kind": "stderr",
                        "detail": detail, "source": cell.source}
    return None


def source_line(source_file: Path, cell_source: str) -> int | None:
    """1-based line of the notebook source file where a cell's code starts (None if not found)."""
    code = cell_source.strip()
    if not code:
        return None
    text = Path(source_file).read_text(encoding="utf-8")
    at = text.find(code)
    return None if at < 0 else text.count("\n", 0, at) + 1


def _describe(notebook: str, problem: dict[str, Any], source_file: Path) -> str:
    what = "raised" if problem["kind"] == "error" else "wrote to stderr (an error or warning)"
    line = source_line(source_file, problem.get("source", ""))
    where = f", {Path(source_file).name} line {line}" if line else ""
    return (f"{notebook}: cell {problem['cell']} ({problem['first_line']!r}{where}) {what}:\n"
            f"    {problem['detail'].replace(chr(10), chr(10) + '    ')}")


def execute(spec: dict[str, Any]) -> dict[str, Any]:
    """Execute one notebook; return a JSON-safe result (never raises for a notebook's failure).

    Parameters
    ----------
    spec : dict
        ``notebook`` (toc name), ``source`` (path of the .md/.ipynb), ``mode``, ``parameters``,
        ``key`` (cache key), ``output_dir``, ``executed`` (where the executed .ipynb goes),
        ``cache_dir`` (or None to skip storing), ``timeout`` (seconds per cell, or None).

    Returns
    -------
    dict
        ``notebook``, ``mode``, ``status`` (``"ok"``/``"failed"``), ``source``
        (``"executed"``), ``wall_s``, ``message`` (why it failed, or ``""``), ``key``.
    """
    import jupytext
    import nbformat
    import papermill as pm

    from .cache import NotebookCache

    notebook, mode = spec["notebook"], spec["mode"]
    output_dir, executed = Path(spec["output_dir"]), Path(spec["executed"])
    result = {"notebook": notebook, "mode": mode, "status": "failed", "source": "executed",
              "wall_s": 0.0, "message": "", "key": spec["key"], "cache_problem": None}
    if output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True)
    executed.parent.mkdir(parents=True, exist_ok=True)
    os.environ.update(kernel_environment(notebook=notebook, mode=mode, output_dir=output_dir,
                                         parameters=spec["parameters"], cache_key=spec["key"],
                                         sweep_cache=spec.get("sweep_cache")))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="matsense-nb-") as tmp:
        out_path = Path(tmp) / "executed.ipynb"
        try:
            nb = jupytext.read(spec["source"])
            nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"})
            pm.execute_notebook(nb, str(out_path), parameters=spec["parameters"],
                                cwd=str(Path(spec["source"]).parent), progress_bar=False,
                                log_output=False, start_timeout=120,
                                execution_timeout=spec.get("timeout"),
                                # the kernel's own log warns that local TCP is unencrypted, and
                                # reports the interrupt nbclient sends it at shutdown as an ERROR;
                                # a kernel that dies still fails the run (papermill raises)
                                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        except pm.PapermillExecutionError:
            pass  # the executed notebook holds the error; reported below
        except Exception as exc:  # noqa: BLE001 - the kernel did not even run the notebook
            result["wall_s"] = time.perf_counter() - start
            result["message"] = f"{notebook}: could not be executed: {type(exc).__name__}: {exc}"
            return result
        result["wall_s"] = time.perf_counter() - start
        if not out_path.exists():
            result["message"] = f"{notebook}: papermill wrote no executed notebook"
            return result
        executed_nb = nbformat.read(out_path, as_version=4)
        shutil.copyfile(out_path, executed)
        problem = first_problem(executed_nb)
        if problem is not None:
            result["message"] = _describe(notebook, problem, Path(spec["source"]))
            result["problem"] = problem
            return result
        result["status"] = "ok"
        if spec.get("cache_dir"):
            record = {"notebook": notebook, "mode": mode, "parameters": spec["parameters"],
                      "wall_s": result["wall_s"], "key": spec["key"]}
            NotebookCache(Path(spec["cache_dir"])).store(spec["key"], out_path, output_dir,
                                                         record)
    return result
