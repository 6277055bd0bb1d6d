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
* then, while the notebook works, sections drawn ahead (:mod:`eia.report.ahead`): the
  second process holds ``ahead.lock`` until it is done; ``ahead.json`` says what it draws
  with (Matplotlib's settings); each section is drawn by whoever claims it first
  (``NAME.owner``, created exclusively) into ``NAME.pickle`` (or ``NAME.failed``). The
  notebook takes one only while its assessment is unchanged since it was handed over
  (:func:`digest`).

POSIX only (``fcntl``); elsewhere nothing is offered and the kernel computes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "AHEAD",
    "AHEAD_LOCK",
    "ENV",
    "LOCK",
    "RESULT",
    "available",
    "claim",
    "digest",
    "finished",
    "key",
    "lock",
    "publish",
    "publish_ahead",
    "receive",
    "take_ahead",
]

#: The kernel's environment variable naming the hand-off folder.
ENV = "EIA_HANDOFF"
LOCK = "lock"
RESULT = "assessment.pickle"
AHEAD_LOCK = "ahead.lock"
#: What the sections drawn ahead were drawn with (``{"settings": ...}``).
AHEAD = "ahead.json"

#: The digest of the assessment this process received (None: none received).
_received: str | None = None
#: Sections this process drew itself or took already: drawn here from now on.
_settled: set[str] = set()


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


def digest(obj: object) -> str | None:
    """A digest of ``obj``'s whole content (its pickle), or None when it cannot be pickled."""
    try:
        return hashlib.sha256(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
    except Exception:  # noqa: BLE001 - anything unpicklable: nothing is taken
        return None


def lock(folder: Path, name: str = LOCK) -> int:
    """Create ``folder/name`` and hold it (exclusive); a process forked after this shares the
    lock, and keeps it when the caller closes its own copy."""
    import fcntl

    fd = os.open(folder / name, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
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
    global _received
    _received = digest(payload["assessment"])
    return payload["assessment"]


# ---------------------------------------------------------------------------
# Sections drawn ahead


def claim(folder: Path, name: str) -> bool:
    """Claim the drawing of section ``name`` (True: the caller draws it; False: another does)."""
    try:
        os.close(os.open(folder / f"{name}.owner", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


def publish_ahead(folder: Path, name: str, value: object) -> None:
    """Write section ``name`` drawn ahead, atomically (``value`` None: it could not be)."""
    if value is None:
        (folder / f"{name}.failed").touch()
        return
    part = folder / f".{name}.part"
    part.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(part, folder / f"{name}.pickle")


def take_ahead(name: str, assessment: object, settings: str) -> tuple[bool, Any]:
    """The notebook's side: ``(True, section)`` when the second process drew section
    ``name`` of this very assessment (unchanged since it was handed over) with the same
    ``settings``, waiting for it if it is drawing it; ``(False, None)`` otherwise, and
    then the section is the caller's to draw (claimed, so the second process skips it)."""
    folder = os.environ.get(ENV)
    if not folder or _received is None or name in _settled or not available():
        return False, None
    where = Path(folder)
    try:
        drawn_with = json.loads((where / AHEAD).read_text(encoding="utf-8"))["settings"]
    except (OSError, ValueError, KeyError):
        return False, None
    if drawn_with != settings or digest(assessment) != _received:
        return False, None
    _settled.add(name)
    if claim(where, name):
        return False, None  # not started: drawn here, sooner than waiting for it
    path = where / f"{name}.pickle"
    while not path.exists() and not (where / f"{name}.failed").exists():
        if not _held(where / AHEAD_LOCK):  # the second process is gone: look once more
            break
        time.sleep(0.005)
    try:
        value = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return False, None
    path.unlink(missing_ok=True)
    return True, value


def finished(folder: Path) -> bool:
    """Whether the second process of hand-off ``folder`` is done (it no longer holds its
    last lock)."""
    return not _held(folder / AHEAD_LOCK)


def _held(path: Path) -> bool:
    """Whether another process holds ``path``'s lock."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
