"""The record a board signs: mitigations, data quality and limitations, methods and
sources, provenance and sign-off.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.assessment import Assessment
from eia.provenance import collect
from eia.refdata import ATTRIBUTION
from eia.report import summary as summary_mod
from eia.report import travel as travel_report
from eia.report.sections.uptake import uptake_quality
from eia.report.show import (
    Block,
    Html,
    Table,
    bullet_list,
    definition_table,
    esc,
    fmt_int,
    notice_box,
    paragraphs,
    signoff_table,
)
from eia.report.wording import long_date, say

__all__ = [
    "LIMITATIONS",
    "STRAIGHT_LINE_LIMITATION",
    "TRAVEL_LIMITATION",
    "data_quality",
    "limitations",
    "methods",
    "mitigations",
    "provenance",
    "signoff",
]


# ---------------------------------------------------------------------------
# Boilerplate sections (one call each in the templates)


def mitigations(a: Assessment) -> Html | Table:
    """Mitigations and action plan from params."""

    rows = a.proposal.mitigations
    if not rows:
        return notice_box(
            "No mitigations or actions have been recorded for this proposal.", "warning"
        )
    return Table(
        pd.DataFrame(
            [
                {
                    "Action": m.action,
                    "Owner": m.owner,
                    "Due": long_date(m.due) if m.due else "not set",
                    "Status": m.status,
                }
                for m in rows
            ]
        ),
        "Mitigations and action plan",
    )


STRAIGHT_LINE_LIMITATION = (
    "Distances are straight lines, not travel times by road or public transport; they understate "
    "the burden where transport links are poor."
)
TRAVEL_LIMITATION = (
    "Journey times come from the matrices named above: they are as good as the network, "
    "timetable and time of day behind them; straight-line distances are shown beside them."
)
LIMITATIONS = (
    "Each LSOA's location is a representative point inside it, not a population-weighted centroid.",
    "Group figures are area-based (Census 2021 counts per LSOA), not individual records.",
    "IMD deciles and quintiles are national (England-wide) ranks, not local ones.",
    "Census 2021 counts are perturbed by ONS to protect confidentiality; small totals may not add up exactly.",
    "Shares of residents come from the whole Census population, not a sample, so they carry no "
    "confidence interval; rates and shares calculated from service data do.",
)


def limitations(a: Assessment) -> list[str]:
    """The method's limitations that apply to what this report computed."""
    access = []
    if a.travel:
        access = [TRAVEL_LIMITATION]
    elif a.proposal.sites is not None:
        access = [STRAIGHT_LINE_LIMITATION]
    first = LIMITATIONS[0] if a.proposal.sites is not None else None
    return [x for x in (*access, first, *LIMITATIONS[1:]) if x]


def data_quality(a: Assessment) -> Block:
    """Data quality of the service extract (if any), warnings met while reading it, limitations."""
    return Block(
        uptake_quality(a.uptake.result) if a.uptake is not None else None,
        bullet_list(
            [say("data_notes.j2", "service", n=n) for n in a.uptake.notes],
            intro="Notes from reading the service data:",
        )
        if a.uptake is not None and a.uptake.notes
        else None,
        bullet_list(travel_report.notes(a), intro="Notes from reading the journey-time matrices:")
        if a.travel
        else None,
        bullet_list(limitations(a), intro="Limitations of the method:"),
    )


def methods(a: Assessment) -> Block:
    """Methods, data sources with vintages, and the required attribution."""
    sources = a.pack.sources()
    travel = None
    if a.travel:
        travel = paragraphs(
            travel_report.method_sentence(a) + " " + travel_report.rules_sentence(a)
        )
    access = None
    if a.proposal.sites is not None:
        access = paragraphs(
            "Access: straight-line (Euclidean) distance in British National Grid (EPSG:27700) from each "
            "LSOA's representative point to its nearest site; group means are weighted by the group's "
            "residents in each LSOA. The rating rules, with this report's thresholds, are under "
            "“How the ratings work”."
        )
    audit = None
    if a.kind.rates == "uptake" and a.uptake is not None:
        audit = paragraphs(
            f"Representation: a group's share of {summary_mod.measure_noun(a.uptake.result)} divided by "
            f"its share of {a.uptake.result.population} (Census 2021, area-based); its 95% interval is the "
            "Wilson interval of the share divided by the population share. Rates are per year of "
            "the extract's period, with 95% intervals. The rating rules, with this report's "
            "thresholds, are under “How the ratings work”."
        )
    return Block(
        travel,
        access,
        audit,
        Table(
            sources[["file", "source", "rows"]]
            .assign(rows=sources["rows"].map(fmt_int))
            .rename(columns={"file": "File", "source": "Source and vintage", "rows": "Rows"}),
            "Reference data used, with sources and vintages",
        ),
        Html(f'<p class="eia-attribution">{esc(ATTRIBUTION)}</p>'),
    )


def provenance(a: Assessment, provenance: dict | None = None) -> Block:
    """Provenance: parameters file, package version, git commit, run time, data checksums.

    ``provenance`` is what the runner injected (computed once per run); by hand
    it is collected here.
    """

    info = provenance or collect(a.proposal, a.params_file, a.pack)
    checks = pd.DataFrame([{"File": k, "sha256": v} for k, v in info.get("data", {}).items()])
    return Block(
        definition_table(
            {k: v for k, v in info.items() if k != "data"}, "How this report was produced"
        ),
        Table(checks, "Reference data checksums (sha256)") if len(checks) else None,
    )


def signoff(a: Assessment) -> Html | Table:
    """Sign-off from params: names, roles, dates, decisions."""
    return signoff_table(a.proposal.signoff)
