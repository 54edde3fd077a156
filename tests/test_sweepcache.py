"""Tests of matsense.sweepcache: keys, hits and misses, corruption, concurrency, the science source."""

from __future__ import annotations

import multiprocessing
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import matsense
from matsense import sweepcache
from matsense.setups import jin_setup
from matsense.sweepcache import ENV_SWEEP_CACHE, call_key, canonical, disk_cached, library_files


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_SWEEP_CACHE, str(tmp_path / "sweeps"))
    return tmp_path / "sweeps"


CALLS: list = []


@disk_cached()
def expensive(setup, *, k=None, progress=False):
    CALLS.append((setup, k))
    return {"n": setup.n, "k": k, "values": np.arange(setup.n, dtype=float)}


def test_a_second_call_is_served_from_disk(cache):
    CALLS.clear()
    s = jin_setup(quick=True)
    a = expensive(s, k=2)
    b = expensive(s, k=2, progress=True)   # progress is not part of the key
    assert len(CALLS) == 1 and np.array_equal(a["values"], b["values"])
    expensive(s, k=3)
    expensive(jin_setup(quick=True, seed=1), k=2)
    expensive(jin_setup(quick=False), k=2)
    assert len(CALLS) == 4
    assert len(list(cache.glob("*.expensive/*.pkl"))) == 4


def test_a_corrupted_entry_is_recomputed_never_served(cache):
    CALLS.clear()
    s = jin_setup(quick=True)
    expensive(s)
    (entry,) = cache.glob("*.expensive/*.pkl")
    entry.write_bytes(entry.read_bytes()[:-10])          # truncated
    assert expensive(s)["n"] == s.n and len(CALLS) == 2
    entry.write_bytes(b"garbage")
    assert expensive(s)["n"] == s.n and len(CALLS) == 3


def test_off_disables_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_SWEEP_CACHE, "off")
    monkeypatch.chdir(tmp_path)
    CALLS.clear()
    expensive(jin_setup(quick=True))
    expensive(jin_setup(quick=True))
    assert len(CALLS) == 2 and not (tmp_path / "_build").exists()


def test_the_key_covers_the_science_source_and_every_argument():
    s = jin_setup(quick=True)
    base = call_key(expensive, [s], {}, source="a")
    assert call_key(expensive, [s], {}, source="b") != base          # a science module changed
    assert call_key(expensive, [s], {"k": 2}, source="a") != base
    assert call_key(expensive, [jin_setup(quick=True, m=999)], {}, source="a") != base
    assert call_key(expensive, [s], {}, source="a") == base
    assert canonical(1) != canonical(1.0) and canonical((1,)) != canonical([1])
    assert canonical(np.zeros(3)) != canonical(np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="cannot key"):
        canonical(object())


def test_the_science_source_excludes_the_pipeline(tmp_path):
    pkg = tmp_path / "matsense"
    shutil.copytree(Path(matsense.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    before = sweepcache.library_source(pkg)
    (pkg / "book" / "report.py").write_text("# the report page changed\n")
    assert sweepcache.library_source(pkg) == before
    with open(pkg / "dynamics.py", "a") as fh:
        fh.write("# the algorithm changed\n")
    assert sweepcache.library_source(pkg) != before
    assert not [r for r, _ in library_files(pkg) if r.startswith("book/")]


@dataclass(frozen=True)
class Job:
    log: str
    n: int = 3


@disk_cached()
def logged(job):
    import time
    with open(job.log, "a") as fh:
        fh.write("computed\n")
    time.sleep(0.5)
    return job.n * 2


def _worker(args):
    log, directory = args
    import os
    os.environ[ENV_SWEEP_CACHE] = directory
    return logged(Job(log))


def test_two_processes_wanting_the_same_key_compute_it_once(tmp_path):
    log = tmp_path / "log.txt"
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.map(_worker, [(str(log), str(tmp_path / "sweeps"))] * 2)
    assert results == [6, 6]
    assert log.read_text().count("computed") == 1


def test_the_jin_study_is_shared(cache):
    from matsense.experiments.jin import study
    s = jin_setup(quick=True, n_seeds=1, alphas=(1e-2, 1e-4), steps=50)
    a = study(s)
    b = study(s)
    assert np.array_equal(a.sweep.trajectory["loss"], b.sweep.trajectory["loss"])
    assert len(list(cache.glob("matsense.experiments.jin.study/*.pkl"))) == 1
    with pytest.raises(TypeError, match="JinSetup"):
        study.uncached({"n": 3})
