"""Who uses the service now: counts and rates by deprivation and ethnic group.

From a :class:`eia.service.ServiceData` (counts per LSOA 2021, and per LSOA and
ethnic group) and the assessment area (:func:`eia.area.build_area`), this
module computes, with :mod:`eia.stats`:

* counts and **rates per 1,000 residents** (Census 2021 usual residents) with
  95% confidence intervals (exact Poisson below 10 events, Byar's from 10), by
  national IMD 2025 quintile and decile and by Census 2021 ethnic group;
* the **rate ratio** to a reference group — the least deprived quintile (or
  decile), and for ethnicity the group named in params (default White) — with
  its 95% interval;
* the **representation ratio**: a group's share of the service's users divided
  by its share of the area's residents (1 = represented in proportion);
* the **slope index of inequality** of the rate across deciles (quintiles when
  a decile's count is withheld), with simulated limits.

"Not stated" and "Not known" ethnicity are reported as counts but left out of
group rates and of the representation shares: their members' groups are
unknown, so rates for the five groups are lower bounds when many are unknown.

Every published number passes through :mod:`eia.disclosure`:
:func:`protect_tables` withholds small counts and whatever would let them be
worked out, across all the tables and the data-quality counts at once (they
share totals), and withholds rates, ratios, representation and shares derived
from withheld counts. :func:`compute` returns an :class:`Uptake` whose
``metrics()`` is the JSON-ready ``{"uptake": ..., "data_quality": ...}`` and
whose tables :mod:`eia.sections` shows (this module only computes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from eia import disclosure, stats
from eia.area import ETHNIC_GROUPS, ETHNIC_SHORT, QUINTILE_LABELS
from eia.errors import ServiceDataError
from eia.ethnicity import CATEGORIES, NOT_KNOWN, NOT_STATED

PER = 1_000
CONFIDENCE = 0.95
#: Columns of every uptake table (the ``uptake.by_*`` rows of metrics.json).
COLUMNS = (
    "group",
    "count",
    "population",
    "rate",
    "lower",
    "upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "representation",
)
DECILE_LABELS = {d: f"D{d}" for d in range(1, 11)} | {
    1: "D1 (most deprived)",
    10: "D10 (least deprived)",
}
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
)
_SII_SEED = 20_210_321  # Census day: fixed so the SII's limits are reproducible


def reference_group(name: str) -> str:
    """The Census 2021 group named by a short ("White") or full name (any case)."""
    wanted = str(name).strip().lower()
    for full, short in ETHNIC_SHORT.items():
        if wanted in (full.lower(), short.lower()):
            return full
    raise ServiceDataError(
        f"reference ethnic group {name!r} is not a Census 2021 group: use one of "
        f"{', '.join(ETHNIC_SHORT.values())}"
    )


def _rates(table: pd.DataFrame, reference: Any, key: str, per: float) -> pd.DataFrame:
    """Add rate, limits, ratio to the reference row and representation to a count table."""
    count = table["count"].astype("float64").to_numpy()
    pop = table["population"].astype("float64").to_numpy()
    rate, lower, upper = stats.rate_ci(count, pop, multiplier=per, confidence=CONFIDENCE)
    table["rate"], table["lower"], table["upper"] = rate, lower, upper
    ref = table[key] == reference
    if ref.any():
        ref_count = float(table.loc[ref, "count"].iloc[0])
        ref_pop = float(table.loc[ref, "population"].iloc[0])
        ratio, r_lo, r_hi = stats.rate_ratio(count, pop, ref_count, ref_pop, confidence=CONFIDENCE)
    else:
        ratio = r_lo = r_hi = np.full(len(table), np.nan)
    table["ratio"], table["ratio_lower"], table["ratio_upper"] = ratio, r_lo, r_hi
    # The reference group's ratio is 1 by definition: no interval.
    table.loc[ref, ["ratio_lower", "ratio_upper"]] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        share_users = count / count.sum() if count.sum() > 0 else np.full(len(count), np.nan)
        share_pop = pop / pop.sum()
        table["representation"] = np.where(share_pop > 0, share_users / share_pop, np.nan)
    return table


def imd_table(
    by_lsoa: pd.DataFrame, area: pd.DataFrame, level: str = "quintile", *, per: float = PER
) -> pd.DataFrame:
    """Counts and rates by national IMD quintile or decile (all levels, zeros kept).

    ``by_lsoa`` has ``lsoa21_code, count`` (``ServiceData.by_lsoa``); ``area``
    has ``lsoa21_code, population, imd_decile, imd_quintile``
    (:func:`eia.area.build_area`). Returns :data:`COLUMNS` plus ``imd_quintile``
    or ``imd_decile`` (int); the reference is the least deprived level
    (quintile 5, decile 10); ``group`` is "Q1 (most deprived)" … or "D1 (most
    deprived)" ….
    """
    if level not in ("quintile", "decile"):
        raise ValueError(f"level must be 'quintile' or 'decile', not {level!r}")
    key = f"imd_{level}"
    levels = range(1, 6) if level == "quintile" else range(1, 11)
    labels = QUINTILE_LABELS if level == "quintile" else DECILE_LABELS
    counts = by_lsoa.groupby("lsoa21_code")["count"].sum()
    frame = area[["lsoa21_code", "population", key]].copy()
    frame["count"] = frame["lsoa21_code"].map(counts).fillna(0.0).to_numpy()
    grouped = frame.groupby(key)[["count", "population"]].sum().reindex(levels, fill_value=0)
    table = grouped.rename_axis(key).reset_index()
    table["group"] = table[key].map(labels)
    table["population"] = table["population"].astype("int64")
    table = _rates(table, max(levels), key, per)
    return table[[*COLUMNS, key]]


def ethnic_table(
    by_lsoa_ethnicity: pd.DataFrame,
    populations: pd.DataFrame,
    *,
    reference: str = "White",
    per: float = PER,
) -> pd.DataFrame:
    """Counts and rates by Census 2021 ethnic group; "Not stated" and "Not known" as counts only.

    ``by_lsoa_ethnicity`` has ``lsoa21_code, ethnic_group, count``
    (``ServiceData.by_lsoa_ethnicity``); ``populations`` is the wide LSOA ×
    group table of :func:`eia.area.group_populations` for the area's LSOAs.
    Returns :data:`COLUMNS` plus ``in_rates`` (False for the two unknown
    categories, whose population, rate, ratio and representation are empty).
    Rows follow :data:`eia.ethnicity.CATEGORIES`. Representation compares the
    group's share of users *with a stated group* to its share of residents.
    """
    reference = reference_group(reference)
    codes = set(populations.index)
    rows = by_lsoa_ethnicity[by_lsoa_ethnicity["lsoa21_code"].isin(codes)]
    counts = rows.groupby("ethnic_group")["count"].sum().reindex(list(CATEGORIES), fill_value=0.0)
    pop = populations.sum(axis=0).reindex(list(ETHNIC_GROUPS), fill_value=0)
    groups = pd.DataFrame(
        {
            "group": list(ETHNIC_GROUPS),
            "count": counts.loc[list(ETHNIC_GROUPS)].to_numpy(dtype=float),
            "population": pop.to_numpy(dtype="int64"),
        }
    )
    groups = _rates(groups, reference, "group", per)
    groups["in_rates"] = True
    unknown = pd.DataFrame(
        {
            "group": [NOT_STATED, NOT_KNOWN],
            "count": counts.loc[[NOT_STATED, NOT_KNOWN]].to_numpy(dtype=float),
            "in_rates": False,
        }
    )
    table = pd.concat([groups, unknown], ignore_index=True)
    table["population"] = table["population"].astype("Int64")
    return table[[*COLUMNS, "in_rates"]]


def inequality_slope(
    deciles: pd.DataFrame,
    quintiles: pd.DataFrame | None = None,
    *,
    use: str = "decile",
    repetitions: int = 100_000,
    seed: int = _SII_SEED,
) -> dict:
    """The slope index of inequality of the rate across IMD deciles (or quintiles).

    Uses :func:`eia.stats.sii` on the rate per 1,000 with the rates' 95% limits
    (log scale, "rate", when every rate is above 0; else "normal"), quantile 1 =
    most deprived, over the levels with residents in the area (at least 5).
    ``use="quintile"`` fits the quintile table instead. Returns ``sii,
    sii_lower, sii_upper`` (rate per 1,000, least minus most deprived end),
    ``quantiles``, ``value_type``, ``per`` and ``interpretation`` (a sentence);
    or ``sii`` None with ``reason`` when it cannot be fitted.
    """
    table, key = (deciles, "imd_decile") if use == "decile" else (quintiles, "imd_quintile")
    out: dict[str, Any] = {
        "quantiles": use,
        "per": PER,
        "sii": None,
        "sii_lower": None,
        "sii_upper": None,
    }
    if table is None:
        return {**out, "reason": f"no {use} table"}
    rows = table[table["population"] > 0]
    if len(rows) < stats.MIN_QUANTILES:
        return {
            **out,
            "reason": f"the area has residents in only {len(rows)} IMD {use}s; "
            f"the SII needs at least {stats.MIN_QUANTILES}",
        }
    rate = rows["rate"].astype(float).to_numpy()
    value_type = "rate" if (rate > 0).all() else "normal"
    result = stats.sii(
        rows[key].to_numpy(),
        rows["population"].astype(float).to_numpy(),
        rate,
        lower_cl=rows["lower"].astype(float).to_numpy(),
        upper_cl=rows["upper"].astype(float).to_numpy(),
        value_type=value_type,
        repetitions=repetitions,
        seed=seed,
    )
    sii, lo, hi = result["sii"], result["sii_lower"], result["sii_upper"]
    if lo <= 0 <= hi:
        finding = "the interval includes 0, so no clear gradient"
    elif sii < 0:
        finding = "use is higher in more deprived areas"
    else:
        finding = "use is higher in less deprived areas"
    interpretation = (
        f"Slope index of inequality across IMD {use}s: {sii:+.2f} per 1,000 residents "
        f"(95% CI {lo:+.2f} to {hi:+.2f}), the modelled rate at the least deprived end minus "
        f"that at the most deprived end: {finding}."
    )
    return {**out, **result, "value_type": value_type, "interpretation": interpretation}


# ---------------------------------------------------------------------------
# Disclosure control across the tables
# ---------------------------------------------------------------------------


def protect_tables(
    quintiles: pd.DataFrame,
    deciles: pd.DataFrame,
    ethnic: pd.DataFrame | None,
    quality: Mapping,
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    counted_rows: bool = True,
) -> dict:
    """Which counts to withhold across all published tables, knowing how they add up.

    Deciles add up to quintiles (1+2 = Q1, ...), every table adds up to the
    in-area count, the five ethnic groups to the stated-ethnicity total, and
    in area + outside + unmatched = count read (= records read when each row
    is one event, ``counted_rows``). Returns ``{entry: reason}`` with entries
    ``("decile", d)``, ``("quintile", q)``, ``("ethnic", group)``, ``"stated"``
    and the data-quality keys.
    """
    values, constraints = _linked(quintiles, deciles, ethnic, quality, counted_rows=counted_rows)
    prefer = {"records_read", "count_read", "count_outside_area", "count_unmatched"}
    return disclosure.protect(values, constraints, min_count, prefer=prefer)


def _linked(quintiles, deciles, ethnic, quality, *, counted_rows: bool) -> tuple[dict, list]:
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
    for key in QUALITY_COUNTS:
        if quality.get(key) is not None:
            values[key] = float(quality[key])
    constraints.append(("count_read", ["count_in_area", "count_outside_area", "count_unmatched"]))
    if counted_rows and "records_read" in values:
        constraints.append(("records_read", ["count_read"]))
    constraints = [(t, p) for t, p in constraints if t in values and all(k in values for k in p)]
    # Tables' rows are rounded the same way as published, so the audit sees what readers see.
    values = {k: round(v, 6) for k, v in values.items()}
    return values, constraints


def protect_map(
    service, area: pd.DataFrame, uptake: Uptake, *, per: float = PER
) -> disclosure.MapClasses:
    """The LSOA rate map's classes, protected as a table linked to the uptake tables.

    LSOAs with fewer than ``min_count`` users (zero included) are withheld, and more
    where the map and the tables together would pin a withheld count
    (:func:`eia.disclosure.protect_map`).
    """
    counts = service.by_lsoa.groupby("lsoa21_code")["count"].sum()
    frame = area.set_index("lsoa21_code")
    counts = counts.reindex(frame.index, fill_value=0.0)
    values, constraints = _linked(
        uptake.by_imd_quintile,
        uptake.by_imd_decile,
        uptake.by_ethnic_group,
        uptake.quality,
        counted_rows="count" not in getattr(service, "columns", {}),
    )
    return disclosure.protect_map(
        counts,
        frame["population"],
        frame["imd_decile"].map(lambda d: ("decile", int(d))),
        values,
        constraints,
        uptake.published["reasons"],
        uptake.min_count,
        per=per,
    )


def _withhold(table: pd.DataFrame, reasons: Mapping, kind: str, key: str) -> pd.DataFrame:
    out = table.copy()
    why = [reasons.get((kind, k)) for k in out[key]]
    mask = np.array([w is not None for w in why])
    derived = [c for c in disclosure.DERIVED_COLUMNS if c in out.columns]
    for column in ["count", *derived]:
        col = out[column].astype(object)
        col[mask] = None
        out[column] = col.where(pd.notna(col), None)
    out["suppressed"] = pd.Series(why, index=out.index, dtype=object)
    return out


def _withhold_ratios(out: pd.DataFrame, reference_withheld: bool, total_withheld: bool) -> None:
    if reference_withheld:
        for column in ("ratio", "ratio_lower", "ratio_upper"):
            out[column] = None
    if total_withheld:
        out["representation"] = None


# ---------------------------------------------------------------------------
# The result object used by the templates
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class Uptake:
    """Uptake tables, their published (suppressed) forms and the data-quality summary."""

    label: str
    synthetic: bool
    min_count: int
    reference_ethnic_group: str
    by_imd_quintile: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_ethnic_group: pd.DataFrame | None
    sii: dict
    quality: dict
    published: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Uptake({self.label!r}{' (synthetic)' if self.synthetic else ''}, "
            f"disclosure min_count={self.min_count})"
        )

    def metrics(self) -> dict:
        """``{"uptake": ..., "data_quality": ...}`` for metrics.json, suppression applied."""
        return {"uptake": self.published["uptake"], "data_quality": self.published["data_quality"]}

    def table(self, name: str) -> pd.DataFrame | None:
        """A published (disclosure-controlled) table: ``by_imd_quintile``, ``by_imd_decile`` or
        ``by_ethnic_group`` (None without ethnicity). Columns as :data:`COLUMNS`, plus
        ``suppressed`` (why a count is withheld) and, for ethnic groups, ``in_rates``."""
        tables = self.published["tables"]
        if name not in tables:
            raise KeyError(f"no uptake table {name!r}; expected one of {', '.join(tables)}")
        return tables[name]

    @property
    def published_quality(self) -> dict:
        """The data-quality summary as published (withheld counts are None)."""
        return self.published["data_quality"]

    def show(self):
        """The current-users section (:func:`eia.sections.uptake_section`), returned for display."""
        from eia.sections import uptake_section

        return uptake_section(self)

    def show_quality(self):
        """The data-quality part (:func:`eia.sections.uptake_quality`), returned for display."""
        from eia.sections import uptake_quality

        return uptake_quality(self)


def compute(
    service,
    area: pd.DataFrame,
    populations: pd.DataFrame | None = None,
    *,
    reference_ethnic_group: str = "White",
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    per: float = PER,
) -> Uptake:
    """All the uptake results for one service extract, with disclosure control applied.

    ``service`` is a :class:`eia.service.ServiceData`; ``area`` the frame of
    :func:`eia.area.build_area`; ``populations`` the wide LSOA × ethnic group
    table of :func:`eia.area.group_populations` (needed for ethnicity).
    """
    reference = reference_group(reference_ethnic_group)
    quint = imd_table(service.by_lsoa, area, "quintile", per=per)
    dec = imd_table(service.by_lsoa, area, "decile", per=per)
    ethnic = None
    if service.by_lsoa_ethnicity is not None and populations is not None:
        ethnic = ethnic_table(service.by_lsoa_ethnicity, populations, reference=reference, per=per)
    counted_rows = "count" not in getattr(service, "columns", {})
    reasons = protect_tables(
        quint, dec, ethnic, service.quality, min_count, counted_rows=counted_rows
    )

    pub_q = _withhold(quint, reasons, "quintile", "imd_quintile")
    pub_d = _withhold(dec, reasons, "decile", "imd_decile")
    in_area_withheld = "count_in_area" in reasons
    _withhold_ratios(pub_q, ("quintile", 5) in reasons, in_area_withheld)
    _withhold_ratios(pub_d, ("decile", 10) in reasons, in_area_withheld)
    pub_e = None
    if ethnic is not None:
        pub_e = _withhold(ethnic, reasons, "ethnic", "group")
        _withhold_ratios(pub_e, ("ethnic", reference) in reasons, "stated" in reasons)

    # The SII is a function of the rates: fit it only to levels whose rates are all published.
    if any(("decile", d) in reasons for d in range(1, 11)):
        if any(("quintile", q) in reasons for q in range(1, 6)):
            sii = {
                "quantiles": None,
                "per": per,
                "sii": None,
                "sii_lower": None,
                "sii_upper": None,
                "reason": "withheld: a deprivation quintile's count is suppressed",
            }
        else:
            sii = inequality_slope(dec, quint, use="quintile")
            sii["note"] = "fitted across quintiles because a decile's count is suppressed"
    else:
        sii = inequality_slope(dec, quint, use="decile")

    quality = dict(service.quality)
    published_quality = _published_quality(quality, reasons, ethnic is not None)
    result = Uptake(
        label=service.label,
        synthetic=service.synthetic,
        min_count=min_count,
        reference_ethnic_group=reference,
        by_imd_quintile=quint,
        by_imd_decile=dec,
        by_ethnic_group=ethnic,
        sii=sii,
        quality=quality,
    )
    result.published = {
        "tables": {"by_imd_quintile": pub_q, "by_imd_decile": pub_d, "by_ethnic_group": pub_e},
        "reasons": reasons,
        "uptake": {
            "label": service.label,
            "synthetic": bool(service.synthetic),
            "per": per,
            "confidence": CONFIDENCE,
            "reference": {
                "imd_quintile": QUINTILE_LABELS[5],
                "imd_decile": DECILE_LABELS[10],
                "ethnic_group": reference,
            },
            "by_imd_quintile": _json_rows(pub_q),
            "by_imd_decile": _json_rows(pub_d),
            "by_ethnic_group": None if pub_e is None else _json_rows(pub_e),
            "sii": _json_value(sii),
            "ethnicity_note": (
                "Not stated and Not known are counted but left out of group rates, ratios and "
                "representation, since their members' groups are unknown."
            ),
            "disclosure": {
                "min_count": min_count,
                "statement": disclosure.policy_statement(min_count),
            },
        },
        "data_quality": published_quality,
    }
    return result


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
    for key in (
        *("source", "format", "encoding", "date_first", "date_last", "synthetic"),
        *("engine", "table", "query_sha256", "counting", "period_start", "period_end"),
    ):
        if key in quality:
            out[key] = quality[key]
    out["ethnicity_unrecognised"] = list(quality.get("ethnicity_unrecognised", []))[:10]
    return out


def _round_count(value) -> float | int:
    value = round(float(value), 2)
    return int(value) if value.is_integer() else value


def _json_value(value):
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA:
        return None
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    return value


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
