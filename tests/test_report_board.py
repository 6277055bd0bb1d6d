"""The report as a board reads it: every example rendered, then read like a person would.

The decision card names the area (by name and code), the option it favours or
describes and why; every ratings table says which option it shows; no
sentence (or bullet) appears twice; numbers carry thousands separators; no
"rating(s)", doubled "(synthetic)" or raw file names where words are needed;
each site-change report has a cumulative-distribution figure per option and
maps whose legends use the proposal's own thresholds.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import pytest

from eia import params

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = {"site_change", "service_change", "equity_audit"}
EXAMPLES = [
    p
    for p in sorted((ROOT / "params" / "examples").glob("*.yaml"))
    if params.load(p).template in TEMPLATES
]


@pytest.fixture(scope="module")
def reports(example_runs) -> dict[str, str]:
    """Each example's report.html, from the session's one batch (tests/conftest.py)."""
    return {p.stem: example_runs[p.stem].report.read_text(encoding="utf-8") for p in EXAMPLES}


# ---------------------------------------------------------------------------
# Reading the HTML


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _body(markup: str) -> str:
    return re.sub(r"<(style|script|head)\b.*?</\1>", "", markup, flags=re.S)


def decision_card(markup: str) -> str:
    found = re.search(r'<section\b[^>]*class="eia-decision"[^>]*>.*?</section>', markup, flags=re.S)
    assert found, "the executive summary opens with the decision card"
    return found.group(0)


def statements(markup: str) -> list[str]:
    """Sentences of paragraphs, captions and headings, and whole bullets (one finding each)."""
    body = re.sub(r"<table\b.*?</table>", "", _body(markup), flags=re.S)
    out = []
    for tag, inner in re.findall(r"<(p|li|figcaption|caption)\b[^>]*>(.*?)</\1>", body, flags=re.S):
        text = _plain(inner)
        if tag == "li":
            out.append(text)
        else:
            out += re.split(r"(?<=[.!?])\s+(?=[A-Z“])", text)
    return [s for s in out if len(s) > 30]


def captions(markup: str) -> list[str]:
    return [_plain(c) for c in re.findall(r"<caption>(.*?)</caption>", markup, flags=re.S)]


def alts(markup: str) -> list[str]:
    return [html.unescape(a) for a in re.findall(r'<img [^>]*alt="([^"]*)"', markup)]


#: A quantity of 1,000 or more written without separators (years 1900–2099 and codes aside).
UNSEPARATED = re.compile(r"(?<![\w.,:/+–-])(?:\d{5,}|(?!19\d\d|20\d\d)\d{4})(?![\w,/]|\.\d)")


def unseparated_numbers(markup: str) -> list[str]:
    body = re.sub(r"<code\b.*?</code>", "", _body(markup), flags=re.S)
    body = re.sub(  # provenance holds hashes and versions, not quantities
        r"<table\b(?:(?!</table>).)*?(?:sha256|How this report was produced)(?:(?!</table>).)*</table>",
        "",
        body,
        flags=re.S,
    )
    return UNSEPARATED.findall(_plain(body))


# ---------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_the_decision_card_names_the_area_the_option_and_why(example, reports, pack):
    proposal = params.load(ROOT / "params" / "examples" / f"{example}.yaml")
    card = decision_card(reports[example])
    lead = _plain(card)
    code = str(proposal.area.spec.get("icb") or "").upper()
    if code:
        lookup = pack.lookup()
        name = lookup.loc[lookup["icb24_code"] == code, "icb24_name"].iloc[0]
        assert f"{name} ({code})" in lead
    if len(proposal.options) > 1:
        named = re.findall(r'data-named="([^"]*)"', html.unescape(card))
        assert len(named) == 1 and named[0] in [o.name for o in proposal.options], (
            "names the option it favours"
        )
        assert "How sure:" in lead, "and how sure"
    elif proposal.template == "equity_audit":
        assert "equity audit" in lead and "not a proposal for change" in lead
    else:
        assert "compared with doing nothing" in lead
    if proposal.service is not None and proposal.service.synthetic:
        assert "the service data is synthetic" in lead
    if proposal.sites is not None and not proposal.access.travel_times:
        assert "straight lines, not travel times" in lead


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_every_ratings_table_says_which_option_it_shows(example, reports):
    proposal = params.load(ROOT / "params" / "examples" / f"{example}.yaml")
    names = [o.name for o in proposal.options] or ["the proposal", "the service now"]
    # a ratings table's caption says so in its first sentence (others may mention the ratings)
    ratings = [c for c in captions(reports[example]) if "ratings" in c.split(". ")[0].lower()]
    assert ratings, "the report has a ratings table"
    for caption in ratings:
        assert any(n in caption for n in names) or "each option" in caption, caption


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_no_sentence_appears_twice(example, reports):
    repeated = [s for s, n in Counter(statements(reports[example])).items() if n > 1]
    assert not repeated, f"said more than once: {repeated}"


@pytest.mark.parametrize("example", [p.stem for p in EXAMPLES])
def test_numbers_and_words_are_written_for_people(example, reports):
    markup = reports[example]
    assert not unseparated_numbers(markup), "numbers of 1,000 or more need separators"
    text = _plain(_body(markup))
    for machine in ("(s)", "(synthetic) (synthetic)", "docs/methods.md", "by –", "E54000060 |"):
        assert machine not in text, machine
    assert "icb: E54" not in text, "the area is named in words, not as a params key"
    assert "How the ratings work" in text


@pytest.mark.parametrize(
    "example", [p.stem for p in EXAMPLES if params.load(p).template == "site_change"]
)
def test_site_change_maps_and_curves(example, reports):
    proposal = params.load(ROOT / "params" / "examples" / f"{example}.yaml")
    markup = reports[example]
    scenarios = [o.name for o in proposal.options] or ["the proposal"]
    found = [a for a in alts(markup) if a.startswith("Cumulative curves")]
    assert len(found) >= len(scenarios)
    for name in scenarios:
        assert any(name in a for a in found), f"no cumulative curve for {name}"
    change = proposal.thresholds.change_km
    maps = [a for a in alts(markup) if a.startswith("Map of the change")]
    if not proposal.access.travel_times:
        assert maps and all(f"more than {change:g} km further" in a for a in maps)
    imd = next(a for a in alts(markup) if "IMD 2025 decile" in a)
    for site in (s.name or s.hospital for s in proposal.sites.current):
        assert site in imd, f"{site} is named on the deprivation map"
