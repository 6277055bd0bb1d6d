"""The package's floors: small modules, each saying what it is for (issue 24).

The import rules themselves (floors, no cycles, calculation never imports presentation) are
checked by import-linter in `make test` (pyproject.toml [tool.importlinter]).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "eia"
MODULES = sorted(SRC.rglob("*.py"))
MAX_LINES = 800


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_a_module_is_small_and_says_what_it_is_for(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name}: split it by what it holds"
    if path.name != "__init__.py" or text.strip():
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"
