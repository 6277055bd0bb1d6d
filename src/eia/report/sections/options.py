"""Options comparison: dominance (from the findings), the criteria, robustness and the
ratings of every option.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.analysis import impact
from eia.analysis.appraisal import MULTIPLIERS
from eia.analysis.impact import DIMENSION_LABELS
from eia.assessment import Assessment
from eia.report import decision, figures, ratings
from eia.report import summary as summary_mod
from eia.report import travel as travel_report
from eia.report.ahead import ahead
from eia.report.show import (
    Block,
    Table,
    fmt_int,
    paragraphs,
)

__all__ = [
    "THRESHOLD_WORDS",
    "VARIATION_HEADER",
    "WORDS",
    "criterion_label",
    "options",
    "options_ratings_table",
    "options_table",
    "robustness_table",
    "score_words",
]


# ---------------------------------------------------------------------------
# Options


#: The text template of the options comparison's words.
WORDS = "appraisal.txt.j2"


def _say(macro: str, *args, **kwargs) -> str:
    return decision.phrase(WORDS, macro, *args, **kwargs)


def criterion_label(ap, measure: str, group: str) -> str:
    """A criterion's row label in the options table (words from ``appraisal.txt.j2``)."""
    return _say(
        "criterion",
        measure,
        decision.group_name(group),
        group == impact.ALL_RESIDENTS,
        impact.UNITS[ap.unit],
        ap.unit,
        f"{ap.far:g}",
    )


def score_words(ap) -> str:
    """What the equity-weighted score is, in words."""
    return _say("score", impact.UNITS[ap.unit], ap.unit, float(ap.equity_weight))


def options_table(a: Assessment) -> pd.DataFrame:
    """The options compared: one row per criterion, one column per option (rank order), with units."""
    ap = a.appraisal
    crit = ap.criteria
    order = list(ap.options["option"])
    first = crit[crit["option"] == order[0]]
    table = pd.DataFrame(
        {
            "Criterion": [
                criterion_label(ap, m, g)
                for m, g in zip(first["measure"], first["group"], strict=True)
            ],
            "Unit": first["unit"].to_numpy(),
            "Better": first["better"].to_numpy(),
        }
    )
    for option in order:
        values = crit[crit["option"] == option].set_index("criterion")["value"]
        table[option] = [fmt_int(v) for v in values.reindex(first["criterion"])]
    ranks = {"Criterion": _say("row", "rank"), "Unit": "", "Better": "lower"}
    scores = {
        "Criterion": _say("row", "score"),
        "Unit": impact.UNITS[ap.unit],
        "Better": "lower",
    }
    dominated = {"Criterion": _say("row", "dominated_by"), "Unit": "", "Better": ""}
    for row in ap.options.itertuples():
        ranks[row.option] = str(row.rank)
        scores[row.option] = fmt_int(row.score)
    for d in decision.findings_of(a).dominance:
        dominated[d.option] = _say("dominated_by", list(d.dominated_by))
    table = table[(first["measure"] != "flags").to_numpy()]  # the flags: from the findings
    flags = pd.DataFrame(decision.flag_rows(a))
    head = [ranks, scores, dominated, *_averages(a, order)]
    return pd.concat([pd.DataFrame(head), table, flags], ignore_index=True)


def _averages(a: Assessment, order: list[str]) -> list[dict[str, str]]:
    """The two parts of the score per resident: all residents' and Core20 residents' average
    net change (the figures the decision card's reason cites, from the findings)."""
    f = decision.findings_of(a)
    ap = a.appraisal
    rows = []
    for dim, group in (("all", impact.ALL_RESIDENTS), ("core20", decision.CORE20)):
        values = [decision.net_per_resident(f, o, dim, group) for o in order]
        if any(v is None for v in values):
            continue
        row = {
            "Criterion": criterion_label(ap, "net_per_resident", group),
            "Unit": _say("per_resident_unit", ap.unit),
            "Better": "lower",
        }
        row |= {o: decision.per_resident_value(v) for o, v in zip(order, values, strict=True)}
        rows.append(row)
    return rows


#: The thresholds the robustness check varies, in words for the board (``appraisal.txt.j2``).
THRESHOLD_WORDS = {
    name: decision.phrase(WORDS, "threshold", name)
    for name in (
        *(f"{what}_{unit}" for unit in ("km", "min") for what in ("change", "distance")),
        *(f"{what}_{unit}" for unit in ("km", "min") for what in ("material", "disproportionate")),
        "material_share",
        "min_people",
        "disproportionate_ratio",
        "equity_weight",
    )
}


#: The robustness table's variation column: ratios and weights vary by their excess over 1.
VARIATION_HEADER = decision.phrase(WORDS, "variation_header")


def robustness_table(a: Assessment) -> pd.DataFrame:
    """Each variation of the thresholds tried, the option ranked first under it, whether the
    ranking holds, and the disproportionate flags of the named option it removes or adds."""

    v = a.appraisal.robustness.variations
    flags = _say("flags_column", a.primary)
    if not len(v):
        return pd.DataFrame(
            columns=["Threshold", VARIATION_HEADER, "Value", "Ranked first", "Ranking", flags]
        )
    return pd.DataFrame(
        {
            "Threshold": [_say("threshold", name) for name in v["threshold"]],
            VARIATION_HEADER: [
                _say("variation", w, n in MULTIPLIERS)
                for n, w in zip(v["threshold"], v["variation"], strict=True)
            ],
            "Value": [f"{x:g}" for x in v["value"]],
            "Ranked first": [_say("names", list(first)) for first in v["first"]],
            "Ranking": [_say("ranking", bool(h)) for h in v["holds"]],
            flags: [
                _flag_change(lost, gained, a.primary)
                for lost, gained in zip(v["flags_lost"], v["flags_gained"], strict=True)
            ],
        }
    )


def _flag_change(lost, gained, option: str | None) -> str:
    """'no change', or 'lost: Black, Mixed; gained: IMD quintile 3' for one option."""
    lost, gained = (
        [summary_mod.short_group(g) for o, _, g in items if o == option] for items in (lost, gained)
    )
    return _say("flag_change", lost, gained)


def options_ratings_table(a: Assessment) -> pd.DataFrame:
    """Ratings per group (rows) and option (columns)."""
    rows = pd.concat(
        [impact.merge_core20(g) for _, g in a.rated.impacts.groupby("option", sort=False)],
        ignore_index=True,
    )
    again = {(u.option, u.dimension, u.group) for u in decision.findings_of(a).uncounted}
    rows["disproportionate"] = [  # flags of the same people as a counted row are not shown twice
        bool(d) and g != impact.MERGED_REST and (o, dim, g) not in again
        for o, dim, g, d in zip(
            rows["option"], rows["dimension"], rows["group"], rows["disproportionate"], strict=True
        )
    ]
    wide = rows.assign(label=ratings.rating_labels(rows, a.proposal.thresholds.min_people))
    table = wide.pivot_table(
        index=["dimension", "group"], columns="option", values="label", aggfunc="first", sort=False
    ).reset_index()
    table["dimension"] = table["dimension"].map(DIMENSION_LABELS)
    table.columns.name = None
    return table.rename(columns={"dimension": "Dimension", "group": "Group"})


@ahead
def options(a: Assessment) -> Block:
    """Options comparison: the judgement, the criteria table, ratings per option, maps."""
    ap = a.appraisal
    if not a.proposal.options or ap is None:
        return Block(paragraphs(_say("no_options")))
    if a.travel:
        figure = travel_report.options_maps(a)
        by_mode = travel_report.rankings_by_mode(a) if len(a.travel.matrices) > 1 else None
    else:
        figure = figures.options_maps(a)
        by_mode = None
    return Block(
        decision.options_judgement(a),
        paragraphs(
            _say("how_ranked", score_words(ap), a.primary),
            _say(
                "flags_hold",
                a.primary,
                len(ap.robustness.flag_changes(a.primary)),
                ap.robustness.tried,
            ),
        ),
        Table(options_table(a), _say("options_caption", f"{ap.far:g}", ap.unit, f"{ap.change:g}")),
        Table(robustness_table(a), _say("robustness_caption", a.primary)),
        Table(
            options_ratings_table(a),
            _say("ratings_caption"),
        ),
        by_mode,
        figure,
    )
