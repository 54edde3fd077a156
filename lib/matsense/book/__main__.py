"""Command line: ``python -m matsense.book run --mode quick|full [--jobs 2] [--no-cache] [--only NB ...]``.

Exit status 0 when everything passed, 1 when a notebook, a claim, the registry or the HTML build
failed, 2 for a broken setup (malformed toc, parameters, registry, known deviations or claims
table, a build directory that cannot be written) found before anything ran, 130 on Ctrl-C and 143
on SIGTERM (after stopping every worker and notebook kernel). Errors are one line each, without a
traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .._io import find_root


def _timeout(text: str) -> float:
    """``--timeout``: seconds >= 0, or ``none``/``off`` (0 means no limit)."""
    if text.strip().lower() in ("none", "off", "0"):
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (or 'none')") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds >= 0")
    return value


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m matsense.book",
                                     description="Execute and build the matsense book.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute every notebook of _toc.yml and build the HTML")
    run.add_argument("--mode", choices=("quick", "full"), required=True,
                     help="quick: tiny sizes (tests); full: the book's sizes")
    run.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    run.add_argument("--no-cache", action="store_true",
                     help="execute every notebook, neither reading nor writing the cache")
    run.add_argument("--only", nargs="+", metavar="NOTEBOOK", default=(),
                     help="run only these notebooks (toc paths); skips the HTML build")
    run.add_argument("--no-html", action="store_true", help="do not build the HTML")
    run.add_argument("--timeout", type=_timeout, default=None, metavar="SECONDS",
                     help="seconds allowed per cell (default 600; 0 or 'none': no limit; a "
                          "fraction is rounded up to whole seconds)")
    run.add_argument("--seed", type=int, default=None,
                     help="rebuild the whole book on other problem draws: this seed replaces every "
                          "notebook's seed (outputs go to _build/<mode>-seed<N>)")
    run.add_argument("--root", type=Path, default=None,
                     help="repository root (default: the nearest directory with _toc.yml)")
    run.add_argument("--repository-url", default=None, metavar="URL",
                     help="the repository's URL for the launch buttons, for this build only (it "
                          "replaces repository.url of _config.yml; '' removes the buttons); same "
                          "as the environment variable MATSENSE_REPOSITORY_URL")
    args = parser.parse_args(argv)
    if args.repository_url is not None:  # issue 14 (E2): read by matsense.book.launch and .lite
        import os

        from .launch import ENV_URL
        os.environ[ENV_URL] = args.repository_url

    from .runner import DEFAULT_TIMEOUT, RunInterrupted, RunOptions, run_book

    root = args.root if args.root is not None else find_root()
    try:
        opts = RunOptions(root=root, mode=args.mode, jobs=args.jobs, use_cache=not args.no_cache,
                          only=tuple(args.only), build_html=not args.no_html,
                          timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
                          progress=True, seed=args.seed)
        summary = run_book(opts)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:
        print(f"error: interrupted ({exc}): its workers and kernels were stopped",
              file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C): its workers and kernels were stopped",
              file=sys.stderr)
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    if summary.ok and summary.html is not None:
        print(f"HTML: {summary.html / 'index.html'}")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
