"""Conclusions a board can defend: flags carry their margin, mixed groups show their gains,
net scores read as net changes, and every count says what it counts.

Hand-made frames only (no reference data): the report-level checks are in
tests/test_sections.py and tests/test_report_board.py.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eia import findings
from eia.analysis import appraisal, impact
from eia.analysis import ethnicity_deprivation as intersect
from eia.analysis.access import CORE20_LABELS
from eia.params import Thresholds
from eia.report import decision, index, ratings, summary
from eia.report.sections.options import criterion_label

CORE20, REST = CORE20_LABELS
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every access threshold a flag is tested against, a quarter up and down (a ratio: its
#: excess over 1), written out here independently of eia.analysis.impact.margin_variations.
QUARTER = [
    (field, value)
    for field, base, up, down in [
        ("change", 1.0, 1.25, 0.75),
        ("far", 5.0, 6.25, 3.75),
        ("material", 0.1, 0.125, 0.075),
        ("material_share", 0.01, 0.0125, 0.0075),
        ("min_residents", 100, 125, 75),
        ("ratio", 1.2, 1.25, 1.15),
        ("difference", 0.1, 0.125, 0.075),
    ]
    for value in (up, down)
]


@st.composite
def worlds(draw):
    n = draw(st.integers(2, 7))
    codes = [f"L{i}" for i in range(n)]
    before = np.array([draw(st.floats(0, 12, allow_nan=False)) for _ in range(n)])
    change = np.array([draw(st.floats(-6, 6, allow_nan=False)) for _ in range(n)])
    pop = np.array([draw(st.integers(0, 2000)) for _ in range(n)], dtype=float)
    share = np.array([draw(st.floats(0, 1)) for _ in range(n)])
    core = [draw(st.booleans()) for _ in range(n)]
    weights = {
        "core20": pd.DataFrame(
            {CORE20: np.where(core, pop, 0), REST: np.where(core, 0, pop)}, index=codes
        ),
        "ethnic_group": pd.DataFrame(
            {"Group X": np.round(pop * share), "Group Y": pop - np.round(pop * share)},
            index=codes,
        ),
    }
    b = pd.Series(before, index=codes)
    return b, b + pd.Series(change, index=codes), weights


@SETTINGS
@given(worlds())
def test_a_flag_reported_as_clear_holds_under_every_variation_tried(world):
    before, after, weights = world
    rules = impact.Rules()
    rows = impact.burden(before, after, weights, rules).set_index(["dimension", "group"])
    assert set(rows["flag_margin"]) <= {"clear", "marginal"}
    changed_by: dict[tuple, list] = {k: [] for k in rows.index}
    for field, value in QUARTER:
        varied = impact.burden(
            before, after, weights, replace(rules, **{field: value}), margins=False
        ).set_index(["dimension", "group"])
        for key in rows.index:
            if bool(varied.loc[key, "disproportionate"]) != bool(rows.loc[key, "disproportionate"]):
                changed_by[key].append((field, value))
    for key, row in rows.iterrows():
        if row["flag_margin"] == "clear":
            assert not changed_by[key], (key, changed_by[key])
        else:
            assert changed_by[key], key  # marginal: some variation tried changes it
            assert len(row["flag_flips"]) == len(changed_by[key])
        if row["disproportionate"] and row["flag_margin"] == "clear":
            # checkable by hand: a clear flag clears the raised thresholds it is compared with
            assert row["burden_ratio"] >= 1.25 and row["burden_difference"] >= 0.125
            assert row["added_per_resident"] >= 0.125


def knife_edge() -> tuple[pd.Series, pd.Series, dict]:
    """Group G (1,000 residents in A) 2.46 km further, the rest (1,000 in B) 2.0 km further:
    ratio 1.23 against the threshold of 1.2."""
    codes = ["A", "B"]
    weights = {"ethnic_group": pd.DataFrame({"G": [1000, 0], "H": [0, 1000]}, index=codes)}
    before = pd.Series([1.0, 1.0], index=codes)
    return before, before + pd.Series([2.46, 2.0], index=codes), weights


def test_a_knife_edge_flag_says_the_threshold_at_which_it_goes():
    rows = impact.burden(*knife_edge()).set_index("group")
    g = rows.loc["G"]
    assert g["disproportionate"] and g["burden_ratio"] == pytest.approx(1.23)
    assert g["flag_margin"] == "marginal"
    assert g["flag_flips"] == [{"threshold": "ratio", "value": 1.25}]  # the ratio it goes at
    assert g["burden_difference"] == pytest.approx(0.46)
    # the rest (ratio 0.81) is clearly not flagged
    assert rows.loc["H", "flag_margin"] == "clear" and not rows.loc["H", "disproportionate"]


def test_an_expected_effect_at_its_threshold_is_a_marginal_flag():
    pops = {"ethnic_group": pd.Series({"Other": 5000, "White": 95000})}
    effects = [{"dimension": "ethnic_group", "group": "Other", "uptake_change_pct": -5.0}]
    rows = impact.rate_effects(effects, pops).set_index("group")
    other = rows.loc["Other"]
    assert other["disproportionate"] and other["flag_margin"] == "marginal"
    assert {"threshold": "uptake_change_pct", "value": 6.25} in other["flag_flips"]
    clear = impact.rate_effects(
        [{"dimension": "ethnic_group", "group": "Other", "uptake_change_pct": -20.0}], pops
    ).set_index("group")
    assert clear.loc["Other", "flag_margin"] == "clear"


def _row(group, rating, dispro, margin, flips=(), **figures) -> dict:
    base = {
        "option": "Option 1",
        "dimension": "ethnic_group",
        "group": group,
        "rating": rating,
        "disproportionate": dispro,
        "flag_margin": margin,
        "flag_flips": list(flips),
        "unit": "km",
        "residents": 1000.0,
        "further": 300.0,
        "nearer": 0.0,
        "added_per_resident": 0.5,
        "removed_per_resident": 0.0,
        "net_per_resident": 0.5,
        "burden_ratio": 1.6,
        "burden_difference": 0.3,
    }
    return base | figures


def test_summary_splits_clear_flags_from_marginal_ones_with_their_figures():
    rows = pd.DataFrame(
        [
            _row("Q4", "negative", True, "clear", burden_ratio=1.37, burden_difference=0.38),
            _row(
                "Black, Black British, Black Welsh, Caribbean or African",
                "negative",
                True,
                "marginal",
                ["ratio 1.25"],
                burden_ratio=1.234,
                burden_difference=0.24,
            ),
            _row("White", "negative", False, "clear", burden_ratio=1.05),
        ]
    )
    rows["dimension"] = ["imd_quintile", "ethnic_group", "ethnic_group"]
    found = findings.build(proposal=_proposal(), impacts=rows)
    margins = {f.group: f.margin for f in found.flags}
    assert margins == {
        "Q4": "clear",
        "Black, Black British, Black Welsh, Caribbean or African": "marginal",
    }, "White is not flagged; each flag carries its margin"
    assert found.flag_counts("Option 1") == {"protected": 1, "other": 1}
    context = decision.findings_context(found)
    assert (context["flag_total"], context["marginal"]) == (2, 1)


def _proposal():
    return SimpleNamespace(
        template="site_change", groups=[], narrative={}, mitigations=[], signoff=None
    )


def test_a_net_gainer_is_not_called_disproportionately_affected():
    q5 = _row(
        "Q5 (least deprived)",
        "mixed",
        True,
        "clear",
        nearer=400.0,
        added_per_resident=0.70,
        removed_per_resident=1.27,
        net_per_resident=-0.57,
    )
    q5["dimension"] = "imd_quintile"
    found = findings.build(proposal=_proposal(), impacts=pd.DataFrame([q5]))
    [flag] = found.flags
    assert flag.net_gain, "its flag concerns its losses only: a net gain overall"
    assert decision.findings_context(found)["flags"]["other"] == [
        {"name": "IMD quintile 5 (least deprived)", "net_gain": True}
    ]
    assert ratings.rating_label("mixed", True) == "◆ Mixed – disproportionate losses"
    a = SimpleNamespace(
        proposal=SimpleNamespace(thresholds=Thresholds()),
        rules=impact.Rules(),
        unit="km",
    )
    figures = summary.key_figure(pd.Series(q5), a)
    assert "0.70 km added per resident" in figures and "1.27 km saved per resident" in figures
    assert "gains: 40.0% more than 1 km nearer" in figures


def test_a_net_saving_reads_as_a_saving_not_a_negative_addition():
    # Option 1 removes more than it adds; Option 2 adds: the score of Option 1 is negative.
    codes = ["A", "B", "C", "D"]
    weights = {
        "core20": pd.DataFrame({CORE20: [1000, 1000, 0, 0], REST: [0, 0, 1000, 1000]}, codes),
        "ethnic_group": pd.DataFrame({"X": [500] * 4, "Y": [500] * 4}, index=codes),
    }
    b = pd.Series(5.0, index=codes)
    values = {
        "Option 1": (b, b + pd.Series([-3.0, -3.0, 2.0, 0.0], index=codes)),
        "Option 2": (b, b + pd.Series([0.0, 0.0, 1.5, 0.0], index=codes)),
    }
    ap = appraisal.appraise(values, weights)
    assert ap.best == ["Option 1"] and ap.options["score"].iloc[0] < 0
    found = findings.build(
        proposal=_proposal(), impacts=ap.burden, appraisal=ap, scenarios=list(values)
    )
    assert found.reason.code == "lower_score"
    assert found.reason.figures["score"] == pytest.approx(ap.options["score"].iloc[0])
    reason = decision.findings_context(found)["reason"]
    assert reason["saves"] and not reason["score"].startswith(("-", "−")), "a saving, not −"
    # the card's reason: averages per resident, netted (Option 1 saves more than it adds)
    averages = reason["averages"]
    assert averages["netted"]
    assert averages["all"]["named"] == {
        "value": "1.00 km",
        "saves": True,
    }  # (−6,000 + 2,000) / 4,000
    assert averages["all"]["runner_up"] == {"value": "0.38 km", "saves": False}  # 1,500 / 4,000
    assert averages["core20"]["named"] == {"value": "3.00 km", "saves": True}
    assert averages["all"]["better"] and averages["core20"]["better"]
    context = decision.findings_context(found)
    words = decision._ENV.get_template("judgement.j2").module.favoured(context)
    assert "after what it saves for those who get closer, it saves 1.00 km per resident" in words
    assert not reason["runner_up_saves"]


def test_robustness_shows_which_flags_each_variation_removes():
    # G bears 1.3 times the rest's burden: flagged at ratio 1.2, lost at 1.4 (excess doubled).
    codes = ["A", "B"]
    weights = {"ethnic_group": pd.DataFrame({"G": [1000, 0], "H": [0, 1000]}, index=codes)}
    b = pd.Series(1.0, index=codes)
    values = {
        "One": (b, b + pd.Series([2.6, 2.0], index=codes)),
        "Two": (b, b + pd.Series([6.0, 6.0], index=codes)),
    }
    ap = appraisal.appraise(values, weights)
    v = ap.robustness.variations.set_index(["threshold", "variation"])
    key = ("disproportionate_ratio", "doubled")
    assert v.loc[key, "value"] == pytest.approx(1.4)  # its excess over 1 doubled
    assert v.loc[key, "flags_lost"] == [("One", "ethnic_group", "G")]
    assert not ap.robustness.flags_hold
    changed = ap.robustness.as_dict()["flags_changed_by"]
    lost = [{"option": "One", "dimension": "ethnic_group", "group": "G"}]
    assert {
        "threshold": "disproportionate_ratio",
        "variation": "doubled",
        "value": 1.4,
        "lost": lost,
        "gained": [],
    } in changed
    assert len(ap.robustness.flag_changes("One")) == 1 and ap.robustness.tried == 16
    found = findings.build(
        proposal=_proposal(), impacts=ap.burden, appraisal=ap, scenarios=list(values)
    )
    assert found.named_option == "One"
    assert found.robustness.flag_changes == 1


def test_the_flag_count_says_what_it_counts():
    values = {
        "A": (pd.Series(2.0, index=["a"]), pd.Series(2.0, index=["a"])),
    }
    weights = {"core20": pd.DataFrame({CORE20: [10], REST: [0]}, index=["a"])}
    ap = appraisal.appraise(values, weights)
    label = criterion_label(ap, "flags", "")
    assert "IMD quintiles and the rest of the area are not counted" in label


def test_the_heaviest_burden_is_a_finding_worded_with_the_tables_rating_and_the_option():
    from eia.findings.intersection import heaviest_burden
    from eia.report.ethnicity_deprivation import burden_words

    table = pd.DataFrame(
        [
            {
                "ethnic_group": "White",
                "core20": intersect.CORE20,
                "residents": 1000.0,
                "further": 400.0,
                "mean_added_among_further": 13.3,
                "added_per_resident": 5.32,
                "removed_per_resident": 0.0,
                "rating": "negative",
                "rating_note": "",
                "disproportionate": True,
            }
        ]
    )
    found = heaviest_burden(table, option="Option A: close King's Mill")
    assert (found.code, found.ethnic_group, found.core20) == ("heaviest", "White", True)
    assert found.figures["disproportionate"] is True and found.option.startswith("Option A")
    text = burden_words(found).unescape()
    assert text.startswith("Under Option A: close King's Mill, the heaviest added burden")
    assert "rated negative – disproportionate)" in text


def test_index_counts_every_rating_of_the_option_the_summary_names():
    impacts = [
        {
            "option": "Option 1",
            "rating": "mixed",
            "disproportionate": True,
            "flag_margin": "marginal",
        },
        {"option": "Option 1", "rating": "mixed", "disproportionate": False},
        {"option": "Option 1", "rating": "not rated", "disproportionate": False},
        {"option": "Option 2", "rating": "negative", "disproportionate": True},
    ]
    metrics = {
        "access": {"scenario": "Option 2"},  # an older metrics.json: the first option
        "appraisal": {"least_adverse": ["Option 1"]},
        "impacts": impacts,
    }
    counts = index.rating_summary(metrics)
    assert counts["scenario"] == "Option 1"
    assert (counts["mixed"], counts["not rated"], counts["negative"]) == (2, 1, 0)
    assert (counts["disproportionate"], counts["marginal"]) == (1, 1)
    assert index._summary_text(counts) == (
        "0 negative, 2 mixed, 0 neutral, 0 positive, 1 not rated of 3 group ratings; "
        "1 disproportionate (1 marginal)"
    )
    assert index.rating_summary(metrics | {"named_option": "Option 2"})["negative"] == 1


def _distances(scenario: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "lsoa21_code": ["E01000001", "E01000002", "E01000003"],
            "km_before": [1.0, 2.0, 3.0],
            "km_after": [4.0, 2.0, 3.0],
        }
    )
    if scenario:
        frame.attrs["scenario"] = scenario
    return frame


def test_an_access_table_is_captioned_with_the_option_its_frame_describes():
    from eia.analysis import access
    from eia.report import sections

    weights = pd.DataFrame({"G": [10, 20, 30]}, index=_distances()["lsoa21_code"])
    frame = access.summarise(_distances("Option A"), weights, 5.0)
    a = SimpleNamespace(threshold_km=5.0, primary="Option B", scenarios=["Option A", "B"])
    assert sections.access_table(a, frame, "Mine").caption == "Mine: Option A"
    with pytest.raises(ValueError, match="scenario="):
        sections.access_table(a, access.summarise(_distances(), weights, 5.0), "Mine")
    shown = sections.access_table(
        a, access.summarise(_distances(), weights, 5.0), "Mine", scenario="B"
    )
    assert shown.caption == "Mine: B"
