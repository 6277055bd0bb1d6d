"""Reading a publisher's file safely: CSV decoding, column headings matched by meaning, numbers and codes checked, zip members."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from eia.errors import RefDataError
from eia.refdata.fetch.sources import (
    Source,
)
from eia.refdata.schemas import CODE_PATTERNS

__all__ = ["read_csv", "resolve_columns"]


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
