"""The reference data pack: find, verify, install and load it; look codes and names up in it.

:mod:`eia.refdata.pack` holds the pack itself (re-exported here), :mod:`eia.refdata.lookup`
the look-ups, :mod:`eia.refdata.lsoa21` LSOA 2011 → 2021, :mod:`eia.refdata.schemas` the data
contracts and :mod:`eia.refdata.fetch` building the pack from the publishers' releases.
"""

from eia.refdata.pack import *  # noqa: F403
from eia.refdata.pack import __all__  # noqa: F401
