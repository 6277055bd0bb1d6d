"""Uptake tables, SII and the published (suppressed) metrics."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_disclosure import audit

from eia import stats
from eia.analysis import uptake
from eia.errors import ServiceDataError
from eia.population.area import ETHNIC_GROUPS, group_populations
from eia.population.ethnicity import NOT_KNOWN, NOT_STATED
from eia.service import synth
from eia.service.columns import ServiceDataWarning
from eia.service.load import load_service
from eia.stats.disclosure import PRIMARY

WHITE = "White"
ASIAN = ETHNIC_GROUPS[0]


def toy_area():
    """Twenty LSOAs, two per national IMD decile."""
    deciles = np.repeat(np.arange(1, 11), 2)
    return pd.DataFrame(
        {
            "lsoa21_code": [f"E0100{i:04d}" for i in range(20)],
            "population": 1500,
            "imd_decile": deciles,
            "imd_quintile": (deciles + 1) // 2,
        }
    )


def toy_service(counts, eth=None, quality=None, columns=None):
    area = toy_area()
    by_lsoa = pd.DataFrame({"lsoa21_code": area["lsoa21_code"], "count": counts})
    base = {
        "records_read": float(sum(counts)) + 10,
        "count_read": float(sum(counts)) + 10,
        "count_in_area": float(sum(counts)),
        "count_converted_from_2011": 12.0,
        "count_outside_area": 6.0,
        "count_unmatched": 4.0,
        "unmatched_examples": ["XYZ"],
    }
    return SimpleNamespace(
        label="toy",
        synthetic=True,
        by_lsoa=by_lsoa,
        by_lsoa_ethnicity=eth,
        quality={**base, **(quality or {})},
        columns=columns or {"lsoa": "x"},
    )


def test_imd_table_rates_ratios_and_representation():
    counts = np.repeat([60, 50, 40, 30, 20, 20, 15, 15, 10, 10], 2).astype(float)
    area = toy_area()
    table = uptake.imd_table(
        pd.DataFrame({"lsoa21_code": area["lsoa21_code"], "count": counts}), area
    )
    assert list(table.columns) == [*uptake.COLUMNS, "imd_quintile"]
    q1 = table.iloc[0]
    assert q1["group"] == "Q1 (most deprived)"
    assert q1["count"] == 220 and q1["population"] == 6000
    rate, lower, upper = stats.rate_ci(220, 6000, multiplier=1000)
    assert (q1["rate"], q1["lower"], q1["upper"]) == pytest.approx((rate, lower, upper))
    ratio = stats.rate_ratio(220, 6000, 40, 6000)
    assert (q1["ratio"], q1["ratio_lower"], q1["ratio_upper"]) == pytest.approx(tuple(ratio))
    assert q1["representation"] == pytest.approx((220 / counts.sum()) / 0.2)
    q5 = table.iloc[4]
    assert q5["ratio"] == 1 and pd.isna(q5["ratio_lower"])  # the reference has no interval
    deciles = uptake.imd_table(
        pd.DataFrame({"lsoa21_code": area["lsoa21_code"], "count": counts}), area, "decile"
    )
    assert len(deciles) == 10 and deciles["count"].sum() == counts.sum()
    assert deciles.iloc[9]["group"] == "D10 (least deprived)"


def test_levels_without_residents_are_kept_as_zero_rows():
    area = toy_area()
    area = area[area["imd_quintile"] != 3]
    by_lsoa = pd.DataFrame({"lsoa21_code": area["lsoa21_code"], "count": 5.0})
    table = uptake.imd_table(by_lsoa, area)
    row = table.set_index("imd_quintile").loc[3]
    assert row["count"] == 0 and row["population"] == 0 and pd.isna(row["rate"])


def test_ethnic_table_keeps_unknowns_out_of_rates():
    pops = pd.DataFrame({g: [1000, 3000] for g in ETHNIC_GROUPS}, index=["E01000001", "E01000002"])
    rows = pd.DataFrame(
        {
            "lsoa21_code": ["E01000001", "E01000002", "E01000001", "E01000002", "E01000009"],
            "ethnic_group": [WHITE, ASIAN, NOT_STATED, NOT_KNOWN, WHITE],
            "count": [40.0, 80.0, 7.0, 3.0, 99.0],  # the last LSOA is outside the area
        }
    )
    table = uptake.ethnic_table(rows, pops, reference="white").set_index("group")
    assert table.loc[WHITE, "count"] == 40 and table.loc[WHITE, "ratio"] == 1
    assert table.loc[ASIAN, "ratio"] == pytest.approx(2.0)
    assert table.loc[ASIAN, "representation"] == pytest.approx((80 / 120) / 0.2)
    assert table.loc[NOT_STATED, "count"] == 7 and not table.loc[NOT_STATED, "in_rates"]
    assert pd.isna(table.loc[NOT_STATED, "rate"]) and pd.isna(table.loc[NOT_KNOWN, "population"])
    other = uptake.ethnic_table(rows, pops, reference="Asian").set_index("group")
    assert other.loc[WHITE, "ratio"] == pytest.approx(0.5)
    with pytest.raises(ServiceDataError, match="not a Census 2021 group"):
        uptake.ethnic_table(rows, pops, reference="Purple")


def test_sii_across_deciles_matches_stats():
    counts = np.repeat([60, 50, 40, 30, 20, 20, 15, 15, 10, 10], 2).astype(float)
    area = toy_area()
    by_lsoa = pd.DataFrame({"lsoa21_code": area["lsoa21_code"], "count": counts})
    deciles = uptake.imd_table(by_lsoa, area, "decile")
    result = uptake.inequality_slope(deciles, repetitions=2000, seed=1)
    direct = stats.sii(
        deciles["imd_decile"],
        deciles["population"],
        deciles["rate"],
        lower_cl=deciles["lower"],
        upper_cl=deciles["upper"],
        value_type="rate",
        repetitions=2000,
        seed=1,
    )
    assert result["sii"] == pytest.approx(direct["sii"]) and result["sii"] < 0
    assert result["sii_lower"] == pytest.approx(direct["sii_lower"])
    assert result["gradient"] == "more_deprived"  # the interval excludes 0, rate higher in Q1


def test_published_metrics_follow_the_policy():
    counts = np.repeat([60, 50, 40, 30, 20, 20, 15, 15, 10, 1], 2).astype(float)
    counts[-1] = 2.0  # decile 10 = 1 + 2 = 3: small
    service = toy_service(counts, quality={"count_unmatched": 4.0})
    result = uptake.compute(service, toy_area())
    metrics = result.metrics()
    json.dumps(metrics)  # JSON-ready
    deciles = {r["imd_decile"]: r for r in metrics["uptake"]["by_imd_decile"]}
    assert deciles[10]["count"] is None and deciles[10]["suppressed"] == PRIMARY
    assert deciles[10]["rate"] is None and deciles[10]["lower"] is None
    # the reference decile is withheld, so no decile ratio can be published
    assert all(r["ratio"] is None for r in deciles.values())
    secondary = [d for d, r in deciles.items() if r["suppressed"] == "secondary"]
    assert secondary, "a second decile must be withheld so decile 10 cannot be worked out"
    published = [
        r["count"]
        for table in ("by_imd_quintile", "by_imd_decile")
        for r in metrics["uptake"][table]
        if r["count"] is not None
    ]
    assert not any(0 < c < 5 for c in published)
    dq = metrics["data_quality"]
    assert dq["count_unmatched"] is None and dq["suppressed"]["count_unmatched"] == PRIMARY
    for key in ("records_read", "count_read", "count_in_area", "count_outside_area"):
        assert dq[key] is None or dq[key] >= 5
    # the SII falls back to quintiles, whose counts are all published
    assert metrics["uptake"]["sii"]["quantiles"] in ("quintile", None)


def test_withheld_counts_cannot_be_worked_out_from_published_totals():
    counts = np.repeat([60, 50, 40, 30, 20, 20, 15, 15, 10, 1], 2).astype(float)
    counts[-1] = 2.0
    result = uptake.compute(toy_service(counts), toy_area())
    up = result.metrics()["uptake"]
    dq = result.metrics()["data_quality"]
    dec = {r["imd_decile"]: r["count"] for r in up["by_imd_decile"]}
    quint = {r["imd_quintile"]: r["count"] for r in up["by_imd_quintile"]}
    for q in range(1, 6):
        unknown = [d for d in (2 * q - 1, 2 * q) if dec[d] is None]
        if quint[q] is not None:
            assert len(unknown) != 1, f"decile recoverable from quintile {q}"
    if dq["count_in_area"] is not None:
        assert sum(v is None for v in dec.values()) != 1
        assert sum(v is None for v in quint.values()) != 1


def test_unknown_ethnicity_share_is_withheld_with_its_count():
    pops = pd.DataFrame({g: [1000] * 20 for g in ETHNIC_GROUPS}, index=toy_area()["lsoa21_code"])
    codes = list(toy_area()["lsoa21_code"])
    eth = pd.DataFrame(
        {
            "lsoa21_code": codes[:7],
            "ethnic_group": [*ETHNIC_GROUPS, NOT_STATED, NOT_KNOWN],
            "count": [50.0, 40.0, 30.0, 200.0, 20.0, 2.0, 8.0],
        }
    )
    counts = np.zeros(20)
    counts[:7] = eth["count"].to_numpy()
    quality = {"ethnicity_not_stated_share": 2 / 350, "ethnicity_not_known_share": 8 / 350}
    result = uptake.compute(toy_service(counts, eth, quality), toy_area(), pops)
    dq = result.metrics()["data_quality"]
    assert dq["ethnicity_not_stated_share"] is None
    rows = {r["group"]: r for r in result.metrics()["uptake"]["by_ethnic_group"]}
    assert rows[NOT_STATED]["count"] is None
    assert rows[WHITE]["ratio"] == 1.0


def _synthetic_service(pack, codes, path, *, n_events: int, seed: int):
    """A synthetic extract for ``codes`` written to ``path`` and read back (its warnings muted)."""
    path = synth.write(synth.generate(pack, codes, n_events=n_events, seed=seed), path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        return load_service(synth.service_spec(path), pack, codes)


def test_end_to_end_with_synthetic_data(pack, notts_area, tmp_path):
    codes = list(notts_area["lsoa21_code"])
    data = _synthetic_service(pack, codes, tmp_path / "synth.csv", n_events=20_000, seed=11)
    result = uptake.compute(data, notts_area, group_populations(pack, codes))
    metrics = result.metrics()
    text = json.dumps(metrics)
    assert "lsoa21_code" not in text and "E0103" not in text  # nothing at LSOA level
    up = metrics["uptake"]
    assert {"by_imd_quintile", "by_imd_decile", "by_ethnic_group", "sii"} <= set(up)
    row = up["by_ethnic_group"][0]
    assert set(uptake.COLUMNS) <= set(row)
    assert up["sii"]["sii"] < 0  # declared: more use in more deprived areas
    assert up["by_imd_quintile"][0]["ratio"] > 1.3
    dq = metrics["data_quality"]
    for key in (
        "records_read",
        "count_read",
        "count_in_area",
        "count_converted_from_2011",
        "count_outside_area",
        "count_unmatched",
        "ethnicity_not_stated_share",
    ):
        assert key in dq
    assert dq["synthetic"] is True
    assert up["disclosure"] == {"min_count": 5}  # the policy's words are the report's


def test_show_renders_without_rows(pack, notts_area, tmp_path):
    from eia.report import sections

    codes = list(notts_area["lsoa21_code"])[:40]
    area = notts_area[notts_area["lsoa21_code"].isin(codes)]
    data = _synthetic_service(pack, codes, tmp_path / "small.csv", n_events=400, seed=2)
    result = uptake.compute(data, area, group_populations(pack, codes))
    html = sections.uptake_section(result).markup + sections.uptake_quality(result).markup
    assert "(synthetic data)" in html
    assert "Data quality of the service extract" in html
    assert "Disclosure control" in html
    assert "E0101" not in html  # no LSOA-level rows
    assert "&lt;5" in html or "<5" not in html
    quintiles = sections.uptake_table(result, result.table("by_imd_quintile"), "By quintile")
    # a given caption keeps its words and gains the rates' unit
    assert quintiles.caption == "By quintile, per 1,000 residents per year (synthetic data)"
    assert list(quintiles.frame["Group"]) == list(result.table("by_imd_quintile")["group"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, 12), min_size=10, max_size=10),
    st.integers(0, 8),
    st.integers(0, 8),
)
def test_linked_tables_property(deciles, outside, unmatched):
    """No published count is small, and an independent audit of all the linked tables
    (deciles → quintiles → in-area → count read = records read) pins no withheld count."""
    counts = np.zeros(20)
    counts[::2] = deciles  # one LSOA per decile carries the count
    in_area = float(sum(deciles))
    quality = {
        "records_read": in_area + outside + unmatched,
        "count_read": in_area + outside + unmatched,
        "count_in_area": in_area,
        "count_outside_area": float(outside),
        "count_unmatched": float(unmatched),
        "count_converted_from_2011": 0.0,
    }
    result = uptake.compute(toy_service(counts, quality=quality), toy_area())
    reasons = result.published.reasons
    values = {("decile", d): float(c) for d, c in enumerate(deciles, start=1)}
    values |= {("quintile", q): float(deciles[2 * q - 2] + deciles[2 * q - 1]) for q in range(1, 6)}
    values |= {k: v for k, v in quality.items() if k != "count_converted_from_2011"}
    constraints = [
        (("quintile", q), [("decile", 2 * q - 1), ("decile", 2 * q)]) for q in range(1, 6)
    ]
    constraints += [
        ("count_in_area", [("quintile", q) for q in range(1, 6)]),
        ("count_read", ["count_in_area", "count_outside_area", "count_unmatched"]),
        ("records_read", ["count_read"]),
    ]
    withheld = {k: r for k, r in reasons.items() if k in values}
    assert audit(values, constraints, withheld, 5) == []
    metrics = result.metrics()
    shown = [r["count"] for t in ("by_imd_quintile", "by_imd_decile") for r in metrics["uptake"][t]]
    shown += [metrics["data_quality"][k] for k in quality]
    assert not any(c is not None and 0 < c < 5 for c in shown)
