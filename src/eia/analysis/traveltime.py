"""Access by journey time: travel-time matrices in, minutes by mode out.

A proposal may bring one origin–destination matrix per travel mode (``car``,
``public_transport``, ``walk``, ``cycle``), made with r5py, OSRM, SHAPE or any
tool that writes minutes from LSOAs to sites (docs/travel-time.md)::

    access:
      travel_times:
        - path: data/pt-times.csv
          mode: public_transport
          columns: {origin: lsoa21cd, destination: site_id, minutes: travel_time}
        - path: data/car-times.parquet          # wide: one column per site
          mode: car
          columns: {origin: lsoa21cd}
    thresholds: {minutes: {car: 20, public_transport: 45}}

:func:`read_matrix` reads one matrix (CSV or Parquet, streamed in batches; the
origin and destination columns are dictionary-encoded so 34 million pairs fit
in memory) into a dense LSOA × site frame of minutes, in the area's order.
Origins are LSOA 2021 codes, or 2011 codes or names converted as service data
is (:func:`eia.service.aggregate.resolve_codes`): a split 2011 area's time is used for
each of its 2021 parts, and a merged 2021 area takes the mean of its 2011
parts' times. Destinations are matched to the proposal's sites by each site's
``id`` (a postcode or ODS code), else its name, ignoring case and spaces.

Clear failures (:class:`~eia.errors.TravelTimeError`, exit 2, nothing
published): a site with no times, LSOAs of the area with no times, negative or
non-numeric times, infinite times, times above :data:`MAX_MINUTES` (``1e39``: a unit
mistake) and the text ``NaN`` (unless listed under ``unreachable``), an
origin–destination pair given twice. Messages name the
file and column and give examples as codes only (LSOA codes, site ids and
names from the params, row numbers), never other values from the file.

Not reachable: an empty cell, a value listed in ``unreachable`` (e.g. -1), or
a pair absent from a long matrix whose origin and destination both appear in
it. Such pairs are kept as not reachable (NaN here) and counted in every
figure: an LSOA with no reachable site is "not reachable", never dropped.

:func:`measure` gives the nearest site by time before and after per LSOA;
:func:`summarise` the population-weighted figures by group, in minutes.
"""

from __future__ import annotations

import math
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

from eia import files, redact
from eia.analysis.access import resolve_sites
from eia.errors import TravelTimeError
from eia.params import MODES
from eia.population.area import select_lsoas
from eia.refdata import BNG
from eia.refdata.schemas import TRAVEL_TIMES
from eia.service.aggregate import resolve_codes

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
# Nearest site by time, and summaries by group


def nearest(minutes: pd.DataFrame, sites: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the quickest-reached of ``sites`` per LSOA (NaN: none reachable), and its name."""
    positions = minutes.columns.get_indexer(list(sites))
    if (positions < 0).any():
        raise KeyError(f"not a site of this matrix: {list(np.asarray(sites)[positions < 0])}")
    values = minutes.to_numpy()
    if len(positions) == 0:
        return np.full(len(minutes), np.nan), np.full(len(minutes), None, dtype=object)
    block = values[:, positions]
    block[np.isnan(block)] = np.inf
    idx = block.argmin(axis=1)
    best = block[np.arange(len(block)), idx].astype(np.float64)
    del block
    names = np.asarray(list(sites), dtype=object)[idx]
    reach = np.isfinite(best)
    return np.where(reach, best, np.nan), np.where(reach, names, None)


def measure(matrix: Matrix, current: Sequence[str], proposed: Sequence[str]) -> pd.DataFrame:
    """Per LSOA: quickest site and minutes before and after, and the change.

    Columns ``lsoa21_code, nearest_before, minutes_before, nearest_after,
    minutes_after, minutes_change, reachable_before, reachable_after``. Minutes
    are NaN (and ``nearest_*`` None) where no site is reachable; the change is
    NaN unless a site is reachable both before and after.
    """
    before, near_before = nearest(matrix.minutes, current)
    after, near_after = nearest(matrix.minutes, proposed)
    frame = pd.DataFrame(
        {
            "lsoa21_code": matrix.minutes.index.to_numpy(),
            "nearest_before": near_before,
            "minutes_before": before,
            "nearest_after": near_after,
            "minutes_after": after,
            "minutes_change": after - before,
            "reachable_before": ~np.isnan(before),
            "reachable_after": ~np.isnan(after),
        }
    )
    return TRAVEL_TIMES.validate(
        frame, f"{matrix.mode} journey times (eia.analysis.traveltime.measure)"
    )


SUMMARY_COLUMNS = [
    "group",
    "population",
    "mean_minutes_before",
    "mean_minutes_after",
    "mean_minutes_change",
    "pop_beyond_threshold_before",
    "pop_beyond_threshold_after",
    "pop_unreachable_before",
    "pop_unreachable_after",
]


def summarise(times: pd.DataFrame, weights: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Population-weighted journey times by group, before and after (one row per group + All people).

    ``times`` is :func:`measure`'s output, ``weights`` LSOA × group (people),
    aligned by ``lsoa21_code``. Means are over the people who can reach a site
    (``pop_unreachable_*`` counts the others); people who cannot reach any site
    count as beyond the threshold. ``mean_minutes_change`` is the mean change
    over people who can reach a site both before and after.
    """
    w = weights.reindex(times["lsoa21_code"]).fillna(0).to_numpy(dtype=float)
    w = np.column_stack([w, w.sum(axis=1)])
    before = times["minutes_before"].to_numpy(dtype=float)
    after = times["minutes_after"].to_numpy(dtype=float)
    reach_b, reach_a = ~np.isnan(before), ~np.isnan(after)
    both = reach_b & reach_a
    population = w.sum(axis=0)

    def mean(values, mask):
        people = mask.astype(float) @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(mask, values, 0.0) @ w / people

    beyond_b = ~reach_b | (np.where(reach_b, before, 0) > threshold)
    beyond_a = ~reach_a | (np.where(reach_a, after, 0) > threshold)
    return pd.DataFrame(
        {
            "group": [*weights.columns.astype(str), "All people"],
            "population": population.round().astype("int64"),
            "mean_minutes_before": mean(before, reach_b),
            "mean_minutes_after": mean(after, reach_a),
            "mean_minutes_change": mean(after - np.where(both, before, 0), both),
            "pop_beyond_threshold_before": (beyond_b @ w).round().astype("int64"),
            "pop_beyond_threshold_after": (beyond_a @ w).round().astype("int64"),
            "pop_unreachable_before": ((~reach_b) @ w).round().astype("int64"),
            "pop_unreachable_after": ((~reach_a) @ w).round().astype("int64"),
        }
    )


def rating_change(times: pd.DataFrame) -> pd.Series:
    """Change in minutes per LSOA for rating: +inf where access is lost, -inf where gained.

    Indexed by ``lsoa21_code``; 0 where no site is reachable before or after.
    """
    change = times["minutes_change"].to_numpy(dtype=float).copy()
    lost = times["reachable_before"].to_numpy() & ~times["reachable_after"].to_numpy()
    gained = ~times["reachable_before"].to_numpy() & times["reachable_after"].to_numpy()
    neither = ~times["reachable_before"].to_numpy() & ~times["reachable_after"].to_numpy()
    change[lost], change[gained], change[neither] = np.inf, -np.inf, 0.0
    return pd.Series(change, index=pd.Index(times["lsoa21_code"], name="lsoa21_code"))


def unreachable_minutes(matrix: Matrix, far: float) -> float:
    """The minutes a journey that cannot be made counts as in person-minute figures.

    The longest journey in the matrix (whole minutes, rounded up), and at least
    three times the far threshold, so that people who lose every site always
    count as newly far, also when robustness checks double that threshold.
    """
    values = matrix.minutes.to_numpy(dtype=np.float64)
    longest = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    return float(max(math.ceil(longest), 3 * far))


def burden_values(times: pd.DataFrame, cap: float) -> tuple[pd.Series, pd.Series]:
    """Minutes before and after per LSOA for :func:`eia.analysis.impact.burden`; not reachable = ``cap``."""
    index = pd.Index(times["lsoa21_code"].to_numpy(), name="lsoa21_code")
    before = times["minutes_before"].to_numpy(dtype=np.float64)
    after = times["minutes_after"].to_numpy(dtype=np.float64)
    return (
        pd.Series(np.where(np.isnan(before), cap, before), index=index),
        pd.Series(np.where(np.isnan(after), cap, after), index=index),
    )


def fmt_minutes(value: float | None, signed: bool = False) -> str:
    """Minutes for a report: '23 min', '+4 min', or 'not reachable'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not reachable"
    return f"{value:+.0f} min" if signed else f"{value:.0f} min"


# ---------------------------------------------------------------------------
# All of a proposal's matrices, and synthetic ones for examples


def load_matrices(
    proposal, pack, area_codes: Sequence[str], *, base_dir: str | Path = "."
) -> dict[str, Matrix]:
    """Every matrix of ``proposal.access.travel_times``, by mode, lead mode first.

    A missing matrix with ``generate`` set is generated first (:func:`ensure_synthetic`).
    """
    specs = {t.mode: t for t in proposal.access.travel_times}
    if not specs:
        return {}
    ensure_synthetic(proposal, base_dir, pack)
    sites = sites_of(proposal)
    return {
        mode: read_matrix(specs[mode].model_dump(), sites, pack, area_codes, base_dir=base_dir)
        for mode in proposal.access.modes
    }


#: The synthetic speed model (documented in docs/travel-time.md). Per mode: detour factor
#: (road or route km per straight-line km); speed (km/h) over the first ``near_km`` of the
#: route from urban and from rural origins, and beyond it (main roads, express services);
#: fixed minutes at the ends (parking; walking to and from stops) and the mean wait (half the
#: headway), each for urban and rural origins.
SPEED_MODEL = {
    mode: dict(zip(("detour", "near_km", "near_kmh", "far_kmh", "ends", "wait"), row, strict=True))
    for mode, row in {
        # mode: (detour, near_km, near_kmh (urban, rural), far_kmh, ends (u, r), wait (u, r))
        "car": (1.3, 5.0, (25.0, 40.0), 65.0, (4.0, 3.0), (0.0, 0.0)),
        "public_transport": (1.4, 5.0, (14.0, 22.0), 32.0, (8.0, 14.0), (6.0, 15.0)),
        "walk": (1.25, 5.0, (4.8, 4.8), 4.8, (0.0, 0.0), (0.0, 0.0)),
        "cycle": (1.25, 5.0, (15.0, 15.0), 15.0, (2.0, 2.0), (0.0, 0.0)),
    }.items()
}
#: Public transport: a change of bus beyond this many straight-line km costs 10 more minutes,
#: and from rural LSOAs journeys beyond ``_PT_RURAL_LIMIT_KM`` are not reachable (no service).
_PT_CHANGE_KM = 8.0
_PT_RURAL_LIMIT_KM = 25.0
#: Longest synthetic journey kept (minutes); longer ones are written as not reachable.
_MAX_MINUTES = 180.0


def origin_points(pack, area_codes: Sequence[str]):
    """Each LSOA's point (EPSG:27700): population-weighted centroid if the pack has them.

    Returns ``(points, kind)``, kind ``population-weighted centroid`` or
    ``representative point``.
    """
    import geopandas as gpd

    codes = list(area_codes)
    if pack.path("lsoa21_centroids.parquet").is_file():
        cents = gpd.read_parquet(pack.path("lsoa21_centroids.parquet")).to_crs(BNG)
        cents = cents.drop_duplicates("lsoa21_code").set_index("lsoa21_code").reindex(codes)
        if cents.geometry.notna().all():
            return cents.geometry.reset_index(drop=True), "population-weighted centroid"
    shapes = pack.boundaries(codes).set_index("lsoa21_code").reindex(codes).to_crs(BNG)
    return shapes.geometry.representative_point().reset_index(drop=True), "representative point"


def synthetic_matrix(
    pack, area_codes: Sequence[str], sites, mode: str, *, seed: int = 2021
) -> pd.DataFrame:
    """A synthetic long matrix (``lsoa21_code, site_id, minutes``) from a documented speed model.

    ``sites`` is a GeoDataFrame in EPSG:27700 with a ``destination`` column (what
    the matrix calls each site). Minutes are route km (straight-line km × detour)
    at a slower speed for the first ``near_km`` and a faster one beyond, plus
    fixed minutes at the ends and the mean wait, for urban or rural origins
    (ONS Rural-Urban Classification 2021), times a seeded random factor (0.9 to
    1.1); empty where not reachable (see :data:`SPEED_MODEL`). Describes no real journeys: label it synthetic.
    """
    model = SPEED_MODEL[mode]
    points, _ = origin_points(pack, area_codes)
    ruc = pd.read_parquet(pack.path("ruc21_lsoa21.parquet"), columns=["lsoa21_code", "urban_rural"])
    rural = (
        ruc.drop_duplicates("lsoa21_code")
        .set_index("lsoa21_code")["urban_rural"]
        .reindex(list(area_codes))
        .astype(str)
        .str.lower()
        .str.startswith("rural")
        .to_numpy()
    )
    ox, oy = points.x.to_numpy()[:, None], points.y.to_numpy()[:, None]
    km = np.hypot(
        ox - sites.geometry.x.to_numpy()[None, :], oy - sites.geometry.y.to_numpy()[None, :]
    )
    km = km / 1000.0
    r = rural[:, None].astype(int)
    route = km * model["detour"]
    near = np.minimum(route, model["near_km"])
    minutes = (
        near / np.choose(r, model["near_kmh"]) * 60.0
        + (route - near) / model["far_kmh"] * 60.0
        + np.choose(r, model["ends"])
        + np.choose(r, model["wait"])
    )
    unreachable = np.zeros(minutes.shape, bool)
    if mode == "public_transport":
        minutes = minutes + np.where(km > _PT_CHANGE_KM, 10.0, 0.0)
        unreachable |= rural[:, None] & (km > _PT_RURAL_LIMIT_KM)
    rng = np.random.default_rng(seed)
    minutes = minutes * rng.uniform(0.9, 1.1, size=minutes.shape)
    unreachable |= minutes > _MAX_MINUTES
    minutes = np.where(unreachable, np.nan, np.round(minutes, 1))
    n_sites = len(sites)
    return pd.DataFrame(
        {
            "lsoa21_code": np.repeat(np.asarray(list(area_codes), dtype=object), n_sites),
            "site_id": np.tile(sites["destination"].to_numpy(dtype=object), len(area_codes)),
            "minutes": minutes.reshape(-1),
        }
    )


def ensure_synthetic(proposal, base_dir: str | Path, pack) -> list[Path]:
    """Generate each missing matrix that has ``generate`` set (examples only); return their paths."""
    specs = [t for t in proposal.access.travel_times if t.generate is not None]
    todo = [
        (t, _generated_target(t.path, base_dir))
        for t in specs
        if not (Path(base_dir) / t.path).exists()
    ]
    if not todo:
        return []
    import geopandas as gpd

    sites_by_label: dict[str, object] = {}
    for group in [proposal.sites.current, *proposal.scenarios().values(), *_explored(proposal)]:
        for site in group:
            sites_by_label.setdefault(site.label, site)
    listed = list(sites_by_label.values())
    located = resolve_sites(pack, listed)
    located = gpd.GeoDataFrame(
        {"destination": [s.destination for s in listed]},
        geometry=located.geometry.to_numpy(),
        crs=located.crs,
    )
    codes = select_lsoas(pack, proposal.area.spec)
    written = []
    for spec, path in todo:
        frame = synthetic_matrix(pack, codes, located, spec.mode, seed=spec.generate.seed)
        frame = frame.rename(
            columns={"lsoa21_code": spec.columns.origin}
            | (
                {"site_id": spec.columns.destination, "minutes": spec.columns.minutes}
                if spec.columns.layout == "long"
                else {}
            )
        )
        if spec.columns.layout == "wide":
            frame = frame.pivot(index=spec.columns.origin, columns="site_id", values="minutes")
            frame = frame.reset_index()
            frame.columns.name = None

        def dump(tmp: Path, frame: pd.DataFrame = frame) -> None:
            if tmp.suffix.lower() in (".parquet", ".pq"):
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False, float_format="%.1f")

        files.write_atomic(path, dump, what="travel-time matrix", error=TravelTimeError)
        files.record_generated(path, "eia (generate:)", error=TravelTimeError)
        written.append(path)
    return written


def _generated_target(path: str | Path, base_dir: str | Path) -> Path:
    """Where a generated matrix may go: inside the params folder, never through a link."""
    return files.check_target(
        path,
        base_dir,
        what="generated travel-time matrix",
        error=TravelTimeError,
        folder_label="the params file's folder",
    )
