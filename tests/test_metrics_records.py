"""Rows of frames made from whole columns: metrics.json's records() and the ratings' row_tuples()."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from eia.assessment.metrics import records
from eia.jsonable import clean
from eia.report.ratings import row_tuples

floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none())


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 6).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "group": st.lists(st.sampled_from(["A", "B", None]), min_size=n, max_size=n),
                "people": st.lists(st.integers(-(10**9), 10**9), min_size=n, max_size=n),
                "share": st.lists(floats, min_size=n, max_size=n),
                "flag": st.lists(st.booleans(), min_size=n, max_size=n),
                "mixed": st.lists(
                    st.one_of(st.just(np.float64(1.5)), st.just(np.int64(3)), st.text(max_size=3)),
                    min_size=n,
                    max_size=n,
                ),
            }
        )
    )
)
def test_records_are_the_cleaned_rows_of_to_dict(columns):
    frame = pd.DataFrame(columns)
    frame["mixed"] = frame["mixed"].astype(object)
    assert records(frame) == clean(frame.to_dict(orient="records"))
    assert records(frame[[]]) == clean(frame[[]].to_dict(orient="records"))
    counts = frame.astype({"people": "Int64"})
    assert records(counts) == clean(counts.to_dict(orient="records"))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 5).flatmap(
        lambda n: st.fixed_dictionaries(
            {
                "group": st.lists(st.sampled_from(["A", "B"]), min_size=n, max_size=n),
                "burden_ratio": st.lists(floats, min_size=n, max_size=n),
                "residents": st.lists(st.integers(0, 10**6), min_size=n, max_size=n),
                "class": st.lists(st.booleans(), min_size=n, max_size=n),  # renamed: a keyword
            }
        )
    )
)
def test_row_tuples_are_itertuples(columns):
    frame = pd.DataFrame(columns)
    fast, plain = row_tuples(frame), list(frame.itertuples(index=False))
    assert [r._fields for r in fast] == [r._fields for r in plain]
    assert [tuple(map(repr, r)) for r in fast] == [tuple(map(repr, r)) for r in plain]
