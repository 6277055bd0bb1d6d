"""Journey-time matrices: reading, the clear failures, unreachable pairs, nearest by time, summaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eia import params
from eia.analysis import matrices, traveltime
from eia.errors import TravelTimeError

SITES = [
    {"name": "Alpha Hospital", "id": "RX1RA", "lat": 52.94, "lon": -1.18},
    {"name": "Beta Clinic", "id": "NG5 1PB", "lat": 52.99, "lon": -1.15},
    {"name": "Gamma Centre", "lat": 53.13, "lon": -1.20},  # matched by name
]
DEST = ["RX1RA", "NG5 1PB", "Gamma Centre"]


def proposal(**access):
    return params.parse(
        {
            "id": "tt",
            "title": "Illustrative: travel times",
            "template": "site_change",
            "area": {"icb": "E54000060"},
            "sites": {"current": SITES, "proposed": SITES[:1]},
            **({"access": access} if access else {}),
        }
    )


@pytest.fixture(scope="module")
def codes(pack):
    lookup = pack.lookup()
    return sorted(lookup.loc[lookup["ltla24_code"] == "E06000018", "lsoa21_code"])[:6]


@pytest.fixture(scope="module")
def sites():
    return traveltime.sites_of(proposal())


def long_frame(codes, seed=1):
    rng = np.random.default_rng(seed)
    rows = [(c, d, float(rng.integers(5, 90))) for c in codes for d in DEST]
    return pd.DataFrame(rows, columns=["lsoa", "site", "mins"])


def spec(path, **extra):
    cols = extra.pop("columns", {"origin": "lsoa", "destination": "site", "minutes": "mins"})
    return {"path": str(path), "mode": "car", "columns": cols, **extra}


def read(path, sites, pack, codes, **extra):
    return traveltime.read_matrix(spec(path, **extra), sites, pack, codes)


def test_long_csv_is_read_into_minutes_per_lsoa_and_site(tmp_path, sites, pack, codes):
    frame = long_frame(codes)
    frame.to_csv(tmp_path / "m.csv", index=False)
    m = read(tmp_path / "m.csv", sites, pack, codes)
    assert list(m.minutes.index) == codes
    assert list(m.minutes.columns) == ["Alpha Hospital", "Beta Clinic", "Gamma Centre"]
    expected = frame.pivot(index="lsoa", columns="site", values="mins").loc[codes, DEST]
    np.testing.assert_allclose(m.minutes.to_numpy(), expected.to_numpy())
    assert m.info["pairs_read"] == m.info["pairs_used"] == len(frame)


def test_wide_parquet_gives_the_same_minutes_and_matches_ids_ignoring_case_and_spaces(
    tmp_path, sites, pack, codes
):
    frame = long_frame(codes)
    wide = frame.pivot(index="lsoa", columns="site", values="mins").reset_index()
    wide = wide.rename(columns={"NG5 1PB": "ng51pb", "Gamma Centre": "GAMMA CENTRE"})
    wide["unrelated site"] = 1.0
    wide.to_parquet(tmp_path / "w.parquet", index=False)
    frame.to_csv(tmp_path / "m.csv", index=False)
    m_long = read(tmp_path / "m.csv", sites, pack, codes)
    m_wide = read(tmp_path / "w.parquet", sites, pack, codes, columns={"origin": "lsoa"})
    pd.testing.assert_frame_equal(m_long.minutes, m_wide.minutes)
    assert m_wide.info["destinations_unused"] == 1


def test_unreachable_pairs_are_kept_and_counted_never_dropped(tmp_path, sites, pack, codes):
    frame = long_frame(codes)
    frame["mins"] = frame["mins"].astype(object)
    frame.loc[0, "mins"] = ""  # empty: not reachable
    frame.loc[1, "mins"] = -1  # flagged
    frame.loc[2, "mins"] = "unreachable"  # flagged as text
    frame = frame.drop(index=3)  # absent pair: not reachable
    frame.to_csv(tmp_path / "m.csv", index=False)
    m = read(tmp_path / "m.csv", sites, pack, codes, unreachable=[-1, "unreachable"])
    first = m.minutes.loc[codes[0]]
    assert first.isna().all()  # every site unreachable from the first LSOA
    assert m.info["pairs_unreachable"] == 3 and m.info["pairs_absent"] == 1
    times = traveltime.measure(m, m.minutes.columns, ["Alpha Hospital"])
    row = times.set_index("lsoa21_code").loc[codes[0]]
    assert not row["reachable_before"] and pd.isna(row["nearest_before"])
    weights = pd.DataFrame({"All": 100}, index=pd.Index(codes, name="lsoa21_code"))
    table = traveltime.summarise(times, weights, threshold=1000).set_index("group")
    assert table.loc["All people", "pop_unreachable_before"] == 100
    assert table.loc["All people", "pop_beyond_threshold_before"] == 100  # unreachable is beyond
    assert table.loc["All people", "population"] == 100 * len(codes)  # nobody dropped


def test_a_site_missing_from_the_matrix_fails_naming_file_column_and_site(
    tmp_path, sites, pack, codes
):
    frame = long_frame(codes)
    frame = frame[frame["site"] != "NG5 1PB"]
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(TravelTimeError) as err:
        read(tmp_path / "m.csv", sites, pack, codes)
    message = str(err.value)
    assert "m.csv" in message and "'site'" in message and "'NG5 1PB' (Beta Clinic)" in message
    assert "\n" not in message


def test_origins_not_covering_the_area_fail_naming_missing_lsoas(tmp_path, sites, pack, codes):
    frame = long_frame(codes)
    frame = frame[frame["lsoa"] != codes[2]]
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(TravelTimeError, match=rf"does not cover the area: 1 of its 6 .*{codes[2]}"):
        read(tmp_path / "m.csv", sites, pack, codes)


def test_negative_times_fail_without_echoing_values(tmp_path, sites, pack, codes):
    frame = long_frame(codes)
    frame.loc[4, "mins"] = -37.5
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(TravelTimeError) as err:
        read(tmp_path / "m.csv", sites, pack, codes)
    message = str(err.value)
    assert "negative journey time" in message and "'mins'" in message
    assert codes[1] in message and "37" not in message


def test_non_numeric_times_fail_naming_the_row_not_the_value(tmp_path, sites, pack, codes):
    frame = long_frame(codes)
    frame["mins"] = frame["mins"].astype(object)
    frame.loc[7, "mins"] = "Mrs Smith 12"
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(TravelTimeError) as err:
        read(tmp_path / "m.csv", sites, pack, codes)
    message = str(err.value)
    assert "non-numeric" in message and "'mins'" in message and "row(s) 8" in message
    assert "Smith" not in message


@pytest.mark.parametrize("batch_rows", [2_000_000, 5])
def test_duplicate_pairs_fail_within_and_across_batches(
    tmp_path, sites, pack, codes, monkeypatch, batch_rows
):
    monkeypatch.setattr(matrices, "_BATCH_ROWS", batch_rows)
    frame = long_frame(codes)
    frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    frame.to_parquet(tmp_path / "m.parquet", index=False)
    with pytest.raises(
        TravelTimeError, match=rf"more than once, e.g. origin {codes[1]} to 'RX1RA'"
    ):
        read(tmp_path / "m.parquet", sites, pack, codes)


def test_2011_codes_convert_as_service_data_does(tmp_path, pack):
    lookup = pack.lsoa11_lookup()
    split = lookup[lookup["change_code"] == "S"].groupby("lsoa11_code").filter(lambda g: len(g) > 1)
    code11 = split["lsoa11_code"].iloc[0]
    parts = sorted(split.loc[split["lsoa11_code"] == code11, "lsoa21_code"])
    merged = (
        lookup[lookup["change_code"] == "M"].groupby("lsoa21_code").filter(lambda g: len(g) > 1)
    )
    code21 = merged["lsoa21_code"].iloc[0]
    sources = sorted(merged.loc[merged["lsoa21_code"] == code21, "lsoa11_code"])
    area = [*parts, code21]
    rows = [(code11, d, 10.0 + j) for j, d in enumerate(DEST)]
    rows += [(s, d, 20.0 + 10 * i + j) for i, s in enumerate(sources) for j, d in enumerate(DEST)]
    pd.DataFrame(rows, columns=["lsoa", "site", "mins"]).to_csv(tmp_path / "m.csv", index=False)
    sites = traveltime.sites_of(proposal())
    m = read(tmp_path / "m.csv", sites, pack, area)
    for part in parts:  # each part of a split 2011 area takes its time
        assert list(m.minutes.loc[part]) == [10.0, 11.0, 12.0]
    mean = np.mean([20.0 + 10 * i for i in range(len(sources))])
    assert list(m.minutes.loc[code21]) == pytest.approx([mean, mean + 1, mean + 2])
    assert m.info["origins_converted_from_2011"] == 1 + len(sources)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0, 200)),
            st.one_of(st.none(), st.floats(0, 200)),
            st.one_of(st.none(), st.floats(0, 200)),
            st.integers(0, 5000),
            st.integers(0, 5000),
        ),
        min_size=1,
        max_size=30,
    ),
    st.floats(1, 150),
)
def test_summaries_equal_a_direct_computation(rows, threshold):
    codes = [f"E01{i:06d}" for i in range(len(rows))]
    minutes = pd.DataFrame(
        [[np.nan if v is None else v for v in r[:3]] for r in rows],
        index=pd.Index(codes, name="lsoa21_code"),
        columns=["A", "B", "C"],
        dtype="float32",
    )
    m = traveltime.Matrix("car", "x.csv", "x", True, minutes)
    times = traveltime.measure(m, ["A", "B", "C"], ["C"])
    weights = pd.DataFrame(
        {"g1": [r[3] for r in rows], "g2": [r[4] for r in rows]},
        index=pd.Index(codes, name="lsoa21_code"),
    )
    table = traveltime.summarise(times.iloc[::-1], weights, threshold).set_index("group")
    for group, w in (("g1", weights["g1"]), ("All people", weights.sum(axis=1))):
        exact = minutes.astype("float64")  # the minutes as stored (float32), compared exactly
        before = exact.min(axis=1)  # pandas skips NaN: unreachable only if all are NaN
        after = exact["C"]
        row = table.loc[group]
        assert row["population"] == w.sum()
        assert row["pop_unreachable_before"] == w[before.isna()].sum()
        assert row["pop_unreachable_after"] == w[after.isna()].sum()
        assert row["pop_beyond_threshold_after"] == w[after.isna() | (after > threshold)].sum()
        # the means are over the same residents: those who reach a site before and after
        reach = before.notna() & after.notna() & (w > 0)
        if reach.any():
            expect_b = (before[reach] * w[reach]).sum() / w[reach].sum()
            expect_a = (after[reach] * w[reach]).sum() / w[reach].sum()
            assert row["mean_minutes_before"] == pytest.approx(expect_b, rel=1e-5)
            assert row["mean_minutes_after"] == pytest.approx(expect_a, rel=1e-5)
            # the figures add up: change = after - before, exactly
            assert row["mean_minutes_change"] == pytest.approx(
                row["mean_minutes_after"] - row["mean_minutes_before"], abs=1e-9
            )
        else:
            assert np.isnan(row["mean_minutes_before"]) and np.isnan(row["mean_minutes_change"])
        assert row["pop_reach_both"] == w[before.notna() & after.notna()].sum()
        assert row["pop_lose_access"] == w[before.notna() & after.isna()].sum()
        assert row["pop_gain_access"] == w[before.isna() & after.notna()].sum()
        parts = ("pop_reach_both", "pop_lose_access", "pop_gain_access", "pop_reach_neither")
        assert sum(row[k] for k in parts) == row["population"]  # nobody dropped
        assert row["pop_unreachable_after"] == row["pop_lose_access"] + row["pop_reach_neither"]
        assert row["pop_unreachable_before"] == row["pop_gain_access"] + row["pop_reach_neither"]
        assert row["pop_unreachable_after"] <= row["pop_beyond_threshold_after"]


def test_example_matrices_are_generated_reproducibly_and_labelled_synthetic(tmp_path, pack):
    example = params.load(
        Path(__file__).resolve().parents[1] / "params/examples/notts-diagnostics-travel-time.yaml",
        pack,
    )
    assert all(t.synthetic for t in example.access.travel_times)
    copy = example.model_copy()
    first = traveltime.ensure_synthetic(copy, tmp_path / "a", pack)
    again = traveltime.ensure_synthetic(copy, tmp_path / "b", pack)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert traveltime.ensure_synthetic(copy, tmp_path / "a", pack) == []  # kept once written
    car = pd.read_csv(first[1])
    assert set(car["site_id"]) == {"RX1RA", "RX1CC", "RK5BC"}
    pt = pd.read_csv(first[0])
    assert pt["minutes"].isna().any() and (pt["minutes"].dropna() > 0).all()
