"""Proficiency in English: residents who cannot speak English well or at all, per LSOA.

Census 2021 (TS029, usual residents aged 3 and over) publishes proficiency in
English for MSOAs, not LSOAs. Each LSOA nests in one MSOA, so an LSOA's figure
here is its **MSOA's figure apportioned by population**: the MSOA's count times
the LSOA's share of the MSOA's Census 2021 usual residents. Every LSOA of an
MSOA therefore has the same share; the counts add up exactly to the MSOA's.
Reports say so wherever they show these figures.

"Cannot speak English well or at all" is TS029's "Cannot speak English well"
plus "Cannot speak English"; its key is :data:`KEY`
(``cannot_speak_english_well_or_at_all``). The old key
``cannot_speak_english_well`` (:data:`DEPRECATED_KEY`), which held the same
figure under a name that said less, is still written by :func:`summary` for one
release and will then be removed.
"""

from __future__ import annotations

import pandas as pd

from eia.refdata import Pack

#: The key of residents who cannot speak English well or at all (TS029's two categories).
KEY = "cannot_speak_english_well_or_at_all"
#: The same figure's old key, kept in :func:`summary` for one release (deprecated).
DEPRECATED_KEY = "cannot_speak_english_well"

__all__ = [
    "CAN",
    "CANNOT",
    "DEPRECATED_KEY",
    "GROUPS",
    "KEY",
    "METHOD",
    "by_lsoa",
    "summary",
    "weights",
]

#: The two groups of the ``language`` dimension (residents aged 3+).
CANNOT = "Cannot speak English well or at all"
CAN = "Speaks English well, very well or as main language"
GROUPS = (CANNOT, CAN)

METHOD = (
    "Census 2021 TS029 proficiency in English (usual residents aged 3 and over) is published "
    "for MSOAs; each LSOA's figure is its MSOA's apportioned by the LSOA's share of the MSOA's "
    "Census 2021 usual residents, so every LSOA in an MSOA has the MSOA's share."
)


def by_lsoa(pack: Pack, codes: list[str]) -> pd.DataFrame:
    """Per LSOA (index ``lsoa21_code``, in the order of ``codes``), apportioned from its MSOA.

    Columns: ``msoa21_code``, ``residents_3plus``, :data:`KEY` (cannot speak English well
    or at all), ``share`` (the MSOA's share: the same for every LSOA in it).
    """
    lookup = pack.msoa_lookup()[["lsoa21_code", "msoa21_code"]]
    pop = pack.population().rename("population").reset_index()
    lookup = lookup.merge(pop, on="lsoa21_code", how="left").fillna({"population": 0})
    msoa_pop = lookup.groupby("msoa21_code")["population"].sum().rename("msoa_population")
    prof = pack.proficiency().set_index("msoa21_code")
    cannot = (prof["cannot_speak_english_well"] + prof["cannot_speak_english"]).rename("cannot")
    rows = lookup.set_index("lsoa21_code").reindex(codes)
    fraction = rows["population"] / rows["msoa21_code"].map(msoa_pop)
    residents = rows["msoa21_code"].map(prof["total_residents_3plus"]) * fraction
    cant = rows["msoa21_code"].map(cannot) * fraction
    out = pd.DataFrame(
        {
            "msoa21_code": rows["msoa21_code"],
            "residents_3plus": residents.astype(float),
            KEY: cant.astype(float),
        },
        index=pd.Index(codes, name="lsoa21_code"),
    )
    out["share"] = out[KEY] / out["residents_3plus"]
    return out


def weights(pack: Pack, codes: list[str]) -> pd.DataFrame:
    """The ``language`` dimension: residents aged 3+ per LSOA in the two groups (floats)."""
    frame = by_lsoa(pack, codes)
    out = pd.DataFrame(
        {
            CANNOT: frame[KEY].fillna(0.0),
            CAN: (frame["residents_3plus"] - frame[KEY]).fillna(0.0),
        },
        index=frame.index,
    )
    out.columns.name = "language"
    return out


def summary(frame: pd.DataFrame, lsoas: list[str] | None = None) -> dict:
    """``{cannot_speak_english_well_or_at_all, residents_3plus, share}`` over ``lsoas``
    (default: all), plus the deprecated ``cannot_speak_english_well`` (the same figure)."""
    part = frame if lsoas is None else frame.reindex(lsoas)
    cannot = float(part[KEY].sum())
    residents = float(part["residents_3plus"].sum())
    return {
        KEY: cannot,
        DEPRECATED_KEY: cannot,  # deprecated: the same figure as KEY; removed next release
        "residents_3plus": residents,
        "share": cannot / residents if residents else None,
        "lsoas": int(len(part)),
        "method": METHOD,
    }
