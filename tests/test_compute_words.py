"""Compute modules build no sentences: the options appraisal, the equity frontier and the
findings return numbers and codes, and the report's words are Jinja2 templates
(``src/eia/report/prose``). The only f-strings with words in them are messages for bad input
(raised as errors, or a params :class:`~eia.params.Problem`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "eia"
MODULES = [
    "analysis/appraisal.py",
    "analysis/frontier.py",
    "analysis/frontier_search.py",
    *(f"findings/{p.name}" for p in sorted((SRC / "findings").glob("*.py"))),
]
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


@pytest.mark.parametrize("module", MODULES)
def test_only_error_messages_are_fstrings_with_words(module):
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    sentences = [
        f"{module}:{n.lineno}" for n in _wordy_fstrings(tree) if not _is_error_message(n, parents)
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
