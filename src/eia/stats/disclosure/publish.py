"""What may be published: one allow-list per table, one gate.

**Only what is declared is published.** :data:`PUBLISHED` holds one
:class:`Publishable` per table eia publishes from service data, naming every
column it may hold as a key, a count, a value derived from the counts, or a
public figure. Every such table passes through :func:`publishable` before the
report or ``metrics.json`` shows it: a column not declared stops the run (a
bug, :class:`UnpublishableError`), and the derived columns of a withheld count
are withheld with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eia.errors import DisclosureError
from eia.stats.disclosure.policy import (
    DEFAULT_MIN_COUNT,
    REASON,
    _check_min_count,
    _isnan,
    is_small,
    label,
)

__all__ = [
    "PUBLISHED",
    "Publishable",
    "UnpublishableError",
    "display",
    "publishable",
    "published_record",
    "require_published",
]


class UnpublishableError(RuntimeError):
    """A table about to be published breaks its allow-list or the policy.

    A bug in eia, never a user's mistake: a column no :class:`Publishable`
    declares, or a count of 1 to ``min_count - 1`` that the suppression missed.
    The run fails rather than publish it.
    """


@dataclass(frozen=True)
class Publishable:
    """Every column one published table may hold, by what it is.

    * ``keys``: what a row is about — group names, codes, levels, flags;
      published as they are.
    * ``counts``: counts from service data; withheld (None) when their row is
      withheld, and never published between 1 and ``min_count - 1``.
    * ``derived``: computed from the row's counts — per-year counts, rates,
      intervals, ratios, representation, shares; withheld with them.
    * ``public``: from public reference data (Census residents); published as
      they are.

    Plus :data:`REASON` (``suppressed``), why the row is withheld. A column not
    declared here cannot be published: :func:`publishable` refuses the table.
    """

    name: str
    keys: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    public: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        kinds = (self.keys, self.counts, self.derived, self.public)
        seen = [c for kind in kinds for c in kind]
        twice = sorted({c for c in seen if seen.count(c) > 1})
        if twice or REASON in seen:
            raise UnpublishableError(f"{self.name}: {', '.join(twice) or REASON} declared twice")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the table may hold, ``suppressed`` included."""
        return (*self.keys, *self.counts, *self.derived, *self.public, REASON)

    def kind(self, column: str) -> str:
        """``"key"``, ``"count"``, ``"derived"``, ``"public"`` or ``"reason"``."""
        for kind, columns in (
            ("key", self.keys),
            ("count", self.counts),
            ("derived", self.derived),
            ("public", self.public),
            ("reason", (REASON,)),
        ):
            if column in columns:
                return kind
        raise UnpublishableError(f"{self.name}: column {column!r} is not declared")


def publishable(
    frame: pd.DataFrame,
    spec: Publishable,
    reasons: Sequence[str | None] | None = None,
    *,
    min_count: int = DEFAULT_MIN_COUNT,
) -> pd.DataFrame:
    """The one gate every table of service data passes before the report or metrics.json shows it.

    ``reasons`` says, row by row, why the row's counts are withheld (None:
    published), as decided by the suppression engines (:func:`protect`,
    :func:`eia.analysis.ethnicity_deprivation.protect_cells`, ...); without it, the frame's own
    ``suppressed`` column, if any. The gate

    1. refuses (:class:`UnpublishableError`) a frame holding any column ``spec``
       does not declare, so a new column cannot slip out unclassified;
    2. withholds (None) every count and every derived column of a withheld row;
    3. refuses a published count of 1 to ``min_count - 1`` (the engines' job,
       checked once more here).

    Returns a copy: counts and derived columns as objects (None where withheld
    or missing), and ``suppressed`` holding the reasons when any were given.
    """
    undeclared = [str(c) for c in frame.columns if c not in spec.columns]
    if undeclared:
        raise UnpublishableError(
            f"{spec.name}: column(s) {', '.join(undeclared)} not declared in its allow-list "
            "(eia.stats.disclosure.PUBLISHED): declare each as a key, count, derived or public column"
        )
    min_count = _check_min_count(min_count)
    out = frame.copy()
    given = reasons is not None or REASON in out.columns
    if reasons is None:
        reasons = out[REASON].tolist() if REASON in out.columns else [None] * len(out)
    reasons = [None if r is None or _isnan(r) else r for r in reasons]
    if len(reasons) != len(out):
        raise UnpublishableError(f"{spec.name}: {len(reasons)} reasons for {len(out)} rows")
    withheld = np.array([r is not None for r in reasons], dtype=bool)
    for column in (*spec.counts, *spec.derived):
        if column in out.columns:
            values = out[column].astype(object).to_numpy(copy=True)
            values[withheld | pd.isna(values)] = None
            out[column] = pd.Series(values, index=out.index, dtype=object)
    if given:
        out[REASON] = pd.Series(reasons, index=out.index, dtype=object)
    for column in spec.counts:
        if column in out.columns and any(is_small(v, min_count) for v in out[column]):
            raise UnpublishableError(
                f"{spec.name}: a published {column} lies between 1 and {min_count - 1}"
            )
    return out


def require_published(
    frame: pd.DataFrame,
    shown_by: str,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
) -> pd.DataFrame:
    """``frame`` unchanged if it has passed :func:`publishable`, else :class:`eia.errors.DisclosureError`.

    For presentation functions an analyst may hand a frame of their own: the frame must
    carry the ``suppressed`` column the gate adds and no ``count`` of 1 to
    ``min_count - 1``, so a table from before disclosure control
    (``a.uptake.result.by_imd_quintile``) is refused rather than shown.
    """
    small = count in frame.columns and any(is_small(v, min_count) for v in frame[count])
    if REASON not in frame.columns or small:
        raise DisclosureError(
            f"{shown_by} shows disclosure-controlled tables only: pass a published table such "
            'as a.uptake.result.table("by_imd_quintile"), not a.uptake.result.by_imd_quintile (before '
            "suppression)"
        )
    return frame


def published_record(record: Mapping, spec: Publishable, *, min_count: int = DEFAULT_MIN_COUNT):
    """A single published record (e.g. metrics.json's ``data_quality``) checked like a table.

    Every key must be declared in ``spec`` and no count may lie between 1 and
    ``min_count - 1`` (:class:`UnpublishableError` otherwise); the record is
    returned unchanged.
    """
    frame = pd.DataFrame(
        [{k: None if isinstance(v, (list, dict)) else v for k, v in record.items()}]
    )
    publishable(frame, spec, min_count=min_count)
    return record


_RATES = (
    "count_per_year",
    "rate",
    "lower",
    "upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "representation",
)
_DSR = ("dsr", "dsr_lower", "dsr_upper")
_ADJUSTED = ("adjusted_count", "adjusted_rate", "adjusted_lower", "adjusted_upper")

#: What eia may publish from service data: every table, every column, by what it is.
#: Names are where the table appears in metrics.json (``uptake.by_imd_quintile`` is
#: ``metrics["uptake"]["by_imd_quintile"]``) or, for tables only in the report, its section.
PUBLISHED: dict[str, Publishable] = {
    spec.name: spec
    for spec in (
        Publishable(
            "uptake.by_imd_quintile",
            keys=("group", "imd_quintile"),
            counts=("count",),
            derived=(*_RATES, *_DSR),
            public=("population",),
        ),
        Publishable(
            "uptake.by_imd_decile",
            keys=("group", "imd_decile"),
            counts=("count",),
            derived=(*_RATES, *_DSR),
            public=("population",),
        ),
        Publishable(
            "uptake.by_core20",
            keys=("group", "core20"),
            counts=("count",),
            derived=(*_RATES, *_DSR),
            public=("population",),
        ),
        Publishable(
            "uptake.by_ethnic_group",
            keys=("group", "in_rates"),
            counts=("count",),
            derived=(*_RATES, *_DSR, *_ADJUSTED),
            public=("population",),
        ),
        Publishable(
            "uptake.ethnicity_completeness",
            keys=("group", "imd_quintile"),
            derived=("completeness",),
        ),
        Publishable(
            "uptake.by_ethnic_group_imd_quintile",
            keys=("ethnic_group", "imd_quintile", "quintile"),
            counts=("count",),
            derived=("rate", "lower", "upper"),
            public=("population",),
        ),
        Publishable(
            "uptake.by_ethnic_code",
            keys=("code", "label", "broad_group"),
            counts=("count",),
            derived=("share", "rate", "lower", "upper", "representation"),
            public=("population",),
        ),
        Publishable(
            "data_quality",
            keys=(
                *("source", "format", "encoding", "engine", "table", "query_sha256", "synthetic"),
                *("counting", "date_first", "date_last", "period_start", "period_end"),
                *("unmatched_examples", "ethnicity_unrecognised"),
            ),
            counts=(
                *("records_read", "count_read", "count_in_area", "count_converted_from_2011"),
                *("count_outside_area", "count_unmatched", "count_welsh", "count_matched_by_name"),
                *("count_outside_ages", "count_age_unknown"),
            ),
            derived=("ethnicity_not_stated_share", "ethnicity_not_known_share"),
        ),
        Publishable("site_users.sites", keys=("site",), counts=("users",)),
        Publishable(
            "site_users.profiles",
            keys=("site", "dimension", "group"),
            counts=("users",),
            derived=("share",),
        ),
        Publishable(
            "uptake.map",
            keys=("lsoa21_code", "map_class"),
            derived=("rate",),
        ),
    )
}


def display(
    table: pd.DataFrame,
    min_count: int = DEFAULT_MIN_COUNT,
    *,
    count: str = "count",
    decimals: int = 1,
    spec: Publishable | None = None,
) -> pd.DataFrame:
    """A suppressed one-way table (from :func:`suppress`) with counts as report strings.

    The count column reads ``"<5"``, ``"*"`` or the number; withheld derived
    values (``spec``'s derived columns; without it, any withheld value) read "–" (an en dash).
    The ``suppressed`` column is dropped.
    """
    out = table.copy()
    reasons = out[REASON].tolist() if REASON in out else [None] * len(out)
    out[count] = [
        label(v, r, min_count, decimals) for v, r in zip(out[count], reasons, strict=True)
    ]
    derived = spec.derived if spec else [c for c in out.columns if c not in (count, REASON)]
    for column in derived:
        if column in out.columns:
            out[column] = [
                "–" if r is not None and (v is None or _isnan(v)) else v
                for v, r in zip(out[column], reasons, strict=True)
            ]
    return out.drop(columns=[REASON], errors="ignore")
