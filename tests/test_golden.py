"""The report's wording (the decision card, the journey-time and access sections), checked against reviewed golden fragments (tests/golden).

Wording is not checked phrase by phrase: a change to the templates in
``src/eia/report/prose`` shows up here as a diff to review. After reviewing it, regenerate
the fragments deliberately with::

    EIA_REGENERATE_GOLDEN=1 pytest tests/test_golden.py

and commit them with the template change (tests/golden/README.md).
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from eia.report import decision, sections, travel

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ["notts-diagnostics-consolidation", "notts-community-hub"]
TRAVEL_EXAMPLE = "notts-diagnostics-travel-time"


def _check(markup: str, name: str, what: str) -> None:
    """``markup`` equals the reviewed fragment ``tests/golden/<name>`` (or rewrites it)."""
    golden = GOLDEN / name
    if os.environ.get("EIA_REGENERATE_GOLDEN") == "1":
        golden.write_text(markup, encoding="utf-8")
    assert golden.is_file(), f"no golden fragment: run EIA_REGENERATE_GOLDEN=1 pytest {__file__}"
    expected = golden.read_text(encoding="utf-8")
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), markup.splitlines(), "golden", "now", lineterm=""
        )
    )
    assert markup == expected, f"{what} changed; review, then regenerate:\n{diff}"


def _without_images(markup: str) -> str:
    """The markup with embedded PNGs cut (their pixels are not wording), one element a line."""
    return re.sub(r'src="data:[^"]*"', 'src="…"', markup).replace("><", ">\n<") + "\n"


@pytest.mark.parametrize("example", EXAMPLES)
def test_decision_card_matches_its_reviewed_golden_fragment(example, example_assessment):
    markup = decision.card(example_assessment(example)).markup + "\n"
    _check(markup, f"decision-card-{example}.html", "the decision card")


def test_travel_time_section_matches_its_reviewed_golden_fragment(example_assessment):
    """Journey times by mode (prose/travel.j2): intro, synthetic notice, tables, curves."""
    markup = travel.access(example_assessment(TRAVEL_EXAMPLE)).markup
    _check(_without_images(markup), f"travel-time-{TRAVEL_EXAMPLE}.html", "the travel section")


def test_access_section_matches_its_reviewed_golden_fragment(example_assessment):
    """Access by distance (prose/access.j2): how it is measured, then a table per dimension."""
    markup = sections.access(example_assessment(EXAMPLES[0])).markup
    _check(_without_images(markup), f"access-{EXAMPLES[0]}.html", "the access section")
