"""The architecture, enforced: one-way layering, thin notebooks.

Floors, bottom to top:

1. the **science**: every module of ``matsense`` except those below (operators, problems, engine,
   dynamics, metrics, solutions, baselines, theory, analysis, experiments, setups, sweepcache,
   plotting, widgets and the private helpers);
2. the **notebook record**: what a notebook calls to record its results (``claims``,
   ``provenance``, ``context``, ``_ipython``), which may use the science;
3. the **book pipeline** ``matsense.book``: executes the notebooks and builds the book.

An import may only go down (or sideways within a floor).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

import matsense
from nb_limits import measure

PACKAGE = Path(matsense.__file__).resolve().parent
ROOT = PACKAGE.parents[1]
RECORD = {"matsense.claims", "matsense.provenance", "matsense.context", "matsense._ipython"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor(module: str) -> int:
    if module == "matsense.book" or module.startswith("matsense.book."):
        return 3
    return 2 if module in RECORD else 1


def imports(path: Path) -> set[str]:
    """Every ``matsense`` module imported by a file (absolute, relative, at any depth of the code)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    return source_imports(path.read_text(encoding="utf-8"), package)


def source_imports(source: str, package: str) -> set[str]:
    """Names of ``matsense`` modules imported by ``source``, a module of ``package``."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "matsense"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "matsense":
                continue
            out.add(target)
            out |= {f"{target}.{a.name}" for a in node.names}  # `from . import book` names a module
    return out


def known_module(name: str) -> str | None:
    """The module (not attribute) part of an imported name."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = PACKAGE.parent.joinpath(*parts[:i])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts[:i])
    return None


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_floors_are_what_the_docstring_says():
    floors = {module_name(p): floor(module_name(p)) for p in MODULES}
    assert floors["matsense.dynamics"] == floors["matsense.plotting.jin"] == 1
    assert floors["matsense.claims"] == floors["matsense.provenance"] == 2
    assert floors["matsense.book.runner"] == 3
    assert not any("bench" in m for m in floors)  # benchmarks live outside the package


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_floor_above_its_own(path):
    me = module_name(path)
    upward = sorted(m for m in {known_module(n) for n in imports(path)} - {None}
                    if floor(m) > floor(me))
    assert not upward, f"{me} (floor {floor(me)}) imports {upward} from a floor above"


def test_the_layering_test_can_fail():
    """The import walk sees relative, absolute and function-level imports."""
    src = ("import matsense.book.cache\n"
           "def f():\n    from .book import runner\n    from . import claims\n")
    names = {known_module(n) for n in source_imports(src, "matsense")} - {None}
    assert {"matsense.book.cache", "matsense.book.runner", "matsense.claims"} <= names
    assert floor("matsense.book.runner") > floor("matsense.theory")


def book_notebooks() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(toc)
    out = []
    for f in files:
        path = ROOT / f"{f}.md"
        if path.is_file() and "{code-cell}" in path.read_text(encoding="utf-8"):
            out.append(path)
    return out


@pytest.mark.parametrize("path", book_notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebooks_are_thin(path):
    """At most 35% code lines, no code cell over 20 lines, no axis styling in a notebook."""
    assert measure(path).problems() == []


def test_the_limits_can_fail(tmp_path):
    fat = tmp_path / "fat.md"
    fat.write_text("---\nx: 1\n---\n# T\n\ntext\n\n```{code-cell} ipython3\n"
                   + "".join(f"a{i} = {i}\n" for i in range(21)) + "ax.set_xlabel('t')\n```\n")
    problems = measure(fat).problems()
    assert any("code" in p and "%" in p for p in problems)
    assert any("22 lines" in p for p in problems)
    assert any("axis styling" in p for p in problems)


@pytest.mark.parametrize("table", sorted((ROOT / "book").glob("*/claims.yml")),
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_declared_claim_has_a_negative_control(table):
    from matsense.claims import load_claims_table
    missing = [cid for cid, d in load_claims_table(table).items() if d.control is None]
    assert not missing, f"claims without a negative control: {missing}"
