"""NHS ETHNIC CATEGORY codes → the five Census 2021 ethnic groups.

NHS data sets record ethnicity with the NHS Data Dictionary's ETHNIC CATEGORY
(the 2001 census's 16 categories plus "not stated"): one national code letter,
optionally followed by a second character for local use that groups under it
(e.g. ``CA`` is a local sub-category of ``C``). ``Z`` means the person was
asked and chose not to say; the default code ``99`` means it is not known.
Some extracts (HES) use ``X`` for "not known".

Census 2021's five high-level groups differ from the 2001 grouping in two
ways that matter here: "Chinese" (NHS code ``R``) is part of the *Asian* group,
and "Arab" is part of *Other ethnic group* (NHS code ``S``). Gypsy or Irish
Traveller and Roma (no NHS national code) are *White*.

:func:`to_census_group` maps a column of codes or common text labels to the
five groups plus two categories kept apart: :data:`NOT_STATED` and
:data:`NOT_KNOWN` (blank, ``99``, ``X`` and anything unrecognised). These two
are reported, but left out of group rates, since their members' groups are
unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from eia.refdata.groups import CATEGORIES as CATEGORIES
from eia.refdata.groups import ETHNIC_GROUPS as ETHNIC_GROUPS
from eia.refdata.groups import NOT_KNOWN as NOT_KNOWN
from eia.refdata.groups import NOT_STATED as NOT_STATED

ASIAN, BLACK, MIXED, WHITE, OTHER = ETHNIC_GROUPS

#: NHS Data Dictionary ETHNIC CATEGORY national codes: (description, Census 2021 group).
NHS_CODES: dict[str, tuple[str, str]] = {
    "A": ("White - British", WHITE),
    "B": ("White - Irish", WHITE),
    "C": ("White - Any other White background", WHITE),
    "D": ("Mixed - White and Black Caribbean", MIXED),
    "E": ("Mixed - White and Black African", MIXED),
    "F": ("Mixed - White and Asian", MIXED),
    "G": ("Mixed - Any other mixed background", MIXED),
    "H": ("Asian or Asian British - Indian", ASIAN),
    "J": ("Asian or Asian British - Pakistani", ASIAN),
    "K": ("Asian or Asian British - Bangladeshi", ASIAN),
    "L": ("Asian or Asian British - Any other Asian background", ASIAN),
    "M": ("Black or Black British - Caribbean", BLACK),
    "N": ("Black or Black British - African", BLACK),
    "P": ("Black or Black British - Any other Black background", BLACK),
    "R": ("Other Ethnic Groups - Chinese", ASIAN),
    "S": ("Other Ethnic Groups - Any other ethnic group", OTHER),
    "Z": ("Not stated", NOT_STATED),
    "99": ("Not known", NOT_KNOWN),
}

#: Codes outside the national list that extracts commonly carry (HES uses X for not known).
EXTRA_CODES = {"X": NOT_KNOWN}


def _norm(text: str) -> str:
    """Lower case, '&' → 'and', punctuation → space, single spaces."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def _labels() -> dict[str, str]:
    labels: dict[str, str] = {}
    for description, group in NHS_CODES.values():
        labels[_norm(description)] = group
        # "White - British" → also "British"; "Mixed - White and Asian" → "White and Asian".
        tail = description.split(" - ", 1)[-1]
        labels.setdefault(_norm(tail), group)
    for group in ETHNIC_GROUPS:
        labels[_norm(group)] = group
    extra = {
        # Census 2021 detailed categories and common variants.
        "white english welsh scottish northern irish or british": WHITE,
        "english welsh scottish northern irish or british": WHITE,
        "white british": WHITE,
        "white irish": WHITE,
        "white other": WHITE,
        "other white": WHITE,
        "any other white background": WHITE,
        "gypsy or irish traveller": WHITE,
        "white gypsy or irish traveller": WHITE,
        "roma": WHITE,
        "white roma": WHITE,
        "mixed": MIXED,
        "mixed white and black caribbean": MIXED,
        "mixed white and black african": MIXED,
        "mixed white and asian": MIXED,
        "mixed other": MIXED,
        "other mixed": MIXED,
        "any other mixed background": MIXED,
        "mixed or multiple ethnic groups": MIXED,
        "asian": ASIAN,
        "asian or asian british": ASIAN,
        "indian": ASIAN,
        "pakistani": ASIAN,
        "bangladeshi": ASIAN,
        "chinese": ASIAN,
        "asian chinese": ASIAN,
        "asian other": ASIAN,
        "other asian": ASIAN,
        "any other asian background": ASIAN,
        "black": BLACK,
        "black or black british": BLACK,
        "caribbean": BLACK,
        "african": BLACK,
        "black caribbean": BLACK,
        "black african": BLACK,
        "black other": BLACK,
        "other black": BLACK,
        "any other black background": BLACK,
        "arab": OTHER,
        "other arab": OTHER,
        "other": OTHER,
        "other ethnic group": OTHER,
        "other ethnic groups": OTHER,
        "any other ethnic group": OTHER,
        "other any other ethnic group": OTHER,
        "not stated": NOT_STATED,
        "declined": NOT_STATED,
        "patient declined": NOT_STATED,
        "refused": NOT_STATED,
        "prefer not to say": NOT_STATED,
        "not known": NOT_KNOWN,
        "unknown": NOT_KNOWN,
        "not recorded": NOT_KNOWN,
        "missing": NOT_KNOWN,
        "null": NOT_KNOWN,
        "na": NOT_KNOWN,
        "n a": NOT_KNOWN,
    }
    for label, group in extra.items():
        labels.setdefault(label, group)
    return labels


#: Normalised text labels (see :func:`_norm`) → group.
TEXT_LABELS = _labels()


def classify(value: object) -> tuple[str, bool]:
    """One recorded value → (category, recognised).

    ``category`` is one of :data:`CATEGORIES`. Blank values are "Not known" and
    count as recognised (nothing was recorded); an unrecognised value is "Not
    known" with ``recognised`` False, so it can be reported.
    """
    if value is None or (isinstance(value, float) and value != value):
        return NOT_KNOWN, True
    text = str(value).strip()
    if not text:
        return NOT_KNOWN, True
    compact = re.sub(r"\s+", "", text).upper()
    if compact in ("99", "99.0"):
        return NOT_KNOWN, True
    if compact in EXTRA_CODES:
        return EXTRA_CODES[compact], True
    if compact in ("NA", "N/A", "NAN", "NULL", "NONE"):
        # Missing-value markers from other software; "NA" is far likelier that than
        # a local sub-code of N (African).
        return NOT_KNOWN, True
    # A national code letter, optionally followed by one local sub-code character.
    if 1 <= len(compact) <= 2 and compact[0] in NHS_CODES and compact[0] != "9":
        return NHS_CODES[compact[0]][1], True
    label = _norm(text)
    if label in TEXT_LABELS:
        return TEXT_LABELS[label], True
    # "A - White British", "A: British", "(A) White British": a code letter then its label.
    match = re.match(r"^\(?([A-HJ-NPRSZ])\)?\s*[-:.)]\s*\S", text.strip(), re.IGNORECASE)
    if match:
        return NHS_CODES[match.group(1).upper()][1], True
    # "White - British" style labels whose head names a group ("Asian or Asian British - Other").
    head = _norm(re.split(r"\s[-:/]\s|:", text, maxsplit=1)[0])
    if head in TEXT_LABELS and TEXT_LABELS[head] in ETHNIC_GROUPS:
        return TEXT_LABELS[head], True
    return NOT_KNOWN, False


def to_census_group(values: Iterable | pd.Series) -> pd.Series:
    """Map a column of NHS ethnic category codes or labels to Census 2021 categories.

    Accepts codes in any case with stray spaces (``" a"``, ``"Cx"``, ``"99"``, ``"z"``)
    and common text labels ("White - British", "Chinese", "Not stated").
    Returns a Series of strings from :data:`CATEGORIES`, same index as ``values``.
    Each distinct value is classified once, so long columns map quickly.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    mapped = [classify(u)[0] for u in uniques]
    out = pd.Series(
        [mapped[c] if c >= 0 else NOT_KNOWN for c in codes] if len(codes) else [],
        index=series.index,
        dtype=object,
    )
    return out


def unrecognised(values: Iterable) -> list[str]:
    """The distinct values :func:`classify` does not recognise (mapped to "Not known")."""
    seen = []
    for value in pd.unique(pd.Series(list(values), dtype=object)):
        if not classify(value)[1]:
            seen.append(str(value))
    return seen


def mapping_table() -> pd.DataFrame:
    """The NHS code → Census 2021 group mapping as a table (code, description, census_group)."""
    return pd.DataFrame(
        [
            {"code": code, "description": description, "census_group": group}
            for code, (description, group) in NHS_CODES.items()
        ]
    )
