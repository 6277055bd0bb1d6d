"""An assessment computed beside the kernel, handed to the notebook that asks for it.

``eia run`` uses a second core: while its kernel starts and imports its libraries, a second
process (:mod:`eia.runner.assessor`) computes the proposal's assessment. When the notebook
then calls :func:`eia.assessment.assess` for the same proposal, it receives that assessment
instead of computing it again: the same code and inputs, so the same result, seconds sooner.
Anything else computes as always: another or a changed proposal, another pack, a notebook
run by hand (no hand-off offered), a second call, a second process that failed.

The protocol, in a private folder the run made and removes (named to the kernel in
:data:`ENV`, in its environment only):

* ``lock``: held (``flock``, exclusive) by the second process until it exits, however it
  exits, so the kernel waits on it without polling or a time limit of its own;
* ``assessment.pickle``: written, atomically, by a second process that succeeded: the
  :func:`key` of what it assessed, the assessment, and the warnings it raised (raised again
  in the kernel, as if there). Only this run's own processes can write the folder.

POSIX only (``fcntl``); elsewhere nothing is offered and the kernel computes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ENV", "LOCK", "RESULT", "available", "key", "lock", "publish", "receive"]

#: The kernel's environment variable naming the hand-off folder.
ENV = "EIA_HANDOFF"
LOCK = "lock"
RESULT = "assessment.pickle"


def available() -> bool:
    """Whether this platform can hand an assessment over (``fcntl`` locks)."""
    try:
        import fcntl  # noqa: F401 - POSIX only: the hand-off is an optimisation, not a need
    except ImportError:
        return False
    return True


def key(proposal: Mapping[str, Any], params_file: str | os.PathLike | None) -> str:
    """What an assessment was computed from: the proposal as the notebook gets it
    (:func:`eia.params.to_notebook`) and its params file."""
    text = json.dumps(proposal, sort_keys=True, default=str)
    return hashlib.sha256(f"{text}\n{params_file}".encode()).hexdigest()


def lock(folder: Path) -> int:
    """Create ``folder/lock`` and hold it (exclusive); the descriptor is inheritable, so the
    second process keeps the lock when the caller closes its own copy."""
    import fcntl

    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.set_inheritable(fd, True)
    return fd


def publish(folder: Path, key_: str, assessment: object, caught: list[warnings.WarningMessage]):
    """Write the hand-off (the second process's side): the assessment and the warnings it
    raised (each once, as its category, text and place), atomically."""
    seen, raised = set(), []
    for w in caught:
        entry = (w.category, str(w.message), w.filename, w.lineno)
        if entry not in seen:
            seen.add(entry)
            raised.append(entry)
    payload = pickle.dumps(
        {"key": key_, "assessment": assessment, "warnings": raised},
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    part = folder / f".{RESULT}.part"
    part.write_bytes(payload)
    os.replace(part, folder / RESULT)


def receive(key_: str) -> Any | None:
    """The kernel's side: the assessment computed for ``key_``, once, or None.

    Waits for the second process to finish (its lock); None when no hand-off is offered
    (:data:`ENV` unset), it was taken already, the second process failed, or it assessed
    something else. Its warnings are raised again here, under this process's filters.
    """
    folder = os.environ.get(ENV)
    if not folder or not available():
        return None
    import fcntl

    try:
        fd = os.open(Path(folder) / LOCK, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # released when the second process exits
        path = Path(folder) / RESULT
        try:
            payload = pickle.loads(path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        if payload.get("key") != key_:
            return None
        path.unlink(missing_ok=True)  # taken once: a second call computes
    finally:
        os.close(fd)
    for category, text, filename, lineno in payload["warnings"]:
        warnings.warn_explicit(text, category, filename, lineno)
    return payload["assessment"]
