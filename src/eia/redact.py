"""What from a service extract may be quoted, and a check of the file before it is parsed.

Only codes leave an extract. A value read from a service file is quoted in a
report, in ``metrics.json``, in an error message or on the terminal only when it
looks like a geography code (``E01013810``, ``W01000001``) or is an LSOA name the
reference pack knows; anything else is counted by kind, never echoed
(:func:`unmatched_examples`). Messages about a bad cell quote at most the column
name, the row number and a *masked* value (:func:`mask`, :func:`cell`): the
value's shape (``99/99/9999``, ``Aaaa Aaaaa``), never its characters.

:func:`check_source_file` is run before any parser opens an extract: it refuses
special files (devices, FIFOs, sockets), folders, unreadable and empty files,
and files whose content is not the format their name declares, without quoting
their contents. The file is read with the permissions of the user running
``eia``; that user must be allowed to read it.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from eia.errors import ServiceDataError

#: An ONS (GSS) geography code: a letter for the nation, two digits for the
#: entity (01 = LSOA, 02 = MSOA, ...) and six digits, e.g. E01013810.
GEOGRAPHY_CODE = re.compile(r"^[EWSNK]\d{8}$")
#: A short code from a coded column (NHS ethnic category "A", "99", "Z").
SHORT_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
#: A column or sheet name fit to quote: letters, digits, spaces and a little punctuation.
PLAIN_NAME = re.compile(r"^[\w .()/#%&+-]{1,64}$")

#: Extensions and the format each declares.
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
}
_SNIFF_BYTES = 65_536


def is_geography_code(value: object) -> bool:
    """True for text shaped like an ONS geography code (``E01013810``), any case, trimmed."""
    return isinstance(value, str) and bool(GEOGRAPHY_CODE.match(value.strip().upper()))


def _blank(value: object) -> bool:
    return (
        value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()
    )


def unmatched_examples(
    values: Iterable[object],
    known_names: Collection[str] | Callable[[str], bool] = (),
    *,
    limit: int = 10,
    what: str = "LSOA codes or names",
) -> list[str]:
    """Examples of unmatched values fit to publish: codes and known names only, the rest counted.

    ``values`` are distinct values, commonest first. A value is quoted when it
    looks like a geography code or is in ``known_names`` (LSOA names from the
    pack; a collection or a predicate); a blank shows as ``"(blank)"``; every
    other value is only counted, in a last entry such as ``"(12 values that are
    not LSOA codes or names)"``. At most ``limit`` values are quoted.
    """
    known = known_names if callable(known_names) else (lambda v, s=known_names: v in s)
    shown: list[str] = []
    hidden = 0
    blank = False
    for value in values:
        if _blank(value):
            blank = True
            continue
        text = " ".join(str(value).split())
        if is_geography_code(text):
            quoted = text.upper()
        elif known(text) or known(text.upper()):
            quoted = text
        else:
            hidden += 1
            continue
        if quoted not in shown and len(shown) < limit:
            shown.append(quoted)
    if blank:
        shown.append("(blank)")
    if hidden:
        one = what == "LSOA codes or names"
        kind = "an LSOA code or name" if hidden == 1 and one else what
        shown.append(f"({_values(hidden)} not {kind})")
    return shown


def _values(n: int) -> str:
    return f"{n} value that is" if n == 1 else f"{n:,} values that are"


def code_examples(values: Iterable[object], *, limit: int = 10, what: str = "codes") -> list[str]:
    """Unrecognised values of a coded column: short codes quoted, anything else counted."""
    shown: list[str] = []
    hidden = 0
    for value in values:
        if _blank(value):
            continue
        text = str(value).strip().upper()
        if SHORT_CODE.match(text) or is_geography_code(text):
            if text not in shown and len(shown) < limit:
                shown.append(text)
        else:
            hidden += 1
    if hidden:
        shown.append(f"({_values(hidden)} not {what})")
    return shown


def mask(value: object, *, width: int = 12) -> str:
    """A value's shape with its characters hidden: digits → 9, letters → A/a, others kept.

    ``"01/02/1960"`` → ``"99/99/9999"``, ``"John Smith"`` → ``"Aaaa Aaaaa"``; at most
    ``width`` characters, then ``…``; blank → ``"(blank)"``. Control characters and
    other non-printing bytes become ``?``, so nothing binary reaches a terminal.
    """
    if _blank(value):
        return "(blank)"
    text = str(value).strip()
    out = []
    for ch in text[:width]:
        if ch.isdigit():
            out.append("9")
        elif ch.isalpha():
            out.append("A" if ch.isupper() else "a")
        elif ch.isprintable() and ch.isascii():
            out.append(ch)
        else:
            out.append("?")
    return "".join(out) + ("…" if len(text) > width else "")


def cell(column: str, row: int | None, value: object) -> str:
    """A bad cell as a message may quote it: column name, row number and a masked value."""
    where = f"row {row}" if row is not None else "a row"
    return f"{name(column)}, {where}: {mask(value)} (masked)"


def name(value: object, *, quote: bool = True) -> str:
    """A column or sheet name from a file, shown only when it looks like a plain name."""
    text = "" if value is None else str(value)
    if PLAIN_NAME.match(text):
        return repr(text) if quote else text
    return f"(a name of {len(text)} characters that is not plain text)"


def printable(text: str) -> str:
    """``text`` with control characters and other non-printing characters replaced by ``?``."""
    return "".join(ch if ch.isprintable() or ch == " " else "?" for ch in str(text))


def declared_format(path: Path) -> str | None:
    """The format a file name declares (``csv``, ``xlsx``, ``parquet``), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-2] in (".csv", ".tsv") and suffixes[-1] in (".gz", ".bz2"):
        return "csv"
    return FORMATS.get(path.suffix.lower())


def check_source_file(path: Path | str, fmt: str | None = None) -> str:
    """Check a service extract before parsing it; return its format (``csv``/``xlsx``/``parquet``).

    Raises :class:`~eia.errors.ServiceDataError` (one line, naming the path and what is
    wrong, never quoting the contents) for a path that does not exist, is a folder or a
    special file (device, FIFO, socket), cannot be read, is empty, has no recognised
    extension, or whose first bytes are not the declared format: Parquet must start
    ``PAR1``, a workbook must be a ZIP, and a CSV must be text (no NUL bytes, decodable
    as UTF-8 or Windows-1252). ``fmt`` overrides the format the extension declares.
    """
    path = Path(path)
    shown = printable(str(path))
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ServiceDataError(f"service data file {shown} does not exist") from None
    except OSError as exc:
        raise ServiceDataError(
            f"service data path {shown} cannot be read: {exc.strerror}"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise ServiceDataError(f"service data path {shown} is not a file (it is a folder)")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a special file"
        )
        raise ServiceDataError(f"service data path {shown} is not a regular file (it is {kind})")
    if path.suffix.lower() in (".xls", ".ods"):
        raise ServiceDataError(
            f"{shown}: {path.suffix.lower()} files are not supported; save it as .xlsx, .csv "
            "or Parquet"
        )
    fmt = fmt or declared_format(path)
    if fmt is None:
        raise ServiceDataError(
            f"service data file {shown} has no recognised extension: name it .csv, .xlsx "
            "or .parquet (the extension declares the format)"
        )
    if info.st_size == 0:
        raise ServiceDataError(f"service data file {shown} is empty")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise ServiceDataError(
            f"service data file {shown} cannot be read: {exc.strerror}"
        ) from None
    if fmt == "parquet" and not head.startswith(b"PAR1"):
        raise ServiceDataError(f"{shown} cannot be read as Parquet: it is not a Parquet file")
    if fmt == "xlsx" and not head.startswith(b"PK\x03\x04"):
        raise ServiceDataError(
            f"{shown} cannot be read as an Excel workbook: it is not an .xlsx file"
        )
    if fmt == "csv" and path.suffix.lower() not in (".gz", ".bz2") and not _is_text(head):
        raise ServiceDataError(
            f"{shown} cannot be read as CSV: it is not text (it holds binary data)"
        )
    return fmt


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sniff's end
            text = head[: exc.start].decode("utf-8")
        else:
            try:
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                return False
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls <= max(2, len(text) // 1000)
