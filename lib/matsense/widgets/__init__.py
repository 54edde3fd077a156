r"""Explorers for readers: sliders over the chapters' experiments, live in a kernel and static in the book.

One module per chapter (:mod:`.foundations`, :mod:`.jin`, :mod:`.xiong`, :mod:`.wind`) over a shared
core (:mod:`.core`). Each explorer is a thin layer over two pure functions, tested without a kernel:
``<what>_data(settings) -> data`` (the numbers) and ``<what>_figure(data) -> Figure``.
``<chapter>_explorer(quick=quick, seed=seed)`` returns the live ipywidgets explorer when a kernel
runs the notebook (Jupyter, Binder, Colab, JupyterLite) and, under the book build, a static view: the
figure at the default setting and a small grid of precomputed frames with sliders (plain HTML and
inline JavaScript, no widget manager).
"""

from .core import LRUCache, StaticView, in_book_build, live_available, live_explorer, static_view
from .foundations import RecoverySettings, foundations_explorer, recovery_data, recovery_figure
from .jin import (IncrementalSettings, JinData, incremental_learning_explorer, incremental_learning_figure,
                  jin_data, jin_explorer, jin_figure, jin_static)
from .xiong import XiongExplorerSettings, xiong_data, xiong_explorer, xiong_figure
from .wind import WindExplorerSettings, wind_explorer, wind_explorer_data, wind_explorer_figure

__all__ = ["LRUCache", "StaticView", "in_book_build", "live_available", "live_explorer", "static_view",
           "RecoverySettings", "foundations_explorer", "recovery_data", "recovery_figure",
           "IncrementalSettings", "JinData", "incremental_learning_explorer", "incremental_learning_figure",
           "jin_data", "jin_explorer", "jin_figure", "jin_static",
           "XiongExplorerSettings", "xiong_data", "xiong_explorer", "xiong_figure",
           "WindExplorerSettings", "wind_explorer", "wind_explorer_data", "wind_explorer_figure"]
