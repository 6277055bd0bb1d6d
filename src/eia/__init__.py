"""eia — equity impact assessments of proposed health service changes.

Modules, each named for what it does:

* :mod:`eia.params` — the proposal file schema and its validation
* :mod:`eia.refdata` — the reference data pack (find, verify, install, load)
* :mod:`eia.population.area` — the assessment area's LSOAs, deprivation and group populations
* :mod:`eia.analysis.access` — distance to the nearest site, before and after
* :mod:`eia.stats` — rates and proportions with confidence intervals, SII
* :mod:`eia.service.aggregate` — service data extracts joined to LSOA 2021
* :mod:`eia.analysis.impact` — impact ratings per group and options appraisal
* :mod:`eia.report.maps` — maps and charts
* :mod:`eia.assessment` — one proposal's results, computed once; ``metrics.json``
* :mod:`eia.report.sections` — the report's sections, shown from template cells
* :mod:`eia.report.html` — rendering the executed notebook to self-contained HTML
* :mod:`eia.runner.run` — executing a template with Papermill, safely and atomically
"""

__version__ = "0.1.0"
