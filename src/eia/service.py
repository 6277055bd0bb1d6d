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
codes, on the aggregate (so no lookup table has to be written into the
database). A 2021 code joins directly (codes of LSOAs that did not change in
2021 are the same in both vintages). A 2011 code converts with the pack's LSOA
2011→2021 lookup: a merged area (M) maps to its one 2021 area; a split area (S)
is apportioned across its 2021 parts by their Census 2021 population; an
irregular one (X) goes to its best-fitting 2021 area (the one in the same local
authority, else the most populous), so totals are preserved. LSOA names
("Nottingham 001A") are matched to codes, with a warning. Welsh codes, codes
outside the assessment area, unknown or malformed codes and blanks are counted
in the data-quality summary, never dropped silently. :func:`load_service` does
it all and returns a :class:`ServiceData`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from eia import ethnicity as eth
from eia import redact
from eia.errors import ServiceDataError

#: The roles a ``columns`` mapping may name; only ``lsoa`` is required.
ROLES = ("lsoa", "count", "ethnicity", "age", "sex", "date", "person", "site")
#: Dimensions kept in the aggregate, in this order, when their column is mapped.
DIMENSIONS = ("ethnic_group", "age_band", "sex")
#: Engines: DuckDB embedded (files), a SQL database (``table``/``query``), Spark.
ENGINES = ("duckdb", "database", "spark")

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
        shown = ", ".join(redact.name(f) for f in found[:40])
        more = f" (and {len(found) - 40} more)" if len(found) > 40 else ""
        raise ServiceDataError(
            f"{source}: mapped column(s) not found: {'; '.join(missing)}. "
            f"Columns found: {shown}{more}"
        )
    return actual


# ---------------------------------------------------------------------------
# Sources: a file (DuckDB or Spark), a database table or query, a Spark table
# ---------------------------------------------------------------------------


@dataclass
class Source:
    """An opened source: an Ibis table on its engine, and what provenance may say of it.

    ``describe`` never holds a credential: a table's name, or a hash of the query.
    """

    table: Any  # ibis.Table
    engine: str  # duckdb, postgres, pyspark, ... (the Ibis backend's name)
    name: str  # what messages call it: a file name, "table x.y", "query sha256:..."
    ordered: bool  # rows have an order (a file), so rows can be named by number
    describe: dict = field(default_factory=dict)
    cleanup: list = field(default_factory=list)

    def close(self) -> None:
        for step in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                step()
        self.cleanup.clear()


def _csv_header(path: Path, encoding: str) -> tuple[str, list[str]]:
    """A CSV's delimiter (comma unless the header has none) and column names."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError as exc:  # cut mid-character, or not that encoding
        text = head[: exc.start].decode(encoding) if exc.start > len(head) - 4 else None
        if text is None:
            text = head.decode("cp1252", errors="replace")
    lines = [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        raise ServiceDataError(f"service data file {path} is empty")
    counts = {d: lines[0].count(d) for d in (",", "\t", ";", "|")}
    best = "," if counts[","] else max(counts, key=counts.get)
    delimiter = best if counts[best] else ","
    names = next(csv.reader([lines[0]], delimiter=delimiter))
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # DuckDB needs unique names; a repeated one gets a suffix
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return delimiter, unique


def _encoding(path: Path) -> str:
    """``utf-8`` if the whole file decodes as UTF-8 (streamed), else ``cp1252``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _transcode(path: Path, encoding: str, folder: Path) -> Path:
    """Stream a file into UTF-8 in ``folder`` (DuckDB and Spark read UTF-8 without downloads)."""
    target = folder / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as out:
        while chunk := src.read(1 << 24):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))
    return target


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path, sheet) -> tuple[pa.Table, str]:
    """A workbook sheet as a table of text (openpyxl, streamed; a sheet holds ≤ 1M rows)."""
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
        cells: list[list] = [[] for _ in header]
        for row in rows:
            if row is None or all(v is None for v in row):
                continue
            for i in range(len(header)):
                cells[i].append(_cell_text(row[i]) if i < len(row) else None)
        names = [h or f"column{i + 1}" for i, h in enumerate(header)]
        table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cells, strict=True)})
        return table, ws.title
    finally:
        book.close()


def _duckdb():
    import ibis

    return ibis.duckdb.connect()


def open_file(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    engine: str = "duckdb",
    encoding: str | None = None,
) -> Source:
    """Open a CSV, Parquet or XLSX file as an Ibis table on DuckDB (default) or Spark.

    CSVs are read as text, so codes keep their leading zeros: UTF-8, with or
    without a byte-order mark, or ``encoding="cp1252"`` (Windows-1252, which
    is transcoded to a temporary UTF-8 copy; :func:`read_service` falls back
    to it, with a warning, when the mapped columns are not valid UTF-8).
    """
    import ibis

    path = Path(path)
    fmt = redact.check_source_file(path)  # refuses special and mislabelled files, unparsed
    con = _spark_backend(None) if engine == "spark" else _duckdb()
    backend = "pyspark" if engine == "spark" else "duckdb"
    src = Source(None, backend, path.name, ordered=True)
    src.describe = {"source": path.name, "format": fmt, "encoding": None}
    try:
        if fmt == "csv":
            if encoding is None:  # Spark reads bad bytes silently: check the whole file first
                encoding = _encoding(path) if backend == "pyspark" else "utf-8"
            src.describe["encoding"] = encoding
            target = path
            if encoding != "utf-8":
                folder = Path(tempfile.mkdtemp(prefix="eia-service-"))
                src.cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
                target = _transcode(path, encoding, folder)
            delimiter, names = _csv_header(target, "utf-8")
            if backend == "duckdb":
                # Explicit columns, no sniffing: only the mapped columns are ever decoded.
                src.table = con.read_csv(
                    target,
                    columns=dict.fromkeys(names, "VARCHAR"),
                    header=True,
                    auto_detect=False,
                    delim=delimiter,
                    quote='"',
                    escape='"',
                    null_padding=True,
                )
            else:
                src.table = con.read_csv(
                    str(target), header=True, sep=delimiter, inferSchema=False, encoding="UTF-8"
                )
        elif fmt == "parquet":
            src.table = con.read_parquet(path if backend == "duckdb" else str(path))
        else:
            table, title = _read_xlsx(path, sheet)
            src.name = f"{path.name} (sheet {redact.name(title)})"
            if backend == "duckdb":
                src.table = ibis.memtable(table)
            else:
                src.table = con.create_table("eia_xlsx", table.to_pandas(), overwrite=True)
    except ServiceDataError:
        src.close()
        raise
    except Exception as exc:
        src.close()
        kind = {"csv": "CSV", "parquet": "Parquet", "xlsx": "an Excel workbook"}[fmt]
        raise ServiceDataError(f"{path} cannot be read as {kind}: {_reason(exc)}") from exc
    return src


def _reason(exc: BaseException) -> str:
    """Why a file did not parse, without the line of data a parser's message may quote."""
    text = str(exc)
    found = re.search(r"Expected (\d+) columns?, got (\d+)", text) or re.search(
        r"Expected Number of Columns: (\d+) Found: (\d+)", text
    )
    if found:
        line = re.search(r"CSV Error on Line: (\d+)", text)
        where = f"line {line.group(1)}" if line else "a row"
        return (
            f"expected {found.group(1)} columns, got {found.group(2)} in {where} "
            "(check the delimiter and quoting)"
        )
    if "unicode" in text.lower() or "utf-8" in text.lower() or isinstance(exc, UnicodeError):
        return "the text encoding is not UTF-8 or Windows-1252"
    return f"the file does not parse ({type(exc).__name__})"


def _one_line(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """An exception as one line, without data, secrets or URL passwords.

    Engines quote the offending record ("Original Line: ...") and the SQL;
    those lines are dropped, so no record-level value reaches a message.
    """
    keep = [
        line.strip()
        for line in str(exc).splitlines()
        if line.strip()
        and not re.match(r"\s*(Original Line|LINE \d|\^|Possible Solution|file =|\w+ = )", line)
    ]
    text = " ".join(" ".join(keep[:2]).split()) or type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"(\w+://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    text = re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.IGNORECASE)
    return text[:300]


def _url_from_env(name: str, what: str) -> tuple[str, list[str]]:
    """The URL held by environment variable ``name``, and its secrets (to scrub from messages)."""
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
        raise ServiceDataError(
            f"service.connection must name an environment variable holding the {what} "
            "(e.g. EIA_SERVICE_DB), never the URL itself: credentials do not belong in params"
        )
    url = os.environ.get(str(name), "")
    if not url:
        raise ServiceDataError(
            f"service.connection: environment variable {name} is not set; set it to the {what}"
        )
    password = urlsplit(url).password if "://" in url else None
    return url, [url, password or ""]


def _spark_backend(remote: str | None):
    """An Ibis backend on a Spark session: local mode, or Spark Connect at ``remote``."""
    import ibis

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ServiceDataError(
            "engine: spark needs PySpark: pip install 'eia[spark]' (and Java 17)"
        ) from exc
    if remote:
        session = SparkSession.builder.remote(remote).getOrCreate()
    else:
        if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
            raise ServiceDataError(
                "engine: spark (local) needs Java 17: apt-get install openjdk-17-jre-headless"
            )
        session = (
            SparkSession.builder.master(os.environ.get("EIA_SPARK_MASTER", "local[2]"))
            .appName("eia")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", os.environ.get("EIA_SPARK_DRIVER_MEMORY", "2g"))
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


def open_source(spec: Mapping, base_dir: str | Path = ".") -> Source:
    """Open a params ``service`` block's data where it lives (see the module docstring)."""
    given = [k for k in ("path", "table", "query") if spec.get(k)]
    if len(given) != 1:
        raise ServiceDataError(
            "service needs exactly one of path (a file), table or query (a database or Spark)"
            + (f"; it has {', '.join(given)}" if given else "")
        )
    engine = spec.get("engine") or ("duckdb" if given[0] == "path" else "database")
    if engine not in ENGINES:
        raise ServiceDataError(
            f"service.engine must be one of {', '.join(ENGINES)}, not {engine!r}"
        )
    if given[0] == "path":
        if engine == "database":
            raise ServiceDataError("service.path is a file: use engine duckdb (default) or spark")
        path = Path(str(spec["path"])).expanduser()
        if not path.is_absolute():
            path = Path(base_dir) / path
        return open_file(
            path, sheet=spec.get("sheet"), engine=engine, encoding=spec.get("encoding")
        )
    if engine == "duckdb":
        raise ServiceDataError(
            "service.table and service.query need engine database (the default) or spark"
        )
    secrets: list[str] = []
    if engine == "spark":
        remote = None
        if spec.get("connection"):
            remote, secrets = _url_from_env(spec["connection"], "Spark Connect URL")
        try:
            con = _spark_backend(remote)
        except ServiceDataError:
            raise
        except Exception as exc:
            raise ServiceDataError(
                f"cannot start Spark{' at ' + spec['connection'] if remote else ''}: "
                f"{_one_line(exc, secrets)}"
            ) from exc
    else:
        import ibis

        if not spec.get("connection"):
            raise ServiceDataError(
                "service.connection is required with table or query: name the environment "
                "variable that holds the database URL (e.g. EIA_SERVICE_DB)"
            )
        url, secrets = _url_from_env(spec["connection"], "database URL")
        try:
            con = ibis.connect(url)
        except Exception as exc:
            raise ServiceDataError(
                f"cannot connect to the database named by {spec['connection']}: "
                f"{_one_line(exc, secrets)}"
            ) from exc
    backend = con.name
    if spec.get("table"):
        name = str(spec["table"])
        *schema, table_name = name.split(".")
        try:
            table = con.table(table_name, database=".".join(schema) or None)
        except Exception as exc:
            raise ServiceDataError(
                f"service.table {name!r} cannot be read on {backend}: {_one_line(exc, secrets)}"
            ) from exc
        src = Source(table, backend, f"table {name}", ordered=False)
        src.describe = {"source": name, "format": "table", "encoding": None, "table": name}
    else:
        query = str(spec["query"])
        digest = hashlib.sha256(query.encode("utf-8")).hexdigest()
        try:
            table = con.sql(query)
        except Exception as exc:
            raise ServiceDataError(
                f"service.query (sha256 {digest[:12]}) fails on {backend}: "
                f"{_one_line(exc, secrets)}"
            ) from exc
        src = Source(table, backend, f"query sha256:{digest[:12]}", ordered=False)
        src.describe = {
            "source": f"query sha256:{digest[:12]}",
            "format": "query",
            "encoding": None,
            "query_sha256": digest,
        }
    src.describe["secrets"] = secrets  # for scrubbing messages; never published
    return src


# ---------------------------------------------------------------------------
# The aggregation: one Ibis expression, run by whichever engine holds the data
# ---------------------------------------------------------------------------


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
    return text.strip().nullif("")


def _numbers(col):
    """(value as float64, bad: blank or not a finite number, negative)."""
    import ibis

    typ = col.type()
    if typ.is_string():
        text = col.strip()
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


def _age_band(col):
    """Start of the 5-year age band (85 for 85+), null when not an age in 0–129."""
    import ibis

    typ = col.type()
    if typ.is_string():
        text = col.strip()
        ok = text.re_search(r"^\d+(\.\d*)?$").fill_null(False)
        value = ibis.cases((ok, text.cast("float64")), else_=ibis.null("float64"))
    else:
        value = col.cast("float64")
    valid = ((value >= 0) & (value < 130)).fill_null(False)
    band = ((value / AGE_BAND_WIDTH).floor() * AGE_BAND_WIDTH).cast("int64")
    band = ibis.cases((band > AGE_BAND_TOP, AGE_BAND_TOP), else_=band)
    return ibis.cases((valid, band), else_=ibis.null("int64"))


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
    bad_dates: list = field(default_factory=list)


def _rows(t, plan: _Plan):
    """The one row expression: normalised columns every engine computes the same way."""
    import ibis

    actual = plan.actual
    fields: dict[str, Any] = {"code": _as_text(t[actual["lsoa"]]).upper()}
    if "count" in actual:
        fields["n"], fields["bad_count"], fields["negative"] = _numbers(t[actual["count"]])
    else:
        fields["n"] = ibis.literal(1.0)
    if "ethnicity" in actual:
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
    if "sex" in actual:
        sex = _as_text(t[actual["sex"]]).upper()
        fields["sex"] = ibis.cases(
            (sex.isnull(), NOT_KNOWN), else_=sex.substitute(_SEX, else_="Other")
        )
    if "site" in actual:
        fields["site"] = _as_text(t[actual["site"]])
    if "person" in actual:
        fields["person"] = t[actual["person"]]
    if "date" in actual:
        column = t[actual["date"]]
        if plan.dates is None:
            fields["date"] = column.cast("date")
            fields["date_given"] = column.notnull()
        else:
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
            distinct = run(t.select(v=_as_text(t[actual["date"]])).distinct())["v"].tolist()
            values = pa.array(sorted(str(v) for v in distinct if pd.notna(v)), pa.string())
            parsed = _parse_dates(values).cast(pa.date32())
            plan.bad_dates = pc.filter(values, pc.is_null(parsed)).to_pylist()
            frame = pa.table({"eia_date_text": values, "eia_date": parsed}).to_pandas()
            plan.dates = ibis.memtable(frame)
    return plan


def _label_ages(frame: pd.DataFrame) -> pd.DataFrame:
    if "age5" in frame:
        labels = [_age_label(v) for v in frame["age5"].astype(object)]
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


def _row_list(examples: list[tuple[int, object]], n: int) -> str:
    """Row numbers, each with its value's shape only (:func:`eia.redact.mask`)."""
    shown = ", ".join(
        str(row) if value is None else f"{row} ({redact.mask(value)})" for row, value in examples
    )
    more = f" and {n - len(examples)} more" if n > len(examples) else ""
    return f"{shown}{more}"


def aggregate(
    source: Source, columns: Mapping[str, str], *, period: Mapping | None = None
) -> Extract:
    """Aggregate a source where it lives; only aggregates come back.

    ``columns`` maps roles to column names (``lsoa`` required; ``count``,
    ``ethnicity``, ``age``, ``sex``, ``date``, ``person``, ``site`` optional).
    ``period`` (``{start, end}``, inclusive dates) keeps events dated within it.

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
      ``period_start``, ``period_end``, ``records_outside_period``,
      ``records_without_person``, ``ethnicity_unrecognised``, ``columns``.

    ``count`` is the sum of the count column (or rows), or with ``person`` the
    number of distinct people in the cell (a person in two cells counts in both).

    Raises :class:`ServiceDataError` for a mapped column the source lacks
    (listing the columns found), no records, counts that are blank, not numbers
    or negative, and dates that do not parse (naming rows, numbered from 1
    after the header, when the source is a file).
    """
    import ibis

    columns = check_columns(columns)
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
                raise ServiceDataError(f"{source.name} cannot be read: {_reason(exc)}") from exc
            raise ServiceDataError(
                f"{source.name} cannot be aggregated on {source.engine}: {_one_line(exc, secrets)}"
            ) from exc

    t = source.table
    actual = _match_columns(list(t.columns), columns, source.name)
    plan = _plan(t, actual, run)
    base = _rows(_with_dates(t, plan), plan)

    # Validation and totals: one row.
    checks: dict[str, Any] = {"records": base.count()}
    if "count" in actual:
        checks["bad_count"] = base.bad_count.cast("int64").sum()
        checks["negative"] = base.negative.cast("int64").sum()
    in_period = None
    if "date" in actual:
        checks["dates_missing"] = (~base.date_given).cast("int64").sum()
        checks["bad_dates"] = (base.date_given & base.date.isnull()).cast("int64").sum()
        checks["date_min"] = base.date.min()
        checks["date_max"] = base.date.max()
        if start or end:
            in_period = ibis.literal(True)
            if start:
                in_period = in_period & (base.date >= ibis.literal(start))
            if end:
                in_period = in_period & (base.date <= ibis.literal(end))
            in_period = in_period.fill_null(False)
            checks["outside_period"] = (~in_period).cast("int64").sum()
    if "person" in actual:
        checks["without_person"] = base.person.isnull().cast("int64").sum()
    totals = run(base.aggregate(**checks)).iloc[0]
    records = int(totals["records"] or 0)
    if records == 0:
        raise ServiceDataError(
            f"{source.name} has no records"
            + (" (only a header)" if source.ordered else " (the table or query returned no rows)")
        )
    _raise_for_bad_values(source, plan, totals, columns)

    kept = base if in_period is None else base.filter(in_period)
    person = "person" in actual

    def view(keys: list[str]) -> pd.DataFrame:
        measure = kept.person.nunique() if person else kept.n.sum()
        return _tidy(run(kept.group_by(keys).aggregate(count=measure, records=kept.count())), keys)

    has_eth = "ethnicity" in actual
    main_keys = ["code"] + (["ethnic_group"] if has_eth else [])
    if has_eth and not person:
        fine = view(["code", "ethnic_group", "ethnic_code"])
        by_code = _sum(fine, main_keys)
        by_code_eth = _sum(fine, ["code", "ethnic_code"])
    else:
        by_code = view(main_keys)
        by_code_eth = view(["code", "ethnic_code"]) if has_eth else None
    demog = [k for r, k in (("age", "age5"), ("sex", "sex")) if r in actual]
    by_age_sex = view(["code", *demog]) if demog else None
    by_site = (
        view(["site", "code"] + (["ethnic_group"] if has_eth else []))
        if ("site" in actual)
        else None
    )
    by_total = view(["code"]) if person else None

    def iso(value) -> str | None:
        if value is None or pd.isna(value):
            return None
        return pd.Timestamp(value).date().isoformat()

    info = {
        "engine": source.engine,
        **{k: v for k, v in source.describe.items() if k != "secrets"},
        "records_read": records,
        "count_read": float((by_total if person else by_code)["count"].sum()),
        "counting": "people" if person else "events",
        "date_first": iso(totals.get("date_min")) if "date" in actual else None,
        "date_last": iso(totals.get("date_max")) if "date" in actual else None,
        "dates_missing": int(totals["dates_missing"]) if "date" in actual else None,
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
        "records_outside_period": int(totals["outside_period"]) if in_period is not None else 0,
        "records_without_person": int(totals["without_person"]) if person else None,
        "ethnicity_unrecognised": redact.code_examples(
            plan.unrecognised, limit=_MAX_EXAMPLES, what="ethnic category codes"
        ),
        "columns": dict(columns),
    }
    return Extract(by_code, by_age_sex, info, by_code_eth, by_site, by_total)


def _sum(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
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
) -> Extract:
    """Aggregate a file (CSV, Parquet or XLSX) on DuckDB (or Spark); see :func:`aggregate`."""
    return _aggregate_spec(
        {"path": str(path), "sheet": sheet, "engine": engine, "period": period}, ".", columns
    )


def _aggregate_spec(spec: Mapping, base_dir, columns: Mapping[str, str]) -> Extract:
    """Open, aggregate, close; a CSV whose mapped columns are not UTF-8 is read as cp1252."""
    columns = check_columns(columns)
    source = open_source(spec, base_dir)
    try:
        return aggregate(source, columns, period=spec.get("period"))
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
        return aggregate(source, columns, period=spec.get("period"))
    finally:
        source.close()


def _not_utf8(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__}".lower()
    return "unicode" in text or "utf-8" in text or "utf8" in text


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
    out = merged.groupby(["lsoa21_code", *keys], sort=True, dropna=False, as_index=False)
    return out["count"].sum()


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
        # With distinct people, totals come from people per LSOA value, not per cell.
        totals = extract.by_code_total if extract.by_code_total is not None else agg
    else:
        agg, read = extract, dict(extract.attrs.get("read", {}))
        totals = agg
    area = set(area_codes)
    dims = [d for d in DIMENSIONS if d in agg.columns]
    resolved = resolve_codes(agg["code"].tolist(), pack)
    cells = agg.merge(resolved, on="code", how="left")
    cells["count"] = cells["count"] * cells["weight"]
    merged = totals.merge(resolved, on="code", how="left")
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
        "count_read": float(totals["count"].sum()),
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
        "records_without_person",
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
    """Service data aggregated to LSOA 2021 within the assessment area.

    * ``by_lsoa``: ``lsoa21_code, count`` for every LSOA in the area, in the
      area's order (zeros included);
    * ``by_lsoa_ethnicity``: ``lsoa21_code, ethnic_group, count`` (ethnic_group
      one of :data:`eia.ethnicity.CATEGORIES`, so including "Not stated" and
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
    spec: Mapping, pack, area_codes: Sequence[str], base_dir: str | Path = "."
) -> ServiceData:
    """Aggregate a params ``service`` block where its data lives, and join it to LSOA 2021.

    The one call a notebook makes. ``spec`` is the block as a plain mapping:
    one of ``path`` (a file, relative to ``base_dir``, the params file's
    folder), ``table`` or ``query`` (with ``connection``, the name of an
    environment variable holding the database URL); ``engine`` (``duckdb``,
    ``database`` or ``spark``; by default DuckDB for a file, else the
    database); ``columns`` (role → column; ``lsoa`` required); optional
    ``period``, ``label``, ``synthetic`` and ``sheet``. Other keys are ignored.
    """
    if not isinstance(spec, Mapping) or not any(spec.get(k) for k in ("path", "table", "query")):
        raise ServiceDataError(
            "service.path is required: name the extract file (or a table or query)"
        )
    extract = _aggregate_spec(spec, base_dir, spec.get("columns") or {})
    columns = extract.info["columns"]
    joined, quality = join_to_lsoa21(extract, pack, area_codes)
    codes = list(dict.fromkeys(area_codes))
    totals = joined
    if extract.by_code_total is not None:
        totals = to_lsoa21(extract.by_code_total, pack, codes)
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
    if by_site is not None:
        by_site = by_site[["site", *[c for c in by_site.columns if c != "site"]]]
    synthetic = bool(spec.get("synthetic", False))
    quality["synthetic"] = synthetic
    name = extract.info.get("source", "")
    return ServiceData(
        label=str(spec.get("label") or (Path(name).stem if spec.get("path") else name)),
        synthetic=synthetic,
        source=name,
        by_lsoa=by_lsoa,
        by_lsoa_ethnicity=by_eth,
        by_lsoa_age_sex=convert(extract.by_code_age_sex),
        quality=quality,
        columns=dict(columns),
        by_lsoa_ethnic_code=convert(extract.by_code_ethnic_code),
        by_site=by_site,
    )
