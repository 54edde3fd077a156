"""The runner: execute every notebook of the book for a mode, check claims and figures, build HTML.

``python -m matsense.book run --mode quick|full`` (see :mod:`matsense.book.__main__`) calls
:func:`run_book`, which

1. reads ``_toc.yml`` and the mode's parameter file, and refuses parameters a notebook does not
   define;
2. computes each notebook's cache key (:mod:`.cache`) and serves intact entries from the cache;
   sweeps shared by several notebooks go to ``_build/sweeps`` (:mod:`matsense.sweepcache`);
3. executes the others with papermill, ``jobs`` at a time in a process pool (:mod:`.execute`),
   failing on any error, stderr output or warning, or a cell running past ``--timeout`` (default
   :data:`DEFAULT_TIMEOUT`), naming the notebook and the cell; each notebook writes into folders
   private to this run, and only a complete execution (claims and registered figures present) is
   stored in the cache; an entry lacking them is refused on reading too;
4. merges the claims into the ledger, judges them against ``book/known_deviations.yml`` and
   checks that every claim declared in a chapter's ``claims.yml`` was recorded (:mod:`.ledger`),
   and checks ``book/figures.yml`` against this run (:mod:`.registry`);
5. stages the book with the generated report (:mod:`.staging`, :mod:`.report`) and builds it
   with ``jupyter-book build -W -n --keep-going`` (:mod:`.build`);
6. writes ``timings.json`` and ``run.json`` and prints a table: notebook, mode, wall time,
   status, cached or executed.

Steps 4-6 start by publishing each notebook's private folders in place of the shared ones
(renames) and run under ``_build/.runner.lock`` (fcntl), so that concurrent runners never
interleave their writes. ``run.json`` says ``"status": "running"`` from the start of a run and
``ok``, ``failed`` or ``interrupted`` at its end. SIGTERM and Ctrl-C stop the workers and their
kernels before the runner exits.

Layout under ``_build/``: ``cache/<key>/``, ``<mode>/outputs/<notebook-slug>/`` (figures and claims
of each notebook), ``<mode>/executed/`` (executed notebooks), ``<mode>/timings.json``,
``<mode>/run.json``, ``stage/<mode>/``; the HTML in ``html/`` (full) or ``quick/_build/html``
(quick; ``quick/html`` links to it) and the ledger in ``claims.json`` or ``quick/claims.json``.
"""

from __future__ import annotations

import fcntl
import json
import math
import multiprocessing
import os
import shutil
import signal
import threading
import uuid
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TextIO

from .._io import atomic_write_json, replace_dir
from ..claims import CLAIMS_TABLE
from .cache import NotebookCache, cache_key, installed_distributions, library_files
from ..context import notebook_slug
from .params import MODES, check_parameters, load_params
from .toc import Document, read_toc

__all__ = ["RunOptions", "RunSummary", "Layout", "run_book", "format_table", "DEFAULT_TIMEOUT",
           "RunInterrupted"]

#: Seconds a cell may run by default (``--timeout``). The slowest notebook of the full book runs in
#: about 40 s in all (``_build/full/timings.json``), so 10 minutes for one cell only stops a hang.
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Layout:
    """Where a run of one mode reads and writes (everything under ``<root>/_build``).

    A run with an explicit ``seed`` (``--seed N``) writes under ``_build/<mode>-seed<N>`` and builds
    its HTML there, so that it never overwrites the default build.
    """

    root: Path
    mode: str
    seed: int | None = None

    @property
    def build(self) -> Path:
        """``<root>/_build``: everything generated."""
        return self.root / "_build"

    @property
    def mode_dir(self) -> Path:
        """``_build/<mode>``: this mode's outputs, executed notebooks and records."""
        return self.build / (self.mode if self.seed is None else f"{self.mode}-seed{self.seed}")

    @property
    def cache(self) -> Path:
        """``_build/cache``: executed notebooks by cache key (shared by both modes)."""
        return self.build / "cache"

    @property
    def stage(self) -> Path:
        """``_build/stage/<mode>``: the staged book that Sphinx builds."""
        return self.build / "stage" / self.mode

    @property
    def timings(self) -> Path:
        """``_build/<mode>/timings.json``: wall time of every notebook and of the HTML build."""
        return self.mode_dir / "timings.json"

    @property
    def run_record(self) -> Path:
        """``_build/<mode>/run.json``: cache key, parameters and source of every notebook."""
        return self.mode_dir / "run.json"

    @property
    def claims(self) -> Path:
        """The merged claims ledger: ``_build/claims.json`` (full) or ``_build/quick/claims.json``."""
        if self.mode == "full" and self.seed is None:
            return self.build / "claims.json"
        return self.mode_dir / "claims.json"

    @property
    def path_output(self) -> Path:
        """Where Jupyter Book writes its ``_build/html``: the root (full) or ``_build/<mode>``."""
        return self.root if self.mode == "full" and self.seed is None else self.mode_dir

    @property
    def html(self) -> Path:
        """The built HTML directory."""
        return self.path_output / "_build" / "html"

    def output_dir(self, notebook: str) -> Path:
        """Where a notebook's figures and claims go: ``_build/<mode>/outputs/<slug>``."""
        return self.mode_dir / "outputs" / notebook_slug(notebook)

    def executed(self, notebook: str) -> Path:
        """The executed copy of a notebook: ``_build/<mode>/executed/<notebook>.ipynb``."""
        return self.mode_dir / "executed" / f"{notebook}.ipynb"


@dataclass(frozen=True)
class RunOptions:
    """Options of :func:`run_book` (the CLI's flags).

    Attributes
    ----------
    root : Path
        Repository root (holding ``_toc.yml``, ``_config.yml``, ``book/``).
    mode : {"quick", "full"}
        Parameters and outputs of this mode.
    jobs : int
        Notebooks executed at once (>= 1).
    use_cache : bool
        Serve and store executed notebooks in ``_build/cache``.
    only : tuple of str
        Run only these notebooks (toc paths); then the HTML is not built and the ledger not written.
    build_html : bool
        Build the HTML after a complete run.
    timeout : float or None
        Seconds allowed per cell (default :data:`DEFAULT_TIMEOUT`); 0 or None: no limit. Papermill
        counts whole seconds: a fraction is rounded up.
    progress : bool
        Show a tqdm progress bar.
    seed : int or None
        Replace every notebook's ``seed`` parameter (rebuild the book on other problem draws).
    """

    root: Path
    mode: str
    jobs: int = 2
    use_cache: bool = True
    only: tuple[str, ...] = ()
    build_html: bool = True
    timeout: float | None = DEFAULT_TIMEOUT
    progress: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r}: allowed values are {MODES}")
        if not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"jobs={self.jobs!r} must be an integer >= 1")
        if self.timeout is not None:
            if (isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float))
                    or not math.isfinite(self.timeout) or self.timeout < 0):
                raise ValueError(f"timeout={self.timeout!r} must be a number of seconds >= 0 "
                                 "(0 or None: no limit)")
            if self.timeout == 0:
                object.__setattr__(self, "timeout", None)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or self.seed < 0):
            raise ValueError(f"seed={self.seed!r} must be an integer >= 0")

    @property
    def cell_timeout(self) -> int | None:
        """The per-cell limit papermill is given: whole seconds (rounded up), or None."""
        return None if self.timeout is None else max(1, math.ceil(self.timeout))


@dataclass
class RunSummary:
    """What a run did.

    Attributes
    ----------
    ok : bool
        True when every notebook ran cleanly, every claim passed or is a declared deviation,
        the registry checks and the HTML built without warning.
    rows : list of dict
        One per notebook: ``notebook``, ``mode``, ``wall_s``, ``status``, ``source``, ``message``.
    errors : list of str
        Everything that failed the run, each naming its notebook (and cell) or claim.
    notes : list of str
        Things worth knowing that did not fail the run (damaged cache entries recomputed).
    html : Path or None
        HTML directory when it was built.
    build_s : float or None
        Wall time of the HTML build.
    """

    ok: bool = True
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    html: Path | None = None
    build_s: float | None = None


def format_table(rows: list[dict[str, Any]], build_s: float | None = None) -> str:
    """The end-of-run table: notebook, mode, wall time, status, cached or executed."""
    header = ("notebook", "mode", "wall (s)", "status", "source")
    body = [(r["notebook"], r["mode"], f"{r['wall_s']:.1f}", r["status"], r["source"])
            for r in rows]
    if build_s is not None:
        body.append(("(jupyter-book build)", "", f"{build_s:.1f}", "", ""))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]

    def line(cells: tuple) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(b) for b in body)])


class RunInterrupted(KeyboardInterrupt):
    """Raised inside the runner when it receives SIGTERM (Ctrl-C raises KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"received {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into :class:`RunInterrupted`, so that the runner stops its workers first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
        raise RunInterrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _kill_process_trees(pids: list[int]) -> None:
    """Terminate these processes and all their descendants (a worker's notebook kernel), then kill
    whatever is left after a few seconds."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - ipykernel depends on psutil
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return
    procs: list[Any] = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs += proc.children(recursive=True) + [proc]
        except psutil.Error:
            continue
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=5)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)


@contextmanager
def _build_lock(build: Path, out: TextIO) -> Iterator[None]:
    """Hold ``_build/.runner.lock`` (fcntl): one runner at a time publishes outputs and writes the
    ledger, the records and the staging tree. Executing notebooks needs no lock."""
    path = build / ".runner.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"note: waiting for another runner to finish writing {build}", file=out,
                  flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _check_writable(paths: list[Path]) -> None:
    """Refuse, before anything runs, a build directory that cannot be written."""
    for directory in paths:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=directory)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ValueError(f"cannot write to {directory}: {exc.strerror or exc} (make it a "
                             "writable directory, or remove it)") from None


@dataclass(frozen=True)
class _Private:
    """Where one notebook of one run is written before it is published."""

    outputs: Path
    executed: Path

    @classmethod
    def of(cls, lay: Layout, notebook: str, run_id: str) -> "_Private":
        out, exe = lay.output_dir(notebook), lay.executed(notebook)
        return cls(outputs=out.with_name(f".run-{out.name}-{run_id}"),
                   executed=exe.with_name(f".run-{exe.stem}-{run_id}.ipynb"))

    def publish(self, lay: Layout, notebook: str) -> None:
        """Replace the shared output folder and executed notebook by this run's (atomically)."""
        if self.executed.is_file():
            lay.executed(notebook).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.executed, lay.executed(notebook))
        self.outputs.mkdir(parents=True, exist_ok=True)  # a worker that died wrote nothing
        replace_dir(self.outputs, lay.output_dir(notebook))

    def remove(self) -> None:
        shutil.rmtree(self.outputs, ignore_errors=True)
        self.executed.unlink(missing_ok=True)


def _sweep_leftovers(lay: Layout) -> None:
    """Remove the private folders of runners that died without cleaning up (SIGKILL, power loss).

    Called under the lock; a folder whose runner (the pid in its name) is alive is kept.
    """
    for parent in (lay.mode_dir / "outputs", lay.mode_dir / "executed"):
        if not parent.is_dir():
            continue
        for path in sorted(parent.rglob(".*")):
            parts = path.name.split("-")
            if not path.exists():
                continue  # inside a folder removed above
            if path.name.startswith(".old-"):
                pass
            elif path.name.startswith(".run-") and len(parts) >= 3:
                try:
                    os.kill(int(parts[-2]), 0)
                    continue  # its runner is alive
                except (ValueError, ProcessLookupError):
                    pass
                except PermissionError:
                    continue
            else:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _restore(entry: Any, private: _Private) -> None:
    private.executed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(entry.notebook, private.executed)
    shutil.rmtree(private.outputs, ignore_errors=True)
    shutil.copytree(entry.outputs, private.outputs)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _declared_inputs(root: Path, doc: Document) -> list[tuple[str, bytes]]:
    """Files a notebook reads besides its source: its chapter's claims table, if any, and how its
    kernel starts (:func:`matsense.book.execute.kernel_inputs`: number formatting, no progress bars)."""
    from .execute import kernel_inputs

    table = doc.path.parent / CLAIMS_TABLE
    claims = [(table.relative_to(root).as_posix(), table.read_bytes())] if table.is_file() else []
    return claims + kernel_inputs()


def _select(notebooks: list[Document], only: tuple[str, ...]) -> list[Document]:
    if not only:
        return notebooks
    names = {d.name: d for d in notebooks}
    chosen = []
    for raw in only:
        name = raw.removesuffix(".md").removesuffix(".ipynb").rstrip("/")
        if name not in names:
            raise ValueError(f"--only {raw!r}: not a notebook of _toc.yml "
                             f"(notebooks: {sorted(names)})")
        chosen.append(names[name])
    return [d for d in notebooks if d in chosen]


def _execute_all(specs: list[dict[str, Any]], jobs: int, progress: bool) -> list[dict[str, Any]]:
    """Execute the specs in a pool of spawned workers.

    On any interruption (Ctrl-C, SIGTERM through :class:`RunInterrupted`) every worker and its
    notebook kernel (which runs in a session of its own) is terminated before re-raising.
    """
    from tqdm.auto import tqdm

    from .execute import execute

    if not specs:
        return []
    results = []
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=ctx)
    try:
        with tqdm(total=len(specs), desc="notebooks", unit="nb", disable=not progress,
                  file=sys.stderr) as bar:
            futures = {pool.submit(execute, spec): spec for spec in specs}
            for fut in as_completed(futures):
                spec = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker died: report, do not hang
                    res = {"notebook": spec["notebook"], "mode": spec["mode"], "status": "failed",
                           "source": "executed", "wall_s": 0.0, "key": spec["key"],
                           "message": f"{spec['notebook']}: the worker failed: "
                                      f"{type(exc).__name__}: {exc}"}
                bar.set_postfix_str(f"{spec['notebook']} {res['status']}")
                bar.update(1)
                results.append(res)
    except BaseException:
        _kill_process_trees(list(getattr(pool, "_processes", None) or {}))
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _try_write(path: Path, obj: Any, errors: list[str]) -> None:
    """Write a record; a failure becomes an error of the run instead of hiding the others."""
    try:
        atomic_write_json(path, obj)
    except OSError as exc:
        errors.append(f"could not write {path}: {exc.strerror or exc}")


def run_book(opts: RunOptions, out: TextIO | None = None) -> RunSummary:
    """Execute, check and build the book for one mode (see the module docstring).

    Any number of runners may run at once on one tree: each executes its notebooks into folders
    of its own, stores only complete executions in the cache, and publishes outputs, ledger,
    records and the staged book while holding ``_build/.runner.lock``.

    Parameters
    ----------
    opts : RunOptions
        What to run.
    out : file-like, optional
        Where the table and messages are printed (default stdout).

    Returns
    -------
    RunSummary
        ``ok`` is False when anything failed; ``errors`` says what.

    Raises
    ------
    ValueError
        For a broken setup found before anything runs: malformed toc, parameter file, registry
        or known deviations (one line naming the file), unknown parameters, an unknown ``--only``
        notebook, a build directory that cannot be written.
    KeyboardInterrupt
        On Ctrl-C, or :class:`RunInterrupted` on SIGTERM, after the workers and their kernels
        were stopped and ``run.json`` marked ``interrupted``.
    """
    from ..provenance import git_state
    from .execute import expected_outputs, missing_outputs
    from .ledger import load_declared_claims, load_known_deviations
    from .registry import load_registry

    import jupytext

    out = sys.stdout if out is None else out
    root, mode = Path(opts.root).resolve(), opts.mode
    lay = Layout(root, mode, opts.seed)
    docs = read_toc(root)
    notebooks = [d for d in docs if d.notebook]
    all_names = [d.name for d in notebooks]
    params = load_params(root, mode, all_names)
    if opts.seed is not None:
        params = {nb: {**p, "seed": opts.seed} for nb, p in params.items()}
    registry = load_registry(root / "book" / "figures.yml", all_names)
    deviations = load_known_deviations(root / "book" / "known_deviations.yml")
    selected = _select(notebooks, tuple(opts.only))
    for doc in selected:
        check_parameters(doc.name, jupytext.read(doc.path), params[doc.name])
    declared = load_declared_claims(root, notebooks)
    expected = {d.name: expected_outputs(d.path.read_text(encoding="utf-8"),
                                         [e.figure for e in registry if e.notebook == d.name])
                for d in selected}
    _check_writable([lay.build, lay.mode_dir] + ([lay.cache] if opts.use_cache else []))
    _check_repository(root)  # issue 14 (E2): a malformed repository URL stops the run here

    library, dists = library_files(), installed_distributions()
    keys = {d.name: cache_key(d.name, d.path.read_bytes(), params[d.name], mode, library=library,
                              distributions=dists, inputs=_declared_inputs(root, d))
            for d in selected}
    run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    private = {d.name: _Private.of(lay, d.name, run_id) for d in selected}
    git = git_state()
    record = {"mode": mode, "run_id": run_id, "status": "running", "complete": not opts.only,
              **git, "notebooks": {n: {"key": keys[n], "parameters": params[n],
                                       "source": None, "status": "pending"} for n in keys}}
    with _sigterm_interrupts():
        try:
            with _build_lock(lay.build, out):
                errors: list[str] = []
                _try_write(lay.run_record, record, errors)  # "running" until this run ends
            return _run(opts, lay, docs, selected, params, registry, deviations, declared,
                        expected, keys, private, record, git, out, missing_outputs)
        except KeyboardInterrupt:
            _mark_interrupted(lay, run_id)
            raise
        finally:
            for priv in private.values():
                priv.remove()


def _mark_interrupted(lay: Layout, run_id: str) -> None:
    """Say in ``run.json`` that this run was interrupted (unless another run rewrote it since)."""
    try:
        current = json.loads(lay.run_record.read_text(encoding="utf-8"))
        if current.get("run_id") == run_id and current.get("status") == "running":
            atomic_write_json(lay.run_record, {**current, "status": "interrupted"})
    except (OSError, ValueError):
        pass


def _run(opts: RunOptions, lay: Layout, docs: list[Document], selected: list[Document],
         params: dict[str, dict], registry: list, deviations: dict, declared: list,
         expected: dict[str, dict], keys: dict[str, str], private: dict[str, _Private],
         record: dict[str, Any], git: dict[str, Any], out: TextIO,
         missing_outputs: Any) -> RunSummary:
    from .build import build_html
    from .ledger import check_declared, collect_claims, judge, ledger_document
    from .registry import check_registry, produced_figures
    from .report import CHAPTER_CLAIMS, render_chapter_claims, render_report
    from .staging import stage_book

    root, mode = lay.root, lay.mode
    # Sweeps shared by several notebooks are cached on disk (matsense.sweepcache); without the
    # notebook cache they are computed afresh too, into a folder of this run only.
    sweeps = lay.build / "sweeps" if opts.use_cache else Path(tempfile.mkdtemp(
        prefix="sweeps-", dir=_mkdir(lay.build)))
    cache = NotebookCache(lay.cache)
    summary = RunSummary()
    results: dict[str, dict[str, Any]] = {}
    specs = []
    for doc in selected:
        start = time.perf_counter()
        priv = private[doc.name]
        if opts.use_cache:
            looked = cache.lookup(keys[doc.name])
            if looked.problem:
                summary.notes.append(f"{doc.name}: {looked.problem}; executing it again")
            entry = looked.entry
            if entry is not None:
                lacking = missing_outputs(entry.outputs, expected[doc.name])
                if lacking is not None:  # verified on read: never serve an incomplete entry
                    cache.discard(entry.key)
                    summary.notes.append(f"{doc.name}: cache entry {entry.key[:12]} was refused "
                                         f"({lacking}); deleted, executing it again")
                    entry = None
            if entry is not None:
                _restore(entry, priv)
                results[doc.name] = {
                    "notebook": doc.name, "mode": mode, "status": "ok", "source": "cached",
                    "wall_s": time.perf_counter() - start, "message": "", "key": keys[doc.name],
                    "executed_wall_s": entry.result.get("wall_s")}
                continue
        specs.append({"notebook": doc.name, "source": str(doc.path), "mode": mode,
                      "parameters": params[doc.name], "key": keys[doc.name],
                      "output_dir": str(priv.outputs), "executed": str(priv.executed),
                      "cache_dir": str(lay.cache) if opts.use_cache else None,
                      "sweep_cache": str(sweeps), "timeout": opts.cell_timeout,
                      "expected": expected[doc.name]})
    try:
        for res in _execute_all(specs, opts.jobs, opts.progress):
            results[res["notebook"]] = res
    finally:
        if not opts.use_cache:
            shutil.rmtree(sweeps, ignore_errors=True)
    summary.rows = [results[d.name] for d in selected]
    summary.errors += [r["message"] for r in summary.rows if r["status"] != "ok"]
    summary.notes += [r["cache_problem"] for r in summary.rows if r.get("cache_problem")]
    notebooks_ok = not summary.errors
    names = [d.name for d in selected]

    with _build_lock(lay.build, out):
        _sweep_leftovers(lay)
        for name in names:
            private[name].publish(lay, name)

        # claims and figures
        for name in names:
            if (expected[name]["claims"] and results[name]["status"] == "ok"
                    and not (lay.output_dir(name) / "claims.json").is_file()):
                summary.errors.append(f"{name}: recorded no claims (no claims.json in "
                                      f"{lay.output_dir(name)}), although it records claims")
        claims, claim_errors = collect_claims((n, lay.output_dir(n) / "claims.json")
                                              for n in names)
        complete = not opts.only
        judged, judge_errors = judge(claims, deviations, mode, complete=complete and notebooks_ok,
                                     require_controls=True)
        summary.errors += claim_errors + judge_errors
        if notebooks_ok:
            summary.errors += check_declared(declared, claims, ran=set(names))
        produced = produced_figures({n: lay.output_dir(n) for n in names})
        if notebooks_ok:
            summary.errors += check_registry(registry, produced, {c.id for c in claims},
                                             mode=mode, keys=keys, parameters=params,
                                             ran=set(names),
                                             sources={d.name: d.path.read_text(encoding="utf-8")
                                                      for d in selected})
        commit = git["git_commit"]
        if complete:
            _try_write(lay.claims, {**ledger_document(judged, mode, commit),
                                    "git_dirty": git["git_dirty"],
                                    "git_diff_sha256": git["git_diff_sha256"]}, summary.errors)

        # the book
        if complete and opts.build_html and notebooks_ok:
            sources = {n: results[n]["source"] for n in names}
            report = render_report(mode=mode, git_commit=commit, entries=registry,
                                   produced=produced, judged=judged, notebooks=names,
                                   sources=sources,
                                   timings={n: results[n].get("executed_wall_s") or results[n]["wall_s"]
                                            for n in names})
            generated = {"book/report.md": report}
            for chapter in sorted({n.rsplit("/", 1)[0] for n in names if "/" in n}):
                if (root / chapter / CHAPTER_CLAIMS).is_file():
                    generated[f"{chapter}/{CHAPTER_CLAIMS}"] = render_chapter_claims(
                        judged, chapter, names)
            stage_book(root=root, stage=lay.stage, documents=docs,
                       executed={n: lay.executed(n) for n in names},
                       output_dirs={n: lay.output_dir(n) for n in names},
                       generated=generated)
            built = build_html(lay.stage, lay.path_output, lay.mode_dir / "sphinx.log")
            summary.build_s = built.wall_s
            if built.ok:
                summary.html = built.html
                # issue 14 (E2): the JupyterLite site and the Colab copies beside the HTML
                from .lite import publish_interactive
                lite_errors, lite_notes = publish_interactive(root, docs, built.html, lay.build)
                summary.errors += lite_errors
                summary.notes += lite_notes
                if mode != "full":
                    link = lay.mode_dir / "html"
                    if not link.is_symlink() and not link.exists():
                        link.symlink_to(Path("_build") / "html", target_is_directory=True)
            else:
                summary.errors.append(
                    f"jupyter-book build failed ({len(built.warnings)} warnings or errors; full "
                    f"log in {built.log}):\n    " + "\n    ".join(built.warnings[:40]))
        elif complete and opts.build_html:
            summary.notes.append("HTML not built: a notebook failed")

        # records (a record that cannot be written is an error, after the notebooks' own)
        previous = {}
        if opts.only:
            try:
                previous = json.loads(lay.timings.read_text(encoding="utf-8")).get("notebooks", {})
            except (OSError, ValueError):
                previous = {}
        timings = {"mode": mode, "notebooks": {**previous, **{
            r["notebook"]: {"wall_s": round(r["wall_s"], 3), "status": r["status"],
                            "source": r["source"],
                            "executed_wall_s": round(r.get("executed_wall_s") or r["wall_s"], 3)}
            for r in summary.rows}}, "html_build_s": summary.build_s}
        _try_write(lay.timings, timings, summary.errors)
        status = "ok" if not summary.errors else "failed"
        _try_write(lay.run_record, {
            **record, "status": status, "complete": complete,
            "notebooks": {n: {"key": keys[n], "parameters": params[n],
                              "source": results[n]["source"], "status": results[n]["status"]}
                          for n in names}}, summary.errors)

    summary.ok = not summary.errors
    print(format_table(summary.rows, summary.build_s), file=out)
    for note in summary.notes:
        print(f"note: {note}", file=out)
    for err in summary.errors:
        print(f"error: {err}", file=out)
    return summary


# -- issue 14 (E2): launch buttons need a well-formed repository URL -------------------------------

def _check_repository(root: Path) -> None:
    """Refuse, before anything runs, a malformed ``repository`` in ``_config.yml`` (or in
    ``MATSENSE_REPOSITORY_URL``); raises ValueError naming it."""
    from .launch import repository_from_config
    from .yamlfile import load_yaml

    config = load_yaml(root / "_config.yml", root) if (root / "_config.yml").is_file() else {}
    try:
        repository_from_config(config if isinstance(config, dict) else {})
    except ValueError as exc:
        raise ValueError(f"_config.yml: {exc}") from None
