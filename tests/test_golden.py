"""The report's wording, checked against reviewed golden fragments (tests/golden): the
decision card, the ratings' labels, "Why" sentences and flag cells (report/prose/rating.j2),
and the journey-time and access sections (report/prose/travel.j2, access.j2).

Wording is not checked phrase by phrase: a change to the templates in
``src/eia/report/prose`` shows up here as a diff to review. After reviewing it, regenerate
the fragments deliberately with::

    EIA_REGENERATE_GOLDEN=1 pytest tests/test_golden.py

and commit them with the template change (tests/golden/README.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from golden_check import matches

from eia.analysis import impact, uptake
from eia.params import Thresholds
from eia.report import decision, ratings, sections, travel

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ["notts-diagnostics-consolidation", "notts-community-hub"]
TRAVEL_EXAMPLE = "notts-diagnostics-travel-time"


def _matches(golden: Path, text: str, what: str, *, masked: bool = True) -> None:
    matches(golden, text, what, masked=masked)


@pytest.mark.parametrize("example", EXAMPLES)
def test_decision_card_matches_its_reviewed_golden_fragment(example, example_assessment):
    markup = decision.card(example_assessment(example)).markup + "\n"
    _matches(GOLDEN / f"decision-card-{example}.html", markup, "the decision card")


def _lines(rows: pd.DataFrame, say, least: int = 100) -> str:
    out = []
    for _, row in rows.iterrows():
        out.append(f"[{row['option']} | {row['dimension']} | {row['group']}]")
        if "_rules" in row:
            least = row["_rules"].min_residents
        label = ratings.rating_label(
            row["rating"], row["disproportionate"], row.get("rating_note"), least
        )
        out.append(f"  Rating: {label}")
        out.append(f"  Why:    {say(row)}")
        cell = ratings.flag_cell(row)
        if cell:
            out.append(f"  Flag:   {cell}")
    return "\n".join(out) + "\n"


def test_rating_sentences_of_an_example_match_their_reviewed_golden_fragment(
    example_assessment,
):
    """The ratings tables' labels, "Why" and flag cells for every group and option of the
    Nottingham diagnostics consolidation (two options, marginal flags)."""
    a = example_assessment("notts-diagnostics-consolidation")
    rows = pd.concat(
        [impact.merge_core20(g) for _, g in a.rated.impacts.groupby("option", sort=False)],
        ignore_index=True,
    )
    why = dict(zip(rows.index, ratings.rating_sentences(rows, a), strict=True))
    least = a.proposal.thresholds.min_people
    text = _lines(rows.assign(_i=rows.index), lambda r: why[r["_i"]], least)
    _matches(GOLDEN / "ratings-notts-diagnostics-consolidation.txt", text, "the ratings' words")


def _access_cases() -> pd.DataFrame:
    """Hand-built burden rows reaching every branch of the access sentence."""
    codes = ["A", "B", "C", "D"]
    people = {
        "core20": pd.DataFrame({"Core20": [1000, 1000, 0, 0], "Rest": [0, 0, 1000, 1000]}, codes)
    }
    cases = {
        "flagged, rest none": ([3.0, 3.0, 0.0, 0.0], {}),
        "ratio short": ([2.6, 2.6, 2.4, 2.4], {}),
        "marginal": ([2.8, 2.8, 2.4, 2.4], {}),
        "difference short": ([0.15, 0.15, 0.1, 0.1], {"change": 0.01}),
        "mixed": ([10.0, -1.1, -1.1, 0.0], {}),
        "close": ([0.21, 0.0, 0.0, 0.0], {"change": 0.01, "far": 50}),
        "newly far only, not flagged": ([1.2, 1.2, 0.0, 0.0], {"material": 10.0}),
        "positive by share": ([-1.2, -1.2, 0.0, 0.0], {"material": 10.0, "far": 4.0}),
        "neutral, some newly far": (
            [1.2, 0.0, 0.0, 0.0],
            {"material": 10.0, "material_share": 0.6},
        ),
        "not rated": ([3.0, 3.0, 0.0, 0.0], {"min_residents": 5000}),
        "minutes": ([12.0, 12.0, 0.0, 0.0], {"unit": "min", "change": 5, "far": 30, "material": 1}),
    }
    frames = []
    for name, (changes, kw) in cases.items():
        before = pd.Series(4.5, index=codes)
        rules = impact.Rules(**kw)
        rows = impact.burden(before, before + pd.Series(changes, index=codes), people, rules)
        frames.append(rows.assign(option=name, _rules=[rules] * len(rows)))
    return pd.concat(frames, ignore_index=True)


def _effect_cases() -> pd.DataFrame:
    pops = {"ethnic_group": pd.Series({"X": 500, "Y": 5000, "Z": 40, "W": 95000})}
    cases = {
        "declared": [
            {"dimension": "ethnic_group", "group": "X", "uptake_change_pct": -10},
            {"dimension": "ethnic_group", "group": "Y", "uptake_change_pct": -8},
            {"dimension": "ethnic_group", "group": "Z", "uptake_change_pct": -30},
            {"dimension": "ethnic_group", "group": "W", "uptake_change_pct": 2},
        ],
        "single, marginal": [{"dimension": "ethnic_group", "group": "Y", "uptake_change_pct": -5}],
        "positive": [{"dimension": "ethnic_group", "group": "X", "uptake_change_pct": 12}],
    }
    frames = [impact.rate_effects(e, pops, option=name) for name, e in cases.items()]
    return pd.concat(frames, ignore_index=True)


def _audit_cases() -> pd.DataFrame:
    """An equity audit's representation rows: withheld (count, total), a material gap each way
    (one disproportionate, one close to its limit), a difference inside the band, none."""
    table = pd.DataFrame(
        {
            "group": [
                "withheld",
                "total withheld",
                "under",
                "under, near",
                "over",
                "small",
                "none",
            ],
            "population": [1000.0] * 7,
            "count": [np.nan, 40.0, 50.0, 50.0, 50.0, 50.0, 50.0],
            "representation": [np.nan, np.nan, 0.6, 0.86, 1.3, 0.95, 1.0],
            "representation_lower": [np.nan, np.nan, 0.5, 0.83, 1.2, 0.92, 0.9],
            "representation_upper": [np.nan, np.nan, 0.7, 0.88, 1.4, 0.98, 1.1],
        }
    )
    return uptake.rate_representation({"imd_quintile": table}, option="audit")


def test_rating_sentences_of_hand_built_cases_match_their_reviewed_golden_fragment():
    """Every branch of the access and expected-effect sentences (rating.j2), no data needed."""
    access = _access_cases()
    effects = _effect_cases()
    text = _lines(access, lambda r: ratings.rating_sentence(r, r["_rules"]))
    effect_rules = ratings.EffectRules.from_thresholds(Thresholds())
    text += _lines(effects, lambda r: ratings.rating_sentence(r, effect_rules=effect_rules))
    audit_rules = ratings.AuditRules.from_thresholds(Thresholds(), label="visits")
    text += _lines(_audit_cases(), lambda r: ratings.rating_sentence(r, audit_rules=audit_rules))
    text += f"[caption, access]\n  {ratings.flag_rule(True, impact.Rules())}\n"
    text += (
        f"[caption, expected effects]\n  {ratings.flag_rule(False, effect_rules=effect_rules)}\n"
    )
    _matches(GOLDEN / "rating-sentences-cases.txt", text, "the ratings' words", masked=False)


def _without_images(markup: str) -> str:
    """The markup with embedded PNGs cut (their pixels are not wording), one element a line."""
    return re.sub(r'src="data:[^"]*"', 'src="…"', markup).replace("><", ">\n<") + "\n"


def test_travel_time_section_matches_its_reviewed_golden_fragment(example_assessment):
    """Journey times by mode (prose/travel.j2): intro, synthetic notice, tables, curves."""
    markup = travel.access(example_assessment(TRAVEL_EXAMPLE)).markup
    golden = GOLDEN / f"travel-time-{TRAVEL_EXAMPLE}.html"
    _matches(golden, _without_images(markup), "the travel section")


def test_access_section_matches_its_reviewed_golden_fragment(example_assessment):
    """Access by distance (prose/access.j2): how it is measured, then a table per dimension."""
    markup = sections.access(example_assessment(EXAMPLES[0])).markup
    _matches(GOLDEN / f"access-{EXAMPLES[0]}.html", _without_images(markup), "the access section")
