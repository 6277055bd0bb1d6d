"""What SQL may reach a database: exactly one read-only ``SELECT``, checked before it is sent.

A params file's ``service.query`` is text a person wrote; ``eia`` runs it on a
database that may hold far more than the extract. :func:`check_query` parses it
with sqlglot in the engine's dialect and refuses, before anything reaches the
database:

* anything but exactly one statement (``SELECT 1; DROP TABLE x`` is two);
* a statement that is not a query (``INSERT``, ``COPY``, ``CREATE``, ``PRAGMA``,
  ``ATTACH``, ``SET`` ...), or a query that writes or locks anywhere inside it
  (``SELECT ... INTO``, a data-modifying ``WITH``, ``FOR UPDATE``);
* calls to functions that write, read files on the server or change the
  session (:data:`FORBIDDEN_FUNCTIONS`, e.g. ``pg_read_file``, ``set_config``,
  ``lo_import``, DuckDB's ``read_csv``).

The check is the first line of defence; the second is the engine:
:mod:`eia.service.sources` opens PostgreSQL sessions read-only
(``default_transaction_read_only``) and DuckDB database files with
``read_only=True`` and external access off. A database account that can only
``SELECT`` the tables it needs is still the right way to connect.
Messages never quote the query: they name what was found and the query's hash.
"""

from __future__ import annotations

import contextlib
import logging
import re

import sqlglot
from sqlglot import exp

from eia.errors import ServiceDataError

__all__ = [
    "DIALECTS",
    "FORBIDDEN_FUNCTIONS",
    "check_query",
    "connect_read_only",
    "dialect_of",
    "query_schema",
]

#: sqlglot's dialect for each Ibis backend name (others are parsed as generic SQL).
DIALECTS = {
    "postgres": "postgres",
    "duckdb": "duckdb",
    "pyspark": "spark",
    "spark": "spark",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "mssql": "tsql",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "trino": "trino",
    "oracle": "oracle",
}

#: Statement and clause types that write, change the session or the schema.
_WRITES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "AlterTable",
        "TruncateTable",
        "Copy",
        "Command",
        "Pragma",
        "Set",
        "SetItem",
        "Transaction",
        "Commit",
        "Rollback",
        "Attach",
        "Detach",
        "Use",
        "Grant",
        "Revoke",
        "Into",
        "Lock",
        "LoadData",
        "Install",
        "Export",
        "Analyze",
        "Refresh",
        "Cache",
        "Uncache",
    )
    if hasattr(exp, name)
)

#: Functions refused in a query (lower-case names; ``*`` ends a prefix): they write,
#: read the server's files, sleep, signal other sessions or change settings.
FORBIDDEN_FUNCTIONS = (
    "set_config",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_*",
    "pg_stat_file",
    "pg_file_write",
    "pg_sleep*",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_create_*",
    "pg_drop_*",
    "pg_replication_*",
    "pg_advisory_*",
    "pg_try_advisory_*",
    "pg_notify",
    "lo_*",
    "dblink*",
    "nextval",
    "setval",
    "query_to_xml*",
    "query_to_json*",
    "txid_current",
    "read_csv*",
    "read_json*",
    "read_parquet",
    "read_text",
    "read_blob",
    "read_ndjson*",
    "read_xlsx",
    "parquet_scan",
    "parquet_metadata",
    "parquet_schema",
    "csv_scan",
    "sniff_csv",
    "glob",
    "query",
    "query_table",
    "getenv",
    "current_setting",
    "load_extension",
    "sleep",
    "benchmark",
)

_STATEMENT = re.compile(r"[A-Za-z]+")
#: A table "name" that is a file path or URL (DuckDB reads ``FROM 'x.csv'`` as a file).
_FILE_LIKE = re.compile(r"[/\\:]|\.(csv|tsv|txt|parquet|json|ndjson|xlsx|gz|zst|db)$", re.I)


@contextlib.contextmanager
def _quiet_sqlglot():
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def dialect_of(backend: str) -> str | None:
    """sqlglot's dialect for an Ibis backend name (None: generic SQL)."""
    return DIALECTS.get(str(backend).lower())


def _forbidden(name: str) -> bool:
    name = name.lower()
    for rule in FORBIDDEN_FUNCTIONS:
        if rule.endswith("*") and name.startswith(rule[:-1]) or name == rule:
            return True
    return False


def _function_name(node: exp.Func) -> str:
    return str(node.this if isinstance(node, exp.Anonymous) else node.sql_name())


def check_query(query: str, backend: str, *, label: str = "service.query") -> str:
    """Refuse anything but one read-only ``SELECT``; return it as SQL for ``backend``.

    ``backend`` is the Ibis backend's name (``postgres``, ``duckdb``, ``pyspark``
    ...); the query is parsed in that dialect and returned re-generated by sqlglot
    (comments and a trailing ``;`` dropped). Raises
    :class:`~eia.errors.ServiceDataError`, one line naming ``label`` and what was
    found, never quoting the query.
    """
    dialect = dialect_of(backend)
    text = str(query or "")
    if not text.strip():
        raise ServiceDataError(f"{label} is empty: give one SELECT statement")
    try:
        with _quiet_sqlglot():  # its warnings quote the query
            statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        kind = type(exc).__name__
        raise ServiceDataError(
            f"{label} does not parse as one {dialect or 'SQL'} SELECT statement ({kind}); "
            "eia runs only a single read-only SELECT"
        ) from None
    if len(statements) != 1:
        raise ServiceDataError(
            f"{label} holds {len(statements)} statements: eia runs exactly one read-only "
            "SELECT (remove everything after the first ';')"
        )
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise ServiceDataError(
            f"{label} is not a SELECT (it is {_kind(statement)}): eia runs only a "
            "single read-only SELECT and never writes to a database"
        )
    for node in statement.walk():
        if isinstance(node, _WRITES):
            raise ServiceDataError(
                f"{label} contains {_kind(node)} inside the SELECT: eia runs only read-only "
                "queries (no INTO, data-modifying WITH, locking or commands)"
            )
        if isinstance(node, exp.Func) and _forbidden(_function_name(node)):
            raise ServiceDataError(
                f"{label} calls {_function_name(node).lower()}(), which eia does not run: it "
                "writes, reads the server's files or changes the session"
            )
        if isinstance(node, exp.Table) and _FILE_LIKE.search(node.name or ""):
            raise ServiceDataError(
                f"{label} reads a file by its path: name a table of the database instead"
            )
    return statement.sql(dialect=dialect)


def _kind(node: exp.Expression) -> str:
    """A statement's kind in capitals (``DROP``, ``COPY``, ``SELECT ... INTO``)."""
    if isinstance(node, exp.Into):
        return "SELECT ... INTO"
    if isinstance(node, exp.Lock):
        return "a locking clause (FOR UPDATE/SHARE)"
    if isinstance(node, exp.Command):
        found = _STATEMENT.match(str(node.this or ""))
        return found.group(0).upper() if found else "command"
    key = node.key.upper()
    return {"ALTERTABLE": "ALTER", "TRUNCATETABLE": "TRUNCATE", "LOADDATA": "LOAD DATA"}.get(
        key, key
    )


def connect_read_only(url: str):
    """An Ibis backend for a database URL, opened so that it cannot write where it can say so.

    ``duckdb:///path/file.db`` opens the file with ``read_only=True`` and external
    access off (no file outside the database is read or written); a PostgreSQL
    session is made read-only (``default_transaction_read_only``) before any query
    runs. Other engines are opened as Ibis opens them: rely on :func:`check_query`
    and on an account that may only ``SELECT``.
    """
    import ibis  # heavy: imported when a database is opened

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "duckdb":
        target = url.split("://", 1)[1].split("?", 1)[0]
        if target.startswith("/") and target[1:2] == "/":
            target = target[1:]
        con = ibis.duckdb.connect(
            target or ":memory:", read_only=bool(target) and target != ":memory:"
        )
        con.raw_sql("SET enable_progress_bar = false")
        con.raw_sql("SET enable_external_access = false")
        con.raw_sql("SET lock_configuration = true")
        return con
    con = ibis.connect(url)
    if con.name == "postgres":
        _postgres_read_only(con)
    return con


def _postgres_read_only(con) -> None:
    """Make a PostgreSQL session read-only, except while Ibis uploads its own small tables.

    Ibis sends a small lookup (text dates to dates) as a session-local temporary
    table, which a read-only transaction refuses; only that upload, Ibis's own
    ``CREATE TEMPORARY TABLE`` and ``INSERT``, runs read-write. A query from a params
    file always runs read-only.
    """
    raw = con.con
    raw.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    raw.execute("SET default_transaction_read_only = on")
    upload = con._register_in_memory_table

    def register(op) -> None:
        raw.execute("SET default_transaction_read_only = off")
        try:
            upload(op)
        finally:
            raw.execute("SET default_transaction_read_only = on")

    con._register_in_memory_table = register


def query_schema(con, sql: str):
    """The Ibis schema of a checked query, found without creating anything on the server.

    Ibis finds a query's columns by creating a temporary view (PostgreSQL) or with a
    DuckDB call that DuckDB 2 no longer has; here the columns come from the engine's
    description of the query, inside the read-only session.
    """
    import ibis  # heavy: imported when a database is opened

    mapper = con.compiler.type_mapper
    if con.name == "duckdb":
        relation = con.con.sql(sql)
        return ibis.schema(
            {
                name: mapper.from_string(str(kind))
                for name, kind in zip(relation.columns, relation.types, strict=True)
            }
        )
    if con.name == "postgres":
        with con.con.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}) AS eia_query LIMIT 0")
            columns = [(c.name, c.type_code) for c in cursor.description]
            cursor.execute(
                "SELECT oid::int, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)",
                [sorted({oid for _, oid in columns})],
            )
            names = dict(cursor.fetchall())
        return ibis.schema({name: mapper.from_string(names[oid]) for name, oid in columns})
    return None  # Ibis finds it
