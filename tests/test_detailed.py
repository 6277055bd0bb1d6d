"""Detailed ethnic groups: NHS codes ↔ Census 2021, and suppression across detailed and broad tables."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eia.analysis import ethnic_codes as detailed
from eia.population.area import ETHNIC_GROUPS
from eia.population.ethnicity import CATEGORIES, NHS_CODES
from eia.stats import disclosure


def frames(code_counts: dict[str, float], group_only: dict[str, float]):
    """ServiceData-like frames: by_lsoa_ethnic_code and by_lsoa_ethnicity for one LSOA."""
    # Values naming only a broad group carry no code (None), as ServiceData keeps them.
    by_code = pd.DataFrame(
        {
            "lsoa21_code": "E01000001",
            "ethnic_code": [*code_counts, *([None] * len(group_only))],
            "count": [*code_counts.values(), *group_only.values()],
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
    # The broad table as eia.analysis.uptake publishes it: one-way, with its total.
    broad_counts = (
        table.groupby("broad_group")["count"].sum().reindex(list(CATEGORIES), fill_value=0)
    )
    broad = disclosure.suppress(
        pd.DataFrame({"group": broad_counts.index, "count": broad_counts.to_numpy()}), min_count
    )
    assume(not broad.attrs["total_suppressed"])  # nothing would be published
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


def test_detailed_rates_and_representation_with_census_detailed_populations():
    from types import SimpleNamespace

    census = pd.DataFrame(
        {
            "lsoa21_code": "E01000001",
            "ethnic_group_detailed": [
                "Black, Black British, Black Welsh, Caribbean or African: African",
                "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
                "White: Other White",
                "White: Gypsy or Irish Traveller",
                "White: Roma",
                "Other ethnic group: Arab",
            ],
            "n": [2000, 1000, 500, 300, 200, 1000],
        }
    )
    pops = detailed.census_populations(census, ["E01000001"])
    assert pops["N"] == 2000 and pops["M"] == 1000
    assert pops["C"] == 1000  # Other White + Gypsy or Irish Traveller + Roma
    assert pops["S"] == 1000  # Arab is under NHS S
    by_code, by_group = frames({"N": 40.0, "M": 10.0, "C": 30.0, "S": 20.0}, {})
    service = SimpleNamespace(by_lsoa_ethnic_code=by_code, by_lsoa_ethnicity=by_group)
    broad_counts = by_group.groupby("ethnic_group")["count"].sum()
    broad = pd.DataFrame({"group": broad_counts.index, "count": broad_counts.to_numpy()})
    table = detailed.published(service, broad, 5, populations=pops).set_index("code")
    # 40 African users per 2,000 African residents = 20 per 1,000.
    assert table.loc["N", "rate"] == 20.0 and table.loc["N", "lower"] < 20 < table.loc["N", "upper"]
    # Share of users 40/100 over share of residents 2000/5000: representation 1.0.
    assert abs(table.loc["N", "representation"] - 1.0) < 1e-9
    assert abs(table.loc["M", "representation"] - 0.5) < 1e-9
