"""Putting it together: everything one proposal's report shows, computed once.

:func:`assess` runs the library's steps in order — area, group populations,
sites, access per scenario, impact ratings, service uptake — and returns an
:class:`Assessment` holding plain frames. Templates show its parts with
:mod:`eia.report.sections`; :func:`metrics` turns it into ``metrics.json``. Analysts
can call each step themselves (see the functions named in each line below).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from eia import findings as findings_mod
from eia.analysis import access as access_mod
from eia.analysis import appraisal as appraisal_mod
from eia.analysis import ethnic_codes as detailed_mod
from eia.analysis import ethnicity_deprivation as intersect_mod
from eia.analysis import frontier as frontier_mod
from eia.analysis import guards, traveltime
from eia.analysis import impact as impact_mod
from eia.analysis import uptake as uptake_mod
from eia.analysis.traveltime import SUMMARY_COLUMNS
from eia.jsonable import clean, write_json
from eia.params import Proposal, age_range
from eia.population import proficiency as language_mod
from eia.population.ages import age_group_populations, band_populations, share_in_ages
from eia.population.area import QUINTILE_LABELS, area_outline, build_area, group_populations
from eia.population.places import towns
from eia.refdata import Pack, load_pack
from eia.service import load as service_load
from eia.service import synth
from eia.service.columns import ServiceDataWarning


@dataclass
class Assessment:
    """The computed assessment of one proposal (all frames are plain pandas objects)."""

    proposal: Proposal
    pack: Pack
    area: gpd.GeoDataFrame
    weights: dict[str, pd.DataFrame]
    params_file: Path | None = None
    current: gpd.GeoDataFrame | None = None
    proposed: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    distances: dict[str, pd.DataFrame] = field(default_factory=dict)
    access: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    impacts: pd.DataFrame = field(default_factory=pd.DataFrame)
    service: Any = None
    uptake: Any = None
    notes: list[str] = field(default_factory=list)
    representation: dict[str, pd.DataFrame] = field(default_factory=dict)
    appraisal: appraisal_mod.Appraisal | None = None
    travel: dict[str, Any] = field(default_factory=dict)  # mode -> eia.analysis.traveltime.Matrix
    times: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)  # mode -> scenario
    travel_access: dict[str, dict[str, dict[str, pd.DataFrame]]] = field(default_factory=dict)
    mode_appraisals: dict[str, appraisal_mod.Appraisal] = field(default_factory=dict)
    unreachable_as: dict[str, float] = field(default_factory=dict)  # mode -> minutes
    warnings: list[guards.Warning] = field(default_factory=list)
    #: Ethnicity × deprivation tables (eia.analysis.ethnicity_deprivation): area, core20, access, uptake.
    intersect: dict[str, Any] = field(default_factory=dict)
    #: Proficiency in English per LSOA (eia.population.proficiency.by_lsoa: MSOA figures apportioned).
    language: pd.DataFrame | None = None
    #: Every judgement the report states, computed once at the end of :func:`assess`
    #: (:func:`eia.findings.build`).
    findings: findings_mod.Findings | None = None
    #: Groups a service change declares no effect for (``option, dimension, group``): not
    #: assessed, so not among :attr:`impacts` (eia.analysis.impact.assessed_effects).
    not_assessed: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The equity frontier of site sets (eia.analysis.frontier), when the proposal has explore:.
    frontier: Any = None
    _outline: gpd.GeoDataFrame | None = field(default=None, init=False, repr=False, compare=False)
    _places: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    def places(self) -> pd.DataFrame:
        """The area's towns for the maps to name (:func:`eia.population.places.towns`), made once."""
        if self._places is None:
            self._places = towns(self.pack, self.area)
        return self._places

    def outline(self) -> gpd.GeoDataFrame:
        """The local authority outlines the maps draw (:func:`eia.population.area.area_outline`), made once."""
        if self._outline is None:
            self._outline = area_outline(self.area)
        return self._outline

    @property
    def primary(self) -> str | None:
        """The scenario the summary names and the report's detail describes: with two or more
        options, the least adverse (rank 1 of :attr:`appraisal`; of tied options, the first in
        rank order); else ``Proposed`` or the only option. None when no sites move."""
        if self.findings is not None:
            named = self.findings.named_option
            return named if named in self.proposed else None
        return findings_mod.choose(self.appraisal, list(self.proposed))

    @property
    def primary_reason(self) -> str:
        """Why the detail describes :attr:`primary`, for captions: '' without options to compare,
        else e.g. 'the least adverse of the 2 options, named in the summary'."""
        if self.appraisal is None or not self.appraisal.compared or not self.primary:
            return ""
        n = len(self.appraisal.options)
        if len(self.appraisal.best) > 1:
            return f"one of the options tied for the least adverse of {n}, named in the summary"
        return f"the least adverse of the {n} options, named in the summary"

    @property
    def rated_option(self) -> str | None:
        """The option whose ratings the summary shows: :attr:`primary`, else the first rated."""
        if self.findings is not None:
            return self.findings.named_option
        if self.primary:
            return self.primary
        return str(self.impacts["option"].iloc[0]) if len(self.impacts) else None

    def ratings(self, option: str | None = None) -> pd.DataFrame:
        """The rating rows of one option (default :attr:`rated_option`): one row per group with
        ``dimension, group, rating, rating_note, disproportionate`` and the figures behind them
        (numbers and codes; :mod:`eia.report.ratings` words them)."""
        option = option or self.rated_option
        if not len(self.impacts):
            return self.impacts
        return self.impacts[self.impacts["option"] == option]

    @property
    def lead_mode(self) -> str | None:
        """The travel mode the judgement rests on (journey-time matrices given), else None."""
        return next(iter(self.travel), None)

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


def assess(
    proposal: Proposal, params_file: Path | str | None = None, pack: Pack | None = None
) -> Assessment:
    """Compute every part of a proposal's assessment (see the module docstring)."""
    pack = pack or load_pack()
    area = build_area(pack, proposal.area.spec)  # eia.population.area.build_area
    codes = list(area["lsoa21_code"])
    ethnic = group_populations(pack, codes, "ethnic_group")
    share = None
    if proposal.population is not None:  # residents of the population's ages only
        share = population_share(pack, codes, proposal.population.ages)
        area["population_all_ages"] = area["population"]
        area["population"] = area["population"] * share.to_numpy()
        ethnic = ethnic.mul(share.reindex(ethnic.index).fillna(0.0), axis=0)
    weights = access_mod.group_weights(area, ethnic)
    for extra in proposal.groups:
        extra_pop = group_populations(pack, codes, extra)
        if share is not None:
            extra_pop = extra_pop.mul(share.reindex(extra_pop.index).fillna(0.0), axis=0)
        weights[extra] = extra_pop
    result = Assessment(proposal, pack, area, weights, Path(params_file) if params_file else None)
    result.intersect = {
        "area": intersect_mod.area_table(area, ethnic),
        "core20": intersect_mod.core20_table(area, ethnic),
    }
    result.language = language_mod.by_lsoa(pack, codes)

    if proposal.sites is not None:
        result.current = access_mod.resolve_sites(pack, proposal.sites.current, codes)
        t = proposal.thresholds
        values = {}
        for name, sites in proposal.scenarios().items():
            proposed = access_mod.resolve_sites(pack, sites, codes)
            distances = access_mod.measure(area, result.current, proposed)
            distances.attrs["scenario"] = name  # tables made from it say which option they show
            result.proposed[name] = proposed
            result.distances[name] = distances
            result.access[name] = {
                dim: access_mod.summarise(distances, w, t.distance_km) for dim, w in weights.items()
            }
            codes_index = distances["lsoa21_code"].to_numpy()
            values[name] = (
                pd.Series(distances["km_before"].to_numpy(), index=codes_index),
                pd.Series(distances["km_after"].to_numpy(), index=codes_index),
            )
        population = area.set_index("lsoa21_code")["population"]
        if proposal.access.travel_times:
            base = Path(params_file).resolve().parent if params_file else Path.cwd()
            _add_travel_times(result, base, population)
        else:
            result.appraisal = appraisal_mod.appraise(
                values, weights, t, unit="km", population=population
            )
        result.impacts = result.appraisal.burden.copy()
        if proposal.explore is not None:
            result.frontier = frontier_mod.from_assessment(result)
        result.warnings += guards.check_assessment(result)
        if result.primary:
            result.intersect["access"] = intersect_mod.access_table(
                result.distances[result.primary], area, ethnic, t.distance_km
            )
            result.intersect["burden"] = intersect_mod.burden_table(
                result.distances[result.primary], area, ethnic, t, option=result.primary
            )

    if proposal.effects:
        pops = {dim: w.sum(axis=0) for dim, w in weights.items()}
        effects = [e.model_dump() for e in proposal.effects]
        for e in effects:
            if e["dimension"] == "imd_quintile" and str(e["group"]).isdigit():
                e["group"] = QUINTILE_LABELS[int(e["group"])]
        effects += core20_effects(effects, pops["imd_quintile"])
        age_pops = declared_age_populations(proposal, pack, area)
        if age_pops is not None:
            pops["age"] = age_pops
        rated, result.not_assessed = impact_mod.assessed_effects(
            impact_mod.rate_effects(
                effects,
                pops,
                uptake_change_pct=proposal.thresholds.uptake_change_pct,
                disproportionate_ratio=proposal.thresholds.disproportionate_ratio,
                min_people=proposal.thresholds.min_people,
            )
        )
        result.impacts = pd.concat([result.impacts, rated], ignore_index=True)

    if proposal.service is not None:
        base = Path(params_file).resolve().parent if params_file else Path.cwd()
        _add_service(result, base)
    result.findings = build_findings(result)
    return result


def build_findings(a: Assessment) -> findings_mod.Findings:
    """The assessment's findings (:func:`eia.findings.build`) from its computed frames."""
    return findings_mod.build(
        proposal=a.proposal,
        impacts=a.impacts,
        appraisal=a.appraisal,
        scenarios=list(a.proposed),
        rules=a.rules if a.proposal.sites is not None else None,
        warnings=a.warnings,
    )


def declared_age_populations(
    proposal: Proposal, pack: Pack, area: pd.DataFrame
) -> pd.Series | None:
    """Residents of each declared age group and of the other ages (within the population's
    ages), from the pack's single-year ages by LSOA scaled to Census 2021 totals; None without
    age effects or without the pack's ages."""
    groups = {e.group: age_range(e.group) for e in proposal.effects if e.dimension == "age"}
    if not groups or not pack.has("population20_age_lsoa21.parquet"):
        return None
    codes = list(area["lsoa21_code"])
    all_ages = area.get("population_all_ages", area["population"])
    return age_group_populations(
        pack.population_by_age(),
        codes,
        groups,
        scale_to=pd.Series(all_ages.to_numpy(), index=codes),
        within=proposal.population.ages if proposal.population is not None else None,
    )


def population_share(pack: Pack, codes: list[str], ages) -> pd.Series:
    """Each LSOA's share of residents within ``ages`` (:func:`eia.population.ages.share_in_ages`)."""
    return share_in_ages(pack.population_by_age(), codes, ages).reindex(codes).fillna(0.0)


def population_name(proposal: Proposal) -> str:
    """How the report names the population: "residents", or e.g. "residents aged 15 to 44"."""
    return proposal.population.name if proposal.population is not None else "residents"


def _add_travel_times(result: Assessment, base_dir: Path, population: pd.Series) -> None:
    """Journey times per mode (eia.analysis.traveltime); the judgement in minutes of the lead mode."""
    proposal, t = result.proposal, result.proposal.thresholds
    codes = list(result.area["lsoa21_code"])
    result.travel = traveltime.load_matrices(proposal, result.pack, codes, base_dir=base_dir)
    current = list(result.current["name"])
    for mode, matrix in result.travel.items():
        limits = t.for_mode(mode)
        cap = result.unreachable_as[mode] = traveltime.unreachable_minutes(
            matrix, limits.distance_min
        )
        values = {}
        for name, proposed in result.proposed.items():
            times = traveltime.measure(matrix, current, list(proposed["name"]))
            result.times.setdefault(mode, {})[name] = times
            result.travel_access.setdefault(mode, {})[name] = {
                dim: traveltime.summarise(times, w, limits.distance_min)
                for dim, w in result.weights.items()
            }
            values[name] = traveltime.burden_values(times, cap)
        result.mode_appraisals[mode] = appraisal_mod.appraise(
            values, result.weights, limits, unit="min", population=population
        )
    result.appraisal = result.mode_appraisals[result.lead_mode]


def core20_effects(effects: list[dict], quintile_pops: pd.Series) -> list[dict]:
    """Core20 effects implied by declared IMD quintile effects, unless Core20 is declared itself.

    Core20 (deciles 1-2) is quintile 1, so it takes quintile 1's expected change;
    the rest of the area takes the population-weighted mean of quintiles 2-5.
    """
    if any(e["dimension"] == "core20" for e in effects):
        return []
    declared = {
        e["group"]: e["uptake_change_pct"] for e in effects if e["dimension"] == "imd_quintile"
    }
    if not declared:
        return []
    labels = list(QUINTILE_LABELS.values())
    change = pd.Series([declared.get(q, 0.0) for q in labels], index=labels)
    pops = quintile_pops.reindex(labels).fillna(0)
    rest = (
        float((change.iloc[1:] * pops.iloc[1:]).sum() / pops.iloc[1:].sum())
        if pops.iloc[1:].sum()
        else 0.0
    )
    core20, rest_label = access_mod.CORE20_LABELS
    note = "Derived from the declared IMD quintile effects (Core20 is quintile 1)."
    return [
        {
            "dimension": "core20",
            "group": core20,
            "uptake_change_pct": float(change.iloc[0]),
            "rationale": note,
        },
        {
            "dimension": "core20",
            "group": rest_label,
            "uptake_change_pct": round(rest, 6),
            "rationale": note,
        },
    ]


def _add_service(result: Assessment, base_dir: Path) -> None:
    """Read the service extract, compute uptake (eia.analysis.uptake) and rate or flag groups on it."""
    proposal = result.proposal
    if proposal.service.synthetic:  # an example's extract is generated on first use
        synth.ensure(proposal, base_dir, result.pack)
    spec = proposal.service.model_dump()
    # Roles not mapped in the params file are not passed on (service.check_columns knows only
    # the roles it reads).
    spec["columns"] = {k: v for k, v in spec["columns"].items() if v is not None}
    codes = list(result.area["lsoa21_code"])
    ages = proposal.population.ages if proposal.population is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ServiceDataWarning)
        # Records of the population's ages only, each by its own age (a no-op without ages).
        result.service = service_load.load_service(
            spec, result.pack, codes, base_dir=base_dir, ages=ages
        )
    for w in caught:
        if issubclass(w.category, ServiceDataWarning):
            result.notes.append(str(w.message))
        else:  # not ours to keep: passed on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    beyond = uptake_mod.period_beyond_data(spec.get("period"), result.service.quality)
    if beyond is not None:
        result.warnings.append(guards.period_beyond_data(beyond))
    t = proposal.thresholds
    denominators = proposal.denominators
    # Without an age column every record is counted (the service says so).
    result.service = uptake_mod.restrict_to_ages(result.service, ages)
    area, ethnic_weights = result.area, result.weights["ethnic_group"]
    covered = result.service.quality.get("ages_effective")
    if ages is not None and covered is not None and tuple(covered) != tuple(ages):
        # An extract of age bands: residents of the ages its kept bands cover, like the records.
        ages = tuple(covered)
        area, ethnic_weights = _population_for(result, ages)
    age_pops = None
    if result.pack.has("population20_age_lsoa21.parquet"):
        all_ages = area.get("population_all_ages", area["population"])
        age_pops = band_populations(
            result.pack.population_by_age(),
            codes,
            ages=ages,
            scale_to=pd.Series(all_ages.to_numpy(), index=codes),
        )
    result.uptake = uptake_mod.compute(
        result.service,
        area,
        ethnic_weights,
        reference_ethnic_group=spec["reference_ethnic_group"],
        min_count=proposal.disclosure.min_count,
        per=spec.get("rate_per") or uptake_mod.PER,
        period=spec.get("period"),
        age_populations=age_pops,
        ages=ages,
        population=population_name(proposal),
        higher_use_is=proposal.higher_use_is,
        material_band=t.material_band,
        completeness_threshold=t.ethnicity_completeness,
        completeness_gap=t.completeness_gap,
        ethnicity_by_age=uptake_mod.read_ethnicity_by_age(base_dir / denominators.ethnicity_by_age)
        if denominators is not None
        else None,
    )
    tables = result.representation = representation_tables(result.uptake)
    result.intersect["uptake"] = intersect_mod.uptake_table(
        result.service,
        area,
        ethnic_weights,
        result.uptake.published,
        min_count=proposal.disclosure.min_count,
        per=float(getattr(proposal.service, "rate_per", 1000)),
        years=intersect_mod.service_years(proposal.service),
    )

    populations = None
    if result.pack.has(detailed_mod.DETAILED_FILE):
        populations = detailed_mod.census_populations(
            pd.read_parquet(result.pack.path(detailed_mod.DETAILED_FILE)), codes
        )
    result.intersect["detailed"] = detailed_mod.published(
        result.service,
        result.uptake.published.by_ethnic_group,
        proposal.disclosure.min_count,
        populations=populations,
    )
    if proposal.template == "equity_audit":
        audit = uptake_mod.rate_representation(
            tables,
            disproportionate_ratio=t.disproportionate_ratio,
            label=result.service.label,
            band=t.material_band,
            higher_use_is=proposal.higher_use_is,
            population=population_name(proposal),
        )
        result.impacts = pd.concat([result.impacts, audit], ignore_index=True)
    elif len(result.impacts):
        result.impacts = uptake_mod.mark_risk(result.impacts, tables)
        if proposal.effects:
            result.impacts = impact_mod.add_expected_users(result.impacts, tables)


def _population_for(result: Assessment, ages) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The area frame and ethnic group weights of residents of ``ages`` (for uptake rates)."""
    codes = list(result.area["lsoa21_code"])
    share = population_share(result.pack, codes, ages)
    area = result.area.copy()
    all_ages = area.get("population_all_ages", area["population"])
    area["population_all_ages"] = all_ages
    area["population"] = all_ages * share.to_numpy()
    ethnic = group_populations(result.pack, codes, "ethnic_group")
    return area, ethnic.mul(share.reindex(ethnic.index).fillna(0.0), axis=0)


def representation_tables(uptake) -> dict[str, pd.DataFrame]:
    """Representation with intervals and material-gap flags per dimension, from the published tables.

    IMD quintiles and Core20 are rated on age-standardised rates when every group has one
    (:func:`eia.analysis.impact.standardised_representation`; ``basis`` says which). Ethnic
    groups use the counts with not-stated records reallocated (the one stated assumption,
    :data:`eia.analysis.uptake.ETHNICITY_ASSUMPTION`); each frame gains ``gap`` and ``concern`` (:func:`eia.analysis.uptake.gap_flags`).
    """
    published = uptake.published
    quint = published.by_imd_quintile[["group", "count", "population"]]
    counts = pd.to_numeric(quint["count"], errors="coerce").to_numpy()
    pops = pd.to_numeric(quint["population"], errors="coerce").to_numpy()
    core = pd.DataFrame(
        {
            "group": list(access_mod.CORE20_LABELS),
            "count": [counts[0], counts[1:].sum() if np.isfinite(counts[1:]).all() else np.nan],
            "population": [pops[0], pops[1:].sum()],
        }
    )
    area_dsr = getattr(uptake, "dsr_area", None)
    by_core20 = published.by_core20
    for column in ("dsr", "dsr_lower", "dsr_upper"):  # Core20 first, then the rest, as above
        if by_core20 is not None and column in by_core20:
            core[column] = pd.to_numeric(by_core20[column], errors="coerce").to_numpy()
    quint_dsr = published.by_imd_quintile[
        [
            c
            for c in ("group", "count", "population", "dsr", "dsr_lower", "dsr_upper")
            if c in published.by_imd_quintile
        ]
    ]
    out = {
        "imd_quintile": impact_mod.standardised_representation(quint_dsr, area_dsr),
        "core20": impact_mod.standardised_representation(core, area_dsr),
    }
    ethnic = published.by_ethnic_group
    if ethnic is not None:
        stated = ethnic[ethnic["in_rates"].astype(bool)]
        reallocated = stated["adjusted_count"] if "adjusted_count" in stated else stated["count"]
        if reallocated.isna().any():
            reallocated = stated["count"]
        frame = pd.DataFrame(
            {
                "group": stated["group"].to_numpy(),
                "count": pd.to_numeric(reallocated, errors="coerce").round(6).to_numpy(),
                "population": stated["population"].to_numpy(),
            }
        )
        table = impact_mod.standardised_representation(frame, None)
        if not reallocated.equals(stated["count"]):  # widened for the reallocation (methods.md)
            k = uptake_mod.published_inflation(
                stated, per=uptake.per, years=float(uptake.period["years"])
            )
            k = table["group"].map(k).fillna(1.0).to_numpy()
            rep = table["representation"].to_numpy(float)
            low = table["representation_lower"].to_numpy(float)
            table["representation_lower"] = np.maximum(rep - (rep - low) * k, 0.0)
            table["representation_upper"] = rep + (table["representation_upper"] - rep) * k
        out["ethnic_group"] = table
    for table in out.values():
        flags = uptake_mod.gap_flags(
            table["representation"],
            table["representation_lower"],
            table["representation_upper"],
            band=uptake.material_band,
            higher_use_is=uptake.higher_use_is,
        )
        table["gap"] = flags["gap"].to_numpy()
        table["concern"] = flags["concern"].to_numpy()
    return out


# ---------------------------------------------------------------------------
# Area profile


def profile_by_decile(area: pd.DataFrame) -> pd.DataFrame:
    """LSOAs and residents per national IMD 2025 decile (all ten deciles, zeros kept)."""
    grouped = area.groupby("imd_decile").agg(
        lsoas=("lsoa21_code", "size"), population=("population", "sum")
    )
    grouped = grouped.reindex(range(1, 11), fill_value=0)
    grouped["share_lsoas"] = grouped["lsoas"] / grouped["lsoas"].sum()
    grouped["share_population"] = grouped["population"] / grouped["population"].sum()
    return grouped.rename_axis("imd_decile").reset_index()


def profile_by_quintile(area: pd.DataFrame) -> pd.DataFrame:
    """LSOAs and residents per national IMD 2025 quintile."""
    grouped = area.groupby("imd_quintile").agg(
        lsoas=("lsoa21_code", "size"), population=("population", "sum")
    )
    grouped = grouped.reindex(range(1, 6), fill_value=0)
    grouped["share_population"] = grouped["population"] / grouped["population"].sum()
    grouped.insert(0, "group", [QUINTILE_LABELS[q] for q in grouped.index])
    return grouped.reset_index(drop=True)


def ethnic_composition(weights: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Residents per Census 2021 ethnic group and their share of the area."""
    totals = weights["ethnic_group"].sum(axis=0)
    return pd.DataFrame(
        {
            "group": totals.index,
            "population": totals.to_numpy(),
            "share": (totals / totals.sum()).to_numpy(),
        }
    )


# ---------------------------------------------------------------------------
# metrics.json


_clean = clean  # older name


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows (floats rounded to 6 decimals, NaN as null)."""
    return _clean(frame.to_dict(orient="records"))


ACCESS_COLUMNS = [
    "group",
    "population",
    "mean_km_before",
    "mean_km_after",
    "mean_km_change",
    "pop_beyond_threshold_before",
    "pop_beyond_threshold_after",
]


def metrics(a: Assessment) -> dict[str, Any]:
    """The machine-readable results: area, access, impacts, options, uptake, data quality.

    Deterministic for the same inputs; provenance is added by the runner.
    """
    area = a.area
    deciles = profile_by_decile(area)
    out: dict[str, Any] = {
        "id": a.proposal.id,
        "title": a.proposal.title,
        "template": a.proposal.template,
        "named_option": a.rated_option,
        "template_notebook": a.proposal.template_notebook,
        "area": {
            "spec": a.proposal.area.spec,
            "lsoa_count": int(len(area)),
            "population": int(area["population"].sum()),
            "share_lsoas_imd_decile1": float(deciles.loc[0, "share_lsoas"]),
            "share_population_core20": float(
                area.loc[area["core20"], "population"].sum() / area["population"].sum()
            ),
            "by_imd_decile": records(deciles),
            "by_imd_quintile": records(profile_by_quintile(area)),
            "by_ethnic_group": records(ethnic_composition(a.weights)),
        },
    }
    out["area"] |= intersect_metrics(a)
    if a.primary:
        primary = a.access[a.primary]
        out["access"] = {
            "scenario": a.primary,
            "threshold_km": a.threshold_km,
            "method": "straight-line distance from each LSOA's representative point to the nearest site",
            **{f"by_{dim}": records(table[ACCESS_COLUMNS]) for dim, table in primary.items()},
        }
        if len(a.proposed) > 1 or a.proposal.options:
            out["access"]["by_option"] = {
                name: {f"by_{dim}": records(t[ACCESS_COLUMNS]) for dim, t in tables.items()}
                for name, tables in a.access.items()
            }
        if a.travel:
            out["access"]["unit"] = "km"
            out["access"]["judged_on"] = f"minutes by {a.lead_mode}"
            out["access"]["by_mode"] = travel_metrics(a)
    found = a.findings if a.findings is not None else build_findings(a)
    out["named_option"] = found.named_option
    out["findings"] = found.as_dict()
    if len(a.impacts):
        # numbers and codes only: the report words each rating (report/prose/rating.j2)
        out["impacts"] = records(a.impacts.drop(columns=["sentence"], errors="ignore"))
        for row in out["impacts"]:  # whether the row's flag is one findings count
            row["flag_counted"] = found.is_counted(row["option"], row["dimension"], row["group"])
    if len(a.not_assessed):
        out["not_assessed"] = records(a.not_assessed)
    if a.appraisal is not None:
        out.update(appraisal_metrics(a.appraisal))
    if a.frontier is not None:
        out["frontier"] = a.frontier.as_dict()
    out["warnings"] = [str(w) for w in a.warnings]
    out["warnings_detail"] = [w.as_dict() for w in a.warnings]
    if a.uptake is not None and hasattr(a.uptake, "metrics"):
        out.update(a.uptake.metrics())
        crossed = a.intersect.get("uptake")
        if crossed is not None and isinstance(out.get("uptake"), dict):
            out["uptake"]["by_ethnic_group_imd_quintile"] = records(crossed)
        fine = a.intersect.get("detailed")
        if fine is not None and isinstance(out.get("uptake"), dict):
            out["uptake"]["by_ethnic_code"] = records(fine)
    if "access" in a.intersect and "access" in out:
        out["access"]["by_ethnic_group_core20"] = records(a.intersect["access"])
    if "burden" in a.intersect and "access" in out:
        out["access"]["burden_by_ethnic_group_core20"] = records(
            a.intersect["burden"].drop(columns=["sentence"], errors="ignore")
        )
    return _clean(out)


def travel_metrics(a: Assessment) -> dict[str, Any]:
    """``access.by_mode.<mode>``: today's ``access`` block in minutes, one per matrix (lead first).

    Each holds the scenario, ``unit`` (``min``), ``threshold_minutes``,
    ``change_minutes``, the source, whether synthetic, what the read found, the
    minutes an unreachable journey counts as in person-minutes, ``by_<dimension>``
    rows (``mean_minutes_before``, ``mean_minutes_after``, ``pop_beyond_threshold_*``,
    ``pop_unreachable_*``, …) for the primary scenario, ``by_option`` for every
    scenario, and ``options`` (that mode's ranking) when options are compared.
    """
    out: dict[str, Any] = {}
    t = a.proposal.thresholds
    for mode, matrix in a.travel.items():
        tables = a.travel_access[mode]
        block: dict[str, Any] = {
            "scenario": a.primary,
            "unit": "min",
            "lead": mode == a.lead_mode,
            "threshold_minutes": t.minutes_for(mode),
            "change_minutes": t.change_minutes_for(mode),
            "source": matrix.source,
            "label": matrix.label,
            "synthetic": matrix.synthetic,
            "read": dict(matrix.info),
            "unreachable_counted_as_minutes": a.unreachable_as[mode],
            "method": f"quickest site by {mode.replace('_', ' ')} from a journey-time matrix "
            "(origins: LSOAs; not reachable counted separately and as beyond the threshold)",
            **{
                f"by_{dim}": records(table[SUMMARY_COLUMNS])
                for dim, table in tables[a.primary].items()
            },
        }
        if len(a.proposed) > 1 or a.proposal.options:
            block["by_option"] = {
                name: {f"by_{dim}": records(x[SUMMARY_COLUMNS]) for dim, x in per.items()}
                for name, per in tables.items()
            }
            ap = a.mode_appraisals[mode]
            block["options"] = records(ap.options[["option", "rank", "score"]])
            block["robust"] = ap.robustness.holds
        out[mode] = block
    return out


def adversely_affected(a: Assessment) -> list[str]:
    """LSOAs whose distance to the nearest site rises by more than ``change_km`` (primary scenario)."""
    if not a.primary:
        return []
    d = a.distances[a.primary]
    return d.loc[d["km_change"] > a.proposal.thresholds.change_km, "lsoa21_code"].tolist()


def intersect_metrics(a: Assessment) -> dict[str, Any]:
    """The ``area`` entries for ethnicity × deprivation and language (see eia.analysis.ethnicity_deprivation, eia.population.proficiency)."""
    out: dict[str, Any] = {}
    if "area" in a.intersect:
        out["by_ethnic_group_imd_quintile"] = records(a.intersect["area"])
        out["by_ethnic_group_core20"] = records(a.intersect["core20"])
        out["ethnicity_deprivation_finding"] = intersect_mod.finding(a.intersect["core20"])
    if a.language is not None:
        lang = language_mod.summary(a.language)
        if a.primary:
            affected = adversely_affected(a)
            lang["adversely_affected"] = {
                **language_mod.summary(a.language, affected),
                "definition": f"LSOAs whose distance to the nearest site rises by more than "
                f"{a.proposal.thresholds.change_km:g} km ({a.primary})",
            }
            lang["adversely_affected"].pop("method")
        out["language"] = lang
    return out


def appraisal_metrics(ap: appraisal_mod.Appraisal) -> dict[str, Any]:
    """``options`` (a list in rank order), ``appraisal`` and ``robustness`` for metrics.json.

    Each option carries ``name``, ``rank`` (1 = least adverse; ties share a rank),
    ``dominated_by``, ``dominates``, its ``score`` and every criterion with its unit.
    """
    options = []
    for row in ap.options.itertuples():
        crit = ap.criteria[ap.criteria["option"] == row.option]
        options.append(
            {
                "name": row.option,
                "rank": int(row.rank),
                "dominated_by": list(row.dominated_by),
                "dominates": list(row.dominates),
                "score": row.score,
                "score_unit": impact_mod.UNITS[ap.unit],
                "criteria": records(
                    crit[["criterion", "group", "measure", "label", "unit", "better", "value"]]
                ),
            }
        )
    return {
        "options": options,
        "appraisal": {
            "least_adverse": ap.best,
            "baseline": "do nothing (current sites)",
            "unit": ap.unit,
            "score": ap.score_label,
            "equity_weight": ap.equity_weight,
            "tradeoff": ap.tradeoff,
            "summary": ap.summary,
            "burden_units": impact_mod.burden_units(ap.unit),
        },
        "robustness": ap.robustness.as_dict(),
    }


def write_metrics(a: Assessment, folder: Path | str | None) -> Path | None:
    """Write ``metrics.json`` (sorted keys, stable) into ``folder``; nothing when ``folder`` is None."""
    if folder is None:
        return None
    return write_json(metrics(a), Path(folder) / "metrics.json")
