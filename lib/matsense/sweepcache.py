r"""A disk cache for expensive sweeps, keyed on what determines their result.

A chapter's study (hundreds of GD runs) is computed once per build and read by every section that
needs it: decorate the function with :func:`disk_cached`. The key of a call is the sha256 of

* the function's qualified name,
* its arguments in canonical form (:func:`canonical`: numbers, strings, tuples, lists, dicts,
  numpy arrays and frozen dataclasses such as a chapter setup, each tagged with its type),
* the source of the science modules (:func:`library_source`: every file of the ``matsense``
  package except the book pipeline ``matsense/book/``), so that editing any science module
  invalidates every entry, and editing a caption, a notebook or the pipeline invalidates none;
* the versions of Python, numpy and scipy (the numerical stack under the science).

**Entry.** ``<dir>/<module>.<function>/<key>.pkl`` and ``<key>.sha256``. Written to a temporary file and renamed,
so a reader never sees a partial entry; read only when the stored sha256 matches the bytes (a
truncated or corrupted entry is deleted and recomputed, never served). The entry is a pickle of the
result: the key covers the source of every class it can contain, so a stale class layout is never
unpickled. Two processes that want the same key serialise on a lock file: the second waits and
then reads what the first wrote.

**Where.** ``$MATSENSE_SWEEP_CACHE`` when set (``off`` disables the cache), else
``<repository root>/_build/sweeps`` (the root is the nearest directory above the working directory
with ``_toc.yml``; the current directory otherwise).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ._io import atomic_write_bytes, find_root

__all__ = ["ENV_SWEEP_CACHE", "canonical", "library_source", "library_files", "call_key",
           "cache_dir", "disk_cached"]

#: Environment variable naming the sweep cache's directory (``off``: no cache).
ENV_SWEEP_CACHE = "MATSENSE_SWEEP_CACHE"
#: Version of the entry layout; part of every key.
_FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent
#: The book pipeline: executes notebooks, never imported by the science, so not part of the key.
PIPELINE_DIRS = ("book",)

def library_files(package_dir: Path | None = None) -> list[tuple[str, bytes]]:
    """``(relative path, bytes)`` of every science file of the package, sorted by path.

    Everything under ``matsense/`` except the pipeline (``matsense/book/``), bytecode and hidden files.
    """
    package_dir = _PACKAGE if package_dir is None else Path(package_dir)
    out = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if (not path.is_file() or rel.parts[0] in PIPELINE_DIRS or "__pycache__" in rel.parts
                or path.suffix in (".pyc", ".pyo") or any(p.startswith(".") for p in rel.parts)):
            continue
        out.append((rel.as_posix(), path.read_bytes()))
    return out


def library_source(package_dir: Path | None = None) -> str:
    """Hex sha256 over the paths and bytes of :func:`library_files`."""
    h = hashlib.sha256()
    for rel, data in library_files(package_dir):
        h.update(rel.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def canonical(obj: Any) -> Any:
    """A JSON-like, type-tagged form of ``obj`` in which equal arguments have equal text.

    Raises
    ------
    TypeError
        For objects with no canonical form (open files, generators, arbitrary classes).
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, (bool, np.bool_)):
        return ["int", int(obj)]
    if isinstance(obj, (float, np.floating)):
        return ["float", float(obj).hex()]
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"cannot key an array of dtype {arr.dtype}")
        return ["ndarray", arr.dtype.str, list(arr.shape), hashlib.sha256(arr.tobytes()).hexdigest()]
    if isinstance(obj, (list, tuple)):
        return [type(obj).__name__, [canonical(x) for x in obj]]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError("cannot key a dict with non-string keys")
        return ["dict", [[k, canonical(obj[k])] for k in sorted(obj)]]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        return [f"{cls.__module__}.{cls.__qualname__}",
                [[f.name, canonical(getattr(obj, f.name))] for f in dataclasses.fields(obj)]]
    raise TypeError(f"cannot key an argument of type {type(obj).__name__}: use numbers, strings, "
                    "tuples, lists, dicts, arrays or dataclasses")


def call_key(fn: Callable[..., Any], args: Iterable[Any], kwargs: dict[str, Any], *,
             source: str | None = None) -> str:
    """Hex sha256 keying one call of ``fn`` (see the module docstring)."""
    payload = repr([_FORMAT, f"{fn.__module__}.{fn.__qualname__}", canonical(list(args)),
                    canonical(kwargs), library_source() if source is None else source,
                    sys.version, np.__version__, _scipy_version()])
    return hashlib.sha256(payload.encode()).hexdigest()


def _scipy_version() -> str:
    import scipy
    return scipy.__version__


def cache_dir() -> Path | None:
    """The sweep cache's directory, or None when ``$MATSENSE_SWEEP_CACHE`` is ``off``."""
    env = os.environ.get(ENV_SWEEP_CACHE, "")
    if env.lower() == "off":
        return None
    return Path(env) if env else find_root() / "_build" / "sweeps"


def _read(path: Path, digest_path: Path) -> tuple[bool, Any]:
    if not (path.is_file() and digest_path.is_file()):
        return False, None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest_path.read_text(encoding="ascii").strip():
        path.unlink(missing_ok=True)
        digest_path.unlink(missing_ok=True)
        return False, None
    return True, pickle.loads(data)


def disk_cached(*, ignore: tuple[str, ...] = ("progress",)
                ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: cache a function's result on disk (see the module docstring).

    Parameters
    ----------
    ignore : tuple of str
        Keyword arguments that do not change the result (a progress bar), left out of the key.

    The wrapped function gains two attributes: ``uncached`` (the original function) and ``key``
    (the cache key of a call with the same arguments).
    """
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        def key(*args: Any, **kwargs: Any) -> str:
            return call_key(fn, args, {k: v for k, v in kwargs.items() if k not in ignore})

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            directory = cache_dir()
            if directory is None:
                return fn(*args, **kwargs)
            k = key(*args, **kwargs)
            folder = directory / f"{fn.__module__}.{fn.__qualname__}"
            folder.mkdir(parents=True, exist_ok=True)
            path, digest_path = folder / f"{k}.pkl", folder / f"{k}.sha256"
            # a second process waits for the first's result
            with open(folder / f"{k}.lock", "a+b") as lock, _locked(lock):
                found, value = _read(path, digest_path)
                if found:
                    return value
                value = fn(*args, **kwargs)
                data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                atomic_write_bytes(path, data)
                atomic_write_bytes(digest_path, hashlib.sha256(data).hexdigest().encode())
                return value

        wrapper.uncached = fn  # type: ignore[attr-defined]
        wrapper.key = key      # type: ignore[attr-defined]
        return wrapper
    return decorate


# -- issue 14: the library imports under Pyodide (JupyterLite), which has no fcntl ------------------

@contextlib.contextmanager
def _locked(fh: Any) -> Any:
    """Hold an exclusive ``flock`` on an open file; without ``fcntl`` (Pyodide, one process in the
    browser) there is no other process to wait for, and nothing is locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fcntl.flock(fh, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
