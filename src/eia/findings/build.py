"""Build the :class:`~eia.findings.model.Findings` of one assessment, once.

:func:`build` reads the frames the analysis computed — the impact ratings of every
option (:func:`eia.impact.burden`, :func:`eia.impact.rate_effects`, the audit's
representation ratings), the options appraisal (:mod:`eia.appraisal`) and the
proposal — and decides, in one place:

* **the named option** (:func:`choose`): the first-ranked option of the appraisal, else
  the only scenario; and why (:class:`~eia.findings.model.Reason`);
* **the flags**, with one definition (the rating rows' ``disproportionate``) and one
  scope: each rated group counts once, so IMD quintile 1 is not counted beside Core20
  (national IMD deciles 1–2 are quintile 1) and the rest of the area is not counted
  beside IMD quintiles 2–5; each flag is a protected group's (Core20, ethnic groups,
  age, sex, religion, disability, opted-in Census groups) or another's;
* **dominance** on group outcomes (the appraisal's ranking, where flags play no part)
  and the **trade-offs** between options neither of which dominates the other;
* **who loses most** under the named option: the largest absolute burden and the
  largest disproportion, with their figures;
* **robustness**, what is **missing** before sign-off and the input **warnings**.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from eia.analysis.access import CORE20_LABELS
from eia.analysis.impact import Q1_GROUP
from eia.findings import intersection as intersection_mod
from eia.findings.model import (
    Dominance,
    Findings,
    Flag,
    GroupComparison,
    GroupOutcome,
    Harm,
    Missing,
    Reason,
    Robustness,
    Tradeoff,
    Uncounted,
)
from eia.params import NARRATIVE_KEYS
from eia.params.kinds import KINDS

__all__ = ["PROTECTED_DIMENSIONS", "build", "choose", "compare", "is_protected"]

CORE20, REST = CORE20_LABELS

#: Dimensions whose groups the equality duty protects (Core20: its Core20 group only).
PROTECTED_DIMENSIONS = ("core20", "ethnic_group", "age", "sex", "religion", "disability")


def is_protected(dimension: str, group: str, opted_in: Iterable[str] = ()) -> bool:
    """Whether ``(dimension, group)`` is a group the duty protects (opted-in Census groups too)."""
    if dimension == "core20":
        return group == CORE20
    return dimension in PROTECTED_DIMENSIONS or dimension in set(opted_in)


def choose(appraisal, scenarios: Sequence[str]) -> str | None:
    """The scenario the report names: with two or more options, the first ranked (of tied
    options, the first in rank order); else the only scenario; None without one."""
    if appraisal is not None and appraisal.compared:
        best = [o for o in appraisal.best if o in scenarios]
        if best:
            return best[0]
    return next(iter(scenarios), None)


def build(
    *,
    proposal,
    impacts: pd.DataFrame,
    appraisal=None,
    scenarios: Sequence[str] = (),
    rules=None,
    warnings: Sequence[Any] = (),
    intersect: Mapping[str, pd.DataFrame | None] | None = None,
    intersect_option: str | None = None,
) -> Findings:
    """The findings of one assessment from its frames (see the module docstring).

    ``impacts``: every option's rating rows; ``appraisal``: :class:`eia.appraisal.Appraisal`
    or None; ``scenarios``: the site scenarios in params order; ``rules``: the access
    :class:`eia.impact.Rules` of the judgement (None without sites); ``warnings``: the
    input guards' :class:`eia.guards.Warning` objects; ``intersect``: the ethnicity ×
    deprivation tables (``Assessment.ethnicity_deprivation``) and ``intersect_option`` the option their
    burden is for, named in the words when options are compared
    (:func:`eia.findings.intersection.build`).
    """
    opted_in = list(getattr(proposal, "groups", []) or [])
    named = choose(appraisal, scenarios)
    if named is None and len(impacts):
        named = str(impacts["option"].iloc[0])
    options = (
        list(appraisal.options["option"])
        if appraisal is not None and appraisal.compared
        else [named]
        if named is not None
        else []
    )
    flags, uncounted = _flags(impacts, opted_in)
    findings = Findings(
        named_option=named,
        reason=_reason(proposal, appraisal, named, scenarios, impacts),
        template=proposal.template,
        options=options,
        flags=flags,
        uncounted=uncounted,
        warnings=list(warnings),
        missing=_missing(proposal),
        thresholds=_thresholds(rules),
    )
    if appraisal is not None and appraisal.compared:
        findings.dominance = [
            Dominance(
                option=str(r.option),
                rank=int(r.rank),
                dominated_by=tuple(r.dominated_by),
                dominates=tuple(r.dominates),
            )
            for r in appraisal.options.itertuples()
        ]
        findings.robustness = _robustness(appraisal.robustness, named)
    findings.outcomes = _outcomes(impacts)
    if findings.dominance:
        findings.tradeoffs = _tradeoffs(findings, rules)
    rows = impacts[impacts["option"] == named] if len(impacts) and named else impacts.iloc[:0]
    findings.harms = _harms(rows, findings, opted_in)
    findings.material_groups, findings.quiet_groups = _materiality(rows, findings)
    findings.intersection = intersection_mod.build(intersect or {}, intersect_option)
    return findings


# ---------------------------------------------------------------------------
# Flags: one definition, one scope


def _flags(impacts: pd.DataFrame, opted_in: list[str]) -> tuple[list[Flag], list[Uncounted]]:
    if not len(impacts) or "disproportionate" not in impacts:
        return [], []
    flagged = impacts[impacts["disproportionate"].map(lambda v: v is True or v is np.True_)]
    counted, uncounted = [], []
    cores = set(
        impacts.loc[
            (impacts["dimension"] == "core20") & (impacts["group"] == CORE20), "option"
        ].astype(str)
    )
    for row in flagged.itertuples():
        option, dim, group = str(row.option), str(row.dimension), str(row.group)
        if dim == "imd_quintile" and group == Q1_GROUP and option in cores:
            uncounted.append(Uncounted(option, dim, group, "core20"))
            continue
        if dim == "core20" and group == REST:
            uncounted.append(Uncounted(option, dim, group, "imd_quintile"))
            continue
        margin = getattr(row, "flag_margin", None)
        counted.append(
            Flag(
                option=option,
                dimension=dim,
                group=group,
                protected=is_protected(dim, group, opted_in),
                margin=margin if isinstance(margin, str) else None,
                net_gain=bool(
                    getattr(row, "rating", "") == "mixed"
                    and (getattr(row, "net_per_resident", 0.0) or 0.0) < 0
                ),
            )
        )
    return counted, uncounted


# ---------------------------------------------------------------------------
# The named option and why


def _reason(proposal, appraisal, named, scenarios, impacts) -> Reason:
    if KINDS[proposal.template].rates == "uptake":
        return Reason("audit")
    if appraisal is None or not appraisal.compared:
        if scenarios:
            return Reason("only_option")
        if len(impacts) and "expected_uptake_change_pct" in impacts:
            return Reason("declared_effects")
        return Reason("none")
    ranked = appraisal.options.reset_index(drop=True)
    best = [o for o in appraisal.best if o in scenarios] or list(appraisal.best)
    if len(best) > 1:
        return Reason("tie", {"tied": best, "score": float(ranked["score"].iloc[0])})
    first = ranked[ranked["option"] == named].iloc[0]
    others = [o for o in ranked["option"] if o != named]
    if set(others) <= set(first["dominates"]):
        return Reason("dominates", {"others": others})
    runner = ranked[ranked["option"] != named].iloc[0]
    return Reason(
        "lower_score",
        {
            "score": float(first["score"]),
            "runner_up": str(runner["option"]),
            "runner_up_score": float(runner["score"]),
            "equity_weight": float(appraisal.equity_weight),
            "dominates": list(first["dominates"]),
        },
    )


def _robustness(robustness, named: str | None) -> Robustness:
    v = robustness.variations
    if not len(v):
        return Robustness(assessed=False)
    flips = tuple(
        (str(r.threshold), str(r.variation), float(r.value), tuple(map(str, r.first)))
        for r in v[~v["holds"].astype(bool)].itertuples()
    )
    return Robustness(
        assessed=True,
        holds=bool(robustness.holds),
        tried=len(v),
        flips=flips,
        flag_changes=len(robustness.flag_changes(named)) if named else 0,
    )


def _missing(proposal) -> list[Missing]:
    out = []
    narrative = getattr(proposal, "narrative", {}) or {}
    unanswered = [k for k in NARRATIVE_KEYS if not str(narrative.get(k) or "").strip()]
    if unanswered:
        out.append(
            Missing("questions_unanswered", {"count": len(unanswered), "of": len(NARRATIVE_KEYS)})
        )
    if not getattr(proposal, "mitigations", None):
        out.append(Missing("no_mitigations"))
    if not getattr(proposal, "signoff", None):
        out.append(Missing("not_signed_off"))
    return out


def _thresholds(rules) -> dict[str, float | str]:
    if rules is None:
        return {}
    return {
        "unit": rules.unit,
        "far": float(rules.far),
        "change": float(rules.change),
        "material": float(rules.material),
        "material_share": float(rules.material_share),
    }


# ---------------------------------------------------------------------------
# Group outcomes and trade-offs


def _outcomes(impacts: pd.DataFrame) -> list[GroupOutcome]:
    needed = ("further", "residents", "added", "removed", "newly_far", "added_per_resident")
    if not len(impacts) or any(c not in impacts for c in needed):
        return []
    rows = impacts[impacts["further"].notna()]
    return [
        GroupOutcome(
            option=str(r.option),
            dimension=str(r.dimension),
            group=str(r.group),
            residents=float(r.residents),
            added=float(r.added),
            removed=float(r.removed),
            newly_far=float(r.newly_far),
            added_per_resident=None
            if pd.isna(r.added_per_resident)
            else float(r.added_per_resident),
        )
        for r in rows.itertuples()
    ]


def _compared_groups(findings: Findings) -> list[tuple[str, str]]:
    """The groups a trade-off is stated for: all residents, Core20, each ethnic group."""
    keys = dict.fromkeys(
        (o.dimension, o.group)
        for o in findings.outcomes
        if o.dimension in ("all", "ethnic_group") or (o.dimension == "core20" and o.group == CORE20)
    )
    return sorted(keys, key=lambda k: ("all", "core20", "ethnic_group").index(k[0]))


def _better(x: str, y: str, vx: float, vy: float) -> str | None:
    if round(vx, 6) < round(vy, 6):
        return x
    if round(vy, 6) < round(vx, 6):
        return y
    return None


def compare(findings: Findings, x: str, y: str, rules=None) -> tuple[GroupComparison, ...]:
    """Options ``x`` and ``y`` compared for every group a trade-off is stated for."""
    out = []
    material = float(findings.thresholds.get("material", 0.0) or 0.0)
    share = float(findings.thresholds.get("material_share", 0.0) or 0.0)
    for dim, group in _compared_groups(findings):
        a, b = findings.outcome(x, dim, group), findings.outcome(y, dim, group)
        if a is None or b is None:
            continue
        pa = a.added_per_resident or 0.0
        pb = b.added_per_resident or 0.0
        out.append(
            GroupComparison(
                dimension=dim,
                group=group,
                residents=a.residents,
                added_per_resident={x: pa, y: pb},
                newly_far={x: a.newly_far, y: b.newly_far},
                better_added=_better(x, y, a.added, b.added),
                better_newly_far=_better(x, y, a.newly_far, b.newly_far),
                material_added=bool(abs(pa - pb) >= material > 0),
                material_newly_far=bool(
                    a.residents > 0 and abs(a.newly_far - b.newly_far) >= share * a.residents > 0
                ),
            )
        )
    return tuple(out)


def _tradeoffs(findings: Findings, rules) -> list[Tradeoff]:
    free = [
        d.option for d in sorted(findings.dominance, key=lambda d: d.rank) if not d.dominated_by
    ]
    out = []
    for i, x in enumerate(free):
        for y in free[i + 1 :]:
            out.append(Tradeoff(first=x, second=y, groups=compare(findings, x, y, rules)))
    return out


# ---------------------------------------------------------------------------
# Who loses most, and which groups have a material finding


def _candidates(rows: pd.DataFrame, findings: Findings) -> pd.DataFrame:
    """Rated rows of single groups, each counted once (not all residents, not the duplicates)."""
    skip = {(u.dimension, u.group) for u in findings.uncounted}
    skip |= (
        {("imd_quintile", Q1_GROUP), ("core20", REST)}
        if ((rows["dimension"] == "core20") & (rows["group"] == CORE20)).any()
        else set()
    )
    keep = [
        d != "all" and (d, g) not in skip and r != "not rated"
        for d, g, r in zip(rows["dimension"], rows["group"], rows["rating"], strict=True)
    ]
    return rows[keep]


def _figures(row: pd.Series, names: Sequence[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name in names:
        value = row.get(name)
        out[name] = None if value is None or pd.isna(value) else float(value)
    return out


ACCESS_FIGURES = (
    "residents",
    "further",
    "added",
    "added_per_resident",
    "rest_added_per_resident",
    "burden_ratio",
    "newly_far",
)
EFFECT_FIGURES = (
    "population",
    "expected_uptake_change_pct",
    "rest_change_pct",
    "difference_pct_points",
    "expected_users_change",
)
AUDIT_FIGURES = (
    "representation",
    "representation_lower",
    "representation_upper",
    "count",
    "population",
)


def _harm(kind, basis, row, findings, opted_in, names) -> Harm:
    dim, group = str(row["dimension"]), str(row["group"])
    return Harm(
        kind=kind,
        basis=basis,
        option=str(row["option"]),
        dimension=dim,
        group=group,
        protected=is_protected(dim, group, opted_in),
        flagged=findings.is_counted(str(row["option"]), dim, group),
        figures=_figures(row, names),
    )


def _harms(rows: pd.DataFrame, findings: Findings, opted_in: list[str]) -> list[Harm]:
    if not len(rows):
        return []
    rows = _candidates(rows, findings)
    out: list[Harm] = []
    if {"further", "added"} <= set(rows) and rows["further"].notna().any():
        part = rows[rows["further"].notna() & (rows["added"] > 0)]
        if len(part):
            worst = part.loc[part["added"].astype(float).idxmax()]
            out.append(_harm("largest_burden", "access", worst, findings, opted_in, ACCESS_FIGURES))
            losing = part[part["rating"].isin(["negative", "mixed"])]
            ratio = losing["burden_ratio"].astype(float).replace(np.inf, np.nan)
            if ratio.notna().any() and ratio.max() > 1:
                most = losing.loc[ratio.idxmax()]
                out.append(
                    _harm(
                        "largest_disproportion", "access", most, findings, opted_in, ACCESS_FIGURES
                    )
                )
    elif "expected_uptake_change_pct" in rows and rows["expected_uptake_change_pct"].notna().any():
        part = rows[rows["expected_uptake_change_pct"] < 0]
        if len(part):
            worst = part.loc[part["expected_uptake_change_pct"].astype(float).idxmin()]
            out.append(_harm("largest_burden", "effect", worst, findings, opted_in, EFFECT_FIGURES))
            gap = part["difference_pct_points"].astype(float)
            if gap.notna().any() and gap.min() < 0:
                most = part.loc[gap.idxmin()]
                out.append(
                    _harm(
                        "largest_disproportion", "effect", most, findings, opted_in, EFFECT_FIGURES
                    )
                )
    elif "representation" in rows and rows["representation"].notna().any():
        part = rows[rows["rating"] == "negative"]
        if len(part):
            rep = part["representation"].astype(float)
            worse = rep.idxmax() if (rep > 1).all() else rep.idxmin()
            out.append(
                _harm(
                    "largest_disproportion",
                    "representation",
                    part.loc[worse],
                    findings,
                    opted_in,
                    AUDIT_FIGURES,
                )
            )
    return out


def _materiality(
    rows: pd.DataFrame, findings: Findings
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The named option's groups with a material finding (a rating other than neutral, a
    counted flag, a gap in the service now) and those with nothing material (neutral)."""
    material, quiet = [], []
    for _, row in rows.iterrows():
        key = (str(row["dimension"]), str(row["group"]))
        at_risk = row.get("at_risk") is True
        flagged = findings.is_counted(str(row["option"]), *key)
        if row["rating"] == "neutral" and not flagged and not at_risk:
            quiet.append(key)
        elif row["rating"] != "not rated" or flagged or at_risk:
            material.append(key)
    return material, quiet
