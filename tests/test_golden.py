"""The decision card's wording, checked against reviewed golden fragments (tests/golden).

Wording is not checked phrase by phrase: a change to the templates in
``src/eia/report/prose`` shows up here as a diff to review. After reviewing it, regenerate
the fragments deliberately with::

    EIA_REGENERATE_GOLDEN=1 pytest tests/test_golden.py

and commit them with the template change (tests/golden/README.md).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from eia.report import decision

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ["notts-diagnostics-consolidation", "notts-community-hub"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_decision_card_matches_its_reviewed_golden_fragment(example, example_assessment):
    markup = decision.card(example_assessment(example)).markup + "\n"
    golden = GOLDEN / f"decision-card-{example}.html"
    if os.environ.get("EIA_REGENERATE_GOLDEN") == "1":
        golden.write_text(markup, encoding="utf-8")
    assert golden.is_file(), f"no golden fragment: run EIA_REGENERATE_GOLDEN=1 pytest {__file__}"
    expected = golden.read_text(encoding="utf-8")
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), markup.splitlines(), "golden", "now", lineterm=""
        )
    )
    assert markup == expected, f"the decision card changed; review, then regenerate:\n{diff}"
