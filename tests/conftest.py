"""Shared fixtures. Tests that need the real reference pack use ``refdata_dir`` or ``pack``.

The pack is looked for in ``$EIA_REFDATA``, then ``shapes/``, then ``../shared/refdata``.
When it is missing the test fails under CI (``CI=true``) and is skipped elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = sorted((ROOT / "params" / "examples").glob("*.yaml"))


def _find_refdata() -> Path | None:
    candidates = [
        os.environ.get("EIA_REFDATA"),
        ROOT / "shapes",
        ROOT.parent / "shared" / "refdata",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "manifest.json").is_file():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def refdata_dir() -> Path:
    """The real reference pack's folder; sets ``EIA_REFDATA`` for the session."""
    folder = _find_refdata()
    if folder is None:
        message = "reference data not found: set EIA_REFDATA or run `eia data install --from DIR`"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    os.environ["EIA_REFDATA"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def pack(refdata_dir):
    """The verified reference pack (loaded once per session)."""
    from eia.refdata import load_pack

    return load_pack(refdata_dir)


@pytest.fixture(scope="session")
def notts_area(pack):
    """Nottingham and Nottinghamshire ICB's area frame."""
    from eia.population.area import build_area

    return build_area(pack, {"icb": "E54000060"})


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests/services.py); yields its URL."""
    from services import Postgres

    server = Postgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark():
    """A local Spark session (PySpark + Java 17), shared by the session's tests."""
    from services import spark_session

    return spark_session()
