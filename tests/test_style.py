"""The book's figure style: drawn for the width it is shown at (issue 13, figures).

Every figure is FIGURE_WIDTH inches wide, so its fonts are at least MIN_FONT_PX CSS pixels when the
book shows it across its text column; several panels go on a grid of at most two columns; colours
are colour-blind safe; the background is opaque; plateau labels stay inside their axes; the book's
stylesheet and script (click to zoom) are served from the book itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from matsense.plotting import style  # noqa: E402
from matsense.plotting.style import (CATEGORICAL, FIGURE_WIDTH, MIN_FONT_PX, label_level,  # noqa: E402
                                     legend_panel, new_figure, new_panels, panel_grid,
                                     smallest_font_px)

ROOT = Path(__file__).resolve().parents[1]
PLOTTING = ROOT / "lib" / "matsense" / "plotting"


@pytest.fixture(autouse=True)
def _no_sweep_cache(monkeypatch):
    monkeypatch.setenv("MATSENSE_SWEEP_CACHE", "off")
    yield
    plt.close("all")


def _columns(fig) -> int:
    """Number of distinct columns of visible axes with axis lines (legend cells do not count)."""
    lefts = {round(ax.get_position().x0, 2) for ax in fig.axes if ax.get_visible() and ax.axison}
    return len(lefts)


def assert_readable(fig, *, max_columns: int = 2):
    assert fig.get_figwidth() == pytest.approx(FIGURE_WIDTH)
    assert smallest_font_px(fig) >= MIN_FONT_PX
    assert _columns(fig) <= max_columns
    assert matplotlib.colors.to_rgba(fig.get_facecolor())[3] == 1.0        # opaque
    for ax in fig.axes:
        if ax.axison:
            assert matplotlib.colors.to_rgba(ax.get_facecolor())[3] == 1.0


# -- the style itself --------------------------------------------------------------------------------

def test_panel_grid_uses_at_most_two_columns():
    assert [panel_grid(n) for n in (1, 2, 3, 4, 5, 6)] == [(1, 1), (1, 2), (2, 2), (2, 2), (3, 2), (3, 2)]
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n="):
            panel_grid(bad)


def test_new_panels_removes_or_keeps_the_spare_cell():
    fig, axes = new_panels(3)
    assert len(axes) == 3 and len(fig.axes) == 3
    fig, axes = new_panels(3, spare="legend")
    assert len(axes) == 4 and not axes[3].axison
    for ax in axes[:3]:
        ax.plot([0, 1], [0, 1], label="a line")
    legend_panel(axes[3], axes[:3])
    assert [t.get_text() for t in axes[3].get_legend().get_texts()] == ["a line"]   # no duplicates
    assert_readable(fig)
    with pytest.raises(ValueError, match="spare"):
        new_panels(2, spare="keep")


def test_a_wide_request_is_drawn_at_the_book_width():
    fig, _ = new_figure(1, 2, width=14.0, height=4.0)
    assert fig.get_size_inches() == pytest.approx((FIGURE_WIDTH, 2.0))


def test_fonts_are_large_enough_on_screen():
    fig, ax = new_figure()
    ax.plot([1, 2], [3, 4], label="x")
    ax.legend()
    ax.set_xlabel("iteration")
    # 8 pt on a 7-inch figure shown across 660 px: 8 / 72 * 660 / 7 = 10.5 px
    assert smallest_font_px(fig) == pytest.approx(8 / 72 * 660 / 7)
    ax.text(0.5, 0.5, "tiny", fontsize=5, transform=ax.transAxes)
    assert smallest_font_px(fig) < MIN_FONT_PX


def test_colours_are_colour_blind_safe_and_the_background_opaque():
    fig, ax = new_figure()
    lines = [ax.plot([0, 1], [0, i])[0] for i in range(3)]
    assert [matplotlib.colors.to_hex(line.get_color()) for line in lines] == \
        [c.lower() for c in CATEGORICAL[:3]]
    assert style.STYLE["savefig.facecolor"] == "white" and style.STYLE["savefig.transparent"] is False
    from matsense.provenance import DPI
    assert style.STYLE["savefig.dpi"] == DPI


def test_level_labels_sit_inside_the_axes():
    fig, ax = new_figure()
    ax.plot([0, 10], [1e-3, 10])
    ax.set_yscale("log")
    label_level(ax, 2.0, "$f(Z_1^\\star)$")
    label_level(ax, 0.1, "$f(Z_2^\\star)$", above=False)
    fig.canvas.draw()
    box = ax.get_window_extent()
    for text in ax.texts:
        assert text.get_clip_on()
        bb = text.get_window_extent()
        assert box.x0 <= bb.x0 and bb.x1 <= box.x1 + 0.5
        assert box.y0 <= bb.y0 and bb.y1 <= box.y1 + 0.5


def test_no_small_fonts_or_wide_rows_in_the_chapter_figures():
    """The chapter figure modules use the style's sizes and at most two columns of panels."""
    for name in ("foundations.py", "jin.py", "xiong.py", "trajectories.py"):
        src = (PLOTTING / name).read_text(encoding="utf-8")
        assert not re.search(r"fontsize\s*=\s*[\"'](x-small|xx-small)[\"']", src), name
        for size in re.findall(r"fontsize\s*=\s*([0-9.]+)", src):
            assert float(size) >= style.MIN_FONT_PT, (name, size)
        assert not re.search(r"new_figure\(\s*\d+\s*,\s*[3-9]", src), name
        assert "width=1" not in src, name


# -- the chapters' figures, drawn on tiny runs -------------------------------------------------------

def test_foundations_figure_is_readable_and_cut_after_the_last_drop():
    from matsense import gd_symmetric, small_random_init, symmetric_gaussian_problem
    from matsense.plotting.foundations import gd_example_figure, gd_example_horizon
    p = symmetric_gaussian_problem(6, [3.0, 2.0, 1.0], 40, rng=0)
    alphas = (1e-2, 1e-4)
    U0 = small_random_init(6, 6, alphas, rng=1)
    traj = gd_symmetric(p, U0, 0.05, 800, record="log")
    fig = gd_example_figure(traj, alphas)
    assert_readable(fig)
    t_max = gd_example_horizon(traj)
    assert fig.axes[0].get_xlim() == pytest.approx((0, t_max))
    assert 0 < t_max <= 800


def test_gd_example_horizon_by_hand():
    from matsense.plotting.foundations import gd_example_horizon

    class Fake(dict):
        iterations = np.array([0, 10, 20, 30, 40, 100])
    loss = np.array([[1.0, 1.0], [0.5, 1.0], [1e-3, 0.5], [1e-3, 1e-2], [1e-3, 2e-3], [1e-3, 1e-3]])
    traj = Fake(loss=loss)
    # run 0 settles (within 10x of 1e-3) at t = 20, run 1 at t = 30: horizon ceil(1.3 * 30) = 39
    assert gd_example_horizon(traj) == 39
    assert gd_example_horizon(traj, margin=10.0) == 100                   # capped at the last step
    with pytest.raises(ValueError, match="factor"):
        gd_example_horizon(traj, factor=0.5)


@pytest.fixture(scope="module")
def jin_tiny():
    import os
    os.environ["MATSENSE_SWEEP_CACHE"] = "off"
    from matsense.experiments import jin as studies
    from matsense.setups import jin_setup
    setup = jin_setup(quick=True, n=5, m=200, steps=400, n_seeds=1, alphas=(1e-2, 1e-3, 1e-4, 1e-5))
    return setup, studies.study.uncached(setup)


def test_jin_figures_are_readable(jin_tiny):
    from matsense.plotting import jin as pj
    setup, study = jin_tiny
    for make in (pj.fig_passing, pj.fig_time_law, pj.fig_alignment, pj.fig_low_rank, pj.fig_exp_loss,
                 pj.fig_exp_dist, pj.fig_exp_eig, pj.fig_exp_time, pj.fig_intro_staircase):
        fig = make(study)
        assert_readable(fig)
        plt.close(fig)


def test_the_main_theorem_figure_is_a_two_by_two_grid(jin_tiny):
    from matsense.plotting import jin as pj
    _, study = jin_tiny
    fig = pj.fig_passing(study)
    assert len(fig.axes) == 4 and _columns(fig) == 2
    rows = {round(ax.get_position().y0, 2) for ax in fig.axes}
    assert len(rows) == 2


def test_xiong_figures_are_readable():
    from matsense.plotting import xiong as px
    from matsense.setups import xiong_setup
    setup = xiong_setup(quick=True, n=8, alphas=(0.5, 0.2), n_seeds=1, n_draws=1, steps_mf=600,
                        steps_sensing=60, m=150, k_grid=(3, 4))
    for fig in (px.fig_asym_alpha(setup), px.fig_regimes(setup), px.fig_imbalance(setup),
                px.fig_redundant_pair((0.5, 0.2), 0.05, 200)):
        assert_readable(fig)
        plt.close(fig)


# -- the book's own stylesheet and script (click to zoom, one search box) ----------------------------

def test_static_files_are_registered_and_local():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert "book/_static" in config
    for name in ("matsense.css", "matsense.js"):
        path = ROOT / "book" / "_static" / name
        assert path.is_file() and name in config
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), name   # no CDN
    css = (ROOT / "book" / "_static" / "matsense.css").read_text(encoding="utf-8")
    assert "zoom" in css and "background" in css
