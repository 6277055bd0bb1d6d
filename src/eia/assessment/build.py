"""Building an assessment: :func:`assess` runs the library's steps in order.

Area, group populations, sites, access per scenario, journey times, impact ratings,
service uptake — each step fills one part of the :class:`~eia.assessment.parts.Assessment`
(see :mod:`eia.assessment.parts`). Analysts can call each step themselves (see the
functions named in each line below).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from eia import findings as findings_mod
from eia import handoff
from eia.analysis import access as access_mod
from eia.analysis import appraisal as appraisal_mod
from eia.analysis import ethnic_codes as detailed_mod
from eia.analysis import ethnicity_deprivation as intersect_mod
from eia.analysis import frontier as frontier_mod
from eia.analysis import guards, traveltime
from eia.analysis import impact as impact_mod
from eia.analysis import uptake as uptake_mod
from eia.assessment.parts import (
    Access,
    Area,
    Assessment,
    EthnicityDeprivation,
    Ratings,
    ServiceUptake,
    Travel,
)
from eia.params import Proposal, age_range, to_notebook
from eia.params.kinds import KINDS
from eia.population import proficiency as language_mod
from eia.population.ages import age_group_populations, band_populations, share_in_ages
from eia.population.area import QUINTILE_LABELS, build_area, group_populations
from eia.refdata import Pack, load_pack
from eia.service import load as service_load
from eia.service import synth
from eia.service.columns import ServiceDataWarning

__all__ = [
    "assess",
    "build_findings",
    "core20_effects",
    "declared_age_populations",
    "population_name",
    "population_share",
    "representation_tables",
]


def assess(
    proposal: Proposal, params_file: Path | str | None = None, pack: Pack | None = None
) -> Assessment:
    """Compute every part of a proposal's assessment (see :mod:`eia.assessment`).

    Under ``eia run``, the assessment of this same proposal computed by the run's second
    process is received instead, when it offers one (:mod:`eia.handoff`).
    """
    if pack is None and os.environ.get(handoff.ENV):
        received = handoff.receive(handoff.key(to_notebook(proposal), params_file))
        if received is not None:
            return received
    pack = pack or load_pack()
    lsoas = build_area(pack, proposal.area.spec)  # eia.population.area.build_area
    codes = list(lsoas["lsoa21_code"])
    ethnic = group_populations(pack, codes, "ethnic_group")
    share = None
    if proposal.population is not None:  # residents of the population's ages only
        share = population_share(pack, codes, proposal.population.ages)
        lsoas["population_all_ages"] = lsoas["population"]
        lsoas["population"] = lsoas["population"] * share.to_numpy()
        ethnic = ethnic.mul(share.reindex(ethnic.index).fillna(0.0), axis=0)
    weights = access_mod.group_weights(lsoas, ethnic)
    for extra in proposal.groups:
        extra_pop = group_populations(pack, codes, extra)
        if share is not None:
            extra_pop = extra_pop.mul(share.reindex(extra_pop.index).fillna(0.0), axis=0)
        weights[extra] = extra_pop
    area = Area(lsoas, weights, language_mod.by_lsoa(pack, codes), pack)
    crossed = EthnicityDeprivation(
        area=intersect_mod.area_table(lsoas, ethnic),
        core20=intersect_mod.core20_table(lsoas, ethnic),
    )
    result = Assessment(proposal, pack, area, crossed, Path(params_file) if params_file else None)

    impacts = pd.DataFrame()
    if proposal.sites is not None:
        _add_access(result, params_file)
        impacts = result.appraisal.burden.copy()
        result.rated = Ratings(impacts)
        if proposal.explore is not None:
            result.frontier = frontier_mod.from_assessment(result)
        result.warnings += guards.check_assessment(result)
        if result.primary:
            t = proposal.thresholds
            distances = result.access.distances[result.primary]
            result.ethnicity_deprivation = replace(
                result.ethnicity_deprivation,
                access=intersect_mod.access_table(distances, lsoas, ethnic, t.distance_km),
                burden=intersect_mod.burden_table(
                    distances, lsoas, ethnic, t, option=result.primary
                ),
            )

    not_assessed = pd.DataFrame()
    if proposal.effects:
        pops = {dim: w.sum(axis=0) for dim, w in weights.items()}
        effects = [e.model_dump() for e in proposal.effects]
        for e in effects:
            if e["dimension"] == "imd_quintile" and str(e["group"]).isdigit():
                e["group"] = QUINTILE_LABELS[int(e["group"])]
        effects += core20_effects(effects, pops["imd_quintile"])
        age_pops = declared_age_populations(proposal, pack, lsoas)
        if age_pops is not None:
            pops["age"] = age_pops
        rated, not_assessed = impact_mod.assessed_effects(
            impact_mod.rate_effects(
                effects,
                pops,
                uptake_change_pct=proposal.thresholds.uptake_change_pct,
                disproportionate_ratio=proposal.thresholds.disproportionate_ratio,
                min_people=proposal.thresholds.min_people,
            )
        )
        impacts = pd.concat([impacts, rated], ignore_index=True)
    result.rated = Ratings(impacts, not_assessed)

    if proposal.service is not None:
        base = Path(params_file).resolve().parent if params_file else Path.cwd()
        _add_service(result, base)
    result.findings = build_findings(result)
    return result


def _add_access(result: Assessment, params_file: Path | str | None) -> None:
    """Sites and distances per scenario (eia.analysis.access); the appraisal in km or minutes."""
    proposal, pack, t = result.proposal, result.pack, result.proposal.thresholds
    lsoas, weights = result.area.lsoas, result.area.weights
    codes = list(lsoas["lsoa21_code"])
    current = access_mod.resolve_sites(pack, proposal.sites.current, codes)
    access = Access(current, {}, {}, {})
    values = {}
    for name, sites in proposal.scenarios().items():
        proposed = access_mod.resolve_sites(pack, sites, codes)
        distances = access_mod.measure(lsoas, current, proposed)
        distances.attrs["scenario"] = name  # tables made from it say which option they show
        access.proposed[name] = proposed
        access.distances[name] = distances
        access.summaries[name] = {
            dim: access_mod.summarise(distances, w, t.distance_km) for dim, w in weights.items()
        }
        codes_index = distances["lsoa21_code"].to_numpy()
        values[name] = (
            pd.Series(distances["km_before"].to_numpy(), index=codes_index),
            pd.Series(distances["km_after"].to_numpy(), index=codes_index),
        )
    result.access = access
    population = lsoas.set_index("lsoa21_code")["population"]
    if proposal.access.travel_times:
        base = Path(params_file).resolve().parent if params_file else Path.cwd()
        result.travel = _travel_times(result, base, population)
        result.appraisal = result.travel.appraisals[result.travel.lead_mode]
    else:
        result.appraisal = appraisal_mod.appraise(
            values, weights, t, unit="km", population=population
        )


def build_findings(a: Assessment) -> findings_mod.Findings:
    """The assessment's findings (:func:`eia.findings.build`) from its computed frames."""
    return findings_mod.build(
        proposal=a.proposal,
        impacts=a.rated.impacts,
        appraisal=a.appraisal,
        scenarios=a.scenarios,
        rules=a.rules if a.proposal.sites is not None else None,
        warnings=a.warnings,
        intersect={
            "core20": a.ethnicity_deprivation.core20,
            "burden": a.ethnicity_deprivation.burden,
            "access": a.ethnicity_deprivation.access,
        },
        intersect_option=a.primary if a.proposal.options else None,
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
        pack.population_by_age(tuple(codes)),
        codes,
        groups,
        scale_to=pd.Series(all_ages.to_numpy(), index=codes),
        within=proposal.population.ages if proposal.population is not None else None,
    )


def population_share(pack: Pack, codes: list[str], ages) -> pd.Series:
    """Each LSOA's share of residents within ``ages`` (:func:`eia.population.ages.share_in_ages`)."""
    by_age = pack.population_by_age(tuple(codes))  # the area's rows: a quicker read
    return share_in_ages(by_age, codes, ages).reindex(codes).fillna(0.0)


def population_name(proposal: Proposal) -> str:
    """How the report names the population: "residents", or e.g. "residents aged 15 to 44"."""
    return proposal.population.name if proposal.population is not None else "residents"


def _travel_times(result: Assessment, base_dir: Path, population: pd.Series) -> Travel:
    """Journey times per mode (eia.analysis.traveltime) and each mode's options appraisal."""
    proposal, t, access = result.proposal, result.proposal.thresholds, result.access
    weights = result.area.weights
    codes = list(result.area.lsoas["lsoa21_code"])
    travel = Travel(
        traveltime.load_matrices(proposal, result.pack, codes, base_dir=base_dir), {}, {}, {}, {}
    )
    current = list(access.current["name"])
    for mode, matrix in travel.matrices.items():
        limits = t.for_mode(mode)
        cap = travel.unreachable_as[mode] = traveltime.unreachable_minutes(
            matrix, limits.distance_min
        )
        values = {}
        for name, proposed in access.proposed.items():
            times = traveltime.measure(matrix, current, list(proposed["name"]))
            travel.times.setdefault(mode, {})[name] = times
            travel.summaries.setdefault(mode, {})[name] = {
                dim: traveltime.summarise(times, w, limits.distance_min)
                for dim, w in weights.items()
            }
            values[name] = traveltime.burden_values(times, cap)
        travel.appraisals[mode] = appraisal_mod.appraise(
            values, weights, limits, unit="min", population=population
        )
    return travel


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
    codes = list(result.area.lsoas["lsoa21_code"])
    ages = proposal.population.ages if proposal.population is not None else None
    notes: list[dict] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ServiceDataWarning)
        # Records of the population's ages only, each by its own age (a no-op without ages).
        service = service_load.load_service(spec, result.pack, codes, base_dir=base_dir, ages=ages)
    for w in caught:
        if issubclass(w.category, ServiceDataWarning):
            notes.append(w.message.as_dict())  # a code and figures: the report words it
        else:  # not ours to keep: passed on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    beyond = uptake_mod.period_beyond_data(spec.get("period"), service.quality)
    if beyond is not None:
        result.warnings.append(guards.period_beyond_data(beyond))
    t = proposal.thresholds
    denominators = proposal.denominators
    # Without an age column every record is counted (the service says so).
    service = uptake_mod.restrict_to_ages(service, ages)
    lsoas, ethnic_weights = result.area.lsoas, result.area.weights["ethnic_group"]
    covered = service.quality.get("ages_effective")
    if ages is not None and covered is not None and tuple(covered) != tuple(ages):
        # An extract of age bands: residents of the ages its kept bands cover, like the records.
        ages = tuple(covered)
        lsoas, ethnic_weights = _population_for(result, ages)
    age_pops = None
    if result.pack.has("population20_age_lsoa21.parquet"):
        all_ages = lsoas.get("population_all_ages", lsoas["population"])
        age_pops = band_populations(
            result.pack.population_by_age(tuple(codes)),
            codes,
            ages=ages,
            scale_to=pd.Series(all_ages.to_numpy(), index=codes),
        )
    uptake = uptake_mod.compute(
        service,
        lsoas,
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
    tables = representation_tables(uptake)
    result.ethnicity_deprivation = replace(
        result.ethnicity_deprivation,
        uptake=intersect_mod.uptake_table(
            service,
            lsoas,
            ethnic_weights,
            uptake.published,
            min_count=proposal.disclosure.min_count,
            per=float(getattr(proposal.service, "rate_per", 1000)),
            years=intersect_mod.service_years(proposal.service),
        ),
    )
    # Tables protected later (the per-site tables) are linked to the cross table too.
    uptake.published = intersect_mod.link_cross(
        uptake.published, result.ethnicity_deprivation.uptake, service, lsoas
    )

    populations = None
    if result.pack.has(detailed_mod.DETAILED_FILE):
        populations = detailed_mod.census_populations(
            pd.read_parquet(result.pack.path(detailed_mod.DETAILED_FILE)), codes
        )
    ethnic_codes = detailed_mod.published(
        service,
        uptake.published.by_ethnic_group,
        proposal.disclosure.min_count,
        populations=populations,
        total_withheld="count_in_area" in uptake.published.reasons,
    )
    result.uptake = ServiceUptake(service, uptake, tables, ethnic_codes, notes)
    impacts = result.rated.impacts
    if KINDS[proposal.template].rates == "uptake":
        audit = uptake_mod.rate_representation(
            tables,
            disproportionate_ratio=t.disproportionate_ratio,
            band=t.material_band,
            higher_use_is=proposal.higher_use_is,
        )
        impacts = pd.concat([impacts, audit], ignore_index=True)
    elif len(impacts):
        impacts = uptake_mod.mark_risk(impacts, tables)
        if proposal.effects:
            impacts = impact_mod.add_expected_users(impacts, tables)
    result.rated = replace(result.rated, impacts=impacts)


def _population_for(result: Assessment, ages) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The LSOA frame and ethnic group weights of residents of ``ages`` (for uptake rates)."""
    codes = list(result.area.lsoas["lsoa21_code"])
    share = population_share(result.pack, codes, ages)
    lsoas = result.area.lsoas.copy()
    all_ages = lsoas.get("population_all_ages", lsoas["population"])
    lsoas["population_all_ages"] = all_ages
    lsoas["population"] = all_ages * share.to_numpy()
    ethnic = group_populations(result.pack, codes, "ethnic_group")
    return lsoas, ethnic.mul(share.reindex(ethnic.index).fillna(0.0), axis=0)


def representation_tables(uptake) -> dict[str, pd.DataFrame]:
    """Representation with intervals and material-gap flags per dimension, from the published tables.

    IMD quintiles and Core20 are rated on age-standardised rates when every group has one
    (:func:`eia.analysis.impact.standardised_representation`; ``basis`` says which). Ethnic
    groups use the counts with not-stated records reallocated (the one stated assumption,
    the assumption stated in ``report/prose/uptake.j2``, macro ``ethnicity``); each frame gains ``gap`` and ``concern`` (:func:`eia.analysis.uptake.gap_flags`).
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
