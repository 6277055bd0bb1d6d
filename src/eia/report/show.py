"""Showing results in a notebook so the board's report is accessible and safe.

Every helper here escapes the text it is given: params text (titles,
descriptions, names) reaches the report as text, never as markup. Figures go
out as PNG with alt text and a caption in the output's metadata, which the
report template turns into ``<figure><img alt=…><figcaption>``; tables get a
``<caption>``.

Presentation functions build and *return* the displayable objects below
(:class:`Table`, :class:`Figure`, :class:`Html`, :class:`Block`); Jupyter
shows whatever a cell returns. The one-call ``table``/``figure``/``text``
helpers that display at once are kept for older code.
"""

from __future__ import annotations

import base64
import html
import io
import sys
from collections.abc import Iterable, Mapping

import pandas as pd

from eia.text import fmt_distance as fmt_distance
from eia.text import fmt_int as fmt_int
from eia.text import fmt_km as fmt_km
from eia.text import fmt_pct as fmt_pct
from eia.text import fmt_rate as fmt_rate
from eia.text import join_words as join_words
from eia.text import plural as plural

FIGURE_DPI = 110
#: Margin kept around a figure's content when it is cropped (Matplotlib's default).
PAD_INCHES = 0.1
#: zlib level of the PNGs: 3 encodes in about 60% of the time of Pillow's default (6), for
#: files about 4% larger (the same pixels).
PNG_COMPRESSION = 3


def esc(value: object) -> str:
    """HTML-escape any value's text (quotes included); markup already escaped by a prose
    template (anything with ``__html__``, e.g. :func:`eia.report.wording.say`) passes as it is."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape("" if value is None else str(value), quote=True)


def _display_html(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def png_bytes(fig, dpi: int = FIGURE_DPI) -> bytes:
    """Render a Matplotlib figure to PNG bytes, cropped to its content (``bbox_inches="tight"``),
    without timestamps or version metadata.

    ``savefig(bbox_inches="tight")`` first draws the whole figure with nothing rendered, to
    lay it out at the saving resolution and find its box; here the figure is laid out
    (:func:`relayout`) and its box read from the artists without that draw, then saved
    with no layout left to run, as savefig would after its draw. The image is the same.
    """
    engine = fig.get_layout_engine()
    shown = fig.dpi
    fig.set_dpi(dpi)
    try:
        relayout(fig)
        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(PAD_INCHES)
    finally:
        fig.set_dpi(shown)
    buffer = io.BytesIO()
    _set_layout_engine(fig, None)  # laid out above (savefig turns it off after its draw)
    try:
        fig.savefig(
            buffer,
            format="png",
            dpi=dpi,
            bbox_inches=box,
            pad_inches=PAD_INCHES,
            metadata={"Software": None},
            pil_kwargs={"compress_level": PNG_COMPRESSION},
        )
    finally:
        _set_layout_engine(fig, engine)
    return buffer.getvalue()


def relayout(fig) -> None:
    """Lay ``fig`` out as drawing it would, without drawing: each panel's aspect, the
    layout engine (constrained layout), then the aspect again, insets after their parent.

    A draw (even :meth:`~matplotlib.figure.Figure.draw_without_rendering`) also lays out
    and renders every text, legend and polygon for nothing; this is the part of it that
    moves panels, and text extents and transforms read afterwards are those of a draw.
    """
    renderer = fig.canvas.get_renderer()

    def aspects() -> None:
        for ax in fig.axes:
            for a in (ax, *ax.child_axes):
                locator = a.get_axes_locator()
                a.apply_aspect(locator(a, renderer) if locator else None)

    aspects()
    engine = fig.get_layout_engine()
    if fig.axes and engine is not None:
        engine.execute(fig)
    aspects()


def _set_layout_engine(fig, engine) -> None:
    """Give ``fig`` this layout engine, or none at all (``None``, whatever the rc settings)."""
    if engine is None:
        from matplotlib import rc_context  # heavy: imported by figures only, when saving one

        rc = {"figure.autolayout": False, "figure.constrained_layout.use": False}
        with rc_context(rc):
            fig.set_layout_engine(None)
    else:
        fig.set_layout_engine(engine)


# ---------------------------------------------------------------------------
# Displayable objects: presentation functions return these; Jupyter shows them.


class Html:
    """Escaped-at-construction HTML that Jupyter displays (``_repr_html_``)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self.markup):,} characters of HTML>"


class Table(Html):
    """An accessible table with a caption; ``.frame`` keeps the data shown."""

    def __init__(self, frame: pd.DataFrame, caption: str, *, index: bool = False):
        self.frame, self.caption = frame, caption
        super().__init__(table_html(frame, caption, index=index))


class Figure:
    """A figure as PNG with alt text (its main finding) and a caption.

    Displayed alone it is an ``image/png`` output whose metadata carries ``alt``
    and ``caption`` (the report template makes a ``<figure>`` of it); inside a
    :class:`Block` it is inlined as the same ``<figure>`` markup.
    """

    def __init__(self, fig, alt: str, caption: str, *, dpi: int = FIGURE_DPI):
        self.png = png_bytes(fig, dpi)
        self.alt, self.caption = alt, caption
        if "matplotlib.pyplot" in sys.modules:  # a pyplot figure: let pyplot forget it
            sys.modules["matplotlib.pyplot"].close(fig)

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = base64.b64encode(self.png).decode("ascii")
        return (
            {"image/png": data, "text/plain": f"Figure: {self.caption}"},
            {"image/png": {"alt": self.alt, "caption": self.caption}},
        )

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        return (
            f'<figure class="eia-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{esc(self.alt)}"><figcaption>{esc(self.caption)}</figcaption></figure>'
        )

    def __repr__(self) -> str:
        return f"<Figure: {self.caption}>"


class Block(Html):
    """Several displayables shown as one output (a section's text, tables and figures)."""

    def __init__(self, *parts: Html | Figure | str | None):
        self.parts = [p for p in parts if p is not None and p != ""]
        super().__init__(
            "".join(
                p.html()
                if isinstance(p, Figure)
                else p.markup
                if isinstance(p, Html)
                else f"<p>{esc(p)}</p>"
                for p in self.parts
            )
        )


def paragraphs(*items: str) -> Html:
    """Plain-text paragraphs (escaped)."""
    return Html("".join(f"<p>{esc(p)}</p>" for p in items if p))


def bullet_list(items: Iterable[str], *, intro: str | None = None) -> Html:
    """An escaped bulleted list, with an optional lead-in sentence."""
    body = "".join(f"<li>{esc(i)}</li>" for i in items)
    return Html((f"<p>{esc(intro)}</p>" if intro else "") + f"<ul>{body}</ul>")


def notice_box(message: str, kind: str = "info") -> Html:
    """A highlighted box (``info``, ``warning`` or ``synthetic``) with escaped text."""
    labels = {"info": "Note", "warning": "Important", "synthetic": "Synthetic data"}
    label = labels.get(kind, "Note")
    return Html(
        f'<div class="eia-notice eia-notice-{esc(kind)}" role="note">'
        f"<strong>{esc(label)}:</strong> {esc(message)}</div>"
    )


def heading(text: str, level: int = 3) -> Html:
    """An escaped heading (``<h3>`` by default: sections are ``<h2>`` in templates)."""
    return Html(f"<h{level}>{esc(text)}</h{level}>")


def definition_table(items: Mapping[str, object], caption: str) -> Table:
    """Key–value pairs as a two-column table (e.g. report parameters)."""
    frame = pd.DataFrame({"Item": list(items), "Value": [str(v) for v in items.values()]})
    return Table(frame, caption)


def signoff_table(rows: Iterable, what: str = "assessment") -> Html | Table:
    """Sign-off rows of a params file (name, role, date, decision) as a table; a warning that
    the ``what`` has not been signed off when there are none."""
    rows = list(rows or [])
    if not rows:
        return notice_box(f"This {what} has not been signed off.", "warning")
    frame = pd.DataFrame(
        [
            {
                "Name": s.name,
                "Role": s.role,
                "Date": f"{s.date.day} {s.date:%B %Y}" if s.date else "not dated",
                "Decision": s.decision or "pending",
            }
            for s in rows
        ]
    )
    return Table(frame, "Sign-off")


def table_html(frame: pd.DataFrame, caption: str, *, index: bool = False) -> str:
    """An accessible HTML table (escaped cells, ``<caption>``, header scopes)."""
    frame = frame.copy()
    markup = frame.to_html(index=index, escape=True, border=0, classes="eia-table", na_rep="–")
    markup = markup.replace("<th>", '<th scope="col">')
    head, rest = markup.split(">", 1)
    return f"{head}>\n<caption>{esc(caption)}</caption>{rest}"


# ---------------------------------------------------------------------------
# Display now (older one-call helpers; they display the objects above).


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def figure(fig, alt: str, caption: str, *, dpi: int = FIGURE_DPI) -> None:
    """Show a figure as PNG with ``alt`` text (its main finding) and a ``caption``; close it."""
    _display(Figure(fig, alt, caption, dpi=dpi))


def table(frame: pd.DataFrame, caption: str, *, index: bool = False) -> None:
    """Show a DataFrame as an accessible table with a caption."""
    _display(Table(frame, caption, index=index))


def text(*items: str) -> None:
    """Show plain-text paragraphs (escaped)."""
    _display(paragraphs(*items))


def bullets(items: Iterable[str], *, intro: str | None = None) -> None:
    """Show an escaped bulleted list, with an optional lead-in sentence."""
    _display(bullet_list(items, intro=intro))


def notice(message: str, kind: str = "info") -> None:
    """Show a highlighted box (``info``, ``warning`` or ``synthetic``) with escaped text."""
    _display(notice_box(message, kind))


def definition_list(items: Mapping[str, object], caption: str) -> None:
    """Show key–value pairs as a two-column table (e.g. report parameters)."""
    _display(definition_table(items, caption))
