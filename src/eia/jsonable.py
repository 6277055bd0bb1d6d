"""The one JSON serialiser: results (numpy, pandas, floats) as JSON-ready values for metrics.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def clean(value: Any) -> Any:
    """``value`` as plain JSON types: numpy scalars unwrapped, floats rounded to 6 decimals,
    NaN, infinities, ``pd.NA`` and ``pd.NaT`` as null, mapping keys as text."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def write_json(payload: dict, path: Path | str) -> Path:
    """Write ``payload`` to ``path`` as metrics.json is written: UTF-8, indented, keys sorted
    (stable, so two runs can be compared line by line)."""
    path = Path(path)
    path.write_text(
        json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path
