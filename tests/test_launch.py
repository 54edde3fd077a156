"""Launch buttons and downloads (Binder, Colab, JupyterLite), the Binder files and the workflow.

A tiny book (the runner's test book, with the repository's own ``_config.yml``) is built once with
a placeholder repository URL given through ``MATSENSE_REPOSITORY_URL`` (the tree is not touched),
and once without one; every notebook page is checked for its buttons and every link for its target.
"""

from __future__ import annotations

import ast
import asyncio
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from matsense.book import launch
from matsense.book.launch import (ENV_BRANCH, ENV_URL, PAGES_BRANCH, SETUP_TAG, binder_url,
                                  colab_url, lite_link, parse_repository, reader_notebook,
                                  repository_from_config, setup_cell_source)
from matsense.book.runner import Layout, RunOptions, run_book
from matsense.book.toc import read_toc

ROOT = Path(__file__).resolve().parents[1]
DOCS = read_toc(ROOT)
NOTEBOOKS = [d for d in DOCS if d.notebook]
PLACEHOLDER = "https://github.com/example-owner/matsense-book"


# -- the repository setting -------------------------------------------------------------------------

def test_repository_url_parses_and_refuses_malformed_ones() -> None:
    repo = parse_repository(PLACEHOLDER + ".git/", "dev")
    assert (repo.owner, repo.name, repo.branch, repo.provider) == (
        "example-owner", "matsense-book", "dev", "github")
    assert repo.url == PLACEHOLDER
    assert parse_repository("") is None and parse_repository(None) is None
    assert parse_repository("https://gitlab.com/a/b").provider == "gitlab"
    assert parse_repository("https://git.example.org/a/b").provider == "git"
    for bad in ("github.com/a/b", "http://github.com/a/b", "https://github.com/a",
                "https://github.com/a/b/c", "https://github.com/a/b c"):
        with pytest.raises(ValueError, match="repository url"):
            parse_repository(bad)
    with pytest.raises(ValueError, match="branch"):
        parse_repository(PLACEHOLDER, "a branch")


def test_repository_comes_from_config_and_the_environment_wins() -> None:
    config = {"repository": {"url": PLACEHOLDER, "branch": "dev"}}
    assert repository_from_config(config, {}).branch == "dev"
    assert repository_from_config({"repository": {"url": ""}}, {}) is None
    env = {ENV_URL: "https://github.com/o/r", ENV_BRANCH: "release"}
    repo = repository_from_config({"repository": {"url": ""}}, env)
    assert (repo.url, repo.branch) == ("https://github.com/o/r", "release")
    assert repository_from_config(config, {ENV_URL: ""}) is None  # switched off for one build
    real = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert real["repository"]["url"] == "", "the committed _config.yml has no URL: no buttons"
    assert "matsense.book.launch" in real["sphinx"]["extra_extensions"]


def test_launch_urls() -> None:
    repo = parse_repository(PLACEHOLDER)
    assert binder_url(repo, "book/jin/intro") == (
        "https://mybinder.org/v2/gh/example-owner/matsense-book/main"
        "?urlpath=lab%2Ftree%2Fbook%2Fjin%2Fintro.ipynb")
    assert colab_url(repo, "book/jin/intro") == (
        "https://colab.research.google.com/github/example-owner/matsense-book/blob/"
        f"{PAGES_BRANCH}/colab/book/jin/intro.ipynb")
    gitlab = parse_repository("https://gitlab.com/a/b")
    assert "/v2/gl/a%2Fb/main?" in binder_url(gitlab, "x") and colab_url(gitlab, "x") is None
    other = parse_repository("https://git.example.org/a/b")
    assert "/v2/git/https%3A%2F%2Fgit.example.org%2Fa%2Fb/main?" in binder_url(other, "x")
    assert lite_link("book/jin/intro") == "lite/notebooks/index.html?path=book/jin/intro.ipynb"


# -- the copies for readers -------------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["binder", "colab", "lite"])
def test_reader_copies_of_every_notebook(flavour: str) -> None:
    repo = parse_repository(PLACEHOLDER)
    for doc in NOTEBOOKS:
        nb = reader_notebook(doc.path, doc.name, flavour, repo)
        nbformat.validate(nb)
        assert "jupytext" not in nb.metadata
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code)
        assert any("parameters" in c.metadata.get("tags", []) for c in code), doc.name
        assert "myst_nb" not in "".join(c.source for c in code), "MyST-NB is the book's tool"
        first = nb.cells[0]
        if flavour == "binder":
            assert SETUP_TAG not in first.metadata.get("tags", [])
            continue
        assert first.cell_type == "code" and first.metadata["tags"] == [SETUP_TAG]
        compile(first.source, "<setup cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        if flavour == "colab":
            assert PLACEHOLDER in first.source and "book" in first.source
            assert f'"{Path(doc.name).parent.as_posix()}"' in first.source
        else:
            assert nb.metadata.kernelspec.name == "python"
    with pytest.raises(ValueError, match="colab"):
        setup_cell_source("colab", "book/jin/intro", None)
    with pytest.raises(ValueError, match="flavour"):
        setup_cell_source("kaggle", "book/jin/intro", None)


def _run_cell(source: str) -> None:
    code = compile(source, "<setup cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, {"__name__": "__main__"})  # noqa: S307 - our own generated cell
    if asyncio.iscoroutine(result):
        asyncio.run(result)


def test_colab_cell_clones_installs_and_enters_the_chapter(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    repo = parse_repository(PLACEHOLDER, "dev")
    source = setup_cell_source("colab", "book/jin/intro", repo)
    calls = []

    def fake_run(cmd: list[str], check: bool = False, **kwargs: object) -> None:
        calls.append(cmd)
        if cmd[:2] == ["git", "clone"]:
            (Path(cmd[-1]) / "book" / "jin").mkdir(parents=True)
            (Path(cmd[-1]) / "book" / "jin" / "claims.yml").write_text("{}\n")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(subprocess, "run", fake_run)
    _run_cell(source)  # matsense is importable here: clone only, no pip
    assert calls == [["git", "clone", "--quiet", "--depth", "1", "--branch", "dev", PLACEHOLDER,
                      "matsense-book-book"]]
    assert Path.cwd() == tmp_path / "matsense-book-book" / "book" / "jin"
    calls.clear()
    _run_cell(source)  # in the chapter's folder, with the library: nothing to do
    assert calls == []

    import importlib.util
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matsense" else real_find_spec(name, *a))
    monkeypatch.chdir(tmp_path)
    _run_cell(source)  # no library: the existing checkout is installed
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", "./matsense-book-book"]]


def test_lite_cell_installs_the_wheel_only_in_the_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    source = setup_cell_source("lite", "book/jin/intro")
    installed = []

    async def install(requirements: object, **kwargs: object) -> None:
        installed.append((requirements, kwargs))

    monkeypatch.setitem(sys.modules, "piplite", types.SimpleNamespace(install=install))
    _run_cell(source)
    assert installed == []
    monkeypatch.setattr(sys, "platform", "emscripten")
    _run_cell(source)
    assert installed == [("matsense", {"deps": False}), ("ipywidgets", {})]


def test_binder_command_writes_ipynb_beside_the_sources(make_book) -> None:
    root = make_book({"book/ch/a": {}, "book/ch/b": {}})
    assert launch.main(["binder", "--root", str(root)]) == 0
    for name in ("book/ch/a", "book/ch/b"):
        nb = nbformat.read(root / f"{name}.ipynb", as_version=4)
        assert not any(SETUP_TAG in c.metadata.get("tags", []) for c in nb.cells)
    assert not (root / "book" / "intro.ipynb").exists()


# -- the built book -----------------------------------------------------------------------------------

def _mini_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import write_book

    root = write_book(tmp_path_factory.mktemp("launch") / "repo",
                      {"book/ch/a": {"claim_id": "beyond.a"}, "book/ch/b": {"claim_id": "beyond.b"}})
    page_b = root / "book" / "ch" / "b.md"
    page_b.write_text(page_b.read_text().replace("(mini-notebook)=", "(mini-notebook-b)="))
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")  # the book's own configuration
    for extra in ("references.bib", "_static"):  # what that configuration names
        src = ROOT / "book" / extra
        if src.is_dir():
            shutil.copytree(src, root / "book" / extra)
        elif src.is_file():
            shutil.copy(src, root / "book" / extra)
    return root


def _build(root: Path, url: str | None) -> tuple[Path, str]:
    env_before = os.environ.get(ENV_URL)
    if url is None:
        os.environ.pop(ENV_URL, None)
    else:
        os.environ[ENV_URL] = url
    try:
        out = io.StringIO()
        summary = run_book(RunOptions(root=root, mode="quick", progress=False, jobs=1), out=out)
    finally:
        if env_before is None:
            os.environ.pop(ENV_URL, None)
        else:
            os.environ[ENV_URL] = env_before
    assert summary.ok, out.getvalue()
    return summary.html, out.getvalue()


@pytest.fixture(scope="module")
def built_books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = _mini_book(tmp_path_factory)
    html, _ = _build(root, PLACEHOLDER)
    with_url = tmp_path_factory.mktemp("with-url") / "html"
    shutil.copytree(html, with_url)
    html_without, _ = _build(root, "")  # the variable set empty: no URL for this build
    return {"root": root, "with": with_url, "without": html_without}


def _links(page: Path) -> dict[str, str]:
    """label or text of each header button -> its href, read from the page."""
    text = page.read_text(encoding="utf-8")
    found = {}
    for m in re.finditer(r'<a href="([^"]+)"[^>]*?class="btn btn-sm ([^"]*?)"', text, re.S):
        found[m.group(2).split()[0]] = m.group(1).replace("&amp;", "&")
    return found


def _target(page: Path, href: str) -> Path:
    return (page.parent / unquote(urlsplit(href).path)).resolve()


def test_every_notebook_page_has_its_buttons(built_books: dict[str, Path]) -> None:
    html, root = built_books["with"], built_books["root"]
    for name in ("book/ch/a", "book/ch/b"):
        page = html / f"{name}.html"
        links = _links(page)
        assert links["btn-launch-binder-button"] == binder_url(parse_repository(PLACEHOLDER), name)
        assert links["btn-launch-colab-button"] == colab_url(parse_repository(PLACEHOLDER), name)
        assert links["btn-repository-button"] == PLACEHOLDER
        lite = links["btn-launch-jupyterlite-button"]
        assert _target(page, lite) == (html / "lite" / "notebooks" / "index.html").resolve()
        assert urlsplit(lite).query == f"path={name}.ipynb"
        assert (html / "lite" / "files" / f"{name}.ipynb").is_file()
        executed = nbformat.read(_target(page, links["btn-download-source-button"]), as_version=4)
        assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        source = _target(page, links["btn-download-myst-source-button"])
        assert source.read_bytes() == (root / f"{name}.md").read_bytes()
        colab = nbformat.read(html / "colab" / f"{name}.ipynb", as_version=4)
        assert colab.cells[0].metadata["tags"] == [SETUP_TAG] and PLACEHOLDER in colab.cells[0].source
    intro = _links(html / "book" / "intro.html")
    assert intro.get("btn-repository-button") == PLACEHOLDER
    assert not any("launch" in k for k in intro), "a plain page has no launch menu"
    assert (html / ".nojekyll").is_file()


def test_without_url_only_jupyterlite_and_downloads(built_books: dict[str, Path]) -> None:
    html = built_books["without"]
    for name in ("book/ch/a", "book/ch/b"):
        page = html / f"{name}.html"
        links = _links(page)
        assert "btn-launch-jupyterlite-button" in links
        assert "btn-download-myst-source-button" in links and "btn-download-source-button" in links
        assert not {"btn-launch-binder-button", "btn-launch-colab-button",
                    "btn-repository-button"} & set(links)
        assert "mybinder.org" not in page.read_text() and "colab.research" not in page.read_text()
    assert not (html / "colab").exists()


def test_a_malformed_url_stops_the_run_before_anything_executes(make_book, monkeypatch) -> None:
    root = make_book({"book/a": {}})
    monkeypatch.setenv(ENV_URL, "github.com/no-scheme/repo")
    with pytest.raises(ValueError, match="repository url"):
        run_book(RunOptions(root=root, mode="quick", progress=False, build_html=False))
    assert not Layout(root, "quick").executed("book/a").exists()


def test_cli_option_sets_the_url_for_one_build(make_book, monkeypatch, capsys) -> None:
    from matsense.book.__main__ import main

    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    monkeypatch.setenv(ENV_URL, "")  # the option writes the variable: restored after the test
    args = ["run", "--mode", "quick", "--root", str(root), "--no-html"]
    assert main(args + ["--repository-url", "not-a-url"]) == 2
    assert "repository url='not-a-url'" in capsys.readouterr().err
    assert os.environ[ENV_URL] == "not-a-url"


# -- Binder's files and the GitHub workflow -----------------------------------------------------------

def test_environment_yml_is_small_pinned_and_postbuild_installs_the_library() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert 3 <= len(pip) <= 15
    pins = dict(p.split("==", 1) for p in pip)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", p) for p in pip), pip
    assert {"numpy", "scipy", "matplotlib", "ipywidgets", "jupytext"} <= set(pins)
    # repo2docker installs environment.yml before it copies the repository: no local path here
    assert not any(p.startswith((".", "-e")) for p in pip)
    from packaging.requirements import Requirement

    pyproject = (ROOT / "pyproject.toml").read_text()
    import tomllib
    for req in map(Requirement, tomllib.loads(pyproject)["project"]["dependencies"]):
        if req.name in pins:
            assert req.specifier.contains(pins[req.name]), (req, pins[req.name])
    post = ROOT / "postBuild"
    assert post.stat().st_mode & stat.S_IXUSR, "postBuild must be executable"
    text = post.read_text()
    assert "pip install" in text and "python -m matsense.book.launch binder" in text


#: Commands of the README's quick start that open something for a person (never run by CI).
INTERACTIVE = {"make lab"}


def _readme_commands() -> list[str]:
    """The README's quick-start commands that build and test (its two commands)."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]
    return [c for c in commands if c not in INTERACTIVE]


def test_workflow_runs_exactly_the_readme_commands_and_publishes_the_site() -> None:
    assert _readme_commands() == ["make book", "make test"]
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows, "a workflow under .github/workflows/"
    flow = yaml.safe_load(workflows[0].read_text())
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "push" in triggers
    steps = [s for job in flow["jobs"].values() for s in job["steps"]]
    runs = [line.strip() for s in steps if "run" in s for line in s["run"].splitlines()
            if line.strip()]
    assert runs == _readme_commands()
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/setup-python"]["with"]["python-version"] == "3.11"
    deploy = uses["peaceiris/actions-gh-pages"]["with"]
    assert deploy["publish_dir"] == "./_build/html" and deploy["publish_branch"] == PAGES_BRANCH
    job_env = {k: v for job in flow["jobs"].values() for k, v in (job.get("env") or {}).items()}
    assert "github.repository" in job_env[ENV_URL]
    assert all(s.get("uses") or s.get("run") for s in steps)
    json.dumps(flow, default=str)  # plain data
