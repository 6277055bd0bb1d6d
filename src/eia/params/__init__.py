"""A proposal's parameters: the params file's schema, loading it and checking it.

``from eia import params; p = params.load("params/my-proposal.yaml")``.
"""

from eia.params.models import *  # noqa: F403
from eia.params.models import __all__  # noqa: F401
