"""Comparing report wording with a reviewed golden fragment (tests/golden, README there).

Fragments made from the real examples have their figures masked (each number becomes ``#``):
the figures come from the reference data, which the repository never holds copies of or
data derived from, and they are checked as data by other tests (e.g. the decision card's
against the tables, ``tests/test_decision_figures.py``). What a fragment checks is the
wording. Fragments of hand-built cases keep their figures.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

__all__ = ["mask_figures", "matches"]

#: A number as the report writes it: 1,148,510 · 3.87 · 12.3% (the % is kept); not a digit
#: inside a word or code (Core20, E54000060, &#39;).
FIGURE = re.compile(r"(?<![\w#.])\d[\d,]*(?:\.\d+)?")


def mask_figures(text: str) -> str:
    """``text`` with every number replaced by ``#`` (words, units and symbols kept)."""
    return FIGURE.sub("#", text)


def matches(golden: Path, text: str, what: str, *, masked: bool = True) -> None:
    """Assert ``text`` (masked unless ``masked=False``) equals the fragment ``golden``; with
    ``EIA_REGENERATE_GOLDEN=1`` write it first (then review the diff and commit it)."""
    if masked:
        text = mask_figures(text)
    if os.environ.get("EIA_REGENERATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), "no golden fragment: run with EIA_REGENERATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    diff = "\n".join(
        difflib.unified_diff(expected.splitlines(), text.splitlines(), "golden", "now", lineterm="")
    )
    assert text == expected, f"{what} changed; review, then regenerate:\n{diff}"
