"""The sources registry (``sources.toml``), read and checked: every source's URL, format, parser and pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from eia.errors import RefDataError
from eia.refdata import (
    project_root,
)
from eia.refdata.fetch.parsers import PARSERS
from eia.refdata.fetch.sources import (
    FORMATS,
    Source,
)

__all__ = ["default_sources_path", "load_sources"]


def default_sources_path() -> Path:
    """``shapes/sources.toml`` of the project (committed with the code)."""
    return project_root() / "shapes" / "sources.toml"


def _pin_int(value, where: str) -> int | None:
    if value in ("", None):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RefDataError(f'{where} must be a whole number of bytes or rows, or "" (not pinned)')
    return value


def load_sources(path: Path | str | None = None) -> dict[str, Source]:
    """Read ``sources.toml`` into ``{name: Source}`` (in file order), checking every entry."""
    path = Path(path) if path else default_sources_path()
    if not path.is_file():
        raise RefDataError(
            f"{path} does not exist: `eia data fetch` needs the list of official releases "
            "(shapes/sources.toml in the eia source tree); pass --sources FILE"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RefDataError(f"{path} is not valid TOML: {exc}") from exc
    entries = data.get("sources")
    if not isinstance(entries, dict) or not entries:
        raise RefDataError(f"{path} must hold [sources.NAME] tables")
    out: dict[str, Source] = {}
    for name, entry in entries.items():
        where = f"{path}: [sources.{name}]"
        if not isinstance(entry, dict):
            raise RefDataError(f"{where} must be a table")
        missing = [k for k in ("url", "format", "parser") if not entry.get(k)]
        if missing:
            raise RefDataError(f"{where} lacks {', '.join(missing)}")
        if entry["format"] not in FORMATS:
            raise RefDataError(f"{where}: format must be one of {', '.join(FORMATS)}")
        if entry["parser"] not in PARSERS:
            raise RefDataError(
                f"{where}: unknown parser {entry['parser']!r} (known: {', '.join(sorted(PARSERS))})"
            )
        digest = str(entry.get("sha256", "")).strip().lower()
        if digest and not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise RefDataError(f'{where}: sha256 must be 64 hex digits or "" (not pinned)')
        if entry["format"] == "zip" and not entry.get("member"):
            raise RefDataError(f'{where}: a zip source needs member = "FILE.csv" (the file read)')
        out[name] = Source(
            name=name,
            title=str(entry.get("title", name)),
            url=str(entry["url"]),
            format=entry["format"],
            parser=entry["parser"],
            size=_pin_int(entry.get("size", ""), f"{where} size"),
            sha256=digest,
            rows=_pin_int(entry.get("rows", ""), f"{where} rows"),
            optional=bool(entry.get("optional", False)),
            member=str(entry.get("member", "")),
            fields=tuple(entry.get("fields", ())),
            geometry=bool(entry.get("geometry", False)),
            page_size=int(entry.get("page_size", 2000)),
            page=str(entry.get("page", "")),
            file=str(entry.get("file", "")),
        )
    return out
