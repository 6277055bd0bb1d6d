"""End to end: the journey-time example renders minutes by group per mode, with ratings and an
options appraisal in minutes, and its figures equal an independent computation from the matrices."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eia.runner.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "examples" / "notts-diagnostics-travel-time.yaml"
OPTIONS = {
    "Option A: close King's Mill": ["RX1RA", "RX1CC"],
    "Option B: close City Hospital": ["RX1RA", "RK5BC"],
}
THRESHOLD = {"car": 20, "public_transport": 45}


@pytest.fixture(scope="module")
def result(example_runs):
    """The example's RunResult, from the session's one batch (tests/conftest.py)."""
    return example_runs[EXAMPLE.stem]


@pytest.fixture(scope="module")
def metrics(result):
    return json.loads(result.metrics.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def text(result):
    html = result.report.read_text(encoding="utf-8")
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def independent(pack, mode: str, option: str) -> pd.DataFrame:
    """Mean minutes and people beyond the threshold by IMD quintile, straight from the CSV."""
    name = "public-transport" if mode == "public_transport" else mode
    matrix = pd.read_csv(EXAMPLE.parent / "data" / f"notts-diagnostics-travel-time-{name}.csv")
    wide = matrix.pivot(index="lsoa21_code", columns="site_id", values="minutes")
    before = wide[["RX1RA", "RX1CC", "RK5BC"]].min(axis=1)  # NaN only if no site is reachable
    after = wide[OPTIONS[option]].min(axis=1)
    lookup = pack.lookup()
    codes = lookup.loc[lookup["icb24_code"] == "E54000060", "lsoa21_code"]
    imd = pack.imd2025().set_index("lsoa21_code").loc[codes, "IMD_decile"]
    people = pack.population().reindex(codes)
    frame = pd.DataFrame(
        {
            "q": (imd.to_numpy() + 1) // 2,
            "pop": people.to_numpy(),
            "before": before.reindex(codes).to_numpy(),
            "after": after.reindex(codes).to_numpy(),
        }
    )
    out = {}
    for q, part in frame.groupby("q"):
        reach = part["after"].notna()
        out[q] = {
            "mean_minutes_after": np.average(
                part.loc[reach, "after"], weights=part.loc[reach, "pop"]
            ),
            "pop_beyond_threshold_after": part.loc[
                part["after"].isna() | (part["after"] > THRESHOLD[mode]), "pop"
            ].sum(),
            "pop_unreachable_after": part.loc[part["after"].isna(), "pop"].sum(),
            "population": part["pop"].sum(),
        }
    return pd.DataFrame(out).T


@pytest.mark.parametrize("mode", ["public_transport", "car"])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_metrics_equal_an_independent_computation_from_the_matrix(metrics, pack, mode, option):
    rows = metrics["access"]["by_mode"][mode]["by_option"][option]["by_imd_quintile"]
    expected = independent(pack, mode, option)
    for q, row in enumerate(rows[:5], start=1):
        assert row["population"] == expected.loc[q, "population"]
        assert row["mean_minutes_after"] == pytest.approx(
            expected.loc[q, "mean_minutes_after"], rel=1e-5
        )
        for key in ("pop_beyond_threshold_after", "pop_unreachable_after"):
            assert row[key] == expected.loc[q, key], (mode, option, q, key)


def test_metrics_carry_every_mode_with_units_lead_mode_first(metrics):
    by_mode = metrics["access"]["by_mode"]
    assert list(by_mode) == ["public_transport", "car"] or set(by_mode) == {
        "public_transport",
        "car",
    }
    assert by_mode["public_transport"]["lead"] and not by_mode["car"]["lead"]
    for mode, block in by_mode.items():
        assert block["unit"] == "min" and block["synthetic"] is True
        assert block["threshold_minutes"] == THRESHOLD[mode]
        row = block["by_ethnic_group"][0]
        for key in (
            "mean_minutes_before",
            "mean_minutes_after",
            "pop_beyond_threshold_before",
            "pop_beyond_threshold_after",
            "pop_unreachable_after",
        ):
            assert key in row
    unreachable = by_mode["public_transport"]["by_imd_quintile"][-1]["pop_unreachable_before"]
    assert unreachable > 0  # the synthetic bus network leaves some rural LSOAs without a route
    assert {r["unit"] for r in metrics["impacts"] if r.get("unit")} == {"min"}
    assert metrics["access"]["judged_on"] == "minutes by public_transport"


def test_report_shows_minutes_by_group_per_mode_with_ratings_and_options_in_minutes(text):
    assert "Journey times by national IMD 2025 quintile" in text
    assert "Public transport: mean minutes now → after (change)" in text
    assert "Car: beyond 20 min now → after" in text
    assert "Public transport: not reachable now → after" in text
    assert text.index("Public transport: mean minutes") < text.index("Car: mean minutes")
    # The decision card and the ratings speak in minutes of the lead mode, not km.
    assert re.search(r"On average it (adds|saves) [\d.]+ min per resident", text)
    assert "Travel time added per resident on average, and people newly more than 45 min" in text
    assert "More than 10 min longer" in text
    assert "Options ranked by each mode's journey times" in text
    assert "Straight-line distance (for comparison)" in text
    assert "Public transport: far from a site (ratings rest on this mode) more than 45 min" in text
    assert "The journey times by public transport and car in this report are synthetic" in text


@pytest.mark.slow  # the kernel starts, and reports the bad input
def test_a_bad_matrix_exits_2_and_publishes_nothing(refdata_dir, tmp_path, capsys):
    (tmp_path / "car.csv").write_text("lsoa,site,mins\nE01013810,RX1RA,12\n", encoding="utf-8")
    params = tmp_path / "p.yaml"
    params.write_text(
        "id: bad-matrix\ntitle: 'Illustrative: bad matrix'\ntemplate: site_change\n"
        "area: {icb: E54000060}\n"
        'sites:\n  current: [{id: RX1RA, hospital: "King\'s Mill Hospital"}]\n'
        "  proposed: [{name: Hub, lat: 53.0, lon: -1.2}]\n"
        "access: {travel_times: [{path: car.csv, mode: car,"
        " columns: {origin: lsoa, destination: site, minutes: mins}}]}\n",
        encoding="utf-8",
    )
    assert main(["run", str(params), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "car.csv" in err and "'site'" in err and "'Hub'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "bad-matrix" / "report.html").exists()
