"""The proposal itself (:class:`Proposal`), with its mitigations, sign-off, self-assessment scores, limits and publishing options."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from eia import names
from eia.params.base import (
    MAX_OPTIONS,
    NARRATIVE_KEYS,
    Date,
    LongText,
    Slug,
    Text,
    _Model,
    template_label,
)
from eia.params.data import (
    HIGHER_USE_IS,
    OPT_IN_DIMENSIONS,
    AccessSpec,
    Denominators,
    Disclosure,
    Effect,
    Population,
    Service,
    _overlap,
    _within,
    age_range,
)
from eia.params.explore import Explore
from eia.params.kinds import KINDS
from eia.params.sites import Area, Site, Sites
from eia.params.thresholds import Option, Thresholds

__all__ = [
    "Action",
    "SignOff",
    "Rater",
    "OutcomeScore",
    "PlanAction",
    "SelfAssessment",
    "Limits",
    "Publish",
    "RESERVED_SCENARIOS",
    "Proposal",
]


class Action(_Model):
    """A mitigation or action: what, who owns it, by when, and where it stands."""

    action: Text = Field(description="What will be done.")
    owner: Text = Field(description="Who owns it (role or name).")
    due: Date | None = Field(None, description="Due date, YYYY-MM-DD or DD/MM/YYYY.")
    status: Literal["planned", "in progress", "done", "not started"] = Field(
        "planned", description="Where it stands."
    )


class SignOff(_Model):
    """A sign-off: who, in what role, when, and the decision."""

    name: Text = Field(description="Who signed off.")
    role: Text = Field(description="Their role.")
    date: Date | None = Field(None, description="Date, YYYY-MM-DD or DD/MM/YYYY.")
    decision: Text | None = Field(None, description="The decision recorded.")


class Rater(_Model):
    """Who rated an outcome: a person or group, and in what capacity."""

    name: Text = Field(description="A person, team or group (e.g. 'Maternity Voices Partnership').")
    kind: Literal[
        "staff", "community partner", "patient or carer", "board member", "staff network", "other"
    ] = Field("staff", description="In what capacity they rated.")


class OutcomeScore(_Model):
    """One outcome's score in a self-assessment, with its evidence and raters."""

    outcome: Text = Field(description="The framework's outcome id, e.g. 1A for EDS 2022.")
    score: int = Field(description="A score from the framework's levels (EDS 2022: 0 to 3).")
    evidence: list[Text] = Field(
        min_length=1, description="What the score rests on (documents, data, testimony)."
    )
    raters: list[Rater] = Field(default_factory=list, description="Who agreed the score.")
    notes: LongText = Field("", description="Anything else the board should know.")

    @field_validator("evidence", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class PlanAction(Action):
    """An action in a self-assessment's plan, optionally tied to outcomes."""

    outcomes: list[Text] = Field(default_factory=list, description="Outcome ids it addresses.")


class SelfAssessment(_Model):
    """A self-assessment against a framework (``template: self_assessment``)."""

    organisation: Text = Field(description="Who is assessing itself.")
    period: Text = Field(description="The period assessed, e.g. 2024/25.")
    framework: Text | dict[str, Any] = Field(
        "eds2022",
        description="A built-in framework (eds2022, race-maturity-illustrative), a YAML file "
        "relative to the params file, or the framework itself (see docs/self-assessment.md).",
    )
    scores: list[OutcomeScore] = Field(min_length=1, description="One entry per outcome scored.")
    actions: list[PlanAction] = Field(default_factory=list, description="The action plan.")
    previous: Text | None = Field(
        None, description="A previous self-assessment's params file, to show change since."
    )


class Limits(_Model):
    """Time and memory limits for running the notebook."""

    cell_timeout_s: int = Field(
        600, gt=0, le=86_400, description="Longest any one cell may run (s)."
    )
    run_timeout_s: int = Field(
        1800, gt=0, le=86_400, description="Longest the whole run may take (s)."
    )
    memory_gb: float = Field(
        8.0,
        ge=1,
        le=1024,
        description="Most memory (address space, GiB) the notebook's kernel may use; past it "
        "the run fails with a one-line error instead of exhausting the machine.",
    )


class Publish(_Model):
    """How the report is published, besides report.html, assessment.ipynb and metrics.json."""

    pdf: bool = Field(
        False,
        description="Also write report.pdf beside report.html (A4, tagged, bookmarked), as "
        "`eia run --pdf` does; needs Chromium and eia[pdf].",
    )


#: Scenario names the report uses itself: an option may not take them (any case, trimmed).
RESERVED_SCENARIOS = {"proposed", "current", "do nothing"}


class Proposal(_Model):
    """A proposed change and how to assess it: the whole params file."""

    id: Slug = Field(description="Slug: lower-case letters, digits, hyphens.")
    title: Text = Field(description="The report's title; say 'Illustrative' for examples.")
    template: Literal["site_change", "service_change", "equity_audit", "self_assessment"] = Field(
        description="Which notebook template assesses it: a built-in name, or a custom notebook "
        "made with `eia template new` given as a path relative to the params file "
        "(`./custom.ipynb`), which is assessed as the built-in it extends. A custom notebook "
        "is code: it runs only when trusted (`--trust-template PATH` or EIA_TRUSTED_TEMPLATES)."
    )
    template_file: str | None = Field(
        None,
        description="Set by eia when `template` is a notebook path: that notebook, absolute "
        "(do not write it yourself).",
    )
    description: LongText = Field("", description="What changes and why, for the summary.")
    area: Area | None = Field(
        None, description="The assessment area (required except for self_assessment)."
    )
    sites: Sites | None = Field(None, description="Sites now and proposed (site_change).")
    options: list[Option] = Field(
        default_factory=list,
        max_length=MAX_OPTIONS,
        description="Alternative options to appraise against doing nothing.",
    )
    thresholds: Thresholds = Field(Thresholds(), description="Numbers behind the ratings.")
    access: AccessSpec = Field(
        AccessSpec(), description="Journey-time matrices (optional; default straight-line km)."
    )
    groups: list[Literal["religion", "disability", "language", "rurality"]] = Field(
        default_factory=list, description="Census groups to rate besides deprivation and ethnicity."
    )
    service: Service | None = Field(None, description="Service data extract (optional).")
    population: Population | None = Field(
        None,
        description="Population of interest (default: all residents); restricts denominators, "
        "representation and access figures to these ages.",
    )
    denominators: Denominators | None = Field(
        None, description="Extra denominators, e.g. ethnic group by age."
    )
    disclosure: Disclosure = Field(Disclosure(), description="Small-number suppression policy.")
    effects: list[Effect] = Field(
        default_factory=list, description="Expected effect per group (service_change)."
    )
    narrative: dict[Literal[tuple(NARRATIVE_KEYS)], LongText] = Field(
        default_factory=dict,
        description="The owner's assessment for characteristics without small-area data.",
    )
    mitigations: list[Action] = Field(default_factory=list, description="Mitigations and actions.")
    signoff: list[SignOff] = Field(
        default_factory=list, description="Who signed off, and the decision."
    )
    limits: Limits = Field(Limits(), description="Time limits for running the notebook.")
    publish: Publish = Field(Publish(), description="Extra outputs: a PDF for the board pack.")
    self_assessment: SelfAssessment | None = Field(
        None, description="Scores, evidence and action plan (template self_assessment)."
    )
    explore: Explore | None = Field(
        None,
        description="The equity frontier: candidate sites and how many to keep (site_change).",
    )

    @model_validator(mode="after")
    def _template_needs(self) -> Proposal:
        kind = KINDS[self.template]
        if kind.has_area and self.area is None:
            raise ValueError(f"template {self.template} needs area: {{icb: ...}}")
        if self.self_assessment is not None and kind.name != "self_assessment":
            raise ValueError("a self_assessment block needs template: self_assessment")
        for need in kind.needs:
            if not getattr(self, need.field):
                raise ValueError(need.message)
        if kind.name == "site_change" and not self.sites.proposed and not self.options:
            raise ValueError("template site_change needs sites.proposed or options")
        if self.access.travel_times and self.sites is None:
            raise ValueError("access.travel_times needs sites: journey times are to sites")
        self._effects_rateable()
        seen: dict[str, str] = {}
        for option in self.options:
            key = names.skeleton(option.name)  # what it looks like: case, spaces, homoglyphs
            baseline = names.looks_like_baseline(option.name)
            if " ".join(option.name.split()).casefold() in RESERVED_SCENARIOS or baseline:
                raise ValueError(
                    f"option name {option.name!r} is reserved: it reads as "
                    f"{baseline or 'the baseline'!r}, which names sites.proposed or the current "
                    "sites in the report; choose another name"
                )
            if key in seen:
                raise ValueError(
                    f"option names must be unique: {option.name!r} and {seen[key]!r} are the "
                    "same name once spaces and case are ignored (and look-alike letters)"
                )
            seen[key] = option.name
        return self

    def _effects_rateable(self) -> None:
        """Effects only on groups the proposal rates: opted-in Census groups (``groups``), ages
        within the population of interest, and age groups that do not overlap."""
        ages: list[tuple[int, tuple[int, int | None]]] = []
        for i, effect in enumerate(self.effects):
            if effect.dimension in OPT_IN_DIMENSIONS and effect.dimension not in self.groups:
                raise ValueError(
                    f"effects[{i}] is on {effect.dimension}, which the proposal does not rate: "
                    f"add {effect.dimension} to groups: [...] or remove the effect"
                )
            if effect.dimension != "age":
                continue
            span = age_range(effect.group)
            if self.population is not None and not _within(span, self.population.ages):
                raise ValueError(
                    f"effects[{i}].group ({effect.group}) lies outside population.ages: "
                    "an effect must be on residents the assessment counts"
                )
            for j, other in ages:
                if _overlap(span, other):
                    raise ValueError(
                        f"effects[{i}].group ({effect.group}) overlaps effects[{j}]'s age group: "
                        "age groups must not share ages"
                    )
            ages.append((i, span))

    @model_validator(mode="after")
    def _explore_fits(self) -> Proposal:
        """explore: needs sites; must_keep names candidates; keep fits the candidates."""
        if self.explore is None:
            return self
        if self.sites is None or KINDS[self.template].rates != "access":
            raise ValueError("explore: needs template site_change with sites")
        sites = self.explore.candidate_sites(self.sites.current)
        sites += [s for option in self.scenarios().values() for s in option]
        names = {s.label.casefold() for s in sites} | {
            s.hospital.casefold() for s in sites if s.hospital
        }
        for i, name in enumerate(self.explore.must_keep):
            if name.casefold() not in names:
                raise ValueError(f"explore: must_keep[{i}] is not the name of a candidate site")
        count = len({s.label.casefold() for s in sites})
        for k in self.explore.sizes:
            if k > count or k < len(self.explore.must_keep):
                raise ValueError(
                    f"explore: keep {k} must be between the {len(self.explore.must_keep)} "
                    f"must_keep sites and the {count} candidate sites"
                )
        return self

    @property
    def template_notebook(self) -> str | None:
        """The custom notebook's file name (no folder), or None for a built-in template."""
        return Path(self.template_file).name if self.template_file else None

    @property
    def template_label(self) -> str:
        """How reports and the index name the template: ``site_change``, or
        ``custom.ipynb (custom site_change)`` for a notebook made with ``eia template new``."""
        return template_label(self.template, self.template_notebook)

    @property
    def higher_use_is(self) -> str:
        """``better`` or ``worse``: the service block's choice, else the template's default."""
        chosen = self.service.higher_use_is if self.service is not None else None
        return chosen or HIGHER_USE_IS[self.template]

    def scenarios(self) -> dict[str, list[Site]]:
        """Proposed sites per scenario: ``sites.proposed`` (if given) then each option."""
        out: dict[str, list[Site]] = {}
        if self.sites and self.sites.proposed:
            out["Proposed"] = list(self.sites.proposed)
        for option in self.options:
            out[option.name] = list(option.proposed)
        return out
