"""What a reader can work out from published counts: the linear-programming audit.

A reader of the published tables knows every published count, the relations
between them (``total = sum of parts``: a table's margins, deciles adding up to
quintiles, sites adding up to the area, ...), and what the labels say about each
withheld one (``"<5"``: 1–4; ``"*"``: at least 5; withheld with its table, or
never published: at least 0). :class:`Audit` holds that knowledge as a linear
system over the withheld entries and answers, for any combination of them
(one entry, or a sum of several), whether it is **pinned**: whether every
solution of the system gives it the same value (the same whole number, when
counts are whole numbers; values less than one count apart, when they are not).

:meth:`Audit.exposures` lists what the disclosure policy forbids:

* a withheld entry that is pinned to any value (except a zero withheld with its
  whole table: zeros are published anyway);
* a sum of two or more withheld entries of one relation (e.g. two ``"<5"`` cells
  of one row) pinned to a value from 1 to ``min_count - 1``;
* an entry never published (``hidden``, e.g. the users of the sites whose
  profiles are not shown) pinned to a value from 1 to ``min_count - 1`` — a
  small count worked out by differencing two published tables.

The test is exact: when the equations alone fix a combination (its coefficient
vector is orthogonal to the null space of the system) its value is known; when
not, a cheap search along the null space from the true counts finds two
solutions at least one count apart, and only where it fails are the least and
greatest feasible values found by linear programming (HiGHS, through its Python
bindings ``highspy``: one model per audit, re-solved for each objective).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from eia.stats.disclosure.policy import HIDDEN, LATENT, PRIMARY, SECONDARY, TABLE

__all__ = [
    "Linked",
    "Audit",
    "Constraint",
    "Exposure",
    "MAX_SUBSETS",
    "reader_bounds",
]

#: How many sums of withheld entries one relation may have checked (the smallest first).
MAX_SUBSETS = 4096

Constraint = tuple[Hashable, Sequence[Hashable]]

_TOL = 1e-7
_UNBOUNDED = (
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


@dataclass(frozen=True)
class Exposure:
    """A combination of withheld entries a reader can pin down.

    ``members`` are the entries added up (one for a single entry); ``value`` is
    what they add up to; ``line`` the index of the relation the sum lies in
    (None for a single entry).
    """

    members: tuple[Hashable, ...]
    value: float
    line: int | None = None


def reader_bounds(
    values: Mapping[Hashable, float],
    reasons: Mapping[Hashable, str],
    min_count: int,
) -> dict[Hashable, tuple[float, float | None]]:
    """What a reader of the policy knows about each withheld entry: ``(lower, upper)``.

    A ``"<5"`` count lies in 1–4 (whole-number counts) or in (0, 5) (fractional
    counts; the closed interval is used); a secondary ``"*"`` count is non-zero
    and not small, so at least ``min_count``; an entry withheld with its whole
    table, never published, or a latent cell, is only known to be at least 0.
    """
    integral = is_integral(values)
    small = (1.0, float(min_count - 1)) if integral else (0.0, float(min_count))
    bounds = {
        PRIMARY: small,
        SECONDARY: (float(min_count), None),
        TABLE: (0.0, None),
        HIDDEN: (0.0, None),
        LATENT: (0.0, None),
    }
    return {key: bounds[reason] for key, reason in reasons.items()}


def is_integral(values: Mapping[Hashable, float]) -> bool:
    """True when every (non-missing) value is a whole number."""
    return all(float(v).is_integer() for v in values.values() if not math.isnan(float(v)))


class Audit:
    """The linear system a reader knows, over the withheld entries.

    ``values`` are the true counts of every entry (published or not: the audit
    starts its searches from them); ``constraints`` the ``(total, parts)``
    relations known to readers; ``withheld`` maps each withheld entry to its
    reason (:data:`PRIMARY`, :data:`SECONDARY`, :data:`TABLE`, :data:`HIDDEN` or
    :data:`LATENT`: latent cells bound what the others can be, but are never exposures
    themselves nor members of the sums audited);
    ``bounds`` overrides what a reader knows of some of them (``(lower, upper)``,
    upper None when unbounded), e.g. from a map's classes.
    """

    def __init__(
        self,
        values: Mapping[Hashable, float],
        constraints: Iterable[Constraint],
        withheld: Mapping[Hashable, str],
        min_count: int,
        *,
        bounds: Mapping[Hashable, tuple[float, float | None]] | None = None,
    ) -> None:
        self.values = values
        self.constraints = [(t, list(p)) for t, p in constraints]
        self.withheld = dict(withheld)
        self.min_count = min_count
        self.integral = is_integral(values)
        self.keys = [k for k in values if k in self.withheld]
        self.col = {k: i for i, k in enumerate(self.keys)}
        n = len(self.keys)
        self.x0 = np.array([float(values[k]) for k in self.keys])
        bounds = {**reader_bounds(values, self.withheld, min_count), **(bounds or {})}
        self.lo = np.array([bounds[k][0] for k in self.keys], dtype=float)
        self.hi = np.array(
            [math.inf if bounds[k][1] is None else bounds[k][1] for k in self.keys], dtype=float
        )
        rows, rhs, lines = [], [], []
        for index, (total, parts) in enumerate(self.constraints):
            row = np.zeros(n)
            known = 0.0
            for key, sign in [(total, 1.0), *((p, -1.0) for p in parts)]:
                if key in self.col:
                    row[self.col[key]] += sign
                else:
                    known += sign * float(values[key])
            if row.any():
                rows.append(row)
                rhs.append(-known)
                lines.append(index)
        self.matrix = np.vstack(rows) if rows else np.zeros((0, n))
        self.rhs = np.array(rhs)
        self.linked = np.abs(self.matrix).sum(axis=0) > 0 if n else np.zeros(0, dtype=bool)
        if rows:
            _, sing, vt = np.linalg.svd(self.matrix)
            rank = int((sing > 1e-9 * max(1.0, sing.max(initial=0.0))).sum())
            self.null = vt[rank:].T
        else:
            self.null = np.eye(n)
        self._lp_calls = 0
        self._solver = None
        self._points: list[np.ndarray] = [self.x0]

    # -- one combination ---------------------------------------------------------------

    def vector(self, members: Iterable[Hashable]) -> np.ndarray:
        """The coefficient vector of the sum of ``members`` (withheld entries)."""
        c = np.zeros(len(self.keys))
        for key in members:
            c[self.col[key]] += 1.0
        return c

    def determined(self, c: np.ndarray) -> bool:
        """True when the equations alone fix ``c · x`` (no bound needed)."""
        if self.null.shape[1] == 0:
            return True
        return bool(np.abs(self.null.T @ c).max() < 1e-9)

    def pinned(self, c: np.ndarray) -> bool:
        """True when every solution gives ``c · x`` one value (see the module docstring)."""
        if self.determined(c):
            return True
        if self._moves(c):
            return False
        if self._witnessed(c):
            return False
        value = float(c @ self.x0)
        # One whole count (or, fractional, one count) above the true sum: not pinned.
        high = self._extreme(c, -1.0, value)
        if high >= value + 1.0 - _TOL:
            return False
        return _narrow(self._extreme(c, 1.0, value), high, self.integral)

    def range(self, c: np.ndarray) -> tuple[float, float]:
        """Least and greatest feasible ``c · x``, by linear programming (``inf`` if unbounded)."""
        value = float(c @ self.x0)
        if self.determined(c):
            return value, value
        return self._extreme(c, 1.0, value), self._extreme(c, -1.0, value)

    def _extreme(self, c: np.ndarray, sign: float, value: float) -> float:
        """The least (``sign`` 1) or greatest (-1) feasible ``c · x``; ``value`` if unsolved."""
        solver = self._model()
        cols = np.arange(len(self.keys), dtype=np.int32)
        solver.changeColsCost(len(cols), cols, sign * c)
        solver.run()
        self._lp_calls += 1
        status = solver.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            self._points.append(np.asarray(solver.getSolution().col_value, dtype=float))
            return sign * float(solver.getInfo().objective_function_value)
        if status in _UNBOUNDED:
            return -sign * math.inf
        return value  # cannot happen: the true counts are feasible

    def _model(self):
        """The reader's system as a HiGHS model (built once, re-solved per objective)."""
        if self._solver is not None:
            return self._solver
        n = len(self.keys)
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = len(self.rhs)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = self.lo.copy()
        lp.col_upper_ = np.where(np.isinf(self.hi), highspy.kHighsInf, self.hi)
        lp.row_lower_ = self.rhs.copy()
        lp.row_upper_ = self.rhs.copy()
        start, index, value = [0], [], []
        for j in range(n):
            rows = np.flatnonzero(self.matrix[:, j])
            index.extend(rows.tolist())
            value.extend(self.matrix[rows, j].tolist())
            start.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(start, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=float)
        # The bindings' own class: highspy.Highs adds callbacks and prints a banner.
        solver = highspy._core._Highs()
        solver.setOptionValue("output_flag", False)
        solver.passModel(lp)
        self._solver = solver
        return solver

    def _witnessed(self, c: np.ndarray) -> bool:
        """True when two solutions already found (the true counts and the optima of earlier
        programmes) give ``c · x`` values at least one count apart."""
        if len(self._points) < 2:
            return False
        sums = np.vstack(self._points) @ c
        return float(sums.max() - sums.min()) >= 1.0 - 1e-9

    def _moves(self, c: np.ndarray) -> bool:
        """True when some direction of the null space moves ``c · x`` by at least one
        count from the true counts without leaving the bounds (so it is not pinned)."""
        if self.null.shape[1] == 0:
            return False
        proj = self.null @ (self.null.T @ c)
        for d in (proj,):
            slope = float(c @ d)
            if abs(slope) < 1e-12:
                continue
            for sign in (1.0, -1.0):
                step = _max_step(self.x0, sign * d, self.lo, self.hi)
                if step * abs(slope) >= 1.0 - 1e-9:
                    return True
        return False

    # -- everything the policy forbids ---------------------------------------------------

    def exposures(
        self,
        *,
        sums: bool = True,
        first: bool = False,
        skip: Iterable[tuple] = (),
        limit: int | None = None,
    ) -> list[Exposure]:
        """Every combination a reader can pin down (see the module docstring).

        ``first``: stop at the first one found (``limit``: at that many). ``skip``: member
        tuples not to report.
        """
        skip = set(skip)
        limit = 1 if first else limit
        first = limit is not None
        out: list[Exposure] = []
        small = self._small
        for key in self.keys:
            i = self.col[key]
            if not self.linked[i] or self.withheld[key] == LATENT:
                continue
            c = np.zeros(len(self.keys))
            c[i] = 1.0
            hidden = self.withheld[key] == HIDDEN
            if (hidden and not small(self.x0[i])) or (key,) in skip:
                continue
            if self.withheld[key] == TABLE and self.x0[i] == 0:
                continue  # a zero withheld with its table: zeros are published anyway
            if self.pinned(c):
                out.append(Exposure((key,), float(self.x0[i])))
                if first and len(out) >= limit:
                    return out
        if not sums:
            return out
        seen: set[frozenset] = set()
        for index, (_, parts) in enumerate(self.constraints):
            members = [
                p for p in dict.fromkeys(parts) if p in self.col and self.withheld[p] != LATENT
            ]
            for combo in _subsets(members, self.values, self.min_count):
                if frozenset(combo) in seen or tuple(combo) in skip:
                    continue
                seen.add(frozenset(combo))
                c = self.vector(combo)
                value = float(c @ self.x0)
                if small(value) and self.pinned(c):
                    out.append(Exposure(tuple(combo), value, index))
                    if first and len(out) >= limit:
                        return out
        return out

    def _small(self, value: float) -> bool:
        return 0 < value < self.min_count - (1e-9 if not self.integral else 0)


def _subsets(members: Sequence[Hashable], values: Mapping, min_count: int) -> list[tuple]:
    """Sums of two or more of ``members`` that can add up to less than ``min_count``:
    the members with a value below ``min_count`` (others make the sum too big),
    smallest sums first, at most :data:`MAX_SUBSETS`."""
    small = [m for m in members if float(values[m]) < min_count]
    out: list[tuple] = []
    for size in range(2, len(small) + 1):
        for combo in itertools.combinations(small, size):
            if sum(float(values[m]) for m in combo) < min_count:
                out.append(combo)
                if len(out) >= MAX_SUBSETS:
                    return out
    return out


def _max_step(x0: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """The largest ``t >= 0`` with ``lo <= x0 + t d <= hi``."""
    step = math.inf
    up, down = d > 1e-12, d < -1e-12
    if up.any():
        step = min(step, float(((hi[up] - x0[up]) / d[up]).min()))
    if down.any():
        step = min(step, float(((lo[down] - x0[down]) / d[down]).min()))
    return max(step, 0.0)


def _narrow(low: float, high: float, integral: bool) -> bool:
    """True when ``[low, high]`` leaves one value: one whole number for whole-number counts,
    less than one count of room for fractional ones."""
    if math.isinf(high):
        return False
    if integral:
        return math.floor(high + _TOL) - math.ceil(low - _TOL) < 1
    return high - low < 1.0 - 1e-9


@dataclass(frozen=True)
class Linked:
    """Counts published together, as one audit knows them, for tables linked later.

    ``values`` every entry's true count, ``constraints`` the relations between them,
    ``reasons`` the withheld ones (with :data:`HIDDEN` for entries never published).
    A later table derived from the same records (per-site tables, a cross table) is
    protected with these entries fixed (:meth:`fixed`) and its own relations to them
    added, so that differencing it against these tables pins nothing.
    """

    values: Mapping[Hashable, float]
    constraints: tuple[Constraint, ...]
    reasons: Mapping[Hashable, str]

    def fixed(self) -> dict[Hashable, str | None]:
        """Every entry's state for :func:`eia.stats.disclosure.protect`'s ``fixed``."""
        return {k: self.reasons.get(k) for k in self.values}

    def value(self, key: Hashable) -> float | None:
        """An entry's count (None when there is no such entry)."""
        value = self.values.get(key)
        return None if value is None else float(value)
