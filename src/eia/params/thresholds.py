"""The numbers behind the ratings (distance, journey time, disproportion, materiality), and the options to compare."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
)

from eia.params.base import (
    DEFAULT_CHANGE_MINUTES,
    DEFAULT_MATERIAL_MINUTES,
    DEFAULT_MINUTES,
    MAX_SITES,
    MODES,
    LongText,
    Text,
    _Model,
)
from eia.params.sites import Site

__all__ = ["Thresholds", "ModeThresholds", "Option"]


class Thresholds(_Model):
    """The numbers behind the ratings and the ranking of options.

    Every default and the reason for it is in docs/methods.md ("Impact ratings").
    Distances are in km; a travel-time matrix uses the same rules in minutes.
    """

    distance_km: float = Field(5.0, gt=0, description="People beyond this distance are 'far'.")
    change_km: float = Field(
        1.0,
        gt=0,
        description="A distance change larger than this counts as an effect; smaller ones "
        "are ignored in every burden figure.",
    )
    disproportionate_ratio: float = Field(
        1.2,
        ge=1,
        description="A group's burden per resident ÷ the rest of the area's that is "
        "disproportionate (with disproportionate_km and a material burden).",
    )
    disproportionate_km: float = Field(
        0.1,
        ge=0,
        description="How much more distance per resident a group must bear than the rest "
        "of the area to be disproportionate.",
    )
    min_people: int = Field(
        100,
        ge=0,
        description="Fewest residents in a group for it to be rated; smaller groups are "
        "shown as not rated, with their figures.",
    )
    material_km: float = Field(
        0.1,
        ge=0,
        description="Distance added (or removed) per resident of a group, on average, that "
        "is material.",
    )
    material_share: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of a group newly beyond (or newly within) distance_km that is material.",
    )
    equity_weight: float = Field(
        2.0,
        ge=1,
        description="Weight of a Core20 resident's person-km in the score that ranks options "
        "that do not dominate each other.",
    )
    site_outside_km: float = Field(
        20.0,
        gt=0,
        description="A site further than this outside the area's boundary is warned about.",
    )
    uptake_change_pct: float = Field(
        5.0, ge=0, description="Expected uptake change (±%) beyond which a group is affected."
    )
    minutes: dict[Literal[MODES], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Journey time (minutes) per mode beyond which people are 'far'; defaults "
        + ", ".join(f"{m} {v:g}" for m, v in DEFAULT_MINUTES.items())
        + ".",
    )
    change_minutes: dict[Literal[MODES], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="A journey-time change (minutes) per mode larger than this counts as an "
        "effect; defaults "
        + ", ".join(f"{m} {v:g}" for m, v in DEFAULT_CHANGE_MINUTES.items())
        + ".",
    )

    material_minutes: dict[Literal[MODES], Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Minutes added (or removed) per resident that are material, per mode; "
        "defaults " + ", ".join(f"{m} {v:g}" for m, v in DEFAULT_MATERIAL_MINUTES.items()) + ".",
    )
    disproportionate_minutes: dict[Literal[MODES], Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="How many more minutes per resident a group must bear than the rest of the "
        "area to be disproportionate, per mode; defaults as material_minutes.",
    )

    def minutes_for(self, mode: str) -> float:
        """The 'far' threshold in minutes for ``mode`` (given, else the default)."""
        return float(self.minutes.get(mode, DEFAULT_MINUTES[mode]))

    def change_minutes_for(self, mode: str) -> float:
        """The change in minutes that counts as an effect for ``mode`` (given, else the default)."""
        return float(self.change_minutes.get(mode, DEFAULT_CHANGE_MINUTES[mode]))

    def for_mode(self, mode: str) -> ModeThresholds:
        """The thresholds in minutes for one mode, named as :class:`eia.analysis.impact.Rules` reads them
        (``change_min``, ``distance_min``, ``material_min``, ``disproportionate_min``)."""
        material = float(self.material_minutes.get(mode, DEFAULT_MATERIAL_MINUTES[mode]))
        return ModeThresholds(
            mode=mode,
            distance_min=self.minutes_for(mode),
            change_min=self.change_minutes_for(mode),
            material_min=material,
            disproportionate_min=float(self.disproportionate_minutes.get(mode, material)),
            min_people=self.min_people,
            material_share=self.material_share,
            disproportionate_ratio=self.disproportionate_ratio,
            equity_weight=self.equity_weight,
        )

    material_band: tuple[float, float] = Field(
        (0.9, 1.1),
        description="Representation or rate ratio inside [low, high] is not a material gap, "
        "whatever its interval (a gap needs both: interval excludes 1, value outside the band).",
    )
    ethnicity_completeness: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Warn when fewer than this share of records state an ethnic group.",
    )
    completeness_gap: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Warn when ethnicity completeness differs by more than this (as a share) "
        "between IMD quintiles.",
    )

    @field_validator("material_band")
    @classmethod
    def _band_around_one(cls, band: tuple[float, float]) -> tuple[float, float]:
        low, high = band
        if not 0 < low <= 1 <= high:
            raise ValueError("material_band must be [low, high] with 0 < low <= 1 <= high")
        return band


class ModeThresholds(_Model):
    """One travel mode's thresholds in minutes, with the unit-free ones (from ``Thresholds``)."""

    mode: Literal[MODES]
    distance_min: float = Field(gt=0)
    change_min: float = Field(gt=0)
    material_min: float = Field(ge=0)
    disproportionate_min: float = Field(ge=0)
    min_people: int = Field(ge=0)
    material_share: float = Field(ge=0, le=1)
    disproportionate_ratio: float = Field(ge=1)
    equity_weight: float = Field(ge=1)


class Option(_Model):
    """One option in an options appraisal: its own proposed sites."""

    name: Text = Field(description="The option's name, unique within the proposal.")
    description: LongText = Field("", description="What the option does.")
    proposed: list[Site] = Field(
        min_length=1, max_length=MAX_SITES, description="The option's sites."
    )
