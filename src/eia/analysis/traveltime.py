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
from collections.abc import Sequence

import numpy as np
import pandas as pd

# Reading matrices and generating synthetic ones live in their own modules; they are part of
# this module's documented API (``traveltime.read_matrix``, ``traveltime.synthetic_matrix``).
from eia.analysis.matrices import (
    MODE_LABELS,
    Matrix,
    read_matrix,
    site_key,
    sites_of,
)
from eia.analysis.matrix_sources import (
    SPEED_MODEL,
    ensure_synthetic,
    load_matrices,
    origin_points,
    synthetic_matrix,
)
from eia.refdata.schemas import TRAVEL_TIMES

__all__ = [
    "MODE_LABELS",
    "Matrix",
    "SPEED_MODEL",
    "ensure_synthetic",
    "load_matrices",
    "origin_points",
    "read_matrix",
    "site_key",
    "sites_of",
    "synthetic_matrix",
    "nearest",
    "measure",
    "SUMMARY_COLUMNS",
    "summarise",
    "rating_change",
    "unreachable_minutes",
    "burden_values",
]


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
    "pop_reach_both",
    "pop_lose_access",
    "pop_gain_access",
    "pop_reach_neither",
]


def summarise(times: pd.DataFrame, weights: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Population-weighted journey times by group, before and after (one row per group + All people).

    ``times`` is :func:`measure`'s output, ``weights`` LSOA × group (people),
    aligned by ``lsoa21_code``.

    The means ``mean_minutes_before``, ``mean_minutes_after`` and
    ``mean_minutes_change`` are over **the same residents**: those who can reach a
    site both before and after (``pop_reach_both``), so the change is exactly
    after − before. Everyone else is counted, never dropped: ``pop_lose_access``
    (a site before, none after), ``pop_gain_access`` (none before, a site after) and
    ``pop_reach_neither``; ``pop_unreachable_before`` = gain + neither and
    ``pop_unreachable_after`` = lose + neither, and the four groups add up to
    ``population`` (up to the rounding of each to whole people). People who cannot
    reach any site count as beyond the threshold.
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
    mean_before, mean_after = mean(before, both), mean(after, both)

    def people(mask) -> np.ndarray:
        return (mask.astype(float) @ w).round().astype("int64")

    return pd.DataFrame(
        {
            "group": [*weights.columns.astype(str), "All people"],
            "population": population.round().astype("int64"),
            "mean_minutes_before": mean_before,
            "mean_minutes_after": mean_after,
            "mean_minutes_change": mean_after - mean_before,
            "pop_beyond_threshold_before": (beyond_b @ w).round().astype("int64"),
            "pop_beyond_threshold_after": (beyond_a @ w).round().astype("int64"),
            "pop_unreachable_before": ((~reach_b) @ w).round().astype("int64"),
            "pop_unreachable_after": ((~reach_a) @ w).round().astype("int64"),
            "pop_reach_both": people(both),
            "pop_lose_access": people(reach_b & ~reach_a),
            "pop_gain_access": people(~reach_b & reach_a),
            "pop_reach_neither": people(~reach_b & ~reach_a),
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


# ---------------------------------------------------------------------------
