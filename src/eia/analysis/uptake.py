"""Who uses the service now, measured fairly: rates per year, people or events, by group.

From a :class:`eia.service.aggregate.ServiceData` (counts per LSOA 2021, per LSOA and
ethnic group, per LSOA and age band) and the assessment area
(:func:`eia.population.area.build_area`), this module computes, with :mod:`eia.stats`:

* counts, as totals and **per year** of the extract's period, and **rates per
  1,000 (or ``per``) residents per year** with 95% confidence intervals (exact
  Poisson below 10, Byar's from 10), by national IMD 2025 quintile and decile,
  Core20 and the rest, and Census 2021 ethnic group. The period is
  ``service.period`` or the extract's first to last date (:func:`resolve_period`);
* what is counted (:func:`counting_of`): distinct **people** when the extract
  names a person column, else **events**, labelled so everywhere; events of the
  same people are not independent, so their Poisson intervals are too narrow and
  the report says so (PHEindicatormethods' ``calculate_dsr`` widens them from the
  number of events per person, which an events-only extract does not hold);
* **directly standardised rates** (2013 European Standard Population,
  :func:`eia.stats.standardised`, none below 10 events, as PHE) by IMD quintile, decile
  and Core20 when the extract has age, with age-specific denominators from the
  pack's ``population20_age_lsoa21`` (:mod:`eia.population.ages`); the SII is fitted to
  them. Ethnic group rates stay crude: the pack has no ethnic group by age;
* the **rate ratio** to a reference group and the **representation ratio**
  (share of users ÷ share of residents), each flagged as a **material gap** only
  when its interval excludes 1 *and* it lies outside ``material_band`` (default
  0.9–1.1), in the direction set by ``higher_use_is`` (:func:`gap_flags`);
* **missing ethnicity**: completeness overall and by IMD quintile, ethnic group
  rates as observed (lower bounds) and with not-stated records reallocated in
  proportion to stated ones within each IMD quintile — the one assumption that
  representation uses too (:func:`ethnic_table`, :func:`completeness_table`);
* the **slope index of inequality** across deciles (quintiles when a decile is
  withheld), on DSRs when there are DSRs for every level, else on crude rates.

All of it can be about a **population of interest** (``population.ages``): the
area frame's ``population`` and the ethnic weights are then residents of those
ages (:func:`eia.assessment.assess` does this), and the service counts are
restricted to those ages when the extract has age (:func:`restrict_to_ages`).

Every published number passes through :mod:`eia.stats.disclosure`:
:func:`protect_tables` withholds small counts and whatever would let them be
worked out, across all the tables and the data-quality counts at once (they
share totals), and withholds rates, ratios, representation and shares derived
from withheld counts. :func:`compute` returns an :class:`Uptake` whose
``metrics()`` is the JSON-ready ``{"uptake": ..., "data_quality": ...}`` and
whose tables :mod:`eia.report.sections` shows (this module only computes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from eia import stats
from eia.errors import ServiceDataError
from eia.jsonable import clean
from eia.population import ages as ages_mod
from eia.population.area import ETHNIC_GROUPS, ETHNIC_SHORT, QUINTILE_LABELS
from eia.population.ethnicity import CATEGORIES, NOT_KNOWN, NOT_STATED
from eia.stats import disclosure

PER = 1_000
CONFIDENCE = 0.95
#: A representation or rate ratio inside this band is not a material gap (thresholds.material_band).
MATERIAL_BAND = (0.9, 1.1)
#: Warn when fewer records than this share state an ethnic group (thresholds.ethnicity_completeness).
COMPLETENESS_THRESHOLD = 0.9
#: Warn when completeness differs by more than this between IMD quintiles (thresholds.completeness_gap).
COMPLETENESS_GAP = 0.05
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
_SII_SEED = 20_210_321  # Census day: fixed so the SII's limits are reproducible
_DAYS_PER_YEAR = 365.25


# ---------------------------------------------------------------------------
# What is counted, over what period, per what
# ---------------------------------------------------------------------------


def counting_of(service) -> str:
    """``"people"`` when the extract's counts are distinct people (a person column), else ``"events"``."""
    chosen = getattr(service, "counting", None)
    if chosen in ("people", "events"):
        return chosen
    return "people" if "person" in (getattr(service, "columns", None) or {}) else "events"


def _as_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def years_between(start: dt.date, end: dt.date) -> float:
    """Years from ``start`` to ``end``, both days included: whole years exactly, then the rest.

    1 April 2023 to 31 March 2025 is 2.0 years; a part year is its days over the
    days of that (leap or common) year.
    """
    stop = end + dt.timedelta(days=1)
    whole = 0
    while _add_years(start, whole + 1) <= stop:
        whole += 1
    anchor = _add_years(start, whole)
    span = (_add_years(start, whole + 1) - anchor).days
    return whole + (stop - anchor).days / span


def resolve_period(period: Mapping | Any | None, quality: Mapping) -> dict:
    """The period rates are per year of: ``start``, ``end``, ``years``, ``source``.

    ``period`` is ``service.period`` (a mapping or model with ``start``/``end``);
    without it the extract's first and last dates (``quality["date_first"/"date_last"]``),
    widened to whole months (the first day of the first record's month to the last day
    of the last record's: one record's date is never published) are used; without those,
    one year is assumed and ``source`` says so.
    """
    if period is not None:
        get = period.get if isinstance(period, Mapping) else lambda k: getattr(period, k)
        start, end, source = _as_date(get("start")), _as_date(get("end")), "params"
    else:
        # Whole months: the first and last dates are single records' dates (issue 26.13).
        start, end = _whole_months(
            _as_date(quality.get("date_first")), _as_date(quality.get("date_last"))
        )
        source = "extract dates"
    if start is None or end is None:
        return {"start": None, "end": None, "years": 1.0, "source": "assumed"}
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "years": round(years_between(start, end), 6),
        "source": source,
    }


def _whole_months(start: dt.date | None, end: dt.date | None) -> tuple:
    """``start`` moved to the first day of its month and ``end`` to the last day of its."""
    if start is None or end is None:
        return start, end
    following = dt.date(end.year + end.month // 12, end.month % 12 + 1, 1)
    return start.replace(day=1), following - dt.timedelta(days=1)


def month_of(value) -> str | None:
    """A date's month, ``"2024-04"`` (None when there is no date): how the extract's first
    and last dates are published, since each is one record's date."""
    day = _as_date(value)
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def unit_label(per: float, population: str = "residents") -> str:
    """The rates' unit, e.g. "per 1,000 residents per year"."""
    return f"per {per:,.0f} {population} per year"


def period_sentence(period: Mapping) -> str:
    """How the period was set, in one sentence."""
    if period["source"] == "assumed":
        return (
            "The extract has no dates and the proposal states no period, so it is assumed "
            "to cover one year: rates per year are only as right as that assumption."
        )
    how = (
        "as the proposal states"
        if period["source"] == "params"
        else "from the extract's first to its last date (the proposal can state the period instead)"
    )
    return (
        f"The extract covers {span_words(period)}, {how}; counts are shown as totals and per "
        "year, and rates are per year."
    )


def long_date(value) -> str:
    """A date as people write it: "1 April 2024" (the text unchanged if it is not a date)."""
    try:
        day = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return str(value)
    return f"{day.day} {day.strftime('%B %Y')}"


def span_words(period: Mapping) -> str:
    """A period in words: "1 April 2024 to 31 March 2025 (1 year)", "(1.50 years)"."""
    years = float(period["years"])
    length = "1 year" if round(years, 2) == 1 else f"{years:.2f} years"
    return f"{long_date(period['start'])} to {long_date(period['end'])} ({length})"


def counting_sentence(counting: str) -> str:
    """What is counted, and what that means for the intervals."""
    if counting == "people":
        return (
            "Figures count distinct people (the extract names a person column): someone with several events "
            "is counted once in each group they belong to."
        )
    return (
        "Figures count events, not people: the extract names no person column, so someone "
        "with several events is counted several times. "
        "Repeat events of the same people are not independent, so the intervals below, which "
        "assume they are, are too narrow; PHEindicatormethods widens them from the number of "
        "events per person, which this extract does not hold."
    )


# ---------------------------------------------------------------------------
# Material gaps
# ---------------------------------------------------------------------------


def gap_flags(
    value: Any,
    lower: Any,
    upper: Any,
    *,
    band: Sequence[float] = MATERIAL_BAND,
    higher_use_is: str = "better",
) -> pd.DataFrame:
    """Which ratios are material gaps, and which of those are a concern.

    A ratio (representation, or rate ratio to the reference group) is a gap
    (``gap`` = ``"under"`` or ``"over"``) only when both its interval excludes 1
    (``upper < 1`` or ``lower > 1``) **and** the ratio lies outside ``band``
    (``value < band[0]`` or ``value > band[1]``): significant but trivial
    differences are not flagged. ``concern`` is True for the harmful direction:
    under-use when ``higher_use_is == "better"``, over-use when ``"worse"``.
    Missing values give no gap.
    """
    if higher_use_is not in ("better", "worse"):
        raise ValueError(f"higher_use_is must be 'better' or 'worse', not {higher_use_is!r}")
    low, high = band
    v = pd.to_numeric(pd.Series(np.atleast_1d(value), dtype=object), errors="coerce").to_numpy(
        float
    )
    lo = pd.to_numeric(pd.Series(np.atleast_1d(lower), dtype=object), errors="coerce").to_numpy(
        float
    )
    hi = pd.to_numeric(pd.Series(np.atleast_1d(upper), dtype=object), errors="coerce").to_numpy(
        float
    )
    with np.errstate(invalid="ignore"):
        under = (hi < 1) & (v < low)
        over = (lo > 1) & (v > high)
    gap = np.where(under, "under", np.where(over, "over", None))
    harmful = "under" if higher_use_is == "better" else "over"
    out = pd.DataFrame({"gap": pd.Series(list(gap), dtype=object), "concern": gap == harmful})
    out["gap"] = out["gap"].where(out["gap"].isin(["under", "over"]), None)
    return out


def rate_representation(
    tables: Mapping[str, pd.DataFrame],
    *,
    disproportionate_ratio: float = 1.2,
    label: str = "service users",
    option: str = "Now",
    band: Sequence[float] = MATERIAL_BAND,
    higher_use_is: str = "better",
    population: str = "residents",
) -> pd.DataFrame:
    """Rate each group by its representation among current users (equity audit).

    ``tables`` maps a dimension to :func:`eia.analysis.impact.representation`'s output.
    A group is rated only on a **material gap** (:func:`gap_flags`: interval
    excludes 1 and representation outside ``band``): *negative* when the gap is
    in the harmful direction (under-use when higher use is better, over-use when
    worse), *positive* when in the other, else *neutral*. A negative rating is
    *disproportionate* when the representation is beyond ``disproportionate_ratio``
    (below ``1/ratio`` for under-use, above ``ratio`` for over-use). Groups whose
    counts are withheld are rated neutral with the reason stated.
    """
    rows = []
    for dimension, table in tables.items():
        flags = gap_flags(
            table["representation"],
            table["representation_lower"],
            table["representation_upper"],
            band=band,
            higher_use_is=higher_use_is,
        )
        for r, gap in zip(table.itertuples(), flags["gap"], strict=True):
            gap = gap if gap in ("under", "over") else None
            lo, hi, rep = r.representation_lower, r.representation_upper, r.representation
            if pd.isna(hi):
                rating, dispro = "neutral", False
                if pd.isna(r.count):
                    sentence = (
                        f"Neutral: its count of {label} is withheld (small numbers), so its "
                        "representation cannot be published."
                    )
                else:  # its count is published; the total it is compared with is not
                    sentence = (
                        f"Neutral: its representation among {label} is withheld because "
                        "the total it is compared with is withheld (small numbers elsewhere), "
                        "so it cannot be rated."
                    )
            else:
                harmful = "under" if higher_use_is == "better" else "over"
                rating = "neutral" if gap is None else "negative" if gap == harmful else "positive"
                dispro = bool(
                    rating == "negative"
                    and (
                        rep < 1 / disproportionate_ratio
                        if harmful == "under"
                        else rep > disproportionate_ratio
                    )
                )
                sentence = representation_sentence(
                    rating, dispro, rep, lo, hi, gap, band, disproportionate_ratio, harmful
                )
            rows.append(
                {
                    "option": option,
                    "dimension": dimension,
                    "group": r.group,
                    "population": None if pd.isna(r.population) else int(round(r.population)),
                    "count": None if pd.isna(r.count) else float(r.count),
                    "representation": rep,
                    "representation_lower": lo,
                    "representation_upper": hi,
                    "gap": gap,
                    "rating": rating,
                    "disproportionate": dispro,
                    "sentence": sentence,
                }
            )
    return pd.DataFrame(rows)


#: A figure within this share of a threshold is "close to" it: a small change of threshold
#: would change the rating.
NEAR = 0.1


def near(value: float, threshold: float) -> bool:
    """Whether ``value`` lies within :data:`NEAR` (10%) of ``threshold``, either side."""
    return bool(threshold and abs(float(value) - threshold) <= NEAR * abs(threshold))


def representation_sentence(
    rating: str,
    disproportionate: bool,
    rep: float,
    lower: float,
    upper: float,
    gap: str | None,
    band: Sequence[float],
    ratio: float,
    harmful: str,
) -> str:
    """An audit rating in a few words: the rating, the representation and its interval
    (both shown beside it), and the rule it passed or missed, saying when it is close."""
    low, high = band
    word = rating.capitalize()
    figure = f"representation {rep:.2f} (95% CI {lower:.2f} to {upper:.2f})"
    if gap is not None:
        edge = low if gap == "under" else high
        rule = f"a material gap: outside {low:g} to {high:g} and the interval excludes 1"
        if rating == "negative":
            limit = round(1 / ratio, 2) if harmful == "under" else ratio
            side = "below" if harmful == "under" else "above"
            rule += (
                f"; disproportionate: {side} {limit:g}"
                if disproportionate
                else f"; disproportionate would need {side} {limit:g}"
            )
            if near(rep, limit):
                rule += f", close to {limit:g}"
        if near(rep, edge):
            rule += f", close to {edge:g}"
    elif upper < 1 or lower > 1:
        rule = f"a difference, but within {low:g} to {high:g}: not material"
        edge = low if upper < 1 else high
        if near(rep, edge):
            rule += f", close to {edge:g}"
    else:
        rule = "the interval includes 1: in line with the population"
    return f"{word}: {figure}; {rule}."


def risk_words(gap) -> str:
    """How a material uptake gap of concern is named in tables and sentences."""
    return (
        "Over-represented now (a higher rate is harm)" if gap == "over" else "Under-represented now"
    )


def mark_risk(impacts: pd.DataFrame, representation: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Add ``at_risk`` and ``uptake_gap``: groups with a material gap of concern among users now.

    ``representation`` maps a dimension to a frame with ``group``, ``gap`` and
    ``concern`` (:func:`eia.assessment.representation_tables`).
    """
    impacts = impacts.copy()
    at_risk, gaps = [], []
    for row in impacts.itertuples():
        table = representation.get(row.dimension)
        flag, gap = False, None
        if table is not None and "concern" in table:
            match = table[table["group"].astype(str) == str(row.group)]
            if len(match):
                flag = bool(match["concern"].iloc[0])
                gap = match["gap"].iloc[0]
        at_risk.append(flag)
        gaps.append(gap)
    impacts["at_risk"] = at_risk
    impacts["uptake_gap"] = gaps
    return impacts


# ---------------------------------------------------------------------------
# Population of interest
# ---------------------------------------------------------------------------


def restrict_to_ages(service, ages: Sequence[int | None] | None):
    """The service data restricted to the population of interest's ages, and what was left out.

    Uses the extract's age bands (``by_lsoa_age_sex``): bands wholly within
    ``ages`` are kept; records of other ages and of unknown age are counted in
    ``quality["count_outside_ages"]`` and ``quality["count_age_unknown"]``. The
    per-LSOA ethnic counts are scaled by each LSOA's kept share (the extract
    does not cross ethnic group with age). Without ``ages``, without an age
    column, or when the aggregation already applied them
    (``quality["ages_applied"]``), returns the service unchanged with a note.
    """
    quality = dict(service.quality)
    if ages is None or quality.get("ages_applied"):
        return service
    age = getattr(service, "by_lsoa_age_sex", None)
    if age is None or "age_band" not in age.columns:
        quality["ages_note"] = (
            "The extract has no age column, so all its records are counted against residents of "
            "the population's ages."
        )
        return (
            replace(service, quality=quality)
            if _is_dataclass(service)
            else _patched(service, quality=quality)
        )
    frame = age.groupby(["lsoa21_code", "age_band"], as_index=False)["count"].sum()
    known = frame["age_band"] != "Not known"
    inside = known & frame["age_band"].map(
        lambda b: ages_mod.band_within(b, ages) if b != "Not known" else False
    )
    kept = frame[inside].groupby("lsoa21_code")["count"].sum()
    everyone = frame.groupby("lsoa21_code")["count"].sum()
    codes = service.by_lsoa["lsoa21_code"]
    by_lsoa = pd.DataFrame(
        {"lsoa21_code": codes.to_numpy(), "count": codes.map(kept).fillna(0.0).to_numpy()}
    )
    quality["count_outside_ages"] = float(frame.loc[known & ~inside, "count"].sum())
    quality["count_age_unknown"] = float(frame.loc[~known, "count"].sum())
    total_before = float(service.by_lsoa["count"].sum())
    quality["count_in_area_all_ages"] = total_before
    quality["count_in_area"] = float(by_lsoa["count"].sum())
    quality["ages_applied"] = True
    eth = getattr(service, "by_lsoa_ethnicity", None)
    crossed = "ethnic_group" in age.columns
    if eth is not None and crossed:  # the extract crosses ethnic group with age: exact
        eth = (
            age[age["age_band"].map(lambda b: b != "Not known" and ages_mod.band_within(b, ages))]
            .groupby(["lsoa21_code", "ethnic_group"], as_index=False)["count"]
            .sum()
        )
    elif eth is not None:
        share = (kept / everyone.where(everyone > 0)).fillna(0.0)
        eth = eth.assign(count=eth["count"] * eth["lsoa21_code"].map(share).fillna(0.0).to_numpy())
    age_kept = age[
        age["age_band"].map(lambda b: b != "Not known" and ages_mod.band_within(b, ages))
    ]
    lowest, highest = ages
    quality["ages_note"] = (
        f"Only records of ages {lowest} to {highest if highest is not None else '90+'} are counted "
        "(by the extract's five-year age bands)"
        + (
            "."
            if crossed or eth is None
            else "; the ethnic group counts of each LSOA are scaled by its share of records in "
            "those ages, since the extract does not cross ethnic group with age."
        )
    )
    changes = {
        "by_lsoa": by_lsoa,
        "by_lsoa_ethnicity": eth,
        "by_lsoa_age_sex": age_kept,
        "quality": quality,
    }
    return replace(service, **changes) if _is_dataclass(service) else _patched(service, **changes)


def _is_dataclass(obj) -> bool:
    import dataclasses

    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def _patched(obj, **changes):
    from types import SimpleNamespace

    return SimpleNamespace(**{**vars(obj), **changes})


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


# ---------------------------------------------------------------------------
# Age-standardised rates
# ---------------------------------------------------------------------------


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
    bands = [b for b in counts.columns if any(_covers(b, c) for c in populations.columns)]
    pops = ages_mod.coarsen(populations, bands)
    standard = ages_mod.standard_for(bands)
    x = counts[bands].groupby(groups.reindex(counts.index).to_numpy()).sum()
    n = pops.groupby(groups.reindex(pops.index).to_numpy()).sum().reindex(x.index)
    value, lower, upper = stats.dsr(
        x, n, standard.to_numpy(), multiplier=per, confidence=CONFIDENCE
    )
    out = pd.DataFrame(
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


# ---------------------------------------------------------------------------
# Ethnic group, and missing ethnicity
# ---------------------------------------------------------------------------


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
) -> list[str]:
    """Warnings when ethnicity completeness is low overall or differs by deprivation.

    ``table`` is the published completeness table (withheld shares None): the warnings
    quote only published shares.
    """
    out = []
    share = pd.to_numeric(table["completeness"], errors="coerce")
    overall = share[(table["group"] == "All").to_numpy()].iloc[0]
    if pd.notna(overall) and overall < threshold:
        out.append(
            f"Only {overall:.0%} of records state an ethnic group (below the {threshold:.0%} "
            "threshold, thresholds.ethnicity_completeness): observed ethnic group rates are "
            "well below the true rates, and the reallocated rates rest heavily on their assumption."
        )
    quint = share[table["imd_quintile"].notna().to_numpy()].dropna()
    if len(quint) >= 2 and quint.max() - quint.min() > gap:
        out.append(
            f"Ethnicity completeness differs by deprivation, from {quint.min():.0%} to "
            f"{quint.max():.0%} across IMD quintiles (more than {gap:.0%} apart, "
            "thresholds.completeness_gap): missingness is related to where people live, so "
            "not-stated records are reallocated within each quintile, not across the area."
        )
    return out


#: The one assumption about records without a stated ethnic group, used by rates and representation.
ETHNICITY_ASSUMPTION = (
    "Records without a stated ethnic group (Not stated, Not known) are assumed to be spread "
    "across the five groups as the stated records are, within each IMD quintile. Observed rates "
    "leave them out and are lower bounds; adjusted rates and representation reallocate them "
    "under this assumption."
)


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
    without it; see :data:`ETHNICITY_ASSUMPTION`) and ``in_rates`` (False for
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


def inequality_slope(
    deciles: pd.DataFrame,
    quintiles: pd.DataFrame | None = None,
    *,
    use: str = "decile",
    repetitions: int = 100_000,
    seed: int = _SII_SEED,
    per: float = PER,
    unit: str | None = None,
    standardised: bool | None = None,
) -> dict:
    """The slope index of inequality of the rate across IMD deciles (or quintiles).

    Uses :func:`eia.stats.inequality` on the rate per year with the rates' 95% limits
    (log scale, "rate", when every rate is above 0; else "normal"), quantile 1 =
    most deprived, over the levels with residents in the area (at least 5).
    The rates are the age-standardised ones (``dsr``, ``dsr_lower``,
    ``dsr_upper``) when every level has one and ``standardised`` is not False,
    else the crude ones. ``use="quintile"`` fits the quintile table instead.
    Returns ``sii, sii_lower, sii_upper`` (per ``per`` per year, least minus most
    deprived end), ``quantiles``, ``value_type``, ``per``, ``standardised`` and
    ``interpretation`` (a sentence); or ``sii`` None with ``reason`` when it
    cannot be fitted.
    """
    table, key = (deciles, "imd_decile") if use == "decile" else (quintiles, "imd_quintile")
    unit = unit or unit_label(per)
    out: dict[str, Any] = {
        "quantiles": use,
        "per": per,
        "sii": None,
        "sii_lower": None,
        "sii_upper": None,
        "standardised": False,
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
    cols = ("rate", "lower", "upper")
    has_dsr = "dsr" in rows and pd.to_numeric(rows["dsr"], errors="coerce").notna().all()
    if standardised is not False and has_dsr:
        cols = DSR_COLUMNS
        out["standardised"] = True
    elif standardised:
        return {**out, "reason": f"an IMD {use} has no age-standardised rate (under 10 events)"}
    rate = rows[cols[0]].astype(float).to_numpy()
    value_type = "rate" if (rate > 0).all() else "normal"
    result = stats.sii(
        rows[key].to_numpy(),
        rows["population"].astype(float).to_numpy(),
        rate,
        lower_cl=rows[cols[1]].astype(float).to_numpy(),
        upper_cl=rows[cols[2]].astype(float).to_numpy(),
        value_type=value_type,
        repetitions=repetitions,
        seed=seed,
    )
    sii, lo, hi = result["sii"], result["sii_lower"], result["sii_upper"]
    if lo <= 0 <= hi:
        finding = "the interval includes 0, so no clear gradient"
    elif sii < 0:
        finding = "the rate is higher in more deprived areas"
    else:
        finding = "the rate is higher in less deprived areas"
    kind = "age-standardised rates" if out["standardised"] else "crude rates"
    interpretation = (
        f"Slope index of inequality across IMD {use}s, on {kind}: {sii:+.2f} {unit} "
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


# ---------------------------------------------------------------------------
# The result object used by the templates
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Published:
    """What an :class:`Uptake` publishes, disclosure control applied.

    The tables are the frames the report shows and ``metrics.json`` writes, each
    passed through :func:`eia.stats.disclosure.publishable` with its allow-list
    (:data:`eia.stats.disclosure.PUBLISHED`, ``uptake.<name>``): :data:`COLUMNS` plus the
    age-standardised rates when there are any, ``suppressed`` (why a row's count is
    withheld), and for ethnic groups ``in_rates`` and the reallocated (adjusted)
    figures. ``reasons`` is :func:`protect_tables`' ``{entry: reason}`` across all of
    them; ``notes`` the section's sentences; ``uptake`` and ``data_quality`` are
    metrics.json's blocks.
    """

    by_imd_quintile: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_core20: pd.DataFrame
    by_ethnic_group: pd.DataFrame | None
    ethnicity_completeness: pd.DataFrame | None
    reasons: Mapping[Any, str]
    notes: Mapping[str, str]
    uptake: dict
    data_quality: dict
    #: Every count the tables publish, their relations and the withheld ones, for tables
    #: linked later (per-site tables) to be protected against them.
    linked: disclosure.Linked | None = None

    #: The published tables, by name.
    TABLES: ClassVar[tuple[str, ...]] = (
        "by_imd_quintile",
        "by_imd_decile",
        "by_core20",
        "by_ethnic_group",
        "ethnicity_completeness",
    )

    @property
    def tables(self) -> dict[str, pd.DataFrame | None]:
        """``{name: published frame}`` (None: no ethnicity in the extract)."""
        return {name: getattr(self, name) for name in self.TABLES}

    def __repr__(self) -> str:
        return f"Published({', '.join(n for n, t in self.tables.items() if t is not None)})"


@dataclass(repr=False)
class Uptake:
    """Uptake tables, their published (suppressed) forms and the data-quality summary.

    The frames ``by_*`` are as computed, before disclosure control (for analysis in
    the kernel, never shown); ``published`` (:class:`Published`) is what may be shown.
    """

    label: str
    synthetic: bool
    min_count: int
    reference_ethnic_group: str
    by_imd_quintile: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_ethnic_group: pd.DataFrame | None
    sii: dict
    quality: dict
    published: Published | None = None
    by_core20: pd.DataFrame | None = None
    completeness: pd.DataFrame | None = None
    counting: str = "events"
    period: dict = field(default_factory=lambda: {"years": 1.0, "source": "assumed"})
    per: float = PER
    population: str = "residents"
    unit: str = "per 1,000 residents per year"
    higher_use_is: str = "better"
    material_band: tuple[float, float] = MATERIAL_BAND
    standardised: bool = False
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"Uptake({self.label!r}{' (synthetic)' if self.synthetic else ''}: {self.counting} "
            f"{self.unit}, disclosure min_count={self.min_count})"
        )

    def metrics(self) -> dict:
        """``{"uptake": ..., "data_quality": ...}`` for metrics.json, suppression applied."""
        return {"uptake": self.published.uptake, "data_quality": self.published.data_quality}

    def table(self, name: str) -> pd.DataFrame | None:
        """A published (disclosure-controlled) table: ``by_imd_quintile``, ``by_imd_decile``,
        ``by_core20``, ``by_ethnic_group`` or ``ethnicity_completeness`` (the last two None
        without ethnicity). Columns as :data:`COLUMNS`, plus ``suppressed`` (why a count is
        withheld) and, for ethnic groups, ``in_rates``; see :class:`Published`."""
        tables = self.published.tables
        if name not in tables:
            raise KeyError(f"no uptake table {name!r}; expected one of {', '.join(tables)}")
        return tables[name]

    @property
    def published_quality(self) -> dict:
        """The data-quality summary as published (withheld counts are None)."""
        return self.published.data_quality


def compute(
    service,
    area: pd.DataFrame,
    populations: pd.DataFrame | None = None,
    *,
    reference_ethnic_group: str = "White",
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    per: float = PER,
    period: Mapping | Any | None = None,
    age_populations: pd.DataFrame | None = None,
    ages: Sequence[int | None] | None = None,
    population: str = "residents",
    higher_use_is: str = "better",
    material_band: Sequence[float] = MATERIAL_BAND,
    completeness_threshold: float = COMPLETENESS_THRESHOLD,
    completeness_gap: float = COMPLETENESS_GAP,
    ethnicity_by_age: pd.DataFrame | None = None,
) -> Uptake:
    """All the uptake results for one service extract, with disclosure control applied.

    ``service`` is a :class:`eia.service.aggregate.ServiceData`; ``area`` the frame of
    :func:`eia.population.area.build_area` (its ``population`` the population of interest);
    ``populations`` the wide LSOA × ethnic group table of
    :func:`eia.population.area.group_populations` (needed for ethnicity). ``period`` is
    ``service.period`` (see :func:`resolve_period`); ``per`` the multiplier.
    ``age_populations`` (residents per LSOA and ESP band,
    :func:`eia.population.ages.band_populations`) gives age-standardised rates when the
    extract has age. ``ages`` restricts the service counts to the population of
    interest (:func:`restrict_to_ages`); ``population`` names it ("residents aged
    15 to 44"). ``higher_use_is`` and ``material_band`` decide which ratios are
    gaps of concern (:func:`gap_flags`). ``ethnicity_by_age``
    (:func:`read_ethnicity_by_age`) makes ethnic group rates age-standardised too,
    when the extract crosses ethnic group with age (:func:`ethnic_dsr`).
    """
    reference = reference_group(reference_ethnic_group)
    service = restrict_to_ages(service, ages)
    counting = counting_of(service)
    span = resolve_period(period, service.quality)
    years = float(span["years"])
    unit = unit_label(per, population)
    quint = imd_table(service.by_lsoa, area, "quintile", per=per, years=years)
    dec = imd_table(service.by_lsoa, area, "decile", per=per, years=years)
    core = core20_table(service.by_lsoa, area, per=per, years=years)
    codes = list(area["lsoa21_code"])
    by_age = age_counts(service, codes) if age_populations is not None else None
    standardised = by_age is not None
    if standardised:
        pops = age_populations.reindex(codes).fillna(0.0)
        level = area.set_index("lsoa21_code")
        for table, key, groups in (
            (quint, "imd_quintile", level["imd_quintile"]),
            (dec, "imd_decile", level["imd_decile"]),
            (core, "core20", level["imd_decile"] <= 2),
        ):
            rates = dsr_table(by_age, pops, groups, per=per, years=years)
            for column in (*DSR_COLUMNS, "dsr_count"):
                table[column] = table[key].map(rates[column]).astype(float).to_numpy()
    ethnic = completeness = None
    ethnic_standardised = False
    warnings_: list[str] = []
    if service.by_lsoa_ethnicity is not None and populations is not None:
        ethnic = ethnic_table(
            service.by_lsoa_ethnicity,
            populations,
            reference=reference,
            per=per,
            years=years,
            area=area,
        )
        ethnic_standardised = False
        if ethnicity_by_age is not None:
            rates = ethnic_dsr(service, ethnicity_by_age, codes, ages=ages, per=per, years=years)
            if rates is not None:
                ethnic_standardised = True
                for column in (*DSR_COLUMNS, "dsr_count"):
                    ethnic[column] = ethnic["group"].map(rates[column]).astype(float).to_numpy()
        completeness = completeness_table(service.by_lsoa_ethnicity, area)
    counted_rows = "count" not in getattr(service, "columns", {}) and counting == "events"
    linked = protect_linked_tables(
        quint,
        dec,
        ethnic,
        service.quality,
        min_count,
        counted_rows=counted_rows,
        completeness=completeness,
    )
    reasons = {k: r for k, r in linked.reasons.items() if r != disclosure.HIDDEN}

    in_area_withheld = "count_in_area" in reasons
    pub_q = _publish(
        quint,
        "by_imd_quintile",
        reasons,
        "quintile",
        "imd_quintile",
        min_count,
        reference_withheld=("quintile", 5) in reasons,
        total_withheld=in_area_withheld,
    )
    pub_d = _publish(
        dec,
        "by_imd_decile",
        reasons,
        "decile",
        "imd_decile",
        min_count,
        reference_withheld=("decile", 10) in reasons,
        total_withheld=in_area_withheld,
    )
    # Core20 is quintile 1; the rest is the in-area count minus it.
    core_reasons = {("core20", True): reasons.get(("quintile", 1))}
    if ("quintile", 1) in reasons or in_area_withheld:
        core_reasons[("core20", False)] = reasons.get(("quintile", 1)) or reasons["count_in_area"]
    core_reasons = {k: v for k, v in core_reasons.items() if v is not None}
    pub_c = _publish(
        core,
        "by_core20",
        core_reasons,
        "core20",
        "core20",
        min_count,
        reference_withheld=("core20", False) in core_reasons,
        total_withheld=in_area_withheld,
    )
    pub_e = pub_comp = None
    if ethnic is not None:
        shown = ethnic
        if any(("ethnic", g) in reasons for g in ETHNIC_GROUPS):
            # Adjusted counts add up to the in-area count: one withheld would follow from the rest.
            shown = ethnic.assign(**{column: None for column in ADJUSTED_COLUMNS})
        pub_e = _publish(
            shown,
            "by_ethnic_group",
            reasons,
            "ethnic",
            "group",
            min_count,
            reference_withheld=("ethnic", reference) in reasons,
            total_withheld="stated" in reasons,
        )
        pub_comp = disclosure.publishable(
            _published_completeness(completeness, reasons),
            disclosure.PUBLISHED["uptake.ethnicity_completeness"],
            min_count=min_count,
        )
        # Warnings quote published shares only (never one computed from withheld counts).
        warnings_ = completeness_warnings(
            pub_comp, threshold=completeness_threshold, gap=completeness_gap
        )

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
            sii = inequality_slope(dec, quint, use="quintile", per=per, unit=unit)
            sii["note"] = "fitted across quintiles because a decile's count is suppressed"
    else:
        sii = inequality_slope(dec, quint, use="decile", per=per, unit=unit)
        if standardised and not sii.get("standardised") and sii.get("sii") is not None:
            sii["note"] = (
                "fitted to crude rates because an IMD decile has under 10 events, too few for an "
                "age-standardised rate"
            )

    band = (float(material_band[0]), float(material_band[1]))
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
        by_core20=core,
        completeness=completeness,
        counting=counting,
        period=span,
        per=per,
        population=population,
        unit=unit,
        higher_use_is=higher_use_is,
        material_band=band,
        standardised=standardised,
        warnings=warnings_,
    )
    notes = {
        "counting": counting_sentence(counting),
        "period": period_sentence(span),
        "standardisation": standardisation_sentence(standardised),
        "ethnicity": ETHNICITY_ASSUMPTION
        + " "
        + ethnic_standardisation_sentence(ethnic_standardised, ethnicity_by_age is not None),
    }
    if quality.get("ages_note"):
        notes["ages"] = quality["ages_note"]
    result.published = Published(
        by_imd_quintile=pub_q,
        by_imd_decile=pub_d,
        by_core20=pub_c,
        by_ethnic_group=pub_e,
        ethnicity_completeness=pub_comp,
        reasons=reasons,
        notes=notes,
        uptake={
            "label": service.label,
            "synthetic": bool(service.synthetic),
            "counting": counting,
            "period": {k: span[k] for k in ("start", "end", "years", "source")},
            "unit": unit,
            "per": per,
            "population": population,
            "confidence": CONFIDENCE,
            "higher_use_is": higher_use_is,
            "material_band": list(band),
            "standardised": standardised,
            "ethnic_standardised": ethnic_standardised,
            "standard_population": "2013 European Standard Population" if standardised else None,
            "reference": {
                "imd_quintile": QUINTILE_LABELS[5],
                "imd_decile": DECILE_LABELS[10],
                "core20": CORE20_LABELS[1],
                "ethnic_group": reference,
            },
            "by_imd_quintile": _json_rows(pub_q),
            "by_imd_decile": _json_rows(pub_d),
            "by_core20": _json_rows(pub_c),
            "by_ethnic_group": None
            if pub_e is None
            else _json_rows(pub_e.drop(columns=["adjusted_count"])),
            "ethnicity_completeness": None if pub_comp is None else _json_rows(pub_comp),
            "sii": _json_value(sii),
            "ethnicity_note": notes["ethnicity"],
            "notes": notes,
            "warnings": list(warnings_),
            "disclosure": {
                "min_count": min_count,
                "statement": disclosure.policy_statement(min_count),
            },
        },
        data_quality=disclosure.published_record(
            published_quality, disclosure.PUBLISHED["data_quality"], min_count=min_count
        ),
        linked=linked,
    )
    return result


def ethnic_standardisation_sentence(standardised: bool, supplied: bool) -> str:
    """Whether ethnic group rates are age-standardised, and why not."""
    if standardised:
        return (
            "Ethnic group rates are also age-standardised (2013 European Standard Population) with "
            "the ethnic group by age denominators supplied with the proposal, from "
            "stated records only (lower bounds, like the observed rates); none below 10 events."
        )
    if supplied:
        return (
            "Ethnic group rates are crude (not age-standardised): ethnic group by age denominators "
            "were supplied, but the extract's aggregation does not cross ethnic group with age."
        )
    return (
        "Ethnic group rates are crude (not age-standardised): the reference data has no ethnic "
        "group by age, so groups with younger or older populations are not compared like for like."
    )


def standardisation_sentence(standardised: bool) -> str:
    """Which rates are age-standardised, and why the others are crude."""
    if standardised:
        return (
            "Rates by deprivation and for Core20 are also given age-standardised: directly "
            "standardised to the 2013 European Standard Population with Dobson limits, using ONS "
            "mid-2020 residents by age (persons) scaled to Census 2021 totals; none is given for a "
            "group with fewer than 10 events (PHE practice). Records of unknown age are left out of "
            "them."
        )
    return (
        "All rates are crude (not age-standardised): the extract has no age column, so groups "
        "with older or younger populations cannot be compared like for like."
    )


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
