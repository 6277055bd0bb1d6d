"""Build the reference pack from the publishers' own releases (``eia data fetch``).

There are three ways to give ``eia`` its reference data (see ``shapes/README.md``):

1. ``eia data install --from DIR`` copies a ready-built pack (a folder holding
   ``manifest.json`` and the Parquet files, e.g. ``../shared/refdata``) into
   ``shapes/``;
2. ``EIA_REFDATA=DIR`` points at such a pack where it already is;
3. ``eia data fetch [--cache DIR]`` (this module) downloads the official
   releases and builds the same pack, with the same files, columns and
   GeoParquet CRS (EPSG:4326), into ``shapes/``.

What :func:`fetch` does, in order:

* reads ``shapes/sources.toml``: one entry per release with its ``url``,
  expected ``size`` and ``sha256`` ("" = not yet pinned), ``format`` and
  ``parser``. A publisher's revision is a one-line change there;
* downloads each release into a cache folder (default ``~/.cache/eia/downloads``,
  or ``--cache DIR``) with the standard library's ``urllib``, which honours
  ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment (NHS
  networks). A download goes to ``FILE.part`` and resumes with an HTTP
  ``Range`` request after an interruption; connection errors, cut-short
  bodies and HTTP 5xx/429 are retried with exponential back-off; progress is
  shown with ``rich``. ONS layers (``format = "arcgis"``) are read page by page
  from their FeatureServer ``query`` endpoint (pages are cached, so a retry
  resumes at the page it stopped at) and checked against the feature count
  the server reports;
* checks the size and sha256 of each file when they are pinned, and prints the
  observed ones when they are not (and records them in ``provenance.json``);
* parses each release by the publisher's own column headings, failing with a
  :class:`~eia.errors.RefDataError` that names the file and the missing
  columns if a release changes shape;
* writes the Parquet/GeoParquet files and ``manifest.json`` into a staging
  folder beside the destination, verifies it with :func:`eia.refdata.verify`,
  and only then moves the files into place. On any failure the destination is
  left as it was and the staging folder is removed.

Every user-facing failure is a :class:`~eia.errors.RefDataError` whose message
names the file and says what to do, including how to use
``eia data install --from DIR`` with a pack obtained another way, or how to
drop a file downloaded by hand into the cache.

Mirrors and tests: ``EIA_FETCH_BASE_URL=http://HOST:PORT`` (or
``fetch(base_url=...)``) replaces the scheme and host of every source URL and
keeps its path and query, so a local server on 127.0.0.1 can stand in for the
publishers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from shapely.geometry import MultiPolygon, Point

from eia.errors import RefDataError
from eia.refdata import (
    BNG,
    REQUIRED_FILES,
    SOURCES,
    WGS84,
    project_root,
    read_manifest,
    sha256,
    shapes_dir,
    verify,
)
from eia.refdata import pack as refdata
from eia.refdata.schemas import CODE_PATTERNS, PACK, PACK_COLUMNS

BASE_URL_ENV = "EIA_FETCH_BASE_URL"
CACHE_ENV = "EIA_FETCH_CACHE"
USER_AGENT = "eia-fetch/0.1 (equity impact assessments; +https://github.com/)"
CHUNK = 1 << 16
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

#: Arrow types where a pack file's column is not what pandas writes by default (the
#: ready-built pack stores MSOA names as ``string``, other text as ``large_string``).
PACK_TYPES: dict[str, dict[str, str]] = {
    "lsoa21_msoa21_lookup.parquet": {"msoa21_name": "string"},
}

#: Files a fetched pack may hold beyond ``REQUIRED_FILES``.
OPTIONAL_FILES = (
    "imd2025_subdomains_lsoa21.parquet",
    "lsoa21_centroids.parquet",
    "census2021_ethnicity_detailed_lsoa21.parquet",
)

DESCRIPTIONS = {
    "imd2025_subdomains_lsoa21.parquet": "English Indices of Deprivation 2025 sub-domains "
    "(score, rank, decile), LSOA 2021, MHCLG",
    "lsoa21_centroids.parquet": "LSOA (December 2021) population-weighted centroids, "
    "England and Wales, WGS84, ONS",
    "hospitals22_points.parquet": "NHS hospital sites in England, points, WGS84, from the NHS "
    "website's Hospital.csv (the current list at the time of download, not the 2022 list)",
    "population20_age_lsoa21.parquet": "ONS mid-2020 small area population estimates "
    "(SAPE23DT2), persons by single year of age (age_0 ... age_89, age_90_plus) and total; "
    "published for LSOA 2011, converted to LSOA 2021 with the LSOA 2011 to 2021 lookup (split "
    "areas apportioned by Census 2021 usual residents; totals preserved); England and Wales",
    "census2021_proficiency_msoa21.parquet": "Census 2021 TS029 proficiency in English, usual "
    "residents aged 3 and over, MSOA 2021, England and Wales",
    "lsoa21_msoa21_lookup.parquet": "LSOA 2021 to MSOA 2021 (codes and names; every LSOA nests "
    "in one MSOA), England and Wales, ONS",
    "ruc21_lsoa21.parquet": "Rural-Urban Classification 2021 (ONS), LSOA 2021, England and "
    "Wales: code, name and urban/rural",
    "census2021_ethnicity_detailed_lsoa21.parquet": "Census 2021 TS021 ethnic group, the 19 "
    "detailed categories (ethnic_group_detailed as 'High-level group: category'), usual "
    "residents, LSOA 2021, England and Wales, ONS",
}


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Source:
    """One official release listed in ``sources.toml``."""

    name: str
    title: str
    url: str
    format: str
    parser: str
    size: int | None = None
    sha256: str = ""
    rows: int | None = None
    optional: bool = False
    member: str = ""
    fields: tuple[str, ...] = ()
    geometry: bool = False
    page_size: int = 2000
    page: str = ""
    file: str = ""

    @property
    def filename(self) -> str:
        """The name of the downloaded file in the cache."""
        if self.file:
            return self.file
        path = urllib.parse.urlparse(self.url).path.rstrip("/")
        if self.format == "arcgis":
            parts = path.split("/")
            where = parts.index("FeatureServer") if "FeatureServer" in parts else 0
            return f"{parts[where - 1] if where else 'layer'}.geojson"
        return urllib.parse.unquote(path.rsplit("/", 1)[-1]) or f"{self.name}.download"


FORMATS = ("csv", "zip", "arcgis", "xlsx")


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


def rebase(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s (path and query kept)."""
    if not base_url:
        return url
    base = urllib.parse.urlparse(base_url)
    if not base.scheme or not base.netloc:
        raise RefDataError(f"base URL {base_url!r} must look like http://HOST[:PORT]")
    parts = urllib.parse.urlparse(url)
    prefix = base.path.rstrip("/")
    return urllib.parse.urlunparse(
        parts._replace(scheme=base.scheme, netloc=base.netloc, path=prefix + parts.path)
    )


def default_cache() -> Path:
    """Where downloads are kept: ``EIA_FETCH_CACHE`` or ``$XDG_CACHE_HOME/eia/downloads``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "eia" / "downloads"


# ---------------------------------------------------------------------------
# Progress and messages
# ---------------------------------------------------------------------------
class _Progress:
    """Progress bars (``rich``) or nothing; messages always go to stderr."""

    def __init__(self, enabled: bool | Callable):
        self.callback = enabled if callable(enabled) else None
        self.bar = None
        if enabled is True:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()

    def start(self, name: str, total: int | None, done: int = 0):
        if self.bar:
            return self.bar.add_task(name, total=total, completed=done)
        if self.callback:
            self.callback(name, done, total)
        return name

    def update(self, task, done: int, total: int | None):
        if self.bar:
            self.bar.update(task, completed=done, total=total)
        elif self.callback:
            self.callback(task, done, total)

    def finish(self, task):
        if self.bar:
            self.bar.remove_task(task)

    def say(self, message: str):
        if self.bar:
            self.bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr)


# ---------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------
class _Retry(Exception):
    """A failure worth another attempt (connection trouble, 5xx, cut-short body)."""


def _what_to_do(source: Source, cache_file: Path) -> str:
    return (
        f"Check the network and proxy settings (HTTPS_PROXY/HTTP_PROXY/NO_PROXY) and run "
        f"`eia data fetch` again: finished downloads are kept in the cache and partial ones "
        f"resume. If this machine cannot reach the publisher, download {source.url} another "
        f"way (see {source.page or 'the release page'}) and put it at {cache_file}, then run "
        f"`eia data fetch --cache {cache_file.parent.parent}`; or copy a ready-built pack "
        f"(manifest.json and the Parquet files, e.g. ../shared/refdata or one built by "
        f"`eia data fetch` elsewhere) and run `eia data install --from DIR`."
    )


def _fail(source: Source, cache_file: Path, problem: str) -> RefDataError:
    return RefDataError(
        f"{source.name}: {problem} ({source.title}; {source.url}). "
        + _what_to_do(source, cache_file)
    )


class Downloader:
    """Downloads sources into a cache with resume, retry and verification."""

    def __init__(
        self,
        cache: Path,
        *,
        base_url: str | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        timeout: float = 60.0,
        progress: _Progress | None = None,
    ):
        self.cache = Path(cache)
        self.base_url = base_url
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.timeout = timeout
        self.progress = progress or _Progress(False)
        # Built per run so the proxy settings of the environment at that time apply.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler())

    # -- public -------------------------------------------------------------
    def fetch(self, source: Source) -> tuple[Path, dict]:
        """Download ``source`` (or reuse the cache); return the file and its provenance."""
        folder = self.cache / source.name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / source.filename
        url = rebase(source.url, self.base_url)
        sidecar = target.with_name(target.name + ".json")
        if target.is_file():
            record = _read_json(sidecar)
            if record is not None and record.get("url") != source.url:
                target.unlink()  # the source was revised: download the new release
            elif self._matches_pins(source, target):
                return target, self._record(source, target, sidecar, cached=True)
            elif record is None:  # put there by hand: never delete it
                raise _fail(source, target, self._mismatch_text(source, target, "the cached file"))
            else:
                target.unlink()
        if source.format == "arcgis":
            self._fetch_arcgis(source, url, target)
        else:
            self._fetch_file(source, url, target)
        return target, self._record(source, target, sidecar, cached=False)

    # -- verification ---------------------------------------------------------
    @staticmethod
    def _matches_pins(source: Source, path: Path) -> bool:
        if source.size is not None and path.stat().st_size != source.size:
            return False
        return not source.sha256 or sha256(path) == source.sha256

    @staticmethod
    def _mismatch_text(source: Source, path: Path, what: str) -> str:
        size, digest = path.stat().st_size, sha256(path)
        if source.size is not None and size != source.size:
            return (
                f"{what} {path.name} has {size} bytes but sources.toml pins size = {source.size} "
                "(a truncated download, or a revised release: check the release page and update "
                "size and sha256 in shapes/sources.toml)"
            )
        return (
            f"sha256 mismatch: {what} {path.name} has sha256 {digest} but sources.toml pins "
            f"{source.sha256} (a corrupted download, or a revised release: check the release "
            "page and update sha256 and size in shapes/sources.toml)"
        )

    def _record(self, source: Source, target: Path, sidecar: Path, *, cached: bool) -> dict:
        record = _read_json(sidecar) or {}
        size, digest = target.stat().st_size, sha256(target)
        if record.get("sha256") != digest or record.get("url") != source.url:
            record = {
                "url": source.url,
                "size": size,
                "sha256": digest,
                "retrieved": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _write_json(sidecar, record)
        return {
            "source": source.name,
            "title": source.title,
            "pinned": bool(source.sha256),
            "cached": cached,
            **record,
        }

    # -- plain files --------------------------------------------------------------
    def _fetch_file(self, source: Source, url: str, target: Path) -> None:
        part = target.with_name(target.name + ".part")
        task = self.progress.start(source.name, source.size)
        try:
            self._with_retries(source, target, lambda: self._get_into(source, url, part, task))
        finally:
            self.progress.finish(task)
        if not self._matches_pins(source, part):
            problem = self._mismatch_text(source, part, "the downloaded file")
            part.unlink()
            raise _fail(source, target, problem)
        os.replace(part, target)

    def _with_retries(self, source: Source, target: Path, attempt: Callable[[], None]) -> None:
        for n in range(self.retries + 1):
            try:
                attempt()
                return
            except _Retry as exc:
                if n == self.retries:
                    raise _fail(
                        source, target, f"download failed after {n + 1} attempts: {exc}"
                    ) from None
                wait = self.backoff * (2**n)
                self.progress.say(f"{source.name}: {exc}; retrying in {wait:.1f}s")
                time.sleep(wait)

    def _open(self, url: str, headers: Mapping[str, str] | None = None):
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        return self.opener.open(request, timeout=self.timeout)

    def _get_into(self, source: Source, url: str, part: Path, task) -> None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = self._open(url, headers)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have and source.size == have:
                return  # the partial file is already complete
            if exc.code == 416:
                part.unlink(missing_ok=True)
                raise _Retry("the server refused to resume (HTTP 416); starting again") from None
            if exc.code in RETRYABLE_STATUS:
                raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
            raise _fail(source, part.with_suffix(""), f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise _Retry(f"cannot connect: {getattr(exc, 'reason', exc)}") from None
        with response:
            status = response.status
            if status == 202:  # "accepted, still preparing the file" (ArcGIS Hub)
                raise _Retry("the server is still preparing the file (HTTP 202)")
            start = 0
            if status == 206:
                match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
                start = int(match.group(1)) if match else -1
                if start != have:
                    part.unlink(missing_ok=True)
                    raise _Retry("the server resumed at the wrong place; starting again")
            length = response.headers.get("Content-Length")
            expected = start + int(length) if length and length.isdigit() else None
            total = expected or source.size
            mode = "ab" if (status == 206 and start == have and have) else "wb"
            done = have if mode == "ab" else 0
            self.progress.update(task, done, total)
            try:
                with open(part, mode) as out:
                    while block := response.read(CHUNK):
                        out.write(block)
                        done += len(block)
                        self.progress.update(task, done, total)
            except (OSError, http.client.HTTPException) as exc:
                raise _Retry(f"connection broke after {done} bytes: {exc}") from None
        if expected is not None and done < expected:
            raise _Retry(f"download cut short: received {done} of {expected} bytes (truncated)")
        if source.size is not None and done < source.size:
            raise _Retry(f"download cut short: received {done} of {source.size} bytes (truncated)")

    # -- ONS ArcGIS FeatureServer layers ----------------------------------------
    def _query_url(self, url: str, source: Source, **params) -> str:
        base = url.rstrip("/")
        query = {
            "where": "1=1",
            "outFields": ",".join(source.fields) if source.fields else "*",
            "returnGeometry": "true" if source.geometry else "false",
            "outSR": "4326",
            "f": "geojson",
        }
        query.update({k: str(v) for k, v in params.items()})
        return f"{base}/query?{urllib.parse.urlencode(query)}"

    def _get_json(self, source: Source, target: Path, url: str) -> dict:
        try:
            with self._open(url, {"Accept": "application/json"}) as response:
                raw = response.read()
                length = response.headers.get("Content-Length")
        except urllib.error.HTTPError as exc:
            if exc.code in RETRYABLE_STATUS:
                raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
            raise _fail(source, target, f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise _Retry(f"cannot connect: {getattr(exc, 'reason', exc)}") from None
        if length and length.isdigit() and len(raw) < int(length):
            raise _Retry(f"response cut short: received {len(raw)} of {length} bytes (truncated)")
        try:
            data = json.loads(raw)
        except ValueError:
            raise _Retry("the server's reply was not complete JSON (truncated?)") from None
        if isinstance(data, dict) and "error" in data:
            error = data["error"] or {}
            code = error.get("code")
            message = f"ArcGIS error {code}: {error.get('message', '')}".strip()
            if isinstance(code, int) and code in RETRYABLE_STATUS:
                raise _Retry(message)
            raise _fail(source, target, message)
        return data

    def _fetch_arcgis(self, source: Source, url: str, target: Path) -> None:
        key = hashlib.sha256(source.url.encode()).hexdigest()[:12]
        pages = target.parent / f"pages-{key}"
        pages.mkdir(exist_ok=True)
        box: dict = {}

        def count():
            data = self._get_json(
                source, target, self._query_url(url, source, returnCountOnly="true", f="json")
            )
            if not isinstance(data.get("count"), int):
                raise _fail(source, target, "the layer did not report its feature count")
            box["count"] = data["count"]

        self._with_retries(source, target, count)
        expected = box["count"]
        task = self.progress.start(f"{source.name} (features)", expected)
        features: list = []
        offset, number = 0, 0
        try:
            while True:
                page_file = pages / f"page-{number:05d}.json"
                if page_file.is_file():
                    page = json.loads(page_file.read_text(encoding="utf-8"))
                else:
                    page_url = self._query_url(
                        url, source, resultOffset=offset, resultRecordCount=source.page_size
                    )

                    def get(page_url=page_url):
                        box["page"] = self._get_json(source, target, page_url)

                    self._with_retries(source, target, get)
                    page = box.pop("page")
                    if not isinstance(page.get("features"), list):
                        raise _fail(source, target, "a page of the layer held no feature list")
                    _write_json(page_file, page)
                got = page.get("features", [])
                features.extend(got)
                offset += len(got)
                number += 1
                self.progress.update(task, len(features), expected)
                more = page.get("exceededTransferLimit") or (page.get("properties") or {}).get(
                    "exceededTransferLimit"
                )
                if not got or (not more and len(features) >= expected):
                    break
        finally:
            self.progress.finish(task)
        if len(features) != expected:
            shutil.rmtree(pages, ignore_errors=True)
            raise _fail(
                source,
                target,
                f"the layer reported {expected} features but {len(features)} were received "
                "(incomplete paging; run again)",
            )
        part = target.with_name(target.name + ".part")
        with open(part, "w", encoding="utf-8") as out:
            json.dump(
                {"type": "FeatureCollection", "features": features},
                out,
                separators=(",", ":"),
                ensure_ascii=False,
            )
        if not self._matches_pins(source, part):
            problem = self._mismatch_text(source, part, "the assembled layer")
            part.unlink()
            raise _fail(source, target, problem)
        os.replace(part, target)
        shutil.rmtree(pages, ignore_errors=True)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# Reading the publishers' files
# ---------------------------------------------------------------------------
def _norm(heading: str) -> str:
    heading = heading.replace("\ufeff", "").strip()
    heading = re.sub(r";\s*measures:\s*value$", "", heading, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", heading).casefold()


def resolve_columns(
    columns: Iterable[str],
    wanted: Mapping[str, str | tuple[str, ...]],
    *,
    source: Source,
    path: Path,
) -> dict[str, str]:
    """Map each wanted key to the file's own heading; fail naming every missing heading.

    ``wanted`` maps a key to the publisher's heading (or several accepted
    spellings). Matching ignores case, surrounding spaces, a byte-order mark
    and Nomis' "; measures: Value" suffix, and accepts a heading the publisher
    truncated (the file's heading is the first 40 or more characters of it).
    """
    columns = list(columns)
    normal = {_norm(c): c for c in columns}
    found: dict[str, str] = {}
    missing: list[str] = []
    for key, spellings in wanted.items():
        spellings = (spellings,) if isinstance(spellings, str) else tuple(spellings)
        hit = next((normal[_norm(s)] for s in spellings if _norm(s) in normal), None)
        if hit is None:
            for s in spellings:
                prefixes = [c for n, c in normal.items() if len(n) >= 40 and _norm(s).startswith(n)]
                if len(prefixes) == 1:
                    hit = prefixes[0]
                    break
        if hit is None:
            missing.append(spellings[0])
        else:
            found[key] = hit
    if missing:
        shown = ", ".join(repr(c) for c in columns[:6]) + (", ..." if len(columns) > 6 else "")
        raise RefDataError(
            f"{source.name}: {path.name} lacks the expected column(s) "
            + ", ".join(repr(m) for m in missing)
            + f" ({source.title}). The publisher may have changed the release's shape; "
            f"its columns start {shown}. Check {source.page or source.url}; if the release "
            "was revised, eia's parser needs updating (meanwhile use `eia data install --from "
            "DIR` with a ready-built pack)."
        )
    return found


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_csv(path: Path, source: Source, *, sep: str = ",", raw: bytes | None = None):
    """A publisher's CSV as text columns (UTF-8 with or without BOM, or Windows-1252)."""
    text = _decode(path.read_bytes() if raw is None else raw)
    if not text.strip():
        raise RefDataError(f"{source.name}: {path.name} is empty ({source.title})")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            engine="python" if len(sep) > 1 or sep == "¬" else "c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise RefDataError(f"{source.name}: {path.name} is not a readable CSV: {exc}") from exc
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if frame.empty:
        raise RefDataError(f"{source.name}: {path.name} has headings but no rows ({source.title})")
    return frame


def _numbers(frame, column: str, source: Source, path: Path, kind: str) -> pd.Series:
    values = pd.to_numeric(
        frame[column].str.replace(",", "", regex=False).str.strip(), errors="coerce"
    )
    bad = values.isna()
    if kind == "int" and not bad.any():
        bad = values.ne(np.round(values))
    if bad.any():
        example = frame.loc[bad, column].iloc[0]
        raise RefDataError(
            f"{source.name}: {path.name} column {column!r} holds {int(bad.sum())} value(s) that "
            f"are not {'whole numbers' if kind == 'int' else 'numbers'}, e.g. {example!r}"
        )
    return values.astype("int64") if kind == "int" else values.astype("float64")


def _codes(series: pd.Series, kind: str, source: Source, path: Path, *, unique=True):
    codes = series.astype(str).str.strip().str.upper()
    pattern, words = CODE_PATTERNS[kind]
    bad = ~codes.str.fullmatch(pattern)
    if bad.any():
        raise RefDataError(
            f"{source.name}: {path.name} has {int(bad.sum())} value(s) that are not {words}"
        )
    if unique and codes.duplicated().any():
        raise RefDataError(
            f"{source.name}: {path.name} lists {int(codes.duplicated().sum())} code(s) more "
            "than once"
        )
    return codes


# -- English Indices of Deprivation, File 7 --------------------------------------
RANK = "Rank (where 1 is most deprived)"
DECILE = "Decile (where 1 is most deprived 10% of LSOAs)"
IOD_DOMAINS = {
    # pack prefix: (publisher's domain name, its score heading)
    "IMD": ("Index of Multiple Deprivation (IMD)", "Index of Multiple Deprivation (IMD) Score"),
    "Income": ("Income", "Income Score (rate)"),
    "Employment": ("Employment", "Employment Score (rate)"),
    "Education": ("Education, Skills and Training", "Education, Skills and Training Score"),
    "Health": ("Health Deprivation and Disability", "Health Deprivation and Disability Score"),
    "Crime": ("Crime", "Crime Score"),
    "Housing": ("Barriers to Housing and Services", "Barriers to Housing and Services Score"),
    "Environment": ("Living Environment", "Living Environment Score"),
}
IOD_SUBDOMAINS = {
    "children_and_young_people": "Children and Young People Sub-domain",
    "adult_skills": "Adult Skills Sub-domain",
    "geographical_barriers": "Geographical Barriers Sub-domain",
    "wider_barriers": "Wider Barriers Sub-domain",
    "indoors": "Indoors Sub-domain",
    "outdoors": "Outdoors Sub-domain",
}


def _iod(path: Path, source: Source, *, year: int) -> dict[str, pd.DataFrame]:
    frame = read_csv(path, source)
    vintage = "2021" if year == 2025 else "2011"
    housing = "Housing_and_Services" if year == 2025 else "Housing_and_Access"
    wanted: dict[str, str] = {"code": f"LSOA code ({vintage})"}
    for prefix, (domain, score) in IOD_DOMAINS.items():
        wanted[f"{prefix}_rank"] = f"{domain} {RANK}"
        wanted[f"{prefix}_decile"] = f"{domain} {DECILE}"
        if year == 2025:
            wanted[f"{prefix}_score"] = score
    if year == 2025:
        for key, sub in IOD_SUBDOMAINS.items():
            wanted[f"sub:{key}_score"] = f"{sub} Score"
            wanted[f"sub:{key}_rank"] = f"{sub} {RANK}"
            wanted[f"sub:{key}_decile"] = f"{sub} {DECILE}"
    cols = resolve_columns(frame.columns, wanted, source=source, path=path)
    code = _codes(frame[cols["code"]], "lsoa", source, path)
    out = {f"lsoa{vintage[2:]}_code": code.to_numpy()}
    for measure, kind in (("decile", "int"), ("rank", "int"), ("score", "float")):
        for prefix in IOD_DOMAINS:
            key = f"{prefix}_{measure}"
            if key in cols:
                name = key.replace("Housing_", f"{housing}_")
                out[name] = _numbers(frame, cols[key], source, path, kind).to_numpy()
    tables = {f"imd{year}": pd.DataFrame(out)}
    if not tables[f"imd{year}"]["IMD_decile"].between(1, 10).all():
        raise RefDataError(f"{source.name}: {path.name} has IMD deciles outside 1 to 10")
    if year == 2025:
        sub = {"lsoa21_code": code.to_numpy()}
        for key in IOD_SUBDOMAINS:
            for measure, kind in (("score", "float"), ("rank", "int"), ("decile", "int")):
                sub[f"{key}_{measure}"] = _numbers(
                    frame, cols[f"sub:{key}_{measure}"], source, path, kind
                ).to_numpy()
        tables["imd2025_subdomains"] = pd.DataFrame(sub)
    return tables


def parse_iod2025_file7(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """IoD 2025 File 7 (CSV, one row per LSOA 2021) → IMD and domains, and the sub-domains."""
    return _iod(path, source, year=2025)


def parse_iod2019_file7(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """IoD 2019 File 7 (CSV, one row per LSOA 2011) → IMD and domain ranks and deciles."""
    return _iod(path, source, year=2019)


# -- Census 2021 bulk tables from Nomis ---------------------------------------------
NOMIS_TABLES = {
    # parser: (topic prefix, pack key, group column, top-level categories in file order)
    "nomis_ts021": (
        "Ethnic group",
        "ethnicity",
        "ethnic_group",
        (
            "Asian, Asian British or Asian Welsh",
            "Black, Black British, Black Welsh, Caribbean or African",
            "Mixed or Multiple ethnic groups",
            "White",
            "Other ethnic group",
        ),
    ),
    "nomis_ts030": (
        "Religion",
        "religion",
        "religion",
        (
            "No religion",
            "Christian",
            "Buddhist",
            "Hindu",
            "Jewish",
            "Muslim",
            "Sikh",
            "Other religion",
            "Not answered",
        ),
    ),
    "nomis_ts038": (
        "Disability",
        "disability",
        "disability",
        ("Disabled under the Equality Act", "Not disabled under the Equality Act"),
    ),
}


def _zip_member(path: Path, source: Source) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            hits = [n for n in names if n == source.member or n.endswith("/" + source.member)]
            if not hits:
                raise RefDataError(
                    f"{source.name}: {path.name} does not contain {source.member} (it holds "
                    f"{', '.join(names[:8])}); the release may have changed shape "
                    f"({source.title}; {source.page or source.url})"
                )
            return archive.read(hits[0])
    except zipfile.BadZipFile as exc:
        raise RefDataError(
            f"{source.name}: {path.name} is not a readable zip file (truncated or not the "
            f"release): delete it from the cache and run `eia data fetch` again ({exc})"
        ) from exc


def _nomis(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    topic, key, group, categories = NOMIS_TABLES[source.parser]
    member = Path(source.member)
    frame = read_csv(member, source, raw=_zip_member(path, source))
    wanted = {"code": "geography code", "total": f"{topic}: Total: All usual residents"}
    wanted.update({c: f"{topic}: {c}" for c in categories})
    cols = resolve_columns(frame.columns, wanted, source=source, path=member)
    prefix = _norm(f"{topic}: ")
    top_level = [
        c
        for c in frame.columns
        if _norm(c).startswith(prefix) and ":" not in _norm(c)[len(prefix) :]
    ]
    unexpected = [c for c in top_level if c not in cols.values()]
    if unexpected:
        raise RefDataError(
            f"{source.name}: {member.name} has top-level categories eia does not know: "
            + ", ".join(repr(c) for c in unexpected)
            + f" ({source.title}); the release has changed shape, so eia's parser needs updating"
        )
    code = _codes(frame[cols["code"]], "lsoa", source, member)
    total = _numbers(frame, cols["total"], source, member, "int").to_numpy()
    counts = np.column_stack([_numbers(frame, cols[c], source, member, "int") for c in categories])
    k = len(categories)
    n = counts.reshape(-1)
    totals = np.repeat(total, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = n / totals
    long = pd.DataFrame(
        {
            "lsoa21_code": np.repeat(code.to_numpy(), k),
            "total_residents": totals.astype("int64"),
            group: np.tile(np.array(categories, dtype=object), len(code)),
            "n": n.astype("int64"),
            "prop": prop.astype("float64"),
        }
    )
    out = {key: long}
    if source.parser == "nomis_ts021":
        detailed = _ts021_detailed(frame, topic, categories, code, counts, source, member)
        if detailed is not None:
            out["ethnicity_detailed"] = detailed
    return out


def _category(heading: str) -> str:
    """The last part of a Census heading: 'Ethnic group: White: Irish' → 'Irish'."""
    heading = re.sub(r";\s*measures:.*$", "", heading, flags=re.IGNORECASE)
    return heading.split(": ", 2)[-1].strip()


def _ts021_detailed(frame, topic, categories, code, counts, source, member):
    """TS021's detailed categories, long (None when the file has none): each category's
    count, checked to add up to its high-level group's count in every LSOA."""
    parts, groups = [], []
    for g in categories:
        prefix = _norm(f"{topic}: {g}: ")
        subs = [c for c in frame.columns if _norm(c).startswith(prefix)]
        parts.append(subs)
        groups += [g] * len(subs)
    if not all(parts):
        return None
    columns = [c for subs in parts for c in subs]
    values = np.column_stack([_numbers(frame, c, source, member, "int") for c in columns])
    start = 0
    for i, subs in enumerate(parts):
        added = values[:, start : start + len(subs)].sum(axis=1)
        if not np.array_equal(added, counts[:, i]):
            raise RefDataError(
                f"{source.name}: {member.name}: the detailed categories of {categories[i]!r} do "
                f"not add up to its count in {int((added != counts[:, i]).sum())} LSOA(s) "
                f"({source.title}); the release has changed shape"
            )
        start += len(subs)
    labels = [f"{g}: {_category(c)}" for g, c in zip(groups, columns, strict=True)]
    k = len(columns)
    return pd.DataFrame(
        {
            "lsoa21_code": np.repeat(code.to_numpy(), k),
            "ethnic_group": np.tile(np.array(groups, dtype=object), len(code)),
            "ethnic_group_detailed": np.tile(np.array(labels, dtype=object), len(code)),
            "n": values.reshape(-1).astype("int64"),
        }
    )


PROFICIENCY_TOPIC = "Proficiency in English language"
_NOT_ENGLISH = "Main language is not English (English or Welsh in Wales)"
PROFICIENCY_COLUMNS = {
    # pack column: the publisher's heading after "Proficiency in English language: "
    "main_language_english": "Main language is English (English or Welsh in Wales)",
    "main_language_not_english": _NOT_ENGLISH,
    "can_speak_english_very_well": f"{_NOT_ENGLISH}: Can speak English very well",
    "can_speak_english_well": f"{_NOT_ENGLISH}: Can speak English well",
    "cannot_speak_english_well": f"{_NOT_ENGLISH}: Cannot speak English well",
    "cannot_speak_english": f"{_NOT_ENGLISH}: Cannot speak English",
    "total_residents_3plus": "Total: All usual residents aged 3 and over",
}


def parse_nomis_ts029(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """Census 2021 TS029 proficiency in English (Nomis bulk zip, MSOA file), aged 3 and over.

    Checked against the pack file's contract (:data:`eia.refdata.schemas.PACK`), which includes
    that it adds up: residents = main language English + not English, and not English =
    the four levels of spoken English.
    """
    member = Path(source.member)
    frame = read_csv(member, source, raw=_zip_member(path, source))
    wanted = {"code": "geography code"} | {
        k: f"{PROFICIENCY_TOPIC}: {v}" for k, v in PROFICIENCY_COLUMNS.items()
    }
    cols = resolve_columns(frame.columns, wanted, source=source, path=member)
    out = pd.DataFrame({"msoa21_code": _codes(frame[cols["code"]], "msoa", source, member)})
    for key in PROFICIENCY_COLUMNS:
        out[key] = _numbers(frame, cols[key], source, member, "int").astype("int64").to_numpy()
    name = "census2021_proficiency_msoa21.parquet"
    PACK[name].validate(out, f"{source.name}: {member.name} (the release may have changed shape)")
    return {"proficiency": out}


SAPE_SHEET = "Mid-2020 Persons"


def parse_ons_sape_syoa(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """ONS mid-2020 small area population estimates (SAPE23DT2), persons by single year of age.

    The workbook's ``Mid-2020 Persons`` sheet has a few title rows, then one row per
    LSOA 2011 with ``LSOA Code``, ``All Ages``, ``0`` ... ``89`` and ``90+``. Returns
    LSOA 2011 rows; :func:`assemble` converts them to LSOA 2021.
    """
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, nrows=0)
        sheet = (
            SAPE_SHEET
            if SAPE_SHEET in sheets
            else next((n for n in sheets if n.strip().lower().endswith("persons")), None)
        )
        if sheet is None:
            raise RefDataError(
                f"{source.name}: {path.name} has no '{SAPE_SHEET}' sheet (it has "
                f"{', '.join(list(sheets)[:6])}); the release may have changed shape "
                f"({source.title}; {source.page or source.url})"
            )
        raw = pd.read_excel(path, sheet_name=sheet, header=None, dtype=object)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise RefDataError(
            f"{source.name}: {path.name} is not a readable Excel workbook (truncated or not the "
            f"release): delete it from the cache and run `eia data fetch` again ({exc})"
        ) from exc
    first = raw.iloc[:, 0].map(lambda v: "" if pd.isna(v) else _norm(str(v)))
    heads = first.index[first.eq(_norm("LSOA Code"))]
    if not len(heads):
        raise RefDataError(
            f"{source.name}: {path.name} sheet {sheet!r} has no 'LSOA Code' heading in its first "
            f"column ({source.title}); the release may have changed shape"
        )
    row = heads[0]
    names = [
        str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
        for v in raw.iloc[row]
    ]
    frame = raw.iloc[row + 1 :].set_axis(names, axis=1)
    frame = frame[frame.iloc[:, 0].notna() & frame.iloc[:, 0].astype(str).str.strip().ne("")]
    wanted = {"code": "LSOA Code", "total": "All Ages", "age_90_plus": "90+"}
    wanted |= {f"age_{a}": str(a) for a in range(90)}
    cols = resolve_columns(frame.columns, wanted, source=source, path=path)
    text = frame.astype(str)
    out = pd.DataFrame({"lsoa11_code": _codes(text[cols["code"]], "lsoa", source, path)})
    for key in PACK_COLUMNS["population20_age_lsoa21.parquet"][1:]:
        out[key] = _numbers(text, cols[key], source, path, "float").to_numpy(dtype="float64")
    ages = out.columns[2:]
    if not np.allclose(out[ages].sum(axis=1), out["total"]):
        raise RefDataError(
            f"{source.name}: {path.name}: single years of age do not add up to 'All Ages'; "
            "the release may have changed shape"
        )
    return {"population_age_lsoa11": out.reset_index(drop=True)}


# -- ONS Open Geography Portal --------------------------------------------------------
def _features(path: Path, source: Source) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RefDataError(
            f"{source.name}: {path.name} is not readable GeoJSON (truncated?): delete it from "
            f"the cache and run `eia data fetch` again ({exc})"
        ) from exc
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or not features:
        raise RefDataError(f"{source.name}: {path.name} holds no features ({source.title})")
    return features


def _attributes(path: Path, source: Source) -> pd.DataFrame:
    rows = [f.get("properties") or f.get("attributes") or {} for f in _features(path, source)]
    return pd.DataFrame(rows).astype(object).where(lambda x: x.notna(), None)


def _geo(path: Path, source: Source) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for a bad file
        raise RefDataError(
            f"{source.name}: {path.name} is not a readable boundary file (truncated?): delete "
            f"it from the cache and run `eia data fetch` again ({exc})"
        ) from exc
    if frame.empty:
        raise RefDataError(f"{source.name}: {path.name} holds no features ({source.title})")
    if frame.geometry.isna().any() or frame.geometry.is_empty.any():
        raise RefDataError(f"{source.name}: {path.name} has features without a geometry")
    minx, miny, maxx, maxy = frame.total_bounds
    if frame.crs is None or frame.crs.to_epsg() == 4326:
        projected = max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90
        frame = frame.set_crs(BNG if projected else WGS84, allow_override=True)
    return frame.to_crs(WGS84)


def _multipolygon(geom):
    if geom is None:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    polys = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in polys for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    return MultiPolygon(parts) if parts else None


def _boundaries(path, source, fields: dict[str, str], kind: str, out_order: tuple[str, ...]):
    frame = _geo(path, source)
    cols = resolve_columns(frame.columns, fields, source=source, path=path)
    out = gpd.GeoDataFrame(
        {key: frame[col].astype(str).str.strip().to_numpy() for key, col in cols.items()},
        geometry=[_multipolygon(g) for g in frame.geometry],
        crs=WGS84,
    )
    code_col = next(k for k in cols if k.endswith("_code"))
    out[code_col] = _codes(out[code_col], kind, source, path).to_numpy()
    if out.geometry.isna().any():
        raise RefDataError(f"{source.name}: {path.name} has features with no polygon")
    return out[[*out_order, "geometry"]]


def parse_ons_lsoa21_boundaries(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """LSOA (December 2021) boundaries: ``LSOA21CD``, ``LSOA21NM`` → MultiPolygons, WGS84."""
    fields = {"lsoa21_code": "LSOA21CD", "lsoa21_name": "LSOA21NM"}
    return {
        "lsoa21_boundaries": _boundaries(
            path, source, fields, "lsoa", ("lsoa21_code", "lsoa21_name")
        )
    }


def parse_ons_ltla24_boundaries(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """Local authority districts (December 2024): ``LAD24CD``, ``LAD24NM``."""
    fields = {"ltla24_name": "LAD24NM", "ltla24_code": "LAD24CD"}
    return {"ltla24": _boundaries(path, source, fields, "ltla", ("ltla24_name", "ltla24_code"))}


def parse_ons_icb22_boundaries(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """Integrated care boards (July 2022): ``ICB22CD``, ``ICB22NM``."""
    fields = {"icb22_name": "ICB22NM", "icb22_code": "ICB22CD"}
    return {"icb22": _boundaries(path, source, fields, "icb", ("icb22_name", "icb22_code"))}


def parse_ons_lsoa21_centroids(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """LSOA 2021 population-weighted centroids: ``LSOA21CD`` → points, WGS84."""
    frame = _geo(path, source)
    cols = resolve_columns(frame.columns, {"lsoa21_code": "LSOA21CD"}, source=source, path=path)
    if not (frame.geometry.geom_type == "Point").all():
        raise RefDataError(f"{source.name}: {path.name} should hold points (population centroids)")
    out = gpd.GeoDataFrame(
        {"lsoa21_code": _codes(frame[cols["lsoa21_code"]], "lsoa", source, path).to_numpy()},
        geometry=frame.geometry.to_numpy(),
        crs=WGS84,
    )
    return {"centroids": out}


def _table(path: Path, source: Source, wanted: dict, code_key: str, unique: bool = True):
    frame = _attributes(path, source)
    cols = resolve_columns(frame.columns, wanted, source=source, path=path)
    out = pd.DataFrame(
        {k: frame[c].map(lambda v: None if v is None else str(v).strip()) for k, c in cols.items()}
    )
    out[code_key] = _codes(out[code_key], "lsoa", source, path, unique=unique).to_numpy()
    return out


def parse_ons_lsoa21_ward24_lad24(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """LSOA 2021 → ward 2024 → local authority 2024 (one row per LSOA)."""
    wanted = {
        "lsoa21_name": "LSOA21NM",
        "lsoa21_code": "LSOA21CD",
        "ward24_name": "WD24NM",
        "ward24_code": "WD24CD",
        "ltla24_name": "LAD24NM",
        "ltla24_code": "LAD24CD",
    }
    return {"ward_lookup": _table(path, source, wanted, "lsoa21_code")}


def parse_ons_lsoa21_sicbl24_icb24(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """LSOA 2021 → sub-ICB location → ICB (April 2024), England (one row per LSOA)."""
    wanted = {
        "lsoa21_code": "LSOA21CD",
        "sicbl24_name": "SICBL24NM",
        "sicbl24_code": "SICBL24CD",
        "sicbl24_code_nhs": "SICBL24CDH",
        "icb24_name": "ICB24NM",
        "icb24_code": "ICB24CD",
        "icb24_code_nhs": "ICB24CDH",
    }
    return {"icb_lookup": _table(path, source, wanted, "lsoa21_code")}


def parse_ons_lsoa11_lsoa21(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """LSOA 2011 ↔ 2021 exact-fit pairs with the ONS change indicator (U, S, M, X)."""
    wanted = {
        "lsoa11_name": "LSOA11NM",
        "lsoa11_code": ("LSOA11CD", "F_LSOA11CD"),
        "change_code": "CHGIND",
        "lsoa21_name": "LSOA21NM",
        "lsoa21_code": "LSOA21CD",
        "ltla22_name": "LAD22NM",
        "ltla22_code": "LAD22CD",
    }
    out = _table(path, source, wanted, "lsoa21_code", unique=False)
    out["lsoa11_code"] = _codes(out["lsoa11_code"], "lsoa", source, path, unique=False).to_numpy()
    out["change_code"] = out["change_code"].str.upper()
    bad = ~out["change_code"].isin(["U", "S", "M", "X"])
    if bad.any():
        raise RefDataError(
            f"{source.name}: {path.name} has change codes other than U, S, M, X, "
            f"e.g. {out.loc[bad, 'change_code'].iloc[0]!r}"
        )
    return {"lsoa11_lookup": out.drop_duplicates().reset_index(drop=True)}


def parse_ons_lsoa21_msoa21(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """LSOA 2021 → MSOA 2021 from the OA 2021 → LSOA → MSOA lookup (one row per LSOA)."""
    wanted = {
        "lsoa21_code": "LSOA21CD",
        "lsoa21_name": "LSOA21NM",
        "msoa21_code": "MSOA21CD",
        "msoa21_name": "MSOA21NM",
    }
    out = _table(path, source, wanted, "lsoa21_code", unique=False).drop_duplicates()
    out["msoa21_code"] = _codes(out["msoa21_code"], "msoa", source, path, unique=False).to_numpy()
    split = out["lsoa21_code"].duplicated(keep=False)
    if split.any():
        raise RefDataError(
            f"{source.name}: {path.name} puts LSOA {out.loc[split, 'lsoa21_code'].iloc[0]} in "
            "more than one MSOA; LSOAs should nest in MSOAs"
        )
    return {"msoa_lookup": out.reset_index(drop=True)}


RUC21_CODES = ("UN1", "UF1", "RLN1", "RSN1", "RLF1", "RSF1")


def parse_ons_lsoa21_ruc21(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """Rural-Urban Classification 2021 of LSOAs 2021 (code, name, urban or rural)."""
    wanted = {
        "lsoa21_code": "LSOA21CD",
        "ruc21_code": "RUC21CD",
        "urban_rural": ("Urban_rural_flag", "Urban_Rural", "Urban_rura"),
        "ruc21_name": "RUC21NM",
    }
    out = _table(path, source, wanted, "lsoa21_code")
    out["ruc21_code"] = out["ruc21_code"].str.upper()
    bad = ~out["ruc21_code"].isin(RUC21_CODES)
    if bad.any():
        raise RefDataError(
            f"{source.name}: {path.name} has classification codes other than "
            f"{', '.join(RUC21_CODES)}, e.g. {out.loc[bad, 'ruc21_code'].iloc[0]!r}"
        )
    flag = out["urban_rural"].str.strip().str.capitalize()
    if not flag.isin(["Urban", "Rural"]).all():
        raise RefDataError(
            f"{source.name}: {path.name} has urban/rural flags other than Urban, Rural"
        )
    out["urban_rural"] = flag.to_numpy()
    return {"ruc": out}


# -- NHS website hospitals --------------------------------------------------------------
def parse_nhs_hospitals(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """NHS website ``Hospital.csv`` ("¬"-separated): NHS-sector sites with coordinates."""
    raw = path.read_bytes()
    sep = "¬" if "¬" in _decode(raw[:4096]) else ("|" if b"|" in raw[:4096] else ",")
    frame = read_csv(path, source, sep=sep, raw=raw)
    wanted = {
        "name": "OrganisationName",
        "sector": "Sector",
        "lat": "Latitude",
        "lon": "Longitude",
    }
    cols = resolve_columns(frame.columns, wanted, source=source, path=path)
    lat = pd.to_numeric(frame[cols["lat"]], errors="coerce")
    lon = pd.to_numeric(frame[cols["lon"]], errors="coerce")
    nhs = frame[cols["sector"]].str.strip().str.casefold().eq("nhs sector")
    keep = nhs & lat.between(49, 61) & lon.between(-9, 3)
    if not keep.any():
        raise RefDataError(
            f"{source.name}: {path.name} has no NHS-sector hospital with coordinates "
            f"({source.title}); the release may have changed shape"
        )
    names = frame.loc[keep, cols["name"]].str.strip()
    points = gpd.GeoDataFrame(
        {"hospital22_name": names.to_numpy()},
        geometry=[Point(x, y) for x, y in zip(lon[keep], lat[keep], strict=True)],
        crs=WGS84,
    )
    return {"hospitals": points}


PARSERS: dict[str, Callable[[Path, Source], dict[str, pd.DataFrame]]] = {
    "iod2025_file7": parse_iod2025_file7,
    "iod2019_file7": parse_iod2019_file7,
    "nomis_ts021": _nomis,
    "nomis_ts030": _nomis,
    "nomis_ts038": _nomis,
    "nomis_ts029": parse_nomis_ts029,
    "ons_sape_syoa": parse_ons_sape_syoa,
    "ons_lsoa21_msoa21": parse_ons_lsoa21_msoa21,
    "ons_lsoa21_ruc21": parse_ons_lsoa21_ruc21,
    "ons_lsoa21_boundaries": parse_ons_lsoa21_boundaries,
    "ons_lsoa21_ward24_lad24": parse_ons_lsoa21_ward24_lad24,
    "ons_lsoa21_sicbl24_icb24": parse_ons_lsoa21_sicbl24_icb24,
    "ons_lsoa11_lsoa21": parse_ons_lsoa11_lsoa21,
    "ons_ltla24_boundaries": parse_ons_ltla24_boundaries,
    "ons_icb22_boundaries": parse_ons_icb22_boundaries,
    "ons_lsoa21_centroids": parse_ons_lsoa21_centroids,
    "nhs_hospitals": parse_nhs_hospitals,
}

#: The tables each parser returns.
PRODUCES = {
    "iod2025_file7": ("imd2025", "imd2025_subdomains"),
    "iod2019_file7": ("imd2019",),
    "nomis_ts021": ("ethnicity", "ethnicity_detailed"),
    "nomis_ts030": ("religion",),
    "nomis_ts038": ("disability",),
    "nomis_ts029": ("proficiency",),
    "ons_sape_syoa": ("population_age_lsoa11",),
    "ons_lsoa21_msoa21": ("msoa_lookup",),
    "ons_lsoa21_ruc21": ("ruc",),
    "ons_lsoa21_boundaries": ("lsoa21_boundaries",),
    "ons_lsoa21_ward24_lad24": ("ward_lookup",),
    "ons_lsoa21_sicbl24_icb24": ("icb_lookup",),
    "ons_lsoa11_lsoa21": ("lsoa11_lookup",),
    "ons_ltla24_boundaries": ("ltla24",),
    "ons_icb22_boundaries": ("icb22",),
    "ons_lsoa21_centroids": ("centroids",),
    "nhs_hospitals": ("hospitals",),
}

#: What each pack file is built from (parsed table keys).
NEEDS = {
    "lsoa21_boundaries.parquet": ("lsoa21_boundaries",),
    "lsoa21_lookup.parquet": ("ward_lookup", "icb_lookup"),
    "imd2025_lsoa21.parquet": ("imd2025",),
    "imd2025_subdomains_lsoa21.parquet": ("imd2025_subdomains",),
    "imd2019_lsoa11.parquet": ("imd2019",),
    "lsoa11_lsoa21_lookup.parquet": ("lsoa11_lookup",),
    "census2021_ethnicity_lsoa21.parquet": ("ethnicity",),
    "census2021_religion_lsoa21.parquet": ("religion",),
    "census2021_disability_lsoa21.parquet": ("disability",),
    "hospitals22_points.parquet": ("hospitals", "ltla24"),
    "icb22_boundaries.parquet": ("icb22",),
    "ltla24_boundaries.parquet": ("ltla24",),
    "lsoa21_centroids.parquet": ("centroids",),
    "population20_age_lsoa21.parquet": ("population_age_lsoa11", "lsoa11_lookup", "ethnicity"),
    "census2021_proficiency_msoa21.parquet": ("proficiency",),
    "lsoa21_msoa21_lookup.parquet": ("msoa_lookup",),
    "ruc21_lsoa21.parquet": ("ruc",),
    "census2021_ethnicity_detailed_lsoa21.parquet": ("ethnicity_detailed",),
}


def parse(path: Path, source: Source) -> dict[str, pd.DataFrame]:
    """Run ``source``'s parser on its downloaded file, checking the pinned row count."""
    tables = PARSERS[source.parser](path, source)
    if source.rows is not None:
        got = len(next(iter(tables.values())))
        if source.parser.startswith("nomis_"):
            first = next(iter(tables.values()))
            got = first[first.columns[0]].nunique()
        if got != source.rows:
            raise RefDataError(
                f"{source.name}: {path.name} has {got} rows but sources.toml expects "
                f"rows = {source.rows} ({source.title}); a revised or truncated release? "
                "Check the release page and update sources.toml."
            )
    return tables


# ---------------------------------------------------------------------------
# Assembling the pack
# ---------------------------------------------------------------------------
def _in_england(points: gpd.GeoDataFrame, ltla: gpd.GeoDataFrame, tolerance_m=5000.0):
    """Points whose nearest local authority (within ``tolerance_m``) is English."""
    pts = points.to_crs(BNG)
    areas = ltla[["ltla24_code", "geometry"]].to_crs(BNG)
    joined = gpd.sjoin_nearest(pts, areas, how="left", max_distance=tolerance_m)
    joined = joined[~joined.index.duplicated(keep="first")]
    english = joined["ltla24_code"].fillna("").str.startswith("E")
    return points[english.reindex(points.index, fill_value=False).to_numpy()]


def _check_subset(codes, known, what: str, against: str) -> None:
    extra = pd.Index(codes).difference(pd.Index(known))
    if len(extra):
        raise RefDataError(
            f"{len(extra)} LSOA code(s) in {what} are not in {against}, e.g. "
            f"{', '.join(extra[:3])}: the releases do not fit together (a mix of vintages?)"
        )


def assemble(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The pack's files from the parsed tables, checked to fit together."""
    files: dict[str, pd.DataFrame] = {}
    ward, icb = tables["ward_lookup"], tables["icb_lookup"]
    lookup = ward.merge(icb, on="lsoa21_code", how="left", validate="one_to_one")
    files["lsoa21_lookup.parquet"] = lookup
    boundaries = tables["lsoa21_boundaries"]
    if set(boundaries["lsoa21_code"]) != set(lookup["lsoa21_code"]):
        _check_subset(
            lookup["lsoa21_code"],
            boundaries["lsoa21_code"],
            "the ward lookup",
            "the LSOA boundaries",
        )
        _check_subset(
            boundaries["lsoa21_code"],
            lookup["lsoa21_code"],
            "the LSOA boundaries",
            "the ward lookup",
        )
    _check_subset(icb["lsoa21_code"], lookup["lsoa21_code"], "the ICB lookup", "the ward lookup")
    files["lsoa21_boundaries.parquet"] = boundaries
    _check_subset(
        tables["imd2025"]["lsoa21_code"], lookup["lsoa21_code"], "IMD 2025", "the LSOA 2021 lookup"
    )
    files["imd2025_lsoa21.parquet"] = tables["imd2025"]
    files["imd2025_subdomains_lsoa21.parquet"] = tables["imd2025_subdomains"]
    files["imd2019_lsoa11.parquet"] = tables["imd2019"]
    lsoa11 = tables["lsoa11_lookup"]
    _check_subset(
        tables["imd2019"]["lsoa11_code"],
        lsoa11["lsoa11_code"],
        "IMD 2019",
        "the LSOA 2011 to 2021 lookup",
    )
    files["lsoa11_lsoa21_lookup.parquet"] = lsoa11
    for key, name in (
        ("ethnicity", "census2021_ethnicity_lsoa21.parquet"),
        ("religion", "census2021_religion_lsoa21.parquet"),
        ("disability", "census2021_disability_lsoa21.parquet"),
    ):
        _check_subset(
            tables[key]["lsoa21_code"].unique(),
            lookup["lsoa21_code"],
            f"Census {key}",
            "the LSOA 2021 lookup",
        )
        files[name] = tables[key]
    files["ltla24_boundaries.parquet"] = tables["ltla24"]
    files["icb22_boundaries.parquet"] = tables["icb22"]
    hospitals = _in_england(tables["hospitals"], tables["ltla24"])
    if hospitals.empty:
        raise RefDataError("no NHS hospital site of the NHS website's list lies in England")
    files["hospitals22_points.parquet"] = hospitals.reset_index(drop=True)
    if "centroids" in tables:
        _check_subset(
            tables["centroids"]["lsoa21_code"],
            lookup["lsoa21_code"],
            "the population-weighted centroids",
            "the LSOA 2021 lookup",
        )
        files["lsoa21_centroids.parquet"] = tables["centroids"]
    msoa = tables["msoa_lookup"]
    if set(msoa["lsoa21_code"]) != set(lookup["lsoa21_code"]):
        _check_subset(
            msoa["lsoa21_code"], lookup["lsoa21_code"], "the MSOA lookup", "the LSOA 2021 lookup"
        )
        _check_subset(
            lookup["lsoa21_code"], msoa["lsoa21_code"], "the LSOA 2021 lookup", "the MSOA lookup"
        )
    files["lsoa21_msoa21_lookup.parquet"] = msoa
    _check_subset(
        msoa["msoa21_code"].unique(),
        tables["proficiency"]["msoa21_code"],
        "the MSOA lookup",
        "Census 2021 TS029 (MSOA codes)",
    )
    files["census2021_proficiency_msoa21.parquet"] = tables["proficiency"]
    _check_subset(
        tables["ruc"]["lsoa21_code"],
        lookup["lsoa21_code"],
        "the Rural-Urban Classification",
        "the LSOA 2021 lookup",
    )
    files["ruc21_lsoa21.parquet"] = tables["ruc"]
    if "ethnicity_detailed" in tables:
        _check_subset(
            tables["ethnicity_detailed"]["lsoa21_code"].unique(),
            lookup["lsoa21_code"],
            "Census 2021 detailed ethnic groups",
            "the LSOA 2021 lookup",
        )
        files["census2021_ethnicity_detailed_lsoa21.parquet"] = tables["ethnicity_detailed"]
    residents = tables["ethnicity"].groupby("lsoa21_code")["total_residents"].first()
    files["population20_age_lsoa21.parquet"] = ages_to_lsoa21(
        tables["population_age_lsoa11"], lsoa11, residents, lookup["lsoa21_code"]
    )
    for name, frame in files.items():
        want = PACK_COLUMNS[name]
        if tuple(frame.columns) != want:
            files[name] = frame[list(want)]
    return files


def ages_to_lsoa21(
    ages: pd.DataFrame, lsoa11: pd.DataFrame, residents: pd.Series, lsoa21_codes: pd.Series
) -> pd.DataFrame:
    """Population by single year of age on LSOA 2011 → LSOA 2021, totals preserved.

    Each 2011 area's counts go to its 2021 parts in proportion to the parts' Census
    2021 usual residents (``residents``, indexed by LSOA 2021 code): unchanged and
    merged areas have one part and go whole; a split area is apportioned, so values
    can be fractional. Every 2011 area must be in the lookup and every 2021 area in
    ``lsoa21_codes`` must receive people, else the releases do not fit together.
    """
    _check_subset(
        ages["lsoa11_code"],
        lsoa11["lsoa11_code"],
        "the population estimates",
        "the LSOA 2011 to 2021 lookup",
    )
    pairs = lsoa11[["lsoa11_code", "lsoa21_code"]].drop_duplicates()
    pairs = pairs[pairs["lsoa11_code"].isin(ages["lsoa11_code"])]
    weight = pairs["lsoa21_code"].map(residents).fillna(0.0).astype("float64")
    per_area = weight.groupby(pairs["lsoa11_code"]).transform("sum")
    parts = pairs.groupby("lsoa11_code")["lsoa21_code"].transform("size")
    share = np.where(per_area > 0, weight / per_area.where(per_area > 0, 1.0), 1.0 / parts)
    values = ages.set_index("lsoa11_code").reindex(pairs["lsoa11_code"]).to_numpy(dtype="float64")
    out = (
        pd.DataFrame(values * share[:, None], columns=ages.columns[1:])
        .groupby(pairs["lsoa21_code"].to_numpy())
        .sum()
    )
    missing = pd.Index(lsoa21_codes).difference(out.index)
    if len(missing):
        raise RefDataError(
            f"{len(missing)} LSOA 2021 code(s) receive no population from the LSOA 2011 estimates "
            f"through the lookup, e.g. {', '.join(missing[:3])}: the releases do not fit together"
        )
    return out.rename_axis("lsoa21_code").reset_index()


def write_pack(files: Mapping[str, pd.DataFrame], folder: Path, descriptions: Mapping[str, str]):
    """Write Parquet/GeoParquet files and ``manifest.json`` into ``folder``; return the manifest."""
    manifest: dict[str, dict] = {}
    for name in sorted(files):
        frame = files[name].reset_index(drop=True)
        if name in PACK:
            PACK[name].validate(frame, f"{name} as built from the releases")
        path = folder / name
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_crs(WGS84).to_parquet(path, index=False)
        else:
            table = pa.Table.from_pandas(pd.DataFrame(frame), preserve_index=False)
            for column, kind in PACK_TYPES.get(name, {}).items():
                where = table.schema.get_field_index(column)
                table = table.set_column(where, column, table[column].cast(kind))
            pq.write_table(table, path)
        manifest[name] = {
            "description": descriptions.get(name, name),
            "rows": len(frame),
            "sha256": sha256(path),
        }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _describe(name: str, used: list[Source]) -> str:
    text = DESCRIPTIONS.get(name) or SOURCES.get(name) or name
    return text + ". Built by `eia data fetch` from: " + "; ".join(s.url for s in used)


def _move_into_place(staging: Path, dest: Path, manifest: Mapping[str, dict]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    try:
        old = read_manifest(dest) if (dest / "manifest.json").is_file() else {}
    except RefDataError:
        old = {}
    for name in [*sorted(manifest), "provenance.json", "manifest.json"]:
        if (staging / name).is_file():
            try:
                os.replace(staging / name, dest / name)
            except OSError:  # staging and dest on different file systems
                shutil.copyfile(staging / name, dest / f".{name}.tmp")
                os.replace(dest / f".{name}.tmp", dest / name)
    for name in old:
        if name not in manifest and (dest / name).is_file():
            (dest / name).unlink()


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


__all__ = [
    "BASE_URL_ENV",
    "PACK_COLUMNS",
    "PARSERS",
    "Downloader",
    "Source",
    "assemble",
    "default_cache",
    "default_sources_path",
    "fetch",
    "load_sources",
    "parse",
    "rebase",
    "resolve_columns",
    "write_pack",
]
