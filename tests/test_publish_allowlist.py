"""Only declared columns are published: eia.stats.disclosure.PUBLISHED and the one gate, publishable.

Every table eia publishes from service data is declared column by column (key, count,
derived, public) and passes through :func:`eia.stats.disclosure.publishable` before the report
or metrics.json shows it. These tests attack that: a new, undeclared column stops the
run; random small extracts never publish a count of 1-4 nor a rate, ratio or share of a
withheld count; and every table of a real example's metrics.json and report is declared.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eia.analysis import ethnic_codes as detailed
from eia.analysis import ethnicity_deprivation as intersect
from eia.analysis import uptake
from eia.population.area import ETHNIC_GROUPS
from eia.population.ethnicity import NHS_CODES
from eia.stats import disclosure
from eia.stats.disclosure import PUBLISHED, REASON, Publishable, UnpublishableError, publishable

MIN = 5
CODES = [f"E0100{i:04d}" for i in range(20)]


def toy_area() -> pd.DataFrame:
    """Twenty LSOAs, two per national IMD decile."""
    deciles = np.repeat(np.arange(1, 11), 2)
    return pd.DataFrame(
        {
            "lsoa21_code": CODES,
            "population": 1500,
            "imd_decile": deciles,
            "imd_quintile": (deciles + 1) // 2,
        }
    )


def toy_populations() -> pd.DataFrame:
    return pd.DataFrame({g: [300] * len(CODES) for g in ETHNIC_GROUPS}, index=CODES)


def toy_service(cells: dict[tuple[int, str], int], outside: int = 0, unmatched: int = 0):
    """A service extract of ``{(lsoa index, NHS ethnic code): count}``, as ServiceData holds it."""
    by_code = pd.DataFrame(
        [
            {"lsoa21_code": CODES[i], "ethnic_code": c, "count": float(n)}
            for (i, c), n in cells.items()
        ],
        columns=["lsoa21_code", "ethnic_code", "count"],
    )
    by_group = (
        by_code.assign(ethnic_group=by_code["ethnic_code"].map(lambda c: NHS_CODES[c][1]))
        .groupby(["lsoa21_code", "ethnic_group"], as_index=False)["count"]
        .sum()
    )
    by_lsoa = (
        by_code.groupby("lsoa21_code")["count"].sum().reindex(CODES, fill_value=0.0).reset_index()
    )
    in_area = float(by_lsoa["count"].sum())
    read = in_area + outside + unmatched
    return SimpleNamespace(
        label="toy (synthetic)",
        synthetic=True,
        by_lsoa=by_lsoa,
        by_lsoa_ethnicity=by_group,
        by_lsoa_ethnic_code=by_code,
        quality={
            "records_read": read,
            "count_read": read,
            "count_in_area": in_area,
            "count_outside_area": float(outside),
            "count_unmatched": float(unmatched),
            "count_converted_from_2011": 0.0,
            "unmatched_examples": [],
        },
        columns={"lsoa": "x", "ethnicity": "y"},
    )


def assert_declared_and_safe(name: str, table: pd.DataFrame | list[dict]) -> None:
    """Every column declared for ``name``; no count of 1-4; nothing derived from a withheld row."""
    spec = PUBLISHED[name]
    frame = pd.DataFrame(table)
    undeclared = set(frame.columns) - set(spec.columns)
    assert not undeclared, f"{name}: undeclared {sorted(undeclared)}"
    for column in spec.counts:
        if column in frame:
            assert not any(disclosure.is_small(v, MIN) for v in frame[column]), (name, column)
    if REASON not in frame:
        return
    withheld = frame[frame[REASON].notna()]
    for column in (*spec.counts, *spec.derived):
        if column in withheld:
            assert withheld[column].isna().all(), f"{name}: {column} of a withheld count shown"


# The gate itself ---------------------------------------------------------------------------


SPEC = Publishable(
    "toy", keys=("group",), counts=("count",), derived=("rate",), public=("population",)
)


def test_a_table_with_an_undeclared_column_is_refused():
    frame = pd.DataFrame(
        {"group": ["a"], "count": [40.0], "rate": [2.0], "population": [20_000], "median": [3]}
    )
    with pytest.raises(UnpublishableError, match="median"):
        publishable(frame, SPEC)


def test_withheld_rows_lose_their_counts_and_everything_derived_but_not_keys_or_residents():
    frame = pd.DataFrame(
        {"group": ["a", "b"], "count": [3.0, 40.0], "rate": [0.1, 2.0], "population": [900, 800]}
    )
    out = publishable(frame, SPEC, [disclosure.PRIMARY, None])
    assert out["count"].tolist() == [None, 40.0]
    assert out["rate"].tolist() == [None, 2.0]
    assert out["group"].tolist() == ["a", "b"] and out["population"].tolist() == [900, 800]
    assert out[REASON].tolist() == [disclosure.PRIMARY, None]


def test_a_small_count_that_escaped_suppression_is_refused():
    frame = pd.DataFrame({"group": ["a", "b"], "count": [3.0, 0.0]})
    with pytest.raises(UnpublishableError, match="between 1 and 4"):
        publishable(frame, SPEC)
    assert publishable(frame, SPEC, min_count=3)["count"].tolist() == [3.0, 0.0]


def test_a_column_declared_twice_is_refused():
    with pytest.raises(UnpublishableError, match="rate"):
        Publishable("bad", counts=("count",), derived=("rate",), public=("rate",))


def test_a_new_column_computed_in_uptake_cannot_slip_out(monkeypatch):
    """A developer adds a column derived from the counts but forgets to declare it."""
    from eia.analysis.uptake import rates as where  # the module that computes the tables

    rates = where._rates

    def with_extra(table, *args, **kwargs):
        return rates(table, *args, **kwargs).assign(users_per_lsoa=1.0)

    monkeypatch.setattr(where, "_rates", with_extra)
    monkeypatch.setattr(where, "COLUMNS", (*where.COLUMNS, "users_per_lsoa"))
    service = toy_service({(i, "A"): 20 for i in range(20)})
    with pytest.raises(UnpublishableError, match="users_per_lsoa"):
        uptake.compute(service, toy_area(), toy_populations())


def test_every_published_table_kind_is_a_real_column_kind():
    for name, spec in PUBLISHED.items():
        assert spec.name == name
        for column in spec.columns:
            assert spec.kind(column) in ("key", "count", "derived", "public", "reason")


# Random small extracts ---------------------------------------------------------------------


cells = st.dictionaries(
    st.tuples(st.integers(0, 19), st.sampled_from(["A", "B", "H", "M", "N", "Z", "99"])),
    st.integers(0, 9),
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells, st.integers(0, 6), st.integers(0, 6))
def test_no_published_table_holds_a_small_count_or_a_value_of_a_withheld_one(
    cells, outside, unmatched
):
    service = toy_service(cells, outside, unmatched)
    area, pops = toy_area(), toy_populations()
    result = uptake.compute(service, area, pops, min_count=MIN)
    for name, table in result.published.tables.items():
        if table is not None:
            assert_declared_and_safe(f"uptake.{name}", table)
    metrics = result.metrics()
    for name, rows in metrics["uptake"].items():
        if name == "warnings":  # codes with figures, not a table: checked just below
            continue
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            assert_declared_and_safe(f"uptake.{name}", rows)
    # A completeness warning quotes only published completeness shares (metrics: 6 decimals).
    warnings_ = metrics["uptake"].get("warnings") or []
    completeness = pd.DataFrame(metrics["uptake"].get("ethnicity_completeness") or [])
    published = {
        round(float(v), 6)
        for v in pd.to_numeric(
            completeness.get("completeness", pd.Series()), errors="coerce"
        ).dropna()
    }
    for warning in warnings_:
        quoted = [warning[k] for k in ("overall", "low", "high") if k in warning]
        assert all(round(float(v), 6) in published for v in quoted), warning["code"]
    quality = metrics["data_quality"]
    assert set(quality) <= set(PUBLISHED["data_quality"].columns)
    assert not any(disclosure.is_small(quality[k], MIN) for k in PUBLISHED["data_quality"].counts)
    cross = intersect.uptake_table(service, area, pops, result.published, min_count=MIN)
    assert_declared_and_safe("uptake.by_ethnic_group_imd_quintile", cross)
    fine = detailed.published(service, result.published.by_ethnic_group, MIN)
    if fine is not None:
        assert_declared_and_safe("uptake.by_ethnic_code", fine)
    shown = uptake.protect_map(service, area, result).table()
    assert_declared_and_safe("uptake.map", shown)
    counts = service.by_lsoa.set_index("lsoa21_code")["count"]
    grey = shown.set_index("lsoa21_code")["map_class"] < 0
    assert grey[counts.reindex(grey.index) < MIN].all()  # no LSOA with under 5 users is shaded


# A real example, built in-process ----------------------------------------------------------


@pytest.fixture
def maternity(example_assessment):
    return example_assessment("notts-maternity-equity-audit")


def test_every_table_of_a_real_run_is_declared(maternity):
    """metrics.json's service tables and the report's uptake tables hold only declared columns."""
    from eia import assessment

    metrics = assessment.metrics(maternity)
    tables = {
        f"uptake.{name}": rows
        for name, rows in metrics["uptake"].items()
        if isinstance(rows, list) and rows and isinstance(rows[0], dict)
    }
    assert {"uptake.by_imd_quintile", "uptake.by_ethnic_group_imd_quintile"} <= set(tables)
    assert "uptake.by_ethnic_code" in tables
    for name, rows in tables.items():
        assert name in PUBLISHED, f"metrics.json publishes {name}, which no allow-list declares"
        assert_declared_and_safe(name, rows)
    assert set(metrics["data_quality"]) <= set(PUBLISHED["data_quality"].columns)
    for name in uptake.Published.TABLES:
        table = maternity.uptake.result.table(name)
        if table is not None:
            assert_declared_and_safe(f"uptake.{name}", table)
    assert "dsr_count" not in maternity.uptake.result.table(
        "by_imd_decile"
    )  # internal, not published


def test_the_report_refuses_a_table_from_before_disclosure_control(maternity):
    """An analyst customising a template passes a.uptake.result.by_imd_decile (before suppression)."""
    from eia.errors import DisclosureError
    from eia.report import sections

    u = maternity.uptake.result
    assert sections.uptake_table(u, u.table("by_imd_decile")) is not None
    with pytest.raises(DisclosureError, match=r'a\.uptake\.result\.table\("by_imd_quintile"\)'):
        sections.uptake_table(u, u.by_imd_decile)
    with pytest.raises(DisclosureError):
        sections.uptake_chart(maternity, u.by_imd_quintile)


def test_impacts_copy_only_published_counts(maternity):
    """The equity audit's ratings carry each group's count: only as published."""
    from eia import assessment

    rows = assessment.metrics(maternity)["impacts"]
    assert any(r.get("count") is not None for r in rows)
    for row in rows:
        for column in ("count", "users_now"):
            assert not disclosure.is_small(row.get(column), MIN)
        if row.get("count") is None and "representation" in row:
            assert row["representation"] is None or row.get("rating") == "neutral"
