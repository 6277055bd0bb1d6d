"""`eia data fetch`: build the reference pack from the publishers' releases (see :mod:`eia.refdata.fetch`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from eia.errors import RefDataError
from eia.refdata import (
    REQUIRED_FILES,
    shapes_dir,
    verify,
)
from eia.refdata import pack as refdata
from eia.refdata.fetch.assemble import (
    _describe,
    _move_into_place,
    assemble,
    write_pack,
)
from eia.refdata.fetch.download import (
    Downloader,
    _Progress,
    _write_json,
)
from eia.refdata.fetch.parsers import (
    NEEDS,
    PRODUCES,
    parse,
)
from eia.refdata.fetch.registry import load_sources
from eia.refdata.fetch.sources import (
    BASE_URL_ENV,
    OPTIONAL_FILES,
    Source,
    default_cache,
)

__all__ = ["fetch"]


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------
def fetch(
    dest: Path | str | None = None,
    cache: Path | str | None = None,
    sources: Path | str | Mapping[str, Source] | None = None,
    progress: bool | Callable[[str, int, int | None], None] = True,
    *,
    base_url: str | None = None,
    optional: bool = True,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60.0,
) -> Path:
    """Download the official releases, verify them and build the pack in ``dest``.

    ``dest`` defaults to ``shapes/`` (see :func:`eia.refdata.shapes_dir`), ``cache``
    to ``EIA_FETCH_CACHE`` or ``~/.cache/eia/downloads``, ``sources`` to
    ``shapes/sources.toml`` (a path, or ``{name: Source}``). ``base_url`` (or the
    ``EIA_FETCH_BASE_URL`` environment variable) replaces the scheme and host of
    every URL. ``optional=False`` skips optional sources (population-weighted
    centroids); otherwise their failure is reported and the pack built without
    them. ``progress`` shows ``rich`` progress bars, or is a callback
    ``(name, done, total)``. Returns ``dest``.

    Raises :class:`RefDataError` naming the file and what to do; on any failure
    ``dest`` is left unchanged and no staging folder remains.
    """
    dest = Path(dest).expanduser().resolve() if dest else shapes_dir()
    cache = Path(cache).expanduser() if cache else default_cache()
    chosen = dict(sources) if isinstance(sources, Mapping) else load_sources(sources)
    base_url = base_url or os.environ.get(BASE_URL_ENV) or None
    given = {key for s in chosen.values() if not s.optional for key in PRODUCES[s.parser]}
    needed = {key for name in (*REQUIRED_FILES, OPTIONAL_FILES[0]) for key in NEEDS[name]}
    if needed - given:
        raise RefDataError(
            "the sources list gives no (non-optional) source for "
            + ", ".join(sorted(needed - given))
            + ": every required pack file needs one (see shapes/README.md)"
        )
    with _Progress(progress) as bar:
        downloader = Downloader(
            cache,
            base_url=base_url,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            progress=bar,
        )
        files_in: dict[str, Path] = {}
        provenance: list[dict] = []
        for source in chosen.values():
            if source.optional and not optional:
                continue
            try:
                path, record = downloader.fetch(source)
            except RefDataError as exc:
                if not source.optional:
                    raise
                bar.say(f"{source.name} is optional and was left out: {exc}")
                continue
            files_in[source.name] = path
            provenance.append(record)
        unpinned = [r for r in provenance if not r["pinned"]]
        if unpinned:
            bar.say(
                "Not yet pinned in shapes/sources.toml; observed now (copy into each "
                "[sources.NAME] table to pin the release, so that a different file is refused):\n"
                + "\n".join(
                    f'  [sources.{r["source"]}] size = {r["size"]}  sha256 = "{r["sha256"]}"'
                    for r in unpinned
                )
            )

        tables: dict[str, pd.DataFrame] = {}
        made_by: dict[str, Source] = {}
        for name, path in files_in.items():
            source = chosen[name]
            try:
                parsed = parse(path, source)
            except RefDataError as exc:
                if not source.optional:
                    raise
                bar.say(f"{source.name} is optional and was left out: {exc}")
                continue
            for key, frame in parsed.items():
                tables[key] = frame
                made_by[key] = source
        files = assemble(tables)
        descriptions = {
            name: _describe(name, list({made_by[k].name: made_by[k] for k in NEEDS[name]}.values()))
            for name in files
        }
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.fetch-", dir=dest.parent))
        try:
            manifest = write_pack(files, staging, descriptions)
            _write_json(
                staging / "provenance.json",
                {
                    "built": datetime.now(UTC).isoformat(timespec="seconds"),
                    "sources": provenance,
                },
            )
            verify(staging)
            _move_into_place(staging, dest, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for cached in (refdata._verified, refdata._pack_at):
            cached.cache_clear()  # a pack already loaded from dest in this process is stale
        verify(dest)
        bar.say(f"Reference pack built in {dest} ({len(manifest)} files).")
    return dest
