"""The JupyterLite site: its index, the library's wheel and every notebook of the book, built offline.

The site is built once for this module from the repository's own notebooks (about ten seconds:
the wheel from the sources, the notebooks converted, ``jupyter lite build`` with its proxies pointed
at a closed port, so that any download would fail it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from matsense.book.launch import LITE_DIR, SETUP_TAG, lite_link
from matsense.book.lite import (KEY_FILE, PYODIDE_PACKAGES, build_lite, install_lite, library_root,
                                lite_key)
from matsense.book.toc import read_toc

ROOT = Path(__file__).resolve().parents[1]
DOCS = read_toc(ROOT)
NOTEBOOKS = [d.name for d in DOCS if d.notebook]
PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("lite")
    result = build_lite(ROOT, DOCS, out / "site", log=out / "build.log")
    return result, out


def test_the_site_has_its_index_and_apps(site) -> None:
    result, out = site
    assert result.built and result.site == out / "site"
    for rel in ("index.html", "notebooks/index.html", "lab/index.html", "jupyter-lite.json"):
        assert (result.site / rel).is_file(), rel
    assert json.loads((result.site / KEY_FILE).read_text())["key"] == result.key
    assert len(result.key) == 64


def test_the_site_holds_the_library_wheel_built_from_the_repository(site, tmp_path: Path) -> None:
    result, _ = site
    wheel = result.site / "pypi" / result.wheel
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert result.wheel == f"matsense-{version}-py3-none-any.whl" and wheel.is_file()
    index = json.loads((result.site / "pypi" / "all.json").read_text())
    files = index["matsense"]["releases"][version]
    assert [f["filename"] for f in files] == [result.wheel]
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(ROOT / "lib").as_posix() for p in (ROOT / "lib" / "matsense").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sources <= names, sorted(sources - names)
    # the wheel alone imports (zipimport), and it is this repository's library
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import matsense, matsense.setups; "
            "print(matsense.__file__)")
    proc = subprocess.run([sys.executable, "-I", "-c", code, str(wheel)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(wheel))


def test_the_site_holds_every_notebook_ready_for_the_browser(site) -> None:
    result, _ = site
    assert set(result.notebooks) == set(NOTEBOOKS) and NOTEBOOKS
    for name in NOTEBOOKS:
        path = result.site / "files" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        first = nb.cells[0]
        assert first.metadata["tags"] == [SETUP_TAG]
        assert 'piplite.install("matsense", deps=False)' in first.source
        assert nb.metadata.kernelspec.name == "python"
        assert (path.parent / "claims.yml").is_file(), f"{name}: its claims table beside it"
        folder = Path(name).parent.as_posix()
        listing = json.loads((result.site / "api" / "contents" / folder / "all.json").read_text())
        assert f"{name}.ipynb" in {entry["path"] for entry in listing["content"]}
        target = lite_link(name).removeprefix(f"{LITE_DIR}/")
        assert (result.site / target.split("?")[0]).is_file()


def test_the_kernel_loads_pyodides_own_packages_and_the_site_wheel(site) -> None:
    result, out = site
    config = json.loads((result.site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"][PLUGIN]
    assert set(kernel["loadPyodideOptions"]["packages"]) == set(PYODIDE_PACKAGES)
    assert {"numpy", "scipy", "matplotlib"} <= set(PYODIDE_PACKAGES)
    assert any(url.startswith("./pypi/all.json") for url in kernel["pipliteUrls"])
    # Pyodide is not in the site: the reader's browser fetches it; nothing was downloaded
    assert "pyodideUrl" not in kernel and not (result.site / "static" / "pyodide").exists()
    log = (out / "build.log").read_text()
    assert "fetch" not in log.lower() and "Traceback" not in log
    extensions = {e["name"] for e in config["federated_extensions"]}
    assert {"@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager"} <= extensions


def test_an_up_to_date_site_is_reused(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = site
    from matsense.book import lite

    monkeypatch.setattr(lite, "lite_key", lambda root, docs: result.key)  # the tree as it was built
    build = tmp_path / "_build"
    (build / "lite").mkdir(parents=True)
    import shutil
    shutil.copytree(result.site, build / "lite" / "site")
    html = tmp_path / "html"
    first = install_lite(ROOT, DOCS, html, build)
    assert not first.built and (html / LITE_DIR / "index.html").is_file()
    assert first.wheel == result.wheel and set(first.notebooks) == set(NOTEBOOKS)
    again = install_lite(ROOT, DOCS, html, build)
    assert not again.built and again.wall_s < first.wall_s + 5


def test_the_key_follows_the_notebooks_and_the_library(make_book) -> None:
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    docs = read_toc(root)
    assert library_root(root) == ROOT  # a book without the library's source uses the running one
    key = lite_key(root, docs)
    assert lite_key(root, docs) == key
    page = root / "book" / "a.md"
    page.write_text(page.read_text() + "\nOne more sentence.\n")
    assert lite_key(root, docs) != key
    key = lite_key(root, docs)
    (root / "book" / "claims.yml").write_text((root / "book" / "claims.yml").read_text() + "\n")
    assert lite_key(root, docs) != key
