"""A cache of executed notebooks that cannot go stale.

**Key.** sha256 over what can change a notebook's outputs (:func:`cache_key`): the notebook's toc
path and source bytes, the canonical JSON of its parameters, the mode, its declared inputs (its
chapter's claims table ``claims.yml``, and how its kernel starts:
:func:`matsense.book.execute.kernel_inputs`), the path and bytes of every *science* file of the
``matsense`` package (:func:`matsense.sweepcache.library_files`: everything but this pipeline,
``matsense/book/``), the sorted ``name==version`` of every installed distribution and the Python
version. Editing a science module, a parameter, the notebook or its claims table, or upgrading a
package, executes the notebook again; editing the pipeline (the runner, the report page, staging) or
the benchmarks does not. Nothing else is trusted (no modification times, no jupyter-cache).

**Entry.** A directory ``<cache>/<key>/`` with the executed notebook (``notebook.ipynb``), the
notebook's output directory (``outputs/``: figures, claims), an execution record
(``result.json``) and ``manifest.json`` listing the sha256 of every other file plus a digest of
the manifest itself. An entry is assembled in a temporary directory and published with one
``os.rename``: readers never see a partial entry, and of two processes storing the same key one
wins and the other discards its copy. Reading verifies the manifest and every hash; a truncated,
corrupted or incomplete entry is deleted and reported, never served. JSON only, no pickle.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .._io import atomic_write_json, canonical_json, sha256_file
from ..sweepcache import library_files

__all__ = ["CACHE_FORMAT", "cache_key", "library_files", "installed_distributions",
           "CacheEntry", "Lookup", "NotebookCache"]

#: Version of the entry layout and of what the key covers; part of every key.
CACHE_FORMAT = 2
_MANIFEST = "manifest.json"


def installed_distributions() -> list[str]:
    """Sorted, de-duplicated ``name==version`` of every installed distribution."""
    seen = set()
    for dist in importlib.metadata.distributions():
        name = (dist.metadata.get("Name") or "").strip().lower().replace("_", "-")
        if name:
            seen.add(f"{name}=={dist.version}")
    return sorted(seen)


def cache_key(notebook: str, source: bytes, parameters: dict[str, Any], mode: str, *,
              library: Iterable[tuple[str, bytes]] | None = None,
              distributions: Iterable[str] | None = None,
              python: str | None = None,
              inputs: Iterable[tuple[str, bytes]] = ()) -> str:
    """Hex sha256 identifying one execution of a notebook.

    Parameters
    ----------
    notebook : str
        The notebook's ``_toc.yml`` path (it names the notebook's outputs).
    source : bytes
        The notebook's source file.
    parameters : dict
        The parameters injected into it (hashed as canonical JSON).
    mode : str
        ``"quick"`` or ``"full"``.
    library : iterable of (str, bytes), optional
        Science files of the library; default :func:`matsense.sweepcache.library_files`.
    distributions : iterable of str, optional
        ``name==version`` strings; default :func:`installed_distributions`.
    python : str, optional
        Python version; default ``sys.version``.
    inputs : iterable of (str, bytes)
        Other files the notebook reads (its chapter's claims table), by repository path.
    """
    library = library_files() if library is None else library
    distributions = installed_distributions() if distributions is None else distributions
    h = hashlib.sha256()

    def put(tag: str, payload: bytes) -> None:
        h.update(tag.encode() + b"\0" + len(payload).to_bytes(8, "little") + payload)

    put("format", str(CACHE_FORMAT).encode())
    put("notebook", notebook.encode())
    put("source", source)
    put("parameters", canonical_json(parameters).encode())
    put("mode", mode.encode())
    for rel, data in sorted(inputs):
        put("input-path", rel.encode())
        put("input-bytes", data)
    for rel, data in sorted(library):
        put("library-path", rel.encode())
        put("library-bytes", data)
    put("distributions", "\n".join(sorted(distributions)).encode())
    put("python", (sys.version if python is None else python).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    """A verified cache entry.

    Attributes
    ----------
    key : str
        Its key.
    path : Path
        Its directory.
    notebook : Path
        The executed notebook inside it.
    outputs : Path
        The notebook's output directory (figures, claims) inside it.
    result : dict
        The execution record stored with it (wall time, parameters, ...).
    """

    key: str
    path: Path
    notebook: Path
    outputs: Path
    result: dict


@dataclass(frozen=True)
class Lookup:
    """Outcome of :meth:`NotebookCache.lookup`: an entry, or None with the reason it was refused."""

    entry: CacheEntry | None
    problem: str | None = None


def _manifest_digest(key: str, files: dict[str, str]) -> str:
    return hashlib.sha256(canonical_json({"format": CACHE_FORMAT, "key": key,
                                          "files": files}).encode()).hexdigest()


def _tree_files(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): sha256_file(p)
            for p in sorted(directory.rglob("*")) if p.is_file()}


class NotebookCache:
    """The cache directory (``_build/cache``) holding one entry per key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Directory of the entry with this key."""
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"key={key!r} must be a 64-digit lowercase hex sha256")
        return self.root / key

    # -- reading -------------------------------------------------------------------------------
    def _verify(self, key: str, path: Path) -> str | None:
        """None if the entry is intact, else what is wrong with it."""
        mpath = path / _MANIFEST
        if not mpath.is_file():
            return "manifest.json is missing"
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return f"manifest.json is not valid JSON ({exc})"
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            return "manifest.json has no file list"
        files = manifest["files"]
        if manifest.get("key") != key:
            return f"manifest.json names key {manifest.get('key')!r}"
        if manifest.get("digest") != _manifest_digest(key, files):
            return "manifest.json's own digest does not match its content"
        on_disk = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
        on_disk.discard(_MANIFEST)
        listed = set(files)
        if on_disk != listed:
            missing, extra = sorted(listed - on_disk), sorted(on_disk - listed)
            return f"files differ from the manifest (missing {missing}, unexpected {extra})"
        for rel, digest in files.items():
            if sha256_file(path / rel) != digest:
                return f"{rel} does not match its sha256 (truncated or corrupted)"
        for required in ("notebook.ipynb", "result.json"):
            if required not in files:
                return f"{required} is missing"
        return None

    def lookup(self, key: str) -> Lookup:
        """The verified entry for ``key``; a damaged entry is deleted and its problem reported."""
        path = self.path(key)
        if not path.is_dir():
            return Lookup(None)
        problem = self._verify(key, path)
        if problem is not None:
            self._discard(path)
            return Lookup(None, f"cache entry {key[:12]} was damaged ({problem}); deleted")
        try:
            result = json.loads((path / "result.json").read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # pragma: no cover - hashed
            self._discard(path)
            return Lookup(None, f"cache entry {key[:12]} has an unreadable result.json ({exc})")
        return Lookup(CacheEntry(key=key, path=path, notebook=path / "notebook.ipynb",
                                 outputs=path / "outputs", result=result))

    # -- writing -------------------------------------------------------------------------------
    def store(self, key: str, notebook: Path, outputs: Path | None, result: dict) -> CacheEntry:
        """Store an executed notebook and its output directory under ``key``, atomically.

        If another process published the same key first, its entry is kept (when intact) and
        this copy discarded.
        """
        final = self.path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{key[:12]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            shutil.copyfile(notebook, tmp / "notebook.ipynb")
            if outputs is not None and Path(outputs).is_dir():
                shutil.copytree(outputs, tmp / "outputs")
            else:
                (tmp / "outputs").mkdir()
            atomic_write_json(tmp / "result.json", result)
            files = _tree_files(tmp)
            atomic_write_json(tmp / _MANIFEST, {"format": CACHE_FORMAT, "key": key,
                                                "files": files,
                                                "digest": _manifest_digest(key, files)})
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                # Lost the race (or a damaged entry is in the way): keep an intact winner.
                if self._verify(key, final) is not None:
                    self._discard(final)
                    try:
                        os.rename(tmp, final)
                    except OSError:
                        pass  # a third writer got there first; lookup() below verifies it
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        looked = self.lookup(key)
        if looked.entry is None:  # pragma: no cover - only if the disk lies to us
            raise RuntimeError(f"cache entry {key[:12]} could not be stored: {looked.problem}")
        return looked.entry

    def discard(self, key: str) -> None:
        """Delete the entry with this key (e.g. one whose outputs lack what a run expects)."""
        path = self.path(key)
        if path.is_dir():
            self._discard(path)

    def _discard(self, path: Path) -> None:
        """Remove an entry: rename it away first so that no reader sees it half-deleted."""
        trash = self.root / f".trash-{uuid.uuid4().hex}"
        try:
            os.rename(path, trash)
        except OSError:
            return  # someone else removed it
        shutil.rmtree(trash, ignore_errors=True)
