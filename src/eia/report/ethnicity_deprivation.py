"""Ethnicity × deprivation, shown for the board: residents, access, burden and uptake.

The tables are computed in :mod:`eia.analysis.ethnicity_deprivation`; the judgements the
sentences state (which group is most concentrated in Core20, which cell bears the heaviest
burden, which the largest change in distance) are the assessment's findings
(:class:`eia.findings.IntersectionFinding`, ``Findings.intersection``), worded by
``prose/ethnicity_deprivation.j2``.
"""

from __future__ import annotations

import pandas as pd

from eia.analysis.ethnicity_deprivation import service_years
from eia.findings import IntersectionFinding
from eia.findings import intersection as intersection_mod
from eia.population.area import ETHNIC_GROUPS, ETHNIC_SHORT, QUINTILE_LABELS
from eia.report import show
from eia.report.ratings import rating_labels, rating_words
from eia.report.summary import measure_noun
from eia.report.wording import primary_reason, say
from eia.stats import disclosure

__all__ = [
    "access_words",
    "burden_words",
    "concentration_words",
    "section",
    "show_access",
    "show_area",
    "show_burden",
    "show_uptake",
]


def _short(group: str | None) -> str:
    return ETHNIC_SHORT.get(group, group) if group else ""


def concentration_words(x: IntersectionFinding):
    """The sentence on which ethnic group is most concentrated in Core20."""
    return say("ethnicity_deprivation.j2", "concentration", x=x, short=_short(x.ethnic_group))


def burden_words(x: IntersectionFinding | None, unit: str = "km"):
    """The sentence on the cell with the heaviest added burden (None: no rated cell)."""
    if x is None:
        return None
    f = x.figures
    rated = (
        rating_words(f["rating"], f["disproportionate"], f["rating_note"])
        if x.code == "heaviest"
        else ""
    )
    return say(
        "ethnicity_deprivation.j2",
        "burden",
        x=x,
        short=_short(x.ethnic_group),
        rated=rated,
        unit=unit,
    )


def access_words(x: IntersectionFinding | None):
    """The sentence on the largest average change in distance (None: no cell large enough)."""
    if x is None:
        return None
    return say("ethnicity_deprivation.j2", "access", x=x, short=_short(x.ethnic_group))


def show_area(
    area_long: pd.DataFrame, core: pd.DataFrame, finding: IntersectionFinding | None = None
):
    """The area's residents by ethnic group × quintile, and the Core20 table, with the finding
    (``finding``: the assessment's ``Findings.intersection["concentration"]``; made from
    ``core`` by :func:`eia.findings.intersection.concentration` when not given)."""
    finding = finding or intersection_mod.concentration(core)
    wide = area_long.pivot(index="ethnic_group", columns="imd_quintile", values="population")
    wide = wide.reindex([g for g in ETHNIC_GROUPS if g in wide.index])
    shares = area_long.pivot(index="ethnic_group", columns="imd_quintile", values="share_of_group")
    shares = shares.reindex(wide.index)
    table = pd.DataFrame(
        {
            "Ethnic group": [ETHNIC_SHORT.get(g, g) for g in wide.index],
            **{
                QUINTILE_LABELS[q]: [
                    f"{show.fmt_int(n)} ({show.fmt_pct(s, 0)})"
                    for n, s in zip(wide[q], shares[q], strict=True)
                ]
                for q in range(1, 6)
            },
            "All": [show.fmt_int(v) for v in wide.sum(axis=1)],
        }
    )
    table.loc[len(table)] = [
        "All residents",
        *[show.fmt_int(wide[q].sum()) for q in range(1, 6)],
        show.fmt_int(wide.to_numpy().sum()),
    ]
    ctable = pd.DataFrame(
        {
            "Ethnic group": [ETHNIC_SHORT.get(g, g) for g in core["ethnic_group"]],
            "In Core20": [show.fmt_int(v) for v in core["core20"]],
            "Rest of area": [show.fmt_int(v) for v in core["rest"]],
            "Share in Core20": [show.fmt_pct(v) for v in core["share_core20"]],
            "Relative to White residents": [
                "–" if pd.isna(v) else f"{v:.2f}" for v in core["relative_to_white"]
            ],
        }
    )
    return show.Block(
        show.paragraphs(concentration_words(finding)),
        show.Table(
            table,
            "Residents by ethnic group and national IMD 2025 quintile (in brackets: share of the "
            "group's residents living in that quintile). Area-based: each LSOA's Census 2021 "
            "ethnic composition, placed in the LSOA's quintile",
        ),
        show.Table(ctable, "Residents of each ethnic group in Core20 neighbourhoods"),
    )


def show_access(
    table: pd.DataFrame,
    threshold_km: float,
    which: str = "the proposal",
    finding: bool | IntersectionFinding | None = True,
):
    """Access change for each ethnic group within Core20 and the rest (``finding``: the
    assessment's ``Findings.intersection["access"]``, or True to make it from ``table``;
    False: no sentence, when the burden table above states it)."""
    if finding is True:
        finding = intersection_mod.largest_access_change(table)
    frame = pd.DataFrame(
        {
            "Ethnic group": [ETHNIC_SHORT.get(g, g) for g in table["ethnic_group"]],
            "Neighbourhoods": table["core20"],
            "Residents": [show.fmt_int(v) for v in table["population"]],
            "Mean distance now": [show.fmt_km(v) for v in table["mean_km_before"]],
            "Mean distance after": [show.fmt_km(v) for v in table["mean_km_after"]],
            "Change": [show.fmt_km(v, signed=True) for v in table["mean_km_change"]],
            f"Beyond {threshold_km:g} km now": [
                show.fmt_int(v) for v in table["pop_beyond_threshold_before"]
            ],
            f"Beyond {threshold_km:g} km after": [
                show.fmt_int(v) for v in table["pop_beyond_threshold_after"]
            ],
        }
    )
    return show.Block(
        show.paragraphs(access_words(finding)) if finding else None,
        show.Table(
            frame,
            f"Access before and after {which} for each ethnic group in Core20 neighbourhoods and "
            "in the rest of the area (straight-line distance to the nearest site, "
            "population-weighted)",
        ),
    )


def show_burden(
    table: pd.DataFrame,
    change_km: float,
    which: str = "the proposal",
    option: str | None = None,
    finding: IntersectionFinding | None = None,
):
    """The judgement's burden measures for each ethnic group within Core20 and the rest, with
    the sentence on the heaviest burden (``finding``: the assessment's
    ``Findings.intersection["burden"]``; made from ``table`` for ``option`` by
    :func:`eia.findings.intersection.heaviest_burden` when not given)."""
    finding = finding or intersection_mod.heaviest_burden(table, option)
    frame = pd.DataFrame(
        {
            "Ethnic group": [ETHNIC_SHORT.get(g, g) for g in table["ethnic_group"]],
            "Neighbourhoods": table["core20"],
            "Residents": [show.fmt_int(v) for v in table["residents"]],
            f"Further by more than {change_km:g} km": [show.fmt_int(v) for v in table["further"]],
            "Added km per resident": [f"{v:.2f}" for v in table["added_per_resident"]],
            f"Nearer by more than {change_km:g} km": [show.fmt_int(v) for v in table["nearer"]],
            "Removed km per resident": [f"{v:.2f}" for v in table["removed_per_resident"]],
            "Newly far from a site": [show.fmt_int(v) for v in table["newly_far"]],
            "Rating": rating_labels(table),
        }
    )
    return show.Block(
        show.paragraphs(burden_words(finding)) if finding is not None else None,
        show.Table(
            frame,
            f"Burden of the change under {which} for each ethnic group in Core20 neighbourhoods "
            "and in the rest of the area (added distance counts only changes larger than the "
            "threshold; ratings by the same rules as every other group)",
        ),
    )


def show_uptake(
    table: pd.DataFrame | None,
    label: str,
    min_count: int,
    per: float = 1000.0,
    years: float | None = None,
    *,
    population: str = "residents",
    counting: str = "events",
):
    """Rates by ethnic group × quintile with intervals; withheld cells read "<5" or "*".

    ``label`` names what is counted ("Mental Health Act detentions"); ``population`` the
    residents the rates are per ("residents aged 18 and over"), as the uptake tables say."""
    if table is None:
        return show.paragraphs(
            "The service extract has no ethnicity column, so uptake cannot be crossed by "
            "ethnic group and deprivation."
        )
    cells = []
    for r in table.itertuples():
        count = disclosure.label(r.count, r.suppressed, min_count)
        if r.rate is None or pd.isna(r.rate):
            rate = "–"
        else:
            rate = f"{r.rate:.1f} ({r.lower:.1f} to {r.upper:.1f})"
        cells.append(
            {
                "Ethnic group": ETHNIC_SHORT.get(r.ethnic_group, r.ethnic_group),
                "IMD quintile": r.quintile,
                "People" if counting == "people" else "Events": count,
                "Residents": show.fmt_int(r.population) if r.population else "–",
                f"Rate per {per:,.0f}{' per year' if years else ''} (95% CI)": rate,
            }
        )
    return show.Block(
        show.Table(
            pd.DataFrame(cells),
            f"{label[:1].upper() + label[1:]} by ethnic group and IMD quintile: crude rates per "
            f"{per:,.0f} {population}{' per year' if years else ' over the extract’s period'} "
            "with 95% confidence intervals ('Not stated' and 'Not known' as counts only; the "
            "reference data has no ethnic group by age, so these rates cannot be age-specific "
            "or age-standardised)",
        ),
        show.paragraphs(
            "Counts follow the disclosure control stated under data quality"
            + (
                "; counts with a fraction are events under an LSOA 2011 code that was split in "
                "2021, shared between its 2021 parts in proportion to their residents."
                if any(isinstance(v, float) and pd.notna(v) and v % 1 for v in table["count"])
                else "."
            )
        ),
    )


def section(a):
    """The report's ethnicity × deprivation part for an :class:`eia.assessment.Assessment`
    (its sentences read ``a.findings.intersection``)."""
    found = a.findings.intersection if a.findings is not None else {}
    parts = [
        show.heading("Ethnicity and deprivation together"),
        show_area(
            a.ethnicity_deprivation.area,
            a.ethnicity_deprivation.core20,
            found.get("concentration"),
        ),
    ]
    which = a.primary if a.proposal.options else "the proposal"
    if primary_reason(a):
        which += f" ({primary_reason(a)})"
    option = a.primary if a.proposal.options else None
    if a.ethnicity_deprivation.burden is not None:
        parts.append(
            show_burden(
                a.ethnicity_deprivation.burden,
                a.proposal.thresholds.change_km,
                which,
                option,
                finding=found.get("burden"),
            )
        )
    if a.ethnicity_deprivation.access is not None:
        parts.append(
            show_access(
                a.ethnicity_deprivation.access,
                a.threshold_km,
                which,
                finding=found.get("access") if a.ethnicity_deprivation.burden is None else False,
            )
        )
    if a.uptake is not None and a.ethnicity_deprivation.uptake is not None:
        spec = a.proposal.service
        parts.append(
            show_uptake(
                a.ethnicity_deprivation.uptake,
                measure_noun(a.uptake.result)
                + (" (synthetic)" if a.uptake.result.synthetic else ""),
                a.proposal.disclosure.min_count,
                per=float(getattr(spec, "rate_per", 1000)),
                years=service_years(spec),
                population=a.uptake.result.population,
                counting=a.uptake.result.counting,
            )
        )
    return show.Block(*parts)
