"""LSOA values as extracts give them (2011 or 2021 codes, names) → LSOA 2021 codes.

A 2021 code joins directly (codes of LSOAs that did not change in 2021 are the
same in both vintages). A 2011 code converts with the pack's LSOA 2011→2021
lookup: a merged area (M) maps to its one 2021 area; a split area (S) is
apportioned across its 2021 parts by their Census 2021 population; an irregular
one (X) goes to its best-fitting 2021 area (the one in the same local
authority, else the most populous), so totals are preserved. LSOA names
("Nottingham 001A") are matched to codes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

LSOA_CODE = re.compile(r"^[EW]01\d{6}$")

_RESOLVERS: dict[str, dict] = {}  # pack folder -> its look-ups (see _reference, _codes21)


def _name_key(name: str) -> str:
    return " ".join(str(name).upper().split())


#: Names whose key needs more than upper-casing: spaces at an end or doubled, other whitespace.
_UNTIDY = r"^ | $|  |[\t\n\x0b\x0c\r\x1c-\x1f]"


def _strings(values: pd.Series) -> pa.Array:
    """A text column as a pyarrow string array (no copy for the pack's Arrow-backed text)."""
    return pa.array(values, type=pa.string(), from_pandas=True)


def _name_keys(names: pd.Series) -> list[str]:
    """:func:`_name_key` of every name, in one vectorised pass for tidy ASCII names (the
    pack's 70,000, where the key is the name upper-cased) and one by one for the rest."""
    text = pa.array(names.astype(object).tolist(), type=pa.string(), from_pandas=True)
    tidy = pc.and_kleene(
        pc.string_is_ascii(text), pc.invert(pc.match_substring_regex(text, _UNTIDY))
    )
    keys = pc.ascii_upper(text).to_pylist()
    for i in np.flatnonzero(~tidy.to_numpy(zero_copy_only=False).astype(bool)):
        keys[i] = _name_key(names.iloc[i])
    return keys


def _reference(pack) -> dict:
    """Code sets, name indexes and 2011→2021 weights from a pack (cached per pack folder)."""
    key = str(getattr(pack, "folder", id(pack)))
    if key in _RESOLVERS and getattr(pack, "folder", None) is not None:
        return _RESOLVERS[key]
    codes = pack.lookup()["lsoa21_code"]
    l11 = pack.lsoa11_lookup()[
        ["lsoa11_code", "lsoa11_name", "change_code", "lsoa21_code", "lsoa21_name"]
    ]
    population = pack.population()
    codes21 = set(codes.tolist()) | set(l11["lsoa21_code"].tolist())
    # 2011 codes that are also 2021 codes (unchanged areas) join directly; the rest convert.
    # pyarrow's is_in, not Series.isin: pandas' isin with 35,000 strings takes 0.1 s a call.
    known = pa.concat_arrays([_strings(codes), _strings(l11["lsoa21_code"])])
    is21 = pc.is_in(_strings(l11["lsoa11_code"]), value_set=known).to_numpy(zero_copy_only=False)
    changed = l11[~is21.astype(bool)].copy()
    changed["pop"] = changed["lsoa21_code"].map(population).astype("float64").fillna(0.0).to_numpy()
    # Each 2011 code's rows in file order, as groupby(sort=False) gives them, from plain
    # lists: pandas' groupby costs 0.7 s here for 1,100 small groups. Sums and shares are
    # numpy's over the same values in the same order, so the weights are the same floats.
    codes11 = changed["lsoa11_code"].tolist()
    targets = changed["lsoa21_code"].tolist()
    changes = changed["change_code"].tolist()
    pops = changed["pop"].to_numpy(dtype="float64")
    groups: dict[str, list[int]] = {}
    for i, code11 in enumerate(codes11):
        groups.setdefault(code11, []).append(i)
    rows = []
    for code11, at in groups.items():
        change = changes[at[0]]
        if len(at) == 1:
            rows.append((code11, targets[at[0]], 1.0, change))
        elif change == "X":
            rows.append((code11, _best_fit(changed.iloc[at]), 1.0, change))
        else:
            part = pops[at]
            total = part.sum()
            shares = part / total if total > 0 else np.full(len(at), 1.0 / len(at))
            for i, share in zip(at, shares, strict=True):
                rows.append((code11, targets[i], float(share), change))
    weights = pd.DataFrame(rows, columns=["code", "lsoa21_code", "weight", "change_code"])
    by_code: dict[str, list[tuple]] = {}  # 2011 code -> its (2021 code, weight, change) rows
    for code11, target, weight, change in rows:
        by_code.setdefault(code11, []).append((target, weight, change))
    ref = {
        "codes21": codes21,
        "codes11": set(by_code),
        "weights": weights,
        "by_code": by_code,
    }
    if getattr(pack, "folder", None) is not None:
        _RESOLVERS[key] = ref
    return ref


def _codes21(pack) -> frozenset[str]:
    """The 2021 codes of the pack's LSOA look-up: enough to resolve an extract that gives
    2021 codes only, without building the 2011→2021 weights (0.2 s) it does not need.
    Cached per pack folder, beside :func:`_reference`."""
    key = str(getattr(pack, "folder", id(pack))) + "#codes21"
    if key in _RESOLVERS and getattr(pack, "folder", None) is not None:
        return _RESOLVERS[key]["codes"]
    codes = frozenset(pack.lookup()["lsoa21_code"].tolist())
    if getattr(pack, "folder", None) is not None:
        _RESOLVERS[key] = {"codes": codes}
    return codes


def _names(pack) -> dict:
    """LSOA names → codes (``names21``, ``names11``), built on first use: only an extract
    that gives names, not codes, needs them (70,000 names, 0.07 s). Cached per pack folder,
    beside :func:`_reference`."""
    key = str(getattr(pack, "folder", id(pack))) + "#names"
    if key in _RESOLVERS and getattr(pack, "folder", None) is not None:
        return _RESOLVERS[key]
    lookup21 = pack.lookup()[["lsoa21_code", "lsoa21_name"]]
    names21 = dict(  # .tolist(): iterating a pandas string column directly is slow
        zip(_name_keys(lookup21["lsoa21_name"]), lookup21["lsoa21_code"].tolist(), strict=True)
    )
    names11 = {}
    all11 = pack.lsoa11_lookup()[["lsoa11_name", "lsoa11_code"]].drop_duplicates("lsoa11_code")
    for name_key, code in zip(
        _name_keys(all11["lsoa11_name"]), all11["lsoa11_code"].tolist(), strict=True
    ):
        names11.setdefault(name_key, code)
    names = {"names21": names21, "names11": names11}
    if getattr(pack, "folder", None) is not None:
        _RESOLVERS[key] = names
    return names


def _best_fit(parts: pd.DataFrame) -> str:
    """An irregular (X) 2011 area's best-fitting 2021 area.

    The lookup gives no best-fit flag, so take the 2021 area in the same local
    authority as the 2011 area (their names start with the authority's name),
    else the most populous.
    """
    district = str(parts["lsoa11_name"].iloc[0]).rsplit(" ", 1)[0]
    same = parts[parts["lsoa21_name"].astype(str).str.rsplit(" ", n=1).str[0] == district]
    pool = same if len(same) else parts
    return str(
        pool.sort_values(["pop", "lsoa21_code"], ascending=[False, True])["lsoa21_code"].iloc[0]
    )


def resolve_codes(codes: Iterable, pack) -> pd.DataFrame:
    """How each distinct LSOA value maps to LSOA 2021: one row per (value, 2021 code).

    Columns: ``code`` (as given), ``lsoa21_code`` (None if unmatched),
    ``weight`` (the share of the value's count going to that 2021 area: 1, or a
    population share for a split 2011 area), and ``route``, one of
    ``lsoa21``, ``lsoa11_merged``, ``lsoa11_split``, ``lsoa11_irregular``
    (each prefixed ``name:`` when the value was an LSOA name), ``blank``,
    ``malformed`` or ``unknown_code`` (looks like an LSOA code but is in neither
    vintage).
    """
    lookup21 = _codes21(pack)
    ref: dict | None = None  # the 2011→2021 look-ups, built when a value needs them
    routes = {"M": "lsoa11_merged", "S": "lsoa11_split", "X": "lsoa11_irregular", "U": "lsoa11"}
    rows = []
    for given in dict.fromkeys(codes):
        if (
            given is None
            or (isinstance(given, float) and math.isnan(given))
            or not str(given).strip()
        ):
            rows.append((given, None, 1.0, "blank"))
            continue
        text = str(given).strip().upper()
        prefix = ""
        if not LSOA_CODE.match(text):
            key = _name_key(text)
            names = _names(pack)
            if key in names["names21"]:
                text, prefix = names["names21"][key], "name:"
            elif key in names["names11"]:
                text, prefix = names["names11"][key], "name:"
            else:
                rows.append((given, None, 1.0, "malformed"))
                continue
        if text in lookup21:
            rows.append((given, text, 1.0, prefix + "lsoa21"))
            continue
        ref = ref or _reference(pack)
        if text in ref["codes21"]:
            rows.append((given, text, 1.0, prefix + "lsoa21"))
        elif text in ref["by_code"]:
            for target, weight, change in ref["by_code"][text]:
                rows.append((given, target, float(weight), prefix + routes[change]))
        else:
            rows.append((given, None, 1.0, "unknown_code"))
    return pd.DataFrame(rows, columns=["code", "lsoa21_code", "weight", "route"])


def to_lsoa21(frame: pd.DataFrame, pack, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Convert any aggregate with a ``code`` column and a ``count`` column to LSOA 2021.

    Returns ``lsoa21_code``, the frame's other key columns and ``count``
    (apportioned where a 2011 area split), summed; only LSOAs in ``area_codes``
    when given. Unmatched values are left out: :func:`join_to_lsoa21` reports them.
    """
    keys = [c for c in frame.columns if c not in ("code", "count", "records")]
    resolved = resolve_codes(frame["code"].tolist(), pack)
    merged = frame.merge(resolved, on="code", how="left")
    merged = merged[merged["lsoa21_code"].notna()]
    if area_codes is not None:
        merged = merged[merged["lsoa21_code"].isin(set(area_codes))]
    merged = merged.assign(count=merged["count"] * merged["weight"])
    out = merged.groupby(["lsoa21_code", *keys], sort=True, dropna=False, as_index=False)
    return out["count"].sum()
