"""Where each reference file comes from (``sources.toml``): the publishers' URLs, pinned sizes and checksums, and the cache."""

from __future__ import annotations

import dataclasses
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from eia.errors import RefDataError

__all__ = [
    "BASE_URL_ENV",
    "CACHE_ENV",
    "USER_AGENT",
    "CHUNK",
    "RETRYABLE_STATUS",
    "PACK_TYPES",
    "OPTIONAL_FILES",
    "DESCRIPTIONS",
    "Source",
    "FORMATS",
    "rebase",
    "default_cache",
]


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
