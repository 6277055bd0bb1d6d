"""The proposal and options: what changes, the thresholds in force, the deprivation map.

Part of :mod:`eia.report.sections` (see its docstring for how templates use it).
"""

from __future__ import annotations

import pandas as pd

from eia.assessment import Assessment
from eia.report import figures
from eia.report import summary as summary_mod
from eia.report.show import (
    Block,
    Figure,
    Table,
    definition_table,
)
from eia.report.sites import sites_table
from eia.report.travel import threshold_items

__all__ = [
    "audit_threshold_items",
    "imd_map",
    "proposal",
]


# ---------------------------------------------------------------------------
# The proposal


def proposal(a: Assessment) -> Block:
    """The proposal: sites now and proposed, options, and the report's parameters."""
    p = a.proposal
    parts: list = []
    if a.access is not None:
        parts.append(
            Table(
                sites_table(a),
                "Sites now and under each scenario: each site once, kept, closing or new",
            )
        )
    if p.options:
        parts.append(
            Table(
                pd.DataFrame(
                    {
                        "Option": [o.name for o in p.options],
                        "Description": [o.description for o in p.options],
                    }
                ),
                "Options appraised (the current sites are the do-nothing baseline)",
            )
        )
    t = p.thresholds
    items = {"Area": summary_mod.area_name(a)}
    if a.kind.rates == "access":
        items |= {
            "Far from a site": f"more than {t.distance_km:g} km",
            "Distance change that counts as an effect": f"more than {t.change_km:g} km",
            "Fewest residents in a group for it to be rated": f"{t.min_people:,}",
            "Material burden": f"{t.material_km:g} km per resident, or {t.material_share:.1%} "
            f"of a group newly beyond {t.distance_km:g} km",
            "Disproportionate also needs a difference of": f"{t.disproportionate_km:g} km per resident",
            "Equity weight of Core20 residents (ranking options)": f"{t.equity_weight:g}",
            "Sites warned about beyond": f"{t.site_outside_km:g} km outside the area",
        }
    if a.travel:  # the ratings rest on the lead mode's minutes; km rules are for comparison
        items = {
            k
            if k in ("Area", "Fewest residents in a group for it to be rated")
            or "Equity" in k
            or "Sites warned" in k
            else f"{k} (straight-line, for comparison)": v
            for k, v in items.items()
        } | threshold_items(a)
    if a.kind.rates == "effects":
        items["Expected change that counts as an effect"] = f"±{t.uptake_change_pct:g}% or more"
    if p.sites is not None:
        items["Disproportionate when the burden ratio is at least"] = (
            f"{t.disproportionate_ratio:g}"
        )
    elif p.effects:
        items["Disproportionate when a group's expected loss is at least"] = (
            f"{t.disproportionate_ratio:g} times the rest of its dimension's"
        )
    if a.kind.rates == "uptake" and a.uptake is not None:
        items |= audit_threshold_items(a)
    items |= {
        "Groups opted in": ", ".join(p.groups) or "none (deprivation and ethnicity always)",
        "Disclosure control": f"counts below {p.disclosure.min_count} withheld",
    }
    if p.service is not None:
        items["Service data"] = summary_mod.service_label(a)
    parts.append(definition_table(items, "Report parameters"))
    return Block(*parts)


def audit_threshold_items(a: Assessment) -> dict[str, str]:
    """The thresholds an equity audit's ratings use, for the parameters table."""
    u, t = a.uptake.result, a.proposal.thresholds
    low, high = u.material_band
    worse = u.higher_use_is == "worse"
    return {
        "A higher rate is": "worse (harm)" if worse else "better (care reached)",
        "Material gap": f"representation outside {low:g} to {high:g}, its 95% interval excluding 1",
        "Disproportionate when representation is": (
            f"above {t.disproportionate_ratio:g}"
            if worse
            else f"below {1 / t.disproportionate_ratio:.2f} (1 ÷ {t.disproportionate_ratio:g})"
        ),
    }


def imd_map(a: Assessment) -> Figure | None:
    """The deprivation map with every option's sites named as kept, closing or new
    (:func:`eia.report.figures.imd_map`)."""
    return figures.imd_map(a)
