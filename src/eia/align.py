"""Data contracts between modules: per-LSOA frames line up by ``lsoa21_code``, never by position.

:func:`by_lsoa` returns a frame indexed by ``lsoa21_code`` (from its index or
its column) and raises :class:`~eia.errors.DataMismatchError` when codes are
missing, repeated or unexpected, so a shuffled or mislabelled frame gives the
same answer or a clear error, never a silently wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from eia.errors import DataMismatchError

KEY = "lsoa21_code"


def by_lsoa(frame: pd.DataFrame, what: str, codes: Sequence[str] | pd.Index | None = None):
    """``frame`` indexed by ``lsoa21_code`` and, given ``codes``, in their order.

    ``what`` names the frame in the error. Raises :class:`DataMismatchError` when the
    frame has no ``lsoa21_code``, repeats a code, or (with ``codes``) lacks one of
    them or holds others.
    """
    if KEY in getattr(frame, "columns", ()):
        frame = frame.set_index(KEY)
    elif frame.index.name != KEY:
        raise DataMismatchError(f"{what} has no {KEY} column or index to match LSOAs by")
    if frame.index.has_duplicates:
        n = int(frame.index.duplicated().sum())
        raise DataMismatchError(f"{what} repeats {n} LSOA code(s)")
    if codes is None:
        return frame
    codes = pd.Index(codes, name=KEY)
    missing = codes.difference(frame.index)
    extra = frame.index.difference(codes)
    if len(missing) or len(extra):
        raise DataMismatchError(
            f"{what} does not cover the same LSOAs: {len(missing)} missing, {len(extra)} not "
            "in the area"
        )
    return frame.reindex(codes)


def series_by_lsoa(
    values: pd.Series, what: str, codes: Sequence[str] | pd.Index | None = None
) -> pd.Series:
    """``values`` (indexed by LSOA code) checked like :func:`by_lsoa` and, given ``codes``, in their order.

    A Series carries its LSOA codes in its index whatever the index is named.
    """
    frame = values.to_frame("value").rename_axis(KEY)
    return by_lsoa(frame, what, codes)["value"].rename(values.name)
