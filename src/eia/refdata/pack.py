"""Reference data: find, verify, install and load the small-area pack.

The pack is a folder of Parquet files with a ``manifest.json`` that lists each
file's sha256 (see ``shapes/README.md``). ``eia`` looks for it, in order:

1. ``shapes/`` in the project (where ``eia data install --from DIR`` puts it);
2. the folder named by the ``EIA_REFDATA`` environment variable.

Loaders return plain pandas/geopandas frames. Geometries are projected to
British National Grid (EPSG:27700) so distances and areas are in metres.
Each file is read once per process (``functools.cache``), and only the columns
and rows asked for. What is read is checked against the file's data contract
(:data:`eia.refdata.schemas.PACK`: columns, types, code patterns, ranges, unique keys);
``eia data install`` and ``eia data check`` check every file in full
(:func:`check_contents`). A file that met its contract is remembered by its sha256
(:mod:`eia.refdata.checked`), so later runs skip checking the same bytes again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from eia.errors import RefDataError
from eia.refdata import checked

if TYPE_CHECKING:  # imported where used: validating a proposal needs neither (a quicker `eia run`)
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "ENV_VAR",
    "SHAPES_ENV_VAR",
    "BNG",
    "WGS84",
    "REQUIRED_FILES",
    "SOURCES",
    "ATTRIBUTION",
    "HOW_TO_PROVIDE",
    "project_root",
    "shapes_dir",
    "sha256",
    "read_manifest",
    "verify",
    "check_contents",
    "locate",
    "install",
    "Pack",
    "load_pack",
]

ENV_VAR = "EIA_REFDATA"
SHAPES_ENV_VAR = "EIA_SHAPES"
BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: Files every pack must hold; the manifest may list more.
REQUIRED_FILES = (
    "lsoa21_boundaries.parquet",
    "lsoa21_lookup.parquet",
    "imd2025_lsoa21.parquet",
    "imd2019_lsoa11.parquet",
    "lsoa11_lsoa21_lookup.parquet",
    "census2021_ethnicity_lsoa21.parquet",
    "census2021_religion_lsoa21.parquet",
    "census2021_disability_lsoa21.parquet",
    "hospitals22_points.parquet",
    "icb22_boundaries.parquet",
    "ltla24_boundaries.parquet",
    "population20_age_lsoa21.parquet",
    "census2021_proficiency_msoa21.parquet",
    "lsoa21_msoa21_lookup.parquet",
    "ruc21_lsoa21.parquet",
)

#: Where each dataset comes from and its vintage, for the report's sources table.
SOURCES = {
    "lsoa21_boundaries.parquet": "LSOA (December 2021) boundaries, super generalised, ONS Open Geography Portal",
    "lsoa21_lookup.parquet": "LSOA 2021 to ward, local authority (2024), sub-ICB and ICB (2024) lookups, ONS / NHS England",
    "imd2025_lsoa21.parquet": "English Indices of Deprivation 2025, MHCLG (LSOA 2021)",
    "imd2019_lsoa11.parquet": "English Indices of Deprivation 2019, MHCLG (LSOA 2011)",
    "lsoa11_lsoa21_lookup.parquet": "LSOA 2011 to LSOA 2021 lookup, ONS",
    "census2021_ethnicity_lsoa21.parquet": "Census 2021 TS021 ethnic group, ONS",
    "census2021_religion_lsoa21.parquet": "Census 2021 TS030 religion, ONS",
    "census2021_disability_lsoa21.parquet": "Census 2021 TS038 disability, ONS",
    "hospitals22_points.parquet": "NHS hospital sites in England (2022), NHS website, geocoded",
    "icb22_boundaries.parquet": "Integrated care boards (2022) boundaries, ONS",
    "ltla24_boundaries.parquet": "Local authority districts (2024) boundaries, ONS",
    "population20_age_lsoa21.parquet": "Mid-2020 small area population estimates by single year "
    "of age, ONS (LSOA 2011, converted to LSOA 2021)",
    "census2021_proficiency_msoa21.parquet": "Census 2021 TS029 proficiency in English, ONS (MSOA 2021)",
    "lsoa21_msoa21_lookup.parquet": "LSOA 2021 to MSOA 2021 lookup, ONS",
    "ruc21_lsoa21.parquet": "Rural-Urban Classification 2021, ONS (LSOA 2021)",
}

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Contains National Statistics data © Crown copyright and database right 2021–2025. "
    "Contains OS data © Crown copyright and database right 2021–2025. "
    "Original publishers: Ministry of Housing, Communities and Local Government (English "
    "Indices of Deprivation 2019 and 2025); Office for National Statistics (Census 2021 tables "
    "TS021 ethnic group, TS030 religion, TS038 disability, TS029 proficiency in English; mid-2020 "
    "small area population estimates; Rural-Urban Classification 2021; LSOA boundaries and "
    "lookups, Open Geography Portal); NHS England (ICB/sub-ICB lookups); hospital sites listed on the NHS "
    "website, geocoded (2022). Files were assembled from the open data sets of the British Red "
    "Cross IMD, demographr and geographr R packages (MIT licence), which republish these sources."
)

HOW_TO_PROVIDE = (
    "run `eia data install --from DIR` (DIR holds the pack's manifest.json and Parquet files, "
    "e.g. ../shared/refdata), or set EIA_REFDATA=DIR, or run `eia data fetch` to build it "
    "from the publishers' releases"
)


def project_root() -> Path:
    """The project folder (the one holding ``shapes/``): ``EIA_HOME`` or the source checkout."""
    home = os.environ.get("EIA_HOME")
    if home:
        return Path(home).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "src" / "eia").is_dir():
            return parent
    return Path.cwd()


def shapes_dir() -> Path:
    """Where an installed pack lives: ``EIA_SHAPES`` or ``<project>/shapes``."""
    override = os.environ.get(SHAPES_ENV_VAR)
    return Path(override).resolve() if override else project_root() / "shapes"


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The hex sha256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict[str, dict]:
    """Read ``folder/manifest.json``: a mapping of file name to its description, rows and sha256."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise RefDataError(f"{path} does not exist: the reference pack needs its manifest.json")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RefDataError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(manifest, dict) or not all(
        isinstance(v, dict) and "sha256" in v for v in manifest.values()
    ):
        raise RefDataError(f"{path} must map each file name to an object with a sha256")
    bad = [name for name in manifest if not _plain_file_name(name)]
    if bad:
        shown = ", ".join(repr(n[:60]) for n in bad[:3])
        raise RefDataError(
            f"{path} names {len(bad)} file(s) that are not plain file names ({shown}): "
            "a pack's files sit directly in its folder, without '/', '\\' or '..'"
        )
    return manifest


def _plain_file_name(name: object) -> bool:
    """A name that stays in its folder: no separators, not '.' or '..', nothing hidden or odd."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 255
        and name not in (".", "..")
        and not name.startswith(".")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and name.isprintable()
        and Path(name).name == name
    )


def verify(folder: Path | str, required: tuple[str, ...] = REQUIRED_FILES) -> dict[str, dict]:
    """Check every file listed in ``folder``'s manifest exists and matches its sha256.

    ``required`` names files the manifest must list. Raises :class:`RefDataError`
    naming every missing or altered file; returns the manifest.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    missing_required = [name for name in required if name not in manifest]
    problems = [f"manifest does not list {name}" for name in missing_required]
    for name, entry in sorted(manifest.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256(path) != entry["sha256"]:
            problems.append(
                f"{name} does not match its sha256 in manifest.json (altered or truncated)"
            )
    if problems:
        raise RefDataError(
            f"reference data in {folder} failed verification: " + "; ".join(problems)
        )
    return manifest


def check_contents(folder: Path | str, manifest: dict[str, dict] | None = None) -> None:
    """Check every file of the pack in ``folder`` against its data contract (:mod:`eia.refdata.schemas`).

    Raises :class:`RefDataError` naming the file, the column and the kind of problem (a
    missing column, a wrong type, malformed codes, negative counts, repeated keys).
    Files without a contract (extras a pack may carry) are not checked.
    """
    from eia.refdata import schemas  # pandas and pandera: not needed to validate a proposal

    folder = Path(folder)
    manifest = manifest if manifest is not None else read_manifest(folder)
    for name in sorted(manifest):
        if name in schemas.PACK:
            frame = pq.read_table(folder / name).to_pandas()
            schemas.PACK[name].validate(frame, f"reference pack file {name} in {folder}")
            checked.remember(checked.record_key(manifest[name]["sha256"], schemas.PACK[name]))


@cache
def _verified(folder: str) -> dict[str, dict]:
    return verify(Path(folder))


def locate() -> Path:
    """The folder of the pack to use: ``shapes/`` if installed, else ``$EIA_REFDATA``.

    Raises :class:`RefDataError` with one sentence on how to provide the data.
    """
    installed = shapes_dir()
    if (installed / "manifest.json").is_file():
        return installed
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env).expanduser().resolve()
        if not (folder / "manifest.json").is_file():
            raise RefDataError(
                f"{ENV_VAR}={env} has no manifest.json: point it at the reference pack folder, "
                f"or {HOW_TO_PROVIDE}."
            )
        return folder
    raise RefDataError(f"No reference data found in {installed}: {HOW_TO_PROVIDE}.")


def install(
    source: Path | str, dest: Path | str | None = None, required: tuple[str, ...] = REQUIRED_FILES
) -> Path:
    """Verify the pack in ``source`` and copy it into ``dest`` (default ``shapes/``).

    The copy is made in a temporary folder beside ``dest``, verified again, its files
    checked against their data contracts (:func:`check_contents`), and only then moved
    into place, so a failed install never leaves a half pack.
    Files in ``dest`` that are not part of the pack (e.g. ``README.md``) are kept.
    """
    source = Path(source).expanduser().resolve()
    dest = Path(dest).resolve() if dest else shapes_dir()
    if not source.is_dir():
        raise RefDataError(f"{source} is not a folder: name the folder that holds manifest.json")
    manifest = verify(source, required)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=dest))
    try:
        for name in [*manifest, "manifest.json", "README.md"]:
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)
        verify(staging, required)
        check_contents(staging, manifest)
        for name in [*manifest, "manifest.json"]:
            os.replace(staging / name, dest / name)
        if (staging / "README.md").is_file():
            os.replace(staging / "README.md", dest / "PACK_README.md")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _verified.cache_clear()
    return dest


class Pack:
    """A verified reference pack, with cached loaders for each of its datasets.

    Use :func:`load_pack` to get one; it is shared by everything in a process, so
    each file is read (and verified) once per run.
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.manifest = _verified(str(self.folder))
        self._checked_in_full: set[str] = set()  # files whose every column met its contract

    def __repr__(self) -> str:
        return f"Pack({str(self.folder)!r}, {len(self.manifest)} files)"

    def path(self, name: str) -> Path:
        """The path of one file of the pack."""
        return self.folder / name

    def _read(self, name: str, columns=None, filters=None) -> pd.DataFrame:
        frame = pq.read_table(self.path(name), columns=columns, filters=filters).to_pandas()
        return self._checked(name, frame, columns, whole=filters is None)

    def _checked(self, name: str, frame, columns=None, *, whole: bool = True):
        """``frame`` (``columns`` of the file ``name``; ``whole``: every row) checked against
        the file's contract; a file already checked in full (in this process, or with the same
        sha256 and contract in an earlier one: :mod:`eia.refdata.checked`) is not checked
        again, nor are the same columns of a file already checked. For some rows of a file
        (``whole`` false) the whole file is checked, once."""
        from eia.refdata import schemas  # pandera (heavy): imported where a pack file is checked

        contract = schemas.PACK.get(name)
        if contract is None or name in self._checked_in_full:
            return frame
        sha = self.manifest.get(name, {}).get("sha256")
        if sha is not None and checked.passed(checked.record_key(sha, contract)):
            self._checked_in_full.add(name)  # these bytes met this contract in an earlier check
            return frame
        if not whole and sha is not None:
            # Some rows of a file never checked: check the whole file once (and remember it,
            # as `eia data check` would), so later runs skip checking the rows they read.
            self._checked(name, pq.read_table(self.path(name)).to_pandas())
            return frame
        part = None if columns is None else tuple(columns)
        known = sha is not None and whole and part is not None
        if known and checked.passed(checked.record_key(sha, contract, part)):
            return frame  # these columns of these bytes met this contract before
        frame = contract.validate(frame, f"reference pack file {self.path(name)}", columns)
        if whole and sha is not None:
            checked.remember(checked.record_key(sha, contract, part))
        if columns is None and whole:
            self._checked_in_full.add(name)
        return frame

    @cache  # noqa: B019
    def values(self, name: str, column: str) -> tuple:
        """One column of one file as plain Python values, in file order (None where missing).

        Reads only that column and needs no pandas: quick, for validating a proposal.
        """
        # ParquetFile, not read_table: pyarrow's dataset layer would import pandas.
        with pq.ParquetFile(self.path(name)) as handle:
            return tuple(handle.read(columns=[column]).column(0).to_pylist())

    # Lookups and tables -------------------------------------------------
    @cache  # noqa: B019 - packs live for the whole process by design
    def lookup(self) -> pd.DataFrame:
        """LSOA 2021 → ward, local authority (ltla24), sub-ICB and ICB (icb24)."""
        return self._read("lsoa21_lookup.parquet")

    @cache  # noqa: B019
    def imd2025(self, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """English IMD 2025 by LSOA 2021: ``IMD_decile``, ``IMD_rank``, ``IMD_score`` and domains.

        ``columns``: only those (a quicker read), e.g. ``("lsoa21_code", "IMD_rank")``.
        """
        return self._read("imd2025_lsoa21.parquet", list(columns) if columns else None)

    @cache  # noqa: B019
    def imd2019(self) -> pd.DataFrame:
        """English IMD 2019 by LSOA 2011 (ranks and deciles)."""
        return self._read("imd2019_lsoa11.parquet")

    @cache  # noqa: B019
    def lsoa11_lookup(self) -> pd.DataFrame:
        """LSOA 2011 ↔ 2021 pairs with their ``change_code`` (U, S, M, X)."""
        return self._read("lsoa11_lsoa21_lookup.parquet")

    @cache  # noqa: B019
    def ethnicity(self) -> pd.DataFrame:
        """Census 2021 usual residents by 5 ethnic groups, long: lsoa21_code, ethnic_group, n, ..."""
        return self._read("census2021_ethnicity_lsoa21.parquet")

    @cache  # noqa: B019
    def religion(self) -> pd.DataFrame:
        """Census 2021 usual residents by religion, long: lsoa21_code, religion, n, ..."""
        return self._read("census2021_religion_lsoa21.parquet")

    @cache  # noqa: B019
    def disability(self) -> pd.DataFrame:
        """Census 2021 usual residents by disability (Equality Act), long."""
        return self._read("census2021_disability_lsoa21.parquet")

    @cache  # noqa: B019
    def population(self) -> pd.Series:
        """Census 2021 usual residents per LSOA 2021 (the TS021 total), indexed by code."""
        eth = self._read("census2021_ethnicity_lsoa21.parquet", ["lsoa21_code", "total_residents"])
        return eth.drop_duplicates("lsoa21_code").set_index("lsoa21_code")["total_residents"]

    @cache  # noqa: B019
    def proficiency(self) -> pd.DataFrame:
        """Census 2021 TS029 proficiency in English by MSOA 2021 (usual residents aged 3+)."""
        return self._read("census2021_proficiency_msoa21.parquet")

    @cache  # noqa: B019
    def msoa_lookup(self) -> pd.DataFrame:
        """LSOA 2021 → MSOA 2021 (every LSOA nests in one MSOA)."""
        return self._read("lsoa21_msoa21_lookup.parquet")

    @cache  # noqa: B019
    def rurality(self) -> pd.DataFrame:
        """ONS Rural-Urban Classification 2021 by LSOA 2021: ruc21_code, ruc21_name, urban_rural."""
        return self._read("ruc21_lsoa21.parquet")

    def has(self, name: str) -> bool:
        """Whether the pack holds an (optional) file."""
        return name in self.manifest

    @cache  # noqa: B019
    def population_by_age(self, codes: tuple[str, ...] | None = None) -> pd.DataFrame:
        """ONS mid-2020 residents (persons) per LSOA 2021 by single year of age, indexed by code.

        Columns ``age_0`` … ``age_89``, ``age_90_plus`` and ``total`` (floats: split 2011
        areas were apportioned). The pack holds no sex split. ``codes``: only those LSOAs'
        rows, in file order (a quicker read). Raises :class:`RefDataError`
        when the pack lacks ``population20_age_lsoa21.parquet`` (needed for age-standardised
        rates and a population of interest).
        """
        name = "population20_age_lsoa21.parquet"
        if not self.has(name):
            raise RefDataError(
                f"the reference pack in {self.folder} has no {name}, which age-standardised "
                f"rates and a population of interest (population.ages) need: {HOW_TO_PROVIDE}"
            )
        filters = None if codes is None else [("lsoa21_code", "in", list(codes))]
        return self._read(name, filters=filters).set_index("lsoa21_code")

    # Geometries ---------------------------------------------------------
    def _read_geo(self, name: str, filters=None) -> gpd.GeoDataFrame:
        """A GeoParquet file (rows matching ``filters``) checked, in EPSG:27700.

        What ``geopandas.read_parquet`` gives, read with pyarrow so that the file's CRS is
        parsed once per process (:func:`_crs`; parsing PROJJSON costs ~30 ms a time) and
        projected with one CRS object (:func:`_bng`); files of another layout (several
        geometry columns, not WKB) are read by geopandas itself.
        """
        import geopandas as gpd

        table = pq.read_table(self.path(name), filters=filters)
        geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
        column = geo.get("primary_column")
        entry = geo.get("columns", {}).get(column, {})
        if len(geo.get("columns", {})) != 1 or entry.get("encoding") != "WKB":
            frame = gpd.read_parquet(self.path(name), filters=filters)
        else:
            order = list(table.slice(0, 0).to_pandas().columns)
            frame = table.drop([column]).to_pandas()
            crs = _crs(json.dumps(entry.get("crs", "OGC:CRS84"), sort_keys=True))
            shapes = gpd.GeoSeries.from_wkb(np.array(table[column]), crs=crs)
            frame.insert(order.index(column), column, shapes.values)
            frame = gpd.GeoDataFrame(frame, geometry=column)
        return self._checked(name, frame, whole=filters is None).to_crs(_bng())

    def boundaries(self, codes: list[str] | None = None) -> gpd.GeoDataFrame:
        """LSOA 2021 polygons in EPSG:27700, optionally only those in ``codes``."""
        filters = [("lsoa21_code", "in", list(codes))] if codes is not None else None
        return self._read_geo("lsoa21_boundaries.parquet", filters)

    @cache  # noqa: B019
    def hospitals(self) -> gpd.GeoDataFrame:
        """NHS hospital sites (2022) as points in EPSG:27700: ``hospital22_name``, geometry."""
        return self._read_geo("hospitals22_points.parquet")

    @cache  # noqa: B019
    def icbs(self) -> gpd.GeoDataFrame:
        """ICB (2022) boundaries in EPSG:27700."""
        return self._read_geo("icb22_boundaries.parquet")

    @cache  # noqa: B019
    def ltlas(self) -> gpd.GeoDataFrame:
        """Local authority district (2024) boundaries in EPSG:27700."""
        return self._read_geo("ltla24_boundaries.parquet")

    def sources(self) -> pd.DataFrame:
        """One row per file: what it is, its source and vintage, rows and sha256."""
        import pandas as pd

        rows = [
            {
                "file": name,
                "source": SOURCES.get(name, entry.get("description", "")),
                "rows": entry.get("rows"),
                "sha256": entry["sha256"],
            }
            for name, entry in sorted(self.manifest.items())
        ]
        return pd.DataFrame(rows)


@cache
def _crs(text: str):
    """The CRS of a GeoParquet geometry column (its ``crs`` as JSON text), parsed once.

    As geopandas reads it: PROJJSON without the ids of datum ensemble members (which older
    PROJ databases do not know); a file without one is in OGC:CRS84 (the GeoParquet spec).
    A PROJJSON that is exactly its EPSG code's definition (the pack's WGS 84) is taken from
    PROJ's database by code, which is 30 times quicker than parsing it.
    """
    import pyproj

    value = json.loads(text)
    if isinstance(value, dict):
        _drop_member_ids(value)
        ident = value.get("id") or {}
        if ident.get("authority") == "EPSG" and isinstance(ident.get("code"), int):
            known = pyproj.CRS.from_epsg(ident["code"])  # from PROJ's database: ~1 ms
            described = known.to_json_dict()
            _drop_member_ids(described)
            if described == value:  # the very definition the file gives, without parsing it
                return known
    return pyproj.CRS.from_user_input(value)


def _drop_member_ids(projjson: dict) -> None:
    for key, value in projjson.items():
        if isinstance(value, dict):
            _drop_member_ids(value)
        elif key == "members" and isinstance(value, list):
            for member in value:
                member.pop("id", None)


@cache
def _bng():
    """British National Grid as one pyproj CRS object (built once, reused by every projection)."""
    import pyproj

    return pyproj.CRS.from_user_input(BNG)


@cache
def _pack_at(folder: str) -> Pack:
    return Pack(folder)


def load_pack(folder: Path | str | None = None) -> Pack:
    """The reference pack (verified once per process): ``folder``, or :func:`locate`'s choice."""
    return _pack_at(str(Path(folder).resolve() if folder else locate()))
