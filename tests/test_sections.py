"""Report sections return displayable objects (no kernel, no display) built from library frames."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from eia import assessment
from eia.report import ethnicity_deprivation as intersect_report
from eia.report import sections, show
from eia.runner import template

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(example_assessment):
    return example_assessment("notts-diagnostics-consolidation")


@pytest.fixture
def audit(example_assessment):
    return example_assessment("notts-maternity-equity-audit")


def _no_display(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a section displayed instead of returning")

    monkeypatch.setattr(show, "_display", refuse)
    monkeypatch.setattr(show, "_display_html", refuse)


SECTIONS = (
    "title",
    "headlines",
    "summary",
    "ratings_table",
    "proposal",
    "area_summary",
    "decile_table",
    "quintile_table",
    "ethnic_table",
    "area_profile",
    "current_users",
    "access_intro",
    "access",
    "impacts",
    "narrative",
    "effects",
    "options",
    "mitigations",
    "data_quality",
    "methods",
    "signoff",
    "gaps",
)


@pytest.mark.parametrize("name", SECTIONS)
def test_every_section_returns_html_without_displaying(site, audit, name, monkeypatch):
    _no_display(monkeypatch)
    returned = 0
    for a in (site, audit):
        out = getattr(sections, name)(a)
        if out is None:  # the section does not apply to this kind of report
            continue
        returned += 1
        assert isinstance(out, show.Html | show.Figure), name
        html = out._repr_html_() if isinstance(out, show.Html) else out.html()
        assert html.lstrip().startswith("<"), f"{name} returns markup"
        said = re.sub(r"<[^>]+>", " ", html).split()
        assert said or "<img " in html, f"{name} returns markup with nothing to read or see"
    assert returned, f"{name} returned nothing for a site change or an equity audit"


def test_a_table_shows_the_frame_the_library_computed(site, monkeypatch):
    _no_display(monkeypatch)
    by_quintile = site.access.summaries[site.primary]["imd_quintile"]
    table = sections.access_table(site, by_quintile, "Access by national IMD 2025 quintile")
    assert table.caption == f"Access by national IMD 2025 quintile: {site.primary}"
    assert list(table.frame["Group"]) == list(by_quintile["group"])
    assert list(table.frame["Mean km now"]) == [f"{v:.1f}" for v in by_quintile["mean_km_before"]]
    # An analyst's own change to the frame is what is shown.
    fewer = by_quintile[by_quintile["group"] != "All people"]
    assert "All people" not in sections.access_table(site, fewer, "Mine").frame["Group"].tolist()


def test_ratings_table_shows_the_rows_given(site, monkeypatch):
    _no_display(monkeypatch)
    ratings = site.ratings()
    assert set(ratings["option"]) == {site.rated_option}
    negative = ratings[ratings["rating"] == "negative"]
    table = sections.ratings_table(site, negative)
    # IMD quintile 1 and Core20 are the same people: one row for both
    assert len(table.frame) == len(negative) - 1
    assert all("Negative" in r for r in table.frame["Rating"])


def test_the_detail_describes_the_option_the_summary_names(site, monkeypatch):
    """The summary rates the least adverse option; every detail section, metrics.json and the
    index follow it, not the first option listed."""
    from eia.report import summary
    from eia.report.index import rating_summary

    _no_display(monkeypatch)
    named = summary.named_option(site)
    first = site.proposal.options[0].name
    assert named == site.appraisal.best[0] != first  # the example's least adverse is B
    assert site.primary == site.rated_option == named
    why = "(the least adverse of the 2 options, named in the summary)"
    assert f"for {named} {why}" in sections.access_intro(site)._repr_html_().replace("&#x27;", "'")
    tables = [sections.access_table(site, d) for d in site.access.summaries[site.primary]]
    assert all(t.caption.endswith(f": {named}") for t in tables)
    part = intersect_report.section(site)._repr_html_().replace("&#x27;", "'")
    assert f"Under {named}, the heaviest added burden" in part and first not in part
    assert site.ethnicity_deprivation.burden["option"].eq(named).all()
    metrics = assessment.metrics(site)
    assert metrics["named_option"] == metrics["access"]["scenario"] == named
    assert rating_summary(metrics)["scenario"] == named
    robustness = sections.robustness_table(site)
    assert f"Flags of {named}" in robustness.columns
    assert "excess over 1 doubled" in set(robustness[sections.VARIATION_HEADER])


def test_maps_are_figures_with_alt_text(site, monkeypatch):
    _no_display(monkeypatch)
    fig = sections.imd_map(site)
    assert isinstance(fig, show.Figure) and fig.png.startswith(b"\x89PNG")
    assert "neighbourhoods shaded by national IMD 2025 decile" in fig.alt
    bundle, meta = fig._repr_mimebundle_()
    assert meta["image/png"]["alt"] == fig.alt


def test_uptake_tables_are_the_published_ones(audit, monkeypatch):
    _no_display(monkeypatch)
    published = audit.uptake.result.table("by_imd_quintile")
    table = sections.uptake_table(audit.uptake.result, published, "Users by quintile")
    assert table.caption.startswith("Users by quintile")
    assert len(table.frame) == len(published) == 5
    with pytest.raises(KeyError):
        audit.uptake.result.table("by_postcode")


@pytest.mark.parametrize("path", sorted((ROOT / "src" / "eia" / "templates").glob("*.ipynb")))
def test_builtin_templates_share_their_common_cells(path):
    nb = nbformat.read(path, as_version=4)
    assert template.differences(nb) == []
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_a_changed_shared_cell_is_caught_and_synced(tmp_path):
    src = ROOT / "src" / "eia" / "templates" / "site_change.ipynb"
    nb = nbformat.read(src, as_version=4)
    methods = next(c for c in nb.cells if template.shared_name(c) == "methods")
    methods.source = "sections.methods(a)  # edited by hand"
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    assert template.differences(nbformat.read(path, as_version=4))
    assert template.sync(path) is True
    assert template.differences(nbformat.read(path, as_version=4)) == []
