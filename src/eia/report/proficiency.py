"""Proficiency in English, shown for the board (MSOA figures apportioned to LSOAs in :mod:`eia.population.proficiency`)."""

from __future__ import annotations

from eia.assessment import adversely_affected
from eia.population.proficiency import METHOD, summary
from eia.report import maps, show
from eia.report.ahead import ahead
from eia.report.wording import primary_reason

__all__ = ["section"]


@ahead
def section(a):
    """The report's language part: area figures, those adversely affected, and a map."""
    frame = a.area.proficiency
    area = summary(frame)
    lines = [
        f"{area['cannot_speak_english_well_or_at_all']:,.0f} residents aged 3 and over "
        f"({show.fmt_pct(area['share'])}) cannot speak English well or at all."
    ]
    if a.primary:
        affected = adversely_affected(a)
        hit = summary(frame, affected)
        under = (
            f"Under {a.primary}{f' ({primary_reason(a)})' if primary_reason(a) else ''}, "
            if a.proposal.options
            else ""
        )
        if affected:
            lines.append(
                f"{under}{'in' if under else 'In'} the {len(affected):,} neighbourhoods whose "
                "distance to the nearest site "
                f"would rise by more than {a.proposal.thresholds.change_km:g} km, "
                f"{hit['cannot_speak_english_well_or_at_all']:,.0f} residents "
                f"({show.fmt_pct(hit['share'])}) cannot speak English well or at all, "
                f"against {show.fmt_pct(area['share'])} across the area."
            )
        else:
            lines.append(
                f"{under}{'no' if under else 'No'} neighbourhood's distance to the nearest site "
                f"would rise by more than {a.proposal.thresholds.change_km:g} km."
            )
    fig = maps.rate_map(
        a.area.lsoas,
        frame["share"] * 100,
        label="% cannot speak English well\nor at all (MSOA)",
        outline=a.area.outline,
    )
    top = frame["share"].max()
    return show.Block(
        show.heading("Proficiency in English"),
        show.paragraphs(*lines, METHOD),
        show.Figure(
            fig,
            alt=f"Map of the share of residents who cannot speak English well or at all, by "
            f"MSOA; the highest MSOA share is {show.fmt_pct(top)}.",
            caption="Residents aged 3+ who cannot speak English well or at all (Census 2021 "
            "TS029, MSOA figures shown on each LSOA)",
        ),
    )
