"""Tests of matsense.widgets: the explorer's pure callback without a kernel, and its wiring."""

import matplotlib
import pytest

from matsense.widgets import IncrementalSettings, incremental_learning_explorer, incremental_learning_figure

matplotlib.use("Agg")


def test_callback_draws_the_staircase():
    fig = incremental_learning_figure(IncrementalSettings(n=6, k=6, m=200, steps=300, log10_alpha=-4))
    loss_ax, eig_ax = fig.axes[:2]
    assert loss_ax.get_yscale() == "log" and "loss" in loss_ax.get_ylabel()
    assert len(eig_ax.get_lines()) >= 4          # r + 1 eigenvalues and the sigma lines
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("bad, match", [
    (dict(eta=0.5), r"eta must be in \(0, 0\.3333\)"),
    (dict(sigma_2=3.0), r"sigma_2 must be in \(1, 3\)"),
    (dict(k=11), r"k must be in \[1, 10\]"),
    (dict(log10_alpha=0.0), r"log10_alpha must be in \[-12, -0.5\]"),
])
def test_bad_settings_name_the_parameter(bad, match):
    settings = IncrementalSettings(**bad)
    with pytest.raises(ValueError, match=match):
        incremental_learning_figure(settings)


def test_explorer_passes_the_slider_values_to_the_callback():
    seen = []
    box = incremental_learning_explorer(callback=lambda s: seen.append(s) or matplotlib.figure.Figure())
    assert seen == []                            # nothing runs until Run is pressed
    sliders = box.children[0].children
    sliders[1].value = 0.1                       # eta
    box.run()
    assert seen and seen[-1].eta == pytest.approx(0.1) and seen[-1] == box.current_settings()
