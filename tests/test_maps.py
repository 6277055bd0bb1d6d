"""Maps and curves that show who loses (eia.report.maps, eia.report.figures): sites by role, the proposal's own
thresholds, every option's sites, cumulative curves, titles that do not overlap."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from eia.report import maps

ROOT = Path(__file__).resolve().parents[1]
CONSOLIDATION = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"
HUB = ROOT / "params" / "examples" / "notts-community-hub.yaml"


def _sites(rows):
    return gpd.GeoDataFrame(
        {"name": [r[0] for r in rows]},
        geometry=[Point(r[1], r[2]) for r in rows],
        crs="EPSG:27700",
    )


def test_site_roles_tell_kept_closing_and_new_apart():
    current = _sites([("Queen's Medical Centre", 0, 0), ("City Hospital", 5000, 0)])
    proposed = _sites(
        [("queen's  medical centre", 0, 0), ("Renamed site", 5030, 0), ("Hub", 9000, 9000)]
    )
    roles = maps.site_roles(current, proposed)
    assert dict(zip(roles["name"], roles["role"], strict=True)) == {
        "queen's  medical centre": "kept",  # same name, case and spacing aside
        "Renamed site": "kept",  # within 100 m of a current site
        "Hub": "new",
    }
    roles = maps.site_roles(current, _sites([("Queen's Medical Centre", 0, 0)]))
    assert list(roles["role"]) == ["kept", "closing"]
    assert list(maps.site_roles(current, None)["role"]) == ["current", "current"]


def test_change_classes_follow_the_proposal_thresholds_exactly():
    change = pd.Series([-9.0, -3.0, -2.0, 0.0, 2.0, 2.0001, 4.0, 5.0, 7.0, np.nan])
    classes = maps.change_classes(change, threshold=2, outer=5)
    labels = maps.change_labels(2, 5)
    assert labels[2] == "within 2 km (little change)" and labels[3] == "2–5 km further"
    # exactly the threshold is not an effect (the ratings count only changes MORE than it)
    assert list(classes.codes) == [0, 1, 2, 2, 2, 3, 3, 3, 4, -1]
    minutes = maps.change_labels(10, 30, unit="min")
    assert minutes[4] == "more than 30 min longer"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 60), st.floats(0, 60), st.integers(0, 5000), st.integers(0, 5000)),
        min_size=1,
        max_size=30,
    )
)
def test_cumulative_shares_rise_to_one_and_match_a_direct_count(rows):
    codes = [f"E01{i:06d}" for i in range(len(rows))]
    before = pd.Series([r[0] for r in rows], index=codes)
    after = pd.Series([r[1] for r in rows], index=codes)
    weights = pd.DataFrame({"A": [r[2] for r in rows], "B": [r[3] for r in rows]}, index=codes)
    # shuffled order must not matter: aligned by code
    curves = maps.cumulative_shares(before.iloc[::-1], after, weights)
    for (group, when), part in curves.groupby(["group", "when"]):
        share = part["share"].to_numpy()
        if np.isnan(share).all():
            assert weights[group].sum() == 0
            continue
        assert (np.diff(share) >= -1e-12).all()
        values = before if when == "now" else after
        x = float(part["x"].iloc[len(part) // 2])
        expected = maps.share_within(values, weights[group], x)
        assert share[len(part) // 2] == pytest.approx(expected)
    top = maps.cumulative_shares(before, after, weights, grid=np.array([61.0]))
    assert top["share"].dropna().eq(1).all()


def _text_of(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


@pytest.fixture(scope="module")
def consolidation(refdata_dir):
    from eia import assessment, params

    proposal = params.load(CONSOLIDATION)
    thresholds = proposal.thresholds.model_copy(update={"change_km": 2.0})
    proposal = proposal.model_copy(update={"thresholds": thresholds, "service": None})
    return assessment.assess(proposal, CONSOLIDATION)


def test_options_maps_show_each_options_sites_and_titles_do_not_overlap(consolidation):
    a = consolidation
    fig = maps.options_maps(
        a.area.lsoas,
        a.access.distances,
        a.access.current,
        a.access.proposed,
        outline=a.area.outline,
        threshold=2,
        outer=5,
    )
    legend = _text_of(fig)
    assert {"Site kept", "Site closing"} <= set(legend)
    assert "within 2 km (little change)" in legend  # the proposal's threshold, not 1 km
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titled = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in titled] == a.scenarios
    boxes = [ax.title if ax.get_title() else ax._left_title for ax in titled]
    extents = [b.get_window_extent(renderer) for b in boxes]
    for i, first in enumerate(extents):
        for second in extents[i + 1 :]:
            assert not first.overlaps(second), "small-multiple titles overlap"
    # every panel labels its own sites by name
    for ax in titled:
        names = {t.get_text() for t in ax.texts}
        assert {"Queen's Medical Centre", "City Hospital", "King's Mill Hospital"} <= names
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_change_map_alt_text_counts_as_the_ratings_do(consolidation):
    from eia.report import figures

    a = consolidation
    for option in a.access.proposed:
        figure = figures.change_map(a, option)
        whole = a.rated.impacts[
            (a.rated.impacts["option"] == option) & (a.rated.impacts["dimension"] == "all")
        ]
        further = int(whole["further"].iloc[0])
        assert f"({further:,} residents) would be more than 2 km further" in figure.alt
        assert "within 2 km" in figure.caption


def test_a_cumulative_figure_per_option_with_its_finding(consolidation):
    from eia.report import figures

    a = consolidation
    curves = figures.cumulative_curves(a)
    assert len(curves) == len(a.scenarios) == 2
    for figure, option in zip(curves, a.access.proposed, strict=True):
        shares = figures.within_shares(a, option).set_index("group")
        core = shares.iloc[0]
        assert option in figure.alt and option in figure.caption
        assert (
            f"{100 * core['after']:.0f}% of Core20 residents would live within 5 km" in figure.alt
        )
        assert figure.png.startswith(b"\x89PNG")


def test_imd_map_names_every_site_and_says_what_each_option_does(consolidation):
    from eia.report import figures

    figure = figures.imd_map(consolidation)
    assert (
        "Option A: close King's Mill keeps Queen's Medical Centre and City Hospital and "
        "closes King's Mill Hospital." in figure.alt
    )
    assert "circles are sites kept, crosses sites that close, triangles new sites" in (
        figure.caption
    )


def test_no_global_matplotlib_state_changes_on_import():
    import subprocess
    import sys

    code = (
        "import matplotlib; before = dict(matplotlib.rcParams); import eia.report.maps, eia.report.figures;"
        "after = dict(matplotlib.rcParams);"
        "changed = [k for k in before if before[k] != after[k]]; print(changed)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
