"""The words a board reads: each report says only what applies to what it computed.

An equity audit computes no distances, so it carries no distance rules; a service whose
higher rate is harm (Mental Health Act detentions) is named by its own label, never as
"uptake" or "users"; no configuration key, file name or ISO date reaches the board.
Built from the examples' assessments (no kernel), section by section.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from eia.analysis import impact
from eia.report import ethnic_codes as detailed_report
from eia.report import ethnicity_deprivation as intersect_report
from eia.report import ratings, sections, show

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def audit(example_assessment):
    return example_assessment("notts-maternity-equity-audit")


@pytest.fixture
def detentions(example_assessment):
    return example_assessment("notts-mental-health-detentions")


def text(*parts) -> str:
    """The plain text of displayable objects, as a reader sees it (tags and alt text kept apart)."""
    out = []
    for part in parts:
        if part is None:
            continue
        markup = part.html() if isinstance(part, show.Figure) else part._repr_html_()
        alt = " ".join(re.findall(r'alt="([^"]*)"', markup))
        markup = re.sub(r"<img\b[^>]*>", " ", markup)
        out.append(html.unescape(re.sub(r"<[^>]+>", " ", markup)) + " " + html.unescape(alt))
    return " ".join(" ".join(out).split())


def board_text(a) -> str:
    """Every section an equity audit shows, except provenance (hashes and file names)."""
    return text(
        sections.title(a),
        sections.summary(a),
        sections.proposal(a),
        sections.area_summary(a),
        intersect_report.section(a),
        detailed_report.section(a),
        sections.uptake_intro(a.uptake.result),
        *(sections.uptake_table(a.uptake.result, k) for k in sections.UPTAKE_KEYS),
        sections.uptake_sii(a.uptake.result),
        sections.uptake_completeness(a.uptake.result),
        sections.uptake_chart(a),
        sections.uptake_map(a),
        sections.gaps(a),
        sections.impacts(a),
        sections.data_quality(a),
        sections.how_ratings_work(a),
        sections.methods(a),
    )


def test_an_audit_carries_no_access_method_text(audit):
    methods = text(sections.methods(audit))
    limits = text(sections.data_quality(audit))
    table = sections.proposal(audit)
    said = methods + " " + limits + " " + text(table)
    for access in ("straight line", "straight-line", "Euclidean", "km", "burden ratio"):
        assert access not in said.lower(), access
    assert "Representation:" in methods
    assert "Each LSOA's location is a representative point" not in limits
    assert "Census 2021 counts are perturbed" in limits


def test_an_audit_says_what_disproportionate_means(audit, detentions):
    better = text(sections.how_ratings_work(audit))
    assert "In an audit, disproportionate means" in better
    assert "representation below 0.83" in better
    worse = text(sections.how_ratings_work(detentions))
    assert "representation above 1.2" in worse
    parameters = text(sections.proposal(detentions))
    assert "Disproportionate when representation is above 1.2" in parameters
    assert "A higher rate is worse (harm)" in parameters


def test_detentions_are_never_called_uptake_or_use(detentions):
    said = board_text(detentions)
    for word in ("uptake", "users", "use is", "higher use", "service use", "who uses", "use of"):
        assert not re.search(rf"\b{word}\b", said, flags=re.IGNORECASE), word
    facts = " ".join(sections.uptake_facts(detentions))
    assert "The rate of Mental Health Act detentions in the most deprived fifth" in facts
    assert "the rate is higher in more deprived areas" in said
    assert "over-represented in Mental Health Act detentions by a material gap" in said


def test_no_configuration_keys_files_or_iso_dates_reach_the_board(audit, detentions):
    for a in (audit, detentions):
        said = board_text(a)
        keys = re.findall(r"\b(?:service|thresholds|denominators|population)\.[a-z_]+", said)
        assert not keys, keys
        assert "higher_use_is" not in said
        assert ".parquet" not in said.split("Reference data used")[0], "file names only in sources"
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", said), "dates are written in words"
        assert "1 April 2024 to 31 March 2025 (1 year)" in said
        assert "residents of all ages" not in said, "the rates are per the population of interest"
        assert not re.search(r"\d,\d{3}\.\d residents", said), "residents are whole people"


@pytest.fixture
def site(example_assessment):
    return example_assessment("notts-diagnostics-consolidation")


def test_quintile_1_and_core20_are_shown_once_when_they_are_the_same_people(site, detentions):
    for a in (site, detentions):
        table = sections.ratings_table(a).frame
        groups = list(table["Group"])
        assert impact.MERGED_Q1 in groups
        assert impact.CORE20_GROUP not in groups and impact.Q1_GROUP not in groups
        said = text(sections.impacts(a))
        assert said.count(ratings.same_people()) == 1
        assert impact.CORE20_GROUP not in said
    options = sections.options_ratings_table(site)
    assert list(options["Group"]).count(impact.MERGED_Q1) == 1


def test_quintile_1_and_core20_stay_apart_when_their_figures_differ(site):
    rows = site.ratings(sections.named_option(site)).copy()
    core = (rows["dimension"] == "core20") & (rows["group"] == impact.CORE20_GROUP)
    rows.loc[core, "added_per_resident"] += 0.5  # e.g. Core20 on IMD 2019, quintiles on 2025
    shown = impact.merge_core20(rows)
    assert len(shown) == len(rows)
    assert impact.CORE20_GROUP in set(shown["group"]) and impact.Q1_GROUP in set(shown["group"])


def test_every_figure_a_why_quotes_is_in_its_row(site, detentions):
    """A board member can check each rating by hand from the same row of the table."""
    for a in (site, detentions):
        tables = [t for t in sections.impacts(a).parts if isinstance(t, show.Table)]
        tables = [t for t in tables if "Why" in t.frame]
        assert tables
        for table in tables:
            for _, row in table.frame.iterrows():
                cells = " ".join(str(v) for k, v in row.items() if k not in ("Why", "Rating"))
                # figures, not thresholds (which follow "above", "below", "close to", "from")
                # ... and "at" ("Marginal: not flagged at ratio 1.25")
                why = re.sub(
                    r"(above|below|close to|from|needs?|at(?: [a-z]+)+) [\d.]+", "", row["Why"]
                )
                quoted = re.findall(r"(?<![\d.])\d+\.\d\d(?![\d%])", why)
                for figure in quoted:
                    assert figure in cells, (figure, row["Why"])


def test_the_summary_gives_core20s_newly_far_figures_and_says_what_is_missing(site, detentions):
    from eia.report import decision

    # the trade-off table gives Core20's people newly beyond the far threshold, per option
    table = decision.card_context(site)["table"]
    core = next(r for r in table["rows"] if r["group"] == "Core20")
    far = [
        site.findings.outcome(o, "core20", impact.CORE20_GROUP).newly_far
        for o in site.findings.options
    ]
    assert [c["value"] for c in core["cells"][1::2]] == [show.fmt_int(v) for v in far]
    # what is missing before sign-off, as data (the card's words are in the golden files)
    assert [(m.code, m.figures) for m in site.findings.missing] == [
        ("questions_unanswered", {"count": 14, "of": 14}),
        ("no_mitigations", {}),
        ("not_signed_off", {}),
    ]
    # the detentions example answers one prompt and records a mitigation
    assert [(m.code, m.figures) for m in detentions.findings.missing] == [
        ("questions_unanswered", {"count": 13, "of": 14}),
        ("not_signed_off", {}),
    ]
    assert "Before sign-off" in text(sections.headlines(site))


def test_every_audit_row_shows_its_shares_and_names_the_service_now(detentions):
    tables = [t for t in sections.impacts(detentions).parts if isinstance(t, show.Table)]
    rated = [t for t in tables if "Why" in t.frame]
    for table in rated:
        assert table.caption.endswith("ratings for the service now")
        shares = table.frame[[c for c in table.frame if c.startswith("Share of")]]
        assert not (shares == "–").any().any(), table.frame["Group"].tolist()
    lead = text(sections.summary(detentions))
    assert "(913,557 residents aged 18 and over)" in lead


def test_event_counts_are_headed_events_with_fractions_explained_and_no_empty_column(
    site, detentions
):
    block = detailed_report.section(site)
    table = next(p for p in block.parts if isinstance(p, show.Table) and "Events" in p.frame)
    # a column of dashes tells the reader nothing: shown with a figure, or dropped and said
    shares = table.frame.get("Share of events with a detailed code")
    if shares is not None:
        assert (shares != "–").any()
    else:
        assert "shares of events with each detailed code are withheld" in text(block)
    said = text(block, intersect_report.section(site))
    assert "Users" not in said
    assert "counts with a fraction are events under an LSOA 2011 code" in said
    # Detentions of people aged 18+: counted from the records of those ages, never scaled, so
    # whole numbers, and no fraction is explained away as an LSOA 2011 split (issue 25).
    codes = detentions.uptake.ethnic_codes
    assert (codes["count"].dropna() % 1 == 0).all()
    assert "a count with a fraction" not in text(detailed_report.section(detentions))
    assert "columns:" not in text(sections.site_users(site))


def test_prose_names_quintiles_in_words_and_warnings_without_params_paths():
    from eia.analysis import guards
    from eia.report import summary, wording

    assert summary.short_group("Q4") == "IMD quintile 4"
    assert summary.short_group("Q1 (most deprived)") == "IMD quintile 1 (most deprived)"
    assert summary.short_group("Black, Black British, Black Welsh, Caribbean or African") == "Black"
    far = guards.Warning(
        "far_site", "options[1].proposed[0]", {"site": "Hub", "km": 190.2, "limit": 20.0}
    )
    board = summary.board_warning(far)
    assert board.startswith(
        "Site 'Hub' is 190 km outside the area's boundary (warned beyond 20 km)"
    )
    assert "options[1]" not in board and "thresholds." not in board
    analyst = wording.warning_text(far)
    assert "(options[1].proposed[0])" in analyst and "thresholds.site_outside_km" in analyst


def test_mitigation_dates_are_written_in_words(detentions):
    assert "31 March 2026" in text(sections.mitigations(detentions))
