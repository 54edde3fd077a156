"""Small file helpers: atomic writes, canonical JSON, file hashes and the repository root."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_json", "canonical_json", "sha256_file", "find_root"]


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: equal objects give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.

    A reader sees either the old file or the new one, never a partial write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON (with a final newline), atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()



def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest directory above ``start`` (default: cwd) with ``_toc.yml``.

    Falls back to ``start`` itself when no ancestor has one.
    """
    start = Path.cwd() if start is None else Path(start)
    for candidate in (start, *start.parents):
        if (candidate / "_toc.yml").is_file():
            return candidate
    return start


def replace_dir(new: Path, final: Path) -> None:
    """Put directory ``new`` (on the same file system as ``final``) in place of ``final`` with two
    renames, so a reader sees the old or the new folder, never half of one; the old one is removed after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old: Path | None = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(final, old)
    except FileNotFoundError:
        old = None
    os.rename(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
