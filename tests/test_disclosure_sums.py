"""Suppression that holds for sums: no sum of withheld cells of one row or column is pinned
to a small count (issue 25.5), checked by an independent linear-programming audit."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from eia.stats.disclosure import PRIMARY, SECONDARY, protect, suppress_two_way


def feasible_range(values, constraints, reasons, min_count, members):
    """Least and greatest value of the sum of ``members`` (withheld entries) that a reader
    of the published entries, the relations and the labels can find, by linear programming."""
    hidden = [k for k in values if k in reasons]
    index = {k: i for i, k in enumerate(hidden)}
    integral = all(float(v).is_integer() for v in values.values())
    a_eq, b_eq = [], []
    for total, parts in constraints:
        row = np.zeros(len(hidden))
        rhs = 0.0
        for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if key in index:
                row[index[key]] += sign
            else:
                rhs -= sign * values[key]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    bounds = []
    for key in hidden:
        if reasons[key] == PRIMARY:
            bounds.append((1, min_count - 1) if integral else (0, min_count))
        elif reasons[key] == SECONDARY:
            bounds.append((min_count, None))
        else:
            bounds.append((0, None))
    c = np.zeros(len(hidden))
    for m in members:
        c[index[m]] = 1.0
    if not a_eq:
        return -math.inf, math.inf
    lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    assert lo.status == 0, "the true values must be feasible"
    return lo.fun, (math.inf if hi.status == 3 else -hi.fun)


def pinned_small_sums(values, constraints, reasons, min_count):
    """Every sum of two or more withheld parts of one relation that a reader can pin to a
    value from 1 to ``min_count - 1`` (whole counts: one whole number left; fractional:
    less than one count of room)."""
    integral = all(float(v).is_integer() for v in values.values())
    out = []
    for _, parts in constraints:
        withheld = [p for p in parts if p in reasons]
        for size in range(2, len(withheld) + 1):
            for combo in itertools.combinations(withheld, size):
                lo, hi = feasible_range(values, constraints, reasons, min_count, combo)
                if math.isinf(hi) or hi >= min_count or lo <= 0:
                    continue
                one = math.floor(hi + 1e-7) - math.ceil(lo - 1e-7) < 1 if integral else hi - lo < 1
                if one:
                    out.append(combo)
    return out


def two_way(rows):
    values, constraints = {}, []
    n_r, n_c = len(rows), len(rows[0])
    for i in range(n_r):
        for j in range(n_c):
            values[(i, j)] = float(rows[i][j])
    for i in range(n_r):
        values[(i, "T")] = sum(values[(i, j)] for j in range(n_c))
        constraints.append(((i, "T"), [(i, j) for j in range(n_c)]))
    for j in [*range(n_c), "T"]:
        values[("T", j)] = sum(values[(i, j)] for i in range(n_r))
        constraints.append((("T", j), [(i, j) for i in range(n_r)]))
    return values, constraints


def test_two_small_counts_whose_sum_the_total_gives_take_a_third_cell():
    # 2 + 2 + 10 + 20 = 34: withholding only the two 2s publishes their sum, 4.
    values = {0: 2.0, 1: 2.0, 2: 10.0, 3: 20.0, "total": 34.0}
    constraints = [("total", [0, 1, 2, 3])]
    reasons = protect(values, constraints, 5)
    assert reasons == {0: PRIMARY, 1: PRIMARY, 2: SECONDARY}
    assert pinned_small_sums(values, constraints, reasons, 5) == []
    # The old policy (single cells only) left the sum pinned: the audit can tell.
    assert pinned_small_sums(values, constraints, {0: PRIMARY, 1: PRIMARY}, 5) == [(0, 1)]


def test_fractional_sum_of_two_withheld_cells_in_a_row_is_not_pinned():
    # Issue 25: Black Q4 + Q5 worked out at 3.78 from the margins (fractional counts from
    # LSOA 2011 apportioning): the two cells must not be the only ones withheld in the row.
    rows = [
        [40.5, 60.25, 55.0, 1.6, 2.18],
        [120.0, 150.5, 170.25, 160.0, 140.0],
        [30.0, 25.0, 20.0, 35.5, 40.0],
    ]
    table = __import__("pandas").DataFrame(rows)
    published, why = suppress_two_way(table)
    values, constraints = two_way(rows)
    reasons = {
        (i if i != "Total" else "T", j if j != "Total" else "T"): r
        for i in why.index
        for j, r in why.loc[i].items()
        if r is not None
    }
    assert reasons[(0, 3)] == PRIMARY and reasons[(0, 4)] == PRIMARY
    assert pinned_small_sums(values, constraints, reasons, 5) == []
    assert pinned_small_sums(values, constraints, {(0, 3): PRIMARY, (0, 4): PRIMARY}, 5)


small_counts = st.one_of(st.integers(0, 4), st.integers(0, 40))
settings_ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_
@given(
    st.integers(2, 5).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(
                st.lists(small_counts, min_size=c, max_size=c), min_size=r, max_size=r
            )
        )
    )
)
def test_no_sum_of_withheld_cells_in_a_row_or_column_is_pinned_to_a_small_count(rows):
    values, constraints = two_way(rows)
    reasons = protect(values, constraints, 5)
    assert not any(0 < v < 5 for k, v in values.items() if k not in reasons)
    assert pinned_small_sums(values, constraints, reasons, 5) == []


@settings_
@given(
    st.lists(
        st.lists(
            st.floats(0, 12, allow_nan=False).map(lambda x: round(x, 2)), min_size=3, max_size=3
        ),
        min_size=2,
        max_size=3,
    )
)
def test_fractional_sums_are_not_pinned(rows):
    values, constraints = two_way(rows)
    values = {k: round(v, 6) for k, v in values.items()}
    reasons = protect(values, constraints, 5)
    assert pinned_small_sums(values, constraints, reasons, 5) == []
