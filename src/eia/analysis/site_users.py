"""Users of each site, and who uses the sites that would close.

With a ``site`` column in the service data (``service.columns.site``), the
extract's aggregate ``ServiceData.by_site`` (``site, lsoa21_code, ethnic_group,
count``; see :mod:`eia.service.aggregate`) says where each user went. This module turns
it into what a board asks of a closure: how many people use each site now, and
the deprivation and ethnic profile of the users of each site that would close,
against the area's residents.

Site names in the extract are matched to the proposal's current sites ignoring
case and spacing; records naming no current site are counted (never quoted).
Every published count goes through :func:`eia.stats.disclosure.protect` in one pass,
with the relations a reader knows (each site's total is the sum of its
deprivation rows and of its ethnic rows; the sites add up to the total), so no
withheld count can be worked out from the others.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from eia.population.area import ETHNIC_SHORT, QUINTILE_LABELS
from eia.stats import disclosure

#: The users' ethnic groups that are not a Census group (not published as a profile row).
NOT_STATED = ("Not stated", "Not known")


def _key(name: object) -> str:
    return " ".join(str(name).casefold().split())


def match_sites(by_site: pd.DataFrame, site_names: list[str]) -> tuple[pd.DataFrame, float]:
    """``by_site`` with ``site`` replaced by the proposal's own site names.

    Returns the matched rows and the count of records whose site matched none of
    ``site_names`` (blank sites included); their names are never returned.
    """
    names = {_key(n): n for n in site_names}
    mapped = by_site["site"].map(lambda s: names.get(_key(s)) if pd.notna(s) else None)
    matched = by_site.assign(site=mapped)
    unmatched = float(pd.to_numeric(matched.loc[mapped.isna(), "count"]).sum())
    return matched[mapped.notna()].reset_index(drop=True), unmatched


def profiles(
    by_site: pd.DataFrame,
    area: pd.DataFrame,
    site_names: list[str],
    closing: list[str],
    *,
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    linked: disclosure.Linked | None = None,
) -> dict[str, pd.DataFrame | float | str | None]:
    """Users per site and the profile of each closing site's users, with disclosure control.

    ``area`` has ``lsoa21_code`` and ``imd_quintile``; ``site_names`` are the current
    sites (every one gets a row, zeros included); ``closing`` the ones some option
    closes. ``linked`` (``Uptake.published.linked``) links the site tables with the
    main tables in one audit: the sites add up to the in-area count and their profiles
    to the quintiles and ethnic groups, so differencing a site table against a main table
    pins no withheld count (the main tables' entries are fixed: complements are chosen
    among the site tables). Returns ``{"sites": frame, "profiles": frame, "unmatched":
    float or None, "unmatched_suppressed": reason or None}`` (the count of records naming
    no current site is protected like any count):

    * ``sites``: ``site, users, suppressed`` (one row per current site);
    * ``profiles``: ``site, dimension ("imd_quintile"|"ethnic_group"), group, users,
      share, suppressed`` (share of the site's users; withheld with its count and with
      the site's total).

    Both pass through :func:`eia.stats.disclosure.publishable` (``site_users.sites``,
    ``site_users.profiles``): withheld counts and their shares are None.

    Counts are unrounded sums (LSOA 2011 → 2021 apportioning can make fractions).
    """
    names = {_key(n): n for n in site_names}
    quintile = area.set_index("lsoa21_code")["imd_quintile"]
    every = by_site.assign(
        site=by_site["site"].map(lambda s: names.get(_key(s)) if pd.notna(s) else None),
        count=pd.to_numeric(by_site["count"], errors="coerce").fillna(0.0),
        imd_quintile=by_site["lsoa21_code"].map(quintile),
    )
    matched = every[every["site"].notna()].reset_index(drop=True)
    unmatched = float(every.loc[every["site"].isna(), "count"].sum())
    totals = matched.groupby("site")["count"].sum().reindex(site_names, fill_value=0.0)

    values: dict = {("site", s): float(totals[s]) for s in site_names}
    values[TOTAL] = float(totals.sum())
    values[UNMATCHED] = unmatched
    constraints: list = [(TOTAL, [("site", s) for s in site_names])]
    rows = []
    groups = [g for g in _ethnic_groups(matched) if g not in NOT_STATED]
    has_ethnicity = "ethnic_group" in every.columns
    for site in closing:
        part = matched[matched["site"] == site]
        by_q = part.groupby("imd_quintile")["count"].sum().reindex(range(1, 6), fill_value=0.0)
        by_e = _by_group(part, groups) if has_ethnicity else None
        q_keys = []
        for q in range(1, 6):
            key = ("q", site, q)
            values[key] = float(by_q[q])
            q_keys.append(key)
            rows.append((site, "imd_quintile", QUINTILE_LABELS[q], key))
        constraints.append((("site", site), q_keys))
        if by_e is not None:
            e_keys = []
            for g, value in by_e.items():
                key = ("e", site, g)
                values[key] = value
                e_keys.append(key)
                rows.append((site, "ethnic_group", g, key))
            constraints.append((("site", site), e_keys))
    fixed: dict = {}
    hidden: set = set()
    latent: set = set()
    if linked is not None:
        fixed = linked.fixed()
        hidden = _link_to_main(
            values, constraints, linked, every, site_names, closing, groups, has_ethnicity
        )
        if has_ethnicity:
            latent = _link_cells(values, constraints, linked, every, site_names, closing)
        values = {**linked.values, **values}
        # Only relations the true counts satisfy are known to readers (distinct people
        # counted once per cell, for one, do not add up across sites).
        constraints = [*linked.constraints, *_holding(values, constraints)]
    reasons = disclosure.protect(
        values, constraints, min_count, fixed=fixed, hidden=hidden, latent=latent
    )

    sites = pd.DataFrame({"site": site_names, "users": [values[("site", s)] for s in site_names]})
    prof = pd.DataFrame(
        [
            {"site": site, "dimension": dim, "group": group, "users": values[key]}
            for site, dim, group, key in rows
        ],
        columns=["site", "dimension", "group", "users"],
    )
    site_total = prof["site"].map(lambda s: values[("site", s)]).astype(float)
    prof["share"] = prof["users"] / site_total.where(site_total > 0)
    # A share's denominator is its site's total: withheld with it too.
    site_withheld = prof["site"].map(lambda s: reasons.get(("site", s)) is not None).astype(bool)
    prof.loc[site_withheld, "share"] = np.nan
    sites = disclosure.publishable(
        sites,
        disclosure.PUBLISHED["site_users.sites"],
        [reasons.get(("site", s)) for s in site_names],
        min_count=min_count,
    )
    prof = disclosure.publishable(
        prof,
        disclosure.PUBLISHED["site_users.profiles"],
        [reasons.get(key) for *_, key in rows],
        min_count=min_count,
    )
    unmatched_reason = reasons.get(UNMATCHED)
    return {
        "sites": sites,
        "profiles": prof,
        "unmatched": None if unmatched_reason else unmatched,
        "unmatched_suppressed": unmatched_reason,
    }


#: The entries of the sites' total and of the records naming no current site.
TOTAL = ("sites", "total")
UNMATCHED = ("sites", "unmatched")
#: The profile row of records with no stated ethnic group.
UNSTATED = "Not stated or not known"


def _by_group(frame: pd.DataFrame, groups: list[str]) -> dict[str, float]:
    """Users per ethnic group of ``frame``, with Not stated and Not known as one row."""
    by_e = frame.groupby("ethnic_group")["count"].sum()
    out = {g: float(by_e.get(g, 0.0)) for g in groups}
    out[UNSTATED] = float(by_e.reindex(list(NOT_STATED)).fillna(0).sum())
    return out


def _link_to_main(
    values: dict,
    constraints: list,
    linked: disclosure.Linked,
    every: pd.DataFrame,
    site_names: list[str],
    closing: list[str],
    groups: list[str],
    has_ethnicity: bool,
) -> set:
    """Relations between the site tables and the main tables (``linked``), added to
    ``values`` and ``constraints``: the sites and the records naming none add up to the
    in-area count; each quintile (ethnic group) is the closing sites' rows plus the hidden
    quintile (group) split of every other site and of the unmatched records. Returns the
    hidden entries."""
    hidden: set = set()
    constraints.append(("count_in_area", [TOTAL, UNMATCHED]))
    others = [s for s in site_names if s not in closing] + [None]
    for site in others:
        part = every[every["site"].isna()] if site is None else every[every["site"] == site]
        whole = UNMATCHED if site is None else ("site", site)
        by_q = part.groupby("imd_quintile")["count"].sum().reindex(range(1, 6), fill_value=0.0)
        q_keys = []
        for q in range(1, 6):
            key = ("hq", site, q)
            values[key] = float(by_q[q])
            q_keys.append(key)
        constraints.append((whole, q_keys))
        hidden.update(q_keys)
        if has_ethnicity:
            e_keys = []
            for g, value in _by_group(part, groups).items():
                key = ("he", site, g)
                values[key] = value
                e_keys.append(key)
            constraints.append((whole, e_keys))
            hidden.update(e_keys)
    for q in range(1, 6):
        parts = [("q", s, q) for s in closing] + [("hq", s, q) for s in others]
        constraints.append((("quintile", q), parts))
    if has_ethnicity:
        for g in [*groups, UNSTATED]:
            parts = [("e", s, g) for s in closing] + [("he", s, g) for s in others]
            if g == UNSTATED:
                main = [("ethnic", n) for n in NOT_STATED]
                if any(k not in linked.values for k in main):
                    continue
                values[("he_total", g)] = sum(float(linked.values[k]) for k in main)
                hidden.add(("he_total", g))
                constraints.append((("he_total", g), main))
                constraints.append((("he_total", g), parts))
            else:
                constraints.append((("ethnic", g), parts))
    return hidden


def _link_cells(
    values: dict,
    constraints: list,
    linked: disclosure.Linked,
    every: pd.DataFrame,
    site_names: list[str],
    closing: list[str],
) -> set:
    """The records' finest cells (place × IMD quintile × ethnic category, places being the
    current sites and None for records naming none), as latent entries of the audit, and
    every published figure that adds them up: each site's quintile and ethnic rows (shown
    or hidden), the main tables' ethnic groups, the completeness shares' stated and
    not-stated counts per quintile, and the ethnicity × deprivation cells when ``linked``
    holds them (entries ``("cross", category, quintile)``).

    Sums of margins alone miss what their overlap pins: a closing site's quintile row
    whose records are all stated (its quintile's completeness is 100%) and its ethnic rows
    bound each other through these cells, never through the margins' totals. Returns the
    cells' keys (:data:`eia.stats.disclosure.LATENT`)."""
    groups = [g for g in _ethnic_groups(every) if g not in NOT_STATED]
    categories = [*groups, *NOT_STATED]
    places = [*closing, *(s for s in site_names if s not in closing), None]
    cells = {("cell", p, q, c): 0.0 for p in places for q in range(1, 6) for c in categories}
    for place, q, c, n in zip(
        every["site"], every["imd_quintile"], every["ethnic_group"], every["count"], strict=True
    ):
        key = ("cell", None if pd.isna(place) else place, q, c)
        if key in cells:  # a record outside the area or of no category: no cell
            cells[key] += float(n)
    values.update(cells)

    def add(total, keys) -> None:
        constraints.append((total, list(keys)))

    for place in places:
        kind = ("q", "e") if place in closing else ("hq", "he")
        for q in range(1, 6):
            add((kind[0], place, q), (("cell", place, q, c) for c in categories))
        for g in groups:
            add((kind[1], place, g), (("cell", place, q, g) for q in range(1, 6)))
        add(
            (kind[1], place, UNSTATED),
            (("cell", place, q, c) for q in range(1, 6) for c in NOT_STATED),
        )
    for c in categories:
        if ("ethnic", c) in linked.values:
            add(("ethnic", c), (("cell", p, q, c) for p in places for q in range(1, 6)))
        for q in range(1, 6):
            if ("cross", c, q) in linked.values:
                add(("cross", c, q), (("cell", p, q, c) for p in places))
    for q in range(1, 6):
        for kind, members in (("stated", groups), ("unstated", NOT_STATED)):
            if (kind, q) in linked.values:
                add((kind, q), (("cell", p, q, c) for p in places for c in members))
    return set(cells)


def _holding(values: Mapping, constraints: list) -> list:
    """The relations whose entries all exist and whose true counts add up."""
    out = []
    for total, parts in constraints:
        if total not in values or any(p not in values for p in parts):
            continue
        known = float(values[total])
        if abs(known - sum(float(values[p]) for p in parts)) <= 1e-6 * max(1.0, abs(known)):
            out.append((total, parts))
    return out


def _ethnic_groups(frame: pd.DataFrame) -> list[str]:
    known = list(ETHNIC_SHORT)
    return known + sorted(
        {str(g) for g in frame.get("ethnic_group", pd.Series(dtype=object)).dropna()}
        - set(known)
        - set(NOT_STATED)
    )


def closing_sites(roles_by_option: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    """For each current site that some option closes, the options that close it (in order)."""
    out: dict[str, list[str]] = {}
    for option, roles in roles_by_option.items():
        for name in roles.loc[roles["role"] == "closing", "name"]:
            out.setdefault(str(name), []).append(option)
    return out
