"""Maps a board can read anywhere (issue 27): framed on the change, islands in an inset, a
scale bar on every map, town names, site labels that never overlap, markers never hidden."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib_scalebar.scalebar import ScaleBar
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely import STRtree
from shapely.geometry import box

from eia.population.places import ward_towns
from eia.report import cartography, maps

ROOT = Path(__file__).resolve().parents[1]
CORNWALL = ROOT / "tests" / "fixtures" / "cornwall-site-change.yaml"
EXAMPLES = [
    ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml",
    ROOT / "params" / "examples" / "notts-community-hub.yaml",
]


def test_a_small_far_part_is_detached_and_the_main_body_is_not():
    squares = [box(x * 1000, 0, x * 1000 + 900, 900) for x in range(40)]
    island = [box(100_000, 0, 100_900, 900)]  # 60 km from the rest
    area = gpd.GeoDataFrame(geometry=squares + island, crs="EPSG:27700")
    apart = cartography.detached(area)
    assert apart.tolist() == [False] * 40 + [True]
    halves = gpd.GeoDataFrame(geometry=squares[:20] + [box(200_000, 0, 200_900, 900)] * 20)
    assert not cartography.detached(halves).any()  # a large part is never an inset


def _detached_by_all_pairs(area: gpd.GeoDataFrame, gap_m: float) -> np.ndarray:
    """The definition, as :func:`cartography.detached` once computed it: every pair within gap_m."""
    n, geoms = len(area), area.geometry.to_numpy()
    left, right = STRtree(geoms).query(geoms, predicate="dwithin", distance=gap_m)
    _, labels = connected_components(coo_matrix((np.ones(len(left)), (left, right)), (n, n)))
    sizes = np.bincount(labels)
    small = sizes <= cartography.DETACHED_MAX_SHARE * n
    return (labels != int(np.argmax(sizes))) & small[labels]


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 12), st.integers(200, 1_200)),
        min_size=2,
        max_size=80,
    ),
    gap_m=st.sampled_from([500, 3_000, cartography.DETACHED_GAP_M]),
)
def test_detached_finds_the_parts_all_pairs_would(cells, gap_m):
    """Touching groups first, then links from outside the largest one: the same parts (and
    labels) as linking every pair of LSOAs within the gap, islands and chains included."""
    squares = [box(x * 1_000, y * 1_000, x * 1_000 + s, y * 1_000 + s) for x, y, s in cells]
    area = gpd.GeoDataFrame(geometry=squares, crs="EPSG:27700")
    expected = _detached_by_all_pairs(area, gap_m)
    assert cartography.detached(area, gap_m).tolist() == expected.tolist()


def test_towns_come_from_words_wards_share():
    wards = pd.DataFrame(
        {
            "ward24_name": [
                "Truro Boscawen & Redannick",
                "Truro Tregolls",
                "St Austell Bethel & Holmbush",
                "St Austell Central & Gover",
                "Bodmin St Mary's & St Leonard",
                "Bodmin St Petroc's",
                "North Petherwin",
                "North Hill",
                "Bude",
            ],
            "ltla24_code": ["E06000052"] * 9,
        }
    )
    assert ward_towns(wards).tolist() == [
        "Truro",
        "Truro",
        "St Austell",
        "St Austell",
        "Bodmin",
        "Bodmin",
        np.nan,
        np.nan,
        np.nan,
    ]


def _assess(path):
    from eia import assessment, params

    proposal = params.load(path)
    return assessment.assess(proposal.model_copy(update={"service": None}), path)


@pytest.fixture(scope="module")
def cornwall(refdata_dir):
    return _assess(CORNWALL)


def _panels(fig):
    return [ax for ax in fig.axes if ax.axison is False and ax.get_gid() is None]


def _everything(fig):
    return [a for ax in fig.axes for a in (ax, *ax.child_axes)]


def _assert_labels_apart(fig):
    fig.canvas.draw()
    for ax in _everything(fig):
        boxes = cartography.label_boxes(ax)
        for i, first in enumerate(boxes):
            for second in boxes[i + 1 :]:
                assert not first.overlaps(second), "two site labels overlap"


def _assert_markers_apart(fig):
    gap = cartography.MARKER_GAP_PT * fig.dpi / 72 - 1
    for ax in _everything(fig):
        points = [
            ax.transData.transform(c.get_offsets())
            for c in ax.collections
            if isinstance(c, PathCollection) and c.get_zorder() == 6
        ]
        if not points:
            continue
        xy = np.vstack(points)
        for i in range(len(xy)):
            for j in range(i + 1, len(xy)):
                assert np.hypot(*(xy[i] - xy[j])) >= gap, "two site markers hide each other"


def _assert_places_apart(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in _everything(fig):
        shown = [
            t.get_window_extent(renderer)
            for t in ax.texts
            if t.get_visible() and t.get_gid() in ("eia-town", "eia-authority", "eia-site-label")
        ]
        for i, first in enumerate(shown):
            for second in shown[i + 1 :]:
                assert not first.overlaps(second), "two place names or labels overlap"


def _has_scale_bar(ax) -> bool:
    return any(isinstance(a, ScaleBar) for a in ax.artists)


def test_cornwall_change_map_spans_the_change_with_scilly_in_an_inset(cornwall):
    from eia.report import figures

    a = cornwall
    figure = figures.change_map(a)
    fig = maps.change_map(
        a.area.lsoas,
        a.access.distances[a.primary],
        a.access.current,
        a.access.proposed[a.primary],
        **figures.change_style(a, "km", None),
    )
    (main,) = [ax for ax in fig.axes if ax.child_axes]
    changed = figures._changed_mask(a, a.primary, "km")
    assert changed.any()
    x0, y0, x1, y1 = a.area.lsoas[changed & ~cartography.detached(a.area.lsoas)].total_bounds
    (left, right), (low, high) = main.get_xlim(), main.get_ylim()
    assert (x1 - x0) / (right - left) >= 0.5 or (y1 - y0) / (high - low) >= 0.5
    scilly = a.area.lsoas[a.area.lsoas["ltla24_name"] == "Isles of Scilly"]
    assert len(scilly) and scilly.total_bounds[2] < left  # not in the main extent
    insets = {ax.get_gid(): ax for ax in main.child_axes}
    assert {"eia-detached", "eia-locator"} <= set(insets)
    sx0, sy0, sx1, sy1 = scilly.total_bounds
    ix, iy = insets["eia-detached"].get_xlim(), insets["eia-detached"].get_ylim()
    assert ix[0] <= sx0 and sx1 <= ix[1] and iy[0] <= sy0 and sy1 <= iy[1]
    assert _has_scale_bar(main) and _has_scale_bar(insets["eia-detached"])
    _assert_labels_apart(fig)
    _assert_markers_apart(fig)  # the new hub is 1.2 km from the closing site
    assert "Isles of Scilly, away from the rest, is in an inset" in figure.alt
    assert "orange is further, purple nearer, darker shades larger changes" in figure.alt
    assert "around " in figure.alt and "whose straight-line distance changes" in figure.alt


def test_every_cornwall_map_has_a_scale_bar_and_names_places(cornwall):
    a = cornwall
    imd = maps.imd_map(
        a.area.lsoas, a.access.current, a.access.proposed["Proposed"], outline=a.area.outline
    )
    rate = maps.rate_map(
        a.area.lsoas,
        pd.Series(np.arange(len(a.area.lsoas), dtype=float), index=a.area.lsoas["lsoa21_code"]),
        label="per 1,000",
        outline=a.area.outline,
        sites=a.access.current,
        places=a.area.places,
    )
    for fig in (imd, rate):
        main = next(ax for ax in fig.axes if ax.child_axes)
        assert _has_scale_bar(main)
        _assert_labels_apart(fig)
        _assert_markers_apart(fig)  # at this scale the hub would sit on the closing site
    rate_main = next(ax for ax in rate.axes if ax.child_axes)
    towns = [t.get_text() for t in rate_main.texts if t.get_gid() == "eia-town" and t.get_visible()]
    assert len(towns) >= 3 and set(towns) <= {
        "Falmouth", "St Austell", "Newquay", "Redruth", "Saltash", "Camborne", "Truro",
        "Liskeard", "Bodmin", "Wadebridge",
    }  # fmt: skip
    _assert_places_apart(rate)
    sites = [t.get_text() for t in rate_main.texts if t.get_gid() == "eia-site-label"]
    assert "Bodmin Hospital" in sites  # the uptake map shows the sites


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_no_two_site_labels_overlap_in_the_examples_maps(refdata_dir, path):
    from eia.report import figures

    a = _assess(path)
    for figure in filter(None, [figures.imd_map(a), figures.options_maps(a)]):
        assert figure.png.startswith(b"\x89PNG")
    imd = maps.imd_map(
        a.area.lsoas, a.access.current, dict(a.access.proposed), outline=a.area.outline
    )
    _assert_labels_apart(imd)
    _assert_markers_apart(imd)
    style = figures.change_style(a, "km", None)
    for fig in (
        maps.change_map(
            a.area.lsoas,
            a.access.distances[a.primary],
            a.access.current,
            a.access.proposed[a.primary],
            **style,
        ),
        maps.options_maps(
            a.area.lsoas, a.access.distances, a.access.current, a.access.proposed, **style
        ),
    ):
        for ax in [ax for ax in fig.axes if ax.get_xlim() != (0.0, 1.0)]:
            if ax.get_title(loc="left") or ax.child_axes:
                assert _has_scale_bar(ax)
        _assert_labels_apart(fig)
        _assert_markers_apart(fig)


def test_one_deprivation_panel_gives_each_sites_status_per_option(refdata_dir):
    a = _assess(EXAMPLES[0])
    assert len(a.scenarios) == 2
    fig = maps.imd_map(
        a.area.lsoas, a.access.current, dict(a.access.proposed), outline=a.area.outline
    )
    panels = [ax for ax in fig.axes if ax.child_axes or ax.artists]
    assert len(panels) == 1
    labels = [t.get_text() for t in panels[0].texts if t.get_gid() == "eia-site-label"]
    assert any(label.startswith("King's Mill Hospital") and "✖" in label for label in labels)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(text.startswith("1 ") for text in legend)
