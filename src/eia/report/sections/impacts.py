"""Impacts by group: each option's ratings per dimension with the figures and the reasons,
the narrative prompts and declared effects.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from eia.analysis import impact
from eia.analysis.impact import DIMENSION_LABELS
from eia.assessment import Assessment
from eia.params import NARRATIVE_KEYS
from eia.params.kinds import UNITS
from eia.population.area import ETHNIC_SHORT
from eia.report import figures, ratings
from eia.report import summary as summary_mod
from eia.report.show import (
    Block,
    Html,
    Table,
    fmt_int,
    fmt_pct,
    heading,
    join_words,
    paragraphs,
)
from eia.report.wording import primary_reason

__all__ = [
    "not_assessed_sentence",
    "effects",
    "impact_frame",
    "impacts",
    "narrative",
    "narrative_table",
]


# ---------------------------------------------------------------------------
# Impacts


def impacts(a: Assessment) -> Block:
    """Impacts by group: for each option and dimension, a table of each group's rating, the
    figures it rests on and why, in a few words (:func:`impact_frame`)."""
    if not len(a.rated.impacts):
        return Block(
            paragraphs(
                "No impacts could be rated: the proposal has no site change and no declared effects."
            ),
            narrative_table(a),
        )
    parts: list = []
    scenarios = list(dict.fromkeys(a.rated.impacts["option"]))
    if a.primary in scenarios:  # the option the summary names first
        scenarios.remove(a.primary)
        scenarios.insert(0, a.primary)
    subject = (
        "each option"
        if len(scenarios) > 1
        else "the service now"
        if a.kind.rates == "uptake"
        else figures.scenario_name(a, scenarios[0])
    )
    parts.append(
        paragraphs(
            f"Ratings for {subject}, group by group: each row gives the figures the rating rests "
            "on and, under “Why”, the rule they meet or miss (“close to” when a figure is "
            "near its threshold; “Marginal” when one threshold a quarter higher or lower would "
            "change whether the group is disproportionately affected); “How the ratings work” "
            "sets out the rules."
        )
    )
    said_same = False
    for scenario in scenarios:
        rows = impact.merge_core20(a.rated.impacts[a.rated.impacts["option"] == scenario])
        level = 3
        if len(scenarios) > 1:
            why = f" ({primary_reason(a)})" if scenario == a.primary and primary_reason(a) else ""
            parts.append(heading(f"{scenario} compared with doing nothing{why}", 3))
            level = 4
        name = "the service now" if a.kind.rates == "uptake" else figures.scenario_name(a, scenario)
        if impact.MERGED_Q1 in set(rows["group"]) and not said_same:
            said_same = True
            parts.append(paragraphs(ratings.same_people()))
        for dim in dict.fromkeys(rows["dimension"]):
            part = rows[rows["dimension"] == dim]
            label = DIMENSION_LABELS.get(dim, dim)
            parts.append(heading(label, level))
            parts.append(Table(impact_frame(a, part), f"{label}: ratings for {name}"))
    skipped = not_assessed_sentence(a)
    if skipped:
        parts.append(paragraphs(skipped))
    parts.append(narrative(a))
    return Block(*parts)


def not_assessed_sentence(a: Assessment) -> str | None:
    """Groups with no declared effect, once: "Not assessed (no effect declared): Religion (all
    9 groups); Deprivation: Q2, Q3 and Q4." None when every group has a declared effect."""
    rows = a.rated.not_assessed
    if rows is None or not len(rows):
        return None
    rows = rows.drop_duplicates(["dimension", "group"])
    rated = a.rated.impacts if len(a.rated.impacts) else pd.DataFrame(columns=["dimension"])
    parts = []
    for dim in dict.fromkeys(rows["dimension"]):
        groups = [
            ETHNIC_SHORT.get(str(g), str(g)) for g in rows.loc[rows["dimension"] == dim, "group"]
        ]
        label = DIMENSION_LABELS.get(dim, dim)
        if not (rated["dimension"] == dim).any():
            parts.append(f"{label} (all {len(groups)} groups)" if len(groups) > 1 else label)
        else:
            parts.append(f"{label}: {join_words(groups)}")
    return (
        "Not assessed, because the proposal declares no effect for them (they are neither "
        f"rated nor assumed neutral): {'; '.join(parts)}."
    )


def impact_frame(a: Assessment, rows: pd.DataFrame) -> pd.DataFrame:
    """Rating rows as the impacts table: group, the figures each rating rests on (every
    figure its "Why" quotes), the rating and why."""
    frame = pd.DataFrame({"Group": rows["group"].to_numpy()})
    first = rows.iloc[0]
    if "further" in rows and pd.notna(first.get("further")):
        unit = str(first.get("unit", "km")) if isinstance(first.get("unit"), str) else "km"
        r = a.rules if a.rules is not None and unit == a.rules.unit else None
        r = r or impact.Rules.from_thresholds(a.proposal.thresholds, unit)
        pop = rows["residents"].astype(float).replace(0, np.nan)
        num = lambda v, d=2: "–" if pd.isna(v) else "none" if np.isinf(v) else f"{v:.{d}f}"  # noqa: E731
        frame["Residents"] = rows["residents"].map(fmt_int).to_numpy()
        frame[f"More than {r.change:g} {unit} {UNITS[unit].more}"] = (
            (rows["further"] / pop).map(fmt_pct).to_numpy()
        )
        frame[f"Added per resident ({unit})"] = rows["added_per_resident"].map(num).to_numpy()
        frame[f"Newly beyond {r.far:g} {unit}"] = (rows["newly_far"] / pop).map(fmt_pct).to_numpy()
        if (rows["nearer"] > 0).any():
            frame[f"Saved per resident ({unit})"] = rows["removed_per_resident"].map(num).to_numpy()
            frame[f"Newly within {r.far:g} {unit}"] = (
                (rows["newly_near"] / pop).map(fmt_pct).to_numpy()
            )
        frame[f"Rest of area: added per resident ({unit})"] = (
            rows["rest_added_per_resident"].map(num).to_numpy()
        )
        frame["Ratio to rest of area"] = [  # 3 decimals for a marginal flag, as its "Why"
            ("none" if np.isinf(row.burden_ratio) else ratings.ratio_text(row))
            if row.rating in ("negative", "mixed") and pd.notna(row.burden_ratio)
            else "–"
            for row in ratings.row_tuples(rows)
        ]
    elif "expected_uptake_change_pct" in rows and pd.notna(first.get("expected_uptake_change_pct")):
        pct = lambda v, d=0: "–" if pd.isna(v) else f"{v:+.{d}f}%"  # noqa: E731
        frame["Residents"] = rows["population"].map(fmt_int).to_numpy()
        frame["Expected change"] = rows["expected_uptake_change_pct"].map(pct).to_numpy()
        frame["Rest of its dimension"] = rows["rest_change_pct"].map(lambda v: pct(v, 1)).to_numpy()
        if "expected_users_change" in rows and rows["expected_users_change"].notna().any():
            frame["Expected change in number (service data's period)"] = [
                "–" if pd.isna(v) else f"{v:+,.0f}" for v in rows["expected_users_change"]
            ]
    elif "representation" in rows:
        reps = (
            pd.concat(
                [t.assign(dimension=d) for d, t in a.uptake.representation.items()],
                ignore_index=True,
            )
            if a.uptake is not None and a.uptake.representation
            else None
        )
        noun = summary_mod.measure_noun(a.uptake.result) if a.uptake is not None else "records"
        shares = {}
        if reps is not None:
            shares = {
                (d, str(g)): (us, ps)
                for d, g, us, ps in zip(
                    reps["dimension"],
                    reps["group"],
                    reps["user_share"],
                    reps["population_share"],
                    strict=True,
                )
            }
        merged = {impact.MERGED_Q1: impact.CORE20_GROUP, impact.MERGED_REST: impact.REST_GROUP}
        dims = [
            "core20" if g in merged else d
            for d, g in zip(rows["dimension"], rows["group"], strict=True)
        ]
        groups = [merged.get(str(g), str(g)) for g in rows["group"]]
        found = [shares.get(k, (np.nan, np.nan)) for k in zip(dims, groups, strict=True)]
        frame[f"Share of {noun}"] = [fmt_pct(x[0]) for x in found]
        population = a.uptake.result.population if a.uptake is not None else "residents"
        frame[f"Share of {population}"] = [fmt_pct(x[1]) for x in found]
        frame["Representation (95% CI)"] = [
            "withheld" if pd.isna(v) else f"{v:.2f} ({lo:.2f} to {hi:.2f})"
            for v, lo, hi in zip(
                rows["representation"],
                rows["representation_lower"],
                rows["representation_upper"],
                strict=True,
            )
        ]
        if "basis" in rows and (rows["basis"] == "age-standardised").any():
            frame["Rated on"] = [
                "age-standardised rates" if b == "age-standardised" else "crude rates"
                for b in rows["basis"]
            ]
    if "rationale" in rows and rows["rationale"].fillna("").astype(str).str.strip().any():
        frame["Rationale given"] = rows["rationale"].fillna("").to_numpy()
    frame["Rating"] = ratings.rating_labels(rows, a.proposal.thresholds.min_people)
    frame["Why"] = ratings.rating_sentences(rows, a)
    if "at_risk" in rows and rows["at_risk"].fillna(False).astype(bool).any():
        gaps = rows["uptake_gap"] if "uptake_gap" in rows else rows["at_risk"]
        frame["Service data now"] = [
            ratings.risk_words(gap) if risk is True else ""
            for risk, gap in zip(rows["at_risk"], gaps, strict=True)
        ]
    return frame


def _sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?])\s+(?=[A-Z])", str(text)) if x]


def _shared_reasons(sentences) -> list[str]:
    """The "Rated … because …" sentences several groups share: said once, above the lists."""
    counts: dict[str, int] = {}
    for text in sentences:
        for sentence in dict.fromkeys(_sentences(text)):
            if sentence.startswith("Rated "):
                counts[sentence] = counts.get(sentence, 0) + 1
    return [x for x, n in counts.items() if n > 1]


def _without(text: str, said: list[str]) -> str:
    return " ".join(x for x in _sentences(text) if x not in said)


def narrative_table(a: Assessment) -> Table:
    """The owner's answers to the prompts without small-area data, as a table."""
    rows = [
        {
            "Characteristic or group": label,
            "Assessment by the proposal's owner": a.proposal.narrative.get(
                key, "Not yet answered."
            ),
        }
        for key, label in NARRATIVE_KEYS.items()
    ]
    return Table(
        pd.DataFrame(rows), "Prompts without small-area data, answered by the proposal's owner"
    )


def narrative(a: Assessment) -> Block:
    """Other protected characteristics and inclusion-health groups, as prompts with the owner's answers."""
    return Block(
        heading("Other protected characteristics and inclusion health groups"), narrative_table(a)
    )


def effects(a: Assessment) -> Html | Table:
    """The expected effects declared in the proposal, as a table."""
    rows = a.proposal.effects
    if not rows:
        return paragraphs("The proposal declares no expected effects on particular groups.")
    return Table(
        pd.DataFrame(
            [
                {
                    "Dimension": DIMENSION_LABELS.get(e.dimension, e.dimension),
                    "Group": e.group,
                    "Expected change in uptake": f"{e.uptake_change_pct:+g}%",
                    "Rationale given": e.rationale or "none given",
                }
                for e in rows
            ]
        ),
        "Expected effects declared by the proposal's owner (assumptions, not measurements)",
    )
