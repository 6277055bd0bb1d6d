"""Contract checks remembered: a pack file is checked against its contract once per content.

Checking a pack file against its data contract (:mod:`eia.refdata.schemas`) gives the same
answer for the same bytes and the same contract, and every run already verifies each
file's sha256 against the pack's manifest (:func:`eia.refdata.verify`). So when a file
passes, a small record says so: *the file with sha256 S met contract C*, where C is a
fingerprint of the contract (its columns, types and checks, the source of the modules
that define them, and the versions of the libraries that read and check the file). A
later run reading the same file under the same contract skips the check; a changed file
or a changed contract has no record and is checked again. A file that fails is never
recorded, so it fails the same way on every run.

The records live in one JSON file in a user cache folder, never in the pack's folder
(which may be read-only): ``$EIA_CACHE_DIR`` when set (an empty value turns the records
off), else ``$XDG_CACHE_HOME/eia``, else ``~/.cache/eia``. The file is written atomically
(a temporary file renamed over it); one that cannot be read or parsed is ignored (every
file is then checked), and one that cannot be written is skipped without complaint.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = [
    "CACHE_ENV_VAR",
    "RECORDS_FILE",
    "cache_dir",
    "fingerprint",
    "record_key",
    "passed",
    "remember",
]

#: The environment variable naming the cache folder (empty: no records kept).
CACHE_ENV_VAR = "EIA_CACHE_DIR"
#: The records' file name inside the cache folder.
RECORDS_FILE = "contracts-passed.json"
#: Records kept (the newest); a pack has about twenty files, so this spans many packs.
MAX_RECORDS = 2000
_FORMAT = 1
#: Modules whose source defines the contracts: a change to either re-checks every file.
_CONTRACT_MODULES = ("schemas.py", "groups.py")
#: Libraries whose versions decide what a read gives and how it is checked.
_LIBRARIES = ("pandas", "pandera", "pyarrow", "geopandas", "shapely", "numpy")


def cache_dir() -> Path | None:
    """The folder of the records: ``$EIA_CACHE_DIR``, ``$XDG_CACHE_HOME/eia`` or ``~/.cache/eia``.

    None when ``EIA_CACHE_DIR`` is set to an empty value (records turned off).
    """
    override = os.environ.get(CACHE_ENV_VAR)
    if override is not None:
        return Path(override).expanduser() if override.strip() else None
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    if base:
        return Path(base).expanduser() / "eia"
    try:
        return Path.home() / ".cache" / "eia"
    except RuntimeError:  # no home folder to be found: keep no records
        return None


@cache
def _environment() -> str | None:
    """The contracts' source and the libraries' versions, as one digest (once per process);
    None when the source cannot be read (e.g. run from a zip): then nothing is remembered."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CONTRACT_MODULES:
        try:
            source = (here / name).read_bytes()
        except OSError:
            return None
        digest.update(name.encode() + b"\0" + source + b"\0")
    for library in _LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{library}={version}\0".encode())
    return digest.hexdigest()


def _describe_check(check) -> str:
    stats = getattr(check, "statistics", None) or {}
    return f"{getattr(check, 'name', '')}|{getattr(check, 'error', '')}|{sorted(map(str, stats.items()))}"


_fingerprints: dict[int, tuple[object, str]] = {}  # id(contract) -> (contract, digest)


def fingerprint(contract) -> str:
    """A digest of a contract: its name, columns (type, nullable, unique, checks), frame checks
    and unique key, plus the source of the modules defining contracts and the library versions.

    ``contract`` is a :class:`eia.refdata.schemas.Contract` (anything with ``name`` and a pandera
    ``schema``).
    """
    known = _fingerprints.get(id(contract))
    if known is not None and known[0] is contract:
        return known[1]
    schema = contract.schema
    parts = [str(_environment()), str(contract.name)]
    for name, column in schema.columns.items():
        checks = ",".join(_describe_check(c) for c in column.checks)
        parts.append(
            f"{name}|{column.dtype}|{column.nullable}|{column.unique}|"
            f"{getattr(column, 'required', True)}|{checks}"
        )
    parts.append("frame|" + ",".join(_describe_check(c) for c in schema.checks))
    parts.append(f"unique|{schema.unique}|index|{schema.index}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    _fingerprints[id(contract)] = (contract, digest)  # contracts are frozen: once per process
    return digest


def record_key(sha256: str, contract, columns: Sequence[str] | None = None) -> str:
    """The record of "the file with ``sha256`` met ``contract``" (for ``columns`` of it, if given)."""
    part = "*" if columns is None else ",".join(columns)
    return hashlib.sha256(f"{sha256}|{fingerprint(contract)}|{part}".encode()).hexdigest()


_loaded: dict[Path, list[str]] = {}  # the records file's keys, read once per process


def _records(path: Path) -> list[str]:
    if path not in _loaded:
        keys: list[str] = []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            listed = data.get("passed") if isinstance(data, dict) else None
            if isinstance(listed, list) and data.get("format") == _FORMAT:
                keys = [k for k in listed if isinstance(k, str)]
        except (OSError, ValueError, UnicodeDecodeError):
            keys = []  # absent, unreadable or corrupt: nothing remembered, everything checked
        _loaded[path] = keys
    return _loaded[path]


def passed(key: str) -> bool:
    """Whether the record ``key`` (from :func:`record_key`) was kept by an earlier check."""
    folder = cache_dir()
    if folder is None or _environment() is None:
        return False
    return key in _records(folder / RECORDS_FILE)


def remember(key: str) -> None:
    """Keep the record ``key``: written atomically; a folder that cannot be written is skipped."""
    folder = cache_dir()
    if folder is None or _environment() is None:
        return
    path = folder / RECORDS_FILE
    _loaded.pop(path, None)  # another process may have added records since
    keys = [k for k in _records(path) if k != key] + [key]
    keys = keys[-MAX_RECORDS:]
    _loaded[path] = keys
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".contracts-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"format": _FORMAT, "passed": keys}, out)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only home or cache: the check simply runs again next time
