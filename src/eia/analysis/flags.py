"""How firm a disproportionate flag is: the thresholds varied a quarter either way, and which variations would lose or add the flag."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from eia.analysis.burden import (
    Rules,
    amount,
)

__all__ = [
    "MARGIN",
    "MARGIN_WORDS",
    "scaled",
    "margin_phrase",
    "margin_variations",
    "flag_margins",
    "flag_flips",
    "flag_caveat",
    "ratio_text",
    "flag_basis",
]


#: How far each threshold is moved to see whether a disproportionate decision is at a knife
#: edge: a quarter up and a quarter down (for a ratio, a quarter of its excess over 1).
MARGIN = 0.25

#: The access thresholds (:class:`Rules` fields) a flag is tested against, in words.
MARGIN_WORDS = {
    "ratio": "ratio",
    "difference": "difference",
    "material": "material burden",
    "change": "change threshold",
    "far": "far threshold",
    "material_share": "material share",
    "min_residents": "fewest residents",
}


def scaled(base: float, factor: float, kind: str = "amount") -> float:
    """A threshold scaled by ``factor``: ``amount`` (km, minutes) plainly; ``multiplier``
    (a ratio or weight) by its excess over 1 (1.2 × 1.25 → 1.25); ``count`` rounded to a
    whole number; ``share`` capped at 1."""
    if kind == "multiplier":
        return round(1 + (base - 1) * factor, 6)
    if kind == "count":
        return int(round(base * factor))
    if kind == "share":
        return round(min(1.0, base * factor), 6)
    return round(base * factor, 6)


def _kind(field: str) -> str:
    return {"ratio": "multiplier", "min_residents": "count", "material_share": "share"}.get(
        field, "amount"
    )


def margin_phrase(field: str, value: float, unit: str = "km") -> str:
    """One varied threshold in words: 'ratio 1.25', 'difference 0.125 km', 'material share 1.25%'."""
    if field == "material_share":
        shown = f"{value * 100:g}%"
    elif field in ("ratio", "min_residents", "uptake_change_pct"):
        shown = f"{value:g}" + ("%" if field == "uptake_change_pct" else "")
    else:
        shown = f"{value:g} {unit}"
    words = MARGIN_WORDS.get(field, {"uptake_change_pct": "effect threshold"}.get(field, field))
    return f"{words} {shown}"


def margin_variations(rules: Rules) -> list[tuple[str, Rules]]:
    """Each threshold of ``rules`` a quarter (:data:`MARGIN`) higher, then lower, one at a
    time: (the variation in words, the varied rules). Values equal to the base are skipped."""
    from dataclasses import replace

    out = []
    for field in MARGIN_WORDS:
        base = getattr(rules, field)
        for factor in (1 + MARGIN, 1 - MARGIN):
            value = scaled(base, factor, _kind(field))
            if value != base:
                out.append(
                    (margin_phrase(field, value, rules.unit), replace(rules, **{field: value}))
                )
    return out


def flag_margins(compute, base: pd.DataFrame, variations) -> pd.DataFrame:
    """Whether each row's disproportionate decision holds under every variation tried.

    ``compute(varied)`` returns rating rows (``dimension``, ``group``,
    ``disproportionate``) under one variation; ``variations`` are (words, varied)
    pairs (:func:`margin_variations`). Returns, indexed like ``base``:
    ``flag_margin`` — ``clear`` when the decision (flagged or not) is the same under
    every variation, ``marginal`` when one of them changes it, missing where the
    flag cannot be assessed — and ``flag_flips``, the variations that change it.
    """
    key = ["dimension", "group"]
    own = base.set_index(key)["disproportionate"]
    assessed = own.notna().to_numpy()
    flags = own.fillna(False).astype(bool).to_numpy()
    flips: list[list[str]] = [[] for _ in range(len(base))]
    for words, varied in variations:
        other = compute(varied).set_index(key)["disproportionate"].reindex(own.index)
        changed = other.fillna(False).astype(bool).to_numpy() != flags
        for i in np.flatnonzero(changed & assessed):
            flips[i].append(words)
    margin = [
        None if not ok else "marginal" if f else "clear"
        for ok, f in zip(assessed, flips, strict=True)
    ]
    return pd.DataFrame({"flag_margin": margin, "flag_flips": flips}, index=base.index)


def _field(row, name: str, default=None):
    value = (
        row.get(name, default)
        if isinstance(row, Mapping | pd.Series)
        else getattr(row, name, default)
    )
    return default if value is None or (not isinstance(value, list) and pd.isna(value)) else value


def flag_flips(row) -> list[str]:
    """The variations (in words) that change a row's disproportionate decision."""
    flips = _field(row, "flag_flips", [])
    return list(flips) if isinstance(flips, list | tuple | np.ndarray) else []


def flag_caveat(row) -> str:
    """'not flagged at ratio 1.25' (a marginal flag), 'flagged at ratio 1.15' (a marginal
    non-flag), or '' when the decision holds with each threshold a quarter higher and lower."""
    flips = flag_flips(row)
    if not flips:
        return ""
    return f"{'not flagged' if _field(row, 'disproportionate', False) else 'flagged'} at " + (
        " or ".join(flips)
    )


def ratio_text(row) -> str:
    """A row's burden ratio to 2 decimals, or 3 when its flag is marginal (so that 1.247 is
    not shown as 1.25 beside 'not flagged at ratio 1.25')."""
    ratio = _field(row, "burden_ratio")
    if ratio is None:
        return "–"
    return f"{ratio:.{3 if _field(row, 'flag_margin') == 'marginal' else 2}f}"


def flag_basis(row) -> str:
    """The figures the disproportionate decision rests on, short: 'ratio 1.23, +0.25 km per
    resident against the rest' (access) or '5.0 points below the rest' (expected effects)."""
    ratio = _field(row, "burden_ratio")
    if ratio is not None:
        unit = _field(row, "unit", "km")
        shown = "no burden for the rest" if np.isinf(ratio) else f"ratio {ratio_text(row)}"
        return (
            f"{shown}, {amount(_field(row, 'burden_difference'), unit, signed=True, digits=2)} "
            "per resident against the rest"
        )
    points = _field(row, "difference_pct_points")
    if points is not None:
        side = "below" if points < 0 else "above"
        return f"{abs(points):.1f} points {side} the rest of its dimension"
    return ""
