"""Impact rating rules on hand-built cases, and options ordering."""

from __future__ import annotations

import pandas as pd
import pytest

from eia.analysis import impact
from eia.errors import DataMismatchError
from eia.report import ratings

# Four LSOAs: two Core20, two not. Each has 1,000 residents.
CODES = ["A", "B", "C", "D"]


def weights() -> dict[str, pd.DataFrame]:
    core = pd.DataFrame({"Core20": [1000, 1000, 0, 0], "Rest": [0, 0, 1000, 1000]}, index=CODES)
    ethnic = pd.DataFrame(
        {"Group X": [500, 500, 500, 500], "Group Y": [500, 500, 500, 500]}, index=CODES
    )
    return {"core20": core, "ethnic_group": ethnic}


def before_after(changes: list[float], before: float = 2.0) -> tuple[pd.Series, pd.Series]:
    b = pd.Series([before] * len(CODES), index=CODES, dtype=float)
    return b, b + pd.Series(changes, index=CODES)


def rated(changes: list[float], before: float = 2.0, **kw) -> pd.DataFrame:
    b, a = before_after(changes, before)
    return impact.burden(b, a, weights(), impact.Rules(**kw)).set_index(["dimension", "group"])


def test_harm_only_to_core20_is_negative_and_disproportionate_for_core20_only():
    r = rated([3.0, 3.0, 0.0, 0.0])
    core = r.loc[("core20", "Core20")]
    assert core["rating"] == "negative"
    assert bool(core["disproportionate"]) is True
    assert core["added"] == pytest.approx(6000.0)  # 2,000 residents x 3 km
    assert core["added_per_resident"] == pytest.approx(3.0)
    assert core["rest_added_per_resident"] == 0
    assert r.loc[("core20", "Rest"), "rating"] == "neutral"
    assert not r.loc[("core20", "Rest"), "disproportionate"]
    # evenly spread ethnic groups are harmed but not disproportionately
    assert (r.loc["ethnic_group", "rating"] == "negative").all()
    assert not r.loc["ethnic_group", "disproportionate"].any()
    assert r.loc[("all", impact.ALL_RESIDENTS), "added"] == pytest.approx(6000.0)


def test_help_for_everyone_equally_is_positive_and_never_disproportionate():
    r = rated([-1.5, -1.5, -1.5, -1.5])
    assert (r["rating"] == "positive").all()
    assert not r["disproportionate"].any()


def test_changes_within_the_threshold_are_ignored():
    r = rated([0.5, -0.5, 0.9, 0.0], change=1.0)
    assert (r["rating"] == "neutral").all()
    assert (r["added"] == 0).all() and (r["removed"] == 0).all()


def test_magnitude_not_heads_decides():
    # 1,000 people 10 km further and 2,000 people 1.1 km nearer: the heads favour "positive",
    # the burden does not; both gains and losses are material, so the rating is mixed.
    r = rated([10.0, -1.1, -1.1, 0.0])
    everyone = r.loc[("all", impact.ALL_RESIDENTS)]
    assert everyone["further"] < everyone["nearer"]
    assert everyone["rating"] == "mixed"
    row = r.reset_index().iloc[0]
    # both sides rest on the amount per resident: 2.50 km added, 0.55 km saved
    assert everyone["added_per_resident"] == pytest.approx(2.5)
    assert everyone["removed_per_resident"] == pytest.approx(0.55)
    assert impact.rests_on(row, impact.Rules(), loss=True) == "per_resident"
    assert impact.rests_on(row, impact.Rules(), loss=False) == "per_resident"


def test_a_small_group_is_not_rated_and_says_why():
    r = rated([20.0, 20.0, 20.0, 20.0], min_residents=5000)
    assert (r["rating"] == "not rated").all()
    assert r.loc[("core20", "Core20"), "rating_note"] == "few_residents"
    assert (r["rating_note"].isin(impact.NOTES)).all()
    assert not r["disproportionate"].any()


def test_few_people_affected_in_a_large_group_is_not_material():
    # 100 of 500,000 residents 5 km further (the case): 0.001 km per resident
    codes = ["A", "B"]
    people = {"imd_quintile": pd.DataFrame({"Everyone": [100, 499_900]}, index=codes)}
    b = pd.Series(2.0, index=codes)
    r = impact.burden(b, b + pd.Series([5.0, 0.0], index=codes), people).set_index("group")
    assert r.loc["Everyone", "further"] == 100
    assert r.loc["Everyone", "added_per_resident"] == pytest.approx(0.001)
    assert r.loc["Everyone", "newly_far"] == 100  # 0.02% of residents: below 1%
    assert r.loc["Everyone", "rating"] == "neutral"


def test_newly_far_alone_can_make_a_loss_material():
    # everyone 1.2 km further: 1.2 km per resident is material anyway; with a high floor,
    # crossing the far threshold (4.5 -> 5.7 km) still makes it material
    r = rated([1.2, 1.2, 1.2, 1.2], before=4.5, material=10.0)
    assert r.loc[("all", impact.ALL_RESIDENTS), "newly_far"] == 4000
    assert r.loc[("all", impact.ALL_RESIDENTS), "rating"] == "negative"


def test_disproportionate_needs_ratio_and_difference():
    # Core20 1.3 km, the rest 1.2 km: ratio 1.08 < 1.2
    r = rated([1.3, 1.3, 1.2, 1.2])
    assert not r.loc[("core20", "Core20"), "disproportionate"]
    # ratio 2 but a difference of 0.05 km only: not disproportionate with a 0.1 km floor
    r = rated([0.1, 0.1, 0.05, 0.05], change=0.01)
    assert r.loc[("core20", "Core20"), "burden_ratio"] == pytest.approx(2.0)
    assert not r.loc[("core20", "Core20"), "disproportionate"]


def _core20(r: pd.DataFrame) -> pd.Series:
    return r.reset_index().set_index(["dimension", "group"], drop=False).loc[("core20", "Core20")]


def test_a_rating_states_the_figure_and_the_rule_it_rests_on():
    # the words are report/prose/rating.j2's (tests/golden/rating-sentences-cases.txt); here, data
    rules = impact.Rules()
    r = rated([3.0, 3.0, 0.0, 0.0])
    core = _core20(r)
    assert impact.rests_on(core, rules) == "per_resident"
    assert impact.flag_reason(core, rules) == "flagged"
    assert core["burden_ratio"] == float("inf")  # the rest of the area has none added
    assert len(ratings.rating_sentence(core, rules).split()) <= 25
    r = rated([2.6, 2.6, 2.4, 2.4])  # ratio 1.08: not flagged even at 1.15 (a quarter lower)
    core = _core20(r)
    assert impact.flag_reason(core, rules) == "ratio_short"
    assert core["flag_margin"] == "clear" and core["flag_flips"] == []
    r = rated([2.8, 2.8, 2.4, 2.4])  # ratio 1.17: flagged at 1.15, a quarter lower
    core = _core20(r)
    assert core["burden_ratio"] == pytest.approx(1.1667, abs=1e-4)
    assert impact.flag_reason(core, rules) == "ratio_short"
    assert core["flag_margin"] == "marginal"
    assert core["flag_flips"] == [{"threshold": "ratio", "value": 1.15}]
    r = rated([0.3, 0.3, 0.15, 0.15], change=0.01)  # ratio 2, difference 0.15 km: flagged
    assert impact.flag_reason(_core20(r), rules) == "flagged"
    r = rated([0.15, 0.15, 0.1, 0.1], change=0.01)  # ratio 1.5, difference 0.05 km: not
    assert impact.flag_reason(_core20(r), rules) == "difference_short"
    assert impact.flag_reason(r.reset_index().iloc[0], rules) in (None, "no_rest_figure")


def test_a_figure_close_to_its_threshold_is_known_to_be_close():
    # 0.105 km per resident against a 0.1 km material level: a small change would flip it
    r = rated([0.21, 0.0, 0.0, 0.0], change=0.01, far=50)
    core = r.loc[("core20", "Core20")]
    assert core["added_per_resident"] == pytest.approx(0.105)
    assert impact.near(core["added_per_resident"], 0.1)
    r = rated([0.21, 0.21, 0.21, 0.21], change=0.01, far=50, material=1.0)
    everyone = r.loc[("all", impact.ALL_RESIDENTS)]
    assert everyone["rating"] == "neutral"
    assert not impact.near(everyone["added_per_resident"], 1.0)


def test_minutes_use_the_same_rules():
    b, a = before_after([12.0, 12.0, 0.0, 0.0], before=10.0)
    rules = impact.Rules(unit="min", change=5, far=30, material=1)
    r = impact.burden(b, a, weights(), rules).set_index(["dimension", "group"])
    assert r.loc[("core20", "Core20"), "rating"] == "negative"
    assert r.loc[("core20", "Core20"), "added_per_resident"] == pytest.approx(12.0)
    assert (r["unit"] == "min").all()
    assert "min added per resident" in ratings.rating_sentence(_core20(r), rules)


def test_values_align_by_code_not_position():
    b = pd.Series([2.0, 2.0, 2.0, 2.0], index=CODES)
    a = pd.Series([2.0, 2.0, 5.0, 5.0], index=CODES[::-1])  # reversed: A and B get +3
    r = impact.burden(b, a, weights()).set_index(["dimension", "group"])
    assert r.loc[("core20", "Core20"), "added"] == pytest.approx(6000.0)
    with pytest.raises(DataMismatchError, match="after does not cover the same LSOAs: 2 missing"):
        impact.burden(b, a.iloc[:2], weights())


def test_shuffled_weights_rate_the_same_and_partial_weights_raise():
    b, a = before_after([3.0, 3.0, 0.0, 0.0])
    expected = impact.burden(b, a, weights())
    shuffled = {dim: w.iloc[[2, 0, 3, 1]] for dim, w in weights().items()}
    pd.testing.assert_frame_equal(impact.burden(b, a, shuffled), expected)
    partial = {dim: w.iloc[1:] for dim, w in weights().items()}  # used to be filled with zeros
    with pytest.raises(DataMismatchError, match="core20 weights does not cover the same LSOAs"):
        impact.burden(b, a, partial)
    relabelled = weights() | {"core20": weights()["core20"].rename(index={CODES[0]: "E01999999"})}
    with pytest.raises(DataMismatchError, match="1 missing, 1 not in the area"):
        impact.burden(b, a, relabelled)
    with pytest.raises(DataMismatchError, match="population does not cover"):
        impact.burden(b, a, weights(), population=pd.Series(1.0, index=CODES[:3]))


def test_declared_effects_are_rated_with_population_average():
    pops = {"imd_quintile": pd.Series({"Q1": 100, "Q2": 100, "Q3": 100, "Q4": 100, "Q5": 100})}
    effects = [
        {
            "dimension": "imd_quintile",
            "group": "Q1",
            "uptake_change_pct": -10,
            "rationale": "digital",
        }
    ]
    r = impact.rate_effects(effects, pops).set_index("group")
    assert r.loc["Q1", "rating"] == "negative"
    assert r.loc["Q1", "disproportionate"]
    assert r.loc["Q1", "average_change_pct"] == pytest.approx(-2.0)
    assert (
        r.drop("Q1")["rating"] == impact.NOT_ASSESSED
    ).all()  # no effect declared: not neutral (issue 25)
    assert r.loc["Q1", "rationale"].startswith("digital")  # shown beside it, not in the sentence
    assert "digital" not in ratings.rating_sentence(r.reset_index().iloc[0])


def test_effects_without_population_cannot_be_disproportionate():
    effects = [{"dimension": "age", "group": "75+", "uptake_change_pct": -10, "rationale": ""}]
    r = impact.rate_effects(effects, {})
    assert r.loc[0, "rating"] == "negative"
    assert r.loc[0, "disproportionate"] is None


def test_ratings_have_a_text_cue_beyond_colour():
    assert ratings.rating_label("negative", True) == "▼ Negative – disproportionate"
    assert ratings.rating_label("positive", False) == "▲ Positive"
    assert ratings.rating_label("mixed", False) == "◆ Mixed"
    assert (
        ratings.rating_label("not rated", False, "few_residents", 100)
        == "○ Not rated (fewer than 100 residents)"
    )


def test_core20_follows_declared_quintile_effects():
    from eia.assessment import core20_effects
    from eia.population.area import QUINTILE_LABELS

    pops = pd.Series([100, 100, 100, 100, 100], index=list(QUINTILE_LABELS.values()))
    effects = [
        {"dimension": "imd_quintile", "group": QUINTILE_LABELS[1], "uptake_change_pct": -10.0},
        {"dimension": "imd_quintile", "group": QUINTILE_LABELS[5], "uptake_change_pct": 8.0},
    ]
    derived = {e["group"]: e["uptake_change_pct"] for e in core20_effects(effects, pops)}
    assert derived == {"Core20 (IMD deciles 1-2)": -10.0, "Rest of area (deciles 3-10)": 2.0}
    declared = effects + [
        {"dimension": "core20", "group": "Core20 (IMD deciles 1-2)", "uptake_change_pct": -3}
    ]
    assert core20_effects(declared, pops) == []


def test_a_small_group_with_a_declared_effect_is_not_rated():
    pops = {"ethnic_group": pd.Series({"Small": 40, "Large": 10_000})}
    effects = [{"dimension": "ethnic_group", "group": "Small", "uptake_change_pct": -30}]
    r = impact.rate_effects(effects, pops).set_index("group")
    assert r.loc["Small", "rating"] == "not rated"
    assert not r.loc["Small", "disproportionate"]
    assert r.loc["Small", "rating_note"] == "few_residents"


def test_disproportionate_effects_need_a_material_gap_to_the_rest():
    pops = {"imd_quintile": pd.Series({"Q1": 100, "Q2": 100, "Q3": 100})}
    close = [
        {"dimension": "imd_quintile", "group": "Q1", "uptake_change_pct": -8},
        {"dimension": "imd_quintile", "group": "Q2", "uptake_change_pct": -6},
        {"dimension": "imd_quintile", "group": "Q3", "uptake_change_pct": -6},
    ]
    r = impact.rate_effects(close, pops).set_index("group")
    # -8% against -6% for the rest: ratio 1.33 but only 2 points apart
    assert r.loc["Q1", "rating"] == "negative"
    assert r.loc["Q1", "difference_pct_points"] == pytest.approx(-2.0)
    assert not r.loc["Q1", "disproportionate"]
    assert r.loc["Q1", "flag_margin"] == "clear"


def test_a_single_declared_effect_says_it_is_an_assumption():
    pops = {"ethnic_group": pd.Series({"X": 500, "Y": 5000})}
    effects = [{"dimension": "ethnic_group", "group": "X", "uptake_change_pct": -5}]
    r = impact.rate_effects(effects, pops).set_index("group")
    assert r.loc["X", "disproportionate"]
    assert r.loc["X", "single_declared_effect"] and r.loc["X", "declared"]
    assert not r.loc["Y", "declared"]


def test_expected_effects_are_stated_in_users():
    pops = {"ethnic_group": pd.Series({"X": 500, "Y": 5000})}
    effects = [{"dimension": "ethnic_group", "group": "X", "uptake_change_pct": -10}]
    rated_effects = impact.rate_effects(effects, pops)
    users = {"ethnic_group": pd.DataFrame({"group": ["X", "Y"], "count": [230.0, 4000.0]})}
    r = impact.add_expected_users(rated_effects, users).set_index("group")
    assert r.loc["X", "expected_users_change"] == pytest.approx(-23.0)
    assert r.loc["X", "rating"] == "negative"
    assert r.loc["X", "expected_uptake_change_pct"] == -10
    assert pd.isna(r.loc["Y", "expected_users_change"])  # not assessed: no change stated
