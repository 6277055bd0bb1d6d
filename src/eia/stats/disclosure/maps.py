"""Maps: a choropleth of rates is a table linked to the published ones.

:func:`protect_map` greys LSOAs until the map's classes, with the tables, pin no
withheld count; :func:`quantile_classes` is the classifier it audits (mapclassify's
``Quantiles``, in three lines of numpy: importing mapclassify takes seconds and the
audit re-classifies after every LSOA it greys).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping

import numpy as np
import pandas as pd

from eia.stats.disclosure.audit import Audit, Constraint, reader_bounds
from eia.stats.disclosure.policy import (
    DEFAULT_MIN_COUNT,
    GREY,
    HIDDEN,
    LATENT,
    _check_min_count,
    _value,
    is_small,
)
from eia.stats.disclosure.protect import _component
from eia.stats.disclosure.publish import PUBLISHED, publishable

__all__ = ["MapClasses", "protect_map", "quantile_classes"]


def quantile_classes(values, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Quantile classes of ``values`` (as mapclassify's ``Quantiles``): ``(class, upper_edges)``.

    Each value's class is the index of the first upper edge it does not exceed; equal
    edges merge, so there may be fewer than ``k`` classes.
    """
    values = np.asarray(values, dtype=float)
    # 100 * i / k exactly (linspace can land a hair below 2/3 and split a tie into two edges)
    edges = np.unique(np.percentile(values, 100 * np.arange(1, k + 1) / k))
    return np.digitize(values, edges, right=True), edges


class MapClasses:
    """What an LSOA rate map may show: each LSOA's class, or withheld.

    ``rate`` (per LSOA, NaN where withheld) and ``classes`` (0..k-1, -1 where
    withheld) are indexed by LSOA code; ``lows``/``highs`` are each class's
    range as its legend states it; ``withheld_all`` says why no LSOA is shaded (a code:
    ``"all_small"``, every LSOA has fewer users than the minimum count or is withheld;
    None when some are shaded).
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
                withheld_all="all_small",
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
        needed = {k for k, r in reasons.items() if r != LATENT}  # cells: never exposures
        lone = set()  # groups whose one withheld LSOA has a small count
        for g, members in by_group.items():
            if n_grey[g] == 1 and small[next(j for j in members if grey[j])]:
                lone.add(g)
                needed.add(g)
        ranges = _ranges(values, constraints, reasons, bounds, needed)

        exposed_groups: set = set()
        for key in reasons:
            if reasons[key] == LATENT:
                continue
            if reasons[key] == HIDDEN and not is_small(values[key], min_count):
                continue  # never published: only a small count pinned matters
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
    min_count = 1  # unused: every withheld entry's bounds are given
    audit = Audit(values, constraints, withheld, min_count, bounds=bounds)
    out = {}
    for key in keys:
        if key not in audit.col:
            value = values[key]
            out[key] = (value, value)
            continue
        c = np.zeros(len(audit.keys))
        c[audit.col[key]] = 1.0
        out[key] = audit.range(c)
    return out
