"""Synthetic, reproducible service extracts for examples and tests.

:func:`generate` makes an event-level extract (one row per event) for an
assessment area from real Census 2021 populations: the expected number of
events in each LSOA and ethnic group is its population times a declared rate
ratio for its IMD quintile and for its ethnic group, so the differences are
known and should be recovered by :mod:`eia.analysis.uptake`. To exercise every path of
:mod:`eia.service.aggregate`, the extract also carries

* LSOA 2011 codes for some events in areas whose code changed in 2021 (a split
  area's events under its 2011 parent; a merged area's under one of its parts),
* LSOA names instead of codes for a few events,
* NHS ETHNIC CATEGORY letters in mixed case, with stray spaces, or as text
  labels; ``Z`` (not stated), ``99`` (not known) and blanks,
* a few events in LSOAs outside the area (one in Wales), blank and malformed codes,
* dates in ISO and UK (DD/MM/YYYY) formats.

Everything is drawn from one seeded generator: the same arguments give the
same rows. Anything made here describes no real patient or activity and must
be labelled synthetic (``synthetic: true`` in params).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from eia import files
from eia.errors import ServiceDataError
from eia.population.area import ETHNIC_GROUPS, ETHNIC_SHORT, quintile_of, select_lsoas

#: The columns :func:`generate` writes, as a params ``service.columns`` mapping.
COLUMNS = {
    "lsoa": "lsoa_code",
    "ethnicity": "ethnic_category",
    "age": "age",
    "sex": "sex",
    "date": "date",
}

#: Declared rate ratios: the most deprived quintile has 1.5 times the rate of the least.
DEFAULT_RATE_RATIOS: dict[str, dict] = {
    "imd_quintile": {1: 1.5, 2: 1.3, 3: 1.15, 4: 1.05, 5: 1.0},
    "ethnic_group": {"White": 1.0, "Asian": 0.8, "Black": 1.3, "Mixed": 0.9, "Other": 1.1},
}

#: Within each Census group, the NHS ETHNIC CATEGORY letters and their shares.
_LETTERS = {
    "White": (("A", 0.85), ("B", 0.03), ("C", 0.12)),
    "Mixed": (("D", 0.3), ("E", 0.15), ("F", 0.3), ("G", 0.25)),
    "Asian": (("H", 0.35), ("J", 0.3), ("K", 0.1), ("L", 0.15), ("R", 0.1)),
    "Black": (("M", 0.3), ("N", 0.6), ("P", 0.1)),
    "Other": (("S", 1.0),),
}
_TEXT = {
    "A": "White - British",
    "B": "White - Irish",
    "C": "White - Any other White background",
    "H": "Asian or Asian British - Indian",
    "J": "Asian or Asian British - Pakistani",
    "N": "Black or Black British - African",
    "R": "Chinese",
    "S": "Any other ethnic group",
}
_SHORT_TO_GROUP = {short: group for group, short in ETHNIC_SHORT.items()}


def _group_ratios(declared: Mapping | None) -> dict[str, float]:
    ratios = dict.fromkeys(ETHNIC_GROUPS, 1.0)
    for key, value in (declared or {}).items():
        group = _SHORT_TO_GROUP.get(key, key)
        if group not in ratios:
            raise ServiceDataError(
                f"rate_ratios.ethnic_group: unknown group {key!r} "
                f"(use {', '.join(ETHNIC_SHORT.values())} or the Census names)"
            )
        ratios[group] = float(value)
    return ratios


def _quintile_ratios(declared: Mapping | None) -> dict[int, float]:
    ratios = dict.fromkeys(range(1, 6), 1.0)
    for key, value in (declared or {}).items():
        if int(key) not in ratios:
            raise ServiceDataError(f"rate_ratios.imd_quintile: quintiles are 1 to 5, not {key!r}")
        ratios[int(key)] = float(value)
    return ratios


def expected_counts(
    pack, area_codes: Sequence[str], rate_ratios: Mapping | None = None
) -> pd.DataFrame:
    """The model behind :func:`generate`: relative expected events per LSOA and ethnic group.

    Columns ``lsoa21_code, ethnic_group, imd_quintile, population, weight``;
    ``weight`` is population × quintile ratio × group ratio (unscaled).
    """
    ratios = DEFAULT_RATE_RATIOS if rate_ratios is None else rate_ratios
    q_ratio = _quintile_ratios(ratios.get("imd_quintile"))
    g_ratio = _group_ratios(ratios.get("ethnic_group"))
    codes = list(dict.fromkeys(area_codes))
    eth = pack.ethnicity()
    eth = eth[eth["lsoa21_code"].isin(codes)][["lsoa21_code", "ethnic_group", "n"]]
    imd = pack.imd2025().set_index("lsoa21_code")["IMD_decile"]
    frame = eth.rename(columns={"n": "population"}).reset_index(drop=True)
    frame["population"] = frame["population"].astype("float64").fillna(0.0)
    deciles = frame["lsoa21_code"].map(imd)
    if deciles.isna().any():
        missing = frame.loc[deciles.isna(), "lsoa21_code"].unique()[:5]
        raise ServiceDataError(
            f"no IMD 2025 for {', '.join(missing)}: synthesise English areas only"
        )
    frame["imd_quintile"] = quintile_of(deciles).to_numpy()
    frame["weight"] = (
        frame["population"]
        * frame["imd_quintile"].map(q_ratio).to_numpy()
        * frame["ethnic_group"].map(g_ratio).astype("float64").to_numpy()
    )
    return frame.sort_values(["lsoa21_code", "ethnic_group"]).reset_index(drop=True)


def generate(
    pack,
    area_codes: Sequence[str],
    *,
    n_events: int = 20_000,
    seed: int = 2021,
    rate_ratios: Mapping | None = None,
    share_2011: float = 0.5,
    share_not_stated: float = 0.05,
    share_not_known: float = 0.02,
    share_outside: float = 0.003,
    share_unmatched: float = 0.001,
    start: dt.date | str = "2024-04-01",
    end: dt.date | str = "2025-03-31",
    ages: Sequence[int | None] | None = None,
) -> pd.DataFrame:
    """A seeded synthetic event-level extract for an area (see the module docstring).

    ``rate_ratios`` is ``{"imd_quintile": {1: 1.5, ..., 5: 1.0}, "ethnic_group":
    {"White": 1.0, "Asian": 0.8, ...}}`` (short or Census group names; missing
    entries are 1; default :data:`DEFAULT_RATE_RATIOS`). ``share_2011`` is the
    share of events in changed areas written with a 2011 code. Returns columns
    ``lsoa_code, ethnic_category, age, sex, date`` (see :data:`COLUMNS`), one
    row per event, shuffled. Ages are uniform over 0-94, or over ``ages``
    (``[min, max]``, max None for 94) for a population of interest.
    """
    if int(n_events) < 1:
        raise ServiceDataError(f"n_events must be at least 1, not {n_events!r}")
    n_events = int(n_events)
    rng = np.random.default_rng(seed)
    model = expected_counts(pack, area_codes, rate_ratios)
    if model["weight"].sum() <= 0:
        raise ServiceDataError("the area has no residents to synthesise events for")

    n_outside = int(round(n_events * share_outside)) if n_events >= 200 else 0
    n_unmatched = int(round(n_events * share_unmatched)) if n_events >= 200 else 0
    n_in = n_events - n_outside - n_unmatched
    cells = rng.multinomial(n_in, (model["weight"] / model["weight"].sum()).to_numpy())
    lsoa = np.repeat(model["lsoa21_code"].to_numpy(dtype=object), cells)
    group = np.repeat(model["ethnic_group"].to_numpy(dtype=object), cells)

    lsoa = _vintage_mix(pack, lsoa, rng, share_2011)
    lsoa = _some_names(pack, lsoa, rng)
    categories = _categories(group, rng, share_not_stated, share_not_known)

    extra_codes, extra_cats = _outside_and_unmatched(pack, area_codes, n_outside, n_unmatched, rng)
    codes = np.concatenate([lsoa, extra_codes])
    cats = np.concatenate([categories, extra_cats])

    n = len(codes)
    start_d, end_d = pd.Timestamp(start), pd.Timestamp(end)
    days = rng.integers(0, (end_d - start_d).days + 1, size=n)
    dates = start_d + pd.to_timedelta(days, unit="D")
    iso = dates.strftime("%Y-%m-%d").to_numpy(dtype=object)
    uk = dates.strftime("%d/%m/%Y").to_numpy(dtype=object)
    date_text = np.where(rng.random(n) < 0.05, uk, iso)
    frame = pd.DataFrame(
        {
            "lsoa_code": codes,
            "ethnic_category": cats,
            "age": rng.integers(
                ages[0] if ages else 0,
                (ages[1] + 1 if ages and ages[1] is not None else 95),
                size=n,
            ),
            "sex": rng.choice(np.array(["F", "M"], dtype=object), size=n),
            "date": date_text,
        }
    )
    order = rng.permutation(n)
    return frame.iloc[order].reset_index(drop=True)


def _vintage_mix(pack, lsoa: np.ndarray, rng, share: float) -> np.ndarray:
    """Write some events in changed areas with their 2011 code."""
    lookup = pack.lsoa11_lookup()
    changed = lookup[lookup["change_code"].isin(["S", "M"])]
    parents = changed.groupby("lsoa21_code")["lsoa11_code"].agg(list).to_dict()
    out = lsoa.copy()
    if not parents or share <= 0:
        return out
    series = pd.Series(lsoa)
    eligible = np.flatnonzero(series.isin(parents).to_numpy() & (rng.random(len(lsoa)) < share))
    for i in eligible:
        options = parents[lsoa[i]]
        out[i] = options[int(rng.integers(0, len(options)))]
    return out


def _some_names(pack, lsoa: np.ndarray, rng, share: float = 0.001) -> np.ndarray:
    """Write a few events' LSOA as its 2021 name ("Nottingham 001A"), as some extracts do."""
    names = pack.lookup().set_index("lsoa21_code")["lsoa21_name"]
    out = lsoa.copy()
    count = max(1, int(round(len(lsoa) * share))) if len(lsoa) >= 100 else 0
    picks = rng.choice(len(lsoa), size=count, replace=False) if count else []
    for i in picks:
        if lsoa[i] in names.index:
            out[i] = names[lsoa[i]]
    return out


def _categories(group: np.ndarray, rng, not_stated: float, not_known: float) -> np.ndarray:
    out = np.empty(len(group), dtype=object)
    for census, short in ETHNIC_SHORT.items():
        idx = np.flatnonzero(group == census)
        if not len(idx):
            continue
        letters, shares = zip(*_LETTERS[short], strict=True)
        out[idx] = rng.choice(np.array(letters, dtype=object), size=len(idx), p=np.array(shares))
    # Presentation variants: lower case, stray spaces, text labels, a local sub-code.
    u = rng.random(len(out))
    lower = u < 0.03
    out[lower] = [s.lower() for s in out[lower]]
    spaced = (u >= 0.03) & (u < 0.05)
    out[spaced] = [f" {s} " for s in out[spaced]]
    text = (u >= 0.05) & (u < 0.10)
    out[text] = [_TEXT.get(s, s) for s in out[text]]
    sub = (u >= 0.10) & (u < 0.11)
    out[sub] = [f"{s}X" for s in out[sub]]
    # Unknowns, independent of group so group ratios are unaffected.
    v = rng.random(len(out))
    out[v < not_stated] = "Z"
    unknown = (v >= not_stated) & (v < not_stated + not_known)
    out[unknown] = np.where(rng.random(int(unknown.sum())) < 0.8, "99", "")
    return out


def _outside_and_unmatched(pack, area_codes, n_outside: int, n_unmatched: int, rng):
    area = set(area_codes)
    lookup = pack.lookup()
    english = lookup.loc[
        lookup["lsoa21_code"].str.startswith("E") & ~lookup["lsoa21_code"].isin(area), "lsoa21_code"
    ].to_numpy(dtype=object)
    welsh = lookup.loc[lookup["lsoa21_code"].str.startswith("W"), "lsoa21_code"].to_numpy(
        dtype=object
    )
    codes = []
    if n_outside:
        codes += list(rng.choice(english, size=max(0, n_outside - 1))) if len(english) else []
        codes += [rng.choice(welsh)] if len(welsh) else []
    bad = ["", "UNKNOWN", "E01099999", "E02002317"]
    codes += [bad[i % len(bad)] for i in range(n_unmatched)]
    codes = np.array(codes, dtype=object)
    letters = np.array(["A", "C", "H", "N", "Z"], dtype=object)
    cats = rng.choice(letters, size=len(codes)) if len(codes) else np.array([], dtype=object)
    return codes, cats


def service_spec(path: str | Path, label: str = "synthetic service users") -> dict:
    """The params ``service`` block for an extract written by :func:`write`."""
    return {"path": str(path), "columns": dict(COLUMNS), "label": label, "synthetic": True}


def check_target(
    path: str | Path, base: str | Path | None, *, synthetic: bool, named: bool = False
) -> Path:
    """Where a synthetic extract may be written: never over a person's file, never elsewhere.

    ``path`` is the target, relative to ``base`` (the params file's folder), which it
    must lie inside, checked as named, before any symbolic link is resolved
    (:func:`eia.files.check_target`), unless ``named`` (the user named the file with
    ``--out``: only the file itself is checked). A symbolic link is never written
    through. An existing file is replaced only when ``eia`` generated it and nobody
    has changed it since (:func:`eia.files.made_by_eia`), and, when it is the params
    file's own extract, the params file marks it ``synthetic: true``: a file a person
    made is never overwritten, whatever its ``synthetic:`` flag. Returns the absolute
    target; raises :class:`~eia.errors.ServiceDataError` (one line) otherwise.
    """
    target = files.check_target(
        path,
        None if named else base,
        what="synthetic extract",
        error=ServiceDataError,
        folder_label="the params file's folder",
    )
    if target.exists():
        if not named and not synthetic:
            raise ServiceDataError(
                f"{path} already exists and the params file does not mark it synthetic: true; "
                "not overwriting what may be real data"
            )
        if not files.made_by_eia(target):
            raise ServiceDataError(
                f"{path} already exists and eia did not generate it (or it changed since): "
                "not overwriting a file a person made, whatever its synthetic: flag; remove "
                "it yourself or choose another --out"
            )
    return target


def write(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a synthetic extract as CSV (UTF-8), Parquet or XLSX, by the file's suffix.

    Atomically (a temporary file, then one rename: a full disk leaves no half file),
    then recorded as generated by ``eia`` (:func:`eia.files.record_generated`), so a
    later ``eia synth`` may replace it and a report calls it generated, not supplied.
    ``path`` should come from :func:`check_target`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx" and len(frame) > 1_000_000:
        raise ServiceDataError("an Excel sheet holds at most 1,048,575 rows: write CSV or Parquet")
    if suffix not in (".parquet", ".pq", ".xlsx", ".csv"):
        raise ServiceDataError(f"cannot write {path.name}: use .csv, .parquet or .xlsx")

    def dump(tmp: Path) -> None:
        if suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        elif suffix == ".xlsx":
            frame.to_excel(tmp, index=False, sheet_name="synthetic")
        else:
            frame.to_csv(tmp, index=False, encoding="utf-8")

    files.write_atomic(path, dump, what="synthetic extract", error=ServiceDataError)
    files.record_generated(path, "eia synth", error=ServiceDataError)
    return path


def ensure(proposal, base_dir: str | Path, pack) -> Path | None:
    """Generate a proposal's synthetic service extract if it is missing (examples only).

    The extract is ``service.path`` relative to ``base_dir`` (the params file's
    folder), generated with ``service.generate``'s events and seed for the
    proposal's area (and ``population.ages``). Never writes over real data or
    outside ``base_dir`` (:func:`check_target`). Returns the path, or None when the
    proposal reads no service file.
    """
    spec = proposal.service
    if spec is None or spec.path is None:
        return None
    named = Path(base_dir) / spec.path
    if named.exists():  # a file, or a link to one: read, never written here
        return named
    path = check_target(spec.path, base_dir, synthetic=spec.synthetic)

    frame = generate(
        pack,
        select_lsoas(pack, proposal.area.spec),
        n_events=spec.generate.events,
        seed=spec.generate.seed,
        ages=proposal.population.ages if proposal.population is not None else None,
    )
    write(frame, path)
    return path
