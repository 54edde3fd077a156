"""Shared fixtures: a clean run context, and a factory for tiny books the runner can execute.

A tiny book is a temporary repository with ``_toc.yml``, ``_config.yml``, ``book/`` and copies of
``tests/fixtures/mini.md`` (a notebook that records one claim and saves one figure, and fails on
purpose when its ``failure`` parameter says so).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import settings

from matsense.book.context import (ENV_CACHE_KEY, ENV_MODE, ENV_NOTEBOOK, ENV_OUTPUT_DIR,
                                   ENV_PARAMS)

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
    for name in notebooks:
        target = root / f"{name}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MINI_NOTEBOOK, target)
    defaults = {"quick": True, "seed": 0}
    (root / "book" / "params" / "quick.yml").write_text(
        yaml.safe_dump({"defaults": defaults, **notebooks}))
    (root / "book" / "params" / "full.yml").write_text(
        yaml.safe_dump({"defaults": {"quick": False, "seed": 0}, **(full or {})}))
    if registry is None:
        registry = [{"paper_ref": "beyond the papers", "notebook": name,
                     "figure": params.get("figure", "line"),
                     "claims": [params.get("claim_id", "beyond.mini-sum")]}
                    for name, params in notebooks.items()]
    (root / "book" / "figures.yml").write_text(yaml.safe_dump(registry))
    (root / "book" / "known_deviations.yml").write_text(yaml.safe_dump(deviations or {}))
    return root


@pytest.fixture
def make_book(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_book({"book/a": {...}}, ...)`` writes a tiny book and returns its root."""
    def factory(notebooks: dict[str, dict[str, Any]], **kwargs: Any) -> Path:
        return write_book(tmp_path / "repo", notebooks, **kwargs)
    return factory
