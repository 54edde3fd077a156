"""The bibliography style of the book: author-year labels in the list, as in the text.

The text cites with ``bibtex_reference_style: author_year`` ("Jin et al. (2023)", "[Jin et al.,
2023]"); this Sphinx extension registers the pybtex style ``matsense``, which labels the entries of
the reference list the same way ("[Jin et al., 2023]", with a, b, ... for equal labels), sorts
them by author, year and title, and prints each entry's arXiv link, DOI or URL. Select it with
``bibtex_default_style: matsense``.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

__all__ = ["AuthorYearLabelStyle", "AuthorYearStyle", "author_year_label", "setup"]


def _last_name(person: Any) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year_label(entry: Any) -> str:
    """``"Wind, 2023"``, ``"Roy and Vetterli, 2007"`` or ``"Jin et al., 2023"``."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in persons]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; equal labels get the suffixes a, b, ... in the sorted order."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        repeated = {lab for lab in labels if labels.count(lab) > 1}
        seen: dict[str, int] = {}
        for lab in labels:
            if lab in repeated:
                seen[lab] = seen.get(lab, 0) + 1
                yield lab + "abcdefghijklmnopqrstuvwxyz"[seen[lab] - 1]
            else:
                yield lab


class AuthorYearStyle(UnsrtStyle):
    """The ``unsrt`` entry format (with arXiv link, DOI and URL), author-year labels, sorted by author."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


def setup(app: Any) -> dict[str, Any]:
    """Register the pybtex style ``matsense`` (a Sphinx extension)."""
    register_plugin("pybtex.style.formatting", "matsense", AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
