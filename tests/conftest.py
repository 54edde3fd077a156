"""Shared fixtures: a clean run context, and a factory for tiny books the runner can execute.

A tiny book is a temporary repository with ``_toc.yml``, ``_config.yml``, ``book/`` and copies of
``tests/fixtures/mini.md`` (a notebook that records one claim and saves one figure, and fails on
purpose when its ``failure`` parameter says so).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import settings

from matsense.context import ENV_CACHE_KEY, ENV_MODE, ENV_NOTEBOOK, ENV_OUTPUT_DIR, ENV_PARAMS

# Property tests draw the same examples on every run: CI must not fail on a draw the last run
# never saw. (Set HYPOTHESIS_PROFILE=explore to search with fresh randomness locally.)
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIXTURES = Path(__file__).parent / "fixtures"
MINI_NOTEBOOK = FIXTURES / "mini.md"

MINI_CONFIG = {
    "title": "mini",
    "only_build_toc_files": True,
    "exclude_patterns": ["_build"],
    "execute": {"execute_notebooks": "off"},
    "parse": {"myst_enable_extensions": ["dollarmath", "amsmath"]},
    "sphinx": {"config": {"numfig": True, "nitpicky": True,
                          "nb_render_markdown_format": "myst"}},
}


#: How the mini notebook's claim is declared in the tiny book's claims table.
MINI_CLAIM = {"statement": "The sum of 0..n-1 is n(n-1)/2.", "source": "Gauss's formula",
              "comparison": "rel", "tolerance": 1e-12,
              "reason": "exact integers summed in float64; 1e-12 is far above rounding",
              "control": {"breaks": "the range of the sum (1..n instead of 0..n-1)", "setup": {}}}


@pytest.fixture(autouse=True)
def no_run_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start outside any runner: no MATSENSE_* variable is set."""
    for var in (ENV_NOTEBOOK, ENV_MODE, ENV_OUTPUT_DIR, ENV_PARAMS, ENV_CACHE_KEY):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def runner_context(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to be a notebook executed by the runner in quick mode; return its output dir."""
    out = tmp_path / "outputs"
    monkeypatch.setenv(ENV_NOTEBOOK, "book/test/notebook")
    monkeypatch.setenv(ENV_MODE, "quick")
    monkeypatch.setenv(ENV_OUTPUT_DIR, str(out))
    monkeypatch.setenv(ENV_PARAMS, '{"quick": true, "seed": 0}')
    monkeypatch.setenv(ENV_CACHE_KEY, "k" * 64)
    return out


def mini_figure(notebook: str) -> str:
    """Default figure name of a copy of the mini notebook: ``book/a`` -> ``a-line``."""
    return notebook.removeprefix("book/").replace("/", "-") + "-line"


def write_book(root: Path, notebooks: dict[str, dict[str, Any]], *,
               registry: list[dict] | None = None, deviations: dict | None = None,
               full: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write a tiny book under ``root``: one copy of the mini notebook per entry of ``notebooks``.

    ``notebooks`` maps a toc name (``book/a``) to its quick-mode parameters. The registry defaults
    to every notebook's figure with its claim.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "book" / "params").mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(yaml.safe_dump(MINI_CONFIG))
    toc = {"format": "jb-book", "root": "book/intro",
           "chapters": [{"file": name} for name in notebooks] + [{"file": "book/report"}]}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (root / "book" / "intro.md").write_text("# Mini book\n\nA book for tests.\n")
    (root / "book" / "report.md").write_text("# Reproduction report\n\nGenerated.\n")
    for name, params in notebooks.items():
        target = root / f"{name}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        # figure names are unique in a book: each copy saves and places "<slug>-line" by default
        placed = params.get("figure", mini_figure(name))
        target.write_text(MINI_NOTEBOOK.read_text()
                          .replace('figure = "line"', f'figure = "{mini_figure(name)}"')
                          .replace("{glue:figure} line", f"{{glue:figure}} {placed}")
                          .replace(":name: fig-line", f":name: fig-{placed}"))
    defaults = {"quick": True, "seed": 0}
    (root / "book" / "params" / "quick.yml").write_text(
        yaml.safe_dump({"defaults": defaults, **notebooks}))
    (root / "book" / "params" / "full.yml").write_text(
        yaml.safe_dump({"defaults": {"quick": False, "seed": 0}, **(full or {})}))
    if registry is None:
        registry = [{"paper_ref": "beyond the papers", "notebook": name,
                     "figure": params.get("figure", mini_figure(name)),
                     "claims": [params.get("claim_id", "beyond.mini-sum")]}
                    for name, params in notebooks.items()]
    (root / "book" / "figures.yml").write_text(yaml.safe_dump(registry))
    claim_ids = {params.get("claim_id", "beyond.mini-sum") for params in notebooks.values()}
    for name in notebooks:
        table = (root / name).parent / "claims.yml"
        declared = yaml.safe_load(table.read_text()) if table.is_file() else {}
        declared.update({cid: MINI_CLAIM for cid in sorted(claim_ids)})
        table.write_text(yaml.safe_dump(declared))
    (root / "book" / "known_deviations.yml").write_text(yaml.safe_dump(deviations or {}))
    return root


@pytest.fixture
def make_book(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_book({"book/a": {...}}, ...)`` writes a tiny book and returns its root."""
    def factory(notebooks: dict[str, dict[str, Any]], **kwargs: Any) -> Path:
        return write_book(tmp_path / "repo", notebooks, **kwargs)
    return factory


# tests/nb_limits.py is a script and a module: let tests import it by name.
import sys as _sys  # noqa: E402

_sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def close_figures():
    """Figures a test draws are closed after it, so that a long session keeps no open figures."""
    yield
    import sys as _s
    if "matplotlib.pyplot" in _s.modules:
        _s.modules["matplotlib.pyplot"].close("all")
