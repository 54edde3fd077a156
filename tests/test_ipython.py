"""Claims and figures show themselves once per notebook cell (matsense._ipython), with a fake IPython."""

import types

import pytest

from matsense import _ipython
from matsense.claims import Claim


@pytest.fixture
def fake_ipython(monkeypatch):
    import IPython
    import IPython.display
    shell = types.SimpleNamespace(execution_count=1)
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw, metadata: shown.append(bundle))
    monkeypatch.setattr(_ipython, "_shown", {})
    return shell, shown


def test_display_once_per_cell(fake_ipython):
    shell, shown = fake_ipython
    claim = Claim("beyond.x", "a statement", 1.0, 1.0, 0.1)
    _ipython.display_once(claim, {"text/plain": "x"})
    assert _ipython.already_shown(claim) and len(shown) == 1
    claim._ipython_display_()                 # the cell's last expression: not shown twice
    assert len(shown) == 1
    shell.execution_count = 2                 # next cell: shown again on request
    assert not _ipython.already_shown(claim)
    claim._ipython_display_()
    assert len(shown) == 2 and list(_ipython._shown.values()) == [2]


def test_nothing_is_displayed_outside_ipython(monkeypatch):
    import IPython
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    _ipython.display_once(object(), {"text/plain": "x"})   # no error, nothing recorded
    assert _ipython.execution_count() is None


def test_import_dotted():
    assert _ipython.import_dotted("matsense.theory.plateau_levels").__name__ == "plateau_levels"
    with pytest.raises(AttributeError):
        _ipython.import_dotted("matsense.theory.no_such_function")
    with pytest.raises(ImportError):
        _ipython.import_dotted("no_such_package.x")
