"""Tests of the explorers (matsense.widgets): the pure functions without a kernel, the live widgets
driven from the test, and the static view of the built book.

Each chapter's data function is checked for its shapes, for the response the theory predicts when
one setting moves, and for a clear error on invalid input; each live explorer builds, redraws when a
control changes value, serves a setting it has seen from its cache and explains an invalid setting
in a message; each static view holds its frames, inline, and no external URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matsense.widgets import core  # noqa: E402
from matsense.widgets.core import LRUCache, live_explorer, static_view  # noqa: E402
from matsense.widgets.foundations import (RECOVERY_BOUND, RecoverySettings, foundations_explorer,  # noqa: E402
                                          recovery_data, recovery_figure, recovery_static)
from matsense.widgets.jin import (IncrementalSettings, JIN_CACHE, jin_data, jin_explorer, jin_figure,  # noqa: E402
                                  jin_static)
from matsense.widgets.xiong import (XiongExplorerSettings, xiong_data, xiong_explorer, xiong_figure,  # noqa: E402
                                    xiong_static)

EXTERNAL = re.compile(r"https?://|src=[\"']//|require\.js|requirejs|unpkg|jsdelivr|cdnjs", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


# -- the core -----------------------------------------------------------------------------------------

def test_lru_cache_drops_the_least_recently_used():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1          # "a" is now the most recent
    c.put("c", 3)
    assert "b" not in c and "a" in c and "c" in c and len(c) == 2
    calls = []
    assert c.get_or_compute("a", lambda: calls.append(1)) == 1 and calls == [] and c.hits == 1
    assert c.get_or_compute("d", lambda: 4) == 4 and c.misses == 1
    with pytest.raises(ValueError, match="maxsize"):
        LRUCache(0)


def test_the_book_build_gets_the_static_view(monkeypatch):
    from matsense.context import ENV_MODE
    assert core.BUILD_ENV == ENV_MODE            # the name the runner sets
    from matsense.book.execute import kernel_environment
    env = kernel_environment(notebook="book/jin/explore", mode="quick", output_dir="/tmp", parameters={},
                             cache_key=None)
    assert env[core.BUILD_ENV] in core.BUILD_MODES
    monkeypatch.setenv(core.BUILD_ENV, "full")
    assert core.in_book_build() and not core.live_available()
    monkeypatch.delenv(core.BUILD_ENV)
    assert not core.in_book_build()
    assert not core.live_available()             # no IPython kernel under pytest


@dataclass(frozen=True)
class Toy:
    """Settings of a toy explorer: ``x`` in [0, 10]; ``slow`` makes the estimate 5 s."""

    x: int = 1
    slow: bool = False

    def validated(self) -> "Toy":
        if not 0 <= self.x <= 10:
            raise ValueError(f"x must be in [0, 10], got {self.x}")
        return self


def toy_explorer(**options):
    import ipywidgets as w

    calls = []

    def compute(s, progress=None):
        calls.append(s)
        if progress is not None:
            progress(0.5, "half way")
        if s.x == 7:
            raise RuntimeError("seven diverged")
        return np.arange(s.x + 1.0)

    def figure(data):
        fig = matplotlib.figure.Figure()
        fig.add_subplot().plot(data)
        return fig

    controls = {"x": w.IntSlider(value=1, min=0, max=12), "slow": w.Checkbox(value=False)}
    box = live_explorer(Toy(), controls, compute, figure, estimate=lambda s: 5.0 if s.slow else 0.1, **options)
    return box, calls


def test_live_explorer_redraws_caches_and_explains():
    box, calls = toy_explorer()
    ex = box.explorer
    assert ex.redraws == 1 and calls == [Toy()]                  # the default is drawn at once
    ex.controls["x"].value = 3                                   # a cheap setting: redrawn at once
    assert ex.redraws == 2 and ex.drawn == Toy(3) and calls[-1] == Toy(3)
    ex.controls["x"].value = 1                                   # moving back: from the cache
    assert ex.redraws == 3 and len(calls) == 2 and ex.drawn == Toy(1)
    ex.controls["x"].value = 11                                  # invalid: a message, no traceback
    assert ex.redraws == 3 and "x must be in [0, 10]" in ex.message
    ex.controls["x"].value = 7                                   # a failing computation: a message
    assert "seven diverged" in ex.message and ex.drawn == Toy(1)
    assert ex.progress.layout.visibility == "hidden" and not ex.button.disabled
    ex.controls["x"].value = 2
    ex.controls["slow"].value = True                             # dear: waits for Run
    assert "press Run" in ex.message and ex.drawn == Toy(2)
    box.run()
    assert ex.drawn == Toy(2, True) and calls[-1] == Toy(2, True) and ex.message.startswith("computed")
    assert box.current_settings() == Toy(2, True)


def test_live_explorer_rejects_unknown_controls():
    import ipywidgets as w
    with pytest.raises(ValueError, match="not fields"):
        live_explorer(Toy(), {"y": w.IntSlider()}, lambda s, progress=None: 0, lambda d: None)


def test_static_view_holds_its_frames_inline_and_no_external_url():
    def frame(index):
        fig = matplotlib.figure.Figure(figsize=(2, 1))
        fig.add_subplot().plot([0, index[0] + index[1]])
        return fig

    view = static_view("toy", [("a", ["1", "2", "3"]), ("b", ["x", "y"])], frame, default=(1, 0),
                       alt=lambda i: f"frame {i}", note="Run it live.")
    html = view._repr_html_()
    assert view.frames == 6 and html.count("<img ") == 6
    assert html.count("data:image/png;base64,") == 6
    assert html.count("display:none") == 5 and 'data-key="1-0"' in html
    visible = re.search(r'<img data-key="1-0"[^>]*>', html).group(0)
    assert "display:none" not in visible and 'alt="frame (1, 0)"' in visible
    assert html.count('type="range"') == 2 and "<script>" in html and "Run it live." in html
    assert not EXTERNAL.search(html)
    single = static_view("toy", [("a", ["1", "2"]), ("b", ["only"])], frame, default=(1, 0), alt=str, note="")
    assert_keys_match_inputs(single.html, 2)
    with pytest.raises(ValueError, match="at most 16 frames"):
        static_view("toy", [("a", list("abcde")), ("b", list("abcd"))], frame, default=(0, 0), alt=str, note="")
    with pytest.raises(ValueError, match="default"):
        static_view("toy", [("a", ["1"])], frame, default=(1,), alt=str, note="")


def assert_keys_match_inputs(html, n_axes):
    """Every frame's key has one index per axis, and every axis has an input the script reads."""
    keys = re.findall(r'<img data-key="([0-9-]+)"', html)
    assert keys and all(len(k.split("-")) == n_axes for k in keys)
    axes = sorted(int(a) for a in re.findall(r'<input [^>]*data-axis="(\d+)"', html))
    assert axes == list(range(n_axes))


# -- foundations --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recovery():
    return recovery_data(RecoverySettings())


def test_recovery_data_shapes(recovery):
    s = recovery.settings
    G, T = recovery.m_grid.size, recovery.iterations.size
    assert recovery.final_error.shape == (G, 2) and recovery.error.shape == (T, 2)
    assert s.m in recovery.m_grid and s.dof == 19 and s.n_sym == 55
    assert np.all(np.diff(recovery.m_grid) > 0)
    np.testing.assert_allclose(recovery.error[-1], recovery.final_error[list(recovery.m_grid).index(s.m)])


@pytest.mark.parametrize("seed", [0, 2])
def test_recovery_needs_enough_measurements_and_a_small_start(seed, recovery):
    d = recovery if seed == 0 else recovery_data(RecoverySettings(seed=seed))
    s, m, err = d.settings, d.m_grid, d.final_error
    # below the degrees of freedom no method can recover; at 4 d_r the small start does
    assert np.all(err[m <= s.dof, 0] > 0.1)
    assert err[m == 4 * s.dof, 0] < RECOVERY_BOUND
    # between the two dimensions the large start ends further from M* than the small one
    middle = (m >= 2 * s.dof) & (m < s.n_sym)
    assert middle.any() and np.all(err[middle, 1] > 10 * err[middle, 0])


@pytest.mark.parametrize("bad, match", [
    (dict(r=6, n=5), r"r must be in \[1, 5\]"),
    (dict(m=200), r"m must be in \[1, 110\]"),
    (dict(log10_alpha=0.0), r"log10_alpha must be in \[-8, -1\]"),
    (dict(eta=0.3), r"eta must be in"),
])
def test_recovery_rejects_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        recovery_data(RecoverySettings(**bad))


def test_recovery_figure_and_explorer(recovery):
    fig = recovery_figure(recovery)
    ax_t, ax_m = fig.axes[:2]
    assert ax_t.get_yscale() == "log" and "relative error" in ax_t.get_ylabel()
    assert "measurements" in ax_m.get_xlabel() and ax_m.get_legend() is not None
    box = foundations_explorer(live=True)
    ex = box.explorer
    assert ex.redraws == 1
    ex.controls["m"].value = 57                     # 3 d_r: computed and drawn
    assert ex.redraws == 2 and ex.drawn.m == 57
    ex.controls["r"].value = 6                      # r <= 5: explained
    assert "r must be in" in ex.message and ex.redraws == 2


# -- Jin ----------------------------------------------------------------------------------------------

def test_jin_data_shapes():
    d = jin_data(IncrementalSettings(k=2))
    T = d.iterations.size
    assert d.loss.shape == (T,) and d.spectrum.shape == (T, 2)
    assert d.sigma.shape == d.levels.shape == d.added.shape == d.learning_times.shape == (3,)
    assert np.isnan(d.learning_times[2]) and np.all(np.isfinite(d.learning_times[:2]))
    full = jin_data(IncrementalSettings())
    assert full.spectrum.shape == (full.iterations.size, 4)
    np.testing.assert_allclose(full.added, full.sigma, rtol=0.1)    # Z_s* adds about sigma_s


@pytest.mark.parametrize("seed", [0, 1])
def test_jin_learning_times_grow_with_log_inverse_alpha(seed):
    T1 = np.array([jin_data(IncrementalSettings(log10_alpha=a, seed=seed)).learning_times[0]
                   for a in (-2.0, -4.0, -6.0)])
    assert np.all(np.diff(T1) > 0)
    per_two_decades = np.diff(T1)
    predicted = 2 * np.log(10.0) / np.log(1 + 0.05 * 3.0)          # 1 / log(1 + eta sigma_1) per unit of log(1/alpha)
    np.testing.assert_allclose(per_two_decades, predicted, rtol=0.2)
    d = jin_data(IncrementalSettings(log10_alpha=-6.0, seed=seed))
    assert np.all(np.diff(d.learning_times) > 0)                    # one component after the other


def test_jin_under_parameterized_runs_end_on_their_plateau():
    finals = []
    for k in (1, 2):
        d = jin_data(IncrementalSettings(k=k))
        np.testing.assert_allclose(d.loss[-1], d.levels[k - 1], rtol=1e-6)
        finals.append(d.loss[-1])
    assert finals[0] > finals[1] > jin_data(IncrementalSettings()).loss[-1]


@pytest.mark.parametrize("bad, match", [
    (dict(eta=0.5), r"eta must be in \(0, 0\.3333\)"),
    (dict(sigma_2=3.0), r"sigma_2 must be in \(1, 3\)"),
    (dict(k=11), r"k must be in \[1, 10\]"),
    (dict(m=10), r"m must be in \[50, 20000\]"),
])
def test_jin_rejects_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        jin_data(IncrementalSettings(**bad))


def test_jin_figure_and_explorer():
    fig = jin_figure(jin_data(IncrementalSettings()))
    loss_ax, eig_ax = fig.axes[:2]
    assert loss_ax.get_yscale() == eig_ax.get_yscale() == "log"
    assert "loss" in loss_ax.get_ylabel() and "eigenvalue" in eig_ax.get_ylabel()
    box = jin_explorer(live=True)
    ex = box.explorer
    assert ex.redraws == 1
    ex.controls["log10_alpha"].value = -3.0
    assert ex.redraws == 2 and ex.drawn.log10_alpha == -3.0
    computed = ex.computations
    ex.controls["log10_alpha"].value = -6.0                         # back: from the cache, not recomputed
    assert ex.redraws == 3 and ex.drawn == IncrementalSettings() and ex.computations == computed
    assert IncrementalSettings() in JIN_CACHE
    ex.controls["eta"].value = 0.4                                  # eta sigma_1 >= 1: explained
    assert "eta must be in" in ex.message and ex.redraws == 3
    ex.controls["eta"].value = 0.05
    ex.controls["m"].value = 3000
    ex.controls["steps"].value = 5000                               # about 1.5 s: waits for Run
    assert "press Run" in ex.message
    assert box.current_settings().m == 3000


# -- Xiong --------------------------------------------------------------------------------------------

def test_xiong_data_shapes_and_runs():
    d = xiong_data(XiongExplorerSettings(one_step=True, steps=3000))
    assert set(d.errors) == {"symmetric", "asymmetric", "one-step"}
    assert all(v.shape == d.iterations.shape for v in d.errors.values())
    assert d.switch is not None and 0 < d.switch < 3000 and d.sym_constant == pytest.approx(0.5)
    sym = xiong_data(XiongExplorerSettings(parameterization="symmetric", steps=1000))
    assert set(sym.errors) == {"symmetric"} and np.isnan(sym.late_rate) and sym.switch is None


@pytest.mark.parametrize("seed", [0, 1])
def test_xiong_over_parameterized_asymmetric_rate_grows_with_alpha(seed):
    rates = [xiong_data(XiongExplorerSettings(parameterization="asymmetric", alpha=a, steps=6000,
                                              seed=seed)).late_rate for a in (0.1, 0.2, 0.3)]
    assert np.all(np.diff(rates) > 0), rates


def test_xiong_symmetric_over_parameterized_is_a_power_law_and_one_step_helps():
    from matsense.analysis import loglog_slope
    d = xiong_data(XiongExplorerSettings(one_step=True))
    slope = float(loglog_slope(d.iterations, d.errors["symmetric"], last_fraction=0.5))
    assert -2.5 <= slope <= -1.25                                   # Omega(1/T^2), not linear
    assert d.final("one-step") <= 1e-3 * d.final("asymmetric")
    exact = xiong_data(XiongExplorerSettings(k=3, steps=3000))
    assert exact.final("symmetric") < 1e-20                         # k = r: linear, fast


@pytest.mark.parametrize("bad, match", [
    (dict(parameterization="symmetric", one_step=True), "applies to the asymmetric"),
    (dict(k=2), r"k must be an integer with r = 3 <= k"),
    (dict(alpha=2.0), r"alpha must be in \[0\.01, 1\]"),
    (dict(parameterization="sym"), "parameterization must be one of"),
])
def test_xiong_rejects_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        xiong_data(XiongExplorerSettings(**bad))


def test_xiong_figure_and_explorer():
    fig = xiong_figure(xiong_data(XiongExplorerSettings(steps=2000)))
    lin, log = fig.axes[:2]
    assert lin.get_xscale() == "linear" and log.get_xscale() == "log" and lin.get_yscale() == "log"
    box = xiong_explorer(XiongExplorerSettings(steps=2000), live=True)
    ex = box.explorer
    assert ex.redraws == 1
    ex.controls["alpha"].value = 0.5
    assert ex.redraws == 2 and ex.drawn.alpha == 0.5
    ex.controls["parameterization"].value = "symmetric"
    ex.controls["one_step"].value = True                            # not for XX^T: explained
    assert "applies to the asymmetric" in ex.message and ex.redraws == 3


# -- the static views of the chapters ------------------------------------------------------------------

@pytest.mark.parametrize("make, frames", [(lambda: jin_static(quick=True), 2),
                                          (lambda: recovery_static(quick=True), 2),
                                          (lambda: xiong_static(XiongExplorerSettings(steps=2000), quick=True), 2)])
def test_chapter_static_views(make, frames):
    view = make()
    html = view._repr_html_()
    assert view.frames == frames and html.count("data:image/png;base64,") == frames
    assert "run this page as a notebook" in html and not EXTERNAL.search(html)
    assert_keys_match_inputs(html, len(view.axes))


def test_explorers_choose_the_static_view_under_the_book_build(monkeypatch):
    monkeypatch.setenv(core.BUILD_ENV, "quick")
    view = jin_explorer(quick=True, seed=1)
    assert isinstance(view, core.StaticView) and view.frames == 2
    with pytest.raises(ValueError, match="seed"):
        jin_explorer(seed=-1)
    assert replace(IncrementalSettings(), seed=1).validated().seed == 1


def test_static_view_steps_through_its_frames_in_a_browser(tmp_path):
    """The inline script, run by Chromium (skipped where there is none): the sliders show the frame asked for."""
    pytest.importorskip("playwright.sync_api")
    from pathlib import Path
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    def frame(index):
        fig = matplotlib.figure.Figure(figsize=(2, 1))
        fig.add_subplot().plot([0, index[0]])
        return fig

    view = static_view("toy", [("a", ["p", "q", "r"]), ("b", ["only"])], frame, default=(2, 0), alt=str, note="n")
    page_file = tmp_path / "view.html"
    page_file.write_text(f"<!DOCTYPE html><html><body>{view.html}</body></html>")
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_file.as_uri())
        shown = "() => Array.from(document.querySelectorAll('img')).filter(i => getComputedStyle(i).display !== 'none').map(i => i.dataset.key)"
        label = "() => document.querySelector('output').textContent"
        assert page.evaluate(shown) == ["2-0"] and page.evaluate(label) == "r"
        page.evaluate("() => { const i = document.querySelector('input[type=range]'); i.value = 0; "
                      "i.dispatchEvent(new Event('input')); }")
        assert page.evaluate(shown) == ["0-0"] and page.evaluate(label) == "p"
        browser.close()
    assert errors == []


# -- Wind ---------------------------------------------------------------------------------------------

from matsense.widgets.wind import (WindExplorerSettings, wind_explorer, wind_explorer_data,  # noqa: E402
                                   wind_explorer_figure, wind_static)


def test_wind_settings_are_canonical():
    s = WindExplorerSettings(batch_size=17, perturbation="adversarial").validated()
    assert s == WindExplorerSettings()                              # fixed: no batch; xi = 0: no kind
    fresh = WindExplorerSettings(measurements="fresh", batch_size=17).validated()
    assert fresh.batch_size == 17


def test_wind_data_shapes():
    d = wind_explorer_data(WindExplorerSettings(noise=0.1))
    T = d.iterations.size
    assert d.error.shape == d.reference_error.shape == d.spectral.shape == d.reference_spectral.shape == (T,)
    assert d.minimax > 0 and d.init_term > 0 and d.perturbation_term == 0 and not d.diverged
    plain = wind_explorer_data(WindExplorerSettings())
    np.testing.assert_allclose(plain.error, plain.reference_error)   # the plain setting is the reference


@pytest.mark.parametrize("seed", [0, 1])
def test_wind_noise_floor_is_linear_in_the_noise(seed):
    """The smallest error along the run tracks the minimax order s sqrt((n1 + n2) r / m), linearly in s."""
    runs = [wind_explorer_data(WindExplorerSettings(noise=s, seed=seed)) for s in (0.05, 0.1, 0.3)]
    best = np.array([np.nanmin(d.error) for d in runs])
    ratio = best / np.array([d.minimax for d in runs])
    assert np.all(np.diff(best) > 0) and np.all((ratio > 0.5) & (ratio < 3.0)), ratio


@pytest.mark.parametrize("seed", [0, 1])
def test_wind_perturbations_and_batches(seed):
    xi = [wind_explorer_data(WindExplorerSettings(xi=x, seed=seed)).final() for x in (0.0, 0.01, 0.03)]
    assert np.all(np.diff(xi) > 0), xi                              # a larger perturbation, a larger error
    fixed = wind_explorer_data(WindExplorerSettings(seed=seed)).final()
    small = wind_explorer_data(WindExplorerSettings(measurements="fresh", batch_size=10, seed=seed))
    large = wind_explorer_data(WindExplorerSettings(measurements="fresh", batch_size=100, seed=seed))
    assert small.diverged and small.final() == np.inf               # b = 10 < r (n1 + n2) = 68: no convergence
    assert large.final() < fixed                                    # RIP-sized fresh batches do at least as well


@pytest.mark.parametrize("bad, match", [
    (dict(xi=0.1, measurements="fresh"), "applied to full-batch GD on the fixed"),
    (dict(measurements="resample", batch_size=400), r"batch_size must be in \[1, m = 300\]"),
    (dict(noise=-0.1), r"noise must be in \[0, 2\]"),
    (dict(measurements="online"), "measurements must be one of"),
])
def test_wind_rejects_bad_settings(bad, match):
    with pytest.raises(ValueError, match=match):
        wind_explorer_data(WindExplorerSettings(**bad))


def test_wind_figure_explorer_and_static_view():
    fig = wind_explorer_figure(wind_explorer_data(WindExplorerSettings(noise=0.1, xi=0.02)))
    ax_f, ax_s = fig.axes[:2]
    assert ax_f.get_yscale() == ax_s.get_yscale() == "log" and "M^\\star" in ax_f.get_ylabel()
    assert len(ax_s.get_legend().get_texts()) == 4
    box = wind_explorer(live=True)
    ex = box.explorer
    assert ex.redraws == 1
    ex.controls["noise"].value = 0.2
    assert ex.redraws == 2 and ex.drawn.noise == 0.2
    computed = ex.computations
    ex.controls["batch_size"].value = 100                           # no batches with fixed measurements
    assert ex.computations == computed and ex.drawn.noise == 0.2
    ex.controls["measurements"].value = "fresh"
    assert ex.computations == computed + 1 and ex.drawn.measurements == "fresh" and ex.drawn.batch_size == 100
    redraws = ex.redraws
    ex.controls["xi"].value = 0.1                                   # not with batches: explained
    assert "applied to full-batch GD" in ex.message and ex.redraws == redraws
    view = wind_static(quick=True)
    assert view.frames == 2 and not EXTERNAL.search(view.html)
    assert_keys_match_inputs(view.html, 2)
