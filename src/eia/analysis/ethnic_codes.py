"""Detailed ethnic groups: NHS ethnic category codes, their Census 2021 counterparts, and
disclosure-controlled counts and shares of service users at the detailed level.

The five Census 2021 high-level groups hide the disparities race health
programmes work on (Black African and Black Caribbean; Pakistani and
Bangladeshi; Gypsy or Irish Traveller). NHS data sets record the NHS Data
Dictionary's ETHNIC CATEGORY (the 2001 Census's 16 categories): the service
data keeps them (``ServiceData.by_lsoa_ethnic_code``) and
:func:`users_table` counts users by code, with each broad group's users whose
value names only the group (e.g. "Asian") as a row of their own, so that the
detailed rows add up exactly to the five-group table.

:data:`MAPPING` pairs each NHS code with its Census 2021 detailed category
(TS021's 19 categories) and says where they differ:

* NHS ``C`` (any other White background) also covers Census 2021's separate
  *Gypsy or Irish Traveller* and *Roma* categories: there is no national NHS
  code for either.
* NHS ``R`` (Chinese) sits under "Other ethnic groups" in the NHS list but
  under *Asian* in Census 2021.
* NHS ``S`` (any other ethnic group) also covers Census 2021's separate *Arab*
  category.
* ``Z`` (not stated) and ``99`` (not known) have no Census counterpart.

Rates and representation need residents of each detailed group. The reference
pack's ethnicity file has the five groups only; Census 2021 detailed counts by
LSOA are an optional pack file (:data:`DETAILED_FILE`). Without it the report
shows counts and shares of users only, and says why.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import pandas as pd

from eia.analysis import ethnicity_deprivation as intersect
from eia.population.area import ETHNIC_GROUPS
from eia.population.ethnicity import NHS_CODES, NOT_KNOWN, NOT_STATED
from eia.stats import disclosure, rate_ci

ASIAN, BLACK, MIXED, WHITE, OTHER = ETHNIC_GROUPS

#: Optional pack file with Census 2021 TS021 detailed categories by LSOA (long:
#: lsoa21_code, ethnic_group_detailed, n).
DETAILED_FILE = "census2021_ethnicity_detailed_lsoa21.parquet"

#: NHS code → (Census 2021 detailed categories it corresponds to, how they differ).
MAPPING: dict[str, tuple[tuple[str, ...], str]] = {
    "A": (("White: English, Welsh, Scottish, Northern Irish or British",), ""),
    "B": (("White: Irish",), ""),
    "C": (
        ("White: Other White", "White: Gypsy or Irish Traveller", "White: Roma"),
        "NHS C also covers Gypsy or Irish Traveller and Roma, separate in Census 2021",
    ),
    "D": (("Mixed or Multiple ethnic groups: White and Black Caribbean",), ""),
    "E": (("Mixed or Multiple ethnic groups: White and Black African",), ""),
    "F": (("Mixed or Multiple ethnic groups: White and Asian",), ""),
    "G": (("Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",), ""),
    "H": (("Asian, Asian British or Asian Welsh: Indian",), ""),
    "J": (("Asian, Asian British or Asian Welsh: Pakistani",), ""),
    "K": (("Asian, Asian British or Asian Welsh: Bangladeshi",), ""),
    "L": (("Asian, Asian British or Asian Welsh: Other Asian",), ""),
    "M": (("Black, Black British, Black Welsh, Caribbean or African: Caribbean",), ""),
    "N": (("Black, Black British, Black Welsh, Caribbean or African: African",), ""),
    "P": (("Black, Black British, Black Welsh, Caribbean or African: Other Black",), ""),
    "R": (
        ("Asian, Asian British or Asian Welsh: Chinese",),
        "NHS lists Chinese under Other ethnic groups; Census 2021 under Asian",
    ),
    "S": (
        ("Other ethnic group: Any other ethnic group", "Other ethnic group: Arab"),
        "NHS S also covers Arab, separate in Census 2021",
    ),
    "Z": ((), "Not stated: no Census category"),
    "99": ((), "Not known: no Census category"),
}

#: Row label for users whose recorded value names only a broad group.
GROUP_ONLY = "group only, no detailed code"


def mapping_table() -> pd.DataFrame:
    """The NHS code ↔ Census 2021 mapping: code, NHS description, broad group, Census
    2021 detailed categories and how they differ (for the report and docs)."""
    return pd.DataFrame(
        [
            {
                "code": code,
                "nhs_description": NHS_CODES[code][0],
                "census2021_group": NHS_CODES[code][1],
                "census2021_categories": "; ".join(cats) or "–",
                "difference": note or "same category",
            }
            for code, (cats, note) in MAPPING.items()
        ]
    )


def users_table(
    by_code: pd.DataFrame,
    by_group: pd.DataFrame,
) -> pd.DataFrame:
    """Users by NHS code (rows in code order), plus a row per broad group for users whose
    value names only the group; the rows of each group add up to its broad count.

    ``by_code`` is ``ServiceData.by_lsoa_ethnic_code`` (``ethnic_code``, ``count``; None
    codes are ignored here), ``by_group`` ``ServiceData.by_lsoa_ethnicity``
    (``ethnic_group``, ``count``). Columns: ``code``, ``label``, ``broad_group``, ``count``.
    """
    # Both come from the same records (a population's ages are applied when the extract
    # is read, eia.service.aggregate.aggregate), so no count is scaled here.
    codes = by_code.dropna(subset=["ethnic_code"]).groupby("ethnic_code")["count"].sum()
    broad = by_group.groupby("ethnic_group")["count"].sum()
    rows = []
    for group in [*ETHNIC_GROUPS, NOT_STATED, NOT_KNOWN]:
        members = [c for c, (_, g) in NHS_CODES.items() if g == group]
        total = 0.0
        for code in members:
            value = float(codes.get(code, 0.0))
            total += value
            rows.append(
                {"code": code, "label": NHS_CODES[code][0], "broad_group": group, "count": value}
            )
        rest = float(broad.get(group, 0.0)) - total
        if group in ETHNIC_GROUPS:
            rows.append(
                {
                    "code": "",
                    "label": f"{group}: {GROUP_ONLY}",
                    "broad_group": group,
                    "count": max(rest, 0.0) if abs(rest) > 1e-9 else 0.0,
                }
            )
        elif rest > 1e-9:
            # Values recorded as "Not known" without the code 99 (blank, unrecognised).
            rows[-1]["count"] += rest
    return pd.DataFrame(rows)


def protect(
    table: pd.DataFrame,
    broad: Mapping[str, tuple[float, bool]],
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    total_withheld: bool = False,
) -> list[str | None]:
    """Reasons (None, "primary", "secondary", "table") for each row of :func:`users_table`,
    protected together with the published broad table.

    ``broad`` maps each broad group (and the two unknowns) to ``(count, withheld)`` as the
    broad table publishes it; its total (the in-area count) is known too unless
    ``total_withheld``. Published broad counts cannot be withdrawn, so complements are
    chosen among the detailed rows. The rows' shares of the users with a stated code
    give that denominator away: it is audited too, and withheld (shares and all) where
    that spares rows — a denominator costs one and a half rows (:func:`published`).
    """
    return _protect(table, broad, min_count, total_withheld=total_withheld)[0]


def _protect(
    table: pd.DataFrame,
    broad: Mapping[str, tuple[float, bool]],
    min_count: int,
    *,
    total_withheld: bool,
) -> tuple[list[str | None], bool]:
    """:func:`protect`'s reasons, and whether the shares (their denominator) may be published."""
    cells: dict[Hashable, float] = {i: float(v) for i, v in enumerate(table["count"])}
    links = [
        (g, value, withheld, [i for i, b in enumerate(table["broad_group"]) if b == g])
        for g, (value, withheld) in broad.items()
    ]
    links.append(("__total__", float(sum(cells.values())), total_withheld, list(cells)))
    coded = [i for i, code in enumerate(table["code"]) if code in _STATED_CODES]
    reasons = intersect.protect_cells(cells, links, min_count, optional=[("__coded__", coded)])
    shares = ("link", "__coded__") not in reasons
    return [reasons.get(i) for i in range(len(table))], shares


#: The detailed codes of a stated ethnic group (the shares' denominator adds them up).
_STATED_CODES = frozenset(c for c in MAPPING if c not in ("Z", "99"))


def census_populations(detailed_census: pd.DataFrame, codes) -> pd.Series:
    """Residents of the area per NHS code, from Census 2021 detailed categories (the pack's
    optional :data:`DETAILED_FILE`): each code takes the categories :data:`MAPPING` gives it
    (C also Gypsy or Irish Traveller and Roma; S also Arab)."""
    rows = detailed_census[detailed_census["lsoa21_code"].isin(set(codes))]
    by_category = rows.groupby("ethnic_group_detailed")["n"].sum()
    return pd.Series(
        {
            code: float(by_category.reindex(list(cats)).fillna(0).sum())
            for code, (cats, _) in MAPPING.items()
            if cats
        }
    )


def published(
    service,
    broad_published: pd.DataFrame | None,
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    populations: pd.Series | None = None,
    per: float = 1000.0,
    total_withheld: bool = False,
) -> pd.DataFrame | None:
    """The detailed users table as published: counts (None when withheld), share of users
    with a stated detailed code, and ``suppressed``. With ``populations`` (residents per NHS
    code, :func:`census_populations`) also ``population``, ``rate`` per ``per`` residents
    with its 95% CI, and ``representation`` (share of users with a detailed code over share
    of residents). The table passes through :func:`eia.stats.disclosure.publishable`
    (``uptake.by_ethnic_code``): a withheld count's share, rate and representation are
    withheld with it. ``total_withheld``: the in-area count is withheld
    (``"count_in_area" in Uptake.published.reasons``), so readers do not know the table's
    total. Shares are published only when the users with a stated detailed code (their
    denominator, which a share and its count give away) may be known: the audit withholds
    it rather than two rows. None without detailed codes."""
    by_code = getattr(service, "by_lsoa_ethnic_code", None)
    by_group = getattr(service, "by_lsoa_ethnicity", None)
    if by_code is None or by_group is None or broad_published is None:
        return None
    table = users_table(by_code, by_group)
    broad = {
        g: (float(table.loc[table["broad_group"] == g, "count"].sum()), c is None or pd.isna(c))
        for g, c in zip(broad_published["group"], broad_published["count"], strict=True)
        if g in set(table["broad_group"])
    }
    denominator = float(table.loc[table["code"].isin(_STATED_CODES), "count"].sum())
    # Shares give their denominator away (a share and its count): published only when the
    # audit, knowing it, lets it be.
    reasons, shares = _protect(table, broad, min_count, total_withheld=total_withheld)
    table["share"] = [
        (v / denominator if shares and denominator and code in _STATED_CODES else None)
        for v, code in zip(table["count"], table["code"], strict=True)
    ]
    if populations is not None:
        pop = table["code"].map(populations)
        total_pop = float(populations.sum())
        table["population"] = pop
        est = [
            rate_ci(v, n, multiplier=per) if n and n == n else None
            for v, n in zip(table["count"], pop, strict=True)
        ]
        table["rate"] = [float(e.value) if e else None for e in est]
        table["lower"] = [float(e.lower) if e else None for e in est]
        table["upper"] = [float(e.upper) if e else None for e in est]
        table["representation"] = [
            (sh / (n / total_pop)) if sh is not None and n and n == n and total_pop else None
            for sh, n in zip(table["share"], pop, strict=True)
        ]
    return disclosure.publishable(
        table, disclosure.PUBLISHED["uptake.by_ethnic_code"], reasons, min_count=min_count
    )
