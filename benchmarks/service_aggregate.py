"""Benchmark: aggregate an event extract to LSOA level on each engine.

Targets: 10 million rows within 60 s and 4 GiB (issue #4); 100 million rows of
Parquet on the embedded engine (DuckDB) within 20 s and 3 GiB (issue #18).

Writes a synthetic event file (LSOA code, ethnic category, age, sex, date) of
``--rows`` rows as Parquet (and CSV) in a work folder, in chunks, so a file
larger than memory can be made; then aggregates it in a fresh subprocess per
engine and prints wall time and peak resident memory (the child's
``ru_maxrss``, plus its children's: Spark's JVM). ``postgres`` loads the CSV
into a throw-away PostgreSQL server (tests/services.py) first and times only
the aggregation; the server's own memory is not counted.

    .venv/bin/python benchmarks/service_aggregate.py                       # 10M, DuckDB
    .venv/bin/python benchmarks/service_aggregate.py --rows 1e8 --formats parquet
    .venv/bin/python benchmarks/service_aggregate.py --engines duckdb,postgres,spark

Plain Python, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eia.service.synth import COLUMNS  # the same column names as the synthetic extracts

ROOT = Path(__file__).resolve().parents[1]


def make_events(rows: int, seed: int = 1) -> pa.Table:
    """A synthetic event table: 33,000 English-looking LSOA codes, NHS letters, ages, dates."""
    rng = np.random.default_rng(seed)
    pool = np.array([f"E{1_000_000 + i + 1:08d}" for i in range(33_000)], dtype=object)
    letters = np.array(list("ABCDEFGHJKLMNPRSZ") + ["99", ""], dtype=object)
    dates = np.array(
        [str(np.datetime64("2024-04-01") + np.timedelta64(d, "D")) for d in range(365)],
        dtype=object,
    )
    return pa.table(
        {
            "lsoa_code": pa.array(pool[rng.integers(0, len(pool), rows)], pa.string()),
            "ethnic_category": pa.array(letters[rng.integers(0, len(letters), rows)], pa.string()),
            "age": pa.array(rng.integers(0, 100, rows, dtype=np.int64)),
            "sex": pa.array(
                np.array(["F", "M"], dtype=object)[rng.integers(0, 2, rows)], pa.string()
            ),
            "date": pa.array(dates[rng.integers(0, 365, rows)], pa.string()),
        }
    )


CHILD = """
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
from eia.service.aggregate import aggregate, open_source
path, columns, engine = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
if engine == "postgres":
    spec = {"table": "bench.events", "connection": "EIA_BENCH_DB"}
else:
    spec = {"path": path, "engine": engine}
if engine == "spark":
    from eia.service.sources import spark_backend
    spark_backend(None)  # start the JVM before the clock
t0 = time.perf_counter()
source = open_source(spec)
agg = aggregate(source, columns)
out = {
    "aggregate_s": time.perf_counter() - t0,
    "groups": len(agg.by_code),
    "age_sex_groups": 0 if agg.by_code_age_sex is None else len(agg.by_code_age_sex),
    "records": agg.info["records_read"],
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "peak_rss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}
print(json.dumps(out))
"""

CHUNK = 5_000_000


def write_events(rows: int, folder: Path, formats: list[str]) -> dict[str, Path]:
    """The extract as Parquet and/or CSV, generated in chunks (reused when already there)."""
    paths = {fmt: folder / f"events-{rows}.{fmt}" for fmt in formats}
    todo = {fmt: p for fmt, p in paths.items() if not p.is_file()}
    if not todo:
        return paths
    t0 = time.perf_counter()
    writers = {}
    try:
        for start in range(0, rows, CHUNK):
            table = make_events(min(CHUNK, rows - start), seed=1 + start // CHUNK)
            for fmt, path in todo.items():
                tmp = path.with_suffix(".tmp")
                if fmt not in writers:
                    writers[fmt] = (
                        pq.ParquetWriter(tmp, table.schema)
                        if fmt == "parquet"
                        else pacsv.CSVWriter(tmp, table.schema)
                    )
                writers[fmt].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    for path in todo.values():
        path.with_suffix(".tmp").rename(path)
    print(
        f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:,.0f} MiB" for p in todo.values())
    )
    return paths


def load_postgres(csv: Path):
    """A throw-away PostgreSQL server with the CSV loaded as bench.events (COPY)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from services import Postgres

    server = Postgres()
    url = server.start()
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE SCHEMA bench")
        columns = ", ".join(f'"{c}" text' for c in COLUMNS.values())
        con.execute(f"CREATE UNLOGGED TABLE bench.events ({columns})")
        with (
            open(csv, "rb") as handle,
            con.cursor().copy(
                "COPY bench.events FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy,
        ):
            while chunk := handle.read(1 << 24):
                copy.write(chunk)
        con.execute("ANALYZE bench.events")
    print(f"loaded {csv.name} into PostgreSQL in {time.perf_counter() - t0:.1f} s")
    return server, url


def measure(path: Path, engine: str, env: dict | None = None) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(COLUMNS), engine],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode:
        sys.exit(f"{engine} {path.name}: aggregation failed\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(rows: int, formats: list[str], engines: list[str], work: Path) -> list[dict]:
    """Aggregate the extract on each engine; one result per (engine, format)."""
    work.mkdir(parents=True, exist_ok=True)
    need = set(formats) | ({"csv"} if "postgres" in engines else set())
    paths = write_events(rows, work, sorted(need))
    results = []
    for engine in engines:
        if engine == "postgres":
            server, url = load_postgres(paths["csv"])
            try:
                out = measure(paths["csv"], engine, {**os.environ, "EIA_BENCH_DB": url})
            finally:
                server.stop()
            results.append({"engine": engine, "format": "table", "rows": rows, **out})
            continue
        for fmt in formats:
            out = measure(paths[fmt], engine)
            results.append({"engine": engine, "format": fmt, "rows": rows, **out})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=10_000_000)
    parser.add_argument("--formats", default="parquet,csv", help="parquet,csv (files engines read)")
    parser.add_argument("--engines", default="duckdb", help="duckdb,postgres,spark")
    parser.add_argument("--work", type=Path, default=Path("/tmp/eia-bench-service"))
    args = parser.parse_args()
    rows = int(args.rows)
    formats = [f for f in args.formats.split(",") if f]
    engines = [e for e in args.engines.split(",") if e]
    for out in run(rows, formats, engines, args.work):
        rss = out["peak_rss_mib"] + out["peak_rss_children_mib"]
        print(
            f"{out['engine']:>8} {out['format']:>8}: aggregate {out['records']:,} rows in "
            f"{out['aggregate_s']:.1f} s to {out['groups']:,} LSOA × ethnicity groups "
            f"(+ {out['age_sex_groups']:,} LSOA × age × sex); peak RSS {rss:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
