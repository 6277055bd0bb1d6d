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

from eia.stats.disclosure.audit import Audit, Constraint, reader_bounds
from eia.stats.disclosure.policy import (
    DEFAULT_MIN_COUNT,
    HIDDEN,
    LATENT,
    PRIMARY,
    REASON,
    SECONDARY,
    TABLE,
    _check_min_count,
    _value,
    is_small,
)
from eia.stats.disclosure.publish import Publishable, UnpublishableError, publishable

__all__ = ["protect", "recoverable", "suppress", "suppress_two_way"]


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
    latent: Iterable[Hashable] = (),
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
    profiles are not shown. ``latent`` names the cells of the records' finest
    cross-classification (:data:`~eia.stats.disclosure.policy.LATENT`: at least 0, never
    published, never audited themselves): relations of published entries to them let
    the audit see what the overlap of several margins pins (e.g. a site's quintile row,
    its ethnic rows and the completeness shares together). Counts that are 0 are never
    withheld.

    Entries are withheld until :meth:`Audit.exposures` finds nothing: no withheld
    entry pinned to a value, no sum of withheld entries of one relation and no
    hidden entry pinned to a value from 1 to ``min_count - 1``. For each exposure the
    complements are found by linear programming (:func:`_complements`): the fewest,
    smallest non-zero published entries (cells before totals, ``prefer`` first) whose
    withholding lets the exposed combination move by one count.

    When every non-zero entry linked to an exposed one is already withheld and
    the labels themselves still give it away (e.g. cells "<3", "<3" with a total
    "<3": all must be 1), every entry linked to it — zeros and small counts
    included — is withheld as ``"table"``, shown as ``"*"``: the reader then
    knows only that each is at least 0, and nothing can be pinned down.
    The result names the entries of ``values`` other than ``fixed``, ``hidden`` and ``latent``.
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
    latent = set(latent)
    frozen = set(fixed) | hidden | latent
    last_resort = set(totals) | {t for t, _ in constraints}
    preferred = set(prefer)
    reasons: dict[Hashable, str] = {k: r for k, r in fixed.items() if r is not None}
    reasons |= {k: HIDDEN for k in hidden}
    reasons |= {k: LATENT for k in latent}
    reasons |= {k: PRIMARY for k, v in vals.items() if k not in frozen and is_small(v, min_count)}
    # The tables' lines: relations to latent cells are no table's (they only bound).
    lines = [[t, *p] for t, p in constraints if not latent & {t, *p}]

    def audit(withheld: dict) -> Audit:
        return Audit(vals, constraints, withheld, min_count)

    def visible(keys) -> list:
        return [k for k in keys if k not in reasons and k not in frozen and vals[k] > 0]

    # What the fixed and hidden entries give away whatever this table publishes (every
    # entry of it withheld at "at least 0") is not this table's to protect: left out.
    inherited: set = set()
    if frozen:
        blank = {**reasons, **{k: TABLE for k in vals if k not in frozen}}
        inherited = {e.members for e in audit(blank).exposures()}
    # Entries the fixed ones pin whatever this table withholds (not small: those are the
    # fixed tables' business): withholding them hides nothing, so no table takes them.
    known = {m[0] for m in inherited if len(m) == 1 and not is_small(vals[m[0]], min_count)}

    while True:
        found = audit(reasons).exposures(first=True, skip=inherited)
        if not found:
            return {k: r for k, r in reasons.items() if k not in frozen}
        exposure = found[0]
        # The fewest, smallest published entries whose withholding frees the exposed
        # combination by one count, found by linear programming (cells before totals).
        weights = {k: 1.0 + (k in last_resort) - 0.5 * (k in preferred) for k in vals}
        support = _complements(
            exposure.members, vals, constraints, reasons, visible(vals), min_count, weights
        )
        if support:
            reasons.update({k: SECONDARY for k in support})
            continue
        # Nothing published can free it: the "<5" labels themselves give it away. The
        # relations of the exposed entries are withheld with their tables first, then
        # everything linked to them.
        changed = False
        for around in (_lines_of(exposure.members, lines), _component(exposure.members[0], lines)):
            for member in around - frozen - known:
                if reasons.get(member) != TABLE:
                    reasons[member] = TABLE
                    changed = True
            if changed:
                break
        if not changed:
            raise UnpublishableError(
                "disclosure control cannot protect a count pinned by tables already "
                "published (a bug in eia)"
            )


def _complements(members, vals, constraints, reasons, visible, min_count, weights) -> list:
    """The published entries to withhold so that the sum of ``members`` can move by one
    count: a least-cost change of every entry that keeps every relation, keeps each
    withheld entry within what its label says and each newly withheld one at least
    ``min_count``, and moves nothing else (zeros and fixed entries stay). Minimises the
    weighted sum of the changes of published entries (L1: few of them), trying both
    directions; returns the entries that change (empty when neither direction can)."""
    from scipy.optimize import linprog  # heavy to import; needed only when suppressing

    keys = list(vals)
    col = {k: i for i, k in enumerate(keys)}
    free = list(visible)
    movable = set(free)
    n, m = len(keys), len(free)
    bounds = reader_bounds(vals, reasons, min_count)
    box = []
    for k in keys:
        x0 = vals[k]
        if k in reasons:
            lo, hi = bounds[k]
            box.append((lo - x0, None if hi is None else hi - x0))
        elif k in movable:
            box.append((min(0.0, float(min_count) - x0), None))
        else:
            box.append((0.0, 0.0))
    box += [(0.0, None)] * m
    rows = []
    for total, parts in constraints:
        row = np.zeros(n + m)
        row[col[total]] += 1.0
        for p in parts:
            row[col[p]] -= 1.0
        rows.append(row)
    target = np.zeros(n + m)
    for k in members:
        target[col[k]] += 1.0
    # t_j >= |delta_j| for the published entries that may change.
    ub = []
    for j, k in enumerate(free):
        for sign in (1.0, -1.0):
            row = np.zeros(n + m)
            row[col[k]] = sign
            row[n + j] = -1.0
            ub.append(row)
    cost = np.zeros(n + m)
    largest = max([vals[k] for k in free], default=1.0) or 1.0
    for j, k in enumerate(free):
        cost[n + j] = weights[k] + 1e-3 * vals[k] / largest
    best = None
    for step in (1.0, -1.0):
        result = linprog(
            cost,
            A_ub=np.array(ub) if ub else None,
            b_ub=np.zeros(len(ub)) if ub else None,
            A_eq=np.vstack([*rows, target]),
            b_eq=np.array([0.0] * len(rows) + [step]),
            bounds=box,
            method="highs",
        )
        if result.status == 0 and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        return []
    return [k for k in free if abs(best.x[col[k]]) > 1e-7]


def _lines_of(keys, lines) -> set:
    """Every entry of a relation that holds one of ``keys``."""
    keys = set(keys)
    return {member for line in lines if keys & set(line) for member in line}


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
