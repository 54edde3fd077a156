"""Reliability of the book runner (issue 10): concurrent runners, incomplete cache entries,
malformed configuration, cell time-outs, SIGTERM, unwritable build directories, run records.

Every test runs on a tiny book in a temporary directory (``conftest.make_book``); the slow ones
pause the mini notebook with its ``pause`` parameter (added here) to catch a runner mid-flight.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from matsense.book.cache import NotebookCache
from matsense.book.runner import DEFAULT_TIMEOUT, Layout, RunOptions, run_book
from matsense.provenance import working_tree_state


def run(root: Path, **kw):
    out = io.StringIO()
    opts = dict(root=root, mode="quick", build_html=False, progress=False)
    opts.update(kw)
    summary = run_book(RunOptions(**opts), out=out)
    return summary, out.getvalue()


def cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "matsense.book", "run", "--mode", "quick", "--root", str(root),
            "--no-html", *args]


def add_pause(root: Path, notebook: str = "book/a") -> None:
    """Give a copy of the mini notebook a ``pause`` parameter: seconds it sleeps after recording
    its claim and before saving its figure."""
    path = root / f"{notebook}.md"
    text = path.read_text()
    text = text.replace('failure = "none"', 'failure = "none"\npause = 0.0', 1)
    text = text.replace('if failure == "warning":\n    warnings.warn("a warning on purpose")\n',
                        'if failure == "warning":\n    warnings.warn("a warning on purpose")\n'
                        'if pause:\n    import time\n    time.sleep(pause)\n', 1)
    assert "time.sleep(pause)" in text
    path.write_text(text)


def cache_entries(lay: Layout) -> list[Path]:
    return [p for p in lay.cache.iterdir() if p.is_dir() and not p.name.startswith(".")] \
        if lay.cache.is_dir() else []


def assert_intact_cache(lay: Layout, figures: dict[str, str]) -> None:
    cache = NotebookCache(lay.cache)
    entries = cache_entries(lay)
    assert entries
    for path in entries:
        looked = cache.lookup(path.name)
        assert looked.entry is not None, looked.problem
        nb = looked.entry.result["notebook"]
        assert (looked.entry.outputs / "claims.json").is_file(), nb
        assert (looked.entry.outputs / "figures" / f"{figures[nb]}.png").is_file(), nb
        assert (looked.entry.outputs / "figures" / f"{figures[nb]}.json").is_file(), nb


# -- item 1: concurrent runners, complete cache entries only ------------------------------------

def test_two_runners_at_once_both_succeed_and_cache_only_intact_entries(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a", "pause": 6.0},
                      "book/b": {"claim_id": "beyond.b", "pause": 6.0}})
    add_pause(root, "book/a")
    add_pause(root, "book/b")
    lay = Layout(root, "quick")
    first = subprocess.Popen(cli(root, "--jobs", "2"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    # start the second runner while the first one's kernels sit between claim and figure
    deadline = time.monotonic() + 90
    outputs = lay.mode_dir / "outputs"
    while time.monotonic() < deadline and first.poll() is None:
        if outputs.is_dir() and len(list(outputs.rglob("claims.json"))) >= 2:
            break
        time.sleep(0.1)
    second = subprocess.Popen(cli(root, "--jobs", "2"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=180)
    out2, err2 = second.communicate(timeout=180)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    for text in (out1, out2):  # each runner's table: both notebooks ran cleanly
        rows = [line.split() for line in text.splitlines() if line.startswith("book/")]
        assert sorted((r[0], r[3]) for r in rows) == [("book/a", "ok"), ("book/b", "ok")], text
    ledger = json.loads(lay.claims.read_text())
    assert sorted((c["id"], c["status"]) for c in ledger["claims"]) == [
        ("beyond.a", "pass"), ("beyond.b", "pass")]
    record = json.loads(lay.run_record.read_text())
    assert record["status"] == "ok" and record["complete"]
    assert set(record["notebooks"]) == {"book/a", "book/b"}
    for nb, fig in (("book/a", "a-line"), ("book/b", "b-line")):
        assert (lay.output_dir(nb) / "claims.json").is_file()
        assert (lay.output_dir(nb) / "figures" / f"{fig}.png").is_file()
    assert_intact_cache(lay, {"book/a": "a-line", "book/b": "b-line"})
    assert not [p for p in outputs.iterdir() if p.name.startswith(".")]  # no private leftovers
    # the private folder of a runner that was killed outright is swept by the next one
    dead = outputs / ".run-a-999999999-0123abcd"
    (dead / "figures").mkdir(parents=True)
    # and a third run is served intact entries
    third = subprocess.run(cli(root), capture_output=True, text=True, timeout=120)
    assert third.returncode == 0, third.stdout + third.stderr
    assert third.stdout.count("cached") == 2, third.stdout
    assert not dead.exists()


def test_an_incomplete_cache_entry_is_refused_and_never_stored(make_book):
    root = make_book(
        {"book/a": {"claim_id": "beyond.a"}, "book/b": {"claim_id": "beyond.b"}},
        registry=[{"paper_ref": "beyond the papers", "notebook": "book/a", "figure": "a-line",
                   "claims": ["beyond.a"]},
                  {"paper_ref": "beyond the papers", "notebook": "book/b", "figure": "b-line",
                   "claims": ["beyond.b"]},
                  {"paper_ref": "beyond the papers", "notebook": "book/b", "figure": "b-never",
                   "claims": []}])
    lay = Layout(root, "quick")
    summary, text = run(root)
    # book/b never saves the registered figure b-never: its execution is not cached
    assert not summary.ok and any("b-never" in e for e in summary.errors)
    assert "book/b: not cached: its outputs lack figures/b-never.png" in text
    entries = cache_entries(lay)
    assert len(entries) == 1
    key = entries[0].name
    assert NotebookCache(lay.cache).lookup(key).entry.result["notebook"] == "book/a"
    side = json.loads((lay.output_dir("book/a") / "figures" / "a-line.json").read_text())
    assert "git_dirty" in side and "git_diff_sha256" in side

    # a partial entry that passes the integrity check (what two runners used to publish):
    # the notebook's outputs without claims.json, stored under the right key
    partial = root / "partial"
    (partial / "figures").mkdir(parents=True)
    for f in (lay.output_dir("book/a") / "figures").iterdir():
        (partial / "figures" / f.name).write_bytes(f.read_bytes())
    cache = NotebookCache(lay.cache)
    cache.discard(key)
    cache.store(key, lay.executed("book/a"), partial, {"notebook": "book/a", "wall_s": 1.0})
    assert cache.lookup(key).entry is not None
    summary, text = run(root, only=("book/a",))
    assert summary.ok, summary.errors
    assert summary.rows[0]["source"] == "executed"
    assert "was refused (its outputs lack claims.json)" in text
    assert (lay.output_dir("book/a") / "claims.json").is_file()
    assert (lay.cache / key / "outputs" / "claims.json").is_file()  # replaced by a complete one


# -- item 5: malformed YAML -----------------------------------------------------------------------

@pytest.mark.parametrize("rel", ["book/params/quick.yml", "_toc.yml", "book/figures.yml",
                                 "book/known_deviations.yml", "book/claims.yml"])
def test_malformed_yaml_is_one_line_naming_the_file_exit_2(make_book, rel):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    (root / rel).write_text("key: [1, 2\nother: value\n")
    proc = subprocess.run(cli(root), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and Path(rel).name in lines[0]
    assert "malformed YAML" in lines[0] and "line " in lines[0]


# -- item 6: per-cell time-out --------------------------------------------------------------------

def test_timeout_options():
    from matsense.book.__main__ import _timeout

    root = Path(".")
    assert RunOptions(root=root, mode="quick").timeout == DEFAULT_TIMEOUT >= 60
    assert RunOptions(root=root, mode="quick", timeout=0).timeout is None
    assert RunOptions(root=root, mode="quick", timeout=0.5).cell_timeout == 1
    assert RunOptions(root=root, mode="quick", timeout=2.2).cell_timeout == 3
    assert RunOptions(root=root, mode="quick", timeout=None).cell_timeout is None
    for bad in (-1, float("nan"), "10"):
        with pytest.raises(ValueError, match="timeout"):
            RunOptions(root=root, mode="quick", timeout=bad)
    assert _timeout("none") == 0 and _timeout("0") == 0 and _timeout("1.5") == 1.5


def test_a_cell_that_runs_too_long_is_stopped_naming_notebook_and_cell(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a", "pause": 120.0}})
    add_pause(root)
    start = time.monotonic()
    summary, text = run(root, timeout=1.5)
    assert time.monotonic() - start < 60
    assert not summary.ok and summary.rows[0]["status"] == "failed"
    message = summary.errors[0]
    assert message.startswith("book/a: cell 4 ('if failure == \"raise\":', a.md line ")
    assert "timed out" in message and "2 s per cell" in message and "--timeout" in message
    assert not cache_entries(Layout(root, "quick"))


# -- item 7: SIGTERM stops the workers and kernels ----------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_stops_runner_workers_and_kernels(make_book, signum):
    root = make_book({"book/a": {"claim_id": "beyond.a", "pause": 120.0}})
    add_pause(root)
    lay = Layout(root, "quick")
    proc = subprocess.Popen(cli(root, "--no-cache"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    family: list[psutil.Process] = []
    try:
        runner = psutil.Process(proc.pid)
        deadline = time.monotonic() + 90
        kernel = None
        while time.monotonic() < deadline and proc.poll() is None and kernel is None:
            family = runner.children(recursive=True)
            kernel = next((p for p in family if "ipykernel" in " ".join(_cmdline(p))), None)
            time.sleep(0.2)
        assert kernel is not None, "no kernel started"
        outputs = lay.mode_dir / "outputs"
        while time.monotonic() < deadline and not list(outputs.rglob("claims.json")):
            time.sleep(0.2)  # the kernel is in the cell that pauses
        assert json.loads(lay.run_record.read_text())["status"] == "running"
        family = runner.children(recursive=True)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signum, err
        assert "Traceback" not in err and "interrupted" in err
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], \
            [(p.pid, _cmdline(p)) for p in alive]
        # an interrupted run is not recorded as a good one, and leaves no private folder
        assert json.loads(lay.run_record.read_text())["status"] == "interrupted"
        assert not [p for p in outputs.iterdir() if p.name.startswith(".run-")]
    finally:  # never leave a process behind, whatever failed above
        if proc.poll() is None:
            proc.kill()
        for p in family:
            try:
                p.kill()
            except psutil.Error:
                pass


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


# -- item 8: unwritable build directory ---------------------------------------------------------

def test_an_unwritable_build_directory_is_one_clear_line(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    (root / "_build").write_text("not a directory")
    proc = subprocess.run(cli(root), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot write to {root / '_build'}" in lines[0], proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_build_directory_is_one_clear_line(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a"}})
    (root / "_build").mkdir()
    (root / "_build").chmod(0o555)
    try:
        proc = subprocess.run(cli(root), capture_output=True, text=True, timeout=120)
    finally:
        (root / "_build").chmod(0o755)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot write to" in proc.stderr and "_build" in proc.stderr


def test_an_unwritable_timings_file_does_not_hide_the_notebooks_failure(make_book):
    root = make_book({"book/a": {"claim_id": "beyond.a", "failure": "raise"}})
    lay = Layout(root, "quick")
    lay.timings.mkdir(parents=True)  # a directory where timings.json should be written
    summary, text = run(root, use_cache=False)
    assert not summary.ok
    errors = "\n".join(summary.errors)
    assert "book/a: cell 4" in errors and "RuntimeError: failing on purpose" in errors
    assert f"could not write {lay.timings}" in errors
    assert "error: book/a: cell 4" in text
    assert json.loads(lay.run_record.read_text())["status"] == "failed"


# -- item 11: provenance of a dirty tree ----------------------------------------------------------

def test_working_tree_state_flags_and_hashes_uncommitted_edits(tmp_path):
    repo = tmp_path / "repo"
    (repo / "lib").mkdir(parents=True)
    (repo / "lib" / "mod.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text("*.log\n")

    def git(*args):
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "init")
    clean = working_tree_state(repo / "lib")
    assert clean["git_dirty"] is False and clean["git_diff_sha256"] is None
    assert len(clean["git_commit"]) == 40
    (repo / "lib" / "mod.py").write_text("x = 2\n")
    edited = working_tree_state(repo / "lib")
    assert edited["git_dirty"] is True and edited["git_commit"] == clean["git_commit"]
    assert len(edited["git_diff_sha256"]) == 64
    (repo / "lib" / "new.py").write_text("y = 1\n")
    untracked = working_tree_state(repo)
    assert untracked["git_diff_sha256"] != edited["git_diff_sha256"]
    (repo / "lib" / "debug.log").write_text("ignored\n")
    (repo / "notes.txt").write_text("outside lib/ and book/\n")
    assert working_tree_state(repo) == untracked
    outside = working_tree_state(tmp_path)
    assert outside["git_dirty"] is None and outside["git_commit"] == "unknown"


def test_a_kernel_that_fails_to_start_is_given_one_more_chance(tmp_path, monkeypatch):
    """A kernel start failure (e.g. a port race between two kernels) is retried once from a clean
    output folder; a second failure is reported, naming the notebook."""
    import nbformat
    import papermill

    from matsense.book.execute import execute

    source = tmp_path / "nb.md"
    source.write_text("---\njupytext:\n  text_representation:\n    format_name: myst\n---\n"
                      "# T\n\n```{code-cell} ipython3\n:tags: [parameters]\n\nquick = True\n```\n")
    calls = []

    def flaky(nb, out, **kw):
        calls.append(sorted(p.name for p in (tmp_path / "out").iterdir()))
        (tmp_path / "out" / "claims.json").write_text("[]")   # what a half-run kernel may leave
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        nbformat.write(nbformat.v4.new_notebook(), out)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    spec = {"notebook": "book/nb", "source": str(source), "mode": "quick",
            "parameters": {"quick": True}, "key": "k" * 64, "output_dir": str(tmp_path / "out"),
            "executed": str(tmp_path / "nb.ipynb"), "cache_dir": None, "timeout": 5}
    result = execute(spec)
    assert result["status"] == "ok", result["message"]
    assert calls == [[], []]          # the second attempt starts from a clean output folder

    def broken(nb, out, **kw):
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(papermill, "execute_notebook", broken)
    result = execute(spec)
    assert result["status"] == "failed" and "book/nb: could not be executed" in result["message"]
