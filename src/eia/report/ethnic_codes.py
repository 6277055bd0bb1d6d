"""Users by NHS ethnic category code, shown with the NHS ↔ Census 2021 mapping (computed in :mod:`eia.analysis.ethnic_codes`)."""

from __future__ import annotations

import pandas as pd

from eia.analysis.ethnic_codes import mapping_table
from eia.population.area import ETHNIC_SHORT
from eia.report import show
from eia.report.summary import measure_noun
from eia.report.wording import say
from eia.stats import disclosure

__all__ = ["section"]


def section(a):
    """The report's detailed ethnic groups part (service data with an ethnicity column)."""
    if a.uptake is None:
        return None
    min_count = a.proposal.disclosure.min_count
    table = a.uptake.ethnic_codes
    if table is None:
        return show.paragraphs(
            "The service data has no detailed NHS ethnic category codes, so only the five "
            "broad groups are shown."
        )

    who = "People" if a.uptake.result.counting == "people" else "Events"
    noun = measure_noun(a.uptake.result) + (" (synthetic)" if a.uptake.result.synthetic else "")
    frame = pd.DataFrame(
        {
            "Broad group": [ETHNIC_SHORT.get(g, g) for g in table["broad_group"]],
            "NHS code": [c or "–" for c in table["code"]],
            "Detailed group": table["label"],
            who: [
                disclosure.label(v, r, min_count)
                for v, r in zip(table["count"], table["suppressed"], strict=True)
            ],
            f"Share of {who.lower()} with a detailed code": [
                "–" if isinstance(r, str) or s is None or pd.isna(s) else show.fmt_pct(s)
                for s, r in zip(table["share"], table["suppressed"], strict=True)
            ],
        }
    )
    share_column = f"Share of {who.lower()} with a detailed code"
    shares_withheld = bool(len(frame)) and bool((frame[share_column] == "–").all())
    if shares_withheld:  # a column of dashes tells the reader nothing: said once instead
        frame = frame.drop(columns=[share_column])
    if "rate" in table:
        frame["Residents (Census 2021)"] = [
            "–" if v is None or v != v else show.fmt_int(v) for v in table["population"]
        ]
        frame["Rate per 1,000 (95% CI)"] = [
            "–" if r is None else f"{r:.1f} ({lo:.1f} to {hi:.1f})"
            for r, lo, hi in zip(table["rate"], table["lower"], table["upper"], strict=True)
        ]
        frame["Representation"] = [
            "–" if v is None else f"{v:.2f}" for v in table["representation"]
        ]
        why = say("ethnic_codes.j2", "why", rates=True)
    else:
        why = say("ethnic_codes.j2", "why", rates=False)
    return show.Block(
        show.heading("Detailed ethnic groups"),
        show.Table(
            frame,
            f"{noun[:1].upper() + noun[1:]} by NHS ethnic category code; the rows of "
            "each broad group add up to its count in the five-group table",
        ),
        show.paragraphs(
            why,
            *(
                [say("ethnic_codes.j2", "shares_withheld", who=who.lower())]
                if shares_withheld
                else []
            ),
            "Counts follow the disclosure control stated under the data-quality section: "
            "small counts are withheld in this table together with the five-group tables"
            + (
                "; a count with a fraction comes from an LSOA 2011 code split in 2021, shared "
                "between its parts by residents."
                if any(isinstance(v, float) and v % 1 for v in table["count"] if v is not None)
                else "."
            ),
        ),
        show.Table(
            mapping_table().rename(
                columns={
                    "code": "NHS code",
                    "nhs_description": "NHS description",
                    "census2021_group": "Census 2021 group",
                    "census2021_categories": "Census 2021 categories",
                    "difference": "Difference",
                }
            ),
            "NHS ethnic category codes and their Census 2021 counterparts",
        ),
    )
