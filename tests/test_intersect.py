"""Ethnicity × deprivation, language and rurality: totals, an independent check, linked suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eia.analysis import ethnicity_deprivation as intersect
from eia.assessment import profile_by_quintile
from eia.findings.intersection import concentration, heaviest_burden
from eia.population import proficiency as language
from eia.population.area import ETHNIC_GROUPS, build_area, group_populations
from eia.stats import disclosure

NOTTS = {"icb": "E54000060"}


@pytest.fixture(scope="module")
def notts(pack):
    area = build_area(pack, NOTTS)
    codes = list(area["lsoa21_code"])
    return area, codes, group_populations(pack, codes)


def test_area_table_sums_to_group_and_quintile_totals(notts):
    area, _, ethnic = notts
    table = intersect.area_table(area, ethnic)
    assert len(table) == 25 and set(table["imd_quintile"]) == {1, 2, 3, 4, 5}
    by_group = table.groupby("ethnic_group")["population"].sum()
    assert by_group.reindex(list(ETHNIC_GROUPS)).tolist() == ethnic.sum().astype(int).tolist()
    by_quint = table.groupby("imd_quintile")["population"].sum()
    assert by_quint.tolist() == profile_by_quintile(area)["population"].tolist()
    shares = table.groupby("ethnic_group")["share_of_group"].sum()
    assert np.allclose(shares, 1.0)


def test_core20_table_and_finding(notts):
    area, _, ethnic = notts
    core = intersect.core20_table(area, ethnic)
    everyone = core.set_index("ethnic_group").loc["All residents"]
    assert everyone["core20"] == area.loc[area["core20"], "population"].sum()
    assert everyone["population"] == area["population"].sum()
    long = intersect.area_table(area, ethnic)
    q1 = long[long["imd_quintile"] == 1].set_index("ethnic_group")["population"]
    # Core20 is IMD quintile 1 (deciles 1-2).
    assert (
        core.set_index("ethnic_group")["core20"]
        .drop("All residents")
        .equals(q1.reindex(core["ethnic_group"][:-1]).astype("int64"))
    )
    found = concentration(core)
    assert found.code == "most_concentrated" and found.ethnic_group.startswith("Black")
    black = core.set_index("ethnic_group").loc[found.ethnic_group]
    assert found.figures["group_share"] == pytest.approx(black["share_core20"])
    assert found.figures["relative_to_white"] == pytest.approx(black["relative_to_white"])
    assert found.figures["relative_to_white"] > 1


def test_access_table_splits_each_group_between_core20_and_rest(notts, pack):
    from eia.analysis import access

    area, _, ethnic = notts
    current = access.resolve_sites(pack, [{"hospital": "King's Mill Hospital"}])
    proposed = access.resolve_sites(pack, [{"name": "Hub", "lat": 52.95, "lon": -1.15}])
    distances = access.measure(area, current, proposed)
    table = intersect.access_table(distances, area, ethnic, 5.0)
    assert len(table) == 10
    totals = table.groupby("ethnic_group")["population"].sum()
    assert np.allclose(totals.reindex(list(ETHNIC_GROUPS)), ethnic.sum().to_numpy(), atol=1)
    assert set(table["core20"]) == {intersect.CORE20, intersect.REST}


def test_language_equals_an_independent_computation(refdata_dir, notts, pack):
    """MSOAs nest in local authorities, so a whole ICB's figure is the sum of its MSOAs'."""
    _, codes, _ = notts
    frame = language.by_lsoa(pack, codes)
    got = language.summary(frame)
    lookup = pq.read_table(refdata_dir / "lsoa21_msoa21_lookup.parquet").to_pandas()
    msoas = set(lookup.loc[lookup["lsoa21_code"].isin(codes), "msoa21_code"])
    # Every LSOA of those MSOAs is in the area (whole MSOAs).
    assert set(lookup.loc[lookup["msoa21_code"].isin(msoas), "lsoa21_code"]) == set(codes)
    prof = pq.read_table(refdata_dir / "census2021_proficiency_msoa21.parquet").to_pandas()
    prof = prof[prof["msoa21_code"].isin(msoas)]
    cannot = int((prof["cannot_speak_english_well"] + prof["cannot_speak_english"]).sum())
    residents = int(prof["total_residents_3plus"].sum())
    assert got["cannot_speak_english_well_or_at_all"] == pytest.approx(cannot, abs=1e-6)
    assert (
        got["cannot_speak_english_well"] == got["cannot_speak_english_well_or_at_all"]
    )  # deprecated
    assert got["residents_3plus"] == pytest.approx(residents, abs=1e-6)
    assert got["share"] == pytest.approx(cannot / residents)
    # Within an MSOA every LSOA carries the MSOA's share.
    spread = frame.groupby("msoa21_code")["share"].agg(lambda s: s.max() - s.min())
    assert spread.max() < 1e-12


def test_language_weights_split_residents(notts, pack):
    _, codes, _ = notts
    w = group_populations(pack, codes, "language")
    frame = language.by_lsoa(pack, codes)
    assert list(w.columns) == list(language.GROUPS)
    assert np.allclose(w.sum(axis=1), frame["residents_3plus"])


def test_rurality_dimension(notts, pack):
    area, codes, _ = notts
    w = group_populations(pack, codes, "rurality")
    assert list(w.columns) == ["Urban", "Rural"]
    assert (w.sum(axis=1).to_numpy() == area["population"].to_numpy()).all()
    assert ((w["Urban"] == 0) | (w["Rural"] == 0)).all()
    assert w["Rural"].sum() > 0


# ---------------------------------------------------------------------------
# Linked suppression: the cross table never gives away what the one-way tables withhold.

counts = st.integers(min_value=0, max_value=30)


@st.composite
def crosses(draw):
    rows = draw(st.integers(min_value=2, max_value=4))
    cols = draw(st.integers(min_value=2, max_value=4))
    values = draw(st.lists(counts, min_size=rows * cols, max_size=rows * cols))
    grid = pd.DataFrame(
        np.array(values, dtype=float).reshape(rows, cols),
        index=[f"g{i}" for i in range(rows)],
        columns=list(range(1, cols + 1)),
    )
    return grid


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crosses())
def test_cross_table_suppression_holds_with_the_linked_tables(cross):
    min_count = 5
    # The one-way tables (by ethnic group, by quintile) protected on their own, linked by
    # their common total, as eia.analysis.uptake publishes them.
    one_way = {("row", r): float(cross.loc[r].sum()) for r in cross.index}
    one_way |= {("col", c): float(cross[c].sum()) for c in cross.columns}
    one_way[("total",)] = float(cross.to_numpy().sum())
    links = [
        (("total",), [("row", r) for r in cross.index]),
        (("total",), [("col", c) for c in cross.columns]),
    ]
    margin_reasons = disclosure.protect(one_way, links, min_count)
    assume(("total",) not in margin_reasons)  # nothing of the cross table would be published
    rows = {r: (one_way[("row", r)], ("row", r) in margin_reasons) for r in cross.index}
    cols = {c: (one_way[("col", c)], ("col", c) in margin_reasons) for c in cross.columns}
    reasons = intersect.protect_linked(cross, rows, cols, min_count)
    values = dict(one_way)
    withheld = dict(margin_reasons)
    constraints = list(links)
    for r in cross.index:
        for c in cross.columns:
            values[(r, c)] = float(cross.at[r, c])
            if disclosure.is_small(values[(r, c)], min_count):
                assert (r, c) in reasons  # primary suppression
            if (r, c) in reasons:
                withheld[(r, c)] = reasons[(r, c)]
    constraints += [(("row", r), [(r, c) for c in cross.columns]) for r in cross.index]
    constraints += [(("col", c), [(r, c) for r in cross.index]) for c in cross.columns]
    bounds = disclosure.reader_bounds(values, withheld, min_count)
    exposed = disclosure.recoverable(values, constraints, withheld, bounds=bounds)
    # Nothing withheld in the cross table or the linked tables can be worked out
    # (a cross table withheld whole may pin its zeros, which discloses nobody).
    assert all(values[k] == 0 and withheld[k] == disclosure.TABLE for k in exposed), exposed


def test_burden_table_uses_the_judgement_measures_per_group_and_core20(notts, pack):
    from eia.analysis import access
    from eia.params import Thresholds

    area, _, ethnic = notts
    current = access.resolve_sites(pack, [{"hospital": "King's Mill Hospital"}])
    proposed = access.resolve_sites(pack, [{"name": "Hub", "lat": 52.95, "lon": -1.15}])
    distances = access.measure(area, current, proposed)
    table = intersect.burden_table(distances, area, ethnic, Thresholds())
    assert len(table) == 10
    totals = table.groupby("ethnic_group")["residents"].sum()
    assert np.allclose(totals.reindex(list(ETHNIC_GROUPS)), ethnic.sum().to_numpy())
    assert (table["further"] <= table["residents"] + 1e-9).all()
    assert set(table["rating"]) <= {"positive", "neutral", "negative", "mixed", "not rated"}
    # Moving the only site from Mansfield into Nottingham brings most Core20 residents nearer.
    found = heaviest_burden(table)
    rated = table[table["rating"] != "not rated"]
    assert found.code == "heaviest" and found.option is None
    assert found.figures["added_per_resident"] == pytest.approx(rated["added_per_resident"].max())
