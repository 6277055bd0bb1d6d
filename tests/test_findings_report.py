"""Every place a reader meets a judgement reads the same findings (issue 23).

For each example (and a proposal with three options) the counts of disproportionate flags
under the named option agree in the decision card, the summary's ratings table, the
options comparison, the index and ``metrics.json``; the summary is a list with at most
200 words before its first table; a superset option is named as dominating its subset.
In-process (no notebook): :func:`eia.assessment.assess`, then each section's function.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from eia import params
from eia.assessment import assess, metrics
from eia.report import decision, index, sections

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "params"
TEMPLATES = {"site_change", "service_change", "equity_audit"}
THREE = FIXTURES / "leicester-maternity-three-options.yaml"
PROPOSALS = [
    p.stem
    for p in sorted((ROOT / "params" / "examples").glob("*.yaml"))
    if params.load(p).template in TEMPLATES
] + [THREE.stem]

_BUILT: dict[str, object] = {}


def _three(pack):
    if THREE.stem not in _BUILT:
        _BUILT[THREE.stem] = assess(params.load(THREE, pack), THREE, pack)
    return _BUILT[THREE.stem]


@pytest.fixture(params=PROPOSALS)
def assessed(request, example_assessment, pack):
    """An example's shared assessment, or the three-option fixture's (built once)."""
    if request.param == THREE.stem:
        return _three(pack)
    return example_assessment(request.param)


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _flagged(labels) -> int:
    return sum("disproportionate" in str(label) for label in labels)


def test_flag_counts_agree_everywhere(assessed):
    a = assessed
    f = a.findings
    named = f.named_option
    expected = f.flag_counts(named)
    total = expected["protected"] + expected["other"]

    # the decision card
    card = decision.card(a).markup
    if len(a.rated.impacts):
        found = re.search(r'data-flags-protected="(\d+)" data-flags-other="(\d+)"', card)
        assert found, "the card states the flags"
        assert (int(found.group(1)), int(found.group(2))) == (
            expected["protected"],
            expected["other"],
        )

    # the summary's ratings table
    block = decision.ratings_table(a)
    tables = [p for p in (block.parts if block else []) if hasattr(p, "frame")]
    shown = sum(_flagged(t.frame["Rating"]) for t in tables)
    assert shown == total

    # metrics.json: the findings block and the impacts rows
    m = metrics(a)
    block = m["findings"]
    assert block["named_option"] == named == m["named_option"]
    mine = [d for d in block["disproportionate"] if d["option"] == named]
    assert len(mine) == total
    marked = {
        (r["option"], r["dimension"], r["group"])
        for r in m.get("impacts", [])
        if r.get("disproportionate") is True and r.get("flag_counted")
    }
    assert marked == {(d["option"], d["dimension"], d["group"]) for d in block["disproportionate"]}

    # the index
    summary = index.rating_summary(m)
    assert summary["scenario"] == ("the proposal" if named == "Proposed" else named)
    assert (summary["protected"], summary["other"]) == (expected["protected"], expected["other"])

    # the options comparison: flag rows per option and the ratings per option
    if f.compared:
        table = sections.options_table(a)
        rows = table[table["Criterion"].str.startswith("Disproportionate flags")]
        for option in f.options:
            counts = f.flag_counts(option)
            assert [int(v) for v in rows[option]] == [counts["protected"], counts["other"]]
        ratings = sections.options_ratings_table(a)
        for option in f.options:
            assert _flagged(ratings[option]) == len(f.flags_for(option))


def test_the_summary_is_a_short_list(assessed):
    markup = sections.headlines(assessed).markup
    before = markup.split("<table", 1)[0]
    assert len(_plain(before).split()) <= 200
    assert "<p" not in before, "bullets, not a paragraph"
    assert before.count("<li") >= 2


def test_options_that_do_not_dominate_are_traded_off_in_the_summary(assessed):
    f = assessed.findings
    card = decision.card(assessed).markup
    for d in f.dominance:
        for other in d.dominates:
            named = re.findall(r'data-dominates="([^"]*)" data-over="([^"]*)"', html.unescape(card))
            assert any(x == d.option and other in y.split("|") for x, y in named)
    if f.tradeoffs and any(f.named_option in (t.first, t.second) for t in f.tradeoffs):
        assert "Trade-off:" in card and 'class="eia-table eia-tradeoff"' in card


def test_a_superset_option_dominates_its_subset(pack):
    a = _three(pack)
    f = a.findings
    subset, superset = (
        "Option A: Royal Infirmary only",
        "Option B: Royal Infirmary and Melton Mowbray",
    )
    assert superset in f.dominance_of(subset).dominated_by
    assert f.named_option != subset
    block = metrics(a)["findings"]
    entry = next(d for d in block["dominance"] if d["option"] == subset)
    assert superset in entry["dominated_by"]
    card = html.unescape(decision.card(a).markup)
    assert re.search(
        rf'data-dominates="{re.escape(superset)}" data-over="[^"]*{re.escape(subset)}', card
    )
