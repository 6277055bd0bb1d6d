"""Aggregate service data where it lives, and join the aggregates to LSOA 2021.

Service data is one row per event (or per group of events, with a ``count``
column, which may be fractional, e.g. annual averages). It may be a file, a
table or query in a SQL database, or a table on Spark; the ``service`` block
of a proposal's params says which and which columns hold what::

    service:
      path: data/bookings.csv              # a file: CSV, Parquet or XLSX
      columns: {lsoa: lsoa_code, ethnicity: ethnic_category, age: age,
                sex: sex, date: date, person: nhs_number_pseudo, site: site}
      period: {start: 2024-04-01, end: 2025-03-31}
      label: maternity bookings 2024/25

    service:                               # a SQL database
      table: activity.outpatients          # or query: "SELECT ... FROM ..."
      connection: EIA_SERVICE_DB           # an environment variable holding the URL
      columns: {lsoa: lsoa_code, ...}

    service:                               # Spark (local, or a cluster)
      engine: spark
      table: hes.outpatients               # or path: / query:
      connection: EIA_SPARK_REMOTE         # optional: a Spark Connect URL (sc://...)
      columns: {lsoa: lsoa_code, ...}

The aggregation is written once, as an Ibis expression (:func:`aggregate`), and
runs on the engine that holds the data: DuckDB, embedded, for files (out of
core: a file larger than memory works); the database itself for ``table`` or
``query``; Spark for ``engine: spark``. Only aggregates leave the engine: counts
per LSOA value as given × ethnic category (× NHS ethnic code), per LSOA × age
band × sex, per site × LSOA × ethnic group, and the validation counts. No
record-level row is returned, and nothing is written into the database.

Normalisation happens inside the query: LSOA values trimmed and upper-cased,
ethnic categories mapped to the five Census groups and NHS codes (A–S, Z, 99),
ages banded (0-4 … 80-84, 85+), sex codes labelled, dates parsed and filtered
to ``period``. With ``columns.person`` counts are distinct people per cell (a
person seen in two cells counts once in each); otherwise events (the sum of
``count``, or rows).

:func:`join_to_lsoa21` then converts each distinct LSOA value to LSOA 2021
codes (:mod:`eia.refdata.lsoa21`: 2011 codes converted, split areas apportioned by
population, names matched, with a warning), on the aggregate, so no lookup
table has to be written into the database. Welsh codes, codes outside the
assessment area, unknown or malformed codes and blanks are counted in the
data-quality summary, never dropped silently. :func:`load_service` does
it all and returns a :class:`ServiceData`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from eia import files, redact
from eia.errors import ServiceDataError
from eia.population import ethnicity as eth
from eia.population.ages import effective_ages
from eia.refdata.lsoa21 import _name_key, _reference, resolve_codes, to_lsoa21
from eia.refdata.schemas import SERVICE_BY_LSOA, SERVICE_BY_LSOA_AGE_SEX, SERVICE_BY_LSOA_ETHNICITY
from eia.service.sources import Source, open_source, parse_reason, safe_message

#: The roles a ``columns`` mapping may name; only ``lsoa`` is required.
ROLES = ("lsoa", "count", "ethnicity", "age", "sex", "date", "person", "site")
#: Dimensions kept in the aggregate, in this order, when their column is mapped.
DIMENSIONS = ("ethnic_group", "age_band", "sex")

_NUMBER = (
    r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d*)?([eE][+-]?\d+)?$"
    r"|^[+-]?\.\d+([eE][+-]?\d+)?$"
)
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %B %Y",
)
_MAX_EXAMPLES = 10

AGE_BAND_WIDTH = 5
AGE_BAND_TOP = 85  # 85 and over
NOT_KNOWN = "Not known"

_SEX = {
    "1": "Male",
    "M": "Male",
    "MALE": "Male",
    "2": "Female",
    "F": "Female",
    "FEMALE": "Female",
    "9": "Indeterminate",
    "I": "Indeterminate",
    "INDETERMINATE": "Indeterminate",
    "0": NOT_KNOWN,
    "X": NOT_KNOWN,
    "U": NOT_KNOWN,
    "UNKNOWN": NOT_KNOWN,
    "NOT KNOWN": NOT_KNOWN,
}


class ServiceDataWarning(UserWarning):
    """Something in a service extract was handled but should be reported (encoding, names)."""


# ---------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------


def check_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """Validate a ``columns`` mapping (role → column name); ``lsoa`` is required."""
    if not isinstance(columns, Mapping):
        raise ServiceDataError("service.columns must map roles (lsoa, count, ...) to column names")
    unknown = [
        role for role, name in columns.items() if role not in ROLES and name not in (None, "")
    ]
    if unknown:
        raise ServiceDataError(
            f"service.columns has unknown role(s) {', '.join(map(repr, unknown))}: "
            f"allowed roles are {', '.join(ROLES)}"
        )
    out = {role: str(name) for role, name in columns.items() if name not in (None, "")}
    if "lsoa" not in out:
        raise ServiceDataError("service.columns.lsoa is required: name the column of LSOA codes")
    names = list(out.values())
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ServiceDataError(f"service.columns maps one column to several roles: {dupes}")
    if "person" in out and "count" in out:
        raise ServiceDataError(
            "service.columns maps both person and count: with person, counts are distinct "
            "people, so a count column cannot be used; map one of them"
        )
    return out


def _match_columns(found: Sequence[str], columns: Mapping[str, str], source: str) -> dict[str, str]:
    """role → the source's actual column name (exact, else ignoring case and spaces)."""
    exact = set(found)
    loose: dict[str, list[str]] = {}
    for name in found:
        loose.setdefault(str(name).strip().lower(), []).append(name)
    actual, missing = {}, []
    for role, wanted in columns.items():
        if wanted in exact:
            actual[role] = wanted
        elif len(loose.get(wanted.strip().lower(), [])) == 1:
            actual[role] = loose[wanted.strip().lower()][0]
        else:
            missing.append(f"{role}: {redact.name(wanted)}")
    if missing:
        raise ServiceDataError(
            f"{source}: mapped column(s) not found: {'; '.join(missing)}. "
            f"Columns found: {redact.column_names(found)}"
        )
    return actual


# ---------------------------------------------------------------------------
# The aggregation: one Ibis expression, run by whichever engine holds the data
# ---------------------------------------------------------------------------


def _strip(text):
    """Trim whitespace. On Spark a regex: ibis's TRIM passes '\\v\\f', which Spark SQL reads
    as the letters v and f, so it would trim "f" (female, Mixed - White and Asian) to nothing."""
    try:
        spark = text._find_backend(use_default=True).name == "pyspark"
    except Exception:
        spark = False
    return text.re_replace(r"^\s+|\s+$", "") if spark else text.strip()


def _as_text(col):
    """A column as trimmed text, blank → null (whole floats as integers: 99.0 → "99")."""
    import ibis

    typ = col.type()
    if typ.is_string():
        text = col
    elif typ.is_floating():
        whole = col == col.round()
        text = ibis.cases((whole, col.cast("int64").cast("string")), else_=col.cast("string"))
    else:
        text = col.cast("string")
    return _strip(text).nullif("")


def _numbers(col):
    """(value as float64, bad: blank or not a finite number, negative)."""
    import ibis

    typ = col.type()
    if typ.is_string():
        text = _strip(col)
        ok = text.re_search(_NUMBER).fill_null(False)
        value = ibis.cases((ok, text.replace(",", "").cast("float64")), else_=ibis.null("float64"))
        bad = ~ok
    else:
        value = col.cast("float64")
        bad = value.isnull() | value.isnan() | value.isinf()
        bad = bad.fill_null(True)
        value = ibis.cases((bad, ibis.null("float64")), else_=value)
    negative = (value < 0).fill_null(False)
    return value, bad, negative


#: The top of an open age band ("85+", "90 and over") as a number.
OPEN_TOP = 999
_BAND = r"^(\d{1,3})\s*(-|–|to)\s*(\d{1,3})$"
_OPEN = r"^(\d{1,3})\s*(\+|and over|plus)$"


def _age_parts(col):
    """(low, high, single): the ages a record's age value covers, in whole years.

    A single year of age (a number, 0 to 129, fractions floored: 17.9 is 17) has
    ``low == high`` and ``single`` true. A text band ("18-24", "18 to 24") gives
    its edges, an open band ("85+", "85 and over") ``high`` = :data:`OPEN_TOP`;
    ``single`` is then false. Anything else is unknown: ``low`` and ``high`` null.
    """
    import ibis

    typ = col.type()
    null = ibis.null("float64")
    if typ.is_string():
        text = _strip(col).lower()
        number = text.re_search(r"^\d+(\.\d*)?$").fill_null(False)
        band = text.re_search(_BAND).fill_null(False)
        open_ = text.re_search(_OPEN).fill_null(False)
        value = ibis.cases((number, text.cast("float64")), else_=null)
        band_low = ibis.cases((band, text.re_extract(_BAND, 1).cast("float64")), else_=null)
        band_high = ibis.cases((band, text.re_extract(_BAND, 3).cast("float64")), else_=null)
        open_low = ibis.cases((open_, text.re_extract(_OPEN, 1).cast("float64")), else_=null)
    else:
        value = col.cast("float64")
        band_low = band_high = open_low = null
    ok = ((value >= 0) & (value < 130)).fill_null(False)
    year = value.floor().cast("float64")
    ok_band = ((band_low <= band_high) & (band_high < 130)).fill_null(False)
    ok_open = (open_low < 130).fill_null(False)
    low = ibis.cases((ok, year), (ok_band, band_low), (ok_open, open_low), else_=null)
    high = ibis.cases(
        (ok, year), (ok_band, band_high), (ok_open, ibis.literal(float(OPEN_TOP))), else_=null
    )
    return low, high, ok


def _age_band(col):
    """Start of the 5-year age band (85 for 85+), null when the age is not known.

    A text band counts as known here only when it lies within one 2013 ESP
    five-year band (or starts at 85 or over); wider bands ("18-24") are used to
    restrict records to a population's ages but not for age standardisation.
    """
    import ibis

    low, high, single = _age_parts(col)
    start = (low / AGE_BAND_WIDTH).floor() * AGE_BAND_WIDTH
    one_band = (
        single | (start == (high / AGE_BAND_WIDTH).floor() * AGE_BAND_WIDTH) | (low >= AGE_BAND_TOP)
    )
    band = ibis.cases((start > AGE_BAND_TOP, float(AGE_BAND_TOP)), else_=start).cast("int64")
    return ibis.cases((low.notnull() & one_band.fill_null(False), band), else_=ibis.null("int64"))


def check_ages(ages: Sequence[int | None] | None) -> tuple[int, int | None] | None:
    """A population's ages as ``(min, max)`` (``max`` None: no upper limit), checked."""
    if ages is None:
        return None
    try:
        low, high = ages
        low = int(low)
        high = None if high is None else int(high)
    except (TypeError, ValueError) as exc:
        raise ServiceDataError(
            "service ages must be [min, max] whole years (max may be null)"
        ) from exc
    if low < 0 or (high is not None and high < low):
        raise ServiceDataError("service ages must be [min, max] with 0 <= min <= max")
    return low, high


def _inside(low, high, ages: tuple[int, int | None]):
    """Whether a record's ages lie wholly within ``ages`` (unknown ages: false)."""
    a_low, a_high = ages
    inside = low >= float(a_low)
    if a_high is not None:
        inside = inside & (high <= float(a_high))
    return inside.fill_null(False)


def nhs_ethnic_code(value: object) -> str | None:
    """The NHS ethnic category code (A–S, Z, 99) a recorded value carries, else None.

    Blank, "99", "X" and other not-known values are "99"; "Z" and not-stated
    labels are "Z"; a value naming only a group ("Asian") has no code (None).
    """
    group, known = eth.classify(value)
    if group == eth.NOT_KNOWN:
        return "99"
    if group == eth.NOT_STATED:
        return "Z"
    text = str(value).strip()
    compact = re.sub(r"\s+", "", text).upper()
    if 1 <= len(compact) <= 2 and compact[0] in eth.NHS_CODES and compact[0] != "9":
        return compact[0]
    match = re.match(r"^\(?([A-HJ-NPRSZ])\)?\s*[-:.)]\s*\S", text, re.IGNORECASE)
    if match:
        return match.group(1).upper()
    key = eth._norm(text)
    for code, (description, _) in eth.NHS_CODES.items():
        if eth._norm(description) == key:
            return code
    return None


def _parse_dates(text: pa.Array) -> pa.Array:
    """Distinct date texts parsed by the first of :data:`_DATE_FORMATS` that reads them.

    Arrow's ``strptime`` rolls an impossible day into the next month (2024-02-30 →
    1 March); such a date is null here, so it is reported as not a date (its rows
    named, values masked), never moved to another day.
    """
    parsed = _strptime_strict(text, _DATE_FORMATS[0])
    for fmt in _DATE_FORMATS[1:]:
        todo = pc.and_(pc.is_valid(text), pc.is_null(parsed))
        if not pc.any(todo).as_py():
            break
        attempt = _strptime_strict(pc.if_else(todo, text, pa.scalar(None, pa.string())), fmt)
        parsed = pc.coalesce(parsed, attempt)
    return parsed


def _strptime_strict(text: pa.Array, fmt: str) -> pa.Array:
    """``pc.strptime`` without roll-over: a parsed day that does not exist becomes null."""
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    if not pc.any(pc.is_valid(parsed)).as_py():
        return parsed
    keep = []
    for raw, when in zip(text.to_pylist(), parsed.to_pylist(), strict=True):
        if when is None:
            keep.append(False)
            continue
        try:
            dt.datetime.strptime(raw.strip(), fmt)
            keep.append(True)
        except ValueError as exc:  # only the calendar's verdict counts; other quirks are Arrow's
            keep.append("out of range" not in str(exc) and "day of year" not in str(exc))
    return pc.if_else(pa.array(keep), parsed, pa.scalar(None, parsed.type))


@dataclass(repr=False)
class Extract:
    """Service data aggregated where it lives (see :func:`aggregate`)."""

    by_code: pd.DataFrame
    by_code_age_sex: pd.DataFrame | None
    info: dict
    by_code_ethnic_code: pd.DataFrame | None = None
    by_site: pd.DataFrame | None = None
    by_code_total: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"Extract({self.info.get('source')!r}: {self.info.get('records_read', 0):,} records "
            f"aggregated to {len(self.by_code):,} groups on {self.info.get('engine')})"
        )


def _period(period: Mapping | None) -> tuple[dt.date | None, dt.date | None]:
    if not period:
        return None, None
    out = []
    for key in ("start", "end"):
        value = period.get(key)
        if value is None or isinstance(value, dt.date):
            out.append(value)
            continue
        try:
            out.append(dt.date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ServiceDataError(f"service.period.{key} must be a date (YYYY-MM-DD)") from exc
    if out[0] and out[1] and out[0] > out[1]:
        raise ServiceDataError("service.period.start is after service.period.end")
    return out[0], out[1]


@dataclass
class _Plan:
    """What the row expressions need that is learnt from the data first (small look-ups)."""

    actual: dict  # role -> the source's column name
    ethnic_groups: dict = field(default_factory=dict)  # raw value -> Census group
    ethnic_codes: dict = field(default_factory=dict)  # raw value -> NHS code
    unrecognised: list = field(default_factory=list)
    dates: Any = None  # ibis memtable of text -> date, for a text date column
    date_stats: dict = field(
        default_factory=dict
    )  # of a text date column, from its distinct values


def _rows(t, plan: _Plan, in_engine: bool = True):
    """The one row expression: normalised columns every engine computes the same way.

    ``in_engine``: label ethnic categories and sex in the query (needed to count
    distinct people per label); otherwise keep the normalised values
    (``eth_raw``, ``sex_raw``) and label the small aggregate (:func:`_labelled`),
    which saves a many-branched CASE per row.
    """
    import ibis

    actual = plan.actual
    fields: dict[str, Any] = {"code": _as_text(t[actual["lsoa"]]).upper()}
    if "count" in actual:
        fields["n"], fields["bad_count"], fields["negative"] = _numbers(t[actual["count"]])
    else:
        fields["n"] = ibis.literal(1.0)
    if "ethnicity" in actual and not in_engine:
        fields["eth_raw"] = _as_text(t[actual["ethnicity"]])
    elif "ethnicity" in actual:
        raw = _as_text(t[actual["ethnicity"]])
        groups, codes = plan.ethnic_groups, plan.ethnic_codes
        group = raw.substitute(groups, else_=eth.NOT_KNOWN) if groups else eth.NOT_KNOWN
        code = raw.substitute(codes, else_=ibis.null("string")) if codes else None
        fields["ethnic_group"] = ibis.cases((raw.isnull(), eth.NOT_KNOWN), else_=group)
        fields["ethnic_code"] = ibis.cases(
            (raw.isnull(), "99"), else_=code if code is not None else ibis.null("string")
        )
    if "age" in actual:
        fields["age5"] = _age_band(t[actual["age"]])
        fields["age_low"], fields["age_high"], fields["age_single"] = _age_parts(t[actual["age"]])
    if "sex" in actual and not in_engine:
        fields["sex_raw"] = _as_text(t[actual["sex"]]).upper()
    elif "sex" in actual:
        sex = _as_text(t[actual["sex"]]).upper()
        fields["sex"] = ibis.cases(
            (sex.isnull(), NOT_KNOWN), else_=sex.substitute(_SEX, else_="Other")
        )
    if "site" in actual:
        fields["site"] = _as_text(t[actual["site"]])
    if "person" in actual:
        fields["person"] = t[actual["person"]]
    if "date" in actual:  # typed, or text joined to its parsed values (else: plan.date_stats)
        column = t[actual["date"]]
        if plan.dates is None:
            fields["date"] = column.cast("date")
            fields["date_given"] = column.notnull()
        elif "eia_date" in t.columns:
            fields["date"] = t["eia_date"]
            fields["date_given"] = t["eia_date_text"].notnull()
    if "eia_row" in t.columns:  # naming bad rows: their number and (masked) value
        fields["eia_row"] = t["eia_row"]
        for role in ("count", "date"):
            if role in actual:
                fields[f"raw_{role}"] = t[actual[role]].cast("string")
    return t.select(**fields)


def _with_dates(t, plan: _Plan):
    """Join a text date column to its parsed values (a small look-up table)."""
    if plan.dates is None:
        return t
    text = _as_text(t[plan.actual["date"]])
    joined = t.mutate(eia_date_text=text).left_join(plan.dates, "eia_date_text")
    return joined.drop([c for c in joined.columns if c.endswith("_right")])


def _plan(t, actual: dict, run) -> _Plan:
    """Learn the distinct ethnic categories and date texts (each a small result)."""
    import ibis

    plan = _Plan(actual)
    if "ethnicity" in actual:
        values = run(t.select(v=_as_text(t[actual["ethnicity"]])).distinct())["v"].tolist()
        for value in values:
            if pd.isna(value):
                continue
            group, known = eth.classify(value)
            if not known and len(plan.unrecognised) < 1000:
                plan.unrecognised.append(str(value))
            plan.ethnic_groups[value] = group
            code = nhs_ethnic_code(value)
            if code is not None:
                plan.ethnic_codes[value] = code
    if "date" in actual:
        typ = t[actual["date"]].type()
        if not (typ.is_date() or typ.is_timestamp()):
            texts = t.select(v=_as_text(t[actual["date"]]))
            counted = run(texts.group_by("v").aggregate(n=texts.count()))
            given = counted[counted["v"].notna()]
            values = pa.array([str(v) for v in given["v"]], pa.string())
            parsed = _parse_dates(values).cast(pa.date32())
            ok = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
            dates = pc.filter(parsed, pc.is_valid(parsed))
            plan.date_stats = {
                "dates_missing": int(counted.loc[counted["v"].isna(), "n"].sum()),
                "bad_dates": int(given["n"].to_numpy()[~ok].sum()),
                "date_min": pc.min(dates).as_py() if len(dates) else None,
                "date_max": pc.max(dates).as_py() if len(dates) else None,
            }
            frame = pa.table({"eia_date_text": values, "eia_date": parsed}).to_pandas()
            plan.dates = ibis.memtable(
                frame, schema={"eia_date_text": "string", "eia_date": "date"}
            )
    return plan


def _label_ages(frame: pd.DataFrame) -> pd.DataFrame:
    if "age5" in frame:
        ages = frame["age5"]
        labels = ages.map({v: _age_label(v) for v in ages.dropna().unique()}).fillna(NOT_KNOWN)
        frame = frame.drop(columns="age5")
        frame.insert(1, "age_band", labels)
    return frame


def _age_label(start) -> str:
    if start is None or (isinstance(start, float) and math.isnan(start)) or start is pd.NA:
        return NOT_KNOWN
    start = int(start)
    if start >= AGE_BAND_TOP:
        return f"{AGE_BAND_TOP}+"
    return f"{start}-{start + AGE_BAND_WIDTH - 1}"


def _tidy(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """An aggregate as a tidy frame: None for missing keys, float counts, sorted by key."""
    frame = _label_ages(frame)
    keys = ["age_band" if k == "age5" else k for k in keys]
    out = pd.DataFrame(
        {k: frame[k].astype(object).where(frame[k].notna(), None).to_numpy() for k in keys}
    )
    out["count"] = frame["count"].astype("float64").to_numpy()
    out["records"] = frame["records"].astype("int64").to_numpy()
    out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    for k in keys:
        out[k] = out[k].astype(object).where(out[k].notna(), None)
    return out


def _how_many(condition):
    """Rows where a condition holds (portable: not every engine casts booleans to integers)."""
    import ibis

    return ibis.cases((condition, 1), else_=0).sum()


def _row_list(examples: list[tuple[int, object]], n: int) -> str:
    """Row numbers, each with its value's shape only (:func:`eia.redact.mask`)."""
    shown = ", ".join(
        str(row) if value is None else f"{row} ({redact.mask(value)})" for row, value in examples
    )
    more = f" and {n - len(examples)} more" if n > len(examples) else ""
    return f"{shown}{more}"


def aggregate(
    source: Source,
    columns: Mapping[str, str],
    *,
    period: Mapping | None = None,
    ages: Sequence[int | None] | None = None,
) -> Extract:
    """Aggregate a source where it lives; only aggregates come back.

    ``columns`` maps roles to column names (``lsoa`` required; ``count``,
    ``ethnicity``, ``age``, ``sex``, ``date``, ``person``, ``site`` optional).
    ``period`` (``{start, end}``, inclusive dates) keeps events dated within it.
    ``ages`` (``[min, max]``, max None for no limit: a population of interest)
    keeps records whose own age lies within it, by single year of age, or by
    band when the extract's ages are bands (a band partly outside is left out);
    every view, and the distinct people in each cell, then come from those records
    only (without an age column ``ages`` is ignored: ``info["ages_applied"]`` False).

    Returns an :class:`Extract` whose frames are keyed by ``code`` (the LSOA
    value as given, trimmed and upper-cased; None for blanks):

    * ``by_code``: ``code``, ``ethnic_group`` (when mapped), ``count``, ``records``;
    * ``by_code_ethnic_code``: ``code``, ``ethnic_code`` (A–S, Z, 99, or None
      for a value naming only a group), ``count``, ``records`` (when ethnicity is mapped);
    * ``by_code_age_sex``: ``code``, ``age_band`` ("0-4" … "85+", "Not known")
      and/or ``sex`` (Male, Female, Indeterminate, Other, Not known), ``count``, ``records``;
    * ``by_site``: ``site``, ``code``, ``ethnic_group`` (when mapped), ``count``, ``records``;
    * ``by_code_total``: ``code``, ``count``, ``records`` — distinct people per
      LSOA value (only with ``person``; without it, sum ``by_code``);
    * ``info``: ``engine``, ``source``, ``format``, ``encoding``, ``records_read``,
      ``count_read``, ``counting`` (``people`` or ``events``), ``date_first``,
      ``date_last`` (observed, before the period filter), ``dates_missing``,
      ``period_start``, ``period_end``, ``records_outside_period``, ``count_outside_period``
      (events; the count column's sum, or rows),
      ``records_without_person``, ``ethnicity_unrecognised``, ``columns``; with
      ``ages`` and an age column also ``ages``, ``ages_applied``, ``age_form``
      (``single`` years, ``bands``, or ``unknown`` when no age is known),
      ``ages_effective`` (the ages the kept records cover: ``ages``, or for bands
      :func:`effective_ages`), ``age_bands`` (the bands seen, as ``[low, high]``),
      and with ``person`` ``people_distinct`` (distinct people among the kept records,
      across all LSOA values). ``by_code_total`` then also has ``count_all_ages``
      and ``count_age_known`` (everyone in the period, and those of known age).

    ``count`` is the sum of the count column (or rows), or with ``person`` the
    number of distinct people in the cell (a person in two cells counts in both).

    Raises :class:`ServiceDataError` for a mapped column the source lacks
    (listing the columns found), no records, counts that are blank, not numbers
    or negative, and dates that do not parse (naming rows, numbered from 1
    after the header, when the source is a file).
    """
    import ibis

    columns = check_columns(columns)
    ages = check_ages(ages)
    start, end = _period(period)
    if (start or end) and "date" not in columns:
        raise ServiceDataError("service.period needs service.columns.date (the event date)")
    secrets = source.describe.get("secrets", [])

    def run(expr) -> pd.DataFrame:
        try:
            return expr.to_pandas()
        except ServiceDataError:
            raise
        except Exception as exc:
            if source.ordered:  # a file: say why it does not parse, never quote its lines
                raise ServiceDataError(
                    f"{source.name} cannot be read: {parse_reason(exc)}"
                ) from exc
            raise ServiceDataError(
                f"{source.name} cannot be aggregated on {source.engine}: {safe_message(exc, secrets)}"
            ) from None  # the engine's error may hold the URL

    t = source.table
    actual = _match_columns(list(t.columns), columns, source.name)
    plan = _plan(t, actual, run)
    person = "person" in actual
    by_age = ages is not None and "age" in actual
    # A text date column is joined to its parsed values only to filter by period.
    rows = _with_dates(t, plan) if (start or end) else t
    base = _rows(rows, plan, in_engine=person)

    # Validation and totals: one row.
    checks: dict[str, Any] = {"records": base.count()}
    if "count" in actual:
        checks["bad_count"] = _how_many(base.bad_count)
        checks["negative"] = _how_many(base.negative)
    in_period = None
    if "date" in base.columns:
        checks["dates_missing"] = _how_many(~base.date_given)
        checks["bad_dates"] = _how_many(base.date_given & base.date.isnull())
        checks["date_min"] = base.date.min()
        checks["date_max"] = base.date.max()
        if start or end:
            in_period = ibis.literal(True)
            if start:
                in_period = in_period & (base.date >= ibis.literal(start))
            if end:
                in_period = in_period & (base.date <= ibis.literal(end))
            in_period = in_period.fill_null(False)
            checks["outside_period"] = _how_many(~in_period)
            checks["count_outside_period"] = ibis.cases((~in_period, base.n), else_=0.0).sum()
    if "person" in actual:
        checks["without_person"] = _how_many(base.person.isnull())
    inside = _inside(base.age_low, base.age_high, ages) if by_age else None
    if by_age:
        known = base.age_low.notnull()
        checks["age_single_rows"] = _how_many(known & base.age_single)
        checks["age_band_rows"] = _how_many(known & ~base.age_single)
        if person:
            counted = inside if in_period is None else inside & in_period
            checks["people_distinct"] = base.person.nunique(where=counted)
    elif person:
        counted = None if in_period is None else in_period
        checks["people_distinct"] = base.person.nunique(where=counted)
    totals = {**plan.date_stats, **run(base.aggregate(**checks)).iloc[0].to_dict()}
    records = int(totals["records"] or 0)
    if records == 0:
        raise ServiceDataError(
            f"{source.name} has no records"
            + (" (only a header)" if source.ordered else " (the table or query returned no rows)")
        )
    _raise_for_bad_values(source, plan, totals, columns)

    period_kept = base if in_period is None else base.filter(in_period)
    kept = period_kept.filter(inside) if by_age else period_kept

    def view(keys: list[str]) -> pd.DataFrame:
        measure = kept.person.nunique() if person else kept.n.sum()
        return _tidy(run(kept.group_by(keys).aggregate(count=measure, records=kept.count())), keys)

    age_info: dict[str, Any] = {}
    by_total = None
    if by_age:
        by_total, age_info = _age_totals(period_kept, ages, person, totals, run)

    has_eth = "ethnicity" in actual
    main_keys = ["code"] + (["ethnic_group"] if has_eth else [])
    demog = [k for r, k in (("age", "age5"), ("sex", "sex")) if r in actual]
    site_keys = ["site", "code"] + (["ethnic_group"] if has_eth else [])
    by_age_sex = by_site = by_code_eth = None
    by_total = by_total if by_age else None
    if person:  # distinct people: every view counted in the engine, labels and all
        by_code = view(main_keys)
        by_code_eth = view(["code", "ethnic_code"]) if has_eth else None
        by_age_sex = view(["code", *demog]) if demog else None
        by_site = view(site_keys) if "site" in actual else None
        by_total = by_total if by_age else view(["code"])
    else:  # events add up: group by the values as stored, normalise and label the aggregate
        if in_period is not None:
            rows = rows.filter(_in_period(_dates_of(rows, plan), start, end))
        if by_age:
            low, high, _ = _age_parts(rows[actual["age"]])
            rows = rows.filter(_inside(low, high, ages))

        def events(keys: list[str], rows=rows) -> pd.DataFrame:
            return _labelled(_tidy(*_events_view(rows, plan, keys, run)), plan)

        eth_role = ["ethnicity"] if has_eth else []
        fine = events(["lsoa", *eth_role])
        by_code = _sum(fine, main_keys)
        by_code_eth = _sum(fine, ["code", "ethnic_code"]) if has_eth else None
        if demog:
            demog_roles = [r for r in ("age", "sex") if r in actual]
            by_age_sex = _sum(
                events(["lsoa", *demog_roles]), ["code", *[_ROLE_KEY[r] for r in demog_roles]]
            )
        if "site" in actual:
            by_site = _sum(events(["site", "lsoa", *eth_role]), site_keys)

    def iso(value) -> str | None:
        if value is None or pd.isna(value):
            return None
        return pd.Timestamp(value).date().isoformat()

    info = {
        "engine": source.engine,
        **{k: v for k, v in source.describe.items() if k != "secrets"},
        "records_read": records,
        "count_read": float(
            by_total["count_all_ages"].sum()
            if by_age
            else (by_total if person else by_code)["count"].sum()
        ),
        "counting": "people" if person else "events",
        "date_first": iso(totals.get("date_min")) if "date" in actual else None,
        "date_last": iso(totals.get("date_max")) if "date" in actual else None,
        "dates_missing": int(totals["dates_missing"]) if "date" in actual else None,
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "records_outside_period": int(totals["outside_period"]) if in_period is not None else 0,
        "count_outside_period": float(totals["count_outside_period"] or 0)
        if in_period is not None
        else 0.0,
        "records_without_person": int(totals["without_person"]) if person else None,
        "ethnicity_unrecognised": redact.code_examples(
            plan.unrecognised, limit=_MAX_EXAMPLES, what="ethnic category codes"
        ),
        "columns": dict(columns),
        **age_info,
    }
    if person:
        info["people_distinct"] = int(totals.get("people_distinct") or 0)
    return Extract(by_code, by_age_sex, info, by_code_eth, by_site, by_total)


def _age_totals(
    rows, ages: tuple[int, int | None], person: bool, totals: Mapping, run
) -> tuple[pd.DataFrame, dict]:
    """Per LSOA value: the count within ``ages``, of everyone, and of everyone of known age.

    ``rows`` are the normalised rows of the period. With ``person`` each is a number
    of distinct people (someone with records of several ages in one LSOA value counts
    once in each count they belong to, so ``count`` <= ``count_age_known`` <=
    ``count_all_ages``); otherwise events. Also returns what the records' ages are
    (``age_form``), the bands seen and the ages kept records cover.
    """
    inside = _inside(rows.age_low, rows.age_high, ages)
    known = rows.age_low.notnull()
    if person:
        measures = {
            "count": rows.person.nunique(where=inside),
            "count_all_ages": rows.person.nunique(),
            "count_age_known": rows.person.nunique(where=known),
        }
    else:
        measures = {
            "count": rows.n.sum(where=inside),
            "count_all_ages": rows.n.sum(),
            "count_age_known": rows.n.sum(where=known),
        }
    frame = run(rows.group_by("code").aggregate(**measures, records=rows.count(where=inside)))
    out = pd.DataFrame({"code": frame["code"].astype(object).where(frame["code"].notna(), None)})
    for column in ("count", "count_all_ages", "count_age_known"):
        out[column] = frame[column].astype("float64").fillna(0.0).to_numpy()
    out["records"] = frame["records"].fillna(0).astype("int64").to_numpy()
    out = out.sort_values("code", na_position="last", kind="stable").reset_index(drop=True)
    single = int(totals.get("age_single_rows") or 0)
    banded = int(totals.get("age_band_rows") or 0)
    bands: list[tuple[float, float]] = []
    if banded:
        seen = run(
            rows.filter(rows.age_low.notnull() & ~rows.age_single)
            .select("age_low", "age_high")
            .distinct()
        )
        bands = sorted(
            (float(lo), float(hi)) for lo, hi in zip(seen["age_low"], seen["age_high"], strict=True)
        )
    form = "single" if single else "bands" if banded else "unknown"
    covered = effective_ages(ages, bands) if form == "bands" else ages
    info = {
        "ages": list(ages),
        "ages_applied": True,
        "age_form": form,
        "ages_effective": list(covered),
        "age_bands": [[int(lo), None if hi >= OPEN_TOP else int(hi)] for lo, hi in bands],
    }
    return out, info


_ROLE_KEY = {"lsoa": "code", "ethnicity": "ethnic_group", "age": "age_band", "sex": "sex"}


def _dates_of(t, plan: _Plan):
    """The date column as dates: typed, or text joined to its parsed values."""
    return t["eia_date"] if "eia_date" in t.columns else t[plan.actual["date"]].cast("date")


def _in_period(date, start, end):
    import ibis

    mask = ibis.literal(True)
    if start:
        mask = mask & (date >= ibis.literal(start))
    if end:
        mask = mask & (date <= ibis.literal(end))
    return mask.fill_null(False)


def _events_view(rows, plan: _Plan, roles: list[str], run) -> tuple[pd.DataFrame, list[str]]:
    """Events by the given roles, in two steps: group by the values as stored (cheap keys,
    often dictionary-encoded), then normalise those few values and group again. The same
    result as normalising every row, since each normalised value depends only on its raw value.
    """

    actual = plan.actual
    inner_keys = {r: _age_band(rows[actual[r]]) if r == "age" else rows[actual[r]] for r in roles}
    c = _numbers(rows[actual["count"]])[0].sum() if "count" in actual else rows.count()
    inner = rows.group_by(**inner_keys).aggregate(c=c.cast("float64"), r=rows.count())
    normalise = {
        "lsoa": ("code", lambda c: _as_text(c).upper()),
        "ethnicity": ("eth_raw", _as_text),
        "age": ("age5", lambda c: c),
        "sex": ("sex_raw", lambda c: _as_text(c).upper()),
        "site": ("site", _as_text),
    }
    outer_keys = {normalise[r][0]: normalise[r][1](inner[r]) for r in roles}
    outer = inner.group_by(**outer_keys).aggregate(count=inner.c.sum(), records=inner.r.sum())
    return run(outer), list(outer_keys)


def _labelled(frame: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """Label an aggregate's normalised values: ethnic group and NHS code, sex."""
    frame = frame.copy()
    if "eth_raw" in frame:
        raw = frame.pop("eth_raw")
        frame.insert(1, "ethnic_group", raw.map(plan.ethnic_groups).fillna(eth.NOT_KNOWN))
        codes = raw.map(plan.ethnic_codes).astype(object)
        frame.insert(
            2, "ethnic_code", codes.where(raw.notna(), "99").where(lambda c: c.notna(), None)
        )
    if "sex_raw" in frame:
        raw = frame.pop("sex_raw")
        frame.insert(
            len(frame.columns) - 2,
            "sex",
            raw.map(_SEX).fillna("Other").where(raw.notna(), NOT_KNOWN),
        )
    return frame


def _sum(frame: pd.DataFrame, keys: list) -> pd.DataFrame:
    """Sum ``count`` and ``records`` by ``keys`` (None entries skipped), sorted."""
    keys = [k for k in keys if k is not None]
    out = frame.groupby(keys, dropna=False, sort=False, as_index=False)[["count", "records"]].sum()
    out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    for k in keys:
        out[k] = out[k].astype(object).where(out[k].notna(), None)
    return out


def _raise_for_bad_values(source: Source, plan: _Plan, totals, columns: Mapping) -> None:
    """Counts that are not numbers or negative, dates that are not dates: one error, rows named."""
    import ibis

    n_bad = int(totals.get("bad_count", 0) or 0)
    n_neg = int(totals.get("negative", 0) or 0)
    n_dates = int(totals.get("bad_dates", 0) or 0)
    if not (n_bad or n_neg or n_dates):
        return
    rows: dict[str, list[tuple[int, object]]] = {}
    if source.ordered:  # a file: name the rows (1 = the first after the header)
        numbered = source.table.mutate(eia_row=ibis.row_number() + 1)
        base = _rows(_with_dates(numbered, plan), plan)
        for kind, n, mask, raw in (
            ("bad", n_bad, "bad_count", "raw_count"),
            ("negative", n_neg, "negative", "raw_count"),
            ("dates", n_dates, None, "raw_date"),
        ):
            if not n:
                continue
            condition = base[mask] if mask else (base.date_given & base.date.isnull())
            found = base.filter(condition).select("eia_row", raw).order_by("eia_row")
            frame = found.limit(_MAX_EXAMPLES).to_pandas()
            rows[kind] = [
                (int(r), v if pd.notna(v) and str(v).strip() else None)
                for r, v in zip(frame["eia_row"], frame[raw], strict=True)
            ]

    def where(kind: str, n: int) -> str:
        if kind in rows:
            return f", in rows {_row_list(rows[kind], n)}"
        return ""

    problems = []
    if n_bad:
        problems.append(
            f"the count column ({columns['count']!r}) has {n_bad} value(s) that are blank or "
            f"not numbers{where('bad', n_bad)}"
        )
    if n_neg:
        problems.append(
            f"the count column ({columns['count']!r}) has {n_neg} negative value(s)"
            f"{where('negative', n_neg)}"
        )
    if n_dates:
        problems.append(
            f"the date column ({columns['date']!r}) has {n_dates} value(s) that are not dates "
            f"(use YYYY-MM-DD or DD/MM/YYYY){where('dates', n_dates)}"
        )
    note = " (rows are numbered from 1 after the header)" if rows else ""
    raise ServiceDataError(f"{source.name}: " + "; ".join(problems) + note)


def read_service(
    path: str | Path,
    columns: Mapping[str, str],
    *,
    sheet: str | int | None = None,
    period: Mapping | None = None,
    engine: str = "duckdb",
    ages: Sequence[int | None] | None = None,
) -> Extract:
    """Aggregate a file (CSV, Parquet or XLSX) on DuckDB (or Spark); see :func:`aggregate`."""
    spec = {"path": str(path), "sheet": sheet, "engine": engine, "period": period, "ages": ages}
    return _aggregate_spec(spec, ".", columns)


def _aggregate_spec(spec: Mapping, base_dir, columns: Mapping[str, str]) -> Extract:
    """Open, aggregate, close; a CSV whose mapped columns are not UTF-8 is read as cp1252."""
    columns = check_columns(columns)
    source = open_source(spec, base_dir)
    try:
        return aggregate(source, columns, period=spec.get("period"), ages=spec.get("ages"))
    except ServiceDataError as exc:
        if not (source.describe.get("format") == "csv" and _not_utf8(exc)):
            raise
        if source.describe.get("encoding") != "utf-8":
            raise
    finally:
        source.close()
    warnings.warn(
        f"{source.describe['source']} is not valid UTF-8; read it as Windows-1252 (cp1252). "
        "Check accented names and symbols, or save the file as UTF-8.",
        ServiceDataWarning,
        stacklevel=3,
    )
    source = open_source({**spec, "encoding": "cp1252"}, base_dir)
    try:
        return aggregate(source, columns, period=spec.get("period"), ages=spec.get("ages"))
    finally:
        source.close()


def _not_utf8(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__}".lower()
    return "unicode" in text or "utf-8" in text or "utf8" in text


# ---------------------------------------------------------------------------
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
        examples = ", ".join(repr(n) for n in names.head(3))
        warnings.warn(
            f"{len(names)} LSOA "
            f"{'value is a name, not a code' if len(names) == 1 else 'values are names, not codes'} "
            f"(e.g. {examples}); "
            "matched them to LSOA codes by name",
            ServiceDataWarning,
            stacklevel=2,
        )
    unmatched = merged[~matched]
    ranked = (
        unmatched.assign(code=unmatched["code"].fillna(""))
        .groupby("code")["count"]
        .sum()
        .sort_values(ascending=False, kind="stable")
    )
    names21 = _reference(pack)["names21"]
    shown = redact.unmatched_examples(
        ranked.index, lambda v: _name_key(v) in names21, limit=_MAX_EXAMPLES
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


# ---------------------------------------------------------------------------
# The whole step
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class ServiceData:
    """Service data aggregated to LSOA 2021 within the assessment area.

    * ``by_lsoa``: ``lsoa21_code, count`` for every LSOA in the area, in the
      area's order (zeros included);
    * ``by_lsoa_ethnicity``: ``lsoa21_code, ethnic_group, count`` (ethnic_group
      one of :data:`eia.population.ethnicity.CATEGORIES`, so including "Not stated" and
      "Not known"); None without an ethnicity column;
    * ``by_lsoa_ethnic_code``: ``lsoa21_code, ethnic_code, count``: the NHS
      ethnic category codes (A–S, Z, 99; None where a value names only a
      group); None without an ethnicity column;
    * ``by_lsoa_age_sex``: ``lsoa21_code``, ``age_band`` (5-year bands, "85+",
      "Not known") and/or ``sex``, ``count``; None unless age or sex is mapped;
    * ``by_site``: ``site, lsoa21_code, ethnic_group, count`` (ethnic_group
      only when mapped), LSOAs in the area only; None unless ``columns.site``;
    * ``quality``: see :func:`join_to_lsoa21`, plus ``synthetic``, ``engine``,
      ``counting`` (``people`` with ``columns.person``, else ``events``),
      ``period_start``/``period_end``, ``records_outside_period``, and the
      observed ``date_first``/``date_last`` (before the period filter).

    With ``counting == "people"`` each count is the number of distinct people
    in that cell: a person seen in two cells (two LSOAs, two groups, two sites)
    counts in both, so cells do not add up to a number of people.

    These frames hold small, unsuppressed counts: publish them only through
    :mod:`eia.analysis.uptake` and :mod:`eia.stats.disclosure`. The repr shows totals only, so
    an executed notebook never prints them by accident.
    """

    label: str
    synthetic: bool
    source: str
    by_lsoa: pd.DataFrame
    by_lsoa_ethnicity: pd.DataFrame | None
    by_lsoa_age_sex: pd.DataFrame | None
    quality: dict
    columns: dict = field(default_factory=dict)
    by_lsoa_ethnic_code: pd.DataFrame | None = None
    by_site: pd.DataFrame | None = None

    @property
    def counting(self) -> str:
        """``people`` (distinct people per cell) or ``events``."""
        return self.quality.get("counting", "events")

    def __repr__(self) -> str:
        q = self.quality
        return (
            f"ServiceData({self.label!r}{' (synthetic)' if self.synthetic else ''}: "
            f"{q.get('records_read') or 0:,} records read from {self.source} on "
            f"{q.get('engine', 'duckdb')}, {q.get('count_in_area', 0):,.1f} "
            f"{self.counting} in the area's {len(self.by_lsoa)} LSOAs)"
        )


def load_service(
    spec: Mapping,
    pack,
    area_codes: Sequence[str],
    base_dir: str | Path = ".",
    *,
    ages: Sequence[int | None] | None = None,
) -> ServiceData:
    """Aggregate a params ``service`` block where its data lives, and join it to LSOA 2021.

    The one call a notebook makes. ``spec`` is the block as a plain mapping:
    one of ``path`` (a file, relative to ``base_dir``, the params file's
    folder), ``table`` or ``query`` (with ``connection``, the name of an
    environment variable holding the database URL); ``engine`` (``duckdb``,
    ``database`` or ``spark``; by default DuckDB for a file, else the
    database); ``columns`` (role → column; ``lsoa`` required); optional
    ``period``, ``label``, ``synthetic`` and ``sheet``. Other keys are ignored.
    ``ages`` (a population of interest's ``[min, max]``) keeps only records of
    those ages, in every table (see :func:`aggregate`).
    """
    if not isinstance(spec, Mapping) or not any(spec.get(k) for k in ("path", "table", "query")):
        raise ServiceDataError(
            "service.path is required: name the extract file (or a table or query)"
        )
    spec = {**spec, "ages": ages} if ages is not None else spec
    extract = _aggregate_spec(spec, base_dir, spec.get("columns") or {})
    columns = extract.info["columns"]
    joined, quality = join_to_lsoa21(extract, pack, area_codes)
    codes = list(dict.fromkeys(area_codes))
    totals = joined
    if extract.by_code_total is not None:
        totals = to_lsoa21(extract.by_code_total[["code", "count", "records"]], pack, codes)
    by_lsoa = (
        totals.groupby("lsoa21_code")["count"]
        .sum()
        .reindex(codes, fill_value=0.0)
        .rename_axis("lsoa21_code")
        .reset_index()
    )
    by_eth = joined if "ethnic_group" in joined.columns else None

    def convert(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else to_lsoa21(frame, pack, codes)

    by_site = convert(extract.by_site)
    by_age = convert(extract.by_code_age_sex)
    if by_site is not None:
        by_site = by_site[["site", *[c for c in by_site.columns if c != "site"]]]
    synthetic = bool(spec.get("synthetic", False))
    quality["synthetic"] = synthetic
    if synthetic:  # eia's own file (a recorded hash), or synthetic data someone supplied
        made = bool(spec.get("path")) and files.made_by_eia(Path(base_dir) / str(spec["path"]))
        quality["synthetic_source"] = "generated" if made else "supplied"
    name = extract.info.get("source", "")
    return ServiceData(
        label=str(spec.get("label") or (Path(name).stem if spec.get("path") else name)),
        synthetic=synthetic,
        source=name,
        by_lsoa=SERVICE_BY_LSOA.validate(by_lsoa),
        by_lsoa_ethnicity=None if by_eth is None else SERVICE_BY_LSOA_ETHNICITY.validate(by_eth),
        by_lsoa_age_sex=None if by_age is None else SERVICE_BY_LSOA_AGE_SEX.validate(by_age),
        quality=quality,
        columns=dict(columns),
        by_lsoa_ethnic_code=convert(extract.by_code_ethnic_code),
        by_site=by_site,
    )
