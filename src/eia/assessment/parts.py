"""The parts of an assessment: one typed, read-only piece per step of the pipeline.

:func:`eia.assessment.assess` builds an :class:`Assessment` from these parts. A part
that does not apply to a proposal is ``None`` — a service change has no
:attr:`Assessment.access`, a proposal without journey-time matrices no
:attr:`Assessment.travel`, one without a service extract no :attr:`Assessment.uptake`
— so templates and report sections test ``if a.access:`` rather than the template's
name. Parts are frozen dataclasses: their fields are not reassigned once built (the
frames they hold are shared, so treat them as read-only too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd

from eia import findings as findings_mod
from eia.analysis import appraisal as appraisal_mod
from eia.analysis import guards
from eia.analysis import impact as impact_mod
from eia.analysis.frontier import Frontier
from eia.analysis.traveltime import Matrix
from eia.analysis.uptake import Uptake
from eia.params import Proposal
from eia.params.kinds import KINDS, Kind
from eia.population.area import area_outline
from eia.population.places import towns
from eia.refdata import Pack
from eia.service.load import ServiceData

__all__ = [
    "Access",
    "Area",
    "Assessment",
    "EthnicityDeprivation",
    "Ratings",
    "ServiceUptake",
    "Travel",
]


@dataclass(frozen=True)
class Area:
    """The area assessed: its LSOAs and the people in each group.

    ``lsoas`` has one row per LSOA (:func:`eia.population.area.build_area`: code,
    geometry, IMD decile and quintile, Core20, ``population`` — residents of the
    proposal's ages when it names a population, with ``population_all_ages`` beside).
    ``weights`` maps each dimension (``imd_quintile``, ``core20``, ``ethnic_group``
    and any extra groups) to residents per LSOA × group
    (:func:`eia.analysis.access.group_weights`). ``proficiency`` is proficiency in
    English per LSOA (:func:`eia.population.proficiency.by_lsoa`).
    """

    lsoas: gpd.GeoDataFrame
    weights: dict[str, pd.DataFrame]
    proficiency: pd.DataFrame | None
    pack: Pack = field(repr=False, compare=False)

    @cached_property
    def outline(self) -> gpd.GeoDataFrame:
        """The local authority outlines the maps draw (:func:`eia.population.area.area_outline`), made once."""
        return area_outline(self.lsoas)

    @cached_property
    def places(self) -> pd.DataFrame:
        """The area's towns for the maps to name (:func:`eia.population.places.towns`), made once."""
        return towns(self.pack, self.lsoas)


@dataclass(frozen=True)
class Access:
    """Sites and straight-line distances, per scenario (present when the proposal moves sites).

    ``current`` is today's sites; ``proposed`` maps each scenario (``Proposed`` or
    each option's name, in the params file's order) to its sites
    (:func:`eia.analysis.access.resolve_sites`); ``distances`` maps each scenario to
    the per-LSOA distances before and after (:func:`eia.analysis.access.measure`);
    ``summaries`` maps scenario → dimension → the group summary in km
    (:func:`eia.analysis.access.summarise`).
    """

    current: gpd.GeoDataFrame
    proposed: dict[str, gpd.GeoDataFrame]
    distances: dict[str, pd.DataFrame]
    summaries: dict[str, dict[str, pd.DataFrame]]


@dataclass(frozen=True)
class Travel:
    """Journey times per travel mode (present when the proposal gives journey-time matrices).

    Every mapping is keyed by mode, the lead mode (the one the judgement rests on)
    first: ``matrices`` (:class:`eia.analysis.traveltime.Matrix`), ``times`` (scenario →
    per-LSOA minutes, :func:`eia.analysis.traveltime.measure`), ``summaries``
    (scenario → dimension → group summary in minutes,
    :func:`eia.analysis.traveltime.summarise`), ``appraisals`` (the options appraisal
    in that mode's minutes) and ``unreachable_as`` (the minutes an unreachable journey
    counts as in person-minutes).
    """

    matrices: dict[str, Matrix]
    times: dict[str, dict[str, pd.DataFrame]]
    summaries: dict[str, dict[str, dict[str, pd.DataFrame]]]
    appraisals: dict[str, appraisal_mod.Appraisal]
    unreachable_as: dict[str, float]

    @property
    def lead_mode(self) -> str:
        """The travel mode the judgement rests on (the first matrix given)."""
        return next(iter(self.matrices))


@dataclass(frozen=True)
class Ratings:
    """The impact ratings: one row per option × dimension × group.

    ``impacts`` holds ``option, dimension, group, rating, rating_note,
    disproportionate`` and the figures behind them (access burdens, declared effects, or
    an equity audit's representation), numbers and codes; empty when nothing is rated. ``not_assessed``
    lists the groups a service change declares no effect for (``option, dimension,
    group``; :func:`eia.analysis.impact.assessed_effects`), not among ``impacts``.
    """

    impacts: pd.DataFrame = field(default_factory=pd.DataFrame)
    not_assessed: pd.DataFrame = field(default_factory=pd.DataFrame)

    def of(self, option: str | None) -> pd.DataFrame:
        """The rating rows of one option (all of ``impacts`` when it is empty)."""
        if not len(self.impacts):
            return self.impacts
        return self.impacts[self.impacts["option"] == option]


@dataclass(frozen=True)
class ServiceUptake:
    """The service extract and who uses the service (present when the proposal has ``service:``).

    ``service`` is the extract aggregated by LSOA (:func:`eia.service.load.load_service`,
    restricted to the population's ages); ``result`` the uptake tables and their
    published forms (:func:`eia.analysis.uptake.compute`); ``representation`` maps
    ``imd_quintile``, ``core20`` and ``ethnic_group`` to representation with
    intervals and gap flags (:func:`eia.assessment.representation_tables`);
    ``ethnic_codes`` the published table by NHS ethnic code
    (:func:`eia.analysis.ethnic_codes.published`, None without codes); ``notes``
    what reading the extract found (each ``ServiceDataWarning``'s code and figures,
    :meth:`eia.service.columns.ServiceDataWarning.as_dict`; worded by the report).
    """

    service: ServiceData
    result: Uptake
    representation: dict[str, pd.DataFrame]
    ethnic_codes: pd.DataFrame | None = None
    notes: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class EthnicityDeprivation:
    """Ethnicity × deprivation tables (:mod:`eia.analysis.ethnicity_deprivation`).

    ``area`` (residents by ethnic group × IMD quintile) and ``core20`` (× Core20)
    always; ``access`` and ``burden`` (the named option's distances by ethnic group ×
    Core20) when sites move; ``uptake`` (service use by ethnic group × IMD quintile)
    with a service extract.
    """

    area: pd.DataFrame
    core20: pd.DataFrame
    access: pd.DataFrame | None = None
    burden: pd.DataFrame | None = None
    uptake: pd.DataFrame | None = None


@dataclass
class Assessment:
    """The computed assessment of one proposal, in parts (:mod:`eia.assessment.parts`).

    Always present: :attr:`area`, :attr:`rated`, :attr:`ethnicity_deprivation`,
    :attr:`warnings` and (once :func:`eia.assessment.assess` returns) :attr:`findings`.
    ``None`` when they do not apply: :attr:`access` and :attr:`appraisal` (no sites
    move), :attr:`travel` (no journey-time matrices), :attr:`uptake` (no service
    extract), :attr:`frontier` (no ``explore:`` block).
    """

    proposal: Proposal
    pack: Pack
    area: Area
    #: Ethnicity × deprivation tables.
    ethnicity_deprivation: EthnicityDeprivation
    params_file: Path | None = None
    #: Sites, distances and access summaries per scenario; None when no sites move.
    access: Access | None = None
    #: Journey times per mode; None without journey-time matrices.
    travel: Travel | None = None
    #: The options appraisal the judgement rests on (of the lead mode with journey times).
    appraisal: appraisal_mod.Appraisal | None = None
    #: The impact ratings and the groups not assessed.
    rated: Ratings = field(default_factory=Ratings)
    #: The service extract, uptake and representation; None without ``service:``.
    uptake: ServiceUptake | None = None
    #: The equity frontier of site sets (:mod:`eia.analysis.frontier`), with ``explore:``.
    frontier: Frontier | None = None
    #: The input guards' warnings (:mod:`eia.analysis.guards`).
    warnings: list[guards.Warning] = field(default_factory=list)
    #: Every judgement the report states, computed once at the end of
    #: :func:`eia.assessment.assess` (:func:`eia.findings.build`).
    findings: findings_mod.Findings | None = None

    @property
    def kind(self) -> Kind:
        """The proposal's template kind (:data:`eia.params.kinds.KINDS`): what it needs and rates."""
        return KINDS[self.proposal.template]

    @property
    def scenarios(self) -> list[str]:
        """The scenarios' names (``Proposed`` or the options, in order); [] when no sites move."""
        return list(self.access.proposed) if self.access else []

    @property
    def primary(self) -> str | None:
        """The scenario the summary names and the report's detail describes: with two or more
        options, the least adverse (rank 1 of :attr:`appraisal`; of tied options, the first in
        rank order); else ``Proposed`` or the only option. None when no sites move."""
        if self.findings is not None:
            named = self.findings.named_option
            return named if named in self.scenarios else None
        return findings_mod.choose(self.appraisal, self.scenarios)

    @property
    def primary_compared(self) -> tuple[int, bool] | None:
        """How :attr:`primary` was chosen, for captions (``eia.report.wording.primary_reason``
        words it): ``(options compared, tied for the least adverse)``; None without options
        to compare."""
        if self.appraisal is None or not self.appraisal.compared or not self.primary:
            return None
        return len(self.appraisal.options), len(self.appraisal.best) > 1

    @property
    def rated_option(self) -> str | None:
        """The option whose ratings the summary shows: :attr:`primary`, else the first rated."""
        if self.findings is not None:
            return self.findings.named_option
        if self.primary:
            return self.primary
        impacts = self.rated.impacts
        return str(impacts["option"].iloc[0]) if len(impacts) else None

    def ratings(self, option: str | None = None) -> pd.DataFrame:
        """The rating rows of one option (default :attr:`rated_option`): one row per group with
        ``dimension, group, rating, rating_note, disproportionate`` and the figures behind them,
        numbers and codes (part of the public API; :meth:`Ratings.of` on :attr:`rated`;
        :mod:`eia.report.ratings` words them)."""
        return self.rated.of(option or self.rated_option)

    @property
    def lead_mode(self) -> str | None:
        """The travel mode the judgement rests on (journey-time matrices given), else None."""
        return self.travel.lead_mode if self.travel else None

    @property
    def unit(self) -> str:
        """The judgement's unit: ``min`` (journey times of the lead mode) or ``km`` (distance)."""
        return "min" if self.travel else "km"

    @property
    def rules(self) -> impact_mod.Rules:
        """The access rules the ratings and the options appraisal use, in :attr:`unit`."""
        t = self.proposal.thresholds
        if self.lead_mode:
            return impact_mod.Rules.from_thresholds(t.for_mode(self.lead_mode), "min")
        return impact_mod.Rules.from_thresholds(t, "km")

    @property
    def threshold_km(self) -> float:
        """The distance beyond which people are counted as far from a site."""
        return self.proposal.thresholds.distance_km
