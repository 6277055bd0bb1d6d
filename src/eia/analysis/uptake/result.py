"""The uptake result: :class:`Uptake` (as computed) and :class:`Published` (what may be shown)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from eia.analysis.uptake.gaps import MATERIAL_BAND
from eia.analysis.uptake.rates import PER
from eia.stats import disclosure

__all__ = ["Published", "Uptake"]


@dataclass(frozen=True, repr=False)
class Published:
    """What an :class:`Uptake` publishes, disclosure control applied.

    The tables are the frames the report shows and ``metrics.json`` writes, each
    passed through :func:`eia.stats.disclosure.publishable` with its allow-list
    (:data:`eia.stats.disclosure.PUBLISHED`, ``uptake.<name>``): :data:`COLUMNS` plus the
    age-standardised rates when there are any, ``suppressed`` (why a row's count is
    withheld), and for ethnic groups ``in_rates`` and the reallocated (adjusted)
    figures. ``reasons`` is :func:`eia.analysis.uptake.protect.protect_tables`' ``{entry: reason}`` across all of
    them; ``notes`` the codes the report words its notes from (``counting``: ``"events"`` or
    ``"people"``; ``period``: how it was set, ``"params"``, ``"extract dates"`` or ``"assumed"``;
    ``standardised``, ``ethnic_standardised``, ``ethnic_by_age_supplied``: booleans; the
    words are ``report/prose/uptake.j2``); ``uptake`` and ``data_quality`` are metrics.json's
    blocks.
    """

    by_imd_quintile: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_core20: pd.DataFrame
    by_ethnic_group: pd.DataFrame | None
    ethnicity_completeness: pd.DataFrame | None
    reasons: Mapping[Any, str]
    notes: Mapping[str, Any]
    uptake: dict
    data_quality: dict
    #: Every count the tables publish, their relations and the withheld ones, for tables
    #: linked later (per-site tables) to be protected against them.
    linked: disclosure.Linked | None = None

    #: The published tables, by name.
    TABLES: ClassVar[tuple[str, ...]] = (
        "by_imd_quintile",
        "by_imd_decile",
        "by_core20",
        "by_ethnic_group",
        "ethnicity_completeness",
    )

    @property
    def tables(self) -> dict[str, pd.DataFrame | None]:
        """``{name: published frame}`` (None: no ethnicity in the extract)."""
        return {name: getattr(self, name) for name in self.TABLES}

    def __repr__(self) -> str:
        return f"Published({', '.join(n for n, t in self.tables.items() if t is not None)})"


@dataclass(repr=False)
class Uptake:
    """Uptake tables, their published (suppressed) forms and the data-quality summary.

    The frames ``by_*`` are as computed, before disclosure control (for analysis in
    the kernel, never shown); ``published`` (:class:`Published`) is what may be shown.
    """

    label: str
    synthetic: bool
    min_count: int
    reference_ethnic_group: str
    by_imd_quintile: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_ethnic_group: pd.DataFrame | None
    sii: dict
    quality: dict
    published: Published | None = None
    by_core20: pd.DataFrame | None = None
    completeness: pd.DataFrame | None = None
    counting: str = "events"
    period: dict = field(default_factory=lambda: {"years": 1.0, "source": "assumed"})
    per: float = PER
    population: str = "residents"
    unit: str = "per 1,000 residents per year"
    higher_use_is: str = "better"
    material_band: tuple[float, float] = MATERIAL_BAND
    standardised: bool = False
    #: Completeness warnings: codes with the published shares they quote
    #: (:func:`eia.analysis.uptake.completeness_warnings`).
    warnings: list[dict] = field(default_factory=list)
    #: The whole area's age-standardised rate (``dsr``, limits, ``dsr_count``), the base of
    #: age-standardised representation; None without DSRs or when the area's count is withheld.
    dsr_area: dict | None = None

    def __repr__(self) -> str:
        return (
            f"Uptake({self.label!r}{' (synthetic)' if self.synthetic else ''}: {self.counting} "
            f"{self.unit}, disclosure min_count={self.min_count})"
        )

    def metrics(self) -> dict:
        """``{"uptake": ..., "data_quality": ...}`` for metrics.json, suppression applied."""
        return {"uptake": self.published.uptake, "data_quality": self.published.data_quality}

    def table(self, name: str) -> pd.DataFrame | None:
        """A published (disclosure-controlled) table: ``by_imd_quintile``, ``by_imd_decile``,
        ``by_core20``, ``by_ethnic_group`` or ``ethnicity_completeness`` (the last two None
        without ethnicity). Columns as :data:`COLUMNS`, plus ``suppressed`` (why a count is
        withheld) and, for ethnic groups, ``in_rates``; see :class:`Published`."""
        tables = self.published.tables
        if name not in tables:
            raise KeyError(f"no uptake table {name!r}; expected one of {', '.join(tables)}")
        return tables[name]

    @property
    def published_quality(self) -> dict:
        """The data-quality summary as published (withheld counts are None)."""
        return self.published.data_quality
