"""What is counted (people or events), over what period, per what: the period rates are per year of, checked against the extract's own dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

__all__ = [
    "month_of",
    "PERIOD_TOLERANCE_DAYS",
    "counting_of",
    "years_between",
    "resolve_period",
    "period_beyond_data",
    "unit_label",
]


#: A declared period may start this many days before the extract's first date, or end this
#: many after its last, before it is called longer than the data (:func:`period_beyond_data`):
#: a quiet service need not have an event on the period's first or last day.
PERIOD_TOLERANCE_DAYS = 31


_DAYS_PER_YEAR = 365.25


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
        # The extract's own first and last months (each date is one record's: never published).
        "data_first": month_of(quality.get("date_first")),
        "data_last": month_of(quality.get("date_last")),
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


def _iso(value) -> str | None:
    day = _as_date(value)
    return None if day is None else day.isoformat()


def period_beyond_data(
    period: Mapping | Any | None, quality: Mapping, tolerance_days: int = PERIOD_TOLERANCE_DAYS
) -> dict | None:
    """Whether a declared period runs beyond the extract's dates.

    ``period`` is ``service.period``; ``quality`` holds the extract's observed
    ``date_first`` and ``date_last`` (before the period filter). Returns None when
    no period is declared, the extract has no dates, or the period starts no more
    than ``tolerance_days`` before the first date and ends no more than that after
    the last one. Otherwise ``{"start", "end", "data_first", "data_last", "before",
    "after", "tolerance_days"}``: the declared dates (ISO), the extract's first and
    last **months** (``"2024-04"``: each date is one record's, never published, see
    :func:`month_of`), and whether the period runs beyond the data at its start and
    at its end. Rates per year over a period longer than the data are too low by the
    ratio of the two lengths.
    """
    if period is None:
        return None
    get = period.get if isinstance(period, Mapping) else lambda k: getattr(period, k, None)
    start, end = _as_date(get("start")), _as_date(get("end"))
    first, last = _as_date(quality.get("date_first")), _as_date(quality.get("date_last"))
    if None in (start, end, first, last):
        return None
    before = (first - start).days > tolerance_days
    after = (end - last).days > tolerance_days
    if not (before or after):
        return None
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "data_first": month_of(first),
        "data_last": month_of(last),
        "before": before,
        "after": after,
        "tolerance_days": int(tolerance_days),
    }


def unit_label(per: float, population: str = "residents") -> str:
    """The rates' unit, e.g. "per 1,000 residents per year"."""
    return f"per {per:,.0f} {population} per year"
