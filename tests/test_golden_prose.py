"""The words of the data sections, checked against reviewed golden fragments (tests/golden).

The sentences under the uptake tables, the ethnicity × deprivation findings, the
disclosure statement and the data notes are Jinja2 macros in ``src/eia/report/prose``
(``uptake.j2``, ``ethnicity_deprivation.j2``, ``disclosure.j2``, ``data_notes.j2``,
``warnings.j2``) fed by figures and codes. Their wording is checked here as a whole, not
phrase by phrase: a template change shows up as a diff to review. After reviewing it,
regenerate deliberately with::

    EIA_REGENERATE_GOLDEN=1 pytest tests/test_golden_prose.py -n 0
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from golden_check import matches

from eia.report import ethnicity_deprivation, sections

GOLDEN = Path(__file__).parent / "golden"


def sentences(*blocks) -> str:
    """The paragraphs and notices of ``blocks`` as plain text, one a line (tables left out)."""
    markup = "".join(b.markup for b in blocks if b is not None)
    markup = re.sub(r"<table.*?</table>", "", markup, flags=re.S)
    found = re.findall(r"<(?:p|li|div[^>]*)>(.*?)</(?:p|li|div)>", markup, flags=re.S)
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in found) + "\n"


def check(name: str, text: str) -> None:
    matches(GOLDEN / f"prose-{name}.txt", text, f"the {name} wording")


@pytest.mark.parametrize("example", ["notts-diagnostics-consolidation"])
def test_ethnicity_deprivation_words_match_their_golden_fragment(example, example_assessment):
    a = example_assessment(example)
    check(f"ethnicity-deprivation-{example}", sentences(ethnicity_deprivation.section(a)))


@pytest.mark.parametrize("example", ["notts-maternity-equity-audit"])
def test_uptake_words_match_their_golden_fragment(example, example_assessment):
    a = example_assessment(example)
    u = a.uptake.result
    text = sentences(
        sections.uptake_intro(u),
        sections.uptake_sii(u),
        sections.uptake_completeness(u),
        sections.data_quality(a),
        ethnicity_deprivation.section(a),
    )
    check(f"uptake-{example}", text)
