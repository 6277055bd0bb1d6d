"""Findings as data: every judgement built once from small hand-made frames (no reference data).

The named option and why, the flags' one scope (Core20 and IMD quintile 1 never both
counted; protected groups apart from others), dominance on group outcomes that flags can
neither create nor hide, trade-offs group by group, who loses most, robustness and what is
missing before sign-off. The report-level walk is in tests/test_findings_report.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eia import findings
from eia.analysis import appraisal, impact
from eia.analysis.access import CORE20_LABELS
from eia.params import NARRATIVE_KEYS, Thresholds

CORE20, REST = CORE20_LABELS
Q1 = impact.Q1_GROUP
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = ["A", "B", "C", "D"]


def proposal(**kw):
    base = {
        "template": "site_change",
        "groups": [],
        "narrative": {},
        "mitigations": [],
        "signoff": None,
    }
    return SimpleNamespace(**(base | kw))


def hand_weights():
    core = pd.DataFrame({CORE20: [1000, 1000, 0, 0], REST: [0, 0, 1000, 1000]}, index=CODES)
    quint = pd.DataFrame(
        {Q1: [1000, 1000, 0, 0], "Q3": [0, 0, 1000, 0], "Q5 (least deprived)": [0, 0, 0, 1000]},
        index=CODES,
    )
    ethnic = pd.DataFrame({"Group X": [500] * 4, "Group Y": [500] * 4}, index=CODES)
    return {"imd_quintile": quint, "core20": core, "ethnic_group": ethnic}


def option(changes, before=2.0):
    b = pd.Series(before, index=CODES)
    return b, b + pd.Series(changes, index=CODES)


def built(values, thresholds=None, **kw):
    thresholds = thresholds or Thresholds()
    ap = appraisal.appraise(values, hand_weights(), thresholds, **kw)
    return findings.build(
        proposal=proposal(),
        impacts=ap.burden,
        appraisal=ap,
        scenarios=list(values),
        rules=impact.Rules.from_thresholds(thresholds),
    )


# ---------------------------------------------------------------------------
# Flags: one definition, one scope


def test_core20_and_quintile_1_are_never_both_counted():
    # only Core20 (= quintile 1) goes further: both rows are flagged, one is counted
    f = built({"A": option([3.0, 3.0, 0.0, 0.0])})
    keys = {(x.dimension, x.group) for x in f.flags}
    assert ("core20", CORE20) in keys
    assert ("imd_quintile", Q1) not in keys
    assert [(u.dimension, u.group, u.same_people_as) for u in f.uncounted] == [
        ("imd_quintile", Q1, "core20")
    ]
    assert f.flag_counts("A") == {"protected": 1, "other": 0}


def test_every_flagged_row_is_counted_once_or_named_as_the_same_people():
    ap = appraisal.appraise(
        {"A": option([3.0, 3.0, 0.0, 0.0]), "B": option([0.0, 0.0, 4.0, 0.0])}, hand_weights()
    )
    f = findings.build(
        proposal=proposal(), impacts=ap.burden, appraisal=ap, scenarios=["A", "B"], rules=None
    )
    flagged = ap.burden[ap.burden["disproportionate"]]
    marked = set(zip(flagged["option"], flagged["dimension"], flagged["group"], strict=True))
    counted = {x.key for x in f.flags}
    again = {(u.option, u.dimension, u.group) for u in f.uncounted}
    assert counted | again == marked and not counted & again
    block = f.as_dict()
    assert {(d["option"], d["dimension"], d["group"]) for d in block["disproportionate"]} == counted
    # B: quintile 3 (less deprived) is flagged; it is another group's flag, not a protected one
    assert f.flag_counts("B")["other"] >= 1
    assert all(not x.protected for x in f.flags_for("B") if x.dimension == "imd_quintile")


def test_opted_in_groups_are_protected():
    assert findings.is_protected("language", "Cannot speak English", ["language"])
    assert not findings.is_protected("language", "Cannot speak English", [])
    assert findings.is_protected("core20", CORE20)
    assert not findings.is_protected("core20", REST)
    assert not findings.is_protected("imd_quintile", "Q3")


# ---------------------------------------------------------------------------
# Dominance on group outcomes, never hidden by flags


def test_a_flag_cannot_hide_a_dominance():
    # A: a heavy burden on everyone, spread evenly (no flag); B: a light burden on Core20 only
    # (a flag). B leaves every group at least as well off as A.
    f = built({"A": option([12.0, 12.0, 12.0, 12.0]), "B": option([3.4, 3.4, 0.0, 0.0])})
    assert f.named_option == "B"
    assert f.dominance_of("A").dominated_by == ("B",)
    assert f.dominance_of("B").dominates == ("A",)
    assert f.reason.code == "dominates"
    assert f.flag_counts("B")["protected"] > f.flag_counts("A")["protected"]
    assert f.tradeoffs == []  # only non-dominated options trade off
    block = f.as_dict()
    assert {"option": "A", "rank": 2, "dominated_by": ["B"], "dominates": []} in block["dominance"]


def test_options_that_do_not_dominate_trade_off_group_by_group():
    # A: Core20 further; B: the rest further (more in all): neither dominates
    f = built({"A": option([2.0, 2.0, 0.0, 0.0]), "B": option([0.0, 0.0, 3.0, 3.0])})
    assert all(not d.dominated_by for d in f.dominance)
    [t] = f.tradeoffs
    assert {t.first, t.second} == {"A", "B"}
    core = next(g for g in t.groups if g.group == CORE20)
    assert core.better_added == "B"
    assert core.added_per_resident == {"A": pytest.approx(2.0), "B": pytest.approx(0.0)}
    assert core.material_added
    everyone = next(g for g in t.groups if g.group == impact.ALL_RESIDENTS)
    assert everyone.better_added == "A"
    assert [g.group for g in t.better_for("B")] == [CORE20]
    entry = f.as_dict()["tradeoffs"][0]
    assert [e["group"] for e in entry["better"]["B"]] == [CORE20]
    assert entry["better"]["A"][0]["values"]["B"] == pytest.approx(1.5)
    assert f.reason.code == "lower_score"
    assert f.reason.figures["runner_up"] in {"A", "B"} - {f.named_option}


def test_tied_options_share_the_reason():
    f = built({"A": option([2.0, 0, 0, 0]), "B": option([2.0, 0, 0, 0]), "C": option([3] * 4)})
    assert f.reason.code == "tie" and f.reason.figures["tied"] == ["A", "B"]
    assert f.named_option == "A"
    assert [t.groups and all(g.better_added is None for g in t.groups) for t in f.tradeoffs] == [
        True
    ]


# ---------------------------------------------------------------------------
# Who loses most


def test_who_loses_most_is_named_with_magnitudes():
    # Core20: 1,000 residents 4 km further (4,000 person-km, ratio to the rest: inf → largest
    # disproportion); Q3: 1,000 residents 1.5 km further
    f = built({"A": option([2.0, 2.0, 1.5, 0.0])})
    burden = f.harm("largest_burden")
    assert (burden.dimension, burden.group) == ("core20", CORE20)  # not quintile 1 again
    assert burden.figures["added"] == pytest.approx(4000.0)
    assert burden.figures["added_per_resident"] == pytest.approx(2.0)
    assert burden.protected and burden.flagged
    worst = f.harm("largest_disproportion")
    assert worst.figures["burden_ratio"] > 1
    assert worst.group != impact.ALL_RESIDENTS


def test_nothing_added_means_no_harm_named():
    f = built({"A": option([-3.0, 0.0, 0.0, 0.0])})
    assert f.harms == []
    assert ("core20", CORE20) in f.material_groups  # a gain is a material finding
    assert ("ethnic_group", "Group Y") in f.material_groups or f.quiet_groups


# ---------------------------------------------------------------------------
# Robustness, missing, warnings


def test_robustness_says_whether_the_named_option_holds():
    values = {"A": option([4.0, 0.0, 0.0, 0.0]), "B": option([0.0, 0.0, 3.2, 3.2])}
    f = built(values, Thresholds(equity_weight=2.0))
    assert f.named_option == "B"
    assert f.robustness.assessed and not f.robustness.holds
    assert ("equity_weight", "halved", 1.5, ("A",)) in f.robustness.flips
    assert f.robustness.tried >= 10
    assert f.as_dict()["robustness"]["holds"] is False


def test_what_is_missing_before_signoff():
    f = findings.build(proposal=proposal(), impacts=pd.DataFrame(), scenarios=[])
    assert [m.code for m in f.missing] == [
        "questions_unanswered",
        "no_mitigations",
        "not_signed_off",
    ]
    assert f.missing[0].figures == {"count": len(NARRATIVE_KEYS), "of": len(NARRATIVE_KEYS)}
    done = proposal(
        narrative={k: "answered" for k in NARRATIVE_KEYS}, mitigations=["x"], signoff={"by": "y"}
    )
    assert findings.build(proposal=done, impacts=pd.DataFrame()).missing == []
    assert f.named_option is None and f.reason.code == "none"


# ---------------------------------------------------------------------------
# A superset of sites dominates its subset (random site sets)


def nearest(points: np.ndarray, sites: np.ndarray) -> np.ndarray:
    return np.sqrt(((points[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2)).min(axis=1)


@st.composite
def worlds(draw):
    n = draw(st.integers(2, 8))
    codes = [f"L{i}" for i in range(n)]
    coord = st.floats(0, 30, allow_nan=False)
    points = np.array([[draw(coord), draw(coord)] for _ in range(n)])
    pop = np.array([draw(st.integers(0, 3000)) for _ in range(n)], dtype=float)
    core = [draw(st.booleans()) for _ in range(n)]
    share = np.array([draw(st.floats(0, 1)) for _ in range(n)])
    weights = {
        "core20": pd.DataFrame(
            {CORE20: np.where(core, pop, 0), REST: np.where(core, 0, pop)}, index=codes
        ),
        "ethnic_group": pd.DataFrame(
            {"Group X": np.round(pop * share), "Group Y": pop - np.round(pop * share)},
            index=codes,
        ),
    }
    sites = np.array([[draw(coord), draw(coord)] for _ in range(draw(st.integers(2, 6)))])
    return codes, points, pd.Series(pop, index=codes), weights, sites


@SETTINGS
@given(worlds(), st.data())
def test_a_superset_of_sites_dominates_its_subset(world, data):
    codes, points, pop, weights, sites = world
    k = len(sites)
    subset = sorted(data.draw(st.sets(st.integers(0, k - 1), min_size=1, max_size=k - 1)))
    extra = data.draw(
        st.sets(st.sampled_from([i for i in range(k) if i not in subset]), min_size=1)
    )
    superset = sorted(set(subset) | extra)
    before = pd.Series(nearest(points, sites), index=codes)
    values = {
        name: (before, pd.Series(nearest(points, sites[idx]), index=codes))
        for name, idx in (("Subset", subset), ("Superset", superset))
    }
    ap = appraisal.appraise(values, weights, population=pop, check_robustness=False)
    f = findings.build(proposal=proposal(), impacts=ap.burden, appraisal=ap, scenarios=list(values))
    same = all(
        f.outcome("Subset", o.dimension, o.group) == o.__class__(**(vars(o) | {"option": "Subset"}))
        for o in f.outcomes
        if o.option == "Superset"
    )
    if same:  # the extra sites change nobody's outcome: equal, neither dominates
        assert not f.dominance_of("Subset").dominated_by
    else:
        assert "Superset" in f.dominance_of("Subset").dominated_by
        assert f.named_option == "Superset"
        assert f.reason.code == "dominates"
    assert "Subset" not in f.dominance_of("Superset").dominated_by
