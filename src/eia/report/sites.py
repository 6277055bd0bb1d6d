"""The report's table of sites: each site once, with its status under each scenario.

One row per site (current sites first, then the new sites in the order the
scenarios name them) and one column per scenario saying whether the site is
kept, closing or new there (:func:`eia.analysis.sites.site_roles`), so a board reads
eleven sites once rather than the same list again for every option.
"""

from __future__ import annotations

import pandas as pd

from eia.analysis.sites import site_key, site_roles
from eia.assessment import Assessment

__all__ = ["STATUS", "scenario_heading", "sites_table"]

#: How each role reads in the table.
STATUS = {"kept": "kept", "closing": "closing", "new": "new"}


def scenario_heading(a: Assessment, name: str) -> str:
    """A scenario's column heading: the option's name, or "The proposal" for the one unnamed."""
    return "The proposal" if name == "Proposed" and not a.proposal.options else name


def _located(row) -> str:
    code = getattr(row, "code", "") or ""
    if getattr(row, "source", "") == "hospital":
        return f"reference data ({code})" if code else "reference data"
    return "coordinates"


def sites_table(a: Assessment) -> pd.DataFrame:
    """``Site, Located by, Now, <scenario>...``: each site once, ``kept``/``closing``/``new``
    (or blank where a scenario does not have it) under each scenario."""
    if a.access is None:
        return pd.DataFrame()
    order: dict[str, dict] = {}
    for row in a.access.current.itertuples():
        order.setdefault(site_key(row.name), {"Site": row.name, "Located by": _located(row)})
        order[site_key(row.name)]["Now"] = "open"
    for name, sites in a.access.proposed.items():
        heading = scenario_heading(a, name)
        located = {site_key(r.name): _located(r) for r in sites.itertuples()}
        roles = site_roles(a.access.current, sites)
        for site, role in zip(roles["name"], roles["role"], strict=True):
            entry = order.setdefault(
                site_key(site), {"Site": site, "Located by": located.get(site_key(site), "")}
            )
            entry[heading] = STATUS[role]
    columns = ["Site", "Located by", "Now"] + [scenario_heading(a, n) for n in a.access.proposed]
    return pd.DataFrame(list(order.values()), columns=columns).fillna("")
