"""Statistical disclosure control for every count an assessment publishes.

The policy (params ``disclosure: {min_count: 5}`` by default):

* **Primary suppression.** A count greater than 0 and below ``min_count`` (1–4
  when counts are whole numbers) is published as ``"<5"`` (``null`` in JSON), and
  the rates, ratios and intervals computed from it are withheld too, since a
  rate times its (published) population gives the count back. Zeros are shown.
* **Secondary suppression.** A withheld count must not be recoverable from
  what *is* published: a table's total, its row and column totals, or another
  table it adds up to (deprivation quintiles are pairs of deciles; all tables
  add up to the in-area total). Whenever a withheld count could be worked out
  by adding and subtracting published figures, the smallest non-zero published
  count on the same line (preferring cells to totals) is withheld as well,
  shown as ``"*"``, and the check is repeated until no withheld count can be
  worked out. The check is exact linear algebra (:func:`recoverable`), not a
  rule of thumb, so it also catches counts recoverable through several tables.

:func:`protect` is the general engine: values keyed by name, plus the
"total = sum of parts" relations that readers know. :func:`suppress` (one-way
table with a total) and :func:`suppress_two_way` (rows × columns with margins)
wrap it for the common shapes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

DEFAULT_MIN_COUNT = 5
PRIMARY = "primary"
SECONDARY = "secondary"
#: Columns derived from a count: withheld with it.
DERIVED_COLUMNS = (
    "rate",
    "lower",
    "upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "representation",
    "share",
    "percent",
)
SECONDARY_MARK = "*"

Constraint = tuple[Hashable, Sequence[Hashable]]


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


def recoverable(
    values: Mapping[Hashable, float],
    constraints: Iterable[Constraint],
    withheld: Iterable[Hashable],
) -> list[Hashable]:
    """The withheld entries a reader could work out exactly from the published ones.

    ``constraints`` are ``(total, parts)`` pairs meaning ``values[total] ==
    sum(values[p] for p in parts)``, all known to the reader. An entry is
    recoverable when every solution of those equations (with the published
    entries fixed) gives it the same value, i.e. when the null space of the
    equations restricted to the withheld entries is zero at it.
    """
    withheld = [k for k in values if k in set(withheld)]
    if not withheld:
        return []
    constraints = list(constraints)
    if not constraints:
        return []
    col = {k: i for i, k in enumerate(withheld)}
    rows = []
    for total, parts in constraints:
        row = np.zeros(len(withheld))
        if total in col:
            row[col[total]] += 1.0
        for part in parts:
            if part in col:
                row[col[part]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.vstack(rows)
    # Null space of ``matrix``: right singular vectors beyond its rank.
    _, sing, vt = np.linalg.svd(matrix)
    rank = int((sing > 1e-9 * max(1.0, sing.max(initial=0.0))).sum())
    null = vt[rank:].T  # (n_withheld, nullity)
    out = []
    for key, i in col.items():
        if null.shape[1] == 0 or np.abs(null[i]).max() < 1e-9:
            out.append(key)
    return out


def protect(
    values: Mapping[Hashable, float],
    constraints: Iterable[Constraint] = (),
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    totals: Iterable[Hashable] = (),
) -> dict[Hashable, str]:
    """Which entries to withhold, and why: ``{key: "primary" | "secondary"}``.

    ``values`` maps every published count to its value; ``constraints`` are the
    ``(total, parts)`` relations a reader knows (see :func:`recoverable`).
    ``totals`` names entries to choose as complementary suppressions only as a
    last resort (the totals of ``constraints`` are always treated so).
    Counts that are 0 are never withheld; complementary suppressions are always
    non-zero, smallest first, so the fewest readers' counts are lost.
    """
    min_count = _check_min_count(min_count)
    constraints = [(t, list(p)) for t, p in constraints]
    vals = {k: (0.0 if v is None or _isnan(v) else float(v)) for k, v in values.items()}
    for total, parts in constraints:
        for key in [total, *parts]:
            if key not in vals:
                raise KeyError(f"constraint refers to {key!r}, which has no value")
    last_resort = set(totals) | {t for t, _ in constraints}
    order = {k: i for i, k in enumerate(vals)}
    reasons: dict[Hashable, str] = {k: PRIMARY for k, v in vals.items() if is_small(v, min_count)}
    lines = [[t, *p] for t, p in constraints]
    while True:
        found = recoverable(vals, constraints, reasons)
        if not found:
            return reasons
        key = found[0]
        candidates = {m for line in lines if key in line for m in line}
        pick = _smallest_visible(candidates, vals, reasons, last_resort, order)
        if pick is None:
            pick = _smallest_visible(set(vals), vals, reasons, last_resort, order)
        if pick is None:  # pragma: no cover - impossible: see the module docstring
            raise RuntimeError("cannot protect the table: nothing left to withhold")
        reasons[pick] = SECONDARY


def _smallest_visible(candidates, vals, reasons, last_resort, order):
    visible = [k for k in candidates if k not in reasons and vals[k] > 0]
    if not visible:
        return None
    return min(visible, key=lambda k: (k in last_resort, vals[k], order[k]))


def _isnan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def suppress(
    table: pd.DataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
    total: bool = True,
    derived: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A one-way table with small counts withheld: counts → None, their derived columns → None.

    ``total`` says whether the table's total is known to readers (published, or
    equal to a published figure); if so and exactly one count is withheld, the
    next smallest non-zero count is withheld too. ``derived`` names the columns
    computed from the count (default: those of :data:`DERIVED_COLUMNS` present).
    Adds a column ``suppressed``: None, ``"primary"`` or ``"secondary"``.
    """
    out = table.copy()
    keys = list(range(len(out)))
    values = dict(zip(keys, pd.to_numeric(out[count]).tolist(), strict=True))
    constraints = []
    if total:
        values["__total__"] = float(np.nansum(list(values.values())))
        constraints.append(("__total__", keys))
    reasons = protect(values, constraints, min_count)
    if "__total__" in reasons:  # pragma: no cover - a total is only picked if nothing else is
        reasons.pop("__total__")
    return _apply(out, [reasons.get(k) for k in keys], count, derived)


def _apply(out: pd.DataFrame, reasons: list, count: str, derived) -> pd.DataFrame:
    derived = [c for c in (derived if derived is not None else DERIVED_COLUMNS) if c in out.columns]
    mask = np.array([r is not None for r in reasons], dtype=bool)
    for column in [count, *derived]:
        col = out[column].astype(object)
        col[mask] = None
        col[~mask] = col[~mask].where(col[~mask].notna(), None)
        out[column] = col
    out["suppressed"] = reasons
    return out


def suppress_two_way(
    table: pd.DataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    margins: bool = True,
    total_label: str = "Total",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A rows × columns table of counts with small counts withheld, margins included.

    Returns ``(published, reasons)``: ``published`` is the table with a
    ``total_label`` row and column added (when ``margins``) and withheld entries
    set to None (object dtype); ``reasons`` is the same shape, holding None,
    ``"primary"`` or ``"secondary"``. Row totals, column totals and the grand
    total are protected like cells: no withheld entry can be worked out from
    the others.
    """
    data = table.astype(float)
    full = data.copy()
    if margins:
        full[total_label] = data.sum(axis=1)
        full.loc[total_label] = full.sum(axis=0)
    values = {(r, c): full.at[r, c] for r in full.index for c in full.columns}
    constraints: list[Constraint] = []
    if margins:
        rows, cols = list(data.index), list(data.columns)
        for r in [*rows, total_label]:
            constraints.append(((r, total_label), [(r, c) for c in cols]))
        for c in [*cols, total_label]:
            constraints.append(((total_label, c), [(r, c) for r in rows]))
    reasons = protect(values, constraints, min_count)
    published = full.astype(object)
    why = pd.DataFrame(None, index=full.index, columns=full.columns, dtype=object)
    for (r, c), reason in reasons.items():
        published.at[r, c] = None
        why.at[r, c] = reason
    return published, why


def label(value, reason: str | None, min_count: int = DEFAULT_MIN_COUNT, decimals: int = 1) -> str:
    """How one count reads in a report: ``"<5"``, ``"*"`` or the number (thousands separated)."""
    if reason == PRIMARY:
        return primary_label(min_count)
    if reason == SECONDARY:
        return SECONDARY_MARK
    if value is None or _isnan(value):
        return ""
    return _fmt_number(value, decimals)


def _fmt_number(value, decimals: int = 1) -> str:
    value = float(value)
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def display(
    table: pd.DataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
    decimals: int = 1,
) -> pd.DataFrame:
    """A suppressed one-way table (from :func:`suppress`) with counts as report strings.

    The count column reads ``"<5"``, ``"*"`` or the number; withheld derived
    values read "–" (an en dash). The ``suppressed`` column is dropped.
    """
    out = table.copy()
    reasons = out["suppressed"].tolist() if "suppressed" in out else [None] * len(out)
    out[count] = [
        label(v, r, min_count, decimals) for v, r in zip(out[count], reasons, strict=True)
    ]
    for column in DERIVED_COLUMNS:
        if column in out.columns:
            out[column] = [
                "–" if r is not None else v for v, r in zip(out[column], reasons, strict=True)
            ]
    return out.drop(columns=["suppressed"], errors="ignore")


def policy_statement(min_count: int = DEFAULT_MIN_COUNT) -> str:
    """The sentence(s) the report prints under its tables to state the policy."""
    min_count = _check_min_count(min_count)
    small = primary_label(min_count)
    return (
        f"Disclosure control: counts greater than 0 and below {min_count} are shown as "
        f'"{small}" (null in metrics.json), and the rates, ratios and intervals calculated '
        f"from them are withheld. Where a withheld count could otherwise be worked out from "
        f"a total or from another table, the next smallest count is withheld too (shown as "
        f'"{SECONDARY_MARK}"). Zeros are shown. No record-level service data appear in this '
        f"report, its figures or its metrics."
    )
