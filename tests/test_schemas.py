"""Data contracts (eia.refdata.schemas): bad pack files and bad frames give one-line errors of the
project's own types, naming the file or frame and the column, never the offending values."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eia import refdata
from eia.analysis import access, impact
from eia.errors import DataMismatchError, RefDataError
from eia.population.area import ETHNIC_GROUPS
from eia.refdata import schemas
from eia.runner.cli import main

ETHNICITY = "census2021_ethnicity_lsoa21.parquet"
IMD = "imd2025_lsoa21.parquet"
SECRET = 987_654  # a value no message may quote


# ---------------------------------------------------------------------------
# Tiny packs written by the tests
# ---------------------------------------------------------------------------
def ethnicity_frame() -> pd.DataFrame:
    """Two LSOAs × the five Census groups, adding up to each LSOA's residents."""
    rows = []
    for code, counts in (("E01000001", [10, 20, 30, 900, 40]), ("E01000002", [5, 5, 5, 980, 5])):
        total = sum(counts)
        for group, n in zip(ETHNIC_GROUPS, counts, strict=True):
            rows.append((code, total, group, n, n / total))
    return pd.DataFrame(
        rows, columns=["lsoa21_code", "total_residents", "ethnic_group", "n", "prop"]
    )


def write_pack(folder: Path, files: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, frame in files.items():
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / name)
        manifest[name] = {"rows": len(frame), "sha256": refdata.sha256(folder / name)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def install_error(tmp_path: Path, frame: pd.DataFrame, name: str = ETHNICITY) -> str:
    """The message `eia data install` gives for a pack holding ``frame`` as ``name``."""
    source = write_pack(tmp_path / "pack", {name: frame})
    dest = tmp_path / "shapes"
    with pytest.raises(RefDataError) as err:
        refdata.install(source, dest, required=())
    assert not (dest / name).exists(), "a pack that fails its contract is not installed"
    message = str(err.value)
    assert "\n" not in message and name in message
    return message


def test_a_well_formed_tiny_pack_installs(tmp_path):
    source = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    dest = refdata.install(source, tmp_path / "shapes", required=())
    refdata.check_contents(dest)
    assert (dest / ETHNICITY).is_file()


def test_missing_column_names_file_and_column(tmp_path):
    message = install_error(tmp_path, ethnicity_frame().drop(columns="prop"))
    assert "column 'prop' is missing" in message


def test_wrong_dtype_names_the_column_and_the_type_expected(tmp_path):
    frame = ethnicity_frame()
    frame["n"] = frame["n"].astype("float64") + 0.5
    message = install_error(tmp_path, frame)
    assert "column 'n' should hold whole numbers (int64), not float64" in message
    assert "0.5" not in message


def test_malformed_lsoa_code_is_counted_not_quoted(tmp_path):
    frame = ethnicity_frame()
    frame.loc[frame["lsoa21_code"] == "E01000002", "lsoa21_code"] = f"X{SECRET}"
    message = install_error(tmp_path, frame)
    assert "column 'lsoa21_code': 5 value(s) are not LSOA codes (E01 or W01 and 6 digits)" in (
        message
    )
    assert str(SECRET) not in message


def test_negative_count_is_counted_not_quoted(tmp_path):
    frame = ethnicity_frame()
    frame.loc[1, "n"] += SECRET + frame.loc[0, "n"]  # moved within the LSOA: it still adds up
    frame.loc[0, "n"] = -SECRET
    message = install_error(tmp_path, frame)
    assert "column 'n': 1 value(s) are negative" in message
    assert str(SECRET) not in message


def test_repeated_key_is_named(tmp_path):
    frame = ethnicity_frame()
    message = install_error(tmp_path, pd.concat([frame, frame.iloc[[3]]], ignore_index=True))
    assert "repeat the key (lsoa21_code, ethnic_group)" in message


def test_repeated_lsoa_in_a_one_row_per_lsoa_file(tmp_path):
    real = pd.DataFrame({"lsoa21_code": ["E01000001", "E01000001"]})
    for column in schemas.PACK_COLUMNS[IMD][1:]:
        kind = column.rsplit("_", 1)[1]
        real[column] = [1.5, 2.5] if kind == "score" else [1, 2]
    message = install_error(tmp_path, real, IMD)
    assert "column 'lsoa21_code' repeats a value in 2 row(s)" in message


def test_imd_decile_outside_1_to_10(tmp_path):
    real = pd.DataFrame({"lsoa21_code": ["E01000001", "E01000002"]})
    for column in schemas.PACK_COLUMNS[IMD][1:]:
        kind = column.rsplit("_", 1)[1]
        real[column] = [1.5, 2.5] if kind == "score" else [1, 2]
    real["IMD_decile"] = [0, 11]
    message = install_error(tmp_path, real, IMD)
    assert "column 'IMD_decile': 2 value(s) are outside 1 to 10" in message


# ---------------------------------------------------------------------------
# The real pack
# ---------------------------------------------------------------------------
def test_every_required_file_has_a_contract():
    assert set(refdata.REQUIRED_FILES) <= set(schemas.PACK)


def test_the_real_pack_meets_every_contract_in_column_order(refdata_dir):
    manifest = refdata.read_manifest(refdata_dir)
    refdata.check_contents(refdata_dir, manifest)
    for name in manifest:
        assert tuple(pq.read_schema(refdata_dir / name).names) == schemas.PACK_COLUMNS[name], name


@pytest.fixture
def bad_real_pack(refdata_dir, tmp_path) -> Path:
    """A copy of the real pack whose ethnicity file has one negative count (checksums updated)."""
    folder = tmp_path / "pack"
    shutil.copytree(refdata_dir, folder)
    target = folder / ETHNICITY
    target.chmod(0o644)
    frame = pq.read_table(target).to_pandas()
    frame.loc[7, "n"] = -SECRET
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[ETHNICITY]["sha256"] = refdata.sha256(target)
    (folder / "manifest.json").chmod(0o644)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_pack_loaders_check_what_they_read(bad_real_pack):
    pack = refdata.Pack(bad_real_pack)
    with pytest.raises(RefDataError) as err:
        pack.ethnicity()
    message = str(err.value)
    assert str(bad_real_pack / ETHNICITY) in message
    assert "column 'n': 1 value(s) are negative" in message
    assert str(SECRET) not in message
    assert len(pack.population()) > 30_000  # two columns of the same file: nothing wrong there


def test_cli_install_and_check_of_a_bad_pack_are_one_line_exit_2(
    bad_real_pack, tmp_path, capsys, monkeypatch
):
    dest = tmp_path / "shapes"
    assert main(["data", "install", "--from", str(bad_real_pack), "--dest", str(dest)]) == 2
    err = capsys.readouterr().err.strip()
    assert ETHNICITY in err and "column 'n'" in err and str(SECRET) not in err
    assert len(err.splitlines()) == 1
    assert not (dest / "manifest.json").exists()
    monkeypatch.setenv(refdata.SHAPES_ENV_VAR, str(bad_real_pack))
    assert main(["data", "check"]) == 2
    err = capsys.readouterr().err.strip()
    assert ETHNICITY in err and "column 'n'" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------
# Frames between modules
# ---------------------------------------------------------------------------
def test_the_area_frame_meets_its_contract_and_a_broken_one_is_named(notts_area):
    schemas.AREA.validate(notts_area.sample(frac=1, random_state=1))
    broken = notts_area.copy()
    broken.loc[broken.index[:3], "imd_decile"] = 11
    with pytest.raises(DataMismatchError) as err:
        schemas.AREA.validate(broken)
    message = str(err.value)
    assert message.startswith("area frame (eia.population.area.build_area): ")
    assert "column 'imd_decile': 3 value(s) are outside 1 to 10" in message
    assert "3 row(s) have an imd_quintile that is not their decile's" in message


def test_weights_need_an_lsoa_index_and_non_negative_numbers():
    good = pd.DataFrame(
        {"A": [1.0, 2.0]}, index=pd.Index(["E01000001", "E01000002"], name="lsoa21_code")
    )
    assert schemas.WEIGHTS.validate(good) is good
    with pytest.raises(DataMismatchError, match="index 'lsoa21_code'|lsoa21_code"):
        schemas.WEIGHTS.validate(good.reset_index(drop=True))
    bad = good.assign(A=[1.0, -float(SECRET)])
    with pytest.raises(DataMismatchError) as err:
        schemas.WEIGHTS.validate(bad)
    assert "column 'A': 1 value(s) are negative" in str(err.value)
    assert str(SECRET) not in str(err.value)


def test_service_groups_outside_the_nhs_categories_are_refused():
    frame = pd.DataFrame(
        {
            "lsoa21_code": ["E01000001"] * 2,
            "ethnic_group": ["White", "Martian"],
            "count": [3.0, 1.0],
        }
    )
    with pytest.raises(DataMismatchError) as err:
        schemas.SERVICE_BY_LSOA_ETHNICITY.validate(frame)
    assert "column 'ethnic_group': 1 value(s) are not one of the 7 expected categories" in str(
        err.value
    )
    assert "Martian" not in str(err.value)


def test_the_service_sex_categories_are_the_aggregations():
    from eia.service import aggregate as service

    assert set(schemas.SEXES) == {*service._SEX.values(), "Other"}


def test_importing_schemas_leaves_environment_and_pyspark_alone():
    code = (
        "import os, sys, json; before = dict(os.environ); import eia.refdata.schemas; "
        "print(json.dumps([dict(os.environ) == before, 'pyspark.pandas' in sys.modules]))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SPARK_LOCAL_IP", "PYARROW_IGNORE_TIMEZONE")
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout.splitlines()[-1]) == [True, False]


# Property: whatever frames the contracts accept, the functions downstream accept too, and
# burden's output always meets its own contract.
@st.composite
def contract_frames(draw):
    n = draw(st.integers(1, 12))
    codes = [f"E01{i:06d}" for i in draw(st.permutations(range(n)))]
    groups = draw(st.lists(st.sampled_from(ETHNIC_GROUPS), min_size=1, max_size=5, unique=True))
    people = st.one_of(st.integers(0, 5000), st.floats(0, 5000, allow_nan=False))
    weights = pd.DataFrame(
        {g: draw(st.lists(people, min_size=n, max_size=n)) for g in groups},
        index=pd.Index(codes, name="lsoa21_code"),
    )
    km = st.floats(0, 80, allow_nan=False)
    before = np.array(draw(st.lists(km, min_size=n, max_size=n)))
    after = np.array(draw(st.lists(km, min_size=n, max_size=n)))
    distances = pd.DataFrame(
        {
            "lsoa21_code": codes,
            "nearest_before": "Site A",
            "km_before": before,
            "nearest_after": "Site B",
            "km_after": after,
            "km_change": after - before,
        }
    ).sample(frac=1, random_state=draw(st.integers(0, 99)))
    return schemas.WEIGHTS.validate(weights), schemas.DISTANCES.validate(distances)


@settings(max_examples=40, deadline=None)
@given(contract_frames(), st.floats(0.5, 30))
def test_frames_the_contracts_accept_are_accepted_downstream(frames, threshold):
    weights, distances = frames
    summary = access.summarise(distances, weights, threshold)
    assert summary["population"].iloc[-1] == round(float(weights.to_numpy().sum()))
    keyed = distances.set_index("lsoa21_code")
    table = impact.burden(
        keyed["km_before"], keyed["km_after"], {"ethnic_group": weights}, option="A"
    )
    schemas.BURDEN.validate(table)


@settings(max_examples=40, deadline=None)
@given(contract_frames(), st.sampled_from(["negative", "nan", "repeat", "unnamed"]))
def test_frames_that_break_the_contract_raise_the_projects_error(frames, fault):
    weights, _ = frames
    broken = weights.astype(float)
    if fault == "negative":
        broken.iloc[0, 0] = -1.0
    elif fault == "nan":
        broken.iloc[-1, -1] = np.nan
    elif fault == "repeat":
        broken = pd.concat([broken, broken.iloc[:1]])
    else:
        broken = broken.rename_axis(None)
    with pytest.raises(DataMismatchError) as err:
        schemas.WEIGHTS.validate(broken)
    assert "\n" not in str(err.value) and str(err.value).startswith("weights frame")
