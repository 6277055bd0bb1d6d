"""mark_risk: each impact row takes the concern and gap of its group's first row in its dimension's table."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from eia.analysis.uptake.gaps import mark_risk


def _one_row_at_a_time(impacts: pd.DataFrame, representation) -> pd.DataFrame:
    """The plain reading of the rule: filter the table for each row."""
    out = impacts.copy()
    at_risk, gaps = [], []
    for row in out.itertuples():
        table = representation.get(row.dimension)
        flag, gap = False, None
        if table is not None and "concern" in table:
            match = table[table["group"].astype(str) == str(row.group)]
            if len(match):
                flag, gap = bool(match["concern"].iloc[0]), match["gap"].iloc[0]
        at_risk.append(flag)
        gaps.append(gap)
    out["at_risk"], out["uptake_gap"] = at_risk, gaps
    return out


_GROUPS = st.sampled_from(["Q1", "Q2", "Q3", "White", "Asian", "1", "2"])
_ROW = st.tuples(_GROUPS, st.booleans(), st.sampled_from(["under", "over", None]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["imd_quintile", "ethnic_group", "age"]), _GROUPS)),
    st.lists(_ROW, max_size=6),
    st.lists(_ROW, max_size=6),
)
def test_the_same_as_filtering_row_by_row(impacts, quintiles, ethnic):
    frame = pd.DataFrame(impacts, columns=["dimension", "group"])
    representation = {
        "imd_quintile": pd.DataFrame(quintiles, columns=["group", "concern", "gap"]),
        "ethnic_group": pd.DataFrame(ethnic, columns=["group", "concern", "gap"]),
        "age": pd.DataFrame({"group": ["1"], "gap": ["under"]}),  # no concern column
    }
    pd.testing.assert_frame_equal(
        mark_risk(frame, representation), _one_row_at_a_time(frame, representation)
    )
