"""Benchmark: aggregate a 10-million-row event extract to LSOA level.

Target (issue #4): within 60 s and 4 GiB on the project machine.

Writes a synthetic event file (LSOA code, ethnic category, age, sex, date) of
``--rows`` rows as Parquet and as CSV in a temporary folder, then runs
:func:`eia.service.read_service` on each in a fresh subprocess and prints its
wall time and peak resident memory (the child's ``ru_maxrss``). With the
reference pack available (``EIA_REFDATA`` or ``../shared/refdata``) it also
times :func:`eia.service.join_to_lsoa21` for an ICB.

    .venv/bin/python benchmarks/service_aggregate.py            # 10 million rows
    .venv/bin/python benchmarks/service_aggregate.py --rows 1e6

Plain Python, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eia.synth import COLUMNS  # the same column names as the synthetic extracts

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
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from eia.service import read_service, join_to_lsoa21
path, columns, refdata = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
agg = read_service(path, columns)
t1 = time.perf_counter()
out = {
    "aggregate_s": t1 - t0,
    "groups": len(agg.by_code),
    "age_sex_groups": 0 if agg.by_code_age_sex is None else len(agg.by_code_age_sex),
    "records": agg.info["records_read"],
}
if refdata:
    from eia.refdata import load_pack
    from eia.area import select_lsoas
    pack = load_pack(refdata)
    codes = select_lsoas(pack, {"icb": "E54000060"})
    t2 = time.perf_counter()
    joined, quality = join_to_lsoa21(agg, pack, codes)
    out["join_s"] = time.perf_counter() - t2
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def find_refdata() -> str:
    for candidate in (os.environ.get("EIA_REFDATA"), ROOT.parent / "shared" / "refdata"):
        if candidate and (Path(candidate) / "manifest.json").is_file():
            return str(Path(candidate).resolve())
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=10_000_000)
    args = parser.parse_args()
    rows = int(args.rows)
    refdata = find_refdata()
    with tempfile.TemporaryDirectory(prefix="eia-bench-") as tmp:
        t0 = time.perf_counter()
        table = make_events(rows)
        parquet = Path(tmp) / "events.parquet"
        csv = Path(tmp) / "events.csv"
        pq.write_table(table, parquet)
        pacsv.write_csv(table, csv)
        del table
        mib = {p.suffix: p.stat().st_size / 2**20 for p in (parquet, csv)}
        print(
            f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s: "
            f"Parquet {mib['.parquet']:.0f} MiB, CSV {mib['.csv']:.0f} MiB"
        )
        for path in (parquet, csv):
            result = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), json.dumps(COLUMNS), refdata],
                capture_output=True,
                text=True,
            )
            if result.returncode:
                sys.exit(f"{path.name}: aggregation failed\n{result.stderr}")
            out = json.loads(result.stdout.strip().splitlines()[-1])
            join = f", join to LSOA 2021 {out['join_s']:.2f} s" if "join_s" in out else ""
            verdict = (
                "OK" if out["aggregate_s"] < 60 and out["peak_rss_mib"] < 4096 else "TOO SLOW/BIG"
            )
            print(
                f"{path.suffix[1:]:>8}: aggregate {out['records']:,} rows in "
                f"{out['aggregate_s']:.1f} s to {out['groups']:,} LSOA × ethnicity groups "
                f"(+ {out['age_sex_groups']:,} LSOA × age × sex){join}; "
                f"peak RSS {out['peak_rss_mib']:.0f} MiB [{verdict}: target < 60 s, < 4096 MiB]"
            )


if __name__ == "__main__":
    main()
