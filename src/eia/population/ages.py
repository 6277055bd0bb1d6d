"""Residents by age: five-year bands, a population of interest, and the standard population.

The reference pack's ``population20_age_lsoa21`` holds ONS mid-2020 small-area
population estimates, persons by single year of age (0 … 89, 90+) per LSOA
2021; it has **no sex split**. The rest of the tool counts residents with the
Census 2021 usual-resident total, so here each LSOA's mid-2020 age structure is
applied to its Census 2021 total: the age-specific populations of an LSOA add up
to its Census 2021 residents, and crude rates, standardised rates and the
population of interest share one base.

* :func:`band_populations` — residents per LSOA in the 19 five-year bands of the
  2013 European Standard Population (:data:`eia.stats.ESP2013_AGE_BANDS`),
  optionally only those within ``ages``;
* :func:`share_in_ages` — each LSOA's share of residents within ``ages`` (the
  population of interest);
* :func:`age_group_populations` — residents of declared age groups and of the other ages
  (a service change's declared age effects);
* :func:`effective_ages` — the ages an extract of age bands can be restricted to;
* :func:`standard_for` — the 2013 European Standard Population for a set of
  bands (bands may merge, e.g. the service extract's "85+").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from eia.stats import ESP2013, ESP2013_AGE_BANDS

#: The top single-year column of the pack (90 and over).
TOP_AGE = 90


def _single_years(frame: pd.DataFrame) -> pd.DataFrame:
    """The pack's age columns as a frame whose columns are the ages 0 … 90 (90 = 90+)."""
    columns = {f"age_{a}": a for a in range(TOP_AGE)} | {"age_90_plus": TOP_AGE}
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"population by age lacks column(s) {', '.join(missing[:3])}")
    return frame[list(columns)].rename(columns=columns).astype("float64")


def band_of(age: int) -> str:
    """The 2013 ESP five-year band of a single year of age (90 and over: "90+")."""
    if age >= TOP_AGE:
        return "90+"
    start = (age // 5) * 5
    return f"{start}-{start + 4}"


def in_ages(age: int, ages: Sequence[int | None] | None) -> bool:
    """Whether a single year of age (90 = 90 and over) lies within ``[min, max]``."""
    if ages is None:
        return True
    low, high = ages
    return age >= low and (high is None or age <= high)


def band_populations(
    by_age: pd.DataFrame,
    codes: Sequence[str],
    *,
    ages: Sequence[int | None] | None = None,
    scale_to: pd.Series | None = None,
) -> pd.DataFrame:
    """Residents per LSOA and ESP 2013 age band (only ages within ``ages`` counted).

    ``by_age`` is :meth:`eia.refdata.Pack.population_by_age`; ``codes`` the
    area's LSOAs (the result follows their order; an LSOA missing from the pack
    gets zeros). ``scale_to`` (Census 2021 residents per LSOA) rescales each
    LSOA's row so that all its ages add up to it. Columns are the bands that hold
    any age within ``ages``, in order; a band partly within ``ages`` counts only
    those ages.
    """
    years = _single_years(by_age.reindex(list(codes)).fillna(0.0))
    if scale_to is not None:
        total = years.sum(axis=1)
        target = scale_to.reindex(years.index).astype("float64")
        factor = np.where(total > 0, target / total.where(total > 0, 1.0), 0.0)
        years = years.mul(factor, axis=0)
    keep = [a for a in years.columns if in_ages(a, ages)]
    bands = pd.Series([band_of(a) for a in keep], index=keep)
    out = years[keep].T.groupby(bands.to_numpy(), sort=False).sum().T
    order = [b for b in ESP2013_AGE_BANDS if b in out.columns]
    out = out[order]
    out.index.name = "lsoa21_code"
    out.columns.name = "age_band"
    return out


def share_in_ages(
    by_age: pd.DataFrame, codes: Sequence[str], ages: Sequence[int | None]
) -> pd.Series:
    """Each LSOA's share of its residents within ``ages`` (mid-2020 age structure)."""
    years = _single_years(by_age.reindex(list(codes)).fillna(0.0))
    total = years.sum(axis=1)
    inside = years[[a for a in years.columns if in_ages(a, ages)]].sum(axis=1)
    share = (inside / total.where(total > 0)).fillna(0.0)
    share.index.name = "lsoa21_code"
    return share.rename("share_in_ages")


def standard_for(bands: Sequence[str]) -> pd.Series:
    """The 2013 European Standard Population summed into ``bands``.

    ``bands`` are ESP bands, or coarser ones whose names span them ("85+" =
    85-89 and 90+; "0-14" = 0-4, 5-9 and 10-14). Returns the standard
    population per band, indexed by ``bands``.
    """
    bands = tuple(bands)
    return pd.Series(dict(zip(bands, _standard(bands), strict=True)), name="standard_population")


@functools.cache
def _standard(bands: tuple[str, ...]) -> tuple[float, ...]:
    """:func:`standard_for`'s values, worked out once per set of bands."""
    esp = dict(zip(ESP2013_AGE_BANDS, ESP2013, strict=True))
    out = []
    for band in bands:
        parts = _parts(band, ESP2013_AGE_BANDS)
        if not parts:
            raise ValueError(f"age band {band!r} is not made of 2013 ESP bands")
        out.append(math.fsum(esp[b] for b in parts))  # whole numbers: exact in any order
    return tuple(out)


@functools.cache
def _band_range(band: str) -> tuple[int, float]:
    text = str(band).strip()
    if text.endswith("+"):
        return int(text[:-1]), float("inf")
    low, high = text.split("-")
    return int(low), float(high)


@functools.cache
def _parts(band: str, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The ``columns`` (age bands) that lie within ``band``."""
    low, high = _band_range(band)
    return tuple(c for c in columns if low <= _band_range(c)[0] and _band_range(c)[1] <= high)


def coarsen(populations: pd.DataFrame, bands: Sequence[str]) -> pd.DataFrame:
    """Sum ESP-band columns into coarser ``bands`` (e.g. 85-89 and 90+ into "85+")."""
    columns = tuple(populations.columns)
    out = {}
    for band in bands:
        parts = list(_parts(band, columns))
        out[band] = populations[parts].sum(axis=1) if parts else 0.0
    return pd.DataFrame(out, index=populations.index)


def band_within(band: str, ages: Sequence[int | None] | None) -> bool:
    """Whether every age of a band lies within ``ages``."""
    if ages is None:
        return True
    low, high = _band_range(band)
    a_low, a_high = ages
    return low >= a_low and (a_high is None or high <= a_high)


def effective_ages(
    ages: Sequence[int | None], bands: Sequence[tuple[float, float | None]]
) -> tuple[int, int | None]:
    """The ages an extract of age **bands** can be restricted to within ``ages``.

    ``bands`` are ``(low, high)`` in whole years (``high`` None, infinite or 130
    and over for an open band such as "85+"). Records are kept when their band lies
    wholly within ``ages``, so the residents they are compared with must cover the
    same ages: from the lowest kept band's start to the highest kept band's end
    (None: no upper limit). Without any kept band, ``ages`` unchanged.
    """
    a_low, a_high = ages

    def top(hi):
        return None if hi is None or hi >= 130 else hi

    kept = [
        (lo, top(hi))
        for lo, hi in bands
        if lo >= a_low and (a_high is None or (top(hi) is not None and top(hi) <= a_high))
    ]
    if not kept:
        return int(a_low), a_high
    low = int(min(lo for lo, _ in kept))
    if a_high is None or any(hi is None for _, hi in kept):
        return low, None
    return low, int(max(hi for _, hi in kept))


#: The age dimension's group of everyone not in a declared age group.
OTHER_AGES = "Other ages"


def age_group_populations(
    by_age: pd.DataFrame,
    codes: Sequence[str],
    groups: Mapping[str, tuple[int, int | None]],
    *,
    scale_to: pd.Series | None = None,
    within: Sequence[int | None] | None = None,
) -> pd.Series:
    """Residents of each age group in the area, and of the other ages (:data:`OTHER_AGES`).

    ``by_age`` is :meth:`eia.refdata.Pack.population_by_age` (single years by LSOA);
    ``groups`` maps a label to ``(min, max)`` years (max None: no limit), groups not
    overlapping; ``scale_to`` (Census 2021 residents per LSOA) rescales each LSOA's
    ages to it, as :func:`band_populations`; ``within`` (a population of interest's
    ages) limits everyone, the other ages included. Returns residents per label,
    :data:`OTHER_AGES` last (0 when the groups cover every age).
    """
    years = _single_years(by_age.reindex(list(codes)).fillna(0.0))
    if scale_to is not None:
        total = years.sum(axis=1)
        target = scale_to.reindex(years.index).astype("float64")
        factor = np.where(total > 0, target / total.where(total > 0, 1.0), 0.0)
        years = years.mul(factor, axis=0)
    per_age = years.sum(axis=0)
    everyone = per_age[[a for a in per_age.index if in_ages(a, within)]]
    out = {
        label: float(everyone[[a for a in everyone.index if in_ages(a, span)]].sum())
        for label, span in groups.items()
    }
    out[OTHER_AGES] = max(float(everyone.sum()) - sum(out.values()), 0.0)
    return pd.Series(out, name="population")
