"""Only one read-only SELECT reaches a database (issue 26, cases 6 and 12).

The guard (eia.sql) refuses anything else before it is sent; the engines are
opened read-only as a second line of defence. Real engines: a PostgreSQL server
(tests/services.py) and a DuckDB database file. A canary table survives every
refused query.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from services import PASSWORD, seed_table

from eia.errors import ServiceDataError
from eia.service.aggregate import aggregate, open_source, read_service
from eia.service.sql import check_query

FIXTURES = Path(__file__).parent / "fixtures" / "service"
EVENTS = {
    "lsoa": "LSOA code",
    "ethnicity": "Ethnic Category",
    "age": "Age",
    "sex": "Sex",
    "date": "Activity Date",
}
ENV = "EIA_TEST_GUARD_DB"

WRITES = [
    "SELECT 1 AS n; DROP TABLE activity.canary",
    "SELECT * FROM activity.events; DELETE FROM activity.canary",
    "DROP TABLE activity.canary",
    "DELETE FROM activity.canary",
    "INSERT INTO activity.canary VALUES ('x')",
    "UPDATE activity.canary SET note = 'x'",
    "CREATE TABLE activity.more AS SELECT 1",
    "SELECT * INTO activity.copy FROM activity.canary",
    "WITH gone AS (DELETE FROM activity.canary RETURNING *) SELECT * FROM gone",
    "COPY (SELECT 1) TO '/tmp/eia-copied.csv'",
    "SELECT * FROM activity.canary FOR UPDATE",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_read_file('/etc/passwd')",
    "TRUNCATE activity.canary",
    "",
]


@pytest.mark.parametrize("query", WRITES)
@pytest.mark.parametrize("backend", ["postgres", "duckdb", "pyspark"])
def test_anything_but_one_select_is_refused_without_quoting_it(query, backend):
    with pytest.raises(ServiceDataError) as caught:
        check_query(query, backend)
    message = str(caught.value)
    assert "\n" not in message
    assert "canary" not in message and "/etc" not in message


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM activity.events",
        "select * from activity.events where \"Sex\" = 'F';",
        "WITH f AS (SELECT * FROM activity.events) SELECT * FROM f -- a comment",
        "SELECT 1 AS n UNION ALL SELECT 2",
    ],
)
def test_one_select_passes(query):
    checked = check_query(query, "postgres")
    assert "SELECT" in checked and ";" not in checked


_STATEMENTS = st.sampled_from(
    [
        "DROP TABLE t",
        "DELETE FROM t",
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "CREATE TABLE u (a int)",
        "COPY t TO '/tmp/x'",
        "ALTER TABLE t ADD COLUMN b int",
        "SELECT 2",
        "VACUUM",
    ]
)


@settings(max_examples=60, deadline=None)
@given(second=_STATEMENTS, space=st.sampled_from([";", "; ", ";\n", " ;\n-- c\n"]))
def test_a_second_statement_is_always_refused(second, space):
    for backend in ("postgres", "duckdb"):
        with pytest.raises(ServiceDataError, match="2 statements"):
            check_query(f"SELECT a FROM t{space}{second}", backend)


def _spec(query: str) -> dict:
    return {"query": query, "connection": ENV}


def _aggregate(spec: dict):
    source = open_source(spec)
    try:
        return aggregate(source, EVENTS)
    finally:
        source.close()


# PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_canary(postgres):
    frame = pd.read_csv(FIXTURES / "events.csv", dtype=str, keep_default_na=False)
    seed_table(postgres, "activity.events", frame.replace({"": None}))
    seed_table(postgres, "activity.canary", pd.DataFrame({"note": ["alive", "still"]}))
    with psycopg.connect(postgres, autocommit=True) as con:
        # A function the guard cannot know writes: the read-only session must stop it.
        con.execute(
            "CREATE OR REPLACE FUNCTION activity.sneaky() RETURNS int LANGUAGE sql AS "
            "$$ DELETE FROM activity.canary; SELECT 1 $$"
        )
    import os

    os.environ[ENV] = postgres
    yield postgres
    os.environ.pop(ENV, None)


def _canary_rows(url: str) -> int:
    with psycopg.connect(url) as con:
        return con.execute("SELECT count(*) FROM activity.canary").fetchone()[0]


@pytest.mark.parametrize("query", WRITES[:-1])
def test_postgres_refuses_writes_and_the_canary_survives(pg_canary, query):
    with pytest.raises(ServiceDataError) as caught:
        _aggregate(_spec(query))
    assert PASSWORD not in str(caught.value) and "\n" not in str(caught.value)
    assert _canary_rows(pg_canary) == 2


def test_postgres_session_is_read_only_for_what_the_guard_cannot_see(pg_canary):
    with pytest.raises(ServiceDataError, match="read-only") as caught:
        _aggregate(_spec("SELECT activity.sneaky() AS n, * FROM activity.events"))
    assert PASSWORD not in str(caught.value)
    assert _canary_rows(pg_canary) == 2


def test_postgres_select_still_works(pg_canary):
    extract = _aggregate(_spec("SELECT * FROM activity.events;"))
    expected = read_service(FIXTURES / "events.csv", EVENTS)
    pd.testing.assert_frame_equal(extract.by_code, expected.by_code, check_dtype=False)


# DuckDB database file -----------------------------------------------------------------------


@pytest.fixture
def duck_file(tmp_path, monkeypatch):
    path = tmp_path / "service.db"
    con = duckdb.connect(str(path))
    frame = pd.read_csv(FIXTURES / "events.csv", dtype=str, keep_default_na=False)
    frame = frame.replace({"": None})
    con.execute("CREATE SCHEMA activity")
    con.execute("CREATE TABLE activity.events AS SELECT * FROM frame")
    con.execute("CREATE TABLE activity.canary AS SELECT 'alive' AS note UNION ALL SELECT 'still'")
    con.close()
    monkeypatch.setenv(ENV, f"duckdb:///{path}")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_duckdb_file_query_works(duck_file):
    before = _digest(duck_file)
    extract = _aggregate(_spec("SELECT * FROM activity.events"))
    expected = read_service(FIXTURES / "events.csv", EVENTS)
    pd.testing.assert_frame_equal(extract.by_code, expected.by_code, check_dtype=False)
    assert extract.info["engine"] == "duckdb"
    assert _digest(duck_file) == before  # opened read-only: the file is untouched


@pytest.mark.parametrize("query", WRITES[:-1])
def test_duckdb_refuses_writes_and_the_canary_survives(duck_file, query, tmp_path):
    with pytest.raises(ServiceDataError):
        _aggregate(_spec(query.replace("/tmp/", f"{tmp_path}/")))
    con = duckdb.connect(str(duck_file), read_only=True)
    assert con.execute("SELECT count(*) FROM activity.canary").fetchone()[0] == 2
    con.close()
    assert not (tmp_path / "eia-copied.csv").exists()


def test_duckdb_file_cannot_reach_other_files(duck_file, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(ServiceDataError, match="file"):
        _aggregate(_spec(f"SELECT * FROM '{outside}'"))
    with pytest.raises(ServiceDataError, match="read_csv"):
        _aggregate(_spec(f"SELECT * FROM read_csv('{outside}')"))
