r"""Figures with provenance: every figure of the book is saved, recorded and glued by one helper.

:func:`save_figure` writes ``<output_dir>/figures/<name>.png`` (deterministic bytes: Agg, fixed dpi,
no software metadata, fixed ``svg.hashsalt``) and a JSON sidecar beside it with

* the notebook (its ``_toc.yml`` path), the run mode and the injected parameters;
* the library functions that produced the figure (qualified names, checked to exist);
* the git commit of the repository (``"unknown"`` outside git), whether the working tree had
  uncommitted edits (``git_dirty``) and the sha256 of those edits, and the runner's cache key;
* the sha256 of the PNG and of the plotted data (:func:`data_sha256`: canonical bytes of arrays,
  lists, scalars and dicts, identical across runs, platforms and processes).

It then **glues** the figure under its name (myst-nb ``glue``): the notebook's Markdown places it
with a ``{glue:figure}`` directive, which holds the caption, the alt text and the label
(``:name: fig-<name>``), so the figure is numbered and can be cited with ``{numref}``. What paper
figure or theorem it corresponds to, and which claims it supports, is stated once, in
``book/figures.yml``. Figure names are unique in the whole book.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._io import atomic_write_bytes, atomic_write_json
from .context import current_context
from ._ipython import import_dotted

__all__ = ["FigureRecord", "save_figure", "glue_setup", "data_sha256", "figure_label", "git_commit",
           "git_state", "working_tree_state", "BEYOND_THE_PAPERS", "DPI", "glue"]

#: The ``paper_ref`` (in ``book/figures.yml``) of a figure that corresponds to no figure or theorem of the papers.
BEYOND_THE_PAPERS = "beyond the papers"
#: Resolution of every saved figure.
DPI = 150
#: rcParams fixed while saving, so that the bytes depend only on the figure.
_SAVE_RC = {"svg.hashsalt": "matsense", "savefig.dpi": DPI, "savefig.format": "png",
            "savefig.bbox": None, "savefig.transparent": False}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class FigureRecord:
    """What :func:`save_figure` wrote, and the provenance recorded in the JSON sidecar.

    Attributes
    ----------
    name : str
        The figure's name, unique in the book (``gd-example``); its glue key.
    label : str
        Its label ``fig-<name>`` (the ``:name:`` of its ``{glue:figure}``); cite it with ``{numref}``.
    notebook : str
        ``_toc.yml`` path of the producing notebook.
    mode : str
        The run mode: ``"quick"``, ``"full"`` or ``"interactive"``.
    path : Path
        The PNG file.
    sidecar : Path
        Its JSON provenance record.
    png_sha256 : str
        Sha256 of the PNG bytes.
    data_sha256 : str
        Sha256 of the plotted data (:func:`data_sha256`).
    data_source : str
        ``"data argument"``, or ``"figure artists"`` when the data was read from the figure.
    functions : tuple of str
        Qualified names of the library functions used.
    parameters : dict
        The parameters of the run.
    git_commit : str
        Commit of the repository when the figure was made, or ``"unknown"``.
    cache_key : str or None
        The runner's cache key of the execution that made the figure.
    git_dirty : bool or None
        Whether the working tree differed from ``git_commit`` (uncommitted edits, or untracked
        files under ``lib/`` or ``book/``); None outside git.
    git_diff_sha256 : str or None
        Sha256 of those differences (None when the tree was clean).
    """

    name: str
    label: str
    notebook: str
    mode: str
    path: Path
    sidecar: Path
    png_sha256: str
    data_sha256: str
    data_source: str
    functions: tuple[str, ...]
    parameters: dict
    git_commit: str
    cache_key: str | None
    git_dirty: bool | None = None
    git_diff_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON sidecar's content (file names relative to the sidecar's directory)."""
        d = asdict(self)
        d.update(path=self.path.name, sidecar=self.sidecar.name, functions=list(self.functions),
                 schema=2)
        return d

    def _ipython_display_(self) -> None:
        """Nothing on a book page (the figure is placed by its ``{glue:figure}``); interactively, one line saying where it went."""
        import os
        from .context import ENV_MODE
        if os.environ.get(ENV_MODE):
            return
        print(f"figure {self.name} saved to {self.path.name}")


# ----------------------------------------------------------------------------------------------
# Hash of the plotted data


def _feed(h: "hashlib._Hash", obj: Any) -> None:
    """Feed a canonical, type-tagged, length-prefixed encoding of ``obj`` into ``h``."""
    def put(tag: bytes, payload: bytes) -> None:
        h.update(tag + len(payload).to_bytes(8, "little") + payload)

    if obj is None:
        put(b"N", b"")
    elif isinstance(obj, (bool, np.bool_)):
        put(b"B", b"1" if obj else b"0")
    elif isinstance(obj, str):
        put(b"S", obj.encode("utf-8"))
    elif isinstance(obj, Mapping):
        keys = list(obj)
        if not all(isinstance(k, str) for k in keys):
            raise ValueError(f"data: dict keys must be strings, got {keys!r}")
        put(b"D", str(len(keys)).encode())
        for k in sorted(keys):
            put(b"K", k.encode("utf-8"))
            _feed(h, obj[k])
    elif isinstance(obj, (np.ndarray, np.generic, int, float, complex, list, tuple)):
        try:
            arr = np.asarray(obj)
        except ValueError:  # ragged sequence
            arr = None
        if arr is None or arr.dtype.kind == "O":
            if not isinstance(obj, (list, tuple, np.ndarray)):
                raise ValueError(f"data: cannot hash an object of type {type(obj).__name__}")
            put(b"L", str(len(obj)).encode())
            for item in obj:
                _feed(h, item)
            return
        if arr.dtype.kind not in "biufcU":
            raise ValueError(f"data: cannot hash an array of dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr)
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        header = f"{arr.dtype.str}|{arr.shape}".encode()
        put(b"A", header)
        put(b"a", arr.tobytes())
    else:
        raise ValueError(f"data: cannot hash an object of type {type(obj).__name__}; give arrays, "
                         "numbers, strings, or lists and dicts of them")


def data_sha256(data: Any) -> str:
    """Sha256 of the canonical bytes of ``data``.

    ``data`` may be an array, a number, a string, None, or lists, tuples and string-keyed dicts of
    these (dict keys are sorted). Arrays contribute dtype, shape and little-endian bytes, so the
    hash is the same across runs, processes and platforms.

    Raises
    ------
    ValueError
        For objects of other types (e.g. a figure or an arbitrary class).
    """
    h = hashlib.sha256()
    _feed(h, data)
    return h.hexdigest()


def _figure_data(fig: Any) -> dict[str, Any]:
    """The data drawn in ``fig``: line coordinates, collection offsets and image arrays."""
    out: dict[str, Any] = {}
    for i, ax in enumerate(fig.axes):
        out[f"ax{i}.lines"] = [np.asarray(line.get_xydata(), dtype=float) for line in ax.get_lines()]
        out[f"ax{i}.collections"] = [np.asarray(c.get_offsets(), dtype=float)
                                     for c in ax.collections]
        out[f"ax{i}.images"] = [np.asarray(im.get_array(), dtype=float) for im in ax.get_images()]
    return out


# ----------------------------------------------------------------------------------------------
# Provenance helpers


@functools.lru_cache(maxsize=None)
def _git_commit(directory: str) -> str:
    try:
        out = subprocess.run(["git", "-C", directory, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else "unknown"


def git_commit() -> str:
    """The commit the library is running from (``"unknown"`` outside a git checkout)."""
    return _git_commit(str(Path(__file__).resolve().parent))


#: Folders (relative to the repository root) whose untracked, not ignored files count as edits.
DIRTY_FOLDERS = ("lib", "book")


def _git(directory: str, *args: str) -> subprocess.CompletedProcess | None:
    try:
        out = subprocess.run(["git", "-C", directory, *args], capture_output=True, timeout=30,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out.returncode == 0 else None


def working_tree_state(directory: str | Path) -> dict[str, Any]:
    """Commit of the checkout holding ``directory`` and whether its tree differs from it.

    Returns
    -------
    dict
        ``git_commit`` (HEAD, or ``"unknown"`` outside git), ``git_dirty`` (True when ``git diff
        HEAD`` is not empty or an untracked, not ignored file lies under ``lib/`` or ``book/``;
        None outside git) and ``git_diff_sha256`` (sha256 of that diff and of the untracked files'
        paths and bytes; None when the tree is clean or outside git).
    """
    directory = str(directory)
    commit = _git_commit(directory)
    top = _git(directory, "rev-parse", "--show-toplevel")
    if commit == "unknown" or top is None:
        return {"git_commit": commit, "git_dirty": None, "git_diff_sha256": None}
    root = Path(top.stdout.decode().strip())
    diff = _git(str(root), "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff")
    untracked = _git(str(root), "ls-files", "-z", "--others", "--exclude-standard", "--",
                     *DIRTY_FOLDERS)
    if diff is None or untracked is None:
        return {"git_commit": commit, "git_dirty": None, "git_diff_sha256": None}
    h = hashlib.sha256()
    h.update(len(diff.stdout).to_bytes(8, "little") + diff.stdout)
    names = sorted(n for n in untracked.stdout.decode("utf-8", "surrogateescape").split("\0") if n)
    for name in names:
        try:
            data = (root / name).read_bytes()
        except OSError:
            data = b""
        for part in (name.encode("utf-8", "surrogateescape"), data):
            h.update(len(part).to_bytes(8, "little") + part)
    dirty = bool(diff.stdout) or bool(names)
    return {"git_commit": commit, "git_dirty": dirty,
            "git_diff_sha256": h.hexdigest() if dirty else None}


@functools.lru_cache(maxsize=None)
def _library_tree_state(directory: str) -> tuple[tuple[str, Any], ...]:
    return tuple(working_tree_state(directory).items())


def git_state() -> dict[str, Any]:
    """:func:`working_tree_state` of the checkout the library runs from (computed once a process)."""
    return dict(_library_tree_state(str(Path(__file__).resolve().parent)))


def _qualified_name(f: str | Callable) -> str:
    if callable(f) and not isinstance(f, str):
        module, qual = getattr(f, "__module__", None), getattr(f, "__qualname__", None)
        if not module or not qual:
            raise ValueError(f"functions: {f!r} has no qualified name")
        return f"{module}.{qual}"
    if not isinstance(f, str) or not f:
        raise ValueError(f"functions: {f!r} must be a callable or a qualified name")
    try:
        import_dotted(f)
    except (ImportError, AttributeError):
        raise ValueError(f"functions: {f!r} does not name an importable object") from None
    return f


def figure_label(name: str) -> str:
    """Book-wide label of a figure: ``fig-<name>``."""
    return f"fig-{name}"


# ----------------------------------------------------------------------------------------------
# Glue into the notebook


def _glue(name: str, png: bytes) -> None:
    """Glue the PNG bytes under ``name`` (inside IPython only; nothing is displayed in the cell).

    The glued image is the saved file itself, so the book shows exactly what the record hashes.
    """
    try:
        from IPython import get_ipython
        if get_ipython() is None:
            return
        from IPython.display import Image
        from myst_nb import glue
    except ImportError:
        return
    glue(name, Image(data=png, format="png"), display=False)


# ----------------------------------------------------------------------------------------------
# The helper


def save_figure(fig: Any, name: str, *, data: Any = None,
                functions: Sequence[str | Callable] = ()) -> FigureRecord:
    """Save ``fig`` with its provenance record, glue it under ``name`` and close it.

    Place it in the notebook's Markdown with::

        ```{glue:figure} <name>
        :name: fig-<name>
        :alt: What the figure shows, for a reader who cannot see it.

        The caption (MyST Markdown; numbers with {glue:text}`key`).
        ```

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to save.
    name : str
        Name of the figure, unique in the book: lowercase letters, digits and ``-``
        (e.g. ``"jin-passing"``); the file is ``<name>.png`` and the glue key ``name``.
    data : array_like or dict, optional
        The plotted data (arrays, numbers, lists or dicts of them); its hash goes into the record.
        When omitted, the data drawn in the figure (lines, scatter offsets, images) is hashed.
    functions : sequence of str or callable, optional
        The library functions that produced the figure, as callables or qualified names such as
        ``"matsense.gd_symmetric"``; each must name an importable object.

    Returns
    -------
    FigureRecord
        Paths, hashes and provenance of the saved figure.

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib figure.
    ValueError
        For a malformed ``name``, a function name that does not import, data that cannot be
        hashed, or (under the runner) a name already used by this notebook.
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"name={name!r} must be lowercase letters, digits and '-', "
                         "starting with a letter or digit")
    if isinstance(functions, str):
        raise ValueError(f"functions={functions!r} must be a sequence of names, not one string")
    functions = tuple(_qualified_name(f) for f in functions)

    ctx = current_context()
    figdir = ctx.output_dir / "figures"
    path, sidecar = figdir / f"{name}.png", figdir / f"{name}.json"
    if ctx.in_runner and sidecar.exists():
        raise ValueError(f"figure name {name!r} is used twice by notebook {ctx.notebook!r}")

    if data is None:
        digest, source = data_sha256(_figure_data(fig)), "figure artists"
    else:
        digest, source = data_sha256(data), "data argument"

    buf = io.BytesIO()
    with mpl.rc_context(_SAVE_RC):
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    png = buf.getvalue()

    state = git_state()
    record = FigureRecord(
        name=name, label=figure_label(name), notebook=ctx.notebook, mode=ctx.mode,
        path=path, sidecar=sidecar, png_sha256=hashlib.sha256(png).hexdigest(),
        data_sha256=digest, data_source=source, functions=functions,
        parameters=dict(ctx.parameters), git_commit=state["git_commit"], cache_key=ctx.cache_key,
        git_dirty=state["git_dirty"], git_diff_sha256=state["git_diff_sha256"])
    atomic_write_bytes(path, png)
    atomic_write_json(sidecar, record.to_dict())
    _glue(name, png)
    import matplotlib.pyplot as plt
    plt.close(fig)  # the inline backend would otherwise show it a second time
    return record


class _Text(str):
    """A string whose repr is itself, so that {glue:text} shows it without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _format_value(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return _Text("(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) + ")")
    return value


def glue_setup(setup: Any, prefix: str) -> dict[str, Any]:
    """Glue every field of a chapter setup as ``<prefix>.<field>`` for the prose and captions.

    Numbers are glued as numbers ({glue:text}`jin.eta:g`), tuples as text such as ``(3, 2, 1)``.
    Returns the glued values (also outside IPython, where nothing is glued).
    """
    import dataclasses

    if not dataclasses.is_dataclass(setup) or isinstance(setup, type):
        raise TypeError(f"setup must be a setup dataclass instance, got {type(setup).__name__}")
    if not isinstance(prefix, str) or not _NAME_RE.match(prefix):
        raise ValueError(f"prefix={prefix!r} must be lowercase letters, digits and '-'")
    values = {f"{prefix}.{f.name}": _format_value(getattr(setup, f.name))
              for f in dataclasses.fields(setup)}
    try:
        from IPython import get_ipython
        from myst_nb import glue
    except ImportError:
        return values
    if get_ipython() is not None:
        for key, value in values.items():
            glue(key, value, display=False)
    return values


# -- issue 14: the notebooks opened outside the book (Colab, JupyterLite, Binder) --------------------

def glue(name: str, value: Any, display: bool = True) -> None:
    """``myst_nb.glue`` where MyST-NB is installed (the book's build); elsewhere (Colab, the
    browser) the value is shown when ``display`` is true, and nothing is glued.

    The copies of the notebooks for readers (Colab, JupyterLite, Binder) import this in place of
    ``myst_nb.glue``, so that they run without the book's tools.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            try:
                from IPython.display import display as show
            except ImportError:
                print(value)
            else:
                show(value)
        return
    myst_glue(name, value, display=display)


