"""Self-assessment against an equality framework (EDS 2022, a race maturity matrix)."""

from eia.selfassess.core import *  # noqa: F403
from eia.selfassess.core import __all__  # noqa: F401
