"""Build the reference pack from the publishers' own releases (``eia data fetch``).

There are three ways to give ``eia`` its reference data (see ``shapes/README.md``):

1. ``eia data install --from DIR`` copies a ready-built pack (a folder holding
   ``manifest.json`` and the Parquet files, e.g. ``../shared/refdata``) into
   ``shapes/``;
2. ``EIA_REFDATA=DIR`` points at such a pack where it already is;
3. ``eia data fetch [--cache DIR]`` (this module) downloads the official
   releases and builds the same pack, with the same files, columns and
   GeoParquet CRS (EPSG:4326), into ``shapes/``.

What :func:`fetch` does, in order:

* reads ``shapes/sources.toml``: one entry per release with its ``url``,
  expected ``size`` and ``sha256`` ("" = not yet pinned), ``format`` and
  ``parser``. A publisher's revision is a one-line change there;
* downloads each release into a cache folder (default ``~/.cache/eia/downloads``,
  or ``--cache DIR``) with the standard library's ``urllib``, which honours
  ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` from the environment (NHS
  networks). A download goes to ``FILE.part`` and resumes with an HTTP
  ``Range`` request after an interruption; connection errors, cut-short
  bodies and HTTP 5xx/429 are retried with exponential back-off; progress is
  shown with ``rich``. ONS layers (``format = "arcgis"``) are read page by page
  from their FeatureServer ``query`` endpoint (pages are cached, so a retry
  resumes at the page it stopped at) and checked against the feature count
  the server reports;
* checks the size and sha256 of each file when they are pinned, and prints the
  observed ones when they are not (and records them in ``provenance.json``);
* parses each release by the publisher's own column headings, failing with a
  :class:`~eia.errors.RefDataError` that names the file and the missing
  columns if a release changes shape;
* writes the Parquet/GeoParquet files and ``manifest.json`` into a staging
  folder beside the destination, verifies it with :func:`eia.refdata.verify`,
  and only then moves the files into place. On any failure the destination is
  left as it was and the staging folder is removed.

Every user-facing failure is a :class:`~eia.errors.RefDataError` whose message
names the file and says what to do, including how to use
``eia data install --from DIR`` with a pack obtained another way, or how to
drop a file downloaded by hand into the cache.

Mirrors and tests: ``EIA_FETCH_BASE_URL=http://HOST:PORT`` (or
``fetch(base_url=...)``) replaces the scheme and host of every source URL and
keeps its path and query, so a local server on 127.0.0.1 can stand in for the
publishers.
"""

from eia.refdata.fetch.assemble import assemble
from eia.refdata.fetch.command import fetch
from eia.refdata.fetch.download import Downloader
from eia.refdata.fetch.parsers import PARSERS, parse
from eia.refdata.fetch.registry import load_sources
from eia.refdata.fetch.sources import BASE_URL_ENV, CACHE_ENV, Source, rebase

__all__ = [
    "BASE_URL_ENV",
    "CACHE_ENV",
    "Downloader",
    "PARSERS",
    "Source",
    "assemble",
    "fetch",
    "load_sources",
    "parse",
    "rebase",
]
