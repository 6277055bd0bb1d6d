"""Rating rows for display: Core20 and IMD quintile 1 merged where they are the same people.

The rating's symbol and words, and the sentence that says why, are the report's
(:mod:`eia.report.ratings`, ``src/eia/report/prose/rating.j2``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from eia.analysis.representation import (
    CORE20_GROUP,
    MERGED_Q1,
    Q1_GROUP,
)

__all__ = [
    "REST_GROUP",
    "MERGED_REST",
    "merge_core20",
    "same_figures",
]


REST_GROUP = "Rest of area (deciles 3-10)"
MERGED_REST = "Rest of area (IMD quintiles 2–5, not Core20)"


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
