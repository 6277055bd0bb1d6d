"""The params reference (``docs/params.md``), generated from the models' field descriptions."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
)

from eia.params.base import (
    ICB_PATTERN,
    LSOA_PATTERN,
    LTLA_PATTERN,
    NARRATIVE_KEYS,
    SLUG_PATTERN,
)
from eia.params.data import (
    AccessSpec,
    Denominators,
    Disclosure,
    Effect,
    MatrixColumns,
    MatrixSynthesis,
    Period,
    Population,
    Service,
    ServiceColumns,
    Synthesis,
    TravelTimes,
)
from eia.params.explore import Explore
from eia.params.proposal import (
    Action,
    Limits,
    OutcomeScore,
    PlanAction,
    Proposal,
    Publish,
    Rater,
    SelfAssessment,
    SignOff,
)
from eia.params.sites import Area, Site, Sites
from eia.params.thresholds import Option, Thresholds

__all__ = ["schema_markdown"]


def schema_markdown() -> str:
    """The params reference (docs/params.md), generated from the models above."""
    import re

    words = {
        SLUG_PATTERN: "a slug (lower-case letters, digits, single hyphens)",
        ICB_PATTERN: "an ICB code: ONS E54 and 6 digits, or NHS Q and 2 letters or digits",
        LTLA_PATTERN: "a local authority code: E06, E07, E08 or E09 and 6 digits",
        LSOA_PATTERN: "an LSOA 2021 code: E01 and 6 digits",
    }

    def pattern(match: re.Match) -> str:
        found = re.search(r"pattern='((?:[^'\\]|\\.)*)'", match.group(0))
        if not found:
            return "text"
        regex = found.group(1).replace("\\\\", "\\")
        return words.get(regex, "text in a set form")

    def number(match: re.Match) -> str:
        bound = re.search(r"(Gt|Ge)\((?:gt|ge)=([^)]*)\)", match.group(0))
        if not bound:
            return "number"
        return f"number {'>' if bound.group(1) == 'Gt' else '≥'} {bound.group(2)}"

    def kind(annotation: Any) -> str:
        text = str(annotation)
        text = re.sub(r"Annotated\[str, StringConstraints\(.*?\)\]", pattern, text)
        text = re.sub(r"Annotated\[float, FieldInfo\(.*?\]\)\]", number, text)

        text = re.sub(r"Annotated\[datetime\.date, BeforeValidator\(.*?\)\]", "date", text)
        text = re.sub(r"typing\.|eia\.params\.(?:\w+\.)?|<class '|'>", "", text)
        text = text.replace("NoneType", "null").replace("Optional[", "null | [")
        text = re.sub(r"Literal\[([^\]]*)\]", lambda m: "one of " + m.group(1), text)
        text = text.replace("|", "or").replace("[", "(").replace("]", ")")
        return re.sub(  # dict(one of 'car', …, number > 0): say it as a mapping
            r"dict\(one of (.*), (number[^,()]*)\)",
            lambda m: f"per mode ({m.group(1)}): a {m.group(2)}",
            text,
        )

    models = [
        Proposal,
        Area,
        Sites,
        Site,
        Option,
        Explore,
        Thresholds,
        AccessSpec,
        TravelTimes,
        MatrixColumns,
        MatrixSynthesis,
        Service,
        ServiceColumns,
        Period,
        Population,
        Denominators,
        Synthesis,
        Disclosure,
        Effect,
        Action,
        SignOff,
        Limits,
        Publish,
        SelfAssessment,
        OutcomeScore,
        Rater,
        PlanAction,
    ]
    out = [
        "# The params file",
        "",
        "A proposal is one YAML file. This page lists every field; `eia validate FILE` checks a",
        "file against it and against the reference data, and reports every problem at once.",
        "Unknown keys are errors. Text from the file is always shown as text in reports, never",
        "as HTML. Generated from the models in `src/eia/params/` by `eia.params.schema_markdown()`.",
        "",
    ]
    for model in models:
        out += [
            f"## {model.__name__}",
            "",
            (model.__doc__ or "").strip().splitlines()[0],
            "",
            "| field | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for name, info in model.model_fields.items():
            if info.is_required():
                default = "**required**"
            else:
                value = info.get_default(call_default_factory=True)
                default = "see its section" if isinstance(value, BaseModel) else f"`{value!r}`"
            out.append(
                f"| `{name}` | {kind(info.annotation)} | {default} | {info.description or ''} |"
            )
        out.append("")
    out += [
        "## Rules worth knowing",
        "",
        "- `id` names the output folder `outputs/<id>/`; as a slug it can never point elsewhere.",
        "- `template: site_change` needs `sites.current` and `sites.proposed` or `options`.",
        "- `template: service_change` needs `effects`; `template: equity_audit` needs `service`.",
        "- A site is `{hospital: NAME}` (a name from the reference data, or the site code "
        "`eia lookup hospital` prints) or `{name, lat, lon}`.",
        "- `service.path` is relative to the params file and must be a file.",
        "- `access.travel_times[].path` likewise; each site is found in a matrix by its `id`,",
        "  else its name (see docs/travel-time.md).",
        "- `effects[].group` for `imd_quintile` may be written 1 to 5 (1 = most deprived).",
        "- `effects[].group` for `age` is written as ages ('75 and over', '75+', '65-74',",
        "  'under 18'): within `population.ages`, not overlapping another age effect; it is rated",
        "  against the residents of those ages. Effects on `religion` or `disability` need that",
        "  dimension in `groups`. Groups with no declared effect are not assessed (not neutral).",
        "- `service.period` sets the years rates are annualised over; without it the extract's",
        "  first and last dates are used (and stated), and without a date column one year is assumed.",
        "  A period running more than 31 days beyond the extract's dates is warned about (an error",
        "  with `--strict`).",
        "- `service.higher_use_is` is `better` by default for every template; say `worse` when use",
        "  is harm (emergency admissions, detentions), and over-representation becomes the concern.",
        "- `population: {ages: [15, 44]}` makes every denominator, representation and access",
        "  figure about residents of those ages (persons: the reference pack has no sex split);",
        "  service records are kept by their own age (by band only when the extract has bands).",
        "- `narrative` keys: " + ", ".join(f"`{k}`" for k in NARRATIVE_KEYS) + ".",
        "",
    ]
    return "\n".join(out)
