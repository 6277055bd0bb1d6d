"""Options comparison: dominance (from the findings), the criteria, robustness and the
ratings of every option.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.analysis import impact
from eia.analysis.appraisal import variation_words
from eia.analysis.impact import DIMENSION_LABELS
from eia.assessment import Assessment
from eia.report import decision, figures, ratings
from eia.report import summary as summary_mod
from eia.report import travel as travel_report
from eia.report.show import (
    Block,
    Table,
    fmt_int,
    paragraphs,
)

__all__ = [
    "THRESHOLD_WORDS",
    "VARIATION_HEADER",
    "options",
    "options_ratings_table",
    "options_table",
    "robustness_table",
]


# ---------------------------------------------------------------------------
# Options


def options_table(a: Assessment) -> pd.DataFrame:
    """The options compared: one row per criterion, one column per option (rank order), with units."""
    ap = a.appraisal
    crit = ap.criteria
    order = list(ap.options["option"])
    first = crit[crit["option"] == order[0]]
    table = pd.DataFrame(
        {
            "Criterion": first["label"].to_numpy(),
            "Unit": first["unit"].to_numpy(),
            "Better": first["better"].to_numpy(),
        }
    )
    for option in order:
        values = crit[crit["option"] == option].set_index("criterion")["value"]
        table[option] = [fmt_int(v) for v in values.reindex(first["criterion"])]
    ranks = {"Criterion": "Rank (1 = least adverse)", "Unit": "", "Better": "lower"}
    scores = {
        "Criterion": "Equity-weighted score",
        "Unit": impact.UNITS[ap.unit],
        "Better": "lower",
    }
    dominated = {"Criterion": "Dominated by (on group outcomes)", "Unit": "", "Better": ""}
    for row in ap.options.itertuples():
        ranks[row.option] = str(row.rank)
        scores[row.option] = fmt_int(row.score)
    for d in decision.findings_of(a).dominance:
        dominated[d.option] = ", ".join(d.dominated_by) or "none"
    table = table[(first["measure"] != "flags").to_numpy()]  # the flags: from the findings
    flags = pd.DataFrame(decision.flag_rows(a))
    return pd.concat([pd.DataFrame([ranks, scores, dominated]), table, flags], ignore_index=True)


#: The thresholds the robustness check varies, in words for the board.
THRESHOLD_WORDS = {
    **{
        f"{what}_{unit}": text.format(unit=unit)
        for unit in ("km", "min")
        for what, text in (
            ("change", "change in {unit} that counts as an effect"),
            ("distance", "far from a site ({unit})"),
            ("material", "material burden per resident ({unit})"),
            ("disproportionate", "disproportionate gap per resident ({unit})"),
        )
    },
    "material_share": "material share of residents newly far",
    "min_people": "fewest residents for a rating",
    "disproportionate_ratio": "disproportionate ratio to the rest of the area",
    "equity_weight": "weight of a Core20 resident in the score",
}


#: The robustness table's variation column: ratios and weights vary by their excess over 1.
VARIATION_HEADER = "Variation (a ratio or weight: its excess over 1)"


def robustness_table(a: Assessment) -> pd.DataFrame:
    """Each variation of the thresholds tried, the option ranked first under it, whether the
    ranking holds, and the disproportionate flags of the named option it removes or adds."""

    v = a.appraisal.robustness.variations
    flags = f"Flags of {a.primary}"
    if not len(v):
        return pd.DataFrame(
            columns=["Threshold", VARIATION_HEADER, "Value", "Ranked first", "Ranking", flags]
        )
    return pd.DataFrame(
        {
            "Threshold": v["threshold"].map(lambda name: THRESHOLD_WORDS.get(name, name)),
            VARIATION_HEADER: [
                variation_words(n, w) for n, w in zip(v["threshold"], v["variation"], strict=True)
            ],
            "Value": [f"{x:g}" for x in v["value"]],
            "Ranked first": v["first"],
            "Ranking": ["holds" if h else "changes" for h in v["holds"]],
            flags: [
                _flag_change(lost, gained, a.primary)
                for lost, gained in zip(v["flags_lost"], v["flags_gained"], strict=True)
            ],
        }
    )


def _flag_change(lost, gained, option: str | None) -> str:
    """'no change', or 'lost: Black, Mixed; gained: Q3' for one option."""
    names = {
        word: [summary_mod.short_group(g) for o, _, g in items if o == option]
        for word, items in (("lost", lost), ("gained", gained))
    }
    text = "; ".join(f"{w}: {', '.join(n)}" for w, n in names.items() if n)
    return text or "no change"


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


def options(a: Assessment) -> Block:
    """Options comparison: the judgement, the criteria table, ratings per option, maps."""
    ap = a.appraisal
    if not a.proposal.options or ap is None:
        return Block(
            paragraphs(
                "This proposal lists no alternative options; it is compared with doing nothing."
            )
        )
    if a.travel:
        figure = travel_report.options_maps(a)
        by_mode = travel_report.rankings_by_mode(a) if len(a.travel.matrices) > 1 else None
    else:
        figure = figures.options_maps(a)
        by_mode = None
    return Block(
        decision.options_judgement(a),
        paragraphs(
            "How options are ranked: an option that is no worse than another for every group on "
            "every outcome below (distance added, people newly far, distance saved) and better on "
            "at least one dominates it and is always ranked above it; disproportionate flags are "
            "shown beside it and never decide it. Options "
            f"are ordered by one score ({ap.score_label}), and options that tie share a rank. The "
            "ranking is then repeated with each threshold halved and doubled (a ratio or weight: "
            "its excess over 1, so 1.2 becomes 1.1 and 1.4), and the table says which "
            f"disproportionate flags of {a.primary} each variation removes or adds.",
            ap.robustness.flag_sentence(a.primary),
        ),
        Table(
            options_table(a),
            "Options compared with doing nothing, criterion by criterion, in rank order",
        ),
        Table(
            robustness_table(a),
            f"Robustness: the ranking, and the disproportionate flags of {a.primary}, with each "
            "threshold halved and doubled (a ratio or weight: its excess over 1)",
        ),
        Table(
            options_ratings_table(a),
            "Ratings per group for each option (compared with doing nothing)",
        ),
        by_mode,
        figure,
    )
