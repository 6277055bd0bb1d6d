"""Numbers in words: thousands separators, percentages, distances, rates, plurals and lists.

The one place numbers become text, for the report (:mod:`eia.report.show` re-exports these) and
for the messages of errors and warnings raised further down.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["fmt_distance", "fmt_int", "fmt_km", "fmt_pct", "fmt_rate", "join_words", "plural"]


def fmt_int(value: float | int | None) -> str:
    """A whole number with thousands separators, or an en dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    return f"{round(float(value)):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A proportion (0–1) as a percentage, or an en dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def fmt_km(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A distance in km, optionally with a sign."""
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):{'+' if signed else ''}.{digits}f} km"


def plural(
    n: float | int, word: str, plural_word: str | None = None, *, number: bool = True
) -> str:
    """``n`` and the noun that agrees with it: ``plural(1, "site")`` → "1 site", ``plural(3, "site")``
    → "3 sites", ``plural(2, "person", "people")`` → "2 people"; thousands separated.

    ``number=False`` gives the noun alone ("sites"). Only exactly 1 is singular.
    """
    many = plural_word or (
        word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    )
    noun = word if n == 1 else many
    if not number:
        return noun
    text = fmt_int(n) if float(n).is_integer() else f"{float(n):,.1f}"
    return f"{text} {noun}"


def join_words(items: Iterable[str], conjunction: str = "and") -> str:
    """A list in prose: "A", "A and B", "A, B and C" (no Oxford comma, as in NHS style)."""
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def fmt_distance(
    value: float | None, unit: str = "km", digits: int = 1, signed: bool = False
) -> str:
    """A distance or a travel time with its unit ("km" or "min"), optionally signed."""
    if value is None or pd.isna(value):
        return "–"
    if unit == "km":
        return fmt_km(value, digits, signed)
    return f"{float(value):{'+' if signed else ''},.0f} {unit}"


def fmt_rate(value: float | None, per: str = "1,000 residents", digits: int = 1) -> str:
    """A rate with its base, e.g. "21.3 per 1,000 residents"."""
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):,.{digits}f} per {per}"
