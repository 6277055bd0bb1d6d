"""Access before and after: the access tables per dimension, their introduction, the change map.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.assessment import Assessment
from eia.population.area import ETHNIC_SHORT
from eia.report import figures
from eia.report import travel as travel_report
from eia.report.ahead import ahead
from eia.report.show import (
    Block,
    Html,
    Table,
    fmt_int,
    heading,
    paragraphs,
)
from eia.report.wording import primary_reason
from eia.report.wording import say_text as sentence

__all__ = [
    "ACCESS_CAPTIONS",
    "access",
    "access_frame",
    "access_intro",
    "access_other_groups",
    "access_table",
    "change_map",
]


#: Captions of the access tables, per dimension (opt-in dimensions included; the words are
#: in ``prose/access.j2``).
ACCESS_CAPTIONS = {
    dim: sentence("access.j2", "caption", dim)
    for dim in ("imd_quintile", "core20", "ethnic_group", "religion", "disability")
}

# ---------------------------------------------------------------------------
# Access


def access_frame(table: pd.DataFrame, threshold_km: float) -> pd.DataFrame:
    """An :func:`eia.analysis.access.summarise` frame as the report's columns (km to 1 decimal)."""
    table = table.copy()
    table["group"] = table["group"].map(lambda g: ETHNIC_SHORT.get(g, g))
    t = threshold_km
    return pd.DataFrame(
        {
            "Group": table["group"],
            "Residents": table["population"].map(fmt_int),
            "Mean km now": table["mean_km_before"].map(lambda v: f"{v:.1f}"),
            "Mean km after": table["mean_km_after"].map(lambda v: f"{v:.1f}"),
            "Change (km)": table["mean_km_change"].map(lambda v: f"{v:+.1f}"),
            sentence("access.j2", "beyond", t, "now"): table["pop_beyond_threshold_before"].map(
                fmt_int
            ),
            sentence("access.j2", "beyond", t, "after"): table["pop_beyond_threshold_after"].map(
                fmt_int
            ),
        }
    ).reset_index(drop=True)


def access_table(
    a: Assessment, table: pd.DataFrame | str, caption: str | None = None, *, scenario=None
) -> Table:
    """Access before and after for one dimension's groups, captioned with the scenario.

    ``table`` is a frame from :func:`eia.analysis.access.summarise` (or a dimension name,
    to show the precomputed ``a.access.summaries[scenario][dimension]``, by default
    :attr:`~eia.assessment.Assessment.primary`'s). A frame is captioned with the
    scenario it was computed for (``scenario=``, else its ``attrs["scenario"]``);
    when neither says and the proposal has several scenarios, a ``ValueError``
    asks for ``scenario=`` rather than guessing.
    """
    if isinstance(table, str):
        scenario = scenario or a.primary
        caption = caption or sentence("access.j2", "caption", table)
        table = a.access.summaries[scenario][table]
    else:
        scenario = scenario or table.attrs.get("scenario")
        if scenario is None:
            if len(a.scenarios) > 1:
                raise ValueError(
                    "access_table: say which option this frame describes, e.g. "
                    "sections.access_table(a, frame, caption, scenario=a.primary)"
                )
            scenario = a.primary
    return Table(
        access_frame(table, a.threshold_km),
        sentence("access.j2", "table_caption", caption, scenario),
    )


@ahead
def access_intro(a: Assessment) -> Html:
    """How distances are measured and what group figures mean."""
    if not a.primary:
        return paragraphs(sentence("access.j2", "no_change"))
    travel = None
    if a.travel:  # journey times lead; straight-line distance follows for comparison
        travel = Block(
            travel_report.access(a), heading(sentence("access.j2", "comparison_heading"))
        )
    return Block(
        travel,
        paragraphs(sentence("access.j2", "how_measured", a.primary, primary_reason(a))),
    )


def access_other_groups(a: Assessment) -> Block | None:
    """Access tables for the opt-in groups (religion, disability) the proposal names."""
    if not a.primary:
        return None
    dims = [
        d
        for d in a.access.summaries[a.primary]
        if d not in ("imd_quintile", "core20", "ethnic_group")
    ]
    return Block(*(access_table(a, d) for d in dims)) if dims else None


def access(a: Assessment) -> Block:
    """Access in one call: how it is measured, then a table per dimension."""
    if not a.primary:
        return Block(access_intro(a))
    return Block(access_intro(a), *(access_table(a, d) for d in a.access.summaries[a.primary]))


@ahead
def change_map(a: Assessment) -> Block | None:
    """The change map for the primary scenario (classed on the proposal's thresholds, Core20
    hatched) and a cumulative-distribution figure per option (:mod:`eia.report.figures`)."""
    if not a.primary:
        return None
    if a.travel:
        return Block(
            travel_report.change_map(a),
            *figures.cumulative_curves(
                a, unit="min", mode=a.lead_mode, values=a.travel.times[a.lead_mode]
            ),
        )
    return Block(figures.change_map(a), *figures.cumulative_curves(a))
