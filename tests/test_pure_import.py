"""The library imports and runs with only numpy, scipy and matplotlib, as it must under Pyodide.

In the browser (JupyterLite) the library is installed from its wheel without its dependencies, and
only numpy, scipy, matplotlib and pyyaml come from Pyodide's own distribution. So the science floor
(every module but the notebook record and the book pipeline) must import with numpy, scipy and
matplotlib alone; tqdm, threadpoolctl and the others are optional there (a progress bar that shows
nothing, BLAS threads left as they are). The notebook record may use pyyaml too (its claims tables).

Each check runs in a fresh interpreter whose import system refuses every top-level module that is
neither in the standard library nor in the allowed distributions (and their own requirements), and
also the standard-library modules Pyodide lacks (``fcntl``, ``resource``, ...).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import matsense

PACKAGE = Path(matsense.__file__).resolve().parent
LIB = PACKAGE.parent

#: Standard-library modules that Pyodide does not ship (or that cannot work in a browser).
PYODIDE_MISSING_STDLIB = ("fcntl", "grp", "pwd", "resource", "syslog", "termios", "curses", "dbm",
                          "tkinter")

#: Modules of the notebook record floor and the book pipeline (everything else is the science).
RECORD = {"matsense.claims", "matsense.provenance", "matsense.context", "matsense._ipython"}
#: Science modules that need more than numpy, scipy and matplotlib by design (the explorers need
#: ipywidgets, which the JupyterLite notebooks install in their first cell).
NEEDS_WIDGETS = {"matsense.widgets"}

# The blocker runs first in the child interpreter: it computes the importable top-level names from
# the allowed distributions (and what they require), then refuses every other third-party module.
BLOCKER = textwrap.dedent('''
    import importlib.abc, importlib.machinery, importlib.metadata as md, re, site, sys, sysconfig

    ALLOWED_DISTS, EXTRA_BLOCKED, LIB = {allowed!r}, {blocked!r}, {lib!r}

    def _norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    def _closure(names):
        seen, todo = set(), [_norm(n) for n in names]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                reqs = md.requires(name) or []
            except md.PackageNotFoundError:
                continue
            for req in reqs:
                if "extra ==" in req:
                    continue
                todo.append(_norm(re.split(r"[\\s;<>=!~\\[(]", req, maxsplit=1)[0]))
        return seen

    dists = _closure(ALLOWED_DISTS)
    allowed = {{"matsense", "mpl_toolkits", "pylab"}}
    for top, owners in md.packages_distributions().items():
        if any(_norm(o) in dists for o in owners):
            allowed.add(top)

    SITE = tuple({{sysconfig.get_paths()[k] for k in ("purelib", "platlib")}}
                 | set(site.getsitepackages()))

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in EXTRA_BLOCKED:
                raise ModuleNotFoundError(f"{{name}} is not available under Pyodide (blocked)",
                                          name=name)
            if path is not None or top in allowed or top in sys.builtin_module_names:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name)
            origin = (spec.origin or "") if spec is not None else ""
            locations = list(spec.submodule_search_locations or []) if spec is not None else []
            if not any(str(p).startswith(SITE) for p in [origin, *locations] if p):
                return None  # the standard library (or nothing at all)
            raise ModuleNotFoundError(f"{{name}} is not available here (blocked: only "
                                      f"{{sorted(ALLOWED_DISTS)}} and the standard library)",
                                      name=name)

    for mod in list(sys.modules):  # nothing third-party may come from the interpreter's start-up
        if mod.partition(".")[0] not in sys.stdlib_module_names and mod.partition(".")[0] != "sys":
            sys.modules.pop(mod, None)
    sys.meta_path.insert(0, Blocker())
    sys.path.insert(0, LIB)
''')


def run_blocked(code: str, allowed: tuple[str, ...], tmp_path: Path) -> dict:
    """Run ``code`` in a fresh interpreter where only ``allowed`` distributions import; return the
    JSON object it prints last."""
    script = tmp_path / "child.py"
    script.write_text(BLOCKER.format(allowed=list(allowed), blocked=list(PYODIDE_MISSING_STDLIB),
                                     lib=str(LIB)) + "\n" + textwrap.dedent(code))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATSENSE_", "PYTHON"))}
    env.update(MPLBACKEND="Agg", MPLCONFIGDIR=str(tmp_path / "mpl"))
    proc = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, f"child failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def science_modules() -> list[str]:
    """Every module of the science floor (not the record, the pipeline or the explorers)."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(LIB).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if (name.startswith("matsense.book") or name in RECORD or name in NEEDS_WIDGETS
                or "__pycache__" in parts):
            continue
        out.append(name)
    return out


def test_the_blocker_blocks(tmp_path: Path) -> None:
    """The harness itself: tqdm, yaml and fcntl are refused, numpy is not."""
    result = run_blocked("""
        import json
        status = {}
        for name in ("tqdm", "threadpoolctl", "yaml", "psutil", "fcntl", "numpy"):
            try:
                __import__(name)
                status[name] = "ok"
            except ImportError:
                status[name] = "blocked"
        print(json.dumps(status))
    """, ("numpy",), tmp_path)
    assert result == {"tqdm": "blocked", "threadpoolctl": "blocked", "yaml": "blocked",
                      "psutil": "blocked", "fcntl": "blocked", "numpy": "ok"}


def test_science_floor_imports_and_runs_gd_with_numpy_scipy_matplotlib_only(tmp_path: Path) -> None:
    modules = science_modules()
    assert "matsense.dynamics" in modules and "matsense.sweepcache" in modules
    result = run_blocked(f"""
        import importlib, json, sys
        import numpy as np
        import matsense as ms
        for name in {modules!r}:
            importlib.import_module(name)
        rng = np.random.default_rng(0)
        problem = ms.symmetric_gaussian_problem(6, [1.0, 0.5], 80, rng=rng)
        U0 = ms.small_random_init(6, 3, 1e-2, rng=rng)
        traj = ms.gd_symmetric(problem, U0, 0.1, 1500, progress=True, threads=1)
        losses = np.asarray(traj.metrics["loss"]).ravel()
        third_party = sorted({{m.partition(".")[0] for m in sys.modules}}
                             - set(sys.stdlib_module_names))
        print(json.dumps({{"first": float(losses[0]), "last": float(losses[-1]),
                          "third_party": third_party}}))
    """, ("numpy", "scipy", "matplotlib"), tmp_path)
    assert result["last"] < 1e-3 * result["first"], result
    assert not {"tqdm", "threadpoolctl", "yaml", "psutil"} & set(result["third_party"])


def test_notebook_record_imports_with_pyyaml_too(tmp_path: Path) -> None:
    """Claims, provenance and the run context also import with only Pyodide's own packages."""
    result = run_blocked(f"""
        import importlib, json
        for name in {sorted(RECORD)!r}:
            importlib.import_module(name)
        from matsense.setups import jin_setup
        from matsense.provenance import glue
        glue("x", 1.0, display=False)  # MyST-NB is absent: nothing is glued, nothing fails
        print(json.dumps({{"quick": jin_setup().quick}}))
    """, ("numpy", "scipy", "matplotlib", "pyyaml"), tmp_path)
    assert result == {"quick": False}


def test_setups_force_quick_sizes_under_pyodide(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the browser every chapter's setup uses its quick sizes, whatever ``quick`` says."""
    from matsense import setups

    factories = [getattr(setups, name) for name in setups.__all__
                 if name.endswith("_setup") and callable(getattr(setups, name))]
    assert len(factories) >= 3
    for factory in factories:
        assert factory(quick=False).quick is False
        assert factory(quick=False) != factory(quick=True)
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert setups.in_browser()
    for factory in factories:
        assert factory(quick=False) == factory(quick=True), factory.__name__
        assert factory(quick=False).quick is True
    with pytest.raises(TypeError, match="quick"):
        setups.jin_setup(quick="yes")
