"""flag_margins: rows computed in any order give the same margins, each flip naming the variation that changes a decision."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from eia.analysis.flags import flag_margins

_FLAG = st.sampled_from([True, False, None])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(_FLAG, st.lists(st.booleans(), min_size=3, max_size=3)), min_size=1, max_size=8
    ),
    st.randoms(use_true_random=False),
)
def test_rows_in_order_and_shuffled_give_the_same_margins(rows, rnd):
    base = pd.DataFrame(
        {
            "dimension": ["all"] + ["imd_quintile"] * (len(rows) - 1),
            "group": [f"g{i}" for i in range(len(rows))],
            "disproportionate": [flag for flag, _ in rows],
        }
    )
    variations = [({"threshold": "ratio", "value": v}, v) for v in range(3)]

    def varied(v: int) -> pd.DataFrame:
        out = base.copy()
        out["disproportionate"] = [flips[v] for _, flips in rows]
        return out

    def shuffled(v: int) -> pd.DataFrame:
        out = varied(v)
        return out.iloc[rnd.sample(range(len(out)), len(out))].reset_index(drop=True)

    in_order = flag_margins(varied, base, variations)
    by_key = flag_margins(shuffled, base, variations)
    pd.testing.assert_frame_equal(in_order, by_key)
    for i, (flag, flips) in enumerate(rows):
        expected = [{"threshold": "ratio", "value": v} for v in range(3) if flips[v] != bool(flag)]
        assert in_order["flag_flips"].iloc[i] == (expected if flag is not None else [])
        margin = in_order["flag_margin"].iloc[i]
        if flag is None:
            assert pd.isna(margin)
        else:
            assert margin == ("marginal" if expected else "clear")
