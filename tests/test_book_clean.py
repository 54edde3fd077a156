"""Clean, offline pages and readable downloads (issue 13): what the runner and the book's Sphinx
extension do to an executed notebook before a reader sees it.

- the kernel: numbers print rounded, NumPy 2 scalars without their type, no progress bar
  (:mod:`matsense.book.kernel_display`, :mod:`matsense.book.execute`, ``matsense.dynamics``);
- staging: papermill's injected-parameters cell is gone (its values in the notebook's own
  ``parameters`` cell), and so are widget outputs (:mod:`matsense.book.staging`);
- the downloadable notebook has its figures embedded and its numbers pasted
  (:mod:`matsense.book.download`);
- the Sphinx extension (:mod:`matsense.book.sphinx_ext`): ``jupyter-book build`` of the bare
  sources stops at once with one line; a staged book gets MathJax from its own site, no Thebe,
  plain-text titles and the reader's download;
- ``jupytext.toml``: saving a notebook in JupyterLab gives back the same bytes.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import nbformat
import numpy as np
import pytest
import yaml

from matsense.book import execute, staging
from matsense.book.download import download_notebook, glued_outputs
from matsense.book.kernel_display import (FLOAT_FORMAT, configure, load_ipython_extension,
                                          numpy_print_options)
from matsense.book.sphinx_ext import (GUARD_MESSAGE, MATHJAX_PATH, latex_to_text, mathjax_files,
                                      mathjax_source)
from matsense.book.staging import STAGE_MARKER, merge_parameters, stage_notebook

ROOT = Path(__file__).resolve().parents[1]
RECORD = "application/papermill.record/"


def png_bytes() -> bytes:
    raw = b"\x00\x80\x80"

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def glue_output(key: str, **data: str) -> dict:
    return nbformat.v4.new_output(
        "display_data", data={RECORD + mime: value for mime, value in data.items()},
        metadata={"scrapbook": {"name": key, "mime_prefix": RECORD}})


# ----------------------------------------------------------------------------------------------
# The kernel


def test_numpy_print_options_per_version():
    assert numpy_print_options("1.26.4") == {"precision": 4}
    assert numpy_print_options("2.1.0") == {"precision": 4, "legacy": "1.25"}


def test_floats_and_numpy_scalars_display_rounded():
    from IPython.core.formatters import PlainTextFormatter

    fmt = PlainTextFormatter()
    fmt.float_precision = FLOAT_FORMAT
    assert fmt(np.float64(1 / 3)) == "0.3333"
    assert fmt([np.float64(2 / 3), 1e-9, 3]) == "[0.6667, 1e-09, 3]"


def test_configure_sets_the_shell_formatter_and_numpy():
    class Shell:
        class display_formatter:  # noqa: N801 - mimics IPython's attribute
            formatters = {"text/plain": type("F", (), {"float_precision": ""})()}

    before = np.get_printoptions()
    try:
        load_ipython_extension(Shell)
        assert Shell.display_formatter.formatters["text/plain"].float_precision == FLOAT_FORMAT
        assert np.get_printoptions()["precision"] == 4
        configure(Shell)
    finally:
        np.set_printoptions(**{k: v for k, v in before.items()
                               if k in ("precision", "legacy", "threshold", "linewidth")})


def test_the_kernel_starts_with_rounding_and_without_progress_bars():
    env = execute.kernel_environment(notebook="book/a", mode="quick", output_dir=Path("."),
                                     parameters={}, cache_key=None)
    assert env["MATSENSE_NO_PROGRESS"] == "1" and env["TQDM_DISABLE"] == "1"
    assert "--IPKernelApp.extensions=matsense.book.kernel_display" in execute.KERNEL_ARGUMENTS
    names = [name for name, _ in execute.kernel_inputs()]
    assert "lib/matsense/book/kernel_display.py" in names


def test_the_kernel_settings_are_part_of_every_cache_key(tmp_path):
    from matsense.book.runner import _declared_inputs
    from matsense.book.toc import Document

    doc = Document(name="book/a", path=tmp_path / "book" / "a.md", notebook=True)
    inputs = dict(_declared_inputs(tmp_path, doc))
    assert "(kernel settings)" in inputs and "lib/matsense/book/kernel_display.py" in inputs


def test_the_library_honours_the_no_progress_variable(monkeypatch):
    import matsense as ms
    import matsense.dynamics as dyn

    seen = []

    class Bar:
        def __init__(self, *args, disable=False, **kwargs):
            seen.append(disable)

        def update(self, n=1):
            pass

        def close(self):
            pass

    monkeypatch.setattr(dyn, "tqdm", Bar)
    problem = ms.symmetric_gaussian_problem(4, [1.0], 30, rng=0)
    U0 = ms.small_random_init(4, 2, 1e-2, rng=1)
    monkeypatch.delenv(dyn.ENV_NO_PROGRESS, raising=False)
    ms.gd_symmetric(problem, U0, 0.1, 5, progress=True, threads=1)
    monkeypatch.setenv(dyn.ENV_NO_PROGRESS, "1")
    assert dyn.progress_disabled()
    ms.gd_symmetric(problem, U0, 0.1, 5, progress=True, threads=1)
    monkeypatch.setenv(dyn.ENV_NO_PROGRESS, "0")
    assert not dyn.progress_disabled()
    assert seen == [False, True]


# ----------------------------------------------------------------------------------------------
# Staging


def executed_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}
    params = nbformat.v4.new_code_cell("quick = False  # tiny sizes when True\nseed = 0",
                                       metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell("# Parameters\nquick = True\nseed = 2\n",
                                         metadata={"tags": ["injected-parameters"]})
    widget = nbformat.v4.new_code_cell("explorer()")
    widget.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "AAAA"}),
                      nbformat.v4.new_output("execute_result", execution_count=1, data={
                          "application/vnd.jupyter.widget-view+json": {"model_id": "a"},
                          "text/plain": "VBox(children=...)"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), params, injected, widget]
    return nb


def test_staging_removes_the_injected_cell_and_keeps_its_values():
    nb = executed_notebook()
    staged = stage_notebook(nb)
    sources = [c.source for c in staged.cells]
    assert not any("# Parameters" in s for s in sources)
    assert staged.cells[1].source == "quick = True  # tiny sizes when True\nseed = 2"
    assert len(nb.cells) == 4 and "widgets" in nb.metadata  # the input is not modified


def test_staging_drops_widgets_and_their_state():
    staged = stage_notebook(executed_notebook())
    assert "widgets" not in staged.metadata
    outputs = staged.cells[-1].outputs
    assert [list(o.data) for o in outputs] == [["image/png"]]  # a static fallback stays


@pytest.mark.parametrize("source, injected, expected", [
    ("quick = False\nseed = 0", "quick = True\nseed = 1\n", "quick = True\nseed = 1"),
    ("quick = False  # note", "# Parameters\nquick = True\nextra = 'x'\n",
     "quick = True  # note\nextra = 'x'"),
    ("x = [1,\n     2]", "x = 3\n", "x = [1,\n     2]\nx = 3"),
    ("not python (", "quick = True", "not python ("),
    ("é = 'ü'; quick = 1", "quick = 2", "é = 'ü'; quick = 2"),  # UTF-8 offsets
    ("name = 'ü'\nquick = 1", "quick = 2", "name = 'ü'\nquick = 2"),
])
def test_merge_parameters(source, injected, expected):
    assert merge_parameters(source, injected) == expected


def test_the_staged_tree_carries_the_marker(tmp_path):
    root = tmp_path / "repo"
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text("title: t\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    stage = tmp_path / "stage"
    staging.stage_book(root=root, stage=stage, documents=[], executed={}, output_dirs={},
                       generated={})
    assert (stage / STAGE_MARKER).is_file()
    assert not (root / STAGE_MARKER).exists()


# ----------------------------------------------------------------------------------------------
# The reader's download


def staged_notebook(tmp_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("glue(...)")
    image = base64.b64encode(png_bytes()).decode()
    code.outputs = [glue_output("n_runs", **{"text/plain": "12"}),
                    glue_output("rate", **{"text/plain": "0.012345"}),
                    glue_output("fig-a", **{"image/png": image, "text/plain": "<Image>"})]
    md = nbformat.v4.new_markdown_cell(
        "In {glue:text}`n_runs` runs the rate was {glue:text}`rate:.2f` ({glue}`rate`).\n\n"
        "```{glue:figure} fig-a\n:name: fig-fig-a\n:alt: A grey line [two pixels].\n\n"
        "The caption, with {glue:text}`n_runs` runs.\n```\n\n"
        "```{glue:figure} unknown\n:alt: x\n\nLeft alone.\n```\n\n"
        "```{include} _claims.md\n```\n")
    (tmp_path / "_claims.md").write_text("| claim | status |\n|---|---|\n| a | pass |\n")
    nb.cells = [code, md]
    return nb


def test_glued_outputs_are_found(tmp_path):
    glued = glued_outputs(staged_notebook(tmp_path))
    assert glued["n_runs"] == {"text/plain": "12"} and "image/png" in glued["fig-a"]


def test_the_download_embeds_figures_and_pastes_numbers(tmp_path):
    nb = staged_notebook(tmp_path)
    out = download_notebook(nb, base=tmp_path)
    md = out.cells[1]
    assert "In 12 runs the rate was 0.01 (0.012345)." in md.source
    assert "![A grey line (two pixels).](attachment:fig-a.png)" in md.source
    assert "**Figure.** The caption, with 12 runs." in md.source
    assert "{glue:figure} unknown" in md.source  # an unknown key is left as it is
    assert "| a | pass |" in md.source and "{include}" not in md.source
    assert base64.b64decode(md.attachments["fig-a.png"]["image/png"]) == png_bytes()
    names = [o.metadata["scrapbook"]["name"] for o in out.cells[0].outputs]
    assert names == ["n_runs", "rate"]  # the figure's hidden copy is gone, the numbers stay
    nbformat.validate(out)
    assert download_notebook(out, base=tmp_path).cells[1].source == md.source  # idempotent
    assert "{glue:text}" in nb.cells[1].source  # the input is not modified


# ----------------------------------------------------------------------------------------------
# The Sphinx extension


@pytest.mark.parametrize("latex, text", [
    ("s", "s"), (r"Z_1^\star", "Z₁*"), (r"\eta\alpha^2", "ηα²"), (r"1/T^2", "1/T²"),
    (r"M^\star", "M*"), (r"\mathrm{rank}(X) \le k", "rank(X) ≤ k"), (r"Z_s^{*}", "Z_s*"),
    (r"\sigma_{i}", "σ_i"), (r"x^{ab}", "x^(ab)"), (r"n(n+1)/2", "n(n+1)/2"),
])
def test_latex_to_text(latex, text):
    assert latex_to_text(latex) == text


def test_mathjax_is_installed_and_its_files_are_chosen():
    es5 = mathjax_source()
    assert es5 is not None, "django-static-mathjax (book extra) is not installed"
    files = {p.as_posix() for p in mathjax_files(es5)}
    assert Path(MATHJAX_PATH).name in files
    assert any(f.startswith("output/chtml/fonts/woff-v2/") for f in files)
    assert any(f.startswith("input/tex/extensions/") for f in files)
    assert not any(f.startswith(("tex-svg", "output/svg", "node-main")) for f in files)


def test_the_config_loads_mathjax_locally_and_no_widget_manager():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = config["sphinx"]
    assert "matsense.book.sphinx_ext" in sphinx["extra_extensions"]
    assert sphinx["config"]["mathjax_path"] == MATHJAX_PATH
    assert sphinx["config"]["nb_ipywidgets_js"] == {}
    assert config["launch_buttons"]["thebe"] is False


def jupyter_book(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


TINY_CONFIG = {
    "title": "tiny", "only_build_toc_files": True, "exclude_patterns": ["_build"],
    "execute": {"execute_notebooks": "off"},
    "parse": {"myst_enable_extensions": ["dollarmath", "amsmath"]},
    "launch_buttons": {"thebe": False},
    "sphinx": {"extra_extensions": ["sphinx.ext.mathjax", "matsense.book.sphinx_ext"],
               "config": {"mathjax_path": MATHJAX_PATH, "nb_ipywidgets_js": {}}},
}


def tiny_book(root: Path, *, staged: bool) -> Path:
    root.mkdir(parents=True)
    (root / "_config.yml").write_text(yaml.safe_dump(TINY_CONFIG))
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (root / "intro.md").write_text("# Tiny\n\nA formula: $x^2$.\n")
    nb = staged_notebook(root)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# The best rank-$s$ solutions\n\n$y$"))
    nb.cells[-1].source = nb.cells[-1].source.replace("```{glue:figure} unknown\n:alt: x\n\n"
                                                      "Left alone.\n```\n\n", "")
    nbformat.write(nb, root / "page.ipynb")
    if staged:
        (root / STAGE_MARKER).write_text("staged\n")
    return root


def test_jupyter_book_build_of_the_bare_sources_stops_at_once(tmp_path):
    root = tiny_book(tmp_path / "bare", staged=False)
    proc = jupyter_book("build", str(root), cwd=tmp_path)
    assert proc.returncode != 0
    assert GUARD_MESSAGE in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (root / "_build" / "html" / "index.html").exists()


def test_the_repository_itself_is_guarded():
    """`jupyter-book build .` in the repository: the bare sources, no marker."""
    assert not (ROOT / STAGE_MARKER).exists()


@pytest.fixture(scope="module")
def built_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tiny_book(tmp_path_factory.mktemp("tiny") / "book", staged=True)
    proc = jupyter_book("build", str(root), "-W", "-n", "--keep-going", cwd=root.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root / "_build" / "html"


def test_a_staged_book_serves_mathjax_itself(built_tiny):
    page = (built_tiny / "page.html").read_text()
    assert 'src="_static/mathjax/tex-mml-chtml.js"' in page
    assert (built_tiny / "_static" / MATHJAX_PATH).is_file()
    assert (built_tiny / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    for html in built_tiny.rglob("*.html"):
        text = html.read_text()
        assert "cdn.jsdelivr" not in text and "cdnjs" not in text and "unpkg" not in text, html


def test_a_staged_book_loads_no_thebe_when_it_is_off(built_tiny):
    for html in built_tiny.rglob("*.html"):
        assert "thebe" not in html.read_text().lower(), html


def test_titles_with_math_are_plain_text(built_tiny):
    page = (built_tiny / "page.html").read_text()
    assert "<title>The best rank-s solutions" in page
    intro = (built_tiny / "intro.html").read_text()
    assert "The best rank-s solutions" in intro and r"rank-\(s\)" not in intro
    assert r"\(s\)" in page  # the heading on the page keeps its formula
    assert 'data-default-mode="auto"' in page  # a default colour mode: no console error


def test_the_download_of_a_staged_book_is_the_readers_notebook(built_tiny):
    nb = nbformat.read(built_tiny / "_sources" / "page.ipynb", as_version=4)
    text = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "attachment:fig-a.png" in text and "{glue" not in text


# ----------------------------------------------------------------------------------------------
# The student path


def test_saving_a_notebook_in_jupyterlab_keeps_its_bytes(tmp_path):
    """Jupytext's contents manager (what JupyterLab saves through), with the repository's
    ``jupytext.toml``: a notebook run and saved in JupyterLab gives back the same file."""
    TextFileContentsManager = pytest.importorskip("jupytext").TextFileContentsManager
    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    source = next(p for p in sorted((ROOT / "book").rglob("*.md"))
                  if "{code-cell}" in p.read_text(encoding="utf-8"))
    original = source.read_bytes()
    (tmp_path / "nb.md").write_bytes(original)
    cm = TextFileContentsManager(root_dir=str(tmp_path))
    model = cm.get("nb.md", content=True, type="notebook")
    nb = model["content"]
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11"}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["metadata"].update({"execution": {"iopub.execute_input": "2026"},
                                     "scrolled": True, "editable": True,
                                     "slideshow": {"slide_type": ""}})
            cell["execution_count"] = 1
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x"}]
        else:
            cell["metadata"]["jp-MarkdownHeadingCollapsed"] = True
    cm.save({"type": "notebook", "format": "json", "content": nb}, "nb.md")
    assert (tmp_path / "nb.md").read_bytes() == original


def test_make_lab_makes_jupytext_the_default_viewer():
    makefile = (ROOT / "Makefile").read_text()
    lab = makefile[makefile.index("\nlab:"):]
    overrides = json.loads(lab[lab.index("'{") + 1:lab.index("}'") + 1])
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    assert "jupyter lab" in lab
