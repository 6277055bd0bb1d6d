"""Reading service extracts (formats, encodings, bad input) and joining them to LSOA 2021."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from eia.errors import EIAError, ServiceDataError
from eia.population.ethnicity import NOT_KNOWN, NOT_STATED
from eia.refdata.lsoa21 import resolve_codes
from eia.service.aggregate import read_service
from eia.service.columns import ServiceDataWarning, check_columns
from eia.service.join import join_to_lsoa21
from eia.service.load import load_service

FIXTURES = Path(__file__).parent / "fixtures" / "service"
EVENTS = {
    "lsoa": "LSOA code",
    "ethnicity": "Ethnic Category",
    "age": "Age",
    "sex": "Sex",
    "date": "Activity Date",
}
WHITE = "White"
ASIAN = "Asian, Asian British or Asian Welsh"


def read_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        return read_service(*args, **kwargs)


# Reading: formats and encodings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("events.csv", {}),
        ("events_bom.csv", {}),
        ("events.xlsx", {"sheet": "Bookings"}),
        ("events.parquet", {}),
    ],
)
def test_each_format_reads_to_the_same_aggregate(name, kwargs):
    extract = read_service(FIXTURES / name, EVENTS, **kwargs)
    expected = read_service(FIXTURES / "events.csv", EVENTS)
    pd.testing.assert_frame_equal(extract.by_code, expected.by_code)
    pd.testing.assert_frame_equal(extract.by_code_age_sex, expected.by_code_age_sex)
    info = extract.info
    assert info["records_read"] == 15 and info["count_read"] == 15
    assert (info["date_first"], info["date_last"]) == ("2024-04-03", "2025-03-15")
    assert info["source"] == name


def test_aggregate_shape_and_normalised_values():
    extract = read_service(FIXTURES / "events.csv", EVENTS)
    by_code = extract.by_code
    assert list(by_code.columns) == ["code", "ethnic_group", "count", "records"]
    # "e01013887 " with trailing space and lower case joins its upper-case twin.
    assert by_code.loc[by_code["code"] == "E01013887", "count"].sum() == 3
    assert len(by_code) < extract.info["records_read"]  # aggregated, not record-level
    groups = by_code.groupby("ethnic_group")["count"].sum()
    assert groups[NOT_STATED] == 1 and groups[NOT_KNOWN] == 2  # "99" and a blank
    assert groups[ASIAN] == 3  # "h", "R" and "Chinese"
    age_sex = extract.by_code_age_sex
    assert list(age_sex.columns) == ["code", "age_band", "sex", "count", "records"]
    assert set(age_sex["sex"]) == {"Female"}
    assert "30-34" in set(age_sex["age_band"])


def test_cp1252_falls_back_with_a_warning():
    with pytest.warns(ServiceDataWarning) as caught:
        extract = read_service(FIXTURES / "events_cp1252.csv", EVENTS)
    ours = [w.message for w in caught if w.category is ServiceDataWarning]
    assert [w.code for w in ours] == ["not_utf8"]
    assert extract.info["encoding"] == "cp1252"
    expected = read_service(FIXTURES / "events.csv", EVENTS)
    pd.testing.assert_frame_equal(extract.by_code, expected.by_code)


def test_utf8_with_and_without_bom_need_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ServiceDataWarning)
        assert read_service(FIXTURES / "events_bom.csv", EVENTS).info["encoding"] == "utf-8"
        assert read_service(FIXTURES / "events.csv", EVENTS).info["encoding"] == "utf-8"


def test_xlsx_first_sheet_by_default_and_named_sheet(tmp_path):
    # The fixture's first sheet is a cover note: the error lists the columns it has.
    with pytest.raises(ServiceDataError, match=r"not found.*Columns found: 'note'"):
        read_service(FIXTURES / "events.xlsx", EVENTS)
    with pytest.raises(ServiceDataError, match="no sheet 'Nope'.*About, Bookings"):
        read_service(FIXTURES / "events.xlsx", EVENTS, sheet="Nope")
    assert read_service(FIXTURES / "events.xlsx", EVENTS, sheet=1).info["records_read"] == 15


def test_only_mapped_columns_are_read(tmp_path):
    # An unmapped column full of bytes that are not UTF-8 changes nothing.
    path = tmp_path / "extra.csv"
    path.write_bytes(b"lsoa,notes\nE01033400,caf\xe9\nE01033400,\xff\xfe\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ServiceDataWarning)
        extract = read_service(path, {"lsoa": "lsoa"})
    assert extract.by_code["count"].tolist() == [2.0]
    assert list(extract.by_code.columns) == ["code", "count", "records"]


def test_column_names_match_ignoring_case_and_spaces(tmp_path):
    path = tmp_path / "caps.csv"
    path.write_text(" LSOA_Code ,N\nE01033400,2.5\n", encoding="utf-8")
    extract = read_service(path, {"lsoa": "lsoa_code", "count": "n"})
    assert extract.by_code["count"].tolist() == [2.5]


def test_semicolon_and_tab_delimited_csv(tmp_path):
    for sep, name in ((";", "semi.csv"), ("\t", "tab.tsv")):
        path = tmp_path / name
        path.write_text(f"lsoa{sep}n\nE01033400{sep}1,5\nE01033400{sep}2\n".replace("1,5", "1"))
        assert read_service(path, {"lsoa": "lsoa", "count": "n"}).by_code["count"].sum() == 3


def test_fractional_counts_and_thousands_separators(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text('lsoa,n\nE01033400,0.25\nE01033400,"1,200"\nE01013887, 3.5 \n')
    extract = read_service(path, {"lsoa": "lsoa", "count": "n"})
    assert extract.info["count_read"] == pytest.approx(1203.75)
    assert extract.info["records_read"] == 3


def test_numeric_parquet_counts_and_timestamp_dates(tmp_path):
    frame = pd.DataFrame(
        {
            "code": ["E01033400", "E01033400", None],
            "n": [1.5, 2.0, 1.0],
            "when": pd.to_datetime(["2024-04-01", "2024-05-01", None]),
        }
    )
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path)
    extract = read_service(path, {"lsoa": "code", "count": "n", "date": "when"})
    assert extract.info["count_read"] == 4.5
    assert extract.info["date_first"] == "2024-04-01" and extract.info["dates_missing"] == 1


# Bad input --------------------------------------------------------------------------------


def test_bad_input_errors_are_eia_errors_with_exit_code_2():
    assert issubclass(ServiceDataError, EIAError) and ServiceDataError.exit_code == 2


def test_missing_file(tmp_path):
    with pytest.raises(ServiceDataError, match="does not exist"):
        read_service(tmp_path / "nope.csv", {"lsoa": "lsoa"})


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(ServiceDataError, match="is not a file"):
        read_service(tmp_path, {"lsoa": "lsoa"})


@pytest.mark.parametrize("name", ["garbage.parquet", "garbage.xlsx"])
def test_unreadable_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 this is not what it claims to be \x02" * 10)
    with pytest.raises(ServiceDataError, match="cannot be read"):
        read_service(path, {"lsoa": "lsoa"})


def test_old_excel_format_is_refused(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ServiceDataError, match=r"\.xls files are not supported"):
        read_service(path, {"lsoa": "lsoa"})


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"lsoa,n\n", "no records"),
        ("blank.csv", b"\n\n", "empty"),
    ],
)
def test_empty_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ServiceDataError, match=message):
        read_service(path, {"lsoa": "lsoa"})


def test_empty_parquet_and_xlsx(tmp_path):
    pd.DataFrame({"lsoa": pd.Series([], dtype=str)}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(ServiceDataError, match="no records"):
        read_service(tmp_path / "e.parquet", {"lsoa": "lsoa"})
    pd.DataFrame({"lsoa": pd.Series([], dtype=str)}).to_excel(tmp_path / "e.xlsx", index=False)
    with pytest.raises(ServiceDataError, match="no records"):
        read_service(tmp_path / "e.xlsx", {"lsoa": "lsoa"})


def test_missing_mapped_column_lists_columns_found(tmp_path):
    with pytest.raises(ServiceDataError) as info:
        read_service(FIXTURES / "events.csv", {"lsoa": "LSOA code", "count": "attendances"})
    message = str(info.value)
    assert "count: 'attendances'" in message
    assert "'LSOA code', 'Ethnic Category', 'Age', 'Sex', 'Activity Date'" in message


def test_non_numeric_counts_name_the_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("lsoa,n\nE01033400,1\nE01033400,two\nE01033400,\nE01033400,3\n")
    with pytest.raises(ServiceDataError, match=r"2 value\(s\).*rows 2 \(aaa\), 3"):
        read_service(path, {"lsoa": "lsoa", "count": "n"})


def test_negative_counts_name_the_rows(tmp_path):
    path = tmp_path / "neg.csv"
    path.write_text("lsoa,n\nE01033400,1\nE01033400,-2\nE01033400,-0.5\n")
    with pytest.raises(ServiceDataError, match=r"2 negative value\(s\), in rows 2 .*3 "):
        read_service(path, {"lsoa": "lsoa", "count": "n"})


def test_nan_counts_in_parquet_name_the_rows(tmp_path):
    pd.DataFrame({"lsoa": ["E01033400"] * 3, "n": [1.0, np.nan, np.inf]}).to_parquet(
        tmp_path / "nan.parquet"
    )
    with pytest.raises(ServiceDataError, match=r"2 value\(s\).*rows 2, 3"):
        read_service(tmp_path / "nan.parquet", {"lsoa": "lsoa", "count": "n"})


def test_dates_that_do_not_parse_name_the_rows(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text(
        "lsoa,d\nE01033400,2024-04-01\nE01033400,31/13/2024\nE01033400,\nE01033400,soon\n"
    )
    with pytest.raises(ServiceDataError, match=r"2 value\(s\) that are not dates.*rows 2 .*4 "):
        read_service(path, {"lsoa": "lsoa", "date": "d"})


def test_uk_and_iso_dates_parse(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text("lsoa,d\nE01033400,2024-04-01\nE01033400,31/03/2025\nE01033400,\n")
    info = read_service(path, {"lsoa": "lsoa", "date": "d"}).info
    assert (info["date_first"], info["date_last"], info["dates_missing"]) == (
        "2024-04-01",
        "2025-03-31",
        1,
    )


def test_columns_mapping_is_checked():
    with pytest.raises(ServiceDataError, match="lsoa is required"):
        check_columns({"count": "n"})
    with pytest.raises(ServiceDataError, match="unknown role"):
        check_columns({"lsoa": "a", "postcode": "b"})
    assert check_columns({"lsoa": "a", "count": None}) == {"lsoa": "a"}


def test_load_service_needs_a_path():
    with pytest.raises(ServiceDataError, match="service.path is required"):
        load_service({"columns": {"lsoa": "x"}}, pack=None, area_codes=[])


# Joining to LSOA 2021, with a tiny hand-made pack -------------------------------------------


def fake_pack():
    """Two 2021 areas unchanged, one 2011 area split in two, two merged, one irregular."""
    lookup = pd.DataFrame(
        {
            "lsoa21_code": [
                "E01000001",
                "E01000002",
                "E01000010",
                "E01000011",
                "E01000020",
                "E01000030",
                "E01000031",
                "W01000001",
            ],
            "lsoa21_name": [
                "Alpha 001A",
                "Alpha 001B",
                "Alpha 002C",
                "Alpha 002D",
                "Alpha 003E",
                "Alpha 004F",
                "Beta 001A",
                "Cymru 001A",
            ],
        }
    )
    lsoa11 = pd.DataFrame(
        {
            "lsoa11_code": [
                "E01000001",
                "E01000002",
                "E01000003",
                "E01000003",
                "E01000004",
                "E01000005",
                "E01000006",
                "E01000006",
            ],
            "lsoa11_name": [
                "Alpha 001A",
                "Alpha 001B",
                "Alpha 002A",
                "Alpha 002A",
                "Alpha 003A",
                "Alpha 003B",
                "Alpha 004A",
                "Alpha 004A",
            ],
            "change_code": ["U", "U", "S", "S", "M", "M", "X", "X"],
            "lsoa21_code": [
                "E01000001",
                "E01000002",
                "E01000010",
                "E01000011",
                "E01000020",
                "E01000020",
                "E01000030",
                "E01000031",
            ],
            "lsoa21_name": [
                "Alpha 001A",
                "Alpha 001B",
                "Alpha 002C",
                "Alpha 002D",
                "Alpha 003E",
                "Alpha 003E",
                "Alpha 004F",
                "Beta 001A",
            ],
        }
    )
    population = pd.Series(
        [1000, 1200, 300, 900, 1500, 800, 5000, 1100],
        index=lookup["lsoa21_code"],
    )
    return SimpleNamespace(
        lookup=lambda: lookup, lsoa11_lookup=lambda: lsoa11, population=lambda: population
    )


def test_resolve_each_vintage_path():
    pack = fake_pack()
    out = resolve_codes(
        [
            "E01000001",
            "E01000003",
            "E01000004",
            "E01000006",
            "ALPHA 002C",
            "alpha 002a",
            "E01999999",
            "NOT A CODE",
            None,
        ],
        pack,
    )
    routes = out.groupby("code", dropna=False)["route"].first().to_dict()
    assert routes["E01000001"] == "lsoa21"
    assert routes["E01000003"] == "lsoa11_split"
    assert routes["E01000004"] == "lsoa11_merged"
    assert routes["E01000006"] == "lsoa11_irregular"
    assert routes["ALPHA 002C"] == "name:lsoa21"
    assert routes["alpha 002a"] == "name:lsoa11_split"
    assert routes["E01999999"] == "unknown_code"
    assert routes["NOT A CODE"] == "malformed"
    split = out[out["code"] == "E01000003"].set_index("lsoa21_code")["weight"]
    assert split.to_dict() == pytest.approx({"E01000010": 0.25, "E01000011": 0.75})
    # Irregular: the best fit is the 2021 area in the same local authority ("Alpha").
    assert out.loc[out["code"] == "E01000006", "lsoa21_code"].tolist() == ["E01000030"]


def test_join_apportions_a_split_area_and_preserves_totals():
    pack = fake_pack()
    agg = pd.DataFrame(
        {
            "code": [
                "E01000001",
                "E01000003",
                "E01000004",
                "E01000005",
                "W01000001",
                "E01000031",
                None,
                "XYZ",
                "ALPHA 001B",
            ],
            "count": [10.0, 8.0, 2.5, 1.5, 3.0, 4.0, 1.0, 2.0, 6.0],
            "records": [10, 8, 3, 2, 3, 4, 1, 2, 6],
        }
    )
    area = ["E01000001", "E01000002", "E01000010", "E01000011", "E01000020"]
    with pytest.warns(ServiceDataWarning) as caught:
        joined, quality = join_to_lsoa21(agg, pack, area)
    [note] = [w.message.as_dict() for w in caught if w.category is ServiceDataWarning]
    assert note["code"] == "names_matched" and note["n"] == len(note["examples"]) >= 1
    by = joined.set_index("lsoa21_code")["count"]
    assert by["E01000010"] == pytest.approx(2.0) and by["E01000011"] == pytest.approx(6.0)
    assert by["E01000020"] == pytest.approx(4.0)
    assert by["E01000002"] == pytest.approx(6.0)
    assert quality["count_read"] == pytest.approx(38.0)
    assert quality["count_in_area"] == pytest.approx(28.0)
    assert quality["count_outside_area"] == pytest.approx(7.0)  # Welsh 3 + Beta 4
    assert quality["count_welsh"] == pytest.approx(3.0)
    assert quality["count_unmatched"] == pytest.approx(3.0)
    assert quality["count_converted_from_2011"] == pytest.approx(12.0)
    assert quality["count_matched_by_name"] == pytest.approx(6.0)
    assert quality["unmatched_examples"] == [
        "(blank)",
        "(1 value that is not an LSOA code or name)",
    ]
    total = quality["count_in_area"] + quality["count_outside_area"] + quality["count_unmatched"]
    assert total == pytest.approx(quality["count_read"])


PATIENT_VALUES = [
    "01/02/1960",
    "943-476-5919",
    "FLAT 3, 12 ACACIA AVE",
    "JOHN SMITH",
    "MRS A PATEL (DOB 1961)",
    "NG7-2UH",
    "NG7 2UH",
    "9434765919",
]


def test_unmatched_examples_quote_only_codes_and_count_the_rest():
    """Finding 2: patient-level values are counted by kind, never echoed."""
    pack = fake_pack()
    agg = pd.DataFrame(
        {
            "code": [*PATIENT_VALUES, "E02002317", "w02000001", None],
            "count": [5.0] * len(PATIENT_VALUES) + [2.0, 1.0, 1.0],
        }
    )
    _, quality = join_to_lsoa21(agg, pack, ["E01000001"])
    examples = quality["unmatched_examples"]
    assert examples == [
        "E02002317",
        "W02000001",
        "(blank)",
        f"({len(PATIENT_VALUES)} values that are not LSOA codes or names)",
    ]
    text = " ".join(examples)
    for value in PATIENT_VALUES:
        for part in value.replace(",", " ").split():
            if len(part) > 2:
                assert part not in text


# Joining with the real reference pack --------------------------------------------------------


@pytest.fixture(scope="module")
def notts_codes(pack):
    from eia.population.area import select_lsoas

    return select_lsoas(pack, {"icb": "E54000060"})


def test_real_vintages_split_merge_name_welsh_outside(pack, notts_codes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ServiceDataWarning)
        extract = read_service(FIXTURES / "events.csv", EVENTS)
        joined, quality = join_to_lsoa21(extract, pack, notts_codes)
    by = joined.groupby("lsoa21_code")["count"].sum()
    population = pack.population()
    # E01033404 (Nottingham 028G) split into E01035501 and E01035502: apportioned by population.
    share = population["E01035501"] / (population["E01035501"] + population["E01035502"])
    assert by["E01035501"] == pytest.approx(2 * share)
    assert by["E01035502"] == pytest.approx(2 * (1 - share))
    assert by["E01035507"] == 1  # E01013974 merged into E01035507
    assert by["E01013887"] == 4  # by code (three ways of writing it) and by name
    assert quality["count_in_area"] == 11
    # Two split, one merged, and W01000001, a Welsh 2011 code merged in 2021.
    assert quality["count_converted_from_2011"] == 4
    assert quality["count_welsh"] == 1
    assert quality["count_outside_area"] == 2  # Welsh + City of London
    assert quality["count_unmatched"] == 2  # blank + XYZ
    assert quality["ethnicity_not_stated_share"] == pytest.approx(1 / 11)


def test_annual_counts_with_2011_codes(pack, notts_codes):
    extract = read_service(
        FIXTURES / "annual_counts.csv", {"lsoa": "lsoa11", "count": "attendances_per_year"}
    )
    joined, quality = join_to_lsoa21(extract, pack, notts_codes)
    assert quality["count_read"] == pytest.approx(27.5)
    assert quality["count_in_area"] == pytest.approx(25.9)
    assert quality["count_outside_area"] == pytest.approx(1.6)
    assert joined["count"].sum() == pytest.approx(25.9)


def test_real_world_shaped_2011_extract_keeps_its_total(pack, notts_codes, tmp_path):
    """Every 2011 LSOA of the area with a fractional annual count: in-area total within 0.5%."""
    lookup = pack.lsoa11_lookup()
    codes11 = lookup.loc[lookup["lsoa21_code"].isin(notts_codes), "lsoa11_code"].unique()
    rng = np.random.default_rng(4)
    counts = np.round(rng.gamma(2.0, 6.0, size=len(codes11)), 2)
    frame = pd.DataFrame({"LSOA11CD": codes11, "annual_avg": counts})
    path = tmp_path / "annual.csv"
    frame.to_csv(path, index=False)
    data = load_service(
        {"path": path.name, "columns": {"lsoa": "LSOA11CD", "count": "annual_avg"}},
        pack,
        notts_codes,
        base_dir=tmp_path,
    )
    assert data.quality["count_converted_from_2011"] > 0
    assert data.quality["count_in_area"] == pytest.approx(counts.sum(), rel=0.005)
    assert data.by_lsoa["count"].sum() == pytest.approx(data.quality["count_in_area"])
    assert list(data.by_lsoa["lsoa21_code"]) == list(notts_codes)


def test_load_service_from_a_params_block(pack, notts_codes, tmp_path):
    shutil.copy(FIXTURES / "events.parquet", tmp_path / "events.parquet")
    spec = {
        "path": "events.parquet",
        "columns": EVENTS,
        "label": "maternity bookings (test)",
        "synthetic": True,
        "generate": None,  # other keys of the params block are ignored
    }
    with pytest.warns(ServiceDataWarning):
        data = load_service(spec, pack, notts_codes, base_dir=tmp_path)
    assert data.label == "maternity bookings (test)" and data.synthetic
    assert len(data.by_lsoa) == len(notts_codes)
    assert data.by_lsoa["count"].sum() == 11
    assert set(data.by_lsoa_ethnicity.columns) == {"lsoa21_code", "ethnic_group", "count"}
    assert set(data.by_lsoa_age_sex.columns) == {"lsoa21_code", "age_band", "sex", "count"}
    assert data.by_lsoa_age_sex["count"].sum() == 11
    text = repr(data)
    assert "15 records" in text and "E01" not in text  # no rows in the repr
