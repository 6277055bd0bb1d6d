"""Reading the publishers' files (IoD, Census tables from Nomis, ONS population estimates, boundaries, look-ups, NHS hospitals) into the pack's tables."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point

from eia.errors import RefDataError
from eia.refdata import (
    BNG,
    WGS84,
)
from eia.refdata.fetch.reading import (
    _codes,
    _decode,
    _norm,
    _numbers,
    _zip_member,
    read_csv,
    resolve_columns,
)
from eia.refdata.fetch.sources import (
    Source,
)
from eia.refdata.schemas import PACK, PACK_COLUMNS

__all__ = [
    "resolve_columns",
    "read_csv",
    "RANK",
    "DECILE",
    "IOD_DOMAINS",
    "IOD_SUBDOMAINS",
    "parse_iod2025_file7",
    "parse_iod2019_file7",
    "NOMIS_TABLES",
    "PROFICIENCY_TOPIC",
    "PROFICIENCY_COLUMNS",
    "parse_nomis_ts029",
    "SAPE_SHEET",
    "parse_ons_sape_syoa",
    "parse_ons_lsoa21_boundaries",
    "parse_ons_ltla24_boundaries",
    "parse_ons_icb22_boundaries",
    "parse_ons_lsoa21_centroids",
    "parse_ons_lsoa21_ward24_lad24",
    "parse_ons_lsoa21_sicbl24_icb24",
    "parse_ons_lsoa11_lsoa21",
    "parse_ons_lsoa21_msoa21",
    "RUC21_CODES",
    "parse_ons_lsoa21_ruc21",
    "parse_nhs_hospitals",
    "PARSERS",
    "PRODUCES",
    "NEEDS",
    "parse",
]


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
