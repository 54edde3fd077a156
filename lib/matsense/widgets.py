r"""ipywidgets explorers for readers who run the notebooks in Jupyter.

Each explorer is a thin layer of sliders over a **pure callback**: a function from a frozen settings
object to a matplotlib figure, which the tests call without a kernel. Invalid settings (for example
a step size with :math:`\eta\sigma_1 \ge 1`) raise the library's ValueError, which the explorer shows
as a message instead of a traceback. Nothing is computed until the reader presses *Run*, so that
building an explorer in an executed notebook costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from ._validation import check_int, check_positive_float
from .experiments import run_incremental_learning
from .plotting.jin import alpha_label, plot_eigenvalues, plot_loss_staircase
from .plotting.style import new_figure

__all__ = ["IncrementalSettings", "incremental_learning_figure", "incremental_learning_explorer"]


@dataclass(frozen=True)
class IncrementalSettings:
    r"""Settings of the incremental-learning explorer (small sizes: one run takes a fraction of a second).

    ``sigma_2`` moves the middle eigenvalue of :math:`M^\star` (eigenvalues ``(3, sigma_2, 1)``), so
    the reader can shrink or widen the eigengaps.
    """

    log10_alpha: float = -6.0
    eta: float = 0.05
    sigma_2: float = 2.0
    k: int = 10
    n: int = 10
    m: int = 600
    steps: int = 800
    seed: int = 0

    def sigma(self) -> list[float]:
        """Eigenvalues :math:`(3, \\sigma_2, 1)` of :math:`M^\\star`."""
        return [3.0, self.sigma_2, 1.0]

    def validated(self) -> "IncrementalSettings":
        """Return ``self`` if every setting is in range; raise a ValueError naming the first that is not."""
        if not -12.0 <= float(self.log10_alpha) <= -0.5:
            raise ValueError(f"log10_alpha must be in [-12, -0.5], got {self.log10_alpha:g}")
        if not 1.0 < float(self.sigma_2) < 3.0:
            raise ValueError(f"sigma_2 must be in (1, 3) so that the eigenvalues (3, sigma_2, 1) are "
                             f"distinct, got {self.sigma_2:g}")
        check_positive_float("eta", self.eta)
        check_int("n", self.n, low=3, high=40)
        check_int("k", self.k, low=1, high=self.n)
        check_int("m", self.m, low=50, high=20_000)
        check_int("steps", self.steps, low=10, high=20_000)
        check_int("seed", self.seed, low=0)
        return self


def incremental_learning_figure(settings: IncrementalSettings):
    """Pure callback: run GD once with ``settings`` and draw the loss staircase and the eigenvalues.

    Returns the matplotlib figure (two panels). Raises ValueError for invalid settings, including a
    step size that is too large for :math:`\\sigma_1 = 3`.
    """
    s = settings.validated()
    study = run_incremental_learning(s.n, s.sigma(), s.m, s.k, [10.0 ** s.log10_alpha], [s.seed],
                                     eta=s.eta, steps=s.steps, problem_seed=s.seed)
    fig, axes = new_figure(1, 2, width=9.0, height=3.4)
    plot_loss_staircase(study, ax=axes[0])
    plot_eigenvalues(study, 0, ax=axes[1])
    fig.suptitle(f"n = {s.n}, m = {s.m}, k = {s.k}, $\\eta$ = {s.eta:g}, "
                 f"$\\sigma$ = (3, {s.sigma_2:g}, 1), {alpha_label(10.0 ** s.log10_alpha)}", fontsize=9)
    return fig


def incremental_learning_explorer(settings: IncrementalSettings | None = None, *,
                                  callback: Callable[[IncrementalSettings], Any] = incremental_learning_figure):
    """Sliders for :class:`IncrementalSettings`, a *Run* button and the figure of ``callback``.

    Returns an ``ipywidgets.VBox``; display it in Jupyter (it needs a live kernel: in the built book
    its output is not rendered).
    """
    import ipywidgets as w
    from IPython.display import display
    import matplotlib.pyplot as plt

    s = (settings or IncrementalSettings()).validated()
    controls = {
        "log10_alpha": w.FloatSlider(value=s.log10_alpha, min=-12, max=-1, step=0.5,
                                     description="log10 alpha"),
        "eta": w.FloatSlider(value=s.eta, min=0.01, max=0.4, step=0.01, description="eta"),
        "sigma_2": w.FloatSlider(value=s.sigma_2, min=1.1, max=2.9, step=0.1, description="sigma_2"),
        "k": w.IntSlider(value=s.k, min=1, max=s.n, description="k (columns)"),
        "m": w.IntSlider(value=s.m, min=100, max=3000, step=100, description="m"),
    }
    button = w.Button(description="Run", button_style="primary")
    out = w.Output()

    def current() -> IncrementalSettings:
        return replace(s, **{name: c.value for name, c in controls.items()})

    def run(_: Any = None) -> None:
        with out:
            out.clear_output(wait=True)
            try:
                fig = callback(current())
            except ValueError as err:
                print(f"Invalid setting: {err}")
                return
            display(fig)
            plt.close(fig)

    button.on_click(run)
    box = w.VBox([w.HBox(list(controls.values())[:3]), w.HBox([*list(controls.values())[3:], button]), out])
    box.current_settings = current  # for tests and scripting
    box.run = run
    return box

