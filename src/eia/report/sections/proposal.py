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
from eia.report.wording import say_text as sentence

__all__ = [
    "audit_threshold_items",
    "imd_map",
    "proposal",
]


# ---------------------------------------------------------------------------
# The proposal


def _say(macro: str, *args, **kwargs) -> str:
    """A caption or table cell from ``prose/proposal.j2`` (plain text; the table escapes it)."""
    return sentence("proposal.j2", macro, *args, **kwargs)


#: The rows of the parameters table that apply when the ratings are in km.
_ACCESS_ROWS = (
    "far",
    "change",
    "min_people",
    "material",
    "disproportionate_km",
    "equity_weight",
    "site_outside",
)
#: The km rows that only stand beside the journey-time thresholds when journey times lead.
_COMPARISON_ROWS = ("far", "change", "material", "disproportionate_km")


def proposal(a: Assessment) -> Block:
    """The proposal: sites now and proposed, options, and the report's parameters."""
    p = a.proposal
    parts: list = []
    if a.access is not None:
        parts.append(Table(sites_table(a), _say("caption", "sites")))
    if p.options:
        parts.append(
            Table(
                pd.DataFrame(
                    {
                        _say("column", "option"): [o.name for o in p.options],
                        _say("column", "description"): [o.description for o in p.options],
                    }
                ),
                _say("caption", "options"),
            )
        )
    t = p.thresholds

    def row(key: str, text=None, extra=None) -> dict[str, str]:
        comparison = bool(a.travel) and key in _COMPARISON_ROWS
        return {_say("name", key, comparison): _say("value", key, t, text, extra)}

    items = row("area", summary_mod.area_name(a))
    if a.kind.rates == "access":
        for key in _ACCESS_ROWS:
            items |= row(key)
    if a.travel:  # the ratings rest on the lead mode's minutes; km rules are for comparison
        items |= threshold_items(a)
    if a.kind.rates == "effects":
        items |= row("uptake_change")
    if p.sites is not None:
        items |= row("ratio_sites")
    elif p.effects:
        items |= row("ratio_effects")
    if a.kind.rates == "uptake" and a.uptake is not None:
        items |= audit_threshold_items(a)
    items |= row("groups", list(p.groups)) | row("disclosure", p.disclosure.min_count)
    if p.service is not None:
        items |= row("service", summary_mod.service_label(a))
    parts.append(definition_table(items, _say("caption", "parameters")))
    return Block(*parts)


def audit_threshold_items(a: Assessment) -> dict[str, str]:
    """The thresholds an equity audit's ratings use, for the parameters table."""
    u, t = a.uptake.result, a.proposal.thresholds
    low, high = u.material_band
    extra = {"worse": u.higher_use_is == "worse", "low": low, "high": high}
    return {
        _say("name", key): _say("value", key, t, None, extra)
        for key in ("higher_rate", "material_gap", "ratio_audit")
    }


def imd_map(a: Assessment) -> Figure | None:
    """The deprivation map with every option's sites named as kept, closing or new
    (:func:`eia.report.figures.imd_map`)."""
    return figures.imd_map(a)
