"""Every figure on the decision card is a figure of a table in the report.

The card speaks to a board ("adds on average 1.08 km per resident", "1,063,666 extra km in
total", "120,292 of them (12.3%) newly live more than 5 km from a site"); each of those
numbers must be found, unchanged, in the options comparison or the ratings ("Impacts by
group"). "Newly beyond" has one definition in all of them: residents whose distance rises
by more than the change threshold and takes them past the far threshold
(:func:`eia.analysis.impact.burden`'s ``newly_far``); the access tables' "beyond now" and
"after" count everyone beyond, so their difference is a different figure, labelled so.
"""

from __future__ import annotations

import pytest

from eia.analysis import impact
from eia.report import decision, sections
from eia.report.sections.options import criterion_label
from eia.text import fmt_int, fmt_pct

EXAMPLE = "notts-diagnostics-consolidation"


@pytest.fixture(scope="module")
def consolidation(example_assessment):
    return example_assessment(EXAMPLE)


def _options_table(a):
    return sections.options_table(a).set_index("Criterion")


def test_the_cards_newly_beyond_figures_are_the_options_tables(consolidation):
    a = consolidation
    f = decision.findings_of(a)
    card = decision.card_context(a)
    table = _options_table(a)
    assert card["table"]["options"] == list(a.appraisal.options["option"])
    checked = 0
    for row, (dim, group) in zip(card["table"]["rows"], _card_groups(f, card), strict=True):
        label = criterion_label(a.appraisal, "newly_far", group)
        for k, option in enumerate(card["table"]["options"]):
            newly_far = row["cells"][2 * k + 1]["value"]
            assert newly_far == table.loc[label, option], (group, option)
            assert newly_far == fmt_int(f.outcome(option, dim, group).newly_far)
            checked += 1
    assert checked >= 4  # all residents and Core20, for both options


def _card_groups(f, card):
    """The (dimension, group) of each row of the card's trade-off table, in order."""
    names = {decision.group_name(o.group): (o.dimension, o.group) for o in f.outcomes}
    names[decision.group_name(impact.ALL_RESIDENTS).capitalize()] = ("all", impact.ALL_RESIDENTS)
    return [names[row["group"]] for row in card["table"]["rows"]]


def test_the_cards_harm_figures_are_in_the_tables(consolidation):
    a = consolidation
    f = decision.findings_of(a)
    harm = f.harm("largest_burden")
    assert harm is not None and harm.basis == "access"
    said = decision.card_context(a)["burden"]
    table = _options_table(a)
    option = f.named_option
    # the group bearing most (White here) is a criterion: its totals are the options table's
    assert said["added"] == table.loc[criterion_label(a.appraisal, "added", harm.group), option]
    assert (
        said["newly_far"]
        == table.loc[criterion_label(a.appraisal, "newly_far", harm.group), option]
    )
    # its share newly far and its km per resident are the ratings table's ("Impacts by group")
    rows = a.ratings(option)
    row = rows[(rows["dimension"] == harm.dimension) & (rows["group"] == harm.group)].iloc[0]
    frame = sections.impact_frame(a, rows[rows.index == row.name])
    far = f"Newly beyond {a.appraisal.far:g} km"
    assert said["newly_far_share"] == frame[far].iloc[0] == fmt_pct(row.newly_far / row.residents)
    assert said["per_resident"] == f"{frame['Added per resident (km)'].iloc[0]} km"


def test_the_cards_reason_cites_the_options_tables_averages(consolidation):
    a = consolidation
    card = decision.card_context(a)
    reason = card["reason"]
    assert reason["code"] == "lower_score"
    table = _options_table(a)
    named, runner = card["named"], reason["runner_up"]
    for key, group in (("all", impact.ALL_RESIDENTS), ("core20", decision.CORE20)):
        row = table.loc[criterion_label(a.appraisal, "net_per_resident", group)]
        for who, option in (("named", named), ("runner_up", runner)):
            said = reason["averages"][key][who]
            sign = "-" if said["saves"] else ""
            assert f"{sign}{said['value']}" == f"{row[option]} km", (key, who)


def test_newly_beyond_counts_only_changes_over_the_change_threshold(consolidation):
    # the two figures differ on this example, so the card must say which it shows
    a = consolidation
    option = a.primary
    rows = a.ratings(option)
    everyone = rows[rows["dimension"] == "all"].iloc[0]
    access = a.access.summaries[option]["core20"]
    total = access[access["group"] == "All people"].iloc[0]
    net_change = total["pop_beyond_threshold_after"] - total["pop_beyond_threshold_before"]
    assert everyone["newly_far"] - everyone["newly_near"] <= net_change
    assert everyone["newly_far"] != net_change
    card = decision.card_context(a)
    assert card["change"] == f"{a.appraisal.change:g} km"  # the caption states the threshold
    assert "their distance up by more than 1 km" in decision.card(a).markup
