"""Journey-time matrices: reading one (CSV or Parquet, streamed in batches), checking every cell, and the sites and LSOAs it covers."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eia import redact
from eia.errors import TravelTimeError
from eia.params import MODES
from eia.service.aggregate import resolve_codes

__all__ = ["MODE_LABELS", "site_key", "Matrix", "MAX_MINUTES", "sites_of", "read_matrix"]


#: How each mode is named in reports.
MODE_LABELS = {
    "car": "Car",
    "public_transport": "Public transport",
    "walk": "Walking",
    "cycle": "Cycling",
}
_BATCH_ROWS = 2_000_000
_EXAMPLES = 5
_LSOA = re.compile(r"^[EW]01\d{6}$")


def site_key(value: object) -> str:
    """How a destination is matched: upper case, without spaces ('ng7 2uh' = 'NG72UH')."""
    return re.sub(r"\s+", "", str(value)).upper()


@dataclass(repr=False)
class Matrix:
    """A journey-time matrix read for one mode, shaped to the area and the proposal's sites.

    ``minutes`` is LSOA × site (index ``lsoa21_code`` in the area's order, one
    column per site name, float32); NaN means not reachable. ``info`` counts
    what the read found: ``pairs_read``, ``pairs_used``, ``pairs_unreachable``
    (flagged or empty, among the pairs used), ``pairs_absent`` (pairs of the
    area and sites not in the file, taken as not reachable), ``origins_read``,
    ``origins_outside_area``, ``origins_unmatched``, ``origins_converted_from_2011``,
    ``destinations_unused`` (destinations that are none of the proposal's sites).
    """

    mode: str
    source: str
    label: str
    synthetic: bool
    minutes: pd.DataFrame
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Matrix({self.mode!r}{' (synthetic)' if self.synthetic else ''}: "
            f"{self.minutes.shape[0]:,} LSOAs × {self.minutes.shape[1]} sites from {self.source})"
        )


# ---------------------------------------------------------------------------
# Reading


def _fail(source: str, message: str) -> TravelTimeError:
    return TravelTimeError(f"{source}: {message}")


def _format(path: Path) -> str:
    if path.suffix.lower() in (".parquet", ".pq", ".parq"):
        return "parquet"
    with open(path, "rb") as handle:
        return "parquet" if handle.read(4) == b"PAR1" else "csv"


def _match(found: Sequence[str], wanted: str) -> str | None:
    if wanted in found:
        return wanted
    loose = [f for f in found if str(f).strip().lower() == wanted.strip().lower()]
    return loose[0] if len(loose) == 1 else None


def _header(path: Path, fmt: str) -> list[str]:
    if fmt == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _fail(str(path), "cannot be read as Parquet") from exc
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 16),
            parse_options=pacsv.ParseOptions(delimiter=_delimiter(path)),
        )
    except pa.ArrowInvalid as exc:
        raise _fail(str(path), "is empty or not a CSV file") from exc
    return list(reader.schema.names)


def _delimiter(path: Path) -> str:
    with open(path, "rb") as handle:
        line = handle.readline().decode("utf-8", errors="replace")
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _batches(
    path: Path, fmt: str, columns: list[str], text: Sequence[str], as_string: bool
) -> Iterator[pa.RecordBatch]:
    """Batches of ``columns``; ``text`` columns dictionary-encoded, the rest float (or string)."""
    if fmt == "parquet":
        handle = pq.ParquetFile(path, read_dictionary=list(text))
        yield from handle.iter_batches(batch_size=_BATCH_ROWS, columns=columns)
        return
    dict_type = pa.dictionary(pa.int32(), pa.string())
    types = {
        c: (dict_type if c in text else pa.string() if as_string else pa.float64()) for c in columns
    }
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=1 << 26),
        parse_options=pacsv.ParseOptions(delimiter=_delimiter(path)),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            column_types=types,
            null_values=[""],  # only an empty cell is empty: "NA" or "NaN" text is not
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    yield from reader


class _Codes:
    """Distinct values of a column across batches, each given a stable integer id."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._last: tuple[pa.Array, np.ndarray] | None = None

    def encode(self, column: pa.Array) -> np.ndarray:
        """Ids of a column's values (-1 for empty cells)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(pc.cast(column, pa.string()))
        dictionary = column.dictionary
        if self._last is not None and (
            self._last[0] is dictionary or self._last[0].equals(dictionary)
        ):
            local = self._last[1]  # Parquet repeats one dictionary in every batch
        else:
            local = np.array(
                [
                    -1 if v is None else self.ids.setdefault(str(v).strip(), len(self.ids))
                    for v in dictionary.to_pylist()
                ]
                + [-1],
                dtype=np.int32,
            )
            self._last = (dictionary, local)
        indices = column.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False)
        return local[indices]

    def values(self) -> list[str]:
        return list(self.ids)


class _Pairs:
    """Minutes per (origin as given, site), filled batch by batch.

    Each new origin value is resolved to LSOA 2021 as it first appears; only
    origins in the area get a row. A pair met twice, or a negative time, fails.
    """

    def __init__(self, source: str, sites: _Sites, pack, area_codes: Sequence[str]):
        self.source, self.sites, self.pack = source, sites, pack
        self.n_sites = len(sites.labels)
        self.position = {c: i for i, c in enumerate(area_codes)}
        self.origins = _Codes()
        self.row = np.zeros(0, np.int64)  # given id -> row in dense (-1: not in the area)
        self.given_of_row: list[int] = []
        self.links: list[tuple[int, int]] = []  # (dense row, area row)
        self.resolved: list[pd.DataFrame] = []
        self.capacity = len(area_codes) + 16
        self.dense = np.full((self.capacity, self.n_sites), np.nan, np.float32)
        self.seen = np.zeros((self.capacity, self.n_sites), bool)
        self.site_seen = np.zeros(self.n_sites, bool)
        self.pairs_used = 0

    def _resolve_new(self) -> None:
        values = self.origins.values()
        start = len(self.row)
        if start == len(values):
            return
        new = values[start:]
        resolved = resolve_codes(new, self.pack)
        self.resolved.append(resolved)
        rows = np.full(len(new), -1, np.int64)
        index = {v: i for i, v in enumerate(new)}
        for code, target in zip(resolved["code"], resolved["lsoa21_code"], strict=True):
            a = self.position.get(target) if target is not None else None
            if a is None:
                continue
            i = index[code]
            if rows[i] < 0:
                rows[i] = len(self.given_of_row)
                self.given_of_row.append(start + i)
            self.links.append((int(rows[i]), a))
        self.row = np.concatenate([self.row, rows])
        if len(self.given_of_row) > self.capacity:
            grow = max(len(self.given_of_row), 2 * self.capacity) - self.capacity
            self.dense = np.vstack([self.dense, np.full((grow, self.n_sites), np.nan, np.float32)])
            self.seen = np.vstack([self.seen, np.zeros((grow, self.n_sites), bool)])
            self.capacity += grow

    def add(self, given: np.ndarray, site: np.ndarray, minutes: np.ndarray, what: str) -> None:
        """One batch: given-origin ids, site positions (-1: not a site), minutes (NaN: unreachable)."""
        self._resolve_new()
        ok_site = site >= 0
        self.site_seen[site[ok_site]] = True
        rows = np.where(given >= 0, self.row[np.maximum(given, 0)], -1)
        keep = ok_site & (rows >= 0)
        if not keep.all():
            rows, site, minutes = rows[keep], site[keep], minutes[keep]
        if not len(rows):
            return
        flat = rows * self.n_sites + site
        negative = minutes < 0
        if negative.any():
            bad = flat[np.flatnonzero(negative)[:_EXAMPLES]]
            raise _fail(
                self.source,
                f"{what} has {int(negative.sum()):,} negative journey time(s), e.g. "
                f"{self.examples(bad)}: times are minutes from 0 up (list a flag value such as -1 "
                "under unreachable if it means 'not reachable')",
            )
        seen = self.seen.reshape(-1)
        again = seen[flat]
        if again.any():
            self.duplicates(flat[again])
        seen[flat] = True
        marked = int(np.count_nonzero(seen))
        if marked - self.pairs_used != len(flat):  # a pair repeated within this batch
            values, counts = np.unique(flat, return_counts=True)
            self.duplicates(values[counts > 1])
        self.dense.reshape(-1)[flat] = minutes
        self.pairs_used = marked

    def examples(self, flat: np.ndarray) -> str:
        """'origin E01… to site X' for a few pairs: LSOA codes and params' site names only."""
        given = self.origins.values()
        out = []
        for f in flat[:_EXAMPLES]:
            code = str(given[self.given_of_row[int(f) // self.n_sites]])
            code = code if _LSOA.match(code.upper()) else "an LSOA given by name"
            out.append(f"origin {code} to {self.sites.shown[int(f) % self.n_sites]}")
        return "; ".join(dict.fromkeys(out))

    def duplicates(self, flat: np.ndarray) -> None:
        raise _fail(
            self.source,
            f"the same origin and destination appear more than once, e.g. {self.examples(flat)}: "
            "give one journey time per pair",
        )


#: The longest journey time accepted, in minutes (about 69 days): more is a unit mistake.
MAX_MINUTES = 100_000


def _numbers(
    column: pa.Array, flags: Sequence, source: str, name: str, offset: int, *, text: bool = True
) -> np.ndarray:
    """A column of minutes as float64: empty and flagged cells NaN; anything else an error.

    Non-numeric cells, infinities, values above :data:`MAX_MINUTES` (``1e39``) and the
    text ``NaN`` are refused (one line: column, data row, the value masked), unless the
    text is listed under ``unreachable`` (``unreachable: [NaN]`` makes it mean "not
    reachable"): only an empty cell or a listed flag means not reachable. In a
    Parquet file (``text=False``) a floating-point NaN is an empty cell, as r5py and
    pandas write one (docs/travel-time.md).
    """
    text_flags = [str(f) for f in flags if isinstance(f, str)]
    num_flags = [float(f) for f in flags if not isinstance(f, str)]
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
        column = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
        if text_flags:
            column = pc.if_else(pc.is_in(column, pa.array(text_flags)), None, column)
        try:
            column = pc.cast(column, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raw = pd.Series(column.to_pandas(), dtype=object)
            bad = raw.notna() & pd.to_numeric(raw, errors="coerce").isna()
            rows = (np.flatnonzero(bad.to_numpy()) + offset + 1)[:_EXAMPLES]
            raise _fail(
                source,
                f"column {name!r} has {int(bad.sum()):,} non-numeric journey time(s) in this "
                f"part of the file, e.g. at data row(s) {', '.join(map(str, rows))}: give minutes "
                "as numbers, empty cells (or a value listed in unreachable) for pairs that "
                "cannot be reached",
            ) from None
    present = pc.is_valid(column).to_numpy(zero_copy_only=False)
    values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if num_flags:
        flagged = np.isin(values, num_flags)
        values = np.where(flagged, np.nan, values)
        present = present & ~flagged
    if not text or any(f.strip().lower() == "nan" for f in text_flags):  # NaN means empty
        present = present & ~np.isnan(values)
    bad = present & ~(np.isfinite(values) & (np.abs(values) <= MAX_MINUTES))
    if bad.any():  # inf, 1e39, or a NaN that is not an empty cell or a listed flag
        first = int(np.flatnonzero(bad)[0])
        shown = redact.cell(name, offset + first + 1, format(values[first], "g"))
        raise _fail(
            source,
            f"{int(bad.sum()):,} journey time(s) are not a finite number of minutes up to "
            f"{MAX_MINUTES:,}, e.g. column {shown}: give minutes as numbers, an empty cell "
            "(or a value listed in unreachable) for a pair that cannot be reached",
        )
    return values


@dataclass
class _Sites:
    labels: list[str]
    keys: list[str]  # the destination each site is matched by (site_key)
    shown: list[str]  # id and name, for messages


def _explored(proposal) -> list[list]:
    """The candidate sites of the proposal's ``explore:`` block (they need journey times too)."""
    explore = getattr(proposal, "explore", None)
    return [explore.candidate_sites(proposal.sites.current)] if explore is not None else []


def sites_of(proposal) -> _Sites:
    """Every site of a proposal (current, proposed, options) once, with its matrix destination."""
    seen: dict[str, tuple[str, str]] = {}
    groups = [proposal.sites.current, *proposal.scenarios().values(), *_explored(proposal)]
    for sites in groups:
        for site in sites:
            if site.label not in seen:
                shown = f"{site.id!r} ({site.label})" if site.id else repr(site.label)
                seen[site.label] = (site_key(site.destination), shown)
    return _Sites(list(seen), [k for k, _ in seen.values()], [s for _, s in seen.values()])


def read_matrix(
    spec: Mapping,
    sites: _Sites,
    pack,
    area_codes: Sequence[str],
    *,
    base_dir: str | Path = ".",
) -> Matrix:
    """Read one ``access.travel_times`` entry into minutes per LSOA of the area and site.

    ``spec`` is the entry as a plain mapping (``path``, ``mode``, ``columns``,
    optional ``unreachable``, ``label``, ``synthetic``); ``sites`` comes from
    :func:`sites_of`. Raises :class:`~eia.errors.TravelTimeError` for the
    failures listed in the module docstring.
    """
    path = Path(str(spec["path"])).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    source = str(path)
    if not path.is_file():
        raise _fail(source, "travel-time matrix not found")
    if path.stat().st_size == 0:
        raise _fail(source, "travel-time matrix is empty")
    # CSV or Parquet by its extension and its first bytes, before anything is parsed.
    redact.check_source_file(
        path, what="travel-time matrix", error=TravelTimeError, allowed=("csv", "parquet")
    )
    mode = str(spec["mode"])
    if mode not in MODES:
        raise _fail(source, f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
    columns = dict(spec["columns"])
    flags = list(spec.get("unreachable") or [])
    fmt = _format(path)
    header = _header(path, fmt)

    def column(role: str) -> str:
        found = _match(header, columns[role])
        if found is None:
            raise _fail(
                source, f"{role} column {columns[role]!r} not found (columns: {_names(header)})"
            )
        return found

    origin = column("origin")

    def fill(as_string: bool) -> tuple[_Pairs, dict]:
        pairs = _Pairs(source, sites, pack, area_codes)
        info = {"pairs_read": 0, "destinations_unused": 0}
        if columns.get("destination") is None:  # wide: one column per site
            by_key = {site_key(h): h for h in header if h != origin}
            missing = [s for s, k in zip(sites.shown, sites.keys, strict=True) if k not in by_key]
            if missing:
                raise _fail(
                    source,
                    f"no column of journey times for {len(missing)} site(s) of the proposal: "
                    f"{', '.join(missing[:_EXAMPLES])} (a wide matrix has one column per site, named "
                    "by the site's id, else its name)",
                )
            site_columns = [by_key[k] for k in sites.keys]
            info["destinations_unused"] = len(header) - 1 - len(set(site_columns))
            wanted = [origin, *dict.fromkeys(site_columns)]
            rows = 0
            for batch in _batches(path, fmt, wanted, [origin], as_string):
                ids = pairs.origins.encode(batch.column(origin))
                for j, name in enumerate(site_columns):
                    mins = _numbers(
                        batch.column(name), flags, source, name, rows, text=fmt == "csv"
                    )
                    pairs.add(ids, np.full(len(ids), j, np.int64), mins, f"column {name!r}")
                rows += batch.num_rows
            info["pairs_read"] = rows * len(site_columns)
        else:
            dest, mins_col = column("destination"), column("minutes")
            key_site = {k: j for j, k in enumerate(sites.keys)}
            destinations = _Codes()
            to_site = np.zeros(0, np.int64)
            rows = 0
            for batch in _batches(path, fmt, [origin, dest, mins_col], [origin, dest], as_string):
                ids = pairs.origins.encode(batch.column(origin))
                dids = destinations.encode(batch.column(dest))
                known = destinations.values()
                if len(known) > len(to_site):
                    extra = [key_site.get(site_key(v), -1) for v in known[len(to_site) :]]
                    to_site = np.concatenate([to_site, np.array(extra, np.int64)])
                site = np.where(dids >= 0, to_site[np.maximum(dids, 0)], -1)
                mins = _numbers(
                    batch.column(mins_col), flags, source, mins_col, rows, text=fmt == "csv"
                )
                pairs.add(ids, site, mins, f"column {mins_col!r}")
                rows += batch.num_rows
            info["pairs_read"] = rows
            missing = [s for j, s in enumerate(sites.shown) if not pairs.site_seen[j]]
            if missing:
                raise _fail(
                    source,
                    f"column {dest!r} has no journey times to {len(missing)} site(s) of the proposal: "
                    f"{', '.join(missing[:_EXAMPLES])} (sites are matched by their id, else their "
                    "name, ignoring case and spaces)",
                )
            info["destinations_unused"] = int((to_site < 0).sum())
        return pairs, info

    try:
        pairs, info = fill(as_string=False)
    except pa.ArrowInvalid:  # a CSV cell is not a number: read as text to say where
        if fmt != "csv":
            raise _fail(source, f"cannot be read as {fmt} (malformed file)") from None
        try:
            pairs, info = fill(as_string=True)
        except pa.ArrowInvalid:
            raise _fail(source, "cannot be read as CSV (malformed file)") from None

    # Origins: every LSOA of the area needs times; say what was outside it or not an LSOA.
    resolved = pd.concat(pairs.resolved, ignore_index=True) if pairs.resolved else None
    links = np.array(pairs.links, dtype=np.int64).reshape(-1, 2)
    covered = np.zeros(len(area_codes), bool)
    covered[links[:, 1]] = True
    if not covered.all():
        gaps = [c for c, ok in zip(area_codes, covered, strict=True) if not ok]
        raise _fail(
            source,
            f"column {origin!r} does not cover the area: {len(gaps):,} of its {len(area_codes):,} "
            f"LSOAs have no journey times, e.g. {', '.join(gaps[:_EXAMPLES])} (origins are LSOA "
            "2021 codes, or 2011 codes or names)",
        )
    matched = resolved["lsoa21_code"].notna()
    inside = resolved["lsoa21_code"].map(pairs.position).notna()
    in_codes = set(resolved.loc[inside, "code"])
    info["origins_read"] = int(resolved["code"].nunique())
    info["origins_unmatched"] = int(resolved.loc[~matched, "code"].nunique())
    info["origins_outside_area"] = len(set(resolved.loc[matched, "code"]) - in_codes)
    info["origins_converted_from_2011"] = int(
        resolved.loc[inside & resolved["route"].str.contains("lsoa11"), "code"].nunique()
    )
    n = len(pairs.given_of_row)
    info["pairs_used"] = pairs.pairs_used
    used = pairs.seen[:n]
    info["pairs_unreachable"] = int(np.isnan(pairs.dense[:n][used]).sum())
    info["pairs_absent"] = int(used.size - pairs.pairs_used)

    # Dense rows → the area's LSOA 2021 rows (a merged 2021 area averages its 2011 parts).
    g_of, a_of = links[:, 0], links[:, 1]
    if len(a_of) == len(area_codes) and np.unique(a_of).size == a_of.size:
        out = np.empty((len(area_codes), n_sites := pairs.n_sites), np.float32)
        out[a_of] = pairs.dense[g_of]
    else:
        n_sites = pairs.n_sites
        total = np.zeros((len(area_codes), n_sites))
        count = np.zeros((len(area_codes), n_sites))
        vals = pairs.dense[g_of]
        ok = ~np.isnan(vals)
        np.add.at(total, a_of, np.where(ok, vals, 0.0))
        np.add.at(count, a_of, ok)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (total / count).astype(np.float32)
    del pairs
    minutes = pd.DataFrame(out, index=pd.Index(list(area_codes), name="lsoa21_code"))
    minutes.columns = pd.Index(sites.labels, name="site")
    return Matrix(
        mode=mode,
        source=path.name,
        label=str(spec.get("label") or f"{MODE_LABELS[mode].lower()} journey times ({path.name})"),
        synthetic=bool(spec.get("synthetic", False)),
        minutes=minutes,
        info=info,
    )


def _names(header: Sequence[str]) -> str:
    return redact.column_names(header, limit=12)  # counted, not shown, unless plain names


# ---------------------------------------------------------------------------
