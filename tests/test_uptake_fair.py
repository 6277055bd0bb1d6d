"""Uptake measured fairly (issue 13): per year, people or events, age-standardised, material gaps."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from eia import stats
from eia.analysis import impact, uptake
from eia.population import ages
from eia.population.area import ETHNIC_GROUPS
from eia.population.ethnicity import NOT_STATED
from eia.report import sections

CODES = [f"E0100{i:04d}" for i in range(20)]
BANDS = ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44"]
BANDS += ["45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+"]


def area():
    deciles = np.repeat(np.arange(1, 11), 2)
    return pd.DataFrame(
        {
            "lsoa21_code": CODES,
            "population": 1800,
            "imd_decile": deciles,
            "imd_quintile": (deciles + 1) // 2,
        }
    )


def service(counts, *, columns=None, quality=None, by_age=None, counting=None):
    return SimpleNamespace(
        label="toy",
        synthetic=True,
        by_lsoa=pd.DataFrame({"lsoa21_code": CODES, "count": np.asarray(counts, float)}),
        by_lsoa_ethnicity=None,
        by_lsoa_age_sex=by_age,
        quality={"count_in_area": float(np.sum(counts)), **(quality or {})},
        columns=columns or {"lsoa": "x"},
        **({"counting": counting} if counting else {}),
    )


COUNTS = np.repeat([120, 100, 80, 60, 50, 40, 40, 30, 30, 20], 2).astype(float)


def test_two_year_extract_gives_per_year_rates_of_half_the_counts():
    two_years = {"start": "2023-04-01", "end": "2025-03-31"}
    assert uptake.years_between(dt.date(2023, 4, 1), dt.date(2025, 3, 31)) == 2.0
    result = uptake.compute(service(COUNTS), area(), period=two_years, min_count=1)
    q = result.by_imd_quintile.set_index("imd_quintile")
    for _level, row in q.iterrows():
        assert row["rate"] == pytest.approx(row["count"] / 2 / row["population"] * 1000)
        assert row["count_per_year"] == pytest.approx(row["count"] / 2)
    # the interval is that of the two-year count, scaled to a year
    assert q.loc[1, "count"] == 440 and q.loc[1, "population"] == 7200
    rate, lower, upper = stats.rate_ci(440, 7200 * 2, multiplier=1000)
    assert (q.loc[1, "lower"], q.loc[1, "upper"]) == pytest.approx((lower, upper))
    up = result.metrics()["uptake"]
    assert up["unit"] == "per 1,000 residents per year"
    assert up["period"] == {
        "start": "2023-04-01",
        "end": "2025-03-31",
        "years": 2.0,
        "source": "params",
        "data_first": None,  # the extract's own dates (none in this toy service)
        "data_last": None,
    }
    assert "per year" in sections.uptake_headline(result)
    assert "per year" in " ".join(sections.uptake_table(result, "by_imd_quintile").frame.columns)


def test_period_from_extract_dates_or_assumed():
    span = uptake.resolve_period(None, {"date_first": "2024-01-01", "date_last": "2024-06-30"})
    assert span["source"] == "extract dates" and span["years"] == pytest.approx(182 / 366)
    assumed = uptake.resolve_period(None, {})
    assert assumed["years"] == 1.0 and assumed["source"] == "assumed"


def test_people_or_events_labelling():
    events = uptake.compute(service(COUNTS), area(), min_count=1)
    assert events.metrics()["uptake"]["counting"] == "events"
    assert (
        " events " in sections.uptake_headline(events)
        and events.published.notes["counting"] == "events"
    )
    assert "Events" in sections.uptake_table(events, "by_imd_quintile").frame.columns
    people = uptake.compute(
        service(COUNTS, columns={"lsoa": "x", "person": "pid"}), area(), min_count=1
    )
    assert people.metrics()["uptake"]["counting"] == "people"
    assert " people " in sections.uptake_headline(people)
    assert "People" in sections.uptake_table(people, "by_imd_quintile").frame.columns


def _age_frames(seed=3):
    rng = np.random.default_rng(seed)
    by_age = pd.DataFrame(
        [(c, b, "F", float(rng.integers(0, 9))) for c in CODES for b in BANDS],
        columns=["lsoa21_code", "age_band", "sex", "count"],
    )
    single = pd.DataFrame(
        rng.integers(5, 30, size=(len(CODES), 91)).astype(float),
        index=pd.Index(CODES, name="lsoa21_code"),
        columns=[f"age_{a}" for a in range(90)] + ["age_90_plus"],
    )
    return by_age, single


def phe_dsr(x, n, w, multiplier):
    """PHEindicatormethods::calculate_dsr's formulas, written out independently."""
    x, n, w = (np.asarray(v, float) for v in (x, n, w))
    total = x.sum()
    value = (x * w / n).sum() / w.sum() * multiplier
    var = (x * (w / n) ** 2).sum() / w.sum() ** 2
    z = sps.norm.ppf(0.975)
    o_lo = total * (1 - 1 / (9 * total) - z / (3 * np.sqrt(total))) ** 3
    o_hi = (total + 1) * (1 - 1 / (9 * (total + 1)) + z / (3 * np.sqrt(total + 1))) ** 3
    spread = np.sqrt(var / total) * multiplier
    return value, value + spread * (o_lo - total), value + spread * (o_hi - total)


def test_dsr_by_quintile_matches_phe_and_the_sii_uses_it():
    by_age, single = _age_frames()
    the_area = area()
    pops = ages.band_populations(
        single, CODES, scale_to=the_area.set_index("lsoa21_code")["population"]
    )
    counts = by_age.groupby("lsoa21_code")["count"].sum().reindex(CODES).to_numpy()
    result = uptake.compute(
        service(counts, by_age=by_age),
        the_area,
        age_populations=pops,
        period={"start": "2024-01-01", "end": "2025-12-31"},
        min_count=1,
    )
    esp = np.array([*stats.ESP2013[:17], stats.ESP2013[17:].sum()])  # 85-89 and 90+ as "85+"
    pops85 = pops.copy()
    pops85["85+"] = pops85.pop("85-89") + pops85.pop("90+")
    q = the_area.set_index("lsoa21_code")["imd_quintile"]
    table = result.by_imd_quintile.set_index("imd_quintile")
    for level in range(1, 6):
        mine = by_age[by_age["lsoa21_code"].map(q) == level].groupby("age_band")["count"].sum()
        x = mine.reindex(BANDS).to_numpy()
        n = pops85[q[pops85.index] == level].sum().reindex(BANDS).to_numpy()
        value, lower, upper = phe_dsr(x, n, esp, 1000)
        row = table.loc[level]
        assert (row["dsr"], row["dsr_lower"], row["dsr_upper"]) == pytest.approx(
            (value / 2, lower / 2, upper / 2), rel=1e-9
        )
    assert result.sii["standardised"] is True
    deciles = result.by_imd_decile
    direct = stats.sii(
        deciles["imd_decile"],
        deciles["population"],
        deciles["dsr"],
        lower_cl=deciles["dsr_lower"],
        upper_cl=deciles["dsr_upper"],
        value_type="rate",
        repetitions=100_000,
        seed=uptake._SII_SEED,
    )
    assert result.sii["sii"] == pytest.approx(direct["sii"])
    assert result.sii["gradient"] in ("none", "more_deprived", "less_deprived")
    rows = result.metrics()["uptake"]["by_imd_decile"]
    assert all({"dsr", "dsr_lower", "dsr_upper"} <= set(r) for r in rows)


def test_no_dsr_below_ten_events():
    by_age, single = _age_frames()
    by_age.loc[by_age["lsoa21_code"].isin(CODES[18:]), "count"] = 0.0
    by_age.loc[(by_age["lsoa21_code"] == CODES[19]) & (by_age["age_band"] == "40-44"), "count"] = 9
    pops = ages.band_populations(single, CODES)
    counts = by_age.groupby("lsoa21_code")["count"].sum().reindex(CODES).to_numpy()
    result = uptake.compute(
        service(counts, by_age=by_age), area(), age_populations=pops, min_count=1
    )
    d10 = result.by_imd_decile.set_index("imd_decile").loc[10]
    assert d10["dsr_count"] == 9 and pd.isna(d10["dsr"])
    assert result.sii["standardised"] is False and "crude" in result.sii["note"]


@given(
    st.floats(0.9, 1.1),
    st.floats(0.01, 5),
    st.floats(0.01, 5),
    st.sampled_from(["better", "worse"]),
)
def test_nothing_inside_the_material_band_is_flagged(value, a, b, direction):
    lower, upper = min(a, b, value), max(a, b, value)
    flags = uptake.gap_flags(value, lower, upper, higher_use_is=direction)
    assert flags["gap"].iloc[0] is None and not flags["concern"].iloc[0]


def test_the_white_case_of_the_issue_is_not_flagged():
    # representation 0.992 (95% CI 0.986 to 0.998): significant, immaterial
    flags = uptake.gap_flags([0.992, 0.85, 1.2], [0.986, 0.80, 1.15], [0.998, 0.90, 1.25])
    assert list(flags["gap"]) == [None, "under", "over"]
    assert list(flags["concern"]) == [False, True, False]


def _representation_tables():
    table = pd.DataFrame(
        {
            "group": ["Under", "Slightly under", "Over"],
            "count": [300.0, 1880.0, 2820.0],
            "population": [20000, 40000, 40000],
        }
    )
    return {"imd_quintile": impact.representation(table)}


def test_higher_use_is_worse_reverses_the_direction():
    tables = _representation_tables()
    better = uptake.rate_representation(tables, higher_use_is="better").set_index("group")
    worse = uptake.rate_representation(tables, higher_use_is="worse").set_index("group")
    rep = better["representation"]
    assert rep["Under"] < 0.9 and 0.9 < rep["Slightly under"] < 1 and rep["Over"] > 1.1
    assert (
        better.loc["Under", "rating"] == "negative" and better.loc["Over", "rating"] == "positive"
    )
    assert worse.loc["Under", "rating"] == "positive" and worse.loc["Over", "rating"] == "negative"
    for frame in (better, worse):
        # a difference (its interval excludes 1), but inside the material band: no gap
        assert frame.loc["Slightly under", "rating"] == "neutral"
        assert frame.loc["Slightly under", "representation_upper"] < 1
        assert pd.isna(frame.loc["Slightly under", "gap"])
    assert worse.loc["Over", "gap"] == "over" and better.loc["Under", "gap"] == "under"


def test_reallocating_not_stated_within_quintiles():
    the_area = area()
    rows = []
    for code, q in zip(CODES, the_area["imd_quintile"], strict=True):
        rows += [(code, "White", 20.0), (code, ETHNIC_GROUPS[0], 10.0)]
        rows.append((code, NOT_STATED, 15.0 if q == 1 else 1.5))
    eth = pd.DataFrame(rows, columns=["lsoa21_code", "ethnic_group", "count"])
    pops = pd.DataFrame({g: 300 for g in ETHNIC_GROUPS}, index=CODES)
    table = uptake.ethnic_table(eth, pops, area=the_area, years=1.0).set_index("group")
    total = eth["count"].sum()
    stated = table.loc[list(ETHNIC_GROUPS), "adjusted_count"]
    assert stated.sum() == pytest.approx(total)  # nothing lost
    assert table.loc["White", "adjusted_count"] == pytest.approx(total * 2 / 3)
    assert table.loc["White", "rate"] < table.loc["White", "adjusted_rate"]  # observed: lower bound
    comp = uptake.completeness_table(eth, the_area).set_index("group")
    assert comp.loc["Q1 (most deprived)", "completeness"] == pytest.approx(30 / 45)
    warnings = uptake.completeness_warnings(comp.reset_index())
    by_code = {w["code"]: w for w in warnings}
    assert by_code["completeness_low"]["threshold"] == pytest.approx(0.9)
    assert by_code["completeness_low"]["overall"] < 0.9
    gap = by_code["completeness_gap"]
    assert gap["low"] == pytest.approx(30 / 45) and gap["high"] - gap["low"] > gap["gap"]


def test_population_of_interest_restricts_counts_and_denominators():
    by_age, single = _age_frames()
    counts = by_age.groupby("lsoa21_code")["count"].sum().reindex(CODES).to_numpy()
    restricted = uptake.restrict_to_ages(service(counts, by_age=by_age), (15, 44))
    inside = by_age[by_age["age_band"].isin(BANDS[3:9])]["count"].sum()
    assert restricted.by_lsoa["count"].sum() == pytest.approx(inside)
    assert restricted.quality["count_outside_ages"] == pytest.approx(counts.sum() - inside)
    assert uptake.restrict_to_ages(restricted, (15, 44)) is restricted  # applied once
    share = ages.share_in_ages(single, CODES, (15, 44))
    cols = [f"age_{a}" for a in range(15, 45)]
    assert share.iloc[0] == pytest.approx(single.iloc[0][cols].sum() / single.iloc[0].sum())
    bands = ages.band_populations(single, CODES, ages=(15, 44))
    assert list(bands.columns) == BANDS[3:9]


def test_person_column_counts_distinct_people_through_the_aggregation(pack, notts_area, tmp_path):
    from eia.service.load import load_service

    codes = list(notts_area["lsoa21_code"])
    rows = []
    for i in range(60):  # 60 people, each with 3 events in one LSOA of the area
        code = codes[i % 30]
        rows += [(code, f"P{i:03d}", f"2024-0{m}-01") for m in (4, 6, 9)]
    frame = pd.DataFrame(rows, columns=["lsoa", "pid", "date"])
    path = tmp_path / "repeat.csv"
    frame.to_csv(path, index=False)
    spec = {"path": str(path), "columns": {"lsoa": "lsoa", "person": "pid", "date": "date"}}
    people = load_service(spec, pack, codes)
    events = load_service({**spec, "columns": {"lsoa": "lsoa", "date": "date"}}, pack, codes)
    area = notts_area[notts_area["lsoa21_code"].isin(codes)]
    period = {"start": "2024-04-01", "end": "2025-03-31"}
    by_people = uptake.compute(people, area, min_count=1, period=period)
    by_events = uptake.compute(events, area, min_count=1, period=period)
    assert by_people.metrics()["uptake"]["counting"] == "people"
    assert by_events.metrics()["uptake"]["counting"] == "events"
    assert by_people.by_imd_quintile["count"].sum() == 60
    assert by_events.by_imd_quintile["count"].sum() == 180
    assert "People" in sections.uptake_table(by_people, "by_imd_quintile").frame.columns
    assert "Events" in sections.uptake_table(by_events, "by_imd_quintile").frame.columns


def test_ethnic_groups_are_age_standardised_with_supplied_denominators(tmp_path):
    rng = np.random.default_rng(5)
    bands = BANDS[3:9]  # 15-19 ... 40-44
    rows = [
        (c, g, b, "F", float(rng.integers(0, 6)))
        for c in CODES
        for g in ETHNIC_GROUPS
        for b in BANDS
    ]
    by_age = pd.DataFrame(rows, columns=["lsoa21_code", "ethnic_group", "age_band", "sex", "count"])
    denominators = pd.DataFrame(
        [(g, b, float(rng.integers(500, 900))) for g in ETHNIC_GROUPS for b in BANDS[:17]]
        + [(g, "85-89", 100.0) for g in ETHNIC_GROUPS]
        + [(g, "90+", 50.0) for g in ETHNIC_GROUPS],
        columns=["ethnic_group", "age_band", "population"],
    )
    path = tmp_path / "eth_age.csv"
    denominators.to_csv(path, index=False)
    wide = uptake.read_ethnicity_by_age(path)
    eth = by_age.groupby(["lsoa21_code", "ethnic_group"], as_index=False)["count"].sum()
    svc = service(by_age.groupby("lsoa21_code")["count"].sum().reindex(CODES), by_age=by_age)
    svc.by_lsoa_ethnicity = eth
    pops = pd.DataFrame({g: 300 for g in ETHNIC_GROUPS}, index=CODES)
    result = uptake.compute(svc, area(), pops, ethnicity_by_age=wide, ages=(15, 44), min_count=1)
    table = result.by_ethnic_group.set_index("group")
    esp = stats.ESP2013[3:9]
    for group in ETHNIC_GROUPS:
        mine = by_age[by_age["ethnic_group"] == group].groupby("age_band")["count"].sum()
        n = denominators[denominators["ethnic_group"] == group].set_index("age_band")["population"]
        value, lower, upper = phe_dsr(mine.reindex(bands), n.reindex(bands), esp, 1000)
        assert (table.loc[group, "dsr"], table.loc[group, "dsr_upper"]) == pytest.approx(
            (value, upper)
        )
    up = result.metrics()["uptake"]
    assert up["ethnic_standardised"] is True and up["ethnic_by_age_supplied"] is True
    bad = tmp_path / "bad.csv"
    bad.write_text("ethnic_group,age_band,population\nWhite,15-19,-3\n", encoding="utf-8")
    with pytest.raises(Exception, match="row 1: population"):
        uptake.read_ethnicity_by_age(bad)


def test_population_of_interest_restricts_access_denominators(pack, notts_area):
    from eia import assessment, params

    codes = list(notts_area["lsoa21_code"])[:12]
    base = {
        "id": "ages",
        "title": "Illustrative: ages",
        "template": "site_change",
        "area": {"lsoa": codes},
        "sites": {
            "current": [{"name": "A", "lat": 52.95, "lon": -1.15}],
            "proposed": [{"name": "B", "lat": 53.0, "lon": -1.2}],
        },
    }
    everyone = assessment.assess(params.parse(base), pack=pack)
    older = assessment.assess(params.parse({**base, "population": {"ages": [65, None]}}), pack=pack)
    share = ages.share_in_ages(pack.population_by_age(), codes, (65, None))
    expected = everyone.area.lsoas.set_index("lsoa21_code")["population"] * share
    got = older.area.lsoas.set_index("lsoa21_code")["population"]
    assert got.to_numpy() == pytest.approx(expected.reindex(got.index).to_numpy())
    assert older.area.weights["ethnic_group"].sum().sum() == pytest.approx(got.sum())
    quint = older.access.summaries["Proposed"]["imd_quintile"]
    groups = quint[quint["group"] != "All people"]
    assert groups["population"].sum() == pytest.approx(got.sum(), abs=1)
    assert params.parse({**base, "population": {"ages": [65, None]}}).population.name == (
        "residents aged 65 and over"
    )


def test_gaps_table_says_no_gap_never_nan():
    """A group without a material gap reads "no" (a missing flag once printed "nan-represented")."""
    reps = pd.DataFrame(
        {
            "group": ["White", "Asian, Asian British or Asian Welsh", "Other ethnic group"],
            "user_share": [0.8, 0.1, 0.1],
            "population_share": [0.8, 0.15, 0.05],
            "representation": [1.0, 0.67, 2.0],
            "representation_lower": [0.98, 0.6, 1.8],
            "representation_upper": [1.02, 0.74, 2.2],
            "gap": pd.Series([np.nan, "under", "over"], dtype=object),
            "concern": [False, True, False],
        }
    )
    a = SimpleNamespace(
        uptake=SimpleNamespace(
            result=SimpleNamespace(
                material_band=(0.9, 1.1), higher_use_is="better", population="residents"
            )
        )
    )
    shown = sections.gaps_table(a, reps).parts[-1].frame["Material gap"].tolist()
    assert shown == ["of concern: under-represented", "no", "over-represented"]
