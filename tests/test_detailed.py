"""Detailed ethnic groups: NHS codes ↔ Census 2021, and suppression across detailed and broad tables."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eia import detailed, disclosure
from eia.area import ETHNIC_GROUPS
from eia.ethnicity import CATEGORIES, NHS_CODES


def frames(code_counts: dict[str, float], group_only: dict[str, float]):
    """ServiceData-like frames: by_lsoa_ethnic_code and by_lsoa_ethnicity for one LSOA."""
    by_code = pd.DataFrame(
        {
            "lsoa21_code": "E01000001",
            "ethnic_code": list(code_counts),
            "count": list(code_counts.values()),
        }
    )
    groups: dict[str, float] = {}
    for code, n in code_counts.items():
        g = NHS_CODES[code][1]
        groups[g] = groups.get(g, 0.0) + n
    for g, n in group_only.items():
        groups[g] = groups.get(g, 0.0) + n
    by_group = pd.DataFrame(
        {"lsoa21_code": "E01000001", "ethnic_group": list(groups), "count": list(groups.values())}
    )
    return by_code, by_group


def test_mapping_documents_where_nhs_and_census_differ():
    table = detailed.mapping_table().set_index("code")
    assert list(table.index) == list(NHS_CODES)
    assert "Gypsy or Irish Traveller" in table.loc["C", "census2021_categories"]
    assert "Roma" in table.loc["C", "difference"]
    assert table.loc["R", "census2021_group"] == "Asian, Asian British or Asian Welsh"
    assert "Arab" in table.loc["S", "difference"]
    assert table.loc["N", "difference"] == "same category"


def test_detailed_rows_add_up_to_the_broad_groups():
    by_code, by_group = frames({"M": 40, "N": 60, "H": 12, "J": 9, "A": 300, "Z": 7}, {ASIAN: 3})
    table = detailed.users_table(by_code, by_group)
    sums = table.groupby("broad_group")["count"].sum()
    broad = by_group.groupby("ethnic_group")["count"].sum()
    for g, n in broad.items():
        assert sums[g] == n
    only = table[table["label"] == f"{ASIAN}: {detailed.GROUP_ONLY}"]["count"].iloc[0]
    assert only == 3


ASIAN = ETHNIC_GROUPS[0]
codes = st.sampled_from([c for c in NHS_CODES if c != "99"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(codes, st.integers(min_value=0, max_value=25), min_size=1, max_size=8),
    st.dictionaries(st.sampled_from(list(ETHNIC_GROUPS)), st.integers(0, 6), max_size=2),
)
def test_suppression_holds_across_detailed_and_broad_tables(code_counts, group_only):
    min_count = 5
    by_code, by_group = frames(
        {k: float(v) for k, v in code_counts.items()}, {k: float(v) for k, v in group_only.items()}
    )
    table = detailed.users_table(by_code, by_group)
    # The broad table as eia.uptake publishes it: one-way, with its total.
    broad_counts = (
        table.groupby("broad_group")["count"].sum().reindex(list(CATEGORIES), fill_value=0)
    )
    broad = disclosure.suppress(
        pd.DataFrame({"group": broad_counts.index, "count": broad_counts.to_numpy()}), min_count
    )
    if broad.attrs["total_suppressed"]:
        return
    published = dict(zip(broad["group"], broad["suppressed"], strict=True))
    links = {g: (float(broad_counts[g]), published[g] is not None) for g in broad_counts.index}
    reasons = detailed.protect(table, links, min_count)
    # A reader knows: detailed rows, broad counts, and that both add up to the same total.
    values, withheld, constraints = {}, {}, []
    for i, (v, r) in enumerate(zip(table["count"], reasons, strict=True)):
        values[("d", i)] = float(v)
        if disclosure.is_small(v, min_count):
            assert r is not None  # primary suppression at the detailed level
        if r is not None:
            withheld[("d", i)] = r
    for g, (v, w) in links.items():
        values[("b", g)] = v
        if w:
            withheld[("b", g)] = published[g]
        rows = [("d", i) for i, b in enumerate(table["broad_group"]) if b == g]
        constraints.append((("b", g), rows))
    values["total"] = float(table["count"].sum())
    constraints.append(("total", [("b", g) for g in links]))
    constraints.append(("total", [("d", i) for i in range(len(table))]))
    bounds = disclosure.reader_bounds(values, withheld, min_count)
    exposed = disclosure.recoverable(values, constraints, withheld, bounds=bounds)
    assert all(values[k] == 0 and withheld[k] == disclosure.TABLE for k in exposed), exposed
