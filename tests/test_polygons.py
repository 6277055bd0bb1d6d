"""The fast map drawing draws what geopandas and a full draw would: same polygon paths,
same pixels, same layout, same label places (the speed pass of issue 24, item 8)."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pytest
import shapely
from adjustText import adjust_text
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from shapely.geometry import MultiPolygon, Polygon, box

from eia.report import cartography, maps, polygons, show


def _square(x: int, y: int, size: int, hole: bool) -> Polygon:
    outer = box(x * 100, y * 100, x * 100 + size, y * 100 + size)
    if not hole or size < 40:
        return outer
    return outer.difference(box(x * 100 + 10, y * 100 + 10, x * 100 + 20, y * 100 + 20))


_shapes = st.lists(
    st.one_of(
        st.none(),
        st.just(Polygon()),
        st.builds(
            _square, st.integers(0, 9), st.integers(0, 9), st.integers(20, 95), st.booleans()
        ),
        st.lists(
            st.builds(_square, st.integers(0, 9), st.integers(0, 9), st.just(50), st.booleans()),
            min_size=1,
            max_size=3,
            unique_by=lambda p: p.bounds,
        ).map(lambda ps: MultiPolygon(ps)),
    ),
    min_size=1,
    max_size=25,
)


def _geopandas_collection(geoms, colours):
    fig, ax = maps._subplots()
    gpd.GeoSeries(list(geoms)).plot(ax=ax, color=colours, linewidth=0.05, edgecolor="white")
    return ax.collections[0] if ax.collections else None


@pytest.mark.filterwarnings("ignore:The GeoSeries you are attempting to plot")
@settings(max_examples=60, deadline=None)
@given(geoms=_shapes)
def test_polygon_paths_are_those_geopandas_draws(geoms):
    geoms = np.array(geoms, dtype=object)
    colours = [f"#{(37 * i) % 256:02x}{(91 * i) % 256:02x}80" for i in range(len(geoms))]
    present = [i for i, g in enumerate(geoms) if g is not None and not shapely.is_empty(g)]
    paths, owner = polygons.polygon_paths(geoms)
    fig, ax = maps._subplots()
    ours = polygons.add_polygons(
        ax, (paths, owner), colours=colours, linewidth=0.05, edgecolor="white"
    )
    if not present:  # geopandas draws nothing (or fails, given colours)
        assert ours is None and not paths
        return
    reference = _geopandas_collection(geoms, colours)
    assert len(ours.get_paths()) == len(reference.get_paths())
    for mine, theirs in zip(ours.get_paths(), reference.get_paths(), strict=True):
        assert np.array_equal(mine.vertices, theirs.vertices)
        assert np.array_equal(mine.codes, theirs.codes)
    assert np.array_equal(ours.get_facecolor(), reference.get_facecolor())
    assert owner.tolist() == present


def _grid(n: int = 12) -> gpd.GeoDataFrame:
    cells = [
        box(x * 1000, y * 1000, x * 1000 + 1000, y * 1000 + 1000)
        for x in range(n)
        for y in range(n)
    ]
    cells[5] = cells[5].difference(box(5200, 200, 5600, 600))  # a hole
    cells[7] = MultiPolygon([box(7000, 0, 7400, 400), box(7600, 600, 8000, 1000)])
    return gpd.GeoDataFrame(geometry=cells, crs="EPSG:27700")


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).astype(int)


def _frame(ax, area) -> None:
    x0, y0, x1, y1 = area.total_bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_axis_off()


def test_the_fast_fill_rasterises_to_geopandas_pixels():
    area = _grid()
    rng = np.random.default_rng(1)
    colours = [maps.CHANGE_COLOURS[i] for i in rng.integers(0, 5, len(area))]
    rows = rng.random(len(area)) < 0.8
    fig_a, ax_a = maps._subplots(figsize=(4, 4))
    area[rows].plot(ax=ax_a, color=list(np.array(colours)[rows]), linewidth=0.05, edgecolor="white")
    _frame(ax_a, area)
    fig_b, ax_b = maps._subplots(figsize=(4, 4))
    paths = polygons.polygon_paths(area.geometry.to_numpy())
    polygons.add_polygons(ax_b, paths, rows, colours=colours, linewidth=0.05, edgecolor="white")
    _frame(ax_b, area)
    assert np.array_equal(_pixels(fig_a), _pixels(fig_b))


def test_paths_serve_maps_of_different_colours_without_changing():
    area = _grid(6)
    paths = polygons.polygon_paths(area.geometry.to_numpy())
    before = [(p.vertices.copy(), p.codes.copy()) for p in paths[0]]
    drawn = []
    for palette in (maps.CHANGE_COLOURS, ("#000000", "#ffffff")):
        colours = [palette[i % len(palette)] for i in range(len(area))]
        fig, ax = maps._subplots(figsize=(3, 3))
        collection = polygons.add_polygons(ax, paths, colours=colours, linewidth=0.05)
        _frame(ax, area)
        _pixels(fig)
        drawn.append((collection, colours))
    for collection, colours in drawn:  # each map keeps its own colours
        expected = np.array([np.asarray(maps.matplotlib.colors.to_rgba(c)) for c in colours])
        assert np.allclose(collection.get_facecolor(), expected)
    for (vertices, codes), p in zip(before, paths[0], strict=True):
        assert np.array_equal(p.vertices, vertices) and np.array_equal(p.codes, codes)


def test_one_hatched_path_looks_like_a_hatch_per_polygon():
    area = _grid()
    hatched = (np.arange(len(area)) % 3 == 0) | (np.arange(len(area)) < 30)
    style = {"facecolor": "none", "edgecolor": "#212b32", "hatch": "////", "linewidth": 0.0}
    paths = polygons.polygon_paths(area.geometry.to_numpy())
    images = []
    for merged in (False, True):
        fig, ax = maps._subplots(figsize=(4, 4))
        polygons.add_polygons(ax, paths, hatched, merged=merged, **style)
        _frame(ax, area)
        images.append(_pixels(fig))
    apart, together = images
    difference = np.abs(apart - together).max(axis=2)
    assert (apart[..., 0] < 128).sum() > 1000  # there is a hatch to compare
    assert difference.mean() < 0.5  # only seams between neighbours differ, by anti-aliasing
    assert (difference > 16).mean() < 0.01
    with pytest.raises(ValueError, match="merged"):
        polygons.add_polygons(ax, paths, hatched, merged=True, colours=["red"] * len(area))


def _laid_out_figure():
    fig, axes = maps._subplots(1, 2, figsize=(7, 3.5), layout="constrained", squeeze=False)
    area = _grid(8)
    for ax in axes.flat:
        polygons.add_polygons(
            ax, polygons.polygon_paths(area.geometry.to_numpy()), facecolor="grey"
        )
        cartography.set_bounds(ax, (0, 0, 8000, 5000))
        ax.set_title("A long panel title that takes room", loc="left")
        inset = ax.inset_axes([0.72, 0.72, 0.28, 0.28])
        inset.set_aspect("equal", adjustable="box")
        cartography.add_scale_bar(ax)
    fig.legend(handles=maps._imd_handles(), title="IMD", loc="outside right upper")
    return fig


def test_relayout_places_panels_where_a_draw_would():
    drawn, laid = _laid_out_figure(), _laid_out_figure()
    drawn.draw_without_rendering()
    cartography.relayout(laid)
    for a, b in zip(drawn.axes, laid.axes, strict=True):
        assert np.array_equal(a.get_position().get_points(), b.get_position().get_points())
        assert np.array_equal(a.transData.get_matrix(), b.transData.get_matrix())


def _labelled_panel():
    fig, ax = maps._subplots(figsize=(5, 4), layout="constrained")
    cartography.set_bounds(ax, (0, 0, 10_000, 8_000))
    xy = np.array([[5000, 4000], [5200, 4100], [5100, 3900], [8000, 7000], [9900, 100]])
    texts = [
        ax.text(x, y, f"Site number {i} with a long name", fontsize=7)
        for i, (x, y) in enumerate(xy)
    ]
    cartography.relayout(fig)
    return ax, texts, xy


def test_labels_placed_on_the_stand_in_are_where_adjusttext_puts_them_on_the_map(monkeypatch):
    # a count of iterations, not adjustText's time limit, so that both runs do the same work
    labelling = {**cartography.LABELLING, "time_lim": None, "iter_lim": 40}
    monkeypatch.setattr(cartography, "LABELLING", labelling)
    ax, texts, xy = _labelled_panel()
    cartography.relayout(ax.figure)  # the layout adjustText's redraw gives the map (below)
    cartography._place_labels(ax, texts, xy)
    ref_ax, ref_texts, _ = _labelled_panel()
    _, leaders = adjust_text(
        ref_texts,
        x=xy[:, 0],
        y=xy[:, 1],
        ax=ref_ax,
        arrowprops=cartography.LEADER,
        **cartography.LABELLING,
    )
    for ours, theirs in zip(texts, ref_texts, strict=True):
        assert ours.get_position() == pytest.approx(theirs.get_position(), abs=1e-6)
        assert ours.get_horizontalalignment() == theirs.get_horizontalalignment() == "center"
    ours_leaders = [p for p in ax.patches if p.patchA in texts]
    assert len(ours_leaders) == len(leaders) > 0
    for mine, theirs in zip(ours_leaders, leaders, strict=True):
        assert texts.index(mine.patchA) == ref_texts.index(theirs.patchA)
        assert np.allclose(mine._posA_posB, theirs._posA_posB)


def test_detached_is_remembered_by_shape_not_by_frame():
    squares = [box(x * 1000, 0, x * 1000 + 900, 900) for x in range(40)]
    area = gpd.GeoDataFrame(geometry=[*squares, box(100_000, 0, 100_900, 900)], crs="EPSG:27700")
    first = cartography.detached(area)
    assert first.tolist() == cartography._detached(area, cartography.DETACHED_GAP_M).tolist()
    first[:] = True  # the caller's copy, not the remembered answer
    assert cartography.detached(area).tolist() == [False] * 40 + [True]
    area.loc[40, "geometry"] = box(40_000, 0, 40_900, 900)  # the island joins, in place
    assert not cartography.detached(area).any()
    assert cartography.detached(area, 0.5).tolist() == cartography._detached(area, 0.5).tolist()


def _savefig_tight(fig, dpi: int) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return np.asarray(Image.open(buffer))


@pytest.mark.parametrize("finished", [False, True])
def test_png_bytes_is_savefig_tight_without_its_extra_draw(finished):
    made = [_laid_out_figure(), _laid_out_figure()]
    if finished:  # a map: laid out for good, no layout engine left
        for fig in made:
            cartography.finish(fig)
    ours, reference = made
    engine = ours.get_layout_engine()
    image = np.asarray(Image.open(io.BytesIO(show.png_bytes(ours))))
    assert np.array_equal(image, _savefig_tight(reference, show.FIGURE_DPI))
    assert ours.get_layout_engine() is engine and ours.dpi == reference.dpi


# ---------------------------------------------------------------------------
# Markers pulled apart on a grid: the same pushes, in the same order, as every pair


@settings(max_examples=200, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(0, 120, allow_nan=False), st.floats(0, 120, allow_nan=False)),
        max_size=40,
    ),
    gap=st.sampled_from([4.0, 16.8, 30.0]),
    twins=st.booleans(),
)
def test_markers_pulled_apart_on_a_grid_as_by_every_pair(points, gap, twins):
    xy = np.array(points, dtype=float).reshape(-1, 2)
    if twins and len(xy) > 1:
        xy[1] = xy[0]  # two sites at one place
    fast = cartography._pull_apart(xy.copy(), gap)
    every = cartography._pull_apart_every_pair(xy.copy(), gap)
    assert np.array_equal(fast, every)
