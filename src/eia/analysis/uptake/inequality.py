"""The slope index of inequality across IMD deciles (or quintiles)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from eia import stats
from eia.analysis.uptake.rates import DSR_COLUMNS, PER

__all__ = ["inequality_slope"]


_SII_SEED = 20_210_321  # Census day: fixed so the SII's limits are reproducible


def inequality_slope(
    deciles: pd.DataFrame,
    quintiles: pd.DataFrame | None = None,
    *,
    use: str = "decile",
    repetitions: int = 100_000,
    seed: int = _SII_SEED,
    per: float = PER,
    standardised: bool | None = None,
) -> dict:
    """The slope index of inequality of the rate across IMD deciles (or quintiles).

    Uses :func:`eia.stats.inequality` on the rate per year with the rates' 95% limits
    (log scale, "rate", when every rate is above 0; else "normal"), quantile 1 =
    most deprived, over the levels with residents in the area (at least 5).
    The rates are the age-standardised ones (``dsr``, ``dsr_lower``,
    ``dsr_upper``) when every level has one and ``standardised`` is not False,
    else the crude ones. ``use="quintile"`` fits the quintile table instead.
    Returns ``sii, sii_lower, sii_upper`` (per ``per`` per year, least minus most
    deprived end), ``quantiles``, ``value_type``, ``per``, ``standardised`` and
    ``gradient`` (``"none"`` when the interval includes 0, else ``"more_deprived"`` or
    ``"less_deprived"``: where the rate is higher); or ``sii`` None with ``reason`` (a
    code: ``no_table``; ``too_few``, with ``levels`` and ``needed``; ``no_dsr``) when it
    cannot be fitted. The words are the report's (``report/prose/uptake.j2``).
    """
    table, key = (deciles, "imd_decile") if use == "decile" else (quintiles, "imd_quintile")
    out: dict[str, Any] = {
        "quantiles": use,
        "per": per,
        "sii": None,
        "sii_lower": None,
        "sii_upper": None,
        "standardised": False,
    }
    if table is None:
        return {**out, "reason": "no_table"}
    rows = table[table["population"] > 0]
    if len(rows) < stats.MIN_QUANTILES:
        return {
            **out,
            "reason": "too_few",
            "levels": len(rows),
            "needed": stats.MIN_QUANTILES,
        }
    cols = ("rate", "lower", "upper")
    has_dsr = "dsr" in rows and pd.to_numeric(rows["dsr"], errors="coerce").notna().all()
    if standardised is not False and has_dsr:
        cols = DSR_COLUMNS
        out["standardised"] = True
    elif standardised:
        return {**out, "reason": "no_dsr"}
    rate = rows[cols[0]].astype(float).to_numpy()
    value_type = "rate" if (rate > 0).all() else "normal"
    result = stats.sii(
        rows[key].to_numpy(),
        rows["population"].astype(float).to_numpy(),
        rate,
        lower_cl=rows[cols[1]].astype(float).to_numpy(),
        upper_cl=rows[cols[2]].astype(float).to_numpy(),
        value_type=value_type,
        repetitions=repetitions,
        seed=seed,
    )
    sii, lo, hi = result["sii"], result["sii_lower"], result["sii_upper"]
    if lo <= 0 <= hi:
        gradient = "none"
    elif sii < 0:
        gradient = "more_deprived"
    else:
        gradient = "less_deprived"
    return {**out, **result, "value_type": value_type, "gradient": gradient}
