"""Ratings as labels: Core20 and IMD quintile 1 merged where they are the same people, and the rating's symbol and words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eia.analysis.burden import (
    RATINGS,
    Rules,
)
from eia.analysis.representation import (
    CORE20_GROUP,
    MERGED_Q1,
    Q1_GROUP,
)

__all__ = [
    "REST_GROUP",
    "MERGED_REST",
    "SAME_PEOPLE",
    "merge_core20",
    "same_figures",
    "rating_labels",
    "rating_label",
    "rating_words",
    "access_rules_sentence",
    "ratings_count_sentence",
]


REST_GROUP = "Rest of area (deciles 3-10)"
MERGED_REST = "Rest of area (IMD quintiles 2–5, not Core20)"
SAME_PEOPLE = (
    "IMD quintile 1 and Core20 are the same people here (Core20 is the most deprived 20% of "
    "neighbourhoods in England, national IMD 2025 deciles 1–2, which make up quintile 1), so "
    "their figures are identical and they are shown once, as “" + MERGED_Q1 + "”."
)


def merge_core20(rows: pd.DataFrame) -> pd.DataFrame:
    """Rating rows with IMD quintile 1 and Core20 shown once when they are the same people.

    When the Core20 row's figures and rating equal quintile 1's (Core20 is national IMD
    deciles 1–2, i.e. quintile 1), the quintile 1 row is relabelled :data:`MERGED_Q1`, the
    Core20 row is dropped and the rest of the area follows quintile 5 as :data:`MERGED_REST`.
    When they differ (another deprivation measure, declared effects that differ), the rows are
    returned unchanged. For display only: ``metrics.json`` keeps every row.
    """
    q1 = rows[(rows["dimension"] == "imd_quintile") & (rows["group"] == Q1_GROUP)]
    core = rows[(rows["dimension"] == "core20") & (rows["group"] == CORE20_GROUP)]
    if len(q1) != 1 or len(core) != 1 or not same_figures(q1.iloc[0], core.iloc[0]):
        return rows
    out = rows.copy()
    out.loc[q1.index, "group"] = MERGED_Q1
    out = out.drop(index=core.index)
    rest = out[(out["dimension"] == "core20") & (out["group"] == REST_GROUP)]
    out.loc[rest.index, ["dimension", "group"]] = ["imd_quintile", MERGED_REST]
    order = [i for i in out.index if i not in rest.index]
    quintiles = [k for k, i in enumerate(order) if out.at[i, "dimension"] == "imd_quintile"]
    at = quintiles[-1] + 1 if quintiles else len(order)
    order[at:at] = list(rest.index)
    return out.loc[order]


def same_figures(a: pd.Series, b: pd.Series) -> bool:
    """Whether two rating rows have the same rating and the same figures (labels aside)."""
    skip = {"option", "dimension", "group", "sentence", "rating_note", "rationale"}
    for key in a.index:
        if key in skip or key not in b.index:
            continue
        x, y = a[key], b[key]
        numbers = (int, float, np.number)
        if isinstance(x, numbers) and isinstance(y, numbers) and not isinstance(x, bool):
            same = bool(np.isclose(float(x), float(y), equal_nan=True))
        elif x is None or y is None or (np.isscalar(x) and np.isscalar(y)):
            same = x == y or (pd.isna(x) and pd.isna(y))
        else:
            same = str(x) == str(y)
        if not same:
            return False
    return True


def rating_labels(rows: pd.DataFrame) -> list[str]:
    """:func:`rating_label` for every row of a ratings frame (``rating``, ``disproportionate``,
    optional ``rating_note``)."""
    notes = rows["rating_note"] if "rating_note" in rows else [None] * len(rows)
    return [
        rating_label(r, d, n)
        for r, d, n in zip(rows["rating"], rows["disproportionate"], notes, strict=True)
    ]


def rating_label(rating: str, disproportionate: bool | None, note: str | None = None) -> str:
    """Text shown in ratings tables: a word, never colour alone (e.g. 'Negative – disproportionate').

    ``note`` says why a group is not rated ('fewer than 100 residents'). A mixed rating's
    flag concerns its losses only, so it reads 'Mixed – disproportionate losses'.
    """
    word = {
        "positive": "▲ Positive",
        "neutral": "● Neutral",
        "negative": "▼ Negative",
        "mixed": "◆ Mixed",
        "not rated": "○ Not rated",
    }[rating]
    if note and isinstance(note, str):
        word += f" ({note})"
    if not disproportionate or pd.isna(disproportionate):
        return word
    return f"{word} – disproportionate{' losses' if rating == 'mixed' else ''}"


def rating_words(rating: str, disproportionate: bool | None, note: str | None = None) -> str:
    """:func:`rating_label` for a sentence: no symbol, lower case ('negative – disproportionate')."""
    label = rating_label(rating, disproportionate, note).split(" ", 1)[1]
    return label[0].lower() + label[1:]


def access_rules_sentence(rules) -> str:
    """The access rating rules in two sentences, with this proposal's thresholds.

    ``rules`` is a :class:`Rules` (any unit) or a :class:`eia.params.Thresholds` (km).
    """
    r = rules if isinstance(rules, Rules) else Rules.from_thresholds(rules)
    u = r.unit
    thing = "distance" if u == "km" else "travel time"
    return (
        f"Only changes of more than {r.change:g} {u} count. A group is rated negative when the "
        f"{thing} added per resident reaches {r.material:g} {u} or {r.material_share:.1%} of "
        f"its residents newly live more than {r.far:g} {u} away (positive likewise for "
        f"{thing} removed; mixed when both gains and losses reach it; neutral when neither); "
        f"groups of fewer than {r.min_residents:,} residents are not rated. A negative or mixed "
        f"rating is disproportionate when the group's {thing} added per resident is at least "
        f"{r.ratio:g} times, and {r.difference:g} {u} more than, that of the rest of the area."
    )


def ratings_count_sentence(impacts: pd.DataFrame, option: str | None) -> str:
    """How many groups got each rating, counting each resident once per dimension.

    The ``all`` row and the ``core20`` dimension are left out of the count: Core20
    is IMD quintile 1, so counting it again would count the same residents twice.
    """
    rows = impacts[impacts["option"] == option] if option is not None else impacts
    counted = rows[~rows["dimension"].isin(["all", "core20"])]
    counts = counted["rating"].value_counts()
    parts = [f"{int(counts[r])} {r}" for r in RATINGS if r in counts]
    flagged = counted[counted["disproportionate"].fillna(False).astype(bool)]
    text = (
        f"Of {len(counted)} groups rated for {option} (IMD quintiles, Core20 being quintile 1, "
        f"and other dimensions): {', '.join(parts)}"
    )
    if len(flagged):
        return text + f"; disproportionately affected: {', '.join(flagged['group'])}."
    return text + "; none disproportionately affected."
