"""What every statistic shares: its result type, the 2013 European Standard Population, checked and coerced inputs, z-values and Byar's limits."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from eia.errors import StatsInputError

__all__ = [
    "Values",
    "ESP2013_AGE_BANDS",
    "ESP2013",
    "SMALL_COUNT",
    "MIN_QUANTILES",
    "MAX_QUANTILES",
    "MIN_REPETITIONS",
    "Estimate",
]


#: Result type of a vectorised statistic: float for scalar input, ndarray for
#: array input, Series (same index) for Series input.
Values: TypeAlias = float | npt.NDArray[np.float64] | pd.Series

#: The 19 five-year age bands of the 2013 European Standard Population.
ESP2013_AGE_BANDS: tuple[str, ...] = (
    "0-4",
    "5-9",
    "10-14",
    "15-19",
    "20-24",
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65-69",
    "70-74",
    "75-79",
    "80-84",
    "85-89",
    "90+",
)

#: 2013 European Standard Population (Eurostat 2013; as ``esp2013`` in
#: PHEindicatormethods): standard population per age band of
#: :data:`ESP2013_AGE_BANDS`, summing to 100,000. Read-only.
ESP2013: npt.NDArray[np.float64] = np.array(
    [
        5000,
        5500,
        5500,
        5500,
        6000,
        6000,
        6500,
        7000,
        7000,
        7000,
        7000,
        6500,
        6000,
        5500,
        5000,
        4000,
        2500,
        1500,
        1000,
    ],
    dtype=float,
)
ESP2013.flags.writeable = False

#: Counts below this use exact Poisson limits in :func:`rate_ci`; DSRs whose
#: total count is below it are not calculated (PHE practice).
SMALL_COUNT = 10

#: SII needs between these numbers of quantiles (as ``phe_sii``).
MIN_QUANTILES, MAX_QUANTILES = 5, 100

#: Fewest simulation repetitions :func:`sii` accepts (as ``phe_sii``).
MIN_REPETITIONS = 1000


class Estimate(NamedTuple):
    """A statistic with its lower and upper confidence limits."""

    value: Values
    lower: Values
    upper: Values


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------


class _Out:
    """How to give results back: as floats, arrays or Series with the input's index."""

    def __init__(self, shape: tuple[int, ...], index: pd.Index | None):
        self.shape = shape
        self.index = index

    def __call__(self, arr: np.ndarray) -> Values:
        arr = np.asarray(arr, dtype=float)
        if self.shape == ():
            return float(arr.reshape(()))
        arr = np.broadcast_to(arr, self.shape).copy()
        if self.index is not None:
            return pd.Series(arr, index=self.index)
        return arr


def _plain(x: Any) -> Any:
    """A NumPy scalar as the Python scalar it holds, for readable messages."""
    return x.item() if isinstance(x, np.generic) else x


def _where(arr: np.ndarray, mask: np.ndarray, index: pd.Index | None) -> str:
    """Describe the first position where ``mask`` holds, for an error message."""
    if arr.ndim == 0:
        return f"got {arr.item()!r}"
    pos = tuple(int(i) for i in np.argwhere(mask)[0])
    where = (
        f"index {_plain(index[pos[0]])!r}"
        if index is not None
        else f"position {pos[0] if len(pos) == 1 else pos}"
    )
    n = int(np.count_nonzero(mask))
    more = f" (and {n - 1} more)" if n > 1 else ""
    return f"got {_plain(arr[pos])!r} at {where}{more}"


def _to_float_array(name: str, x: Any) -> tuple[np.ndarray, pd.Index | None]:
    """Convert one argument to a float array, rejecting non-numeric or infinite values."""
    index = None
    if isinstance(x, pd.DataFrame):
        raise StatsInputError(
            f"{name} must be a scalar, sequence, array or Series, not a DataFrame"
        )
    if isinstance(x, pd.Series):
        index = x.index
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        raise StatsInputError(f"{name} must be numeric, not boolean")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise StatsInputError(f"{name} must be numeric; got {x!r}") from None
    if arr.dtype.kind not in "iuf":
        raise StatsInputError(f"{name} must be numeric; got values of type {arr.dtype}")
    arr = arr.astype(float)
    if np.isinf(arr).any():
        raise StatsInputError(f"{name} must be finite; {_where(arr, np.isinf(arr), index)}")
    return arr, index


def _coerce(args: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], _Out]:
    """Convert arguments to float arrays of one common shape (scalars broadcast)."""
    arrays: dict[str, np.ndarray] = {}
    index: pd.Index | None = None
    index_name = ""
    shape: tuple[int, ...] = ()
    shape_name = ""
    for name, x in args.items():
        arr, idx = _to_float_array(name, x)
        if idx is not None:
            if index is None:
                index, index_name = idx, name
            elif not idx.equals(index):
                raise StatsInputError(
                    f"{name} is a Series whose index differs from that of {index_name}; "
                    "align them first (e.g. with .reindex)"
                )
        if arr.ndim > 0:
            if shape == ():
                shape, shape_name = arr.shape, name
            elif arr.shape != shape:
                raise StatsInputError(
                    f"{name} has length {_describe_shape(arr.shape)} but {shape_name} has "
                    f"length {_describe_shape(shape)}; they must match"
                )
        arrays[name] = arr
    out = _Out(shape, index)
    arrays = {k: np.broadcast_to(v, shape) for k, v in arrays.items()}
    return arrays, out


def _describe_shape(shape: tuple[int, ...]) -> str:
    return str(shape[0]) if len(shape) == 1 else str(shape)


def _check_non_negative(name: str, arr: np.ndarray, index: pd.Index | None = None) -> None:
    bad = arr < 0  # NaN compares False: missing values are allowed
    if bad.any():
        raise StatsInputError(f"{name} must not be negative; {_where(arr, bad, index)}")


def _z(confidence: Any) -> float:
    """Two-sided standard normal quantile for ``confidence``, after checking it."""
    if isinstance(confidence, bool) or not isinstance(confidence, Real):
        raise StatsInputError(f"confidence must be a number between 0 and 1; got {confidence!r}")
    c = float(confidence)
    if not 0.0 < c < 1.0:  # also rejects NaN
        raise StatsInputError(
            f"confidence must be strictly between 0 and 1 (e.g. 0.95 for 95%); got {confidence!r}"
        )
    return float(special.ndtri(1.0 - (1.0 - c) / 2.0))  # scipy.stats.norm.ppf


def _check_multiplier(multiplier: Any, *, positive: bool) -> float:
    if isinstance(multiplier, bool) or not isinstance(multiplier, Real):
        raise StatsInputError(f"multiplier must be a number; got {multiplier!r}")
    m = float(multiplier)
    if not math.isfinite(m) or m == 0 or (positive and m < 0):
        need = "a positive number" if positive else "a non-zero number"
        raise StatsInputError(f"multiplier must be {need}; got {multiplier!r}")
    return m


def _byars_lower(x: np.ndarray, z: float) -> np.ndarray:
    """Byar's lower limit for a Poisson count: x (1 - 1/(9x) - z/(3 sqrt x))^3."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3


def _byars_upper(x: np.ndarray, z: float) -> np.ndarray:
    """Byar's upper limit for a Poisson count: (x+1) (1 - 1/(9(x+1)) + z/(3 sqrt(x+1)))^3."""
    x1 = x + 1.0
    return x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
