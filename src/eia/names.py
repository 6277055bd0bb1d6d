"""Names people type: cleaned of invisible characters, compared as they look.

A params file's names (options, sites, labels) reach a board report. Text that
*looks* like one thing and *is* another misleads: a right-to-left override
reverses what follows it, a zero-width space makes ``"Proposed\u200b"`` a
different name that reads the same, and a Cyrillic ``о`` makes ``"Nоw"`` look
like the baseline ``"Now"``.

* :func:`clean` removes invisible format characters (zero-width, bidi controls,
  soft hyphens; Unicode category ``Cf``) from any text; with ``nfkc=True`` it
  also applies Unicode NFKC normalisation (full-width ``Ｎｏｗ`` → ``Now``).
* :func:`skeleton` is what a name looks like: cleaned, NFKC, every character
  that is a homoglyph of a Latin letter or digit replaced by it
  (``confusable_homoglyphs``, Unicode's confusables data), case folded, and
  only letters and digits kept. Two names with one skeleton read alike.
* :func:`looks_like_baseline` says which baseline name (``Now``, ``Now (do
  nothing)``, ``Proposed``, ``Current``, ``Do nothing``, ``Baseline``) a name
  reads as, if any.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

__all__ = ["BASELINE_NAMES", "clean", "looks_like_baseline", "skeleton"]

#: Names that mean the baseline or the proposal itself in a report: an option may not use
#: them, or anything that reads like them.
BASELINE_NAMES = (
    "Now",
    "Now (do nothing)",
    "Do nothing",
    "Proposed",
    "Current",
    "Baseline",
    "Status quo",
)


def clean(text: object, *, nfkc: bool = False) -> object:
    """``text`` without invisible format characters (and NFKC-normalised with ``nfkc``).

    Anything that is not a string is returned as it is (a validator runs before types
    are checked). Tabs and newlines are kept; zero-width spaces and joiners, bidi
    embeddings, overrides and isolates, soft hyphens and byte-order marks go.
    """
    if not isinstance(text, str):
        return text
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


@cache
def _latin(ch: str) -> str:
    if ch.isascii():
        return ch
    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"])
    for item in found or []:
        for glyph in item.get("homoglyphs", []):
            candidate = glyph.get("c", "")
            if candidate.isascii() and candidate.isalnum():
                return candidate
    return ch


def skeleton(name: str) -> str:
    """What ``name`` looks like: cleaned, NFKC, Latin homoglyphs, case folded, letters and
    digits only. ``"Nоw"`` (Cyrillic о), ``"NOW "`` and ``"Now\u200b"`` all give ``"now"``."""
    text = str(clean(str(name), nfkc=True))
    text = "".join(_latin(ch) for ch in text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


_BASELINE = {skeleton(n): n for n in BASELINE_NAMES}


def looks_like_baseline(name: str) -> str | None:
    """The baseline name ``name`` reads as (``"Now"``, ``"Proposed"`` ...), or None."""
    return _BASELINE.get(skeleton(name))
