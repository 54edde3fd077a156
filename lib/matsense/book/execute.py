"""Execute one notebook with papermill, in a clean environment, and judge the result.

:func:`execute` is what each worker of the runner's process pool calls. It converts the MyST
notebook to ``.ipynb`` with jupytext, sets the environment the kernel inherits (run context, Agg,
``PYTHONHASHSEED=0``, one BLAS thread), runs papermill with the mode's parameters, then fails the
notebook on the first cell that raised, wrote to stderr (which includes every Python warning) or
logged a warning. The notebook writes into an output directory private to this execution; on
success, and only when that directory holds everything expected (:func:`missing_outputs`), the
executed notebook and the directory are stored in the cache; the runner then publishes them. A
cell running past the time-out is reported with the notebook and the cell. Everything crossing
the process boundary is a plain dict (JSON-safe).
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
from ..dynamics import ENV_NO_PROGRESS
from ..sweepcache import ENV_SWEEP_CACHE

__all__ = ["kernel_environment", "execute", "first_problem", "source_line", "expected_outputs",
           "missing_outputs", "PAPERMILL_TAGS"]

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
        # no progress bar in a built page (issue 13): matsense.dynamics honours the first, tqdm's
        # defaults the second
        ENV_NO_PROGRESS: "1",
        "TQDM_DISABLE": "1",
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


def expected_outputs(source: str, figures: list[str]) -> dict[str, Any]:
    """What a complete execution of a notebook leaves in its output directory.

    ``claims``: whether it must write ``claims.json`` (its source calls ``record_claim`` or
    ``check_claim``); ``figures``: the figures ``book/figures.yml`` registers for it.
    """
    return {"claims": "record_claim" in source or "check_claim" in source,
            "figures": sorted(figures)}


def missing_outputs(outputs: Path, expected: dict[str, Any]) -> str | None:
    """What an output directory lacks of :func:`expected_outputs` (None when it is complete)."""
    outputs = Path(outputs)
    missing = []
    if expected.get("claims") and not (outputs / "claims.json").is_file():
        missing.append("claims.json")
    for name in expected.get("figures", ()):
        for suffix in (".png", ".json"):
            if not (outputs / "figures" / f"{name}{suffix}").is_file():
                missing.append(f"figures/{name}{suffix}")
    return f"its outputs lack {', '.join(missing)}" if missing else None


def _running_cell(path: Path) -> dict[str, Any] | None:
    """The cell papermill was executing when it stopped (the last one it started), or None."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - no readable notebook: the caller says "a cell"
        return None
    index, found = -1, None
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if any(t in PAPERMILL_TAGS for t in tags):
            continue
        index += 1
        # papermill marks unstarted cells "completed" at the end; only started ones have a time
        started = cell.get("metadata", {}).get("papermill", {}).get("start_time")
        if cell.cell_type == "code" and started:
            found = {"cell": index, "first_line": _first_line(cell.source), "source": cell.source}
    return found


def _is_timeout(exc: BaseException) -> bool:
    try:
        from nbclient.exceptions import CellTimeoutError
    except ImportError:  # pragma: no cover
        CellTimeoutError = TimeoutError  # noqa: N806
    return isinstance(exc, (CellTimeoutError, TimeoutError)) or "timed out" in str(exc).lower()


def _where(problem: dict[str, Any] | None, source_file: Path) -> str:
    if problem is None:
        return "a cell"
    line = source_line(source_file, problem.get("source", ""))
    at = f", {Path(source_file).name} line {line}" if line else ""
    return f"cell {problem['cell']} ({problem['first_line']!r}{at})"


def _clear(directory: Path) -> None:
    """Empty ``directory`` (keep the folder itself)."""
    for child in Path(directory).iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def execute(spec: dict[str, Any]) -> dict[str, Any]:
    """Execute one notebook; return a JSON-safe result (never raises for a notebook's failure).

    Parameters
    ----------
    spec : dict
        ``notebook`` (toc name), ``source`` (path of the .md/.ipynb), ``mode``, ``parameters``,
        ``key`` (cache key), ``output_dir`` (a directory private to this execution, created
        here: the runner publishes it), ``executed`` (where the executed .ipynb goes, also
        private), ``cache_dir`` (or None to skip storing), ``timeout`` (whole seconds per cell,
        or None), ``expected`` (:func:`expected_outputs`; an execution whose outputs lack them
        is not stored in the cache).

    Returns
    -------
    dict
        ``notebook``, ``mode``, ``status`` (``"ok"``/``"failed"``), ``source``
        (``"executed"``), ``wall_s``, ``message`` (why it failed, or ``""``), ``key``,
        ``cache_problem`` (why it was not stored in the cache, or None).
    """
    import jupytext
    import nbformat
    import papermill as pm

    from .cache import NotebookCache

    notebook, mode = spec["notebook"], spec["mode"]
    output_dir, executed = Path(spec["output_dir"]), Path(spec["executed"])
    result = {"notebook": notebook, "mode": mode, "status": "failed", "source": "executed",
              "wall_s": 0.0, "message": "", "key": spec["key"], "cache_problem": None}
    output_dir.mkdir(parents=True, exist_ok=True)
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
            for attempt in (1, 2):
                try:
                    pm.execute_notebook(nb, str(out_path), parameters=spec["parameters"],
                                        cwd=str(Path(spec["source"]).parent), progress_bar=False,
                                        log_output=False, start_timeout=120,
                                        execution_timeout=spec.get("timeout"),
                                        # the kernel's own log warns that local TCP is unencrypted,
                                        # and reports the interrupt nbclient sends it at shutdown as
                                        # an ERROR; a kernel that dies still fails the run;
                                        # numbers print rounded (KERNEL_ARGUMENTS)
                                        extra_arguments=list(KERNEL_ARGUMENTS))
                    break
                except pm.PapermillExecutionError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    # A kernel that failed to start or died (a port taken by another kernel
                    # starting at the same moment, say) is given one more chance from a clean
                    # output folder; a time-out or the notebook's own error is not retried.
                    if attempt == 2 or (spec.get("timeout") and _is_timeout(exc)):
                        raise
                    _clear(output_dir)
                    out_path.unlink(missing_ok=True)
        except pm.PapermillExecutionError:
            pass  # the executed notebook holds the error; reported below
        except Exception as exc:  # noqa: BLE001 - the kernel did not even run the notebook
            result["wall_s"] = time.perf_counter() - start
            if spec.get("timeout") and _is_timeout(exc):
                cell = _running_cell(out_path)
                if out_path.exists():
                    shutil.copyfile(out_path, executed)
                result["timed_out"] = True
                result["message"] = (
                    f"{notebook}: {_where(cell, Path(spec['source']))} timed out: it ran longer "
                    f"than the limit of {spec['timeout']} s per cell (raise it with --timeout N, "
                    "or disable it with --timeout 0)")
                return result
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
        incomplete = missing_outputs(output_dir, spec.get("expected") or {})
        if incomplete is not None:
            result["cache_problem"] = f"{notebook}: not cached: {incomplete}"
        elif spec.get("cache_dir"):
            record = {"notebook": notebook, "mode": mode, "parameters": spec["parameters"],
                      "wall_s": result["wall_s"], "key": spec["key"]}
            NotebookCache(Path(spec["cache_dir"])).store(spec["key"], out_path, output_dir,
                                                         record)
    return result


# ----------------------------------------------------------------------------------------------
# Clean pages (issue 13, helper B1): how every kernel starts, and what of it the cache key covers

#: Arguments every notebook kernel starts with: the kernel's own log is quiet (it warns that local
#: TCP is unencrypted, and reports the interrupt nbclient sends at shutdown as an ERROR), and
#: numbers print rounded, NumPy 2 scalars without their type (:mod:`matsense.book.kernel_display`).
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL",
                    "--IPKernelApp.extensions=matsense.book.kernel_display")


def kernel_inputs() -> list[tuple[str, bytes]]:
    """What of the kernel's start-up can change a notebook's outputs, as cache-key inputs.

    The kernel arguments, the fixed part of :func:`kernel_environment` and the source of
    :mod:`matsense.book.kernel_display`: editing any of them executes the notebooks again.
    """
    from . import kernel_display

    fixed = {k: v for k, v in kernel_environment(notebook="", mode="", output_dir=Path("."),
                                                  parameters={}, cache_key=None).items()
             if not k.startswith("MATSENSE_") or k == ENV_NO_PROGRESS}
    settings = json.dumps({"arguments": list(KERNEL_ARGUMENTS), "environment": fixed},
                          sort_keys=True).encode()
    return [("(kernel settings)", settings),
            ("lib/matsense/book/kernel_display.py", Path(kernel_display.__file__).read_bytes())]
