"""Material gaps: which ratios are gaps of concern, and an equity audit's ratings on representation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MATERIAL_BAND",
    "gap_flags",
    "rate_representation",
    "NEAR",
    "near",
    "mark_risk",
]


#: A representation or rate ratio inside this band is not a material gap (thresholds.material_band).
MATERIAL_BAND = (0.9, 1.1)


def gap_flags(
    value: Any,
    lower: Any,
    upper: Any,
    *,
    band: Sequence[float] = MATERIAL_BAND,
    higher_use_is: str = "better",
) -> pd.DataFrame:
    """Which ratios are material gaps, and which of those are a concern.

    A ratio (representation, or rate ratio to the reference group) is a gap
    (``gap`` = ``"under"`` or ``"over"``) only when both its interval excludes 1
    (``upper < 1`` or ``lower > 1``) **and** the ratio lies outside ``band``
    (``value < band[0]`` or ``value > band[1]``): significant but trivial
    differences are not flagged. ``concern`` is True for the harmful direction:
    under-use when ``higher_use_is == "better"``, over-use when ``"worse"``.
    Missing values give no gap.
    """
    if higher_use_is not in ("better", "worse"):
        raise ValueError(f"higher_use_is must be 'better' or 'worse', not {higher_use_is!r}")
    low, high = band
    v = pd.to_numeric(pd.Series(np.atleast_1d(value), dtype=object), errors="coerce").to_numpy(
        float
    )
    lo = pd.to_numeric(pd.Series(np.atleast_1d(lower), dtype=object), errors="coerce").to_numpy(
        float
    )
    hi = pd.to_numeric(pd.Series(np.atleast_1d(upper), dtype=object), errors="coerce").to_numpy(
        float
    )
    with np.errstate(invalid="ignore"):
        under = (hi < 1) & (v < low)
        over = (lo > 1) & (v > high)
    gap = np.where(under, "under", np.where(over, "over", None))
    harmful = "under" if higher_use_is == "better" else "over"
    out = pd.DataFrame({"gap": pd.Series(list(gap), dtype=object), "concern": gap == harmful})
    out["gap"] = out["gap"].where(out["gap"].isin(["under", "over"]), None)
    return out


def rate_representation(
    tables: Mapping[str, pd.DataFrame],
    *,
    disproportionate_ratio: float = 1.2,
    option: str = "Now",
    band: Sequence[float] = MATERIAL_BAND,
    higher_use_is: str = "better",
) -> pd.DataFrame:
    """Rate each group by its representation among current users (equity audit).

    ``tables`` maps a dimension to :func:`eia.analysis.impact.standardised_representation`'s
    output (age-standardised where every group has a DSR; its ``basis`` is kept in the rows).
    A group is rated only on a **material gap** (:func:`gap_flags`: interval
    excludes 1 and representation outside ``band``): *negative* when the gap is
    in the harmful direction (under-use when higher use is better, over-use when
    worse), *positive* when in the other, else *neutral*. A negative rating is
    *disproportionate* when the representation is beyond ``disproportionate_ratio``
    (below ``1/ratio`` for under-use, above ``ratio`` for over-use). Groups whose
    counts are withheld are rated neutral, ``withheld`` saying why: ``count`` (its own
    count) or ``total`` (only the total it is compared with). Each row holds the figures
    its words need (``eia.report.ratings`` words them); no sentence.
    """
    rows = []
    for dimension, table in tables.items():
        flags = gap_flags(
            table["representation"],
            table["representation_lower"],
            table["representation_upper"],
            band=band,
            higher_use_is=higher_use_is,
        )
        bases = table["basis"] if "basis" in table else pd.Series("crude", index=table.index)
        for r, gap, basis in zip(table.itertuples(), flags["gap"], bases, strict=True):
            gap = gap if gap in ("under", "over") else None
            lo, hi, rep = r.representation_lower, r.representation_upper, r.representation
            withheld = None
            if pd.isna(hi):
                rating, dispro = "neutral", False
                # Its own count withheld, or only the total it is compared with.
                withheld = "count" if pd.isna(r.count) else "total"
            else:
                harmful = "under" if higher_use_is == "better" else "over"
                rating = "neutral" if gap is None else "negative" if gap == harmful else "positive"
                dispro = bool(
                    rating == "negative"
                    and (
                        rep < 1 / disproportionate_ratio
                        if harmful == "under"
                        else rep > disproportionate_ratio
                    )
                )
            rows.append(
                {
                    "option": option,
                    "dimension": dimension,
                    "group": r.group,
                    "population": None if pd.isna(r.population) else int(round(r.population)),
                    "count": None if pd.isna(r.count) else float(r.count),
                    "representation": rep,
                    "representation_lower": lo,
                    "representation_upper": hi,
                    "gap": gap,
                    "basis": basis,
                    "rating": rating,
                    "disproportionate": dispro,
                    "withheld": withheld,
                }
            )
    return pd.DataFrame(rows)


#: A figure within this share of a threshold is "close to" it: a small change of threshold
#: would change the rating.
NEAR = 0.1


def near(value: float, threshold: float) -> bool:
    """Whether ``value`` lies within :data:`NEAR` (10%) of ``threshold``, either side."""
    return bool(threshold and abs(float(value) - threshold) <= NEAR * abs(threshold))


def mark_risk(impacts: pd.DataFrame, representation: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Add ``at_risk`` and ``uptake_gap``: groups with a material gap of concern among users now.

    ``representation`` maps a dimension to a frame with ``group``, ``gap`` and
    ``concern`` (:func:`eia.assessment.representation_tables`).
    """
    impacts = impacts.copy()
    first: dict = {}  # dimension -> {group as text: its first row in the table}
    at_risk, gaps = [], []
    rows = zip(impacts["dimension"], impacts["group"], strict=True) if len(impacts) else ()
    for dimension, group in rows:
        table = representation.get(dimension)
        flag, gap = False, None
        if table is not None and "concern" in table:
            if dimension not in first:
                first[dimension] = {}
                for i, name in enumerate(table["group"].astype(str)):
                    first[dimension].setdefault(name, i)
            at = first[dimension].get(str(group))
            if at is not None:
                flag = bool(table["concern"].iloc[at])
                gap = table["gap"].iloc[at]
        at_risk.append(flag)
        gaps.append(gap)
    impacts["at_risk"] = at_risk
    impacts["uptake_gap"] = gaps
    return impacts
