"""A population of interest's ages: how the service counts were restricted to them (never by scaling)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from eia.analysis.uptake.period import counting_of
from eia.errors import ServiceDataError
from eia.population import ages as ages_mod
from eia.population.ethnicity import NOT_KNOWN

__all__ = ["restrict_to_ages", "ages_restriction"]


def restrict_to_ages(service, ages: Sequence[int | None] | None):
    """The service data restricted to the population of interest's ages, and what was left out.

    The exact way is to read the extract for those ages
    (:func:`eia.service.load_service` with ``ages``): every record is then kept or
    left out by its own age, and every table and distinct-people count comes from
    the kept records (``quality["ages_applied"]``); this returns such a service
    unchanged. Without ``ages`` or without an age column, the service is returned
    with ``quality["age_form"]`` saying so (``"none"``: all records counted).

    A service aggregated without the ages (hand-made frames) is restricted here
    only when that is exact: events (not distinct people) whose age bands
    (``by_lsoa_age_sex``) lie wholly within ``ages``, with the ethnic counts taken
    from the same frame when it crosses ethnic group with age. Otherwise it raises
    :class:`ServiceDataError`: counts are never scaled to an age range.
    """
    quality = dict(service.quality)
    if ages is None or quality.get("ages_applied"):
        return service
    age = getattr(service, "by_lsoa_age_sex", None)
    if age is None or "age_band" not in age.columns:
        quality["age_form"] = "none"
        quality["ages"] = list(ages)
        return _changed(service, quality=quality)
    if counting_of(service) == "people":
        raise ServiceDataError(
            "distinct people of a population's ages must be counted from the records: read the "
            "extract with those ages (eia.service.load_service(..., ages=...))"
        )
    eth = getattr(service, "by_lsoa_ethnicity", None)
    crossed = "ethnic_group" in age.columns
    if eth is not None and not crossed:
        raise ServiceDataError(
            "ethnic group counts of a population's ages must come from the records: read the "
            "extract with those ages (eia.service.load_service(..., ages=...))"
        )
    known = age["age_band"] != NOT_KNOWN
    inside = known & age["age_band"].map(lambda b: b != NOT_KNOWN and ages_mod.band_within(b, ages))
    kept_rows = age[inside]
    kept = kept_rows.groupby("lsoa21_code")["count"].sum()
    codes = service.by_lsoa["lsoa21_code"]
    by_lsoa = pd.DataFrame(
        {"lsoa21_code": codes.to_numpy(), "count": codes.map(kept).fillna(0.0).to_numpy()}
    )
    bands = sorted(
        {ages_mod._band_range(b) for b in age.loc[known, "age_band"]}, key=lambda r: r[0]
    )
    quality["count_outside_ages"] = float(age.loc[known & ~inside, "count"].sum())
    quality["count_age_unknown"] = float(age.loc[~known, "count"].sum())
    quality["count_in_area_all_ages"] = float(service.by_lsoa["count"].sum())
    quality["count_in_area"] = float(by_lsoa["count"].sum())
    quality["ages_applied"] = True
    quality["ages"] = list(ages)
    quality["age_form"] = "bands"
    quality["ages_effective"] = list(ages_mod.effective_ages(ages, bands))
    if eth is not None:
        eth = kept_rows.groupby(["lsoa21_code", "ethnic_group"], as_index=False)["count"].sum()
    changes = {
        "by_lsoa": by_lsoa,
        "by_lsoa_ethnicity": eth,
        "by_lsoa_age_sex": kept_rows,
        "quality": quality,
    }
    return _changed(service, **changes)


def _changed(service, **changes):
    return replace(service, **changes) if _is_dataclass(service) else _patched(service, **changes)


def ages_restriction(quality: Mapping) -> dict | None:
    """How records were restricted to a population's ages (None without one).

    ``declared``: the population's ages; ``covered``: the ages the kept records
    and their residents cover (the declared ones for single years of age; for
    age bands from the first kept band's start to the last one's end); ``form``:
    ``single`` (each record by its own year of age), ``bands`` (by the extract's
    bands), ``unknown`` (no record has a known age) or ``none`` (no age column:
    every record counted).
    """
    if quality.get("ages") is None:
        return None
    declared = list(quality["ages"])
    return {
        "declared": declared,
        "covered": list(quality.get("ages_effective") or declared),
        "form": quality.get("age_form", "none"),
    }


def _is_dataclass(obj) -> bool:
    import dataclasses

    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def _patched(obj, **changes):
    from types import SimpleNamespace

    return SimpleNamespace(**{**vars(obj), **changes})
