"""Launch buttons and downloads: Binder, Colab and JupyterLite for every notebook page.

The repository's URL is set in one place, ``repository.url`` of ``_config.yml`` (empty by default);
the environment variable :data:`ENV_URL` overrides it for one build (``MATSENSE_REPOSITORY_URL=...
python -m matsense.book run ...``: the tests and the GitHub workflow use it, the tree is not
touched). :data:`ENV_BRANCH` overrides ``repository.branch`` (default ``main``).

This module is a Sphinx extension (listed in ``_config.yml``). On every notebook page it adds

* a *launch* menu: **JupyterLite** always (the notebook in the Lite site built beside the HTML,
  :mod:`.lite`), and when the URL is set **Binder** and, for a GitHub repository, **Colab**;
* to the theme's *download* menu (which already offers the executed notebook, the staged
  ``.ipynb``) the notebook's MyST source (``.md``);

and, when the URL is set, a repository link on every page.

Each launcher opens a notebook that exists where it looks (the committed notebooks are MyST
Markdown without outputs, which neither Binder's Jupyter nor Colab opens as a notebook):

* **Binder** builds the repository with the root ``environment.yml`` (pinned packages), then runs
  ``postBuild``, which installs the library from the checkout and writes an ``.ipynb`` beside each
  MyST source (``python -m matsense.book.launch binder``); the button opens that ``.ipynb``.
* **Colab** opens notebooks from GitHub only. The runner writes a copy of every notebook into the
  built site (``_build/html/colab/<notebook>.ipynb``) whose first cell clones the repository,
  installs the library and enters the chapter's folder when the library is missing; the GitHub
  workflow publishes the site on the :data:`PAGES_BRANCH` branch, where the button finds it.
* **JupyterLite** copies carry a first cell that installs the library's wheel from the Lite site
  (:mod:`.lite`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote

__all__ = ["ENV_URL", "ENV_BRANCH", "PAGES_BRANCH", "BINDER_URL", "COLAB_URL", "LITE_DIR",
           "COLAB_DIR", "SETUP_TAG", "FLAVOURS", "Repository", "parse_repository",
           "repository_from_config", "binder_url", "colab_url", "lite_link", "setup_cell_source",
           "reader_notebook", "write_reader_notebooks", "notebook_buttons", "setup"]

ENV_URL = "MATSENSE_REPOSITORY_URL"        #: overrides ``repository.url`` of ``_config.yml``
ENV_BRANCH = "MATSENSE_REPOSITORY_BRANCH"  #: overrides ``repository.branch`` (default ``main``)
PAGES_BRANCH = "gh-pages"                  #: the branch the workflow publishes the site to
BINDER_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"
LITE_DIR = "lite"                          #: the JupyterLite site, under the HTML
COLAB_DIR = "colab"                        #: the Colab copies, under the HTML
SETUP_TAG = "matsense-setup"               #: tag of the first cell that a copy for readers gains
FLAVOURS = ("binder", "colab", "lite")

_URL_RE = re.compile(r"^https://(?P<host>[A-Za-z0-9.-]+)/(?P<owner>[A-Za-z0-9_.-]+)/"
                     r"(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9._/-]+$")


@dataclass(frozen=True)
class Repository:
    """Where the book's repository lives: ``https://<host>/<owner>/<name>`` at ``branch``."""

    url: str
    branch: str
    host: str
    owner: str
    name: str

    @property
    def provider(self) -> str:
        """``github``, ``gitlab``, ``bitbucket`` (from the host) or ``git`` (any other host)."""
        for provider in ("github", "gitlab", "bitbucket"):
            if self.host.lower() in (f"{provider}.com", f"{provider}.org", f"www.{provider}.com"):
                return provider
        return "git"


def parse_repository(url: Any, branch: Any = "main") -> Repository | None:
    """The repository at ``url`` (``https://<host>/<owner>/<name>``), or None when ``url`` is empty.

    Raises
    ------
    ValueError
        If ``url`` is not of that form or ``branch`` is not a plain branch name.
    """
    url = "" if url is None else str(url).strip()
    if not url:
        return None
    match = _URL_RE.match(url)
    if match is None:
        raise ValueError(f"repository url={url!r}: expected https://<host>/<owner>/<name>, "
                         "e.g. https://github.com/OWNER/matsense (or empty: no launch buttons)")
    branch = "main" if branch is None or str(branch).strip() == "" else str(branch).strip()
    if not _BRANCH_RE.match(branch) or ".." in branch:
        raise ValueError(f"repository branch={branch!r}: expected a branch name such as 'main'")
    return Repository(url=f"https://{match['host']}/{match['owner']}/{match['name']}",
                      branch=branch, host=match["host"], owner=match["owner"], name=match["name"])


def repository_from_config(config: Mapping[str, Any] | None,
                           environ: Mapping[str, str] | None = None) -> Repository | None:
    """The repository of a ``_config.yml`` mapping, :data:`ENV_URL` and :data:`ENV_BRANCH` winning.

    An :data:`ENV_URL` set to the empty string switches the buttons off for that build.
    """
    environ = os.environ if environ is None else environ
    section = (config or {}).get("repository") or {}
    if not isinstance(section, Mapping):
        raise ValueError(f"_config.yml: 'repository' must be a mapping, got {section!r}")
    url = environ[ENV_URL] if ENV_URL in environ else section.get("url", "")
    branch = environ.get(ENV_BRANCH) or section.get("branch") or "main"
    return parse_repository(url, branch)


def binder_url(repo: Repository, notebook: str) -> str:
    """Binder's link opening ``<notebook>.ipynb`` (written by ``postBuild``) in JupyterLab."""
    if repo.provider == "github":
        spec = f"gh/{repo.owner}/{repo.name}/{quote(repo.branch, safe='')}"
    elif repo.provider == "gitlab":
        spec = f"gl/{repo.owner}%2F{repo.name}/{quote(repo.branch, safe='')}"
    else:
        spec = f"git/{quote(repo.url, safe='')}/{quote(repo.branch, safe='')}"
    return f"{BINDER_URL}/v2/{spec}?urlpath={quote(f'lab/tree/{notebook}.ipynb', safe='')}"


def colab_url(repo: Repository, notebook: str) -> str | None:
    """Colab's link to the copy published on :data:`PAGES_BRANCH` (GitHub only, else None)."""
    if repo.provider != "github":
        return None
    return (f"{COLAB_URL}/github/{repo.owner}/{repo.name}/blob/{PAGES_BRANCH}/"
            f"{COLAB_DIR}/{notebook}.ipynb")


def lite_link(notebook: str) -> str:
    """The notebook in the JupyterLite site, relative to the root of the HTML."""
    return f"{LITE_DIR}/notebooks/index.html?path={quote(notebook, safe='/')}.ipynb"


# -- copies of the notebooks for readers -------------------------------------------------------------

_LITE_SETUP = '''\
# This notebook runs in your browser: Python compiled to WebAssembly (Pyodide, in JupyterLite).
# Its first run installs the book's library from this site (numpy, scipy, matplotlib and pyyaml
# are Pyodide's own packages, loaded with the kernel) and ipywidgets for the explorers. In the
# browser every chapter uses its quick sizes (see matsense.setups.in_browser).
import sys

if sys.platform == "emscripten":
    import piplite

    await piplite.install("matsense", deps=False)
    try:
        await piplite.install("ipywidgets")
    except Exception as exc:  # the explorers need it, nothing else does
        print(f"ipywidgets could not be installed ({exc}): the explorers will not show")'''

_COLAB_SETUP = '''\
# Colab, or any Jupyter without the book: fetch the book's repository, install its library and work
# in this chapter's folder (its claims table lives there). Nothing happens where both are present.
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("matsense") is None or not os.path.isfile("claims.yml"):
    if not os.path.isdir("{checkout}"):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "{branch}",
                        "{url}", "{checkout}"], check=True)
    if importlib.util.find_spec("matsense") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "./{checkout}"],
                       check=True)
        importlib.invalidate_caches()
    os.chdir(os.path.join("{checkout}", "{chapter}"))'''


#: The book's notebooks glue numbers for the prose with MyST-NB, a tool of the book's build; the
#: copies for readers use :func:`matsense.provenance.glue`, which needs it only where it is installed.
_MYST_GLUE = re.compile(r"^from myst_nb import glue$", re.M)
_GLUE_ELSEWHERE = "from matsense.provenance import glue  # MyST-NB's glue where it is installed"


def setup_cell_source(flavour: str, notebook: str, repo: Repository | None = None) -> str | None:
    """The first cell a copy of ``notebook`` gains for ``flavour`` (None: ``binder`` needs none).

    Raises
    ------
    ValueError
        For an unknown flavour, or ``colab`` without a repository.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour={flavour!r}: allowed values are {FLAVOURS}")
    if flavour == "binder":
        return None
    if flavour == "lite":
        return _LITE_SETUP
    if repo is None:
        raise ValueError("flavour='colab' needs the repository (set repository.url in _config.yml "
                         f"or {ENV_URL})")
    chapter = str(Path(notebook).parent.as_posix())
    return (_COLAB_SETUP.replace("{checkout}", f"{repo.name}-book")
            .replace("{branch}", repo.branch).replace("{url}", repo.url)
            .replace("{chapter}", chapter))


def reader_notebook(source: Path, notebook: str, flavour: str,
                    repo: Repository | None = None) -> Any:
    """A MyST notebook as an ``.ipynb`` for readers: no outputs, no jupytext metadata, MyST-NB's
    ``glue`` imported through :func:`matsense.provenance.glue` (MyST-NB is a tool of the book's
    build, absent from Colab and the browser), and the flavour's setup cell first (tagged
    :data:`SETUP_TAG`)."""
    import jupytext
    import nbformat

    setup_source = setup_cell_source(flavour, notebook, repo)
    nb = jupytext.read(Path(source))
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python",
                                          "name": "python3"})
    if flavour == "lite":  # the Pyodide kernel of JupyterLite is named "python"
        nb.metadata["kernelspec"] = {"display_name": "Python (Pyodide)", "language": "python",
                                     "name": "python"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.source = _MYST_GLUE.sub(_GLUE_ELSEWHERE, cell.source)
    if setup_source is not None:
        cell = nbformat.v4.new_code_cell(setup_source, metadata={"tags": [SETUP_TAG]})
        nb.cells.insert(0, cell)
    for i, cell in enumerate(nb.cells):  # stable ids: equal sources give equal bytes
        cell["id"] = f"{flavour}-{i}"
    nbformat.validate(nb)
    return nb


def write_reader_notebooks(root: Path, documents: Iterable[Any], dest: Path, flavour: str,
                           repo: Repository | None = None, *, claims: bool = False) -> list[Path]:
    """Write ``<dest>/<notebook>.ipynb`` for every notebook of ``documents`` (toc
    :class:`~matsense.book.toc.Document`); with ``claims``, also each chapter's ``claims.yml``
    beside its notebooks. Files are rewritten only when their bytes change; returns the paths."""
    import nbformat

    from ..claims import CLAIMS_TABLE

    written = []
    for doc in documents:
        if not doc.notebook:
            continue
        nb = reader_notebook(doc.path, doc.name, flavour, repo)
        target = Path(dest) / f"{doc.name}.ipynb"
        _write_if_changed(target, nbformat.writes(nb).encode("utf-8"))
        written.append(target)
        table = Path(doc.path).parent / CLAIMS_TABLE
        if claims and table.is_file():
            _write_if_changed(target.parent / CLAIMS_TABLE, table.read_bytes())
            written.append(target.parent / CLAIMS_TABLE)
    return written


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# -- the Sphinx extension ------------------------------------------------------------------------------

def notebook_buttons(notebook: str, repo: Repository | None, pathto: Any) -> list[dict[str, Any]]:
    """The launch menu's entries for ``notebook`` (dicts of sphinx-book-theme's header buttons).

    ``pathto`` is the page context's function: ``pathto(path, 1)`` is ``path`` relative to the page.
    """
    lite_path, _, lite_query = lite_link(notebook).partition("?")
    buttons = []
    if repo is not None:
        buttons.append({"type": "link", "text": "Binder", "tooltip": "Launch on Binder",
                        "icon": "_static/images/logo_binder.svg", "url": binder_url(repo, notebook),
                        "label": "launch-binder-button"})
        colab = colab_url(repo, notebook)
        if colab is not None:
            buttons.append({"type": "link", "text": "Colab", "tooltip": "Launch on Colab",
                            "icon": "_static/images/logo_colab.png", "url": colab,
                            "label": "launch-colab-button"})
    buttons.append({"type": "link", "text": "JupyterLite",
                    "tooltip": "Run in your browser with JupyterLite (no server, quick sizes)",
                    "icon": "_static/images/logo_jupyterlite.svg",
                    "url": f"{pathto(lite_path, 1)}?{lite_query}",
                    "label": "launch-jupyterlite-button"})
    return buttons


def _notebook_of(app: Any, pagename: str) -> str | None:
    """``pagename`` when it is a notebook of the book (its MyST source was staged), else None."""
    from .staging import SOURCES_DIR

    return pagename if (Path(app.srcdir) / SOURCES_DIR / f"{pagename}.md").is_file() else None


def _on_config_inited(app: Any, config: Any) -> None:
    """Read ``repository`` from the book's own ``_config.yml`` (Jupyter Book fills in a default URL
    of its own project when the key is absent, so the theme's options cannot be trusted)."""
    from .yamlfile import load_yaml

    path = Path(app.srcdir) / "_config.yml"
    data = load_yaml(path) if path.is_file() else {}
    repo = repository_from_config(data if isinstance(data, Mapping) else {})
    app.matsense_repository = repo
    # a config value of the HTML: when the URL changes (also through the environment), Sphinx
    # writes every page again instead of keeping the pages of the previous build
    config.matsense_repository = "" if repo is None else f"{repo.url}@{repo.branch}"


def _on_page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                     doctree: Any) -> None:
    from .staging import SOURCES_DIR

    buttons = context.get("header_buttons")
    if buttons is None:
        return
    repo = getattr(app, "matsense_repository", None)
    pathto = context["pathto"]
    if repo is not None:
        buttons.insert(0, {"type": "link", "url": repo.url, "tooltip": "Source repository",
                           "icon": "fab fa-github" if repo.provider == "github" else "fab fa-git-alt",
                           "label": "repository-button"})
    notebook = _notebook_of(app, pagename)
    if notebook is None:
        return
    buttons.insert(0, {"type": "group", "tooltip": "Launch interactive content",
                       "icon": "fas fa-rocket", "label": "launch-buttons",
                       "buttons": notebook_buttons(notebook, repo, pathto)})
    source = {"type": "link", "url": pathto(f"{SOURCES_DIR}/{notebook}.md", 1), "text": ".md",
              "tooltip": "Download the notebook's source (MyST Markdown, no outputs)",
              "icon": "fas fa-file-code", "label": "download-myst-source-button"}
    for group in buttons:
        if group.get("label") == "download-buttons":
            group["buttons"].append(source)
            break
    else:
        buttons.append({"type": "group", "tooltip": "Download this page", "icon": "fas fa-download",
                        "label": "download-buttons", "buttons": [source]})


def _on_build_finished(app: Any, exception: Exception | None) -> None:
    """Copy the staged MyST sources into the HTML (the ``.md`` downloads) and mark the site as
    plain files for GitHub Pages (``.nojekyll``: folders starting with ``_`` are served too)."""
    from .staging import SOURCES_DIR

    if exception is not None or app.builder.format != "html":
        return
    src, out = Path(app.srcdir) / SOURCES_DIR, Path(app.outdir)
    if src.is_dir():
        shutil.copytree(src, out / SOURCES_DIR, dirs_exist_ok=True)
    (out / ".nojekyll").touch()


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point (``sphinx.extra_extensions`` of ``_config.yml``)."""
    app.add_config_value("matsense_repository", "", "html")
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _on_page_context, priority=600)  # after the theme's buttons
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# -- command line (Binder's postBuild) -----------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m matsense.book.launch binder [--root DIR]``: write ``<notebook>.ipynb`` beside every
    MyST notebook of the book (what Binder's button opens)."""
    from .._io import find_root
    from .toc import read_toc

    parser = argparse.ArgumentParser(prog="python -m matsense.book.launch",
                                     description="Write .ipynb copies of the book's notebooks.")
    parser.add_argument("flavour", choices=("binder",), help="binder: beside each MyST source")
    parser.add_argument("--root", type=Path, default=None, help="repository root")
    args = parser.parse_args(argv)
    root = (args.root or find_root()).resolve()
    written = write_reader_notebooks(root, read_toc(root), root, args.flavour)
    print(f"wrote {len(written)} notebooks beside their MyST sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
