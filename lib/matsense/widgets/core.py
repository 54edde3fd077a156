r"""What every explorer shares: an in-memory LRU cache, the live ipywidgets layer and the static view.

An explorer is three pure pieces, provided by a chapter's module, wired together here:

* a frozen **settings** dataclass whose ``validated()`` returns it or raises a ``ValueError`` naming
  the parameter and its allowed range (or the combination that is not allowed);
* ``compute(settings, progress=None) -> data``: numbers only, no widget, no figure; ``progress``,
  when given, is called as ``progress(fraction, text)`` between the stages of the computation;
* ``figure(data) -> matplotlib.figure.Figure``: fully labelled, never shown.

:class:`LiveExplorer` puts ipywidgets controls in front of them (Jupyter, Binder, Colab,
JupyterLite). A setting that costs about a second or less (:data:`AUTO_SECONDS`, estimated
beforehand) is redrawn as soon as a control moves; a dearer one waits for the *Run* button, which
shows a progress bar. Every result is kept in an :class:`LRUCache` keyed on the settings, so moving
back to a setting is instant. An invalid setting is explained in a message under the controls,
never as a traceback.

:func:`static_view` is what the built book shows instead: the figure at the default setting and a
small grid of precomputed frames, stepped through with range sliders. It is plain HTML with the
frames embedded as PNG and a few lines of inline JavaScript: no external URL, no widget manager.
:func:`live_available` decides between the two: the book's runner sets ``MATSENSE_MODE`` (``quick``
or ``full``) for every notebook it executes, and then the static view is built; in an interactive
kernel the live explorer is.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Mapping, Sequence

__all__ = ["AUTO_SECONDS", "BUILD_ENV", "BUILD_MODES", "Progress", "LRUCache", "in_book_build",
           "live_available", "LiveExplorer", "live_explorer", "StaticView", "static_view",
           "figure_png", "grid_indices", "single_thread", "one_thread", "report"]

#: Settings estimated to compute in at most this many seconds are redrawn when a control moves;
#: dearer ones wait for the *Run* button.
AUTO_SECONDS = 1.0
#: Environment variable the book's runner sets for every notebook it executes (the same name as
#: ``matsense.context.ENV_MODE``; the widgets cannot import the notebook record, a test checks the two agree).
BUILD_ENV = "MATSENSE_MODE"
#: Values of :data:`BUILD_ENV` under the book build.
BUILD_MODES = ("quick", "full")

#: ``progress(fraction in [0, 1], text)``, called by a computation between its stages.
Progress = Callable[[float, str], None]


def single_thread():
    """A context in which BLAS uses one thread: the explorers' problems are small, and several BLAS
    threads on a busy machine cost more than they save (a no-op without threadpoolctl)."""
    from .._optional import threadpool_limits

    return threadpool_limits(1)


def one_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run ``fn`` inside :func:`single_thread`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_thread():
            return fn(*args, **kwargs)
    return wrapper


def report(progress: Progress | None, fraction: float, text: str) -> None:
    """Call ``progress(fraction, text)`` when a progress callback was given."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), text)


class LRUCache:
    """A small least-recently-used cache: settings -> computed data.

    Parameters
    ----------
    maxsize : int
        Entries kept (at least 1); the least recently used one is dropped first.
    """

    def __init__(self, maxsize: int = 32) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be an integer >= 1, got {maxsize!r}")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` (now the most recently used); KeyError when absent."""
        value = self._data[key]
        self._data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, dropping the least recently used entry when full."""
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``compute()`` stored under it."""
        if key in self._data:
            self.hits += 1
            return self.get(key)
        self.misses += 1
        value = compute()
        self.put(key, value)
        return value


def in_book_build() -> bool:
    """Whether this process is a notebook executed by the book's runner (:data:`BUILD_ENV` is set)."""
    return os.environ.get(BUILD_ENV, "") in BUILD_MODES


def live_available() -> bool:
    """Whether a live explorer can be shown: not under the book build, ipywidgets importable, and an
    IPython kernel (Jupyter, Colab, JupyterLite) rather than no IPython or a terminal shell."""
    if in_book_build():
        return False
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is None:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "Terminal" not in type(shell).__name__


# -- the live explorer -------------------------------------------------------------------------------

def _message_html(text: str, kind: str = "info") -> str:
    color = {"error": "#b00020", "info": "#444444", "wait": "#8a5a00"}[kind]
    return f'<span style="color:{color}">{html.escape(text)}</span>' if text else ""


class LiveExplorer:
    """The state and the wiring of one live explorer; :attr:`box` is the ipywidgets view.

    Built by :func:`live_explorer`; the tests drive it without a kernel: setting a control's
    ``value`` redraws (or asks for *Run*), :meth:`run` presses the button.

    Attributes
    ----------
    box : object
        The ``ipywidgets.VBox`` to display (it also carries ``run``, ``current_settings`` and ``explorer``).
    controls : dict
        Setting name -> control widget.
    cache : LRUCache
        Settings -> computed data.
    redraws : int
        Figures drawn so far.
    computations : int
        Settings computed so far (a setting served from the cache is not computed again).
    drawn : object or None
        The (validated) settings of the figure on display.
    message : str
        The text of the message under the controls (empty when there is none).
    """

    def __init__(self, settings: Any, controls: Mapping[str, Any], compute: Callable[..., Any],
                 figure: Callable[[Any], Any], *, estimate: Callable[[Any], float] | None = None,
                 cache: LRUCache | None = None, rows: Sequence[Sequence[str]] | None = None,
                 autorun: bool = True, auto_seconds: float = AUTO_SECONDS, note: str | None = None) -> None:
        import ipywidgets as w

        self.settings = settings.validated()
        self.controls = dict(controls)
        unknown = sorted(set(self.controls) - set(self.settings.__dataclass_fields__))
        if unknown:
            raise ValueError(f"controls {unknown} are not fields of {type(settings).__name__}")
        self.compute, self.figure = compute, figure
        self.estimate = estimate or (lambda s: 0.0)
        self.cache = LRUCache() if cache is None else cache
        self.auto_seconds = float(auto_seconds)
        self.redraws = 0
        self.computations = 0
        self.drawn: Any = None
        self.message = ""
        rows = [list(r) for r in (rows or [list(self.controls)])]
        missing = sorted(set(self.controls) - {n for r in rows for n in r})
        if missing:
            rows.append(missing)
        self.button = w.Button(description="Run", button_style="primary", icon="play",
                               tooltip="Compute this setting and draw it")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="",
                                        layout=w.Layout(width="220px", visibility="hidden"))
        self.status = w.HTML("")
        self.output = w.Output()
        row_boxes = [w.HBox([self.controls[n] for n in r]) for r in rows]
        row_boxes[-1].children = (*row_boxes[-1].children, self.button)
        parts = [*row_boxes, w.HBox([self.progress, self.status])]
        if note:
            parts.append(w.HTML(f'<span style="color:#555;font-size:90%">{html.escape(note)}</span>'))
        parts.append(self.output)
        self.box = w.VBox(parts)
        self.box.run = self.run                     # for scripting and the tests
        self.box.current_settings = self.current_settings
        self.box.explorer = self
        self.button.on_click(self.run)
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        if autorun:
            self.update()

    # -- settings and messages
    def current_settings(self) -> Any:
        """The settings the controls show now (not validated)."""
        return replace(self.settings, **{name: c.value for name, c in self.controls.items()})

    def _say(self, text: str, kind: str = "info") -> None:
        self.message = text
        self.status.value = _message_html(text, kind)

    def _valid(self) -> Any | None:
        s = self.current_settings()
        try:
            return s.validated()
        except (ValueError, TypeError) as err:
            self._say(f"Invalid setting: {err}", "error")
            return None

    # -- events
    def _changed(self, change: Any = None) -> None:
        self.update()

    def update(self) -> None:
        """Redraw for the current controls: from the cache, by computing when cheap, or ask for *Run*."""
        s = self._valid()
        if s is None:
            return
        if s in self.cache:
            self._draw(s, self.cache.get(s))
            return
        seconds = float(self.estimate(s))
        if seconds <= self.auto_seconds:
            self.run()
        else:
            self._say(f"This setting takes about {seconds:.0f} s: press Run.", "wait")

    def run(self, _: Any = None) -> None:
        """Compute the current setting (unless cached) with a progress bar, then draw it."""
        s = self._valid()
        if s is None:
            return
        if s in self.cache:
            self._draw(s, self.cache.get(s))
            return
        self.button.disabled = True
        self.progress.value = 0.0
        self.progress.layout.visibility = "visible"
        self._say("computing ...", "wait")

        def progress(fraction: float, text: str) -> None:
            self.progress.value = fraction
            self._say(text, "wait")

        start = time.perf_counter()
        self.computations += 1
        try:
            data = self.compute(s, progress=progress)
        except Exception as err:  # noqa: BLE001 - every failure becomes a message, never a traceback
            self._say(f"This setting could not be computed: {err}", "error")
            return
        finally:
            self.button.disabled = False
            self.progress.layout.visibility = "hidden"
        self.cache.put(s, data)
        self._draw(s, data, seconds=time.perf_counter() - start)

    def _draw(self, settings: Any, data: Any, *, seconds: float | None = None) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        try:
            fig = self.figure(data)
        except Exception as err:  # noqa: BLE001
            self._say(f"This result could not be drawn: {err}", "error")
            return
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)
        self.redraws += 1
        self.drawn = settings
        self._say("" if seconds is None else f"computed in {seconds:.1f} s", "info")


def live_explorer(settings: Any, controls: Mapping[str, Any], compute: Callable[..., Any],
                  figure: Callable[[Any], Any], **options: Any):
    """Build a :class:`LiveExplorer` and return its widget (``ipywidgets.VBox``).

    ``options`` are those of :class:`LiveExplorer` (``estimate``, ``cache``, ``rows``, ``autorun``,
    ``auto_seconds``, ``note``). The widget carries ``run()``, ``current_settings()`` and
    ``explorer`` (the :class:`LiveExplorer`).
    """
    return LiveExplorer(settings, controls, compute, figure, **options).box


# -- the static view ---------------------------------------------------------------------------------

def figure_png(fig: Any, *, dpi: int = 90) -> bytes:
    """PNG bytes of a matplotlib figure (no software metadata, so equal figures give equal bytes); closes it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()


def grid_indices(shape: Sequence[int]) -> list[tuple[int, ...]]:
    """Every index tuple of a grid of the given ``shape``, in row-major order."""
    return list(itertools.product(*(range(int(n)) for n in shape)))


@dataclass(frozen=True)
class StaticView:
    """Precomputed frames of an explorer as self-contained HTML (shown by Jupyter and the built book).

    Attributes
    ----------
    html : str
        The view: range sliders, one ``<img>`` per frame (PNG inline), the sentence on how to make it
        live, and a few lines of inline JavaScript.
    axes : tuple of (str, tuple of str)
        Each slider's name and its value labels.
    default : tuple of int
        The index of the frame shown first (the default setting).
    frames : int
        Number of frames.
    """

    html: str
    axes: tuple
    default: tuple
    frames: int = field(default=0)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        names = ", ".join(f"{name} ({len(labels)})" for name, labels in self.axes)
        return f"<static explorer view: {self.frames} frames over {names}>"


_SCRIPT = """<script>
(function () {
  var root = document.getElementById("%(id)s");
  if (!root) { return; }
  var inputs = root.querySelectorAll("input[data-axis]");
  var frames = root.querySelectorAll("img[data-key]");
  function show() {
    var key = [];
    for (var i = 0; i < inputs.length; i++) {
      var inp = inputs[i];
      key.push(inp.value);
      var out = root.querySelector("output[data-axis='" + inp.getAttribute("data-axis") + "']");
      if (out) { out.textContent = JSON.parse(inp.getAttribute("data-labels"))[inp.value]; }
    }
    key = key.join("-");
    for (var j = 0; j < frames.length; j++) {
      frames[j].style.display = frames[j].getAttribute("data-key") === key ? "" : "none";
    }
  }
  for (var i = 0; i < inputs.length; i++) { inputs[i].addEventListener("input", show); }
  show();
})();
</script>"""

_counter = itertools.count(1)


def static_view(name: str, axes: Sequence[tuple[str, Sequence[str]]], frame: Callable[[tuple[int, ...]], Any], *,
                default: Sequence[int], alt: Callable[[tuple[int, ...]], str], note: str,
                dpi: int = 90) -> StaticView:
    """Draw every frame of a small grid and return the :class:`StaticView` that steps through them.

    Parameters
    ----------
    name : str
        Short name of the explorer (part of the HTML element id).
    axes : sequence of (str, sequence of str)
        One slider per axis: its label and the labels of its values (at most 12 values per axis,
        at most 16 frames in all: every frame is an inline PNG).
    frame : callable
        ``frame(index) -> Figure`` for an index tuple of the grid.
    default : sequence of int
        Index of the frame at the default setting (shown first, and the only one without JavaScript).
    alt : callable
        ``alt(index) -> str``, the text alternative of a frame.
    note : str
        One sentence under the frames: how to make the explorer live.
    dpi : int
        Resolution of the frames.
    """
    axes = tuple((str(label), tuple(str(v) for v in values)) for label, values in axes)
    shape = [len(values) for _, values in axes]
    if not axes or any(n < 1 for n in shape) or any(n > 12 for n in shape):
        raise ValueError(f"axes must be 1 to 12 values each, got sizes {shape}")
    total = 1
    for n in shape:
        total *= n
    if total > 16:
        raise ValueError(f"a static view holds at most 16 frames, got {total} ({' x '.join(map(str, shape))})")
    default = tuple(int(i) for i in default)
    if len(default) != len(axes) or any(not 0 <= i < n for i, n in zip(default, shape)):
        raise ValueError(f"default must be an index into the grid of shape {tuple(shape)}, got {default}")
    images = []
    digest = hashlib.sha256(name.encode())
    for index in grid_indices(shape):
        data = base64.b64encode(figure_png(frame(index), dpi=dpi)).decode("ascii")
        digest.update(data.encode("ascii"))
        key = "-".join(map(str, index))
        style = "max-width:100%;height:auto" + ("" if index == default else ";display:none")
        images.append(f'<img data-key="{key}" src="data:image/png;base64,{data}" '
                      f'alt="{html.escape(alt(index), quote=True)}" style="{style}"/>')
    ident = f"mx-{''.join(c for c in name if c.isalnum())}-{digest.hexdigest()[:8]}-{next(_counter)}"
    sliders = []
    for a, ((label, values), d) in enumerate(zip(axes, default)):
        labels_json = html.escape(json.dumps(list(values)), quote=True)
        if len(values) == 1:   # no slider, but its index is part of every frame's key
            sliders.append(f'<span style="margin-right:1.5em">{html.escape(label)}: {html.escape(values[0])}'
                           f'<input type="hidden" value="0" data-axis="{a}" data-labels="{labels_json}"/></span>')
            continue
        sliders.append(
            f'<label style="margin-right:1.5em">{html.escape(label)} '
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{d}" '
            f'data-axis="{a}" data-labels="{labels_json}" style="vertical-align:middle"/> '
            f'<output data-axis="{a}">{html.escape(values[d])}</output></label>')
    body = (f'<div class="matsense-explorer" id="{ident}" style="margin:0.5em 0">'
            f'<div class="matsense-explorer-controls" style="margin-bottom:0.3em">{"".join(sliders)}</div>'
            f'{"".join(images)}'
            f'<p class="matsense-explorer-note" style="font-size:90%;color:#555">{html.escape(note)}</p>'
            f'</div>')
    return StaticView(body + (_SCRIPT % {"id": ident}), axes, default, len(images))
