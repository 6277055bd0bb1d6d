"""The board-pack PDF: the same HTML report printed by headless Chromium, tagged for screen readers.

:func:`write` prints ``report.html`` to A4 with a running header (the report's
title), page numbers ("Page 3 of 21"), one bookmark per heading (so one per
section, with its subsections beneath it) and a **tagged** structure tree
(headings, paragraphs, lists, tables with their captions, figures with their alt
text), so the PDF is as accessible as the HTML it comes from.

The engine is Chromium driven by Playwright (the ``playwright`` Python package,
``pip install 'eia[pdf]'``) with the Chromium found on the machine: ``$CHROMIUM``,
else ``chromium`` on the PATH (Debian's ``chromium`` package), else the browser
Playwright installs itself (``playwright install chromium``). :func:`check_engine`
says what is missing in one line before any work is done; the PDF is written to
a temporary file and renamed into place, so a failure never leaves half a file.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

from eia.errors import EIAError, RunError

#: Where the page furniture sits (mm); the report's own @page margin is 15 mm.
MARGINS = {"top": "18mm", "bottom": "16mm", "left": "15mm", "right": "15mm"}

_FURNITURE = (
    "font-family: 'Liberation Sans', Arial, sans-serif; font-size: 8pt; color: #425563; "
    "width: 100%; margin: 0 15mm;"
)
HEADER = (
    f'<div style="{_FURNITURE} display: flex; justify-content: space-between;">'
    '<span class="title"></span></div>'
)
FOOTER = (
    f'<div style="{_FURNITURE} text-align: right;">'
    'Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>'
)
TIMEOUT_MS = 180_000


class PDFError(EIAError):
    """No PDF engine is available here (the message says what to install)."""


def find_chromium() -> str | None:
    """The Chromium to print with: ``$CHROMIUM``, ``chromium`` on the PATH, or None."""
    override = os.environ.get("CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def check_engine() -> str | None:
    """Why no PDF can be made here (one line naming what to install), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "PDF output needs the 'playwright' Python package: pip install 'eia[pdf]' "
            "(it drives Chromium; no browser download is needed if Chromium is installed)"
        )
    if find_chromium() is None and not _playwright_browser():
        hint = (
            f"CHROMIUM={os.environ['CHROMIUM']} is not an executable file"
            if os.environ.get("CHROMIUM")
            else "no Chromium found on the PATH"
        )
        return (
            f"PDF output needs Chromium: {hint}; install it (Debian/Ubuntu: "
            "apt-get install chromium) or set CHROMIUM to its path"
        )
    return None


def _playwright_browser() -> bool:
    """Whether Playwright has a Chromium of its own installed (``playwright install chromium``)."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            return Path(p.chromium.executable_path).is_file()
    except Exception:  # noqa: BLE001 - any failure means: not available
        return False


def write(html_path: Path | str, pdf_path: Path | str | None = None) -> Path:
    """Print ``html_path`` to a tagged A4 PDF beside it (or at ``pdf_path``); return its path.

    Raises :class:`PDFError` (one line, exit code 2) when no engine is available and
    :class:`~eia.errors.RunError` when printing fails; an existing PDF at ``pdf_path``
    is then left as it was.
    """
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path) if pdf_path else html_path.with_suffix(".pdf")
    problem = check_engine()
    if problem:
        raise PDFError(problem)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    handle, partial = tempfile.mkstemp(prefix=".report-", suffix=".pdf", dir=pdf_path.parent)
    os.close(handle)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=find_chromium(),
                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            )
            try:
                page = browser.new_page()
                page.goto(html_path.as_uri(), wait_until="load", timeout=TIMEOUT_MS)
                page.emulate_media(media="print")
                page.pdf(
                    path=partial,
                    format="A4",
                    print_background=True,
                    display_header_footer=True,
                    header_template=HEADER,
                    footer_template=FOOTER,
                    margin=MARGINS,
                    tagged=True,
                    outline=True,
                )
            finally:
                browser.close()
        mend_outline(partial, headings(html_path.read_text(encoding="utf-8")))
        os.chmod(partial, 0o644)
        os.replace(partial, pdf_path)
    except PlaywrightError as exc:
        raise RunError(
            f"printing {html_path.name} to PDF failed: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return pdf_path


def headings(markup: str) -> list[str]:
    """The text of every ``<h1>``–``<h6>`` of an HTML page, tags dropped, spaces collapsed."""
    found = re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", markup, flags=re.S | re.I)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", h)).split()) for h in found]


def mend_outline(pdf_path: Path | str, titles: list[str]) -> int:
    """Put back the spaces Chromium drops from a bookmark where its heading wrapped.

    Chromium names each bookmark after its heading's lines joined without a space
    ("…the servicefrom…"); a bookmark whose title equals a heading's text once
    spaces are ignored takes the heading's text. Needs ``pypdf`` (``eia[pdf]``);
    without it the PDF is left as it is. Returns how many titles were mended.
    """
    try:
        from pypdf import PdfReader, PdfWriter
        from pypdf.generic import NameObject, TextStringObject
    except ImportError:  # optional: the PDF is still complete, only the titles run together
        return 0
    by_key = {re.sub(r"\s+", "", t): t for t in titles}
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(Path(pdf_path).read_bytes())))
    root = writer._root_object.get("/Outlines")
    mended = 0
    stack = [root.get_object().get("/First")] if root is not None else []
    while stack:
        node = stack.pop()
        while node is not None:
            item = node.get_object()
            title = str(item.get("/Title", ""))
            better = by_key.get(re.sub(r"\s+", "", title))
            if better is not None and better != title:
                item[NameObject("/Title")] = TextStringObject(better)
                mended += 1
            if item.get("/First") is not None:
                stack.append(item.get("/First"))
            node = item.get("/Next")
    if mended:
        with open(pdf_path, "wb") as out:
            writer.write(out)
    return mended
