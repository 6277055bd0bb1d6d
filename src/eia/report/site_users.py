"""The users of each site and of each closing site, shown for the board (computed in :mod:`eia.analysis.site_users`)."""

from __future__ import annotations

import pandas as pd

from eia.analysis.site_users import (
    closing_sites,
    profiles,
)
from eia.population.area import ETHNIC_SHORT
from eia.report.maps import site_roles
from eia.report.show import Block, Html, Table, esc, fmt_pct, join_words, plural
from eia.stats import disclosure

__all__ = ["section"]


def _label(value, reason, min_count: int) -> str:
    return disclosure.label(value, reason, min_count, decimals=0)


def section(a) -> Block | None:
    """Users of each current site and the profile of each closing site's users (a Block).

    None when the proposal has no sites; a sentence saying what to add when the
    service data has no site column.
    """
    if a.access is None or not len(a.access.current):
        return None
    if a.uptake is None:
        return None
    by_site = getattr(a.uptake.service, "by_site", None)
    if by_site is None:
        return Block(
            Html(
                "<p>The service data does not say which site each record is from, so this "
                "report cannot show how many people use each site or who uses the sites that "
                "would close (an analyst can add the site column to the service data).</p>"
            )
        )

    min_count = a.proposal.disclosure.min_count
    names = [str(n) for n in a.access.current["name"]]
    closes = closing_sites(
        {o: site_roles(a.access.current, s) for o, s in a.access.proposed.items()}
    )
    linked = getattr(a.uptake.result.published, "linked", None)
    result = profiles(
        by_site, a.area.lsoas, names, list(closes), min_count=min_count, linked=linked
    )
    sites = result["sites"]
    label = esc(a.uptake.service.label)
    table = pd.DataFrame(
        {
            "Site": sites["site"],
            "Current users": [
                _label(v, r, min_count)
                for v, r in zip(sites["users"], sites["suppressed"], strict=True)
            ],
            "Closes under": [join_words(closes.get(s, [])) or "no option" for s in sites["site"]],
        }
    )
    parts: list = [
        Table(table, f"Current users of each site ({a.uptake.service.label})"),
    ]
    if result["unmatched_suppressed"]:
        withheld = _label(None, result["unmatched_suppressed"], min_count)
        parts.append(
            Html(
                f"<p>{esc(withheld)} records of {label} (withheld: small numbers) name no "
                "current site of this proposal (or no site) and are not counted above.</p>"
            )
        )
    elif result["unmatched"]:
        parts.append(
            Html(
                f"<p>{esc(plural(round(result['unmatched']), 'record'))} of {label} name no "
                "current site of this proposal (or no site) and are not counted above.</p>"
            )
        )
    residents = _resident_shares(a)
    prof = result["profiles"]
    for site, options in closes.items():
        part = prof[prof["site"] == site]
        if not len(part):
            continue
        frame = pd.DataFrame(
            {
                "Group": part["group"].map(lambda g: ETHNIC_SHORT.get(g, g)),
                "Users": [
                    _label(v, r, min_count)
                    for v, r in zip(part["users"], part["suppressed"], strict=True)
                ],
                "Share of the site's users": part["share"].map(fmt_pct),
                "Share of the area's residents": [
                    fmt_pct(residents.get((d, g)))
                    for d, g in zip(part["dimension"], part["group"], strict=True)
                ],
            }
        )
        parts.append(
            Table(
                frame.reset_index(drop=True),
                f"Who uses {site}, which closes under {join_words(options)}: its users by "
                "deprivation (IMD 2025 quintile) and ethnic group, against the area's residents",
            )
        )
    parts.append(
        Html(
            "<p>Counts per site follow the disclosure control stated with the tables of current "
            "users, applied across all the site tables together.</p>"
        )
    )
    return Block(*parts)


def _resident_shares(a) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for dim in ("imd_quintile", "ethnic_group"):
        weights = a.area.weights.get(dim)
        if weights is None:
            continue
        totals = weights.sum(axis=0)
        for group, value in (totals / totals.sum()).items():
            out[(dim, str(group))] = float(value)
    return out
