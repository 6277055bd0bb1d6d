"""Area selection on the real pack, and distance calculations on hand-checkable cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from eia.analysis import access
from eia.population.area import build_area, group_populations, select_lsoas


def test_nottingham_icb_has_684_lsoas_in_8_authorities(notts_area):
    assert len(notts_area) == 684
    assert notts_area["ltla24_code"].nunique() == 8
    assert (notts_area["ltla24_name"] == "Nottingham").sum() == 179


def test_nhs_icb_code_selects_the_same_area(pack):
    assert select_lsoas(pack, {"icb": "QT1"}) == select_lsoas(pack, {"icb": "E54000060"})


def test_decile1_share_equals_the_pack(pack, notts_area):
    imd = pack.imd2025().set_index("lsoa21_code").loc[notts_area["lsoa21_code"]]
    assert notts_area["imd_decile"].eq(1).mean() == pytest.approx((imd["IMD_decile"] == 1).mean())
    assert set(notts_area["imd_quintile"]) <= {1, 2, 3, 4, 5}
    assert notts_area["core20"].equals(notts_area["imd_decile"] <= 2)


def test_ethnic_group_populations_sum_to_residents(pack, notts_area):
    eth = group_populations(pack, list(notts_area["lsoa21_code"]))
    assert list(eth.index) == list(notts_area["lsoa21_code"])
    assert eth.shape[1] == 5
    diff = eth.sum(axis=1).to_numpy() - notts_area["population"].to_numpy()
    assert np.abs(diff).max() <= 5  # Census cell perturbation only


def test_another_icb_works(pack):
    # NHS Birmingham and Solihull ICB
    area = build_area(pack, {"icb": "E54000055"})
    assert len(area) > 500
    assert area.crs.to_epsg() == 27700
    assert area["population"].sum() > 1_000_000


def test_representative_points_lie_inside_their_lsoas(notts_area):
    assert notts_area.geometry.contains(gpd.GeoSeries(notts_area["point"])).all()


def _toy_area() -> gpd.GeoDataFrame:
    # Three 1 km squares along the x axis at 0–1, 10–11 and 20–21 km.
    squares = [box(x * 1000, 0, x * 1000 + 1000, 1000) for x in (0, 10, 20)]
    frame = gpd.GeoDataFrame(
        {
            "lsoa21_code": ["A", "B", "C"],
            "population": [100, 200, 300],
            "imd_quintile": [1, 1, 5],
            "core20": [True, True, False],
        },
        geometry=squares,
        crs="EPSG:27700",
    )
    frame["point"] = gpd.GeoSeries(
        [Point(500, 500), Point(10500, 500), Point(20500, 500)], crs=27700
    )
    return frame


def _sites(*xs: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"S{i}" for i in range(len(xs))], "source": "coordinates"},
        geometry=[Point(x, 500) for x in xs],
        crs="EPSG:27700",
    )


def test_distance_to_nearest_site_by_hand():
    area = _toy_area()
    d = access.measure(area, _sites(500, 20500), _sites(10500))
    # before: A 0 km, B 10 km (either site), C 0 km; after: A 10, B 0, C 10
    assert d["km_before"].tolist() == pytest.approx([0, 10, 0])
    assert d["km_after"].tolist() == pytest.approx([10, 0, 10])
    assert d["nearest_after"].tolist() == ["S0", "S0", "S0"]


def test_population_weighted_summary_by_hand():
    area = _toy_area()
    d = access.measure(area, _sites(500, 20500), _sites(10500))
    weights = access.group_weights(area)
    summary = access.summarise(d, weights["imd_quintile"], threshold_km=5)
    q1 = summary.set_index("group").loc["Q1 (most deprived)"]
    # Q1 = A (100 people) + B (200): before (100*0 + 200*10)/300, after (100*10 + 0)/300
    assert q1["population"] == 300
    assert q1["mean_km_before"] == pytest.approx(2000 / 300)
    assert q1["mean_km_after"] == pytest.approx(1000 / 300)
    assert q1["pop_beyond_threshold_before"] == 200
    assert q1["pop_beyond_threshold_after"] == 100
    everyone = summary.set_index("group").loc["All people"]
    assert everyone["population"] == 600
    assert everyone["mean_km_after"] == pytest.approx((1000 + 3000) / 600)


def test_census_group_weights_are_area_based():
    area = _toy_area()
    d = access.measure(area, _sites(500), _sites(500))
    ethnic = pd.DataFrame({"G1": [100, 0, 0], "G2": [0, 200, 300]}, index=["A", "B", "C"])
    summary = access.summarise(d, access.group_weights(area, ethnic)["ethnic_group"], 5)
    g2 = summary.set_index("group").loc["G2"]
    assert g2["mean_km_before"] == pytest.approx((200 * 10 + 300 * 20) / 500)


def test_sites_resolve_hospitals_and_coordinates(pack):
    sites = access.resolve_sites(
        pack, [{"hospital": "King's Mill Hospital"}, {"name": "Hub", "lat": 52.95, "lon": -1.15}]
    )
    assert sites["name"].tolist() == ["King's Mill Hospital", "Hub"]
    assert sites.crs.to_epsg() == 27700
    # Nottingham city centre is roughly 457,000 E, 340,000 N in British National Grid
    assert 450_000 < sites.geometry.x[1] < 465_000 and 335_000 < sites.geometry.y[1] < 345_000
