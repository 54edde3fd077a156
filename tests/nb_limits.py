"""Limits on a book notebook's code (the thin-notebook rule), usable as a script.

``python tests/nb_limits.py book/jin/intro.md ...`` prints, per notebook, the fraction of code lines,
the longest code cell and every use of axis styling; exit status 1 when a limit is broken.

Counted: non-blank lines after the YAML front matter. Code lines are the non-blank lines inside
``{code-cell}`` blocks, without the fences and cell options (``:tags:``); everything else (prose,
maths, directives) is text.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_CODE_FRACTION = 0.35
MAX_CELL_LINES = 20
FORBIDDEN = (re.compile(r"\bax(es)?(\[[^\]]*\])?\.set_"), re.compile(r"\.set_(x|y)label\("),
             re.compile(r"\.set_(x|y)lim\("), re.compile(r"\.set_title\("))


@dataclass
class NotebookLimits:
    path: str
    code_lines: int = 0
    text_lines: int = 0
    cells: list[int] = field(default_factory=list)
    styling: list[str] = field(default_factory=list)

    @property
    def code_fraction(self) -> float:
        total = self.code_lines + self.text_lines
        return self.code_lines / total if total else 0.0

    @property
    def longest_cell(self) -> int:
        return max(self.cells, default=0)

    def problems(self) -> list[str]:
        out = []
        if self.code_fraction > MAX_CODE_FRACTION:
            out.append(f"{self.path}: {self.code_fraction:.0%} of its lines are code "
                       f"(at most {MAX_CODE_FRACTION:.0%})")
        for i, n in enumerate(self.cells):
            if n > MAX_CELL_LINES:
                out.append(f"{self.path}: code cell {i + 1} has {n} lines (at most {MAX_CELL_LINES})")
        out += [f"{self.path}: axis styling belongs in matsense.plotting: {s}" for s in self.styling]
        return out


def measure(path: Path) -> NotebookLimits:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if lines and lines[0].strip() == "---":
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        lines = lines[end + 1:]
    res = NotebookLimits(str(path))
    in_code, fence, count = False, "", 0
    for line in lines:
        s = line.strip()
        if not in_code:
            m = re.match(r"^(`{3,}|~{3,})\{code-cell\}", s)
            if m:
                in_code, fence, count = True, m.group(1), 0
            elif s:
                res.text_lines += 1
            continue
        if s == fence:
            in_code = False
            res.cells.append(count)
            continue
        if not s or re.match(r"^:[a-z_-]+:", s):
            continue
        count += 1
        res.code_lines += 1
        if any(p.search(line) for p in FORBIDDEN):
            res.styling.append(s)
    return res


def main(argv: list[str]) -> int:
    bad = False
    for arg in argv:
        r = measure(Path(arg))
        print(f"{arg}: code {r.code_fraction:.0%} ({r.code_lines} of {r.code_lines + r.text_lines} "
              f"lines), {len(r.cells)} cells, longest {r.longest_cell} lines, "
              f"axis styling {len(r.styling)}")
        for p in r.problems():
            print("  " + p)
            bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
