"""Params written the way commissioners write them: UK dates, colons in text, patterns in words."""

from __future__ import annotations

import datetime as dt

import pytest

from eia import params
from eia.errors import ParamsError


def test_dates_accept_dd_mm_yyyy_and_iso():
    for text in ("30/06/2027", "2027-06-30", "30/6/2027"):
        action = params.Action.model_validate({"action": "a", "owner": "b", "due": text})
        assert action.due == dt.date(2027, 6, 30)
    with pytest.raises(ValueError, match="not a real date"):
        params.Action.model_validate({"action": "a", "owner": "b", "due": "31/02/2027"})


def test_yaml_error_on_an_unquoted_colon_suggests_quoting(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("id: x\ntitle: Consolidation: phase 2\ntemplate: site_change\n")
    with pytest.raises(ParamsError, match="must be quoted") as err:
        params.read_yaml(path)
    assert "line 2" in str(err.value)


def test_params_reference_gives_patterns_in_words():
    doc = params.schema_markdown()
    assert "StringConstraints" not in doc and "\\d" not in doc
    assert "an ICB code: ONS E54 and 6 digits" in doc
