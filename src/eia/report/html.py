"""Rendering an executed assessment notebook to the board's self-contained HTML.

Uses nbconvert's HTML exporter with the ``eia`` template (``assets/eia``),
which extends JupyterLab's layout but drops every script, CDN link, code
input, prompt, stream and error, inlines the stylesheet, and turns figures
into ``<figure>`` elements with their alt text and caption. The result opens
offline and prints to A4.

nbconvert's HTML exporter re-parses its whole output with BeautifulSoup (to add alt text
and tab stops), and most of a report's bytes are its figures' base64 data. :func:`render`
sets the figures aside before exporting (each becomes a short token) and puts them back
after, so the parser walks the markup only; the HTML is the same byte for byte.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from eia._version import __version__
from eia.report.templating import bytecode_cache

ASSETS = Path(__file__).parents[1] / "assets"
BANNER = "Equity impact assessment report"


def exporter() -> HTMLExporter:
    """An HTML exporter configured for board reports (no code, no prompts, no anchors)."""
    exp = HTMLExporter(
        template_name="eia",
        extra_template_basedirs=[str(ASSETS)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        embed_images=True,
        # Validate the notebook once after every preprocessor, not after each one (12 times).
        optimistic_validation=True,
    )
    exp.environment.bytecode_cache = bytecode_cache()  # compiled templates kept between runs
    return exp


#: A base64 image inside an HTML output (a figure's ``<img src="data:…">``).
DATA_URL = re.compile(r"(data:image/(?:png|jpeg);base64,)([A-Za-z0-9+/=]+)")
#: Outputs whose whole value is a base64 image.
IMAGE_TYPES = ("image/png", "image/jpeg")


class _Images:
    """Base64 images set aside from a notebook's outputs, each replaced by a unique token."""

    def __init__(self) -> None:
        self.prefix = f"eiaimage{secrets.token_hex(8)}n"
        self.data: list[str] = []
        self.token = re.compile(re.escape(self.prefix) + r"(\d+)x")

    def aside(self, data: str) -> str:
        """A token standing for ``data`` (restored by :meth:`restore`)."""
        self.data.append(data)
        return f"{self.prefix}{len(self.data) - 1}x"

    def take_from(self, nb: nbformat.NotebookNode) -> None:
        """Replace every base64 image in ``nb``'s outputs by a token (``nb`` is changed)."""
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                for kind in IMAGE_TYPES:
                    if isinstance(data.get(kind), str):
                        data[kind] = self.aside(data[kind])
                if isinstance(data.get("text/html"), str):
                    data["text/html"] = DATA_URL.sub(
                        lambda m: m.group(1) + self.aside(m.group(2)), data["text/html"]
                    )

    def restore(self, html: str) -> str:
        """``html`` with every token replaced by the image data it stands for."""
        return self.token.sub(lambda m: self.data[int(m.group(1))], html)


def render(notebook: nbformat.NotebookNode | Path | str, title: str, *, footer: str = "") -> str:
    """The report's HTML for an executed notebook; ``title`` becomes the ``<title>``."""
    nb = (
        notebook
        if isinstance(notebook, nbformat.NotebookNode)
        else nbformat.read(notebook, as_version=4)
    )
    nb = nbformat.from_dict(nb)
    nb.metadata["title"] = title
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    resources = {
        "eia_css": (ASSETS / "eia" / "report.css").read_text(encoding="utf-8"),
        "eia_version": __version__,
        "eia_banner": BANNER,
        "eia_footer": footer
        or f"Produced with eia {__version__}, an open-source equity impact assessment framework.",
        "language_code": "en-GB",
    }
    images = _Images()
    images.take_from(nb)
    body, _ = exporter().from_notebook_node(nb, resources=resources)
    return images.restore(body)


def warm() -> None:
    """Render a small notebook and discard it: what a process's first render pays once
    (templates loaded, Markdown and HTML parsers built, about 0.25 s), paid while
    ``eia run``'s kernel works rather than after it."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    outputs = [
        new_output("display_data", data={"text/html": "<p>-</p>", "text/plain": "-"}),
        new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "-"}),
    ]
    nb = new_notebook(cells=[new_markdown_cell("# -\n\n*-*"), new_code_cell("", outputs=outputs)])
    nb.metadata["language_info"] = {"name": "python"}
    render(nb, "-")


def write(notebook: Path | str, html_path: Path | str, title: str, *, footer: str = "") -> Path:
    """Render ``notebook`` and write the HTML to ``html_path``."""
    html_path = Path(html_path)
    html_path.write_text(render(notebook, title, footer=footer), encoding="utf-8")
    return html_path
