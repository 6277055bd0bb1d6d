"""Right for every population (issue 25): ages by the records' own age, distinct people per cell.

Every extract here is SYNTHETIC: generated in the test from a seeded random generator,
over a hand-made ten-LSOA "pack" (no reference data needed).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from eia import stats
from eia.analysis import uptake
from eia.service.load import load_service

CODES = [f"E010000{i:02d}" for i in range(1, 11)]
OUTSIDE = "E01000099"  # a real-looking code of another area
#: NHS ethnic category codes -> Census 2021 groups, written out here (not eia.ethnicity's table).
GROUP_OF = {
    "A": "White",
    "B": "White",
    "D": "Mixed or Multiple ethnic groups",
    "H": "Asian, Asian British or Asian Welsh",
    "J": "Asian, Asian British or Asian Welsh",
    "M": "Black, Black British, Black Welsh, Caribbean or African",
    "N": "Black, Black British, Black Welsh, Caribbean or African",
    "S": "Other ethnic group",
    "Z": "Not stated",
}
PERIOD = {"start": "2024-04-01", "end": "2025-03-31"}


def fake_pack():
    """Ten LSOA 2021 areas unchanged since 2011, plus one outside the assessment area."""
    codes = [*CODES, OUTSIDE]
    names = [f"Toy {i:03d}A" for i in range(len(codes))]
    lookup = pd.DataFrame({"lsoa21_code": codes, "lsoa21_name": names})
    lsoa11 = pd.DataFrame(
        {
            "lsoa11_code": codes,
            "lsoa11_name": names,
            "change_code": "U",
            "lsoa21_code": codes,
            "lsoa21_name": names,
        }
    )
    population = pd.Series(1500, index=codes)
    return SimpleNamespace(
        lookup=lambda: lookup, lsoa11_lookup=lambda: lsoa11, population=lambda: population
    )


def area() -> pd.DataFrame:
    deciles = np.arange(1, 11)
    return pd.DataFrame(
        {
            "lsoa21_code": CODES,
            "population": np.linspace(900, 1800, 10).round(),
            "imd_decile": deciles,
            "imd_quintile": (deciles + 1) // 2,
        }
    )


def ethnic_populations() -> pd.DataFrame:
    groups = sorted(set(GROUP_OF.values()) - {"Not stated"})
    return pd.DataFrame({g: 200.0 + 10 * i for i, g in enumerate(groups)}, index=CODES)


def synthetic_records(seed: int = 25, people: int = 400, blank_ages: int = 6) -> pd.DataFrame:
    """SYNTHETIC: people with 1-4 events each, mostly in one LSOA, one ethnic code each
    (a few with two), single years of age 0-99 that grow by a year for some events."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(people):
        home = rng.choice([*CODES, OUTSIDE, "NOT A CODE"], p=[0.09] * 10 + [0.06, 0.04])
        age = int(rng.integers(0, 100))
        code = rng.choice(list(GROUP_OF))
        for e in range(int(rng.integers(1, 5))):
            lsoa = home if rng.random() > 0.1 else rng.choice(CODES)  # some move
            eth = code if rng.random() > 0.05 else rng.choice(list(GROUP_OF))
            rows.append(
                {
                    "lsoa": lsoa,
                    "pid": f"P{p:04d}",
                    "age": str(age + (e if age in (16, 17, 18) else 0)),  # birthdays at 18
                    "eth": eth,
                    "sex": rng.choice(["M", "F"]),
                    "site": rng.choice(["North clinic", "South clinic"]),
                    "date": f"2024-{int(rng.integers(4, 13)):02d}-15",
                }
            )
    frame = pd.DataFrame(rows)
    frame.loc[frame.sample(blank_ages, random_state=seed).index, "age"] = ""
    return frame


COLUMNS = {
    "lsoa": "lsoa",
    "person": "pid",
    "age": "age",
    "ethnicity": "eth",
    "sex": "sex",
    "site": "site",
    "date": "date",
}


def load(frame: pd.DataFrame, tmp_path, columns=COLUMNS, ages=(18, None)):
    path = tmp_path / "synthetic.csv"
    frame.to_csv(path, index=False)
    spec = {"path": str(path), "columns": columns, "period": PERIOD, "synthetic": True}
    return load_service(spec, fake_pack(), CODES, ages=ages)


def adults(frame: pd.DataFrame) -> pd.DataFrame:
    age = pd.to_numeric(frame["age"], errors="coerce")
    return frame[(age >= 18) & frame["lsoa"].isin(CODES)].assign(
        group=lambda f: f["eth"].map(GROUP_OF)
    )


def test_rates_by_quintile_and_ethnic_counts_equal_a_direct_computation_from_adults(tmp_path):
    records = synthetic_records()
    service = load(records, tmp_path)
    the_area = area()
    result = uptake.compute(
        service, the_area, ethnic_populations(), min_count=1, period=PERIOD, ages=(18, None)
    )
    mine = adults(records)
    quintile = mine["lsoa"].map(the_area.set_index("lsoa21_code")["imd_quintile"])
    # distinct people per LSOA, summed over each quintile's LSOAs
    people = mine.groupby([quintile, "lsoa"])["pid"].nunique().groupby(level=0).sum()
    pops = the_area.groupby("imd_quintile")["population"].sum()
    table = result.by_imd_quintile.set_index("imd_quintile")
    assert table["count"].to_numpy() == pytest.approx(people.reindex(range(1, 6), fill_value=0))
    expected = people.reindex(range(1, 6), fill_value=0) / pops * 1000  # one year
    assert table["rate"].to_numpy() == pytest.approx(expected.to_numpy())
    by_group = mine.groupby(["group", "lsoa"])["pid"].nunique().groupby(level=0).sum()
    ethnic = result.by_ethnic_group.set_index("group")["count"]
    for group, count in by_group.items():
        assert ethnic[group] == count
        assert float(ethnic[group]).is_integer()  # whole people, never scaled
    # nobody under 18 is counted, and nobody of 18 or 19 is lost
    assert table["count"].sum() == mine.groupby("lsoa")["pid"].nunique().sum()
    ages = result.metrics()["uptake"]["ages"]
    assert ages == {"declared": [18, None], "covered": [18, None], "form": "single"}


def test_distinct_people_under_an_age_limit_equal_nunique_per_cell(tmp_path):
    records = synthetic_records(seed=7)
    service = load(records, tmp_path)
    mine = adults(records)
    by_lsoa = service.by_lsoa.set_index("lsoa21_code")["count"]
    expected = mine.groupby("lsoa")["pid"].nunique().reindex(CODES, fill_value=0)
    assert by_lsoa.to_dict() == expected.astype(float).to_dict()
    eth = service.by_lsoa_ethnicity.set_index(["lsoa21_code", "ethnic_group"])["count"]
    assert eth.to_dict() == mine.groupby(["lsoa", "group"])["pid"].nunique().astype(float).to_dict()
    band = (pd.to_numeric(mine["age"]) // 5 * 5).clip(upper=85).astype(int)
    band = band.map(lambda b: "85+" if b == 85 else f"{b}-{b + 4}")
    sex = mine["sex"].map({"M": "Male", "F": "Female"})
    age_sex = service.by_lsoa_age_sex.set_index(["lsoa21_code", "age_band", "sex"])["count"]
    direct = mine.groupby(["lsoa", band, sex])["pid"].nunique().astype(float)
    assert age_sex.to_dict() == direct.to_dict()
    site = service.by_site.set_index(["site", "lsoa21_code", "ethnic_group"])["count"]
    assert site.to_dict() == (
        mine.groupby(["site", "lsoa", "group"])["pid"].nunique().astype(float).to_dict()
    )


def _adult_records_everywhere(records: pd.DataFrame) -> pd.DataFrame:
    age = pd.to_numeric(records["age"], errors="coerce")
    return records[age >= 18]


def check_identities(records: pd.DataFrame, service) -> None:
    """The stated identities between the data-quality counts (docs/methods.md)."""
    q = service.quality
    parts = ("count_in_area", "count_outside_ages", "count_age_unknown")
    assert q["count_in_area_all_ages"] == pytest.approx(sum(q[k] for k in parts))
    read = q["count_in_area_all_ages"] + q["count_outside_area"] + q["count_unmatched"]
    assert q["count_read"] == pytest.approx(read)
    # count read: people per LSOA value, every age; people_distinct: each adult once
    assert q["count_read"] == records.groupby("lsoa", dropna=False)["pid"].nunique().sum()
    assert q["people_distinct"] == _adult_records_everywhere(records)["pid"].nunique()
    # a person seen in several LSOAs counts in each: the cells add up to at least the people
    assert service.by_lsoa["count"].sum() == q["count_in_area"]
    assert q["count_in_area"] >= adults(records)["pid"].nunique()
    assert q["count_in_area"] - adults(records)["pid"].nunique() == (
        adults(records).groupby("pid")["lsoa"].nunique().sub(1).sum()
    )


def test_count_read_and_in_area_add_up_for_distinct_people(tmp_path):
    records = synthetic_records(seed=11, blank_ages=60)
    service = load(records, tmp_path)
    check_identities(records, service)
    assert service.quality["count_age_unknown"] > 0 and service.quality["count_outside_ages"] > 0


@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # each example reads a file: no long shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), people=st.integers(5, 60), blanks=st.integers(0, 3))
def test_quality_identities_hold_for_any_synthetic_extract(tmp_path, seed, people, blanks):
    records = synthetic_records(seed=seed, people=people, blank_ages=blanks)
    check_identities(records, load(records, tmp_path))


def test_events_under_an_age_limit_come_from_the_records(tmp_path):
    records = synthetic_records(seed=3)
    columns = {k: v for k, v in COLUMNS.items() if k != "person"}
    service = load(records, tmp_path, columns=columns)
    mine = adults(records)
    eth = service.by_lsoa_ethnicity.set_index(["lsoa21_code", "ethnic_group"])["count"]
    assert eth.to_dict() == mine.groupby(["lsoa", "group"]).size().astype(float).to_dict()
    q = service.quality
    assert q["count_read"] == len(records)
    assert q["count_in_area"] == len(mine)
    assert q["count_age_unknown"] == (records["lsoa"].isin(CODES) & (records["age"] == "")).sum()


def test_an_extract_of_age_bands_is_restricted_on_its_band_edges(tmp_path):
    records = synthetic_records(seed=5)
    age = pd.to_numeric(records["age"], errors="coerce")
    start = (age // 5 * 5).clip(upper=85)
    records["age"] = [
        "" if pd.isna(s) else ("85+" if s == 85 else f"{int(s)}-{int(s) + 4}") for s in start
    ]
    service = load(records, tmp_path)
    q = service.quality
    assert q["age_form"] == "bands" and q["ages_effective"] == [20, None]
    kept = records[(start >= 20) & records["lsoa"].isin(CODES)]
    assert q["count_in_area"] == kept.groupby("lsoa")["pid"].nunique().sum()
    # 15-19 lies partly below 18: its records are outside the ages, not counted
    teens = records[(start == 15) & records["lsoa"].isin(CODES)]
    assert len(teens) and q["count_outside_ages"] > 0
    ages = uptake.ages_restriction(q)
    assert ages == {"declared": [18, None], "covered": [20, None], "form": "bands"}


def test_hand_made_people_counts_are_not_scaled_to_an_age_range():
    by_age = pd.DataFrame(
        {"lsoa21_code": CODES[:2], "age_band": ["15-19", "20-24"], "count": [3.0, 4.0]}
    )
    service = SimpleNamespace(
        label="toy",
        synthetic=True,
        by_lsoa=pd.DataFrame({"lsoa21_code": CODES[:2], "count": [3.0, 4.0]}),
        by_lsoa_ethnicity=pd.DataFrame(
            {"lsoa21_code": CODES[:2], "ethnic_group": ["White", "White"], "count": [3.0, 4.0]}
        ),
        by_lsoa_age_sex=by_age,
        quality={"counting": "events"},
        columns={"lsoa": "x"},
    )
    with pytest.raises(Exception, match="must come from the records"):
        uptake.restrict_to_ages(service, (18, None))


def test_rate_interval_is_the_documented_one(tmp_path):
    """The quintile rate's limits are eia.stats.rate_ci's on the directly counted adults."""
    records = synthetic_records(seed=19)
    result = uptake.compute(load(records, tmp_path), area(), min_count=1, period=PERIOD)
    row = result.by_imd_quintile.iloc[0]
    _, lower, upper = stats.rate_ci(row["count"], row["population"], multiplier=1000)
    assert (row["lower"], row["upper"]) == pytest.approx((lower, upper))


# Period checked against the data ---------------------------------------------------------------


def test_a_declared_period_longer_than_the_data_is_warned_about_by_name_and_dates():
    from eia.analysis import guards
    from eia.report.wording import warning_text

    quality = {"date_first": "2023-04-03", "date_last": "2024-03-28"}
    two_years = {"start": "2023-04-01", "end": "2025-03-31"}
    found = uptake.period_beyond_data(two_years, quality)
    assert found["after"] and not found["before"]  # 2 days early is within the tolerance
    warning = guards.period_beyond_data(found)
    assert warning.kind == "period_beyond_data" and warning.where == "service.period"
    assert warning.figures == {
        "start": "2023-04-01",
        "end": "2025-03-31",
        "before": False,
        "after": True,
        "data_first": "2023-04",
        "data_last": "2024-03",
        "days": 31,
    }
    text = warning_text(warning)  # the analyst's words: the params key and the dates
    assert text.startswith("service.period (2023-04-01 to 2025-03-31) ends more than 31 days")
    # a single record's date is never quoted: only its month, in either audience's words
    for words in (text, warning_text(warning, analyst=False)):
        assert "2023-04-03" not in words and "2024-03-28" not in words
        assert "3 April 2023" not in words and "28 March 2024" not in words
    # within the documented tolerance at both ends: no warning
    one_year = {"start": "2023-04-01", "end": "2024-03-31"}
    assert uptake.period_beyond_data(one_year, quality) is None
    edge = uptake.PERIOD_TOLERANCE_DAYS
    day = pd.Timestamp("2024-03-28")
    late = {"start": "2023-04-01", "end": str((day + pd.Timedelta(days=edge)).date())}
    assert uptake.period_beyond_data(late, quality) is None
    later = {"start": "2023-04-01", "end": str((day + pd.Timedelta(days=edge + 1)).date())}
    assert uptake.period_beyond_data(later, quality)["after"]
    early = {"start": "2023-02-01", "end": "2024-03-31"}
    figures = guards.period_beyond_data(uptake.period_beyond_data(early, quality)).figures
    assert figures["before"] and not figures["after"]
    # no declared period, or no dates: nothing to check
    assert uptake.period_beyond_data(None, quality) is None
    assert uptake.period_beyond_data(two_years, {}) is None


def test_the_period_states_the_declared_dates_and_the_data_months():
    span = uptake.resolve_period(
        {"start": "2023-04-01", "end": "2025-03-31"},
        {"date_first": "2023-04-03", "date_last": "2024-03-28"},
    )
    assert (span["start"], span["end"], span["years"]) == ("2023-04-01", "2025-03-31", 2.0)
    assert (span["data_first"], span["data_last"]) == ("2023-04", "2024-03")
    from eia.report import sections

    text = sections.data_dates_sentence(span)
    assert "April 2023" in text and "March 2024" in text and "3 April" not in text


# Service changes rate only what they touch -----------------------------------------------------

SERVICE_CHANGE = """\
id: t
title: t
template: service_change
area: {ltla: [E06000018]}
groups: [rurality]
effects:
  - {dimension: age, group: "75 and over", uptake_change_pct: -15, rationale: "app-first"}
"""


@pytest.mark.refdata
def test_a_declared_age_effect_is_rated_with_residents_and_a_disproportion_test(pack):
    import yaml

    from eia import params
    from eia.assessment import assess, metrics
    from eia.report import sections

    proposal = params.parse(yaml.safe_load(SERVICE_CHANGE))
    a = assess(proposal, pack=pack)
    age = a.rated.impacts[a.rated.impacts["dimension"] == "age"].set_index("group")
    assert list(age.index) == ["75 and over"]  # the other ages are not assessed, not neutral
    row = age.loc["75 and over"]
    # residents aged 75+: the pack's single years by LSOA, scaled to Census 2021 totals
    codes = list(a.area.lsoas["lsoa21_code"])
    years = pack.population_by_age().reindex(codes).fillna(0.0)
    columns = [f"age_{y}" for y in range(90)] + ["age_90_plus"]
    old = [f"age_{y}" for y in range(75, 90)] + ["age_90_plus"]
    scale = a.area.lsoas.set_index("lsoa21_code")["population"] / years[columns].sum(axis=1)
    expected = (years[old].sum(axis=1) * scale).sum()
    assert row["population"] == int(expected)
    assert row["rating"] == "negative"
    assert row["rest_change_pct"] == 0.0  # the other ages: no effect declared, so unchanged
    assert row["disproportionate"] is True or row["disproportionate"] == True  # noqa: E712
    assert row["difference_pct_points"] == pytest.approx(-15.0)
    skipped = a.rated.not_assessed
    assert {"imd_quintile", "ethnic_group", "rurality"} <= set(skipped["dimension"])
    assert ("age", "Other ages") in set(zip(skipped["dimension"], skipped["group"], strict=True))
    assert not (a.rated.impacts["rating"] == "neutral").any()  # nobody declared neutral
    out = metrics(a)
    assert len(out["not_assessed"]) == len(skipped)
    words = sections.not_assessed_sentence(a)
    assert words.count("Rurality") == 1 and "Other ages" in words


def test_an_effect_on_a_group_not_opted_into_is_refused_in_one_line():
    import yaml

    from eia import params
    from eia.errors import ParamsError

    text = SERVICE_CHANGE.replace("groups: [rurality]", "groups: []") + (
        '  - {dimension: religion, group: "Christian", uptake_change_pct: -5}\n'
    )
    with pytest.raises(ParamsError) as caught:
        params.parse(yaml.safe_load(text))
    message = str(caught.value)
    assert "effects[1]" in message and "groups" in message and "religion" in message
    outside = SERVICE_CHANGE + "population: {ages: [18, 64]}\n"
    with pytest.raises(ParamsError, match="outside population.ages"):
        params.parse(yaml.safe_load(outside))
    overlap = SERVICE_CHANGE + '  - {dimension: age, group: "80+", uptake_change_pct: -5}\n'
    with pytest.raises(ParamsError, match="overlaps"):
        params.parse(yaml.safe_load(overlap))
    with pytest.raises(ParamsError, match="an age group is written like"):
        params.parse(yaml.safe_load(SERVICE_CHANGE.replace("75 and over", "old people")))


# Ratings on standardised rates ------------------------------------------------------------------


def test_quintile_and_core20_ratings_use_age_standardised_rates_where_there_are_dsrs():
    """SYNTHETIC: the most deprived LSOAs are young, the least deprived old, and use rises
    with age, so crude rates understate the gap the age-standardised ones show."""
    from eia.assessment import representation_tables
    from eia.population import ages

    bands = list(stats.ESP2013_AGE_BANDS[:17]) + ["85+"]
    the_area = area()
    young = the_area["imd_quintile"] <= 2
    rng = np.random.default_rng(2)
    single = pd.DataFrame(
        [
            np.r_[np.full(45, 30.0), np.full(46, 5.0)]
            if y
            else np.r_[np.full(45, 8.0), np.full(46, 25.0)]
            for y in young
        ],
        index=pd.Index(CODES, name="lsoa21_code"),
        columns=[f"age_{a}" for a in range(90)] + ["age_90_plus"],
    )
    pops = ages.band_populations(
        single, CODES, scale_to=the_area.set_index("lsoa21_code")["population"]
    )
    rows = []
    for code in CODES:
        for b in bands:
            low = int(b.rstrip("+").split("-")[0])
            rate = 0.002 * (1 + low / 10) * (1.6 if young[CODES.index(code)] else 1.0)
            size = pops.loc[code].get(b, pops.loc[code, ["85-89", "90+"]].sum())
            rows.append((code, b, "F", float(rng.poisson(rate * size * 20))))
    by_age = pd.DataFrame(rows, columns=["lsoa21_code", "age_band", "sex", "count"])
    counts = by_age.groupby("lsoa21_code")["count"].sum().reindex(CODES)
    toy = SimpleNamespace(
        label="toy (synthetic)",
        synthetic=True,
        by_lsoa=pd.DataFrame({"lsoa21_code": CODES, "count": counts.to_numpy()}),
        by_lsoa_ethnicity=None,
        by_lsoa_age_sex=by_age,
        quality={"count_in_area": float(counts.sum())},
        columns={"lsoa": "x"},
    )
    result = uptake.compute(toy, the_area, age_populations=pops, min_count=1)
    assert result.dsr_area is not None
    tables = representation_tables(result)
    quint = tables["imd_quintile"].set_index("group")
    q = result.by_imd_quintile.set_index("group")
    for group in quint.index:
        assert quint.loc[group, "basis"] == "age-standardised"
        assert quint.loc[group, "representation"] == pytest.approx(
            q.loc[group, "dsr"] / result.dsr_area["dsr"]
        )
        assert quint.loc[group, "representation_upper"] == pytest.approx(
            q.loc[group, "dsr_upper"] / result.dsr_area["dsr"]
        )
        # crude stays visible beside it
        crude = (q.loc[group, "count"] / q["count"].sum()) / (
            q.loc[group, "population"] / q["population"].sum()
        )
        assert quint.loc[group, "crude_representation"] == pytest.approx(crude)
    first = quint.index[0]
    assert quint.loc[first, "representation"] > quint.loc[first, "crude_representation"]
    assert set(tables["core20"]["basis"]) == {"age-standardised"}
    audit = uptake.rate_representation(tables)
    assert set(audit.loc[audit["dimension"] == "imd_quintile", "basis"]) == {"age-standardised"}
    assert set(audit["basis"]) == {"age-standardised"}


def test_without_dsrs_ratings_stay_crude_and_say_so():
    from eia.analysis import impact

    table = pd.DataFrame(
        {
            "group": ["a", "b"],
            "count": [10.0, 30.0],
            "population": [100.0, 100.0],
            "dsr": [5.0, None],
        }
    )
    out = impact.standardised_representation(table, {"dsr": 4.0})
    assert set(out["basis"]) == {"crude"}  # one group lacks a DSR: all crude, like for like
    assert out["representation"].tolist() == pytest.approx([0.5, 1.5])


# Reallocated ethnicity: intervals widened for the reallocation ----------------------------------


def test_reallocation_inflation_matches_a_simulation_of_the_reallocated_count():
    """SYNTHETIC: Poisson counts per quintile and group; the delta-method standard error of
    the reallocated count agrees with the simulated one to within 10%."""
    from eia.analysis.uptake.ethnic import _reallocated, reallocation_inflation
    from eia.population.area import ETHNIC_GROUPS

    groups = [*ETHNIC_GROUPS, "Not stated", "Not known"]
    the_area = area()
    codes = the_area.groupby("imd_quintile")["lsoa21_code"].first()
    means = np.array(
        [[300, 40, 25, 10, 8, 60, 20], [200, 60, 30, 15, 5, 90, 10], [400, 20, 10, 5, 5, 30, 5]]
        + [[250, 30, 40, 20, 10, 45, 15], [350, 10, 5, 5, 2, 25, 5]],
        float,
    )

    def rows(counts):
        return pd.DataFrame(
            [(codes[q + 1], g, counts[q, j]) for q in range(5) for j, g in enumerate(groups)],
            columns=["lsoa21_code", "ethnic_group", "count"],
        )

    rng = np.random.default_rng(25)
    draws = np.array(
        [_reallocated(rows(rng.poisson(means)), the_area).to_numpy() for _ in range(800)]
    )
    expected = rows(means)
    factor = reallocation_inflation(expected, the_area)
    adjusted = _reallocated(expected, the_area)
    predicted = factor.to_numpy() * np.sqrt(adjusted.to_numpy())
    assert draws.std(axis=0) == pytest.approx(predicted, rel=0.1)
    assert (factor > 1).all()  # the reallocation adds uncertainty to every group


def test_adjusted_ethnic_limits_are_widened_and_observed_ones_are_not():
    from eia.population.area import ETHNIC_GROUPS

    the_area = area()
    rows = [
        (code, g, 20.0 + 5 * i)
        for code in CODES
        for i, g in enumerate([*ETHNIC_GROUPS, "Not stated"])
    ]
    eth = pd.DataFrame(rows, columns=["lsoa21_code", "ethnic_group", "count"])
    table = uptake.ethnic_table(eth, ethnic_populations(), area=the_area).set_index("group")
    for group in ETHNIC_GROUPS:
        row = table.loc[group]
        _, lower, upper = stats.rate_ci(row["adjusted_count"], row["population"], multiplier=1000)
        assert row["adjusted_upper"] > upper and row["adjusted_lower"] < lower
        _, lower, upper = stats.rate_ci(row["count"], row["population"], multiplier=1000)
        assert (row["lower"], row["upper"]) == pytest.approx((lower, upper))


@pytest.mark.refdata
def test_an_extract_of_bands_is_compared_with_residents_of_the_same_ages(pack, tmp_path):
    """SYNTHETIC records in age bands for Nottingham; population 18+: records of 15-19 are left
    out and the residents they are compared with are those aged 20 and over."""
    import yaml

    from eia import params
    from eia.assessment import assess
    from eia.population.area import build_area

    codes = list(build_area(pack, {"ltla": ["E06000018"]})["lsoa21_code"])
    rng = np.random.default_rng(9)
    bands = ["15-19", "20-24", "25-34", "35-64", "65+"]
    frame = pd.DataFrame(
        {
            "lsoa": rng.choice(codes, 3000),
            "age": rng.choice(bands, 3000),
            "date": "2024-06-01",
        }
    )
    frame.to_csv(tmp_path / "bands.csv", index=False)
    text = f"""\
id: bands
title: bands (synthetic)
template: equity_audit
area: {{ltla: [E06000018]}}
population: {{ages: [18, null]}}
service:
  path: {tmp_path / "bands.csv"}
  columns: {{lsoa: lsoa, age: age, date: date}}
  period: {{start: 2024-04-01, end: 2025-03-31}}
  synthetic: true
"""
    proposal = params.parse(yaml.safe_load(text), base=tmp_path)
    a = assess(proposal, pack=pack)
    q = a.uptake.service.quality
    assert q["age_form"] == "bands" and q["ages_effective"] == [20, None]
    assert q["count_in_area"] == (frame["age"] != "15-19").sum()
    assert q["count_outside_ages"] == (frame["age"] == "15-19").sum()
    # residents aged 20+ (the pack's single years, scaled to Census 2021 totals)
    years = pack.population_by_age().reindex(codes).fillna(0.0)
    columns = [f"age_{y}" for y in range(90)] + ["age_90_plus"]
    adults = [f"age_{y}" for y in range(20, 90)] + ["age_90_plus"]
    census = pack.population().reindex(codes)
    expected = (years[adults].sum(axis=1) / years[columns].sum(axis=1) * census).sum()
    got = a.uptake.result.by_imd_quintile["population"].sum()
    assert got == pytest.approx(expected, abs=5)  # each quintile rounded to whole residents
    assert a.uptake.result.published.uptake["ages"]["covered"] == [20, None]
