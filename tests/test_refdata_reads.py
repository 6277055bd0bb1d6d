"""Quick reads of the reference pack give what the plain reads give.

Contract checks remembered by sha256 (eia.refdata.checked): a file is checked once per content
and contract, a changed file or contract is checked again, a bad file fails the same way every
run, a corrupt record file is ignored. GeoParquet read with one parsed CRS, hospital clusters
and LSOA name keys give exactly what geopandas and the one-by-one code give.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from test_schemas import ETHNICITY, ethnicity_frame, write_pack

from eia.errors import RefDataError
from eia.refdata import Pack, checked, hospitals, lsoa21, schemas
from eia.refdata import pack as pack_mod


@pytest.fixture(autouse=True)
def tiny_packs(monkeypatch):
    """Packs of one file: verified against their own manifest, no required files."""
    monkeypatch.setattr(pack_mod, "_verified", lambda folder: pack_mod.verify(folder, ()))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh records folder for the test, read anew (as a new process would)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(checked.CACHE_ENV_VAR, str(folder))
    checked._loaded.clear()
    yield folder
    checked._loaded.clear()


@pytest.fixture
def checks(monkeypatch):
    """How many times each pack file was checked against its contract."""
    seen: list[str] = []
    validate = schemas.Contract.validate

    def counting(self, frame, what=None, columns=None):
        seen.append(self.name)
        return validate(self, frame, what, columns)

    monkeypatch.setattr(schemas.Contract, "validate", counting)
    return seen


def read_ethnicity(folder) -> pd.DataFrame:
    """A run's read of the file: a new Pack (and a new process's view of the records)."""
    checked._loaded.clear()
    return Pack(folder).ethnicity()


def test_a_file_that_met_its_contract_is_not_checked_again(tmp_path, cache, checks):
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    first = read_ethnicity(folder)
    assert len(checks) == 1 and (cache / checked.RECORDS_FILE).is_file()
    again = read_ethnicity(folder)
    assert len(checks) == 1, "the same bytes under the same contract are not checked twice"
    pd.testing.assert_frame_equal(first, again)


def test_a_changed_file_is_checked_again(tmp_path, cache, checks):
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    read_ethnicity(folder)
    changed = ethnicity_frame()
    changed["prop"] = changed["prop"] / 2
    write_pack(folder, {ETHNICITY: changed})
    read_ethnicity(folder)
    assert len(checks) == 2


def test_a_changed_contract_is_checked_again(tmp_path, cache, checks, monkeypatch):
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    read_ethnicity(folder)
    contract = schemas.PACK[ETHNICITY]
    stricter = contract.schema.update_column("n", checks=[schemas._range(0, 5)])
    monkeypatch.setitem(schemas.PACK, ETHNICITY, dataclasses.replace(contract, schema=stricter))
    with pytest.raises(RefDataError, match="column 'n'"):
        read_ethnicity(folder)
    assert len(checks) == 2


def test_a_bad_file_fails_the_same_way_every_run(tmp_path, cache):
    frame = ethnicity_frame()
    frame.loc[0, "n"] = -1
    folder = write_pack(tmp_path / "pack", {ETHNICITY: frame})
    messages = []
    for _ in range(2):
        with pytest.raises(RefDataError) as err:
            read_ethnicity(folder)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "column 'n': 1 value(s) are negative" in messages[0]


@pytest.mark.parametrize(
    "content", ["{not json", '{"format": 1, "passed": 7}', "[1, 2]", "\x00\xff"]
)
def test_a_corrupt_record_file_is_ignored(tmp_path, cache, checks, content):
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    cache.mkdir()
    (cache / checked.RECORDS_FILE).write_text(content, encoding="latin-1")
    read_ethnicity(folder)
    read_ethnicity(folder)
    assert len(checks) == 1, "checked once, then remembered in a rewritten record file"


def test_an_empty_cache_setting_turns_the_records_off(tmp_path, monkeypatch, checks):
    monkeypatch.setenv(checked.CACHE_ENV_VAR, "")
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    read_ethnicity(folder)
    read_ethnicity(folder)
    assert len(checks) == 2 and checked.cache_dir() is None


def test_records_go_to_the_user_cache_not_the_pack(tmp_path, monkeypatch):
    monkeypatch.delenv(checked.CACHE_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert checked.cache_dir() == tmp_path / "xdg" / "eia"


@pytest.mark.parametrize(
    ("name", "filtered"),
    [
        ("lsoa21_boundaries.parquet", True),
        ("hospitals22_points.parquet", False),
        ("ltla24_boundaries.parquet", False),
        ("icb22_boundaries.parquet", False),
    ],
)
def test_geoparquet_reads_as_geopandas_reads_it(pack, name, filtered):
    codes = sorted(pack.lookup()["lsoa21_code"].iloc[::50])
    filters = [("lsoa21_code", "in", codes)] if filtered else None
    mine = pack._read_geo(name, filters)
    plain = gpd.read_parquet(pack.path(name), filters=filters).to_crs("EPSG:27700")
    assert_geodataframe_equal(mine, plain)
    assert np.array_equal(
        shapely.get_coordinates(mine.geometry.to_numpy()),
        shapely.get_coordinates(plain.geometry.to_numpy()),
    )


def test_hospital_clusters_are_those_of_the_one_by_one_grouping(pack):
    table = hospitals._sites(pack)
    first = pd.Series(True, index=table.index)
    listed = pd.Series(1, index=table.index)
    for _, rows in table[table["key"].duplicated(keep=False)].groupby("key"):
        for cluster in hospitals._clusters(rows):
            listed[cluster.index] = len(cluster)
            first[cluster.index[1:]] = False
    assert (table["listed"] > 1).any(), "the real pack lists some hospitals more than once"
    pd.testing.assert_series_equal(table["first"], first, check_names=False)
    pd.testing.assert_series_equal(table["listed"], listed, check_names=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=20))
def test_name_keys_are_those_of_name_key(names):
    series = pd.Series(names, dtype=object)
    assert lsoa21._name_keys(series) == [lsoa21._name_key(n) for n in names]


def test_name_keys_of_the_real_pack(pack):
    names = pack.lookup()["lsoa21_name"]
    assert lsoa21._name_keys(names) == [lsoa21._name_key(n) for n in names.tolist()]


def test_reading_some_rows_checks_the_whole_file_once(tmp_path, cache, checks):
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    part = Pack(folder)._read(ETHNICITY, filters=[("lsoa21_code", "in", ["E01000002"])])
    assert set(part["lsoa21_code"]) == {"E01000002"}
    assert len(checks) == 1, "the whole file, once"
    checked._loaded.clear()
    Pack(folder)._read(ETHNICITY, filters=[("lsoa21_code", "in", ["E01000001"])])
    assert len(checks) == 1, "remembered for the next run"


def test_a_bad_row_outside_the_rows_read_still_fails(tmp_path, cache):
    frame = ethnicity_frame()
    frame.loc[frame["lsoa21_code"] == "E01000001", "n"] = -1
    folder = write_pack(tmp_path / "pack", {ETHNICITY: frame})
    with pytest.raises(RefDataError, match="column 'n'"):
        Pack(folder)._read(ETHNICITY, filters=[("lsoa21_code", "in", ["E01000002"])])


def test_population_by_age_of_some_lsoas_is_those_rows_of_the_whole(pack):
    codes = tuple(pack.lookup()["lsoa21_code"].iloc[5:2000:7])
    part = pack.population_by_age(codes)
    whole = pack.population_by_age()
    pd.testing.assert_frame_equal(part, whole[whole.index.isin(codes)])


def test_without_the_contracts_source_nothing_is_remembered(tmp_path, cache, checks, monkeypatch):
    monkeypatch.setattr(checked, "_environment", lambda: None)
    folder = write_pack(tmp_path / "pack", {ETHNICITY: ethnicity_frame()})
    read_ethnicity(folder)
    read_ethnicity(folder)
    assert len(checks) == 2 and not (cache / checked.RECORDS_FILE).exists()
