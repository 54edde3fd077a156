"""Tests of matsense.provenance: deterministic figures, the provenance record, the data hash.

Covers: save_figure (PNG bytes and sidecar, validation of every argument, duplicates under the
runner, interactive defaults), data_sha256 (canonical across containers, dict order, byte order
and processes), the figure-data fallback, gluing into a running kernel, and glue_setup.
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
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from matsense.provenance import data_sha256, git_commit, glue_setup, save_figure  # noqa: E402


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
    args = dict(data={"y": [1.0, 3.0, 2.0]}, functions=("matsense.gd_symmetric", np.cumsum))
    args.update(kw)
    return save_figure(draw() if fig is None else fig, name, **args)


def test_save_figure_writes_png_and_sidecar(runner_context):
    fig = draw()
    rec = save(fig)
    assert rec.path == runner_context / "figures" / "line.png"
    assert rec.label == "fig-line"
    assert rec.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    side = json.loads(rec.sidecar.read_text())
    assert side["notebook"] == "book/test/notebook" and side["mode"] == "quick"
    assert side["parameters"] == {"quick": True, "seed": 0}
    assert side["functions"] == ["matsense.gd_symmetric", "numpy.cumsum"]
    assert side["data_sha256"] == data_sha256({"y": [1.0, 3.0, 2.0]})
    assert side["data_source"] == "data argument"
    assert side["cache_key"] == "k" * 64
    assert side["path"] == rec.path.name and "caption" not in side and "paper_ref" not in side
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
            "r = save_figure(fig, 'sub');"
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
    ({"functions": ("matsense.no_such_function",)}, "does not name an importable object"),
    ({"functions": "matsense.gd_symmetric"}, "functions="),
    ({"data": object()}, "data"),
])
def test_bad_arguments_are_refused(runner_context, kwargs, match):
    name = kwargs.pop("name", "line")
    with pytest.raises(ValueError, match=match):
        save(name=name, **kwargs)


def test_a_figure_must_be_a_figure(runner_context):
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        save_figure("not a figure", "line")


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
    assert rec.path == tmp_path / "_build" / "interactive" / "figures" / "line.png"
    assert rec.mode == "interactive" and rec.parameters == {} and rec.cache_key is None
    save()  # interactively, saving again overwrites


def test_the_saved_png_is_glued_under_its_name(runner_context, monkeypatch):
    glued = {}
    import myst_nb
    import IPython
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: glued.update({name: (value, display)}))
    rec = save()
    image, display = glued["line"]
    assert display is False and image.data == rec.path.read_bytes()


def test_glue_setup_names_every_field():
    from matsense.setups import jin_setup
    values = glue_setup(jin_setup(quick=True), "jin")
    assert values["jin.n"] == 10 and str(values["jin.sigma"]) == "(3, 2, 1)"
    assert repr(values["jin.sigma"]) == "(3, 2, 1)"   # {glue:text} shows the repr: no quotes
    with pytest.raises(TypeError):
        glue_setup({"n": 1}, "jin")
    with pytest.raises(ValueError, match="prefix"):
        glue_setup(jin_setup(quick=True), "Jin Chapter")
