"""Running assessments: notebook templates, one run, a batch, and the command line."""

from __future__ import annotations

import sys

__all__ = ["without_iri_grammars"]


def without_iri_grammars() -> None:
    """Keep ``rfc3987_syntax`` out of this process (call before nbformat is imported).

    Papermill and nbconvert import nbformat, which imports jsonschema, which registers its
    ``iri`` and ``iri-reference`` format checks only if ``rfc3987_syntax`` imports; that
    import compiles 39 Lark grammars, about 1.9 s of CPU in every ``eia run`` and every
    batch worker. No schema nbformat or eia validates uses those formats, so blocking the
    import (jsonschema then leaves the two formats unchecked) changes nothing but the time.
    Called by the command line and the batch workers only, not on import: a process that
    has imported jsonschema already (a Jupyter server) is left as it is.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # ImportError
