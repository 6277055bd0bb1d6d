"""The equity frontier's block: candidate sites, how many to keep, sites that must stay."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from eia.params.base import MAX_SITES, Text, _Model
from eia.params.sites import Site

__all__ = ["Explore"]


class Explore(_Model):
    """Which site sets to explore for the equity frontier (docs/methods.md, "The equity frontier")."""

    candidates: Literal["current"] | list[Literal["current"] | Site] = Field(
        "current",
        max_length=MAX_SITES,
        description="Sites the sets are chosen from: `current` (the current sites), or a list "
        "of sites ({hospital: ...} or {name, lat, lon}) that may include `current`. The "
        "options' sites are always candidates.",
    )
    keep: int | list[int] = Field(
        description="How many sites the service runs from: a number, or a list such as [2, 3]."
    )
    must_keep: list[Text] = Field(
        default_factory=list, description="Names of candidate sites every set must keep."
    )

    @field_validator("keep")
    @classmethod
    def _sizes(cls, value: int | list[int]) -> int | list[int]:
        sizes = [value] if isinstance(value, int) else value
        if not sizes:
            raise ValueError("give at least one number of sites to keep")
        if any(k < 1 for k in sizes):
            raise ValueError("every number of sites to keep must be 1 or more")
        if len(set(sizes)) != len(sizes):
            raise ValueError("each number of sites to keep once")
        return value

    @property
    def sizes(self) -> list[int]:
        """The numbers of sites to keep, ascending."""
        return sorted([self.keep] if isinstance(self.keep, int) else self.keep)

    def candidate_sites(self, current: list[Site]) -> list[Site]:
        """The candidate sites, with `current` expanded to ``current``."""
        items = [self.candidates] if isinstance(self.candidates, str) else self.candidates
        out: list[Site] = []
        for item in items:
            out += list(current) if item == "current" else [item]
        return out
