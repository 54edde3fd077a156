"""Tests of matsense.setups: one documented, frozen setup per chapter, quick and full."""

from __future__ import annotations

import dataclasses

import pytest

from matsense.setups import as_dict, foundations_setup, jin_setup


def test_quick_sizes_are_smaller_and_everything_else_agrees():
    q, f = jin_setup(quick=True), jin_setup()
    assert (q.n, q.m, q.steps, q.n_seeds) == (10, 1000, 800, 3)
    assert (f.n, f.m, f.steps, f.n_seeds) == (20, 2000, 2500, 5)
    assert (q.sigma, q.eta, q.alphas) == (f.sigma, f.eta, f.alphas)
    assert f.r == 3 and f.seeds == (0, 1, 2, 3, 4)
    assert foundations_setup(quick=True).n < foundations_setup().n


def test_setups_are_frozen_and_overridable():
    s = jin_setup(quick=True, seed=3, m=500, sigma=[4.0, 2.0, 1.0])
    assert (s.seed, s.m, s.sigma) == (3, 500, (4.0, 2.0, 1.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.m = 10
    assert as_dict(s)["m"] == 500


@pytest.mark.parametrize("kwargs, error, match", [
    ({"quick": "yes"}, TypeError, "quick="),
    ({"seed": -1}, ValueError, "seed"),
    ({"mm": 3}, TypeError, "unknown setup field"),
    ({"quick": True, "n_seeds": 0}, ValueError, "n_seeds"),
    ({"quick": True, "k_under": 3}, ValueError, "k_under"),
])
def test_bad_setups_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        jin_setup(**kwargs)
