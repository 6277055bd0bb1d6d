"""Disclosure control across the uptake tables and the data-quality counts, and their JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from eia.analysis.uptake.period import month_of
from eia.analysis.uptake.rates import PER
from eia.jsonable import clean
from eia.population.area import ETHNIC_GROUPS
from eia.population.ethnicity import NOT_KNOWN, NOT_STATED
from eia.stats import disclosure

if TYPE_CHECKING:
    from eia.analysis.uptake.result import Uptake

__all__ = ["QUALITY_COUNTS", "protect_tables", "protect_map"]


#: The data-quality counts published in metrics.json (all under disclosure control).
QUALITY_COUNTS = (
    "records_read",
    "count_read",
    "count_in_area",
    "count_converted_from_2011",
    "count_outside_area",
    "count_unmatched",
    "count_welsh",
    "count_matched_by_name",
    "count_outside_ages",
    "count_age_unknown",
)


def protect_tables(
    quintiles: pd.DataFrame,
    deciles: pd.DataFrame,
    ethnic: pd.DataFrame | None,
    quality: Mapping,
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    counted_rows: bool = True,
    completeness: pd.DataFrame | None = None,
) -> dict:
    """Which counts to withhold across all published tables, knowing how they add up.

    Deciles add up to quintiles (1+2 = Q1, ...), every table adds up to the
    in-area count, the five ethnic groups to the stated-ethnicity total, and
    in area + outside + unmatched = count read (= records read when each row
    is one event, ``counted_rows``). With ``completeness``
    (:func:`completeness_table`), a quintile's completeness share publishes its
    stated and not-stated counts (given its published count): entries
    ``("stated", q)`` and ``("unstated", q)``, linked to the quintile and to the
    ethnic groups, and withheld first when something must be (a share is cheaper
    than a count). Returns ``{entry: reason}`` with entries ``("decile", d)``,
    ``("quintile", q)``, ``("ethnic", group)``, ``"stated"``, those and the
    data-quality keys.
    """
    return protect_linked_tables(
        quintiles,
        deciles,
        ethnic,
        quality,
        min_count,
        counted_rows=counted_rows,
        completeness=completeness,
    ).reasons


def protect_linked_tables(
    quintiles: pd.DataFrame,
    deciles: pd.DataFrame,
    ethnic: pd.DataFrame | None,
    quality: Mapping,
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    counted_rows: bool = True,
    completeness: pd.DataFrame | None = None,
) -> disclosure.Linked:
    """:func:`protect_tables` with its entries and relations (:class:`eia.stats.disclosure.Linked`),
    for tables linked later (per-site tables) to be protected against them."""
    values, constraints = _linked(
        quintiles, deciles, ethnic, quality, counted_rows=counted_rows, completeness=completeness
    )
    hidden = {k for k in values if isinstance(k, tuple) and k[0] in _HIDDEN_KINDS}
    prefer = {"records_read", "count_read", "count_outside_area", "count_unmatched"}
    prefer |= {k for k in values if isinstance(k, tuple) and k[0] in ("stated", "unstated")}
    reasons = disclosure.protect(values, constraints, min_count, prefer=prefer, hidden=hidden)
    return disclosure.Linked(
        values, tuple(constraints), {**reasons, **{k: disclosure.HIDDEN for k in hidden}}
    )


#: Entries of the linked tables that are never published (only related to what is).
_HIDDEN_KINDS = ("unstated_all", "ethnic_count")


def _linked(
    quintiles, deciles, ethnic, quality, *, counted_rows: bool, completeness=None
) -> tuple[dict, list]:
    """Every published count and the relations between them (see :func:`protect_tables`)."""
    values: dict[Any, float] = {}
    for d, c in zip(deciles["imd_decile"], deciles["count"], strict=True):
        values[("decile", int(d))] = float(c)
    for q, c in zip(quintiles["imd_quintile"], quintiles["count"], strict=True):
        values[("quintile", int(q))] = float(c)
    constraints: list = [
        (("quintile", q), [("decile", 2 * q - 1), ("decile", 2 * q)]) for q in range(1, 6)
    ]
    constraints.append(("count_in_area", [("quintile", q) for q in range(1, 6)]))
    if ethnic is not None:
        for g, c in zip(ethnic["group"], ethnic["count"], strict=True):
            values[("ethnic", g)] = float(c)
        values["stated"] = float(ethnic.loc[ethnic["in_rates"].astype(bool), "count"].sum())
        constraints.append(("stated", [("ethnic", g) for g in ETHNIC_GROUPS]))
        constraints.append(
            ("count_in_area", ["stated", ("ethnic", NOT_STATED), ("ethnic", NOT_KNOWN)])
        )
        if completeness is not None:
            constraints += _completeness_links(values, completeness)
    for key in QUALITY_COUNTS:
        if quality.get(key) is not None:
            values[key] = float(quality[key])
    parts = ["count_in_area", "count_outside_area", "count_unmatched"]
    parts += [k for k in ("count_outside_ages", "count_age_unknown") if k in values]
    constraints.append(("count_read", parts))
    if counted_rows and "records_read" in values:
        constraints.append(("records_read", ["count_read"]))
    constraints = [(t, p) for t, p in constraints if t in values and all(k in values for k in p)]
    # Tables' rows are rounded the same way as published, so the audit sees what readers see.
    values = {k: round(v, 6) for k, v in values.items()}
    # A relation the true counts do not satisfy (e.g. distinct people, counted once per
    # cell) is not one a reader knows: left out.
    constraints = [
        (t, p)
        for t, p in constraints
        if abs(values[t] - sum(values[k] for k in p)) <= 1e-6 * max(1.0, abs(values[t]))
    ]
    return values, constraints


def _completeness_links(values: dict, completeness: pd.DataFrame) -> list:
    """Entries ``("stated", q)``/``("unstated", q)`` of the completeness shares, and how they
    add up: to the quintile's count (when the ethnicity rows add up to it; else to a hidden
    ``("ethnic_count", q)``), to the stated total and to Not stated + Not known."""
    constraints: list = []
    rows = completeness[completeness["imd_quintile"].notna()]
    for q, count, stated in zip(rows["imd_quintile"], rows["count"], rows["stated"], strict=True):
        q = int(q)
        values[("stated", q)] = float(stated)
        values[("unstated", q)] = float(count) - float(stated)
        whole = ("quintile", q)
        if abs(values.get(whole, float("nan")) - float(count)) > 1e-6 * max(1.0, float(count)):
            whole = ("ethnic_count", q)
            values[whole] = float(count)
        constraints.append((whole, [("stated", q), ("unstated", q)]))
    quintiles = [int(q) for q in rows["imd_quintile"]]
    constraints.append(("stated", [("stated", q) for q in quintiles]))
    values[("unstated_all", 0)] = values[("ethnic", NOT_STATED)] + values[("ethnic", NOT_KNOWN)]
    constraints.append((("unstated_all", 0), [("ethnic", NOT_STATED), ("ethnic", NOT_KNOWN)]))
    constraints.append((("unstated_all", 0), [("unstated", q) for q in quintiles]))
    return constraints


def protect_map(
    service, area: pd.DataFrame, uptake: Uptake, *, per: float = PER
) -> disclosure.MapClasses:
    """The LSOA rate map's classes, protected as a table linked to the uptake tables.

    LSOAs with fewer than ``min_count`` users (zero included) are withheld, and more
    where the map and the tables together would pin a withheld count
    (:func:`eia.stats.disclosure.protect_map`).
    """
    counts = service.by_lsoa.groupby("lsoa21_code")["count"].sum()
    frame = area.set_index("lsoa21_code")
    counts = counts.reindex(frame.index, fill_value=0.0)
    linked = uptake.published.linked
    if linked is None:
        values, constraints = _linked(
            uptake.by_imd_quintile,
            uptake.by_imd_decile,
            uptake.by_ethnic_group,
            uptake.quality,
            counted_rows="count" not in getattr(service, "columns", {})
            and uptake.counting == "events",
        )
        reasons = uptake.published.reasons
    else:
        values, constraints, reasons = linked.values, list(linked.constraints), linked.reasons
    return disclosure.protect_map(
        counts,
        frame["population"],
        frame["imd_decile"].map(lambda d: ("decile", int(d))),
        values,
        constraints,
        reasons,
        uptake.min_count,
        per=per,
    )


def _publish(
    table: pd.DataFrame,
    name: str,
    reasons: Mapping,
    kind: str,
    key: str,
    min_count: int,
    *,
    reference_withheld: bool,
    total_withheld: bool,
) -> pd.DataFrame:
    """One uptake table as published: through :func:`eia.stats.disclosure.publishable` with its
    allow-list (``uptake.<name>``), rows withheld as ``reasons`` says (entries ``(kind, row's
    key)``), ratios withheld with the reference group and representation with the total.
    ``dsr_count`` only decides whether a DSR is given (10 events or more): not published."""
    out = table.drop(columns=["dsr_count"], errors="ignore")
    _withhold_ratios(out, reference_withheld, total_withheld)
    why = [reasons.get((kind, k)) for k in out[key]]
    return disclosure.publishable(
        out, disclosure.PUBLISHED[f"uptake.{name}"], why, min_count=min_count
    )


def _withhold_ratios(out: pd.DataFrame, reference_withheld: bool, total_withheld: bool) -> None:
    if reference_withheld:
        for column in ("ratio", "ratio_lower", "ratio_upper"):
            out[column] = None
    if total_withheld:
        out["representation"] = None


def _published_completeness(table: pd.DataFrame, reasons: Mapping) -> pd.DataFrame:
    """Completeness shares (no counts), as the linked audit allows (:func:`protect_tables`).

    A quintile's share is published only when its count and its stated and not-stated
    counts are all published (a share times the published count gives both); the overall
    share only when the stated and in-area counts are.
    """
    out = table[["group", "imd_quintile", "completeness"]].copy().astype(object)
    for i, q in zip(out.index, out["imd_quintile"], strict=True):
        if q is None or pd.isna(q):
            needed = ["stated", "count_in_area"]
        else:
            needed = [("quintile", int(q)), ("stated", int(q)), ("unstated", int(q))]
        if any(k in reasons for k in needed):
            out.at[i, "completeness"] = None
    return out


def _published_quality(quality: Mapping, reasons: Mapping, has_ethnicity: bool) -> dict:
    out: dict[str, Any] = {}
    for key in QUALITY_COUNTS:
        value = quality.get(key)
        out[key] = None if key in reasons or value is None else _round_count(value)
    for share, cell in (
        ("ethnicity_not_stated_share", ("ethnic", NOT_STATED)),
        ("ethnicity_not_known_share", ("ethnic", NOT_KNOWN)),
    ):
        value = quality.get(share)
        withheld = not has_ethnicity or cell in reasons or "count_in_area" in reasons
        out[share] = None if withheld or value is None else round(float(value), 6)
    out["suppressed"] = {k: reasons[k] for k in QUALITY_COUNTS if k in reasons}
    out["unmatched_examples"] = list(quality.get("unmatched_examples", []))[:10]
    for key in ("date_first", "date_last"):
        if key in quality:
            out[key] = month_of(quality[key])
    for key in (
        *("source", "format", "encoding", "synthetic"),
        *("engine", "table", "query_sha256", "counting", "period_start", "period_end"),
    ):
        if key in quality:
            out[key] = quality[key]
    out["ethnicity_unrecognised"] = list(quality.get("ethnicity_unrecognised", []))[:10]
    return out


def _round_count(value) -> float | int:
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


_json_value = clean  # one serialiser: eia.jsonable.clean


def _json_rows(table: pd.DataFrame) -> list[dict]:
    rows = []
    for record in table.to_dict(orient="records"):
        row = {}
        for key, value in record.items():
            if key == "count" and value is not None and not pd.isna(value):
                value = _round_count(value)
            row[key] = _json_value(value)
        rows.append(row)
    return rows
