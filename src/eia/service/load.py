"""The whole service-data step: read, aggregate and join an extract into a :class:`ServiceData` (:func:`load_service`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from eia import files
from eia.errors import ServiceDataError
from eia.refdata.lsoa21 import to_lsoa21
from eia.refdata.schemas import SERVICE_BY_LSOA, SERVICE_BY_LSOA_AGE_SEX, SERVICE_BY_LSOA_ETHNICITY
from eia.service.aggregate import _aggregate_spec
from eia.service.join import join_to_lsoa21

__all__ = ["ServiceData", "load_service"]


# The whole step
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class ServiceData:
    """Service data aggregated to LSOA 2021 within the assessment area.

    * ``by_lsoa``: ``lsoa21_code, count`` for every LSOA in the area, in the
      area's order (zeros included);
    * ``by_lsoa_ethnicity``: ``lsoa21_code, ethnic_group, count`` (ethnic_group
      one of :data:`eia.population.ethnicity.CATEGORIES`, so including "Not stated" and
      "Not known"); None without an ethnicity column;
    * ``by_lsoa_ethnic_code``: ``lsoa21_code, ethnic_code, count``: the NHS
      ethnic category codes (A–S, Z, 99; None where a value names only a
      group); None without an ethnicity column;
    * ``by_lsoa_age_sex``: ``lsoa21_code``, ``age_band`` (5-year bands, "85+",
      "Not known") and/or ``sex``, ``count``; None unless age or sex is mapped;
    * ``by_site``: ``site, lsoa21_code, ethnic_group, count`` (ethnic_group
      only when mapped), LSOAs in the area only; None unless ``columns.site``;
    * ``quality``: see :func:`join_to_lsoa21`, plus ``synthetic``, ``engine``,
      ``counting`` (``people`` with ``columns.person``, else ``events``),
      ``period_start``/``period_end``, ``records_outside_period``, and the
      observed ``date_first``/``date_last`` (before the period filter).

    With ``counting == "people"`` each count is the number of distinct people
    in that cell: a person seen in two cells (two LSOAs, two groups, two sites)
    counts in both, so cells do not add up to a number of people.

    These frames hold small, unsuppressed counts: publish them only through
    :mod:`eia.analysis.uptake` and :mod:`eia.stats.disclosure`. The repr shows totals only, so
    an executed notebook never prints them by accident.
    """

    label: str
    synthetic: bool
    source: str
    by_lsoa: pd.DataFrame
    by_lsoa_ethnicity: pd.DataFrame | None
    by_lsoa_age_sex: pd.DataFrame | None
    quality: dict
    columns: dict = field(default_factory=dict)
    by_lsoa_ethnic_code: pd.DataFrame | None = None
    by_site: pd.DataFrame | None = None

    @property
    def counting(self) -> str:
        """``people`` (distinct people per cell) or ``events``."""
        return self.quality.get("counting", "events")

    def __repr__(self) -> str:
        q = self.quality
        return (
            f"ServiceData({self.label!r}{' (synthetic)' if self.synthetic else ''}: "
            f"{q.get('records_read') or 0:,} records read from {self.source} on "
            f"{q.get('engine', 'duckdb')}, {q.get('count_in_area', 0):,.1f} "
            f"{self.counting} in the area's {len(self.by_lsoa)} LSOAs)"
        )


def load_service(
    spec: Mapping,
    pack,
    area_codes: Sequence[str],
    base_dir: str | Path = ".",
    *,
    ages: Sequence[int | None] | None = None,
) -> ServiceData:
    """Aggregate a params ``service`` block where its data lives, and join it to LSOA 2021.

    The one call a notebook makes. ``spec`` is the block as a plain mapping:
    one of ``path`` (a file, relative to ``base_dir``, the params file's
    folder), ``table`` or ``query`` (with ``connection``, the name of an
    environment variable holding the database URL); ``engine`` (``duckdb``,
    ``database`` or ``spark``; by default DuckDB for a file, else the
    database); ``columns`` (role → column; ``lsoa`` required); optional
    ``period``, ``label``, ``synthetic`` and ``sheet``. Other keys are ignored.
    ``ages`` (a population of interest's ``[min, max]``) keeps only records of
    those ages, in every table (see :func:`aggregate`).
    """
    if not isinstance(spec, Mapping) or not any(spec.get(k) for k in ("path", "table", "query")):
        raise ServiceDataError(
            "service.path is required: name the extract file (or a table or query)"
        )
    spec = {**spec, "ages": ages} if ages is not None else spec
    extract = _aggregate_spec(spec, base_dir, spec.get("columns") or {})
    columns = extract.info["columns"]
    joined, quality = join_to_lsoa21(extract, pack, area_codes)
    codes = list(dict.fromkeys(area_codes))
    totals = joined
    if extract.by_code_total is not None:
        totals = to_lsoa21(extract.by_code_total[["code", "count", "records"]], pack, codes)
    by_lsoa = (
        totals.groupby("lsoa21_code")["count"]
        .sum()
        .reindex(codes, fill_value=0.0)
        .rename_axis("lsoa21_code")
        .reset_index()
    )
    by_eth = joined if "ethnic_group" in joined.columns else None

    def convert(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return None if frame is None else to_lsoa21(frame, pack, codes)

    by_site = convert(extract.by_site)
    by_age = convert(extract.by_code_age_sex)
    if by_site is not None:
        by_site = by_site[["site", *[c for c in by_site.columns if c != "site"]]]
    synthetic = bool(spec.get("synthetic", False))
    quality["synthetic"] = synthetic
    if synthetic:  # eia's own file (a recorded hash), or synthetic data someone supplied
        made = bool(spec.get("path")) and files.made_by_eia(Path(base_dir) / str(spec["path"]))
        quality["synthetic_source"] = "generated" if made else "supplied"
    name = extract.info.get("source", "")
    return ServiceData(
        label=str(spec.get("label") or (Path(name).stem if spec.get("path") else name)),
        synthetic=synthetic,
        source=name,
        by_lsoa=SERVICE_BY_LSOA.validate(by_lsoa),
        by_lsoa_ethnicity=None if by_eth is None else SERVICE_BY_LSOA_ETHNICITY.validate(by_eth),
        by_lsoa_age_sex=None if by_age is None else SERVICE_BY_LSOA_AGE_SEX.validate(by_age),
        quality=quality,
        columns=dict(columns),
        by_lsoa_ethnic_code=convert(extract.by_code_ethnic_code),
        by_site=by_site,
    )
