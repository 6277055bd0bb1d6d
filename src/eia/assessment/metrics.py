"""``metrics.json``: an assessment's results for machines (deterministic, JSON-ready).

:func:`metrics` turns an :class:`~eia.assessment.parts.Assessment` into the nested
dictionary :func:`write_metrics` writes; provenance is added by the runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from eia.analysis import appraisal as appraisal_mod
from eia.analysis.traveltime import SUMMARY_COLUMNS
from eia.assessment.build import build_findings
from eia.assessment.parts import Assessment
from eia.assessment.profile import ethnic_composition, profile_by_decile, profile_by_quintile
from eia.jsonable import clean, write_json
from eia.population import proficiency as language_mod

__all__ = [
    "ACCESS_COLUMNS",
    "adversely_affected",
    "appraisal_metrics",
    "intersect_metrics",
    "metrics",
    "records",
    "travel_metrics",
    "write_metrics",
]


_clean = clean  # older name


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows (floats rounded to 6 decimals, NaN as null): the rows of
    ``frame.to_dict(orient="records")``, made from whole columns (``tolist``) rather than
    row tuples, which cost a column lookup per column for every frame written."""
    keys = list(frame.columns)
    if not keys:
        return [{} for _ in range(len(frame))]
    columns = [values.tolist() for _, values in frame.items()]
    return _clean([dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)])


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
    area = a.area.lsoas
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
            "by_ethnic_group": records(ethnic_composition(a.area.weights)),
        },
    }
    out["area"] |= intersect_metrics(a)
    if a.access and a.primary:
        primary = a.access.summaries[a.primary]
        out["access"] = {
            "scenario": a.primary,
            "threshold_km": a.threshold_km,
            "method": "straight-line distance from each LSOA's representative point to the nearest site",
            **{f"by_{dim}": records(table[ACCESS_COLUMNS]) for dim, table in primary.items()},
        }
        if len(a.scenarios) > 1 or a.proposal.options:
            out["access"]["by_option"] = {
                name: {f"by_{dim}": records(t[ACCESS_COLUMNS]) for dim, t in tables.items()}
                for name, tables in a.access.summaries.items()
            }
        if a.travel:
            out["access"]["unit"] = "km"
            out["access"]["judged_on"] = f"minutes by {a.lead_mode}"
            out["access"]["by_mode"] = travel_metrics(a)
    found = a.findings if a.findings is not None else build_findings(a)
    out["named_option"] = found.named_option
    out["findings"] = found.as_dict()
    impacts = a.rated.impacts
    if len(impacts):
        # numbers and codes only: the report words each rating (report/prose/rating.j2)
        out["impacts"] = records(impacts.drop(columns=["sentence"], errors="ignore"))
        for row in out["impacts"]:  # whether the row's flag is one findings count
            row["flag_counted"] = found.is_counted(row["option"], row["dimension"], row["group"])
    if len(a.rated.not_assessed):
        out["not_assessed"] = records(a.rated.not_assessed)
    if a.appraisal is not None:
        out.update(appraisal_metrics(a.appraisal))
    if a.frontier is not None:
        out["frontier"] = a.frontier.as_dict()
    out["warnings"] = [w.as_dict() for w in a.warnings]  # kind, where, figures: no words
    crossed = a.ethnicity_deprivation
    if a.uptake is not None:
        out.update(a.uptake.result.metrics())
        if crossed.uptake is not None and isinstance(out.get("uptake"), dict):
            out["uptake"]["by_ethnic_group_imd_quintile"] = records(crossed.uptake)
        fine = a.uptake.ethnic_codes
        if fine is not None and isinstance(out.get("uptake"), dict):
            out["uptake"]["by_ethnic_code"] = records(fine)
    if crossed.access is not None and "access" in out:
        out["access"]["by_ethnic_group_core20"] = records(crossed.access)
    if crossed.burden is not None and "access" in out:
        out["access"]["burden_by_ethnic_group_core20"] = records(
            crossed.burden.drop(columns=["sentence"], errors="ignore")
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
    if a.travel is None:
        return out
    for mode, matrix in a.travel.matrices.items():
        tables = a.travel.summaries[mode]
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
            "unreachable_counted_as_minutes": a.travel.unreachable_as[mode],
            "method": f"quickest site by {mode.replace('_', ' ')} from a journey-time matrix "
            "(origins: LSOAs; not reachable counted separately and as beyond the threshold)",
            **{
                f"by_{dim}": records(table[SUMMARY_COLUMNS])
                for dim, table in tables[a.primary].items()
            },
        }
        if len(a.scenarios) > 1 or a.proposal.options:
            block["by_option"] = {
                name: {f"by_{dim}": records(x[SUMMARY_COLUMNS]) for dim, x in per.items()}
                for name, per in tables.items()
            }
            ap = a.travel.appraisals[mode]
            block["options"] = records(ap.options[["option", "rank", "score"]])
            block["robust"] = ap.robustness.holds
        out[mode] = block
    return out


def adversely_affected(a: Assessment) -> list[str]:
    """LSOAs whose distance to the nearest site rises by more than ``change_km`` (primary scenario)."""
    if not a.access or not a.primary:
        return []
    d = a.access.distances[a.primary]
    return d.loc[d["km_change"] > a.proposal.thresholds.change_km, "lsoa21_code"].tolist()


def intersect_metrics(a: Assessment) -> dict[str, Any]:
    """The ``area`` entries for ethnicity × deprivation and language (see eia.analysis.ethnicity_deprivation, eia.population.proficiency)."""
    out: dict[str, Any] = {}
    crossed = a.ethnicity_deprivation
    out["by_ethnic_group_imd_quintile"] = records(crossed.area)
    out["by_ethnic_group_core20"] = records(crossed.core20)
    proficiency = a.area.proficiency
    if proficiency is not None:
        lang = language_mod.summary(proficiency)
        if a.primary:
            affected = adversely_affected(a)
            lang["adversely_affected"] = {
                **language_mod.summary(proficiency, affected),
                "definition": f"LSOAs whose distance to the nearest site rises by more than "
                f"{a.proposal.thresholds.change_km:g} km ({a.primary})",
            }
            lang["adversely_affected"].pop("method")
        out["language"] = lang
    return out


def appraisal_metrics(ap: appraisal_mod.Appraisal) -> dict[str, Any]:
    """``options`` (a list in rank order), ``appraisal`` and ``robustness`` for metrics.json:
    numbers and codes only (:meth:`eia.analysis.appraisal.Appraisal.as_dict`)."""
    return ap.as_dict()


def write_metrics(a: Assessment, folder: Path | str | None) -> Path | None:
    """Write ``metrics.json`` (sorted keys, stable) into ``folder``; nothing when ``folder`` is None."""
    if folder is None:
        return None
    return write_json(metrics(a), Path(folder) / "metrics.json")
