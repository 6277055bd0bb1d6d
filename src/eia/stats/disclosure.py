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
  worked out. The check (:func:`recoverable`) is exact linear algebra plus
  linear programming over what a reader of this policy knows ("<5" means 1–4,
  "*" means at least 5), not a rule of thumb: it also catches counts
  recoverable through several tables, and pairs such as two "<5" counts that
  add up to a published 8.

:func:`protect` is the general engine: values keyed by name, plus the
"total = sum of parts" relations that readers know. :func:`suppress` (one-way
table with a total) and :func:`suppress_two_way` (rows × columns with margins)
wrap it for the common shapes.

**Only what is declared is published.** :data:`PUBLISHED` holds one
:class:`Publishable` per table eia publishes from service data, naming every
column it may hold as a key, a count, a value derived from the counts, or a
public figure. Every such table passes through :func:`publishable` before the
report or ``metrics.json`` shows it: a column not declared stops the run (a
bug, :class:`UnpublishableError`), and the derived columns of a withheld count
are withheld with it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eia.errors import DisclosureError

DEFAULT_MIN_COUNT = 5
PRIMARY = "primary"
SECONDARY = "secondary"
#: Withheld with everything it adds up with, zeros included (see :func:`protect`).
TABLE = "table"
SECONDARY_MARK = "*"
#: Why an LSOA of a rate map is grey: fewer than ``min_count`` users, none, or protecting a count.
GREY = "grey"
#: The column of a published table saying why its row's counts are withheld (None: published).
REASON = "suppressed"

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


def reader_bounds(
    values: Mapping[Hashable, float],
    reasons: Mapping[Hashable, str],
    min_count: int = DEFAULT_MIN_COUNT,
) -> dict[Hashable, tuple[float, float | None]]:
    """What a reader of the policy knows about each withheld entry: ``(lower, upper)``.

    A ``"<5"`` count lies in 1–4 (whole-number counts) or in (0, 5) (fractional
    counts; the closed interval is used); a secondary ``"*"`` count is non-zero
    and not small, so at least ``min_count``; an entry withheld with its whole
    table is only known to be at least 0.
    """
    integral = all(float(v).is_integer() for v in values.values() if not _isnan(v))
    small = (1.0, float(min_count - 1)) if integral else (0.0, float(min_count))
    bounds = {PRIMARY: small, SECONDARY: (float(min_count), None), TABLE: (0.0, None)}
    return {key: bounds[reason] for key, reason in reasons.items()}


def recoverable(
    values: Mapping[Hashable, float],
    constraints: Iterable[Constraint],
    withheld: Iterable[Hashable],
    *,
    bounds: Mapping[Hashable, tuple[float, float | None]] | None = None,
) -> list[Hashable]:
    """The withheld entries a reader could work out exactly from the published ones.

    ``constraints`` are ``(total, parts)`` pairs meaning ``values[total] ==
    sum(values[p] for p in parts)``, all known to the reader. An entry is
    recoverable when every solution of those equations (with the published
    entries fixed) gives it the same value: when the null space of the
    equations restricted to the withheld entries is zero at it. With
    ``bounds`` (see :func:`reader_bounds`), an entry is also recoverable when
    the bounds pin it (e.g. two ``"<5"`` counts adding up to a known 8 must both
    be 4): its least and greatest feasible values, found by linear programming,
    are equal.
    """
    wanted = set(withheld)
    withheld = [k for k in values if k in wanted]
    constraints = list(constraints)
    if not withheld or not constraints:
        return []
    col = {k: i for i, k in enumerate(withheld)}
    rows, rhs = [], []
    for total, parts in constraints:
        row = np.zeros(len(withheld))
        known = 0.0
        for key, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
            if key in col:
                row[col[key]] += sign
            else:
                known += sign * _value(values[key])
        if row.any():
            rows.append(row)
            rhs.append(-known)
    if not rows:
        return []
    matrix = np.vstack(rows)
    # Null space of ``matrix``: right singular vectors beyond its rank.
    _, sing, vt = np.linalg.svd(matrix)
    rank = int((sing > 1e-9 * max(1.0, sing.max(initial=0.0))).sum())
    null = vt[rank:].T  # (n_withheld, nullity)
    out = [k for k, i in col.items() if null.shape[1] == 0 or np.abs(null[i]).max() < 1e-9]
    if bounds is None:
        return out
    from scipy.optimize import linprog

    box = [bounds.get(k, (0.0, None)) for k in withheld]
    b_eq = np.array(rhs)
    scale = max(1.0, float(np.abs(b_eq).max(initial=0.0)))
    for key, i in col.items():
        if key in out or not np.abs(matrix[:, i]).any():
            continue
        c = np.zeros(len(withheld))
        c[i] = 1.0
        low = linprog(c, A_eq=matrix, b_eq=b_eq, bounds=box, method="highs")
        high = linprog(-c, A_eq=matrix, b_eq=b_eq, bounds=box, method="highs")
        if low.status == 0 and high.status == 0 and (-high.fun - low.fun) < 1e-7 * scale:
            out.append(key)
    return out


def protect(
    values: Mapping[Hashable, float],
    constraints: Iterable[Constraint] = (),
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    totals: Iterable[Hashable] = (),
    prefer: Iterable[Hashable] = (),
) -> dict[Hashable, str]:
    """Which entries to withhold, and why: ``{key: "primary" | "secondary"}``.

    ``values`` maps every published count to its value; ``constraints`` are the
    ``(total, parts)`` relations a reader knows (see :func:`recoverable`).
    ``totals`` names entries to choose as complementary suppressions only as a
    last resort (the totals of ``constraints`` are always treated so);
    ``prefer`` names entries to choose first (e.g. data-quality totals, so that
    a small count of records outside the area does not cost a table cell).
    Counts that are 0 are never withheld; complementary suppressions are always
    non-zero, smallest first, so the fewest readers' counts are lost.

    When every non-zero entry linked to an exposed one is already withheld and
    the labels themselves still give it away (e.g. cells "<3", "<3" with a total
    "<3": all must be 1), every entry linked to it — zeros and small counts
    included — is withheld as ``"table"``, shown as ``"*"``: the reader then
    knows only that each is at least 0, and nothing can be pinned down.
    """
    min_count = _check_min_count(min_count)
    constraints = [(t, list(p)) for t, p in constraints]
    vals = {k: _value(v) for k, v in values.items()}
    for total, parts in constraints:
        for key in [total, *parts]:
            if key not in vals:
                raise KeyError(f"constraint refers to {key!r}, which has no value")
    last_resort = set(totals) | {t for t, _ in constraints}
    preferred = set(prefer)
    order = {k: i for i, k in enumerate(vals)}
    reasons: dict[Hashable, str] = {k: PRIMARY for k, v in vals.items() if is_small(v, min_count)}
    lines = [[t, *p] for t, p in constraints]

    def exposed(withheld: dict) -> list:
        return recoverable(
            vals, constraints, withheld, bounds=reader_bounds(vals, withheld, min_count)
        )

    while True:
        found = exposed(reasons)
        if not found:
            return reasons
        key = found[0]
        candidates = _visible({m for line in lines if key in line for m in line}, vals, reasons)
        if not candidates:
            candidates = _visible(set(vals), vals, reasons)
        if not candidates:  # the "<5" labels themselves give it away
            for member in _component(key, lines):
                reasons[member] = TABLE
            continue

        # One step of look-ahead: prefer the complement that leaves the fewest
        # recoverable entries (e.g. the one completing a rectangle in a two-way
        # table), then cells over totals, then the smallest count.
        def score(k):
            left = len(exposed({**reasons, k: SECONDARY}))
            return (left, k not in preferred, k in last_resort, vals[k], order[k])

        reasons[min(candidates, key=score)] = SECONDARY


def _component(key, lines) -> set:
    """Every entry linked to ``key`` through the relations."""
    seen, todo = {key}, [key]
    while todo:
        current = todo.pop()
        for line in lines:
            if current in line:
                for member in line:
                    if member not in seen:
                        seen.add(member)
                        todo.append(member)
    return seen


def _visible(candidates, vals, reasons) -> list:
    return [k for k in candidates if k not in reasons and vals[k] > 0]


def _value(value) -> float:
    return 0.0 if value is None or _isnan(value) else float(value)


def _isnan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# What may be published: one allow-list per table, one gate
# ---------------------------------------------------------------------------


class UnpublishableError(RuntimeError):
    """A table about to be published breaks its allow-list or the policy.

    A bug in eia, never a user's mistake: a column no :class:`Publishable`
    declares, or a count of 1 to ``min_count - 1`` that the suppression missed.
    The run fails rather than publish it.
    """


@dataclass(frozen=True)
class Publishable:
    """Every column one published table may hold, by what it is.

    * ``keys``: what a row is about — group names, codes, levels, flags;
      published as they are.
    * ``counts``: counts from service data; withheld (None) when their row is
      withheld, and never published between 1 and ``min_count - 1``.
    * ``derived``: computed from the row's counts — per-year counts, rates,
      intervals, ratios, representation, shares; withheld with them.
    * ``public``: from public reference data (Census residents); published as
      they are.

    Plus :data:`REASON` (``suppressed``), why the row is withheld. A column not
    declared here cannot be published: :func:`publishable` refuses the table.
    """

    name: str
    keys: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    public: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        kinds = (self.keys, self.counts, self.derived, self.public)
        seen = [c for kind in kinds for c in kind]
        twice = sorted({c for c in seen if seen.count(c) > 1})
        if twice or REASON in seen:
            raise UnpublishableError(f"{self.name}: {', '.join(twice) or REASON} declared twice")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the table may hold, ``suppressed`` included."""
        return (*self.keys, *self.counts, *self.derived, *self.public, REASON)

    def kind(self, column: str) -> str:
        """``"key"``, ``"count"``, ``"derived"``, ``"public"`` or ``"reason"``."""
        for kind, columns in (
            ("key", self.keys),
            ("count", self.counts),
            ("derived", self.derived),
            ("public", self.public),
            ("reason", (REASON,)),
        ):
            if column in columns:
                return kind
        raise UnpublishableError(f"{self.name}: column {column!r} is not declared")


def publishable(
    frame: pd.DataFrame,
    spec: Publishable,
    reasons: Sequence[str | None] | None = None,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
) -> pd.DataFrame:
    """The one gate every table of service data passes before the report or metrics.json shows it.

    ``reasons`` says, row by row, why the row's counts are withheld (None:
    published), as decided by the suppression engines (:func:`protect`,
    :func:`eia.analysis.ethnicity_deprivation.protect_cells`, ...); without it, the frame's own
    ``suppressed`` column, if any. The gate

    1. refuses (:class:`UnpublishableError`) a frame holding any column ``spec``
       does not declare, so a new column cannot slip out unclassified;
    2. withholds (None) every count and every derived column of a withheld row;
    3. refuses a published count of 1 to ``min_count - 1`` (the engines' job,
       checked once more here).

    Returns a copy: counts and derived columns as objects (None where withheld
    or missing), and ``suppressed`` holding the reasons when any were given.
    """
    undeclared = [str(c) for c in frame.columns if c not in spec.columns]
    if undeclared:
        raise UnpublishableError(
            f"{spec.name}: column(s) {', '.join(undeclared)} not declared in its allow-list "
            "(eia.stats.disclosure.PUBLISHED): declare each as a key, count, derived or public column"
        )
    min_count = _check_min_count(min_count)
    out = frame.copy()
    given = reasons is not None or REASON in out.columns
    if reasons is None:
        reasons = out[REASON].tolist() if REASON in out.columns else [None] * len(out)
    reasons = [None if r is None or _isnan(r) else r for r in reasons]
    if len(reasons) != len(out):
        raise UnpublishableError(f"{spec.name}: {len(reasons)} reasons for {len(out)} rows")
    withheld = np.array([r is not None for r in reasons], dtype=bool)
    for column in (*spec.counts, *spec.derived):
        if column in out.columns:
            values = out[column].astype(object)
            values[withheld] = None
            out[column] = values.where(values.notna(), None)
    if given:
        out[REASON] = pd.Series(reasons, index=out.index, dtype=object)
    for column in spec.counts:
        if column in out.columns and any(is_small(v, min_count) for v in out[column]):
            raise UnpublishableError(
                f"{spec.name}: a published {column} lies between 1 and {min_count - 1}"
            )
    return out


def require_published(
    frame: pd.DataFrame,
    shown_by: str,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
) -> pd.DataFrame:
    """``frame`` unchanged if it has passed :func:`publishable`, else :class:`eia.errors.DisclosureError`.

    For presentation functions an analyst may hand a frame of their own: the frame must
    carry the ``suppressed`` column the gate adds and no ``count`` of 1 to
    ``min_count - 1``, so a table from before disclosure control
    (``a.uptake.by_imd_quintile``) is refused rather than shown.
    """
    small = count in frame.columns and any(is_small(v, min_count) for v in frame[count])
    if REASON not in frame.columns or small:
        raise DisclosureError(
            f"{shown_by} shows disclosure-controlled tables only: pass a published table such "
            'as a.uptake.table("by_imd_quintile"), not a.uptake.by_imd_quintile (before '
            "suppression)"
        )
    return frame


def published_record(record: Mapping, spec: Publishable, *, min_count: int = DEFAULT_MIN_COUNT):
    """A single published record (e.g. metrics.json's ``data_quality``) checked like a table.

    Every key must be declared in ``spec`` and no count may lie between 1 and
    ``min_count - 1`` (:class:`UnpublishableError` otherwise); the record is
    returned unchanged.
    """
    frame = pd.DataFrame(
        [{k: None if isinstance(v, (list, dict)) else v for k, v in record.items()}]
    )
    publishable(frame, spec, min_count=min_count)
    return record


_RATES = (
    "count_per_year",
    "rate",
    "lower",
    "upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "representation",
)
_DSR = ("dsr", "dsr_lower", "dsr_upper")
_ADJUSTED = ("adjusted_count", "adjusted_rate", "adjusted_lower", "adjusted_upper")

#: What eia may publish from service data: every table, every column, by what it is.
#: Names are where the table appears in metrics.json (``uptake.by_imd_quintile`` is
#: ``metrics["uptake"]["by_imd_quintile"]``) or, for tables only in the report, its section.
PUBLISHED: dict[str, Publishable] = {
    spec.name: spec
    for spec in (
        Publishable(
            "uptake.by_imd_quintile",
            keys=("group", "imd_quintile"),
            counts=("count",),
            derived=(*_RATES, *_DSR),
            public=("population",),
        ),
        Publishable(
            "uptake.by_imd_decile",
            keys=("group", "imd_decile"),
            counts=("count",),
            derived=(*_RATES, *_DSR),
            public=("population",),
        ),
        Publishable(
            "uptake.by_core20",
            keys=("group", "core20"),
            counts=("count",),
            derived=(*_RATES, *_DSR),
            public=("population",),
        ),
        Publishable(
            "uptake.by_ethnic_group",
            keys=("group", "in_rates"),
            counts=("count",),
            derived=(*_RATES, *_DSR, *_ADJUSTED),
            public=("population",),
        ),
        Publishable(
            "uptake.ethnicity_completeness",
            keys=("group", "imd_quintile"),
            derived=("completeness",),
        ),
        Publishable(
            "uptake.by_ethnic_group_imd_quintile",
            keys=("ethnic_group", "imd_quintile", "quintile"),
            counts=("count",),
            derived=("rate", "lower", "upper"),
            public=("population",),
        ),
        Publishable(
            "uptake.by_ethnic_code",
            keys=("code", "label", "broad_group"),
            counts=("count",),
            derived=("share", "rate", "lower", "upper", "representation"),
            public=("population",),
        ),
        Publishable(
            "data_quality",
            keys=(
                *("source", "format", "encoding", "engine", "table", "query_sha256", "synthetic"),
                *("counting", "date_first", "date_last", "period_start", "period_end"),
                *("unmatched_examples", "ethnicity_unrecognised"),
            ),
            counts=(
                *("records_read", "count_read", "count_in_area", "count_converted_from_2011"),
                *("count_outside_area", "count_unmatched", "count_welsh", "count_matched_by_name"),
                *("count_outside_ages", "count_age_unknown"),
            ),
            derived=("ethnicity_not_stated_share", "ethnicity_not_known_share"),
        ),
        Publishable("site_users.sites", keys=("site",), counts=("users",)),
        Publishable(
            "site_users.profiles",
            keys=("site", "dimension", "group"),
            counts=("users",),
            derived=("share",),
        ),
        Publishable(
            "uptake.map",
            keys=("lsoa21_code", "map_class"),
            derived=("rate",),
        ),
    )
}


def suppress(
    table: pd.DataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
    total: bool = True,
    spec: Publishable | None = None,
) -> pd.DataFrame:
    """A one-way table with small counts withheld: counts → None, their derived columns → None.

    ``total`` says whether the table's total is known to readers (published, or
    equal to a published figure); if so and exactly one count is withheld, the
    next smallest non-zero count is withheld too. ``spec`` declares the table's
    columns (:class:`Publishable`); without it, every numeric column besides
    ``count`` is taken as derived from it and withheld with it, and the others
    as labels. The result passes through :func:`publishable`, and so has a
    column ``suppressed``: None, ``"primary"``, ``"secondary"`` or ``"table"``.
    ``out.attrs["total_suppressed"]`` is ``"primary"`` or ``"secondary"`` when the
    total itself must be withheld (e.g. two counts of 4 and nothing else: a
    total of 8 would give both away), else None.
    """
    spec = spec or _default_spec(table, count)
    keys = list(range(len(table)))
    values = dict(zip(keys, pd.to_numeric(table[count]).tolist(), strict=True))
    constraints = []
    if total:
        values["__total__"] = float(np.nansum(list(values.values())))
        constraints.append(("__total__", keys))
    reasons = protect(values, constraints, min_count)
    out = publishable(table, spec, [reasons.get(k) for k in keys], min_count=min_count)
    out.attrs["total_suppressed"] = reasons.get("__total__")
    return out


def _default_spec(table: pd.DataFrame, count: str) -> Publishable:
    """A one-way table's columns: ``count``, numeric columns derived from it, labels."""
    others = [c for c in table.columns if c not in (count, REASON)]
    numeric = [c for c in others if pd.api.types.is_numeric_dtype(table[c])]
    return Publishable(
        "table",
        keys=tuple(c for c in others if c not in numeric),
        counts=(count,),
        derived=tuple(numeric),
    )


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
    why = pd.DataFrame(
        np.full(full.shape, None, dtype=object), index=full.index, columns=full.columns
    )
    for (r, c), reason in reasons.items():
        published.at[r, c] = None
        why.at[r, c] = reason
    return published, why


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


def display(
    table: pd.DataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
    decimals: int = 1,
    spec: Publishable | None = None,
) -> pd.DataFrame:
    """A suppressed one-way table (from :func:`suppress`) with counts as report strings.

    The count column reads ``"<5"``, ``"*"`` or the number; withheld derived
    values (``spec``'s derived columns; without it, any withheld value) read "–" (an en dash).
    The ``suppressed`` column is dropped.
    """
    out = table.copy()
    reasons = out[REASON].tolist() if REASON in out else [None] * len(out)
    out[count] = [
        label(v, r, min_count, decimals) for v, r in zip(out[count], reasons, strict=True)
    ]
    derived = spec.derived if spec else [c for c in out.columns if c not in (count, REASON)]
    for column in derived:
        if column in out.columns:
            out[column] = [
                "–" if r is not None and (v is None or _isnan(v)) else v
                for v, r in zip(out[column], reasons, strict=True)
            ]
    return out.drop(columns=[REASON], errors="ignore")


def policy_statement(min_count: int = DEFAULT_MIN_COUNT) -> str:
    """The sentence(s) the report prints under its tables to state the policy."""
    min_count = _check_min_count(min_count)
    small = primary_label(min_count)
    return (
        f"Disclosure control: counts greater than 0 and below {min_count} are shown as "
        f'"{small}" (null in metrics.json), and the rates, ratios and intervals calculated '
        f"from them are withheld. Where a withheld count could otherwise be worked out from "
        f"a total or from another table, the next smallest count is withheld too (shown as "
        f'"{SECONDARY_MARK}"); where the labels alone would give counts away (a table whose '
        f"total is itself below {min_count}), the whole table is withheld. Zeros are otherwise "
        f"shown. No record-level service data appear in this report, its figures or its "
        f"metrics."
    )


# ---------------------------------------------------------------------------
# Maps: a choropleth of rates is a linked table too
# ---------------------------------------------------------------------------


def quantile_classes(values, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Quantile classes of ``values`` (as mapclassify's ``Quantiles``): ``(class, upper_edges)``.

    Each value's class is the index of the first upper edge it does not exceed; equal
    edges merge, so there may be fewer than ``k`` classes.
    """
    values = np.asarray(values, dtype=float)
    edges = np.unique(np.percentile(values, np.linspace(100 / k, 100, k)))
    return np.digitize(values, edges, right=True), edges


class MapClasses:
    """What an LSOA rate map may show: each LSOA's class, or withheld.

    ``rate`` (per LSOA, NaN where withheld) and ``classes`` (0..k-1, -1 where
    withheld) are indexed by LSOA code; ``lows``/``highs`` are each class's
    range as its legend states it; ``withheld_all`` says why no LSOA is shaded.
    """

    def __init__(self, rate, classes, lows, highs, withheld_all=None):
        self.rate = rate
        self.classes = classes
        self.lows = list(lows)
        self.highs = list(highs)
        self.withheld_all = withheld_all

    @property
    def withheld(self) -> int:
        """How many LSOAs are shown as withheld."""
        return int((self.classes < 0).sum())

    def table(self) -> pd.DataFrame:
        """The map as published, through :func:`publishable` (``uptake.map``): each LSOA's
        ``map_class`` (-1: grey) and ``rate`` (None where grey; ``suppressed`` "grey")."""
        codes = list(self.classes.index)
        frame = pd.DataFrame(
            {
                "lsoa21_code": codes,
                "map_class": self.classes.to_numpy(),
                "rate": self.rate.reindex(codes).to_numpy(dtype=float),
            }
        )
        grey = [GREY if c < 0 else None for c in frame["map_class"]]
        return publishable(frame, PUBLISHED["uptake.map"], grey)

    def __repr__(self) -> str:
        return f"MapClasses({len(self.classes)} LSOAs, {self.withheld} withheld)"


def protect_map(
    counts: pd.Series,
    population: pd.Series,
    group_of: pd.Series,
    values: Mapping[Hashable, float],
    constraints: Iterable[Constraint],
    reasons: Mapping[Hashable, str],
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    per: float = 1_000,
    k: int = 5,
) -> MapClasses:
    """Classes for a map of ``counts / population * per`` that give no withheld count away.

    The map is treated as one more table linked to the published ones: ``group_of``
    names, for each LSOA (the index), the table entry its count adds up to (e.g.
    ``("decile", 3)``); ``values``, ``constraints`` and ``reasons`` are the tables'
    entries, relations and withheld entries (see :func:`protect`).

    Every LSOA with fewer than ``min_count`` users, zero included, is withheld, so
    the map never tells a small count from none. A reader of the map knows that a
    withheld LSOA holds at least 0 and that a shaded one holds at least ``min_count``
    and lies within its class's range of rates (times its published population). If
    those bounds together with the tables would pin a withheld table entry, or the
    count of an LSOA with 1 to ``min_count - 1`` users, to one whole value, the
    shaded LSOA with the fewest users among those linked is withheld as well, and
    the classes recomputed, until nothing can be pinned.
    """
    min_count = _check_min_count(min_count)
    codes = list(counts.index)
    count = counts.astype(float).to_numpy()
    pop = population.reindex(codes).astype(float).to_numpy()
    group = group_of.reindex(codes).tolist()
    integral = all(float(v).is_integer() for v in count)
    values = {key: _value(v) for key, v in values.items()}
    constraints = [(t, list(p)) for t, p in constraints]
    lines = [[t, *p] for t, p in constraints]
    base_bounds = reader_bounds(values, reasons, min_count)
    grey = (count < min_count) | ~(pop > 0)
    small = (count > 0) & (count < min_count)
    by_group: dict = {}
    for i, g in enumerate(group):
        by_group.setdefault(g, []).append(i)

    while True:
        shaded = np.flatnonzero(~grey)
        if len(shaded) == 0:
            return MapClasses(
                pd.Series(np.nan, index=codes),
                pd.Series(-1, index=codes),
                [],
                [],
                withheld_all=f"every LSOA has fewer than {min_count} users or is withheld",
            )
        rates = count[shaded] / pop[shaded] * per
        cls, highs = quantile_classes(rates, k)
        lows = np.concatenate([[rates.min()], highs[:-1]])
        lo = np.zeros(len(codes))
        hi = np.full(len(codes), np.inf)
        lo[shaded] = np.maximum(float(min_count), lows[cls] * pop[shaded] / per)
        hi[shaded] = highs[cls] * pop[shaded] / per
        sum_lo = {g: lo[m].sum() for g, m in by_group.items()}
        sum_hi = {g: hi[m].sum() for g, m in by_group.items()}
        n_grey = {g: int(grey[m].sum()) for g, m in by_group.items()}
        shaded_hi = {g: hi[m][~grey[m]].sum() for g, m in by_group.items()}

        bounds = dict(base_bounds)
        for g in by_group:
            if g in bounds:
                b_lo, b_hi = bounds[g]
                top = sum_hi[g] if b_hi is None else min(b_hi, sum_hi[g])
                bounds[g] = (max(b_lo, sum_lo[g]), None if math.isinf(top) else top)
        needed = set(reasons)
        lone = set()  # groups whose one withheld LSOA has a small count
        for g, members in by_group.items():
            if n_grey[g] == 1 and small[next(j for j in members if grey[j])]:
                lone.add(g)
                needed.add(g)
        ranges = _ranges(values, constraints, reasons, bounds, needed)

        exposed_groups: set = set()
        for key in reasons:
            if _pinned(*ranges[key], integral):
                exposed_groups |= {g for g in _component(key, lines) if g in by_group}
                if key in by_group:
                    exposed_groups.add(key)
        for g in lone:
            d_lo, d_hi = ranges[g]
            x_lo = max(0.0, d_lo - shaded_hi[g])  # the others are all shaded
            x_hi = d_hi - sum_lo[g]
            if _pinned(x_lo, x_hi, integral):
                exposed_groups.add(g)
        if not exposed_groups:
            rate = pd.Series(np.nan, index=codes)
            rate.iloc[shaded] = rates
            classes = pd.Series(-1, index=codes)
            classes.iloc[shaded] = cls
            return MapClasses(rate, classes, lows, highs)
        candidates = [i for g in exposed_groups for i in by_group[g] if not grey[i]]
        if not candidates:  # cannot happen while tables alone are safe; withhold everything
            grey[:] = True
            continue
        grey[min(candidates, key=lambda i: (count[i], codes[i]))] = True


def _pinned(lo: float, hi: float, integral: bool) -> bool:
    """True when ``[lo, hi]`` leaves one value (one whole number for whole-number counts)."""
    if hi is None or math.isinf(hi):
        return False
    scale = max(1.0, abs(hi))
    if hi - lo < 1e-7 * scale:
        return True
    return integral and math.floor(hi + 1e-7) - math.ceil(lo - 1e-7) < 1


def _ranges(values, constraints, withheld, bounds, keys) -> dict:
    """Least and greatest value of each of ``keys`` consistent with what is published."""
    from scipy.optimize import linprog

    hidden = [k for k in values if k in withheld]
    col = {k: i for i, k in enumerate(hidden)}
    rows, rhs = [], []
    for total, parts in constraints:
        row = np.zeros(len(hidden))
        known = 0.0
        for key, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
            if key in col:
                row[col[key]] += sign
            else:
                known += sign * values[key]
        if row.any():
            rows.append(row)
            rhs.append(-known)
    box = [bounds.get(k, (0.0, None)) for k in hidden]
    out = {}
    for key in keys:
        if key not in col:
            value = values[key]
            out[key] = (value, value)
            continue
        i = col[key]
        b_lo, b_hi = box[i]
        if not rows or not any(r[i] for r in rows):
            out[key] = (b_lo, math.inf if b_hi is None else b_hi)
            continue
        c = np.zeros(len(hidden))
        c[i] = 1.0
        low = linprog(c, A_eq=np.vstack(rows), b_eq=np.array(rhs), bounds=box, method="highs")
        high = linprog(-c, A_eq=np.vstack(rows), b_eq=np.array(rhs), bounds=box, method="highs")
        top = math.inf if high.status == 3 else -high.fun
        out[key] = (low.fun if low.status == 0 else b_lo, top)
    return out
