"""What the disclosure policy says: the threshold, the reasons, and how a count reads.

A count greater than 0 and below ``min_count`` is withheld as ``"<5"``
(:data:`PRIMARY`); a count withheld so that no withheld count can be worked out
is ``"*"`` (:data:`SECONDARY`, at least ``min_count``); a count withheld with its
whole table is ``"*"`` too (:data:`TABLE`, at least 0); an entry that is never
published but that the relations mention is :data:`HIDDEN`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DEFAULT_MIN_COUNT",
    "GREY",
    "HIDDEN",
    "LATENT",
    "PRIMARY",
    "REASON",
    "SECONDARY",
    "SECONDARY_MARK",
    "TABLE",
    "is_small",
    "label",
    "policy_statement",
    "primary_label",
]

DEFAULT_MIN_COUNT = 5
PRIMARY = "primary"
SECONDARY = "secondary"
#: Withheld with everything it adds up with, zeros included: only known to be at least 0.
TABLE = "table"
#: Never published (a quantity only the relations mention): only known to be at least 0.
HIDDEN = "hidden"
#: A cell of the records' finest cross-classification (e.g. site × quintile × ethnic
#: category): never published and not itself protected (a reader may well work out a
#: cell of a cross table nobody publishes), but at least 0, which a reader knows too:
#: without it an audit of the published margins alone misses what their overlap pins.
LATENT = "latent"
SECONDARY_MARK = "*"
#: Why an LSOA of a rate map is grey: fewer than ``min_count`` users, none, or protecting a count.
GREY = "grey"
#: The column of a published table saying why its row's counts are withheld (None: published).
REASON = "suppressed"


def primary_label(min_count: int = DEFAULT_MIN_COUNT) -> str:
    """How a primary-suppressed count is shown: ``"<5"`` for ``min_count`` 5."""
    return f"<{_fmt_number(min_count)}"


def is_small(value: float | None, min_count: int = DEFAULT_MIN_COUNT) -> bool:
    """True for a count that must be withheld on its own: 0 < value < min_count."""
    if value is None:
        return False
    value = float(value)
    return not math.isnan(value) and 0 < value < min_count


def _check_min_count(min_count) -> int:
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ValueError(f"min_count must be a whole number of at least 1, not {min_count!r}")
    return int(min_count)


def _value(value) -> float:
    return 0.0 if value is None or _isnan(value) else float(value)


def _isnan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def label(value, reason: str | None, min_count: int = DEFAULT_MIN_COUNT, decimals: int = 1) -> str:
    """How one count reads in a report: ``"<5"``, ``"*"`` or the number (thousands separated)."""
    if reason == PRIMARY:
        return primary_label(min_count)
    if reason in (SECONDARY, TABLE):
        return SECONDARY_MARK
    if value is None or _isnan(value):
        return ""
    return _fmt_number(value, decimals)


def _fmt_number(value, decimals: int = 1) -> str:
    value = float(value)
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def policy_statement(min_count: int = DEFAULT_MIN_COUNT) -> dict[str, int | str]:
    """The figures the report's statement of the policy quotes under its tables
    (``report/prose/disclosure.j2``): ``min_count``, ``small`` (the label of a small
    count, "<5") and ``secondary`` (the mark of a count withheld so that a small one cannot
    be worked out, "*")."""
    min_count = _check_min_count(min_count)
    return {"min_count": min_count, "small": primary_label(min_count), "secondary": SECONDARY_MARK}
