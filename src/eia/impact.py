"""Impact ratings per group: positive, neutral or negative, and whether harm is disproportionate.

The rules are deliberately simple so a board can check them by hand; every
threshold comes from the proposal's ``thresholds`` block (defaults in
``eia.params.Thresholds``).

Access (site changes), for each group *g* with *P_g* people in the area:

* *A_g* — people of *g* living in LSOAs whose distance to the nearest site
  rises by more than ``change_km`` (adversely affected);
* *B_g* — people of *g* whose distance falls by more than ``change_km``;
* rating is **negative** if *A_g* ≥ ``min_people`` and *A_g* > *B_g*;
  **positive** if *B_g* ≥ ``min_people`` and *B_g* > *A_g*; else **neutral**;
* a negative rating is **disproportionate** when the group's share of all
  adversely affected people, divided by its share of the population,
  (*A_g*/ΣA) ÷ (*P_g*/ΣP), is at least ``disproportionate_ratio``.

Expected effects (service changes): a group whose expected uptake change is
at most −``uptake_change_pct`` is negative, at least +``uptake_change_pct``
positive, else neutral; a negative rating is disproportionate when the group's
expected loss is at least ``disproportionate_ratio`` times the population-average
loss of its dimension.

Uptake (when service data is given): a group's representation ratio is its
share of the service's users divided by its share of residents; its 95%
interval is the Wilson interval of the user share divided by the population
share. A group whose upper limit is below 1 is **under-represented now**, and
is flagged ``at_risk`` beside its rating. An equity audit rates groups on it:
**negative** when the upper limit is below 1, **positive** when the lower
limit is above 1, else neutral; a negative rating is disproportionate when the
upper limit is below 1 / ``disproportionate_ratio`` (users' share at most
1/1.2 of the population share by default).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from eia.show import fmt_int, fmt_pct

RATINGS = ("positive", "neutral", "negative")

DIMENSION_LABELS = {
    "imd_quintile": "Deprivation (IMD 2025 quintile)",
    "core20": "Core20 (most deprived 20%)",
    "ethnic_group": "Ethnic group",
    "religion": "Religion",
    "disability": "Disability",
    "age": "Age",
    "sex": "Sex",
    "other": "Other",
}


def rate_access(
    distances: pd.DataFrame,
    weights: Mapping[str, pd.DataFrame],
    *,
    change_km: float = 1.0,
    min_people: int = 100,
    disproportionate_ratio: float = 1.2,
    option: str = "Proposed",
) -> pd.DataFrame:
    """Rate the change in access for every group of every dimension.

    ``distances`` is :func:`eia.access.measure`'s output; ``weights`` maps a
    dimension to an LSOA × group frame of people (rows in the same order).
    Returns one row per (dimension, group) with the figures behind the rating
    and a sentence stating them.
    """
    change = distances["km_change"].to_numpy()
    adverse = change > change_km
    benefit = change < -change_km
    rows = []
    for dimension, frame in weights.items():
        w = frame.to_numpy(dtype=float)
        pop = w.sum(axis=0)
        a = adverse @ w
        b = benefit @ w
        pop_total, a_total = pop.sum(), a.sum()
        for j, group in enumerate(frame.columns):
            share_pop = pop[j] / pop_total if pop_total else np.nan
            share_adv = a[j] / a_total if a_total else np.nan
            ratio = share_adv / share_pop if a_total and share_pop else np.nan
            rating = _rating(a[j], b[j], min_people)
            dispro = bool(rating == "negative" and ratio >= disproportionate_ratio)
            rows.append(
                {
                    "option": option,
                    "dimension": dimension,
                    "group": str(group),
                    "population": int(round(pop[j])),
                    "adversely_affected": int(round(a[j])),
                    "benefiting": int(round(b[j])),
                    "share_of_population": share_pop,
                    "share_of_adversely_affected": share_adv,
                    "disproportion_ratio": ratio,
                    "rating": rating,
                    "disproportionate": dispro,
                }
            )
    out = pd.DataFrame(rows)
    out["sentence"] = [
        access_sentence(r, change_km, disproportionate_ratio) for r in out.itertuples()
    ]
    return out


def _rating(adverse: float, benefit: float, min_people: int) -> str:
    floor = max(min_people, 1)
    if adverse >= floor and adverse > benefit:
        return "negative"
    if benefit >= floor and benefit > adverse:
        return "positive"
    return "neutral"


def access_sentence(row, change_km: float, ratio_threshold: float) -> str:
    """The rating of one group in one sentence, with the figures it rests on."""
    pop = row.population
    lead = (
        f"{row.group}: {row.rating}{', disproportionate' if row.disproportionate else ''}. "
        f"{fmt_int(row.adversely_affected)} of {fmt_int(pop)} people "
        f"({fmt_pct(row.adversely_affected / pop if pop else np.nan)}) would live more than "
        f"{change_km:g} km further from their nearest site and {fmt_int(row.benefiting)} "
        f"({fmt_pct(row.benefiting / pop if pop else np.nan)}) more than {change_km:g} km nearer."
    )
    if row.adversely_affected and not pd.isna(row.disproportion_ratio):
        lead += (
            f" They are {fmt_pct(row.share_of_adversely_affected)} of everyone adversely affected "
            f"and {fmt_pct(row.share_of_population)} of the population "
            f"(ratio {row.disproportion_ratio:.2f}; disproportionate from {ratio_threshold:g})."
        )
    return lead


def rate_effects(
    effects: list[Mapping],
    populations: Mapping[str, pd.Series],
    *,
    uptake_change_pct: float = 5.0,
    disproportionate_ratio: float = 1.2,
    option: str = "Proposed",
) -> pd.DataFrame:
    """Rate declared expected effects of a service change, group by group.

    ``effects`` are mappings with ``dimension``, ``group``, ``uptake_change_pct``
    and ``rationale``. ``populations`` maps a dimension to a Series of people
    per group; every group of those dimensions is rated (groups with no declared
    effect have an expected change of 0). Dimensions without small-area
    populations (age, sex, other) are rated but their disproportion cannot be
    assessed and is left empty.
    """
    declared: dict[tuple[str, str], Mapping] = {
        (e["dimension"], str(e["group"])): e for e in effects
    }
    rows = []
    dims = list(populations) + sorted({d for d, _ in declared if d not in populations}, key=str)
    for dimension in dims:
        pops = populations.get(dimension)
        groups = list(pops.index) if pops is not None else []
        groups += [g for d, g in declared if d == dimension and g not in groups]
        changes = {
            g: float(declared.get((dimension, g), {}).get("uptake_change_pct", 0.0)) for g in groups
        }
        average = np.nan
        if pops is not None and pops.sum() > 0:
            known = pops.reindex(groups).fillna(0)
            average = float(sum(changes[g] * known[g] for g in groups) / known.sum())
        for g in groups:
            change = changes[g]
            rating = (
                "negative"
                if change <= -uptake_change_pct and change < 0
                else "positive"
                if change >= uptake_change_pct and change > 0
                else "neutral"
            )
            ratio = change / average if average and average < 0 and change < 0 else np.nan
            dispro = None
            if pops is not None:
                dispro = bool(
                    rating == "negative" and (np.isnan(ratio) or ratio >= disproportionate_ratio)
                )
            pop = int(pops.get(g, 0)) if pops is not None else None
            entry = declared.get((dimension, g), {})
            rows.append(
                {
                    "option": option,
                    "dimension": dimension,
                    "group": g,
                    "population": pop,
                    "expected_uptake_change_pct": change,
                    "average_change_pct": average,
                    "disproportion_ratio": ratio,
                    "rating": rating,
                    "disproportionate": dispro,
                    "rationale": entry.get("rationale", ""),
                }
            )
    out = pd.DataFrame(rows)
    out["sentence"] = [effect_sentence(r) for r in out.itertuples()]
    return out


def effect_sentence(row) -> str:
    """One sentence stating an expected-effect rating and its figures."""
    flag = ", disproportionate" if row.disproportionate else ""
    text = f"{row.group}: {row.rating}{flag}. Expected change in uptake {row.expected_uptake_change_pct:+.0f}%"
    if not pd.isna(row.average_change_pct):
        text += f" against {row.average_change_pct:+.1f}% on average across its dimension"
    text += "."
    if row.rationale:
        text += f" Rationale given: {row.rationale}"
    return text


def representation(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Representation ratio with its interval for each group of an uptake table.

    ``table`` has ``group``, ``count`` and ``population`` (counts withheld by
    disclosure control are missing and give missing results). Returns ``group,
    count, population, user_share, population_share, representation,
    representation_lower, representation_upper``.
    """
    from eia.stats import proportion_ci

    count = pd.to_numeric(table["count"], errors="coerce")
    pop = pd.to_numeric(table["population"], errors="coerce")
    total_count = count.sum(min_count=1) if count.notna().all() else np.nan
    pop_share = pop / pop.sum()
    out = pd.DataFrame({"group": table["group"].astype(str), "count": count, "population": pop})
    out["population_share"] = pop_share
    if np.isfinite(total_count) and total_count > 0:
        share, lower, upper = proportion_ci(
            count.to_numpy(float), np.full(len(count), total_count), confidence
        )
    else:
        share = lower = upper = np.full(len(count), np.nan)
    out["user_share"] = share
    out["representation"] = np.asarray(share) / pop_share.to_numpy()
    out["representation_lower"] = np.asarray(lower) / pop_share.to_numpy()
    out["representation_upper"] = np.asarray(upper) / pop_share.to_numpy()
    return out.reset_index(drop=True)


def least_adverse(impacts: pd.DataFrame) -> tuple[str, str]:
    """The option with the least adverse equity impact, and why.

    Options are ordered by, in turn: fewest disproportionate negative ratings;
    fewest Core20 residents adversely affected; fewest negative ratings; fewest
    people adversely affected in all. Returns (option name, reason sentence).
    """
    table = summarise_options(impacts)
    best = table.iloc[0]
    reason = (
        f"{best['option']} has {int(best['disproportionate'])} disproportionate negative rating(s), "
        f"{fmt_int(best['core20_adversely_affected'])} Core20 residents adversely affected, "
        f"{int(best['negative'])} negative rating(s) and {fmt_int(best['adversely_affected'])} "
        "people adversely affected in all"
    )
    if len(table) > 1:
        runner = table.iloc[1]
        reason += (
            f"; the next, {runner['option']}, has {int(runner['disproportionate'])}, "
            f"{fmt_int(runner['core20_adversely_affected'])}, {int(runner['negative'])} and "
            f"{fmt_int(runner['adversely_affected'])}"
        )
    return str(best["option"]), reason + "."


def summarise_options(impacts: pd.DataFrame) -> pd.DataFrame:
    """One row per option: counts of ratings and adversely affected people, best first."""
    rows = []
    for option, group in impacts.groupby("option", sort=False):
        core = group[(group["dimension"] == "core20") & group["group"].str.startswith("Core20")]
        everyone = group[group["dimension"] == "imd_quintile"]
        rows.append(
            {
                "option": option,
                "negative": int((group["rating"] == "negative").sum()),
                "positive": int((group["rating"] == "positive").sum()),
                "disproportionate": int(group["disproportionate"].fillna(False).astype(bool).sum()),
                "core20_adversely_affected": int(
                    core.get("adversely_affected", pd.Series([0])).sum()
                ),
                "adversely_affected": int(everyone.get("adversely_affected", pd.Series([0])).sum()),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(
        [
            "disproportionate",
            "core20_adversely_affected",
            "negative",
            "adversely_affected",
            "option",
        ],
        kind="stable",
    ).reset_index(drop=True)


def rating_label(rating: str, disproportionate: bool | None) -> str:
    """Text shown in ratings tables: a word, never colour alone (e.g. 'Negative – disproportionate')."""
    word = {"positive": "▲ Positive", "neutral": "● Neutral", "negative": "▼ Negative"}[rating]
    return f"{word} – disproportionate" if disproportionate else word
