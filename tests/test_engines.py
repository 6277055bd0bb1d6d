"""One aggregation, several engines: DuckDB (files), PostgreSQL (a real server), Spark (local).

The same data aggregated by each engine gives the same frames and the same
data-quality counts; errors are one-line ServiceDataErrors that never carry a
password. The servers are real (tests/services.py): no mocks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from services import PASSWORD, seed_table

from eia.errors import ServiceDataError
from eia.service import synth
from eia.service.aggregate import (
    ServiceDataWarning,
    aggregate,
    load_service,
    open_source,
    read_service,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "service"
EVENTS = {
    "lsoa": "LSOA code",
    "ethnicity": "Ethnic Category",
    "age": "Age",
    "sex": "Sex",
    "date": "Activity Date",
}
FRAMES = ("by_code", "by_code_age_sex", "by_code_ethnic_code", "by_site", "by_code_total")
INFO = (
    "records_read",
    "count_read",
    "counting",
    "date_first",
    "date_last",
    "dates_missing",
    "records_outside_period",
    "records_without_person",
    "ethnicity_unrecognised",
)
ENV = "EIA_TEST_SERVICE_DB"


def fixture_frame() -> pd.DataFrame:
    """The events fixture as text, blanks as nulls (as a database would hold it)."""
    frame = pd.read_csv(FIXTURES / "events.csv", dtype=str, keep_default_na=False)
    return frame.replace({"": None})


def same(a, b) -> None:
    """Two extracts agree: every frame, and every data-quality figure."""
    for name in FRAMES:
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None), name
        if left is not None:
            pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=name)
    for key in INFO:
        assert a.info.get(key) == b.info.get(key), key


def run_spec(spec: dict, columns: dict, period=None):
    source = open_source(spec)
    try:
        return aggregate(source, columns, period=period)
    finally:
        source.close()


@pytest.fixture(scope="module")
def pg(postgres, request):
    """The PostgreSQL URL in an environment variable, and the fixture seeded as a table."""
    seed_table(postgres, "activity.events", fixture_frame())
    seed_table(postgres, "activity.people", people_frame())
    os.environ[ENV] = postgres
    yield postgres
    os.environ.pop(ENV, None)


def people_frame() -> pd.DataFrame:
    """Events of six people at two sites, with counts of distinct people worked out by hand."""
    return pd.DataFrame(
        {
            "lsoa": ["E01033400"] * 5 + ["E01013887"] * 3 + [None],
            "person": ["p1", "p1", "p2", "p3", None, "p1", "p4", "p4", "p5"],
            "site": ["QMC", "QMC", "City", "QMC", "City", "City", "City", "City", "QMC"],
            "ethnic": ["A", "A", "H", "A", "f ", "A", "N", "N", None],
            "age": ["34", "34", "70", "88", "5", "34", "40", "40", "1"],
            "when": [
                "2024-04-01",
                "2024-05-01",
                "2024-06-01",
                "2025-06-01",
                "2024-07-01",
                "2024-08-01",
                "31/12/2024",
                "2025-01-01",
                "2024-09-09",
            ],
        }
    )


PEOPLE = {
    "lsoa": "lsoa",
    "person": "person",
    "site": "site",
    "ethnicity": "ethnic",
    "age": "age",
    "date": "when",
}
PERIOD = {"start": "2024-04-01", "end": "2025-03-31"}


def check_people(extract) -> None:
    """The hand-worked answer for people_frame() in PERIOD."""
    info = extract.info
    assert info["counting"] == "people" and info["records_read"] == 9
    assert info["records_outside_period"] == 1  # p3 in June 2025
    assert info["records_without_person"] == 1
    assert (info["date_first"], info["date_last"]) == ("2024-04-01", "2025-06-01")
    total = extract.by_code_total.set_index(extract.by_code_total["code"].fillna("-"))["count"]
    # E01033400: p1 twice and p2 (p3 is outside the period; a blank person is nobody).
    assert total.to_dict() == {"E01013887": 2.0, "E01033400": 2.0, "-": 1.0}
    site = extract.by_site
    qmc = site[(site["site"] == "QMC") & (site["code"] == "E01033400")]
    assert qmc["count"].sum() == 1  # p1, twice at QMC: one person
    # p1 is in both LSOAs: counted in both cells, so cells do not add up to people.
    assert extract.by_code["count"].sum() == 5
    codes = extract.by_code_ethnic_code
    assert set(codes["ethnic_code"].dropna()) == {"A", "H", "N", "F", "99"}  # "f " is F


# DuckDB (files) ---------------------------------------------------------------------------


def test_duckdb_people_sites_and_period_from_a_file(tmp_path):
    path = tmp_path / "people.csv"
    people_frame().to_csv(path, index=False)
    check_people(read_service(path, PEOPLE, period=PERIOD))


def test_period_needs_a_date_and_person_excludes_count(tmp_path):
    path = tmp_path / "people.csv"
    people_frame().to_csv(path, index=False)
    with pytest.raises(ServiceDataError, match="period needs service.columns.date"):
        read_service(path, {"lsoa": "lsoa"}, period=PERIOD)
    with pytest.raises(ServiceDataError, match="both person and count"):
        read_service(path, {"lsoa": "lsoa", "person": "person", "count": "age"})


def test_typed_parquet_dates_and_counts_match_text(tmp_path):
    frame = fixture_frame()
    text = frame["Activity Date"]
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    dates = dates.fillna(pd.to_datetime(text, format="%d/%m/%Y", errors="coerce"))
    typed = frame.assign(**{"Activity Date": dates})
    typed.to_parquet(tmp_path / "typed.parquet")
    same(
        read_service(tmp_path / "typed.parquet", EVENTS),
        read_service(FIXTURES / "events.csv", EVENTS),
    )


# PostgreSQL ---------------------------------------------------------------------------------


def test_postgres_table_gives_the_file_figures(pg):
    extract = run_spec({"table": "activity.events", "connection": ENV}, EVENTS)
    same(extract, read_service(FIXTURES / "events.csv", EVENTS))
    info = extract.info
    assert info["engine"] == "postgres" and info["table"] == "activity.events"
    assert PASSWORD not in json.dumps(info)


def test_postgres_query_is_recorded_by_its_hash(pg):
    query = "SELECT * FROM activity.events WHERE \"Sex\" = 'F'"
    extract = run_spec({"query": query, "connection": ENV}, EVENTS)
    same(extract, read_service(FIXTURES / "events.csv", EVENTS))
    assert len(extract.info["query_sha256"]) == 64
    assert "SELECT" not in json.dumps(extract.info)


def test_postgres_people_sites_and_period(pg):
    check_people(run_spec({"table": "activity.people", "connection": ENV}, PEOPLE, PERIOD))


def test_postgres_errors_are_one_line_and_never_show_the_password(pg, monkeypatch):
    cases = [
        ({"table": "activity.nope", "connection": ENV}, EVENTS, "activity.nope"),
        ({"table": "activity.events", "connection": ENV}, {"lsoa": "lsoa_code"}, "not found"),
        ({"query": "SELECT * FROM activity.events WHERE false", "connection": ENV}, EVENTS,
         "no records"),
        ({"query": 'SELECT "LSOA code", -1 AS n FROM activity.events', "connection": ENV},
         {"lsoa": "LSOA code", "count": "n"}, "15 negative value"),
        ({"table": "activity.events", "connection": "EIA_NOT_SET"}, EVENTS, "not set"),
    ]  # fmt: skip
    for spec, columns, message in cases:
        with pytest.raises(ServiceDataError, match=message) as caught:
            run_spec(spec, columns)
        assert "\n" not in str(caught.value) and PASSWORD not in str(caught.value)
    monkeypatch.setenv("EIA_BAD_DB", pg.replace(PASSWORD, "wrong-secret"))
    with pytest.raises(ServiceDataError, match="cannot connect") as caught:
        run_spec({"table": "activity.events", "connection": "EIA_BAD_DB"}, EVENTS)
    assert "wrong-secret" not in str(caught.value) and "\n" not in str(caught.value)


# Spark (local mode) -------------------------------------------------------------------------


def test_spark_file_and_table_give_the_file_figures(spark):
    expected = read_service(FIXTURES / "events.csv", EVENTS)
    same(read_service(FIXTURES / "events.csv", EVENTS, engine="spark"), expected)
    spark.createDataFrame(fixture_frame()).createOrReplaceTempView("eia_events")
    extract = run_spec({"engine": "spark", "table": "eia_events"}, EVENTS)
    same(extract, expected)
    assert extract.info["engine"] == "pyspark"


def test_spark_people_sites_period_and_errors(spark, tmp_path):
    path = tmp_path / "people.csv"
    people_frame().to_csv(path, index=False)
    check_people(read_service(path, PEOPLE, period=PERIOD, engine="spark"))
    with pytest.raises(ServiceDataError, match="eia_missing") as caught:
        run_spec({"engine": "spark", "table": "eia_missing"}, EVENTS)
    assert "\n" not in str(caught.value)


# The examples: figures unchanged, and the same through PostgreSQL and Spark -----------------

#: Figures of the four examples from the pyarrow aggregation this module replaced (main at
#: c7af946): data-quality totals and in-area counts by ethnic group (Census order, then Not
#: stated, Not known). Totals of synthetic events only.
PREVIOUS = {
    "notts-community-hub": (
        (20000, 20000, 19920, 428, 60, 20, 20),
        (978, 995, 575, 15708, 282, 989, 393),
    ),
    "notts-diagnostics-consolidation": (
        (20000, 20000, 19920, 428, 60, 20, 20),
        (978, 995, 575, 15708, 282, 989, 393),
    ),
    "notts-digital-front-door": (
        (30000, 30000, 29880, 646, 90, 30, 30),
        (1413, 1427, 838, 23720, 462, 1424, 596),
    ),
    "notts-maternity-equity-audit": (
        (12000, 12000, 11952, 289, 36, 12, 11),
        (593, 549, 308, 9437, 188, 604, 273),
    ),
}
QUALITY = (
    "records_read",
    "count_read",
    "count_in_area",
    "count_converted_from_2011",
    "count_outside_area",
    "count_unmatched",
    "count_matched_by_name",
)


def example_extract(pack, name: str, folder: Path) -> tuple[dict, list, Path]:
    from eia import params
    from eia.population.area import select_lsoas

    proposal = params.load(ROOT / "params" / "examples" / f"{name}.yaml", pack=pack)
    codes = select_lsoas(pack, proposal.area.spec)
    gen = proposal.service.generate
    frame = synth.generate(pack, codes, n_events=gen.events, seed=gen.seed)
    path = synth.write(frame, folder / f"{name}.csv")
    return proposal.service.model_dump(), codes, path


def figures(data) -> tuple[tuple, tuple]:
    from eia.population.ethnicity import CATEGORIES

    totals = tuple(round(float(data.quality[k]), 2) for k in QUALITY)
    groups = data.by_lsoa_ethnicity.groupby("ethnic_group")["count"].sum()
    return totals, tuple(round(float(groups.get(c, 0.0)), 2) for c in CATEGORIES)


@pytest.mark.parametrize("name", sorted(PREVIOUS))
def test_examples_figures_are_unchanged_with_duckdb(pack, name, tmp_path):
    spec, codes, path = example_extract(pack, name, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        data = load_service({**spec, "path": str(path)}, pack, codes)
    assert figures(data) == PREVIOUS[name]
    assert data.quality["engine"] == "duckdb"


def test_example_in_postgres_and_spark_gives_the_file_figures(pack, pg, spark, tmp_path):
    name = "notts-maternity-equity-audit"
    spec, codes, path = example_extract(pack, name, tmp_path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace({"": None})
    seed_table(pg, "activity.maternity", frame)
    spark.createDataFrame(frame).createOrReplaceTempView("maternity")
    base = {k: v for k, v in spec.items() if k not in ("path", "generate")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        from_file = load_service({**spec, "path": str(path)}, pack, codes)
        in_pg = load_service(
            {**base, "table": "activity.maternity", "connection": ENV}, pack, codes
        )
        on_spark = load_service({**base, "engine": "spark", "table": "maternity"}, pack, codes)
    assert figures(from_file) == PREVIOUS[name]
    for other in (in_pg, on_spark):
        assert figures(other) == figures(from_file)
        for attr in ("by_lsoa", "by_lsoa_ethnicity", "by_lsoa_age_sex", "by_lsoa_ethnic_code"):
            pd.testing.assert_frame_equal(
                getattr(other, attr), getattr(from_file, attr), check_dtype=False, obj=attr
            )


def metrics_without_provenance(folder: Path, name: str) -> dict:
    metrics = json.loads((folder / name / "metrics.json").read_text(encoding="utf-8"))
    metrics.pop("provenance", None)
    for key in ("source", "format", "encoding", "engine", "table", "query_sha256"):
        metrics["data_quality"].pop(key, None)
    return metrics


@pytest.mark.slow
def test_nottingham_example_runs_from_postgres_and_spark(pack, pg, spark, tmp_path):
    """`eia run` with the service data in a PostgreSQL table, and through local Spark."""
    name = "notts-maternity-equity-audit"
    spec, codes, path = example_extract(pack, name, tmp_path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).replace({"": None})
    seed_table(pg, "activity.maternity", frame)
    source = yaml.safe_load((ROOT / "params" / "examples" / f"{name}.yaml").read_text())
    variants = {
        "file": {"path": path.name},
        "postgres": {"table": "activity.maternity", "connection": ENV},
        "spark": {"engine": "spark", "path": path.name},
    }
    env = {**os.environ, ENV: pg}
    results = {}
    for variant, where in variants.items():
        folder = tmp_path / variant
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        params = dict(source)
        service = {k: v for k, v in source["service"].items() if k not in ("path", "generate")}
        params["service"] = {**where, **service}
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        done = subprocess.run(
            [sys.executable, "-m", "eia.runner.cli", "run", "--out", str(folder / "out"),
             str(folder / f"{name}.yaml")],
            capture_output=True, text=True, env=env, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert PASSWORD not in (folder / "out" / name / "report.html").read_text()
        results[variant] = metrics_without_provenance(folder / "out", name)
    assert results["postgres"] == results["file"]
    assert results["spark"] == results["file"]


@pytest.mark.slow
def test_a_missing_table_exits_2_and_publishes_nothing(pack, pg, tmp_path):
    name = "notts-maternity-equity-audit"
    params = yaml.safe_load((ROOT / "params" / "examples" / f"{name}.yaml").read_text())
    service = {k: v for k, v in params["service"].items() if k not in ("path", "generate")}
    params["service"] = {"table": "activity.nope", "connection": ENV, **service}
    file = tmp_path / f"{name}.yaml"
    file.write_text(yaml.safe_dump(params, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "eia.runner.cli", "run", "--out", str(tmp_path / "out"), str(file)],
        capture_output=True, text=True, env={**os.environ, ENV: pg}, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "activity.nope" in done.stderr and PASSWORD not in done.stderr + done.stdout
    assert not (tmp_path / "out" / name / "report.html").exists()
    assert not (tmp_path / "out" / name / "metrics.json").exists()


def test_hand_made_random_extracts_agree_with_pandas(tmp_path):
    """DuckDB's aggregate equals a plain pandas count, whatever the mix of values."""
    rng = np.random.default_rng(5)
    n = 2000
    frame = pd.DataFrame(
        {
            "lsoa": rng.choice(["E01033400", " e01033400", "E01013887", "", "NG7 2UH"], n),
            "n": rng.choice(["1", "2.5", "1,000", " 3 "], n),
            "sex": rng.choice(["F", "female", "M", "1", "9", "", "q"], n),
        }
    )
    path = tmp_path / "random.csv"
    frame.to_csv(path, index=False)
    extract = read_service(path, {"lsoa": "lsoa", "count": "n", "sex": "sex"})
    counts = frame["n"].str.strip().str.replace(",", "").astype(float)
    code = frame["lsoa"].str.strip().str.upper().replace({"": None})
    expected = counts.groupby(code.fillna("-")).sum().to_dict()
    got = extract.by_code.set_index(extract.by_code["code"].fillna("-"))["count"].to_dict()
    assert got == pytest.approx(expected)
    assert extract.by_code_age_sex["count"].sum() == pytest.approx(counts.sum())
    sexes = set(extract.by_code_age_sex["sex"])
    assert sexes <= {"Female", "Male", "Indeterminate", "Other", "Not known"}
