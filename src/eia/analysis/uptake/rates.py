"""Counts and rates per year by IMD quintile, decile and Core20, and directly age-standardised rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from eia import stats
from eia.errors import ServiceDataError
from eia.population import ages as ages_mod
from eia.population.area import ETHNIC_SHORT, QUINTILE_LABELS

__all__ = [
    "PER",
    "CONFIDENCE",
    "COLUMNS",
    "DSR_COLUMNS",
    "DECILE_LABELS",
    "CORE20_LABELS",
    "reference_group",
    "imd_table",
    "core20_table",
    "age_counts",
    "dsr_table",
    "dsr_tables",
]


PER = 1_000


CONFIDENCE = 0.95


#: Columns of every uptake table (the ``uptake.by_*`` rows of metrics.json).
COLUMNS = (
    "group",
    "count",
    "count_per_year",
    "population",
    "rate",
    "lower",
    "upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "representation",
)


#: Age-standardised columns added to IMD and Core20 rows when the extract has age.
DSR_COLUMNS = ("dsr", "dsr_lower", "dsr_upper")


DECILE_LABELS = {d: f"D{d}" for d in range(1, 11)} | {
    1: "D1 (most deprived)",
    10: "D10 (least deprived)",
}


CORE20_LABELS = ("Core20 (IMD deciles 1-2)", "Rest of the area (deciles 3-10)")


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


def _rates(
    table: pd.DataFrame, reference: Any, key: str, per: float, years: float = 1.0
) -> pd.DataFrame:
    """Add per-year count, rate per year, limits, ratio to the reference row and representation."""
    count = table["count"].astype("float64").to_numpy()
    pop = table["population"].astype("float64").to_numpy()
    table["count_per_year"] = count / years
    rate, lower, upper = stats.rate_ci(count, pop * years, multiplier=per, confidence=CONFIDENCE)
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
    by_lsoa: pd.DataFrame,
    area: pd.DataFrame,
    level: str = "quintile",
    *,
    per: float = PER,
    years: float = 1.0,
) -> pd.DataFrame:
    """Counts and rates per year by national IMD quintile or decile (all levels, zeros kept).

    ``by_lsoa`` has ``lsoa21_code, count`` (``ServiceData.by_lsoa``); ``area``
    has ``lsoa21_code, population, imd_decile, imd_quintile``
    (:func:`eia.population.area.build_area`). ``years`` is the period's length: rates are
    ``count / (population × years) × per``, and ``count_per_year`` is
    ``count / years``. Returns :data:`COLUMNS` plus ``imd_quintile`` or
    ``imd_decile`` (int); the reference is the least deprived level (quintile 5,
    decile 10); ``group`` is "Q1 (most deprived)" … or "D1 (most deprived)" ….
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
    table["population"] = table["population"].round().astype("int64")
    table = _rates(table, max(levels), key, per, years)
    return table[[*COLUMNS, key]]


def core20_table(
    by_lsoa: pd.DataFrame, area: pd.DataFrame, *, per: float = PER, years: float = 1.0
) -> pd.DataFrame:
    """Counts and rates per year for Core20 (IMD deciles 1-2) and the rest of the area.

    The rest is the reference (ratio 1). Returns :data:`COLUMNS` plus ``core20`` (bool).
    """
    counts = by_lsoa.groupby("lsoa21_code")["count"].sum()
    frame = area[["lsoa21_code", "population", "imd_decile"]].copy()
    frame["count"] = frame["lsoa21_code"].map(counts).fillna(0.0).to_numpy()
    frame["core20"] = frame["imd_decile"] <= 2
    grouped = frame.groupby("core20")[["count", "population"]].sum().reindex([True, False])
    table = grouped.fillna(0).rename_axis("core20").reset_index()
    table["group"] = list(CORE20_LABELS)
    table["population"] = table["population"].round().astype("int64")
    table = _rates(table, False, "core20", per, years)
    return table[[*COLUMNS, "core20"]]


def age_counts(service, codes: Sequence[str]) -> pd.DataFrame | None:
    """Service counts per LSOA and age band (sexes summed), bands as the extract gives them.

    Returns a wide frame indexed by ``lsoa21_code`` (the area's ``codes``, zeros
    kept) with one column per age band ("0-4" … "85+"; "Not known" dropped), or
    None when the extract has no age.
    """
    age = getattr(service, "by_lsoa_age_sex", None)
    if age is None or "age_band" not in age.columns:
        return None
    known = age[age["age_band"] != "Not known"]
    wide = known.pivot_table(
        index="lsoa21_code", columns="age_band", values="count", aggfunc="sum", fill_value=0.0
    )
    bands = sorted(wide.columns, key=lambda b: ages_mod._band_range(b)[0])
    return wide.reindex(index=list(codes), columns=bands, fill_value=0.0).astype("float64")


def dsr_table(
    counts: pd.DataFrame,
    populations: pd.DataFrame,
    groups: pd.Series,
    *,
    per: float = PER,
    years: float = 1.0,
) -> pd.DataFrame:
    """Directly standardised rates per year, one row per group, 2013 European Standard Population.

    ``counts`` (events or people per LSOA and age band, the extract's bands) and
    ``populations`` (residents per LSOA and ESP band, :func:`eia.population.ages.band_populations`)
    are indexed by ``lsoa21_code``; ``groups`` maps each LSOA to its group (e.g.
    IMD quintile). ESP bands are summed into the extract's bands where these are
    coarser ("85+"), and the standard population with them
    (:func:`eia.population.ages.standard_for`); only bands with residents in the area's
    population (of interest) are standardised over. :func:`eia.stats.standardised` gives
    Dobson limits and no DSR below 10 events (PHE). The DSR of the whole period is
    divided by ``years``, as are its limits. Returns ``dsr, dsr_lower, dsr_upper,
    dsr_count`` indexed by group.
    """
    return dsr_tables(counts, populations, {None: groups}, per=per, years=years)[None]


def dsr_tables(
    counts: pd.DataFrame,
    populations: pd.DataFrame,
    groupings: Mapping[Any, pd.Series],
    *,
    per: float = PER,
    years: float = 1.0,
) -> dict[Any, pd.DataFrame]:
    """:func:`dsr_table` for several groupings of the same LSOAs (e.g. IMD quintile and decile).

    The bands, the populations summed into them and the standard population are
    worked out once. Returns one :func:`dsr_table` frame per key of ``groupings``.
    """
    bands = [b for b in counts.columns if any(_covers(b, c) for c in populations.columns)]
    pops = ages_mod.coarsen(populations, bands)
    standard = ages_mod.standard_for(bands).to_numpy()
    counted = counts[bands]
    out = {}
    for key, groups in groupings.items():
        x = counted.groupby(groups.reindex(counts.index).to_numpy()).sum()
        n = pops.groupby(groups.reindex(pops.index).to_numpy()).sum().reindex(x.index)
        value, lower, upper = stats.dsr(x, n, standard, multiplier=per, confidence=CONFIDENCE)
        out[key] = pd.DataFrame(
            {
                "dsr": np.asarray(value, float) / years,
                "dsr_lower": np.asarray(lower, float) / years,
                "dsr_upper": np.asarray(upper, float) / years,
                "dsr_count": x.sum(axis=1).to_numpy(),
            },
            index=x.index,
        )
    return out


def _covers(band: str, esp_band: str) -> bool:
    low, high = ages_mod._band_range(band)
    e_low, e_high = ages_mod._band_range(esp_band)
    return low <= e_low and e_high <= high
