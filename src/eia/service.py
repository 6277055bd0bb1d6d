"""Read a service data extract, aggregate it at once, and join it to LSOA 2021.

An extract is a CSV (UTF-8 with or without a byte-order mark, or Windows-1252),
an Excel workbook (``.xlsx``) or a Parquet file, with one row per event (or
per group of events, with a ``count`` column, which may be fractional, e.g.
annual averages). The ``service`` block of a proposal's params names the file
and which of its columns hold what::

    service:
      path: data/bookings.csv
      columns: {lsoa: lsoa_code, count: n, ethnicity: ethnic_category,
                age: age, sex: sex, date: date}
      label: maternity bookings 2024/25
      synthetic: false

Only ``path`` and ``columns.lsoa`` are required.

Record-level rows never outlive the read: the file is streamed in batches of
only the mapped columns, each batch is grouped at once (with pyarrow) by the
LSOA value as given, ethnic category, age band and sex, and only those
aggregates are kept. :func:`read_service` returns them; :func:`join_to_lsoa21`
converts each distinct LSOA value to LSOA 2021 codes, and
:func:`load_service` does both and returns a :class:`ServiceData`.

Code vintages: a 2021 code joins directly (codes of LSOAs that did not change
in 2021 are the same in both vintages). A 2011 code converts with the pack's
LSOA 2011→2021 lookup: a merged area (M) maps to its one 2021 area; a split
area (S) is apportioned across its 2021 parts by their Census 2021 population;
an irregular one (X) goes to its best-fitting 2021 area (the one in the same
local authority, else the most populous), so totals are preserved. LSOA names
("Nottingham 001A") are matched to codes, with a warning. Welsh codes, codes
outside the assessment area, unknown or malformed codes and blanks are counted
in the data-quality summary, never dropped silently.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eia import ethnicity as eth
from eia import redact
from eia.errors import ServiceDataError

#: The roles a ``columns`` mapping may name; only ``lsoa`` is required.
ROLES = ("lsoa", "count", "ethnicity", "age", "sex", "date")
#: Dimensions kept in the aggregate, in this order, when their column is mapped.
DIMENSIONS = ("ethnic_group", "age_band", "sex")
_ROLE_DIM = {"ethnicity": "ethnic_group", "age": "age_band", "sex": "sex"}

LSOA_CODE = re.compile(r"^[EW]01\d{6}$")
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
_BATCH_ROWS = 1_000_000
_MAX_EXAMPLES = 10

AGE_BAND_WIDTH = 5
AGE_BAND_TOP = 85  # 85 and over
NOT_KNOWN = "Not known"


class ServiceDataWarning(UserWarning):
    """Something in a service extract was handled but should be reported (encoding, names)."""


# ---------------------------------------------------------------------------
# Reading
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
    return out


def _match_columns(found: Sequence[str], columns: Mapping[str, str], source: str) -> dict[str, str]:
    """role → the file's actual column name (exact, else ignoring case and spaces)."""
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
        shown = ", ".join(redact.name(f) for f in found[:40])
        more = f" (and {len(found) - 40} more)" if len(found) > 40 else ""
        raise ServiceDataError(
            f"{source}: mapped column(s) not found: {'; '.join(missing)}. "
            f"Columns found: {shown}{more}"
        )
    return actual


def _detect_format(path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffixes else ""
    last = path.suffix.lower()
    if last in (".parquet", ".pq", ".parq"):
        return "parquet"
    if last in (".xlsx", ".xlsm"):
        return "xlsx"
    if last in (".xls", ".ods"):
        raise ServiceDataError(
            f"{path}: {last} files are not supported; save it as .xlsx, .csv or Parquet"
        )
    if last in (".csv", ".txt", ".tsv") or suffix.endswith((".csv.gz", ".csv.bz2")):
        return "csv"
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "csv"


def _open(path: Path) -> str:
    """Refuse special files and files that are not their declared format (:mod:`eia.redact`)."""
    return redact.check_source_file(path)


def _csv_delimiter(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(65536)
    first = head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
    line = first[0] if first else ""
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    if counts[","]:
        return ","
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_batches(path: Path, columns: Mapping[str, str], encoding: str) -> Iterator[pa.Table]:
    delimiter = _csv_delimiter(path)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    read = pacsv.ReadOptions(encoding=encoding, block_size=1 << 24)
    try:
        header = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 16),
            parse_options=parse,
        ).schema.names
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise ServiceDataError(f"service data file {path} is empty") from exc
        raise
    actual = _match_columns(header, columns, str(path))
    wanted = list(actual.values())
    convert = pacsv.ConvertOptions(
        include_columns=wanted,
        column_types=dict.fromkeys(wanted, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    rename = {v: k for k, v in actual.items()}
    for batch in reader:
        yield pa.Table.from_batches([batch]).rename_columns([rename[n] for n in batch.schema.names])


def _parquet_batches(path: Path, columns: Mapping[str, str]) -> Iterator[pa.Table]:
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ServiceDataError(f"{path} cannot be read as Parquet ({type(exc).__name__})") from exc
    actual = _match_columns(handle.schema_arrow.names, columns, str(path))
    rename = {v: k for k, v in actual.items()}
    for batch in handle.iter_batches(batch_size=_BATCH_ROWS, columns=list(actual.values())):
        yield pa.Table.from_batches([batch]).rename_columns([rename[n] for n in batch.schema.names])


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_batches(path: Path, columns: Mapping[str, str], sheet) -> Iterator[pa.Table]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise ServiceDataError(
            f"{path} cannot be read as an Excel workbook ({type(exc).__name__})"
        ) from exc
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            ws = book.worksheets[sheet]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise ServiceDataError(
                f"{path} has no sheet {redact.name(sheet)}: sheets are "
                f"{', '.join(redact.name(n, quote=False) for n in book.sheetnames)}"
            )
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ServiceDataError(
                f"service data file {path} is empty (sheet {redact.name(ws.title)})"
            )
        header = ["" if h is None else str(h) for h in header]
        actual = _match_columns(header, columns, f"{path} (sheet {redact.name(ws.title)})")
        index = {role: header.index(name) for role, name in actual.items()}
        buffer: dict[str, list] = {role: [] for role in index}
        for row in rows:
            if row is None or all(v is None for v in row):
                continue
            for role, i in index.items():
                buffer[role].append(_cell_text(row[i]) if i < len(row) else None)
            if len(buffer["lsoa"]) >= 200_000:
                yield pa.table({r: pa.array(v, pa.string()) for r, v in buffer.items()})
                buffer = {role: [] for role in index}
        if buffer["lsoa"]:
            yield pa.table({r: pa.array(v, pa.string()) for r, v in buffer.items()})
    finally:
        book.close()


@dataclass
class _Aggregator:
    """Group each batch at once; keep only partial sums and error examples."""

    roles: tuple[str, ...]
    partials: dict = field(default_factory=dict)
    unrecognised: dict = field(default_factory=dict)
    rows: int = 0
    bad_counts: list = field(default_factory=list)
    n_bad_counts: int = 0
    negative_counts: list = field(default_factory=list)
    n_negative: int = 0
    bad_dates: list = field(default_factory=list)
    n_bad_dates: int = 0
    dates_missing: int = 0
    date_min: object = None
    date_max: object = None

    def add(self, table: pa.Table) -> None:
        offset = self.rows
        self.rows += table.num_rows
        if table.num_rows == 0:
            return
        cols = {"code": _clean_text(table.column("lsoa"), upper=True)}
        if "count" in self.roles:
            cols["count"] = self._counts(table.column("count"), offset)
        else:
            cols["count"] = pa.repeat(pa.scalar(1.0), table.num_rows)
        if "ethnicity" in self.roles:
            cols["ethnic_group"] = self._ethnic_groups(table.column("ethnicity"))
        if "age" in self.roles:
            cols["age5"] = _age_band_start(table.column("age"))
        if "sex" in self.roles:
            cols["sex"] = _clean_text(table.column("sex"), upper=True)
        if "date" in self.roles:
            self._dates(table.column("date"), offset)
        if self.n_bad_counts or self.n_negative or self.n_bad_dates:
            return  # an error will be raised; stop aggregating but keep finding rows
        batch = pa.table(cols)
        for view, keys in self.views().items():
            grouped = batch.group_by(keys, use_threads=True).aggregate(
                [("count", "sum"), ("count", "count")]
            )
            self.partials.setdefault(view, []).append(grouped)

    def views(self) -> dict[str, list[str]]:
        """The aggregates kept: LSOA × ethnic group, and LSOA × age band × sex."""
        views = {"main": ["code"] + (["ethnic_group"] if "ethnicity" in self.roles else [])}
        demog = [k for r, k in (("age", "age5"), ("sex", "sex")) if r in self.roles]
        if demog:
            views["age_sex"] = ["code", *demog]
        return views

    def _ethnic_groups(self, column: pa.ChunkedArray) -> pa.Array:
        """Map raw categories to Census groups per batch, via the batch's few distinct values."""
        text = _clean_text(column)
        encoded = pc.dictionary_encode(
            pa.concat_arrays(text.chunks) if text.num_chunks else pa.array([], pa.string())
        )
        values = encoded.dictionary.to_pylist()
        mapped = []
        for value in values:
            group, known = eth.classify(value)
            if not known and len(self.unrecognised) < 1000:
                self.unrecognised.setdefault(value, None)
            mapped.append(group)
        groups = pc.take(pa.array(mapped, pa.string()), encoded.indices)
        return pc.fill_null(groups, eth.NOT_KNOWN)

    def _counts(self, column: pa.ChunkedArray, offset: int) -> pa.ChunkedArray:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            text = pc.utf8_trim_whitespace(column)
            ok = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
            self._note_bad(pc.invert(ok), offset, text, "bad")
            values = pc.cast(
                pc.replace_substring(pc.if_else(ok, text, pa.scalar(None, pa.string())), ",", ""),
                pa.float64(),
            )
        elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            values = pc.cast(column, pa.float64())
            finite = pc.fill_null(pc.is_finite(values), False)
            self._note_bad(pc.invert(finite), offset, pc.cast(column, pa.string()), "bad")
        else:
            try:
                values = pc.cast(column, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ServiceDataError(
                    f"the count column has type {column.type}, not numbers"
                ) from exc
            self._note_bad(
                pc.invert(pc.fill_null(pc.is_finite(values), False)), offset, None, "bad"
            )
        negative = pc.fill_null(pc.less(values, 0.0), False)
        self._note_bad(negative, offset, pc.cast(values, pa.string()), "negative")
        return values

    def _note_bad(self, mask, offset: int, text, kind: str) -> None:
        if not pc.any(mask).as_py():
            return
        if isinstance(mask, pa.ChunkedArray):
            mask = pa.concat_arrays(mask.chunks) if mask.num_chunks else pa.array([], pa.bool_())
        where = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        store = {"bad": self.bad_counts, "negative": self.negative_counts, "date": self.bad_dates}[
            kind
        ]
        if kind == "bad":
            self.n_bad_counts += len(where)
        elif kind == "negative":
            self.n_negative += len(where)
        else:
            self.n_bad_dates += len(where)
        for i in where[: max(0, _MAX_EXAMPLES - len(store))]:
            value = None if text is None else text[int(i)].as_py()
            store.append((offset + int(i) + 1, value))

    def _dates(self, column: pa.ChunkedArray, offset: int) -> None:
        typ = column.type
        if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
            values = pc.cast(column, pa.timestamp("s")) if pa.types.is_date(typ) else column
            self.dates_missing += column.null_count
        else:
            text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
            text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
            self.dates_missing += text.null_count
            values = _parse_dates(text)
            unparsed = pc.and_(pc.is_valid(text), pc.is_null(values))
            self._note_bad(unparsed, offset, text, "date")
        if values.null_count == len(values):
            return
        lo, hi = pc.min_max(values).values()
        lo, hi = lo.as_py(), hi.as_py()
        if lo is not None:
            self.date_min = lo if self.date_min is None else min(self.date_min, lo)
            self.date_max = hi if self.date_max is None else max(self.date_max, hi)

    def result(self, view: str) -> pa.Table | None:
        if not self.partials.get(view):
            return None
        table = pa.concat_tables(self.partials[view])
        keys = [n for n in table.column_names if n not in ("count_sum", "count_count")]
        return table.group_by(keys).aggregate([("count_sum", "sum"), ("count_count", "sum")])


def _clean_text(column: pa.ChunkedArray, upper: bool = False) -> pa.ChunkedArray:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        if pa.types.is_floating(column.type):
            # 5.0 → "5", not "5.0" (e.g. a numeric "99" ethnic category).
            rounded = pc.round(column)
            whole = pc.fill_null(pc.equal(rounded, column), False)
            as_int = pc.cast(pc.if_else(whole, rounded, None), pa.int64(), safe=False)
            column = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(column, pa.string()))
        else:
            column = pc.cast(column, pa.string())
    text = pc.utf8_trim_whitespace(column)
    if upper:
        text = pc.utf8_upper(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _age_band_start(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = pc.utf8_trim_whitespace(column)
        ok = pc.fill_null(pc.match_substring_regex(text, r"^\d+(\.\d*)?$"), False)
        values = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64())
    else:
        values = pc.cast(column, pa.float64(), safe=False)
    valid = pc.fill_null(pc.and_(pc.greater_equal(values, 0.0), pc.less(values, 130.0)), False)
    band = pc.multiply(pc.floor(pc.divide(values, float(AGE_BAND_WIDTH))), float(AGE_BAND_WIDTH))
    band = pc.min_element_wise(band, float(AGE_BAND_TOP))
    return pc.cast(pc.if_else(valid, band, pa.scalar(None, pa.float64())), pa.int64())


def _parse_dates(text: pa.ChunkedArray) -> pa.ChunkedArray:
    text = pa.concat_arrays(text.chunks) if isinstance(text, pa.ChunkedArray) else text
    parsed = pc.strptime(text, format=_DATE_FORMATS[0], unit="s", error_is_null=True)
    for fmt in _DATE_FORMATS[1:]:
        todo = pc.and_(pc.is_valid(text), pc.is_null(parsed))
        if not pc.any(todo).as_py():
            break
        attempt = pc.strptime(
            pc.if_else(todo, text, pa.scalar(None, pa.string())),
            format=fmt,
            unit="s",
            error_is_null=True,
        )
        parsed = pc.coalesce(parsed, attempt)
    return parsed


def _age_label(start) -> str:
    if start is None or (isinstance(start, float) and math.isnan(start)):
        return NOT_KNOWN
    start = int(start)
    if start >= AGE_BAND_TOP:
        return f"{AGE_BAND_TOP}+"
    return f"{start}-{start + AGE_BAND_WIDTH - 1}"


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


def _sex_label(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_KNOWN
    return _SEX.get(str(value), "Other")


def _row_list(examples: list[tuple[int, object]], n: int, show_values: bool = True) -> str:
    shown = ", ".join(
        f"{row} ({redact.mask(value)})" if show_values and value is not None else str(row)
        for row, value in examples
    )
    more = f" and {n - len(examples)} more" if n > len(examples) else ""
    return f"{shown}{more}"


@dataclass(repr=False)
class Extract:
    """An extract aggregated as it was read (see :func:`read_service`)."""

    by_code: pd.DataFrame
    by_code_age_sex: pd.DataFrame | None
    info: dict

    def __repr__(self) -> str:
        return (
            f"Extract({self.info.get('source')!r}: {self.info.get('records_read', 0):,} records "
            f"aggregated to {len(self.by_code):,} groups)"
        )


def read_service(
    path: str | Path,
    columns: Mapping[str, str],
    *,
    sheet: str | int | None = None,
) -> Extract:
    """Read an extract and aggregate it at once; no record-level rows are kept.

    ``columns`` maps roles to the file's column names (``{"lsoa": "lsoa_code",
    "count": "n", "ethnicity": "ethnic_category", "age": "age", "sex": "sex",
    "date": "date"}``; only ``lsoa`` is required). ``sheet`` picks an Excel sheet
    by name or position (default: the first).

    Returns an :class:`Extract`:

    * ``by_code``: one row per distinct LSOA value as given (trimmed, upper
      case) and, when mapped, Census ethnic category; columns ``code``
      (None for blanks), ``ethnic_group`` (one of :data:`eia.ethnicity.CATEGORIES`),
      ``count`` (float: the count column's sum, or rows) and ``records`` (rows);
    * ``by_code_age_sex``: the same by ``age_band`` ("0-4" … "85+", "Not
      known") and/or ``sex`` (Male, Female, Indeterminate, Other, Not known),
      when either is mapped, else None;
    * ``info``: ``source`` (file name), ``format``, ``encoding``,
      ``records_read``, ``count_read``, ``date_first``, ``date_last``,
      ``dates_missing``, ``ethnicity_unrecognised`` (up to 10 distinct values)
      and ``columns``.

    Raises :class:`ServiceDataError` for a missing, unreadable or empty file, a
    mapped column the file lacks (listing the columns found), counts that are
    not numbers or are negative, and dates that do not parse (naming the rows,
    numbered from 1 after the header).
    """
    path = Path(path)
    columns = check_columns(columns)
    _open(path)
    fmt = _detect_format(path)
    roles = tuple(r for r in ROLES if r in columns)
    encoding = None

    def run(batches: Iterable[pa.Table]) -> _Aggregator:
        agg = _Aggregator(roles)
        for table in batches:
            agg.add(table)
        return agg

    try:
        if fmt == "csv":
            encoding = "utf-8"
            try:
                agg = run(_csv_batches(path, columns, "utf8"))
            except pa.ArrowInvalid as exc:
                if "UTF8" not in str(exc) and "utf-8" not in str(exc).lower():
                    raise
                encoding = "cp1252"
                warnings.warn(
                    f"{path.name} is not valid UTF-8; read it as Windows-1252 (cp1252). "
                    "Check accented names and symbols, or save the file as UTF-8.",
                    ServiceDataWarning,
                    stacklevel=2,
                )
                agg = run(_csv_batches(path, columns, "cp1252"))
        elif fmt == "parquet":
            agg = run(_parquet_batches(path, columns))
        else:
            agg = run(_xlsx_batches(path, columns, sheet))
    except ServiceDataError:
        raise
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeError) as exc:
        kind = {"csv": "CSV", "parquet": "Parquet", "xlsx": "an Excel workbook"}[fmt]
        raise ServiceDataError(f"{path} cannot be read as {kind}: {_reason(exc)}") from exc

    if agg.rows == 0:
        raise ServiceDataError(f"service data file {path} has no records (only a header)")
    problems = []
    if agg.n_bad_counts:
        problems.append(
            f"the count column ({columns['count']!r}) has {agg.n_bad_counts} value(s) that "
            f"are blank or not numbers, in rows {_row_list(agg.bad_counts, agg.n_bad_counts)}"
        )
    if agg.n_negative:
        problems.append(
            f"the count column ({columns['count']!r}) has {agg.n_negative} negative value(s), "
            f"in rows {_row_list(agg.negative_counts, agg.n_negative)}"
        )
    if agg.n_bad_dates:
        problems.append(
            f"the date column ({columns['date']!r}) has {agg.n_bad_dates} value(s) that are "
            f"not dates (use YYYY-MM-DD or DD/MM/YYYY), in rows "
            f"{_row_list(agg.bad_dates, agg.n_bad_dates)}"
        )
    if problems:
        raise ServiceDataError(
            f"{path}: " + "; ".join(problems) + " (rows are numbered from 1 after the header)"
        )

    by_code = _finish(agg.result("main"))
    by_age_sex = _finish(agg.result("age_sex")) if "age_sex" in agg.views() else None
    info = {
        "source": path.name,
        "format": fmt,
        "encoding": encoding,
        "records_read": int(agg.rows),
        "count_read": float(by_code["count"].sum()),
        "date_first": _iso(agg.date_min),
        "date_last": _iso(agg.date_max),
        "dates_missing": int(agg.dates_missing) if "date" in roles else None,
        "ethnicity_unrecognised": redact.code_examples(
            agg.unrecognised, limit=_MAX_EXAMPLES, what="ethnic category codes"
        ),
        "columns": dict(columns),
    }
    return Extract(by_code, by_age_sex, info)


def _reason(exc: Exception) -> str:
    """Why a parser failed, without the line of data its message may quote."""
    text = str(exc)
    found = re.search(r"Expected \d+ columns?, got \d+", text)
    if found:
        return found.group(0).lower() + " in a row (check the delimiter and quoting)"
    if "UTF8" in text or "utf-8" in text.lower() or isinstance(exc, UnicodeError):
        return "the text encoding is not UTF-8 or Windows-1252"
    return f"the file does not parse ({type(exc).__name__})"


def _finish(table: pa.Table) -> pd.DataFrame:
    """An aggregate as a tidy pandas frame: labels for age bands and sex, sorted."""
    frame = table.to_pandas()
    frame = frame.rename(columns={"count_sum_sum": "count", "count_count_sum": "records"})
    out = pd.DataFrame({"code": frame["code"].astype(object).where(frame["code"].notna(), None)})
    if "ethnic_group" in frame:
        out["ethnic_group"] = frame["ethnic_group"].astype(object).to_numpy()
    if "age5" in frame:
        out["age_band"] = [_age_label(v) for v in frame["age5"].astype(object)]
    if "sex" in frame:
        out["sex"] = [_sex_label(v) for v in frame["sex"].astype(object)]
    out["count"] = frame["count"].astype("float64").to_numpy()
    out["records"] = frame["records"].astype("int64").to_numpy()
    keys = [c for c in out.columns if c not in ("count", "records")]
    if len(keys) > 1 or "sex" in out:  # labels may merge groups (e.g. "F" and "FEMALE")
        out = out.groupby(keys, dropna=False, sort=False, as_index=False)[
            ["count", "records"]
        ].sum()
    out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    out["code"] = out["code"].astype(object).where(out["code"].notna(), None)
    return out


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.date().isoformat() if hasattr(value, "date") else str(value)


# ---------------------------------------------------------------------------
# Joining to LSOA 2021
# ---------------------------------------------------------------------------

_RESOLVERS: dict[str, dict] = {}


def _name_key(name: str) -> str:
    return " ".join(str(name).upper().split())


def _reference(pack) -> dict:
    """Code sets, name indexes and 2011→2021 weights from a pack (cached per pack folder)."""
    key = str(getattr(pack, "folder", id(pack)))
    if key in _RESOLVERS and getattr(pack, "folder", None) is not None:
        return _RESOLVERS[key]
    lookup21 = pack.lookup()[["lsoa21_code", "lsoa21_name"]]
    l11 = pack.lsoa11_lookup()[
        ["lsoa11_code", "lsoa11_name", "change_code", "lsoa21_code", "lsoa21_name"]
    ].copy()
    population = pack.population()
    codes21 = set(lookup21["lsoa21_code"].tolist()) | set(l11["lsoa21_code"].tolist())
    # Set look-ups, not Series.isin: pandas' isin with 35,000 strings takes 0.1 s a call.
    is21 = np.fromiter((c in codes21 for c in l11["lsoa11_code"].tolist()), bool, len(l11))
    keep = ~is21 | (l11["change_code"] != "U").to_numpy(dtype=bool)
    l11 = l11[keep]
    changed = l11[~is21[keep]].copy()
    changed["pop"] = changed["lsoa21_code"].map(population).astype("float64").fillna(0.0).to_numpy()
    rows = []
    for code11, parts in changed.groupby("lsoa11_code", sort=False):
        change = parts["change_code"].iloc[0]
        if len(parts) == 1:
            rows.append((code11, parts["lsoa21_code"].iloc[0], 1.0, change))
        elif change == "X":
            rows.append((code11, _best_fit(parts), 1.0, change))
        else:
            total = parts["pop"].sum()
            weights = (
                parts["pop"] / total if total > 0 else pd.Series(1.0 / len(parts), parts.index)
            )
            for target, weight in zip(parts["lsoa21_code"], weights, strict=True):
                rows.append((code11, target, float(weight), change))
    weights = pd.DataFrame(rows, columns=["code", "lsoa21_code", "weight", "change_code"])
    by_code: dict[str, list[tuple]] = {}  # 2011 code -> its (2021 code, weight, change) rows
    for code11, target, weight, change in weights.itertuples(index=False):
        by_code.setdefault(code11, []).append((target, weight, change))
    names21 = dict(  # .tolist(): iterating a pandas string column directly is slow
        zip(
            map(_name_key, lookup21["lsoa21_name"].tolist()),
            lookup21["lsoa21_code"].tolist(),
            strict=True,
        )
    )
    names11 = {}
    all11 = pack.lsoa11_lookup()[["lsoa11_name", "lsoa11_code"]].drop_duplicates("lsoa11_code")
    for name, code in zip(
        all11["lsoa11_name"].tolist(), all11["lsoa11_code"].tolist(), strict=True
    ):
        names11.setdefault(_name_key(name), code)
    ref = {
        "codes21": codes21,
        "codes11": set(weights["code"]),
        "weights": weights,
        "by_code": by_code,
        "names21": names21,
        "names11": names11,
    }
    if getattr(pack, "folder", None) is not None:
        _RESOLVERS[key] = ref
    return ref


def _best_fit(parts: pd.DataFrame) -> str:
    """An irregular (X) 2011 area's best-fitting 2021 area.

    The lookup gives no best-fit flag, so take the 2021 area in the same local
    authority as the 2011 area (their names start with the authority's name),
    else the most populous.
    """
    district = str(parts["lsoa11_name"].iloc[0]).rsplit(" ", 1)[0]
    same = parts[parts["lsoa21_name"].astype(str).str.rsplit(" ", n=1).str[0] == district]
    pool = same if len(same) else parts
    return str(
        pool.sort_values(["pop", "lsoa21_code"], ascending=[False, True])["lsoa21_code"].iloc[0]
    )


def resolve_codes(codes: Iterable, pack) -> pd.DataFrame:
    """How each distinct LSOA value maps to LSOA 2021: one row per (value, 2021 code).

    Columns: ``code`` (as given), ``lsoa21_code`` (None if unmatched),
    ``weight`` (the share of the value's count going to that 2021 area: 1, or a
    population share for a split 2011 area), and ``route``, one of
    ``lsoa21``, ``lsoa11_merged``, ``lsoa11_split``, ``lsoa11_irregular``
    (each prefixed ``name:`` when the value was an LSOA name), ``blank``,
    ``malformed`` or ``unknown_code`` (looks like an LSOA code but is in neither
    vintage).
    """
    ref = _reference(pack)
    by_code = ref["by_code"]
    routes = {"M": "lsoa11_merged", "S": "lsoa11_split", "X": "lsoa11_irregular", "U": "lsoa11"}
    rows = []
    for given in dict.fromkeys(codes):
        if (
            given is None
            or (isinstance(given, float) and math.isnan(given))
            or not str(given).strip()
        ):
            rows.append((given, None, 1.0, "blank"))
            continue
        text = str(given).strip().upper()
        prefix = ""
        if not LSOA_CODE.match(text):
            key = _name_key(text)
            if key in ref["names21"]:
                text, prefix = ref["names21"][key], "name:"
            elif key in ref["names11"]:
                text, prefix = ref["names11"][key], "name:"
            else:
                rows.append((given, None, 1.0, "malformed"))
                continue
        if text in ref["codes21"]:
            rows.append((given, text, 1.0, prefix + "lsoa21"))
        elif text in by_code:
            for target, weight, change in by_code[text]:
                rows.append((given, target, float(weight), prefix + routes[change]))
        else:
            rows.append((given, None, 1.0, "unknown_code"))
    return pd.DataFrame(rows, columns=["code", "lsoa21_code", "weight", "route"])


def to_lsoa21(frame: pd.DataFrame, pack, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Convert any aggregate with a ``code`` column and a ``count`` column to LSOA 2021.

    Returns ``lsoa21_code``, the frame's other key columns and ``count``
    (apportioned where a 2011 area split), summed; only LSOAs in ``area_codes``
    when given. Unmatched values are left out: :func:`join_to_lsoa21` reports them.
    """
    keys = [c for c in frame.columns if c not in ("code", "count", "records")]
    resolved = resolve_codes(frame["code"].tolist(), pack)
    merged = frame.merge(resolved, on="code", how="left")
    merged = merged[merged["lsoa21_code"].notna()]
    if area_codes is not None:
        merged = merged[merged["lsoa21_code"].isin(set(area_codes))]
    merged = merged.assign(count=merged["count"] * merged["weight"])
    return merged.groupby(["lsoa21_code", *keys], sort=True, as_index=False)["count"].sum()


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
    """
    if isinstance(extract, Extract):
        agg, read = extract.by_code, dict(extract.info)
    else:
        agg, read = extract, dict(extract.attrs.get("read", {}))
    area = set(area_codes)
    dims = [d for d in DIMENSIONS if d in agg.columns]
    resolved = resolve_codes(agg["code"].tolist(), pack)
    merged = agg.merge(resolved, on="code", how="left")
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
            f"{len(names)} LSOA value(s) are names, not codes (e.g. {examples}); "
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

    joined = (
        merged[in_area].groupby(["lsoa21_code", *dims], sort=True, as_index=False)["count"].sum()
    )
    count_in_area = float(joined["count"].sum())
    quality = {
        "records_read": read.get(
            "records_read", int(agg["records"].sum()) if "records" in agg else None
        ),
        "count_read": float(agg["count"].sum()),
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
    if "ethnic_group" in dims and count_in_area > 0:
        share = joined.groupby("ethnic_group")["count"].sum() / count_in_area
        quality["ethnicity_not_stated_share"] = float(share.get(eth.NOT_STATED, 0.0))
        quality["ethnicity_not_known_share"] = float(share.get(eth.NOT_KNOWN, 0.0))
    for key in (
        "source",
        "format",
        "encoding",
        "date_first",
        "date_last",
        "dates_missing",
        "ethnicity_unrecognised",
    ):
        if key in read:
            quality[key] = read[key]
    return joined, quality


# ---------------------------------------------------------------------------
# The whole step
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class ServiceData:
    """A service extract aggregated to LSOA 2021 within the assessment area.

    * ``by_lsoa``: ``lsoa21_code, count`` for every LSOA in the area, in the
      area's order (zeros included);
    * ``by_lsoa_ethnicity``: ``lsoa21_code, ethnic_group, count`` (ethnic_group
      one of :data:`eia.ethnicity.CATEGORIES`, so including "Not stated" and
      "Not known"); None without an ethnicity column;
    * ``by_lsoa_age_sex``: ``lsoa21_code``, ``age_band`` and/or ``sex``,
      ``count``; None unless age or sex is mapped;
    * ``quality``: see :func:`join_to_lsoa21` (plus ``synthetic``).

    These frames hold small, unsuppressed counts: publish them only through
    :mod:`eia.uptake` and :mod:`eia.disclosure`. The repr shows totals only, so
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

    def __repr__(self) -> str:
        q = self.quality
        return (
            f"ServiceData({self.label!r}{' (synthetic)' if self.synthetic else ''}: "
            f"{q.get('records_read') or 0:,} records read from {self.source}, "
            f"{q.get('count_in_area', 0):,.1f} in the area's {len(self.by_lsoa)} LSOAs)"
        )


def load_service(
    spec: Mapping, pack, area_codes: Sequence[str], base_dir: str | Path = "."
) -> ServiceData:
    """Read, aggregate and join a params ``service`` block: the one call a notebook makes.

    ``spec`` is the block as a plain mapping: ``path`` (relative to ``base_dir``,
    the params file's folder), ``columns`` (role → column; ``lsoa`` required),
    optional ``label``, ``synthetic`` (bool) and ``sheet`` (Excel sheet name);
    other keys are ignored.
    """
    if not isinstance(spec, Mapping) or not spec.get("path"):
        raise ServiceDataError("service.path is required: name the extract file")
    path = Path(str(spec["path"])).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    columns = check_columns(spec.get("columns") or {})
    extract = read_service(path, columns, sheet=spec.get("sheet"))
    joined, quality = join_to_lsoa21(extract, pack, area_codes)
    codes = list(dict.fromkeys(area_codes))
    by_lsoa = (
        joined.groupby("lsoa21_code")["count"]
        .sum()
        .reindex(codes, fill_value=0.0)
        .rename_axis("lsoa21_code")
        .reset_index()
    )
    by_eth = joined if "ethnic_group" in joined.columns else None
    by_age_sex = None
    if extract.by_code_age_sex is not None:
        by_age_sex = to_lsoa21(extract.by_code_age_sex, pack, codes)
    synthetic = bool(spec.get("synthetic", False))
    quality["synthetic"] = synthetic
    return ServiceData(
        label=str(spec.get("label") or path.stem),
        synthetic=synthetic,
        source=path.name,
        by_lsoa=by_lsoa,
        by_lsoa_ethnicity=by_eth,
        by_lsoa_age_sex=by_age_sex,
        quality=quality,
        columns=dict(columns),
    )
