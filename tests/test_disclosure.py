"""Disclosure control: primary and secondary suppression, audited independently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from eia.stats.disclosure import (
    PRIMARY,
    SECONDARY,
    TABLE,
    display,
    is_small,
    label,
    policy_statement,
    protect,
    recoverable,
    suppress,
    suppress_two_way,
)


def audit(values, constraints, reasons, min_count):
    """Independent check: the withheld entries whose value a reader can pin down.

    The reader knows the published values, the relations (total = sum of parts),
    that a "<m" count is in 1..m-1 (or (0, m) for fractional counts) and that a
    "*" count is at least m. For each withheld entry, minimise and maximise it by
    linear programming; equal bounds mean it is recoverable.
    """
    hidden = [k for k in values if k in reasons]
    if not hidden:
        return []
    integral = all(float(v).is_integer() for v in values.values())
    index = {k: i for i, k in enumerate(hidden)}
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
    if not a_eq:
        return []
    bounds = []
    for key in hidden:
        if reasons[key] == PRIMARY:
            bounds.append((1, min_count - 1) if integral else (0, min_count))
        elif reasons[key] == SECONDARY:
            bounds.append((min_count, None))
        else:  # withheld with its whole table: only known to be at least 0
            bounds.append((0, None))
    pinned = []
    for key, i in index.items():
        c = np.zeros(len(hidden))
        c[i] = 1
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert lo.status == 0, "the true values must be feasible"
        if hi.status == 3:  # unbounded above: certainly not pinned
            continue
        if -hi.fun - lo.fun < 1e-6:
            pinned.append(key)
    return pinned


def one_way(counts):
    values = {i: float(c) for i, c in enumerate(counts)}
    values["total"] = float(sum(counts))
    return values, [("total", list(range(len(counts))))]


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


# Examples ---------------------------------------------------------------------------------


def test_small_counts_are_withheld_and_zeros_shown():
    table = pd.DataFrame({"group": list("abcd"), "count": [3, 0, 12, 40], "rate": [1, 0, 2, 3.0]})
    out = suppress(table)
    assert out["count"].tolist() == [None, 0, None, 40]
    assert out["rate"].tolist() == [None, 0, None, 3.0]
    assert out["suppressed"].tolist() == [PRIMARY, None, SECONDARY, None]


def test_one_suppressed_cell_takes_the_next_smallest_with_it():
    out = suppress(pd.DataFrame({"count": [2, 50, 9, 30, 0]}))
    assert out["suppressed"].tolist() == [PRIMARY, None, SECONDARY, None, None]


def test_no_secondary_suppression_without_a_total():
    out = suppress(pd.DataFrame({"count": [2, 50, 9]}), total=False)
    assert out["suppressed"].tolist() == [PRIMARY, None, None]


def test_secondary_is_chosen_so_bounds_do_not_give_the_count_away():
    # 1 ("<5") + 5 ("*", so at least 5) = 6 would pin both; 7 does not.
    out = suppress(pd.DataFrame({"count": [1, 5, 7, 100]}))
    assert out["suppressed"].tolist() == [PRIMARY, None, SECONDARY, None]


def test_two_small_counts_adding_to_a_tell_tale_total_withhold_the_total():
    # 4 + 4 = 8 and both are "<5": the total would show both are 4.
    out = suppress(pd.DataFrame({"count": [4, 4, 0]}))
    assert out["suppressed"].tolist() == [PRIMARY, PRIMARY, None]
    assert out.attrs["total_suppressed"] == SECONDARY


def test_labels_that_give_counts_away_withhold_the_whole_table():
    # "<3", "<3" and a total "<3": both cells must be 1. Everything is withheld as "*".
    out = suppress(pd.DataFrame({"count": [1, 1, 0]}), min_count=3)
    assert out["suppressed"].tolist() == [TABLE, TABLE, TABLE]
    assert out.attrs["total_suppressed"] == TABLE
    assert display(out, 3)["count"].tolist() == ["*", "*", "*"]


def test_fractional_counts_below_min_count_are_withheld():
    assert is_small(0.4) and is_small(4.99) and not is_small(5) and not is_small(0)
    out = suppress(pd.DataFrame({"count": [0.4, 12.5, 6.25, 30.0]}))
    assert out["suppressed"].tolist()[0] == PRIMARY
    assert out["count"].tolist()[3] == 30.0


def test_two_way_table_uses_a_rectangle():
    table = pd.DataFrame([[3, 10, 20], [12, 15, 30], [40, 2, 50]], columns=list("xyz"))
    published, why = suppress_two_way(table)
    withheld = {(r, c) for r in why.index for c in why.columns if why.at[r, c]}
    assert withheld == {(0, "x"), (0, "y"), (2, "x"), (2, "y")}
    assert published.at["Total", "Total"] == table.to_numpy().sum()
    assert published.at[0, "x"] is None


def test_labels_and_statement():
    assert label(3, PRIMARY) == "<5"
    assert label(12, SECONDARY) == "*"
    assert label(1234, None) == "1,234"
    assert label(12.345, None) == "12.3"
    assert label(3, PRIMARY, 10) == "<10"
    assert policy_statement(5) == {"min_count": 5, "small": "<5", "secondary": "*"}
    assert policy_statement(10)["small"] == "<10"
    with pytest.raises(ValueError, match="min_count"):
        policy_statement(0)


def test_display_replaces_withheld_values():
    out = display(suppress(pd.DataFrame({"count": [3, 50, 9], "rate": [0.1, 0.2, 0.3]})))
    assert out["count"].tolist() == ["<5", "50", "*"]
    assert out["rate"].tolist() == ["–", 0.2, "–"]
    assert "suppressed" not in out


def test_recoverable_finds_a_lone_withheld_cell():
    values, constraints = one_way([3, 10, 20])
    assert recoverable(values, constraints, [0]) == [0]
    assert recoverable(values, constraints, [0, 1]) == []


def test_linked_tables_are_protected_together():
    # Deciles add up to quintiles: a small decile must not be recoverable from its quintile.
    deciles = {("d", i): v for i, v in enumerate([3, 40, 25, 30], start=1)}
    quintiles = {("q", 1): 43.0, ("q", 2): 55.0}
    values = {**deciles, **quintiles, "total": 98.0}
    constraints = [
        (("q", 1), [("d", 1), ("d", 2)]),
        (("q", 2), [("d", 3), ("d", 4)]),
        ("total", [("q", 1), ("q", 2)]),
        ("total", list(deciles)),
    ]
    reasons = protect(values, constraints, 5)
    assert reasons[("d", 1)] == PRIMARY
    assert audit(values, constraints, reasons, 5) == []


# Properties -------------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=40)
settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_
@given(st.lists(counts, min_size=1, max_size=8), st.sampled_from([3, 5, 10]))
def test_one_way_property(cells, min_count):
    values, constraints = one_way(cells)
    reasons = protect(values, constraints, min_count)
    published = [v for k, v in values.items() if k not in reasons]
    assert not any(0 < v < min_count for v in published)
    assert audit(values, constraints, reasons, min_count) == []


@settings_
@given(
    st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(st.lists(counts, min_size=c, max_size=c), min_size=r, max_size=r)
        )
    )
)
def test_two_way_property(rows):
    values, constraints = two_way(rows)
    reasons = protect(values, constraints, 5)
    published = [v for k, v in values.items() if k not in reasons]
    assert not any(0 < v < 5 for v in published)
    assert audit(values, constraints, reasons, 5) == []


@settings_
@given(
    st.lists(st.floats(0, 30, allow_nan=False).map(lambda x: round(x, 2)), min_size=2, max_size=6)
)
def test_fractional_one_way_property(cells):
    values, constraints = one_way(cells)
    values["total"] = round(values["total"], 6)
    reasons = protect(values, constraints, 5)
    published = [v for k, v in values.items() if k not in reasons]
    assert not any(0 < v < 5 for v in published)
    assert audit(values, constraints, reasons, 5) == []


@settings_
@given(st.lists(counts, min_size=3, max_size=3).map(lambda r: r), st.integers(2, 4))
def test_suppress_frame_property(cells, extra):
    table = pd.DataFrame({"count": cells + [extra * 7]})
    out = suppress(table)
    shown = [c for c in out["count"] if c is not None]
    assert not any(0 < c < 5 for c in shown)
    values, constraints = one_way(table["count"].tolist())
    reasons = {i: r for i, r in enumerate(out["suppressed"]) if r}
    if out.attrs["total_suppressed"]:
        reasons["total"] = out.attrs["total_suppressed"]
    assert audit(values, constraints, reasons, 5) == []
