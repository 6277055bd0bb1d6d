"""Compute modules build no sentences: everything below the report (analysis — access,
impact, appraisal, uptake, journey times, the frontier —, stats and disclosure, service data,
populations, the findings and the assessment) returns numbers and codes, and the report's
words are Jinja2 templates (``src/eia/report/prose``). The only f-strings with words in them
are messages for bad input (raised as errors, or a params :class:`~eia.params.Problem`) and
the reviewed few in :data:`NOT_REPORT_WORDS`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "eia"
COMPUTE = ["analysis", "stats", "service", "population", "findings", "assessment"]
MODULES = [
    str(p.relative_to(SRC)) for floor in COMPUTE for p in sorted((SRC / floor).rglob("*.py"))
]
#: Functions whose f-strings have words but are not the report's prose, each reviewed:
#: ``__repr__`` (for analysts at a prompt), helpers that build a bad-input message for a
#: ``raise`` elsewhere, labels naming a frame in a validation error, the rates' unit, SQL,
#: and metrics.json's definitions of its own figures.
NOT_REPORT_WORDS = {
    ("*", "__repr__"),
    (
        "analysis/ethnicity_deprivation.py",
        "core20_weights",
    ),  # a column label: "Asian – rest of area"
    ("analysis/matrices.py", "examples"),  # cells named in a bad-matrix error
    ("analysis/matrices.py", "read_matrix"),  # the frame named in a validation error
    ("analysis/traveltime.py", "measure"),  # the frame named in a validation error
    ("analysis/uptake/period.py", "unit_label"),  # the rates' unit: "per 1,000 residents per year"
    ("stats/inputs.py", "_where"),  # where bad inputs are, for a raise
    ("service/aggregate.py", "_row_list"),  # rows named in a bad-extract error
    ("service/aggregate.py", "where"),
    ("service/aggregate.py", "_raise_for_bad_values"),
    ("service/sources.py", "parse_reason"),  # why a file does not parse, for a raise
    ("service/sources.py", "open_source"),  # a query's label: "query sha256:…"
    ("service/sql.py", "query_schema"),  # SQL
    ("assessment/metrics.py", "metrics"),  # metrics.json: what a figure measures
    ("assessment/metrics.py", "travel_metrics"),
    ("assessment/metrics.py", "intersect_metrics"),
    ("population/area.py", "group_populations"),  # the frame named in a validation error
}
#: Two words in a row: a phrase, not a code such as "added: {group}" or "change_{unit}".
WORDS = re.compile(r"[A-Za-z]{2,}[ ,;]+[A-Za-z]{2,}")


def _wordy_fstrings(tree: ast.AST) -> list[ast.JoinedStr]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if WORDS.search(text):
                out.append(node)
    return out


def _is_error_message(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside ``raise …`` or a call building a bad-input report (``…Error(…)``, ``Problem(…)``)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name == "Problem" or name.endswith("Error"):
                return True
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            return False
    return False


def _function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    while node in parents and not isinstance(node, ast.FunctionDef):
        node = parents[node]
    return getattr(node, "name", "<module>")


def _reviewed(module: str, function: str) -> bool:
    return (module, function) in NOT_REPORT_WORDS or ("*", function) in NOT_REPORT_WORDS


@pytest.mark.parametrize("module", MODULES)
def test_only_error_messages_are_fstrings_with_words(module):
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    sentences = [
        f"{module}:{n.lineno}"
        for n in _wordy_fstrings(tree)
        if not _is_error_message(n, parents) and not _reviewed(module, _function(n, parents))
    ]
    assert not sentences, f"sentences built in compute code (move them to a template): {sentences}"


def test_the_check_finds_a_sentence():
    tree = ast.parse('def f(x):\n    return f"{x} adds less distance for everyone"\n')
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    [found] = _wordy_fstrings(tree)
    assert not _is_error_message(found, parents)
    raised = ast.parse('def f(x):\n    raise ValueError(f"{x} is not a site")\n')
    parents = {child: node for node in ast.walk(raised) for child in ast.iter_child_nodes(node)}
    [message] = _wordy_fstrings(raised)
    assert _is_error_message(message, parents)
