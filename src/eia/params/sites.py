"""Where: sites (a hospital in the reference data or a named point), sites now and proposed, and the assessment area."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from eia.params.base import (
    ICB_PATTERN,
    LSOA_PATTERN,
    LTLA_PATTERN,
    MAX_LSOAS,
    MAX_SITES,
    Text,
    _Model,
)

__all__ = ["Site", "Sites", "Area"]


class Site(_Model):
    """A service site: a hospital from the reference pack by name, or a named point."""

    name: Text | None = Field(None, description="Label shown on maps and tables.")
    id: Text | None = Field(
        None,
        description="The site's destination in travel-time matrices (a postcode or ODS code); "
        "without it the site's name is matched.",
    )
    hospital: Text | None = Field(
        None,
        description="A hospital from the reference pack: its name (any case or spacing; when "
        "several sites share it, the one in the area, else the nearest within 20 km) or its "
        "site code from `eia lookup hospital`.",
    )
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude, WGS84.")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude, WGS84.")

    @model_validator(mode="after")
    def _one_location(self) -> Site:
        has_point = self.lat is not None or self.lon is not None
        if self.hospital and has_point:
            raise ValueError("give either hospital or lat/lon, not both")
        if not self.hospital:
            if self.lat is None or self.lon is None:
                raise ValueError("a site needs hospital: NAME, or name with both lat and lon")
            if not self.name:
                raise ValueError("a site given by lat/lon needs a name")
        return self

    @property
    def label(self) -> str:
        """The name shown for this site."""
        return self.name or self.hospital or ""

    @property
    def destination(self) -> str:
        """What this site is called in a travel-time matrix: its ``id``, else its name."""
        return self.id or self.label


class Sites(_Model):
    """Where the service is now (``current``) and where it would be (``proposed``)."""

    current: list[Site] = Field(
        min_length=1, max_length=MAX_SITES, description="Sites now (at least one)."
    )
    proposed: list[Site] = Field(
        default_factory=list, max_length=MAX_SITES, description="Sites after the change."
    )


def _codes(value: Any) -> Any:
    """Area codes in any case (``qt1`` is ``QT1``); one code may be written without a list."""
    if isinstance(value, str):
        return value.strip().upper()
    if isinstance(value, list):
        return [v.strip().upper() if isinstance(v, str) else v for v in value]
    return value


def _code_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Area(_Model):
    """The assessment area: exactly one of an ICB, local authorities or LSOAs."""

    @field_validator("icb", "ltla", "lsoa", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return _codes(value)

    @field_validator("ltla", "lsoa", mode="before")
    @classmethod
    def _one_or_a_list(cls, value: Any) -> Any:
        return _code_list(value)

    icb: Annotated[str, StringConstraints(pattern=ICB_PATTERN)] | None = Field(
        None, description="ICB code, ONS (E54000060) or NHS (QT1)."
    )
    ltla: list[Annotated[str, StringConstraints(pattern=LTLA_PATTERN)]] | None = Field(
        None, min_length=1, max_length=400, description="Local authority district codes (2024)."
    )
    lsoa: list[Annotated[str, StringConstraints(pattern=LSOA_PATTERN)]] | None = Field(
        None, min_length=1, max_length=MAX_LSOAS, description="LSOA 2021 codes in England."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Area:
        given = [k for k in ("icb", "ltla", "lsoa") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of icb, ltla or lsoa")
        return self

    @property
    def spec(self) -> dict[str, Any]:
        """The area as a plain mapping for :func:`eia.population.area.select_lsoas`."""
        return self.model_dump(exclude_none=True)
