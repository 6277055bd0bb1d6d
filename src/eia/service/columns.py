"""Columns and values of a service extract: which column holds what, and each value cleaned inside the engine (text, numbers, ages and age bands, NHS ethnic codes, dates)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from eia import redact
from eia.errors import ServiceDataError
from eia.population import ethnicity as eth

__all__ = [
    "ROLES",
    "DIMENSIONS",
    "AGE_BAND_WIDTH",
    "AGE_BAND_TOP",
    "NOT_KNOWN",
    "ServiceDataWarning",
    "check_columns",
    "OPEN_TOP",
    "check_ages",
    "nhs_ethnic_code",
]


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
    """Something in a service extract was handled but should be reported (encoding, names).

    A code and the figures its words quote (the report's data notes,
    ``report/prose/data_notes.j2``): ``not_utf8`` (``source``: the file's name) or
    ``names_matched`` (``n``: how many LSOA values were names, ``examples``: up to three of
    them, public LSOA names). ``str()`` is the code and figures, for logs.
    """

    def __init__(self, code: str, **figures: Any):
        self.code, self.figures = code, dict(figures)
        super().__init__(code, self.figures)

    def __str__(self) -> str:
        return f"{self.code}: " + ", ".join(f"{k}={v!r}" for k, v in self.figures.items())

    def as_dict(self) -> dict[str, Any]:
        """``{"code", **figures}``: what the report's data notes are worded from."""
        return {"code": self.code, **self.figures}


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
_BAND = r"^(\d{1,3})[\t\n\f\r ]*(-|–|to)\s*(\d{1,3})$"
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


#: What the engines' trim removes (ibis's ``strip``), and their regular expressions' ``\s``
#: and ``\d`` (RE2: ASCII only): the same age patterns, for :func:`age_band_of`.
_TRIM = " \t\n\r\v\f"
_RE_NUMBER = re.compile(r"\A\d+(\.\d*)?\Z", re.ASCII)
_RE_BAND = re.compile(r"\A(\d{1,3})[\t\n\f\r ]*(-|–|to)[\t\n\f\r ]*(\d{1,3})\Z", re.ASCII)
_RE_OPEN = re.compile(r"\A(\d{1,3})[\t\n\f\r ]*(\+|and over|plus)\Z", re.ASCII)


def age_band_of(value: object) -> int | None:
    """:func:`_age_band` of one stored value, in Python: the start of its 5-year band, or None.

    For the distinct ages of an extract (one call per distinct value, not per record),
    joined to the records as a small look-up so the engine's query stays short. It follows
    the engine's expression step by step (trim, lower case, the same patterns with ASCII
    digits and RE2's whitespace); ``tests/test_service_fast_paths.py`` checks the two agree.
    """
    if value is None or pd.isna(value):
        return None
    if isinstance(value, str):
        text = value.strip(_TRIM).lower()
        if _RE_NUMBER.search(text):
            number = float(text)
        elif found := _RE_BAND.search(text):
            low, high = float(found.group(1)), float(found.group(3))
            return _band_start(low, high, single=False) if low <= high < 130 else None
        elif found := _RE_OPEN.search(text):
            low = float(found.group(1))
            return _band_start(low, float(OPEN_TOP), single=False) if low < 130 else None
        else:
            return None
    else:
        number = float(value)  # type: ignore[arg-type]
    if not (number >= 0 and number < 130):  # NaN and infinities are not ages
        return None
    year = float(math.floor(number))
    return _band_start(year, year, single=True)


def _band_start(low: float, high: float, *, single: bool) -> int | None:
    start = math.floor(low / AGE_BAND_WIDTH) * AGE_BAND_WIDTH
    one_band = (
        single or start == math.floor(high / AGE_BAND_WIDTH) * AGE_BAND_WIDTH or low >= AGE_BAND_TOP
    )
    if not one_band:
        return None
    return AGE_BAND_TOP if start > AGE_BAND_TOP else int(start)


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
