"""Impact rating rules on hand-built cases, and options ordering."""

from __future__ import annotations

import pandas as pd
import pytest

from eia import impact

# Four LSOAs: two Core20, two not. Each has 1,000 residents.
CODES = ["A", "B", "C", "D"]


def weights() -> dict[str, pd.DataFrame]:
    core = pd.DataFrame({"Core20": [1000, 1000, 0, 0], "Rest": [0, 0, 1000, 1000]}, index=CODES)
    ethnic = pd.DataFrame(
        {"Group X": [500, 500, 500, 500], "Group Y": [500, 500, 500, 500]}, index=CODES
    )
    return {"core20": core, "ethnic_group": ethnic}


def distances(change: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"lsoa21_code": CODES, "km_change": change})


def rated(change: list[float], **kw) -> pd.DataFrame:
    return impact.rate_access(distances(change), weights(), **kw).set_index(["dimension", "group"])


def test_harm_only_to_core20_is_negative_and_disproportionate_for_core20_only():
    r = rated([3.0, 3.0, 0.0, 0.0])
    assert r.loc[("core20", "Core20"), "rating"] == "negative"
    assert bool(r.loc[("core20", "Core20"), "disproportionate"]) is True
    assert r.loc[("core20", "Core20"), "disproportion_ratio"] == pytest.approx(2.0)
    assert r.loc[("core20", "Rest"), "rating"] == "neutral"
    assert not r.loc[("core20", "Rest"), "disproportionate"]
    # evenly spread ethnic groups are harmed but not disproportionately
    assert (r.loc["ethnic_group", "rating"] == "negative").all()
    assert not r.loc["ethnic_group", "disproportionate"].any()


def test_help_for_everyone_equally_is_positive_and_never_disproportionate():
    r = rated([-2.0, -2.0, -2.0, -2.0])
    assert (r["rating"] == "positive").all()
    assert not r["disproportionate"].any()


def test_changes_within_the_threshold_are_neutral():
    r = rated([0.5, -0.5, 0.9, 0.0], change_km=1.0)
    assert (r["rating"] == "neutral").all()


def test_too_few_people_affected_is_neutral():
    r = rated([3.0, 0.0, 0.0, 0.0], min_people=1500)
    assert r.loc[("core20", "Core20"), "rating"] == "neutral"


def test_sentence_states_the_figures():
    r = rated([3.0, 3.0, 0.0, 0.0])
    sentence = r.loc[("core20", "Core20"), "sentence"]
    assert sentence.startswith("Core20: negative, disproportionate.")
    assert "2,000 of 2,000 people (100.0%)" in sentence
    assert "ratio 2.00" in sentence


def test_least_adverse_option_prefers_no_disproportionate_harm():
    a = impact.rate_access(distances([3.0, 3.0, 0.0, 0.0]), weights(), option="A")
    b = impact.rate_access(distances([0.0, 0.0, 3.0, 3.0]), weights(), option="B")
    c = impact.rate_access(distances([2.0, 2.0, 2.0, 2.0]), weights(), option="C")
    best, reason = impact.least_adverse(pd.concat([a, b, c]))
    # B harms only the less deprived half: disproportionate for "Rest", but no Core20 harm.
    # C harms everyone: no disproportion at all, so it ranks first.
    assert best == "C"
    order = impact.summarise_options(pd.concat([a, b, c]))["option"].tolist()
    assert order == ["C", "B", "A"]
    assert reason.startswith("C has 0 disproportionate")


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
    assert (r.drop("Q1")["rating"] == "neutral").all()
    assert "Rationale given: digital" in r.loc["Q1", "sentence"]


def test_effects_without_population_cannot_be_disproportionate():
    effects = [{"dimension": "age", "group": "75+", "uptake_change_pct": -10, "rationale": ""}]
    r = impact.rate_effects(effects, {})
    assert r.loc[0, "rating"] == "negative"
    assert r.loc[0, "disproportionate"] is None


def test_ratings_have_a_text_cue_beyond_colour():
    assert impact.rating_label("negative", True) == "▼ Negative – disproportionate"
    assert impact.rating_label("positive", False) == "▲ Positive"


def test_core20_follows_declared_quintile_effects():
    from eia.area import QUINTILE_LABELS
    from eia.assessment import core20_effects

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
