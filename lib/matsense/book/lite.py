"""The JupyterLite site: every notebook of the book, runnable in the browser with no server.

After the HTML is built, the runner calls :func:`publish_interactive`, which puts beside it

* ``_build/html/lite/``: a JupyterLite site (``jupyterlite-core`` and the Pyodide kernel of
  ``jupyterlite-pyodide-kernel``, Python packages of the book extra) holding the library as a wheel
  built from this repository (``lite/pypi/``), and every notebook of ``_toc.yml`` as an ``.ipynb``
  (``lite/files/<notebook>.ipynb``, with each chapter's ``claims.yml`` beside its notebooks) whose
  first cell installs that wheel (:func:`matsense.book.launch.reader_notebook`);
* ``_build/html/colab/``: the Colab copies, when the repository URL is set
  (:mod:`matsense.book.launch`).

The build needs no network: the subprocess runs with its proxies pointed at a closed local port,
so any download would fail the build. Pyodide itself (and its numpy, scipy, matplotlib and pyyaml,
which the kernel loads when it starts) is fetched by the reader's browser from Pyodide's CDN when a
notebook is opened. Under Pyodide the setups use their quick sizes
(:func:`matsense.setups.in_browser`).

The site is rebuilt only when its inputs change (the library's source, the notebooks, the claims
tables, the packages that build it): it is kept in ``_build/lite/site`` with its key and copied into
each HTML build.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .._io import replace_dir

__all__ = ["PYODIDE_PACKAGES", "KEY_FILE", "LiteResult", "library_root", "build_wheel", "lite_inputs", "lite_key",
           "build_lite", "install_lite", "publish_interactive"]

#: Packages the Pyodide kernel loads from Pyodide's own distribution when it starts.
PYODIDE_PACKAGES = ("numpy", "scipy", "matplotlib", "pyyaml")
#: Written into the built site: the key of its inputs and the name of the wheel.
KEY_FILE = ".matsense-lite.json"
#: Distributions whose versions enter the key (they shape the built site).
_BUILDERS = ("jupyterlite-core", "jupyterlite-pyodide-kernel", "jupyter-server", "jupytext",
             "jupyterlab-widgets", "jupyterlab-myst", "setuptools", "nbformat")
_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
#: Seconds the Lite build may take before it counts as hung.
_TIMEOUT = 600


@dataclass(frozen=True)
class LiteResult:
    """A built JupyterLite site.

    Attributes
    ----------
    site : Path
        The site's folder (``index.html``, ``pypi/``, ``files/``, ...).
    wheel : str
        File name of the library's wheel in ``pypi/``.
    notebooks : tuple of str
        The notebooks it holds (toc names).
    key : str
        Hash of its inputs.
    built : bool
        False when an up-to-date site was reused.
    wall_s : float
        Seconds spent.
    """

    site: Path
    wheel: str
    notebooks: tuple[str, ...]
    key: str
    built: bool
    wall_s: float


def _offline_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a build step that must not reach the network."""
    closed = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(http_proxy=closed, https_proxy=closed, HTTP_PROXY=closed, HTTPS_PROXY=closed,
               no_proxy="", NO_PROXY="", PIP_NO_INDEX="1", SOURCE_DATE_EPOCH="315532800",
               PYTHONHASHSEED="0", **(extra or {}))
    return env


def library_root(root: Path) -> Path:
    """The repository the library's wheel is built from: ``root`` when it holds the library
    (``pyproject.toml`` and ``lib/matsense``), else the repository of the running library (a book
    that only uses it, such as the tests' tiny books).

    Raises
    ------
    RuntimeError
        When neither holds the library's source (it was installed from a wheel).
    """
    import matsense

    for candidate in (Path(root), Path(matsense.__file__).resolve().parents[2]):
        if (candidate / "pyproject.toml").is_file() and (candidate / "lib" / "matsense").is_dir():
            return candidate
    raise RuntimeError(f"no source of the library to build its wheel from (neither {root} nor the "
                       "running library's repository holds pyproject.toml and lib/matsense)")


def build_wheel(root: Path, dest: Path) -> Path:
    """Build the library's wheel from the repository at ``root`` into ``dest``, offline.

    The sources (``pyproject.toml``, ``README.md``, ``lib/``) are copied to a temporary folder
    first, so that setuptools writes nothing into the tree. Returns the wheel's path.

    Raises
    ------
    RuntimeError
        With setuptools' output when the build fails.
    """
    root, dest = Path(root), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="matsense-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, src / name)
        shutil.copytree(root / "lib", src / "lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        out = Path(tmp) / "dist"
        code = ("import sys, setuptools.build_meta as b; "
                "print(b.build_wheel(sys.argv[1]))")
        proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, capture_output=True,
                              text=True, env=_offline_env(), timeout=_TIMEOUT, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"building the library's wheel failed:\n{proc.stdout}\n{proc.stderr}")
        name = proc.stdout.strip().splitlines()[-1]
        target = dest / name
        shutil.copy2(out / name, target)
    return target


def lite_inputs(root: Path, documents: Iterable[Any]) -> list[Path]:
    """The files a Lite site is made of: the library's source and packaging, the notebooks and the
    claims tables beside them, and the modules that write the site."""
    root, lib = Path(root), library_root(root)
    files = [lib / "pyproject.toml", lib / "README.md"]
    files += sorted(p for p in (lib / "lib").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p))
    for doc in documents:
        if doc.notebook:
            files.append(Path(doc.path))
            table = Path(doc.path).parent / "claims.yml"
            if table.is_file():
                files.append(table)
    return list(dict.fromkeys(files))


def _versions() -> list[str]:
    out = []
    for name in _BUILDERS:
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{name}==absent")
    return out


def lite_key(root: Path, documents: Iterable[Any]) -> str:
    """Hex sha256 of everything a Lite site is made of (:func:`lite_inputs`, package versions)."""
    root = Path(root)
    h = hashlib.sha256()
    for path in lite_inputs(root, documents):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    h.update("\n".join(_versions() + [sys.version]).encode())
    return h.hexdigest()


def _read_key(site: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(site) / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _lite_config() -> dict[str, Any]:
    """``jupyter-lite.json`` of the site: the Pyodide kernel loads numpy, scipy, matplotlib and
    pyyaml from Pyodide's distribution when it starts (the wheel index is added by the build)."""
    return {"jupyter-lite-schema-version": 0,
            "jupyter-config-data": {
                "appName": "matsense in the browser",
                "litePluginSettings": {_PLUGIN: {
                    "loadPyodideOptions": {"packages": list(PYODIDE_PACKAGES)}}}}}


def _build_config(output: Path) -> dict[str, Any]:
    """``jupyter_lite_config.json``: contents from ``files/``, no source maps, no cache outside."""
    return {"LiteBuildConfig": {"contents": ["files"], "output_dir": str(output),
                                "no_sourcemaps": True, "no_unused_shared_packages": True,
                                "source_date_epoch": 315532800}}


def build_lite(root: Path, documents: Iterable[Any], site: Path, *,
               log: Path | None = None) -> LiteResult:
    """Build the Lite site of the book at ``root`` into ``site`` (replaced), offline.

    Parameters
    ----------
    root : Path
        Repository root.
    documents : iterable of Document
        The toc's documents (:func:`matsense.book.toc.read_toc`); its notebooks go into the site.
    site : Path
        Where the site goes; a previous one is replaced in one rename when the build succeeded.
    log : Path, optional
        Where the build's output is written.

    Raises
    ------
    RuntimeError
        When the wheel or the site cannot be built, or the site lacks its index, the wheel or a
        notebook (naming what is missing; the log holds the build's output).
    """
    from .launch import write_reader_notebooks

    start = time.perf_counter()
    root, site = Path(root).resolve(), Path(site)
    docs = list(documents)
    key = lite_key(root, docs)
    site.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".lite-build-", dir=site.parent))
    try:
        lite_dir, output = work / "src", work / "site"
        wheel = build_wheel(library_root(root), lite_dir / "pypi")
        write_reader_notebooks(root, docs, lite_dir / "files", "lite", claims=True)
        (lite_dir / "jupyter-lite.json").write_text(json.dumps(_lite_config(), indent=2))
        (lite_dir / "jupyter_lite_config.json").write_text(json.dumps(_build_config(output),
                                                                      indent=2))
        cmd = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(lite_dir)]
        proc = subprocess.run(cmd, cwd=lite_dir, capture_output=True, text=True, check=False,
                              env=_offline_env({"MPLBACKEND": "Agg"}), timeout=_TIMEOUT)
        text = f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            Path(log).write_text(text, encoding="utf-8")
        if proc.returncode != 0:
            tail = "\n    ".join(text.strip().splitlines()[-15:])
            raise RuntimeError(f"the JupyterLite build failed (exit {proc.returncode}):\n    {tail}")
        notebooks = tuple(d.name for d in docs if d.notebook)
        problem = _missing(output, wheel.name, notebooks)
        if problem:
            raise RuntimeError(f"the JupyterLite site is incomplete: {problem}")
        (output / KEY_FILE).write_text(json.dumps({"key": key, "wheel": wheel.name,
                                                   "notebooks": list(notebooks)}, indent=2))
        replace_dir(output, site)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return LiteResult(site=site, wheel=wheel.name, notebooks=notebooks, key=key, built=True,
                      wall_s=time.perf_counter() - start)


def _missing(site: Path, wheel: str, notebooks: Iterable[str]) -> str:
    """What a built site lacks (empty when complete)."""
    lacking = [rel for rel in ("index.html", "notebooks/index.html", "jupyter-lite.json",
                               f"pypi/{wheel}", "pypi/all.json") if not (site / rel).is_file()]
    lacking += [f"files/{nb}.ipynb" for nb in notebooks if not (site / "files" / f"{nb}.ipynb").is_file()]
    try:
        index = json.loads((site / "pypi" / "all.json").read_text(encoding="utf-8"))
        if "matsense" not in index:
            lacking.append("the wheel index entry of matsense (pypi/all.json)")
    except (OSError, ValueError):
        pass
    return ", ".join(lacking)


def install_lite(root: Path, documents: Iterable[Any], html: Path, build: Path) -> LiteResult:
    """Put an up-to-date Lite site at ``<html>/lite``: kept as is when its key matches, else copied
    from ``<build>/lite/site`` when that one matches, else built there first."""
    from .launch import LITE_DIR

    start = time.perf_counter()
    docs = list(documents)
    key = lite_key(root, docs)
    target, cached = Path(html) / LITE_DIR, Path(build) / "lite" / "site"
    built = False
    if _read_key(target).get("key") != key:
        if _read_key(cached).get("key") != key:
            build_lite(root, docs, cached, log=Path(build) / "lite" / "build.log")
            built = True
        tmp = target.with_name(f".new-{target.name}-{uuid.uuid4().hex[:8]}")
        shutil.copytree(cached, tmp)
        replace_dir(tmp, target)
    data = _read_key(target)
    return LiteResult(site=target, wheel=data.get("wheel", ""),
                      notebooks=tuple(data.get("notebooks", ())), key=key, built=built,
                      wall_s=time.perf_counter() - start)


def publish_interactive(root: Path, documents: Iterable[Any], html: Path,
                        build: Path) -> tuple[list[str], list[str]]:
    """After a successful HTML build: the Lite site and (URL set) the Colab copies beside it.

    Returns ``(errors, notes)``: an error fails the run, a note says what was done.
    """
    from .launch import COLAB_DIR, repository_from_config, write_reader_notebooks
    from .yamlfile import load_yaml

    docs, errors, notes = list(documents), [], []
    try:
        config = load_yaml(Path(root) / "_config.yml", root) or {}
        repo = repository_from_config(config)
    except ValueError as exc:
        return [str(exc)], notes
    extensions = ((config.get("sphinx") or {}).get("extra_extensions") or [])
    if "matsense.book.launch" not in extensions:
        return errors, notes  # no page links to them: a book without launch buttons
    colab = Path(html) / COLAB_DIR
    if repo is None:
        shutil.rmtree(colab, ignore_errors=True)
    else:
        written = write_reader_notebooks(root, docs, colab, "colab", repo)
        keep = {p.resolve() for p in written}
        for path in sorted(colab.rglob("*"), reverse=True):
            if path.is_file() and path.resolve() not in keep:
                path.unlink()
        notes.append(f"Colab copies of {len(written)} notebooks in {colab}")
    try:
        lite = install_lite(root, docs, html, build)
        notes.append(f"JupyterLite site with {len(lite.notebooks)} notebooks and {lite.wheel} in "
                     f"{lite.site} ({'built' if lite.built else 'up to date'}, {lite.wall_s:.1f} s)")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        errors.append(f"JupyterLite: {exc}")
    return errors, notes
