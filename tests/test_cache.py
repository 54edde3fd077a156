"""Tests of matsense.book.cache: keys that change with every input, entries that cannot be served
stale or damaged, and concurrent writers.

Covers: cache_key (notebook, source, parameters, mode, library files, package versions, Python),
library_files, installed_distributions, NotebookCache.store / lookup (integrity checks, deletion
of damaged entries, the rename race between two processes).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from matsense.book import cache as cache_mod
from matsense.book.cache import NotebookCache, cache_key, installed_distributions, library_files

LIB = [("__init__.py", b"x = 1\n"), ("dynamics.py", b"def gd():\n    return 1\n")]
DISTS = ["numpy==2.4.6", "scipy==1.17.1"]


def key(**kw):
    args = dict(notebook="book/a", source=b"# nb\n", parameters={"n": 3, "quick": True},
                mode="quick", library=LIB, distributions=DISTS, python="3.11.7")
    args.update(kw)
    return cache_key(args.pop("notebook"), args.pop("source"), args.pop("parameters"),
                     args.pop("mode"), **args)


# -- keys ----------------------------------------------------------------------------------------

def test_key_is_a_stable_sha256():
    assert key() == key()
    assert len(key()) == 64 and int(key(), 16) >= 0
    # parameters are hashed as canonical JSON: dict order does not matter
    assert key(parameters={"quick": True, "n": 3}) == key()


@pytest.mark.parametrize("change", [
    {"notebook": "book/b"},
    {"source": b"# nb edited\n"},
    {"parameters": {"n": 4, "quick": True}},
    {"parameters": {"n": 3.0, "quick": True}},
    {"mode": "full"},
    {"library": [LIB[0], ("dynamics.py", b"def gd():\n    return 2\n")]},
    {"library": LIB + [("theory.py", b"")]},
    {"library": [LIB[0], ("engine.py", LIB[1][1])]},  # a renamed file
    {"distributions": ["numpy==2.4.7", "scipy==1.17.1"]},
    {"distributions": DISTS + ["torch==2.13.0"]},
    {"python": "3.12.0"},
    {"inputs": [("book/x/claims.yml", b"found.a: {}\n")]},
], ids=["notebook", "source", "params", "param-type", "mode", "library-edit", "library-add",
        "library-rename", "package-version", "package-added", "python", "claims-table"])
def test_every_input_changes_the_key(change):
    assert key(**change) != key()


def test_editing_a_library_file_changes_the_default_key(tmp_path, monkeypatch):
    pkg = tmp_path / "matsense"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n")
    (pkg / "sub" / "mod.py").write_text("y = 2\n")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    files = library_files(pkg)
    assert [rel for rel, _ in files] == ["__init__.py", "sub/mod.py"]  # no bytecode
    monkeypatch.setattr(cache_mod, "library_files", lambda: library_files(pkg))
    before = cache_key("book/a", b"nb", {}, "quick")
    (pkg / "sub" / "mod.py").write_text("y = 3\n")
    assert cache_key("book/a", b"nb", {}, "quick") != before


def copy_package(tmp_path):
    import shutil
    import matsense
    pkg = tmp_path / "matsense"
    shutil.copytree(Path(matsense.__file__).parent, pkg,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return pkg


@pytest.mark.parametrize("edited, reexecutes", [
    ("theory.py", True), ("experiments.py", True), ("plotting/jin.py", True), ("claims.py", True),
    ("book/report.py", False), ("book/runner.py", False), ("book/staging.py", False),
])
def test_the_key_covers_the_science_not_the_pipeline(tmp_path, monkeypatch, edited, reexecutes):
    """Editing a science module re-executes a notebook; editing the book pipeline serves the cache."""
    pkg = copy_package(tmp_path)
    monkeypatch.setattr(cache_mod, "library_files", lambda: library_files(pkg))
    before = cache_key("book/a", b"nb", {}, "quick")
    with open(pkg / edited, "a") as fh:
        fh.write("\n# an edit\n")
    assert (cache_key("book/a", b"nb", {}, "quick") != before) is reexecutes


def test_the_real_library_and_environment_enter_the_key():
    names = [rel for rel, _ in library_files()]
    assert "__init__.py" in names and "dynamics.py" in names and "claims.py" in names
    assert not [n for n in names if n.startswith("book/") or "bench" in n]  # pipeline, benchmarks
    dists = installed_distributions()
    assert dists == sorted(dists) and any(d.startswith("numpy==") for d in dists)


def test_a_new_package_version_changes_the_default_key(monkeypatch):
    before = cache_key("book/a", b"nb", {}, "quick")
    real = installed_distributions()
    monkeypatch.setattr(cache_mod, "installed_distributions",
                        lambda: [d if not d.startswith("numpy==") else "numpy==99.0" for d in real])
    assert cache_key("book/a", b"nb", {}, "quick") != before


# -- entries -------------------------------------------------------------------------------------

@pytest.fixture
def executed(tmp_path):
    """An executed notebook and an output directory, as a worker leaves them."""
    nb = tmp_path / "executed.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "a-line.png").write_bytes(bytes(range(256)) * 4)
    (out / "figures" / "a-line.json").write_text('{"name": "line"}')
    (out / "claims.json").write_text("[]")
    return nb, out


def test_store_then_lookup_round_trip(tmp_path, executed):
    cache = NotebookCache(tmp_path / "cache")
    k = key()
    assert cache.lookup(k).entry is None and cache.lookup(k).problem is None
    entry = cache.store(k, *executed, {"wall_s": 1.5})
    looked = cache.lookup(k)
    assert looked.problem is None and looked.entry == entry
    assert entry.result == {"wall_s": 1.5}
    assert (entry.outputs / "figures" / "a-line.png").read_bytes() == bytes(range(256)) * 4
    assert entry.notebook.read_bytes() == executed[0].read_bytes()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit_manifest(path: Path) -> None:
    manifest = json.loads(path.read_text())
    manifest["files"]["claims.json"] = "0" * 64
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, target, expected", [
    (_flip_byte, "outputs/figures/a-line.png", "does not match its sha256"),
    (_truncate, "notebook.ipynb", "does not match its sha256"),
    (_truncate, "outputs/claims.json", "does not match its sha256"),
    (Path.unlink, "manifest.json", "manifest.json is missing"),
    (_truncate, "manifest.json", "not valid JSON"),
    (_edit_manifest, "manifest.json", "own digest"),
    (Path.unlink, "outputs/figures/a-line.json", "files differ from the manifest"),
    (lambda p: p.write_text("extra"), "outputs/figures/stray.png", "files differ from the manifest"),
], ids=["flipped-byte", "truncated-notebook", "truncated-claims", "no-manifest",
        "truncated-manifest", "edited-manifest", "missing-file", "extra-file"])
def test_damaged_entry_is_deleted_and_reported(tmp_path, executed, damage, target, expected):
    cache = NotebookCache(tmp_path / "cache")
    k = key()
    entry = cache.store(k, *executed, {"wall_s": 1.0})
    damage(entry.path / target)
    looked = cache.lookup(k)
    assert looked.entry is None
    assert expected in looked.problem and k[:12] in looked.problem
    assert not entry.path.exists()  # deleted, so it is recomputed rather than served
    assert cache.lookup(k) == cache_mod.Lookup(None, None)
    # and storing again works
    assert cache.store(k, *executed, {"wall_s": 2.0}).result == {"wall_s": 2.0}


def test_keys_must_be_sha256(tmp_path):
    with pytest.raises(ValueError, match="64-digit"):
        NotebookCache(tmp_path).path("../escape")


def _store_in_process(args):
    root, k, nb, out, tag, barrier = args
    barrier.wait()
    NotebookCache(Path(root)).store(k, Path(nb), Path(out), {"writer": tag})
    return tag


def test_concurrent_writers_leave_one_valid_entry(tmp_path, executed):
    ctx = multiprocessing.get_context("spawn")
    k = key()
    root = tmp_path / "cache"
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            tags = pool.map(_store_in_process,
                            [(str(root), k, str(executed[0]), str(executed[1]), i, barrier)
                             for i in range(4)])
    assert sorted(tags) == [0, 1, 2, 3]
    looked = NotebookCache(root).lookup(k)
    assert looked.problem is None and looked.entry.result["writer"] in tags
    assert [p.name for p in root.iterdir()] == [k]  # no temporary or trash directory is left


def test_a_damaged_entry_in_the_way_is_replaced_by_a_writer(tmp_path, executed):
    cache = NotebookCache(tmp_path / "cache")
    k = key()
    entry = cache.store(k, *executed, {"writer": "first"})
    os.unlink(entry.path / "manifest.json")
    assert cache.store(k, *executed, {"writer": "second"}).result == {"writer": "second"}
