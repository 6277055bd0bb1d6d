"""Joining aggregated service counts to LSOA 2021: 2011 codes split or merged by the ONS look-up, unmatched codes counted, never echoed."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from eia import redact
from eia.population import ethnicity as eth
from eia.refdata.lsoa21 import _name_key, _names, resolve_codes
from eia.service.aggregate import Extract
from eia.service.columns import (
    _MAX_EXAMPLES,
    DIMENSIONS,
    ServiceDataWarning,
)

__all__ = ["join_to_lsoa21"]


# Joining to LSOA 2021
# ---------------------------------------------------------------------------


def join_to_lsoa21(
    extract: Extract | pd.DataFrame, pack, area_codes: Sequence[str]
) -> tuple[pd.DataFrame, dict]:
    """Convert an extract's LSOA values to LSOA 2021; keep the area's part, account for the rest.

    ``extract`` is an :class:`Extract` from :func:`read_service` (or its
    ``by_code`` frame). Returns ``(joined, quality)``: ``joined`` has
    ``lsoa21_code``, ``ethnic_group`` (when mapped) and ``count``, for LSOAs in
    ``area_codes`` only. ``quality`` is a dict: ``records_read``,
    ``count_read``, ``count_in_area``, ``count_converted_from_2011`` (count
    carried by 2011 codes that were converted, wherever they fell),
    ``count_outside_area`` (including Welsh), ``count_welsh``,
    ``count_unmatched`` (= ``count_blank`` + ``count_malformed`` +
    ``count_unknown_code``), ``count_matched_by_name``, ``unmatched_examples``
    (up to 10 values, commonest first: only values shaped like geography codes
    are quoted, every other value is counted by kind, see :func:`eia.redact.unmatched_examples`),
    ``ethnicity_not_stated_share`` and ``ethnicity_not_known_share`` (shares
    of the in-area count; None without an ethnicity column), and what the read
    found (``source``, ``format``, ``encoding``, ``date_first``, ``date_last``,
    ``dates_missing``, ``ethnicity_unrecognised``). ``count_read`` = in area +
    outside area + unmatched.

    When the extract was read for a population's ages (``info["ages_applied"]``)
    ``count_in_area`` counts only records within those ages, and the area's other
    records are counted in ``count_outside_ages`` (of a known age outside them) and
    ``count_age_unknown``; ``count_in_area_all_ages`` is their sum, and ``count_read``
    = ``count_in_area`` + ``count_outside_ages`` + ``count_age_unknown`` +
    ``count_outside_area`` + ``count_unmatched`` (outside and unmatched of all ages).
    With distinct people each is a sum over LSOA values of the people seen in each
    (``people_distinct`` counts each person once, wherever seen).
    """
    if isinstance(extract, Extract):
        agg, read = extract.by_code, dict(extract.info)
        # With distinct people, totals come from people per LSOA value, not per cell.
        totals = extract.by_code_total if extract.by_code_total is not None else agg
    else:
        agg, read = extract, dict(extract.attrs.get("read", {}))
        totals = agg
    area = set(area_codes)
    dims = [d for d in DIMENSIONS if d in agg.columns]
    # Every LSOA value: with a population's ages, one may hold records of other ages only.
    values = list(dict.fromkeys([*agg["code"].tolist(), *totals["code"].tolist()]))
    resolved = resolve_codes(values, pack)
    cells = agg.merge(resolved, on="code", how="left")
    cells["count"] = cells["count"] * cells["weight"]
    merged = totals.merge(resolved, on="code", how="left")
    by_age = "count_all_ages" in merged.columns
    if by_age:  # read for a population's ages: the totals of quality are of every age
        for column in ("count_all_ages", "count_age_known"):
            merged[column] = merged[column] * merged["weight"]
        merged["count_in_ages"] = merged["count"] * merged["weight"]
        merged["count"] = merged["count_all_ages"]
    else:
        merged["count"] = merged["count"] * merged["weight"]
    route = merged["route"].astype(str)
    matched = merged["lsoa21_code"].notna()
    in_area = matched & merged["lsoa21_code"].isin(area)
    welsh = matched & merged["lsoa21_code"].astype(str).str.startswith("W")

    def total(mask) -> float:
        return float(merged.loc[mask, "count"].sum())

    by_name = route.str.startswith("name:")
    names = merged.loc[by_name, "code"].drop_duplicates()
    if len(names):
        warnings.warn(
            ServiceDataWarning(
                "names_matched", n=len(names), examples=[str(n) for n in names.head(3)]
            ),
            stacklevel=2,
        )
    unmatched = merged[~matched]
    ranked = (
        unmatched.assign(code=unmatched["code"].fillna(""))
        .groupby("code")["count"]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    shown = redact.unmatched_examples(  # the names are built only if something is unmatched
        ranked.index, lambda v: _name_key(v) in _names(pack)["names21"], limit=_MAX_EXAMPLES
    )

    cells_in_area = cells[cells["lsoa21_code"].notna() & cells["lsoa21_code"].isin(area)]
    joined = cells_in_area.groupby(["lsoa21_code", *dims], sort=True, as_index=False)["count"].sum()
    count_in_area = total(in_area)
    quality = {
        "records_read": read.get(
            "records_read", int(agg["records"].sum()) if "records" in agg else None
        ),
        "count_read": float(merged["count"].sum()),
        "count_in_area": count_in_area,
        "count_converted_from_2011": total(matched & route.str.contains("lsoa11")),
        "count_outside_area": total(matched & ~in_area),
        "count_welsh": total(welsh),
        "count_unmatched": total(~matched),
        "count_blank": total(route == "blank"),
        "count_malformed": total(route == "malformed"),
        "count_unknown_code": total(route == "unknown_code"),
        "count_matched_by_name": total(by_name),
        "unmatched_examples": shown,
        "ethnicity_not_stated_share": None,
        "ethnicity_not_known_share": None,
    }
    if by_age:
        area_rows = merged[in_area]
        inside = float(area_rows["count_in_ages"].sum())
        known = float(area_rows["count_age_known"].sum())
        quality["count_in_area_all_ages"] = count_in_area
        quality["count_in_area"] = inside
        quality["count_outside_ages"] = known - inside
        quality["count_age_unknown"] = count_in_area - known
    if "ethnic_group" in dims and joined["count"].sum() > 0:
        share = joined.groupby("ethnic_group")["count"].sum() / joined["count"].sum()
        quality["ethnicity_not_stated_share"] = float(share.get(eth.NOT_STATED, 0.0))
        quality["ethnicity_not_known_share"] = float(share.get(eth.NOT_KNOWN, 0.0))
    for key in (
        "engine",
        "source",
        "format",
        "encoding",
        "table",
        "query_sha256",
        "counting",
        "date_first",
        "date_last",
        "dates_missing",
        "period_start",
        "period_end",
        "records_outside_period",
        "count_outside_period",
        "records_without_person",
        "ethnicity_unrecognised",
        "people_distinct",
        "ages",
        "ages_applied",
        "age_form",
        "ages_effective",
        "age_bands",
    ):
        if key in read:
            quality[key] = read[key]
    return joined, quality
