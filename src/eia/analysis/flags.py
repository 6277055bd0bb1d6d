"""How firm a disproportionate flag is: the thresholds varied a quarter either way, and which variations would lose or add the flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from eia.analysis.burden import Rules

__all__ = [
    "MARGIN",
    "MARGIN_FIELDS",
    "scaled",
    "variation",
    "margin_variations",
    "flag_margins",
    "flag_flips",
]


#: How far each threshold is moved to see whether a disproportionate decision is at a knife
#: edge: a quarter up and a quarter down (for a ratio, a quarter of its excess over 1).
MARGIN = 0.25

#: The access thresholds (:class:`Rules` fields) a flag is tested against, in the order tried.
#: A variation is recorded as ``{"threshold": field, "value": varied}``; the report names it
#: (``src/eia/report/prose/rating.j2``).
MARGIN_FIELDS = (
    "ratio",
    "difference",
    "material",
    "change",
    "far",
    "material_share",
    "min_residents",
)


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


def variation(field: str, value: float) -> dict[str, Any]:
    """One varied threshold as data: ``{"threshold": "ratio", "value": 1.25}``."""
    return {"threshold": field, "value": value}


def margin_variations(rules: Rules) -> list[tuple[dict[str, Any], Rules]]:
    """Each threshold of ``rules`` a quarter (:data:`MARGIN`) higher, then lower, one at a
    time: (:func:`variation`, the varied rules). Values equal to the base are skipped."""
    out = []
    for field in MARGIN_FIELDS:
        base = getattr(rules, field)
        for factor in (1 + MARGIN, 1 - MARGIN):
            value = scaled(base, factor, _kind(field))
            if value != base:
                out.append((variation(field, value), replace(rules, **{field: value})))
    return out


def flag_margins(compute, base: pd.DataFrame, variations) -> pd.DataFrame:
    """Whether each row's disproportionate decision holds under every variation tried.

    ``compute(varied)`` returns rating rows (``dimension``, ``group``,
    ``disproportionate``) under one variation, as a frame or a list of row dicts; ``variations`` are (variation, varied)
    pairs (:func:`margin_variations`). Returns, indexed like ``base``:
    ``flag_margin`` — ``clear`` when the decision (flagged or not) is the same under
    every variation, ``marginal`` when one of them changes it, missing where the
    flag cannot be assessed — and ``flag_flips``, the variations that change it, each
    ``{"threshold": field, "value": varied}``.
    """
    key = ["dimension", "group"]
    own = base.set_index(key)["disproportionate"]
    assessed = own.notna().to_numpy()
    flags = own.fillna(False).astype(bool).to_numpy()
    flips: list[list[dict[str, Any]]] = [[] for _ in range(len(base))]
    for flip, varied in variations:
        rows = compute(varied)
        if isinstance(rows, pd.DataFrame):
            rows = rows[[*key, "disproportionate"]].to_dict("records")
        other = {(r["dimension"], r["group"]): r["disproportionate"] for r in rows}
        changed = np.array([_flagged(other.get(k)) for k in own.index], dtype=bool) != flags
        for i in np.flatnonzero(changed & assessed):
            flips[i].append(dict(flip))
    margin = [
        None if not ok else "marginal" if f else "clear"
        for ok, f in zip(assessed, flips, strict=True)
    ]
    return pd.DataFrame({"flag_margin": margin, "flag_flips": flips}, index=base.index)


def _flagged(value) -> bool:
    """A disproportionate decision as a bool: missing (not judged) counts as not flagged."""
    return False if value is None or pd.isna(value) else bool(value)


def _field(row, name: str, default=None):
    value = (
        row.get(name, default)
        if isinstance(row, Mapping | pd.Series)
        else getattr(row, name, default)
    )
    return default if value is None or (not isinstance(value, list) and pd.isna(value)) else value


def flag_flips(row) -> list[dict[str, Any]]:
    """The variations (``{"threshold", "value"}``) that change a row's disproportionate decision."""
    flips = _field(row, "flag_flips", [])
    return list(flips) if isinstance(flips, list | tuple | np.ndarray) else []
