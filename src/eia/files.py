"""Writing files the user did not hand-make: inside their folder, never through a link, atomically.

``eia synth``, generated travel-time matrices and ``eia template new`` write into
folders a person owns. Every such write goes through :func:`check_target` and
:func:`write_atomic`:

* the target is checked *as named*, before any symbolic link is resolved: a
  ``..`` component, a path outside the folder, a symbolic link anywhere from the
  folder down to the file (a dangling one included), or something that is not a
  plain file is refused;
* the content goes to a temporary file beside the target, which then replaces it
  in one ``os.replace``: a full disk or a crash leaves the old file or nothing,
  never half a file;
* an ``OSError`` (read-only folder, ``/proc``, full disk, a name too long) becomes
  one line naming the file (:func:`os_error`).

A generated file is recorded in a hidden sidecar beside it (``.NAME.eia-generated``,
holding its SHA-256): :func:`made_by_eia` tells a file ``eia`` wrote, unchanged
since, from one a person made, so ``eia synth`` only ever overwrites its own files.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from eia.errors import OutputError

__all__ = [
    "check_target",
    "reached_plainly",
    "made_by_eia",
    "marker_path",
    "os_error",
    "record_generated",
    "write_atomic",
]

#: The sidecar's suffix: ``data/.extract.csv.eia-generated`` records ``data/extract.csv``.
MARKER_SUFFIX = ".eia-generated"
_REASONS = {
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "no space left on the disk (nothing was written)",
    errno.EDQUOT: "the disk quota is exceeded (nothing was written)",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENOENT: "the folder does not exist",
    errno.ELOOP: "it goes through a symbolic link",
}


def os_error(exc: OSError, where: Path | str, what: str = "file") -> str:
    """An ``OSError`` as one line naming the ``what`` at ``where`` and the reason."""
    reason = _REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__).lower()
    return f"cannot write the {what} {where}: {reason}"


def check_target(
    target: Path | str,
    folder: Path | str | None,
    *,
    what: str = "file",
    error: type[Exception] = OutputError,
    folder_label: str = "",
) -> Path:
    """The absolute target, once it is known to be safe to write; else ``error`` (one line).

    ``target`` is relative to ``folder`` (or absolute, inside it). With ``folder``
    None (a path the user named on the command line) only the target itself is
    checked. Nothing is resolved first: a ``..``, a symbolic link from the folder
    down to the target (dangling ones included) or an existing non-file is refused.
    """
    target = Path(target).expanduser()
    if folder is None:
        full = Path(os.path.abspath(target))
        if full.is_symlink():
            raise error(f"{target} is a symbolic link: not writing the {what} through it")
    else:
        base = Path(os.path.abspath(Path(folder).expanduser()))
        full = Path(os.path.abspath(target if target.is_absolute() else base / target))
        if ".." in target.parts or not full.is_relative_to(base) or full == base:
            where = f"{folder_label} ({base})" if folder_label else str(base)
            raise error(
                f"{target}: a {what} is written only inside {where}, never through '..' or "
                "to an absolute path elsewhere"
            )
        current = base
        for part in full.relative_to(base).parts:
            current = current / part
            if current.is_symlink():
                raise error(
                    f"{target}: {current} is a symbolic link: not writing the {what} through it"
                )
    if full.exists() and not full.is_file():
        raise error(f"{target} is not a plain file: not writing the {what} there")
    return full


def reached_plainly(target: Path | str, folder: Path | str) -> bool:
    """True when ``target`` (relative to ``folder``, or absolute) lies inside ``folder``
    without a ``..`` component and without a symbolic link from the folder down to it."""
    target = Path(target).expanduser()
    base = Path(os.path.abspath(Path(folder).expanduser()))
    full = Path(os.path.abspath(target if target.is_absolute() else base / target))
    if ".." in target.parts or not full.is_relative_to(base) or full == base:
        return False
    current = base
    for part in full.relative_to(base).parts:
        current = current / part
        if current.is_symlink():
            return False
    return True


def write_atomic(
    path: Path,
    write: Callable[[Path], object],
    *,
    what: str = "file",
    error: type[Exception] = OutputError,
    mode: int = 0o644,
) -> Path:
    """Write ``path`` through ``write(temporary_path)`` and one ``os.replace``.

    The temporary file is beside ``path`` with the same suffix (so writers that
    choose a format by suffix still do). On any failure it is removed and the old
    ``path``, if any, is untouched; an ``OSError`` becomes ``error`` (one line).
    ``path`` should come from :func:`check_target`.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{path.stem[:40]}.", suffix=path.suffix, dir=path.parent
        )
        os.close(fd)
        tmp = Path(name)
        write(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise error(os_error(exc, path, what)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return path


def marker_path(path: Path | str) -> Path:
    """The hidden sidecar that records a generated file: ``.NAME.eia-generated``."""
    path = Path(path)
    return path.with_name(f".{path.name}{MARKER_SUFFIX}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_generated(
    path: Path | str, generator: str, *, error: type[Exception] = OutputError
) -> None:
    """Record that ``eia`` (``generator``, e.g. ``"eia synth"``) wrote ``path`` as it is now."""
    path = Path(path)
    record = {"generator": generator, "file": path.name, "sha256": _sha256(path)}
    marker = marker_path(path)
    if marker.is_symlink():
        raise error(f"{marker} is a symbolic link: not writing the record through it")

    def dump(tmp: Path) -> None:
        tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    write_atomic(marker, dump, what="record of a generated file", error=error)


def made_by_eia(path: Path | str) -> bool:
    """True when ``path`` is a file ``eia`` generated and nobody has changed since.

    The sidecar (:func:`marker_path`) must exist, be a plain file, name this file and
    hold its current SHA-256. A file a person made, or edited after generation, is
    not ``eia``'s: it is never overwritten, and a report calls it "supplied".
    """
    path = Path(path)
    marker = marker_path(path)
    try:
        if marker.is_symlink() or not marker.is_file() or path.is_symlink() or not path.is_file():
            return False
        record = json.loads(marker.read_text(encoding="utf-8"))
        return (
            isinstance(record, dict)
            and record.get("file") == path.name
            and record.get("sha256") == _sha256(path)
        )
    except (OSError, ValueError):
        return False
