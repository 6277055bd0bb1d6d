"""Ethnic group rates, missing ethnicity (completeness, reallocation) and ethnic group DSRs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from eia import stats
from eia.analysis.uptake.rates import COLUMNS, CONFIDENCE, PER, _rates, reference_group
from eia.errors import ServiceDataError
from eia.population import ages as ages_mod
from eia.population.area import ETHNIC_GROUPS, QUINTILE_LABELS
from eia.population.ethnicity import CATEGORIES, NOT_KNOWN, NOT_STATED

__all__ = [
    "COMPLETENESS_THRESHOLD",
    "COMPLETENESS_GAP",
    "completeness_table",
    "completeness_warnings",
    "ethnic_table",
    "read_ethnicity_by_age",
    "ethnic_dsr",
    "ADJUSTED_COLUMNS",
    "reallocation_inflation",
    "published_inflation",
]


#: Warn when fewer records than this share state an ethnic group (thresholds.ethnicity_completeness).
COMPLETENESS_THRESHOLD = 0.9


#: Warn when completeness differs by more than this between IMD quintiles (thresholds.completeness_gap).
COMPLETENESS_GAP = 0.05


def completeness_table(by_lsoa_ethnicity: pd.DataFrame, area: pd.DataFrame) -> pd.DataFrame:
    """Share of records with a stated ethnic group, for the whole area and by IMD quintile.

    Returns ``group`` ("All" and the five quintile labels), ``imd_quintile``
    (None for All), ``count``, ``stated`` and ``completeness`` (stated ÷ count;
    "Not stated" and "Not known" are both not stated).
    """
    quint = area.set_index("lsoa21_code")["imd_quintile"]
    rows = by_lsoa_ethnicity[by_lsoa_ethnicity["lsoa21_code"].isin(quint.index)]
    frame = rows.assign(
        imd_quintile=rows["lsoa21_code"].map(quint).to_numpy(),
        stated=np.where(rows["ethnic_group"].isin(ETHNIC_GROUPS), rows["count"], 0.0),
    )
    by_q = (
        frame.groupby("imd_quintile")[["count", "stated"]]
        .sum()
        .reindex(range(1, 6), fill_value=0.0)
    )
    out = pd.DataFrame(
        {
            "group": ["All", *[QUINTILE_LABELS[q] for q in range(1, 6)]],
            "imd_quintile": [None, *range(1, 6)],
            "count": [float(frame["count"].sum()), *by_q["count"].to_numpy()],
            "stated": [float(frame["stated"].sum()), *by_q["stated"].to_numpy()],
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["completeness"] = np.where(out["count"] > 0, out["stated"] / out["count"], np.nan)
    return out


def completeness_warnings(
    table: pd.DataFrame,
    *,
    threshold: float = COMPLETENESS_THRESHOLD,
    gap: float = COMPLETENESS_GAP,
) -> list[dict]:
    """Warnings when ethnicity completeness is low overall or differs by deprivation.

    ``table`` is the published completeness table (withheld shares None): the warnings
    carry only published shares. Each is a code with its figures:
    ``{"code": "completeness_low", "overall", "threshold"}`` or
    ``{"code": "completeness_gap", "low", "high", "gap"}`` (the words are the report's,
    ``report/prose/uptake.j2``).
    """
    out: list[dict] = []
    share = pd.to_numeric(table["completeness"], errors="coerce")
    overall = share[(table["group"] == "All").to_numpy()].iloc[0]
    if pd.notna(overall) and overall < threshold:
        out.append(
            {"code": "completeness_low", "overall": float(overall), "threshold": float(threshold)}
        )
    quint = share[table["imd_quintile"].notna().to_numpy()].dropna()
    if len(quint) >= 2 and quint.max() - quint.min() > gap:
        out.append(
            {
                "code": "completeness_gap",
                "low": float(quint.min()),
                "high": float(quint.max()),
                "gap": float(gap),
            }
        )
    return out


def ethnic_table(
    by_lsoa_ethnicity: pd.DataFrame,
    populations: pd.DataFrame,
    *,
    reference: str = "White",
    per: float = PER,
    years: float = 1.0,
    area: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Counts and rates per year by Census 2021 ethnic group, observed and with unknowns reallocated.

    ``by_lsoa_ethnicity`` has ``lsoa21_code, ethnic_group, count``
    (``ServiceData.by_lsoa_ethnicity``); ``populations`` is the wide LSOA ×
    group table of :func:`eia.population.area.group_populations` for the area's LSOAs.
    Returns :data:`COLUMNS` (observed: stated records only, so **lower bounds**)
    plus ``adjusted_count``, ``adjusted_rate``, ``adjusted_lower``,
    ``adjusted_upper`` (not-stated records reallocated in proportion to the
    stated ones within each IMD quintile of ``area``, or across the whole area
    without it; see the assumption in ``report/prose/uptake.j2`` (``ethnicity``); the limits are widened for the
    reallocation's own uncertainty, :func:`reallocation_inflation`) and ``in_rates`` (False for
    "Not stated" and "Not known", counts only). ``ratio`` and ``representation``
    use the adjusted counts, so rates and representation share one assumption
    (representation equals the observed one when reallocating across the area).
    Rates are crude: the pack has no ethnic group by age.
    """
    reference = reference_group(reference)
    codes = set(populations.index)
    rows = by_lsoa_ethnicity[by_lsoa_ethnicity["lsoa21_code"].isin(codes)]
    counts = rows.groupby("ethnic_group")["count"].sum().reindex(list(CATEGORIES), fill_value=0.0)
    adjusted = _reallocated(rows, area)
    pop = populations.sum(axis=0).reindex(list(ETHNIC_GROUPS), fill_value=0)
    groups = pd.DataFrame(
        {
            "group": list(ETHNIC_GROUPS),
            "count": adjusted.reindex(list(ETHNIC_GROUPS)).to_numpy(dtype=float),
            "population": pop.round().to_numpy(dtype="int64"),
        }
    )
    groups = _rates(groups, reference, "group", per, years)
    # The reallocation's own uncertainty: widen the adjusted limits by the delta method.
    inflation = reallocation_inflation(rows, area).reindex(list(ETHNIC_GROUPS)).to_numpy(float)
    rate = groups["rate"].to_numpy(float)
    groups["lower"] = np.maximum(rate - (rate - groups["lower"].to_numpy(float)) * inflation, 0.0)
    groups["upper"] = rate + (groups["upper"].to_numpy(float) - rate) * inflation
    groups = groups.rename(
        columns={
            "count": "adjusted_count",
            "rate": "adjusted_rate",
            "lower": "adjusted_lower",
            "upper": "adjusted_upper",
        }
    )
    observed = counts.loc[list(ETHNIC_GROUPS)].to_numpy(dtype=float)
    groups["count"] = observed
    groups["count_per_year"] = observed / years
    rate, lower, upper = stats.rate_ci(
        observed,
        groups["population"].to_numpy(float) * years,
        multiplier=per,
        confidence=CONFIDENCE,
    )
    groups["rate"], groups["lower"], groups["upper"] = rate, lower, upper
    groups["in_rates"] = True
    unknown = pd.DataFrame(
        {
            "group": [NOT_STATED, NOT_KNOWN],
            "count": counts.loc[[NOT_STATED, NOT_KNOWN]].to_numpy(dtype=float),
            "in_rates": False,
        }
    )
    unknown["count_per_year"] = unknown["count"] / years
    table = pd.concat([groups, unknown], ignore_index=True)
    table["population"] = table["population"].astype("Int64")
    return table[[*COLUMNS, *ADJUSTED_COLUMNS, "in_rates"]]


def read_ethnicity_by_age(path) -> pd.DataFrame:
    """A user's ethnic group × age denominators (``denominators.ethnicity_by_age``), checked.

    A CSV with columns ``ethnic_group`` (a Census 2021 group, full or short name),
    ``age_band`` (ESP bands "0-4" … "85-89", "90+", or coarser such as "85+") and
    ``population`` (residents of the whole area). Returns a wide frame: one row per
    Census group, one column per age band. Raises :class:`ServiceDataError` naming the
    file, column or row of any problem.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ServiceDataError(f"denominators.ethnicity_by_age: {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise ServiceDataError(f"{path} cannot be read as CSV: {exc}") from exc
    missing = [c for c in ("ethnic_group", "age_band", "population") if c not in frame.columns]
    if missing:
        raise ServiceDataError(f"{path} lacks column(s) {', '.join(missing)}")
    groups, bands = [], []
    for i, (group, band) in enumerate(zip(frame["ethnic_group"], frame["age_band"], strict=True)):
        groups.append(reference_group(group))
        try:
            low, high = ages_mod._band_range(str(band))
        except ValueError:
            raise ServiceDataError(
                f"{path} row {i + 1}: age_band is not a band like 15-19 or 90+"
            ) from None
        if high < low:
            raise ServiceDataError(f"{path} row {i + 1}: age_band ends before it starts")
        bands.append(str(band).strip())
    population = pd.to_numeric(frame["population"], errors="coerce")
    bad = population.isna() | (population < 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise ServiceDataError(f"{path} row {row}: population must be a number of 0 or more")
    long = pd.DataFrame({"group": groups, "band": bands, "population": population.to_numpy()})
    wide = long.pivot_table(index="group", columns="band", values="population", aggfunc="sum")
    order = sorted(wide.columns, key=lambda b: ages_mod._band_range(b)[0])
    return wide.reindex(index=list(ETHNIC_GROUPS), columns=order).fillna(0.0)


def ethnic_dsr(
    service,
    denominators: pd.DataFrame,
    codes: Sequence[str],
    *,
    ages: Sequence[int | None] | None = None,
    per: float = PER,
    years: float = 1.0,
) -> pd.DataFrame | None:
    """Age-standardised rates by ethnic group, when the extract crosses ethnic group with age.

    ``denominators`` is :func:`read_ethnicity_by_age`; the numerator is the stated
    records per group and age band (``by_lsoa_age_sex`` with an ``ethnic_group``
    column). Bands are the extract's, standardised to the 2013 ESP over bands within
    ``ages``; none below 10 events. Returns ``dsr, dsr_lower, dsr_upper, dsr_count``
    by group, or None when the extract has no ethnic group by age.
    """
    age = getattr(service, "by_lsoa_age_sex", None)
    if age is None or "ethnic_group" not in age.columns or "age_band" not in age.columns:
        return None
    rows = age[
        age["lsoa21_code"].isin(set(codes))
        & age["ethnic_group"].isin(ETHNIC_GROUPS)
        & (age["age_band"] != "Not known")
    ]
    counts = rows.pivot_table(
        index="ethnic_group", columns="age_band", values="count", aggfunc="sum", fill_value=0.0
    )
    # The coarser of the two band sets wins: merge both into the extract's bands.
    extract_bands = [
        b
        for b in sorted(set(rows["age_band"]), key=lambda b: ages_mod._band_range(b)[0])
        if ages_mod.band_within(b, ages)
    ]
    if not extract_bands:
        return None
    pops = ages_mod.coarsen(denominators, extract_bands)
    x = counts.reindex(index=list(ETHNIC_GROUPS), columns=extract_bands, fill_value=0.0)
    n = pops.reindex(index=list(ETHNIC_GROUPS), fill_value=0.0)
    standard = ages_mod.standard_for(extract_bands)
    value, lower, upper = stats.dsr(
        x, n, standard.to_numpy(), multiplier=per, confidence=CONFIDENCE
    )
    return pd.DataFrame(
        {
            "dsr": np.asarray(value, float) / years,
            "dsr_lower": np.asarray(lower, float) / years,
            "dsr_upper": np.asarray(upper, float) / years,
            "dsr_count": x.sum(axis=1).to_numpy(),
        },
        index=list(ETHNIC_GROUPS),
    )


#: Reallocated (adjusted) ethnic group columns.
ADJUSTED_COLUMNS = ("adjusted_count", "adjusted_rate", "adjusted_lower", "adjusted_upper")


def reallocation_inflation(rows: pd.DataFrame, area: pd.DataFrame | None) -> pd.Series:
    """How much wider a reallocated count's interval is than a Poisson count's, per group.

    The reallocated count of group g is A = sum over strata s of c_gs * T_s / S_s,
    where c_gs is its stated count, S_s all stated and T_s all records (stated, not
    stated, not known) of stratum s (IMD quintile). Treating every count as Poisson
    and independent, the delta method gives

        Var(A) = sum_s [ (T_s/S_s - c_gs u_s/S_s^2)^2 c_gs
                         + sum_(h != g) (c_gs u_s/S_s^2)^2 c_hs + (c_gs/S_s)^2 u_s ]

    with u_s = T_s - S_s the records without a stated group. Its square root over
    sqrt(A) (a Poisson count's standard error) is the factor returned (at least 1):
    the adjusted limits' distances from the adjusted rate are multiplied by it. Strata
    without stated records (their records spread across the area) are left out of the
    variance, so the factor is a lower bound there.
    """
    if area is not None:
        quint = area.set_index("lsoa21_code")["imd_quintile"]
        stratum = rows["lsoa21_code"].map(quint).fillna(0).to_numpy()
    else:
        stratum = np.zeros(len(rows))
    wide = (
        rows.assign(stratum=stratum)
        .pivot_table(
            index="stratum", columns="ethnic_group", values="count", aggfunc="sum", fill_value=0.0
        )
        .reindex(columns=list(CATEGORIES), fill_value=0.0)
    )
    stated = wide[list(ETHNIC_GROUPS)].to_numpy(float)
    unknown = wide[[NOT_STATED, NOT_KNOWN]].sum(axis=1).to_numpy(float)
    total = stated.sum(axis=1)
    ok = total > 0
    c, u, s_ = stated[ok], unknown[ok][:, None], total[ok][:, None]
    t = s_ + u
    own = (t / s_ - c * u / s_**2) ** 2 * c
    others = (c * u / s_**2) ** 2 * (s_ - c)  # sum over h != g of c_hs, times the same factor
    variance = (own + others + (c / s_) ** 2 * u).sum(axis=0)
    adjusted = (c * t / s_).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(adjusted > 0, np.sqrt(variance / adjusted), 1.0)
    return pd.Series(np.maximum(factor, 1.0), index=list(ETHNIC_GROUPS), name="inflation")


def published_inflation(table: pd.DataFrame, *, per: float, years: float) -> pd.Series:
    """:func:`reallocation_inflation` as it shows in a published ethnic table, per group.

    The widened upper limit's distance from the adjusted rate over that of a Poisson
    count's (:func:`eia.stats.rate_ci` of ``adjusted_count``); 1 where a figure is
    withheld. Lets representation, computed from the published counts, widen its
    interval by the same factor.
    """
    rows = table[table["in_rates"].astype(bool)]
    count = pd.to_numeric(rows["adjusted_count"], errors="coerce").to_numpy(float)
    pop = pd.to_numeric(rows["population"], errors="coerce").to_numpy(float)
    rate = pd.to_numeric(rows["adjusted_rate"], errors="coerce").to_numpy(float)
    upper = pd.to_numeric(rows["adjusted_upper"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        _, _, poisson = stats.rate_ci(
            np.nan_to_num(count), pop * years, multiplier=per, confidence=CONFIDENCE
        )
        factor = (upper - rate) / (np.asarray(poisson, float) - rate)
    factor = np.where(np.isfinite(factor) & (factor > 1), factor, 1.0)
    return pd.Series(factor, index=rows["group"].astype(str).to_numpy(), name="inflation")


def _reallocated(rows: pd.DataFrame, area: pd.DataFrame | None) -> pd.Series:
    """Counts per ethnic group with not-stated records spread as the stated ones, per stratum."""
    if area is not None:
        quint = area.set_index("lsoa21_code")["imd_quintile"]
        stratum = rows["lsoa21_code"].map(quint).fillna(0).to_numpy()
    else:
        stratum = np.zeros(len(rows))
    frame = rows.assign(stratum=stratum)
    wide = frame.pivot_table(
        index="stratum", columns="ethnic_group", values="count", aggfunc="sum", fill_value=0.0
    ).reindex(columns=list(CATEGORIES), fill_value=0.0)
    stated = wide[list(ETHNIC_GROUPS)]
    missing = wide[[NOT_STATED, NOT_KNOWN]].sum(axis=1)
    total_stated = stated.sum(axis=1)
    factor = np.where(
        total_stated > 0, (total_stated + missing) / total_stated.where(total_stated > 0, 1), 1.0
    )
    # A stratum with no stated records cannot be reallocated: its unknowns are spread area-wide.
    spill = float(missing[total_stated <= 0].sum())
    adjusted = stated.mul(factor, axis=0).sum(axis=0)
    if spill and adjusted.sum() > 0:
        adjusted = adjusted + spill * adjusted / adjusted.sum()
    return adjusted
