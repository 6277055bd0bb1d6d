"""Downloading the publishers' files: resumable, retried, checked against their pins, with progress on the terminal."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from eia.errors import RefDataError
from eia.refdata import (
    sha256,
)
from eia.refdata.fetch.sources import (
    CHUNK,
    RETRYABLE_STATUS,
    USER_AGENT,
    Source,
    rebase,
)

__all__ = ["Downloader"]


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
