"""Reference data: verification, installation, and the message when it is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eia import refdata
from eia.errors import RefDataError
from eia.runner.cli import main

FIXTURES = Path(__file__).parent / "fixtures"

TINY = FIXTURES / "refdata" / "tiny-pack"


def test_verify_accepts_matching_checksums():
    manifest = refdata.verify(TINY, required=())
    assert sorted(manifest) == ["a.parquet", "b.parquet"]


def test_verify_names_altered_and_missing_files(tmp_path):
    pack = tmp_path / "pack"
    shutil.copytree(TINY, pack)
    (pack / "a.parquet").write_bytes(b"tampered")
    (pack / "b.parquet").unlink()
    with pytest.raises(RefDataError) as err:
        refdata.verify(pack, required=())
    assert "a.parquet does not match its sha256" in str(err.value)
    assert "b.parquet is missing" in str(err.value)


def test_verify_requires_the_pack_files(tmp_path):
    with pytest.raises(RefDataError, match="manifest does not list lsoa21_boundaries.parquet"):
        refdata.verify(TINY)


def test_bad_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(RefDataError, match="not valid JSON"):
        refdata.verify(tmp_path, required=())


def test_install_copies_and_verifies(tmp_path):
    dest = tmp_path / "shapes"
    refdata.install(TINY, dest, required=())
    assert (dest / "manifest.json").is_file()
    assert refdata.verify(dest, required=()) == json.loads((TINY / "manifest.json").read_text())
    assert not [p for p in dest.iterdir() if p.name.startswith(".install-")]


def test_failed_install_leaves_destination_untouched(tmp_path):
    source = tmp_path / "bad"
    shutil.copytree(TINY, source)
    (source / "b.parquet").write_bytes(b"truncated")
    dest = tmp_path / "shapes"
    dest.mkdir()
    (dest / "README.md").write_text("keep me")
    with pytest.raises(RefDataError, match="b.parquet"):
        refdata.install(source, dest, required=())
    assert sorted(p.name for p in dest.iterdir()) == ["README.md"]


def test_missing_data_is_one_sentence_on_how_to_provide_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(refdata.SHAPES_ENV_VAR, str(tmp_path / "empty-shapes"))
    monkeypatch.delenv(refdata.ENV_VAR, raising=False)
    with pytest.raises(RefDataError) as err:
        refdata.locate()
    message = str(err.value)
    assert "eia data install --from DIR" in message and "EIA_REFDATA" in message
    assert message.count("\n") == 0
    assert main(["data", "check"]) == 2
    assert "eia data install --from DIR" in capsys.readouterr().err


def test_install_real_pack_via_cli(refdata_dir, tmp_path, capsys):
    dest = tmp_path / "shapes"
    assert main(["data", "install", "--from", str(refdata_dir), "--dest", str(dest)]) == 0
    assert "verified and installed" in capsys.readouterr().out
    assert sorted(refdata.verify(dest)) == sorted(refdata.read_manifest(refdata_dir))


def test_real_pack_checksum_failure_via_cli(refdata_dir, tmp_path, capsys):
    source = tmp_path / "pack"
    shutil.copytree(refdata_dir, source)
    target = source / "imd2025_lsoa21.parquet"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes()[:1000])
    assert main(["data", "install", "--from", str(source), "--dest", str(tmp_path / "s")]) == 2
    assert "imd2025_lsoa21.parquet does not match its sha256" in capsys.readouterr().err


def test_pack_loads_projected_geometries(pack):
    boundaries = pack.boundaries(["E01013810", "E01013811"])
    assert boundaries.crs.to_epsg() == 27700
    assert len(boundaries) == 2
    assert pack.hospitals().crs.to_epsg() == 27700
