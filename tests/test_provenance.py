"""Tests of matsense.provenance: deterministic figures, the provenance record, the data hash.

Covers: save_figure (PNG bytes and sidecar, validation of every argument, duplicates under the
runner, interactive defaults), data_sha256 (canonical across containers, dict order, byte order
and processes), the figure-data fallback, and the staging of a figure output into a MyST figure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from matsense.book.staging import figure_markdown, stage_notebook  # noqa: E402
from matsense.provenance import (FIGURE_METADATA_KEY, data_sha256, git_commit,  # noqa: E402
                                 save_figure)


@pytest.fixture(autouse=True)
def default_style():
    """Draw with matplotlib's defaults, as a fresh kernel does, whatever other tests changed."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        yield


def draw(y=(1.0, 3.0, 2.0)):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(np.arange(len(y)), y, label="y")
    ax.set_title("$\\alpha$ = 0.1")
    ax.legend()
    return fig


def save(fig=None, name="line", **kw):
    args = dict(caption="A line.", alt="A line going up then down.",
                paper_ref="Jin et al. 2023, Fig. 1", claims=("jin.fig1",),
                data={"y": [1.0, 3.0, 2.0]}, functions=("matsense.gd_symmetric", np.cumsum))
    args.update(kw)
    return save_figure(draw() if fig is None else fig, name, **args)


def test_save_figure_writes_png_and_sidecar(runner_context):
    fig = draw()
    rec = save(fig)
    assert rec.path == runner_context / "figures" / "test-notebook-line.png"
    assert rec.label == "fig-test-notebook-line"
    assert rec.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    side = json.loads(rec.sidecar.read_text())
    assert side["notebook"] == "book/test/notebook" and side["mode"] == "quick"
    assert side["parameters"] == {"quick": True, "seed": 0}
    assert side["functions"] == ["matsense.gd_symmetric", "numpy.cumsum"]
    assert side["paper_ref"] == "Jin et al. 2023, Fig. 1" and side["claims"] == ["jin.fig1"]
    assert side["data_sha256"] == data_sha256({"y": [1.0, 3.0, 2.0]})
    assert side["data_source"] == "data argument"
    assert side["cache_key"] == "k" * 64
    assert side["path"] == rec.path.name and side["caption"] == "A line."
    assert side["git_commit"] == git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", side["git_commit"])
    assert b"Software" not in rec.path.read_bytes()  # no matplotlib version in the file
    assert fig.number not in plt.get_fignums()  # the figure is closed


def test_png_bytes_are_deterministic(runner_context, tmp_path, monkeypatch):
    a = save(name="a").path.read_bytes()
    b = save(name="b").path.read_bytes()
    assert a == b
    assert save(draw((1.0, 3.0, 2.5)), name="c").path.read_bytes() != a


def test_png_bytes_agree_across_processes(runner_context):
    code = ("import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt, io, hashlib;"
            "import numpy as np; from matsense.provenance import save_figure;"
            "fig, ax = plt.subplots(figsize=(3, 2)); ax.plot(np.arange(3), (1.0, 3.0, 2.0), label='y');"
            "ax.set_title('$\\\\alpha$ = 0.1'); ax.legend();"
            "r = save_figure(fig, 'sub', caption='c', alt='a', paper_ref='beyond the papers');"
            "print(r.png_sha256)")
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.strip()
    assert out == save(name="here", data=None).png_sha256


def test_data_hash_is_canonical():
    x = np.linspace(0, 1, 5)
    assert data_sha256({"a": x, "b": [1, 2]}) == data_sha256({"b": [1, 2], "a": x.copy()})
    assert data_sha256(x) == data_sha256(x.astype(">f8"))  # byte order does not matter
    assert data_sha256(x) == data_sha256(np.asfortranarray(x))
    assert data_sha256(x) == data_sha256(list(x))
    assert data_sha256(x) != data_sha256(x.astype(np.float32))  # dtype does
    assert data_sha256(x) != data_sha256(x.reshape(5, 1))  # shape does
    assert data_sha256([x, x[:2]]) != data_sha256([x[:2], x])  # ragged lists work, in order
    assert data_sha256({"a": 1}) != data_sha256({"b": 1})
    assert data_sha256(None) != data_sha256(0)


def test_data_hash_agrees_across_processes():
    code = ("import numpy as np; from matsense.provenance import data_sha256;"
            "print(data_sha256({'t': np.arange(10), 'loss': np.exp(-np.arange(10.0)), 'k': 'v'}))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout.strip()
            for seed in ("1", "2")}
    assert outs == {data_sha256({"t": np.arange(10), "loss": np.exp(-np.arange(10.0)), "k": "v"})}


@pytest.mark.parametrize("bad", [object(), {1: 2}, np.array([object()]), {"f": plt}])
def test_data_hash_refuses_unhashable_data(bad):
    with pytest.raises(ValueError, match="data"):
        data_sha256(bad)


def test_without_data_the_drawn_data_is_hashed(runner_context):
    a = save(name="a", data=None)
    b = save(draw((1.0, 3.0, 2.0001)), name="b", data=None)
    assert a.data_source == "figure artists"
    assert a.data_sha256 != b.data_sha256


@pytest.mark.parametrize("kwargs, match", [
    ({"name": "Bad Name"}, "name='Bad Name'"),
    ({"name": "-x"}, "name='-x'"),
    ({"caption": ""}, "caption"),
    ({"alt": "  "}, "alt"),
    ({"paper_ref": ""}, "paper_ref"),
    ({"claims": ("paper.1",)}, "claim id"),
    ({"claims": "jin.x"}, "claims="),
    ({"functions": ("matsense.no_such_function",)}, "does not name an importable object"),
    ({"functions": "matsense.gd_symmetric"}, "functions="),
    ({"data": object()}, "data"),
    ({"fig": "not a figure"}, "fig must be a matplotlib Figure"),
])
def test_bad_arguments_are_refused(runner_context, kwargs, match):
    fig = kwargs.pop("fig", None)
    name = kwargs.pop("name", "line")
    with pytest.raises(ValueError, match=match):
        if fig is not None:
            save_figure(fig, name, caption="c", alt="a", paper_ref="p")
        else:
            save(name=name, **kwargs)


def test_a_name_is_used_once_per_notebook_run(runner_context):
    save()
    with pytest.raises(ValueError, match="used twice"):
        save()


def test_interactive_defaults(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    rec = save()
    assert rec.path == tmp_path / "_build" / "interactive" / "figures" / "interactive-line.png"
    assert rec.mode == "interactive" and rec.parameters == {} and rec.cache_key is None
    save()  # interactively, saving again overwrites


def test_staging_turns_the_output_into_a_numbered_figure(runner_context):
    rec = save()
    output = nbformat.v4.new_output("display_data", data={"image/png": "AAAA"},
                                    metadata={FIGURE_METADATA_KEY: rec.to_dict()})
    cell = nbformat.v4.new_code_cell("save_figure(...)", outputs=[output])
    nb = nbformat.v4.new_notebook(cells=[cell])
    staged = stage_notebook(nb, "book/test/notebook.md")
    md = staged.cells[0].outputs[0]["data"]["text/markdown"]
    assert md == figure_markdown(rec.to_dict(), "book/test/notebook.md")
    assert md.startswith("````{figure} /_figures/test-notebook-line.png\n")
    assert ":name: fig-test-notebook-line" in md
    assert ":alt: A line going up then down." in md
    assert "Corresponds to Jin et al. 2023, Fig. 1." in md
    assert "{doc}`/book/test/notebook`" in md and "test-notebook-line.json" in md
    assert "image/png" in nb.cells[0].outputs[0]["data"]  # the executed notebook is untouched
