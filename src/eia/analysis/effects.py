"""Rating a service change's declared effects per group, with residents (and expected users) behind each; undeclared groups are not assessed."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from eia.analysis.burden import (
    NOT_ASSESSED,
)
from eia.analysis.flags import (
    MARGIN,
    _kind,
    flag_margins,
    scaled,
    variation,
)

__all__ = ["rate_effects", "assessed_effects", "add_expected_users"]


def rate_effects(
    effects: list[Mapping],
    populations: Mapping[str, pd.Series],
    *,
    uptake_change_pct: float = 5.0,
    disproportionate_ratio: float = 1.2,
    min_people: int = 100,
    option: str = "Proposed",
    margins: bool = True,
) -> pd.DataFrame:
    """Rate declared expected effects of a service change, group by group.

    ``effects`` are mappings with ``dimension``, ``group``, ``uptake_change_pct``
    and ``rationale``. ``populations`` maps a dimension to a Series of people
    per group (for ``age``: residents of each declared age group and of the other
    ages, from the pack's single-year ages by LSOA). A group with no declared
    effect is :data:`NOT_ASSESSED` (its expected change is left empty), never
    neutral; for the rest of its dimension it counts as unchanged (0%), which is
    what declaring no effect for it states.

    A group is negative at −``uptake_change_pct`` or below, positive at
    +``uptake_change_pct`` or above, else neutral; a group with fewer than
    ``min_people`` residents is *not rated*. A negative rating is
    disproportionate when the group's expected change is at least
    ``uptake_change_pct`` points below the rest of its dimension's
    (population-weighted) and, if the rest also loses, at least
    ``disproportionate_ratio`` times the rest's loss. Dimensions without
    small-area populations (age, sex, other) are rated, but their disproportion
    cannot be assessed and is left empty; age groups have populations when the
    caller supplies them (:func:`eia.assessment.assess` does), and are then tested
    like any other group.

    With ``margins`` (the default), ``flag_margin`` and ``flag_flips`` say whether the
    disproportionate decision holds with ``uptake_change_pct``, ``disproportionate_ratio``
    (its excess over 1) and ``min_people`` each a quarter higher and lower
    (:func:`flag_margins`).
    """
    out = _effect_rows(
        effects, populations, uptake_change_pct, disproportionate_ratio, min_people, option
    )
    if margins:
        base = {"uptake_change_pct": uptake_change_pct, "ratio": disproportionate_ratio}
        base["min_residents"] = min_people
        variations = []
        for field, value in base.items():
            kind = _kind(field)
            for factor in (1 + MARGIN, 1 - MARGIN):
                varied = scaled(value, factor, kind)
                if varied != value:
                    variations.append((variation(field, varied), base | {field: varied}))
        out = out.join(
            flag_margins(
                lambda v: _effect_rows(
                    effects,
                    populations,
                    v["uptake_change_pct"],
                    v["ratio"],
                    v["min_residents"],
                    option,
                ),
                out,
                variations,
            )
        )
    return out


def _effect_rows(
    effects: list[Mapping],
    populations: Mapping[str, pd.Series],
    uptake_change_pct: float,
    disproportionate_ratio: float,
    min_people: int,
    option: str,
) -> pd.DataFrame:
    """:func:`rate_effects`'s ratings and flags."""
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
        known = pops.reindex(groups).fillna(0) if pops is not None else None
        average = np.nan
        if known is not None and known.sum() > 0:
            average = float(sum(changes[g] * known[g] for g in groups) / known.sum())
        n_declared = sum(1 for d, _ in declared if d == dimension)
        for g in groups:
            change = changes[g]
            pop = int(known[g]) if known is not None else None
            rest = np.nan
            if known is not None and known.sum() - known[g] > 0:
                rest = float(
                    sum(changes[h] * known[h] for h in groups if h != g) / (known.sum() - known[g])
                )
            note = ""
            entry = declared.get((dimension, g), {})
            if not entry:
                rating = NOT_ASSESSED
            elif pop is not None and pop < max(min_people, 1):
                rating = "not rated"
                note = "few_residents" if pop else "no_residents"
            elif change <= -uptake_change_pct and change < 0:
                rating = "negative"
            elif change >= uptake_change_pct and change > 0:
                rating = "positive"
            else:
                rating = "neutral"
            ratio = change / rest if rest < 0 and change < 0 else np.nan
            difference = change - rest if not np.isnan(rest) else np.nan
            dispro = None
            if pops is not None:
                dispro = bool(
                    rating == "negative"
                    and difference <= -uptake_change_pct
                    and (rest >= 0 or ratio >= disproportionate_ratio)
                )
            rows.append(
                {
                    "option": option,
                    "dimension": dimension,
                    "group": g,
                    "population": pop,
                    "expected_uptake_change_pct": change if entry else np.nan,
                    "average_change_pct": average,
                    "rest_change_pct": rest,
                    "difference_pct_points": difference,
                    "disproportion_ratio": ratio,
                    "rating": rating,
                    "rating_note": note,
                    "disproportionate": dispro,
                    "declared": bool(entry),
                    "single_declared_effect": bool(entry) and n_declared == 1,
                    "rationale": entry.get("rationale", ""),
                }
            )
    return pd.DataFrame(rows)


def assessed_effects(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split :func:`rate_effects`' rows into the rated ones and those :data:`NOT_ASSESSED`
    (``option, dimension, group``: groups with no declared effect, shown once, collapsed)."""
    if not len(rows) or "rating" not in rows:
        return rows, pd.DataFrame(columns=["option", "dimension", "group"])
    skipped = rows["rating"] == NOT_ASSESSED
    rest = rows[~skipped].reset_index(drop=True)
    return rest, rows.loc[skipped, ["option", "dimension", "group"]].reset_index(drop=True)


def add_expected_users(
    impacts: pd.DataFrame,
    representation: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Expected effects in users, not only per cent: users now × expected change.

    ``representation`` maps a dimension to a frame with ``group`` and ``count``
    (current users, from the service data). Adds ``users_now`` and
    ``expected_users_change`` to expected-effect rows.
    """
    if "expected_uptake_change_pct" not in impacts:
        return impacts
    impacts = impacts.copy()
    now = []
    for row in impacts.itertuples():
        table = representation.get(row.dimension)
        value = np.nan
        if table is not None and not pd.isna(row.expected_uptake_change_pct):
            match = table[table["group"].astype(str) == str(row.group)]
            if len(match):
                value = pd.to_numeric(match["count"], errors="coerce").iloc[0]
        now.append(value)
    impacts["users_now"] = now
    impacts["expected_users_change"] = (
        impacts["users_now"] * impacts["expected_uptake_change_pct"] / 100
    )
    return impacts
