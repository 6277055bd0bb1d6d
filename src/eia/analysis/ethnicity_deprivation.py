"""Ethnicity × deprivation: who lives where, who bears an access change, who uses a service.

Core20PLUS asks about minority ethnic residents *of* the most deprived
neighbourhoods, which side-by-side tables cannot answer. This module crosses
the two:

* :func:`area_table` — residents of each Census 2021 ethnic group by national
  IMD 2025 quintile (area-based: every resident of an LSOA takes the LSOA's
  quintile, and the LSOA's Census ethnic composition gives the groups), with
  :func:`core20_table` for Core20 against the rest;
* :func:`access_table` — the access measures of :func:`eia.analysis.access.summarise`
  for each ethnic group within Core20 and within the rest of the area;
* :func:`uptake_table` — service users by ethnic group × quintile, with rates,
  95% intervals and disclosure control linked to the published one-way tables
  (:func:`protect_linked`).

The judgements made from these tables (which group is most concentrated in Core20, which
cell bears the heaviest burden) are the assessment's findings
(:mod:`eia.findings.intersection`); this module returns tables only, never sentences.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from eia.align import by_lsoa
from eia.analysis import impact
from eia.analysis.access import summarise
from eia.population.area import ETHNIC_GROUPS, ETHNIC_SHORT, QUINTILE_LABELS
from eia.population.ethnicity import CATEGORIES
from eia.stats import disclosure, rate_ci

CORE20 = "Core20 (IMD deciles 1-2)"
REST = "Rest of area (deciles 3-10)"


def _whole(values: pd.Series) -> pd.Series:
    """Whole-number populations as integers; fractional ones (a population of interest
    scaled by age shares) are kept as they are, so that tables still add up."""
    values = values.astype(float)
    if np.allclose(values, values.round()):
        return values.round().astype("int64")
    return values


def area_table(area: pd.DataFrame, ethnic: pd.DataFrame) -> pd.DataFrame:
    """Residents by ethnic group × IMD quintile (long; every pair, zeros kept).

    ``area`` is :func:`eia.population.area.build_area`'s frame, ``ethnic`` the wide LSOA × group
    populations (:func:`eia.population.area.group_populations`), aligned by ``lsoa21_code``.
    Columns: ``ethnic_group, imd_quintile (1-5), population, share_of_group`` (the
    share of the group's residents living in that quintile) and ``share_of_quintile``.
    """
    quint = area.set_index("lsoa21_code")["imd_quintile"]
    wide = ethnic.reindex(quint.index).fillna(0)
    wide = wide.reindex(columns=[g for g in ETHNIC_GROUPS if g in wide.columns], fill_value=0)
    cross = wide.groupby(quint).sum().reindex(range(1, 6), fill_value=0)
    long = cross.stack().rename("population").reset_index()
    long.columns = ["imd_quintile", "ethnic_group", "population"]
    long = long[["ethnic_group", "imd_quintile", "population"]]
    order = {g: i for i, g in enumerate(ETHNIC_GROUPS)}
    long = long.sort_values(
        ["ethnic_group", "imd_quintile"],
        key=lambda s: s.map(order) if s.name == "ethnic_group" else s,
    ).reset_index(drop=True)
    long["population"] = _whole(long["population"])
    group_tot = long.groupby("ethnic_group")["population"].transform("sum")
    quint_tot = long.groupby("imd_quintile")["population"].transform("sum")
    long["share_of_group"] = (long["population"] / group_tot).where(group_tot > 0)
    long["share_of_quintile"] = (long["population"] / quint_tot).where(quint_tot > 0)
    return long


def core20_table(area: pd.DataFrame, ethnic: pd.DataFrame) -> pd.DataFrame:
    """Residents of each ethnic group in Core20 and the rest, and the share in Core20.

    Columns: ``ethnic_group, core20, rest, population, share_core20``, plus a last row
    ``All residents``; ``relative_to_white`` is each group's share in Core20 over
    White residents' share.
    """
    core = area.set_index("lsoa21_code")["core20"]
    wide = ethnic.reindex(core.index).fillna(0)
    groups = [g for g in ETHNIC_GROUPS if g in wide.columns]
    in_core = wide.loc[core.to_numpy(), groups].sum()
    total = wide[groups].sum()
    frame = pd.DataFrame(
        {
            "ethnic_group": [*groups, "All residents"],
            "core20": [*in_core.to_numpy(), in_core.sum()],
            "rest": [*(total - in_core).to_numpy(), (total - in_core).sum()],
        }
    )
    frame["population"] = frame["core20"] + frame["rest"]
    for c in ("core20", "rest", "population"):
        frame[c] = _whole(frame[c])
    frame["share_core20"] = (frame["core20"] / frame["population"]).where(frame["population"] > 0)
    white = frame.loc[frame["ethnic_group"] == "White", "share_core20"]
    ref = float(white.iloc[0]) if len(white) and white.iloc[0] > 0 else np.nan
    frame["relative_to_white"] = frame["share_core20"] / ref
    return frame


def core20_weights(area: pd.DataFrame, ethnic: pd.DataFrame) -> pd.DataFrame:
    """LSOA × (ethnic group, Core20 or rest) weights for :func:`eia.analysis.access.summarise`.

    Columns are ``"<group> – Core20"`` and ``"<group> – rest of area"`` (short group names).
    """
    codes = area["lsoa21_code"]
    core = area.set_index("lsoa21_code")["core20"].to_numpy()
    wide = by_lsoa(ethnic, "ethnic group residents", codes).fillna(0)
    cols = {}
    for g in [g for g in ETHNIC_GROUPS if g in wide.columns]:
        short = ETHNIC_SHORT.get(g, g)
        cols[f"{short} – Core20"] = np.where(core, wide[g].to_numpy(), 0.0)
        cols[f"{short} – rest of area"] = np.where(core, 0.0, wide[g].to_numpy())
    return pd.DataFrame(cols, index=wide.index)


def access_table(
    distances: pd.DataFrame, area: pd.DataFrame, ethnic: pd.DataFrame, threshold_km: float
) -> pd.DataFrame:
    """Access before and after for each ethnic group within Core20 and within the rest.

    The measures of :func:`eia.analysis.access.summarise` (population-weighted mean distance
    before, after and its change; people beyond the threshold before and after), with
    ``ethnic_group`` and ``core20`` columns. ``distances`` must be aligned with ``area``.
    """
    weights = core20_weights(area, ethnic)
    table = summarise(distances, weights, threshold_km)
    table = table[table["group"] != "All people"].copy()
    parts = table["group"].str.split(" – ", n=1, expand=True)
    short_to_full = {v: k for k, v in ETHNIC_SHORT.items()}
    table.insert(0, "ethnic_group", parts[0].map(short_to_full).fillna(parts[0]))
    table.insert(1, "core20", parts[1].map({"Core20": CORE20, "rest of area": REST}))
    # the net change in people beyond the threshold, every change counted however small: not
    # the judgement's "newly beyond" (burden_table's newly_far counts only changes over change_km)
    table["pop_beyond_threshold_change"] = (
        table["pop_beyond_threshold_after"] - table["pop_beyond_threshold_before"]
    )
    return table.drop(columns=["group"]).reset_index(drop=True)


def burden_table(
    distances: pd.DataFrame,
    area: pd.DataFrame,
    ethnic: pd.DataFrame,
    thresholds=None,
    *,
    option: str = "Proposed",
    unit: str = "km",
) -> pd.DataFrame:
    """The judgement's burden measures (:func:`eia.analysis.impact.burden`) for each ethnic group
    within Core20 and within the rest, with the rating each cell would get.

    ``distances`` is :func:`eia.analysis.access.measure`'s frame (``km_before``, ``km_after``);
    ``thresholds`` a :class:`eia.params.Thresholds`. Columns: ``ethnic_group``, ``core20``
    and :data:`eia.analysis.impact.BURDEN_COLUMNS` (``residents``, ``further``, ``added``,
    ``added_per_resident``, ``newly_far``, ``burden_ratio`` …), ``rating``,
    ``disproportionate``, ``sentence``. Disproportion compares a cell with the rest of
    the area, as for every other group.
    """
    codes = distances["lsoa21_code"].to_numpy()
    before = pd.Series(distances[f"{unit}_before"].to_numpy(), index=codes)
    after = pd.Series(distances[f"{unit}_after"].to_numpy(), index=codes)
    weights = core20_weights(area, ethnic)  # indexed by lsoa21_code: burden matches by key
    population = area.set_index("lsoa21_code")["population"]
    rows = impact.burden(
        before,
        after,
        {"ethnic_group_core20": weights},
        impact.Rules.from_thresholds(thresholds, unit=unit),
        option=option,
        population=population,
    )
    rows = rows[rows["dimension"] == "ethnic_group_core20"].copy()
    parts = rows["group"].str.split(" – ", n=1, expand=True)
    short_to_full = {v: k for k, v in ETHNIC_SHORT.items()}
    rows.insert(0, "ethnic_group", parts[0].map(short_to_full).fillna(parts[0]))
    rows.insert(1, "core20", parts[1].map({"Core20": CORE20, "rest of area": REST}))
    return rows.drop(columns=["dimension", "group"]).reset_index(drop=True)


# ---------------------------------------------------------------------------
# Service users by ethnic group × quintile, with linked disclosure control


def cross_counts(by_lsoa_ethnicity: pd.DataFrame, area: pd.DataFrame) -> pd.DataFrame:
    """Users by ethnic category (rows, Census groups then the unknowns) × quintile (1-5)."""
    quint = area.set_index("lsoa21_code")["imd_quintile"]
    rows = by_lsoa_ethnicity[by_lsoa_ethnicity["lsoa21_code"].isin(quint.index)]
    rows = rows.assign(imd_quintile=rows["lsoa21_code"].map(quint))
    cross = rows.pivot_table(
        index="ethnic_group", columns="imd_quintile", values="count", aggfunc="sum"
    )
    cross = cross.reindex(index=list(CATEGORIES), columns=range(1, 6)).fillna(0.0)
    cross.index.name, cross.columns.name = "ethnic_group", "imd_quintile"
    return cross


def protect_linked(
    cross: pd.DataFrame,
    row_totals: Mapping[Hashable, tuple[float, bool]],
    col_totals: Mapping[Hashable, tuple[float, bool]],
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    total_withheld: bool = False,
    extra: Sequence[tuple[Hashable, float, bool, Sequence[Hashable]]] = (),
) -> dict[tuple, str]:
    """Which cross-table cells to withhold, given the one-way tables already published.

    ``row_totals``/``col_totals`` map each row/column to ``(value, withheld)`` as the
    linked one-way tables publish them (ethnic-group counts; quintile counts); both add up
    to the total, published unless ``total_withheld``. See :func:`protect_cells`. Returns
    ``{(row, col): reason}``.
    """
    cells = {(r, c): float(cross.at[r, c]) for r in cross.index for c in cross.columns}
    links = [
        (("row", r), total, withheld, [(r, c) for c in cross.columns])
        for r, (total, withheld) in row_totals.items()
    ]
    links += [
        (("col", c), total, withheld, [(r, c) for r in cross.index])
        for c, (total, withheld) in col_totals.items()
    ]
    grand = float(cross.to_numpy().sum())
    links.append((("total",), grand, total_withheld, list(cells)))
    links += list(extra)
    return protect_cells(cells, links, min_count)


def protect_cells(
    cells: Mapping[Hashable, float],
    links: Sequence[tuple[Hashable, float, bool, Sequence[Hashable]]],
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    *,
    optional: Sequence[tuple[Hashable, Sequence[Hashable]]] = (),
) -> dict[Hashable, str]:
    """Withhold cells so that nothing withheld — among the cells or the linked totals, or
    any sum of withheld cells of one row or column — can be worked out
    (:func:`eia.stats.disclosure.protect`). ``links`` are ``(name, total, withheld, cells it adds
    up)`` for totals already published (or withheld) elsewhere; only cells are chosen as
    complements. ``optional`` are ``(name, cells it adds up)`` for totals published with the
    cells unless withholding them spares a cell (chosen first); the result names them as
    ``("link", name)`` when they are withheld.
    """
    values: dict[Hashable, float] = {("cell", k): float(v) for k, v in cells.items()}
    fixed: dict[Hashable, str | None] = {}
    constraints = []
    for name, total, withheld, parts in links:
        key = ("link", name)
        values[key] = float(total)
        fixed[key] = _link_reason(float(total), withheld, min_count)
        constraints.append((key, [("cell", p) for p in parts]))
    prefer = []
    for name, parts in optional:
        key = ("link", name)
        values[key] = float(sum(float(cells[p]) for p in parts))
        constraints.append((key, [("cell", p) for p in parts]))
        prefer.append(key)
    reasons = disclosure.protect(values, constraints, min_count, fixed=fixed, prefer=prefer)
    out = {k[1]: r for k, r in reasons.items() if k[0] == "cell"}
    return out | {k: r for k, r in reasons.items() if k in prefer}


def _link_reason(total: float, withheld: bool, min_count: int) -> str | None:
    """What a reader knows of a linked total: published (None), "<5", "*" or withheld at 0."""
    if not withheld:
        return None
    if disclosure.is_small(total, min_count):
        return disclosure.PRIMARY
    return disclosure.SECONDARY if total >= min_count else disclosure.TABLE


def _completeness_links(cross: pd.DataFrame, published) -> list:
    """The completeness shares' stated and not-stated counts per quintile (entries of the
    linked main tables) as totals of the cross table's cells, where they add up."""
    linked = getattr(published, "linked", None)
    if linked is None:
        return []
    unstated = [g for g in cross.index if g in ("Not stated", "Not known")]
    stated = [g for g in cross.index if g not in unstated]
    out = []
    for q in cross.columns:
        for kind, groups in (("stated", stated), ("unstated", unstated)):
            value = linked.value((kind, int(q)))
            parts = [(g, q) for g in groups]
            if value is None or abs(value - float(cross.loc[groups, q].sum())) > 1e-6:
                continue
            out.append(((kind, int(q)), value, (kind, int(q)) in linked.reasons, parts))
    return out


def service_years(spec) -> float | None:
    """The length in years of the service extract's declared period (None when not declared)."""
    period = getattr(spec, "period", None)
    if period is None or getattr(period, "start", None) is None or period.end is None:
        return None
    return ((period.end - period.start).days + 1) / 365.25


def uptake_table(
    service,
    area: pd.DataFrame,
    ethnic: pd.DataFrame,
    published,
    *,
    min_count: int = disclosure.DEFAULT_MIN_COUNT,
    per: float = 1000.0,
    years: float | None = None,
) -> pd.DataFrame | None:
    """Users, residents, rate and 95% CI by ethnic group × IMD quintile, disclosure-controlled.

    ``published`` is ``Uptake.published`` (:class:`eia.analysis.uptake.Published`, the one-way
    tables readers see); the cross cells are protected against them with
    :func:`protect_linked`. Rows: the five Census groups then "Not stated"/"Not known"
    (counts only) × quintiles 1-5. The table passes through
    :func:`eia.stats.disclosure.publishable` (``uptake.by_ethnic_group_imd_quintile``): withheld
    counts and everything computed from them are None; ``suppressed`` says why.
    Rates are per ``per`` residents (all ages: the pack has no ethnic group by age), and
    per year when ``years`` (the length of the extract's period) is given.
    Returns None when the extract has no ethnicity column.
    """
    if getattr(service, "by_lsoa_ethnicity", None) is None:
        return None
    cross = cross_counts(service.by_lsoa_ethnicity, area)
    eth = published.by_ethnic_group
    quint = published.by_imd_quintile
    rows = {}
    if eth is not None:
        for g, count in zip(eth["group"], eth["count"], strict=True):
            if g in cross.index:
                rows[g] = (float(cross.loc[g].sum()), count is None or pd.isna(count))
    cols = {
        q: (float(cross[q].sum()), count is None or pd.isna(count))
        for q, count in zip(range(1, 6), quint["count"], strict=True)
    }
    reasons = protect_linked(
        cross,
        rows,
        cols,
        min_count,
        total_withheld="count_in_area" in published.reasons,
        extra=_completeness_links(cross, published),
    )
    pops = area_table(area, ethnic).set_index(["ethnic_group", "imd_quintile"])["population"]
    out = []
    for g in cross.index:
        for q in cross.columns:
            count = float(cross.at[g, q])
            pop = pops.get((g, q))
            row = {
                "ethnic_group": g,
                "imd_quintile": int(q),
                "quintile": QUINTILE_LABELS[int(q)],
                "count": count,
                "population": int(pop) if pop is not None else None,
                "rate": None,
                "lower": None,
                "upper": None,
            }
            if pop:
                est = rate_ci(count, pop * (years or 1.0), multiplier=per)
                row |= {
                    "rate": float(est.value),
                    "lower": float(est.lower),
                    "upper": float(est.upper),
                }
            out.append(row)
    why = [reasons.get((r["ethnic_group"], r["imd_quintile"])) for r in out]
    return disclosure.publishable(
        pd.DataFrame(out),
        disclosure.PUBLISHED["uptake.by_ethnic_group_imd_quintile"],
        why,
        min_count=min_count,
    )


def link_cross(published, table: pd.DataFrame | None, service, area: pd.DataFrame):
    """``published`` (``Uptake.published``) with the cross table ``table``
    (:func:`uptake_table`) joined to its linked audit (``published.linked``), so that a table
    protected later against it (the per-site tables) cannot be differenced against the cross
    table either.

    The cross cells become entries ``("cross", category, quintile)`` (their reasons from
    ``table``'s ``suppressed``), related to the main tables' ethnic groups, quintiles,
    completeness counts and in-area count wherever the true counts add up. Returns
    ``published`` unchanged without a cross table or a linked audit.
    """
    linked = getattr(published, "linked", None)
    if table is None or linked is None or getattr(service, "by_lsoa_ethnicity", None) is None:
        return published
    cross = cross_counts(service.by_lsoa_ethnicity, area)
    why = {
        (str(g), int(q)): r
        for g, q, r in zip(
            table["ethnic_group"], table["imd_quintile"], table["suppressed"], strict=True
        )
    }
    values = dict(linked.values)
    reasons = dict(linked.reasons)
    for g in cross.index:
        for q in cross.columns:
            key = ("cross", str(g), int(q))
            values[key] = float(cross.at[g, q])
            reason = why.get((str(g), int(q)))
            if reason is not None and not (isinstance(reason, float) and np.isnan(reason)):
                reasons[key] = reason
    unstated = [g for g in cross.index if g in ("Not stated", "Not known")]
    stated = [g for g in cross.index if g not in unstated]
    quintiles = [int(q) for q in cross.columns]
    relations: list = [
        (("ethnic", str(g)), [("cross", str(g), q) for q in quintiles]) for g in cross.index
    ]
    relations += [(("quintile", q), [("cross", str(g), q) for g in cross.index]) for q in quintiles]
    relations += [
        ((kind, q), [("cross", str(g), q) for g in groups])
        for q in quintiles
        for kind, groups in (("stated", stated), ("unstated", unstated))
    ]
    relations.append(
        ("count_in_area", [("cross", str(g), q) for g in cross.index for q in quintiles])
    )
    holding = [
        (t, p)
        for t, p in relations
        if t in values and abs(values[t] - sum(values[k] for k in p)) <= 1e-6 * max(1.0, values[t])
    ]
    joined = disclosure.Linked(values, (*linked.constraints, *holding), reasons)
    return replace(published, linked=joined)
