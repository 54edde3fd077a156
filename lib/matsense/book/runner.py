"""The runner: execute every notebook of the book for a mode, check claims and figures, build HTML.

``python -m matsense.book run --mode quick|full`` (see :mod:`matsense.book.__main__`) calls
:func:`run_book`, which

1. reads ``_toc.yml`` and the mode's parameter file, and refuses parameters a notebook does not
   define;
2. computes each notebook's cache key (:mod:`.cache`) and serves intact entries from the cache;
   sweeps shared by several notebooks go to ``_build/sweeps`` (:mod:`matsense.sweepcache`);
3. executes the others with papermill, ``jobs`` at a time in a process pool (:mod:`.execute`),
   failing on any error, stderr output or warning, naming the notebook and the cell;
4. merges the claims into the ledger, judges them against ``book/known_deviations.yml`` and
   checks that every claim declared in a chapter's ``claims.yml`` was recorded (:mod:`.ledger`),
   and checks ``book/figures.yml`` against this run (:mod:`.registry`);
5. stages the book with the generated report (:mod:`.staging`, :mod:`.report`) and builds it
   with ``jupyter-book build -W -n --keep-going`` (:mod:`.build`);
6. writes ``timings.json`` and ``run.json`` and prints a table: notebook, mode, wall time,
   status, cached or executed.

Layout under ``_build/``: ``cache/<key>/``, ``<mode>/outputs/<notebook-slug>/`` (figures and claims
of each notebook), ``<mode>/executed/`` (executed notebooks), ``<mode>/timings.json``,
``<mode>/run.json``, ``stage/<mode>/``; the HTML in ``html/`` (full) or ``quick/_build/html``
(quick; ``quick/html`` links to it) and the ledger in ``claims.json`` or ``quick/claims.json``.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .._io import atomic_write_json
from ..claims import CLAIMS_TABLE
from .cache import NotebookCache, cache_key, installed_distributions, library_files
from ..context import notebook_slug
from .params import MODES, check_parameters, load_params
from .toc import Document, read_toc

__all__ = ["RunOptions", "RunSummary", "Layout", "run_book", "format_table"]


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
        Seconds allowed per cell.
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
    timeout: float | None = None
    progress: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r}: allowed values are {MODES}")
        if not isinstance(self.jobs, int) or self.jobs < 1:
            raise ValueError(f"jobs={self.jobs!r} must be an integer >= 1")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout={self.timeout!r} must be > 0 seconds or None")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or self.seed < 0):
            raise ValueError(f"seed={self.seed!r} must be an integer >= 0")


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


def _restore(entry: Any, executed: Path, output_dir: Path) -> None:
    executed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(entry.notebook, executed)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    shutil.copytree(entry.outputs, output_dir)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _declared_inputs(root: Path, doc: Document) -> list[tuple[str, bytes]]:
    """Files a notebook reads besides its source: its chapter's claims table, if any."""
    table = doc.path.parent / CLAIMS_TABLE
    return [(table.relative_to(root).as_posix(), table.read_bytes())] if table.is_file() else []


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
    from tqdm.auto import tqdm

    from .execute import execute

    if not specs:
        return []
    results = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(specs)), mp_context=ctx) as pool, \
            tqdm(total=len(specs), desc="notebooks", unit="nb", disable=not progress,
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
    return results


def run_book(opts: RunOptions, out: TextIO | None = None) -> RunSummary:
    """Execute, check and build the book for one mode (see the module docstring).

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
        or known deviations, unknown parameters, an unknown ``--only`` notebook.
    """
    from ..provenance import git_commit
    from .build import build_html
    from .ledger import (check_declared, collect_claims, judge, ledger_document,
                         load_declared_claims, load_known_deviations)
    from .registry import check_registry, load_registry, produced_figures
    from .report import CHAPTER_CLAIMS, render_chapter_claims, render_report
    from .staging import stage_book

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

    library, dists = library_files(), installed_distributions()
    keys = {d.name: cache_key(d.name, d.path.read_bytes(), params[d.name], mode, library=library,
                              distributions=dists, inputs=_declared_inputs(root, d))
            for d in selected}
    declared = load_declared_claims(root, notebooks)
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
        if opts.use_cache:
            looked = cache.lookup(keys[doc.name])
            if looked.problem:
                summary.notes.append(f"{doc.name}: {looked.problem}; executing it again")
            if looked.entry is not None:
                _restore(looked.entry, lay.executed(doc.name), lay.output_dir(doc.name))
                results[doc.name] = {
                    "notebook": doc.name, "mode": mode, "status": "ok", "source": "cached",
                    "wall_s": time.perf_counter() - start, "message": "", "key": keys[doc.name],
                    "executed_wall_s": looked.entry.result.get("wall_s")}
                continue
        specs.append({"notebook": doc.name, "source": str(doc.path), "mode": mode,
                      "parameters": params[doc.name], "key": keys[doc.name],
                      "output_dir": str(lay.output_dir(doc.name)),
                      "executed": str(lay.executed(doc.name)),
                      "cache_dir": str(lay.cache) if opts.use_cache else None,
                      "sweep_cache": str(sweeps), "timeout": opts.timeout})
    try:
        for res in _execute_all(specs, opts.jobs, opts.progress):
            results[res["notebook"]] = res
    finally:
        if not opts.use_cache:
            shutil.rmtree(sweeps, ignore_errors=True)
    summary.rows = [results[d.name] for d in selected]
    summary.errors += [r["message"] for r in summary.rows if r["status"] != "ok"]
    notebooks_ok = not summary.errors

    # claims and figures
    names = [d.name for d in selected]
    claims, claim_errors = collect_claims((n, lay.output_dir(n) / "claims.json") for n in names)
    complete = not opts.only
    judged, judge_errors = judge(claims, deviations, mode, complete=complete and notebooks_ok,
                                 require_controls=True)
    summary.errors += claim_errors + judge_errors
    if notebooks_ok:
        summary.errors += check_declared(declared, claims, ran=set(names))
    produced = produced_figures({n: lay.output_dir(n) for n in names})
    if notebooks_ok:
        summary.errors += check_registry(registry, produced, {c.id for c in claims}, mode=mode,
                                         keys=keys, parameters=params, ran=set(names),
                                         sources={d.name: d.path.read_text(encoding="utf-8")
                                                  for d in selected})
    commit = git_commit()
    if complete:
        atomic_write_json(lay.claims, ledger_document(judged, mode, commit))

    # the book
    if complete and opts.build_html and notebooks_ok:
        sources = {n: results[n]["source"] for n in names}
        report = render_report(mode=mode, git_commit=commit, entries=registry, produced=produced,
                               judged=judged, notebooks=names, sources=sources)
        generated = {"book/report.md": report}
        for chapter in sorted({n.rsplit("/", 1)[0] for n in names if "/" in n}):
            if (root / chapter / CHAPTER_CLAIMS).is_file():
                generated[f"{chapter}/{CHAPTER_CLAIMS}"] = render_chapter_claims(judged, chapter, names)
        stage_book(root=root, stage=lay.stage, documents=docs,
                   executed={n: lay.executed(n) for n in names},
                   output_dirs={n: lay.output_dir(n) for n in names},
                   generated=generated)
        built = build_html(lay.stage, lay.path_output, lay.mode_dir / "sphinx.log")
        summary.build_s = built.wall_s
        if built.ok:
            summary.html = built.html
            if mode != "full":
                link = lay.mode_dir / "html"
                if not link.is_symlink() and not link.exists():
                    link.symlink_to(Path("_build") / "html", target_is_directory=True)
        else:
            summary.errors.append(
                f"jupyter-book build failed ({len(built.warnings)} warnings or errors; full log "
                f"in {built.log}):\n    " + "\n    ".join(built.warnings[:40]))
    elif complete and opts.build_html:
        summary.notes.append("HTML not built: a notebook failed")

    # records
    previous = {}
    if lay.timings.is_file() and opts.only:
        previous = json.loads(lay.timings.read_text(encoding="utf-8")).get("notebooks", {})
    timings = {"mode": mode, "notebooks": {**previous, **{
        r["notebook"]: {"wall_s": round(r["wall_s"], 3), "status": r["status"],
                        "source": r["source"],
                        "executed_wall_s": round(r.get("executed_wall_s") or r["wall_s"], 3)}
        for r in summary.rows}}, "html_build_s": summary.build_s}
    atomic_write_json(lay.timings, timings)
    atomic_write_json(lay.run_record, {
        "mode": mode, "git_commit": commit, "complete": complete,
        "notebooks": {n: {"key": keys[n], "parameters": params[n],
                          "source": results[n]["source"], "status": results[n]["status"]}
                      for n in names}})

    summary.ok = not summary.errors
    print(format_table(summary.rows, summary.build_s), file=out)
    for note in summary.notes:
        print(f"note: {note}", file=out)
    for err in summary.errors:
        print(f"error: {err}", file=out)
    return summary
