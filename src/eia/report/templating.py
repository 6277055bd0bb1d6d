"""Compiled Jinja2 templates kept between processes: Jinja's bytecode cache, made optional.

Every run executes its template in a fresh kernel, and each process compiled the report's
prose templates (``prose/*.j2``) and nbconvert's HTML templates afresh: about twenty
templates, a few tenths of a second per run. Jinja can keep the compiled code in files
(:class:`jinja2.FileSystemBytecodeCache`, in a folder of the temporary directory that only
the user may open, ``_jinja2-cache-<uid>``); a cached template is used only while its
source is unchanged (Jinja compares a checksum), so an edited template is compiled again.

The cache is an optimisation only: its folder is made when the first template is compiled
(never on import), and when it cannot be made or a file cannot be written, templates are
compiled as before.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
)
from jinja2.bccache import Bucket

__all__ = ["PROSE", "bytecode_cache", "prose_environment"]

#: The folder of the report's prose templates (``src/eia/report/prose``).
PROSE = Path(__file__).parent / "prose"


class _OptionalFileCache(BytecodeCache):
    """:class:`jinja2.FileSystemBytecodeCache` opened on first use; its failures skipped."""

    def __init__(self) -> None:
        self._files: FileSystemBytecodeCache | None = None
        self._opened = False

    def _open(self) -> FileSystemBytecodeCache | None:
        if not self._opened:
            self._opened = True
            with suppress(OSError, RuntimeError):  # RuntimeError: no folder Jinja trusts
                self._files = FileSystemBytecodeCache()
        return self._files

    def load_bytecode(self, bucket: Bucket) -> None:
        """Fill ``bucket`` from its file, if there is one (Jinja checks it is current)."""
        files = self._open()
        if files is not None:
            with suppress(OSError):
                files.load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Keep ``bucket``'s compiled code for the next process (skipped if it cannot be)."""
        files = self._open()
        if files is not None:
            with suppress(OSError):
                files.dump_bytecode(bucket)


_CACHE = _OptionalFileCache()


def bytecode_cache() -> BytecodeCache:
    """The bytecode cache every eia Jinja2 environment shares (module docstring)."""
    return _CACHE


def prose_environment(*, autoescape: bool = True, **options: Any) -> Environment:
    """A Jinja2 environment for the templates in :data:`PROSE`: strict about undefined
    names, sharing the bytecode cache; ``options`` (``trim_blocks``...) as Jinja's.
    Each caller adds its own filters."""
    return Environment(
        bytecode_cache=bytecode_cache(),
        loader=FileSystemLoader(str(PROSE)),
        autoescape=autoescape,
        undefined=StrictUndefined,
        **options,
    )
