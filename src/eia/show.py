"""Showing results in a notebook so the board's report is accessible and safe.

Every helper here escapes the text it is given: params text (titles,
descriptions, names) reaches the report as text, never as markup. Figures go
out as PNG with alt text and a caption in the output's metadata, which the
report template turns into ``<figure><img alt=…><figcaption>``; tables get a
``<caption>``. Use these instead of bare ``display`` in templates.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping

import pandas as pd

FIGURE_DPI = 110


def esc(value: object) -> str:
    """HTML-escape any value's text (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _display_html(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def png_bytes(fig, dpi: int = FIGURE_DPI) -> bytes:
    """Render a Matplotlib figure to PNG bytes, without timestamps or version metadata."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def figure(fig, alt: str, caption: str, *, dpi: int = FIGURE_DPI) -> None:
    """Show a figure as PNG with ``alt`` text (its main finding) and a ``caption``; close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    data = base64.b64encode(png_bytes(fig, dpi)).decode("ascii")
    plt.close(fig)
    display(
        {"image/png": data, "text/plain": f"Figure: {caption}"},
        raw=True,
        metadata={"image/png": {"alt": alt, "caption": caption}},
    )


def table_html(frame: pd.DataFrame, caption: str, *, index: bool = False) -> str:
    """An accessible HTML table (escaped cells, ``<caption>``, header scopes)."""
    frame = frame.copy()
    markup = frame.to_html(index=index, escape=True, border=0, classes="eia-table", na_rep="–")
    markup = markup.replace("<th>", '<th scope="col">')
    head, rest = markup.split(">", 1)
    return f"{head}>\n<caption>{esc(caption)}</caption>{rest}"


def table(frame: pd.DataFrame, caption: str, *, index: bool = False) -> None:
    """Show a DataFrame as an accessible table with a caption."""
    _display_html(table_html(frame, caption, index=index))


def text(*paragraphs: str) -> None:
    """Show plain-text paragraphs (escaped)."""
    _display_html("".join(f"<p>{esc(p)}</p>" for p in paragraphs if p))


def bullets(items: Iterable[str], *, intro: str | None = None) -> None:
    """Show an escaped bulleted list, with an optional lead-in sentence."""
    body = "".join(f"<li>{esc(i)}</li>" for i in items)
    _display_html((f"<p>{esc(intro)}</p>" if intro else "") + f"<ul>{body}</ul>")


def notice(message: str, kind: str = "info") -> None:
    """Show a highlighted box (``info``, ``warning`` or ``synthetic``) with escaped text."""
    labels = {"info": "Note", "warning": "Important", "synthetic": "Synthetic data"}
    label = labels.get(kind, "Note")
    _display_html(
        f'<div class="eia-notice eia-notice-{esc(kind)}" role="note">'
        f"<strong>{esc(label)}:</strong> {esc(message)}</div>"
    )


def definition_list(items: Mapping[str, object], caption: str) -> None:
    """Show key–value pairs as a two-column table (e.g. report parameters)."""
    frame = pd.DataFrame({"Item": list(items), "Value": [str(v) for v in items.values()]})
    table(frame, caption)


def fmt_int(value: float | int | None) -> str:
    """A whole number with thousands separators, or an en dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    return f"{round(float(value)):,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A proportion (0–1) as a percentage, or an en dash when missing."""
    if value is None or pd.isna(value):
        return "–"
    return f"{100 * float(value):.{digits}f}%"


def fmt_km(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A distance in km, optionally with a sign."""
    if value is None or pd.isna(value):
        return "–"
    return f"{float(value):{'+' if signed else ''}.{digits}f} km"
