"""Choosing what to withhold: primary and secondary suppression over linked tables.

:func:`protect` is the general engine: values keyed by name, plus the "total = sum of
parts" relations that readers know, plus entries fixed by tables published earlier and
entries never published. It withholds until :meth:`~eia.stats.disclosure.audit.Audit.exposures`
finds nothing. :func:`suppress` (one-way table with a total) and :func:`suppress_two_way`
(rows × columns with margins) wrap it for the common shapes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import pandas as pd

from eia.stats.disclosure.audit import Audit, Constraint
from eia.stats.disclosure.policy import (
    DEFAULT_MIN_COUNT,
    HIDDEN,
    PRIMARY,
    REASON,
    SECONDARY,
    TABLE,
    _check_min_count,
    _value,
    is_small,
)
from eia.stats.disclosure.publish import Publishable, UnpublishableError, publishable

__all__ = ["LOOK_AHEAD", "protect", "recoverable", "suppress", "suppress_two_way"]

#: How many complementary suppressions :func:`protect` tries before choosing one.
LOOK_AHEAD = 6


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
    entries fixed) gives it the same value. Without ``bounds`` only the
    equations count (any value allowed); with them (see :func:`reader_bounds`)
    an entry is also recoverable when the bounds pin it (e.g. two ``"<5"``
    counts adding up to a known 8 must both be 4). Sums of withheld entries are
    :meth:`Audit.exposures`' business, not this function's.
    """
    wanted = set(withheld)
    vals = {k: _value(v) for k, v in values.items()}
    reasons = {k: TABLE for k in vals if k in wanted}
    free = (-np.inf, None)
    box = {k: free for k in reasons} if bounds is None else {**{k: free for k in reasons}, **bounds}
    audit = Audit(vals, constraints, reasons, 1, bounds={k: box[k] for k in reasons})
    return [e.members[0] for e in audit.exposures(sums=False)]


def protect(
    values: Mapping[Hashable, float],
    constraints: Iterable[Constraint] = (),
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    totals: Iterable[Hashable] = (),
    prefer: Iterable[Hashable] = (),
    fixed: Mapping[Hashable, str | None] | None = None,
    hidden: Iterable[Hashable] = (),
) -> dict[Hashable, str]:
    """Which entries to withhold, and why: ``{key: "primary" | "secondary" | "table"}``.

    ``values`` maps every count to its value; ``constraints`` are the
    ``(total, parts)`` relations a reader knows (see :class:`Audit`).
    ``totals`` names entries to choose as complementary suppressions only as a
    last resort (the totals of ``constraints`` are always treated so);
    ``prefer`` names entries to choose first (e.g. data-quality totals, so that
    a small count of records outside the area does not cost a table cell).
    ``fixed`` maps entries already published elsewhere to their reason there
    (None: published): linked tables, whose entries keep their state and are
    never chosen. ``hidden`` names entries that are never published (a reader
    knows only that each is at least 0), such as the users of the sites whose
    profiles are not shown. Counts that are 0 are never withheld;
    complementary suppressions are always non-zero, smallest first, so the
    fewest readers' counts are lost.

    Entries are withheld until :meth:`Audit.exposures` finds nothing: no withheld
    entry pinned to a value, no sum of withheld entries of one relation and no
    hidden entry pinned to a value from 1 to ``min_count - 1``.

    When every non-zero entry linked to an exposed one is already withheld and
    the labels themselves still give it away (e.g. cells "<3", "<3" with a total
    "<3": all must be 1), every entry linked to it — zeros and small counts
    included — is withheld as ``"table"``, shown as ``"*"``: the reader then
    knows only that each is at least 0, and nothing can be pinned down.
    The result names the entries of ``values`` other than ``fixed`` and ``hidden``.
    """
    min_count = _check_min_count(min_count)
    constraints = [(t, list(p)) for t, p in constraints]
    vals = {k: _value(v) for k, v in values.items()}
    for total, parts in constraints:
        for key in [total, *parts]:
            if key not in vals:
                raise KeyError(f"constraint refers to {key!r}, which has no value")
    fixed = dict(fixed or {})
    hidden = set(hidden)
    frozen = set(fixed) | hidden
    last_resort = set(totals) | {t for t, _ in constraints}
    preferred = set(prefer)
    order = {k: i for i, k in enumerate(vals)}
    reasons: dict[Hashable, str] = {k: r for k, r in fixed.items() if r is not None}
    reasons |= {k: HIDDEN for k in hidden}
    reasons |= {k: PRIMARY for k, v in vals.items() if k not in frozen and is_small(v, min_count)}
    lines = [[t, *p] for t, p in constraints]

    def audit(withheld: dict) -> Audit:
        return Audit(vals, constraints, withheld, min_count)

    def visible(keys) -> list:
        return [k for k in keys if k not in reasons and k not in frozen and vals[k] > 0]

    # What the fixed and hidden entries give away whatever this table publishes (every
    # entry of it withheld at "at least 0") is not this table's to protect: left out.
    inherited = set()
    if frozen:
        blank = {**reasons, **{k: TABLE for k in vals if k not in frozen}}
        inherited = {e.members for e in audit(blank).exposures()}

    while True:
        found = audit(reasons).exposures(first=True, skip=inherited)
        if not found:
            return {k: r for k, r in reasons.items() if k not in frozen}
        exposure = found[0]
        if exposure.line is not None:
            pool = set(lines[exposure.line])
        else:
            pool = {m for line in lines if exposure.members[0] in line for m in line}
        linked = _component(exposure.members[0], lines)
        candidates = visible(pool) or visible(linked)
        if not candidates:  # the "<5" labels themselves give it away
            changed = False
            for member in linked - frozen:
                if reasons.get(member) != TABLE:
                    reasons[member] = TABLE
                    changed = True
            if not changed:
                raise UnpublishableError(
                    "disclosure control cannot protect a count pinned by tables already "
                    "published (a bug in eia)"
                )
            continue

        # One step of look-ahead: prefer the complement that leaves the fewest
        # exposures (e.g. the one completing a rectangle in a two-way table), never
        # one the published figures pin anyway, then cells over totals, then the
        # smallest count. The first LOOK_AHEAD candidates in that last order are
        # tried, each audit stopping once it is no better than the best so far.
        def rank(k):
            return (k not in preferred, k in last_resort, vals[k], order[k])

        best, best_score = None, None
        for k in sorted(candidates, key=rank)[:LOOK_AHEAD]:
            bound = None if best_score is None else best_score[1] + 1
            left = audit({**reasons, k: SECONDARY}).exposures(skip=inherited, limit=bound)
            useless = any(e.members == (k,) for e in left)
            score = (useless, len(left), *rank(k))
            if best_score is None or score < best_score:
                best, best_score = k, score
            if not useless and not left:
                break
        reasons[best] = SECONDARY


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
