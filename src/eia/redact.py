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

import json
import math
import os
import re
import stat
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

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


#: Words that never belong in a column name and often in a credentials file.
_SECRET_WORDS = re.compile(r"(?i)password|passwd|secret|token|login|api.?key|private")


def column_names(found: Sequence[object], *, limit: int = 40) -> str:
    """A file's column names as a message may show them, or only their number.

    Names are quoted only when the header looks like a table's: each a plain name
    (:data:`PLAIN_NAME`) of at most 40 characters and four words, without words
    such as "password" or "login". Otherwise (a credentials file, a text file, a
    mis-declared format) the header may be a line of content, so it is counted:
    ``"3 columns (names not shown: the header does not look like column names)"``.
    """
    names = ["" if n is None else str(n) for n in found]
    plain = bool(names) and all(
        PLAIN_NAME.match(n) and len(n) <= 40 and len(n.split()) <= 4 and not _SECRET_WORDS.search(n)
        for n in names
    )
    if not plain:
        count = f"{len(names)} column{'s' if len(names) != 1 else ''}"
        return f"{count} (names not shown: the header does not look like column names)"
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def printable(text: str) -> str:
    """``text`` with control characters and other non-printing characters replaced by ``?``."""
    return "".join(ch if ch.isprintable() or ch == " " else "?" for ch in str(text))


def declared_format(path: Path) -> str | None:
    """The format a file name declares (``csv``, ``xlsx``, ``parquet``), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-2] in (".csv", ".tsv") and suffixes[-1] in (".gz", ".bz2"):
        return "csv"
    return FORMATS.get(path.suffix.lower())


def check_source_file(
    path: Path | str,
    fmt: str | None = None,
    *,
    what: str = "service data",
    error: type[Exception] = ServiceDataError,
    allowed: Collection[str] = ("csv", "xlsx", "parquet"),
) -> str:
    """Check a service extract before parsing it; return its format (``csv``/``xlsx``/``parquet``).

    Raises :class:`~eia.errors.ServiceDataError` (one line, naming the path and what is
    wrong, never quoting the contents) for a path that does not exist, is a folder or a
    special file (device, FIFO, socket), cannot be read, is empty, has no recognised
    extension, or whose first bytes are not the declared format: Parquet must start
    ``PAR1``, a workbook must be a ZIP, and a CSV must be text (no NUL bytes, decodable
    as UTF-8 or Windows-1252). ``fmt`` overrides the format the extension declares.
    ``what`` names the file in messages, ``error`` is the exception raised and
    ``allowed`` the formats accepted (a travel-time matrix: CSV or Parquet). Any other
    extension, ``.txt`` and ``.env`` included, is refused before the file is opened.
    """
    path = Path(path)
    shown = printable(str(path))
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what} file {shown} does not exist") from None
    except OSError as exc:
        raise error(f"{what} path {shown} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{what} path {shown} is not a file (it is a folder)")
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
        raise error(f"{what} path {shown} is not a regular file (it is {kind})")
    if path.suffix.lower() in (".xls", ".ods"):
        raise error(
            f"{shown}: {path.suffix.lower()} files are not supported; save it as .xlsx, .csv "
            "or Parquet"
        )
    fmt = fmt or declared_format(path)
    if fmt is None or fmt not in allowed:
        names = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet"}
        shown_names = [names[f] for f in allowed]
        accepted = ", ".join(shown_names[:-1]) + " or " + shown_names[-1]
        raise error(
            f"{what} file {shown} has no recognised extension: name it {accepted} "
            "(the extension declares the format; other files are not opened)"
        )
    if info.st_size == 0:
        raise error(f"{what} file {shown} is empty")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise error(f"{what} file {shown} cannot be read: {exc.strerror}") from None
    if fmt == "parquet" and not head.startswith(b"PAR1"):
        raise error(f"{shown} cannot be read as Parquet: it is not a Parquet file")
    if fmt == "xlsx" and not head.startswith(b"PK\x03\x04"):
        raise error(f"{shown} cannot be read as an Excel workbook: it is not an .xlsx file")
    if fmt == "csv" and path.suffix.lower() not in (".gz", ".bz2") and not _is_text(head):
        raise error(f"{shown} cannot be read as CSV: it is not text (it holds binary data)")
    return fmt


#: Control characters a text file does not hold (below 32, except tab, LF, form feed, CR).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


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
    controls = len(_CONTROLS.findall(text))
    return controls <= max(2, len(text) // 1000)


# Secrets ------------------------------------------------------------------------------------

#: A URL of any scheme, mistyped ones included (``postgress://user:pw@host/db``).
URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]{1,30})://[^\s'\"<>`\\]+")
#: ``password=...``, ``pwd: ...``, ``token=...`` in a DSN, a query string or a message.
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|sig|signature)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,'\"]+)"
)
#: Schemes whose URLs are kept when they carry no credentials (links to documentation).
_PUBLIC_SCHEMES = {"http", "https"}
#: Environment variable names that hold secrets whatever their value looks like.
_SECRET_NAME = re.compile(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|_DSN$|_URL$|_URI$|_DB$)")
HIDDEN = "***"


def secret_values(names: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> list[str]:
    """Values to scrub from anything written: the environment variables ``names`` (those a
    params file's ``connection:`` names) and any variable that looks like a credential
    (a URL with a password, or a name such as ``*_PASSWORD``, ``*_TOKEN``, ``*_DB``).

    Each value comes with its URL password, if it has one. Longest first, so a URL is
    hidden before the password inside it.
    """
    env = os.environ if environ is None else environ
    found: set[str] = set()
    wanted = {str(n) for n in names if n}
    for key, value in env.items():
        if not value or len(value) < 4:
            continue
        if key in wanted or _SECRET_NAME.search(key) or re.search(r"://[^/\s@]*:[^@\s]*@", value):
            found.add(value)
            password = re.search(r"://[^/\s@:]*:([^@\s]+)@", value)
            if password and len(password.group(1)) >= 3:
                found.add(password.group(1))
    return sorted(found, key=len, reverse=True)


def _hide_url(match: re.Match) -> str:
    scheme, url = match.group(1), match.group(0)
    rest = url.split("://", 1)[1]
    authority = rest.split("/", 1)[0]
    if scheme.lower() in _PUBLIC_SCHEMES and "@" not in authority:
        return _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + HIDDEN, url)
    return f"{scheme}://{HIDDEN}"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with secrets hidden: the given values, every URL's credentials, and every
    URL of a scheme other than http(s) (a connection URL, even a mistyped one) as a
    whole, and ``password=...``-style pairs. For messages, logs, tracebacks and the
    outputs of a failed notebook.
    """
    text = str(text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    text = URL.sub(_hide_url, text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + HIDDEN, text)


def _scrub_json(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [_scrub_json(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, secrets) for k, v in value.items()}
    return value


def scrub_notebook(source: Path | str, target: Path | str, secrets: Iterable[str] = ()) -> None:
    """Copy a notebook (JSON) from ``source`` to ``target`` with every string scrubbed
    (:func:`scrub`): cell sources, outputs, tracebacks (chained ones included), metadata."""
    secrets = list(secrets)
    with open(source, encoding="utf-8") as handle:
        notebook = json.load(handle)
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(_scrub_json(notebook, secrets), handle, indent=1, ensure_ascii=False)
        handle.write("\n")


def scrub_file(path: Path | str, secrets: Iterable[str] = ()) -> None:
    """Scrub a text file (a log) in place (:func:`scrub`)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    path.write_text(scrub(text, secrets), encoding="utf-8")
