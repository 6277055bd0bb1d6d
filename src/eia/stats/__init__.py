"""Statistics a board reads: rates and proportions with confidence intervals, DSRs, the SII, and
disclosure control (:mod:`eia.stats.disclosure`)."""

from eia.stats.rates import *  # noqa: F403
from eia.stats.rates import __all__  # noqa: F401
