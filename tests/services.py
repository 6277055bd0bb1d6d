"""Real services for the engine tests: a throw-away PostgreSQL server, and Spark in local mode.

PostgreSQL comes from Debian's packages (``postgresql``; ``make test`` installs it
when run as root). The server is initialised in a temporary folder, listens on
127.0.0.1 on a free port, and is stopped at the end of the session. PostgreSQL
refuses to run as root, so as root the folder belongs to Debian's ``postgres``
user and the server runs as that user (``runuser``).

Spark runs in local mode (PySpark from PyPI, Java 17 from Debian's
``openjdk-17-jre-headless``). When either is missing the tests needing it fail
under CI (``CI=true``) and are skipped elsewhere.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PASSWORD = "eia-test-secret"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(message: str):
    """Fail under CI, skip elsewhere."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """A PostgreSQL server in a temporary folder (start, url, stop)."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        if self.bin is None:
            unavailable(
                "PostgreSQL is not installed: apt-get install postgresql (make test does it as root)"
            )
        self.folder = Path(tempfile.mkdtemp(prefix="eia-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        done = self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            "eia",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C",
        )
        if done.returncode:
            unavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._run(
            self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "log", "-w",
            "start",
        )  # fmt: skip
        if done.returncode:
            log = (self.folder / "log").read_text() if (self.folder / "log").exists() else ""
            unavailable(f"PostgreSQL did not start: {done.stderr.strip()[-200:]} {log[-300:]}")
        url = self.url()
        for _ in range(50):
            try:
                import psycopg

                psycopg.connect(self.url(database="postgres"), connect_timeout=2).close()
                break
            except Exception:
                time.sleep(0.2)
        import psycopg

        with psycopg.connect(self.url(database="postgres"), autocommit=True) as con:
            con.execute("CREATE DATABASE eia")
        return url

    def url(self, password: str = PASSWORD, database: str = "eia") -> str:
        return f"postgresql://eia:{password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def seed_table(url: str, table: str, frame) -> None:
    """Create ``table`` (schema.name) from a pandas frame of text/number columns (COPY)."""
    import psycopg

    schema, name = table.split(".")
    types = {
        col: "double precision" if frame[col].dtype.kind in "fi" else "text"
        for col in frame.columns
    }
    columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        con.execute(f'DROP TABLE IF EXISTS "{schema}"."{name}"')
        con.execute(f'CREATE TABLE "{schema}"."{name}" ({columns})')
        names = ", ".join(f'"{c}"' for c in frame.columns)
        with con.cursor().copy(f'COPY "{schema}"."{name}" ({names}) FROM STDIN') as copy:
            for row in frame.itertuples(index=False):
                copy.write_row([None if v is None or v != v else v for v in row])


def spark_session():
    """A local Spark session (shared by the tests; Spark stops with the process)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        unavailable("PySpark is not installed: uv pip install -e '.[dev]'")
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        unavailable("Java is not installed: apt-get install openjdk-17-jre-headless")
    from eia.service.sources import spark_backend

    return spark_backend(None)._session
