"""Open service data where it lives, as an Ibis table on the engine that holds it.

* a file (CSV, XLSX or Parquet): DuckDB, embedded (:func:`open_file`), or Spark;
* a database table or query: the database named by an environment variable
  holding its URL (``connection``); the URL and its password never reach a
  message, a log or an output (:func:`open_source`);
* a Spark table or query: a local Spark session, or Spark Connect.

:mod:`eia.service.aggregate` aggregates the table where it is; nothing here reads records
into Python (an XLSX sheet, at most a million rows, is the exception).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from eia import redact
from eia.errors import ServiceDataError
from eia.service import sql as sql_guard

#: Engines: DuckDB embedded (files), a SQL database (``table``/``query``), Spark.
ENGINES = ("duckdb", "database", "spark")


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

    con = ibis.duckdb.connect()
    with contextlib.suppress(Exception):  # in Jupyter without ipywidgets DuckDB refuses it
        con.raw_sql("SET enable_progress_bar = false")  # no bar on stdout
    return con


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
    con = spark_backend(None) if engine == "spark" else _duckdb()
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
        raise ServiceDataError(f"{path} cannot be read as {kind}: {parse_reason(exc)}") from exc
    return src


def parse_reason(exc: BaseException) -> str:
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


def safe_message(exc: BaseException, secrets: Iterable[str] = ()) -> str:
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
    return redact.scrub(text, secrets)[:300]  # any URL, mistyped schemes too


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


def spark_backend(remote: str | None):
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
            .config("spark.ui.showConsoleProgress", "false")
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
            con = spark_backend(remote)
        except ServiceDataError:
            raise
        except Exception as exc:
            raise ServiceDataError(
                f"cannot start Spark{' at ' + spec['connection'] if remote else ''}: "
                f"{safe_message(exc, secrets)}"
            ) from None  # the engine's error may hold the URL
    else:
        if not spec.get("connection"):
            raise ServiceDataError(
                "service.connection is required with table or query: name the environment "
                "variable that holds the database URL (e.g. EIA_SERVICE_DB)"
            )
        url, secrets = _url_from_env(spec["connection"], "database URL")
        try:
            con = sql_guard.connect_read_only(url)
        except Exception as exc:
            raise ServiceDataError(
                f"cannot connect to the database named by {spec['connection']}: "
                f"{safe_message(exc, secrets)}"
            ) from None  # the engine's error may hold the URL
    backend = con.name
    if spec.get("table"):
        name = str(spec["table"])
        *schema, table_name = name.split(".")
        try:
            table = con.table(table_name, database=".".join(schema) or None)
        except Exception as exc:
            raise ServiceDataError(
                f"service.table {name!r} cannot be read on {backend}: {safe_message(exc, secrets)}"
            ) from None  # the engine's error may hold the URL
        src = Source(table, backend, f"table {name}", ordered=False)
        src.describe = {"source": name, "format": "table", "encoding": None, "table": name}
    else:
        query = str(spec["query"])
        digest = hashlib.sha256(query.encode("utf-8")).hexdigest()
        checked = sql_guard.check_query(query, backend)  # refused before it reaches the engine
        try:
            table = con.sql(checked, schema=sql_guard.query_schema(con, checked))
        except Exception as exc:
            raise ServiceDataError(
                f"service.query (sha256 {digest[:12]}) fails on {backend}: "
                f"{safe_message(exc, secrets)}"
            ) from None  # the engine's error may hold the URL
        src = Source(table, backend, f"query sha256:{digest[:12]}", ordered=False)
        src.describe = {
            "source": f"query sha256:{digest[:12]}",
            "format": "query",
            "encoding": None,
            "query_sha256": digest,
        }
    src.describe["secrets"] = secrets  # for scrubbing messages; never published
    return src
