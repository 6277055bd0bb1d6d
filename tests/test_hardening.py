"""Round two of hostile input (issue 26): secrets, file contents, untrusted templates, writes,
numbers, dates and names. Each test reproduces one numbered case of the issue."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eia import redact

FIXTURE_TEMPLATES = Path(__file__).parent / "fixtures" / "templates"
LEAK_URL = "postgress://analyst:hunter2-Secret@db.internal.example:5432/activity"


def _dump(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _tiny(**extra) -> dict:
    return {
        "id": "tiny",
        "title": "Test fixture proposal",
        "template": "site_change",
        "area": {"ltla": ["E06000018"]},
        "sites": {
            "current": [{"hospital": "King's Mill Hospital"}],
            "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
        },
        **extra,
    }


# 3. Secrets are scrubbed from everything written on failure ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        LEAK_URL,
        "could not connect: postgres://analyst:hunter2-Secret@db/x (timeout)",
        "mysql+pymysql://analyst:hunter2-Secret@db/x",
        "sc://spark.example:15002/;token=hunter2-Secret",
        "host=db user=analyst password=hunter2-Secret dbname=x",
        "https://analyst:hunter2-Secret@files.example/x.csv",
        "https://files.example/x.csv?sig=hunter2-Secret&a=1",
    ],
)
def test_scrub_hides_urls_and_passwords_of_any_scheme(text):
    scrubbed = redact.scrub(text)
    assert "hunter2-Secret" not in scrubbed
    assert "db.internal" not in scrubbed


def test_scrub_keeps_plain_text_and_documentation_links():
    text = "see https://www.ons.gov.uk/census for the ethnic groups (row 3)"
    assert redact.scrub(text) == text


@given(secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4))
def test_scrub_hides_named_secrets_wherever_they_appear(secret):
    values = redact.secret_values(["EIA_X"], environ={"EIA_X": secret})
    assert secret not in redact.scrub(f"a {secret} b {secret}", values)


@pytest.mark.slow
def test_failed_notebook_error_and_message_hold_no_connection_url(
    refdata_dir, tmp_path, monkeypatch
):
    from eia.errors import RunError
    from eia.run import run

    monkeypatch.setenv("EIA_TEMPLATES", str(FIXTURE_TEMPLATES / "leak-url"))
    monkeypatch.setenv("EIA_LEAK_DB", LEAK_URL)
    service = {
        "query": "SELECT 1",
        "connection": "EIA_LEAK_DB",
        "columns": {"lsoa": "lsoa_code"},
    }
    params_file = _dump(tmp_path / "p" / "tiny.yaml", _tiny(service=service))
    with pytest.raises(RunError) as caught:
        run(params_file, tmp_path / "out")
    failed = tmp_path / "out" / "tiny" / "failed"
    written = {
        "message": str(caught.value),
        "error.txt": (failed / "error.txt").read_text(encoding="utf-8"),
        "notebook": (failed / "assessment.ipynb").read_text(encoding="utf-8"),
    }
    assert "connecting to" in written["notebook"]  # the outputs are kept, scrubbed
    for where, text in written.items():
        assert "hunter2-Secret" not in text, where
        assert "db.internal.example" not in text, where
        assert "analyst" not in text, where
